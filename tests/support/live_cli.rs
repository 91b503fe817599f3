//! Running `imds-migrate live` against the ARM emulator: a builder so each test says only what
//! differs (arguments, environment, time scale), and the captured result.
#![allow(dead_code)]

use std::process::Command;

use serde_json::Value;

use super::arm_emulator::{Config, Emulator};

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";

/// Variables that would make a run depend on the machine it runs on.
pub const CLEARED_ENV: [&str; 16] = [
    "AZURE_ACCESS_TOKEN",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IMDS_ENDPOINT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// An emulator with the default configuration changed by `f`.
pub fn emulator(f: impl FnOnce(&mut Config)) -> Emulator {
    let mut config = Config::default();
    f(&mut config);
    Emulator::start(config)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON record of the row whose `resource_name` is `resource`.
    pub fn row(&self, resource: &str) -> Value {
        self.rows()
            .into_iter()
            .find(|e| e["resource_name"] == resource)
            .unwrap_or_else(|| panic!("no row for {resource}:\n{}", self.all()))
    }

    pub fn rows(&self) -> Vec<Value> {
        self.json()["extensions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `imds-migrate live <args> --arm-endpoint <emulator> --time-scale <scale>`, signed in with the
/// emulator's token unless `env` says otherwise.
pub struct Live<'a> {
    emu: Option<&'a Emulator>,
    endpoint: Option<String>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    scale: String,
}

impl<'a> Live<'a> {
    pub fn new(emu: &'a Emulator) -> Self {
        Live {
            emu: Some(emu),
            endpoint: None,
            args: Vec::new(),
            envs: vec![("AZURE_ACCESS_TOKEN".into(), emu.config.token.clone())],
            scale: "0.001".into(),
        }
    }

    /// Against an endpoint that is not an emulator (unreachable hosts).
    pub fn endpoint(url: &str, token: &str) -> Self {
        Live {
            emu: None,
            endpoint: Some(url.to_owned()),
            args: Vec::new(),
            envs: vec![("AZURE_ACCESS_TOKEN".into(), token.to_owned())],
            scale: "1".into(),
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.retain(|(n, _)| n != k);
        self.envs.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn scale(mut self, scale: &str) -> Self {
        scale.clone_into(&mut self.scale);
        self
    }

    pub fn run(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
        for v in CLEARED_ENV {
            cmd.env_remove(v);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let url = self
            .endpoint
            .clone()
            .or_else(|| self.emu.map(|e| e.url.clone()))
            .unwrap_or_default();
        cmd.arg("live").args(&self.args).args([
            "--arm-endpoint",
            &url,
            "--time-scale",
            &self.scale,
        ]);
        let out = cmd.output().expect("run imds-migrate");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

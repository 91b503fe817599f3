//! Running the built binary's `live` commands against the ARM emulator, with a clean credential
//! environment and a scratch working directory (where `remove --yes` writes its journal): plain
//! commands for tests that spawn and signal the process, and a builder ([`Live`]) so a test says
//! only what differs (arguments, environment, time scale).
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::arm_emulator::{Config, Emulator};

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";

/// Every variable a credential (or a proxy) could come from, removed so each test says what it
/// uses and no run depends on the machine it runs on.
pub const CLEARED_ENV: [&str; 18] = [
    "AZURE_ACCESS_TOKEN",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
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

/// `imds-migrate live <args>` in `dir` with only `envs` as credentials.
pub fn live_command(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
    cmd.current_dir(dir).arg("live").args(args);
    for v in CLEARED_ENV {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn of(out: &std::process::Output) -> Self {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

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

    /// The `outcome` of every row, in report order.
    pub fn outcomes(&self) -> Vec<String> {
        self.rows()
            .iter()
            .map(|e| e["outcome"].as_str().expect("an outcome").to_owned())
            .collect()
    }

    pub fn rows(&self) -> Vec<Value> {
        self.json()["extensions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A journal's lines; a torn line fails the test.
pub fn journal_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}")))
        .collect()
}

/// The journal's lines of `kind`.
pub fn of_kind<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == kind).collect()
}

pub fn run(mut cmd: Command) -> Output {
    Output::of(&cmd.output().expect("run imds-migrate"))
}

pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imds-migrate")
}

/// Waits for `child` (at most `limit`), then collects its output; kills it if it overruns.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "imds-migrate still running after {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Output::of(&child.wait_with_output().expect("wait"))
}

/// A scratch directory (a run's working directory) and a journal path in it.
pub fn scratch_journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("scratch directory");
    let path = dir.path().join("j.jsonl");
    (dir, path)
}

/// `imds-migrate live journal <path> <args>` (no credentials), in the journal's directory.
pub fn show_journal(path: &Path, args: &[&str]) -> Output {
    let p = path.to_str().expect("UTF-8 journal path");
    let args: Vec<&str> = ["journal", p].iter().chain(args).copied().collect();
    run(live_command(
        path.parent().expect("journal in a directory"),
        &args,
        &[],
    ))
}

/// Sends `signal` (`INT`, `TERM`) to `child` with kill(1).
pub fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{signal} failed");
}

/// Polls `cond` every 10 ms for at most `limit`.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// `imds-migrate live <args> --arm-endpoint <emulator> --time-scale <scale>` in a fresh scratch
/// directory, signed in with the emulator's token unless `env` says otherwise.
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

    /// `list --subscription SUB --format json`.
    pub fn list(emu: &'a Emulator) -> Self {
        Live::new(emu).args(&["list", "--subscription", SUB, "--format", "json"])
    }

    /// `remove --subscription SUB --yes --format json`: removes all it finds.
    pub fn remove_all(emu: &'a Emulator) -> Self {
        Live::new(emu).args(&["remove", "--subscription", SUB, "--yes", "--format", "json"])
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

    /// Signs in with exactly `envs` instead of the emulator's token.
    pub fn credentials(mut self, envs: &[(&str, &str)]) -> Self {
        self.envs = envs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self
    }

    pub fn scale(mut self, scale: &str) -> Self {
        scale.clone_into(&mut self.scale);
        self
    }

    /// The command, to run in `dir`.
    pub fn command(&self, dir: &Path) -> Command {
        let url = self
            .endpoint
            .clone()
            .or_else(|| self.emu.map(|e| e.url.clone()))
            .unwrap_or_default();
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend(["--arm-endpoint", &url, "--time-scale", &self.scale]);
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        live_command(dir, &args, &envs)
    }

    pub fn run(self) -> Output {
        let dir = tempfile::tempdir().expect("scratch directory");
        self.run_in(dir.path())
    }

    /// Runs in `dir` (where a journal without `--journal` goes).
    pub fn run_in(&self, dir: &Path) -> Output {
        run(self.command(dir))
    }
}

//! The Resource Graph query that `live --resource-graph` sends, checked with Microsoft's own KQL
//! parser and semantic analyser (`@kusto/language-service-next`, run by node) against the schema
//! of the `resources` table: zero errors.
//!
//! The test installs what it needs (node and npm through apt-get when missing and running as
//! root; the npm package into a cache under `target/`). When that is impossible it fails under
//! CI (`CI=true`) and is skipped, with a message, elsewhere.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use imds_migrate::live::discover::graph_query_text;
use serde_json::Value;

/// Pinned so that a new release cannot change the verdict behind our back.
const PACKAGE: &str = "@kusto/language-service-next@12.4.1";

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn have(tool: &str) -> bool {
    ok(Command::new(tool).arg("--version"))
}

/// node and npm, installed with apt-get if missing (quietly, and only as root).
fn ensure_node() -> Result<(), String> {
    if have("node") && have("npm") {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root || !have("apt-get") {
        return Err(
            "node/npm are missing and cannot be installed (not root, or no apt-get)".into(),
        );
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    let _ = ok(Command::new("apt-get").args(["-qq", "update"]).envs(env));
    if !ok(Command::new("apt-get")
        .args([
            "-qq",
            "install",
            "-y",
            "--no-install-recommends",
            "nodejs",
            "npm",
        ])
        .envs(env))
    {
        return Err("apt-get install nodejs npm failed".into());
    }
    if have("node") && have("npm") {
        Ok(())
    } else {
        Err("node/npm still missing after apt-get".into())
    }
}

/// The package under `target/`, installed on first use.
fn ensure_package() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kusto-language-service");
    let marker = dir.join("node_modules/@kusto/language-service-next/Kusto.Language.Bridge.min.js");
    if marker.is_file() {
        return Ok(dir);
    }
    ensure_node()?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let installed = ok(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(PACKAGE));
    if installed && marker.is_file() {
        Ok(dir)
    } else {
        Err(format!("npm install {PACKAGE} failed"))
    }
}

/// Diagnostics for each query, as the language service reports them.
fn diagnostics(queries: &[&str]) -> Option<Vec<Vec<Value>>> {
    let dir = match ensure_package() {
        Ok(d) => d,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("the KQL parser is required in CI: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e} (required when CI=true)");
            return None;
        }
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let files: Vec<PathBuf> = queries
        .iter()
        .enumerate()
        .map(|(n, q)| {
            let f = tmp.path().join(format!("q{n}.kql"));
            std::fs::write(&f, q).expect("write query");
            f
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/kql_check.js");
    let out = Command::new("node")
        .arg(script)
        .args(&files)
        .env("NODE_PATH", dir.join("node_modules"))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "kql_check.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("checker output is JSON");
    Some(
        v.as_array()
            .expect("one result per query")
            .iter()
            .map(|r| r["diagnostics"].as_array().cloned().unwrap_or_default())
            .collect(),
    )
}

fn errors(diags: &[Value]) -> Vec<&Value> {
    diags.iter().filter(|d| d["severity"] == "Error").collect()
}

#[test]
fn resource_graph_query_has_no_kql_errors() {
    let queries = [
        graph_query_text(None),
        graph_query_text(Some("rg-web")),
        graph_query_text(Some("it's\\odd")),
        // The checker itself must see mistakes: an unknown column and a misspelt operator.
        "resources | where typo =~ 'x' | projekt id".to_owned(),
        "resources | where properties.publisher =~ 'x' | project id, kind, plan, sku".to_owned(),
    ];
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let Some(results) = diagnostics(&refs) else {
        return;
    };
    for (q, d) in queries.iter().zip(&results).take(3) {
        assert!(errors(d).is_empty(), "{q}\n{:#?}", errors(d));
    }
    let bad: Vec<String> = errors(&results[3])
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(bad.contains(&"KS142".to_owned()), "{bad:?}");
    assert!(bad.contains(&"KS176".to_owned()), "{bad:?}");
    assert!(errors(&results[4]).is_empty(), "{:#?}", results[4]);
}

//! Runs the built binary on small trees and checks stdout, stderr, exit status and files.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
    c.env("NO_COLOR", "1");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example")
}

/// A copy of `files` in a fresh directory.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

const PY_URL: &[u8] = b"import requests\n\nr = requests.get(\"http://localhost:50342/oauth2/token?resource=https://vault.azure.net\", headers={\"Metadata\": \"true\"})\n";

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn example_json_contract_and_sorted_findings() {
    let o = run(&example(), &["scan", ".", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.len() >= 15, "{}", stdout(&o));
    let keys: Vec<(String, u64, u64, String)> = findings
        .iter()
        .map(|f| {
            for field in [
                "rule_id",
                "severity",
                "path",
                "line",
                "column",
                "end_line",
                "end_column",
                "message",
                "fix",
            ] {
                assert!(f.get(field).is_some(), "missing {field} in {f}");
            }
            let path = f["path"].as_str().unwrap().to_owned();
            assert!(!path.contains('\\') && !path.starts_with("./"), "{path}");
            (
                path,
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(
        !keys.iter().any(|k| k.0.starts_with("cloudshell/")),
        "Cloud Shell is a look-alike"
    );
    let listing = keys.iter().fold(String::new(), |mut s, (p, l, c, r)| {
        s.push_str(&format!("{p}:{l}:{c} {r}\n"));
        s
    });
    insta::assert_snapshot!("example_findings", listing);
    assert_eq!(v["summary"]["findings"], findings.len());
}

#[test]
fn text_report_and_exit_codes() {
    let o = run(&example(), &["scan"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("scripts/setup.sh:"), "{out}");
    assert!(out.lines().last().unwrap().contains("findings"), "{out}");

    let clean = tree(&[("a.py", b"print('hello')\n")]);
    let o = run(clean.path(), &["scan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("0 findings in 1 file"),
        "{}",
        stdout(&o)
    );

    let o = run(clean.path(), &["scan", "--format", "yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(clean.path(), &["scan", "does-not-exist"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does-not-exist"), "{}", stderr(&o));
    let o = run(clean.path(), &["scan", "--select", "IMDS999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("IMDS999"));
}

#[test]
fn exit_zero_output_file_and_statistics() {
    let dir = tree(&[("app/t.py", PY_URL)]);
    let o = run(dir.path(), &["scan", "--exit-zero"]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(
        dir.path(),
        &["scan", "--format", "json", "--output", "out/report.json"],
    );
    assert_eq!(o.status.code(), Some(2), "output dir does not exist");
    let o = run(
        dir.path(),
        &["scan", "--format", "json", "--output", "report.json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "IMDS030");
    let o = run(dir.path(), &["scan", "--statistics", "app"]);
    assert!(stdout(&o).contains("IMDS030"), "{}", stdout(&o));
}

#[test]
fn config_exclude_select_and_unknown_keys() {
    let dir = tree(&[
        ("app/t.py", PY_URL),
        ("vendor/t.py", PY_URL),
        ("imds-migrate.toml", b"exclude = [\"vendor/\"]\n"),
    ]);
    let o = run(dir.path(), &["scan", "--format", "json"]);
    let v = json(&o);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["app/t.py"]);
    // Found from a subdirectory root too (ancestor search).
    let o = run(&dir.path().join("app"), &["scan", "--format", "json"]);
    assert_eq!(json(&o)["findings"].as_array().unwrap().len(), 1);

    fs::write(
        dir.path().join("imds-migrate.toml"),
        "ignore = [\"IMDS030\"]\n",
    )
    .unwrap();
    let o = run(dir.path(), &["scan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(dir.path(), &["scan", "--no-config"]);
    assert_eq!(o.status.code(), Some(1));

    fs::write(
        dir.path().join("imds-migrate.toml"),
        "exclude = []\nexlude = []\n",
    )
    .unwrap();
    let o = run(dir.path(), &["scan"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exlude"), "{}", stderr(&o));
}

#[test]
fn per_file_ignores_and_suppressions() {
    let dir = tree(&[
        ("docs/t.py", PY_URL),
        ("app/t.py", PY_URL),
        (
            "app/s.py",
            b"import requests\nA = requests.get(\"http://localhost:50342/oauth2/token\", headers={\"Metadata\": \"true\"})  # imds-migrate: ignore[IMDS030]\nB = requests.get(\"http://localhost:50342/oauth2/token\", headers={\"Metadata\": \"true\"})\n",
        ),
        (
            "imds-migrate.toml",
            b"[per-file-ignores]\n\"docs/**\" = [\"IMDS030\"]\n",
        ),
    ]);
    let o = run(dir.path(), &["scan", "--format", "json"]);
    let v = json(&o);
    let found: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![("app/s.py".to_owned(), 3), ("app/t.py".to_owned(), 3)]
    );
}

#[test]
fn several_roots_have_their_own_summaries() {
    let a = tree(&[("t.py", PY_URL)]);
    let b = tree(&[("ok.py", b"x = 1\n")]);
    let o = bin()
        .args(["scan", "--format", "json"])
        .arg(a.path())
        .arg(b.path())
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["roots"].as_array().unwrap().len(), 2);
    assert_eq!(v["roots"][0]["summary"]["findings"], 1);
    assert_eq!(v["roots"][1]["summary"]["findings"], 0);
}

#[test]
fn rules_and_explain() {
    let o = run(&example(), &["rules"]);
    assert_eq!(o.status.code(), Some(0));
    for id in ["IMDS001", "IMDS011", "IMDS030", "IMDS900"] {
        assert!(stdout(&o).contains(id));
    }
    let o = run(&example(), &["explain", "token-endpoint-url"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("169.254.169.254"));
    let o = run(&example(), &["explain", "IMDS777"]);
    assert_eq!(o.status.code(), Some(2));
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn diff_applies_with_git_and_fix_reaches_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&example(), dir.path());
    let before = snapshot_tree(dir.path());
    let o = run(dir.path(), &["fix", "--diff"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(snapshot_tree(dir.path()), before, "--diff writes nothing");
    let patch = dir.path().join("../fix.patch");
    fs::write(&patch, &o.stdout).unwrap();
    assert!(git(dir.path(), &["init", "-q"]).status.success());
    let check = git(dir.path(), &["apply", "--check", patch.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "git apply --check: {}\n{}",
        String::from_utf8_lossy(&check.stderr),
        stdout(&o)
    );
    let o = run(dir.path(), &["fix", "--unsafe-fixes"]);
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    let after_first = snapshot_tree(dir.path());
    let o = run(dir.path(), &["fix", "--unsafe-fixes"]);
    assert!(stderr(&o).contains("Applied 0 fixes"), "{}", stderr(&o));
    assert_eq!(
        snapshot_tree(dir.path()),
        after_first,
        "second run changes nothing"
    );
    let o = run(dir.path(), &["fix", "--diff", "--unsafe-fixes"]);
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    // The executable bit survives.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("scripts/setup.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
    }
}

#[test]
fn fix_keeps_crlf_bom_and_utf16() {
    let crlf = b"import requests\r\nr = requests.get(\"http://localhost:50342/oauth2/token\", headers={\"Metadata\": \"true\"})\r\n";
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(PY_URL);
    let ps = "$t = Invoke-RestMethod -Uri 'http://localhost:50342/oauth2/token?resource=https://vault.azure.net' -Headers @{Metadata='true'}\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    for u in ps.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let dir = tree(&[("crlf.py", crlf), ("bom.py", &bom), ("u16.ps1", &utf16)]);
    let o = run(dir.path(), &["fix", "--diff"]);
    let patch = dir.path().join("../p.patch");
    fs::write(&patch, &o.stdout).unwrap();
    git(dir.path(), &["init", "-q"]);
    let check = git(dir.path(), &["apply", "--check", patch.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&check.stderr),
        stdout(&o)
    );

    let o = run(dir.path(), &["fix"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = fs::read(dir.path().join("crlf.py")).unwrap();
    let c = String::from_utf8(c).unwrap();
    assert!(c.contains("169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"));
    assert_eq!(c.matches("\r\n").count(), 2, "{c:?}");
    let b = fs::read(dir.path().join("bom.py")).unwrap();
    assert!(b.starts_with(&[0xEF, 0xBB, 0xBF]));
    let u = fs::read(dir.path().join("u16.ps1")).unwrap();
    assert!(u.starts_with(&[0xFF, 0xFE]));
    let units: Vec<u16> = u[2..]
        .chunks(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert!(text.contains("169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"), "{text}");
    assert!(text.ends_with("\r\n"));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn readme_lists_every_rule() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for rule in imds_migrate::rules::catalogue().iter() {
        let row = format!(
            "| {} | {} | {} | {} |",
            rule.id,
            rule.name,
            rule.severity.as_str(),
            rule.fix.as_str()
        );
        assert!(readme.contains(&row), "README's rule table lacks `{row}`");
    }
}

//! Hostile input: the scanner names every problem, goes on, and never crashes.

use std::{fs, path::Path, process::Command};

fn scan_json(dir: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .arg("scan")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn errors_for<'a>(v: &'a serde_json::Value, path: &str) -> Vec<&'a str> {
    messages_for(v, "errors", path)
}

/// Files searched as text only (they did not parse or decode) are notes, not errors.
fn notes_for<'a>(v: &'a serde_json::Value, path: &str) -> Vec<&'a str> {
    messages_for(v, "notes", path)
}

fn messages_for<'a>(v: &'a serde_json::Value, list: &str, path: &str) -> Vec<&'a str> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == path)
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

fn findings_in(v: &serde_json::Value, path: &str) -> usize {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == path)
        .count()
}

/// Bytes from a fixed-seed generator, so a failure reproduces.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn hostile_tree_is_scanned_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = "http://localhost:50342/oauth2/token";

    let mut deep = String::from("{\"publisher\": \"Microsoft.ManagedIdentity\", \"x\": ");
    deep.push_str(&"[".repeat(100_000));
    fs::write(d.join("deep.json"), &deep).unwrap();
    let mut deep_ok = "[".repeat(100_000);
    deep_ok.push_str(&"]".repeat(100_000));
    fs::write(
        d.join("deep-balanced.json"),
        format!("{{\"a\": {deep_ok}, \"publisher\": \"Microsoft.ManagedIdentity\"}}"),
    )
    .unwrap();
    fs::write(
        d.join("deep.tf"),
        "{".repeat(100_000) + "publisher = \"Microsoft.ManagedIdentity\"",
    )
    .unwrap();
    fs::write(
        d.join("deep.bicep"),
        "{".repeat(100_000) + "publisher: 'Microsoft.ManagedIdentity'",
    )
    .unwrap();
    fs::write(
        d.join("deep.ps1"),
        "@{".repeat(100_000) + " Set-AzVMExtension -Publisher Microsoft.ManagedIdentity",
    )
    .unwrap();
    fs::write(
        d.join("deep.sh"),
        "$(".repeat(100_000) + " az vm extension set --publisher Microsoft.ManagedIdentity",
    )
    .unwrap();

    // A long line: 20 MB without a newline, usage at the very end.
    let mut long = vec![b'a'; 20 * 1024 * 1024];
    long.extend_from_slice(format!(" curl {url}").as_bytes());
    fs::write(d.join("long.sh"), &long).unwrap();

    for (i, name) in ["random.json", "random.ps1", "random.sh", "random.tf"]
        .iter()
        .enumerate()
    {
        let mut bytes = noise(200_000, 0x9E37_79B9 + i as u64);
        bytes.retain(|&b| b != 0);
        bytes.extend_from_slice(b" Microsoft.ManagedIdentity ManagedIdentityExtensionForLinux ");
        fs::write(d.join(name), bytes).unwrap();
    }
    let mut bad_utf8 = format!("r = get('{url}') ").into_bytes();
    bad_utf8.extend_from_slice(b"\xff\xfe\xc3\n");
    fs::write(d.join("bad-utf8.py"), bad_utf8).unwrap();
    let mut odd16 = vec![0xFF, 0xFE];
    for u in format!("$x = '{url}'").encode_utf16() {
        odd16.extend_from_slice(&u.to_le_bytes());
    }
    odd16.push(b'!');
    fs::write(d.join("odd16.ps1"), odd16).unwrap();
    fs::write(
        d.join("nul.json"),
        b"{\"a\": \"\0\", \"u\": \"http://localhost:50342/oauth2/token\"}",
    )
    .unwrap();
    fs::write(d.join("empty.json"), b"").unwrap();
    fs::create_dir_all(d.join("dir.json")).unwrap();
    fs::write(d.join("dir.json/inner.py"), format!("u = '{url}'\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::{ffi::OsStrExt, fs::symlink};
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname.py");
        fs::write(d.join(name), format!("u = '{url}'\n")).unwrap();
        fs::create_dir_all(d.join("loop")).unwrap();
        symlink(d.join("loop"), d.join("loop/again")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.py"), format!("u = '{url}'\n")).unwrap();
        symlink(outside.path(), d.join("outside")).unwrap();
        symlink(outside.path().join("secret.py"), d.join("outside-file.py")).unwrap();
        let (code, v, stderr) = scan_json(d, &[]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            !v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"].as_str().unwrap().contains("secret")),
            "symlinks must not lead outside the root"
        );
        assert_eq!(findings_in(&v, "bad\u{fffd}name.py"), 1, "{v:#}");
        assert!(v["summary"]["skipped"]["symlinks"].as_u64().unwrap() >= 3);
        check(&v);
    }
    #[cfg(not(unix))]
    check(&scan_json(d, &[]).1);

    // Above --max-filesize: named, because it may hold a usage.
    let (_, v, _) = scan_json(d, &["--max-filesize", "1000000"]);
    assert!(
        errors_for(&v, "long.sh")
            .iter()
            .any(|m| m.contains("max-filesize")),
        "{v:#}"
    );
}

fn check(v: &serde_json::Value) {
    let deep = notes_for(v, "deep.json");
    assert!(deep.iter().any(|m| m.contains("deep")), "{deep:?}");
    assert_eq!(findings_in(v, "long.sh"), 1);
    assert_eq!(findings_in(v, "dir.json/inner.py"), 1);
    let bad = notes_for(v, "bad-utf8.py");
    assert!(
        bad.iter()
            .any(|m| m.contains("UTF-8") && m.contains("not be rewritten")),
        "{bad:?}"
    );
    assert_eq!(findings_in(v, "bad-utf8.py"), 1);
    let odd = notes_for(v, "odd16.ps1");
    assert!(
        odd.iter().any(|m| m.contains("odd number of bytes")),
        "{odd:?}"
    );
    assert_eq!(findings_in(v, "nul.json"), 0);
    assert!(v["summary"]["skipped"]["binary"].as_u64().unwrap() >= 1);
    assert_eq!(findings_in(v, "empty.json"), 0);
}

#[test]
fn file_deleted_before_fix_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gone.py");
    fs::write(
        &p,
        "u = 'http://localhost:50342/oauth2/token'\nh = {'Metadata': 'true'}\n",
    )
    .unwrap();
    fs::remove_file(&p).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .arg("fix")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

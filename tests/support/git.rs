//! Real git repositories for tests: copy a tree, run git with a fixed identity.
#![allow(dead_code)]

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

/// A copy of `from` (files and directories) at `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Whether git is installed; under `CI=true` its absence fails the test instead.
pub fn available() -> bool {
    let found = Command::new("git").arg("--version").output().is_ok();
    assert!(
        found || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but git is missing"
    );
    found
}

/// Runs git in `dir` with a fixed identity and no signing; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

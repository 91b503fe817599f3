//! Where reports go and what they say, through the binary: `--output` behaves like `tee`,
//! counts agree in every format, `fix --diff` applies with `git apply` from where it ran, and
//! the smaller commands (`completions`, `man`, `-v`, `scan --fix`).

#[path = "support/git.rs"]
mod support_git;

use std::{
    fs,
    io::Write,
    os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    path::Path,
    process::{Command, Output, Stdio},
};
use support_git::{copy_dir, git};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
    c.env("NO_COLOR", "1").env_remove("COLUMNS");
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

fn example() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example"))
}

const PY: &[u8] = b"import requests\n\nr = requests.get(\"http://localhost:50342/oauth2/token?resource=https://vault.azure.net\", headers={\"Metadata\": \"true\"})\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("app")).unwrap();
    fs::write(dir.path().join("app/t.py"), PY).unwrap();
    dir
}

#[test]
fn output_dash_is_stdout() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "--format", "json", "-o", "-"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"rule_id\""));
    assert!(!dir.path().join("-").exists());
}

#[test]
fn output_through_a_symlink_keeps_the_link() {
    let dir = tree();
    fs::write(dir.path().join("real.json"), "old").unwrap();
    std::os::unix::fs::symlink("real.json", dir.path().join("link.json")).unwrap();
    let o = run(dir.path(), &["scan", "--format", "json", "-o", "link.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        fs::symlink_metadata(dir.path().join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(dir.path().join("real.json"))
            .unwrap()
            .contains("IMDS030")
    );
}

#[test]
fn output_to_a_fifo_feeds_its_reader() {
    let dir = tree();
    let fifo = dir.path().join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let o = run(dir.path(), &["scan", "--format", "sarif", "-o", "pipe"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(reader.join().unwrap().contains("\"ruleId\": \"IMDS030\""));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn output_symlink_to_a_device_is_written_through() {
    // A symlink to /dev/null stands for `-o /dev/null`: the link (and the device) must stay.
    let dir = tree();
    std::os::unix::fs::symlink("/dev/null", dir.path().join("null")).unwrap();
    let o = run(dir.path(), &["scan", "-o", "null"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        fs::symlink_metadata(dir.path().join("null"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn output_existing_file_keeps_mode_and_new_file_follows_umask() {
    let dir = tree();
    let existing = dir.path().join("report.txt");
    fs::write(&existing, "old").unwrap();
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::metadata(&existing).unwrap();
    let o = run(dir.path(), &["scan", "-o", "report.txt"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let after = fs::metadata(&existing).unwrap();
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert!(fs::read_to_string(&existing).unwrap().contains("IMDS030"));
    // A new file: 0666 minus the umask (022 here), not tempfile's 0600.
    let o = Command::new("sh")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "umask 022 && exec {} scan -o new.txt",
            env!("CARGO_BIN_EXE_imds-migrate")
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        fs::metadata(dir.path().join("new.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
}

#[test]
fn output_errors_name_the_path_and_no_temporary_file() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "-o", "missing/dir/r.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("imds-migrate: error: cannot write missing/dir/r.txt"),
        "{err}"
    );
    assert!(!err.contains(".imds-migrate-tmp"), "{err}");
    let o = run(dir.path(), &["scan", "-o", "app"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("imds-migrate: error: cannot write app"),
        "{}",
        stderr(&o)
    );
}

/// The example's fix counts, as each format states them.
#[test]
fn fix_counts_agree_in_every_format() {
    let dir = example();
    let json: serde_json::Value =
        serde_json::from_slice(&run(dir, &["scan", "--format", "json"]).stdout).unwrap();
    let fixable = json["summary"]["fixable"].as_u64().unwrap();
    let unsafe_fixable = json["summary"]["unsafe_fixable"].as_u64().unwrap();
    let sentence = json["summary"]["fix_summary"].as_str().unwrap().to_owned();
    assert!(fixable > 0 && unsafe_fixable > 0, "{json}");
    assert_eq!(
        sentence,
        format!(
            "{fixable} fixable with `imds-migrate fix`, {unsafe_fixable} more with `--unsafe-fixes`"
        )
    );
    let text = stdout(&run(dir, &["scan"]));
    assert!(text.contains(&sentence), "{text}");
    let stats = stdout(&run(dir, &["scan", "--statistics"]));
    assert!(stats.contains(&sentence), "{stats}");
    let stats_json: serde_json::Value =
        serde_json::from_slice(&run(dir, &["scan", "--statistics", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(stats_json["summary"]["fix_summary"], sentence.as_str());
    let per_rule: u64 = stats_json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fixable"].as_u64().unwrap())
        .sum();
    assert_eq!(per_rule, fixable);
    let sarif: serde_json::Value =
        serde_json::from_slice(&run(dir, &["scan", "--format", "sarif"]).stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["properties"]["fixSummary"],
        sentence.as_str()
    );
    assert_eq!(sarif["runs"][0]["properties"]["fixable"], fixable);
    let html = stdout(&run(dir, &["scan", "--format", "html"]));
    assert!(
        html.contains(&format!(
            "data-total=\"fixable-safe\"><span class=\"num\">{fixable}<"
        )),
        "safe card"
    );
    assert!(
        html.contains(&format!(
            "data-total=\"fixable-unsafe\"><span class=\"num\">{unsafe_fixable}<"
        )),
        "unsafe card"
    );
    let junit = stdout(&run(dir, &["scan", "--format", "junit"]));
    assert!(
        junit.contains(&format!("<property name=\"fixable\" value=\"{fixable}\"/>")),
        "{junit}"
    );
    // `fix` applies what `scan` called fixable and skips the unsafe ones.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(dir, tmp.path());
    let o = run(tmp.path(), &["fix", "."]);
    let summary = stderr(&o);
    let fixes = |n: u64| format!("{n} {}", if n == 1 { "fix" } else { "fixes" });
    assert!(
        summary.contains(&format!("Applied {} in", fixes(fixable))),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} skipped as unsafe", fixes(unsafe_fixable))),
        "{summary}"
    );
}

/// `fix --diff DIR | git apply` from the repository root, from the scanned directory itself,
/// and with an absolute root: each patches exactly the files `fix` would.
#[test]
fn fix_diff_applies_with_git_from_where_it_ran() {
    if Command::new("git").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "git is missing"
        );
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let sub = repo.path().join("testdata/example");
    fs::create_dir_all(&sub).unwrap();
    copy_dir(example(), &sub);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "init"]);
    // What `fix` itself writes, for comparison.
    let fixed = tempfile::tempdir().unwrap();
    copy_dir(example(), fixed.path());
    run(fixed.path(), &["fix", "."]);

    let abs = sub.display().to_string();
    for (cwd, root) in [
        (repo.path().to_path_buf(), "testdata/example"),
        (sub.clone(), "."),
        (repo.path().join("testdata"), "example"),
        (repo.path().to_path_buf(), abs.as_str()),
    ] {
        git(repo.path(), &["checkout", "-q", "--", "."]);
        let o = run(&cwd, &["fix", "--diff", root]);
        assert!(o.status.code() == Some(1), "{}", stderr(&o));
        let mut apply = Command::new("git")
            .current_dir(&cwd)
            .args(["apply", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        apply.stdin.take().unwrap().write_all(&o.stdout).unwrap();
        let out = apply.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "from {cwd:?} with {root}: {}",
            stderr(&out)
        );
        for f in ["scripts/setup.sh", "infra/azuredeploy.json", "README.md"] {
            assert_eq!(
                fs::read_to_string(sub.join(f)).unwrap(),
                fs::read_to_string(fixed.path().join(f)).unwrap(),
                "{f} from {cwd:?} with {root}"
            );
        }
        // Nothing outside the scanned directory changed.
        let status = stdout(&git(repo.path(), &["status", "--porcelain"]));
        assert!(
            status.lines().all(|l| l.contains("testdata/example/")),
            "{status}"
        );
    }
}

#[test]
fn scan_fix_points_to_fix() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "--fix"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("imds-migrate: error: "),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("imds-migrate fix"), "{}", stderr(&o));
}

#[test]
fn verbose_says_config_roots_skips_and_time() {
    let dir = tree();
    fs::write(dir.path().join("imds-migrate.toml"), "exclude = []\n").unwrap();
    fs::write(
        dir.path().join("build.log"),
        "http://localhost:50342/oauth2/token failed\n",
    )
    .unwrap();
    let o = run(dir.path(), &["-v", "scan"]);
    let err = stderr(&o);
    assert!(
        err.contains("configuration from") && err.contains("imds-migrate.toml"),
        "{err}"
    );
    assert!(err.contains("skipped 1 log files"), "{err}");
    // Each skipped file is named with its reason.
    assert!(
        err.contains("skipped: build.log: log file (quoted errors, never usages)"),
        "{err}"
    );
    assert!(err.contains("scanned 2 files in"), "{err}");
    let o = run(dir.path(), &["-v", "scan", "--no-config"]);
    assert!(
        stderr(&o).contains("no configuration file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn completions_and_man_page() {
    let dir = tree();
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef imds-migrate"),
        ("fish", "complete -c imds-migrate"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = run(dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(s.contains(needle), "{shell}: {s}");
        assert!(s.contains("unsafe-fixes"), "{shell} completes fix's flags");
    }
    let o = run(dir.path(), &["man"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH imds-migrate"),
        "{man}"
    );
    assert!(
        man.contains("show\\-fixes") || man.contains("show-fixes"),
        "scan's options are documented"
    );
}

#[test]
fn help_groups_options_under_headings() {
    let dir = tree();
    for sub in ["scan", "fix"] {
        let help = stdout(&run(dir.path(), &[sub, "--help"]));
        for heading in [
            "Files:",
            "Rules:",
            "Configuration:",
            "Output:",
            "Global options:",
        ] {
            assert!(help.contains(heading), "{sub}: {heading}\n{help}");
        }
    }
}

//! The HTML audit report as a manager gets it: made by the binary in a real git repository,
//! read for what it must say, and rendered in headless Chromium at desktop and phone width.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/git.rs"]
mod support_git;

use support_git::{copy_dir, git};

use std::{fs, path::Path, process::Command};

/// testdata/example inside a fresh repository named `payments-infra`, committed on `main`,
/// and the report of `scan <abs>/payments-infra/deploy` made from outside it. Returns the
/// report and the commit id.
fn audit_report() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("payments-infra");
    copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example")),
        &repo.join("deploy"),
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "init"]);
    let commit = String::from_utf8(git(&repo, &["rev-parse", "HEAD"]).stdout).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1795837560")
        .arg("scan")
        .arg(repo.join("deploy"))
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        dir,
        String::from_utf8(o.stdout).unwrap(),
        commit.trim().to_owned(),
    )
}

#[test]
fn header_names_repository_branch_commit_date_and_version() {
    let (_dir, page, commit) = audit_report();
    assert!(
        page.contains("<dt>Repository</dt><dd><code>payments-infra</code></dd>"),
        "{page}"
    );
    assert!(page.contains("<dt>Branch</dt><dd><code>main</code></dd>"));
    assert!(page.contains(&format!(
        "<code title=\"{commit}\">{}</code>",
        &commit[..12]
    )));
    assert!(page.contains("<dt>Scanned</dt><dd>2026-11-28 03:46 UTC</dd>"));
    assert!(page.contains(&format!("imds-migrate {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn paths_are_relative_to_the_repository() {
    let (dir, page, _) = audit_report();
    assert!(
        !page.contains(&dir.path().display().to_string()),
        "absolute paths leak"
    );
    assert!(!page.contains("/tmp/"));
    assert!(
        page.contains("data-path=\"deploy/scripts/setup.sh\""),
        "{page}"
    );
    assert!(page.contains("<dt>Scanned path</dt><dd><code>deploy</code></dd>"));
}

#[test]
fn executive_summary_says_what_is_fixed_and_what_needs_a_person() {
    let (_dir, page, _) = audit_report();
    let start = page
        .find("id=\"executive-summary\"")
        .expect("summary paragraph");
    let para = &page[start..start + page[start..].find("</p>").unwrap()];
    assert!(
        para.contains("usages</strong> of the retired Managed Identity VM extension in <strong>"),
        "{para}"
    );
    assert!(para.contains("can be fixed automatically"), "{para}");
    assert!(para.contains("need a person: "), "{para}");
    assert!(para.contains("<code>IMDS032</code>"), "{para}");
}

#[test]
fn fixes_show_removed_text_in_one_diff_per_finding() {
    let (_dir, page, _) = audit_report();
    assert!(!page.contains("text not shown"), "removals show their text");
    let fixes = page.matches("<div class=\"fix safe\">").count()
        + page.matches("<div class=\"fix unsafe\">").count();
    assert_eq!(
        page.matches("<pre class=\"diff merged\">").count(),
        fixes,
        "one merged diff per fix"
    );
    // The ARM resource's removal shows the resource's lines.
    assert!(page.contains("<span class=\"row before\">-       &quot;type&quot;: &quot;Microsoft.Compute/virtualMachines/extensions&quot;,</span>"), "{page}");
    // An in-line change marks only what changed.
    assert!(
        page.contains("<del>localhost:50342/oauth2/token</del>")
            || page.contains("<del>localhost:50342/oauth2/token?</del>"),
        "{page}"
    );
}

#[test]
fn files_collapse_and_the_directory_chart_splits() {
    let (_dir, page, _) = audit_report();
    assert_eq!(
        page.matches("<section class=\"file\"").count(),
        page.matches("<details open>").count()
    );
    // Every finding is under deploy/: the chart splits one level below it.
    assert!(page.contains("data-label=\"deploy/scripts/\""), "{page}");
    assert!(!page.contains("data-label=\"deploy/\""));
}

#[test]
fn renders_at_desktop_and_phone_width() {
    let Some(bin) = chromium::chromium() else {
        return;
    };
    let (dir, page, _) = audit_report();
    let file = dir.path().join("report.html");
    fs::write(&file, &page).unwrap();
    let url = format!("file://{}", file.display());
    let profile = dir.path().join("profile");
    let dom = chromium::run_chromium(&bin, &profile, &url, &["--dump-dom".to_owned()]);
    assert!(dom.contains("data-js=\"ready\""), "script ran");
    for (name, size) in [("desktop", "1400,2400"), ("phone", "390,2400")] {
        let shot = dir.path().join(format!("{name}.png"));
        chromium::run_chromium(
            &bin,
            &profile,
            &url,
            &[
                format!("--screenshot={}", shot.display()),
                format!("--window-size={size}"),
            ],
        );
        let png = fs::read(&shot).expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.len() > 30_000, "{name}: only {} bytes", png.len());
        // Kept for a person to look at.
        let _ = fs::copy(
            &shot,
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-audit-{name}.png")),
        );
    }
    let pdf = dir.path().join("report.pdf");
    chromium::run_chromium(
        &bin,
        &profile,
        &url,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_owned(),
        ],
    );
    let bytes = fs::read(&pdf).expect("printed");
    assert!(bytes.starts_with(b"%PDF"));
    let _ = fs::copy(
        &pdf,
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-audit.pdf"),
    );
    let _ = fs::copy(
        &file,
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-audit.html"),
    );
}

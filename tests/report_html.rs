//! The HTML audit report: self-contained, escaped, and rendered for real in headless Chromium.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/sample.rs"]
mod sample;

use chromium::{chromium, run_chromium};

use std::path::{Path, PathBuf};

use imds_migrate::{report::html::Html, scan::ScanResult};

fn html(result: &ScanResult) -> String {
    sample::render(&Html, result)
}

#[test]
fn is_self_contained() {
    let page = html(&sample::sample());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Content-Security-Policy"));
    for needle in [
        " src=",
        "<link",
        "@import",
        "url(",
        "href=\"http",
        "href='http",
    ] {
        assert!(
            !page.contains(needle),
            "page must not load anything: found {needle}"
        );
    }
    assert!(page.ends_with("</html>\n"));
}

#[test]
fn is_deterministic() {
    assert_eq!(html(&sample::sample()), html(&sample::sample()));
}

#[test]
fn escapes_everything_from_the_scanned_files() {
    let mut result = sample::sample();
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>\"&";
    result.roots[1] = PathBuf::from(format!("app{evil}"));
    let f = &mut result.findings[0];
    f.path = format!("dir/{evil}.ps1");
    f.message = format!("message {evil}");
    f.source_line = format!("source {evil}");
    if let Some(fix) = &mut f.fix {
        fix.description = format!("fix {evil}");
        fix.edits[0].content = format!("content {evil}");
    }
    result.errors[0].message = format!("error {evil}");
    let page = html(&result);
    // The report's own script is the only one.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("<img"));
    assert!(!page.contains("alert('x')"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("message &lt;script&gt;"));
    assert!(page.contains("&quot;&amp;"));
}

#[test]
fn shows_totals_rules_files_and_fixes() {
    let page = html(&sample::sample());
    for (key, n) in [
        ("findings", 8),
        ("files-scanned", 43),
        ("files-with-findings", 7),
        ("fixable-safe", 5),
        ("fixable-unsafe", 1),
        ("manual", 2),
        ("errors", 2),
    ] {
        let card = format!("data-total=\"{key}\"><span class=\"num\">{n}</span>");
        assert!(page.contains(&card), "missing {card}");
    }
    // Several roots: a row per root.
    assert!(page.contains("id=\"per-root\""));
    assert!(
        page.contains(
            "<code>app code</code></td><td class=\"num\">12</td><td class=\"num\">3</td>"
        )
    );
    assert_eq!(page.matches("<section class=\"file\"").count(), 7);
    assert_eq!(page.matches("<article class=\"finding").count(), 8);
    // The unicode line, cut by characters, with the flagged URL marked.
    assert!(page.contains("<mark>http://localhost:50342/oauth2/token?resource=</mark>"));
    assert!(page.contains("🔑 jeton"));
    // An in-line fix as before/after; a deleted line; a multi-line replacement.
    assert!(page.contains("<del>http://localhost:50342/oauth2/token?</del>"));
    assert!(page.contains("<ins>http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&amp;</ins>"));
    assert!(page.contains("delete line 12"));
    assert!(page.contains("replace 21:12–23:6"));
    assert!(page.contains("unsafe fix: review first"));
    assert!(page.contains("Files not scanned (2)"));
    // Two roots split the findings at the first level: one bar each.
    assert!(page.contains("data-label=\"infra/\" data-count=\"5\""));
    assert!(page.contains("data-label=\"app code/\" data-count=\"3\""));
    assert!(page.contains("<code>imds-migrate fix --unsafe-fixes</code>"));
}

#[test]
fn single_root_groups_directories_below_the_root() {
    let page = html(&sample::single_root());
    assert!(!page.contains("id=\"per-root\""));
    assert!(page.contains("data-label=\"scripts/\" data-count=\"3\""));
    assert!(page.contains("data-label=\"templates/\" data-count=\"2\""));
}

#[test]
fn empty_scan_says_so() {
    let result = ScanResult {
        roots: vec![PathBuf::from(".")],
        ..ScanResult::default()
    };
    let page = html(&result);
    assert!(page.contains("No findings."));
    assert!(!page.contains("<svg"));
}

/// The opening tags that start with `prefix`, attributes included.
fn opening_tags<'a>(dom: &'a str, prefix: &str) -> Vec<&'a str> {
    dom.match_indices(prefix)
        .map(|(i, _)| &dom[i..i + dom[i..].find('>').unwrap_or(0)])
        .collect()
}

#[test]
fn renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html(&sample::sample())).unwrap();
    let profile = dir.path().join("profile");
    let url = format!("file://{}", page.display());

    let dom = run_chromium(&bin, &profile, &url, &["--dump-dom".to_owned()]);
    // The script ran and counted what it shows.
    assert!(
        dom.contains("data-js=\"ready\""),
        "script did not run:\n{dom}"
    );
    assert!(dom.contains(">Showing 8 of 8 findings<"), "{dom}");
    assert!(
        !dom.contains("id=\"filters\" hidden"),
        "filters stay hidden"
    );
    // Three charts, with a bar per rule, file kind and directory.
    for (chart, bars) in [("chart-rule", 6), ("chart-kind", 5), ("chart-dir", 2)] {
        let start = dom.find(&format!("id=\"{chart}\"")).expect(chart);
        let svg = &dom[start..start + dom[start..].find("</svg>").unwrap()];
        assert_eq!(svg.matches("<rect").count(), bars, "{chart}: {svg}");
    }
    assert_eq!(dom.matches("<article class=\"finding").count(), 8);
    assert!(dom.contains("Findings by rule"));

    // The filter, driven through the URL: three IMDS030 findings in two files.
    let filtered = run_chromium(
        &bin,
        &profile,
        &format!("{url}#filter=IMDS030"),
        &["--dump-dom".to_owned()],
    );
    assert!(filtered.contains(">Showing 3 of 8 findings<"), "{filtered}");
    assert_eq!(opening_tags(&filtered, "<article class=\"finding").len(), 8);
    assert_eq!(opening_tags(&filtered, "<section class=\"file\"").len(), 7);
    for tag in opening_tags(&filtered, "<article class=\"finding") {
        let shown = tag.contains("data-rule=\"IMDS030\"");
        assert_eq!(!tag.contains(" hidden"), shown, "{tag}");
    }
    for tag in opening_tags(&filtered, "<section class=\"file\"") {
        let shown = tag.contains("token.sh\"") || tag.contains("Token.cs\"");
        assert_eq!(!tag.contains(" hidden"), shown, "{tag}");
    }

    let shot = dir.path().join("report.png");
    run_chromium(
        &bin,
        &profile,
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_owned(),
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280x2000 page compresses to a few KB; a rendered report is far larger.
    assert!(png.len() > 50_000, "screenshot is only {} bytes", png.len());
    // Kept for a person to look at.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-sample.png");
    let _ = std::fs::copy(&shot, keep);
    let _ = std::fs::copy(
        &page,
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-sample.html"),
    );
}

#[test]
fn large_counts_have_thousands_separators() {
    let mut result = sample::sample();
    let one = result.findings[1].clone();
    result.findings = (0..1234)
        .map(|i| {
            let mut f = one.clone();
            f.line = i + 1;
            f.end_line = i + 1;
            f
        })
        .collect();
    result.summary.files_scanned = 56_789;
    let page = html(&result);
    assert!(page.contains("data-total=\"findings\"><span class=\"num\">1,234</span>"));
    assert!(page.contains("data-total=\"files-scanned\"><span class=\"num\">56,789</span>"));
    assert!(
        page.contains("<strong>1,234 usages</strong>"),
        "executive summary"
    );
    assert!(page.contains(">1,234 findings</span>"), "file group count");
}

//! The GitHub Actions annotations: one workflow command per finding, escaped as the runner expects.

#[path = "support/sample.rs"]
mod sample;

use std::path::PathBuf;

use imds_migrate::{
    finding::Severity,
    report::github::{Github, escape_data, escape_property},
    scan::ScanResult,
};

#[test]
fn snapshot_two_roots() {
    insta::assert_snapshot!(sample::render(&Github, &sample::sample()));
}

#[test]
fn snapshot_single_root() {
    insta::assert_snapshot!(sample::render(&Github, &sample::single_root()));
}

#[test]
fn one_line_per_finding_and_per_error_and_per_note_and_nothing_else() {
    let result = sample::sample();
    let out = sample::render(&Github, &result);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        result.findings.len() + result.errors.len() + result.notes.len()
    );
    // A file searched as text is a notice: it does not fail the check.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::notice file=infra/templates/rendered.json,"))
    );
    assert!(lines.iter().all(|l| l.starts_with("::")));
    let with_title = lines.iter().filter(|l| l.contains(",title=IMDS")).count();
    assert_eq!(with_title, result.findings.len());
}

#[test]
fn empty_scan_prints_nothing() {
    let result = ScanResult {
        roots: vec![PathBuf::from(".")],
        ..ScanResult::default()
    };
    assert_eq!(sample::render(&Github, &result), "");
}

#[test]
fn severity_picks_the_command() {
    let mut result = sample::single_root();
    result.findings.truncate(1);
    for (severity, command) in [
        (Severity::Error, "::error "),
        (Severity::Warning, "::warning "),
        (Severity::Info, "::notice "),
    ] {
        result.findings[0].severity = severity;
        result.errors.clear();
        let out = sample::render(&Github, &result);
        assert!(out.starts_with(command), "{out}");
    }
}

#[test]
fn escapes_data_and_properties() {
    assert_eq!(
        escape_data("100% done\r\nnext: a,b"),
        "100%25 done%0D%0Anext: a,b"
    );
    assert_eq!(escape_property("a:b,c%d\ne"), "a%3Ab%2Cc%25d%0Ae");
    // `%` first, or the escapes themselves would be escaped again.
    assert_eq!(escape_property("%3A"), "%253A");
}

#[test]
fn escapes_hostile_paths_and_messages_in_context() {
    let mut result = sample::single_root();
    result.errors.clear();
    result.notes.clear();
    result.findings.truncate(1);
    let f = &mut result.findings[0];
    f.path = "odd,dir/a:b 100%.ps1".to_owned();
    f.message = "line one\nline two: 50% of hosts, really\r".to_owned();
    f.fix = None;
    let out = sample::render(&Github, &result);
    assert_eq!(
        out,
        "::error file=odd%2Cdir/a%3Ab 100%25.ps1,line=12,endLine=12,col=1,endColumn=173,title=IMDS010::line one%0Aline two: 50%25 of hosts, really%0D\n"
    );
}

#[test]
fn paths_are_shown_from_the_working_directory() {
    let out = sample::render(&Github, &sample::sample());
    assert!(out.contains("file=infra/scripts/deploy vm.ps1,"), "{out}");
    assert!(out.contains("file=app code/src/Token.cs,"), "{out}");
    assert!(
        out.contains("::error file=app code/secrets/key.pem,title="),
        "{out}"
    );
}

#[test]
fn multi_line_findings_carry_no_columns() {
    let out = sample::render(&Github, &sample::sample());
    let py = out.lines().find(|l| l.contains("token.py")).unwrap();
    assert!(py.contains(",line=21,endLine=23,title=IMDS031::"), "{py}");
}

//! The CI formats: Azure Pipelines logging commands, GitLab Code Quality and `JUnit` XML, each
//! snapshot-tested and checked against the consumer's own schema.

#[path = "support/json_schema.rs"]
mod json_schema;
#[path = "support/sample.rs"]
mod sample;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use imds_migrate::{
    report::{azure::Azure, gitlab::Gitlab, junit::Junit},
    scan::ScanResult,
};
use serde_json::Value;

/// The external schemas (`shared/schemas/` beside the checkout, or `$IMDS_SCHEMAS`). A
/// developer without them gets a skip; in CI their absence fails the test.
fn schema(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("IMDS_SCHEMAS")
        .map(|d| PathBuf::from(d).join(name))
        .into_iter()
        .chain(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|d| d.join("shared/schemas").join(name)),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the schema {name} is missing (expected in ../shared/schemas or $IMDS_SCHEMAS)"
        );
        eprintln!("skipped: schema {name} not found (set IMDS_SCHEMAS)");
    }
    found
}

fn empty() -> ScanResult {
    ScanResult {
        roots: vec![PathBuf::from(".")],
        ..ScanResult::default()
    }
}

#[test]
fn azure_snapshot() {
    insta::assert_snapshot!(sample::render(&Azure, &sample::sample()));
}

#[test]
fn azure_one_command_per_line_even_with_hostile_text() {
    let mut result = sample::sample();
    result.findings[0].message = "100% sure;]\n##vso[task.complete result=Succeeded;]done".into();
    result.findings[0].path = "dir;x]/a.ps1".into();
    let out = sample::render(&Azure, &result);
    let lines: Vec<&str> = out.lines().collect();
    // One logissue per finding, per error and per note, then task.complete.
    assert_eq!(
        lines.len(),
        result.findings.len() + result.errors.len() + result.notes.len() + 1
    );
    assert!(lines.iter().all(|l| l.starts_with("##vso[task.")), "{out}");
    assert!(lines[0].contains("dir%3Bx%5D/a.ps1;"), "{}", lines[0]);
    assert!(
        lines[0].contains("100%AZP25 sure;]%0A##vso"),
        "{}",
        lines[0]
    );
    assert_eq!(
        out.matches("task.complete").count(),
        2,
        "one real, one quoted"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("##vso[task.complete result=Failed;]")
    );
    assert_eq!(
        sample::render(&Azure, &empty()).trim(),
        "##vso[task.complete result=Succeeded;]imds-migrate: 0 finding(s) in 0 file(s) scanned"
    );
}

fn gitlab(result: &ScanResult) -> Value {
    serde_json::from_str(&sample::render(&Gitlab, result)).unwrap()
}

#[test]
fn gitlab_snapshot() {
    insta::assert_json_snapshot!(gitlab(&sample::sample()));
}

#[test]
fn gitlab_report_passes_gitlabs_schema_with_documented_severities() {
    let Some(path) = schema("gitlab-codeclimate.schema.json") else {
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let report = gitlab(&sample::sample());
    let issues = report.as_array().unwrap();
    assert_eq!(issues.len(), 8 + 2 + 1, "findings, errors and notes");
    for issue in issues {
        let problems = json_schema::violations(&schema, issue);
        assert!(problems.is_empty(), "{problems:#?}\n{issue:#}");
        let sev = issue["severity"].as_str().unwrap();
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&sev),
            "{sev}"
        );
        assert!(issue["check_name"].is_string());
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    // The checker itself rejects what GitLab would.
    let broken =
        serde_json::json!({"description": "x", "severity": "major", "location": {"path": 1}});
    assert_eq!(json_schema::violations(&schema, &broken).len(), 2);
    assert_eq!(gitlab(&empty()), serde_json::json!([]));
}

#[test]
fn gitlab_fingerprints_are_unique_and_stable() {
    let a = gitlab(&sample::sample());
    let mut moved = sample::sample();
    for f in &mut moved.findings {
        f.line += 10;
        f.end_line += 10;
    }
    let b = gitlab(&moved);
    let prints = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_owned())
            .collect()
    };
    let pa = prints(&a);
    let mut unique = pa.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pa.len(), "{pa:?}");
    assert_eq!(pa, prints(&b), "lines moved, fingerprints kept");
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!(sample::render(&Junit, &sample::sample()));
}

/// `xmllint` from Debian's libxml2-utils; `.ci/run` installs it, and in CI a missing one fails.
fn xmllint() -> Option<&'static str> {
    let found = Command::new("xmllint").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but xmllint is missing (apt-get install -y libxml2-utils)"
        );
        eprintln!("skipped: xmllint not installed (apt-get install -y libxml2-utils)");
        return None;
    }
    Some("xmllint")
}

#[test]
fn junit_validates_against_the_xsd() {
    let (Some(xmllint), Some(xsd)) = (xmllint(), schema("junit-10.xsd")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let xsd = without_comments(&xsd, dir.path());
    let mut hostile = sample::sample();
    hostile.findings[0].message = "a <b> & \"c\" 'd' \u{1b}[31m\u{7} ]]> end".into();
    for (name, result) in [
        ("sample", sample::sample()),
        ("single", sample::single_root()),
        ("empty", empty()),
        ("hostile", hostile),
    ] {
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, sample::render(&Junit, &result)).unwrap();
        let o = Command::new(xmllint)
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(&path).unwrap()
        );
    }
    // The validator is real: a report missing a required attribute is rejected.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<testsuites><testsuite name=\"x\"/></testsuites>").unwrap();
    let o = Command::new(xmllint)
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// A copy of the XSD without its comments: the provenance note above the schema contains `--`,
/// which XML forbids inside a comment, so libxml2 refuses the file as it is. Comments carry no
/// schema meaning; everything else is kept byte for byte.
fn without_comments(xsd: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(xsd).unwrap();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("-->").expect("unterminated comment") + start + 3;
        rest = &rest[end..];
    }
    out.push_str(rest);
    let copy = dir.join("junit.xsd");
    std::fs::write(&copy, out).unwrap();
    copy
}

#[test]
fn junit_has_one_case_per_rule_and_one_failure_per_finding() {
    let out = sample::render(&Junit, &sample::sample());
    let rules = imds_migrate::rules::catalogue().iter().count();
    assert_eq!(
        out.matches("<testcase ").count(),
        rules + 2,
        "rules + scan errors + files searched as text"
    );
    assert_eq!(out.matches("<failure ").count(), 8);
    assert_eq!(out.matches("<error ").count(), 2);
}

/// A file searched as text only is counted in every CI format, and fails nothing: a warning in
/// Azure (which has no informational issue) that leaves the step's result alone, an `info` issue
/// in GitLab, a passing `JUnit` case.
#[test]
fn notes_are_reported_but_fail_nothing() {
    let mut result = empty();
    result.summary.files_scanned = 1;
    result.summary.notes = 1;
    result.notes = vec![imds_migrate::scan::FileError {
        path: "rendered.json".to_owned(),
        message: "invalid JSON at line 1, column 2: expected value; searched as text".to_owned(),
        root: 0,
    }];
    let azure = sample::render(&Azure, &result);
    let note = azure
        .lines()
        .find(|l| l.contains("rendered.json"))
        .expect("a logissue for the note");
    assert!(
        note.starts_with("##vso[task.logissue type=warning;sourcepath=rendered.json]"),
        "{note}"
    );
    assert!(
        azure.contains("task.complete result=Succeeded;]")
            && azure.contains("1 note searched as text"),
        "{azure}"
    );

    let issues = gitlab(&result);
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["severity"], "info");
    assert_eq!(issues[0]["check_name"], "searched-as-text");
    assert_eq!(issues[0]["location"]["path"], "rendered.json");

    let junit = sample::render(&Junit, &result);
    assert!(
        !junit.contains("<failure") && !junit.contains("<error"),
        "{junit}"
    );
    assert!(
        junit.contains("failures=\"0\" errors=\"0\"")
            && junit.contains("<property name=\"notes\" value=\"1\"/>")
            && junit.contains("<system-out>rendered.json: note: invalid JSON"),
        "{junit}"
    );
}

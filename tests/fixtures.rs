//! Per-rule fixtures: `testdata/rules/<RULE>/positive*.<ext>` must produce findings of that rule,
//! `negative*.<ext>` none at all. Findings of every fixture are snapshot-tested.

use std::{fmt::Write, path::Path};

use imds_migrate::{
    rules::catalogue,
    scan::{self, ScanOptions},
};

fn render(path: &Path) -> (String, Vec<String>) {
    let opts = ScanOptions {
        roots: vec![path.to_path_buf()],
        ..ScanOptions::default()
    };
    let result = scan::scan(&opts);
    let mut out = String::new();
    for f in &result.findings {
        let fix = f.fix.as_ref().map_or("none".to_owned(), |x| {
            format!("{:?}: {}", x.applicability, x.description).to_lowercase()
        });
        writeln!(
            out,
            "{}:{}-{}:{} {} {}\n    fix: {fix}",
            f.line, f.column, f.end_line, f.end_column, f.rule_id, f.message
        )
        .unwrap();
    }
    for e in &result.errors {
        writeln!(out, "error: {}", e.message).unwrap();
    }
    let rules = result.findings.iter().map(|f| f.rule_id.clone()).collect();
    (out, rules)
}

#[test]
fn rule_fixtures() {
    insta::glob!("../testdata/rules", "*/*", |path| {
        let rule = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let name = path.file_name().unwrap().to_string_lossy();
        let (rendered, rules) = render(path);
        if name.starts_with("positive") {
            assert!(
                rules.iter().any(|r| r == &*rule),
                "{rule}/{name} must produce a {rule} finding; got:\n{rendered}"
            );
        } else if name.starts_with("negative") {
            assert!(
                rules.is_empty(),
                "{rule}/{name} must produce no finding; got:\n{rendered}"
            );
        }
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn every_rule_has_positive_and_negative_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
    for rule in catalogue().iter() {
        let dir = root.join(&rule.id);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("positive")),
            "{}: no positive fixture",
            rule.id
        );
        assert!(
            names.iter().any(|n| n.starts_with("negative")),
            "{}: no negative fixture",
            rule.id
        );
    }
}

//! Per-rule fixtures: `testdata/rules/<RULE>/positive*.<ext>` must produce findings of that rule,
//! `negative*.<ext>` none at all. Findings of every fixture are snapshot-tested.

use std::{fmt::Write, path::Path};

use imds_migrate::{
    fix::{self, diff},
    rules::catalogue,
    scan::{self, ScanOptions},
    source,
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
    for n in &result.notes {
        writeln!(out, "note: {}", n.message).unwrap();
    }
    let rules = result.findings.iter().map(|f| f.rule_id.clone()).collect();
    (out, rules)
}

/// The fixture after `fix --unsafe-fixes`, and the diff; `None` when nothing offers a fix.
fn fixed(path: &Path) -> Option<(String, String)> {
    let opts = ScanOptions {
        roots: vec![path.to_path_buf()],
        ..ScanOptions::default()
    };
    let result = scan::scan(&opts);
    if !result.findings.iter().any(|f| f.fix.is_some()) {
        return None;
    }
    let record = result.files.values().next()?;
    let change = fix::plan_file(record, &opts, &result.ports, true)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = source::decode(&change.updated).text;
    // One run reaches a fixed point: fixing the result changes nothing.
    let keep = |_: &imds_migrate::finding::Diagnostic| true;
    let again = fix::fix_text(&text, record.kind, &record.rel_path, &opts, &keep, true);
    assert_eq!(
        again.text,
        text,
        "{}: a second fix changed the text",
        path.display()
    );
    Some((
        text,
        diff::render(&record.rel_path, &change.original, &change.updated),
    ))
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
        if let Some((text, diff)) = fixed(path) {
            insta::assert_snapshot!("fixed", text);
            insta::assert_snapshot!("diff", diff);
        }
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

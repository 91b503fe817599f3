//! The SARIF report: shape, one result per finding, locations, fingerprints, fixes.

#[path = "support/sample.rs"]
mod sample;

use std::path::PathBuf;

use imds_migrate::{report::sarif::Sarif, rules::catalogue, scan::ScanResult};
use serde_json::Value;

fn sarif(result: &ScanResult) -> (String, Value) {
    let text = sample::render(&Sarif, result);
    let value = serde_json::from_str(&text).expect("the SARIF report is JSON");
    (text, value)
}

/// The rule texts belong to the rule authors and `driver_lists_the_whole_catalogue` checks them
/// field by field, so the snapshots leave them out and change only when the format does.
fn without_rules(text: &str) -> String {
    let open = "          \"rules\": [\n";
    let close = "\n          ]";
    let start = text.find(open).expect("driver.rules");
    let end = start + text[start..].find(close).expect("end of driver.rules") + close.len();
    format!(
        "{}          \"rules\": \"<the catalogue>\"{}",
        &text[..start],
        &text[end..]
    )
}

#[test]
fn snapshot_two_roots() {
    let (text, _) = sarif(&sample::sample());
    insta::assert_snapshot!(without_rules(&text));
}

#[test]
fn snapshot_single_root() {
    let (text, _) = sarif(&sample::single_root());
    insta::assert_snapshot!(without_rules(&text));
}

#[test]
fn is_deterministic() {
    assert_eq!(sarif(&sample::sample()).0, sarif(&sample::sample()).0);
}

#[test]
fn exactly_one_result_per_finding_with_matching_rule() {
    let result = sample::sample();
    let (_, v) = sarif(&result);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), result.findings.len());
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for (r, f) in results.iter().zip(&result.findings) {
        assert_eq!(r["ruleId"], f.rule_id.as_str());
        let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], f.rule_id.as_str());
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], f.line);
        assert_eq!(region["startColumn"], f.column);
        assert_eq!(region["endLine"], f.end_line);
        assert_eq!(region["endColumn"], f.end_column);
        assert_eq!(
            r["fixes"].as_array().map_or(0, Vec::len),
            usize::from(f.fix.is_some())
        );
    }
}

#[test]
fn empty_scan_has_an_empty_results_array() {
    // An absent `results` means "not run"; an empty array means "ran, found nothing".
    let result = ScanResult {
        roots: vec![PathBuf::from(".")],
        ..ScanResult::default()
    };
    let (_, v) = sarif(&result);
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn driver_lists_the_whole_catalogue() {
    let (_, v) = sarif(&sample::sample());
    let driver = &v["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "imds-migrate");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = catalogue().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, expected);
    for (rule, r) in catalogue().iter().zip(driver["rules"].as_array().unwrap()) {
        assert_eq!(r["name"], rule.name.as_str());
        assert_eq!(r["shortDescription"]["text"], rule.title.as_str());
        // The rule's explanation, and where tokens come from (which text messages leave out).
        let help = r["help"]["text"].as_str().unwrap();
        assert!(help.starts_with(rule.explanation.as_str()), "{help}");
        assert!(
            help.contains("http://169.254.169.254/metadata/identity/oauth2/token"),
            "{help}"
        );
        assert!(
            r["helpUri"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/rules/{}.toml", rule.id))
        );
        assert!(r["properties"]["tags"].as_array().unwrap().len() > 3);
        assert_eq!(r["fullDescription"]["text"], rule.summary.as_str());
        assert_eq!(r["help"]["markdown"], help);
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert_eq!(
            level,
            match rule.severity.as_str() {
                "info" => "note",
                other => other,
            }
        );
    }
}

#[test]
fn uris_are_relative_percent_encoded_and_based_on_srcroot() {
    let (_, v) = sarif(&sample::sample());
    let run = &v["runs"][0];
    assert!(run["originalUriBaseIds"]["%SRCROOT%"].is_object());
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let uris: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(loc["uriBaseId"], "%SRCROOT%");
            loc["uri"].as_str().unwrap()
        })
        .collect();
    assert!(uris.contains(&"infra/scripts/deploy%20vm.ps1"), "{uris:?}");
    assert!(uris.contains(&"app%20code/src/Token.cs"), "{uris:?}");
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notifications.len(), 3);
    assert_eq!(
        notifications[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/templates/broken.json"
    );
    assert_eq!(notifications[0]["level"], "error");
    // A file searched as text only is a note after the errors: the run's results are complete.
    assert_eq!(notifications[2]["level"], "note");
    assert_eq!(
        notifications[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/templates/rendered.json"
    );
}

#[test]
fn absolute_roots_inside_the_working_directory_stay_relative() {
    let mut result = sample::single_root();
    result.roots = vec![std::env::current_dir().unwrap().join("infra")];
    let (_, v) = sarif(&result);
    let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], "infra/scripts/deploy%20vm.ps1");
    assert_eq!(loc["uriBaseId"], "%SRCROOT%");
}

#[test]
fn absolute_roots_elsewhere_become_file_uris() {
    let mut result = sample::single_root();
    result.roots = vec![PathBuf::from("/nonexistent imds root")];
    let (_, v) = sarif(&result);
    let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(
        loc["uri"],
        "file:///nonexistent%20imds%20root/scripts/deploy%20vm.ps1"
    );
    assert!(loc.get("uriBaseId").is_none());
}

fn fingerprints(result: &ScanResult) -> Vec<String> {
    let (_, v) = sarif(result);
    v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["imdsMigrate/v1"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn fingerprints_tell_identical_lines_apart() {
    let fps = fingerprints(&sample::sample());
    let mut unique = fps.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fps.len(), "{fps:?}");
    assert!(fps.iter().all(|f| f.len() == 16));
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let before = fingerprints(&sample::sample());
    // Lines inserted above every finding, and the source re-indented.
    let mut moved = sample::sample();
    for f in &mut moved.findings {
        f.line += 7;
        f.end_line += 7;
        f.source_line = format!("    {}  ", f.source_line);
    }
    assert_eq!(before, fingerprints(&moved));
    // A changed line is a different finding.
    let mut changed = sample::sample();
    changed.findings[0].source_line.push_str(" -Force");
    let after = fingerprints(&changed);
    assert_ne!(before[0], after[0]);
    assert_eq!(before[1..], after[1..]);
}

#[test]
fn fixes_carry_replacements_in_character_columns() {
    let (_, v) = sarif(&sample::sample());
    let results = v["runs"][0]["results"].as_array().unwrap();
    let cs = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "app%20code/src/Token.cs"
        })
        .unwrap();
    let fix = &cs["fixes"][0];
    let change = &fix["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "app%20code/src/Token.cs");
    let rep = &change["replacements"][0];
    assert_eq!(rep["deletedRegion"]["startColumn"], 34);
    assert_eq!(rep["deletedRegion"]["endColumn"], 79);
    assert!(
        rep["insertedContent"]["text"]
            .as_str()
            .unwrap()
            .starts_with("http://169.254.169.254/")
    );
    // A pure deletion has no insertedContent.
    let ps = &results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert!(ps.get("insertedContent").is_none());
    assert_eq!(ps["deletedRegion"]["endLine"], 13);
}

/// Leaves full reports where `.ci/run` hands them to Microsoft's SARIF Multitool: the sample
/// covers what the example repository may not (errors, unsafe fixes, unicode, several roots).
#[test]
fn writes_samples_for_the_validator() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, result) in [
        ("two-roots", sample::sample()),
        ("single-root", sample::single_root()),
        (
            "empty",
            ScanResult {
                roots: vec![PathBuf::from(".")],
                ..ScanResult::default()
            },
        ),
    ] {
        let path = dir.join(format!("report-sample-{name}.sarif"));
        std::fs::write(&path, sarif(&result).0).unwrap();
    }
}

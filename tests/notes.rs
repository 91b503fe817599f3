//! A file searched as text (it does not parse) is a note, not an error: it shows in every
//! format with its own count, and only findings or unreadable files make `scan` exit 1.

use std::{fs, path::Path, process::Command};

fn scan(dir: &Path, format: &str) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(["scan", "--format", format])
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// `${VAR}`-templated JSON that names the publisher (so the prefilter lets it through) but
/// deploys nothing: searched, nothing found.
const TEMPLATED: &str = "{\n  \"allowedPublisher\": \"Microsoft.ManagedIdentity\",\n  \"enabled\": ${ENABLED},\n  \"cloud\": \"${CLOUD}\"\n}\n";

#[test]
fn unparsable_json_without_findings_exits_zero_with_a_note_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("azure.json"), TEMPLATED).unwrap();

    let (code, text) = scan(dir.path(), "text");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("azure.json: note: invalid JSON at line 3"),
        "{text}"
    );
    assert!(
        text.contains("0 findings in 1 file; 1 note searched as text"),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");

    let (code, json) = scan(dir.path(), "json");
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["summary"]["notes"], 1);
    assert_eq!(v["notes"][0]["path"], "azure.json");
    assert!(
        v["notes"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("searched as text")
    );
    assert_eq!(v["roots"][0]["summary"]["notes"], 1);

    let (code, sarif) = scan(dir.path(), "sarif");
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert_eq!(inv["toolExecutionNotifications"][0]["level"], "note");

    let (code, github) = scan(dir.path(), "github");
    assert_eq!(code, Some(0));
    assert!(github.starts_with("::notice file=azure.json,"), "{github}");
}

#[test]
fn a_truncated_template_is_still_found_and_fails_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let cut = "{\n  \"resources\": [\n    {\n      \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n      \"name\": \"vm1/agent\",\n      \"properties\": {\n        \"publisher\": \"Microsoft.ManagedIdentity\",\n        \"type\": \"ManagedIdentityExtensionForWindows\",\n        \"settings\": { \"port\": 50342 ";
    fs::write(dir.path().join("cut.json"), cut).unwrap();
    let (code, text) = scan(dir.path(), "text");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("cut.json:3:5: IMDS001"), "{text}");
    assert!(
        text.contains("1 finding in 1 file; 1 note searched as text"),
        "{text}"
    );
}

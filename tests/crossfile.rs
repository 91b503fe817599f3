//! A generic template is reported only with its own parameter file (IMDS005).

use std::fs;

use imds_migrate::scan::{self, ScanOptions};

const TEMPLATE: &str = r#"{
  "parameters": { "pub": { "type": "string" }, "ty": { "type": "string" } },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "vm/agent",
      "properties": { "publisher": "[parameters('pub')]", "type": "[parameters('ty')]" }
    }
  ]
}
"#;

const MI_PARAMS: &str = r#"{ "parameters": { "pub": { "value": "Microsoft.ManagedIdentity" }, "ty": { "value": "ManagedIdentityExtensionForWindows" } } }
"#;

fn rules_by_file(files: &[(&str, &str)]) -> Vec<(String, String, usize)> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let result = scan::scan(&ScanOptions {
        roots: vec![dir.path().to_path_buf()],
        ..ScanOptions::default()
    });
    result
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.rule_id.clone(), f.line))
        .collect()
}

#[test]
fn template_and_its_parameter_files_in_a_subfolder() {
    let found = rules_by_file(&[
        ("infra/ext.json", TEMPLATE),
        ("infra/ext.parameters.json", MI_PARAMS),
        ("infra/ext.parameters.prod.json", MI_PARAMS),
    ]);
    let in_template: Vec<_> = found.iter().filter(|f| f.0 == "infra/ext.json").collect();
    // Two parameter files, one resource: one finding at the resource's line.
    assert_eq!(in_template.len(), 1, "{found:?}");
    assert_eq!(
        (in_template[0].1.as_str(), in_template[0].2),
        ("IMDS005", 4)
    );
}

#[test]
fn parameter_files_of_other_templates_are_not_matched() {
    let found = rules_by_file(&[
        ("ext.json", TEMPLATE),
        ("other.parameters.json", MI_PARAMS),
        ("parameters.json", MI_PARAMS),
        ("sub/ext.parameters.json", MI_PARAMS),
    ]);
    assert!(found.iter().all(|f| f.1 == "IMDS004"), "{found:?}");
}

//! Scans a folder of files written by the test: the cross-file rules need several files.
#![allow(dead_code)]

use std::fs;

use imds_migrate::scan::{self, ScanOptions};

/// A generic ARM template: an extension resource whose publisher and type are the parameters
/// `pub` and `ty`, without defaults.
pub const GENERIC: &str = r#"{
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

/// Every finding of a scan of `files` (path, contents) as (path, rule, line), sorted.
pub fn rules_by_file(files: &[(&str, &str)]) -> Vec<(String, String, usize)> {
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

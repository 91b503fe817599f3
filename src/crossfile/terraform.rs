//! Terraform `.tfvars` files that make a generic extension resource beside them the Managed
//! Identity extension (IMDS006). Runs after the walk, on the variables files the walk passed on.

use std::fs;

use super::{Found, Sources, read};
use crate::{
    analyzers::{self, terraform::supplied},
    kind::FileKind,
    scan::{FileRecord, ScanOptions},
};

/// Enough for any real module directory; a bound so a huge generated folder costs nothing.
const MAX_TF_FILES: usize = 200;

/// The resource findings the variables files among `files` lead to, with their records.
pub(crate) fn tfvars_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
    for (root_idx, rel) in files {
        let (root_idx, rel) = (*root_idx, rel.as_str());
        let root = &opts.roots[root_idx];
        if root.is_file() {
            continue;
        }
        let Some(json) = variables_file(rel) else {
            continue;
        };
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let Some(text) = read(&root.join(rel), opts) else {
            continue;
        };
        let values = supplied::tfvars_values(&text, json);
        if !supplied::names_the_extension(&values) {
            continue;
        }
        for tf_rel in tf_files(&root.join(dir), dir) {
            let Some(tf_text) = read(&root.join(&tf_rel), opts) else {
                continue;
            };
            let mut analysis = analyzers::Analysis::default();
            supplied::analyze_with_vars(&tf_text, &values, name, &mut analysis);
            if analysis.diagnostics.is_empty() {
                continue;
            }
            let record = FileRecord {
                root: root_idx,
                rel_path: tf_rel.clone(),
                abs_path: root.join(&tf_rel),
                kind: FileKind::Terraform,
            };
            out.add(&record, &tf_text, analysis, opts);
        }
    }
    out
}

/// `Some(json)` for a Terraform variables file (`.tfvars`, `.auto.tfvars`, `.tfvars.json`).
fn variables_file(path: &str) -> Option<bool> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".tfvars") {
        Some(false)
    } else if lower.ends_with(".tfvars.json") {
        Some(true)
    } else {
        None
    }
}

/// The `.tf` files of one directory (regular files only, never symbolic links), sorted.
fn tf_files(dir: &std::path::Path, rel_dir: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.to_ascii_lowercase().ends_with(".tf"))
        .take(MAX_TF_FILES)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            if rel_dir.is_empty() {
                n
            } else {
                format!("{rel_dir}/{n}")
            }
        })
        .collect()
}

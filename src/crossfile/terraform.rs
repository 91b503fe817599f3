//! Terraform `.tfvars` files that make a generic extension resource beside them the Managed
//! Identity extension (IMDS006). Runs after the walk, on the variables files the walk passed on.

use std::fs;

use super::{Found, Sources, deploys_nothing, read, read_each, record};
use crate::{
    analyzers::{self, Context, terraform::supplied},
    kind::FileKind,
    scan::ScanOptions,
};

/// Enough for any real module directory; a bound so a huge generated folder costs nothing.
const MAX_TF_FILES: usize = 200;

/// The resource findings the variables files among `files` lead to, with their records.
pub(crate) fn tfvars_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
    let keep = |p: &str| variables_file(p).is_some();
    for (root_idx, rel, text) in read_each(opts, files, keep) {
        let root = &opts.roots[root_idx];
        let json = variables_file(rel) == Some(true);
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let values = supplied::tfvars_values(&text, json);
        if !supplied::names_the_extension(&values) {
            continue;
        }
        let module = tf_files(&root.join(dir), dir);
        // Unrelated until a file of the module is unreadable, deploys the extension or hands
        // values on.
        let mut unrelated = !module.is_empty();
        for tf_rel in module {
            let Some(tf_text) = read(&root.join(&tf_rel), opts) else {
                unrelated = false;
                continue;
            };
            let mut analysis = analyzers::Analysis::default();
            supplied::analyze_with_vars(&tf_text, &values, name, &mut analysis);
            let ctx = Context {
                kind: FileKind::Terraform,
                path: &tf_rel,
                api_version: &opts.api_version,
                extra_ports: &opts.extra_ports,
            };
            unrelated &= analysis.diagnostics.is_empty() && deploys_nothing(&tf_text, &ctx);
            if analysis.diagnostics.is_empty() {
                continue;
            }
            let record = record(opts, root_idx, &tf_rel, FileKind::Terraform);
            out.add(&record, &tf_text, analysis, opts);
        }
        if unrelated {
            out.unrelated.insert((root_idx, rel.to_owned()));
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

//! Findings that need two files: a generic ARM template and the parameter file beside it that
//! sets its extension's publisher and type (IMDS005). Runs once after the walk, on the few
//! parameter files that named the extension (IMDS004), reading each one's own template.

use std::{collections::BTreeSet, fs, path::Path};

use crate::{
    analyzers::{self, Context, arm::supplied},
    finding::Finding,
    kind::FileKind,
    scan::{FileRecord, ScanOptions, filter_diagnostics, locate},
    source,
};

/// The template findings the parameter files among `findings` lead to, with their records.
pub(crate) fn parameter_file_findings(
    opts: &ScanOptions,
    findings: &[Finding],
) -> Vec<(Finding, Option<u16>, FileRecord)> {
    let pairs: BTreeSet<(usize, &str)> = findings
        .iter()
        .filter(|f| f.rule_id == "IMDS004")
        .map(|f| (f.root, f.path.as_str()))
        .collect();
    let mut out = Vec::new();
    // Several parameter files (one per environment) may lead to the same resource.
    let mut seen = BTreeSet::new();
    for (root_idx, rel) in pairs {
        let root = &opts.roots[root_idx];
        if root.is_file() {
            continue;
        }
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let Some(template) = supplied::template_name(name) else {
            continue;
        };
        let template_rel = if dir.is_empty() {
            template
        } else {
            format!("{dir}/{template}")
        };
        let (Some(params_text), Some(template_text)) = (
            read(&root.join(rel), opts),
            read(&root.join(&template_rel), opts),
        ) else {
            continue;
        };
        let values = supplied::parameter_values(&params_text);
        if !supplied::names_the_extension(&values) {
            continue;
        }
        let ctx = Context {
            kind: FileKind::Arm,
            path: &template_rel,
            api_version: &opts.api_version,
            extra_ports: &opts.extra_ports,
        };
        let mut analysis = analyzers::Analysis::default();
        supplied::analyze_with_parameters(&template_text, &ctx, &values, name, &mut analysis);
        filter_diagnostics(&template_text, &template_rel, opts, &mut analysis);
        let abs = root.join(&template_rel);
        for (mut f, port, _) in locate(
            &template_text,
            &template_rel,
            FileKind::Arm,
            analysis.diagnostics,
        ) {
            if !seen.insert((root_idx, template_rel.clone(), f.range.start)) {
                continue;
            }
            f.root = root_idx;
            let record = FileRecord {
                root: root_idx,
                rel_path: template_rel.clone(),
                abs_path: abs.clone(),
                kind: FileKind::Arm,
            };
            out.push((f, port, record));
        }
    }
    out
}

/// A regular file (never a symbolic link, which could lead outside the root), decoded.
fn read(path: &Path, opts: &ScanOptions) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > opts.max_filesize {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    Some(source::decode(&bytes).text)
}

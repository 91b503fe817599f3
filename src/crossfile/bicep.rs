//! Bicep `module` calls that pass the Managed Identity extension's publisher and type to a
//! generic module file (IMDS007). Runs after the walk, on the Bicep files that call modules.

use std::collections::BTreeSet;

use super::{Sources, inside_root, located, read};
use crate::{
    analyzers::{self, bicep::supplied},
    kind::FileKind,
    scan::{FileRecord, ScanOptions, filter_diagnostics},
};

/// The call-site findings of the Bicep files among `files`, with their records.
pub(crate) fn module_findings(opts: &ScanOptions, files: &Sources) -> Vec<super::Located> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (root_idx, rel) in files
        .iter()
        .filter(|(_, p)| p.to_ascii_lowercase().ends_with(".bicep"))
    {
        let (root_idx, rel) = (*root_idx, rel.as_str());
        let root = &opts.roots[root_idx];
        if root.is_file() {
            continue;
        }
        let Some(text) = read(&root.join(rel), opts) else {
            continue;
        };
        let mut analysis = analyzers::Analysis::default();
        for call in supplied::module_calls(&text) {
            let Some(module_rel) = inside_root(root, rel, &call.path) else {
                continue;
            };
            let Some(module_text) = read(&root.join(&module_rel), opts) else {
                continue;
            };
            if let Some(ext_type) = supplied::deploys_with(&module_text, &call.params) {
                analysis.push(supplied::call_diagnostic(&call, &ext_type));
            }
        }
        if analysis.diagnostics.is_empty() {
            continue;
        }
        filter_diagnostics(&text, rel, opts, &mut analysis);
        let record = FileRecord {
            root: root_idx,
            rel_path: rel.to_owned(),
            abs_path: root.join(rel),
            kind: FileKind::Bicep,
        };
        located(&record, &text, analysis.diagnostics, &mut seen, &mut out);
    }
    out
}

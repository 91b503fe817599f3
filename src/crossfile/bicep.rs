//! Bicep `module` calls that pass the Managed Identity extension's publisher and type to a
//! generic module file (IMDS007). Runs after the walk, on the Bicep files that call modules.

use std::collections::HashMap;

use super::{Found, Sources, inside_root, read};
use crate::{
    analyzers::{self, Context, arm::linked, bicep::supplied},
    kind::FileKind,
    scan::{FileRecord, ScanOptions},
};

/// The call-site findings of the Bicep files among `files`, with their records.
pub(crate) fn module_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
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
            let ext_type = if module_rel.to_ascii_lowercase().ends_with(".json") {
                arm_deploys_with(&module_rel, &module_text, &call.params, opts)
            } else {
                supplied::deploys_with(&module_text, &call.params)
            };
            if let Some(ext_type) = ext_type {
                analysis.push(supplied::call_diagnostic(&call, &ext_type));
            }
        }
        if analysis.diagnostics.is_empty() {
            continue;
        }
        let record = FileRecord {
            root: root_idx,
            rel_path: rel.to_owned(),
            abs_path: root.join(rel),
            kind: FileKind::Bicep,
        };
        out.add(&record, &text, analysis, opts);
    }
    out
}

/// A Bicep module may be an ARM template (`module m './ext.json'`): the extension type it
/// deploys only with the call's params (ARM parameter names are case-insensitive).
fn arm_deploys_with(
    rel: &str,
    text: &str,
    params: &HashMap<String, String>,
    opts: &ScanOptions,
) -> Option<String> {
    let values = params
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let ctx = Context {
        kind: FileKind::Arm,
        path: rel,
        api_version: &opts.api_version,
        extra_ports: &opts.extra_ports,
    };
    linked::deploys_with(text, &ctx, &values)
        .into_iter()
        .next()
        .map(|d| d.type_name)
}

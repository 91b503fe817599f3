//! Bicep `module` calls that pass the Managed Identity extension's publisher and type to a
//! generic module file (IMDS007). Runs after the walk, on the Bicep files that call modules.

use std::{collections::HashMap, path::Path};

use super::{Found, Sources, ends_with_any, inside_root, read, read_each, record};
use crate::{
    analyzers::{self, Context, arm::linked, bicep::supplied},
    kind::FileKind,
    scan::ScanOptions,
};

/// The call-site findings of the Bicep files among `files`, with their records.
pub(crate) fn module_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
    for (root_idx, rel, text) in read_each(opts, files, ends_with_any(&[".bicep"])) {
        let root = &opts.roots[root_idx];
        let mut analysis = analyzers::Analysis::default();
        for call in supplied::module_calls(&text) {
            if let Some(ext_type) = call_deploys(root, rel, &call, opts) {
                analysis.push(supplied::call_diagnostic(&call, &ext_type));
            }
        }
        if analysis.diagnostics.is_empty() {
            continue;
        }
        out.add(
            &record(opts, root_idx, rel, FileKind::Bicep),
            &text,
            analysis,
            opts,
        );
    }
    out
}

/// The extension type the local module `call` (in the Bicep file `rel`) deploys with its
/// params, read from the module file.
pub(super) fn call_deploys(
    root: &Path,
    rel: &str,
    call: &supplied::ModuleCall,
    opts: &ScanOptions,
) -> Option<String> {
    let module_rel = inside_root(root, rel, &call.path)?;
    let module_text = read(&root.join(&module_rel), opts)?;
    if module_rel.to_ascii_lowercase().ends_with(".json") {
        arm_deploys_with(&module_rel, &module_text, &call.params, opts)
    } else {
        supplied::deploys_with(&module_text, &call.params)
    }
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

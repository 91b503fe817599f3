//! Bicep `module` calls that pass the Managed Identity extension's publisher and type to a
//! generic module file (IMDS007). Runs after the walk, on the Bicep files with findings.

use std::{collections::BTreeSet, fs, path::Path};

use super::{located, read};
use crate::{
    analyzers::{self, bicep::supplied},
    finding::Finding,
    kind::FileKind,
    scan::{FileRecord, ScanOptions, filter_diagnostics},
};

/// The call-site findings of the Bicep files among `findings`, with their records.
pub(crate) fn module_findings(
    opts: &ScanOptions,
    findings: &[Finding],
) -> Vec<(Finding, Option<u16>, FileRecord)> {
    let files: BTreeSet<(usize, &str)> = findings
        .iter()
        .filter(|f| f.path.to_ascii_lowercase().ends_with(".bicep"))
        .map(|f| (f.root, f.path.as_str()))
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (root_idx, rel) in files {
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

/// The module file `path` (relative to the caller `rel`) as a path relative to `root`, when
/// it stays inside the root and no folder on the way is a symbolic link.
fn inside_root(root: &Path, rel: &str, path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    let (_, dirs) = parts.split_last()?;
    let mut at = root.to_path_buf();
    for d in dirs {
        at.push(d);
        if !fs::symlink_metadata(&at).ok()?.is_dir() {
            return None;
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("infra/modules")).unwrap();
        let r = dir.path();
        assert_eq!(
            inside_root(r, "infra/main.bicep", "./modules/ext.bicep").as_deref(),
            Some("infra/modules/ext.bicep")
        );
        assert_eq!(
            inside_root(r, "infra/main.bicep", "../ext.bicep").as_deref(),
            Some("ext.bicep")
        );
        assert_eq!(inside_root(r, "infra/main.bicep", "../../ext.bicep"), None);
        assert_eq!(inside_root(r, "main.bicep", "/etc/ext.bicep"), None);
        assert_eq!(inside_root(r, "main.bicep", "missing/ext.bicep"), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(r.join("infra"), r.join("link")).unwrap();
            assert_eq!(inside_root(r, "main.bicep", "link/modules/ext.bicep"), None);
        }
    }
}

//! Findings that need two files: a generic template or module and the file that sets its
//! extension's publisher and type (ARM parameter files, IMDS005 here; `.tfvars`, IMDS006 in
//! `terraform`; Bicep module calls, IMDS007 in `bicep`; `.bicepparam` files and JSON parameter
//! files of Bicep templates, IMDS005 in `bicepparam`; ARM linked deployments, IMDS008 in
//! `deployments`). Runs once after the walk, on the few files the walk passed on as
//! [`is_candidate`].

mod bicep;
mod bicepparam;
mod deployments;
mod terraform;

use std::{collections::BTreeSet, fs, path::Path};

pub(crate) use bicep::module_findings;
pub(crate) use bicepparam::bicepparam_findings;
pub(crate) use deployments::deployment_findings;
pub(crate) use terraform::tfvars_findings;

use crate::{
    analyzers::{self, Context, arm::supplied},
    finding::Finding,
    kind::FileKind,
    scan::{FileRecord, ScanOptions, filter_diagnostics, locate},
    source::{self, LineIndex},
    suppress,
};

/// Files that may supply values to another (root index, path relative to it).
pub(crate) type Sources = BTreeSet<(usize, String)>;

/// A finding of the cross-file pass, with its port condition and its file's record.
pub(crate) type Located = (Finding, Option<u16>, FileRecord);

/// Whether an analyzed file may supply another file's extension values, by its name and the
/// bytes already read: a `.tfvars`/`.tfvars.json`, a parameter file (`X.parameters.json`,
/// `.bicepparam`), a Bicep file calling a `module`, a JSON template with a
/// `Microsoft.Resources/deployments`.
/// Only files the prefilter let through are asked: a value that names the extension holds
/// `Microsoft.ManagedIdentity` or a type name, both trigger literals.
pub(crate) fn is_candidate(rel: &str, bytes: &[u8]) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let ends = |suffix: &str| {
        name.len() >= suffix.len()
            && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if ends(".tfvars") || ends(".tfvars.json") || ends(".bicepparam") {
        return true;
    }
    if ends(".bicep") {
        return memchr::memmem::find(bytes, b"module").is_some();
    }
    if !ends(".json") && !ends(".jsonc") {
        return false;
    }
    supplied::template_name(name).is_some()
        || [&b"/deployments"[..], b"/Deployments"].iter().any(|pat| {
            memchr::memmem::find_iter(bytes, pat).any(|at| {
                at.checked_sub(9)
                    .is_some_and(|s| bytes[s..at].eq_ignore_ascii_case(b"resources"))
            })
        })
}

/// The template findings the parameter files among `files` lead to, with their records.
pub(crate) fn parameter_file_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
    for (root_idx, rel) in files {
        let (root_idx, rel) = (*root_idx, rel.as_str());
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
        let Some(params_text) = read(&root.join(rel), opts) else {
            continue;
        };
        let values = supplied::parameter_values(&params_text);
        if !supplied::names_the_extension(&values) {
            continue;
        }
        let Some(template_text) = read(&root.join(&template_rel), opts) else {
            // `X.parameters.json` also belongs to `X.bicep` (what `az deployment` is given).
            let bicep_rel = format!("{}.bicep", &template_rel[..template_rel.len() - 5]);
            bicepparam::bicep_template_findings(
                opts, root_idx, &bicep_rel, name, &values, &mut out,
            );
            continue;
        };
        let ctx = Context {
            kind: FileKind::Arm,
            path: &template_rel,
            api_version: &opts.api_version,
            extra_ports: &opts.extra_ports,
        };
        let mut analysis = analyzers::Analysis::default();
        supplied::analyze_with_parameters(&template_text, &ctx, &values, name, &mut analysis);
        if analysis.diagnostics.is_empty() && deploys_nothing(&template_text, &ctx) {
            out.unrelated.insert((root_idx, rel.to_owned()));
        }
        let record = record(opts, root_idx, &template_rel, FileKind::Arm);
        out.add(&record, &template_text, analysis, opts);
    }
    out
}

/// A template, or a module's file, that deploys no extension even alone and hands no value on
/// (no nested deployment, no module call): a value file feeding it feeds something else.
fn deploys_nothing(text: &str, ctx: &Context) -> bool {
    let hands_on = match ctx.kind {
        FileKind::Terraform => memchr::memmem::find(text.as_bytes(), b"module").is_some(),
        _ => {
            let lower = text.to_ascii_lowercase();
            lower.contains("microsoft.resources/deployments") || lower.contains("templatelink")
        }
    };
    !hands_on
        && analyzers::analyze(text, ctx)
            .diagnostics
            .iter()
            .all(|d| !matches!(d.rule, "IMDS001" | "IMDS002" | "IMDS003" | "IMDS020"))
        // A template that does not parse may hold anything.
        && (ctx.kind == FileKind::Terraform
            || analyzers::arm::jsonc::parse(text, false)
                .is_ok_and(|doc| doc.get(0, "resources").is_some()))
}

/// What the cross-file pass found, and the suppression comments that silenced its findings.
#[derive(Default)]
pub(crate) struct Found {
    pub findings: Vec<Located>,
    /// (root, path) of the value files (parameter files, `.tfvars`) whose template or module
    /// beside them is read and uses none of their values for an extension: what they carry
    /// is a tag, a name or a setting of something else, not a usage.
    pub unrelated: BTreeSet<(usize, String)>,
    /// (root, path, line) of the comments that silenced a cross-file finding: the walk saw
    /// nothing for them to silence and reported them as unused (IMDS900).
    pub used_suppressions: BTreeSet<(usize, String, usize)>,
    /// Each range once: several value files (one per environment) may lead to one resource.
    seen: BTreeSet<(usize, String, usize)>,
}

impl Found {
    /// `analysis` of `file`, filtered like the walk's (suppressions, selection, per-file
    /// ignores), as findings with its record.
    fn add(
        &mut self,
        file: &FileRecord,
        text: &str,
        mut analysis: analyzers::Analysis,
        opts: &ScanOptions,
    ) {
        if analysis.diagnostics.is_empty() {
            return;
        }
        // Every suppression comment of the file, as an unused one.
        let mut every = Vec::new();
        suppress::apply(text, &mut every);
        filter_diagnostics(text, &file.rel_path, opts, &mut analysis);
        // Unused ones are the walk's to report: a comment that silences nothing here may
        // silence a finding of the file's own.
        let unused: BTreeSet<usize> = analysis
            .diagnostics
            .iter()
            .filter(|d| d.rule == suppress::UNUSED_RULE)
            .map(|d| d.range.start)
            .collect();
        analysis
            .diagnostics
            .retain(|d| d.rule != suppress::UNUSED_RULE);
        if every.len() > unused.len() {
            let index = LineIndex::new(text);
            for d in every.iter().filter(|d| !unused.contains(&d.range.start)) {
                self.used_suppressions.insert((
                    file.root,
                    file.rel_path.clone(),
                    index.line(d.range.start),
                ));
            }
        }
        for (mut f, port, _) in locate(text, &file.rel_path, file.kind, analysis.diagnostics) {
            if self
                .seen
                .insert((file.root, file.rel_path.clone(), f.range.start))
            {
                f.root = file.root;
                self.findings.push((f, port, file.clone()));
            }
        }
    }
}

/// The candidates among `files` whose path `keep` accepts, in folder roots, read: (root index,
/// path relative to it, text).
fn read_each<'a>(
    opts: &'a ScanOptions,
    files: &'a Sources,
    keep: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = (usize, &'a str, String)> + 'a {
    files
        .iter()
        .filter(move |(_, p)| keep(p))
        .filter(|(root_idx, _)| !opts.roots[*root_idx].is_file())
        .filter_map(|(root_idx, rel)| {
            let text = read(&opts.roots[*root_idx].join(rel), opts)?;
            Some((*root_idx, rel.as_str(), text))
        })
}

/// A `keep` for [`read_each`]: the name ends with one of `suffixes` (lower-case).
fn ends_with_any(suffixes: &[&str]) -> impl Fn(&str) -> bool {
    move |p| {
        let lower = p.to_ascii_lowercase();
        suffixes.iter().any(|s| lower.ends_with(s))
    }
}

/// The record of the file `rel` of root `root_idx`.
fn record(opts: &ScanOptions, root_idx: usize, rel: &str, kind: FileKind) -> FileRecord {
    FileRecord {
        root: root_idx,
        rel_path: rel.to_owned(),
        abs_path: opts.roots[root_idx].join(rel),
        kind,
    }
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

/// The file `path` (a module or linked template, relative to the caller `rel`) as a path
/// relative to `root`, when it stays inside the root and no folder on the way is a symbolic
/// link.
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
    fn candidates_by_name_and_bytes() {
        let deployment = br#"{"type": "Microsoft.Resources/deployments", "name": "x"}"#;
        assert!(is_candidate("infra/prod.tfvars", b""));
        assert!(is_candidate("infra/PROD.TFVARS.JSON", b"{}"));
        assert!(is_candidate("infra/prod.bicepparam", b""));
        assert!(is_candidate(
            "infra/main.bicep",
            b"module m './x.bicep' = {}"
        ));
        assert!(is_candidate("azuredeploy.parameters.json", b"{}"));
        assert!(is_candidate("a/main.json", deployment));
        assert!(is_candidate(
            "a/main.json",
            b"\"type\": \"microsoft.resources/Deployments\""
        ));
        // A Bicep file without modules, a template without deployments, a parameters file
        // without a template name, other kinds.
        assert!(!is_candidate("main.bicep", b"resource r 'x' = {}"));
        assert!(!is_candidate(
            "a/main.json",
            b"{\"type\": \"Microsoft.Compute/virtualMachines\"}"
        ));
        assert!(!is_candidate(
            "a/main.json",
            b"{\"type\": \"Microsoft.Web/sites/deployments\"}"
        ));
        assert!(!is_candidate("parameters.json", b"{}"));
        assert!(!is_candidate("deploy.ps1", deployment));
    }

    /// Only files the prefilter passes are asked: every way a caller writes a value that names
    /// the extension must pass it.
    #[test]
    fn supplied_values_pass_the_prefilter() {
        let p = crate::prefilter::Prefilter::new(&[]);
        for s in [
            "publisher: 'Microsoft.ManagedIdentity'",
            "  extType: 'ManagedIdentityExtensionForLinux'",
            r#""pub": { "value": "Microsoft.ManagedIdentity" }"#,
            r#""ty": { "value": "ManagedIdentityExtensionForWindows" }"#,
            "ext_publisher = \"Microsoft.ManagedIdentity\"",
            r#"{"ext_type": "managedidentityextensionforlinux"}"#,
            "var pub = 'microsoft.managedidentity'",
            "param publisher = 'Microsoft.ManagedIdentity'",
            "param extType = 'ManagedIdentityExtensionForWindows' // prod",
        ] {
            assert!(p.matches(s.as_bytes()), "{s}");
        }
    }

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

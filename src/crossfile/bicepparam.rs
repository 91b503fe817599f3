//! `.bicepparam` files, and JSON parameter files beside a `.bicep` template, that set a generic
//! template's extension publisher and type to the Managed Identity extension's (IMDS005):
//! reported at the values that do it and at the template's resource.

use std::collections::HashMap;

use super::{Found, Sources, inside_root, read};
use crate::{
    analyzers::{
        self, Context,
        arm::supplied as arm,
        bicep::{params, supplied},
    },
    kind::FileKind,
    scan::{FileRecord, ScanOptions},
};

/// The findings the `.bicepparam` files among `files` lead to, in them and in their templates.
pub(crate) fn bicepparam_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut out = Found::default();
    for (root_idx, rel) in files
        .iter()
        .filter(|(_, p)| p.to_ascii_lowercase().ends_with(".bicepparam"))
    {
        let (root_idx, rel) = (*root_idx, rel.as_str());
        let root = &opts.roots[root_idx];
        if root.is_file() {
            continue;
        }
        let Some(text) = read(&root.join(rel), opts) else {
            continue;
        };
        let Some(file) = params::read(&text) else {
            continue;
        };
        let naming: Vec<&params::Supplied> = file
            .values
            .iter()
            .filter(|v| analyzers::is_publisher(&v.value) || analyzers::is_extension_type(&v.value))
            .collect();
        if naming.is_empty() {
            continue;
        }
        let Some(template_rel) = inside_root(root, rel, &file.using) else {
            continue;
        };
        let Some(template_text) = read(&root.join(&template_rel), opts) else {
            continue;
        };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let template = Template {
            rel: &template_rel,
            text: &template_text,
            param_file: name,
            opts,
        };
        let values: HashMap<String, String> = file
            .values
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        let found = template.extensions(&values);
        let Some(first) = found.first() else {
            continue;
        };
        // An ARM template's findings do not name the type: the file's own value does.
        let ext_type = Some(first.1.clone())
            .filter(|t| !t.is_empty())
            .or_else(|| {
                naming
                    .iter()
                    .find(|v| analyzers::is_extension_type(&v.value))
                    .map(|v| v.value.clone())
            })
            .unwrap_or_else(|| "type set by the template".to_owned());
        // The values that matter: without one of them, the template deploys fewer extensions.
        let template_name = template_rel.rsplit('/').next().unwrap_or(&template_rel);
        let mut analysis = analyzers::Analysis::default();
        for v in naming {
            let mut without = values.clone();
            without.remove(&v.name);
            if template.extensions(&without).len() < found.len() {
                analysis.push(params::value_diagnostic(v, template_name, &ext_type));
            }
        }
        let record = FileRecord {
            root: root_idx,
            rel_path: rel.to_owned(),
            abs_path: root.join(rel),
            kind: FileKind::Bicep,
        };
        out.add(&record, &text, analysis, opts);
        out.add(
            &template.record(root_idx, root),
            &template_text,
            template.analysis(&values),
            opts,
        );
    }
    out
}

/// A Bicep template (`X.bicep`) a JSON parameter file (`X.parameters.json`) belongs to when
/// there is no `X.json`: the findings at its resources.
pub(crate) fn bicep_template_findings(
    opts: &ScanOptions,
    root_idx: usize,
    template_rel: &str,
    param_file: &str,
    values: &HashMap<String, String>,
    out: &mut Found,
) {
    let root = &opts.roots[root_idx];
    let Some(text) = read(&root.join(template_rel), opts) else {
        return;
    };
    let template = Template {
        rel: template_rel,
        text: &text,
        param_file,
        opts,
    };
    out.add(
        &template.record(root_idx, root),
        &text,
        template.analysis(values),
        opts,
    );
}

/// A template a parameter file deploys: Bicep, or an ARM JSON template (`using './main.json'`).
struct Template<'a> {
    rel: &'a str,
    text: &'a str,
    param_file: &'a str,
    opts: &'a ScanOptions,
}

impl Template<'_> {
    fn is_arm(&self) -> bool {
        self.rel.to_ascii_lowercase().ends_with(".json")
    }

    /// The resources that deploy the extension only with `values` (ARM parameter names are
    /// case-insensitive, Bicep's are not; a JSON parameter file's come lower-cased).
    fn extensions(
        &self,
        values: &HashMap<String, String>,
    ) -> Vec<(std::ops::Range<usize>, String)> {
        if !self.is_arm() {
            let fold_case = self.param_file.to_ascii_lowercase().ends_with(".json");
            return supplied::extensions_with(self.text, values, fold_case);
        }
        self.arm(values)
            .diagnostics
            .into_iter()
            .map(|d| (d.range, String::new()))
            .collect()
    }

    fn arm(&self, values: &HashMap<String, String>) -> analyzers::Analysis {
        let lower = values
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let ctx = Context {
            kind: FileKind::Arm,
            path: self.rel,
            api_version: &self.opts.api_version,
            extra_ports: &self.opts.extra_ports,
        };
        let mut analysis = analyzers::Analysis::default();
        arm::analyze_with_parameters(self.text, &ctx, &lower, self.param_file, &mut analysis);
        analysis
    }

    /// The template's findings with `values`.
    fn analysis(&self, values: &HashMap<String, String>) -> analyzers::Analysis {
        if self.is_arm() {
            return self.arm(values);
        }
        let mut analysis = analyzers::Analysis::default();
        for (range, ext_type) in self.extensions(values) {
            analysis.push(params::template_diagnostic(
                range,
                self.param_file,
                &ext_type,
            ));
        }
        analysis
    }

    fn record(&self, root_idx: usize, root: &std::path::Path) -> FileRecord {
        FileRecord {
            root: root_idx,
            rel_path: self.rel.to_owned(),
            abs_path: root.join(self.rel),
            kind: if self.is_arm() {
                FileKind::Arm
            } else {
                FileKind::Bicep
            },
        }
    }
}

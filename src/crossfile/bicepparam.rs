//! `.bicepparam` files, and JSON parameter files beside a `.bicep` template, that set a generic
//! template's extension publisher and type to the Managed Identity extension's (IMDS005):
//! reported at the values that do it and at the template's resource.

use std::{
    collections::{HashMap, HashSet},
    ops::Range,
    path::Path,
};

use super::{
    Found, Sources, bicep::call_deploys, ends_with_any, inside_root, read, read_each, record,
};
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
    for (root_idx, rel, text) in read_each(opts, files, ends_with_any(&[".bicepparam"])) {
        let root = &opts.roots[root_idx];
        let file = params::read(&text);
        let Some(using) = file.using.clone() else {
            continue;
        };
        let layers = layers(opts, root, rel, text, file);
        // What the deployment gets: each parameter from the nearest file that assigns it.
        let mut assigned = HashSet::new();
        let mut effective: Vec<(usize, &params::Supplied)> = Vec::new();
        for (k, layer) in layers.iter().enumerate() {
            for name in &layer.file.declared {
                if assigned.insert(name.as_str())
                    && let Some(v) = layer.file.values.iter().find(|v| &v.name == name)
                {
                    effective.push((k, v));
                }
            }
        }
        let naming: Vec<(usize, &params::Supplied)> = effective
            .iter()
            .copied()
            .filter(|(_, v)| {
                analyzers::is_publisher(&v.value) || analyzers::is_extension_type(&v.value)
            })
            .collect();
        if naming.is_empty() {
            continue;
        }
        let Some(template_rel) = inside_root(root, rel, &using) else {
            continue;
        };
        let Some(template_text) = read(&root.join(&template_rel), opts) else {
            continue;
        };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let template = Template {
            root,
            rel: &template_rel,
            text: &template_text,
            param_file: name,
            opts,
        };
        let values: HashMap<String, String> = effective
            .iter()
            .map(|(_, v)| (v.name.clone(), v.value.clone()))
            .collect();
        let found = template.extensions(&values);
        let Some(first) = found.first() else {
            continue;
        };
        // An ARM template's findings do not name the type: the files' own value does.
        let ext_type = Some(first.ext_type.clone())
            .filter(|t| !t.is_empty())
            .or_else(|| {
                naming
                    .iter()
                    .find(|(_, v)| analyzers::is_extension_type(&v.value))
                    .map(|(_, v)| v.value.clone())
            })
            .unwrap_or_else(|| "type set by the template".to_owned());
        // The values that matter: without one of them, the template deploys fewer extensions.
        // Each is reported in the file that assigns it (a base file for inherited ones).
        let template_name = template_rel.rsplit('/').next().unwrap_or(&template_rel);
        let mut analyses: Vec<analyzers::Analysis> = layers
            .iter()
            .map(|_| analyzers::Analysis::default())
            .collect();
        for (k, v) in naming {
            let mut without = values.clone();
            without.remove(&v.name);
            if template.extensions(&without).len() < found.len() {
                analyses[k].push(params::value_diagnostic(v, template_name, &ext_type));
            }
        }
        for (layer, analysis) in layers.iter().zip(analyses) {
            out.add(
                &record(opts, root_idx, &layer.rel, FileKind::Bicep),
                &layer.text,
                analysis,
                opts,
            );
        }
        out.add(
            &template.record(root_idx),
            &template_text,
            template.analysis(&values),
            opts,
        );
    }
    out
}

/// A parameter file and the base files it `extends`, nearest first.
struct Layer {
    rel: String,
    text: String,
    file: params::ParamFile,
}

/// How many `extends` a chain may hold (guards against cycles).
const MAX_EXTENDS: usize = 4;

/// The file `rel` and the base files its `extends` chain names, nearest first.
fn layers(
    opts: &ScanOptions,
    root: &Path,
    rel: &str,
    text: String,
    file: params::ParamFile,
) -> Vec<Layer> {
    let mut out = vec![Layer {
        rel: rel.to_owned(),
        text,
        file,
    }];
    while out.len() <= MAX_EXTENDS {
        let last = &out[out.len() - 1];
        let Some(base) = last.file.extends.as_deref() else {
            break;
        };
        let Some(base_rel) = inside_root(root, &last.rel, base) else {
            break;
        };
        let Some(text) = read(&root.join(&base_rel), opts) else {
            break;
        };
        let file = params::read(&text);
        out.push(Layer {
            rel: base_rel,
            text,
            file,
        });
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
        root,
        rel: template_rel,
        text: &text,
        param_file,
        opts,
    };
    out.add(
        &template.record(root_idx),
        &text,
        template.analysis(values),
        opts,
    );
}

/// Where a template deploys the extension with a parameter file's values.
struct Hit {
    range: Range<usize>,
    /// Empty for an ARM template (its findings do not name it).
    ext_type: String,
    /// The module call that passes the values on, when the extension is in the module.
    call: Option<supplied::ModuleCall>,
}

/// A template a parameter file deploys: Bicep, or an ARM JSON template (`using './main.json'`).
struct Template<'a> {
    root: &'a Path,
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
    /// case-insensitive, Bicep's are not; a JSON parameter file's come lower-cased), and the
    /// module calls of a Bicep template that pass them on to a module deploying it.
    fn extensions(&self, values: &HashMap<String, String>) -> Vec<Hit> {
        if self.is_arm() {
            return self
                .arm(values)
                .diagnostics
                .into_iter()
                .map(|d| Hit {
                    range: d.range,
                    ext_type: String::new(),
                    call: None,
                })
                .collect();
        }
        let fold_case = self.param_file.to_ascii_lowercase().ends_with(".json");
        let mut hits: Vec<Hit> = supplied::extensions_with(self.text, values, fold_case)
            .into_iter()
            .map(|(range, ext_type)| Hit {
                range,
                ext_type,
                call: None,
            })
            .collect();
        let calls = supplied::module_calls_with(self.text, values, fold_case);
        if calls.is_empty() {
            return hits;
        }
        // A call that deploys the extension without these values is IMDS007's.
        let alone = supplied::module_calls(self.text);
        for call in calls {
            let Some(ext_type) = call_deploys(self.root, self.rel, &call, self.opts) else {
                continue;
            };
            let before = alone.iter().find(|c| c.range == call.range);
            if before.is_some_and(|c| call_deploys(self.root, self.rel, c, self.opts).is_some()) {
                continue;
            }
            hits.push(Hit {
                range: call.range.clone(),
                ext_type,
                call: Some(call),
            });
        }
        hits
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
        for hit in self.extensions(values) {
            analysis.push(match &hit.call {
                None => params::template_diagnostic(hit.range, self.param_file, &hit.ext_type),
                Some(call) => params::call_diagnostic(call, self.param_file, &hit.ext_type),
            });
        }
        analysis
    }

    fn record(&self, root_idx: usize) -> FileRecord {
        let kind = if self.is_arm() {
            FileKind::Arm
        } else {
            FileKind::Bicep
        };
        record(self.opts, root_idx, self.rel, kind)
    }
}

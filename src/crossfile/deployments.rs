//! ARM deployments that link a template file of the repository and pass it the Managed Identity
//! extension's publisher or type (IMDS008): reported at the caller's value and at the linked
//! template's resource. Runs after the walk, on the templates with deployments and on parameter
//! files (whose template may pass their values on).

use std::collections::HashMap;

use super::{Found, Sources, ends_with_any, inside_root, read, read_each, record};
use crate::{
    analyzers::{
        self, Context,
        arm::{
            jsonc,
            linked::{self, Target},
            supplied,
        },
    },
    kind::FileKind,
    scan::{ScanOptions, walk_builder},
};

/// How many linked templates deep values are followed (a caller, the template it links, the
/// one that links...): real estates stop at two or three; a cycle stops here.
const MAX_DEPTH: usize = 3;

/// JSON files of one root by file name, walked once and only when a `uri` needs matching.
type JsonIndex = HashMap<String, Vec<String>>;

/// The findings the deployments of the candidate templates among `files` lead to.
pub(crate) fn deployment_findings(opts: &ScanOptions, files: &Sources) -> Found {
    let mut pass = Pass {
        opts,
        indexes: HashMap::new(),
        out: Found::default(),
    };
    for (root_idx, rel, text) in read_each(opts, files, ends_with_any(&[".json", ".jsonc"])) {
        let root = &opts.roots[root_idx];
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        match supplied::template_name(name) {
            // A parameter file: its template may pass the values on to a linked one.
            Some(template) => {
                let values = supplied::parameter_values(&text);
                if !supplied::names_the_extension(&values) {
                    continue;
                }
                let template_rel = if dir.is_empty() {
                    template
                } else {
                    format!("{dir}/{template}")
                };
                if let Some(template_text) = read(&root.join(&template_rel), opts) {
                    let with = format!("with `{name}`");
                    pass.caller(
                        root_idx,
                        &template_rel,
                        &template_text,
                        Some((&values, &with)),
                        0,
                    );
                }
            }
            None => {
                pass.caller(root_idx, rel, &text, None, 0);
            }
        }
    }
    pass.out
}

struct Pass<'o> {
    opts: &'o ScanOptions,
    indexes: HashMap<usize, JsonIndex>,
    out: Found,
}

impl Pass<'_> {
    /// The findings of one calling template, read with the values its parameter file or its
    /// own caller gives it (`supplied`: the values and the phrase naming where they come from);
    /// the linked template that deploys the extension through it, if any.
    fn caller(
        &mut self,
        root_idx: usize,
        rel: &str,
        text: &str,
        supplied: Option<(&HashMap<String, String>, &str)>,
        depth: usize,
    ) -> Option<String> {
        let opts = self.opts;
        let ctx = context(rel, opts);
        let via = supplied.map(|s| s.1);
        let mut analysis = analyzers::Analysis::default();
        let mut deploying = None;
        for call in linked::calls(text, &ctx, supplied.map(|s| s.0)) {
            let Some(callee_rel) = self.resolve(root_idx, rel, &call.target) else {
                continue;
            };
            if callee_rel == rel {
                continue;
            }
            let root = &opts.roots[root_idx];
            let Some(callee_text) = read(&root.join(&callee_rel), opts) else {
                continue;
            };
            let callee_ctx = context(&callee_rel, opts);
            let deployed = linked::deploys_with(&callee_text, &callee_ctx, &call.values);
            if deployed.is_empty() {
                // The linked template may pass the values on to a linked template of its own.
                let relayed = format!("with the values `{rel}` passes");
                if depth >= MAX_DEPTH {
                    continue;
                }
                let Some(last) = self.caller(
                    root_idx,
                    &callee_rel,
                    &callee_text,
                    Some((&call.values, &relayed)),
                    depth + 1,
                ) else {
                    continue;
                };
                analysis.diagnostics.extend(linked::relay_diagnostic(
                    &call,
                    &callee_rel,
                    &last,
                    via,
                ));
                deploying.get_or_insert(last);
                continue;
            }
            let mut callee = analyzers::Analysis::default();
            for d in deployed {
                let line = jsonc::line_col(&callee_text, d.range.start).0;
                analysis.diagnostics.extend(linked::caller_diagnostic(
                    &call,
                    &d,
                    &callee_rel,
                    line,
                    via,
                ));
                callee.push(linked::callee_diagnostic(&call, &d, rel));
            }
            self.add(root_idx, &callee_rel, &callee_text, callee);
            deploying.get_or_insert(callee_rel);
        }
        self.add(root_idx, rel, text, analysis);
        deploying
    }

    fn add(&mut self, root_idx: usize, rel: &str, text: &str, analysis: analyzers::Analysis) {
        let record = record(self.opts, root_idx, rel, FileKind::Arm);
        self.out.add(&record, text, analysis, self.opts);
    }

    /// The linked template's path relative to the root, when it is one file of the root.
    fn resolve(&mut self, root_idx: usize, caller: &str, target: &Target) -> Option<String> {
        let root = &self.opts.roots[root_idx];
        match target {
            Target::Relative(path) => inside_root(root, caller, path),
            Target::Suffix { segments, min } => {
                let opts = self.opts;
                let index = self
                    .indexes
                    .entry(root_idx)
                    .or_insert_with(|| json_index(opts, root_idx));
                unique_suffix(index.get(segments.last()?)?, segments, *min)
            }
        }
    }
}

fn context<'a>(rel: &'a str, opts: &'a ScanOptions) -> Context<'a> {
    Context {
        kind: FileKind::Arm,
        path: rel,
        api_version: &opts.api_version,
        extra_ports: &opts.extra_ports,
    }
}

/// The one path among `paths` that ends with the most of `segments` (at least `min`), segment
/// by segment; `None` when the longest suffix any path ends with is shared by several.
fn unique_suffix(paths: &[String], segments: &[String], min: usize) -> Option<String> {
    let ends_with = |path: &str, k: usize| {
        let parts: Vec<&str> = path.split('/').collect();
        parts.len() >= k
            && parts[parts.len() - k..]
                .iter()
                .zip(&segments[segments.len() - k..])
                .all(|(a, b)| a == b)
    };
    for k in (min.max(1)..=segments.len()).rev() {
        let matching: Vec<&String> = paths.iter().filter(|p| ends_with(p, k)).collect();
        match matching.as_slice() {
            [] => {}
            [one] => return Some((*one).clone()),
            _ => return None,
        }
    }
    None
}

/// Every JSON file of the root (with the walk's ignore rules, no symbolic links), by name.
fn json_index(opts: &ScanOptions, root_idx: usize) -> JsonIndex {
    let root = &opts.roots[root_idx];
    let mut index = JsonIndex::new();
    for entry in walk_builder(opts, root).build().filter_map(Result::ok) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(name) = entry.file_name().to_str() else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".json") || lower.ends_with(".jsonc")) {
            continue;
        }
        let rel = crate::scan::relative_path(root, entry.path(), false);
        index.entry(name.to_owned()).or_default().push(rel);
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_names_one_file_or_nothing() {
        let paths: Vec<String> = ["a/nested/ext.json", "b/other/ext.json", "ext.json"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let segs = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            unique_suffix(&paths, &segs("nested/ext.json"), 2).as_deref(),
            Some("a/nested/ext.json")
        );
        // A URL's longer path: its last two segments decide.
        assert_eq!(
            unique_suffix(&paths, &segs("org/repo/main/nested/ext.json"), 2).as_deref(),
            Some("a/nested/ext.json")
        );
        // The file name alone matches three files; a folder no file is in matches none.
        assert_eq!(unique_suffix(&paths, &segs("ext.json"), 1), None);
        assert_eq!(unique_suffix(&paths, &segs("c/ext.json"), 2), None);
        // `anested/ext.json` is not `nested/ext.json`: segments, not characters.
        assert_eq!(
            unique_suffix(
                &["anested/ext.json".to_owned()],
                &segs("nested/ext.json"),
                2
            ),
            None
        );
    }
}

//! ARM templates, parameter files and other JSON: the Managed Identity VM extension as a
//! resource (IMDS001), a scale set `extensionProfile` entry (IMDS002), an extension object held
//! elsewhere (IMDS003), and parameters carrying its type or port (IMDS004).
//!
//! The extension is recognised by publisher and type only, never by name. The file is parsed as
//! JSONC with spans ([`jsonc`]); Go-templated JSON is parsed after blanking its markup
//! ([`template`]); what still does not parse is searched by brace matching ([`text`]).

mod edits;
pub mod graph;
pub mod jsonc;
pub(crate) mod linked;
mod names;
mod nested;
mod owner;
mod parameters;
mod removal;
mod reroute;
pub mod supplied;
mod template;
mod text;

use std::collections::{BTreeSet, HashMap};

use self::{
    jsonc::{Doc, Value},
    names::{name_head, name_segment, ref_re, whole_ref},
    owner::VmGroup,
};
use super::{Analysis, Context, is_extension_type, is_publisher};
use crate::finding::{Diagnostic, Fix};

/// How many `variables()`/`parameters()` hops a value may take (guards against cycles).
const MAX_HOPS: usize = 8;

/// Why a Go-templated entry keeps its extension.
const GO_MARKUP: &str = "removing it would cut through Go template markup ({{if}}, {{end}}...), which only the template's author can rebalance";

const IMDS_HINT: &str = "tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed";

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    // Publisher and extension types both contain this: files without it cannot hold a usage.
    if memchr::memmem::find(text.to_ascii_lowercase().as_bytes(), b"managedidentity").is_none() {
        return;
    }
    let snippet = is_snippet(ctx.path);
    let first_error = match jsonc::parse(text, false) {
        Ok(doc) => {
            Tree::new(text, text, &doc, ctx, false).analyze(out);
            return;
        }
        Err(e) => e,
    };
    if let Some(blanked) = template::blank(text) {
        let parsed = jsonc::parse(&blanked.text, false)
            .map(|d| (d, false))
            .or_else(|_| jsonc::parse(&blanked.text, true).map(|d| (d, true)));
        if let Ok((doc, fragment)) = parsed {
            Tree::new(text, &blanked.text, &doc, ctx, fragment).analyze(out);
            return;
        }
        let is_template = template::has_control(text) || ctx.path.ends_with(".t");
        if !is_template && !snippet {
            out.problems.push(unparsed(&first_error, text));
        }
        text::analyze(text, &blanked.text, is_template, out);
        return;
    }
    if !snippet {
        out.problems.push(unparsed(&first_error, text));
    }
    text::analyze(text, text, false, out);
}

/// Why a file is searched as text: invalid JSON, or valid but above the parser's value cap.
fn unparsed(e: &jsonc::ParseError, text: &str) -> String {
    if e.is_too_large() {
        format!(
            "too large for structural analysis ({} values, at most {} are analyzed); searched as text",
            jsonc::count_values(text),
            jsonc::MAX_NODES
        )
    } else {
        format!("{}; searched as text", e.describe(text))
    }
}

/// Whether `text` parses as JSONC, after blanking Go-template markup. The fix engine refuses to
/// write a JSON file that parsed before its edits and does not after.
pub fn parses(text: &str) -> bool {
    jsonc::parse(text, false).is_ok()
        || template::blank(text).is_some_and(|b| {
            jsonc::parse(&b.text, false).is_ok() || jsonc::parse(&b.text, true).is_ok()
        })
}

/// Markdown code blocks are often fragments: not worth an error when they do not parse.
fn is_snippet(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.ends_with(".md") || p.ends_with(".markdown") || p.ends_with(".mdx")
}

/// An extension object found in a parsed document.
struct Found {
    rule: &'static str,
    /// The object reported and removed (the resource, the profile entry or the variable value).
    object: usize,
    /// The `properties` object holding publisher and type.
    props: usize,
    type_name: String,
    name_expr: Option<String>,
    /// Values nested deployments pass to an inner-scope inline template that the publisher
    /// and type resolved through (IMDS008 at each deployment's first).
    passed: Vec<usize>,
    /// The supplied values (lower-case parameter names) the publisher and type resolved
    /// through.
    supplied_used: BTreeSet<String>,
}

struct Tree<'a> {
    /// The file as read: edits apply to it.
    text: &'a str,
    /// What was parsed (the text itself, or its template-blanked copy of the same length).
    parsed: &'a str,
    doc: &'a Doc,
    ctx: &'a Context<'a>,
    fragment: bool,
    /// Parameters (lower-case) that publisher/type/port resolution went through.
    used_params: std::cell::RefCell<BTreeSet<String>>,
    vm_index: std::cell::OnceCell<HashMap<usize, VmGroup>>,
    /// Every `variables()`/`parameters()` reference, by (is a variable, lower-case name): its
    /// positions in text order.
    all_refs: std::cell::OnceCell<HashMap<(bool, String), Vec<usize>>>,
    /// The template's resources and their deployment order.
    resources: std::cell::OnceCell<graph::Resources<'a>>,
    /// Values a parameter file gives the top-level template's parameters (lower-case names).
    supplied: Option<&'a HashMap<String, String>>,
    /// Scratch for `find`: the passed value nodes and supplied names one resolution went
    /// through.
    passed_used: std::cell::RefCell<Vec<usize>>,
    supplied_used: std::cell::RefCell<BTreeSet<String>>,
}

impl<'a> Tree<'a> {
    fn new(
        text: &'a str,
        parsed: &'a str,
        doc: &'a Doc,
        ctx: &'a Context<'a>,
        fragment: bool,
    ) -> Self {
        Tree {
            text,
            parsed,
            doc,
            ctx,
            fragment,
            used_params: std::cell::RefCell::default(),
            vm_index: std::cell::OnceCell::new(),
            all_refs: std::cell::OnceCell::new(),
            resources: std::cell::OnceCell::new(),
            supplied: None,
            passed_used: std::cell::RefCell::default(),
            supplied_used: std::cell::RefCell::default(),
        }
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.doc.node(i).parent
    }

    fn inside(&self, i: usize, outer: usize) -> bool {
        let (a, b) = (&self.doc.node(i).span, &self.doc.node(outer).span);
        b.start <= a.start && a.end <= b.end
    }

    /// Template objects around `i`, nearest first, whose parameters and variables an expression
    /// at `i` sees: an inline template of an `inner`-scope deployment is its own world; one of
    /// an `outer`-scope deployment (ARM's default) sees its caller's names first (its own
    /// declarations, which ARM does not use there, only for names no caller declares).
    fn templates(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut own = Vec::new();
        let mut cur = Some(i);
        while let Some(n) = cur {
            if let Some(dep) = self.deployment_of_template(n) {
                if self.inner_scope(dep) {
                    out.push(n);
                    break;
                }
                own.push(n);
                cur = self.parent(dep);
                continue;
            }
            if self.doc.is_object(n)
                && !self.is_deployment_properties(n)
                && ["resources", "variables", "parameters", "$schema"]
                    .iter()
                    .any(|k| self.doc.get(n, k).is_some())
            {
                out.push(n);
            }
            cur = self.parent(n);
        }
        out.extend(own);
        out
    }

    fn lookup(&self, at: usize, is_var: bool, name: &str, hops: usize) -> Option<String> {
        for t in self.templates(at) {
            if is_var {
                if let Some(v) = self
                    .doc
                    .get(t, "variables")
                    .and_then(|v| self.doc.get(v, name))
                {
                    return self.resolve(v, hops + 1);
                }
            } else if let Some(p) = self
                .doc
                .get(t, "parameters")
                .and_then(|p| self.doc.get(p, name))
            {
                self.used_params
                    .borrow_mut()
                    .insert(name.to_ascii_lowercase());
                // A parameter file's value wins over the default, for the file's own template.
                if self.parent(t).is_none()
                    && let Some(v) = self
                        .supplied
                        .and_then(|s| s.get(&name.to_ascii_lowercase()))
                {
                    self.supplied_used
                        .borrow_mut()
                        .insert(name.to_ascii_lowercase());
                    return Some(v.clone());
                }
                // So does the value a deployment passes to its inline template (`templates`
                // only yields inline templates of inner scope): evaluated in the caller's scope.
                if let Some(v) = self
                    .deployment_of_template(t)
                    .and_then(|dep| self.passed_value(dep, name))
                {
                    self.passed_used.borrow_mut().push(v);
                    return self.resolve(v, hops + 1);
                }
                if let Some(d) = self.doc.get(p, "defaultValue") {
                    return self.resolve(d, hops + 1);
                }
                // Without a default, a parameter restricted to extension types is one of them.
                let allowed = self
                    .doc
                    .get(p, "allowedValues")
                    .map(|a| self.doc.elements(a));
                if let Some(all) = allowed
                    && !all.is_empty()
                    && all
                        .iter()
                        .all(|e| self.doc.str(e.value).is_some_and(is_extension_type))
                {
                    return self.doc.str(all[0].value).map(str::to_owned);
                }
                return None;
            }
        }
        None
    }

    /// The string value of node `i`, following whole `variables()`/`parameters()` expressions.
    fn resolve(&self, i: usize, hops: usize) -> Option<String> {
        if hops > MAX_HOPS {
            return None;
        }
        match &self.doc.node(i).value {
            Value::Str(s) => match whole_ref(s) {
                Some((is_var, name)) => self.lookup(i, is_var, name, hops),
                None => Some(s.clone()),
            },
            Value::Scalar => Some(self.parsed[self.doc.node(i).span.clone()].to_owned()),
            _ => None,
        }
    }

    fn member_str(&self, obj: usize, key: &str) -> Option<String> {
        self.doc.get(obj, key).and_then(|v| self.resolve(v, 0))
    }

    fn is_extension(&self, obj: usize) -> Option<String> {
        let publisher = self.doc.get(obj, "publisher")?;
        let ty = self.doc.get(obj, "type")?;
        // Parameters count as used only when they led to an extension.
        let before = self.used_params.borrow().clone();
        let p = self.resolve(publisher, 0).unwrap_or_default();
        let t = self.resolve(ty, 0).unwrap_or_default();
        if is_publisher(&p) && (is_extension_type(&t) || builds_extension_type(&t)) {
            Some(t)
        } else {
            *self.used_params.borrow_mut() = before;
            None
        }
    }

    fn find(&self) -> Vec<Found> {
        let mut found = Vec::new();
        for i in 0..self.doc.nodes.len() {
            if !self.doc.is_object(i) {
                continue;
            }
            self.passed_used.borrow_mut().clear();
            self.supplied_used.borrow_mut().clear();
            let Some(type_name) = self.is_extension(i) else {
                continue;
            };
            let holder = match (self.doc.key_of(i), self.parent(i)) {
                (Some(k), Some(p)) if k.eq_ignore_ascii_case("properties") => p,
                _ => i,
            };
            let rule = self.classify(holder);
            let name_expr = self
                .doc
                .get(holder, "name")
                .and_then(|n| self.doc.str(n))
                .map(str::to_owned);
            found.push(Found {
                rule,
                object: holder,
                props: i,
                type_name,
                name_expr,
                passed: self.passed_used.take(),
                supplied_used: self.supplied_used.take(),
            });
        }
        found
    }

    fn classify(&self, obj: usize) -> &'static str {
        let ty = self
            .member_str(obj, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_ext_resource = ty == "extensions"
            || ty == "microsoft.compute/virtualmachines/extensions"
            || ty == "microsoft.compute/virtualmachinescalesets/extensions";
        let parent = self.parent(obj);
        // Symbolic-name templates (languageVersion 2.0) keep resources in an object.
        let in_symbolic = parent.is_some_and(|p| {
            self.doc.is_object(p)
                && self
                    .doc
                    .key_of(p)
                    .is_some_and(|k| k.eq_ignore_ascii_case("resources"))
        });
        let Some(arr) = parent.filter(|&p| !self.doc.is_object(p)) else {
            // A resource standing alone (a documentation snippet) is still a resource.
            return if is_ext_resource && (parent.is_none() || in_symbolic) {
                "IMDS001"
            } else {
                "IMDS003"
            };
        };
        let arr_key = self.doc.key_of(arr).unwrap_or("");
        if arr_key.eq_ignore_ascii_case("extensions")
            && self
                .parent(arr)
                .and_then(|p| self.doc.key_of(p))
                .is_some_and(|k| k.eq_ignore_ascii_case("extensionProfile"))
        {
            return "IMDS002";
        }
        // A Go-template fragment's top level is a piece of a `resources` array.
        let in_resources =
            arr_key.eq_ignore_ascii_case("resources") || (self.fragment && arr == self.doc.root);
        if is_ext_resource && in_resources {
            return "IMDS001";
        }
        "IMDS003"
    }

    fn analyze(&self, out: &mut Analysis) {
        let found = self.find();
        let plan = self.plan(&found);
        let mut fixes: Vec<Result<Fix, String>> = (0..found.len())
            .map(|k| match found[k].rule {
                "IMDS001" | "IMDS002" => self.removal_fix(k, &found, &plan),
                _ => self.variable_fix(&found[k]),
            })
            .collect();
        self.keep_order(&found, &mut fixes);
        for (f, fix) in found.iter().zip(fixes) {
            self.declare_port(f.props, out);
            out.push(self.diagnostic(f, fix));
            for d in self.passed_diagnostics(&f.passed, &f.type_name) {
                out.push(d);
            }
        }
        self.parameters(&found, out);
    }

    fn declare_port(&self, props: usize, out: &mut Analysis) {
        let port = self
            .doc
            .get(props, "settings")
            .and_then(|s| self.doc.get(s, "port"))
            .and_then(|p| self.resolve(p, 0))
            .and_then(|p| p.trim().parse::<u16>().ok());
        if let Some(p) = port.filter(|&p| p != 0) {
            out.declared_ports.push(p);
        }
    }

    fn resolver(&self, at: usize) -> impl Fn(bool, &str) -> Option<String> + '_ {
        move |is_var, name| self.lookup(at, is_var, name, 0)
    }

    fn segment(&self, f: &Found) -> Option<String> {
        let r = self.resolver(f.object);
        name_segment(f.name_expr.as_deref()?, &r)
    }

    fn diagnostic(&self, f: &Found, fix: Result<Fix, String>) -> Diagnostic {
        // As written: in a Go template, the parsed name has its markup blanked.
        let shown = self
            .doc
            .get(f.object, "name")
            .filter(|&n| self.doc.str(n).is_some())
            .map(|n| self.doc.node(n).span.clone())
            .and_then(|r| self.text.get(r.start + 1..r.end.saturating_sub(1)));
        let name = shown.unwrap_or("(unnamed)");
        let what = match f.rule {
            "IMDS001" => format!(
                "Managed Identity VM extension resource `{name}` ({}) is retired: remove it and the references to it; {IMDS_HINT}",
                f.type_name
            ),
            "IMDS002" => format!(
                "Scale set extension profile installs the Managed Identity VM extension `{name}` ({}), which is retired: remove the entry; {IMDS_HINT}",
                f.type_name
            ),
            _ => format!(
                "Managed Identity VM extension definition `{name}` ({}) outside a resource: it deploys the retired extension wherever it is injected; remove it and its uses; {IMDS_HINT}",
                f.type_name
            ),
        };
        let mut message = what;
        if matches!(f.rule, "IMDS001" | "IMDS002")
            && let Some(owner) = self.owner(f)
            && self.doc.get(owner, "identity").is_none()
        {
            message.push_str(
                ". Note: its VM has no `identity` block, so the extension was useless; add `\"identity\": {\"type\": \"SystemAssigned\"}` if the VM needs an identity",
            );
        }
        Diagnostic::new(f.rule, self.doc.node(f.object).span.clone(), message)
            .with_fix_or_reason(fix)
    }
}

/// An expression that builds one of the two type names: `[concat('ManagedIdentityExtensionFor',
/// parameters('os'))]`, `[if(..., 'ManagedIdentityExtensionForWindows', '...ForLinux')]`. With the
/// extension's publisher beside it, nothing else can come out of it.
fn builds_extension_type(t: &str) -> bool {
    t.starts_with('[')
        && t.to_ascii_lowercase()
            .contains("'managedidentityextensionfor")
}

#[cfg(test)]
mod tests;

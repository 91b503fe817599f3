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
mod nested;
mod reroute;
pub mod supplied;
mod template;
mod text;

use std::{
    collections::{BTreeSet, HashMap},
    ops::Range,
    sync::OnceLock,
};

use regex::Regex;

use self::{
    edits::Item,
    jsonc::{Doc, Value},
};
use super::{Analysis, Context, is_extension_type, is_publisher};
use crate::{
    finding::{Diagnostic, Edit, Fix},
    kind::FileKind,
};

/// How many `variables()`/`parameters()` hops a value may take (guards against cycles).
const MAX_HOPS: usize = 8;

/// Why IMDS004 findings have no fix.
const PARAMETER_REASON: &str = "a parameter may be set by deployments and pipelines outside this file, so a person removes it once nothing passes it";

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

fn ref_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        crate::analyzers::pattern::compile(r"(?i)\b(variables|parameters)\s*\(\s*'([^']*)'\s*\)")
            .expect("valid regex")
    })
}

/// `[variables('x')]` or `[parameters('x')]` as a whole expression.
fn whole_ref(s: &str) -> Option<(bool, &str)> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('[') {
        return None;
    }
    let c = ref_re().captures(inner)?;
    let m = c.get(0)?;
    if !inner[..m.start()].trim().is_empty() || !inner[m.end()..].trim().is_empty() {
        return None;
    }
    let is_var = c[1].eq_ignore_ascii_case("variables");
    Some((is_var, c.get(2)?.as_str()))
}

/// The last `/`-segment an ARM name expression ends with: `concat(vm, '/MSI')` gives `MSI`,
/// `resourceId('.../extensions', vm, 'MSI')` gives `MSI`. References are resolved by `resolve`.
fn name_segment(expr: &str, resolve: &dyn Fn(bool, &str) -> Option<String>) -> Option<String> {
    static LIT: OnceLock<Regex> = OnceLock::new();
    let lit = LIT.get_or_init(|| {
        crate::analyzers::pattern::compile(
            r"(?i)'((?:[^']|'')*)'|\b(variables|parameters)\s*\(\s*'([^']*)'\s*\)",
        )
        .expect("valid regex")
    });
    let Some(inner) = expr
        .trim()
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
    else {
        let seg = expr.rsplit('/').next()?.trim();
        return (!seg.is_empty()).then(|| seg.to_owned());
    };
    let mut last = None;
    for c in lit.captures_iter(inner) {
        let value = if let Some(l) = c.get(1) {
            // A literal that is the argument of variables()/parameters() is matched by the
            // second alternative first, since the regex scans left to right.
            Some(l.as_str().replace("''", "'"))
        } else {
            resolve(c[2].eq_ignore_ascii_case("variables"), &c[3])
        };
        if let Some(v) = value {
            let seg = v.rsplit('/').next().unwrap_or("").trim().to_owned();
            if !seg.is_empty() && !seg.contains('{') {
                last = Some(seg);
            }
        }
    }
    last
}

/// What a resource name starts with: the first `variables()`/`parameters()` reference of an
/// expression (`concat(parameters('vm'), '/msi')` gives `parameters('vm')`), or the text before
/// the first `/` of a plain name. An extension's and its VM's heads are equal.
fn name_head(name: &str) -> Option<String> {
    let t = name.trim();
    if let Some(inner) = t.strip_prefix('[') {
        let c = ref_re().find(inner)?;
        return Some(c.as_str().to_ascii_lowercase().replace(' ', ""));
    }
    let head = t.split('/').next()?.trim();
    (!head.is_empty()).then(|| head.to_ascii_lowercase())
}

#[derive(Default)]
struct VmGroup {
    all: Vec<usize>,
    by_head: HashMap<String, Vec<usize>>,
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
        if is_publisher(&p) && is_extension_type(&t) {
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

    fn is_vm_type(&self, obj: usize) -> bool {
        let ty = self
            .member_str(obj, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        ty == "microsoft.compute/virtualmachines"
            || ty == "microsoft.compute/virtualmachinescalesets"
    }

    /// The VM or scale set the extension belongs to, when the template says so unambiguously.
    fn owner(&self, f: &Found) -> Option<usize> {
        let mut cur = self.parent(f.object);
        while let Some(n) = cur {
            if self.doc.is_object(n) && self.is_vm_type(n) {
                return Some(n);
            }
            cur = self.parent(n);
        }
        // A top-level extension: its name starts with the VM's name expression.
        let arr = self.parent(f.object)?;
        let index = self.vm_index.get_or_init(|| self.build_vm_index());
        let group = index.get(&arr)?;
        let matching = f
            .name_expr
            .as_deref()
            .and_then(name_head)
            .and_then(|h| group.by_head.get(&h));
        match (matching.map(Vec::as_slice), group.all.as_slice()) {
            (Some([one]), _) | (None, [one]) => Some(*one),
            _ => None,
        }
    }

    /// VMs and scale sets per containing array, by the head of their name: built once, so that
    /// a template with thousands of extensions stays linear.
    fn build_vm_index(&self) -> HashMap<usize, VmGroup> {
        let mut index: HashMap<usize, VmGroup> = HashMap::new();
        for n in 0..self.doc.nodes.len() {
            let Some(arr) = self.parent(n).filter(|&p| !self.doc.is_object(p)) else {
                continue;
            };
            if !self.doc.is_object(n) || !self.is_vm_type(n) {
                continue;
            }
            let group = index.entry(arr).or_default();
            group.all.push(n);
            let head = self
                .doc
                .get(n, "name")
                .and_then(|v| self.doc.str(v))
                .and_then(name_head);
            if let Some(h) = head {
                group.by_head.entry(h).or_default().push(n);
            }
        }
        index
    }

    fn items_of(&self, container: usize) -> Vec<Item> {
        match &self.doc.node(container).value {
            Value::Object(m) => m
                .iter()
                .map(|m| Item {
                    span: m.key_span.start..self.doc.node(m.value).span.end,
                    comma_after: m.comma_after,
                })
                .collect(),
            Value::Array(e) => e
                .iter()
                .map(|e| Item {
                    span: self.doc.node(e.value).span.clone(),
                    comma_after: e.comma_after,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn index_in_parent(&self, i: usize) -> Option<(usize, usize)> {
        let p = self.parent(i)?;
        Some((p, self.doc.node(i).slot))
    }

    fn remove_from_parent(&self, i: usize) -> Vec<Edit> {
        let Some((p, idx)) = self.index_in_parent(i) else {
            return Vec::new();
        };
        let leading = if self.fragment && p == self.doc.root {
            self.doc.leading_comma
        } else {
            None
        };
        edits::remove_items(self.parsed, &self.items_of(p), &[idx], leading, None)
    }

    /// Does string `s` (a dependsOn entry) point at the extension with name segment `seg`?
    fn names_extension(&self, at: usize, s: &str, seg: &str, name_expr: &str) -> bool {
        if s.eq_ignore_ascii_case(name_expr) {
            return true;
        }
        let refers = s.contains("variables") || s.contains("parameters");
        if !refers && !s.to_ascii_lowercase().contains(&seg.to_ascii_lowercase()) {
            return false;
        }
        let r = self.resolver(at);
        let Some(entry_seg) = name_segment(s, &r) else {
            return false;
        };
        if !entry_seg.eq_ignore_ascii_case(seg) {
            return false;
        }
        let lower = s.to_ascii_lowercase();
        let quoted = format!("'/{}'", seg.to_ascii_lowercase());
        lower.contains("extensions") || lower.contains(&quoted) || s.eq_ignore_ascii_case(seg)
    }

    fn removal_fix(&self, k: usize, found: &[Found], plan: &reroute::Plan) -> Result<Fix, String> {
        let f = &found[k];
        let mut edits = self.remove_from_parent(f.object);
        if edits.is_empty() {
            return Err("it is the whole file, not an entry that can be removed".to_owned());
        }
        let mut removed: Vec<Range<usize>> = vec![self.doc.node(f.object).span.clone()];
        let (refs, ref_spans, added) = self.reference_edits(k, found, plan)?;
        let rerouted = !added.is_empty();
        edits.extend(refs);
        removed.extend(ref_spans);
        if self.fragment_has_control(&edits) {
            return Err(GO_MARKUP.to_owned());
        }
        let what = match (f.rule, rerouted) {
            ("IMDS002", false) => {
                "Remove the Managed Identity extension from the extension profile"
            }
            ("IMDS002", true) => {
                "Remove the Managed Identity extension from the extension profile; the extensions provisioned after it keep their order"
            }
            (_, false) => {
                "Remove the Managed Identity extension resource and its dependsOn entries"
            }
            (_, true) => {
                "Remove the Managed Identity extension resource; what depended on it now depends on what it depended on"
            }
        };
        let fix = Fix::safe(what, edits)
            .ok_or_else(|| "its removal and the references to it overlap".to_owned())?;
        let cleanup = self.cleanup(f.object, &removed, &added.concat());
        Ok(fix.with_cleanup(cleanup))
    }

    /// An edit that swallows template control markup would unbalance the template.
    fn fragment_has_control(&self, edits: &[Edit]) -> bool {
        self.text.len() != self.parsed.len()
            || edits.iter().any(|e| {
                self.text
                    .get(e.range.clone())
                    .is_none_or(template::has_control)
            })
    }

    /// Edits removing variables and parameters that only the removed text referred to (`added`
    /// is text the fix writes elsewhere, whose references stay).
    fn cleanup(&self, at: usize, removed: &[Range<usize>], added: &str) -> Vec<Edit> {
        let mut names: BTreeSet<(bool, String)> = BTreeSet::new();
        for r in removed {
            for c in ref_re().captures_iter(&self.parsed[r.clone()]) {
                names.insert((
                    c[1].eq_ignore_ascii_case("variables"),
                    c[2].to_ascii_lowercase(),
                ));
            }
        }
        let all_refs = self.all_refs.get_or_init(|| {
            let mut map: HashMap<(bool, String), Vec<usize>> = HashMap::new();
            for c in ref_re().captures_iter(self.parsed) {
                let pos = c.get(0).map_or(0, |m| m.start());
                map.entry((
                    c[1].eq_ignore_ascii_case("variables"),
                    c[2].to_ascii_lowercase(),
                ))
                .or_default()
                .push(pos);
            }
            map
        });
        let moved: BTreeSet<(bool, String)> = ref_re()
            .captures_iter(added)
            .map(|c| {
                (
                    c[1].eq_ignore_ascii_case("variables"),
                    c[2].to_ascii_lowercase(),
                )
            })
            .collect();
        // A name used once outside the removed text is still used; looking stops at that use,
        // so a parameter every resource names costs little per fix.
        let still_used: BTreeSet<(bool, String)> = names
            .iter()
            .filter(|k| {
                moved.contains(*k)
                    || all_refs
                        .get(*k)
                        .into_iter()
                        .flatten()
                        .any(|pos| !removed.iter().any(|r| r.contains(pos)))
            })
            .cloned()
            .collect();
        let Some(&tpl) = self.templates(at).first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for section in [true, false] {
            let Some(obj) = self
                .doc
                .get(tpl, if section { "variables" } else { "parameters" })
                .filter(|&o| self.doc.is_object(o))
            else {
                continue;
            };
            let idx: Vec<usize> = self
                .doc
                .members(obj)
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    let k = (section, m.key.to_ascii_lowercase());
                    names.contains(&k) && !still_used.contains(&k)
                })
                .map(|(i, _)| i)
                .collect();
            if !section {
                out.extend(self.passed_cleanup(tpl, obj, &idx));
            }
            out.extend(edits::remove_items(
                self.parsed,
                &self.items_of(obj),
                &idx,
                None,
                None,
            ));
        }
        out
    }

    /// IMDS003 in `variables`: remove the variable and the `createArray`/`concat`/`union`
    /// arguments that inject it. No fix when any use is something else.
    fn variable_fix(&self, f: &Found) -> Result<Fix, String> {
        const ELSEWHERE: &str =
            "it is not a resource or a variable's value, so where it is injected cannot be traced";
        let vars = self.parent(f.object).ok_or(ELSEWHERE)?;
        if !self
            .doc
            .key_of(vars)
            .is_some_and(|k| k.eq_ignore_ascii_case("variables"))
        {
            return Err(ELSEWHERE.to_owned());
        }
        let var_name = self.doc.key_of(f.object).ok_or(ELSEWHERE)?.to_owned();
        let mut edits = self.remove_from_parent(f.object);
        let obj_span = self.doc.node(f.object).span.clone();
        let total = ref_re()
            .captures_iter(self.parsed)
            .filter(|c| {
                c[1].eq_ignore_ascii_case("variables")
                    && c[2].eq_ignore_ascii_case(&var_name)
                    && !obj_span.contains(&c.get(0).map_or(0, |m| m.start()))
            })
            .count();
        let mut handled = 0;
        for (i, n) in self.doc.nodes.iter().enumerate() {
            if !matches!(n.value, Value::Str(_)) || self.inside(i, f.object) {
                continue;
            }
            let raw = &self.parsed[n.span.clone()];
            for c in ref_re().captures_iter(raw) {
                if !c[1].eq_ignore_ascii_case("variables") || !c[2].eq_ignore_ascii_case(&var_name)
                {
                    continue;
                }
                let Some(edit) = c
                    .get(0)
                    .and_then(|m| remove_argument(raw, m.range(), n.span.start))
                else {
                    continue;
                };
                edits.push(edit);
                handled += 1;
            }
        }
        if handled != total {
            return Err(format!(
                "variable `{var_name}` is used other than as an argument of createArray(), concat() or union()"
            ));
        }
        if self.fragment_has_control(&edits) {
            return Err(GO_MARKUP.to_owned());
        }
        Fix::unsafe_(
            format!("Remove variable `{var_name}` and the expressions that inject it"),
            edits,
        )
        .ok_or_else(|| format!("the uses of variable `{var_name}` overlap"))
    }

    /// IMDS004: parameter values (parameter files) and defaults/allowed values (templates).
    fn parameters(&self, found: &[Found], out: &mut Analysis) {
        let root = self.doc.root;
        // An Azure Policy that audits or denies the extension names its type on purpose.
        let is_policy = self.doc.get(root, "policyRule").is_some()
            || self
                .doc
                .get(root, "properties")
                .is_some_and(|p| self.doc.get(p, "policyRule").is_some());
        if is_policy {
            return;
        }
        let Some(params) = self
            .doc
            .get(root, "parameters")
            .filter(|&p| self.doc.is_object(p))
        else {
            return;
        };
        let is_param_file = self.ctx.kind == FileKind::ArmParameters
            || (self.doc.get(root, "resources").is_none()
                && self
                    .doc
                    .members(params)
                    .iter()
                    .any(|m| self.doc.get(m.value, "value").is_some()));
        let used = self.used_params.borrow().clone();
        let inside_found = |i: usize| found.iter().any(|f| self.inside(i, f.object));
        for m in self.doc.members(params) {
            let lower = m.key.to_ascii_lowercase();
            if !is_param_file && used.contains(&lower) {
                continue;
            }
            // One finding per parameter: its value, else its default, else the first allowed
            // value that is an extension type.
            let mut values: Vec<usize> = Vec::new();
            if is_param_file {
                let value = self.doc.get(m.value, "value");
                // A list of types (`["ManagedIdentityExtensionForLinux", ...]`): its first one.
                let listed = value.and_then(|v| {
                    self.doc
                        .elements(v)
                        .iter()
                        .map(|e| e.value)
                        .find(|&e| self.doc.str(e).is_some_and(is_extension_type))
                });
                values.extend(listed.or(value));
            } else {
                let default = self.doc.get(m.value, "defaultValue");
                let allowed = self.doc.get(m.value, "allowedValues").and_then(|a| {
                    self.doc
                        .elements(a)
                        .iter()
                        .map(|e| e.value)
                        .find(|&v| self.doc.str(v).is_some_and(is_extension_type))
                });
                let default_is_type =
                    default.is_some_and(|d| self.doc.str(d).is_some_and(is_extension_type));
                values.extend(if default_is_type {
                    default
                } else {
                    allowed.or(default)
                });
            }
            let port_param = (lower.contains("msi") || lower.contains("managedidentity"))
                && lower.contains("port");
            for v in values {
                if inside_found(v) {
                    continue;
                }
                let span = self.doc.node(v).span.clone();
                if let Some(s) = self.doc.str(v)
                    && is_extension_type(s)
                {
                    out.push(Diagnostic::new(
                        "IMDS004",
                        span,
                        format!(
                            "Parameter `{}` carries the retired Managed Identity extension type `{s}`: remove it once no template deploys the extension; {IMDS_HINT}",
                            m.key
                        ),
                    ).with_fix_or_reason(Err(PARAMETER_REASON.to_owned())));
                } else if port_param
                    && matches!(self.doc.node(v).value, Value::Scalar | Value::Str(_))
                    && let Ok(port) = self.resolve(v, 0).unwrap_or_default().trim().parse::<u16>()
                    && port != 0
                {
                    out.declared_ports.push(port);
                    out.push(Diagnostic::new(
                        "IMDS004",
                        span,
                        format!(
                            "Parameter `{}` carries the retired Managed Identity extension's port {port}: remove it once no template deploys the extension; {IMDS_HINT}",
                            m.key
                        ),
                    ).with_fix_or_reason(Err(PARAMETER_REASON.to_owned())));
                }
            }
        }
    }
}

/// The edit removing the argument `m` (relative to `raw`, a JSON string's source starting at
/// byte `base`) from the call around it, which must build an array.
fn remove_argument(raw: &str, m: Range<usize>, base: usize) -> Option<Edit> {
    let b = raw.as_bytes();
    let prev_pos = b[..m.start]
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())?;
    let next_pos = m.end + b[m.end..].iter().position(|c| !c.is_ascii_whitespace())?;
    let (prev, next) = (b[prev_pos], b[next_pos]);
    // The unmatched '(' before the argument, and the function name before it.
    let mut depth = 0usize;
    let mut open = None;
    for k in (0..m.start).rev() {
        match b[k] {
            b')' => depth += 1,
            b'(' if depth == 0 => {
                open = Some(k);
                break;
            }
            b'(' => depth -= 1,
            _ => {}
        }
    }
    let open = open?;
    let fname_start = b[..open]
        .iter()
        .rposition(|c| !c.is_ascii_alphanumeric())
        .map_or(0, |p| p + 1);
    let fname = raw[fname_start..open].to_ascii_lowercase();
    if !matches!(fname.as_str(), "createarray" | "concat" | "union") {
        return None;
    }
    let range = match (prev, next) {
        (b'(', b',') => {
            let mut end = next_pos + 1;
            while end < b.len() && b[end] == b' ' {
                end += 1;
            }
            m.start..end
        }
        (b',', b')' | b',') => prev_pos..m.end,
        (b'(', b')') if fname == "createarray" => m,
        _ => return None,
    };
    Some(Edit::deletion(range.start + base..range.end + base))
}

#[cfg(test)]
mod tests;

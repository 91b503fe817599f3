//! The deployment order an ARM template declares: every resource (top-level, nested child,
//! nested deployment, scale set extension profile entry) and what it deploys after — its
//! `dependsOn` entries resolved to resources, `provisionAfterExtensions`, and the implicit
//! order of a child resource after its parent (by nesting or by name).
//!
//! Names are compared as segments of expressions, not evaluated: `concat(parameters('vm'),
//! '/msi')`, `resourceId('Microsoft.Compute/virtualMachines/extensions', parameters('vm'),
//! 'msi')` and `concat('Microsoft.Compute/virtualMachines/', parameters('vm'), '/extensions/msi')`
//! all name the segments `{parameters('vm')}` and `msi`. Variables holding plain strings or
//! expressions are followed; parameters stay symbolic (their values are not known here).

use std::collections::HashMap;

use super::{
    jsonc::{self, Doc},
    template,
};
use crate::fix::order::Graph;

const MAX_HOPS: usize = 8;

/// The template of `text` as a graph, when it parses (Go-template markup blanked first).
pub fn build(text: &str) -> Option<Graph> {
    if let Ok(doc) = jsonc::parse(text, false) {
        return Some(Resources::new(&doc, text).graph);
    }
    let blanked = template::blank(text)?;
    let doc = jsonc::parse(&blanked.text, false)
        .or_else(|_| jsonc::parse(&blanked.text, true))
        .ok()?;
    Some(Resources::new(&doc, text).graph)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Atom(String),
}

/// A reference or a resource, as a (lower-case) type when known and name segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Named {
    pub ty: Option<String>,
    pub segs: Vec<String>,
}

struct Info {
    object: usize,
    /// The template object the resource is declared in.
    scope: usize,
    ty: String,
    segs: Vec<String>,
    /// The resource (itself or an ancestor) whose `copy` loop instantiates it.
    copy: Option<usize>,
    /// The parent resource it implicitly deploys after.
    parent: Option<usize>,
}

/// The resources of one parsed template and the graph of their order.
pub struct Resources<'d> {
    doc: &'d Doc,
    pub graph: Graph,
    info: Vec<Info>,
    /// Document object → graph node.
    node_of: HashMap<usize, usize>,
    /// (scope, last name segment) → nodes.
    by_last: HashMap<(usize, String), Vec<usize>>,
    /// (scope, lower-case copy name) → the nodes the loop instantiates.
    copies: HashMap<(usize, String), Vec<usize>>,
    /// Template object → its variables (lower-case name → value node).
    vars: HashMap<usize, HashMap<String, usize>>,
    /// (scope, lower-case symbolic name) → node, in templates that key resources by symbol.
    symbols: HashMap<(usize, String), usize>,
}

impl<'d> Resources<'d> {
    /// `text` is the file as read (labels come from it); `doc` may be parsed from its
    /// template-blanked copy, which has the same offsets.
    pub fn new(doc: &'d Doc, text: &str) -> Self {
        let mut r = Resources {
            doc,
            graph: Graph::default(),
            info: Vec::new(),
            node_of: HashMap::new(),
            by_last: HashMap::new(),
            copies: HashMap::new(),
            vars: HashMap::new(),
            symbols: HashMap::new(),
        };
        for i in 0..doc.nodes.len() {
            if let Some(v) = doc.get(i, "variables").filter(|&v| doc.is_object(v))
                && doc.is_object(i)
            {
                let map = doc
                    .members(v)
                    .iter()
                    .map(|m| (m.key.to_ascii_lowercase(), m.value))
                    .collect();
                r.vars.insert(i, map);
            }
        }
        // Parents come before children in the arena, so a nested resource finds its parent's
        // node already made.
        let mut keys: HashMap<String, usize> = HashMap::new();
        let mut scope_keys: HashMap<usize, String> = HashMap::new();
        for i in 0..doc.nodes.len() {
            if !doc.is_object(i) || !r.is_resource(i) {
                continue;
            }
            let container = doc.node(i).parent.unwrap_or(i);
            let holder = doc.node(container).parent;
            let parent = holder.and_then(|h| r.node_of.get(&h).copied());
            let scope = match parent {
                Some(p) => r.info[p].scope,
                None => holder.unwrap_or(doc.root),
            };
            let own_ty = r
                .string(i, "type", scope)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let own = r.name_of(i, scope);
            let (ty, segs) = match parent {
                Some(p) if !own_ty.contains('/') => {
                    let pi = &r.info[p];
                    let mut segs = pi.segs.clone();
                    segs.extend(own.segs);
                    (format!("{}/{own_ty}", pi.ty), segs)
                }
                _ => (own_ty, own.segs),
            };
            let copy = if doc.get(i, "copy").is_some() {
                Some(i)
            } else {
                parent.and_then(|p| r.info[p].copy)
            };
            let scope_key = scope_keys
                .entry(scope)
                .or_insert_with(|| r.scope_key(scope))
                .clone();
            let symbolic = doc
                .key_of(i)
                .filter(|_| doc.is_object(container))
                .map(str::to_ascii_lowercase);
            let base = match &symbolic {
                Some(s) => format!("{scope_key}|@{s}"),
                None => format!("{scope_key}|{ty}|{}", segs.join("/")),
            };
            let ordinal = keys.entry(base.clone()).or_default();
            *ordinal += 1;
            let key = format!("{base}#{ordinal}");
            let label = doc
                .get(i, "name")
                .map(|n| label(text, &doc.node(n).span))
                .or_else(|| symbolic.clone())
                .unwrap_or_else(|| ty.clone());
            let node = r.graph.node(&key, &label);
            r.node_of.insert(i, node);
            if let Some(s) = &symbolic {
                r.symbols.insert((scope, s.clone()), node);
            }
            if let Some(last) = segs.last() {
                r.by_last
                    .entry((scope, last.clone()))
                    .or_default()
                    .push(node);
            }
            if copy == Some(i)
                && let Some(name) = doc
                    .get(i, "copy")
                    .and_then(|c| doc.get(c, "name"))
                    .and_then(|n| doc.str(n))
            {
                r.copies
                    .entry((scope, name.to_ascii_lowercase()))
                    .or_default()
                    .push(node);
            }
            r.info.push(Info {
                object: i,
                scope,
                ty,
                segs,
                copy,
                parent,
            });
        }
        r.profile_entries(text, &mut keys);
        r.implicit_parents();
        r.explicit_edges();
        r
    }

    fn is_resource(&self, i: usize) -> bool {
        let Some(c) = self.doc.node(i).parent else {
            return false;
        };
        self.doc
            .key_of(c)
            .is_some_and(|k| k.eq_ignore_ascii_case("resources"))
            && (self.doc.get(i, "type").is_some() || self.doc.get(i, "name").is_some())
    }

    /// Nested deployments: the deployment resource holding the template, by its key.
    fn scope_key(&self, scope: usize) -> String {
        let mut cur = self.doc.node(scope).parent;
        while let Some(n) = cur {
            if let Some(&g) = self.node_of.get(&n) {
                return format!("{}>", self.graph.key(g));
            }
            cur = self.doc.node(n).parent;
        }
        String::new()
    }

    /// The templates whose variables `scope` sees, nearest first.
    fn lookup_var(&self, scope: usize, name: &str) -> Option<usize> {
        let mut cur = Some(scope);
        while let Some(n) = cur {
            if let Some(v) = self.vars.get(&n).and_then(|m| m.get(name)) {
                return Some(*v);
            }
            cur = self.doc.node(n).parent;
        }
        None
    }

    fn string(&self, obj: usize, key: &str, scope: usize) -> Option<String> {
        let v = self.doc.get(obj, key)?;
        let s = self.doc.str(v)?;
        match pieces_of_string(s, &|n| self.var_string(scope, n), 0).as_slice() {
            [Piece::Lit(l)] => Some(l.clone()),
            _ => Some(s.to_owned()),
        }
    }

    fn var_string(&self, scope: usize, name: &str) -> Option<String> {
        let v = self.lookup_var(scope, &name.to_ascii_lowercase())?;
        self.doc.str(v).map(str::to_owned)
    }

    fn name_of(&self, obj: usize, scope: usize) -> Named {
        let Some(s) = self.doc.get(obj, "name").and_then(|n| self.doc.str(n)) else {
            return Named::default();
        };
        Named {
            ty: None,
            segs: segments(&pieces_of_string(s, &|n| self.var_string(scope, n), 0)),
        }
    }

    /// A scale set's `extensionProfile.extensions[]` entries: ordered among themselves by
    /// `provisionAfterExtensions`, and after their scale set.
    fn profile_entries(&mut self, text: &str, keys: &mut HashMap<String, usize>) {
        let doc = self.doc;
        let owners: Vec<usize> = (0..self.info.len()).collect();
        for owner in owners {
            let obj = self.info[owner].object;
            let Some(list) = doc
                .get(obj, "properties")
                .and_then(|p| doc.get(p, "virtualMachineProfile"))
                .and_then(|p| doc.get(p, "extensionProfile"))
                .and_then(|p| doc.get(p, "extensions"))
            else {
                continue;
            };
            for e in doc.elements(list) {
                let i = e.value;
                if !doc.is_object(i) {
                    continue;
                }
                let name = doc.get(i, "name").and_then(|n| doc.str(n)).unwrap_or("");
                let base = format!(
                    "{}/extensionProfile/{}",
                    self.graph.key(owner),
                    name.to_ascii_lowercase()
                );
                let ordinal = keys.entry(base.clone()).or_default();
                *ordinal += 1;
                let label = doc
                    .get(i, "name")
                    .map_or_else(|| name.to_owned(), |n| label(text, &doc.node(n).span));
                let node = self.graph.node(&format!("{base}#{ordinal}"), &label);
                self.node_of.insert(i, node);
                let scope = self.info[owner].scope;
                let mut segs = self.info[owner].segs.clone();
                segs.push(name.to_ascii_lowercase());
                self.info.push(Info {
                    object: i,
                    scope,
                    ty: format!("{}/extensions", self.info[owner].ty),
                    segs,
                    copy: self.info[owner].copy,
                    parent: Some(owner),
                });
            }
        }
    }

    fn implicit_parents(&mut self) {
        // Top-level children by name: `vm/ext` of type `.../virtualMachines/extensions`.
        let mut by_id: HashMap<(usize, String, String), Vec<usize>> = HashMap::new();
        for (n, info) in self.info.iter().enumerate() {
            by_id
                .entry((info.scope, info.ty.clone(), info.segs.join("/")))
                .or_default()
                .push(n);
        }
        for n in 0..self.info.len() {
            if self.info[n].parent.is_none() {
                let info = &self.info[n];
                let types: Vec<&str> = info.ty.split('/').collect();
                if types.len() >= 3 && info.segs.len() == types.len() - 1 {
                    let pty = types[..types.len() - 1].join("/");
                    let psegs = info.segs[..info.segs.len() - 1].join("/");
                    if let Some([p]) = by_id.get(&(info.scope, pty, psegs)).map(Vec::as_slice) {
                        self.info[n].parent = Some(*p);
                    }
                }
            }
            // ARM schedules by `dependsOn` only: a child without one races its parent.
            if let Some(p) = self.info[n].parent {
                self.graph.implicit_edge(n, p);
            }
        }
    }

    fn explicit_edges(&mut self) {
        let doc = self.doc;
        for n in 0..self.info.len() {
            let obj = self.info[n].object;
            if let Some(deps) = doc.get(obj, "dependsOn") {
                for e in doc.elements(deps) {
                    if let Some(s) = doc.str(e.value) {
                        for t in self.resolve(n, s) {
                            self.graph.edge(n, t);
                        }
                    }
                }
            }
            let after = doc
                .get(obj, "properties")
                .and_then(|p| doc.get(p, "provisionAfterExtensions"));
            if let Some(after) = after {
                for e in doc.elements(after) {
                    if let Some(s) = doc.str(e.value) {
                        for t in self.sibling_extensions(n, s) {
                            self.graph.edge(n, t);
                        }
                    }
                }
            }
        }
    }

    /// The extensions of the same scale set named `name` (a `provisionAfterExtensions` entry).
    pub fn sibling_extensions(&self, n: usize, name: &str) -> Vec<usize> {
        let Some(parent) = self.info[n].parent else {
            return Vec::new();
        };
        let scope = self.info[n].scope;
        let last = segments(&pieces_of_string(name, &|v| self.var_string(scope, v), 0))
            .pop()
            .unwrap_or_default();
        self.by_last
            .get(&(scope, last))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&m| m != n && self.info[m].parent == Some(parent))
            .collect()
    }

    pub fn node_of(&self, object: usize) -> Option<usize> {
        self.node_of.get(&object).copied()
    }

    pub fn object(&self, node: usize) -> usize {
        self.info[node].object
    }

    /// The resource `node` deploys after because it is its child.
    pub fn parent(&self, node: usize) -> Option<usize> {
        self.info[node].parent
    }

    pub fn copy(&self, node: usize) -> Option<usize> {
        self.info[node].copy
    }

    pub fn resource_type(&self, node: usize) -> &str {
        &self.info[node].ty
    }

    /// The name of a `copy` loop that `node` is the resource of, for a reference to all its
    /// instances.
    pub fn copy_name(&self, node: usize) -> Option<&str> {
        let obj = self.info[node].object;
        (self.info[node].copy == Some(obj))
            .then(|| self.doc.get(obj, "copy"))
            .flatten()
            .and_then(|c| self.doc.get(c, "name"))
            .and_then(|n| self.doc.str(n))
    }

    /// The resources a `dependsOn` entry of node `from` names.
    pub fn resolve(&self, from: usize, entry: &str) -> Vec<usize> {
        let scope = self.info[from].scope;
        let lower = entry.trim().to_ascii_lowercase();
        if !entry.trim_start().starts_with('[') {
            if let Some(&n) = self.symbols.get(&(scope, lower.clone())) {
                return vec![n];
            }
            if let Some(nodes) = self.copies.get(&(scope, lower)) {
                return nodes.clone();
            }
        }
        let named = self.reference(scope, entry);
        let Some(last) = named.segs.last() else {
            return Vec::new();
        };
        let hits: Vec<usize> = self
            .by_last
            .get(&(scope, last.clone()))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&m| {
                let info = &self.info[m];
                info.segs == named.segs && named.ty.as_ref().is_none_or(|t| *t == info.ty)
            })
            .collect();
        hits
    }

    /// What a reference string names.
    pub fn reference(&self, scope: usize, entry: &str) -> Named {
        let var = |n: &str| self.var_string(scope, n);
        let trimmed = entry.trim();
        if let Some(inner) = expression(trimmed)
            && let Some((f, args)) = split_call(inner)
            && matches!(
                f.as_str(),
                "resourceid"
                    | "subscriptionresourceid"
                    | "tenantresourceid"
                    | "extensionresourceid"
            )
        {
            let mut ty = None;
            let mut segs = Vec::new();
            for a in args {
                let p = pieces(a, &var, 0);
                if ty.is_none() {
                    if let [Piece::Lit(l)] = p.as_slice()
                        && l.contains('/')
                        && l.split('/').next().is_some_and(|ns| ns.contains('.'))
                    {
                        ty = Some(l.to_ascii_lowercase());
                    }
                    continue;
                }
                segs.extend(segments(&p));
            }
            return Named { ty, segs };
        }
        let segs = segments(&pieces_of_string(trimmed, &var, 0));
        // `Microsoft.Compute/virtualMachines/vm1/extensions/msi`: types and names alternate.
        if segs.len() >= 3 && segs[0].contains('.') && !segs[0].contains('{') {
            let mut ty = vec![segs[0].clone()];
            let mut names = Vec::new();
            for (k, s) in segs[1..].iter().enumerate() {
                if k % 2 == 0 {
                    ty.push(s.clone());
                } else {
                    names.push(s.clone());
                }
            }
            if names.len() + 1 == ty.len() {
                return Named {
                    ty: Some(ty.join("/")),
                    segs: names,
                };
            }
        }
        Named { ty: None, segs }
    }
}

/// A name as it is written (quotes off), for messages: never from blanked text.
fn label(text: &str, span: &std::ops::Range<usize>) -> String {
    let raw = text.get(span.clone()).unwrap_or("");
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .to_owned()
}

/// The inside of a `[...]` expression string (`[[` escapes a literal).
fn expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    (!inner.starts_with('[')).then_some(inner)
}

fn pieces_of_string(s: &str, var: &dyn Fn(&str) -> Option<String>, hops: usize) -> Vec<Piece> {
    match expression(s.trim()) {
        Some(inner) => pieces(inner, var, hops),
        None => vec![Piece::Lit(
            s.strip_prefix('[').map_or(s, |_| &s[1..]).to_owned(),
        )],
    }
}

/// An expression as concatenated literal and opaque pieces.
fn pieces(expr: &str, var: &dyn Fn(&str) -> Option<String>, hops: usize) -> Vec<Piece> {
    let e = expr.trim();
    if let Some(l) = whole_literal(e) {
        return vec![Piece::Lit(l)];
    }
    if hops < MAX_HOPS
        && let Some((f, args)) = split_call(e)
    {
        match f.as_str() {
            "concat" => return args.iter().flat_map(|a| pieces(a, var, hops + 1)).collect(),
            // Bicep's compiled names: `format('{0}/{1}', parameters('vm'), 'msi')`.
            "format" if !args.is_empty() => {
                if let Some(f) = whole_literal(args[0].trim()) {
                    return formatted(&f, &args[1..], var, hops + 1);
                }
            }
            "variables" if args.len() == 1 => {
                if let Some(v) = whole_literal(args[0].trim()).and_then(|n| var(&n)) {
                    return pieces_of_string(&v, var, hops + 1);
                }
            }
            _ => {}
        }
    }
    vec![Piece::Atom(normalize(e))]
}

/// The pieces of `format(f, args...)`: `{n}` stands for argument `n`, `{{`/`}}` for braces.
fn formatted(
    f: &str,
    args: &[&str],
    var: &dyn Fn(&str) -> Option<String>,
    hops: usize,
) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                let mut spec = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    spec.push(d);
                }
                let index = spec
                    .split([':', ','])
                    .next()
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                match index.and_then(|k| args.get(k)) {
                    Some(a) => out.extend(pieces(a, var, hops)),
                    None => out.push(Piece::Atom(normalize(&spec))),
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

fn normalize(e: &str) -> String {
    e.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Name segments: literal text split at `/`, opaque pieces kept whole as `{piece}`.
fn segments(p: &[Piece]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for piece in p {
        match piece {
            Piece::Lit(l) => {
                let mut parts = l.split('/');
                cur.push_str(&parts.next().unwrap_or("").to_ascii_lowercase());
                for part in parts {
                    out.push(std::mem::take(&mut cur));
                    cur.push_str(&part.to_ascii_lowercase());
                }
            }
            Piece::Atom(a) => {
                cur.push('{');
                cur.push_str(a);
                cur.push('}');
            }
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// `'it''s'` → `it's` when the whole of `e` is one literal.
fn whole_literal(e: &str) -> Option<String> {
    let b = e.as_bytes();
    if b.len() < 2 || b[0] != b'\'' || b[b.len() - 1] != b'\'' {
        return None;
    }
    let inner = &e[1..e.len() - 1];
    // A lone quote inside means two literals (`'a' , 'b'`), not one.
    let mut chars = inner.chars().peekable();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// `f(a, b)` → (`f` lower-case, [`a`, `b`]) when the call spans all of `e`.
pub(super) fn split_call(e: &str) -> Option<(String, Vec<&str>)> {
    let e = e.trim();
    let open = e.find('(')?;
    let name = e[..open].trim();
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return None;
    }
    let b = e.as_bytes();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut args = Vec::new();
    let mut start = open + 1;
    let mut k = open;
    while k < b.len() {
        let c = b[k];
        if in_str {
            if c == b'\'' {
                if b.get(k + 1) == Some(&b'\'') {
                    k += 1;
                } else {
                    in_str = false;
                }
            }
        } else {
            match c {
                b'\'' => in_str = true,
                b'(' | b'[' => depth += 1,
                b')' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        if k != b.len() - 1 {
                            return None;
                        }
                        let last = e[start..k].trim();
                        if !last.is_empty() || !args.is_empty() {
                            args.push(last);
                        }
                        return Some((name.to_ascii_lowercase(), args));
                    }
                }
                b',' if depth == 1 => {
                    args.push(e[start..k].trim());
                    start = k + 1;
                }
                _ => {}
            }
        }
        k += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refer(text: &str, entry: &str) -> Named {
        let doc = jsonc::parse(text, false).unwrap();
        let r = Resources::new(&doc, text);
        r.reference(doc.root, entry)
    }

    #[test]
    fn reference_forms_name_the_same_segments() {
        let t = r#"{"variables": {"vm": "[parameters('vmName')]"}, "resources": []}"#;
        let a = refer(t, "[concat(parameters('vmName'), '/msi')]");
        let b = refer(
            t,
            "[resourceId('Microsoft.Compute/virtualMachines/extensions', parameters('vmName'), 'MSI')]",
        );
        let c = refer(
            t,
            "[concat('Microsoft.Compute/virtualMachines/', variables('vm'), '/extensions/msi')]",
        );
        assert_eq!(a.segs, vec!["{parameters('vmname')}", "msi"]);
        assert_eq!(b.segs, a.segs);
        assert_eq!(c.segs, a.segs);
        let formatted = refer(t, "[format('{0}/{1}', parameters('vmName'), 'msi')]");
        assert_eq!(formatted.segs, a.segs);
        assert_eq!(
            b.ty.as_deref(),
            Some("microsoft.compute/virtualmachines/extensions")
        );
        assert_eq!(c.ty, b.ty);
    }

    #[test]
    fn graph_has_explicit_implicit_and_copy_edges() {
        let t = r#"{"resources": [
          {"type": "Microsoft.Compute/virtualMachines", "name": "[concat('vm', copyIndex())]",
           "copy": {"name": "vms", "count": 2},
           "resources": [{"type": "extensions", "name": "msi"}]},
          {"type": "Microsoft.Compute/virtualMachines/extensions", "name": "[concat('vm', copyIndex(), '/cse')]",
           "copy": {"name": "cses", "count": 2}},
          {"type": "Microsoft.Network/lb", "name": "lb", "dependsOn": ["vms"]}
        ]}"#;
        let doc = jsonc::parse(t, false).unwrap();
        let r = Resources::new(&doc, t);
        let g = &r.graph;
        let vm = 0;
        assert_eq!(g.len(), 4);
        assert_eq!(r.parent(1), Some(vm), "nested child of its VM");
        assert_eq!(r.parent(2), Some(vm), "child of its VM by name");
        assert!(
            g.deps(1).is_empty() && g.deps(2).is_empty(),
            "neither is scheduled after it"
        );
        assert_eq!(g.deps(3), &[vm], "copy name stands for the loop");
    }
}

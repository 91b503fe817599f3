//! Bicep's deployment order: `resource` and `module` declarations (nested child resources too)
//! and what each refers to — `dependsOn` entries, `parent:`, `vm.id`, `'${vm.name}/msi'` — since
//! Bicep turns every reference into a dependency, and a nested child deploys after its parent.

use std::collections::HashMap;

use super::lex;
use crate::{
    analyzers::terraform::{graph::Decls, syntax::Tree},
    fix::order::Graph,
};

/// The file's declarations as a graph.
pub fn build(text: &str) -> Graph {
    let tree = Tree::new(text, lex(text));
    decls(&tree).graph
}

/// Declarations keyed by symbolic name.
pub(super) fn decls(t: &Tree) -> Decls {
    let mut out = Vec::new();
    let mut named: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for i in 0..t.len() {
        if !(t.is_word(i, "resource") || t.is_word(i, "module")) || !(i == 0 || t.toks[i].nl) {
            continue;
        }
        if t.toks.get(i + 1).is_none_or(|x| x.k != super::K::Word) {
            continue;
        }
        // The body: the first `{` or `[` at the declaration's own level after its `=`.
        let level = t.parent[i];
        let Some(eq) = (i + 2..t.len().min(i + 8)).find(|&k| t.is(k, b'=')) else {
            continue;
        };
        let mut k = eq + 1;
        while k < t.len() && !(t.parent[k] == level && (t.is(k, b'{') || t.is(k, b'['))) {
            if t.toks[k].nl && k > eq + 1 && t.parent[k] == level {
                break;
            }
            k = t.skip(k).max(k + 1);
        }
        if k >= t.len() || !(t.is(k, b'{') || t.is(k, b'[')) || !t.closed(k) {
            continue;
        }
        out.push((t.src(i + 1).to_owned(), i, t.close[k]));
        named.push((t.src(i + 1).to_owned(), resource_type(t, i), name_of(t, k)));
    }
    let mut d = Decls::new(t, &out, |w| {
        vec![w.split('.').next().unwrap_or(w).to_owned()]
    });
    // A child named `'${vmName}/msi'` without `parent:` is not scheduled after the VM named
    // `vmName`, but cannot exist before it: an implicit edge, as in ARM.
    let mut by_name: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (sym, ty, name) in &named {
        if let (Some(ty), Some(name)) = (ty, name) {
            by_name
                .entry((ty.clone(), name.clone()))
                .or_default()
                .push(sym.clone());
        }
    }
    for (sym, ty, name) in &named {
        let (Some(ty), Some(name)) = (ty, name) else {
            continue;
        };
        let (Some((pty, _)), Some((head, _))) = (ty.rsplit_once('/'), name.split_once('/')) else {
            continue;
        };
        let head = head
            .strip_prefix("${")
            .and_then(|h| h.strip_suffix('}'))
            .map_or_else(|| format!("'{head}'"), str::to_owned);
        if let Some([parent]) = by_name.get(&(pty.to_owned(), head)).map(Vec::as_slice)
            && let (Some(c), Some(p)) = (d.graph.find(sym), d.graph.find(parent))
        {
            d.graph.implicit_edge(c, p);
        }
    }
    d
}

/// `microsoft.compute/virtualmachines/extensions` of `resource x '...@version'`.
fn resource_type(t: &Tree, i: usize) -> Option<String> {
    let raw = t.src(i + 2);
    let ty = raw.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(ty.split('@').next()?.to_ascii_lowercase())
}

/// A declaration's `name:` as written: `vmName` for a word, `'vm01'` for a literal, the
/// inside of an interpolated string (`${vmName}/msi`).
fn name_of(t: &Tree, open: usize) -> Option<String> {
    if !t.is(open, b'{') {
        return None;
    }
    let members = t.members(open + 1, t.close[open].min(t.len()), b":", false);
    let m = members.iter().find(|m| t.is_word(m.key, "name"))?;
    if m.value.len() != 1 {
        return None;
    }
    let raw = t.src(m.value.start);
    let inner = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
    Some(match inner {
        Some(s) if s.contains('/') => s.to_owned(),
        _ => raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_references_and_depends_on_are_edges() {
        let t = "resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: 'vm'\n  resource msi 'extensions' = {\n    name: 'msi'\n  }\n}\nresource top 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: '${vm.name}/cse'\n}\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  dependsOn: [\n    top\n  ]\n}\n";
        let g = build(t);
        let n = |k: &str| g.find(k).unwrap();
        assert_eq!(g.deps(n("msi")), &[n("vm")]);
        assert!(g.deps(n("vm")).is_empty(), "the child's tokens are its own");
        assert_eq!(g.deps(n("top")), &[n("vm")]);
        assert_eq!(g.deps(n("ra")), &[n("top")]);
        let by_param = "param vmName string\nresource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: vmName\n}\nresource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: '${vmName}/msi'\n}\n";
        let g = build(by_param);
        let (vm, ext) = (g.find("vm").unwrap(), g.find("ext").unwrap());
        assert!(g.deps(ext).is_empty(), "a name alone schedules nothing");
        let mut g = g;
        let x = g.node("x", "x");
        g.edge(x, ext);
        assert!(
            g.reaches_within(x, vm, 4),
            "what waits for the child waits for its VM"
        );
    }
}

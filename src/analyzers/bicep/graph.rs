//! Bicep's deployment order: `resource` and `module` declarations (nested child resources too)
//! and what each refers to — `dependsOn` entries, `parent:`, `vm.id`, `'${vm.name}/msi'` — since
//! Bicep turns every reference into a dependency, and a nested child deploys after its parent.

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
    }
    Decls::new(t, &out, |w| {
        vec![w.split('.').next().unwrap_or(w).to_owned()]
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
    }
}

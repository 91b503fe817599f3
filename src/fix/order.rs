//! Deployment order across a fix: a file's resources as a dependency graph, and the rule every
//! infrastructure-as-code fix keeps — if resource A deployed after B before the fix, it still
//! does after (for every pair of resources that remain).
//!
//! Graphs are built by each language's analyzer (`arm::graph`, `bicep::graph`,
//! `terraform::graph`); this module only compares them, in time linear in the graph for the
//! usual shapes: each remaining resource is checked against the remaining resources it reached
//! through removed ones, and a search of the new graph runs only when no direct edge answers.

use std::{
    collections::{HashMap, HashSet},
    ops::Range,
};

use super::apply::apply_fixes;
use crate::{
    analyzers::{arm, bicep, terraform},
    finding::Fix,
    kind::FileKind,
};

/// Resources and the resources each deploys after.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// Keys identify a resource across a fix: built from what the fix does not change (its
    /// scope, type and name as written), never from byte offsets.
    keys: Vec<String>,
    /// How messages name the resource (its name as written in the file).
    labels: Vec<String>,
    /// `after[a]`: the nodes `a` is scheduled after (what the deployment engine orders on).
    after: Vec<Vec<usize>>,
    /// `implicit[a]`: nodes `a` cannot exist before, though nothing schedules it after them (an
    /// ARM child and its parent). They never order `a` itself, which may race them; but what
    /// waits for `a` waits, through it, for them too.
    implicit: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
}

/// A pair whose order a fix would lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The resource that deployed after `before`.
    pub later: String,
    pub earlier: String,
    /// Keys of the removed resources the order went through (empty: an edge between two
    /// remaining resources was lost).
    pub through: Vec<String>,
    /// Key of `later`, for attribution to the fix that edited it.
    pub later_key: String,
}

impl Broken {
    /// The reason given in the finding when its fix is withheld.
    pub fn reason(&self) -> String {
        format!(
            "removing it would let `{}` deploy before `{}`, which it waits for today",
            self.later, self.earlier
        )
    }
}

impl Graph {
    /// Adds a node (or returns the existing node with that key).
    pub fn node(&mut self, key: &str, label: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.keys.len();
        self.keys.push(key.to_owned());
        self.labels.push(label.to_owned());
        self.after.push(Vec::new());
        self.implicit.push(Vec::new());
        self.index.insert(key.to_owned(), i);
        i
    }

    /// `later` deploys after `earlier`.
    pub fn edge(&mut self, later: usize, earlier: usize) {
        if later != earlier && !self.after[later].contains(&earlier) {
            self.after[later].push(earlier);
        }
    }

    /// `later` cannot exist before `earlier`, though nothing schedules it after.
    pub fn implicit_edge(&mut self, later: usize, earlier: usize) {
        if later != earlier && !self.implicit[later].contains(&earlier) {
            self.implicit[later].push(earlier);
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn key(&self, i: usize) -> &str {
        &self.keys[i]
    }

    pub fn find(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The nodes `i` deploys after, directly.
    pub fn deps(&self, i: usize) -> &[usize] {
        &self.after[i]
    }

    /// The nodes `i` cannot exist before (its parent), though nothing schedules it after them.
    pub fn implicit_deps(&self, i: usize) -> &[usize] {
        &self.implicit[i]
    }

    /// Whether `from` deploys after `to`, directly or through at most `budget` visited nodes
    /// (a bounded search: callers use it to avoid redundant entries, never to decide safety).
    pub fn reaches_within(&self, from: usize, to: usize, budget: usize) -> bool {
        let mut seen = HashSet::new();
        let mut stack = self.after[from].clone();
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if !seen.insert(n) || seen.len() > budget {
                continue;
            }
            stack.extend(self.after[n].iter().copied());
            stack.extend(self.implicit[n].iter().copied());
        }
        false
    }
}

/// Checks the ordering rule from `before` to `after`. Nodes of `before` absent from `after`
/// were removed by the fix; orders that went through them must survive by other edges.
pub fn check(before: &Graph, after: &Graph) -> Result<(), Vec<Broken>> {
    let n = before.len();
    let map: Vec<Option<usize>> = before.keys.iter().map(|k| after.find(k)).collect();
    let mut broken = Vec::new();
    // Stamps instead of fresh sets: one allocation for the whole check.
    let mut seen = vec![usize::MAX; n];
    let mut after_seen = vec![usize::MAX; after.len()];
    for a in 0..n {
        let Some(a2) = map[a] else { continue };
        // The remaining nodes `a` reached through removed ones (or directly), and which removed
        // nodes it went through.
        let mut targets: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut through = Vec::new();
        let mut stack: Vec<usize> = before.after[a].clone();
        seen[a] = a;
        while let Some(x) = stack.pop() {
            if seen[x] == a {
                continue;
            }
            seen[x] = a;
            if map[x].is_some() {
                targets.push((x, through.clone()));
            } else {
                through.push(x);
                stack.extend(before.after[x].iter().copied());
                stack.extend(before.implicit[x].iter().copied());
            }
        }
        let mut searched = false;
        for (y, via) in targets {
            let Some(y2) = map[y] else { continue };
            if after.after[a2].contains(&y2) {
                continue;
            }
            if !searched {
                // Every node `a2` deploys after in the new graph, once.
                let mut stack = after.after[a2].clone();
                while let Some(x) = stack.pop() {
                    if after_seen[x] == a2 {
                        continue;
                    }
                    after_seen[x] = a2;
                    stack.extend(after.after[x].iter().copied());
                    stack.extend(after.implicit[x].iter().copied());
                }
                searched = true;
            }
            if after_seen[y2] != a2 {
                broken.push(Broken {
                    later: before.labels[a].clone(),
                    earlier: before.labels[y].clone(),
                    through: via.iter().map(|&v| before.keys[v].clone()).collect(),
                    later_key: before.keys[a].clone(),
                });
            }
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(broken)
    }
}

/// Rounds of "withhold the fixes that broke the order, check again" before giving up.
const MAX_ROUNDS: usize = 8;

/// What an analyzer tells [`keep_order`] about its file.
pub struct Subject<'s> {
    /// The text the fixes' edits apply to.
    pub text: &'s str,
    pub before: &'s Graph,
    /// The graph of a text, or `None` when it no longer parses.
    pub build: &'s dyn Fn(&str) -> Option<Graph>,
    /// Per fix: the key of the node it removes, if any.
    pub removes: &'s [Option<String>],
    /// The byte range of a node of `before`, by key (where edits to its dependencies fall).
    pub span_of: &'s dyn Fn(&str) -> Option<Range<usize>>,
}

/// Applies every fix together, as `fix` will, and withholds (turns into a reason) those that
/// would leave the text unparseable or break the ordering rule. One build of the fixed text
/// when nothing breaks, so thousands of fixes stay linear.
pub fn keep_order(s: &Subject, fixes: &mut [Result<Fix, String>]) {
    for _ in 0..MAX_ROUNDS {
        let idx: Vec<usize> = (0..fixes.len()).filter(|&k| fixes[k].is_ok()).collect();
        let refs: Vec<&Fix> = idx.iter().filter_map(|&k| fixes[k].as_ref().ok()).collect();
        if refs.is_empty() {
            return;
        }
        let (after_text, taken) = apply_fixes(s.text, &refs, false);
        let taken: Vec<usize> = taken.into_iter().map(|t| idx[t]).collect();
        let Some(after) = (s.build)(&after_text) else {
            // Rare: find the fixes that break the parse on their own.
            let mut any = false;
            for &k in &taken {
                if let Ok(f) = &fixes[k]
                    && (s.build)(&apply_fixes(s.text, &[f], false).0).is_none()
                {
                    fixes[k] = Err("the edit would leave the file unparseable".to_owned());
                    any = true;
                }
            }
            if !any {
                for &k in &taken {
                    fixes[k] = Err(
                        "the edits of this file together would leave it unparseable".to_owned()
                    );
                }
            }
            continue;
        };
        let Err(broken) = check(s.before, &after) else {
            return;
        };
        let mut blamed = false;
        for b in &broken {
            let later = (s.span_of)(&b.later_key);
            for &k in &taken {
                let Ok(f) = &fixes[k] else { continue };
                let removes = s.removes[k]
                    .as_ref()
                    .is_some_and(|key| b.through.contains(key));
                let edits_later = later.as_ref().is_some_and(|l| {
                    f.edits
                        .iter()
                        .any(|e| l.start <= e.range.start && e.range.end <= l.end)
                });
                if removes || edits_later {
                    fixes[k] = Err(b.reason());
                    blamed = true;
                }
            }
        }
        if !blamed {
            for &k in &taken {
                fixes[k] = Err(broken[0].reason());
            }
        }
    }
    for f in fixes.iter_mut().filter(|f| f.is_ok()) {
        *f = Err("its removal could not be proven to keep the deployment order".to_owned());
    }
}

/// The graph of a file of `kind`, when the kind has deployment order and the text parses.
pub fn graph_of(kind: FileKind, text: &str) -> Option<Graph> {
    match kind {
        FileKind::Arm | FileKind::Json => arm::graph::build(text),
        FileKind::Bicep => Some(bicep::graph::build(text)),
        FileKind::Terraform => Some(terraform::graph::build(text)),
        _ => None,
    }
}

/// The last gate before writing, beside [`super::verify::check`]: the fixed text of the whole
/// file keeps every deployment order. Analyzers already withhold fixes that would break it one
/// by one; this catches what their fixes do together.
pub fn verify(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    let Some(g0) = graph_of(kind, before) else {
        return Ok(());
    };
    let Some(g1) = graph_of(kind, after) else {
        return Ok(());
    };
    verify_graphs(&g0, &g1)
}

/// [`verify`] for graphs already built.
pub fn verify_graphs(g0: &Graph, g1: &Graph) -> Result<(), String> {
    check(g0, g1).map_err(|b| {
        format!(
            "not rewritten: the fixes together would lose a deployment order ({})",
            b[0].reason()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)], nodes: &[&str]) -> Graph {
        let mut g = Graph::default();
        for n in nodes {
            g.node(n, n);
        }
        for (a, b) in edges {
            let (a, b) = (g.node(a, a), g.node(b, b));
            g.edge(a, b);
        }
        g
    }

    #[test]
    fn order_through_a_removed_node_must_survive() {
        let before = graph(&[("cse", "msi"), ("msi", "vm")], &[]);
        let lost = graph(&[], &["cse", "vm"]);
        let err = check(&before, &lost).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].later, "cse");
        assert_eq!(err[0].earlier, "vm");
        assert_eq!(err[0].through, vec!["msi".to_owned()]);
        let kept = graph(&[("cse", "vm")], &[]);
        assert!(check(&before, &kept).is_ok());
        // Transitively is enough.
        let before = graph(&[("cse", "msi"), ("msi", "vm"), ("cse", "nic")], &[]);
        let after = graph(&[("cse", "nic"), ("nic", "vm")], &[]);
        assert!(check(&before, &after).is_ok());
    }

    #[test]
    fn a_removed_child_passes_on_its_parent() {
        let mut before = graph(&[("cse", "msi")], &["vm"]);
        let (msi, vm, cse) = (before.node("msi", "msi"), before.node("vm", "vm"), 2);
        before.implicit_edge(msi, vm);
        // The remaining child's own implicit edge does not schedule it.
        before.implicit_edge(cse, vm);
        let mut after = graph(&[], &["cse", "vm"]);
        after.implicit_edge(0, 1);
        assert!(check(&before, &after).is_err());
        assert!(check(&before, &graph(&[("cse", "vm")], &[])).is_ok());
        // Waiting for another child of the VM is waiting for the VM.
        let mut after = graph(&[("cse", "other")], &["vm"]);
        let (other, vm) = (after.node("other", "other"), after.node("vm", "vm"));
        after.implicit_edge(other, vm);
        assert!(check(&before, &after).is_ok());
    }

    #[test]
    fn a_lost_edge_between_remaining_nodes_is_broken() {
        let before = graph(&[("a", "b")], &[]);
        let after = graph(&[], &["a", "b"]);
        let err = check(&before, &after).unwrap_err();
        assert!(err[0].through.is_empty());
        assert!(err[0].reason().contains("`a` deploy before `b`"));
    }
}

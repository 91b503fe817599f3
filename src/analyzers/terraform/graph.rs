//! Deployment order in Terraform (and, through the same token trees, Bicep): every top-level
//! declaration is a node, and it is ordered after each declaration its body refers to —
//! `depends_on`/`dependsOn` entries, attribute references (`azurerm_linux_virtual_machine.vm.id`,
//! `vm.id`, `parent: vm`) and interpolations (`${vm.name}`) alike, since both tools schedule on
//! every reference. Also the list rewrite that passes a removed declaration's place on.

use std::ops::Range;

use super::{
    hcl,
    syntax::{self, K, Tok, Tree},
};
use crate::{
    finding::{Edit, Fix},
    fix::order::{self, Graph},
};

/// The configuration of `text` as a graph.
pub fn build(text: &str) -> Graph {
    let tree = Tree::new(text, hcl::lex(text));
    Decls::terraform(&tree).graph
}

/// Top-level declarations, their token ranges and the graph of their references.
pub(crate) struct Decls {
    pub graph: Graph,
    /// (first token, last token, node), in text order.
    spans: Vec<(usize, usize, usize)>,
    /// Per span: the span it is nested in, or `usize::MAX`.
    outer: Vec<usize>,
    /// Nodes the file's fixes remove: never passed on, never counted as kept.
    pub gone: Vec<usize>,
}

impl Decls {
    /// `resource "t" "n"` → `t.n`, `data "t" "n"` → `data.t.n`, `module "n"` → `module.n`.
    pub fn terraform(tree: &Tree) -> Self {
        let top = tree.members(0, tree.len(), b"=", true);
        let mut decls = Vec::new();
        for m in &top {
            let Some(open) = m.block else { continue };
            let labels: Vec<String> = m.value.clone().filter_map(|i| label(tree, i)).collect();
            let address = match (tree.src(m.key), labels.as_slice()) {
                ("resource", [t, n]) => format!("{t}.{n}"),
                ("data", [t, n]) => format!("data.{t}.{n}"),
                ("module", [n]) => format!("module.{n}"),
                _ => continue,
            };
            decls.push((address, open, tree.close[open].min(tree.len() - 1)));
        }
        Self::new(tree, &decls, |s| {
            // `a.b.c[0].d` names `a.b`, `data.a.b` or `module.a`: every prefix is tried.
            let parts: Vec<&str> = s.split(['.', '[']).take(3).collect();
            let mut out = Vec::new();
            if parts.len() >= 2 {
                out.push(format!("{}.{}", parts[0], parts[1]));
            }
            if parts.len() >= 3 {
                out.push(format!("{}.{}.{}", parts[0], parts[1], parts[2]));
            }
            out
        })
    }

    /// Nodes keyed by `decls`' names (token ranges may nest: a Bicep child resource inside its
    /// parent's body is its own node, ordered after the parent); `names(word)` gives the names a
    /// word may refer to. Object keys (`name:`) and string text outside `${...}` refer to nothing,
    /// except a string that is one whole name (Terraform 0.11's quoted `depends_on`).
    pub fn new(
        tree: &Tree,
        decls: &[(String, usize, usize)],
        names: impl Fn(&str) -> Vec<String>,
    ) -> Self {
        let mut graph = Graph::default();
        let mut spans = Vec::new();
        for (key, first, last) in decls {
            let node = graph.node(key, key);
            spans.push((*first, *last, node));
        }
        spans.sort_unstable();
        let mut outer = vec![usize::MAX; spans.len()];
        let mut stack: Vec<usize> = Vec::new();
        for k in 0..spans.len() {
            while stack.last().is_some_and(|&o| spans[o].1 < spans[k].0) {
                stack.pop();
            }
            if let Some(&o) = stack.last() {
                outer[k] = o;
            }
            stack.push(k);
        }
        let mut d = Decls {
            graph,
            spans,
            outer,
            gone: Vec::new(),
        };
        // Each token belongs to its innermost declaration: children's ranges are skipped, so
        // the walk is linear however deep declarations nest.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); d.spans.len()];
        for k in 0..d.spans.len() {
            if d.outer[k] != usize::MAX {
                children[d.outer[k]].push(k);
            }
        }
        let end = tree.len().saturating_sub(1);
        for (k, kids) in children.iter().enumerate() {
            let (first, last, node) = d.spans[k];
            if d.outer[k] != usize::MAX {
                let parent = d.spans[d.outer[k]].2;
                d.graph.edge(node, parent);
            }
            let mut next_child = kids.iter().peekable();
            let mut i = first;
            while i <= last.min(end) {
                if let Some(&&c) = next_child.peek()
                    && d.spans[c].0 <= i
                {
                    i = d.spans[c].1 + 1;
                    next_child.next();
                    continue;
                }
                for w in words(tree, i) {
                    for n in names(w) {
                        if let Some(target) = d.graph.find(&n) {
                            d.graph.edge(node, target);
                        }
                    }
                }
                i += 1;
            }
        }
        d
    }

    /// The index (into `spans`) of the innermost declaration holding token `i`.
    fn innermost(&self, i: usize) -> Option<usize> {
        let mut k = self.spans.partition_point(|s| s.0 <= i).checked_sub(1)?;
        loop {
            if self.spans[k].1 >= i {
                return Some(k);
            }
            k = *self.outer.get(k).filter(|&&o| o != usize::MAX)?;
        }
    }

    /// The byte range of the declaration keyed `key`.
    pub fn span_of(&self, tree: &Tree, key: &str) -> Option<Range<usize>> {
        let node = self.graph.find(key)?;
        let &(first, last, _) = self.spans.iter().find(|s| s.2 == node)?;
        Some(tree.span(first, last))
    }

    /// The declaration holding token `i`.
    pub fn at(&self, i: usize) -> Option<usize> {
        self.innermost(i).map(|k| self.spans[k].2)
    }

    /// What `removed` was ordered after and `referrer` is not yet (beyond `removed` itself),
    /// as the names to write into the referrer's list.
    pub fn passed_on(&self, removed: usize, referrer: usize) -> Vec<String> {
        let g = &self.graph;
        let gone = &self.gone;
        let kept: Vec<usize> = g
            .deps(referrer)
            .iter()
            .copied()
            .filter(|d| *d != removed && !gone.contains(d))
            .collect();
        // Its parent counts even when only its name ties it (Bicep's `'${vmName}/msi'`).
        g.deps(removed)
            .iter()
            .chain(g.implicit_deps(removed))
            .copied()
            .filter(|&t| {
                t != referrer
                    && !gone.contains(&t)
                    && !kept
                        .iter()
                        .any(|&k| k == t || g.reaches_within(k, t, REACH_BUDGET))
            })
            .map(|t| g.key(t).to_owned())
            .collect()
    }
}

/// Edits to the dependency lists naming a removed declaration.
pub(crate) struct PassedOn {
    pub edits: Vec<Edit>,
    /// Byte ranges of the lists touched: references there are handled, not left dangling.
    pub lists: Vec<Range<usize>>,
    /// Whether any entry was replaced rather than only removed.
    pub rerouted: bool,
}

impl Decls {
    /// The `depends_on`/`dependsOn` lists at `keys` (outside `skip`) naming declaration `key`
    /// (`is_ref` picks the elements): each such entry becomes what the declaration waited for
    /// and the list's owner does not yet; a list left empty goes with its key.
    pub fn pass_on_depends(
        &self,
        tree: &Tree,
        keys: impl IntoIterator<Item = usize>,
        nl_sep: bool,
        skip: &Range<usize>,
        key: &str,
        is_ref: &dyn Fn(usize) -> bool,
    ) -> PassedOn {
        let removed = self.graph.find(key);
        let mut out = PassedOn {
            edits: Vec::new(),
            lists: Vec::new(),
            rerouted: false,
        };
        for i in keys {
            let open = i + 2;
            if skip.contains(&tree.toks[i].s) || !tree.closed(open) {
                continue;
            }
            let add = match (removed, self.at(i)) {
                (Some(r), Some(referrer)) => self.passed_on(r, referrer),
                _ => Vec::new(),
            };
            out.rerouted |= !add.is_empty();
            out.lists.push(tree.span(open, tree.close[open]));
            match reroute_list(tree, open, nl_sep, is_ref, &add) {
                Some(e) => out.edits.extend(e),
                None => out.edits.push(tree.remove(i, tree.close[open])),
            }
        }
        out
    }
}

impl Decls {
    /// Withholds the fixes that together would break this file's deployment order.
    /// `graph_of` builds a fixed text's graph from its tokens; `removes[k]` is the declaration
    /// fix `k` removes. A file that did not balance before is no reason to refuse (as
    /// `fix::verify`).
    pub fn keep_order(
        &self,
        tree: &Tree,
        lex: fn(&str) -> Vec<Tok>,
        graph_of: fn(&Tree) -> Graph,
        removes: &[Option<String>],
        fixes: &mut [Result<Fix, String>],
    ) {
        let was_balanced = syntax::balanced(tree);
        let build = |text: &str| {
            let after = Tree::new(text, lex(text));
            (!was_balanced || syntax::balanced(&after)).then(|| graph_of(&after))
        };
        let span_of = |key: &str| self.span_of(tree, key);
        order::keep_order(
            &order::Subject {
                text: tree.text,
                before: &self.graph,
                build: &build,
                removes,
                span_of: &span_of,
            },
            fixes,
        );
    }
}

/// How far "does the referrer already wait for it" looks; a miss only adds a redundant entry.
const REACH_BUDGET: usize = 64;

/// What token `i` may refer to: a word that is not an object key, or the `${...}` parts of a
/// string (and the string itself when it is a single word).
fn words<'a>(tree: &Tree<'a>, i: usize) -> Vec<&'a str> {
    let t = tree.toks[i];
    let s = tree.src(i);
    match t.k {
        K::Word => {
            // `name:` is an object key; `vm::child` names the child, which follows its parent.
            if tree.is(i + 1, b':') {
                Vec::new()
            } else {
                vec![s]
            }
        }
        K::Str | K::Heredoc => {
            let mut out = Vec::new();
            let inner = s.trim_matches(['"', '\'']);
            // Only a dotted address: a plain quoted word is text, not a reference.
            if inner.contains('.')
                && inner
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
            {
                out.push(inner);
            }
            let mut rest = s;
            while let Some(p) = rest.find("${") {
                let after = &rest[p + 2..];
                let end = after.find('}').unwrap_or(after.len());
                out.extend(
                    after[..end]
                        .split(|c: char| {
                            !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                        })
                        .filter(|w| !w.is_empty()),
                );
                rest = &after[end..];
            }
            out
        }
        _ => Vec::new(),
    }
}

fn label(tree: &Tree, i: usize) -> Option<String> {
    match tree.toks[i].k {
        K::Str => hcl::literal(tree.src(i)),
        K::Word => Some(tree.src(i).to_owned()),
        _ => None,
    }
}

/// Edits for the list opened at `open`: the elements `is_ref` picks go, the first of them
/// replaced by `add` (one per line, or inline, as the list is written). `None` when every
/// element goes and there is nothing to add: the caller removes the attribute.
pub(crate) fn reroute_list(
    tree: &Tree,
    open: usize,
    nl_sep: bool,
    is_ref: &dyn Fn(usize) -> bool,
    add: &[String],
) -> Option<Vec<Edit>> {
    let els = tree.elements(open, nl_sep);
    let first = els.iter().find(|&&(f, _)| is_ref(f)).copied();
    let (Some((f, l)), false) = (first, add.is_empty()) else {
        return tree.remove_elements(open, nl_sep, |f, _| is_ref(f));
    };
    let span: Range<usize> = tree.span(f, l);
    let b = tree.text.as_bytes();
    let line = b[..span.start]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let indent = &tree.text[line..span.start];
    let own_line = indent.bytes().all(|c| c == b' ' || c == b'\t');
    let sep = match (own_line, nl_sep) {
        (true, true) => format!("\n{indent}"),
        (true, false) => format!(",\n{indent}"),
        (false, _) => ", ".to_owned(),
    };
    let mut edits = vec![Edit::replacement(span, add.join(&sep))];
    if let Some(rest) = tree.remove_elements(open, nl_sep, |x, _| x != f && is_ref(x)) {
        edits.extend(rest);
    }
    Some(edits)
}

/// The elements of the list opened at `open` as (source text, lower-case literal).
pub(crate) fn list_entries(
    tree: &Tree,
    open: usize,
    nl_sep: bool,
    lit: &dyn Fn(usize) -> Option<String>,
) -> Vec<(String, String)> {
    if !tree.is(open, b'[') || !tree.closed(open) {
        return Vec::new();
    }
    tree.elements(open, nl_sep)
        .into_iter()
        .filter_map(|(f, l)| {
            let v = lit(f)?.to_ascii_lowercase();
            Some((tree.text[tree.span(f, l)].to_owned(), v))
        })
        .collect()
}

/// `provisionAfterExtensions` lists (of `keys`, outside `skip`) naming a removed extension:
/// its name becomes the removed extension's own list (`own`), minus what each list already
/// names, so the extensions after it stay after what it waited for.
pub(crate) fn pass_on_lists(
    tree: &Tree,
    keys: impl IntoIterator<Item = usize>,
    nl_sep: bool,
    skip: &Range<usize>,
    is_ref: &dyn Fn(usize) -> bool,
    own: &[(String, String)],
    lit: &dyn Fn(usize) -> Option<String>,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    for i in keys {
        let open = i + 2;
        if skip.contains(&tree.toks[i].s) || !tree.closed(open) {
            continue;
        }
        let els = tree.elements(open, nl_sep);
        if !els.iter().any(|&(f, _)| is_ref(f)) {
            continue;
        }
        let present: Vec<String> = els
            .iter()
            .filter(|&&(f, _)| !is_ref(f))
            .filter_map(|&(f, _)| lit(f).map(|v| v.to_ascii_lowercase()))
            .collect();
        let mut add: Vec<String> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (raw, v) in own {
            if !present.contains(v) && !seen.contains(&v.as_str()) {
                seen.push(v);
                add.push(raw.clone());
            }
        }
        match reroute_list(tree, open, nl_sep, is_ref, &add) {
            Some(e) => edits.extend(e),
            None => edits.push(tree.remove(i, tree.close[open])),
        }
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_depends_on_are_edges() {
        let t = r#"
resource "azurerm_linux_virtual_machine" "vm" { name = "vm" }
resource "azurerm_virtual_machine_extension" "msi" {
  virtual_machine_id = azurerm_linux_virtual_machine.vm.id
}
resource "azurerm_role_assignment" "ra" {
  principal_id = "${data.azurerm_client_config.c.object_id}"
  depends_on   = ["azurerm_virtual_machine_extension.msi"]
}
data "azurerm_client_config" "c" {}
"#;
        let g = build(t);
        let n = |k: &str| g.find(k).unwrap();
        assert_eq!(
            g.deps(n("azurerm_virtual_machine_extension.msi")),
            &[n("azurerm_linux_virtual_machine.vm")]
        );
        let mut ra = g.deps(n("azurerm_role_assignment.ra")).to_vec();
        ra.sort_unstable();
        assert_eq!(
            ra,
            vec![
                n("azurerm_virtual_machine_extension.msi"),
                n("data.azurerm_client_config.c")
            ]
        );
    }
}

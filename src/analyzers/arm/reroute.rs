//! Keeping the deployment order when an extension goes: a `dependsOn` (or
//! `provisionAfterExtensions`) entry naming the removed extension is replaced by what the
//! extension itself waited for — its own entries and its parent VM or scale set — minus what
//! the referrer already waits for; then every fix of the file is checked together against the
//! ordering rule ([`crate::fix::order`]) and any that would break it is withheld with the reason.

use std::collections::{HashMap, HashSet};

use super::{Found, Tree, edits, graph, jsonc, name_segment};
use crate::{
    finding::{Edit, Fix},
    fix::{apply::apply_fixes, order},
};

/// How far "does the referrer already wait for it" searches: enough for real templates, and
/// bounded so that thousands of referrers stay linear. A miss only adds a redundant entry.
const REACH_BUDGET: usize = 64;

/// Which reference-array elements name which finding, found once per file.
#[derive(Default)]
pub(super) struct Plan {
    /// Per finding: (array, its elements naming the finding, sorted).
    pub hits: Vec<Vec<(usize, Vec<usize>)>>,
    /// Per array: (element, finding) for every element naming a finding.
    by_array: HashMap<usize, Vec<(usize, usize)>>,
    /// Graph node of each finding's object → the finding.
    finding_of: HashMap<usize, usize>,
}

/// A fix's edits to reference lists, the ranges it removes and the entries it adds.
pub(super) type ReferenceEdits = (Vec<Edit>, Vec<std::ops::Range<usize>>, Vec<String>);

/// One entry the removed extension waited for.
struct Cand {
    /// The JSON string as it will be written (quotes included).
    text: String,
    targets: Vec<usize>,
}

impl<'a> Tree<'a> {
    pub(super) fn resources(&self) -> &graph::Resources<'a> {
        self.resources
            .get_or_init(|| graph::Resources::new(self.doc, self.text))
    }

    fn is_after_list(&self, arr: usize) -> bool {
        self.doc
            .key_of(arr)
            .is_some_and(|k| k.eq_ignore_ascii_case("provisionAfterExtensions"))
    }

    /// The resource (or profile entry) a reference array belongs to.
    fn referrer(&self, arr: usize) -> Option<usize> {
        let holder = self.parent(arr)?;
        let obj = if self.is_after_list(arr) {
            self.parent(holder)?
        } else {
            holder
        };
        self.resources().node_of(obj)
    }

    pub(super) fn plan(&self, found: &[Found]) -> Plan {
        let res = self.resources();
        let finding_of: HashMap<usize, usize> = found
            .iter()
            .enumerate()
            .filter_map(|(k, f)| res.node_of(f.object).map(|n| (n, k)))
            .collect();
        let mut by_segment: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, f) in found.iter().enumerate() {
            if let Some(seg) = self.segment(f) {
                by_segment
                    .entry(seg.to_ascii_lowercase())
                    .or_default()
                    .push(k);
            }
        }
        let mut spans: Vec<std::ops::Range<usize>> = found
            .iter()
            .map(|f| self.doc.node(f.object).span.clone())
            .collect();
        spans.sort_by_key(|r| r.start);
        let in_found = |pos: usize| {
            let k = spans.partition_point(|r| r.start <= pos);
            k > 0 && spans[..k].iter().rev().take(4).any(|r| r.contains(&pos))
        };
        let mut plan = Plan {
            hits: (0..found.len()).map(|_| Vec::new()).collect(),
            by_array: HashMap::new(),
            finding_of: HashMap::new(),
        };
        for arr in 0..self.doc.nodes.len() {
            let is_list = self.doc.key_of(arr).is_some_and(|k| {
                k.eq_ignore_ascii_case("dependsOn")
                    || k.eq_ignore_ascii_case("provisionAfterExtensions")
            });
            if !is_list || in_found(self.doc.node(arr).span.start) {
                continue;
            }
            let after = self.is_after_list(arr);
            let owner = self.referrer(arr);
            let mut per: HashMap<usize, Vec<usize>> = HashMap::new();
            for (idx, e) in self.doc.elements(arr).iter().enumerate() {
                let Some(s) = self.doc.str(e.value) else {
                    continue;
                };
                let targets = match owner {
                    Some(o) if after => res.sibling_extensions(o, s),
                    Some(o) => res.resolve(o, s),
                    None => Vec::new(),
                };
                let named: Vec<usize> = if targets.is_empty() {
                    // Not resolved to a resource of this file: the name's last segment decides,
                    // as it did before resources were resolved.
                    self.named_by_segment(arr, s, after, found, &by_segment)
                } else {
                    targets
                        .iter()
                        .filter_map(|t| finding_of.get(t).copied())
                        .collect()
                };
                // An entry naming several extensions (duplicates, which ARM refuses anyway) is
                // edited by one fix only, so that the fixes never overlap.
                if let Some(&k) = named.iter().min() {
                    per.entry(k).or_default().push(idx);
                    plan.by_array.entry(arr).or_default().push((idx, k));
                }
            }
            let mut per: Vec<(usize, Vec<usize>)> = per.into_iter().collect();
            per.sort_unstable();
            for (k, elems) in per {
                plan.hits[k].push((arr, elems));
            }
        }
        for v in plan.by_array.values_mut() {
            v.sort_unstable();
        }
        plan.finding_of = finding_of;
        plan
    }

    fn named_by_segment(
        &self,
        arr: usize,
        s: &str,
        after: bool,
        found: &[Found],
        by_segment: &HashMap<String, Vec<usize>>,
    ) -> Vec<usize> {
        let r = self.resolver(arr);
        let seg = if after {
            Some(s.to_owned())
        } else {
            name_segment(s, &r)
        };
        let Some(seg) = seg else {
            return Vec::new();
        };
        let Some(ks) = by_segment.get(&seg.to_ascii_lowercase()) else {
            return Vec::new();
        };
        ks.iter()
            .copied()
            .filter(|&k| {
                let f = &found[k];
                let Some(name_expr) = f.name_expr.as_deref() else {
                    return false;
                };
                let Some(own) = self.segment(f) else {
                    return false;
                };
                if after {
                    return s.eq_ignore_ascii_case(&own) || s.eq_ignore_ascii_case(name_expr);
                }
                let symbolic = self
                    .parent(f.object)
                    .filter(|&p| self.doc.is_object(p))
                    .and_then(|_| self.doc.key_of(f.object));
                symbolic == Some(s) || self.names_extension(arr, s, &own, name_expr)
            })
            .collect()
    }

    /// What finding `k`'s extension waited for, as entries for a list of kind `after`.
    fn preds(
        &self,
        k: usize,
        found: &[Found],
        plan: &Plan,
        after: bool,
        depth: usize,
    ) -> Result<Vec<Cand>, String> {
        let res = self.resources();
        let obj = found[k].object;
        let Some(e) = res.node_of(obj) else {
            return Ok(Vec::new());
        };
        let list = if after {
            self.doc
                .get(obj, "properties")
                .and_then(|p| self.doc.get(p, "provisionAfterExtensions"))
        } else {
            self.doc.get(obj, "dependsOn")
        };
        let finding_of = |n: usize| plan.finding_of.get(&n).copied().filter(|&g| g != k);
        let mut out: Vec<Cand> = Vec::new();
        for el in list.map(|l| self.doc.elements(l)).unwrap_or_default() {
            let Some(s) = self.doc.str(el.value) else {
                continue;
            };
            let targets = if after {
                res.sibling_extensions(e, s)
            } else {
                res.resolve(e, s)
            };
            // It waited for another removed extension: what that one waited for, then.
            let via: Vec<usize> = targets.iter().filter_map(|&t| finding_of(t)).collect();
            if !via.is_empty() && depth < 4 {
                for g in via {
                    out.extend(self.preds(g, found, plan, after, depth + 1)?);
                }
                continue;
            }
            let span = self.doc.node(el.value).span.clone();
            out.push(Cand {
                text: self.text[span].to_owned(),
                targets,
            });
        }
        if !after
            && let Some(p) = res.parent(e)
            && !out
                .iter()
                .flat_map(|c| &c.targets)
                .any(|&t| t == p || res.graph.reaches_within(t, p, REACH_BUDGET))
        {
            out.push(Cand {
                text: self.reference_to(p)?,
                targets: vec![p],
            });
        }
        Ok(out)
    }

    /// A `dependsOn` entry naming resource `p`: `resourceId('<type>', <name>)` as written.
    fn reference_to(&self, p: usize) -> Result<String, String> {
        let res = self.resources();
        let obj = res.object(p);
        // Symbolic-name templates (languageVersion 2.0) depend on symbols.
        if let Some(sym) = self
            .parent(obj)
            .filter(|&c| self.doc.is_object(c))
            .and_then(|_| self.doc.key_of(obj))
        {
            return Ok(format!("\"{sym}\""));
        }
        let raw = |key: &str| {
            self.doc.get(obj, key).and_then(|v| {
                let span = self.doc.node(v).span.clone();
                self.text
                    .get(span.start + 1..span.end.saturating_sub(1))
                    .filter(|_| self.doc.str(v).is_some())
            })
        };
        let Some(name) = raw("name") else {
            return Err("its parent resource has no name to depend on".to_owned());
        };
        let ty = raw("type").filter(|t| !t.starts_with('[') && t.contains('/'));
        let arg = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(inner) if !inner.starts_with('[') => inner.trim().to_owned(),
            _ => format!("'{}'", name.replace('\'', "''")),
        };
        Ok(match ty {
            Some(ty) if res.parent(p).is_none() => format!("\"[resourceId('{ty}', {arg})]\""),
            _ => format!("\"{name}\""),
        })
    }

    /// The entries to write in place of finding `k`'s elements of `arr`, minus what the
    /// referrer already waits for. `Err` when the order cannot be expressed there.
    fn replacement(
        &self,
        k: usize,
        found: &[Found],
        plan: &Plan,
        arr: usize,
        elems: &[usize],
    ) -> Result<Vec<String>, String> {
        let res = self.resources();
        let after = self.is_after_list(arr);
        let (Some(r), Some(e)) = (self.referrer(arr), res.node_of(found[k].object)) else {
            return Ok(Vec::new());
        };
        let hit: HashSet<usize> = plan
            .by_array
            .get(&arr)
            .into_iter()
            .flatten()
            .map(|&(i, _)| i)
            .collect();
        let mut kept_texts: HashSet<String> = HashSet::new();
        // Only what is scheduled counts: ARM does not order a child after its parent by itself.
        let mut kept: Vec<usize> = Vec::new();
        for (i, el) in self.doc.elements(arr).iter().enumerate() {
            let Some(s) = self.doc.str(el.value) else {
                continue;
            };
            if hit.contains(&i) {
                continue;
            }
            kept_texts.insert(normal(&self.text[self.doc.node(el.value).span.clone()]));
            kept.extend(if after {
                res.sibling_extensions(r, s)
            } else {
                res.resolve(r, s)
            });
        }
        // An earlier element naming another removed extension passes on its own entries (or
        // stays, and keeps the order itself): either way they are covered.
        let first = elems.first().copied().unwrap_or(0);
        for &(i, g) in plan.by_array.get(&arr).into_iter().flatten() {
            if i < first && g != k {
                for c in self.preds(g, found, plan, after, 0).unwrap_or_default() {
                    kept_texts.insert(normal(&c.text));
                    kept.extend(c.targets);
                }
            }
        }
        let covered = |t: usize| {
            t == r
                || kept.contains(&t)
                || kept.iter().any(|&c| {
                    !plan.finding_of.contains_key(&c)
                        && res.graph.reaches_within(c, t, REACH_BUDGET)
                })
        };
        let mut out: Vec<String> = Vec::new();
        for c in self.preds(k, found, plan, after, 0)? {
            if kept_texts.contains(&normal(&c.text))
                || (!c.targets.is_empty() && c.targets.iter().all(|&t| covered(t)))
            {
                continue;
            }
            let mut text = c.text;
            if text.to_ascii_lowercase().contains("copyindex(") && res.copy(r) != res.copy(e) {
                // The entry counts on the extension's own loop; the whole loop stands for it.
                match c.targets.as_slice() {
                    [t] if res.copy_name(*t).is_some() => {
                        text = format!("\"{}\"", res.copy_name(*t).unwrap_or_default());
                    }
                    _ => {
                        return Err(format!(
                            "what depends on it waits, through it, for {text}, which uses copyIndex() of a loop the dependent resource is not in; rewrite that dependsOn by hand"
                        ));
                    }
                }
            }
            if !kept_texts.contains(&normal(&text))
                && !out.iter().any(|o| normal(o) == normal(&text))
            {
                out.push(text);
            }
        }
        Ok(out)
    }

    /// The edits for finding `k`'s references, each replaced by what the extension waited for.
    /// Returns the edits, the ranges removed and the entries added (for the cleanup of
    /// variables: those the added entries name stay).
    pub(super) fn reference_edits(
        &self,
        k: usize,
        found: &[Found],
        plan: &Plan,
    ) -> Result<ReferenceEdits, String> {
        let mut out = Vec::new();
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for (arr, elems) in &plan.hits[k] {
            let (arr, elems) = (*arr, elems.as_slice());
            let els = self.doc.elements(arr);
            removed.extend(
                elems
                    .iter()
                    .map(|&i| self.doc.node(els[i].value).span.clone()),
            );
            let texts = self.replacement(k, found, plan, arr, elems)?;
            let items = self.items_of(arr);
            if texts.is_empty() {
                let span = &self.doc.node(arr).span;
                let inner = span.start + 1..span.end - 1;
                out.extend(edits::remove_items(
                    self.parsed,
                    &items,
                    elems,
                    None,
                    Some(inner),
                ));
                continue;
            }
            let first = self.doc.node(els[elems[0]].value).span.clone();
            let b = self.parsed.as_bytes();
            let line = b[..first.start]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let indent = &self.parsed[line..first.start];
            let sep = if indent.bytes().all(|c| c == b' ' || c == b'\t') {
                format!(",\n{indent}")
            } else {
                ", ".to_owned()
            };
            out.push(Edit::replacement(first, texts.join(&sep)));
            added.extend(texts);
            out.extend(edits::remove_items(
                self.parsed,
                &items,
                &elems[1..],
                None,
                None,
            ));
        }
        Ok((out, removed, added))
    }

    /// Withholds the fixes that together would break the parse or the deployment order.
    pub(super) fn keep_order(&self, found: &[Found], fixes: &mut [Result<Fix, String>]) {
        let res = self.resources();
        let removes: Vec<Option<String>> = found
            .iter()
            .map(|f| res.node_of(f.object).map(|n| res.graph.key(n).to_owned()))
            .collect();
        let fragment = self.fragment;
        let build = |t: &str| {
            jsonc::parse(t, fragment)
                .ok()
                .map(|doc| graph::Resources::new(&doc, t).graph)
        };
        let span_of = |key: &str| {
            res.graph
                .find(key)
                .map(|n| self.doc.node(res.object(n)).span.clone())
        };
        order::keep_order(
            &order::Subject {
                text: self.parsed,
                before: &res.graph,
                build: &build,
                removes: &removes,
                span_of: &span_of,
            },
            fixes,
        );
        let idx: Vec<usize> = (0..fixes.len()).filter(|&k| fixes[k].is_ok()).collect();
        self.drop_breaking_cleanup(&idx, fixes);
    }

    /// Cleanup edits (unused variables, parameters) that together break the parse are dropped.
    fn drop_breaking_cleanup(&self, idx: &[usize], fixes: &mut [Result<Fix, String>]) {
        let refs: Vec<&Fix> = idx.iter().filter_map(|&k| fixes[k].as_ref().ok()).collect();
        if refs.iter().all(|f| f.cleanup.is_empty()) {
            return;
        }
        let (text, _) = apply_fixes(self.parsed, &refs, true);
        if jsonc::parse(&text, self.fragment).is_err() {
            for &k in idx {
                if let Ok(f) = &mut fixes[k] {
                    f.cleanup.clear();
                }
            }
        }
    }
}

/// Entries compare without whitespace and case (`"[ resourceId(...) ]"` is the same entry).
fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

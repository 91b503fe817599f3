//! Removal fixes of ARM findings: the extension entry and its references, the variables and
//! parameters only it used, and the `createArray`/`concat`/`union` arguments that inject it.

use std::{
    collections::{BTreeSet, HashMap},
    ops::Range,
};

use super::{
    Found, GO_MARKUP, Tree,
    edits::{self, Item},
    jsonc::Value,
    name_segment, ref_re, reroute, template,
};
use crate::finding::{Edit, Fix};

impl Tree<'_> {
    pub(super) fn items_of(&self, container: usize) -> Vec<Item> {
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

    pub(super) fn index_in_parent(&self, i: usize) -> Option<(usize, usize)> {
        let p = self.parent(i)?;
        Some((p, self.doc.node(i).slot))
    }

    pub(super) fn remove_from_parent(&self, i: usize) -> Vec<Edit> {
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
    pub(super) fn names_extension(&self, at: usize, s: &str, seg: &str, name_expr: &str) -> bool {
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

    pub(super) fn removal_fix(
        &self,
        k: usize,
        found: &[Found],
        plan: &reroute::Plan,
    ) -> Result<Fix, String> {
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
    pub(super) fn fragment_has_control(&self, edits: &[Edit]) -> bool {
        self.text.len() != self.parsed.len()
            || edits.iter().any(|e| {
                self.text
                    .get(e.range.clone())
                    .is_none_or(template::has_control)
            })
    }

    /// Edits removing variables and parameters that only the removed text referred to (`added`
    /// is text the fix writes elsewhere, whose references stay).
    pub(super) fn cleanup(&self, at: usize, removed: &[Range<usize>], added: &str) -> Vec<Edit> {
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
    pub(super) fn variable_fix(&self, f: &Found) -> Result<Fix, String> {
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

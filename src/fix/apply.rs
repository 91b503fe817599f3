//! Applying fixes to a text: sorted by start, non-overlapping; a fix that overlaps one already
//! taken waits for the next pass.

use std::collections::BTreeSet;

use crate::finding::Fix;

/// The text after applying every fix of `fixes` that does not overlap an earlier one, and the
/// indices (into `fixes`) of the fixes applied.
pub fn apply_fixes(text: &str, fixes: &[&Fix], unsafe_fixes: bool) -> (String, Vec<usize>) {
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by_key(|&i| (fixes[i].range().start, fixes[i].range().end));
    let mut taken: Vec<usize> = Vec::new();
    let mut edits = Vec::new();
    // Edits taken so far, by (start, end): they never overlap one another, so an edit can only
    // clash with its neighbours in this order. Thousands of fixes cost a few lookups each.
    let mut placed: BTreeSet<(usize, usize)> = BTreeSet::new();
    // Fixes are compared edit by edit, not by their overall range, so two fixes that interleave
    // without touching (a resource and a dependsOn elsewhere) both apply in one pass.
    for i in order {
        let own = fixes[i].edits_for(unsafe_fixes);
        let clashes = own.iter().any(|e| clashes_with(&placed, &e.range));
        let in_bounds = own.iter().all(|e| {
            e.range.end <= text.len()
                && text.is_char_boundary(e.range.start)
                && text.is_char_boundary(e.range.end)
        });
        if clashes || !in_bounds {
            continue;
        }
        placed.extend(own.iter().map(|e| (e.range.start, e.range.end)));
        edits.extend(own);
        taken.push(i);
    }
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in edits {
        out.push_str(&text[last..e.range.start]);
        out.push_str(&e.content);
        last = e.range.end;
    }
    out.push_str(&text[last..]);
    taken.sort_unstable();
    (out, taken)
}

/// Whether `r` overlaps an edit of `placed`: the one starting before it, or those starting
/// inside it (the first such one decides, since they do not overlap one another).
fn clashes_with(placed: &BTreeSet<(usize, usize)>, r: &std::ops::Range<usize>) -> bool {
    let before = placed.range(..(r.start, 0)).next_back();
    if before.is_some_and(|&(s, e)| overlaps(&(s..e), r)) {
        return true;
    }
    placed
        .range((r.start, 0)..=(r.end, usize::MAX))
        .any(|&(s, e)| overlaps(&(s..e), r))
}

/// Ranges overlap when they share a byte, or when both are the same insertion point, or an
/// insertion sits strictly inside a replaced range.
fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Edit, Fix};

    #[test]
    fn applies_non_overlapping_and_defers_the_rest() {
        let text = "0123456789";
        let a = Fix::safe("a", vec![Edit::deletion(1..3)]).unwrap();
        let b = Fix::safe("b", vec![Edit::replacement(2..4, "X")]).unwrap();
        let c = Fix::safe("c", vec![Edit::insertion(9, "Y"), Edit::deletion(5..6)]).unwrap();
        let (out, taken) = apply_fixes(text, &[&a, &b, &c], false);
        assert_eq!(out, "034678Y9");
        assert_eq!(taken, vec![0, 2]);
    }
}

//! Token trees and line-aware removals shared by the Terraform and Bicep analyzers.
//!
//! Both languages are lexed into a flat token list; brackets are matched with an explicit stack
//! (never recursion), so 100,000 nested `{` cost memory, not stack. Removals are computed from
//! token positions and the raw text so that every byte outside them stays identical.

use std::{collections::HashMap, ops::Range};

use crate::finding::Edit;

pub(crate) const NONE: usize = usize::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum K {
    /// Identifiers, traversals (`var.x`, `vm.id`), numbers and keywords.
    Word,
    /// A whole quoted string, interpolations included.
    Str,
    /// A whole heredoc or multi-line string.
    Heredoc,
    /// A multi-character operator (`==`, `=>`...), kept apart so `=` alone means assignment.
    Op,
    P(u8),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    pub k: K,
    pub s: usize,
    pub e: usize,
    /// A line break (outside comments' own text) comes between the previous token and this one.
    pub nl: bool,
}

impl Tok {
    pub fn is(&self, c: u8) -> bool {
        self.k == K::P(c)
    }
    pub fn is_open(&self) -> bool {
        matches!(self.k, K::P(b'{' | b'[' | b'('))
    }
}

pub(crate) struct Tree<'a> {
    pub text: &'a str,
    pub toks: Vec<Tok>,
    /// For an opening bracket: the index of its closing bracket, or `toks.len()` if unclosed.
    pub close: Vec<usize>,
    /// The innermost opening bracket enclosing each token, or [`NONE`].
    pub parent: Vec<usize>,
}

impl<'a> Tree<'a> {
    pub fn new(text: &'a str, toks: Vec<Tok>) -> Self {
        let n = toks.len();
        let mut close = vec![NONE; n];
        let mut parent = vec![NONE; n];
        let mut stack: Vec<usize> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            parent[i] = stack.last().copied().unwrap_or(NONE);
            if t.is_open() {
                close[i] = n;
                stack.push(i);
                continue;
            }
            let opener = match t.k {
                K::P(b'}') => b'{',
                K::P(b']') => b'[',
                K::P(b')') => b'(',
                _ => continue,
            };
            // A closer matching one of the few innermost groups closes it, leaving the groups
            // opened inside it unclosed (a missing `)` must not swallow the rest of the file);
            // any other closer is stray and ignored. The bounded look-back keeps this linear.
            if let Some(depth) = stack.iter().rev().take(3).position(|&o| toks[o].is(opener)) {
                let top = stack[stack.len() - 1 - depth];
                stack.truncate(stack.len() - 1 - depth);
                close[top] = i;
            }
        }
        Tree {
            text,
            toks,
            close,
            parent,
        }
    }

    pub fn len(&self) -> usize {
        self.toks.len()
    }

    pub fn src(&self, i: usize) -> &'a str {
        let t = &self.toks[i];
        &self.text[t.s..t.e]
    }

    pub fn is(&self, i: usize, c: u8) -> bool {
        i < self.toks.len() && self.toks[i].is(c)
    }

    pub fn is_word(&self, i: usize, w: &str) -> bool {
        i < self.toks.len() && self.toks[i].k == K::Word && self.src(i) == w
    }

    /// True when the group opened at `i` has its closing bracket.
    pub fn closed(&self, i: usize) -> bool {
        self.close[i] < self.toks.len()
    }

    /// The index after the token or group starting at `i`.
    pub fn skip(&self, i: usize) -> usize {
        if self.toks[i].is_open() {
            self.close[i].saturating_add(1).min(self.toks.len())
        } else {
            i + 1
        }
    }

    /// The end of a value starting at `j` inside `..hi`: a value ends at a line break, a comma or
    /// a closing bracket outside its own groups.
    pub fn value_end(&self, j: usize, hi: usize) -> usize {
        let mut k = j;
        while k < hi {
            let t = &self.toks[k];
            if k > j && (t.nl || t.is(b',')) {
                break;
            }
            if matches!(t.k, K::P(b'}' | b']' | b')')) {
                break;
            }
            k = self.skip(k).min(hi);
        }
        k
    }

    /// Members of an object or block body between token indices `lo..hi`: `key = value`
    /// or `key: value` attributes (`assign` lists the separators) and, with `blocks`,
    /// HCL blocks `type "label" {`.
    pub fn members(&self, lo: usize, hi: usize, assign: &[u8], blocks: bool) -> Vec<Member> {
        let mut out = Vec::new();
        let mut i = lo;
        while i < hi {
            let t = self.toks[i];
            if matches!(t.k, K::Word | K::Str) {
                if i + 1 < hi && assign.iter().any(|&a| self.is(i + 1, a)) {
                    let end = self.value_end(i + 2, hi);
                    if end > i + 2 {
                        out.push(Member {
                            key: i,
                            first: i,
                            last: end - 1,
                            block: None,
                            value: i + 2..end,
                        });
                        i = end;
                        continue;
                    }
                }
                if blocks && t.k == K::Word {
                    let mut j = i + 1;
                    while j < hi && matches!(self.toks[j].k, K::Word | K::Str) && !self.toks[j].nl {
                        j += 1;
                    }
                    if j < hi && self.toks[j].is(b'{') && !self.toks[j].nl {
                        let c = self.close[j].min(hi);
                        out.push(Member {
                            key: i,
                            first: i,
                            last: if c < hi { c } else { hi - 1 },
                            block: Some(j),
                            value: i + 1..j,
                        });
                        i = if c < hi { c + 1 } else { hi };
                        continue;
                    }
                }
            }
            i = self.skip(i).min(hi).max(i + 1);
        }
        out
    }

    /// Elements of a list whose brackets are `open`'s group: comma-separated, and with `nl_sep`
    /// also line-separated (Bicep). Returned as inclusive token index ranges.
    pub fn elements(&self, open: usize, nl_sep: bool) -> Vec<(usize, usize)> {
        let hi = self.close[open].min(self.toks.len());
        let mut out = Vec::new();
        let mut i = open + 1;
        while i < hi {
            if self.toks[i].is(b',') {
                i += 1;
                continue;
            }
            let first = i;
            let mut k = i;
            while k < hi {
                let t = &self.toks[k];
                if t.is(b',') || (nl_sep && k > first && t.nl) {
                    break;
                }
                k = self.skip(k).min(hi).max(k + 1);
            }
            out.push((first, k - 1));
            i = k;
        }
        out
    }

    /// Byte range of tokens `first..=last`.
    pub fn span(&self, first: usize, last: usize) -> Range<usize> {
        self.toks[first].s..self.toks[last].e
    }

    /// Deletion of tokens `first..=last` as whole lines when nothing else shares their lines
    /// (one following comma and a trailing line comment go with them), else inline with one
    /// adjacent comma.
    pub fn remove(&self, first: usize, last: usize) -> Edit {
        let (r, whole) = self.remove_raw(first, last);
        if whole {
            Edit::deletion(whole_lines(self.text.as_bytes(), r.start, r.end))
        } else {
            Edit::deletion(r)
        }
    }

    /// Like [`Tree::remove`] without the blank-line tidying; `true` when the range is whole lines.
    pub fn remove_raw(&self, first: usize, last: usize) -> (Range<usize>, bool) {
        let b = self.text.as_bytes();
        let s = self.toks[first].s;
        let mut last = last;
        if self.is(last + 1, b',') && !self.toks[last + 1].nl {
            last += 1;
        }
        let e = self.toks[last].e;
        let ls = line_start(b, s);
        let after = end_of_line_rest(b, e);
        if b[ls..s].iter().all(|c| *c == b' ' || *c == b'\t')
            && let Some(le) = after
        {
            return (ls..le, true);
        }
        if self.is(last, b',') {
            return (s..skip_spaces(b, e), false);
        }
        if first > 0 && self.is(first - 1, b',') {
            return (self.toks[first - 1].s..e, false);
        }
        (s..e, false)
    }

    /// Edits removing the elements of `open`'s list for which `drop` holds. `None` when every
    /// element goes: the caller removes the whole attribute instead of leaving `[]`.
    pub fn remove_elements(
        &self,
        open: usize,
        nl_sep: bool,
        drop: impl Fn(usize, usize) -> bool,
    ) -> Option<Vec<Edit>> {
        let els = self.elements(open, nl_sep);
        let gone: Vec<bool> = els.iter().map(|&(f, l)| drop(f, l)).collect();
        if els.is_empty() || gone.iter().all(|g| *g) {
            return None;
        }
        let b = self.text.as_bytes();
        let mut edits = Vec::new();
        let mut i = 0;
        while i < els.len() {
            if !gone[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < els.len() && gone[j + 1] {
                j += 1;
            }
            let (first, _) = els[i];
            if j + 1 < els.len() {
                // Up to the next kept element: whole lines when both start their own lines.
                let next = self.toks[els[j + 1].0].s;
                let s = self.toks[first].s;
                let (ls, ln) = (line_start(b, s), line_start(b, next));
                let own_line =
                    |p: usize, l: usize| b[l..p].iter().all(|c| *c == b' ' || *c == b'\t');
                if ls != ln && own_line(s, ls) && own_line(next, ln) {
                    edits.push(Edit::deletion(ls..ln));
                } else {
                    edits.push(Edit::deletion(s..next));
                }
            } else {
                // The tail of the list: from the end of the last kept element, so its comma goes.
                let prev_end = self.toks[els[i - 1].1].e;
                let mut last = els[j].1;
                if self.is(last + 1, b',') {
                    last += 1;
                }
                edits.push(Edit::deletion(prev_end..self.toks[last].e));
            }
            i = j + 1;
        }
        Some(edits)
    }
}

impl Tree<'_> {
    /// Every `key <assign> [ ... ]` list, indexed by what `element` says each element names:
    /// lets each finding reach the lists naming it without rescanning the file.
    pub fn list_index(
        &self,
        key: &str,
        assign: u8,
        nl_sep: bool,
        element: impl Fn(usize) -> Option<String>,
    ) -> HashMap<String, Vec<usize>> {
        let mut map: HashMap<String, Vec<usize>> = HashMap::new();
        for i in 0..self.len() {
            if !self.is_word(i, key) || !self.is(i + 1, assign) || !self.is(i + 2, b'[') {
                continue;
            }
            for (f, _) in self.elements(i + 2, nl_sep) {
                if let Some(name) = element(f) {
                    let keys = map.entry(name).or_default();
                    if keys.last() != Some(&i) {
                        keys.push(i);
                    }
                }
            }
        }
        map
    }
}

/// Where each name is used, so that "is it used outside these ranges" costs the uses of that
/// name, not a scan of the file.
#[derive(Default)]
pub(crate) struct Uses {
    by_name: HashMap<String, Vec<usize>>,
    /// (offset, name), sorted by offset.
    sorted: Vec<(usize, String)>,
}

impl Uses {
    pub fn add(&mut self, name: &str, at: usize) {
        self.by_name.entry(name.to_owned()).or_default().push(at);
        self.sorted.push((at, name.to_owned()));
    }

    pub fn finish(&mut self) {
        for v in self.by_name.values_mut() {
            v.sort_unstable();
        }
        self.sorted.sort_unstable();
    }

    /// Uses are recorded in text order, so counting those inside the (merged) skipped ranges
    /// costs a few binary searches however often the name is used.
    pub fn used_outside(&self, name: &str, skip: &[&Range<usize>]) -> bool {
        let Some(uses) = self.by_name.get(name) else {
            return false;
        };
        let mut ranges: Vec<Range<usize>> = skip.iter().map(|r| (*r).clone()).collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let inside: usize = merged
            .iter()
            .map(|r| uses.partition_point(|p| *p < r.end) - uses.partition_point(|p| *p < r.start))
            .sum();
        inside < uses.len()
    }

    /// Names used inside `r`, each once.
    pub fn names_in(&self, r: &Range<usize>) -> Vec<&str> {
        let lo = self.sorted.partition_point(|(p, _)| *p < r.start);
        let hi = self.sorted.partition_point(|(p, _)| *p < r.end);
        let mut names: Vec<&str> = self.sorted[lo..hi]
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub key: usize,
    pub first: usize,
    /// Inclusive.
    pub last: usize,
    /// For a block: its `{`.
    pub block: Option<usize>,
    /// Attribute: the value's tokens. Block: its labels.
    pub value: Range<usize>,
}

/// True when `pos` lies in one of `sorted` (ranges sorted by start, not nested).
pub(crate) fn covered(sorted: &[Range<usize>], pos: usize) -> bool {
    let i = sorted.partition_point(|r| r.start <= pos);
    i > 0 && sorted[i - 1].contains(&pos)
}

/// The length of a BOM or no-break space at `i` (pasted from documents), else 0: lexers treat
/// them as blanks so they cannot glue onto a keyword.
pub(crate) fn unicode_space(b: &[u8], i: usize) -> usize {
    let rest = &b[i..];
    if rest.starts_with(&[0xEF, 0xBB, 0xBF]) || rest.starts_with(&[0xE2, 0x80, 0xAF]) {
        3
    } else if rest.starts_with(&[0xC2, 0xA0]) {
        2
    } else {
        0
    }
}

pub(crate) fn line_start(b: &[u8], p: usize) -> usize {
    memchr::memrchr(b'\n', &b[..p]).map_or(0, |i| i + 1)
}

fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && (b[p] == b' ' || b[p] == b'\t') {
        p += 1;
    }
    p
}

/// After `p`: when only blanks and a line comment remain on the line, the offset after its line
/// break (or the end of the text).
fn end_of_line_rest(b: &[u8], p: usize) -> Option<usize> {
    let p = skip_spaces(b, p);
    let rest_is_comment = b[p..].starts_with(b"#") || b[p..].starts_with(b"//");
    if p == b.len() {
        return Some(p);
    }
    if b[p] == b'\n' || b[p] == b'\r' || rest_is_comment {
        return Some(memchr::memchr(b'\n', &b[p..]).map_or(b.len(), |i| p + i + 1));
    }
    None
}

fn is_blank_line(b: &[u8], s: usize) -> Option<usize> {
    let mut p = s;
    while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\r') {
        p += 1;
    }
    if p < b.len() && b[p] == b'\n' {
        Some(p + 1)
    } else {
        None
    }
}

/// Lines `ls..le`, plus one adjacent blank line when removal would otherwise leave two blank
/// lines in a row, a blank line right inside a bracket, or a blank last line.
pub(crate) fn whole_lines(b: &[u8], ls: usize, le: usize) -> Range<usize> {
    let prev = (ls > 0).then(|| line_start(b, ls - 1));
    let prev_blank = prev.is_some_and(|p| is_blank_line(b, p).is_some());
    let prev_opens =
        prev.is_some_and(|p| matches!(b[p..ls].trim_ascii_end().last(), Some(b'{' | b'[' | b'(')));
    let next_end = memchr::memchr(b'\n', &b[le..]).map_or(b.len(), |i| le + i);
    let next_closes = matches!(
        b[le..next_end].trim_ascii_start().first(),
        Some(b'}' | b']' | b')')
    );
    if (prev_blank || prev.is_none() || prev_opens)
        && let Some(next) = is_blank_line(b, le)
    {
        return ls..next;
    }
    if let Some(p) = prev
        && prev_blank
        && (le == b.len() || next_closes)
    {
        return p..le;
    }
    ls..le
}

/// Final ranges for several findings' removals (from [`Tree::remove_raw`], any order). Whole-line
/// removals separated only by blank lines form a group: together they leave the text exactly as
/// one removal of the group would, and each alone still leaves tidy blank lines.
pub(crate) fn grouped_removals(text: &str, raws: &[(Range<usize>, bool)]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out: Vec<Range<usize>> = raws.iter().map(|(r, _)| r.clone()).collect();
    let mut order: Vec<usize> = (0..raws.len()).filter(|&i| raws[i].1).collect();
    order.sort_by_key(|&i| raws[i].0.start);
    let mut g = 0;
    while g < order.len() {
        let mut h = g;
        while h + 1 < order.len() {
            let (prev, next) = (&raws[order[h]].0, &raws[order[h + 1]].0);
            if prev.end > next.start || !b[prev.end..next.start].iter().all(u8::is_ascii_whitespace)
            {
                break;
            }
            h += 1;
        }
        let union = whole_lines(b, raws[order[g]].0.start, raws[order[h]].0.end);
        for k in g..=h {
            let own = &raws[order[k]].0;
            let start = if k == g {
                union.start.min(own.start)
            } else {
                own.start
            };
            let end = if k == h {
                union.end.max(own.end)
            } else {
                raws[order[k + 1]].0.start
            };
            out[order[k]] = start..end;
        }
        g = h + 1;
    }
    out
}

/// Merges deletions of one fix that only whitespace separates, then widens the result like
/// [`whole_lines`], so that adjacent removals do not leave the blank lines each one kept.
pub(crate) fn tidy(text: &str, mut edits: Vec<Edit>) -> Vec<Edit> {
    let b = text.as_bytes();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        if let Some(last) = out.last_mut()
            && last.content.is_empty()
            && e.content.is_empty()
            && last.range.end <= e.range.start
            && b[last.range.end..e.range.start]
                .iter()
                .all(u8::is_ascii_whitespace)
            && at_line_start(b, last.range.start)
            && at_line_start(b, e.range.end)
        {
            last.range.end = e.range.end;
            let r = whole_lines(b, last.range.start, last.range.end);
            last.range = r.start.min(last.range.start)..r.end.max(last.range.end);
            continue;
        }
        out.push(e);
    }
    out
}

fn at_line_start(b: &[u8], p: usize) -> bool {
    p == 0 || p == b.len() || b[p - 1] == b'\n'
}

/// The end of the `quote`-delimited string starting at `i`, for HCL templates and Bicep strings.
/// An opener in `openers` followed by `{` starts an interpolation, which may nest strings and
/// braces; a mode stack follows them without recursion. With `doubled_escape`, a doubled opener
/// (`$${`) is literal text. A raw line break ends the string, so one unbalanced quote cannot
/// swallow the rest of the file.
pub(crate) fn interpolated_string_end(
    b: &[u8],
    i: usize,
    quote: u8,
    openers: &[u8],
    doubled_escape: bool,
) -> usize {
    // `0` = inside quotes; `d > 0` = inside an interpolation, `d` braces deep.
    let mut stack: Vec<u32> = vec![0];
    let mut j = i + 1;
    while j < b.len() {
        let c = b[j];
        let Some(top) = stack.last_mut() else { break };
        if *top == 0 {
            match c {
                b'\\' => j += 1,
                b'\n' => return j,
                _ if c == quote => {
                    stack.pop();
                    if stack.is_empty() {
                        return j + 1;
                    }
                }
                _ if openers.contains(&c)
                    && doubled_escape
                    && b.get(j + 1) == Some(&c)
                    && b.get(j + 2) == Some(&b'{') =>
                {
                    j += 2;
                }
                _ if openers.contains(&c) && b.get(j + 1) == Some(&b'{') => {
                    stack.push(1);
                    j += 1;
                }
                _ => {}
            }
        } else {
            match c {
                b'{' => *top += 1,
                b'}' => {
                    *top -= 1;
                    if *top == 0 {
                        stack.pop();
                    }
                }
                _ if c == quote => stack.push(0),
                _ => {}
            }
        }
        j += 1;
    }
    b.len().min(j)
}

/// True when brackets outside strings and comments balance: the fix engine's check that a fix
/// left the file well-formed.
pub(crate) fn balanced(tree: &Tree) -> bool {
    let mut depth: Vec<u8> = Vec::new();
    for t in &tree.toks {
        match t.k {
            K::P(c @ (b'{' | b'[' | b'(')) => depth.push(c),
            K::P(c @ (b'}' | b']' | b')')) => {
                let want = match c {
                    b'}' => b'{',
                    b']' => b'[',
                    _ => b'(',
                };
                if depth.pop() != Some(want) {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth.is_empty()
}

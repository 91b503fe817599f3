//! Removing items from JSON containers: the item, exactly one separating comma, and the whole
//! lines it stood on, so that no blank line is left and neighbours stay byte-identical.

use std::ops::Range;

use crate::finding::Edit;

/// One member or element: its span and the comma that follows it.
#[derive(Clone, Debug)]
pub struct Item {
    pub span: Range<usize>,
    pub comma_after: Option<usize>,
}

fn line_start(b: &[u8], pos: usize) -> usize {
    b[..pos]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1)
}

/// Only spaces and tabs between the start of the line and `pos`.
fn alone_before(b: &[u8], pos: usize) -> bool {
    b[line_start(b, pos)..pos]
        .iter()
        .all(|&c| c == b' ' || c == b'\t')
}

/// Only blanks between `pos` and the end of its line.
fn alone_after(b: &[u8], pos: usize) -> bool {
    b[pos..]
        .iter()
        .take_while(|&&c| c != b'\n')
        .all(|&c| c == b' ' || c == b'\t' || c == b'\r')
}

/// Just after the line break that ends the line holding `pos` (or the end of the text).
fn after_eol(b: &[u8], pos: usize) -> usize {
    memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |p| pos + p + 1)
}

/// The position of the line break (`\r\n` or `\n`) ending the line holding `pos`.
fn eol(b: &[u8], pos: usize) -> usize {
    let n = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |p| pos + p);
    if n > pos && b[n - 1] == b'\r' {
        n - 1
    } else {
        n
    }
}

fn blank(b: &[u8], r: Range<usize>) -> bool {
    b[r].iter().all(u8::is_ascii_whitespace)
}

fn spaces_after(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && (b[pos] == b' ' || b[pos] == b'\t') {
        pos += 1;
    }
    pos
}

/// The edits removing the run `start..end` of items, given the comma after the run and the one
/// before it (the previous item's, or a Go template's leading comma).
pub fn remove_run(
    text: &str,
    run: Range<usize>,
    comma_after: Option<usize>,
    comma_before: Option<usize>,
) -> Vec<Edit> {
    let b = text.as_bytes();
    let (start, end) = (run.start, run.end);
    if let Some(c) = comma_after {
        if alone_before(b, start) && alone_after(b, c + 1) && blank(b, end..c) {
            return vec![Edit::deletion(line_start(b, start)..after_eol(b, c + 1))];
        }
        if blank(b, end..c) {
            return vec![Edit::deletion(start..spaces_after(b, c + 1))];
        }
        return vec![Edit::deletion(start..end), Edit::deletion(c..c + 1)];
    }
    if let Some(p) = comma_before {
        let comma_hugs = blank(b, p + 1..start);
        if comma_hugs && alone_before(b, p) && alone_after(b, end) {
            return vec![Edit::deletion(line_start(b, p)..after_eol(b, end))];
        }
        if alone_before(b, start) && alone_after(b, end) {
            if comma_hugs {
                return vec![Edit::deletion(p..eol(b, end))];
            }
            return vec![
                Edit::deletion(p..p + 1),
                Edit::deletion(line_start(b, start)..after_eol(b, end)),
            ];
        }
        if comma_hugs {
            return vec![Edit::deletion(p..end)];
        }
        return vec![Edit::deletion(p..p + 1), Edit::deletion(start..end)];
    }
    if alone_before(b, start) && alone_after(b, end) {
        return vec![Edit::deletion(line_start(b, start)..after_eol(b, end))];
    }
    vec![Edit::deletion(start..end)]
}

/// The edits removing `remove` (sorted indices into `items`) from one container. With
/// `collapse`, a container emptied entirely becomes `[]`/`{}` (`inner` is its inside).
pub fn remove_items(
    text: &str,
    items: &[Item],
    remove: &[usize],
    leading_comma: Option<usize>,
    collapse: Option<Range<usize>>,
) -> Vec<Edit> {
    if remove.is_empty() {
        return Vec::new();
    }
    if remove.len() == items.len()
        && let Some(inner) = collapse
    {
        return vec![Edit::deletion(inner)];
    }
    let mut edits = Vec::new();
    let mut k = 0;
    while k < remove.len() {
        let i = remove[k];
        let mut j = i;
        while k + 1 < remove.len() && remove[k + 1] == j + 1 {
            k += 1;
            j += 1;
        }
        k += 1;
        let Some(last) = items.get(j) else { break };
        let before = if i == 0 {
            leading_comma
        } else {
            items[i - 1].comma_after
        };
        edits.extend(remove_run(
            text,
            items[i].span.start..last.span.end,
            last.comma_after,
            before,
        ));
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Fix;
    use crate::fix::apply::apply_fixes;

    fn run(text: &str, items: &[Item], remove: &[usize], collapse: Option<Range<usize>>) -> String {
        let fix = Fix::safe("t", remove_items(text, items, remove, None, collapse)).unwrap();
        apply_fixes(text, &[&fix], false).0
    }

    fn items_of(text: &str) -> Vec<Item> {
        let d = super::super::jsonc::parse(text, false).unwrap();
        d.elements(d.root)
            .iter()
            .map(|e| Item {
                span: d.node(e.value).span.clone(),
                comma_after: e.comma_after,
            })
            .collect()
    }

    #[test]
    fn removes_lines_and_one_comma() {
        let t = "[\n  {\"a\": 1},\n  // keep\n  {\"b\": 2},\n  {\"c\": 3}\n]";
        let it = items_of(t);
        assert_eq!(
            run(t, &it, &[1], None),
            "[\n  {\"a\": 1},\n  // keep\n  {\"c\": 3}\n]"
        );
        assert_eq!(
            run(t, &it, &[2], None),
            "[\n  {\"a\": 1},\n  // keep\n  {\"b\": 2}\n]"
        );
        assert_eq!(run(t, &it, &[1, 2], None), "[\n  {\"a\": 1}\n  // keep\n]");
        let crlf = "[\r\n  1,\r\n  2\r\n]";
        assert_eq!(run(crlf, &items_of(crlf), &[1], None), "[\r\n  1\r\n]");
        assert_eq!(run(crlf, &items_of(crlf), &[0], None), "[\r\n  2\r\n]");
        let inline = "[\"a\", \"b\", \"c\"]";
        assert_eq!(run(inline, &items_of(inline), &[0], None), "[\"b\", \"c\"]");
        assert_eq!(run(inline, &items_of(inline), &[2], None), "[\"a\", \"b\"]");
        assert_eq!(
            run(
                inline,
                &items_of(inline),
                &[0, 1, 2],
                Some(1..inline.len() - 1)
            ),
            "[]"
        );
    }

    #[test]
    fn leading_comma_entry_goes_with_its_comma() {
        let t = "[\n  {\"a\": 1}\n  ,{\n    \"b\": 2\n  }\n]";
        let d = super::super::jsonc::parse(t, false).unwrap();
        let el = d.elements(d.root);
        let edits = remove_run(t, d.node(el[1].value).span.clone(), None, el[0].comma_after);
        let fix = Fix::safe("t", edits).unwrap();
        assert_eq!(apply_fixes(t, &[&fix], false).0, "[\n  {\"a\": 1}\n]");
    }
}

//! Text geometry shared by the endpoint rules: the line, logical command line and window around a
//! position (bounded, so minified files stay linear), the end of a URL's query, and range lookups.

use std::ops::Range;

/// How far a "line" reaches on either side of a position: minified one-line files would
/// otherwise make every match look at the whole file.
const LINE_REACH: usize = 2048;

/// Byte range of the line holding `pos`, without its line break, cut at [`LINE_REACH`] bytes on
/// either side of `pos` (on character boundaries).
pub fn line_of(text: &str, pos: usize) -> Range<usize> {
    let b = text.as_bytes();
    let pos = pos.min(b.len());
    let lo = crate::source::floor_char_boundary(text, pos.saturating_sub(LINE_REACH));
    let mut hi = (pos + LINE_REACH).min(b.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    let start = memchr::memrchr(b'\n', &b[lo..pos]).map_or(lo, |p| lo + p + 1);
    let end = memchr::memchr(b'\n', &b[pos..hi]).map_or(hi, |p| pos + p);
    start..end
}

/// The lines from `before` lines above `pos` to `after` lines below it.
pub(super) fn window(text: &str, pos: usize, before: usize, after: usize) -> Range<usize> {
    let b = text.as_bytes();
    let mut start = line_of(text, pos).start;
    for _ in 0..before {
        if start == 0 {
            break;
        }
        start = line_of(text, start - 1).start;
    }
    let mut end = line_of(text, pos).end;
    for _ in 0..after {
        if end >= b.len() {
            break;
        }
        end = line_of(text, end + 1).end;
    }
    clamp(text, start..end, pos)
}

/// At most [`WINDOW_BYTES`] before and twice that after `pos`: a statement is never longer, and
/// the per-match work stays constant.
const WINDOW_BYTES: usize = 1024;

fn clamp(text: &str, r: Range<usize>, pos: usize) -> Range<usize> {
    let lo = crate::source::floor_char_boundary(text, pos.saturating_sub(WINDOW_BYTES));
    let mut hi = (pos + 2 * WINDOW_BYTES).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    r.start.max(lo)..r.end.min(hi)
}

/// The logical command line holding `pos`: physical lines joined by trailing `\`, `` ` `` or `^`.
pub(super) fn logical_line(text: &str, pos: usize) -> Range<usize> {
    // A command rarely spans more lines than this; the cap keeps odd files linear.
    const MAX_LINES: usize = 40;
    let continued = |line: &str| {
        let t = line.trim_end();
        t.ends_with('\\') || t.ends_with('`') || t.ends_with('^')
    };
    let mut r = line_of(text, pos);
    for _ in 0..MAX_LINES {
        if r.start == 0 {
            break;
        }
        let prev = line_of(text, r.start - 1);
        if !continued(&text[prev.clone()]) {
            break;
        }
        r.start = prev.start;
    }
    for _ in 0..MAX_LINES {
        if r.end >= text.len() || !continued(&text[line_of(text, r.end)]) {
            break;
        }
        r.end = line_of(text, r.end + 1).end;
    }
    clamp(text, r, pos)
}

/// Whether `range` overlaps one of `sorted` (disjoint ranges sorted by start).
pub(super) fn overlaps_any(sorted: &[Range<usize>], range: &Range<usize>) -> bool {
    let i = sorted.partition_point(|c| c.end <= range.start);
    sorted.get(i).is_some_and(|c| c.start < range.end)
}

pub(super) fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Where the query of a URL ends: at a quote, whitespace, a markup character, or a closing
/// bracket that the query did not open (`${VAR:-http://...}`, `(http://...)`).
pub(super) fn query_end(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let mut depth = 0i32;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => break,
            b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' | b'|' => break,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    // Sentence punctuation after a URL in prose or a statement end is not part of it.
    while i > from && matches!(b[i - 1], b'.' | b',' | b';' | b':') {
        i -= 1;
    }
    i
}

/// Whether a sorted list of positions has one inside `r`.
pub(super) fn any_within(sorted: &[usize], r: &Range<usize>) -> bool {
    let i = sorted.partition_point(|&p| p < r.start);
    sorted.get(i).is_some_and(|&p| p < r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_stops_at_breaks_and_at_its_reach() {
        let t = "one\ntwo\nthree";
        assert_eq!(&t[line_of(t, 5)], "two");
        assert_eq!(&t[line_of(t, 4)], "two");
        assert_eq!(&t[line_of(t, t.len())], "three");
        // A minified line is cut around the position, on character boundaries.
        let long = "é".repeat(3 * LINE_REACH);
        let r = line_of(&long, long.len() / 2);
        assert!(r.len() <= 2 * LINE_REACH + 2, "{r:?}");
        assert!(long.is_char_boundary(r.start) && long.is_char_boundary(r.end));
    }

    #[test]
    fn logical_lines_follow_each_dialects_continuation() {
        for t in [
            "x\ncurl -X POST \\\n  http://h \\\n  -d a\ny",
            "x\ncurl -X POST `\n  http://h `\n  -d a\ny",
            "x\ncurl -X POST ^\n  http://h ^\n  -d a\ny",
        ] {
            let at = t.find("http").unwrap();
            let r = logical_line(t, at);
            assert!(
                t[r.clone()].starts_with("curl") && t[r].ends_with("-d a"),
                "{t}"
            );
        }
    }

    #[test]
    fn windows_count_lines_around_the_position() {
        let t = "a\nb\nc\nd\ne";
        assert_eq!(&t[window(t, 4, 1, 1)], "b\nc\nd");
        assert_eq!(&t[window(t, 0, 3, 0)], "a");
        assert_eq!(&t[window(t, 8, 0, 5)], "e");
    }

    #[test]
    fn a_query_ends_before_an_unopened_bracket_or_sentence_punctuation() {
        fn end(t: &str) -> &str {
            &t[..query_end(t, 0)]
        }
        assert_eq!(end("resource=x&client_id=y\" -H"), "resource=x&client_id=y");
        assert_eq!(end("resource=x}"), "resource=x");
        assert_eq!(end("q=(a)b) rest"), "q=(a)b");
        assert_eq!(end("resource=x."), "resource=x");
    }

    #[test]
    fn sorted_lookups() {
        let ranges = [0..3, 5..8, 10..12];
        assert!(overlaps_any(&ranges, &(7..9)));
        assert!(!overlaps_any(&ranges, &(8..10)));
        assert!(any_within(&[2, 9, 15], &(9..10)));
        assert!(!any_within(&[2, 9, 15], &(3..9)));
    }
}

//! Source snippets in findings and reports: a bounded window around a span (never a whole line,
//! which may be megabytes of minified JSON), and escaping of control characters for terminals.

use std::{borrow::Cow, fmt::Write as _, ops::Range};

/// The most characters of a line a finding carries (and any report shows).
pub const MAX_CHARS: usize = 240;
/// Of those, at most this many come before the span's start, so the span itself is visible.
const BEFORE: usize = 80;

/// A window of one line: its byte range in the text, and whether the line goes on before or
/// after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub range: Range<usize>,
    pub cut_before: bool,
    pub cut_after: bool,
    /// Characters between the window's start and the span's start.
    pub lead_chars: usize,
}

/// The window of at most `max_chars` characters of `line` (a byte range of `text` without its
/// line break) around the byte offset `at`: up to a third of it before `at`, the rest after. The
/// work is proportional to `max_chars`, not to the length of the line.
pub fn window(text: &str, line: Range<usize>, at: usize, max_chars: usize) -> Window {
    let at = crate::source::floor_char_boundary(text, at.clamp(line.start, line.end));
    let before_max = BEFORE.min(max_chars / 3);
    let mut start = at;
    let mut lead_chars = 0;
    for (i, _) in text[line.start..at].char_indices().rev().take(before_max) {
        start = line.start + i;
        lead_chars += 1;
    }
    let mut end = start;
    for (n, (i, c)) in text[start..line.end].char_indices().enumerate() {
        if n == max_chars {
            break;
        }
        end = start + i + c.len_utf8();
    }
    Window {
        range: start..end,
        cut_before: start > line.start,
        cut_after: end < line.end,
        lead_chars,
    }
}

/// `text` with every control character (C0, DEL, C1, and the bidirectional overrides that can
/// make a terminal show something else than the bytes) written as an escape: `\t`, `\r`, `\n`,
/// `\u{1b}`. What is printed to a terminal can then not move the cursor, change colours or
/// hide text. Tabs are escaped too: they would shift the columns a reader counts.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    let bad =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if bad(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_bounded_and_keeps_the_span_in_view() {
        let line = "x".repeat(10_000) + "TARGET" + &"y".repeat(10_000);
        let at = line.find("TARGET").unwrap();
        let w = window(&line, 0..line.len(), at, MAX_CHARS);
        let shown = &line[w.range.clone()];
        assert_eq!(shown.chars().count(), MAX_CHARS);
        assert!(shown.contains("TARGET"));
        assert!(w.cut_before && w.cut_after);
        assert_eq!(&shown[w.lead_chars..w.lead_chars + 6], "TARGET");
        let short = "a é b";
        let w = window(short, 0..short.len(), 3, MAX_CHARS);
        assert_eq!(w.range, 0..short.len());
        assert!(!w.cut_before && !w.cut_after);
        assert_eq!(w.lead_chars, 2);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("plain é"), "plain é");
        assert_eq!(
            escape_control("a\tb\x1b[31m\r\n\u{202e}\u{85}"),
            "a\\tb\\u{1b}[31m\\r\\n\\u{202e}\\u{85}"
        );
    }
}

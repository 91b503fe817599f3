//! Code frames for the text report, as ruff and rustc print them: a line-number gutter, the
//! span underlined with carets (a second line for spans over several lines), long lines cut to a
//! bounded window around the span (the finding's own window, see `snippet`), and a fix as a
//! short inline diff. Everything shown from a scanned file is escaped first
//! (`snippet::escape_control`): no escape sequence in a file can reach the terminal.

use std::fmt::Write as _;

use crate::{
    finding::{Finding, LocatedEdit},
    scan::ScanResult,
    snippet::{self, escape_control},
    source,
};

/// Characters of a source line shown around a span (as in findings); the rest is cut and marked
/// with `…`.
pub const WINDOW: usize = snippet::MAX_CHARS;
/// Changed lines of a fix's diff shown before "… N more changed lines".
const DIFF_LINES: usize = 12;
/// How far into an ARM resource to look for its `type`/`name` line.
const ARM_LOOKAHEAD: usize = 12;

/// The styles a frame uses; plain text when every style is empty.
#[derive(Clone, Copy, Debug, Default)]
pub struct Styles {
    pub gutter: anstyle::Style,
    pub caret: anstyle::Style,
    pub removed: anstyle::Style,
    pub added: anstyle::Style,
}

fn paint(style: anstyle::Style, text: &str) -> String {
    if style == anstyle::Style::new() {
        text.to_owned()
    } else {
        format!("{style}{text}{style:#}")
    }
}

/// One source line as shown: cut to [`WINDOW`] characters around `[start, end)` (0-based
/// character offsets), escaped. Returns the text and the span's offsets within it.
pub fn window(line: &str, start: usize, end: usize) -> (String, usize, usize) {
    let at = line
        .char_indices()
        .nth(start)
        .map_or(line.len(), |(b, _)| b);
    let w = snippet::window(line, 0..line.len(), at, WINDOW);
    let lead = w.lead_chars;
    shown(
        &line[w.range],
        w.cut_before,
        w.cut_after,
        lead,
        lead + end.saturating_sub(start),
    )
}

/// A window of a line (`cut_before`/`cut_after`: the line goes on) as shown, with the span
/// `[start, end)` (character offsets in `text`) translated to offsets in what is shown.
fn shown(
    text: &str,
    cut_before: bool,
    cut_after: bool,
    start: usize,
    end: usize,
) -> (String, usize, usize) {
    let mut out = String::with_capacity(text.len() + 8);
    if cut_before {
        out.push('…');
    }
    let mut at = usize::from(cut_before);
    let mut span = (None, None);
    for (i, c) in text.chars().enumerate() {
        if i == start {
            span.0 = Some(at);
        }
        if i == end {
            span.1 = Some(at);
        }
        let one = escape_control(c.encode_utf8(&mut [0; 4])).into_owned();
        at += one.chars().count();
        out.push_str(&one);
    }
    let s = span.0.unwrap_or(at);
    let e = span.1.unwrap_or(at).max(s);
    if cut_after {
        out.push('…');
    }
    (out, s, e)
}

/// The caret line under `text` (escaped, so one column per character), at least one caret.
fn carets(start: usize, end: usize) -> String {
    let mut out = " ".repeat(start);
    let n = (end - start).max(1);
    out.push_str(&"^".repeat(n));
    out
}

/// A frame: (1-based line number, shown text, optional caret span).
type Row = (usize, String, Option<(usize, usize)>);

/// The rows that show a finding: its first line (or, for an ARM resource that starts with a
/// lone `{`, the resource's `type`/`name` lines), and the last line of a multi-line span.
fn rows(f: &Finding, lines: &FileText) -> Vec<Row> {
    let get = |n: usize| lines.get(n.wrapping_sub(1));
    // The finding's own window of its first line: the same text every report shows.
    let first = f.source_line.trim_end_matches(['\r', '\n']);
    // A span that ends at the start of a line ends, for the reader, on the line before.
    let end_line = if f.end_line > f.line && f.end_column <= 1 {
        f.end_line - 1
    } else {
        f.end_line.max(f.line)
    };
    let lone_bracket = first.trim().trim_end_matches(',').len() <= 1 && end_line > f.line;
    if lone_bracket && f.file_kind.starts_with("arm") {
        let mut shown = Vec::new();
        for n in f.line + 1..=end_line.min(f.line + ARM_LOOKAHEAD) {
            let Some(text) = get(n) else { break };
            let key = text.trim_start();
            if key.starts_with("\"type\"") || key.starts_with("\"name\"") {
                let indent = text.chars().count() - key.chars().count();
                let (t, s, e) = window(text, indent, text.trim_end().chars().count());
                shown.push((n, t, Some((s, e))));
            }
            if shown.len() == 2 {
                break;
            }
        }
        if !shown.is_empty() {
            return shown;
        }
    }
    let mut out = Vec::new();
    // Columns within the window, which starts at the finding's `source_column`.
    let from = f.source_column.max(1);
    let start = f.column.saturating_sub(from);
    let end = if end_line == f.line {
        f.end_column.max(f.column + 1).saturating_sub(from)
    } else {
        first.trim_end().chars().count()
    };
    let (t, s, e) = shown(first, from > 1, f.source_truncated, start, end);
    out.push((f.line, t, Some((s, e))));
    if end_line > f.line
        && let Some(last) = get(end_line)
    {
        let last = last.trim_end_matches(['\r', '\n']);
        let indent = last.chars().count() - last.trim_start().chars().count();
        let stop = if end_line == f.end_line {
            f.end_column - 1
        } else {
            last.trim_end().chars().count()
        };
        let (t, s, e) = window(last, indent, stop.max(indent + 1));
        out.push((end_line, t, Some((s, e))));
    }
    out
}

/// The frame under a finding's header line, each line ending in `\n`.
pub fn render(f: &Finding, lines: &FileText, st: Styles) -> String {
    let rows = rows(f, lines);
    let width = rows.last().map_or(1, |r| r.0.to_string().len());
    let bar = |n: Option<usize>| {
        let num = n.map_or_else(String::new, |n| n.to_string());
        paint(st.gutter, &format!("{num:>width$} |"))
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", bar(None));
    let mut prev = None;
    for (n, text, span) in &rows {
        if prev.is_some_and(|p: usize| n - p > 1) {
            let _ = writeln!(out, "{}", paint(st.gutter, &format!("{:>width$} :", "")));
        }
        let _ = writeln!(out, "{} {text}", bar(Some(*n)));
        if let Some((s, e)) = span {
            let _ = writeln!(out, "{} {}", bar(None), paint(st.caret, &carets(*s, *e)));
        }
        prev = Some(*n);
    }
    out
}

/// One line of a fix's diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Removed(String),
    Added(String),
    /// Unchanged lines between two changes, left out.
    Gap,
}

/// The lines a fix changes, as one merged diff of every edit: `None` when the file's text does
/// not match the edits (it changed since the scan, or could not be read).
pub fn fix_changes(edits: &[LocatedEdit], lines: &FileText) -> Option<Vec<Change>> {
    let first = edits.first()?.line;
    let last = edits.iter().map(|e| e.end_line).max()?;
    let last_col = edits
        .iter()
        .filter(|e| e.end_line == last)
        .map(|e| e.end_column)
        .max()?;
    // An edit ending at column 1 of a line leaves that line as it was.
    let through = if last > first && last_col <= 1 {
        last - 1
    } else {
        last
    };
    let old: Vec<&str> = (first..=through)
        .map(|n| lines.get(n.checked_sub(1)?))
        .collect::<Option<_>>()?;
    let before = format!("{}\n", old.join("\n"));
    // Positions are 1-based characters; an end past the region is the region's end.
    let offset = |line: usize, col: usize| -> Option<usize> {
        if line > through {
            return Some(before.len());
        }
        let idx = line.checked_sub(first)?;
        let at: usize = old[..idx].iter().map(|l| l.len() + 1).sum();
        let row = old.get(idx)?;
        let byte = row
            .char_indices()
            .nth(col.checked_sub(1)?)
            .map_or(row.len(), |(b, _)| b);
        Some(at + byte)
    };
    let mut after = before.clone();
    let mut sorted: Vec<&LocatedEdit> = edits.iter().collect();
    // From the end, so earlier offsets stay valid.
    sorted.sort_by_key(|e| std::cmp::Reverse((e.line, e.column)));
    for e in sorted {
        let start = offset(e.line, e.column)?;
        let end = offset(e.end_line, e.end_column)?;
        if start > end || end > after.len() {
            return None;
        }
        after.replace_range(start..end, &e.content);
    }
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut out = Vec::new();
    let mut gap = false;
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches(['\r', '\n']).to_owned();
        let item = match change.tag() {
            similar::ChangeTag::Equal => {
                gap = !out.is_empty();
                continue;
            }
            similar::ChangeTag::Delete => Change::Removed(line),
            similar::ChangeTag::Insert => Change::Added(line),
        };
        if gap {
            out.push(Change::Gap);
            gap = false;
        }
        out.push(item);
    }
    Some(out)
}

/// A fix as a short diff of the lines it changes: `-` old, `+` new, `…` between changes.
pub fn fix_diff(edits: &[LocatedEdit], lines: &FileText, st: Styles) -> Option<String> {
    let changes = fix_changes(edits, lines)?;
    let mut out = String::new();
    let mut shown = 0;
    for change in &changes {
        if shown == DIFF_LINES {
            let rest = changes[DIFF_LINES..]
                .iter()
                .filter(|c| !matches!(c, Change::Gap))
                .count();
            if rest > 0 {
                let _ = writeln!(out, "    … {rest} more changed lines");
            }
            break;
        }
        let (sign, style, text) = match change {
            Change::Removed(t) => ('-', st.removed, t),
            Change::Added(t) => ('+', st.added, t),
            Change::Gap => {
                let _ = writeln!(out, "    {}", paint(st.gutter, "…"));
                continue;
            }
        };
        let (t, _, _) = window(text, 0, 0);
        let _ = writeln!(out, "    {}", paint(style, &format!("{sign} {t}")));
        shown += 1;
    }
    Some(out)
}

/// A file's text with its line starts, found once, so each finding's lines are found without
/// splitting the file again (a minified file may hold thousands of findings).
#[derive(Debug, Default)]
pub struct FileText {
    text: String,
    starts: Vec<usize>,
}

impl FileText {
    pub fn new(text: String) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        FileText { text, starts }
    }

    /// Line `index` (0-based) without its line break; `None` past the end.
    pub fn get(&self, index: usize) -> Option<&str> {
        let start = *self.starts.get(index)?;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = &self.text[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// The text of the file being reported, read once for all its findings (reports are sorted by
/// file), for frames and diffs that show more than the finding's first line. A file that can
/// no longer be read gives no lines, and callers fall back to the finding's own source line.
#[derive(Default)]
pub struct Sources {
    current: Option<((usize, String), FileText)>,
}

impl Sources {
    pub fn file(&mut self, result: &ScanResult, f: &Finding) -> &FileText {
        let key = (f.root, f.path.clone());
        if self.current.as_ref().is_none_or(|(k, _)| *k != key) {
            let text = result
                .files
                .get(&key)
                .and_then(|r| std::fs::read(&r.abs_path).ok())
                .map_or_else(FileText::default, |bytes| {
                    FileText::new(source::decode(&bytes).text)
                });
            self.current = Some((key, text));
        }
        &self.current.as_ref().expect("just set").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_text_lines() {
        let t = FileText::new("a\r\nb\n\nc".to_owned());
        let lines: Vec<_> = (0..5).map(|i| t.get(i)).collect();
        assert_eq!(lines, [Some("a"), Some("b"), Some(""), Some("c"), None]);
        assert_eq!(FileText::default().get(0), None);
    }

    #[test]
    fn window_is_bounded_and_keeps_the_span() {
        let line = format!("{}TARGET{}", "a".repeat(1000), "b".repeat(1000));
        let (text, s, e) = window(&line, 1000, 1006);
        assert!(text.chars().count() <= WINDOW + 2, "{}", text.len());
        assert_eq!(
            text.chars().skip(s).take(e - s).collect::<String>(),
            "TARGET"
        );
        assert!(text.starts_with('…') && text.ends_with('…'));
        let (short, s, e) = window("abc", 1, 2);
        assert_eq!((short.as_str(), s, e), ("abc", 1, 2));
    }
}

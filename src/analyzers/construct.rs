//! The construct a line belongs to (a case arm, the body under a header, the run of lines at
//! one indentation level), found from indentation and labels alone, in any language.
//!
//! It does not parse a language: it reads the shape that code, scripts and configuration share
//! (bodies are indented under their header, arms start with a label), which is enough to tell
//! one branch of a `switch` from its siblings, or one function from the next.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

/// A case label or arm that starts a line: `case X:`, `default:`, a shell pattern `x)`, a
/// switch-expression arm `X =>`, a PowerShell switch arm `'x' {`, a key `x:` of an object, a
/// `{ key, value }` entry of a C# collection initializer.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(concat!(
        r#"^\s*(?:case\b|default\s*:|when\b|elif\b|elseif\b|else\s*if\b"#,
        r#"|\(?[\w*.|"'-]+\)\s*(?:$|[^\s;{]|;;)"#,
        r#"|[{(\[]?\s*["']?[\w.:-]+["']?\s*(?:=>|->|:[^:=]|,|\{|\)))"#
    ))
    .expect("valid regex")
});

/// The lines of a text with their indentation.
pub struct Lines<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|p| p + 1));
        if starts.len() > 1 && *starts.last().expect("non-empty") == text.len() {
            starts.pop();
        }
        Lines { text, starts }
    }

    /// How many lines (at least one: an empty text is one empty line).
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The index of the line holding byte `pos`.
    pub fn line_at(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s <= pos).saturating_sub(1)
    }

    /// The bytes of line `i`, without its line break.
    pub fn range(&self, i: usize) -> Range<usize> {
        let start = self.starts[i];
        let end = self.starts.get(i + 1).map_or(self.text.len(), |&n| n - 1);
        let end = if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        start..end
    }

    pub fn get(&self, i: usize) -> &'a str {
        &self.text[self.range(i)]
    }

    /// The indentation of line `i` (a tab counts 4), or `None` for a blank line.
    pub fn indent(&self, i: usize) -> Option<usize> {
        let line = self.get(i);
        let mut n = 0;
        for c in line.chars() {
            match c {
                ' ' => n += 1,
                '\t' => n += 4,
                _ => return Some(n),
            }
        }
        None
    }

    /// Whether line `i` starts a case arm, a switch arm or an entry keyed by its first word.
    pub fn is_label(&self, i: usize) -> bool {
        LABEL.is_match(self.get(i))
    }

    /// The next non-blank line after `i`, with its indentation.
    fn next_code(&self, i: usize) -> Option<(usize, usize)> {
        (i + 1..self.count()).find_map(|j| self.indent(j).map(|n| (j, n)))
    }

    /// The line of a lone `{` right after line `i` at its indentation (braces on their own line).
    fn opener(&self, i: usize) -> Option<usize> {
        let (j, n) = self.next_code(i)?;
        (Some(n) == self.indent(i) && self.get(j).trim() == "{").then_some(j)
    }

    /// Whether line `i` is a header: the next non-blank line (past a lone `{`) is indented deeper.
    pub fn is_header(&self, i: usize) -> bool {
        let from = self.opener(i).unwrap_or(i);
        match (self.indent(i), self.next_code(from)) {
            (Some(own), Some((_, next))) => next > own,
            _ => false,
        }
    }

    /// Line `i` and the lines after it indented deeper than it: a header with its body, an arm
    /// with its statements. As a range of line indices.
    pub fn body(&self, i: usize) -> Range<usize> {
        let own = self.indent(i).unwrap_or(0);
        let mut end = self.opener(i).map_or(i + 1, |j| j + 1);
        let mut j = end;
        while j < self.count() {
            match self.indent(j) {
                None => {}
                Some(n) if n > own => end = j + 1,
                Some(_) => break,
            }
            j += 1;
        }
        i..end
    }

    /// The run of lines around `i` at its indentation or deeper: the block `i` is a statement of
    /// (at the top level, the whole text). As a range of line indices.
    pub fn level(&self, i: usize) -> Range<usize> {
        let own = self.indent(i).unwrap_or(0);
        let inside = |j: usize| self.indent(j).is_none_or(|n| n >= own);
        let mut start = i;
        while start > 0 && inside(start - 1) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < self.count() && inside(end) {
            end += 1;
        }
        start..end
    }

    /// Byte range of the line indices `lines`.
    pub fn bytes(&self, lines: Range<usize>) -> Range<usize> {
        if lines.is_empty() {
            let at = self
                .starts
                .get(lines.start)
                .copied()
                .unwrap_or(self.text.len());
            return at..at;
        }
        self.starts[lines.start]..self.range(lines.end - 1).end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWITCH: &str = "switch (env) {\n    case Env.CloudShell:\n        url = \"a\";\n        break;\n    case Env.Vm:\n        url = \"b\";\n        break;\n}\n";

    #[test]
    fn arms_bodies_and_levels() {
        let l = Lines::new(SWITCH);
        assert_eq!(l.count(), 8);
        assert!(l.is_label(1) && l.is_label(4));
        assert!(!l.is_label(2));
        assert!(l.is_header(0) && l.is_header(1) && !l.is_header(2));
        assert_eq!(l.body(1), 1..4);
        assert_eq!(l.body(0), 0..7);
        assert_eq!(l.level(2), 2..4);
        assert_eq!(l.level(0), 0..8);
        assert_eq!(&SWITCH[l.bytes(1..2)], "    case Env.CloudShell:");
        assert_eq!(l.line_at(SWITCH.find("\"b\"").unwrap()), 5);
    }

    #[test]
    fn braces_on_their_own_line() {
        let t = "void CloudShell()\n{\n    x();\n}\nvoid Vm()\n{\n    y();\n}\n";
        let l = Lines::new(t);
        assert!(l.is_header(0));
        assert_eq!(l.body(0), 0..3);
        assert_eq!(l.body(4), 4..7);
    }

    #[test]
    fn labels_of_several_languages() {
        for label in [
            "  cloudshell)",
            "  \"cloud-shell\") echo x ;;",
            "    Env.CloudShell => \"http://x\",",
            "    'CloudShell' {",
            "    cloudShell: 'http://x',",
            "    { HostEnv.CloudShell, \"http://x\" },",
            "    case \"cloudshell\":",
            "  elif [ -n \"$ACC_CLOUD\" ]; then",
        ] {
            let l = Lines::new(label);
            assert!(l.is_label(0), "{label}");
        }
        for plain in [
            "# runs in Azure Cloud Shell",
            "url = 'http://localhost:50342/oauth2/token'",
            "export ACC_CLOUD=1",
            "if [ -z \"$ACC_CLOUD\" ]; then exit 1; fi",
        ] {
            assert!(!Lines::new(plain).is_label(0), "{plain}");
        }
    }

    #[test]
    fn crlf_blank_lines_and_tabs() {
        let t = "a\r\n\r\n\tb\r\n";
        let l = Lines::new(t);
        assert_eq!(l.count(), 3);
        assert_eq!(l.get(0), "a");
        assert_eq!(l.indent(1), None);
        assert_eq!(l.indent(2), Some(4));
        assert_eq!(l.body(0), 0..3);
        assert_eq!(Lines::new("").count(), 1);
    }
}

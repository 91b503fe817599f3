//! A command's line-break layout, so that a rewritten command breaks its lines like the original.

use super::{Options, Word};

/// The line-break layout of a command, so a replacement can keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `None` when the command is on one line; else the continuation marker ("" when line
    /// breaks need none, as in YAML folded scalars) and the indentation of continuation lines.
    pub multiline: Option<(String, String)>,
    /// How many words the first line held.
    pub first_line_words: usize,
}

impl Layout {
    pub fn of(text: &str, words: &[Word], opts: Options) -> Layout {
        let Some(first) = words.first() else {
            return Layout {
                multiline: None,
                first_line_words: 0,
            };
        };
        let line_of = |pos: usize| {
            memchr::memchr_iter(b'\n', &text.as_bytes()[first.range.start..pos]).count()
        };
        let first_line_words = words
            .iter()
            .take_while(|w| line_of(w.range.start) == 0)
            .count();
        let Some(next) = words.get(first_line_words) else {
            return Layout {
                multiline: None,
                first_line_words,
            };
        };
        let line_start = text[..next.range.start].rfind('\n').map_or(0, |p| p + 1);
        let indent: String = text[line_start..next.range.start]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let cont = if opts.fold_newlines {
            String::new()
        } else {
            opts.dialect.continuation().to_owned()
        };
        Layout {
            multiline: Some((cont, indent)),
            first_line_words,
        }
    }

    /// Joins `head` (program and subcommands, always on the first line) and argument groups
    /// (`-Name $n`), breaking lines like the original did: the first line keeps about as many
    /// pairs as it had, then one group per continuation line.
    pub fn render(&self, head: &str, head_words: usize, groups: &[String]) -> String {
        let mut s = head.to_owned();
        match &self.multiline {
            None => {
                for g in groups {
                    s.push(' ');
                    s.push_str(g);
                }
            }
            Some((cont, indent)) => {
                // As many `-flag value` pairs as the original's first line held.
                let on_first = self.first_line_words.saturating_sub(head_words).div_ceil(2);
                let on_first = on_first.min(groups.len());
                for g in &groups[..on_first] {
                    s.push(' ');
                    s.push_str(g);
                }
                for g in &groups[on_first..] {
                    if !cont.is_empty() {
                        s.push(' ');
                        s.push_str(cont);
                    }
                    s.push('\n');
                    s.push_str(indent);
                    s.push_str(g);
                }
            }
        }
        s
    }
}

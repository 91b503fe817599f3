//! The `--flag value` and `--flag=value` arguments of an az command, and what removing one takes.

use std::ops::Range;

use crate::analyzers::command::Word;

/// One `--flag value` (or `--flag=value`) of an az command.
pub(in crate::analyzers) struct Arg<'c> {
    /// The flag as written, without `=value`.
    pub(in crate::analyzers) flag: String,
    pub(in crate::analyzers) flag_word: &'c Word,
    /// Written `--flag=value`.
    pub(in crate::analyzers) eq: bool,
    pub(in crate::analyzers) value: Option<ArgValue>,
}

pub(in crate::analyzers) struct ArgValue {
    /// The value as written (quotes included), for copying into a fix.
    pub(in crate::analyzers) raw: Range<usize>,
    pub(in crate::analyzers) word: Word,
}

impl Arg<'_> {
    pub(in crate::analyzers) fn end(&self) -> usize {
        self.value.as_ref().map_or(self.flag_word.range.end, |v| {
            v.raw.end.max(self.flag_word.range.end)
        })
    }

    /// What deleting the argument removes: it goes with the space or line continuation before
    /// it, so the layout of the remaining arguments stays as it was.
    pub(in crate::analyzers) fn removal(&self, words: &[Word]) -> Range<usize> {
        let start = self.flag_word.range.start;
        let prev_end = words
            .iter()
            .filter(|w| w.range.end <= start)
            .map(|w| w.range.end)
            .max()
            .unwrap_or(start);
        prev_end..self.end()
    }
}

/// Where a command ends: after its last argument, or after its last subcommand word when it has
/// no argument.
pub(in crate::analyzers) fn command_end(args: &[Arg], last_word_end: usize) -> usize {
    args.iter().map(Arg::end).fold(last_word_end, usize::max)
}

pub(in crate::analyzers) fn parse_args<'c>(text: &str, words: &'c [Word]) -> Vec<Arg<'c>> {
    let mut args = Vec::new();
    let mut k = 0;
    while k < words.len() {
        let w = &words[k];
        k += 1;
        if !w.value.starts_with('-') || w.value.len() < 2 {
            continue;
        }
        if let Some(eq) = w.value.find('=') {
            let raw_text = &text[w.range.clone()];
            let raw_eq = raw_text.find('=').unwrap_or(raw_text.len());
            let raw = (w.range.start + raw_eq + 1).min(w.range.end)..w.range.end;
            args.push(Arg {
                flag: w.value[..eq].to_owned(),
                flag_word: w,
                eq: true,
                value: Some(ArgValue {
                    raw,
                    word: Word {
                        range: w.range.clone(),
                        value: w.value[eq + 1..].to_owned(),
                        literal: w.literal,
                        redirect: false,
                    },
                }),
            });
            continue;
        }
        let value = words
            .get(k)
            .filter(|n| !looks_like_flag(&n.value))
            .map(|n| {
                k += 1;
                ArgValue {
                    raw: n.range.clone(),
                    word: n.clone(),
                }
            });
        args.push(Arg {
            flag: w.value.clone(),
            flag_word: w,
            eq: false,
            value,
        });
    }
    args
}

fn looks_like_flag(s: &str) -> bool {
    s.len() > 1 && s.starts_with('-') && !s[1..].starts_with(|c: char| c.is_ascii_digit())
}

pub(in crate::analyzers) fn find<'a, 'c>(
    args: &'a [Arg<'c>],
    names: &[&str],
) -> Option<&'a Arg<'c>> {
    args.iter().rev().find(|a| names.contains(&a.flag.as_str()))
}

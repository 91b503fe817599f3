//! Inline suppressions: `imds-migrate: ignore` or `imds-migrate: ignore[ID,ID]` in a comment on a
//! finding's first line or the line before it. A suppression that silences nothing is reported.

use std::ops::Range;

use crate::{finding::Diagnostic, rules::catalogue, source::LineIndex};

pub const UNUSED_RULE: &str = "IMDS900";
const MARKER: &str = "imds-migrate:";

/// Comment openers accepted anywhere before the directive on its line.
const OPENERS: &[&str] = &["#", "//", "/*", "<!--", "<#"];
/// Openers that are too common inside code to trust mid-line (VB `'`, ini `;`, SQL/Lua `--`,
/// batch `::` and `REM`): accepted only at the start of the line.
const LINE_OPENERS: &[&str] = &["'", ";", "--", "::", "rem ", "@rem "];

#[derive(Debug)]
struct Directive {
    /// The line it silences: its own for a trailing comment, the next for a comment alone on
    /// its line.
    target: usize,
    range: Range<usize>,
    /// `None`: every rule.
    rules: Option<Vec<String>>,
    used: bool,
}

fn parse(text: &str, index: &LineIndex) -> Vec<Directive> {
    let mut out = Vec::new();
    for (pos, _) in text.match_indices(MARKER) {
        let line = index.line(pos);
        let line_range = index.line_range(text, line);
        let before = &text[line_range.start..pos];
        let after = &text[pos + MARKER.len()..line_range.end.max(pos + MARKER.len())];
        let rest = after.trim_start();
        let Some(rest) = rest.strip_prefix("ignore") else {
            continue;
        };
        if !in_comment(before) {
            continue;
        }
        let (rules, len) = match rest.strip_prefix('[') {
            Some(list) => match list.find(']') {
                Some(end) => (
                    Some(
                        list[..end]
                            .split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    ),
                    end + 2,
                ),
                None => continue,
            },
            None => (None, 0),
        };
        let end = pos + MARKER.len() + (after.len() - rest.len()) + len;
        let alone = starts_with_opener(before);
        out.push(Directive {
            target: if alone { line + 1 } else { line },
            range: pos..end.min(text.len()),
            rules,
            used: false,
        });
    }
    out
}

fn starts_with_opener(before: &str) -> bool {
    let lead = before.trim_start().to_ascii_lowercase();
    OPENERS
        .iter()
        .chain(LINE_OPENERS)
        .any(|o| lead.starts_with(o))
}

fn in_comment(before: &str) -> bool {
    let lead = before.trim_start().to_ascii_lowercase();
    OPENERS.iter().any(|o| before.contains(o)) || LINE_OPENERS.iter().any(|o| lead.starts_with(o))
}

fn covers(d: &Directive, rule: &str) -> bool {
    match &d.rules {
        None => true,
        Some(list) => list.iter().any(|r| {
            r.eq_ignore_ascii_case(rule) || catalogue().get(rule).is_some_and(|x| x.name == *r)
        }),
    }
}

/// Drops suppressed diagnostics and adds one [`UNUSED_RULE`] diagnostic per suppression that
/// silenced nothing.
pub fn apply(text: &str, diagnostics: &mut Vec<Diagnostic>) {
    if !text.contains(MARKER) {
        return;
    }
    let index = LineIndex::new(text);
    let mut directives = parse(text, &index);
    if directives.is_empty() {
        return;
    }
    diagnostics.retain(|d| {
        let line = index.line(d.range.start);
        let mut suppressed = false;
        for dir in &mut directives {
            if dir.target == line && covers(dir, d.rule) {
                dir.used = true;
                suppressed = true;
            }
        }
        !suppressed
    });
    for dir in directives.into_iter().filter(|d| !d.used) {
        let what = match &dir.rules {
            None => "no finding on the line it applies to".to_owned(),
            Some(list) => {
                let unknown: Vec<&String> = list
                    .iter()
                    .filter(|r| catalogue().lookup(r).is_none())
                    .collect();
                if unknown.is_empty() {
                    format!("no {} finding on the line it applies to", list.join("/"))
                } else {
                    format!(
                        "unknown rule {}",
                        unknown
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
        };
        diagnostics.push(Diagnostic::new(
            UNUSED_RULE,
            dir.range,
            format!("unused suppression: {what}; remove the comment"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(text: &str, needle: &str, rule: &'static str) -> Diagnostic {
        let at = text.find(needle).unwrap();
        Diagnostic::new(rule, at..at + needle.len(), "m")
    }

    #[test]
    fn trailing_comment_silences_its_line_and_a_lone_comment_the_next() {
        let text = "a = 1 # imds-migrate: ignore\nb = 2\n# imds-migrate: ignore\nc = 3\nd = 4\n";
        let mut d = vec![
            diag(text, "a =", "IMDS030"),
            diag(text, "b =", "IMDS030"),
            diag(text, "c =", "IMDS030"),
            diag(text, "d =", "IMDS030"),
        ];
        apply(text, &mut d);
        let left: Vec<usize> = d.iter().map(|d| d.range.start).collect();
        assert_eq!(
            left,
            vec![text.find("b =").unwrap(), text.find("d =").unwrap()]
        );
    }

    #[test]
    fn rule_lists_and_unused() {
        let text =
            "// imds-migrate: ignore[IMDS031]\nx\n<!-- imds-migrate: ignore[IMDS030] -->\ny\n";
        let mut d = vec![diag(text, "x", "IMDS030"), diag(text, "y", "IMDS030")];
        apply(text, &mut d);
        let rules: Vec<_> = d.iter().map(|d| d.rule).collect();
        assert_eq!(rules, vec!["IMDS030", UNUSED_RULE]);
        assert_eq!(
            d[1].range.start,
            text.find("imds-migrate: ignore[IMDS031]").unwrap()
        );
    }

    #[test]
    fn directive_outside_a_comment_is_text() {
        let text = "echo \"imds-migrate: ignore\"\nx\n";
        let mut d = vec![diag(text, "x", "IMDS030")];
        apply(text, &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "IMDS030");
    }

    #[test]
    fn batch_rem_works() {
        let text = "REM imds-migrate: ignore\nx\n";
        let mut d = vec![diag(text, "x", "IMDS030")];
        apply(text, &mut d);
        assert!(d.is_empty());
    }
}

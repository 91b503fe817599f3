//! IMDS042: calls of the credentials in Go, Python, JavaScript, Java and Ruby code.

use std::sync::LazyLock;

use regex::Regex;

use super::{Ecosystem, Library, libraries};
use crate::{
    analyzers::Analysis,
    finding::Diagnostic,
    kind::{FileKind, Lang},
};

/// Credential calls: the name followed by `(` (a call, or `new` in Java and JavaScript) or by
/// Ruby's `.new`. Definitions are told apart by what precedes the name ([`DEFINITION`]).
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<String> = {
        let mut v: Vec<String> = libraries()
            .iter()
            .flat_map(|l| l.calls.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    // Ruby builds objects with `Name.new`, with or without parentheses.
    crate::analyzers::pattern::compile(&format!(r"\b({})(?:\s*\(|\.new\b)", names.join("|")))
        .expect("valid regex")
});

static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?:\bfunc(?:\s*\([^)]*\))?|\bdef|\bclass|\bfunction|\bstatic|\bpublic|\bprivate|\bprotected|\binterface|\bexport\s+declare|\bconstructor|\basync)\s*$")
        .expect("valid regex")
});

fn ecosystem_of(lang: Lang) -> Option<Ecosystem> {
    Some(match lang {
        Lang::Go => Ecosystem::Go,
        Lang::Python => Ecosystem::Python,
        Lang::JavaScript => Ecosystem::Npm,
        Lang::Java | Lang::Kotlin | Lang::Scala => Ecosystem::Maven,
        Lang::Ruby => Ecosystem::Ruby,
        _ => return None,
    })
}

pub(super) fn calls(text: &str, lang: Lang, out: &mut Analysis) {
    let Some(eco) = ecosystem_of(lang) else {
        return;
    };
    // Most analyzed files hold no credential call: skip the lexer for them.
    if !CALL.is_match(text) {
        return;
    }
    let lexed = crate::analyzers::lexical::lex(text, FileKind::Code(lang));
    for c in CALL.captures_iter(text) {
        let name = c.get(1).unwrap();
        if lexed.in_comment(name.start()) || lexed.string_at(name.start()).is_some() {
            continue;
        }
        let line_start = text[..name.start()].rfind('\n').map_or(0, |p| p + 1);
        let before = &text[line_start..name.start()];
        let before =
            before.trim_end_matches(|ch: char| ch == '.' || ch.is_alphanumeric() || ch == '_');
        if DEFINITION.is_match(before.trim_end_matches(' ')) || before.trim_end().ends_with("func")
        {
            continue;
        }
        let libs: Vec<&Library> = libraries()
            .iter()
            .filter(|l| l.ecosystem == eco && l.calls.iter().any(|x| x == name.as_str()))
            .collect();
        let Some(first) = libs.first() else {
            continue;
        };
        let whole = c.get(0).unwrap();
        if eco == Ecosystem::Maven
            && whole.as_str().ends_with('(')
            && arguments(text, whole.end()) == Some(2)
        {
            // The deprecated `MSICredentials(environment, msiPort)` still selects the extension
            // in the versions that use IMDS by default: no manifest can clear it.
            out.push(Diagnostic::new(
                "IMDS042",
                name.range(),
                format!(
                    "`{}(environment, port)` uses the Managed Identity VM extension's endpoint in every version of {}: use `{}()` or `{}(environment)` with {} 1.4.0 or later",
                    name.as_str(),
                    first.package,
                    name.as_str(),
                    name.as_str(),
                    first.package
                ),
            ));
            continue;
        }
        let advice: Vec<String> = libs
            .iter()
            .map(|l| format!("{} {}", l.package, l.affected_range()))
            .collect();
        out.push(
            Diagnostic::new(
                "IMDS042",
                name.range(),
                format!(
                    "`{}` calls the Managed Identity VM extension's endpoint in {}, and no manifest here shows a fixed version: {}",
                    name.as_str(),
                    advice.join(", "),
                    first.advice()
                ),
            )
            .depending_on(eco.name()),
        );
    }
}

/// How many arguments the call whose `(` ends at `open` passes (`None` when unbalanced).
fn arguments(text: &str, open: usize) -> Option<usize> {
    let (mut depth, mut commas, mut empty) = (0usize, 0usize, true);
    for (i, ch) in text[open..].char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth > 0 => depth -= 1,
            ')' => return Some(if empty { 0 } else { commas + 1 }),
            ',' if depth == 0 => commas += 1,
            c if !c.is_whitespace() => empty = false,
            _ => {}
        }
        if i > 4096 {
            break;
        }
    }
    None
}

//! Compiles the analyzers' regular expressions, ASCII-only where the pattern allows it, and
//! their literal searches.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexBuilder};

/// A one-pass search for any of `words` in any ASCII case: the quick test an analyzer runs
/// before its regexes (lowering a copy of the text and searching it once per word cost more).
pub fn words_any_case(words: &[&str]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("valid literals")
}

/// Compiling case-insensitive matching, `\w`, `\s` and `\b` over Unicode tables took most of a
/// small run's time, and every pattern here looks for ASCII syntax (URLs, flags, keywords), so
/// the ASCII classes find the same things. A pattern whose ASCII form could match inside a
/// multi-byte character (a negated class, `.`) is refused by that build and keeps Unicode; where
/// such a class is repeated a bounded number of times (`[^}]{0,80}`, eighty copies of a UTF-8
/// automaton, 100 ms to compile) write it as an ASCII difference (`[[:ascii:]--[}]]`, under 1 ms)
/// so the pattern stays ASCII.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .or_else(|_| Regex::new(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_any_case() {
        let words = words_any_case(&["localhost", "msi_port"]);
        assert!(words.is_match("http://LocalHost:50342"));
        assert!(words.is_match("export MSI_PORT=1"));
        assert!(!words.is_match("local host, msi port"));
    }

    #[test]
    fn ascii_where_possible_unicode_where_needed() {
        let ascii = compile(r"(?i)\bmicrosoft\.managedidentity\b").unwrap();
        assert!(ascii.is_match("publisher: MICROSOFT.ManagedIdentity"));
        // A negated class must not split a multi-byte character: it falls back to Unicode.
        let negated = compile(r"'[^'\n]{0,5}'").unwrap();
        assert_eq!(negated.find("x 'ñé' y").map(|m| m.as_str()), Some("'ñé'"));
        let bounded = compile(r"\{[[:ascii:]--[{}\n]]{0,80}\}").unwrap();
        assert!(bounded.is_match("{port}"));
        assert!(!bounded.is_match("{pört}"));
    }
}

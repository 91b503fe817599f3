//! Comment and string spans per language, so that text analyzers can ignore matches inside
//! comments (commented-out code is not a usage) and know which literal a match sits in.
//!
//! One left-to-right pass over the bytes, no backtracking: linear in the text and unable to
//! panic on any input. The scanner is deliberately forgiving: an unterminated string or comment
//! runs to the end of its line (single-line strings) or of the text, never further, and every
//! delimiter is ASCII, so every range starts and ends on a character boundary.

use std::ops::Range;

use crate::kind::{FileKind, Lang};

/// How a quote character is kept inside a string of that quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// `\"` (C-like, Python, shell double quotes).
    Backslash,
    /// `""` (VB, SQL, PowerShell single quotes, C# verbatim strings).
    Doubled,
    /// `` `" `` (PowerShell double quotes).
    Backtick,
    /// No escape at all (shell single quotes, Go raw strings).
    None,
}

#[derive(Clone, Copy, Debug)]
struct Quote {
    open: &'static str,
    close: &'static str,
    escape: Escape,
    /// Single-line strings end at the line break even when unterminated: a stray apostrophe
    /// (`don't`) then costs one line, not the rest of the file.
    multiline: bool,
}

/// A struct literal rather than a `const fn`, so that `&[q!(..)]` is promoted to `'static`.
macro_rules! q {
    ($open:expr, $close:expr, $escape:expr, $multiline:expr) => {
        Quote {
            open: $open,
            close: $close,
            escape: $escape,
            multiline: $multiline,
        }
    };
}

/// Where a line-comment marker counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Anywhere outside a string (`//` in C).
    Anywhere,
    /// At the start of a word (`#` in shell: `${#x}` and `a#b` are not comments).
    WordStart,
    /// As the first thing on a line (`REM` in batch, `;` in ini files).
    LineStart,
}

#[derive(Clone, Copy, Debug)]
struct Syntax {
    /// Checked before line comments, so `<#` wins over `#` and `--[[` over `--`.
    block: &'static [(&'static str, &'static str)],
    line: &'static [(&'static str, At)],
    /// Longest opener first (`"""` before `"`).
    quotes: &'static [Quote],
    /// Quotes open a string only at the start of a value (YAML and ini files, where `it's` is
    /// plain text).
    quotes_at_value_start: bool,
}

use Escape::{Backslash, Backtick, Doubled};

const C_BLOCK: &[(&str, &str)] = &[("/*", "*/")];
const SLASHES: &[(&str, At)] = &[("//", At::Anywhere)];
const HASH: &[(&str, At)] = &[("#", At::Anywhere)];
const HASH_WORD: &[(&str, At)] = &[("#", At::WordStart)];
const DQ: Quote = q!("\"", "\"", Backslash, false);
const SQ: Quote = q!("'", "'", Backslash, false);

impl Syntax {
    /// The bytes that can start a comment or a string (both cases of a word marker's).
    fn first_bytes(&self) -> [bool; 256] {
        let mut t = [false; 256];
        let openers = self.block.iter().map(|(o, _)| *o);
        let markers = self.line.iter().map(|(m, _)| *m);
        let quotes = self.quotes.iter().map(|q| q.open);
        for first in openers
            .chain(markers)
            .chain(quotes)
            .filter_map(|s| s.bytes().next())
        {
            t[usize::from(first.to_ascii_lowercase())] = true;
            t[usize::from(first.to_ascii_uppercase())] = true;
        }
        t
    }
}

fn syntax(kind: FileKind) -> Syntax {
    const NONE: Syntax = Syntax {
        block: &[],
        line: &[],
        quotes: &[],
        quotes_at_value_start: false,
    };
    let c_like = |quotes: &'static [Quote]| Syntax {
        block: C_BLOCK,
        line: SLASHES,
        quotes,
        quotes_at_value_start: false,
    };
    match kind {
        FileKind::Arm | FileKind::ArmParameters | FileKind::Json => c_like(&[DQ]),
        FileKind::PowerShell => Syntax {
            block: &[("<#", "#>")],
            line: HASH_WORD,
            quotes: &[
                q!("@\"", "\"@", Backtick, true),
                q!("@'", "'@", Escape::None, true),
                q!("\"", "\"", Backtick, true),
                q!("'", "'", Doubled, true),
            ],
            quotes_at_value_start: false,
        },
        FileKind::Shell => Syntax {
            block: &[],
            line: HASH_WORD,
            quotes: &[
                q!("'", "'", Escape::None, true),
                q!("\"", "\"", Backslash, true),
                q!("`", "`", Backslash, true),
            ],
            quotes_at_value_start: false,
        },
        FileKind::Batch => Syntax {
            block: &[],
            line: &[
                ("rem", At::LineStart),
                ("@rem", At::LineStart),
                ("::", At::LineStart),
            ],
            quotes: &[q!("\"", "\"", Escape::None, false)],
            quotes_at_value_start: false,
        },
        FileKind::Terraform => Syntax {
            block: C_BLOCK,
            line: &[("//", At::Anywhere), ("#", At::Anywhere)],
            quotes: &[DQ],
            quotes_at_value_start: false,
        },
        FileKind::Bicep => c_like(&[q!("'''", "'''", Escape::None, true), SQ]),
        FileKind::Yaml => Syntax {
            block: &[],
            line: HASH_WORD,
            quotes: &[
                q!("\"", "\"", Backslash, false),
                q!("'", "'", Doubled, false),
            ],
            quotes_at_value_start: true,
        },
        FileKind::Config => Syntax {
            block: &[],
            line: &[
                ("#", At::WordStart),
                (";", At::LineStart),
                ("!", At::LineStart),
            ],
            quotes: &[q!("\"", "\"", Backslash, false)],
            quotes_at_value_start: true,
        },
        FileKind::Xml | FileKind::Markdown => Syntax {
            block: &[("<!--", "-->")],
            ..NONE
        },
        FileKind::Text => Syntax {
            line: &[("#", At::LineStart), ("//", At::LineStart)],
            ..NONE
        },
        FileKind::Log => NONE,
        FileKind::Code(lang) => code_syntax(lang),
    }
}

fn code_syntax(lang: Lang) -> Syntax {
    let hash_lang = |quotes: &'static [Quote]| Syntax {
        block: &[],
        line: HASH,
        quotes,
        quotes_at_value_start: false,
    };
    let c_like = |quotes: &'static [Quote]| Syntax {
        block: C_BLOCK,
        line: SLASHES,
        quotes,
        quotes_at_value_start: false,
    };
    match lang {
        Lang::Python => hash_lang(&[
            q!("\"\"\"", "\"\"\"", Backslash, true),
            q!("'''", "'''", Backslash, true),
            DQ,
            SQ,
        ]),
        Lang::Ruby | Lang::Perl => hash_lang(&[
            q!("\"", "\"", Backslash, true),
            q!("'", "'", Backslash, true),
            q!("`", "`", Backslash, true),
        ]),
        Lang::CSharp => c_like(&[
            q!("\"\"\"", "\"\"\"", Escape::None, true),
            q!("$@\"", "\"", Doubled, true),
            q!("@$\"", "\"", Doubled, true),
            q!("@\"", "\"", Doubled, true),
            DQ,
            SQ,
        ]),
        Lang::Java | Lang::Kotlin | Lang::Scala => {
            c_like(&[q!("\"\"\"", "\"\"\"", Backslash, true), DQ, SQ])
        }
        Lang::JavaScript => c_like(&[DQ, SQ, q!("`", "`", Backslash, true)]),
        Lang::Go => c_like(&[DQ, SQ, q!("`", "`", Escape::None, true)]),
        // `'` is also a lifetime in Rust; char literals never hold a URL.
        Lang::Rust => c_like(&[DQ]),
        Lang::C => c_like(&[DQ, SQ]),
        Lang::Php => Syntax {
            block: C_BLOCK,
            line: &[("//", At::Anywhere), ("#", At::Anywhere)],
            quotes: &[
                q!("\"", "\"", Backslash, true),
                q!("'", "'", Backslash, true),
            ],
            quotes_at_value_start: false,
        },
        Lang::FSharp => Syntax {
            block: &[("(*", "*)")],
            line: SLASHES,
            quotes: &[q!("\"\"\"", "\"\"\"", Escape::None, true), DQ],
            quotes_at_value_start: false,
        },
        Lang::VisualBasic => Syntax {
            block: &[],
            line: &[("'", At::Anywhere), ("rem", At::LineStart)],
            quotes: &[q!("\"", "\"", Doubled, false)],
            quotes_at_value_start: false,
        },
        Lang::Sql => Syntax {
            block: C_BLOCK,
            line: &[("--", At::Anywhere)],
            quotes: &[q!("'", "'", Doubled, true)],
            quotes_at_value_start: false,
        },
        Lang::Lua => Syntax {
            block: &[("--[[", "]]")],
            line: &[("--", At::Anywhere)],
            quotes: &[DQ, SQ],
            quotes_at_value_start: false,
        },
    }
}

/// The comments and string literals of a text, each sorted by start and disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lexed {
    pub comments: Vec<Range<usize>>,
    /// Whole literals, quotes included.
    pub strings: Vec<Range<usize>>,
}

impl Lexed {
    /// True when byte `pos` lies inside a comment (its marker included).
    pub fn in_comment(&self, pos: usize) -> bool {
        containing(&self.comments, pos).is_some()
    }

    /// True when any byte of `range` lies inside a comment.
    pub fn touches_comment(&self, range: &Range<usize>) -> bool {
        let i = self.comments.partition_point(|c| c.end <= range.start);
        self.comments.get(i).is_some_and(|c| c.start < range.end)
    }

    /// The string literal (quotes included) that holds byte `pos`.
    pub fn string_at(&self, pos: usize) -> Option<Range<usize>> {
        containing(&self.strings, pos)
    }
}

/// True when `pos` lies in a Python docstring: a triple-quoted literal that opens the module,
/// or follows a `def`/`class` line's colon. Documentation, like a comment, is not a usage.
pub fn in_python_docstring(text: &str, lx: &Lexed, pos: usize) -> bool {
    let Some(lit) = lx.string_at(pos) else {
        return false;
    };
    let opener = text[lit.clone()].trim_start_matches(['r', 'R', 'u', 'U', 'b', 'B']);
    if !(opener.starts_with("\"\"\"") || opener.starts_with("'''")) {
        return false;
    }
    let b = text.as_bytes();
    let mut i = lit.start;
    while i > 0 {
        let c = b[i - 1];
        if c.is_ascii_whitespace() {
            i -= 1;
        } else if let Some(comment) = containing(&lx.comments, i - 1) {
            i = comment.start;
        } else {
            return c == b':';
        }
    }
    true
}

fn containing(spans: &[Range<usize>], pos: usize) -> Option<Range<usize>> {
    let i = spans.partition_point(|r| r.end <= pos);
    spans.get(i).filter(|r| r.start <= pos).cloned()
}

/// Lexes `text` as a file of `kind`.
pub fn lex(text: &str, kind: FileKind) -> Lexed {
    let syn = syntax(kind);
    let opens = syn.first_bytes();
    let b = text.as_bytes();
    let mut out = Lexed::default();
    let mut i = 0;
    // Only whitespace (and, in batch files, `@`) since the last line break.
    let mut line_blank = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_blank = true;
            i += 1;
            continue;
        }
        // Most bytes open nothing: skip them without trying every marker.
        if !opens[usize::from(c)] {
            if !(c == b' ' || c == b'\t' || c == b'\r' || (c == b'@' && line_blank)) {
                line_blank = false;
            }
            i += 1;
            continue;
        }
        if let Some(&(open, close)) = syn
            .block
            .iter()
            .find(|(o, _)| b[i..].starts_with(o.as_bytes()))
        {
            let end =
                find(b, i + open.len(), close.as_bytes()).map_or(b.len(), |e| e + close.len());
            out.comments.push(i..end);
            line_blank = false;
            i = end;
            continue;
        }
        if let Some(&(marker, _)) = syn.line.iter().find(|&&(m, at)| {
            starts_with_ci(&b[i..], m.as_bytes())
                && match at {
                    At::Anywhere => !(m == "//" && i > 0 && b[i - 1] == b'\\'),
                    At::WordStart => i == 0 || is_word_boundary(b[i - 1]),
                    At::LineStart => line_blank && ends_word(b, i + m.len(), m),
                }
        }) {
            let _ = marker;
            let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |e| i + e);
            out.comments.push(i..end);
            i = end;
            continue;
        }
        if let Some(quote) = syn
            .quotes
            .iter()
            .find(|qt| b[i..].starts_with(qt.open.as_bytes()))
            .filter(|_| !syn.quotes_at_value_start || i == 0 || opens_value(b, i))
        {
            let end = string_end(b, i + quote.open.len(), quote);
            out.strings.push(i..end);
            line_blank = false;
            i = end;
            continue;
        }
        if !(c == b' ' || c == b'\t' || c == b'\r' || (c == b'@' && line_blank)) {
            line_blank = false;
        }
        i += 1;
    }
    out
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// A word marker (`REM`) must end its word; punctuation markers (`::`, `;`) need not.
fn ends_word(b: &[u8], after: usize, marker: &str) -> bool {
    !marker.as_bytes()[0].is_ascii_alphabetic()
        || b.get(after).is_none_or(|c| !c.is_ascii_alphanumeric())
}

fn is_word_boundary(prev: u8) -> bool {
    prev.is_ascii_whitespace() || matches!(prev, b';' | b'(' | b'|' | b'&' | b')')
}

/// The previous non-blank byte on the line starts a value: `key: 'x'`, `- "x"`, `[ 'a', 'b' ]`.
fn opens_value(b: &[u8], i: usize) -> bool {
    let prev = b[..i]
        .iter()
        .rev()
        .find(|&&c| c != b' ' && c != b'\t')
        .copied();
    let blank_before = b[i - 1] == b' ' || b[i - 1] == b'\t';
    match prev {
        None | Some(b'\n' | b'\r' | b'[' | b'{' | b',' | b'=' | b'(') => true,
        Some(b':' | b'-' | b'?') => blank_before || b[i - 1] == b':' || b[i - 1] == b'=',
        _ => false,
    }
}

/// The end (exclusive) of a string whose body starts at `from`.
fn string_end(b: &[u8], from: usize, quote: &Quote) -> usize {
    let close = quote.close.as_bytes();
    let mut j = from;
    while j < b.len() {
        let c = b[j];
        if !quote.multiline && c == b'\n' {
            return j;
        }
        match quote.escape {
            Backslash if c == b'\\' => {
                j += 2;
                continue;
            }
            Backtick if c == b'`' => {
                j += 2;
                continue;
            }
            _ => {}
        }
        if b[j..].starts_with(close) {
            if quote.escape == Doubled && close.len() == 1 && b.get(j + 1) == Some(&close[0]) {
                j += 2;
                continue;
            }
            return j + close.len();
        }
        j += 1;
    }
    b.len()
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments(text: &str, kind: FileKind) -> Vec<&str> {
        lex(text, kind)
            .comments
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn url_in_string_is_not_a_comment() {
        let t = "var u = \"http://localhost:50342/oauth2/token\"; // real comment\n";
        assert_eq!(
            comments(t, FileKind::Code(Lang::JavaScript)),
            ["// real comment"]
        );
        let lx = lex(t, FileKind::Code(Lang::JavaScript));
        assert_eq!(
            &t[lx.string_at(12).unwrap()],
            "\"http://localhost:50342/oauth2/token\""
        );
    }

    #[test]
    fn escaped_quotes_and_apostrophes() {
        let t = "s = \"a \\\" // no\" # yes\nx = 'it''s' # c";
        assert_eq!(comments(t, FileKind::Code(Lang::Python)), ["# yes", "# c"]);
        let ps = "$a = 'it''s # not' # yes\n$b = \"x `\" # not\" <# block\n #> $c";
        assert_eq!(
            comments(ps, FileKind::PowerShell),
            ["# yes", "<# block\n #>"]
        );
    }

    #[test]
    fn shell_hash_only_at_word_start() {
        let t = "echo ${#arr} a#b \"#x\" # c\n  # d\n";
        assert_eq!(comments(t, FileKind::Shell), ["# c", "# d"]);
    }

    #[test]
    fn yaml_apostrophes_in_plain_scalars() {
        let t = "msg: don't # c1\nurl: 'http://x#y' # c2\nz: a#b\n";
        assert_eq!(comments(t, FileKind::Yaml), ["# c1", "# c2"]);
    }

    #[test]
    fn batch_vb_sql_lua_ini_xml() {
        assert_eq!(
            comments(
                "@REM one\nrem two\nremark x\n:: three\necho \"rem\"",
                FileKind::Batch
            ),
            ["@REM one", "rem two", ":: three"]
        );
        assert_eq!(
            comments("x = \"it's\" ' c\n", FileKind::Code(Lang::VisualBasic)),
            ["' c"]
        );
        assert_eq!(
            comments("select '--x' -- c\n/* b */", FileKind::Code(Lang::Sql)),
            ["-- c", "/* b */"]
        );
        assert_eq!(
            comments("--[[ a\n b ]] x -- c", FileKind::Code(Lang::Lua)),
            ["--[[ a\n b ]]", "-- c"]
        );
        assert_eq!(
            comments("; c\nurl=http://x/#frag\nk=v # c2", FileKind::Config),
            ["; c", "# c2"]
        );
        assert_eq!(
            comments("<a v=\"x\"/><!-- <b/> -->", FileKind::Xml),
            ["<!-- <b/> -->"]
        );
    }

    #[test]
    fn csharp_verbatim_and_go_raw() {
        let t = "var p = @\"C:\\dir\\\"; // c\n";
        assert_eq!(comments(t, FileKind::Code(Lang::CSharp)), ["// c"]);
        let g = "s := `a\n// not` // c";
        assert_eq!(comments(g, FileKind::Code(Lang::Go)), ["// c"]);
    }

    #[test]
    fn python_docstrings() {
        let t = "#!/usr/bin/env python\n\"\"\"Module doc.\"\"\"\ndef f():\n    \'\'\'Doc.\'\'\'\n    x = \"\"\"not doc\"\"\"\n";
        let lx = lex(t, FileKind::Code(Lang::Python));
        let at = |needle: &str| t.find(needle).unwrap();
        assert!(in_python_docstring(t, &lx, at("Module")));
        assert!(in_python_docstring(t, &lx, at("Doc.")));
        assert!(!in_python_docstring(t, &lx, at("not doc")));
    }

    #[test]
    fn unterminated_and_odd_inputs_never_panic() {
        for kind in [
            FileKind::Code(Lang::Python),
            FileKind::Code(Lang::CSharp),
            FileKind::PowerShell,
            FileKind::Shell,
            FileKind::Batch,
            FileKind::Yaml,
            FileKind::Config,
            FileKind::Xml,
            FileKind::Arm,
            FileKind::Code(Lang::Lua),
        ] {
            for t in [
                "\"", "'", "\\", "/*", "<!--", "<#", "\"\\", "@\"", "'''", "é\"é\\", "--[[", "rem",
                "x: '", "a\r\n#",
            ] {
                let lx = lex(t, kind);
                for r in lx.comments.iter().chain(&lx.strings) {
                    assert!(
                        r.end <= t.len()
                            && t.is_char_boundary(r.start)
                            && t.is_char_boundary(r.end)
                    );
                }
            }
        }
    }

    #[test]
    fn linear_on_many_openers() {
        let t = "\"/*".repeat(200_000);
        let lx = lex(&t, FileKind::Code(Lang::C));
        assert!(!lx.strings.is_empty());
    }
}

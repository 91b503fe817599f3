//! Texts held inside other texts in an encoded form (HTML `<pre><code>` blocks with entities and
//! highlighting markup, commands in quoted strings with their escapes): decoded with a map back
//! to the file's bytes, analyzed by the analyzers of their kind, and their findings moved back to
//! where they are in the file.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{Analysis, Context, sniff};
use crate::{finding::Diagnostic, kind::FileKind};

/// A decoded text and, for each of its bytes (and its end), the offset in the file it came from.
#[derive(Debug)]
pub struct Mapped {
    pub text: String,
    map: Vec<usize>,
}

impl Mapped {
    fn new() -> Self {
        Mapped {
            text: String::new(),
            map: Vec::new(),
        }
    }

    /// Appends `s`, which stands for the file bytes `from..to`.
    fn push(&mut self, s: &str, from: usize, to: usize) {
        if s.len() == to - from {
            self.map.extend(from..to);
        } else {
            // Every byte of a decoded entity points at the entity's start.
            self.map.extend(std::iter::repeat_n(from, s.len()));
        }
        self.text.push_str(s);
    }

    fn finish(mut self, end: usize) -> Self {
        self.map.push(end);
        self
    }

    fn offset(&self, pos: usize) -> usize {
        self.map[pos.min(self.map.len() - 1)]
    }

    /// The file range of the decoded range `r`.
    pub fn range(&self, r: &Range<usize>) -> Range<usize> {
        let start = self.offset(r.start);
        let end = if r.end > r.start {
            self.offset(r.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }

    /// True when the decoded range `r` is a verbatim copy of the file's bytes.
    fn verbatim(&self, r: &Range<usize>) -> bool {
        let f = self.range(r);
        f.len() == r.len() && (r.start..r.end).all(|i| self.map[i] == f.start + (i - r.start))
    }
}

/// Adds the findings of `sub` (an analysis of `m.text`) at their places in the file. A fix is
/// kept only when every edit falls on bytes the file holds as they are, and inserts nothing
/// the encoding would have to escape (`escaped`).
pub fn extend_mapped(out: &mut Analysis, sub: Analysis, m: &Mapped, escaped: &[char]) {
    for d in sub.diagnostics {
        let fix = d.fix.as_ref().and_then(|fix| {
            let ok = fix
                .edits
                .iter()
                .chain(&fix.cleanup)
                .all(|e| m.verbatim(&e.range) && !e.content.contains(escaped));
            ok.then(|| {
                let mut fix = fix.clone();
                for e in fix.edits.iter_mut().chain(fix.cleanup.iter_mut()) {
                    e.range = m.range(&e.range);
                }
                fix
            })
        });
        let range = m.range(&d.range);
        let mut message = d.message;
        if d.fix.is_some() && fix.is_none() {
            // A finding left without its fix says why.
            message.push_str(
                ". Not fixed automatically: the fix would edit text written with escapes or markup here, or insert a character that would need escaping here; make the change by hand",
            );
        }
        out.push(Diagnostic {
            range,
            message,
            fix,
            ..d
        });
    }
    out.declared_ports.extend(sub.declared_ports);
}

/// How a quoted string escapes characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    /// JSON and HCL strings: `\"`, `\\`, `\/`, `\n`, `\t`, `\uXXXX`.
    Json,
    /// Shell double quotes: a backslash escapes `"`, `\\`, `$`, `` ` `` and a line break.
    ShellDouble,
    /// PowerShell double quotes: a backtick escapes the next character; `""` is `"`.
    PowerShellDouble,
    /// Shell and PowerShell single quotes (PowerShell doubles `''`).
    Single,
}

/// The content of the quoted string whose quotes sit at `open` and `close` (exclusive of both).
pub fn decode_quoted(text: &str, open: usize, close: usize, quoting: Quoting) -> Mapped {
    let mut m = Mapped::new();
    let b = text.as_bytes();
    let (start, end) = (open + 1, close);
    let mut i = start;
    let mut plain = i;
    while i < end {
        let c = b[i];
        let esc_len_and_char: Option<(usize, String)> = match (quoting, c) {
            (Quoting::Json, b'\\') if i + 1 < end => match b[i + 1] {
                b'n' => Some((2, "\n".to_owned())),
                b't' => Some((2, "\t".to_owned())),
                b'r' => Some((2, "\r".to_owned())),
                b'u' if i + 6 <= end => u32::from_str_radix(&text[i + 2..i + 6], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|ch| (6, ch.to_string())),
                other if other.is_ascii() => Some((2, (other as char).to_string())),
                _ => None,
            },
            (Quoting::ShellDouble, b'\\') if i + 1 < end => match b[i + 1] {
                b'"' | b'\\' | b'$' | b'`' => Some((2, (b[i + 1] as char).to_string())),
                b'\n' => Some((2, String::new())),
                _ => None,
            },
            (Quoting::PowerShellDouble, b'`') if i + 1 < end && b[i + 1].is_ascii() => {
                // A backtick before a line break continues the line, as outside strings.
                Some((2, (b[i + 1] as char).to_string()))
            }
            (Quoting::PowerShellDouble, b'"') if i + 1 < end && b[i + 1] == b'"' => {
                Some((2, "\"".to_owned()))
            }
            (Quoting::Single, b'\'') if i + 1 < end && b[i + 1] == b'\'' => {
                Some((2, "'".to_owned()))
            }
            _ => None,
        };
        if let Some((len, ch)) = esc_len_and_char {
            m.push(&text[plain..i], plain, i);
            m.push(&ch, i, i + len);
            i += len;
            plain = i;
        } else {
            i += 1;
        }
    }
    m.push(&text[plain..end], plain, end);
    m.finish(end)
}

/// Characters a fix may not insert into HTML text as they are.
pub const HTML_SPECIAL: &[char] = &['<', '>', '&', '"'];

/// Every `<pre>` block of an HTML text (with or without `<code>` inside), decoded: tags
/// (syntax highlighting spans) dropped, entities decoded. The info is the `language-x` or
/// `lang-x` class, if any.
pub fn pre_blocks(text: &str) -> Vec<(String, Mapped)> {
    static PRE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?is)<pre\b([^>]*)>(.*?)</pre\s*>")
            .expect("valid regex")
    });
    static LANG: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)\b(?:language|lang)-([\w+#-]+)")
            .expect("valid regex")
    });
    let mut out = Vec::new();
    for c in PRE.captures_iter(text) {
        let (Some(attrs), Some(body)) = (c.get(1), c.get(2)) else {
            continue;
        };
        // The class may sit on `<pre>` or on the `<code>` inside.
        let head_end = body.as_str().find('>').map_or(0, |p| p + 1);
        let head = if body.as_str().trim_start().starts_with("<code") {
            &body.as_str()[..head_end]
        } else {
            ""
        };
        let info = LANG
            .captures(attrs.as_str())
            .or_else(|| LANG.captures(head))
            .map(|l| l[1].to_owned())
            .unwrap_or_default();
        out.push((info, decode_html(text, body.range())));
    }
    out
}

/// Decodes the file bytes `r`: tags removed, the common entities decoded.
fn decode_html(text: &str, r: Range<usize>) -> Mapped {
    let mut m = Mapped::new();
    let b = text.as_bytes();
    let mut i = r.start;
    let mut plain = i;
    while i < r.end {
        match b[i] {
            b'<' => {
                let close = text[i..r.end].find('>').map_or(r.end, |p| i + p + 1);
                m.push(&text[plain..i], plain, i);
                m.push("", i, close);
                i = close;
                plain = i;
            }
            b'&' => {
                let semi = text[i..r.end.min(i + 12)].find(';').map(|p| i + p);
                let decoded = semi.and_then(|s| entity(&text[i + 1..s]));
                if let (Some(s), Some(ch)) = (semi, decoded) {
                    m.push(&text[plain..i], plain, i);
                    m.push(ch.encode_utf8(&mut [0; 4]), i, s + 1);
                    i = s + 1;
                    plain = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    m.push(&text[plain..r.end], plain, r.end);
    m.finish(r.end)
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// The code blocks of an HTML document, analyzed as their class or their structure says.
/// Blocks without either are output or prose: left alone.
pub fn analyze_html(text: &str, ctx: &Context, out: &mut Analysis) {
    for (info, block) in pre_blocks(text) {
        let kind = FileKind::from_fence(&info)
            .filter(|k| *k != FileKind::Xml)
            .or_else(|| sniff::structured_kind(&block.text));
        let Some(kind) = kind else { continue };
        let sub_ctx = Context { kind, ..*ctx };
        let mut sub = super::analyze(&block.text, &sub_ctx);
        sub.problems.clear();
        extend_mapped(out, sub, &block, HTML_SPECIAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_tags_decode_with_a_map_back() {
        let html = "<p>x</p><pre><code class=\"language-bash\">az vm &amp;&amp; <span class=\"k\">echo</span> &quot;a&quot;</code></pre>";
        let blocks = pre_blocks(html);
        assert_eq!(blocks.len(), 1);
        let (info, m) = &blocks[0];
        assert_eq!(info, "bash");
        assert_eq!(m.text, "az vm && echo \"a\"");
        // `echo` sits inside the span in the file.
        let at = m.text.find("echo").unwrap();
        let r = m.range(&(at..at + 4));
        assert_eq!(&html[r], "echo");
        // `&&` spans two entities: not verbatim, so no fix may edit it.
        assert!(!m.verbatim(&(6..8)));
        assert!(m.verbatim(&(0..5)));
    }

    #[test]
    fn unknown_entities_stay_as_they_are() {
        let html = "<pre>a &bogus; b &#x41;</pre>";
        let (_, m) = &pre_blocks(html)[0];
        assert_eq!(m.text, "a &bogus; b A");
    }
}

//! An HCL lexer: just enough of HCL's native syntax to find blocks, attributes and values.
//! Comments vanish; a quoted template or heredoc becomes one token, so text inside strings can
//! never be mistaken for structure.

use super::syntax::{K, Tok, unicode_space};

pub(crate) fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c == b'*' || c >= 0x80
}

pub(crate) fn lex(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let len = b.len();
    let mut toks = Vec::new();
    let mut nl = true;
    let mut i = 0;
    while i < len {
        let c = b[i];
        match c {
            b'\n' => {
                nl = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            _ if unicode_space(b, i) > 0 => {
                i += unicode_space(b, i);
                continue;
            }
            b'#' => {
                i = to_eol(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = to_eol(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = memchr::memmem::find(&b[i + 2..], b"*/").map_or(len, |p| i + 2 + p + 2);
                // A block comment spanning lines still separates statements.
                if memchr::memchr(b'\n', &b[i..end]).is_some() {
                    nl = true;
                }
                i = end;
                continue;
            }
            _ => {}
        }
        let start = i;
        let kind;
        if c == b'"' {
            i = template_end(b, i);
            kind = K::Str;
        } else if c == b'<'
            && b.get(i + 1) == Some(&b'<')
            && let Some(end) = heredoc_end(b, i)
        {
            i = end;
            kind = K::Heredoc;
        } else if is_word_byte(c) {
            while i < len && is_word_byte(b[i]) && unicode_space(b, i) == 0 {
                i += 1;
            }
            kind = K::Word;
        } else if matches!(c, b'=' | b'!' | b'<' | b'>' | b'&' | b'|')
            && matches!(b.get(i + 1), Some(b'=' | b'>' | b'&' | b'|'))
        {
            i += 2;
            kind = K::Op;
        } else {
            i += 1;
            kind = K::P(c);
        }
        toks.push(Tok {
            k: kind,
            s: start,
            e: i,
            nl,
        });
        nl = false;
    }
    toks
}

fn to_eol(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p)
}

/// The end of the quoted template starting at `i`; `$${` and `%%{` are escapes, not
/// interpolations.
fn template_end(b: &[u8], i: usize) -> usize {
    super::syntax::interpolated_string_end(b, i, b'"', b"$%", true)
}

/// `<<EOF` or `<<-EOF` then a line break: the offset after the closing marker line's content.
fn heredoc_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 2;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let ident_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-') {
        j += 1;
    }
    if j == ident_start || !b[ident_start].is_ascii_alphabetic() && b[ident_start] != b'_' {
        return None;
    }
    let ident = &b[ident_start..j];
    while j < b.len() && (b[j] == b' ' || b[j] == b'\t' || b[j] == b'\r') {
        j += 1;
    }
    if b.get(j) != Some(&b'\n') {
        return None;
    }
    let mut line = j + 1;
    while line < b.len() {
        let end = to_eol(b, line);
        let content = b[line..end].trim_ascii();
        if content == ident {
            return Some(
                line + (b[line..end].len() - b[line..end].trim_ascii_start().len()) + ident.len(),
            );
        }
        line = end + 1;
    }
    Some(b.len())
}

/// The body of a heredoc token (between the marker lines).
pub(crate) fn heredoc_body(raw: &str) -> &str {
    let body = raw.find('\n').map_or("", |p| &raw[p + 1..]);
    let end = body.rfind('\n').map_or(0, |p| p + 1);
    &body[..end]
}

/// The value of a quoted template without interpolations, escapes decoded.
pub(crate) fn literal(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                other => out.push(other),
            },
            '$' | '%' if chars.peek() == Some(&c) => {
                chars.next();
                out.push(c);
            }
            '$' | '%' if chars.peek() == Some(&'{') => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

/// `"${var.x}"` → `var.x`: a template that only interpolates one traversal.
pub(crate) fn sole_interpolation(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix("\"${")?.strip_suffix("}\"")?.trim();
    inner.bytes().all(is_word_byte).then_some(inner)
}

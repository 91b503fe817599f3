//! A JSON-with-comments parser that keeps byte spans, for ARM templates.
//!
//! Iterative (an explicit stack) so that hostile nesting cannot overflow the call stack; nesting
//! deeper than [`MAX_DEPTH`] is refused, which bounds the work on such input. Tolerates `//` and
//! `/* */` comments and trailing commas, as Azure's own template parser does.

use std::ops::Range;

/// Deepest nesting accepted. Real templates stay far below 64; beyond this the file is searched
/// as text instead.
pub const MAX_DEPTH: usize = 256;
/// Most values kept for one document (about 100 bytes each): bounds memory on huge data files,
/// which are then searched as text.
pub const MAX_NODES: usize = 1_000_000;

#[derive(Debug)]
pub enum Value {
    Object(Vec<Member>),
    Array(Vec<Element>),
    /// The decoded string.
    Str(String),
    /// Numbers, `true`, `false`, `null`: only their source text matters here.
    Scalar,
}

#[derive(Debug)]
pub struct Node {
    pub value: Value,
    /// From the opening to the closing byte (quotes and brackets included).
    pub span: Range<usize>,
    pub parent: Option<usize>,
    /// Index among the parent's members or elements (keeps `key_of` constant-time).
    pub slot: usize,
}

#[derive(Debug)]
pub struct Member {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: usize,
    /// The comma that follows the member, if any (a trailing comma included).
    pub comma_after: Option<usize>,
}

#[derive(Debug)]
pub struct Element {
    pub value: usize,
    pub comma_after: Option<usize>,
}

/// A parsed document: nodes in an arena, `root` first.
#[derive(Debug)]
pub struct Doc {
    pub nodes: Vec<Node>,
    pub root: usize,
    /// In fragment mode: a comma before the first top-level value (Go templates emit `,{`).
    pub leading_comma: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    /// `invalid JSON at line L, column C: message`, with 1-based line and character column.
    pub fn describe(&self, text: &str) -> String {
        let (line, col) = line_col(text, self.offset);
        format!(
            "invalid JSON at line {line}, column {col}: {}",
            self.message
        )
    }
}

impl ParseError {
    /// True when the text was refused for holding more than [`MAX_NODES`] values, not for its
    /// syntax.
    pub fn is_too_large(&self) -> bool {
        self.message == too_large_message()
    }
}

fn too_large_message() -> String {
    format!("more than {MAX_NODES} values")
}

/// The number of values (scalars, objects, arrays; not keys) in a JSONC text, counted by a
/// linear pass that stores nothing: what a text refused by [`MAX_NODES`] holds. Exact for
/// valid JSONC.
pub fn count_values(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut pos, mut count) = (0, 0);
    let mut in_scalar = false;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-') {
            count += usize::from(!in_scalar);
            in_scalar = true;
            pos += 1;
            continue;
        }
        in_scalar = false;
        match byte {
            b'{' | b'[' => count += 1,
            b'"' => {
                pos += 1;
                while pos < bytes.len() && bytes[pos] != b'"' {
                    pos += if bytes[pos] == b'\\' { 2 } else { 1 };
                }
                // A string followed by `:` is a key, not a value.
                let mut next = pos + 1;
                while next < bytes.len() && bytes[next].is_ascii_whitespace() {
                    next += 1;
                }
                count += usize::from(bytes.get(next) != Some(&b':'));
            }
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                pos = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |p| pos + p);
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                pos = memchr::memmem::find(&bytes[pos + 2..], b"*/")
                    .map_or(bytes.len(), |p| pos + 2 + p + 1);
            }
            _ => {}
        }
        pos += 1;
    }
    count
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let line = memchr::memchr_iter(b'\n', &bytes[..offset]).count() + 1;
    // Count characters, not bytes: UTF-8 continuation bytes do not start a character.
    let col = bytes[line_start..offset]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, col)
}

impl Doc {
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub fn members(&self, i: usize) -> &[Member] {
        match &self.nodes[i].value {
            Value::Object(m) => m,
            _ => &[],
        }
    }

    pub fn elements(&self, i: usize) -> &[Element] {
        match &self.nodes[i].value {
            Value::Array(e) => e,
            _ => &[],
        }
    }

    pub fn is_object(&self, i: usize) -> bool {
        matches!(self.nodes[i].value, Value::Object(_))
    }

    pub fn str(&self, i: usize) -> Option<&str> {
        match &self.nodes[i].value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The member of object `i` named `key` (ARM names are case-insensitive).
    pub fn get(&self, i: usize, key: &str) -> Option<usize> {
        self.members(i)
            .iter()
            .find(|m| m.key.eq_ignore_ascii_case(key))
            .map(|m| m.value)
    }

    /// The key under which node `i` sits in its parent object, if its parent is an object.
    pub fn key_of(&self, i: usize) -> Option<&str> {
        let p = self.nodes[i].parent?;
        self.members(p)
            .get(self.nodes[i].slot)
            .filter(|m| m.value == i)
            .map(|m| m.key.as_str())
    }
}

enum Frame {
    Object {
        node: usize,
        members: Vec<Member>,
        /// A key read, waiting for its value.
        key: Option<(String, Range<usize>)>,
        state: ObjState,
    },
    Array {
        node: usize,
        elements: Vec<Element>,
        /// Implicit top-level array of a Go-template fragment: closed by the end of the text.
        implicit: bool,
        state: ArrState,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ObjState {
    KeyOrClose,
    Colon,
    Value,
    CommaOrClose,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrState {
    ValueOrClose,
    CommaOrClose,
}

struct Lexer<'a> {
    /// The text, for slicing strings out without checking their UTF-8 again.
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// Skips whitespace and comments; errors on an unterminated block comment.
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            while self.pos < self.b.len()
                && matches!(self.b[self.pos], b' ' | b'\t' | b'\r' | b'\n')
            {
                self.pos += 1;
            }
            if self.b.get(self.pos) == Some(&b'/') {
                match self.b.get(self.pos + 1) {
                    Some(b'/') => {
                        self.pos = memchr::memchr(b'\n', &self.b[self.pos..])
                            .map_or(self.b.len(), |p| self.pos + p);
                    }
                    Some(b'*') => {
                        let start = self.pos;
                        match memchr::memmem::find(&self.b[self.pos + 2..], b"*/") {
                            Some(p) => self.pos += 2 + p + 2,
                            None => {
                                return Err(ParseError {
                                    offset: start,
                                    message: "unterminated /* comment".into(),
                                });
                            }
                        }
                    }
                    _ => return Ok(()),
                }
            } else {
                // A UTF-8 BOM or non-breaking space is not JSON whitespace; leave it to the caller.
                return Ok(());
            }
        }
    }

    fn string(&mut self) -> Result<(String, Range<usize>), ParseError> {
        let start = self.pos;
        let mut out = String::new();
        let mut i = self.pos + 1;
        let mut run = i;
        loop {
            let Some(rel) = memchr::memchr2(b'"', b'\\', &self.b[i..]) else {
                return Err(ParseError {
                    offset: start,
                    message: "unterminated string".into(),
                });
            };
            let at = i + rel;
            // `run` and `at` sit next to ASCII bytes (quotes, escapes), so on char boundaries.
            out.push_str(&self.text[run..at]);
            if self.b[at] == b'"' {
                self.pos = at + 1;
                return Ok((out, start..self.pos));
            }
            let esc = self.b.get(at + 1).copied();
            i = at + 2;
            match esc {
                Some(b'n') => out.push('\n'),
                Some(b't') => out.push('\t'),
                Some(b'r') => out.push('\r'),
                Some(b'b') => out.push('\u{8}'),
                Some(b'f') => out.push('\u{c}'),
                Some(b'u') => {
                    let hex = |from: usize| -> Option<u32> {
                        let h = self.b.get(from..from + 4)?;
                        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
                    };
                    match hex(at + 2) {
                        Some(hi) => {
                            i = at + 6;
                            let mut cp = hi;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(i..i + 2) == Some(b"\\u")
                                && let Some(lo) = hex(i + 2)
                                && (0xDC00..0xE000).contains(&lo)
                            {
                                cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                i += 6;
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        None => {
                            return Err(ParseError {
                                offset: at,
                                message: "invalid \\u escape".into(),
                            });
                        }
                    }
                }
                Some(c) if c.is_ascii() => out.push(c as char),
                Some(_) => {
                    // An escaped non-ASCII character: keep it whole.
                    i = at + 1;
                }
                None => {
                    return Err(ParseError {
                        offset: start,
                        message: "unterminated string".into(),
                    });
                }
            }
            run = i;
        }
    }

    fn scalar(&mut self) -> Result<Range<usize>, ParseError> {
        let start = self.pos;
        while self.pos < self.b.len()
            && (self.b[self.pos].is_ascii_alphanumeric()
                || matches!(self.b[self.pos], b'+' | b'-' | b'.'))
        {
            self.pos += 1;
        }
        let word = &self.b[start..self.pos];
        let ok = matches!(word, b"true" | b"false" | b"null")
            || (!word.is_empty()
                && (word[0].is_ascii_digit() || word[0] == b'-')
                && word
                    .iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E')));
        if ok {
            Ok(start..self.pos)
        } else {
            Err(ParseError {
                offset: start,
                message: "expected a value".into(),
            })
        }
    }
}

/// Parses `text` as one JSONC value. With `fragment`, the text may instead be a comma-separated
/// sequence of values, possibly starting with a comma (a piece of a Go-templated array).
pub fn parse(text: &str, fragment: bool) -> Result<Doc, ParseError> {
    let b = text.as_bytes();
    let mut lx = Lexer { text, b, pos: 0 };
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut leading_comma = None;
    let err = |offset: usize, message: &str| ParseError {
        offset,
        message: message.to_owned(),
    };
    if fragment {
        nodes.push(Node {
            value: Value::Scalar,
            span: 0..b.len(),
            parent: None,
            slot: 0,
        });
        stack.push(Frame::Array {
            node: 0,
            elements: Vec::new(),
            implicit: true,
            state: ArrState::ValueOrClose,
        });
        lx.skip_trivia()?;
        if b.get(lx.pos) == Some(&b',') {
            leading_comma = Some(lx.pos);
            lx.pos += 1;
        }
    }
    // The value just completed, to be attached to the frame on top of the stack.
    let mut done: Option<usize> = None;
    loop {
        if let Some(v) = done.take() {
            match stack.last_mut() {
                None => {
                    lx.skip_trivia()?;
                    if lx.pos < b.len() {
                        return Err(err(
                            lx.pos,
                            "unexpected content after the end of the JSON value",
                        ));
                    }
                    return Ok(Doc {
                        nodes,
                        root: v,
                        leading_comma,
                    });
                }
                Some(Frame::Object {
                    node,
                    members,
                    key,
                    state,
                }) => {
                    let (k, ks) = key.take().unwrap_or_default();
                    nodes[v].parent = Some(*node);
                    nodes[v].slot = members.len();
                    members.push(Member {
                        key: k,
                        key_span: ks,
                        value: v,
                        comma_after: None,
                    });
                    *state = ObjState::CommaOrClose;
                }
                Some(Frame::Array {
                    node,
                    elements,
                    state,
                    ..
                }) => {
                    nodes[v].parent = Some(*node);
                    nodes[v].slot = elements.len();
                    elements.push(Element {
                        value: v,
                        comma_after: None,
                    });
                    *state = ArrState::CommaOrClose;
                }
            }
        }
        lx.skip_trivia()?;
        let pos = lx.pos;
        let c = b.get(pos).copied();
        let expecting_value = match stack.last_mut() {
            None => true,
            Some(Frame::Object {
                node,
                members,
                key,
                state,
            }) => match *state {
                ObjState::KeyOrClose | ObjState::CommaOrClose => match c {
                    Some(b'}') => {
                        lx.pos += 1;
                        let n = *node;
                        nodes[n].span.end = lx.pos;
                        nodes[n].value = Value::Object(std::mem::take(members));
                        stack.pop();
                        done = Some(n);
                        continue;
                    }
                    Some(b',') if *state == ObjState::CommaOrClose => {
                        if let Some(m) = members.last_mut() {
                            m.comma_after = Some(pos);
                        }
                        lx.pos += 1;
                        *state = ObjState::KeyOrClose;
                        continue;
                    }
                    Some(b'"') if *state == ObjState::KeyOrClose => {
                        *key = Some(lx.string()?);
                        *state = ObjState::Colon;
                        continue;
                    }
                    _ if *state == ObjState::KeyOrClose => {
                        return Err(err(pos, "expected a string key or '}'"));
                    }
                    _ => return Err(err(pos, "expected ',' or '}'")),
                },
                ObjState::Colon => {
                    if c == Some(b':') {
                        lx.pos += 1;
                        *state = ObjState::Value;
                        continue;
                    }
                    return Err(err(pos, "expected ':'"));
                }
                ObjState::Value => true,
            },
            Some(Frame::Array {
                node,
                elements,
                implicit,
                state,
            }) => match (c, *state) {
                (Some(b']'), _) if !*implicit => {
                    lx.pos += 1;
                    let n = *node;
                    nodes[n].span.end = lx.pos;
                    nodes[n].value = Value::Array(std::mem::take(elements));
                    stack.pop();
                    done = Some(n);
                    continue;
                }
                (None, _) if *implicit => {
                    let n = *node;
                    nodes[n].value = Value::Array(std::mem::take(elements));
                    stack.pop();
                    if !stack.is_empty() {
                        return Err(err(pos, "unexpected end of text"));
                    }
                    return Ok(Doc {
                        nodes,
                        root: n,
                        leading_comma,
                    });
                }
                (Some(b','), ArrState::CommaOrClose) => {
                    if let Some(e) = elements.last_mut() {
                        e.comma_after = Some(pos);
                    }
                    lx.pos += 1;
                    *state = ArrState::ValueOrClose;
                    continue;
                }
                (_, ArrState::ValueOrClose) => true,
                _ => return Err(err(pos, "expected ',' or ']'")),
            },
        };
        debug_assert!(expecting_value);
        if nodes.len() >= MAX_NODES {
            return Err(err(pos, &too_large_message()));
        }
        match c {
            None => return Err(err(pos, "unexpected end of text")),
            Some(open @ (b'{' | b'[')) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(pos, &format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                lx.pos += 1;
                let n = nodes.len();
                nodes.push(Node {
                    value: Value::Scalar,
                    span: pos..pos,
                    parent: None,
                    slot: 0,
                });
                stack.push(if open == b'{' {
                    Frame::Object {
                        node: n,
                        members: Vec::new(),
                        key: None,
                        state: ObjState::KeyOrClose,
                    }
                } else {
                    Frame::Array {
                        node: n,
                        elements: Vec::new(),
                        implicit: false,
                        state: ArrState::ValueOrClose,
                    }
                });
            }
            Some(b'"') => {
                let (s, span) = lx.string()?;
                nodes.push(Node {
                    value: Value::Str(s),
                    span,
                    parent: None,
                    slot: 0,
                });
                done = Some(nodes.len() - 1);
            }
            Some(_) => {
                let span = lx.scalar()?;
                nodes.push(Node {
                    value: Value::Scalar,
                    span,
                    parent: None,
                    slot: 0,
                });
                done = Some(nodes.len() - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_commas_and_comments() {
        let t = "{ // c\n \"a\": [1, \"x\\u0041\" ,], /* b */ \"b\": {\"c\": null},\n}";
        let d = parse(t, false).unwrap();
        let m = d.members(d.root);
        assert_eq!(m.len(), 2);
        assert_eq!(&t[m[0].key_span.clone()], "\"a\"");
        let arr = d.elements(m[0].value);
        assert_eq!(arr.len(), 2);
        assert_eq!(d.str(arr[1].value), Some("xA"));
        assert_eq!(&t[d.node(arr[1].value).span.clone()], "\"x\\u0041\"");
        assert!(arr[1].comma_after.is_some());
        assert_eq!(t.as_bytes()[m[0].comma_after.unwrap()], b',');
        assert_eq!(&t[d.node(m[1].value).span.clone()], "{\"c\": null}");
        assert_eq!(d.node(d.root).span, 0..t.len());
    }

    #[test]
    fn reports_errors_with_line_and_column() {
        let e = parse("{\n  \"a\": 1\n  \"b\": 2}", false).unwrap_err();
        assert_eq!(
            e.describe("{\n  \"a\": 1\n  \"b\": 2}"),
            "invalid JSON at line 3, column 3: expected ',' or '}'"
        );
        for bad in [
            "",
            "{",
            "[1,,]",
            "{\"a\" 1}",
            "\"abc",
            "/* x",
            "{} {}",
            "tru",
            "{\"a\":}",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_counted_without_storing_them() {
        let text =
            "// c\n{\"a\": [1, -2.5e3, true, null, \"s\\\"\"], /* x */ \"b\" : {\"c\": \"d\"}}";
        assert_eq!(count_values(text), 9);
        parse(text, false).unwrap();
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        let e = parse(&deep, false).unwrap_err();
        assert!(e.message.contains("nesting deeper"));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok, false).is_ok());
    }

    #[test]
    fn fragments_allow_a_leading_comma_and_sequences() {
        let t = "  ,{\"a\": 1},\n {\"b\": 2}\n";
        let d = parse(t, true).unwrap();
        assert_eq!(d.leading_comma, Some(2));
        assert_eq!(d.elements(d.root).len(), 2);
        assert!(parse(t, false).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for g in [
            "\u{feff}{}",
            "{\"é\":\"\\",
            "[\"\\u12\"]",
            "{\"a\":1}}",
            "]",
            "\"\\ud800\\u0041\"",
            "é",
        ] {
            let _ = parse(g, false);
            let _ = parse(g, true);
        }
    }
}

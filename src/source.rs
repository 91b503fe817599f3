//! Decoding file bytes into text (BOM, UTF-16) and mapping byte offsets to lines and columns.

use std::ops::Range;

/// How a file's bytes were turned into text; the fix engine encodes edited text back the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// Decoded file content.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The text without its BOM.
    pub text: String,
    pub encoding: Encoding,
    /// Some bytes could not be decoded and were replaced by U+FFFD: the text is good enough to
    /// search, but writing it back would change those bytes, so `fix` leaves such files alone.
    pub lossy: Option<String>,
}

/// Decodes by BOM: UTF-8 (with or without BOM), UTF-16 LE/BE. Without a BOM, text that looks like
/// UTF-16 (ASCII with every other byte NUL) is decoded as such, since PowerShell and Windows tools
/// write UTF-16 files that way.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, Encoding::Utf8Bom);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, Encoding::Utf16Le);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, Encoding::Utf16Be);
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        return utf16(bytes, encoding);
    }
    utf8(bytes, Encoding::Utf8)
}

/// Encodes text the way it was read.
pub fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf8Bom => {
            let mut out = Vec::with_capacity(text.len() + 3);
            out.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
            out.extend_from_slice(text.as_bytes());
            out
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            // A file that had no BOM but was sniffed as UTF-16 gets no BOM back either.
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            for unit in text.encode_utf16() {
                let pair = if encoding == Encoding::Utf16Le {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                };
                out.extend_from_slice(&pair);
            }
            out
        }
    }
}

/// True when `bytes` start with a UTF-16 BOM (the BOM is written back by [`encode_like`]).
pub fn has_utf16_bom(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])
}

/// Encodes `text` exactly as `original` was encoded, BOM included.
pub fn encode_like(text: &str, encoding: Encoding, original: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if matches!(encoding, Encoding::Utf16Le | Encoding::Utf16Be) && has_utf16_bom(original) {
        out.extend_from_slice(&original[..2]);
    }
    out.extend_from_slice(&encode(text, encoding));
    out
}

fn utf8(bytes: &[u8], encoding: Encoding) -> Decoded {
    match std::str::from_utf8(bytes) {
        Ok(text) => Decoded {
            text: text.to_owned(),
            encoding,
            lossy: None,
        },
        Err(err) => Decoded {
            text: String::from_utf8_lossy(bytes).into_owned(),
            encoding,
            lossy: Some(format!(
                "invalid UTF-8 at byte {}",
                err.valid_up_to() + usize::from(encoding == Encoding::Utf8Bom) * 3
            )),
        },
    }
}

fn utf16(bytes: &[u8], encoding: Encoding) -> Decoded {
    let odd = bytes.len() % 2 == 1;
    let units = bytes.chunks_exact(2).map(|pair| {
        if encoding == Encoding::Utf16Le {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut bad = None;
    for (i, unit) in char::decode_utf16(units).enumerate() {
        match unit {
            Ok(c) => text.push(c),
            Err(_) => {
                bad.get_or_insert(i);
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    let lossy = match (bad, odd) {
        (Some(i), _) => Some(format!("unpaired UTF-16 surrogate near code unit {i}")),
        (None, true) => Some(format!(
            "{} has an odd number of bytes; the last byte was ignored",
            encoding.as_str()
        )),
        (None, false) => None,
    };
    Decoded {
        text,
        encoding,
        lossy,
    }
}

/// BOM-less UTF-16: NUL bytes in the high half of code units and nowhere else, in at least an
/// eighth of the units of the head (code and markup are mostly ASCII even when a header comment
/// is not), and every unit of the head a character a text file holds (no other NUL, no control
/// character but whitespace, no unpaired surrogate). A UTF-8 file with a stray NUL, or a binary
/// file, fails one of these.
pub fn sniff_utf16(bytes: &[u8]) -> Option<Encoding> {
    let head = &bytes[..bytes.len().min(8192) & !1];
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_hi = head.chunks_exact(2).filter(|p| p[1] == 0).count();
    let zero_lo = head.chunks_exact(2).filter(|p| p[0] == 0).count();
    let candidates = [
        (Encoding::Utf16Le, zero_hi, zero_lo),
        (Encoding::Utf16Be, zero_lo, zero_hi),
    ];
    candidates
        .into_iter()
        .find(|&(encoding, high_zeros, low_zeros)| {
            high_zeros * 8 >= pairs && low_zeros * 8 < pairs && plausible_utf16(head, encoding)
        })
        .map(|(encoding, _, _)| encoding)
}

fn plausible_utf16(head: &[u8], encoding: Encoding) -> bool {
    let units = head.chunks_exact(2).map(|p| {
        if encoding == Encoding::Utf16Le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let mut decoded = char::decode_utf16(units).peekable();
    while let Some(unit) = decoded.next() {
        match unit {
            Ok(c) if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') => return false,
            Ok('\u{fffe}' | '\u{ffff}') => return false,
            Ok(_) => {}
            // A surrogate cut off by the end of the head is not evidence against.
            Err(_) => return decoded.peek().is_none(),
        }
    }
    true
}

/// Maps byte offsets of a text to 1-based line and character column.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of the byte at `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// 1-based line and 1-based column in characters. Offsets inside a character are rounded down.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line(offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }

    /// Line and column (as [`LineIndex::line_col`]) of each offset, counting the characters of
    /// the text once in all rather than once per offset: thousands of findings on one long line
    /// (minified JSON) cost one pass over it, not one per finding.
    pub fn line_cols(&self, text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_by_key(|&i| offsets[i]);
        let mut out = vec![(1, 1); offsets.len()];
        let (mut line, mut last, mut col) = (0, 0, 1);
        for i in order {
            let offset = floor_char_boundary(text, offsets[i].min(text.len()));
            let l = self.line(offset);
            if l != line {
                (line, last, col) = (l, self.starts[l - 1], 1);
            }
            col += text[last..offset].chars().count();
            last = offset;
            out[i] = (line, col);
        }
        out
    }

    /// The byte range of 1-based `line`, without its line break.
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let start = self.starts[line - 1];
        let mut end = self.starts.get(line).map_or(text.len(), |&s| s - 1);
        if end > start && text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }
}

pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A file whose lines end in CR alone (classic Mac OS) is analyzed with LF in their place: every
/// analyzer works on `\n`-terminated lines, and the swap keeps every byte offset. Returns whether
/// the text was such a file (no LF at all, some CR); [`lf_to_cr`] turns the fixed text back.
pub fn cr_to_lf(text: &mut String) -> bool {
    if memchr::memchr(b'\n', text.as_bytes()).is_some()
        || memchr::memchr(b'\r', text.as_bytes()).is_none()
    {
        return false;
    }
    *text = text.replace('\r', "\n");
    true
}

/// Undoes [`cr_to_lf`] on a fixed text (line breaks inserted by fixes become CR too).
pub fn lf_to_cr(text: &mut String) {
    *text = text.replace('\n', "\r");
}

/// The line ending a file mostly uses; edits insert line breaks in this style.
pub fn dominant_line_ending(text: &str) -> &'static str {
    let lf = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let crlf = text.matches("\r\n").count();
    if crlf > 0 && crlf * 2 >= lf {
        "\r\n"
    } else {
        "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms_and_round_trips() {
        let text = "a\u{e9}\r\nb";
        for enc in [
            Encoding::Utf8,
            Encoding::Utf8Bom,
            Encoding::Utf16Le,
            Encoding::Utf16Be,
        ] {
            let mut bytes = match enc {
                Encoding::Utf16Le => vec![0xFF, 0xFE],
                Encoding::Utf16Be => vec![0xFE, 0xFF],
                _ => vec![],
            };
            bytes.extend(encode(text, enc));
            let d = decode(&bytes);
            assert_eq!(d.text, text);
            assert_eq!(d.encoding, enc);
            assert!(d.lossy.is_none());
            assert_eq!(encode_like(&d.text, d.encoding, &bytes), bytes);
        }
    }

    #[test]
    fn sniffs_bomless_utf16() {
        let bytes = encode("Set-AzVMExtension -Publisher x", Encoding::Utf16Le);
        let d = decode(&bytes);
        assert_eq!(d.encoding, Encoding::Utf16Le);
        assert_eq!(d.text, "Set-AzVMExtension -Publisher x");
    }

    #[test]
    fn sniffs_bomless_utf16_with_a_non_ascii_header() {
        let text = "# Скрипт развёртывания: управляемое удостоверение виртуальной машины\r\n"
            .repeat(3)
            + "Set-AzVMExtension -Publisher Microsoft.ManagedIdentity\r\n";
        for enc in [Encoding::Utf16Le, Encoding::Utf16Be] {
            let d = decode(&encode(&text, enc));
            assert_eq!(d.encoding, enc);
            assert_eq!(d.text, text);
        }
        // UTF-8 with a stray NUL is not UTF-16.
        assert_eq!(
            decode(b"{\"a\": \"\0\", \"u\": \"http://x/\"}").encoding,
            Encoding::Utf8
        );
    }

    #[test]
    fn cr_only_files_are_analyzed_as_lines() {
        let mut t = String::from("a\rb\r");
        assert!(cr_to_lf(&mut t));
        assert_eq!(t, "a\nb\n");
        lf_to_cr(&mut t);
        assert_eq!(t, "a\rb\r");
        let mut mixed = String::from("a\r\nb\rc");
        assert!(!cr_to_lf(&mut mixed));
        assert_eq!(mixed, "a\r\nb\rc");
    }

    #[test]
    fn odd_utf16_and_bad_utf8_are_lossy() {
        assert!(decode(&[0xFF, 0xFE, b'a', 0, b'b']).lossy.is_some());
        let d = decode(b"ok \xFF bad");
        assert!(d.lossy.unwrap().contains("byte 3"));
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "\u{e9}\u{e9}x\r\ny\u{1F600}z";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 4), (1, 3));
        let z = text.find('z').unwrap();
        assert_eq!(idx.line_col(text, z), (2, 3));
        assert_eq!(&text[idx.line_range(text, 1)], "\u{e9}\u{e9}x");
    }
}

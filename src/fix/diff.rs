//! Unified diffs that `git apply` accepts from the scan root: text diffs for UTF-8 files, and
//! git's binary patch format for UTF-16 files (which git treats as binary).

use std::{fmt::Write as _, path::Path};

use similar::{ChangeTag, TextDiff};

/// The diff of one file, `a/`/`b/` prefixed, relative to the scan root. The name is quoted as
/// git quotes it, from its raw bytes.
pub fn render(rel: impl AsRef<Path>, before: &[u8], after: &[u8]) -> String {
    let raw = rel.as_ref().as_os_str().as_encoded_bytes();
    match (std::str::from_utf8(before), std::str::from_utf8(after)) {
        (Ok(old), Ok(new)) if !old.contains('\0') && !new.contains('\0') => text(raw, old, new),
        _ => binary(raw, before, after),
    }
}

/// `prefix` + `name` as git writes it in headers (`core.quotePath`, the default): names holding
/// control characters, `"`, `\\` or bytes above 0x7F are put in double quotes with C escapes
/// and octal bytes; others are written as they are.
pub fn quote_path(prefix: &str, name: &[u8]) -> String {
    let needs = name
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7F);
    if !needs {
        return format!("{prefix}{}", String::from_utf8_lossy(name));
    }
    let mut out = format!("\"{prefix}");
    for &b in name {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0B => out.push_str("\\v"),
            0x0C => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

fn header(raw: &[u8]) -> String {
    let a = quote_path("a/", raw);
    let b = quote_path("b/", raw);
    format!("diff --git {a} {b}\n")
}

/// Lines are split at `\n` only, as git does: a CR-only file is one line, and a last line
/// without `\n` gets git's marker, so the next file's header always starts on a line of its own.
fn text(raw: &[u8], old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let diff = TextDiff::from_slices(&old_lines, &new_lines);
    let mut out = header(raw);
    // git ends a name holding a space with a tab in these two lines.
    let tab = if raw.contains(&b' ') { "\t" } else { "" };
    let _ = writeln!(out, "--- {}{tab}", quote_path("a/", raw));
    let _ = writeln!(out, "+++ {}{tab}", quote_path("b/", raw));
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (old_start, old_end) = (first.old_range().start, last.old_range().end);
        let (new_start, new_end) = (first.new_range().start, last.new_range().end);
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            hunk_range(old_start, old_end - old_start),
            hunk_range(new_start, new_end - new_start)
        );
        for op in &group {
            for change in diff.iter_changes(op) {
                out.push(match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                });
                let line = change.value();
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// `start,len` of a hunk side, 1-based; an empty side names the line before it.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// git's `GIT binary patch` with literal forward and reverse hunks. `git apply` insists on the
/// full blob ids of both sides, so we compute them.
fn binary(raw: &[u8], before: &[u8], after: &[u8]) -> String {
    let mut out = header(raw);
    let _ = write!(
        out,
        "index {}..{}\nGIT binary patch\n",
        blob_id(before),
        blob_id(after)
    );
    literal(&mut out, after);
    literal(&mut out, before);
    out
}

fn literal(out: &mut String, data: &[u8]) {
    let _ = writeln!(out, "literal {}", data.len());
    let deflated = zlib_stored(data);
    for chunk in deflated.chunks(52) {
        let len = chunk.len() as u8;
        out.push(if len <= 26 {
            char::from(b'A' + len - 1)
        } else {
            char::from(b'a' + len - 27)
        });
        base85(out, chunk);
        out.push('\n');
    }
    out.push('\n');
}

const B85: &[u8; 85] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

fn base85(out: &mut String, data: &[u8]) {
    for group in data.chunks(4) {
        let mut word = [0u8; 4];
        word[..group.len()].copy_from_slice(group);
        let mut acc = u32::from_be_bytes(word);
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = B85[(acc % 85) as usize];
            acc /= 85;
        }
        out.extend(chars.iter().map(|&c| char::from(c)));
    }
}

/// A zlib stream of stored (uncompressed) deflate blocks: valid input for git's inflate, and
/// no compression library needed for the rare UTF-16 file.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(0xFFFF).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// git's object id of a blob: SHA-1 of `blob <len>\0<content>`.
fn blob_id(data: &[u8]) -> String {
    let mut msg = format!("blob {}\0", data.len()).into_bytes();
    msg.extend_from_slice(data);
    sha1(&msg).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-1 (FIPS 180-4), used only to name blobs the way git does, not for security. The
/// one-letter names are the standard's.
#[allow(clippy::many_single_char_names)]
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `git hash-object` of an empty file and of "hello\n".
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn text_diff_has_git_headers() {
        let d = render(Path::new("x/a.txt"), b"one\ntwo\n", b"one\n2\n");
        assert!(d.starts_with("diff --git a/x/a.txt b/x/a.txt\n--- a/x/a.txt\n+++ b/x/a.txt\n"));
        assert!(d.contains("@@ -1,2 +1,2 @@\n one\n-two\n+2\n"), "{d}");
    }

    #[test]
    fn names_are_quoted_as_git_quotes_them() {
        assert_eq!(quote_path("a/", b"plain name.sh"), "a/plain name.sh");
        assert_eq!(
            quote_path("a/", b"back\\slash.sh"),
            "\"a/back\\\\slash.sh\""
        );
        assert_eq!(
            quote_path("b/", "t\tn\nq\"\u{e9}\x7f".as_bytes()),
            "\"b/t\\tn\\nq\\\"\\303\\251\\177\""
        );
        assert_eq!(quote_path("a/", b"bad\xffname"), "\"a/bad\\377name\"");
    }

    #[test]
    fn cr_only_text_ends_on_its_own_line() {
        let d = render(Path::new("a.sh"), b"one\rtwo\r", b"one\r2\r");
        assert!(
            d.ends_with("+one\r2\r\n\\ No newline at end of file\n"),
            "{d:?}"
        );
    }
}

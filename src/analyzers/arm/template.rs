//! Go `text/template` markup in JSON (acs-engine's `.t` parts): blanking it keeps byte offsets,
//! so what is found in the blanked text is found at the same place in the file.

use std::ops::Range;

/// Actions that only steer the template and emit nothing themselves.
const CONTROL: [&str; 9] = [
    "if", "else", "end", "range", "with", "define", "block", "break", "continue",
];

pub struct Blanked {
    pub text: String,
}

/// True when `text` holds template control markup, which plain JSON string values rarely do.
pub fn has_control(text: &str) -> bool {
    actions(text)
        .iter()
        .any(|r| is_control(text.get(r.clone()).unwrap_or("")))
}

fn is_control(action: &str) -> bool {
    let inner = action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim_matches(|c: char| c == '-' || c.is_whitespace());
    inner.starts_with("/*")
        || CONTROL.iter().any(|k| {
            inner == *k
                || inner
                    .strip_prefix(k)
                    .is_some_and(|r| r.starts_with([' ', '\t', '\n', '(']))
        })
}

fn actions(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    let b = text.as_bytes();
    while let Some(p) = memchr::memmem::find(&b[from..], b"{{") {
        let start = from + p;
        // Generated templates nest actions (`{{ if {{.Name}}Enabled}}`): match them as one.
        let mut depth = 1usize;
        let mut i = start + 2;
        while depth > 0 && i + 1 < b.len() {
            match (b[i], b[i + 1]) {
                (b'{', b'{') => {
                    depth += 1;
                    i += 2;
                }
                (b'}', b'}') => {
                    depth -= 1;
                    i += 2;
                }
                _ => i += 1,
            }
        }
        if depth > 0 {
            break;
        }
        out.push(start..i);
        from = i;
    }
    out
}

/// Replaces every action with spaces (keeping line breaks); an action standing for a value
/// (`"x": {{.Size}}`) becomes `null`, so the blanked text has a chance to parse.
pub fn blank(text: &str) -> Option<Blanked> {
    let acts = actions(text);
    if acts.is_empty() {
        return None;
    }
    let mut b = text.as_bytes().to_vec();
    for r in &acts {
        for c in &mut b[r.clone()] {
            if *c != b'\n' && *c != b'\r' {
                *c = b' ';
            }
        }
    }
    let mut in_string = false;
    let mut escaped = false;
    let mut last_significant = 0u8;
    let mut next = 0;
    for i in 0..b.len() {
        while next < acts.len() && acts[next].end <= i {
            next += 1;
        }
        if next < acts.len()
            && acts[next].start == i
            && !in_string
            && last_significant == b':'
            && !is_control(&text[acts[next].clone()])
        {
            b[i..i + 4].copy_from_slice(b"null");
        }
        let c = b[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' || c == b'\n' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        }
        if !c.is_ascii_whitespace() {
            last_significant = c;
        }
    }
    Some(Blanked {
        text: String::from_utf8(b).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_with_same_length_and_lines() {
        let t = "{{if A}}\n{\"a\": {{.N}}, \"b\": \"x{{.Name}}\"}\n{{end}}";
        let b = blank(t).unwrap();
        assert_eq!(b.text.len(), t.len());
        assert_eq!(b.text.lines().count(), t.lines().count());
        assert!(b.text.contains("\"a\": null"));
        assert!(b.text.contains("\"x         \""));
        assert!(has_control(t));
        assert!(!has_control("{\"a\": \"{{.Name}}\"}"));
        assert!(blank("{{ unterminated").is_none());
        let nested = "{\n{{ if {{.Name}}Enabled}}\n\"a\": 1\n{{end}}\n}";
        let b = blank(nested).unwrap();
        assert_eq!(b.text, "{\n                        \n\"a\": 1\n       \n}");
        assert!(blank("}}{{").is_none());
    }
}

//! The fallback for JSON that does not parse (Go templates whose branches cannot be blanked
//! into valid JSON, broken or too deeply nested files): objects found by brace matching that
//! respects strings and comments, their string and number members read at their own level.
//!
//! Heap-allocated frames only, one pass per phase: linear in the text, whatever its nesting.

use std::collections::HashMap;

use super::{GO_MARKUP, IMDS_HINT, edits, is_extension_type, is_publisher, template, whole_ref};
use crate::finding::{Diagnostic, Fix};

/// Nesting kept by the fallback; deeper objects are skipped (real templates stay far below).
const MAX_FRAMES: usize = 1024;

#[derive(Default)]
struct Frame {
    is_object: bool,
    start: usize,
    /// The key this container is the value of (lower-case), if any.
    key: Option<String>,
    pending_key: Option<String>,
    publisher: Option<String>,
    ty: Option<String>,
    name: Option<String>,
    /// Where the name's string stands (quotes included): messages show it as written, not as
    /// blanked.
    name_span: Option<std::ops::Range<usize>>,
    port: Option<String>,
    /// Set on an object whose `properties` child is the extension: (type, port).
    extension: Option<(String, Option<String>)>,
    /// `port` of a `settings` child.
    settings_port: Option<String>,
}

struct Scan<'a> {
    b: &'a [u8],
    vars: HashMap<String, String>,
}

impl Scan<'_> {
    fn resolve(&self, s: &str) -> String {
        match whole_ref(s) {
            Some((true, name)) => self
                .vars
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
            _ => s.to_owned(),
        }
    }

    /// A string starting at `pos` (`"` or JSON5's `'`): (decoded, end). Unterminated strings
    /// end at the line end.
    fn string(&self, pos: usize) -> (String, usize) {
        let quote = self.b[pos];
        let mut i = pos + 1;
        let mut out = Vec::new();
        while i < self.b.len() {
            match self.b[i] {
                c if c == quote => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
                b'\n' => break,
                b'\\' if i + 1 < self.b.len() => {
                    out.push(self.b[i + 1]);
                    i += 2;
                    continue;
                }
                c => out.push(c),
            }
            i += 1;
        }
        (String::from_utf8_lossy(&out).into_owned(), i)
    }

    fn skip_trivia(&self, mut i: usize) -> usize {
        loop {
            while i < self.b.len() && self.b[i].is_ascii_whitespace() {
                i += 1;
            }
            if self.b.get(i) == Some(&b'/') && self.b.get(i + 1) == Some(&b'/') {
                i = memchr::memchr(b'\n', &self.b[i..]).map_or(self.b.len(), |p| i + p);
            } else if self.b.get(i) == Some(&b'/') && self.b.get(i + 1) == Some(&b'*') {
                i = memchr::memmem::find(&self.b[i + 2..], b"*/")
                    .map_or(self.b.len(), |p| i + 2 + p + 2);
            } else {
                return i;
            }
        }
    }

    /// The last significant byte before `pos` (whitespace skipped; comments are not, which
    /// only costs a fix, never a finding).
    fn prev_significant(&self, pos: usize) -> Option<usize> {
        self.b[..pos].iter().rposition(|c| !c.is_ascii_whitespace())
    }

    /// Walks the text; `on_close` sees every closed object with the stack of its parents.
    fn walk(&self, mut on_close: impl FnMut(&Frame, usize, &[Frame])) {
        let mut stack: Vec<Frame> = Vec::new();
        // A snippet may start with `"extensionProfile": {`: the key of a top-level value.
        let mut root_key: Option<String> = None;
        // Brackets opened beyond MAX_FRAMES: counted, not kept, so memory stays bounded.
        let mut overflow = 0usize;
        let mut i = 0;
        while i < self.b.len() {
            i = self.skip_trivia(i);
            let Some(&c) = self.b.get(i) else { break };
            match c {
                b'{' | b'[' if stack.len() >= MAX_FRAMES => {
                    overflow += 1;
                    i += 1;
                }
                b'}' | b']' if overflow > 0 => {
                    overflow -= 1;
                    i += 1;
                }
                b'{' | b'[' => {
                    let key = match stack.last_mut() {
                        Some(f) => f.pending_key.take(),
                        None => root_key.take(),
                    };
                    stack.push(Frame {
                        is_object: c == b'{',
                        start: i,
                        key,
                        ..Frame::default()
                    });
                    i += 1;
                }
                b'}' | b']' => {
                    let want_object = c == b'}';
                    i += 1;
                    // Unbalanced input: close up to the nearest container of the right kind.
                    let Some(at) = stack.iter().rposition(|f| f.is_object == want_object) else {
                        continue;
                    };
                    stack.truncate(at + 1);
                    let Some(frame) = stack.pop() else { continue };
                    if frame.is_object {
                        on_close(&frame, i, &stack);
                        self.propagate(&frame, &mut stack);
                    }
                }
                b'"' | b'\'' => {
                    let (s, end) = self.string(i);
                    let span = i..end;
                    i = end;
                    // Members of containers too deep to keep belong to none of the kept ones.
                    if overflow > 0 {
                        continue;
                    }
                    let after = self.skip_trivia(i);
                    if stack.is_empty() {
                        root_key =
                            (self.b.get(after) == Some(&b':')).then(|| s.to_ascii_lowercase());
                        continue;
                    }
                    let Some(top) = stack.last_mut().filter(|f| f.is_object) else {
                        continue;
                    };
                    if self.b.get(after) == Some(&b':') {
                        top.pending_key = Some(s.to_ascii_lowercase());
                        i = after + 1;
                    } else if let Some(k) = top.pending_key.take() {
                        if k == "name" {
                            top.name_span = Some(span);
                        }
                        Self::set(top, &k, s);
                    }
                }
                b',' | b':' => {
                    if let Some(top) = stack.last_mut() {
                        top.pending_key = None;
                    }
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < self.b.len()
                        && (self.b[i].is_ascii_alphanumeric()
                            || matches!(self.b[i], b'.' | b'-' | b'+'))
                    {
                        i += 1;
                    }
                    if i == start {
                        i += 1;
                        continue;
                    }
                    let after = self.skip_trivia(i);
                    if overflow == 0
                        && self.b.get(after) == Some(&b':')
                        && let Some(top) = stack.last_mut().filter(|f| f.is_object)
                    {
                        // JSON5's unquoted key (`publisher: '...'`).
                        top.pending_key =
                            Some(String::from_utf8_lossy(&self.b[start..i]).to_ascii_lowercase());
                        i = after + 1;
                    } else if overflow == 0
                        && let Some(top) = stack.last_mut()
                        && let Some(k) = top.pending_key.take()
                    {
                        let word = String::from_utf8_lossy(&self.b[start..i]).into_owned();
                        Self::set(top, &k, word);
                    }
                }
            }
        }
        // A truncated file or a cut-off fragment: what is still open ends where the text
        // does, innermost first, so an extension object that lost its closing braces is
        // still seen with everything it holds.
        let end = self
            .prev_significant(self.b.len())
            .map_or(self.b.len(), |p| p + 1);
        while let Some(frame) = stack.pop() {
            if frame.is_object {
                on_close(&frame, end, &stack);
                self.propagate(&frame, &mut stack);
            }
        }
    }

    fn set(top: &mut Frame, key: &str, value: String) {
        match key {
            "publisher" => top.publisher = Some(value),
            "type" => top.ty = Some(value),
            "name" => top.name = Some(value),
            "port" => top.port = Some(value),
            _ => {}
        }
    }

    fn propagate(&self, frame: &Frame, stack: &mut [Frame]) {
        let Some(parent) = stack.last_mut() else {
            return;
        };
        match frame.key.as_deref() {
            Some("settings") => parent.settings_port.clone_from(&frame.port),
            Some("properties") => {
                if let Some(t) = self.extension_type(frame) {
                    parent.extension = Some((t, frame.settings_port.clone()));
                }
            }
            _ => {}
        }
    }

    fn extension_type(&self, f: &Frame) -> Option<String> {
        let p = self.resolve(f.publisher.as_deref()?);
        let t = self.resolve(f.ty.as_deref()?);
        (is_publisher(&p) && is_extension_type(&t)).then_some(t)
    }
}

/// `original` is the file, `text` what is scanned (the same, or template-blanked at the same
/// offsets). Fixes are offered for Go templates only, where the layout is known to be
/// intentional; broken JSON is left for a person.
/// (start, end, rule, type, (name, name as written)).
type Found = (usize, usize, &'static str, String, Option<(String, String)>);

pub fn analyze(original: &str, text: &str, is_template: bool, out: &mut super::Analysis) {
    let mut scan = Scan {
        b: text.as_bytes(),
        vars: HashMap::new(),
    };
    let mut vars = HashMap::new();
    // String variables: a second light pass over `"variables": {` objects' direct members.
    collect_vars(&scan, &mut vars);
    scan.vars = vars;
    let mut found: Vec<Found> = Vec::new();
    let mut ports = Vec::new();
    scan.walk(|f, end, stack| {
        let (ty, port, holder_is_self) = if let Some((t, p)) = &f.extension {
            (t.clone(), p.clone(), false)
        } else if (f.key.as_deref() != Some("properties")
            // A fragment cut before the object that holds `properties`: nothing else will
            // report it.
            || stack.is_empty())
            && let Some(t) = scan.extension_type(f)
        {
            (t, f.settings_port.clone(), true)
        } else {
            return;
        };
        let parent = stack.last();
        let grand = stack.len().checked_sub(2).and_then(|k| stack.get(k));
        let rule = if parent.is_some_and(|p| !p.is_object && p.key.as_deref() == Some("extensions"))
            && grand.is_some_and(|g| g.key.as_deref() == Some("extensionprofile"))
        {
            "IMDS002"
        } else if !holder_is_self
            // A resources array or symbolic-name object, or the top of a template fragment.
            && parent.is_none_or(|p| p.key.as_deref() == Some("resources"))
            && f.ty.as_deref().is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t == "extensions"
                    || t.ends_with("virtualmachines/extensions")
                    || t.ends_with("virtualmachinescalesets/extensions")
            })
        {
            "IMDS001"
        } else {
            "IMDS003"
        };
        if let Some(p) = port.and_then(|p| p.trim().parse::<u16>().ok()) {
            ports.push(p);
        }
        let shown = f
            .name_span
            .as_ref()
            .and_then(|r| original.get(r.start + 1..r.end.saturating_sub(1)))
            .map(str::to_owned);
        found.push((f.start, end, rule, ty, f.name.clone().zip(shown)));
    });
    out.declared_ports
        .extend(ports.into_iter().filter(|&p| p != 0));
    // Lowered once, on the first fix that looks for a name in it.
    let lower = std::cell::OnceCell::new();
    for (start, end, rule, ty, names) in found {
        let (name, shown) =
            names.unwrap_or_else(|| ("(unnamed)".to_owned(), "(unnamed)".to_owned()));
        let message = match rule {
            "IMDS001" => format!(
                "Managed Identity VM extension resource `{shown}` ({ty}) is retired: remove it and the references to it; {IMDS_HINT}"
            ),
            "IMDS002" => format!(
                "Scale set extension profile installs the Managed Identity VM extension `{shown}` ({ty}), which is retired: remove the entry; {IMDS_HINT}"
            ),
            _ => format!(
                "Managed Identity VM extension definition `{shown}` ({ty}) outside a resource: it deploys the retired extension wherever it is injected; remove it and its uses; {IMDS_HINT}"
            ),
        };
        let fix = if rule == "IMDS003" {
            Err("it is not a resource and the file does not parse as JSON, so its uses cannot be traced".to_owned())
        } else if is_template {
            template_fix(original, &lower, &scan, start..end, &name)
        } else {
            Err("the file does not parse as JSON, so the edit cannot be checked".to_owned())
        };
        out.push(Diagnostic::new(rule, start..end, message).with_fix_or_reason(fix));
    }
}

fn collect_vars(scan: &Scan, vars: &mut HashMap<String, String>) {
    let b = scan.b;
    let mut from = 0;
    let finder = memchr::memmem::Finder::new(b"\"variables\"");
    while let Some(p) = finder.find(&b[from..]) {
        let mut i = scan.skip_trivia(from + p + 11);
        from += p + 11;
        if b.get(i) != Some(&b':') {
            continue;
        }
        i = scan.skip_trivia(i + 1);
        if b.get(i) != Some(&b'{') {
            continue;
        }
        i += 1;
        // Direct `"key": "string"` members; nested values are skipped by depth counting.
        let mut depth = 0usize;
        let mut key: Option<String> = None;
        while i < b.len() {
            i = scan.skip_trivia(i);
            match b.get(i) {
                None => break,
                Some(b'"') => {
                    let (s, end) = scan.string(i);
                    i = end;
                    let after = scan.skip_trivia(i);
                    if depth == 0 && b.get(after) == Some(&b':') {
                        key = Some(s.to_ascii_lowercase());
                        i = after + 1;
                    } else if depth == 0
                        && let Some(k) = key.take()
                    {
                        vars.insert(k, s);
                    }
                }
                Some(b'{' | b'[') => {
                    depth += 1;
                    key = None;
                    i += 1;
                }
                Some(b'}' | b']') => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    i += 1;
                }
                Some(_) => i += 1,
            }
        }
        from = from.max(i.min(b.len()));
    }
}

const UNTRACEABLE: &str = "a Go-templated file that does not parse as JSON: references to the extension cannot be traced, so its removal is left to a person";

/// Go templates: the entry with exactly one separating comma (its own leading `,{` comma when
/// it has one), never across template control markup.
fn template_fix(
    original: &str,
    lower: &std::cell::OnceCell<String>,
    scan: &Scan,
    span: std::ops::Range<usize>,
    name: &str,
) -> Result<Fix, String> {
    let (start, end) = (span.start, span.end);
    // Without a parse, references (`dependsOn`, `provisionAfterExtensions`) cannot be removed
    // reliably: when the name's last segment shows up anywhere else, leave it to a person.
    let segment = name
        .trim_end_matches([']', ')', '\''])
        .rsplit(['/', '\''])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if segment.is_empty() || segment.contains('{') {
        return Err(UNTRACEABLE.to_owned());
    }
    let lower = lower.get_or_init(|| original.to_ascii_lowercase());
    let finder = memchr::memmem::Finder::new(segment.as_bytes());
    if finder
        .find_iter(lower.as_bytes())
        .any(|p| p < start || p >= end)
    {
        return Err(format!(
            "{UNTRACEABLE} (its name `{segment}` appears elsewhere in the file)"
        ));
    }
    let after = scan.skip_trivia(end);
    let comma_after = (scan.b.get(after) == Some(&b',')).then_some(after);
    let comma_before = scan.prev_significant(start).filter(|&p| scan.b[p] == b',');
    // A closing bracket right after means the entry is last; without a comma on either side it
    // may be the sole entry or sit between markup we cannot see through: leave it alone.
    if comma_after.or(comma_before).is_none() {
        return Err("a Go-templated entry with no comma beside it: it may be the only entry or sit between template markup, so its removal is left to a person".to_owned());
    }
    // Go templates emit conditional entries as `,{`: such a comma belongs to the entry.
    let hugs = comma_before.is_some_and(|p| {
        scan.b[p + 1..start]
            .iter()
            .all(|&c| c == b' ' || c == b'\t')
    });
    let (comma_after, comma_before) = if hugs || comma_after.is_none() {
        (None, comma_before)
    } else {
        (comma_after, None)
    };
    let edits = edits::remove_run(scan_text(scan), start..end, comma_after, comma_before);
    if edits.iter().any(|e| {
        original
            .get(e.range.clone())
            .is_none_or(template::has_control)
    }) {
        return Err(GO_MARKUP.to_owned());
    }
    Fix::safe("Remove the Managed Identity extension entry", edits)
        .ok_or_else(|| "no edit removes it cleanly".to_owned())
}

fn scan_text<'a>(scan: &Scan<'a>) -> &'a str {
    // The scanned bytes came from a &str; the conversion cannot fail.
    std::str::from_utf8(scan.b).unwrap_or("")
}

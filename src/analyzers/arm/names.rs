//! ARM name expressions: `variables()`/`parameters()` references, the last `/`-segment of a
//! resource name and the head it shares with its VM's name.

use std::sync::OnceLock;

use regex::Regex;

pub(super) fn ref_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        crate::analyzers::pattern::compile(r"(?i)\b(variables|parameters)\s*\(\s*'([^']*)'\s*\)")
            .expect("valid regex")
    })
}

/// `[variables('x')]` or `[parameters('x')]` as a whole expression.
pub(super) fn whole_ref(s: &str) -> Option<(bool, &str)> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('[') {
        return None;
    }
    let c = ref_re().captures(inner)?;
    let m = c.get(0)?;
    if !inner[..m.start()].trim().is_empty() || !inner[m.end()..].trim().is_empty() {
        return None;
    }
    let is_var = c[1].eq_ignore_ascii_case("variables");
    Some((is_var, c.get(2)?.as_str()))
}

/// The last `/`-segment an ARM name expression ends with: `concat(vm, '/MSI')` gives `MSI`,
/// `resourceId('.../extensions', vm, 'MSI')` gives `MSI`. References are resolved by `resolve`.
pub(super) fn name_segment(
    expr: &str,
    resolve: &dyn Fn(bool, &str) -> Option<String>,
) -> Option<String> {
    static LIT: OnceLock<Regex> = OnceLock::new();
    let lit = LIT.get_or_init(|| {
        crate::analyzers::pattern::compile(
            r"(?i)'((?:[^']|'')*)'|\b(variables|parameters)\s*\(\s*'([^']*)'\s*\)",
        )
        .expect("valid regex")
    });
    let Some(inner) = expr
        .trim()
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
    else {
        let seg = expr.rsplit('/').next()?.trim();
        return (!seg.is_empty()).then(|| seg.to_owned());
    };
    let mut last = None;
    for c in lit.captures_iter(inner) {
        let value = if let Some(l) = c.get(1) {
            // A literal that is the argument of variables()/parameters() is matched by the
            // second alternative first, since the regex scans left to right.
            Some(l.as_str().replace("''", "'"))
        } else {
            resolve(c[2].eq_ignore_ascii_case("variables"), &c[3])
        };
        if let Some(v) = value {
            let seg = v.rsplit('/').next().unwrap_or("").trim().to_owned();
            if !seg.is_empty() && !seg.contains('{') {
                last = Some(seg);
            }
        }
    }
    last
}

/// What a resource name starts with: the first `variables()`/`parameters()` reference of an
/// expression (`concat(parameters('vm'), '/msi')` gives `parameters('vm')`), or the text before
/// the first `/` of a plain name. An extension's and its VM's heads are equal.
pub(super) fn name_head(name: &str) -> Option<String> {
    let t = name.trim();
    if let Some(inner) = t.strip_prefix('[') {
        let c = ref_re().find(inner)?;
        return Some(c.as_str().to_ascii_lowercase().replace(' ', ""));
    }
    let head = t.split('/').next()?.trim();
    (!head.is_empty()).then(|| head.to_ascii_lowercase())
}

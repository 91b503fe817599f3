//! IMDS021: Bicep templates that deploy the Managed Identity VM extension.
//!
//! Finds `resource` declarations (top-level or nested child, conditional, in loops) whose
//! `properties` pair the extension's publisher and type, and scale set `extensionProfile`
//! entries or other objects that do. Values may come from `var`/`param` defaults in the same
//! file. The fix removes the declaration (with its decorators) or the array entry, the
//! `dependsOn` elements and `provisionAfterExtensions` entries naming it; `var`/`param` left
//! unused go only under `--unsafe-fixes`.

pub(crate) mod graph;
pub(crate) mod params;
pub(crate) mod supplied;

use std::{collections::HashMap, ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Analysis, Context, is_extension_type, is_publisher,
    terraform::{
        JSON_PORT,
        graph::{Decls, list_entries, pass_on_lists},
        syntax::{self, K, Member, NONE, Tok, Tree, Uses, unicode_space},
    },
};
use crate::finding::{Applicability, Diagnostic, Edit, Fix};

const RULE: &str = "IMDS021";

static INTERPOLATED: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)").expect("valid regex")
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    // Every usage names the publisher or a type, both containing this word.
    if !text.to_ascii_lowercase().contains("managedidentity") {
        return;
    }
    let tree = Tree::new(text, lex(text));
    let bicep = Bicep::new(&tree);
    bicep.run(out);
    if ctx.path.to_ascii_lowercase().ends_with(".bicepparam") {
        bicep.parameter_values(out);
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c >= 0x80
}

fn lex(text: &str) -> Vec<Tok> {
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
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(len, |p| i + p);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = memchr::memmem::find(&b[i + 2..], b"*/").map_or(len, |p| i + 2 + p + 2);
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
        if b[i..].starts_with(b"'''") {
            // Multi-line strings have neither escapes nor interpolation.
            i = memchr::memmem::find(&b[i + 3..], b"'''").map_or(len, |p| i + 3 + p + 3);
            kind = K::Heredoc;
        } else if c == b'\'' {
            i = string_end(b, i);
            kind = K::Str;
        } else if is_word_byte(c) {
            while i < len && is_word_byte(b[i]) && unicode_space(b, i) == 0 {
                i += 1;
            }
            kind = K::Word;
        } else if matches!(c, b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b'?')
            && matches!(b.get(i + 1), Some(b'=' | b'>' | b'&' | b'|' | b'~' | b'?'))
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

/// The end of the `'...'` string at `i`.
fn string_end(b: &[u8], i: usize) -> usize {
    super::terraform::syntax::interpolated_string_end(b, i, b'\'', b"$", false)
}

/// The value of a string token without interpolation.
fn literal(raw: &str) -> Option<String> {
    if let Some(inner) = raw.strip_prefix("'''") {
        return Some(inner.strip_suffix("'''").unwrap_or(inner).to_owned());
    }
    let inner = raw.strip_prefix('\'')?.strip_suffix('\'')?;
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
            '$' if chars.peek() == Some(&'{') => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

#[derive(Clone, Debug)]
enum Value {
    Lit(String),
    Ref(String),
    /// Tokens of an expression (a conditional between the two types, say).
    Expr(Range<usize>),
    Other,
}

enum Res {
    Lit(String),
    Unknown,
}

/// A `var` or `param` declaration: its value and tokens (decorators included).
struct Decl {
    value: Value,
    first: usize,
    last: usize,
}

struct Hit {
    /// Start of the reported range (`resource`, or the entry's `{`).
    at: usize,
    /// First and last token the fix removes (decorators included).
    first: usize,
    last: usize,
    /// The `properties` object (or the object itself) holding publisher/type/settings.
    props: usize,
    /// Symbolic name of a resource declaration; `None` for an object.
    symbol: Option<String>,
    /// Whether the object is an array element the fix may remove.
    entry_of: Option<usize>,
    ext_type: String,
    /// The extension's name (last segment), which `provisionAfterExtensions` lists may repeat.
    name: Option<String>,
}

struct Bicep<'t, 'a> {
    tree: &'t Tree<'a>,
    decls: HashMap<String, Decl>,
}

impl<'t, 'a> Bicep<'t, 'a> {
    fn new(tree: &'t Tree<'a>) -> Self {
        let mut decls = HashMap::new();
        for i in 0..tree.len() {
            let top = tree.parent[i] == NONE && (i == 0 || tree.toks[i].nl);
            if !top || !(tree.is_word(i, "var") || tree.is_word(i, "param")) {
                continue;
            }
            if tree.toks.get(i + 1).is_none_or(|t| t.k != K::Word) {
                continue;
            }
            let name = tree.src(i + 1).to_owned();
            // The statement ends at the next top-level line start.
            let mut end = i + 2;
            while end < tree.len() && !(tree.toks[end].nl && tree.parent[end] == NONE) {
                end = tree.skip(end).max(end + 1);
            }
            let end = end.min(tree.len());
            let eq = (i + 2..end).find(|&k| tree.is(k, b'=') && tree.parent[k] == NONE);
            let value = eq.map_or(Value::Other, |k| {
                value_of(tree, k + 1..tree.value_end(k + 1, end))
            });
            decls.insert(
                name,
                Decl {
                    value,
                    first: decorators_start(tree, i),
                    last: end - 1,
                },
            );
        }
        Bicep { tree, decls }
    }

    fn resolve(&self, v: &Value) -> Res {
        let mut v = v.clone();
        for _ in 0..8 {
            match v {
                Value::Lit(s) => return Res::Lit(s),
                Value::Other => return Res::Unknown,
                Value::Expr(r) => return self.named_in(r),
                Value::Ref(r) => match self.decls.get(&r) {
                    Some(d) => v = d.value.clone(),
                    None => return Res::Unknown,
                },
            }
        }
        Res::Unknown
    }

    /// A conditional such as `isWindows ? 'ManagedIdentityExtensionForWindows' : '...ForLinux'`
    /// still names the extension: its first literal that is the publisher or a type stands for it.
    fn named_in(&self, r: Range<usize>) -> Res {
        r.filter(|&i| i < self.tree.len() && self.tree.toks[i].k == K::Str)
            .filter_map(|i| literal(self.tree.src(i)))
            .find(|s| is_publisher(s) || is_extension_type(s))
            .map_or(Res::Unknown, Res::Lit)
    }

    fn members(&self, open: usize) -> Vec<Member> {
        let hi = self.tree.close[open].min(self.tree.len());
        self.tree.members(open + 1, hi, b":", false)
    }

    fn attr_value(&self, body: &[Member], name: &str) -> Option<Range<usize>> {
        body.iter()
            .find(|m| key_is(self.tree, m.key, name))
            .map(|m| m.value.clone())
    }

    /// The `{` of `properties: {` in `open`'s object.
    fn properties(&self, open: usize) -> Option<usize> {
        let v = self.attr_value(&self.members(open), "properties")?;
        (self.tree.is(v.start, b'{') && self.tree.close[v.start] + 1 == v.end).then_some(v.start)
    }

    fn deploys(&self, props: usize, lenient: bool) -> Option<String> {
        self.deploys_in(&self.members(props), lenient)
    }

    fn deploys_in(&self, body: &[Member], lenient: bool) -> Option<String> {
        let get = |name| {
            self.attr_value(body, name).map(|v| {
                match self.resolve(&value_of(self.tree, v.clone())) {
                    Res::Unknown => self.named_in(v),
                    lit @ Res::Lit(_) => lit,
                }
            })
        };
        match (get("publisher")?, get("type")?) {
            (Res::Lit(p), Res::Lit(t)) if is_publisher(&p) && is_extension_type(&t) => Some(t),
            (Res::Lit(p), Res::Unknown) if lenient && is_publisher(&p) => {
                Some(format!("publisher {p}"))
            }
            (Res::Unknown, Res::Lit(t)) if lenient && is_extension_type(&t) => Some(t),
            _ => None,
        }
    }

    /// For `resource sym 'type' = ...` at `i`: the body `{` and the declaration's last token.
    fn resource_body(&self, i: usize) -> Option<(usize, usize)> {
        let t = self.tree;
        if t.toks.get(i + 1)?.k != K::Word || t.toks.get(i + 2)?.k != K::Str {
            return None;
        }
        let mut v = i + 3;
        // `existing` declarations refer to deployed resources; they deploy nothing.
        if !t.is(v, b'=') {
            return None;
        }
        v += 1;
        if t.is_word(v, "if") && t.is(v + 1, b'(') {
            v = t.skip(v + 1);
        }
        if t.is(v, b'{') {
            return t.closed(v).then_some((v, t.close[v]));
        }
        if t.is(v, b'[') && t.closed(v) {
            // Direct children only (groups are skipped), so nested loops cost no rescans.
            let mut k = v + 1;
            while k < t.close[v] && !t.is(k, b'{') {
                k = t.skip(k);
            }
            return (k < t.close[v] && t.closed(k)).then_some((k, t.close[v]));
        }
        None
    }

    /// The last segment of `name: 'vm/msi'` (or `'${vmName}/msi'`).
    fn ext_name(&self, open: usize) -> Option<String> {
        let v = self.attr_value(&self.members(open), "name")?;
        if v.len() != 1 || self.tree.toks[v.start].k != K::Str {
            return None;
        }
        let raw = self.tree.src(v.start);
        let last = raw.trim_matches('\'').rsplit('/').next()?;
        (!last.is_empty() && !last.contains(['$', '{', '}', '\\', '\''])).then(|| last.to_owned())
    }

    fn run(&self, out: &mut Analysis) {
        let t = self.tree;
        let mut hits: Vec<Hit> = Vec::new();
        for i in 0..t.len() {
            if !t.is_word(i, "resource") || !(i == 0 || t.toks[i].nl) {
                continue;
            }
            let Some((body, last)) = self.resource_body(i) else {
                continue;
            };
            let Some(props) = self.properties(body) else {
                continue;
            };
            if let Some(ext_type) = self.deploys(props, true) {
                hits.push(Hit {
                    at: i,
                    first: decorators_start(t, i),
                    last,
                    props,
                    symbol: Some(t.src(i + 1).to_owned()),
                    entry_of: None,
                    ext_type,
                    name: self.ext_name(body),
                });
            }
        }
        // Objects elsewhere: scale set extensionProfile entries, variables holding the object.
        let mut claimed: Vec<Range<usize>> = hits.iter().map(|h| t.span(h.at, h.last)).collect();
        claimed.sort_by_key(|r| r.start);
        // Objects are visited in text order, so one bound covers the entries found here.
        let mut entry_end = 0;
        for open in 0..t.len() {
            if !t.is(open, b'{') || !t.closed(open) {
                continue;
            }
            if t.toks[open].s < entry_end || syntax::covered(&claimed, t.toks[open].s) {
                continue;
            }
            let props = self.properties(open).unwrap_or(open);
            let Some(ext_type) = self.deploys(props, false) else {
                continue;
            };
            let parent = t.parent[open];
            let entry_of = (parent != NONE && t.is(parent, b'[')).then_some(parent);
            entry_end = t.toks[t.close[open]].e;
            hits.push(Hit {
                at: open,
                first: open,
                last: t.close[open],
                props,
                symbol: None,
                entry_of,
                ext_type,
                name: self.ext_name(open),
            });
        }
        // A snippet of bare properties (a documentation excerpt of a resource body).
        let top = t.members(0, t.len(), b":", false);
        if let Some(ext_type) = self.deploys_in(&top, false) {
            let at = |name| top.iter().find(|m| key_is(t, m.key, name));
            if let (Some(p), Some(ty)) = (at("publisher"), at("type")) {
                hits.push(Hit {
                    at: p.first.min(ty.first),
                    first: p.first.min(ty.first),
                    last: p.last.max(ty.last),
                    props: NONE,
                    symbol: None,
                    entry_of: None,
                    ext_type,
                    name: None,
                });
            }
        }
        let ix = self.index();
        let raws: Vec<(Range<usize>, bool)> = hits
            .iter()
            .map(|h| {
                if h.symbol.is_some() {
                    with_pragmas(t.text, t.remove_raw(h.first, h.last))
                } else {
                    (0..0, false)
                }
            })
            .collect();
        let mains = syntax::grouped_removals(t.text, &raws);
        // Two resources with one symbolic name are invalid Bicep: neither gets a fix.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for h in &hits {
            if let Some(s) = &h.symbol {
                *seen.entry(s.as_str()).or_default() += 1;
            }
        }
        let mut decls = graph::decls(t);
        decls.gone = hits
            .iter()
            .filter_map(|h| h.symbol.as_deref().and_then(|s| decls.graph.find(s)))
            .collect();
        let mut fixes: Vec<Result<Fix, String>> = hits
            .iter()
            .zip(mains)
            .map(|(h, main)| match &h.symbol {
                Some(s) if seen[s.as_str()] > 1 => Err(
                    "two resources share its symbolic name, so which one each reference means is unknowable"
                        .to_owned(),
                ),
                _ => self.fix(h, &ix, main, &decls),
            })
            .collect();
        let removes: Vec<Option<String>> = hits.iter().map(|h| h.symbol.clone()).collect();
        decls.keep_order(
            t,
            lex,
            |tree| graph::decls(tree).graph,
            &removes,
            &mut fixes,
        );
        for (h, fix) in hits.iter().zip(fixes) {
            if h.props != NONE {
                self.ports(h.props, out);
            }
            let message = match &h.symbol {
                Some(s) => format!(
                    "resource `{s}` deploys the retired Managed Identity VM extension ({}); remove it and use IMDS",
                    h.ext_type
                ),
                None => format!(
                    "object configures the retired Managed Identity VM extension ({}); remove it and use IMDS",
                    h.ext_type
                ),
            };
            let range = t.toks[h.at].s..t.toks[h.last].e;
            out.push(Diagnostic::new(RULE, range, message).with_fix_or_reason(fix));
        }
    }

    fn ports(&self, props: usize, out: &mut Analysis) {
        let t = self.tree;
        for name in ["settings", "protectedSettings"] {
            let Some(v) = self.attr_value(&self.members(props), name) else {
                continue;
            };
            let end = v.end.min(t.len());
            for i in v.start..end {
                if matches!(t.toks[i].k, K::Str | K::Heredoc)
                    && let Some(s) = literal(t.src(i))
                {
                    for c in JSON_PORT.captures_iter(&s) {
                        if let Ok(p) = c[1].parse::<u16>() {
                            out.declared_ports.push(p);
                        }
                    }
                }
                if key_is(t, i, "port") && t.is(i + 1, b':') && i + 2 < t.len() {
                    let v = value_of(t, i + 2..i + 3);
                    let p = match self.resolve(&v) {
                        Res::Lit(s) => s.parse::<u16>().ok(),
                        Res::Unknown => t.src(i + 2).parse::<u16>().ok(),
                    };
                    out.declared_ports.extend(p);
                }
            }
        }
    }

    fn fix(&self, h: &Hit, ix: &Index, main: Range<usize>, decls: &Decls) -> Result<Fix, String> {
        let t = self.tree;
        let range = t.span(h.first, h.last);
        let mut edits = Vec::new();
        let mut applicability = Applicability::Safe;
        let mut also = Vec::new();
        match (&h.symbol, h.entry_of) {
            (Some(sym), _) => {
                edits.push(Edit::deletion(main));
                let keys = ix.depends.get(sym.as_str()).into_iter().flatten().copied();
                let is_ref = |f: usize| dependency(t, f) == Some(sym.as_str());
                let deps = decls.pass_on_depends(t, keys, true, &range, sym, &is_ref);
                edits.extend(deps.edits);
                let (lists, rerouted) = (deps.lists, deps.rerouted);
                if !lists.is_empty() {
                    also.push(if rerouted {
                        "`dependsOn` entries (now naming what it depended on)"
                    } else {
                        "`dependsOn` entries"
                    });
                }
                let mut skip: Vec<&Range<usize>> = lists.iter().collect();
                skip.push(&range);
                let used_elsewhere = ix.names.used_outside(sym, &skip);
                if used_elsewhere {
                    // Removing it would break the expressions that read it: a person decides.
                    applicability = Applicability::Unsafe;
                }
            }
            (None, Some(list)) => match t.remove_elements(list, true, |f, _| f == h.first) {
                Some(e) => edits.extend(e),
                // The only entry: an empty array stays valid.
                None => edits.push(t.remove(h.first, h.last)),
            },
            (None, None) => {
                return Err("bare properties, not a resource or a list entry: where they are used cannot be traced".to_owned());
            }
        }
        if let Some(name) = &h.name {
            // Other extensions ordered after this one would name a missing extension.
            let scope = h
                .entry_of
                .map_or(0..t.len(), |l| l..t.close[l].min(t.len()));
            let keys = ix
                .after
                .get(&name.to_ascii_lowercase())
                .into_iter()
                .flatten();
            let lit = |f: usize| (t.toks[f].k == K::Str).then(|| literal(t.src(f))).flatten();
            let is_ref = |f: usize| lit(f).is_some_and(|v| v.eq_ignore_ascii_case(name));
            // What it was itself provisioned after is passed on.
            let own = (h.props != NONE)
                .then(|| self.attr_value(&self.members(h.props), "provisionAfterExtensions"))
                .flatten()
                .map(|v| list_entries(t, v.start, true, &lit))
                .unwrap_or_default();
            let after = pass_on_lists(
                t,
                keys.copied().filter(|k| scope.contains(k)),
                true,
                &range,
                &is_ref,
                &own,
                &lit,
            );
            if !after.is_empty() {
                also.push("`provisionAfterExtensions` entries");
            }
            edits.extend(after);
        }
        let cleanup = self.cleanup(&range, ix);
        let mut description = match &h.symbol {
            Some(s) => format!("remove resource `{s}`"),
            None => "remove the Managed Identity extension entry".to_owned(),
        };
        if !also.is_empty() {
            description.push_str(&format!(" and the {} naming it", also.join(" and ")));
        }
        Fix::new(applicability, description, syntax::tidy(t.text, edits))
            .map(|f| f.with_cleanup(syntax::tidy(t.text, cleanup)))
            .ok_or_else(|| "its removal and the references to it overlap".to_owned())
    }

    /// Removals of `var`/`param` declarations used only inside `removed`.
    /// `param extensionType = 'ManagedIdentityExtensionForLinux'` in a parameter file: the
    /// template it feeds deploys the extension. Reported without a fix (the template decides).
    fn parameter_values(&self, out: &mut Analysis) {
        let t = self.tree;
        let mut found: Vec<(usize, usize, &str, String)> = self
            .decls
            .iter()
            .filter_map(|(name, d)| match &d.value {
                Value::Lit(v) if is_extension_type(v) => {
                    Some((d.first, d.last, name.as_str(), v.clone()))
                }
                _ => None,
            })
            .collect();
        found.sort_unstable();
        for (first, last, name, v) in found {
            out.push(Diagnostic::new(
                RULE,
                t.span(first, last),
                format!("parameter `{name}` selects the retired Managed Identity VM extension ({v}); remove the extension it feeds and use IMDS"),
            ).with_fix_or_reason(Err("a parameter value: the template it feeds decides, and is fixed there".to_owned())));
        }
    }

    /// Where lists and names are used, computed once per file.
    fn index(&self) -> Index {
        let t = self.tree;
        let mut names = Uses::default();
        for (i, tok) in t.toks.iter().enumerate() {
            let s = &t.text[tok.s..tok.e];
            match tok.k {
                K::Word => {
                    // Object keys and declared names are not references.
                    let is_key =
                        t.is(i + 1, b':') && t.parent[i] != NONE && t.is(t.parent[i], b'{');
                    let declared = i > 0
                        && ["var", "param", "resource", "module", "output"]
                            .iter()
                            .any(|k| t.is_word(i - 1, k));
                    if !is_key && !declared {
                        names.add(s.split('.').next().unwrap_or(s), tok.s);
                    }
                }
                K::Str => {
                    for c in INTERPOLATED.captures_iter(s) {
                        names.add(&c[1], tok.s);
                    }
                }
                _ => {}
            }
        }
        names.finish();
        Index {
            depends: t.list_index("dependsOn", b':', true, |f| {
                dependency(t, f).map(str::to_owned)
            }),
            after: t.list_index("provisionAfterExtensions", b':', true, |f| {
                (t.toks[f].k == K::Str)
                    .then(|| literal(t.src(f)))
                    .flatten()
                    .map(|v| v.to_ascii_lowercase())
            }),
            names,
        }
    }

    /// Removals of `var`/`param` declarations used only inside `removed`.
    fn cleanup(&self, removed: &Range<usize>, ix: &Index) -> Vec<Edit> {
        let t = self.tree;
        let mut edits = Vec::new();
        for name in ix.names.names_in(removed) {
            let Some(d) = self.decls.get(name) else {
                continue;
            };
            let own = t.span(d.first, d.last);
            if !ix.names.used_outside(name, &[removed, &own]) {
                edits.push(t.remove(d.first, d.last));
            }
        }
        edits
    }
}

struct Index {
    /// `dependsOn` lists by the symbol each element names.
    depends: HashMap<String, Vec<usize>>,
    /// `provisionAfterExtensions` lists by extension name (lower case).
    after: HashMap<String, Vec<usize>>,
    /// Uses of symbolic names, variables and parameters.
    names: Uses,
}

/// Widens a whole-line removal over the `#disable-next-line` pragmas right above it: they
/// would otherwise silence a warning on whatever line comes next.
fn with_pragmas(text: &str, (r, whole): (Range<usize>, bool)) -> (Range<usize>, bool) {
    let b = text.as_bytes();
    let mut start = r.start;
    while whole && start > 0 {
        let prev = syntax::line_start(b, start - 1);
        if !text[prev..start]
            .trim_start()
            .starts_with("#disable-next-line")
        {
            break;
        }
        start = prev;
    }
    (start..r.end, whole)
}

/// The first token of the decorators (`@description('...')`, `@batchSize(1)`) right above `i`.
fn decorators_start(t: &Tree, i: usize) -> usize {
    let mut s = i;
    loop {
        if s >= 3 && t.is(s - 1, b')') {
            let open = t.parent[s - 1];
            if open != NONE
                && open >= 2
                && t.close[open] == s - 1
                && t.toks[open - 1].k == K::Word
                && t.is(open - 2, b'@')
            {
                s = open - 2;
                continue;
            }
        }
        break;
    }
    s
}

/// The symbol a `dependsOn` element starting at `f` names: `msi`, `msi[i]` or `vm::msi`.
fn dependency<'a>(t: &Tree<'a>, f: usize) -> Option<&'a str> {
    if t.toks[f].k != K::Word {
        return None;
    }
    if t.is(f + 1, b':') && t.is(f + 2, b':') && t.toks.get(f + 3).is_some_and(|x| x.k == K::Word) {
        return Some(t.src(f + 3));
    }
    Some(t.src(f))
}

fn key_is(t: &Tree, i: usize, name: &str) -> bool {
    match t.toks[i].k {
        K::Word => t.src(i) == name,
        K::Str => literal(t.src(i)).as_deref() == Some(name),
        _ => false,
    }
}

fn value_of(t: &Tree, r: Range<usize>) -> Value {
    if r.end > t.len() || r.is_empty() {
        return Value::Other;
    }
    if r.len() != 1 {
        return Value::Expr(r);
    }
    let s = t.src(r.start);
    match t.toks[r.start].k {
        K::Str | K::Heredoc => literal(s).map_or(Value::Other, Value::Lit),
        K::Word if s.bytes().all(|c| c.is_ascii_digit()) => Value::Lit(s.to_owned()),
        K::Word if !s.contains('.') => Value::Ref(s.to_owned()),
        _ => Value::Other,
    }
}

/// Brackets balance outside strings and comments.
pub fn parses(text: &str) -> bool {
    super::terraform::syntax::balanced(&Tree::new(text, lex(text)))
}

#[cfg(test)]
mod tests;

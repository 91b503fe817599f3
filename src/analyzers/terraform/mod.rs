//! IMDS020: Terraform configurations that deploy the Managed Identity VM extension.
//!
//! Finds `azurerm_virtual_machine_extension` and `azurerm_virtual_machine_scale_set_extension`
//! resources, scale sets' `extension { }` (and `dynamic "extension"`) blocks, and any other
//! object pairing the extension's publisher and type, by publisher + type (never by name).
//! Values may come from `var.x` / `local.x` defined in the same file. The fix removes the block,
//! the `depends_on` and `provision_after_extensions` entries naming it; variables left unused go
//! only under `--unsafe-fixes`. ARM templates inlined in heredocs go to the ARM analyzer.
//!
//! `syntax` (token trees, removals) is shared with the Bicep analyzer.

pub(crate) mod graph;
mod hcl;
pub(crate) mod supplied;
pub(crate) mod syntax;
pub(crate) mod tfvars_json;

use std::{collections::HashMap, ops::Range, sync::LazyLock};

use regex::Regex;

use self::syntax::{K, Member, Tree, Uses};
use super::{Analysis, Context, is_extension_type, is_publisher};
use crate::finding::{Applicability, Diagnostic, Edit, Fix};

const RULE: &str = "IMDS020";
/// Why a variables file's value is not fixed where it stands.
const VALUE_REASON: &str = "a variable value: the template it feeds decides, and is fixed there";
const EXTENSION_RESOURCES: [&str; 2] = [
    "azurerm_virtual_machine_extension",
    "azurerm_virtual_machine_scale_set_extension",
];

/// A port in JSON settings text (`{"port": 50343}`), number or string.
pub(crate) static JSON_PORT: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?i)["']port["']\s*:\s*["']?(\d{1,5})\b"#)
        .expect("valid regex")
});
/// `"port": ${var.msi_port}` in a settings template.
static PORT_REF: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r#"(?i)\\?["']port\\?["']\s*:\s*\\?"?\$\{\s*((?:var|local)\.[A-Za-z_][A-Za-z0-9_-]*)\s*\}"#,
    )
    .expect("valid regex")
});
/// `a.b` inside a template: a possible resource address.
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"\b[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*")
        .expect("valid regex")
});
static REF: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"\b(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)")
        .expect("valid regex")
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    // Every usage names the publisher or a type, both containing this word.
    if !text.to_ascii_lowercase().contains("managedidentity") {
        return;
    }
    let tree = Tree::new(text, hcl::lex(text));
    let tf = Tf::new(&tree);
    let tfvars = ctx.path.to_ascii_lowercase().ends_with(".tfvars");
    tf.run(tfvars, out);
    embedded_templates(&tree, ctx, out);
}

/// ARM templates written inline (`template_content = <<TEMPLATE { ... } TEMPLATE` of
/// `azurerm_resource_group_template_deployment`) are ARM, not HCL: the ARM analyzer reads them.
fn embedded_templates(tree: &Tree, ctx: &Context, out: &mut Analysis) {
    for (i, t) in tree.toks.iter().enumerate() {
        if t.k != K::Heredoc {
            continue;
        }
        let raw = tree.src(i);
        let body = hcl::heredoc_body(raw);
        if !body.trim_start().starts_with('{')
            || !body.to_ascii_lowercase().contains("managedidentity")
        {
            continue;
        }
        // `heredoc_body` starts right after the marker line.
        let offset = t.s + raw.find('\n').map_or(raw.len(), |p| p + 1);
        let arm_ctx = Context {
            kind: crate::kind::FileKind::Arm,
            ..*ctx
        };
        let mut sub = Analysis::default();
        super::arm::analyze(body, &arm_ctx, &mut sub);
        // Interpolations make such JSON invalid until Terraform renders it: not worth an error.
        sub.problems.clear();
        out.extend_shifted(sub, offset);
    }
}

#[derive(Clone, Debug)]
enum Value {
    Lit(String),
    /// `var.x` or `local.x`.
    Ref(String),
    /// Tokens of an expression (a conditional between the two types, say).
    Expr(Range<usize>),
    Other,
}

/// A `variable` block or a `locals` entry: its value and the tokens to remove it.
struct Decl {
    value: Value,
    first: usize,
    last: usize,
}

enum Res {
    Lit(String),
    Unknown,
}

enum HitKind {
    /// A whole resource, referenced as `type.name`.
    Resource(String),
    /// A scale set's `extension` or `dynamic "extension"` block inside resource `type.name`.
    Block(String),
    /// Some other object; reported without a fix.
    Bare,
    /// A `.tfvars` value that is the extension type; reported without a fix.
    Value(String),
}

struct Hit {
    first: usize,
    last: usize,
    /// The `{` whose attributes carry publisher and type (settings sit there too).
    body: usize,
    /// The `{` of the block removed by the fix.
    open: usize,
    kind: HitKind,
    ext_type: String,
    /// The extension's `name`, which `provision_after_extensions` lists may repeat.
    name: Option<String>,
    /// Tokens where such lists may sit: the scale set's body, or the whole file.
    scope: Range<usize>,
}

struct Index {
    /// `depends_on` lists by the address each element names.
    depends: HashMap<String, Vec<usize>>,
    /// `provision_after_extensions` lists by extension name (lower case).
    after: HashMap<String, Vec<usize>>,
    /// `type.name` pairs anywhere outside comments.
    addresses: Uses,
    /// `var.x` / `local.x`.
    vars: Uses,
}

struct Tf<'t, 'a> {
    tree: &'t Tree<'a>,
    top: Vec<Member>,
    vars: HashMap<String, Decl>,
    locals: HashMap<String, Decl>,
}

impl<'t, 'a> Tf<'t, 'a> {
    fn new(tree: &'t Tree<'a>) -> Self {
        let top = tree.members(0, tree.len(), b"=", true);
        let mut vars = HashMap::new();
        let mut locals = HashMap::new();
        for m in &top {
            let Some(open) = m.block else { continue };
            let body = tree.members(open + 1, tree.close[open].min(tree.len()), b"=:", true);
            if tree.is_word(m.key, "variable") && m.value.len() == 1 {
                let Some(name) = key_text(tree, m.value.start) else {
                    continue;
                };
                let value = body
                    .iter()
                    .find(|a| a.block.is_none() && key_is(tree, a.key, "default"))
                    .map_or(Value::Other, |a| value_of(tree, a.value.clone()));
                vars.insert(
                    name,
                    Decl {
                        value,
                        first: m.first,
                        last: m.last,
                    },
                );
            } else if tree.is_word(m.key, "locals") && m.value.is_empty() {
                for a in body.iter().filter(|a| a.block.is_none()) {
                    if let Some(name) = key_text(tree, a.key) {
                        locals.insert(
                            name,
                            Decl {
                                value: value_of(tree, a.value.clone()),
                                first: a.first,
                                last: a.last,
                            },
                        );
                    }
                }
            }
        }
        Tf {
            tree,
            top,
            vars,
            locals,
        }
    }

    fn resolve(&self, v: &Value) -> Res {
        let mut v = v.clone();
        // A bounded chain: `local.a = var.b`, `var.b` defaults to a literal.
        for _ in 0..8 {
            match v {
                Value::Lit(s) => return Res::Lit(s),
                Value::Other => return Res::Unknown,
                Value::Expr(r) => return in_expression(self.tree, r),
                Value::Ref(r) => {
                    let decl = if let Some(n) = r.strip_prefix("var.") {
                        self.vars.get(n)
                    } else if let Some(n) = r.strip_prefix("local.") {
                        self.locals.get(n)
                    } else {
                        None
                    };
                    match decl {
                        Some(d) => v = d.value.clone(),
                        None => return Res::Unknown,
                    }
                }
            }
        }
        Res::Unknown
    }

    fn body(&self, open: usize) -> Vec<Member> {
        let hi = self.tree.close[open].min(self.tree.len());
        self.tree.members(open + 1, hi, b"=:", true)
    }

    fn attr(&self, body: &[Member], name: &str) -> Option<Res> {
        body.iter()
            .find(|m| m.block.is_none() && key_is(self.tree, m.key, name))
            .map(
                |m| match self.resolve(&value_of(self.tree, m.value.clone())) {
                    Res::Unknown => in_expression(self.tree, m.value.clone()),
                    lit @ Res::Lit(_) => lit,
                },
            )
    }

    /// The extension type when `open`'s body deploys the extension. `lenient`: a literal
    /// publisher with an unresolvable type (or the reverse) is enough; nothing else uses them.
    fn deploys(&self, open: usize, lenient: bool) -> Option<String> {
        self.deploys_in(&self.body(open), lenient)
    }

    fn deploys_in(&self, body: &[Member], lenient: bool) -> Option<String> {
        let publisher = self.attr(body, "publisher")?;
        let ty = self.attr(body, "type")?;
        match (publisher, ty) {
            (Res::Lit(p), Res::Lit(t)) if is_publisher(&p) && is_extension_type(&t) => Some(t),
            (Res::Lit(p), Res::Unknown) if lenient && is_publisher(&p) => {
                Some(format!("publisher {p}"))
            }
            (Res::Unknown, Res::Lit(t)) if lenient && is_extension_type(&t) => Some(t),
            _ => None,
        }
    }

    /// The extension type when a module call's inputs, whatever their names, give the
    /// extension's publisher and one of its types as literals (`extension_publisher = ...`):
    /// a generic extension module is the only thing both values can feed.
    fn module_inputs_deploy(&self, open: usize) -> Option<String> {
        let literals: Vec<String> = self
            .body(open)
            .iter()
            .filter(|m| m.block.is_none())
            .filter_map(
                |m| match self.resolve(&value_of(self.tree, m.value.clone())) {
                    Res::Lit(v) => Some(v),
                    Res::Unknown => None,
                },
            )
            .collect();
        if !literals.iter().any(|v| is_publisher(v)) {
            return None;
        }
        literals.into_iter().find(|v| is_extension_type(v))
    }

    /// The `{` of `properties = {` in `open`'s object.
    fn properties(&self, open: usize) -> Option<usize> {
        let m = self
            .body(open)
            .into_iter()
            .find(|m| m.block.is_none() && key_is(self.tree, m.key, "properties"))?;
        let v = m.value.start;
        (self.tree.is(v, b'{') && self.tree.close[v] + 1 == m.value.end).then_some(v)
    }

    fn name(&self, open: usize) -> Option<String> {
        match self.attr(&self.body(open), "name")? {
            Res::Lit(n) => Some(n),
            Res::Unknown => None,
        }
    }

    fn run(&self, tfvars: bool, out: &mut Analysis) {
        let tree = self.tree;
        let mut hits: Vec<Hit> = Vec::new();
        for m in &self.top {
            let Some(open) = m.block else { continue };
            if !tree.is_word(m.key, "resource") || m.value.len() != 2 {
                continue;
            }
            let (Some(ty), Some(name)) = (
                key_text(tree, m.value.start),
                key_text(tree, m.value.start + 1),
            ) else {
                continue;
            };
            let address = format!("{ty}.{name}");
            if EXTENSION_RESOURCES.contains(&ty.as_str()) {
                if let Some(ext_type) = self.deploys(open, true) {
                    hits.push(Hit {
                        first: m.first,
                        last: m.last,
                        body: open,
                        open,
                        kind: HitKind::Resource(address),
                        ext_type,
                        name: self.name(open),
                        scope: 0..tree.len(),
                    });
                }
                continue;
            }
            for b in self.body(open) {
                let Some(inner) = b.block else { continue };
                let content = if tree.is_word(b.key, "extension") && b.value.is_empty() {
                    Some(inner)
                } else if tree.is_word(b.key, "dynamic")
                    && b.value.len() == 1
                    && key_text(tree, b.value.start).as_deref() == Some("extension")
                {
                    self.body(inner)
                        .iter()
                        .find(|c| tree.is_word(c.key, "content"))
                        .and_then(|c| c.block)
                } else {
                    None
                };
                if let Some(content) = content
                    && let Some(ext_type) = self.deploys(content, true)
                {
                    hits.push(Hit {
                        first: b.first,
                        last: b.last,
                        body: content,
                        open: inner,
                        kind: HitKind::Block(address.clone()),
                        ext_type,
                        name: self.name(content),
                        scope: open + 1..tree.close[open].min(tree.len()),
                    });
                }
            }
        }
        // Any other object that pairs publisher and type (module inputs, locals, tfvars maps).
        let mut claimed: Vec<Range<usize>> =
            hits.iter().map(|h| tree.span(h.first, h.last)).collect();
        claimed.sort_by_key(|r| r.start);
        let modules: Vec<usize> = self
            .top
            .iter()
            .filter(|m| tree.is_word(m.key, "module"))
            .filter_map(|m| m.block)
            .collect();
        // Objects are visited in text order, so one bound covers the ones found here.
        let mut found_end = 0;
        for open in 0..tree.len() {
            if !tree.is(open, b'{') || !tree.closed(open) {
                continue;
            }
            let pos = tree.toks[open].s;
            if pos < found_end || syntax::covered(&claimed, pos) {
                continue;
            }
            // An ARM resource written in HCL (`jsonencode`) keeps them under `properties`.
            let body = self.properties(open).unwrap_or(open);
            let ext_type = self.deploys(body, false).or_else(|| {
                modules
                    .contains(&open)
                    .then(|| self.module_inputs_deploy(open))
                    .flatten()
            });
            if let Some(ext_type) = ext_type {
                found_end = tree.toks[tree.close[open]].e;
                let mut first = open;
                while first > 0
                    && matches!(tree.toks[first - 1].k, K::Word | K::Str)
                    && !tree.toks[first].nl
                {
                    first -= 1;
                }
                hits.push(Hit {
                    first,
                    last: tree.close[open],
                    body,
                    open,
                    kind: HitKind::Bare,
                    ext_type,
                    name: None,
                    scope: 0..0,
                });
            }
        }
        // A snippet of bare attributes (a documentation excerpt of a resource body).
        if let Some(ext_type) = self.deploys_in(&self.top, false) {
            let at = |name| {
                self.top
                    .iter()
                    .find(|m| m.block.is_none() && key_is(tree, m.key, name))
            };
            if let (Some(p), Some(t)) = (at("publisher"), at("type")) {
                hits.push(Hit {
                    first: p.first.min(t.first),
                    last: p.last.max(t.last),
                    body: usize::MAX,
                    open: usize::MAX,
                    kind: HitKind::Bare,
                    ext_type,
                    name: None,
                    scope: 0..0,
                });
            }
        }
        if tfvars {
            for m in &self.top {
                if m.block.is_some() {
                    continue;
                }
                if let Value::Lit(v) = value_of(tree, m.value.clone())
                    && is_extension_type(&v)
                {
                    hits.push(Hit {
                        first: m.first,
                        last: m.last,
                        body: usize::MAX,
                        open: usize::MAX,
                        kind: HitKind::Value(key_text(tree, m.key).unwrap_or_default()),
                        ext_type: v,
                        name: None,
                        scope: 0..0,
                    });
                }
            }
        }
        let ix = self.index();
        let mut decls = graph::Decls::terraform(tree);
        decls.gone = hits
            .iter()
            .filter_map(|h| match &h.kind {
                HitKind::Resource(a) => decls.graph.find(a),
                _ => None,
            })
            .collect();
        let raws: Vec<(Range<usize>, bool)> = hits
            .iter()
            .map(|h| match h.kind {
                HitKind::Resource(_) | HitKind::Block(_) => tree.remove_raw(h.first, h.last),
                HitKind::Bare | HitKind::Value(_) => (0..0, false),
            })
            .collect();
        let mains = syntax::grouped_removals(tree.text, &raws);
        // Two resources with one address are invalid Terraform: which one a reference means is
        // unknowable, so neither gets a fix.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for h in &hits {
            if let HitKind::Resource(a) = &h.kind {
                *seen.entry(a.as_str()).or_default() += 1;
            }
        }
        let mut fixes: Vec<Result<Fix, String>> = hits
            .iter()
            .zip(mains)
            .map(|(h, main)| match &h.kind {
                HitKind::Resource(a) if seen[a.as_str()] > 1 => Err(
                    "two resources share its address, so which one each reference means is unknowable"
                        .to_owned(),
                ),
                _ => self.fix(h, &ix, main, &decls),
            })
            .collect();
        let removes: Vec<Option<String>> = hits
            .iter()
            .map(|h| match &h.kind {
                HitKind::Resource(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        decls.keep_order(
            tree,
            hcl::lex,
            |t| graph::Decls::terraform(t).graph,
            &removes,
            &mut fixes,
        );
        for (h, fix) in hits.iter().zip(fixes) {
            if h.body != usize::MAX {
                self.ports(h.body, out);
            }
            let range = tree.span(h.first, h.last);
            let message = match &h.kind {
                HitKind::Resource(a) => format!(
                    "`{a}` deploys the retired Managed Identity VM extension ({}); remove it and use IMDS",
                    h.ext_type
                ),
                HitKind::Block(a) => format!(
                    "scale set `{a}` has an `extension` block for the retired Managed Identity VM extension ({}); remove it and use IMDS",
                    h.ext_type
                ),
                HitKind::Bare => format!(
                    "configures the retired Managed Identity VM extension ({}); remove it and use IMDS",
                    h.ext_type
                ),
                HitKind::Value(key) => format!(
                    "`{key}` selects the retired Managed Identity VM extension ({}); remove the extension it feeds and use IMDS",
                    h.ext_type
                ),
            };
            out.push(Diagnostic::new(RULE, range, message).with_fix_or_reason(fix));
        }
    }

    /// Declared ports in `settings`/`protected_settings`: heredoc or string JSON, or
    /// `jsonencode({ port = 50343 })`.
    fn ports(&self, open: usize, out: &mut Analysis) {
        let tree = self.tree;
        for m in self.body(open) {
            if m.block.is_some()
                || !(key_is(tree, m.key, "settings") || key_is(tree, m.key, "protected_settings"))
            {
                continue;
            }
            let end = m.value.end;
            for i in m.value.clone() {
                let t = tree.toks[i];
                let text = match t.k {
                    K::Heredoc => Some(hcl::heredoc_body(tree.src(i)).to_owned()),
                    K::Str => hcl::literal(tree.src(i)),
                    _ => None,
                };
                if matches!(t.k, K::Heredoc | K::Str) {
                    for c in PORT_REF.captures_iter(tree.src(i)) {
                        if let Res::Lit(v) = self.resolve(&Value::Ref(c[1].to_owned()))
                            && let Ok(p) = v.parse::<u16>()
                        {
                            out.declared_ports.push(p);
                        }
                    }
                }
                if let Some(text) = text {
                    for c in JSON_PORT.captures_iter(&text) {
                        if let Ok(p) = c[1].parse::<u16>() {
                            out.declared_ports.push(p);
                        }
                    }
                }
                if key_is(tree, i, "port")
                    && i + 2 < end
                    && (tree.is(i + 1, b'=') || tree.is(i + 1, b':'))
                {
                    let v = match self.resolve(&value_of(tree, i + 2..i + 3)) {
                        Res::Lit(v) => v,
                        Res::Unknown => String::new(),
                    };
                    if let Ok(p) = v.parse::<u16>() {
                        out.declared_ports.push(p);
                    }
                }
            }
        }
    }

    /// Where lists, resource addresses and variables are used, computed once per file.
    fn index(&self) -> Index {
        let tree = self.tree;
        let mut addresses = Uses::default();
        let mut vars = Uses::default();
        for t in &tree.toks {
            let s = &tree.text[t.s..t.e];
            match t.k {
                K::Word => {
                    let mut parts = s.splitn(3, '.');
                    if let (Some(a), Some(b)) = (parts.next(), parts.next()) {
                        addresses.add(&format!("{a}.{b}"), t.s);
                    }
                }
                K::Str | K::Heredoc => {
                    for m in PAIR.find_iter(s) {
                        addresses.add(m.as_str(), t.s + m.start());
                    }
                }
                _ => continue,
            }
            for c in REF.captures_iter(s) {
                let whole = c.get(0).expect("group 0");
                // `x.var.y` is an attribute named `var`, not a variable.
                if whole.start() > 0 && s.as_bytes()[whole.start() - 1] == b'.' {
                    continue;
                }
                vars.add(&format!("{}.{}", &c[1], &c[2]), t.s + whole.start());
            }
        }
        addresses.finish();
        vars.finish();
        Index {
            depends: tree.list_index("depends_on", b'=', false, |f| dependency(tree, f)),
            after: tree.list_index("provision_after_extensions", b'=', false, |f| {
                hcl::literal(tree.src(f)).map(|v| v.to_ascii_lowercase())
            }),
            addresses,
            vars,
        }
    }

    /// An object in a list (`extensions = [{ publisher = ..., type = ... }]` feeding a
    /// `dynamic "extension"`): removing the element is the migration. Other objects stay for
    /// a person.
    fn entry_fix(&self, h: &Hit) -> Option<Fix> {
        let tree = self.tree;
        if h.open == usize::MAX || h.first != h.open || !tree.closed(h.open) {
            return None;
        }
        let list = tree.parent[h.open];
        if list == syntax::NONE || !tree.is(list, b'[') || !tree.closed(list) {
            return None;
        }
        let edits = tree
            .remove_elements(list, false, |f, _| f == h.open)
            .unwrap_or_else(|| vec![tree.remove(h.first, h.last)]);
        Fix::safe(
            "remove the Managed Identity extension entry",
            syntax::tidy(tree.text, edits),
        )
    }

    fn fix(
        &self,
        h: &Hit,
        ix: &Index,
        main: Range<usize>,
        decls: &graph::Decls,
    ) -> Result<Fix, String> {
        let tree = self.tree;
        let address = match &h.kind {
            HitKind::Resource(a) => Some(a.as_str()),
            HitKind::Block(_) => None,
            HitKind::Bare => {
                return self.entry_fix(h).ok_or_else(|| {
                    "it is not a resource, an `extension` block or a list entry, so where it is used cannot be traced".to_owned()
                });
            }
            HitKind::Value(_) => {
                return Err(VALUE_REASON.to_owned());
            }
        };
        // An unclosed block would take the rest of the file with it.
        if h.open == usize::MAX || !tree.closed(h.open) {
            return Err("its block is not closed".to_owned());
        }
        let range = tree.span(h.first, h.last);
        let mut edits = vec![Edit::deletion(main)];
        let mut applicability = Applicability::Safe;
        let mut also = Vec::new();
        if let Some(name) = &h.name {
            // Other extensions ordered after this one would name a missing extension.
            let keys = ix
                .after
                .get(&name.to_ascii_lowercase())
                .into_iter()
                .flatten();
            let lit = |f: usize| hcl::literal(tree.src(f));
            let is_ref = |f: usize| lit(f).is_some_and(|v| v.eq_ignore_ascii_case(name));
            // What it was itself provisioned after is passed on.
            let own = self
                .body(h.body)
                .into_iter()
                .find(|m| m.block.is_none() && key_is(tree, m.key, "provision_after_extensions"))
                .map(|m| graph::list_entries(tree, m.value.start, false, &lit))
                .unwrap_or_default();
            let after = graph::pass_on_lists(
                tree,
                keys.copied().filter(|k| h.scope.contains(k)),
                false,
                &range,
                &is_ref,
                &own,
                &lit,
            );
            if !after.is_empty() {
                also.push("`provision_after_extensions` entries");
            }
            edits.extend(after);
        }
        if let Some(address) = address {
            let keys = ix.depends.get(address).into_iter().flatten().copied();
            let is_ref = |f: usize| dependency(tree, f).as_deref() == Some(address);
            let deps = decls.pass_on_depends(tree, keys, false, &range, address, &is_ref);
            edits.extend(deps.edits);
            let (lists, rerouted) = (deps.lists, deps.rerouted);
            if !lists.is_empty() {
                also.push(if rerouted {
                    "`depends_on` entries (now naming what it depended on)"
                } else {
                    "`depends_on` entries"
                });
            }
            let mut skip: Vec<&Range<usize>> = lists.iter().collect();
            skip.push(&range);
            let used_elsewhere = ix.addresses.used_outside(address, &skip);
            if used_elsewhere {
                // Removing it would break the expressions that read it: a person decides.
                applicability = Applicability::Unsafe;
            }
        }
        let mut cleanup = Vec::new();
        for name in ix.vars.names_in(&range) {
            let d = if let Some(n) = name.strip_prefix("var.") {
                self.vars.get(n)
            } else {
                name.strip_prefix("local.").and_then(|n| self.locals.get(n))
            };
            let Some(d) = d else { continue };
            let own = tree.span(d.first, d.last);
            if !ix.vars.used_outside(name, &[&range, &own]) {
                cleanup.push(tree.remove(d.first, d.last));
            }
        }
        let mut description = match &h.kind {
            HitKind::Resource(a) => format!("remove `{a}`"),
            _ => "remove the scale set's Managed Identity `extension` block".to_owned(),
        };
        if !also.is_empty() {
            description.push_str(&format!(" and the {} naming it", also.join(" and ")));
        }
        Fix::new(applicability, description, syntax::tidy(tree.text, edits))
            .map(|f| f.with_cleanup(syntax::tidy(tree.text, cleanup)))
            .ok_or_else(|| "its removal and the references to it overlap".to_owned())
    }
}

/// A conditional such as `var.win ? "ManagedIdentityExtensionForWindows" : "...ForLinux"`
/// still names the extension: its first literal that is the publisher or a type stands for it.
fn in_expression(tree: &Tree, r: Range<usize>) -> Res {
    r.filter(|&i| i < tree.len() && tree.toks[i].k == K::Str)
        .filter_map(|i| hcl::literal(tree.src(i)))
        .find(|v| is_publisher(v) || is_extension_type(v))
        .map_or(Res::Unknown, Res::Lit)
}

/// The address a `depends_on` element names: `type.name`, `type.name[0]`, or the quoted
/// `"type.name"` of Terraform 0.11.
fn dependency(tree: &Tree, f: usize) -> Option<String> {
    match tree.toks[f].k {
        K::Word => Some(tree.src(f).to_owned()),
        K::Str => hcl::literal(tree.src(f)),
        _ => None,
    }
}

fn key_text(tree: &Tree, i: usize) -> Option<String> {
    match tree.toks[i].k {
        K::Word => Some(tree.src(i).to_owned()),
        K::Str => hcl::literal(tree.src(i)),
        _ => None,
    }
}

fn key_is(tree: &Tree, i: usize, name: &str) -> bool {
    key_text(tree, i).as_deref() == Some(name)
}

fn value_of(tree: &Tree, r: Range<usize>) -> Value {
    if r.is_empty() || r.end > tree.len() {
        return Value::Other;
    }
    if r.len() != 1 {
        return Value::Expr(r);
    }
    let i = r.start;
    let s = tree.src(i);
    match tree.toks[i].k {
        K::Str => hcl::literal(s).map_or_else(
            || hcl::sole_interpolation(s).map_or(Value::Other, |r| Value::Ref(r.to_owned())),
            Value::Lit,
        ),
        K::Word if s.starts_with("var.") || s.starts_with("local.") => Value::Ref(s.to_owned()),
        K::Word if s.bytes().all(|c| c.is_ascii_digit()) => Value::Lit(s.to_owned()),
        _ => Value::Other,
    }
}

/// Brackets balance outside strings, comments and heredocs.
pub fn parses(text: &str) -> bool {
    syntax::balanced(&Tree::new(text, hcl::lex(text)))
}

#[cfg(test)]
mod tests;

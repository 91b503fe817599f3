//! Deployments (`Microsoft.Resources/deployments`) that link another template file and pass it
//! values (IMDS008): what each passes, where its template is (`templateLink.relativePath`, or a
//! `uri` that names a file of the repository), and what a template deploys only with the values
//! it is given. Reading the files is `crossfile`'s job.

use std::{
    collections::{BTreeSet, HashMap},
    ops::Range,
};

use super::{Context, IMDS_HINT, Tree, is_extension_type, is_publisher, jsonc, whole_ref};
use crate::finding::Diagnostic;

pub use super::nested::RULE;

/// Where a linked template is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A path relative to the calling file's folder: `relativePath`, or a `uri` built on the
    /// caller's own link (`uri(deployment().properties.templateLink.uri, 'nested/ext.json')`).
    Relative(String),
    /// The last path segments of a URL on an unknown base (`concat(variables('base'),
    /// 'nested/ext.json')`, a literal `https://...` URL): the one file of the repository whose
    /// path ends with at least `min` of them, matched whole segment by segment.
    Suffix { segments: Vec<String>, min: usize },
}

/// One deployment that links a template file and passes it a value naming the extension.
pub(crate) struct Call {
    /// The deployment's `name` as written.
    pub deployment: String,
    pub target: Target,
    /// Literal values passed (after the caller's own variables, defaults and supplied values),
    /// by lower-case parameter name.
    pub values: HashMap<String, String>,
    /// The parameter as written and the span of its value, by lower-case parameter name.
    pub spans: HashMap<String, (String, Range<usize>)>,
}

/// The deployments of `text` that link a template file and pass it the extension's publisher
/// or one of its types. `supplied`: the caller's own parameter file's values.
pub(crate) fn calls(
    text: &str,
    ctx: &Context,
    supplied: Option<&HashMap<String, String>>,
) -> Vec<Call> {
    let Ok(doc) = jsonc::parse(text, false) else {
        return Vec::new();
    };
    let mut tree = Tree::new(text, text, &doc, ctx, false);
    tree.supplied = supplied;
    let mut out = Vec::new();
    for dep in 0..doc.nodes.len() {
        if !tree.is_deployment(dep) {
            continue;
        }
        let Some(props) = doc.get(dep, "properties") else {
            continue;
        };
        let Some(link) = doc.get(props, "templateLink").filter(|&l| doc.is_object(l)) else {
            continue;
        };
        if doc.get(props, "template").is_some() {
            continue;
        }
        let Some(params) = doc.get(props, "parameters") else {
            continue;
        };
        let mut values = HashMap::new();
        let mut spans = HashMap::new();
        for m in doc.members(params) {
            let Some(v) = doc.get(m.value, "value") else {
                continue;
            };
            // An expression left unresolved (`copyIndex()`, `reference()`...) is no value.
            let Some(s) = tree
                .resolve(v, 0)
                .filter(|s| !s.trim_start().starts_with('['))
            else {
                continue;
            };
            let lower = m.key.to_ascii_lowercase();
            spans.insert(lower.clone(), (m.key.clone(), doc.node(v).span.clone()));
            values.insert(lower, s);
        }
        if !values
            .values()
            .any(|v| is_publisher(v) || is_extension_type(v))
        {
            continue;
        }
        let Some(target) = target(&tree, link) else {
            continue;
        };
        let deployment = doc
            .get(dep, "name")
            .and_then(|n| doc.str(n))
            .unwrap_or("(unnamed)")
            .to_owned();
        out.push(Call {
            deployment,
            target,
            values,
            spans,
        });
    }
    out
}

/// An extension a template deploys only with the values it is given.
pub(crate) struct Deployed {
    /// The resource (or profile entry, or object) that becomes the extension.
    pub range: Range<usize>,
    pub type_name: String,
    /// The given values (lower-case parameter names) its publisher and type came from.
    pub used: BTreeSet<String>,
}

/// The extensions of template `text` that exist only with `values` for its parameters (its
/// defaults for the others); those the template deploys alone are left out.
pub(crate) fn deploys_with(
    text: &str,
    ctx: &Context,
    values: &HashMap<String, String>,
) -> Vec<Deployed> {
    let Ok(doc) = jsonc::parse(text, false) else {
        return Vec::new();
    };
    let alone = Tree::new(text, text, &doc, ctx, false).find();
    let mut tree = Tree::new(text, text, &doc, ctx, false);
    tree.supplied = Some(values);
    tree.find()
        .into_iter()
        .filter(|f| !f.supplied_used.is_empty() && !alone.iter().any(|a| a.object == f.object))
        .map(|f| Deployed {
            range: doc.node(f.object).span.clone(),
            type_name: f.type_name,
            used: f.supplied_used,
        })
        .collect()
}

/// IMDS008 at the value of `call` (the first in the file of those `deployed` used), in the
/// caller; `template` is the linked file's path, `line` its resource's line.
pub(crate) fn caller_diagnostic(
    call: &Call,
    deployed: &Deployed,
    template: &str,
    line: usize,
    via: Option<&str>,
) -> Option<Diagnostic> {
    let used = used_values(call, deployed);
    let with = via.map_or(String::new(), |v| format!(" ({v})"));
    let message = format!(
        "Deployment `{}`{with} passes {} to `{template}`, whose extension resource (line {line}) becomes the retired Managed Identity VM extension ({}) with them: stop passing them, or remove the deployment when that template deploys nothing else; {IMDS_HINT}",
        call.deployment,
        quoted(&used),
        deployed.type_name
    );
    let span = used.first()?.1.clone();
    Some(Diagnostic::new(RULE, span, message).with_fix_or_reason(Err(
        "the linked template may deploy more than the extension, and the deployment's other values and outputs may be used, so a person decides".to_owned(),
    )))
}

/// IMDS008 at the first value of `call` that names the extension, when `template` passes the
/// values on to linked templates, and `last` deploys it.
pub(crate) fn relay_diagnostic(
    call: &Call,
    template: &str,
    last: &str,
    via: Option<&str>,
) -> Option<Diagnostic> {
    let mut naming: Vec<&(String, Range<usize>)> = call
        .spans
        .iter()
        .filter(|(n, _)| {
            call.values
                .get(*n)
                .is_some_and(|v| is_publisher(v) || is_extension_type(v))
        })
        .map(|(_, s)| s)
        .collect();
    naming.sort_by_key(|(_, r)| r.start);
    let with = via.map_or(String::new(), |v| format!(" ({v})"));
    let message = format!(
        "Deployment `{}`{with} passes {} to `{template}`, which passes them on to `{last}`, whose extension resource becomes the retired Managed Identity VM extension with them: stop passing them; {IMDS_HINT}",
        call.deployment,
        quoted(&naming)
    );
    let span = naming.first()?.1.clone();
    Some(Diagnostic::new(RULE, span, message).with_fix_or_reason(Err(
        "the linked templates may deploy more than the extension, so a person decides".to_owned(),
    )))
}

/// IMDS008 at the linked template's resource that `caller`'s deployment makes the extension.
pub(crate) fn callee_diagnostic(call: &Call, deployed: &Deployed, caller: &str) -> Diagnostic {
    let used = used_values(call, deployed);
    let message = format!(
        "Deployed by `{caller}` (deployment `{}`), this resource installs the retired Managed Identity VM extension ({}) with the values the deployment passes ({}); stop deploying it with those values (or remove this resource when every caller does); {IMDS_HINT}",
        call.deployment,
        deployed.type_name,
        quoted(&used)
    );
    Diagnostic::new(RULE, deployed.range.clone(), message).with_fix_or_reason(Err(
        "other deployments may link this template for other extensions".to_owned(),
    ))
}

/// The values of `call` that `deployed` used, in file order: (parameter as written, span).
fn used_values<'c>(call: &'c Call, deployed: &Deployed) -> Vec<&'c (String, Range<usize>)> {
    let mut used: Vec<&(String, Range<usize>)> = deployed
        .used
        .iter()
        .filter_map(|n| call.spans.get(n))
        .collect();
    used.sort_by_key(|(_, r)| r.start);
    used
}

fn quoted(used: &[&(String, Range<usize>)]) -> String {
    used.iter()
        .map(|(k, _)| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where `templateLink` object `link` leads, when it is certain enough to read.
fn target(tree: &Tree, link: usize) -> Option<Target> {
    let doc = tree.doc;
    if let Some(rp) = doc.get(link, "relativePath") {
        let path = tree.resolve(rp, 0)?;
        return (!path.trim_start().starts_with('[')).then_some(Target::Relative(path));
    }
    let uri = doc.get(link, "uri")?;
    // A whole `parameters('x')`/`variables('x')` is followed to its value first.
    let value = tree.resolve(uri, 0)?;
    let value = value.trim();
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(inner) if !inner.starts_with('[') => expression_target(tree, uri, inner),
        _ => url_target(value),
    }
}

/// The target of a `uri` expression: `uri(base, 'path')` on the caller's own link is relative
/// to it; any other base leaves the last literal path, matched as a suffix.
fn expression_target(tree: &Tree, at: usize, expr: &str) -> Option<Target> {
    let (name, args) = call_args(expr)?;
    let (base, path) = match (name.to_ascii_lowercase().as_str(), args.as_slice()) {
        ("uri", [base, path]) => (Some(*base), literal_path(&[*path])?),
        ("concat", args) => (None, literal_path(args)?),
        _ => return None,
    };
    if base.is_some_and(|b| is_own_link(tree, at, b)) {
        return Some(Target::Relative(path));
    }
    if path.contains("://") {
        return url_target(&path);
    }
    let segments = segments(&path)?;
    Some(Target::Suffix {
        min: segments.len(),
        segments,
    })
}

/// `deployment().properties.templateLink.uri`, as written or as a parameter's default or a
/// variable's value (`_artifactsLocation` in many templates).
fn is_own_link(tree: &Tree, at: usize, base: &str) -> bool {
    let own = |s: &str| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let s = s.strip_prefix('[').unwrap_or(&s);
        let s = s.strip_suffix(']').unwrap_or(s);
        s == "deployment().properties.templatelink.uri"
    };
    if own(base) {
        return true;
    }
    let wrapped = format!("[{}]", base.trim());
    let Some((is_var, name)) = whole_ref(&wrapped) else {
        return false;
    };
    tree.lookup(at, is_var, name, 0).is_some_and(|v| own(&v))
}

/// The path of the last string literal among `args`: only query-string references
/// (`parameters('_artifactsLocationSasToken')`) may follow it, in the same `concat()` or after it.
fn literal_path(args: &[&str]) -> Option<String> {
    let mut rest = args;
    while let Some((last, before)) = rest.split_last() {
        if is_query_ref(last) {
            rest = before;
            continue;
        }
        let last = last.trim();
        if let Some(lit) = last.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
            return (!lit.contains('\'')).then(|| lit.to_owned());
        }
        // `concat('nested/ext.json', parameters('sasToken'))` as the path argument.
        let (name, inner) = call_args(last)?;
        return name
            .eq_ignore_ascii_case("concat")
            .then(|| literal_path(&inner))
            .flatten();
    }
    None
}

/// `parameters('x')`/`variables('x')` whose name says it is a SAS token (a query string).
fn is_query_ref(arg: &str) -> bool {
    whole_ref(&format!("[{}]", arg.trim())).is_some_and(|(_, n)| {
        let n = n.to_ascii_lowercase();
        n.contains("sas") || n.contains("token")
    })
}

/// The path segments of a literal URL, at least two of which must match (a bare file name
/// such as `azuredeploy.json` names too many unrelated templates).
fn url_target(url: &str) -> Option<Target> {
    let after_scheme = url.split_once("://")?.1;
    let path = after_scheme.split_once('/')?.1;
    let segments = segments(path)?;
    (segments.len() >= 2).then_some(Target::Suffix { segments, min: 2 })
}

/// The `/`-segments of a path that ends with a `.json` file, without its query string; `None`
/// when a segment climbs (`..`).
fn segments(path: &str) -> Option<Vec<String>> {
    let path = path.split(['?', '#']).next()?;
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(str::to_owned)
        .collect();
    let last = segs.last()?;
    let ok = last.to_ascii_lowercase().ends_with(".json") && !segs.iter().any(|s| s == "..");
    ok.then_some(segs)
}

/// The function name and top-level arguments of `name(a, b, ...)`, the whole text.
fn call_args(expr: &str) -> Option<(&str, Vec<&str>)> {
    let expr = expr.trim();
    let open = expr.find('(')?;
    let name = expr[..open].trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let body = expr[open + 1..].strip_suffix(')')?;
    let mut args = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in body.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quoted {
        return None;
    }
    args.push(body[start..].trim());
    Some((name, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::FileKind;

    fn ctx() -> Context<'static> {
        Context {
            kind: FileKind::Arm,
            path: "main.json",
            api_version: "2018-02-01",
            extra_ports: &[],
        }
    }

    fn caller(link: &str) -> String {
        format!(
            r#"{{
  "parameters": {{
    "_artifactsLocation": {{ "type": "string", "defaultValue": "[deployment().properties.templateLink.uri]" }},
    "_artifactsLocationSasToken": {{ "type": "securestring", "defaultValue": "" }}
  }},
  "variables": {{ "base": "https://example.invalid/templates/", "kind": "ManagedIdentityExtensionForLinux" }},
  "resources": [
    {{
      "type": "Microsoft.Resources/deployments",
      "apiVersion": "2022-09-01",
      "name": "ext",
      "properties": {{
        "mode": "Incremental",
        "templateLink": {link},
        "parameters": {{
          "pub": {{ "value": "Microsoft.ManagedIdentity" }},
          "ty": {{ "value": "[variables('kind')]" }},
          "n": {{ "value": "[copyIndex()]" }}
        }}
      }}
    }}
  ]
}}"#
        )
    }

    fn target_of(link: &str) -> Option<Target> {
        let text = caller(link);
        let calls = calls(&text, &ctx(), None);
        calls.into_iter().next().map(|c| c.target)
    }

    fn suffix(segs: &[&str], min: usize) -> Target {
        Target::Suffix {
            segments: segs.iter().map(|s| (*s).to_owned()).collect(),
            min,
        }
    }

    #[test]
    fn values_are_resolved_in_the_caller() {
        let text = caller(r#"{ "relativePath": "nested/ext.json" }"#);
        let calls = calls(&text, &ctx(), None);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].values["ty"], "ManagedIdentityExtensionForLinux");
        assert_eq!(calls[0].values["pub"], "Microsoft.ManagedIdentity");
        assert!(!calls[0].values.contains_key("n"));
        assert_eq!(
            calls[0].target,
            Target::Relative("nested/ext.json".to_owned())
        );
    }

    #[test]
    fn where_a_uri_leads() {
        let rel = Some(Target::Relative("nested/ext.json".to_owned()));
        assert_eq!(
            target_of(
                r#"{ "uri": "[uri(deployment().properties.templateLink.uri, 'nested/ext.json')]" }"#
            ),
            rel
        );
        assert_eq!(
            target_of(
                r#"{ "uri": "[uri(parameters('_artifactsLocation'), concat('nested/ext.json', parameters('_artifactsLocationSasToken')))]" }"#
            ),
            rel
        );
        assert_eq!(
            target_of(r#"{ "uri": "[concat(variables('base'), 'nested/ext.json')]" }"#),
            Some(suffix(&["nested", "ext.json"], 2))
        );
        assert_eq!(
            target_of(r#"{ "uri": "[uri(variables('base'), 'ext.json')]" }"#),
            Some(suffix(&["ext.json"], 1))
        );
        assert_eq!(
            target_of(
                r#"{ "uri": "https://raw.example.invalid/org/repo/main/nested/ext.json?sv=1" }"#
            ),
            Some(suffix(&["org", "repo", "main", "nested", "ext.json"], 2))
        );
        // A bare file name on a literal host, a path that climbs, a computed file name, a
        // literal that is not the end of the path, a template spec: not followed.
        for link in [
            r#"{ "uri": "https://example.invalid/ext.json" }"#,
            r#"{ "uri": "[concat(variables('base'), '../ext.json')]" }"#,
            r#"{ "uri": "[concat(variables('base'), parameters('file'))]" }"#,
            r#"{ "uri": "[concat(variables('base'), 'ext.json', parameters('suffix'))]" }"#,
            r#"{ "uri": "[concat(variables('base'), 'nested/')]" }"#,
            r#"{ "id": "/subscriptions/x/providers/Microsoft.Resources/templateSpecs/ext" }"#,
        ] {
            assert_eq!(target_of(link), None, "{link}");
        }
    }

    const GENERIC: &str = r#"{
  "parameters": {
    "pub": { "type": "string" },
    "ty": { "type": "string", "defaultValue": "ManagedIdentityExtensionForWindows" }
  },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "vm/agent",
      "properties": { "publisher": "[parameters('pub')]", "type": "[parameters('ty')]" }
    }
  ]
}"#;

    fn deployed(values: &[(&str, &str)]) -> Vec<(String, BTreeSet<String>)> {
        let v = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        deploys_with(GENERIC, &ctx(), &v)
            .into_iter()
            .map(|d| (d.type_name, d.used))
            .collect()
    }

    #[test]
    fn the_callee_deploys_the_extension_with_the_values_and_its_defaults() {
        // The publisher passed, the type from the callee's default.
        let d = deployed(&[("pub", "Microsoft.ManagedIdentity")]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, "ManagedIdentityExtensionForWindows");
        assert_eq!(d[0].1, BTreeSet::from(["pub".to_owned()]));
        // Another publisher, the provider's other resource type, or unrelated names: nothing.
        assert!(deployed(&[("pub", "Microsoft.Azure.Extensions")]).is_empty());
        assert!(
            deployed(&[("pub", "Microsoft.ManagedIdentity/userAssignedIdentities")]).is_empty()
        );
        assert!(deployed(&[("publisher", "Microsoft.ManagedIdentity")]).is_empty());
    }
}

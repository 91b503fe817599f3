//! `.bicepparam` files: their `using` template, literal `param` values and IMDS005 findings.

use std::ops::Range;

use super::{Bicep, K, NONE, Value, lex, literal, supplied::ModuleCall, syntax::Tree};
use crate::{analyzers::arm::supplied::RULE, finding::Diagnostic};

/// What a parameter file gives its template.
pub(crate) struct ParamFile {
    /// The local `using` path as written (`./main.bicep`, `main.json`); `None` for `using
    /// none` (a base file other files extend), registry and template-spec references.
    pub using: Option<String>,
    /// The base parameter file of `extends './base.bicepparam'`, whose values this file's
    /// own override.
    pub extends: Option<String>,
    /// Every `param` the file assigns, in order, whatever its value.
    pub declared: Vec<String>,
    pub values: Vec<Supplied>,
}

/// One `param name = value` whose value is a literal string (after the file's own `var`s).
pub(crate) struct Supplied {
    pub name: String,
    pub value: String,
    /// The declaration, as IMDS021 reports a parameter value.
    pub range: Range<usize>,
}

/// The `using` and `extends` targets and the literal values of a `.bicepparam` file.
pub(crate) fn read(text: &str) -> ParamFile {
    let tree = Tree::new(text, lex(text));
    let t = &tree;
    let top = |i: usize| t.parent[i] == NONE && (i == 0 || t.toks[i].nl);
    // A local path: registry and template-spec references (`br:`, `br/public:`, `ts:`) are not.
    let path = |keyword: &str| {
        (0..t.len())
            .find(|&i| top(i) && t.is_word(i, keyword))
            .filter(|&i| t.toks.get(i + 1).is_some_and(|n| n.k == K::Str))
            .and_then(|i| literal(t.src(i + 1)))
            .filter(|p| !p.is_empty() && !p.contains(':'))
    };
    let (using, extends) = (path("using"), path("extends"));
    let b = Bicep::new(t);
    let mut declared = Vec::new();
    let mut values = Vec::new();
    for i in 0..t.len() {
        if !top(i) || !t.is_word(i, "param") || t.toks.get(i + 1).is_none_or(|n| n.k != K::Word) {
            continue;
        }
        let name = t.src(i + 1);
        declared.push(name.to_owned());
        let Some(decl) = b.decls.get(name) else {
            continue;
        };
        if let Some(value) = strict(&b, &decl.value) {
            values.push(Supplied {
                name: name.to_owned(),
                value,
                range: t.span(decl.first, decl.last),
            });
        }
    }
    ParamFile {
        using,
        extends,
        declared,
        values,
    }
}

/// A literal, or a `var` chain ending in one. Stricter than the template's own reading: a
/// conditional or an interpolation is not a value this file certainly gives.
fn strict(b: &Bicep, v: &Value) -> Option<String> {
    let mut v = v;
    for _ in 0..8 {
        match v {
            Value::Lit(s) => return Some(s.clone()),
            Value::Ref(r) => v = &b.decls.get(r)?.value,
            _ => return None,
        }
    }
    None
}

/// Why a template's finding has no fix.
const GENERIC: &str =
    "the template is generic: other parameter files may deploy other extensions with it";

/// Why a value's finding has no fix.
const REQUIRED: &str = "the template may require the parameter: a person decides what this deployment installs instead";

/// The finding at a template resource that deploys the extension with `param_file`'s values.
pub(crate) fn template_diagnostic(
    range: Range<usize>,
    param_file: &str,
    ext_type: &str,
) -> Diagnostic {
    Diagnostic::new(
        RULE,
        range,
        format!("Deployed with `{param_file}`, this resource installs the retired Managed Identity VM extension ({ext_type}): the parameter file sets its publisher and type; stop deploying it with those values (remove them, or this resource for such deployments); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed"),
    )
    .with_fix_or_reason(Err(GENERIC.to_owned()))
}

/// The finding at a template's module call that passes `param_file`'s values on to a module
/// deploying the extension.
pub(crate) fn call_diagnostic(call: &ModuleCall, param_file: &str, ext_type: &str) -> Diagnostic {
    Diagnostic::new(
        RULE,
        call.range.clone(),
        format!("Deployed with `{param_file}`, module `{}` ('{}') deploys the retired Managed Identity VM extension ({ext_type}) with the values this call passes on; stop deploying it with those values (remove them, or this call for such deployments); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed", call.symbol, call.path),
    )
    .with_fix_or_reason(Err(GENERIC.to_owned()))
}

/// The finding at a value of the parameter file that makes `template` deploy the extension.
pub(crate) fn value_diagnostic(value: &Supplied, template: &str, ext_type: &str) -> Diagnostic {
    Diagnostic::new(
        RULE,
        value.range.clone(),
        format!("parameter `{}` = '{}' makes `{template}` deploy the retired Managed Identity VM extension ({ext_type}); stop deploying it with this value (remove it and what it feeds, or the template's extension resource); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed", value.name, value.value),
    )
    .with_fix_or_reason(Err(REQUIRED.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn using_path_and_literal_values() {
        let text = "// prod\nusing './main.bicep'\n\nvar pub = 'Microsoft.ManagedIdentity'\nparam publisher = pub\nparam extType = 'ManagedIdentityExtensionForLinux' // the agent\nparam tags = {\n  env: 'prod'\n}\nparam name = 'vm-${env}'\nparam pick = isProd ? 'Microsoft.ManagedIdentity' : 'b'\nvar half = isProd ? 'ManagedIdentityExtensionForLinux' : 'x'\nparam viaVar = half\n/* param old = 'x' */\n";
        let p = read(text);
        assert_eq!(p.using.as_deref(), Some("./main.bicep"));
        assert_eq!(p.extends, None);
        assert_eq!(
            p.declared,
            ["publisher", "extType", "tags", "name", "pick", "viaVar"]
        );
        let got: Vec<(&str, &str)> = p
            .values
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("publisher", "Microsoft.ManagedIdentity"),
                ("extType", "ManagedIdentityExtensionForLinux")
            ]
        );
        assert_eq!(
            &text[p.values[1].range.clone()],
            "param extType = 'ManagedIdentityExtensionForLinux'"
        );
    }

    #[test]
    fn no_local_template() {
        for text in [
            "using none\nparam a = 'Microsoft.ManagedIdentity'\n",
            "using 'br:contoso.azurecr.io/ext:1'\nparam a = 'x'\n",
            "using 'br/public:avm/res/compute/virtual-machine:0.1.0'\n",
            "using 'ts:00000000-0000-0000-0000-000000000000/rg/spec:1'\n",
            "param a = 'Microsoft.ManagedIdentity'\n",
            "using '${dir}/main.bicep'\n",
        ] {
            assert!(read(text).using.is_none(), "{text}");
        }
        let leaf = read("using 'main.bicep'\nextends '../shared/base.bicepparam'\nparam a = 'x'\n");
        assert_eq!(leaf.extends.as_deref(), Some("../shared/base.bicepparam"));
    }
}

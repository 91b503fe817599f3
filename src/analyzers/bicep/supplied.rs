//! Bicep `module` calls whose `params` make the module's generic extension resource the
//! Managed Identity extension (IMDS007): the call site, and the module file it reads.

use std::{collections::HashMap, ops::Range};

use super::{Bicep, Res, Value, lex, syntax::Tree, value_of};
use crate::analyzers::Analysis;
use crate::finding::Diagnostic;

pub(crate) const RULE: &str = "IMDS007";

/// One `module sym 'path' = { params: { ... } }` declaration.
pub(crate) struct ModuleCall {
    /// From `module` to the body's closing brace.
    pub range: Range<usize>,
    pub symbol: String,
    /// The path as written (`./ext.bicep`); registry references (`br:...`) are left out.
    pub path: String,
    /// The `params` entries whose values are literal strings (after the caller's own
    /// `var`/`param` defaults).
    pub params: HashMap<String, String>,
}

/// The local module calls of a Bicep file that pass at least one literal parameter.
pub(crate) fn module_calls(text: &str) -> Vec<ModuleCall> {
    module_calls_with(text, &HashMap::new(), false)
}

/// The local module calls of a Bicep template deployed with `given` values for its `param`s
/// (see [`extensions_with`] for `fold_case`).
pub(crate) fn module_calls_with(
    text: &str,
    given: &HashMap<String, String>,
    fold_case: bool,
) -> Vec<ModuleCall> {
    let tree = Tree::new(text, lex(text));
    let mut b = Bicep::new(&tree);
    set_params(&mut b, given, fold_case);
    let t = &tree;
    let mut out = Vec::new();
    for i in 0..t.len() {
        if !t.is_word(i, "module") || !(i == 0 || t.toks[i].nl) || i + 4 >= t.len() {
            continue;
        }
        if t.toks[i + 1].k != super::K::Word || t.toks[i + 2].k != super::K::Str {
            continue;
        }
        let Some(path) = super::literal(t.src(i + 2)) else {
            continue;
        };
        // `= if (...) {` and `= [for ...]` deploy conditionally or many times: not read.
        if path.contains(':') || !t.is(i + 3, b'=') || !t.is(i + 4, b'{') || !t.closed(i + 4) {
            continue;
        }
        let body = i + 4;
        let Some(pv) = b.attr_value(&b.members(body), "params") else {
            continue;
        };
        if !t.is(pv.start, b'{') || !t.closed(pv.start) {
            continue;
        }
        let params: HashMap<String, String> = b
            .members(pv.start)
            .iter()
            .filter_map(|m| {
                let key = match t.toks[m.key].k {
                    super::K::Word => t.src(m.key).to_owned(),
                    _ => super::literal(t.src(m.key))?,
                };
                match b.resolve(&value_of(t, m.value.clone())) {
                    Res::Lit(v) => Some((key, v)),
                    Res::Unknown => None,
                }
            })
            .collect();
        if params.is_empty() {
            continue;
        }
        out.push(ModuleCall {
            range: t.toks[i].s..t.toks[t.close[body]].e,
            symbol: t.src(i + 1).to_owned(),
            path,
            params,
        });
    }
    out
}

/// The extension type the module file deploys only with `params` (a resource it does not
/// deploy alone, whose publisher and type both resolve to the extension's values).
pub(crate) fn deploys_with(module_text: &str, params: &HashMap<String, String>) -> Option<String> {
    extensions_with(module_text, params, false)
        .into_iter()
        .next()
        .map(|(_, ext_type)| ext_type)
}

/// Each resource of a Bicep template that deploys the extension only with `params` (its
/// reported range and the extension type). `fold_case` matches `params` keyed by lower-case
/// name (an ARM JSON parameter file) to the template's `param`s.
pub(crate) fn extensions_with(
    text: &str,
    params: &HashMap<String, String>,
    fold_case: bool,
) -> Vec<(Range<usize>, String)> {
    let tree = Tree::new(text, lex(text));
    let alone = Bicep::new(&tree);
    let mut with = Bicep::new(&tree);
    if !set_params(&mut with, params, fold_case) {
        return Vec::new();
    }
    let mut before = Analysis::default();
    alone.run(&mut before);
    let mut after = Analysis::default();
    with.run(&mut after);
    let t = &tree;
    after
        .diagnostics
        .iter()
        .filter(|d| d.rule == super::RULE)
        .filter(|d| !before.diagnostics.iter().any(|x| x.range == d.range))
        .filter_map(|d| {
            let at = (0..t.len()).find(|&i| t.toks[i].s == d.range.start)?;
            let props = if t.is_word(at, "resource") {
                with.properties(with.resource_body(at)?.0)?
            } else {
                with.properties(at).unwrap_or(at)
            };
            // Strict: both halves known, not the lenient match of one for a file read alone.
            with.deploys(props, false).map(|ty| (d.range.clone(), ty))
        })
        .collect()
}

/// Gives the template's `param`s (and `var`s of the same name) the values `params` has for
/// them; true when one was given.
fn set_params(b: &mut Bicep, params: &HashMap<String, String>, fold_case: bool) -> bool {
    let mut set = false;
    for (name, decl) in &mut b.decls {
        let given = if fold_case {
            params.get(&name.to_ascii_lowercase())
        } else {
            params.get(name)
        };
        if let Some(v) = given {
            decl.value = Value::Lit(v.clone());
            set = true;
        }
    }
    set
}

/// The finding at a call site whose module deploys `ext_type` with the call's values.
pub(crate) fn call_diagnostic(call: &ModuleCall, ext_type: &str) -> Diagnostic {
    let message = format!(
        "module `{}` ('{}') deploys the retired Managed Identity VM extension ({ext_type}) with the values this call passes; stop passing them (or remove the call when the module only deploys this extension); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed",
        call.symbol, call.path
    );
    // No fix: the module is generic, other calls may deploy other extensions with it.
    Diagnostic::new(RULE, call.range.clone(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "param vmName string\nparam publisher string\nparam extType string = 'CustomScript'\n\nresource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: '${vmName}/agent'\n  properties: {\n    publisher: publisher\n    type: extType\n    typeHandlerVersion: '1.0'\n  }\n}\n";

    fn with(params: &[(&str, &str)]) -> Option<String> {
        let p = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        deploys_with(MODULE, &p)
    }

    #[test]
    fn the_call_values_make_the_resource_the_extension() {
        let mi = [
            ("publisher", "Microsoft.ManagedIdentity"),
            ("extType", "ManagedIdentityExtensionForLinux"),
        ];
        assert_eq!(
            with(&mi).as_deref(),
            Some("ManagedIdentityExtensionForLinux")
        );
        // Half of the pair (the type's default is another extension), another extension,
        // or other names are not.
        assert_eq!(with(&mi[..1]), None);
        assert_eq!(
            with(&[
                ("publisher", "Microsoft.Azure.Extensions"),
                ("extType", "CustomScript")
            ]),
            None
        );
        assert_eq!(
            with(&[
                ("pub", "Microsoft.ManagedIdentity"),
                ("type", "ManagedIdentityExtensionForLinux")
            ]),
            None
        );
    }

    #[test]
    fn module_calls_read_literal_params() {
        let caller = "var kind = 'ManagedIdentityExtensionForWindows'\nmodule ext './modules/ext.bicep' = {\n  name: 'ext'\n  params: {\n    vmName: vm.name\n    publisher: 'Microsoft.ManagedIdentity'\n    extType: kind\n  }\n}\nmodule reg 'br:contoso.azurecr.io/ext:1' = {\n  params: { publisher: 'Microsoft.ManagedIdentity' }\n}\n";
        let calls = module_calls(caller);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].path, "./modules/ext.bicep");
        assert_eq!(calls[0].params.len(), 2);
        assert_eq!(
            calls[0].params["extType"],
            "ManagedIdentityExtensionForWindows"
        );
        assert!(caller[calls[0].range.clone()].starts_with("module ext"));
    }
}

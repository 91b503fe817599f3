//! Nested deployments (`Microsoft.Resources/deployments` with an inline `properties.template`):
//! which template's parameters and variables an expression inside sees
//! (`expressionEvaluationOptions.scope`: `outer`, the default, is the caller's; `inner` is the
//! inline template's own, its parameters set by the values the deployment passes), and the
//! IMDS008 finding at the value a deployment passes to its inline template's extension.

use super::{IMDS_HINT, Tree, edits};
use crate::finding::{Diagnostic, Edit};

pub const RULE: &str = "IMDS008";

/// Why the value a deployment passes to its own inline template has no fix of its own.
const INLINE_REASON: &str = "removing the extension resource of the nested template (IMDS001) is the fix; the value is unused after it";

impl Tree<'_> {
    /// Whether `obj` is a `Microsoft.Resources/deployments` resource.
    pub(super) fn is_deployment(&self, obj: usize) -> bool {
        self.doc.is_object(obj)
            && self
                .doc
                .get(obj, "type")
                .and_then(|t| self.doc.str(t))
                .is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("Microsoft.Resources/deployments")
                })
    }

    /// The deployment resource whose `properties.template` is `obj`.
    pub(super) fn deployment_of_template(&self, obj: usize) -> Option<usize> {
        if !self.doc.is_object(obj) || !self.doc.key_of(obj)?.eq_ignore_ascii_case("template") {
            return None;
        }
        let props = self.parent(obj)?;
        if !self.doc.key_of(props)?.eq_ignore_ascii_case("properties") {
            return None;
        }
        let dep = self.parent(props)?;
        self.is_deployment(dep).then_some(dep)
    }

    /// Whether `obj` is a deployment's `properties`: its `parameters` are values passed, not
    /// declarations, so it is no template.
    pub(super) fn is_deployment_properties(&self, obj: usize) -> bool {
        self.doc
            .key_of(obj)
            .is_some_and(|k| k.eq_ignore_ascii_case("properties"))
            && self.parent(obj).is_some_and(|d| self.is_deployment(d))
    }

    /// Whether the inline template of deployment `dep` evaluates its expressions in its own
    /// scope. ARM's default is `outer`: the caller's parameters and variables.
    pub(super) fn inner_scope(&self, dep: usize) -> bool {
        self.doc
            .get(dep, "properties")
            .and_then(|p| self.doc.get(p, "expressionEvaluationOptions"))
            .and_then(|o| self.doc.get(o, "scope"))
            .and_then(|s| self.doc.str(s))
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("inner"))
    }

    /// The node of the value deployment `dep` passes to parameter `name`
    /// (`properties.parameters.NAME.value`).
    pub(super) fn passed_value(&self, dep: usize, name: &str) -> Option<usize> {
        let params = self
            .doc
            .get(dep, "properties")
            .and_then(|p| self.doc.get(p, "parameters"))?;
        self.doc
            .get(params, name)
            .and_then(|p| self.doc.get(p, "value"))
    }

    /// Edits removing the values a deployment passes to the parameters (members `removed` of
    /// `params`) that a fix removes from its inline template `tpl`: ARM rejects a value for a
    /// parameter the template does not declare.
    pub(super) fn passed_cleanup(&self, tpl: usize, params: usize, removed: &[usize]) -> Vec<Edit> {
        let Some(passed) = self
            .deployment_of_template(tpl)
            .and_then(|dep| self.doc.get(dep, "properties"))
            .and_then(|p| self.doc.get(p, "parameters"))
            .filter(|&p| self.doc.is_object(p))
        else {
            return Vec::new();
        };
        let declared = self.doc.members(params);
        let idx: Vec<usize> = self
            .doc
            .members(passed)
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                removed
                    .iter()
                    .any(|&r| declared[r].key.eq_ignore_ascii_case(&m.key))
            })
            .map(|(i, _)| i)
            .collect();
        edits::remove_items(self.parsed, &self.items_of(passed), &idx, None, None)
    }

    /// The deployment resource around node `i`, nearest first.
    fn enclosing_deployment(&self, i: usize) -> Option<usize> {
        let mut cur = self.parent(i);
        while let Some(n) = cur {
            if self.is_deployment(n) {
                return Some(n);
            }
            cur = self.parent(n);
        }
        None
    }

    /// IMDS008 at the values deployments pass to an inline template's extension (`passed`: the
    /// value nodes its publisher and type resolved through), one per deployment, at the first
    /// value in the file.
    pub(super) fn passed_diagnostics(&self, passed: &[usize], type_name: &str) -> Vec<Diagnostic> {
        let mut by_dep: Vec<(usize, Vec<usize>)> = Vec::new();
        for &v in passed {
            let Some(dep) = self.enclosing_deployment(v) else {
                continue;
            };
            match by_dep.iter_mut().find(|(d, _)| *d == dep) {
                Some((_, vs)) => vs.push(v),
                None => by_dep.push((dep, vec![v])),
            }
        }
        by_dep
            .into_iter()
            .filter_map(|(dep, mut values)| {
                values.sort_by_key(|&v| self.doc.node(v).span.start);
                let names: Vec<String> = values
                    .iter()
                    .filter_map(|&v| self.parent(v).and_then(|p| self.doc.key_of(p)))
                    .map(|k| format!("`{k}`"))
                    .collect();
                let deployment = self
                    .doc
                    .get(dep, "name")
                    .and_then(|n| self.doc.str(n))
                    .unwrap_or("(unnamed)");
                let message = format!(
                    "Deployment `{deployment}` passes {} to its nested template, whose extension resource becomes the retired Managed Identity VM extension ({type_name}) with them: stop passing them, or remove the extension from the nested template; {IMDS_HINT}",
                    names.join(", ")
                );
                let span = self.doc.node(*values.first()?).span.clone();
                Some(
                    Diagnostic::new(RULE, span, message)
                        .with_fix_or_reason(Err(INLINE_REASON.to_owned())),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Analysis, analyze};
    use crate::{analyzers::Context, kind::FileKind};

    /// A template whose deployment `ext` passes `pass` to an inline template of `scope`
    /// (`None`: ARM's default) whose extension takes `pub`/`ty` from parameters.
    fn template(scope: Option<&str>, pass: &str, copy: &str) -> String {
        let options = scope.map_or(String::new(), |s| {
            format!(r#""expressionEvaluationOptions": {{ "scope": "{s}" }},"#)
        });
        format!(
            r#"{{
  "parameters": {{
    "pub": {{ "type": "string", "defaultValue": "Microsoft.Azure.Extensions" }},
    "kinds": {{ "type": "array", "defaultValue": ["ManagedIdentityExtensionForLinux"] }}
  }},
  "variables": {{ "ty": "ManagedIdentityExtensionForLinux" }},
  "resources": [
    {{
      "type": "Microsoft.Resources/deployments",
      "apiVersion": "2022-09-01",
      "name": "ext",{copy}
      "properties": {{
        "mode": "Incremental",
        {options}
        "parameters": {{ {pass} }},
        "template": {{
          "parameters": {{
            "pub": {{ "type": "string" }},
            "ty": {{ "type": "string", "defaultValue": "CustomScript" }}
          }},
          "resources": [
            {{
              "type": "Microsoft.Compute/virtualMachines/extensions",
              "apiVersion": "2023-03-01",
              "name": "vm/agent",
              "properties": {{ "publisher": "[parameters('pub')]", "type": "[parameters('ty')]" }}
            }},
            {{
              "type": "Microsoft.Compute/virtualMachines/extensions",
              "apiVersion": "2023-03-01",
              "name": "vm/after",
              "dependsOn": [ "[resourceId('Microsoft.Compute/virtualMachines/extensions', 'vm', 'agent')]" ],
              "properties": {{ "publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent" }}
            }}
          ]
        }}
      }}
    }}
  ]
}}"#
        )
    }

    fn run(text: &str) -> Analysis {
        let ctx = Context {
            kind: FileKind::Arm,
            path: "main.json",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        out
    }

    fn rules(text: &str) -> Vec<(&'static str, String)> {
        let mut out: Vec<_> = run(text)
            .diagnostics
            .iter()
            .map(|d| (d.rule, text[d.range.clone()].chars().take(30).collect()))
            .collect();
        out.sort();
        out
    }

    const MI: &str = r#""pub": { "value": "Microsoft.ManagedIdentity" }, "ty": { "value": "[variables('ty')]" }"#;

    #[test]
    fn inner_scope_takes_the_values_the_deployment_passes() {
        let text = template(Some("inner"), MI, "");
        assert_eq!(
            rules(&text),
            [
                ("IMDS001", "{\n              \"type\": \"Micro".to_owned()),
                ("IMDS008", "\"Microsoft.ManagedIdentity\"".to_owned()),
            ]
        );
        // Case does not matter to ARM; the publisher alone leaves the type's default.
        assert_eq!(rules(&template(Some("Inner"), MI, "")).len(), 2);
        let half = r#""pub": { "value": "Microsoft.ManagedIdentity" }"#;
        assert!(rules(&template(Some("inner"), half, "")).is_empty());
    }

    #[test]
    fn outer_scope_sees_the_callers_parameters_not_its_own() {
        // Outer (the default): `parameters('pub')` is the caller's (another publisher), the
        // passed values and the inline declarations do not count.
        assert!(rules(&template(None, MI, "")).is_empty());
        assert!(rules(&template(Some("outer"), MI, "")).is_empty());
        let caller_mi = template(None, "", "").replace(
            r#""defaultValue": "Microsoft.Azure.Extensions""#,
            r#""defaultValue": "Microsoft.ManagedIdentity""#,
        );
        // ...and `parameters('ty')` is not the caller's either (it has none): no type, no usage.
        assert!(rules(&caller_mi).is_empty());
        let caller_both = caller_mi.replace(
            r#""kinds": {"#,
            r#""ty": { "type": "string", "defaultValue": "ManagedIdentityExtensionForWindows" }, "kinds": {"#,
        );
        assert_eq!(rules(&caller_both).len(), 1);
        assert_eq!(rules(&caller_both)[0].0, "IMDS001");
        // Names no caller declares fall back to the inline template's own declarations.
        let own_only = template(None, "", "")
            .replacen(r#""pub": {"#, r#""callerPub": {"#, 1)
            .replace(
                r#""pub": { "type": "string" }"#,
                r#""pub": { "type": "string", "defaultValue": "Microsoft.ManagedIdentity" }"#,
            )
            .replace(
                r#""defaultValue": "CustomScript""#,
                r#""defaultValue": "ManagedIdentityExtensionForLinux""#,
            );
        assert_eq!(rules(&own_only)[0].0, "IMDS001", "{own_only}");
        let inner_unpassed = caller_both.replace(
            r#""mode": "Incremental","#,
            r#""mode": "Incremental", "expressionEvaluationOptions": { "scope": "inner" },"#,
        );
        // Inner scope never sees the caller's names (its unused default is IMDS004 as ever).
        assert_eq!(
            rules(&inner_unpassed),
            [("IMDS004", "\"ManagedIdentityExtensionForWi".to_owned())]
        );
    }

    #[test]
    fn look_alike_values_are_not_usages() {
        for pass in [
            r#""location": { "value": "westeurope" }, "name": { "value": "Microsoft.ManagedIdentity" }"#,
            r#""pub": { "value": "Microsoft.ManagedIdentity/userAssignedIdentities" }, "ty": { "value": "[variables('ty')]" }"#,
            r#""pub": { "value": "Microsoft.Azure.Extensions" }, "ty": { "value": "CustomScript" }"#,
            r#""pub": { "value": "Microsoft.ManagedIdentity" }, "ty": { "value": "[parameters('kinds')[copyIndex()]]" }"#,
        ] {
            assert!(
                rules(&template(Some("inner"), pass, "")).is_empty(),
                "{pass}"
            );
        }
    }

    #[test]
    fn copy_loops_pass_the_same_values_to_every_copy() {
        let copy = r#" "copy": { "name": "exts", "count": 2 },"#;
        assert_eq!(rules(&template(Some("inner"), MI, copy)).len(), 2);
    }

    #[test]
    fn the_inline_extension_is_removed_and_its_dependents_keep_their_order() {
        let text = template(Some("inner"), MI, "");
        let out = run(&text);
        let fix = out
            .diagnostics
            .iter()
            .find(|d| d.rule == "IMDS001")
            .and_then(|d| d.fix.as_ref())
            .expect("a fix");
        let (fixed, taken) = crate::fix::apply::apply_fixes(&text, &[fix], false);
        assert_eq!(taken.len(), 1);
        assert!(super::super::parses(&fixed));
        assert!(!fixed.contains("vm/agent"), "{fixed}");
        // The extension waited for nothing inside the nested template: nothing to pass on.
        assert!(fixed.contains("\"name\": \"vm/after\",\n              \"dependsOn\": [],"));
        assert!(run(&fixed).diagnostics.is_empty(), "{fixed}");
    }
}

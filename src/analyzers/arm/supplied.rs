//! IMDS005: a generic template whose extension resource takes its publisher and type from
//! parameters, deployed with a parameter file (`X.parameters.json` beside `X.json`) that sets
//! them to the Managed Identity extension. Neither file is a usage alone; together they are.

use std::collections::HashMap;

use super::{Analysis, Context, Tree, is_extension_type, is_publisher, jsonc};
use crate::finding::Diagnostic;

pub const RULE: &str = "IMDS005";

/// The string values a parameter file gives (`parameters.NAME.value`), by lower-case name.
pub(crate) fn parameter_values(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(doc) = jsonc::parse(text, false) else {
        return out;
    };
    let Some(params) = doc.get(0, "parameters") else {
        return out;
    };
    for m in doc.members(params) {
        if let Some(v) = doc.get(m.value, "value").and_then(|v| doc.str(v)) {
            out.insert(m.key.to_ascii_lowercase(), v.to_owned());
        }
    }
    out
}

/// True when the values name the extension at all (its publisher or one of its types).
pub(crate) fn names_the_extension(values: &HashMap<String, String>) -> bool {
    values
        .values()
        .any(|v| is_publisher(v) || is_extension_type(v))
}

/// The template a parameter file belongs to, by the naming convention of Azure's tooling:
/// `X.parameters.json` and `X.parameters.ENV.json` belong to `X.json`.
pub fn template_name(parameter_file: &str) -> Option<String> {
    let lower = parameter_file.to_ascii_lowercase();
    let at = lower.find(".parameters.")?;
    let rest = &lower[at + ".parameters.".len()..];
    let env_ok = rest == "json"
        || rest.strip_suffix(".json").is_some_and(|env| {
            !env.is_empty() && env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (at > 0 && env_ok).then(|| format!("{}.json", &parameter_file[..at]))
}

/// The extensions in `text` (the template) that exist only with the parameter file's values.
pub(crate) fn analyze_with_parameters(
    text: &str,
    ctx: &Context,
    values: &HashMap<String, String>,
    parameter_file: &str,
    out: &mut Analysis,
) {
    let Ok(doc) = jsonc::parse(text, false) else {
        return;
    };
    let mut alone = Analysis::default();
    Tree::new(text, text, &doc, ctx, false).analyze(&mut alone);
    let mut tree = Tree::new(text, text, &doc, ctx, false);
    tree.supplied = Some(values);
    let mut with = Analysis::default();
    tree.analyze(&mut with);
    for d in with.diagnostics {
        let extension = matches!(d.rule, "IMDS001" | "IMDS002" | "IMDS003");
        if !extension || alone.diagnostics.iter().any(|a| a.range == d.range) {
            continue;
        }
        let message = format!(
            "Deployed with `{parameter_file}`, this resource installs the retired Managed Identity VM extension: the parameter file sets its publisher and type; stop deploying it with those values (remove them, or this resource for such deployments); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed"
        );
        // No fix: the template is generic, other parameter files may deploy other extensions.
        out.push(Diagnostic::new(RULE, d.range, message));
    }
    out.declared_ports.extend(with.declared_ports);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::FileKind;

    const TEMPLATE: &str = r#"{
  "parameters": {
    "extPublisher": { "type": "string" },
    "extType": { "type": "string", "defaultValue": "CustomScript" }
  },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "vm/agent",
      "properties": {
        "publisher": "[parameters('extPublisher')]",
        "type": "[parameters('extType')]",
        "typeHandlerVersion": "1.0"
      }
    }
  ]
}"#;

    fn run(params: &str) -> Vec<&'static str> {
        let ctx = Context {
            kind: FileKind::Arm,
            path: "ext.json",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze_with_parameters(
            TEMPLATE,
            &ctx,
            &parameter_values(params),
            "ext.parameters.json",
            &mut out,
        );
        out.diagnostics.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn the_parameter_file_makes_the_resource_a_usage() {
        let p = r#"{"parameters": {"extPublisher": {"value": "Microsoft.ManagedIdentity"}, "extType": {"value": "ManagedIdentityExtensionForLinux"}}}"#;
        assert_eq!(run(p), [RULE]);
        // Another extension, or half of the pair, is not.
        let other = r#"{"parameters": {"extPublisher": {"value": "Microsoft.Azure.Extensions"}, "extType": {"value": "CustomScript"}}}"#;
        assert!(run(other).is_empty());
        let half = r#"{"parameters": {"extPublisher": {"value": "Microsoft.ManagedIdentity"}}}"#;
        assert!(run(half).is_empty());
    }

    #[test]
    fn parameter_file_names() {
        assert_eq!(
            template_name("azuredeploy.parameters.json").as_deref(),
            Some("azuredeploy.json")
        );
        assert_eq!(
            template_name("ext.parameters.prod.json").as_deref(),
            Some("ext.json")
        );
        assert_eq!(template_name("parameters.json"), None);
        assert_eq!(template_name("ext.json"), None);
        assert_eq!(template_name("a.parameters.x.y.json"), None);
    }
}

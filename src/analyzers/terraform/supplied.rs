//! Terraform extension resources whose publisher and type are `var.x`, read with the values a
//! `.tfvars` file of the same directory gives those variables (IMDS006).

use std::collections::HashMap;

use super::{Res, Tf, Value, hcl, key_text, syntax::Tree, value_of};
use crate::analyzers::{Analysis, is_extension_type, is_publisher};
use crate::finding::Diagnostic;

pub(crate) const RULE: &str = "IMDS006";

/// The string values a `.tfvars` (HCL) or `.tfvars.json` file assigns to variables.
pub(crate) fn tfvars_values(text: &str, json: bool) -> HashMap<String, String> {
    if json {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) else {
            return HashMap::new();
        };
        return map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
            .collect();
    }
    let tree = Tree::new(text, hcl::lex(text));
    tree.members(0, tree.len(), b"=", true)
        .iter()
        .filter(|m| m.block.is_none())
        .filter_map(|m| match value_of(&tree, m.value.clone()) {
            Value::Lit(v) => Some((key_text(&tree, m.key)?, v)),
            _ => None,
        })
        .collect()
}

/// Whether the values name the extension at all: the publisher and one of the two types.
pub(crate) fn names_the_extension(values: &HashMap<String, String>) -> bool {
    values.values().any(|v| is_publisher(v)) || values.values().any(|v| is_extension_type(v))
}

/// The resources and `extension` blocks of `text` that deploy the extension only with the
/// variable values of `tfvars_name`: those the file alone already reports are left out.
pub(crate) fn analyze_with_vars(
    text: &str,
    values: &HashMap<String, String>,
    tfvars_name: &str,
    out: &mut Analysis,
) {
    let tree = Tree::new(text, hcl::lex(text));
    let alone = Tf::new(&tree);
    let mut with = Tf::new(&tree);
    let mut set = false;
    for (name, decl) in &mut with.vars {
        if let Some(v) = values.get(name) {
            decl.value = Value::Lit(v.clone());
            set = true;
        }
    }
    if !set {
        return;
    }
    let mut before = Analysis::default();
    alone.run(false, &mut before);
    let mut after = Analysis::default();
    with.run(false, &mut after);
    for d in after.diagnostics {
        if d.rule != super::RULE || before.diagnostics.iter().any(|b| b.range == d.range) {
            continue;
        }
        // Both halves must be literal with the values: the lenient match of one known half is
        // for a file read alone, not for values borrowed from another file.
        if !both_known(&with, &tree, d.range.start) {
            continue;
        }
        let message = format!(
            "With `{tfvars_name}`, this deploys the retired Managed Identity VM extension: the variables file sets its publisher and type; stop deploying it with those values (remove them, or this resource for such deployments); tokens come from IMDS (http://169.254.169.254/metadata/identity/oauth2/token, header Metadata: true) with nothing installed"
        );
        // No fix: the module is generic, other variables files may deploy other extensions.
        out.push(Diagnostic::new(RULE, d.range, message));
    }
}

/// Whether the block starting at byte `start` resolves both publisher and type to the
/// extension's literal values.
fn both_known(tf: &Tf, tree: &Tree, start: usize) -> bool {
    let Some(first) = (0..tree.len()).find(|&i| tree.span(i, i).start >= start) else {
        return false;
    };
    let Some(open) = (first..tree.len()).find(|&i| tree.is(i, b'{')) else {
        return false;
    };
    let mut bodies = vec![open];
    // A scale set's `dynamic "extension"` keeps its attributes in `content { ... }`.
    bodies.extend(
        tf.body(open)
            .iter()
            .filter(|m| tree.is_word(m.key, "content"))
            .filter_map(|m| m.block),
    );
    bodies.into_iter().any(|b| {
        let body = tf.body(b);
        matches!(
            (tf.attr(&body, "publisher"), tf.attr(&body, "type")),
            (Some(Res::Lit(p)), Some(Res::Lit(t))) if is_publisher(&p) && is_extension_type(&t)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = r#"
variable "ext_publisher" {}
variable "ext_type" {
  default = "CustomScript"
}
resource "azurerm_virtual_machine_extension" "agent" {
  name                 = "agent"
  virtual_machine_id   = var.vm_id
  publisher            = var.ext_publisher
  type                 = var.ext_type
  type_handler_version = "1.0"
}
"#;

    fn run(tfvars: &str) -> Vec<&'static str> {
        let mut out = Analysis::default();
        analyze_with_vars(MODULE, &tfvars_values(tfvars, false), "x.tfvars", &mut out);
        out.diagnostics.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn the_variables_file_makes_the_resource_a_usage() {
        let mi = "ext_publisher = \"Microsoft.ManagedIdentity\"\next_type = \"ManagedIdentityExtensionForLinux\"\n";
        assert_eq!(run(mi), [RULE]);
        // Another extension, half of the pair (the type's default is another extension), or
        // other variables are not.
        assert!(
            run("ext_publisher = \"Microsoft.Azure.Extensions\"\next_type = \"CustomScript\"\n")
                .is_empty()
        );
        assert!(run("ext_publisher = \"Microsoft.ManagedIdentity\"\n").is_empty());
        assert!(run("publisher = \"Microsoft.ManagedIdentity\"\ntype = \"ManagedIdentityExtensionForLinux\"\n").is_empty());
    }

    #[test]
    fn json_variables_files() {
        let v = tfvars_values(
            r#"{"ext_type": "ManagedIdentityExtensionForWindows", "n": 3}"#,
            true,
        );
        assert_eq!(v.len(), 1);
        assert!(names_the_extension(&v));
        assert!(tfvars_values("not json", true).is_empty());
    }
}

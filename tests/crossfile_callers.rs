//! Callers that supply another file's extension values reach the cross-file pass without a
//! finding of their own, and linked ARM templates are read only where they certainly are
//! (IMDS005, IMDS006, IMDS007, IMDS008).

#[path = "support/tree.rs"]
mod tree;

use std::fs;

use imds_migrate::scan::{self, ScanOptions};
use tree::{GENERIC, rules_by_file};

fn with_rule<'a>(found: &'a [(String, String, usize)], rule: &str) -> Vec<(&'a str, usize)> {
    found
        .iter()
        .filter(|f| f.1 == rule)
        .map(|f| (f.0.as_str(), f.2))
        .collect()
}

#[test]
fn a_bicep_caller_without_findings_of_its_own_is_read() {
    // The caller names the values in `var`s, not in an object that pairs them: no finding of
    // its own, yet its call makes the module the extension.
    let module = "param publisher string\nparam kind string = 'CustomScript'\n\nresource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/agent'\n  properties: {\n    publisher: publisher\n    type: kind\n  }\n}\n";
    let caller = "var pub = 'Microsoft.ManagedIdentity'\nvar agent = 'ManagedIdentityExtensionForLinux'\n\nmodule agentExt './ext.bicep' = {\n  name: 'agent'\n  params: {\n    publisher: pub\n    kind: agent\n  }\n}\n";
    let found = rules_by_file(&[("main.bicep", caller), ("ext.bicep", module)]);
    assert_eq!(found, [("main.bicep".to_owned(), "IMDS007".to_owned(), 4)]);
}

const TF_MODULE: &str = r#"variable "pub" {}
variable "ty" {}
resource "azurerm_virtual_machine_extension" "agent" {
  name      = "agent"
  publisher = var.pub
  type      = var.ty
}
"#;

#[test]
fn a_tfvars_json_without_findings_of_its_own_is_read() {
    let vars =
        r#"{ "pub": "Microsoft.ManagedIdentity", "ty": "ManagedIdentityExtensionForWindows" }"#;
    let found = rules_by_file(&[("tf/main.tf", TF_MODULE), ("tf/prod.tfvars.json", vars)]);
    assert_eq!(
        with_rule(&found, "IMDS006"),
        [("tf/main.tf", 3)],
        "{found:?}"
    );
    // Another extension's values: nothing.
    let other = r#"{ "pub": "Microsoft.Azure.Extensions", "ty": "CustomScript" }"#;
    assert!(rules_by_file(&[("tf/main.tf", TF_MODULE), ("tf/prod.tfvars.json", other)]).is_empty());
}

#[test]
fn a_parameter_file_setting_only_the_publisher_is_read() {
    // IMDS004 has nothing to say about a publisher; the template's default is the type.
    let template = r#"{
  "parameters": {
    "pub": { "type": "string" },
    "ty": { "type": "string", "defaultValue": "ManagedIdentityExtensionForLinux" }
  },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "vm/agent",
      "properties": { "publisher": "[parameters('pub')]", "type": "[parameters('ty')]" }
    }
  ]
}
"#;
    let params = r#"{ "parameters": { "pub": { "value": "Microsoft.ManagedIdentity" } } }"#;
    let found = rules_by_file(&[("ext.json", template), ("ext.parameters.json", params)]);
    assert_eq!(with_rule(&found, "IMDS005"), [("ext.json", 7)], "{found:?}");
}

fn caller(link: &str) -> String {
    format!(
        r#"{{
  "variables": {{ "base": "https://templates.contoso.invalid/arm/" }},
  "resources": [
    {{
      "type": "Microsoft.Resources/deployments",
      "name": "agent",
      "properties": {{
        "mode": "Incremental",
        "templateLink": {link},
        "parameters": {{
          "pub": {{ "value": "Microsoft.ManagedIdentity" }},
          "ty": {{ "value": "ManagedIdentityExtensionForLinux" }}
        }}
      }}
    }}
  ]
}}
"#
    )
}

#[test]
fn linked_templates_by_relative_path_and_unique_uri_suffix() {
    let rel = caller(r#"{ "relativePath": "../shared/ext.json" }"#);
    let found = rules_by_file(&[("deploy/main.json", &rel), ("shared/ext.json", GENERIC)]);
    assert_eq!(
        with_rule(&found, "IMDS008"),
        [("deploy/main.json", 11), ("shared/ext.json", 4)],
        "{found:?}"
    );
    let uri = caller(r#"{ "uri": "[concat(variables('base'), 'shared/ext.json')]" }"#);
    let found = rules_by_file(&[
        ("deploy/main.json", &uri),
        ("modules/shared/ext.json", GENERIC),
        // Same name, other folder: the suffix still names one file.
        ("modules/other/ext.json", GENERIC),
    ]);
    assert_eq!(
        with_rule(&found, "IMDS008"),
        [("deploy/main.json", 11), ("modules/shared/ext.json", 4)],
        "{found:?}"
    );
}

#[test]
fn linked_templates_that_are_not_certain_are_not_read() {
    // Two files end with the suffix; none does; the path leaves the root.
    let uri = caller(r#"{ "uri": "[concat(variables('base'), 'ext.json')]" }"#);
    let two = rules_by_file(&[
        ("main.json", &uri),
        ("a/ext.json", GENERIC),
        ("b/ext.json", GENERIC),
    ]);
    assert!(two.is_empty(), "{two:?}");
    let missing = caller(r#"{ "relativePath": "nested/ext.json" }"#);
    assert!(rules_by_file(&[("main.json", &missing), ("ext.json", GENERIC)]).is_empty());
    let up = caller(r#"{ "relativePath": "../../ext.json" }"#);
    assert!(rules_by_file(&[("infra/main.json", &up), ("ext.json", GENERIC)]).is_empty());
}

#[cfg(unix)]
#[test]
fn linked_templates_are_never_read_through_symbolic_links() {
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir_all(outside.path().join("shared")).unwrap();
    fs::write(outside.path().join("shared/ext.json"), GENERIC).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::os::unix::fs::symlink(outside.path().join("shared"), root.join("shared")).unwrap();
    fs::write(
        root.join("rel.json"),
        caller(r#"{ "relativePath": "shared/ext.json" }"#),
    )
    .unwrap();
    fs::write(
        root.join("uri.json"),
        caller(r#"{ "uri": "[concat(variables('base'), 'shared/ext.json')]" }"#),
    )
    .unwrap();
    let result = scan::scan(&ScanOptions {
        roots: vec![root.to_path_buf()],
        ..ScanOptions::default()
    });
    assert!(result.findings.is_empty(), "{:?}", result.findings);
}

#[test]
fn values_passed_on_through_a_linked_template() {
    // main.json -> vm/agent.json (passes its parameters on) -> ext.json (the generic extension).
    let relay = r#"{
  "parameters": { "agentPublisher": { "type": "string" }, "agentType": { "type": "string" } },
  "resources": [
    {
      "type": "Microsoft.Resources/deployments",
      "name": "ext",
      "properties": {
        "mode": "Incremental",
        "templateLink": { "relativePath": "../ext.json" },
        "parameters": {
          "pub": { "value": "[parameters('agentPublisher')]" },
          "ty": { "value": "[parameters('agentType')]" }
        }
      }
    }
  ]
}
"#;
    let main = caller(r#"{ "relativePath": "vm/agent.json" }"#)
        .replace(r#""pub": {"#, r#""agentPublisher": {"#)
        .replace(r#""ty": {"#, r#""agentType": {"#);
    let found = rules_by_file(&[
        ("main.json", &main),
        ("vm/agent.json", relay),
        ("ext.json", GENERIC),
    ]);
    assert_eq!(
        with_rule(&found, "IMDS008"),
        [("ext.json", 4), ("main.json", 11), ("vm/agent.json", 11)],
        "{found:?}"
    );
    // Without the caller's values, the relay and the extension template are silent.
    let alone = rules_by_file(&[("vm/agent.json", relay), ("ext.json", GENERIC)]);
    assert!(alone.is_empty(), "{alone:?}");
}

#[test]
fn a_bicep_module_that_is_an_arm_template() {
    let caller = "module agent './ext.json' = {\n  name: 'agent'\n  params: {\n    PUB: 'Microsoft.ManagedIdentity'\n    ty: 'ManagedIdentityExtensionForLinux'\n  }\n}\n";
    let found = rules_by_file(&[("main.bicep", caller), ("ext.json", GENERIC)]);
    assert_eq!(
        with_rule(&found, "IMDS007"),
        [("main.bicep", 1)],
        "{found:?}"
    );
    let other = caller
        .replace("Microsoft.ManagedIdentity", "Microsoft.Azure.Extensions")
        .replace("ManagedIdentityExtensionForLinux", "CustomScript");
    assert!(rules_by_file(&[("main.bicep", &other), ("ext.json", GENERIC)]).is_empty());
}

#[test]
fn suppressions_of_cross_file_findings_are_used_ones() {
    // The linked template's resource silenced on its line (JSONC comment), the caller's value
    // silenced too: no IMDS008, and no IMDS900 (the walk, reading each file alone, saw
    // nothing for those comments to silence).
    let callee = GENERIC.replace(
        "    {\n      \"type\"",
        "    { // imds-migrate: ignore[IMDS008]\n      \"type\"",
    );
    let main = caller(r#"{ "relativePath": "ext.json" }"#).replace(
        r#""pub": { "value": "Microsoft.ManagedIdentity" },"#,
        r#""pub": { "value": "Microsoft.ManagedIdentity" }, // imds-migrate: ignore"#,
    );
    let found = rules_by_file(&[("main.json", &main), ("ext.json", &callee)]);
    assert!(found.is_empty(), "{found:?}");
    // A suppression that silences nothing, in either pass, is still reported.
    let stray = main.replace(
        r#""variables": {"#,
        "// imds-migrate: ignore[IMDS030]\n  \"variables\": {",
    );
    let found = rules_by_file(&[("main.json", &stray), ("ext.json", &callee)]);
    assert_eq!(
        with_rule(&found, "IMDS900"),
        [("main.json", 2)],
        "{found:?}"
    );
}

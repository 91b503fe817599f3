//! Value files (ARM parameter files, `.tfvars`) whose template or module beside them uses none
//! of their values for an extension: what they carry names something else, not a usage.

#[path = "support/tree.rs"]
mod tree;

fn findings(files: &[(&str, &str)]) -> Vec<String> {
    tree::rules_by_file(files)
        .into_iter()
        .map(|(path, rule, line)| format!("{rule} {path}:{line}"))
        .collect()
}

const PARAMS: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": { "legacy": { "value": "ManagedIdentityExtensionForLinux" } }
}
"#;

fn template(resource: &str) -> String {
    format!(
        r#"{{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {{ "legacy": {{ "type": "string" }} }},
  "resources": [ {resource} ]
}}
"#
    )
}

#[test]
fn a_parameter_value_its_template_uses_elsewhere_is_not_a_usage() {
    let tagged = template(
        r#"{ "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2021-09-01", "name": "st", "tags": { "legacy": "[parameters('legacy')]" } }"#,
    );
    assert!(
        findings(&[
            ("storage.json", &tagged),
            ("storage.parameters.json", PARAMS)
        ])
        .is_empty()
    );
    // Without its template, the value may feed an extension: still reported.
    assert_eq!(
        findings(&[("storage.parameters.json", PARAMS)]),
        ["IMDS004 storage.parameters.json:4"]
    );
    // A template that hands values on to a deployment may feed one: still reported.
    let nested = template(
        r#"{ "type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01", "name": "d", "properties": { "mode": "Incremental", "templateLink": { "uri": "https://example.invalid/t.json" }, "parameters": { "t": { "value": "[parameters('legacy')]" } } } }"#,
    );
    assert_eq!(
        findings(&[("main.json", &nested), ("main.parameters.json", PARAMS)]),
        ["IMDS004 main.parameters.json:4"]
    );
    // A template that deploys the extension with the value is reported in both files.
    let generic = template(
        r#"{ "type": "Microsoft.Compute/virtualMachines/extensions", "apiVersion": "2019-07-01", "name": "vm/ext", "properties": { "publisher": "Microsoft.ManagedIdentity", "type": "[parameters('legacy')]" } }"#,
    );
    let found = findings(&[("ext.json", &generic), ("ext.parameters.json", PARAMS)]);
    assert!(
        found.iter().any(|f| f.ends_with("ext.parameters.json:4")),
        "{found:?}"
    );
}

#[test]
fn a_tfvars_value_its_module_uses_elsewhere_is_not_a_usage() {
    let tfvars = "old_extension = \"ManagedIdentityExtensionForLinux\"\n";
    let tags = "variable \"old_extension\" {\n  type = string\n}\n\nresource \"azurerm_resource_group\" \"rg\" {\n  name     = \"rg\"\n  location = \"westeurope\"\n  tags     = { legacy = var.old_extension }\n}\n";
    assert!(findings(&[("main.tf", tags), ("terraform.tfvars", tfvars)]).is_empty());
    assert_eq!(
        findings(&[("terraform.tfvars", tfvars)]),
        ["IMDS020 terraform.tfvars:1"]
    );
    // A module call may hand the value to an extension: still reported.
    let call = "variable \"old_extension\" {\n  type = string\n}\n\nmodule \"ext\" {\n  source = \"./ext\"\n  type   = var.old_extension\n}\n";
    assert_eq!(
        findings(&[("main.tf", call), ("terraform.tfvars", tfvars)]),
        ["IMDS020 terraform.tfvars:1"]
    );
}

//! A generic template is reported only with its own parameter file (IMDS005).

#[path = "support/tree.rs"]
mod tree;

use std::fs;

use imds_migrate::scan::{self, ScanOptions};
use tree::{GENERIC as TEMPLATE, rules_by_file};

const MI_PARAMS: &str = r#"{ "parameters": { "pub": { "value": "Microsoft.ManagedIdentity" }, "ty": { "value": "ManagedIdentityExtensionForWindows" } } }
"#;

#[test]
fn template_and_its_parameter_files_in_a_subfolder() {
    let found = rules_by_file(&[
        ("infra/ext.json", TEMPLATE),
        ("infra/ext.parameters.json", MI_PARAMS),
        ("infra/ext.parameters.prod.json", MI_PARAMS),
    ]);
    let in_template: Vec<_> = found.iter().filter(|f| f.0 == "infra/ext.json").collect();
    // Two parameter files, one resource: one finding at the resource's line.
    assert_eq!(in_template.len(), 1, "{found:?}");
    assert_eq!(
        (in_template[0].1.as_str(), in_template[0].2),
        ("IMDS005", 4)
    );
}

#[test]
fn parameter_files_of_other_templates_are_not_matched() {
    let found = rules_by_file(&[
        ("ext.json", TEMPLATE),
        ("other.parameters.json", MI_PARAMS),
        ("parameters.json", MI_PARAMS),
        ("sub/ext.parameters.json", MI_PARAMS),
    ]);
    assert!(found.iter().all(|f| f.1 == "IMDS004"), "{found:?}");
}

const MODULE: &str = r#"variable "pub" {}
variable "ty" {
  default = "CustomScript"
}
resource "azurerm_virtual_machine_extension" "agent" {
  name      = "agent"
  publisher = var.pub
  type      = var.ty
}
"#;

const MI_TFVARS: &str =
    "pub = \"Microsoft.ManagedIdentity\"\nty = \"ManagedIdentityExtensionForLinux\"\n";

fn module_findings(files: &[(&str, &str)]) -> Vec<(String, usize)> {
    rules_by_file(files)
        .into_iter()
        .filter(|f| f.0 == "tf/main.tf")
        .map(|f| (f.1, f.2))
        .collect()
}

#[test]
fn tfvars_beside_a_generic_module() {
    let one = vec![("IMDS006".to_owned(), 5)];
    // Two environments, one resource: one finding.
    let files = [
        ("tf/main.tf", MODULE),
        ("tf/prod.tfvars", MI_TFVARS),
        ("tf/dev.auto.tfvars", MI_TFVARS),
    ];
    assert_eq!(module_findings(&files), one);
}

#[test]
fn tfvars_of_other_directories_variables_or_halves_are_not_matched() {
    let found = module_findings(&[
        ("tf/main.tf", MODULE),
        ("other/prod.tfvars", MI_TFVARS),
        (
            "tf/prod.tfvars",
            "publisher = \"Microsoft.ManagedIdentity\"\ntype = \"ManagedIdentityExtensionForLinux\"\n",
        ),
        // The publisher alone: `ty` keeps its default, another extension.
        ("tf/dev.tfvars", "pub = \"Microsoft.ManagedIdentity\"\n"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

const BICEP_MODULE: &str = "param publisher string\nparam type string = 'CustomScript'\n\nresource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/agent'\n  properties: {\n    publisher: publisher\n    type: type\n  }\n}\n";

fn bicep_caller(path: &str, ty: &str) -> String {
    format!(
        "module ext '{path}' = {{\n  name: 'ext'\n  params: {{\n    publisher: 'Microsoft.ManagedIdentity'\n    type: '{ty}'\n  }}\n}}\n"
    )
}

#[test]
fn bicep_module_calls_are_reported_at_the_call_site() {
    let caller = bicep_caller("../modules/ext.bicep", "ManagedIdentityExtensionForWindows");
    let found = rules_by_file(&[
        ("infra/main.bicep", &caller),
        ("modules/ext.bicep", BICEP_MODULE),
    ]);
    let imds007: Vec<_> = found.iter().filter(|f| f.1 == "IMDS007").collect();
    assert_eq!(imds007.len(), 1, "{found:?}");
    assert_eq!(
        (imds007[0].0.as_str(), imds007[0].2),
        ("infra/main.bicep", 1)
    );
}

#[test]
fn bicep_modules_outside_the_root_or_through_links_are_not_read() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("ext.bicep"), BICEP_MODULE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(&root).unwrap();
    let up = format!(
        "../../{}/ext.bicep",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    fs::write(
        root.join("a.bicep"),
        bicep_caller(&up, "ManagedIdentityExtensionForLinux"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        fs::write(
            root.join("b.bicep"),
            bicep_caller("./link/ext.bicep", "ManagedIdentityExtensionForLinux"),
        )
        .unwrap();
    }
    let result = scan::scan(&ScanOptions {
        roots: vec![root],
        ..ScanOptions::default()
    });
    assert!(
        result.findings.iter().all(|f| f.rule_id != "IMDS007"),
        "{:?}",
        result.findings
    );
}

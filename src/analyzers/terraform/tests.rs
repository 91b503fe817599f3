use super::*;
use crate::{fix::apply::apply_fixes, kind::FileKind};

fn run_at(text: &str, path: &str) -> Analysis {
    let ctx = Context {
        kind: FileKind::Terraform,
        path,
        api_version: "2018-02-01",
        extra_ports: &[],
    };
    let mut out = Analysis::default();
    analyze(text, &ctx, &mut out);
    out
}

fn run(text: &str) -> Analysis {
    run_at(text, "main.tf")
}

/// Lines (1-based) where the findings start.
fn lines(text: &str) -> Vec<usize> {
    run(text)
        .diagnostics
        .iter()
        .map(|d| text[..d.range.start].matches('\n').count() + 1)
        .collect()
}

/// Applies every fix until none is left, checking balance and that nothing is found after.
fn fixed(text: &str, unsafe_fixes: bool) -> String {
    let mut text = text.to_owned();
    for _ in 0..4 {
        let a = run(&text);
        let fixes: Vec<&Fix> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| unsafe_fixes || f.applicability == Applicability::Safe)
            .collect();
        if fixes.is_empty() {
            break;
        }
        text = apply_fixes(&text, &fixes, unsafe_fixes).0;
    }
    assert!(
        syntax::balanced(&Tree::new(&text, hcl::lex(&text))),
        "{text}"
    );
    text
}

const VM_EXT: &str = r#"variable "msi_port" {
  default = 50343
}

resource "azurerm_virtual_machine_extension" "msi" {
  name                 = "ManagedIdentityExtensionForLinux"
  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id
  publisher            = "Microsoft.ManagedIdentity"
  type                 = "ManagedIdentityExtensionForLinux"
  type_handler_version = "1.0"
  settings             = <<SETTINGS
    { "port": ${var.msi_port} }
SETTINGS
}

resource "azurerm_virtual_machine_extension" "script" {
  name                 = "script"
  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.0"
  depends_on           = [azurerm_virtual_machine_extension.msi, azurerm_network_interface.nic]
}
"#;

#[test]
fn finds_extension_resource_with_whole_block_range() {
    let a = run(VM_EXT);
    assert_eq!(a.diagnostics.len(), 1);
    let d = &a.diagnostics[0];
    assert!(
        VM_EXT[d.range.clone()]
            .starts_with("resource \"azurerm_virtual_machine_extension\" \"msi\"")
    );
    assert!(VM_EXT[..d.range.end].ends_with("SETTINGS\n}"));
    assert_eq!(d.fix.as_ref().unwrap().applicability, Applicability::Safe);
    assert_eq!(a.declared_ports, vec![50343]);
}

#[test]
fn fix_removes_block_and_depends_on_entry_and_unused_variable_only_when_unsafe() {
    let safe = fixed(VM_EXT, false);
    assert_eq!(
        safe,
        r#"variable "msi_port" {
  default = 50343
}

resource "azurerm_virtual_machine_extension" "script" {
  name                 = "script"
  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id
  publisher            = "Microsoft.Azure.Extensions"
  type                 = "CustomScript"
  type_handler_version = "2.0"
  depends_on           = [azurerm_network_interface.nic]
}
"#
    );
    let all = fixed(VM_EXT, true);
    assert!(
        all.starts_with("resource \"azurerm_virtual_machine_extension\" \"script\""),
        "{all}"
    );
}

#[test]
fn emptied_depends_on_goes_whole() {
    let text = "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"microsoft.managedidentity\"\n  type = \"ManagedIdentityExtensionForWindows\"\n}\n\nresource \"azurerm_virtual_machine_extension\" \"other\" {\n  publisher = \"Microsoft.Compute\"\n  type = \"CustomScriptExtension\"\n  depends_on = [\n    azurerm_virtual_machine_extension.msi,\n  ]\n}\n";
    assert_eq!(
        fixed(text, false),
        "resource \"azurerm_virtual_machine_extension\" \"other\" {\n  publisher = \"Microsoft.Compute\"\n  type = \"CustomScriptExtension\"\n}\n"
    );
}

#[test]
fn multi_line_depends_on_keeps_other_entries() {
    let text = "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForWindows\"\n}\nresource \"x\" \"y\" {\n  depends_on = [\n    a.b,\n    azurerm_virtual_machine_extension.msi,\n    c.d,\n  ]\n}\nresource \"x\" \"z\" {\n  depends_on = [a.b, azurerm_virtual_machine_extension.msi]\n}\n";
    assert_eq!(
        fixed(text, false),
        "resource \"x\" \"y\" {\n  depends_on = [\n    a.b,\n    c.d,\n  ]\n}\nresource \"x\" \"z\" {\n  depends_on = [a.b]\n}\n"
    );
}

#[test]
fn values_through_variables_and_locals() {
    let text = r#"variable "publisher" {
  type    = string
  default = "Microsoft.ManagedIdentity"
}
locals {
  msi_type = "ManagedIdentityExtensionForLinux"
  other    = "x"
}
resource "azurerm_virtual_machine_extension" "msi" {
  publisher = var.publisher
  type      = "${local.msi_type}"
}
"#;
    assert_eq!(lines(text), vec![9]);
    let out = fixed(text, true);
    assert_eq!(out, "locals {\n  other    = \"x\"\n}\n");
    // Safe fixes keep declarations another file of the module may read.
    assert!(fixed(text, false).contains("variable \"publisher\""));
}

#[test]
fn scale_set_extension_blocks_and_dynamic() {
    let text = r#"resource "azurerm_linux_virtual_machine_scale_set" "vmss" {
  name = "vmss"
  identity {
    type = "SystemAssigned"
  }
  extension {
    name                 = "msi"
    publisher            = "Microsoft.ManagedIdentity"
    type                 = "ManagedIdentityExtensionForLinux"
    type_handler_version = "1.0"
    settings             = jsonencode({ port = 50343 })
  }

  extension {
    name      = "other"
    publisher = "Microsoft.Azure.Extensions"
    type      = "CustomScript"
  }
  dynamic "extension" {
    for_each = var.enable_msi ? [1] : []
    content {
      name      = "msi2"
      publisher = "Microsoft.ManagedIdentity"
      type      = "ManagedIdentityExtensionForLinux"
      settings  = "{\"port\": 51234}"
    }
  }
}
"#;
    let a = run(text);
    assert_eq!(lines(text), vec![6, 19]);
    let mut ports = a.declared_ports.clone();
    ports.sort_unstable();
    assert_eq!(ports, vec![50343, 51234]);
    let out = fixed(text, false);
    assert!(out.contains("  identity {\n    type = \"SystemAssigned\"\n  }\n\n  extension {\n    name      = \"other\""), "{out}");
    assert!(!out.contains("dynamic"));
}

#[test]
fn vmss_extension_resource_and_legacy_scale_set() {
    let text = r#"resource "azurerm_virtual_machine_scale_set_extension" "msi" {
  name                         = "msi"
  virtual_machine_scale_set_id = azurerm_linux_virtual_machine_scale_set.vmss.id
  publisher                    = "Microsoft.ManagedIdentity"
  type                         = "ManagedIdentityExtensionForLinux"
}
resource "azurerm_virtual_machine_scale_set" "legacy" {
  extension {
    name                 = "MSILinuxExtension"
    publisher            = "Microsoft.ManagedIdentity"
    type                 = "ManagedIdentityExtensionForLinux"
    type_handler_version = "1.0"
    settings             = "{\"port\": 50342}"
  }
}
"#;
    assert_eq!(lines(text), vec![1, 8]);
    assert_eq!(
        fixed(text, false),
        "resource \"azurerm_virtual_machine_scale_set\" \"legacy\" {\n}\n"
    );
}

#[test]
fn look_alikes_are_not_flagged() {
    let text = r#"provider "azurerm" {
  use_msi = true
}
resource "azurerm_user_assigned_identity" "id" {
  name = "ManagedIdentityExtension-like-name"
}
resource "azurerm_linux_virtual_machine" "vm" {
  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.id.id]
  }
}
resource "azurerm_virtual_machine_extension" "named_like_it" {
  name      = "ManagedIdentityExtensionForLinux"
  publisher = "Microsoft.Azure.Monitor"
  type      = "AzureMonitorLinuxAgent"
}
# resource "azurerm_virtual_machine_extension" "old" {
#   publisher = "Microsoft.ManagedIdentity"
#   type      = "ManagedIdentityExtensionForLinux"
# }
/*
resource "azurerm_virtual_machine_extension" "older" {
  publisher = "Microsoft.ManagedIdentity"
  type      = "ManagedIdentityExtensionForWindows"
}
*/
output "note" {
  value = "publisher = \"Microsoft.ManagedIdentity\" type = \"ManagedIdentityExtensionForLinux\""
}
"#;
    assert!(run(text).diagnostics.is_empty());
}

#[test]
fn tfvars_type_value_flagged_without_fix() {
    let text = "extension_type = \"ManagedIdentityExtensionForLinux\"\nlocation = \"westeurope\"\n";
    let a = run_at(text, "prod.auto.tfvars");
    assert_eq!(a.diagnostics.len(), 1);
    assert!(a.diagnostics[0].fix.is_none());
    assert!(
        run_at("location = \"ManagedIdentity\"\n", "x.tfvars")
            .diagnostics
            .is_empty()
    );
    // In a .tf file the same attribute is not at top level of anything meaningful.
    assert!(run(text).diagnostics.is_empty());
}

#[test]
fn other_references_make_the_fix_unsafe() {
    let text = "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForLinux\"\n}\noutput \"id\" {\n  value = azurerm_virtual_machine_extension.msi.id\n}\n";
    let a = run(text);
    assert_eq!(
        a.diagnostics[0].fix.as_ref().unwrap().applicability,
        Applicability::Unsafe
    );
}

#[test]
fn list_entries_are_removed_other_objects_kept() {
    let text = r#"module "vm" {
  source = "./vm"
  extensions = [
    {
      publisher = "Microsoft.ManagedIdentity"
      type      = "ManagedIdentityExtensionForWindows"
    },
  ]
}
"#;
    assert_eq!(lines(text), vec![4]);
    assert_eq!(
        fixed(text, false),
        "module \"vm\" {\n  source = \"./vm\"\n  extensions = [\n  ]\n}\n"
    );
    let two = "locals {\n  exts = [{ name = \"h\" }, { publisher = \"Microsoft.ManagedIdentity\", type = \"ManagedIdentityExtensionForLinux\" }]\n}\n";
    assert_eq!(
        fixed(two, false),
        "locals {\n  exts = [{ name = \"h\" }]\n}\n"
    );
    let object = "locals {\n  msi = {\n    publisher = \"Microsoft.ManagedIdentity\"\n    type = \"ManagedIdentityExtensionForLinux\"\n  }\n}\n";
    assert_eq!(lines(object), vec![2]);
    assert!(run(object).diagnostics[0].fix.is_none());
}

#[test]
fn lexer_edge_cases() {
    // Braces and quotes inside strings, interpolations, directives and heredocs are not structure.
    let text = r##"locals {
  a = "}${"{"}%{ if true }}%{ endif }\"#"
  b = <<-EOT
    }}} "
    EOT
  c = "$${not_interp} %%{x}"
}
resource "azurerm_virtual_machine_extension" "msi" {
  publisher = "Microsoft.ManagedIdentity" // trailing comment }
  type = "ManagedIdentityExtensionForLinux" /* { */
}
"##;
    assert_eq!(lines(text), vec![8]);
    let tree = Tree::new(text, hcl::lex(text));
    assert!(syntax::balanced(&tree));
    assert_eq!(hcl::literal(r#""$${x}""#).as_deref(), Some("${x}"));
    assert_eq!(hcl::literal(r#""a\"b""#).as_deref(), Some("a\"b"));
    assert_eq!(hcl::literal(r#""${x}""#), None);
}

#[test]
fn crlf_and_blank_lines() {
    let text = "a = 1\r\n\r\nresource \"azurerm_virtual_machine_extension\" \"msi\" {\r\n  publisher = \"Microsoft.ManagedIdentity\"\r\n  type = \"ManagedIdentityExtensionForLinux\"\r\n}\r\n\r\nb = 2\r\n";
    assert_eq!(fixed(text, false), "a = 1\r\n\r\nb = 2\r\n");
}

#[test]
fn deep_nesting_and_garbage_do_not_panic() {
    let deep = format!(
        "resource \"azurerm_virtual_machine_extension\" \"x\" {}ManagedIdentity",
        "{".repeat(100_000)
    );
    let _ = run(&deep);
    let deep = format!("a = {}\"ManagedIdentity", "[\"${".repeat(50_000));
    let _ = run(&deep);
    for s in [
        "<<",
        "<<EOF",
        "<<EOF\n",
        "\"",
        "\"${",
        "/*",
        "é\"ManagedIdentity\\",
        "resource \"azurerm_virtual_machine_extension\" \"x\" { publisher = \"Microsoft.ManagedIdentity\" type = \"ManagedIdentityExtensionForLinux\"",
    ] {
        let _ = run(s);
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(s in "(resource|extension|publisher|type|=|\\{|\\}|\\[|\\]|,|\"|\\$\\{|<<EOF|EOF|\n|#|/\\*|\\*/|Microsoft\\.ManagedIdentity|ManagedIdentityExtensionForLinux|depends_on|é| ){0,60}") {
        let a = run(&s);
        for d in &a.diagnostics {
            if let Some(f) = &d.fix {
                let _ = apply_fixes(&s, &[f], true);
            }
        }
    }
}

#[test]
fn fixtures_fix_cleanly_and_idempotently() {
    for text in [
        include_str!("../../../testdata/rules/IMDS020/positive_vm_extension.tf"),
        include_str!("../../../testdata/rules/IMDS020/positive_scale_set.tf"),
    ] {
        for unsafe_fixes in [false, true] {
            let out = fixed(text, unsafe_fixes);
            assert!(run(&out).diagnostics.is_empty(), "{out}");
            assert_eq!(fixed(&out, unsafe_fixes), out);
            assert!(!out.contains("MSILinuxExtension"), "{out}");
            // Removals from different fixes applied in one pass each keep their own
            // surroundings, so only the safe pass is held to this.
            assert!(unsafe_fixes || !out.contains("\n\n\n"), "{out}");
        }
    }
}

#[test]
fn conditional_type_in_scale_set_and_module_objects() {
    let text = r#"resource "azurerm_windows_virtual_machine_scale_set" "s" {
  extension {
    name      = "msi"
    publisher = "Microsoft.ManagedIdentity"
    type      = var.windows ? "ManagedIdentityExtensionForWindows" : "ManagedIdentityExtensionForLinux"
  }
}
module "m" {
  source    = "./ext"
  publisher = "Microsoft.ManagedIdentity"
  type      = var.windows ? "ManagedIdentityExtensionForWindows" : "ManagedIdentityExtensionForLinux"
}
"#;
    assert_eq!(lines(text), vec![2, 8]);
}

#[test]
fn heredoc_body_offset_matches_embedded_template_start() {
    let raw = "<<TEMPLATE\n{ \"a\": 1 }\nTEMPLATE";
    let body = hcl::heredoc_body(raw);
    assert_eq!(&raw[raw.find('\n').unwrap() + 1..][..body.len()], body);
    assert_eq!(body, "{ \"a\": 1 }\n");
}

#[test]
fn many_resources_stay_fast() {
    let one = "resource \"azurerm_virtual_machine_extension\" \"m{i}\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForLinux\"\n  settings = \"{\\\"port\\\": ${var.p{i}}}\"\n}\nresource \"x\" \"y{i}\" {\n  depends_on = [azurerm_virtual_machine_extension.m{i}]\n}\n";
    let text: String = (0..5000)
        .map(|i| one.replace("{i}", &i.to_string()))
        .collect();
    let start = std::time::Instant::now();
    assert_eq!(run(&text).diagnostics.len(), 5000);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

const SNIPPETS: [&str; 7] = [
    "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = var.pub\n  type      = \"ManagedIdentityExtensionForLinux\"\n}\n",
    "resource \"azurerm_virtual_machine_extension\" \"cse\" {\n  publisher  = \"Microsoft.Azure.Extensions\"\n  type       = \"CustomScript\"\n  depends_on = [azurerm_virtual_machine_extension.msi, a.b]\n}\n",
    "resource \"azurerm_linux_virtual_machine_scale_set\" \"s\" {\n  extension {\n    name      = \"msi\"\n    publisher = \"Microsoft.ManagedIdentity\"\n    type      = \"ManagedIdentityExtensionForLinux\"\n  }\n  extension {\n    name                       = \"h\"\n    publisher                  = \"Microsoft.ManagedServices\"\n    type                       = \"ApplicationHealthLinux\"\n    provision_after_extensions = [\"msi\"]\n  }\n}\n",
    "variable \"pub\" {\n  default = \"Microsoft.ManagedIdentity\"\n}\n",
    "locals {\n  x = 1\n}\n",
    "# resource \"azurerm_virtual_machine_extension\" \"old\" {\n#   publisher = \"Microsoft.ManagedIdentity\"\n# }\n",
    "resource \"x\" \"y\" {\n  depends_on = [\n    azurerm_virtual_machine_extension.msi,\n  ]\n}\n",
];

proptest::proptest! {
    #[test]
    fn fixes_keep_configurations_whole(
        parts in proptest::collection::vec((0..SNIPPETS.len(), proptest::bool::ANY), 0..10),
        unsafe_fixes in proptest::bool::ANY,
    ) {
        let mut text = String::new();
        for &(i, blank) in &parts {
            text.push_str(SNIPPETS[i]);
            if blank {
                text.push('\n');
            }
        }
        let out = fixed(&text, unsafe_fixes);
        // Duplicated declarations (invalid) get no fix; everything else is gone.
        let once = parts.iter().filter(|p| p.0 == 0).count() <= 1;
        let left = run(&out).diagnostics;
        proptest::prop_assert!(left.iter().all(|d| d.fix.is_none()), "{}", out);
        proptest::prop_assert!(!once || left.is_empty(), "{}", out);
        proptest::prop_assert!(unsafe_fixes || !out.contains("\n\n\n") || text.contains("\n\n\n"), "{}", out);
        proptest::prop_assert_eq!(fixed(&out, unsafe_fixes), out.clone());
    }
}

#[test]
fn conditional_local() {
    let text = "locals {\n  ext = var.windows ? \"ManagedIdentityExtensionForWindows\" : \"ManagedIdentityExtensionForLinux\"\n}\nmodule \"m\" {\n  source    = \"./ext\"\n  publisher = \"Microsoft.ManagedIdentity\"\n  type      = local.ext\n}\n";
    assert_eq!(lines(text), vec![4]);
}

#[test]
fn documentation_snippets() {
    let block = "extension {\n  name      = \"MSILinuxExtension\"\n  publisher = \"Microsoft.ManagedIdentity\"\n  type      = \"ManagedIdentityExtensionForLinux\"\n}\n";
    assert_eq!(lines(block), vec![1]);
    let attrs = "name      = \"msi\"\npublisher = \"Microsoft.ManagedIdentity\"\ntype      = \"ManagedIdentityExtensionForLinux\"\n";
    assert_eq!(lines(attrs), vec![2]);
    assert!(run(attrs).diagnostics[0].fix.is_none());
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*", cut in 0usize..400) {
        let text = format!("publisher = \"Microsoft.ManagedIdentity\"\n{s}");
        let _ = run(&text);
        let _ = run_at(&text[..crate::source::floor_char_boundary(&text, cut.min(text.len()))], "x.tfvars");
    }
}

#[test]
fn bom_and_no_break_spaces_are_blanks() {
    let text = "\u{feff}resource \"azurerm_virtual_machine_extension\" \"m\" {\n  publisher\u{a0}= \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForLinux\"\n}\n";
    assert_eq!(lines(text), vec![1]);
}

#[test]
fn quoted_depends_on_of_terraform_0_11() {
    let text = "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type      = \"ManagedIdentityExtensionForWindows\"\n}\n\nresource \"azurerm_virtual_machine_extension\" \"cse\" {\n  publisher  = \"Microsoft.Compute\"\n  type       = \"CustomScriptExtension\"\n  depends_on = [\"azurerm_virtual_machine_extension.msi\", \"azurerm_virtual_machine.vm\"]\n}\n";
    assert_eq!(
        run(text).diagnostics[0].fix.as_ref().unwrap().applicability,
        Applicability::Safe
    );
    assert!(fixed(text, false).contains("depends_on = [\"azurerm_virtual_machine.vm\"]"));
}

#[test]
fn arm_resources_written_with_jsonencode() {
    let text = r#"resource "azurerm_resource_group_template_deployment" "d" {
  template_content = jsonencode({
    resources = [
      {
        type = "Microsoft.Compute/virtualMachines/extensions"
        name = "vm/ManagedIdentityExtensionForLinux"
        properties = {
          publisher = "Microsoft.ManagedIdentity"
          type      = "ManagedIdentityExtensionForLinux"
          settings  = { port = 50343 }
        }
      },
      {
        type = "Microsoft.Storage/storageAccounts"
      },
    ]
  })
}
"#;
    let a = run(text);
    assert_eq!(lines(text), vec![4]);
    assert_eq!(a.declared_ports, vec![50343]);
    assert!(fixed(text, false).contains(
        "    resources = [\n      {\n        type = \"Microsoft.Storage/storageAccounts\""
    ));
}

#[test]
fn a_missing_parenthesis_does_not_hide_later_blocks() {
    let text = "locals {\n  a = max(1, 2\n}\n\nresource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForLinux\"\n}\n";
    assert_eq!(lines(text), vec![5]);
    assert!(run(text).diagnostics[0].fix.is_some());
}

#[test]
fn duplicate_addresses_get_no_fix() {
    let one = "resource \"azurerm_virtual_machine_extension\" \"msi\" {\n  publisher = \"Microsoft.ManagedIdentity\"\n  type = \"ManagedIdentityExtensionForLinux\"\n}\n";
    let a = run(&format!("{one}{one}"));
    assert_eq!(a.diagnostics.len(), 2);
    assert!(a.diagnostics.iter().all(|d| d.fix.is_none()));
}

#[test]
fn shared_variable_across_many_findings_stays_fast() {
    let one = "resource \"azurerm_virtual_machine_extension\" \"m{i}\" {\n  publisher = var.p\n  type = \"ManagedIdentityExtensionForLinux\"\n}\n";
    let text: String = (0..20_000)
        .map(|i| one.replace("{i}", &i.to_string()))
        .collect();
    let start = std::time::Instant::now();
    assert_eq!(run(&text).diagnostics.len(), 20_000);
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
}

#[test]
fn module_inputs_with_any_names_give_the_extension() {
    let call = "module \"identity\" {\n  source              = \"../ext\"\n  extension_publisher = \"Microsoft.ManagedIdentity\"\n  extension_type      = \"ManagedIdentityExtensionForLinux\"\n}\n";
    assert_eq!(lines(call), vec![1]);
    // The publisher namespace alone, or another extension, is not the extension.
    let identity = "module \"id\" {\n  source    = \"../identity\"\n  namespace = \"Microsoft.ManagedIdentity\"\n  kind      = \"userAssignedIdentities\"\n}\n";
    assert!(lines(identity).is_empty());
    let monitor = "module \"mon\" {\n  source              = \"../ext\"\n  extension_publisher = \"Microsoft.Azure.Monitor\"\n  extension_type      = \"AzureMonitorLinuxAgent\"\n}\n";
    assert!(lines(monitor).is_empty());
    // Only module calls: a resource of another type with both values is not deployed as one.
    let tags = "resource \"azurerm_resource_group\" \"rg\" {\n  name = \"rg\"\n  tags = { old = \"ManagedIdentityExtensionForLinux\" }\n  location = \"Microsoft.ManagedIdentity\"\n}\n";
    assert!(lines(tags).is_empty());
}

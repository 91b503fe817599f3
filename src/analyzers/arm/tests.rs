use std::path::Path;

use super::*;
use crate::{analyzers::Context, fix::apply::apply_fixes, kind::FileKind};

fn run(text: &str, kind: FileKind, path: &str) -> Analysis {
    let ctx = Context {
        kind,
        path,
        api_version: "2018-02-01",
        extra_ports: &[],
    };
    let mut out = Analysis::default();
    analyze(text, &ctx, &mut out);
    out
}

fn arm(text: &str) -> Analysis {
    run(text, FileKind::Arm, "azuredeploy.json")
}

fn line_of(text: &str, pos: usize) -> usize {
    jsonc::line_col(text, pos).0
}

/// Applies every fix (passes until none applies), like the fix engine does.
fn fix_all(text: &str, kind: FileKind, path: &str, unsafe_fixes: bool) -> String {
    let mut cur = text.to_owned();
    for _ in 0..10 {
        let a = run(&cur, kind, path);
        let fixes: Vec<&Fix> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| unsafe_fixes || f.applicability == crate::finding::Applicability::Safe)
            .collect();
        if fixes.is_empty() {
            break;
        }
        let (next, taken) = apply_fixes(&cur, &fixes, unsafe_fixes);
        if taken.is_empty() {
            break;
        }
        cur = next;
    }
    cur
}

const VM_PAIR: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "vmName": { "type": "string" },
    "isWindows": { "type": "bool", "defaultValue": true },
    "msiPort": { "type": "int", "defaultValue": 50342 }
  },
  "variables": {
    "msiPublisher": "Microsoft.ManagedIdentity",
    "unrelated": "x"
  },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines",
      "name": "[parameters('vmName')]",
      "apiVersion": "2018-06-01",
      "identity": { "type": "SystemAssigned" }
    },
    // Linux flavour
    {
      "condition": "[not(parameters('isWindows'))]",
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "[concat(parameters('vmName'),'/MSI-Linux')]",
      "apiVersion": "2018-06-01",
      "dependsOn": ["[resourceId('Microsoft.Compute/virtualMachines', parameters('vmName'))]"],
      "properties": {
        "publisher": "[variables('msiPublisher')]",
        "type": "ManagedIdentityExtensionForLinux",
        "typeHandlerVersion": "1.0",
        "settings": { "port": "[parameters('msiPort')]" }
      }
    },
    {
      "condition": "[parameters('isWindows')]",
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "[concat(parameters('vmName'),'/MSI-Windows')]",
      "apiVersion": "2018-06-01",
      "properties": {
        "publisher": "Microsoft.ManagedIdentity",
        "type": "ManagedIdentityExtensionForWindows",
        "typeHandlerVersion": "1.0",
        "settings": { "port": 50343 }
      }
    },
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "[concat(parameters('vmName'),'/CustomScript')]",
      "apiVersion": "2018-06-01",
      "dependsOn": [
        "[resourceId('Microsoft.Compute/virtualMachines/extensions', parameters('vmName'), 'MSI-Windows')]",
        "[concat('Microsoft.Compute/virtualMachines/', parameters('vmName'), '/extensions/MSI-Linux')]"
      ],
      "properties": {
        "publisher": "Microsoft.Compute",
        "type": "CustomScriptExtension",
        "typeHandlerVersion": "1.9"
      }
    }
  ]
}
"#;

#[test]
fn condition_pair_with_depends_on_and_variable_publisher() {
    let a = arm(VM_PAIR);
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    let rules: Vec<_> = a
        .diagnostics
        .iter()
        .map(|d| (d.rule, line_of(VM_PAIR, d.range.start)))
        .collect();
    assert_eq!(rules, vec![("IMDS001", 21), ("IMDS001", 34)]);
    assert_eq!(a.declared_ports, vec![50342, 50343]);
    assert!(!a.diagnostics[0].message.contains("no `identity`"));
    for d in &a.diagnostics {
        assert_eq!(&VM_PAIR[d.range.start..=d.range.start], "{");
        assert_eq!(&VM_PAIR[d.range.end - 1..d.range.end], "}");
    }
    let fixed = fix_all(VM_PAIR, FileKind::Arm, "azuredeploy.json", false);
    assert!(jsonc::parse(&fixed, false).is_ok());
    assert!(!fixed.contains("MSI-"), "{fixed}");
    // The custom script waited for the VM through the extensions: now it says so itself.
    assert!(
        fixed.contains("\"dependsOn\": [\n        \"[resourceId('Microsoft.Compute/virtualMachines', parameters('vmName'))]\"\n      ]"),
        "{fixed}"
    );
    assert!(fixed.contains("// Linux flavour\n    {\n      \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n      \"name\": \"[concat(parameters('vmName'),'/CustomScript')]\""), "{fixed}");
    // Cleanup (unsafe) also drops what only the extensions used.
    assert!(fixed.contains("msiPort") && fixed.contains("msiPublisher"));
    let cleaned = fix_all(VM_PAIR, FileKind::Arm, "azuredeploy.json", true);
    assert!(jsonc::parse(&cleaned, false).is_ok(), "{cleaned}");
    assert!(
        !cleaned.contains("msiPort") && !cleaned.contains("msiPublisher"),
        "{cleaned}"
    );
    assert!(cleaned.contains("\"unrelated\": \"x\"") && cleaned.contains("vmName"));
    assert!(arm(&cleaned).diagnostics.is_empty());
}

#[test]
fn crlf_nested_resource_copy_loop_and_missing_identity() {
    let t = "{\r\n  \"resources\": [\r\n    {\r\n      \"type\": \"Microsoft.Compute/virtualMachines\",\r\n      \"name\": \"[concat('vm', copyIndex())]\",\r\n      \"copy\": { \"name\": \"vms\", \"count\": 2 },\r\n      \"resources\": [\r\n        {\r\n          \"type\": \"extensions\",\r\n          \"name\": \"msi\",\r\n          \"properties\": { \"publisher\": \"microsoft.managedidentity\", \"type\": \"ManagedIdentityExtensionForWindows\" }\r\n        }\r\n      ]\r\n    }\r\n  ]\r\n}\r\n";
    let a = arm(t);
    assert_eq!(a.diagnostics.len(), 1);
    let d = &a.diagnostics[0];
    assert_eq!(d.rule, "IMDS001");
    assert_eq!(line_of(t, d.range.start), 8);
    assert!(d.message.contains("no `identity`"), "{}", d.message);
    let fixed = fix_all(t, FileKind::Arm, "a.json", false);
    assert!(
        fixed.contains("\"resources\": [\r\n      ]\r\n"),
        "{fixed:?}"
    );
    assert!(jsonc::parse(&fixed, false).is_ok());
}

const VMSS: &str = r#"{
  "parameters": { "extType": { "type": "string", "allowedValues": ["ManagedIdentityExtensionForLinux", "ManagedIdentityExtensionForWindows"] } },
  "variables": {
    "msiExtension": {
      "name": "msi",
      "properties": { "publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux", "settings": { "port": "51234" } }
    },
    "extensionProfile": { "extensions": "[createArray(variables('msiExtension'), if(true, variables('other'), json('null')))]" },
    "other": { "name": "x" }
  },
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachineScaleSets",
      "name": "ss",
      "properties": {
        "virtualMachineProfile": {
          "extensionProfile": {
            "extensions": [
              {
                "name": "ManagedIdentityExtensionForLinux",
                "properties": { "publisher": "Microsoft.ManagedIdentity", "type": "[parameters('extType')]" }
              },
              {
                "name": "cse",
                "properties": { "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "provisionAfterExtensions": ["ManagedIdentityExtensionForLinux"] }
              }
            ]
          }
        }
      }
    }
  ]
}"#;

#[test]
fn vmss_profile_entry_variable_object_and_parameter_resolution() {
    let a = arm(VMSS);
    let rules: Vec<_> = a
        .diagnostics
        .iter()
        .map(|d| (d.rule, line_of(VMSS, d.range.start)))
        .collect();
    // The parameter is resolved through by the IMDS002 finding: not reported again.
    assert_eq!(rules, vec![("IMDS003", 4), ("IMDS002", 19)]);
    assert_eq!(a.declared_ports, vec![51234]);
    assert!(a.diagnostics[1].message.contains("no `identity`"));
    let unsafe_fix = a.diagnostics[0].fix.as_ref().unwrap();
    assert_eq!(
        unsafe_fix.applicability,
        crate::finding::Applicability::Unsafe
    );
    let fixed = fix_all(VMSS, FileKind::Arm, "a.json", true);
    assert!(
        fixed.contains("[createArray(if(true, variables('other'), json('null')))]"),
        "{fixed}"
    );
    assert!(
        fixed.contains("\"provisionAfterExtensions\": []"),
        "{fixed}"
    );
    assert!(!fixed.contains("msiExtension"));
    assert!(jsonc::parse(&fixed, false).is_ok());
    // The parameter, now unused, is still reported (IMDS004) once the usages are gone.
    let after = arm(&fixed);
    assert!(
        after
            .diagnostics
            .iter()
            .all(|d| d.rule == "IMDS004" && d.fix.is_none())
    );
}

#[test]
fn parameter_files_and_template_defaults() {
    let p = r#"{ "parameters": { "extensionType": { "value": "ManagedIdentityExtensionForWindows" }, "msiPort": { "value": 50343 }, "vmName": { "value": "vm" } } }"#;
    let a = run(p, FileKind::ArmParameters, "azuredeploy.parameters.json");
    assert_eq!(a.diagnostics.len(), 2);
    assert!(a.diagnostics.iter().all(|d| d.rule == "IMDS004"));
    assert_eq!(
        &p[a.diagnostics[0].range.clone()],
        "\"ManagedIdentityExtensionForWindows\""
    );
    assert_eq!(a.declared_ports, vec![50343]);
    let listed = r#"{ "parameters": { "types": { "value": ["CustomScript", "ManagedIdentityExtensionForLinux"] } } }"#;
    let a = run(listed, FileKind::ArmParameters, "x.parameters.json");
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(
        &listed[a.diagnostics[0].range.clone()],
        "\"ManagedIdentityExtensionForLinux\""
    );
    let t = r#"{ "parameters": { "t": { "type": "string", "defaultValue": "ManagedIdentityExtensionForLinux" } }, "resources": [] }"#;
    assert_eq!(arm(t).diagnostics.len(), 1);
}

#[test]
fn look_alikes_are_not_flagged() {
    let t = r#"{
  "resources": [
    { "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "name": "id", "apiVersion": "2018-11-30" },
    { "type": "Microsoft.Compute/virtualMachines/extensions", "name": "vm/ManagedIdentityExtensionForWindows",
      "properties": { "publisher": "Microsoft.Compute", "type": "CustomScriptExtension" } },
    { "type": "Microsoft.ContainerService/x", "properties": { "useManagedIdentityExtension": true } }
    /* { "properties": { "publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux" } } */
  ]
}"#;
    let a = arm(t);
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    assert!(a.problems.is_empty());
}

#[test]
fn broken_and_deep_json_fall_back_to_text() {
    let broken = "{\n  \"resources\": [\n    {\n      \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n      \"properties\": {\"publisher\": \"Microsoft.ManagedIdentity\", \"type\": \"ManagedIdentityExtensionForLinux\"}\n    }\n    {\"x\": 1}\n  ]\n}";
    let a = arm(broken);
    assert_eq!(a.problems.len(), 1);
    assert!(
        a.problems[0].starts_with("invalid JSON at line 7, column 5"),
        "{:?}",
        a.problems
    );
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(a.diagnostics[0].rule, "IMDS001");
    assert!(a.diagnostics[0].fix.is_none());
    let deep = format!("{}\"ManagedIdentity\"", "[".repeat(100_000));
    let a = arm(&deep);
    assert!(a.problems[0].contains("nesting deeper than 256"));
    // Broken and deep: the fallback keeps a bounded stack and skips what sits deeper.
    let broken_deep = format!(
        "{}{{\"publisher\": \"Microsoft.ManagedIdentity\", \"type\": \"ManagedIdentityExtensionForLinux\"}} {}",
        "[{\"a\": ".repeat(50_000),
        "[{".repeat(50_000)
    );
    assert!(arm(&broken_deep).diagnostics.is_empty());
    let deep_obj = format!(
        "{}{{\"publisher\": \"Microsoft.ManagedIdentity\", \"type\": \"ManagedIdentityExtensionForLinux\"}}{}",
        "[".repeat(300),
        "]".repeat(300)
    );
    assert_eq!(arm(&deep_obj).diagnostics.len(), 1);
    for g in [
        "{\"managedidentity\": \"é",
        "}}}]]]managedidentity{{{",
        "\"managedidentity",
        "/*managedidentity",
    ] {
        let _ = arm(g);
        let _ = run(g, FileKind::Arm, "x.t");
    }
}

const GO_TEMPLATE: &str = r#"    {
      "type": "Microsoft.Compute/virtualMachineScaleSets",
      "name": "[variables('{{.Name}}VMNamePrefix')]",
      "properties": {
        "singlePlacementGroup": {{UseSinglePlacementGroup .}},
        "virtualMachineProfile": {
          "storageProfile": {
            {{if UseAgentCustomImage .}}
            "id": "x"
            {{else}}
            "offer": "y"
            {{end}}
          },
          "extensionProfile": {
            "extensions": [
              {
                "name": "cse",
                "properties": { "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript" }
              }
              {{if UseManagedIdentity}}
              ,{
                "name": "managedIdentityExtension",
                "properties": {
                  "publisher": "Microsoft.ManagedIdentity",
                  "type": "ManagedIdentityExtensionForLinux",
                  "settings": { "port": 50343 }
                }
              }
              {{end}}
            ]
          }
        }
      }
    }
"#;

#[test]
fn go_template_found_by_text_with_leading_comma_fix() {
    let a = run(GO_TEMPLATE, FileKind::Arm, "parts/agent.t");
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert_eq!(a.diagnostics.len(), 1);
    let d = &a.diagnostics[0];
    assert_eq!(d.rule, "IMDS002");
    assert_eq!(
        (
            line_of(GO_TEMPLATE, d.range.start),
            line_of(GO_TEMPLATE, d.range.end)
        ),
        (21, 28)
    );
    assert_eq!(a.declared_ports, vec![50343]);
    let fixed = fix_all(GO_TEMPLATE, FileKind::Arm, "parts/agent.t", false);
    assert!(
        fixed.contains(
            "              }\n              {{if UseManagedIdentity}}\n              {{end}}\n"
        ),
        "{fixed}"
    );
    assert!(
        run(&fixed, FileKind::Arm, "parts/agent.t")
            .diagnostics
            .is_empty()
    );
    // Named elsewhere (here by a later extension): without a parse, no safe removal.
    let referenced = GO_TEMPLATE.replace(
        "\"type\": \"CustomScript\" }",
        "\"type\": \"CustomScript\", \"provisionAfterExtensions\": [\"managedIdentityExtension\"] }",
    );
    let a = run(&referenced, FileKind::Arm, "parts/agent.t");
    assert_eq!(a.diagnostics.len(), 1);
    assert!(a.diagnostics[0].fix.is_none());
}

#[test]
fn go_template_that_blanks_into_json_is_parsed() {
    let t = "{{if UseManagedIdentity}}\n  ,{\n    \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n    \"name\": \"[concat(variables('{{.Name}}VMName'), '/msi')]\",\n    \"properties\": {\"publisher\": \"Microsoft.ManagedIdentity\", \"type\": \"ManagedIdentityExtensionForWindows\"}\n  }\n{{end}}\n";
    let a = run(t, FileKind::Arm, "x.t");
    assert!(a.problems.is_empty());
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(a.diagnostics[0].rule, "IMDS001");
    let fixed = fix_all(t, FileKind::Arm, "x.t", false);
    assert_eq!(fixed, "{{if UseManagedIdentity}}\n{{end}}\n");
}

#[test]
fn fixes_are_idempotent_and_keep_jsonc() {
    for (t, kind) in [(VM_PAIR, FileKind::Arm), (VMSS, FileKind::Arm)] {
        for unsafe_fixes in [false, true] {
            let once = fix_all(t, kind, "a.json", unsafe_fixes);
            assert!(jsonc::parse(&once, false).is_ok());
            let twice = fix_all(&once, kind, "a.json", unsafe_fixes);
            assert_eq!(once, twice);
            assert!(run(&once, kind, "a.json").diagnostics.iter().all(
                |d| d.fix.as_ref().is_none_or(
                    |f| unsafe_fixes || f.applicability != crate::finding::Applicability::Safe
                ) || d.rule == "IMDS004"
            ));
        }
    }
}

/// A corpus file and the (rule, first line, last line) of each finding in it.
type Expected<'a> = (&'a str, &'a [(&'a str, usize, usize)]);

/// The real templates of `../shared/corpus/arm-real`, when present (never copied here). Ranges
/// end at the object's closing brace; PROVENANCE.tsv's end lines stop one line short for three
/// of them (its start lines agree).
#[test]
fn real_corpus_findings() {
    // `../shared` from the main checkout; one level more from a worktree under `wt/`.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(dir) = ["../shared/corpus/arm-real", "../../shared/corpus/arm-real"]
        .iter()
        .map(|d| manifest.join(d))
        .find(|d| d.is_dir())
    else {
        return;
    };
    let expect: [Expected; 4] = [
        (
            "Azure__acs-engine__parts__k8s__kubernetesagentresourcesvmss.t",
            &[("IMDS002", 176, 188)],
        ),
        (
            "Azure__azure-quickstart-templates__201-vm-msi__nestedtemplates__createVM.json",
            &[("IMDS001", 222, 241), ("IMDS001", 242, 261)],
        ),
        (
            "Azure__azure-quickstart-templates__201-vmss-msi__nestedtemplates__createVMSS.json",
            &[("IMDS003", 204, 216)],
        ),
        (
            "Azure__azure-quickstart-templates__201-vm-msi-linux-terraform__nestedTemplates__createVM.json",
            &[("IMDS001", 100, 118)],
        ),
    ];
    for (name, want) in expect {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let a = run(&text, FileKind::Arm, name);
        assert!(a.problems.is_empty(), "{name}: {:?}", a.problems);
        let got: Vec<_> = a
            .diagnostics
            .iter()
            .map(|d| {
                (
                    d.rule,
                    line_of(&text, d.range.start),
                    line_of(&text, d.range.end),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}");
        assert!(a.diagnostics.iter().all(|d| d.fix.is_some()), "{name}");
        let fixed = fix_all(&text, FileKind::Arm, name, true);
        assert!(
            run(&fixed, FileKind::Arm, name)
                .diagnostics
                .iter()
                .all(|d| d.rule == "IMDS004"),
            "{name}:\n{fixed}"
        );
        if !name.ends_with(".t") {
            assert!(jsonc::parse(&fixed, false).is_ok(), "{name}");
        }
        if std::env::var_os("ARM_SHOW_FIXES").is_some() {
            println!(
                "=== {name}\n{}",
                crate::analyzers::arm::tests::diff(&text, &fixed)
            );
        }
    }
}

fn diff(a: &str, b: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(2)
        .to_string()
}

/// Every positive fixture of IMDS001-003: fixes keep JSONC (templates: stay free of findings),
/// and are idempotent.
#[test]
fn fixture_fixes_reparse_and_are_idempotent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
    for rule in ["IMDS001", "IMDS002", "IMDS003"] {
        let Ok(dir) = std::fs::read_dir(root.join(rule)) else {
            continue;
        };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let before = run(&text, FileKind::Arm, &name);
            // Truncated fixtures are searched as text: found, never rewritten.
            if !name.ends_with(".t") && !parses(&text) {
                assert!(before.diagnostics.iter().all(|d| d.fix.is_none()), "{name}");
                continue;
            }
            for unsafe_fixes in [false, true] {
                let once = fix_all(&text, FileKind::Arm, &name, unsafe_fixes);
                if !name.ends_with(".t") {
                    assert!(jsonc::parse(&once, false).is_ok(), "{name}:\n{once}");
                }
                assert_eq!(
                    fix_all(&once, FileKind::Arm, &name, unsafe_fixes),
                    once,
                    "{name}"
                );
                let after = run(&once, FileKind::Arm, &name);
                let applicable = |a: &Analysis| {
                    a.diagnostics
                        .iter()
                        .filter_map(|d| d.fix.as_ref())
                        .filter(|f| {
                            unsafe_fixes || f.applicability == crate::finding::Applicability::Safe
                        })
                        .count()
                };
                // A positive fixture offers a fix, or says why not.
                let says_why = before
                    .diagnostics
                    .iter()
                    .all(|d| d.message.contains("Not fixed automatically"));
                assert!(
                    applicable(&before) > 0
                        || says_why
                        || !name.starts_with("positive")
                        || rule == "IMDS003",
                    "{name}"
                );
                assert_eq!(applicable(&after), 0, "{name}");
                if std::env::var_os("ARM_SHOW_FIXES").is_some() && unsafe_fixes {
                    println!("=== {name}\n{}", diff(&text, &once));
                }
            }
        }
    }
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\r\n",
        "\"publisher\"",
        "\"Microsoft.ManagedIdentity\"",
        "\"type\"",
        "\"ManagedIdentityExtensionForLinux\"",
        "\"properties\"",
        "\"extensions\"",
        "\"extensionProfile\"",
        "\"resources\"",
        "\"dependsOn\"",
        "\"name\"",
        "\"msi\"",
        "\"extensions\"",
        "\"[variables('a')]\"",
        "\"variables\"",
        "\"a\"",
        "1",
        "// c\n",
        "/* c */",
        "/*",
        "{{if X}}",
        "{{end}}",
        "{{.N}}",
        "\"é\"",
        "\"\\u00e9\"",
        "\"\\\"",
        "é",
        "\"Microsoft.Compute/virtualMachines/extensions\"",
        "\"[concat(parameters('vm'), '/msi')]\"",
        "\"[resourceId('Microsoft.Compute/virtualMachines/extensions', 'vm', 'msi')]\"",
        "\"settings\"",
        "\"port\"",
        "\"50343\"",
    ];

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..PIECES.len(), 0..120)
            .prop_map(|v| v.into_iter().map(|i| PIECES[i]).collect::<String>())
    }

    /// A resource of a random kind, laid out inline or over lines.
    fn resource(kind: u8, n: u8, multiline: bool) -> String {
        let body = match kind % 4 {
            0 => format!(
                r#""type": "Microsoft.Compute/virtualMachines/extensions", "name": "[concat(parameters('vm'), '/msi{n}')]", "properties": {{ "publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux", "settings": {{ "port": "[parameters('port')]" }} }}"#
            ),
            1 => format!(
                r#""type": "Microsoft.Compute/virtualMachines/extensions", "name": "vm/cse{n}", "dependsOn": ["[resourceId('Microsoft.Compute/virtualMachines/extensions', parameters('vm'), 'msi{n}')]", "vm"], "properties": {{ "publisher": "Microsoft.Compute", "type": "CustomScriptExtension" }}"#
            ),
            2 => r#""type": "Microsoft.Compute/virtualMachines", "name": "[parameters('vm')]", "identity": { "type": "SystemAssigned" }"#.to_owned(),
            _ => format!(r#""type": "Microsoft.Storage/storageAccounts", "name": "st{n}""#),
        };
        if multiline {
            format!("{{\n      {}\n    }}", body.replace(", \"", ",\n      \""))
        } else {
            format!("{{ {body} }}")
        }
    }

    fn template() -> impl Strategy<Value = (String, bool)> {
        (
            proptest::collection::vec((0u8..4, 0u8..3, any::<bool>(), 0u8..4), 1..8),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(items, trailing, crlf)| {
                let mut t = String::from("{\n  \"parameters\": { \"vm\": { \"type\": \"string\" }, \"port\": { \"type\": \"int\", \"defaultValue\": 50342 } },\n  \"resources\": [\n");
                for (k, (kind, n, multiline, sep)) in items.iter().enumerate() {
                    t.push_str("    ");
                    t.push_str(&resource(*kind, *n, *multiline));
                    let last = k + 1 == items.len();
                    match (last, sep) {
                        (true, _) if trailing => t.push(','),
                        (true, _) => {}
                        (false, 0) => t.push_str(", // next"),
                        (false, 1) => t.push_str("\n    /* c */ ,"),
                        (false, _) => t.push(','),
                    }
                    t.push('\n');
                }
                t.push_str("  ]\n}\n");
                if crlf {
                    t = t.replace('\n', "\r\n");
                }
                (t, crlf)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn generated_templates_fix_cleanly((t, crlf) in template()) {
            prop_assert!(jsonc::parse(&t, false).is_ok(), "{}", t);
            let a = arm(&t);
            for d in &a.diagnostics {
                if let Some(f) = &d.fix {
                    for unsafe_fixes in [false, true] {
                        let (after, _) = apply_fixes(&t, &[f], unsafe_fixes);
                        prop_assert!(jsonc::parse(&after, false).is_ok(), "{}\n=>\n{}", t, after);
                        prop_assert!(!after.contains("\n\n") && !after.contains("\r\n\r\n"), "blank line:\n{}", after);
                        prop_assert_eq!(crlf, !after.replace("\r\n", "").contains('\n'));
                    }
                }
            }
            let fixed = fix_all(&t, FileKind::Arm, "a.json", true);
            prop_assert!(jsonc::parse(&fixed, false).is_ok());
            prop_assert!(!fixed.contains("ManagedIdentity"), "{}", fixed);
            prop_assert_eq!(fix_all(&fixed, FileKind::Arm, "a.json", true), fixed.clone());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn never_panics_and_fixes_keep_json(t in text()) {
            for path in ["a.json", "a.t", "a.md"] {
                let a = run(&t, FileKind::Arm, path);
                for d in &a.diagnostics {
                    prop_assert!(d.range.end <= t.len());
                    prop_assert!(t.is_char_boundary(d.range.start) && t.is_char_boundary(d.range.end));
                    if let Some(f) = &d.fix {
                        let (after, _) = apply_fixes(&t, &[f], true);
                        if jsonc::parse(&t, false).is_ok() {
                            prop_assert!(jsonc::parse(&after, false).is_ok(), "{}\n=>\n{}", t, after);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn symbolic_name_resources_and_their_depends_on() {
    let t = r#"{
  "languageVersion": "2.0",
  "resources": {
    "vm": { "type": "Microsoft.Compute/virtualMachines", "name": "vm1", "identity": { "type": "SystemAssigned" } },
    "msiExt": {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "vm1/msi",
      "properties": { "publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux" }
    },
    "cse": { "type": "Microsoft.Compute/virtualMachines/extensions", "name": "vm1/cse", "dependsOn": ["vm", "msiExt"] }
  }
}"#;
    let a = arm(t);
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(a.diagnostics[0].rule, "IMDS001");
    let fixed = fix_all(t, FileKind::Arm, "a.json", false);
    assert!(fixed.contains("\"dependsOn\": [\"vm\"]"), "{fixed}");
    assert!(!fixed.contains("msiExt"));
    assert!(jsonc::parse(&fixed, false).is_ok());
}

#[test]
fn markdown_snippet_fragment_is_classified_without_error() {
    let t = "\"extensionProfile\": {\n  \"extensions\": [\n    {\"name\": \"msi\", \"properties\": {\"publisher\": \"Microsoft.ManagedIdentity\", \"type\": \"ManagedIdentityExtensionForWindows\"}},\n    ...\n  ]\n}\n";
    let a = run(t, FileKind::Arm, "docs/vmss.md");
    assert!(a.problems.is_empty());
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(a.diagnostics[0].rule, "IMDS002");
    assert!(a.diagnostics[0].fix.is_none());
}

#[test]
fn documentation_snippets_with_trailing_commas_and_open_brackets() {
    let resource = "    {\n        \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n        \"name\": \"[concat(variables('vmName'), '/', 'WADExtensionSetup')]\",\n        \"properties\": {\n            \"publisher\": \"Microsoft.ManagedIdentity\",\n            \"type\": \"ManagedIdentityExtensionForWindows\",\n            \"settings\": { \"port\": 50342 }\n        }\n    },\n";
    let a = run(resource, FileKind::Arm, "docs/a.md");
    assert!(a.problems.is_empty());
    assert_eq!(
        a.diagnostics.iter().map(|d| d.rule).collect::<Vec<_>>(),
        ["IMDS001"]
    );
    assert_eq!(a.declared_ports, [50342]);
    let open = "          \"extensionProfile\": { \n            \"extensions\": [ \n            // BEGINNING of added code  \n                { \n                 \"name\": \"VMSS-WAD-extension\", \n                 \"properties\": { \n                       \"publisher\": \"Microsoft.ManagedIdentity\", \n                       \"type\": \"ManagedIdentityExtensionForWindows\" \n                     } \n                },\n";
    let a = run(open, FileKind::Arm, "docs/b.md");
    assert!(a.problems.is_empty());
    assert_eq!(
        a.diagnostics.iter().map(|d| d.rule).collect::<Vec<_>>(),
        ["IMDS002"]
    );
}

#[test]
fn policy_definitions_naming_the_type_are_not_usages() {
    let t = r#"{
  "mode": "All",
  "parameters": { "retiredType": { "type": "String", "defaultValue": "ManagedIdentityExtensionForWindows" } },
  "policyRule": {
    "if": { "allOf": [
      { "field": "type", "equals": "Microsoft.Compute/virtualMachines/extensions" },
      { "field": "Microsoft.Compute/virtualMachines/extensions/publisher", "equals": "Microsoft.ManagedIdentity" },
      { "field": "Microsoft.Compute/virtualMachines/extensions/type", "equals": "[parameters('retiredType')]" }
    ] },
    "then": { "effect": "deny" }
  }
}"#;
    assert!(run(t, FileKind::Json, "policy.json").diagnostics.is_empty());
}

/// A resources fragment as generators write them: nested markup, both branches of conditions,
/// the extension resource with its `type` first, and a later resource that may depend on it.
fn resources_fragment(depends_on_it: bool) -> String {
    let dep = if depends_on_it {
        "\"[concat('Microsoft.Compute/virtualMachines/', variables('{{.Name}}Vm'), copyIndex(), '/extensions/IdentityExtension')]\""
    } else {
        "\"[concat('Microsoft.Compute/virtualMachines/', variables('{{.Name}}Vm'), copyIndex())]\""
    };
    format!(
        r#"    {{
{{{{ if {{{{.Name}}}}FastNetworking}}}}
      "apiVersion": "2018-01-01",
{{{{else}}}}
      "apiVersion": "2017-01-01",
{{{{end}}}}
      "name": "[concat(variables('{{{{.Name}}}}Vm'), 'nic')]",
      "type": "Microsoft.Network/networkInterfaces"
    }},
    {{{{if UseManagedIdentity}}}}
    {{
      "type": "Microsoft.Authorization/roleAssignments",
      "name": "[guid(variables('{{{{.Name}}}}Vm'))]"
    }},
     {{
       "type": "Microsoft.Compute/virtualMachines/extensions",
       "name": "[concat(variables('{{{{.Name}}}}Vm'), copyIndex(), '/IdentityExtension')]",
       "copy": {{ "count": "[variables('{{{{.Name}}}}Count')]", "name": "vmLoop" }},
       "properties": {{
         "publisher": "Microsoft.ManagedIdentity",
         "type": "ManagedIdentityExtensionForLinux",
         "settings": {{ "port": 50343 }}
       }}
     }},
     {{{{end}}}}
     {{
      "dependsOn": [
        {{{{if UseManagedIdentity}}}}
        {dep}
        {{{{else}}}}
        "[variables('{{{{.Name}}}}Vm')]"
        {{{{end}}}}
      ],
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "name": "[concat(variables('{{{{.Name}}}}Vm'), copyIndex(), '/cse')]",
      "properties": {{ "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript" }}
    }}
"#
    )
}

#[test]
fn generated_resources_fragment_is_found_and_fixed_only_when_unreferenced() {
    for depends_on_it in [true, false] {
        let t = resources_fragment(depends_on_it);
        let a = run(&t, FileKind::Arm, "parts/agentresources.t");
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        let got: Vec<_> = a
            .diagnostics
            .iter()
            .map(|d| (d.rule, line_of(&t, d.range.start), line_of(&t, d.range.end)))
            .collect();
        assert_eq!(got, [("IMDS001", 15, 24)], "{t}");
        assert_eq!(a.declared_ports, [50343]);
        assert_eq!(a.diagnostics[0].fix.is_some(), !depends_on_it);
        if !depends_on_it {
            let fixed = fix_all(&t, FileKind::Arm, "parts/agentresources.t", false);
            assert!(fixed.contains("    },\n     {{end}}\n"), "{fixed}");
            assert!(!fixed.contains("ManagedIdentity\""));
        }
    }
}

#[test]
fn fragment_cut_before_the_object_holding_properties_is_found() {
    let cut = "      \"name\": \"MSILinuxExtension\",\n      \"properties\": {\n        \"publisher\": \"Microsoft.ManagedIdentity\",\n        \"type\": \"ManagedIdentityExtensionForLinux\"\n      }\n    },\n    {\n      \"name\": \"next\",\n";
    let a = arm(cut);
    assert_eq!(a.diagnostics.len(), 1, "{:?}", a.diagnostics);
    assert_eq!(line_of(cut, a.diagnostics[0].range.start), 2);
    // The same cut of another extension, or of a user-assigned identity, is nothing.
    let other = cut.replace("Microsoft.ManagedIdentity", "Microsoft.Azure.Extensions");
    assert!(arm(&other).diagnostics.is_empty());
    let identity = "      \"type\": \"Microsoft.ManagedIdentity/userAssignedIdentities\",\n      \"properties\": {}\n    },\n";
    assert!(arm(identity).diagnostics.is_empty());
}

#[test]
fn json5_keys_and_strings_are_read_by_the_fallback() {
    let json5 = "{\n  name: 'vm/msi',\n  type: 'Microsoft.Compute/virtualMachines/extensions',\n  properties: {\n    publisher: 'Microsoft.ManagedIdentity',\n    type: 'ManagedIdentityExtensionForLinux',\n  },\n}\n";
    let a = arm(json5);
    assert_eq!(a.diagnostics.len(), 1, "{:?}", a.diagnostics);
    assert_eq!(a.diagnostics[0].rule, "IMDS001");
    let other = json5.replace("ManagedIdentityExtensionForLinux", "CustomScript");
    assert!(arm(&other).diagnostics.is_empty());
}

#[test]
fn a_type_built_from_the_type_names_counts_with_the_publisher() {
    let t = |ty: &str, publisher: &str| {
        format!(
            "{{\"variables\": {{\"t\": \"{ty}\"}}, \"resources\": [{{\"type\": \"Microsoft.Compute/virtualMachines/extensions\", \"name\": \"vm/msi\", \"properties\": {{\"publisher\": \"{publisher}\", \"type\": \"[variables('t')]\"}}}}]}}"
        )
    };
    let concat = "[concat('ManagedIdentityExtensionFor', parameters('os'))]";
    assert_eq!(
        arm(&t(concat, "Microsoft.ManagedIdentity"))
            .diagnostics
            .len(),
        1
    );
    let pick = "[if(equals(parameters('os'), 'Windows'), 'ManagedIdentityExtensionForWindows', 'ManagedIdentityExtensionForLinux')]";
    assert_eq!(
        arm(&t(pick, "Microsoft.ManagedIdentity")).diagnostics.len(),
        1
    );
    // Another publisher, or a name that only mentions the type, is not the extension.
    assert!(
        arm(&t(concat, "Microsoft.Azure.Extensions"))
            .diagnostics
            .is_empty()
    );
    assert!(
        arm(&t(
            "ManagedIdentityExtensionForLinuxBackup",
            "Microsoft.ManagedIdentity"
        ))
        .diagnostics
        .is_empty()
    );
}

//! Property tests: analyzers never panic and report valid ranges; fixing reaches a fixed point in
//! one run; JSON that parsed before a fix parses after it; command and URL fixes edit only their
//! own finding.

use imds_migrate::{
    analyzers::{self, Context, DEFAULT_API_VERSION},
    finding::Diagnostic,
    fix::fix_text,
    kind::{FileKind, Lang},
    scan::ScanOptions,
};
use proptest::prelude::*;

const KINDS: &[FileKind] = &[
    FileKind::Arm,
    FileKind::ArmParameters,
    FileKind::Json,
    FileKind::PowerShell,
    FileKind::Shell,
    FileKind::Batch,
    FileKind::Terraform,
    FileKind::Bicep,
    FileKind::Markdown,
    FileKind::Yaml,
    FileKind::Xml,
    FileKind::Config,
    FileKind::Code(Lang::Python),
    FileKind::Code(Lang::CSharp),
    FileKind::Code(Lang::JavaScript),
    FileKind::Text,
];

/// Pieces of every construct and of the syntax around them, glued at random.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    "=",
    "\"",
    "'",
    "`",
    "\\",
    "$",
    "@",
    "\n",
    "\r\n",
    "  ",
    "//",
    "/*",
    "*/",
    "#",
    "<#",
    "#>",
    "<!--",
    "-->",
    "@\"",
    "\"@",
    "```",
    "```bash\n",
    "${",
    "{{if x}}",
    "{{end}}",
    "\"publisher\": \"Microsoft.ManagedIdentity\"",
    "\"type\": \"ManagedIdentityExtensionForLinux\"",
    "\"type\": \"Microsoft.Compute/virtualMachines/extensions\"",
    "\"name\": \"[concat(parameters('vm'), '/msi')]\"",
    "\"settings\": {\"port\": 50343}",
    "\"dependsOn\": [\"msi\"]",
    "\"extensionProfile\": {\"extensions\": [",
    "Set-AzVMExtension",
    " -Publisher Microsoft.ManagedIdentity",
    " -ExtensionType ManagedIdentityExtensionForWindows",
    " -Name msi",
    " -ResourceGroupName rg",
    " -VMName vm",
    " `\n",
    " \\\n",
    "az vm extension set",
    "az vmss extension set",
    " --publisher Microsoft.ManagedIdentity",
    " --name ManagedIdentityExtensionForLinux",
    " -g rg --vm-name vm",
    "az login --msi --msi-port 50342",
    "http://localhost:50342/oauth2/token",
    "http://127.0.0.1:50343/oauth2/token",
    "?resource=https://vault.azure.net",
    "f\"http://localhost:{port}/oauth2/token\"",
    "-Method Post -Body \"resource=x\"",
    "resource \"azurerm_virtual_machine_extension\" \"m\" {",
    "publisher = \"Microsoft.ManagedIdentity\"",
    "type = \"ManagedIdentityExtensionForLinux\"",
    "depends_on = [azurerm_virtual_machine_extension.m]",
    "resource e 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {",
    "properties: {",
    "publisher: 'Microsoft.ManagedIdentity'",
    "type: 'ManagedIdentityExtensionForWindows'",
    "/var/lib/waagent/ManagedIdentity-Settings",
    "# imds-migrate: ignore",
    "\u{e9}",
    "\u{1F600}",
    "\0",
    " ",
    "x",
    "1",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..80).prop_map(|v| v.concat())
}

fn kind() -> impl Strategy<Value = FileKind> {
    prop::sample::select(KINDS)
}

fn analyze(text: &str, kind: FileKind) -> Vec<Diagnostic> {
    let ctx = Context {
        kind,
        path: "p",
        api_version: DEFAULT_API_VERSION,
        extra_ports: &[],
    };
    analyzers::analyze(text, &ctx).diagnostics
}

fn check_ranges(text: &str, diags: &[Diagnostic]) -> Result<(), TestCaseError> {
    for d in diags {
        prop_assert!(
            d.range.start <= d.range.end && d.range.end <= text.len(),
            "{d:?}"
        );
        prop_assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end));
        if let Some(fix) = &d.fix {
            for e in fix.edits.iter().chain(&fix.cleanup) {
                prop_assert!(e.range.end <= text.len(), "{d:?}");
                prop_assert!(
                    text.is_char_boundary(e.range.start) && text.is_char_boundary(e.range.end)
                );
            }
        }
    }
    Ok(())
}

fn fix_all(text: &str, kind: FileKind) -> String {
    let opts = ScanOptions::default();
    fix_text(text, kind, "p", &opts, &|_| true, true).text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn analyzers_never_panic_on_fragments(text in fragments(), kind in kind()) {
        check_ranges(&text, &analyze(&text, kind))?;
    }

    #[test]
    fn analyzers_never_panic_on_arbitrary_strings(text in any::<String>(), kind in kind()) {
        check_ranges(&text, &analyze(&text, kind))?;
    }

    #[test]
    fn fixing_twice_equals_fixing_once(text in fragments(), kind in kind()) {
        let once = fix_all(&text, kind);
        prop_assert_eq!(fix_all(&once, kind), once);
    }

    #[test]
    fn command_and_url_fixes_stay_inside_their_finding(text in fragments(), kind in kind()) {
        for d in analyze(&text, kind) {
            if !matches!(d.rule, "IMDS010" | "IMDS011" | "IMDS012" | "IMDS030" | "IMDS031") {
                continue;
            }
            if let Some(fix) = &d.fix {
                for e in &fix.edits {
                    // A URL the code extends with its own query gets `api-version` in that query.
                    let api_version_in_query = d.rule == "IMDS030"
                        && e.content.trim_start_matches('?').starts_with("api-version=")
                        && e.range.len() <= 1;
                    prop_assert!(
                        d.range.start <= e.range.start && e.range.end <= d.range.end
                            || api_version_in_query,
                        "{} edit {:?} outside finding {:?} in {:?}", d.rule, e.range, d.range, text
                    );
                }
            }
        }
    }

    #[test]
    fn arm_templates_still_parse_after_fixing(t in arm_template()) {
        prop_assert!(serde_json::from_str::<serde_json::Value>(&t).is_ok(), "generator: {t}");
        let fixed = fix_all(&t, FileKind::Arm);
        prop_assert!(
            serde_json::from_str::<serde_json::Value>(&fixed).is_ok(),
            "before:\n{t}\nafter:\n{fixed}"
        );
        let left: Vec<_> = analyze(&fixed, FileKind::Arm)
            .into_iter()
            .filter(|d| matches!(d.rule, "IMDS001" | "IMDS002"))
            .collect();
        prop_assert!(left.is_empty(), "{left:?}\n{fixed}");
        prop_assert_eq!(fix_all(&fixed, FileKind::Arm), fixed.clone());
        // Other extensions survive.
        prop_assert_eq!(t.matches("CustomScript").count(), fixed.matches("CustomScript").count());
    }
}

#[derive(Clone, Debug)]
enum Res {
    MiExtension(String),
    OtherExtension {
        name: String,
        depends_on: Option<String>,
    },
    Vmss {
        mi_entries: usize,
        others: usize,
    },
    VmWithNested(String),
}

fn res() -> impl Strategy<Value = Res> {
    let name = "[a-z]{1,6}";
    prop_oneof![
        name.prop_map(Res::MiExtension),
        (name, prop::option::of(name))
            .prop_map(|(name, depends_on)| Res::OtherExtension { name, depends_on }),
        (0usize..3, 0usize..3).prop_map(|(mi_entries, others)| Res::Vmss { mi_entries, others }),
        name.prop_map(Res::VmWithNested),
    ]
}

fn mi_props(indent: &str) -> String {
    format!(
        "\"properties\": {{\n{indent}  \"publisher\": \"Microsoft.ManagedIdentity\",\n{indent}  \"type\": \"ManagedIdentityExtensionForLinux\",\n{indent}  \"typeHandlerVersion\": \"1.0\",\n{indent}  \"settings\": {{ \"port\": 50342 }}\n{indent}}}"
    )
}

fn other_props(indent: &str) -> String {
    format!(
        "\"properties\": {{\n{indent}  \"publisher\": \"Microsoft.Compute\",\n{indent}  \"type\": \"CustomScriptExtension\",\n{indent}  \"typeHandlerVersion\": \"1.10\"\n{indent}}}"
    )
}

fn render(r: &Res, i: &str) -> String {
    match r {
        Res::MiExtension(n) => format!(
            "{i}{{\n{i}  \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n{i}  \"apiVersion\": \"2018-06-01\",\n{i}  \"name\": \"[concat('vm', '/{n}')]\",\n{i}  {}\n{i}}}",
            mi_props(&format!("{i}  "))
        ),
        Res::OtherExtension { name, depends_on } => {
            let dep = depends_on.as_ref().map_or(String::new(), |d| {
                format!(
                    "{i}  \"dependsOn\": [\n{i}    \"[resourceId('Microsoft.Compute/virtualMachines/extensions', 'vm', '{d}')]\"\n{i}  ],\n"
                )
            });
            format!(
                "{i}{{\n{i}  \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n{i}  \"apiVersion\": \"2018-06-01\",\n{i}  \"name\": \"[concat('vm', '/{name}')]\",\n{dep}{i}  {}\n{i}}}",
                other_props(&format!("{i}  "))
            )
        }
        Res::Vmss { mi_entries, others } => {
            let ii = format!("{i}        ");
            let mut entries = Vec::new();
            for k in 0..*mi_entries {
                entries.push(format!(
                    "{ii}{{\n{ii}  \"name\": \"msi{k}\",\n{ii}  {}\n{ii}}}",
                    mi_props(&format!("{ii}  "))
                ));
            }
            for k in 0..*others {
                entries.push(format!(
                    "{ii}{{\n{ii}  \"name\": \"cse{k}\",\n{ii}  {}\n{ii}}}",
                    other_props(&format!("{ii}  "))
                ));
            }
            format!(
                "{i}{{\n{i}  \"type\": \"Microsoft.Compute/virtualMachineScaleSets\",\n{i}  \"apiVersion\": \"2024-07-01\",\n{i}  \"name\": \"ss\",\n{i}  \"identity\": {{ \"type\": \"SystemAssigned\" }},\n{i}  \"properties\": {{\n{i}    \"virtualMachineProfile\": {{\n{i}      \"extensionProfile\": {{\n{i}        \"extensions\": [\n{}\n{i}        ]\n{i}      }}\n{i}    }}\n{i}  }}\n{i}}}",
                entries.join(",\n")
            )
        }
        Res::VmWithNested(n) => format!(
            "{i}{{\n{i}  \"type\": \"Microsoft.Compute/virtualMachines\",\n{i}  \"apiVersion\": \"2024-07-01\",\n{i}  \"name\": \"vm\",\n{i}  \"identity\": {{ \"type\": \"SystemAssigned\" }},\n{i}  \"resources\": [\n{i}    {{\n{i}      \"type\": \"extensions\",\n{i}      \"name\": \"{n}\",\n{i}      \"apiVersion\": \"2018-06-01\",\n{i}      {}\n{i}    }}\n{i}  ]\n{i}}}",
            mi_props(&format!("{i}      "))
        ),
    }
}

fn arm_template() -> impl Strategy<Value = String> {
    (prop::collection::vec(res(), 0..6), any::<bool>(), any::<bool>()).prop_map(|(rs, crlf, final_nl)| {
        let body: Vec<String> = rs.iter().map(|r| render(r, "    ")).collect();
        let mut t = format!(
            "{{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  \"resources\": [\n{}\n  ]\n}}",
            body.join(",\n")
        );
        if final_nl {
            t.push('\n');
        }
        if crlf {
            t = t.replace('\n', "\r\n");
        }
        t
    })
}

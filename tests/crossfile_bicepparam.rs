//! `.bicepparam` files and JSON parameter files supply a Bicep template's extension values
//! (IMDS005): found at the values and at the resource, never for templates they do not deploy.

#[path = "support/tree.rs"]
mod tree;

use std::fmt::Write;

use tree::rules_by_file;

/// A generic Bicep template: one extension resource, publisher and type from `param`s.
const TEMPLATE: &str = "param publisher string\nparam extType string\n\nresource ext 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/agent'\n  properties: {\n    publisher: publisher\n    type: extType\n  }\n}\n";

/// A template deploying a VM only: its `publisher` is an image publisher.
const UNRELATED: &str = "param publisher string\nparam extType string\n\nresource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: 'vm'\n  properties: {\n    storageProfile: {\n      imageReference: {\n        publisher: publisher\n        offer: extType\n      }\n    }\n  }\n}\n";

fn params(using: &str, body: &str) -> String {
    format!("using '{using}'\n\n{body}")
}

const MI: &str = "param publisher = 'Microsoft.ManagedIdentity'\nparam extType = 'ManagedIdentityExtensionForLinux'\n";

/// Every IMDS005 finding as `path:line`, one a line.
fn imds005(files: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (path, rule, line) in rules_by_file(files) {
        if rule == "IMDS005" {
            writeln!(out, "{path}:{line}").unwrap();
        }
    }
    out
}

#[test]
fn values_and_resource_are_reported() {
    let prod = params("../main.bicep", MI);
    let found = imds005(&[("main.bicep", TEMPLATE), ("env/prod.bicepparam", &prod)]);
    insta::assert_snapshot!(found, @r"
    env/prod.bicepparam:3
    env/prod.bicepparam:4
    main.bicep:4
    ");
}

#[test]
fn a_multi_line_file_with_comments_and_vars() {
    let body = "/* shared */\nvar ns = 'Microsoft.ManagedIdentity'\nparam tags = {\n  env: 'prod'\n  owner: 'ops'\n}\nparam publisher = ns // from the var\nparam zones = [\n  '1'\n  '2'\n]\nparam extType = 'ManagedIdentityExtensionForWindows'\n";
    let prod = params("main.bicep", body);
    let found = imds005(&[("main.bicep", TEMPLATE), ("prod.bicepparam", &prod)]);
    insta::assert_snapshot!(found, @r"
    main.bicep:4
    prod.bicepparam:9
    prod.bicepparam:14
    ");
}

#[test]
fn only_the_values_the_extension_needs() {
    // `spare` names a type too, but the resource does not read it: no place to change.
    let template = TEMPLATE.replace(
        "param extType string",
        "param extType string\nparam spare string = ''",
    );
    let prod = params(
        "main.bicep",
        "param spare = 'ManagedIdentityExtensionForWindows'\nparam publisher = 'Microsoft.ManagedIdentity'\nparam extType = 'ManagedIdentityExtensionForLinux'\n",
    );
    let found = imds005(&[("main.bicep", &template), ("prod.bicepparam", &prod)]);
    insta::assert_snapshot!(found, @r"
    main.bicep:5
    prod.bicepparam:4
    prod.bicepparam:5
    ");
}

#[test]
fn several_environments_one_resource() {
    let dev = params(
        "main.bicep",
        "param publisher = 'Microsoft.Azure.Extensions'\nparam extType = 'CustomScript'\n",
    );
    let prod = params("main.bicep", MI);
    let test = params("main.bicep", MI);
    let found = imds005(&[
        ("main.bicep", TEMPLATE),
        ("dev.bicepparam", &dev),
        ("prod.bicepparam", &prod),
        ("test.bicepparam", &test),
    ]);
    insta::assert_snapshot!(found, @r"
    main.bicep:4
    prod.bicepparam:3
    prod.bicepparam:4
    test.bicepparam:3
    test.bicepparam:4
    ");
}

#[test]
fn look_alikes_are_not_reported() {
    let cases: [(&str, String); 7] = [
        // A parameter file for a template that deploys no extension.
        ("unrelated.bicep", params("unrelated.bicep", MI)),
        // A `using` path that does not exist, or leaves the scanned folder.
        ("main.bicep", params("./missing.bicep", MI)),
        ("main.bicep", params("../../main.bicep", MI)),
        // Registry and template-spec templates, and no template at all.
        (
            "main.bicep",
            params("br:contoso.azurecr.io/bicep/ext:1.0", MI),
        ),
        ("main.bicep", format!("using none\n\n{MI}")),
        // The replacement resource type as a value.
        (
            "main.bicep",
            params(
                "main.bicep",
                "param publisher = 'Microsoft.ManagedIdentity/userAssignedIdentities'\nparam extType = 'Microsoft.ManagedIdentity/userAssignedIdentities'\n",
            ),
        ),
        // Interpolated and computed values.
        (
            "main.bicep",
            params(
                "main.bicep",
                "var ns = 'Microsoft.ManagedIdentity'\nparam publisher = '${ns}'\nparam extType = toLower('ManagedIdentityExtensionForLinux')\n",
            ),
        ),
    ];
    for (template, p) in &cases {
        let files = [
            ("main.bicep", TEMPLATE),
            ("unrelated.bicep", UNRELATED),
            ("infra/prod.bicepparam", p.as_str()),
        ];
        // `infra/` has no templates: every `using` above that names one is relative to it.
        let found = imds005(&files);
        assert!(found.is_empty(), "{template}: {p}\n{found}");
    }
    // The same values beside the template do make it the extension (the cases above fail for
    // the reason they name, not for the folder).
    let p = params("main.bicep", MI);
    assert!(!imds005(&[("main.bicep", TEMPLATE), ("prod.bicepparam", &p)]).is_empty());
}

#[test]
fn a_parameter_file_for_an_unrelated_template_beside_it() {
    let p = params("unrelated.bicep", MI);
    let found = imds005(&[
        ("main.bicep", TEMPLATE),
        ("unrelated.bicep", UNRELATED),
        ("unrelated.bicepparam", &p),
    ]);
    assert!(found.is_empty(), "{found}");
}

#[test]
fn a_template_that_deploys_the_extension_alone_is_not_reported_again() {
    let template = TEMPLATE
        .replace(
            "publisher: publisher",
            "publisher: 'Microsoft.ManagedIdentity'",
        )
        .replace("type: extType", "type: 'ManagedIdentityExtensionForLinux'");
    let p = params("main.bicep", MI);
    let found = rules_by_file(&[("main.bicep", &template), ("prod.bicepparam", &p)]);
    assert!(found.iter().all(|f| f.1 != "IMDS005"), "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f.1 == "IMDS021" && f.0 == "main.bicep"),
        "{found:?}"
    );
}

#[test]
fn an_arm_template_named_by_using() {
    // ARM parameter names are case-insensitive: `Pub` sets `pub`.
    let p = params(
        "./ext.json",
        "param Pub = 'Microsoft.ManagedIdentity'\nparam TY = 'ManagedIdentityExtensionForWindows'\n",
    );
    let found = imds005(&[("ext.json", tree::GENERIC), ("ext.bicepparam", &p)]);
    insta::assert_snapshot!(found, @r"
    ext.bicepparam:3
    ext.bicepparam:4
    ext.json:4
    ");
}

#[test]
fn a_json_parameter_file_beside_a_bicep_template() {
    // Parameter names are case-insensitive in a JSON parameter file.
    let json = r#"{ "parameters": { "Publisher": { "value": "Microsoft.ManagedIdentity" }, "EXTTYPE": { "value": "ManagedIdentityExtensionForLinux" } } }"#;
    let found = imds005(&[
        ("infra/main.bicep", TEMPLATE),
        ("infra/main.parameters.json", json),
    ]);
    insta::assert_snapshot!(found, @"infra/main.bicep:4");
    // With a compiled `main.json` beside it, that one is the template.
    let arm = tree::GENERIC;
    let found = imds005(&[
        ("main.bicep", TEMPLATE),
        ("main.json", arm),
        ("main.parameters.json", json),
    ]);
    assert_eq!(
        found, "",
        "the ARM template takes `pub`/`ty`, not these names"
    );
    // Another template's parameter file: nothing.
    let found = imds005(&[("main.bicep", TEMPLATE), ("other.parameters.json", json)]);
    assert_eq!(found, "");
}

#[test]
fn a_suppressed_value_silences_only_itself() {
    let body = "// imds-migrate: ignore[IMDS005]\nparam publisher = 'Microsoft.ManagedIdentity'\nparam extType = 'ManagedIdentityExtensionForLinux'\n";
    let p = params("main.bicep", body);
    let found = rules_by_file(&[("main.bicep", TEMPLATE), ("prod.bicepparam", &p)]);
    let rules: Vec<(&str, &str, usize)> = found
        .iter()
        .map(|f| (f.0.as_str(), f.1.as_str(), f.2))
        .collect();
    insta::assert_debug_snapshot!(rules);
}

#[test]
fn values_passed_on_to_a_module() {
    // The azd layout: `main.bicep` passes its params on to a generic extension module.
    let main = "param publisher string\nparam extType string\n\nmodule agent './modules/ext.bicep' = {\n  name: 'agent'\n  params: {\n    publisher: publisher\n    extType: extType\n  }\n}\n";
    let module = TEMPLATE;
    let prod = params("main.bicep", MI);
    let files = [
        ("main.bicep", main),
        ("modules/ext.bicep", module),
        ("main.bicepparam", prod.as_str()),
    ];
    insta::assert_snapshot!(imds005(&files), @r"
    main.bicep:4
    main.bicepparam:3
    main.bicepparam:4
    ");
    // A call that passes the extension's values itself is IMDS007's, not reported again.
    let literal = main
        .replace(
            "publisher: publisher",
            "publisher: 'Microsoft.ManagedIdentity'",
        )
        .replace(
            "extType: extType",
            "extType: 'ManagedIdentityExtensionForLinux'",
        );
    let found = rules_by_file(&[
        ("main.bicep", &literal),
        ("modules/ext.bicep", module),
        ("main.bicepparam", &prod),
    ]);
    assert!(found.iter().all(|f| f.1 != "IMDS005"), "{found:?}");
    assert!(found.iter().any(|f| f.1 == "IMDS007"), "{found:?}");
    // Other values: nothing.
    let dev = params(
        "main.bicep",
        "param publisher = 'Microsoft.Azure.Monitor'\nparam extType = 'AzureMonitorLinuxAgent'\n",
    );
    assert_eq!(
        imds005(&[
            ("main.bicep", main),
            ("modules/ext.bicep", module),
            ("dev.bicepparam", &dev)
        ]),
        ""
    );
}

#[test]
fn values_inherited_from_a_base_file() {
    let base = "using none\n\nparam publisher = 'Microsoft.ManagedIdentity'\nparam extType = 'CustomScript'\n";
    let leaf = "using '../main.bicep'\nextends '../shared/base.bicepparam'\n\nparam extType = 'ManagedIdentityExtensionForLinux'\n";
    let files = [
        ("main.bicep", TEMPLATE),
        ("shared/base.bicepparam", base),
        ("env/prod.bicepparam", leaf),
    ];
    // Each value where it is assigned; the base's own type is overridden, so not reported.
    insta::assert_snapshot!(imds005(&files), @r"
    env/prod.bicepparam:4
    main.bicep:4
    shared/base.bicepparam:3
    ");
    // A leaf that overrides the base's publisher with a computed value: not certain.
    let computed = format!("{leaf}param publisher = toLower('X')\n");
    assert_eq!(
        imds005(&[
            ("main.bicep", TEMPLATE),
            ("shared/base.bicepparam", base),
            ("env/prod.bicepparam", &computed),
        ]),
        ""
    );
    // Files extending each other end, and find nothing more.
    let a = "using 'main.bicep'\nextends 'b.bicepparam'\nparam publisher = 'Microsoft.ManagedIdentity'\n";
    let b = "using none\nextends 'a.bicepparam'\nparam extType = 'ManagedIdentityExtensionForWindows'\n";
    insta::assert_snapshot!(imds005(&[("main.bicep", TEMPLATE), ("a.bicepparam", a), ("b.bicepparam", b)]), @r"
    a.bicepparam:3
    b.bicepparam:3
    main.bicep:4
    ");
}

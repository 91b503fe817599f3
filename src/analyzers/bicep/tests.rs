use super::*;
use crate::{analyzers::terraform::syntax::balanced, fix::apply::apply_fixes, kind::FileKind};

fn run(text: &str) -> Analysis {
    let ctx = Context {
        kind: FileKind::Bicep,
        path: "main.bicep",
        api_version: "2018-02-01",
        extra_ports: &[],
    };
    let mut out = Analysis::default();
    analyze(text, &ctx, &mut out);
    out
}

fn lines(text: &str) -> Vec<usize> {
    run(text)
        .diagnostics
        .iter()
        .map(|d| text[..d.range.start].matches('\n').count() + 1)
        .collect()
}

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
    assert!(balanced(&Tree::new(&text, lex(&text))), "{text}");
    text
}

const VM: &str = r"param vmName string
param msiPort int = 50343
var extPublisher = 'Microsoft.ManagedIdentity'

resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' existing = {
  name: vmName
}

@description('The retired token service')
resource msiExt 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'ManagedIdentityExtensionForWindows'
  location: resourceGroup().location
  properties: {
    publisher: extPublisher
    type: 'ManagedIdentityExtensionForWindows'
    typeHandlerVersion: '1.0'
    autoUpgradeMinorVersion: true
    settings: {
      port: msiPort
    }
  }
}

resource script 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'script'
  properties: {
    publisher: 'Microsoft.Compute'
    type: 'CustomScriptExtension'
  }
  dependsOn: [
    msiExt
  ]
}

resource other 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  parent: vm
  name: 'other'
  properties: {
    publisher: 'Microsoft.Azure.Monitor'
    type: 'AzureMonitorWindowsAgent'
  }
  dependsOn: [script, msiExt]
}
";

#[test]
fn finds_resource_with_variable_publisher_and_declared_port() {
    let a = run(VM);
    assert_eq!(lines(VM), vec![10]);
    assert_eq!(a.declared_ports, vec![50343]);
    let d = &a.diagnostics[0];
    assert!(VM[d.range.clone()].starts_with("resource msiExt"));
    assert!(VM[d.range.clone()].ends_with("  }\n}"));
}

#[test]
fn fix_removes_decorators_dependson_and_unused_declarations_under_unsafe() {
    let safe = fixed(VM, false);
    assert!(!safe.contains("@description"));
    assert!(!safe.contains("msiExt"));
    assert!(safe.contains("var extPublisher"));
    assert!(safe.contains("  properties: {\n    publisher: 'Microsoft.Compute'\n    type: 'CustomScriptExtension'\n  }\n}\n"), "{safe}");
    assert!(safe.contains("  dependsOn: [script]\n"), "{safe}");
    assert!(
        safe.contains("name: vmName\n}\n\nresource script"),
        "{safe}"
    );
    let all = fixed(VM, true);
    assert!(
        all.starts_with("param vmName string\n\nresource vm"),
        "{all}"
    );
}

#[test]
fn nested_conditional_and_loop_resources() {
    let text = r"resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {
  name: 'vm'
  identity: {
    type: 'SystemAssigned'
  }
  resource msi 'extensions' = if (useMsi) {
    name: 'msi'
    properties: {
      publisher: 'Microsoft.ManagedIdentity'
      type: 'ManagedIdentityExtensionForWindows'
    }
  }
}

@batchSize(1)
resource msis 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = [for i in range(0, count): {
  name: 'vm${i}/ManagedIdentityExtensionForLinux'
  properties: {
    publisher: 'Microsoft.ManagedIdentity'
    type: 'ManagedIdentityExtensionForLinux'
    settings: {
      port: 50342
    }
  }
}]
resource vmssMsi 'Microsoft.Compute/virtualMachineScaleSets/extensions@2023-03-01' = [for (name, i) in names: if (i > 0) {
  name: '${name}/msi'
  properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForLinux' }
}]
";
    assert_eq!(lines(text), vec![6, 16, 26]);
    // Adjacent declarations removed in one pass leave no blank line behind them.
    let out = fixed(text, false);
    assert_eq!(
        out,
        "resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: 'vm'\n  identity: {\n    type: 'SystemAssigned'\n  }\n}\n"
    );
}

#[test]
fn scale_set_extension_profile_entries() {
    let text = r"resource vmss 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' = {
  name: 'vmss'
  properties: {
    virtualMachineProfile: {
      extensionProfile: {
        extensions: [
          {
            name: 'msi'
            properties: {
              publisher: 'Microsoft.ManagedIdentity'
              type: 'ManagedIdentityExtensionForLinux'
              typeHandlerVersion: '1.0'
              settings: { port: 50343 }
            }
          }
          {
            name: 'health'
            properties: {
              publisher: 'Microsoft.ManagedServices'
              type: 'ApplicationHealthLinux'
            }
          }
        ]
      }
    }
  }
}
";
    let a = run(text);
    assert_eq!(lines(text), vec![7]);
    assert_eq!(a.declared_ports, vec![50343]);
    let out = fixed(text, false);
    assert!(
        out.contains("        extensions: [\n          {\n            name: 'health'"),
        "{out}"
    );
    let one = "var p = {\n  extensions: [\n    {\n      name: 'msi'\n      properties: {\n        publisher: 'Microsoft.ManagedIdentity'\n        type: 'ManagedIdentityExtensionForLinux'\n      }\n    }, { name: 'x' }\n  ]\n}\n";
    assert_eq!(
        fixed(one, false),
        "var p = {\n  extensions: [\n    { name: 'x' }\n  ]\n}\n"
    );
    let last = "var p = [{ name: 'x' }, { name: 'msi', properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForLinux' } }]\n";
    assert_eq!(fixed(last, false), "var p = [{ name: 'x' }]\n");
}

#[test]
fn look_alikes_are_not_flagged() {
    let text = r"resource uai 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'ManagedIdentityExtensionForWindows'
  location: location
}
resource ama 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
  name: 'ManagedIdentityExtensionForWindows'
  properties: {
    publisher: 'Microsoft.Azure.Monitor'
    type: 'AzureMonitorWindowsAgent'
  }
}
// resource old 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {
//   properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForWindows' }
// }
/* resource older 'Microsoft.Compute/virtualMachines/extensions@2017-12-01' = {
  properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForLinux' }
} */
resource existingMsi 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' existing = {
  name: 'vm/msi'
}
output note string = 'publisher: \'Microsoft.ManagedIdentity\' type: ManagedIdentityExtensionForLinux'
var doc = '''
properties: { publisher: 'Microsoft.ManagedIdentity', type: 'ManagedIdentityExtensionForLinux' }
'''
";
    assert!(
        run(text).diagnostics.is_empty(),
        "{:?}",
        run(text).diagnostics
    );
}

#[test]
fn unsafe_when_referenced_elsewhere() {
    let text = "resource msi 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  properties: {\n    publisher: 'Microsoft.ManagedIdentity'\n    type: 'ManagedIdentityExtensionForLinux'\n  }\n}\noutput id string = msi.id\n";
    let a = run(text);
    assert_eq!(
        a.diagnostics[0].fix.as_ref().unwrap().applicability,
        Applicability::Unsafe
    );
}

#[test]
fn lexer_edge_cases() {
    let text = "var a = '}${'{'}\\'{'\nvar b = '''\n}}} '\n'''\nresource msi 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  properties: {\n    publisher: 'Microsoft.ManagedIdentity' // }\n    type: 'ManagedIdentityExtensionForLinux' /* { */\n  }\n}\n";
    assert_eq!(lines(text), vec![5]);
    assert!(balanced(&Tree::new(text, lex(text))));
    assert_eq!(literal(r"'it\'s'").as_deref(), Some("it's"));
    assert_eq!(literal("'${x}'"), None);
}

#[test]
fn deep_nesting_and_garbage_do_not_panic() {
    let deep = format!("resource x 'y' = {}ManagedIdentity", "{".repeat(100_000));
    let _ = run(&deep);
    let deep = format!("var a = {}ManagedIdentity", "'${".repeat(50_000));
    let _ = run(&deep);
    for s in [
        "'",
        "'''",
        "'${",
        "/*",
        "@",
        "@x(",
        "é'ManagedIdentity\\",
        "resource x 'y' = [for",
    ] {
        let _ = run(s);
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(s in "(resource|x|'e'|=|\\{|\\}|\\[|\\]|\\(|\\)|if|for|:|,|'|\\$\\{|'''|\n|//|/\\*|\\*/|@d|properties|publisher|type|'Microsoft\\.ManagedIdentity'|'ManagedIdentityExtensionForLinux'|dependsOn|é| ){0,60}") {
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
        include_str!("../../../testdata/rules/IMDS021/positive_vm.bicep"),
        include_str!("../../../testdata/rules/IMDS021/positive_vmss.bicep"),
    ] {
        for unsafe_fixes in [false, true] {
            let out = fixed(text, unsafe_fixes);
            assert!(run(&out).diagnostics.is_empty(), "{out}");
            assert_eq!(fixed(&out, unsafe_fixes), out);
            assert!(!out.contains("'msi'"), "{out}");
            // Removals from different fixes applied in one pass each keep their own
            // surroundings, so only the safe pass is held to this.
            assert!(unsafe_fixes || !out.contains("\n\n\n"), "{out}");
        }
    }
}

#[test]
fn conditional_type_in_entry() {
    let text = "var exts = [\n  {\n    name: 'msi'\n    properties: {\n      publisher: 'Microsoft.ManagedIdentity'\n      type: isWindows ? 'ManagedIdentityExtensionForWindows' : 'ManagedIdentityExtensionForLinux'\n    }\n  }\n]\n";
    assert_eq!(lines(text), vec![2]);
    assert_eq!(fixed(text, false), "var exts = [\n]\n");
}

#[test]
fn many_resources_stay_fast() {
    let one = "resource m{i} 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  properties: {\n    publisher: 'Microsoft.ManagedIdentity'\n    type: 'ManagedIdentityExtensionForLinux'\n  }\n}\nresource y{i} 'x@1' = {\n  dependsOn: [\n    m{i}\n  ]\n}\n";
    let text: String = (0..5000)
        .map(|i| one.replace("{i}", &i.to_string()))
        .collect();
    let start = std::time::Instant::now();
    assert_eq!(run(&text).diagnostics.len(), 5000);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

#[test]
fn bicepparam_type_value_flagged_without_fix() {
    let text = "using 'main.bicep'\n\nparam location = 'westeurope'\nparam extensionType = 'ManagedIdentityExtensionForLinux'\n";
    let ctx = Context {
        kind: FileKind::Bicep,
        path: "prod.bicepparam",
        api_version: "2018-02-01",
        extra_ports: &[],
    };
    let mut out = Analysis::default();
    analyze(text, &ctx, &mut out);
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(
        &text[out.diagnostics[0].range.clone()],
        "param extensionType = 'ManagedIdentityExtensionForLinux'"
    );
    assert!(out.diagnostics[0].fix.is_none());
    assert!(run(text).diagnostics.is_empty());
}

const SNIPPETS: [&str; 7] = [
    "@description('msi')\nresource msi 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/msi'\n  properties: {\n    publisher: pub\n    type: 'ManagedIdentityExtensionForLinux'\n  }\n}\n",
    "resource cse 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  properties: {\n    publisher: 'Microsoft.Compute'\n    type: 'CustomScriptExtension'\n  }\n  dependsOn: [\n    msi\n    other\n  ]\n}\n",
    "resource s 'Microsoft.Compute/virtualMachineScaleSets@2023-03-01' = {\n  properties: {\n    extensions: [\n      {\n        name: 'msi'\n        properties: {\n          publisher: 'Microsoft.ManagedIdentity'\n          type: 'ManagedIdentityExtensionForLinux'\n        }\n      }\n      {\n        name: 'h'\n        properties: {\n          provisionAfterExtensions: ['msi']\n        }\n      }\n    ]\n  }\n}\n",
    "var pub = 'Microsoft.ManagedIdentity'\n",
    "param count int = 2\n",
    "// resource old 'x' = { properties: { publisher: 'Microsoft.ManagedIdentity' } }\n",
    "resource y 'x@1' = {\n  dependsOn: [msi, cse]\n}\n",
];

proptest::proptest! {
    #[test]
    fn fixes_keep_templates_whole(
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
fn nested_child_referenced_with_parent_accessor() {
    let text = "resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: 'vm'\n  resource msi 'extensions' = {\n    name: 'msi'\n    properties: {\n      publisher: 'Microsoft.ManagedIdentity'\n      type: 'ManagedIdentityExtensionForLinux'\n    }\n  }\n}\n\nresource cse 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/cse'\n  dependsOn: [\n    vm::msi\n    vm\n  ]\n}\n";
    let a = run(text);
    assert_eq!(
        a.diagnostics[0].fix.as_ref().unwrap().applicability,
        Applicability::Safe
    );
    assert_eq!(
        fixed(text, false),
        "resource vm 'Microsoft.Compute/virtualMachines@2023-03-01' = {\n  name: 'vm'\n}\n\nresource cse 'Microsoft.Compute/virtualMachines/extensions@2023-03-01' = {\n  name: 'vm/cse'\n  dependsOn: [\n    vm\n  ]\n}\n"
    );
}

#[test]
fn decompiled_conditional_variable() {
    let text = "param os string = 'Windows'\nvar extensionType = ((os == 'Windows') ? 'ManagedIdentityExtensionForWindows' : 'ManagedIdentityExtensionForLinux')\nvar vmss = {\n  extensions: [\n    {\n      name: 'msi'\n      properties: {\n        publisher: 'Microsoft.ManagedIdentity'\n        type: extensionType\n      }\n    }\n  ]\n}\n";
    assert_eq!(lines(text), vec![5]);
}

#[test]
fn documentation_snippet() {
    let text = "publisher: 'Microsoft.ManagedIdentity'\ntype: 'ManagedIdentityExtensionForWindows'\ntypeHandlerVersion: '1.0'\n";
    assert_eq!(lines(text), vec![1]);
    assert!(run(text).diagnostics[0].fix.is_none());
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*", cut in 0usize..400) {
        let text = format!("publisher: 'Microsoft.ManagedIdentity'\n{s}");
        let _ = run(&text);
        let _ = run(&text[..crate::source::floor_char_boundary(&text, cut.min(text.len()))]);
    }
}

#[test]
fn bom_and_no_break_spaces_are_blanks() {
    let text = "\u{feff}resource m 'x@1' = {\n  properties: {\n    publisher:\u{a0}'Microsoft.ManagedIdentity'\n    type: 'ManagedIdentityExtensionForLinux'\n  }\n}\n";
    assert_eq!(lines(text), vec![1]);
}

#[test]
fn nested_loops_stay_fast() {
    let text = format!(
        "{}ManagedIdentity{}",
        "resource a 'x' = [for i in y: (\n".repeat(20_000),
        ")]\n".repeat(20_000)
    );
    let start = std::time::Instant::now();
    let _ = run(&text);
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}

#[test]
fn pragma_lines_go_with_the_declaration() {
    let text = "var a = 1\n\n#disable-next-line BCP081\n@description('x')\nresource msi 'Microsoft.Compute/virtualMachines/extensions@2017-12-01' = {\n  properties: {\n    publisher: 'Microsoft.ManagedIdentity'\n    type: 'ManagedIdentityExtensionForLinux'\n  }\n}\n\nvar b = 2\n";
    assert_eq!(lines(text), vec![5]);
    assert_eq!(fixed(text, false), "var a = 1\n\nvar b = 2\n");
}

//! Deployment order across `fix`: on generated ARM templates (random dependency DAGs with the
//! Managed Identity extension at random places, top-level or nested in its VM, with and without
//! `copy` loops), every pair of remaining resources keeps its order; and one run fixes a
//! template with thousands of extensions completely.
//!
//! The order is computed here from what the generator knows, not with the tool's own graph: each
//! reference string the fixed template may hold is mapped to the resources it names.

use std::collections::{BTreeSet, HashMap};

use imds_migrate::{finding::Diagnostic, fix::fix_text, kind::FileKind, scan::ScanOptions};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Kind {
    Vm {
        copy: bool,
    },
    /// An extension of an earlier VM: the retired one (`msi`) or another.
    Ext {
        vm: usize,
        msi: bool,
        nested: bool,
    },
    Storage,
}

#[derive(Clone, Debug)]
struct Model {
    kinds: Vec<Kind>,
    /// `deps[i]`: the resources `i` lists in `dependsOn` (all earlier: a DAG).
    deps: Vec<Vec<usize>>,
    /// Per dependency: which of its valid spellings to use.
    spelling: Vec<Vec<u8>>,
}

const VM: &str = "Microsoft.Compute/virtualMachines";
const EXT: &str = "Microsoft.Compute/virtualMachines/extensions";

impl Model {
    fn vm_of(&self, i: usize) -> Option<usize> {
        match self.kinds[i] {
            Kind::Ext { vm, .. } => Some(vm),
            _ => None,
        }
    }

    fn copied(&self, vm: usize) -> bool {
        matches!(self.kinds[vm], Kind::Vm { copy: true })
    }

    /// The copied VM whose instances `i` is laid out along (its own loop, or its parent's).
    fn ctx(&self, i: usize) -> Option<usize> {
        match self.kinds[i] {
            Kind::Vm { copy: true } => Some(i),
            Kind::Ext { vm, .. } if self.copied(vm) => Some(vm),
            _ => None,
        }
    }

    fn vm_name_arg(&self, vm: usize) -> String {
        if self.copied(vm) {
            format!("concat('vm{vm}-', copyIndex())")
        } else {
            format!("'vm{vm}'")
        }
    }

    /// Ways resource `j` may be named from resource `i`'s `dependsOn`.
    fn spellings(&self, i: usize, j: usize) -> Vec<String> {
        let same = self.ctx(i).is_some() && self.ctx(i) == self.ctx(j);
        match &self.kinds[j] {
            Kind::Storage => vec![
                format!("st{j}"),
                format!("[resourceId('Microsoft.Storage/storageAccounts', 'st{j}')]"),
            ],
            Kind::Vm { copy: false } => {
                vec![format!("vm{j}"), format!("[resourceId('{VM}', 'vm{j}')]")]
            }
            Kind::Vm { copy: true } if same => {
                vec![format!(
                    "[resourceId('{VM}', concat('vm{j}-', copyIndex()))]"
                )]
            }
            Kind::Vm { copy: true } => vec![format!("loop{j}")],
            Kind::Ext { vm, nested, .. } => {
                if !self.copied(*vm) || same {
                    let arg = self.vm_name_arg(*vm);
                    let mut v = vec![format!("[resourceId('{EXT}', {arg}, 'ext{j}')]")];
                    if !*nested && !self.copied(*vm) {
                        v.push(format!("[concat('vm{vm}', '/ext{j}')]"));
                    }
                    v
                } else if !*nested {
                    vec![format!("extloop{j}")]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Every spelling of every resource, and the fixer's own `resourceId(type, name)` form.
    fn reference_map(&self) -> HashMap<String, BTreeSet<usize>> {
        let mut map: HashMap<String, BTreeSet<usize>> = HashMap::new();
        for j in 0..self.kinds.len() {
            for i in 0..self.kinds.len() {
                for s in self.spellings(i, j) {
                    map.entry(normal(&s)).or_default().insert(j);
                }
            }
            if let Kind::Vm { copy } = self.kinds[j] {
                let arg = self.vm_name_arg(j);
                map.entry(normal(&format!("[resourceId('{VM}', {arg})]")))
                    .or_default()
                    .insert(j);
                if copy {
                    map.entry(format!("loop{j}")).or_default().insert(j);
                }
            }
            if let Kind::Ext {
                vm, nested: false, ..
            } = self.kinds[j]
                && self.copied(vm)
            {
                map.entry(format!("extloop{j}")).or_default().insert(j);
            }
        }
        map
    }

    fn resource(&self, i: usize, children: &[String]) -> String {
        let mut fields: Vec<String> = Vec::new();
        let (ty, name, copy) = match &self.kinds[i] {
            Kind::Storage => ("Microsoft.Storage/storageAccounts", format!("st{i}"), None),
            Kind::Vm { copy } => (
                VM,
                if *copy {
                    format!("[concat('vm{i}-', copyIndex())]")
                } else {
                    format!("vm{i}")
                },
                copy.then(|| format!("loop{i}")),
            ),
            Kind::Ext { nested: true, .. } => ("extensions", format!("ext{i}"), None),
            Kind::Ext { vm, .. } => {
                if self.copied(*vm) {
                    (
                        EXT,
                        format!("[concat('vm{vm}-', copyIndex(), '/ext{i}')]"),
                        Some(format!("extloop{i}")),
                    )
                } else {
                    (EXT, format!("vm{vm}/ext{i}"), None)
                }
            }
        };
        fields.push(format!("\"type\": \"{ty}\""));
        fields.push(format!("\"name\": \"{name}\""));
        if let Some(c) = copy {
            fields.push(format!("\"copy\": {{ \"name\": \"{c}\", \"count\": 2 }}"));
        }
        if !self.deps[i].is_empty() {
            let entries: Vec<String> = self.deps[i]
                .iter()
                .zip(&self.spelling[i])
                .map(|(&j, &pick)| {
                    let v = self.spellings(i, j);
                    format!("\"{}\"", v[pick as usize % v.len()])
                })
                .collect();
            fields.push(format!(
                "\"dependsOn\": [\n        {}\n      ]",
                entries.join(",\n        ")
            ));
        }
        if let Kind::Ext { msi, .. } = self.kinds[i] {
            let (publisher, ext) = if msi {
                (
                    "Microsoft.ManagedIdentity",
                    "ManagedIdentityExtensionForLinux",
                )
            } else {
                ("Microsoft.Azure.Extensions", "CustomScript")
            };
            fields.push(format!(
                "\"properties\": {{ \"publisher\": \"{publisher}\", \"type\": \"{ext}\" }}"
            ));
        }
        if !children.is_empty() {
            fields.push(format!(
                "\"resources\": [\n{}\n      ]",
                children.join(",\n")
            ));
        }
        format!("    {{\n      {}\n    }}", fields.join(",\n      "))
    }

    fn template(&self) -> String {
        let mut top = Vec::new();
        for i in 0..self.kinds.len() {
            match self.kinds[i] {
                Kind::Ext { nested: true, .. } => {}
                Kind::Vm { .. } => {
                    let children: Vec<String> = (0..self.kinds.len())
                        .filter(|&c| {
                            matches!(self.kinds[c], Kind::Ext { vm, nested: true, .. } if vm == i)
                        })
                        .map(|c| self.resource(c, &[]))
                        .collect();
                    top.push(self.resource(i, &children));
                }
                _ => top.push(self.resource(i, &[])),
            }
        }
        format!(
            "{{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"resources\": [\n{}\n  ]\n}}\n",
            top.join(",\n")
        )
    }

    fn removed(&self, i: usize) -> bool {
        matches!(self.kinds[i], Kind::Ext { msi: true, .. })
    }
}

fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn model() -> impl Strategy<Value = Model> {
    (2usize..9)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec((0u8..10, any::<bool>(), 0usize..8, any::<bool>()), n),
                proptest::collection::vec(proptest::collection::vec((0u8..3, 0u8..4), n), n),
                any::<bool>(),
            )
        })
        .prop_map(|(picks, deps, with_copy)| {
            let mut kinds: Vec<Kind> = Vec::new();
            for (i, &(k, flag, vm_pick, nested)) in picks.iter().enumerate() {
                let vms: Vec<usize> = (0..i)
                    .filter(|&v| matches!(kinds[v], Kind::Vm { .. }))
                    .collect();
                let kind = match k {
                    _ if i == 0 => Kind::Vm {
                        copy: with_copy && flag,
                    },
                    0..=1 => Kind::Vm {
                        copy: with_copy && flag,
                    },
                    2 => Kind::Storage,
                    _ => Kind::Ext {
                        vm: vms[vm_pick % vms.len()],
                        msi: k >= 6,
                        nested,
                    },
                };
                kinds.push(kind);
            }
            let mut m = Model {
                deps: vec![Vec::new(); kinds.len()],
                spelling: vec![Vec::new(); kinds.len()],
                kinds,
            };
            for (i, rolls) in deps.iter().enumerate() {
                for (j, &(roll, pick)) in rolls.iter().enumerate().take(i) {
                    // A nested child depends on nothing outside its parent's loop by copyIndex;
                    // an extension always may name its own VM.
                    let own_vm = m.vm_of(i) == Some(j);
                    if (roll == 0 || (own_vm && roll == 1)) && !m.spellings(i, j).is_empty() {
                        m.deps[i].push(j);
                        m.spelling[i].push(pick);
                    }
                }
            }
            m
        })
}

/// Resource names (as written) of a fixed template, in document order, with their `dependsOn`.
fn resources(v: &serde_json::Value, out: &mut Vec<(String, Vec<String>)>) {
    let Some(list) = v.get("resources").and_then(|r| r.as_array()) else {
        return;
    };
    for r in list {
        let name = r["name"].as_str().unwrap_or_default().to_owned();
        let deps = r
            .get("dependsOn")
            .and_then(|d| d.as_array())
            .map(|a| {
                a.iter()
                    .map(|e| e.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.push((name, deps));
        resources(r, out);
    }
}

/// For every pair (a, b): a deploys after b. A child's tie to its VM never orders the child
/// itself (ARM schedules by `dependsOn` alone, so it may race the VM), but what waits for the
/// child waits for its VM.
fn closure(n: usize, explicit: &[Vec<usize>], implicit: &[Option<usize>]) -> Vec<Vec<bool>> {
    let mut reach = vec![vec![false; n]; n];
    for a in 0..n {
        let mut stack: Vec<usize> = explicit[a].clone();
        while let Some(x) = stack.pop() {
            if reach[a][x] {
                continue;
            }
            reach[a][x] = true;
            stack.extend(explicit[x].iter().copied());
            stack.extend(implicit[x]);
        }
    }
    reach
}

fn fixed(text: &str) -> (String, Vec<Diagnostic>) {
    let opts = ScanOptions::default();
    let out = fix_text(
        text,
        FileKind::Arm,
        "azuredeploy.json",
        &opts,
        &|_| true,
        true,
    );
    (out.text, out.remaining)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]
    #[test]
    fn fixes_keep_every_deployment_order(m in model()) {
        let text = m.template();
        let n = m.kinds.len();
        let implicit: Vec<Option<usize>> = (0..n).map(|i| m.vm_of(i)).collect();
        let before = closure(n, &m.deps, &implicit);
        let (after_text, remaining) = fixed(&text);
        let doc: serde_json::Value = serde_json::from_str(&after_text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{after_text}")))?;
        let mut found = Vec::new();
        resources(&doc, &mut found);
        // Which generated resource each remaining one is: names are unique by construction.
        let by_name: HashMap<String, usize> = (0..n)
            .map(|i| {
                let t = m.resource(i, &[]);
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                (v["name"].as_str().unwrap().to_owned(), i)
            })
            .collect();
        let refs = m.reference_map();
        let mut explicit = vec![Vec::new(); n];
        let mut present = vec![false; n];
        for (name, deps) in &found {
            let i = by_name[name];
            present[i] = true;
            for d in deps {
                let targets = refs.get(&normal(d));
                prop_assert!(targets.is_some(), "unknown reference {d} in\n{after_text}\nfrom\n{text}");
                explicit[i].extend(targets.into_iter().flatten().copied());
            }
        }
        let after = closure(n, &explicit, &implicit);
        for a in (0..n).filter(|&a| present[a]) {
            for b in (0..n).filter(|&b| present[b]) {
                prop_assert!(
                    !before[a][b] || after[a][b],
                    "resource {a} no longer deploys after {b}:\n{text}\n=>\n{after_text}"
                );
            }
        }
        // Every extension went, or its finding says why not.
        for i in (0..n).filter(|&i| m.removed(i) && present[i]) {
            prop_assert!(
                remaining.iter().any(|d| d.message.contains("Not fixed automatically")),
                "extension {i} kept without a reason:\n{text}\n=>\n{after_text}"
            );
        }
        prop_assert_eq!(fixed(&after_text).0, after_text.clone(), "not a fixed point");
    }
}

#[test]
fn one_run_fixes_thousands_of_extensions() {
    let n = 2000;
    let mut res = Vec::new();
    for i in 0..n {
        res.push(format!(
            r#"    {{ "type": "{VM}", "name": "[concat(parameters('prefix'), '{i}')]" }}"#
        ));
        res.push(format!(
            r#"    {{ "type": "{EXT}", "name": "[concat(parameters('prefix'), '{i}', '/msi')]", "dependsOn": ["[resourceId('{VM}', concat(parameters('prefix'), '{i}'))]"], "properties": {{ "publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux", "settings": {{ "port": 50342 }} }} }}"#
        ));
        res.push(format!(
            r#"    {{ "type": "{EXT}", "name": "[concat(parameters('prefix'), '{i}', '/setup')]", "dependsOn": ["[resourceId('{EXT}', concat(parameters('prefix'), '{i}'), 'msi')]"], "properties": {{ "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript" }} }}"#
        ));
    }
    let text = format!(
        "{{\n  \"parameters\": {{ \"prefix\": {{ \"type\": \"string\" }} }},\n  \"resources\": [\n{}\n  ]\n}}\n",
        res.join(",\n")
    );
    let (after, remaining) = fixed(&text);
    assert!(remaining.is_empty(), "{:?}", remaining.first());
    assert!(!after.contains("ManagedIdentity"));
    // Each setup script now waits for its own VM.
    for i in [0, 1234, n - 1] {
        assert!(after.contains(&format!(
            r#""name": "[concat(parameters('prefix'), '{i}', '/setup')]", "dependsOn": ["[resourceId('{VM}', concat(parameters('prefix'), '{i}'))]"]"#
        )));
    }
    let rescan = fixed(&after);
    assert_eq!(rescan.0, after, "a second run changed the text");
    assert!(rescan.1.is_empty());
}

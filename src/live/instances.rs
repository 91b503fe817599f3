//! Uniform scale-set instances: whether an instance's model differs from its scale set's model in
//! anything but the Managed Identity extension, whether it is protected from scale-set actions,
//! and whether it is healthy after an upgrade.
//!
//! `manualupgrade` applies *every* difference between the two models (a new image reference
//! reimages the OS disk), so an instance is upgraded only when the extension is all that differs.
//! The comparison is deliberately one-sided: every value the scale set's model sets must be the
//! same on the instance; what only the instance carries (its disk names, NIC ids, computer name,
//! resolved image version) is the instance's own and not a pending change.

use serde_json::Value;

use super::plan::is_managed_identity_extension;

const NULL: Value = Value::Null;

/// The fields of the instance's model that differ from the scale set's model, as dotted paths
/// (`storageProfile.imageReference.version`, `sku.name`, `extensions[CustomScript]`). Empty when
/// the Managed Identity extension is the only difference (or there is none).
pub fn differences(vmss: &Value, inst: &Value) -> Vec<String> {
    let profile = vmss
        .pointer("/properties/virtualMachineProfile")
        .unwrap_or(&NULL);
    let ip = inst.get("properties").unwrap_or(&NULL);
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (
        vmss.pointer("/sku/name").and_then(Value::as_str),
        inst.pointer("/sku/name").and_then(Value::as_str),
    ) && !a.eq_ignore_ascii_case(b)
    {
        out.push("sku.name".to_owned());
    }
    for key in ["hardwareProfile", "storageProfile", "securityProfile"] {
        subset(key, profile.get(key), ip.get(key), &mut out);
    }
    // The model names a prefix, the instance its own computer name; the password is never read.
    let os = profile.get("osProfile").map(|o| {
        let mut o = o.clone();
        if let Some(m) = o.as_object_mut() {
            m.remove("computerNamePrefix");
            m.remove("adminPassword");
        }
        o
    });
    subset("osProfile", os.as_ref(), ip.get("osProfile"), &mut out);
    subset(
        "userData",
        profile.get("userData"),
        ip.get("userData"),
        &mut out,
    );
    // The model's NIC configurations reappear on the instance as `networkProfileConfiguration`.
    subset(
        "networkProfile.networkInterfaceConfigurations",
        profile.pointer("/networkProfile/networkInterfaceConfigurations"),
        ip.pointer("/networkProfileConfiguration/networkInterfaceConfigurations"),
        &mut out,
    );
    extensions(profile, inst, &mut out);
    out
}

/// Every leaf `model` sets must be equal in `inst` (`null` in the model means unset).
fn subset(path: &str, model: Option<&Value>, inst: Option<&Value>, out: &mut Vec<String>) {
    let Some(model) = model.filter(|m| !m.is_null()) else {
        return;
    };
    let inst = inst.unwrap_or(&NULL);
    match (model, inst) {
        (Value::Object(m), _) => {
            for (k, v) in m {
                subset(&format!("{path}.{k}"), Some(v), inst.get(k), out);
            }
        }
        (Value::Array(m), Value::Array(i)) => {
            if m.len() != i.len() {
                out.push(path.to_owned());
                return;
            }
            for (n, mv) in m.iter().enumerate() {
                let (label, iv) = match element_key(mv) {
                    Some((key, k)) => (
                        format!("{path}[{k}]"),
                        i.iter()
                            .find(|x| x.get(key).is_some_and(|v| same(v, mv.get(key)))),
                    ),
                    None => (format!("{path}[{n}]"), i.get(n)),
                };
                match iv {
                    Some(iv) => subset(&label, Some(mv), Some(iv), out),
                    None => out.push(label),
                }
            }
        }
        (m, i) => {
            if !same(i, Some(m)) {
                out.push(path.to_owned());
            }
        }
    }
}

/// Array elements are matched by `name` (NIC and IP configurations) or `lun` (data disks).
fn element_key(v: &Value) -> Option<(&'static str, String)> {
    ["name", "lun"].into_iter().find_map(|k| {
        v.get(k).map(|x| match x {
            Value::String(s) => (k, s.clone()),
            other => (k, other.to_string()),
        })
    })
}

/// Equal scalars; resource ids compare without case, as ARM treats them.
fn same(a: &Value, b: Option<&Value>) -> bool {
    match (a, b) {
        (Value::String(x), Some(Value::String(y))) if x.starts_with('/') => {
            x.eq_ignore_ascii_case(y)
        }
        (x, Some(y)) => x == y,
        (_, None) => false,
    }
}

fn short_name(e: &Value) -> String {
    let n = e.get("name").and_then(Value::as_str).unwrap_or_default();
    n.rsplit('/').next().unwrap_or(n).to_owned()
}

/// Extensions other than the Managed Identity one, by name: added, missing or changed.
fn extensions(profile: &Value, inst: &Value, out: &mut Vec<String>) {
    let model: Vec<&Value> = profile
        .pointer("/extensionProfile/extensions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|e| !is_managed_identity_extension(e))
                .collect()
        })
        .unwrap_or_default();
    let running: Vec<&Value> = instance_extensions(inst)
        .into_iter()
        .filter(|e| !is_managed_identity_extension(e))
        .collect();
    for m in &model {
        let name = short_name(m);
        match running
            .iter()
            .find(|r| short_name(r).eq_ignore_ascii_case(&name))
        {
            None => out.push(format!("extensions[{name}] (added to the model)")),
            Some(r) => {
                let mut props = m.get("properties").cloned().unwrap_or(NULL);
                if let Some(p) = props.as_object_mut() {
                    // Never returned by GET, and not a property of the running extension.
                    p.remove("protectedSettings");
                    p.remove("protectedSettingsFromKeyVault");
                    p.remove("provisionAfterExtensions");
                    p.remove("provisioningState");
                }
                subset(
                    &format!("extensions[{name}]"),
                    Some(&props),
                    r.get("properties"),
                    out,
                );
            }
        }
    }
    for r in &running {
        let name = short_name(r);
        if !model
            .iter()
            .any(|m| short_name(m).eq_ignore_ascii_case(&name))
        {
            out.push(format!("extensions[{name}] (not in the model)"));
        }
    }
}

/// The extensions an instance runs (`resources` of a VMSS VM).
pub fn instance_extensions(inst: &Value) -> Vec<&Value> {
    inst.get("resources")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The Managed Identity extensions an instance runs.
pub fn managed_identity_extensions(inst: &Value) -> Vec<&Value> {
    instance_extensions(inst)
        .into_iter()
        .filter(|e| is_managed_identity_extension(e))
        .collect()
}

/// The instance id (`instanceId`, else the suffix of `name` after the last `_`).
pub fn instance_id(inst: &Value) -> Option<String> {
    inst.get("instanceId")
        .and_then(Value::as_str)
        .map(ToOwned::to_owned)
        .or_else(|| {
            inst.get("name")
                .and_then(Value::as_str)
                .and_then(|n| n.rsplit('_').next())
                .map(ToOwned::to_owned)
        })
}

pub fn latest_model_applied(inst: &Value) -> Option<bool> {
    inst.pointer("/properties/latestModelApplied")
        .and_then(Value::as_bool)
}

/// `protectionPolicy.protectFromScaleSetActions`: the owner asked that scale-set-wide actions
/// (upgrades included) leave this instance alone.
pub fn protected(inst: &Value) -> bool {
    inst.pointer("/properties/protectionPolicy/protectFromScaleSetActions")
        .and_then(Value::as_bool)
        == Some(true)
}

/// Whether the scale set reports application health: the Application Health extension in its
/// model, or a load-balancer health probe.
pub fn has_health_signal(vmss: &Value) -> bool {
    let profile = vmss
        .pointer("/properties/virtualMachineProfile")
        .unwrap_or(&NULL);
    let probe = profile
        .pointer("/networkProfile/healthProbe/id")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    let extension = profile
        .pointer("/extensionProfile/extensions")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|e| {
                let p = e.get("properties").unwrap_or(&NULL);
                let publisher = p.get("publisher").and_then(Value::as_str).unwrap_or("");
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                publisher.eq_ignore_ascii_case("Microsoft.ManagedServices")
                    && (ty.eq_ignore_ascii_case("ApplicationHealthLinux")
                        || ty.eq_ignore_ascii_case("ApplicationHealthWindows"))
            })
        });
    probe || extension
}

/// Where an upgraded instance stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Latest model, provisioning Succeeded, healthy (when health is reported).
    Ready,
    /// Not there yet; why.
    Waiting(String),
    /// It will not get there by waiting; why.
    Failed(String),
}

/// An instance read back (with `$expand=instanceView`) after its upgrade.
pub fn health(inst: &Value, app_health: bool) -> Health {
    let state = inst
        .pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    if state.eq_ignore_ascii_case("Failed") {
        return Health::Failed("provisioning state Failed".to_owned());
    }
    if !state.eq_ignore_ascii_case("Succeeded") {
        return Health::Waiting(format!("provisioning state {state}"));
    }
    if latest_model_applied(inst) == Some(false) {
        return Health::Waiting("not on the latest model yet".to_owned());
    }
    if app_health {
        let code = inst
            .pointer("/properties/instanceView/vmHealth/status/code")
            .and_then(Value::as_str)
            .unwrap_or("HealthState/unknown");
        if !code.eq_ignore_ascii_case("HealthState/healthy") {
            let state = code.rsplit('/').next().unwrap_or(code);
            return Health::Waiting(format!("application health {state}"));
        }
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vmss(image_version: &str, extra_ext: bool) -> Value {
        let mut exts = vec![
            json!({"name": "msi", "properties": {"publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux"}}),
        ];
        if extra_ext {
            exts.push(json!({"name": "cse", "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1", "protectedSettings": {"x": 1}}}));
        }
        json!({
            "sku": {"name": "Standard_D2s_v5", "capacity": 2},
            "properties": {"virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": image_version},
                    "osDisk": {"createOption": "FromImage", "caching": "ReadWrite", "managedDisk": {"storageAccountType": "Premium_LRS"}},
                    "dataDisks": [{"lun": 0, "diskSizeGB": 64, "createOption": "Empty"}]
                },
                "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser", "customData": "Y2xvdWQtaW5pdA=="},
                "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"primary": true, "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a"}}}]}}]},
                "extensionProfile": {"extensions": exts}
            }}
        })
    }

    fn instance(image_version: &str) -> Value {
        json!({
            "instanceId": "0",
            "sku": {"name": "Standard_D2s_v5", "tier": "Standard"},
            "properties": {
                "latestModelApplied": false,
                "storageProfile": {
                    "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": image_version, "exactVersion": "24.04.202411030"},
                    "osDisk": {"osType": "Linux", "name": "web_0_disk", "createOption": "FromImage", "caching": "ReadWrite", "managedDisk": {"storageAccountType": "Premium_LRS", "id": "/x"}},
                    "dataDisks": [{"lun": 0, "name": "d0", "diskSizeGB": 64, "createOption": "Empty"}]
                },
                "osProfile": {"computerName": "web000000", "adminUsername": "azureuser", "customData": "Y2xvdWQtaW5pdA=="},
                "networkProfile": {"networkInterfaces": [{"id": "/nic/0"}]},
                "networkProfileConfiguration": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"primary": true, "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": "/SUBSCRIPTIONS/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a"}}}]}}]}
            },
            "resources": [{"name": "msi", "properties": {"publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux", "provisioningState": "Succeeded"}}]
        })
    }

    #[test]
    fn only_the_extension_differs() {
        assert!(differences(&vmss("latest", false), &instance("latest")).is_empty());
    }

    #[test]
    fn names_each_other_difference() {
        assert_eq!(
            differences(&vmss("2.0", false), &instance("latest")),
            ["storageProfile.imageReference.version"]
        );
        let mut v = vmss("latest", false);
        v["sku"]["name"] = json!("Standard_D4s_v5");
        v["properties"]["virtualMachineProfile"]["osProfile"]["customData"] = json!("bmV3");
        v["properties"]["virtualMachineProfile"]["storageProfile"]["dataDisks"][0]["diskSizeGB"] =
            json!(128);
        assert_eq!(
            differences(&v, &instance("latest")),
            [
                "sku.name",
                "storageProfile.dataDisks[0].diskSizeGB",
                "osProfile.customData"
            ]
        );
    }

    #[test]
    fn other_extensions_count() {
        let diffs = differences(&vmss("latest", true), &instance("latest"));
        assert_eq!(diffs, ["extensions[cse] (added to the model)"]);
        let mut inst = instance("latest");
        inst["resources"].as_array_mut().unwrap().push(json!({"name": "cse", "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1"}}));
        assert!(differences(&vmss("latest", true), &inst).is_empty());
        assert_eq!(
            differences(&vmss("latest", false), &inst),
            ["extensions[cse] (not in the model)"]
        );
    }

    #[test]
    fn health_after_upgrade() {
        let mut inst = instance("latest");
        assert!(matches!(health(&inst, false), Health::Waiting(_)));
        inst["properties"]["provisioningState"] = json!("Succeeded");
        assert_eq!(
            health(&inst, false),
            Health::Waiting("not on the latest model yet".into())
        );
        inst["properties"]["latestModelApplied"] = json!(true);
        assert_eq!(health(&inst, false), Health::Ready);
        assert!(matches!(health(&inst, true), Health::Waiting(_)));
        inst["properties"]["instanceView"] =
            json!({"vmHealth": {"status": {"code": "HealthState/healthy"}}});
        assert_eq!(health(&inst, true), Health::Ready);
        inst["properties"]["provisioningState"] = json!("Failed");
        assert!(matches!(health(&inst, true), Health::Failed(_)));
    }
}

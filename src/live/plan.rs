//! What was found and what will be done about it: one [`Item`] per deployed Managed Identity
//! extension, with what a person needs to decide (states, identity, upgrade mode) and the action.

use serde::Serialize;
use serde_json::Value;

use super::check::verdict::GuestCheck;

/// The extension's publisher.
pub const PUBLISHER: &str = "Microsoft.ManagedIdentity";
/// The extension's two types.
pub const TYPES: [&str; 2] = [
    "ManagedIdentityExtensionForWindows",
    "ManagedIdentityExtensionForLinux",
];

/// Whether an extension object (VM extension, VMSS extension or model entry) is the Managed
/// Identity extension: publisher and type, in any case, whatever its name.
pub fn is_managed_identity_extension(ext: &Value) -> bool {
    let props = ext.get("properties").unwrap_or(&Value::Null);
    let publisher = props.get("publisher").and_then(Value::as_str);
    let ty = props.get("type").and_then(Value::as_str);
    match (publisher, ty) {
        (Some(p), Some(t)) => {
            p.eq_ignore_ascii_case(PUBLISHER) && TYPES.iter().any(|x| t.eq_ignore_ascii_case(x))
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A VM (including a member of a Flexible scale set).
    Vm,
    /// A scale set's model.
    Vmss,
    /// An instance of a Uniform scale set (`virtualMachineScaleSets/{vmss}/virtualMachines/{id}`).
    Instance,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vm => "vm",
            Kind::Vmss => "vmss",
            Kind::Instance => "instance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Delete,
    /// A Manual scale set's instance that runs the extension only because it is not on the
    /// scale set's (clean) model: `manualupgrade` it.
    Upgrade,
    Skip,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Upgrade => "upgrade",
            Action::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Dry run: would be deleted.
    Planned,
    Removed,
    AlreadyRemoved,
    Failed,
    Skipped,
    /// Not done: the run was halted before it started (or before its write could be sent).
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Removed => "removed",
            Outcome::AlreadyRemoved => "already-removed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// One deployed Managed Identity extension.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub subscription: String,
    pub resource_group: String,
    pub kind: Kind,
    /// The VM or scale set.
    pub resource_id: String,
    pub resource_name: String,
    pub extension_id: String,
    pub extension_name: String,
    pub publisher: String,
    pub extension_type: String,
    pub type_handler_version: Option<String>,
    /// The extension's provisioning state.
    pub provisioning_state: Option<String>,
    /// The VM's or scale set's provisioning state.
    pub resource_provisioning_state: Option<String>,
    /// VMs only: `running`, `deallocated`, `stopped`, ... (from the instance view).
    pub power_state: Option<String>,
    pub identity_type: Option<String>,
    /// Scale sets: `Manual`, `Automatic`, `Rolling`.
    pub upgrade_mode: Option<String>,
    /// Scale sets: `Uniform` or `Flexible`.
    pub orchestration_mode: Option<String>,
    /// A VM that is a member of a (Flexible) scale set: that scale set.
    pub scale_set_id: Option<String>,
    pub action: Action,
    /// Why it is skipped.
    pub reason: Option<String>,
    /// Whether the skip (or failure) needs someone to act; drives the exit code.
    pub needs_action: bool,
    /// `remove` only.
    pub outcome: Option<Outcome>,
    /// What happened, in words.
    pub detail: Option<String>,
    /// The extension as read from ARM, for the journal (sanitised: no `protectedSettings`).
    #[serde(skip)]
    pub resource: Value,
    /// The extension's `settings.port` as ARM has it (validated by the guest check before use).
    #[serde(skip)]
    pub port_setting: Option<Value>,
    /// `remove --check-guest`: the machine's (or scale set's) verdict and evidence.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestCheck>,
}

/// The segments of an ARM id: subscription, resource group, last name.
pub fn id_parts(id: &str) -> (String, String, String) {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let find = |key: &str| {
        segs.iter()
            .position(|s| s.eq_ignore_ascii_case(key))
            .and_then(|i| segs.get(i + 1))
            .map(|s| (*s).to_owned())
            .unwrap_or_default()
    };
    (
        find("subscriptions"),
        find("resourceGroups"),
        segs.last().map(|s| (*s).to_owned()).unwrap_or_default(),
    )
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// `PowerState/running` → `running`, from a VM's instance view.
pub fn power_state(instance_view: &Value) -> Option<String> {
    instance_view
        .get("statuses")?
        .as_array()?
        .iter()
        .filter_map(|s| s.get("code").and_then(Value::as_str))
        .find_map(|c| {
            c.get(..11)
                .filter(|p| p.eq_ignore_ascii_case("PowerState/"))
                .map(|_| c[11..].to_owned())
        })
}

/// Builds the item for extension `ext` of `parent` (a VM or scale set object from ARM).
pub fn item(kind: Kind, parent: &Value, ext: &Value, power: Option<String>) -> Item {
    let resource_id = parent
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (subscription, resource_group, resource_name) = id_parts(&resource_id);
    let extension_name = ext
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned())
        .unwrap_or_default();
    // Built from the parent and the name, not taken from the extension's own `id`: the DELETE
    // goes exactly to the child of the VM or scale set we examined.
    let extension_id = format!("{resource_id}/extensions/{extension_name}");
    let props = ext.get("properties").unwrap_or(&Value::Null);
    let pprops = parent.get("properties").unwrap_or(&Value::Null);
    let mut it = Item {
        subscription,
        resource_group,
        kind,
        resource_name,
        extension_id,
        extension_name,
        publisher: str_at(props, &["publisher"]).unwrap_or_default().to_owned(),
        extension_type: str_at(props, &["type"]).unwrap_or_default().to_owned(),
        type_handler_version: str_at(props, &["typeHandlerVersion"]).map(ToOwned::to_owned),
        provisioning_state: str_at(props, &["provisioningState"]).map(ToOwned::to_owned),
        resource_provisioning_state: str_at(pprops, &["provisioningState"]).map(ToOwned::to_owned),
        power_state: power,
        identity_type: str_at(parent, &["identity", "type"]).map(ToOwned::to_owned),
        upgrade_mode: str_at(pprops, &["upgradePolicy", "mode"]).map(ToOwned::to_owned),
        orchestration_mode: match kind {
            Kind::Vmss => Some(
                str_at(pprops, &["orchestrationMode"])
                    .unwrap_or("Uniform")
                    .to_owned(),
            ),
            Kind::Vm | Kind::Instance => None,
        },
        scale_set_id: str_at(pprops, &["virtualMachineScaleSet", "id"]).map(ToOwned::to_owned),
        resource_id: resource_id.clone(),
        action: Action::Delete,
        reason: None,
        needs_action: false,
        outcome: None,
        detail: None,
        resource: super::journal::extension_record(parent, &resource_id, ext),
        port_setting: props.get("settings").and_then(|s| s.get("port")).cloned(),
        guest: None,
    };
    decide(&mut it);
    it
}

/// Builds the item for extension `ext` run by instance `inst` of the Uniform scale set `vmss`.
pub fn instance_item(vmss: &Value, inst: &Value, ext: &Value, power: Option<String>) -> Item {
    let mut it = item(Kind::Instance, inst, ext, power);
    // `vmss_3` reads better than `3` in a table.
    if let Some(name) = inst.get("name").and_then(Value::as_str) {
        name.clone_into(&mut it.resource_name);
    }
    let vprops = vmss.get("properties").unwrap_or(&Value::Null);
    it.upgrade_mode = str_at(vprops, &["upgradePolicy", "mode"]).map(ToOwned::to_owned);
    it.orchestration_mode = Some(
        str_at(vprops, &["orchestrationMode"])
            .unwrap_or("Uniform")
            .to_owned(),
    );
    it.identity_type = str_at(vmss, &["identity", "type"]).map(ToOwned::to_owned);
    it.scale_set_id = vmss
        .get("id")
        .and_then(Value::as_str)
        .map(ToOwned::to_owned);
    it
}

fn is_state(s: Option<&String>, states: &[&str]) -> bool {
    s.is_some_and(|s| states.iter().any(|x| s.eq_ignore_ascii_case(x)))
}

/// Delete, or skip with a reason.
pub fn decide(it: &mut Item) {
    let what = it.kind.as_str().to_ascii_uppercase();
    let skip = |it: &mut Item, reason: String, needs_action: bool| {
        it.action = Action::Skip;
        it.reason = Some(reason);
        it.needs_action = needs_action;
    };
    if is_state(it.resource_provisioning_state.as_ref(), &["Deleting"]) {
        skip(it, format!("{what} is being deleted"), false);
    } else if let Some(p) = it
        .power_state
        .clone()
        .filter(|p| !p.eq_ignore_ascii_case("running"))
        .filter(|p| !p.eq_ignore_ascii_case("unknown"))
    {
        skip(
            it,
            format!(
                "VM not running ({p}): ARM cannot change its extensions; start it and run again"
            ),
            true,
        );
    } else if is_state(
        it.resource_provisioning_state.as_ref(),
        &["Creating", "Updating", "Migrating"],
    ) {
        skip(
            it,
            format!(
                "another operation in progress ({what} provisioning state {}); run again later",
                it.resource_provisioning_state
                    .as_deref()
                    .unwrap_or_default()
            ),
            true,
        );
    } else if is_state(it.provisioning_state.as_ref(), &["Creating", "Updating"]) {
        skip(
            it,
            format!(
                "another operation in progress (extension provisioning state {}); run again later",
                it.provisioning_state.as_deref().unwrap_or_default()
            ),
            true,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn matches_by_publisher_and_type_not_name() {
        let mi = json!({"name": "CustomScript", "properties": {"publisher": "microsoft.managedidentity", "type": "managedidentityextensionforlinux"}});
        assert!(is_managed_identity_extension(&mi));
        let liar = json!({"name": "ManagedIdentityExtensionForWindows", "properties": {"publisher": "Microsoft.Compute", "type": "CustomScriptExtension"}});
        assert!(!is_managed_identity_extension(&liar));
        let half = json!({"name": "msi", "properties": {"publisher": "Microsoft.ManagedIdentity", "type": "SomethingElse"}});
        assert!(!is_managed_identity_extension(&half));
        let other_pub = json!({"name": "msi", "properties": {"publisher": "Contoso.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux"}});
        assert!(!is_managed_identity_extension(&other_pub));
    }

    #[test]
    fn skips_stopped_vms() {
        let vm = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v", "properties": {"provisioningState": "Succeeded"}});
        let ext = json!({"name": "msi", "properties": {"publisher": PUBLISHER, "type": TYPES[1]}});
        let it = item(Kind::Vm, &vm, &ext, Some("deallocated".into()));
        assert_eq!(it.action, Action::Skip);
        assert!(it.needs_action);
        let it = item(Kind::Vm, &vm, &ext, Some("running".into()));
        assert_eq!(it.action, Action::Delete);
        assert_eq!(
            it.extension_id,
            format!("{}/extensions/msi", it.resource_id)
        );
        assert_eq!(it.resource_group, "rg");
    }

    #[test]
    fn reads_power_state() {
        let iv = json!({"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/deallocated"}]});
        assert_eq!(power_state(&iv).as_deref(), Some("deallocated"));
    }
}

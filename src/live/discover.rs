//! Finding deployed Managed Identity extensions: through ARM (list VMs and scale sets, then each
//! one's extensions), or with one Azure Resource Graph query whose hits are then confirmed with
//! ARM GETs (Resource Graph lags behind ARM).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::par::par_map;

use super::{
    auth::encode,
    client::{ApiError, ApiErrorKind, Client, Method},
    instances,
    plan::{self, Action, Item, Kind, PUBLISHER, TYPES},
    progress::Progress,
};

/// Where to look.
#[derive(Debug, Clone)]
pub struct Scope {
    pub subscriptions: Vec<String>,
    pub all_subscriptions: bool,
    pub management_groups: Vec<String>,
    pub resource_group: Option<String>,
}

/// What discovery found, and what it could not look at.
#[derive(Debug, Default)]
pub struct Discovery {
    pub items: Vec<Item>,
    pub errors: Vec<ApiError>,
    /// How many VMs and scale sets were examined (ARM mode).
    pub examined: usize,
}

pub struct Discoverer<'a> {
    pub client: &'a Client,
    pub api_version: &'a str,
    pub workers: usize,
    pub progress: &'a Progress,
}

/// An instance of a Manual scale set that runs the extension from the model: upgrade it when the
/// extension is all that differs and it is not protected, else skip it and say why.
fn classify_upgrade(it: &mut Item, vmss: &Value, inst: &Value) {
    if it.action == Action::Skip {
        // Not running, or busy: `plan::decide` said why.
        return;
    }
    it.action = Action::Upgrade;
    it.reason = Some("not on the scale set's model; only the extension differs".to_owned());
    if instances::protected(inst) {
        it.action = Action::Skip;
        it.reason = Some(
            "protectFromScaleSetActions is set: scale-set upgrades leave this instance alone; upgrade it yourself"
                .to_owned(),
        );
        it.needs_action = true;
        return;
    }
    let diffs = instances::differences(vmss, inst);
    if !diffs.is_empty() {
        it.action = Action::Skip;
        it.reason = Some(format!(
            "its model differs from the scale set's in more than the extension ({}): an upgrade would apply those too",
            diffs.join(", ")
        ));
        it.needs_action = true;
    }
}

const SUBSCRIPTIONS_API: &str = "2022-12-01";
const RESOURCE_GRAPH_API: &str = "2022-10-01";

/// Subscription ids go into URL paths: GUID-like characters only.
pub fn valid_subscription(id: &str) -> bool {
    !id.is_empty()
        && !id.contains("..")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Discoverer<'_> {
    fn api(&self) -> String {
        format!("api-version={}", encode(self.api_version))
    }

    /// Every subscription the identity can see (enabled ones).
    pub fn subscriptions(&self) -> Result<Vec<String>, ApiError> {
        let url = self
            .client
            .url(&format!("/subscriptions?api-version={SUBSCRIPTIONS_API}"));
        let subs = self.client.get_paged(&url)?;
        Ok(subs
            .iter()
            .filter(|s| {
                s.get("state").and_then(Value::as_str).is_none_or(|st| {
                    !matches!(st.to_ascii_lowercase().as_str(), "disabled" | "deleted")
                })
            })
            .filter_map(|s| s.get("subscriptionId").and_then(Value::as_str))
            .filter(|s| valid_subscription(s))
            .map(ToOwned::to_owned)
            .collect())
    }

    /// ARM discovery in `subscriptions`.
    pub fn arm(&self, subscriptions: &[String], resource_group: Option<&str>) -> Discovery {
        let mut out = Discovery::default();
        let mut parents: Vec<(Kind, Value)> = Vec::new();
        for sub in subscriptions {
            self.progress.subscriptions(1);
            let scope = match resource_group {
                Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{}", encode(rg)),
                None => format!("/subscriptions/{sub}"),
            };
            for (kind, ty) in [
                (Kind::Vm, "virtualMachines"),
                (Kind::Vmss, "virtualMachineScaleSets"),
            ] {
                let url = self.client.url(&format!(
                    "{scope}/providers/Microsoft.Compute/{ty}?{}",
                    self.api()
                ));
                match self.client.get_paged(&url) {
                    Ok(list) => parents.extend(list.into_iter().map(|v| (kind, v))),
                    Err(e) => out.errors.push(e),
                }
            }
        }
        out.examined = parents.len();
        let results = par_map(&parents, self.workers, |(kind, parent)| {
            let r = self.examine(*kind, parent);
            self.tally(*kind, r.as_ref().map_or(0, Vec::len));
            r
        });
        for r in results {
            match r {
                Ok(items) => out.items.extend(items),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    fn tally(&self, kind: Kind, found: usize) {
        match kind {
            Kind::Vm => self.progress.vm(),
            Kind::Vmss | Kind::Instance => self.progress.scale_set(),
        }
        self.progress.found(found);
    }

    /// One VM or scale set: its Managed Identity extensions.
    fn examine(&self, kind: Kind, parent: &Value) -> Result<Vec<Item>, ApiError> {
        let Some(id) = parent.get("id").and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let url = self.client.url(&format!("{id}/extensions?{}", self.api()));
        let exts = match self.client.get_paged(&url) {
            Ok(v) => v,
            // Deleted since it was listed: nothing to remove.
            Err(e) if e.status == Some(404) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let matches: Vec<&Value> = exts
            .iter()
            .filter(|e| plan::is_managed_identity_extension(e))
            .collect();
        let power = match kind {
            Kind::Vm if !matches.is_empty() => self.power_state(id, parent)?,
            _ => None,
        };
        let mut items: Vec<Item> = matches
            .into_iter()
            .map(|e| plan::item(kind, parent, e, power.clone()))
            .collect();
        if kind == Kind::Vmss {
            let names: Vec<String> = items.iter().map(|i| i.extension_name.clone()).collect();
            items.extend(self.instance_rows(parent, id, &names)?);
        }
        Ok(items)
    }

    /// The instances of a Uniform scale set that run the extension: on a Manual scale set, those
    /// that run it from the model (upgrade, or skip with why); on any, extensions added to single
    /// instances (delete). `model_names`: the Managed Identity extensions of the scale set's model.
    fn instance_rows(
        &self,
        vmss: &Value,
        id: &str,
        model_names: &[String],
    ) -> Result<Vec<Item>, ApiError> {
        let prop = |p: &str| vmss.pointer(p).and_then(Value::as_str).unwrap_or_default();
        if prop("/properties/orchestrationMode").eq_ignore_ascii_case("Flexible") {
            return Ok(Vec::new());
        }
        let manual = prop("/properties/upgradePolicy/mode").eq_ignore_ascii_case("Manual");
        let url = self.client.url(&format!(
            "{id}/virtualMachines?$expand=instanceView&{}",
            self.api()
        ));
        let list = match self.client.get_paged(&url) {
            Ok(l) => l,
            Err(e) if e.status == Some(404) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut items = Vec::new();
        for inst in &list {
            let power = inst
                .pointer("/properties/instanceView")
                .and_then(plan::power_state);
            let stale = instances::latest_model_applied(inst) == Some(false);
            for ext in instances::managed_identity_extensions(inst) {
                let mut it = plan::instance_item(vmss, inst, ext, power.clone());
                let from_model = model_names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&it.extension_name));
                if from_model || (manual && stale) {
                    if !manual {
                        // Automatic and Rolling policies bring the instances along.
                        continue;
                    }
                    classify_upgrade(&mut it, vmss, inst);
                }
                // Otherwise it was added to this instance alone: delete it there.
                items.push(it);
            }
        }
        Ok(items)
    }

    /// The VM's power state: from the object if it carries its instance view, else one GET.
    fn power_state(&self, id: &str, vm: &Value) -> Result<Option<String>, ApiError> {
        if let Some(iv) = vm.pointer("/properties/instanceView")
            && let Some(p) = plan::power_state(iv)
        {
            return Ok(Some(p));
        }
        let url = self
            .client
            .url(&format!("{id}/instanceView?{}", self.api()));
        match self.client.get_json(&url) {
            Ok(iv) => Ok(plan::power_state(&iv)),
            Err(e) if e.kind == ApiErrorKind::Auth => Err(e),
            // Unknown power state: the DELETE will tell.
            Err(_) => Ok(None),
        }
    }

    /// Resource Graph discovery, then an ARM GET of each hit.
    pub fn resource_graph(&self, scope: &Scope, subscriptions: &[String]) -> Discovery {
        let mut out = Discovery::default();
        let hits = match self.graph_query(scope, subscriptions) {
            Ok(h) => h,
            Err(e) => {
                out.errors.push(e);
                return out;
            }
        };
        // parent id (lower case) -> (kind, parent id, extension names)
        let mut by_parent: BTreeMap<String, (Kind, String, Vec<String>)> = BTreeMap::new();
        for row in &hits {
            let Some(parent) = row.get("parentId").and_then(Value::as_str) else {
                continue;
            };
            let Some(name) = row.get("name").and_then(Value::as_str) else {
                continue;
            };
            let name = name.rsplit('/').next().unwrap_or(name).to_owned();
            let kind = if row.get("kind").and_then(Value::as_str) == Some("vmss")
                || parent
                    .to_ascii_lowercase()
                    .contains("/microsoft.compute/virtualmachinescalesets/")
            {
                Kind::Vmss
            } else {
                Kind::Vm
            };
            if let Some(rg) = &scope.resource_group {
                let (_, prg, _) = plan::id_parts(parent);
                if !prg.eq_ignore_ascii_case(rg) {
                    continue;
                }
            }
            let entry = by_parent
                .entry(parent.to_ascii_lowercase())
                .or_insert_with(|| (kind, parent.to_owned(), Vec::new()));
            // A scale-set row without a name asks only for its instances to be examined.
            if !name.is_empty() && !entry.2.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                entry.2.push(name);
            }
        }
        let parents: Vec<_> = by_parent.into_values().collect();
        out.examined = parents.len();
        let results = par_map(&parents, self.workers, |(kind, id, names)| {
            let r = self.confirm(*kind, id, names);
            self.tally(*kind, r.as_ref().map_or(0, Vec::len));
            r
        });
        for r in results {
            match r {
                Ok(items) => out.items.extend(items),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    /// Re-reads a Resource Graph hit from ARM: the parent, then each extension. Hits that ARM no
    /// longer has, or that are not the Managed Identity extension, are dropped.
    fn confirm(&self, kind: Kind, id: &str, names: &[String]) -> Result<Vec<Item>, ApiError> {
        if !id.starts_with("/subscriptions/") {
            return Ok(Vec::new());
        }
        let expand = if kind == Kind::Vm {
            "&$expand=instanceView"
        } else {
            ""
        };
        let url = self.client.url(&format!("{id}?{}{expand}", self.api()));
        let Some(parent) = self.client.get_json_opt(&url)? else {
            return Ok(Vec::new());
        };
        let id = parent
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_owned();
        let mut items = Vec::new();
        let mut power = None;
        for name in names {
            let url = self
                .client
                .url(&format!("{id}/extensions/{}?{}", encode(name), self.api()));
            let Some(ext) = self.client.get_json_opt(&url)? else {
                continue;
            };
            if !plan::is_managed_identity_extension(&ext) {
                continue;
            }
            if kind == Kind::Vm && power.is_none() {
                power = Some(self.power_state(&id, &parent)?);
            }
            items.push(plan::item(kind, &parent, &ext, power.clone().flatten()));
        }
        if kind == Kind::Vmss {
            let names: Vec<String> = items.iter().map(|i| i.extension_name.clone()).collect();
            items.extend(self.instance_rows(&parent, &id, &names)?);
        }
        Ok(items)
    }

    fn graph_query(&self, scope: &Scope, subscriptions: &[String]) -> Result<Vec<Value>, ApiError> {
        let query = graph_query_text(scope.resource_group.as_deref());
        let mut rows = Vec::new();
        if scope.management_groups.is_empty() {
            for chunk in subscriptions.chunks(GRAPH_MAX_SUBSCRIPTIONS) {
                self.progress.subscriptions(chunk.len());
                let target = json!({ "subscriptions": chunk });
                rows.extend(self.graph_pages(&query, &target)?);
            }
        } else {
            let target = json!({ "managementGroups": scope.management_groups });
            rows.extend(self.graph_pages(&query, &target)?);
        }
        Ok(rows)
    }

    /// Every page of one query over one target (`subscriptions` or `managementGroups`), paced by
    /// Resource Graph's per-user quota.
    fn graph_pages(&self, query: &str, target: &Value) -> Result<Vec<Value>, ApiError> {
        let url = self.client.url(&format!(
            "/providers/Microsoft.ResourceGraph/resources?api-version={RESOURCE_GRAPH_API}"
        ));
        let path = "/providers/Microsoft.ResourceGraph/resources";
        let malformed = |message: &str| ApiError {
            kind: ApiErrorKind::Malformed,
            method: "POST",
            path: path.to_owned(),
            status: Some(200),
            code: String::new(),
            message: message.to_owned(),
        };
        let mut rows = Vec::new();
        let mut skip_token: Option<String> = None;
        loop {
            let mut options = json!({"$top": 1000, "resultFormat": "objectArray"});
            if let Some(t) = &skip_token {
                options["$skipToken"] = json!(t);
            }
            let mut body = json!({"query": query, "options": options});
            if let (Some(b), Some(t)) = (body.as_object_mut(), target.as_object()) {
                b.extend(t.clone());
            }
            let resp = self.client.send(Method::Post, &url, Some(&body))?;
            if resp.status != 200 {
                return Err(ApiError::from_response("POST", &url, &resp));
            }
            let mut page = resp
                .json()
                .ok_or_else(|| malformed("response is not JSON"))?;
            // A truncated answer would silently leave extensions out: refuse it.
            if matches!(page.get("resultTruncated"), Some(Value::Bool(true)))
                || page
                    .get("resultTruncated")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("true"))
            {
                return Err(malformed(
                    "Resource Graph truncated the result (resultTruncated): some extensions would be missed; narrow the scope (--subscription, --resource-group) or use ARM discovery",
                ));
            }
            match page.get_mut("data").map(Value::take) {
                Some(Value::Array(data)) => rows.extend(data),
                // Older table format: {"columns":[{"name":..}],"rows":[[..]]}
                Some(Value::Object(table)) => rows.extend(table_rows(&table)),
                _ => {}
            }
            skip_token = page
                .get("$skipToken")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(ToOwned::to_owned);
            if skip_token.is_none() {
                break;
            }
            // The quota is per user and window: when it is spent, wait for the window to reset
            // instead of running into 429s.
            if resp
                .header("x-ms-user-quota-remaining")
                .and_then(|v| v.trim().parse::<u64>().ok())
                == Some(0)
                && let Some(d) = resp.quota_resets_after()
            {
                std::thread::sleep(self.client.config.scaled(d));
            }
        }
        Ok(rows)
    }
}

/// Resource Graph's limit on subscriptions per query request.
pub const GRAPH_MAX_SUBSCRIPTIONS: usize = 1000;

/// The Resource Graph (KQL) query: VM extensions that are the Managed Identity extension, scale
/// sets whose model has it, and every Uniform scale set (its instances may still run it, or have
/// it added directly). `resource_group` is matched without case.
pub fn graph_query_text(resource_group: Option<&str>) -> String {
    let types = TYPES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let rg_filter = resource_group.map_or(String::new(), |rg| {
        format!(
            "| where resourceGroup =~ '{}' ",
            rg.replace('\\', "\\\\").replace('\'', "\\'")
        )
    });
    format!(
        "resources \
         | where type =~ 'microsoft.compute/virtualmachines/extensions' \
         {rg_filter}\
         | where properties.publisher =~ '{PUBLISHER}' and tostring(properties.type) in~ ({types}) \
         | extend parentId = tostring(split(id, '/extensions/')[0]), ['kind'] = 'vm' \
         | project id, name, kind, parentId, subscriptionId, resourceGroup \
         | union (resources \
           | where type =~ 'microsoft.compute/virtualmachinescalesets' \
           {rg_filter}\
           | mv-expand ext = properties.virtualMachineProfile.extensionProfile.extensions \
           | where ext.properties.publisher =~ '{PUBLISHER}' and tostring(ext.properties.type) in~ ({types}) \
           | extend parentId = id, name = tostring(ext.name), ['kind'] = 'vmss' \
           | extend id = strcat(parentId, '/extensions/', name) \
           | project id, name, kind, parentId, subscriptionId, resourceGroup) \
         | union (resources \
           | where type =~ 'microsoft.compute/virtualmachinescalesets' \
           {rg_filter}\
           | where tostring(properties.orchestrationMode) !~ 'Flexible' \
           | extend parentId = id, name = '', ['kind'] = 'vmss' \
           | project id, name, kind, parentId, subscriptionId, resourceGroup) \
         | order by id asc"
    )
}

fn table_rows(table: &serde_json::Map<String, Value>) -> Vec<Value> {
    let names: Vec<&str> = table
        .get("columns")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    table
        .get("rows")
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(Value::as_array)
                .map(|r| {
                    Value::Object(
                        names
                            .iter()
                            .zip(r)
                            .map(|(n, v)| ((*n).to_owned(), v.clone()))
                            .collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

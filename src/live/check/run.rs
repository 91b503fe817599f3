//! Running the check: which machines to ask (VMs, and the instances of Uniform scale sets), one
//! Run Command per machine, many machines at a time, and the gate that `remove --check-guest`
//! puts in front of deletions.

use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;

use super::{
    parse,
    request::{self, Params},
    script::Os,
    verdict::{self, GuestCheck, Verdict},
};
use crate::cli::live::GuestArgs;
use crate::live::{
    auth::encode,
    client::{ApiError, ApiErrorKind, Client, LroOutcome, Method},
    execute::{in_progress, not_running},
    plan::{self, Action, Item, Kind},
};
use crate::par::par_map;

pub struct Options {
    pub api_version: String,
    pub sample_seconds: u32,
    pub linux_dirs: String,
    pub windows_dirs: String,
    pub workers: usize,
    /// How long to wait for one Run Command (already scaled).
    pub timeout: Duration,
    /// Check only this many instances per scale set.
    pub sample_instances: Option<usize>,
}

/// How many times a 409 "a Run Command is already running" is retried.
const CONFLICT_RETRIES: u32 = 3;

/// One machine to ask.
#[derive(Debug, Clone)]
pub struct Target {
    /// The VM, or the scale-set instance (`.../virtualMachineScaleSets/{ss}/virtualMachines/{i}`).
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub resource_group: String,
    pub scale_set: Option<String>,
    pub instance_id: Option<String>,
    /// The extension whose use is checked.
    pub extension_id: String,
    pub os: Os,
    pub port: Result<u16, String>,
    /// Known power state (`running`, `deallocated`, ...).
    pub power: Option<String>,
}

/// A checked machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub target: Target,
    pub check: GuestCheck,
}

/// `--search-dirs` and `--windows-search-dirs`, validated, or the scripts' defaults.
pub fn dirs(g: &GuestArgs) -> crate::error::Result<(String, String)> {
    let pick = |os: Os, given: Option<&String>, flag: &str| match given {
        Some(d) => request::validate_dirs(os, d)
            .map(|()| d.clone())
            .map_err(|e| crate::error::Error::new(format!("{flag}: {e}"))),
        None => Ok(os.default_dirs().to_owned()),
    };
    Ok((
        pick(Os::Linux, g.search_dirs.as_ref(), "--search-dirs")?,
        pick(
            Os::Windows,
            g.windows_search_dirs.as_ref(),
            "--windows-search-dirs",
        )?,
    ))
}

fn api(opts: &Options) -> String {
    format!("api-version={}", encode(&opts.api_version))
}

fn target(it: &Item, id: String, name: String, instance: Option<String>) -> Target {
    Target {
        id,
        name,
        subscription: it.subscription.clone(),
        resource_group: it.resource_group.clone(),
        scale_set: instance.as_ref().map(|_| it.resource_id.clone()),
        instance_id: instance,
        extension_id: it.extension_id.clone(),
        os: Os::of_extension_type(&it.extension_type),
        port: request::port_from_setting(it.port_setting.as_ref()),
        power: it.power_state.clone(),
    }
}

fn is_flexible(it: &Item) -> bool {
    it.orchestration_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Flexible"))
}

/// The machines behind one item: the VM or the instance itself; for a Uniform scale set its
/// instances that run the extension (all of them, or the first `sample` by instance id) and how many there are.
/// A Flexible scale set's model runs on no machine: its members are VMs, checked as such.
pub fn machines_of(
    client: &Client,
    it: &Item,
    opts: &Options,
) -> Result<(Vec<Target>, usize), ApiError> {
    match it.kind {
        Kind::Vm => Ok((
            vec![target(
                it,
                it.resource_id.clone(),
                it.resource_name.clone(),
                None,
            )],
            1,
        )),
        // A Uniform instance with a row of its own (stale, or with its own extension): itself.
        Kind::Instance => {
            let id = it.resource_id.rsplit('/').next().unwrap_or_default();
            let mut t = target(
                it,
                it.resource_id.clone(),
                it.resource_name.clone(),
                Some(id.to_owned()),
            );
            t.scale_set.clone_from(&it.scale_set_id);
            Ok((vec![t], 1))
        }
        Kind::Vmss if is_flexible(it) => Ok((Vec::new(), 0)),
        Kind::Vmss => {
            let url = client.url(&format!(
                "{}/virtualMachines?{}&$expand=instanceView",
                it.resource_id,
                api(opts)
            ));
            let mut instances: Vec<(String, Option<String>)> = client
                .get_paged(&url)?
                .iter()
                .filter(|i| {
                    // Without its extension list, assume the instance follows the model.
                    i.get("resources")
                        .and_then(Value::as_array)
                        .is_none_or(|r| r.iter().any(plan::is_managed_identity_extension))
                })
                .filter_map(|i| {
                    let id = i.get("instanceId").and_then(Value::as_str)?;
                    let valid = !id.is_empty()
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    let power = i
                        .pointer("/properties/instanceView")
                        .and_then(plan::power_state);
                    valid.then(|| (id.to_owned(), power))
                })
                .collect();
            instances.sort_by_key(|(id, _)| (id.len(), id.clone()));
            let total = instances.len();
            if let Some(n) = opts.sample_instances {
                instances.truncate(n);
            }
            Ok((
                instances
                    .into_iter()
                    .map(|(id, power)| {
                        let mut t = target(
                            it,
                            format!("{}/virtualMachines/{id}", it.resource_id),
                            format!("{}_{id}", it.resource_name),
                            Some(id),
                        );
                        t.power = power;
                        t
                    })
                    .collect(),
                total,
            ))
        }
    }
}

/// Runs the script on one machine and reads its verdict.
pub fn check_one(client: &Client, t: &Target, opts: &Options) -> GuestCheck {
    let mut check = ask(client, t, opts);
    if check.evidence.port.is_none() {
        check.evidence.port = t.port.as_ref().ok().copied();
    }
    check
}

fn ask(client: &Client, t: &Target, opts: &Options) -> GuestCheck {
    let port = match &t.port {
        Ok(p) => *p,
        Err(e) => return GuestCheck::unknown(e.clone()),
    };
    if let Some(p) = t
        .power
        .as_deref()
        .filter(|p| !p.eq_ignore_ascii_case("running") && !p.eq_ignore_ascii_case("unknown"))
    {
        return GuestCheck::unknown(format!(
            "VM not running ({p}): Run Command needs a running VM with a ready agent"
        ));
    }
    let params = Params {
        port,
        sample_seconds: opts.sample_seconds,
        search_dirs: match t.os {
            Os::Linux => opts.linux_dirs.clone(),
            Os::Windows => opts.windows_dirs.clone(),
        },
    };
    let body = request::body(t.os, &params);
    // The Run Command path segment is `virtualmachines` under a scale set in the spec.
    let path = match (&t.scale_set, &t.instance_id) {
        (Some(ss), Some(i)) => format!("{ss}/virtualmachines/{i}/runCommand"),
        _ => format!("{}/runCommand", t.id),
    };
    let url = client.url(&format!("{path}?{}", api(opts)));
    let mut conflicts = 0;
    loop {
        let resp = match client.send(Method::Post, &url, Some(&body)) {
            Ok(r) => r,
            Err(e) => return GuestCheck::unknown(format!("Run Command request failed: {e}")),
        };
        match resp.status {
            200 => {
                return resp.json().map_or_else(
                    || GuestCheck::unknown("Run Command result is not JSON"),
                    |v| parse::result(&v, port),
                );
            }
            201 | 202 => {
                return match client.wait(&resp, opts.timeout) {
                    Ok(LroOutcome::Succeeded | LroOutcome::NoPollUrl) => {
                        final_result(client, &resp, port)
                    }
                    Ok(LroOutcome::Failed { code, message }) => {
                        GuestCheck::unknown(failure(&code, &message))
                    }
                    Err(e) if e.kind == ApiErrorKind::Timeout => {
                        GuestCheck::unknown("Run Command did not finish in time (--check-timeout)")
                    }
                    Err(e) => GuestCheck::unknown(format!("waiting for Run Command: {e}")),
                };
            }
            409 => {
                let (code, message) = resp.arm_error();
                if not_running(&code, &message) {
                    return GuestCheck::unknown(format!(
                        "VM not running: {}",
                        parse::one_line(&format!("{code}: {message}"), 300)
                    ));
                }
                if in_progress(&code, &message) && conflicts < CONFLICT_RETRIES {
                    conflicts += 1;
                    std::thread::sleep(client.config.scaled(client.config.backoff(conflicts + 2)));
                    continue;
                }
                return GuestCheck::unknown(format!(
                    "another Run Command or operation is in progress: {}",
                    parse::one_line(&format!("{code}: {message}"), 300)
                ));
            }
            404 => return GuestCheck::unknown("machine not found (deleted since discovery?)"),
            _ => {
                return GuestCheck::unknown(format!(
                    "Run Command refused: {}",
                    ApiError::from_response("POST", &url, &resp).summary()
                ));
            }
        }
    }
}

/// The operation succeeded: its result is at `Location` (`final-state-via: location` in the
/// spec); the operation status may also carry it as `properties.output`.
fn final_result(client: &Client, first: &crate::live::http::Response, port: u16) -> GuestCheck {
    let Some(link) = first
        .header("location")
        .or_else(|| first.header("azure-asyncoperation"))
    else {
        return GuestCheck::unknown("Run Command finished without a result link");
    };
    let url = match client.pinned(Method::Get, link) {
        Ok(u) => u,
        Err(e) => return GuestCheck::unknown(format!("Run Command result: {e}")),
    };
    match client.send(Method::Get, &url, None) {
        Ok(r) if r.status == 200 => match r.json() {
            Some(v) if v.get("value").is_some() => parse::result(&v, port),
            Some(v) => match v.pointer("/properties/output") {
                Some(out) => parse::result(out, port),
                None => GuestCheck::unknown("Run Command result has no output"),
            },
            None => GuestCheck::unknown("Run Command result is not JSON"),
        },
        Ok(r) => GuestCheck::unknown(format!(
            "Run Command result: {}",
            ApiError::from_response("GET", &url, &r).summary()
        )),
        Err(e) => GuestCheck::unknown(format!("Run Command result: {e}")),
    }
}

/// Why a Run Command operation failed, in words a person can act on.
fn failure(code: &str, message: &str) -> String {
    let text = parse::one_line(&format!("{code}: {message}"), 300);
    let m = message.to_ascii_lowercase();
    if code.to_ascii_lowercase().contains("agent") || m.contains("agent") {
        format!("VM agent not ready: {text}")
    } else if not_running(code, message) {
        format!("VM not running: {text}")
    } else {
        format!("Run Command failed: {text}")
    }
}

/// Checks every target, `opts.workers` at a time. `done` is called after each (progress).
pub fn check_all(
    client: &Client,
    targets: &[Target],
    opts: &Options,
    done: &(dyn Fn(&Target, &GuestCheck) + Sync),
) -> Vec<Machine> {
    par_map(targets, opts.workers, |t| {
        let check = check_one(client, t, opts);
        done(t, &check);
        Machine {
            target: t.clone(),
            check,
        }
    })
}

/// What `live check` examined.
#[derive(Debug, Default)]
pub struct Checked {
    pub machines: Vec<Machine>,
    pub errors: Vec<ApiError>,
    /// Per scale set: how many instances were checked of how many.
    pub notes: Vec<String>,
    /// Per item (same order as the items): the indexes of its machines, and its instance count.
    pub per_item: Vec<(Vec<usize>, usize)>,
}

/// Checks the machines behind `items` (each machine once, however many items it carries).
pub fn check_items(
    client: &Client,
    items: &[Item],
    opts: &Options,
    done: &(dyn Fn(&Target, &GuestCheck) + Sync),
) -> Checked {
    let mut out = Checked::default();
    let listed = par_map(items, opts.workers, |it| machines_of(client, it, opts));
    let mut targets: Vec<Target> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (it, r) in items.iter().zip(listed) {
        match r {
            Ok((ts, total)) => {
                if it.kind == Kind::Vmss && ts.len() < total {
                    out.notes.push(format!(
                        "{}/{}: checked a sample of {} of {total} instance(s) (--check-sample)",
                        it.resource_group,
                        it.resource_name,
                        ts.len()
                    ));
                }
                let mut idx = Vec::new();
                for t in ts {
                    let key = t.id.to_ascii_lowercase();
                    let i = *index.entry(key).or_insert_with(|| {
                        targets.push(t);
                        targets.len() - 1
                    });
                    idx.push(i);
                }
                out.per_item.push((idx, total));
            }
            Err(e) => {
                out.errors.push(e);
                out.per_item.push((Vec::new(), usize::MAX));
            }
        }
    }
    out.machines = check_all(client, &targets, opts, done);
    out
}

/// `remove --check-guest`: checks the machines behind every item that would be deleted and
/// keeps the deletion only where the verdict is `clean`; the rest are skipped with the reason
/// (a person can still remove them by running without `--check-guest`). Returns the journal
/// records of the verdicts and the errors of listing scale-set instances.
pub fn gate(
    client: &Client,
    items: &mut [Item],
    opts: &Options,
    done: &(dyn Fn(&Target, &GuestCheck) + Sync),
) -> (Vec<Value>, Vec<ApiError>) {
    let pending: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].action != Action::Skip)
        .collect();
    let subset: Vec<Item> = pending.iter().map(|&i| items[i].clone()).collect();
    let checked = check_items(client, &subset, opts, done);
    let mut records = Vec::new();
    for (k, &i) in pending.iter().enumerate() {
        let (idx, total) = &checked.per_item[k];
        let it = &mut items[i];
        let check = if *total == usize::MAX {
            GuestCheck::unknown("could not list the scale set's instances")
        } else if it.kind == Kind::Vmss && is_flexible(it) {
            GuestCheck {
                verdict: Verdict::Clean,
                evidence: verdict::Evidence {
                    reason: Some(
                        "Flexible scale set model: no machine runs the model itself; member VMs are checked as VMs"
                            .to_owned(),
                    ),
                    ..verdict::Evidence::default()
                },
            }
        } else if it.kind == Kind::Vmss {
            let per: Vec<(String, GuestCheck)> = idx
                .iter()
                .map(|&m| {
                    let mc = &checked.machines[m];
                    (
                        mc.target.instance_id.clone().unwrap_or_default(),
                        mc.check.clone(),
                    )
                })
                .collect();
            verdict::aggregate(&per, *total)
        } else {
            idx.first().map_or_else(
                || GuestCheck::unknown("no machine to check"),
                |&m| checked.machines[m].check.clone(),
            )
        };
        for &m in idx {
            let mc = &checked.machines[m];
            records.push(verdict::journal_record(
                &mc.target.id,
                &it.extension_id,
                &mc.check,
            ));
        }
        if check.verdict != Verdict::Clean {
            it.action = Action::Skip;
            it.needs_action = true;
            it.reason = Some(format!(
                "guest check: {}: {}",
                check.verdict.as_str(),
                check.summary()
            ));
        }
        it.guest = Some(check);
    }
    (records, checked.errors)
}

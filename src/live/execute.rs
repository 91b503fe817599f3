//! Carrying out the plan: DELETE each extension, wait for the operation, check that it is gone,
//! and (scale sets with a Manual upgrade policy, `--upgrade-instances`) upgrade the instances.
//! Every step is idempotent, so an interrupted run can simply be run again.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use super::{
    auth::encode,
    client::{ApiError, ApiErrorKind, Client, LroOutcome, Method},
    discover::par_map,
    interrupt::Reason,
    journal::{Intent, Journal, Sent},
    plan::{Action, Item, Kind, Outcome},
};

pub struct Options {
    pub api_version: String,
    pub operation_timeout: Duration,
    pub upgrade_instances: bool,
    pub workers: usize,
    /// Where every write is recorded before it is sent and when it completes.
    pub journal: Option<Arc<Journal>>,
}

/// How many times a 409 "another operation is in progress" is retried before giving up.
const CONFLICT_RETRIES: u32 = 3;
/// Instances per `manualupgrade` call.
const UPGRADE_BATCH: usize = 50;

/// Dry run: what would happen.
pub fn plan_only(items: &mut [Item], upgrade_instances: bool) {
    for it in items {
        match it.action {
            Action::Delete => {
                it.outcome = Some(Outcome::Planned);
                let mut d = format!("would DELETE {}", it.extension_name);
                if it.kind == Kind::Vmss {
                    d.push_str(&format!("; {}", vmss_note(it, upgrade_instances)));
                }
                it.detail = Some(d);
            }
            Action::Upgrade => {
                it.outcome = Some(Outcome::Planned);
                it.detail = Some(if upgrade_instances {
                    "already removed from the model; would run manualupgrade on the instances that still run it".to_owned()
                } else {
                    "already removed from the model; instances still run it (--upgrade-instances)"
                        .to_owned()
                });
            }
            Action::Skip => {
                it.outcome = Some(Outcome::Skipped);
                it.detail.clone_from(&it.reason);
            }
        }
    }
}

fn is_flexible(it: &Item) -> bool {
    it.orchestration_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Flexible"))
}

fn is_manual(it: &Item) -> bool {
    it.upgrade_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Manual"))
}

fn vmss_note(it: &Item, upgrade_instances: bool) -> String {
    if is_flexible(it) {
        "Flexible scale set: removed from the model; member VMs are handled as VMs".to_owned()
    } else if is_manual(it) {
        if upgrade_instances {
            "then manualupgrade of instances not on the latest model".to_owned()
        } else {
            "Manual upgrade policy: instances keep the extension until upgraded (--upgrade-instances)"
                .to_owned()
        }
    } else {
        format!(
            "instances follow the model ({} upgrade policy)",
            it.upgrade_mode.as_deref().unwrap_or("unknown")
        )
    }
}

/// Runs the plan. `done` is called after each item (progress).
pub fn execute(client: &Client, items: &mut [Item], opts: &Options, done: &(dyn Fn(&Item) + Sync)) {
    let results = par_map(items, opts.workers, |it| {
        let mut it = it.clone();
        if it.action != Action::Skip
            && let Some(reason) = client.stop().reason()
        {
            it.outcome = Some(Outcome::Interrupted);
            it.detail = Some(format!("not started: {}", reason.describe()));
            done(&it);
            return it;
        }
        match it.action {
            Action::Skip => {
                it.outcome = Some(Outcome::Skipped);
                it.detail.clone_from(&it.reason);
            }
            Action::Delete => {
                let (outcome, detail) = journaled_remove(client, &it, opts);
                it.outcome = Some(outcome);
                it.detail = Some(detail);
                if it.kind == Kind::Vmss
                    && matches!(outcome, Outcome::Removed | Outcome::AlreadyRemoved)
                {
                    upgrade(client, &mut it, opts);
                }
            }
            Action::Upgrade => {
                it.outcome = Some(Outcome::AlreadyRemoved);
                it.detail = Some("removed from the model earlier".to_owned());
                upgrade(client, &mut it, opts);
            }
        }
        done(&it);
        it
    });
    for (slot, r) in items.iter_mut().zip(results) {
        *slot = r;
    }
}

fn api(opts: &Options) -> String {
    format!("api-version={}", encode(&opts.api_version))
}

/// A 409 that says the VM is stopped or deallocated.
pub fn not_running(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code.eq_ignore_ascii_case("VMNotRunning")
        || m.contains("not running")
        || m.contains("deallocated")
        || m.contains("is stopped")
}

/// A 409 that says another operation runs on the resource: worth a retry.
pub fn in_progress(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "Conflict",
        "AnotherOperationInProgress",
        "OperationPreempted",
        "RetryableError",
        "ConcurrentRequestsNotAllowed",
    ]
    .iter()
    .any(|c| code.eq_ignore_ascii_case(c))
        || m.contains("another operation")
        || m.contains("in progress")
}

/// [`remove`], recorded in the journal: the extension as last read before the DELETE is sent,
/// then the outcome with the DELETE's status and ARM request ids.
fn journaled_remove(client: &Client, it: &Item, opts: &Options) -> (Outcome, String) {
    let mut sent = None;
    let Some(journal) = &opts.journal else {
        return remove(client, it, opts, &mut sent);
    };
    let entry = journal.intent(Intent {
        op: "delete-extension",
        method: "DELETE",
        target: &it.extension_id,
        resource: it.resource.clone(),
    });
    let entry = match entry {
        Ok(id) => id,
        Err(e) => {
            let msg = format!("cannot write the journal {}: {e}", journal.path().display());
            client.stop().halt(Reason::Journal(msg.clone()));
            return (Outcome::Interrupted, format!("not sent: {msg}"));
        }
    };
    let (outcome, detail) = remove(client, it, opts, &mut sent);
    let recorded = match (outcome, &sent) {
        (Outcome::Interrupted, None) => "not-sent",
        _ => outcome.as_str(),
    };
    if let Err(e) = journal.outcome(entry, &Sent::completion(sent.as_ref(), recorded, &detail)) {
        client.stop().halt(Reason::Journal(format!(
            "cannot write the journal {}: {e}",
            journal.path().display()
        )));
    }
    (outcome, detail)
}

/// DELETE one extension and make sure it is gone. `sent` gets the DELETE's last response.
fn remove(
    client: &Client,
    it: &Item,
    opts: &Options,
    sent: &mut Option<Sent>,
) -> (Outcome, String) {
    let url = client.url(&format!("{}?{}", it.extension_id, api(opts)));
    let deadline = Instant::now() + opts.operation_timeout;
    let mut conflicts = 0;
    loop {
        let resp = match client.send(Method::Delete, &url, None) {
            Ok(r) => r,
            Err(e) if e.kind == ApiErrorKind::Interrupted => {
                return (Outcome::Interrupted, e.to_string());
            }
            Err(e) => return (Outcome::Failed, e.to_string()),
        };
        *sent = Some(Sent::of(&resp));
        match resp.status {
            200 | 204 => return confirm_gone(client, &url, deadline, "deleted"),
            201 | 202 => {
                return match client.wait(&resp, opts.operation_timeout) {
                    Ok(LroOutcome::Succeeded | LroOutcome::NoPollUrl) => {
                        confirm_gone(client, &url, deadline, "deleted (operation succeeded)")
                    }
                    Ok(LroOutcome::Failed { code, message }) => (
                        Outcome::Failed,
                        format!("delete operation failed: {code}: {message}"),
                    ),
                    Err(e) => (Outcome::Failed, format!("waiting for the delete: {e}")),
                };
            }
            404 => {
                return (
                    Outcome::AlreadyRemoved,
                    "not found: already removed".to_owned(),
                );
            }
            409 => {
                let (code, message) = resp.arm_error();
                if not_running(&code, &message) {
                    return (
                        Outcome::Failed,
                        format!("VM not running: {code}: {message}"),
                    );
                }
                if in_progress(&code, &message) && conflicts < CONFLICT_RETRIES {
                    conflicts += 1;
                    std::thread::sleep(client.config.scaled(client.config.backoff(conflicts + 1)));
                    continue;
                }
                return (
                    Outcome::Failed,
                    format!(
                        "conflict: {}",
                        ApiError::from_response("DELETE", &url, &resp).summary()
                    ),
                );
            }
            _ => {
                return (
                    Outcome::Failed,
                    ApiError::from_response("DELETE", &url, &resp).to_string(),
                );
            }
        }
    }
}

/// After a successful DELETE: GET until 404 (an extension still `Deleting` is waited for).
fn confirm_gone(client: &Client, url: &str, deadline: Instant, what: &str) -> (Outcome, String) {
    let mut polls = 0u32;
    loop {
        match client.send(Method::Get, url, None) {
            Ok(r) if r.status == 404 => {
                return (Outcome::Removed, format!("{what}; verified gone"));
            }
            Ok(r) if r.status == 200 => {
                let state = r
                    .json()
                    .and_then(|v| {
                        v.pointer("/properties/provisioningState")
                            .and_then(Value::as_str)
                            .map(ToOwned::to_owned)
                    })
                    .unwrap_or_default();
                let deleting = state.eq_ignore_ascii_case("Deleting");
                if (!deleting && polls >= 3) || Instant::now() >= deadline {
                    return (
                        Outcome::Failed,
                        format!(
                            "ARM accepted the DELETE but the extension is still there (provisioning state {})",
                            if state.is_empty() { "unknown" } else { &state }
                        ),
                    );
                }
            }
            Ok(r) => {
                return (
                    Outcome::Removed,
                    format!(
                        "{what}; could not verify: {}",
                        ApiError::from_response("GET", url, &r).summary()
                    ),
                );
            }
            Err(e) => return (Outcome::Removed, format!("{what}; could not verify: {e}")),
        }
        polls += 1;
        std::thread::sleep(
            client
                .config
                .scaled(Duration::from_secs(u64::from(polls.min(10)))),
        );
    }
}

/// After the model lost the extension: a Manual scale set's instances keep it until upgraded.
fn upgrade(client: &Client, it: &mut Item, opts: &Options) {
    let mut detail = it.detail.take().unwrap_or_default();
    if is_flexible(it) || !is_manual(it) {
        detail.push_str(&format!("; {}", vmss_note(it, opts.upgrade_instances)));
        it.detail = Some(detail);
        return;
    }
    let url = client.url(&format!("{}/virtualMachines?{}", it.resource_id, api(opts)));
    let stale: Vec<String> = match client.get_paged(&url) {
        Ok(instances) => instances
            .iter()
            .filter(|i| {
                i.pointer("/properties/latestModelApplied")
                    .and_then(Value::as_bool)
                    == Some(false)
            })
            .filter_map(|i| {
                i.get("instanceId")
                    .and_then(Value::as_str)
                    .map(ToOwned::to_owned)
                    .or_else(|| {
                        i.get("name")
                            .and_then(Value::as_str)
                            .and_then(|n| n.rsplit('_').next())
                            .map(ToOwned::to_owned)
                    })
            })
            .collect(),
        Err(e) => {
            detail.push_str(&format!("; cannot list instances: {e}"));
            if opts.upgrade_instances {
                it.outcome = Some(Outcome::Failed);
            }
            it.detail = Some(detail);
            return;
        }
    };
    if stale.is_empty() {
        detail.push_str("; every instance runs the latest model");
    } else if !opts.upgrade_instances {
        detail.push_str(&format!(
            "; {} instance(s) keep the extension until upgraded: run again with --upgrade-instances",
            stale.len()
        ));
    } else {
        match manual_upgrade(client, &it.resource_id, &stale, opts) {
            Ok(()) => detail.push_str(&format!(
                "; upgraded {} instance(s): {}",
                stale.len(),
                stale.join(",")
            )),
            Err(e) => {
                it.outcome = Some(Outcome::Failed);
                detail.push_str(&format!(
                    "; removed from the model, but upgrading instances failed: {e}"
                ));
            }
        }
    }
    it.detail = Some(detail);
}

fn manual_upgrade(
    client: &Client,
    vmss: &str,
    ids: &[String],
    opts: &Options,
) -> Result<(), String> {
    let url = client.url(&format!("{vmss}/manualupgrade?{}", api(opts)));
    for chunk in ids.chunks(UPGRADE_BATCH) {
        let body = json!({ "instanceIds": chunk });
        let resp = client
            .send(Method::Post, &url, Some(&body))
            .map_err(|e| e.to_string())?;
        match resp.status {
            200 | 204 => {}
            201 | 202 => match client.wait(&resp, opts.operation_timeout) {
                Ok(LroOutcome::Succeeded | LroOutcome::NoPollUrl) => {}
                Ok(LroOutcome::Failed { code, message }) => {
                    return Err(format!("manualupgrade failed: {code}: {message}"));
                }
                Err(e) => return Err(e.to_string()),
            },
            _ => return Err(ApiError::from_response("POST", &url, &resp).to_string()),
        }
    }
    Ok(())
}

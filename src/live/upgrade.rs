//! A Uniform scale set's instances after its model lost the extension: `manualupgrade` in healthy
//! batches (Manual policy, `--upgrade-instances`), or following the rolling upgrade (Rolling).
//!
//! An instance is upgraded only when the extension is the only difference between its model and
//! the scale set's (checked again right before its batch), never when it is protected from
//! scale-set actions; a batch must finish and report its instances healthy before the next starts,
//! and the first failed batch stops that scale set. Each batch is a write of its own (journaled by
//! `execute::write`); once the run is halted no further batch starts.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    client::{ApiError, ApiErrorKind, Client, LroOutcome, Method},
    execute::{self, Ended, Options, Write, api, is_manual, is_rolling, vmss_note, write},
    http::Response,
    instances::{self, Health},
    plan::{Action, Item, Kind, Outcome},
};

/// One scale set's rows: its model row (first, if any) and its instances' rows. Every instance
/// left alone is in the journal too (`skipped-instance`, with the reason).
pub fn scale_set(
    client: &Client,
    items: &mut [Item],
    opts: &Options,
    done: &(dyn Fn(&Item) + Sync),
) {
    rows(client, items, opts, done);
    for it in items
        .iter()
        .filter(|i| i.kind == Kind::Instance && i.outcome == Some(Outcome::Skipped))
    {
        note(
            opts,
            "skipped-instance",
            json!({"target": it.resource_id, "extension": it.extension_name, "reason": it.detail}),
        );
    }
}

fn rows(client: &Client, items: &mut [Item], opts: &Options, done: &(dyn Fn(&Item) + Sync)) {
    let mut model_ok = true;
    let mut rolling_before: Option<Option<String>> = None;
    if let Some(model) = items.first_mut().filter(|i| i.kind == Kind::Vmss) {
        if model.action == Action::Delete && is_rolling(model) {
            rolling_before =
                Some(rolling_latest(client, &model.resource_id, opts).and_then(|v| start_time(&v)));
        }
        execute::run_one(client, model, opts);
        model_ok = matches!(
            model.outcome,
            Some(Outcome::Removed | Outcome::AlreadyRemoved)
        );
        if model_ok && model.action == Action::Delete {
            let note = match rolling_before.take() {
                Some(before) => {
                    let (outcome, note) =
                        follow_rolling(client, &model.resource_id, before.as_deref(), opts);
                    model.outcome = Some(outcome);
                    note
                }
                None => vmss_note(model, opts.upgrade_instances),
            };
            let detail = model.detail.take().unwrap_or_default();
            model.detail = Some(format!("{detail}; {note}"));
        }
        done(model);
    }
    let start = usize::from(items.first().is_some_and(|i| i.kind == Kind::Vmss));
    let rows = &mut items[start..];
    for it in rows.iter_mut().filter(|i| i.action != Action::Upgrade) {
        execute::run_one(client, it, opts);
        done(it);
    }
    let mut ups: Vec<&mut Item> = rows
        .iter_mut()
        .filter(|i| i.action == Action::Upgrade)
        .collect();
    if ups.is_empty() {
        return;
    }
    if client.stop().is_halted() {
        for it in &mut ups {
            execute::not_started(client, it);
            done(it);
        }
        return;
    }
    let why_not = if !model_ok {
        Some(
            "not upgraded: the extension could not be removed from the scale set's model"
                .to_owned(),
        )
    } else if !opts.upgrade_instances {
        Some("keeps the extension until upgraded: run again with --upgrade-instances".to_owned())
    } else if !is_manual(ups[0]) {
        Some("the scale set's upgrade policy is no longer Manual: not upgraded".to_owned())
    } else {
        None
    };
    if let Some(why) = why_not {
        for it in &mut ups {
            it.outcome = Some(Outcome::Skipped);
            it.needs_action = !model_ok;
            it.detail = Some(why.clone());
            done(it);
        }
        return;
    }
    batches(client, &mut ups, opts, done);
}

fn instance_list_url(client: &Client, vmss: &str, opts: &Options) -> String {
    client.url(&format!(
        "{vmss}/virtualMachines?$expand=instanceView&{}",
        api(opts)
    ))
}

fn instance_id_of(it: &Item) -> String {
    it.resource_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Re-reads the scale set and its instances, re-checks each row, then upgrades in batches.
fn batches(client: &Client, ups: &mut [&mut Item], opts: &Options, done: &(dyn Fn(&Item) + Sync)) {
    let vmss_id = ups[0].scale_set_id.clone().unwrap_or_default();
    let fail_all = |ups: &mut [&mut Item], why: String| {
        for it in ups.iter_mut() {
            it.outcome = Some(Outcome::Failed);
            it.needs_action = true;
            it.detail = Some(why.clone());
            done(it);
        }
    };
    let vmss = match client.get_json(&client.url(&format!("{vmss_id}?{}", api(opts)))) {
        Ok(v) => v,
        Err(e) => return fail_all(ups, format!("cannot read the scale set: {e}")),
    };
    let list = match client.get_paged(&instance_list_url(client, &vmss_id, opts)) {
        Ok(l) => l,
        Err(e) => return fail_all(ups, format!("cannot list the instances: {e}")),
    };
    let app_health = instances::has_health_signal(&vmss);
    let size = batch_size(list.len(), opts.batch_percent);
    // Fresh look: the model or the instance may have changed since discovery.
    let mut ready: Vec<usize> = Vec::new();
    for (n, it) in ups.iter_mut().enumerate() {
        let id = instance_id_of(it);
        let Some(inst) = list
            .iter()
            .find(|i| instances::instance_id(i).as_deref() == Some(id.as_str()))
        else {
            it.outcome = Some(Outcome::AlreadyRemoved);
            it.detail = Some("the instance no longer exists".to_owned());
            done(it);
            continue;
        };
        let skip = if !still_runs(std::slice::from_ref(inst), &id, &it.extension_name) {
            it.outcome = Some(Outcome::AlreadyRemoved);
            it.detail = Some("the instance no longer runs it".to_owned());
            done(it);
            continue;
        } else if instances::protected(inst) {
            Some("protectFromScaleSetActions is set: not upgraded".to_owned())
        } else {
            let diffs = instances::differences(&vmss, inst);
            (!diffs.is_empty()).then(|| {
                format!(
                    "not upgraded: its model now differs from the scale set's in more than the extension ({})",
                    diffs.join(", ")
                )
            })
        };
        if let Some(why) = skip {
            it.action = Action::Skip;
            it.reason = Some(why.clone());
            it.needs_action = true;
            it.outcome = Some(Outcome::Skipped);
            it.detail = Some(why);
            done(it);
            continue;
        }
        ready.push(n);
    }
    let total = ready.len().div_ceil(size);
    let mut failed: Option<usize> = None;
    for (b, chunk) in ready.chunks(size).enumerate() {
        if client.stop().is_halted() {
            for &n in chunk {
                execute::not_started(client, ups[n]);
                done(ups[n]);
            }
            continue;
        }
        if let Some(f) = failed {
            for &n in chunk {
                let it = &mut *ups[n];
                it.outcome = Some(Outcome::Skipped);
                it.needs_action = true;
                it.detail = Some(format!(
                    "not upgraded: batch {}/{total} failed, so this scale set was stopped",
                    f + 1
                ));
                done(it);
            }
            continue;
        }
        let ids: Vec<String> = chunk.iter().map(|&n| instance_id_of(ups[n])).collect();
        let extensions: Vec<Value> = chunk.iter().map(|&n| ups[n].resource.clone()).collect();
        let deadline = Instant::now() + opts.operation_timeout;
        let result = manual_upgrade(client, &vmss_id, &ids, &extensions, opts, deadline)
            .and_then(|()| wait_healthy(client, &vmss_id, &ids, app_health, opts, deadline));
        let verdict = match &result {
            Ok(_) => Some("healthy".to_owned()),
            // Never sent: the journal's `not-sent` outcome says it.
            Err(BatchError::Interrupted(_)) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(verdict) = verdict {
            note(
                opts,
                "upgrade-batch",
                json!({"scaleSet": vmss_id, "batch": b + 1, "of": total, "instanceIds": ids, "result": verdict}),
            );
        }
        for (&n, id) in chunk.iter().zip(&ids) {
            let it = &mut *ups[n];
            match &result {
                Ok(list) => {
                    let upgraded = format!(
                        "upgraded in batch {}/{total} ({} instance(s)), healthy",
                        b + 1,
                        ids.len()
                    );
                    if still_runs(list, id, &it.extension_name) {
                        // On the latest model and still there: it was added to the instance
                        // itself, so the upgrade could not take it away. Delete it there.
                        let (outcome, detail) = execute::remove(client, it, opts);
                        it.outcome = Some(outcome);
                        it.needs_action = outcome == Outcome::Failed;
                        it.detail = Some(format!(
                            "{upgraded}; the extension stayed (added to the instance itself): {detail}"
                        ));
                    } else {
                        it.outcome = Some(Outcome::Removed);
                        it.detail = Some(format!("{upgraded}; extension gone"));
                    }
                }
                Err(BatchError::Interrupted(why)) => {
                    it.outcome = Some(Outcome::Interrupted);
                    it.detail = Some(why.clone());
                }
                Err(why) => {
                    it.outcome = Some(Outcome::Failed);
                    it.needs_action = true;
                    it.detail = Some(format!("batch {}/{total}: {}", b + 1, why.for_instance(id)));
                }
            }
            done(it);
        }
        if matches!(result, Err(BatchError::All(_) | BatchError::Instances(_))) {
            failed = Some(b);
        }
    }
}

/// Instances per batch: `percent` of the scale set's instances, at least one.
pub fn batch_size(instances: usize, percent: u8) -> usize {
    (instances * usize::from(percent.clamp(1, 100)))
        .div_ceil(100)
        .max(1)
}

/// Why a batch failed: for the whole batch, or per instance; or it was not sent (halted run).
#[derive(Debug)]
enum BatchError {
    All(String),
    Instances(Vec<(String, String)>),
    Interrupted(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::All(s) | BatchError::Interrupted(s) => f.write_str(s),
            BatchError::Instances(v) => {
                let each: Vec<String> = v.iter().map(|(id, why)| format!("{id}: {why}")).collect();
                f.write_str(&each.join("; "))
            }
        }
    }
}

/// The `manualupgrade` request's own result, as the journal records it (health comes after,
/// in an `upgrade-batch` record).
impl Ended for Result<(), BatchError> {
    fn ended(&self) -> (&str, &str) {
        match self {
            Ok(()) => ("upgraded", ""),
            Err(BatchError::Interrupted(s)) => ("interrupted", s),
            Err(BatchError::All(s)) => ("failed", s),
            Err(BatchError::Instances(_)) => ("failed", "instances did not become healthy"),
        }
    }
}

/// A journal record beside the writes (why an instance was left alone, how a batch ended).
/// Losing one is not worth stopping the run for: the writes themselves are journaled.
fn note(opts: &Options, kind: &str, data: Value) {
    if let Some(j) = &opts.journal
        && let Err(e) = j.record(kind, data)
    {
        crate::note!(
            "imds-migrate: warning: cannot write the journal {}: {e}",
            j.path().display()
        );
    }
}

impl BatchError {
    fn for_instance(&self, id: &str) -> String {
        match self {
            BatchError::All(s) | BatchError::Interrupted(s) => s.clone(),
            BatchError::Instances(v) => v.iter().find(|(i, _)| i == id).map_or_else(
                || "another instance of the batch did not become healthy".to_owned(),
                |(_, why)| why.clone(),
            ),
        }
    }
}

/// One batch's `manualupgrade`, until its operation ends. The journal's intent names the
/// instances and the extension each of them runs (`extensions`, as discovered).
fn manual_upgrade(
    client: &Client,
    vmss: &str,
    ids: &[String],
    extensions: &[Value],
    opts: &Options,
    deadline: Instant,
) -> Result<(), BatchError> {
    let target = format!("{vmss}/manualupgrade");
    let url = client.url(&format!("{target}?{}", api(opts)));
    let body = json!({ "instanceIds": ids });
    let w = Write {
        method: Method::Post,
        url: &url,
        body: Some(&body),
        deadline,
        op: "manualupgrade",
        target: &target,
        resource: json!({"scaleSet": vmss, "instanceIds": ids, "extensions": extensions}),
    };
    write(client, opts, w, |resp| match resp {
        Ok(resp) => upgraded(client, &resp, &url, deadline),
        Err(e) if e.kind == ApiErrorKind::Interrupted => {
            Err(BatchError::Interrupted(e.to_string()))
        }
        Err(e) => Err(BatchError::All(e.to_string())),
    })
}

/// What the answer to a `manualupgrade` means, once its operation ended.
fn upgraded(
    client: &Client,
    resp: &Response,
    url: &str,
    deadline: Instant,
) -> Result<(), BatchError> {
    match resp.status {
        200 | 204 => Ok(()),
        201 | 202 => match client.wait(resp, remaining(deadline)) {
            Ok(LroOutcome::Succeeded | LroOutcome::NoPollUrl) => Ok(()),
            Ok(LroOutcome::Failed { code, message }) => Err(BatchError::All(format!(
                "manualupgrade failed: {code}: {message}"
            ))),
            Err(e) => Err(BatchError::All(format!("waiting for manualupgrade: {e}"))),
        },
        _ => Err(BatchError::All(
            ApiError::from_response("POST", url, resp).to_string(),
        )),
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Whether instance `id` in `list` still runs the extension `name`.
fn still_runs(list: &[Value], id: &str, name: &str) -> bool {
    list.iter()
        .filter(|i| instances::instance_id(i).as_deref() == Some(id))
        .flat_map(instances::managed_identity_extensions)
        .any(|e| {
            e.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.rsplit('/').next().unwrap_or(n).eq_ignore_ascii_case(name))
        })
}

/// Polls the instances until every one of `ids` is healthy (see [`instances::health`]); the
/// last listing comes back.
fn wait_healthy(
    client: &Client,
    vmss: &str,
    ids: &[String],
    app_health: bool,
    opts: &Options,
    deadline: Instant,
) -> Result<Vec<Value>, BatchError> {
    let url = instance_list_url(client, vmss, opts);
    let mut polls = 0u32;
    loop {
        let list = client
            .get_paged(&url)
            .map_err(|e| BatchError::All(format!("cannot read the instances back: {e}")))?;
        let mut waiting = Vec::new();
        let mut failed = Vec::new();
        for id in ids {
            let state = list
                .iter()
                .find(|i| instances::instance_id(i).as_deref() == Some(id.as_str()))
                .map_or_else(
                    || Health::Failed("the instance disappeared".to_owned()),
                    |i| instances::health(i, app_health),
                );
            match state {
                Health::Ready => {}
                Health::Waiting(w) => waiting.push((id.clone(), w)),
                Health::Failed(f) => failed.push((id.clone(), format!("upgraded but {f}"))),
            }
        }
        if !failed.is_empty() {
            return Err(BatchError::Instances(failed));
        }
        if waiting.is_empty() {
            return Ok(list);
        }
        polls += 1;
        let pause = client
            .config
            .scaled(Duration::from_secs(u64::from(polls.min(10))));
        if Instant::now() + pause >= deadline {
            return Err(BatchError::Instances(
                waiting
                    .into_iter()
                    .map(|(id, w)| {
                        (
                            id,
                            format!(
                                "not healthy after {} s: {w}",
                                opts.operation_timeout.as_secs()
                            ),
                        )
                    })
                    .collect(),
            ));
        }
        std::thread::sleep(pause);
    }
}

/// `rollingUpgrades/latest`, `None` when there is none (404) or it cannot be read.
fn rolling_latest(client: &Client, vmss: &str, opts: &Options) -> Option<Value> {
    let url = client.url(&format!("{vmss}/rollingUpgrades/latest?{}", api(opts)));
    client.get_json_opt(&url).ok().flatten()
}

fn start_time(v: &Value) -> Option<String> {
    v.pointer("/properties/runningStatus/startTime")
        .and_then(Value::as_str)
        .map(ToOwned::to_owned)
}

/// After the model of a Rolling scale set changed: waits for the rolling upgrade that started
/// after `before` (the start time of the latest one before the change) to end.
fn follow_rolling(
    client: &Client,
    vmss: &str,
    before: Option<&str>,
    opts: &Options,
) -> (Outcome, String) {
    let deadline = Instant::now() + opts.operation_timeout;
    let mut polls = 0u32;
    loop {
        let latest = rolling_latest(client, vmss, opts);
        let fresh = latest
            .as_ref()
            .filter(|v| start_time(v).as_deref() != before || before.is_none());
        if let Some(v) = fresh {
            let code = v
                .pointer("/properties/runningStatus/code")
                .and_then(Value::as_str)
                .unwrap_or("RollingForward");
            let count = |k: &str| {
                v.pointer(&format!("/properties/progress/{k}"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let progress = format!(
                "{} succeeded, {} failed, {} in progress, {} pending",
                count("successfulInstanceCount"),
                count("failedInstanceCount"),
                count("inProgressInstanceCount"),
                count("pendingInstanceCount")
            );
            match code.to_ascii_lowercase().as_str() {
                "completed" => {
                    return (
                        Outcome::Removed,
                        format!("rolling upgrade completed ({progress})"),
                    );
                }
                "faulted" | "cancelled" | "canceled" => {
                    let err = v
                        .pointer("/properties/error/message")
                        .and_then(Value::as_str)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    return (
                        Outcome::Failed,
                        format!(
                            "removed from the model, but the rolling upgrade ended {code} ({progress}){err}"
                        ),
                    );
                }
                _ => {}
            }
        }
        // No rolling upgrade of ours yet: perhaps none is needed (no instance, or all already
        // on the new model).
        if fresh.is_none()
            && polls.is_multiple_of(3)
            && let Ok(list) =
                client.get_paged(&client.url(&format!("{vmss}/virtualMachines?{}", api(opts))))
            && list.iter().all(|i| {
                instances::latest_model_applied(i) == Some(true)
                    && instances::managed_identity_extensions(i).is_empty()
            })
        {
            return (
                Outcome::Removed,
                "no rolling upgrade needed: every instance runs the new model".to_owned(),
            );
        }
        // Following is only reading: an interrupted run stops it, the rolling upgrade goes on.
        if let Some(reason) = client.stop().reason() {
            return (
                Outcome::Removed,
                format!(
                    "removed from the model; {}: stopped following the rolling upgrade, which {} (instances may still run the extension until it ends)",
                    reason.describe(),
                    if fresh.is_some() {
                        "is still running"
                    } else {
                        "had not started"
                    }
                ),
            );
        }
        polls += 1;
        let pause = client
            .config
            .scaled(Duration::from_secs(u64::from(polls.min(10))));
        if Instant::now() + pause >= deadline {
            return (
                Outcome::Failed,
                format!(
                    "removed from the model, but the rolling upgrade {} after {} s: instances may still run the extension",
                    if fresh.is_some() {
                        "was still running"
                    } else {
                        "had not started"
                    },
                    opts.operation_timeout.as_secs()
                ),
            );
        }
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::batch_size;

    #[test]
    fn batches_are_a_share_of_the_scale_set() {
        assert_eq!(batch_size(10, 20), 2);
        assert_eq!(batch_size(3, 20), 1);
        assert_eq!(batch_size(11, 20), 3);
        assert_eq!(batch_size(0, 20), 1);
        assert_eq!(batch_size(5, 100), 5);
    }
}

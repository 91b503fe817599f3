//! Carrying out the plan: DELETE each extension, wait for the operation, check that it is gone;
//! a scale set's instances are then brought along by `upgrade`. Every write request goes through
//! [`write`], which journals it and starts none once the run is halted. Every step is
//! idempotent, so an interrupted run can simply be run again.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::par::par_map;

use super::{
    auth::encode,
    client::{ApiError, ApiErrorKind, Client, LroOutcome, Method},
    http::Response,
    interrupt::Reason,
    journal::{Intent, Journal, Sent},
    plan::{Action, Item, Kind, Outcome},
    upgrade,
};

pub struct Options {
    pub api_version: String,
    pub operation_timeout: Duration,
    pub upgrade_instances: bool,
    pub workers: usize,
    /// `manualupgrade` batch, in percent of a scale set's instances.
    pub batch_percent: u8,
    /// Where every write is recorded before it is sent and when it completes.
    pub journal: Option<Arc<Journal>>,
}

/// Dry run: what would happen.
pub fn plan_only(items: &mut [Item], upgrade_instances: bool, batch_percent: u8) {
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
                    format!(
                        "would run manualupgrade (batches of {batch_percent}% of the scale set, each healthy before the next)"
                    )
                } else {
                    "keeps the extension until upgraded: run again with --upgrade-instances"
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

pub(super) fn is_flexible(it: &Item) -> bool {
    it.orchestration_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Flexible"))
}

pub(super) fn is_manual(it: &Item) -> bool {
    it.upgrade_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Manual"))
}

pub(super) fn vmss_note(it: &Item, upgrade_instances: bool) -> String {
    if is_flexible(it) {
        "Flexible scale set: removed from the model; member VMs are handled as VMs".to_owned()
    } else if is_manual(it) {
        if upgrade_instances {
            "then manualupgrade of the instances listed as `upgrade`, in healthy batches".to_owned()
        } else {
            "Manual upgrade policy: instances keep the extension until upgraded (--upgrade-instances)"
                .to_owned()
        }
    } else if is_rolling(it) {
        "Rolling upgrade policy: then follows the rolling upgrade".to_owned()
    } else {
        format!(
            "instances follow the model ({} upgrade policy)",
            it.upgrade_mode.as_deref().unwrap_or("unknown")
        )
    }
}

pub(super) fn is_rolling(it: &Item) -> bool {
    it.upgrade_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Rolling"))
}

/// Runs the plan. `done` is called after each item (progress).
///
/// A scale set's model row and its instances' rows are one job, in order (model first, then the
/// instances); every other row is a job of its own. Jobs run `opts.workers` at a time.
pub fn execute(client: &Client, items: &mut [Item], opts: &Options, done: &(dyn Fn(&Item) + Sync)) {
    let mut jobs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (n, it) in items.iter().enumerate() {
        let key = match it.kind {
            Kind::Vmss => it.resource_id.to_ascii_lowercase(),
            Kind::Instance => it
                .scale_set_id
                .as_deref()
                .unwrap_or(&it.resource_id)
                .to_ascii_lowercase(),
            Kind::Vm => format!("{}\u{0}{n}", it.resource_id.to_ascii_lowercase()),
        };
        jobs.entry(key).or_default().push(n);
    }
    let jobs: Vec<Vec<usize>> = jobs.into_values().collect();
    let snapshot: &[Item] = items;
    let results = par_map(&jobs, opts.workers, |job| {
        let mut mine: Vec<Item> = job.iter().map(|&n| snapshot[n].clone()).collect();
        // The model row sorts first: `/virtualMachineScaleSets/x` < `/virtualMachineScaleSets/x/...`.
        mine.sort_by_key(|i| i.kind != Kind::Vmss);
        if mine.iter().any(|i| i.kind != Kind::Vm) {
            upgrade::scale_set(client, &mut mine, opts, done);
        } else {
            for it in &mut mine {
                run_one(client, it, opts);
                done(it);
            }
        }
        mine
    });
    for (job, done_items) in jobs.iter().zip(results) {
        for it in done_items {
            if let Some(&n) = job.iter().find(|&&n| {
                items[n].extension_id.eq_ignore_ascii_case(&it.extension_id)
                    && items[n].kind == it.kind
            }) {
                items[n] = it;
            }
        }
    }
}

/// A VM row, or a scale-set row that is not an upgrade: skip or delete.
pub(super) fn run_one(client: &Client, it: &mut Item, opts: &Options) {
    match it.action {
        Action::Skip => {
            it.outcome = Some(Outcome::Skipped);
            it.detail.clone_from(&it.reason);
        }
        Action::Delete => {
            if !not_started(client, it) {
                let (outcome, detail) = remove(client, it, opts);
                it.outcome = Some(outcome);
                it.detail = Some(detail);
            }
        }
        Action::Upgrade => {}
    }
}

/// Once the run is halted, a row that would change something is not started: marks it so.
pub(super) fn not_started(client: &Client, it: &mut Item) -> bool {
    let Some(reason) = client.stop().reason() else {
        return false;
    };
    it.outcome = Some(Outcome::Interrupted);
    it.detail = Some(format!("not started: {}", reason.describe()));
    true
}

/// One write request: what [`write`] sends and what the journal records of it.
pub(super) struct Write<'a> {
    pub method: Method,
    pub url: &'a str,
    pub body: Option<&'a Value>,
    /// Until when a 409 "another operation in progress" is waited out.
    pub deadline: Instant,
    /// `delete-extension`, `manualupgrade`, ...
    pub op: &'a str,
    /// The ARM path it changes (no query), as the journal names it.
    pub target: &'a str,
    /// What it changes, as last read from ARM.
    pub resource: Value,
}

/// How a write ended, in the journal's words: outcome and detail.
pub(super) trait Ended {
    fn ended(&self) -> (&str, &str);
}

impl Ended for (Outcome, String) {
    fn ended(&self) -> (&str, &str) {
        (self.0.as_str(), &self.1)
    }
}

/// Every write request of live mode goes through here (the one place to record them).
///
/// The intent is in the journal (on disk) before the request is sent; `finish` turns the answer
/// (or the error) into the write's result (waiting for its operation as needed), which the journal
/// then records with the request's status and ARM request ids. Once the run is halted nothing is
/// sent: `finish` gets an [`ApiErrorKind::Interrupted`] error. A 409 that says another operation
/// is in progress on the resource is waited out, with backoff (or the `Retry-After` ARM sends),
/// until the deadline; any other answer goes to `finish` as it is.
pub(super) fn write<R: Ended>(
    client: &Client,
    opts: &Options,
    mut w: Write<'_>,
    finish: impl FnOnce(Result<Response, ApiError>) -> R,
) -> R {
    let resource = std::mem::take(&mut w.resource);
    // Halted already: not journaled, and `send` refuses it.
    let journal = opts
        .journal
        .as_deref()
        .filter(|_| !client.stop().is_halted());
    let entry = journal.and_then(|j| {
        let intent = Intent {
            op: w.op,
            method: w.method.as_str(),
            target: w.target,
            resource,
        };
        match j.intent(intent) {
            Ok(id) => Some((j, id)),
            Err(e) => {
                client.stop().halt(Reason::Journal(format!(
                    "cannot write the journal {}: {e}",
                    j.path().display()
                )));
                None
            }
        }
    });
    let mut sent = None;
    let result = send_waiting(client, &w, &mut sent);
    let not_sent =
        sent.is_none() && matches!(&result, Err(e) if e.kind == ApiErrorKind::Interrupted);
    let done = finish(result);
    if let Some((j, id)) = entry {
        let (outcome, detail) = done.ended();
        let outcome = if not_sent { "not-sent" } else { outcome };
        if let Err(e) = j.outcome(id, &Sent::completion(sent.as_ref(), outcome, detail)) {
            client.stop().halt(Reason::Journal(format!(
                "cannot write the journal {}: {e}",
                j.path().display()
            )));
        }
    }
    done
}

/// Sends `w`, waiting out "another operation in progress"; `sent` gets the last answer.
fn send_waiting(
    client: &Client,
    w: &Write<'_>,
    sent: &mut Option<Sent>,
) -> Result<Response, ApiError> {
    let mut conflicts = 0u32;
    loop {
        let resp = client.send(w.method, w.url, w.body)?;
        *sent = Some(Sent::of(&resp));
        if resp.status != 409 {
            return Ok(resp);
        }
        let (code, message) = resp.arm_error();
        if not_running(&code, &message) || !in_progress(&code, &message) {
            return Ok(resp);
        }
        conflicts += 1;
        let wait = resp.retry_after().map_or_else(
            || {
                client
                    .config
                    .scaled(client.config.backoff(conflicts.min(6)))
            },
            |d| client.config.scaled(d),
        );
        if Instant::now() + wait >= w.deadline {
            return Ok(resp);
        }
        if client.config.verbose {
            crate::note!(
                "imds-migrate: {} {}: another operation is in progress; retrying in {} ms",
                w.method.as_str(),
                super::http::path_of(w.url),
                wait.as_millis()
            );
        }
        // In slices: a signal must not wait for the end of a long backoff.
        let until = Instant::now() + wait;
        while !client.stop().is_halted() && Instant::now() < until {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
        }
    }
}

pub(super) fn api(opts: &Options) -> String {
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

/// DELETE one extension and make sure it is gone; the journal records the extension as last
/// read before the DELETE is sent, then the outcome.
pub(super) fn remove(client: &Client, it: &Item, opts: &Options) -> (Outcome, String) {
    let url = client.url(&format!("{}?{}", it.extension_id, api(opts)));
    let deadline = Instant::now() + opts.operation_timeout;
    let w = Write {
        method: Method::Delete,
        url: &url,
        body: None,
        deadline,
        op: "delete-extension",
        target: &it.extension_id,
        resource: it.resource.clone(),
    };
    write(client, opts, w, |resp| match resp {
        Ok(resp) => deleted(client, &resp, &url, deadline, opts),
        Err(e) if e.kind == ApiErrorKind::Interrupted => (Outcome::Interrupted, e.to_string()),
        Err(e) => (Outcome::Failed, e.to_string()),
    })
}

/// What the answer to a DELETE means (after its operation, if it started one).
fn deleted(
    client: &Client,
    resp: &Response,
    url: &str,
    deadline: Instant,
    opts: &Options,
) -> (Outcome, String) {
    match resp.status {
        200 | 204 => confirm_gone(client, url, deadline, "deleted"),
        201 | 202 => match client.wait(resp, opts.operation_timeout) {
            Ok(LroOutcome::Succeeded | LroOutcome::NoPollUrl) => {
                confirm_gone(client, url, deadline, "deleted (operation succeeded)")
            }
            Ok(LroOutcome::Failed { code, message }) => (
                Outcome::Failed,
                format!("delete operation failed: {code}: {message}"),
            ),
            Err(e) => (Outcome::Failed, format!("waiting for the delete: {e}")),
        },
        404 => (
            Outcome::AlreadyRemoved,
            "not found: already removed".to_owned(),
        ),
        409 => {
            let (code, message) = resp.arm_error();
            if not_running(&code, &message) {
                (
                    Outcome::Failed,
                    format!("VM not running: {code}: {message}"),
                )
            } else if in_progress(&code, &message) {
                (
                    Outcome::Failed,
                    format!(
                        "another operation was still in progress after {} s: {}",
                        opts.operation_timeout.as_secs(),
                        ApiError::from_response("DELETE", url, resp).summary()
                    ),
                )
            } else {
                (
                    Outcome::Failed,
                    format!(
                        "conflict: {}",
                        ApiError::from_response("DELETE", url, resp).summary()
                    ),
                )
            }
        }
        _ => (
            Outcome::Failed,
            ApiError::from_response("DELETE", url, resp).to_string(),
        ),
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

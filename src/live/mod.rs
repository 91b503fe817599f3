//! Live mode: list and remove deployed Managed Identity extensions through Azure Resource Manager.
//!
//! `discover` finds them (`instances` judges scale-set instances, `progress` shows how far it got),
//! `plan` decides (delete, upgrade, or skip with a reason), `execute` deletes and `upgrade` brings
//! scale-set instances along, `output` renders; `client` (over `http`) is the only HTTP code and
//! `auth` the only credential code. `journal` records every write durably; `interrupt` stops a
//! run part-way.
//! `check` asks the machines themselves, through Run Command, whether anything uses the extension.

pub mod assertion;
pub mod auth;
pub mod check;
pub mod client;
pub mod discover;
pub mod execute;
pub mod http;
pub mod instances;
pub mod interrupt;
pub mod journal;
pub mod output;
pub mod plan;
pub mod progress;
pub mod upgrade;

use std::{
    io::{self, IsTerminal, Write},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::{
    cli::live::{Cloud, LiveArgs, LiveCommand, LiveCommon},
    error::{Error, Result},
};
use client::{ApiErrorKind, Client, ClientConfig};
use discover::{Discoverer, Scope};
use plan::{Action, Outcome};

/// ARM endpoint, login endpoint and token audience of a cloud.
pub fn cloud_endpoints(cloud: Cloud) -> (&'static str, &'static str, &'static str) {
    match cloud {
        Cloud::Public => (
            "https://management.azure.com",
            "https://login.microsoftonline.com",
            "https://management.azure.com/",
        ),
        Cloud::China => (
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/",
        ),
        Cloud::Usgov => (
            "https://management.usgovcloudapi.net",
            "https://login.microsoftonline.us",
            "https://management.usgovcloudapi.net/",
        ),
    }
}

pub fn run(args: &LiveArgs, color: bool, verbose: bool) -> Result<i32> {
    let (common, remove, check) = match &args.command {
        LiveCommand::List(a) => (&a.common, None, None),
        LiveCommand::Remove(a) => (&a.common, Some(a), None),
        LiveCommand::Check(a) => (&a.common, None, Some(a)),
        LiveCommand::Journal(a) => {
            let contents = journal::read(&a.file)?;
            for w in &contents.warnings {
                crate::note!("imds-migrate: warning: {w}");
            }
            write_stdout(&journal::render(&contents, a.format))?;
            return Ok(i32::from(journal::needs_attention(&contents)));
        }
    };
    if let Some(os) = check.and_then(|c| c.show_script) {
        write_stdout(check::script::for_cli(os))?;
        return Ok(0);
    }
    let guest = match (check, remove) {
        (Some(c), _) => Some(&c.guest),
        (None, Some(r)) if r.check_guest => Some(&r.guest),
        _ => None,
    };
    let guest_dirs = guest.map(check::run::dirs).transpose()?;
    let yes = remove.is_some_and(|r| r.yes);
    let (arm_default, login, audience) = cloud_endpoints(common.cloud);
    let arm = common.arm_endpoint.as_deref().unwrap_or(arm_default);
    http::check_endpoint(arm).map_err(|e| Error::new(format!("--arm-endpoint: {e}")))?;
    let audience = common.arm_audience.as_deref().unwrap_or(audience);
    for s in &common.subscriptions {
        if !discover::valid_subscription(s) {
            return Err(Error::new(format!("`{s}` is not a subscription id")));
        }
    }
    if !(common.time_scale.is_finite() && common.time_scale >= 0.0) {
        return Err(Error::new("--time-scale must be a non-negative number"));
    }
    let token = Arc::new(auth::resolve(common.auth, login, audience, verbose)?);
    let config = ClientConfig {
        time_scale: common.time_scale,
        max_attempts: common.max_attempts.max(1),
        verbose,
        read_only: !yes,
        ..ClientConfig::default()
    };
    let client = Client::new(arm, token, config).map_err(Error::new)?;
    // Only a run that may write keeps a journal and handles signals; a dry run has nothing to
    // record, and Ctrl-C may end it at once.
    let journal = match remove.filter(|r| r.yes) {
        Some(r) => {
            let path = r
                .journal
                .clone()
                .unwrap_or_else(|| journal::default_name().into());
            let j = Arc::new(journal::Journal::create(
                &path,
                serde_json::json!({"command": "remove", "arm": arm}),
            )?);
            crate::note!("imds-migrate: journal: {}", path.display());
            let stop = client.stop();
            stop.attach_journal(Arc::clone(&j));
            interrupt::watch_signals(Arc::clone(stop)).map_err(Error::new)?;
            Some(j)
        }
        None => None,
    };
    let progress = progress::Progress::new(io::stderr().is_terminal());
    let discoverer = Discoverer {
        client: &client,
        api_version: &common.api_version,
        workers: common.concurrency as usize,
        progress: &progress,
    };
    let discovery = discover_all(&discoverer, common);
    progress.finish();
    let mut discovery = discovery?;
    if let Some(e) = discovery
        .errors
        .iter()
        .find(|e| e.kind == ApiErrorKind::Auth)
    {
        return Err(Error::new(format!("authentication failed: {e}")));
    }
    if let Some(e) = discovery
        .errors
        .iter()
        .find(|e| e.kind == ApiErrorKind::Unreachable)
    {
        return Err(Error::new(e.message.clone()));
    }
    for e in &discovery.errors {
        crate::note!("imds-migrate: error: {e}");
    }
    discovery.items.sort_by_cached_key(|i| {
        (
            i.subscription.to_ascii_lowercase(),
            i.resource_id.to_ascii_lowercase(),
            i.extension_name.to_ascii_lowercase(),
        )
    });
    let mut items = discovery.items;
    if let (Some(g), Some((linux_dirs, windows_dirs))) = (guest, guest_dirs) {
        let opts = check::run::Options {
            api_version: common.api_version.clone(),
            sample_seconds: g.sample_seconds,
            linux_dirs,
            windows_dirs,
            workers: g.check_concurrency as usize,
            timeout: client.config.scaled(Duration::from_secs(g.check_timeout)),
            sample_instances: g.check_sample.map(|n| n as usize),
        };
        let progress = check::output::progress();
        if check.is_some() {
            let checked = check::run::check_items(&client, &items, &opts, &*progress);
            let mut errors = discovery.errors;
            errors.extend(checked.errors);
            let mut summary = check::output::Summary::of(&checked.machines, errors.len());
            summary.requests = client.stats.requests.load(Ordering::Relaxed);
            summary.writes = client.stats.writes.load(Ordering::Relaxed);
            summary.throttled = client.stats.throttled.load(Ordering::Relaxed);
            let report = check::output::Report {
                machines: &checked.machines,
                errors: &errors,
                notes: &checked.notes,
                summary,
            };
            write_stdout(&check::output::render(common.format, &report, color))?;
            if verbose {
                crate::note!(
                    "imds-migrate: {} request(s), {} write(s), {} throttled (429)",
                    report.summary.requests,
                    report.summary.writes,
                    report.summary.throttled
                );
            }
            let all_clean = checked
                .machines
                .iter()
                .all(|m| m.check.verdict == check::verdict::Verdict::Clean);
            return Ok(i32::from(!errors.is_empty() || !all_clean));
        }
        let (records, errors) = check::run::gate(&client, &mut items, &opts, &*progress);
        discovery.errors.extend(errors);
        // Part of a removal: the journal keeps each machine's verdict beside the writes.
        if let Some(j) = &journal {
            for r in records {
                if let Err(e) = j.record(check::verdict::JOURNAL_KIND, r) {
                    crate::note!(
                        "imds-migrate: error: cannot write journal {}: {e}",
                        j.path().display()
                    );
                }
            }
        }
    }
    let command = if remove.is_some() { "remove" } else { "list" };
    if let Some(r) = remove {
        if yes {
            let opts = execute::Options {
                api_version: common.api_version.clone(),
                operation_timeout: client
                    .config
                    .scaled(Duration::from_secs(r.operation_timeout)),
                upgrade_instances: r.upgrade_instances,
                workers: common.concurrency as usize,
                batch_percent: r.upgrade_batch_percent,
                journal: journal.clone(),
            };
            client.stop().begin_writes();
            run_with_progress(&client, &mut items, &opts);
        } else {
            execute::plan_only(&mut items, r.upgrade_instances, r.upgrade_batch_percent);
        }
    }
    let mut summary = output::Summary::of(&items, discovery.errors.len());
    summary.requests = client.stats.requests.load(Ordering::Relaxed);
    summary.writes = client.stats.writes.load(Ordering::Relaxed);
    summary.throttled = client.stats.throttled.load(Ordering::Relaxed);
    let report = output::Report {
        command,
        dry_run: remove.is_some() && !yes,
        items: &items,
        errors: &discovery.errors,
        summary,
    };
    write_stdout(&output::render(common.format, &report, color))?;
    let halted = client.stop().reason().cloned();
    if let Some(j) = &journal {
        let summary = serde_json::to_value(&report.summary).unwrap_or_default();
        if let Err(e) = j.finish(halted.is_some(), summary) {
            crate::note!(
                "imds-migrate: error: cannot write journal {}: {e}",
                j.path().display()
            );
        }
    }
    if verbose {
        crate::note!(
            "imds-migrate: {} request(s), {} write(s), {} throttled (429)",
            report.summary.requests,
            report.summary.writes,
            report.summary.throttled
        );
    }
    match halted {
        Some(interrupt::Reason::Signal(_)) => {
            let left = items
                .iter()
                .filter(|i| i.outcome == Some(Outcome::Interrupted))
                .count();
            crate::note!(
                "imds-migrate: interrupted: {left} change(s) not made; run the same command again to finish{}",
                journal
                    .as_ref()
                    .map(|j| format!(" (journal: {})", j.path().display()))
                    .unwrap_or_default()
            );
            Ok(interrupt::EXIT_INTERRUPTED)
        }
        Some(reason) => Err(Error::new(format!(
            "{}; run again once this is fixed: it finishes the job",
            reason.describe()
        ))),
        None => Ok(exit_code(command, &items, !discovery.errors.is_empty())),
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(Error::new(format!("cannot write to standard output: {e}")));
    }
    Ok(())
}

/// 0: everything planned went through (or, for `list`, everything could be examined);
/// 1: a removal failed, an item was skipped for a reason that needs action, or something could
/// not be examined.
pub fn exit_code(command: &str, items: &[plan::Item], discovery_errors: bool) -> i32 {
    if discovery_errors {
        return 1;
    }
    if command == "list" {
        return 0;
    }
    let bad = items.iter().any(|i| {
        i.outcome == Some(Outcome::Failed) || (i.action == Action::Skip && i.needs_action)
    });
    i32::from(bad)
}

fn discover_all(d: &Discoverer<'_>, common: &LiveCommon) -> Result<discover::Discovery> {
    let scope = Scope {
        subscriptions: common.subscriptions.clone(),
        all_subscriptions: common.all_subscriptions,
        management_groups: common.management_group.clone(),
        resource_group: common.resource_group.clone(),
    };
    let subscriptions = if scope.all_subscriptions {
        let subs = d.subscriptions().map_err(|e| {
            if e.kind == ApiErrorKind::Auth {
                Error::new(format!("authentication failed: {e}"))
            } else if e.kind == ApiErrorKind::Unreachable {
                Error::new(e.message.clone())
            } else {
                Error::new(format!("cannot list subscriptions: {e}"))
            }
        })?;
        if subs.is_empty() {
            return Err(Error::new("the identity can see no enabled subscription"));
        }
        subs
    } else {
        scope.subscriptions.clone()
    };
    if common.resource_graph || !scope.management_groups.is_empty() {
        Ok(d.resource_graph(&scope, &subscriptions))
    } else {
        Ok(d.arm(&subscriptions, scope.resource_group.as_deref()))
    }
}

fn run_with_progress(client: &Client, items: &mut [plan::Item], opts: &execute::Options) {
    let total = items.len();
    if total == 0 {
        return;
    }
    let count = AtomicUsize::new(0);
    if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        ) {
            bar.set_style(style);
        }
        execute::execute(client, items, opts, &|it| {
            bar.inc(1);
            bar.set_message(format!(
                "{} {}",
                it.outcome.map_or("-", Outcome::as_str),
                it.resource_name
            ));
        });
        bar.finish_and_clear();
    } else {
        execute::execute(client, items, opts, &|it| {
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            crate::note!(
                "imds-migrate: [{n}/{total}] {} {}",
                it.outcome.map_or("-", Outcome::as_str),
                it.extension_id
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds() {
        assert_eq!(
            cloud_endpoints(Cloud::Public).0,
            "https://management.azure.com"
        );
        assert_eq!(
            cloud_endpoints(Cloud::China).1,
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(
            cloud_endpoints(Cloud::Usgov).2,
            "https://management.usgovcloudapi.net/"
        );
    }
}

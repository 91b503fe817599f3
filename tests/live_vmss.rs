//! Live mode and scale-set instances (scoped upgrades, healthy batches, rolling upgrades,
//! per-instance extensions), waiting (409s, HTTP-date `Retry-After`), unreachable endpoints and
//! Resource Graph limits, against the ARM emulator.

#[path = "support/arm_emulator.rs"]
mod arm_emulator;
#[path = "support/live_cli.rs"]
mod live_cli;

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use arm_emulator::{Emulator, Ext, ext, mi};
use live_cli::{Live, Output as Run, SUB, emulator, of_kind, scratch_journal, show_journal};
use serde_json::{Value, json};

fn uniform(emu: &Emulator, name: &str, mode: &str, instances: usize, exts: Vec<Ext>) -> String {
    emu.add_vmss(SUB, "rg", name, mode, "Uniform", instances, exts)
}

/// A Manual scale set whose model has the extension and a custom script.
fn manual(emu: &Emulator, name: &str, instances: usize) -> String {
    let cse = ext("cse", "Microsoft.Azure.Extensions", "CustomScript");
    uniform(emu, name, "Manual", instances, vec![mi("msi"), cse])
}

fn reason(run: &Run, resource: &str) -> String {
    let row = run.row(resource);
    row["reason"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn only_instances_whose_sole_difference_is_the_extension_are_upgraded() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 5);
    emu.set_instance_model(
        &ss,
        "1",
        "/storageProfile/imageReference/version",
        json!("22.04.1"),
    );
    emu.set_instance_model(&ss, "2", "/osProfile/customData", json!("b2xkLWRhdGE="));
    emu.set_instance_model(&ss, "3", "/sku/name", json!("Standard_D2s_v5"));
    emu.protect_instance(&ss, "4");
    let run = Live::remove_all(&emu)
        .args(&["--upgrade-instances", "--upgrade-batch-percent", "100"])
        .run();
    assert_eq!(run.code, 1, "skipped instances need someone: {}", run.all());
    assert_eq!(emu.upgrade_batches(), [["0"]]);
    assert_eq!(run.row("web_0")["outcome"], "removed");
    assert!(emu.instance_extensions(&ss, "0") == ["cse"]);
    for (id, field) in [
        ("1", "storageProfile.imageReference.version"),
        ("2", "osProfile.customData"),
        ("3", "sku.name"),
        ("4", "protectFromScaleSetActions"),
    ] {
        let name = format!("web_{id}");
        let row = run.row(&name);
        assert_eq!(row["action"], "skip", "{row}");
        assert_eq!(row["outcome"], "skipped", "{row}");
        assert!(reason(&run, &name).contains(field), "{row}");
        assert!(emu.instance_extensions(&ss, id).contains(&"msi".to_owned()));
    }
    // The other extension of the model is compared too, and is not a difference here.
    assert!(!reason(&run, "web_1").contains("cse"));
}

#[test]
fn a_pending_model_change_blocks_every_upgrade() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 3);
    emu.change_model(
        &ss,
        "/storageProfile/imageReference/version",
        json!("24.10.0"),
    );
    let run = Live::remove_all(&emu).args(&["--upgrade-instances"]).run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(emu.upgrade_batches().is_empty(), "{:?}", emu.writes());
    // The model itself loses the extension; no instance gets the image change.
    assert_eq!(emu.extensions(&ss), ["cse"]);
    for n in 0..3 {
        let r = reason(&run, &format!("web_{n}"));
        assert!(r.contains("storageProfile.imageReference.version"), "{r}");
    }
}

#[test]
fn stale_instances_show_in_list_dry_run_and_resource_graph() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 2);
    emu.set_instance_model(&ss, "1", "/osProfile/adminUsername", json!("olduser"));
    // An earlier run cleaned the model without upgrading the instances.
    let first = Live::remove_all(&emu).run();
    assert!(emu.extensions(&ss) == ["cse"], "{}", first.all());
    for args in [
        vec!["list", "--subscription", SUB, "--format", "json"],
        vec![
            "list",
            "--subscription",
            SUB,
            "--format",
            "json",
            "--resource-graph",
        ],
        vec!["remove", "--subscription", SUB, "--format", "json"],
        vec![
            "remove",
            "--subscription",
            SUB,
            "--format",
            "json",
            "--upgrade-instances",
        ],
    ] {
        let run = Live::new(&emu).args(&args).run();
        let rows = run.rows();
        assert_eq!(rows.len(), 2, "{args:?}: {}", run.all());
        let up = run.row("web_0");
        assert_eq!(up["kind"], "instance");
        assert_eq!(up["action"], "upgrade", "{args:?}: {up}");
        assert_eq!(up["scale_set_id"], ss.as_str());
        assert_eq!(
            up["extension_id"],
            format!("{ss}/virtualMachines/0/extensions/msi")
        );
        let skip = run.row("web_1");
        assert_eq!(skip["action"], "skip");
        assert!(reason(&run, "web_1").contains("osProfile.adminUsername"));
    }
    let table = Live::new(&emu).args(&["list", "--subscription", SUB]).run();
    assert!(table.stdout.contains("rg/web_0"), "{}", table.stdout);
    assert!(emu.writes().iter().all(|w| w.method == "DELETE"));
    // Then with --upgrade-instances, only the clean one is upgraded.
    let run = Live::remove_all(&emu).args(&["--upgrade-instances"]).run();
    assert_eq!(emu.upgrade_batches(), [["0"]], "{}", run.all());
    assert_eq!(emu.instances_latest(&ss), [true, false]);
}

#[test]
fn extensions_added_to_single_instances_are_found_and_removed() {
    let emu = emulator(|_| {});
    let ss = uniform(&emu, "auto", "Automatic", 3, vec![]);
    emu.add_instance_ext(&ss, "1", mi("msi-own"));
    emu.add_instance_ext(
        &ss,
        "2",
        ext(
            "msi-lookalike",
            "Contoso.ManagedIdentity",
            "ManagedIdentityExtensionForLinux",
        ),
    );
    let list = Live::list(&emu).run();
    assert_eq!(list.rows().len(), 1, "{}", list.all());
    assert_eq!(list.row("auto_1")["action"], "delete");
    let graph = Live::list(&emu).args(&["--resource-graph"]).run();
    assert_eq!(graph.rows().len(), 1, "{}", graph.all());
    let run = Live::remove_all(&emu).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.row("auto_1")["outcome"], "removed");
    let deletes: Vec<String> = emu
        .writes()
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert_eq!(
        deletes,
        [format!("DELETE {ss}/virtualMachines/1/extensions/msi-own")]
    );
    assert!(emu.instance_extensions(&ss, "1").is_empty());
    assert_eq!(emu.instance_extensions(&ss, "2"), ["msi-lookalike"]);
}

#[test]
fn batches_wait_for_health_before_the_next() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 10);
    emu.set_health(&ss, "healthy", "healthy");
    let run = Live::remove_all(&emu).args(&["--upgrade-instances"]).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let batches = emu.upgrade_batches();
    assert_eq!(batches.len(), 5, "20% of 10: {batches:?}");
    assert!(batches.iter().all(|b| b.len() == 2));
    // Between two batches, the instances were read back (with their instance view).
    let log = emu.log();
    let posts: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, l)| l.method == "POST" && l.path.ends_with("/manualupgrade"))
        .map(|(n, _)| n)
        .collect();
    for pair in posts.windows(2) {
        assert!(
            log[pair[0]..pair[1]].iter().any(|l| l.method == "GET"
                && l.path.ends_with("/virtualMachines")
                && l.query.contains("instanceView")),
            "no health check between batches"
        );
    }
    assert_eq!(emu.instances_latest(&ss), [true; 10]);
}

#[test]
fn an_unhealthy_batch_stops_the_scale_set() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 10);
    emu.set_health(&ss, "healthy", "unhealthy");
    let run = Live::remove_all(&emu)
        .args(&["--upgrade-instances", "--operation-timeout", "200"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(emu.upgrade_batches(), [["0", "1"]]);
    let failed = run.row("web_0");
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("application health unhealthy"),
        "{failed}"
    );
    let later = run.row("web_9");
    assert_eq!(later["outcome"], "skipped");
    assert!(
        later["detail"]
            .as_str()
            .unwrap()
            .contains("batch 1/5 failed")
    );
    assert_eq!(emu.instances_latest(&ss)[2..], [false; 8]);

    // A batch whose instances end in provisioning state Failed stops it too.
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 4);
    emu.set_upgraded_provisioning(&ss, "Failed");
    let run = Live::remove_all(&emu)
        .args(&["--upgrade-instances", "--upgrade-batch-percent", "50"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(emu.upgrade_batches(), [["0", "1"]]);
    assert!(
        run.row("web_1")["detail"]
            .as_str()
            .unwrap()
            .contains("provisioning state Failed")
    );
}

#[test]
fn rolling_scale_sets_follow_the_rolling_upgrade() {
    let emu = emulator(|_| {});
    let ok = uniform(&emu, "roll-ok", "Rolling", 2, vec![mi("msi")]);
    let bad = uniform(&emu, "roll-bad", "Rolling", 2, vec![mi("msi")]);
    emu.set_previous_rolling_upgrade(&ok);
    emu.set_previous_rolling_upgrade(&bad);
    emu.set_rolling_outcome(&bad, "Faulted");
    let run = Live::remove_all(&emu).run();
    assert_eq!(run.code, 1, "{}", run.all());
    let row = run.row("roll-ok");
    assert_eq!(row["outcome"], "removed", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("rolling upgrade completed")
    );
    assert_eq!(emu.instances_latest(&ok), [true, true]);
    let row = run.row("roll-bad");
    assert_eq!(row["outcome"], "failed", "{row}");
    assert!(row["detail"].as_str().unwrap().contains("Faulted"), "{row}");
    let status_reads = emu
        .log()
        .iter()
        .filter(|l| l.path.ends_with("/rollingUpgrades/latest"))
        .count();
    assert!(status_reads >= 4, "{status_reads}");
    assert!(emu.writes().iter().all(|w| w.method == "DELETE"));
}

#[test]
fn another_operation_in_progress_is_waited_out() {
    let emu = emulator(|_| {});
    let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.busy_for("/virtualmachines/vm1/", 1.5);
    let started = Instant::now();
    let run = Live::remove_all(&emu).scale("0.05").run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(emu.extensions(&vm).is_empty());
    let conflicts = emu.count("DELETE", Some(409));
    assert!((1..20).contains(&conflicts), "{conflicts} 409s");

    // Longer than --operation-timeout: reported, not retried for ever.
    let emu = emulator(|_| {});
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.busy_for("/virtualmachines/vm1/", 600.0);
    let run = Live::remove_all(&emu)
        .args(&["--operation-timeout", "20"])
        .scale("0.05")
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    let detail = run.row("vm1")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("still in progress"), "{detail}");
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let emu = emulator(|_| {});
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.inject_dated(
        "GET",
        "/providers/microsoft.compute/virtualmachines",
        &[(429, 2)],
    );
    let started = Instant::now();
    let run = Live::list(&emu).scale("1").run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.rows().len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "came back after {:?}",
        started.elapsed()
    );
}

#[test]
fn an_unreachable_endpoint_fails_fast_with_exit_2() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let run = Live::endpoint(
        &format!("http://127.0.0.1:{port}"),
        "unreachable-token-1234",
    )
    .args(&["list", "--subscription", SUB])
    .run();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("cannot reach ARM"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = Live::endpoint(
        "https://arm.does-not-resolve.invalid",
        "unreachable-token-1234",
    )
    .args(&["remove", "--all-subscriptions"])
    .run();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("cannot reach ARM"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn resource_graph_takes_at_most_1000_subscriptions_per_request() {
    let emu = emulator(|c| c.page_size = 5000);
    for n in 0..1500 {
        emu.add_subscription(&format!("00000000-0000-0000-0000-{n:012}"));
    }
    emu.add_vm(
        "00000000-0000-0000-0000-000000001400",
        "rg",
        "vm1",
        vec![mi("msi")],
    );
    let run = Live::new(&emu)
        .args(&[
            "list",
            "--all-subscriptions",
            "--resource-graph",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.rows().len(), 1);
    let sizes: Vec<usize> = emu
        .log()
        .iter()
        .filter(|l| l.path.to_ascii_lowercase().contains("resourcegraph"))
        .map(|l| {
            let body: Value = serde_json::from_str(&l.body).unwrap();
            body["subscriptions"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [1000, 500]);
}

#[test]
fn resource_graph_quota_is_honoured_and_truncation_reported() {
    let emu = emulator(|c| c.graph_page_size = 1);
    for n in 0..3 {
        emu.add_vm(SUB, "rg", &format!("vm{n}"), vec![mi("msi")]);
    }
    emu.set_graph_quota(1, Duration::from_secs(1));
    let run = Live::list(&emu)
        .args(&["--resource-graph"])
        .scale("1")
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.rows().len(), 3);
    assert_eq!(emu.throttled(), 0, "waited for the quota window instead");

    let emu = emulator(|_| {});
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.set_graph_truncated();
    let run = Live::list(&emu).args(&["--resource-graph"]).run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("resultTruncated"), "{}", run.stdout);
}

#[test]
fn no_progress_output_when_stderr_is_not_a_terminal() {
    let emu = emulator(|_| {});
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let run = Live::new(&emu).args(&["list", "--subscription", SUB]).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn an_extension_an_upgrade_cannot_take_away_is_deleted_on_the_instance() {
    let emu = emulator(|_| {});
    let ss = uniform(
        &emu,
        "web",
        "Manual",
        2,
        vec![ext("cse", "Microsoft.Azure.Extensions", "CustomScript")],
    );
    // Every instance is off the latest model, with no difference that matters.
    emu.change_model(&ss, "/osProfile/adminUsername", json!("azureuser"));
    emu.add_instance_ext(&ss, "1", mi("msi-own"));
    let run = Live::remove_all(&emu).args(&["--upgrade-instances"]).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(emu.upgrade_batches(), [["1"]]);
    let row = run.row("web_1");
    assert_eq!(row["outcome"], "removed", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("added to the instance itself")
    );
    assert!(
        emu.writes()
            .iter()
            .any(|w| w.method == "DELETE"
                && w.path.ends_with("/virtualMachines/1/extensions/msi-own"))
    );
    assert_eq!(emu.instance_extensions(&ss, "1"), ["cse"]);
}

#[test]
fn a_rolling_scale_set_without_instances_needs_no_rolling_upgrade() {
    let emu = emulator(|_| {});
    let ss = uniform(&emu, "empty", "Rolling", 0, vec![mi("msi")]);
    let run = Live::remove_all(&emu).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(emu.extensions(&ss).is_empty());
    let row = run.row("empty");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("no rolling upgrade needed"),
        "{row}"
    );
}

#[test]
fn every_write_is_journaled_before_it_arrives_each_upgrade_batch_too() {
    let emu = emulator(|_| {});
    let ss = manual(&emu, "web", 6);
    emu.add_instance_ext(&ss, "0", mi("msi-own"));
    emu.protect_instance(&ss, "5");
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let (_dir, path) = scratch_journal();
    emu.watch_journal(&path);
    let run = Live::remove_all(&emu)
        .args(&["--upgrade-instances", "--upgrade-batch-percent", "40"])
        .args(&["--journal", path.to_str().unwrap()])
        .run();
    assert_eq!(
        run.code,
        1,
        "the protected instance needs someone: {}",
        run.all()
    );
    let batches = emu.upgrade_batches();
    assert_eq!(
        batches.len(),
        2,
        "6 instances, 40%: 3 + 2 (one protected): {batches:?}"
    );
    // As each write arrived, the journal already named it (a batch: with its instances).
    let seen = emu.journal_seen();
    let arrived = |m: &str| seen.iter().filter(|(w, _)| w.starts_with(m)).count();
    assert_eq!(arrived("POST "), 2, "{seen:?}");
    assert_eq!(
        arrived("DELETE "),
        3,
        "VM, model, instance 0's own: {seen:?}"
    );
    assert!(seen.iter().all(|(_, journaled)| *journaled), "{seen:?}");

    let lines = live_cli::journal_lines(&path);
    let upgrades: Vec<&Value> = of_kind(&lines, "intent")
        .into_iter()
        .filter(|l| l["op"] == "manualupgrade")
        .collect();
    assert_eq!(upgrades.len(), 2);
    for (intent, ids) in upgrades.iter().zip(&batches) {
        assert_eq!(intent["method"], "POST");
        assert_eq!(intent["target"], format!("{ss}/manualupgrade"));
        assert_eq!(intent["resource"]["instanceIds"], json!(ids));
        // The extension each instance of the batch runs, as discovered.
        let names: Vec<&str> = intent["resource"]["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), ids.len(), "{intent}");
        assert!(names.iter().all(|n| *n == "msi"), "{intent}");
        let outcome = of_kind(&lines, "outcome")
            .into_iter()
            .find(|o| o["id"] == intent["id"])
            .unwrap_or_else(|| panic!("no outcome for {intent}"));
        assert_eq!(outcome["outcome"], "upgraded", "{outcome}");
        assert!(outcome["status"].as_u64().is_some(), "{outcome}");
    }
    let verdicts = of_kind(&lines, "upgrade-batch");
    assert_eq!(verdicts.len(), 2);
    assert!(
        verdicts.iter().all(|v| v["result"] == "healthy"),
        "{verdicts:?}"
    );
    // The instance left alone is there too, with the reason.
    let skipped = of_kind(&lines, "skipped-instance");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0]["target"]
            .as_str()
            .unwrap()
            .ends_with("/virtualMachines/5")
    );
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("protectFromScaleSetActions"),
        "{}",
        skipped[0]
    );
    // `live journal` reads it: every write done, nothing in doubt.
    let shown = show_journal(&path, &[]);
    assert_eq!(shown.code, 0, "{}", shown.all());
    assert!(shown.stdout.contains("2 upgraded"), "{}", shown.stdout);
}

#[test]
fn sigint_during_a_batched_upgrade_sends_no_further_batch() {
    let emu = emulator(|c| c.polls_before_done = 4);
    let ss = manual(&emu, "web", 6);
    let (dir, path) = scratch_journal();
    let live = Live::remove_all(&emu)
        .args(&["--upgrade-instances", "--upgrade-batch-percent", "34"])
        .args(&["--journal", path.to_str().unwrap()])
        .scale("0.2");
    let child = live_cli::spawn(live.command(dir.path()));
    assert!(
        live_cli::wait_until(Duration::from_secs(60), || !emu
            .upgrade_batches()
            .is_empty()),
        "no manualupgrade reached the emulator"
    );
    live_cli::signal(&child, "INT");
    let out = live_cli::finish(child, Duration::from_secs(60));
    assert_eq!(out.code, 130, "{}", out.all());
    let batches = emu.upgrade_batches();
    assert_eq!(
        batches.len(),
        1,
        "a batch was sent after the signal: {batches:?}"
    );
    // The batch in flight finished and was read back; the other instances were not started.
    for n in 0..6 {
        let row = out.row(&format!("web_{n}"));
        let expected = if batches[0].contains(&n.to_string()) {
            "removed"
        } else {
            "interrupted"
        };
        assert_eq!(row["outcome"], expected, "{row}");
    }
    assert!(
        emu.instance_extensions(&ss, "5")
            .contains(&"msi".to_owned())
    );
    let lines = live_cli::journal_lines(&path);
    let intents: Vec<&Value> = of_kind(&lines, "intent")
        .into_iter()
        .filter(|l| l["op"] == "manualupgrade")
        .collect();
    assert_eq!(intents.len(), 1);
    let outcomes = of_kind(&lines, "outcome");
    assert!(
        outcomes
            .iter()
            .any(|o| o["id"] == intents[0]["id"] && o["outcome"] == "upgraded"),
        "{outcomes:?}"
    );
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["interrupted"], true);
}

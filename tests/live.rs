//! Live mode against the in-process ARM emulator: the built binary, real HTTP on 127.0.0.1.

#[path = "support/arm_emulator.rs"]
mod arm_emulator;
#[path = "support/live_cli.rs"]
mod live_cli;

use std::process::Command;

use arm_emulator::{
    Bucket, Config, DeleteStyle, Emulator, MI_LINUX, MI_PUBLISHER, MI_WINDOWS, ext, mi,
};
use live_cli::Output as Run;
use serde_json::Value;

use live_cli::SUB;
const SUB2: &str = "99999999-2222-3333-4444-555555555555";

fn base_command(envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
    // `remove --yes` writes its journal in the current directory.
    cmd.current_dir(env!("CARGO_TARGET_TMPDIR"));
    for v in live_cli::CLEARED_ENV {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// `imds-migrate live <args> --arm-endpoint <emulator>` with the emulator's token.
fn live(emu: &Emulator, args: &[&str]) -> Run {
    live_env(emu, args, &[("AZURE_ACCESS_TOKEN", &emu.config.token)])
}

fn live_env(emu: &Emulator, args: &[&str], envs: &[(&str, &str)]) -> Run {
    live_scaled(emu, args, envs, "0.001")
}

fn live_scaled(emu: &Emulator, args: &[&str], envs: &[(&str, &str)], scale: &str) -> Run {
    let mut cmd = base_command(envs);
    cmd.arg("live")
        .args(args)
        .args(["--arm-endpoint", &emu.url, "--time-scale", scale]);
    live_cli::run(cmd)
}

fn names(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run.json()["extensions"]
        .as_array()
        .expect("extensions array")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["resource_name"].as_str().unwrap(),
                e["extension_name"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn outcome_of(run: &Run, resource: &str) -> String {
    run.json()["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource_name"] == resource)
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// A small estate: MI extensions under several names, look-alikes that must stay.
fn estate(emu: &Emulator) -> (String, String, String) {
    let web = emu.add_vm(
        SUB,
        "rg-web",
        "web1",
        vec![
            mi("msi"),
            // The name lies: it is a Custom Script extension.
            ext(
                "ManagedIdentityExtensionForWindows",
                "Microsoft.Compute",
                "CustomScriptExtension",
            ),
            ext(
                "MonitoringAgent",
                "Microsoft.EnterpriseCloud.Monitoring",
                "MicrosoftMonitoringAgent",
            ),
        ],
    );
    let api = emu.add_vm(
        SUB,
        "rg-web",
        "api1",
        vec![ext(
            "WADExtensionSetup",
            "MICROSOFT.MANAGEDIDENTITY",
            "managedidentityextensionforwindows",
        )],
    );
    emu.add_vm(
        SUB,
        "rg-web",
        "clean1",
        vec![
            ext("msi", "Microsoft.ManagedIdentity", "SomethingElse"),
            ext(
                "ManagedIdentityExtensionForLinux",
                "Contoso.ManagedIdentity",
                MI_LINUX,
            ),
        ],
    );
    emu.add_vm(SUB, "rg-data", "db1", vec![]);
    let ss = emu.add_vmss(
        SUB,
        "rg-data",
        "ss1",
        "Automatic",
        "Uniform",
        2,
        vec![
            mi("MSI-Linux"),
            ext(
                "health",
                "Microsoft.ManagedServices",
                "ApplicationHealthLinux",
            ),
        ],
    );
    (web, api, ss)
}

#[test]
fn list_finds_exactly_the_managed_identity_extensions_whatever_their_name() {
    let emu = Emulator::start(Config::default());
    estate(&emu);
    let run = live(&emu, &["list", "--subscription", SUB, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        names(&run),
        ["api1:WADExtensionSetup", "ss1:MSI-Linux", "web1:msi"]
    );
    let doc = run.json();
    let web = doc["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource_name"] == "web1")
        .unwrap();
    assert_eq!(web["power_state"], "running");
    assert_eq!(web["identity_type"], "SystemAssigned");
    assert_eq!(web["action"], "delete");
    assert_eq!(web["extension_type"], MI_LINUX);
    let ss = doc["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource_name"] == "ss1")
        .unwrap();
    assert_eq!(ss["upgrade_mode"], "Automatic");
    assert_eq!(ss["kind"], "vmss");
    assert!(emu.writes().is_empty());
    // Pages were followed (page size 2, 4 VMs).
    assert!(emu.log().iter().any(|l| l.query.contains("skiptoken")));
}

#[test]
fn table_and_csv_formats() {
    let emu = Emulator::start(Config::default());
    estate(&emu);
    let run = live(&emu, &["list", "--subscription", SUB]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.starts_with("KIND"), "{}", run.stdout);
    assert!(run.stdout.contains("rg-web/web1"));
    assert!(run.stdout.contains("3 Managed Identity extension(s) found"));
    let run = live(&emu, &["list", "--subscription", SUB, "--format", "csv"]);
    assert_eq!(run.code, 0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("subscription,resource_group,kind,"));
    assert_eq!(lines.len(), 4);
}

#[test]
fn dry_run_sends_no_write() {
    let emu = Emulator::start(Config::default());
    let (web, _, ss) = estate(&emu);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--upgrade-instances"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("Dry run"), "{}", run.stdout);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    assert!(emu.extensions(&web).contains(&"msi".to_owned()));
    assert!(emu.extensions(&ss).contains(&"MSI-Linux".to_owned()));
    let run = live(&emu, &["remove", "--subscription", SUB, "--format", "json"]);
    assert_eq!(run.json()["dry_run"], true);
    assert_eq!(outcome_of(&run, "web1"), "planned");
    assert!(emu.writes().is_empty());
}

#[test]
fn remove_deletes_only_managed_identity_extensions() {
    let emu = Emulator::start(Config::default());
    let (web, api, ss) = estate(&emu);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    for r in ["web1", "api1", "ss1"] {
        assert_eq!(outcome_of(&run, r), "removed", "{r}: {}", run.stdout);
    }
    assert_eq!(
        emu.extensions(&web),
        ["ManagedIdentityExtensionForWindows", "MonitoringAgent"]
    );
    assert!(emu.extensions(&api).is_empty());
    assert_eq!(emu.extensions(&ss), ["health"]);
    let clean = arm_emulator::vm_id(SUB, "rg-web", "clean1");
    assert_eq!(emu.extensions(&clean).len(), 2);
    // Only DELETEs of the three, nothing else written.
    let writes = emu.writes();
    assert!(writes.iter().all(|w| w.method == "DELETE"), "{writes:?}");
    let deleted: Vec<&str> = writes
        .iter()
        .map(|w| w.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    // Polled the async operation.
    assert!(emu.log().iter().any(|l| l.path.contains("/operations/")));
    // Run again: nothing left, nothing written.
    emu.clear_log();
    let again = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(again.code, 0);
    assert!(names(&again).is_empty());
    assert!(emu.writes().is_empty());
}

#[test]
fn deallocated_vm_is_skipped_and_reported_with_exit_1() {
    let emu = Emulator::start(Config::default());
    let off = emu.add_vm_with(
        SUB,
        "rg",
        "off1",
        "deallocated",
        "Succeeded",
        vec![mi("msi")],
    );
    let on = emu.add_vm(
        SUB,
        "rg",
        "on1",
        vec![mi("ManagedIdentityExtensionForLinux")],
    );
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(outcome_of(&run, "off1"), "skipped");
    assert_eq!(outcome_of(&run, "on1"), "removed");
    assert!(run.stdout.contains("VM not running"), "{}", run.stdout);
    assert_eq!(emu.extensions(&off), ["msi"]);
    assert!(emu.extensions(&on).is_empty());
    assert!(emu.writes().iter().all(|w| !w.path.contains("off1")));
}

#[test]
fn conflict_409_for_a_stopped_vm_is_reported_not_retried() {
    let emu = Emulator::start(Config::default());
    let off = emu.add_vm_with(
        SUB,
        "rg",
        "off1",
        "deallocated",
        "Succeeded",
        vec![mi("msi")],
    );
    emu.hide_instance_view(&off);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(outcome_of(&run, "off1"), "failed");
    assert!(run.stdout.contains("VM not running"), "{}", run.stdout);
    assert_eq!(emu.count("DELETE", Some(409)), 1);
}

#[test]
fn conflict_409_another_operation_is_retried_a_few_times() {
    let emu = Emulator::start(Config::default());
    let vm = emu.add_vm(SUB, "rg", "busy1", vec![mi("msi")]);
    emu.inject("DELETE", "/busy1/extensions/", &[(409, None), (409, None)]);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(outcome_of(&run, "busy1"), "removed");
    assert!(emu.extensions(&vm).is_empty());
}

#[test]
fn busy_vm_is_skipped_with_a_reason() {
    let emu = Emulator::start(Config::default());
    emu.add_vm_with(SUB, "rg", "upd1", "running", "Updating", vec![mi("msi")]);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(outcome_of(&run, "upd1"), "skipped");
    assert!(run.stdout.contains("another operation in progress"));
    assert!(emu.writes().is_empty());
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let emu = Emulator::start(Config::default());
    let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.inject(
        "GET",
        "/providers/microsoft.compute/virtualmachines",
        &[(429, Some(2)), (503, None)],
    );
    emu.inject("DELETE", "/extensions/msi", &[(429, Some(1)), (500, None)]);
    emu.inject("GET", "/operations/", &[(503, Some(1))]);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(emu.extensions(&vm).is_empty());
    assert_eq!(emu.throttled(), 2);
    assert_eq!(run.json()["summary"]["throttled"], 2);
}

#[test]
fn location_polling_and_synchronous_deletes() {
    for style in [DeleteStyle::Location, DeleteStyle::Sync] {
        let emu = Emulator::start(Config {
            delete_style: style,
            polls_before_done: 2,
            ..Config::default()
        });
        let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
        let ss = emu.add_vmss(SUB, "rg", "ss1", "Rolling", "Uniform", 2, vec![mi("msi")]);
        let run = live(
            &emu,
            &["remove", "--subscription", SUB, "--yes", "--format", "json"],
        );
        assert_eq!(run.code, 0, "{style:?}: {}", run.all());
        assert!(emu.extensions(&vm).is_empty());
        assert!(emu.extensions(&ss).is_empty());
        if style == DeleteStyle::Location {
            assert!(
                emu.log()
                    .iter()
                    .any(|l| l.path.contains("/operationResults/"))
            );
        }
    }
}

#[test]
fn missing_extension_counts_as_already_removed() {
    let emu = Emulator::start(Config::default());
    let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    // Someone else removes it between discovery and the DELETE: the DELETE answers 404.
    emu.inject("DELETE", "/extensions/msi", &[(404, None)]);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(outcome_of(&run, "vm1"), "already-removed");
    let _ = vm;
}

#[test]
fn manual_scale_set_instances_are_upgraded_on_request() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(
        SUB,
        "rg",
        "manual1",
        "Manual",
        "Uniform",
        3,
        vec![mi("msi")],
    );
    let auto = emu.add_vmss(
        SUB,
        "rg",
        "auto1",
        "Automatic",
        "Uniform",
        2,
        vec![mi("msi")],
    );
    let run = live(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--upgrade-instances",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(emu.extensions(&ss).is_empty());
    assert_eq!(emu.instances_latest(&ss), [true, true, true]);
    let posts: Vec<_> = emu
        .writes()
        .into_iter()
        .filter(|w| w.method == "POST")
        .collect();
    // Batches of 20% of three instances: one instance at a time.
    assert_eq!(posts.len(), 3, "{posts:?}");
    for (n, post) in posts.iter().enumerate() {
        assert!(post.path.ends_with("/manual1/manualupgrade"));
        let body: Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(body["instanceIds"], serde_json::json!([n.to_string()]));
    }
    assert!(emu.extensions(&auto).is_empty());
    assert_eq!(outcome_of(&run, "manual1_2"), "removed");
    assert!(
        run.stdout.contains("upgraded in batch 3/3"),
        "{}",
        run.stdout
    );
}

#[test]
fn manual_scale_set_without_upgrade_flag_says_what_is_left() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(
        SUB,
        "rg",
        "manual1",
        "Manual",
        "Uniform",
        2,
        vec![mi("msi")],
    );
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(emu.instances_latest(&ss), [false, false]);
    assert!(run.stdout.contains("--upgrade-instances"), "{}", run.stdout);
    assert!(emu.writes().iter().all(|w| w.method == "DELETE"));
}

#[test]
fn flexible_scale_set_members_are_handled_as_vms() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(SUB, "rg", "flex1", "Manual", "Flexible", 0, vec![mi("msi")]);
    let member = emu.add_vm(SUB, "rg", "flex1_a1b2", vec![mi("msi")]);
    emu.set_vm_scale_set(&member, &ss);
    let run = live(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--upgrade-instances",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(emu.extensions(&ss).is_empty());
    assert!(emu.extensions(&member).is_empty());
    assert!(emu.writes().iter().all(|w| w.method == "DELETE"));
    let doc = run.json();
    let m = doc["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource_name"] == "flex1_a1b2")
        .unwrap();
    assert_eq!(m["kind"], "vm");
    assert_eq!(m["scale_set_id"], ss.as_str());
}

#[test]
fn interrupted_and_rerun_finishes_the_job() {
    let emu = Emulator::start(Config::default());
    let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let vm2 = emu.add_vm(SUB, "rg", "vm2", vec![mi("msi")]);
    // First run: the operations never finish in time (as if the run were killed mid-wait).
    emu.set_polls_before_done(1_000_000);
    let run = live(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--operation-timeout",
            "3",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(outcome_of(&run, "vm1"), "failed");
    // The extensions are now "Deleting"; a second run finishes the job.
    emu.set_polls_before_done(1);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(emu.extensions(&vm).is_empty());
    assert!(emu.extensions(&vm2).is_empty());
}

#[test]
fn rerun_after_model_change_upgrades_left_over_instances() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(
        SUB,
        "rg",
        "manual1",
        "Manual",
        "Uniform",
        2,
        vec![mi("msi")],
    );
    // First run without --upgrade-instances: the model is clean, the instances are not.
    let run = live(&emu, &["remove", "--subscription", SUB, "--yes"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(emu.instances_latest(&ss), [false, false]);
    let run = live(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--upgrade-instances",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(emu.instances_latest(&ss), [true, true]);
}

#[test]
fn resource_graph_discovery_is_confirmed_with_arm() {
    let emu = Emulator::start(Config::default());
    let (web, ..) = estate(&emu);
    // Resource Graph still shows an extension that ARM no longer has.
    emu.add_stale_graph_row(&web, "OldMsi");
    let run = live(
        &emu,
        &[
            "list",
            "--subscription",
            SUB,
            "--resource-graph",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        names(&run),
        ["api1:WADExtensionSetup", "ss1:MSI-Linux", "web1:msi"]
    );
    let graph_posts = emu
        .log()
        .iter()
        .filter(|l| l.path.contains("ResourceGraph"))
        .count();
    assert!(graph_posts >= 2, "paged with $skipToken");
    assert!(emu.log().iter().any(|l| l.body.contains("$skipToken")));
    // No per-VM extension listing.
    assert!(
        !emu.log()
            .iter()
            .any(|l| l.method == "GET" && l.path.ends_with("/extensions"))
    );
    assert!(emu.writes().is_empty());
    let run = live(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--resource-graph",
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        emu.extensions(&web),
        ["ManagedIdentityExtensionForWindows", "MonitoringAgent"]
    );
}

#[test]
fn all_subscriptions_and_resource_group_filter() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg-a", "a1", vec![mi("msi")]);
    emu.add_vm(SUB, "rg-b", "b1", vec![mi("msi")]);
    emu.add_vm(SUB2, "rg-a", "c1", vec![ext("m", MI_PUBLISHER, MI_WINDOWS)]);
    let run = live(&emu, &["list", "--all-subscriptions", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(names(&run), ["a1:msi", "b1:msi", "c1:m"]);
    let run = live(
        &emu,
        &[
            "list",
            "--subscription",
            SUB,
            "--subscription",
            SUB2,
            "--resource-group",
            "rg-a",
            "--format",
            "json",
        ],
    );
    assert_eq!(names(&run), ["a1:msi", "c1:m"]);
}

#[test]
fn next_link_to_another_host_is_refused() {
    let foreign = Emulator::start(Config::default());
    let emu = Emulator::start(Config {
        foreign_next_link: Some(foreign.url.clone()),
        ..Config::default()
    });
    for i in 0..3 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    let run = live(&emu, &["list", "--subscription", SUB, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    assert!(
        foreign.log().is_empty(),
        "the token followed a foreign nextLink"
    );
}

#[test]
fn polling_url_on_another_host_is_refused() {
    let foreign = Emulator::start(Config::default());
    let emu = Emulator::start(Config {
        foreign_poll_url: Some(foreign.url.clone()),
        ..Config::default()
    });
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let run = live(
        &emu,
        &["remove", "--subscription", SUB, "--yes", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(outcome_of(&run, "vm1"), "failed");
    assert!(run.stdout.contains("refused"), "{}", run.stdout);
    assert!(
        foreign.log().is_empty(),
        "the token followed a foreign polling URL"
    );
}

#[test]
fn token_never_appears_in_output() {
    let emu = Emulator::start(Config::default());
    estate(&emu);
    emu.add_vm_with(
        SUB,
        "rg",
        "off1",
        "deallocated",
        "Succeeded",
        vec![mi("msi")],
    );
    emu.inject("DELETE", "/extensions/", &[(500, None)]);
    let token = emu.config.token.clone();
    for args in [
        vec!["--verbose", "live", "list", "--subscription", SUB],
        vec!["--verbose", "live", "remove", "--subscription", SUB],
        vec![
            "--verbose",
            "live",
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--format",
            "json",
        ],
        vec![
            "--verbose",
            "live",
            "list",
            "--subscription",
            SUB,
            "--format",
            "csv",
        ],
    ] {
        let mut cmd = base_command(&[("AZURE_ACCESS_TOKEN", &token)]);
        cmd.args(&args)
            .args(["--arm-endpoint", &emu.url, "--time-scale", "0.001"]);
        let run = live_cli::run(cmd);
        assert!(!run.all().contains(&token), "token leaked with {args:?}");
        assert!(
            !run.all().contains("SENTINEL"),
            "token leaked with {args:?}"
        );
    }
    // A rejected token is not echoed either.
    let run = live_env(
        &emu,
        &["list", "--subscription", SUB],
        &[("AZURE_ACCESS_TOKEN", "wrong-SECRET-token-xyz")],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("wrong-SECRET-token-xyz"));
}

#[test]
fn service_principal_sign_in() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let secret = emu.config.client_secret.clone();
    let envs = [
        ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000c1d"),
        ("AZURE_CLIENT_SECRET", secret.as_str()),
        ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
    ];
    let run = live_env(
        &emu,
        &[
            "list",
            "--subscription",
            SUB,
            "--format",
            "json",
            "--verbose",
        ],
        &envs,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(names(&run), ["vm1:msi"]);
    assert!(!run.all().contains(&secret));
    assert!(!run.all().contains(&emu.config.token));
    let token_calls: Vec<_> = emu
        .log()
        .into_iter()
        .filter(|l| l.path.ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(token_calls.len(), 1, "the token is cached");
    assert!(token_calls[0].path.starts_with("/contoso.onmicrosoft.com/"));
    assert!(!token_calls[0].has_authorization);
    // A wrong secret: exit 2, the AAD error, not the secret.
    let bad = [
        envs[0],
        envs[1],
        ("AZURE_CLIENT_SECRET", "wrong-secret-value-42"),
        envs[3],
    ];
    let run = live_env(&emu, &["list", "--subscription", SUB], &bad);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("AADSTS7000215"), "{}", run.stderr);
    assert!(!run.all().contains("wrong-secret-value-42"));
}

#[test]
fn managed_identity_through_imds() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let run = live_env(
        &emu,
        &[
            "list",
            "--subscription",
            SUB,
            "--auth",
            "managed-identity",
            "--format",
            "json",
        ],
        &[("IMDS_ENDPOINT", emu.url.as_str())],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(names(&run), ["vm1:msi"]);
    assert!(
        emu.log()
            .iter()
            .any(|l| l.path == "/metadata/identity/oauth2/token")
    );
}

#[cfg(unix)]
#[test]
fn azure_cli_credential_with_a_fake_az() {
    use std::os::unix::fs::PermissionsExt;
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"account get-access-token\" ] || exit 3\necho '{{\"accessToken\": \"{}\", \"expires_on\": 4102444800, \"tokenType\": \"Bearer\"}}'\n",
            emu.config.token
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    // No token, no service principal: the chain reaches the Azure CLI.
    let run = live_env(
        &emu,
        &["list", "--subscription", SUB, "--format", "json"],
        &[("PATH", path.as_str())],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(names(&run), ["vm1:msi"]);
    assert!(!run.all().contains(&emu.config.token));
}

#[test]
fn usage_errors_exit_2() {
    let emu = Emulator::start(Config::default());
    let token = emu.config.token.clone();
    let cases: Vec<Vec<&str>> = vec![
        vec!["live", "list"],
        vec![
            "live",
            "list",
            "--subscription",
            "not/a/sub",
            "--arm-endpoint",
            &emu.url,
        ],
        vec![
            "live",
            "list",
            "--subscription",
            SUB,
            "--arm-endpoint",
            "http://management.example.com",
        ],
        vec!["live", "list", "--subscription", SUB, "--all-subscriptions"],
        vec!["live", "list", "--subscription", SUB, "--format", "xml"],
        vec![
            "live",
            "list",
            "--subscription",
            SUB,
            "--arm-endpoint",
            &emu.url,
            "--auth",
            "service-principal",
        ],
    ];
    for args in cases {
        let mut cmd = base_command(&[("AZURE_ACCESS_TOKEN", &token)]);
        cmd.args(&args);
        let run = live_cli::run(cmd);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
    }
    assert!(emu.log().is_empty());
}

#[test]
fn paces_itself_under_throttling() {
    let emu = Emulator::start(Config {
        reads: Some(Bucket {
            capacity: 30.0,
            refill_per_sec: 400.0,
        }),
        deletes: Some(Bucket {
            capacity: 5.0,
            refill_per_sec: 200.0,
        }),
        page_size: 50,
        ..Config::default()
    });
    for i in 0..40 {
        emu.add_vm(
            SUB,
            "rg",
            &format!("vm{i:02}"),
            if i % 2 == 0 { vec![mi("msi")] } else { vec![] },
        );
    }
    // Retry-After is whole seconds: scale time so that one second is 20 ms.
    let run = live_scaled(
        &emu,
        &[
            "remove",
            "--subscription",
            SUB,
            "--yes",
            "--concurrency",
            "8",
            "--format",
            "json",
        ],
        &[("AZURE_ACCESS_TOKEN", &emu.config.token)],
        "0.02",
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let doc = run.json();
    assert_eq!(doc["summary"]["removed"], 20);
    assert!(emu.log().iter().any(|l| l.status == 200));
}

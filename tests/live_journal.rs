//! The live-mode journal and interruption: the built binary against the in-process ARM emulator,
//! SIGINT sent mid-removal, the journal read back line by line.

#[path = "support/arm_emulator.rs"]
mod arm_emulator;
#[path = "support/live_cli.rs"]
mod live_cli;

use std::{path::Path, time::Duration};

use arm_emulator::{Config, Emulator, ext, mi};
use live_cli::{
    Live, SUB, finish, journal_lines as lines, of_kind, scratch_journal, show_journal, signal,
    spawn, wait_until,
};
use serde_json::{Value, json};

const PLANTED: &str = "PLANTED-protected-SENTINEL-91d4";

/// `remove` of every extension found, journaled to `journal`.
fn remove<'a>(emu: &'a Emulator, journal: &Path) -> Live<'a> {
    Live::remove_all(emu).args(&["--journal", journal.to_str().unwrap()])
}

#[test]
fn journal_records_each_extension_before_its_delete_and_never_a_secret() {
    let emu = Emulator::start(Config::default());
    let mut secret_ext = mi("msi");
    secret_ext.settings = json!({"port": 50343});
    secret_ext.protected_settings = Some(json!({"clientSecret": PLANTED}));
    let vm = emu.add_vm(
        SUB,
        "rg",
        "vm1",
        vec![
            secret_ext,
            ext("cse", "Microsoft.Compute", "CustomScriptExtension"),
        ],
    );
    emu.add_vm(
        SUB,
        "rg",
        "vm2",
        vec![mi("ManagedIdentityExtensionForLinux")],
    );
    let (dir, path) = scratch_journal();
    let out = remove(&emu, &path).run_in(dir.path());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("journal: {}", path.display())),
        "{}",
        out.stderr
    );

    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(
        !raw.contains(PLANTED),
        "a protected setting reached the journal"
    );
    assert!(
        !raw.contains(&emu.config.token),
        "the token reached the journal"
    );
    let lines = lines(&path);
    assert_eq!(lines[0]["kind"], "start");
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["interrupted"], false);
    let intents = of_kind(&lines, "intent");
    let outcomes = of_kind(&lines, "outcome");
    assert_eq!(intents.len(), 2);
    assert_eq!(outcomes.len(), 2);
    let i = intents
        .iter()
        .find(|i| i["target"] == format!("{vm}/extensions/msi"))
        .expect("intent for vm1/msi");
    assert_eq!(i["op"], "delete-extension");
    assert_eq!(i["method"], "DELETE");
    let r = &i["resource"];
    assert_eq!(r["name"], "msi");
    assert_eq!(r["parentId"], vm.as_str());
    assert_eq!(r["location"], "westeurope");
    assert_eq!(r["properties"]["publisher"], "Microsoft.ManagedIdentity");
    assert_eq!(r["properties"]["type"], "ManagedIdentityExtensionForLinux");
    assert_eq!(r["properties"]["typeHandlerVersion"], "1.0");
    assert_eq!(r["properties"]["autoUpgradeMinorVersion"], true);
    assert_eq!(r["properties"]["settings"], json!({"port": 50343}));
    assert_eq!(r["protectedSettingsOmitted"], true);
    // Each outcome follows its intent, with the DELETE's status and ARM request ids.
    for o in &outcomes {
        let pos = |v: &Value| lines.iter().position(|l| l == v).unwrap();
        let intent = intents.iter().find(|i| i["id"] == o["id"]).unwrap();
        assert!(pos(intent) < pos(o));
        assert_eq!(o["outcome"], "removed");
        assert_eq!(o["status"], 202);
        assert!(o["requestId"].as_str().unwrap().starts_with("req-"), "{o}");
        assert!(
            o["correlationId"].as_str().unwrap().starts_with("corr-"),
            "{o}"
        );
    }
    // The CustomScript extension is neither touched nor journaled.
    assert!(!raw.contains("CustomScriptExtension"));

    let shown = show_journal(&path, &[]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("2 write(s): 2 removed"),
        "{}",
        shown.stdout
    );
    let json_out = show_journal(&path, &["--format", "json"]);
    let doc: Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(doc["writes"].as_array().unwrap().len(), 2);
    assert_eq!(doc["summary"]["removed"], 2);
}

#[test]
fn failed_writes_are_journaled_and_shown() {
    let emu = Emulator::start(Config::default());
    let vm = emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.inject("DELETE", "/virtualmachines/vm1/extensions/", &[(400, None)]);
    let (dir, path) = scratch_journal();
    let out = remove(&emu, &path).run_in(dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let shown = show_journal(&path, &[]);
    assert_eq!(shown.code, 1, "a failed write needs attention");
    assert!(shown.stdout.contains("failed"), "{}", shown.stdout);
    assert!(shown.stdout.contains(&format!("{vm}/extensions/msi")));
    assert!(shown.stdout.contains("400"), "{}", shown.stdout);
}

#[test]
fn only_runs_that_may_write_keep_a_journal_named_on_stderr() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let dir = tempfile::tempdir().unwrap();
    let journals = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("imds-migrate-live-") && n.ends_with(".jsonl"))
            .collect::<Vec<_>>()
    };
    for cmd in ["list", "remove"] {
        let out = Live::new(&emu)
            .args(&[cmd, "--subscription", SUB])
            .scale("1")
            .run_in(dir.path());
        assert!(out.code == 0, "{}", out.stderr);
        assert!(!out.stderr.contains("journal"), "{}", out.stderr);
    }
    assert!(
        journals().is_empty(),
        "a run that cannot write kept a journal"
    );
    let out = Live::new(&emu)
        .args(&["remove", "--yes", "--subscription", SUB])
        .run_in(dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let found = journals();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(out.stderr.contains(&found[0]), "{}", out.stderr);
    assert!(found[0].len() == "imds-migrate-live-20261128T034718Z.jsonl".len());
}

#[test]
fn a_journal_that_cannot_be_written_stops_the_run_before_any_write() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no/such/dir/j.jsonl");
    let out = remove(&emu, &p).run_in(dir.path());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot open journal"), "{}", out.stderr);
    assert!(emu.writes().is_empty());
}

/// Eight VMs, two removals at a time, each DELETE polled for about a second and a half.
fn slow_estate() -> Emulator {
    let emu = Emulator::start(Config {
        polls_before_done: 6,
        poll_retry_after: 1,
        ..Config::default()
    });
    for i in 0..8 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    emu
}

fn deletes(emu: &Emulator) -> usize {
    emu.writes().iter().filter(|w| w.method == "DELETE").count()
}

#[test]
fn sigint_mid_removal_finishes_writes_in_flight_reports_and_exits_130() {
    let emu = slow_estate();
    let (dir, path) = scratch_journal();
    let child = spawn(
        remove(&emu, &path)
            .args(&["--concurrency", "2"])
            .scale("0.25")
            .command(dir.path()),
    );
    assert!(
        wait_until(Duration::from_secs(30), || deletes(&emu) >= 2),
        "no DELETE reached the emulator"
    );
    signal(&child, "INT");
    let at_signal = emu.writes().len();
    let out = finish(child, Duration::from_secs(60));
    assert_eq!(out.code, 130, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        emu.writes().len(),
        at_signal,
        "a write reached ARM after the signal"
    );
    // Two workers: normally two DELETEs in flight (a third only if the machine is very slow).
    assert!((2..=3).contains(&at_signal), "{at_signal}");
    // The report: the ones in flight finished, the others were not started.
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON report on stdout");
    let outcomes = out.outcomes();
    let count = |what: &str| outcomes.iter().filter(|o| *o == what).count();
    assert_eq!(count("removed"), at_signal, "{outcomes:?}");
    assert_eq!(count("interrupted"), 8 - at_signal, "{outcomes:?}");
    assert_eq!(doc["summary"]["interrupted"], 8 - at_signal);
    assert!(out.stderr.contains("SIGINT"), "{}", out.stderr);
    assert!(
        out.stderr.contains("run the same command again"),
        "{}",
        out.stderr
    );
    // The journal: every write sent is recorded as completed, and the run as interrupted.
    let lines = lines(&path);
    let intents = of_kind(&lines, "intent");
    let outcomes = of_kind(&lines, "outcome");
    assert_eq!(intents.len(), at_signal);
    assert_eq!(outcomes.len(), at_signal);
    assert!(outcomes.iter().all(|o| o["outcome"] == "removed"));
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["interrupted"], true);

    // Run again: it finishes the job.
    let again = remove(&emu, &path).run_in(dir.path());
    assert_eq!(again.code, 0, "{}", again.stderr);
    for i in 0..8 {
        let id = arm_emulator::vm_id(SUB, "rg", &format!("vm{i}"));
        assert!(
            emu.extensions(&id).is_empty(),
            "vm{i} still has the extension"
        );
    }
    let shown = show_journal(&path, &[]);
    assert!(
        shown.stdout.contains("2 run(s), 8 write(s): 8 removed"),
        "{}",
        shown.stdout
    );
}

#[test]
fn second_sigint_exits_at_once_leaving_writes_in_doubt() {
    let emu = Emulator::start(Config {
        polls_before_done: 200,
        poll_retry_after: 1,
        ..Config::default()
    });
    for i in 0..4 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    let (dir, path) = scratch_journal();
    let child = spawn(
        remove(&emu, &path)
            .args(&["--concurrency", "2"])
            .scale("0.1")
            .command(dir.path()),
    );
    assert!(wait_until(Duration::from_secs(30), || deletes(&emu) >= 2));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "INT");
    let out = finish(child, Duration::from_secs(10));
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(out.stderr.contains("exiting now"), "{}", out.stderr);
    assert_eq!(deletes(&emu), 2);
    // Consistent: whole lines only; both DELETEs sent and recorded as such, neither confirmed.
    let lines = lines(&path);
    assert_eq!(of_kind(&lines, "intent").len(), 2);
    assert!(of_kind(&lines, "outcome").is_empty());
    let shown = show_journal(&path, &["--format", "json"]);
    assert_eq!(shown.code, 1);
    let doc: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(doc["summary"]["in-doubt"], 2, "{doc}");
    let table = show_journal(&path, &[]);
    assert!(table.stdout.contains("in-doubt"), "{}", table.stdout);
    assert!(
        table.stdout.contains("sent, never confirmed"),
        "{}",
        table.stdout
    );
}

#[test]
fn sigterm_is_an_interruption_too() {
    let emu = slow_estate();
    let (dir, path) = scratch_journal();
    let child = spawn(
        remove(&emu, &path)
            .args(&["--concurrency", "1"])
            .scale("0.25")
            .command(dir.path()),
    );
    assert!(wait_until(Duration::from_secs(30), || deletes(&emu) >= 1));
    signal(&child, "TERM");
    let out = finish(child, Duration::from_secs(60));
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert_eq!(deletes(&emu), 1);
    assert!(out.stderr.contains("SIGTERM"), "{}", out.stderr);
}

#[test]
fn sigint_during_discovery_exits_at_once_without_any_write() {
    let emu = Emulator::start(Config {
        latency: Duration::from_millis(200),
        ..Config::default()
    });
    for i in 0..20 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    let (dir, path) = scratch_journal();
    let child = spawn(
        remove(&emu, &path)
            .args(&["--concurrency", "1"])
            .scale("0.001")
            .command(dir.path()),
    );
    assert!(wait_until(Duration::from_secs(30), || emu.log().len() >= 2));
    signal(&child, "INT");
    let out = finish(child, Duration::from_secs(10));
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(
        out.stderr.contains("before any change was made"),
        "{}",
        out.stderr
    );
    assert!(emu.writes().is_empty());
    let lines = lines(&path);
    assert!(of_kind(&lines, "intent").is_empty());
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["interrupted"], true);
}

//! Live-mode benchmark against the ARM emulator with ARM-like latency and throttling.
//!
//! `cargo bench --bench live` (release build of the binary). Not a timed test: it prints wall
//! time, requests sent and 429s received for `list` and `remove --yes`, ARM discovery vs
//! `--resource-graph`. Size with `LIVE_BENCH_VMS` (default 5000) and `LIVE_BENCH_VMSS` (500);
//! `LIVE_BENCH_CONCURRENCY` (default 8) is passed as `--concurrency`; `LIVE_BENCH_ONLY` (e.g.
//! `remove --yes (resource graph)`) runs one case.
//! The `check` row asks `LIVE_BENCH_CHECK_VMS` (default 5000) VMs, all with the extension, through
//! Run Command. A Run Command takes `LIVE_BENCH_RUN_COMMAND_SECONDS` (default 30, as on Azure);
//! everything time-shaped is divided by `LIVE_BENCH_CHECK_SCALE` (default 20): the Run Command
//! latency, the client's waits (`--time-scale`), and ARM's bucket refill is multiplied by it, so
//! the row keeps the shape of a real run at a fraction of its wall time (multiply the wall time
//! by the scale for the real figure). `LIVE_BENCH_CHECK_CONCURRENCY` (default 128) is passed as
//! `--check-concurrency`.
//! Under `cargo test --benches` it does nothing.

#[path = "../tests/support/arm_emulator.rs"]
mod arm_emulator;

use std::{
    process::Command,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use arm_emulator::{Bucket, Config, Emulator, Guest, ext, mi};

const SUB: &str = "11111111-2222-3333-4444-555555555555";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn estate(vms: usize, vmss: usize) -> Emulator {
    let emu = Emulator::start(Config {
        latency: Duration::from_millis(50),
        // ARM's per-subscription token buckets.
        reads: Some(Bucket {
            capacity: 250.0,
            refill_per_sec: 25.0,
        }),
        deletes: Some(Bucket {
            capacity: 200.0,
            refill_per_sec: 10.0,
        }),
        writes: Some(Bucket {
            capacity: 200.0,
            refill_per_sec: 10.0,
        }),
        page_size: 1000,
        graph_page_size: 1000,
        polls_before_done: 1,
        poll_retry_after: 1,
        ..Config::default()
    });
    for i in 0..vms {
        let mut exts = vec![ext(
            "MonitoringAgent",
            "Microsoft.EnterpriseCloud.Monitoring",
            "MicrosoftMonitoringAgent",
        )];
        if i % 5 == 0 {
            exts.push(mi("ManagedIdentityExtensionForLinux"));
        }
        emu.add_vm(SUB, &format!("rg-{}", i % 20), &format!("vm{i:05}"), exts);
    }
    for i in 0..vmss {
        let exts = if i % 5 == 0 { vec![mi("msi")] } else { vec![] };
        let mode = if i % 2 == 0 { "Automatic" } else { "Rolling" };
        emu.add_vmss(
            SUB,
            &format!("rg-{}", i % 20),
            &format!("ss{i:04}"),
            mode,
            "Uniform",
            2,
            exts,
        );
    }
    emu
}

fn run(emu: &Emulator, label: &str, args: &[&str]) {
    let concurrency = env_usize("LIVE_BENCH_CONCURRENCY", 8).to_string();
    let before = emu.requests.load(Ordering::Relaxed);
    let throttled_before = emu.throttled();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        // `remove --yes` writes its journal in the current directory.
        .current_dir(std::env::temp_dir())
        .env("AZURE_ACCESS_TOKEN", &emu.config.token)
        .env_remove("AZURE_TENANT_ID")
        .args(["live"])
        .args(args)
        .args([
            "--subscription",
            SUB,
            "--arm-endpoint",
            &emu.url,
            "--format",
            "json",
            "--concurrency",
            &concurrency,
        ])
        .output()
        .expect("run imds-migrate");
    let wall = start.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let s = &doc["summary"];
    println!(
        "| {label:<28} | {:>8.1} s | {:>8} | {:>6} | {:>5} | {:>7} | {:>6} | exit {} |",
        wall.as_secs_f64(),
        emu.requests.load(Ordering::Relaxed) - before,
        emu.throttled() - throttled_before,
        s["found"],
        s["removed"],
        s["failed"],
        out.status.code().unwrap_or(-1)
    );
}

/// What a clean machine's script prints.
const CLEAN_REPORT: &str = "imds-check 1 os=linux port=50342 sample=30 via=ss\nlisten 1\nscan files=4210 matched=0 capped=0\nsummary listen=1 connections=0 processes=0 files=0 units=0\nend\n";

fn check_row(vms: usize) {
    let scale = env_usize("LIVE_BENCH_CHECK_SCALE", 20).max(1) as f64;
    let run_command = env_usize("LIVE_BENCH_RUN_COMMAND_SECONDS", 30) as f64;
    let concurrency = env_usize("LIVE_BENCH_CHECK_CONCURRENCY", 128).to_string();
    let emu = Emulator::start(Config {
        latency: Duration::from_millis(50),
        reads: Some(Bucket {
            capacity: 250.0,
            refill_per_sec: 25.0 * scale,
        }),
        writes: Some(Bucket {
            capacity: 200.0,
            refill_per_sec: 10.0 * scale,
        }),
        page_size: 1000,
        polls_before_done: 1,
        poll_retry_after: 10,
        run_command_latency: Duration::from_secs_f64(run_command / scale),
        ..Config::default()
    });
    emu.set_default_guest(Guest::Output {
        stdout: CLEAN_REPORT.to_owned(),
        stderr: String::new(),
    });
    for i in 0..vms {
        emu.add_vm(
            SUB,
            &format!("rg-{}", i % 20),
            &format!("vm{i:05}"),
            vec![mi("ManagedIdentityExtensionForLinux")],
        );
    }
    println!(
        "\n| run | wall (x scale = real) | requests | 429s | machines | clean | unknown | exit |"
    );
    println!(
        "|-----|-----------------------|----------|------|----------|-------|---------|------|"
    );
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .env("AZURE_ACCESS_TOKEN", &emu.config.token)
        .env_remove("AZURE_TENANT_ID")
        .args([
            "live",
            "check",
            "--subscription",
            SUB,
            "--arm-endpoint",
            &emu.url,
        ])
        .args(["--format", "json", "--concurrency", "16"])
        .args(["--check-concurrency", &concurrency])
        .args(["--time-scale", &(1.0 / scale).to_string()])
        .stderr(std::process::Stdio::null())
        .output()
        .expect("run imds-migrate");
    let wall = start.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let s = &doc["summary"];
    println!(
        "| check ({vms} VMs, {run_command} s Run Command, 1/{scale} time) | {:>7.1} s (= {:>6.0} s real) | {:>8} | {:>5} | {:>5} | {:>6} | {:>7} | exit {} |",
        wall.as_secs_f64(),
        wall.as_secs_f64() * scale,
        emu.requests.load(Ordering::Relaxed),
        emu.throttled(),
        s["machines"],
        s["clean"],
        s["unknown"],
        out.status.code().unwrap_or(-1)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("live benchmark: skipped (run `cargo bench --bench live`)");
        return;
    }
    let only = std::env::var("LIVE_BENCH_ONLY").unwrap_or_default();
    if only == "check" {
        check_row(env_usize("LIVE_BENCH_CHECK_VMS", 5000));
        return;
    }
    let vms = env_usize("LIVE_BENCH_VMS", 5000);
    let vmss = env_usize("LIVE_BENCH_VMSS", 500);
    println!(
        "{vms} VMs, {vmss} scale sets, a fifth with the extension; 50 ms per call; reads 250 + 25/s, deletes 200 + 10/s"
    );
    println!(
        "| run                          |     wall   | requests |   429s | found | removed | failed | exit   |"
    );
    println!(
        "|------------------------------|------------|----------|--------|-------|---------|--------|--------|"
    );
    for graph in [false, true] {
        let mode = if graph { "resource graph" } else { "ARM" };
        let extra: &[&str] = if graph { &["--resource-graph"] } else { &[] };
        for command in [&["list"][..], &["remove", "--yes"][..]] {
            let label = format!("{} ({mode})", command.join(" "));
            if !only.is_empty() && only != label {
                continue;
            }
            // Fresh estate and buckets for each run.
            let emu = estate(vms, vmss);
            let mut args = command.to_vec();
            args.extend_from_slice(extra);
            run(&emu, &label, &args);
        }
    }
    if only.is_empty() {
        check_row(env_usize("LIVE_BENCH_CHECK_VMS", 5000));
    }
}

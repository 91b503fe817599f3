//! Throughput of each analyzer and of the prefilter, so a regression in one is visible.
//!
//!     cargo bench --bench analyzers
//!
//! Inputs are the rule fixtures of each kind repeated to about 1 MB, mixed with filler lines that
//! hold no usage. Prints the median of several timed runs in MB/s.

use std::{
    fs,
    hint::black_box,
    path::Path,
    time::{Duration, Instant},
};

use imds_migrate::{
    analyzers::{self, Analysis, Context, DEFAULT_API_VERSION},
    kind::{FileKind, Lang},
    prefilter::Prefilter,
};

type AnalyzerFn = fn(&str, &Context, &mut Analysis);

const TARGET_BYTES: usize = 1 << 20;
const RUNS: usize = 15;

fn fixtures(exts: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
    let mut out = String::new();
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if exts.iter().any(|e| name.ends_with(e)) {
                out.push_str(&fs::read_to_string(&f).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

/// Fixture text padded with filler to about [`TARGET_BYTES`].
fn input(sample: &str, filler: &str) -> String {
    let mut text = String::with_capacity(TARGET_BYTES + sample.len());
    while text.len() < TARGET_BYTES {
        text.push_str(sample);
        for _ in 0..40 {
            text.push_str(filler);
        }
    }
    text
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(name: &str, bytes: usize, mut run: impl FnMut()) {
    run();
    let times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .collect();
    let m = median(times);
    let mbps = bytes as f64 / 1e6 / m.as_secs_f64();
    println!(
        "{name:<22} {:>8.2} ms {mbps:>9.1} MB/s",
        m.as_secs_f64() * 1e3
    );
}

fn main() {
    let cases: Vec<(&str, FileKind, AnalyzerFn, &[&str], &str)> = vec![
        (
            "arm",
            FileKind::Arm,
            analyzers::arm::analyze,
            &[".json", ".t"],
            "    {\"name\": \"cse\", \"properties\": {\"publisher\": \"Microsoft.Compute\", \"type\": \"CustomScriptExtension\"}},\n",
        ),
        (
            "powershell",
            FileKind::PowerShell,
            analyzers::powershell::analyze,
            &[".ps1"],
            "$x = Get-AzVM -ResourceGroupName $rg -Name \"vm-$i\" | Where-Object { $_.Location -eq 'westeurope' }\n",
        ),
        (
            "azcli",
            FileKind::Shell,
            analyzers::azcli::analyze,
            &[".sh", ".azcli"],
            "az vm show -g \"$RG\" -n \"$VM\" --query id -o tsv >> ids.txt\n",
        ),
        (
            "terraform",
            FileKind::Terraform,
            analyzers::terraform::analyze,
            &[".tf"],
            "  tags = { owner = \"payments\", env = var.environment }\n",
        ),
        (
            "bicep",
            FileKind::Bicep,
            analyzers::bicep::analyze,
            &[".bicep"],
            "param tags object = { owner: 'payments', env: environment }\n",
        ),
        (
            "endpoint (python)",
            FileKind::Code(Lang::Python),
            analyzers::endpoint::analyze,
            &[".py"],
            "    total = sum(item.amount for item in ledger.entries(account_id))\n",
        ),
        (
            "sdk (python)",
            FileKind::Code(Lang::Python),
            analyzers::sdk::analyze,
            &[".py"],
            "    total = sum(item.amount for item in ledger.entries(account_id))\n",
        ),
        (
            "markdown",
            FileKind::Markdown,
            analyzers::markdown::analyze,
            &[".md"],
            "The settlement job runs every hour and writes a report for each region.\n",
        ),
    ];
    println!("{:<22} {:>11} {:>14}", "analyzer", "median", "throughput");
    for (name, kind, analyze, exts, filler) in cases {
        let text = input(&fixtures(exts), filler);
        let ctx = Context {
            kind,
            path: "bench",
            api_version: DEFAULT_API_VERSION,
            extra_ports: &[],
        };
        report(name, text.len(), || {
            let mut out = Analysis::default();
            analyze(black_box(&text), &ctx, &mut out);
            black_box(out);
        });
    }
    let prefilter = Prefilter::new(&[]);
    let clean = input(
        "",
        "    total = sum(item.amount for item in ledger.entries(account_id))  # identity of the account\n",
    );
    report("prefilter (no hit)", clean.len(), || {
        black_box(prefilter.matches_in(black_box(clean.as_bytes()), || false));
    });
}

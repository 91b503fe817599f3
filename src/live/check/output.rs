//! The `live check` result: one row or record per machine with its verdict and evidence, as a
//! table (default), JSON or CSV, like `live list`.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::{
    run::{Machine, Target},
    script::Os,
    verdict::GuestCheck,
    verdict::{Evidence, Verdict},
};
use crate::{
    cli::live::LiveFormat,
    live::{
        client::ApiError,
        output::{ErrorRecord, csv_row, error_records, paint},
    },
};

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub machines: usize,
    pub clean: usize,
    pub in_use: usize,
    pub unknown: usize,
    pub discovery_errors: usize,
    pub requests: u64,
    pub writes: u64,
    pub throttled: u64,
}

impl Summary {
    pub fn of(machines: &[Machine], errors: usize) -> Self {
        let count = |v: Verdict| machines.iter().filter(|m| m.check.verdict == v).count();
        Summary {
            machines: machines.len(),
            clean: count(Verdict::Clean),
            in_use: count(Verdict::InUse),
            unknown: count(Verdict::Unknown),
            discovery_errors: errors,
            ..Summary::default()
        }
    }
}

pub struct Report<'a> {
    pub machines: &'a [Machine],
    pub errors: &'a [ApiError],
    pub notes: &'a [String],
    pub summary: Summary,
}

#[derive(Serialize)]
struct Record<'a> {
    subscription: &'a str,
    resource_group: &'a str,
    kind: &'static str,
    machine_id: &'a str,
    name: &'a str,
    scale_set_id: Option<&'a str>,
    instance_id: Option<&'a str>,
    extension_id: &'a str,
    os: Os,
    verdict: Verdict,
    evidence: &'a Evidence,
}

#[derive(Serialize)]
struct Document<'a> {
    command: &'static str,
    machines: Vec<Record<'a>>,
    notes: &'a [String],
    errors: Vec<ErrorRecord<'a>>,
    summary: &'a Summary,
}

fn kind(m: &Machine) -> &'static str {
    if m.target.instance_id.is_some() {
        "vmss-instance"
    } else {
        "vm"
    }
}

pub fn render(format: LiveFormat, r: &Report<'_>, color: bool) -> String {
    match format {
        LiveFormat::Json => json(r),
        LiveFormat::Csv => csv(r),
        LiveFormat::Table => table(r, color),
    }
}

fn json(r: &Report<'_>) -> String {
    let doc = Document {
        command: "check",
        machines: r
            .machines
            .iter()
            .map(|m| Record {
                subscription: &m.target.subscription,
                resource_group: &m.target.resource_group,
                kind: kind(m),
                machine_id: &m.target.id,
                name: &m.target.name,
                scale_set_id: m.target.scale_set.as_deref(),
                instance_id: m.target.instance_id.as_deref(),
                extension_id: &m.target.extension_id,
                os: m.target.os,
                verdict: m.check.verdict,
                evidence: &m.check.evidence,
            })
            .collect(),
        notes: r.notes,
        errors: error_records(r.errors),
        summary: &r.summary,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

const CSV_HEADER: [&str; 16] = [
    "subscription",
    "resource_group",
    "kind",
    "machine_id",
    "name",
    "extension_id",
    "os",
    "port",
    "verdict",
    "listening",
    "connections",
    "processes",
    "files_matched",
    "files",
    "units",
    "reason",
];

fn csv(r: &Report<'_>) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push('\n');
    for m in r.machines {
        let e = &m.check.evidence;
        let processes: Vec<String> = e
            .processes
            .iter()
            .map(|p| {
                format!(
                    "{}:{}:{}:{}",
                    p.name,
                    p.pid.map_or_else(|| "-".to_owned(), |x| x.to_string()),
                    p.user,
                    p.connections
                )
            })
            .collect();
        let fields = [
            m.target.subscription.clone(),
            m.target.resource_group.clone(),
            kind(m).to_owned(),
            m.target.id.clone(),
            m.target.name.clone(),
            m.target.extension_id.clone(),
            m.target.os.as_str().to_owned(),
            e.port.map(|p| p.to_string()).unwrap_or_default(),
            m.check.verdict.as_str().to_owned(),
            e.listening.map(|l| l.to_string()).unwrap_or_default(),
            e.connections.to_string(),
            processes.join(" "),
            e.files_matched.to_string(),
            e.files.join(" "),
            e.units.join(" "),
            e.reason.clone().unwrap_or_default(),
        ];
        csv_row(&mut out, &fields);
    }
    out
}

fn table(r: &Report<'_>, color: bool) -> String {
    let header = ["KIND", "MACHINE", "OS", "PORT", "VERDICT", "EVIDENCE"];
    let rows: Vec<[String; 6]> = r
        .machines
        .iter()
        .map(|m| {
            [
                kind(m).to_owned(),
                format!("{}/{}", m.target.resource_group, m.target.name),
                m.target.os.as_str().to_owned(),
                m.check
                    .evidence
                    .port
                    .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                m.check.verdict.as_str().to_owned(),
                m.check.summary(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String], verdict_style: Option<anstyle::Style>| -> String {
        let last = cells.len() - 1;
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let padded = if i == last {
                    c.clone()
                } else {
                    format!(
                        "{c}{}",
                        " ".repeat(widths[i].saturating_sub(c.chars().count()))
                    )
                };
                match verdict_style {
                    Some(style) if i == 4 => paint(&padded, style, color),
                    _ => padded,
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = String::new();
    if !rows.is_empty() {
        let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        out.push_str(&paint(
            &line(&head, None),
            anstyle::Style::new().bold(),
            color,
        ));
        out.push('\n');
        for (row, m) in rows.iter().zip(r.machines) {
            let style = match m.check.verdict {
                Verdict::Clean => anstyle::AnsiColor::Green.on_default(),
                Verdict::InUse => anstyle::AnsiColor::Red.on_default().bold(),
                Verdict::Unknown => anstyle::AnsiColor::Yellow.on_default(),
            };
            out.push_str(&line(row, Some(style)));
            out.push('\n');
        }
        out.push('\n');
    }
    for n in r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let s = &r.summary;
    let mut line = format!(
        "{} machine(s) checked: {} clean, {} in use, {} unknown",
        s.machines, s.clean, s.in_use, s.unknown
    );
    if s.discovery_errors > 0 {
        line.push_str(&format!(
            "; {} resource(s) could not be examined",
            s.discovery_errors
        ));
    }
    line.push_str(". The check script only reads: it changed nothing on the machines.\n");
    out.push_str(&line);
    out
}

/// Called after each machine is checked.
pub type Progress = dyn Fn(&Target, &GuestCheck) + Sync;

/// Progress on standard error, one line per machine checked (a Run Command takes tens of seconds).
pub fn progress() -> Box<Progress> {
    let count = AtomicUsize::new(0);
    Box::new(move |t, c| {
        let n = count.fetch_add(1, Ordering::Relaxed) + 1;
        crate::note!("imds-migrate: [{n}] {} {}", c.verdict.as_str(), t.id);
    })
}

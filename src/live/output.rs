//! The result: a table (default), JSON or CSV, one row or record per extension.

use serde::Serialize;

use super::{
    client::ApiError,
    plan::{Action, Item, Outcome},
};
use crate::cli::live::LiveFormat;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub found: usize,
    pub to_delete: usize,
    pub skipped: usize,
    pub removed: usize,
    pub already_removed: usize,
    pub failed: usize,
    /// Not done because the run was halted (signal, credential, journal).
    pub interrupted: usize,
    pub discovery_errors: usize,
    pub requests: u64,
    pub writes: u64,
    pub throttled: u64,
}

impl Summary {
    pub fn of(items: &[Item], errors: usize) -> Self {
        let count = |o: Outcome| items.iter().filter(|i| i.outcome == Some(o)).count();
        Summary {
            found: items.len(),
            to_delete: items.iter().filter(|i| i.action != Action::Skip).count(),
            skipped: items.iter().filter(|i| i.action == Action::Skip).count(),
            removed: count(Outcome::Removed),
            already_removed: count(Outcome::AlreadyRemoved),
            failed: count(Outcome::Failed),
            interrupted: count(Outcome::Interrupted),
            discovery_errors: errors,
            ..Summary::default()
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorRecord<'a> {
    method: &'a str,
    path: &'a str,
    status: Option<u16>,
    code: &'a str,
    message: &'a str,
}

/// What could not be examined, as JSON records.
pub(crate) fn error_records(errors: &[ApiError]) -> Vec<ErrorRecord<'_>> {
    errors
        .iter()
        .map(|e| ErrorRecord {
            method: e.method,
            path: &e.path,
            status: e.status,
            code: &e.code,
            message: &e.message,
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct Document<'a> {
    command: &'a str,
    dry_run: bool,
    extensions: &'a [Item],
    errors: Vec<ErrorRecord<'a>>,
    summary: &'a Summary,
}

pub struct Report<'a> {
    /// `list` or `remove`.
    pub command: &'a str,
    pub dry_run: bool,
    pub items: &'a [Item],
    pub errors: &'a [ApiError],
    pub summary: Summary,
}

pub fn render(format: LiveFormat, report: &Report<'_>, color: bool) -> String {
    match format {
        LiveFormat::Json => json(report),
        LiveFormat::Csv => csv(report),
        LiveFormat::Table => table(report, color),
    }
}

fn json(r: &Report<'_>) -> String {
    let doc = Document {
        command: r.command,
        dry_run: r.dry_run,
        extensions: r.items,
        errors: error_records(r.errors),
        summary: &r.summary,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

fn opt(s: Option<&String>) -> &str {
    s.map_or("", String::as_str)
}

const CSV_HEADER: [&str; 19] = [
    "subscription",
    "resource_group",
    "kind",
    "resource_id",
    "extension_id",
    "extension_name",
    "publisher",
    "extension_type",
    "type_handler_version",
    "provisioning_state",
    "resource_provisioning_state",
    "power_state",
    "identity_type",
    "upgrade_mode",
    "orchestration_mode",
    "action",
    "reason",
    "outcome",
    "detail",
];

/// One CSV record, each field quoted as needed, ended by a line break.
pub(crate) fn csv_row(out: &mut String, fields: &[impl AsRef<str>]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f.as_ref())).collect();
    out.push_str(&row.join(","));
    out.push('\n');
}

pub(crate) fn csv_field(s: &str) -> String {
    // Also defuse spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv(r: &Report<'_>) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push('\n');
    for it in r.items {
        let fields = [
            it.subscription.as_str(),
            &it.resource_group,
            it.kind.as_str(),
            &it.resource_id,
            &it.extension_id,
            &it.extension_name,
            &it.publisher,
            &it.extension_type,
            opt(it.type_handler_version.as_ref()),
            opt(it.provisioning_state.as_ref()),
            opt(it.resource_provisioning_state.as_ref()),
            opt(it.power_state.as_ref()),
            opt(it.identity_type.as_ref()),
            opt(it.upgrade_mode.as_ref()),
            opt(it.orchestration_mode.as_ref()),
            it.action.as_str(),
            opt(it.reason.as_ref()),
            it.outcome.map_or("", Outcome::as_str),
            opt(it.detail.as_ref()),
        ];
        csv_row(&mut out, &fields);
    }
    out
}

pub(crate) fn paint(s: &str, style: anstyle::Style, color: bool) -> String {
    if color {
        format!("{style}{s}{style:#}")
    } else {
        s.to_owned()
    }
}

fn table(r: &Report<'_>, color: bool) -> String {
    let with_outcome = r.command == "remove";
    let mut header = vec![
        "KIND",
        "RESOURCE",
        "EXTENSION",
        "TYPE",
        "STATE",
        "POWER",
        "IDENTITY",
        "UPGRADE",
        "ACTION",
    ];
    if with_outcome {
        header.push("OUTCOME");
    }
    header.push("DETAIL");
    let dash = |s: Option<&String>| s.map_or_else(|| "-".to_owned(), Clone::clone);
    let rows: Vec<Vec<String>> = r
        .items
        .iter()
        .map(|it| {
            let mut row = vec![
                it.kind.as_str().to_owned(),
                format!("{}/{}", it.resource_group, it.resource_name),
                it.extension_name.clone(),
                it.extension_type.clone(),
                dash(it.provisioning_state.as_ref()),
                dash(it.power_state.as_ref()),
                dash(it.identity_type.as_ref()),
                dash(it.upgrade_mode.as_ref()),
                it.action.as_str().to_owned(),
            ];
            if with_outcome {
                row.push(it.outcome.map_or("-", Outcome::as_str).to_owned());
                row.push(dash(it.detail.as_ref()));
            } else {
                row.push(it.reason.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let last = header.len() - 1;
    let mut out = String::new();
    if !rows.is_empty() {
        let line: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == last {
                    (*h).to_owned()
                } else {
                    format!("{h:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(&paint(
            line.join("  ").trim_end(),
            anstyle::Style::new().bold(),
            color,
        ));
        out.push('\n');
        for (row, it) in rows.iter().zip(r.items) {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let padded = if i == last {
                        c.clone()
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    };
                    let style = match (header[i], it.outcome) {
                        ("OUTCOME", Some(Outcome::Failed)) => {
                            anstyle::AnsiColor::Red.on_default().bold()
                        }
                        ("OUTCOME", Some(Outcome::Removed | Outcome::AlreadyRemoved)) => {
                            anstyle::AnsiColor::Green.on_default()
                        }
                        ("ACTION", _) if it.action == Action::Skip => {
                            anstyle::AnsiColor::Yellow.on_default()
                        }
                        _ => anstyle::Style::new(),
                    };
                    paint(&padded, style, color)
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    let s = &r.summary;
    let mut summary = format!(
        "{} Managed Identity extension(s) found: {} to delete, {} skipped",
        s.found, s.to_delete, s.skipped
    );
    if with_outcome && !r.dry_run {
        summary.push_str(&format!(
            "; {} removed, {} already removed, {} failed",
            s.removed, s.already_removed, s.failed
        ));
        if s.interrupted > 0 {
            summary.push_str(&format!("; {} not done (interrupted)", s.interrupted));
        }
    }
    if s.discovery_errors > 0 {
        summary.push_str(&format!(
            "; {} resource(s) could not be examined",
            s.discovery_errors
        ));
    }
    summary.push('.');
    if with_outcome && r.dry_run && s.to_delete > 0 {
        summary.push_str(" Dry run: nothing was changed; run again with --yes to delete.");
    }
    out.push_str(&summary);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd"), "'=cmd");
        assert_eq!(csv_field("plain"), "plain");
    }
}

//! GitLab Code Quality: a JSON array of Code Climate issues, which GitLab shows in the merge
//! request widget and the pipeline's Code Quality tab.
//!
//! `severity` is one of the five values GitLab documents (`info`, `minor`, `major`, `critical`,
//! `blocker`); GitLab's schema accepts any string, but anything else is shown as "unknown".
//! `fingerprint` is the SARIF report's partial fingerprint, so it survives unrelated edits and
//! the widget can tell new issues from fixed ones.

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, ReportOptions, sarif};
use crate::{
    finding::{Applicability, Severity},
    rules::catalogue,
    scan::ScanResult,
};

pub struct Gitlab;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    categories: [&'static str; 1],
    severity: &'static str,
    fingerprint: String,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

impl Report for Gitlab {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        let cwd = std::env::current_dir().ok();
        let located = sarif::repository_paths(result, cwd.as_deref());
        let fingerprints = sarif::fingerprints_for(result, cwd.as_deref());
        let mut issues: Vec<Issue<'_>> = result
            .findings
            .iter()
            .zip(located)
            .zip(fingerprints)
            .map(|((f, path), fingerprint)| {
                let name = catalogue().get(&f.rule_id).map_or("", |r| r.name.as_str());
                let hint = match f.fix.as_ref().map(|x| x.applicability) {
                    Some(Applicability::Safe) => " (fixable with `imds-migrate fix`)",
                    Some(Applicability::Unsafe) => {
                        " (fixable with `imds-migrate fix --unsafe-fixes`)"
                    }
                    None => "",
                };
                Issue {
                    kind: "issue",
                    check_name: &f.rule_id,
                    description: if name.is_empty() {
                        format!("{}{hint}", f.message)
                    } else {
                        format!("{} [{name}]{hint}", f.message)
                    },
                    categories: ["Compatibility"],
                    severity: severity(f.severity),
                    fingerprint,
                    location: Location {
                        path,
                        lines: Lines {
                            begin: f.line,
                            end: f.end_line.max(f.line),
                        },
                    },
                }
            })
            .collect();
        // A file that could not be scanned may hide usages: GitLab has no notification, so it
        // is an issue of its own, pinned to line 1.
        for (e, path) in result.errors.iter().zip(sarif::repository_error_paths(
            result,
            &result.errors,
            cwd.as_deref(),
        )) {
            issues.push(Issue {
                kind: "issue",
                check_name: "scan-error",
                description: format!("imds-migrate could not scan this file: {}", e.message),
                categories: ["Bug Risk"],
                severity: "critical",
                fingerprint: sarif::fingerprint_of(&["scan-error", &path, &e.message]),
                location: Location {
                    path,
                    lines: Lines { begin: 1, end: 1 },
                },
            });
        }
        // A file searched as text only: its findings are above; the note is for information.
        for (n, path) in result.notes.iter().zip(sarif::repository_error_paths(
            result,
            &result.notes,
            cwd.as_deref(),
        )) {
            issues.push(Issue {
                kind: "issue",
                check_name: "searched-as-text",
                description: format!(
                    "imds-migrate searched this file as text only: {}",
                    n.message
                ),
                categories: ["Compatibility"],
                severity: "info",
                fingerprint: sarif::fingerprint_of(&["searched-as-text", &path, &n.message]),
                location: Location {
                    path,
                    lines: Lines { begin: 1, end: 1 },
                },
            });
        }
        serde_json::to_writer_pretty(&mut *out, &issues)?;
        writeln!(out)
    }
}

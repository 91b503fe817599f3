//! The JSON report: the stable contract CI systems rely on (fields may be added, never changed).

use std::io::{self, Write};

use serde::Serialize;

use super::{FixCounts, Report, ReportOptions};
use crate::{
    finding::Finding,
    scan::{FileError, ScanResult, Summary},
};

pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    version: &'static str,
    findings: Vec<JsonFinding<'a>>,
    errors: Vec<JsonError<'a>>,
    /// Files searched as text only (same shape as `errors`); added after `errors`, never a failure.
    notes: Vec<JsonError<'a>>,
    summary: SummaryView<'a>,
    roots: Vec<JsonRoot<'a>>,
}

/// The run's summary plus the fix counts every format states the same way (added fields: the
/// summary's own fields are unchanged).
#[derive(Serialize)]
pub(super) struct SummaryView<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    #[serde(flatten)]
    fixes: FixCounts,
    /// The sentence the text report prints, e.g. "3 fixable with `imds-migrate fix`".
    fix_summary: String,
}

impl<'a> SummaryView<'a> {
    pub(super) fn new(result: &'a ScanResult) -> Self {
        let fixes = FixCounts::of(&result.findings);
        SummaryView {
            summary: &result.summary,
            fixes,
            fix_summary: fixes.sentence(),
        }
    }
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    root: String,
}

#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(flatten)]
    error: &'a FileError,
    root: String,
}

#[derive(Serialize)]
struct JsonRoot<'a> {
    path: String,
    summary: &'a Summary,
}

impl Report for Json {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        let root = |i: usize| result.roots[i].display().to_string();
        let doc = Document {
            version: env!("CARGO_PKG_VERSION"),
            findings: result
                .findings
                .iter()
                .map(|f| JsonFinding {
                    finding: f,
                    root: root(f.root),
                })
                .collect(),
            errors: result
                .errors
                .iter()
                .map(|e| JsonError {
                    error: e,
                    root: root(e.root),
                })
                .collect(),
            notes: result
                .notes
                .iter()
                .map(|e| JsonError {
                    error: e,
                    root: root(e.root),
                })
                .collect(),
            summary: SummaryView::new(result),
            roots: result
                .root_summaries
                .iter()
                .enumerate()
                .map(|(i, s)| JsonRoot {
                    path: root(i),
                    summary: s,
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

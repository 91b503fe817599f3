//! Azure Pipelines logging commands: one `##vso[task.logissue]` per finding, per file that could
//! not be scanned and per file searched as text only (a warning), then one `##vso[task.complete]`
//! that marks the step's result.
//!
//! Every line is exactly one command: messages are escaped the way the agent unescapes them
//! (`%AZP25`, `%0D`, `%0A`; properties also `%3B` and `%5D`), so nothing a scanned file contains
//! can end a command early or start another.

use std::io::{self, Write};

use super::{FixCounts, Report, ReportOptions, display_path, error_path, escape_with};
use crate::{finding::Severity, scan::ScanResult};

pub struct Azure;

impl Report for Azure {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        for f in &result.findings {
            // `task.logissue` knows only errors and warnings; info findings are warnings.
            let kind = match f.severity {
                Severity::Error => "error",
                Severity::Warning | Severity::Info => "warning",
            };
            writeln!(
                out,
                "##vso[task.logissue type={kind};sourcepath={};linenumber={};columnnumber={};code={}]{}",
                escape_property(&display_path(result, f.root, &f.path)),
                f.line,
                f.column,
                escape_property(&f.rule_id),
                escape_data(&format!("{}: {}", f.rule_id, f.message)),
            )?;
        }
        for e in &result.errors {
            writeln!(
                out,
                "##vso[task.logissue type=error;sourcepath={}]{}",
                escape_property(&error_path(result, e)),
                escape_data(&format!(
                    "imds-migrate could not scan this file: {}",
                    e.message
                )),
            )?;
        }
        // A file searched as text only: its findings are above; the note says why. Azure knows
        // no informational issue, and a warning leaves the step's result to the findings.
        for n in &result.notes {
            writeln!(
                out,
                "##vso[task.logissue type=warning;sourcepath={}]{}",
                escape_property(&error_path(result, n)),
                escape_data(&format!(
                    "imds-migrate searched this file as text only: {}",
                    n.message
                )),
            )?;
        }
        let failed = result
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error)
            || !result.errors.is_empty();
        let outcome = if failed {
            "Failed"
        } else if result.findings.is_empty() {
            "Succeeded"
        } else {
            "SucceededWithIssues"
        };
        let fixes = FixCounts::of(&result.findings).sentence();
        let mut summary = format!(
            "imds-migrate: {} finding(s) in {} file(s) scanned",
            result.findings.len(),
            result.summary.files_scanned
        );
        if !fixes.is_empty() {
            summary.push_str(&format!(" ({fixes})"));
        }
        if !result.notes.is_empty() {
            summary.push_str(&format!(
                "; {} searched as text",
                super::text::plural(result.notes.len(), "note")
            ));
        }
        writeln!(
            out,
            "##vso[task.complete result={outcome};]{}",
            escape_data(&summary)
        )
    }
}

/// A command's message: only what would end the line, and `%` itself, are escaped.
pub fn escape_data(text: &str) -> String {
    escape_with(text, &[('%', "%AZP25"), ('\r', "%0D"), ('\n', "%0A")])
}

/// A property value: `;` would end the property and `]` the property list.
pub fn escape_property(text: &str) -> String {
    escape_with(
        text,
        &[
            ('%', "%AZP25"),
            ('\r', "%0D"),
            ('\n', "%0A"),
            (';', "%3B"),
            (']', "%5D"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_agent_unescapes() {
        assert_eq!(escape_data("50%\r\nnext"), "50%AZP25%0D%0Anext");
        assert_eq!(escape_data("a;b]c"), "a;b]c");
        assert_eq!(escape_property("dir;x]/a%b\n"), "dir%3Bx%5D/a%AZP25b%0A");
    }
}

//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per finding, which
//! the runner turns into an annotation on the pull request's diff.
//!
//! Nothing else goes to standard output, so every line is exactly one annotation: the lines can
//! be counted, and no summary can be mistaken for a finding.

use std::io::{self, Write};

use super::{Report, ReportOptions, display_path, error_path, escape_with};
use crate::{
    finding::{Applicability, Severity},
    scan::ScanResult,
};

pub struct Github;

impl Report for Github {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        for f in &result.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let hint = match f.fix.as_ref().map(|x| x.applicability) {
                Some(Applicability::Safe) => " (fixable: `imds-migrate fix`)",
                Some(Applicability::Unsafe) => {
                    " (unsafe fix available: `imds-migrate fix --unsafe-fixes`)"
                }
                None => "",
            };
            // GitHub's annotations take columns only when start and end lines are equal (the
            // checks API says to omit them otherwise), so a multi-line finding gets lines alone.
            let columns = if f.end_line == f.line {
                format!(",col={},endColumn={}", f.column, f.end_column.max(f.column))
            } else {
                String::new()
            };
            writeln!(
                out,
                "::{command} file={},line={},endLine={}{columns},title={}::{}",
                escape_property(&display_path(result, f.root, &f.path)),
                f.line,
                f.end_line.max(f.line),
                escape_property(&f.rule_id),
                escape_data(&format!("{}{hint}", f.message)),
            )?;
        }
        for e in &result.errors {
            writeln!(
                out,
                "::error file={},title={}::{}",
                escape_property(&error_path(result, e)),
                escape_property("imds-migrate could not scan this file"),
                escape_data(&e.message),
            )?;
        }
        for n in &result.notes {
            writeln!(
                out,
                "::notice file={},title={}::{}",
                escape_property(&error_path(result, n)),
                escape_property("imds-migrate searched this file as text"),
                escape_data(&n.message),
            )?;
        }
        Ok(())
    }
}

/// Escapes a command's message, as the runner's `toCommandValue` counterpart expects.
pub fn escape_data(text: &str) -> String {
    escape_with(text, &[('%', "%25"), ('\r', "%0D"), ('\n', "%0A")])
}

/// Escapes a property value: `:` and `,` would otherwise end the value or the property list.
pub fn escape_property(text: &str) -> String {
    escape_with(
        text,
        &[
            ('%', "%25"),
            ('\r', "%0D"),
            ('\n', "%0A"),
            (':', "%3A"),
            (',', "%2C"),
        ],
    )
}

//! The human report: `path:line:col  ID  message`, the source line, and a summary.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use super::{FixCounts, Report, ReportOptions, display_path, error_path};
use crate::{
    finding::{Applicability, Severity},
    scan::{ScanResult, Skipped},
};

pub struct Text;

const PATH: Style = Style::new().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const INFO: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

impl Report for Text {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &ScanResult,
        opts: ReportOptions,
    ) -> io::Result<()> {
        let c = opts.color;
        for f in &result.findings {
            let style = match f.severity {
                Severity::Error => ERROR,
                Severity::Warning => WARNING,
                Severity::Info => INFO,
            };
            let fixable = match f.fix.as_ref().map(|x| x.applicability) {
                Some(Applicability::Safe) => " [fix]",
                Some(Applicability::Unsafe) => " [unsafe fix]",
                None => "",
            };
            writeln!(
                out,
                "{}:{}:{}  {}  {}{}",
                paint(c, PATH, &display_path(result, f.root, &f.path)),
                f.line,
                f.column,
                paint(c, style, &f.rule_id),
                f.message,
                paint(c, DIM, fixable),
            )?;
            let src = f.source_line.trim_end();
            if !src.trim().is_empty() {
                writeln!(out, "    {}", truncate(src, 200))?;
            }
        }
        for e in &result.errors {
            writeln!(
                out,
                "{}: {} {}",
                paint(c, PATH, &error_path(result, e)),
                paint(c, ERROR, "error:"),
                e.message
            )?;
        }
        if !result.findings.is_empty() || !result.errors.is_empty() {
            writeln!(out)?;
        }
        writeln!(out, "{}", summary_line(result))
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// `3 findings (2 fixable with `imds-migrate fix`, 1 more with `--unsafe-fixes`) in 120 files;
/// 1 error; skipped: 2 binary`.
pub fn summary_line(result: &ScanResult) -> String {
    let s = &result.summary;
    let fixes = FixCounts::of(&result.findings).sentence();
    let fixable = if fixes.is_empty() {
        fixes
    } else {
        format!(" ({fixes})")
    };
    let files = if s.files_scanned == 1 {
        "file"
    } else {
        "files"
    };
    let mut line = format!(
        "{}{fixable} in {} {files}",
        plural(s.findings, "finding"),
        s.files_scanned
    );
    if s.errors > 0 {
        line.push_str(&format!("; {}", plural(s.errors, "error")));
    }
    let skipped = skipped_text(&s.skipped);
    if !skipped.is_empty() {
        line.push_str(&format!("; skipped: {skipped}"));
    }
    line
}

fn skipped_text(s: &Skipped) -> String {
    let mut parts = Vec::new();
    if s.binary > 0 {
        parts.push(format!("{} binary", s.binary));
    }
    if s.logs > 0 {
        parts.push(format!("{} log files", s.logs));
    }
    if s.too_large > 0 {
        parts.push(format!("{} too large (see --max-filesize)", s.too_large));
    }
    if s.symlinks > 0 {
        parts.push(format!("{} symlinks (not followed)", s.symlinks));
    }
    if s.unreadable > 0 {
        parts.push(format!("{} unreadable", s.unreadable));
    }
    parts.join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

//! The human report: `path:line:col: ID message`, a code frame (gutter, carets), the fix, and a
//! summary, as ruff prints it.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use super::{
    FixCounts, Report, ReportOptions, display_path, error_path,
    frame::{self, Sources, Styles},
};
use crate::{
    finding::{Applicability, Severity},
    scan::{ScanResult, Skipped},
    snippet::escape_control,
};

pub struct Text;

const PATH: Style = Style::new().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const INFO: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);
const GUTTER: Style = AnsiColor::Blue.on_default().effects(Effects::BOLD);
const REMOVED: Style = AnsiColor::Red.on_default();
const ADDED: Style = AnsiColor::Green.on_default();

/// The IMDS token URL, which `explain` and the SARIF help carry: repeated in every line of a
/// report it hides what differs between findings.
const IMDS_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

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
        let styles = if c {
            Styles {
                gutter: GUTTER,
                caret: ERROR,
                removed: REMOVED,
                added: ADDED,
            }
        } else {
            Styles::default()
        };
        let mut sources = Sources::default();
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
            let place = format!(
                "{}:{}:{}:",
                escape_control(&display_path(result, f.root, &f.path)),
                f.line,
                f.column
            );
            let message = format!("{}{fixable}", escape_control(&short_message(&f.message)));
            // Wrapped after the rule id, continuation lines indented by four.
            let lead = place.chars().count() + 1 + f.rule_id.len() + 1;
            let wrapped = wrap(&message, opts.width, lead);
            writeln!(
                out,
                "{} {} {}",
                paint(c, PATH, &place),
                paint(c, style, &f.rule_id),
                wrapped
            )?;
            let lines = sources.file(result, f);
            out.write_all(frame::render(f, lines, styles).as_bytes())?;
            if let Some(fix) = &f.fix {
                let how = match fix.applicability {
                    Applicability::Safe => "fix",
                    Applicability::Unsafe => "unsafe fix",
                };
                writeln!(
                    out,
                    "  {} {}",
                    paint(c, GUTTER, &format!("= {how}:")),
                    wrap(&escape_control(&fix.description), opts.width, how.len() + 5)
                )?;
                if opts.show_fixes
                    && let Some(diff) = frame::fix_diff(&fix.edits, lines, styles)
                {
                    out.write_all(diff.as_bytes())?;
                }
            }
            writeln!(out)?;
        }
        for e in &result.errors {
            writeln!(
                out,
                "{}: {} {}",
                paint(c, PATH, &escape_control(&error_path(result, e))),
                paint(c, ERROR, "error:"),
                escape_control(&e.message)
            )?;
        }
        for n in &result.notes {
            writeln!(
                out,
                "{}: {} {}",
                paint(c, PATH, &escape_control(&error_path(result, n))),
                paint(c, INFO, "note:"),
                escape_control(&n.message)
            )?;
        }
        if !result.errors.is_empty() || !result.notes.is_empty() {
            writeln!(out)?;
        }
        // The summary stays the last line: scripts read it with `tail -1`.
        let c_fix = FixCounts::of(&result.findings);
        if c_fix.fixable + c_fix.unsafe_fixable > 0 && !opts.show_fixes {
            writeln!(
                out,
                "{}",
                paint(
                    c,
                    DIM,
                    "(`--show-fixes` shows each fix as a diff; `imds-migrate fix --diff` prints them all)"
                )
            )?;
        }
        writeln!(out, "{}", summary_line(result))?;
        Ok(())
    }
}

/// The message without the IMDS token URL, which every token finding would otherwise repeat.
pub fn short_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    // A parenthesised aside that gives the URL: `IMDS (http://169.254...)` becomes `IMDS`.
    while let Some(open) = rest.find(" (") {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let aside = &rest[open..=open + close];
        if aside.contains(IMDS_URL) {
            out.push_str(&rest[..open]);
        } else {
            out.push_str(&rest[..=open + close]);
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    // A URL quoted inline becomes its name; the query it carried is in `explain`.
    let mut text = out;
    while let Some(at) = text.find(&format!("`{IMDS_URL}")) {
        let Some(len) = text[at + 1..].find('`') else {
            break;
        };
        text.replace_range(at..at + len + 2, "the IMDS token URL");
    }
    text
}

/// Word-wraps `text` to `width` columns when there is a width, continuing lines under an
/// indent of four; `first` columns are already taken on the first line.
fn wrap(text: &str, width: Option<usize>, first: usize) -> String {
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut col = first;
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 {
            if col + 1 + len > width && col > 4 {
                out.push_str("\n    ");
                col = 4;
            } else {
                out.push(' ');
                col += 1;
            }
        }
        out.push_str(word);
        col += len;
    }
    out
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
    if s.notes > 0 {
        line.push_str(&format!("; {} searched as text", plural(s.notes, "note")));
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

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

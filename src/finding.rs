//! Findings, fixes and edits: the plain data every analyzer produces and every report consumes.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered so that `Error` is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Whether `fix` may apply a fix on its own. Ordered like ruff's: `Unsafe < Safe`.
/// A finding without a fix is left for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Changes behaviour a person should review (applied with `--unsafe-fixes`).
    Unsafe,
    /// Keeps the intent of the code; applied by `fix`.
    Safe,
}

/// Replace the bytes `range` of the decoded text with `content`.
/// Inserted line breaks are written as `\n`; the fix engine converts them to the file's line ending.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub content: String,
}

impl Edit {
    pub fn deletion(range: Range<usize>) -> Self {
        Edit {
            range,
            content: String::new(),
        }
    }

    pub fn replacement(range: Range<usize>, content: impl Into<String>) -> Self {
        Edit {
            range,
            content: content.into(),
        }
    }

    pub fn insertion(at: usize, content: impl Into<String>) -> Self {
        Edit {
            range: at..at,
            content: content.into(),
        }
    }
}

/// A set of edits that must be applied together, or not at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub applicability: Applicability,
    pub description: String,
    /// Sorted by start, non-overlapping (guaranteed by [`Fix::new`]).
    pub edits: Vec<Edit>,
    /// Edits that tidy up after the fix (variables or parameters it leaves unused). Applied with
    /// the fix only under `--unsafe-fixes`, since something outside the file may still use them.
    /// Set with [`Fix::with_cleanup`]; never overlaps `edits`.
    pub cleanup: Vec<Edit>,
}

impl Fix {
    /// Sorts the edits and merges duplicates. Returns `None` when two edits overlap, which is
    /// an analyzer bug: such a fix would be ambiguous, so it is dropped rather than applied.
    pub fn new(
        applicability: Applicability,
        description: impl Into<String>,
        mut edits: Vec<Edit>,
    ) -> Option<Self> {
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        edits.dedup();
        if edits.is_empty() {
            return None;
        }
        for pair in edits.windows(2) {
            let overlapping = pair[1].range.start < pair[0].range.end;
            // Two insertions at one point have no defined order.
            let same_point = pair[0].range == pair[1].range && pair[0].range.is_empty();
            if overlapping || same_point {
                return None;
            }
        }
        Some(Fix {
            applicability,
            description: description.into(),
            edits,
            cleanup: Vec::new(),
        })
    }

    /// Adds cleanup edits; returns the fix unchanged when they would overlap its edits or each other.
    #[must_use]
    pub fn with_cleanup(mut self, mut cleanup: Vec<Edit>) -> Self {
        cleanup.sort_by_key(|e| (e.range.start, e.range.end));
        cleanup.dedup();
        let mut all: Vec<&Edit> = self.edits.iter().chain(&cleanup).collect();
        all.sort_by_key(|e| (e.range.start, e.range.end));
        let clash = all.windows(2).any(|p| {
            p[1].range.start < p[0].range.end || (p[0].range == p[1].range && p[0].range.is_empty())
        });
        if !clash {
            self.cleanup = cleanup;
        }
        self
    }

    /// The edits to apply: with or without the cleanup, sorted.
    pub fn edits_for(&self, unsafe_fixes: bool) -> Vec<&Edit> {
        let mut v: Vec<&Edit> = self.edits.iter().collect();
        if unsafe_fixes {
            v.extend(&self.cleanup);
            v.sort_by_key(|e| (e.range.start, e.range.end));
        }
        v
    }

    pub fn safe(description: impl Into<String>, edits: Vec<Edit>) -> Option<Self> {
        Fix::new(Applicability::Safe, description, edits)
    }

    pub fn unsafe_(description: impl Into<String>, edits: Vec<Edit>) -> Option<Self> {
        Fix::new(Applicability::Unsafe, description, edits)
    }

    /// The smallest range covering every edit.
    pub fn range(&self) -> Range<usize> {
        let start = self.edits.first().map_or(0, |e| e.range.start);
        let end = self
            .edits
            .iter()
            .map(|e| e.range.end)
            .max()
            .unwrap_or(start);
        start..end
    }
}

/// What an analyzer reports: a rule, a byte range of the text it analyzed, a message and
/// possibly a fix. Positions become lines and columns later, in [`Finding`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub range: Range<usize>,
    pub message: String,
    pub fix: Option<Fix>,
    /// Set when the match is only a usage if some extension in the repository declares this
    /// port in its settings (e.g. `http://localhost:50343/oauth2/token`). The scan keeps it
    /// once every file has been read and the declared ports are known.
    pub requires_port: Option<u16>,
    /// Set when the match is a usage only if the repository cannot be shown to depend on a
    /// fixed version of this ecosystem's credential library (IMDS042): the scan decides once
    /// every manifest has been read.
    pub depends_on: Option<&'static str>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, range: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            range,
            message: message.into(),
            fix: None,
            requires_port: None,
            depends_on: None,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    /// A fix, or the reason there is none, told in the message: a finding left for a person
    /// says why.
    #[must_use]
    pub fn with_fix_or_reason(mut self, fix: Result<Fix, String>) -> Self {
        match fix {
            Ok(f) => self.fix = Some(f),
            Err(why) => {
                self.message.push_str(". Not fixed automatically: ");
                self.message.push_str(&why);
            }
        }
        self
    }

    #[must_use]
    pub fn requiring_port(mut self, port: u16) -> Self {
        self.requires_port = Some(port);
        self
    }

    #[must_use]
    pub fn depending_on(mut self, ecosystem: &'static str) -> Self {
        self.depends_on = Some(ecosystem);
        self
    }

    /// Moves every range by `delta` bytes: used when a sub-text (a Markdown code block) was analyzed.
    #[must_use]
    pub fn shifted(mut self, delta: usize) -> Self {
        self.range = self.range.start + delta..self.range.end + delta;
        if let Some(fix) = &mut self.fix {
            for edit in fix.edits.iter_mut().chain(fix.cleanup.iter_mut()) {
                edit.range = edit.range.start + delta..edit.range.end + delta;
            }
        }
        self
    }
}

/// A located finding, ready for reports. Lines and columns are 1-based; columns count characters
/// of the decoded text; `end_column` is exclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    /// Relative to the scan root, with forward slashes.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub fix: Option<FixSummary>,
    /// The kind of file (`arm`, `powershell`, `code`...), as in rule files' `file_kinds`.
    pub file_kind: &'static str,
    /// Byte range in the decoded text; used by `fix`, not part of the JSON contract.
    #[serde(skip)]
    pub range: Range<usize>,
    /// A window of the source line the finding starts on, at most
    /// [`crate::snippet::MAX_CHARS`] characters around the finding (for text, SARIF and HTML
    /// reports); the whole line when it is short.
    #[serde(skip)]
    pub source_line: String,
    /// The 1-based column (in characters) of the line at which `source_line` starts: 1 unless
    /// the line was cut before the finding.
    #[serde(skip)]
    pub source_column: usize,
    /// The line goes on after `source_line`.
    #[serde(skip)]
    pub source_truncated: bool,
    /// Which scan root the path is relative to (index into the roots given on the command line).
    #[serde(skip)]
    pub root: usize,
}

/// The public face of a fix in reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixSummary {
    pub applicability: Applicability,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<LocatedEdit>,
}

/// An edit with line/column positions, for SARIF `fixes` and the HTML report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocatedEdit {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub content: String,
}

impl Finding {
    /// The order of every report: path, line, column, rule.
    pub fn sort_key(&self) -> (usize, &str, usize, usize, &str) {
        (self.root, &self.path, self.line, self.column, &self.rule_id)
    }
}

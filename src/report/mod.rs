//! Reports: one file per output format, all behind one trait.

pub mod azure;
pub mod frame;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod json;
pub mod junit;
pub mod repo;
pub mod sarif;
pub mod statistics;
pub mod text;

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
    sync::OnceLock,
};

use crate::{
    finding::{Applicability, Finding},
    scan::{FileError, ScanResult},
};

/// Everything a report may show besides the scan result.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportOptions {
    pub color: bool,
    /// The terminal's width, for wrapping text; `None` when not writing to a terminal.
    pub width: Option<usize>,
    /// Text: show each fix as a short diff under its finding.
    pub show_fixes: bool,
    /// When the report was made (Unix seconds), for reports that say so (HTML).
    pub generated_at: Option<u64>,
}

pub trait Report {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &ScanResult,
        opts: ReportOptions,
    ) -> io::Result<()>;
}

/// How a finding's path is shown to a person: joined to its root unless the root is `.`, and
/// relative to the current directory when the root is an absolute path inside it (as ripgrep
/// and ruff show paths), so what is printed is what a command run from here can open.
pub fn display_path(result: &ScanResult, root: usize, rel: &str) -> String {
    let root_path = &result.roots[root];
    let joined = if root_path.is_file() {
        root_path.display().to_string()
    } else {
        let r = root_path.to_string_lossy();
        if r == "." || r == "./" {
            rel.to_owned()
        } else {
            format!("{}/{rel}", r.trim_end_matches('/'))
        }
    };
    relative_to_cwd(&joined)
}

/// `joined` without the working directory's prefix when it is an absolute path below it.
fn relative_to_cwd(joined: &str) -> String {
    static CWD: OnceLock<Option<PathBuf>> = OnceLock::new();
    let path = Path::new(joined);
    if !path.is_absolute() {
        return joined.to_owned();
    }
    match CWD.get_or_init(|| std::env::current_dir().ok()) {
        Some(cwd) => match path.strip_prefix(cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
            _ => joined.to_owned(),
        },
        None => joined.to_owned(),
    }
}

/// Where a per-file error is, as shown to a person. Errors about a root itself (a walk error
/// with no path) carry the root's own path, which must not be joined to the root again.
pub fn error_path(result: &ScanResult, e: &FileError) -> String {
    match result.roots.get(e.root) {
        Some(root) if root.display().to_string() == e.path => e.path.clone(),
        Some(_) => display_path(result, e.root, &e.path),
        None => e.path.clone(),
    }
}

/// Where tokens come from after the migration. The text report leaves the URL out of its
/// messages; `explain` and the SARIF rule help carry it, for every rule.
pub fn imds_note() -> String {
    format!(
        "Tokens come from IMDS: GET http://169.254.169.254/metadata/identity/oauth2/token?api-version={}&resource=<resource> with the header `Metadata: true`; nothing is installed on the VM.",
        crate::analyzers::DEFAULT_API_VERSION
    )
}

/// How many findings `fix` fixes on its own and how many more `--unsafe-fixes` adds. Every
/// format says it with these numbers and [`FixCounts::sentence`], so they never disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FixCounts {
    /// Findings with a safe fix: what `imds-migrate fix` applies.
    pub fixable: usize,
    /// Findings whose fix is unsafe: applied only with `--unsafe-fixes`.
    pub unsafe_fixable: usize,
    /// Findings no fix covers: a person migrates them.
    pub manual: usize,
}

impl FixCounts {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut c = FixCounts::default();
        for f in findings {
            match f.fix.as_ref().map(|x| x.applicability) {
                Some(Applicability::Safe) => c.fixable += 1,
                Some(Applicability::Unsafe) => c.unsafe_fixable += 1,
                None => c.manual += 1,
            }
        }
        c
    }

    /// "3 fixable with `imds-migrate fix`, 1 more with `--unsafe-fixes`"; empty when nothing
    /// is fixable.
    pub fn sentence(&self) -> String {
        match (self.fixable, self.unsafe_fixable) {
            (0, 0) => String::new(),
            (n, 0) => format!("{n} fixable with `imds-migrate fix`"),
            (n, m) => {
                format!("{n} fixable with `imds-migrate fix`, {m} more with `--unsafe-fixes`")
            }
        }
    }
}

/// `text` with each character `table` names replaced by its escape; one pass, so escapes are
/// never escaped again. Every format's escaping (workflow commands, XML, HTML) is such a table.
pub fn escape_with(text: &str, table: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match table.iter().find(|(k, _)| *k == c) {
            Some((_, esc)) => out.push_str(esc),
            None => out.push(c),
        }
    }
    out
}

/// `12345` as `12,345`: counts in reports people read.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn fix_sentence_names_both_kinds() {
        let c = FixCounts {
            fixable: 4,
            unsafe_fixable: 1,
            manual: 2,
        };
        assert_eq!(
            c.sentence(),
            "4 fixable with `imds-migrate fix`, 1 more with `--unsafe-fixes`"
        );
        assert_eq!(FixCounts::default().sentence(), "");
    }
}

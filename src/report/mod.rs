//! Reports: one file per output format, all behind one trait.

pub mod github;
pub mod html;
pub mod json;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::scan::{FileError, ScanResult};

/// Everything a report may show besides the scan result.
#[derive(Clone, Copy, Debug)]
pub struct ReportOptions {
    pub color: bool,
}

pub trait Report {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &ScanResult,
        opts: ReportOptions,
    ) -> io::Result<()>;
}

/// How a finding's path is shown to a person: joined to its root unless the root is `.`.
pub fn display_path(result: &ScanResult, root: usize, rel: &str) -> String {
    let root_path = &result.roots[root];
    if root_path.is_file() {
        return root_path.display().to_string();
    }
    let r = root_path.to_string_lossy();
    if r == "." || r == "./" {
        rel.to_owned()
    } else {
        format!("{}/{rel}", r.trim_end_matches('/'))
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

//! `-v` for `scan`: which configuration each root used, what was skipped and why, and how long
//! the scan took, on standard error so reports on standard output stay clean.

use std::{fmt::Write as _, time::Duration};

use crate::{cli::CommonArgs, config, report::FixCounts, scan::ScanResult};

/// What `scan -v` prints before the report.
pub fn scan_report(common: &CommonArgs, result: &ScanResult, elapsed: Duration) {
    eprint!("{}", describe(common, result, elapsed));
}

fn describe(common: &CommonArgs, result: &ScanResult, elapsed: Duration) -> String {
    let mut s = String::new();
    for (i, root) in result.roots.iter().enumerate() {
        let config = match (&common.config, common.no_config) {
            (Some(path), _) => format!("{} (--config)", path.display()),
            (None, true) => "none (--no-config)".to_owned(),
            (None, false) => config::discover(root)
                .map_or_else(|| "none found".to_owned(), |p| p.display().to_string()),
        };
        let _ = writeln!(
            s,
            "imds-migrate: root {}: configuration: {config}",
            root.display()
        );
        if let Some(sum) = result.root_summaries.get(i) {
            let _ = writeln!(
                s,
                "imds-migrate: root {}: {} files scanned, {} analyzed, {} findings, {} errors",
                root.display(),
                sum.files_scanned,
                sum.files_analyzed,
                sum.findings,
                sum.errors
            );
            let k = &sum.skipped;
            for (n, why) in [
                (k.binary, "binary files (not text)"),
                (k.logs, "log files (quoted errors, never usages)"),
                (k.too_large, "files larger than --max-filesize"),
                (k.symlinks, "symlinks (not followed)"),
                (k.unreadable, "unreadable files"),
            ] {
                if n > 0 {
                    let _ = writeln!(
                        s,
                        "imds-migrate: root {}: skipped {n} {why}",
                        root.display()
                    );
                }
            }
        }
    }
    for e in &result.errors {
        let _ = writeln!(
            s,
            "imds-migrate: not scanned: {}: {}",
            crate::report::error_path(result, e),
            e.message
        );
    }
    let fixes = FixCounts::of(&result.findings).sentence();
    let _ = writeln!(
        s,
        "imds-migrate: scanned {} files in {:.2?}{}",
        result.summary.files_scanned,
        elapsed,
        if fixes.is_empty() {
            String::new()
        } else {
            format!("; {fixes}")
        }
    );
    s
}

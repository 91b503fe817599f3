//! `-v` for `scan`: what each root held, what was skipped and why, and how long the scan took,
//! on standard error so reports on standard output stay clean. (Which configuration each root
//! used is said by `options::log_config`, for `scan` and `fix` alike.)

use std::{fmt::Write as _, time::Duration};

use crate::{report::FixCounts, scan::ScanResult, snippet::escape_control};

/// What `scan -v` prints before the report.
pub fn scan_report(result: &ScanResult, elapsed: Duration) {
    let text = describe(result, elapsed);
    crate::stdio::note(text.trim_end_matches('\n'));
}

fn describe(result: &ScanResult, elapsed: Duration) -> String {
    let mut s = String::new();
    for (i, root) in result.roots.iter().enumerate() {
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
    for e in &result.skipped_files {
        let _ = writeln!(
            s,
            "imds-migrate: skipped: {}: {}",
            escape_control(&crate::report::error_path(result, e)),
            e.message
        );
    }
    for e in &result.errors {
        let _ = writeln!(
            s,
            "imds-migrate: not scanned: {}: {}",
            escape_control(&crate::report::error_path(result, e)),
            escape_control(&e.message)
        );
    }
    for n in &result.notes {
        let _ = writeln!(
            s,
            "imds-migrate: searched as text only: {}: {}",
            escape_control(&crate::report::error_path(result, n)),
            escape_control(&n.message)
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

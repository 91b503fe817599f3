//! The text report is read on terminals: whatever a file is named and whatever its lines hold,
//! the output carries no control character but the line breaks it writes itself.
#![cfg(unix)]

use std::{ffi::OsStr, fs, os::unix::ffi::OsStrExt};

use imds_migrate::{
    report::{Report, ReportOptions, text::Text},
    scan::{self, ScanOptions},
};
use proptest::prelude::*;

fn text_report(dir: &std::path::Path) -> String {
    let opts = ScanOptions {
        roots: vec![dir.to_path_buf()],
        threads: 1,
        ..ScanOptions::default()
    };
    let result = scan::scan(&opts);
    assert!(!result.findings.is_empty(), "the usage is found");
    let mut out = Vec::new();
    // With the fixes shown too: their diff lines come from the file, not the finding.
    let opts = ReportOptions {
        show_fixes: true,
        ..ReportOptions::default()
    };
    Text.write(&mut out, &result, opts).unwrap();
    String::from_utf8(out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_control_characters_in_text_output(
        name in proptest::collection::vec(any::<u8>().prop_filter("a file name byte", |b| *b != b'/' && *b != 0), 1..24),
        before in "[\\x01-\\x09\\x0b-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202e}a-z \\t\\r]{0,40}",
        after in "[\\x01-\\x09\\x0b-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202e}a-z \\t\\r]{0,40}",
    ) {
        prop_assume!(name != b"." && name != b"..");
        let dir = tempfile::tempdir().unwrap();
        let mut file_name = name.clone();
        file_name.extend_from_slice(b".py");
        fs::write(
            dir.path().join(OsStr::from_bytes(&file_name)),
            format!("{before}u = 'http://localhost:50342/oauth2/token'{after}\n"),
        )
        .unwrap();
        let out = text_report(dir.path());
        let bad: Vec<char> = out.chars().filter(|&c| c != '\n' && (c.is_control() || c == '\u{202e}')).collect();
        prop_assert!(bad.is_empty(), "{bad:?} in {out:?}");
    }
}

//! The PowerShell and shell command parsers on arbitrary input: no panic, ranges inside the text.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, imds_migrate::kind::FileKind::PowerShell);
    common::check(data, imds_migrate::kind::FileKind::Shell);
});

//! The ARM/JSONC analyzer on arbitrary input: no panic, ranges inside the text.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, imds_migrate::kind::FileKind::Arm);
    common::check(data, imds_migrate::kind::FileKind::ArmParameters);
});

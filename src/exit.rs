//! Exit codes shared by every subcommand.

/// Nothing found, nothing failed.
pub const CLEAN: i32 = 0;
/// Findings (or per-file errors) remain.
pub const FINDINGS: i32 = 1;
/// Usage or fatal error.
pub const FATAL: i32 = 2;

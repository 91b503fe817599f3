//! Writing to standard output and error that may be closed (`| head -1`): a failed write is
//! dropped, never a panic and never a reason to stop the work.

use std::io::{self, Write};

/// One line on standard error. `eprintln!` would panic if standard error is closed, and a
/// progress line is not worth stopping a `fix` half-way through.
pub fn note(line: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}

/// `eprintln!` that survives a closed standard error: formats like it, writes through [`note`].
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::stdio::note(&format!($($arg)*))
    };
}

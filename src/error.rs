//! The error that ends a run (exit code 2). Problems with single files are not errors of this
//! kind: they are reported and the run goes on.

use std::{fmt, path::Path};

#[derive(Debug)]
pub struct Error {
    pub message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// An I/O error on `path`, with what we were doing.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        Error::new(format!("cannot {action} {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

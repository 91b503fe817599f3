//! `imds-migrate fix`: applies fixes as minimal edits, renders diffs, and (through [`writer`])
//! is the only code that writes files.

pub mod apply;
pub mod writer;

use crate::{cli::FixArgs, error::Result};

pub fn run(_args: &FixArgs, _color: bool, _verbose: bool) -> Result<i32> {
    Err(crate::error::Error::new("fix is not built yet"))
}

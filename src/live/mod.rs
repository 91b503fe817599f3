//! Live mode: list and remove deployed Managed Identity extensions through Azure Resource Manager.

use crate::{cli::live::LiveArgs, error::Result};

pub fn run(_args: &LiveArgs, _color: bool, _verbose: bool) -> Result<i32> {
    Err(crate::error::Error::new("live mode is not built yet"))
}

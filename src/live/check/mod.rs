//! Guest check: asks each machine that still has the extension, through ARM Run Command and a
//! fixed read-only script, whether anything on it still calls the extension's token endpoint.
//!
//! `script` holds the two scripts, `request` builds the Run Command body from validated inputs,
//! `parse` reads Azure's result shapes and the script's report, `verdict` decides, `run` asks
//! the machines (and gates `remove --check-guest`), `output` renders `live check`.

pub mod output;
pub mod parse;
pub mod request;
pub mod run;
pub mod script;
pub mod verdict;

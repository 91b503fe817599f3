//! Flags of `imds-migrate live`.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(subcommand)]
    pub command: LiveCommand,
}

#[derive(Debug, Subcommand)]
pub enum LiveCommand {
    /// List deployed Managed Identity extensions on VMs and scale sets.
    List,
    /// Remove them (prints the plan only, unless --yes).
    Remove,
}

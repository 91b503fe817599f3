//! Shell completion scripts and the man page, generated from the clap definitions so they
//! never drift from `--help`.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::{
    cli::{Cli, Shell},
    error::{Error, Result},
    exit, output,
};

pub fn completions(shell: Shell) -> Result<i32> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Elvish => Target::Elvish,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(target, &mut cmd, "imds-migrate", &mut buf);
    output::write_stdout(&buf)?;
    Ok(exit::CLEAN)
}

pub fn man() -> Result<i32> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::new(format!("cannot render the man page: {e}")))?;
    // One page for the program; each subcommand's options follow as their own pages would,
    // so `man imds-migrate` alone documents every flag.
    for sub in Cli::command().get_subcommands() {
        let name = format!("imds-migrate-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone())
            .title(name)
            .render(&mut buf)
            .map_err(|e| Error::new(format!("cannot render the man page: {e}")))?;
    }
    output::write_stdout(&buf)?;
    Ok(exit::CLEAN)
}

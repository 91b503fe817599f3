use std::process::ExitCode;

use clap::Parser;
use imds_migrate::{app, cli::Cli, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match app::run(cli) {
        Ok(code) => code,
        Err(err) => {
            imds_migrate::stdio::note(&format!("imds-migrate: error: {err}"));
            exit::FATAL
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

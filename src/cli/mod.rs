//! Command-line definitions of every subcommand and flag (clap derive). No I/O here.

pub mod live;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// Option groups, the same in every subcommand's `--help`.
pub const FILES: &str = "Files";
pub const RULES: &str = "Rules";
pub const CONFIG: &str = "Configuration";
pub const OUTPUT: &str = "Output";
pub const RESULT: &str = "Fixes and exit status";
pub const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "imds-migrate",
    version,
    about = "Find, fix and remove uses of the retired Azure Managed Identity VM extension; move to IMDS",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output (`auto` honours `NO_COLOR`, `CLICOLOR_FORCE` and `FORCE_COLOR`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = GLOBAL)]
    pub color: ColorChoice,
    /// Say more about what is happening (on stderr). Access tokens are never printed.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report every use of the Managed Identity VM extension under PATHs.
    Scan(ScanArgs),
    /// Rewrite what `scan` finds: remove the extension, switch token URLs to IMDS.
    Fix(FixArgs),
    /// List the rules.
    Rules(RulesArgs),
    /// Explain one rule: why it matters and how to migrate.
    Explain(ExplainArgs),
    /// Find and remove deployed Managed Identity extensions through Azure Resource Manager.
    Live(live::LiveArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) to standard output.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `imds-migrate completions bash > /etc/bash_completion.d/imds-migrate`.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What `scan` and `fix` share: which files, which rules, which settings.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Files or directories to scan [default: .]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only these rules (ids, id prefixes or names; comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULE", help_heading = RULES)]
    pub select: Vec<String>,
    /// Not these rules (ids, id prefixes or names).
    #[arg(long, value_delimiter = ',', value_name = "RULE", help_heading = RULES)]
    pub ignore: Vec<String>,
    /// Skip paths matching this glob (gitignore syntax, relative to the root; repeatable).
    #[arg(long, value_name = "GLOB", help_heading = FILES)]
    pub exclude: Vec<String>,
    /// Also treat this port as the extension's (besides 50342 and ports declared in the repository).
    #[arg(long = "port", value_name = "PORT", help_heading = RULES)]
    pub ports: Vec<u16>,
    /// IMDS api-version written into rewritten token URLs [default: 2018-02-01].
    #[arg(long, value_name = "VERSION", help_heading = RULES)]
    pub api_version: Option<String>,
    /// Skip files larger than this many bytes [default: 67108864].
    #[arg(long, value_name = "BYTES", help_heading = FILES)]
    pub max_filesize: Option<u64>,
    /// Worker threads (0: one per core).
    #[arg(short = 'j', long, default_value_t = 0, help_heading = FILES)]
    pub threads: usize,
    /// Do not honour .gitignore and .ignore files.
    #[arg(long, help_heading = FILES)]
    pub no_ignore: bool,
    /// Use this configuration file instead of the nearest imds-migrate.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config", help_heading = CONFIG)]
    pub config: Option<PathBuf>,
    /// Ignore imds-migrate.toml files.
    #[arg(long, help_heading = CONFIG)]
    pub no_config: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, one finding per line plus its source line.
    Text,
    /// Machine-readable; the contract CI systems rely on.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// Azure Pipelines logging commands: one `task.logissue` per finding and a `task.complete`.
    Azure,
    /// GitLab Code Quality report (JSON), for the merge request widget.
    Gitlab,
    /// `JUnit` XML: one test case per rule, one failure per finding.
    Junit,
    /// A self-contained HTML audit report with charts (use with --output).
    Html,
}

/// Formats of `rules`: the report formats describe scan results, not the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// One rule per line.
    Text,
    /// The full rule definitions.
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = OUTPUT)]
    pub format: Format,
    /// Write the report to FILE instead of standard output (`-`: standard output). Devices,
    /// FIFOs and symlinks are written through; an existing file keeps its mode and owner.
    #[arg(short, long, value_name = "FILE", help_heading = OUTPUT)]
    pub output: Option<PathBuf>,
    /// Text format: show each fix as a short diff under its finding.
    #[arg(long, help_heading = OUTPUT)]
    pub show_fixes: bool,
    /// Print the number of findings per rule instead of the findings (text or json).
    #[arg(long, help_heading = OUTPUT)]
    pub statistics: bool,
    /// Exit 0 even when there are findings (fatal errors still exit 2).
    #[arg(long, help_heading = RESULT)]
    pub exit_zero: bool,
    /// Not available: `scan` only reports. Run `imds-migrate fix` instead.
    #[arg(long, hide = true)]
    pub fix: bool,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Write nothing; print a unified diff that `git apply` accepts from the current directory.
    #[arg(long, help_heading = OUTPUT)]
    pub diff: bool,
    /// Also apply fixes marked unsafe (they change behaviour a person should review).
    #[arg(long, help_heading = RESULT)]
    pub unsafe_fixes: bool,
    /// Also rewrite read-only files, and files with several hard links (updated in place).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// How to list the rules.
    #[arg(long, help_heading = OUTPUT, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id (IMDS001) or name (arm-extension-resource).
    pub rule: String,
}

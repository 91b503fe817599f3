//! Wires the modules together for each subcommand and decides the exit code.

use std::{
    io::{self, IsTerminal},
    time::Instant,
};

use clap::ValueEnum;

use crate::{
    cli::{Cli, ColorChoice, Command, ExplainArgs, Format, RulesArgs, RulesFormat, ScanArgs},
    error::{Error, Result},
    exit, options,
    output::{self, Destination},
    report::{self, Report, ReportOptions},
    rules::catalogue,
    scan::{self, ScanResult},
};

pub fn run(cli: Cli) -> Result<i32> {
    let color = color_enabled(cli.color, io::stdout().is_terminal(), &|name| {
        std::env::var_os(name)
    });
    match cli.command {
        Command::Scan(args) => run_scan(&args, color, cli.verbose),
        Command::Fix(args) => crate::fix::run(&args, color, cli.verbose),
        Command::Rules(args) => run_rules(&args),
        Command::Explain(args) => run_explain(&args),
        Command::Live(args) => crate::live::run(&args, color, cli.verbose),
        Command::Completions(args) => crate::generate::completions(args.shell),
        Command::Man => crate::generate::man(),
    }
}

/// `--color auto` colours a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` or
/// `FORCE_COLOR` (anything but empty or `0`) colour even a pipe, as in CI logs that render ANSI.
pub fn color_enabled(
    choice: ColorChoice,
    terminal: bool,
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if env("NO_COLOR").is_some_and(|v| !v.is_empty()) => false,
        ColorChoice::Auto => terminal || set("CLICOLOR_FORCE") || set("FORCE_COLOR"),
    }
}

fn run_scan(args: &ScanArgs, color: bool, verbose: bool) -> Result<i32> {
    if args.fix {
        return Err(Error::new(
            "`scan` only reports; run `imds-migrate fix` to apply fixes (`fix --diff` to preview them)",
        ));
    }
    let started = Instant::now();
    let per_root = options::scan_options(&args.common)?;
    options::log_config(&per_root, verbose);
    let result = ScanResult::merge(per_root.iter().map(scan::scan).collect());
    let dest = Destination::from_arg(args.output.as_deref());
    if verbose {
        crate::verbose::scan_report(&result, started.elapsed());
    }
    let exit = if args.exit_zero {
        exit::CLEAN
    } else {
        scan_exit_code(&result)
    };
    if args.statistics {
        let text = match args.format {
            Format::Json => report::statistics::json(&result),
            Format::Text => report::statistics::text(&result),
            other => {
                return Err(Error::new(format!(
                    "--statistics prints text or json, not {}",
                    other
                        .to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_owned())
                )));
            }
        };
        dest.write(text.as_bytes())?;
        return Ok(exit);
    }
    let reporter: Box<dyn Report> = match args.format {
        Format::Text => Box::new(report::text::Text),
        Format::Json => Box::new(report::json::Json),
        Format::Sarif => Box::new(report::sarif::Sarif),
        Format::Github => Box::new(report::github::Github),
        Format::Azure => Box::new(report::azure::Azure),
        Format::Gitlab => Box::new(report::gitlab::Gitlab),
        Format::Junit => Box::new(report::junit::Junit),
        Format::Html => Box::new(report::html::Html),
    };
    let mut buf = Vec::new();
    reporter
        .write(
            &mut buf,
            &result,
            ReportOptions {
                color: color && dest.is_stdout(),
                width: if dest.is_stdout() {
                    terminal_width()
                } else {
                    None
                },
                show_fixes: args.show_fixes,
                generated_at: Some(generated_at()),
            },
        )
        .map_err(|e| Error::new(format!("cannot render report: {e}")))?;
    dest.write(&buf)?;
    Ok(exit)
}

/// Now, or `SOURCE_DATE_EPOCH` when set, so a report can be rebuilt byte for byte.
fn generated_at() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

/// The terminal's width when standard output is one (`COLUMNS` wins, as for other tools).
fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&n| n >= 20)
    {
        return Some(n);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
}

pub fn scan_exit_code(result: &ScanResult) -> i32 {
    if result.findings.is_empty() && result.errors.is_empty() {
        exit::CLEAN
    } else {
        exit::FINDINGS
    }
}

fn run_rules(args: &RulesArgs) -> Result<i32> {
    let cat = catalogue();
    let mut out = String::new();
    match args.format {
        RulesFormat::Json => {
            let rules: Vec<_> = cat.iter().collect();
            out = serde_json::to_string_pretty(&rules).expect("rules serialize");
            out.push('\n');
        }
        RulesFormat::Text => {
            out.push_str(&format!(
                "{:<8} {:<30} {:<8} {:<7} {}\n",
                "ID", "NAME", "SEVERITY", "FIX", "TITLE"
            ));
            for r in cat.iter() {
                out.push_str(&format!(
                    "{:<8} {:<30} {:<8} {:<7} {}\n",
                    r.id,
                    r.name,
                    r.severity.as_str(),
                    r.fix.as_str(),
                    r.title
                ));
            }
        }
    }
    print_stdout(&out)?;
    Ok(exit::CLEAN)
}

fn run_explain(args: &ExplainArgs) -> Result<i32> {
    let cat = catalogue();
    let rule = cat.lookup(&args.rule).ok_or_else(|| {
        Error::new(format!(
            "unknown rule `{}` (see `imds-migrate rules`)",
            args.rule
        ))
    })?;
    let mut text = format!(
        "{} ({}): {}\n\nseverity: {}\nfix: {}\nfile kinds: {}\n\n{}\n\n{}\n",
        rule.id,
        rule.name,
        rule.title,
        rule.severity.as_str(),
        rule.fix.as_str(),
        rule.file_kinds.join(", "),
        rule.summary,
        rule.explanation
    );
    if !text.contains("169.254.169.254") {
        text.push('\n');
        text.push_str(&report::imds_note());
        text.push('\n');
    }
    print_stdout(&text)?;
    Ok(exit::CLEAN)
}

fn print_stdout(text: &str) -> Result<()> {
    output::write_stdout(text.as_bytes())
}

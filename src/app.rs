//! Wires the modules together for each subcommand and decides the exit code.

use std::{
    io::{self, IsTerminal, Write},
    path::PathBuf,
};

use crate::{
    analyzers::DEFAULT_API_VERSION,
    cli::{
        Cli, ColorChoice, Command, CommonArgs, ExplainArgs, Format, RulesArgs, RulesFormat,
        ScanArgs,
    },
    error::{Error, Result},
    fix::writer,
    report::{self, Report, ReportOptions},
    rules::{Selection, catalogue},
    scan::{self, ScanOptions, ScanResult},
};

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Nothing found, nothing failed.
    pub const CLEAN: i32 = 0;
    /// Findings (or per-file errors) remain.
    pub const FINDINGS: i32 = 1;
    /// Usage or fatal error.
    pub const FATAL: i32 = 2;
}

pub fn run(cli: Cli) -> Result<i32> {
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    match cli.command {
        Command::Scan(args) => run_scan(&args, color),
        Command::Fix(args) => crate::fix::run(&args, color, cli.verbose),
        Command::Rules(args) => run_rules(&args),
        Command::Explain(args) => run_explain(&args),
        Command::Live(args) => crate::live::run(&args, color, cli.verbose),
    }
}

/// Builds scan options from the flags shared by `scan` and `fix`.
pub fn scan_options(common: &CommonArgs) -> Result<ScanOptions> {
    let selection = Selection {
        select: common.select.clone(),
        ignore: common.ignore.clone(),
    };
    selection
        .validate(catalogue())
        .map_err(|e| Error::new(e.to_string()))?;
    let roots = if common.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        common.paths.clone()
    };
    for root in &roots {
        if !root.exists() {
            return Err(Error::new(format!(
                "{}: no such file or directory",
                root.display()
            )));
        }
    }
    Ok(ScanOptions {
        roots,
        selection,
        api_version: common
            .api_version
            .clone()
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned()),
        extra_ports: common.ports.clone(),
        max_filesize: common.max_filesize.unwrap_or(scan::DEFAULT_MAX_FILESIZE),
        threads: common.threads,
        exclude: common.exclude.clone(),
        respect_ignore_files: !common.no_ignore,
    })
}

fn run_scan(args: &ScanArgs, color: bool) -> Result<i32> {
    let opts = scan_options(&args.common)?;
    let result = scan::scan(&opts);
    let reporter: Box<dyn Report> = match args.format {
        Format::Text => Box::new(report::text::Text),
        Format::Json => Box::new(report::json::Json),
        Format::Sarif => Box::new(report::sarif::Sarif),
        Format::Github => Box::new(report::github::Github),
        Format::Html => Box::new(report::html::Html),
    };
    let mut buf = Vec::new();
    let to_terminal = args.output.is_none();
    reporter
        .write(
            &mut buf,
            &result,
            ReportOptions {
                color: color && to_terminal,
            },
        )
        .map_err(|e| Error::new(format!("cannot render report: {e}")))?;
    match &args.output {
        Some(path) => writer::write_new(path, &buf)?,
        None => {
            let mut stdout = io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = stdout.write_all(&buf).and_then(|()| stdout.flush())
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                return Err(Error::new(format!("cannot write to standard output: {e}")));
            }
        }
    }
    Ok(scan_exit_code(&result))
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
    let text = format!(
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
    print_stdout(&text)?;
    Ok(exit::CLEAN)
}

fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::new(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

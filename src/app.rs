//! Wires the modules together for each subcommand and decides the exit code.

use std::io::{self, IsTerminal, Write};

use crate::{
    cli::{Cli, ColorChoice, Command, ExplainArgs, Format, RulesArgs, RulesFormat, ScanArgs},
    error::{Error, Result},
    exit,
    fix::writer,
    options,
    report::{self, Report, ReportOptions},
    rules::catalogue,
    scan::{self, ScanResult},
};

pub fn run(cli: Cli) -> Result<i32> {
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    match cli.command {
        Command::Scan(args) => run_scan(&args, color, cli.verbose),
        Command::Fix(args) => crate::fix::run(&args, color, cli.verbose),
        Command::Rules(args) => run_rules(&args),
        Command::Explain(args) => run_explain(&args),
        Command::Live(args) => crate::live::run(&args, color, cli.verbose),
    }
}

fn run_scan(args: &ScanArgs, color: bool, verbose: bool) -> Result<i32> {
    let per_root = options::scan_options(&args.common)?;
    options::log_config(&per_root, verbose);
    let result = ScanResult::merge(per_root.iter().map(scan::scan).collect());
    if args.statistics {
        print_stdout(&statistics(&result))?;
        return Ok(if args.exit_zero {
            exit::CLEAN
        } else {
            scan_exit_code(&result)
        });
    }
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
    Ok(if args.exit_zero {
        exit::CLEAN
    } else {
        scan_exit_code(&result)
    })
}

/// `--statistics`: findings per rule, most frequent first.
fn statistics(result: &ScanResult) -> String {
    let mut counts: std::collections::BTreeMap<&str, (usize, usize)> =
        std::collections::BTreeMap::new();
    for f in &result.findings {
        let e = counts.entry(&f.rule_id).or_default();
        e.0 += 1;
        e.1 += usize::from(f.fix.is_some());
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let mut out = String::new();
    for (id, (n, fixable)) in rows {
        let name = catalogue().get(id).map_or("", |r| r.name.as_str());
        let fix = if fixable > 0 {
            format!("[{fixable} fixable]")
        } else {
            String::new()
        };
        out.push_str(&format!("{n:>6}  {id}  {name:<30} {fix}\n"));
    }
    out.push_str(&format!("{}\n", report::text::summary_line(result)));
    out
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

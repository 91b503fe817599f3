//! `imds-migrate fix`: applies fixes as minimal edits until nothing changes, checks that the
//! result is sound, then writes it (through [`writer`], the only code that writes files) or
//! renders it as a unified diff.

pub mod apply;
pub mod diff;
pub mod guard;
pub mod order;
pub mod verify;
pub mod writer;

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    io::{self, Write},
    path::Path,
};

use crate::{
    cli::FixArgs,
    error::{Error, Result},
    exit,
    finding::{Applicability, Diagnostic, Fix},
    kind::FileKind,
    options,
    scan::{self, FileRecord, ScanOptions},
    source::{self, Decoded},
};

/// Passes are bounded: a fix that keeps producing new fixes is a bug, not a reason to loop.
pub const MAX_PASSES: usize = 10;

/// The outcome of fixing one text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixedText {
    pub text: String,
    /// Fixes applied, over all passes.
    pub applied: usize,
    /// Findings left after the last pass.
    pub remaining: Vec<Diagnostic>,
}

/// Applies every allowed fix to `text`, pass after pass, until no fix applies (a fixed point) or
/// [`MAX_PASSES`] is reached. `keep` decides which diagnostics count (rule selection, ports).
pub fn fix_text(
    text: &str,
    kind: FileKind,
    rel: &str,
    opts: &ScanOptions,
    keep: &dyn Fn(&Diagnostic) -> bool,
    unsafe_fixes: bool,
) -> FixedText {
    let newline = source::dominant_line_ending(text);
    let mut current = text.to_owned();
    let mut applied = 0;
    for _ in 0..MAX_PASSES {
        let diags: Vec<Diagnostic> = scan::analyze_text(&current, kind, rel, opts)
            .diagnostics
            .into_iter()
            .filter(|d| keep(d))
            .collect();
        let fixes: Vec<Fix> = diags
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| unsafe_fixes || f.applicability == Applicability::Safe)
            .map(|f| with_line_ending(f, newline))
            .collect();
        if fixes.is_empty() {
            return FixedText {
                text: current,
                applied,
                remaining: diags,
            };
        }
        let refs: Vec<&Fix> = fixes.iter().collect();
        let (next, taken) = apply::apply_fixes(&current, &refs, unsafe_fixes);
        if taken.is_empty() || next == current {
            return FixedText {
                text: current,
                applied,
                remaining: diags,
            };
        }
        applied += taken.len();
        current = next;
    }
    let remaining = scan::analyze_text(&current, kind, rel, opts)
        .diagnostics
        .into_iter()
        .filter(|d| keep(d))
        .collect();
    FixedText {
        text: current,
        applied,
        remaining,
    }
}

/// Analyzers write inserted line breaks as `\n`; a CRLF file gets `\r\n`.
fn with_line_ending(fix: &Fix, newline: &str) -> Fix {
    let mut fix = fix.clone();
    if newline == "\r\n" {
        for e in fix.edits.iter_mut().chain(fix.cleanup.iter_mut()) {
            if e.content.contains('\n') {
                e.content = to_crlf(&e.content);
            }
        }
    }
    fix
}

fn to_crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev = '\0';
    for c in s.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// What happened to one file.
#[derive(Debug)]
pub struct FileChange {
    /// Where the file is, and which file it was when read: the writer checks both.
    pub target: writer::Target,
    pub id: writer::FileId,
    pub original: Vec<u8>,
    pub updated: Vec<u8>,
    pub applied: usize,
    pub remaining: Vec<Diagnostic>,
}

/// Plans the fix of one file: read, decode, fix, restore the final newline, verify, encode.
/// Nothing is written here.
pub fn plan_file(
    record: &FileRecord,
    opts: &ScanOptions,
    ports: &BTreeSet<u16>,
    unsafe_fixes: bool,
) -> Result<FileChange, String> {
    let root = opts.roots.get(record.root).unwrap_or(&record.abs_path);
    let target = writer::Target::new(root, &record.abs_path);
    let (original, id) = writer::read(&target).map_err(|e| format!("cannot read: {e}"))?;
    let Decoded {
        mut text,
        encoding,
        lossy,
    } = source::decode(&original);
    let cr_only = source::cr_to_lf(&mut text);
    if let Some(why) = lossy {
        return Err(format!("not rewritten: {why}"));
    }
    let keep = |d: &Diagnostic| {
        opts.selection.enabled_id(d.rule) && d.requires_port.is_none_or(|p| ports.contains(&p))
    };
    let fixed = fix_text(
        &text,
        record.kind,
        &record.rel_path,
        opts,
        &keep,
        unsafe_fixes,
    );
    let mut new_text = fixed.text;
    restore_final_newline(&text, &mut new_text);
    if new_text != text {
        verify::check_all(record.kind, &text, &new_text)?;
    }
    if cr_only {
        source::lf_to_cr(&mut new_text);
    }
    let updated = source::encode_like(&new_text, encoding, &original);
    Ok(FileChange {
        target,
        id,
        original,
        updated,
        applied: fixed.applied,
        remaining: fixed.remaining,
    })
}

/// A removal at the end of a file must not add or drop its final line break.
fn restore_final_newline(before: &str, after: &mut String) {
    let ending = if before.ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    match (before.ends_with('\n'), after.ends_with('\n')) {
        (true, false) if !after.is_empty() => after.push_str(ending),
        (false, true) => {
            while after.ends_with('\n') {
                after.pop();
                if after.ends_with('\r') {
                    after.pop();
                }
            }
        }
        _ => {}
    }
}

/// Totals printed after a run.
#[derive(Debug, Default)]
struct Totals {
    applied: usize,
    files_changed: usize,
    unsafe_skipped: usize,
    for_a_person: usize,
    errors: Vec<String>,
}

pub fn run(args: &FixArgs, color: bool, verbose: bool) -> Result<i32> {
    let mut totals = Totals::default();
    let mut diff_out = String::new();
    let all = options::scan_options(&args.common)?;
    options::log_config(&all, verbose);
    for mut opts in all {
        match guard::resolve_link_root(&opts.roots[0]) {
            Ok(Some(target)) => {
                if verbose {
                    crate::stdio::note(&format!(
                        "{}: symbolic link, fixing its target {}",
                        opts.roots[0].display(),
                        target.display()
                    ));
                }
                opts.roots[0] = target;
            }
            Ok(None) => {}
            Err(why) => {
                totals.errors.push(why);
                continue;
            }
        }
        fix_root(args, &opts, verbose, &mut totals, &mut diff_out);
    }
    if args.diff {
        let mut stdout = io::stdout().lock();
        if let Err(e) = stdout
            .write_all(diff_out.as_bytes())
            .and_then(|()| stdout.flush())
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            return Err(Error::new(format!("cannot write to standard output: {e}")));
        }
    }
    let mut stderr = anstream::AutoStream::new(
        io::stderr(),
        if color {
            anstream::ColorChoice::Always
        } else {
            anstream::ColorChoice::Never
        },
    );
    let _ = stderr.write_all(summary_text(&totals, args.diff, args.unsafe_fixes).as_bytes());
    let unfinished = totals.unsafe_skipped + totals.for_a_person + totals.errors.len();
    Ok(if unfinished == 0 && (!args.diff || diff_out.is_empty()) {
        exit::CLEAN
    } else {
        exit::FINDINGS
    })
}

/// Fixes (or diffs) every file of one root that has a finding with a fix.
fn fix_root(
    args: &FixArgs,
    opts: &ScanOptions,
    verbose: bool,
    totals: &mut Totals,
    diff_out: &mut String,
) {
    let result = scan::scan(opts);
    if !args.diff {
        let stale: Vec<_> = opts
            .roots
            .iter()
            .flat_map(|r| writer::find_stale_temps(r))
            .collect();
        let removed = writer::remove_stale_temps(&stale);
        if verbose && removed > 0 {
            crate::stdio::note(&format!(
                "removed {removed} temporary files left by an interrupted run"
            ));
        }
    }
    for e in &result.errors {
        totals.errors.push(format!(
            "{}: {}",
            crate::report::error_path(&result, e),
            e.message
        ));
    }
    // Per file: how many findings, and whether any offers a fix.
    let mut per_file: BTreeMap<(usize, &str), (usize, bool)> = BTreeMap::new();
    for f in &result.findings {
        let entry = per_file.entry((f.root, f.path.as_str())).or_default();
        entry.0 += 1;
        entry.1 |= f.fix.is_some();
    }
    // Each directory is synced once after its files are renamed, not after every file.
    let dir_syncs = writer::DirSyncs::default();
    let records: Vec<&FileRecord> = result.files.values().collect();
    let fixable = |record: &FileRecord| {
        per_file
            .get(&(record.root, record.rel_path.as_str()))
            .copied()
            .unwrap_or_default()
    };
    // Files are planned and written on several threads (each file on its own: its own lock,
    // its own temporary file), then reported in path order, so the diff and the log are
    // deterministic.
    let outcomes = crate::par::par_map(&records, fix_threads(opts.threads), |record| {
        let (count, fixable) = fixable(record);
        if !fixable {
            return Outcome::Manual(count);
        }
        let mut change = match plan_file(record, opts, &result.ports, args.unsafe_fixes) {
            Ok(c) => c,
            Err(why) => return Outcome::Failed(why, count),
        };
        if args.diff {
            return Outcome::Planned(change, false);
        }
        match guard::write(&mut change, args.force, &dir_syncs, || {
            plan_file(record, opts, &result.ports, args.unsafe_fixes)
        }) {
            Ok(wrote) => Outcome::Planned(change, wrote),
            Err(why) => Outcome::Failed(why, count),
        }
    });
    for (record, outcome) in records.iter().zip(outcomes) {
        let display = crate::report::display_path(&result, record.root, &record.rel_path);
        let (change, wrote) = match outcome {
            Outcome::Manual(count) => {
                totals.for_a_person += count;
                continue;
            }
            Outcome::Failed(why, count) => {
                totals.errors.push(format!("{display}: {why}"));
                totals.for_a_person += count;
                continue;
            }
            Outcome::Planned(change, wrote) => (change, wrote),
        };
        if wrote && verbose {
            crate::stdio::note(&format!(
                "fixed {} ({} fixes)",
                crate::snippet::escape_control(&display),
                change.applied
            ));
        }
        for d in &change.remaining {
            match &d.fix {
                Some(f) if f.applicability == Applicability::Unsafe && !args.unsafe_fixes => {
                    totals.unsafe_skipped += 1;
                }
                _ => totals.for_a_person += 1,
            }
        }
        if change.updated == change.original {
            continue;
        }
        if args.diff {
            // Paths as shown, relative to where we run (and, inside a git work tree, prefixed
            // with where that is, since `git apply` reads `diff --git` paths from the top), so
            // `fix --diff DIR | git apply` patches the files it names. A root outside the
            // working directory keeps root-relative paths: apply those from the root. The name
            // itself comes from the target, so names that are not UTF-8 keep their bytes.
            let shown_root = display
                .strip_suffix(record.rel_path.as_str())
                .filter(|_| Path::new(&display).is_relative() && !display.starts_with("../"));
            let shown = match shown_root {
                Some(dir) => Path::new(&format!("{}{dir}", crate::report::repo::cwd_prefix()))
                    .join(&change.target.rel),
                None => change.target.rel.clone(),
            };
            diff_out.push_str(&diff::render(&shown, &change.original, &change.updated));
        }
        totals.applied += change.applied;
        totals.files_changed += 1;
    }
    dir_syncs.sync();
}

/// What became of one file.
enum Outcome {
    /// Findings, none with a fix.
    Manual(usize),
    /// Planning or writing failed; the file's findings are left.
    Failed(String, usize),
    /// Planned (and written, if the bool says so).
    Planned(FileChange, bool),
}

/// `-j` as given, or one thread per core.
fn fix_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    }
}

fn summary_text(t: &Totals, diff: bool, unsafe_fixes: bool) -> String {
    let mut s = String::new();
    for e in &t.errors {
        // Every error line starts as fatal errors do (see main.rs).
        let _ = writeln!(
            s,
            "imds-migrate: error: {}",
            crate::snippet::escape_control(e)
        );
    }
    let verb = if diff { "Would apply" } else { "Applied" };
    let _ = write!(
        s,
        "{verb} {} in {} {}",
        plural(t.applied, "fix", "fixes"),
        t.files_changed,
        if t.files_changed == 1 {
            "file"
        } else {
            "files"
        }
    );
    if t.unsafe_skipped > 0 && !unsafe_fixes {
        let _ = write!(
            s,
            "; {} skipped as unsafe (use --unsafe-fixes)",
            plural(t.unsafe_skipped, "fix", "fixes")
        );
    }
    if t.for_a_person > 0 {
        let _ = write!(
            s,
            "; {} left for a person (see `imds-migrate scan`)",
            plural(t.for_a_person, "finding", "findings")
        );
    }
    if !t.errors.is_empty() {
        let _ = write!(s, "; {}", plural(t.errors.len(), "error", "errors"));
    }
    s.push('\n');
    s
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

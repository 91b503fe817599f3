//! Walking the roots in parallel, reading and decoding each file, deciding from the raw bytes
//! whether it can hold a usage, and running the analyzers on those that can.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::{Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use ignore::{WalkBuilder, WalkState};

use crate::{
    analyzers::{self, Context},
    finding::{Finding, FixSummary, LocatedEdit},
    kind::{self, FileKind},
    prefilter::Prefilter,
    readbuf::{ChunkWindow, ReadBuf},
    rules::{Selection, catalogue},
    snippet,
    source::{self, LineIndex},
    suppress,
};

/// Files above this size are not read (counted in the summary as skipped).
pub const DEFAULT_MAX_FILESIZE: u64 = 64 * 1024 * 1024;
/// How much of a file's head is checked for NUL bytes to call it binary (as git does).
const BINARY_SNIFF: usize = 8 * 1024;
/// Files larger than this are prefiltered in chunks before being read whole.
const STREAM_THRESHOLD: u64 = 4 * 1024 * 1024;
const STREAM_CHUNK: usize = 64 * 1024;
/// Longer than any trigger literal and its confirmation window.
const TRIGGER_OVERLAP: usize = crate::prefilter::OVERLAP;

#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub roots: Vec<PathBuf>,
    pub selection: Selection,
    pub api_version: String,
    pub extra_ports: Vec<u16>,
    pub max_filesize: u64,
    pub threads: usize,
    /// Globs (gitignore syntax) of paths not to scan, relative to each root.
    pub exclude: Vec<String>,
    /// Honour .gitignore/.ignore files.
    pub respect_ignore_files: bool,
    /// Rules switched off for some paths (`per-file-ignores`).
    pub per_file_ignores: crate::config::PerFileIgnores,
    /// The configuration file these options came from, if any (said with `-v`).
    pub config_file: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            roots: vec![PathBuf::from(".")],
            selection: Selection::default(),
            api_version: analyzers::DEFAULT_API_VERSION.to_owned(),
            extra_ports: Vec::new(),
            max_filesize: DEFAULT_MAX_FILESIZE,
            threads: 0,
            exclude: Vec::new(),
            respect_ignore_files: true,
            per_file_ignores: crate::config::PerFileIgnores::default(),
            config_file: None,
        }
    }
}

/// A problem with one file (or the walk), reported under `errors`; the run goes on. The same
/// shape carries notes: a file that was searched, but only as text (see [`ScanResult::notes`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FileError {
    pub path: String,
    pub message: String,
    #[serde(skip)]
    pub root: usize,
}

/// Why files were not analyzed. Every file the walk saw is either scanned or counted here.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub binary: usize,
    /// `.log` files: quoted errors, never usages.
    pub logs: usize,
    pub too_large: usize,
    pub symlinks: usize,
    pub unreadable: usize,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub files_scanned: usize,
    /// Files the prefilter passed on to the analyzers.
    pub files_analyzed: usize,
    pub findings: usize,
    pub skipped: Skipped,
    pub errors: usize,
    /// Files searched only as text (invalid JSON, undecodable bytes): reported, never a failure.
    pub notes: usize,
}

/// A file that produced findings, remembered so `fix` can come back to it.
#[derive(Clone, Debug)]
pub struct FileRecord {
    pub root: usize,
    pub rel_path: String,
    pub abs_path: PathBuf,
    pub kind: FileKind,
}

#[derive(Debug, Default)]
pub struct ScanResult {
    pub roots: Vec<PathBuf>,
    /// Sorted by root, path, line, column, rule.
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    /// Files that were searched, but as text only (they do not parse, or did not decode):
    /// findings there are still reported; they do not change the exit code.
    pub notes: Vec<FileError>,
    pub summary: Summary,
    /// Per-root summaries, in root order.
    pub root_summaries: Vec<Summary>,
    /// Files with findings, keyed by (root, relative path).
    pub files: BTreeMap<(usize, String), FileRecord>,
    /// Every port the repository's extensions declare, plus the configured ones.
    pub ports: BTreeSet<u16>,
    /// Files skipped without being searched, with the reason (for `-v`), sorted; at most
    /// [`SKIPPED_LISTED`] per root, the summary counts them all.
    pub skipped_files: Vec<FileError>,
}

/// How many skipped files a root lists by name (a tree of images would list thousands).
pub const SKIPPED_LISTED: usize = 200;

impl ScanResult {
    /// Joins the results of scanning several roots (each with its own settings) into one.
    pub fn merge(results: Vec<ScanResult>) -> ScanResult {
        let mut all = ScanResult::default();
        for r in results {
            let offset = all.roots.len();
            all.roots.extend(r.roots);
            all.findings.extend(r.findings.into_iter().map(|mut f| {
                f.root += offset;
                f
            }));
            all.errors.extend(r.errors.into_iter().map(|mut e| {
                e.root += offset;
                e
            }));
            all.notes.extend(r.notes.into_iter().map(|mut e| {
                e.root += offset;
                e
            }));
            all.skipped_files
                .extend(r.skipped_files.into_iter().map(|mut e| {
                    e.root += offset;
                    e
                }));
            all.files
                .extend(r.files.into_iter().map(|((root, rel), mut rec)| {
                    rec.root = root + offset;
                    ((root + offset, rel), rec)
                }));
            all.ports.extend(r.ports);
            all.summary.add(&r.summary);
            all.root_summaries.extend(r.root_summaries);
        }
        all
    }
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.files_scanned += other.files_scanned;
        self.files_analyzed += other.files_analyzed;
        self.findings += other.findings;
        self.skipped.binary += other.skipped.binary;
        self.skipped.logs += other.skipped.logs;
        self.skipped.too_large += other.skipped.too_large;
        self.skipped.symlinks += other.skipped.symlinks;
        self.skipped.unreadable += other.skipped.unreadable;
        self.errors += other.errors;
        self.notes += other.notes;
    }
}

/// A finding that may still depend on the ports declared elsewhere.
struct Pending {
    finding: Finding,
    requires_port: Option<u16>,
    depends_on: Option<&'static str>,
}

#[derive(Default)]
struct Shared {
    pending: Vec<Pending>,
    errors: Vec<FileError>,
    notes: Vec<FileError>,
    files: BTreeMap<(usize, String), FileRecord>,
    ports: BTreeSet<u16>,
    /// What each manifest says about the credential libraries, for IMDS042.
    dependencies: Vec<crate::analyzers::libraries::ManifestFact>,
    per_root: Vec<Summary>,
    skipped_files: Vec<FileError>,
    /// Files that may supply another file's extension values, for the cross-file pass.
    candidates: crate::crossfile::Sources,
}

impl Shared {
    fn skip(&mut self, root: usize, path: impl FnOnce() -> String, why: &str) {
        let listed = self.skipped_files.iter().filter(|e| e.root == root).count();
        if listed < SKIPPED_LISTED {
            self.skipped_files.push(FileError {
                path: path(),
                message: why.to_owned(),
                root,
            });
        }
    }
}

/// Scans every root and returns findings sorted for output.
pub fn scan(opts: &ScanOptions) -> ScanResult {
    let matcher = Prefilter::new(&opts.extra_ports);
    let shared = Mutex::new(Shared {
        per_root: vec![Summary::default(); opts.roots.len()],
        ..Shared::default()
    });
    for (root_idx, root) in opts.roots.iter().enumerate() {
        scan_root(opts, root_idx, root, &matcher, &shared);
    }
    let mut shared = shared.into_inner().expect("no scan thread panicked");
    shared.ports.insert(analyzers::DEFAULT_PORT);
    shared.ports.extend(opts.extra_ports.iter().copied());

    let mut findings: Vec<Finding> = shared
        .pending
        .into_iter()
        .filter(|p| {
            p.requires_port
                .is_none_or(|port| shared.ports.contains(&port))
                && p.depends_on.is_none_or(|eco| {
                    analyzers::libraries::call_is_affected(
                        &shared.dependencies,
                        p.finding.root,
                        &p.finding.path,
                        eco,
                    )
                })
        })
        .map(|p| p.finding)
        .collect();
    // Generic templates and modules given the extension by a parameter file, a `.tfvars`, a
    // module call or a deployment.
    let sources = &shared.candidates;
    let supplied = [
        crate::crossfile::parameter_file_findings(opts, sources),
        crate::crossfile::tfvars_findings(opts, sources),
        crate::crossfile::module_findings(opts, sources),
        crate::crossfile::deployment_findings(opts, sources),
    ];
    let mut used_suppressions = BTreeSet::new();
    for part in supplied {
        used_suppressions.extend(part.used_suppressions);
        for (f, port, record) in part.findings {
            if port.is_none_or(|p| shared.ports.contains(&p)) {
                shared
                    .files
                    .insert((record.root, record.rel_path.clone()), record);
                findings.push(f);
            }
        }
    }
    // A comment that silenced a cross-file finding is used, though the file alone had nothing
    // for it to silence.
    if !used_suppressions.is_empty() {
        findings.retain(|f| {
            f.rule_id != crate::suppress::UNUSED_RULE
                || !used_suppressions.contains(&(f.root, f.path.clone(), f.line))
        });
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    shared.errors.sort();
    shared.notes.sort();
    for f in &findings {
        shared.per_root[f.root].findings += 1;
    }
    // Files whose findings were all dropped (a port nobody declared) are not worth a record.
    let with_findings: BTreeSet<(usize, &str)> =
        findings.iter().map(|f| (f.root, f.path.as_str())).collect();
    let files: BTreeMap<_, _> = shared
        .files
        .into_iter()
        .filter(|(key, _)| with_findings.contains(&(key.0, key.1.as_str())))
        .collect();
    let mut summary = Summary::default();
    for s in &shared.per_root {
        summary.add(s);
    }
    ScanResult {
        roots: opts.roots.clone(),
        findings,
        errors: shared.errors,
        notes: shared.notes,
        summary,
        root_summaries: shared.per_root,
        files,
        ports: shared.ports,
        skipped_files: {
            let mut skipped = shared.skipped_files;
            skipped.sort();
            skipped
        },
    }
}

fn scan_root(
    opts: &ScanOptions,
    root_idx: usize,
    root: &Path,
    matcher: &Prefilter,
    shared: &Mutex<Shared>,
) {
    let scanned = AtomicUsize::new(0);
    let analyzed = AtomicUsize::new(0);
    if !root.exists() {
        let mut s = shared.lock().unwrap();
        s.errors.push(FileError {
            path: root.display().to_string(),
            message: "no such file or directory".into(),
            root: root_idx,
        });
        s.per_root[root_idx].errors += 1;
        return;
    }
    let walker = walk_builder(opts, root).build_parallel();
    let root_is_file = root.is_file();
    let (scanned_ref, analyzed_ref) = (&scanned, &analyzed);
    walker.run(|| {
        let mut buf = ReadBuf::default();
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    record_error(
                        shared,
                        root_idx,
                        walk_error_path(&err, root),
                        err.to_string(),
                    );
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if ft.is_symlink() {
                let mut s = shared.lock().unwrap();
                s.per_root[root_idx].skipped.symlinks += 1;
                s.skip(
                    root_idx,
                    || relative_path(root, entry.path(), root_is_file),
                    "symlink (not followed)",
                );
                return WalkState::Continue;
            }
            if !ft.is_file() {
                return WalkState::Continue;
            }
            // A killed `fix` run's temporary file: never scanned; the next `fix` removes it.
            if crate::fix::writer::is_temp_name(entry.file_name()) {
                return WalkState::Continue;
            }
            let rel = relative_path(root, entry.path(), root_is_file);
            // A root named on the command line may be a link the user chose to follow.
            let named = entry.depth() == 0;
            match scan_file(opts, matcher, entry.path(), &rel, named, &mut buf) {
                FileOutcome::Skipped(reason) => {
                    let mut s = shared.lock().unwrap();
                    let sk = &mut s.per_root[root_idx].skipped;
                    let why = match reason {
                        SkipReason::Binary => {
                            sk.binary += 1;
                            "binary (a NUL byte in its first 8 KiB)"
                        }
                        SkipReason::TooLarge => {
                            sk.too_large += 1;
                            "larger than --max-filesize"
                        }
                        SkipReason::Log => {
                            sk.logs += 1;
                            "log file (quoted errors, never usages)"
                        }
                    };
                    s.skip(root_idx, || rel.clone(), why);
                }
                FileOutcome::Error(message) => record_error(shared, root_idx, rel, message),
                FileOutcome::TooLargeWithTriggers(size) => {
                    let mut s = shared.lock().unwrap();
                    s.per_root[root_idx].skipped.too_large += 1;
                    s.per_root[root_idx].errors += 1;
                    s.errors.push(FileError {
                        path: rel,
                        message: format!(
                            "{size} bytes, above --max-filesize ({} bytes), and may hold a usage: not analyzed",
                            opts.max_filesize
                        ),
                        root: root_idx,
                    });
                }
                FileOutcome::Clean => {
                    scanned_ref.fetch_add(1, Ordering::Relaxed);
                }
                FileOutcome::Analyzed(out) => {
                    scanned_ref.fetch_add(1, Ordering::Relaxed);
                    analyzed_ref.fetch_add(1, Ordering::Relaxed);
                    let mut s = shared.lock().unwrap();
                    s.ports.extend(out.declared_ports);
                    s.dependencies.extend(out.dependencies.into_iter().map(|d| {
                        analyzers::libraries::ManifestFact::new(root_idx, &rel, d)
                    }));
                    // Searched as text: a note, not an error (the exit code is for findings
                    // and for files that could not be read).
                    for problem in out.problems {
                        s.per_root[root_idx].notes += 1;
                        s.notes.push(FileError {
                            path: rel.clone(),
                            message: problem,
                            root: root_idx,
                        });
                    }
                    if out.candidate {
                        s.candidates.insert((root_idx, rel.clone()));
                    }
                    if !out.findings.is_empty() {
                        s.files.insert(
                            (root_idx, rel.clone()),
                            FileRecord {
                                root: root_idx,
                                rel_path: rel.clone(),
                                abs_path: entry.path().to_path_buf(),
                                kind: out.kind,
                            },
                        );
                    }
                    s.pending
                        .extend(out.findings.into_iter().map(|(mut f, port, eco)| {
                            f.root = root_idx;
                            Pending {
                                finding: f,
                                requires_port: port,
                                depends_on: eco,
                            }
                        }));
                }
            }
            WalkState::Continue
        })
    });
    let mut s = shared.lock().unwrap();
    s.per_root[root_idx].files_scanned = scanned.into_inner();
    s.per_root[root_idx].files_analyzed = analyzed.into_inner();
}

/// The walk over one root, with the scan's rules: ignore files, `--exclude`, no `.git`, no
/// symbolic links followed. The cross-file pass walks with it too.
pub(crate) fn walk_builder(opts: &ScanOptions, root: &Path) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .follow_links(false)
        .git_ignore(opts.respect_ignore_files)
        .git_exclude(opts.respect_ignore_files)
        .git_global(false)
        .ignore(opts.respect_ignore_files)
        .parents(opts.respect_ignore_files)
        .require_git(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    if !opts.exclude.is_empty() {
        let mut ov = ignore::overrides::OverrideBuilder::new(root);
        for glob in &opts.exclude {
            // Overrides are whitelists; a leading `!` turns a glob into an exclusion.
            let _ = ov.add(&format!("!{glob}"));
        }
        if let Ok(ov) = ov.build() {
            builder.overrides(ov);
        }
    }
    builder
}

fn record_error(shared: &Mutex<Shared>, root: usize, path: String, message: String) {
    let mut s = shared.lock().unwrap();
    s.per_root[root].errors += 1;
    s.per_root[root].skipped.unreadable += 1;
    s.errors.push(FileError {
        path,
        message,
        root,
    });
}

fn walk_error_path(err: &ignore::Error, root: &Path) -> String {
    fn find(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            ignore::Error::Loop { child, .. } => Some(child),
            _ => None,
        }
    }
    find(err).map_or_else(
        || root.display().to_string(),
        |p| relative_path(root, p, false),
    )
}

/// The path relative to the scan root, with forward slashes. A root that is a file is reported
/// by its file name.
pub fn relative_path(root: &Path, path: &Path, root_is_file: bool) -> String {
    let rel = if root_is_file {
        Path::new(path.file_name().unwrap_or(path.as_os_str()))
    } else {
        path.strip_prefix(root).unwrap_or(path)
    };
    let s = rel.to_string_lossy();
    // On Unix a backslash is part of a name (`back\slash.sh` is not `back/slash.sh`).
    let s = if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.into_owned()
    };
    s.trim_start_matches("./").to_owned()
}

enum SkipReason {
    Binary,
    TooLarge,
    Log,
}

struct Analyzed {
    kind: FileKind,
    findings: Vec<(Finding, Option<u16>, Option<&'static str>)>,
    declared_ports: Vec<u16>,
    dependencies: Vec<analyzers::libraries::Dependency>,
    problems: Vec<String>,
    /// May supply another file's extension values (`crossfile::is_candidate`).
    candidate: bool,
}

enum FileOutcome {
    Clean,
    /// Larger than `--max-filesize` and holding a trigger literal: not analyzed.
    TooLargeWithTriggers(u64),
    Skipped(SkipReason),
    Error(String),
    Analyzed(Analyzed),
}

fn scan_file(
    opts: &ScanOptions,
    matcher: &Prefilter,
    path: &Path,
    rel: &str,
    named: bool,
    buf: &mut ReadBuf,
) -> FileOutcome {
    // Log files hold quoted errors, never usages: not even read.
    if kind::is_log(path) {
        return FileOutcome::Skipped(SkipReason::Log);
    }
    // The walk saw a regular file; if it has become a symlink since, it is not read through (nor
    // waited on, if it has become a FIFO).
    let mut file = match open(path, named) {
        Ok(f) => f,
        Err(e) => return FileOutcome::Error(format!("cannot open: {e}")),
    };
    // No stat: the reads say how large the file is. A thread's buffer keeps its capacity from
    // file to file, so the common small file is one read into memory already there.
    buf.reset(64 * 1024);
    // The head alone decides "binary", so a large binary is never read in full.
    if let Err(e) = buf.read_from(&mut file, BINARY_SNIFF as u64) {
        return FileOutcome::Error(format!("cannot read: {e}"));
    }
    // Text without a NUL byte in its head is neither UTF-16 nor binary: the common case costs
    // one memchr, no decoding.
    let has_nul = memchr::memchr(0, buf.data()).is_some();
    let utf16 =
        source::has_utf16_bom(buf.data()) || (has_nul && source::sniff_utf16(buf.data()).is_some());
    if !utf16 && has_nul {
        return FileOutcome::Skipped(SkipReason::Binary);
    }
    // Files up to this size are read whole on sight; larger ones are prefiltered in chunks first.
    let whole = STREAM_THRESHOLD.min(opts.max_filesize);
    let more = (whole + 1).saturating_sub(buf.len() as u64);
    if let Err(e) = buf.read_from(&mut file, more) {
        return FileOutcome::Error(format!("cannot read: {e}"));
    }
    if buf.len() as u64 > whole {
        // UTF-16 is decoded before it is searched, so it cannot be prefiltered in chunks.
        if !utf16 {
            match stream_has_trigger(matcher, &mut file, buf.data(), rel) {
                Ok(false) => return FileOutcome::Clean,
                Ok(true) => {}
                Err(e) => return FileOutcome::Error(format!("cannot read: {e}")),
            }
        }
        let size = file.metadata().map_or(u64::MAX, |m| m.len());
        if size > opts.max_filesize {
            // Too large to analyze; only a file that may hold a usage is worth an error.
            return if utf16 {
                FileOutcome::Skipped(SkipReason::TooLarge)
            } else {
                FileOutcome::TooLargeWithTriggers(size)
            };
        }
        buf.reset(0);
        if let Err(e) = file.seek(SeekFrom::Start(0)) {
            return FileOutcome::Error(format!("cannot read: {e}"));
        }
        // Reading at most max+1 bytes tells "too large" even if the file grew since `metadata`.
        if let Err(e) = buf.read_from(&mut file, opts.max_filesize + 1) {
            return FileOutcome::Error(format!("cannot read: {e}"));
        }
        if buf.len() as u64 > opts.max_filesize {
            return FileOutcome::Skipped(SkipReason::TooLarge);
        }
    }
    let decoded = utf16.then(|| source::decode(buf.data()));
    let text_bytes = decoded.as_ref().map_or(buf.data(), |d| d.text.as_bytes());
    let manifest = || analyzers::libraries::is_manifest(rel);
    if !matcher.matches_in(text_bytes, manifest) {
        return FileOutcome::Clean;
    }
    let candidate = crate::crossfile::is_candidate(rel, text_bytes);
    let mut decoded = decoded.unwrap_or_else(|| source::decode(buf.data()));
    source::cr_to_lf(&mut decoded.text);
    let head_end = source::floor_char_boundary(&decoded.text, decoded.text.len().min(4096));
    let kind = kind::classify(path, &decoded.text[..head_end]);
    let analysis = analyze_text(&decoded.text, kind, rel, opts);
    let mut problems = analysis.problems;
    if let Some(why) = &decoded.lossy {
        problems.push(format!("{why}: searched as text, will not be rewritten"));
    }
    let findings = locate(&decoded.text, rel, kind, analysis.diagnostics);
    FileOutcome::Analyzed(Analyzed {
        kind,
        findings,
        declared_ports: analysis.declared_ports,
        dependencies: analysis.dependencies,
        problems,
        candidate,
    })
}

fn open(path: &Path, follow: bool) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    if !follow {
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut options,
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK)
                .bits()
                .cast_signed(),
        );
    }
    options.open(path)
}

/// Runs the prefilter over the rest of a large file in chunks (`head` holds what was read),
/// so a large file without a trigger literal is never held in memory whole.
fn stream_has_trigger(
    matcher: &Prefilter,
    file: &mut fs::File,
    head: &[u8],
    rel: &str,
) -> std::io::Result<bool> {
    let manifest = || analyzers::libraries::is_manifest(rel);
    if matcher.matches_in(head, manifest) {
        return Ok(true);
    }
    // The tail of each chunk comes again before the next: a literal may straddle two chunks.
    let mut window = ChunkWindow::new(TRIGGER_OVERLAP, STREAM_CHUNK);
    window.start_with(head);
    while let Some(w) = window.next(file)? {
        if matcher.matches_in(w, manifest) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs the analyzers on one decoded text as `scan` does. `fix` calls this on every pass.
pub fn analyze_text(
    text: &str,
    kind: FileKind,
    rel: &str,
    opts: &ScanOptions,
) -> analyzers::Analysis {
    let ctx = Context {
        kind,
        path: rel,
        api_version: &opts.api_version,
        extra_ports: &opts.extra_ports,
    };
    let mut analysis = analyzers::analyze(text, &ctx);
    filter_diagnostics(text, rel, opts, &mut analysis);
    analysis
}

/// Applies suppression comments, the rule selection and per-file ignores to an analysis.
pub fn filter_diagnostics(
    text: &str,
    rel: &str,
    opts: &ScanOptions,
    analysis: &mut analyzers::Analysis,
) {
    // Suppressions see every finding first, so that one silencing a rule switched off elsewhere
    // is not reported as unused.
    suppress::apply(text, &mut analysis.diagnostics);
    let file_ignores = Selection {
        select: Vec::new(),
        ignore: opts
            .per_file_ignores
            .rules_for(rel)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    analysis
        .diagnostics
        .retain(|d| opts.selection.enabled_id(d.rule) && file_ignores.enabled_id(d.rule));
}

/// Turns diagnostics into located findings (rules switched off are dropped here).
pub fn locate(
    text: &str,
    rel: &str,
    kind: FileKind,
    diagnostics: Vec<crate::finding::Diagnostic>,
) -> Vec<(Finding, Option<u16>, Option<&'static str>)> {
    let index = LineIndex::new(text);
    let cat = catalogue();
    let mut offsets = Vec::with_capacity(diagnostics.len() * 2);
    for d in &diagnostics {
        offsets.extend([d.range.start, d.range.end]);
        for e in d.fix.iter().flat_map(|f| &f.edits) {
            offsets.extend([e.range.start, e.range.end]);
        }
    }
    let mut positions = index.line_cols(text, &offsets).into_iter();
    let mut next = move || positions.next().unwrap_or((1, 1));
    diagnostics
        .into_iter()
        .map(|d| {
            let (line, column) = next();
            let (end_line, end_column) = next();
            // A bounded window, not the line: a finding on a megabyte-long line of minified
            // JSON must not carry (and every report repeat) the whole line.
            let window = snippet::window(
                text,
                index.line_range(text, line),
                d.range.start,
                snippet::MAX_CHARS,
            );
            let fix = d.fix.as_ref().map(|fix| FixSummary {
                applicability: fix.applicability,
                description: fix.description.clone(),
                edits: fix
                    .edits
                    .iter()
                    .map(|e| {
                        let (line, column) = next();
                        let (end_line, end_column) = next();
                        LocatedEdit {
                            line,
                            column,
                            end_line,
                            end_column,
                            content: e.content.clone(),
                        }
                    })
                    .collect(),
            });
            (
                Finding {
                    rule_id: d.rule.to_owned(),
                    severity: cat.severity(d.rule),
                    path: rel.to_owned(),
                    line,
                    column,
                    end_line,
                    end_column,
                    message: d.message,
                    fix,
                    file_kind: kind.name(),
                    range: d.range,
                    source_line: text[window.range].to_owned(),
                    source_column: column.saturating_sub(window.lead_chars).max(1),
                    source_truncated: window.cut_after,
                    root: 0,
                },
                d.requires_port,
                d.depends_on,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, bytes: &[u8]) -> FileOutcome {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let opts = ScanOptions::default();
        scan_file(
            &opts,
            &Prefilter::new(&[]),
            &path,
            name,
            false,
            &mut ReadBuf::default(),
        )
    }

    #[test]
    fn streamed_prefilter_sees_literals_across_chunk_boundaries() {
        let mut big = vec![b'a'; STREAM_THRESHOLD as usize + 10];
        let at = BINARY_SNIFF + STREAM_CHUNK - 5;
        big[at..at + 12].copy_from_slice(b"x:50342/toke");
        assert!(matches!(outcome("big.txt", &big), FileOutcome::Analyzed(_)));
        big[at..at + 12].copy_from_slice(b"aaaaaaaaaaaa");
        assert!(matches!(outcome("big.txt", &big), FileOutcome::Clean));
    }

    /// A loopback host and its token path on either side of the boundary between two chunks:
    /// the overlap keeps the hit and what follows it whole in one of the two chunks.
    #[test]
    fn streamed_prefilter_sees_context_across_chunk_boundaries() {
        let size = STREAM_THRESHOLD as usize + 1 + 2 * STREAM_CHUNK;
        let boundary = STREAM_THRESHOLD as usize + 1 + STREAM_CHUNK;
        for text in [
            "u = \"http://localhost:\" + port + \"/oauth2/token\"",
            "u = 'http://127.0.0.1:' + str(port)                                          + '/oauth2/token'",
        ] {
            for shift in [-300_isize, -40, -3, 0, 20, 250] {
                let mut big = vec![b' '; size];
                let at = boundary.checked_add_signed(shift).unwrap();
                big[at..at + text.len()].copy_from_slice(text.as_bytes());
                assert!(
                    matches!(outcome("big.txt", &big), FileOutcome::Analyzed(_)),
                    "{text} at {shift}"
                );
            }
        }
        let mut big = vec![b' '; size];
        let imds = b"http://localhost:40342/metadata/identity/oauth2/token";
        big[boundary - 20..boundary - 20 + imds.len()].copy_from_slice(imds);
        assert!(matches!(outcome("big.txt", &big), FileOutcome::Clean));
    }

    #[test]
    fn binaries_logs_and_utf16() {
        assert!(matches!(
            outcome("a.bin", b"\x7fELF\0\0oauth2/token"),
            FileOutcome::Skipped(SkipReason::Binary)
        ));
        assert!(matches!(
            outcome("x.log", b"http://localhost:50342/oauth2/token"),
            FileOutcome::Skipped(SkipReason::Log)
        ));
        let utf16: Vec<u8> = "r = get('http://localhost:50342/oauth2/token')\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(matches!(outcome("t.py", &utf16), FileOutcome::Analyzed(_)));
    }
}

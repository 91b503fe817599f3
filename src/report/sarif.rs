//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Locations are repository-relative URIs under `%SRCROOT%` (the directory the scan ran from),
//! with regions in our own units: 1-based lines, 1-based character columns, end exclusive, which
//! SARIF calls `unicodeCodePoints`. The output is a pure function of the scan result (and of the
//! working directory, for absolute roots), so it snapshots and diffs cleanly.

use std::{
    collections::HashMap,
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::{FixCounts, Report, ReportOptions, display_path, error_path};
use crate::{
    finding::{Applicability, Finding, LocatedEdit, Severity},
    rules::{Rule, catalogue},
    scan::{FileError, ScanResult},
};

pub struct Sarif;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation; 1],
    original_uri_base_ids: OriginalUriBaseIds,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties,
}

/// The fix counts every format states the same way (SARIF property bags are free-form).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    fixable: usize,
    unsafe_fixable: usize,
    manual: usize,
    fix_summary: String,
}

/// `originalUriBaseIds` has a single entry; a struct keeps its output order fixed.
#[derive(Serialize)]
struct OriginalUriBaseIds {
    #[serde(rename = "%SRCROOT%")]
    srcroot: BaseId,
}

#[derive(Serialize)]
struct BaseId {
    description: Message,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    tags: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    locations: [Location; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: [Location; 1],
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix<'a>>,
}

#[derive(Serialize)]
struct Fingerprints {
    // Bump the version when the inputs of the fingerprint change: consumers then treat every
    // alert as new once, instead of matching against fingerprints computed another way.
    #[serde(rename = "imdsMigrate/v1")]
    v1: String,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<ContextRegion>,
}

/// The line a single-line finding sits on, so viewers can show it without the file; only a
/// window of it (with its columns) when the line is long.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextRegion {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    snippet: Snippet,
}

#[derive(Serialize)]
struct Snippet {
    text: String,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Snippet>,
}

impl Region {
    /// Analyzers never produce an end before the start, but a region that did would be invalid
    /// SARIF and rejected as a whole upload, so such a region collapses to its start.
    fn new(line: usize, column: usize, end_line: usize, end_column: usize) -> Self {
        let (line, column) = (line.max(1), column.max(1));
        let (end_line, end_column) = if (end_line, end_column) < (line, column) {
            (line, column)
        } else {
            (end_line, end_column.max(1))
        };
        Region {
            start_line: line,
            start_column: column,
            end_line,
            end_column,
            snippet: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix<'a> {
    description: Message,
    artifact_changes: [ArtifactChange<'a>; 1],
    properties: FixProperties,
}

#[derive(Serialize)]
struct FixProperties {
    applicability: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'a> {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'a> {
    deleted_region: Region,
    // Absent means a pure deletion (SARIF §3.57.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    inserted_content: Option<ArtifactContent<'a>>,
}

#[derive(Serialize)]
struct ArtifactContent<'a> {
    text: &'a str,
}

impl Report for Sarif {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        let log = build(result, std::env::current_dir().ok().as_deref());
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

fn build<'a>(result: &'a ScanResult, cwd: Option<&Path>) -> Log<'a> {
    let rules: Vec<&Rule> = catalogue().iter().collect();
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let locator = Locator { result, cwd };
    let fingerprints = fingerprints(result, &locator);
    let results = result
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(f, fingerprint)| sarif_result(f, fingerprint, &rule_index, &locator))
        .collect();
    // Errors first, then notes (files searched as text only) as `note`-level notifications.
    let levels = result
        .errors
        .iter()
        .map(|e| ("error", e))
        .chain(result.notes.iter().map(|n| ("note", n)));
    let notifications = levels
        .map(|(level, e)| Notification {
            level,
            message: Message {
                text: sentence(&e.message),
            },
            locations: [Location {
                physical_location: PhysicalLocation {
                    artifact_location: locator.error_location(e),
                    region: None,
                    context_region: None,
                },
            }],
        })
        .collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "imds-migrate",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: rules.iter().map(|r| descriptor(r)).collect(),
                },
            },
            // Per-file errors do not make the run a failure (SARIF appendix I): they are
            // error-level notifications, which tell consumers the results may be incomplete.
            invocations: [Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            original_uri_base_ids: OriginalUriBaseIds {
                srcroot: BaseId {
                    description: Message {
                        text: "The directory imds-migrate ran in: the repository root in CI."
                            .to_owned(),
                    },
                },
            },
            column_kind: "unicodeCodePoints",
            results,
            properties: {
                let c = FixCounts::of(&result.findings);
                RunProperties {
                    fixable: c.fixable,
                    unsafe_fixable: c.unsafe_fixable,
                    manual: c.manual,
                    fix_summary: c.sentence(),
                }
            },
        }],
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor<'_> {
    let mut tags = vec!["azure", "managed-identity", "migration"];
    tags.extend(rule.file_kinds.iter().map(String::as_str));
    ReportingDescriptor {
        id: &rule.id,
        name: &rule.name,
        short_description: Message {
            text: rule.title.clone(),
        },
        full_description: Message {
            text: rule.summary.clone(),
        },
        help: {
            let mut help = rule.explanation.clone();
            if !help.contains("169.254.169.254") {
                help.push_str("\n\n");
                help.push_str(&super::imds_note());
            }
            MultiformatMessage {
                text: help.clone(),
                markdown: help,
            }
        },
        // The rule file is the rule's documentation, and it lives at a stable path.
        help_uri: format!(
            "{}/blob/main/rules/{}.toml",
            env!("CARGO_PKG_REPOSITORY"),
            rule.id
        ),
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties { tags },
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn sarif_result<'a>(
    f: &'a Finding,
    fingerprint: String,
    rule_index: &HashMap<&str, usize>,
    locator: &Locator<'_>,
) -> SarifResult<'a> {
    let artifact = locator.finding_location(f);
    let fixes = f
        .fix
        .as_ref()
        .filter(|fix| !fix.edits.is_empty())
        .map(|fix| {
            let (applicability, note) = match fix.applicability {
                Applicability::Safe => ("safe", ""),
                Applicability::Unsafe => (
                    "unsafe",
                    " (unsafe: review before applying; `imds-migrate fix --unsafe-fixes`)",
                ),
            };
            SarifFix {
                description: Message {
                    text: sentence(&format!("{}{note}", fix.description)),
                },
                artifact_changes: [ArtifactChange {
                    artifact_location: artifact.clone(),
                    replacements: fix.edits.iter().map(replacement).collect(),
                }],
                properties: FixProperties { applicability },
            }
        })
        .into_iter()
        .collect();
    SarifResult {
        rule_id: &f.rule_id,
        rule_index: rule_index.get(f.rule_id.as_str()).copied(),
        level: level(f.severity),
        message: Message {
            text: sentence(&f.message),
        },
        locations: [Location {
            physical_location: finding_location(f, artifact),
        }],
        partial_fingerprints: Fingerprints { v1: fingerprint },
        fixes,
    }
}

/// The finding's region, with snippets when the finding fits on its line: only the first line
/// of a finding is known here, and a snippet must be the region's exact text.
fn finding_location(f: &Finding, artifact: ArtifactLocation) -> PhysicalLocation {
    let mut region = Region::new(f.line, f.column, f.end_line, f.end_column);
    let line = f.source_line.trim_end_matches(['\r', '\n']);
    let len = line.chars().count();
    // `source_line` is a window of the line starting at `source_column`.
    let first = f.source_column.max(1);
    let single_line = region.start_line == region.end_line
        && region.start_column >= first
        && region.end_column <= first + len;
    if !single_line || line.trim().is_empty() {
        return PhysicalLocation {
            artifact_location: artifact,
            region: Some(region),
            context_region: None,
        };
    }
    let text: String = line
        .chars()
        .skip(region.start_column - first)
        .take(region.end_column - region.start_column)
        .collect();
    region.snippet = (!text.is_empty()).then_some(Snippet { text });
    PhysicalLocation {
        artifact_location: artifact,
        context_region: Some(ContextRegion {
            start_line: region.start_line,
            start_column: (first > 1 || f.source_truncated).then_some(first),
            end_column: (first > 1 || f.source_truncated).then_some(first + len),
            snippet: Snippet {
                text: line.to_owned(),
            },
        }),
        region: Some(region),
    }
}

fn replacement(edit: &LocatedEdit) -> Replacement<'_> {
    Replacement {
        deleted_region: Region::new(edit.line, edit.column, edit.end_line, edit.end_column),
        inserted_content: (!edit.content.is_empty()).then_some(ArtifactContent {
            text: &edit.content,
        }),
    }
}

/// SARIF messages are sentences (the Multitool's SARIF2001 asks for the final period).
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Fingerprints that survive unrelated edits: they hash what the finding is about (rule, file,
/// the text of its line) rather than where it is, and tell identical lines apart by their order.
/// Depends only on the findings, so it is stable across runs and machines.
fn fingerprints(result: &ScanResult, locator: &Locator<'_>) -> Vec<String> {
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    result
        .findings
        .iter()
        .map(|f| {
            let key = (
                f.rule_id.clone(),
                locator.fingerprint_path(f),
                f.source_line.trim().to_owned(),
            );
            let occurrence = seen.entry(key.clone()).or_insert(0);
            let n = *occurrence;
            *occurrence += 1;
            let mut hash = Fnv1a::new();
            for part in [key.0.as_bytes(), key.1.as_bytes(), key.2.as_bytes()] {
                hash.write(part);
                // A separator no part contains keeps ("ab","c") and ("a","bc") apart.
                hash.write(&[0]);
            }
            hash.write(n.to_string().as_bytes());
            format!("{:016x}", hash.0)
        })
        .collect()
}

/// Each finding's path as code scanning and GitLab want it: relative to the working directory
/// (the repository root in CI) with forward slashes, or absolute when the root lies outside it.
pub(super) fn repository_paths(result: &ScanResult, cwd: Option<&Path>) -> Vec<String> {
    let locator = Locator { result, cwd };
    result
        .findings
        .iter()
        .map(|f| locator.fingerprint_path(f))
        .collect()
}

/// [`repository_paths`] for per-file errors or notes.
pub(super) fn repository_error_paths(
    result: &ScanResult,
    errors: &[FileError],
    cwd: Option<&Path>,
) -> Vec<String> {
    let locator = Locator { result, cwd };
    errors
        .iter()
        .map(|e| match locator.place(&error_path(result, e)) {
            Place::Relative(p) => p,
            Place::Absolute(p) => p.to_string_lossy().replace('\\', "/"),
        })
        .collect()
}

/// The findings' stable fingerprints, as SARIF's `partialFingerprints` carries them.
pub(super) fn fingerprints_for(result: &ScanResult, cwd: Option<&Path>) -> Vec<String> {
    fingerprints(result, &Locator { result, cwd })
}

/// A stable hash of some parts, for things that are not findings.
pub(super) fn fingerprint_of(parts: &[&str]) -> String {
    let mut hash = Fnv1a::new();
    for part in parts {
        hash.write(part.as_bytes());
        hash.write(&[0]);
    }
    format!("{:016x}", hash.0)
}

/// FNV-1a, 64 bits: tiny, with a fixed definition, unlike std's `DefaultHasher`, whose output
/// may change between Rust releases and would then reopen every alert.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Turns (root, relative path) into SARIF artifact locations.
struct Locator<'a> {
    result: &'a ScanResult,
    cwd: Option<&'a Path>,
}

enum Place {
    /// Relative to the working directory, with forward slashes.
    Relative(String),
    Absolute(PathBuf),
}

impl Locator<'_> {
    fn finding_location(&self, f: &Finding) -> ArtifactLocation {
        self.artifact(&display_path(self.result, f.root, &f.path))
    }

    fn error_location(&self, e: &FileError) -> ArtifactLocation {
        self.artifact(&error_path(self.result, e))
    }

    fn fingerprint_path(&self, f: &Finding) -> String {
        match self.place(&display_path(self.result, f.root, &f.path)) {
            Place::Relative(p) => p,
            Place::Absolute(p) => p.to_string_lossy().replace('\\', "/"),
        }
    }

    fn artifact(&self, shown: &str) -> ArtifactLocation {
        match self.place(shown) {
            Place::Relative(p) => ArtifactLocation {
                uri: percent_encode(&p, false),
                uri_base_id: Some(SRCROOT),
            },
            Place::Absolute(p) => ArtifactLocation {
                uri: file_uri(&p),
                uri_base_id: None,
            },
        }
    }

    /// An absolute root inside the working directory (`scan "$GITHUB_WORKSPACE"`) still yields
    /// repository-relative URIs, which is what code scanning needs; one outside it cannot.
    fn place(&self, shown: &str) -> Place {
        let path = Path::new(shown);
        if path.is_absolute() || shown.starts_with('/') {
            return match self.cwd.and_then(|cwd| path.strip_prefix(cwd).ok()) {
                Some(rel) if !rel.as_os_str().is_empty() => {
                    Place::Relative(normalize(&rel.to_string_lossy()))
                }
                _ => Place::Absolute(path.to_path_buf()),
            };
        }
        Place::Relative(normalize(shown))
    }
}

/// Forward slashes, no `.` segments, no empty segments.
fn normalize(path: &str) -> String {
    path.replace('\\', "/")
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn file_uri(path: &Path) -> String {
    let p = path.to_string_lossy().replace('\\', "/");
    // A Windows path (`C:/x`) needs the slash that starts a URI's absolute path.
    let p = if p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    };
    format!("file://{}", percent_encode(&p, true))
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`. A colon is kept only
/// when asked: in a relative reference, a colon in the first segment would read as a scheme.
fn percent_encode(path: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (keep_colon && b == b':');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // From the FNV reference test suite.
        let hash = |s: &str| {
            let mut h = Fnv1a::new();
            h.write(s.as_bytes());
            h.0
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            percent_encode("my dir/a b#c%.json", false),
            "my%20dir/a%20b%23c%25.json"
        );
        assert_eq!(percent_encode("c:x/é", false), "c%3Ax/%C3%A9");
        assert_eq!(file_uri(Path::new("/tmp/a b")), "file:///tmp/a%20b");
        assert_eq!(file_uri(Path::new("C:\\src\\x")), "file:///C:/src/x");
    }

    #[test]
    fn normalizes_relative_paths() {
        assert_eq!(normalize("./a//b/./c"), "a/b/c");
        assert_eq!(normalize("a\\b"), "a/b");
    }

    #[test]
    fn region_never_ends_before_it_starts() {
        let r = Region::new(3, 5, 3, 2);
        assert_eq!((r.end_line, r.end_column), (3, 5));
        let r = Region::new(0, 0, 0, 0);
        assert_eq!((r.start_line, r.start_column), (1, 1));
    }

    #[test]
    fn sentences_end_with_a_period() {
        assert_eq!(sentence("remove it"), "remove it.");
        assert_eq!(sentence("done. "), "done.");
        assert_eq!(sentence("why?"), "why?");
    }
}

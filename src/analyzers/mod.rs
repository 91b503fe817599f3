//! The analyzers, one per file kind, and the dispatch that picks them for a file.
//!
//! Every analyzer is a function `analyze(text, ctx, out)`: it reads `text` (a whole file or a
//! Markdown code block) and appends [`Diagnostic`]s whose byte ranges are relative to `text`.
//! Analyzers never touch the disk, the walker or the output.

pub mod arm;
pub mod azcli;
pub mod azcli_legacy;
pub mod bicep;
pub mod cloud_shell;
pub mod command;
pub mod config_keys;
pub mod construct;
pub mod embedded;
pub mod encoded_url;
pub mod endpoint;
pub mod inner_command;
pub mod lexical;
pub mod libraries;
pub mod markdown;
pub mod pattern;
pub mod post_get;
pub mod powershell;
pub mod scale_set;
pub mod sdk;
pub mod sniff;
pub mod terraform;
pub mod url_build;

use crate::{finding::Diagnostic, kind::FileKind};

/// The IMDS api-version that rewrites put into token URLs unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2018-02-01";
/// The Managed Identity extension's default port.
pub const DEFAULT_PORT: u16 = 50342;
pub const PUBLISHER: &str = "Microsoft.ManagedIdentity";
pub const EXTENSION_TYPES: [&str; 2] = [
    "ManagedIdentityExtensionForWindows",
    "ManagedIdentityExtensionForLinux",
];

/// True for the extension's publisher (ARM compares case-insensitively).
pub fn is_publisher(s: &str) -> bool {
    s.eq_ignore_ascii_case(PUBLISHER)
}

/// True for one of the two extension types (any case).
pub fn is_extension_type(s: &str) -> bool {
    EXTENSION_TYPES.iter().any(|t| t.eq_ignore_ascii_case(s))
}

/// What every analyzer may know besides the text.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub kind: FileKind,
    /// Path relative to the scan root (for heuristics such as Cloud Shell files, and messages).
    pub path: &'a str,
    /// IMDS api-version for rewritten URLs.
    pub api_version: &'a str,
    /// Ports configured by the user as the extension's, besides 50342.
    pub extra_ports: &'a [u16],
}

impl Context<'_> {
    /// True when `port` is known without looking at the rest of the repository.
    pub fn is_known_port(&self, port: u16) -> bool {
        port == DEFAULT_PORT || self.extra_ports.contains(&port)
    }
}

/// What analyzing one text produced.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    /// Ports that extensions in this text declare in `settings.port` (or `-Settings @{port=...}`...).
    pub declared_ports: Vec<u16>,
    /// Problems worth a note (e.g. "invalid JSON at line 3: ...; searched as text"): the file
    /// was still searched as text, so they are reported under `notes`, never as errors.
    pub problems: Vec<String>,
    /// What the text (a dependency manifest) says about the credential libraries of IMDS041.
    pub dependencies: Vec<libraries::Dependency>,
}

impl Analysis {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Appends another analysis of a sub-text that starts at byte `offset`.
    pub fn extend_shifted(&mut self, other: Analysis, offset: usize) {
        self.diagnostics
            .extend(other.diagnostics.into_iter().map(|d| d.shifted(offset)));
        self.declared_ports.extend(other.declared_ports);
        self.problems.extend(other.problems);
        self.dependencies.extend(other.dependencies);
    }
}

/// Runs every analyzer that applies to `ctx.kind` on `text`.
pub fn analyze(text: &str, ctx: &Context) -> Analysis {
    let mut out = Analysis::default();
    match ctx.kind {
        FileKind::Arm | FileKind::ArmParameters | FileKind::Json => {
            arm::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
            libraries::analyze(text, ctx, &mut out);
        }
        FileKind::PowerShell => {
            powershell::analyze(text, ctx, &mut out);
            azcli::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
        }
        FileKind::Shell | FileKind::Batch => {
            azcli::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
        }
        FileKind::Yaml => {
            azcli::analyze(text, ctx, &mut out);
            sdk::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
            // pnpm-lock.yaml
            libraries::analyze(text, ctx, &mut out);
        }
        FileKind::Terraform => {
            terraform::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
        }
        FileKind::Bicep => {
            bicep::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
        }
        FileKind::Markdown => markdown::analyze(text, ctx, &mut out),
        // HTML pages are documents: their prose names the extension without deploying it;
        // their `<pre>` blocks are analyzed as the code they hold.
        FileKind::Xml if is_html(ctx.path) => {
            endpoint::analyze(text, ctx, &mut out);
            embedded::analyze_html(text, ctx, &mut out);
        }
        FileKind::Code(_) | FileKind::Xml | FileKind::Config | FileKind::Text => {
            sdk::analyze(text, ctx, &mut out);
            endpoint::analyze(text, ctx, &mut out);
            libraries::analyze(text, ctx, &mut out);
        }
        FileKind::Log => {}
    }
    // Shapes that any file may hold (Markdown holds them in code blocks, analyzed above as
    // their own kind; logs hold none).
    let any_text = !matches!(ctx.kind, FileKind::Log | FileKind::Markdown);
    if any_text {
        encoded_url::analyze(text, ctx, &mut out);
    }
    if inner_command::applies_to(ctx.kind) {
        inner_command::analyze(text, ctx, &mut out);
    }
    // A URL built from the port (IMDS032) already sends the reader to the port variable.
    if any_text && !out.diagnostics.iter().any(|d| d.rule == "IMDS032") {
        config_keys::analyze(text, ctx, &mut out);
    }
    dedup(&mut out.diagnostics);
    out
}

fn is_html(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.ends_with(".html") || p.ends_with(".htm")
}

/// Two analyzers may see the same construct (an `az` command inside a PowerShell script is seen
/// by both the PowerShell and the CLI analyzer): keep one diagnostic per rule and start, and drop
/// a diagnostic nested inside another's range of the same rule. Sorted by start (then widest
/// first), a diagnostic is nested exactly when an earlier one of its rule reaches as far, so
/// remembering the farthest end per rule keeps this linear.
fn dedup(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.range.start, std::cmp::Reverse(a.range.end), a.rule).cmp(&(
            b.range.start,
            std::cmp::Reverse(b.range.end),
            b.rule,
        ))
    });
    let mut farthest: std::collections::HashMap<&'static str, usize> =
        std::collections::HashMap::new();
    diags.retain(|d| {
        let end = farthest.entry(d.rule).or_insert(0);
        let nested = *end >= d.range.end && *end > 0;
        if !nested {
            *end = (*end).max(d.range.end);
        }
        !nested
    });
}

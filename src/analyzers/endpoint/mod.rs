//! The extension's token service as it appears in code and configuration: literal token URLs
//! (IMDS030), form POSTs to them (IMDS031), URLs built from a computed port or host (IMDS032),
//! base URLs without the path (IMDS033) and the extension's settings file (IMDS034).
//!
//! Everything here is text search made precise by [`lexical`]: matches inside comments are not
//! usages, and the host must be `localhost`/`127.0.0.1` with the token path right after the
//! port, which rules out AAD (`login.microsoftonline.com/{tenant}/oauth2/token`), Azure Arc
//! (`localhost:40342/metadata/identity/oauth2/token`) and IMDS itself.
//!
//! This module finds the URLs; `context` decides whether a match is a usage, `method`
//! whether the request is a POST, `rewrite` builds the fixes and `text` holds the line
//! and window geometry they share.

mod context;
mod method;
mod rewrite;
mod text;

use std::{cell::OnceCell, ops::Range, sync::LazyLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

pub use self::{context::looks_like_error, rewrite::imds_url, text::line_of};
use self::{
    context::{
        has_metadata_header, mentions_msi, names_msi_setting, oauth_test_double, own_oauth_server,
    },
    method::is_post,
    rewrite::{curl_post_fix, get_fix},
    text::{is_word_byte, overlaps_any, query_end},
};
use super::{
    Analysis, Context,
    cloud_shell::CloudShell,
    lexical::{self, Lexed},
    post_get,
};
use crate::finding::Diagnostic;

pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// `http://localhost:50342/oauth2/token`, scheme optional (`curl localhost:50342/...` works).
static LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r"(?i)(?:https?://)?(?:localhost|127\.0\.0\.1):([0-9]{1,5})/oauth2/token/?",
    )
    .expect("valid regex")
});

/// A token URL on localhost whose port is an interpolation, a format placeholder or a
/// concatenation. The last alternative (quote, anything, quote) is checked afterwards for a
/// concatenation operator.
static COMPUTED_PORT: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(concat!(
        r"(?i)https?://(?:localhost|127\.0\.0\.1):",
        r"(?:\{\{[[:ascii:]--[{}\n]]{0,80}\}\}|\{[[:ascii:]--[{}\n]]{0,80}\}|\$\{[[:ascii:]--[{}\n]]{0,80}\}|\$\([[:ascii:]--[()\n]]{0,80}\)",
        r"|\$[\w:]{1,60}|%\(\w{1,40}\)[sd]|%[-+ #0-9.]{0,6}[sdvi]|#\{[[:ascii:]--[{}\n]]{0,80}\}",
        r"|<%=[[:ascii:]--[%\n]]{0,80}%>|(?P<concat>[\x22'`][[:ascii:]--[\n]]{0,160}?[\x22'`]))",
        r"/oauth2/token"
    ))
    .expect("valid regex")
});

/// The known port with a computed host in front of it (`"http://" + host + ":50342/oauth2/token"`).
static COMPUTED_HOST: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r":([0-9]{1,5})/oauth2/token").expect("valid regex")
});

/// A base URL with nothing after the port but an optional slash.
static BASE: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)https?://(?:localhost|127\.0\.0\.1):([0-9]{1,5})/?")
        .expect("valid regex")
});

static SETTINGS_FILE: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)(?:/var/lib/waagent/)?\bManagedIdentity-Settings\b")
        .expect("valid regex")
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    if !worth_lexing(text, ctx) {
        return;
    }
    let lx = lexical::lex(text, ctx.kind);
    // A string literal that starts a query (`"?resource="`, `'?client_id='`): the query of a
    // URL without one may be appended from it.
    let query_literal = lx.strings.iter().any(|r| {
        let lit = text[r.clone()].trim_start_matches(['$', '@', 'f', 'F', 'r', 'R', 'b']);
        let body = lit.get(1..).unwrap_or("").as_bytes();
        body.first() == Some(&b'?') && body.get(1).is_some_and(u8::is_ascii_alphabetic)
    });
    let scan = Scan {
        text,
        ctx,
        lx: &lx,
        header: has_metadata_header(text, &lx),
        query_literal,
        posts: OnceCell::new(),
        gets: OnceCell::new(),
    };
    settings_file(&scan, out);
    let cloud_shell = CloudShell::of(text, ctx.path);
    if cloud_shell.whole() {
        return;
    }
    // Ranges already reported, so one URL gets one rule. Each pass finds non-overlapping
    // matches in order; sorting between passes keeps the lookups logarithmic.
    let mut claimed = Vec::new();
    let first = out.diagnostics.len();
    computed_urls(&scan, &mut claimed, out);
    claimed.sort_by_key(|r: &Range<usize>| r.start);
    let computed = claimed.clone();
    literal_urls(&scan, &computed, &mut claimed, out);
    claimed.sort_by_key(|r| r.start);
    base_urls(&scan, &claimed, out);
    // Cloud Shell's own endpoint, in the constructs that are about Cloud Shell, is no usage.
    let mut index = 0;
    out.diagnostics.retain(|d| {
        index += 1;
        index <= first || !cloud_shell.covers(d.range.start)
    });
}

/// Every rule here needs a `localhost`/`127.0.0.1` host, the port 50342 (or a configured one)
/// or the settings file's path: without any, lexing the file is wasted work. Ports declared by
/// extensions elsewhere in the repository only matter with a local host.
fn worth_lexing(text: &str, ctx: &Context) -> bool {
    // One case-insensitive pass for all: a window-by-window comparison per word took an eighth
    // of the analysis time on real repositories.
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        super::pattern::words_any_case(&[
            "50342",
            "127.0.0.1",
            "localhost",
            "managedidentity-settings",
        ])
    });
    let bytes = text.as_bytes();
    WORDS.is_match(bytes)
        || ctx
            .extra_ports
            .iter()
            .any(|p| memchr::memmem::find(bytes, p.to_string().as_bytes()).is_some())
}

struct Scan<'a> {
    text: &'a str,
    ctx: &'a Context<'a>,
    lx: &'a Lexed,
    /// Whether the file sends `Metadata: true` somewhere (outside comments).
    header: bool,
    /// Whether some string literal of the file starts a query string.
    query_literal: bool,
    /// Where the file sends POSTs and GETs (computed on first use, sorted).
    posts: OnceCell<Vec<usize>>,
    gets: OnceCell<Vec<usize>>,
}

fn literal_urls(
    s: &Scan,
    computed: &[Range<usize>],
    claimed: &mut Vec<Range<usize>>,
    out: &mut Analysis,
) {
    let text = s.text;
    let b = text.as_bytes();
    for m in LITERAL.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        let start = whole.start();
        // `foo.localhost:...` or `xhttp://` is another host; `...token_v2` another path.
        if start > 0 && (is_word_byte(b[start - 1]) || b[start - 1] == b'.' || b[start - 1] == b'/')
        {
            continue;
        }
        if b.get(whole.end()).is_some_and(|&c| is_word_byte(c)) {
            continue;
        }
        let Ok(port) = m[1].parse::<u16>() else {
            continue;
        };
        let end = if b.get(whole.end()) == Some(&b'?') {
            query_end(text, whole.end() + 1)
        } else {
            whole.end()
        };
        let range = start..end;
        if s.ignored(&range) || overlaps_any(computed, &range) {
            continue;
        }
        claimed.push(range.clone());
        if own_oauth_server(s, &range) {
            continue;
        }
        let query = &text[whole.end()..end];
        let diag = if is_post(s, &range) {
            Diagnostic::new(
                "IMDS031",
                range.clone(),
                format!(
                    "form POST to the Managed Identity extension's token endpoint (port {port}); IMDS takes a GET to `{IMDS_TOKEN_URL}?api-version={}&resource=...` with the form fields in the query and the header `Metadata: true`",
                    s.ctx.api_version
                ),
            )
            .with_fix_or_reason(
                curl_post_fix(s, &range, query).ok_or_else(|| post_get::NO_FIX.to_owned()),
            )
        } else {
            Diagnostic::new(
                "IMDS030",
                range.clone(),
                format!(
                    "token request to the Managed Identity extension on port {port}; request the token from IMDS (`{IMDS_TOKEN_URL}?api-version={}`) with the header `Metadata: true`",
                    s.ctx.api_version
                ),
            )
            .with_fix_or_reason(get_fix(s, &range, query))
        };
        out.push(if s.ctx.is_known_port(port) {
            diag
        } else {
            diag.requiring_port(port)
        });
    }
}

fn computed_urls(s: &Scan, claimed: &mut Vec<Range<usize>>, out: &mut Analysis) {
    let text = s.text;
    let b = text.as_bytes();
    // A local host with a computed port and the bare `/oauth2/token` path is the extension's
    // signature on its own (an isolated helper that builds the URL is as much a usage as one
    // next to its `Metadata` header), except in a test double of an OAuth server that says
    // nothing of MSI.
    let double = !mentions_msi(s) && oauth_test_double(text);
    for m in COMPUTED_PORT.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        if let Some(gap) = m.name("concat") {
            // Between the two quotes there must be an operator: `" + port + "`, `', x, '`.
            let inner = &gap.as_str()[1..gap.as_str().len() - 1];
            if inner.contains("://") || !inner.contains(['+', '&', '.', ',', '|', '<']) {
                continue;
            }
        }
        if double || s.ignored(&whole.range()) {
            continue;
        }
        claimed.push(whole.range());
        out.push(Diagnostic::new(
            "IMDS032",
            whole.range(),
            format!(
                "token URL of the Managed Identity extension built from a computed port; replace the whole URL with `{IMDS_TOKEN_URL}?api-version={}` (plus the query), send GET with `Metadata: true`, and drop the port setting (no automatic fix: the port's variable, its configuration and the URL have to change together)",
                s.ctx.api_version
            ),
        ));
    }
    claimed.sort_by_key(|r| r.start);
    let by_port = claimed.len();
    for m in COMPUTED_HOST.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        let colon = whole.start();
        let Ok(port) = m[1].parse::<u16>() else {
            continue;
        };
        if !s.ctx.is_known_port(port)
            || colon == 0
            || b.get(whole.end()).is_some_and(|&c| is_word_byte(c))
        {
            continue;
        }
        // The host is computed when it ends in an interpolation or a closing quote; a literal
        // host name (`myhost:50342`) is either localhost (IMDS030) or not the extension.
        let prev = b[colon - 1];
        let computed = match prev {
            b'}' | b')' | b'"' | b'\'' | b'`' | b'>' => true,
            c if is_word_byte(c) => {
                let word_start = b[..colon]
                    .iter()
                    .rposition(|&c| !(is_word_byte(c) || c == b':'))
                    .map_or(0, |p| p + 1);
                word_start > 0 && b[word_start - 1] == b'$' || b[..colon].ends_with(b"%s")
            }
            _ => false,
        };
        if !computed {
            continue;
        }
        let line = line_of(text, colon);
        let from = line.start.max(crate::source::floor_char_boundary(
            text,
            colon.saturating_sub(200),
        ));
        let start = text[from..colon]
            .to_ascii_lowercase()
            .rfind("http")
            .map_or(colon, |p| from + p);
        let range = start..whole.end();
        if s.ignored(&range)
            || overlaps_any(&claimed[..by_port], &range)
            || claimed[by_port..]
                .last()
                .is_some_and(|c| range.start < c.end)
        {
            continue;
        }
        claimed.push(range.clone());
        out.push(Diagnostic::new(
            "IMDS032",
            range,
            format!(
                "token URL of the Managed Identity extension (port {port}) built from a computed host; replace it with `{IMDS_TOKEN_URL}?api-version={}` and send GET with `Metadata: true` (no automatic fix: the host comes from elsewhere in the code)",
                s.ctx.api_version
            ),
        ));
    }
}

fn base_urls(s: &Scan, claimed: &[Range<usize>], out: &mut Analysis) {
    let text = s.text;
    let b = text.as_bytes();
    for m in BASE.captures_iter(text) {
        let whole = m.get(0).expect("group 0");
        let end = whole.end();
        // Only a value that ends here: a quote, blank, markup or end of text.
        let ends_value = b.get(end).is_none_or(|&c| {
            c.is_ascii_whitespace()
                || matches!(
                    c,
                    b'"' | b'\'' | b'`' | b'<' | b',' | b';' | b')' | b']' | b'}' | b'\\' | b'&'
                )
        });
        if !ends_value || (whole.start() > 0 && is_word_byte(b[whole.start() - 1])) {
            continue;
        }
        let Ok(port) = m[1].parse::<u16>() else {
            continue;
        };
        let range = whole.range();
        if s.ignored(&range) || overlaps_any(claimed, &range) || !names_msi_setting(s, range.start)
        {
            continue;
        }
        let diag = Diagnostic::new(
            "IMDS033",
            range,
            format!(
                "endpoint setting points at the Managed Identity extension (port {port}); remove it so the tool uses IMDS, or set it to `{IMDS_TOKEN_URL}` (no automatic fix: whether the tool wants a base URL or the full endpoint depends on the tool)"
            ),
        );
        out.push(if s.ctx.is_known_port(port) {
            diag
        } else {
            diag.requiring_port(port)
        });
    }
}

fn settings_file(s: &Scan, out: &mut Analysis) {
    // One finding per line: `--volume=/var/lib/...Settings:/var/lib/...Settings:ro` is one mount.
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for m in SETTINGS_FILE.find_iter(s.text) {
        if s.ignored(&m.range()) {
            continue;
        }
        match ranges.last_mut() {
            Some(last) if !s.text[last.end..m.start()].contains('\n') => last.end = m.end(),
            _ => ranges.push(m.range()),
        }
    }
    for range in ranges {
        out.push(Diagnostic::new(
            "IMDS034",
            range,
            "reads the Managed Identity extension's settings file, which no longer exists without the extension; request tokens from IMDS instead and drop the file (and any hostPath mount of it)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        finding::{Applicability, Fix},
        fix::apply::apply_fixes,
        kind::{FileKind, Lang},
    };

    pub(super) const PY: FileKind = FileKind::Code(Lang::Python);

    pub(super) fn ctx(kind: FileKind) -> Context<'static> {
        Context {
            kind,
            path: "src/app.x",
            api_version: "2018-02-01",
            extra_ports: &[],
        }
    }

    pub(super) fn run(text: &str, kind: FileKind) -> Vec<Diagnostic> {
        let mut out = Analysis::default();
        analyze(text, &ctx(kind), &mut out);
        out.diagnostics
    }

    /// (rule, matched text, port requirement) of every diagnostic.
    pub(super) fn found(text: &str, kind: FileKind) -> Vec<(&'static str, String, Option<u16>)> {
        run(text, kind)
            .into_iter()
            .map(|d| (d.rule, text[d.range].to_owned(), d.requires_port))
            .collect()
    }

    /// Applies every fix (unsafe included) and checks nothing fixable is left.
    pub(super) fn fixed(text: &str, kind: FileKind) -> String {
        let diags = run(text, kind);
        let fixes: Vec<&Fix> = diags.iter().filter_map(|d| d.fix.as_ref()).collect();
        assert!(!fixes.is_empty(), "no fix for {text}");
        let (out, _) = apply_fixes(text, &fixes, true);
        let again = run(&out, kind);
        assert!(
            again.iter().all(|d| d.fix.is_none()),
            "fixable finding left in {out}: {again:?}"
        );
        out
    }

    pub(super) fn applicability(text: &str, kind: FileKind) -> Option<Applicability> {
        run(text, kind)
            .into_iter()
            .find_map(|d| d.fix.map(|f| f.applicability))
    }

    #[test]
    fn other_ports_need_a_declaration() {
        assert_eq!(
            found("u = \"http://localhost:50343/oauth2/token\"", PY),
            [(
                "IMDS030",
                "http://localhost:50343/oauth2/token".into(),
                Some(50343)
            )]
        );
        let mut out = Analysis::default();
        let c = Context {
            extra_ports: &[50343],
            ..ctx(PY)
        };
        analyze("u = \"http://localhost:50343/oauth2/token\"", &c, &mut out);
        assert_eq!(out.diagnostics[0].requires_port, None);
    }

    #[test]
    fn a_computed_port_needs_no_other_context() {
        let t = "u = f'http://localhost:{port}/oauth2/token'";
        let rules: Vec<_> = found(t, PY).into_iter().map(|f| f.0).collect();
        assert_eq!(rules, vec!["IMDS032"]);
    }

    #[test]
    fn cloud_shell_files_are_left_alone() {
        let t = "if os.environ.get('ACC_CLOUD'):\n    u = 'http://localhost:50342/oauth2/token'\n";
        assert!(found(t, PY).is_empty());
        let mut out = Analysis::default();
        let c = Context {
            path: "tools/cloudshell/token.py",
            ..ctx(PY)
        };
        analyze("u = 'http://localhost:50342/oauth2/token'", &c, &mut out);
        assert!(out.diagnostics.is_empty());
        let automation = "if ($env:AZUREPS_HOST_ENVIRONMENT -like 'AzureAutomation*') { $u = $env:IDENTITY_ENDPOINT }\n$t = Invoke-RestMethod 'http://localhost:50342/oauth2/token?resource=x' -Headers @{Metadata='true'}\n";
        assert_eq!(found(automation, FileKind::PowerShell).len(), 1);
        let ps = "if ($env:AZUREPS_HOST_ENVIRONMENT -like 'cloud-shell*') { $t = Invoke-RestMethod 'http://localhost:50342/oauth2/token?resource=x' }\n";
        assert!(found(ps, FileKind::PowerShell).is_empty());
        // A VM runbook that merely says "open Cloud Shell" is still about the VM.
        let vm = "# Open Cloud Shell, then on the virtual machine:\nu = 'http://localhost:50342/oauth2/token'\n";
        assert_eq!(found(vm, PY).len(), 1);
    }

    #[test]
    fn computed_ports_and_hosts() {
        for (t, kind) in [
            (
                "u = f\"http://localhost:{port}/oauth2/token?resource={r}\"  # msi",
                PY,
            ),
            (
                "u = 'http://localhost:{}/oauth2/token'.format(msi_port)",
                PY,
            ),
            ("u = \"http://127.0.0.1:%d/oauth2/token\" % msi_port", PY),
            (
                "u = \"http://localhost:\" + str(msi_port) + \"/oauth2/token\"",
                PY,
            ),
            (
                "var u = string.Format(\"http://localhost:{0}/oauth2/token?resource={1}\", msiPort, r);",
                FileKind::Code(Lang::CSharp),
            ),
            (
                "const u = `http://localhost:${this.port}/oauth2/token`; // managed identity",
                FileKind::Code(Lang::JavaScript),
            ),
            (
                "u := fmt.Sprintf(\"http://localhost:%d/oauth2/token\", msiPort)",
                FileKind::Code(Lang::Go),
            ),
            (
                "\"value\": \"[concat('http://localhost:', parameters('msiPort'), '/oauth2/token')]\"",
                FileKind::Arm,
            ),
            (
                "$u = \"http://localhost:$msiPort/oauth2/token\"",
                FileKind::PowerShell,
            ),
            ("u = \"http://\" + host + \":50342/oauth2/token\"", PY),
            ("u = f\"http://{host}:50342/oauth2/token\"", PY),
        ] {
            let d = found(t, kind);
            assert_eq!(d.len(), 1, "{t}: {d:?}");
            assert_eq!(d[0].0, "IMDS032", "{t}");
            assert!(d[0].1.ends_with("/oauth2/token"), "{t}: {}", d[0].1);
        }
    }

    #[test]
    fn base_urls_and_settings_file() {
        for (t, kind, m) in [
            (
                "ARM_MSI_ENDPOINT=\"https://localhost:50342\"\n",
                FileKind::Shell,
                "https://localhost:50342",
            ),
            (
                "MSI_ENDPOINT=http://localhost:50342/\n",
                FileKind::Config,
                "http://localhost:50342/",
            ),
            (
                "{ \"msiEndpoint\": \"http://127.0.0.1:50342\" }",
                FileKind::Json,
                "http://127.0.0.1:50342",
            ),
        ] {
            assert_eq!(found(t, kind), [("IMDS033", m.to_owned(), None)], "{t}");
        }
        assert_eq!(
            found("msi_base = 'http://localhost:3000'", PY),
            [("IMDS033", "http://localhost:3000".to_owned(), Some(3000))]
        );
        let yaml = "env:\n  - name: ARM_MSI_ENDPOINT\n    value: http://localhost:50342\n";
        assert_eq!(found(yaml, FileKind::Yaml).len(), 1);
        // A development server on the same port.
        for t in [
            "policy.WithOrigins(\"http://localhost:50342\")",
            "public static string ValidIssuer => \"http://localhost:50342\";",
            "clienteHttp.BaseAddress = new Uri(\"http://localhost:50342\");",
        ] {
            assert!(found(t, FileKind::Code(Lang::CSharp)).is_empty(), "{t}");
        }
        let y = "volumes:\n- name: msi\n  hostPath:\n    path: /var/lib/waagent/ManagedIdentity-Settings\n# path: /var/lib/waagent/ManagedIdentity-Settings\n";
        assert_eq!(
            found(y, FileKind::Yaml),
            [(
                "IMDS034",
                "/var/lib/waagent/ManagedIdentity-Settings".to_owned(),
                None
            )]
        );
    }

    /// Random soups of the tokens the analyzers react to, in every kind: no panic, and every
    /// range and edit lies on character boundaries of the text.
    #[test]
    fn random_token_soup_never_panics() {
        const TOKENS: &[&str] = &[
            "http://localhost:50342/oauth2/token",
            "127.0.0.1:",
            "50342",
            "/oauth2/token",
            "?resource=x",
            "&",
            "\"",
            "'",
            "`",
            "\\",
            "\n",
            "\r\n",
            " ",
            "#",
            "//",
            "/*",
            "*/",
            "<!--",
            "-->",
            "<#",
            "#>",
            "```",
            "~~~",
            "$ ",
            "PS> ",
            "curl ",
            "-d ",
            "-X POST ",
            "{port}",
            "${p}",
            "%d",
            "+",
            "é",
            "Microsoft.ManagedIdentity",
            "ManagedIdentityExtensionForLinux",
            "ManagedIdentity-Settings",
            "Metadata: true",
            "requests.post(",
            "http://localhost:",
            "REM ",
            "--",
            ";",
            "@\"",
        ];
        let kinds = [
            PY,
            FileKind::Shell,
            FileKind::PowerShell,
            FileKind::Batch,
            FileKind::Xml,
            FileKind::Yaml,
            FileKind::Config,
            FileKind::Text,
            FileKind::Json,
            FileKind::Markdown,
            FileKind::Code(Lang::CSharp),
            FileKind::Code(Lang::VisualBasic),
            FileKind::Code(Lang::Lua),
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..3000 {
            let mut t = String::new();
            for _ in 0..(round % 40) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                t.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            }
            let c = Context {
                kind: kinds[round % kinds.len()],
                ..ctx(PY)
            };
            for d in super::super::analyze(&t, &c).diagnostics {
                assert!(
                    d.range.end <= t.len()
                        && t.is_char_boundary(d.range.start)
                        && t.is_char_boundary(d.range.end),
                    "{t:?}"
                );
                for e in d.fix.iter().flat_map(|f| &f.edits) {
                    assert!(
                        t.is_char_boundary(e.range.start)
                            && t.is_char_boundary(e.range.end)
                            && e.range.end <= t.len(),
                        "{t:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn large_inputs_stay_fast() {
        let line =
            "x = requests.post('http://localhost:50342/oauth2/token?resource=a', data=d) # \"' -d ";
        let many_lines = format!("{line}\n").repeat(3_000);
        // Minified: one line, no comment marker.
        let one_line = line.replace('#', "").repeat(3_000);
        let start = std::time::Instant::now();
        assert_eq!(run(&many_lines, PY).len(), 3_000);
        assert_eq!(run(&one_line, FileKind::Shell).len(), 3_000);
        // Generous: debug builds of `regex` are slow; a quadratic scan would take minutes.
        assert!(start.elapsed().as_secs() < 60, "{:?}", start.elapsed());
    }

    #[test]
    fn one_settings_file_finding_per_line() {
        let t = "docker run --volume=/var/lib/waagent/ManagedIdentity-Settings:/var/lib/waagent/ManagedIdentity-Settings:ro k8s\n";
        assert_eq!(run(t, FileKind::Shell).len(), 1);
    }

    #[test]
    fn odd_inputs_never_panic() {
        for t in [
            "",
            "\n",
            "http://localhost:",
            "http://localhost:99999/oauth2/token",
            "localhost:50342/oauth2/token",
            "curl -d",
            "curl -X POST http://localhost:50342/oauth2/token -d",
            "é http://localhost:50342/oauth2/token?é=é",
            "\\\nhttp://localhost:50342/oauth2/token\\",
            "`\n`",
        ] {
            for kind in [
                PY,
                FileKind::Shell,
                FileKind::PowerShell,
                FileKind::Xml,
                FileKind::Text,
                FileKind::Batch,
            ] {
                let _ = run(t, kind);
            }
        }
    }
}

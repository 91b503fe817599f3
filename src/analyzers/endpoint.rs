//! The extension's token service as it appears in code and configuration: literal token URLs
//! (IMDS030), form POSTs to them (IMDS031), URLs built from a computed port or host (IMDS032),
//! base URLs without the path (IMDS033) and the extension's settings file (IMDS034).
//!
//! Everything here is text search made precise by [`lexical`]: matches inside comments are not
//! usages, and the host must be `localhost`/`127.0.0.1` with the token path right after the
//! port, which rules out AAD (`login.microsoftonline.com/{tenant}/oauth2/token`), Azure Arc
//! (`localhost:40342/metadata/identity/oauth2/token`) and IMDS itself.

use std::{cell::OnceCell, ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Analysis, Context,
    cloud_shell::CloudShell,
    lexical::{self, Lexed},
    post_get,
    url_build::{self, Built},
};
use crate::{
    finding::{Diagnostic, Edit, Fix},
    kind::{FileKind, Lang},
};

pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The query parameters IMDS's token endpoint takes (besides `api-version`).
const IMDS_PARAMS: [&str; 5] = [
    "resource",
    "client_id",
    "object_id",
    "msi_res_id",
    "mi_res_id",
];

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

/// The header IMDS requires, in the shapes clients set it: `Metadata: true`, `"Metadata":
/// "true"`, `@{Metadata="true"}`, `.Add("Metadata", "true")`, `Headers["Metadata"] = "true"`.
static METADATA_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?i)\bmetadata["']?\]?\s*[:=,]\s*["']?true\b"#)
        .expect("valid regex")
});

/// Ways to send a POST, in the statement around the URL (any language).
static POST: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(concat!(
        r#"(?i)-Method(?:\s+|:)["']?post\b|\bmethod["']?\s*[:=]\s*["']?post\b|\.post(?:_form|async)?\s*\("#,
        r#"|\bCURLOPT_POST(?:FIELDS)?\b|\brequest\s*\(\s*["']post["']"#,
        r#"|\b(?:PostForm|UploadValues|UploadString|UploadData|HttpPost|MethodPost)\b"#,
        r#"|HttpMethod\.Post\b|Method\.POST\b|Net::HTTP::Post\b|setRequestMethod\s*\(\s*"POST""#,
        r#"|\.open\s*\(\s*["']post["']|NewRequest(?:WithContext)?\s*\([^,)\n]*"POST""#,
        r#"|\bRequest\s*\([^)\n]*\bdata\s*=|\burlopen\s*\(\s*[^,()\n]+,\s*(?:data\s*=|[A-Za-z_][\w.]*\s*[,)])"#
    ))
    .expect("valid regex")
});

/// curl/wget options that send a body (case matters: `-D` dumps headers, `-f` fails quietly).
static CLI_POST: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(concat!(
        r#"(?:^|\s)(?:-d|--data(?:-urlencode|-raw|-binary|-ascii)?|-F|--form|--post-data|--post-file)(?:[\s=]|\S)"#,
        r#"|(?:^|\s)(?:-X\s*|--request[\s=]+|--method=)["']?(?i:post)\b"#
    ))
    .expect("valid regex")
});

/// Any URL: a POST on a line with another URL is a request to that URL.
static OTHER_URL: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)https?://([A-Za-z0-9.\-\[\]:]+)").expect("valid regex")
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
    let bytes = text.as_bytes();
    let ci = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    memchr::memmem::find(bytes, b"50342").is_some()
        || memchr::memmem::find(bytes, b"127.0.0.1").is_some()
        || ci(b"localhost")
        || ci(b"managedidentity-settings")
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

impl Scan<'_> {
    /// Not a usage: inside a comment, or (in plain text files) on a line that quotes an error.
    fn ignored(&self, range: &Range<usize>) -> bool {
        self.lx.touches_comment(range)
            || (self.ctx.kind == FileKind::Code(Lang::Python)
                && lexical::in_python_docstring(self.text, self.lx, range.start))
            || (self.prose_file() && {
                let line = &self.text[line_of(self.text, range.start)];
                looks_like_error(line) || !looks_like_code(line)
            })
    }
}

impl Scan<'_> {
    /// Plain text and HTML pages: documents whose lines are prose unless they look like code.
    fn prose_file(&self) -> bool {
        let path = self.ctx.path.to_ascii_lowercase();
        self.ctx.kind == FileKind::Text
            || (self.ctx.kind == FileKind::Xml
                && (path.ends_with(".html") || path.ends_with(".htm")))
    }
}

/// In plain text (notes, reStructuredText, unknown files) and HTML pages only lines that look like a request,
/// an assignment or a quoted value are usages; a URL in a sentence is prose.
fn looks_like_code(line: &str) -> bool {
    static CODE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?i)\bcurl\b|\bwget\b|invoke-|^\s*(?:GET|POST)\s|=|["']\s*https?://"#,
        )
        .expect("valid regex")
    });
    CODE.is_match(line)
}

/// A line that quotes an error rather than making a request.
pub fn looks_like_error(line: &str) -> bool {
    static ERR: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)failed to|unable to connect|\berror\b|exception|max retries|connection refused|connectionpool|traceback|could not")
            .expect("valid regex")
    });
    ERR.is_match(line)
}

fn has_metadata_header(text: &str, lx: &Lexed) -> bool {
    METADATA_HEADER
        .find_iter(text)
        .any(|m| !lx.in_comment(m.start()))
}

/// How far a "line" reaches on either side of a position: minified one-line files would
/// otherwise make every match look at the whole file.
const LINE_REACH: usize = 2048;

/// Byte range of the line holding `pos`, without its line break, cut at [`LINE_REACH`] bytes on
/// either side of `pos` (on character boundaries).
pub fn line_of(text: &str, pos: usize) -> Range<usize> {
    let b = text.as_bytes();
    let pos = pos.min(b.len());
    let lo = crate::source::floor_char_boundary(text, pos.saturating_sub(LINE_REACH));
    let mut hi = (pos + LINE_REACH).min(b.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    let start = memchr::memrchr(b'\n', &b[lo..pos]).map_or(lo, |p| lo + p + 1);
    let end = memchr::memchr(b'\n', &b[pos..hi]).map_or(hi, |p| pos + p);
    start..end
}

/// The lines from `before` lines above `pos` to `after` lines below it.
fn window(text: &str, pos: usize, before: usize, after: usize) -> Range<usize> {
    let b = text.as_bytes();
    let mut start = line_of(text, pos).start;
    for _ in 0..before {
        if start == 0 {
            break;
        }
        start = line_of(text, start - 1).start;
    }
    let mut end = line_of(text, pos).end;
    for _ in 0..after {
        if end >= b.len() {
            break;
        }
        end = line_of(text, end + 1).end;
    }
    clamp(text, start..end, pos)
}

/// At most [`WINDOW_BYTES`] before and twice that after `pos`: a statement is never longer, and
/// the per-match work stays constant.
const WINDOW_BYTES: usize = 1024;

fn clamp(text: &str, r: Range<usize>, pos: usize) -> Range<usize> {
    let lo = crate::source::floor_char_boundary(text, pos.saturating_sub(WINDOW_BYTES));
    let mut hi = (pos + 2 * WINDOW_BYTES).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    r.start.max(lo)..r.end.min(hi)
}

/// The logical command line holding `pos`: physical lines joined by trailing `\`, `` ` `` or `^`.
fn logical_line(text: &str, pos: usize) -> Range<usize> {
    // A command rarely spans more lines than this; the cap keeps odd files linear.
    const MAX_LINES: usize = 40;
    let continued = |line: &str| {
        let t = line.trim_end();
        t.ends_with('\\') || t.ends_with('`') || t.ends_with('^')
    };
    let mut r = line_of(text, pos);
    for _ in 0..MAX_LINES {
        if r.start == 0 {
            break;
        }
        let prev = line_of(text, r.start - 1);
        if !continued(&text[prev.clone()]) {
            break;
        }
        r.start = prev.start;
    }
    for _ in 0..MAX_LINES {
        if r.end >= text.len() || !continued(&text[line_of(text, r.end)]) {
            break;
        }
        r.end = line_of(text, r.end + 1).end;
    }
    clamp(text, r, pos)
}

/// Whether `range` overlaps one of `sorted` (disjoint ranges sorted by start).
fn overlaps_any(sorted: &[Range<usize>], range: &Range<usize>) -> bool {
    let i = sorted.partition_point(|c| c.end <= range.start);
    sorted.get(i).is_some_and(|c| c.start < range.end)
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Where the query of a URL ends: at a quote, whitespace, a markup character, or a closing
/// bracket that the query did not open (`${VAR:-http://...}`, `(http://...)`).
fn query_end(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let mut depth = 0i32;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => break,
            b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' | b'|' => break,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    // Sentence punctuation after a URL in prose or a statement end is not part of it.
    while i > from && matches!(b[i - 1], b'.' | b',' | b';' | b':') {
        i -= 1;
    }
    i
}

/// The IMDS URL that replaces a token URL whose query (after `?`, possibly empty) is `query`.
pub fn imds_url(query: &str, api_version: &str, amp: &str) -> String {
    let query = query.trim_start_matches('?');
    if query.is_empty() {
        format!("{IMDS_TOKEN_URL}?api-version={api_version}")
    } else if query.to_ascii_lowercase().contains("api-version=") {
        format!("{IMDS_TOKEN_URL}?{query}")
    } else {
        format!("{IMDS_TOKEN_URL}?api-version={api_version}{amp}{query}")
    }
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

/// An OAuth 2.0 grant (`grant_type=password`, a client secret) sent to a local server, in a file
/// that never mentions managed identities: an application's own authorization server on a
/// development port, not the extension (which takes no grant).
fn own_oauth_server(s: &Scan, range: &Range<usize>) -> bool {
    let win = &s.text[window(s.text, range.start, 6, 6)];
    let grant = ["grant_type", "client_secret", "GrantType", "ClientSecret"]
        .iter()
        .any(|g| win.contains(g));
    grant && !mentions_msi(s)
}

/// Whether the request around the URL at `range` is a POST: a body option on the curl/wget
/// command line that holds it, a POST call in the statement or a few lines around it, or one
/// around a use of the variable or property the URL is assigned to (`this.msiEndpoint = '...'`
/// in a constructor, `request.post(this.msiEndpoint, ...)` in a method).
fn is_post(s: &Scan, range: &Range<usize>) -> bool {
    // Enough uses to reach the request; a name used more often is too common to follow.
    const MAX_USES: usize = 20;
    let text = s.text;
    if cli_posts(s, range.start) {
        return true;
    }
    if sends_get(s, range.start) {
        return false;
    }
    if posts_near(s, range.start, 3, 6) {
        return true;
    }
    let Some(name) = assigned_name(s, range.start) else {
        return false;
    };
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, name.as_bytes())
        .filter(|&p| {
            let before = p.checked_sub(1).map(|i| b[i]);
            let after = b.get(p + name.len()).copied();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                && !s.lx.in_comment(p)
                && line_of(text, p) != line_of(text, range.start)
        })
        .take(MAX_USES)
        .any(|p| cli_posts(s, p) || !sends_get(s, p) && posts_near(s, p, 0, 2))
}

/// The curl/wget command line holding `pos` sends a body (and no `-G` turns it into a GET).
fn cli_posts(s: &Scan, pos: usize) -> bool {
    let cmd = logical_line(s.text, pos);
    let cmd_text = &s.text[cmd.clone()];
    (cmd_text.contains("curl") || cmd_text.contains("wget"))
        && !cmd_text.contains(" -G")
        && !cmd_text.contains(" --get")
        && CLI_POST
            .find_iter(cmd_text)
            .any(|m| !s.lx.in_comment(cmd.start + m.start()))
}

/// The line of `pos` sends a GET (`requests.get(`, `-Method Get`, `GetAsync`, `http.Get`).
fn sends_get(s: &Scan, pos: usize) -> bool {
    static GET: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(concat!(
            // `.get(` only with a URL or a variable first: `os.environ.get('MSI_ENDPOINT', ...)`
            // and `dict.get(...)` read values.
            r#"(?i)\.get(?:async|stringasync)?\s*\(\s*(?:[fr$@]?["'`](?:https?://|localhost|127\.)|[A-Za-z_][\w.]*\s*[,)])"#,
            r#"|-Method\s+["']?get\b|\bmethod["']?\s*[:=]\s*["']?get\b"#,
            r#"|\bhttp\.Get\b|HttpMethod\.Get\b|NewRequest(?:WithContext)?\s*\([^,)\n]*"GET""#
        ))
        .expect("valid regex")
    });
    let gets = s.gets.get_or_init(|| {
        GET.find_iter(s.text)
            .map(|m| m.start())
            .filter(|&at| !s.lx.in_comment(at))
            .collect()
    });
    any_within(gets, &line_of(s.text, pos))
}

/// A POST call within a few lines of `pos`, outside comments and not aimed at another host.
fn posts_near(s: &Scan, pos: usize, before: usize, after: usize) -> bool {
    // One pass over the file finds every POST; each URL then only looks up its window.
    let posts = s.posts.get_or_init(|| {
        POST.find_iter(s.text)
            .map(|m| m.start())
            .filter(|&at| {
                if s.lx.in_comment(at) {
                    return false;
                }
                // A POST on a line that names another host is a different request; a
                // `resource=https://...` parameter names the token's audience, not a host.
                let line = &s.text[line_of(s.text, at)];
                !OTHER_URL.captures_iter(line).any(|c| {
                    let host = c[1].to_ascii_lowercase();
                    let whole = c.get(0).expect("group 0");
                    !(host.starts_with("localhost")
                        || host.starts_with("127.0.0.1")
                        || names_audience(line, whole.start()))
                })
            })
            .collect()
    });
    any_within(posts, &window(s.text, pos, before, after))
}

/// The URL at `at` is the value of a `resource`, `audience` or `scope` parameter.
fn names_audience(line: &str, at: usize) -> bool {
    let from = crate::source::floor_char_boundary(line, at.saturating_sub(16));
    let before = line[from..at].to_ascii_lowercase();
    ["resource", "audience", "scope"]
        .iter()
        .any(|k| before.contains(k))
}

/// Whether a sorted list of positions has one inside `r`.
fn any_within(sorted: &[usize], r: &Range<usize>) -> bool {
    let i = sorted.partition_point(|&p| p < r.start);
    sorted.get(i).is_some_and(|&p| p < r.end)
}

/// The variable or property a URL literal is assigned to on its line: `MSI_URL = "..."`,
/// `this.msiEndpoint = opts.x || '...'`, `$uri = "..."`, `tokenURL := "..."`, `"url": "..."`.
fn assigned_name(s: &Scan, url_start: usize) -> Option<String> {
    let text = s.text;
    let lit_start = s.lx.string_at(url_start).map_or(url_start, |r| r.start);
    let line = line_of(text, lit_start);
    let prefix = &text[line.start..lit_start];
    let pb = prefix.as_bytes();
    let mut at = None;
    for (i, &c) in pb.iter().enumerate().rev() {
        let prev = i.checked_sub(1).map(|j| pb[j]);
        let next = pb.get(i + 1).copied();
        if c == b'='
            && !matches!(next, Some(b'=' | b'>'))
            && !matches!(prev, Some(b'=' | b'!' | b'<' | b'>'))
        {
            at = Some(if prev == Some(b':') { i - 1 } else { i });
            break;
        }
        if c == b':' && next != Some(b':') && prev != Some(b':') {
            at = Some(i);
            break;
        }
    }
    let head = prefix[..at?].trim_end().trim_end_matches(['"', '\'', ']']);
    let name_start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(p, c)| p + c.len_utf8());
    let name = &head[name_start..];
    // Short or generic names (`u`, `value` in XML) match too much to follow.
    (name.len() >= 3 && !name.eq_ignore_ascii_case("value") && !name.as_bytes()[0].is_ascii_digit())
        .then(|| name.to_owned())
}

/// The quote-keeping host swap for a GET.
/// `Err` says why the rewrite is left to a person.
fn get_fix(s: &Scan, range: &Range<usize>, query: &str) -> Result<Fix, String> {
    let text = s.text;
    let api = s.ctx.api_version;
    let amp = if s.ctx.kind == FileKind::Xml {
        "&amp;"
    } else {
        "&"
    };
    let in_string = s.lx.string_at(range.start);
    let has_query = !query.trim_start_matches('?').is_empty();
    let header_note = if s.header {
        ""
    } else {
        "; no `Metadata: true` header was found in this file: IMDS rejects requests without it, add it to the request"
    };
    let applicability_safe = s.header;
    if !has_query {
        // The query may be appended later: `url + "?resource=" + r`. A query string literal
        // right after the URL on the same line gets the api-version; one elsewhere cannot be
        // found reliably, so the rewrite then leaves the api-version to a person.
        let line_end = line_of(text, range.end).end;
        let next_string = in_string
            .as_ref()
            .and_then(|cur| {
                let i = s.lx.strings.partition_point(|r| r.start < cur.end);
                s.lx.strings.get(i).filter(|r| r.start < line_end)
            })
            .cloned();
        if let Some(ns) = next_string {
            let body_at = text[ns.clone()]
                .find(['"', '\'', '`'])
                .map_or(ns.start, |p| ns.start + p + 1);
            if text[body_at..].starts_with('?') {
                let edits = vec![
                    Edit::replacement(range.clone(), IMDS_TOKEN_URL),
                    Edit::replacement(body_at..body_at + 1, format!("?api-version={api}&")),
                ];
                let desc = format!("Request the token from IMDS (api-version {api}){header_note}");
                return make_fix(applicability_safe, desc, edits);
            }
        }
        // A URL held in a variable that the code extends with its own query: the rewrite
        // keeps one valid IMDS URL wherever the code makes one.
        let built = assigned_name(s, range.start).map_or(Built::Alone, |name| {
            url_build::uses(text, s.lx, &name, &line_of(text, range.start))
        });
        if let Built::Appended(appends) = &built {
            if appends.iter().any(|a| !a.has_api_version && !a.in_string) {
                return Err("the code appends its own query to this URL outside a quoted string; rewrite the URL and add `api-version` to that query by hand".to_owned());
            }
            let mut edits = vec![Edit::replacement(range.clone(), IMDS_TOKEN_URL)];
            edits.extend(
                appends
                    .iter()
                    .filter(|a| !a.has_api_version)
                    .map(|a| Edit::insertion(a.at + 1, format!("api-version={api}{amp}"))),
            );
            let desc = format!(
                "Request the token from IMDS (api-version {api}), with `api-version` in the query the code appends{header_note}"
            );
            return make_fix(applicability_safe, desc, edits);
        }
        if built == Built::Mixed {
            return Err("the code appends its own query to this URL in some places and sends it as written in others, so no single IMDS URL fits both; rewrite each request by hand".to_owned());
        }
        if s.query_literal {
            return Err(format!(
                "the query seems to be built elsewhere in this file (a string that starts with `?`) but its link to this URL was not found; point the URL at IMDS and add `api-version={api}` to that query by hand"
            ));
        }
    }
    let mut url = imds_url(query, api, amp);
    // An unquoted `&` would end a shell command or be rejected by PowerShell. Configuration
    // values keep their quoting: whether quotes are part of the value depends on the reader.
    if in_string.is_none() && url.contains('&') && !query.contains('&') {
        match s.ctx.kind {
            FileKind::Shell | FileKind::PowerShell => url = format!("'{url}'"),
            FileKind::Batch => url = format!("\"{url}\""),
            _ => {}
        }
    }
    let desc = format!("Request the token from IMDS (api-version {api}){header_note}");
    make_fix(
        applicability_safe,
        desc,
        vec![Edit::replacement(range.clone(), url)],
    )
}

fn make_fix(safe: bool, desc: String, edits: Vec<Edit>) -> Result<Fix, String> {
    let fix = if safe {
        Fix::safe(desc, edits)
    } else {
        Fix::unsafe_(desc, edits)
    };
    fix.ok_or_else(|| "the rewrite's edits would overlap here; rewrite the URL by hand".to_owned())
}

/// A shell word of a command line: its byte range and its unquoted value.
struct Word {
    range: Range<usize>,
    value: String,
    quoted: Option<char>,
    dynamic: bool,
}

fn shell_words(text: &str, r: Range<usize>) -> Vec<Word> {
    let b = text.as_bytes();
    let mut words = Vec::new();
    let mut i = r.start;
    while i < r.end {
        while i < r.end
            && (b[i].is_ascii_whitespace()
                || b[i] == b'\\' && b.get(i + 1).is_some_and(|c| *c == b'\n' || *c == b'\r'))
        {
            i += 1;
        }
        if i >= r.end {
            break;
        }
        let start = i;
        let mut value = String::new();
        let mut quoted = None;
        let mut dynamic = false;
        while i < r.end && !b[i].is_ascii_whitespace() {
            let c = b[i];
            if c == b'\'' || c == b'"' {
                quoted.get_or_insert(c as char);
                let close = text[i + 1..r.end]
                    .find(c as char)
                    .map_or(r.end, |p| i + 1 + p);
                let inner = &text[i + 1..close];
                if c == b'"' && (inner.contains('$') || inner.contains('`')) {
                    dynamic = true;
                }
                value.push_str(inner);
                i = (close + 1).min(r.end);
            } else {
                if c == b'$' || c == b'`' {
                    dynamic = true;
                }
                let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                value.push_str(&text[i..i + ch_len]);
                i += ch_len;
            }
        }
        words.push(Word {
            range: start..i,
            value,
            quoted,
            dynamic,
        });
    }
    words
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Rewrites `curl -X POST URL -d resource=...` into a GET on IMDS with the form fields in the
/// query and `Metadata: true`: the only POST whose whole request is on one command line and can
/// be rewritten as a whole. Unsafe, since the request changes method.
fn curl_post_fix(scan: &Scan, range: &Range<usize>, query: &str) -> Option<Fix> {
    let text = scan.text;
    if !matches!(scan.ctx.kind, FileKind::Shell) {
        return None;
    }
    let cmd = post_get::innermost_substitution(text, logical_line(text, range.start), range.start);
    let words = shell_words(text, cmd);
    let first = words.iter().position(|w| w.value == "curl")?;
    let words = &words[first..];
    let url_word = words.iter().position(|w| w.range.contains(&range.start))?;
    let mut fields: Vec<String> = Vec::new();
    let mut delete: Vec<Range<usize>> = Vec::new();
    let mut has_header = false;
    let mut dropped: Vec<String> = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        let v = w.value.as_str();
        // The next command of a pipeline or list is not curl's.
        if matches!(v, "|" | "||" | "&&" | ";" | "&") {
            break;
        }
        let (data_opt, inline) = match v {
            "-d" | "--data" | "--data-raw" | "--data-ascii" | "--data-binary" => {
                (Some(false), None)
            }
            "--data-urlencode" => (Some(true), None),
            _ if v.starts_with("--data-urlencode=") => (Some(true), Some(&v[17..])),
            _ if v.starts_with("--data=") => (Some(false), Some(&v[7..])),
            _ if v.starts_with("-d") && v.len() > 2 => (Some(false), Some(&v[2..])),
            _ => (None, None),
        };
        if let Some(encode) = data_opt {
            let (value, dynamic, upto) = match inline {
                Some(val) => (val.to_owned(), w.dynamic, i),
                None => {
                    let next = words.get(i + 1)?;
                    (next.value.clone(), next.dynamic, i + 1)
                }
            };
            if dynamic || value.starts_with('@') {
                return None;
            }
            for field in value.split('&').filter(|f| !f.is_empty()) {
                let name = field.split('=').next().unwrap_or("");
                if !IMDS_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                    dropped.push(name.to_owned());
                    continue;
                }
                let field = if encode {
                    match field.split_once('=') {
                        Some((k, v)) => format!("{k}={}", percent_encode(v)),
                        None => percent_encode(field),
                    }
                } else {
                    field.to_owned()
                };
                fields.push(field);
            }
            delete.push(w.range.start..words[upto].range.end);
            i = upto + 1;
            continue;
        }
        match v {
            "-F" | "--form" | "--post-file" => return None,
            "-X" | "--request" => {
                if words
                    .get(i + 1)
                    .is_some_and(|n| n.value.eq_ignore_ascii_case("post"))
                {
                    delete.push(w.range.start..words[i + 1].range.end);
                    i += 2;
                    continue;
                }
            }
            "-H" | "--header" => {
                if words.get(i + 1).is_some_and(|n| {
                    let h = n.value.to_ascii_lowercase().replace(' ', "");
                    h == "metadata:true"
                }) {
                    has_header = true;
                }
            }
            _ if v.eq_ignore_ascii_case("-XPOST") || v.eq_ignore_ascii_case("--request=post") => {
                delete.push(w.range.clone());
            }
            _ => {}
        }
        i += 1;
    }
    if fields.is_empty() {
        return None;
    }
    let url = &words[url_word];
    if url.dynamic && url.quoted != Some('"') {
        return None;
    }
    let mut all = query.trim_start_matches('?').to_owned();
    for f in &fields {
        if !all.is_empty() {
            all.push('&');
        }
        all.push_str(f);
    }
    let new_url = imds_url(&all, scan.ctx.api_version, "&");
    // Keep the URL word's own quote; an unquoted one gets single quotes because of the `&`.
    let before = &text[url.range.start..range.start];
    let after = &text[range.end..url.range.end];
    let mut word = match url.quoted {
        Some(_) => format!("{before}{new_url}{after}"),
        None => format!("'{new_url}'"),
    };
    if !has_header {
        word.push_str(" -H Metadata:true");
    }
    let mut edits = vec![Edit::replacement(url.range.clone(), word)];
    for d in delete {
        // Take the blank before the option with it, so no double spaces are left.
        let b = text.as_bytes();
        let mut start = d.start;
        while start > 0 && (b[start - 1] == b' ' || b[start - 1] == b'\t') {
            start -= 1;
        }
        if start > 0 && b[start - 1] == b'\n' {
            start = post_get::joined_line_start(text, start, d.end).unwrap_or(d.start);
        }
        edits.push(Edit::deletion(start..d.end));
    }
    let mut desc = format!(
        "Send a GET to IMDS (api-version {}) with the form fields in the query and `Metadata: true`",
        scan.ctx.api_version
    );
    if !dropped.is_empty() {
        desc.push_str(&format!(
            "; drops `{}`, which IMDS does not take",
            dropped.join("`, `")
        ));
    }
    Fix::unsafe_(desc, edits)
}

/// The file is about managed identities (MSI, the port 50342, IMDS, the `Metadata: true`
/// header): a computed `localhost:{port}/oauth2/token` elsewhere is more likely a local OAuth
/// server (Spring Authorization Server, test doubles) than the extension.
/// The file speaks of MSI, managed identity or IMDS (port 50342 alone may be a development
/// server's).
fn mentions_msi(s: &Scan) -> bool {
    static ID: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)\bmsi|managed[ _-]?identit|\bimds\b")
            .expect("valid regex")
    });
    s.header || ID.is_match(s.text)
}

/// A fake, mock or stub OAuth server or a test host (tests of a login flow, `IdentityServer`),
/// which may serve `/oauth2/token` on a random local port.
fn oauth_test_double(text: &str) -> bool {
    static DOUBLE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"(?i)\b(?:fake|mock|stub|dummy)[\w ]{0,20}oauth|\boauth[\w ]{0,20}(?:fake|mock|stub)|\bidentityserver\b|\b(?:oauth|authorization|test)[ _-]?(?:server|host)\b",
        )
        .expect("valid regex")
    });
    DOUBLE.is_match(text)
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

/// The setting a base URL is the value of names the MSI endpoint (`ARM_MSI_ENDPOINT=...`,
/// `"msiEndpoint": ...`, `- name: MSI_ENDPOINT` / `value: ...` on the line before). Port 50342
/// is also a common Visual Studio / IIS Express development port: CORS origins, JWT issuers
/// and `HttpClient.BaseAddress` on it are not the extension.
fn names_msi_setting(s: &Scan, pos: usize) -> bool {
    static MSI: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"(?i)msi|managed[ _-]?identit|identity[ _-]?endpoint|\bimds\b",
        )
        .expect("valid regex")
    });
    let here = window(s.text, pos, 1, 0);
    MSI.is_match(&s.text[here])
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
    use crate::{finding::Applicability, fix::apply::apply_fixes, kind::Lang};

    const PY: FileKind = FileKind::Code(Lang::Python);

    fn ctx(kind: FileKind) -> Context<'static> {
        Context {
            kind,
            path: "src/app.x",
            api_version: "2018-02-01",
            extra_ports: &[],
        }
    }

    fn run(text: &str, kind: FileKind) -> Vec<Diagnostic> {
        let mut out = Analysis::default();
        analyze(text, &ctx(kind), &mut out);
        out.diagnostics
    }

    /// (rule, matched text, port requirement) of every diagnostic.
    fn found(text: &str, kind: FileKind) -> Vec<(&'static str, String, Option<u16>)> {
        run(text, kind)
            .into_iter()
            .map(|d| (d.rule, text[d.range].to_owned(), d.requires_port))
            .collect()
    }

    /// Applies every fix (unsafe included) and checks nothing fixable is left.
    fn fixed(text: &str, kind: FileKind) -> String {
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

    fn applicability(text: &str, kind: FileKind) -> Option<Applicability> {
        run(text, kind)
            .into_iter()
            .find_map(|d| d.fix.map(|f| f.applicability))
    }

    #[test]
    fn literal_url_in_python_get_with_header_is_safely_fixed() {
        let t = "r = requests.get(\"http://localhost:50342/oauth2/token?resource=https://management.azure.com/\", headers={\"Metadata\": \"true\"})\n";
        assert_eq!(
            found(t, PY),
            [(
                "IMDS030",
                "http://localhost:50342/oauth2/token?resource=https://management.azure.com/".into(),
                None
            )]
        );
        assert_eq!(applicability(t, PY), Some(Applicability::Safe));
        assert_eq!(
            fixed(t, PY),
            "r = requests.get(\"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/\", headers={\"Metadata\": \"true\"})\n"
        );
    }

    #[test]
    fn fix_without_header_is_unsafe_and_keeps_api_version() {
        let t = "url = 'http://127.0.0.1:50342/oauth2/token?api-version=2017-09-01&resource=x'\n";
        assert_eq!(applicability(t, PY), Some(Applicability::Unsafe));
        assert_eq!(
            fixed(t, PY),
            "url = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2017-09-01&resource=x'\n"
        );
    }

    #[test]
    fn query_in_the_next_literal_gets_the_api_version() {
        let t = "var url = \"http://localhost:50342/oauth2/token\" + \"?resource=\" + r; req.Headers.Add(\"Metadata\", \"true\");\n";
        let kind = FileKind::Code(Lang::CSharp);
        assert_eq!(applicability(t, kind), Some(Applicability::Safe));
        assert_eq!(
            fixed(t, kind),
            "var url = \"http://169.254.169.254/metadata/identity/oauth2/token\" + \"?api-version=2018-02-01&resource=\" + r; req.Headers.Add(\"Metadata\", \"true\");\n"
        );
    }

    #[test]
    fn xml_query_uses_escaped_ampersand_and_shell_url_gets_quoted() {
        let t = "<add key=\"u\" value=\"http://localhost:50342/oauth2/token?resource=x\" />";
        assert!(fixed(t, FileKind::Xml).contains("api-version=2018-02-01&amp;resource=x\""));
        let sh = "curl http://localhost:50342/oauth2/token?resource=x -H Metadata:true\n";
        assert_eq!(
            fixed(sh, FileKind::Shell),
            "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x' -H Metadata:true\n"
        );
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
    fn look_alikes_are_not_flagged() {
        for (t, kind) in [
            (
                "u = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01'",
                PY,
            ),
            (
                "u = 'https://login.microsoftonline.com/' + tenant + '/oauth2/token'",
                PY,
            ),
            (
                "u = f'https://login.microsoftonline.com/{tenant}/oauth2/token'",
                PY,
            ),
            (
                "u = 'http://localhost:40342/metadata/identity/oauth2/token?api-version=2020-06-01'",
                PY,
            ),
            (
                "u = os.environ['MSI_ENDPOINT']; s = os.environ['MSI_SECRET']",
                PY,
            ),
            (
                "$u = $env:IDENTITY_ENDPOINT; $h = $env:IDENTITY_HEADER",
                FileKind::PowerShell,
            ),
            ("# u = 'http://localhost:50342/oauth2/token'\n", PY),
            (
                "// var u = \"http://localhost:50342/oauth2/token\";\n",
                FileKind::Code(Lang::JavaScript),
            ),
            (
                "/* http://localhost:50342/oauth2/token */",
                FileKind::Code(Lang::Go),
            ),
            (
                "<!-- <add value=\"http://localhost:50342/oauth2/token\"/> -->",
                FileKind::Xml,
            ),
            ("useManagedIdentityExtension: true\n", FileKind::Yaml),
            ("u = 'http://myhost.localhost:50342/oauth2/token'", PY),
            ("u = 'http://localhost:50342/oauth2/tokens'", PY),
            (
                "MSI: Failed to retrieve a token from 'http://localhost:50342/oauth2/token'",
                FileKind::Text,
            ),
            (
                "The extension served http://localhost:50342/oauth2/token until 2019.",
                FileKind::Text,
            ),
            (
                "// IdentityServer test host\nString url = format(\"http://localhost:{}/oauth2/token\", serverPort);",
                FileKind::Code(Lang::Java),
            ),
        ] {
            assert!(found(t, kind).is_empty(), "{t}: {:?}", found(t, kind));
        }
    }

    #[test]
    fn a_resource_url_in_the_body_is_not_another_host() {
        let t = "$r = Invoke-WebRequest -Uri http://localhost:50342/oauth2/token -Method POST -Body \"resource=https://management.azure.com/\"\n";
        let rules: Vec<_> = found(t, FileKind::PowerShell)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(rules, vec!["IMDS031"]);
        let t = "requests.post('http://localhost:50342/oauth2/token', data={'resource': 'https://vault.azure.net'})\n";
        let rules: Vec<_> = found(t, PY).into_iter().map(|f| f.0).collect();
        assert_eq!(rules, vec!["IMDS031"]);
    }

    #[test]
    fn a_computed_port_needs_no_other_context() {
        let t = "u = f'http://localhost:{port}/oauth2/token'";
        let rules: Vec<_> = found(t, PY).into_iter().map(|f| f.0).collect();
        assert_eq!(rules, vec!["IMDS032"]);
    }

    #[test]
    fn html_prose_is_not_a_usage() {
        let c = Context {
            path: "docs/index.html",
            ..ctx(FileKind::Xml)
        };
        let mut out = Analysis::default();
        let t = "<p>The extension served http://localhost:50342/oauth2/token until 2019.</p>\n<pre><code>curl http://localhost:50342/oauth2/token?resource=x -H Metadata:true</code></pre>\n";
        analyze(t, &c, &mut out);
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(c.kind, FileKind::Xml);
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
    fn an_applications_own_oauth_server_on_the_same_port() {
        let t = "var form = new Dictionary<string, string> { [\"grant_type\"] = \"password\" };\nvar r = await http.PostAsync(\"http://localhost:50342/oauth2/token\", new FormUrlEncodedContent(form));\n";
        assert!(run(t, FileKind::Code(Lang::CSharp)).is_empty());
    }

    #[test]
    fn posts_are_imds031_without_host_swap() {
        for (t, kind) in [
            (
                "r = requests.post('http://localhost:50342/oauth2/token', data={'resource': res})",
                PY,
            ),
            (
                "url = 'http://localhost:50342/oauth2/token'\nbody = {'resource': r}\nresp = requests.post(url, data=body)\n",
                PY,
            ),
            (
                "Invoke-RestMethod -Uri http://localhost:50342/oauth2/token -Method Post -Body \"resource=$r\"",
                FileKind::PowerShell,
            ),
            (
                "var resp = await client.PostAsync(\"http://localhost:50342/oauth2/token\", new FormUrlEncodedContent(form));",
                FileKind::Code(Lang::CSharp),
            ),
            (
                "byte[] r = wc.UploadValues(\"http://localhost:50342/oauth2/token\", values);",
                FileKind::Code(Lang::CSharp),
            ),
            (
                "resp, err := http.PostForm(\"http://localhost:50342/oauth2/token\", v)",
                FileKind::Code(Lang::Go),
            ),
            (
                "fetch('http://localhost:50342/oauth2/token', {\n  method: 'POST',\n  body: params,\n});",
                FileKind::Code(Lang::JavaScript),
            ),
        ] {
            let d = run(t, kind);
            assert_eq!(d.len(), 1, "{t}");
            assert_eq!(d[0].rule, "IMDS031", "{t}");
            assert!(d[0].fix.is_none(), "{t}");
        }
    }

    #[test]
    fn a_post_through_the_variable_holding_the_url() {
        let js = "class MSIVmTokenCredentials {\n  constructor(options) {\n    this.msiEndpoint = options.msiEndpoint || 'http://localhost:50342/oauth2/token';\n  }\n\n  prepare() {\n    return { headers: { Metadata: 'true' } };\n  }\n\n  getToken(callback) {\n    const postUrl = this.msiEndpoint;\n    const reqOptions = this.prepare();\n    request.post(postUrl, reqOptions, callback);\n  }\n}\n";
        let d = run(js, FileKind::Code(Lang::JavaScript));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "IMDS031");
        assert!(d[0].fix.is_none());
        // The same variable used only in a GET stays IMDS030.
        let get = "TOKEN_URL = 'http://localhost:50342/oauth2/token'\n\n\n\n\n\n\n\n\ndef token():\n    return requests.get(TOKEN_URL, headers={'Metadata': 'true'})\n\ndef other(u, d):\n    return requests.post(u, data=d)\n";
        assert_eq!(run(get, PY)[0].rule, "IMDS030");
    }

    #[test]
    fn an_environment_default_that_is_posted() {
        let t = "url = os.environ.get('MSI_ENDPOINT', 'http://localhost:50342/oauth2/token')\nresp = requests.post(url, data={'resource': r})\n";
        assert_eq!(run(t, PY)[0].rule, "IMDS031");
    }

    #[test]
    fn a_post_to_another_host_nearby_is_not_this_request() {
        let t = "tok = requests.get('http://localhost:50342/oauth2/token?resource=x', headers={'Metadata': 'true'})\nrequests.post('https://example.com/api', json=data)\n";
        assert_eq!(run(t, PY)[0].rule, "IMDS030");
    }

    #[test]
    fn curl_post_becomes_a_get_with_the_fields_in_the_query() {
        let t = "curl -s -X POST http://localhost:50342/oauth2/token -d resource=https://vault.azure.net -d client_id=abc\n";
        let d = run(t, FileKind::Shell);
        assert_eq!(d[0].rule, "IMDS031");
        assert_eq!(
            d[0].fix.as_ref().unwrap().applicability,
            Applicability::Unsafe
        );
        assert_eq!(
            fixed(t, FileKind::Shell),
            "curl -s 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&client_id=abc' -H Metadata:true\n"
        );
        let enc = "curl --data-urlencode \"resource=https://vault.azure.net\" \"http://localhost:50342/oauth2/token\" -H 'Metadata: true'\n";
        assert_eq!(
            fixed(enc, FileKind::Shell),
            "curl \"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net\" -H 'Metadata: true'\n"
        );
        // Data from a variable or a file cannot be moved safely.
        let dynamic = "curl -d \"resource=$RES\" http://localhost:50342/oauth2/token\n";
        assert!(run(dynamic, FileKind::Shell)[0].fix.is_none());
        // `-G` sends the data as a query: a GET.
        let get = "curl -G http://localhost:50342/oauth2/token -d resource=x -H Metadata:true\n";
        assert_eq!(run(get, FileKind::Shell)[0].rule, "IMDS030");
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

    /// Every fix in the fixtures applies, leaves nothing fixable and keeps quotes balanced.
    #[test]
    fn fixture_fixes_apply_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
        for rule in ["IMDS030", "IMDS031"] {
            for entry in std::fs::read_dir(root.join(rule)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let c = Context {
                    kind: crate::kind::classify(&path, &text),
                    ..ctx(PY)
                };
                let diags = super::super::analyze(&text, &c).diagnostics;
                let fixes: Vec<&Fix> = diags.iter().filter_map(|d| d.fix.as_ref()).collect();
                if fixes.is_empty() {
                    continue;
                }
                let (out, taken) = apply_fixes(&text, &fixes, true);
                assert_eq!(taken.len(), fixes.len(), "{}", path.display());
                let again = super::super::analyze(&out, &c).diagnostics;
                assert!(
                    again.iter().all(|d| d.fix.is_none() && d.rule != "IMDS030"),
                    "{}: {out}",
                    path.display()
                );
                for q in ['"', '\'', '`'] {
                    let (before, after) = (text.matches(q).count(), out.matches(q).count());
                    assert!(
                        // Balanced: a dropped quoted form field takes its pair of quotes.
                        after.abs_diff(before) % 2 == 0,
                        "{}: {out}",
                        path.display()
                    );
                }
                if std::env::var_os("SHOW_FIXED").is_some() {
                    eprintln!("=== {}\n{out}", path.display());
                }
            }
        }
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

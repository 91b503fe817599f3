//! Whether the request around a token URL is a POST or a GET: curl/wget body options, POST and GET
//! calls in the statement or near it, and the variable the URL is assigned to.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Scan,
    text::{any_within, line_of, logical_line, window},
};

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

/// Whether the request around the URL at `range` is a POST: a body option on the curl/wget
/// command line that holds it, a POST call in the statement or a few lines around it, or one
/// around a use of the variable or property the URL is assigned to (`this.msiEndpoint = '...'`
/// in a constructor, `request.post(this.msiEndpoint, ...)` in a method).
pub(super) fn is_post(s: &Scan, range: &Range<usize>) -> bool {
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

/// The variable or property a URL literal is assigned to on its line: `MSI_URL = "..."`,
/// `this.msiEndpoint = opts.x || '...'`, `$uri = "..."`, `tokenURL := "..."`, `"url": "..."`.
pub(super) fn assigned_name(s: &Scan, url_start: usize) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{PY, found, run};
    use crate::kind::{FileKind, Lang};

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
}

//! The fixes: the token URL rewritten to IMDS (quotes, query and `api-version` kept right), and a
//! curl form POST turned into a GET with the fields in the query.

use std::ops::Range;

use super::{
    IMDS_TOKEN_URL, Scan,
    method::assigned_name,
    text::{line_of, logical_line},
};
use crate::{
    analyzers::{
        post_get,
        url_build::{self, Built},
    },
    finding::{Edit, Fix},
    kind::FileKind,
};

/// The query parameters IMDS's token endpoint takes (besides `api-version`).
const IMDS_PARAMS: [&str; 5] = [
    "resource",
    "client_id",
    "object_id",
    "msi_res_id",
    "mi_res_id",
];

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

/// The quote-keeping host swap for a GET.
/// `Err` says why the rewrite is left to a person.
pub(super) fn get_fix(s: &Scan, range: &Range<usize>, query: &str) -> Result<Fix, String> {
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
pub(super) fn curl_post_fix(scan: &Scan, range: &Range<usize>, query: &str) -> Option<Fix> {
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

#[cfg(test)]
mod tests {
    use super::super::{
        Context,
        tests::{PY, applicability, ctx, fixed, found, run},
    };
    use crate::{
        finding::{Applicability, Fix},
        fix::apply::apply_fixes,
        kind::{FileKind, Lang},
    };

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
                let diags = crate::analyzers::analyze(&text, &c).diagnostics;
                let fixes: Vec<&Fix> = diags.iter().filter_map(|d| d.fix.as_ref()).collect();
                if fixes.is_empty() {
                    continue;
                }
                let (out, taken) = apply_fixes(&text, &fixes, true);
                assert_eq!(taken.len(), fixes.len(), "{}", path.display());
                let again = crate::analyzers::analyze(&out, &c).diagnostics;
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
}

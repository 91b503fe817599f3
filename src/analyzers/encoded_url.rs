//! The extension's token URL written encoded (IMDS030): JSON-escaped
//! (`http:\/\/localhost:50342\/oauth2\/token`, `\u002F`), percent-encoded
//! (`http%3A%2F%2Flocalhost%3A50342%2Foauth2%2Ftoken`) or with HTML/XML character references
//! (`http:&#x2F;&#x2F;localhost...`). Plain URLs are the endpoint analyzer's; IMDS URLs encoded
//! the same way never match (their host is not loopback).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::{Analysis, Context, cloud_shell::CloudShell, endpoint, lexical};
use crate::finding::{Diagnostic, Edit, Fix};

pub const RULE: &str = "IMDS030";

const SLASH: &str = r"(?:\\{0,2}/|\\u002[fF]|%2[fF]|&#x0*2[fF];|&#0*47;|&sol;)";
const COLON: &str = r"(?::|\\u003[aA]|%3[aA]|&#x0*3[aA];|&#0*58;|&colon;)";

static URL: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(&format!(
        r"(?i)\bhttps?(?P<colon>{COLON})(?P<slash>{SLASH}){SLASH}(?:localhost|127\.0\.0\.1){COLON}(?P<port>\d{{1,5}}){SLASH}oauth2{SLASH}token\b"
    ))
    .expect("valid regex")
});

static QUERY: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)^(?:\?|%3F|\\u003F|&#x0*3F;|&#0*63;)")
        .expect("valid regex")
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    let api_version = ctx.api_version;
    if !has_encoding_hint(text) {
        return;
    }
    // Cloud Shell's own port, in the constructs about Cloud Shell, is no usage.
    let cloud_shell = CloudShell::of(text, ctx.path);
    if cloud_shell.whole() {
        return;
    }
    let lexed = lexical::lex(text, ctx.kind);
    for c in URL.captures_iter(text) {
        let (Some(m), Some(port_m), Some(colon), Some(slash)) =
            (c.get(0), c.name("port"), c.name("colon"), c.name("slash"))
        else {
            continue;
        };
        let url = m.as_str();
        // A plain URL (every separator as is) is the endpoint analyzer's.
        if !url.contains(['\\', '%', '&'])
            || lexed.in_comment(m.start())
            || cloud_shell.covers(m.start())
        {
            continue;
        }
        let Ok(port) = port_m.as_str().parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        let (sl, co) = (slash.as_str(), colon.as_str());
        let encoding = if sl.starts_with('%') {
            "percent-encoded"
        } else if sl.starts_with('&') {
            "written with character references"
        } else {
            "JSON-escaped"
        };
        let imds =
            format!("http{co}{sl}{sl}169.254.169.254{sl}metadata{sl}identity{sl}oauth2{sl}token");
        let after = &text[m.end()..];
        let (amp, eq, question) = match encoding {
            "percent-encoded" => ("%26", "%3D", "%3F"),
            "written with character references" => ("&amp;", "=", "?"),
            _ => ("&", "=", "?"),
        };
        let mut edits = vec![Edit::replacement(m.range(), imds.clone())];
        match QUERY.find(after) {
            Some(q) => edits.push(Edit::insertion(
                m.end() + q.end(),
                format!("api-version{eq}{api_version}{amp}"),
            )),
            None => edits.push(Edit::insertion(
                m.end(),
                format!("{question}api-version{eq}{api_version}"),
            )),
        }
        // Unsafe: the request must also send `Metadata: true`, which an encoded URL (a config
        // value, a request body) does not show.
        let fix = Fix::new(
            crate::finding::Applicability::Unsafe,
            "Point the encoded URL at IMDS (encoded the same way)",
            edits,
        );
        let message = format!(
            "Token URL of the retired Managed Identity extension (port {port}), {encoding}: replace it with the IMDS endpoint {} (encoded the same way, with `api-version`), and send the header `Metadata: true`",
            endpoint::IMDS_TOKEN_URL
        );
        let d = Diagnostic::new(RULE, m.range(), message).with_fix(fix);
        out.push(if ctx.is_known_port(port) {
            d
        } else {
            d.requiring_port(port)
        });
    }
}

/// A cheap test before the regex: some encoded form of `oauth2/token`.
fn has_encoding_hint(text: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        super::pattern::words_any_case(&[
            "oauth2\\/token",
            // JSON escaped once more inside a string literal (`'{"u":"http:\\/\\/..."}'`).
            "oauth2\\\\/token",
            "oauth2\\u002f",
            "oauth2%2f",
            "oauth2&#",
            "oauth2&sol;",
        ])
    });
    WORDS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fix::apply::apply_fixes, kind::FileKind};

    fn run(text: &str) -> Analysis {
        let ctx = Context {
            kind: FileKind::Text,
            path: "app/settings.txt",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        out
    }

    fn fixed(text: &str) -> String {
        let a = run(text);
        let fixes: Vec<_> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .collect();
        apply_fixes(text, &fixes, true).0
    }

    #[test]
    fn each_encoding_is_found_where_it_is_and_fixed_in_kind() {
        let json = r#"{"url": "http:\/\/localhost:50342\/oauth2\/token?resource=https:\/\/vault.azure.net"}"#;
        let a = run(json);
        assert_eq!(a.diagnostics.len(), 1);
        assert_eq!(
            &json[a.diagnostics[0].range.clone()],
            r"http:\/\/localhost:50342\/oauth2\/token"
        );
        assert_eq!(
            fixed(json),
            r#"{"url": "http:\/\/169.254.169.254\/metadata\/identity\/oauth2\/token?api-version=2018-02-01&resource=https:\/\/vault.azure.net"}"#
        );
        let pct = "redirect=http%3A%2F%2Flocalhost%3A50342%2Foauth2%2Ftoken&x=1";
        assert_eq!(
            fixed(pct),
            "redirect=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken%3Fapi-version%3D2018-02-01&x=1"
        );
        let html =
            "<a href=\"http:&#x2F;&#x2F;127.0.0.1:50342&#x2F;oauth2&#x2F;token?resource=x\">";
        assert_eq!(
            fixed(html),
            "<a href=\"http:&#x2F;&#x2F;169.254.169.254&#x2F;metadata&#x2F;identity&#x2F;oauth2&#x2F;token?api-version=2018-02-01&amp;resource=x\">"
        );
        let twice = r#"JSON.parse('{"u":"http:\\/\\/localhost:50342\\/oauth2\\/token"}')"#;
        assert_eq!(
            fixed(twice),
            r#"JSON.parse('{"u":"http:\\/\\/169.254.169.254\\/metadata\\/identity\\/oauth2\\/token?api-version=2018-02-01"}')"#
        );
        let unicode = r#""http:\u002F\u002Flocalhost:50342\u002Foauth2\u002Ftoken""#;
        assert_eq!(run(unicode).diagnostics.len(), 1);
    }

    #[test]
    fn imds_plain_other_ports_and_comments() {
        for t in [
            r#"{"url": "http:\/\/169.254.169.254\/metadata\/identity\/oauth2\/token"}"#,
            "u=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken",
            "http:&#x2F;&#x2F;localhost:40342&#x2F;metadata&#x2F;identity&#x2F;oauth2&#x2F;token",
            "https%3A%2F%2Flogin.microsoftonline.com%2Ftenant%2Foauth2%2Ftoken",
            "http://localhost:50342/oauth2/token",
        ] {
            assert!(run(t).diagnostics.is_empty(), "{t}");
        }
        // Another port waits for an extension that declares it.
        let a = run("http%3A%2F%2Flocalhost%3A51234%2Foauth2%2Ftoken");
        assert_eq!(a.diagnostics[0].requires_port, Some(51234));
    }

    #[test]
    fn only_the_cloud_shell_entry_is_left_alone() {
        let text = "{\n  \"cloudShell\": {\n    \"tokenUrl\": \"http:\\/\\/localhost:50342\\/oauth2\\/token\"\n  },\n  \"vm\": {\n    \"tokenUrl\": \"http:\\/\\/localhost:50342\\/oauth2\\/token\"\n  }\n}\n";
        let lines: Vec<usize> = run(text)
            .diagnostics
            .iter()
            .map(|d| text[..d.range.start].matches('\n').count() + 1)
            .collect();
        assert_eq!(lines, [6], "{text}");
    }
}

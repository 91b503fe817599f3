//! Whether a match is a usage: comments, docstrings, prose and quoted error lines are not; the
//! `Metadata` header and talk of MSI tell the extension from an application's own OAuth server.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Scan,
    text::{line_of, window},
};
use crate::{
    analyzers::lexical::{self, Lexed},
    kind::{FileKind, Lang},
};

/// The header IMDS requires, in the shapes clients set it: `Metadata: true`, `"Metadata":
/// "true"`, `@{Metadata="true"}`, `.Add("Metadata", "true")`, `Headers["Metadata"] = "true"`.
static METADATA_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?i)\bmetadata["']?\]?\s*[:=,]\s*["']?true\b"#)
        .expect("valid regex")
});

impl Scan<'_> {
    /// Not a usage: inside a comment, or (in plain text files) on a line that quotes an error.
    pub(super) fn ignored(&self, range: &Range<usize>) -> bool {
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

pub(super) fn has_metadata_header(text: &str, lx: &Lexed) -> bool {
    METADATA_HEADER
        .find_iter(text)
        .any(|m| !lx.in_comment(m.start()))
}

/// An OAuth 2.0 grant (`grant_type=password`, a client secret) sent to a local server, in a file
/// that never mentions managed identities: an application's own authorization server on a
/// development port, not the extension (which takes no grant).
pub(super) fn own_oauth_server(s: &Scan, range: &Range<usize>) -> bool {
    let win = &s.text[window(s.text, range.start, 6, 6)];
    let grant = ["grant_type", "client_secret", "GrantType", "ClientSecret"]
        .iter()
        .any(|g| win.contains(g));
    grant && !mentions_msi(s)
}

/// The file is about managed identities (MSI, the port 50342, IMDS, the `Metadata: true`
/// header): a computed `localhost:{port}/oauth2/token` elsewhere is more likely a local OAuth
/// server (Spring Authorization Server, test doubles) than the extension.
/// The file speaks of MSI, managed identity or IMDS (port 50342 alone may be a development
/// server's).
pub(super) fn mentions_msi(s: &Scan) -> bool {
    static ID: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)\bmsi|managed[ _-]?identit|\bimds\b")
            .expect("valid regex")
    });
    s.header || ID.is_match(s.text)
}

/// A fake, mock or stub OAuth server or a test host (tests of a login flow, `IdentityServer`),
/// which may serve `/oauth2/token` on a random local port.
pub(super) fn oauth_test_double(text: &str) -> bool {
    static DOUBLE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"(?i)\b(?:fake|mock|stub|dummy)[\w ]{0,20}oauth|\boauth[\w ]{0,20}(?:fake|mock|stub)|\bidentityserver\b|\b(?:oauth|authorization|test)[ _-]?(?:server|host)\b",
        )
        .expect("valid regex")
    });
    DOUBLE.is_match(text)
}

/// The setting a base URL is the value of names the MSI endpoint (`ARM_MSI_ENDPOINT=...`,
/// `"msiEndpoint": ...`, `- name: MSI_ENDPOINT` / `value: ...` on the line before). Port 50342
/// is also a common Visual Studio / IIS Express development port: CORS origins, JWT issuers
/// and `HttpClient.BaseAddress` on it are not the extension.
pub(super) fn names_msi_setting(s: &Scan, pos: usize) -> bool {
    static MSI: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"(?i)msi|managed[ _-]?identit|identity[ _-]?endpoint|\bimds\b",
        )
        .expect("valid regex")
    });
    let here = window(s.text, pos, 1, 0);
    MSI.is_match(&s.text[here])
}

#[cfg(test)]
mod tests {
    use super::super::{
        Analysis, Context, analyze,
        tests::{PY, ctx, found, run},
    };
    use crate::kind::{FileKind, Lang};

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
    fn an_applications_own_oauth_server_on_the_same_port() {
        let t = "var form = new Dictionary<string, string> { [\"grant_type\"] = \"password\" };\nvar r = await http.PostAsync(\"http://localhost:50342/oauth2/token\", new FormUrlEncodedContent(form));\n";
        assert!(run(t, FileKind::Code(Lang::CSharp)).is_empty());
    }
}

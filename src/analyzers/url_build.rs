//! How the rest of a file builds on a token URL held in a variable: the uses that append their
//! own query (`MSI_URL + "?resource="`, `f"{MSI_URL}?api-version=..."`, `"$ENDPOINT?resource"`,
//! `fmt.Sprintf("%s?...", msiEndpoint)`), so a rewrite of the URL keeps one valid IMDS URL at
//! every place the code makes one, instead of `...?api-version=...?api-version=...`.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::lexical::Lexed;

/// Uses of a name followed far enough to decide; a name used more often is too common.
const MAX_USES: usize = 50;

/// A placeholder with the query right after it, in a format string: `%s?`, `{}?`, `{0}?`.
static FORMAT_QUERY: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(r#"(?:%[sv]|\{\d*\})\?(?:[A-Za-z"'`%{]|$)"#).expect("valid regex")
});

/// A query the code appends to the variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Append {
    /// Byte position of the `?`.
    pub at: usize,
    /// The appended query names its own `api-version`.
    pub has_api_version: bool,
    /// The `?` sits in a string literal (an insertion there needs no quoting).
    pub in_string: bool,
}

/// What the code does with the variable a URL literal is assigned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Built {
    /// No use appends a query: the URL is used as written.
    Alone,
    /// Every use that builds on it appends a query (and none sends it as written).
    Appended(Vec<Append>),
    /// Some uses append a query, others pass the URL on as written: no one URL serves both.
    Mixed,
}

/// How the code uses `name` (the variable holding the URL literal on line `own_line`).
pub fn uses(text: &str, lx: &Lexed, name: &str, own_line: &Range<usize>) -> Built {
    let b = text.as_bytes();
    let mut appends = Vec::new();
    let mut direct = false;
    let found = memchr::memmem::find_iter(b, name.as_bytes())
        .filter(|&p| {
            let before = p.checked_sub(1).map(|i| b[i]);
            let after = b.get(p + name.len()).copied();
            !before.is_some_and(is_ident_byte)
                && !after.is_some_and(is_ident_byte)
                && !own_line.contains(&p)
                && !lx.in_comment(p)
        })
        .take(MAX_USES);
    for p in found {
        match follow(text, lx, p, p + name.len()) {
            Use::Append(at) => {
                appends.push(Append {
                    at,
                    has_api_version: names_api_version(text, at),
                    in_string: lx.string_at(at).is_some(),
                });
            }
            Use::Direct => direct = true,
            Use::Other => {}
        }
    }
    match (appends.is_empty(), direct) {
        (true, _) => Built::Alone,
        (false, false) => {
            appends.sort_by_key(|a| a.at);
            appends.dedup();
            Built::Appended(appends)
        }
        (false, true) => Built::Mixed,
    }
}

/// Whether the query appended at the `?` at `at` names its own `api-version`: on the rest of its
/// line, or, when the query is not written out (`"?" + urlencode(params)`, `"%s?%s"`), within a few
/// lines around, where its parameters are set.
fn names_api_version(text: &str, at: usize) -> bool {
    const AROUND: usize = 10;
    let b = text.as_bytes();
    let line_end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |e| at + e);
    let has = |r: &str| r.to_ascii_lowercase().contains("api-version");
    if has(&text[at..line_end]) {
        return true;
    }
    if b.get(at + 1).is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let start = memchr::memrchr_iter(b'\n', &b[..at])
        .nth(AROUND)
        .map_or(0, |p| p + 1);
    let end = memchr::memchr_iter(b'\n', &b[at..])
        .nth(AROUND)
        .map_or(b.len(), |p| at + p);
    has(&text[start..end])
}

enum Use {
    /// A query is appended at this `?`.
    Append(usize),
    /// Passed on as written (`get(MSI_URL, ...)`, `Uri = $endpoint`).
    Direct,
    Other,
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// What follows the use of a name at `start..end`.
fn follow(text: &str, lx: &Lexed, start: usize, end: usize) -> Use {
    let b = text.as_bytes();
    let starts_query = |i: usize| {
        b.get(i) == Some(&b'?')
            && b.get(i + 1).is_none_or(|&c| {
                c.is_ascii_alphabetic() || matches!(c, b'"' | b'\'' | b'`' | b'{' | b'$')
            })
    };
    // `$ENDPOINT?resource=`, `${ENDPOINT}?...`, `{MSI_URL}?...`, `$($base)?...`.
    let mut i = end;
    // `variables('tokenUrl')`: the quotes around a name read through a function go too.
    while i < b.len() && matches!(b[i], b'}' | b')' | b'\'' | b'"') && i < end + 3 {
        i += 1;
    }
    if starts_query(i) {
        return Use::Append(i);
    }
    // `MSI_URL + "?resource="`, `$base + '?'`, `endpoint & "?..."`, `$a . "?..."`.
    let mut j = i;
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    // A `,` joins in ARM's `concat(variables('u'), '?resource=', ...)` and `String.Concat`.
    if matches!(b.get(j), Some(b'+' | b'&' | b'.' | b',')) {
        j += 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'.') {
            j += 1;
        }
        while j < b.len() && matches!(b[j], b'f' | b'F' | b'$' | b'@' | b'r' | b'R') && j < i + 8 {
            j += 1;
        }
        if matches!(b.get(j), Some(b'"' | b'\'' | b'`')) && starts_query(j + 1) {
            return Use::Append(j + 1);
        }
    }
    // `fmt.Sprintf("%s?api-version=...", msiEndpoint)`, `"{}?resource={}".format(MSI_URL, r)`:
    // a placeholder followed by a query, in a string of the statement that uses the name.
    let line_start = memchr::memrchr(b'\n', &b[..start]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &b[end..]).map_or(b.len(), |p| end + p);
    let line = &text[line_start..line_end];
    if let Some(m) = FORMAT_QUERY
        .find_iter(line)
        .find(|m| lx.string_at(line_start + m.start()).is_some())
    {
        let q = line_start + m.start() + line[m.start()..].find('?').unwrap_or(0);
        return Use::Append(q);
    }
    // Passed on as an argument: `get(MSI_URL, ...)`, `-Uri $endpoint -Headers ...`,
    // `curl "$ENDPOINT" -d ...`, or the end of the statement.
    let mut k = i;
    while k < b.len() && matches!(b[k], b'"' | b'\'' | b'}' | b')') && k < i + 3 {
        k += 1;
    }
    while k < b.len() && matches!(b[k], b' ' | b'\t') {
        k += 1;
    }
    let flag_next = b.get(k) == Some(&b'-') && b.get(k + 1).is_some_and(u8::is_ascii_alphabetic);
    if flag_next
        || matches!(
            b.get(k),
            None | Some(b',' | b')' | b';' | b'\n' | b'\r' | b'|')
        )
    {
        return Use::Direct;
    }
    Use::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        analyzers::lexical,
        kind::{FileKind, Lang},
    };

    fn built(text: &str, kind: FileKind, name: &str) -> Built {
        let lx = lexical::lex(text, kind);
        let own = 0..text.find('\n').unwrap_or(text.len());
        uses(text, &lx, name, &own)
    }

    fn appended_at(text: &str, kind: FileKind, name: &str) -> Vec<(String, bool)> {
        match built(text, kind, name) {
            Built::Appended(a) => a
                .iter()
                .map(|a| (text[a.at..a.at + 9].to_owned(), a.has_api_version))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn queries_appended_in_several_languages() {
        let py = FileKind::Code(Lang::Python);
        let t = "MSI_URL = 'http://localhost:50342/oauth2/token'\nurl = f\"{MSI_URL}?api-version=2018-02-01&resource={r}\"\n";
        assert_eq!(
            appended_at(t, py, "MSI_URL"),
            [("?api-vers".to_owned(), true)]
        );
        let t =
            "MSI_URL = 'http://localhost:50342/oauth2/token'\nurl = MSI_URL + \"?resource=\" + r\n";
        assert_eq!(
            appended_at(t, py, "MSI_URL"),
            [("?resource".to_owned(), false)]
        );
        let t = "E=http://localhost:50342/oauth2/token\ncurl -s \"$E?resource=https://vault.azure.net\" -H Metadata:true\ncurl \"${E}?resource=x\"\n";
        assert_eq!(appended_at(t, FileKind::Shell, "E").len(), 2);
        let t = "$base = 'http://localhost:50342/oauth2/token'\n$uri = \"$($base)?resource=x\"\n";
        assert_eq!(appended_at(t, FileKind::PowerShell, "base").len(), 1);
        let go = FileKind::Code(Lang::Go);
        let t = "const msiEndpoint = \"http://localhost:50342/oauth2/token\"\nu := fmt.Sprintf(\"%s?api-version=2018-02-01&resource=%s\", msiEndpoint, r)\n";
        assert_eq!(
            appended_at(t, go, "msiEndpoint"),
            [("?api-vers".to_owned(), true)]
        );
    }

    #[test]
    fn a_query_built_from_parameters_set_nearby() {
        let go = FileKind::Code(Lang::Go);
        let t = "const msiEndpoint = \"http://localhost:50342/oauth2/token\"\nq := url.Values{}\nq.Set(\"api-version\", \"2018-02-01\")\nu := fmt.Sprintf(\"%s?%s\", msiEndpoint, q.Encode())\n";
        assert_eq!(
            appended_at(t, go, "msiEndpoint"),
            [("?%s\", msi".to_owned(), true)]
        );
        let py = FileKind::Code(Lang::Python);
        let t = "MSI_URL = 'http://localhost:50342/oauth2/token'\nu = MSI_URL + '?' + urlencode({'resource': r})\n";
        assert_eq!(
            appended_at(t, py, "MSI_URL"),
            [("?' + urle".to_owned(), false)]
        );
    }

    #[test]
    fn arm_concat_of_a_variable() {
        let t = "{\"variables\": {\"tokenUrl\": \"http://localhost:50342/oauth2/token\"},\n\"outputs\": {\"u\": {\"type\": \"string\", \"value\": \"[concat(variables('tokenUrl'), '?resource=', parameters('r'))]\"}}}\n";
        assert_eq!(
            appended_at(t, FileKind::Arm, "tokenUrl"),
            [("?resource".to_owned(), false)]
        );
    }

    #[test]
    fn direct_uses_and_mixtures() {
        let py = FileKind::Code(Lang::Python);
        let t =
            "MSI_URL = 'http://localhost:50342/oauth2/token'\nrequests.get(MSI_URL, params=p)\n";
        assert_eq!(built(t, py, "MSI_URL"), Built::Alone);
        let t = "MSI_URL = 'http://localhost:50342/oauth2/token'\nrequests.get(MSI_URL, params=p)\nu = MSI_URL + '?resource=' + r\n";
        assert_eq!(built(t, py, "MSI_URL"), Built::Mixed);
        let t = "$endpoint = 'http://localhost:50342/oauth2/token'\n$u = \"$($endpoint)?resource=x\"\nInvoke-RestMethod -Uri $endpoint -Body @{ resource = 'y' }\n";
        assert_eq!(built(t, FileKind::PowerShell, "endpoint"), Built::Mixed);
        // `??`, `?.` and ternaries are operators, not queries; comments are not uses.
        let cs = FileKind::Code(Lang::CSharp);
        let t = "string Url = \"http://localhost:50342/oauth2/token\";\nvar u = Url ?? other;\nvar n = Url?.Length;\n// Url + \"?resource=x\"\n";
        assert_eq!(built(t, cs, "Url"), Built::Alone);
        // A longer name that contains this one is another variable.
        let t = "U = 'http://localhost:50342/oauth2/token'\nU2 = U_BASE + '?x=1'\n";
        assert_eq!(built(t, py, "U"), Built::Alone);
    }
}

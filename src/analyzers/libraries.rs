//! Libraries that called the Managed Identity extension for the application: a dependency
//! manifest that pins or locks a version in such a range (IMDS041), and the calls of the
//! library's credential in code (IMDS042, kept by the scan only where the same root pins an
//! affected version). The ranges are data, each with its source: `rules/data/libraries.toml`.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;
use serde::Deserialize;

use super::{Analysis, Context, lexical};
use crate::{
    finding::Diagnostic,
    kind::{FileKind, Lang},
};

pub const RULE_PIN: &str = "IMDS041";
pub const RULE_CALL: &str = "IMDS042";

#[derive(Debug, Deserialize)]
struct Data {
    library: Vec<Library>,
}

#[derive(Debug, Deserialize)]
struct Library {
    ecosystem: String,
    name: String,
    credential: String,
    /// The names code calls, when there are more than the credential's.
    #[serde(default)]
    calls: Vec<String>,
    /// First affected version (inclusive).
    introduced: String,
    /// First version that no longer calls the extension.
    fixed: String,
    source: String,
}

impl Library {
    fn call_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.credential.as_str()).chain(self.calls.iter().map(String::as_str))
    }
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    toml::from_str(include_str!("../../rules/data/libraries.toml"))
        .expect("rules/data/libraries.toml is validated by tests")
});

/// A version found in a manifest, where it is in the text.
struct Pin {
    version: String,
    range: Range<usize>,
}

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    let lower = text.to_ascii_lowercase();
    let file = ctx.path.rsplit('/').next().unwrap_or(ctx.path);
    let mut found_calls: Vec<(Range<usize>, String, &Library)> = Vec::new();
    for lib in &DATA.library {
        // Maven coordinates are written apart in a pom: the artifact id is enough to look.
        let short = lib.name.rsplit(':').next().unwrap_or(&lib.name);
        if !lower.contains(&short.to_ascii_lowercase())
            && !lib.call_names().any(|c| text.contains(c))
        {
            continue;
        }
        for pin in pins(ctx.path, file, text, lib) {
            if in_range(&pin.version, &lib.introduced, &lib.fixed) {
                out.push(Diagnostic::new(
                    RULE_PIN,
                    pin.range,
                    format!(
                        "`{}` {} is pinned here: its `{}` gets tokens from the retired Managed Identity VM extension; upgrade to {} or later, which uses IMDS (source: {})",
                        lib.name, pin.version, lib.credential, lib.fixed, lib.source
                    ),
                ));
            }
        }
        if language_of(&lib.ecosystem).is_some_and(|l| ctx.kind == FileKind::Code(l)) {
            calls(text, ctx, lib, &mut found_calls);
        }
    }
    // One finding per call, naming every library it may belong to (Node's two MSI libraries
    // share their names): the scan keeps it where any of them is pinned in range.
    let mut by_start: std::collections::BTreeMap<usize, (Range<usize>, String, Vec<&Library>)> =
        std::collections::BTreeMap::new();
    for (range, name, lib) in found_calls {
        by_start
            .entry(range.start)
            .or_insert_with(|| (range, name, Vec::new()))
            .2
            .push(lib);
    }
    for (_, (range, name, libs)) in by_start {
        let names: Vec<String> = libs.iter().map(|l| format!("`{}`", l.name)).collect();
        let fixed: Vec<String> = libs
            .iter()
            .map(|l| format!("{} {} or later", l.name, l.fixed))
            .collect();
        out.push(Diagnostic::new(
            RULE_CALL,
            range,
            format!(
                "{} credential `{name}`: the version this repository pins gets tokens from the retired Managed Identity VM extension; upgrade ({}), which uses IMDS, or use a current managed-identity credential",
                names.join(" or "),
                fixed.join(", ")
            ),
        ));
    }
}

fn language_of(ecosystem: &str) -> Option<Lang> {
    match ecosystem {
        "pypi" => Some(Lang::Python),
        "go" => Some(Lang::Go),
        "npm" => Some(Lang::JavaScript),
        "maven" => Some(Lang::Java),
        _ => None,
    }
}

/// Exact pins and lock entries of `lib` in the manifest at `path` (file name `file`).
fn pins(path: &str, file: &str, text: &str, lib: &Library) -> Vec<Pin> {
    let f = file.to_ascii_lowercase();
    // `requirements.txt`, `dev-requirements.txt`, `requirements/base.txt`.
    let requirements = f.ends_with(".txt") && path.to_ascii_lowercase().contains("requirements");
    let name = regex::escape(&lib.name);
    let pattern = match lib.ecosystem.as_str() {
        // `msrestazure==0.4.20` (also `===`, extras, spaces), one requirement per line.
        "pypi" if requirements => {
            format!(
                r"(?im)^\s*{name}(?:\[[^\]]*\])?\s*===?\s*(?P<v>[0-9][0-9A-Za-z.]*)\s*(?:[;#]|$)"
            )
        }
        // `"msrestazure": { ..., "version": "==0.4.20" }`
        "pypi" if f == "pipfile.lock" => {
            format!(
                r#"(?is)"{name}"\s*:\s*\{{[^{{}}]*?"version"\s*:\s*"==(?P<v>[0-9][0-9A-Za-z.]*)""#
            )
        }
        // `name = "msrestazure"` then `version = "0.4.20"` in the same `[[package]]`.
        "pypi" if f == "poetry.lock" => {
            format!(r#"(?im)^name\s*=\s*"{name}"\s*\r?\nversion\s*=\s*"(?P<v>[0-9][0-9A-Za-z.]*)""#)
        }
        // `github.com/Azure/go-autorest v10.5.1+incompatible` in a `require` line or block.
        "go" if f == "go.mod" => {
            format!(r"(?m)^\s*(?:require\s+)?{name}\s+v(?P<v>[0-9][0-9A-Za-z.+-]*)\s*(?://.*)?$")
        }
        // `github.com/Azure/go-autorest v10.5.1+incompatible h1:...` (not the `/go.mod` line).
        "go" if f == "go.sum" => format!(r"(?m)^{name}\s+v(?P<v>[0-9][0-9A-Za-z.+-]*)\s+h1:"),
        // `"ms-rest-azure": "2.5.9"` (or `"=2.5.9"`): an exact dependency; ranges are not pins.
        "npm" if f == "package.json" => {
            format!(r#""{name}"\s*:\s*"=?v?(?P<v>[0-9]+\.[0-9]+\.[0-9]+)""#)
        }
        // Lock v1 `"ms-rest-azure": { "version": "2.5.9"`, v2/v3 `"node_modules/ms-rest-azure": {`.
        "npm" if f == "package-lock.json" || f == "npm-shrinkwrap.json" => format!(
            r#""(?:node_modules/)?{name}"\s*:\s*\{{\s*"version"\s*:\s*"(?P<v>[0-9][0-9A-Za-z.+-]*)""#
        ),
        // `<artifactId>azure-client-authentication</artifactId>` then `<version>1.2.0</version>`.
        "maven" if f == "pom.xml" => {
            let artifact = regex::escape(lib.name.rsplit(':').next().unwrap_or(&lib.name));
            format!(
                r"(?s)<artifactId>\s*{artifact}\s*</artifactId>\s*<version>\s*(?P<v>[0-9][0-9A-Za-z.-]*)\s*</version>"
            )
        }
        // `'com.microsoft.azure:azure-client-authentication:1.2.0'` (Groovy or Kotlin DSL).
        "maven" if f == "build.gradle" || f == "build.gradle.kts" => {
            format!(r#"["']{name}:(?P<v>[0-9][0-9A-Za-z.-]*)["']"#)
        }
        _ => return Vec::new(),
    };
    let re = Regex::new(&pattern).expect("escaped name makes a valid regex");
    re.captures_iter(text)
        .filter_map(|c| {
            let v = c.name("v")?;
            let whole = c.get(0)?;
            let start = whole.start() + (whole.len() - whole.as_str().trim_start().len());
            Some(Pin {
                version: v.as_str().to_owned(),
                range: start..v.end(),
            })
        })
        .collect()
}

/// `introduced <= version < fixed`, comparing dotted numbers (pre-release tags count as lower).
fn in_range(version: &str, introduced: &str, fixed: &str) -> bool {
    let key = |s: &str| -> Vec<u64> {
        s.split('.')
            .map(|p| {
                p.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                })
            })
            .collect()
    };
    let v = key(version);
    v >= key(introduced) && v < key(fixed)
}

/// Calls of the credential outside comments and strings: `MSIAuthentication(`.
fn calls<'l>(
    text: &str,
    ctx: &Context,
    lib: &'l Library,
    found: &mut Vec<(Range<usize>, String, &'l Library)>,
) {
    let names: Vec<String> = lib.call_names().map(regex::escape).collect();
    let re = Regex::new(&format!(r"\b(?P<n>{})\s*\(", names.join("|")))
        .expect("escaped names make a valid regex");
    let lexed = lexical::lex(text, ctx.kind);
    for c in re.captures_iter(text) {
        let Some(n) = c.name("n") else { continue };
        if lexed.in_comment(n.start()) || lexed.string_at(n.start()).is_some() {
            continue;
        }
        found.push((n.range(), n.as_str().to_owned(), lib));
    }
}

/// The libraries a finding's message names before its first space-separated word that is not
/// a backticked name or `or`: `` `a` or `b` credential ... `` gives `a` and `b`.
pub fn libraries_of(message: &str) -> Vec<&str> {
    message
        .split(' ')
        .take_while(|w| *w == "or" || (w.len() > 2 && w.starts_with('`') && w.ends_with('`')))
        .filter(|w| *w != "or")
        .map(|w| &w[1..w.len() - 1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, kind: FileKind, text: &str) -> Vec<(&'static str, String)> {
        let ctx = Context {
            kind,
            path,
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        out.diagnostics
            .into_iter()
            .map(|d| (d.rule, text[d.range].to_owned()))
            .collect()
    }

    #[test]
    fn the_data_file_parses_and_every_range_has_a_source() {
        assert!(!DATA.library.is_empty());
        for lib in &DATA.library {
            assert!(lib.source.starts_with("https://"), "{}", lib.name);
            assert!(in_range(&lib.introduced, &lib.introduced, &lib.fixed));
            assert!(!in_range(&lib.fixed, &lib.introduced, &lib.fixed));
        }
    }

    #[test]
    fn pins_and_locks_in_range() {
        let req = "requests==2.18.4\nmsrestazure==0.4.20  # auth\nazure-mgmt-compute==3.0.1\n";
        assert_eq!(
            run("svc/requirements-prod.txt", FileKind::Text, req),
            [(RULE_PIN, "msrestazure==0.4.20".to_owned())]
        );
        let pipfile = "{\"default\": {\"msrestazure\": {\"hashes\": [\"sha256:x\"], \"version\": \"==0.4.14\"}}}";
        assert_eq!(run("Pipfile.lock", FileKind::Text, pipfile).len(), 1);
        let poetry = "[[package]]\nname = \"msrestazure\"\nversion = \"0.4.24\"\n";
        assert_eq!(run("poetry.lock", FileKind::Text, poetry).len(), 1);
    }

    #[test]
    fn versions_outside_the_range_and_loose_requirements_are_not_pins() {
        for (path, text) in [
            ("requirements.txt", "msrestazure==0.4.25\n"),
            ("requirements.txt", "msrestazure==0.6.4\n"),
            ("requirements.txt", "msrestazure==0.4.13\n"),
            ("requirements.txt", "msrestazure>=0.4.14\n"),
            ("requirements.txt", "# msrestazure==0.4.20\n"),
            ("notes.txt", "msrestazure==0.4.20\n"),
            (
                "poetry.lock",
                "[[package]]\nname = \"msrestazure\"\nversion = \"0.6.4\"\n",
            ),
        ] {
            assert!(run(path, FileKind::Text, text).is_empty(), "{path}: {text}");
        }
    }

    #[test]
    fn go_modules_and_sums() {
        let gomod = "module example.com/agent\n\nrequire (\n\tgithub.com/Azure/go-autorest v10.5.1+incompatible\n\tgithub.com/Azure/go-autorest/autorest/adal v0.9.23\n)\n";
        assert_eq!(
            run("go.mod", FileKind::Text, gomod),
            [(
                RULE_PIN,
                "github.com/Azure/go-autorest v10.5.1+incompatible".to_owned()
            )]
        );
        let sum = "github.com/Azure/go-autorest v9.8.1+incompatible h1:abc=\ngithub.com/Azure/go-autorest v9.8.1+incompatible/go.mod h1:def=\ngithub.com/Azure/go-autorest v10.6.0+incompatible h1:ghi=\n";
        assert_eq!(run("go.sum", FileKind::Text, sum).len(), 1);
        let call = "tok, err := adal.NewServicePrincipalTokenFromMSI(endpoint, resource)\n";
        assert_eq!(run("main.go", FileKind::Code(Lang::Go), call).len(), 1);
        for old in [
            "github.com/Azure/go-autorest v7.3.1+incompatible",
            "github.com/Azure/go-autorest v14.2.0+incompatible",
        ] {
            assert!(
                run("go.mod", FileKind::Text, &format!("require {old}\n")).is_empty(),
                "{old}"
            );
        }
    }

    #[test]
    fn npm_manifests_and_locks() {
        let pkg = "{\n  \"dependencies\": {\n    \"ms-rest-azure\": \"2.5.9\",\n    \"azure-keyvault\": \"3.0.4\"\n  }\n}\n";
        assert_eq!(
            run("package.json", FileKind::Json, pkg),
            [(RULE_PIN, "\"ms-rest-azure\": \"2.5.9".to_owned())]
        );
        let lock = "{\"packages\": {\"node_modules/ms-rest-azure\": {\"version\": \"2.4.2\", \"resolved\": \"x\"}}}";
        assert_eq!(run("package-lock.json", FileKind::Json, lock).len(), 1);
        for pkg in [
            "{\"ms-rest-azure\": \"^2.3.0\"}",
            "{\"ms-rest-azure\": \"2.6.0\"}",
            "{\"ms-rest-azure\": \"2.2.3\"}",
        ] {
            assert!(run("package.json", FileKind::Json, pkg).is_empty(), "{pkg}");
        }
        let js = "const creds = await msRestAzure.loginWithVmMSI({ port: 50342 });\n// loginWithMSI() old\n";
        assert_eq!(run("app.js", FileKind::Code(Lang::JavaScript), js).len(), 1);
    }

    #[test]
    fn maven_and_gradle() {
        let pom = "<dependency>\n  <groupId>com.microsoft.azure</groupId>\n  <artifactId>azure-client-authentication</artifactId>\n  <version>1.2.1</version>\n</dependency>\n";
        assert_eq!(run("pom.xml", FileKind::Xml, pom).len(), 1);
        let gradle = "implementation 'com.microsoft.azure:azure-client-authentication:1.3.0'\n";
        assert_eq!(run("build.gradle", FileKind::Text, gradle).len(), 1);
        let current = "implementation 'com.microsoft.azure:azure-client-authentication:1.7.14'\n";
        assert!(run("build.gradle", FileKind::Text, current).is_empty());
        let java = "AzureTokenCredentials c = new MSICredentials(AzureEnvironment.AZURE);\n";
        assert_eq!(run("Auth.java", FileKind::Code(Lang::Java), java).len(), 1);
    }

    #[test]
    fn credential_calls_in_python_code() {
        let py = "from msrestazure.azure_active_directory import MSIAuthentication\n# MSIAuthentication() is old\ncreds = MSIAuthentication(resource='https://vault.azure.net')\nprint('MSIAuthentication()')\n";
        let found = run("app/auth.py", FileKind::Code(Lang::Python), py);
        assert_eq!(found, [(RULE_CALL, "MSIAuthentication".to_owned())]);
        assert_eq!(
            libraries_of("`msrestazure` credential `X`"),
            ["msrestazure"]
        );
        assert_eq!(libraries_of("`a` or `b` credential"), ["a", "b"]);
    }
}

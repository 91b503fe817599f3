//! IMDS035: settings that configure a tool with the Managed Identity extension's port rather
//! than its URL (`msiPort`, `msi_port`, `MSI_PORT`, `identityPort`...), in any format: XML
//! elements and attributes, JSON/YAML/ini/env pairs, code assignments, shell defaults
//! (`${MSI_PORT:-50342}`), environment lookups with a default, Dockerfile `ENV`, and
//! `msiEndpoint` settings given as a port without a scheme.
//!
//! The port decides, not the key alone: 50342 (or a configured port) is reported at once;
//! another port only when an extension in the repository declares it, so an identity server's
//! `IDENTITY_PORT=5000` stays silent.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::{Analysis, Context, cloud_shell::CloudShell, lexical};
use crate::finding::Diagnostic;

pub const RULE: &str = "IMDS035";

/// The key names, with any separator (or none) and any case: `msiPort`, `MSI_PORT`,
/// `msi.port`, `managed-identity-port`, `identityPort`, `msiEndpointPort`.
const KEY: &str = r"(?:msi|managed[-_.]?identity|identity|msi[-_.]?endpoint)[-_.]?port";

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    // The key must not continue a longer word (`myidentity_port` is someone else's).
    let k = format!(r"(?:^|[^A-Za-z0-9])(?P<key>{KEY})");
    [
        // `<msiPort>50342</msiPort>`
        format!(r"(?i)<(?P<key>{KEY})>\s*(?P<port>\d{{1,5}})\s*</"),
        // `msiPort: 50342`, `"msi_port": "50342"`, `MSI_PORT=50342`, `msiPort="50342"`, `$env:MSI_PORT = 50342`,
        // `os.environ["MSI_PORT"] = "50342"`
        format!(r#"(?i){k}["']?\]?\s*(?::|=|:=|=>)\s*["']?(?P<port>\d{{1,5}})["']?(?:[^\w.:/]|$)"#),
        // An endpoint setting given as the port or `localhost:port`, without a scheme:
        // `msiEndpoint: 50342`, `MSI_ENDPOINT=127.0.0.1:50342` (URLs are the endpoint rules')
        r#"(?i)(?:^|[^A-Za-z0-9])(?P<key>msi[-_.]?endpoint)["']?\]?\s*(?::|=|:=|=>)\s*["']?(?:(?:localhost|127\.0\.0\.1):)?(?P<port>\d{1,5})["']?(?:[^\w.:/]|$)"#
            .to_owned(),
        // Dockerfile `ENV MSI_PORT 50342` (the form without `=`)
        format!(r#"(?im)^[ \t]*ENV[ \t]+(?P<key>{KEY})[ \t]+["']?(?P<port>\d{{1,5}})["']?[ \t]*\r?$"#),
        // `<add key="MsiPort" value="50342" />` (.NET appSettings)
        format!(r#"(?i)\bkey\s*=\s*["'](?P<key>{KEY})["']\s+value\s*=\s*["'](?P<port>\d{{1,5}})["']"#),
        // Kubernetes/pipeline env lists: `- name: MSI_PORT` then `value: "50342"`
        format!(r#"(?i)\bname:\s*["']?(?P<key>{KEY})["']?[ \t]*\r?\n[ \t]*value:\s*["']?(?P<port>\d{{1,5}})["']?[ \t]*(?:\r?\n|$)"#),
        // `${MSI_PORT:-50342}`, `${MSI_PORT-50342}`, `${MSI_PORT:=50342}`
        format!(r"(?i)\$\{{(?P<key>{KEY}):?[-=](?P<port>\d{{1,5}})\}}"),
        // `getenv("MSI_PORT", "50342")`, `env.MSI_PORT || 50342`, `... ?? "50342"`, `or 50342`
        format!(
            r#"(?i){k}["']?\s*[\])]?\s*(?:,|\|\||\?\?|\bor\b)\s*["']?(?P<port>\d{{1,5}})["']?(?:[^\w.:/]|$)"#
        ),
    ]
    .iter()
    .map(|p| crate::analyzers::pattern::compile(p).expect("valid regex"))
    .collect()
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    if !has_key_word(text) {
        return;
    }
    // Cloud Shell's own port, in the constructs about Cloud Shell, is no usage.
    let cloud_shell = CloudShell::of(text, ctx.path);
    if cloud_shell.whole() {
        return;
    }
    let lexed = lexical::lex(text, ctx.kind);
    let mut seen = Vec::new();
    for re in PATTERNS.iter() {
        for c in re.captures_iter(text) {
            let (Some(key), Some(port_m)) = (c.name("key"), c.name("port")) else {
                continue;
            };
            let Ok(port) = port_m.as_str().parse::<u16>() else {
                continue;
            };
            // `--msi-port=50342` is a command's flag (IMDS012 reads `az login`'s).
            let flag = text[..key.start()].ends_with("--");
            if port == 0
                || flag
                || seen.contains(&key.start())
                || lexed.in_comment(key.start())
                || cloud_shell.covers(key.start())
            {
                continue;
            }
            seen.push(key.start());
            let range = key.start()..port_m.end();
            let message = format!(
                "Setting `{}` gives the retired Managed Identity extension's port {port}: tools configured with it call the extension's token service, which no longer exists; remove the setting (or the tool's MSI port option) so the tool uses IMDS (http://169.254.169.254/metadata/identity/oauth2/token)",
                key.as_str()
            );
            let d = Diagnostic::new(RULE, range, message);
            out.push(if ctx.is_known_port(port) {
                d
            } else {
                d.requiring_port(port)
            });
        }
    }
}

/// A cheap test before the regexes: some spelling of `...port` after `msi` or `identity`.
fn has_key_word(text: &str) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        super::pattern::words_any_case(&[
            "msiport",
            "msi_port",
            "msi-port",
            "msi.port",
            "identityport",
            "identity_port",
            "identity-port",
            "identity.port",
            "endpointport",
            "endpoint_port",
            "msiendpoint",
            "msi_endpoint",
            "msi-endpoint",
            "msi.endpoint",
        ])
    });
    WORDS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::{FileKind, Lang};

    fn run_as(text: &str, kind: FileKind, extra: &[u16]) -> Vec<String> {
        let ctx = Context {
            kind,
            path: "config/app.txt",
            api_version: "2018-02-01",
            extra_ports: extra,
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        out.diagnostics
            .iter()
            .filter(|d| d.requires_port.is_none())
            .map(|d| text[d.range.clone()].to_owned())
            .collect()
    }

    fn run(text: &str, kind: FileKind) -> Vec<String> {
        run_as(text, kind, &[])
    }

    #[test]
    fn every_format_of_the_port_setting() {
        for (text, kind, want) in [
            ("<msiPort>50342</msiPort>\n", FileKind::Xml, "msiPort>50342"),
            (
                "<add key=\"MsiPort\" value=\"1\"/><x msiPort=\"50342\"/>\n",
                FileKind::Xml,
                "msiPort=\"50342",
            ),
            (
                "<add key=\"MsiPort\" value=\"50342\" />\n",
                FileKind::Xml,
                "MsiPort\" value=\"50342",
            ),
            (
                "{\"msi_port\": 50342}\n",
                FileKind::Json,
                "msi_port\": 50342",
            ),
            (
                "identity:\n  msiPort: \"50342\"\n",
                FileKind::Yaml,
                "msiPort: \"50342",
            ),
            ("export MSI_PORT=50342\n", FileKind::Shell, "MSI_PORT=50342"),
            (
                "FROM x\nENV MSI_PORT 50342\n",
                FileKind::Shell,
                "MSI_PORT 50342",
            ),
            (
                "{\"msiEndpoint\": \"localhost:50342\"}\n",
                FileKind::Json,
                "msiEndpoint\": \"localhost:50342",
            ),
            (
                "MSI_ENDPOINT=127.0.0.1:50342\n",
                FileKind::Config,
                "MSI_ENDPOINT=127.0.0.1:50342",
            ),
            (
                "os.environ[\"MSI_PORT\"] = \"50342\"\n",
                FileKind::Code(Lang::Python),
                "MSI_PORT\"] = \"50342",
            ),
            (
                "PORT=${MSI_PORT:-50342}\n",
                FileKind::Shell,
                "MSI_PORT:-50342",
            ),
            (
                "$env:MSI_PORT = 50342\n",
                FileKind::PowerShell,
                "MSI_PORT = 50342",
            ),
            (
                "port = os.getenv(\"MSI_PORT\", \"50342\")\n",
                FileKind::Code(Lang::Python),
                "MSI_PORT\", \"50342",
            ),
            (
                "const p = process.env.MSI_PORT || 50342;\n",
                FileKind::Code(Lang::JavaScript),
                "MSI_PORT || 50342",
            ),
            (
                "managed_identity_port = 50342\n",
                FileKind::Terraform,
                "managed_identity_port = 50342",
            ),
            ("azure.msi.port=50342\n", FileKind::Config, "msi.port=50342"),
            (
                "identityPort: 50342\n",
                FileKind::Yaml,
                "identityPort: 50342",
            ),
            (
                "env:\n- name: MSI_PORT\n  value: \"50342\"\n",
                FileKind::Yaml,
                "MSI_PORT\n  value: \"50342",
            ),
        ] {
            assert_eq!(run(text, kind), [want], "{text}");
        }
    }

    #[test]
    fn configured_ports_count_and_others_wait_for_a_declaration() {
        assert_eq!(
            run_as("MSI_PORT=51234\n", FileKind::Shell, &[51234]).len(),
            1
        );
        let ctx = Context {
            kind: FileKind::Shell,
            path: "x.sh",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze("MSI_PORT=51234\n", &ctx, &mut out);
        assert_eq!(out.diagnostics[0].requires_port, Some(51234));
    }

    #[test]
    fn other_products_comments_and_look_alikes_are_not_flagged() {
        for (text, kind) in [
            (
                "IDENTITY_PORT=5000\nidentity_server_port: 50342\n",
                FileKind::Config,
            ),
            ("myidentity_port = 50342\n", FileKind::Config),
            ("# MSI_PORT=50342\n", FileKind::Shell),
            ("<!-- <msiPort>50342</msiPort> -->\n", FileKind::Xml),
            (
                "msiPortEnabled: true\nmsi_port_range: 50342-50350\n",
                FileKind::Yaml,
            ),
            (
                "MSI_ENDPOINT=http://169.254.169.254/metadata/identity/oauth2/token\n",
                FileKind::Config,
            ),
            (
                "useManagedIdentityExtension: true\nport: 50342\n",
                FileKind::Yaml,
            ),
            ("msi_port = 50342.5\nmsiPort: 50342/tcp\n", FileKind::Config),
            ("az login --msi --msi-port=50342\n", FileKind::Shell),
            (
                "MSI_ENDPOINT=http://127.0.0.1:41741/MSI/token/\nmsiEndpoint: db.internal:50342\n",
                FileKind::Config,
            ),
            (
                "if cfg[\"msi_port\"] == 50342:\n    pass\nENV APP_PORT 50342\nENV MSI_PORT_RANGE 50342\n",
                FileKind::Code(Lang::Python),
            ),
        ] {
            assert!(run(text, kind).is_empty(), "{text}");
        }
    }

    #[test]
    fn cloud_shell_files_are_left_alone() {
        let ctx = Context {
            kind: FileKind::Shell,
            path: "cloudshell/setup.sh",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(
            "# Azure Cloud Shell\nexport MSI_PORT=50342\n",
            &ctx,
            &mut out,
        );
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn only_the_cloud_shell_arm_is_left_alone() {
        let text = "case \"$HOST_KIND\" in\n  cloudshell)\n    export MSI_PORT=50342\n    ;;\n  vm)\n    export MSI_PORT=50342\n    ;;\nesac\n";
        let ctx = Context {
            kind: FileKind::Shell,
            path: "deploy/env.sh",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        let lines: Vec<usize> = out
            .diagnostics
            .iter()
            .map(|d| text[..d.range.start].matches('\n').count() + 1)
            .collect();
        assert_eq!(lines, [6], "{:?}", out.diagnostics);
    }
}

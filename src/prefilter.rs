//! Decides from a file's raw bytes whether any analyzer could find a usage in it, at about the
//! speed ripgrep reads: one case-sensitive multi-literal pass (SIMD "Teddy" in aho-corasick),
//! each hit confirmed by a cheap look around it.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Literals one of which every usage contains, chosen so that a case-sensitive search still
/// covers every sane spelling: `dentity`/`DENTITY` is inside `ManagedIdentity`,
/// `managedidentity` and `MANAGEDIDENTITY` alike, `uth2/token` inside `oauth2/token` and
/// `OAuth2/token`. Case-insensitive automata cannot use the SIMD searcher and are several times
/// slower.
const LITERALS: &[(&str, Confirm)] = &[
    ("dentity", Confirm::Identity),
    ("DENTITY", Confirm::Identity),
    ("uth2/token", Confirm::TokenPath),
    ("UTH2/TOKEN", Confirm::TokenPath),
    // The token path encoded (JSON `\/`, percent `%2F`, character references `&#x2F;`): the
    // same confirmation (a loopback host before it) keeps encoded IMDS URLs out.
    ("uth2\\/token", Confirm::TokenPath),
    ("uth2%2Ftoken", Confirm::TokenPath),
    ("uth2%2ftoken", Confirm::TokenPath),
    ("uth2\\u002Ftoken", Confirm::TokenPath),
    ("uth2\\u002ftoken", Confirm::TokenPath),
    ("uth2&#", Confirm::TokenPath),
    (":50342", Confirm::Always),
    ("msi-port", Confirm::Always),
    ("MSI-PORT", Confirm::Always),
    // `az login -u <subscription>@50342`: the port in a user name, without a `:`.
    ("@50342", Confirm::Always),
    // Settings that carry the extension's port (`msiPort`, `MSIPort`, `msi_port`, `MSI_PORT`,
    // `msiport`, `msi.port`): `si` + port is in no common word.
    ("siPort", Confirm::Always),
    ("SIPort", Confirm::Always),
    ("si_port", Confirm::Always),
    ("SI_PORT", Confirm::Always),
    ("siport", Confirm::Always),
    ("SIPORT", Confirm::Always),
    ("si.port", Confirm::Always),
    // `az vm|vmss assign-identity --port N`: the CLI 2.0 command that installed the extension
    // (a command name, not a word of prose).
    ("assign-identity", Confirm::Always),
    // Suppression comments: an unused one is reported even in a file with nothing else.
    ("imds-migrate:", Confirm::Always),
    // IMDS041/IMDS042: manifests naming the credential libraries and the credential calls
    // (`rules/data/libraries.toml`); rare outside projects that use them.
    ("msrestazure", Confirm::Always),
    ("go-autorest", Confirm::Always),
    ("ms-rest-azure", Confirm::Always),
    ("ms-rest-nodeauth", Confirm::Always),
    ("azure-client-authentication", Confirm::Always),
    ("ServicePrincipalTokenFromMSI", Confirm::Always),
    ("GetMSIVMEndpoint", Confirm::Always),
    ("MSIAuthentication", Confirm::Always),
    ("MSITokenCredentials", Confirm::Always),
    ("MSIVmTokenCredentials", Confirm::Always),
    ("loginWithMSI", Confirm::Always),
    ("loginWithVmMSI", Confirm::Always),
    ("MSICredentials", Confirm::Always),
    ("ms_rest_azure", Confirm::Always),
    ("MSITokenProvider", Confirm::Always),
];

/// How far before `oauth2/token` the URL's host may be (`"http://localhost:" + port + "/oauth2/token"`).
const HOST_LOOKBACK: usize = 256;

/// Longer than any literal or confirmation window, for chunked searches.
pub const OVERLAP: usize = HOST_LOOKBACK + 32;

#[derive(Clone, Copy, Debug)]
enum Confirm {
    Always,
    /// Part of `managedidentity` (publisher, extension types, settings file) or
    /// `identity-port` (also `identity_port`, `identityPort`, `identity.port`: settings that
    /// carry the extension's port); `identity` alone is everywhere in Azure code.
    Identity,
    /// A token path whose host is `localhost`/`127.0.0.1` and that is not IMDS's or Arc's own
    /// `/metadata/identity/oauth2/token`: no analyzer reports any other.
    TokenPath,
}

#[derive(Clone, Debug)]
pub struct Prefilter {
    searcher: AhoCorasick,
    confirm: Vec<Confirm>,
}

impl Prefilter {
    /// `extra_ports`: configured ports, found as `:PORT` like 50342.
    pub fn new(extra_ports: &[u16]) -> Self {
        let mut pats: Vec<String> = LITERALS.iter().map(|(p, _)| (*p).to_owned()).collect();
        let mut confirm: Vec<Confirm> = LITERALS.iter().map(|(_, c)| *c).collect();
        for port in extra_ports {
            pats.push(format!(":{port}"));
            confirm.push(Confirm::Always);
        }
        let searcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&pats)
            .expect("literals build an automaton");
        Prefilter { searcher, confirm }
    }

    /// True when `bytes` may hold a usage.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.searcher.find_iter(bytes).any(|m| {
            let (start, end) = (m.start(), m.end());
            match self.confirm[m.pattern().as_usize()] {
                Confirm::Always => true,
                Confirm::Identity => {
                    around_eq(bytes, start, 8, b"managedidentity")
                        || [
                            &b"identity-port"[..],
                            b"identity_port",
                            b"identityport",
                            b"identity.port",
                        ]
                        .iter()
                        .any(|w| around_eq(bytes, start, 1, w))
                }
                Confirm::TokenPath => token_path(bytes, start, end),
            }
        })
    }
}

/// `bytes[at - back ..]` starts with `word`, ASCII case-insensitively.
fn around_eq(bytes: &[u8], at: usize, back: usize, word: &[u8]) -> bool {
    at.checked_sub(back)
        .and_then(|s| bytes.get(s..s + word.len()))
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

fn token_path(bytes: &[u8], start: usize, _end: usize) -> bool {
    // `uth2/token` is preceded by `oa`/`OA`.
    let Some(path_start) = start.checked_sub(2) else {
        return false;
    };
    if around_eq(bytes, path_start, 19, b"/metadata/identity/") {
        return false;
    }
    let window = &bytes[path_start.saturating_sub(HOST_LOOKBACK)..path_start];
    contains_ci(window, b"localhost") || memchr::memmem::find(window, b"127.0.0.1").is_some()
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> bool {
        Prefilter::new(&[]).matches(s.as_bytes())
    }

    #[test]
    fn every_spelling_of_the_triggers() {
        for s in [
            "-Publisher Microsoft.ManagedIdentity",
            "publisher: microsoft.managedidentity",
            "MICROSOFT.MANAGEDIDENTITY",
            "ManagedIdentityExtensionForLinux",
            "managedIdentityExtensionForWindows",
            "/var/lib/waagent/ManagedIdentity-Settings",
            "az login --identity --identity-port 50342",
            "az login --msi --msi-port 1",
            "u = 'http://localhost:50343/oauth2/token'",
            "u = f\"http://LOCALHOST:{port}/OAuth2/token\"",
            "u = \"http://127.0.0.1:\" + port + \"/oauth2/token\"",
            "ARM_MSI_ENDPOINT=https://localhost:50342",
            "az login -u 0000@50342",
            "msrestazure==0.4.20",
            "creds = MSIAuthentication()",
            r#"{"u": "http:\/\/localhost:50342\/oauth2\/token"}"#,
            "u=http%3A%2F%2Flocalhost%3A50342%2Foauth2%2Ftoken",
            "http:&#x2F;&#x2F;127.0.0.1:50342&#x2F;oauth2&#x2F;token",
            "<msiPort>50342</msiPort>",
            "PORT=${MSI_PORT:-50342}",
            "identityPort: 50343",
            "IDENTITY_PORT=50343",
            "az vm assign-identity -g rg -n vm --port 50342",
            "# imds-migrate: ignore",
        ] {
            assert!(hit(s), "{s}");
        }
    }

    #[test]
    fn look_alikes_are_not_worth_analyzing() {
        for s in [
            "identity { type = \"SystemAssigned\" }",
            "IDENTITY_ENDPOINT",
            "Microsoft.ManagedIdentit",
            "https://login.microsoftonline.com/{tenant}/oauth2/token",
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01",
            "http://localhost:40342/metadata/identity/oauth2/token",
            "oauth2/token",
            "u=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken",
        ] {
            assert!(!hit(s), "{s}");
        }
    }

    #[test]
    fn extra_ports() {
        assert!(Prefilter::new(&[51234]).matches(b"endpoint = localhost:51234"));
        assert!(!Prefilter::new(&[]).matches(b"endpoint = localhost:51234"));
    }
}

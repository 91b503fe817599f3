//! Decides from a file's raw bytes whether any analyzer could find a usage in it, at about the
//! speed ripgrep reads: one case-sensitive multi-literal pass (SIMD "Teddy" in aho-corasick),
//! each hit confirmed by a cheap look around it.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

/// Literals one of which every usage contains. The search is case-sensitive (case-insensitive
/// automata cannot use the SIMD searcher and are several times slower), so each word comes in
/// the spellings people write: `dIdentity` is inside `ManagedIdentity` and `managedIdentity`,
/// `didentity` inside `managedidentity`, `DIDENTITY` inside `MANAGEDIDENTITY`.
///
/// The SIMD searcher proposes a candidate wherever a literal's first bytes occur, so each literal
/// starts with bytes that are rare in Azure code: `identity`, `auth` and `age` are on every page
/// of an infrastructure repository, `dId`, `2/t` and `ty-` are not.
const LITERALS: &[(&str, Confirm)] = &[
    ("dIdentity", Confirm::ManagedIdentity),
    ("didentity", Confirm::ManagedIdentity),
    ("DIDENTITY", Confirm::ManagedIdentity),
    ("2/token", Confirm::TokenPath),
    ("2/TOKEN", Confirm::TokenPath),
    // The token path encoded (JSON `\/`, percent `%2F`, character references `&#x2F;`): the
    // same confirmation (a loopback host before it) keeps encoded IMDS URLs out.
    ("2\\/token", Confirm::TokenPath),
    ("2%2Ftoken", Confirm::TokenPath),
    ("2%2ftoken", Confirm::TokenPath),
    ("2\\u002Ftoken", Confirm::TokenPath),
    ("2\\u002ftoken", Confirm::TokenPath),
    ("2&#", Confirm::TokenPath),
    (":50342", Confirm::Always),
    ("msi-port", Confirm::Always),
    ("MSI-PORT", Confirm::Always),
    // `az login --identity-port` (the flag's other name) and settings that carry the
    // extension's port (`identity_port`, `identityPort`, `identity.port`).
    ("ty-port", Confirm::IdentityPort),
    ("TY-PORT", Confirm::IdentityPort),
    ("ty_port", Confirm::IdentityPort),
    ("TY_PORT", Confirm::IdentityPort),
    ("tyPort", Confirm::IdentityPort),
    ("ty.port", Confirm::IdentityPort),
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

/// Built once: a searcher per call costs more than the search of a short window.
static LOOPBACK: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("127.0.0.1"));

/// How far before `oauth2/token` the URL's host may be (`"http://localhost:" + port + "/oauth2/token"`).
const HOST_LOOKBACK: usize = 256;

/// Longer than any literal or confirmation window, for chunked searches.
pub const OVERLAP: usize = HOST_LOOKBACK + 32;

#[derive(Clone, Copy, Debug)]
enum Confirm {
    Always,
    /// `managedidentity` as the publisher (`Microsoft.ManagedIdentity`, not followed by `/`:
    /// `Microsoft.ManagedIdentity/userAssignedIdentities` is a different resource type), an
    /// extension type (`ManagedIdentityExtensionFor...`) or the settings file
    /// (`ManagedIdentity-Settings`). `ManagedIdentityCredential`, `UseManagedIdentity` and the
    /// like are the SDKs' and other products' words, never a usage.
    ManagedIdentity,
    /// `identity` + a port word (`identity-port`, `identity_port`, `identityPort`...).
    IdentityPort,
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
            let start = m.start();
            match self.confirm[m.pattern().as_usize()] {
                Confirm::Always => true,
                Confirm::ManagedIdentity => managed_identity(bytes, start),
                Confirm::IdentityPort => around_eq(bytes, start, 6, b"identi"),
                Confirm::TokenPath => token_path(bytes, start),
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

/// `d` of `managed` is at `at`; `identity` follows it.
fn managed_identity(bytes: &[u8], at: usize) -> bool {
    if !around_eq(bytes, at, 6, b"managed") {
        return false;
    }
    let after = at + "didentity".len();
    let tail = &bytes[after.min(bytes.len())..];
    let starts = |word: &[u8]| {
        tail.get(..word.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(word))
    };
    if starts(b"extensionfor") || starts(b"-settings") {
        return true;
    }
    // The publisher: `Microsoft.ManagedIdentity` ending the word, but not the provider of
    // `Microsoft.ManagedIdentity/userAssignedIdentities`.
    around_eq(bytes, at, 16, b"microsoft.")
        && tail
            .first()
            .is_none_or(|&c| c != b'/' && c != b'_' && !c.is_ascii_alphanumeric())
}

fn token_path(bytes: &[u8], start: usize) -> bool {
    // `2/token` ends `oauth2/token`.
    if !around_eq(bytes, start, 5, b"oauth") {
        return false;
    }
    let path_start = start - 5;
    if around_eq(bytes, path_start, 19, b"/metadata/identity/") {
        return false;
    }
    let window = &bytes[path_start.saturating_sub(HOST_LOOKBACK)..path_start];
    contains_ci(window, b"localhost") || LOOPBACK.find(window).is_some()
}

/// Case-insensitive `needle` (lower-case ASCII) in `hay`, jumping between its first letter.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let first = needle[0];
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).any(|i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
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
            "publisher: 'Microsoft.ManagedIdentity'",
            "\"publisher\": \"Microsoft.ManagedIdentity\",",
            "[?publisher=='Microsoft.ManagedIdentity']",
            "PUB=Microsoft.ManagedIdentity",
            "managedidentityextensionforwindows",
            "MANAGEDIDENTITYEXTENSIONFORLINUX",
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
            "\"type\": \"Microsoft.ManagedIdentity/userAssignedIdentities\"",
            "var c = new ManagedIdentityCredential(clientId);",
            "useManagedIdentityExtension: true",
            "ManagedIdentityClientId = id",
            "--security-port 8443",
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

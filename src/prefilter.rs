//! Decides from a file's raw bytes whether any analyzer could find a usage in it, at about the
//! speed ripgrep reads: one case-sensitive multi-literal pass (SIMD "Teddy" in aho-corasick),
//! each hit confirmed by a cheap look around it.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Literals one of which every usage contains. The search is case-sensitive (case-insensitive
/// automata cannot use the SIMD searcher and are several times slower), so each word comes in
/// the spellings people write: `dIdentity` is inside `ManagedIdentity` and `managedIdentity`,
/// `didentity` inside `managedidentity`, `DIDENTITY` inside `MANAGEDIDENTITY`.
///
/// What the searcher costs depends on the set's shape more than on the text: it keeps its fast
/// form (8 buckets, 32 bytes a step) for at most [`FAST_LIMIT`] literals, and it tells candidates
/// apart by each literal's first four bytes only if no literal is shorter than four (one
/// three-byte literal made the whole pass four times slower). It proposes a candidate wherever a
/// literal's first four bytes occur, so those bytes are rare in Azure code: `iden`, `auth`,
/// `azur`, `2/to` (every AAD token URL) are on every page of an infrastructure repository;
/// `dIde`, `lhos`, `5034` are not. The confirmation then looks around the hit.
const LITERALS: &[(&str, Confirm)] = &[
    ("dIdentity", Confirm::ManagedIdentity),
    ("didentity", Confirm::ManagedIdentity),
    ("DIDENTITY", Confirm::ManagedIdentity),
    // A token URL on a loopback host, plain or encoded (`\/`, `%2F`, `&#x2F;`...: a host name is
    // never encoded), with the port computed or written: found from its host, which is far rarer
    // in Azure code than `oauth2/token`.
    ("lhost", Confirm::LoopbackToken),
    ("LHOST", Confirm::LoopbackToken),
    ("127.0.0.1", Confirm::LoopbackToken),
    // The port after `:`, `@` (`az login -u <subscription>@50342`) or an encoded colon.
    ("50342", Confirm::Port),
    // `--msi-port`, `az login --identity-port`, and settings that carry the extension's port
    // (`msi_port`, `identity_port`, `msi.port`, `identity.port`, `identityPort`, `msiPort`...).
    ("-port", Confirm::PortWord),
    ("-PORT", Confirm::PortWord),
    ("_port", Confirm::PortWord),
    ("_PORT", Confirm::PortWord),
    (".port", Confirm::PortWord),
    ("tyPort", Confirm::IdentityPort),
    // `si` + port is in no common word.
    ("siPort", Confirm::Always),
    ("SIPort", Confirm::Always),
    ("siport", Confirm::Always),
    ("SIPORT", Confirm::Always),
    // `az vm|vmss assign-identity --port N`: the CLI 2.0 command that installed the extension.
    ("n-identity", Confirm::Word(&[(5, "assign-identity")])),
    // Suppression comments: an unused one is reported even in a file with nothing else.
    ("imds-migrate:", Confirm::Always),
    // IMDS041: dependency manifests naming the credential libraries
    // (`rules/data/libraries.toml`, whose test checks each name gets through). Only a manifest
    // is read for versions: in code, where SDK imports are on every page, the names are no hit.
    ("msrestazure", Confirm::Manifest),
    ("ms_rest_azure", Confirm::Manifest),
    ("ms-rest-", Confirm::Manifest),
    ("go-autorest", Confirm::Manifest),
    ("t-authentication", Confirm::Manifest),
    // IMDS042: the credential calls, in any file.
    ("MSIA", Confirm::Word(&[(0, "MSIAuthentication")])),
    (
        "MSIT",
        Confirm::Word(&[(0, "MSITokenCredentials"), (0, "MSITokenProvider")]),
    ),
    ("MSIC", Confirm::Word(&[(0, "MSICredentials")])),
    (
        "MSIV",
        Confirm::Word(&[(0, "MSIVmTokenCredentials"), (3, "GetMSIVMEndpoint")]),
    ),
    // `loginWithMSI`, `loginWithVmMSI`, `ServicePrincipalTokenFromMSI`.
    ("hMSI", Confirm::Word(&[(8, "loginWithMSI")])),
    (
        "mMSI",
        Confirm::Word(&[(10, "loginWithVmMSI"), (24, "ServicePrincipalTokenFromMSI")]),
    ),
];

/// The most literals the searcher takes before it switches to its slower form (16 buckets, 16
/// bytes a step).
pub const FAST_LIMIT: usize = 32;

/// How far after its loopback host a token path may be (`"http://localhost:" + port +
/// "/oauth2/token"`).
const HOST_REACH: usize = 256;

/// Longer than any literal plus the confirmation's reach, for chunked searches: a hit whose
/// context one chunk cuts off is seen again, whole, at the start of the next chunk.
pub const OVERLAP: usize = HOST_REACH + 64;

#[derive(Clone, Copy, Debug)]
enum Confirm {
    Always,
    /// `managedidentity` as the publisher (`Microsoft.ManagedIdentity`, not followed by `/`:
    /// `Microsoft.ManagedIdentity/userAssignedIdentities` is a different resource type), an
    /// extension type (`ManagedIdentityExtensionFor...`) or the settings file
    /// (`ManagedIdentity-Settings`). `ManagedIdentityCredential`, `UseManagedIdentity` and the
    /// like are the SDKs' and other products' words, never a usage.
    ManagedIdentity,
    /// `identity` + a port word (`identityPort`).
    IdentityPort,
    /// `msi` or `identity` before the separator of `-port`, `_port`, `.port`.
    PortWord,
    /// A port number after `:`, `@` or an encoded colon (`%3A`, `\u003A`, `&#58;`), not inside
    /// a longer number.
    Port,
    /// A loopback host (`localhost`, `127.0.0.1`) with an `oauth2` token path within reach that
    /// is not IMDS's or Arc's own `/metadata/identity/oauth2/token`: no analyzer reports any
    /// other.
    LoopbackToken,
    /// One of these words, the literal `back` bytes into it.
    Word(&'static [(usize, &'static str)]),
    /// In a dependency manifest (the file's name says), where IMDS041 reads the name.
    Manifest,
}

#[derive(Clone, Debug)]
pub struct Prefilter {
    searcher: AhoCorasick,
    confirm: Vec<Confirm>,
}

impl Prefilter {
    /// `extra_ports`: configured ports, found like 50342.
    pub fn new(extra_ports: &[u16]) -> Self {
        let mut pats: Vec<String> = LITERALS.iter().map(|(p, _)| (*p).to_owned()).collect();
        let mut confirm: Vec<Confirm> = LITERALS.iter().map(|(_, c)| *c).collect();
        for port in extra_ports {
            // A port under 1000 is shorter than four bytes even with its colon: it slows the
            // search down, which only a configuration naming such a port pays for.
            let digits = port.to_string();
            pats.push(if digits.len() >= 4 {
                digits
            } else {
                format!(":{digits}")
            });
            confirm.push(Confirm::Port);
        }
        let searcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&pats)
            .expect("literals build an automaton");
        Prefilter { searcher, confirm }
    }

    /// True when `bytes` may hold a usage.
    #[cfg(test)]
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.matches_in(bytes, || true)
    }

    /// True when `bytes` may hold a usage; `manifest` says whether the file is a dependency
    /// manifest, asked only when the answer matters.
    pub fn matches_in(&self, bytes: &[u8], manifest: impl Fn() -> bool) -> bool {
        self.searcher.find_iter(bytes).any(|m| {
            let (start, end) = (m.start(), m.end());
            match self.confirm[m.pattern().as_usize()] {
                Confirm::Always => true,
                Confirm::ManagedIdentity => managed_identity(bytes, start),
                Confirm::IdentityPort => around_eq(bytes, start, 6, b"identi"),
                Confirm::PortWord => {
                    ends_with_ci(&bytes[..start], b"msi")
                        || ends_with_ci(&bytes[..start], b"identity")
                }
                Confirm::Port => port(bytes, start, end),
                Confirm::LoopbackToken => loopback_token(bytes, start, end),
                Confirm::Manifest => manifest(),
                Confirm::Word(words) => words.iter().any(|(back, word)| {
                    start
                        .checked_sub(*back)
                        .and_then(|s| bytes.get(s..s + word.len()))
                        .is_some_and(|w| w == word.as_bytes())
                }),
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

fn ends_with_ci(bytes: &[u8], word: &[u8]) -> bool {
    bytes.len() >= word.len() && bytes[bytes.len() - word.len()..].eq_ignore_ascii_case(word)
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

fn port(bytes: &[u8], start: usize, end: usize) -> bool {
    if bytes.get(end).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let before = &bytes[..start];
    // A configured short port carries its colon in the literal.
    if bytes[start] == b':' {
        return true;
    }
    // `:`, `@`, `&#58;` / `&colon;` (`;`), `%3A` / `\u003A` (`A`).
    match before.last() {
        Some(b':' | b'@' | b';') => true,
        Some(b'A' | b'a') => ends_with_ci(before, b"%3a") || ends_with_ci(before, b"\\u003a"),
        _ => false,
    }
}

/// A loopback host at `start..end` followed within [`HOST_REACH`] by an `oauth2` token path
/// that is its own (no other URL starts between them) and not a `/metadata/identity/` one.
fn loopback_token(bytes: &[u8], start: usize, end: usize) -> bool {
    if bytes[start] != b'1' && !around_eq(bytes, start, 4, b"loca") {
        return false;
    }
    let window = &bytes[end..(end + HOST_REACH).min(bytes.len())];
    let Some(path) = find_ci(window, b"oauth2") else {
        return false;
    };
    let between = &window[..path];
    // `token` after the plain or encoded separator (`/`, `\/`, `%2F`, `&#x2F;`, `\u002F`).
    let tail = &window[path + 6..];
    find_ci(&tail[..tail.len().min(12)], b"token").is_some()
        && memchr::memmem::find(between, b"//").is_none()
        && find_ci(between, b"%2f%2f").is_none()
        && find_ci(between, b"identity").is_none()
}

/// Case-insensitive `needle` (lower-case ASCII) in `hay`, jumping between its first letter.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).find(|&i| {
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
            "u = 'http://' + 'localhost:' + port + '/oauth2/token'",
            r"http:\u002F\u002Flocalhost:8080\u002Foauth2\u002Ftoken",
            "http:&#47;&#47;127.0.0.1:8080&#47;oauth2&#47;token",
            "az login --identity --MSI-PORT 1",
            "msi.port=50342",
            "identity.port: 50343",
            "HOST=localhost%3A50342",
            "ARM_MSI_ENDPOINT=http://127.0.0.1&#58;50342",
            "adal.NewServicePrincipalTokenFromMSIWithUserAssignedID(e, r, id)",
            "c = GetMSIVMEndpoint()",
            "msRestAzure.loginWithMSI()",
            "const c = new MSIVmTokenCredentials()",
            "MSITokenCredentials",
            "<artifactId>azure-client-authentication</artifactId>",
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
            "http://localhost:40342/metadata/identity/oauth2/token",
            "http%3A%2F%2Flocalhost%3A40342%2Fmetadata%2Fidentity%2Foauth2%2Ftoken",
            "dev = 'http://localhost:3000/'; aad = 'https://login.microsoftonline.com/t/oauth2/token'",
            "dev = 'http%3A%2F%2Flocalhost%3A3000%2F&u=https%3A%2F%2Flogin.microsoftonline.com%2Foauth2%2Ftoken'",
            "dev server on http://localhost:3000/api",
            "size = 150342; id = 503421; x = 50342",
            "--port 8080 --export-port 1 --http_port 2 server.port=3",
            "MSITest, MSIClientId, FromMSIX",
        ] {
            assert!(!hit(s), "{s}");
        }
    }

    #[test]
    fn library_names_count_in_manifests_only() {
        let pf = Prefilter::new(&[]);
        for s in [
            "import \"github.com/Azure/go-autorest/autorest/adal\"",
            "require 'ms_rest_azure'",
            "from msrestazure.azure_active_directory import AADTokenCredentials",
            "const msRest = require('ms-rest-azure');",
            "<artifactId>azure-client-authentication</artifactId>",
        ] {
            assert!(pf.matches_in(s.as_bytes(), || true), "{s}");
            assert!(!pf.matches_in(s.as_bytes(), || false), "{s}");
        }
        // A credential call is worth analyzing wherever it is.
        assert!(pf.matches_in(b"creds = MSIAuthentication()", || false));
    }

    #[test]
    fn extra_ports() {
        assert!(Prefilter::new(&[51234]).matches(b"endpoint = localhost:51234"));
        assert!(!Prefilter::new(&[51234]).matches(b"endpoint = localhost:512345"));
        assert!(!Prefilter::new(&[]).matches(b"endpoint = localhost:51234"));
        assert!(Prefilter::new(&[81]).matches(b"endpoint = localhost:81/"));
    }

    /// The searcher's fast form needs at most [`FAST_LIMIT`] literals, none shorter than four
    /// bytes: a literal added carelessly would make every scan several times slower.
    #[test]
    fn the_literals_keep_the_fast_searcher() {
        assert!(LITERALS.len() <= FAST_LIMIT, "{} literals", LITERALS.len());
        for (lit, _) in LITERALS {
            assert!(lit.len() >= 4, "{lit} is shorter than four bytes");
        }
    }
}

//! Credentials like the Azure SDKs' `DefaultAzureCredential`, against the emulator's token
//! endpoints: workload identity federation, certificate sign-in (the emulator checks the RS256
//! signature with the test certificate, made here with openssl), App Service and IMDS managed
//! identity with retries, the chain's order, and a static token that expires mid-run.

#[path = "support/arm_emulator.rs"]
mod arm_emulator;
#[path = "support/live_cli.rs"]
mod live_cli;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use arm_emulator::{Config, Emulator, mi};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use imds_migrate::live::auth::resolve_with;
use live_cli::{Live, SUB};
use serde_json::Value;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "0a1b2c3d-0000-4000-8000-000000000001";
const AUDIENCE: &str = "https://management.azure.com/";

/// `list` signed in with exactly `envs`, waits not shortened.
fn list(emu: &Emulator, envs: &[(&str, &str)]) -> live_cli::Output {
    Live::list(emu).credentials(envs).scale("1").run()
}

fn token_requests(emu: &Emulator) -> Vec<arm_emulator::Logged> {
    emu.log()
        .into_iter()
        .filter(|l| l.path.contains("/oauth2/") || l.path == "/msi/token")
        .collect()
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            let v = v.replace('+', " ");
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
    })
}

#[test]
fn workload_identity_signs_in_with_the_federated_token() {
    let federated = "eyJ.federated-SENTINEL-a1.sig";
    let emu = Emulator::start(Config {
        federated_tokens: vec![federated.to_owned()],
        ..Config::default()
    });
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{federated}\n")).unwrap();
    let envs = [
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
        // Managed identity is configured too: workload identity comes first.
        ("IMDS_ENDPOINT", emu.url.as_str()),
    ];
    // A token endpoint that fails for a moment is tried again.
    emu.fail_token_requests(&[503, 429]);
    let out = list(&emu, &envs);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reqs: Vec<_> = token_requests(&emu)
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert_eq!(token_requests(&emu).len(), 3);
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(
        form_value(&reqs[0].body, "client_assertion").as_deref(),
        Some(federated)
    );
    assert_eq!(
        form_value(&reqs[0].body, "client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(
        form_value(&reqs[0].body, "client_id").as_deref(),
        Some(CLIENT)
    );
    assert!(!out.stdout.contains(federated) && !out.stderr.contains(federated));

    // A token the issuer does not accept: exit 2, the AAD error, never the assertion.
    std::fs::write(&file, "eyJ.rejected-SENTINEL.sig").unwrap();
    let out = list(&emu, &envs);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("workload identity") && out.stderr.contains("invalid_client"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("rejected-SENTINEL"), "{}", out.stderr);
}

#[test]
fn workload_identity_rereads_the_token_file_on_refresh() {
    let (a, b) = ("eyJ.first-SENTINEL.sig", "eyJ.second-SENTINEL.sig");
    let emu = Emulator::start(Config {
        federated_tokens: vec![a.to_owned(), b.to_owned()],
        // Tokens that are always within the refresh margin: every use refreshes.
        token_lifetime: 1,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, a).unwrap();
    let vars: Vec<(&str, String)> = vec![
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
        ("AZURE_CLIENT_ID", CLIENT.to_owned()),
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_AUTHORITY_HOST", emu.url.clone()),
    ];
    let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let source = resolve_with(&env, None, "https://login.invalid", AUDIENCE, false).unwrap();
    assert_eq!(source.name, "workload identity");
    // Kubernetes rotates the projected token: the next refresh must send the new one.
    std::fs::write(&file, b).unwrap();
    assert_eq!(source.token().unwrap().expose(), emu.config.token);
    let sent: Vec<String> = token_requests(&emu)
        .iter()
        .filter_map(|r| form_value(&r.body, "client_assertion"))
        .collect();
    assert_eq!(sent, [a, b]);
}

fn ensure_openssl() {
    let ok = |c: &mut Command| c.output().is_ok_and(|o| o.status.success());
    if ok(Command::new("openssl").arg("version")) {
        return;
    }
    // CI machines start clean: install it (as root on Debian/Ubuntu) rather than skip.
    let installed = ok(Command::new("apt-get").args(["install", "-y", "-qq", "openssl"]))
        || (ok(Command::new("apt-get").args(["update", "-qq"]))
            && ok(Command::new("apt-get").args(["install", "-y", "-qq", "openssl"])));
    assert!(
        installed,
        "openssl is needed to make the test certificate and could not be installed"
    );
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct TestCertificate {
    /// Certificate + PKCS#8 key, and certificate + PKCS#1 key.
    pems: Vec<PathBuf>,
    public_key: Vec<u8>,
    x5t: String,
}

/// A fresh self-signed certificate and key in `dir` (never committed), its public key, and its
/// `x5t` computed from openssl's own SHA-1 fingerprint.
fn make_certificate(dir: &Path) -> TestCertificate {
    ensure_openssl();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=imds-migrate-test",
            "-days",
            "1",
        ],
    );
    openssl(
        dir,
        &["rsa", "-in", "key.pem", "-traditional", "-out", "key1.pem"],
    );
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "key.pem",
            "-RSAPublicKey_out",
            "-outform",
            "DER",
            "-out",
            "pub.der",
        ],
    );
    let fp = String::from_utf8(openssl(
        dir,
        &["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha1"],
    ))
    .unwrap();
    let hex = fp.trim().rsplit('=').next().unwrap().replace(':', "");
    let digest: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let cert = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
    let mut pems = Vec::new();
    for key in ["key.pem", "key1.pem"] {
        let p = dir.join(format!("combined-{key}"));
        std::fs::write(
            &p,
            format!("{}{cert}", std::fs::read_to_string(dir.join(key)).unwrap()),
        )
        .unwrap();
        pems.push(p);
    }
    TestCertificate {
        pems,
        public_key: std::fs::read(dir.join("pub.der")).unwrap(),
        x5t: URL_SAFE_NO_PAD.encode(digest),
    }
}

#[test]
fn certificate_sign_in_with_an_rs256_assertion() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_certificate(dir.path());
    let emu = Emulator::start(Config {
        certificate_public_key: Some(cert.public_key.clone()),
        certificate_x5t: cert.x5t.clone(),
        certificate_client_id: CLIENT.to_owned(),
        ..Config::default()
    });
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    for pem in &cert.pems {
        let envs = [
            ("AZURE_CLIENT_CERTIFICATE_PATH", pem.to_str().unwrap()),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
        ];
        let out = list(&emu, &envs);
        assert_eq!(out.code, 0, "{}: {}", pem.display(), out.stderr);
        let req = token_requests(&emu).pop().unwrap();
        let jwt = form_value(&req.body, "client_assertion").unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], cert.x5t.as_str());
        assert!(form_value(&req.body, "client_secret").is_none());
    }
    // Another client id: the assertion's iss/sub do not match the registration.
    let envs = [
        (
            "AZURE_CLIENT_CERTIFICATE_PATH",
            cert.pems[0].to_str().unwrap(),
        ),
        ("AZURE_CLIENT_ID", "someone-else"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
    ];
    let out = list(&emu, &envs);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("invalid_client"), "{}", out.stderr);
    assert!(!out.stderr.contains("PRIVATE KEY"));
}

#[test]
fn certificate_signed_by_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let registered = make_certificate(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let other = make_certificate(other_dir.path());
    // The emulator knows the registered key; the assertion names its thumbprint but is signed
    // with another key.
    let emu = Emulator::start(Config {
        certificate_public_key: Some(registered.public_key),
        certificate_x5t: other.x5t.clone(),
        certificate_client_id: CLIENT.to_owned(),
        ..Config::default()
    });
    let envs = [
        (
            "AZURE_CLIENT_CERTIFICATE_PATH",
            other.pems[0].to_str().unwrap(),
        ),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
    ];
    let out = list(&emu, &envs);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("service principal (certificate)"),
        "{}",
        out.stderr
    );
}

#[test]
fn app_service_managed_identity_is_retried_on_429_and_5xx() {
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.fail_token_requests(&[500, 429]);
    let endpoint = format!("{}/msi/token", emu.url);
    let header = emu.config.identity_header.clone();
    let out = list(
        &emu,
        &[
            ("IDENTITY_ENDPOINT", endpoint.as_str()),
            ("IDENTITY_HEADER", header.as_str()),
            ("IMDS_ENDPOINT", emu.url.as_str()),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reqs = token_requests(&emu);
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 429, 200]
    );
    assert!(
        reqs.iter()
            .all(|r| r.path == "/msi/token" && r.query.contains("api-version=2019-08-01"))
    );
    assert!(!out.stderr.contains(&header) && !out.stdout.contains(&header));
}

#[test]
fn imds_is_retried_and_comes_before_the_azure_cli() {
    use std::os::unix::fs::PermissionsExt;
    let emu = Emulator::start(Config::default());
    emu.add_vm(SUB, "rg", "vm1", vec![mi("msi")]);
    emu.fail_token_requests(&[503, 410, 429]);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("az-was-called");
    let az = dir.path().join("az");
    std::fs::write(
        &az,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let out = list(
        &emu,
        &[("IMDS_ENDPOINT", emu.url.as_str()), ("PATH", path.as_str())],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let statuses: Vec<u16> = token_requests(&emu).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 410, 429, 200]);
    assert!(
        !marker.exists(),
        "the Azure CLI was asked before managed identity"
    );
}

fn jwt_expiring_in(secs: u64) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs;
    format!(
        "{}.{}.sig-SENTINEL",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"aud":"{AUDIENCE}","exp":{exp}}}"#))
    )
}

#[test]
fn a_static_token_that_expires_mid_run_stops_it_with_one_message() {
    // Valid for about six seconds past the one-minute margin; ten removals take about twelve.
    let token = jwt_expiring_in(66);
    let emu = Emulator::start(Config {
        token: token.clone(),
        polls_before_done: 4,
        poll_retry_after: 1,
        ..Config::default()
    });
    for i in 0..10 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    let out = Live::remove_all(&emu)
        .args(&["--concurrency", "1"])
        .credentials(&[("AZURE_ACCESS_TOKEN", token.as_str())])
        .scale("0.25")
        .run();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr.matches("AZURE_ACCESS_TOKEN expired").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.log().iter().filter(|l| l.status == 401).count(),
        0,
        "401s were sent"
    );
    // The report is still printed.
    let outcomes = out.outcomes();
    assert!(outcomes.iter().any(|o| o == "removed"), "{outcomes:?}");
    assert!(outcomes.iter().any(|o| o == "interrupted"), "{outcomes:?}");
    assert!(!out.stderr.contains("sig-SENTINEL") && !out.stdout.contains("sig-SENTINEL"));

    // Already expired: nothing is sent at all.
    let expired = jwt_expiring_in(30);
    emu.clear_log();
    let out = list(&emu, &[("AZURE_ACCESS_TOKEN", expired.as_str())]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("AZURE_ACCESS_TOKEN expired"),
        "{}",
        out.stderr
    );
    assert!(emu.log().is_empty());
}

#[test]
fn an_opaque_token_rejected_mid_run_stops_it_without_a_storm_of_401s() {
    let emu = Emulator::start(Config::default());
    for i in 0..12 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    // Discovery (about 30 requests: VM and scale-set pages, 12 extension lists, 12 instance
    // views) and a few removals, then the token is refused.
    emu.expire_token_after(45);
    let out = Live::remove_all(&emu).args(&["--concurrency", "2"]).run();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let unauthorized = emu.log().iter().filter(|l| l.status == 401).count();
    assert!(
        (1..=2).contains(&unauthorized),
        "{unauthorized} requests were answered 401: one per worker at most"
    );
    assert_eq!(
        out.stderr.matches("authentication failed").count(),
        1,
        "{}",
        out.stderr
    );
    let doc: Value = serde_json::from_str(&out.stdout).expect("the report is still printed");
    assert!(doc["summary"]["interrupted"].as_u64().unwrap() > 0, "{doc}");
}

#[test]
fn tokens_are_refreshed_before_they_expire_during_a_run() {
    // Tokens that live five minutes and one second: inside the refresh margin after a second.
    let emu = Emulator::start(Config {
        token_lifetime: 301,
        polls_before_done: 4,
        poll_retry_after: 1,
        ..Config::default()
    });
    for i in 0..4 {
        emu.add_vm(SUB, "rg", &format!("vm{i}"), vec![mi("msi")]);
    }
    let secret = emu.config.client_secret.clone();
    let out = Live::remove_all(&emu)
        .args(&["--concurrency", "1"])
        .credentials(&[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", secret.as_str()),
            ("AZURE_AUTHORITY_HOST", emu.url.as_str()),
        ])
        .scale("0.25")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        token_requests(&emu).len() >= 3,
        "the token was not refreshed"
    );
    assert_eq!(emu.log().iter().filter(|l| l.status == 401).count(), 0);
}

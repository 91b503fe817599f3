//! Access tokens for ARM, found the way the Azure SDKs' `DefaultAzureCredential` finds them:
//! `AZURE_ACCESS_TOKEN` (ours), then the environment (a service principal with a secret or a
//! certificate), workload identity federation (`AZURE_FEDERATED_TOKEN_FILE`), managed identity
//! (App Service / Container Apps through `IDENTITY_ENDPOINT`, else IMDS), and the Azure CLI,
//! unless `--auth` picks one. Tokens are cached until five minutes before expiry, so long runs
//! refresh them as they go; a static token that expires stops the run with one message.
//! Tokens are never printed, logged or put in error messages: [`Secret`] has no `Display` and a
//! redacted `Debug`.

use std::{
    fmt,
    path::PathBuf,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

use super::{
    assertion::{self, Certificate},
    http::{self, check_endpoint, is_loopback, split_url},
    journal::timestamp,
};
use crate::{cli::live::AuthMethod, error::Error};

/// A token or a client secret. No `Display`; `Debug` shows nothing.
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Refresh this long before the token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// A static token with less than this left is not used: a request could outlive it.
const STATIC_MARGIN_SECS: u64 = 60;
/// Attempts at a managed-identity endpoint that answers 429 or 5xx (or IMDS's 404/410 while an
/// identity is being assigned or IMDS is updated).
const MI_ATTEMPTS: u32 = 5;
/// Attempts at the token endpoint when it answers 429 or 5xx or the connection fails.
const SIGN_IN_ATTEMPTS: u32 = 3;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What proves a service principal's identity at the token endpoint.
#[derive(Debug)]
enum Proof {
    Secret(Secret),
    Certificate(Box<Certificate>),
    /// Workload identity: a token from another issuer, re-read from the file at each refresh
    /// (Kubernetes and GitHub rotate it).
    FederatedTokenFile(PathBuf),
}

#[derive(Debug)]
enum Credential {
    /// `AZURE_ACCESS_TOKEN`; `expires` from its `exp` claim when it is a JWT.
    Static {
        expires: Option<u64>,
    },
    ClientCredentials {
        token_url: String,
        client_id: String,
        proof: Proof,
    },
    AzureCli,
    ManagedIdentity {
        url: String,
        /// App Service / Container Apps: `X-IDENTITY-HEADER`.
        identity_header: Option<Secret>,
    },
}

#[derive(Debug)]
struct Cached {
    token: Arc<Secret>,
    /// `None`: no known expiry (a static token).
    expires: Option<Instant>,
}

/// A credential and its cached token.
#[derive(Debug)]
pub struct TokenSource {
    credential: Credential,
    /// The ARM audience, e.g. `https://management.azure.com/`.
    resource: String,
    cache: Mutex<Option<Cached>>,
    pub name: &'static str,
}

impl TokenSource {
    /// A source that always returns `token` (tests, `AZURE_ACCESS_TOKEN`), until the expiry in
    /// its `exp` claim if it is a JWT.
    pub fn fixed(token: String) -> Self {
        TokenSource {
            credential: Credential::Static {
                expires: assertion::jwt_expiry(&token),
            },
            resource: String::new(),
            cache: Mutex::new(Some(Cached {
                token: Arc::new(Secret(token)),
                expires: None,
            })),
            name: "AZURE_ACCESS_TOKEN",
        }
    }

    /// Whether a 401 is worth a new token.
    pub fn refreshable(&self) -> bool {
        !matches!(self.credential, Credential::Static { .. })
    }

    pub fn invalidate(&self) {
        if self.refreshable() {
            *self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }

    /// The cached token, or a fresh one.
    pub fn token(&self) -> Result<Arc<Secret>, Error> {
        if let Credential::Static { expires: Some(exp) } = self.credential
            && now_epoch() + STATIC_MARGIN_SECS >= exp
        {
            return Err(Error::new(format!(
                "AZURE_ACCESS_TOKEN expired at {} (or expires within a minute): get a new token and run again",
                timestamp(UNIX_EPOCH + Duration::from_secs(exp))
            )));
        }
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = cache.as_ref()
            && c.expires
                .is_none_or(|e| e > Instant::now() + REFRESH_MARGIN)
        {
            return Ok(Arc::clone(&c.token));
        }
        let (token, lifetime) = match &self.credential {
            Credential::Static { .. } => {
                return Err(Error::new("AZURE_ACCESS_TOKEN was rejected or is empty"));
            }
            Credential::ClientCredentials {
                token_url,
                client_id,
                proof,
            } => client_credentials(token_url, client_id, proof, &self.resource)?,
            Credential::AzureCli => azure_cli(&self.resource)?,
            Credential::ManagedIdentity {
                url,
                identity_header,
            } => managed_identity(url, identity_header.as_ref())?,
        };
        let fresh = Arc::new(token);
        *cache = Some(Cached {
            token: Arc::clone(&fresh),
            expires: Some(Instant::now() + lifetime),
        });
        Ok(fresh)
    }
}

/// Picks the credential from the process environment: `method`, or the first that is
/// configured and works.
pub fn resolve(
    method: Option<AuthMethod>,
    login_host: &str,
    resource: &str,
    verbose: bool,
) -> Result<TokenSource, Error> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    resolve_with(&env, method, login_host, resource, verbose)
}

/// [`resolve`] with the environment looked up through `env` (tests pass a map).
pub fn resolve_with(
    env: &dyn Fn(&str) -> Option<String>,
    method: Option<AuthMethod>,
    login_host: &str,
    resource: &str,
    verbose: bool,
) -> Result<TokenSource, Error> {
    let make = |credential, name| TokenSource {
        credential,
        resource: resource.to_owned(),
        cache: Mutex::new(None),
        name,
    };
    let from_env = || {
        env("AZURE_ACCESS_TOKEN").map(|t| {
            let t = t.trim();
            // Accept a pasted `Bearer <token>` too.
            let t = match t.get(..7) {
                Some(p) if p.eq_ignore_ascii_case("bearer ") => t[7..].trim(),
                _ => t,
            };
            let mut s = TokenSource::fixed(t.to_owned());
            resource.clone_into(&mut s.resource);
            s
        })
    };
    let token_url = |tenant: &str| -> Result<String, Error> {
        let authority = env("AZURE_AUTHORITY_HOST").unwrap_or_else(|| login_host.to_owned());
        check_endpoint(&authority).map_err(|e| Error::new(format!("AZURE_AUTHORITY_HOST: {e}")))?;
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(Error::new("AZURE_TENANT_ID is not a tenant id or domain"));
        }
        Ok(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.trim_end_matches('/')
        ))
    };
    // Environment: a service principal with a secret, else with a certificate.
    let sp = || -> Result<Option<TokenSource>, Error> {
        let (Some(tenant), Some(client_id)) = (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"))
        else {
            return Ok(None);
        };
        let proof = if let Some(secret) = env("AZURE_CLIENT_SECRET") {
            Proof::Secret(Secret(secret))
        } else if let Some(path) = env("AZURE_CLIENT_CERTIFICATE_PATH") {
            let cert = Certificate::from_pem_file(path.as_ref())
                .map_err(|e| Error::new(format!("AZURE_CLIENT_CERTIFICATE_PATH: {e}")))?;
            Proof::Certificate(Box::new(cert))
        } else {
            return Ok(None);
        };
        let name = match proof {
            Proof::Certificate(_) => "service principal (certificate)",
            _ => "service principal",
        };
        Ok(Some(make(
            Credential::ClientCredentials {
                token_url: token_url(&tenant)?,
                client_id,
                proof,
            },
            name,
        )))
    };
    let workload = || -> Result<Option<TokenSource>, Error> {
        let (Some(file), Some(tenant), Some(client_id)) = (
            env("AZURE_FEDERATED_TOKEN_FILE"),
            env("AZURE_TENANT_ID"),
            env("AZURE_CLIENT_ID"),
        ) else {
            return Ok(None);
        };
        Ok(Some(make(
            Credential::ClientCredentials {
                token_url: token_url(&tenant)?,
                client_id,
                proof: Proof::FederatedTokenFile(file.into()),
            },
            "workload identity",
        )))
    };
    let mi = || -> Result<TokenSource, Error> {
        let client_id = env("AZURE_CLIENT_ID")
            .map(|id| format!("&client_id={}", encode(&id)))
            .unwrap_or_default();
        // App Service and Container Apps (Service Fabric adds a server thumbprint: not this).
        if let (Some(endpoint), Some(header), None) = (
            env("IDENTITY_ENDPOINT"),
            env("IDENTITY_HEADER"),
            env("IDENTITY_SERVER_THUMBPRINT"),
        ) {
            check_identity_endpoint(&endpoint)
                .map_err(|e| Error::new(format!("IDENTITY_ENDPOINT: {e}")))?;
            let sep = if endpoint.contains('?') { '&' } else { '?' };
            return Ok(make(
                Credential::ManagedIdentity {
                    url: format!(
                        "{endpoint}{sep}api-version=2019-08-01&resource={}{client_id}",
                        encode(resource)
                    ),
                    identity_header: Some(Secret(header)),
                },
                "managed identity (App Service)",
            ));
        }
        let base = env("IMDS_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".to_owned());
        let (origin, _) =
            split_url(&base).map_err(|e| Error::new(format!("IMDS_ENDPOINT: {e}")))?;
        if !(is_loopback(&origin.host) || origin.host == "169.254.169.254") {
            return Err(Error::new(
                "IMDS_ENDPOINT must be 169.254.169.254 or a loopback address",
            ));
        }
        Ok(make(
            Credential::ManagedIdentity {
                url: format!(
                    "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}{client_id}",
                    base.trim_end_matches('/'),
                    encode(resource)
                ),
                identity_header: None,
            },
            "managed identity",
        ))
    };
    let az = || make(Credential::AzureCli, "Azure CLI");
    let source = match method {
        Some(AuthMethod::Env) => {
            from_env().ok_or_else(|| Error::new("--auth env: AZURE_ACCESS_TOKEN is not set"))?
        }
        Some(AuthMethod::ServicePrincipal) => sp()?.ok_or_else(|| {
            Error::new(
                "--auth service-principal: set AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                 AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH",
            )
        })?,
        Some(AuthMethod::WorkloadIdentity) => workload()?.ok_or_else(|| {
            Error::new(
                "--auth workload-identity: set AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID",
            )
        })?,
        Some(AuthMethod::AzureCli) => az(),
        Some(AuthMethod::ManagedIdentity) => mi()?,
        None => {
            // A credential whose variables are set is used (and its errors reported); managed
            // identity and the CLI are tried in turn.
            if let Some(s) = from_env() {
                s
            } else if let Some(s) = sp()? {
                s
            } else if let Some(s) = workload()? {
                s
            } else {
                let m = mi()?;
                match m.token() {
                    Ok(_) => m,
                    Err(mi_err) => {
                        let cli = az();
                        match cli.token() {
                            Ok(_) => cli,
                            Err(cli_err) => {
                                return Err(Error::new(format!(
                                    "no credential found: AZURE_ACCESS_TOKEN is not set; \
                                     AZURE_TENANT_ID/AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or \
                                     AZURE_CLIENT_CERTIFICATE_PATH are not set; \
                                     AZURE_FEDERATED_TOKEN_FILE is not set; \
                                     managed identity: {mi_err}; Azure CLI: {cli_err}"
                                )));
                            }
                        }
                    }
                }
            }
        }
    };
    // Fail early (exit 2) when the credential cannot give a token at all.
    source
        .token()
        .map_err(|e| Error::new(format!("{}: {e}", source.name)))?;
    if verbose {
        crate::note!("imds-migrate: authenticating with {}", source.name);
    }
    Ok(source)
}

/// App Service and Container Apps serve managed identity on the host itself: loopback, or a
/// link-local address (169.254.0.0/16) on App Service for Linux. Plain http only there.
fn check_identity_endpoint(url: &str) -> Result<(), String> {
    let (origin, _) = split_url(url)?;
    let link_local = origin
        .host
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_link_local());
    if link_local || is_loopback(&origin.host) {
        return Ok(());
    }
    check_endpoint(url).map(|_| ())
}

/// Percent-encoding for query values and form fields.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn lifetime_from(v: &Value, key: &str) -> Option<Duration> {
    let x = v.get(key)?;
    let secs = x
        .as_u64()
        .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))?;
    Some(Duration::from_secs(secs))
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An error message from a token endpoint: its `error` code and the first line of its
/// description, with `secret` scrubbed should the server echo it.
fn token_error(what: &str, status: u16, body: &str, secret: Option<&Secret>) -> Error {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v.get("error").and_then(Value::as_str).unwrap_or_default();
    let desc = v
        .get("error_description")
        .and_then(Value::as_str)
        .and_then(|d| d.lines().next())
        .unwrap_or_default();
    let mut msg = format!("{what}: HTTP {status} {code} {desc}")
        .trim()
        .to_owned();
    if let Some(s) = secret
        && !s.0.is_empty()
    {
        msg = msg.replace(&s.0, "***");
    }
    Error::new(msg)
}

fn take_token(v: &mut Value, key: &str) -> Option<Secret> {
    match v.get_mut(key).map(Value::take) {
        Some(Value::String(s)) if !s.is_empty() => Some(Secret(s)),
        _ => None,
    }
}

/// The client-credentials grant at `token_url`, proven by a secret, a certificate assertion or a
/// federated token.
fn client_credentials(
    token_url: &str,
    client_id: &str,
    proof: &Proof,
    resource: &str,
) -> Result<(Secret, Duration), Error> {
    let (origin, _) = split_url(token_url).map_err(Error::new)?;
    let agent = http::agent(Duration::from_secs(60), is_loopback(&origin.host));
    let scope = format!("{}/.default", resource.trim_end_matches('/'));
    let what = format!("sign-in at {}", http::path_of(token_url));
    let credential = match proof {
        Proof::Secret(s) => Secret(s.expose().to_owned()),
        Proof::Certificate(cert) => Secret(
            cert.assertion(token_url, client_id, now_epoch())
                .map_err(|e| Error::new(format!("{what}: {e}")))?,
        ),
        Proof::FederatedTokenFile(path) => {
            let t = std::fs::read_to_string(path).map_err(|e| {
                Error::new(format!(
                    "AZURE_FEDERATED_TOKEN_FILE {}: cannot read: {e}",
                    path.display()
                ))
            })?;
            let t = t.trim();
            if t.is_empty() {
                return Err(Error::new(format!(
                    "AZURE_FEDERATED_TOKEN_FILE {} is empty",
                    path.display()
                )));
            }
            Secret(t.to_owned())
        }
    };
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope.as_str()),
    ];
    match proof {
        Proof::Secret(_) => form.push(("client_secret", credential.expose())),
        Proof::Certificate(_) | Proof::FederatedTokenFile(_) => {
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", credential.expose()));
        }
    }
    // A sign-in that fails for a moment (429, 5xx, a dropped connection) is tried again: on a
    // long run a refresh failure would otherwise stop everything.
    let mut attempt = 0;
    let resp = loop {
        attempt += 1;
        let result = http::read_response(agent.post(token_url).send_form(form.iter().copied()));
        let again = attempt < SIGN_IN_ATTEMPTS;
        match result {
            Ok(r) if again && (r.status == 429 || (500..600).contains(&r.status)) => {
                std::thread::sleep(
                    r.retry_after()
                        .map_or(Duration::from_secs(1 << attempt), |d| {
                            d.min(Duration::from_secs(30))
                        }),
                );
            }
            Ok(r) => break r,
            Err(_) if again => std::thread::sleep(Duration::from_secs(1 << attempt)),
            Err(e) => {
                let e = e.replace(credential.expose(), "***");
                return Err(Error::new(format!("{what}: {e}")));
            }
        }
    };
    if resp.status != 200 {
        return Err(token_error(
            &what,
            resp.status,
            &resp.body,
            Some(&credential),
        ));
    }
    let mut v: Value = serde_json::from_str(&resp.body)
        .map_err(|_| Error::new(format!("{what}: response is not JSON")))?;
    let token = take_token(&mut v, "access_token")
        .ok_or_else(|| Error::new(format!("{what}: no access_token in the response")))?;
    let lifetime = lifetime_from(&v, "expires_in").unwrap_or(Duration::from_secs(3600));
    Ok((token, lifetime))
}

fn azure_cli(resource: &str) -> Result<(Secret, Duration), Error> {
    let program = if cfg!(windows) { "az.cmd" } else { "az" };
    let out = Command::new(program)
        .args([
            "account",
            "get-access-token",
            "--resource",
            resource,
            "--output",
            "json",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run `az`: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(Error::new(format!(
            "`az account get-access-token` failed ({}): {first}",
            out.status
        )));
    }
    let mut v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| Error::new("`az account get-access-token` did not print JSON"))?;
    let token = take_token(&mut v, "accessToken")
        .ok_or_else(|| Error::new("`az account get-access-token` printed no accessToken"))?;
    let lifetime = lifetime_from(&v, "expires_on")
        // Older CLIs give only a local time string: ask again in ten minutes.
        .map_or(Duration::from_secs(600), |at| {
            at.saturating_sub(Duration::from_secs(now_epoch()))
        });
    Ok((token, lifetime))
}

/// IMDS, or App Service / Container Apps when `identity_header` is set. 429 and 5xx (and, from
/// IMDS, 404 and 410) are retried with backoff, honouring `Retry-After`; a connection that
/// fails is not (there is no managed identity here, and the next credential should be tried).
fn managed_identity(
    url: &str,
    identity_header: Option<&Secret>,
) -> Result<(Secret, Duration), Error> {
    // IMDS is link-local and must not go through a proxy; App Service's endpoint is local too.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let what = if identity_header.is_some() {
        "managed identity (IDENTITY_ENDPOINT)"
    } else {
        "managed identity (IMDS)"
    };
    let mut attempt = 0;
    let resp = loop {
        attempt += 1;
        let req = agent.get(url);
        let result = match identity_header {
            Some(h) => req.header("X-IDENTITY-HEADER", h.expose()).call(),
            None => req.header("Metadata", "true").call(),
        };
        let resp = http::read_response(result).map_err(|e| {
            let e = match identity_header {
                Some(h) => e.replace(h.expose(), "***"),
                None => e,
            };
            Error::new(format!("{what}: {e}"))
        })?;
        let retry = resp.status == 429
            || (500..600).contains(&resp.status)
            || (identity_header.is_none() && matches!(resp.status, 404 | 410));
        if !retry || attempt >= MI_ATTEMPTS {
            break resp;
        }
        let backoff = Duration::from_secs(1 << (attempt - 1));
        std::thread::sleep(
            resp.retry_after()
                .map_or(backoff, |d| d.min(Duration::from_secs(30))),
        );
    };
    if resp.status != 200 {
        return Err(token_error(what, resp.status, &resp.body, identity_header));
    }
    let mut v: Value = serde_json::from_str(&resp.body)
        .map_err(|_| Error::new(format!("{what}: response is not JSON")))?;
    let token = take_token(&mut v, "access_token")
        .ok_or_else(|| Error::new(format!("{what}: no access_token in the response")))?;
    let lifetime = lifetime_from(&v, "expires_in")
        .or_else(|| {
            lifetime_from(&v, "expires_on")
                .map(|at| at.saturating_sub(Duration::from_secs(now_epoch())))
        })
        .unwrap_or(Duration::from_secs(600));
    Ok((token, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret("eyJhbGciOi.secret".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let t = TokenSource::fixed("tok-123".into());
        assert!(!format!("{t:?}").contains("tok-123"));
    }

    #[test]
    fn token_errors_scrub_secrets() {
        let s = Secret("hunter2".into());
        let e = token_error(
            "x",
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret hunter2\nTrace"}"#,
            Some(&s),
        );
        assert!(!e.message.contains("hunter2"));
        assert!(e.message.contains("AADSTS7000215"));
    }

    #[test]
    fn identity_endpoints_are_local() {
        assert!(check_identity_endpoint("http://127.0.0.1:41741/MSI/token/").is_ok());
        assert!(check_identity_endpoint("http://169.254.129.3:8081/msi/token").is_ok());
        assert!(check_identity_endpoint("http://localhost:42356/msi/token").is_ok());
        assert!(check_identity_endpoint("http://10.0.0.4/msi/token").is_err());
    }

    #[test]
    fn encodes() {
        assert_eq!(
            encode("https://management.azure.com/"),
            "https%3A%2F%2Fmanagement.azure.com%2F"
        );
    }
}

//! Access tokens for ARM: `AZURE_ACCESS_TOKEN`, a service principal (client credentials), the
//! Azure CLI, or the managed identity of the machine (IMDS), in that order unless `--auth` picks
//! one. Tokens are cached until five minutes before expiry, and never printed, logged or put in
//! error messages: [`Secret`] has no `Display` and a redacted `Debug`.

use std::{
    fmt,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

use super::http::{self, check_endpoint, is_loopback, split_url};
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

#[derive(Debug)]
enum Credential {
    Static,
    ServicePrincipal {
        token_url: String,
        client_id: String,
        secret: Secret,
    },
    AzureCli,
    ManagedIdentity {
        url: String,
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
    /// A source that always returns `token` (tests, `AZURE_ACCESS_TOKEN`).
    pub fn fixed(token: String) -> Self {
        TokenSource {
            credential: Credential::Static,
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
        !matches!(self.credential, Credential::Static)
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
            Credential::Static => {
                return Err(Error::new("AZURE_ACCESS_TOKEN was rejected or is empty"));
            }
            Credential::ServicePrincipal {
                token_url,
                client_id,
                secret,
            } => service_principal(token_url, client_id, secret, &self.resource)?,
            Credential::AzureCli => azure_cli(&self.resource)?,
            Credential::ManagedIdentity { url } => managed_identity(url)?,
        };
        let fresh = Arc::new(token);
        *cache = Some(Cached {
            token: Arc::clone(&fresh),
            expires: Some(Instant::now() + lifetime),
        });
        Ok(fresh)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Picks the credential: `method`, or the first that is configured and works.
pub fn resolve(
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
    let sp = || -> Result<Option<TokenSource>, Error> {
        let (Some(tenant), Some(client_id), Some(secret)) = (
            env("AZURE_TENANT_ID"),
            env("AZURE_CLIENT_ID"),
            env("AZURE_CLIENT_SECRET"),
        ) else {
            return Ok(None);
        };
        let authority = env("AZURE_AUTHORITY_HOST").unwrap_or_else(|| login_host.to_owned());
        check_endpoint(&authority).map_err(|e| Error::new(format!("AZURE_AUTHORITY_HOST: {e}")))?;
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(Error::new("AZURE_TENANT_ID is not a tenant id or domain"));
        }
        let token_url = format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.trim_end_matches('/')
        );
        Ok(Some(make(
            Credential::ServicePrincipal {
                token_url,
                client_id,
                secret: Secret(secret),
            },
            "service principal",
        )))
    };
    let mi = || -> Result<TokenSource, Error> {
        let base = env("IMDS_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".to_owned());
        let (origin, _) =
            split_url(&base).map_err(|e| Error::new(format!("IMDS_ENDPOINT: {e}")))?;
        if !(is_loopback(&origin.host) || origin.host == "169.254.169.254") {
            return Err(Error::new(
                "IMDS_ENDPOINT must be 169.254.169.254 or a loopback address",
            ));
        }
        let mut url = format!(
            "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}",
            base.trim_end_matches('/'),
            encode(resource)
        );
        if let Some(id) = env("AZURE_CLIENT_ID") {
            url.push_str(&format!("&client_id={}", encode(&id)));
        }
        Ok(make(
            Credential::ManagedIdentity { url },
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
                "--auth service-principal: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
            )
        })?,
        Some(AuthMethod::AzureCli) => az(),
        Some(AuthMethod::ManagedIdentity) => mi()?,
        None => {
            if let Some(s) = from_env() {
                s
            } else if let Some(s) = sp()? {
                s
            } else {
                let cli = az();
                match cli.token() {
                    Ok(_) => cli,
                    Err(cli_err) => {
                        let m = mi()?;
                        match m.token() {
                            Ok(_) => m,
                            Err(mi_err) => {
                                return Err(Error::new(format!(
                                    "no credential found: AZURE_ACCESS_TOKEN is not set; \
                                     AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET are not all set; \
                                     Azure CLI: {cli_err}; managed identity: {mi_err}"
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
        eprintln!("imds-migrate: authenticating with {}", source.name);
    }
    Ok(source)
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

fn service_principal(
    token_url: &str,
    client_id: &str,
    secret: &Secret,
    resource: &str,
) -> Result<(Secret, Duration), Error> {
    let (origin, _) = split_url(token_url).map_err(Error::new)?;
    let agent = http::agent(Duration::from_secs(60), is_loopback(&origin.host));
    let scope = format!("{}/.default", resource.trim_end_matches('/'));
    let result = agent.post(token_url).send_form([
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret.expose()),
        ("scope", scope.as_str()),
    ]);
    let what = format!("service principal sign-in at {}", http::path_of(token_url));
    let resp = http::read_response(result).map_err(|e| {
        let e = e.replace(secret.expose(), "***");
        Error::new(format!("{what}: {e}"))
    })?;
    if resp.status != 200 {
        return Err(token_error(&what, resp.status, &resp.body, Some(secret)));
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

fn managed_identity(url: &str) -> Result<(Secret, Duration), Error> {
    // IMDS is link-local and must not go through a proxy.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let result = agent.get(url).header("Metadata", "true").call();
    let what = "managed identity (IMDS)";
    let resp = http::read_response(result).map_err(|e| Error::new(format!("{what}: {e}")))?;
    if resp.status != 200 {
        return Err(token_error(what, resp.status, &resp.body, None));
    }
    let mut v: Value = serde_json::from_str(&resp.body)
        .map_err(|_| Error::new(format!("{what}: response is not JSON")))?;
    let token = take_token(&mut v, "access_token")
        .ok_or_else(|| Error::new(format!("{what}: no access_token in the response")))?;
    let lifetime = lifetime_from(&v, "expires_in").unwrap_or(Duration::from_secs(600));
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
    fn encodes() {
        assert_eq!(
            encode("https://management.azure.com/"),
            "https%3A%2F%2Fmanagement.azure.com%2F"
        );
    }
}

//! The HTTP primitives that the ARM client and the credential code share: URL splitting and
//! endpoint checks, the agent (no redirects, no proxy on loopback), and reading a response.

use std::{fmt, time::Duration};

use serde_json::Value;

/// Where a URL points: scheme, lower-case host, port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Splits `url` into its origin and the rest (path and query, starting with `/`).
pub fn split_url(url: &str) -> Result<(Origin, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{}` is not an absolute URL", redact_query(url)))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(format!("unsupported URL scheme `{scheme}`")),
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.contains('@') {
        return Err("URLs with user information are not accepted".to_owned());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| "malformed IPv6 host".to_owned())?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port `{p}`"))?,
            None => default_port,
        };
        (h.to_ascii_lowercase(), port)
    } else if let Some((h, p)) = authority.rsplit_once(':') {
        (
            h.to_ascii_lowercase(),
            p.parse().map_err(|_| format!("bad port `{p}`"))?,
        )
    } else {
        (authority.to_ascii_lowercase(), default_port)
    };
    if host.is_empty() {
        return Err("URL without a host".to_owned());
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok((Origin { scheme, host, port }, path))
}

/// `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Checks that an endpoint given by the user may carry a token: https, or http on loopback.
pub fn check_endpoint(url: &str) -> Result<Origin, String> {
    let (origin, _) = split_url(url)?;
    if origin.scheme == "http" && !is_loopback(&origin.host) {
        return Err(format!(
            "refusing plain http:// for `{}`: only loopback addresses may use http",
            origin.host
        ));
    }
    Ok(origin)
}

/// A URL without its query string, for messages (queries may carry skip tokens).
pub fn redact_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// The path part of a URL, for messages.
pub fn path_of(url: &str) -> String {
    match split_url(url) {
        Ok((_, p)) => redact_query(&p).to_owned(),
        Err(_) => redact_query(url).to_owned(),
    }
}

/// One HTTP response, read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `{"error":{"code":..,"message":..}}`, ARM's error body.
    pub fn arm_error(&self) -> (String, String) {
        let v = self.json().unwrap_or(Value::Null);
        let e = v.get("error").unwrap_or(&v);
        let code = e
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let message = e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (code, message)
    }

    /// `Retry-After` in seconds (delta-seconds form only; dates fall back to backoff).
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.header("retry-after")?.trim();
        let secs: f64 = v.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))
    }
}

/// A host as it appears in a URL authority (IPv6 in brackets).
pub fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// A ureq agent that never turns statuses into errors and never follows redirects (a redirect
/// could carry the token elsewhere). Proxies from the environment apply, except on loopback.
pub fn agent(timeout: Duration, loopback: bool) -> ureq::Agent {
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .timeout_connect(Some(Duration::from_secs(15)))
        .user_agent(concat!("imds-migrate/", env!("CARGO_PKG_VERSION")));
    if loopback {
        cfg = cfg.proxy(None);
    }
    cfg.build().into()
}

/// Reads a ureq result into a [`Response`] (bodies up to 32 MiB).
pub fn read_response(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Response, String> {
    let mut resp = result.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(32 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("cannot read response body: {e}"))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (o, p) =
            split_url("https://Management.Azure.com/subscriptions/x?api-version=1").unwrap();
        assert_eq!(o.host, "management.azure.com");
        assert_eq!(o.port, 443);
        assert_eq!(p, "/subscriptions/x?api-version=1");
        let (o, p) = split_url("http://127.0.0.1:8080").unwrap();
        assert_eq!((o.port, p.as_str()), (8080, "/"));
        assert!(split_url("https://user@evil.com/").is_err());
        let (o, _) = split_url("http://[::1]:9/x").unwrap();
        assert_eq!(o.host, "::1");
    }

    #[test]
    fn http_only_on_loopback() {
        assert!(check_endpoint("http://127.0.0.1:1234").is_ok());
        assert!(check_endpoint("http://localhost:1234").is_ok());
        assert!(check_endpoint("http://[::1]:1234").is_ok());
        assert!(check_endpoint("http://management.azure.com").is_err());
        assert!(check_endpoint("http://10.0.0.1").is_err());
        assert!(check_endpoint("https://management.azure.com").is_ok());
        assert!(check_endpoint("ftp://x").is_err());
    }
}

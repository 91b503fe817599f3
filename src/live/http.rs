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

    /// `Retry-After`: delta-seconds, or an HTTP date (how long from now; a date in the past
    /// means at once). Capped at ten minutes.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.header("retry-after")?.trim();
        let d = if let Ok(secs) = v.parse::<f64>() {
            (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))?
        } else {
            let at = parse_http_date(v)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            Duration::from_secs(at.saturating_sub(now))
        };
        Some(d.min(Duration::from_secs(600)))
    }

    /// Resource Graph's `x-ms-user-quota-resets-after` (`hh:mm:ss`).
    pub fn quota_resets_after(&self) -> Option<Duration> {
        let v = self.header("x-ms-user-quota-resets-after")?.trim();
        let mut parts = v.split(':').map(|p| p.trim().parse::<f64>().ok());
        let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
        if parts.next().is_some() {
            return None;
        }
        let secs = h * 3600.0 + m * 60.0 + s;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))
    }
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110
/// requires senders to use.
pub fn parse_http_date(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let rest = text.split_once(',').map_or(text, |(_, r)| r).trim();
    let mut words = rest.split_ascii_whitespace();
    let day: i64 = words.next()?.parse().ok()?;
    let month_name = words.next()?;
    let year: i64 = words.next()?.parse().ok()?;
    let clock = words.next()?;
    if !words.next()?.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let month = i64::try_from(
        MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(month_name))?,
    )
    .ok()?
        + 1;
    let mut hms = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || !(0..=23).contains(&hour) || !(0..=59).contains(&minute) {
        return None;
    }
    if !(0..=60).contains(&second) {
        return None;
    }
    let at = crate::civil::Civil {
        year,
        month: u32::try_from(month).ok()?,
        day: u32::try_from(day).ok()?,
        hour: u32::try_from(hour).ok()?,
        minute: u32::try_from(minute).ok()?,
        second: u32::try_from(second).ok()?,
    };
    u64::try_from(at.to_unix()).ok()
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
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sat, 29 Feb 2020 12:00:00 GMT"),
            Some(1_582_977_600)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        let resp = |name: &str, v: &str| Response {
            status: 429,
            headers: vec![(name.to_owned(), v.to_owned())],
            body: String::new(),
        };
        assert_eq!(
            resp("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT").retry_after(),
            Some(Duration::ZERO)
        );
        assert_eq!(
            resp("retry-after", "7").retry_after(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            resp("x-ms-user-quota-resets-after", "00:00:05").quota_resets_after(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            resp("x-ms-user-quota-resets-after", "5").quota_resets_after(),
            None
        );
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

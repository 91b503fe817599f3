//! The ARM client: a thin blocking client over `ureq` (rustls), on the primitives in `http`.
//!
//! It retries 429 and 5xx (honouring `Retry-After`, else capped exponential backoff with
//! jitter), paces itself by the `x-ms-ratelimit-remaining-*` headers, follows `nextLink`,
//! polls long-running operations, and pins the bearer token to the configured ARM origin:
//! a `nextLink` or polling URL that points elsewhere is refused, and redirects are never
//! followed.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{
    auth::TokenSource,
    http::{
        Origin, Response, agent, bracket, check_endpoint, is_loopback, path_of, read_response,
        split_url,
    },
    interrupt::{Reason, Stop},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// 401, or no token could be obtained: ends the run (exit 2).
    Auth,
    /// A URL that points away from ARM (or is malformed).
    Refused,
    /// Network error after every retry.
    Transport,
    /// An HTTP error status.
    Status,
    /// A body that is not what ARM returns.
    Malformed,
    /// A long-running operation did not end in time.
    Timeout,
    /// ARM's host does not resolve or refuses connections, and never answered in this run:
    /// ends the run (exit 2) at once instead of retrying for minutes.
    Unreachable,
    /// Not sent: the run was halted (signal, credential failure, journal failure).
    Interrupted,
}

/// What went wrong with one request: method, path (never a token, never a query), status, ARM code.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub method: &'static str,
    pub path: String,
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn new(kind: ApiErrorKind, method: &'static str, url: &str, message: String) -> Self {
        ApiError {
            kind,
            method,
            path: path_of(url),
            status: None,
            code: String::new(),
            message,
        }
    }

    pub fn from_response(method: &'static str, url: &str, resp: &Response) -> Self {
        let (code, message) = resp.arm_error();
        ApiError {
            kind: if resp.status == 401 {
                ApiErrorKind::Auth
            } else {
                ApiErrorKind::Status
            },
            method,
            path: path_of(url),
            status: Some(resp.status),
            code,
            message,
        }
    }

    /// A short description without method and path, for result lines.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.status {
            s.push_str(&format!("HTTP {st}"));
        }
        if !self.code.is_empty() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&self.code);
        }
        if !self.message.is_empty() {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&self.message);
        }
        s
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.summary())
    }
}

/// Timing knobs; tests shrink them with `time_scale`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub time_scale: f64,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub request_timeout: Duration,
    pub verbose: bool,
    /// Refuse every write (dry runs): only GETs and Resource Graph queries go out.
    pub read_only: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            time_scale: 1.0,
            max_attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            verbose: false,
            read_only: true,
        }
    }
}

impl ClientConfig {
    pub fn scaled(&self, d: Duration) -> Duration {
        if (self.time_scale - 1.0).abs() < f64::EPSILON {
            d
        } else {
            Duration::from_secs_f64((d.as_secs_f64() * self.time_scale).max(0.0))
        }
    }

    /// Capped exponential backoff with jitter in [d/2, d].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.backoff_cap);
        let half = exp / 2;
        half + Duration::from_secs_f64(half.as_secs_f64() * fastrand::f64())
    }
}

/// Counters for the summary and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    pub throttled: AtomicU64,
    pub retried: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    Read,
    Write,
    Delete,
}

#[derive(Debug)]
struct Lane {
    next_slot: Instant,
    paused_until: Instant,
    interval: Duration,
}

/// Spaces requests per (subscription, read/write/delete) by what ARM says is left in its bucket,
/// and makes every worker wait when one of them is told 429.
#[derive(Debug, Default)]
struct Pacer {
    lanes: Mutex<HashMap<(String, Class), Lane>>,
}

/// Below this many remaining requests we start spacing requests out.
const SOFT_REMAINING: f64 = 100.0;
/// Spacing when nothing is left.
const MAX_INTERVAL: Duration = Duration::from_secs(1);

impl Pacer {
    fn wait_turn(&self, key: &(String, Class)) -> Duration {
        let now = Instant::now();
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lane = lanes.entry(key.clone()).or_insert(Lane {
            next_slot: now,
            paused_until: now,
            interval: Duration::ZERO,
        });
        let start = lane.next_slot.max(lane.paused_until).max(now);
        lane.next_slot = start + lane.interval;
        start - now
    }

    fn observe(&self, key: &(String, Class), remaining: Option<u64>, scale: f64) {
        let Some(remaining) = remaining else { return };
        let r = remaining as f64;
        let interval = if r >= SOFT_REMAINING {
            Duration::ZERO
        } else {
            let x = (SOFT_REMAINING - r) / SOFT_REMAINING;
            Duration::from_secs_f64(MAX_INTERVAL.as_secs_f64() * x * x * scale)
        };
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lane) = lanes.get_mut(key) {
            lane.interval = interval;
        }
    }

    fn pause(&self, key: &(String, Class), d: Duration) {
        let until = Instant::now() + d;
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lane) = lanes.get_mut(key) {
            lane.paused_until = lane.paused_until.max(until);
        }
    }
}

/// Smallest count in the `x-ms-ratelimit-remaining-*` headers that apply to `class`.
fn remaining_for(resp: &Response, class: Class) -> Option<u64> {
    let word = match class {
        Class::Read => "reads",
        Class::Write => "writes",
        Class::Delete => "deletes",
    };
    let mut min: Option<u64> = None;
    for (name, value) in &resp.headers {
        let Some(rest) = name.strip_prefix("x-ms-ratelimit-remaining-") else {
            continue;
        };
        let values: Vec<u64> = if rest == "resource" {
            // "Microsoft.Compute/GetVM3Min;239,Microsoft.Compute/GetVM30Min;1189"
            value
                .split(',')
                .filter_map(|part| part.rsplit(';').next()?.trim().parse().ok())
                .collect()
        } else if rest.ends_with(word) {
            value.trim().parse().ok().into_iter().collect()
        } else {
            continue;
        };
        for v in values {
            min = Some(min.map_or(v, |m: u64| m.min(v)));
        }
    }
    min
}

fn subscription_of(path: &str) -> String {
    let mut parts = path.split('/').filter(|s| !s.is_empty());
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("subscriptions") {
            return parts.next().unwrap_or_default().to_ascii_lowercase();
        }
    }
    String::new()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Delete,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Delete => "DELETE",
            Method::Post => "POST",
        }
    }
}

/// How a long-running operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LroOutcome {
    Succeeded,
    Failed {
        code: String,
        message: String,
    },
    /// A 202 without `Azure-AsyncOperation` or `Location`: the caller must check the resource.
    NoPollUrl,
}

pub struct Client {
    agent: ureq::Agent,
    origin: Origin,
    base: String,
    token: Arc<TokenSource>,
    pacer: Pacer,
    /// Whether ARM ever answered: until it has, a host that does not resolve or refuses
    /// connections is a wrong endpoint (or no network), not a hiccup worth retrying.
    reached: AtomicBool,
    pub config: ClientConfig,
    pub stats: Stats,
    stop: Arc<Stop>,
}

impl Client {
    /// `base`: the ARM endpoint, already checked with [`check_endpoint`].
    pub fn new(base: &str, token: Arc<TokenSource>, config: ClientConfig) -> Result<Self, String> {
        let origin = check_endpoint(base)?;
        let agent = agent(config.request_timeout, is_loopback(&origin.host));
        Ok(Client {
            agent,
            origin,
            base: base.trim_end_matches('/').to_owned(),
            token,
            pacer: Pacer::default(),
            reached: AtomicBool::new(false),
            config,
            stats: Stats::default(),
            stop: Arc::default(),
        })
    }

    /// The run's brake: once halted, no write is sent (and after a credential failure, nothing).
    pub fn stop(&self) -> &Arc<Stop> {
        &self.stop
    }

    /// Refuses a request the halted run may not send.
    fn halted(&self, method: Method, url: &str, write: bool) -> Result<(), ApiError> {
        match self.stop.reason() {
            Some(Reason::Credential(m)) => Err(ApiError::new(
                ApiErrorKind::Auth,
                method.as_str(),
                url,
                m.clone(),
            )),
            Some(r) if write => Err(ApiError::new(
                ApiErrorKind::Interrupted,
                method.as_str(),
                url,
                format!("not sent: {}", r.describe()),
            )),
            _ => Ok(()),
        }
    }

    /// An authentication failure ends the run: every later request fails at once, without a
    /// storm of 401s.
    fn auth_failed(&self, e: ApiError) -> ApiError {
        self.stop.halt(Reason::Credential(e.summary()));
        e
    }

    /// An absolute URL on ARM for `path_and_query` (which starts with `/`).
    /// Bytes that cannot appear in a URL (spaces, non-ASCII) are percent-encoded.
    pub fn url(&self, path_and_query: &str) -> String {
        let mut out = self.base.clone();
        for b in path_and_query.bytes() {
            if b.is_ascii_graphic() {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// Resolves a link from a response (absolute, or absolute-path) and checks that it stays on
    /// the ARM origin: the token goes nowhere else.
    pub fn pinned(&self, method: Method, link: &str) -> Result<String, ApiError> {
        let absolute = if link.starts_with('/') {
            format!(
                "{}://{}:{}{}",
                self.origin.scheme,
                bracket(&self.origin.host),
                self.origin.port,
                link
            )
        } else {
            link.to_owned()
        };
        match split_url(&absolute) {
            Ok((origin, _)) if origin == self.origin => Ok(absolute),
            Ok((origin, _)) => Err(ApiError::new(
                ApiErrorKind::Refused,
                method.as_str(),
                &absolute,
                format!(
                    "refused to follow a link to {origin}: the token is only sent to {}",
                    self.origin
                ),
            )),
            Err(e) => Err(ApiError::new(
                ApiErrorKind::Refused,
                method.as_str(),
                link,
                format!("malformed link: {e}"),
            )),
        }
    }

    fn sleep(d: Duration) {
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    /// Sends one request with retries (429, 5xx, network errors) and pacing. Any status comes
    /// back as `Ok` except 401 (after one token refresh), which is an `Auth` error.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Response, ApiError> {
        let url = self.pinned(method, url)?;
        let path = path_of(&url);
        // A Resource Graph query is a POST that changes nothing.
        let query = method == Method::Post
            && path
                .to_ascii_lowercase()
                .starts_with("/providers/microsoft.resourcegraph/");
        let class = match method {
            Method::Get => Class::Read,
            Method::Post if query => Class::Read,
            Method::Delete => Class::Delete,
            Method::Post => Class::Write,
        };
        // Run Command counts as a write for ARM's limits, but our script only reads the guest:
        // a dry run may send it.
        let guest_read =
            method == Method::Post && path.to_ascii_lowercase().ends_with("/runcommand");
        if self.config.read_only && class != Class::Read && !guest_read {
            return Err(ApiError::new(
                ApiErrorKind::Refused,
                method.as_str(),
                &url,
                "refused: this run may not change anything (dry run)".to_owned(),
            ));
        }
        let key = (subscription_of(&path), class);
        let write = class != Class::Read;
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let wait = self.pacer.wait_turn(&key);
            Self::sleep(wait);
            // Checked before every attempt: a write is not even retried once the run is halted.
            self.halted(method, &url, write)?;
            let token = self.token.token().map_err(|e| {
                self.auth_failed(ApiError::new(
                    ApiErrorKind::Auth,
                    method.as_str(),
                    &url,
                    e.to_string(),
                ))
            })?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            if class != Class::Read {
                self.stats.writes.fetch_add(1, Ordering::Relaxed);
            }
            let started = Instant::now();
            let result = self.raw(method, &url, token.expose(), body);
            drop(token);
            attempt += 1;
            match result {
                Ok(resp) => {
                    self.reached.store(true, Ordering::Relaxed);
                    if self.config.verbose {
                        crate::note!(
                            "imds-migrate: {} {} -> {} ({} ms)",
                            method.as_str(),
                            path,
                            resp.status,
                            started.elapsed().as_millis()
                        );
                    }
                    self.pacer
                        .observe(&key, remaining_for(&resp, class), self.config.time_scale);
                    let retryable = resp.status == 429
                        || (500..600).contains(&resp.status) && resp.status != 501;
                    if resp.status == 401 && !refreshed && self.token.refreshable() {
                        refreshed = true;
                        self.token.invalidate();
                        continue;
                    }
                    if resp.status == 401 {
                        return Err(self.auth_failed(ApiError::from_response(
                            method.as_str(),
                            &url,
                            &resp,
                        )));
                    }
                    // Throttling tells us when to come back: give it a larger budget.
                    let budget = if resp.status == 429 {
                        self.config.max_attempts.saturating_mul(2)
                    } else {
                        self.config.max_attempts
                    };
                    if retryable && attempt < budget {
                        self.stats.retried.fetch_add(1, Ordering::Relaxed);
                        let d = resp
                            .retry_after()
                            .or_else(|| {
                                // Resource Graph throttles per user and says when the window resets.
                                (resp.status == 429)
                                    .then(|| resp.quota_resets_after())
                                    .flatten()
                            })
                            .unwrap_or_else(|| self.config.backoff(attempt - 1));
                        let d = self.config.scaled(d);
                        if resp.status == 429 {
                            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                            self.pacer.pause(&key, d);
                        } else {
                            Self::sleep(d);
                        }
                        continue;
                    }
                    if resp.status == 429 {
                        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(resp);
                }
                Err((msg, unreachable)) => {
                    if self.config.verbose {
                        crate::note!("imds-migrate: {} {} -> {msg}", method.as_str(), path);
                    }
                    if unreachable && !self.reached.load(Ordering::Relaxed) {
                        return Err(ApiError::new(
                            ApiErrorKind::Unreachable,
                            method.as_str(),
                            &url,
                            format!("cannot reach ARM at {}: {msg}", self.origin),
                        ));
                    }
                    if attempt < self.config.max_attempts {
                        self.stats.retried.fetch_add(1, Ordering::Relaxed);
                        Self::sleep(self.config.scaled(self.config.backoff(attempt - 1)));
                        continue;
                    }
                    return Err(ApiError::new(
                        ApiErrorKind::Transport,
                        method.as_str(),
                        &url,
                        msg,
                    ));
                }
            }
        }
    }

    fn raw(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Response, (String, bool)> {
        let auth = format!("Bearer {token}");
        let result = match method {
            Method::Get => self.agent.get(url).header("Authorization", &auth).call(),
            Method::Delete => self.agent.delete(url).header("Authorization", &auth).call(),
            Method::Post => {
                let req = self.agent.post(url).header("Authorization", &auth);
                match body {
                    Some(b) => req.send_json(b),
                    None => req.header("Content-Type", "application/json").send("{}"),
                }
            }
        };
        drop(auth);
        let unreachable = matches!(
            &result,
            Err(ureq::Error::HostNotFound | ureq::Error::ConnectionFailed)
        ) || matches!(&result, Err(ureq::Error::Io(e)) if is_unreachable(e));
        // Should a server echo the token (in a body, a header or an error), it goes no further.
        let scrub = |s: &mut String| {
            if !token.is_empty() && s.contains(token) {
                *s = s.replace(token, "***");
            }
        };
        match read_response(result) {
            Ok(mut resp) => {
                scrub(&mut resp.body);
                for (_, v) in &mut resp.headers {
                    scrub(v);
                }
                Ok(resp)
            }
            Err(mut e) => {
                scrub(&mut e);
                Err((e, unreachable))
            }
        }
    }

    /// GET a JSON document; any status but 200 is an error.
    pub fn get_json(&self, url: &str) -> Result<Value, ApiError> {
        let resp = self.send(Method::Get, url, None)?;
        if resp.status != 200 {
            return Err(ApiError::from_response("GET", url, &resp));
        }
        resp.json().ok_or_else(|| {
            ApiError::new(
                ApiErrorKind::Malformed,
                "GET",
                url,
                "response is not JSON".to_owned(),
            )
        })
    }

    /// GET a JSON document, `None` on 404.
    pub fn get_json_opt(&self, url: &str) -> Result<Option<Value>, ApiError> {
        let resp = self.send(Method::Get, url, None)?;
        match resp.status {
            200 => resp.json().map(Some).ok_or_else(|| {
                ApiError::new(
                    ApiErrorKind::Malformed,
                    "GET",
                    url,
                    "response is not JSON".to_owned(),
                )
            }),
            404 => Ok(None),
            _ => Err(ApiError::from_response("GET", url, &resp)),
        }
    }

    /// Every item of a paged list: `value` arrays joined across `nextLink`.
    pub fn get_paged(&self, url: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0u32;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 100_000 {
                return Err(ApiError::new(
                    ApiErrorKind::Malformed,
                    "GET",
                    &url,
                    "too many pages (nextLink loop?)".to_owned(),
                ));
            }
            let mut page = self.get_json(&url)?;
            if let Some(Value::Array(values)) = page.get_mut("value").map(Value::take) {
                items.extend(values);
            }
            if let Some(link) = page
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                next = Some(self.pinned(Method::Get, link)?);
            }
        }
        Ok(items)
    }

    /// Waits for a long-running operation that answered 202 (or 201/200 with a polling header):
    /// `Azure-AsyncOperation` first, else `Location`, honouring `Retry-After`, bounded by `timeout`.
    pub fn wait(&self, first: &Response, timeout: Duration) -> Result<LroOutcome, ApiError> {
        let (link, async_op) = if let Some(a) = first.header("azure-asyncoperation") {
            (a.to_owned(), true)
        } else if let Some(l) = first.header("location") {
            (l.to_owned(), false)
        } else {
            return Ok(LroOutcome::NoPollUrl);
        };
        let url = self.pinned(Method::Get, &link)?;
        let deadline = Instant::now() + timeout;
        let mut delay = first.retry_after();
        let mut polls = 0u32;
        loop {
            let d = self
                .config
                .scaled(delay.unwrap_or_else(|| default_poll(polls)));
            if Instant::now() + d > deadline {
                return Err(ApiError::new(
                    ApiErrorKind::Timeout,
                    "GET",
                    &url,
                    format!("operation still running after {} s", timeout.as_secs()),
                ));
            }
            Self::sleep(d);
            polls += 1;
            let resp = self.send(Method::Get, &url, None)?;
            delay = resp.retry_after();
            if async_op {
                if resp.status != 200 {
                    return Err(ApiError::from_response("GET", &url, &resp));
                }
                let v = resp.json().unwrap_or(Value::Null);
                let status = v
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("InProgress");
                match status.to_ascii_lowercase().as_str() {
                    "succeeded" => return Ok(LroOutcome::Succeeded),
                    "failed" | "canceled" | "cancelled" => {
                        let e = v.get("error").unwrap_or(&Value::Null);
                        return Ok(LroOutcome::Failed {
                            code: e
                                .get("code")
                                .and_then(Value::as_str)
                                .unwrap_or(status)
                                .to_owned(),
                            message: e
                                .get("message")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                        });
                    }
                    _ => {}
                }
            } else {
                match resp.status {
                    202 => {}
                    200 | 201 | 204 => return Ok(LroOutcome::Succeeded),
                    _ => {
                        let (code, message) = resp.arm_error();
                        return Ok(LroOutcome::Failed {
                            code: if code.is_empty() {
                                format!("HTTP {}", resp.status)
                            } else {
                                code
                            },
                            message,
                        });
                    }
                }
            }
        }
    }
}

/// Connection refused, or a name that does not resolve (the system resolver's error reaches us as
/// a plain I/O error, recognisable only by its text).
fn is_unreachable(e: &std::io::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
    ) || [
        "lookup address",
        "name or service not known",
        "nodename nor servname",
        "no such host",
        "name resolution",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn default_poll(polls: u32) -> Duration {
    // ARM usually sends Retry-After; without it start quick and settle at 10 s.
    Duration::from_secs(u64::from(polls.saturating_add(1)).min(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_headers() {
        let resp = Response {
            status: 200,
            headers: vec![
                (
                    "x-ms-ratelimit-remaining-subscription-reads".into(),
                    "120".into(),
                ),
                (
                    "x-ms-ratelimit-remaining-subscription-deletes".into(),
                    "7".into(),
                ),
                (
                    "x-ms-ratelimit-remaining-resource".into(),
                    "Microsoft.Compute/GetVM3Min;99,Microsoft.Compute/GetVM30Min;1000".into(),
                ),
            ],
            body: String::new(),
        };
        assert_eq!(remaining_for(&resp, Class::Read), Some(99));
        assert_eq!(remaining_for(&resp, Class::Delete), Some(7));
        assert_eq!(
            subscription_of("/subscriptions/ABC/resourceGroups/x"),
            "abc"
        );
    }
}

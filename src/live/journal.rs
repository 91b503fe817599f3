//! The live-mode journal: a durable JSON-lines record of every write, put on disk before the
//! request goes out and again when it completes, and the reader behind `live journal FILE`.
//!
//! One JSON object per line; each line is written with one `write` and `fsync`ed before the call
//! returns, under a lock, so a killed run leaves only whole lines (a reader still tolerates a
//! torn last line). Lines carry `kind`:
//! - `start`: the run (`run` id, tool version, command, ARM endpoint);
//! - `intent`: a write about to be sent (`id`, `op`, `method`, `target`, and the `resource` it
//!   changes as last read from ARM);
//! - `outcome`: how that write ended (`id`, `outcome`, HTTP `status`, `correlationId`, `requestId`,
//!   `detail`). An intent without an outcome was sent but never confirmed: *in doubt*;
//! - any other kind: a free-form record from [`Journal::record`] (Run Command verdicts, ...);
//! - `end`: the run's summary, and whether it was interrupted.
//!
//! Nothing secret is written: [`sanitize`] drops `protectedSettings` and credential fields from
//! every value before it reaches the file, and the ARM client has already scrubbed the token.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::http::Response;
use crate::{cli::live::LiveFormat, error::Error};

/// Keys whose values never reach the journal, compared without case.
const SECRET_KEYS: [&str; 10] = [
    "protectedSettings",
    "protectedSettingsFromKeyVault",
    "access_token",
    "accessToken",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "authorization",
    "password",
    "adminPassword",
];

/// Line kinds the journal itself writes; [`Journal::record`] may not use them.
const RESERVED: [&str; 4] = ["start", "intent", "outcome", "end"];

/// Drops every key in [`SECRET_KEYS`], at any depth.
pub fn sanitize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !SECRET_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s)));
            map.values_mut().for_each(sanitize);
        }
        Value::Array(items) => items.iter_mut().for_each(sanitize),
        _ => {}
    }
}

/// What the journal keeps of an extension before changing it: enough to put it back
/// (`name`, `type`, `location`, the parent's id, and `properties` with publisher, type,
/// `typeHandlerVersion`, `autoUpgradeMinorVersion`, `settings`, ...), without its state and
/// without `protectedSettings` (`protectedSettingsOmitted` says there were some).
pub fn extension_record(parent: &Value, parent_id: &str, ext: &Value) -> Value {
    let mut props = ext.get("properties").cloned().unwrap_or(Value::Null);
    let mut omitted = false;
    if let Value::Object(p) = &mut props {
        omitted = p
            .keys()
            .any(|k| k.to_ascii_lowercase().starts_with("protectedsettings"));
        p.retain(|k, _| {
            !k.eq_ignore_ascii_case("provisioningState") && !k.eq_ignore_ascii_case("instanceView")
        });
    }
    let location = ext
        .get("location")
        .or_else(|| parent.get("location"))
        .cloned()
        .unwrap_or(Value::Null);
    let name = ext
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .unwrap_or_default();
    let mut record = json!({
        "name": name,
        "type": ext.get("type").cloned().unwrap_or(Value::Null),
        "location": location,
        "parentId": parent_id,
        "properties": props,
    });
    if omitted {
        record["protectedSettingsOmitted"] = Value::Bool(true);
    }
    sanitize(&mut record);
    record
}

/// One write recorded by [`Journal::intent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryId(u64);

/// A write about to be sent.
pub struct Intent<'a> {
    /// What it does: `delete-extension`, `manualupgrade`, `run-command`, ...
    pub op: &'a str,
    /// `DELETE`, `POST`, `PUT`.
    pub method: &'a str,
    /// The ARM path it goes to (no query).
    pub target: &'a str,
    /// What it changes, as last read from ARM (sanitised again here).
    pub resource: Value,
}

/// How a write ended.
#[derive(Debug, Default)]
pub struct Completion<'a> {
    /// `removed`, `already-removed`, `failed`, `not-sent`, `succeeded`, ...
    pub outcome: &'a str,
    /// The status of the write request itself (not of the polls that followed).
    pub status: Option<u16>,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
    pub detail: &'a str,
}

/// Status and ARM request ids of a write's response, for [`Completion`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub status: u16,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
}

impl Sent {
    pub fn of(resp: &Response) -> Self {
        Sent {
            status: resp.status,
            correlation_id: resp
                .header("x-ms-correlation-request-id")
                .map(ToOwned::to_owned),
            request_id: resp.header("x-ms-request-id").map(ToOwned::to_owned),
        }
    }

    /// A completion carrying this response's status and ids.
    pub fn completion<'a>(
        sent: Option<&Sent>,
        outcome: &'a str,
        detail: &'a str,
    ) -> Completion<'a> {
        Completion {
            outcome,
            status: sent.map(|s| s.status),
            correlation_id: sent.and_then(|s| s.correlation_id.clone()),
            request_id: sent.and_then(|s| s.request_id.clone()),
            detail,
        }
    }
}

struct Inner {
    file: File,
    next: u64,
    /// Intents without an outcome yet.
    open: usize,
}

/// An open journal. Every method writes one line and syncs it before returning.
pub struct Journal {
    path: PathBuf,
    run: String,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// `imds-migrate-live-20261128T034718Z.jsonl`: the default journal name for a run started now.
pub fn default_name() -> String {
    // `2026-11-28T03:47:18Z` without its separators.
    let stamp: String = timestamp(SystemTime::now())
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("imds-migrate-live-{stamp}.jsonl")
}

impl Journal {
    /// Opens `path` for appending (a rerun may continue an earlier journal) and writes the
    /// `start` line, with `meta` merged in.
    pub fn create(path: &Path, meta: Value) -> Result<Journal, Error> {
        // Appending to a file that is not a journal would spoil it: refuse.
        if let Ok(existing) = std::fs::read(path)
            && !existing.is_empty()
        {
            let first = existing.split(|b| *b == b'\n').next().unwrap_or_default();
            let is_journal = serde_json::from_slice::<Value>(first)
                .is_ok_and(|v| v.get("kind").and_then(Value::as_str) == Some("start"));
            if !is_journal {
                return Err(Error::new(format!(
                    "{} exists and is not an imds-migrate journal: pick another --journal",
                    path.display()
                )));
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::new(format!("cannot open journal {}: {e}", path.display())))?;
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let journal = Journal {
            path: path.to_owned(),
            run: format!("{secs}-{}", std::process::id()),
            inner: Mutex::new(Inner {
                file,
                next: 1,
                open: 0,
            }),
        };
        let mut line = json!({
            "tool": concat!("imds-migrate ", env!("CARGO_PKG_VERSION")),
            "pid": std::process::id(),
        });
        if let (Value::Object(l), Value::Object(m)) = (&mut line, meta) {
            l.extend(m);
        }
        journal
            .write("start", line)
            .map_err(|e| Error::new(format!("cannot write journal {}: {e}", path.display())))?;
        // A new file's directory entry must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn line(&self, kind: &str, body: Value) -> Value {
        let mut line = Map::new();
        line.insert("kind".into(), kind.into());
        line.insert("run".into(), self.run.clone().into());
        line.insert("time".into(), timestamp(SystemTime::now()).into());
        if let Value::Object(b) = body {
            line.extend(b);
        }
        let mut v = Value::Object(line);
        sanitize(&mut v);
        v
    }

    fn write_locked(inner: &mut Inner, line: &Value) -> io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(io::Error::other)?;
        text.push('\n');
        inner.file.write_all(text.as_bytes())?;
        inner.file.sync_data()
    }

    fn write(&self, kind: &str, body: Value) -> io::Result<()> {
        let line = self.line(kind, body);
        Self::write_locked(&mut self.lock(), &line)
    }

    /// Records a write before it is sent. Send nothing if this fails.
    pub fn intent(&self, intent: Intent<'_>) -> io::Result<EntryId> {
        let mut inner = self.lock();
        let id = inner.next;
        let mut body = json!({
            "id": id,
            "op": intent.op,
            "method": intent.method,
            "target": intent.target,
        });
        body["resource"] = intent.resource;
        let line = self.line("intent", body);
        Self::write_locked(&mut inner, &line)?;
        inner.next += 1;
        inner.open += 1;
        Ok(EntryId(id))
    }

    /// Records how the write `id` ended.
    pub fn outcome(&self, id: EntryId, c: &Completion<'_>) -> io::Result<()> {
        let mut inner = self.lock();
        let mut body = json!({"id": id.0, "outcome": c.outcome, "detail": c.detail});
        if let Some(s) = c.status {
            body["status"] = s.into();
        }
        if let Some(x) = &c.correlation_id {
            body["correlationId"] = x.clone().into();
        }
        if let Some(x) = &c.request_id {
            body["requestId"] = x.clone().into();
        }
        let line = self.line("outcome", body);
        Self::write_locked(&mut inner, &line)?;
        inner.open = inner.open.saturating_sub(1);
        Ok(())
    }

    /// A free-form record (`kind` is not `start`, `intent`, `outcome` or `end`): the fields of
    /// `data` (an object) are stored beside `kind`, `run` and `time`, sanitised.
    pub fn record(&self, kind: &str, data: Value) -> io::Result<()> {
        if RESERVED.contains(&kind) || kind.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{kind}` is not a free-form journal kind"),
            ));
        }
        let body = match data {
            Value::Object(_) => data,
            other => json!({ "data": other }),
        };
        self.write(kind, body)
    }

    /// The last line of the run.
    pub fn finish(&self, interrupted: bool, summary: Value) -> io::Result<()> {
        let mut body = json!({ "interrupted": interrupted });
        body["summary"] = summary;
        self.write("end", body)
    }

    /// How many writes were recorded as sent and have no outcome yet.
    pub fn in_flight(&self) -> usize {
        self.lock().open
    }

    /// Exits the process at once, but never halfway through a line: waits for the line being
    /// written (if any) and holds the lock while exiting.
    pub fn exit_now(&self, code: i32) -> ! {
        let _held = self.lock();
        std::process::exit(code)
    }
}

/// RFC 3339 in UTC, to the second.
pub fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let c = crate::civil::Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

// ---- Reading a journal ----

/// One write as the journal tells it.
#[derive(Debug, Clone, Serialize)]
pub struct WriteRecord {
    pub run: String,
    pub id: u64,
    pub op: String,
    pub method: String,
    pub target: String,
    /// The outcome, or `in-doubt` when the write was sent and never confirmed.
    pub state: String,
    pub sent: String,
    pub completed: Option<String>,
    pub status: Option<u64>,
    #[serde(rename = "correlationId")]
    pub correlation_id: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: Option<String>,
    pub detail: Option<String>,
    pub resource: Value,
}

/// What a journal file says.
#[derive(Debug, Default, Serialize)]
pub struct Contents {
    pub journal: String,
    pub runs: Vec<Value>,
    pub writes: Vec<WriteRecord>,
    /// Free-form records (Run Command verdicts, ...).
    pub records: Vec<Value>,
    pub summary: BTreeMap<String, usize>,
    /// Lines that could not be read (a torn last line after a crash, ...).
    pub warnings: Vec<String>,
}

pub const IN_DOUBT: &str = "in-doubt";

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(ToOwned::to_owned)
}

/// Reads a journal.
pub fn read(path: &Path) -> Result<Contents, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::new(format!("cannot read journal {}: {e}", path.display())))?;
    let body = String::from_utf8_lossy(&bytes);
    let mut out = Contents {
        journal: path.display().to_string(),
        ..Contents::default()
    };
    let mut index: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let lines: Vec<&str> = body.split('\n').collect();
    for (n, raw) in lines.iter().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(raw) else {
            let last = lines[n + 1..].iter().all(|l| l.trim().is_empty());
            out.warnings.push(format!(
                "{}:{}: {}",
                path.display(),
                n + 1,
                if last {
                    "incomplete last line (the run was killed while writing it)"
                } else {
                    "not a JSON object"
                }
            ));
            continue;
        };
        let run = text(&v, "run").unwrap_or_default();
        let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
        match v.get("kind").and_then(Value::as_str).unwrap_or_default() {
            "start" | "end" => out.runs.push(v),
            "intent" => {
                index.insert((run.clone(), id), out.writes.len());
                out.writes.push(WriteRecord {
                    run,
                    id,
                    op: text(&v, "op").unwrap_or_default(),
                    method: text(&v, "method").unwrap_or_default(),
                    target: text(&v, "target").unwrap_or_default(),
                    state: IN_DOUBT.to_owned(),
                    sent: text(&v, "time").unwrap_or_default(),
                    completed: None,
                    status: None,
                    correlation_id: None,
                    request_id: None,
                    detail: None,
                    resource: v.get("resource").cloned().unwrap_or(Value::Null),
                });
            }
            "outcome" => {
                let Some(w) = index.get(&(run, id)).and_then(|&i| out.writes.get_mut(i)) else {
                    out.warnings.push(format!(
                        "{}:{}: outcome of a write the journal does not record",
                        path.display(),
                        n + 1
                    ));
                    continue;
                };
                w.state = text(&v, "outcome").unwrap_or_else(|| IN_DOUBT.to_owned());
                w.completed = text(&v, "time");
                w.status = v.get("status").and_then(Value::as_u64);
                w.correlation_id = text(&v, "correlationId");
                w.request_id = text(&v, "requestId");
                w.detail = text(&v, "detail");
            }
            _ => out.records.push(v),
        }
    }
    for w in &out.writes {
        *out.summary.entry(w.state.clone()).or_default() += 1;
    }
    Ok(out)
}

/// Whether something in the journal needs a look: a failed write, or one in doubt.
pub fn needs_attention(c: &Contents) -> bool {
    c.writes
        .iter()
        .any(|w| w.state == IN_DOUBT || w.state == "failed")
}

/// `live journal FILE`: table or JSON.
pub fn render(c: &Contents, format: LiveFormat) -> String {
    if format == LiveFormat::Json {
        let mut s = serde_json::to_string_pretty(c).unwrap_or_else(|_| "{}".to_owned());
        s.push('\n');
        return s;
    }
    let header = ["SENT", "OP", "TARGET", "STATE", "STATUS", "DETAIL"];
    let rows: Vec<[String; 6]> = c
        .writes
        .iter()
        .map(|w| {
            [
                w.sent.clone(),
                w.op.clone(),
                w.target.clone(),
                w.state.clone(),
                w.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                match (&w.detail, w.state.as_str()) {
                    (Some(d), _) => d.clone(),
                    (None, IN_DOUBT) => {
                        "sent, never confirmed: check the resource, or run again".to_owned()
                    }
                    (None, _) => String::new(),
                },
            ]
        })
        .collect();
    let mut out = String::new();
    if format == LiveFormat::Csv {
        out.push_str("sent,op,target,state,status,detail\n");
        for r in &rows {
            let cells: Vec<String> = r.iter().map(|c| super::output::csv_field(c)).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        return out;
    }
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        line.trim_end().to_owned()
    };
    if !rows.is_empty() {
        out.push_str(&fmt_row(&header.map(ToOwned::to_owned)));
        out.push('\n');
        for r in &rows {
            out.push_str(&fmt_row(r));
            out.push('\n');
        }
        out.push('\n');
    }
    let counts: Vec<String> = c.summary.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out.push_str(&format!(
        "{} run(s), {} write(s){}{}.\n",
        c.runs
            .iter()
            .filter(|r| r.get("kind") == Some(&json!("start")))
            .count(),
        c.writes.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    ));
    if c.summary.contains_key(IN_DOUBT) {
        out.push_str(
            "In doubt: sent but never confirmed (the run was killed). Run `live remove` again: it finds what is left.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let t = |s: u64| timestamp(UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(t(0), "1970-01-01T00:00:00Z");
        assert_eq!(t(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(t(1_795_837_638), "2026-11-28T03:47:18Z");
        let name = default_name();
        let stamp = name
            .strip_prefix("imds-migrate-live-")
            .and_then(|r| r.strip_suffix("Z.jsonl"))
            .unwrap();
        assert!(stamp.len() == 15 && stamp.as_bytes()[8] == b'T', "{name}");
    }

    #[test]
    fn sanitize_drops_secrets_at_any_depth() {
        let mut v = json!({"properties": {"settings": {"port": 50342},
            "protectedSettings": {"k": "PLANTED"}, "nested": [{"ProtectedSettings": "PLANTED"}]},
            "access_token": "PLANTED"});
        sanitize(&mut v);
        assert!(!v.to_string().contains("PLANTED"));
        assert_eq!(v["properties"]["settings"]["port"], 50342);
    }

    #[test]
    fn extension_record_keeps_what_redeploys_it() {
        let parent = json!({"id": "/p", "location": "westeurope"});
        let ext = json!({"name": "vm/msi", "type": "Microsoft.Compute/virtualMachines/extensions",
            "properties": {"publisher": "Microsoft.ManagedIdentity", "type": "ManagedIdentityExtensionForLinux",
            "typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": true, "settings": {"port": 50343},
            "protectedSettings": {"secret": "PLANTED"}, "provisioningState": "Succeeded"}});
        let r = extension_record(&parent, "/p", &ext);
        assert_eq!(r["name"], "msi");
        assert_eq!(r["location"], "westeurope");
        assert_eq!(r["parentId"], "/p");
        assert_eq!(r["properties"]["settings"]["port"], 50343);
        assert_eq!(r["properties"]["typeHandlerVersion"], "1.0");
        assert_eq!(r["protectedSettingsOmitted"], true);
        assert!(r["properties"].get("provisioningState").is_none());
        assert!(!r.to_string().contains("PLANTED"));
    }

    #[test]
    fn refuses_to_append_to_a_file_that_is_not_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "my notes\n").unwrap();
        let e = Journal::create(&path, json!({})).unwrap_err();
        assert!(
            e.message.contains("not an imds-migrate journal"),
            "{}",
            e.message
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "my notes\n");
        let path = dir.path().join("j.jsonl");
        drop(Journal::create(&path, json!({})).unwrap());
        drop(Journal::create(&path, json!({})).unwrap());
        assert_eq!(read(&path).unwrap().runs.len(), 2);
    }

    #[test]
    fn intent_without_outcome_is_in_doubt_and_torn_lines_are_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, json!({"command": "remove"})).unwrap();
        let a = j
            .intent(Intent {
                op: "delete-extension",
                method: "DELETE",
                target: "/a",
                resource: json!({"protectedSettings": "PLANTED"}),
            })
            .unwrap();
        let _b = j
            .intent(Intent {
                op: "delete-extension",
                method: "DELETE",
                target: "/b",
                resource: Value::Null,
            })
            .unwrap();
        assert_eq!(j.in_flight(), 2);
        j.outcome(
            a,
            &Completion {
                outcome: "removed",
                status: Some(202),
                correlation_id: Some("corr".into()),
                request_id: Some("req".into()),
                detail: "deleted",
            },
        )
        .unwrap();
        assert!(j.record("intent", json!({})).is_err());
        j.record("run-command", json!({"verdict": "clean"}))
            .unwrap();
        drop(j);
        let mut raw = std::fs::read_to_string(&path).unwrap();
        assert!(!raw.contains("PLANTED"));
        raw.push_str("{\"kind\":\"outc");
        std::fs::write(&path, raw).unwrap();
        let c = read(&path).unwrap();
        assert_eq!(c.writes.len(), 2);
        assert_eq!(c.writes[0].state, "removed");
        assert_eq!(c.writes[0].correlation_id.as_deref(), Some("corr"));
        assert_eq!(c.writes[1].state, IN_DOUBT);
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("incomplete last line"));
        assert!(needs_attention(&c));
        let table = render(&c, LiveFormat::Table);
        assert!(table.contains("1 in-doubt, 1 removed"), "{table}");
    }
}

//! The verdict on one machine (`clean`, `in-use` with evidence, `unknown` with a reason), how a
//! scale set's instances add up, and the record a removal journal keeps of it.

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The script ran to its end and saw nothing use the endpoint.
    Clean,
    /// Something on the machine uses it: see the evidence.
    InUse,
    /// The machine could not be asked, or its answer could not be read.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::InUse => "in-use",
            Verdict::Unknown => "unknown",
        }
    }
}

/// A process seen connecting to the port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    pub name: String,
    /// None: the socket had no owner any more (`TIME-WAIT`) when it was seen.
    pub pid: Option<u32>,
    pub user: String,
    pub connections: u32,
}

/// The process that listens on the port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub name: String,
    pub pid: Option<u32>,
}

/// What the script reported: counts, process names, paths. Never file contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub port: Option<u16>,
    /// Whether the extension's token service was listening on the port.
    pub listening: Option<bool>,
    /// The process listening on the port (the extension's token service, normally).
    pub listener: Option<Listener>,
    /// Connections to the port seen while sampling.
    pub connections: u32,
    pub processes: Vec<Process>,
    /// The first few files that name the endpoint.
    pub files: Vec<String>,
    pub files_matched: u32,
    pub files_scanned: u32,
    /// The file search stopped at its file-count or time cap.
    pub files_capped: bool,
    /// systemd units, cron files, Windows services and scheduled tasks that name the endpoint.
    pub units: Vec<String>,
    pub units_matched: u32,
    /// Azure kept only the tail of the output.
    pub truncated: bool,
    /// Why the verdict is `unknown`, or what qualifies it.
    pub reason: Option<String>,
}

/// A verdict with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuestCheck {
    pub verdict: Verdict,
    pub evidence: Evidence,
}

impl GuestCheck {
    pub fn unknown(reason: impl Into<String>) -> Self {
        GuestCheck {
            verdict: Verdict::Unknown,
            evidence: Evidence {
                reason: Some(reason.into()),
                ..Evidence::default()
            },
        }
    }

    /// One line for tables and skip reasons.
    pub fn summary(&self) -> String {
        let e = &self.evidence;
        let mut parts: Vec<String> = Vec::new();
        if !e.processes.is_empty() {
            let shown: Vec<String> = e
                .processes
                .iter()
                .take(3)
                .map(|p| match p.pid {
                    Some(pid) => format!("{} (pid {pid}, {}) x{}", p.name, p.user, p.connections),
                    None => format!("unattributed x{}", p.connections),
                })
                .collect();
            let more = e.processes.len().saturating_sub(3);
            parts.push(format!(
                "{} connection(s): {}{}",
                e.connections,
                shown.join(", "),
                if more > 0 {
                    format!(", +{more} more")
                } else {
                    String::new()
                }
            ));
        }
        if e.files_matched > 0 {
            parts.push(listed("file(s)", e.files_matched, &e.files));
        }
        if e.units_matched > 0 {
            parts.push(listed("unit(s)/task(s)", e.units_matched, &e.units));
        }
        if let Some(r) = &e.reason {
            parts.push(r.clone());
        }
        if parts.is_empty() {
            parts.push(match self.verdict {
                Verdict::Clean => "nothing uses the endpoint".to_owned(),
                _ => self.verdict.as_str().to_owned(),
            });
        }
        parts.join("; ")
    }
}

fn listed(what: &str, count: u32, shown: &[String]) -> String {
    let more = (count as usize).saturating_sub(shown.len());
    let mut s = format!("{count} {what}: {}", shown.join(", "));
    if more > 0 {
        s.push_str(&format!(", +{more} more"));
    }
    s
}

/// A scale set's verdict from its instances': clean only if every checked instance is clean;
/// in use if any is; otherwise unknown. `checked` pairs an instance id with its check.
pub fn aggregate(checked: &[(String, GuestCheck)], total: usize) -> GuestCheck {
    let sampled = checked.len() < total;
    let scope = if sampled {
        format!(
            "sample of {} of {total} instance(s) (--check-sample)",
            checked.len()
        )
    } else {
        format!("{total} instance(s)")
    };
    if checked.is_empty() {
        return GuestCheck {
            verdict: Verdict::Clean,
            evidence: Evidence {
                reason: Some("no instance runs the extension".to_owned()),
                ..Evidence::default()
            },
        };
    }
    let ids = |v: Verdict| -> Vec<&str> {
        checked
            .iter()
            .filter(|(_, c)| c.verdict == v)
            .map(|(i, _)| i.as_str())
            .collect()
    };
    let in_use = ids(Verdict::InUse);
    let unknown = ids(Verdict::Unknown);
    let mut e = Evidence {
        port: checked.iter().find_map(|(_, c)| c.evidence.port),
        ..Evidence::default()
    };
    for (id, c) in checked.iter().filter(|(_, c)| c.verdict == Verdict::InUse) {
        let x = &c.evidence;
        e.connections += x.connections;
        e.files_matched += x.files_matched;
        e.units_matched += x.units_matched;
        e.processes.extend(x.processes.iter().map(|p| Process {
            name: format!("{}@{id}", p.name),
            ..p.clone()
        }));
        e.files.extend(x.files.iter().map(|f| format!("{id}:{f}")));
        e.units.extend(x.units.iter().map(|u| format!("{id}:{u}")));
    }
    e.files.truncate(5);
    e.units.truncate(5);
    e.processes.truncate(10);
    let verdict = if !in_use.is_empty() {
        e.reason = Some(format!(
            "in use on instance(s) {} of {scope}",
            in_use.join(",")
        ));
        Verdict::InUse
    } else if !unknown.is_empty() {
        let first = checked
            .iter()
            .find(|(_, c)| c.verdict == Verdict::Unknown)
            .and_then(|(_, c)| c.evidence.reason.clone())
            .unwrap_or_default();
        e.reason = Some(format!(
            "instance(s) {} of {scope} could not be checked ({first})",
            unknown.join(",")
        ));
        Verdict::Unknown
    } else {
        e.reason = Some(format!("clean: {scope}"));
        Verdict::Clean
    };
    GuestCheck {
        verdict,
        evidence: e,
    }
}

/// The journal's `kind` for a verdict.
pub const JOURNAL_KIND: &str = "guest-check";

/// The journal's record of one verdict, for a check run as part of a removal: which machine,
/// which extension, what was found. Paths and counts only, as everywhere.
pub fn journal_record(machine_id: &str, extension_id: &str, check: &GuestCheck) -> Value {
    json!({
        "machine": machine_id,
        "extension": extension_id,
        "verdict": check.verdict.as_str(),
        "evidence": check.evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_use(file: &str) -> GuestCheck {
        GuestCheck {
            verdict: Verdict::InUse,
            evidence: Evidence {
                files: vec![file.to_owned()],
                files_matched: 1,
                ..Evidence::default()
            },
        }
    }

    fn clean() -> GuestCheck {
        GuestCheck {
            verdict: Verdict::Clean,
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn every_instance_must_be_clean() {
        let all = [("0".to_owned(), clean()), ("1".to_owned(), clean())];
        assert_eq!(aggregate(&all, 2).verdict, Verdict::Clean);
        let sampled = aggregate(&all[..1], 2);
        assert_eq!(sampled.verdict, Verdict::Clean);
        assert!(sampled.summary().contains("sample of 1 of 2"));
        let mixed = [
            ("0".to_owned(), clean()),
            ("1".to_owned(), GuestCheck::unknown("VM agent not ready")),
            ("2".to_owned(), in_use("/etc/app.conf")),
        ];
        let a = aggregate(&mixed, 3);
        assert_eq!(a.verdict, Verdict::InUse);
        assert_eq!(a.evidence.files, ["2:/etc/app.conf"]);
        let a = aggregate(&mixed[..2], 3);
        assert_eq!(a.verdict, Verdict::Unknown);
        assert!(
            a.summary().contains("VM agent not ready"),
            "{}",
            a.summary()
        );
        assert_eq!(aggregate(&[], 0).verdict, Verdict::Clean);
    }

    #[test]
    fn journal_record_names_machine_and_verdict() {
        let r = journal_record(
            "/subscriptions/s/vm",
            "/subscriptions/s/vm/extensions/msi",
            &in_use("/x"),
        );
        assert_eq!(r["verdict"], "in-use");
        assert_eq!(r["evidence"]["files"][0], "/x");
    }
}

//! Reading a Run Command result: the two shapes Azure returns, then the script's line records.
//!
//! The final result is a `RunCommandResult`, `{"value": [InstanceViewStatus...]}`
//! (Azure/azure-rest-api-specs, `Microsoft.Compute/ComputeRP/stable/2024-11-01/runCommand.json`):
//! - Linux (`RunShellScript`, run by the `RunCommandLinux` handler): one
//!   `ProvisioningState/succeeded` status whose message is `Enable succeeded: \n[stdout]\n...
//!   \n[stderr]\n...`; the handler keeps the last 4 KB of each stream
//!   (Azure/run-command-extension-linux, `main/cmds.go`: `maxTailLen = 4 * 1024` and the
//!   `"\n[stdout]\n%s\n[stderr]\n%s"` message).
//! - Windows (`RunPowerShellScript`): `ComponentStatus/StdOut/succeeded` and
//!   `ComponentStatus/StdErr/succeeded` statuses, each message one stream (spec example
//!   `runCommandExamples/VirtualMachineRunCommand.json`).
//!
//! Microsoft documents the limit as "Output is limited to the last 4,096 bytes": the script puts
//! its summary last, and a report whose head is gone is marked truncated.

use serde_json::Value;

use super::verdict::{Evidence, GuestCheck, Listener, Process, Verdict};

/// stdout and stderr of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streams {
    pub stdout: String,
    pub stderr: String,
}

/// The streams from a `RunCommandResult`, or why there are none (a failed status).
pub fn streams(result: &Value) -> Result<Streams, String> {
    let statuses = result
        .get("value")
        .and_then(Value::as_array)
        .ok_or("Run Command result has no `value` array")?;
    let code_of = |s: &Value| {
        s.get("code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let message_of = |s: &Value| {
        s.get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    // Windows: one status per stream.
    let out = statuses
        .iter()
        .find(|s| code_of(s).starts_with("componentstatus/stdout/"));
    if let Some(out) = out {
        let err = statuses
            .iter()
            .find(|s| code_of(s).starts_with("componentstatus/stderr/"));
        if !code_of(out).ends_with("/succeeded") {
            return Err(format!("Run Command reported {}", code_of(out)));
        }
        return Ok(Streams {
            stdout: message_of(out),
            stderr: err.map(message_of).unwrap_or_default(),
        });
    }
    // Linux: one provisioning status, both streams in its message.
    let status = statuses
        .iter()
        .find(|s| code_of(s).starts_with("provisioningstate/"))
        .ok_or("Run Command result has neither a ProvisioningState nor a StdOut status")?;
    let message = message_of(status);
    if !code_of(status).ends_with("/succeeded") {
        let head = message.split("[stdout]").next().unwrap_or_default();
        return Err(format!(
            "Run Command reported {}: {}",
            code_of(status),
            one_line(head, 200)
        ));
    }
    // A message cut before its `[stdout]` marker still ends with the report's tail.
    let body = message
        .find("[stdout]\n")
        .map_or(message.as_str(), |start| {
            &message[start + "[stdout]\n".len()..]
        });
    let (stdout, stderr) = match body.rfind("\n[stderr]\n") {
        Some(i) => (&body[..i], &body[i + "\n[stderr]\n".len()..]),
        None => match body.strip_suffix("\n[stderr]") {
            Some(out) => (out, ""),
            None => (body, ""),
        },
    };
    Ok(Streams {
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    })
}

/// Printable, one line, at most `max` characters: guest text never reaches our output raw.
pub fn one_line(s: &str, max: usize) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    t.trim().to_owned()
}

fn field<'a>(words: &'a str, key: &str) -> Option<&'a str> {
    words
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn num(words: &str, key: &str) -> Option<u32> {
    field(words, key)?.parse().ok()
}

/// The verdict from the script's stdout. `port` is the port we asked about: a report about
/// another port is not evidence about this one.
pub fn report(stdout: &str, port: u16) -> GuestCheck {
    let mut e = Evidence {
        port: Some(port),
        ..Evidence::default()
    };
    let mut header = false;
    let mut summary = None;
    let mut end = false;
    let mut error = None;
    for raw in stdout.lines() {
        let line = raw.trim_end_matches('\r');
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "imds-check" => {
                header = true;
                if let Some(p) = field(rest, "port")
                    && p != port.to_string()
                {
                    return GuestCheck::unknown(format!(
                        "the script checked port {} instead of {port}",
                        one_line(p, 10)
                    ));
                }
            }
            "listen" => {
                let mut w = rest.splitn(3, ' ');
                e.listening = Some(w.next() == Some("1"));
                let pid = w.next().and_then(|p| p.parse().ok());
                if e.listening == Some(true) && pid.is_some() {
                    e.listener = Some(Listener {
                        name: one_line(w.next().unwrap_or("?"), 64),
                        pid,
                    });
                }
            }
            "conn" => {
                let mut w = rest.splitn(4, ' ');
                let count = w.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                let pid = w.next().and_then(|p| p.parse().ok());
                let user = one_line(w.next().unwrap_or("?"), 64);
                let name = one_line(w.next().unwrap_or("?"), 64);
                if e.processes.len() < 10 {
                    e.processes.push(Process {
                        name,
                        pid,
                        user,
                        connections: count,
                    });
                }
            }
            "file" if e.files.len() < 5 => e.files.push(one_line(rest, 200)),
            "unit" if e.units.len() < 5 => e.units.push(one_line(rest, 200)),
            "scan" => {
                e.files_scanned = num(rest, "files").unwrap_or(0);
                e.files_capped = field(rest, "capped") == Some("1");
            }
            "summary" => summary = Some(rest.to_owned()),
            "error" => error = Some(one_line(rest, 40)),
            "end" => end = true,
            _ => {}
        }
    }
    if let Some(code) = error {
        return GuestCheck::unknown(format!("the script stopped: {code}"));
    }
    let (Some(summary), true) = (summary, end) else {
        return GuestCheck::unknown(if header {
            "the script's report is incomplete (no summary): it did not finish"
        } else {
            "output unparseable: not the check script's report"
        });
    };
    e.truncated = !header;
    let (Some(connections), Some(files), Some(units)) = (
        num(&summary, "connections"),
        num(&summary, "files"),
        num(&summary, "units"),
    ) else {
        return GuestCheck::unknown("output unparseable: the summary has no counts");
    };
    // The listed evidence counts even where a count says otherwise.
    e.connections = connections.max(e.processes.iter().map(|p| p.connections).sum());
    e.files_matched = files.max(e.files.len() as u32);
    e.units_matched = units.max(e.units.len() as u32);
    if e.listening.is_none() {
        e.listening = field(&summary, "listen").map(|l| l == "1");
    }
    let used = e.connections > 0 || e.files_matched > 0 || e.units_matched > 0;
    let verdict = if used {
        Verdict::InUse
    } else if e.truncated {
        e.reason = Some(
            "output truncated (Azure keeps the last 4 KB): the report cannot prove the machine clean"
                .to_owned(),
        );
        Verdict::Unknown
    } else {
        Verdict::Clean
    };
    if verdict != Verdict::Unknown {
        let mut notes = Vec::new();
        if e.truncated {
            notes.push("output truncated: some details lost");
        }
        if e.files_capped {
            notes.push("file search stopped at its cap");
        }
        if !notes.is_empty() {
            e.reason = Some(notes.join("; "));
        }
    }
    GuestCheck {
        verdict,
        evidence: e,
    }
}

/// From a whole `RunCommandResult` to a verdict.
pub fn result(result: &Value, port: u16) -> GuestCheck {
    match streams(result) {
        Ok(s) => report(&s.stdout, port),
        Err(e) => GuestCheck::unknown(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const IN_USE: &str = "imds-check 1 os=linux port=50342 sample=30 via=ss\nlisten 1 812 ManagedIdentity\nconn 12 4242 app curl\nconn 3 - ? ?\nfile /etc/app/settings.ini\nscan files=310 matched=1 capped=0\nunit /etc/cron.d/token\nsummary listen=1 connections=15 processes=1 files=1 units=1\nend\n";
    const CLEAN: &str = "imds-check 1 os=linux port=50342 sample=30 via=proc\nlisten 1\nscan files=310 matched=0 capped=0\nsummary listen=1 connections=0 processes=0 files=0 units=0\nend\n";

    fn linux(stdout: &str) -> Value {
        json!({"value": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": format!("Enable succeeded: \n[stdout]\n{stdout}\n[stderr]\n")}]})
    }

    #[test]
    fn linux_shape_in_use() {
        let c = result(&linux(IN_USE), 50342);
        assert_eq!(c.verdict, Verdict::InUse);
        let e = &c.evidence;
        assert_eq!(e.connections, 15);
        assert_eq!(e.processes[0].name, "curl");
        assert_eq!(e.processes[0].pid, Some(4242));
        assert_eq!(e.processes[0].user, "app");
        assert_eq!(e.processes[1].pid, None);
        assert_eq!(e.files, ["/etc/app/settings.ini"]);
        assert_eq!(e.units, ["/etc/cron.d/token"]);
        assert_eq!(e.listening, Some(true));
        assert_eq!(
            e.listener,
            Some(Listener {
                name: "ManagedIdentity".into(),
                pid: Some(812)
            })
        );
        assert_eq!(e.files_scanned, 310);
        assert!(
            c.summary().contains("curl (pid 4242, app) x12"),
            "{}",
            c.summary()
        );
    }

    #[test]
    fn clean_and_other_port() {
        assert_eq!(result(&linux(CLEAN), 50342).verdict, Verdict::Clean);
        let c = result(&linux(CLEAN), 50343);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(c.summary().contains("port 50342 instead of 50343"));
    }

    #[test]
    fn truncated_head() {
        // Azure kept the tail: counts survive, the header is gone.
        let tail = &CLEAN[CLEAN.find("scan").unwrap()..];
        let c = result(&linux(tail), 50342);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(c.evidence.truncated);
        let tail = &IN_USE[IN_USE.find("conn 3").unwrap()..];
        let c = result(&linux(tail), 50342);
        assert_eq!(c.verdict, Verdict::InUse);
        assert!(c.evidence.reason.as_deref().unwrap().contains("truncated"));
    }

    #[test]
    fn incomplete_garbage_and_errors() {
        let cut = &IN_USE[..IN_USE.find("summary").unwrap()];
        assert!(result(&linux(cut), 50342).summary().contains("incomplete"));
        let c = result(&linux("bash: line 1: syntax error\nTOKEN=secret"), 50342);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(!c.summary().contains("secret"));
        let c = result(&linux("error bad-port\nend\n"), 50342);
        assert!(c.summary().contains("bad-port"));
        let failed = json!({"value": [{"code": "ProvisioningState/failed", "message": "Enable failed: handler crashed\n[stdout]\nx\n[stderr]\n"}]});
        let c = result(&failed, 50342);
        assert!(c.summary().contains("handler crashed"), "{}", c.summary());
        assert!(result(&json!({}), 50342).summary().contains("no `value`"));
        // Cut before the [stdout] marker: the tail is still read, and cannot prove clean.
        let cut = json!({"value": [{"code": "ProvisioningState/succeeded", "message": format!("{}\n[stderr]\n", &CLEAN[30..])}]});
        let c = result(&cut, 50342);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(c.evidence.truncated);
    }

    #[test]
    fn hostile_output_is_capped_and_cleaned() {
        let mut out = String::from("imds-check 1 os=linux port=50342 sample=30 via=ss\n");
        for i in 0..50 {
            out.push_str(&format!("conn 1 {i} root \x1b[31mred\x07\n"));
        }
        out.push_str(&format!("file /{}\n", "a".repeat(5000)));
        out.push_str("summary listen=1 connections=0 processes=0 files=0 units=0\nend\n");
        let c = report(&out, 50342);
        // Lines that show use outweigh counts that deny it.
        assert_eq!(c.verdict, Verdict::InUse);
        assert_eq!(c.evidence.processes.len(), 10);
        assert!(
            c.evidence.processes[0]
                .name
                .chars()
                .all(|ch| !ch.is_control())
        );
        assert_eq!(c.evidence.files[0].len(), 200);
        assert!(c.evidence.connections >= 10);
        let bad = "imds-check 1 os=linux port=50342\nsummary listen=1 connections=lots files=0 units=0\nend\n";
        assert_eq!(report(bad, 50342).verdict, Verdict::Unknown);
    }

    #[test]
    fn windows_shape() {
        let out = IN_USE
            .replace("os=linux", "os=windows")
            .replace('\n', "\r\n");
        let r = json!({"value": [
            {"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": out},
            {"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": ""}
        ]});
        let c = result(&r, 50342);
        assert_eq!(c.verdict, Verdict::InUse);
        assert_eq!(c.evidence.processes[0].name, "curl");
        let failed = json!({"value": [{"code": "ComponentStatus/StdOut/failed", "message": ""}]});
        assert_eq!(result(&failed, 50342).verdict, Verdict::Unknown);
    }

    /// Written the way windows.ps1 prints (CRLF, `DOMAIN\user` with spaces made `_`, process
    /// names without `.exe`, services and tasks as units), with what PowerShell may put on
    /// stderr. The Windows script cannot run here: these samples are how it is verified.
    const WINDOWS_IN_USE: &str = "imds-check 1 os=windows port=50342 sample=30 via=nettcp\r\nlisten 1 2284 MsiTokenService\r\nconn 9 3120 NT_AUTHORITY\\NETWORK_SERVICE w3wp\r\nconn 2 - ? ?\r\nfile C:\\inetpub\\wwwroot\\web.config\r\nfile C:\\ProgramData\\Contoso Agent\\agent.ini\r\nscan files=20000 matched=2 capped=1\r\nunit service:ContosoAgent\r\nunit task:\\Contoso\\RefreshToken\r\nsummary listen=1 connections=11 processes=1 files=2 units=2\r\nend\r\n";
    const WINDOWS_CLEAN: &str = "imds-check 1 os=windows port=50342 sample=30 via=netstat\r\nlisten 0 - ?\r\nscan files=5120 matched=0 capped=0\r\nsummary listen=1 connections=0 processes=0 files=0 units=0\r\nend\r\n";

    fn windows(stdout: &str, stderr: &str) -> Value {
        json!({"value": [
            {"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": stdout},
            {"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": stderr}
        ]})
    }

    #[test]
    fn windows_recorded_samples() {
        let c = result(
            &windows(WINDOWS_IN_USE, "Get-ScheduledTask : Access is denied."),
            50342,
        );
        assert_eq!(c.verdict, Verdict::InUse);
        let e = &c.evidence;
        assert_eq!(e.processes[0].name, "w3wp");
        assert_eq!(e.processes[0].user, "NT_AUTHORITY\\NETWORK_SERVICE");
        assert_eq!(e.processes[0].connections, 9);
        assert_eq!(
            e.files,
            [
                "C:\\inetpub\\wwwroot\\web.config",
                "C:\\ProgramData\\Contoso Agent\\agent.ini"
            ]
        );
        assert_eq!(
            e.units,
            ["service:ContosoAgent", "task:\\Contoso\\RefreshToken"]
        );
        assert!(e.files_capped);
        assert!(c.summary().contains("file search stopped at its cap"));
        assert!(!c.summary().contains("Access is denied"));
        assert_eq!(
            c.evidence.listener.as_ref().unwrap().name,
            "MsiTokenService"
        );
        let c = result(&windows(WINDOWS_CLEAN, ""), 50342);
        assert_eq!(c.verdict, Verdict::Clean);
        assert_eq!(c.evidence.listening, Some(false));
        assert_eq!(c.evidence.listener, None);
        // The 4 KB tail of a long report.
        let long = WINDOWS_CLEAN.replace("listen 0 - ?\r\n", &"listen 0 - ?\r\n".repeat(400));
        let tail = &long[long.len() - 4096..];
        assert_eq!(result(&windows(tail, ""), 50342).verdict, Verdict::Unknown);
    }
}

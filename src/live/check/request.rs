//! The Run Command request: validated inputs (port, sample time, search directories) and the
//! `RunCommandInput` body that carries the fixed script and its parameters.
//!
//! Shape (Azure/azure-rest-api-specs, `specification/compute/resource-manager/Microsoft.Compute/
//! ComputeRP/stable/2024-11-01/runCommand.json`, `RunCommandInput`): `commandId`, `script` (an
//! array of lines), `parameters` (`[{name, value}]`). How the script receives `parameters`:
//! - `RunShellScript` (Linux): as positional arguments in the order sent. Azure CLI documents
//!   `az vm run-command invoke --command-id RunShellScript --scripts 'echo $1 $2' --parameters
//!   hello world`, and its `run_command_invoke` names unnamed values `arg1`, `arg2`... only
//!   because "`RunCommand` API requires named arguments, which doesn't make lots of sense for bash
//!   scripts using positional arguments" (Azure/azure-cli, `command_modules/vm/custom.py`). So the
//!   order below is the contract: `PORT`, `SAMPLE_SECONDS`, `SEARCH_DIRS`.
//! - `RunPowerShellScript` (Windows): as named script parameters; the built-in command's own
//!   document declares them in a `param(...)` block (`runCommandExamples/RunCommand_Get.json`),
//!   and Microsoft's `Invoke-AzVMRunCommand -Parameter @{"arg1" = "var1"}` examples pass them by
//!   name. The Windows script declares `param($PORT, $SAMPLE_SECONDS, $SEARCH_DIRS)`.

use serde_json::{Value, json};

use super::script::Os;

/// The extension's default port.
pub const DEFAULT_PORT: u16 = 50342;
/// Longest sampling the scripts accept (they clamp to it too): the whole check stays near 60 s.
pub const MAX_SAMPLE_SECONDS: u32 = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub port: u16,
    pub sample_seconds: u32,
    pub search_dirs: String,
}

/// The port from the extension's `settings.port` (a number or a numeric string; absent means
/// the default), validated as 1..65535 before it goes anywhere.
pub fn port_from_setting(setting: Option<&Value>) -> Result<u16, String> {
    let invalid = |shown: String| format!("settings.port {shown} is not a port (1..65535)");
    match setting {
        None | Some(Value::Null) => Ok(DEFAULT_PORT),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u16)
            .ok_or_else(|| invalid(n.to_string())),
        Some(Value::String(s)) => {
            let t = s.trim();
            t.parse::<u16>()
                .ok()
                .filter(|p| *p >= 1 && t.len() <= 5 && t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| invalid(format!("`{}`", shorten(s))))
        }
        Some(_) => Err(invalid("(not a number)".to_owned())),
    }
}

fn shorten(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > 20 {
        format!("{}...", clean.chars().take(20).collect::<String>())
    } else {
        clean
    }
}

/// `--search-dirs`: `:`-separated absolute directories for `os`, printable, bounded.
pub fn validate_dirs(os: Os, dirs: &str) -> Result<(), String> {
    if dirs.is_empty() || dirs.len() > 1024 {
        return Err("must be 1 to 1024 characters".to_owned());
    }
    if dirs.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    let entries: Vec<&str> = match os {
        Os::Linux => dirs.split(':').collect(),
        Os::Windows => split_windows(dirs),
    };
    for e in entries.iter().filter(|e| !e.is_empty()) {
        let absolute = match os {
            Os::Linux => e.starts_with('/'),
            Os::Windows => {
                let b = e.as_bytes();
                b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\'
            }
        };
        if !absolute {
            return Err(format!("`{}` is not an absolute directory", shorten(e)));
        }
    }
    Ok(())
}

/// `C:\a:D:\b` -> `C:\a`, `D:\b`: a colon followed by `\` or `/` belongs to a drive.
fn split_windows(dirs: &str) -> Vec<&str> {
    let b = dirs.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..b.len() {
        if b[i] == b':' && !matches!(b.get(i + 1), Some(b'\\' | b'/')) {
            out.push(&dirs[start..i]);
            start = i + 1;
        }
    }
    out.push(&dirs[start..]);
    out
}

/// The `RunCommandInput` body: the fixed script as lines, and the three parameters.
pub fn body(os: Os, p: &Params) -> Value {
    let script: Vec<&str> = os.script().lines().collect();
    json!({
        "commandId": os.command_id(),
        "script": script,
        "parameters": [
            {"name": "PORT", "value": p.port.to_string()},
            {"name": "SAMPLE_SECONDS", "value": p.sample_seconds.min(MAX_SAMPLE_SECONDS).to_string()},
            {"name": "SEARCH_DIRS", "value": p.search_dirs},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_validated() {
        assert_eq!(port_from_setting(None), Ok(50342));
        assert_eq!(port_from_setting(Some(&json!(50343))), Ok(50343));
        assert_eq!(port_from_setting(Some(&json!("51234"))), Ok(51234));
        for bad in [
            json!(0),
            json!(65536),
            json!(-1),
            json!(1.5),
            json!("80; rm -rf /"),
            json!("0"),
            json!(""),
            json!([1]),
        ] {
            assert!(port_from_setting(Some(&bad)).is_err(), "{bad}");
        }
        let e = port_from_setting(Some(&json!("$(reboot)\n"))).unwrap_err();
        assert!(e.contains("`$(reboot)?`"), "{e}");
    }

    #[test]
    fn search_dirs_are_validated() {
        assert!(validate_dirs(Os::Linux, "/etc:/opt/app").is_ok());
        assert!(validate_dirs(Os::Linux, "etc").is_err());
        assert!(validate_dirs(Os::Linux, "/etc\n/x").is_err());
        assert!(validate_dirs(Os::Windows, r"C:\ProgramData:D:\apps").is_ok());
        assert!(validate_dirs(Os::Windows, r"apps:C:\x").is_err());
        assert_eq!(split_windows(r"C:\a:D:\b c"), vec![r"C:\a", r"D:\b c"]);
    }

    #[test]
    fn body_carries_script_and_parameters_in_order() {
        let p = Params {
            port: 50343,
            sample_seconds: 99,
            search_dirs: "/etc".into(),
        };
        let b = body(Os::Linux, &p);
        assert_eq!(b["commandId"], "RunShellScript");
        let names: Vec<&str> = b["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["PORT", "SAMPLE_SECONDS", "SEARCH_DIRS"]);
        assert_eq!(b["parameters"][1]["value"], "40");
        let lines = b["script"].as_array().unwrap();
        assert_eq!(lines.len(), super::super::script::LINUX.lines().count());
        assert_eq!(body(Os::Windows, &p)["commandId"], "RunPowerShellScript");
    }
}

//! Commands held in a string that something runs: `bash -c "..."`, `sh -c '...'`,
//! `Invoke-Expression "..."` / `iex '...'`, `pwsh -Command "..."`, cloud-init
//! `[ sh, -c, "..." ]`, and custom-script `commandToExecute` in ARM JSON and Terraform. The
//! string is decoded, analyzed as the shell or PowerShell script it is, and findings are moved
//! back to their place in the file. Strings nobody runs (`echo "az login ..."`, an assignment)
//! are not commands.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    Analysis, Context,
    embedded::{Quoting, decode_quoted, extend_mapped},
    lexical,
};
use crate::kind::FileKind;

/// Strings inside strings inside strings are rare; this bounds the work on hostile input.
const MAX_DEPTH: usize = 3;

struct Runner {
    re: Regex,
    kind: FileKind,
    /// The string's quoting when it is not decided by its quote character.
    json: bool,
}

static RUNNERS: LazyLock<Vec<Runner>> = LazyLock::new(|| {
    let r = |p: &str, kind, json| Runner {
        re: crate::analyzers::pattern::compile(p).expect("valid regex"),
        kind,
        json,
    };
    vec![
        // `bash -c "..."`, `sudo sh -ec '...'`, `/bin/bash -lc "..."`
        r(
            r#"(?:^|[\s;&|(/])(?:ba|z|da|k)?sh(?:\s+-[a-z]+)*?\s+-[a-z]*c[a-z]*\s+["']"#,
            FileKind::Shell,
            false,
        ),
        // `pwsh -Command "..."`, `powershell.exe -NoProfile -c '...'`
        r(
            r#"(?i)(?:^|[\s;&|(\\/])(?:pwsh|powershell)(?:\.exe)?(?:\s+-\w+(?:\s+[\w.]+)?)*?\s+-(?:c|command)\s+["']"#,
            FileKind::PowerShell,
            false,
        ),
        // `Invoke-Expression "..."`, `iex '...'`, `Invoke-Expression -Command "..."`
        r(
            r#"(?i)(?:^|[\s;|(=])(?:Invoke-Expression|iex)(?:\s+-Command)?\s+["']"#,
            FileKind::PowerShell,
            false,
        ),
        // cloud-init and exec arrays: `[ sh, -c, "..." ]`, `["bash", "-c", "..."]`
        r(
            r#"\[\s*["']?(?:/bin/)?(?:ba)?sh["']?\s*,\s*["']?-c["']?\s*,\s*["']"#,
            FileKind::Shell,
            false,
        ),
        // custom-script settings: `"commandToExecute": "..."` (JSON) or `commandToExecute = "..."` (HCL)
        r(
            r#"(?i)["']?commandToExecute["']?\s*[:=]\s*""#,
            FileKind::Shell,
            true,
        ),
    ]
});

thread_local! {
    /// How many runner strings the current analysis is inside: the analyzers of a decoded
    /// string run this module again for strings nested in it.
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The kinds whose text may run a command held in a string.
pub fn applies_to(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Shell
            | FileKind::PowerShell
            | FileKind::Batch
            | FileKind::Yaml
            | FileKind::Arm
            | FileKind::ArmParameters
            | FileKind::Json
            | FileKind::Terraform
    )
}

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    let depth = DEPTH.with(std::cell::Cell::get);
    if depth >= MAX_DEPTH || !worth_a_look(text) {
        return;
    }
    DEPTH.with(|d| d.set(depth + 1));
    analyze_strings(text, ctx, out);
    DEPTH.with(|d| d.set(depth));
}

fn analyze_strings(text: &str, ctx: &Context, out: &mut Analysis) {
    let lexed = lexical::lex(text, ctx.kind);
    for runner in RUNNERS.iter() {
        for m in runner.re.find_iter(text) {
            let open = m.end() - 1;
            if lexed.in_comment(open) {
                continue;
            }
            let quote = text.as_bytes()[open];
            let json_like = matches!(
                ctx.kind,
                FileKind::Arm | FileKind::ArmParameters | FileKind::Json | FileKind::Terraform
            );
            let quoting = match (runner.json || json_like, quote) {
                (true, b'"') => Quoting::Json,
                (_, b'\'') => Quoting::Single,
                (_, _) if ctx.kind == FileKind::PowerShell => Quoting::PowerShellDouble,
                _ => Quoting::ShellDouble,
            };
            let Some(close) = closing_quote(text, open, quoting) else {
                continue;
            };
            let inner = decode_quoted(text, open, close, quoting);
            // A Windows custom script runs PowerShell through `powershell -Command`: the
            // nested runner finds it.
            let sub_ctx = Context {
                kind: runner.kind,
                ..*ctx
            };
            let mut sub = super::analyze(&inner.text, &sub_ctx);
            sub.problems.clear();
            // What a fix inserts lands in the same string: a quote or an escape character
            // would change its meaning there (`$var` copied from the string expands as before).
            let escaped: &[char] = match quoting {
                Quoting::Single => &['\''],
                _ => &['"', '\\', '`'],
            };
            extend_mapped(out, sub, &inner, escaped);
        }
    }
}

/// Only strings that could hold something the analyzers report are decoded.
fn worth_a_look(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    (lower.contains("-c")
        || lower.contains("iex")
        || lower.contains("invoke-expression")
        || lower.contains("commandtoexecute"))
        && (lower.contains("managedidentity")
            || lower.contains("msi-port")
            || lower.contains("identity-port")
            || lower.contains("assign-identity")
            || lower.contains("oauth2"))
}

/// The quote that closes the string opened at `open`, honouring the quoting's escapes.
fn closing_quote(text: &str, open: usize, quoting: Quoting) -> Option<usize> {
    let b = text.as_bytes();
    let q = b[open];
    let mut i = open + 1;
    while i < b.len() {
        let c = b[i];
        match quoting {
            Quoting::Json | Quoting::ShellDouble if c == b'\\' => {
                i += 2;
                continue;
            }
            Quoting::Json if c == b'\n' => return None,
            Quoting::PowerShellDouble if c == b'`' => {
                i += 2;
                continue;
            }
            Quoting::PowerShellDouble if c == b'"' && b.get(i + 1) == Some(&b'"') => {
                i += 2;
                continue;
            }
            Quoting::Single if c == b'\'' && b.get(i + 1) == Some(&b'\'') && q == b'\'' => {
                // Doubled single quotes only mean a quote in PowerShell; in shell they close
                // and reopen, which reads the same for our purpose.
                i += 2;
                continue;
            }
            _ => {}
        }
        if c == q {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, kind: FileKind) -> Vec<(&'static str, String, bool)> {
        let ctx = Context {
            kind,
            path: "deploy/setup",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let a = super::super::analyze(text, &ctx);
        a.diagnostics
            .iter()
            .map(|d| (d.rule, text[d.range.clone()].to_owned(), d.fix.is_some()))
            .collect()
    }

    const SET: &str = "az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity";

    #[test]
    fn shell_and_powershell_runners() {
        let sh = format!("bash -c \"{SET}\"\nssh h sudo sh -ec '{SET}'\n");
        let found = run(&sh, FileKind::Shell);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .all(|(r, s, fix)| *r == "IMDS011" && s == SET && *fix)
        );
        let ps = format!(
            "Invoke-Expression \"{SET}\"\niex 'Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name m -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -Location x'\n"
        );
        let rules: Vec<_> = run(&ps, FileKind::PowerShell)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(rules, ["IMDS011", "IMDS010"]);
    }

    #[test]
    fn custom_script_settings_and_exec_arrays() {
        let json = "{\"settings\": {\"commandToExecute\": \"az login --msi --msi-port 50342 && echo \\\"done\\\"\"}}";
        let found = run(json, FileKind::Arm);
        assert_eq!(found[0].0, "IMDS012");
        assert_eq!(found[0].1, "az login --msi --msi-port 50342");
        let tf = "settings = <<S\n{\"commandToExecute\": \"powershell -Command \\\"az login --msi --msi-port 50342\\\"\"}\nS\n";
        let found = run(tf, FileKind::Terraform);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "az login --msi --msi-port 50342");
        let ci = format!("runcmd:\n  - [ sh, -c, \"{SET}\" ]\n");
        assert_eq!(run(&ci, FileKind::Yaml)[0].1, SET);
    }

    #[test]
    fn strings_nobody_runs_and_removals_are_not_flagged() {
        for (t, kind) in [
            (format!("echo \"{SET}\"\nX='{SET}'\n"), FileKind::Shell),
            (
                "bash -c \"az vm extension delete -g rg --vm-name vm -n ManagedIdentityExtensionForLinux\"\n".to_owned(),
                FileKind::Shell,
            ),
            (format!("# bash -c \"{SET}\"\n"), FileKind::Shell),
            (format!("Write-Host \"iex '{SET}'\"\n"), FileKind::PowerShell),
        ] {
            assert!(run(&t, kind).is_empty(), "{t}");
        }
    }
}

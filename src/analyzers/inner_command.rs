//! Commands held in a string that something runs: `bash -c "..."`, `sh -c '...'`,
//! `Invoke-Expression "..."` / `iex '...'`, `pwsh -Command "..."`, `ssh host "..."`, cloud-init
//! `[ sh, -c, "..." ]` and exec calls, Jenkins `sh`/`bat`/`powershell` steps, programs' shell
//! calls (`subprocess.run("...", shell=True)`, `execSync`), custom-script `commandToExecute` in
//! ARM JSON and Terraform, and Terraform `custom_data`/`user_data` boot scripts. The string is
//! decoded, analyzed as the shell or PowerShell script it is, and findings are moved back to
//! their place in the file. Strings nobody runs (`echo "az login ..."`, an assignment) are not
//! commands.

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
    /// The files whose text the runner's syntax belongs to.
    scope: Scope,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Scripts, pipelines, templates and programs alike.
    Any,
    /// Programs that hand a string to a shell (`subprocess.run("...", shell=True)`).
    Code,
    /// Jenkins pipelines (Groovy): `sh '...'`, `bat "..."`, `powershell """..."""`.
    Jenkins,
}

impl Scope {
    fn covers(self, ctx: &Context) -> bool {
        match self {
            // A text of no known language is read only for Jenkins steps: elsewhere it is
            // prose, where a quoted command is an example.
            Scope::Any => ctx.kind != FileKind::Text,
            Scope::Code => matches!(ctx.kind, FileKind::Code(_)),
            Scope::Jenkins => is_jenkins(ctx.path),
        }
    }
}

fn is_jenkins(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.starts_with("jenkinsfile") || name.ends_with(".jenkinsfile") || name.ends_with(".groovy")
}

static RUNNERS: LazyLock<Vec<Runner>> = LazyLock::new(|| {
    let scoped = |p: &str, kind, json, scope| Runner {
        re: crate::analyzers::pattern::compile(p).expect("valid regex"),
        kind,
        json,
        scope,
    };
    let r = |p: &str, kind, json| scoped(p, kind, json, Scope::Any);
    // Groovy's `sh """..."""`: the string is read from the last quote of the three.
    let jenkins = |step: &str, kind| {
        scoped(
            &format!(r#"(?:^|[\s;{{(])(?:{step})\s*\(?\s*(?:script\s*:\s*)?(?:"""|'''|"|')"#),
            kind,
            false,
            Scope::Jenkins,
        )
    };
    vec![
        // `ssh host "..."`, `ssh -t ops@jump 'sudo ...'`: the remote command is a shell's
        r(
            r#"(?:^|[\s;&|(])ssh\s[^"'\n#;|&]*?\s["']"#,
            FileKind::Shell,
            false,
        ),
        jenkins("sh", FileKind::Shell),
        jenkins("bat", FileKind::Batch),
        jenkins("powershell|pwsh", FileKind::PowerShell),
        // `os.system("...")`, `subprocess.check_call(f"...", shell=True)`, `execSync('...')`
        scoped(
            r#"(?:\bos\.(?:system|popen)|\bsubprocess\.(?:run|call|check_call|check_output|Popen|getoutput)|\bexecSync|\bexecFileSync)\(\s*[rRbBuUfF]{0,2}(?:"""|'''|"|'|`)"#,
            FileKind::Shell,
            false,
            Scope::Code,
        ),
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
        // cloud-init and exec arrays: `[ sh, -c, "..." ]`, `["bash", "-c", "..."]`, and exec
        // calls: `exec.Command("bash", "-c", "...")`
        r(
            r#"[\[(]\s*["']?(?:/bin/)?(?:ba)?sh["']?\s*,\s*["']?-c["']?\s*,\s*["']"#,
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
            | FileKind::Code(_)
            | FileKind::Text
    )
}

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    let depth = DEPTH.with(std::cell::Cell::get);
    if depth >= MAX_DEPTH || !worth_a_look(text) {
        return;
    }
    DEPTH.with(|d| d.set(depth + 1));
    analyze_strings(text, ctx, out);
    if ctx.kind == FileKind::Terraform {
        boot_scripts(text, ctx, out);
    }
    DEPTH.with(|d| d.set(depth));
}

fn analyze_strings(text: &str, ctx: &Context, out: &mut Analysis) {
    let lexed = lexical::lex(text, ctx.kind);
    for runner in RUNNERS.iter().filter(|r| r.scope.covers(ctx)) {
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

/// The script a Terraform VM runs at first boot: a `custom_data`/`user_data` heredoc (also
/// inside `base64encode(...)`), analyzed as the shell script or cloud-config it holds.
fn boot_scripts(text: &str, ctx: &Context, out: &mut Analysis) {
    static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"\b(?:custom_data|user_data)\s*=\s*(?:base64(?:encode|gzip)\s*\(\s*)?<<-?(?P<id>[A-Za-z_]\w*)[ \t]*\r?\n",
        )
        .expect("valid regex")
    });
    let lexed = lexical::lex(text, ctx.kind);
    for c in HEREDOC.captures_iter(text) {
        let (Some(m), Some(id)) = (c.get(0), c.name("id")) else {
            continue;
        };
        if lexed.in_comment(m.start()) {
            continue;
        }
        let start = m.end();
        let mut end = text.len();
        let mut pos = start;
        for line in text[start..].split_inclusive('\n') {
            if line.trim() == id.as_str() {
                end = pos;
                break;
            }
            pos += line.len();
        }
        let body = &text[start..end];
        let kind = if body.trim_start().starts_with("#cloud-config") {
            FileKind::Yaml
        } else {
            FileKind::Shell
        };
        let mut sub = super::analyze(body, &Context { kind, ..*ctx });
        sub.problems.clear();
        // A changed boot script makes Terraform replace the VM: no edit here is harmless.
        sub.diagnostics = sub
            .diagnostics
            .into_iter()
            .map(|mut d| {
                if d.fix.take().is_some() {
                    d.with_fix_or_reason(Err(
                        "the script is the VM's boot data, and changing it makes Terraform replace the VM; edit it when the VM is rebuilt anyway".to_owned(),
                    ))
                } else {
                    d
                }
            })
            .collect();
        out.extend_shifted(sub, start);
    }
}

/// Only strings that could hold something the analyzers report are decoded.
fn worth_a_look(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let runner = [
        "-c",
        "iex",
        "invoke-expression",
        "commandtoexecute",
        "ssh",
        "sh ",
        "sh(",
        "bat ",
        "powershell",
        "system(",
        "popen(",
        "subprocess.",
        "execsync(",
        "execfilesync(",
        "_data",
    ];
    let payload = [
        "managedidentity",
        "msi-port",
        "identity-port",
        "assign-identity",
        "login",
        "oauth2",
    ];
    runner.iter().any(|w| lower.contains(w)) && payload.iter().any(|w| lower.contains(w))
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

    fn run_at(text: &str, kind: FileKind, path: &str) -> Vec<(&'static str, String)> {
        let ctx = Context {
            kind,
            path,
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        super::super::analyze(text, &ctx)
            .diagnostics
            .iter()
            .map(|d| (d.rule, text[d.range.clone()].to_owned()))
            .collect()
    }

    #[test]
    fn remote_jenkins_and_program_runners() {
        let ssh = format!("ssh -t ops@jump \"{SET}\"\n");
        assert_eq!(
            run_at(&ssh, FileKind::Shell, "x.sh"),
            [("IMDS011", SET.to_owned())]
        );
        let login = "az login -u ${env.SUB}@50342";
        let jenkins = format!("steps {{\n  sh '{SET}'\n  sh \"\"\"\n    {login}\n  \"\"\"\n}}\n");
        assert_eq!(
            run_at(&jenkins, FileKind::Text, "ci/Jenkinsfile"),
            [("IMDS011", SET.to_owned()), ("IMDS013", login.to_owned())]
        );
        // The same words outside a Jenkins pipeline are no step, and Python's `exec` runs
        // Python, not a shell.
        let no_command = |t: &str, kind, path| {
            run_at(t, kind, path)
                .iter()
                .all(|(rule, _)| !matches!(*rule, "IMDS011" | "IMDS013"))
        };
        assert!(no_command(&jenkins, FileKind::Text, "notes.txt"));
        assert!(no_command(&ssh, FileKind::Text, "notes.txt"));
        let exec = format!("exec(\"{SET}\")\n");
        assert!(no_command(
            &exec,
            FileKind::Code(crate::kind::Lang::Python),
            "a.py"
        ));
        let py = format!("import subprocess\nsubprocess.check_call(\"{SET}\", shell=True)\n");
        // Reported once, as the command (not also as SDK code naming the publisher).
        assert_eq!(
            run_at(&py, FileKind::Code(crate::kind::Lang::Python), "a.py"),
            [("IMDS011", SET.to_owned())]
        );
        let go = format!("cmd := exec.Command(\"bash\", \"-c\", \"{SET}\")\n");
        assert_eq!(
            run_at(&go, FileKind::Code(crate::kind::Lang::Go), "a.go"),
            [("IMDS011", SET.to_owned())]
        );
    }

    #[test]
    fn terraform_boot_scripts() {
        let login = "az login -u ${var.sub}@50342";
        let tf = format!(
            "resource \"azurerm_linux_virtual_machine\" \"vm\" {{\n  custom_data = base64encode(<<-EOT\n    #!/bin/sh\n    {login}\n  EOT\n  )\n}}\n"
        );
        assert_eq!(
            run_at(&tf, FileKind::Terraform, "main.tf"),
            [("IMDS013", login.to_owned())]
        );
        let set = format!("resource \"x\" \"y\" {{\n  user_data = <<EOF\n{SET}\nEOF\n}}\n");
        let ctx = Context {
            kind: FileKind::Terraform,
            path: "main.tf",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let found = super::super::analyze(&set, &ctx).diagnostics;
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.is_none() && found[0].message.contains("replace the VM"));
        let removal = "resource \"x\" \"y\" {\n  user_data = <<EOF\naz vm extension delete -g rg --vm-name vm -n ManagedIdentityExtensionForLinux\naz login --identity\nEOF\n}\n";
        assert!(run_at(removal, FileKind::Terraform, "main.tf").is_empty());
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
            (format!("ssh h \"echo '{SET}'\"\n"), FileKind::Shell),
        ] {
            assert!(run(&t, kind).is_empty(), "{t}");
        }
    }
}

//! Azure CLI commands that install the extension (IMDS011) or sign in through it (IMDS012), in
//! shell, PowerShell and cmd scripts and in the script steps of YAML pipelines.
//!
//! This module finds the `az` commands and handles `az login`; `args` parses their arguments,
//! `extension_set` reports and rewrites `az vm/vmss extension set`, and `yaml` finds the scripts
//! of a pipeline.

mod args;
mod extension_set;
mod yaml;

pub(super) use self::args::{command_end, find, parse_args};
use self::{
    extension_set::{Place, extension_set},
    yaml::yaml_scripts,
};
use super::command::{self, Command, Dialect, Options, Value, Vars, Word, args_end, program_index};
use super::scale_set::Script;
use super::{Analysis, Context};
use crate::finding::{Diagnostic, Edit, Fix};
use crate::kind::FileKind;

pub const RULE_SET: &str = "IMDS011";
pub const RULE_LOGIN: &str = "IMDS012";

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    // Nothing to find without an `az`; most files stop here.
    let has_az = text
        .as_bytes()
        .windows(2)
        .any(|w| w.eq_ignore_ascii_case(b"az"));
    let dialect = match ctx.kind {
        FileKind::PowerShell => Dialect::PowerShell,
        FileKind::Shell => Dialect::Posix,
        FileKind::Batch => Dialect::Batch,
        FileKind::Yaml => return analyze_yaml(text, has_az, out),
        _ => return,
    };
    if !has_az {
        return;
    }
    let opts = Options::from(dialect);
    let cmds = command::commands(text, 0..text.len(), opts);
    let vars = Vars::collect(text, &cmds, dialect);
    let script = Script::new(text, &cmds, dialect);
    for cmd in &cmds {
        check(text, cmd, opts, &vars, &script, out);
    }
}

/// The script steps of a YAML pipeline: az commands in every dialect, and the `Set-Az...`
/// cmdlets of inline PowerShell. Variables of all steps and the file's `key: value` pairs are
/// gathered once, so the work stays linear in the number of steps.
fn analyze_yaml(text: &str, has_az: bool, out: &mut Analysis) {
    let lower = text.to_ascii_lowercase();
    let has_cmdlet = lower.contains("vmextension") || lower.contains("vmssextension");
    if !has_az && !has_cmdlet {
        return;
    }
    let (regions, mut vars) = yaml_scripts(text);
    let mut all = Vec::new();
    for (range, opts) in regions {
        let cmds = command::commands(text, range, opts);
        vars.append(Vars::collect(text, &cmds, opts.dialect));
        all.push((cmds, opts));
    }
    for (cmds, opts) in &all {
        let script = Script::new(text, cmds, opts.dialect);
        for cmd in cmds {
            if has_az {
                check(text, cmd, *opts, &vars, &script, out);
            }
            if has_cmdlet && opts.dialect == Dialect::PowerShell {
                super::powershell::check(text, cmd, *opts, &vars, &script, out);
            }
        }
    }
}

fn check(
    text: &str,
    cmd: &Command,
    opts: Options,
    vars: &Vars,
    script: &Script,
    out: &mut Analysis,
) {
    let Some(p) = program_index(cmd, opts.dialect) else {
        return;
    };
    let end = args_end(cmd, p);
    if p >= end {
        return;
    }
    let words = &cmd.words[p..end];
    let program = words[0].value.trim_start_matches(['@', '-']);
    let program = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let is_az = ["az", "az.cmd", "az.exe", "az.bat"]
        .iter()
        .any(|n| program.eq_ignore_ascii_case(n));
    if !is_az {
        return;
    }
    let sub: Vec<String> = words
        .iter()
        .skip(1)
        .take(3)
        .map(|w| w.value.to_ascii_lowercase())
        .collect();
    let sub: Vec<&str> = sub.iter().map(String::as_str).collect();
    // The range starts at `az` itself, past a Makefile's `@`.
    let raw0 = &text[words[0].range.clone()];
    let start = words[0].range.start + (raw0.len() - raw0.trim_start_matches(['@', '-']).len());
    match sub.as_slice() {
        [scope @ ("vm" | "vmss"), "extension", "set", ..] => {
            let at = Place { start, script };
            extension_set(text, words, *scope == "vmss", &at, opts, vars, out);
        }
        ["login", ..] => {
            login(text, words, start, vars, out);
            super::azcli_legacy::login_username(text, words, start, vars, out);
        }
        [scope @ ("vm" | "vmss"), "assign-identity", ..] => {
            super::azcli_legacy::assign_identity(text, words, scope, start, vars, out);
        }
        _ => {}
    }
}

fn login(text: &str, words: &[Word], start: usize, vars: &Vars, out: &mut Analysis) {
    let args = parse_args(text, &words[2..]);
    // `--identity-port` was the flag's other name until both were removed.
    let Some(port_arg) = find(&args, &["--msi-port", "--identity-port"]) else {
        return;
    };
    let port_value = port_arg
        .value
        .as_ref()
        .map(|v| vars.resolve(&v.word, start));
    let port = match &port_value {
        Some(Value::Known(p)) => p.trim().parse::<u16>().ok(),
        _ => None,
    };
    if let Some(p) = port {
        out.declared_ports.push(p);
    }
    let range = start..command_end(&args, words[1].range.end);
    let port_text = port_arg
        .value
        .as_ref()
        .map_or(String::new(), |v| format!(" {}", &text[v.raw.clone()]));
    let message = format!(
        "`az login {}{port_text}` signs in through the retired Managed Identity extension's local token service; use `az login --identity`, which gets tokens from IMDS",
        port_arg.flag
    );
    let identity = args
        .iter()
        .find(|a| matches!(a.flag.as_str(), "--msi" | "--identity" | "-i"));
    let port_start = port_arg.flag_word.range.start;
    let port_end = port_arg.end();
    let mut edits = Vec::new();
    match identity {
        Some(id) => {
            edits.push(Edit::deletion(port_arg.removal(words)));
            if id.flag == "--msi" && !id.eq {
                edits.push(Edit::replacement(id.flag_word.range.clone(), "--identity"));
            }
        }
        None => edits.push(Edit::replacement(port_start..port_end, "--identity")),
    }
    let fix = Fix::safe("Sign in with `az login --identity` (IMDS)", edits);
    out.push(Diagnostic::new(RULE_LOGIN, range, message).with_fix(fix));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply::apply_fixes;

    pub(super) fn run(text: &str, kind: FileKind) -> Analysis {
        let ctx = Context {
            kind,
            path: "x",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        crate::analyzers::analyze(text, &ctx)
    }

    pub(super) fn fixed(text: &str, kind: FileKind, rule: &str) -> (Vec<Diagnostic>, String) {
        let diags: Vec<Diagnostic> = run(text, kind)
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == rule)
            .collect();
        let fixes: Vec<&Fix> = diags.iter().filter_map(|d| d.fix.as_ref()).collect();
        let (out, _) = apply_fixes(text, &fixes, false);
        let again = run(&out, kind);
        assert!(
            again.diagnostics.iter().all(|d| d.rule != rule),
            "fix is not idempotent:\n{out}"
        );
        (diags, out)
    }

    #[test]
    fn substitutions_pipes_and_sudo() {
        let t = "ID=$(az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --query id -o tsv)\nsudo az login --msi --msi-port 50342 | tee log\nif ! az login --msi --msi-port 50342; then exit 1; fi\n";
        let a = run(t, FileKind::Shell);
        let rules: Vec<&str> = a.diagnostics.iter().map(|d| d.rule).collect();
        assert_eq!(rules, vec![RULE_SET, RULE_LOGIN, RULE_LOGIN]);
        let (_, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert!(out.starts_with(
            "ID=$(az vm extension delete -g rg --vm-name vm -n ManagedIdentityExtensionForLinux)\n"
        ));
        let (_, out) = fixed(t, FileKind::Shell, RULE_LOGIN);
        assert!(out.ends_with(
            "sudo az login --identity | tee log\nif ! az login --identity; then exit 1; fi\n"
        ));
    }

    #[test]
    fn positional_parameters_in_a_function() {
        let t = "function deploy_msi_extension {\n    VM_OS=$(az vm show -n ${1} --resource-group ${2} --query \"storageProfile.osDisk.osType\" -o tsv)\n    if [ $VM_OS = \"Linux\" ]; then\n        az vm extension set -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --vm-name $1 --resource-group $2\n    elif [ $VM_OS = \"Windows\" ]; then\n        az vm extension set -n ManagedIdentityExtensionForWindows --publisher Microsoft.ManagedIdentity --vm-name $1 --resource-group $2\n    fi\n}\n";
        let (d, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert_eq!(d.len(), 2);
        assert!(out.contains("\n        az vm extension delete --resource-group $2 --vm-name $1 -n ManagedIdentityExtensionForLinux\n"));
    }

    #[test]
    fn prompts_in_docs() {
        let bat = "C:\\Users\\me>az login --msi --msi-port 50342\r\n";
        assert_eq!(run(bat, FileKind::Batch).diagnostics.len(), 1);
        let sh = "$ az login --msi --msi-port 50342\n";
        assert_eq!(run(sh, FileKind::Shell).diagnostics.len(), 1);
        let ps = "PS /home/me> az login --msi --msi-port 50342\n";
        let (d, out) = fixed(ps, FileKind::PowerShell, RULE_LOGIN);
        assert_eq!(d.len(), 1);
        assert_eq!(out, "PS /home/me> az login --identity\n");
    }

    #[test]
    fn login_forms() {
        for (t, want) in [
            ("az login --msi --msi-port 50342\n", "az login --identity\n"),
            (
                "az login --identity --msi-port=50343 --username $ID\n",
                "az login --identity --username $ID\n",
            ),
            (
                "az login --msi-port 50342 --msi -u id\n",
                "az login --identity -u id\n",
            ),
            (
                "az login --msi \\\n  --msi-port 50342 \\\n  --allow-no-subscriptions\n",
                "az login --identity \\\n  --allow-no-subscriptions\n",
            ),
            ("az login --msi-port 50342\n", "az login --identity\n"),
            (
                "az login --identity --identity-port 50342\n",
                "az login --identity\n",
            ),
        ] {
            let (d, out) = fixed(t, FileKind::Shell, RULE_LOGIN);
            assert_eq!(d.len(), 1, "{t}");
            assert_eq!(out, want);
        }
        let a = run("az login --msi --msi-port=50343\n", FileKind::Shell);
        assert_eq!(a.declared_ports, vec![50343]);
    }

    #[test]
    fn look_alikes_are_not_flagged() {
        for t in [
            "az vm extension delete -g rg --vm-name vm -n ManagedIdentityExtensionForLinux\n",
            "az vm extension show -g rg --vm-name vm -n ManagedIdentityExtensionForLinux\n",
            "az vm extension list -g rg --vm-name vm --query \"[?publisher=='Microsoft.ManagedIdentity']\"\n",
            "az login --identity\n",
            "az login --msi\n",
            "$ az login --identity\n",
            "# az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\n",
            "echo \"az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\"\n",
            "echo az login --msi --msi-port 50342\n",
            "az vm extension set -g rg --vm-name vm -n CustomScript --publisher Microsoft.Azure.Extensions\n",
            "az vm extension set -g rg --vm-name vm -n AzureMonitorLinuxAgent --publisher Microsoft.Azure.Monitor\n",
            "cat <<EOF > README\naz vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\nEOF\n",
            "X='az login --msi --msi-port 50342'\n",
            "az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.Other\n",
        ] {
            let a = run(t, FileKind::Shell);
            assert!(a.diagnostics.is_empty(), "{t}: {:?}", a.diagnostics);
        }
        let ps = "Write-Host \"az login --msi --msi-port 50342\"\n<# az login --msi --msi-port 50342 #>\n";
        assert!(run(ps, FileKind::PowerShell).diagnostics.is_empty());
        let bat = "REM az login --msi --msi-port 50342\r\n:: az login --msi --msi-port 50342\r\necho az login --msi --msi-port 50342\r\necho (az login --msi --msi-port 50342)\r\n";
        assert!(run(bat, FileKind::Batch).diagnostics.is_empty());
        let yml = "# - script: az login --msi --msi-port 50342\ndescription: |\n  az login --msi --msi-port 50342\n";
        assert!(run(yml, FileKind::Yaml).diagnostics.is_empty());
    }

    #[test]
    fn heredoc_fed_to_a_shell_is_a_script() {
        let t = "ssh vm bash <<'EOF'\naz login --msi --msi-port 50342\nEOF\naz account show\n";
        let a = run(t, FileKind::Shell);
        assert_eq!(a.diagnostics.len(), 1);
        assert_eq!(
            &t[a.diagnostics[0].range.clone()],
            "az login --msi --msi-port 50342"
        );
    }

    /// Every fix in the positive fixtures applies, keeps the text outside its range, and leaves
    /// nothing for its rule to find but the findings that had no fix.
    #[test]
    fn fixture_fixes_are_idempotent() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
        for rule in ["IMDS010", "IMDS011", "IMDS012"] {
            for entry in std::fs::read_dir(root.join(rule)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let kind = crate::kind::classify(&path, &text);
                let before = run(&text, kind);
                let fixes: Vec<&Fix> = before
                    .diagnostics
                    .iter()
                    .filter_map(|d| d.fix.as_ref())
                    .collect();
                let (out, taken) = apply_fixes(&text, &fixes, false);
                assert_eq!(taken.len(), fixes.len(), "{}", path.display());
                let after = run(&out, kind);
                let unfixed = before
                    .diagnostics
                    .iter()
                    .filter(|d| d.fix.is_none())
                    .count();
                assert_eq!(
                    after.diagnostics.len(),
                    unfixed,
                    "{}:\n{out}",
                    path.display()
                );
            }
        }
    }

    const PIECES: &[&str] = &[
        "az",
        "vm",
        "vmss",
        "extension",
        "set",
        "login",
        "--publisher",
        "Microsoft.ManagedIdentity",
        "-n",
        "--name=",
        "ManagedIdentityExtensionForLinux",
        "-g",
        "rg",
        "--vm-name",
        "--msi",
        "--msi-port",
        "50342",
        "--settings",
        "'{\"port\": 1}'",
        "$PUB",
        "PUB=",
        "${PUB}",
        "%PUB%",
        "Set-AzVMExtension",
        "Add-AzVmssExtension",
        "-Publisher",
        "-Type",
        "-Name:",
        "@p",
        "$p = @{",
        "Publisher = ",
        "}",
        "$(",
        ")",
        "(",
        "'",
        "\"",
        "`",
        "\\",
        "^",
        "#",
        "<#",
        "#>",
        "@'",
        "'@",
        "<<EOF",
        "EOF",
        "é",
        "\u{1F600}",
        " ",
        " ",
        " ",
        "\n",
        "\n",
        "\r\n",
        "\\\n",
        "`\n",
        "^\r\n",
        ";",
        "|",
        "&&",
        "- script: ",
        "  inlineScript: |\n",
        "run: >\n",
        "    ",
        "PS C:\\> ",
        "$ ",
    ];

    proptest::proptest! {
        #[test]
        fn analyzers_never_panic_and_fixes_stay_in_bounds(
            idx in proptest::collection::vec(0..PIECES.len(), 0..60)
        ) {
            let text: String = idx.iter().map(|&i| PIECES[i]).collect();
            for kind in [FileKind::PowerShell, FileKind::Shell, FileKind::Batch, FileKind::Yaml] {
                let a = run(&text, kind);
                for d in &a.diagnostics {
                    assert!(d.range.start <= d.range.end && d.range.end <= text.len());
                    assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end));
                }
                let fixes: Vec<&Fix> = a.diagnostics.iter().filter_map(|d| d.fix.as_ref()).collect();
                let (out, taken) = apply_fixes(&text, &fixes, false);
                assert_eq!(taken.len(), fixes.len());
                let _ = run(&out, kind);
            }
        }
    }
}

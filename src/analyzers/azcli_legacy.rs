//! Azure CLI 2.0 spellings from before `az login --identity` and `az vm identity assign`:
//! `az login -u <subscription>@<port>` (IMDS013), whose user name carried the extension's port,
//! and `az vm|vmss assign-identity --port N` (IMDS014), which installed the extension.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    Analysis,
    azcli::{command_end, find, parse_args},
    command::{Value, Vars, Word},
};
use crate::finding::{Diagnostic, Edit, Fix};

pub const RULE_LOGIN_USERNAME: &str = "IMDS013";
pub const RULE_ASSIGN_IDENTITY: &str = "IMDS014";

/// `<anything>@<port>`: a user name is an e-mail address or an app id, never `@digits`.
static AT_PORT: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"@(\d{1,5})["']?\s*$"#).expect("valid regex")
});

/// `az login -u SUB@PORT` / `--username=SUB@PORT`. `words[0]` is `az`, `words[1]` `login`.
pub fn login_username(text: &str, words: &[Word], start: usize, vars: &Vars, out: &mut Analysis) {
    let args = parse_args(text, &words[2..]);
    let Some(user) = find(&args, &["-u", "--username"]) else {
        return;
    };
    let Some(value) = &user.value else { return };
    // Known when the file gives it; otherwise as written (`"$SUB@50342"`).
    let resolved = match vars.resolve(&value.word, start) {
        Value::Known(v) => v,
        Value::Unknown => text[value.raw.clone()].to_owned(),
    };
    let Some(port) = AT_PORT
        .captures(&resolved)
        .and_then(|c| c[1].parse::<u16>().ok())
        .filter(|&p| p != 0)
    else {
        return;
    };
    out.declared_ports.push(port);
    let range = start..command_end(&args, words[1].range.end);
    let message = format!(
        "`az login {} {}` signs in through the retired Managed Identity extension's token service on port {port}: use `az login --identity` (IMDS), then `az account set --subscription` with the subscription the user name named",
        user.flag,
        &text[value.raw.clone()],
    );
    // No fix: which subscription becomes the default after `--identity` depends on the identity's
    // access, and a script may rely on the one the user name named.
    out.push(Diagnostic::new(RULE_LOGIN_USERNAME, range, message));
}

/// `az vm assign-identity ... --port N` / `az vmss assign-identity ... --port N`.
pub fn assign_identity(
    text: &str,
    words: &[Word],
    scope: &str,
    start: usize,
    vars: &Vars,
    out: &mut Analysis,
) {
    let args = parse_args(text, &words[3..]);
    let Some(port_arg) = find(&args, &["--port"]) else {
        return;
    };
    let port_text = port_arg.value.as_ref().map(|v| &text[v.raw.clone()]);
    if let Some(Value::Known(p)) = port_arg
        .value
        .as_ref()
        .map(|v| vars.resolve(&v.word, start))
        && let Ok(port) = p.trim().parse::<u16>()
    {
        out.declared_ports.push(port);
    }
    let range = start..command_end(&args, words[2].range.end);
    let message = format!(
        "`az {scope} assign-identity --port{}` installs the retired Managed Identity VM extension with the identity: use `az {scope} identity assign`, which installs nothing (tokens come from IMDS), and remove the extension where it is deployed",
        port_text.map_or(String::new(), |p| format!(" {p}")),
    );
    let edits = vec![
        Edit::replacement(words[2].range.clone(), "identity assign"),
        Edit::deletion(port_arg.removal(words)),
    ];
    let fix = Fix::safe(
        format!("Assign the identity with `az {scope} identity assign` (no extension)"),
        edits,
    );
    out.push(Diagnostic::new(RULE_ASSIGN_IDENTITY, range, message).with_fix(fix));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::{Context, azcli};
    use crate::kind::FileKind;

    fn run(text: &str, kind: FileKind) -> Analysis {
        let ctx = Context {
            kind,
            path: "setup.sh",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        azcli::analyze(text, &ctx, &mut out);
        out
    }

    fn rules(a: &Analysis) -> Vec<&'static str> {
        a.diagnostics.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn login_with_a_port_in_the_user_name() {
        for t in [
            "az login -u 00000000-0000-0000-0000-000000000000@50342\n",
            "az login --username=$SUBSCRIPTION@50342\n",
            "SUB=abc\naz login --username \"${SUB}@50343\" --allow-no-subscriptions\n",
            "az login \\\n  -u \"$SUB@50342\"\n",
        ] {
            let a = run(t, FileKind::Shell);
            assert_eq!(rules(&a), [RULE_LOGIN_USERNAME], "{t}");
            assert!(a.diagnostics[0].fix.is_none());
            assert_eq!(a.declared_ports.len(), 1, "{t}");
        }
        let ps = run("az login -u \"$($sub)@50342\"\n", FileKind::PowerShell);
        assert_eq!(rules(&ps), [RULE_LOGIN_USERNAME]);
    }

    #[test]
    fn ordinary_user_names_are_not_flagged() {
        for t in [
            "az login -u ops@contoso.com -p \"$PASSWORD\"\n",
            "az login --identity --username 00000000-0000-0000-0000-000000000000\n",
            "az login --service-principal -u http://deployer -p x --tenant t\n",
            "echo az login -u sub@50342\n",
            "# az login -u sub@50342\n",
        ] {
            assert!(run(t, FileKind::Shell).diagnostics.is_empty(), "{t}");
        }
    }

    #[test]
    fn assign_identity_with_a_port_is_rewritten() {
        let t = "az vm assign-identity -g rg -n vm --port 50342\naz vmss assign-identity \\\n  --resource-group rg \\\n  --port 50343 \\\n  --name ss\n";
        let a = run(t, FileKind::Shell);
        assert_eq!(rules(&a), [RULE_ASSIGN_IDENTITY, RULE_ASSIGN_IDENTITY]);
        assert_eq!(a.declared_ports, [50342, 50343]);
        let fixes: Vec<_> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .collect();
        let (fixed, _) = crate::fix::apply::apply_fixes(t, &fixes, false);
        assert_eq!(
            fixed,
            "az vm identity assign -g rg -n vm\naz vmss identity assign \\\n  --resource-group rg \\\n  --name ss\n"
        );
    }

    #[test]
    fn assign_identity_without_port_and_the_new_command_are_not_flagged() {
        for t in [
            "az vm assign-identity -g rg -n vm\n",
            "az vm identity assign -g rg -n vm --identities id\n",
            "az vm update -g rg -n vm --set tags.port=50342\n",
        ] {
            assert!(run(t, FileKind::Shell).diagnostics.is_empty(), "{t}");
        }
    }
}

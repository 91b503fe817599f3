//! Azure CLI commands that install the extension (IMDS011) or sign in through it (IMDS012), in
//! shell, PowerShell and cmd scripts and in the script steps of YAML pipelines.

use std::ops::Range;

use super::command::{
    self, Command, Dialect, Layout, Options, Value, Vars, Word, args_end, program_index,
    settings_port,
};
use super::scale_set::{self, Script};
use super::{Analysis, Context, is_extension_type, is_publisher};
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

/// One `--flag value` (or `--flag=value`) of an az command.
pub(super) struct Arg<'c> {
    /// The flag as written, without `=value`.
    pub(super) flag: String,
    pub(super) flag_word: &'c Word,
    /// Written `--flag=value`.
    pub(super) eq: bool,
    pub(super) value: Option<ArgValue>,
}

pub(super) struct ArgValue {
    /// The value as written (quotes included), for copying into a fix.
    pub(super) raw: Range<usize>,
    pub(super) word: Word,
}

impl Arg<'_> {
    pub(super) fn end(&self) -> usize {
        self.value.as_ref().map_or(self.flag_word.range.end, |v| {
            v.raw.end.max(self.flag_word.range.end)
        })
    }

    /// What deleting the argument removes: it goes with the space or line continuation before
    /// it, so the layout of the remaining arguments stays as it was.
    pub(super) fn removal(&self, words: &[Word]) -> Range<usize> {
        let start = self.flag_word.range.start;
        let prev_end = words
            .iter()
            .filter(|w| w.range.end <= start)
            .map(|w| w.range.end)
            .max()
            .unwrap_or(start);
        prev_end..self.end()
    }
}

/// Where a command ends: after its last argument, or after its last subcommand word when it has
/// no argument.
pub(super) fn command_end(args: &[Arg], last_word_end: usize) -> usize {
    args.iter().map(Arg::end).fold(last_word_end, usize::max)
}

pub(super) fn parse_args<'c>(text: &str, words: &'c [Word]) -> Vec<Arg<'c>> {
    let mut args = Vec::new();
    let mut k = 0;
    while k < words.len() {
        let w = &words[k];
        k += 1;
        if !w.value.starts_with('-') || w.value.len() < 2 {
            continue;
        }
        if let Some(eq) = w.value.find('=') {
            let raw_text = &text[w.range.clone()];
            let raw_eq = raw_text.find('=').unwrap_or(raw_text.len());
            let raw = (w.range.start + raw_eq + 1).min(w.range.end)..w.range.end;
            args.push(Arg {
                flag: w.value[..eq].to_owned(),
                flag_word: w,
                eq: true,
                value: Some(ArgValue {
                    raw,
                    word: Word {
                        range: w.range.clone(),
                        value: w.value[eq + 1..].to_owned(),
                        literal: w.literal,
                        redirect: false,
                    },
                }),
            });
            continue;
        }
        let value = words
            .get(k)
            .filter(|n| !looks_like_flag(&n.value))
            .map(|n| {
                k += 1;
                ArgValue {
                    raw: n.range.clone(),
                    word: n.clone(),
                }
            });
        args.push(Arg {
            flag: w.value.clone(),
            flag_word: w,
            eq: false,
            value,
        });
    }
    args
}

fn looks_like_flag(s: &str) -> bool {
    s.len() > 1 && s.starts_with('-') && !s[1..].starts_with(|c: char| c.is_ascii_digit())
}

pub(super) fn find<'a, 'c>(args: &'a [Arg<'c>], names: &[&str]) -> Option<&'a Arg<'c>> {
    args.iter().rev().find(|a| names.contains(&a.flag.as_str()))
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

/// Where a command starts, and the script around it.
struct Place<'a> {
    start: usize,
    script: &'a Script<'a>,
}

fn extension_set(
    text: &str,
    words: &[Word],
    vmss: bool,
    at: &Place,
    opts: Options,
    vars: &Vars,
    out: &mut Analysis,
) {
    let start = at.start;
    let args = parse_args(text, &words[4..]);
    let resolve = |a: Option<&Arg>| -> Option<Value> {
        a.and_then(|a| a.value.as_ref())
            .map(|v| vars.resolve(&v.word, start))
    };
    let publisher = resolve(find(&args, &["--publisher"]));
    let ty_arg = find(&args, &["--name", "-n"]);
    let ty = resolve(ty_arg);
    let (Some(publisher), Some(ty)) = (publisher, ty) else {
        return;
    };
    let pub_ok = !matches!(&publisher, Value::Known(p) if !is_publisher(p));
    let ty_ok = !matches!(&ty, Value::Known(t) if !is_extension_type(t));
    let one_known = publisher.is(is_publisher) || ty.is(is_extension_type);
    if !(pub_ok && ty_ok && one_known) {
        return;
    }
    if let Some(settings) = find(&args, &["--settings"]).and_then(|a| a.value.as_ref()) {
        let text_value = match vars.resolve(&settings.word, start) {
            Value::Known(s) => Some(s),
            Value::Unknown => None,
        };
        if let Some(port) = text_value.as_deref().and_then(settings_port) {
            out.declared_ports.push(port);
        }
    }
    let range = start..command_end(&args, words[3].range.end);
    let type_name = match &ty {
        Value::Known(t) => t.clone(),
        Value::Unknown => "Managed Identity extension".to_owned(),
    };
    let scope = if vmss { "vmss" } else { "vm" };
    let target_flag = if vmss { "--vmss-name" } else { "--vm-name" };
    let mut message = format!(
        "`az {scope} extension set` installs the retired Managed Identity VM extension ({type_name}); delete it with `az {scope} extension delete` and get tokens from IMDS (http://169.254.169.254/metadata/identity/oauth2/token)"
    );
    if vmss {
        message.push_str(
            ", then run `az vmss update-instances` if the scale set's upgrade policy is Manual",
        );
    }

    let rg = find(&args, &["--resource-group", "-g"]);
    let target = find(&args, &[target_flag]);
    let name = find(&args, &["--extension-instance-name"]).or(ty_arg);
    // What the script does with the scale set: creates it (the step is dropped), upgrades its
    // instances afterwards (the delete alone is enough), or neither (the delete must be followed
    // by `az vmss update-instances` to reach instances under a Manual upgrade policy).
    let vmss_name = target
        .filter(|_| vmss)
        .and_then(|t| t.value.as_ref())
        .map(|v| v.word.value.clone());
    let created = vmss_name.as_deref().is_some_and(|n| {
        at.script.az_vmss_before(start, "create", n) || at.script.az_vmss_after(start, "create", n)
    });
    let upgraded = vmss_name.as_deref().is_some_and(|n| {
        at.script.az_vmss_after(start, "update-instances", n)
            || at.script.az_vmss_after(start, "rolling-upgrade", n)
    });
    if created {
        message.push_str(
            "; this script creates the scale set with `az vmss create`, so the step is dropped (`az vmss extension delete` fails on a scale set that never had the extension)",
        );
        let fix = scale_set::chain_deletion(text, range.clone()).and_then(|del| {
            Fix::safe(
                "Drop the step: the scale set is created without the extension",
                vec![Edit::deletion(del)],
            )
        });
        if fix.is_none() {
            message.push_str(" (no automatic fix: the command shares its line with other code; delete it by hand)");
        }
        out.push(Diagnostic::new(RULE_SET, range, message).with_fix(fix));
        return;
    }
    let push_instances = vmss && !upgraded;
    let group = |a: &Arg, flag: &str| -> Option<String> {
        let v = a.value.as_ref()?;
        let raw = &text[v.raw.clone()];
        if raw.is_empty() {
            return None;
        }
        Some(if a.eq {
            format!("{flag}={raw}")
        } else {
            format!("{flag} {raw}")
        })
    };
    let fix = if find(&args, &["--ids"]).is_some() {
        message.push_str(" (no automatic fix: `--ids` names the VMs, while `extension delete --ids` needs the extensions' resource IDs)");
        None
    } else if let (Some(rg), Some(target), Some(name)) = (rg, target, name) {
        let mut groups = Vec::new();
        groups.extend(group(rg, &rg.flag));
        groups.extend(group(target, target_flag));
        let name_flag = ty_arg.map_or("-n", |a| if a.flag == "--name" { "--name" } else { "-n" });
        groups.extend(group(name, name_flag));
        // Global arguments that mean the same to `delete`.
        for extra in [
            "--subscription",
            "--no-wait",
            "--only-show-errors",
            "--verbose",
            "--debug",
        ] {
            if let Some(a) =
                find(&args, &[extra]).filter(|_| !(push_instances && extra == "--no-wait"))
            {
                match a.value {
                    Some(_) => groups.extend(group(a, extra)),
                    None => groups.push(extra.to_owned()),
                }
            }
        }
        if groups.len() < 3 {
            message.push_str(&format!(
                " (no automatic fix: the resource group, {target_flag} or name is empty here; write `az {scope} extension delete` by hand)"
            ));
            None
        } else {
            let head = format!(
                "{} {} extension delete",
                &text[start..words[0].range.end],
                &text[words[1].range.clone()]
            );
            let arg_words: Vec<Word> = words
                .iter()
                .filter(|w| w.range.end <= range.end)
                .cloned()
                .collect();
            let layout = Layout::of(text, &arg_words, opts);
            let mut replacement = layout.render(&head, 4, &groups);
            let one_line = format!("{head} {}", groups.join(" "));
            if push_instances {
                // Effective whatever the upgrade policy: unsafe, since upgrading the instances
                // also applies any other pending change of the scale-set model.
                let (and, all) = match opts.dialect {
                    Dialect::PowerShell => (";", "'*'"),
                    Dialect::Posix => ("&&", "'*'"),
                    Dialect::Batch => ("&&", "*"),
                };
                let upgrade = format!(
                    "{} vmss update-instances {} --name {} --instance-ids {all}",
                    &text[start..words[0].range.end],
                    groups[0],
                    target.value.as_ref().map_or("", |v| &text[v.raw.clone()]),
                );
                replacement.push_str(&format!(" {and} {upgrade}"));
                Fix::unsafe_(
                    format!(
                        "Replace with `{one_line}`, then upgrade the instances with `{upgrade}` (which also applies any other pending change of the scale-set model)"
                    ),
                    vec![Edit::replacement(range.clone(), replacement)],
                )
            } else {
                Fix::safe(
                    format!("Replace with `{one_line}`"),
                    vec![Edit::replacement(range.clone(), replacement)],
                )
            }
        }
    } else {
        let missing: Vec<&str> = [
            (rg.is_none(), "--resource-group"),
            (target.is_none(), target_flag),
            (name.is_none(), "--name"),
        ]
        .iter()
        .filter(|(m, _)| *m)
        .map(|(_, f)| *f)
        .collect();
        message.push_str(&format!(
            " (no automatic fix: the command has no {}; write `az {scope} extension delete -g RG {target_flag} NAME -n EXTENSION` by hand)",
            missing.join(", ")
        ));
        None
    };
    out.push(Diagnostic::new(RULE_SET, range, message).with_fix(fix));
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

// ---- YAML pipelines ----

/// Keys whose block text is prose, not a script.
const PROSE_KEYS: &[&str] = &[
    "description",
    "displayname",
    "name",
    "title",
    "summary",
    "message",
    "comment",
    "body",
    "text",
];

/// Keys whose value is a script (Azure Pipelines, GitHub Actions, GitLab CI).
const SCRIPT_KEYS: &[&str] = &[
    "script",
    "run",
    "inlinescript",
    "bash",
    "pwsh",
    "powershell",
    "command",
    "commands",
    "cmd",
    "scriptblock",
    "before_script",
    "after_script",
];

/// The script regions of a YAML file (block scalars and script-key values) with the dialect
/// each is written in, and the file's plain `key: value` pairs as variables (for `$(name)`
/// macros and `env:` values).
fn yaml_scripts(text: &str) -> (Vec<(Range<usize>, Options)>, Vars) {
    let mut regions = Vec::new();
    let mut vars = Vars::default();
    let lines = line_ranges(text);
    let mut n = 0;
    while n < lines.len() {
        let line = &text[lines[n].clone()];
        let base = lines[n].start;
        n += 1;
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let body = &line[indent..];
        if body.starts_with('#') || body.is_empty() {
            continue;
        }
        // `- key: value`, `key: value`, `- value`.
        let mut rest = body;
        let mut item = false;
        if let Some(r) = rest
            .strip_prefix("- ")
            .or_else(|| (rest == "-").then_some(""))
        {
            rest = r.trim_start();
            item = true;
        }
        let key = yaml_key(rest);
        let (key, value) = match key {
            Some((k, v)) => (Some(k), v),
            None if item => (None, rest),
            None => continue,
        };
        let value_start = base + (line.len() - value.len());
        let value_trim = value.trim_end();
        let key_lower = key.map(str::to_ascii_lowercase);
        let key_indent = indent + if item && key.is_some() { 2 } else { 0 };
        if value_trim.starts_with('|') || value_trim.starts_with('>') {
            // A block scalar: the more-indented lines after it.
            let folded = value_trim.starts_with('>');
            let first = n;
            let mut last = n;
            while n < lines.len() {
                let l = &text[lines[n].clone()];
                let ind = l.len() - l.trim_start_matches([' ', '\t']).len();
                if l.trim().is_empty() || ind > key_indent {
                    n += 1;
                    if !l.trim().is_empty() {
                        last = n;
                    }
                } else {
                    break;
                }
            }
            if last > first
                && !key_lower
                    .as_deref()
                    .is_some_and(|k| PROSE_KEYS.contains(&k))
            {
                let range = lines[first].start..lines[last - 1].end;
                let dialect = guess_dialect(&text[range.clone()], key_lower.as_deref());
                regions.push((
                    range,
                    Options {
                        dialect,
                        fold_newlines: folded,
                    },
                ));
            }
            continue;
        }
        if value_trim.is_empty() {
            continue;
        }
        if let Some(k) = key
            && !value_trim.starts_with(['{', '[', '&', '*', '!', '"', '\''])
        {
            let v = value_trim
                .split(" #")
                .next()
                .unwrap_or(value_trim)
                .trim_end();
            // Pipeline variables and `env:` apply wherever they sit relative to the script.
            vars.add(k, Some(v.to_owned()), value_start..value_start + v.len(), 0);
        }
        let is_script = key_lower
            .as_deref()
            .is_none_or(|k| SCRIPT_KEYS.contains(&k));
        if !is_script {
            continue;
        }
        // A plain or quoted scalar, possibly continued on more-indented lines.
        let mut range = value_start..value_start + value_trim.len();
        let mut folded = false;
        while n < lines.len() {
            let l = &text[lines[n].clone()];
            let ind = l.len() - l.trim_start_matches([' ', '\t']).len();
            let t = l.trim_start();
            let continues = ind > key_indent
                && !t.starts_with("- ")
                && !t.starts_with('#')
                && yaml_key(t).is_none();
            if !l.trim().is_empty() && continues {
                range.end = lines[n].start + l.trim_end().len();
                folded = true;
                n += 1;
            } else {
                break;
            }
        }
        let inner = &text[range.clone()];
        if inner.len() >= 2
            && ((inner.starts_with('"') && inner.ends_with('"'))
                || (inner.starts_with('\'') && inner.ends_with('\'')))
        {
            range = range.start + 1..range.end - 1;
        }
        let dialect = guess_dialect(&text[range.clone()], key_lower.as_deref());
        regions.push((
            range,
            Options {
                dialect,
                fold_newlines: folded,
            },
        ));
    }
    (regions, vars)
}

/// `key: rest` when the line starts with a mapping key.
fn yaml_key(s: &str) -> Option<(&str, &str)> {
    let end =
        s.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$')))?;
    if end == 0 {
        return None;
    }
    let after = &s[end..];
    let after = after.strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some((&s[..end], after.trim_start()))
}

fn guess_dialect(script: &str, key: Option<&str>) -> Dialect {
    if matches!(key, Some("pwsh" | "powershell")) {
        return Dialect::PowerShell;
    }
    let mut ps = 0;
    let mut batch = 0;
    for l in script.lines() {
        let t = l.trim_end();
        if t.ends_with(" `") {
            ps += 2;
        }
        if t.ends_with(" ^") {
            batch += 2;
        }
        let lower = t.to_ascii_lowercase();
        let cmdlet = [
            "set-az",
            "get-az",
            "new-az",
            "add-az",
            "remove-az",
            "update-az",
            "connect-az",
        ]
        .iter()
        .any(|v| lower.contains(v));
        if cmdlet || lower.contains("write-host") || lower.contains("$env:") {
            ps += 1;
        }
    }
    if ps > 0 && ps >= batch {
        Dialect::PowerShell
    } else if batch > 0 {
        Dialect::Batch
    } else {
        Dialect::Posix
    }
}

/// Byte ranges of the lines of `text`, without their line breaks.
fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut v = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            let end = if i > start && text.as_bytes()[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            v.push(start..end);
            start = i + 1;
        }
    }
    if start < text.len() {
        v.push(start..text.len());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply::apply_fixes;

    fn run(text: &str, kind: FileKind) -> Analysis {
        let ctx = Context {
            kind,
            path: "x",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        crate::analyzers::analyze(text, &ctx)
    }

    fn fixed(text: &str, kind: FileKind, rule: &str) -> (Vec<Diagnostic>, String) {
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
    fn bash_continuations_and_variables() {
        let t = "#!/bin/bash\nPUB=Microsoft.ManagedIdentity\nexport EXT=\"ManagedIdentityExtensionForLinux\"\naz vm extension set \\\n    --resource-group \"$RG\" \\\n    --vm-name ${VM} \\\n    --name $EXT \\\n    --publisher \"${PUB}\" \\\n    --version 1.0 \\\n    --settings '{\"port\": 50343}'\necho done\n";
        let a = run(t, FileKind::Shell);
        assert_eq!(a.declared_ports, vec![50343]);
        let (d, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert_eq!(d.len(), 1);
        assert!(t[d[0].range.clone()].starts_with("az vm extension set"));
        assert!(t[d[0].range.clone()].ends_with("50343}'"));
        assert_eq!(
            out,
            "#!/bin/bash\nPUB=Microsoft.ManagedIdentity\nexport EXT=\"ManagedIdentityExtensionForLinux\"\naz vm extension delete \\\n    --resource-group \"$RG\" \\\n    --vm-name ${VM} \\\n    --name $EXT\necho done\n"
        );
    }

    #[test]
    fn equals_forms_vmss_and_instance_name() {
        let t = "RG=rg; az vmss extension set -g=$RG --vmss-name=ss -n ManagedIdentityExtensionForWindows --publisher=Microsoft.ManagedIdentity --extension-instance-name msi --no-wait && echo ok\n";
        let (d, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("az vmss update-instances"));
        // Nothing upgrades the instances afterwards: the fix does, and is unsafe for it.
        assert_eq!(
            d[0].fix.as_ref().map(|f| f.applicability),
            Some(crate::finding::Applicability::Unsafe)
        );
        assert_eq!(
            out,
            "RG=rg; az vmss extension delete -g=$RG --vmss-name=ss -n msi && az vmss update-instances -g=$RG --name ss --instance-ids '*' && echo ok\n"
        );
        // The script upgrades them itself: the delete alone is the safe fix.
        let t = format!("{t}az vmss update-instances -g $RG -n ss --instance-ids '*'\n");
        let (d, out) = fixed(&t, FileKind::Shell, RULE_SET);
        assert_eq!(
            d[0].fix.as_ref().map(|f| f.applicability),
            Some(crate::finding::Applicability::Safe)
        );
        assert!(out.starts_with(
            "RG=rg; az vmss extension delete -g=$RG --vmss-name=ss -n msi --no-wait && echo ok\n"
        ));
    }

    #[test]
    fn a_rolling_upgrade_afterwards_reaches_the_instances() {
        let t = "az vmss extension set -g rg --vmss-name ss -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\naz vmss rolling-upgrade start -g rg -n ss\n";
        let (d, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert_eq!(
            d[0].fix.as_ref().map(|f| f.applicability),
            Some(crate::finding::Applicability::Safe)
        );
        assert!(out.starts_with(
            "az vmss extension delete -g rg --vmss-name ss -n ManagedIdentityExtensionForLinux\n"
        ));
    }

    #[test]
    fn a_scale_set_created_by_the_script_loses_the_step() {
        let t = "set -e\naz vmss create -g rg -n ss --image Ubuntu2204 --upgrade-policy-mode Manual\naz vmss extension set -g rg --vmss-name ss \\\n  -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\naz vmss show -g rg -n ss\n";
        let (d, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert!(
            d[0].message.contains("creates the scale set"),
            "{}",
            d[0].message
        );
        assert_eq!(
            out,
            "set -e\naz vmss create -g rg -n ss --image Ubuntu2204 --upgrade-policy-mode Manual\naz vmss show -g rg -n ss\n"
        );
        // Chained with `&&`, the link goes too; another scale set's creation does not count.
        let t = "az vmss create -g rg -n ss && az vmss extension set -g rg --vmss-name ss -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\n";
        let (_, out) = fixed(t, FileKind::Shell, RULE_SET);
        assert_eq!(out, "az vmss create -g rg -n ss\n");
        let t = "az vmss create -g rg -n other\naz vmss extension set -g rg --vmss-name ss -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\n";
        let (d, _) = fixed(t, FileKind::Shell, RULE_SET);
        assert!(!d[0].message.contains("creates the scale set"));
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
    fn powershell_and_batch_continuations() {
        let t = "$pub = \"Microsoft.ManagedIdentity\"\naz vm extension set `\n  --resource-group $rg `\n  --vm-name $vm `\n  --name ManagedIdentityExtensionForWindows `\n  --publisher $pub\n";
        let (d, out) = fixed(t, FileKind::PowerShell, RULE_SET);
        assert_eq!(d.len(), 1);
        assert!(out.ends_with("az vm extension delete `\n  --resource-group $rg `\n  --vm-name $vm `\n  --name ManagedIdentityExtensionForWindows\n"));
        let t = "@echo off\r\nset PUB=Microsoft.ManagedIdentity\r\ncall az vm extension set -g %RG% ^\r\n  --vm-name %VM% ^\r\n  -n ManagedIdentityExtensionForWindows --publisher %PUB%\r\n";
        let (d, out) = fixed(t, FileKind::Batch, RULE_SET);
        assert_eq!(d.len(), 1);
        assert_eq!(
            out,
            "@echo off\r\nset PUB=Microsoft.ManagedIdentity\r\ncall az vm extension delete -g %RG% ^\n  --vm-name %VM% ^\n  -n ManagedIdentityExtensionForWindows\r\n"
        );
    }

    #[test]
    fn yaml_pipelines() {
        let t = "variables:\n  publisher: Microsoft.ManagedIdentity\nsteps:\n- script: az login --msi --msi-port 50342 # old\n  displayName: login\n- task: AzureCLI@2\n  inputs:\n    scriptType: bash\n    inlineScript: |\n      # az vm extension set is gone\n      az vm extension set \\\n        -g $(rg) --vm-name $(vm) \\\n        -n ManagedIdentityExtensionForLinux --publisher $(publisher)\n- task: AzurePowerShell@5\n  inputs:\n    Inline: |\n      Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name msi `\n        -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows\n- run: >\n    az vmss extension set --publisher Microsoft.ManagedIdentity\n    --name ManagedIdentityExtensionForLinux -g rg --vmss-name ss\n";
        let a = run(t, FileKind::Yaml);
        let rules: Vec<(&str, usize)> = a
            .diagnostics
            .iter()
            .map(|d| (d.rule, t[..d.range.start].matches('\n').count() + 1))
            .collect();
        assert_eq!(
            rules,
            vec![
                (RULE_LOGIN, 4),
                (RULE_SET, 11),
                ("IMDS010", 17),
                (RULE_SET, 20)
            ]
        );
        let fixes: Vec<&Fix> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .collect();
        let (out, taken) = apply_fixes(t, &fixes, false);
        assert_eq!(taken.len(), 4);
        assert!(out.contains("- script: az login --identity # old\n"));
        assert!(out.contains("      az vm extension delete \\\n        -g $(rg) \\\n        --vm-name $(vm) \\\n        -n ManagedIdentityExtensionForLinux\n"));
        assert!(out.contains("      Remove-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name msi `\n        -Force\n"));
        assert!(out.contains("    az vmss extension delete -g rg\n    --vmss-name ss\n    --name ManagedIdentityExtensionForLinux && az vmss update-instances -g rg --name ss --instance-ids '*'\n"), "{out}");
        assert!(run(&out, FileKind::Yaml).diagnostics.is_empty());
    }

    #[test]
    fn pipeline_env_reaches_powershell_env_variables() {
        let t = "steps:\n- pwsh: |\n    az vm extension set -g rg --vm-name vm `\n      --name ManagedIdentityExtensionForWindows --publisher $env:MSI_PUBLISHER\n  env:\n    MSI_PUBLISHER: Microsoft.ManagedIdentity\n";
        let (d, out) = fixed(t, FileKind::Yaml, RULE_SET);
        assert_eq!(d.len(), 1);
        assert!(out.contains("    az vm extension delete -g rg --vm-name vm `\n      --name ManagedIdentityExtensionForWindows\n"), "{out}");
        let other = t.replace("Microsoft.ManagedIdentity", "Microsoft.Azure.Monitor");
        assert!(run(&other, FileKind::Yaml).diagnostics.is_empty());
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

    #[test]
    fn missing_resource_group_gives_no_fix() {
        let t = "az vm extension set --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\n";
        let a = run(t, FileKind::Shell);
        assert_eq!(a.diagnostics.len(), 1);
        assert!(a.diagnostics[0].fix.is_none());
        assert!(a.diagnostics[0].message.contains("--resource-group"));
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

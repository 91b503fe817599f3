//! Azure CLI commands that install the extension (IMDS011) or sign in through it (IMDS012), in
//! shell, PowerShell and cmd scripts and in the script steps of YAML pipelines.

use std::ops::Range;

use super::command::{
    self, Command, Dialect, Layout, Options, Value, Vars, Word, args_end, program_index,
    settings_port,
};
use super::{Analysis, Context, is_extension_type, is_publisher};
use crate::finding::{Diagnostic, Edit, Fix};
use crate::kind::FileKind;

pub const RULE_SET: &str = "IMDS011";
pub const RULE_LOGIN: &str = "IMDS012";

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    // Nothing to find without one of these; most files stop here.
    let lower_has = |needle: &str| {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if !lower_has("az") {
        return;
    }
    match ctx.kind {
        FileKind::PowerShell => analyze_region(
            text,
            0..text.len(),
            Dialect::PowerShell.into(),
            &Vars::default(),
            out,
        ),
        FileKind::Shell => analyze_region(
            text,
            0..text.len(),
            Dialect::Posix.into(),
            &Vars::default(),
            out,
        ),
        FileKind::Batch => analyze_region(
            text,
            0..text.len(),
            Dialect::Batch.into(),
            &Vars::default(),
            out,
        ),
        FileKind::Yaml => {
            let (regions, vars) = yaml_scripts(text);
            for (range, opts) in regions {
                analyze_region(text, range.clone(), opts, &vars, out);
                if opts.dialect == Dialect::PowerShell {
                    super::powershell::analyze_region(text, range, opts, &vars, out);
                }
            }
        }
        _ => {}
    }
}

/// Analyzes the commands of `text[range]`; `outer` holds variables defined around it (YAML).
fn analyze_region(
    text: &str,
    range: Range<usize>,
    opts: Options,
    outer: &Vars,
    out: &mut Analysis,
) {
    let cmds = command::commands(text, range, opts);
    let mut vars = Vars::collect(text, &cmds, opts.dialect);
    vars.extend(outer);
    for cmd in &cmds {
        check(text, cmd, opts, &vars, out);
    }
}

/// One `--flag value` (or `--flag=value`) of an az command.
struct Arg<'c> {
    /// The flag as written, without `=value`.
    flag: String,
    flag_word: &'c Word,
    /// Written `--flag=value`.
    eq: bool,
    value: Option<ArgValue>,
}

struct ArgValue {
    /// The value as written (quotes included), for copying into a fix.
    raw: Range<usize>,
    word: Word,
}

impl Arg<'_> {
    fn end(&self) -> usize {
        self.value.as_ref().map_or(self.flag_word.range.end, |v| {
            v.raw.end.max(self.flag_word.range.end)
        })
    }
}

fn parse_args<'c>(text: &str, words: &'c [Word]) -> Vec<Arg<'c>> {
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

fn find<'a, 'c>(args: &'a [Arg<'c>], names: &[&str]) -> Option<&'a Arg<'c>> {
    args.iter().rev().find(|a| names.contains(&a.flag.as_str()))
}

fn check(text: &str, cmd: &Command, opts: Options, vars: &Vars, out: &mut Analysis) {
    let Some(p) = program_index(cmd, opts.dialect) else {
        return;
    };
    let end = args_end(cmd);
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
    let trimmed = words[0].value.len() - words[0].value.trim_start_matches(['@', '-']).len();
    let start = words[0].range.start + trimmed.min(words[0].range.len());
    match sub.as_slice() {
        [scope @ ("vm" | "vmss"), "extension", "set", ..] => {
            extension_set(text, words, *scope == "vmss", start, opts, vars, out);
        }
        ["login", ..] => login(text, words, start, vars, out),
        _ => {}
    }
}

fn extension_set(
    text: &str,
    words: &[Word],
    vmss: bool,
    start: usize,
    opts: Options,
    vars: &Vars,
    out: &mut Analysis,
) {
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
    let end = args
        .iter()
        .map(Arg::end)
        .max()
        .unwrap_or(words[3].range.end);
    let range = start..end.max(words[3].range.end);
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
        for extra in ["--subscription", "--no-wait"] {
            if let Some(a) = find(&args, &[extra]) {
                match a.value {
                    Some(_) => groups.extend(group(a, extra)),
                    None => groups.push(extra.to_owned()),
                }
            }
        }
        if groups.len() < 3 {
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
            let replacement = layout.render(&head, 4, &groups);
            let one_line = format!("{head} {}", groups.join(" "));
            Fix::safe(
                format!("Replace with `{one_line}`"),
                vec![Edit::replacement(range.clone(), replacement)],
            )
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
    let Some(port_arg) = find(&args, &["--msi-port"]) else {
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
    let end = args
        .iter()
        .map(Arg::end)
        .max()
        .unwrap_or(words[1].range.end);
    let range = start..end.max(words[1].range.end);
    let port_text = port_arg
        .value
        .as_ref()
        .map_or(String::new(), |v| format!(" {}", &text[v.raw.clone()]));
    let message = format!(
        "`az login --msi-port{port_text}` signs in through the retired Managed Identity extension's local token service; use `az login --identity`, which gets tokens from IMDS"
    );
    let identity = args
        .iter()
        .find(|a| matches!(a.flag.as_str(), "--msi" | "--identity" | "-i"));
    // The port flag goes with the space or line continuation before it, so the layout of the
    // remaining arguments stays as it was.
    let port_start = port_arg.flag_word.range.start;
    let port_end = port_arg.end();
    let prev_end = words
        .iter()
        .filter(|w| w.range.end <= port_start)
        .map(|w| w.range.end)
        .max()
        .unwrap_or(port_start);
    let mut edits = Vec::new();
    match identity {
        Some(id) => {
            edits.push(Edit::deletion(prev_end..port_end));
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
                if l.trim().is_empty() || ind > key_indent.min(indent) && ind > indent {
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
            if !l.trim().is_empty() && ind > indent && !l.trim_start().starts_with("- ") {
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
        if lower.contains("-az") || lower.contains("write-host") || lower.contains("$env:") {
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

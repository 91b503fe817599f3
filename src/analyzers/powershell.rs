//! PowerShell commands that install the extension (IMDS010): `Set-AzVMExtension`,
//! `Add-AzVmssExtension` and their `AzureRM` forms, with parameters written out, splatted from a
//! hashtable, or passed through variables.

use std::ops::Range;

use super::command::{
    self, Command, Dialect, Layout, Options, Value, Vars, Word, args_end, program_index,
    settings_port,
};
use super::scale_set::{self, Fate, Script};
use super::{Analysis, Context, is_extension_type, is_publisher};
use crate::finding::{Diagnostic, Edit, Fix};

pub const RULE: &str = "IMDS010";

pub fn analyze(text: &str, _ctx: &Context, out: &mut Analysis) {
    let lower = text.to_ascii_lowercase();
    if !(lower.contains("vmextension") || lower.contains("vmssextension")) {
        return;
    }
    let opts = Options::from(Dialect::PowerShell);
    let cmds = command::commands(text, 0..text.len(), opts);
    let vars = Vars::collect(text, &cmds, Dialect::PowerShell);
    let script = Script::new(text, &cmds, Dialect::PowerShell);
    for cmd in &cmds {
        check(text, cmd, opts, &vars, &script, out);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Vm,
    Vmss,
}

/// Parameters of the install cmdlets that the rule reads, in positional order.
const VM_PARAMS: &[&str] = &[
    "resourcegroupname",
    "vmname",
    "name",
    "publisher",
    "type",
    "typehandlerversion",
    "settings",
    "settingstring",
    "protectedsettings",
    "protectedsettingstring",
    "location",
    "forcererun",
    "disableautoupgrademinorversion",
    "enableautomaticupgrade",
    "nowait",
    "asjob",
    "defaultprofile",
];
const VM_POSITIONAL: usize = 3;
const VMSS_PARAMS: &[&str] = &[
    "virtualmachinescaleset",
    "name",
    "publisher",
    "type",
    "typehandlerversion",
    "autoupgrademinorversion",
    "settings",
    "protectedsettings",
    "forceupdatetag",
    "provisionafterextension",
    "suppressfailures",
    "enableautomaticupgrade",
    "defaultprofile",
];
const VMSS_POSITIONAL: usize = 8;

/// The canonical parameter a name (alias, prefix, any case) stands for.
fn canonical(name: &str, target: Target) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    let alias = match n.as_str() {
        "extensiontype" => Some("type"),
        "extensionname" => Some("name"),
        "handlerversion" | "version" => Some("typehandlerversion"),
        "setting" => Some("settings"),
        "protectedsetting" => Some("protectedsettings"),
        "vmss" => Some("virtualmachinescaleset"),
        _ => None,
    };
    if alias.is_some() {
        return alias;
    }
    let params = match target {
        Target::Vm => VM_PARAMS,
        Target::Vmss => VMSS_PARAMS,
    };
    if let Some(p) = params.iter().find(|p| **p == n) {
        return Some(p);
    }
    // PowerShell accepts any unambiguous prefix.
    let mut hits = params.iter().filter(|p| p.starts_with(n.as_str()));
    match (hits.next(), hits.next()) {
        (Some(p), None) if !n.is_empty() => Some(p),
        _ => None,
    }
}

/// A parameter value: the expression as written and the word to resolve it with.
#[derive(Clone)]
struct Param {
    expr: String,
    word: Word,
}

/// Reports `cmd` when it installs the extension. Also used on inline scripts of YAML pipelines;
/// `script` holds the commands of the same script, for what happens to a scale set afterwards.
pub fn check(
    text: &str,
    cmd: &Command,
    opts: Options,
    vars: &Vars,
    script: &Script,
    out: &mut Analysis,
) {
    let Some(p) = program_index(cmd, Dialect::PowerShell) else {
        return;
    };
    let end = args_end(cmd, p);
    if p >= end {
        return;
    }
    let words = &cmd.words[p..end];
    let name = words[0].value.rsplit('\\').next().unwrap_or("");
    let lower = name.to_ascii_lowercase();
    let (target, azurerm) = match lower.as_str() {
        "set-azvmextension" => (Target::Vm, false),
        "set-azurermvmextension" => (Target::Vm, true),
        "add-azvmssextension" => (Target::Vmss, false),
        "add-azurermvmssextension" => (Target::Vmss, true),
        _ => return,
    };
    let start = words[0].range.start;
    let mut params: Vec<(&'static str, Param)> = Vec::new();
    let mut positional = 0;
    let positional_max = match target {
        Target::Vm => VM_POSITIONAL,
        Target::Vmss => VMSS_POSITIONAL,
    };
    let order = match target {
        Target::Vm => VM_PARAMS,
        Target::Vmss => VMSS_PARAMS,
    };
    let mut splats = Vec::new();
    // Common parameters the removal cmdlet accepts too (`-ErrorAction Stop`), as written.
    let mut kept: Vec<String> = Vec::new();
    let mut k = 1;
    while k < words.len() {
        let w = &words[k];
        k += 1;
        if w.value.starts_with('@') && !text[w.range.clone()].starts_with("@{") {
            splats.push(w.value[1..].to_owned());
            continue;
        }
        let raw = &text[w.range.clone()];
        let is_param = raw.starts_with('-')
            && raw.len() > 1
            && raw[1..].starts_with(|c: char| c.is_ascii_alphabetic());
        if !is_param {
            if positional < positional_max {
                params.push((order[positional], param_of(text, w)));
                positional += 1;
            }
            continue;
        }
        // `-Name:value` is one word; `-Name value` two.
        let (pname, inline) = match raw.find(':') {
            Some(c) => (&raw[1..c], Some(c)),
            None => (&raw[1..], None),
        };
        let canon = canonical(pname, target);
        let value = if let Some(c) = inline {
            let vr = w.range.start + c + 1..w.range.end;
            let mut word = w.clone();
            word.range = vr.clone();
            word.value = w
                .value
                .split_once(':')
                .map_or(String::new(), |(_, v)| v.to_owned());
            Some(Param {
                expr: text[vr].to_owned(),
                word,
            })
        } else if words.get(k).is_some_and(|n| !is_param_word(text, n)) {
            k += 1;
            Some(param_of(text, &words[k - 1]))
        } else {
            None
        };
        if is_kept(pname) {
            let flag = inline.map_or(raw, |c| &raw[..c]);
            kept.push(match (&value, inline) {
                (Some(_), Some(_)) => raw.to_owned(),
                (Some(v), None) => format!("{flag} {}", v.expr),
                (None, _) => flag.to_owned(),
            });
        }
        if let (Some(c), Some(v)) = (canon, value) {
            params.push((c, v));
        }
    }
    // Splatted hashtables give parameters that explicit ones override.
    let mut from_splat: Vec<(&'static str, Param)> = Vec::new();
    for s in &splats {
        let Some(var) = vars.get(s.trim_start_matches('@'), start) else {
            continue;
        };
        // `@{...}`, or `[ordered]@{...}`.
        let raw = &text[var.raw.clone()];
        let Some(open) = raw.find("@{") else {
            continue;
        };
        if !(open == 0 || raw.starts_with('[') && raw[..open].ends_with(']')) {
            continue;
        }
        for (key, param) in hashtable(text, var.raw.start + open..var.raw.end) {
            if let Some(c) = canonical(&key, target) {
                from_splat.push((c, param));
            }
        }
    }
    let get = |name: &str| -> Option<&Param> {
        params
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .or_else(|| from_splat.iter().rev().find(|(n, _)| *n == name))
            .map(|(_, p)| p)
    };
    let resolve = |p: Option<&Param>| p.map(|p| vars.resolve(&p.word, start));
    let Some(ty) = resolve(get("type")) else {
        return;
    };
    // Old scripts name one of the two types without `-Publisher`: a written-out type is enough.
    let publisher = match resolve(get("publisher")) {
        Some(p) => p,
        None if ty.is(is_extension_type) => Value::Known(super::PUBLISHER.to_owned()),
        None => return,
    };
    let pub_ok = !matches!(&publisher, Value::Known(p) if !is_publisher(p));
    let ty_ok = !matches!(&ty, Value::Known(t) if !is_extension_type(t));
    if !(pub_ok && ty_ok && (publisher.is(is_publisher) || ty.is(is_extension_type))) {
        return;
    }
    for key in ["settings", "settingstring"] {
        if let Some(p) = get(key) {
            let settings = match vars.resolve(&p.word, start) {
                Value::Known(s) => Some(s),
                // A hashtable, inline or in a variable.
                Value::Unknown => {
                    let name = p.word.value.trim_start_matches('$');
                    if p.expr.starts_with("@{") {
                        Some(p.expr.clone())
                    } else {
                        vars.get(name, start)
                            .map(|v| text[v.raw.clone()].to_owned())
                    }
                }
            };
            if let Some(port) = settings.as_deref().and_then(settings_port) {
                out.declared_ports.push(port);
            }
        }
    }
    let last = words.last().map_or(start, |w| w.range.end);
    let range = start..last;
    let type_name = match &ty {
        Value::Known(t) => t.clone(),
        Value::Unknown => "Managed Identity extension".to_owned(),
    };
    let (remove, needed): (&str, &[(&str, &str)]) = match (target, azurerm) {
        (Target::Vm, false) => ("Remove-AzVMExtension", VM_REMOVE),
        (Target::Vm, true) => ("Remove-AzureRmVMExtension", VM_REMOVE),
        (Target::Vmss, false) => ("Remove-AzVmssExtension", VMSS_REMOVE),
        (Target::Vmss, true) => ("Remove-AzureRmVmssExtension", VMSS_REMOVE),
    };
    let mut message = format!(
        "`{name}` installs the retired Managed Identity VM extension ({type_name}); remove it with `{remove}` and get tokens from IMDS (http://169.254.169.254/metadata/identity/oauth2/token)"
    );
    if target == Target::Vmss {
        let update = if azurerm {
            "Update-AzureRmVmss"
        } else {
            "Update-AzVmss"
        };
        message.push_str(&format!(", then apply the scale set with `{update}`"));
    }
    // A scale-set object fed through a pipe needs no `-VirtualMachineScaleSet`.
    let piped = script.piped_into(cmd.range().start);
    let needed =
        if target == Target::Vmss && piped.is_some() && get("virtualmachinescaleset").is_none() {
            &VMSS_REMOVE[1..]
        } else {
            needed
        };
    let mut groups = Vec::new();
    let mut missing = Vec::new();
    for (canon, shown) in needed {
        match get(canon) {
            Some(p) => groups.push(format!("-{shown} {}", p.expr)),
            None => missing.push(format!("-{shown}")),
        }
    }
    let fix = if missing.is_empty() {
        if target == Target::Vm {
            groups.push("-Force".to_owned());
        }
        groups.extend(kept);
        let layout = Layout::of(text, words, opts);
        let replacement = layout.render(remove, 1, &groups);
        Fix::safe(
            format!("Replace with `{remove} {}`", groups.join(" ")),
            vec![Edit::replacement(range.clone(), replacement)],
        )
    } else {
        let example = needed
            .iter()
            .map(|(_, s)| format!("-{s} ..."))
            .collect::<Vec<_>>()
            .join(" ");
        message.push_str(&format!(
            " (no automatic fix: {} not given here; write `{remove} {example}` by hand)",
            missing.join(", ")
        ));
        None
    };
    let fix = if target == Target::Vmss {
        let input = get("virtualmachinescaleset").map(|p| p.expr.clone());
        let object = ScaleSetObject {
            cmd,
            program: p,
            input,
            piped,
            settings: get("settings").map(|p| p.expr.clone()),
            azurerm,
        };
        match scale_set_fix(text, &object, script, vars, fix, &mut message) {
            Ok(fix) => fix,
            Err(reason) => {
                message.push_str(&format!(" (no automatic fix: {reason})"));
                None
            }
        }
    } else {
        fix
    };
    out.push(Diagnostic::new(RULE, range, message).with_fix(fix));
}

/// What `Add-AzVmssExtension` worked on: the object passed in (`-VirtualMachineScaleSet $x`,
/// as written) or piped in (and the variable the pipeline is assigned to).
struct ScaleSetObject<'a> {
    cmd: &'a Command,
    program: usize,
    input: Option<String>,
    piped: Option<scale_set::Pipe>,
    settings: Option<String>,
    azurerm: bool,
}

/// `Add-AzVmssExtension` only edits a local object: the fix follows where it goes. Passed to
/// `New-AzVmss`, the step is dropped (the scale set is created without the extension); passed
/// to `Update-AzVmss`, the removal replaces it (`removal`); otherwise a removal alone changes
/// nothing in Azure, so the fix pushes the model with `Update-AzVmss` when the script says where
/// the object came from (`Get-AzVmss`), and is left to a person when it does not.
fn scale_set_fix(
    text: &str,
    o: &ScaleSetObject,
    script: &Script,
    vars: &Vars,
    removal: Option<Fix>,
    message: &mut String,
) -> Result<Option<Fix>, String> {
    let words = &o.cmd.words;
    let var_of = |expr: &str| {
        let name = expr.strip_prefix('$')?;
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            .then(|| name.to_ascii_lowercase())
    };
    let input_var = o.input.as_deref().and_then(var_of);
    let target = (o.program == 2 && words[1].value == "=")
        .then(|| var_of(&words[0].value))
        .flatten();
    let mut names: Vec<String> = Vec::new();
    names.extend(input_var.clone());
    names.extend(target.clone());
    if let Some(pipe) = &o.piped {
        names.extend(pipe.assigned_to.clone());
        names.extend(pipe.source.clone());
    }
    let end = words.last().map_or(0, |w| w.range.end);
    let (update, instance) = if o.azurerm {
        ("Update-AzureRmVmss", "Update-AzureRmVmssInstance")
    } else {
        ("Update-AzVmss", "Update-AzVmssInstance")
    };
    match script.fate(&names, end) {
        Fate::Updated => {
            message.push_str(&format!(
                " (which this script does); under a Manual upgrade policy the instances keep the extension until upgraded with `{instance}`"
            ));
            Ok(removal)
        }
        Fate::Created => {
            // Dropping the step needs none of the removal's parameters.
            if let Some(p) = message.find(" (no automatic fix:") {
                message.truncate(p);
            }
            message.push_str(&format!(
                "; the scale set is created afterwards by `New-{}`, so the step is dropped",
                &update[7..]
            ));
            let cmd_range = o.cmd.range();
            let after = text[end..].trim_start_matches([' ', '\t']);
            let piped_out = after.starts_with('|') || after.starts_with('`');
            let edit = if let Some(pipe) = &o.piped {
                // `... | Add-AzVmssExtension ...`: the pipe and the stage go.
                let bar = text[..cmd_range.start]
                    .trim_end_matches([' ', '\t', '\r', '\n', '`'])
                    .len()
                    - 1;
                let rest = &text[end..];
                let next = rest.trim_start_matches([' ', '\t', '\r', '\n', '`']);
                if next.starts_with('|') {
                    // A stage follows: from this pipe to the next one.
                    Edit::deletion(bar..end + rest.len() - next.len())
                } else if pipe.source.is_some() && pipe.assigned_to.is_none() {
                    // `$cfg | Add-AzVmssExtension ...` does nothing else: the statement goes.
                    Edit::deletion(scale_set::statement_deletion(text, pipe.head..end))
                } else {
                    let from = text[..bar]
                        .trim_end_matches([' ', '\t', '\r', '\n', '`'])
                        .len();
                    Edit::deletion(from..end)
                }
            } else if piped_out || target.is_some() && target != input_var {
                // The object flows on: it stays, without the extension.
                let Some(input) = &o.input else {
                    return Err("the scale-set object is not named here".to_owned());
                };
                Edit::replacement(words[o.program].range.start..end, input.clone())
            } else {
                Edit::deletion(scale_set::statement_deletion(text, cmd_range.clone()))
            };
            let fix = Fix::safe(
                format!(
                    "Drop the step: the scale set is created by `New-{}` without the extension",
                    &update[7..]
                ),
                vec![edit.clone()],
            );
            // A settings variable that only this step used (unsafe: a caller may read it).
            let cleanup = o.settings.as_deref().and_then(var_of).and_then(|name| {
                let var = vars.get(&name, cmd_range.start)?;
                // The assignment statement: from its `$name` to the end of the value.
                let line_start = text[..var.at].rfind('\n').map_or(0, |p| p + 1);
                let own = text[line_start..var.at]
                    .to_ascii_lowercase()
                    .find(&format!("${name}"))?;
                let stmt = line_start + own..var.raw.end;
                let all_uses: [std::ops::Range<usize>; 2] = [stmt.clone(), cmd_range.clone()];
                scale_set::unused_elsewhere(text, &name, &all_uses)
                    .then(|| Edit::deletion(scale_set::statement_deletion(text, stmt)))
            });
            Ok(fix.map(|f| f.with_cleanup(cleanup.into_iter().collect())))
        }
        Fate::Nowhere { source } => {
            let pushed = format!(
                "; the scale-set object is not passed to `{update}` or `New-{}` in this file, and a removal changes nothing in Azure until the model is pushed with `{update}` (and, for a Manual upgrade policy, the instances upgraded with `{instance}`)",
                &update[7..]
            );
            message.push_str(&pushed);
            let (Some(removal), Some(var), Some((rg, name))) =
                (removal, input_var.or(target), source)
            else {
                if message.contains("(no automatic fix:") {
                    return Ok(None);
                }
                return Err(format!(
                    "where the scale set comes from is not in this file; remove the extension and run `{update}` by hand"
                ));
            };
            let mut edits = removal.edits;
            let push = format!(
                "; {update} -ResourceGroupName {rg} -VMScaleSetName {name} -VirtualMachineScaleSet ${var}"
            );
            let last = edits.last_mut().expect("a removal has an edit");
            last.content.push_str(&push);
            Ok(Fix::unsafe_(
                format!(
                    "{}, then push the model with `{update}`",
                    removal.description
                ),
                edits,
            ))
        }
    }
}

const VM_REMOVE: &[(&str, &str)] = &[
    ("resourcegroupname", "ResourceGroupName"),
    ("vmname", "VMName"),
    ("name", "Name"),
];
const VMSS_REMOVE: &[(&str, &str)] = &[
    ("virtualmachinescaleset", "VirtualMachineScaleSet"),
    ("name", "Name"),
];

/// PowerShell's common parameters (and their aliases) and the Az ones every cmdlet takes.
fn is_kept(name: &str) -> bool {
    const KEPT: &[&str] = &[
        "erroraction",
        "ea",
        "errorvariable",
        "ev",
        "warningaction",
        "wa",
        "warningvariable",
        "wv",
        "informationaction",
        "infa",
        "informationvariable",
        "iv",
        "outvariable",
        "ov",
        "verbose",
        "vb",
        "debug",
        "db",
        "asjob",
        "defaultprofile",
        "azcontext",
        "azurermcontext",
        "azurecredential",
    ];
    KEPT.iter().any(|k| k.eq_ignore_ascii_case(name))
}

fn is_param_word(text: &str, w: &Word) -> bool {
    let raw = &text[w.range.clone()];
    raw.starts_with('-') && raw[1..].starts_with(|c: char| c.is_ascii_alphabetic())
}

fn param_of(text: &str, w: &Word) -> Param {
    Param {
        expr: text[w.range.clone()].to_owned(),
        word: w.clone(),
    }
}

/// The `key = value` entries of a hashtable literal `@{ ... }` at `range`.
fn hashtable(text: &str, range: Range<usize>) -> Vec<(String, Param)> {
    // An unclosed hashtable (at the end of the text) has no `}` to leave out.
    let close = usize::from(text[range.clone()].ends_with('}'));
    let inner = range.start + 2..(range.end - close).max(range.start + 2);
    let cmds = command::top_level(command::commands(text, inner, Dialect::PowerShell.into()));
    let mut entries = Vec::new();
    for c in cmds {
        let w = &c.words;
        if w.len() < 3 || w[1].value != "=" {
            continue;
        }
        let value = if w.len() == 3 {
            param_of(text, &w[2])
        } else {
            // An expression of several words: copied as written, not resolved.
            let r = w[2].range.start..w[w.len() - 1].range.end;
            Param {
                expr: text[r.clone()].to_owned(),
                word: Word {
                    range: r,
                    value: String::new(),
                    literal: false,
                    redirect: false,
                },
            }
        };
        entries.push((w[0].value.clone(), value));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply::apply_fixes;
    use crate::kind::FileKind;

    fn run(text: &str) -> Analysis {
        let ctx = Context {
            kind: FileKind::PowerShell,
            path: "x.ps1",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        crate::analyzers::analyze(text, &ctx)
    }

    /// The findings of `rule`, and the text after their fixes (checked to be idempotent).
    fn fixed(text: &str) -> (Vec<Diagnostic>, String) {
        let (diags, out) = fixed_with_cleanup(text, false);
        assert!(
            run(&out).diagnostics.iter().all(|d| d.rule != RULE),
            "fix is not idempotent:\n{out}"
        );
        (diags, out)
    }

    /// Like [`fixed`], with the cleanup of `--unsafe-fixes` when `cleanup`; findings left for a
    /// person may stay, but nothing fixable does.
    fn fixed_with_cleanup(text: &str, cleanup: bool) -> (Vec<Diagnostic>, String) {
        let diags: Vec<Diagnostic> = run(text)
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == RULE)
            .collect();
        let fixes: Vec<&Fix> = diags.iter().filter_map(|d| d.fix.as_ref()).collect();
        let (out, _) = apply_fixes(text, &fixes, cleanup);
        assert!(
            run(&out)
                .diagnostics
                .iter()
                .all(|d| d.rule != RULE || d.fix.is_none()),
            "fix is not idempotent:\n{out}"
        );
        (diags, out)
    }

    #[test]
    fn scale_set_created_afterwards_loses_the_step() {
        let t = "$cfg = New-AzVmssConfig -Location westeurope -SkuCapacity 2 -SkuName Standard_B2s -UpgradePolicyMode Automatic\n$msiSettings = @{ port = 50342 }\nAdd-AzVmssExtension -VirtualMachineScaleSet $cfg -Name msi -Publisher Microsoft.ManagedIdentity `\n    -Type ManagedIdentityExtensionForLinux -TypeHandlerVersion 1.0 -Setting $msiSettings\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n";
        let (d, safe) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("created afterwards by `New-AzVmss`"));
        assert_eq!(
            d[0].fix.as_ref().map(|f| f.applicability),
            Some(crate::finding::Applicability::Safe)
        );
        assert_eq!(
            safe,
            "$cfg = New-AzVmssConfig -Location westeurope -SkuCapacity 2 -SkuName Standard_B2s -UpgradePolicyMode Automatic\n$msiSettings = @{ port = 50342 }\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n"
        );
        // The settings variable only the step used goes with the unsafe cleanup.
        let (_, all) = fixed_with_cleanup(t, true);
        assert_eq!(
            all,
            "$cfg = New-AzVmssConfig -Location westeurope -SkuCapacity 2 -SkuName Standard_B2s -UpgradePolicyMode Automatic\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n"
        );
        // Piped in from a variable, with nothing after: the statement goes.
        let t2 = "$cfg = New-AzVmssConfig -Location x\n$cfg | Add-AzVmssExtension -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForLinux\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n";
        let (d, out) = fixed(t2);
        assert!(
            !d[0].message.contains("no automatic fix"),
            "{}",
            d[0].message
        );
        assert_eq!(
            out,
            "$cfg = New-AzVmssConfig -Location x\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n"
        );
        // Piped in: the pipe stage goes.
        let t = "$cfg = New-AzVmssConfig -Location x `\n  | Add-AzVmssExtension -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows `\n  | Set-AzVmssOsProfile -ComputerNamePrefix w\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n";
        let (_, out) = fixed(t);
        assert_eq!(
            out,
            "$cfg = New-AzVmssConfig -Location x `\n  | Set-AzVmssOsProfile -ComputerNamePrefix w\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $cfg\n"
        );
    }

    #[test]
    fn scale_set_from_get_is_pushed_by_the_fix() {
        let t = "$vmss = Get-AzVmss -ResourceGroupName $rg -VMScaleSetName $name\nAdd-AzVmssExtension -VirtualMachineScaleSet $vmss -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows\n";
        let (d, _) = fixed(t);
        // Not safe: the original never pushed the model either.
        assert_eq!(
            d[0].fix.as_ref().map(|f| f.applicability),
            Some(crate::finding::Applicability::Unsafe)
        );
        assert!(d[0].message.contains("a removal changes nothing in Azure"));
        let (_, out) = fixed_with_cleanup(t, true);
        assert!(out.ends_with("\nRemove-AzVmssExtension -VirtualMachineScaleSet $vmss -Name msi; Update-AzVmss -ResourceGroupName $rg -VMScaleSetName $name -VirtualMachineScaleSet $vmss\n"), "{out}");
    }

    #[test]
    fn one_line_install() {
        let t = "$x = 1\nSet-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name 'msi' -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0 -Settings @{ \"port\" = 50343 } -Location $loc\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert_eq!(&t[d[0].range.clone()], t.lines().nth(1).unwrap());
        assert_eq!(
            out,
            "$x = 1\nRemove-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name 'msi' -Force\n"
        );
        assert_eq!(run(t).declared_ports, vec![50343]);
    }

    #[test]
    fn backtick_continuations_keep_their_indentation() {
        let t = "Set-AzVMExtension -ResourceGroupName $rg `\r\n      -VMName $vmName `\r\n      -Name:\"MSI\" `\r\n      -Publisher \"Microsoft.ManagedIdentity\" `\r\n      -Type \"ManagedIdentityExtensionForLinux\" `\r\n      -TypeHandlerVersion \"1.0\"\r\nWrite-Output done\r\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(t[d[0].range.clone()].ends_with("\"1.0\""));
        assert_eq!(
            out,
            "Remove-AzVMExtension -ResourceGroupName $rg `\n      -VMName $vmName `\n      -Name \"MSI\" `\n      -Force\r\nWrite-Output done\r\n"
        );
    }

    #[test]
    fn variables_and_azurerm() {
        let t = "param(\n    [string] $ResourceGroup = 'rg',\n    [string]$Publisher = \"Microsoft.ManagedIdentity\"\n)\n$extType = 'ManagedIdentityExtensionForWindows'\nSet-AzureRmVMExtension -ResourceGroupName $ResourceGroup -VMName $vm.Name -Name $extType -Publisher $Publisher -ExtensionType $extType -TypeHandlerVersion 1.0 -Settings $settings\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(out.contains("Remove-AzureRmVMExtension -ResourceGroupName $ResourceGroup -VMName $vm.Name -Name $extType -Force\n"));
    }

    #[test]
    fn splatting_over_several_lines() {
        let t = "$settings = @{ \"port\" = 51234 }\n$params = @{\n    ResourceGroupName  = $rg   # the group\n    VMName             = (Get-AzVM -Name $n).Name\n    Name               = 'ManagedIdentityExtensionForWindows'\n    Publisher          = 'Microsoft.ManagedIdentity'; ExtensionType = 'ManagedIdentityExtensionForWindows'\n    TypeHandlerVersion = '1.0'\n    Settings           = $settings\n}\nSet-AzVMExtension @params -Location westeurope -ErrorAction:Stop -Verbose\n";
        let a = run(t);
        assert_eq!(a.declared_ports, vec![51234]);
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert_eq!(
            &t[d[0].range.clone()],
            "Set-AzVMExtension @params -Location westeurope -ErrorAction:Stop -Verbose"
        );
        assert!(out.ends_with("}\nRemove-AzVMExtension -ResourceGroupName $rg -VMName (Get-AzVM -Name $n).Name -Name 'ManagedIdentityExtensionForWindows' -Force -ErrorAction:Stop -Verbose\n"), "{out}");
    }

    #[test]
    fn vmss_add_with_positional_and_assignment() {
        let t = "$vmss = Get-AzVmss -ResourceGroupName rg -VMScaleSetName ss\n$vmss = Add-AzVmssExtension -VirtualMachineScaleSet $vmss -Name \"msi\" -Publisher 'Microsoft.ManagedIdentity' -Type 'ManagedIdentityExtensionForLinux' -TypeHandlerVersion 1.0 -Setting @{port=50342}\nUpdate-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet $vmss\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("Update-AzVmss"));
        assert!(out.contains("\n$vmss = Remove-AzVmssExtension -VirtualMachineScaleSet $vmss -Name \"msi\"\nUpdate-AzVmss"));
        // The object goes nowhere in this file: a removal alone would change nothing in Azure.
        let t2 = "Add-AzureRmVmssExtension $vmss msi Microsoft.ManagedIdentity ManagedIdentityExtensionForWindows 1.0\n";
        let (d, out) = fixed_with_cleanup(t2, true);
        assert_eq!(d.len(), 1);
        assert!(d[0].fix.is_none());
        assert!(
            d[0].message.contains("Update-AzureRmVmssInstance"),
            "{}",
            d[0].message
        );
        assert!(d[0].message.contains("no automatic fix"));
        assert_eq!(out, t2);
    }

    #[test]
    fn missing_values_give_no_fix() {
        let t = "Get-AzVM -Name vm -ResourceGroupName rg | Set-AzVMExtension -Name msi -Publisher Microsoft.ManagedIdentity -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0\n";
        let a = run(t);
        assert_eq!(a.diagnostics.len(), 1);
        assert!(a.diagnostics[0].fix.is_none());
        assert!(
            a.diagnostics[0]
                .message
                .contains("-ResourceGroupName, -VMName not given")
        );
    }

    #[test]
    fn look_alikes_are_not_flagged() {
        for t in [
            "Remove-AzVMExtension -ResourceGroupName rg -VMName vm -Name ManagedIdentityExtensionForWindows -Force\n",
            "# Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows\n",
            "<#\nSet-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows\n#>\n",
            "Write-Host \"Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows\"\n",
            "$doc = @'\nSet-AzVMExtension -ResourceGroupName rg -VMName vm -Name msi -Publisher Microsoft.ManagedIdentity -Type ManagedIdentityExtensionForWindows\n'@\n",
            "Set-AzVMExtension -ResourceGroupName rg -VMName vm -Name cse -Publisher Microsoft.Compute -Type CustomScriptExtension -TypeHandlerVersion 1.10\n",
            "$pub = 'Microsoft.Azure.Monitor'\nSet-AzVMExtension -ResourceGroupName rg -VMName vm -Name ama -Publisher $pub -ExtensionType ManagedIdentityExtensionForWindows\n",
            "Remove-AzVmssExtension -VirtualMachineScaleSet $vmss -Name ManagedIdentityExtensionForLinux\n",
        ] {
            let a = run(t);
            assert!(a.diagnostics.is_empty(), "{t}: {:?}", a.diagnostics);
        }
    }

    #[test]
    fn prompts_and_ordered_splats() {
        let t = "PS C:\\> $p = [ordered]@{ ResourceGroupName = 'rg'; VMName = 'vm'; Name = 'msi'; Publisher = 'Microsoft.ManagedIdentity'; Type = 'ManagedIdentityExtensionForWindows' }\nPS C:\\> Set-AzVMExtension @p\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(out.ends_with("PS C:\\> Remove-AzVMExtension -ResourceGroupName 'rg' -VMName 'vm' -Name 'msi' -Force\n"), "{out}");
    }

    #[test]
    fn unclosed_hashtable_at_the_end() {
        let t = "$p = @{ Publisher = 'Microsoft.ManagedIdentity'; Type = 'é\nSet-AzVMExtension @p";
        let _ = run(t);
        let t = "Set-AzVMExtension @p\n$p = @{ Publisher = 'Microsoft.ManagedIdentity'; Name = é";
        let _ = run(t);
    }

    #[test]
    fn case_and_unknown_parameters() {
        let t = "set-azvmextension -resourcegroup $rg -vm $vm -Name msi -publisher microsoft.managedidentity -extensiontype $type -TypeHandlerVersion 1.0\n";
        let (d, out) = fixed(t);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("(Managed Identity extension)"));
        assert_eq!(
            out,
            "Remove-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name msi -Force\n"
        );
    }
}

//! `az vm/vmss extension set` of the Managed Identity extension (IMDS011): the finding, the port it
//! declares, and the rewrite to `extension delete` (with the rolling upgrade a scale set needs).

use super::{
    RULE_SET,
    args::{Arg, command_end, find, parse_args},
};
use crate::analyzers::{
    Analysis,
    command::{Dialect, Layout, Options, Value, Vars, Word, settings_port},
    is_extension_type, is_publisher,
    scale_set::{self, Script},
};
use crate::finding::{Diagnostic, Edit, Fix};

/// Where a command starts, and the script around it.
pub(super) struct Place<'a> {
    pub(super) start: usize,
    pub(super) script: &'a Script<'a>,
}

pub(super) fn extension_set(
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

#[cfg(test)]
mod tests {
    use super::super::{
        RULE_SET,
        tests::{fixed, run},
    };
    use crate::kind::FileKind;

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
    fn missing_resource_group_gives_no_fix() {
        let t = "az vm extension set --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity\n";
        let a = run(t, FileKind::Shell);
        assert_eq!(a.diagnostics.len(), 1);
        assert!(a.diagnostics[0].fix.is_none());
        assert!(a.diagnostics[0].message.contains("--resource-group"));
    }
}

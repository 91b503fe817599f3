//! The script steps of a YAML pipeline (Azure Pipelines, GitHub Actions, GitLab CI): block scalars
//! and script-key values, the dialect each is written in, and the file's `key: value` variables.

use std::ops::Range;

use crate::analyzers::command::{Dialect, Options, Vars};

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
pub(super) fn yaml_scripts(text: &str) -> (Vec<(Range<usize>, Options)>, Vars) {
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
    use super::super::{
        RULE_LOGIN, RULE_SET,
        tests::{fixed, run},
    };
    use crate::{finding::Fix, fix::apply::apply_fixes, kind::FileKind};

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
}

//! What a script does with a scale set after it adds the extension: whether the scale set is
//! created afterwards (a walkthrough, where the right fix drops the step), its model pushed to
//! Azure, its instances upgraded, or none of these in the file (where a removal alone would change
//! nothing in Azure).

use super::command::{Command, Dialect, Word, program_index};

/// Where the scale-set object that `Add-AzVmssExtension` edited goes next in the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Passed to `New-AzVmss`: the scale set does not exist yet.
    Created,
    /// Passed to `Update-AzVmss`: the edited model is pushed.
    Updated,
    /// Neither: `source` is where the object came from (`Get-AzVmss`'s resource group and name
    /// as written), when the script says.
    Nowhere { source: Option<(String, String)> },
}

/// A command fed by a pipe: the variable the whole pipeline's result is assigned to, and the
/// variable it starts from (`$cfg | Add-AzVmssExtension ...`), if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipe {
    pub assigned_to: Option<String>,
    pub source: Option<String>,
    /// Where the pipeline starts.
    pub head: usize,
}

/// The commands of a script, sorted by start, with their program's name in lower case.
pub struct Script<'a> {
    text: &'a str,
    cmds: Vec<(&'a Command, usize, String)>,
    /// Indices in `cmds` of the `az vmss ...` commands, ascending: every usage asks about them,
    /// and walking all commands for each made long scripts quadratic.
    az_vmss: Vec<usize>,
}

impl<'a> Script<'a> {
    pub fn new(text: &'a str, cmds: &'a [Command], dialect: Dialect) -> Self {
        let mut v: Vec<(&Command, usize, String)> = cmds
            .iter()
            .filter_map(|c| {
                let p = program_index(c, dialect)?;
                let name = c.words[p].value.rsplit(['\\', '/']).next()?;
                Some((c, p, name.to_ascii_lowercase()))
            })
            .collect();
        v.sort_by_key(|(c, _, _)| c.range().start);
        let az_vmss = (0..v.len())
            .filter(|&k| {
                let (cmd, p, program) = &v[k];
                matches!(program.as_str(), "az" | "az.cmd" | "az.exe")
                    && cmd.words.get(p + 1).is_some_and(|x| x.value == "vmss")
            })
            .collect();
        Script {
            text,
            cmds: v,
            az_vmss,
        }
    }

    /// The commands starting after byte `pos`, in order.
    fn after(&self, pos: usize) -> impl Iterator<Item = &(&'a Command, usize, String)> {
        self.cmds[self.first_at(pos)..].iter()
    }

    /// The commands starting before byte `pos`, nearest first.
    fn before(&self, pos: usize) -> impl Iterator<Item = &(&'a Command, usize, String)> {
        self.cmds[..self.first_at(pos)].iter().rev()
    }

    /// The variable a pipeline's result is assigned to, for the command at `start` that the
    /// pipe feeds (`$cfg = New-AzVmssConfig ... | Add-AzVmssExtension ...`).
    pub fn piped_into(&self, start: usize) -> Option<Pipe> {
        let mut at = start;
        let mut head = None;
        loop {
            let before = self.text[..at].trim_end_matches([' ', '\t', '\r', '\n', '`']);
            if !before.ends_with('|') {
                break;
            }
            let bar = before.len() - 1;
            let Some((cmd, _, _)) = self.before(bar).next() else {
                break;
            };
            head = Some(*cmd);
            at = cmd.range().start;
        }
        let head = head?;
        let source = match head.words.as_slice() {
            [w] => w
                .value
                .strip_prefix('$')
                .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .map(str::to_ascii_lowercase),
            _ => None,
        };
        Some(Pipe {
            assigned_to: assigned(&head.words),
            source,
            head: head.range().start,
        })
    }

    /// Where the object in one of `names` (PowerShell variables, lower case, without `$`) goes
    /// after byte `pos`.
    pub fn fate(&self, names: &[String], pos: usize) -> Fate {
        let mentions = |c: &Command| {
            c.words.iter().any(|w| {
                let v = w.value.to_ascii_lowercase();
                let v = v.rsplit(':').next().unwrap_or(&v);
                names
                    .iter()
                    .any(|n| v.strip_prefix('$') == Some(n.as_str()))
            })
        };
        for (cmd, _, program) in self.after(pos) {
            let created = matches!(program.as_str(), "new-azvmss" | "new-azurermvmss");
            let updated = matches!(program.as_str(), "update-azvmss" | "update-azurermvmss");
            if !(created || updated) {
                continue;
            }
            let piped = self
                .piped_into(cmd.range().start)
                .is_some()
                .then(|| self.before(cmd.range().start).next())
                .flatten()
                .is_some_and(|(c, _, _)| mentions(c));
            if mentions(cmd) || piped {
                return if created {
                    Fate::Created
                } else {
                    Fate::Updated
                };
            }
        }
        let source = self.before(pos).find_map(|(cmd, p, program)| {
            if !matches!(program.as_str(), "get-azvmss" | "get-azurermvmss") {
                return None;
            }
            let target = assigned(&cmd.words[..*p])?;
            names
                .contains(&target)
                .then(|| get_vmss_args(self.text, &cmd.words[p + 1..]))?
        });
        Fate::Nowhere { source }
    }

    /// Whether a command after byte `pos` runs `az vmss <verb>` (`create`, `update-instances`)
    /// with the scale-set name `name` (as written, or its value). `az vmss create` also counts
    /// with `-n`/`--name`; the others with `--name`, `-n` or `--vmss-name`.
    pub fn az_vmss_after(&self, pos: usize, verb: &str, name: &str) -> bool {
        let first = self.first_at(pos);
        let k = self.az_vmss.partition_point(|&k| k < first);
        self.az_vmss(&self.az_vmss[k..], verb, name)
    }

    /// Like [`Script::az_vmss_after`], for the commands before byte `pos`.
    pub fn az_vmss_before(&self, pos: usize, verb: &str, name: &str) -> bool {
        let first = self.first_at(pos);
        let k = self.az_vmss.partition_point(|&k| k < first);
        self.az_vmss(&self.az_vmss[..k], verb, name)
    }

    /// The index in `cmds` of the first command starting at or after byte `pos`.
    fn first_at(&self, pos: usize) -> usize {
        self.cmds.partition_point(|(c, _, _)| c.range().start < pos)
    }

    /// Whether one of the `az vmss` commands `indices` runs `verb` on the scale set `name`.
    fn az_vmss(&self, indices: &[usize], verb: &str, name: &str) -> bool {
        indices.iter().any(|&k| {
            let (cmd, p, _) = &self.cmds[k];
            let w = &cmd.words[*p..];
            w.get(2).is_some_and(|x| x.value == verb) && named(self.text, &w[3..], name)
        })
    }
}

/// The `$name` a command's result is assigned to (`$x = ...`), lower case, without `$`.
fn assigned(words: &[Word]) -> Option<String> {
    let first = words.first()?;
    (words.get(1).is_some_and(|w| w.value == "=") && first.value.starts_with('$'))
        .then(|| first.value[1..].to_ascii_lowercase())
}

/// `-ResourceGroupName` and `-VMScaleSetName` (or `-Name`, or the first two positional words)
/// of `Get-AzVmss`, as written.
fn get_vmss_args(text: &str, words: &[Word]) -> Option<(String, String)> {
    let mut rg = None;
    let mut name = None;
    let mut positional = Vec::new();
    let mut k = 0;
    while k < words.len() {
        let raw = &text[words[k].range.clone()];
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with('-') && lower.len() > 1 {
            let value = words.get(k + 1).map(|w| text[w.range.clone()].to_owned());
            match lower.as_str() {
                "-resourcegroupname" => rg = value,
                "-vmscalesetname" | "-name" => name = value,
                _ => {}
            }
            k += 2;
            continue;
        }
        if words[k].redirect || raw == "|" {
            break;
        }
        positional.push(raw.to_owned());
        k += 1;
    }
    let mut pos = positional.into_iter();
    let rg = rg.or_else(|| pos.next())?;
    let name = name.or_else(|| pos.next())?;
    Some((rg, name))
}

/// The az arguments name the scale set `name`: `-n NAME`, `--name NAME`, `--vmss-name NAME`, or
/// `--name=NAME`.
fn named(text: &str, words: &[Word], name: &str) -> bool {
    words.iter().enumerate().any(|(k, w)| {
        let flag = w.value.split('=').next().unwrap_or("");
        if !matches!(flag, "-n" | "--name" | "--vmss-name") {
            return false;
        }
        let value = match w.value.split_once('=') {
            Some((_, v)) => v.to_owned(),
            None => match words.get(k + 1) {
                Some(n) => n.value.clone(),
                None => return false,
            },
        };
        let raw = words.get(k + 1).map_or("", |n| &text[n.range.clone()]);
        value == name || raw == name
    })
}

/// The bytes to delete to drop the statement at `range`: its whole lines when it is alone on
/// them (with one line break), else the statement and a `;` after it.
pub fn statement_deletion(text: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let b = text.as_bytes();
    let line_start = memchr::memrchr(b'\n', &b[..range.start]).map_or(0, |p| p + 1);
    let alone_before = text[line_start..range.start].trim().is_empty();
    let line_end = memchr::memchr(b'\n', &b[range.end..]).map_or(b.len(), |p| range.end + p);
    let alone_after = text[range.end..line_end].trim().is_empty();
    if alone_before && alone_after {
        let end = if line_end < b.len() {
            line_end + 1
        } else {
            line_end
        };
        // The last line of a text without a final line break takes the break before it.
        let start = if end == b.len() && !text.ends_with('\n') && line_start > 0 {
            line_start - 1
        } else {
            line_start
        };
        return start..end;
    }
    let mut end = range.end;
    let rest = &text[end..line_end];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    if trimmed.starts_with(';') {
        end += rest.len() - trimmed.len() + 1;
        end +=
            text[end..line_end].len() - text[end..line_end].trim_start_matches([' ', '\t']).len();
    }
    range.start..end
}

/// The bytes to delete to drop a shell command at `range`: its whole lines when it is alone on
/// them, or the command with the `&&`, `||` or `;` that joins it to its neighbour. `None` when it
/// shares its line otherwise (a YAML `- script: az ...`, a pipe).
pub fn chain_deletion(text: &str, range: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let line_start = memchr::memrchr(b'\n', &b[..range.start]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &b[range.end..]).map_or(b.len(), |p| range.end + p);
    let before = &text[line_start..range.start];
    let after = &text[range.end..line_end];
    if before.trim().is_empty() && after.trim().is_empty() {
        return Some(statement_deletion(text, range));
    }
    let after_trim = after.trim_start_matches([' ', '\t']);
    for op in ["&&", "||", ";"] {
        if let Some(rest) = after_trim.strip_prefix(op) {
            let gap = after.len() - rest.trim_start_matches([' ', '\t']).len();
            if before.trim().is_empty() || before.trim_end().ends_with(['&', '|', ';']) {
                return Some(range.start..range.end + gap);
            }
        }
    }
    let before_trim = before.trim_end_matches([' ', '\t']);
    for op in ["&&", ";"] {
        if before_trim.ends_with(op) && after.trim().is_empty() {
            let from = line_start + before_trim.len() - op.len();
            let from = text[..from].trim_end_matches([' ', '\t']).len();
            return Some(from..range.end);
        }
    }
    None
}

/// Whether `$name` appears nowhere in `text` outside `except` (ranges sorted or not).
pub fn unused_elsewhere(text: &str, name: &str, except: &[std::ops::Range<usize>]) -> bool {
    // Compared in place at each `$`: lowering a copy of the whole text per name cost more than
    // the search.
    let b = text.as_bytes();
    let name = name.as_bytes();
    memchr::memchr_iter(b'$', b)
        .filter(|&p| {
            b.get(p + 1..p + 1 + name.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
        .all(|p| {
            let after = b.get(p + 1 + name.len()).copied();
            after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                || except.iter().any(|r| r.contains(&p))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::command;

    fn fate_of(text: &str, names: &[&str]) -> Fate {
        let cmds = command::commands(text, 0..text.len(), Dialect::PowerShell.into());
        let s = Script::new(text, &cmds, Dialect::PowerShell);
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let at = text.find("Add-").expect("an Add command");
        fate(&s, &names, at)
    }

    fn fate(s: &Script, names: &[String], at: usize) -> Fate {
        s.fate(names, at)
    }

    #[test]
    fn created_updated_or_nowhere() {
        let t = "$cfg = New-AzVmssConfig -Location x\nAdd-AzVmssExtension -VirtualMachineScaleSet $cfg -Name msi\nNew-AzVmss -ResourceGroupName rg -Name ss -VirtualMachineScaleSet:$cfg\n";
        assert_eq!(fate_of(t, &["cfg"]), Fate::Created);
        let t = "$v = Get-AzVmss rg ss\n$v = Add-AzVmssExtension -VirtualMachineScaleSet $v -Name msi\n$v | Update-AzVmss -ResourceGroupName rg -VMScaleSetName ss\n";
        assert_eq!(fate_of(t, &["v"]), Fate::Updated);
        let t = "$v = Get-AzVmss -ResourceGroupName $rg -VMScaleSetName \"ss\"\nAdd-AzVmssExtension -VirtualMachineScaleSet $v -Name msi\nUpdate-AzVmss -ResourceGroupName rg -Name other -VirtualMachineScaleSet $other\n";
        assert_eq!(
            fate_of(t, &["v"]),
            Fate::Nowhere {
                source: Some(("$rg".to_owned(), "\"ss\"".to_owned()))
            }
        );
        let t = "function f($v) { Add-AzVmssExtension -VirtualMachineScaleSet $v -Name msi }\n";
        assert_eq!(fate_of(t, &["v"]), Fate::Nowhere { source: None });
    }

    #[test]
    fn deletions() {
        let t = "a\n  $x = Add-AzVmssExtension -Name msi  \nb\n";
        let r = t.find("$x").unwrap()..t.find("msi").unwrap() + 3;
        assert_eq!(
            &t[statement_deletion(t, r)],
            "  $x = Add-AzVmssExtension -Name msi  \n"
        );
        let t = "a; Add-X -Name msi; b";
        let r = 3..t.find("msi").unwrap() + 3;
        assert_eq!(&t[statement_deletion(t, r)], "Add-X -Name msi; ");
        let t = "a\nAdd-X";
        assert_eq!(&t[statement_deletion(t, 2..7)], "\nAdd-X");
        let t = "$s = @{port=1}\nAdd-X -Settings $s\n$s2 = 1\n";
        let add = t.find("Add").unwrap()..t.find("$s2").unwrap();
        assert!(unused_elsewhere(t, "s", &[0..2, add.clone()]));
        assert!(!unused_elsewhere(
            &format!("{t}Write $S\n"),
            "s",
            &[0..2, add]
        ));
    }

    #[test]
    fn chained_deletions() {
        let t = "az a && az b -n x && echo ok\n";
        let r =
            t.find("az b").unwrap()..t.find(" &&  echo").unwrap_or(t.rfind(" && echo").unwrap());
        assert_eq!(&t[chain_deletion(t, r).unwrap()], "az b -n x && ");
        let t = "az a; az b\n";
        assert_eq!(&t[chain_deletion(t, 6..10).unwrap()], "; az b");
        let t = "- script: az b\n";
        assert_eq!(chain_deletion(t, 10..14), None);
    }

    #[test]
    fn pipelines_and_az() {
        let t = "$cfg = New-AzVmssConfig -Location x `\n  | Add-AzVmssExtension -Name msi\n";
        let cmds = command::commands(t, 0..t.len(), Dialect::PowerShell.into());
        let s = Script::new(t, &cmds, Dialect::PowerShell);
        assert_eq!(
            s.piped_into(t.find("Add-").unwrap()),
            Some(Pipe {
                assigned_to: Some("cfg".to_owned()),
                source: None,
                head: 0,
            })
        );
        assert_eq!(s.piped_into(0), None);
        let t = "az vmss extension set -g rg --vmss-name ss -n X\naz vmss create -g rg -n ss --image u\naz vmss update-instances -g rg --name=ss --instance-ids '*'\n";
        let cmds = command::commands(t, 0..t.len(), Dialect::Posix.into());
        let s = Script::new(t, &cmds, Dialect::Posix);
        assert!(s.az_vmss_after(1, "create", "ss"));
        assert!(s.az_vmss_after(1, "update-instances", "ss"));
        assert!(!s.az_vmss_after(1, "create", "other"));
        assert!(!s.az_vmss_before(1, "create", "ss"));
    }
}

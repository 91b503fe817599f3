//! Variable assignments of a text and the value a word stands for once they are followed.

use std::{collections::BTreeMap, ops::Range};

use super::{Command, Dialect, Word, prompt_len};

/// What a word stands for once variables are followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Known text.
    Known(String),
    /// A variable or expression this file does not give a value to (a script parameter...).
    Unknown,
}

impl Value {
    /// True when the value is known and `pred` holds for it.
    pub fn is(&self, pred: impl Fn(&str) -> bool) -> bool {
        matches!(self, Value::Known(s) if pred(s))
    }
}

/// A variable assignment seen in the text.
#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    /// The assigned value (quotes removed), when it is literal.
    pub value: Option<String>,
    /// The value is itself a variable reference to follow (`B="$A"`), not literal text.
    pub follow: bool,
    /// The assigned expression as written.
    pub raw: Range<usize>,
    /// Where the assignment is: only earlier assignments count for a command.
    pub at: usize,
}

/// The variables of one text, by (lower-case name, position): finding the assignment in force
/// at a command is a range query, so scripts with thousands of assignments stay fast.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    vars: BTreeMap<(String, usize), Var>,
}

/// How many variables a value may be passed through (`$a = $b`): enough for real scripts,
/// and it stops cycles.
const MAX_HOPS: usize = 4;

impl Vars {
    pub fn add(&mut self, name: &str, value: Option<String>, raw: Range<usize>, at: usize) {
        self.push(name, value, false, raw, at);
    }

    /// Records an assignment of `word` (its literal text, or the reference it holds).
    fn add_word(&mut self, name: &str, value: &str, literal: bool, raw: Range<usize>, at: usize) {
        let follow = !literal && reference(value).is_some();
        let value = (literal || follow).then(|| value.to_owned());
        self.push(name, value, follow, raw, at);
    }

    fn push(
        &mut self,
        name: &str,
        value: Option<String>,
        follow: bool,
        raw: Range<usize>,
        at: usize,
    ) {
        let name = name.to_ascii_lowercase();
        self.vars.insert(
            (name.clone(), at),
            Var {
                name,
                value,
                follow,
                raw,
                at,
            },
        );
    }

    /// Adds the variables of another part of the same text (another step of a pipeline).
    pub fn append(&mut self, mut other: Vars) {
        if self.vars.len() < other.vars.len() {
            std::mem::swap(&mut self.vars, &mut other.vars);
        }
        self.vars.extend(other.vars);
    }

    /// The last assignment of `name` before `before`, else the first one after it (a function
    /// defined above the script body that sets its variables). Names compare without case
    /// (PowerShell and cmd ignore it; shell variables differing only in case are rare).
    pub fn get(&self, name: &str, before: usize) -> Option<&Var> {
        let name = name.to_ascii_lowercase();
        let start = (name, 0);
        let mut same = self.vars.range(start.clone()..);
        let earlier = self
            .vars
            .range(start.clone()..(start.0.clone(), before))
            .next_back();
        earlier
            .or_else(|| same.next().filter(|((n, _), _)| *n == start.0))
            .map(|(_, v)| v)
    }

    /// The value of a word, following variable references written as the whole word.
    pub fn resolve(&self, word: &Word, before: usize) -> Value {
        if word.literal {
            return Value::Known(word.value.clone());
        }
        let mut text = word.value.clone();
        for _ in 0..MAX_HOPS {
            let Some((name, default)) = reference(&text) else {
                return Value::Unknown;
            };
            // `$env:PUB` also reads a pipeline's `env:` entry `PUB`.
            let name = name.to_ascii_lowercase();
            let var = self.get(&name, before).or_else(|| {
                name.strip_prefix("env:")
                    .and_then(|bare| self.get(bare, before))
            });
            match var {
                Some(Var {
                    value: Some(v),
                    follow,
                    ..
                }) => {
                    if !follow {
                        return Value::Known(v.clone());
                    }
                    text.clone_from(v);
                }
                Some(_) => return Value::Unknown,
                None => {
                    return default.map_or(Value::Unknown, |d| {
                        if d.contains('$') || d.contains('%') {
                            Value::Unknown
                        } else {
                            Value::Known(d)
                        }
                    });
                }
            }
        }
        Value::Unknown
    }

    /// Collects the assignments among `cmds`.
    pub fn collect(text: &str, cmds: &[Command], dialect: Dialect) -> Vars {
        let mut vars = Vars::default();
        for cmd in cmds {
            match dialect {
                Dialect::PowerShell => vars.powershell(text, cmd),
                Dialect::Posix => vars.posix(cmd),
                Dialect::Batch => vars.batch(cmd),
            }
        }
        vars
    }

    fn powershell(&mut self, text: &str, cmd: &Command) {
        // `[string] $x = 'v'`, `[Parameter()][string]$x = 'v',` (param blocks), `$x = 'v'`.
        let w = &cmd.words;
        let mut k = prompt_len(w, Dialect::PowerShell);
        while k < w.len() && w[k].value.starts_with('[') && w[k].value.ends_with(']') {
            k += 1;
        }
        if w.len() < k + 3 || w[k + 1].value != "=" || w[k + 1].range.len() != 1 {
            return;
        }
        let name_word = &w[k].value;
        let Some(pos) = name_word.find('$') else {
            return;
        };
        let Some(name) = ps_var_name(&name_word[pos..]) else {
            return;
        };
        let val = &w[k + 2];
        // Only `$x = value` (a trailing comma in a param block is allowed); an expression such
        // as `$x = 'a' + $b` has no single value.
        if w.len() > k + 3 {
            return;
        }
        let mut raw = val.range.clone();
        let mut value = val.value.clone();
        if text[raw.clone()].ends_with(',') {
            raw.end -= 1;
            value.pop();
        }
        self.add_word(&name, &value, val.literal, raw, val.range.start);
    }

    fn posix(&mut self, cmd: &Command) {
        // Makefile: `PUB = value`, `PUB := value`, `PUB ?= value`.
        if let [name, op, val] = cmd.words.as_slice()
            && matches!(op.value.as_str(), "=" | ":=" | "?=" | "::=")
            && is_identifier(&name.value)
        {
            self.add_word(
                &name.value,
                &val.value,
                val.literal,
                val.range.clone(),
                val.range.start,
            );
            return;
        }
        for w in &cmd.words {
            if matches!(
                w.value.as_str(),
                "export" | "local" | "readonly" | "declare" | "typeset" | "ENV" | "ARG"
            ) || (w.value.starts_with('-') && !w.value.contains('='))
            {
                continue;
            }
            let Some((name, value)) = w.value.split_once('=') else {
                return;
            };
            if !is_identifier(name) {
                return;
            }
            let raw = w.range.start + name.len() + 1..w.range.end;
            self.add_word(name, value, w.literal, raw, w.range.start);
        }
    }

    fn batch(&mut self, cmd: &Command) {
        let w = &cmd.words;
        if w.len() != 2 || !w[0].value.eq_ignore_ascii_case("set") {
            return;
        }
        if let Some((name, value)) = w[1].value.split_once('=')
            && is_identifier(name.trim())
        {
            self.add_word(
                name.trim(),
                value,
                w[1].literal,
                w[1].range.clone(),
                w[1].range.start,
            );
        }
    }
}

pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The normalized name of a PowerShell variable written `$name`, `${name}`, `$script:name`.
fn ps_var_name(s: &str) -> Option<String> {
    let rest = s.strip_prefix('$')?;
    let name = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(rest);
    let name = ["script:", "global:", "local:", "private:"]
        .iter()
        .find_map(|p| {
            name.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| &name[p.len()..])
        })
        .unwrap_or(name);
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    ok.then(|| name.to_owned())
}

/// A word that is exactly one variable reference: its name and, for `${X:-default}`, the default.
/// Covers `$x`, `${x}`, `$env:X`, `%X%`, `!X!` and pipeline macros `$(x)`.
fn reference(s: &str) -> Option<(String, Option<String>)> {
    if let Some(inner) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')')) {
        let ok = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        return ok.then(|| (inner.to_owned(), None));
    }
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        let split = inner.find([':', '-', '=']).unwrap_or(inner.len());
        let (name, rest) = inner.split_at(split);
        if is_identifier(name) {
            let default = rest
                .strip_prefix(":-")
                .or_else(|| rest.strip_prefix(":="))
                .or_else(|| rest.strip_prefix('-'))
                .or_else(|| rest.strip_prefix('='))
                .map(str::to_owned);
            if rest.is_empty() || default.is_some() {
                return Some((name.to_owned(), default));
            }
        }
        return ps_var_name(s).map(|n| (n, None));
    }
    if s.starts_with('$') {
        return ps_var_name(s).map(|n| (n, None));
    }
    for sigil in ['%', '!'] {
        if let Some(inner) = s.strip_prefix(sigil).and_then(|r| r.strip_suffix(sigil))
            && is_identifier(inner)
        {
            return Some((inner.to_owned(), None));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{super::commands, *};

    #[test]
    fn variables_resolve_through_references() {
        let t = "A=Microsoft.ManagedIdentity\nB=\"$A\"\nC='$A'\naz x\n";
        let cmds = commands(t, 0..t.len(), Dialect::Posix.into());
        let vars = Vars::collect(t, &cmds, Dialect::Posix);
        let w = |v: &str| Word {
            range: 0..0,
            value: v.to_owned(),
            literal: false,
            redirect: false,
        };
        let at = t.len();
        assert_eq!(
            vars.resolve(&w("${B}"), at),
            Value::Known("Microsoft.ManagedIdentity".into())
        );
        assert_eq!(vars.resolve(&w("$C"), at), Value::Known("$A".into()));
        assert_eq!(vars.resolve(&w("$D"), at), Value::Unknown);
        assert_eq!(vars.resolve(&w("${D:-x}"), at), Value::Known("x".into()));
        assert_eq!(
            vars.resolve(&w("$A"), 0),
            Value::Known("Microsoft.ManagedIdentity".into())
        );
    }
}

//! A tokenizer for command lines, shared by the PowerShell and Azure CLI analyzers.
//!
//! It does not parse a language; it finds *simple commands* (a program and its words) the way
//! the shell would split them, so that commented-out code, quoted text (`echo "az vm ..."`) and
//! here-documents are never mistaken for commands, and so that every word keeps its exact byte
//! range for fixes. One pass, no recursion: nested command substitutions and parenthesized
//! arguments are handled with an explicit stack, which keeps the time linear on any input.
//!
//! This module holds the commands and words and the questions asked of a command (which word is
//! the program, where its arguments end); `lexer` splits text into commands, `layout` keeps a
//! command's line breaks for rewrites and `vars` follows variables to their values.

mod layout;
mod lexer;
mod vars;

use std::ops::Range;

use self::vars::is_identifier;
pub use self::{
    layout::Layout,
    lexer::commands,
    vars::{Value, Var, Vars},
};

/// Which quoting, comment and continuation rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    PowerShell,
    /// sh, bash, zsh, `.azcli`, Dockerfile `RUN` lines.
    Posix,
    /// Windows `cmd.exe` (`.cmd`, `.bat`).
    Batch,
}

impl Dialect {
    /// What a line continuation is written with.
    pub fn continuation(self) -> &'static str {
        match self {
            Dialect::PowerShell => "`",
            Dialect::Posix => "\\",
            Dialect::Batch => "^",
        }
    }
}

/// One word of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// Bytes of the word in the text, quotes included.
    pub range: Range<usize>,
    /// The word with quotes and escapes removed; variables and substitutions kept as written.
    pub value: String,
    /// True when nothing in the word expands: `value` is what the program receives.
    pub literal: bool,
    /// A redirection operator (`>`, `2>&1`, `<<EOF`): the command's own arguments end before it.
    pub redirect: bool,
}

/// A simple command: the words between two separators.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
}

impl Command {
    /// From the first word's start to the last word's end.
    pub fn range(&self) -> Range<usize> {
        match (self.words.first(), self.words.last()) {
            (Some(a), Some(b)) => a.range.start..b.range.end,
            _ => 0..0,
        }
    }
}

/// Options that depend on where the commands sit rather than on the language.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub dialect: Dialect,
    /// Line breaks do not end a command (YAML folded scalars, where the loader joins lines).
    pub fold_newlines: bool,
}

impl From<Dialect> for Options {
    fn from(dialect: Dialect) -> Self {
        Options {
            dialect,
            fold_newlines: false,
        }
    }
}

/// Words that may precede the program of a command without being it.
pub fn is_prefix_word(w: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sudo", "exec", "command", "time", "nohup", "call", "then", "do", "else", "if", "elif",
        "while", "until", "{", "!", ".", "env", "RUN", "run", "-", "&&", "||",
        // Shell prompts in docs: `$ az login`, `% az login`.
        "$", "%",
    ];
    PREFIXES.contains(&w)
}

/// How many words a terminal prompt copied into docs takes: `PS C:\> `, `PS> `, `C:\src>`,
/// `> `.
pub(super) fn prompt_len(w: &[Word], dialect: Dialect) -> usize {
    match w.iter().take(3).position(|x| x.redirect && x.value == ">") {
        Some(p)
            if p == 0
                || (dialect == Dialect::PowerShell && w[0].value == "PS")
                || (p == 1 && w[0].value.contains(":\\")) =>
        {
            p + 1
        }
        _ => 0,
    }
}

/// The index of the program word: after `sudo`, `call`, `then`, assignments (`X=1 az ...`) and
/// PowerShell's `$x = ` / `[void]`.
pub fn program_index(cmd: &Command, dialect: Dialect) -> Option<usize> {
    let w = &cmd.words;
    let mut k = prompt_len(w, dialect);
    while k < w.len() {
        let v = w[k].value.as_str();
        let ps = dialect == Dialect::PowerShell;
        if ps && v.starts_with('$') && w.get(k + 1).is_some_and(|n| n.value == "=") {
            k += 2;
        } else if is_prefix_word(v)
            || (dialect == Dialect::Batch && v.eq_ignore_ascii_case("call"))
            || (ps && v.starts_with('[') && v.ends_with(']'))
            || (dialect == Dialect::Posix
                && v.split_once('=').is_some_and(|(n, _)| is_identifier(n)))
        {
            k += 1;
        } else {
            return Some(k);
        }
    }
    None
}

/// The index one past the last argument of the program at `from`: its redirections are not
/// arguments.
pub fn args_end(cmd: &Command, from: usize) -> usize {
    cmd.words
        .iter()
        .skip(from)
        .position(|w| w.redirect)
        .map_or(cmd.words.len(), |p| p + from)
}

/// A port number in settings written as a hashtable (`@{ "port" = 50343 }`) or JSON
/// (`{"port": 50343}`), with or without quotes around the number.
pub fn settings_port(s: &str) -> Option<u16> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find("port") {
        let at = from + p;
        from = at + 4;
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        if !before_ok {
            continue;
        }
        let rest = lower[at + 4..].trim_start_matches(['"', '\'', '\\', ' ', '\t']);
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let rest = rest.trim_start_matches(['"', '\'', '\\', ' ', '\t']);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(port) = digits.parse::<u16>()
            && port > 0
        {
            return Some(port);
        }
    }
    None
}

/// The commands that do not sit inside a parenthesized or braced word of another command
/// (the statements of a hashtable, not those of a hashtable nested in one of its values).
pub fn top_level(cmds: Vec<Command>) -> Vec<Command> {
    let groups: Vec<Range<usize>> = cmds
        .iter()
        .flat_map(|c| c.words.iter())
        .filter(|w| !w.literal)
        .map(|w| w.range.clone())
        .collect();
    cmds.into_iter()
        .filter(|c| {
            let r = c.range();
            !groups.iter().any(|g| g.start < r.start && r.end <= g.end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_ports() {
        assert_eq!(settings_port("@{ \"port\" = 50343 }"), Some(50343));
        assert_eq!(settings_port("{\\\"port\\\": \\\"51234\\\"}"), Some(51234));
        assert_eq!(settings_port("@{Port=50342; x=1}"), Some(50342));
        assert_eq!(settings_port("{\"transport\": 1}"), None);
    }
}

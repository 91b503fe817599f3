//! The one-pass lexer behind [`commands`]: quoting, comments, continuations, here-documents and
//! nested substitutions per dialect, with an explicit stack instead of recursion.

use std::ops::Range;

use super::{Command, Dialect, Options, Word};

/// Splits `text[range]` into simple commands, in no particular order.
pub fn commands(text: &str, range: Range<usize>, opts: Options) -> Vec<Command> {
    // Word ranges are cut at ASCII bytes inside the range, so a range on character
    // boundaries keeps every word on them.
    let mut end = range.end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut start = range.start.min(end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut out = Vec::new();
    // Here-document bodies fed to a shell are scripts too; they are lexed after the text
    // around them, from a queue rather than by recursion.
    let mut queue: Vec<Range<usize>> = Vec::with_capacity(1);
    queue.push(start..end);
    while let Some(r) = queue.pop() {
        let mut lx = Lexer::new(text.as_bytes(), r, opts);
        lx.run();
        out.append(&mut lx.out);
        queue.append(&mut lx.script_bodies);
    }
    out
}

/// Words being built.
#[derive(Debug)]
struct WordBuf {
    start: usize,
    value: Vec<u8>,
    literal: bool,
}

/// An open bracket. `saved` holds the command and word that a parenthesized argument or a
/// substitution interrupted; `None` marks a block whose closing bracket just ends a command.
#[derive(Debug)]
struct Frame {
    closer: u8,
    /// Where the opening bracket (with its `$` or `@`) starts.
    open: usize,
    saved: Option<(Command, WordBuf)>,
}

struct HereDoc {
    delimiter: Vec<u8>,
    strip_tabs: bool,
    script: bool,
}

struct Lexer<'a> {
    b: &'a [u8],
    end: usize,
    i: usize,
    d: Dialect,
    fold: bool,
    out: Vec<Command>,
    cur: Command,
    word: Option<WordBuf>,
    stack: Vec<Frame>,
    heredocs: Vec<HereDoc>,
    script_bodies: Vec<Range<usize>>,
}

const MAX_DEPTH: usize = 256;

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8], r: Range<usize>, opts: Options) -> Self {
        Lexer {
            b,
            end: r.end,
            i: r.start,
            d: opts.dialect,
            fold: opts.fold_newlines,
            out: Vec::new(),
            cur: Command::default(),
            word: None,
            stack: Vec::new(),
            heredocs: Vec::new(),
            script_bodies: Vec::new(),
        }
    }

    fn at(&self, i: usize) -> u8 {
        if i < self.end { self.b[i] } else { 0 }
    }

    fn word_mut(&mut self) -> &mut WordBuf {
        let start = self.i;
        self.word.get_or_insert_with(|| WordBuf {
            start,
            value: Vec::new(),
            literal: true,
        })
    }

    fn push_byte(&mut self, c: u8) {
        self.word_mut().value.push(c);
    }

    fn push_slice(&mut self, r: Range<usize>) {
        let b = self.b;
        self.word_mut().value.extend_from_slice(&b[r]);
    }

    fn end_word(&mut self) {
        self.end_word_at(self.i);
    }

    fn end_word_at(&mut self, end: usize) {
        if let Some(w) = self.word.take() {
            self.cur.words.push(Word {
                range: w.start..end,
                value: String::from_utf8_lossy(&w.value).into_owned(),
                literal: w.literal,
                redirect: false,
            });
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.cur.words.is_empty() {
            self.out.push(std::mem::take(&mut self.cur));
        }
    }

    /// A line break at `self.i` (`\n` or `\r\n`) of length 1 or 2, or 0 when there is none.
    fn newline_len(&self, i: usize) -> usize {
        match (self.at(i), self.at(i + 1)) {
            (b'\n', _) => 1,
            (b'\r', b'\n') => 2,
            _ => 0,
        }
    }

    fn skip_to_eol(&mut self) {
        while self.i < self.end && self.b[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn run(&mut self) {
        while self.i < self.end {
            let c = self.b[self.i];
            let handled = match self.d {
                Dialect::PowerShell => self.powershell(c),
                Dialect::Posix => self.posix(c),
                Dialect::Batch => self.batch(c),
            };
            if handled {
                continue;
            }
            match c {
                b'\n' => {
                    self.end_word();
                    if !self.fold {
                        self.end_command();
                    }
                    self.i += 1;
                    self.read_heredoc_bodies();
                }
                b' ' | b'\t' | b'\r' | 0x0c => {
                    self.end_word();
                    self.i += 1;
                }
                _ => {
                    self.push_byte(c);
                    self.i += 1;
                }
            }
        }
        self.end_word();
        // Unbalanced brackets at the end: finish the inner commands and give back the outer
        // ones, whose words stop where the unclosed bracket opened (not at the end of the text).
        while let Some(f) = self.stack.pop() {
            if let Some((cmd, word)) = f.saved {
                self.end_command();
                self.cur = cmd;
                if word.start < f.open {
                    self.word = Some(word);
                    self.end_word_at(f.open);
                }
            }
        }
        self.end_command();
    }

    fn open_group(&mut self, closer: u8, len: usize) {
        if self.stack.len() >= MAX_DEPTH {
            // Too deep to be real code: keep the bytes in the word and go on.
            for _ in 0..len {
                let c = self.b[self.i];
                self.push_byte(c);
                self.i += 1;
            }
            return;
        }
        let start = self.i;
        let mut word = self.word.take().unwrap_or(WordBuf {
            start,
            value: Vec::new(),
            literal: true,
        });
        word.literal = false;
        let saved = std::mem::take(&mut self.cur);
        self.stack.push(Frame {
            closer,
            open: start,
            saved: Some((saved, word)),
        });
        self.i += len;
    }

    fn open_block(&mut self, closer: u8) {
        self.end_command();
        if self.stack.len() < MAX_DEPTH {
            self.stack.push(Frame {
                closer,
                open: self.i,
                saved: None,
            });
        }
        self.i += 1;
    }

    /// A closing bracket: pops its frame, or ends the command when it matches none.
    fn close(&mut self, c: u8) {
        if self.stack.last().is_some_and(|f| f.closer == c) {
            let f = self.stack.pop().expect("checked above");
            self.end_command();
            self.i += 1;
            if let Some((cmd, mut word)) = f.saved {
                // The group belongs to the outer word: keep its text as written.
                word.value.extend_from_slice(&self.b[f.open..self.i]);
                self.cur = cmd;
                self.word = Some(word);
            }
        } else {
            self.end_command();
            self.i += 1;
        }
    }

    fn redirect(&mut self) {
        // `2>` , `*>`: the digits already read belong to the operator.
        let digits_only = self.word.as_ref().is_some_and(|w| {
            w.value.iter().all(|c| c.is_ascii_digit() || *c == b'*') && !w.value.is_empty()
        });
        let start = if digits_only {
            self.word.take().map_or(self.i, |w| w.start)
        } else {
            self.end_word();
            self.i
        };
        while matches!(self.at(self.i), b'>' | b'<' | b'|') {
            self.i += 1;
        }
        if self.at(self.i) == b'&' {
            self.i += 1;
            while self.at(self.i).is_ascii_digit() || self.at(self.i) == b'-' {
                self.i += 1;
            }
        }
        self.cur.words.push(Word {
            range: start..self.i,
            value: String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
            literal: true,
            redirect: true,
        });
    }

    // ---- PowerShell ----

    fn powershell(&mut self, c: u8) -> bool {
        let at_word_start = self.word.is_none();
        match c {
            b'#' if at_word_start => self.skip_to_eol(),
            b'<' if at_word_start && self.at(self.i + 1) == b'#' => {
                self.end_word();
                let mut j = self.i + 2;
                while j < self.end && !(self.b[j] == b'#' && self.at(j + 1) == b'>') {
                    j += 1;
                }
                self.i = (j + 2).min(self.end);
            }
            b'`' => {
                let nl = self.newline_len(self.i + 1);
                if nl > 0 {
                    self.end_word();
                    self.i += 1 + nl;
                } else if self.i + 1 < self.end {
                    let e = self.b[self.i + 1];
                    self.push_byte(ps_escape(e));
                    self.i += 2;
                } else {
                    self.i += 1;
                }
            }
            b'\'' => self.ps_single(),
            b'"' => self.ps_double(),
            b'@' if at_word_start && matches!(self.at(self.i + 1), b'\'' | b'"') => {
                self.ps_here_string();
            }
            b'@' | b'$' if matches!(self.at(self.i + 1), b'(' | b'{') => {
                if c == b'$' && self.at(self.i + 1) == b'{' {
                    // `${name}`: a braced variable name, not a block.
                    let mut j = self.i + 2;
                    while j < self.end && self.b[j] != b'}' && self.b[j] != b'\n' {
                        j += 1;
                    }
                    let j = (j + 1).min(self.end);
                    let start = self.i;
                    self.word_mut().literal = false;
                    self.push_slice(start..j);
                    self.i = j;
                } else {
                    let closer = if self.at(self.i + 1) == b'(' {
                        b')'
                    } else {
                        b'}'
                    };
                    self.open_group(closer, 2);
                }
            }
            b'$' => {
                self.word_mut().literal = false;
                self.push_byte(c);
                self.i += 1;
            }
            b'(' => {
                if at_word_start && self.cur.words.is_empty() {
                    self.open_block(b')');
                } else {
                    self.open_group(b')', 1);
                }
            }
            b'{' => self.open_block(b'}'),
            b')' | b'}' => self.close(c),
            b';' | b'|' | b'&' => {
                self.end_command();
                self.i += 1;
            }
            b'>' => self.redirect(),
            b'=' if self.at(self.i + 1) != b'='
                && (at_word_start
                    || (self.cur.words.is_empty()
                        && self.word.as_ref().is_some_and(|w| !w.value.contains(&b'=')))) =>
            {
                // `$x=value`: PowerShell splits the assignment operator from the variable.
                self.end_word();
                let start = self.i;
                self.i += 1;
                self.cur.words.push(Word {
                    range: start..self.i,
                    value: "=".to_owned(),
                    literal: true,
                    redirect: false,
                });
            }
            _ => return false,
        }
        true
    }

    fn ps_single(&mut self) {
        self.word_mut();
        self.i += 1;
        while self.i < self.end {
            let c = self.b[self.i];
            if c == b'\'' {
                if self.at(self.i + 1) == b'\'' {
                    self.push_byte(b'\'');
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return;
            }
            self.push_byte(c);
            self.i += 1;
        }
    }

    fn ps_double(&mut self) {
        self.word_mut();
        self.i += 1;
        while self.i < self.end {
            let c = self.b[self.i];
            match c {
                b'"' if self.at(self.i + 1) == b'"' => {
                    self.push_byte(b'"');
                    self.i += 2;
                }
                b'"' => {
                    self.i += 1;
                    return;
                }
                b'`' if self.i + 1 < self.end => {
                    let e = self.b[self.i + 1];
                    self.push_byte(ps_escape(e));
                    self.i += 2;
                }
                b'$' if self.at(self.i + 1) == b'(' => self.push_subexpression(),
                b'$' => {
                    self.word_mut().literal = false;
                    self.push_byte(c);
                    self.i += 1;
                }
                _ => {
                    self.push_byte(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `$( ... )` inside a double-quoted string: kept whole in the word, which is no longer a
    /// literal (PowerShell and shell alike).
    fn push_subexpression(&mut self) {
        let start = self.i;
        let end = skip_subexpression(self.b, self.i + 1, self.end);
        self.word_mut().literal = false;
        self.push_slice(start..end);
        self.i = end;
    }

    fn ps_here_string(&mut self) {
        let quote = self.b[self.i + 1];
        // A here-string opener must end its line.
        let mut j = self.i + 2;
        while matches!(self.at(j), b' ' | b'\t' | b'\r') {
            j += 1;
        }
        if self.at(j) != b'\n' {
            // `@'` not at a line end: an ordinary `@` then a string.
            self.push_byte(b'@');
            self.i += 1;
            return;
        }
        let body = j + 1;
        let mut k = body;
        let mut close = None;
        while k < self.end {
            let line_end = memchr::memchr(b'\n', &self.b[k..self.end]).map_or(self.end, |p| k + p);
            let mut s = k;
            while matches!(self.at(s), b' ' | b'\t') {
                s += 1;
            }
            if self.at(s) == quote && self.at(s + 1) == b'@' {
                close = Some((k, s + 2));
                break;
            }
            k = line_end + 1;
        }
        let (body_end, end) = close.unwrap_or((self.end, self.end));
        let content_end = body_end.saturating_sub(1).max(body);
        self.word_mut().literal = quote == b'\'';
        self.push_slice(body..content_end);
        self.i = end;
    }

    // ---- POSIX shell ----

    fn posix(&mut self, c: u8) -> bool {
        let at_word_start = self.word.is_none();
        match c {
            b'#' if at_word_start => self.skip_to_eol(),
            b'\\' => {
                let nl = self.newline_len(self.i + 1);
                if nl > 0 {
                    self.i += 1 + nl;
                } else if self.i + 1 < self.end {
                    let e = self.b[self.i + 1];
                    self.push_byte(e);
                    self.i += 2;
                } else {
                    self.i += 1;
                }
            }
            b'\'' => {
                self.word_mut();
                self.i += 1;
                while self.i < self.end && self.b[self.i] != b'\'' {
                    let e = self.b[self.i];
                    self.push_byte(e);
                    self.i += 1;
                }
                self.i = (self.i + 1).min(self.end);
            }
            b'"' => self.posix_double(),
            b'$' if self.at(self.i + 1) == b'(' => self.open_group(b')', 2),
            b'$' if self.at(self.i + 1) == b'{' => {
                let start = self.i;
                let mut j = self.i + 2;
                while j < self.end && self.b[j] != b'}' && self.b[j] != b'\n' {
                    j += 1;
                }
                let j = (j + 1).min(self.end);
                self.word_mut().literal = false;
                self.push_slice(start..j);
                self.i = j;
            }
            b'$' => {
                self.word_mut().literal = false;
                self.push_byte(c);
                self.i += 1;
            }
            b'`' => {
                if self.stack.last().is_some_and(|f| f.closer == b'`') {
                    self.close(b'`');
                } else {
                    self.open_group(b'`', 1);
                }
            }
            b'(' => {
                if at_word_start {
                    self.open_block(b')');
                } else {
                    self.open_group(b')', 1);
                }
            }
            b')' => self.close(c),
            b';' | b'|' | b'&' => {
                self.end_command();
                self.i += 1;
            }
            b'<' if self.at(self.i + 1) == b'<' && self.at(self.i + 2) != b'<' => self.heredoc(),
            b'>' | b'<' => self.redirect(),
            _ => return false,
        }
        true
    }

    fn posix_double(&mut self) {
        self.word_mut();
        self.i += 1;
        while self.i < self.end {
            let c = self.b[self.i];
            match c {
                b'"' => {
                    self.i += 1;
                    return;
                }
                b'\\' if matches!(self.at(self.i + 1), b'"' | b'\\' | b'$' | b'`') => {
                    let e = self.b[self.i + 1];
                    self.push_byte(e);
                    self.i += 2;
                }
                b'\\' if self.newline_len(self.i + 1) > 0 => {
                    self.i += 1 + self.newline_len(self.i + 1);
                }
                b'$' if self.at(self.i + 1) == b'(' => self.push_subexpression(),
                b'$' | b'`' => {
                    self.word_mut().literal = false;
                    self.push_byte(c);
                    self.i += 1;
                }
                _ => {
                    self.push_byte(c);
                    self.i += 1;
                }
            }
        }
    }

    fn heredoc(&mut self) {
        self.end_word();
        let start = self.i;
        self.i += 2;
        let strip_tabs = self.at(self.i) == b'-';
        if strip_tabs {
            self.i += 1;
        }
        while matches!(self.at(self.i), b' ' | b'\t') {
            self.i += 1;
        }
        let mut delimiter = Vec::new();
        while self.i < self.end {
            let c = self.b[self.i];
            if c == b'\'' || c == b'"' || c == b'\\' {
                self.i += 1;
                continue;
            }
            if c.is_ascii_whitespace() || matches!(c, b';' | b'&' | b'|' | b')' | b'<' | b'>') {
                break;
            }
            delimiter.push(c);
            self.i += 1;
        }
        let script = self.cur.words.iter().any(|w| {
            let name = w.value.rsplit('/').next().unwrap_or("");
            matches!(
                name,
                "bash" | "sh" | "zsh" | "ksh" | "dash" | "ssh" | "pwsh" | "powershell"
            )
        });
        self.cur.words.push(Word {
            range: start..self.i,
            value: String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
            literal: true,
            redirect: true,
        });
        if !delimiter.is_empty() {
            self.heredocs.push(HereDoc {
                delimiter,
                strip_tabs,
                script,
            });
        }
    }

    /// After a line break: skips the bodies of the here-documents opened on the line before.
    fn read_heredoc_bodies(&mut self) {
        for h in std::mem::take(&mut self.heredocs) {
            let body = self.i;
            let mut k = self.i;
            let mut body_end = self.end;
            let mut next = self.end;
            while k < self.end {
                let line_end =
                    memchr::memchr(b'\n', &self.b[k..self.end]).map_or(self.end, |p| k + p);
                let mut s = k;
                if h.strip_tabs {
                    while self.at(s) == b'\t' {
                        s += 1;
                    }
                }
                let mut e = line_end;
                if e > s && self.b[e - 1] == b'\r' {
                    e -= 1;
                }
                if self.b[s..e] == h.delimiter[..] {
                    body_end = k;
                    next = (line_end + 1).min(self.end);
                    break;
                }
                k = line_end + 1;
            }
            if h.script && body < body_end {
                self.script_bodies.push(body..body_end);
            }
            self.i = next;
        }
    }

    // ---- cmd.exe ----

    fn batch(&mut self, c: u8) -> bool {
        let at_command_start = self.word.is_none() && self.cur.words.is_empty();
        match c {
            b'@' if at_command_start => self.i += 1,
            b':' if at_command_start && self.at(self.i + 1) == b':' => self.skip_to_eol(),
            b'r' | b'R' if at_command_start && self.is_rem() => self.skip_to_eol(),
            b'^' => {
                let nl = self.newline_len(self.i + 1);
                if nl > 0 {
                    self.end_word();
                    self.i += 1 + nl;
                } else if self.i + 1 < self.end {
                    let e = self.b[self.i + 1];
                    self.push_byte(e);
                    self.i += 2;
                } else {
                    self.i += 1;
                }
            }
            b'"' => {
                self.word_mut();
                self.i += 1;
                while self.i < self.end && !matches!(self.b[self.i], b'"' | b'\n') {
                    let e = self.b[self.i];
                    if e == b'%' || e == b'!' {
                        self.word_mut().literal = false;
                    }
                    self.push_byte(e);
                    self.i += 1;
                }
                if self.at(self.i) == b'"' {
                    self.i += 1;
                }
            }
            b'%' | b'!' => {
                self.word_mut().literal = false;
                self.push_byte(c);
                self.i += 1;
            }
            // Brackets group commands only where a command starts (`if x (`, `do (`); elsewhere
            // (`echo (note)`) they are text.
            b'(' if self.word.is_none() && self.opens_batch_block() => {
                self.open_block(b')');
            }
            b')' if self.stack.last().is_some_and(|f| f.closer == b')') => self.close(c),
            b'|' | b'&' => {
                self.end_command();
                self.i += 1;
            }
            b'>' | b'<' => self.redirect(),
            _ => return false,
        }
        true
    }

    /// `(` starts a block at a command start and in `if`, `for` and `else` commands.
    fn opens_batch_block(&self) -> bool {
        let is = |w: Option<&Word>, keys: &[&str]| {
            w.is_some_and(|w| keys.iter().any(|k| w.value.eq_ignore_ascii_case(k)))
        };
        self.cur.words.is_empty()
            || is(self.cur.words.first(), &["if", "for"])
            || is(self.cur.words.last(), &["else", "do"])
    }

    fn is_rem(&self) -> bool {
        let w = &self.b[self.i..self.end.min(self.i + 3)];
        w.eq_ignore_ascii_case(b"rem")
            && matches!(
                self.at(self.i + 3),
                0 | b' ' | b'\t' | b'\r' | b'\n' | b'.' | b':'
            )
    }
}

fn ps_escape(e: u8) -> u8 {
    match e {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'0' => 0,
        other => other,
    }
}

/// The end of a `$( ... )` starting with `(` at `open`, skipping quoted text; bounded by `end`.
fn skip_subexpression(b: &[u8], open: usize, end: usize) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    let mut quote: Option<u8> = None;
    while j < end {
        let c = b[j];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if (c == b'`' || c == b'\\') && q == b'"' {
                    j += 1;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j + 1;
                    }
                }
                _ => {}
            },
        }
        j += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, d: Dialect) -> Vec<Vec<String>> {
        let mut cmds = commands(text, 0..text.len(), d.into());
        cmds.sort_by_key(|c| c.range().start);
        cmds.iter()
            .map(|c| c.words.iter().map(|w| w.value.clone()).collect())
            .collect()
    }

    #[test]
    fn posix_quotes_comments_and_separators() {
        let t = "a 'b c' \"d \\\"e\\\"\" f\\ g # not a word\nh#i; j && k | l\n";
        assert_eq!(
            words(t, Dialect::Posix),
            vec![
                vec!["a", "b c", "d \"e\"", "f g"],
                vec!["h#i"],
                vec!["j"],
                vec!["k"],
                vec!["l"]
            ]
        );
    }

    #[test]
    fn posix_continuations_substitutions_and_heredocs() {
        let t = "x=$(az vm show \\\n  -n \"$(echo vm)\")\ncat <<-EOF > f\n\taz login\n\tEOF\nfoo `bar baz` qux\n";
        assert_eq!(
            words(t, Dialect::Posix),
            vec![
                vec!["x=$(az vm show \\\n  -n \"$(echo vm)\")"],
                vec!["az", "vm", "show", "-n", "$(echo vm)"],
                vec!["cat", "<<-EOF", ">", "f"],
                vec!["foo", "`bar baz`", "qux"],
                vec!["bar", "baz"],
            ]
        );
        let cmds = commands(t, 0..t.len(), Dialect::Posix.into());
        let outer = cmds
            .iter()
            .find(|c| c.words[0].value.starts_with("x="))
            .unwrap();
        assert!(!outer.words[0].literal);
        assert_eq!(&t[outer.range()], "x=$(az vm show \\\n  -n \"$(echo vm)\")");
    }

    #[test]
    fn powershell_strings_comments_and_groups() {
        let t = "a 'it''s' \"q `\"x`\" $v\" <# c\n d #> b # c\n$h = @{\n  k = 'v' # c\n}\nc -X:(Get-Thing -Y 1).Z `\n  -W @\"\nhere `n\n\"@\n";
        let got = words(t, Dialect::PowerShell);
        assert_eq!(got[0], vec!["a", "it's", "q \"x\" $v", "b"]);
        assert_eq!(got[1], vec!["$h", "=", "@{\n  k = 'v' # c\n}"]);
        assert_eq!(got[2], vec!["k", "=", "v"]);
        assert_eq!(got[3], vec!["c", "-X:(Get-Thing -Y 1).Z", "-W", "here `n"]);
        assert_eq!(got[4], vec!["Get-Thing", "-Y", "1"]);
    }

    #[test]
    fn batch_comments_escapes_and_continuations() {
        let t = "@echo off\r\nREM az login\r\n:: az login\r\nset \"X=a b\"\r\ncall az x ^\r\n  -y \"%X%\" & echo 1^&2 >nul 2>&1\r\nif errorlevel 1 (az y) else (echo (z))\r\n";
        assert_eq!(
            words(t, Dialect::Batch),
            vec![
                vec!["echo", "off"],
                vec!["set", "X=a b"],
                vec!["call", "az", "x", "-y", "%X%"],
                vec!["echo", "1&2", ">", "nul", "2>&1"],
                vec!["if", "errorlevel", "1"],
                vec!["az", "y"],
                vec!["else"],
                vec!["echo", "(z"],
                vec![")"],
            ]
        );
    }

    #[test]
    fn unbalanced_and_deep_input_does_not_panic() {
        for d in [Dialect::PowerShell, Dialect::Posix, Dialect::Batch] {
            for t in [
                "$(",
                ")))",
                "@{",
                "\"",
                "'",
                "`",
                "<#",
                "<<",
                "@'\n",
                "x ^",
                "é`é\\é^é",
                &"$(".repeat(10_000),
            ] {
                let _ = commands(t, 0..t.len(), d.into());
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn tokenizer_never_panics(s in "(\\PC|[\"'`$(){}@<>#^\\\\\n\r;|&=-])*") {
            for d in [Dialect::PowerShell, Dialect::Posix, Dialect::Batch] {
                for fold in [false, true] {
                    for c in commands(&s, 0..s.len(), Options { dialect: d, fold_newlines: fold }) {
                        for w in &c.words {
                            assert!(s.is_char_boundary(w.range.start) && s.is_char_boundary(w.range.end));
                            assert!(w.range.start <= w.range.end && w.range.end <= s.len());
                        }
                    }
                }
            }
        }
    }
}

//! Which parts of a file are about Azure Cloud Shell, whose own token service also listens on
//! `localhost:50342`: decided per enclosing construct (case arm, branch, function, Markdown
//! section), so a test that switches on the environment keeps its Cloud Shell arm untouched while
//! a real usage of the extension elsewhere in the file is still reported.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::construct::Lines;

/// Cloud Shell's own environment. `AZUREPS_HOST_ENVIRONMENT` alone also names Azure Automation
/// and pipeline hosts, so it counts only next to a `cloud-shell` value.
static STRONG: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(
        r"\b(?:ACC_CLOUD|ACC_TID|ACC_OID)\b|AZUREPS_HOST_ENVIRONMENT[[:ascii:]--[\n]]{0,120}(?i:cloud-?shell)",
    )
    .expect("valid regex")
});

/// A mention of Cloud Shell (`Cloud Shell`, `CloudShell`, `cloud_shell`).
static WEAK: LazyLock<Regex> =
    LazyLock::new(|| super::pattern::compile(r"(?i)cloud[ _-]?shell").expect("valid regex"));

/// Words of a VM or the extension: VM docs often say "open Cloud Shell" and then run commands
/// inside the VM, so a mere mention of Cloud Shell next to them is not about Cloud Shell.
static VM: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(r"(?i)managedidentityextension|microsoft\.managedidentity\b|virtual machine|\bvm extension|\bwaagent\b|\bvmss\b")
        .expect("valid regex")
});

/// Tests for presence, whose own `not` or `!` negates nothing: `is not None`, `!= null`, `-ne`.
static PRESENT: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(r"(?i)\bis\s+not\s+None\b|!==?|-ne\b|\s-n\s").expect("valid regex")
});

/// What turns a test around: a negation (`!`, `not`, `-not`, `unless`) or a test for absence
/// (`-z`, `is None`, `== null`, `-eq $null`, `IsNullOrEmpty`).
static FLIP: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(r#"(?i)\s-z\s|!|-not\b|\bnot\b|\bunless\b|\bis\s+None\b|-eq\s+\$null\b|\$null\s+-eq\b|===?\s*(?:""|''|null|nil|None|undefined)|IsNullOr(?:Empty|WhiteSpace)\b"#)
        .expect("valid regex")
});

/// A condition that tests for the *absence* of Cloud Shell (`if [ -z "$ACC_CLOUD" ]`, `if not
/// in_cloud_shell():`, but not `if (!string.IsNullOrEmpty(...))`): an odd number of flips. Such a
/// guard's body leaves, so the code after it runs in Cloud Shell.
fn negated(condition: &str) -> bool {
    let present = PRESENT.replace_all(condition, " ");
    FLIP.find_iter(&present).count() % 2 == 1
}

/// A statement that takes Cloud Shell's environment away (`unset ACC_CLOUD`,
/// `monkeypatch.delenv("ACC_CLOUD")`): what follows is not Cloud Shell.
static UNSET: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(r#"(?i)unset|delenv|del\s|\.pop\s*\(|remove-item|delete\s|=\s*(?:none|null|nil|\$null|""|'')\s*;?\s*$"#)
        .expect("valid regex")
});

/// A line that starts a conditional.
static CONDITIONAL: LazyLock<Regex> = LazyLock::new(|| {
    super::pattern::compile(
        r"(?i)^\s*(?:\}\s*)?(?:if|elif|elseif|else\s+if|unless|when)\b|\bif\s*\(",
    )
    .expect("valid regex")
});

/// More signal lines than this: the file is about Cloud Shell throughout (and each signal's
/// region costs a walk over the lines, which this bounds).
const MAX_SIGNALS: usize = 64;

/// The parts of one text that are about Cloud Shell.
#[derive(Debug, Default)]
pub struct CloudShell {
    whole: bool,
    /// Disjoint byte ranges, sorted by start.
    regions: Vec<Range<usize>>,
}

impl CloudShell {
    /// Finds the Cloud Shell parts of `text` at `path`: all of it when the path names Cloud
    /// Shell, else the construct around each signal.
    pub fn of(text: &str, path: &str) -> Self {
        if path_is_cloud_shell(path) {
            return CloudShell {
                whole: true,
                regions: Vec::new(),
            };
        }
        let signals: Vec<(usize, bool)> = STRONG
            .find_iter(text)
            .map(|m| (m.start(), true))
            .chain(WEAK.find_iter(text).map(|m| (m.start(), false)))
            .collect();
        if signals.is_empty() {
            return CloudShell::default();
        }
        let lines = Lines::new(text);
        let mut signal_lines: Vec<(usize, bool, usize)> = signals
            .into_iter()
            .map(|(at, strong)| (lines.line_at(at), strong, at))
            .collect();
        // A line with both kinds counts as strong.
        signal_lines.sort_by_key(|&(l, strong, at)| (l, !strong, at));
        signal_lines.dedup_by_key(|(l, _, _)| *l);
        if signal_lines.len() > MAX_SIGNALS {
            return CloudShell {
                whole: true,
                regions: Vec::new(),
            };
        }
        let mut regions: Vec<Range<usize>> = Vec::new();
        for (line, strong, at) in signal_lines {
            let column = at - lines.bytes(line..line + 1).start;
            let region = lines.bytes(region_of(&lines, line, strong, column));
            if strong || !VM.is_match(&text[region.clone()]) {
                regions.push(region);
            }
        }
        regions.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::new();
        for r in regions {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        CloudShell {
            whole: false,
            regions: merged,
        }
    }

    /// The whole text is about Cloud Shell.
    pub fn whole(&self) -> bool {
        self.whole
    }

    /// Whether byte `pos` lies in a part about Cloud Shell.
    pub fn covers(&self, pos: usize) -> bool {
        if self.whole {
            return true;
        }
        let i = self.regions.partition_point(|r| r.end < pos);
        self.regions.get(i).is_some_and(|r| r.start <= pos)
    }
}

/// The path names Cloud Shell (`cloudshell`, `cloud-shell`, `cloud_shell`, `Cloud Shell`).
pub fn path_is_cloud_shell(path: &str) -> bool {
    let squashed: String = path
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    squashed.contains("cloudshell")
}

/// A line that holds a local endpoint (the URL a signal on the same line labels).
fn holds_endpoint(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("localhost:") || l.contains("127.0.0.1:")
}

/// The lines a signal on line `i` speaks for:
/// - a case label or keyed entry (`case CloudShell:`, `CloudShell => ...`, `cloudShell: ...`):
///   its arm, never its siblings;
/// - a line that holds the endpoint itself: that line;
/// - a conditional that tests for Cloud Shell: its branch (the header and its body), or the
///   line alone when written on one line; one that tests for its absence is a guard, and speaks
///   for the block it sits in;
/// - a comment, or Cloud Shell's environment (`export ACC_CLOUD=...`), or a header without the
///   endpoint below it: the block it sits in, which at the top level is the whole text;
/// - any other code that names Cloud Shell (`[InlineData(Host.CloudShell)]`, one value among
///   others): that line.
fn region_of(lines: &Lines, i: usize, strong: bool, column: usize) -> Range<usize> {
    let line = lines.get(i);
    if lines.is_label(i) {
        // `name: "cloud shell",` describes the object it is an entry of; `cloudShell: ...`
        // labels its own value.
        let trimmed = line.trim_start();
        let keyword = ["case", "default", "when", "elif", "elseif", "else"]
            .iter()
            .any(|k| trimmed.starts_with(k));
        let separator = line
            .find([':', ',', ')', '{', '='])
            .map_or(line.len(), |p| p.max(line.len() - trimmed.len() + 1));
        if !keyword && column > separator && !holds_endpoint(line) {
            return lines.level(i);
        }
        return lines.body(i);
    }
    if CONDITIONAL.is_match(line) {
        let body = lines.body(i);
        if !negated(line) {
            return body;
        }
        // `if (!IsCloudShell()) { ...localhost:50342... }` is the other branch.
        if body.clone().any(|j| holds_endpoint(lines.get(j))) {
            return i..i;
        }
        return lines.level(i);
    }
    if holds_endpoint(line) {
        return i..i + 1;
    }
    if lines.is_header(i) {
        let body = lines.body(i);
        if body.clone().any(|j| holds_endpoint(lines.get(j))) {
            return body;
        }
        return lines.level(i);
    }
    if strong && UNSET.is_match(line) {
        return i..i;
    }
    if strong || is_comment(line) || is_message(line) {
        return lines.level(i);
    }
    i..i + 1
}

/// A line that tells the user something (`echo "Run this in Cloud Shell"`): like a comment, it
/// speaks for the code around it.
fn is_message(line: &str) -> bool {
    static PRINT: LazyLock<Regex> = LazyLock::new(|| {
        super::pattern::compile(r"(?i)^\s*(?:echo|printf|print|write-host|write-output|write-warning|write-error|console\.(?:log|warn|error)|throw|raise|die)\b")
            .expect("valid regex")
    });
    PRINT.is_match(line)
}

/// A line that is a comment or documentation in one of the usual syntaxes.
fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    [
        "#", "//", "/*", "*", "<#", "--", "'", ";", "::", "<!--", "\"\"\"", "'''",
    ]
    .iter()
    .any(|m| t.starts_with(m))
        || t.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("rem "))
}

/// The Markdown sections of one text, for asking which of them are about Cloud Shell. Headings
/// are found once per text and each section's answer is kept: a document with many code blocks
/// asks once per block, and without this each question re-read the lines and the text around it.
pub struct MarkdownSections<'t> {
    text: &'t str,
    lines: &'t Lines<'t>,
    /// `(line, level)` of every heading outside code blocks, in line order.
    headings: Vec<(usize, usize)>,
    path_is_cloud_shell: bool,
    /// The last section asked about (its heading's index in `headings`) and its answer: blocks
    /// are asked about in order, so neighbours share their section.
    last: Option<(Option<usize>, bool)>,
}

impl<'t> MarkdownSections<'t> {
    /// `code` holds the byte ranges of the fenced blocks' bodies, sorted: a `# comment` in a
    /// block is no heading.
    pub fn new(text: &'t str, lines: &'t Lines<'t>, code: &[Range<usize>], path: &str) -> Self {
        let path_is_cloud_shell = path_is_cloud_shell(path);
        let mut headings = Vec::new();
        if !path_is_cloud_shell {
            let mut block = code.iter().peekable();
            for i in 0..lines.count() {
                let pos = lines.bytes(i..i + 1).start;
                while block.next_if(|r| r.end <= pos).is_some() {}
                if block.peek().is_some_and(|r| r.start <= pos) {
                    continue;
                }
                let l = lines.get(i).trim_start();
                let n = l.bytes().take_while(|&c| c == b'#').count();
                if (1..=6).contains(&n) && l[n..].starts_with(' ') {
                    headings.push((i, n));
                }
            }
        }
        MarkdownSections {
            text,
            lines,
            headings,
            path_is_cloud_shell,
            last: None,
        }
    }

    /// Whether the section holding byte `at` is about Cloud Shell: its own text (from the
    /// heading before `at` to the next heading) and the headings above it mention Cloud Shell
    /// (and, for a mere mention, no VM or extension), or the path names Cloud Shell.
    pub fn covers(&mut self, at: usize) -> bool {
        if self.path_is_cloud_shell {
            return true;
        }
        let here = self.lines.line_at(at);
        // Headings up to and including `here`; the section starts at the last of them.
        let after = self.headings.partition_point(|&(l, _)| l <= here);
        let start = after.checked_sub(1);
        if let Some((section, answer)) = self.last
            && section == start
        {
            return answer;
        }
        let answer = self.section_about_cloud_shell(start, after);
        self.last = Some((start, answer));
        answer
    }

    fn section_about_cloud_shell(&self, start: Option<usize>, after: usize) -> bool {
        let lines = self.lines;
        let end = self.headings.get(after).map_or(lines.count(), |&(l, _)| l);
        // A heading that names Cloud Shell labels its section, like a case label.
        if let Some(h) = start {
            let heading = lines.get(self.headings[h].0);
            if WEAK.is_match(heading) && !VM.is_match(heading) {
                return true;
            }
        }
        let first = start.map_or(0, |h| self.headings[h].0);
        let mut scope = String::from(&self.text[lines.bytes(first..end)]);
        // The headings it sits under.
        if let Some(h) = start {
            let mut depth = self.headings[h].1;
            for &(line, n) in self.headings[..h].iter().rev() {
                if n < depth {
                    scope.push('\n');
                    scope.push_str(lines.get(line));
                    depth = n;
                }
            }
        }
        STRONG.is_match(&scope) || (WEAK.is_match(&scope) && !VM.is_match(&scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(text: &str, needle: &str) -> bool {
        let cs = CloudShell::of(text, "src/x");
        let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
        cs.covers(at)
    }

    #[test]
    fn a_case_arm_is_its_own_construct() {
        let t = "switch (env) {\n    case HostEnv.CloudShell:\n        expected = \"http://localhost:50342/oauth2/token\";\n        break;\n    case HostEnv.VmExtension:\n        expected = \"http://127.0.0.1:50342/oauth2/token\";\n        break;\n    case HostEnv.Arc:\n        expected = \"http://localhost:40342/metadata/identity/oauth2/token\";\n        break;\n}\n";
        assert!(covered(t, "localhost:50342"));
        assert!(!covered(t, "127.0.0.1:50342"));
        assert!(!covered(t, "40342"));
    }

    #[test]
    fn a_value_among_others_names_only_its_line() {
        let t = "    [Theory]\n    [InlineData(Host.CloudShell)]\n    [InlineData(Host.Vm)]\n    public void T(Host h)\n    {\n        var u = \"http://localhost:50342/oauth2/token\";\n    }\n";
        assert!(!covered(t, "localhost"));
    }

    #[test]
    fn one_line_arms_and_entries() {
        let t = "    return env switch {\n        Env.CloudShell => \"http://localhost:50342/oauth2/token\",\n        Env.Vm => \"http://127.0.0.1:50342/oauth2/token\",\n    };\n";
        assert!(covered(t, "localhost:50342"));
        assert!(!covered(t, "127.0.0.1"));
        let t = "ENDPOINTS = {\n    'cloud_shell': CS_URL,\n    'vm': 'http://localhost:50342/oauth2/token',\n}\n";
        assert!(!covered(t, "localhost"));
    }

    #[test]
    fn an_entry_that_names_cloud_shell_speaks_for_its_object() {
        let t = "tests := []tc{\n\t{\n\t\tname: \"cloud shell\",\n\t\twant: \"http://localhost:50342/oauth2/token\",\n\t},\n\t{\n\t\tname: \"vm extension\",\n\t\twant: \"http://127.0.0.1:50342/oauth2/token\",\n\t},\n}\n";
        assert!(covered(t, "localhost"));
        assert!(!covered(t, "127.0.0.1"));
        let t = "[Fact]\npublic void CloudShellEndpoint()\n{\n    Assert.Equal(\"http://localhost:50342/oauth2/token\", E());\n}\n[Fact]\npublic void VmEndpoint()\n{\n    Assert.Equal(\"http://127.0.0.1:50342/oauth2/token\", E());\n}\n";
        assert!(covered(t, "localhost"));
        assert!(!covered(t, "127.0.0.1"));
    }

    #[test]
    fn taking_the_environment_away_is_not_cloud_shell() {
        let t = "def test_cloud_shell(monkeypatch):\n    monkeypatch.setenv('ACC_CLOUD', 'x')\n    assert e() == 'http://localhost:50342/oauth2/token'\n\ndef test_vm(monkeypatch):\n    monkeypatch.delenv('ACC_CLOUD', raising=False)\n    assert e() == 'http://127.0.0.1:50342/oauth2/token'\n";
        assert!(covered(t, "localhost"));
        assert!(!covered(t, "127.0.0.1"));
    }

    #[test]
    fn tests_for_presence_and_absence() {
        for present in [
            "if (Environment.GetEnvironmentVariable(\"ACC_CLOUD\") != null) {",
            "if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(\"ACC_CLOUD\"))) {",
            "if os.environ.get('ACC_CLOUD') is not None:",
            "if [ -n \"$ACC_CLOUD\" ]; then",
            "if ($env:ACC_CLOUD) {",
        ] {
            assert!(!negated(present), "{present}");
        }
        for absent in [
            "if [ -z \"$ACC_CLOUD\" ]; then",
            "if (!process.env.ACC_CLOUD) {",
            "if 'ACC_CLOUD' not in os.environ:",
            "if ($null -eq $env:ACC_CLOUD) {",
            "if (-not $env:ACC_CLOUD) {",
            "if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(\"ACC_CLOUD\"))) {",
        ] {
            assert!(negated(absent), "{absent}");
        }
    }

    #[test]
    fn functions_and_branches() {
        let t = "def cloud_shell_token():\n    return get('http://localhost:50342/oauth2/token')\n\ndef vm_token():\n    return get('http://127.0.0.1:50342/oauth2/token')\n";
        assert!(covered(t, "localhost"));
        assert!(!covered(t, "127.0.0.1"));
        let t = "if is_cloud_shell():\n    url = os.environ['MSI_ENDPOINT']\nelse:\n    url = 'http://localhost:50342/oauth2/token'\n";
        assert!(!covered(t, "localhost"));
        let t = "if (!IsCloudShell()) {\n    url = \"http://localhost:50342/oauth2/token\";\n}\n";
        assert!(!covered(t, "localhost"));
        let t = "func endpoint() string {\n\tif inCloudShell() { return os.Getenv(\"MSI_ENDPOINT\") }\n\treturn \"http://localhost:50342/oauth2/token\"\n}\n";
        assert!(!covered(t, "localhost"));
    }

    #[test]
    fn file_wide_signals_and_guards() {
        let t = "#!/bin/bash\n# Runs in Azure Cloud Shell only.\nget() {\n  curl -s http://localhost:50342/oauth2/token\n}\n";
        assert!(covered(t, "localhost"));
        let t = "if [ -z \"${ACC_CLOUD:-}\" ]; then\n  exit 1\nfi\ncurl http://localhost:50342/oauth2/token\n";
        assert!(covered(t, "localhost"));
        let t = "if not in_cloud_shell():\n    sys.exit(1)\nu = 'http://localhost:50342/oauth2/token'\n";
        assert!(covered(t, "localhost"));
        let t = "echo 'Run this in Azure Cloud Shell'\nget() {\n  curl -s http://localhost:50342/oauth2/token\n}\n";
        assert!(covered(t, "localhost"));
        // A VM runbook that merely says "open Cloud Shell" is about the VM.
        let t = "# Open Cloud Shell, then on the virtual machine:\nu = 'http://localhost:50342/oauth2/token'\n";
        assert!(!covered(t, "localhost"));
        assert!(CloudShell::of("x", "tools/cloud-shell/t.py").covers(0));
        assert!(!CloudShell::of("u = 1", "a.py").covers(0));
    }

    fn section(t: &str, lines: &Lines, code: &[Range<usize>], at: usize) -> bool {
        MarkdownSections::new(t, lines, code, "doc.md").covers(at)
    }

    #[test]
    fn markdown_sections() {
        let t = "# Tokens\n\n## In Cloud Shell\n\n```sh\ncurl localhost:50342/oauth2/token\n```\n\n## On the VM\n\n```sh\ncurl localhost:50342/oauth2/token\n```\n";
        let first = t.find("```sh").unwrap();
        let second = t.rfind("```sh").unwrap();
        let lines = Lines::new(t);
        assert!(section(t, &lines, &[], first));
        assert!(!section(t, &lines, &[], second));
        // One instance answers for every block, whatever it answered before.
        let mut sections = MarkdownSections::new(t, &lines, &[], "doc.md");
        let answers: Vec<bool> = [first, first + 1, second, first]
            .iter()
            .map(|&at| sections.covers(at))
            .collect();
        assert_eq!(answers, [true, true, false, true]);
        // A shell comment in a block is no heading.
        let t = "## In Cloud Shell\n\n```sh\n# On the VM this differs\nx\n```\n\n```sh\ncurl localhost:50342/oauth2/token\n```\n";
        let lines = Lines::new(t);
        let block: Range<usize> = t.find("# On").unwrap()..t.find("x\n").unwrap() + 2;
        let code = std::slice::from_ref(&block);
        let second = t.rfind("```sh").unwrap();
        assert!(section(t, &lines, code, second));
        assert!(!section(t, &lines, &[], second));
        // The heading labels the section even under a title about virtual machines.
        let t = "# Tokens on virtual machines\n\n## In Cloud Shell\n\n```sh\ncurl localhost:50342/oauth2/token\n```\n";
        let lines = Lines::new(t);
        assert!(section(t, &lines, &[], t.find("```").unwrap()));
        let t = "# Azure Cloud Shell tips\n\n## Tokens\n\n```sh\ncurl localhost:50342/oauth2/token\n```\n";
        let lines = Lines::new(t);
        assert!(section(t, &lines, &[], t.find("```").unwrap()));
    }
}

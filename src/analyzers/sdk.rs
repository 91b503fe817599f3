//! IMDS040: code and configuration that provisions the extension through an SDK or a tool
//! (Python/Java/C#/JS/Ruby/Go SDK calls, Ansible `azure_rm_virtualmachineextension` tasks...).
//!
//! A construct is the publisher `Microsoft.ManagedIdentity`, given as a whole value (quoted, a
//! key's value, a `--publisher` argument: not a word of a sentence), and an extension type
//! within a few lines of each other, both outside comments. The publisher alone is not enough
//! (it is also the provider of `Microsoft.ManagedIdentity/userAssignedIdentities`), nor the
//! type alone (removal code names the extension too, and removal is the desired end state).

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Analysis, Context,
    lexical::{self, Lexed},
};
use crate::{
    finding::Diagnostic,
    kind::{FileKind, Lang},
};

/// How far apart (in lines) the publisher and the type of one construct may be.
const NEAR_LINES: usize = 10;

static PUBLISHER: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)\bMicrosoft\.ManagedIdentity\b").expect("valid regex")
});
static TYPE: LazyLock<Regex> = LazyLock::new(|| {
    // The bare prefix too: `'ManagedIdentityExtensionFor' + ('Linux' if linux else 'Windows')`.
    crate::analyzers::pattern::compile(r"(?i)\bManagedIdentityExtensionFor(?:Windows|Linux)?\b")
        .expect("valid regex")
});
/// Removal and provider registration: they name the extension or the namespace but deploy
/// nothing.
static NOT_A_DEPLOYMENT: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(concat!(
        r#"(?i)\b\w*delete\w*\s*\(|\bextension\s+delete\b|\bRemove-Az\w*|\bstate:\s*["']?absent\b"#,
        r"|\bprovider\s+register\b|Register-Az\w*Provider|--namespace\b|ProviderNamespace\b"
    ))
    .expect("valid regex")
});
/// Command lines, which the CLI and PowerShell analyzers read in YAML pipelines.
static COMMAND_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?i)(?:--|-)publisher\b").expect("valid regex")
});
/// `"port": 50343`, `port=50343`, `settings: '{"port": 50343}'`.
static PORT_SETTING: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?i)["']?\bport["']?\s*[:=]>?\s*["']?([0-9]{2,5})\b"#)
        .expect("valid regex")
});

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    if !PUBLISHER.is_match(text) || !TYPE.is_match(text) {
        return;
    }
    let lx = lexical::lex(text, ctx.kind);
    let lines = LineStarts::new(text);
    let mut by_name = ComparedNames::default();
    let publishers: Vec<Range<usize>> = PUBLISHER
        .find_iter(text)
        .map(|m| m.range())
        .filter(|r| {
            is_bare_publisher(text, r)
                && !documentation(text, ctx, &lx, r)
                && !compared(text, r.start)
                && !by_name.compared(text, r.start)
                && whole_value(text, ctx.kind, r)
        })
        .collect();
    let types: Vec<Range<usize>> = TYPE
        .find_iter(text)
        .map(|m| m.range())
        .filter(|r| !documentation(text, ctx, &lx, r))
        .collect();
    let type_lines: Vec<usize> = types.iter().map(|t| lines.line(t.start)).collect();
    let mut found: Vec<Range<usize>> = Vec::new();
    for p in &publishers {
        let pl = lines.line(p.start);
        // Types are in text order, so the candidates are one slice of them.
        let lo = type_lines.partition_point(|&l| l + NEAR_LINES < pl);
        let hi = type_lines.partition_point(|&l| l <= pl + NEAR_LINES);
        let Some(t) = types[lo..hi]
            .iter()
            .zip(&type_lines[lo..hi])
            .min_by_key(|(t, l)| (l.abs_diff(pl), t.start < p.start))
            .map(|(t, _)| t)
        else {
            continue;
        };
        let range = p.start.min(t.start)..p.end.max(t.end);
        // Constructs come in text order; only the latest few can overlap this one.
        if found
            .iter()
            .rev()
            .take(4)
            .any(|f| f.start < range.end && range.start < f.end)
            || !is_deployment(text, ctx, &lx, &lines, &range)
        {
            continue;
        }
        declared_ports(text, &lines, &range, out);
        found.push(range);
    }
    for range in found {
        out.push(Diagnostic::new(
            "IMDS040",
            range,
            "code provisions the Managed Identity VM extension (publisher `Microsoft.ManagedIdentity`); delete it, keep the VM's identity, and get tokens from IMDS",
        ));
    }
}

/// The publisher is compared, not set: scanners and policies that look for the extension
/// (`if ext.publisher == "Microsoft.ManagedIdentity"`, `-eq`, `.Equals(`, `case`).
fn compared(text: &str, at: usize) -> bool {
    static CMP: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"(?i)(?:[=!]==?|[=!]~|-[ic]?eq|-[ic]?ne|\bequals(?:IgnoreCase)?\s*\(|\bin~?\s*[(\[{]|\bcase|\bwhen)\s*[@$]?["'`]?$"#)
            .expect("valid regex")
    });
    let from = crate::source::floor_char_boundary(text, at.saturating_sub(60));
    let before = &text[from..at];
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let before = &before[line_start..];
    // `x == "..."` compares; `x = "..."`, `x: "..."` and `x => "..."` set.
    CMP.is_match(before)
        && !before
            .trim_end_matches(['"', '\'', '`', ' '])
            .ends_with("=>")
}

/// The publisher is held in a named constant that the file compares with
/// (`OLD_PUBLISHER = "Microsoft.ManagedIdentity"` ... `if ext.publisher == OLD_PUBLISHER`):
/// a scanner or a cleanup that looks for the extension, like [`compared`] one step removed.
/// Each name is looked up once per file: a file may assign the publisher many times.
#[derive(Default)]
struct ComparedNames(std::collections::HashMap<String, bool>);

impl ComparedNames {
    fn compared(&mut self, text: &str, at: usize) -> bool {
        static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
            crate::analyzers::pattern::compile(
                r#"([A-Za-z_]\w*)["']?\s*(?::\s*[\w.]+\s*)?:?=\s*[@$]?["'`]$"#,
            )
            .expect("valid regex")
        });
        let from = crate::source::floor_char_boundary(text, at.saturating_sub(80));
        let before = &text[from..at];
        let before = &before[before.rfind('\n').map_or(0, |p| p + 1)..];
        let Some(name) = ASSIGNED.captures(before).and_then(|c| c.get(1)) else {
            return false;
        };
        let name = name.as_str();
        if let Some(&known) = self.0.get(name) {
            return known;
        }
        let found = compared_anywhere(text, name);
        self.0.insert(name.to_owned(), found);
        found
    }
}

/// `name` (ASCII case-insensitively, as a whole word) is compared with somewhere in `text`.
fn compared_anywhere(text: &str, name: &str) -> bool {
    // The comparison before the name (`== OLD`, `-eq $Old`, `in OLD`, `x.equals(cfg.OLD`) or
    // after it (`OLD == x`, `OLD.equals(x)`).
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"(?i)(?:[=!]=|[=!]~|-[ic]?eq|-[ic]?ne|\bequals(?:IgnoreCase)?\s*\(|\bin)\s*[$]?(?:\w+\.)*$",
        )
        .expect("valid regex")
    });
    static AFTER: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)^\s*(?:[=!]=|\.equals)").expect("valid regex")
    });
    let finder = super::pattern::words_any_case(&[name]);
    let word = |c: Option<&u8>| c.is_some_and(|&c| c == b'_' || c.is_ascii_alphanumeric());
    let bytes = text.as_bytes();
    finder.find_iter(text).any(|m| {
        if word(m.start().checked_sub(1).and_then(|i| bytes.get(i))) || word(bytes.get(m.end())) {
            return false;
        }
        let from = crate::source::floor_char_boundary(text, m.start().saturating_sub(80));
        let to = crate::source::floor_char_boundary(text, (m.end() + 40).min(text.len()));
        BEFORE.is_match(&text[from..m.start()]) || AFTER.is_match(&text[m.end()..to])
    })
}

/// The publisher is a whole value, as code and configuration give it: a quoted string
/// (`"Microsoft.ManagedIdentity"`, `&quot;Microsoft.ManagedIdentity&quot;`,
/// `>Microsoft.ManagedIdentity<`), a key's value up to the end
/// of the line (`publisher: Microsoft.ManagedIdentity`) or a `--publisher` argument. Prose
/// names it inside a sentence, also inside a string (`"... from Microsoft.ManagedIdentity ..."`).
fn whole_value(text: &str, kind: FileKind, r: &Range<usize>) -> bool {
    let before = &text[..r.start];
    let after = &text[r.end..];
    // Backticks quote only in the languages whose strings they delimit; elsewhere they mark
    // inline code in prose.
    let backtick = matches!(kind, FileKind::Code(Lang::JavaScript | Lang::Go));
    let opens = |c: u8| matches!(c, b'"' | b'\'' | b'>') || backtick && c == b'`';
    let closes = |c: u8| matches!(c, b'"' | b'\'' | b'<' | b'\\') || backtick && c == b'`';
    let entity = |s: &str| {
        ["&quot;", "&apos;", "&#34;", "&#39;", "&#x22;", "&#x27;"]
            .iter()
            .any(|e| {
                let b = s.as_bytes();
                b.len() >= e.len() && b[b.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
            })
    };
    let quoted = (before.as_bytes().last().is_some_and(|&c| opens(c)) || entity(before))
        && after
            .as_bytes()
            .first()
            .is_some_and(|&c| closes(c) || c == b'&');
    let head = before.trim_end_matches([' ', '\t']);
    let rest = after[..after.find('\n').unwrap_or(after.len())].trim();
    let keyed = (head.ends_with(':') || head.ends_with('=') && !head.ends_with("=="))
        && (rest.is_empty() || rest.starts_with(['#', ',']));
    let flag = head.to_ascii_lowercase().ends_with("-publisher");
    quoted || keyed || flag
}

/// Comments and Python docstrings.
fn documentation(text: &str, ctx: &Context, lx: &Lexed, r: &Range<usize>) -> bool {
    lx.touches_comment(r)
        || (ctx.kind == FileKind::Code(Lang::Python)
            && lexical::in_python_docstring(text, lx, r.start))
}

/// `Microsoft.ManagedIdentity` itself, not `Microsoft.ManagedIdentity/userAssignedIdentities`
/// or a longer dotted name.
fn is_bare_publisher(text: &str, r: &Range<usize>) -> bool {
    let b = text.as_bytes();
    let before_ok = r.start == 0 || !matches!(b[r.start - 1], b'.' | b'/' | b'_' | b'-');
    let after_ok = b.get(r.end).is_none_or(|&c| {
        let dotted = c == b'.' && b.get(r.end + 1).is_some_and(u8::is_ascii_alphanumeric);
        !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'/') || dotted)
    });
    before_ok && after_ok
}

/// The lines of the construct and the few around it show no removal, registration or
/// (in YAML) command line, which other analyzers read.
fn is_deployment(
    text: &str,
    ctx: &Context,
    lx: &Lexed,
    lines: &LineStarts,
    range: &Range<usize>,
) -> bool {
    let around = lines.span(range, 3, 3);
    let code_only = |re: &Regex| {
        re.find_iter(&text[around.clone()])
            .any(|m| !lx.in_comment(around.start + m.start()))
    };
    if code_only(&NOT_A_DEPLOYMENT) {
        return false;
    }
    !(ctx.kind == FileKind::Yaml && code_only(&COMMAND_OPTION))
}

fn declared_ports(text: &str, lines: &LineStarts, range: &Range<usize>, out: &mut Analysis) {
    let around = lines.span(range, 2, 8);
    for c in PORT_SETTING.captures_iter(&text[around]) {
        if let Ok(port) = c[1].parse::<u16>() {
            out.declared_ports.push(port);
        }
    }
}

/// Line start offsets and the text length.
struct LineStarts(Vec<usize>, usize);

impl LineStarts {
    fn new(text: &str) -> Self {
        let mut v = vec![0];
        v.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|p| p + 1));
        LineStarts(v, text.len())
    }

    /// 0-based line of byte `pos`.
    fn line(&self, pos: usize) -> usize {
        self.0.partition_point(|&s| s <= pos) - 1
    }

    /// From `before` lines above `range` to `after` lines below it (whole lines).
    fn span(&self, range: &Range<usize>, before: usize, after: usize) -> Range<usize> {
        let first = self.line(range.start).saturating_sub(before);
        let last = self.line(range.end.saturating_sub(1).max(range.start)) + after + 1;
        let end = self.0.get(last).map_or(self.1, |&s| s.saturating_sub(1));
        self.0[first]..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, kind: FileKind) -> (Vec<String>, Vec<u16>) {
        let ctx = Context {
            kind,
            path: "x",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        (
            out.diagnostics
                .iter()
                .map(|d| text[d.range.clone()].to_owned())
                .collect(),
            out.declared_ports,
        )
    }

    #[test]
    fn sdk_calls_in_several_languages() {
        let py = "ext = VirtualMachineExtension(\n    location=loc,\n    publisher='Microsoft.ManagedIdentity',\n    type_properties_type='ManagedIdentityExtensionForLinux',\n    settings={'port': 50343})\n";
        let (found, ports) = run(py, FileKind::Code(Lang::Python));
        let concat = "name = 'ManagedIdentityExtensionFor' + ('Linux' if linux else 'Windows')\nclient.create(rg, vm, name, publisher='Microsoft.ManagedIdentity')\n";
        assert_eq!(run(concat, FileKind::Code(Lang::Python)).0.len(), 1);
        assert_eq!(
            found,
            [
                "Microsoft.ManagedIdentity',\n    type_properties_type='ManagedIdentityExtensionForLinux"
            ]
        );
        assert_eq!(ports, [50343]);
        let java = "vm.update().defineNewExtension(\"msi\").withPublisher(\"Microsoft.ManagedIdentity\").withType(\"ManagedIdentityExtensionForWindows\").attach().apply();";
        assert_eq!(run(java, FileKind::Code(Lang::Java)).0.len(), 1);
        let yaml = "- azure_rm_virtualmachineextension:\n    name: msi\n    publisher: Microsoft.ManagedIdentity\n    virtual_machine_extension_type: ManagedIdentityExtensionForLinux\n    type_handler_version: '1.0'\n";
        assert_eq!(
            run(yaml, FileKind::Yaml).0,
            [
                "Microsoft.ManagedIdentity\n    virtual_machine_extension_type: ManagedIdentityExtensionForLinux"
            ]
        );
    }

    #[test]
    fn a_conditional_pair_is_one_construct() {
        let js = "const type = isWindows ? 'ManagedIdentityExtensionForWindows' : 'ManagedIdentityExtensionForLinux';\nconst ext = { publisher: 'Microsoft.ManagedIdentity', type, typeHandlerVersion: '1.0' };\n";
        assert_eq!(run(js, FileKind::Code(Lang::JavaScript)).0.len(), 1);
    }

    #[test]
    fn look_alikes() {
        for (t, kind) in [
            (
                "id = 'Microsoft.ManagedIdentity/userAssignedIdentities'\nt = 'ManagedIdentityExtensionForLinux'",
                FileKind::Code(Lang::Python),
            ),
            (
                "# publisher='Microsoft.ManagedIdentity'\n# type='ManagedIdentityExtensionForLinux'\n",
                FileKind::Code(Lang::Python),
            ),
            (
                "client.virtual_machine_extensions.begin_delete(rg, vm, 'ManagedIdentityExtensionForLinux')\n",
                FileKind::Code(Lang::Python),
            ),
            (
                "- azure_rm_virtualmachineextension:\n    publisher: Microsoft.ManagedIdentity\n    virtual_machine_extension_type: ManagedIdentityExtensionForLinux\n    state: absent\n",
                FileKind::Yaml,
            ),
            (
                "- script: az vm extension set --publisher Microsoft.ManagedIdentity -n ManagedIdentityExtensionForLinux\n",
                FileKind::Yaml,
            ),
            ("useManagedIdentityExtension: true\n", FileKind::Yaml),
            (
                "if ext.publisher == 'Microsoft.ManagedIdentity' and ext.type in ('ManagedIdentityExtensionForLinux',):\n    report(ext)\n",
                FileKind::Code(Lang::Python),
            ),
            (
                "if (ext.Publisher.Equals(\"Microsoft.ManagedIdentity\") && ext.Type == \"ManagedIdentityExtensionForWindows\") { }",
                FileKind::Code(Lang::CSharp),
            ),
            (
                "publisher = 'Microsoft.ManagedIdentity'\n",
                FileKind::Code(Lang::Ruby),
            ),
            (
                "OLD_TYPES = {'ManagedIdentityExtensionForLinux'}\nOLD_PUBLISHER = 'Microsoft.ManagedIdentity'\n\n\n\n\nfor e in exts:\n    if e.publisher == OLD_PUBLISHER and e.type in OLD_TYPES:\n        print(e)\n",
                FileKind::Code(Lang::Python),
            ),
            (
                "| where properties.publisher =~ 'Microsoft.ManagedIdentity'\n| where properties.type in~ ('ManagedIdentityExtensionForLinux')\n",
                FileKind::Text,
            ),
            (
                "The ``Microsoft.ManagedIdentity`` publisher's ``ManagedIdentityExtensionForLinux`` type.\n",
                FileKind::Text,
            ),
            (
                "publisher Microsoft.ManagedIdentity, type ManagedIdentityExtensionForLinux\n",
                FileKind::Text,
            ),
            // Characters of several bytes right before the publisher.
            (
                "x\u{e9}\u{e9}\u{ab}Microsoft.ManagedIdentity\u{bb} ManagedIdentityExtensionForLinux\n",
                FileKind::Text,
            ),
            (
                "description: \"Removes ManagedIdentityExtensionForLinux (publisher Microsoft.ManagedIdentity)\"\n",
                FileKind::Yaml,
            ),
            (
                "static final String MSG = \"ManagedIdentityExtensionForLinux (Microsoft.ManagedIdentity) is retired\";\n",
                FileKind::Code(Lang::Java),
            ),
        ] {
            assert!(run(t, kind).0.is_empty(), "{t}");
        }
    }
}

//! Markdown runbooks and docs: usages inside fenced code blocks are real usages; prose, inline
//! code spans, HTML comments and quoted logs or error messages are not.
//!
//! Each fenced block (```` ``` ```` or `~~~`) is analyzed by the analyzers of the kind its info
//! string names. Blocks that name no language, or one we do not map (`text`, `posh`...), and
//! 4-space indented code blocks get their kind from their structure ([`super::sniff`]); untagged
//! fences are also analyzed when they look like commands or code, never when they look like
//! output. In shell-session blocks (`console`, or any shell block
//! whose lines carry a `$ ` prompt) only the prompted command lines are analyzed: the rest is
//! output.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{Analysis, Context, cloud_shell, construct::Lines, endpoint, sniff};
use crate::kind::FileKind;

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    let lines = Lines::new(text);
    let blocks = fenced_blocks(text);
    let code: Vec<Range<usize>> = blocks.iter().map(|b| b.body.clone()).collect();
    let mut sections = cloud_shell::MarkdownSections::new(text, &lines, &code, ctx.path);
    for block in blocks {
        let body = &text[block.body.clone()];
        let kind = if block.indented {
            indented_kind(body)
        } else {
            block_kind(&block.info, body)
        };
        let Some(kind) = kind else {
            continue;
        };
        let cloud_shell = sections.covers(block.body.start);
        let info = block.info.trim().to_ascii_lowercase();
        let session = info == "console" || info.ends_with("session") || has_prompts(body);
        let parts = if session {
            prompted_commands(body)
        } else {
            vec![(0..body.len(), kind)]
        };
        for (part, kind) in parts {
            let sub = &body[part.clone()];
            let sub_ctx = Context { kind, ..*ctx };
            let mut analysis = super::analyze(sub, &sub_ctx);
            // Snippets are often partial (`...`, one resource of a template): what a parser
            // thinks of them is not a problem of the file.
            analysis.problems.clear();
            analysis.diagnostics.retain(|d| {
                let endpoint_rule = d.rule.starts_with("IMDS03");
                let line = &sub[endpoint::line_of(sub, d.range.start)];
                !(endpoint_rule && (cloud_shell || quotes_error(line)))
            });
            out.extend_shifted(analysis, block.body.start + part.start);
        }
    }
    raw_html_blocks(text, ctx, &code, out);
}

/// `<pre>` blocks written as raw HTML in the Markdown (outside code blocks and HTML comments):
/// analyzed as in an HTML page.
fn raw_html_blocks(text: &str, ctx: &Context, code: &[Range<usize>], out: &mut Analysis) {
    if memchr::memmem::find(text.as_bytes(), b"<pre").is_none()
        && memchr::memmem::find(text.as_bytes(), b"<PRE").is_none()
    {
        return;
    }
    let mut comments = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("<!--").map(|p| from + p) {
        let close = text[open..]
            .find("-->")
            .map_or(text.len(), |p| open + p + 3);
        comments.push(open..close);
        from = close;
    }
    let mut html = Analysis::default();
    super::embedded::analyze_html(text, ctx, &mut html);
    html.diagnostics.retain(|d| {
        let at = d.range.start;
        !code.iter().chain(&comments).any(|r| r.contains(&at))
    });
    out.extend_shifted(html, 0);
}

/// A fenced code block: its info string and the byte range of its content.
#[derive(Debug, PartialEq, Eq)]
struct Block {
    info: String,
    body: Range<usize>,
    /// A 4-space indented code block (no info string, content decides).
    indented: bool,
}

/// Every fenced block outside HTML comments. An unclosed fence runs to the end of the text, as
/// `CommonMark` says. Fences may be indented (blocks inside list items).
fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pos = 0;
    // (fence char, fence length, info, body start)
    let mut open: Option<(u8, usize, String, usize)> = None;
    let mut in_html_comment = false;
    // The indented code block being read: (body start, end of its last non-blank line).
    let mut indented: Option<(usize, usize)> = None;
    // An indented block cannot interrupt a paragraph: it needs a blank line (or the start) before.
    let mut after_blank = true;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |p| pos + p);
        let next = (end + 1).min(text.len());
        let line = &text[pos..end];
        if open.is_none() && !in_html_comment {
            let blank = line.trim().is_empty();
            // A fence indented in a list item opens a fenced block, not an indented one.
            let fence = {
                let t = line.trim_start_matches([' ', '\t', '>']);
                t.starts_with("```") || t.starts_with("~~~")
            };
            let code = !blank && !fence && (line.starts_with("    ") || line.starts_with('\t'));
            match (&mut indented, code) {
                (Some((_, last)), true) => *last = end,
                (None, true) if after_blank => indented = Some((pos, end)),
                (Some(_), false) if blank => {}
                (Some((start, last)), false) => {
                    blocks.push(Block {
                        info: String::new(),
                        body: *start..*last,
                        indented: true,
                    });
                    indented = None;
                }
                _ => {}
            }
            after_blank = blank;
            if indented.is_some() {
                pos = next;
                continue;
            }
        }
        // Fences may sit in block quotes (`> ```bash`, admonitions) and list items.
        let trimmed = line.trim_start_matches([' ', '\t', '>']);
        match &open {
            Some((ch, len, info, body)) => {
                let run = trimmed.bytes().take_while(|b| b == ch).count();
                if run >= *len && trimmed[run..].trim().is_empty() {
                    blocks.push(Block {
                        info: info.clone(),
                        body: *body..pos,
                        indented: false,
                    });
                    open = None;
                }
            }
            None if in_html_comment => {
                if line.contains("-->") {
                    in_html_comment = false;
                }
            }
            None => {
                let ch = trimmed.bytes().next().unwrap_or(0);
                let run = trimmed.bytes().take_while(|&b| b == ch).count();
                if (ch == b'`' || ch == b'~') && run >= 3 {
                    let info = trimmed[run..].trim();
                    // A backtick in the info string makes it inline code (```x``` on one line).
                    if !(ch == b'`' && info.contains('`')) {
                        open = Some((ch, run, info.to_owned(), next));
                    }
                } else if let Some(p) = line.find("<!--") {
                    in_html_comment = !line[p..].contains("-->");
                }
            }
        }
        pos = next;
    }
    if let Some((_, _, info, body)) = open {
        blocks.push(Block {
            info,
            body: body..text.len(),
            indented: false,
        });
    }
    if let Some((start, last)) = indented {
        blocks.push(Block {
            info: String::new(),
            body: start..last,
            indented: true,
        });
    }
    blocks
}

/// Indented blocks also continue list items in prose: only a structure (or a request command
/// opening a line) makes one code.
fn indented_kind(body: &str) -> Option<FileKind> {
    static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?im)^\s*(?:\$\s+)?(?:(invoke-(?:restmethod|webrequest))|curl|wget)\s+[-'"\w$]"#,
        )
        .expect("valid regex")
    });
    sniff::structured_kind(body).or_else(|| {
        REQUEST.captures(body).map(|c| {
            if c.get(1).is_some() {
                FileKind::PowerShell
            } else {
                FileKind::Shell
            }
        })
    })
}

/// The kind a block is analyzed as, or `None` when it is not code.
fn block_kind(info: &str, body: &str) -> Option<FileKind> {
    // `{.bash}` (pandoc), `language-bash`, `azurecli-interactive` (Microsoft Learn).
    let lang = info
        .trim_start_matches(['{', '.'])
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let lang = lang.strip_prefix("language-").unwrap_or(&lang);
    let lang = lang.strip_suffix("-interactive").unwrap_or(lang);
    if lang.is_empty() {
        return sniff::structured_kind(body).or_else(|| guess_kind(body));
    }
    if matches!(lang, "output" | "log" | "logs") {
        return None;
    }
    if lang == "posh" {
        return Some(FileKind::PowerShell);
    }
    if matches!(
        lang,
        "shell-session" | "sh-session" | "shellsession" | "bash-session"
    ) {
        return Some(FileKind::Shell);
    }
    if matches!(lang, "http" | "https" | "rest" | "httpie") {
        // Raw requests (`GET http://localhost:50342/oauth2/token?... HTTP/1.1`) are usages.
        return Some(FileKind::Text);
    }
    // `text`, `plaintext` and tags we do not know: only a structure makes them code.
    FileKind::from_fence(lang).or_else(|| sniff::structured_kind(body))
}

static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(concat!(
        r"(?im)^\s*(?:\$\s+|PS[^>\n]{0,80}>\s*|>\s+)?",
        r"(?:(?:curl|wget|az|export|sudo|http|Invoke-RestMethod|Invoke-WebRequest|irm|iwr|import|def|var|",
        r"const|let|using|func|package|public|private|static|require)\b|[A-Z][a-z]+-Az\w+|\$\w+\s*=|",
        r"(?:GET|POST)\s+https?://|from\s+\S+\s+import\b|#!)"
    ))
    .expect("valid regex")
});

/// A block without info string: commands or code get a kind from their first command; output
/// and error messages none.
fn guess_kind(body: &str) -> Option<FileKind> {
    // A request inside an assignment or substitution: `x=$(curl ...)`, `` x=`curl ...` ``.
    static EMBEDDED: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?i)(?:^|[^\w-])(?:(invoke-(?:restmethod|webrequest))|curl|wget)\s+[-'"\w$]"#,
        )
        .expect("valid regex")
    });
    for line in body.lines() {
        if endpoint::looks_like_error(line) {
            continue;
        }
        if let Some(c) = EMBEDDED.captures(line) {
            return Some(if c.get(1).is_some() {
                FileKind::PowerShell
            } else {
                FileKind::Shell
            });
        }
    }
    let first = COMMAND.find(body)?;
    let cmd = body[first.range()].trim_start();
    let cmd = cmd
        .trim_start_matches("$ ")
        .trim_start_matches("> ")
        .trim_start();
    let lower = cmd.to_ascii_lowercase();
    if lower.starts_with("ps") && cmd.contains('>')
        || lower.starts_with("invoke-")
        || cmd.contains("-Az")
        || lower.starts_with("irm")
        || lower.starts_with("iwr")
        || lower.starts_with('$')
    {
        Some(FileKind::PowerShell)
    } else if lower.starts_with("get ") || lower.starts_with("post ") {
        Some(FileKind::Text)
    } else if ["curl", "wget", "az", "export", "sudo", "http", "#!"]
        .iter()
        .any(|c| lower.starts_with(c))
    {
        Some(FileKind::Shell)
    } else {
        // Code of unknown language: searched as text, with no comment syntax assumed.
        Some(FileKind::Text)
    }
}

fn has_prompts(body: &str) -> bool {
    body.lines().any(|l| {
        let t = l.trim_start();
        shell_prompt(t).is_some()
            || (t.starts_with("PS ") || t.starts_with("PS>")) && t.contains('>')
    })
}

/// The command after a shell prompt at the start of `line`: `$ `, or one that names the user
/// and host (`user@host:~$ `, `root@host:/srv# `, `[user@host dir]$ `). A bare `# ` is a
/// comment, not a root prompt.
fn shell_prompt(line: &str) -> Option<&str> {
    static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r"^(?:\$|(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?|\[[\w.-]+@[\w.-]+[^\]\n]{0,80}\])\s?[$#])[ \t]+",
        )
        .expect("valid regex")
    });
    PROMPT.find(line).map(|m| &line[m.end()..])
}

/// The commands after `$ ` / `PS C:\> ` prompts, with their continuation lines.
fn prompted_commands(body: &str) -> Vec<(Range<usize>, FileKind)> {
    let mut parts = Vec::new();
    let mut pos = 0;
    let mut current: Option<(usize, FileKind)> = None;
    while pos < body.len() {
        let end = body[pos..].find('\n').map_or(body.len(), |p| pos + p);
        let line = &body[pos..end];
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start();
        if current.is_none() {
            if let Some(rest) = shell_prompt(t) {
                current = Some((end - rest.len(), FileKind::Shell));
            } else if let Some(gt) = t.find('>').filter(|&g| t.starts_with("PS") && g < 100) {
                current = Some((pos + indent + gt + 1, FileKind::PowerShell));
            }
        }
        if let Some((start, kind)) = current {
            let tail = line.trim_end();
            if !(tail.ends_with('\\') || tail.ends_with('`')) {
                parts.push((start..end, kind));
                current = None;
            }
        }
        pos = (end + 1).min(body.len());
    }
    if let Some((start, kind)) = current {
        parts.push((start..body.len(), kind));
    }
    parts
}

/// A line that quotes an error: dropped unless it also runs a request.
fn quotes_error(line: &str) -> bool {
    static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?i)\bcurl\b|\bwget\b|invoke-(?:restmethod|webrequest)|\birm\b|\biwr\b|requests\.|fetch\(|\bhttp\.")
            .expect("valid regex")
    });
    endpoint::looks_like_error(line) && !REQUEST.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(&'static str, String)> {
        let ctx = Context {
            kind: FileKind::Markdown,
            path: "docs/runbook.md",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let mut out = Analysis::default();
        analyze(text, &ctx, &mut out);
        out.diagnostics
            .into_iter()
            .map(|d| (d.rule, text[d.range].to_owned()))
            .collect()
    }

    const URL: &str = "http://localhost:50342/oauth2/token";

    #[test]
    fn code_blocks_are_usages_prose_is_not() {
        let md = format!(
            "# Get a token\n\nThe old endpoint `{URL}` ran on the VM ({URL}).\n\n```powershell\n$r = Invoke-RestMethod -Uri '{URL}?resource=x' -Headers @{{Metadata='true'}}\n```\n\n<!--\n```bash\ncurl {URL}\n```\n-->\n\n  ~~~python\n  u = '{URL}'\n  ~~~\n"
        );
        let found = run(&md);
        assert_eq!(
            found,
            [
                ("IMDS030", format!("{URL}?resource=x")),
                ("IMDS030", URL.to_owned())
            ]
        );
    }

    #[test]
    fn quoted_errors_and_output_blocks_are_not_usages() {
        let md = format!(
            "```\nMSI: Failed to retrieve a token from '{URL}' with an error of 'HTTPConnectionPool(host='localhost', port=50342)'\n```\n\n```text\nGET {URL}\n```\n\n```output\n{URL}\n```\n\n```console\n$ curl '{URL}?resource=x' -H Metadata:true\ncurl: (7) Failed to connect to {URL}\n```\n"
        );
        assert_eq!(run(&md), [("IMDS030", format!("{URL}?resource=x"))]);
    }

    #[test]
    fn raw_html_pre_blocks_outside_fences_and_comments() {
        let set = "az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity";
        let md = format!(
            "Text\n\n<pre>\n{set}\n</pre>\n\n<!--\n<pre>{set}</pre>\n-->\n\n```text\n<pre>{set}</pre>\n```\n"
        );
        assert_eq!(run(&md), [("IMDS011", set.to_owned())]);
    }

    #[test]
    fn prompts_that_name_user_and_host_mark_commands() {
        let md = format!(
            "```shell-session\nops@jump:~$ curl '{URL}?resource=a' -H Metadata:true\n{URL}?resource=out\n```\n\n```\n[ops@jump ~]$ curl '{URL}?resource=b'\nroot@vm:/srv# curl '{URL}?resource=c'\n# curl '{URL}?resource=commented'\n```\n"
        );
        assert_eq!(
            run(&md),
            [
                ("IMDS030", format!("{URL}?resource=a")),
                ("IMDS030", format!("{URL}?resource=b")),
                ("IMDS030", format!("{URL}?resource=c"))
            ]
        );
    }

    #[test]
    fn untagged_command_blocks_and_http_blocks_are_analyzed() {
        let md = format!(
            "```\ncurl '{URL}?resource=x' -H Metadata:true\n```\n\n```http\nGET {URL}?resource=y HTTP/1.1\nMetadata: true\n```\n"
        );
        assert_eq!(
            run(&md),
            [
                ("IMDS030", format!("{URL}?resource=x")),
                ("IMDS030", format!("{URL}?resource=y"))
            ]
        );
    }

    #[test]
    fn learn_style_info_strings() {
        let md = format!(
            "```azurepowershell-interactive\n$t = Invoke-RestMethod -Uri '{URL}?resource=x' -Headers @{{Metadata='true'}}\n```\n\n```{{.bash}}\ncurl '{URL}?resource=y' -H Metadata:true\n```\n"
        );
        assert_eq!(run(&md).len(), 2);
    }

    #[test]
    fn untagged_blocks_with_embedded_requests() {
        let md = format!(
            "```\n# Get the access token for VM\nx=`curl {URL} --data \"resource=https://vault.azure.net\" -H Metadata:true`\n```\n"
        );
        assert_eq!(run(&md), [("IMDS031", URL.to_owned())]);
    }

    #[test]
    fn fences_in_block_quotes() {
        let md =
            format!("> [!NOTE]\n> ```bash\n> curl '{URL}?resource=x' -H Metadata:true\n> ```\n");
        assert_eq!(run(&md), [("IMDS030", format!("{URL}?resource=x"))]);
    }

    #[test]
    fn cloud_shell_docs_are_left_alone() {
        let md = format!(
            "In Azure Cloud Shell the token service is local:\n\n```bash\ncurl {URL}?resource=x -H Metadata:true\n```\n"
        );
        assert!(run(&md).is_empty());
    }

    #[test]
    fn untagged_unknown_and_indented_blocks_by_structure() {
        let cli = "az vm extension set -g rg --vm-name vm -n ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity";
        let md = format!(
            "```\n{cli}\n```\n\n```plaintext\n{cli}\n```\n\n```bogus\n{cli}\n```\n\nIntro:\n\n    {cli}\n\nText\n    {cli} (a lazy continuation of the paragraph)\n\n```output\n{cli}\n```\n"
        );
        let found: Vec<_> = run(&md).into_iter().map(|(r, _)| r).collect();
        assert_eq!(found, ["IMDS011"; 4]);
    }

    #[test]
    fn indented_fences_in_list_items_stay_fences() {
        let md = format!(
            "1. Step\n\n    ```bash\n    curl '{URL}?resource=x' -H Metadata:true\n    ```\n"
        );
        assert_eq!(run(&md), [("IMDS030", format!("{URL}?resource=x"))]);
    }

    #[test]
    fn unclosed_and_odd_fences_never_panic() {
        for t in [
            "```",
            "```\n",
            "~~~~\n```\n",
            "```js\nu='",
            "<!--",
            "```console\n$ curl \\",
            "PS>",
        ] {
            let _ = run(t);
        }
    }
}

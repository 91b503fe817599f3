//! Where a form POST to the token endpoint sits, so it is rewritten whole into a GET or left to
//! a person: the command inside a `$( ... )` or backtick substitution that holds the URL, rather
//! than the whole line around it (`TOKEN="$(curl -X POST ... | jq ...)"`).

use std::ops::Range;

/// Why a POST is left to a person: a method change is rewritten only where the whole request is
/// in view.
pub const NO_FIX: &str = "only a curl command line whose form fields are literal `-d`/`--data`/`--data-urlencode` values is rewritten automatically, since IMDS takes GET only; move the fields into the query, send GET with `Metadata: true`";

/// When an option to delete (`start..end`) is all that is left on a line reached by a `\`
/// continuation, where the deletion should start so that the continuation goes too: at the blank
/// before the `\` on the line above.
pub fn joined_line_start(text: &str, start: usize, end: usize) -> Option<usize> {
    let line_end = text[end..].find('\n').map_or(text.len(), |p| end + p);
    if !text[end..line_end].trim().is_empty() || start == 0 {
        return None;
    }
    let above = text[..start - 1].trim_end_matches('\r');
    let above = above.strip_suffix('\\')?;
    Some(above.trim_end_matches([' ', '\t']).len())
}

/// The innermost `$( ... )` or `` `...` `` substitution of `line` that holds `pos`, without its
/// delimiters; `line` itself when there is none.
pub fn innermost_substitution(text: &str, line: Range<usize>, pos: usize) -> Range<usize> {
    let b = text.as_bytes();
    // Open substitutions before `pos`: where each starts, and whether it is a backtick.
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut i = line.start;
    let mut single = false;
    while i < pos.min(line.end) {
        match b[i] {
            b'\'' => single = !single,
            b'\\' if !single => i += 1,
            b'$' if !single && b.get(i + 1) == Some(&b'(') && b.get(i + 2) != Some(&b'(') => {
                open.push((i + 2, false));
                i += 1;
            }
            b'(' if !single => open.push((usize::MAX, false)),
            b')' if !single => {
                open.pop();
            }
            b'`' if !single => {
                if open.last().is_some_and(|&(_, tick)| tick) {
                    open.pop();
                } else {
                    open.push((i + 1, true));
                }
            }
            _ => {}
        }
        i += 1;
    }
    // The innermost real substitution (plain parentheses are placeholders).
    let Some(&(start, tick)) = open.iter().rev().find(|(s, _)| *s != usize::MAX) else {
        return line;
    };
    // Its end: the matching `)` (or backtick) after `pos`.
    let mut depth = 0usize;
    let mut j = pos;
    single = false;
    while j < line.end {
        match b[j] {
            b'\'' => single = !single,
            b'\\' if !single => j += 1,
            b'`' if tick && !single => return start..j,
            b'(' if !single && !tick => depth += 1,
            b')' if !single && !tick => {
                if depth == 0 {
                    return start..j;
                }
                depth -= 1;
            }
            _ => {}
        }
        j += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(text: &str, needle: &str) -> String {
        let pos = text.find(needle).expect("needle");
        text[innermost_substitution(text, 0..text.len(), pos)].to_owned()
    }

    #[test]
    fn substitutions() {
        let t = "TOKEN=\"$(curl -s -X POST http://localhost:50342/oauth2/token -d resource=x | jq -r .access_token)\"";
        assert_eq!(
            inner(t, "http"),
            "curl -s -X POST http://localhost:50342/oauth2/token -d resource=x | jq -r .access_token"
        );
        let t = "T=`curl -d resource=x http://localhost:50342/oauth2/token`; echo";
        assert_eq!(
            inner(t, "http"),
            "curl -d resource=x http://localhost:50342/oauth2/token"
        );
        let t = "echo $(date) && curl -d a=b http://localhost:50342/oauth2/token";
        assert_eq!(inner(t, "http"), t);
        let t = "x=$(f $(g) curl -d 'a=)' http://localhost:50342/oauth2/token)";
        assert_eq!(
            inner(t, "http"),
            "f $(g) curl -d 'a=)' http://localhost:50342/oauth2/token"
        );
        // Unclosed: the whole line.
        let t = "x=$(curl -d a=b http://localhost:50342/oauth2/token";
        assert_eq!(inner(t, "http"), t);
    }

    #[test]
    fn continuation_lines_left_empty() {
        let t = "curl -s URL \\\n  -d resource=x\nnext";
        // `start` is the start of the option's line, past its indentation's line break.
        let line = t.find("  -d").unwrap();
        let e = t.find("\nnext").unwrap();
        assert_eq!(joined_line_start(t, line, e), Some(t.find(" \\").unwrap()));
        let t = "curl -s URL \\\n  -d resource=x \\\n  -H a\n";
        let line = t.find("  -d").unwrap();
        assert_eq!(joined_line_start(t, line, line + 15), None);
    }
}

/// Shapes of a form POST seen in scripts and code: each is reported as IMDS031, and is either
/// rewritten whole into a GET or left alone, never host-swapped.
#[cfg(test)]
mod never_host_swapped {
    use crate::{
        analyzers::{Context, analyze},
        fix::apply::apply_fixes,
        kind::{FileKind, Lang},
    };

    fn check(text: &str, kind: FileKind) -> String {
        let ctx = Context {
            kind,
            path: "x",
            api_version: "2018-02-01",
            extra_ports: &[],
        };
        let a = analyze(text, &ctx);
        assert!(
            a.diagnostics.iter().any(|d| d.rule == "IMDS031"),
            "{text}: {:?}",
            a.diagnostics
        );
        assert!(a.diagnostics.iter().all(|d| d.rule != "IMDS030"), "{text}");
        for d in &a.diagnostics {
            assert!(
                d.fix.is_some() || d.message.contains("Not fixed automatically"),
                "{}",
                d.message
            );
        }
        let fixes: Vec<_> = a
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .collect();
        let (out, _) = apply_fixes(text, &fixes, true);
        if out != text {
            // A rewrite is whole: a GET with the header, nothing left that posts.
            assert!(
                out.contains("169.254.169.254") && out.contains("Metadata:true"),
                "{out}"
            );
            assert!(
                !out.contains(" -X POST") && !out.contains(" -d ") && !out.contains("--data"),
                "{out}"
            );
        }
        assert!(
            analyze(&out, &ctx)
                .diagnostics
                .iter()
                .all(|d| d.rule != "IMDS030"),
            "{out}"
        );
        out
    }

    #[test]
    fn shell_substitutions_heredocs_and_variables() {
        let out = check(
            "T=\"$(curl -s -X POST http://localhost:50342/oauth2/token -d resource=https://vault.azure.net | jq -r .access_token)\"\n",
            FileKind::Shell,
        );
        assert_eq!(
            out,
            "T=\"$(curl -s 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net' -H Metadata:true | jq -r .access_token)\"\n"
        );
        check(
            "T=`curl --data resource=x http://localhost:50342/oauth2/token`\n",
            FileKind::Shell,
        );
        check(
            "ssh vm sh <<'EOF'\ncurl -s http://localhost:50342/oauth2/token \\\n  -d resource=x\nEOF\n",
            FileKind::Shell,
        );
        let far = format!(
            "MSI_URL=http://localhost:50342/oauth2/token\n{}T=$(curl -s -X POST \"$MSI_URL\" -d resource=x)\n",
            "echo step\n".repeat(12)
        );
        assert_eq!(check(&far, FileKind::Shell), far);
    }

    #[test]
    fn strings_of_other_languages() {
        for (t, kind) in [
            (
                "$s = @\"\nInvoke-RestMethod -Uri 'http://localhost:50342/oauth2/token' -Method:Post -Body @{resource='x'}\n\"@\n",
                FileKind::PowerShell,
            ),
            (
                "{\"outputs\": {\"cmd\": {\"type\": \"string\", \"value\": \"[concat('curl -X POST http://localhost:50342/oauth2/token -d resource=', parameters('r'))]\"}}}",
                FileKind::Arm,
            ),
            (
                "MSI = 'http://localhost:50342/oauth2/token'\nwith urllib.request.urlopen(MSI, body) as r:\n    pass\n",
                FileKind::Code(Lang::Python),
            ),
            (
                "r = requests.request('POST', 'http://localhost:50342/oauth2/token', data=form)\n",
                FileKind::Code(Lang::Python),
            ),
        ] {
            assert_eq!(check(t, kind), t);
        }
    }
}

//! Checks a fixed text before it may be written: a fix must never turn a file that parsed into
//! one that does not.

use crate::kind::FileKind;

/// `Err` explains why `after` must not be written.
pub fn check(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    if matches!(kind, FileKind::Terraform | FileKind::Bicep) {
        let (was, is) = (balanced(before), balanced(after));
        if was && !is {
            return Err("not rewritten: the fix would unbalance its braces".into());
        }
    }
    Ok(())
}

/// Brackets balance outside strings and comments. A coarse check, enough to catch a removal that
/// took one brace too many or too few.
fn balanced(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut chars = text.chars().peekable();
    let mut in_str: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => in_str = Some(c),
            '#' => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = '\0';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

//! `JUnit` XML, for CI systems that only read test reports (Azure Pipelines' "Tests" tab,
//! GitLab's test report, Jenkins): one test case per rule, which fails with one `<failure>` per
//! finding; files that could not be scanned are `<error>`s of one more test case, and files
//! searched as text only are listed in the `<system-out>` of another, which passes.
//!
//! The output validates against the common `JUnit` XSD (Jenkins xunit's `junit-10.xsd`). Text
//! from scanned files is escaped, and characters XML 1.0 cannot carry at all (most C0 controls)
//! become U+FFFD.

use std::io::{self, Write};

use super::{FixCounts, Report, ReportOptions, display_path, error_path, escape_with};
use crate::{finding::Applicability, rules::catalogue, scan::ScanResult};

pub struct Junit;

const SUITE: &str = "imds-migrate";

impl Report for Junit {
    fn write(&self, out: &mut dyn Write, result: &ScanResult, _: ReportOptions) -> io::Result<()> {
        let rules: Vec<_> = catalogue().iter().collect();
        let mut cases = String::new();
        let mut failed_cases = 0;
        for rule in &rules {
            let findings: Vec<_> = result
                .findings
                .iter()
                .filter(|f| f.rule_id == rule.id)
                .collect();
            failed_cases += usize::from(!findings.is_empty());
            cases.push_str(&format!(
                "    <testcase classname=\"{SUITE}.{}\" name=\"{} {}\"",
                xml(&rule.id),
                xml(&rule.id),
                xml(&rule.name)
            ));
            if findings.is_empty() {
                cases.push_str("/>\n");
                continue;
            }
            cases.push_str(">\n");
            for f in findings {
                let at = format!(
                    "{}:{}:{}",
                    display_path(result, f.root, &f.path),
                    f.line,
                    f.column
                );
                let fix = match f.fix.as_ref().map(|x| x.applicability) {
                    Some(Applicability::Safe) => "fixable with `imds-migrate fix`",
                    Some(Applicability::Unsafe) => "fixable with `imds-migrate fix --unsafe-fixes`",
                    None => "to migrate by hand",
                };
                cases.push_str(&format!(
                    "      <failure type=\"{}\" message=\"{}: {}\">{}\n{}\n{}</failure>\n",
                    xml(&rule.id),
                    xml(&at),
                    xml(&f.message),
                    xml(&at),
                    xml(f.source_line.trim()),
                    xml(fix),
                ));
            }
            cases.push_str("    </testcase>\n");
        }
        let errors = result.errors.len();
        if errors > 0 {
            cases.push_str(&format!(
                "    <testcase classname=\"{SUITE}.scan\" name=\"files that could not be scanned\">\n"
            ));
            for e in &result.errors {
                let path = error_path(result, e);
                cases.push_str(&format!(
                    "      <error type=\"scan-error\" message=\"{}: {}\">{}: {}</error>\n",
                    xml(&path),
                    xml(&e.message),
                    xml(&path),
                    xml(&e.message)
                ));
            }
            cases.push_str("    </testcase>\n");
        }
        // Files searched as text only: a passing case (their findings fail their rules' cases
        // above) that says which files and why, so the count is there without a failure.
        let notes = result.notes.len();
        if notes > 0 {
            cases.push_str(&format!(
                "    <testcase classname=\"{SUITE}.scan\" name=\"files searched as text only\">\n      <system-out>"
            ));
            for n in &result.notes {
                cases.push_str(&format!(
                    "{}: note: {}\n",
                    xml(&error_path(result, n)),
                    xml(&n.message)
                ));
            }
            cases.push_str("</system-out>\n    </testcase>\n");
        }
        let tests = rules.len() + usize::from(errors > 0) + usize::from(notes > 0);
        let error_cases = usize::from(errors > 0);
        let fixes = FixCounts::of(&result.findings);
        writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
        writeln!(
            out,
            "<testsuites name=\"{SUITE}\" tests=\"{tests}\" failures=\"{failed_cases}\" errors=\"{error_cases}\">"
        )?;
        writeln!(
            out,
            "  <testsuite name=\"{SUITE}\" tests=\"{tests}\" failures=\"{failed_cases}\" errors=\"{error_cases}\" skipped=\"0\">"
        )?;
        writeln!(out, "    <properties>")?;
        for (name, value) in [
            ("version", env!("CARGO_PKG_VERSION").to_owned()),
            ("findings", result.findings.len().to_string()),
            ("files_scanned", result.summary.files_scanned.to_string()),
            ("fixable", fixes.fixable.to_string()),
            ("unsafe_fixable", fixes.unsafe_fixable.to_string()),
            ("notes", notes.to_string()),
            ("fix_summary", fixes.sentence()),
        ] {
            writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                xml(&value)
            )?;
        }
        writeln!(out, "    </properties>")?;
        out.write_all(cases.as_bytes())?;
        writeln!(out, "  </testsuite>")?;
        writeln!(out, "</testsuites>")
    }
}

/// Escapes text for an attribute or element, replacing what XML 1.0 cannot represent.
fn xml(text: &str) -> String {
    // Tabs and line breaks stay as references: in attributes a parser would turn them to spaces.
    const TABLE: &[(char, &str)] = &[
        ('&', "&amp;"),
        ('<', "&lt;"),
        ('>', "&gt;"),
        ('"', "&quot;"),
        ('\'', "&apos;"),
        ('\t', "&#9;"),
        ('\n', "&#10;"),
        ('\r', "&#13;"),
    ];
    let allowed: String = text
        .chars()
        .map(|c| {
            let forbidden = ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || c == '\u{FFFE}'
                || c == '\u{FFFF}';
            if forbidden { '\u{FFFD}' } else { c }
        })
        .collect();
    escape_with(&allowed, TABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(xml("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml("bell\u{7}esc\u{1b}"), "bell\u{FFFD}esc\u{FFFD}");
        assert_eq!(xml("a\nb"), "a&#10;b");
    }
}

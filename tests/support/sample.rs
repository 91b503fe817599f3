//! Scan results built by hand for the report tests: the analyzers are not needed to test how
//! findings are written, and hand-built results pin the awkward cases (unicode, spaces in paths,
//! identical lines, several roots, per-file errors) that real fixtures would hide.
#![allow(dead_code)]

use std::path::PathBuf;

use imds_migrate::{
    finding::{Applicability, Finding, FixSummary, LocatedEdit, Severity},
    report::{Report, ReportOptions},
    scan::{FileError, ScanResult, Summary},
};

/// Start line, start column, end line, end column (end exclusive).
pub type Span = (usize, usize, usize, usize);

pub fn render(report: &dyn Report, result: &ScanResult) -> String {
    let mut out = Vec::new();
    report
        .write(&mut out, result, ReportOptions::default())
        .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

#[derive(Clone, Copy)]
pub struct F {
    pub root: usize,
    pub path: &'static str,
    pub rule: &'static str,
    pub severity: Severity,
    pub kind: &'static str,
    pub at: Span,
    pub message: &'static str,
    pub source: &'static str,
}

pub fn finding(f: F, fix: Option<FixSummary>) -> Finding {
    Finding {
        rule_id: f.rule.to_owned(),
        severity: f.severity,
        path: f.path.to_owned(),
        line: f.at.0,
        column: f.at.1,
        end_line: f.at.2,
        end_column: f.at.3,
        message: f.message.to_owned(),
        fix,
        file_kind: f.kind,
        range: 0..0,
        source_line: f.source.to_owned(),
        source_column: 1,
        source_truncated: false,
        root: f.root,
    }
}

pub fn fix(applicability: Applicability, description: &str, edits: &[(Span, &str)]) -> FixSummary {
    FixSummary {
        applicability,
        description: description.to_owned(),
        edits: edits
            .iter()
            .map(
                |&((line, column, end_line, end_column), content)| LocatedEdit {
                    line,
                    column,
                    end_line,
                    end_column,
                    content: content.to_owned(),
                },
            )
            .collect(),
    }
}

const CURL: &str = r#"curl -s -H Metadata:true "http://localhost:50342/oauth2/token?resource=https://management.azure.com/""#;

/// Two roots (one with a space in its name), seven files, every severity the catalogue uses,
/// safe, unsafe and no fixes, and two per-file errors.
pub fn sample() -> ScanResult {
    use Applicability::{Safe, Unsafe};
    use Severity::{Error, Warning};
    let findings = vec![
        finding(
            F {
                root: 0,
                path: "scripts/deploy vm.ps1",
                rule: "IMDS010",
                severity: Error,
                kind: "powershell",
                at: (12, 1, 12, 173),
                message: "`Set-AzVMExtension` installs the Managed Identity VM extension (ManagedIdentityExtensionForWindows), which is retired",
                source: r#"Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Name "MSI" -Publisher "Microsoft.ManagedIdentity" -Type "ManagedIdentityExtensionForWindows" -TypeHandlerVersion "1.0""#,
            },
            Some(fix(
                Safe,
                "Remove the `Set-AzVMExtension` command",
                &[((12, 1, 13, 1), "")],
            )),
        ),
        finding(
            F {
                root: 0,
                path: "scripts/token.sh",
                rule: "IMDS030",
                severity: Error,
                kind: "shell",
                at: (3, 27, 3, 63),
                message: "Token request to the extension's endpoint `http://localhost:50342/oauth2/token`; use IMDS",
                source: CURL,
            },
            Some(fix(
                Safe,
                "Request the token from IMDS",
                &[(
                    (3, 27, 3, 63),
                    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&",
                )],
            )),
        ),
        finding(
            F {
                root: 0,
                path: "scripts/token.sh",
                rule: "IMDS030",
                severity: Error,
                kind: "shell",
                at: (9, 27, 9, 63),
                message: "Token request to the extension's endpoint `http://localhost:50342/oauth2/token`; use IMDS",
                source: CURL,
            },
            Some(fix(
                Safe,
                "Request the token from IMDS",
                &[(
                    (9, 27, 9, 63),
                    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&",
                )],
            )),
        ),
        finding(
            F {
                root: 0,
                path: "templates/vm.json",
                rule: "IMDS001",
                severity: Error,
                kind: "arm",
                at: (41, 21, 41, 67),
                message: "Extension resource `[concat(variables('vmName'),'/ManagedIdentityExtensionForWindows')]` deploys the retired Managed Identity VM extension",
                source: r#"            "type": "Microsoft.Compute/virtualMachines/extensions","#,
            },
            Some(fix(
                Safe,
                "Remove the extension resource and the `dependsOn` entries that name it",
                &[((39, 1, 55, 1), ""), ((70, 17, 71, 17), "")],
            )),
        ),
        finding(
            F {
                root: 0,
                path: "templates/vm.parameters.json",
                rule: "IMDS004",
                severity: Warning,
                kind: "arm-parameters",
                at: (8, 22, 8, 56),
                message: "Parameter `msiExtensionType` carries the extension type `ManagedIdentityExtensionForLinux`",
                source: r#"            "value": "ManagedIdentityExtensionForLinux""#,
            },
            None,
        ),
        finding(
            F {
                root: 1,
                path: "src/Token.cs",
                rule: "IMDS030",
                severity: Error,
                kind: "code",
                at: (14, 34, 14, 79),
                message: "Token request to the extension's endpoint `http://localhost:50342/oauth2/token`; use IMDS",
                source: r#"        var uri = "🔑 jeton: " + "http://localhost:50342/oauth2/token?resource=" + résource; // données"#,
            },
            Some(fix(
                Safe,
                "Request the token from IMDS",
                &[(
                    (14, 34, 14, 79),
                    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=",
                )],
            )),
        ),
        finding(
            F {
                root: 1,
                path: "src/token.py",
                rule: "IMDS031",
                severity: Error,
                kind: "code",
                at: (21, 12, 23, 6),
                message: "Form-encoded POST to the extension's token endpoint; IMDS takes a GET with the `Metadata: true` header",
                source: r#"    resp = requests.post("http://localhost:50342/oauth2/token", data={"resource": resource},"#,
            },
            Some(fix(
                Unsafe,
                "Send a GET to IMDS with `Metadata: true` (changes the HTTP method)",
                &[(
                    (21, 12, 23, 6),
                    "requests.get(\n        \"http://169.254.169.254/metadata/identity/oauth2/token\",\n        params={\"api-version\": \"2018-02-01\", \"resource\": resource},\n        headers={\"Metadata\": \"true\"},\n    )",
                )],
            )),
        ),
        finding(
            F {
                root: 1,
                path: "web.config",
                rule: "IMDS033",
                severity: Error,
                kind: "code",
                at: (5, 35, 5, 57),
                message: "Setting `MsiEndpoint` points at the extension's port 50342 & <localhost>",
                source: r#"    <add key="MsiEndpoint" value="http://localhost:50342" />"#,
            },
            None,
        ),
    ];
    let errors = vec![
        FileError {
            path: "templates/broken.json".to_owned(),
            message: "cannot decode: odd number of bytes in UTF-16 text".to_owned(),
            root: 0,
        },
        FileError {
            path: "secrets/key.pem".to_owned(),
            message: "Permission denied (os error 13)".to_owned(),
            root: 1,
        },
    ];
    let root_summaries = vec![
        Summary {
            files_scanned: 31,
            files_analyzed: 6,
            findings: 5,
            errors: 1,
            notes: 1,
            ..Summary::default()
        },
        Summary {
            files_scanned: 12,
            files_analyzed: 3,
            findings: 3,
            errors: 1,
            ..Summary::default()
        },
    ];
    ScanResult {
        roots: vec![PathBuf::from("infra"), PathBuf::from("app code")],
        summary: Summary {
            files_scanned: 43,
            files_analyzed: 9,
            findings: findings.len(),
            errors: 2,
            notes: 1,
            ..Summary::default()
        },
        findings,
        errors,
        notes: vec![FileError {
            path: "templates/rendered.json".to_owned(),
            message: "invalid JSON at line 4, column 12: expected value; searched as text"
                .to_owned(),
            root: 0,
        }],
        root_summaries,
        ..ScanResult::default()
    }
}

/// The same scan, rooted at `.`: the most common CI invocation.
pub fn single_root() -> ScanResult {
    let mut result = sample();
    result.roots = vec![PathBuf::from(".")];
    result.findings.retain(|f| f.root == 0);
    result.errors.retain(|e| e.root == 0);
    result.root_summaries.truncate(1);
    result.summary.findings = result.findings.len();
    result
}

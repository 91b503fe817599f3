//! The text report through the binary: code frames, short messages, wrapping, colour and
//! neutralised escape sequences.

use std::{fs, path::Path, process::Command};

fn scan(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imds-migrate"));
    c.current_dir(dir).arg("scan").args(args);
    for v in ["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS"] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

const ARM: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "apiVersion": "2018-06-01",
      "name": "vm/msi",
      "location": "westeurope",
      "properties": {
        "publisher": "Microsoft.ManagedIdentity",
        "type": "ManagedIdentityExtensionForLinux",
        "typeHandlerVersion": "1.0",
        "settings": { "port": 50342 }
      }
    }
  ]
}
"#;

const PY: &str = "import requests\n\nr = requests.get(\"http://localhost:50342/oauth2/token?resource=https://vault.azure.net\", headers={\"Metadata\": \"true\"})\n";

#[test]
fn frames_snapshot() {
    let dir = tree(&[("infra/vm.json", ARM), ("app/token.py", PY)]);
    insta::assert_snapshot!(scan(dir.path(), &["--show-fixes"], &[]));
}

#[test]
fn arm_frames_show_the_resource_not_a_lone_brace() {
    let dir = tree(&[("vm.json", ARM)]);
    let out = scan(dir.path(), &[], &[]);
    let frame: Vec<&str> = out.lines().filter(|l| l.contains(" | ")).collect();
    assert!(
        frame
            .iter()
            .any(|l| l.contains("\"type\": \"Microsoft.Compute/virtualMachines/extensions\"")),
        "{out}"
    );
    assert!(
        !frame.iter().any(|l| l.trim_end().ends_with("| {")),
        "{out}"
    );
}

#[test]
fn messages_do_not_repeat_the_imds_url() {
    let dir = tree(&[("app/token.py", PY)]);
    let out = scan(dir.path(), &[], &[]);
    let header = out.lines().next().unwrap();
    assert!(header.starts_with("app/token.py:3:"), "{out}");
    assert!(!header.contains("169.254.169.254"), "{header}");
    // The JSON contract keeps the full message.
    let json = scan(dir.path(), &["--format", "json"], &[]);
    assert!(json.contains("169.254.169.254"), "{json}");
}

#[test]
fn escape_sequences_in_names_and_lines_are_neutralised() {
    let evil_line = "x = \"\u{1b}]0;pwned\u{7}\u{1b}[2J http://localhost:50342/oauth2/token\"\n";
    let dir = tree(&[("evil\u{1b}[31m.py", evil_line)]);
    let out = scan(dir.path(), &[], &[("FORCE_COLOR", "0")]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(!out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("evil\\u{1b}[31m.py"), "{out}");
    assert!(out.contains("\\u{1b}[2J"), "{out}");
}

#[test]
fn long_lines_are_cut_around_the_span() {
    let minified = format!(
        "{{\"a\":\"{}\",\"u\":\"http://localhost:50342/oauth2/token\",\"b\":\"{}\"}}\n",
        "x".repeat(5000),
        "y".repeat(5000)
    );
    let dir = tree(&[("settings.json", &minified)]);
    let out = scan(dir.path(), &[], &[]);
    let longest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 400, "{longest}");
    assert!(out.contains("http://localhost:50342/oauth2/token"), "{out}");
    // The window is the finding's own, cut on both sides, and the carets still sit under the
    // span inside it.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("oauth2/token") && l.contains(" | …"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(lines[at].ends_with('…'), "{}", lines[at]);
    let url = lines[at].find("http://localhost").unwrap();
    let caret = lines[at + 1].find('^').unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        lines[at][..url].chars().count(),
        lines[at + 1][..caret].chars().count(),
        "{}\n{}",
        lines[at],
        lines[at + 1]
    );
}

#[test]
fn colour_is_forced_by_force_color_and_clicolor_force() {
    let dir = tree(&[("app/token.py", PY)]);
    assert!(!scan(dir.path(), &[], &[]).contains('\u{1b}'));
    assert!(scan(dir.path(), &[], &[("FORCE_COLOR", "1")]).contains("\u{1b}["));
    assert!(scan(dir.path(), &[], &[("CLICOLOR_FORCE", "1")]).contains("\u{1b}["));
    assert!(
        !scan(
            dir.path(),
            &[],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
        )
        .contains('\u{1b}')
    );
    assert!(!scan(dir.path(), &["--color", "never"], &[("FORCE_COLOR", "1")]).contains('\u{1b}'));
}

#[test]
fn messages_wrap_to_columns() {
    let dir = tree(&[("app/token.py", PY)]);
    let out = scan(dir.path(), &[], &[("COLUMNS", "60")]);
    let header: Vec<&str> = out.lines().take_while(|l| !l.contains(" |")).collect();
    assert!(header.len() > 1, "{out}");
    for l in &header {
        assert!(l.chars().count() <= 60 || !l.contains(' '), "{l}");
    }
    assert!(header[1].starts_with("    "), "{out}");
}

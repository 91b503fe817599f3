//! The recall corpus (`testdata/recall/`): every shape of the extension hidden behind one level of
//! indirection, next to its look-alikes. `expected.toml` says where each usage is; this test scans the
//! corpus with the built binary (`--format json`) and fails on every miss and every finding no
//! expectation accounts for.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    expect: Vec<Expect>,
    #[serde(default)]
    clean: Vec<Clean>,
}

#[derive(Deserialize)]
struct Expect {
    file: String,
    line: Option<usize>,
    span: Option<[usize; 2]>,
    rule: String,
    #[serde(default)]
    optional: bool,
    known_miss: Option<String>,
    known_false_positive: Option<String>,
}

impl Expect {
    fn lines(&self) -> (usize, usize) {
        match (self.line, self.span) {
            (Some(l), None) => (l, l),
            (None, Some([a, b])) => (a, b),
            _ => panic!("{}: give exactly one of `line` and `span`", self.file),
        }
    }

    fn matches(&self, f: &Found) -> bool {
        let (first, last) = self.lines();
        f.path == self.file
            && (first..=last).contains(&f.line)
            && (self.rule == "any" || self.rule == f.rule)
    }

    fn place(&self) -> String {
        let (first, last) = self.lines();
        if first == last {
            format!("{}:{first} {}", self.file, self.rule)
        } else {
            format!("{}:{first}-{last} {}", self.file, self.rule)
        }
    }
}

#[derive(Deserialize)]
struct Clean {
    file: String,
}

#[derive(Debug)]
struct Found {
    path: String,
    line: usize,
    rule: String,
    message: String,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recall")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(corpus().join("expected.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn scan() -> Vec<Found> {
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .args(["scan", "--format", "json"])
        .arg(corpus())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan did not print JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        report["errors"].as_array().is_none_or(Vec::is_empty),
        "scan errors: {}",
        report["errors"]
    );
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Found {
            path: f["path"].as_str().unwrap().replace('\\', "/"),
            line: usize::try_from(f["line"].as_u64().unwrap()).unwrap(),
            rule: f["rule_id"].as_str().unwrap().to_owned(),
            message: f["message"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn corpus_files(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus_files(&path, out);
        } else {
            let rel = path.strip_prefix(corpus()).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_manifest_names_every_corpus_file_once() {
    let m = manifest();
    let mut on_disk = BTreeSet::new();
    corpus_files(&corpus(), &mut on_disk);
    on_disk.remove("expected.toml");
    let with_usage: BTreeSet<&str> = m.expect.iter().map(|e| e.file.as_str()).collect();
    let clean: BTreeSet<&str> = m.clean.iter().map(|c| c.file.as_str()).collect();
    assert!(
        with_usage.is_disjoint(&clean),
        "a file is both clean and expected"
    );
    let listed: BTreeSet<String> = with_usage.union(&clean).map(|s| (*s).to_owned()).collect();
    assert_eq!(
        listed, on_disk,
        "expected.toml and testdata/recall disagree"
    );
    for e in &m.expect {
        let _ = e.lines();
    }
}

#[test]
fn every_usage_is_found_at_its_line_and_no_look_alike_is_flagged() {
    let m = manifest();
    let found = scan();

    let mut problems = Vec::new();
    for e in &m.expect {
        let hit = found.iter().any(|f| e.matches(f));
        if let Some(why) = &e.known_false_positive {
            if !hit {
                problems.push(format!(
                    "FIXED known false positive {} ({why}): move the file to [[clean]]",
                    e.place()
                ));
            }
            continue;
        }
        match (&e.known_miss, hit, e.optional) {
            (None, false, false) => problems.push(format!("MISS {}", e.place())),
            (Some(why), true, _) => problems.push(format!(
                "FIXED known miss {} ({why}): remove `known_miss`",
                e.place()
            )),
            _ => {}
        }
    }
    for f in &found {
        if !m.expect.iter().any(|e| e.matches(f)) {
            problems.push(format!(
                "FALSE POSITIVE {}:{} {} {}",
                f.path, f.line, f.rule, f.message
            ));
        }
    }
    let known: Vec<String> = m
        .expect
        .iter()
        .filter_map(|e| {
            let (what, why) = match (&e.known_miss, &e.known_false_positive) {
                (Some(why), _) => ("miss", why),
                (_, Some(why)) => ("false positive", why),
                _ => return None,
            };
            Some(format!("known {what} {} ({why})", e.place()))
        })
        .collect();
    if !known.is_empty() {
        eprintln!("{}", known.join("\n"));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

//! What `fix --unsafe-fixes` promises for scripts and endpoints, checked on the rule fixtures
//! rather than snapshotted: no request left as a host-swapped POST, no URL with two queries, no
//! Cloud Shell line touched, every scale-set removal pushed to Azure, and a rescan that agrees.

use std::path::{Path, PathBuf};

use imds_migrate::{
    analyzers::cloud_shell::path_is_cloud_shell,
    fix,
    scan::{self, ScanOptions},
    source,
};

/// A fixture before and after `fix --unsafe-fixes`.
struct Fixed {
    before: String,
    after: String,
    /// The rules a rescan of the fixed text reports, with whether each has a fix.
    left: Vec<(String, bool)>,
}

/// `None` when the fixture has no finding.
fn fix_fixture(path: &Path) -> Option<Fixed> {
    let opts = ScanOptions {
        roots: vec![path.to_path_buf()],
        ..ScanOptions::default()
    };
    let result = scan::scan(&opts);
    let record = result.files.values().next()?;
    let change = fix::plan_file(record, &opts, &result.ports, true)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let before = source::decode(&change.original).text;
    let after = source::decode(&change.updated).text;
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join(path.file_name().expect("a file name"));
    std::fs::write(&copy, change.updated).expect("write the fixed copy");
    let rescan = scan::scan(&ScanOptions {
        roots: vec![copy],
        ..ScanOptions::default()
    });
    let left = rescan
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.fix.is_some()))
        .collect();
    Some(Fixed {
        before,
        after,
        left,
    })
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
    let mut out = Vec::new();
    for rule in [
        "IMDS010", "IMDS011", "IMDS030", "IMDS031", "IMDS032", "IMDS033",
    ] {
        for entry in std::fs::read_dir(root.join(rule)).expect("fixture folder") {
            out.push(entry.expect("entry").path());
        }
    }
    out.sort();
    out
}

#[test]
// The pattern for a second query names each variable.
#[allow(clippy::regex_creation_in_loops)]
fn fixed_scripts_and_endpoints_keep_their_promises() {
    let post = regex::Regex::new(
        r"(?i)-X\s*POST|--data|\s-d\s|-Method(?:\s+|:)post|\.post\s*\(|UploadValues|PostAsync",
    )
    .expect("valid regex");
    let with_query = regex::Regex::new(
        r#"([A-Za-z_]\w*)["']?\s*[:=]\s*["']?http://169\.254\.169\.254[^\s"']*\?"#,
    )
    .expect("valid regex");
    for path in fixtures() {
        let name = path.display();
        let Some(Fixed {
            before,
            after,
            left,
        }) = fix_fixture(&path)
        else {
            continue;
        };
        // Rescan agrees: nothing fixable is left, and a second run changes nothing.
        assert!(
            left.iter().all(|(_, fixable)| !fixable),
            "{name}: fixable findings left: {left:?}"
        );
        for line in after.lines().filter(|l| l.contains("169.254.169.254")) {
            // A rewritten request is a GET with one query.
            assert!(!line.contains("??"), "{name}: {line}");
            let imds = line.find("169.254.169.254").expect("found above");
            let query_marks = line[imds..]
                .split(['\'', '"', ' '])
                .next()
                .map_or(0, |url| url.matches('?').count());
            assert!(query_marks <= 1, "{name}: {line}");
            // curl's `--get`/`-G` sends the data in the query.
            let get = line.contains(" --get") || line.contains(" -G");
            if !before.contains(line) && !get {
                assert!(!post.is_match(line), "{name}: host-swapped POST: {line}");
            }
        }
        // A variable holding an IMDS URL with a query is never extended with a second one.
        for c in with_query.captures_iter(&after) {
            let var = regex::escape(&c[1]);
            let extended = regex::Regex::new(&format!(
                r#"\b{var}[}}'")]{{0,3}}\s*(?:[+&.,]\s*[f$@]?["'`])?\?"#
            ))
            .expect("valid regex");
            assert!(
                !extended.is_match(&after),
                "{name}: `{}` gets a second query:\n{after}",
                &c[1]
            );
        }
        // A Cloud Shell line (or one right under a line naming Cloud Shell) is untouched.
        let lines: Vec<&str> = before.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let local = line.contains("localhost:50342") || line.contains("127.0.0.1:50342");
            let labelled = lines[i.saturating_sub(3)..=i]
                .iter()
                .any(|l| path_is_cloud_shell(l));
            if local && labelled {
                assert!(
                    after.contains(line),
                    "{name}: a Cloud Shell line was rewritten: {line}"
                );
            }
        }
        // Scale-set removals reach Azure: the model is pushed, or the instances upgraded, after.
        let lower = after.to_ascii_lowercase();
        for (at, _) in lower.match_indices("remove-az") {
            assert!(
                !lower[at..].starts_with("remove-azvmss")
                    && !lower[at..].starts_with("remove-azurermvmss")
                    || lower[at..].contains("update-azvmss")
                    || lower[at..].contains("update-azurermvmss"),
                "{name}: a scale-set removal is never pushed:\n{after}"
            );
        }
        for (at, _) in lower.match_indices("az vmss extension delete") {
            assert!(
                lower[at..].contains("az vmss update-instances"),
                "{name}: a scale-set delete never reaches the instances:\n{after}"
            );
        }
    }
}

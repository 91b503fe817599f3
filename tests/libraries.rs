//! IMDS042 across files: a credential call is kept or dropped by what the repository's
//! manifests say about the library version.

use std::{fs, path::Path};

use imds_migrate::scan::{self, ScanOptions};

fn findings(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    scan_dir(dir.path())
}

fn scan_dir(root: &Path) -> Vec<String> {
    let opts = ScanOptions {
        roots: vec![root.to_path_buf()],
        ..ScanOptions::default()
    };
    scan::scan(&opts)
        .findings
        .iter()
        .map(|f| format!("{} {}:{}", f.rule_id, f.path, f.line))
        .collect()
}

const GO_CALL: &str = "package main\n\nimport \"github.com/Azure/go-autorest/autorest/adal\"\n\nfunc t() {\n\tspt, _ := adal.NewServicePrincipalTokenFromMSI(endpoint, resource)\n\t_ = spt\n}\n";
const PY_CALL: &str = "from msrestazure.azure_active_directory import MSIAuthentication\ncreds = MSIAuthentication()\n";

#[test]
fn a_call_with_a_fixed_manifest_is_not_reported() {
    let fixed_go = "module m\n\nrequire github.com/Azure/go-autorest/autorest/adal v0.9.13\n";
    assert!(findings(&[("go.mod", fixed_go), ("cmd/main.go", GO_CALL)]).is_empty());
    let fixed_py = "msrestazure==0.6.4\n";
    assert!(findings(&[("requirements.txt", fixed_py), ("app/auth.py", PY_CALL)]).is_empty());
    // A range that allows the fixed release keeps the call quiet; the range itself is reported
    // because it also allows affected releases and no lock file says which one is installed.
    assert_eq!(
        findings(&[
            ("requirements.txt", "msrestazure>=0.4.7\n"),
            ("auth.py", PY_CALL)
        ]),
        ["IMDS041 requirements.txt:1"]
    );
}

#[test]
fn a_range_beside_a_lock_is_left_to_the_lock() {
    let pkg = "{\n  \"dependencies\": {\n    \"ms-rest-azure\": \"^2.3.0\"\n  }\n}\n";
    assert_eq!(
        findings(&[("package.json", pkg)]),
        ["IMDS041 package.json:3"]
    );
    let lock = |v: &str| {
        format!(
            "{{\n  \"packages\": {{\n    \"node_modules/ms-rest-azure\": {{\n      \"version\": \"{v}\"\n    }}\n  }}\n}}\n"
        )
    };
    // The lock decides: a fixed version says nothing, an affected one is reported there.
    assert!(findings(&[("package.json", pkg), ("package-lock.json", &lock("2.6.2"))]).is_empty());
    assert_eq!(
        findings(&[("package.json", pkg), ("package-lock.json", &lock("2.5.9"))]),
        ["IMDS041 package-lock.json:4"]
    );
    // A workspace's lock at the root covers a member's manifest; a lock in a sibling does not.
    assert!(
        findings(&[
            ("packages/api/package.json", pkg),
            ("yarn.lock", "ms-rest-azure@^2.3.0:\n  version \"2.6.2\"\n")
        ])
        .is_empty()
    );
    assert_eq!(
        findings(&[
            ("api/package.json", pkg),
            ("web/package-lock.json", &lock("2.6.2"))
        ]),
        ["IMDS041 api/package.json:3"]
    );
    // A lock of another ecosystem does not count.
    let gems = "GEM\n  specs:\n    ms_rest_azure (0.11.0)\n";
    assert_eq!(
        findings(&[("package.json", pkg), ("Gemfile.lock", gems)]),
        ["IMDS041 package.json:3"]
    );
    let gemfile = "gem 'ms_rest_azure', '~> 0.10.0'\n";
    assert_eq!(findings(&[("Gemfile", gemfile)]), ["IMDS041 Gemfile:1"]);
    assert!(findings(&[("Gemfile", gemfile), ("Gemfile.lock", gems)]).is_empty());
}

#[test]
fn a_call_with_an_affected_manifest_is_reported_with_the_pin() {
    let old_go = "module m\n\nrequire github.com/Azure/go-autorest v10.5.1+incompatible\n";
    assert_eq!(
        findings(&[("go.mod", old_go), ("cmd/main.go", GO_CALL)]),
        ["IMDS042 cmd/main.go:6", "IMDS041 go.mod:3"]
    );
}

#[test]
fn the_nearest_manifest_decides_and_an_unknown_version_is_reported() {
    let files = [
        ("svc-new/requirements.txt", "msrestazure==0.5.1\n"),
        ("svc-new/auth.py", PY_CALL),
        ("svc-old/requirements.txt", "msrestazure==0.4.20\n"),
        ("svc-old/auth.py", PY_CALL),
    ];
    assert_eq!(
        findings(&files),
        [
            "IMDS042 svc-old/auth.py:2",
            "IMDS041 svc-old/requirements.txt:1"
        ]
    );
    // No manifest at all: the version cannot be shown to be fixed.
    assert_eq!(findings(&[("auth.py", PY_CALL)]), ["IMDS042 auth.py:2"]);
    // A manifest of another ecosystem says nothing about this call.
    assert_eq!(
        findings(&[
            (
                "package.json",
                "{\"dependencies\": {\"ms-rest-azure\": \"^2.6.0\"}}"
            ),
            ("auth.py", PY_CALL)
        ]),
        ["IMDS042 auth.py:2"]
    );
}

#[test]
fn the_java_port_constructor_is_reported_whatever_the_version() {
    let pom = "<project><dependencies><dependency>\n<groupId>com.microsoft.azure</groupId>\n<artifactId>azure-client-authentication</artifactId>\n<version>1.7.14</version>\n</dependency></dependencies></project>\n";
    let java = "class A {\n  Object a = new MSICredentials(AzureEnvironment.AZURE);\n  Object b = new MSICredentials(AzureEnvironment.AZURE, 50342);\n}\n";
    assert_eq!(
        findings(&[("pom.xml", pom), ("src/A.java", java)]),
        ["IMDS042 src/A.java:3"]
    );
}

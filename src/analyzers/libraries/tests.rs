use super::versions::{npm_range, pep440};
use super::*;
use crate::analyzers::Context;
use crate::kind::Lang;

fn run(text: &str, path: &str, kind: FileKind) -> Analysis {
    let ctx = Context {
        kind,
        path,
        api_version: "2018-02-01",
        extra_ports: &[],
    };
    let mut out = Analysis::default();
    analyze(text, &ctx, &mut out);
    out
}

fn flagged(text: &str, path: &str) -> Vec<String> {
    run(text, path, FileKind::Text)
        .diagnostics
        .iter()
        .map(|d| text[d.range.clone()].to_owned())
        .collect()
}

#[test]
fn embedded_data_is_valid_and_sourced() {
    let libs = parse_data(DATA).unwrap();
    assert!(libs.len() >= 5);
    for lib in &libs {
        assert!(
            lib.sources
                .iter()
                .all(|s| s.starts_with("https://github.com/")),
            "{}",
            lib.package
        );
    }
    let missing = DATA.replace("sources = [", "sources_ = [");
    assert!(parse_data(&missing).is_err());
    let unsourced = "[[library]]\npackage = \"p\"\necosystem = \"go\"\nintroduced = \"1.0\"\nfixed = \"2.0\"\ncalls = [\"F\"]\nsources = [\"a changelog\"]\n";
    assert!(parse_data(unsourced).unwrap_err().contains("source"));
    let backwards = unsourced
        .replace("a changelog", "https://x")
        .replace("2.0", "0.5");
    assert!(parse_data(&backwards).unwrap_err().contains("fixed"));
}

#[test]
fn the_explanations_name_every_fixed_version() {
    let catalogue = crate::rules::catalogue();
    for id in ["IMDS041", "IMDS042"] {
        let rule = catalogue.iter().find(|r| r.id == id).unwrap();
        assert!(
            rule.explanation.contains("upgrade to version X or later"),
            "{id}"
        );
        for lib in libraries() {
            let fixed = lib.fixed.as_deref().unwrap_or("0.9.0");
            assert!(
                rule.explanation.contains(fixed),
                "{id} does not name {} {fixed}",
                lib.package
            );
        }
    }
}

#[test]
fn versions_and_ranges() {
    assert!(Version::parse("v10.5.1+incompatible") < Version::parse("10.6.0"));
    assert_eq!(Version::parse("0.4.25"), Version::parse("v0.4.25"));
    assert!(Version::parse("latest").is_none());
    let lib = by_package(Ecosystem::Npm, "ms-rest-azure").unwrap();
    let j = |spec: &str| npm_range(spec).and_then(|a| judge(lib, a));
    assert_eq!(j("2.5.9"), Some(Resolved::Affected));
    assert_eq!(j("~2.5.0"), Some(Resolved::Affected));
    assert_eq!(j("^2.3.0"), Some(Resolved::Fixed));
    assert_eq!(j(">=2.3.0 <2.6.0"), Some(Resolved::Affected));
    assert_eq!(j("2.x"), Some(Resolved::Fixed));
    assert_eq!(j("2.5.x"), Some(Resolved::Affected));
    assert_eq!(j("2.5.0 - 2.5.9"), Some(Resolved::Affected));
    assert_eq!(j("~2.5.0 || ^3.0.0"), Some(Resolved::Fixed));
    assert_eq!(j("*"), Some(Resolved::Fixed));
    assert_eq!(j(">= 2.3.0 < 2.6.0"), Some(Resolved::Affected));
    assert_eq!(j("2.2.3"), None);
    assert_eq!(j("git+https://example.invalid/x.git"), None);
    let py = by_package(Ecosystem::Python, "msrestazure").unwrap();
    let p = |spec: &str| pep440(spec).and_then(|a| judge(py, a));
    assert_eq!(p("==0.4.20"), Some(Resolved::Affected));
    assert_eq!(p("<0.4.25"), Some(Resolved::Affected));
    assert_eq!(p("<=0.4.25"), Some(Resolved::Fixed));
    assert_eq!(p("~=0.4.20"), Some(Resolved::Fixed));
    assert_eq!(p("~=0.4.20.0"), Some(Resolved::Affected));
    assert_eq!(p("==0.4.*"), Some(Resolved::Fixed));
    assert_eq!(p(">=0.4.14,<0.4.20"), Some(Resolved::Affected));
    assert_eq!(p("==0.4.7"), None);
}

/// Spans of findings that stand whatever else the repository holds (exact pins, locks, ranges
/// that allow only affected versions).
fn pinned(text: &str, path: &str) -> Vec<String> {
    spans(text, path, false)
}

/// Spans of "allows" findings: ranges that admit an affected version, kept only when no lock
/// file is beside them.
fn allows(text: &str, path: &str) -> Vec<String> {
    spans(text, path, true)
}

fn spans(text: &str, path: &str, lock_dependent: bool) -> Vec<String> {
    run(text, path, FileKind::Text)
        .diagnostics
        .iter()
        .filter(|d| d.depends_on.is_some_and(|e| e.ends_with(" lock")) == lock_dependent)
        .map(|d| text[d.range.clone()].to_owned())
        .collect()
}

#[test]
fn requirements_and_python_projects() {
    let req = "requests==2.0\nmsrestazure==0.4.21  # pinned\nmsrestazure-fork==0.4.20\nazure-msrestazure==0.4.20\n# msrestazure==0.4.20\n";
    assert_eq!(pinned(req, "requirements-dev.txt"), ["==0.4.21"]);
    // Both ends of the range, and just outside them.
    for (spec, hit) in [
        ("==0.4.13", false),
        ("==0.4.14", true),
        ("===0.4.24", true),
        ("==0.4.25", false),
        ("~=0.4.20.0", true),
        (">=0.4.14,<0.4.25", true),
        ("<0.4.25", true),
        ("<0.4.14", false),
    ] {
        let text = format!("msrestazure{spec}\n");
        assert_eq!(!pinned(&text, "requirements.txt").is_empty(), hit, "{spec}");
    }
    assert_eq!(
        pinned(
            "msrestazure[extra] == 0.4.20 ; python_version < \"3.8\"\n",
            "requirements.txt"
        ),
        ["== 0.4.20"]
    );
    // Ranges that also admit a fixed version: reported as "allows", unless only a lock says more.
    assert_eq!(
        allows("msrestazure>=0.4.14\n", "requirements.txt"),
        [">=0.4.14"]
    );
    assert_eq!(
        allows("msrestazure~=0.4.20\n", "requirements.txt"),
        ["~=0.4.20"]
    );
    assert!(allows("msrestazure>=0.4.25\n", "requirements.txt").is_empty());
    assert!(allows("msrestazure\nmsrestazure!=0.4.20\n", "requirements.txt").is_empty());
    assert!(allows("msrestazure<=0.4.13\n", "requirements.txt").is_empty());
    assert_eq!(
        pinned("install_requires=['msrestazure~=0.4.20.0']", "setup.py"),
        ["~=0.4.20.0"]
    );
    assert_eq!(
        pinned(
            "[options]\ninstall_requires =\n    msrestazure==0.4.16\n    azure-identity==1.0.0\n",
            "setup.cfg"
        ),
        ["==0.4.16"]
    );
    assert_eq!(
        pinned(
            "[packages]\nmsrestazure = \"==0.4.20\"\nmsrestazure-fork = \"==0.4.20\"\n",
            "Pipfile"
        ),
        ["==0.4.20"]
    );
    assert_eq!(
        pinned(
            "[packages]\nmsrestazure = {version = \"==0.4.20\", extras = [\"x\"]}\n",
            "Pipfile"
        ),
        ["==0.4.20"]
    );
    assert!(pinned("[packages]\nmsrestazure = \"*\"\n", "Pipfile").is_empty());
    assert!(allows("[packages]\nmsrestazure = \"*\"\n", "Pipfile").is_empty());
    let table = "[tool.poetry.dependencies]\nmsrestazure = { version = \">=0.4.14,<0.4.25\", optional = true }\n";
    assert_eq!(pinned(table, "pyproject.toml"), [">=0.4.14,<0.4.25"]);
    let caret = "[tool.poetry.dependencies]\nmsrestazure = \"0.4.20\"\n";
    assert!(
        pinned(caret, "pyproject.toml").is_empty(),
        "a bare Poetry version is ^"
    );
    assert_eq!(allows(caret, "pyproject.toml"), ["0.4.20"]);
    assert_eq!(
        pinned(
            "[project]\ndependencies = [\"msrestazure (<0.4.25)\", \"azure-identity==1.0\"]\n",
            "pyproject.toml"
        ),
        ["<0.4.25"]
    );
    let pipfile = "{\"default\": {\"msrestazure\": {\"hashes\": [], \"version\": \"==0.4.16\"}, \"msrestazure-fork\": {\"version\": \"==0.4.16\"}}}";
    assert_eq!(pinned(pipfile, "Pipfile.lock"), ["0.4.16"]);
    assert_eq!(
        pinned(
            "[[package]]\nname = \"msrestazure\"\nversion = \"0.4.20\"\n",
            "poetry.lock"
        ),
        ["0.4.20"]
    );
    assert!(
        pinned(
            "[[package]]\nname = \"msrestazure\"\nversion = \"0.4.25\"\n",
            "poetry.lock"
        )
        .is_empty()
    );
    assert_eq!(
        pinned(
            "version = 1\n\n[[package]]\nname = \"msrestazure\"\nversion = \"0.4.24\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
            "uv.lock"
        ),
        ["0.4.24"]
    );
    assert_eq!(
        pinned(
            "-c constraints.txt\nmsrestazure==0.4.20\n",
            "requirements/prod.txt"
        ),
        ["==0.4.20"]
    );
    assert_eq!(
        pinned("msrestazure==0.4.22\n", "constraints.txt"),
        ["==0.4.22"]
    );
    let conda = "name: fleet\ndependencies:\n  - python=3.6\n  - pip:\n    - msrestazure==0.4.19\n    - msrestazure-fork==0.4.19\n";
    assert_eq!(pinned(conda, "environment.yml"), ["==0.4.19"]);
    // The same text in a file that is no manifest says nothing.
    assert!(flagged("msrestazure==0.4.21\n", "notes.txt").is_empty());
}

#[test]
fn npm_manifests_and_locks() {
    let pkg = |spec: &str| format!("{{\"dependencies\": {{\"ms-rest-azure\": \"{spec}\"}}}}");
    for (spec, exact_hit, allows_hit) in [
        ("2.2.3", false, false),
        ("2.3.0", true, false),
        ("2.5.9", true, false),
        ("2.6.0", false, false),
        ("~2.5.0", true, false),
        (">=2.3.0 <2.6.0", true, false),
        ("2.5.x", true, false),
        ("2.5.0 - 2.5.9", true, false),
        ("^2.3.0", false, true),
        ("~2.3.1", true, false),
        (">=2.3.0", false, true),
        ("2.x", false, true),
        ("~2.5.0 || ^3.0.0", false, true),
        ("*", false, false),
        ("^2.6.0", false, false),
        ("git+https://example.invalid/x.git", false, false),
    ] {
        let text = pkg(spec);
        assert_eq!(
            !pinned(&text, "package.json").is_empty(),
            exact_hit,
            "{spec}"
        );
        assert_eq!(
            !allows(&text, "package.json").is_empty(),
            allows_hit,
            "{spec}"
        );
    }
    assert_eq!(
        pinned(
            "{\"dependencies\": {\"@azure/ms-rest-nodeauth\": \"0.8.x\", \"ms-rest-azure-env\": \"2.5.0\", \"@azure/identity\": \"1.0.0\"}}",
            "package.json"
        ),
        ["0.8.x"]
    );
    assert!(
        pinned(
            "{\"dependencies\": {\"@azure/ms-rest-nodeauth\": \"0.9.0\"}}",
            "package.json"
        )
        .is_empty()
    );
    let peer = "{\"peerDependencies\": {\"ms-rest-azure\": \">=2.0.0\", \"@azure/ms-rest-nodeauth\": \"~0.8.0\"}, \"devDependencies\": {\"ms-rest-azure\": \"^2.3.0\"}}";
    assert_eq!(pinned(peer, "package.json"), ["~0.8.0"]);
    assert_eq!(allows(peer, "package.json"), ["^2.3.0"]);
    // package-lock v2 lists the install twice (`packages` and `dependencies`): one finding.
    let lock = "{\"lockfileVersion\": 2, \"packages\": {\"node_modules/ms-rest-azure\": {\"version\": \"2.5.9\", \"resolved\": \"x\"}}, \"dependencies\": {\"ms-rest-azure\": {\"version\": \"2.5.9\"}}}";
    assert_eq!(pinned(lock, "package-lock.json"), ["2.5.9"]);
    let v1 = "{\"lockfileVersion\": 1, \"dependencies\": {\"ms-rest-azure\": {\"version\": \"2.3.0\", \"requires\": {\"ms-rest\": \"^2.3.2\"}}}}";
    assert_eq!(pinned(v1, "package-lock.json"), ["2.3.0"]);
    let requires_only = "{\"dependencies\": {\"azure-arm-x\": {\"version\": \"1.0.0\", \"requires\": {\"ms-rest-azure\": \"2.5.0\"}}}}";
    assert!(pinned(requires_only, "package-lock.json").is_empty());
    let yarn = "ms-rest@^2.3.2:\n  version \"2.5.0\"\n\nms-rest-azure@^2.3.1, ms-rest-azure@^2.5.0:\n  version \"2.5.9\"\n  resolved \"https://registry.yarnpkg.com/x\"\n";
    assert_eq!(pinned(yarn, "yarn.lock"), ["2.5.9"]);
    let berry = "\"@azure/ms-rest-nodeauth@npm:^0.8.0\":\n  version: 0.8.4\n  resolution: \"x\"\n";
    assert_eq!(pinned(berry, "yarn.lock"), ["0.8.4"]);
    assert!(pinned(&yarn.replace("2.5.9", "2.6.2"), "yarn.lock").is_empty());
    let pnpm5 = "lockfileVersion: 5.4\npackages:\n\n  /ms-rest-azure/2.5.9:\n    resolution: {integrity: x}\n  /ms-rest-azure-env/2.5.0:\n    resolution: {integrity: y}\n";
    assert_eq!(pinned(pnpm5, "pnpm-lock.yaml"), ["2.5.9"]);
    let pnpm9 = "lockfileVersion: '9.0'\npackages:\n\n  '@azure/ms-rest-nodeauth@0.8.4':\n    resolution: {integrity: x}\n\nsnapshots:\n\n  '@azure/ms-rest-nodeauth@0.8.4':\n    dependencies:\n      ms-rest-azure: 2.6.0\n";
    assert_eq!(pinned(pnpm9, "pnpm-lock.yaml"), ["0.8.4"]);
    assert!(
        pinned(
            "packages:\n  /ms-rest-azure@2.6.0:\n    x: y\n",
            "pnpm-lock.yaml"
        )
        .is_empty()
    );
}

#[test]
fn go_manifests() {
    let m = |req: &str| format!("module m\n\ngo 1.12\n\nrequire (\n\t{req}\n)\n");
    for (req, hit) in [
        ("github.com/Azure/go-autorest v7.3.1+incompatible", false),
        ("github.com/Azure/go-autorest v8.0.0+incompatible", true),
        (
            "github.com/Azure/go-autorest v10.5.1+incompatible // indirect",
            true,
        ),
        ("github.com/Azure/go-autorest v10.6.0+incompatible", false),
        ("github.com/Azure/go-autorest/autorest v0.11.28", false),
        ("github.com/Azure/go-autorest/autorest/adal v0.9.13", false),
        ("github.com/Azure/go-autorest-fork v10.1.0", false),
        (
            "// github.com/Azure/go-autorest v10.1.0+incompatible",
            false,
        ),
    ] {
        assert_eq!(!pinned(&m(req), "go.mod").is_empty(), hit, "{req}");
    }
    assert_eq!(
        pinned(
            "module m\n\nrequire github.com/Azure/go-autorest v10.5.1+incompatible\n",
            "go.mod"
        ),
        ["v10.5.1+incompatible"]
    );
    let old = "module m\n\nrequire github.com/Azure/go-autorest v10.5.1+incompatible\n";
    // A replace by a fixed version of the same module: the build uses that.
    let fixed = format!(
        "{old}replace github.com/Azure/go-autorest => github.com/Azure/go-autorest v10.6.0+incompatible\n"
    );
    assert!(pinned(&fixed, "go.mod").is_empty());
    // A replace by an affected version: reported at the version that is built.
    let worse = format!(
        "{old}replace (\n\tgithub.com/Azure/go-autorest v10.5.1+incompatible => github.com/Azure/go-autorest v9.1.0+incompatible\n)\n"
    );
    assert_eq!(pinned(&worse, "go.mod"), ["v9.1.0+incompatible"]);
    // A fork or a local directory: not the published library, nothing to say.
    for target in ["../go-autorest", "github.com/example/go-autorest v10.5.2"] {
        let text = format!("{old}replace github.com/Azure/go-autorest => {target}\n");
        assert!(pinned(&text, "go.mod").is_empty(), "{target}");
    }
    // A replace of another version does not apply; exclude is not a use.
    let other = format!(
        "{old}replace github.com/Azure/go-autorest v10.1.0+incompatible => ../x\nexclude github.com/Azure/go-autorest v9.0.0+incompatible\n"
    );
    assert_eq!(pinned(&other, "go.mod"), ["v10.5.1+incompatible"]);
    assert!(
        pinned(
            "module m\n\nexclude (\n\tgithub.com/Azure/go-autorest v10.1.0+incompatible\n)\n",
            "go.mod"
        )
        .is_empty()
    );
    let sum = "github.com/Azure/go-autorest v10.1.0+incompatible/go.mod h1:x=\ngithub.com/Azure/go-autorest v10.15.5+incompatible h1:y=\n";
    assert!(
        pinned(sum, "go.sum").is_empty(),
        "the greatest version decides"
    );
    let sum = "github.com/Azure/go-autorest v10.1.0+incompatible h1:x=\ngithub.com/Azure/go-autorest v10.1.0+incompatible/go.mod h1:y=\n";
    assert_eq!(
        pinned(sum, "go.sum"),
        ["v10.1.0+incompatible"],
        "once, not per line"
    );
    let vendor = "# github.com/Azure/go-autorest v10.2.0+incompatible\ngithub.com/Azure/go-autorest/autorest/adal\n";
    assert_eq!(pinned(vendor, "vendor/modules.txt").len(), 1);
    let vendored = "# github.com/Azure/go-autorest v10.15.5+incompatible => github.com/Azure/go-autorest v10.2.0+incompatible\n## explicit\n# github.com/Azure/go-autorest/autorest/adal v0.9.13 => ../adal\n";
    assert_eq!(
        pinned(vendored, "vendor/modules.txt"),
        ["v10.2.0+incompatible"]
    );
    let forked = "# github.com/Azure/go-autorest v10.2.0+incompatible => ../go-autorest\n";
    assert!(pinned(forked, "vendor/modules.txt").is_empty());
    let godeps = "{\"Deps\": [\n{\"ImportPath\": \"github.com/Azure/go-autorest/autorest\", \"Comment\": \"v9.8.1-2-gabcdef\", \"Rev\": \"abc\"},\n{\"ImportPath\": \"github.com/Azure/go-autorest/autorest/adal\", \"Comment\": \"v9.8.1-2-gabcdef\", \"Rev\": \"abc\"},\n{\"ImportPath\": \"github.com/Azure/go-autorest-extras\", \"Comment\": \"v9.0.0\", \"Rev\": \"def\"}\n]}";
    assert_eq!(pinned(godeps, "Godeps/Godeps.json"), ["v9.8.1-2-gabcdef"]);
    assert!(pinned(&godeps.replace("v9.8.1", "v10.6.0"), "Godeps/Godeps.json").is_empty());
    let toml = |v: &str| {
        format!(
            "[[constraint]]\n  name = \"github.com/Azure/azure-sdk-for-go\"\n  version = \"14.0.0\"\n\n[[constraint]]\n  version = \"{v}\"\n  name = \"github.com/Azure/go-autorest\"\n"
        )
    };
    assert_eq!(pinned(&toml("=10.5.0"), "Gopkg.toml"), ["=10.5.0"]);
    assert_eq!(
        pinned(&toml(">= 10.1.0, < 10.6.0"), "Gopkg.toml"),
        [">= 10.1.0, < 10.6.0"]
    );
    assert_eq!(
        allows(&toml("10.1.0"), "Gopkg.toml"),
        ["10.1.0"],
        "a bare version is ^"
    );
    assert!(flagged(&toml("v11.1.0"), "Gopkg.toml").is_empty());
    let gopkg = "[[projects]]\n  digest = \"1:abc\"\n  name = \"github.com/Azure/go-autorest\"\n  packages = [\n    \"autorest\",\n    \"autorest/adal\",\n  ]\n  revision = \"abc\"\n  version = \"v10.1.0\"\n";
    assert_eq!(pinned(gopkg, "Gopkg.lock"), ["v10.1.0"]);
    assert!(pinned(&gopkg.replace("v10.1.0", "v11.1.2"), "Gopkg.lock").is_empty());
}

#[test]
fn maven_and_gradle_manifests() {
    let pom = |version: &str| {
        format!(
            "<project>\n  <properties>\n    <azure.version>1.2.1</azure.version>\n    <auth.version>${{azure.version}}</auth.version>\n  </properties>\n  <dependencies>\n    <dependency>\n      <artifactId>azure-client-authentication</artifactId>\n      <groupId>com.microsoft.azure</groupId>\n      <version>{version}</version>\n    </dependency>\n  </dependencies>\n</project>\n"
        )
    };
    for (version, exact_hit, allows_hit) in [
        ("1.1.0", false, false),
        ("1.1.1", true, false),
        ("1.3.9", true, false),
        ("1.4.0", false, false),
        ("[1.1.1]", true, false),
        ("[1.1,1.4)", true, false),
        ("(,1.2]", true, false),
        ("(,1.1.1)", false, false),
        ("[1.1,1.4]", false, true),
        ("[1.2,)", false, true),
        ("[1.0,1.1.1),[1.5,)", false, true),
        ("[1.4.0,)", false, false),
        ("${azure.version}", true, false),
        ("${auth.version}", true, false),
        ("${unknown.version}", false, false),
    ] {
        let text = pom(version);
        assert_eq!(!pinned(&text, "pom.xml").is_empty(), exact_hit, "{version}");
        assert_eq!(
            !allows(&text, "pom.xml").is_empty(),
            allows_hit,
            "{version}"
        );
    }
    let d = run(&pom("${auth.version}"), "pom.xml", FileKind::Text);
    assert!(
        d.diagnostics[0]
            .message
            .contains("`${auth.version}` is 1.2.1"),
        "{}",
        d.diagnostics[0].message
    );
    let managed = "<project><dependencyManagement><dependencies>\n<dependency><groupId>com.microsoft.azure</groupId><artifactId>azure-client-authentication</artifactId><version>1.3.0</version></dependency>\n</dependencies></dependencyManagement>\n<dependencies><dependency><groupId>com.microsoft.azure</groupId><artifactId>azure-client-authentication</artifactId></dependency></dependencies></project>";
    assert_eq!(pinned(managed, "pom.xml"), ["1.3.0"]);
    let look_alikes = "<project><dependencies>\n<!-- <dependency><groupId>com.microsoft.azure</groupId><artifactId>azure-client-authentication</artifactId><version>1.2.0</version></dependency> -->\n<dependency><groupId>com.microsoft.azure</groupId><artifactId>azure-client-authentication-fork</artifactId><version>1.2.0</version></dependency>\n<dependency><groupId>com.example</groupId><artifactId>azure-client-authentication</artifactId><version>1.2.0</version></dependency>\n<dependency><groupId>com.azure</groupId><artifactId>azure-identity</artifactId><version>1.2.0</version></dependency>\n</dependencies></project>";
    assert!(flagged(look_alikes, "pom.xml").is_empty());
    let exclusion = "<project><dependencies><dependency>\n<groupId>com.microsoft.azure</groupId>\n<artifactId>azure-mgmt-resources</artifactId>\n<version>1.2.0</version>\n<exclusions><exclusion><groupId>com.microsoft.azure</groupId><artifactId>azure-client-authentication</artifactId></exclusion></exclusions>\n</dependency></dependencies></project>";
    assert!(flagged(exclusion, "pom.xml").is_empty());

    let gradle = "ext.authVersion = '1.2.0'\ndependencies {\n    implementation 'com.microsoft.azure:azure-client-authentication:1.1.+'\n    implementation group: 'com.microsoft.azure', name: 'azure-client-authentication', version: '1.1.1'\n    implementation \"com.microsoft.azure:azure-client-authentication:$authVersion\"\n    // implementation 'com.microsoft.azure:azure-client-authentication:1.3.0'\n    implementation 'com.microsoft.azure:azure-client-authentication-fork:1.3.0'\n    implementation 'com.microsoft.azure:azure-client-authentication:1.4.0'\n    implementation 'com.microsoft.azure:azure-client-authentication:1.1.0'\n}\n";
    assert_eq!(
        pinned(gradle, "build.gradle"),
        ["1.1.+", "1.1.1", "$authVersion"]
    );
    let kts = "val authVersion = \"1.3.0\"\ndependencies {\n    implementation(group = \"com.microsoft.azure\", name = \"azure-client-authentication\", version = \"1.2.0\")\n    implementation(\"com.microsoft.azure\", \"azure-client-authentication\", \"1.3.1\")\n    implementation(\"com.microsoft.azure:azure-client-authentication:${authVersion}\")\n    implementation(\"com.microsoft.azure:azure-client-authentication:[1.1,1.4)\")\n    implementation(\"com.microsoft.azure:azure-client-authentication:1.+\")\n}\n";
    assert_eq!(
        pinned(kts, "build.gradle.kts"),
        ["1.2.0", "1.3.1", "${authVersion}", "[1.1,1.4)"]
    );
    assert_eq!(allows(kts, "build.gradle.kts"), ["1.+"]);
    let catalog = "[versions]\nazure-auth = \"1.2.1\"\nidentity = \"1.3.0\"\n\n[libraries]\nauth = { module = \"com.microsoft.azure:azure-client-authentication\", version.ref = \"azure-auth\" }\nauth2 = { group = \"com.microsoft.azure\", name = \"azure-client-authentication\", version = \"1.1.1\" }\nauth3 = \"com.microsoft.azure:azure-client-authentication:1.3.0\"\nidentity = { module = \"com.azure:azure-identity\", version.ref = \"identity\" }\nfork = \"com.microsoft.azure:azure-client-authentication-fork:1.3.0\"\n# old = \"com.microsoft.azure:azure-client-authentication:1.2.0\"\n";
    assert_eq!(
        pinned(catalog, "gradle/libs.versions.toml"),
        ["azure-auth", "1.1.1", "1.3.0"]
    );
    let sbt = "val authVersion = \"1.3.0\"\nlibraryDependencies ++= Seq(\n  \"com.microsoft.azure\" % \"azure-client-authentication\" % \"1.1.1\",\n  \"com.microsoft.azure\" % \"azure-client-authentication\" % authVersion,\n  // \"com.microsoft.azure\" % \"azure-client-authentication\" % \"1.2.0\",\n  \"com.microsoft.azure\" % \"azure-client-authentication\" % \"1.4.0\",\n  \"com.microsoft.azure\" % \"azure-client-runtime\" % \"1.1.1\"\n)\n";
    assert_eq!(pinned(sbt, "build.sbt"), ["1.1.1", "authVersion"]);
    let lock = "# Gradle lock\ncom.microsoft.azure:azure-client-authentication:1.2.1=compileClasspath,runtimeClasspath\ncom.microsoft.azure:azure-client-runtime:1.3.0=compileClasspath\n";
    assert_eq!(pinned(lock, "gradle.lockfile"), ["1.2.1"]);
    assert!(pinned(&lock.replace("1.2.1", "1.6.0"), "gradle.lockfile").is_empty());
}

#[test]
fn ruby_manifests() {
    assert_eq!(
        pinned(
            "gem 'ms_rest_azure', '0.10.3'\ngem \"ms_rest_azure_extra\", '0.9.0'\n",
            "Gemfile"
        ),
        ["'0.10.3'"]
    );
    assert_eq!(
        pinned(
            "s.add_runtime_dependency 'ms_rest_azure', '>= 0.9.0', '< 0.10.4'\n",
            "x.gemspec"
        ),
        ["'>= 0.9.0', '< 0.10.4'"]
    );
    let loose =
        "gem 'ms_rest_azure', '~> 0.10.0'\n# gem 'ms_rest_azure', '0.9.0'\ngem 'ms_rest_azure'\n";
    assert!(pinned(loose, "Gemfile").is_empty());
    assert_eq!(allows(loose, "Gemfile"), ["'~> 0.10.0'"]);
    let lock = "GEM\n  specs:\n    azure_mgmt_compute (0.15.0)\n      ms_rest_azure (~> 0.10.0)\n    ms_rest_azure (0.10.1)\n";
    assert_eq!(pinned(lock, "Gemfile.lock"), ["0.10.1"]);
}

#[test]
fn maven_ranges() {
    use super::versions::maven_range;
    let v = |s: &str| Version::parse(s);
    let r = maven_range("[1.1,1.4)").unwrap();
    assert_eq!((r.lo, r.hi, r.hi_inclusive), (v("1.1"), v("1.4"), false));
    let r = maven_range("(,1.2]").unwrap();
    assert_eq!((r.lo, r.hi, r.hi_inclusive), (None, v("1.2"), true));
    assert_eq!(maven_range("[1.2.0]"), maven_range("1.2.0"));
    assert_eq!(maven_range("1.2.0!!"), maven_range("1.2.0"));
    let hull = maven_range("[1.0,1.2),[1.3,)").unwrap();
    assert_eq!((hull.lo, hull.hi), (v("1.0"), None));
    assert!(maven_range("[1.0,1.2").is_none());
    assert!(maven_range("[1.0,1.2)x").is_none());
    assert_eq!(maven_range("latest.release"), Some(Allowed::ANY));
}

#[test]
fn manifests_record_fixed_and_affected_dependencies() {
    let out = run(
        "github.com/Azure/go-autorest/autorest/adal v0.9.0 h1:x=\n",
        "go.sum",
        FileKind::Text,
    );
    assert!(out.diagnostics.is_empty());
    assert_eq!(
        out.dependencies,
        [Dependency {
            ecosystem: "go",
            resolved: Resolved::Fixed
        }]
    );
}

#[test]
fn calls_not_definitions_comments_or_strings() {
    let go = "// adal.NewServicePrincipalTokenFromMSI(x)\nfunc NewServicePrincipalTokenFromMSI(a string) {}\nlog(\"NewServicePrincipalTokenFromMSI(\")\nspt, err := adal.NewServicePrincipalTokenFromMSI(endpoint, resource)\n";
    let out = run(go, "main.go", FileKind::Code(Lang::Go));
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].depends_on, Some("go"));
    assert!(
        out.diagnostics[0]
            .message
            .contains("upgrade github.com/Azure/go-autorest to version 10.6.0")
    );
    let py = "class MSIAuthentication(object):\n    pass\ncreds = MSIAuthentication(resource=r)\n";
    assert_eq!(
        run(py, "a.py", FileKind::Code(Lang::Python))
            .diagnostics
            .len(),
        1
    );
    let js = "class A {\n  static async loginWithVmMSI(options) {}\n}\nconst c = new msRestAzure.MSIVmTokenCredentials({ resource });\n";
    assert_eq!(
        run(js, "a.js", FileKind::Code(Lang::JavaScript))
            .diagnostics
            .len(),
        1
    );
    // A language whose SDKs had no such credential.
    assert!(
        run("MSIAuthentication()", "a.rb", FileKind::Code(Lang::Ruby))
            .diagnostics
            .is_empty()
    );
}

#[test]
fn the_nearest_manifest_decides_a_call() {
    let fact = |dir: &str, resolved| {
        ManifestFact::new(
            0,
            &format!("{dir}go.mod"),
            Dependency {
                ecosystem: "go",
                resolved,
            },
        )
    };
    let facts = [fact("", Resolved::Affected), fact("svc/", Resolved::Fixed)];
    assert!(!call_is_affected(&facts, 0, "svc/main.go", "go"));
    assert!(call_is_affected(&facts, 0, "tool/main.go", "go"));
    assert!(
        call_is_affected(&facts, 0, "main.go", "python"),
        "nothing known: kept"
    );
    assert!(
        call_is_affected(&facts, 1, "svc/main.go", "go"),
        "another root"
    );
    let only_fixed = [fact("svc/", Resolved::Fixed)];
    assert!(!call_is_affected(&only_fixed, 0, "other/main.go", "go"));
}

#[test]
fn the_prefilter_passes_manifests_and_calls() {
    let pf = crate::prefilter::Prefilter::new(&[]);
    for s in [
        "msrestazure==0.4.20",
        "github.com/Azure/go-autorest v10.5.1+incompatible",
        "\"ms-rest-azure\": \"2.5.0\"",
        "\"@azure/ms-rest-nodeauth\": \"0.8.4\"",
        "<artifactId>azure-client-authentication</artifactId>",
        "adal.NewServicePrincipalTokenFromMSI(e, r)",
        "msRestAzure.loginWithVmMSI()",
        "new MSICredentials()",
        "gem 'ms_rest_azure', '0.9.0'",
        "MsRestAzure::MSITokenProvider.new",
        "ms-rest-azure@^2.5.0:",
        "  /@azure/ms-rest-nodeauth@0.8.4:",
        "auth = { module = \"com.microsoft.azure:azure-client-authentication\", version.ref = \"a\" }",
        "com.microsoft.azure:azure-client-authentication:1.2.1=compileClasspath",
        "github.com/Azure/go-autorest v10.5.1+incompatible => ../fork",
    ] {
        assert!(pf.matches(s.as_bytes()), "{s}");
    }
    for lib in libraries() {
        for call in &lib.calls {
            assert!(pf.matches(call.as_bytes()), "{call}");
        }
    }
}

#[test]
fn a_library_s_own_manifest_is_a_fact_not_a_finding() {
    let own = |text: &str, path: &str| {
        let out = run(text, path, FileKind::Text);
        assert!(out.diagnostics.is_empty(), "{path}");
        out.dependencies
            .into_iter()
            .map(|d| d.resolved)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        own(
            "{\n  \"name\": \"@azure/ms-rest-nodeauth\",\n  \"version\": \"3.1.1\"\n}",
            "package.json"
        ),
        [Resolved::Fixed]
    );
    assert_eq!(
        own(
            "{\"name\": \"ms-rest-azure\", \"version\": \"2.5.0\"}",
            "package.json"
        ),
        [Resolved::Affected]
    );
    assert_eq!(
        own(
            "setup(\n    name='msrestazure',\n    version='0.6.4.post1',\n)",
            "setup.py"
        ),
        [Resolved::Fixed]
    );
    assert_eq!(
        own(
            "module github.com/Azure/go-autorest/autorest/adal\n\ngo 1.15\n",
            "go.mod"
        ),
        [Resolved::Fixed]
    );
    assert!(
        own(
            "{\"name\": \"my-app\", \"version\": \"2.5.0\"}",
            "package.json"
        )
        .is_empty()
    );
}

proptest::proptest! {
    /// Every manifest reader survives any mix of its own syntax, multi-byte characters and cut
    /// lines, and reports only ranges inside the text.
    #[test]
    fn manifest_readers_never_panic(
        s in "(require|replace|exclude|\\(|\\)|=>|github\\.com/Azure/go-autorest|/autorest/adal| v10\\.1\\.0| v10\\.6\\.0|\\+incompatible|\\.\\./x|//|# |<dependency>|</dependency>|<groupId>com\\.microsoft\\.azure</groupId>|<artifactId>azure-client-authentication</artifactId>|<version>|</version>|\\$\\{a\\}|<properties>|</properties>|<a>|</a>|<!--|-->|\\[1\\.1,1\\.4\\)|\\(,1\\.2\\]|1\\.2\\.\\+|'com\\.microsoft\\.azure:azure-client-authentication:|\"|'|\\$v|val v = |version\\.ref = |\\[versions\\]|\\{|\\}|msrestazure|ms-rest-azure|@|==0\\.4\\.20|\\^2\\.3\\.0|,|:|é|\n| ){0,50}"
    ) {
        for path in [
            "go.mod", "go.sum", "vendor/modules.txt", "pom.xml", "build.gradle", "build.gradle.kts",
            "libs.versions.toml", "gradle.lockfile", "requirements.txt", "Pipfile", "package.json",
            "package-lock.json", "pnpm-lock.yaml", "yarn.lock",
        ] {
            for d in run(&s, path, FileKind::Text).diagnostics {
                proptest::prop_assert!(s.get(d.range.clone()).is_some(), "{path}: {:?}", d.range);
            }
        }
    }
}

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

#[test]
fn manifests_of_every_format() {
    assert_eq!(
        flagged(
            "requests==2.0\nmsrestazure==0.4.21  # pinned\n",
            "requirements-dev.txt"
        ),
        ["msrestazure==0.4.21"]
    );
    assert!(flagged("msrestazure>=0.4.14\n", "requirements.txt").is_empty());
    assert!(flagged("# msrestazure==0.4.21\n", "requirements.txt").is_empty());
    assert_eq!(
        flagged("install_requires=['msrestazure~=0.4.20.0']", "setup.py"),
        ["msrestazure~=0.4.20.0"]
    );
    assert_eq!(
        flagged("[packages]\nmsrestazure = \"==0.4.20\"\n", "Pipfile").len(),
        1
    );
    let table = "[tool.poetry.dependencies]\nmsrestazure = { version = \">=0.4.14,<0.4.25\", optional = true }\n";
    assert_eq!(flagged(table, "pyproject.toml").len(), 1);
    assert!(
        flagged(
            &table.replace(">=0.4.14,<0.4.25", "~0.4.20"),
            "pyproject.toml"
        )
        .is_empty(),
        "~0.4.20 allows 0.4.25"
    );
    assert!(
        flagged(
            "[tool.poetry.dependencies]\nmsrestazure = \"0.4.20\"\n",
            "pyproject.toml"
        )
        .is_empty(),
        "a bare Poetry version is ^"
    );
    assert!(flagged("[packages]\nmsrestazure = \"*\"\n", "Pipfile").is_empty());
    assert_eq!(
        flagged(
            "[project]\ndependencies = [\"msrestazure<0.4.25\"]\n",
            "pyproject.toml"
        )
        .len(),
        1
    );
    let pipfile = "{\"default\": {\"msrestazure\": {\"hashes\": [], \"version\": \"==0.4.16\"}}}";
    assert_eq!(flagged(pipfile, "Pipfile.lock").len(), 1);
    assert_eq!(
        flagged(
            "[[package]]\nname = \"msrestazure\"\nversion = \"0.4.20\"\n",
            "poetry.lock"
        ),
        ["msrestazure\"\nversion = \"0.4.20"]
    );
    assert_eq!(flagged("{\"dependencies\": {\"ms-rest-azure\": \"~2.5.0\", \"@azure/ms-rest-nodeauth\": \"0.8.4\"}}", "package.json").len(), 2);
    assert!(flagged("{\"dependencies\": {\"ms-rest-azure\": \"^2.3.0\", \"@azure/ms-rest-nodeauth\": \"^3.0.0\", \"ms-rest-azure-extra\": \"1.0.0\"}}", "package.json").is_empty());
    let lock = "{\"packages\": {\"node_modules/ms-rest-azure\": {\"version\": \"2.5.9\", \"resolved\": \"x\"}}}";
    assert_eq!(flagged(lock, "package-lock.json").len(), 1);
    assert_eq!(
        flagged(
            "module m\n\nrequire (\n\tgithub.com/Azure/go-autorest v10.5.1+incompatible\n)\n",
            "go.mod"
        ),
        ["github.com/Azure/go-autorest v10.5.1+incompatible"]
    );
    assert!(
        flagged(
            "require github.com/Azure/go-autorest v10.6.0+incompatible\n",
            "go.mod"
        )
        .is_empty()
    );
    let sum = "github.com/Azure/go-autorest v10.1.0+incompatible/go.mod h1:x=\ngithub.com/Azure/go-autorest v10.15.5+incompatible h1:y=\n";
    assert!(
        flagged(sum, "go.sum").is_empty(),
        "the greatest version decides"
    );
    let sum = "github.com/Azure/go-autorest v10.1.0+incompatible h1:x=\ngithub.com/Azure/go-autorest v10.1.0+incompatible/go.mod h1:y=\n";
    assert_eq!(flagged(sum, "go.sum").len(), 1);
    let pom = "<properties><auth.version>1.2.1</auth.version></properties>\n<dependency>\n  <groupId>com.microsoft.azure</groupId>\n  <artifactId>azure-client-authentication</artifactId>\n  <version>${auth.version}</version>\n</dependency>";
    assert_eq!(flagged(pom, "pom.xml").len(), 1);
    assert!(flagged(&pom.replace("1.2.1", "1.6.0"), "pom.xml").is_empty());
    assert_eq!(
        flagged(
            "compile 'com.microsoft.azure:azure-client-authentication:1.3.+'\n",
            "build.gradle"
        )
        .len(),
        1
    );
    assert!(
        flagged(
            "// compile 'com.microsoft.azure:azure-client-authentication:1.3.0'\n",
            "build.gradle"
        )
        .is_empty()
    );
    assert_eq!(
        flagged(
            "gem 'ms_rest_azure', '0.10.3'\ngem \"ms_rest_azure_extra\", '0.9.0'\n",
            "Gemfile"
        ),
        ["'ms_rest_azure', '0.10.3'"]
    );
    assert_eq!(
        flagged(
            "s.add_runtime_dependency 'ms_rest_azure', '>= 0.9.0', '< 0.10.4'\n",
            "x.gemspec"
        )
        .len(),
        1
    );
    assert!(flagged("gem 'ms_rest_azure', '~> 0.10.0'\n# gem 'ms_rest_azure', '0.9.0'\ngem 'ms_rest_azure'\n", "Gemfile").is_empty());
    let lock = "GEM\n  specs:\n    azure_mgmt_compute (0.15.0)\n      ms_rest_azure (~> 0.10.0)\n    ms_rest_azure (0.10.1)\n";
    assert_eq!(flagged(lock, "Gemfile.lock"), ["ms_rest_azure (0.10.1"]);
    let yarn = "ms-rest@^2.3.2:\n  version \"2.5.0\"\n\nms-rest-azure@^2.3.1, ms-rest-azure@^2.5.0:\n  version \"2.5.9\"\n  resolved \"https://registry.yarnpkg.com/x\"\n";
    assert_eq!(flagged(yarn, "yarn.lock").len(), 1);
    let berry = "\"@azure/ms-rest-nodeauth@npm:^0.8.0\":\n  version: 0.8.4\n  resolution: \"x\"\n";
    assert_eq!(flagged(berry, "yarn.lock").len(), 1);
    assert!(flagged(&yarn.replace("2.5.9", "2.6.2"), "yarn.lock").is_empty());
    let gopkg = "[[projects]]\n  digest = \"1:abc\"\n  name = \"github.com/Azure/go-autorest\"\n  packages = [\n    \"autorest\",\n    \"autorest/adal\",\n  ]\n  revision = \"abc\"\n  version = \"v10.1.0\"\n";
    assert_eq!(flagged(gopkg, "Gopkg.lock").len(), 1);
    assert!(flagged(&gopkg.replace("v10.1.0", "v11.1.2"), "Gopkg.lock").is_empty());
    // The same text in a file that is no manifest says nothing.
    assert!(flagged("msrestazure==0.4.21\n", "notes.txt").is_empty());
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

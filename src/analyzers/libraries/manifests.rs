//! IMDS041: which file is a dependency manifest, and the pins each format writes.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    Dependency, Ecosystem, Pin, alias_of, by_package, gomod, judge, jvm,
    versions::{Allowed, Version, npm_comparator, npm_range, pep440},
};

/// Which manifest a file is, from its name (`x.package.json` counts as `package.json`, as
/// `x.parameters.json` counts as a parameter file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Manifest {
    Requirements,
    PythonProject,
    PipfileLock,
    PoetryLock,
    PackageJson,
    PackageLock,
    GoMod,
    GoSum,
    GoVendor,
    Pom,
    Gradle,
    Gemfile,
    GemfileLock,
    YarnLock,
    PnpmLock,
    GopkgLock,
    /// Gradle version catalog (`gradle/libs.versions.toml`).
    GradleCatalog,
    /// Gradle dependency lock (`gradle.lockfile`, `gradle/dependency-locks/*.lockfile`).
    GradleLock,
    /// sbt build definition (`build.sbt`, `project/*.sbt`).
    Sbt,
    /// dep's constraints (`Gopkg.toml`).
    GopkgToml,
    /// godep's `Godeps/Godeps.json`.
    Godeps,
}

impl Manifest {
    /// Lock files name the installed version; a range beside one is not reported.
    pub(super) fn is_lock(self) -> bool {
        matches!(
            self,
            Manifest::PipfileLock
                | Manifest::PoetryLock
                | Manifest::PackageLock
                | Manifest::YarnLock
                | Manifest::PnpmLock
                | Manifest::GemfileLock
                | Manifest::GopkgLock
                | Manifest::GradleLock
                | Manifest::Godeps
        )
    }
}

pub(super) fn manifest_of(path: &str) -> Option<Manifest> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let is = |base: &str| {
        name.strip_suffix(base)
            .is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('.'))
    };
    Some(if is("package.json") {
        Manifest::PackageJson
    } else if is("package-lock.json") || is("npm-shrinkwrap.json") {
        Manifest::PackageLock
    } else if is("pipfile.lock") {
        Manifest::PipfileLock
    } else if is("poetry.lock") || is("uv.lock") || is("pdm.lock") {
        // The three write `[[package]]` tables with `name` then `version`.
        Manifest::PoetryLock
    } else if is("go.mod") {
        Manifest::GoMod
    } else if is("go.sum") {
        Manifest::GoSum
    } else if path.ends_with("vendor/modules.txt") || name == "modules.txt" {
        Manifest::GoVendor
    } else if is("pom.xml") {
        Manifest::Pom
    } else if name.ends_with(".gradle") || name.ends_with(".gradle.kts") {
        Manifest::Gradle
    } else if is("yarn.lock") {
        Manifest::YarnLock
    } else if is("pnpm-lock.yaml") {
        Manifest::PnpmLock
    } else if name.ends_with(".versions.toml") {
        Manifest::GradleCatalog
    } else if name.ends_with(".lockfile") {
        Manifest::GradleLock
    } else if is("gopkg.lock") {
        Manifest::GopkgLock
    } else if is("gemfile.lock") {
        Manifest::GemfileLock
    } else if is("gemfile") || name.ends_with(".gemspec") {
        Manifest::Gemfile
    } else if (name.contains("requirements")
        || name.contains("constraints")
        || path.contains("requirements/"))
        && (name.ends_with(".txt") || name.ends_with(".in"))
        || is("environment.yml")
        || is("environment.yaml")
    {
        // pip requirement and constraint files, and conda environments (their `pip:` list).
        Manifest::Requirements
    } else if name.ends_with(".sbt") {
        Manifest::Sbt
    } else if is("gopkg.toml") {
        Manifest::GopkgToml
    } else if is("godeps.json") {
        Manifest::Godeps
    } else if is("setup.py") || is("setup.cfg") || is("pyproject.toml") || is("pipfile") {
        Manifest::PythonProject
    } else {
        return None;
    })
}

/// The library's own manifest (its repository, a fork, a vendored copy): its code calls the
/// credential at the version it declares. Recorded for IMDS042, never reported.
pub(super) fn own_package(text: &str, manifest: Manifest) -> Option<Dependency> {
    static NPM_NAME: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#""name"\s*:\s*"([^"]*)""#).expect("valid regex")
    });
    static NPM_VERSION: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#""version"\s*:\s*"([^"]*)""#).expect("valid regex")
    });
    static PY_NAME: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"\bname\s*=\s*["']([A-Za-z0-9_.-]+)["']"#)
            .expect("valid regex")
    });
    static PY_VERSION: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"\bversion\s*=\s*["']([0-9][^"']*)["']"#)
            .expect("valid regex")
    });
    static GO_MODULE: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?m)^module[ \t]+(\S+)[ \t]*\r?$")
            .expect("valid regex")
    });
    let first = |re: &Regex| re.captures(text).map(|c| c.get(1).unwrap().as_str());
    let (lib, allowed) = match manifest {
        Manifest::PackageJson => {
            let lib = by_package(Ecosystem::Npm, first(&NPM_NAME)?)?;
            (lib, Allowed::exact(Version::parse(first(&NPM_VERSION)?)?))
        }
        Manifest::PythonProject => {
            let lib = by_package(Ecosystem::Python, first(&PY_NAME)?)?;
            (lib, Allowed::exact(Version::parse(first(&PY_VERSION)?)?))
        }
        Manifest::GoMod => {
            // Only the separate adal module declares itself; every version of it is fixed.
            let lib = alias_of(Ecosystem::Go, first(&GO_MODULE)?)?;
            (
                lib,
                Allowed {
                    lo: lib.fixed_version(),
                    ..Allowed::ANY
                },
            )
        }
        _ => return None,
    };
    Some(Dependency {
        ecosystem: lib.ecosystem.name(),
        resolved: judge(lib, allowed)?,
    })
}

pub(super) fn manifest_pins(text: &str, manifest: Manifest, pins: &mut Vec<Pin>) {
    match manifest {
        Manifest::Requirements => python_specs(text, pins),
        Manifest::PythonProject => {
            python_specs(text, pins);
            python_keys(text, pins);
        }
        Manifest::PipfileLock => locked(text, Ecosystem::Python, &PIPFILE_LOCK, pins),
        Manifest::PoetryLock => locked(text, Ecosystem::Python, &POETRY, pins),
        Manifest::PackageJson => npm_specs(text, pins),
        Manifest::PackageLock => locked(text, Ecosystem::Npm, &PACKAGE_LOCK, pins),
        Manifest::GoMod => gomod::go_mod(text, pins),
        Manifest::GoSum | Manifest::GoVendor => gomod::go_sum(text, pins),
        Manifest::Pom => jvm::pom(text, pins),
        Manifest::Gradle => jvm::gradle(text, pins),
        Manifest::GradleCatalog => jvm::catalog(text, pins),
        Manifest::GradleLock => locked(text, Ecosystem::Maven, &jvm::GRADLE_LOCK, pins),
        Manifest::PnpmLock => locked(text, Ecosystem::Npm, &PNPM_LOCK, pins),
        Manifest::Gemfile => gem_specs(text, pins),
        Manifest::GemfileLock => locked(text, Ecosystem::Ruby, &GEM_LOCK, pins),
        Manifest::YarnLock => locked(text, Ecosystem::Npm, &YARN_LOCK, pins),
        Manifest::GopkgLock => locked(text, Ecosystem::Go, &gomod::GOPKG_LOCK, pins),
        Manifest::GopkgToml => gomod::gopkg_toml(text, pins),
        Manifest::Godeps => locked(text, Ecosystem::Go, &gomod::GODEPS, pins),
        Manifest::Sbt => jvm::sbt(text, pins),
    }
}

/// `msrestazure==0.4.20`, `msrestazure>=0.4.14,<0.4.25`, `"msrestazure~=0.4.20"` in setup.py,
/// `msrestazure[adal] (<0.4.25) ; python_version < "3"`...
static PY_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?mi)(?:^|["'\s])(msrestazure)\s*(?:\[[^\]\n]*\])?\s*\(?\s*((?:(?:===?|~=|!=|>=|<=|>|<)\s*[0-9A-Za-z.*+-]+\s*,?\s*)+)"#)
        .expect("valid regex")
});

fn python_specs(text: &str, pins: &mut Vec<Pin>) {
    for c in PY_SPEC.captures_iter(text) {
        let (name, spec) = (c.get(1).unwrap(), c.get(2).unwrap());
        if is_comment_line(text, name.start(), "#") {
            continue;
        }
        let Some(lib) = by_package(Ecosystem::Python, name.as_str()) else {
            continue;
        };
        if let Some(allowed) = pep440(spec.as_str()) {
            pins.push(Pin {
                lib,
                range: spec.start()
                    ..spec.start()
                        + spec
                            .as_str()
                            .trim_end()
                            .trim_end_matches(',')
                            .trim_end()
                            .len(),
                allowed,
                note: None,
            });
        }
    }
}

/// Pipfile and Poetry tables: `msrestazure = "==0.4.20"`, `msrestazure = { version = "^0.4" }`.
static PY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?m)^[ \t]*"?(msrestazure)"?[ \t]*=[ \t]*(?:\{[^}\n]*?\bversion[ \t]*=[ \t]*)?"([^"\n]*)""#)
        .expect("valid regex")
});

fn python_keys(text: &str, pins: &mut Vec<Pin>) {
    for c in PY_KEY.captures_iter(text) {
        let (name, spec) = (c.get(1).unwrap(), c.get(2).unwrap());
        let Some(lib) = by_package(Ecosystem::Python, name.as_str()) else {
            continue;
        };
        let raw = spec;
        let spec = spec.as_str().trim();
        // Poetry reads a bare version as `^` and has npm's `~`; Pipfile uses PEP 440 (`*` = any).
        let allowed = if spec == "*" {
            Some(Allowed::ANY)
        } else if spec.starts_with(|c: char| c.is_ascii_digit()) {
            npm_comparator(&format!("^{spec}"))
        } else if spec.starts_with('^') || (spec.starts_with('~') && !spec.starts_with("~=")) {
            npm_comparator(spec)
        } else {
            pep440(spec)
        };
        if let Some(allowed) = allowed {
            pins.push(Pin {
                lib,
                range: raw.range(),
                allowed,
                note: None,
            });
        }
    }
}

/// `"ms-rest-azure": "~2.5.0"` (dependencies of any section).
static NPM_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r#""((?:@azure/)?ms-rest-(?:azure|nodeauth))"\s*:\s*"([^"\n]*)""#,
    )
    .expect("valid regex")
});

fn npm_specs(text: &str, pins: &mut Vec<Pin>) {
    for c in NPM_SPEC.captures_iter(text) {
        let (name, spec) = (c.get(1).unwrap(), c.get(2).unwrap());
        let Some(lib) = by_package(Ecosystem::Npm, name.as_str()) else {
            continue;
        };
        let Some(mut allowed) = npm_range(spec.as_str()) else {
            continue;
        };
        if in_peer_dependencies(&text[..name.start()]) {
            // A peer range states what a library works with; the application's own manifest
            // or lock chooses the version, so its lower bound is no "allows" finding here.
            allowed.lo = None;
        }
        pins.push(Pin {
            lib,
            range: spec.range(),
            allowed,
            note: None,
        });
    }
}

/// Whether the last dependency section opened before this point is `peerDependencies`.
fn in_peer_dependencies(before: &str) -> bool {
    static SECTION: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#""(\w+)"\s*:\s*\{"#).expect("valid regex")
    });
    SECTION
        .captures_iter(before)
        .filter_map(|c| c.get(1))
        .filter(|m| {
            m.as_str().ends_with("ependencies")
                || m.as_str() == "overrides"
                || m.as_str() == "resolutions"
        })
        .last()
        .is_some_and(|m| m.as_str() == "peerDependencies")
}

/// Lock files: a package's entry and the `"version"` inside it.
static PACKAGE_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#""(?:[^"\n]*node_modules/)?((?:@azure/)?ms-rest-(?:azure|nodeauth))"\s*:\s*\{[^{}]*?"version"\s*:\s*"([^"\n]*)""#)
        .expect("valid regex")
});
static PIPFILE_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r#""(msrestazure)"\s*:\s*\{[^{}]*?"version"\s*:\s*"==([^"\n]*)""#,
    )
    .expect("valid regex")
});

/// yarn.lock (classic and berry): the entry's header names the package, the next lines its
/// `version`.
static YARN_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?m)^"?((?:@azure/)?ms-rest-(?:azure|nodeauth))@[^\n]*:\r?\n(?:[ \t]+[^\n]*\n)*?[ \t]+version:?[ \t]+"?([0-9][^"\s]*)"?"#)
        .expect("valid regex")
});
/// Lock entries whose name and version are the regex's two groups, reported at the version.
fn locked(text: &str, eco: Ecosystem, re: &Regex, pins: &mut Vec<Pin>) {
    for c in re.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let (Some(lib), Some(v)) = (by_package(eco, name.as_str()), Version::parse(ver.as_str()))
        else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: ver.range(),
            allowed: Allowed::exact(v),
            note: None,
        });
    }
}

/// pnpm-lock.yaml package keys: `/ms-rest-azure/2.5.9:` (v5), `/ms-rest-azure@2.5.9:` (v6),
/// `ms-rest-azure@2.5.9:` and `'@azure/ms-rest-nodeauth@0.8.4':` (v9, in `packages` and
/// `snapshots`).
static PNPM_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r#"(?m)^[ \t]+['"]?/?((?:@azure/)?ms-rest-(?:azure|nodeauth))[@/]([0-9][^:'"(_\s]*)"#,
    )
    .expect("valid regex")
});

/// poetry.lock: `[[package]]` tables with `name` then `version`.
static POETRY: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r#"(?m)^name\s*=\s*"(msrestazure)"\s*\r?\nversion\s*=\s*"([^"\n]*)""#,
    )
    .expect("valid regex")
});

/// `gem 'ms_rest_azure', '~> 0.10.0'` (Gemfile) and `add_dependency 'ms_rest_azure', '0.9.0'` (gemspec).
static GEM_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?m)(?:\bgem|add_(?:runtime_|development_)?dependency)\s*\(?\s*["'](ms_rest_azure)["']((?:\s*,\s*["'][^"'\n]*["'])*)"#)
        .expect("valid regex")
});

fn gem_specs(text: &str, pins: &mut Vec<Pin>) {
    for c in GEM_SPEC.captures_iter(text) {
        let (name, reqs) = (c.get(1).unwrap(), c.get(2).unwrap());
        if is_comment_line(text, name.start(), "#") {
            continue;
        }
        let Some(lib) = by_package(Ecosystem::Ruby, name.as_str()) else {
            continue;
        };
        // RubyGems requirements read as PEP 440 once `~>` is `~=` and a bare version is `==`.
        let spec: Vec<String> = reqs
            .as_str()
            .split(',')
            .map(|r| r.trim().trim_matches(['"', '\'']).trim())
            .filter(|r| !r.is_empty())
            .map(|r| match r.strip_prefix("~>") {
                Some(v) => format!("~={}", v.trim()),
                None if r.starts_with(|c: char| c.is_ascii_digit()) => format!("=={r}"),
                None => r
                    .strip_prefix('=')
                    .filter(|v| !v.starts_with('='))
                    .map_or_else(|| r.to_owned(), |v| format!("=={}", v.trim())),
            })
            .collect();
        let first_quote = reqs.as_str().find(['"', '\'']).unwrap_or(0);
        if let Some(allowed) = pep440(&spec.join(",")) {
            pins.push(Pin {
                lib,
                range: reqs.start() + first_quote..reqs.end(),
                allowed,
                note: None,
            });
        }
    }
}

/// Gemfile.lock `specs:` entries: `    ms_rest_azure (0.10.3)`; requirement lines of other gems
/// (`(~> 0.10)`) carry an operator and are not locks.
static GEM_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?m)^[ \t]+(ms_rest_azure) \(([0-9][0-9.]*)\)")
        .expect("valid regex")
});

pub(super) fn is_comment_line(text: &str, pos: usize, marker: &str) -> bool {
    let line_start = text[..pos].rfind('\n').map_or(0, |p| p + 1);
    text[line_start..pos].trim_start().starts_with(marker)
}

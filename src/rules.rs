//! The rule catalogue: the `rules/*.toml` files embedded at build time, validated once, and
//! rule selection (`--select`/`--ignore`).

use std::{collections::BTreeMap, fmt, sync::OnceLock};

use serde::{Deserialize, Serialize};

use crate::finding::{Applicability, Severity};

include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));

/// File kinds a rule may name in `file_kinds`.
pub const FILE_KINDS: &[&str] = &[
    "arm",
    "arm-parameters",
    "powershell",
    "shell",
    "terraform",
    "bicep",
    "yaml",
    "markdown",
    "code",
    // Dependency manifests and lock files, recognised by name (`requirements*.txt`, `go.mod`...).
    "manifest",
    "any",
];

/// The shape of a rule file, as written. Kept apart from [`Rule`], which is validated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    name: String,
    title: String,
    severity: Severity,
    file_kinds: Vec<String>,
    fix: FixKind,
    summary: String,
    explanation: String,
}

/// Which fix a rule offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixKind {
    Safe,
    Unsafe,
    None,
}

impl FixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::Safe => "safe",
            FixKind::Unsafe => "unsafe",
            FixKind::None => "none",
        }
    }

    pub fn applicability(self) -> Option<Applicability> {
        match self {
            FixKind::Safe => Some(Applicability::Safe),
            FixKind::Unsafe => Some(Applicability::Unsafe),
            FixKind::None => None,
        }
    }
}

/// A validated rule.
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub file_kinds: Vec<String>,
    pub fix: FixKind,
    pub summary: String,
    pub explanation: String,
}

#[derive(Debug)]
pub struct Catalogue {
    rules: BTreeMap<String, Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

impl Catalogue {
    /// Parses and validates rule files given as `(file name, contents)`.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, RuleError> {
        let mut rules = BTreeMap::new();
        for (file, text) in files {
            let raw: RuleFile = toml::from_str(text)
                .map_err(|e| RuleError(format!("rules/{file}: {}", e.message())))?;
            let rule = validate(file, raw)?;
            if rules.insert(rule.id.clone(), rule).is_some() {
                return Err(RuleError(format!("rules/{file}: duplicate rule id")));
            }
        }
        Ok(Catalogue { rules })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    /// Finds a rule by id (any case) or by name.
    pub fn lookup(&self, key: &str) -> Option<&Rule> {
        self.rules
            .values()
            .find(|r| r.id.eq_ignore_ascii_case(key) || r.name == key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    pub fn severity(&self, id: &str) -> Severity {
        self.get(id).map_or(Severity::Error, |r| r.severity)
    }
}

fn validate(file: &str, raw: RuleFile) -> Result<Rule, RuleError> {
    let err = |field: &str, why: String| Err(RuleError(format!("rules/{file}: `{field}`: {why}")));
    let stem = file.trim_end_matches(".toml");
    if raw.id != stem {
        return err(
            "id",
            format!("`{}` must match the file name `{stem}`", raw.id),
        );
    }
    let well_formed = raw.id.len() == 7
        && raw.id.starts_with("IMDS")
        && raw.id[4..].bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return err(
            "id",
            format!("`{}` must be IMDS followed by three digits", raw.id),
        );
    }
    if raw.name.is_empty()
        || !raw
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return err(
            "name",
            format!("`{}` must be kebab-case (a-z, 0-9, -)", raw.name),
        );
    }
    for kind in &raw.file_kinds {
        if !FILE_KINDS.contains(&kind.as_str()) {
            return err(
                "file_kinds",
                format!("unknown kind `{kind}`; known: {}", FILE_KINDS.join(", ")),
            );
        }
    }
    if raw.file_kinds.is_empty() {
        return err("file_kinds", "must name at least one kind".into());
    }
    for (field, value) in [
        ("title", &raw.title),
        ("summary", &raw.summary),
        ("explanation", &raw.explanation),
    ] {
        if value.trim().is_empty() {
            return err(field, "must not be empty".into());
        }
    }
    Ok(Rule {
        id: raw.id,
        name: raw.name,
        title: raw.title,
        severity: raw.severity,
        file_kinds: raw.file_kinds,
        fix: raw.fix,
        summary: raw.summary,
        explanation: raw.explanation.trim().to_owned(),
    })
}

/// The embedded catalogue. Its validity is checked by a unit test, so this cannot fail in a
/// released binary.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::from_files(RULE_FILES).expect("embedded rules are validated by tests")
    })
}

/// Which rules are on: `select` (empty = all) minus `ignore`. Entries may be ids, id prefixes
/// (`IMDS03`) or names.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    /// Checks that every entry names at least one rule.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), RuleError> {
        for entry in self.select.iter().chain(&self.ignore) {
            if !catalogue.iter().any(|r| matches(entry, r)) {
                return Err(RuleError(format!(
                    "unknown rule `{entry}` (see `imds-migrate rules`)"
                )));
            }
        }
        Ok(())
    }

    pub fn enabled(&self, rule: &Rule) -> bool {
        (self.select.is_empty() || self.select.iter().any(|s| matches(s, rule)))
            && !self.ignore.iter().any(|s| matches(s, rule))
    }

    pub fn enabled_id(&self, id: &str) -> bool {
        catalogue().get(id).is_some_and(|r| self.enabled(r))
    }
}

fn matches(entry: &str, rule: &Rule) -> bool {
    entry == "ALL"
        || rule
            .id
            .get(..entry.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(entry))
        || rule.name == entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_is_valid() {
        let c = Catalogue::from_files(RULE_FILES).unwrap();
        assert!(c.get("IMDS001").is_some());
        assert!(c.iter().count() >= 10);
    }

    #[test]
    fn rule_errors_name_file_and_field() {
        let bad = "id = \"IMDS001\"\nname = \"x\"\ntitle = \"t\"\nseverity = \"error\"\nfile_kinds = [\"nope\"]\nfix = \"safe\"\nsummary = \"s\"\nexplanation = \"e\"\n";
        let e = Catalogue::from_files(&[("IMDS001.toml", bad)]).unwrap_err();
        assert!(
            e.0.contains("rules/IMDS001.toml: `file_kinds`: unknown kind `nope`"),
            "{e}"
        );
        let unknown = format!("{bad}\ncolour = 1\n");
        let e = Catalogue::from_files(&[("IMDS001.toml", &unknown)]).unwrap_err();
        assert!(e.0.contains("colour"), "{e}");
    }

    #[test]
    fn selection_by_prefix_and_name() {
        let c = catalogue();
        let sel = Selection {
            select: vec!["IMDS03".into()],
            ignore: vec!["token-endpoint-post".into()],
        };
        sel.validate(c).unwrap();
        assert!(sel.enabled(c.get("IMDS030").unwrap()));
        assert!(!sel.enabled(c.get("IMDS031").unwrap()));
        assert!(!sel.enabled(c.get("IMDS001").unwrap()));
        let bad = Selection {
            select: vec!["IMDS999".into()],
            ignore: vec![],
        };
        assert!(bad.validate(c).is_err());
    }
}

//! What a manager reads first: where the scan ran (repository, branch, commit, date, tool
//! version), a paragraph that says what was found and what is left for people, paths relative
//! to the repository, and the directory level at which the findings split.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use super::{escape, escape_inline};
use crate::{
    report::{FixCounts, display_path, repo::Repo, thousands},
    rules::catalogue,
    scan::ScanResult,
};

/// Where the report's scan ran.
pub struct Context {
    pub repo: Option<Repo>,
    /// Seconds since the Unix epoch; `None` leaves the date out (tests, reproducible builds
    /// set `SOURCE_DATE_EPOCH` instead).
    pub generated_at: Option<u64>,
}

impl Context {
    pub fn new(result: &ScanResult, generated_at: Option<u64>) -> Self {
        Context {
            repo: result.roots.first().and_then(|r| Repo::discover(r)),
            generated_at,
        }
    }

    /// A finding's path for the report: relative to the repository when the root is inside
    /// it, else as shown on the command line; a root elsewhere shows by its own name, never by
    /// a temporary directory's absolute path.
    pub fn path(&self, result: &ScanResult, root: usize, rel: &str) -> String {
        let root_path = &result.roots[root];
        if let Some(prefix) = self.repo.as_ref().and_then(|r| {
            let dir = if root_path.is_file() {
                root_path.parent().filter(|p| !p.as_os_str().is_empty())?
            } else {
                root_path.as_path()
            };
            r.prefix_of(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        }) {
            return if root_path.is_file() {
                let name = root_path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                format!("{prefix}{name}")
            } else {
                format!("{prefix}{rel}")
            };
        }
        let shown = display_path(result, root, rel);
        if Path::new(&shown).is_absolute() {
            let name = root_path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if root_path.is_file() {
                return name;
            }
            return format!("{name}/{rel}");
        }
        shown
    }
}

/// `2026-11-28 03:56 UTC` from Unix seconds.
pub fn utc(secs: u64) -> String {
    let c = crate::civil::Civil::from_unix(i64::try_from(secs).unwrap_or(i64::MAX / 2));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// The report's header lines: repository, branch, commit, date, tool.
pub fn meta(h: &mut String, result: &ScanResult, ctx: &Context) {
    h.push_str("<dl class=\"meta\" id=\"meta\">\n");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(h, "<div><dt>{key}</dt><dd>{value}</dd></div>");
    };
    match &ctx.repo {
        Some(repo) => {
            row("Repository", format!("<code>{}</code>", escape(&repo.name)));
            row(
                "Branch",
                repo.branch.as_deref().map_or_else(
                    || "(detached HEAD)".to_owned(),
                    |b| format!("<code>{}</code>", escape(b)),
                ),
            );
            row(
                "Commit",
                repo.commit.as_deref().map_or_else(
                    || "(no commit yet)".to_owned(),
                    |c| {
                        format!(
                            "<code title=\"{}\">{}</code>",
                            escape(c),
                            escape(&c[..12.min(c.len())])
                        )
                    },
                ),
            );
        }
        None => row("Repository", "(not a git repository)".to_owned()),
    }
    if let Some(secs) = ctx.generated_at {
        row("Scanned", utc(secs));
    }
    row(
        "Tool",
        format!("imds-migrate {}", env!("CARGO_PKG_VERSION")),
    );
    let roots: Vec<String> = (0..result.roots.len())
        .map(|i| {
            let shown = ctx.path(result, i, "");
            let shown = shown.trim_end_matches('/');
            format!(
                "<code>{}</code>",
                escape(if shown.is_empty() { "." } else { shown })
            )
        })
        .collect();
    row(
        if roots.len() == 1 {
            "Scanned path"
        } else {
            "Scanned paths"
        },
        roots.join(", "),
    );
    h.push_str("</dl>\n");
}

/// "37 usages in 12 files; 30 fixed automatically…; 7 need a person: …".
pub fn executive_summary(h: &mut String, result: &ScanResult) {
    let n = result.findings.len();
    let files: std::collections::BTreeSet<(usize, &str)> = result
        .findings
        .iter()
        .map(|f| (f.root, f.path.as_str()))
        .collect();
    let c = FixCounts::of(&result.findings);
    let mut p = String::new();
    if n == 0 {
        let _ = write!(
            p,
            "No use of the retired Managed Identity VM extension was found in {} scanned files.",
            thousands(result.summary.files_scanned)
        );
    } else {
        let _ = write!(
            p,
            "<strong>{} {}</strong> of the retired Managed Identity VM extension in <strong>{} {}</strong> (of {} scanned). ",
            thousands(n),
            if n == 1 { "usage" } else { "usages" },
            thousands(files.len()),
            if files.len() == 1 { "file" } else { "files" },
            thousands(result.summary.files_scanned),
        );
        let auto = c.fixable + c.unsafe_fixable;
        if auto > 0 {
            let _ = write!(
                p,
                "<strong>{}</strong> can be fixed automatically: {} by <code>imds-migrate fix</code>",
                thousands(auto),
                thousands(c.fixable)
            );
            if c.unsafe_fixable > 0 {
                let _ = write!(
                    p,
                    ", {} more with <code>--unsafe-fixes</code> after review",
                    thousands(c.unsafe_fixable)
                );
            }
            p.push_str(". ");
        }
        if c.manual > 0 {
            let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
            for f in result.findings.iter().filter(|f| f.fix.is_none()) {
                *by_rule.entry(f.rule_id.as_str()).or_default() += 1;
            }
            let mut rows: Vec<(&str, usize)> = by_rule.into_iter().collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = rows
                .iter()
                .map(|(id, k)| {
                    let title = catalogue()
                        .get(id)
                        .map_or_else(String::new, |r| format!(" ({})", escape_inline(&r.title)));
                    format!("{} × <code>{}</code>{title}", thousands(*k), escape(id))
                })
                .collect();
            let _ = write!(
                p,
                "<strong>{}</strong> {} a person: {}.",
                thousands(c.manual),
                if c.manual == 1 { "needs" } else { "need" },
                parts.join("; ")
            );
        } else {
            p.push_str("Nothing needs a person.");
        }
    }
    if !result.errors.is_empty() {
        let _ = write!(
            p,
            " {} could not be scanned and may hide more (listed at the end).",
            if result.errors.len() == 1 {
                "1 file".to_owned()
            } else {
                format!("{} files", thousands(result.errors.len()))
            }
        );
    }
    if !result.notes.is_empty() {
        let _ = write!(
            p,
            " {} searched as text only; {} findings are counted above (listed at the end).",
            if result.notes.len() == 1 {
                "1 file was".to_owned()
            } else {
                format!("{} files were", thousands(result.notes.len()))
            },
            if result.notes.len() == 1 {
                "its"
            } else {
                "their"
            }
        );
    }
    let _ = writeln!(h, "<p class=\"summary\" id=\"executive-summary\">{p}</p>");
}

/// The directory each path is counted under in the "by directory" chart: the first level
/// below the directories every path shares, so the chart splits the findings instead of
/// showing one bar. Paths are `/`-separated; a file at that level counts under its own name.
pub fn split_level(paths: &[String]) -> Vec<String> {
    let dirs: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            let mut parts: Vec<&str> = p.split('/').collect();
            parts.pop();
            parts
        })
        .collect();
    let mut common = dirs.first().map_or(0, Vec::len);
    for d in &dirs {
        common = common.min(d.len());
        while common > 0 && d[..common] != dirs[0][..common] {
            common -= 1;
        }
    }
    paths
        .iter()
        .zip(&dirs)
        .map(|(p, d)| {
            if d.len() > common {
                format!("{}/", d[..=common].join("/"))
            } else {
                p.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_795_837_560), "2026-11-28 03:46 UTC");
    }

    #[test]
    fn directories_split_below_the_common_prefix() {
        let p = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            split_level(&p(&["infra/a/x.json", "infra/b/y.json", "infra/b/z.json"])),
            p(&["infra/a/", "infra/b/", "infra/b/"])
        );
        assert_eq!(
            split_level(&p(&[
                "src/app/x.py",
                "src/app/y.py",
                "src/lib/z.py",
                "src/top.py"
            ])),
            p(&["src/app/", "src/app/", "src/lib/", "src/top.py"])
        );
        assert_eq!(split_level(&p(&["a.py", "b/c.py"])), p(&["a.py", "b/"]));
    }
}

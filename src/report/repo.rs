//! The git repository a scan ran in: its top directory, name, commit and branch, read from
//! `.git` directly (no `git` needed; anything unreadable just leaves the field empty).

use std::{
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repo {
    /// The work tree's top directory.
    pub top: PathBuf,
    /// The top directory's name.
    pub name: String,
    /// The full commit id `HEAD` points to.
    pub commit: Option<String>,
    /// The checked-out branch; `None` when `HEAD` is detached.
    pub branch: Option<String>,
}

impl Repo {
    /// The repository containing `start` (a file or directory), if any.
    pub fn discover(start: &Path) -> Option<Repo> {
        let start = fs::canonicalize(start).ok()?;
        let top = start.ancestors().find(|d| d.join(".git").exists())?;
        let git_dir = git_dir(&top.join(".git"))?;
        let head = fs::read_to_string(git_dir.join("HEAD")).ok();
        let head = head.as_deref().map(str::trim);
        let (branch, commit) = match head {
            Some(h) if h.starts_with("ref: ") => {
                let reference = &h[5..];
                let branch = reference.strip_prefix("refs/heads/").map(str::to_owned);
                (branch, resolve(&git_dir, reference))
            }
            Some(h) if is_object_id(h) => (None, Some(h.to_owned())),
            _ => (None, None),
        };
        Some(Repo {
            name: top
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            top: top.to_path_buf(),
            commit,
            branch,
        })
    }

    /// `dir` relative to the top, as a `/`-terminated prefix (empty at the top); `None` when
    /// `dir` is not inside the work tree.
    pub fn prefix_of(&self, dir: &Path) -> Option<String> {
        let dir = fs::canonicalize(dir).ok()?;
        let rel = dir.strip_prefix(&self.top).ok()?;
        let mut prefix = String::new();
        for part in rel.components() {
            prefix.push_str(&part.as_os_str().to_string_lossy());
            prefix.push('/');
        }
        Some(prefix)
    }
}

/// The working directory's place in its repository (`sub/dir/`), empty at the top or outside
/// any repository. `git apply` reads `diff --git` paths from the top, wherever it runs, so a diff
/// meant to be applied from here carries this prefix.
pub fn cwd_prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let Ok(cwd) = std::env::current_dir() else {
            return String::new();
        };
        Repo::discover(&cwd)
            .and_then(|r| r.prefix_of(&cwd))
            .unwrap_or_default()
    })
}

/// `.git` is a directory, or (worktrees, submodules) a file saying `gitdir: <path>`.
fn git_dir(dot_git: &Path) -> Option<PathBuf> {
    if dot_git.is_dir() {
        return Some(dot_git.to_path_buf());
    }
    let text = fs::read_to_string(dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let path = Path::new(target);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        dot_git.parent()?.join(path)
    })
}

/// A reference's commit: a loose ref file, or a line of `packed-refs`. A worktree keeps its
/// branches in the main repository's directory, named in `commondir`.
fn resolve(git_dir: &Path, reference: &str) -> Option<String> {
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()));
    for dir in std::iter::once(git_dir.to_path_buf()).chain(common) {
        if let Ok(id) = fs::read_to_string(dir.join(reference)) {
            let id = id.trim();
            if is_object_id(id) {
                return Some(id.to_owned());
            }
        }
        if let Ok(packed) = fs::read_to_string(dir.join("packed-refs")) {
            for line in packed.lines() {
                if let Some((id, name)) = line.split_once(' ')
                    && name == reference
                    && is_object_id(id)
                {
                    return Some(id.to_owned());
                }
            }
        }
    }
    None
}

/// SHA-1 (40) or SHA-256 (64) hex.
fn is_object_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_branch_and_commit_from_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join("proj/.git");
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::create_dir_all(dir.path().join("proj/src")).unwrap();
        let id = "0123456789abcdef0123456789abcdef01234567";
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(
            git.join("packed-refs"),
            format!("# pack-refs\n{id} refs/heads/main\n"),
        )
        .unwrap();
        let repo = Repo::discover(&dir.path().join("proj/src")).unwrap();
        assert_eq!(repo.name, "proj");
        assert_eq!(repo.branch.as_deref(), Some("main"));
        assert_eq!(repo.commit.as_deref(), Some(id));
        assert_eq!(
            repo.prefix_of(&dir.path().join("proj/src")).unwrap(),
            "src/"
        );
        assert_eq!(repo.prefix_of(&dir.path().join("proj")).unwrap(), "");
        let loose = "89abcdef0123456789abcdef0123456789abcdef";
        fs::write(git.join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(Repo::discover(&git).unwrap().commit.as_deref(), Some(loose));
        fs::write(git.join("HEAD"), format!("{id}\n")).unwrap();
        let detached = Repo::discover(dir.path().join("proj").as_path()).unwrap();
        assert_eq!(
            (detached.branch, detached.commit.as_deref()),
            (None, Some(id))
        );
    }

    #[test]
    fn no_repository_is_none() {
        let dir = tempfile::tempdir().unwrap();
        // A temporary directory may itself sit inside a repository on a developer's machine.
        if let Some(r) = Repo::discover(dir.path()) {
            assert!(!r.top.starts_with(dir.path()));
        }
    }
}

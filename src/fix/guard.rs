//! What `fix` checks around writing a file: a root that is a symbolic link, and a file that
//! changed on disk since it was analyzed (analyzed again rather than overwritten).

use std::path::{Path, PathBuf};

use super::{FileChange, writer};

/// A root named on the command line that is a symbolic link: its target is fixed (the link stays
/// a link) when the target lies inside the current directory's tree; anywhere else it is refused,
/// since a link in a repository must not make `fix` write outside it.
pub fn resolve_link_root(root: &Path) -> Result<Option<PathBuf>, String> {
    if !std::fs::symlink_metadata(root).is_ok_and(|m| m.file_type().is_symlink()) {
        return Ok(None);
    }
    let refuse = |why: &str| format!("{}: symbolic link {why}; not fixed", root.display());
    let target = std::fs::canonicalize(root).map_err(|e| refuse(&format!("({e})")))?;
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(|e| refuse(&format!("(current directory: {e})")))?;
    match target.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => Ok(Some(rel.to_path_buf())),
        _ => Err(refuse(&format!(
            "to {}, outside the current directory",
            target.display()
        ))),
    }
}

/// How often a file that keeps changing under us is analyzed again before we give up on it.
const REPLANS: usize = 3;

/// Writes `change`. A file changed since it was analyzed (another run fixed it, someone edited
/// it) is analyzed again from what is on disk now with `replan`, and `change` becomes that plan.
/// `Ok(false)`: nothing left to write. The file's directory is synced through `dir_syncs`.
pub fn write(
    change: &mut FileChange,
    force: bool,
    dir_syncs: &writer::DirSyncs,
    mut replan: impl FnMut() -> Result<FileChange, String>,
) -> Result<bool, String> {
    for _ in 0..=REPLANS {
        if change.updated == change.original {
            return Ok(false);
        }
        match writer::replace(
            &change.target,
            change.id,
            &change.original,
            &change.updated,
            writer::ReplaceOptions {
                force,
                dir_syncs: Some(dir_syncs),
            },
        ) {
            Ok(()) => return Ok(true),
            Err(writer::ReplaceError::Changed) => *change = replan()?,
            Err(writer::ReplaceError::Refused(why)) => return Err(why),
            Err(writer::ReplaceError::Io(e)) => return Err(format!("cannot write: {e}")),
        }
    }
    Err("changed on disk while being fixed, again and again; not overwritten".into())
}

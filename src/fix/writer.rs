//! The only code that writes files: every write goes to a temporary file in the target's own
//! directory and is renamed over the target, so a reader (or a crash) sees the old content or the
//! new, never a mix.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use crate::error::{Error, Result};

/// Temporary files of ours start with this, so a later run can recognise and remove leftovers of
/// a run that was killed.
pub const TEMP_PREFIX: &str = ".imds-migrate-tmp-";

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_temp(
    dir: &Path,
    bytes: &[u8],
    like: Option<&fs::Metadata>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Some(meta) = like {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Writes a new file (a report), replacing any old one atomically.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let tmp = write_temp(&dir, bytes, None).map_err(|e| Error::io("write", path, &e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("write", path, &e.error))?;
    Ok(())
}

/// Why a file was not replaced.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplaceError {
    /// The file on disk is no longer what we read: someone else changed it.
    Changed,
    Io(String),
}

/// Replaces `path`, whose content we read as `expected`, with `bytes`, keeping its permissions.
/// Refuses when the file changed on disk since it was read.
pub fn replace(path: &Path, expected: &[u8], bytes: &[u8]) -> Result<(), ReplaceError> {
    // Without the path tempfile attaches: the user never named our temporary file.
    let io = |e: std::io::Error| ReplaceError::Io(crate::output::plain(&e).to_string());
    let meta = fs::metadata(path).map_err(io)?;
    let dir = parent_dir(path);
    let tmp = write_temp(&dir, bytes, Some(&meta)).map_err(io)?;
    // Checked as late as possible: the window in which a concurrent edit could be lost is the
    // time between this read and the rename.
    let current = fs::read(path).map_err(io)?;
    if current != expected {
        return Err(ReplaceError::Changed);
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = fs::File::open(&dir) {
        // Makes the rename itself durable; not all platforms allow syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes temporary files that a killed run of ours left behind. Only regular files named
/// with our prefix are touched. Returns how many were removed.
pub fn remove_stale_temps(paths: &[PathBuf]) -> usize {
    paths
        .iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
        })
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .filter(|p| fs::remove_file(p).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_mode_and_refuses_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sh");
        fs::write(&p, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o751)).unwrap();
        }
        replace(&p, b"old", b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o751
            );
        }
        assert_eq!(replace(&p, b"old", b"newer"), Err(ReplaceError::Changed));
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!("{TEMP_PREFIX}abc"));
        fs::write(&stale, b"x").unwrap();
        fs::write(dir.path().join("keep.json"), b"x").unwrap();
        assert_eq!(
            remove_stale_temps(&[stale.clone(), dir.path().join("keep.json")]),
            1
        );
        assert!(!stale.exists());
        assert!(dir.path().join("keep.json").exists());
    }
}

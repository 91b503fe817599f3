//! Where a report goes: standard output (`-` or no `--output`), or a path opened for writing the
//! way `tee` and every Unix tool open it.
//!
//! A path is written *through*: a symlink's target is written and the link kept; a device, FIFO
//! or socket is opened and written, never replaced; a new file gets `0666` minus the umask. Only
//! a regular file that already exists is replaced atomically (temporary file in its directory,
//! renamed over it) so a reader never sees half a report, and then it keeps its mode, owner and
//! group. When that cannot be done faithfully (another user's file, a hard link, a directory we
//! may not create files in) the file is truncated and written in place, as `tee` would.
//!
//! This module writes reports, which the user asked for by name; the files a scan reads are
//! written only by `fix::writer`.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

use crate::{
    error::{Error, Result},
    fix::writer,
};

/// Where `--output` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    Path(PathBuf),
}

impl Destination {
    /// `None` and `-` are standard output, as for `tee -` and most tools.
    pub fn from_arg(arg: Option<&Path>) -> Self {
        match arg {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) => Destination::Path(p.to_path_buf()),
        }
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self, Destination::Stdout)
    }

    /// Writes the whole report. A closed pipe on standard output (`| head`) is not an error.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Destination::Stdout => write_stdout(bytes),
            Destination::Path(path) => {
                write_path(path, bytes).map_err(|e| Error::io("write", path, &e))
            }
        }
    }
}

/// Writes to standard output, ignoring a reader that went away.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::new(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// How a path is written, decided from what it leads to.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// An existing regular file: replaced atomically when that keeps it as it was.
    Replace,
    /// A device, FIFO or socket: opened and written, never replaced.
    Through,
    /// Nothing there yet (or a dangling symlink, whose target is created); the kernel applies
    /// the umask.
    Create,
}

fn route(path: &Path) -> io::Result<Route> {
    // `metadata` follows symlinks: what matters is what the path leads to.
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Ok(meta) if meta.is_file() => Ok(Route::Replace),
        Ok(_) => Ok(Route::Through),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Route::Create),
        Err(e) => Err(e),
    }
}

fn write_path(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match route(path)? {
        Route::Replace => {
            // The permission check `tee` gets from open(2): a file we may not write is not
            // replaced behind its mode's back. Opening without truncating changes nothing.
            drop(OpenOptions::new().write(true).open(path)?);
            let target = fs::canonicalize(path)?;
            let meta = fs::metadata(&target)?;
            match replace_atomically(&target, &meta, bytes) {
                Ok(()) => Ok(()),
                Err(Fallback) => write_in_place(path, bytes, false),
            }
        }
        Route::Through => write_in_place(path, bytes, false),
        Route::Create => write_in_place(path, bytes, true),
    }
}

fn write_in_place(path: &Path, bytes: &[u8], create: bool) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(create)
        .truncate(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// The atomic route could not keep the file as it was (owner, links) or could not be taken.
struct Fallback;

fn replace_atomically(target: &Path, meta: &fs::Metadata, bytes: &[u8]) -> Result<(), Fallback> {
    if !keeps_identity(meta) {
        return Err(Fallback);
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Named and locked as `fix` names its temporary files: no user file can have the name, and
    // a concurrent `fix` cleaning up leftovers leaves it alone while we hold it.
    let (tmp_path, mut tmp) = writer::temp_in(dir).map_err(|_| Fallback)?;
    let written = tmp
        .write_all(bytes)
        .and_then(|()| tmp.set_permissions(meta.permissions()))
        .and_then(|()| same_owner(&tmp, meta))
        .and_then(|()| tmp.sync_all())
        .and_then(|()| fs::rename(&tmp_path, target));
    if written.is_err() {
        let _ = fs::remove_file(&tmp_path);
        return Err(Fallback);
    }
    Ok(())
}

/// A file with several hard links would lose the others if replaced by rename.
#[cfg(unix)]
fn keeps_identity(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.nlink() <= 1
}

#[cfg(not(unix))]
fn keeps_identity(_: &fs::Metadata) -> bool {
    true
}

/// Gives the temporary file the replaced file's owner and group; fails (and so falls back to
/// writing in place) when we may not, e.g. another user's file we can write but not chown.
#[cfg(unix)]
fn same_owner(file: &File, meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let now = file.metadata()?;
    if now.uid() == meta.uid() && now.gid() == meta.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()))
}

#[cfg(not(unix))]
fn same_owner(_: &File, _: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    use super::*;

    fn dest(p: &Path) -> Destination {
        Destination::from_arg(Some(p))
    }

    #[test]
    fn dash_and_nothing_are_stdout() {
        assert!(Destination::from_arg(None).is_stdout());
        assert!(Destination::from_arg(Some(Path::new("-"))).is_stdout());
        assert!(!Destination::from_arg(Some(Path::new("./-"))).is_stdout());
    }

    #[test]
    fn existing_file_keeps_mode_owner_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        fs::write(&p, b"old report, longer than the new one").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let before = fs::metadata(&p).unwrap();
        dest(&p).write(b"new").unwrap();
        let after = fs::metadata(&p).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(after.permissions().mode() & 0o7777, 0o644);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn new_file_respects_the_umask_not_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.sarif");
        dest(&p).write(b"x").unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // Whatever the umask, a new report is created from 0666, so the owner can read and
        // write it and nobody can execute it; tempfile's 0600 would also pass this, so check
        // that group/other bits follow the umask of a fresh probe file.
        let probe = dir.path().join("probe");
        File::create(&probe).unwrap();
        let expected = fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected);
    }

    #[test]
    fn symlink_is_written_through_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        dest(&link).write(b"through").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"through");
    }

    #[test]
    fn dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("made.txt");
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        dest(&link).write(b"x").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"x");
    }

    #[test]
    fn fifo_is_written_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).unwrap())
        };
        dest(&fifo).write(b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn hard_linked_file_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        dest(&a).write(b"both").unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"both");
    }

    #[test]
    fn dev_null_is_written_through() {
        // Read-only checks: a test must never risk replacing /dev/null for the whole machine.
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert_eq!(route(Path::new("/dev/null")).unwrap(), Route::Through);
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert_eq!(route(&link).unwrap(), Route::Through);
        assert_eq!(route(&dir.path().join("new")).unwrap(), Route::Create);
    }

    #[test]
    fn errors_name_the_path_not_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = dest(dir.path()).write(b"x").unwrap_err().to_string();
        assert!(err.starts_with("cannot write "), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(!err.contains(writer::TEMP_PREFIX), "{err}");
        let missing = dir.path().join("no/such/dir/r.json");
        let err = dest(&missing).write(b"x").unwrap_err().to_string();
        assert!(err.contains("r.json"), "{err}");
    }
}

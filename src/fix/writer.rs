//! The only code that writes files: every write goes to a temporary file in the target's own
//! directory and is renamed over the target, so a reader (or a crash) sees the old content or the
//! new, never a mix.
//!
//! User files are reached from their scan root one directory at a time without following
//! symbolic links, and renamed relative to the directory opened that way: a path swapped for a
//! symlink (file or directory) between the read and the write makes the write fail, never land
//! outside the root. Before the rename the file is locked (advisory, so two runs of ours take
//! turns) and checked to be the same file, with the same bytes, as the one analyzed.

use std::{
    ffi::{OsStr, OsString},
    fs,
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Component, Path, PathBuf},
    sync::OnceLock,
};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};

/// Temporary files of ours start with this, so a later run can recognise and remove leftovers of
/// a run that was killed. The full name is checked by [`is_temp_name`], not just the prefix.
pub const TEMP_PREFIX: &str = ".imds-migrate~";
const TEMP_SUFFIX: &str = ".tmp";

/// `.imds-migrate~` + 16 random hex digits + 8 hex digits of a check over them + `.tmp`: a name
/// a person does not write by accident, so cleaning up leftovers never deletes a user's file.
pub fn temp_name() -> OsString {
    let random = format!("{:016x}", fastrand::u64(..));
    OsString::from(format!(
        "{TEMP_PREFIX}{random}{:08x}{TEMP_SUFFIX}",
        check(&random)
    ))
}

fn check(random: &str) -> u32 {
    // FNV-1a, salted so that a name with a plain FNV of its digits still does not pass.
    random
        .bytes()
        .chain(*b"imds-migrate")
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
}

/// True for names made by [`temp_name`] (and only those).
pub fn is_temp_name(name: &OsStr) -> bool {
    let Some(body) = name
        .to_str()
        .and_then(|n| n.strip_prefix(TEMP_PREFIX))
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    body.len() == 24
        && body.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && u32::from_str_radix(&body[16..], 16).is_ok_and(|c| c == check(&body[..16]))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates a new temporary file of ours in `dir` (opened), readable and writable by us only, and
/// locked for as long as we hold it: a concurrent run's leftover cleanup skips locked files.
fn create_temp(dir: &fs::File) -> std::io::Result<(OsString, fs::File)> {
    loop {
        let name = temp_name();
        let fd = match rustix::fs::openat(
            dir,
            name.as_os_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        };
        rustix::fs::flock(&fd, FlockOperation::LockExclusive)?;
        let file = fs::File::from(fd);
        // A cleanup that took the lock between our create and our lock has removed the name.
        let ours = FileId::of(&file.metadata()?);
        match rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_dev == ours.dev && st.st_ino == ours.ino => return Ok((name, file)),
            Ok(_) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A new temporary file of ours in the directory `dir`, named and locked as [`create_temp`] makes
/// them, for the one other writer that replaces a file by rename (`output`, for reports): its
/// leftovers are then recognised and cleaned like ours. Returns the temporary file's path.
pub fn temp_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let opened = fs::File::open(dir)?;
    let (name, file) = create_temp(&opened)?;
    Ok((dir.join(name), file))
}

/// A file as `fix` read it: which file (device and inode) and its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> Self {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Where a user file is: the scan root's directory (opened normally: the user named it) and the
/// path below it, whose every component is opened without following symbolic links.
#[derive(Clone, Debug)]
pub struct Target {
    pub base: PathBuf,
    pub rel: PathBuf,
}

impl Target {
    /// The target for `abs`, found by walking `root` (a directory, or a file named on the
    /// command line).
    pub fn new(root: &Path, abs: &Path) -> Self {
        if fs::symlink_metadata(root).is_ok_and(|m| !m.is_dir()) {
            return Target {
                base: parent_dir(root),
                rel: PathBuf::from(root.file_name().unwrap_or(root.as_os_str())),
            };
        }
        Target {
            base: root.to_path_buf(),
            rel: abs.strip_prefix(root).unwrap_or(abs).to_path_buf(),
        }
    }

    fn path(&self) -> PathBuf {
        self.base.join(&self.rel)
    }

    /// Opens the directory holding the target, component by component, refusing symlinks.
    fn open_dir(&self) -> std::io::Result<(fs::File, OsString)> {
        let mut dir = fs::File::open(&self.base)?;
        let mut parts: Vec<&OsStr> = Vec::new();
        for c in self.rel.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                Component::CurDir => {}
                _ => {
                    return Err(std::io::Error::other(
                        "path leaves the scan root; not written",
                    ));
                }
            }
        }
        let Some(name) = parts.pop() else {
            return Err(std::io::Error::other("no file name"));
        };
        for part in parts {
            let fd = rustix::fs::openat(
                &dir,
                part,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| symlink_error(e, part))?;
            dir = fs::File::from(fd);
        }
        Ok((dir, name.to_os_string()))
    }
}

fn symlink_error(e: rustix::io::Errno, name: &OsStr) -> std::io::Error {
    if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
        std::io::Error::other(format!(
            "`{}` is a symbolic link (or no longer a directory); not followed, nothing written",
            name.to_string_lossy()
        ))
    } else {
        e.into()
    }
}

fn open_file(dir: &fs::File, name: &OsStr, flags: OFlags) -> std::io::Result<fs::File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        // Non-blocking: a FIFO swapped in for the file must not hang the run.
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| symlink_error(e, name))?;
    let file = fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file; not written"));
    }
    Ok(file)
}

/// Reads a user file for fixing: without following a symbolic link anywhere below the root.
pub fn read(target: &Target) -> std::io::Result<(Vec<u8>, FileId)> {
    let (dir, name) = target.open_dir()?;
    let mut file = open_file(&dir, &name, OFlags::RDONLY)?;
    let id = FileId::of(&file.metadata()?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((bytes, id))
}

/// Why a file was not replaced.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplaceError {
    /// The file on disk is no longer what we read: someone else changed it (or replaced it).
    Changed,
    /// Refused on purpose; the reason says why and what to do.
    Refused(String),
    Io(String),
}

/// How far `replace` may go.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplaceOptions<'a> {
    /// Also rewrite read-only files, and files with several hard links (in place).
    pub force: bool,
    /// Where the directory of a renamed file waits for its `fsync`; `None` syncs it at once.
    pub dir_syncs: Option<&'a DirSyncs>,
}

/// Most directories kept open while they wait for their `fsync`.
const MAX_PENDING_DIRS: usize = 64;

/// Directories whose renames are not yet durable, each synced once: a run that replaces many
/// files of one directory syncs it once instead of after every rename. Each file's content is
/// still synced before its rename, so a crash before the directory's sync leaves the old file or
/// the new one, never a mix. Synced when [`DirSyncs::sync`] is called, when more than
/// [`MAX_PENDING_DIRS`] directories wait, and when dropped.
#[derive(Debug, Default)]
pub struct DirSyncs {
    pending: std::sync::Mutex<Vec<((u64, u64), fs::File)>>,
}

impl DirSyncs {
    fn add(&self, dir: fs::File) {
        let Ok(meta) = dir.metadata() else {
            let _ = dir.sync_all();
            return;
        };
        let key = (meta.dev(), meta.ino());
        let mut pending = self.lock();
        if pending.iter().any(|(k, _)| *k == key) {
            return;
        }
        if pending.len() >= MAX_PENDING_DIRS {
            Self::sync_all(&mut pending);
        }
        pending.push((key, dir));
    }

    /// Makes every pending rename durable; not all file systems allow syncing a directory.
    pub fn sync(&self) {
        Self::sync_all(&mut self.lock());
    }

    fn sync_all(pending: &mut Vec<((u64, u64), fs::File)>) {
        for (_, dir) in pending.drain(..) {
            let _ = dir.sync_all();
        }
    }

    /// A writer that panicked left the list whole: each push is one step.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<((u64, u64), fs::File)>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for DirSyncs {
    fn drop(&mut self) {
        self.sync();
    }
}

type Hook = fn(&Path);
static RACE_HOOK: OnceLock<Hook> = OnceLock::new();

/// Tests only: called with the target's path after it was read and before it is replaced, so a
/// test can swap the file for a symlink in that window. Only code can set it.
#[doc(hidden)]
pub fn set_race_hook(hook: Hook) {
    let _ = RACE_HOOK.set(hook);
}

/// Replaces the target, which we read as `expected` from the file `id`, with `bytes`, keeping
/// its owner, group and mode. Refuses when the file changed or was replaced since it was read,
/// when it is read-only, or when it has other hard links (unless `force`).
pub fn replace(
    target: &Target,
    id: FileId,
    expected: &[u8],
    bytes: &[u8],
    opts: ReplaceOptions,
) -> Result<(), ReplaceError> {
    let io = |e: std::io::Error| ReplaceError::Io(e.to_string());
    if let Some(hook) = RACE_HOOK.get() {
        hook(&target.path());
    }
    let (dir, name) = target.open_dir().map_err(io)?;
    let mut file = open_file(&dir, &name, OFlags::RDONLY).map_err(io)?;
    // Two runs of ours take turns here; the second then sees the first's result as a change.
    rustix::fs::flock(&file, FlockOperation::LockExclusive).map_err(|e| io(e.into()))?;
    let meta = file.metadata().map_err(io)?;
    if FileId::of(&meta) != id {
        return Err(ReplaceError::Changed);
    }
    let mode = meta.permissions().mode();
    if !opts.force {
        if mode & 0o222 == 0 {
            return Err(ReplaceError::Refused(format!(
                "read-only (mode {:o}); not rewritten (use --force to rewrite it anyway)",
                mode & 0o7777
            )));
        }
        // Not ours to write, even if the directory would let us replace it.
        if let Err(e) = open_file(&dir, &name, OFlags::WRONLY) {
            return Err(ReplaceError::Refused(format!(
                "not writable ({e}); not rewritten (use --force to rewrite it anyway)"
            )));
        }
        if meta.nlink() > 1 {
            return Err(ReplaceError::Refused(format!(
                "has {} hard links; replacing it would break them, so it is not rewritten (use --force to update it in place)",
                meta.nlink()
            )));
        }
    }
    if !same_bytes(&mut file, expected).map_err(io)? {
        return Err(ReplaceError::Changed);
    }
    let (tmp_name, mut tmp) = create_temp(&dir).map_err(io)?;
    let result = (|| {
        tmp.write_all(bytes)?;
        // Owner and group first (a chown clears set-id bits); if they cannot be kept, the file
        // becomes ours, and set-id bits on a file with a new owner would be a gift: dropped.
        let owned = std::os::unix::fs::fchown(&tmp, Some(meta.uid()), Some(meta.gid())).is_ok();
        let keep = if owned { 0o7777 } else { 0o1777 };
        tmp.set_permissions(fs::Permissions::from_mode(mode & keep))?;
        tmp.sync_all()?;
        if meta.nlink() > 1 {
            // Forced: the new content is safe in the temporary file first, then copied over
            // the original through one open, so every link sees it.
            let mut out = open_file(&dir, &name, OFlags::WRONLY)?;
            if FileId::of(&out.metadata()?) != id {
                return Err(std::io::Error::other("replaced while being fixed"));
            }
            out.write_all(bytes)?;
            out.set_len(bytes.len() as u64)?;
            out.sync_all()?;
            rustix::fs::unlinkat(&dir, &tmp_name, AtFlags::empty())?;
            return Ok(());
        }
        // The last look before the rename: still the same file at that name, same bytes.
        let now = rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW)?;
        if now.st_dev != id.dev || now.st_ino != id.ino || !same_bytes(&mut file, expected)? {
            return Err(std::io::Error::other(CHANGED));
        }
        rustix::fs::renameat(&dir, &tmp_name, &dir, &name)?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            // Makes the rename itself durable; not all file systems allow syncing a directory.
            match opts.dir_syncs {
                Some(pending) => pending.add(dir),
                None => {
                    let _ = dir.sync_all();
                }
            }
            Ok(())
        }
        Err(e) => {
            let _ = rustix::fs::unlinkat(&dir, &tmp_name, AtFlags::empty());
            if e.to_string() == CHANGED {
                Err(ReplaceError::Changed)
            } else {
                Err(io(e))
            }
        }
    }
}

const CHANGED: &str = "changed on disk";

fn same_bytes(file: &mut fs::File, expected: &[u8]) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut now = Vec::with_capacity(expected.len() + 1);
    Read::by_ref(file)
        .take(expected.len() as u64 + 1)
        .read_to_end(&mut now)?;
    Ok(now == expected)
}

/// Temporary files of ours under `root`, ignored directories included (a killed run may have
/// left them where the next run's walk does not look). Symbolic links are not followed.
pub fn find_stale_temps(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker.flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) && is_temp_name(entry.file_name()) {
            found.push(entry.into_path());
        }
    }
    found
}

/// Removes temporary files that a killed run of ours left behind. Only regular files with a name
/// [`is_temp_name`] accepts are touched, and only when no running `fix` holds them (every run
/// locks its temporary files). Returns how many were removed.
pub fn remove_stale_temps(paths: &[PathBuf]) -> usize {
    paths
        .iter()
        .filter(|p| p.file_name().is_some_and(is_temp_name))
        .filter(|p| remove_if_unused(p).unwrap_or(false))
        .count()
}

fn remove_if_unused(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits().cast_signed())
        .open(path)?;
    if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        return Ok(false);
    }
    let meta = file.metadata()?;
    let now = fs::symlink_metadata(path)?;
    if !meta.is_file() || FileId::of(&meta) != FileId::of(&now) {
        return Ok(false);
    }
    fs::remove_file(path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &Path, name: &str) -> Target {
        Target {
            base: dir.to_path_buf(),
            rel: PathBuf::from(name),
        }
    }

    #[test]
    fn a_directory_waits_once_for_its_sync() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("sub")).unwrap();
        let names = ["a.sh", "b.sh", "sub/c.sh"];
        for n in names {
            fs::write(root.path().join(n), b"old").unwrap();
        }
        let syncs = DirSyncs::default();
        let opts = ReplaceOptions {
            force: false,
            dir_syncs: Some(&syncs),
        };
        for n in names {
            let t = target(root.path(), n);
            let (bytes, id) = read(&t).unwrap();
            replace(&t, id, &bytes, b"new", opts).unwrap();
            assert_eq!(fs::read(root.path().join(n)).unwrap(), b"new");
        }
        // The root and `sub`, once each.
        assert_eq!(syncs.lock().len(), 2);
        syncs.sync();
        assert!(syncs.lock().is_empty());
        // A refused write leaves nothing to sync.
        let t = target(root.path(), "a.sh");
        let (_, id) = read(&t).unwrap();
        assert_eq!(
            replace(&t, id, b"old", b"newer", opts),
            Err(ReplaceError::Changed)
        );
        assert!(syncs.lock().is_empty());
    }

    #[test]
    fn replace_keeps_mode_and_refuses_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sh");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o751)).unwrap();
        let t = target(dir.path(), "a.sh");
        let (bytes, id) = read(&t).unwrap();
        replace(&t, id, &bytes, b"new", ReplaceOptions::default()).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o751
        );
        let (_, id) = read(&t).unwrap();
        assert_eq!(
            replace(&t, id, b"old", b"newer", ReplaceOptions::default()),
            Err(ReplaceError::Changed)
        );
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        let name = temp_name();
        assert!(is_temp_name(&name), "{name:?}");
        for user in [
            ".imds-migrate-tmp-notes.sh",
            ".imds-migrate~notes.tmp",
            ".imds-migrate~0123456789abcdef01234567.tmp",
        ] {
            assert!(!is_temp_name(OsStr::new(user)), "{user}");
        }
    }

    #[test]
    fn stale_temps_are_removed_and_user_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(temp_name());
        fs::write(&stale, b"x").unwrap();
        let user = dir.path().join(".imds-migrate-tmp-notes.sh");
        fs::write(&user, b"x").unwrap();
        let found = find_stale_temps(dir.path());
        assert_eq!(found, vec![stale.clone()]);
        assert_eq!(remove_stale_temps(&[stale.clone(), user.clone()]), 1);
        assert!(!stale.exists());
        assert!(user.exists());
        // A temporary file a running `fix` holds is not a leftover.
        let dir_file = fs::File::open(dir.path()).unwrap();
        let (name, _held) = create_temp(&dir_file).unwrap();
        let live = dir.path().join(&name);
        assert_eq!(remove_stale_temps(std::slice::from_ref(&live)), 0);
        assert!(live.exists());
    }
}

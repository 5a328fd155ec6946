//! Generations: how the index folder is laid out, and the locks that keep
//! it whole under crashes and concurrent commands.
//!
//! The index folder holds
//! - `CURRENT`, naming the live generation: `g` and a number, as qualdex
//!   writes it, and nothing else;
//! - the generation folders `g1`, `g2`, …, each with `tantivy/`,
//!   `manifest.json`, `stamp.tsv`, `forms.tsv` and `runs.tsv`;
//! - `write.lock`, held exclusively by the one command updating the index;
//! - `read.lock`, held shared by every command reading a generation, for as
//!   long as it reads.
//!
//! Once `CURRENT` names a generation its index never changes (only its
//! stamp and manifest may be rewritten, atomically, with the same
//! documents). An update builds the next generation beside it, from scratch
//! or from hard links to the live generation's tantivy files (tantivy never
//! changes a file once written: it replaces `meta.json` by a rename and
//! writes every other file once), and publishes it by rewriting `CURRENT`
//! atomically once everything in it is written. A crash at any point leaves
//! the old generation live and whole; the half-built one is removed by a
//! later update. Readers therefore need no tantivy lock (they open the index
//! through [`ReadOnly`], which writes nothing, so a read-only study can be
//! searched), and a generation is deleted only when no reader holds
//! `read.lock` and no writer holds `write.lock`.
//!
//! Nothing outside the index folder is ever read, written or deleted: the
//! only names joined to it are the fixed file names above and generation
//! names checked by [`generation_number`], and a generation that is not a
//! real folder (a symbolic link, say) is refused, never followed.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, display_path};

use super::fault;

/// The file naming the live generation.
pub(crate) const CURRENT: &str = "CURRENT";
const WRITE_LOCK: &str = "write.lock";
const READ_LOCK: &str = "read.lock";

/// The longest `CURRENT` qualdex writes, with room to spare.
const CURRENT_LIMIT: u64 = 64;

/// The highest generation number: far more updates than a study will
/// ever see, and far from the end of `u64`.
const MAX_GENERATION: u64 = 999_999_999_999;

/// The number of a generation name as qualdex writes it (`g7`): `g` and a
/// decimal number from 1 to [`MAX_GENERATION`], without leading zeros;
/// `None` for anything else.
pub(crate) fn generation_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix('g')?;
    if digits.is_empty()
        || digits.len() > 12
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok().filter(|n| *n <= MAX_GENERATION)
}

/// One generation folder.
#[derive(Debug)]
pub(crate) struct Generation {
    /// Its name, checked by [`generation_number`].
    pub(crate) name: String,
    /// The index folder joined with the name.
    pub(crate) dir: PathBuf,
}

impl Generation {
    fn new(index_dir: &Path, name: String) -> Generation {
        debug_assert!(generation_number(&name).is_some());
        Generation {
            dir: index_dir.join(&name),
            name,
        }
    }

    pub(crate) fn tantivy(&self) -> PathBuf {
        self.dir.join("tantivy")
    }
    pub(crate) fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
    /// True when the manifest is a regular file. The quick checks trust a
    /// generation's stamp only then: searches read the manifest lazily, and
    /// a missing or planted one would otherwise answer with no attributes.
    pub(crate) fn has_manifest(&self) -> bool {
        std::fs::symlink_metadata(self.manifest()).is_ok_and(|m| m.is_file())
    }
    pub(crate) fn stamp(&self) -> PathBuf {
        self.dir.join("stamp.tsv")
    }
    pub(crate) fn forms(&self) -> PathBuf {
        self.dir.join("forms.tsv")
    }
    /// Runs of documents with one path, per segment (see `path_runs`).
    pub(crate) fn runs(&self) -> PathBuf {
        self.dir.join("runs.tsv")
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostics::from(Diagnostic::error(format!("{e}")).in_file(path))
}

/// What `CURRENT` holds, shown safely in a message.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(60)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn bad_current(path: &Path, index_dir: &Path, what: String) -> Diagnostics {
    Diagnostics::from(
        Diagnostic::error(what)
            .in_file(path)
            .with_help(format!(
                "qualdex writes only a generation name such as `g1` there; the index folder is a cache: delete `{}` and run the command again",
                display_path(index_dir)
            )),
    )
}

/// The live generation: `None` when there is no index yet, or when
/// `CURRENT` names a generation that is not there (then the index is
/// rebuilt). An error when `CURRENT` holds anything but a generation name,
/// or names something that is not a folder: it is then never followed.
pub(crate) fn current(index_dir: &Path) -> Result<Option<Generation>, Diagnostics> {
    let path = index_dir.join(CURRENT);
    let bytes = match crate::fsutil::read_bounded(&path, CURRENT_LIMIT) {
        Ok(b) => b,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => return Ok(None),
        Err(crate::fsutil::InputError::TooLarge(_)) => {
            return Err(bad_current(
                &path,
                index_dir,
                "`CURRENT` does not name an index generation (it is too long)".into(),
            ));
        }
        Err(e) => return Err(io_err(&path, e)),
    };
    // A line end is tolerated (someone wrote it with `echo`).
    let text = std::str::from_utf8(&bytes).unwrap_or("");
    let name = text.strip_suffix('\n').unwrap_or(text);
    let name = name.strip_suffix('\r').unwrap_or(name);
    if generation_number(name).is_none() {
        return Err(bad_current(
            &path,
            index_dir,
            format!(
                "`CURRENT` does not name an index generation: it holds `{}`",
                shown(&bytes)
            ),
        ));
    }
    let g = Generation::new(index_dir, name.to_string());
    let is_folder = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.file_type().is_dir());
    match (is_folder(&g.dir), is_folder(&g.tantivy())) {
        (Ok(true), Ok(true)) => Ok(Some(g)),
        (Ok(true), Err(_)) | (Err(_), _) => Ok(None),
        _ => Err(bad_current(
            &path,
            index_dir,
            format!(
                "`CURRENT` names `{}`, which is not a folder qualdex made (a link or a file)",
                g.name
            ),
        )),
    }
}

/// The generations in the index folder, by name (real folders only).
fn generations(index_dir: &Path) -> Vec<(u64, String)> {
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, String)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some((generation_number(&name)?, name))
        })
        .collect();
    found.sort_unstable();
    found
}

/// Creates the folder of a new generation, numbered after every one in the
/// index folder (so no name is reused while a reader may hold it).
pub(crate) fn create_next(index_dir: &Path) -> Result<Generation, Diagnostics> {
    let mut n = generations(index_dir).last().map_or(1, |(n, _)| n + 1);
    loop {
        if n > MAX_GENERATION {
            // Only a planted folder gets here (a study shipping
            // `.qualdex/g999999999999`): say so rather than wrap around.
            return Err(Diagnostics::from(
                Diagnostic::error(format!(
                    "the index folder holds generations numbered up to {MAX_GENERATION}, so no new one can be made"
                ))
                .in_file(index_dir)
                .with_help(format!(
                    "delete the index folder `{}` (a cache: nothing is lost) and run the command again",
                    display_path(index_dir)
                )),
            ));
        }
        let g = Generation::new(index_dir, format!("g{n}"));
        match std::fs::create_dir(&g.dir) {
            Ok(()) => return Ok(g),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io_err(&g.dir, e)),
        }
    }
}

/// Fills `to` (a new, empty tantivy folder) with hard links to the files of
/// the tantivy index in `from`, copying where links cannot be made. Lock
/// and temporary files (names starting with `.`, except tantivy's list of
/// its files) are left behind, and so is anything but a regular file.
pub(crate) fn link_index(from: &Path, to: &Path) -> Result<(), Diagnostics> {
    std::fs::create_dir(to).map_err(|e| io_err(to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| io_err(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(from, e))?;
        let name = entry.file_name();
        let keep = name
            .to_str()
            .is_some_and(|n| !n.starts_with('.') || n == ".managed.json");
        if !keep || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(|e| io_err(&dst, e))?;
        }
        fault::point("link");
    }
    Ok(())
}

/// Makes `g` the live generation (the one atomic step of an update).
pub(crate) fn publish(index_dir: &Path, g: &Generation) -> Result<(), Diagnostics> {
    let path = index_dir.join(CURRENT);
    crate::fsutil::write_atomic(&path, g.name.as_bytes()).map_err(|e| io_err(&path, e))
}

/// True when an I/O error means the folder cannot be written at all.
pub(crate) fn is_read_only(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// The lock held by the one command updating the index.
#[derive(Debug)]
pub(crate) struct WriteLock {
    _file: File,
}

impl WriteLock {
    fn open(index_dir: &Path) -> std::io::Result<File> {
        std::fs::create_dir_all(index_dir)?;
        crate::fsutil::open_lock_file(&index_dir.join(WRITE_LOCK), false)
    }

    /// Takes the lock, waiting for another update to finish (at most
    /// [`crate::fsutil::lock_wait`], so a stopped command cannot hold every
    /// later one forever); `None` when the index folder cannot be written
    /// (a read-only study).
    pub(crate) fn acquire(index_dir: &Path, quiet: bool) -> Result<Option<WriteLock>, Diagnostics> {
        let path = index_dir.join(WRITE_LOCK);
        let file = match Self::open(index_dir) {
            Ok(f) => f,
            Err(e) if is_read_only(&e) => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        match file.try_lock() {
            Ok(()) => return Ok(Some(WriteLock { _file: file })),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io_err(&path, e)),
        }
        if !quiet {
            crate::stderr_line!(
                "waiting for another qualdex command to finish updating the index…"
            );
        }
        let wait = crate::fsutil::lock_wait();
        match crate::fsutil::lock_within(file, wait) {
            Ok(Some(file)) => Ok(Some(WriteLock { _file: file })),
            Ok(None) => Err(Diagnostics::from(
                Diagnostic::error(format!(
                    "another qualdex command has been updating the index for {} s",
                    wait.as_secs()
                ))
                .in_file(&path)
                .with_help(
                    "let it finish (or stop it: a stopped or suspended qualdex holds the lock \
                     until it ends) and run this again; QUALDEX_LOCK_WAIT sets the wait in seconds",
                ),
            )),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// Takes the lock if no other command holds it.
    fn try_acquire(index_dir: &Path) -> Option<WriteLock> {
        let file = Self::open(index_dir).ok()?;
        file.try_lock().ok()?;
        Some(WriteLock { _file: file })
    }
}

/// The lock a reader holds while it uses a generation (shared with other
/// readers); `None` inside when it cannot be taken (a read-only index
/// folder without the lock file, where nobody can delete anything either).
#[derive(Debug)]
pub struct ReadLock {
    _file: Option<File>,
}

impl ReadLock {
    /// Takes the lock, waiting only while old generations are being removed.
    pub(crate) fn acquire(index_dir: &Path) -> ReadLock {
        let path = index_dir.join(READ_LOCK);
        let file = crate::fsutil::open_lock_file(&path, true).ok();
        let file = file.filter(|f| f.lock_shared().is_ok());
        ReadLock { _file: file }
    }
}

/// Removes every generation but `live`, and temporary files left in the
/// index folder by interrupted writes. Runs under the write lock (so no
/// other command is building a generation); does nothing while any reader
/// holds the read lock. Returns the names removed.
fn remove_abandoned_locked(index_dir: &Path, live: Option<&str>) -> Vec<String> {
    let path = index_dir.join(READ_LOCK);
    let Ok(file) = crate::fsutil::open_lock_file(&path, false) else {
        return Vec::new();
    };
    if file.try_lock().is_err() {
        return Vec::new();
    }
    let mut removed = Vec::new();
    for (_, name) in generations(index_dir) {
        if Some(name.as_str()) == live {
            continue;
        }
        // Only a folder holding nothing but what qualdex writes there: a
        // `g2` of someone else's (a focus group's transcripts, in a corpus
        // the index was pointed at) is left alone. `remove_dir_all` removes
        // a link found inside the folder, never what it points to.
        let dir = index_dir.join(&name);
        if is_ours(&dir) && std::fs::remove_dir_all(&dir).is_ok() {
            removed.push(name);
        }
        fault::point("remove");
    }
    // Temporary files of `write_atomic` (of `CURRENT`), from a killed write.
    if let Ok(entries) = std::fs::read_dir(index_dir) {
        for e in entries.filter_map(Result::ok) {
            let temp = e
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(".tmp"));
            if temp && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    removed
}

/// True when the generation folder `dir` holds only what qualdex and
/// tantivy write in one: `tantivy/` with tantivy's files (`meta.json`,
/// hidden files, and segment files named by a 32-digit hex id), the cache
/// files, and hidden temporary files of interrupted writes.
fn is_ours(dir: &Path) -> bool {
    fn entries(dir: &Path) -> Option<Vec<(String, std::fs::FileType)>> {
        std::fs::read_dir(dir)
            .ok()?
            .map(|e| {
                let e = e.ok()?;
                Some((e.file_name().into_string().ok()?, e.file_type().ok()?))
            })
            .collect()
    }
    let hidden_file = |name: &str, t: &std::fs::FileType| name.starts_with('.') && t.is_file();
    let Some(top) = entries(dir) else {
        return false;
    };
    top.iter().all(|(name, t)| match name.as_str() {
        "manifest.json" | "stamp.tsv" | "forms.tsv" | "runs.tsv" => t.is_file(),
        "tantivy" => {
            t.is_dir()
                && entries(&dir.join("tantivy")).is_some_and(|files| {
                    files.iter().all(|(f, t)| {
                        t.is_file()
                            && (f == "meta.json"
                                || f.starts_with('.')
                                || f.split_once('.').is_some_and(|(id, _)| {
                                    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
                                }))
                    })
                })
        }
        _ => hidden_file(name, t),
    })
}

/// [`remove_abandoned_locked`] for a command holding the write lock.
pub(crate) fn remove_abandoned(_lock: &WriteLock, index_dir: &Path, live: &str) -> Vec<String> {
    remove_abandoned_locked(index_dir, Some(live))
}

/// True when the index folder holds something to clean up: a generation
/// other than the live one, or a temporary file.
pub(crate) fn has_abandoned(index_dir: &Path, live: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            return false;
        };
        (name != live && generation_number(name).is_some()) || name.starts_with(".tmp")
    })
}

/// Cleans up when no other command is updating the index (the write lock is
/// free) and none is reading it; otherwise leaves it for a later command.
pub(crate) fn tidy_if_idle(index_dir: &Path, live: &str) {
    if has_abandoned(index_dir, live)
        && let Some(lock) = WriteLock::try_acquire(index_dir)
    {
        // Under the lock, the live generation is the one `CURRENT` names now.
        if let Ok(Some(g)) = current(index_dir) {
            remove_abandoned(&lock, index_dir, &g.name);
        }
    }
}

/// A tantivy directory that only reads: no lock files, no writes, no
/// deletes. A live generation never changes, so its readers need none of
/// tantivy's locks, and an index on a read-only disk opens as any other.
#[derive(Debug, Clone)]
pub(crate) struct ReadOnly(tantivy::directory::MmapDirectory);

impl ReadOnly {
    /// Opens the tantivy index of a generation for reading.
    pub(crate) fn open_index(path: &Path) -> tantivy::Result<tantivy::Index> {
        let dir = tantivy::directory::MmapDirectory::open(path)?;
        tantivy::Index::open(ReadOnly(dir))
    }
}

fn refused(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "a live index generation is never written ({})",
            path.display()
        ),
    )
}

impl tantivy::Directory for ReadOnly {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> Result<
        std::sync::Arc<dyn tantivy::directory::FileHandle>,
        tantivy::directory::error::OpenReadError,
    > {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), tantivy::directory::error::DeleteError> {
        Err(tantivy::directory::error::DeleteError::IoError {
            io_error: std::sync::Arc::new(refused(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, tantivy::directory::error::OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(
        &self,
        path: &Path,
    ) -> Result<tantivy::directory::WritePtr, tantivy::directory::error::OpenWriteError> {
        Err(tantivy::directory::error::OpenWriteError::wrap_io_error(
            refused(path),
            path.to_path_buf(),
        ))
    }

    fn atomic_read(
        &self,
        path: &Path,
    ) -> Result<Vec<u8>, tantivy::directory::error::OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, _data: &[u8]) -> std::io::Result<()> {
        Err(refused(path))
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn acquire_lock(
        &self,
        lock: &tantivy::directory::Lock,
    ) -> Result<tantivy::directory::DirectoryLock, tantivy::directory::error::LockError> {
        // Readers lock the index's list of files against tantivy's garbage
        // collection, which never runs in a live generation. Anything else
        // (a writer) is refused.
        if lock.filepath == tantivy::directory::META_LOCK.filepath {
            Ok(tantivy::directory::DirectoryLock::from(Box::new(())))
        } else {
            Err(tantivy::directory::error::LockError::wrap_io_error(
                refused(&lock.filepath),
            ))
        }
    }

    fn watch(
        &self,
        _callback: tantivy::directory::WatchCallback,
    ) -> tantivy::Result<tantivy::directory::WatchHandle> {
        Ok(tantivy::directory::WatchHandle::empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_qualdex_writes_are_generations() {
        for good in ["g1", "g7", "g10", "g999999999999"] {
            assert!(generation_number(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "g",
            "g0",
            "g01",
            "G1",
            "1",
            "g1 ",
            " g1",
            "g-1",
            "g+1",
            "g1/x",
            "../g1",
            "/tmp/g1",
            "g1\0",
            "g１",
            "gen1",
            "g1234567890123456789",
        ] {
            assert_eq!(generation_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn current_refuses_anything_but_a_generation_name() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join(".qualdex");
        std::fs::create_dir_all(index.join("g2/tantivy")).unwrap();
        assert!(current(&index).unwrap().is_none(), "no CURRENT: no index");
        for ok in ["g2", "g2\n", "g2\r\n"] {
            std::fs::write(index.join(CURRENT), ok).unwrap();
            assert_eq!(current(&index).unwrap().unwrap().name, "g2", "{ok:?}");
        }
        std::fs::write(index.join(CURRENT), "g3").unwrap();
        assert!(
            current(&index).unwrap().is_none(),
            "a missing generation is rebuilt"
        );
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(outside.join("tantivy")).unwrap();
        let long = "g".repeat(100);
        for bad in [
            "",
            "../outside",
            outside.to_str().unwrap(),
            "g2/../../outside",
            "g2\n\n",
            long.as_str(),
        ] {
            std::fs::write(index.join(CURRENT), bad).unwrap();
            let e = current(&index).unwrap_err().to_string();
            assert!(
                e.contains("does not name an index generation"),
                "{bad:?}: {e}"
            );
            assert!(e.contains("delete"), "{e}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, index.join("g5")).unwrap();
            std::fs::write(index.join(CURRENT), "g5").unwrap();
            let e = current(&index).unwrap_err().to_string();
            assert!(e.contains("not a folder qualdex made"), "{e}");
            // Never counted as a generation, so never removed through.
            assert_eq!(generations(&index), [(2, "g2".to_string())]);
        }
    }

    #[test]
    fn cleaning_up_keeps_the_live_generation_and_waits_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join(".qualdex");
        for g in ["g1", "g2", "g3"] {
            std::fs::create_dir_all(index.join(g).join("tantivy")).unwrap();
        }
        std::fs::create_dir_all(index.join("other")).unwrap();
        std::fs::write(index.join(".tmpAbc123"), "g9").unwrap();
        std::fs::write(index.join(CURRENT), "g2").unwrap();
        let lock = WriteLock::acquire(&index, true).unwrap().unwrap();
        let reader = ReadLock::acquire(&index);
        assert!(
            remove_abandoned(&lock, &index, "g2").is_empty(),
            "a reader is active"
        );
        drop(reader);
        assert_eq!(remove_abandoned(&lock, &index, "g2"), ["g1", "g3"]);
        assert!(index.join("g2/tantivy").is_dir() && index.join("other").is_dir());
        assert!(!index.join(".tmpAbc123").exists());
        // A second writer cannot clean up while the first holds the lock.
        std::fs::create_dir_all(index.join("g4")).unwrap();
        tidy_if_idle(&index, "g2");
        assert!(index.join("g4").is_dir());
        drop(lock);
        tidy_if_idle(&index, "g2");
        assert!(!index.join("g4").exists());
    }

    #[test]
    fn cleaning_up_leaves_folders_qualdex_did_not_make() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("idx");
        let seg = "0123456789abcdef0123456789abcdef";
        // A generation as qualdex leaves it, and one cut off early.
        std::fs::create_dir_all(index.join("g1/tantivy")).unwrap();
        for f in [
            "meta.json",
            ".managed.json",
            &format!("{seg}.term"),
            &format!("{seg}.7.del"),
        ] {
            std::fs::write(index.join("g1/tantivy").join(f), "x").unwrap();
        }
        for f in ["manifest.json", "stamp.tsv", ".tmpX1"] {
            std::fs::write(index.join("g1").join(f), "x").unwrap();
        }
        std::fs::create_dir_all(index.join("g2")).unwrap();
        // Folders named like generations holding someone's files.
        std::fs::create_dir_all(index.join("g3")).unwrap();
        std::fs::write(index.join("g3/focus.txt"), "Ben: my words").unwrap();
        std::fs::create_dir_all(index.join("g4/tantivy")).unwrap();
        std::fs::write(index.join("g4/tantivy/notes.md"), "mine").unwrap();
        std::fs::create_dir_all(index.join("g5/tantivy/sub")).unwrap();
        std::fs::create_dir_all(index.join("g9")).unwrap();
        let lock = WriteLock::acquire(&index, true).unwrap().unwrap();
        assert_eq!(remove_abandoned(&lock, &index, "g9"), ["g1", "g2"]);
        assert_eq!(
            std::fs::read_to_string(index.join("g3/focus.txt")).unwrap(),
            "Ben: my words"
        );
        assert!(index.join("g4/tantivy/notes.md").is_file());
        assert!(index.join("g5/tantivy/sub").is_dir());
    }

    #[test]
    fn generation_numbers_run_out_with_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("idx");
        let last = format!("g{MAX_GENERATION}");
        assert_eq!(generation_number(&last), Some(MAX_GENERATION));
        assert_eq!(generation_number(&format!("g{}", MAX_GENERATION + 1)), None);
        std::fs::create_dir_all(index.join(&last)).unwrap();
        let e = create_next(&index).unwrap_err().to_string();
        assert!(
            e.contains("numbered up to") && e.contains("delete the index folder"),
            "{e}"
        );
        // Below the bound, numbering goes on after the highest one.
        std::fs::remove_dir(index.join(&last)).unwrap();
        std::fs::create_dir_all(index.join("g41")).unwrap();
        assert_eq!(create_next(&index).unwrap().name, "g42");
    }
}

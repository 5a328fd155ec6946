//! File-system helpers shared by every reader and writer: atomic writes,
//! bounded reads of input files, and checks on names that become paths.
//!
//! Every file qualdex writes goes through [`write_atomic`] (temp file in the
//! same folder, then rename), so a crash never leaves a half-written file.
//! Every hand-written input is read through [`read_bounded`], so a FIFO or
//! `/dev/zero` named as a codebook is an error, not a hang. A name taken from
//! a file (a table, a coder, a generation) passes [`check_plain_name`] before
//! it is joined to a folder, so it cannot point outside it.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // Keep an existing file's permissions; new files get the usual rw-r--r--
    // (the temp file itself is created private).
    let perms = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    match perms {
        Some(p) => tmp.as_file().set_permissions(p)?,
        None => set_default_permissions(tmp.as_file())?,
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_default_permissions(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_default_permissions(_f: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// The most bytes qualdex reads from a file the researcher writes by hand or
/// a tool writes for them (qualdex.yaml, codebooks, codings files, attribute
/// sheets, imported codings). Far above any real one, far below a machine's
/// memory; `/dev/zero` given as a codebook stops here.
pub const INPUT_LIMIT: u64 = 256 * 1024 * 1024;

/// Why a bounded read of an input file failed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path is a folder, FIFO, socket or device, not a regular file.
    #[error("not a regular file (a {0}): give the path of a file")]
    NotRegular(&'static str),
    /// The file holds more than the limit.
    #[error("larger than {} MiB, the most qualdex reads from such a file", .0 / (1024 * 1024))]
    TooLarge(u64),
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl InputError {
    /// The underlying I/O error kind, when there is one.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            InputError::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

fn file_kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "device";
        }
    }
    if ft.is_dir() {
        "folder"
    } else {
        "special file"
    }
}

/// Reads at most `limit` bytes of a regular file, refusing folders, FIFOs,
/// sockets and devices without blocking on them (the file is opened
/// non-blocking and checked on the open handle, so a swap between the check
/// and the open cannot slip a FIFO in).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc_nonblock());
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(InputError::NotRegular(file_kind(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow after the check: never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Reads one of qualdex's own cache files (a manifest, stamp or word-form
/// table in the index folder): `None` when it is missing, unreadable, not
/// a regular file, or not UTF-8 text where `text` is asked, so that the
/// cache is rebuilt instead. A study can ship its `.qualdex/`, so a FIFO
/// planted there must not block; there is no small size cap, since a cache
/// grows with the corpus.
pub fn read_cache(path: &Path) -> Option<Vec<u8>> {
    read_bounded(path, CACHE_LIMIT).ok()
}

/// [`read_cache`] as UTF-8 text.
pub fn read_cache_text(path: &Path) -> Option<String> {
    String::from_utf8(read_cache(path)?).ok()
}

/// The most bytes read from one cache file.
const CACHE_LIMIT: u64 = 16 * 1024 * 1024 * 1024;

/// [`read_bounded`] with [`INPUT_LIMIT`], as UTF-8 text (a BOM is kept; the
/// caller's parser decides). Invalid UTF-8 is an `InvalidData` I/O error
/// naming the byte offset.
pub fn read_input_text(path: &Path) -> Result<String, InputError> {
    let bytes = read_bounded(path, INPUT_LIMIT)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        InputError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8 at byte {at}: save the file as UTF-8"),
        ))
    })
}

/// Opens (creating it if missing) a lock file of qualdex's own: a
/// `.qualdex/write.lock`, `read.lock` or a coder's `codings/.NAME.yaml.lock`.
/// A study can ship these names, so a link is never followed (a dangling
/// link would create a file outside the study), a FIFO never blocks the
/// open, and anything but a regular file is refused. Opened for reading and
/// writing; with `read_only_ok`, for reading only where the file is someone
/// else's (locking needs no write access), where a caller that must tell a
/// read-only study apart asks for the error instead.
pub fn open_lock_file(path: &Path, read_only_ok: bool) -> std::io::Result<std::fs::File> {
    let open = |write: bool| {
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        if write {
            opts.write(true).create(true).truncate(false);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc_nonblock() | libc_nofollow());
        }
        opts.open(path)
    };
    let file = match open(true) {
        Err(e)
            if read_only_ok
                && e.kind() == std::io::ErrorKind::PermissionDenied
                && path.exists() =>
        {
            open(false)
        }
        r => r,
    }
    .map_err(|e| {
        if is_link(path) {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a link, and qualdex never follows a link for its lock files: delete it",
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "it is a {}, not a regular file: delete it (qualdex makes a new one)",
                file_kind(meta.file_type())
            ),
        ));
    }
    Ok(file)
}

/// True when `path` itself is a symbolic link.
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// How long a command waits for a lock another qualdex holds (a coder's
/// codings file, the index's write lock) before it gives up with a message:
/// 120 s, or `QUALDEX_LOCK_WAIT` seconds.
pub fn lock_wait() -> std::time::Duration {
    let secs = std::env::var("QUALDEX_LOCK_WAIT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(120);
    std::time::Duration::from_secs(secs)
}

/// Takes an exclusive lock on `file`, waiting at most `wait` for whoever
/// holds it. `Ok(None)` when the wait ran out (the file is dropped and so
/// nothing stays queued).
pub fn lock_within(
    file: std::fs::File,
    wait: std::time::Duration,
) -> std::io::Result<Option<std::fs::File>> {
    use std::fs::TryLockError;
    match file.try_lock() {
        Ok(()) => return Ok(Some(file)),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // Blocking in a thread, so waiters are served in the order the system
    // queues them; a thread still waiting when time runs out ends with the
    // process.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = file.lock().map(|()| file);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(wait) {
        Ok(r) => r.map(Some),
        Err(_) => Ok(None),
    }
}

#[cfg(unix)]
fn libc_nofollow() -> i32 {
    libc::O_NOFOLLOW
}

#[cfg(all(unix, target_os = "linux"))]
fn libc_nonblock() -> i32 {
    libc::O_NONBLOCK
}

#[cfg(all(unix, not(target_os = "linux")))]
fn libc_nonblock() -> i32 {
    // O_NONBLOCK on the BSDs and macOS.
    0x0004
}

/// Checks that `name`, taken from a file or an argument, is a plain file
/// name: one path component that stays in the folder it is joined to. Not
/// empty, not `.` or `..`, no `/` or `\`, no NUL or control characters, no
/// drive letter (`C:`), and not hidden (a leading `.`, which qualdex skips).
/// The error says what is wrong, lowercase, for a diagnostic.
pub fn check_plain_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is a folder reference, not a name"));
    }
    if name.contains(['/', '\\']) {
        return Err(format!(
            "`{name}` contains a path separator: give a plain name"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains a control character".into());
    }
    if name.contains(':') {
        return Err(format!(
            "`{name}` contains `:`, which is not allowed in a file name"
        ));
    }
    if name.starts_with('.') {
        return Err(format!(
            "`{name}` starts with `.`: hidden names are not allowed"
        ));
    }
    if name.len() > 200 {
        return Err("the name is longer than 200 bytes".into());
    }
    Ok(())
}

/// True when the relative path `rel` names something inside the folder it is
/// joined to: only plain components, no `..`, no root, no drive prefix.
pub fn is_contained_relative(rel: &Path) -> bool {
    use std::path::Component;
    !rel.as_os_str().is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn new_files_are_world_readable_and_existing_modes_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        super::write_atomic(&p, b"x").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        super::write_atomic(&p, b"y").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"y");
    }

    #[test]
    fn plain_names_stay_in_their_folder() {
        for ok in ["data-collection", "table 3", "anna.berg", "Åsa", "g7"] {
            assert!(super::check_plain_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../../README",
            "a/b",
            "a\\b",
            "/etc/passwd",
            "C:x",
            ".hidden",
            "a\u{0}b",
            "tab\there",
        ] {
            assert!(super::check_plain_name(bad).is_err(), "{bad:?}");
        }
        use std::path::Path;
        assert!(super::is_contained_relative(Path::new("a/b.txt")));
        assert!(super::is_contained_relative(Path::new("./a")));
        assert!(!super::is_contained_relative(Path::new("../a")));
        assert!(!super::is_contained_relative(Path::new("a/../../b")));
        assert!(!super::is_contained_relative(Path::new("/a")));
        assert!(!super::is_contained_relative(Path::new("")));
    }

    #[test]
    fn bounded_reads_refuse_folders_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(super::read_bounded(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(
            super::read_bounded(&p, 9),
            Err(super::InputError::TooLarge(9))
        ));
        assert!(matches!(
            super::read_bounded(dir.path(), 9),
            Err(super::InputError::NotRegular("folder"))
        ));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn bounded_reads_refuse_devices_and_fifos_without_blocking() {
        use std::path::Path;
        assert!(matches!(
            super::read_bounded(Path::new("/dev/zero"), 1024),
            Err(super::InputError::NotRegular("device"))
        ));
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            super::read_bounded(&fifo, 1024),
            Err(super::InputError::NotRegular("FIFO"))
        ));
    }
}

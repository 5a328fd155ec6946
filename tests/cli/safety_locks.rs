//! Lock files are qualdex's own and a study can ship them: a link is never
//! followed, a FIFO never blocks, and a command holding a lock while it is
//! stopped makes the others give up after a bounded wait instead of hanging
//! (issue 17, findings on the index's and the coders' lock files).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Run, TestStudy};

const CODEBOOK: &str = "themes:\n  label: Themes\n  codes:\n    space:\n      label: Space\n      rules:\n        - terms: [rocket]\n";

fn study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write(
        "corpus/a.txt",
        "Interviewer: Where?\n\nAnna: In the rocket hall, the rocket was big.\n",
    );
    s
}

/// Runs qualdex with `QUALDEX_LOCK_WAIT` set, killing it (and failing the
/// test) if it is still running after a minute: a blocked command must show
/// up as a failure, not as a test run that never ends.
fn run_bounded(cwd: &Path, wait_secs: &str, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("QUALDEX_LOCK_WAIT", wait_secs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run qualdex");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("qualdex {args:?} was still running after 60 s: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[cfg(unix)]
#[test]
fn lock_files_planted_as_links_create_nothing_outside_the_study() {
    let s = study();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(s.path().join(".qualdex")).unwrap();
    std::fs::create_dir_all(s.path().join("codings")).unwrap();
    for (link, target) in [
        (".qualdex/write.lock", "by-write-lock"),
        (".qualdex/read.lock", "by-read-lock"),
        ("codings/.anna.yaml.lock", "by-coder-lock"),
    ] {
        std::os::unix::fs::symlink(outside.path().join(target), s.path().join(link)).unwrap();
    }
    let e = s.fails(&["index", "-q"]);
    assert!(
        e.contains("write.lock") && e.contains("is a link") && e.contains("delete it"),
        "{e}"
    );
    let e = s.fails(&[
        "code",
        "add",
        "themes/space",
        "--doc",
        "a.txt",
        "--quote",
        "rocket hall",
        "--coder",
        "anna",
        "-q",
    ]);
    assert!(
        e.contains(".anna.yaml.lock") && e.contains("is a link"),
        "{e}"
    );
    assert!(
        !s.path().join("codings/anna.yaml").exists(),
        "nothing may be written when the lock cannot be taken"
    );
    let created: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(
        created.is_empty(),
        "files made outside the study: {created:?}"
    );
    // With the links removed, as the message says, everything works.
    for link in [
        ".qualdex/write.lock",
        ".qualdex/read.lock",
        "codings/.anna.yaml.lock",
    ] {
        std::fs::remove_file(s.path().join(link)).unwrap();
    }
    s.ok(&[
        "code",
        "add",
        "themes/space",
        "--doc",
        "a.txt",
        "--quote",
        "rocket hall",
        "--coder",
        "anna",
        "-q",
    ]);
    assert_eq!(s.ok(&["search", "rocket", "--count", "-q"]).trim(), "1");
}

#[cfg(unix)]
#[test]
fn a_fifo_as_a_lock_file_is_refused_without_blocking() {
    let s = study();
    std::fs::create_dir_all(s.path().join("codings")).unwrap();
    std::fs::create_dir_all(s.path().join(".qualdex")).unwrap();
    for fifo in ["codings/.anna.yaml.lock", ".qualdex/write.lock"] {
        let made = Command::new("mkfifo")
            .arg(s.path().join(fifo))
            .status()
            .expect("mkfifo");
        assert!(made.success());
    }
    let r = run_bounded(
        s.path(),
        "120",
        &[
            "code",
            "add",
            "themes/space",
            "--doc",
            "a.txt",
            "--quote",
            "rocket hall",
            "--coder",
            "anna",
            "-q",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(".anna.yaml.lock") && r.stderr.contains("not a regular file"),
        "{}",
        r.stderr
    );
    let r = run_bounded(s.path(), "120", &["index", "-q"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("write.lock") && r.stderr.contains("not a regular file"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_stopped_writer_holding_the_index_lock_delays_others_only_for_the_wait() {
    let s = study();
    s.ok(&["index", "-q"]);
    // This test process plays a qualdex stopped while it updates the index.
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.path().join(".qualdex/write.lock"))
        .unwrap();
    held.lock().unwrap();
    s.append("corpus/a.txt", "\nAnna: and another rocket went up.\n");
    // A search answers from the last good index, says so, and exits 3.
    let r = run_bounded(s.path(), "1", &["search", "rocket", "--count", "-q"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "1", "the last good index answers");
    assert!(
        r.stderr
            .contains("another qualdex command has been updating the index for 1 s")
            && r.stderr.contains("results come from the last good index"),
        "{}",
        r.stderr
    );
    // An explicit update is an error naming the lock, with nothing changed.
    let r = run_bounded(s.path(), "1", &["index"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("write.lock") && r.stderr.contains("QUALDEX_LOCK_WAIT"),
        "{}",
        r.stderr
    );
    // Once the holder goes, the next command brings the index up to date.
    drop(held);
    let r = run_bounded(s.path(), "1", &["search", "rocket", "--count", "-q"]);
    assert_eq!((r.code, r.stdout.trim()), (0, "2"), "{}", r.stderr);
}

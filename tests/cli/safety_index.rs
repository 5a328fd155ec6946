//! The index folder (`.qualdex/`) and data safety: nothing outside it is
//! ever read, written or deleted; an update killed at any step leaves an
//! index that the next command brings back to exactly what a clean rebuild
//! gives; a stale answer is never silent; read-only studies answer; abandoned
//! generations are removed when no command uses them; concurrent commands
//! keep the index whole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{Run, TestStudy};

/// The environment variable of the index's fault injection (see
/// `src/index/fault.rs`).
const FAULT: &str = "QUALDEX_FAULT";

const CODEBOOK: &str = "title: t\nversion: \"1\"\nunit: sentence\nthemes:\n  label: Themes\n  codes:\n    \
    risk:\n      label: Risk\n      rules:\n        - terms: [risk]\n    \
    money:\n      label: Money\n      rules:\n        - terms: [revenue, incentive]\n";

/// Transcript `i` in version `v`: versions differ in their words.
fn transcript(i: usize, v: usize) -> String {
    let words = [
        "risk",
        "revenue",
        "incentive",
        "dealer",
        "contract",
        "training",
    ];
    let w = |k: usize| words[(i * 7 + v * 3 + k) % words.len()];
    format!(
        "---\ncase: C{}\nrole: r{}\n---\nInterviewer: What about the {}?\n\n\
         Ana: The {} is shared with the {} and the {}. We talk about the {} again.\n\n\
         Interviewer: Version {v}?\n\nAna: It is the {} of transcript {i}.\n",
        i % 3,
        i % 2,
        w(0),
        w(1),
        w(2),
        w(3),
        w(4),
        w(5),
    )
}

fn doc_path(i: usize) -> String {
    format!("corpus/c{}/t{i}.md", i % 3)
}

/// A study of `n` generated transcripts with a codebook.
fn generated_study(n: usize) -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/c.yaml", CODEBOOK);
    for i in 0..n {
        s.write(&doc_path(i), transcript(i, 0));
    }
    s
}

/// Runs qualdex in the study with extra environment variables.
fn run_env(s: &TestStudy, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qualdex"));
    cmd.args(args).current_dir(s.path()).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run qualdex");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What the study answers: searches (each refreshing the index first, so
/// the first one brings it up to date) and the corpus table. Every command
/// must answer from an up-to-date index.
fn answers(s: &TestStudy) -> Vec<String> {
    let mut out = Vec::new();
    for q in [
        "risk",
        "revenue OR incentive",
        "code:themes/risk",
        "case:C1 AND code:themes/money",
        "\"with the dealer\"",
    ] {
        let r = s.run(&["search", q, "--format", "json", "--limit", "0"]);
        assert!(
            (r.code == 0 || r.code == 1) && !r.stderr.contains("not updated"),
            "search {q}: exit {}\n{}",
            r.code,
            r.stderr
        );
        out.push(r.stdout);
    }
    let r = s.run(&["corpus", "--format", "json"]);
    assert_eq!(r.code, 0, "corpus: {}", r.stderr);
    out.push(r.stdout);
    out
}

/// The entries of the index folder.
fn index_entries(s: &TestStudy) -> BTreeSet<String> {
    std::fs::read_dir(s.path().join(".qualdex"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The generation folders in the index folder.
fn generations(s: &TestStudy) -> BTreeSet<String> {
    index_entries(s)
        .into_iter()
        .filter(|n| n.starts_with('g') && n[1..].parse::<u64>().is_ok())
        .collect()
}

fn live(s: &TestStudy) -> String {
    String::from_utf8(s.read(".qualdex/CURRENT")).unwrap()
}

/// Only the live generation is left (no abandoned one, no temporary file).
fn assert_tidy(s: &TestStudy, context: &str) {
    let entries = index_entries(s);
    let expected: BTreeSet<String> = ["CURRENT", "read.lock", "write.lock", live(s).as_str()]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(entries, expected, "{context}");
}

/// Every file and folder under `dir`, with file contents.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, None));
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, Some(bytes)));
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Item 1: `CURRENT` is a generation name, never a path.

#[test]
fn a_current_file_pointing_outside_the_index_is_refused_and_nothing_is_touched() {
    let s = generated_study(4);
    s.ok(&["index"]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("tantivy")).unwrap();
    std::fs::write(outside.path().join("tantivy/keep.txt"), "precious").unwrap();
    std::fs::write(outside.path().join("manifest.json"), "{}").unwrap();
    let before = snapshot(outside.path());
    let name = outside.path().file_name().unwrap().to_str().unwrap();
    let relative = format!("../../{name}");
    let absolute = outside.path().to_str().unwrap().to_string();
    for target in [
        absolute.as_str(),
        relative.as_str(),
        "g1/../../..",
        "",
        "\u{1b}]0;x\u{7}",
    ] {
        s.write(".qualdex/CURRENT", target);
        for args in [
            &["search", "risk"][..],
            &["-q", "search", "risk"],
            &["index"],
            &["index", "--rebuild"],
            &["corpus"],
        ] {
            let r = s.run(args);
            assert_eq!(snapshot(outside.path()), before, "{target:?} {args:?}");
            let e = &r.stderr;
            assert!(
                r.code == 2
                    && r.stdout.is_empty()
                    && e.contains(".qualdex/CURRENT")
                    && e.contains("does not name an index generation")
                    && e.contains("delete `")
                    && !e.contains('\u{1b}'),
                "{target:?} {args:?}: exit {}\n{e}",
                r.code
            );
        }
    }
    // Deleting the index folder, as the message says, recovers.
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    assert!(!s.hits("risk", &[]).is_empty());
    assert_eq!(snapshot(outside.path()), before);
}

#[cfg(unix)]
#[test]
fn a_generation_that_is_a_link_is_never_followed() {
    let s = generated_study(4);
    s.ok(&["index"]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("tantivy")).unwrap();
    std::fs::write(outside.path().join("tantivy/keep.txt"), "precious").unwrap();
    let before = snapshot(outside.path());
    std::os::unix::fs::symlink(outside.path(), s.path().join(".qualdex/g40")).unwrap();
    // A link beside the live generation is not one of its generations: an
    // update neither follows it nor removes what it points to.
    s.write("corpus/c0/t0.md", transcript(0, 1));
    s.ok(&["index"]);
    s.ok(&["index", "--rebuild"]);
    assert_eq!(snapshot(outside.path()), before);
    // Named in `CURRENT`, it is refused.
    s.write(".qualdex/CURRENT", "g40");
    let e = s.fails(&["search", "risk"]);
    assert!(e.contains("not a folder qualdex made"), "{e}");
    assert_eq!(snapshot(outside.path()), before);
}

// ---------------------------------------------------------------------------
// Item 6: an interrupted update, a failed refresh.

#[test]
fn a_failed_refresh_is_reported_even_when_quiet_and_exits_3() {
    let s = generated_study(3);
    s.ok(&["index"]);
    s.write("corpus/c0/bad.md", "---\ncase: [unclosed\n---\nAna: risk\n");
    let r = s.run(&["-q", "search", "risk", "--count"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "3", "the last good index answers");
    assert!(
        r.stderr.contains("corpus/c0/bad.md") && r.stderr.contains("the index was not updated"),
        "{}",
        r.stderr
    );
    // --no-refresh asks for the index as it is: no check, no warning.
    let r = s.run(&["-q", "--no-refresh", "search", "risk", "--count"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
}

/// Where an update can be stopped (the `fault::point` names), and the
/// commands that run one.
const POINTS: [&str; 12] = [
    "locked",
    "opened",
    "link",
    "added",
    "commit",
    "committed",
    "merged",
    "caches",
    "manifest",
    "records",
    "published",
    "remove",
];

/// Edits that take the base corpus of [`generated_study`] to state A:
/// changed, added, deleted and touched transcripts and a new folder.
fn to_state_a(s: &TestStudy, n: usize) {
    s.write(&doc_path(1), transcript(1, 1));
    s.write(&doc_path(n), transcript(n, 0));
    s.write("corpus/new/extra.md", transcript(n + 1, 2));
    std::fs::remove_file(s.path().join(doc_path(2))).unwrap();
    s.write(&doc_path(3), transcript(3, 0));
}

/// Edits that take state A to state B.
fn to_state_b(s: &TestStudy, n: usize) {
    s.write(&doc_path(4), transcript(4, 3));
    std::fs::remove_file(s.path().join(doc_path(n))).unwrap();
}

/// Back from state A or B to the base corpus.
fn to_base(s: &TestStudy, n: usize) {
    for i in 0..n {
        s.write(&doc_path(i), transcript(i, 0));
    }
    for p in [doc_path(n), "corpus/new/extra.md".to_string()] {
        let _ = std::fs::remove_file(s.path().join(p));
    }
    let _ = std::fs::remove_dir(s.path().join("corpus/new"));
}

/// The answers of a clean rebuild of each state.
fn clean_answers(s: &TestStudy, n: usize) -> [Vec<String>; 3] {
    let clean = |s: &TestStudy| {
        let _ = std::fs::remove_dir_all(s.path().join(".qualdex"));
        s.ok(&["index"]);
        answers(s)
    };
    to_state_a(s, n);
    let a = clean(s);
    to_state_b(s, n);
    let b = clean(s);
    to_base(s, n);
    let base = clean(s);
    [base, a, b]
}

#[test]
fn an_update_stopped_at_any_step_is_recovered_by_the_next_command() {
    let n = 20;
    let s = generated_study(n);
    let [base, a, _] = clean_answers(&s, n);
    assert_ne!(base, a);
    let mut stopped: BTreeSet<&str> = BTreeSet::new();
    // The incremental update and a full rebuild (the refresh before a
    // search runs the same update: the recovering commands below are such
    // refreshes).
    let commands: [&[&str]; 2] = [&["index"], &["index", "--rebuild"]];
    for args in commands {
        for point in POINTS {
            // Stop at the 1st, 2nd, 5th, 13th… time the point is reached,
            // until the update gets past it.
            let mut k = (1u32, 1u32);
            loop {
                k = (k.1, k.0 + k.1);
                let hit = k.0;
                k = (k.1, k.0 + k.1);
                let what = format!("{args:?} stopped at {point}:{hit}");
                to_state_a(&s, n);
                let r = run_env(&s, args, &[(FAULT, &format!("{point}:{hit}"))]);
                if r.code != -1 {
                    assert!(r.code == 0 || r.code == 1, "{what}: {}", r.stderr);
                    assert_eq!(answers(&s), a, "{what} (not reached)");
                    to_base(&s, n);
                    s.ok(&["index"]);
                    break;
                }
                stopped.insert(point);
                // The next command recovers by itself: exactly the answers
                // of a clean rebuild, and only the live generation left.
                assert_eq!(answers(&s), a, "{what}");
                assert_tidy(&s, &what);
                // And the index is not wedged: the next edit goes in.
                to_base(&s, n);
                s.ok(&["-q", "index"]);
                assert_eq!(answers(&s), base, "{what}, then back");
            }
        }
    }
    assert_eq!(
        stopped,
        POINTS.into_iter().collect(),
        "every point stopped an update at least once"
    );
}

#[test]
fn an_index_left_wedged_by_an_interrupted_commit_is_updated_again() {
    // What a `kill -9` inside tantivy's commit left in an index of earlier
    // versions, which committed in place: delete files (`<segment>.<opstamp>.del`)
    // written for a commit that never finished, registered in tantivy's
    // list of its files but not in `meta.json`. The next commit of the
    // same edits writes the same names, and every update then failed with
    // `FileAlreadyExists`. Plant such files for every opstamp the next
    // commits can take.
    let n = 10;
    let s = generated_study(n);
    let [_, a, _] = clean_answers(&s, n);
    let tantivy = s.path().join(".qualdex").join(live(&s)).join("tantivy");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tantivy.join("meta.json")).unwrap()).unwrap();
    let opstamp = meta["opstamp"].as_u64().unwrap();
    let managed_path = tantivy.join(".managed.json");
    let mut managed: Vec<String> =
        serde_json::from_slice(&std::fs::read(&managed_path).unwrap()).unwrap();
    for seg in meta["segments"].as_array().unwrap() {
        let id = seg["segment_id"].as_str().unwrap().replace('-', "");
        for op in opstamp..opstamp + 400 {
            let name = format!("{id}.{op}.del");
            std::fs::write(tantivy.join(&name), b"left by a killed commit").unwrap();
            managed.push(name);
        }
    }
    std::fs::write(&managed_path, serde_json::to_vec(&managed).unwrap()).unwrap();
    to_state_a(&s, n);
    let r = s.run(&["index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(answers(&s), a);
    assert_tidy(&s, "after the update");
}

/// Waits for a child, killing it with SIGKILL after `ms` milliseconds if it
/// is still running. True when it was killed.
fn kill_after(mut child: Child, ms: u64) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let killed = matches!(child.try_wait(), Ok(None)) && child.kill().is_ok();
    let status = child.wait().unwrap();
    killed && status.code().is_none()
}

#[test]
fn kill_9_during_updates_then_the_next_command_equals_a_clean_rebuild() {
    // Real kills, at spread-out moments of an update (inside tantivy's
    // commit and merges too). When each kill lands varies from run to run;
    // what must hold after every one does not.
    let n = 150;
    let s = generated_study(n);
    let [base, a, _] = clean_answers(&s, n);
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qualdex"))
            .args(args)
            .current_dir(s.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long each kind of update takes here, to spread the kills over it.
    let timed = |args: &[&str]| {
        to_state_a(&s, n);
        let t = std::time::Instant::now();
        s.ok(args);
        let ms = u64::try_from(t.elapsed().as_millis()).unwrap().max(10);
        to_base(&s, n);
        s.ok(&["-q", "index"]);
        ms
    };
    let runs: [(&[&str], u64); 2] = [
        (&["-q", "index"], timed(&["-q", "index"])),
        (
            &["-q", "index", "--rebuild"],
            timed(&["-q", "index", "--rebuild"]),
        ),
    ];
    let mut killed = 0;
    for i in 0..12u64 {
        let (args, ms) = runs[usize::from(i % 3 == 2)];
        let at = ms * (i / 2 + 1) / 7;
        to_state_a(&s, n);
        killed += usize::from(kill_after(spawn(args), at));
        assert_eq!(answers(&s), a, "kill {i} of {args:?} at {at} ms");
        assert_tidy(&s, "after a kill");
        to_base(&s, n);
        s.ok(&["-q", "index"]);
        assert_eq!(answers(&s), base, "kill {i}, then back");
    }
    eprintln!("{killed} of 12 updates killed before they ended");
}

// ---------------------------------------------------------------------------
// Item 4: abandoned generations.

#[test]
fn abandoned_generations_are_removed_when_no_command_uses_them() {
    let s = generated_study(5);
    s.ok(&["index"]);
    let g = live(&s);
    // Left by a killed rebuild: a half-made generation, and a whole one
    // that was never switched in.
    std::fs::create_dir_all(s.path().join(".qualdex/g7/tantivy")).unwrap();
    s.write(
        ".qualdex/g7/tantivy/0123456789abcdef0123456789abcdef.idx",
        "half",
    );
    s.write(".qualdex/.tmpXy12ab", "g7");
    let copy = |name: &str| {
        for (p, bytes) in snapshot(&s.path().join(".qualdex").join(&g)) {
            let rel = p.strip_prefix(s.path().join(".qualdex").join(&g)).unwrap();
            let to = s.path().join(".qualdex").join(name).join(rel);
            match bytes {
                None => std::fs::create_dir_all(to).unwrap(),
                Some(b) => {
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::write(to, b).unwrap();
                }
            }
        }
    };
    copy("g8");
    // Another command is building a generation (it holds the write lock):
    // nothing is removed, and the search still answers.
    let write_lock = std::fs::File::create(s.path().join(".qualdex/write.lock")).unwrap();
    write_lock.lock().unwrap();
    assert!(!s.hits("risk", &[]).is_empty());
    assert!(generations(&s).contains("g7") && generations(&s).contains("g8"));
    drop(write_lock);
    // Then the next command cleans up, keeping the live generation.
    assert!(!s.hits("risk", &[]).is_empty());
    assert_eq!(live(&s), g);
    assert_tidy(&s, "after a search");

    // A reader still using the old generation keeps it until it is done.
    let read_lock = std::fs::File::open(s.path().join(".qualdex/read.lock")).unwrap();
    read_lock.lock_shared().unwrap();
    s.ok(&["-q", "index", "--rebuild"]);
    assert_ne!(live(&s), g);
    assert!(generations(&s).contains(&g), "in use: kept");
    drop(read_lock);
    s.ok(&["-q", "search", "risk"]);
    assert_tidy(&s, "after the reader finished");
}

// ---------------------------------------------------------------------------
// Concurrent updates and searches.

#[test]
fn concurrent_updates_and_searches_keep_the_index_whole() {
    let n = 20;
    let s = generated_study(n);
    let [base, a, b] = clean_answers(&s, n);
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qualdex"))
            .args(args)
            .current_dir(s.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..4 {
        for (state, expected) in [(0, &a), (1, &b), (2, &base)] {
            match state {
                0 => to_state_a(&s, n),
                1 => to_state_b(&s, n),
                _ => to_base(&s, n),
            }
            let children: Vec<Child> = (0..6)
                .map(|i| match i % 3 {
                    0 => spawn(&["-q", "index"]),
                    1 => spawn(&["-q", "search", "risk"]),
                    _ => spawn(&["-q", "index", "--rebuild"]),
                })
                .collect();
            for c in children {
                let out = c.wait_with_output().unwrap();
                let code = out.status.code();
                assert!(
                    code == Some(0) || code == Some(1),
                    "round {round}: {code:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert_eq!(&answers(&s), expected, "round {round}, state {state}");
            assert_tidy(&s, "after concurrent commands");
        }
    }
}

// ---------------------------------------------------------------------------
// Item 3: read-only studies.

/// Makes a folder tree read-only for this process, and writable again when
/// dropped. As root, permissions do not stop writes, so the immutable flag
/// (`chattr +i`) is used; `None` when neither works here.
struct ReadOnly {
    dir: PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn make(dir: &Path) -> Option<ReadOnly> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let ro = ReadOnly {
            dir: dir.to_path_buf(),
            immutable: root,
        };
        let ok = if root {
            Command::new("chattr")
                .args(["-R", "+i"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success())
        } else {
            Command::new("chmod")
                .args(["-R", "a-w"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success())
        };
        // Check that writes really fail.
        let probe = dir.join(".qualdex/probe");
        if !ok || std::fs::write(&probe, "x").is_ok() {
            let _ = std::fs::remove_file(&probe);
            return None;
        }
        Some(ro)
    }

    /// Runs `f` with `path` writable for a moment.
    fn with_writable(&self, path: &Path, f: impl FnOnce()) {
        let (undo, redo) = if self.immutable {
            (("chattr", "-i"), ("chattr", "+i"))
        } else {
            (("chmod", "u+w"), ("chmod", "a-w"))
        };
        assert!(
            Command::new(undo.0)
                .arg(undo.1)
                .arg(path)
                .status()
                .unwrap()
                .success()
        );
        f();
        assert!(
            Command::new(redo.0)
                .arg(redo.1)
                .arg(path)
                .status()
                .unwrap()
                .success()
        );
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = if self.immutable {
            Command::new("chattr")
                .args(["-R", "-i"])
                .arg(&self.dir)
                .status()
        } else {
            Command::new("chmod")
                .args(["-R", "u+w"])
                .arg(&self.dir)
                .status()
        };
    }
}

#[test]
fn a_read_only_study_is_searchable_and_says_when_its_index_is_stale() {
    let s = generated_study(6);
    s.ok(&["index"]);
    let fresh = answers(&s);
    let Some(ro) = ReadOnly::make(s.path()) else {
        eprintln!(
            "skipped: running as root without `chattr +i`, so the study cannot be made read-only"
        );
        return;
    };
    // Nothing to refresh: every command answers, as from a writable study.
    assert_eq!(answers(&s), fresh);
    let r = s.run(&["search", "risk", "--count"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("another qualdex"), "{}", r.stderr);
    // `qualdex index` has nothing to do either.
    s.ok(&["index"]);
    // The corpus changed but the index cannot be written: the last good
    // index answers, with a warning even under -q, and exit code 3.
    let changed = s.path().join(doc_path(0));
    ro.with_writable(&changed, || {
        std::fs::write(&changed, transcript(0, 5)).unwrap();
    });
    let r = s.run(&["-q", "search", "risk", "--count"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(!r.stdout.trim().is_empty());
    assert!(
        r.stderr.contains("cannot be written") && r.stderr.contains("the index was not updated"),
        "{}",
        r.stderr
    );
    let e = s.fails(&["index"]);
    assert!(e.contains("cannot be written (read-only)"), "{e}");
    drop(ro);
    // Writable again, it catches up.
    let r = s.run(&["search", "risk", "--count"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_read_only_study_without_an_index_says_it_cannot_build_one() {
    let s = generated_study(2);
    std::fs::create_dir_all(s.path().join(".qualdex")).unwrap();
    let Some(_ro) = ReadOnly::make(s.path()) else {
        eprintln!(
            "skipped: running as root without `chattr +i`, so the study cannot be made read-only"
        );
        return;
    };
    let e = s.fails(&["search", "risk"]);
    assert!(e.contains("cannot be written (read-only)"), "{e}");
}

//! Hostile and broken inputs: deep queries, zip bombs, FIFOs and devices,
//! deeply nested YAML. Each is a located error (exit 2), never a crash, a
//! hang or a flood. Runs that could hang are guarded: the child is killed
//! after a minute and the test fails.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Run, TestStudy};

/// How long a guarded run may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

/// Runs qualdex in the study folder, killing it (and failing) after
/// [`HANG`]; with `stack_kib`, the child's main thread gets that stack.
fn guarded(s: &TestStudy, args: &[&str], stack_kib: Option<u64>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qualdex"));
    cmd.args(args)
        .current_dir(s.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(target_os = "linux")]
    if let Some(kib) = stack_kib {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: kib * 1024,
                    rlim_max: kib * 1024,
                };
                if libc::setrlimit(libc::RLIMIT_STACK, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stack_kib;
    let mut child = cmd.spawn().expect("run qualdex");
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let reader = |mut p: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = p.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let (out_t, err_t) = (reader(Box::new(out)), reader(Box::new(err)));
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qualdex {args:?} hung: killed after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = status.code().unwrap_or_else(|| {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
        #[cfg(not(unix))]
        -1
    });
    Run {
        code,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// Asserts a guarded run failed cleanly (exit 2, no data) and returns stderr.
fn fails(s: &TestStudy, args: &[&str]) -> String {
    let r = guarded(s, args, None);
    assert_eq!(
        r.code, 2,
        "qualdex {args:?} should fail with 2\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.is_empty(), "an error prints no data: {}", r.stdout);
    r.stderr
}

fn small_study() -> TestStudy {
    let s = TestStudy::new();
    s.write(
        "corpus/a/one.txt",
        "Interviewer: What is hard?\n\nAnna: The risk is high. It is fine.\n",
    );
    s
}

/// `n` nested levels of each shape the parser nests: NOTs, `-`s,
/// parentheses, and `NOT (` groups.
fn nested(n: usize) -> Vec<String> {
    vec![
        format!("{}risk", "NOT ".repeat(n)),
        format!("{}risk", "-".repeat(n)),
        format!("{}risk{}", "(".repeat(n), ")".repeat(n)),
        format!("{}fine{}", "NOT (risk OR ".repeat(n / 2), ")".repeat(n / 2)),
    ]
}

#[test]
fn queries_nested_past_the_bound_are_located_errors_not_crashes() {
    let s = small_study();
    s.ok(&["index"]);
    for n in [300, 1_000, 6_000] {
        for q in nested(n) {
            for unit in ["paragraph", "sentence", "turn", "document"] {
                let e = fails(&s, &["search", "--unit", unit, "--", &q]);
                assert!(
                    e.contains("the query nests more than 256 levels of parentheses and `NOT`")
                        && e.contains("--> query:1:"),
                    "{n} {unit}: {e}"
                );
            }
        }
    }
    // The caret is under the first token past the bound.
    let e = fails(&s, &["search", &nested(300)[0]]);
    assert!(e.contains("--> query:1:1025"), "{e}");
    let e = fails(&s, &["search", &nested(300)[2]]);
    assert!(e.contains("--> query:1:257"), "{e}");
}

#[test]
fn a_query_of_too_many_terms_is_a_located_error() {
    let s = small_study();
    s.ok(&["index"]);
    let words = |n: usize| vec!["risk"; n].join(" OR ");
    let r = guarded(&s, &["search", &words(1000)], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for unit in ["paragraph", "sentence", "document"] {
        let e = fails(&s, &["search", "--unit", unit, "--", &words(1001)]);
        // The 1001st `risk`: 1000 of `risk OR ` before it.
        assert!(
            e.contains("more than 1,000 words, phrases and filters") && e.contains("query:1:8001"),
            "{unit}: {e}"
        );
    }
}

/// A study of 500 distinct words starting with `w`, so each `w*` stands
/// for 500 indexed words.
fn study_of_500_w_words() -> TestStudy {
    let s = TestStudy::new();
    let letters: Vec<char> = ('a'..='z').collect();
    let mut text = String::from("Interviewer: Tell me.\n\nAnna:");
    for i in 0..500 {
        let (a, b) = (letters[i % 26], letters[(i / 26) % 26]);
        text.push_str(&format!(" w{a}{b}x{}", ["", "y", "yy"][i / 260 % 3]));
    }
    text.push_str(".\n");
    s.write("corpus/a/words.txt", &text);
    s.ok(&["index"]);
    s
}

#[test]
fn prefixes_standing_for_too_many_words_are_refused_at_the_one_past_the_bound() {
    let s = study_of_500_w_words();
    let prefixes = |n: usize| vec!["w*"; n].join(" OR ");
    for unit in ["paragraph", "sentence"] {
        // 200 × 500 = 100,000 words: at the bound.
        let r = guarded(&s, &["search", "--unit", unit, &prefixes(200)], None);
        assert_eq!(r.code, 0, "{unit}: {}", r.stderr);
        let e = fails(&s, &["search", "--unit", unit, &prefixes(201)]);
        assert!(
            e.contains(
                "`w*` and the query's other prefixes stand for more than 100,000 indexed words"
            ) && e.contains("query:1:1201"),
            "{unit}: {e}"
        );
        assert_eq!(e.matches("error:").count(), 1, "one error says it: {e}");
    }
}

#[test]
fn queries_at_the_bound_run_in_a_quarter_of_the_usual_stack() {
    let s = small_study();
    s.ok(&["index"]);
    // A 2 MiB main thread (the usual one has 8 MiB), in a debug build.
    for q in nested(256) {
        for unit in ["paragraph", "sentence", "turn", "document"] {
            for format in ["kwic", "json"] {
                let r = guarded(
                    &s,
                    &["search", "--unit", unit, "--format", format, "--", &q],
                    Some(2048),
                );
                assert!(
                    r.code == 0 || r.code == 1,
                    "{unit} {format} {}: exit {}\n{}",
                    &q[..20],
                    r.code,
                    r.stderr
                );
            }
        }
    }
}

fn rule_codebook(query: &str) -> String {
    format!(
        "title: T\nfam:\n  codes:\n    c:\n      rules:\n        - query: '{}'\n          unit: sentence\n",
        query.replace('\'', "''")
    )
}

#[test]
fn a_codebook_rule_nested_too_deep_is_a_located_error_for_every_command() {
    for n in [300, 1_000, 6_000] {
        let s = small_study();
        s.use_codebook("codebooks/cb.yaml", rule_codebook(&nested(n)[2]));
        for cmd in [
            vec!["codebook", "check"],
            vec!["index"],
            vec!["search", "risk"],
            vec!["codebook", "show"],
        ] {
            let e = fails(&s, &cmd);
            assert!(
                e.contains("`fam/c` rule 1: bad query")
                    && e.contains("nests more than 256 levels")
                    && e.contains("--> codebooks/cb.yaml:6:"),
                "{n} {cmd:?}: {e}"
            );
            // The quoted query is cut, not printed whole.
            assert!(e.len() < 2_000, "{n} {cmd:?}: {} bytes", e.len());
        }
        let e = fails(&s, &["codebook", "check"]);
        // Column: `        - query: '` is 18 characters, then 257 `(`.
        assert!(e.contains("--> codebooks/cb.yaml:6:275"), "{e}");
    }
    // At the bound, the rule codes (in the indexer's worker threads).
    let s = small_study();
    s.use_codebook("codebooks/cb.yaml", rule_codebook(&nested(256)[3]));
    s.ok(&["index"]);
    assert_eq!(s.ok(&["search", "code:fam/c", "--count"]).trim(), "1");
}

/// A .docx whose `word/document.xml` inflates to `mib` MiB of XML.
fn zip_bomb(mib: usize) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    z.start_file("word/document.xml", SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"<w:document><w:body><w:p><w:r><w:t>").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..mib {
        z.write_all(&chunk).unwrap();
    }
    z.write_all(b"</w:t></w:r></w:p></w:body></w:document>")
        .unwrap();
    z.finish().unwrap();
    buf.into_inner()
}

#[test]
fn a_docx_zip_bomb_is_refused_naming_the_file() {
    let s = small_study();
    let bomb = zip_bomb(80);
    assert!(bomb.len() < 1 << 20, "a small file: {} bytes", bomb.len());
    s.write("corpus/a/bomb.docx", &bomb);
    let e = fails(&s, &["index"]);
    assert!(
        e.contains("corpus/a/bomb.docx")
            && e.contains("word/document.xml")
            && e.contains("more than 64 MiB"),
        "{e}"
    );
    std::fs::remove_file(s.path().join("corpus/a/bomb.docx")).unwrap();
    s.ok(&["index"]);
}

/// A .docx whose `word/document.xml` stops mid-way, as a copy cut short
/// by a full disk or an interrupted download leaves it.
fn truncated_docx() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    z.start_file("word/document.xml", SimpleFileOptions::default())
        .unwrap();
    z.write_all(
        b"<w:document><w:body><w:p><w:r><w:t>The first paragraph survived.</w:t></w:r></w:p>\
          <w:p><w:r><w:t>The second one was cut",
    )
    .unwrap();
    z.finish().unwrap();
    buf.into_inner()
}

#[test]
fn a_truncated_docx_is_an_error_not_half_a_transcript() {
    let s = small_study();
    s.write("corpus/a/cut.docx", truncated_docx());
    let e = fails(&s, &["index"]);
    assert!(
        e.contains("corpus/a/cut.docx") && e.contains("truncated"),
        "{e}"
    );
    std::fs::remove_file(s.path().join("corpus/a/cut.docx")).unwrap();
    s.ok(&["index"]);
}

#[cfg(target_os = "linux")]
fn mkfifo(p: &std::path::Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
#[cfg(target_os = "linux")]
fn fifos_and_devices_as_inputs_are_refused_without_blocking() {
    let refused = |e: &str, what: &str, name: &str| {
        assert!(
            e.contains(&format!("not a regular file (a {what})")) && e.contains(name),
            "{name}: {e}"
        );
    };
    // A codebook: a FIFO, then a link to /dev/zero.
    let s = small_study();
    s.use_codebook("codebooks/cb.yaml", "title: T\n");
    std::fs::remove_file(s.path().join("codebooks/cb.yaml")).unwrap();
    mkfifo(&s.path().join("codebooks/cb.yaml"));
    for cmd in [vec!["codebook", "check"], vec!["index"]] {
        refused(&fails(&s, &cmd), "FIFO", "codebooks/cb.yaml");
    }
    std::fs::remove_file(s.path().join("codebooks/cb.yaml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", s.path().join("codebooks/cb.yaml")).unwrap();
    for cmd in [vec!["codebook", "check"], vec!["index"]] {
        refused(&fails(&s, &cmd), "device", "codebooks/cb.yaml");
    }

    // Attribute sheets, a codings file, after a good index and before one.
    for name in [
        "corpus/documents.csv",
        "corpus/cases.csv",
        "codings/anna.yaml",
    ] {
        for indexed in [false, true] {
            let s = small_study();
            if indexed {
                s.ok(&["index"]);
            }
            mkfifo(&s.path().join(name));
            refused(&fails(&s, &["index"]), "FIFO", name);
        }
    }
    let s = small_study();
    mkfifo(&s.path().join("codings/anna.yaml"));
    refused(
        &fails(&s, &["codings", "check"]),
        "FIFO",
        "codings/anna.yaml",
    );

    // The study file, found or named by --study, and an imported CSV.
    let s = small_study();
    std::fs::remove_file(s.path().join("qualdex.yaml")).unwrap();
    mkfifo(&s.path().join("qualdex.yaml"));
    refused(&fails(&s, &["index"]), "FIFO", "qualdex.yaml");
    let s = small_study();
    mkfifo(&s.path().join("other.yaml"));
    refused(
        &fails(&s, &["--study", "other.yaml", "index"]),
        "FIFO",
        "other.yaml",
    );
    mkfifo(&s.path().join("import.csv"));
    refused(
        &fails(&s, &["codings", "import", "import.csv"]),
        "FIFO",
        "import.csv",
    );

    // A FIFO in the corpus folder is skipped, not read.
    let s = small_study();
    mkfifo(&s.path().join("corpus/a/two.txt"));
    let r = guarded(&s, &["index"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 document"), "{}", r.stderr);
}

/// A study can ship its `.qualdex/`: a FIFO or device in place of one of
/// the index's own files must not block, and the answer must still be
/// right (the cache is rebuilt around it).
#[test]
#[cfg(target_os = "linux")]
fn fifos_planted_in_a_shipped_index_never_block() {
    for name in ["manifest.json", "stamp.tsv", "forms.tsv", "runs.tsv"] {
        let s = small_study();
        s.ok(&["index"]);
        let current = String::from_utf8(s.read(".qualdex/CURRENT")).unwrap();
        let g = s.path().join(".qualdex").join(current.trim());
        let expected = guarded(&s, &["search", "risk", "--format", "csv"], None);
        std::fs::remove_file(g.join(name)).unwrap();
        mkfifo(&g.join(name));
        let r = guarded(&s, &["search", "risk", "--format", "csv"], None);
        assert_eq!(r.code, expected.code, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, expected.stdout, "{name}");
    }
    // A damaged one is never used quietly.
    let s = small_study();
    s.ok(&["index"]);
    let current = String::from_utf8(s.read(".qualdex/CURRENT")).unwrap();
    s.write(
        &format!(".qualdex/{}/manifest.json", current.trim()),
        "{ damaged",
    );
    let r = guarded(&s, &["corpus"], None);
    assert!(
        r.stderr.contains("manifest.json") && r.stderr.contains("--rebuild"),
        "{}",
        r.stderr
    );
    let s = small_study();
    s.ok(&["index"]);
    std::fs::remove_file(s.path().join(".qualdex/CURRENT")).unwrap();
    mkfifo(&s.path().join(".qualdex/CURRENT"));
    let r = guarded(&s, &["search", "risk"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("CURRENT"), "{}", r.stderr);
}

#[test]
fn deeply_nested_yaml_is_refused_with_a_located_error() {
    let deep = format!("{}{}", "[".repeat(40_000), "]".repeat(40_000));
    let one_error = |e: &str, at: &str| {
        assert!(
            e.contains("flow collections (`[`, `{`) nest more than 64 levels deep")
                && e.contains(at),
            "{at}: {e}"
        );
        assert_eq!(e.matches("error:").count(), 1, "{e}");
    };
    let s = small_study();
    s.use_codebook("codebooks/cb.yaml", format!("title: T\nfam: {deep}\n"));
    for cmd in [vec!["codebook", "check"], vec!["index"]] {
        one_error(&fails(&s, &cmd), "--> codebooks/cb.yaml:2:70");
    }
    let maps = format!("{}x{}", "{a: ".repeat(40_000), "}".repeat(40_000));
    s.use_codebook("codebooks/cb.yaml", format!("title: T\nfam: {maps}\n"));
    one_error(
        &fails(&s, &["codebook", "check"]),
        "--> codebooks/cb.yaml:2:262",
    );

    let s = small_study();
    s.write(
        "codings/anna.yaml",
        format!("coder: anna\ncodings: {deep}\n"),
    );
    one_error(&fails(&s, &["index"]), "--> codings/anna.yaml:2:74");

    let s = small_study();
    s.append("qualdex.yaml", &format!("title: {deep}\n"));
    one_error(&fails(&s, &["index"]), "qualdex.yaml:");

    let s = small_study();
    s.write(
        "corpus/a/two.md",
        format!("---\ncase: A\nrole: {deep}\n---\nAnna: hi\n"),
    );
    one_error(&fails(&s, &["index"]), "--> corpus/a/two.md:3:71");

    // Block nesting deeper than the parser's bound: one located error.
    let mut block = String::from("title: T\nfam:\n  codes:\n");
    let mut indent = String::from("    ");
    for i in 0..200 {
        block.push_str(&format!("{indent}c{i}:\n{indent}  codes:\n"));
        indent.push_str("    ");
    }
    let s = small_study();
    s.use_codebook("codebooks/cb.yaml", block);
    let e = fails(&s, &["codebook", "check"]);
    assert!(
        e.contains("the YAML nests more than 128 levels deep") && e.contains("codebooks/cb.yaml:"),
        "{e}"
    );
    assert_eq!(e.matches("error:").count(), 1, "{e}");
}

#[test]
fn every_structure_problem_of_a_codebook_is_reported_in_one_run() {
    let s = small_study();
    s.use_codebook(
        "codebooks/cb.yaml",
        "title: T\nfam:\n  label: F\n  codes:\n    a:\n      lable: A\n    b:\n      rules:\n        - terms: [x]\n        - trems: [y]\n    c:\n      label: [not, a, string]\n    \"bad id\":\n      label: x\nfam2:\n  descripton: y\n  codes:\n    a:\n      codes:\n        deep:\n          definiton: z\n",
    );
    let e = fails(&s, &["codebook", "check"]);
    for needle in [
        "fam.codes.a: unknown field `lable`",
        "--> codebooks/cb.yaml:6:7",
        "did you mean `label`?",
        "fam.codes.b.rules[1]: unknown field `trems`",
        "--> codebooks/cb.yaml:10:11",
        "fam.codes.c.label: invalid type: a list, expected a text",
        "code id `bad id` must be one word",
        "fam2: unknown field `descripton`",
        "fam2.codes.a.codes.deep: unknown field `definiton`",
        "--> codebooks/cb.yaml:21:11",
        "6 errors",
    ] {
        assert!(e.contains(needle), "missing {needle}:\n{e}");
    }
}

#[test]
fn every_structure_problem_of_the_study_file_and_a_codings_file_is_reported() {
    let s = small_study();
    s.write(
        "qualdex.yaml",
        "title: T\ncorpsu: corpus\nunit: paragrap\nspeakers:\n  patern: x\ntables:\n  - name: a\n    kind: corpus\n  - nmae: b\n    kind: corpus\n  - name: c\n",
    );
    let e = fails(&s, &["index"]);
    for needle in [
        "unknown field `corpsu`",
        "--> qualdex.yaml:2:1",
        "unit: unknown variant `paragrap`",
        "speakers: unknown field `patern`",
        "--> qualdex.yaml:5:3",
        "tables[1]: unknown field `nmae`",
        "--> qualdex.yaml:9:5",
        "tables[2]: missing field `kind`",
        "5 errors",
    ] {
        assert!(e.contains(needle), "missing {needle}:\n{e}");
    }

    let s = small_study();
    s.write(
        "codings/bo.yaml",
        "coder: bo\ncodings:\n  - code: fam/a\n    dco: a/one.txt\n    quote: risk\n    start: 0\n  - code: fam/a\n    doc: a/one.txt\n    quote: risk\n    start: many\nextra: 1\n",
    );
    let e = fails(&s, &["codings", "check"]);
    for needle in [
        "codings[0]: unknown field `dco`",
        "--> codings/bo.yaml:4:5",
        "codings[1]: invalid type: the text \"many\", expected a whole number (0 or more)",
        "unknown field `extra`",
        "3 errors",
    ] {
        assert!(e.contains(needle), "missing {needle}:\n{e}");
    }
}

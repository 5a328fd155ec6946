//! Where the folders really are: an index or `out/` reaching the corpus
//! through a link or `..`, links inside the corpus, codebook paths naming
//! files that are not codebooks, and generation folders qualdex did not
//! make (issue 17, findings on paths).

use crate::support::TestStudy;

const CODEBOOK: &str = "themes:\n  label: Themes\n  codes:\n    space:\n      label: Space\n      rules:\n        - terms: [rocket*]\n";

/// A study with two focus groups in corpus folders named like index
/// generations (`g1`, `g2`), the names an index clean-up deletes.
fn study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write(
        "corpus/a.txt",
        "Interviewer: Where?\n\nAnna: In the rocket hall, with my family.\n",
    );
    s.write(
        "corpus/g1/focus.txt",
        "Interviewer: Who?\n\nBen: Group one talks about rockets.\n",
    );
    s.write(
        "corpus/g2/focus.txt",
        "Interviewer: Who?\n\nCleo: Group two talks about rockets.\n",
    );
    s
}

fn set(s: &TestStudy, from: &str, to: &str) {
    let config = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    assert!(config.contains(from), "{config}");
    s.write("qualdex.yaml", config.replacen(from, to, 1));
}

fn transcripts(s: &TestStudy) -> Vec<String> {
    let mut out = Vec::new();
    for f in ["corpus/a.txt", "corpus/g1/focus.txt", "corpus/g2/focus.txt"] {
        out.push(String::from_utf8(s.read(f)).unwrap());
    }
    out
}

/// Every command refuses the study, the transcripts stay as they were.
fn refused_everywhere(s: &TestStudy, expect: &[&str]) {
    let before = transcripts(s);
    for args in [
        &["index", "-q"][..],
        &["search", "rocket", "--count", "-q"],
        &["run", "-q"],
    ] {
        let e = s.fails(args);
        for want in expect {
            assert!(e.contains(want), "{args:?}: {e}");
        }
        s.append("corpus/a.txt", "\nAnna: one more rocket.\n");
    }
    let after = transcripts(s);
    assert_eq!(after[1..], before[1..], "the focus groups must survive");
    assert!(after[0].starts_with(&before[0]));
}

#[test]
fn an_index_reaching_the_corpus_through_dot_dot_is_refused() {
    let s = study();
    // The study's own corpus, reached through its parent folder.
    let name = s.path().file_name().unwrap().to_str().unwrap().to_string();
    set(&s, "index: .qualdex", "index: corpus");
    set(&s, "corpus: corpus", &format!("corpus: ../{name}/corpus"));
    refused_everywhere(
        &s,
        &[
            "the index folder `corpus` is or holds the corpus folder",
            "`..` resolved",
        ],
    );
}

#[cfg(unix)]
#[test]
fn an_index_or_out_folder_linked_to_the_corpus_is_refused() {
    let s = study();
    std::os::unix::fs::symlink("corpus", s.path().join("idx")).unwrap();
    set(&s, "index: .qualdex", "index: idx");
    refused_everywhere(
        &s,
        &["the index folder `idx` is or holds the corpus folder"],
    );

    // `out -> corpus` and a table named after a transcript.
    let s = study();
    s.write(
        "corpus/interview-01.md",
        "Interviewer: Where?\n\nBo: In the rocket hall, my own words.\n",
    );
    std::os::unix::fs::symlink("corpus", s.path().join("out")).unwrap();
    s.append(
        "qualdex.yaml",
        "tables:\n  - name: interview-01\n    kind: corpus\n    formats: [md]\n",
    );
    let e = s.fails(&["run", "-q"]);
    assert!(
        e.contains("the output folder `out` is or lies inside the corpus folder `corpus`"),
        "{e}"
    );
    assert_eq!(
        s.read("corpus/interview-01.md"),
        b"Interviewer: Where?\n\nBo: In the rocket hall, my own words.\n"
    );
    // A link to a folder of its own inside the study is still fine.
    std::fs::remove_file(s.path().join("out")).unwrap();
    std::fs::create_dir(s.path().join("tables")).unwrap();
    std::os::unix::fs::symlink("tables", s.path().join("out")).unwrap();
    s.ok(&["run", "-q"]);
    assert!(s.path().join("tables/interview-01.md").is_file());
}

#[test]
fn index_clean_up_leaves_folders_named_like_generations_alone() {
    let s = study();
    s.ok(&["index", "-q"]);
    // Someone keeps their own `g7` in the index folder (or an archive holds
    // one): the clean-up after the next update must not delete it.
    s.write(".qualdex/g7/notes.txt", "my notes");
    s.append("corpus/a.txt", "\nAnna: the rocket again.\n");
    s.ok(&["index", "-q"]);
    s.append("corpus/a.txt", "\nAnna: and again, the rocket.\n");
    s.ok(&["index", "-q"]);
    assert_eq!(s.read(".qualdex/g7/notes.txt"), b"my notes");
    assert_eq!(s.ok(&["search", "rocket", "--count", "-q"]).trim(), "5");
}

#[test]
fn a_planted_last_generation_number_is_a_clear_error_not_a_panic() {
    let s = study();
    s.ok(&["index", "-q"]);
    std::fs::create_dir(s.path().join(".qualdex/g999999999999")).unwrap();
    s.append("corpus/a.txt", "\nAnna: one more rocket line.\n");
    let r = s.run(&["search", "rocket", "--count", "-q"]);
    assert_eq!(r.code, 3, "a stale answer, said so: {}", r.stderr);
    assert!(
        r.stderr.contains("numbered up to 999999999999")
            && r.stderr.contains("delete the index folder"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // As the message says: the index is a cache.
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    assert_eq!(s.ok(&["search", "rocket", "--count", "-q"]).trim(), "4");
}

#[cfg(unix)]
#[test]
fn links_in_the_corpus_are_counted_and_never_read_or_coded() {
    let s = study();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("s.txt"),
        "Interviewer: Hi?\n\nDan: A shared rocket story, private.\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("s.txt"),
        s.path().join("corpus/shared.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink("g1", s.path().join("corpus/linked-group")).unwrap();
    std::os::unix::fs::symlink("a.txt", s.path().join("corpus/again.txt")).unwrap();
    let r = s.run(&["index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("skipped 3 symbolic links in the corpus"),
        "{}",
        r.stderr
    );
    assert_eq!(s.ok(&["search", "rocket", "--count", "-q"]).trim(), "3");
    for doc in ["shared.txt", "corpus/again.txt", "linked-group/focus.txt"] {
        let e = s.fails(&[
            "code",
            "add",
            "themes/space",
            "--doc",
            doc,
            "--quote",
            "rocket",
            "--coder",
            "anna",
            "-q",
        ]);
        assert!(
            e.contains("symbolic link") && e.contains("does not follow links"),
            "{doc}: {e}"
        );
        let e = s.fails(&["text", doc]);
        assert!(e.contains("symbolic link"), "{doc}: {e}");
        assert!(!e.contains("private"), "{e}");
    }
    assert!(!s.path().join("codings/anna.yaml").exists());
    let e = s.fails(&["text", "shared.txt"]);
    assert!(e.contains("`shared.txt` is a symbolic link"), "{e}");
    let e = s.fails(&["text", "linked-group/focus.txt"]);
    assert!(
        e.contains("through the symbolic link `linked-group`"),
        "{e}"
    );
}

#[test]
fn a_codebook_path_must_name_a_yaml_codebook() {
    let s = study();
    let outside = tempfile::tempdir().unwrap();
    // A file in /etc/shadow's format: its lines end in `:` and so parse as
    // YAML keys.
    let secret = "root:$6$SECRETHASH:20228:0:99999:7:::\n";
    std::fs::write(outside.path().join("credentials"), secret).unwrap();
    let name = outside.path().file_name().unwrap().to_str().unwrap();
    set(
        &s,
        "codebooks: [codebooks/cb.yaml]",
        &format!("codebooks: [codebooks/cb.yaml, ../{name}/credentials]"),
    );
    for args in [
        &["codebook", "check"][..],
        &["codebook", "show"],
        &["run", "-q"],
    ] {
        let e = s.fails(args);
        assert!(
            e.contains("does not end in `.yaml` or `.yml`"),
            "{args:?}: {e}"
        );
        assert!(!e.contains("SECRETHASH"), "{e}");
    }
    assert!(!s.path().join("out/report.html").exists());
    // Named .yaml, it is still not a codebook: each line is an empty family.
    set(&s, &format!("../{name}/credentials"), "codebooks/c.yaml");
    s.write("codebooks/c.yaml", secret);
    let e = s.fails(&["codebook", "check"]);
    assert!(
        e.contains("is empty: it has no label and no codes") && e.contains("codebooks/c.yaml:1"),
        "{e}"
    );
    s.fails(&["run", "-q"]);
    assert!(!s.path().join("out/report.html").exists());
}

/// A file where qualdex keeps a folder (`.qualdex` left by another tool,
/// a `codings` or `out` file) is an error naming it, before anything is
/// written, and the file is left as it was.
#[test]
fn a_file_where_qualdex_keeps_a_folder_is_named_and_left_alone() {
    let search = &["search", "rocket", "--count", "-q"][..];
    let add = &["code", "add", "space", "--doc", "a.txt", "--coder", "anna"][..];
    let run = &["run", "-q"][..];
    // Every command keeps its index and reads the codings; only `run` and
    // `report` (without `-o`) write in `out`, so `out` stops only them.
    for (name, refused) in [
        (".qualdex", vec![search, add, run]),
        ("codings", vec![search, add, run]),
        ("out", vec![run, &["report", "-q"]]),
    ] {
        let s = study();
        let _ = std::fs::remove_dir_all(s.path().join(name));
        s.write(name, "someone else's file\n");
        for args in refused {
            let e = s.fails(args);
            assert!(
                e.contains(&format!(
                    "`{name}` is a file, but qualdex keeps a folder there"
                )),
                "{name} {args:?}: {e}"
            );
        }
        assert_eq!(
            String::from_utf8(s.read(name)).unwrap(),
            "someone else's file\n",
            "{name}"
        );
        assert!(!s.path().join("out/overview.csv").exists());
    }
}

//! Bad input: one clear message with file:line(:col), a non-zero exit, no
//! data on stdout, and the last good index left in place.

use crate::ingest::mixed_study;
use crate::support::TestStudy;

#[test]
fn malformed_front_matter_names_file_and_line() {
    let s = mixed_study();
    s.ok(&["index"]);
    s.write(
        "corpus/alfa/bad.md",
        "---\ncase: Alfa\nrole: [unclosed\n---\nInterviewer: hi\n",
    );
    let e = s.fails(&["index"]);
    assert!(e.contains("error: malformed front matter"), "{e}");
    assert!(e.contains("corpus/alfa/bad.md:"), "{e}");
    // Nothing half-written: the last good index still answers, and says so
    // (exit code 3: the answer may be stale).
    let r = s.run(&["search", "\"business model\"", "--count"]);
    assert_eq!((r.code, r.stdout.trim()), (3, "1"));
    assert!(
        r.stderr.contains("malformed front matter")
            && r.stderr.contains("results come from the last good index"),
        "{}",
        r.stderr
    );
    let r = s.run(&["search", "path:alfa/bad.md", "--count"]);
    assert_eq!(r.stdout.trim(), "0");
}

#[test]
fn unclosed_front_matter_and_nested_values() {
    let s = TestStudy::new();
    s.write("corpus/a/x.md", "---\ncase: A\nInterviewer: hi\n");
    let e = s.fails(&["index"]);
    assert!(
        e.contains("front matter is not closed") && e.contains("corpus/a/x.md:1:1"),
        "{e}"
    );
    s.write(
        "corpus/a/x.md",
        "---\ncase: A\nroles:\n  - a\n---\nInterviewer: hi\n",
    );
    let e = s.fails(&["index"]);
    assert!(
        e.contains("attribute `roles` is not a single value") && e.contains("corpus/a/x.md:3:1"),
        "{e}"
    );
}

#[test]
fn every_bad_file_is_reported_in_one_run() {
    let s = TestStudy::new();
    s.write("corpus/a/x.md", "---\ncase: [\n---\n");
    s.write("corpus/a/y.txt", b"Bo: \xff\n".as_slice());
    s.write("corpus/a/z.vtt", "not a vtt\n");
    s.write("corpus/a/w.docx", "not a zip");
    let e = s.fails(&["index"]);
    for needle in [
        "a/x.md",
        "a/y.txt",
        "not valid UTF-8",
        "WEBVTT",
        "cannot read the Word document",
        "4 errors",
    ] {
        assert!(e.contains(needle), "missing {needle}: {e}");
    }
    assert!(
        !s.path().join(".qualdex/CURRENT").exists(),
        "no index may be written"
    );
}

#[test]
fn bad_csv_rows_and_missing_columns() {
    let s = mixed_study();
    s.write(
        "corpus/documents.csv",
        "path,role\nbeta/p-01.txt,manager,extra\nbeta/p-02.vtt,x\nbeta/p-02.vtt,y\n",
    );
    let e = s.fails(&["index"]);
    assert!(
        e.contains("row has 3 fields but the header has 2") && e.contains("corpus/documents.csv:2"),
        "{e}"
    );
    assert!(
        e.contains("duplicate path `beta/p-02.vtt` (first on line 3)")
            && e.contains("corpus/documents.csv:4"),
        "{e}"
    );
    s.write("corpus/documents.csv", "file,role\nbeta/p-01.txt,manager\n");
    s.write("corpus/cases.csv", "kase,size\nAlfa,big\n");
    let e = s.fails(&["index"]);
    assert!(
        e.contains("missing column `path`") && e.contains("add a `path` column"),
        "{e}"
    );
    assert!(
        e.contains("missing column `case`") && e.contains("rename the column `kase` to `case`"),
        "{e}"
    );
}

#[test]
fn unknown_attribute_in_a_query_suggests_the_right_one() {
    let s = mixed_study();
    let e = s.fails(&["search", "risk AND rol:manager"]);
    assert!(e.contains("error: unknown field `rol`"), "{e}");
    assert!(e.contains("--> query:1:10"), "{e}");
    assert!(e.contains("did you mean `role`?"), "{e}");
    let e = s.fails(&["search", "risk", "--by", "sid"]);
    assert!(
        e.contains("unknown attribute `sid`") && e.contains("did you mean `side`?"),
        "{e}"
    );
    let e = s.fails(&["corpus", "--by", "rloe"]);
    assert!(e.contains("did you mean `role`?"), "{e}");
}

#[test]
fn query_syntax_errors_point_at_the_column() {
    let s = mixed_study();
    for (q, msg, col) in [
        ("risk AND (contract", "unclosed parenthesis", 10),
        ("\"revenue model", "unclosed quote", 1),
        ("risk OR", "the query ends too early", 8),
        ("respondent:maybe", "`respondent:` takes true or false", 12),
        ("\"a b\"~x", "`~` must be followed by a number", 6),
    ] {
        let e = s.fails(&["search", q]);
        assert!(e.contains(msg), "{q}: {e}");
        assert!(e.contains(&format!("--> query:1:{col}")), "{q}: {e}");
    }
}

#[test]
fn missing_corpus_folder_and_bad_study_file() {
    let s = TestStudy::new();
    std::fs::remove_dir_all(s.path().join("corpus")).unwrap();
    let e = s.fails(&["index"]);
    assert!(
        e.contains("the corpus folder `corpus` does not exist") && e.contains("qualdex.yaml"),
        "{e}"
    );
    s.write("qualdex.yaml", "corpus: corpus\nlanguag: english\n");
    let e = s.fails(&["index"]);
    assert!(
        e.contains("unknown field `languag`")
            && e.contains("qualdex.yaml:2:1")
            && e.contains("did you mean `language`?"),
        "{e}"
    );
    s.write("qualdex.yaml", "corpus: [corpus\n");
    let e = s.fails(&["index"]);
    assert!(e.contains("qualdex.yaml:"), "{e}");
    s.write("qualdex.yaml", "speakers:\n  pattern: '(?P<who>x'\n");
    let e = s.fails(&["index"]);
    assert!(
        e.contains("not a valid regular expression") && e.contains("qualdex.yaml:2"),
        "{e}"
    );
}

#[test]
fn a_broken_generation_pointer_is_rebuilt_not_fatal() {
    let s = mixed_study();
    s.ok(&["index"]);
    std::fs::write(s.path().join(".qualdex/CURRENT"), "g99").unwrap();
    assert_eq!(s.hits("\"business model\"", &[]).len(), 1);
}

#[test]
fn help_shows_examples_for_every_command() {
    let s = TestStudy::new();
    // Every subcommand listed by `qualdex --help` must show examples.
    let top = s.ok(&["--help"]);
    assert!(top.contains("Examples:"), "{top}");
    let commands: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect();
    assert!(commands.len() >= 13, "{commands:?}");
    for cmd in &commands {
        let out = s.ok(&[cmd.as_str(), "--help"]);
        assert!(
            out.contains("Examples:"),
            "`qualdex {cmd} --help` has no examples:\n{out}"
        );
    }
}

#[test]
fn closed_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let s = mixed_study();
    s.ok(&["index"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(["search", "NOT zzz", "--unit", "sentence", "--limit", "0"])
        .current_dir(s.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here: the pipe closes early.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success() || status.code() == Some(0),
        "{status:?} {err}"
    );
    assert!(!err.contains("error"), "{err}");
}

/// A codebook value of the wrong type (a number where a text or list is
/// wanted, a text where a list is wanted) is named by its own key, located
/// at it, and says in words what was found and what is expected.
#[test]
fn a_codebook_value_of_the_wrong_type_is_named_and_located() {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "themes:\n  label: Themes\n  codes:\n    space:\n      label: Space\n      examples: 5\n      rules:\n        - terms: rocket\n        - terms: [a]\n          respondent: maybe\n",
    );
    let e = s.fails(&["codebook", "check"]);
    for want in [
        "themes.codes.space.examples: invalid type: the number `5`, expected a text or a list of texts",
        "codebooks/cb.yaml:6:17",
        "themes.codes.space.rules[0].terms: invalid type: the text \"rocket\", expected a list, such as `[a, b]`",
        "codebooks/cb.yaml:8:11",
        "themes.codes.space.rules[1].respondent: invalid type: the text \"maybe\", expected `true` or `false`",
        "codebooks/cb.yaml:10:11",
        "3 errors",
    ] {
        assert!(e.contains(want), "{want}\n{e}");
    }
    assert!(!e.contains("untagged enum"), "{e}");
}

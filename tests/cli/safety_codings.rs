//! Manual codings are never lost or misfiled: concurrent writers, coder
//! names, document arguments, idempotent import, unknown coders, attribute
//! rows that match nothing, leftover temp files (issue 17, items 3, 4, 5,
//! 9, 10 and the temp-file cleanup).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::TestStudy;

const CODEBOOK: &str = "challenges:\n  label: Challenges\n  codes:\n    risk:\n      label: Risk\n      rules:\n        - terms: [nothing-matches-this]\n    trust:\n      label: Trust\n";

/// Lines in `corpus/long.txt`, one coding per line in the concurrency tests.
const LINES: usize = 120;

fn study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    let mut long = String::new();
    for i in 1..=LINES {
        long.push_str(&format!(
            "Anna: statement number {i} about the shared risk.\n"
        ));
    }
    s.write("corpus/long.txt", long);
    s.write(
        "corpus/x.txt",
        "Interviewer: What about risk?\n\nAnna: We carry the risk every single day.\n\nAnna: Trust came later, slowly.\n",
    );
    s.write(
        "corpus/alfa/y.txt",
        "Interviewer: And you?\n\nBo: We share the risk with the dealers.\n",
    );
    s
}

/// Starts a qualdex process in `cwd` without waiting for it.
fn spawn(cwd: &Path, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qualdex")
}

/// Runs every command at once; asserts each succeeded.
fn all_at_once(cwd: &Path, commands: Vec<Vec<String>>) {
    let children: Vec<(Vec<String>, Child)> = commands
        .into_iter()
        .map(|c| {
            let child = spawn(cwd, &c);
            (c, child)
        })
        .collect();
    for (args, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "qualdex {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn add_line(coder: &str, line: usize) -> Vec<String> {
    ["code", "add", "risk", "--doc", "long.txt", "--lines"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{line}-{line}"), "--coder".into(), coder.into()])
        .collect()
}

/// The codings of one coder's file: (code, doc, quote), parsed from YAML.
fn codings_of(s: &TestStudy, coder: &str) -> Vec<(String, String, String)> {
    let text = String::from_utf8(s.read(&format!("codings/{coder}.yaml"))).unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(v["coder"].as_str(), Some(coder));
    v["codings"]
        .as_sequence()
        .map(|seq| {
            seq.iter()
                .map(|m| {
                    (
                        m["code"].as_str().unwrap().to_string(),
                        m["doc"].as_str().unwrap().to_string(),
                        m["quote"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn line_numbers(s: &TestStudy, coder: &str) -> Vec<usize> {
    let mut v: Vec<usize> = codings_of(s, coder)
        .iter()
        .map(|(_, _, q)| {
            q.split_whitespace()
                .nth(3)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected quote {q}"))
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn a_hundred_parallel_adds_for_one_coder_keep_every_coding() {
    let s = study();
    s.ok(&["index"]);
    for round in 0..3 {
        let coder = format!("anna{round}");
        let commands = (1..=100).map(|i| add_line(&coder, i)).collect();
        all_at_once(s.path(), commands);
        assert_eq!(
            line_numbers(&s, &coder),
            (1..=100).collect::<Vec<_>>(),
            "round {round}: a concurrent add was lost"
        );
    }
}

#[test]
fn parallel_adds_over_several_coders_keep_every_coding() {
    let s = study();
    s.ok(&["index"]);
    let coders = ["anna", "bo", "chen", "dee"];
    for round in 0..2 {
        // 60 processes, interleaved over four coder files.
        let commands = (0..60)
            .map(|i| add_line(coders[i % 4], round * 60 + i + 1))
            .collect();
        all_at_once(s.path(), commands);
    }
    for (k, c) in coders.iter().enumerate() {
        let want: Vec<usize> = (0..120)
            .filter(|i| i % 60 % 4 == k)
            .map(|i| i + 1)
            .collect();
        assert_eq!(line_numbers(&s, c), want, "coder {c}");
    }
    // Every coding is visible, too.
    let r = s.run(&["passages", "risk", "--format", "json"]);
    assert_eq!(r.stdout.lines().count(), 120, "{}", r.stderr);
}

#[test]
fn removals_racing_additions_lose_neither() {
    let s = study();
    s.ok(&["index"]);
    let mut csv = String::from("document,start,end,code\n");
    let text = String::from_utf8(s.read("corpus/long.txt")).unwrap();
    let mut offset = 0;
    for (i, line) in text.lines().enumerate() {
        let len = line.chars().count();
        if i < 30 {
            csv.push_str(&format!("long.txt,{offset},{},risk\n", offset + len));
        }
        offset += len + 1;
    }
    s.write("first.csv", csv);
    s.ok(&["codings", "import", "first.csv", "--coder", "anna"]);
    assert_eq!(line_numbers(&s, "anna"), (1..=30).collect::<Vec<_>>());
    for round in 0..2 {
        let (gone, added) = if round == 0 {
            (1..=30, 31..=60)
        } else {
            (31..=45, 61..=90)
        };
        let mut commands: Vec<Vec<String>> = Vec::new();
        for r in gone {
            let mut rm = add_line("anna", r);
            rm[1] = "rm".into();
            commands.push(rm);
        }
        // Interleave, so removals and additions start side by side.
        for (i, a) in added.enumerate() {
            commands.insert((2 * i).min(commands.len()), add_line("anna", a));
        }
        all_at_once(s.path(), commands);
        let want: Vec<usize> = if round == 0 {
            (31..=60).collect()
        } else {
            (46..=90).collect()
        };
        assert_eq!(line_numbers(&s, "anna"), want, "round {round}");
    }
}

#[test]
fn a_name_typed_with_decomposed_accents_is_the_same_coder() {
    let s = study();
    let (composed, decomposed) = ("Jos\u{e9}", "Jose\u{301}");
    let add = |coder: &str, quote: &str| {
        s.ok(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", quote, "--coder", coder,
        ]);
    };
    add(decomposed, "carry the risk");
    add(composed, "every single day");
    let files: Vec<String> = std::fs::read_dir(s.path().join("codings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(files, [format!("{composed}.yaml")]);
    assert_eq!(codings_of(&s, composed).len(), 2);
    // --source and the listing's --coder find the coder by either spelling.
    let list = s.ok(&["codings", "list", "--coder", decomposed, "--format", "csv"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    let t = s.ok(&[
        "table",
        "matrix",
        "--rows",
        "challenges",
        "--cols",
        "case",
        "--source",
        decomposed,
        "--format",
        "csv",
    ]);
    assert!(t.contains("risk"), "{t}");

    // A file written decomposed (as macOS names it) is the same coder too;
    // beside the composed one, the two are refused as one name.
    s.write(
        &format!("codings/{decomposed}.yaml"),
        format!("coder: {decomposed}\ncodings: []\n"),
    );
    let err = s.fails(&["codings", "list"]);
    assert!(err.contains("how their accents are encoded"), "{err}");
    std::fs::remove_file(s.path().join(format!("codings/{composed}.yaml"))).unwrap();
    add(composed, "Trust came later");
    assert_eq!(codings_of(&s, decomposed).len(), 1);
}

#[test]
fn windows_device_names_and_names_too_long_for_a_file_are_refused() {
    let s = study();
    let long = "\u{23a}".repeat(100);
    for bad in [
        "COM\u{b9}",
        "lpt\u{b3}.notes",
        "com1 .x",
        "CONIN$",
        "nul .txt",
        long.as_str(),
    ] {
        let err = s.fails(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", "Trust", "--coder", bad,
        ]);
        assert!(err.contains("invalid coder name"), "{bad}: {err}");
    }
    assert!(
        !s.path().join("codings").exists()
            || std::fs::read_dir(s.path().join("codings"))
                .unwrap()
                .all(|e| e.unwrap().file_name().to_string_lossy().starts_with('.'))
    );
    for ok in ["com10", "compa\u{f1}\u{ed}a", "console"] {
        s.ok(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", "Trust", "--coder", ok,
        ]);
    }
}

#[test]
fn coder_names_map_to_distinct_files_and_never_overwrite_another_coder() {
    let s = study();
    let add = |coder: &str, quote: &str| {
        s.ok(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", quote, "--coder", coder,
        ]);
    };
    add("anna.berg", "carry the risk");
    add("anna_berg", "every single day");
    assert_eq!(codings_of(&s, "anna.berg")[0].2, "carry the risk");
    assert_eq!(codings_of(&s, "anna_berg")[0].2, "every single day");
    let list = s.ok(&["codings", "list", "--format", "csv"]);
    assert!(
        list.contains("anna.berg,") && list.contains("anna_berg,"),
        "{list}"
    );

    // A file whose recorded coder is not its name: an error, never written.
    let foreign = "coder: anna\ncodings: []\n";
    s.write("codings/bob.yaml", foreign);
    let err = s.fails(&[
        "code", "add", "risk", "--doc", "x.txt", "--quote", "Trust", "--coder", "bob",
    ]);
    assert!(
        err.contains("`bob.yaml` records the coder `anna`")
            && err.contains("codings/bob.yaml:1")
            && err.contains("rename the file to `anna.yaml`"),
        "{err}"
    );
    assert_eq!(s.read("codings/bob.yaml"), foreign.as_bytes());
    std::fs::remove_file(s.path().join("codings/bob.yaml")).unwrap();

    // Two files claiming one coder.
    s.write("codings/anna.berg.yml", "coder: anna.berg\ncodings: []\n");
    let err = s.fails(&["codings", "list"]);
    assert!(err.contains("coder `anna.berg` also has the file"), "{err}");
    std::fs::remove_file(s.path().join("codings/anna.berg.yml")).unwrap();

    // Names differing only in case would be one file on macOS and Windows.
    let err = s.fails(&[
        "code",
        "add",
        "risk",
        "--doc",
        "x.txt",
        "--quote",
        "Trust",
        "--coder",
        "Anna.Berg",
    ]);
    assert!(
        err.contains("only in case") && err.contains("--coder anna.berg"),
        "{err}"
    );

    // No coder name can write outside codings/ or shadow a --source keyword.
    for bad in [
        "../evil", "a/b", "..", ".hidden", "con", "auto", "x:y", "a*b", " anna",
    ] {
        let err = s.fails(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", "Trust", "--coder", bad,
        ]);
        assert!(err.contains("invalid coder name"), "{bad}: {err}");
    }
    assert!(!s.path().join("evil.yaml").exists());
    let mut files: Vec<String> = std::fs::read_dir(s.path().join("codings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(files, ["anna.berg.yaml", "anna_berg.yaml"]);

    // An import row's coder is checked the same way.
    s.write(
        "imp.csv",
        "document,start,end,code,coder\nx.txt,0,5,risk,../evil\n",
    );
    let err = s.fails(&["codings", "import", "imp.csv"]);
    assert!(
        err.contains("invalid coder") && err.contains("imp.csv:2"),
        "{err}"
    );
}

fn passages(s: &TestStudy, code: &str) -> Vec<Value> {
    let r = s.run(&["passages", code, "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_document_named_with_accents_encoded_otherwise_is_the_file_on_disk() {
    let s = study();
    let (on_disk, typed) = ("Z\u{fc}rich/caf\u{e9}.txt", "Zu\u{308}rich/cafe\u{301}.txt");
    s.write(
        &format!("corpus/{on_disk}"),
        "Interviewer: Risks?\n\nEva: The risk sits with the owner.\n",
    );
    s.write(
        "corpus/documents.csv",
        format!("path,role\n{typed},owner\n"),
    );
    if s.path().join("corpus").join(typed).exists() {
        // A file system that ignores the encoding (macOS): nothing to tell.
        return;
    }
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        typed,
        "--quote",
        "sits with",
        "--coder",
        "anna",
    ]);
    assert_eq!(codings_of(&s, "anna")[0].1, on_disk);
    // The row typed decomposed applies to the file, with no warning.
    let r = s.run(&["search", "code:risk", "--source", "anna", "--by", "role"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("owner"), "{}", r.stdout);
    assert!(!r.stderr.contains("matches no transcript"), "{}", r.stderr);
}

#[test]
fn every_spelling_of_a_document_argument_codes_the_same_document() {
    let s = study();
    let abs = s.path().join("corpus/x.txt");
    let abs = abs.to_str().unwrap();
    let alfa = s.path().join("corpus/alfa");
    let corpus = s.path().join("corpus");
    let cases: Vec<(&Path, &str, &str)> = vec![
        (s.path(), "./x.txt", "carry the risk"),
        (s.path(), "corpus/x.txt", "every single day"),
        (s.path(), abs, "Trust came later"),
        (&alfa, "y.txt", "share the risk"),
        (&alfa, "alfa/y.txt", "with the dealers"),
        (&corpus, "./alfa/y.txt", "Bo: We"),
    ];
    for (cwd, doc, quote) in &cases {
        let r = s.run_in(
            cwd,
            &[
                "code", "add", "risk", "--doc", doc, "--quote", quote, "--coder", "anna",
            ],
        );
        assert_eq!(r.code, 0, "--doc {doc}: {}", r.stderr);
    }
    let mut stored: Vec<String> = codings_of(&s, "anna").into_iter().map(|c| c.1).collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            "alfa/y.txt",
            "alfa/y.txt",
            "alfa/y.txt",
            "x.txt",
            "x.txt",
            "x.txt"
        ]
    );
    // Visible in passages, search and tables.
    let p = passages(&s, "risk");
    let mut texts: Vec<&str> = p.iter().map(|h| h["text"].as_str().unwrap()).collect();
    texts.sort_unstable();
    let mut want: Vec<&str> = cases.iter().map(|c| c.2).collect();
    want.sort_unstable();
    assert_eq!(texts, want);
    let hits = s.hits("code:risk", &["--source", "anna"]);
    let mut paths: Vec<&str> = hits.iter().map(|h| h["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths, ["alfa/y.txt", "x.txt"]);
    let table = s.ok(&[
        "table",
        "matrix",
        "--rows",
        "challenges",
        "--cols",
        "case",
        "--format",
        "csv",
        "--source",
        "anna",
    ]);
    let risk_row = table.lines().find(|l| l.contains("risk")).unwrap();
    assert!(
        risk_row.ends_with(",3,3,6"),
        "3 passages in alfa, 3 in (root): {table}"
    );

    // Outside the corpus: refused, naming the corpus folder.
    s.write("outside.txt", "Anna: outside words.\n");
    for (cwd, doc) in [
        (corpus.as_path(), "../outside.txt"),
        (s.path(), "../outside.txt"),
        (alfa.as_path(), "../../outside.txt"),
    ] {
        let r = s.run_in(
            cwd,
            &[
                "code", "add", "risk", "--doc", doc, "--quote", "outside", "--coder", "anna",
            ],
        );
        assert_eq!(r.code, 2, "{doc}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("`{doc}` is outside the corpus folder `"))
                && r.stderr.contains("corpus`"),
            "{}",
            r.stderr
        );
    }

    // The other commands taking a document resolve it the same way.
    let text = s.ok(&["text", "./corpus/alfa/y.txt"]);
    assert!(text.contains("share the risk"));
    let r = s.run_in(&alfa, &["text", "y.txt"]);
    assert!(r.stdout.contains("share the risk"), "{}", r.stderr);
    let list = s.ok(&[
        "codings",
        "list",
        "--doc",
        "./corpus/x.txt",
        "--format",
        "csv",
    ]);
    assert_eq!(list.lines().count(), 4, "{list}");
    s.fails(&["codings", "list", "--doc", "../outside.txt"]);
    s.fails(&[
        "code",
        "rm",
        "risk",
        "--doc",
        "../outside.txt",
        "--quote",
        "x",
    ]);
    s.ok(&[
        "code",
        "rm",
        "risk",
        "--doc",
        "./corpus/x.txt",
        "--quote",
        "carry the risk",
        "--coder",
        "anna",
    ]);
    assert_eq!(codings_of(&s, "anna").len(), 5);
}

#[test]
fn review_ids_resolve_their_document_like_doc_arguments() {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "c:\n  label: C\n  codes:\n    risk:\n      label: Risk\n      rules:\n        - terms: [risk]\n",
    );
    s.write(
        "corpus/alfa/y.txt",
        "Bo: We share the risk.\n\nBo: Lunch.\n",
    );
    s.ok(&[
        "review",
        "risk",
        "--accept",
        "corpus/alfa/y.txt#p1",
        "--coder",
        "anna",
    ]);
    let text = String::from_utf8(s.read("codings/anna.yaml")).unwrap();
    assert!(text.contains("doc: alfa/y.txt"), "{text}");
    let p = passages(&s, "risk");
    assert!(p.iter().any(|h| h["source"] == "anna"), "{p:?}");
}

#[test]
fn codings_check_reports_and_fixes_unnormalised_document_paths() {
    let s = study();
    let abs = s.path().join("corpus/x.txt");
    let coding = |doc: &str, quote: &str, start: usize| {
        format!("- code: challenges/risk\n  doc: '{doc}'\n  quote: {quote}\n  start: {start}\n")
    };
    let file = format!(
        "coder: anna\ncodings:\n{}{}{}{}{}",
        coding("./x.txt", "carry the risk", 40),
        coding("corpus/x.txt", "every single day", 55),
        coding(abs.to_str().unwrap(), "Trust came later", 80),
        coding("alfa\\y.txt", "share the risk", 30),
        coding("x.txt", "We carry", 37),
    );
    s.write("codings/anna.yaml", &file);
    // As stored, four of the five are invisible.
    assert_eq!(passages(&s, "risk").len(), 1);
    let r = s.run(&["codings", "check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("4 bad path, 1 exact"), "{}", r.stderr);
    assert!(
        r.stderr.contains("names the document `./x.txt`")
            && r.stderr.contains("codings/anna.yaml:4")
            && r.stderr.contains("write `doc: x.txt`")
            && r.stderr.contains("write `doc: alfa/y.txt`")
            && r.stderr.contains("qualdex codings check --fix"),
        "{}",
        r.stderr
    );
    // Stored paths are read from the study folder, wherever the command
    // runs: here from the folder above, with --study.
    let name = s.path().file_name().unwrap().to_str().unwrap();
    let r = s.run_in(
        s.path().parent().unwrap(),
        &["--study", name, "codings", "check", "--fix"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("fixed 4 document paths in ") && r.stderr.contains("codings/anna.yaml"),
        "{}",
        r.stderr
    );
    let mut docs: Vec<String> = codings_of(&s, "anna").into_iter().map(|c| c.1).collect();
    docs.sort();
    assert_eq!(docs, ["alfa/y.txt", "x.txt", "x.txt", "x.txt", "x.txt"]);
    assert_eq!(passages(&s, "risk").len(), 5);
}

#[test]
fn add_import_and_check_agree_on_what_is_the_same_coding() {
    let s = study();
    s.write(
        "corpus/same.txt",
        "Anna: I agree with that.\nBo: Not me.\nAnna: I agree with that.\n",
    );
    let add = |lines: &str| {
        s.run(&[
            "code", "add", "risk", "--doc", "same.txt", "--lines", lines, "--coder", "anna",
        ])
    };
    // The same words at another place are another coding.
    assert_eq!(add("1-1").code, 0);
    let r = add("3-3");
    assert!(r.stderr.contains("coded `challenges/risk`"), "{}", r.stderr);
    assert_eq!(codings_of(&s, "anna").len(), 2);
    // The same place again is the same coding, for add and for import.
    assert!(add("1-1").stderr.contains("already codes that passage"));
    let end = "Anna: I agree with that.".chars().count();
    s.write(
        "imp.csv",
        format!("document,start,end,code\nsame.txt,0,{end},risk\n"),
    );
    let r = s.run(&["codings", "import", "imp.csv", "--coder", "anna"]);
    assert!(
        r.stderr
            .contains("imported 0 codings; skipped 1 coding already present"),
        "{}",
        r.stderr
    );
    // After an edit above it, the passage has moved: still the same coding.
    s.write(
        "corpus/same.txt",
        "Eva: A new first line.\nAnna: I agree with that.\nBo: Not me.\nAnna: I agree with that.\n",
    );
    assert!(add("2-2").stderr.contains("already codes that passage"));
    let shift = "Eva: A new first line.\n".chars().count();
    s.write(
        "imp.csv",
        format!(
            "document,start,end,code\nsame.txt,{shift},{},risk\n",
            shift + end
        ),
    );
    let r = s.run(&["codings", "import", "imp.csv", "--coder", "anna"]);
    assert!(
        r.stderr.contains("skipped 1 coding already present"),
        "{}",
        r.stderr
    );
    assert_eq!(codings_of(&s, "anna").len(), 2);
    let r = s.run(&["codings", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("duplicate"), "{}", r.stdout);
    // A repeat written by hand (a merge of two copies) is what check reports.
    let mut file = String::from_utf8(s.read("codings/anna.yaml")).unwrap();
    let first = file.find("- code:").unwrap();
    let second = file[first + 1..].find("- code:").unwrap() + first + 1;
    let entry = file[first..second].to_string();
    file.push_str(&entry);
    s.write("codings/anna.yaml", &file);
    let r = s.run(&["codings", "check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("| duplicate |")
            && r.stderr.contains("3 codings checked: 1 duplicate, 2 moved")
            && r.stderr.contains("delete one of them"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn checking_no_codings_says_so_without_a_dangling_colon() {
    let s = study();
    let r = s.run(&["codings", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.lines().any(|l| l == "0 codings checked"),
        "{}",
        r.stderr
    );
}

#[test]
fn importing_twice_adds_nothing_the_second_time() {
    let s = study();
    s.write(
        "imp.csv",
        "document,start,end,code,memo\nx.txt,37,51,risk,first\ncorpus/x.txt,52,68,risk,\nalfa/y.txt,29,43,trust,\nx.txt,37,51,risk,first\n",
    );
    let r = s.run(&["codings", "import", "imp.csv", "--coder", "anna"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("imported 3 codings for anna; skipped 1 coding already present"),
        "{}",
        r.stderr
    );
    let first = s.read("codings/anna.yaml");
    let r = s.run(&["codings", "import", "imp.csv", "--coder", "anna"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("imported 0 codings; skipped 4 codings already present"),
        "{}",
        r.stderr
    );
    assert_eq!(
        s.read("codings/anna.yaml"),
        first,
        "a second import rewrote the file"
    );
    assert_eq!(codings_of(&s, "anna").len(), 3);
    assert_eq!(passages(&s, "risk").len(), 2);
}

#[test]
fn import_errors_name_the_bad_line_with_crlf_line_endings_too() {
    let s = study();
    for eol in ["\n", "\r\n"] {
        let csv = [
            "document,start,end,code",
            "x.txt,37,51,risk",
            "x.txt,a,51,risk",
            "nope.txt,0,5,risk",
            "x.txt,37,51,nosuchcode",
            "",
        ]
        .join(eol);
        s.write("imp.csv", csv);
        let err = s.fails(&["codings", "import", "imp.csv", "--coder", "anna"]);
        let located: Vec<&str> = err.lines().filter(|l| l.contains("--> imp.csv:")).collect();
        assert_eq!(
            located,
            ["  --> imp.csv:3", "  --> imp.csv:4", "  --> imp.csv:5"],
            "{eol:?}: {err}"
        );
        assert!(err.contains("3 | x.txt,a,51,risk"), "{err}");
    }
    // Attribute sheets count their lines the same way.
    s.write(
        "corpus/documents.csv",
        "path,role\r\nx.txt,a\r\nalfa/y.txt,b,extra\r\n",
    );
    let err = s.fails(&["index"]);
    assert!(err.contains("documents.csv:3"), "{err}");
}

#[test]
fn an_unknown_source_coder_is_an_error_naming_the_known_ones() {
    let s = study();
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        "x.txt",
        "--quote",
        "carry the risk",
        "--coder",
        "anna",
    ]);
    let checks: Vec<Vec<&str>> = vec![
        vec![
            "table",
            "matrix",
            "--rows",
            "challenges",
            "--cols",
            "case",
            "--source",
            "ana",
        ],
        vec!["table", "quotes", "--rows", "challenges", "--source", "ana"],
        vec!["search", "code:risk", "--source", "ana"],
        vec!["passages", "risk", "--source", "ana"],
    ];
    for args in &checks {
        let err = s.fails(args);
        assert!(
            err.contains("no coder `ana`") && err.contains("did you mean `anna`?"),
            "{args:?}: {err}"
        );
    }
    let err = s.fails(&["search", "code:risk", "--source", "zed"]);
    assert!(err.contains("coders: anna"), "{err}");
    // A known coder, auto and manual still work.
    for src in ["anna", "auto", "manual", "any"] {
        let r = s.run(&["search", "code:risk", "--source", src]);
        assert!(r.code == 0 || r.code == 1, "{src}: {}", r.stderr);
    }
    let err = s.fails(&["codings", "list", "--coder", "ana"]);
    assert!(err.contains("did you mean `anna`?"), "{err}");
    // A table declared in qualdex.yaml.
    let config = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    s.write(
        "qualdex.yaml",
        format!(
            "{config}\ntables:\n  - name: m\n    kind: matrix\n    rows: challenges\n    cols: case\n    source: ana\n"
        ),
    );
    let err = s.fails(&["run"]);
    assert!(
        err.contains("table `m`: no coder `ana`") && err.contains("did you mean `anna`?"),
        "{err}"
    );
    assert!(!s.path().join("out/m.md").exists());
}

#[test]
fn documents_csv_rows_matching_no_transcript_are_warned_about() {
    let s = study();
    s.write(
        "corpus/documents.csv",
        "path,role\nalfa/y.txt,manager\nalfa/y.md,engineer\n./x.txt,clerk\nbeta/long.txt,x\nzzz/none.txt,y\n",
    );
    let r = s.run(&["index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning") || l.contains("-->") || l.contains("= help"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: the row for `alfa/y.md` matches no transcript, so its attributes are not used",
            "  --> corpus/documents.csv:3",
            "  = help: did you mean `alfa/y.txt`?",
            "warning: the row for `./x.txt` matches no transcript, so its attributes are not used",
            "  --> corpus/documents.csv:4",
            "  = help: did you mean `x.txt`?",
            "warning: the row for `beta/long.txt` matches no transcript, so its attributes are not used",
            "  --> corpus/documents.csv:5",
            "  = help: did you mean `long.txt`?",
            "warning: the row for `zzz/none.txt` matches no transcript, so its attributes are not used",
            "  --> corpus/documents.csv:6",
            "  = help: paths are relative to the corpus folder, with `/` between folders, e.g. `alfa/rd-01.md`",
        ],
        "{}",
        r.stderr
    );
}

#[test]
fn leftover_temp_files_are_removed_and_never_read_as_coders() {
    let s = study();
    let mallory = "coder: mallory\ncodings:\n- code: challenges/risk\n  doc: x.txt\n  quote: carry the risk\n  start: 37\n";
    // What a write killed before its rename leaves (write_atomic's pattern),
    // one old and one that could still be a live write's; and a hidden
    // YAML file (an editor's or a file manager's).
    let old = s.write("codings/.tmpAb12Cd", mallory);
    let fresh = s.write("codings/.tmpXy34Zw", mallory);
    s.write("codings/.mallory.yaml", mallory);
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let list = s.ok(&["codings", "list", "--format", "csv"]);
    assert!(!list.contains("mallory"), "{list}");
    let err = s.fails(&["search", "code:risk", "--source", "mallory"]);
    assert!(err.contains("no coder `mallory`"), "{err}");
    s.ok(&[
        "code", "add", "risk", "--doc", "x.txt", "--quote", "Trust", "--coder", "anna",
    ]);
    assert!(!old.exists(), "an old leftover temp file was kept");
    assert!(
        fresh.exists(),
        "a temp file that may be a live write was removed"
    );
    assert_eq!(passages(&s, "risk").len(), 1);
    // Nothing but the coder's file and its lock is left by a write.
    let mut names: Vec<String> = std::fs::read_dir(s.path().join("codings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".anna.yaml.lock",
            ".mallory.yaml",
            ".tmpXy34Zw",
            "anna.yaml"
        ]
    );
    // A new study keeps the lock files out of version control.
    let ignore = String::from_utf8(s.read(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/codings/.*.lock"), "{ignore}");
}

/// A coding is never empty, and a quote is placed only where it occurs
/// once, overlapping occurrences counted: `code add` refuses an empty quote
/// and one found twice within itself ("risk risk" in "risk risk risk"),
/// `codings import` an empty or reversed range, each saying which, and
/// nothing is written.
#[test]
fn empty_and_reversed_passages_and_overlapping_quotes_are_refused() {
    let s = study();
    s.write("corpus/echo.txt", "Anna: risk risk risk, said twice.\n");
    for quote in ["", "   "] {
        let e = s.fails(&[
            "code", "add", "risk", "--doc", "x.txt", "--quote", quote, "--coder", "anna",
        ]);
        assert!(e.contains("the quote is empty"), "{e}");
    }
    let e = s.fails(&[
        "code",
        "add",
        "risk",
        "--doc",
        "echo.txt",
        "--quote",
        "risk risk",
        "--coder",
        "anna",
    ]);
    assert!(e.contains("the quote occurs 2 times in `echo.txt`"), "{e}");
    s.write(
        "imp.csv",
        "document,start,end,code\nx.txt,37,37,risk\nx.txt,51,37,risk\nx.txt,37,51,risk\n",
    );
    let e = s.fails(&["codings", "import", "imp.csv", "--coder", "anna"]);
    assert!(
        e.contains("the passage [37, 37) is empty: `end` must be after `start`"),
        "{e}"
    );
    assert!(e.contains("imp.csv:2"), "{e}");
    assert!(e.contains("`end` (37) is before `start` (51)"), "{e}");
    assert!(e.contains("imp.csv:3"), "{e}");
    assert!(e.contains("2 errors"), "{e}");
    assert!(!s.path().join("codings/anna.yaml").exists());
}

//! Safety of what qualdex writes and prints: names and paths from study
//! files never lead outside the study, subtitle voices and passages get the
//! right speaker, CSV cannot smuggle formulas, terminal output cannot carry
//! control sequences, Markdown cannot carry HTML, and a closed pipe is
//! success.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::TestStudy;

const CODEBOOK: &str = "topics:\n  codes:\n    risk:\n      label: Risk\n      rules:\n        - terms: [risk]\n    said:\n      rules:\n        - terms: [answer]\n          respondent: true\n";

// --------------------------------------------------------- subtitle voices

const VOICES: &str = "WEBVTT\n\n\
00:00:01.000 --> 00:00:02.000\n<v Interviewer>What was the first answer?\n\n\
00:00:03.000 --> 00:00:04.000\n<v Berg, Anna (Guest)>My answer is the risk.\n\n\
00:00:05.000 --> 00:00:06.000\n<v Interviewer>And the second?\n\n\
00:00:07.000 --> 00:00:08.000\n<v Dr. Lee (CEO)>The answer of a chief.\n\n\
00:00:09.000 --> 00:00:10.000\n<v Interviewer>Third?\n\n\
00:00:11.000 --> 00:00:12.000\n<v anna@uni.edu>An answer by mail.\n\n\
00:00:13.000 --> 00:00:14.000\n<v.loud Kim Ek>A loud answer.</v>\n\n\
00:00:15.000 --> 00:00:16.000\n<v Interviewer>Fourth?\n\n\
00:00:17.000 --> 00:00:18.000\n<v Speaker: 2>Answer with a colon.\n\n\
00:00:19.000 --> 00:00:20.000\n<v Interviewer>Last?\n\n\
00:00:21.000 --> 00:00:22.000\n<v   Jo   Ek  >A spaced answer.</v> trailing answer words\n";

#[test]
fn every_vtt_voice_is_its_cue_speaker() {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write("corpus/teams.vtt", VOICES);
    let speakers = |hits: &[Value]| -> Vec<(String, bool)> {
        hits.iter()
            .map(|h| {
                (
                    h["speaker"].as_str().unwrap_or("(none)").to_string(),
                    h["respondent"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let expected: Vec<(String, bool)> = [
        ("Interviewer", false),
        ("Berg, Anna (Guest)", true),
        ("Dr. Lee (CEO)", true),
        ("anna@uni.edu", true),
        ("Kim Ek", true),
        ("Speaker: 2", true),
        ("Jo Ek", true),
    ]
    .map(|(a, b)| (a.to_string(), b))
    .to_vec();
    let hits = s.hits("answer", &["--unit", "paragraph"]);
    assert_eq!(speakers(&hits), expected, "{hits:?}");
    // The text keeps the label; the passage text does not include it.
    assert_eq!(hits[1]["text"], "My answer is the risk.");
    assert_eq!(hits[5]["text"], "Answer with a colon.");
    // Respondent-only search and rules see every voice.
    let hits = s.hits("answer respondent:true", &["--unit", "turn"]);
    assert_eq!(speakers(&hits), expected[1..].to_vec());
    let hits = s.hits("speaker:\"Berg, Anna (Guest)\"", &["--unit", "paragraph"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let r = s.run(&["passages", "said", "--format", "json"]);
    let p: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(speakers(&p), expected[1..].to_vec(), "{}", r.stderr);
    // `qualdex text` shows the voices as labels.
    let text = s.ok(&["text", "teams.vtt"]);
    assert!(text.contains("Berg, Anna (Guest): My answer is the risk.\n"));
    assert!(text.contains("Jo Ek: A spaced answer. trailing answer words\n"));
}

// -------------------------------------------------------- passage speakers

#[test]
fn a_passage_has_the_speaker_of_most_of_its_text() {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write(
        "corpus/a.md",
        "Interviewer: Tell me about it?\n\nAnna: It is a long answer about many things, and it goes on for quite a while.\n\nInterviewer:\nAnd then?\n\nAnna:\nThen the risk came.\n",
    );
    let add = |quote: &str| {
        s.ok(&[
            "code", "add", "risk", "--doc", "a.md", "--quote", quote, "--coder", "cy",
        ])
    };
    // From the question's label through the long answer.
    add("Interviewer: Tell me about it?\n\nAnna: It is a long answer about many things");
    // Mostly the question (ties and majorities are by characters).
    add("And then?\n\nAnna:\nThen");
    // Starting at the line break right after a label (`code add` trims a
    // quote, so this one is written as a coding tool would).
    let text = String::from_utf8(s.read("corpus/a.md")).unwrap();
    let start = text.chars().count() - "\nThen the risk came.\n".chars().count();
    s.write(
        "codings/dz.yaml",
        format!("coder: dz\ncodings:\n  - code: topics/risk\n    doc: a.md\n    quote: \"\\nThen the risk came.\"\n    start: {start}\n"),
    );
    let r = s.run(&["passages", "risk", "--source", "manual", "--format", "json"]);
    let got: Vec<(String, Value, bool)> = r
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["text"].as_str().unwrap().to_string(),
                v["speaker"].clone(),
                v["respondent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{}", r.stderr);
    assert_eq!(got[0].1, "Anna", "{got:?}");
    assert!(got[0].2);
    assert_eq!(got[1].0, "And then?\n\nAnna:\nThen");
    assert_eq!(got[1].1, "Interviewer");
    assert!(!got[1].2);
    assert_eq!(got[2].0, "\nThen the risk came.");
    assert_eq!(got[2].1, "Anna");
    assert!(got[2].2);
    // Starting inside the question, mostly the answer: the answer's speaker.
    s.ok(&[
        "code",
        "add",
        "said",
        "--doc",
        "a.md",
        "--quote",
        "about it?\n\nAnna: It is a long answer",
        "--coder",
        "cy",
    ]);
    let r = s.run(&["passages", "said", "--source", "cy", "--format", "json"]);
    let v: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&v["speaker"], &v["respondent"]),
        (&Value::from("Anna"), &Value::from(true))
    );
}

// ------------------------------------------------------------ closed pipes

fn big_study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    let mut long = String::new();
    for i in 0..3000 {
        long.push_str(&format!("Bo: risk number {i} in a long transcript.\n\n"));
    }
    s.write("corpus/long.md", &long);
    // Tables, searches and texts well past a pipe's 64 KiB buffer.
    let pad = "with a long name to make every row of the tables wide".repeat(2);
    for i in 0..700 {
        s.write(
            &format!("corpus/c{i}/x.md"),
            format!("---\ncase: Case {i} {pad}\n---\nInterviewer: q?\n\nBo: the risk is here\n"),
        );
    }
    s.ok(&["index"]);
    s
}

/// Runs with stdout a pipe whose reader stops after a few bytes.
fn closed_early(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_is_success_for_every_command_and_format() {
    let s = big_study();
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for f in ["md", "csv", "tsv", "json", "tex", "html"] {
        runs.push(vec!["table", "corpus", "--format", f]);
        runs.push(vec![
            "table", "matrix", "--rows", "topics", "--cols", "case", "--format", f,
        ]);
    }
    for f in ["kwic", "json", "csv", "md"] {
        runs.push(vec!["search", "risk", "--limit", "0", "--format", f]);
        runs.push(vec!["passages", "risk", "--format", f]);
    }
    for f in ["md", "csv", "json"] {
        runs.push(vec!["search", "risk", "--by", "case", "--format", f]);
        runs.push(vec!["corpus", "--format", f]);
    }
    runs.push(vec!["text", "long.md"]);
    runs.push(vec!["code"]);
    for args in &runs {
        let (code, stderr) = closed_early(s.path(), args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
    // `qualdex run | head` still writes every file.
    s.write(
        "qualdex.yaml",
        String::from_utf8(s.read("qualdex.yaml")).unwrap()
            + "tables:\n  - name: t\n    kind: corpus\n    formats: [md, csv]\n",
    );
    let (code, stderr) = closed_early(s.path(), &["run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(s.path().join("out/t.csv").is_file());
    assert!(s.path().join("out/report.html").is_file());
}

/// Runs with stderr a pipe closed before the command writes to it.
fn stderr_closed(dir: &Path, args: &[&str]) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    child.wait().unwrap().code()
}

#[test]
fn a_closed_stderr_loses_messages_not_the_command() {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write("corpus/a.md", "Interviewer: q?\n\nBo: the risk is here\n");
    for args in [
        vec!["index"],
        vec!["index", "--rebuild"],
        vec!["code"],
        vec![
            "code", "add", "risk", "--doc", "a.md", "--quote", "the risk", "--coder", "anna",
        ],
        vec!["codings", "check"],
        vec!["run"],
    ] {
        assert_eq!(stderr_closed(s.path(), &args), Some(0), "{args:?}");
    }
    // The work was done all the same.
    let listed = s.ok(&["codings", "list", "--format", "csv"]);
    assert!(listed.contains("the risk"), "{listed}");
}

// ------------------------------------------------------------ CSV formulas

fn formula_study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "topics:\n  codes:\n    risk:\n      label: \"=1+1\"\n      definition: \"@SUM(A1)\"\n      rules:\n        - terms: [risk]\n",
    );
    s.write(
        "corpus/a.md",
        "---\ncase: \"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\"\nrole: \"+cmd|' /C calc'!A0\"\ndelta: \"-3\"\nnote: \"-2+3\"\n---\nInterviewer: q?\n\nBo: =risk() here\n\nBo: \trisk with a tab\n",
    );
    s
}

fn cells(csv_text: &str, delim: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn dangerous(cells: &[Vec<String>]) -> Vec<String> {
    cells
        .iter()
        .flatten()
        .filter(|c| {
            c.starts_with(['=', '+', '@', '\t', '\r'])
                || (c.starts_with('-') && c.parse::<f64>().is_err())
        })
        .cloned()
        .collect()
}

#[test]
fn csv_and_tsv_cells_cannot_start_a_formula() {
    let s = formula_study();
    s.write(
        "qualdex.yaml",
        String::from_utf8(s.read("qualdex.yaml")).unwrap()
            + "tables:\n  - name: by-role\n    kind: corpus\n    by: role\n    formats: [csv, tsv]\n",
    );
    let runs: Vec<(Vec<&str>, u8)> = vec![
        (vec!["search", "risk", "--format", "csv"], b','),
        (
            vec!["search", "risk", "--by", "role", "--format", "csv"],
            b',',
        ),
        (vec!["passages", "risk", "--format", "csv"], b','),
        (
            vec!["table", "corpus", "--by", "role", "--format", "csv"],
            b',',
        ),
        (
            vec!["table", "corpus", "--by", "role", "--format", "tsv"],
            b'\t',
        ),
        (
            vec!["table", "quotes", "--rows", "topics", "--format", "csv"],
            b',',
        ),
        (vec!["codebook", "export", "--format", "csv"], b','),
        (vec!["corpus", "--by", "note", "--format", "csv"], b','),
    ];
    for (args, delim) in &runs {
        let out = s.ok(args);
        let c = cells(&out, *delim);
        assert_eq!(dangerous(&c), Vec::<String>::new(), "{args:?}:\n{out}");
        assert!(
            out.contains("'=") || out.contains("'+") || out.contains("'@") || out.contains("'-2+3"),
            "{args:?}: nothing neutralised:\n{out}"
        );
        // --raw writes the cells as they are.
        let mut raw = vec!["--raw"];
        raw.extend_from_slice(args);
        let out = s.ok(&raw);
        assert!(
            !dangerous(&cells(&out, *delim)).is_empty(),
            "{args:?} --raw:\n{out}"
        );
    }
    // A plain negative number is data, not a formula.
    let out = s.ok(&["search", "risk", "--format", "csv"]);
    let c = cells(&out, b',');
    let col = c[0].iter().position(|h| h == "delta").unwrap();
    assert_eq!(c[1][col], "-3");
    let col = c[0].iter().position(|h| h == "note").unwrap();
    assert_eq!(c[1][col], "'-2+3");
    // Tables `qualdex run` writes are neutralised too.
    s.ok(&["run"]);
    for (f, d) in [("out/by-role.csv", b','), ("out/by-role.tsv", b'\t')] {
        let text = String::from_utf8(s.read(f)).unwrap();
        assert_eq!(dangerous(&cells(&text, d)), Vec::<String>::new(), "{text}");
        assert!(text.contains("'+cmd"), "{text}");
    }
}

// ------------------------------------------------------ control characters

const NASTY: &str = "\u{1b}]0;pwned\u{7}";

fn control_study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/cb.yaml", CODEBOOK);
    s.write(
        "corpus/a.md",
        format!(
            "---\ncase: \"Alfa\\e[2J\"\n---\nInterviewer: q?\n\nBo: the risk {NASTY} is \u{1b}[2J real \u{9b}31m and \u{7f}back\r here\n\nBo: more risk \u{202e}desrever\u{202c} and \u{2067}isolated\u{2069}\n"
        ),
    );
    s.write("corpus/x\u{1b}[1mname.md", "Bo: risk\n\nBo: risk\n");
    s
}

/// Control characters, or the bidirectional controls that reorder a line.
fn has_controls(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn human_output_never_carries_control_characters() {
    let s = control_study();
    let r = s.run(&["index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!has_controls(&r.stderr), "{:?}", r.stderr);
    for args in [
        vec!["search", "risk"],
        vec!["search", "risk", "--format", "md"],
        vec!["search", "risk", "--by", "case"],
        vec!["passages", "risk"],
        vec!["passages", "risk", "--format", "md"],
        vec!["code"],
        vec!["table", "quotes", "--rows", "topics"],
        vec!["table", "corpus"],
        vec![
            "table",
            "matrix",
            "--rows",
            "topics",
            "--cols",
            "case",
            "--explain",
            "risk",
            "Total",
        ],
    ] {
        let r = s.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!has_controls(&r.stdout), "{args:?}: {:?}", r.stdout);
        assert!(!has_controls(&r.stderr), "{args:?}: {:?}", r.stderr);
    }
    // Shown, not dropped: each control character as a visible symbol.
    let kwic = s.ok(&["search", "risk", "--context", "200"]);
    assert!(kwic.contains("␛]0;pwned␇"), "{kwic}");
    assert!(kwic.contains("\u{fffd}desrever\u{fffd}"), "{kwic}");
    // JSON escapes them; `qualdex text` to a file or pipe is the exact text.
    let json = s.ok(&["search", "pwned", "--format", "json"]);
    assert!(json.contains("\\u001b]0;pwned\\u0007"), "{json}");
    let text = s.ok(&["text", "a.md"]);
    assert!(text.contains(NASTY));
    assert_eq!(text.as_bytes(), &s.read("corpus/a.md")[..]);
    // Error messages quoting a file's text show no control characters.
    s.write(
        "codings/cy.yaml",
        "coder: cy\ncodings:\n  - code: \"x\\e]0;pwned\\a\"\n    doc: a.md\n    quote: risk\n    start: 0\n",
    );
    let r = s.run(&["index"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("x␛]0;pwned␇"), "{}", r.stderr);
    assert!(!has_controls(&r.stderr), "{:?}", r.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn a_terminal_sees_no_control_characters_from_any_format() {
    let s = control_study();
    s.ok(&["index"]);
    for args in [
        vec!["text", "a.md"],
        vec!["search", "risk", "--format", "csv"],
        vec!["search", "risk", "--format", "csv", "--raw"],
        vec!["search", "risk", "--color", "always"],
        vec!["passages", "risk", "--format", "csv"],
    ] {
        let out = on_terminal(s.path(), &args);
        let plain = out
            .replace("\u{1b}[1;31m", "")
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[35m", "")
            .replace("\u{1b}[0m", "");
        // A terminal turns `\n` into `\r\n`.
        let plain = plain.replace("\r\n", "\n");
        assert!(!has_controls(&plain), "{args:?}: {plain:?}");
        assert!(plain.contains("risk"), "{args:?}: {plain:?}");
    }
    // The text keeps its length in characters, so offsets still count.
    let out = on_terminal(s.path(), &["text", "a.md"]).replace("\r\n", "\n");
    let file = String::from_utf8(s.read("corpus/a.md")).unwrap();
    assert_eq!(out.chars().count(), file.chars().count());
    assert!(out.contains("␛]0;pwned␇"));
    assert!(out.contains("back␍ here"));
    assert!(out.contains("\u{fffd}isolated\u{fffd}"));
}

/// Runs qualdex with stdout on a pseudo-terminal; returns what it printed.
#[cfg(target_os = "linux")]
fn on_terminal(dir: &Path, args: &[&str]) -> String {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the given integers.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors are open and owned from here on.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualdex"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(slave)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // Reading fails with EIO once the child has closed the terminal.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "{args:?}: {status}");
    String::from_utf8(reader.join().unwrap()).unwrap()
}

// ------------------------------------------------------------------ markup

#[test]
fn markdown_and_html_output_escape_markup() {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "topics:\n  codes:\n    risk:\n      label: \"<b>Risk</b> &lt;i&gt;\"\n      rules:\n        - terms: [risk]\n",
    );
    s.write(
        "corpus/a.md",
        "---\ncase: \"<img src=x onerror=alert(1)>\"\nrole: \"R&D\"\n---\nInterviewer: q?\n\nBo: <script>alert('risk')</script> & more\n\nBo: the risk <!-- x --> &lt;i&gt;\n",
    );
    for args in [
        vec!["search", "risk", "--format", "md"],
        vec!["search", "risk", "--by", "case", "--format", "md"],
        vec!["passages", "risk", "--format", "md"],
        vec!["table", "quotes", "--rows", "topics", "--format", "md"],
        vec!["table", "corpus", "--by", "role", "--format", "md"],
        vec![
            "table", "matrix", "--rows", "topics", "--cols", "case", "--format", "md",
        ],
        vec!["codebook", "export", "--format", "md"],
    ] {
        let out = s.ok(&args);
        for bad in ["<script", "<img", "<b>", "<!--"] {
            assert!(!out.contains(bad), "{args:?}: {bad} leaked:\n{out}");
        }
        // An `&` that starts an entity is escaped, so `&lt;i&gt;` in a
        // transcript shows as written instead of becoming `<i>`.
        assert!(
            !out.contains("&lt;i&gt;"),
            "{args:?}: entity leaked:\n{out}"
        );
    }
    // A bare `&` renders as itself and is left as it is.
    let roles = s.ok(&["table", "corpus", "--by", "role", "--format", "md"]);
    assert!(roles.contains(" R&D |"), "{roles}");
    let md = s.ok(&["search", "script", "--format", "md"]);
    assert!(
        md.contains("&lt;script&gt;alert('risk')&lt;/script&gt; & more"),
        "{md}"
    );
    for args in [
        vec!["table", "quotes", "--rows", "topics", "--format", "html"],
        vec![
            "table", "matrix", "--rows", "topics", "--cols", "case", "--format", "html",
        ],
        vec!["codebook", "export", "--format", "html"],
    ] {
        let out = s.ok(&args);
        for bad in ["<script", "<img", "<b>", "<!--"] {
            assert!(!out.contains(bad), "{args:?}: {bad} leaked:\n{out}");
        }
    }
    s.ok(&["report"]);
    let html = String::from_utf8(s.read("out/report.html")).unwrap();
    for bad in ["<script", "<img", "<b>", "<!--"] {
        assert!(!html.contains(bad), "report: {bad} leaked");
    }
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn diagram_and_latex_output_keep_labels_as_text() {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "topics:\n  label: \"T\\\" ]; x -> y [\"\n  codes:\n    end:\n      label: \"<script>alert(1)</script> \\\" #1 \\u202e\"\n      rules:\n        - terms: [risk]\n",
    );
    s.write(
        "corpus/a/x.txt",
        "Bo: the risk \u{1b}[2J $5 & 50% \u{202e}here\n",
    );
    s.ok(&["index"]);
    let mm = s.ok(&["table", "structure", "--format", "mermaid"]);
    assert_eq!(
        mm,
        "flowchart LR\n  topics[\"T#34; ]; x -#62; y [ (1)\"]\n  \
         topics_end[\"#60;script#62;alert(1)#60;/script#62; #34; #35;1  (1)\"]\n  \
         topics_end --> topics\n"
    );
    let dot = s.ok(&["table", "structure", "--format", "dot"]);
    // The family label's quote stays inside its string: one statement a line.
    assert!(dot.contains("[label=\"T\\\" ]; x -> y [ (1)\""), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 2, "{dot}");
    let tex = s.ok(&["table", "quotes", "--rows", "topics", "--format", "tex"]);
    assert!(tex.contains("\\$5 \\& 50\\%"), "{tex}");
    assert!(
        !tex.chars()
            .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
        "{tex:?}"
    );
}

// -------------------------------------------------- paths from study files

/// A study inside the folder of another (the outer one only holds files
/// that must not change): `outer/inner`.
fn nested() -> (TestStudy, PathBuf) {
    let s = TestStudy::new();
    s.ok(&["init", "inner"]);
    s.write(
        "inner/corpus/a.md",
        "Interviewer: q?\n\nBo: the risk is real\n",
    );
    s.write("victim.md", "precious\n");
    s.write("elsewhere/keep.txt", "keep me\n");
    let inner = s.path().join("inner");
    (s, inner)
}

fn set_config(s: &TestStudy, rel: &str, from: &str, to: &str) {
    let yaml = String::from_utf8(s.read(rel)).unwrap();
    assert!(yaml.contains(from), "{yaml}");
    s.write(rel, yaml.replacen(from, to, 1));
}

fn untouched(s: &TestStudy) {
    assert_eq!(s.read("victim.md"), b"precious\n");
    assert_eq!(s.read("elsewhere/keep.txt"), b"keep me\n");
    let names: Vec<String> = std::fs::read_dir(s.path().join("elsewhere"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["keep.txt"], "something was written next to it");
}

/// Runs in the outer folder and expects exit 2 with no output.
fn fails_in(s: &TestStudy, args: &[&str]) -> String {
    let r = s.run(args);
    assert_eq!(
        r.code, 2,
        "qualdex {args:?} should fail\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    r.stderr
}

#[test]
fn a_table_name_cannot_write_outside_out() {
    let (s, inner) = nested();
    let abs = s
        .path()
        .join("elsewhere/abs")
        .to_string_lossy()
        .into_owned();
    for name in ["../../victim", "../qualdex", &abs, "a/b", ".hidden", ""] {
        let yaml = format!(
            "title: t\ntables:\n  - name: fine\n    kind: corpus\n  - name: \"{name}\"\n    kind: corpus\n"
        );
        s.write("inner/qualdex.yaml", &yaml);
        let e = fails_in(&s, &["run", "inner"]);
        assert!(
            e.contains("inner/qualdex.yaml:5:") && e.contains('^'),
            "{name}: not located: {e}"
        );
        assert!(e.contains("table name"), "{e}");
        untouched(&s);
        assert_eq!(
            std::fs::read(inner.join("qualdex.yaml")).unwrap(),
            yaml.as_bytes()
        );
        assert!(
            !inner.join("out").exists(),
            "{name}: a bad table must write nothing"
        );
    }
    // Two tables with one name would overwrite each other.
    s.write(
        "inner/qualdex.yaml",
        "tables:\n  - name: t\n    kind: corpus\n  - name: T\n    kind: corpus\n",
    );
    let e = fails_in(&s, &["run", "inner"]);
    assert!(e.contains("inner/qualdex.yaml:4:"), "{e}");
    // A plain name is fine and lands in out/.
    s.write(
        "inner/qualdex.yaml",
        "tables:\n  - name: data collection\n    kind: corpus\n    formats: [md, csv]\n",
    );
    s.ok(&["run", "inner"]);
    assert!(inner.join("out/data collection.csv").is_file());
    untouched(&s);
}

#[test]
fn index_corpus_and_codebook_settings_stay_inside_the_study() {
    let (s, inner) = nested();
    let abs = s.path().join("elsewhere").to_string_lossy().into_owned();
    let cases = [
        (
            "index: .qualdex",
            "index: ../elsewhere".to_string(),
            "index",
        ),
        ("index: .qualdex", format!("index: {abs}"), "index"),
        ("index: .qualdex", "index: .".to_string(), "index"),
        ("index: .qualdex", "index: corpus".to_string(), "index"),
        ("corpus: corpus", format!("corpus: {abs}"), "corpus"),
        (
            "codebooks: []",
            format!("codebooks: [{abs}/keep.txt]"),
            "codebook",
        ),
    ];
    s.write("inner/codebooks/ok.yaml", CODEBOOK);
    let original = String::from_utf8(s.read("inner/qualdex.yaml")).unwrap();
    for (from, to, what) in &cases {
        s.write("inner/qualdex.yaml", original.replacen(from, to, 1));
        let line = original.lines().position(|l| l.starts_with(from)).unwrap() + 1;
        for args in [
            vec!["--study", "inner", "index"],
            vec!["--study", "inner", "search", "risk"],
        ] {
            let e = fails_in(&s, &args);
            assert!(
                e.contains(&format!("inner/qualdex.yaml:{line}:")) && e.contains('^'),
                "{to}: not located: {e}"
            );
            assert!(e.contains(what), "{to}: {e}");
            untouched(&s);
        }
    }
    // Folders below the study are fine.
    s.write(
        "inner/qualdex.yaml",
        original
            .replacen("index: .qualdex", "index: cache/idx", 1)
            .replacen("codebooks: []", "codebooks: [./codebooks/ok.yaml]", 1),
    );
    s.ok(&["--study", "inner", "search", "risk"]);
    assert!(inner.join("cache/idx").is_dir());
    // The corpus and codebooks are only read: beside the study is fine, and
    // nothing is written there.
    s.write("shared/cb.yaml", CODEBOOK);
    s.write(
        "shared/transcripts/b.md",
        "Interviewer: q?\n\nBo: the risk is ours\n",
    );
    s.write(
        "inner/qualdex.yaml",
        original
            .replacen("corpus: corpus", "corpus: ../shared/transcripts", 1)
            .replacen("codebooks: []", "codebooks: [../shared/cb.yaml]", 1),
    );
    let out = s.ok(&["--study", "inner", "search", "risk", "--format", "csv"]);
    assert!(out.contains("b.md"), "{out}");
    let mut beside: Vec<String> = std::fs::read_dir(s.path().join("shared"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["cb.yaml", "transcripts"]);
    untouched(&s);
}

#[cfg(unix)]
#[test]
fn links_from_out_or_the_index_to_outside_are_not_written_through() {
    let (s, inner) = nested();
    s.write("inner/codebooks/cb.yaml", CODEBOOK);
    set_config(
        &s,
        "inner/qualdex.yaml",
        "codebooks: []",
        "codebooks: [codebooks/cb.yaml]",
    );
    std::os::unix::fs::symlink("../elsewhere", inner.join("out")).unwrap();
    let e = fails_in(&s, &["run", "inner"]);
    assert!(e.contains("outside the study"), "{e}");
    let e = fails_in(&s, &["--study", "inner", "report"]);
    assert!(e.contains("outside the study"), "{e}");
    untouched(&s);
    std::fs::remove_file(inner.join("out")).unwrap();
    let _ = std::fs::remove_dir_all(inner.join(".qualdex"));
    std::os::unix::fs::symlink("../elsewhere", inner.join(".qualdex")).unwrap();
    for args in [
        vec!["--study", "inner", "index"],
        vec!["--study", "inner", "search", "risk"],
        vec!["run", "inner"],
    ] {
        let e = fails_in(&s, &args);
        assert!(e.contains("outside the study"), "{e}");
        untouched(&s);
    }
    // A link that stays inside the study is followed.
    std::fs::remove_file(inner.join(".qualdex")).unwrap();
    std::fs::create_dir(inner.join("cache")).unwrap();
    std::os::unix::fs::symlink("cache", inner.join(".qualdex")).unwrap();
    s.ok(&["--study", "inner", "search", "risk"]);
}

#[test]
fn report_output_goes_where_the_command_line_says() {
    // `-o` is the user's own choice, not something a study file can set.
    let (s, _inner) = nested();
    s.write("inner/codebooks/cb.yaml", CODEBOOK);
    set_config(
        &s,
        "inner/qualdex.yaml",
        "codebooks: []",
        "codebooks: [codebooks/cb.yaml]",
    );
    s.ok(&["--study", "inner", "report", "-o", "elsewhere/r.html"]);
    assert!(s.path().join("elsewhere/r.html").is_file());
}

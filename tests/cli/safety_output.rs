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

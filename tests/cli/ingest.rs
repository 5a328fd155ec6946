//! Ingestion across formats, offsets, attributes and incremental indexing.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{TestStudy, docx, slice_chars};

const BOM: &str = "\u{feff}";

/// A study with every format, multi-byte characters, CRLF and a BOM.
pub fn mixed_study() -> TestStudy {
    let s = TestStudy::new();
    s.write(
        "corpus/alfa/rd-01.md",
        "---\ncase: Alfa\ninformant: A1\nrole: senior R&D manager\nside: manufacturer\ncountry: Sverige\n---\n\
**Interviewer:** How do you share revenue with the dealers?\n\n\
**Åsa Öberg:** We still have no business model that pays every party. The revenue model is – frankly – unclear.\n\n\
It is about governance, naïvely put. Zürich was the exception.\n\n\
**Interviewer:** And the risk?\n\n\
**Åsa Öberg:** Sharing operational risk is hard 😅. Very hard.\n",
    );
    s.write(
        "corpus/beta/p-01.txt",
        format!(
            "{BOM}Interviewer: Tell me about the stroke guarantee.\r\n\r\nJosé Núñez: We carry the risk, señor. Our incentive is weak.\r\nThe contract runs two years.\r\n\r\nInterviewer: Thanks.\r\nJosé Núñez: De nada.\r\n"
        ),
    );
    s.write(
        "corpus/beta/p-02.vtt",
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>What about incentives?\n\n2\n00:00:05.000 --> 00:00:09.000\n<v Ana Ruiz>The incentive model was never agreed – ni hablar.\n\n3\n00:00:10.000 --> 00:00:12.000\n<v Ana Ruiz>We lost the revenue share.\n",
    );
    s.write(
        "corpus/beta/p-03.srt",
        "1\r\n00:00:01,000 --> 00:00:03,000\r\nInterviewer: Who carries the risk?\r\n\r\n2\r\n00:00:04,000 --> 00:00:08,000\r\nLi Wei: The dealer carries the risk,\r\nnot Beta.\r\n\r\n3\r\n00:00:09,000 --> 00:00:10,000\r\nLi Wei: Ça suffit.\r\n",
    );
    s.write(
        "corpus/alfa/rd-02.docx",
        docx(&[
            "Interviewer: What is the availability guarantee?",
            "Jörg Müller: Up to 95% availability & a revenue model <per hour>.",
            "Jörg Müller: The dealers don't trust it.",
        ]),
    );
    s.write(
        "corpus/alfa/rd-03.txt",
        "Interviewer  00:02\nWhat did the partners say?\n\nKwame Mensah  0:15\nThey wanted a bigger revenue share.\n\nAnd more training.\n\nInterviewer  1:02:03\nThank you.\n",
    );
    s.write(
        "corpus/documents.csv",
        "path,case,informant,role,side,country\n\
beta/p-01.txt,Beta,B1,line manager,partner,Spain\n\
beta/p-02.vtt,Beta,B2,\"sales manager, US\",partner,United States\n\
beta/p-03.srt,Beta,B3,maintenance service technician,partner,United States\n\
alfa/rd-02.docx,Alfa,A2,technology lead,manufacturer,Sweden\n\
alfa/rd-03.txt,Alfa,A3,regional market manager,partner,Nigeria\n",
    );
    s.write("corpus/cases.csv", "case,employees,sector\nAlfa,14000,construction equipment\nBeta,500,press-hardening tools\n");
    s
}

/// The plain text offsets refer to, computed without qualdex for .txt/.md.
fn source_text(s: &TestStudy, path: &str) -> String {
    if path.ends_with(".txt") || path.ends_with(".md") {
        let bytes = s.read(&format!("corpus/{path}"));
        let text = String::from_utf8(bytes).unwrap();
        text.strip_prefix(BOM).map(str::to_string).unwrap_or(text)
    } else {
        s.ok(&["text", path])
    }
}

#[test]
fn every_hit_slices_its_source_text_in_every_format_and_unit() {
    let s = mixed_study();
    s.ok(&["index"]);
    let mut formats = BTreeSet::new();
    for unit in ["sentence", "paragraph", "turn", "document"] {
        let hits = s.hits("NOT zzzzqqq", &["--unit", unit]);
        assert!(hits.len() >= 6, "{unit}: only {} hits", hits.len());
        for h in &hits {
            let path = h["path"].as_str().unwrap();
            let (start, end) = (
                h["start"].as_u64().unwrap() as usize,
                h["end"].as_u64().unwrap() as usize,
            );
            let text = source_text(&s, path);
            assert_eq!(
                slice_chars(&text, start, end),
                h["text"].as_str().unwrap(),
                "{unit} {path} [{start},{end})"
            );
            assert_eq!(h["unit"], unit);
            formats.insert(path.rsplit('.').next().unwrap().to_string());
        }
    }
    assert_eq!(
        formats,
        ["docx", "md", "srt", "txt", "vtt"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn offsets_are_characters_not_bytes() {
    let s = mixed_study();
    let hits = s.hits("\"business model\"", &[]);
    assert_eq!(hits.len(), 1);
    let file = String::from_utf8(s.read("corpus/alfa/rd-01.md")).unwrap();
    let byte = file.find("We still have no business model").unwrap();
    let chars = file[..byte].chars().count();
    assert_eq!(hits[0]["start"].as_u64().unwrap() as usize, chars);
    assert!(
        chars < byte,
        "the fixture must have multi-byte characters before the passage"
    );
    assert_eq!(hits[0]["speaker"], "Åsa Öberg");
    // A BOM is not counted: the first turn of the .txt starts at 13 ("Interviewer: ").
    let hits = s.hits("stroke guarantee", &["--unit", "turn"]);
    assert_eq!(hits[0]["start"], 13);
}

#[test]
fn extracted_text_of_structured_formats() {
    let s = mixed_study();
    assert_eq!(
        s.ok(&["text", "alfa/rd-02.docx"]),
        "Interviewer: What is the availability guarantee?\nJörg Müller: Up to 95% availability & a revenue model <per hour>.\nJörg Müller: The dealers don't trust it.\n"
    );
    assert_eq!(
        s.ok(&["text", "beta/p-03.srt"]),
        "Interviewer: Who carries the risk?\nLi Wei: The dealer carries the risk, not Beta.\nLi Wei: Ça suffit.\n"
    );
    let vtt = s.ok(&["text", "beta/p-02.vtt"]);
    assert!(
        vtt.starts_with("Interviewer: What about incentives?\nAna Ruiz: The incentive model"),
        "{vtt}"
    );
    assert_eq!(
        s.ok(&["text", "beta/p-02.vtt", "--range", "13-34"]),
        "What about incentives"
    );
}

#[test]
fn speakers_turns_and_respondents_in_each_layout() {
    let s = mixed_study();
    let speakers = |path: &str| -> Vec<String> {
        s.hits(&format!("path:{path}"), &["--unit", "turn"])
            .iter()
            .map(|h| h["speaker"].as_str().unwrap_or("-").to_string())
            .collect()
    };
    assert_eq!(
        speakers("alfa/rd-01.md"),
        ["Interviewer", "Åsa Öberg", "Interviewer", "Åsa Öberg"]
    );
    assert_eq!(
        speakers("beta/p-01.txt"),
        ["Interviewer", "José Núñez", "Interviewer", "José Núñez"]
    );
    assert_eq!(speakers("beta/p-02.vtt"), ["Interviewer", "Ana Ruiz"]);
    assert_eq!(speakers("beta/p-03.srt"), ["Interviewer", "Li Wei"]);
    assert_eq!(speakers("alfa/rd-02.docx"), ["Interviewer", "Jörg Müller"]);
    assert_eq!(
        speakers("alfa/rd-03.txt"),
        ["Interviewer", "Kwame Mensah", "Interviewer"]
    );
    // Kwame's turn has two paragraphs; the turn's timestamp is kept.
    let turn = s.hits(
        "path:alfa/rd-03.txt speaker:\"kwame mensah\"",
        &["--unit", "turn"],
    );
    assert_eq!(
        turn[0]["text"],
        "They wanted a bigger revenue share.\n\nAnd more training."
    );
    assert_eq!(turn[0]["timestamp"], "0:15");
    let paras = s.hits(
        "path:alfa/rd-03.txt speaker:\"kwame mensah\"",
        &["--unit", "paragraph"],
    );
    assert_eq!(paras.len(), 2);
    // Interviewer words are not respondents' words.
    for h in s.hits("respondent:true", &["--unit", "turn"]) {
        assert_ne!(h["speaker"], "Interviewer");
        assert_eq!(h["respondent"], true);
    }
    let interviewer = s.hits("respondent:false", &["--unit", "turn"]);
    assert!(interviewer.iter().all(|h| h["speaker"] == "Interviewer"));
    assert_eq!(interviewer.len(), 9);
}

#[test]
fn custom_speaker_pattern_from_the_study_file() {
    let s = TestStudy::new();
    let yaml = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    s.write(
        "qualdex.yaml",
        yaml.replace("  # pattern: ''", "  pattern: '^(?P<speaker>[A-Z]{2,3})> '")
            .replace("Moderator, Int]", "Moderator, Int, IV]"),
    );
    s.write(
        "corpus/x/a.txt",
        "IV> What happened?\nRS> The contract ended.\nIV> Why?\n",
    );
    let hits = s.hits("NOT zzz", &["--unit", "turn"]);
    let got: Vec<(String, bool)> = hits
        .iter()
        .map(|h| {
            (
                h["speaker"].as_str().unwrap().to_string(),
                h["respondent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("IV".to_string(), false),
            ("RS".to_string(), true),
            ("IV".to_string(), false)
        ]
    );
    assert_eq!(hits[1]["text"], "The contract ended.");
}

#[test]
fn attributes_follow_the_documented_precedence() {
    let s = mixed_study();
    // Front matter says country Sverige; documents.csv has no row for it.
    let h = &s.hits("\"business model\"", &[])[0];
    assert_eq!(h["country"], "Sverige");
    assert_eq!(
        h["employees"], "14000",
        "cases.csv applies through the case"
    );
    // documents.csv overrides cases.csv; the folder name is not used when a case is given.
    let h = &s.hits("\"stroke guarantee\"", &[])[0];
    assert_eq!(h["case"], "Beta");
    assert_eq!(h["role"], "line manager");
    assert_eq!(h["sector"], "press-hardening tools");
    // A document with no case anywhere takes its folder's name.
    s.write(
        "corpus/gamma/notes.md",
        "Interviewer: hello there\n\nAnne: hi\n\nAnne: bye\n",
    );
    let h = &s.hits("path:gamma/notes.md", &["--unit", "document"])[0];
    assert_eq!(h["case"], "gamma");
    // Front matter beats documents.csv, with a warning.
    s.append(
        "corpus/documents.csv",
        "alfa/rd-01.md,Alfa,A1,portfolio manager,manufacturer,Sweden\n",
    );
    let r = s.run(&["index"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("front matter wins"), "{}", r.stderr);
    let h = &s.hits("\"business model\"", &[])[0];
    assert_eq!(h["role"], "senior R&D manager");
}

fn all_results(s: &TestStudy) -> Vec<Vec<Value>> {
    [
        "NOT zzz",
        "risk",
        "\"revenue model\"",
        "case:Beta AND incentive*",
        "role:\"sales manager, US\"",
    ]
    .iter()
    .flat_map(|q| ["sentence", "paragraph", "turn", "document"].map(|u| s.hits(q, &["--unit", u])))
    .collect()
}

#[test]
fn incremental_index_rereads_only_changes_and_matches_a_rebuild() {
    let s = mixed_study();
    let first = s.run(&["index"]);
    assert!(first.stderr.contains("6 added"), "{}", first.stderr);
    let again = s.run(&["index"]);
    assert!(again.stderr.contains("read 0 files"), "{}", again.stderr);
    assert!(again.stderr.contains("6 unchanged"), "{}", again.stderr);

    // Change one file, delete another, add a third.
    s.append(
        "corpus/beta/p-01.txt",
        "Interviewer: One more thing about the revenue model.\r\n",
    );
    std::fs::remove_file(s.path().join("corpus/beta/p-03.srt")).unwrap();
    s.write(
        "corpus/beta/p-04.md",
        "---\ncase: Beta\n---\nInterviewer: hi\n\nEva: The risk was ours.\n\nEva: yes\n",
    );
    let r = s.run(&["index"]);
    assert!(
        r.stderr.contains("1 added, 1 changed, 1 removed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("read 2 files"), "{}", r.stderr);
    assert!(r.stderr.contains("changed  beta/p-01.txt"), "{}", r.stderr);

    // Touching a file without changing it re-reads it but changes nothing.
    let p = s.path().join("corpus/alfa/rd-01.md");
    let body = std::fs::read(&p).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&p, body).unwrap();
    let r = s.run(&["index"]);
    assert!(
        r.stderr.contains("0 added, 0 changed, 0 removed"),
        "{}",
        r.stderr
    );

    // A sheet edit re-indexes exactly the documents it touches.
    let csv = String::from_utf8(s.read("corpus/documents.csv")).unwrap();
    s.write(
        "corpus/documents.csv",
        csv.replace("line manager", "plant manager"),
    );
    let r = s.run(&["index"]);
    assert!(r.stderr.contains("1 changed"), "{}", r.stderr);
    assert_eq!(
        s.hits("role:\"plant manager\"", &["--unit", "document"])
            .len(),
        1
    );

    let incremental = all_results(&s);
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    let fresh = all_results(&s);
    assert_eq!(incremental, fresh);
    assert!(incremental.iter().any(|r| !r.is_empty()));
}

#[test]
fn an_edit_keeping_size_and_time_is_found_by_index_verify() {
    let s = mixed_study();
    s.ok(&["index"]);
    let path = s.path().join("corpus/alfa/rd-01.md");
    let before = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let after = before.replace("Zürich was the exception", "Zürich was the outlier!!");
    assert_eq!(before.len(), after.len());
    std::fs::write(&path, &after).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    // Size and time say nothing changed: the index cannot tell, and the
    // stale-text warning points at the flag that can.
    let r = s.run(&["search", "exception", "--format", "json", "--unit", "turn"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed since it was indexed")
            && r.stderr.contains("qualdex index --verify"),
        "{}",
        r.stderr
    );
    let r = s.run(&["index"]);
    assert!(r.stderr.contains("0 changed"), "{}", r.stderr);
    assert!(s.hits("outlier", &[]).is_empty());
    // --verify hashes the contents, lists the file as changed and re-reads it.
    let r = s.run(&["index", "--verify"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 changed") && r.stderr.contains("changed  alfa/rd-01.md"),
        "{}",
        r.stderr
    );
    assert_eq!(s.hits("outlier", &[]).len(), 1);
    assert!(s.hits("exception", &["--unit", "turn"]).is_empty());
    // Nothing changed since: a second --verify reads nothing again.
    let r = s.run(&["index", "--verify"]);
    assert!(
        r.stderr.contains("0 changed") && r.stderr.contains("read 0"),
        "{}",
        r.stderr
    );
}

#[test]
fn texts_are_read_from_the_files_and_never_from_a_changed_one() {
    let s = mixed_study();
    s.ok(&["index"]);
    // The index keeps no copy of the texts: deleting a transcript's
    // contents in place (same length, so only the hash tells) without
    // refreshing leaves the hits but not their words.
    let path = s.path().join("corpus/alfa/rd-01.md");
    let before = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let after = before.replace("Zürich was the exception", "Zürich was the rule!!!!!");
    assert_eq!(before.len(), after.len());
    std::fs::write(&path, &after).unwrap();
    let r = s.run(&[
        "search",
        "exception",
        "--no-refresh",
        "--format",
        "json",
        "--unit",
        "turn",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hit: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(hit["path"], "alfa/rd-01.md");
    assert_eq!(hit["text"], "", "no words from a file that changed");
    assert!(
        r.stderr
            .contains("1 transcript changed since it was indexed")
            && r.stderr.contains("alfa/rd-01.md"),
        "{}",
        r.stderr
    );
    // Other documents' texts are still shown, with no warning.
    let r = s.run(&["search", "guarantee", "--no-refresh", "--format", "json"]);
    assert!(r.stdout.contains("availability guarantee"), "{}", r.stdout);
    assert!(!r.stderr.contains("changed since"), "{}", r.stderr);
    // With the refresh, the new words are found and shown.
    let hits = s.hits("rule", &["--unit", "turn"]);
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0]["text"]
            .as_str()
            .unwrap()
            .contains("Zürich was the rule!!!!!"),
        "{}",
        hits[0]
    );
}

#[test]
fn skipped_files_are_counted_and_sheets_are_not_transcripts() {
    let s = mixed_study();
    s.write("corpus/scan.pdf", "%PDF");
    s.write("corpus/alfa/photo.JPG", "x");
    s.write("corpus/.hidden/secret.txt", "Interviewer: no\n");
    let r = s.run(&["index"]);
    assert!(r.stderr.contains("6 documents"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("skipped 2 files with unknown extensions: .jpg (1), .pdf (1)"),
        "{}",
        r.stderr
    );
}

#[test]
fn lossy_opt_in_reads_invalid_utf8() {
    let s = TestStudy::new();
    s.write(
        "corpus/a/x.txt",
        b"Interviewer: caf\xe9?\nBo: yes\nBo: no\n".as_slice(),
    );
    let e = s.fails(&["index"]);
    assert!(e.contains("byte offset 16"), "{e}");
    s.ok(&["index", "--lossy"]);
    let h = s.hits("caf", &["--unit", "turn"]);
    assert_eq!(h[0]["text"], "caf\u{fffd}?");
}

#[test]
fn corpus_table_counts_documents_informants_turns_and_words() {
    let s = mixed_study();
    let md = s.ok(&["corpus"]);
    let alfa = md.lines().find(|l| l.starts_with("| Alfa")).unwrap();
    let cells: Vec<&str> = alfa
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    // 3 documents, 3 informants, turns: 4 + 2 + 3 = 9.
    assert_eq!(&cells[..4], ["Alfa", "3", "3", "9"]);
    let json: Value =
        serde_json::from_str(&s.ok(&["corpus", "--by", "side", "--format", "json"])).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows[0]["case"], "Alfa");
    assert_eq!(rows[0]["manufacturer"], 2);
    assert_eq!(rows[0]["partner"], 1);
    assert_eq!(rows[1]["partner"], 3);
    assert_eq!(rows[2]["Total"], 6);
    let csv = s.ok(&["corpus", "--by", "role", "--format", "csv"]);
    assert!(csv.starts_with("case,line manager,maintenance service technician,regional market manager,\"sales manager, US\""), "{csv}");
}

#[test]
fn init_refuses_to_overwrite_and_commands_find_the_study_upwards() {
    let s = mixed_study();
    let e = s.fails(&["init", "."]);
    assert!(e.contains("a study already exists here"), "{e}");
    let deep = s.path().join("corpus/alfa");
    let r = s.run_in(&deep, &["search", "governance", "--count"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "1");
    let elsewhere = tempfile::tempdir().unwrap();
    let r = s.run_in(elsewhere.path(), &["search", "governance", "--count"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no qualdex.yaml"), "{}", r.stderr);
    let study = s.path().to_string_lossy().to_string();
    let r = s.run_in(
        elsewhere.path(),
        &["--study", &study, "search", "governance", "--count"],
    );
    assert_eq!(r.stdout.trim(), "1", "{}", r.stderr);
}

/// `init` in a folder that already holds transcripts (or a `.gitignore`)
/// says what it made and what it kept, and touches nothing it kept; a
/// file where a folder should go is a clear error before anything is made.
#[test]
fn init_says_what_it_made_and_keeps_what_was_there() {
    let s = TestStudy::new();
    let there = s.path().join("existing");
    std::fs::create_dir_all(there.join("corpus")).unwrap();
    std::fs::write(there.join("corpus/a.txt"), "Interviewer: Hello.\n").unwrap();
    std::fs::write(there.join(".gitignore"), "target/\n").unwrap();
    let r = s.run_in(&there, &["init", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("kept the existing corpus/"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("kept the existing .gitignore"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("created corpus"), "{}", r.stderr);
    assert!(!r.stderr.contains("created .gitignore"), "{}", r.stderr);
    for made in ["codebooks/", "codings/", "qualdex.yaml"] {
        assert!(
            r.stderr.contains(&format!("created {made}")),
            "{made}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(there.join(".gitignore")).unwrap(),
        "target/\n"
    );
    assert!(there.join("corpus/a.txt").is_file());

    let blocked = s.path().join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(blocked.join("codings"), "not a folder").unwrap();
    let r = s.run_in(&blocked, &["init", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("codings"), "{}", r.stderr);
    assert!(
        r.stderr.contains("this is a file, not a folder"),
        "{}",
        r.stderr
    );
    assert!(!blocked.join("qualdex.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(blocked.join("codings")).unwrap(),
        "not a folder"
    );

    #[cfg(unix)]
    {
        let dangling = s.path().join("dangling");
        std::fs::create_dir_all(&dangling).unwrap();
        std::os::unix::fs::symlink(s.path().join("nowhere"), dangling.join("corpus")).unwrap();
        let r = s.run_in(&dangling, &["init", "."]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("this is a link, and it does not lead to a folder"),
            "{}",
            r.stderr
        );
        assert!(!dangling.join("qualdex.yaml").exists());
        assert!(
            !s.path().join("nowhere").exists(),
            "init must not create a link's target"
        );
    }
}

/// The paths of the documents a search finds (refreshing the index first).
fn found(s: &TestStudy, query: &str) -> Vec<String> {
    s.sorted_field(query, "document", "path")
}

/// Sets the modification time of a folder (or file).
#[cfg(unix)]
fn set_time(path: &std::path::Path, t: std::time::SystemTime) {
    std::fs::File::open(path).unwrap().set_modified(t).unwrap();
}

/// Sets every corpus folder an hour back, as for a corpus left alone, and
/// lets `qualdex index` record those times.
#[cfg(unix)]
fn leave_alone(s: &TestStudy) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut folders = vec![s.path().join("corpus")];
    while let Some(dir) = folders.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                folders.push(e.path());
            }
        }
        set_time(&dir, old);
    }
    s.ok(&["index", "--quiet"]);
}

/// The refresh before a search trusts a folder whose time is unchanged
/// and examines only its recorded transcripts; every kind of change must
/// still reach the results, in folders left alone and in folders changed
/// a moment ago (whose times are not trusted).
#[cfg(unix)]
#[test]
fn searches_see_every_change_in_folders_old_and_new() {
    let s = TestStudy::new();
    s.write("corpus/top.md", "Ana: apples and pears\n");
    s.write("corpus/alfa/one.md", "Ana: apples again\n");
    s.write("corpus/alfa/deep/two.txt", "Ben: pears only\n");
    leave_alone(&s);
    assert_eq!(found(&s, "apples"), ["alfa/one.md", "top.md"]);

    // A transcript added to an old folder.
    s.write("corpus/alfa/deep/three.md", "Cy: quinces\n");
    assert_eq!(found(&s, "quinces"), ["alfa/deep/three.md"]);
    leave_alone(&s);
    // Edited in place: appended, then rewritten at the same size.
    s.append("corpus/alfa/one.md", "\nAna: and quinces\n");
    assert_eq!(found(&s, "quinces"), ["alfa/deep/three.md", "alfa/one.md"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    s.write("corpus/alfa/deep/two.txt", "Ben: plums only\n");
    assert_eq!(found(&s, "plums"), ["alfa/deep/two.txt"]);
    assert_eq!(found(&s, "pears"), ["top.md"]);
    // Removed, and a new folder.
    std::fs::remove_file(s.path().join("corpus/top.md")).unwrap();
    assert_eq!(found(&s, "apples"), ["alfa/one.md"]);
    leave_alone(&s);
    s.write("corpus/beta/four.md", "Dee: apples\n");
    assert_eq!(found(&s, "apples"), ["alfa/one.md", "beta/four.md"]);
    // A folder renamed.
    leave_alone(&s);
    std::fs::rename(s.path().join("corpus/beta"), s.path().join("corpus/gamma")).unwrap();
    assert_eq!(found(&s, "apples"), ["alfa/one.md", "gamma/four.md"]);

    // A folder just changed keeps its time when a second file lands in the
    // same clock tick; it is listed again, so the second file is found.
    s.write("corpus/gamma/five.md", "Eve: dates\n");
    assert_eq!(found(&s, "dates"), ["gamma/five.md"]);
    let gamma = s.path().join("corpus/gamma");
    let t = std::fs::metadata(&gamma).unwrap().modified().unwrap();
    s.write("corpus/gamma/six.md", "Eve: figs\n");
    set_time(&gamma, t);
    assert_eq!(found(&s, "figs"), ["gamma/six.md"]);

    // Swap files coming and going move a folder's time without changing
    // the corpus; the results stay the same, and so does the index.
    leave_alone(&s);
    s.write("corpus/alfa/.one.md.swp", "swap");
    std::fs::remove_file(s.path().join("corpus/alfa/.one.md.swp")).unwrap();
    let r = s.run(&["search", "figs", "--count"]);
    assert_eq!(r.stdout.trim(), "1");
    assert!(!r.stderr.contains("updated the index"), "{}", r.stderr);

    // Whatever the path taken, the results are those of a fresh index.
    let before = [found(&s, "apples"), found(&s, "quinces OR plums OR figs")];
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    assert_eq!(
        before,
        [found(&s, "apples"), found(&s, "quinces OR plums OR figs")]
    );
}

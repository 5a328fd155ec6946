//! The search language, filters, units and output formats.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ingest::mixed_study;

fn paths(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            format!(
                "{}#{}",
                h["path"].as_str().unwrap(),
                h["text"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn boolean_phrase_prefix_proximity_and_stemming() {
    let s = mixed_study();
    // Stemming: "incentives" matches "incentive".
    let h = s.hits("incentives", &[]);
    assert_eq!(h.len(), 3, "{:?}", paths(&h));
    // Phrases use exact words: "revenue models" (plural) does not match the phrase.
    assert_eq!(s.hits("\"revenue model\"", &[]).len(), 2);
    assert_eq!(s.hits("\"revenue models\"", &[]).len(), 0);
    // Prefix.
    assert_eq!(s.hits("govern*", &[]).len(), 1);
    // Proximity: "model pays" are 2 positions apart ("model that pays").
    assert_eq!(s.hits("\"model pays\"", &[]).len(), 0);
    assert_eq!(s.hits("\"model pays\"~1", &[]).len(), 1);
    // Boolean.
    let both = s.hits("risk AND dealer", &[]);
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["path"], "beta/p-03.srt");
    let either = s.hits("governance OR trust", &[]);
    assert_eq!(either.len(), 2);
    let not = s.hits("risk NOT dealer", &[]);
    assert!(
        not.iter()
            .all(|h| !h["text"].as_str().unwrap().contains("dealer"))
    );
    assert!(!not.is_empty());
    let grouped = s.hits("(governance OR trust) AND case:Alfa", &[]);
    assert_eq!(grouped.len(), 2);
}

#[test]
fn filters_on_case_speaker_attributes_path_and_respondent() {
    let s = mixed_study();
    let case = s.hits("risk case:beta", &[]);
    assert!(!case.is_empty() && case.iter().all(|h| h["case"] == "Beta"));
    let spk = s.hits("speaker:\"li wei\"", &[]);
    assert_eq!(spk.len(), 2);
    let role = s.hits("role:\"sales manager, US\"", &["--unit", "document"]);
    assert_eq!(role.len(), 1);
    assert_eq!(role[0]["path"], "beta/p-02.vtt");
    let country = s.hits("country:\"united states\" AND risk", &[]);
    assert_eq!(country.len(), 2);
    assert!(country.iter().all(|h| h["path"] == "beta/p-03.srt"));
    // rd-01.md: the interviewer's question and one answer; rd-02.docx: one answer.
    let side_prefix = s.hits("side:manu* AND revenue", &[]);
    assert_eq!(side_prefix.len(), 3);
    assert!(side_prefix.iter().all(|h| h["side"] == "manufacturer"));
    let from_cases = s.hits("employees:500", &["--unit", "document"]);
    assert_eq!(from_cases.len(), 3);
    let path = s.hits("path:alfa/* AND revenue", &[]);
    assert!(
        path.iter()
            .all(|h| h["path"].as_str().unwrap().starts_with("alfa/"))
    );
    assert_eq!(path.len(), 4, "rd-01.md: 2, rd-02.docx: 1, rd-03.txt: 1");
    let resp = s.hits("risk respondent:true", &[]);
    assert!(resp.iter().all(|h| h["speaker"] != "Interviewer"));
    let interviewer = s.hits("risk respondent:false", &[]);
    assert!(!interviewer.is_empty() && interviewer.iter().all(|h| h["speaker"] == "Interviewer"));
}

#[test]
fn units_limit_count_and_order() {
    let s = mixed_study();
    let sentences = s.hits("risk", &["--unit", "sentence"]);
    for h in &sentences {
        assert!(
            h["text"].as_str().unwrap().to_lowercase().contains("risk"),
            "{h}"
        );
    }
    let docs = s.hits("risk", &["--unit", "document"]);
    assert_eq!(docs.len(), 3);
    // Document order: by path, then offset.
    let keys: Vec<(String, u64)> = sentences
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_string(),
                h["start"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let count = s.ok(&["search", "risk", "--unit", "sentence", "--count"]);
    assert_eq!(count.trim(), sentences.len().to_string());
    let r = s.run(&[
        "search", "risk", "--unit", "sentence", "--limit", "2", "--format", "json",
    ]);
    assert_eq!(r.stdout.lines().count(), 2);
    assert!(
        r.stderr
            .contains(&format!("showing 2 of {}", sentences.len())),
        "{}",
        r.stderr
    );
    // No hits: exit 1, nothing on stdout.
    let r = s.run(&["search", "zebra"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""));
}

#[test]
fn by_attribute_counts_hits_per_value() {
    let s = mixed_study();
    let json: Value =
        serde_json::from_str(&s.ok(&["search", "risk", "--by", "side", "--format", "json"]))
            .unwrap();
    let rows = json["rows"].as_array().unwrap();
    let find = |v: &str| rows.iter().find(|r| r["side"] == v).unwrap().clone();
    // Independent count from the JSON hits.
    let hits = s.hits("risk", &[]);
    let partner = hits.iter().filter(|h| h["side"] == "partner").count() as u64;
    let manufacturer = hits.iter().filter(|h| h["side"] == "manufacturer").count() as u64;
    assert_eq!(find("partner")["hits"], partner);
    assert_eq!(find("manufacturer")["hits"], manufacturer);
    assert_eq!(find("Total")["hits"], partner + manufacturer);
    let csv = s.ok(&["search", "risk", "--by", "case", "--format", "csv"]);
    assert!(
        csv.starts_with("case,hits,documents with hits,documents\n"),
        "{csv}"
    );
}

#[test]
fn kwic_csv_and_markdown_outputs() {
    let s = mixed_study();
    let kwic = s.ok(&["search", "\"business model\""]);
    assert!(
        kwic.starts_with("alfa/rd-01.md#p2  Alfa  Åsa Öberg  ["),
        "{kwic}"
    );
    assert!(
        kwic.contains("We still have no business model that pays every party."),
        "{kwic}"
    );
    let csv = s.ok(&["search", "trust", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        &headers.iter().take(9).collect::<Vec<_>>(),
        &[
            "path",
            "id",
            "case",
            "speaker",
            "unit",
            "start",
            "end",
            "respondent",
            "text"
        ]
    );
    let rec = rdr.records().next().unwrap().unwrap();
    assert_eq!(&rec[0], "alfa/rd-02.docx");
    assert_eq!(&rec[8], "The dealers don't trust it.");
    let role_col = headers.iter().position(|h| h == "role").unwrap();
    assert_eq!(&rec[role_col], "technology lead");
    let md = s.ok(&["search", "trust", "--format", "md"]);
    assert!(
        md.contains("| Alfa | alfa/rd-02.docx#p3 | Jörg Müller | The dealers don't trust it. |"),
        "{md}"
    );
}

#[test]
fn search_results_are_deterministic() {
    let s = mixed_study();
    let a = s.ok(&["search", "NOT zzz", "--format", "json", "--limit", "0"]);
    let b = s.ok(&["search", "NOT zzz", "--format", "json", "--limit", "0"]);
    assert_eq!(a, b);
}

/// The generation folder holding the live index.
fn live_generation(s: &crate::support::TestStudy) -> std::path::PathBuf {
    let index = s.path().join(".qualdex");
    let current = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    index.join(current.trim())
}

#[test]
fn unquoted_words_find_every_form_even_after_updates_and_without_the_forms_table() {
    let s = crate::support::TestStudy::new();
    s.write(
        "corpus/a.md",
        "The incentive was weak. Governing it was hard.\n",
    );
    s.ok(&["index", "--quiet"]);
    let texts = |q: &str| s.sorted_field(q, "sentence", "text");
    assert_eq!(texts("incentives"), ["The incentive was weak."]);
    // A second transcript brings new forms of the same stems: the search
    // refreshes the index, and the table of forms follows it.
    s.write(
        "corpus/b.md",
        "Incentives changed. The governance of incentive schemes improved.\n",
    );
    let all = [
        "Incentives changed.",
        "The governance of incentive schemes improved.",
        "The incentive was weak.",
    ];
    assert_eq!(texts("incentive"), all);
    // Several unquoted words: a phrase over every combination of forms.
    assert_eq!(
        texts("incentive scheme"),
        ["The governance of incentive schemes improved."]
    );
    assert_eq!(
        texts("govern"),
        [
            "Governing it was hard.",
            "The governance of incentive schemes improved."
        ]
    );
    // Quoted words stay exact.
    assert_eq!(texts("\"incentives\""), ["Incentives changed."]);
    assert_eq!(texts("\"incentives schemes\""), Vec::<String>::new());
    // The table is a cache: missing or written for other segments, it is
    // rebuilt from the index and answers the same.
    let forms = live_generation(&s).join("forms.tsv");
    assert!(
        std::fs::read_to_string(&forms)
            .unwrap()
            .contains("incent\tincentives\n")
    );
    std::fs::write(&forms, "# segments other\nincent\tincentive\n").unwrap();
    assert_eq!(texts("incentive"), all);
    std::fs::remove_file(&forms).unwrap();
    assert_eq!(texts("incentive"), all);
}

/// Whole documents have no words of their own in the index: a text leaf
/// matches a document when one of its paragraphs does, and AND, OR and NOT
/// then combine documents. So the words of two paragraphs meet in their
/// document, speaker labels are not words of it, and a phrase does not run
/// from one paragraph into the next.
#[test]
fn documents_match_text_through_their_paragraphs() {
    let s = crate::support::TestStudy::new();
    s.write(
        "corpus/a/one.md",
        "Ana: The budget was tight.\n\nPartners left early.\n\nModerator: Thanks.\n",
    );
    s.write("corpus/b/two.md", "Ana: Budget partners agreed.\n");
    s.write("corpus/c/three.md", "Ana: Nothing here.\n");
    let docs = |q: &str| -> Vec<String> {
        s.hits(q, &["--unit", "document"])
            .iter()
            .map(|h| h["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(docs("budget AND partners"), ["a/one.md", "b/two.md"]);
    let paragraphs = s.hits("budget AND partners", &["--unit", "paragraph"]);
    assert_eq!(paragraphs.len(), 1);
    assert_eq!(paragraphs[0]["path"], "b/two.md");
    // Unquoted words are stemmed, as in every unit.
    assert_eq!(docs("partner"), ["a/one.md", "b/two.md"]);
    assert_eq!(docs("NOT budget"), ["c/three.md"]);
    assert_eq!(
        docs("budget OR nothing"),
        ["a/one.md", "b/two.md", "c/three.md"]
    );
    assert_eq!(docs("budget AND NOT agreed"), ["a/one.md"]);
    // The phrase would straddle the paragraph break of a/one.md.
    assert!(docs("\"tight partners\"").is_empty());
    assert_eq!(docs("\"budget partners\""), ["b/two.md"]);
    // `Moderator` is only a speaker label.
    assert!(docs("moderator").is_empty());
    assert_eq!(docs("case:a AND budget"), ["a/one.md"]);
    let count = s.ok(&["search", "budget", "--unit", "document", "--count"]);
    assert_eq!(count.trim(), "2");
    // Each hit is the whole body, sliced from the document's text.
    let hit = &s.hits("tight", &["--unit", "document"])[0];
    let text = String::from_utf8(s.read("corpus/a/one.md")).unwrap();
    let body = crate::support::slice_chars(
        &text,
        hit["start"].as_u64().unwrap() as usize,
        hit["end"].as_u64().unwrap() as usize,
    );
    assert!(
        body.contains("The budget was tight.") && body.ends_with("Thanks."),
        "{body}"
    );
}

/// Searching whole documents jumps, after a match, past the run of index
/// documents with the same path (runs recorded per segment in `runs.tsv`).
/// Checked after a first index, after edits, deletions and additions
/// (deleted documents, several segments), after a rebuild and without the
/// runs file: a single word or phrase matches exactly the documents of its
/// paragraph matches.
#[test]
fn whole_documents_match_the_documents_of_their_paragraph_matches() {
    let s = crate::support::TestStudy::new();
    let words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"];
    let mut next = draws(0x2545_f491);
    let mut transcript = |lead: &str| {
        let mut t = String::new();
        for turn in 0..(2 + next(5)) {
            let who = if turn % 2 == 0 { "Interviewer" } else { "Ana" };
            t.push_str(&format!("{who}: {lead}"));
            for _ in 0..(3 + next(6)) {
                t.push(' ');
                t.push_str(words[next(words.len())]);
            }
            t.push_str(".\n\n");
        }
        t
    };
    for i in 0..40 {
        s.write(
            &format!("corpus/c{}/t{i:02}.md", i % 4),
            transcript("Well,"),
        );
    }
    let check = |when: &str| {
        for q in words
            .iter()
            .map(|w| w.to_string())
            .chain(["\"alpha beta\"".into()])
        {
            let docs: Vec<String> = s
                .hits(&q, &["--unit", "document"])
                .iter()
                .map(|h| h["path"].as_str().unwrap().to_string())
                .collect();
            let mut want: Vec<String> = s
                .hits(&q, &["--unit", "paragraph"])
                .iter()
                .map(|h| h["path"].as_str().unwrap().to_string())
                .collect();
            want.dedup();
            assert_eq!(docs, want, "{when}: {q}");
        }
        // Case filters match every unit of the case's transcripts, found by
        // path, as a filter on the path itself does.
        for unit in ["paragraph", "sentence", "turn", "document"] {
            for (case, q, by_path) in [
                ("c1", "case:c1", "path:c1/*"),
                ("c2", "case:C2 AND beta", "path:c2/* AND beta"),
                (
                    "c3",
                    "NOT case:c0 AND NOT case:c1 AND NOT case:c2",
                    "NOT path:c0/* AND NOT path:c1/* AND NOT path:c2/*",
                ),
            ] {
                let key = |h: &Value| h["id"].as_str().unwrap().to_string();
                let got: Vec<String> = s.hits(q, &["--unit", unit]).iter().map(key).collect();
                let want: Vec<String> =
                    s.hits(by_path, &["--unit", unit]).iter().map(key).collect();
                assert!(!want.is_empty(), "{when}: {by_path}");
                assert!(
                    want.iter().all(|id| id.starts_with(case)),
                    "{when}: {by_path}"
                );
                assert_eq!(got, want, "{when}: {unit}: {q}");
            }
        }
    };
    check("first index");
    for i in (0..40).step_by(3) {
        s.write(&format!("corpus/c{}/t{i:02}.md", i % 4), transcript("So,"));
    }
    std::fs::remove_file(s.path().join("corpus/c1/t01.md")).unwrap();
    std::fs::remove_file(s.path().join("corpus/c2/t02.md")).unwrap();
    for i in 40..44 {
        s.write(&format!("corpus/c{}/t{i:02}.md", i % 4), transcript("Then"));
    }
    check("after edits");
    s.ok(&["index", "--rebuild"]);
    check("after a rebuild");
    let runs = live_generation(&s).join("runs.tsv");
    assert!(runs.is_file());
    std::fs::remove_file(&runs).unwrap();
    check("without the runs file");
    std::fs::write(&runs, "not a segment\t1,2,3\n").unwrap();
    check("with a runs file for other segments");
}

/// A fixed-seed generator of numbers below `n`, for random transcripts.
fn draws(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) % n as u64) as usize
    }
}

/// Lowercased runs of letters and digits, as the index reads words.
fn word_list(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The test's own reading of a sentence search: which sentences a query
/// matches, from each sentence's words.
#[derive(Debug, Clone)]
enum Want {
    Word(String),
    Prefix(String),
    Phrase(Vec<String>),
    And(Box<Want>, Box<Want>),
    Or(Box<Want>, Box<Want>),
    AndNot(Box<Want>, Box<Want>),
    Not(Box<Want>),
}

impl Want {
    fn query(&self) -> String {
        match self {
            Want::Word(w) => format!("\"{w}\""),
            Want::Prefix(p) => format!("{p}*"),
            Want::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
            Want::And(a, b) => format!("({} AND {})", a.query(), b.query()),
            Want::Or(a, b) => format!("({} OR {})", a.query(), b.query()),
            Want::AndNot(a, b) => format!("({} NOT {})", a.query(), b.query()),
            Want::Not(a) => format!("(NOT {})", a.query()),
        }
    }

    fn matches(&self, words: &[String]) -> bool {
        match self {
            Want::Word(w) => words.contains(w),
            Want::Prefix(p) => words.iter().any(|w| w.starts_with(p.as_str())),
            Want::Phrase(ws) => words.windows(ws.len()).any(|win| win == ws.as_slice()),
            Want::And(a, b) => a.matches(words) && b.matches(words),
            Want::Or(a, b) => a.matches(words) || b.matches(words),
            Want::AndNot(a, b) => a.matches(words) && !b.matches(words),
            Want::Not(a) => !a.matches(words),
        }
    }
}

#[test]
fn sentences_match_as_a_reading_of_their_words_would() {
    // Sentences are answered from their paragraphs' word positions; this
    // checks them against the words of each sentence's own text.
    let s = crate::support::TestStudy::new();
    s.use_codebook(
        "codebooks/c.yaml",
        "title: t\nversion: \"1\"\nunit: sentence\nthemes:\n  label: Themes\n  codes:\n    \
         omen:\n      label: Omen\n      rules:\n        - terms: [omega]\n",
    );
    let vocab = [
        "alpha", "alpine", "beta", "gamma", "delta", "omega", "sigma", "café", "naïve", "x-ray",
        "don't", "Alpha", "BETA", "e.g.", "3.5",
    ];
    let mut next = draws(0x9e37_79b9);
    let transcript = |next: &mut dyn FnMut(usize) -> usize| {
        let mut t = String::new();
        for turn in 0..(2 + next(4)) {
            let who = if turn % 2 == 0 { "Interviewer" } else { "Ana" };
            t.push_str(&format!("{who}:"));
            for _ in 0..(1 + next(5)) {
                t.push(' ');
                for w in 0..(1 + next(7)) {
                    if w > 0 {
                        t.push(' ');
                    }
                    t.push_str(vocab[next(vocab.len())]);
                }
                t.push_str([".", "?", "!", "."][next(4)]);
            }
            t.push_str("\n\n");
        }
        t
    };
    for i in 0..30 {
        s.write(
            &format!("corpus/c{}/t{i:02}.md", i % 3),
            transcript(&mut next),
        );
    }
    let mut wants = vec![
        Want::Word("omega".into()),
        Want::Word("café".into()),
        Want::Word("x".into()),
        Want::Prefix("alp".into()),
        Want::Phrase(vec!["alpha".into(), "beta".into()]),
        Want::Phrase(vec!["don".into(), "t".into(), "gamma".into()]),
        Want::Not(Box::new(Want::Word("alpha".into()))),
    ];
    let leaf = |next: &mut dyn FnMut(usize) -> usize| -> Want {
        let w = word_list(vocab[next(vocab.len())])[0].clone();
        match next(3) {
            0 => Want::Word(w),
            1 => Want::Prefix(w[..2.min(w.len())].to_string()),
            _ => Want::Phrase(vec![w, word_list(vocab[next(vocab.len())])[0].clone()]),
        }
    };
    for _ in 0..30 {
        let (a, b) = (Box::new(leaf(&mut next)), Box::new(leaf(&mut next)));
        wants.push(match next(3) {
            0 => Want::And(a, b),
            1 => Want::Or(a, b),
            _ => Want::AndNot(a, b),
        });
    }
    let check = |when: &str| {
        // Every sentence, with its text, as the search lists them.
        let all = s.hits("NOT zzzz", &["--unit", "sentence"]);
        let paragraphs = s.hits("NOT zzzz", &["--unit", "paragraph"]);
        assert!(
            all.len() > 3 * paragraphs.len() / 2,
            "{when}: few sentences"
        );
        // Sentences are numbered in order within each document, and tile
        // their paragraphs.
        let mut by_doc: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for h in &all {
            by_doc
                .entry(h["path"].as_str().unwrap().to_string())
                .or_default()
                .push(h);
        }
        for (path, hs) in &by_doc {
            let ids: Vec<String> = hs
                .iter()
                .map(|h| h["id"].as_str().unwrap().into())
                .collect();
            let want: Vec<String> = (1..=hs.len()).map(|n| format!("{path}#s{n}")).collect();
            assert_eq!(ids, want, "{when}: {path}");
            let joined: Vec<String> = paragraphs
                .iter()
                .filter(|p| p["path"] == path.as_str())
                .map(|p| p["text"].as_str().unwrap().to_string())
                .collect();
            let inside: Vec<String> = hs
                .iter()
                .map(|h| h["text"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(inside.join(" "), joined.join(" "), "{when}: {path}");
        }
        let key = |h: &Value| h["id"].as_str().unwrap().to_string();
        for w in &wants {
            let q = w.query();
            let got: Vec<String> = s
                .hits(&q, &["--unit", "sentence"])
                .iter()
                .map(key)
                .collect();
            let want: Vec<String> = all
                .iter()
                .filter(|h| w.matches(&word_list(h["text"].as_str().unwrap())))
                .map(key)
                .collect();
            assert_eq!(got, want, "{when}: {q}");
            let count = s.run(&["search", &q, "--unit", "sentence", "--count"]);
            assert_eq!(count.stdout.trim(), want.len().to_string(), "{when}: {q}");
        }
        // A code applied to sentences with `omega` is found in exactly those.
        let coded: Vec<String> = s
            .hits("code:omen", &["--unit", "sentence"])
            .iter()
            .map(key)
            .collect();
        let omega: Vec<String> = s
            .hits("omega", &["--unit", "sentence"])
            .iter()
            .map(key)
            .collect();
        assert_eq!(coded, omega, "{when}");
        assert!(!coded.is_empty());
        let both: Vec<String> = s
            .hits("code:omen AND NOT alpha", &["--unit", "sentence"])
            .iter()
            .map(key)
            .collect();
        let want: Vec<String> = all
            .iter()
            .filter(|h| {
                let ws = word_list(h["text"].as_str().unwrap());
                ws.contains(&"omega".to_string()) && !ws.contains(&"alpha".to_string())
            })
            .map(key)
            .collect();
        assert_eq!(both, want, "{when}");
    };
    check("first index");
    for i in (0..30).step_by(4) {
        s.write(
            &format!("corpus/c{}/t{i:02}.md", i % 3),
            transcript(&mut next),
        );
    }
    std::fs::remove_file(s.path().join("corpus/c1/t01.md")).unwrap();
    check("after edits");
    s.ok(&["index", "--rebuild"]);
    check("after a rebuild");
}

/// A phrase hit in a long paragraph is shown around the phrase, not around
/// the first of its words that happens to stand alone earlier on.
#[test]
fn kwic_centres_a_phrase_hit_on_the_phrase() {
    let s = crate::support::TestStudy::new();
    let filler = "We talked about the launch schedule and the weather that spring. ".repeat(6);
    s.write(
        "corpus/a.md",
        format!("Dora: Oh, my. Mother was kind. {filler}I look like my father, they say.\n"),
    );
    let kwic = s.ok(&["search", "\"my father\"", "--color", "never"]);
    let shown = kwic.lines().nth(1).unwrap();
    assert!(shown.contains("I look like my father"), "{kwic}");
    assert!(!shown.contains("Oh, my."), "{kwic}");
}

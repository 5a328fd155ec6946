//! Codebook validation, rule-based coding, manual codings and search by code.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::TestStudy;

const CODEBOOK: &str = r#"title: Test frame
version: "1.0"
unit: paragraph
challenges:
  label: Value co-creation challenges
  codes:
    governance:
      label: Governance challenges
      definition: Aligning incentives and power across the network.
      include: [Revenue models shared across parties]
      exclude: [Internal budget disputes]
      examples: ["We still have no business model that pays every party."]
      rules:
        - terms: [revenue model, "business model*"]
          unless: [internal budget]
      codes:
        pressure:
          label: Pushing partners
          rules:
            - regex: '(?i)\bforc(e|ed|ing) (the )?(dealers?|partners?)\b'
              respondent: true
    risk:
      label: Risk management
      rules:
        - terms: [operational risk, "safety net"]
        - query: '"carry the risk" AND side:partner'
roles:
  label: Aligned roles
  codes:
    orchestrator:
      label: Global service orchestrator
      rules:
        - terms: [knowledge broker, "standardi*"]
          unit: sentence
"#;

fn study() -> TestStudy {
    let s = TestStudy::new();
    s.use_codebook("codebooks/frame.yaml", CODEBOOK);
    s.write(
        "corpus/alfa/rd-01.md",
        "---\ncase: Alfa\nside: manufacturer\n---\n\
Interviewer: Did you force the dealers? Is there a revenue model?\n\n\
Åsa Öberg: We still have no business model that pays every party. The revenue\nmodel is unclear.\n\n\
Åsa Öberg: Honestly we forced the dealers into it. Operational risk stayed with them.\n\n\
Åsa Öberg: Our internal budget has its own revenue model, that is another story.\n\n\
Åsa Öberg: We became a knowledge broker. We standardised the offer. Then lunch.\n",
    );
    s.write(
        "corpus/beta/p-01.md",
        "---\ncase: Beta\nside: partner\n---\n\
Interviewer: Who carries the risk?\n\n\
José Núñez: We carry the risk, and the safety net is gone. Business models differ.\n\n\
José Núñez: Nothing about that here; my phone contract is cheap.\n",
    );
    s
}

fn passages(s: &TestStudy, code: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["passages", code, "--format", "json"];
    args.extend_from_slice(extra);
    let r = s.run(&args);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The test's own model of the rules: (code, unit kind, predicate on unit).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn has_phrase(text: &str, phrase: &str, prefix: bool) -> bool {
    let t = words(text);
    let p = words(phrase);
    t.windows(p.len()).any(|w| {
        w.iter().zip(&p).enumerate().all(|(i, (a, b))| {
            if prefix && i == p.len() - 1 {
                a.starts_with(b.as_str())
            } else {
                a == b
            }
        })
    })
}

fn expected(unit: &Value) -> BTreeSet<String> {
    let text = unit["text"].as_str().unwrap();
    let respondent = unit["respondent"].as_bool().unwrap();
    let kind = unit["unit"].as_str().unwrap();
    let mut out = BTreeSet::new();
    if kind == "paragraph" {
        if (has_phrase(text, "revenue model", false) || has_phrase(text, "business model", true))
            && !has_phrase(text, "internal budget", false)
        {
            out.insert("challenges/governance".to_string());
        }
        let re = regex::Regex::new(r"(?i)\bforc(e|ed|ing) (the )?(dealers?|partners?)\b").unwrap();
        if respondent && re.is_match(text) {
            out.insert("challenges/governance/pressure".to_string());
        }
        if has_phrase(text, "operational risk", false)
            || has_phrase(text, "safety net", false)
            || (has_phrase(text, "carry the risk", false) && unit["side"] == "partner")
        {
            out.insert("challenges/risk".to_string());
        }
    }
    if kind == "sentence"
        && (has_phrase(text, "knowledge broker", false) || has_phrase(text, "standardi", true))
    {
        out.insert("roles/orchestrator".to_string());
    }
    out
}

#[test]
fn auto_codings_equal_an_independent_linear_scan() {
    let s = study();
    s.ok(&["code"]);
    // Every auto-coded passage, keyed by (path, start, end) -> codes.
    let mut got: BTreeMap<(String, u64, u64), BTreeSet<String>> = BTreeMap::new();
    for fam in ["challenges", "roles"] {
        for p in passages(&s, fam, &["--source", "auto"]) {
            let key = (
                p["path"].as_str().unwrap().to_string(),
                p["start"].as_u64().unwrap(),
                p["end"].as_u64().unwrap(),
            );
            got.entry(key)
                .or_default()
                .insert(p["code"].as_str().unwrap().to_string());
            // Evidence: each match slices the text and lies inside the passage.
            for e in p["rules"].as_array().unwrap() {
                let (es, ee) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
                assert!(es >= p["start"].as_u64().unwrap() && ee <= p["end"].as_u64().unwrap());
                let off = (es - p["start"].as_u64().unwrap()) as usize;
                let slice: String = p["text"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .skip(off)
                    .take((ee - es) as usize)
                    .collect();
                assert_eq!(slice, e["text"].as_str().unwrap());
                assert!(
                    e["rule"]
                        .as_str()
                        .unwrap()
                        .starts_with(p["code"].as_str().unwrap())
                );
            }
        }
    }
    let mut want: BTreeMap<(String, u64, u64), BTreeSet<String>> = BTreeMap::new();
    for unit in ["paragraph", "sentence"] {
        for u in s.hits("NOT zzz", &["--unit", unit]) {
            let codes = expected(&u);
            if !codes.is_empty() {
                let key = (
                    u["path"].as_str().unwrap().to_string(),
                    u["start"].as_u64().unwrap(),
                    u["end"].as_u64().unwrap(),
                );
                want.entry(key).or_default().extend(codes);
            }
        }
    }
    assert_eq!(got, want);
    // The fixture exercises each limit: unless, respondent, the attribute in a query rule.
    let all: Vec<String> = got.values().flatten().cloned().collect();
    assert!(all.contains(&"challenges/governance/pressure".to_string()));
    let texts: Vec<String> = passages(&s, "governance", &[])
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !texts.iter().any(|t| t.contains("internal budget")),
        "unless must hold: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("Did you force")),
        "the terms rule has no respondent limit: {texts:?}"
    );
    let pressure: Vec<String> = passages(&s, "pressure", &[])
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        pressure,
        ["Honestly we forced the dealers into it. Operational risk stayed with them."],
        "respondent must hold"
    );
}

#[test]
fn search_by_code_combines_with_text_attributes_and_other_codes() {
    let s = study();
    // The interviewer's question, two answers (one via the child code `pressure`).
    let h = s.hits("code:governance AND case:Alfa", &[]);
    assert_eq!(h.len(), 3);
    let co = s.hits("code:governance AND code:risk", &[]);
    assert_eq!(
        co.len(),
        2,
        "Alfa's 'forced the dealers' paragraph and Beta's"
    );
    let only_parent = s.hits("code:governance AND NOT code:pressure", &[]);
    assert_eq!(only_parent.len(), 3);
    // Sentence units overlapping a coded paragraph count too.
    let sentences = s.hits(
        "code:challenges/governance/pressure",
        &["--unit", "sentence"],
    );
    assert_eq!(sentences.len(), 2);
    let e = s.fails(&["search", "code:governanse"]);
    assert!(
        e.contains("unknown code `governanse`") && e.contains("did you mean `governance`"),
        "{e}"
    );
    assert!(s.hits("code:roles", &["--source", "manual"]).is_empty());
}

#[test]
fn manual_coding_survives_edits_and_orphans_are_kept() {
    let s = study();
    let quote = "Operational risk stayed with them.";
    s.ok(&[
        "code",
        "add",
        "roles/orchestrator",
        "--doc",
        "alfa/rd-01.md",
        "--quote",
        quote,
        "--coder",
        "anna",
        "--memo",
        "odd one",
    ]);
    let before = passages(&s, "orchestrator", &["--source", "anna"]);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["text"], quote);
    assert_eq!(before[0]["memo"], "odd one");
    let file = String::from_utf8(s.read("codings/anna.yaml")).unwrap();
    assert!(
        file.contains("coder: anna") && file.contains(quote),
        "{file}"
    );

    // Insert a paragraph above it and change a word elsewhere.
    let path = "corpus/alfa/rd-01.md";
    let text = String::from_utf8(s.read(path)).unwrap();
    let edited = text
        .replace("Interviewer: Did you force", "Interviewer: A new question – über alles?\n\nÅsa Öberg: A new answer.\n\nInterviewer: Did you force")
        .replace("Then lunch.", "Then dinner.");
    s.write(path, &edited);
    let after = passages(&s, "orchestrator", &["--source", "anna"]);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["text"], quote);
    let new_start = edited[..edited.find(quote).unwrap()].chars().count() as u64;
    assert_eq!(after[0]["start"], new_start);
    assert_ne!(after[0]["start"], before[0]["start"]);
    assert_eq!(after[0]["anchor"], "moved");
    let check = s.run(&["codings", "check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("| moved"), "{}", check.stdout);

    // Delete the quoted sentence: orphaned, reported, kept.
    s.write(path, edited.replace(quote, ""));
    let check = s.run(&["codings", "check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("orphaned"), "{}", check.stdout);
    assert!(check.stderr.contains("1 orphaned"), "{}", check.stderr);
    let file = String::from_utf8(s.read("codings/anna.yaml")).unwrap();
    assert!(file.contains(quote), "an orphan must stay in the file");
    let r = s.run(&["index"]);
    assert!(r.stderr.contains("is orphaned"), "{}", r.stderr);
    assert!(passages(&s, "orchestrator", &["--source", "anna"]).is_empty());
}

#[test]
fn fuzzy_reanchoring_after_a_word_changes_inside_the_quote() {
    let s = study();
    let quote = "We still have no business model that pays every party.";
    s.ok(&[
        "code",
        "add",
        "governance",
        "--doc",
        "alfa/rd-01.md",
        "--quote",
        quote,
        "--coder",
        "bo",
    ]);
    let path = "corpus/alfa/rd-01.md";
    let text = String::from_utf8(s.read(path)).unwrap();
    s.write(
        path,
        text.replace("pays every party", "pays every single party"),
    );
    let p = passages(&s, "governance", &["--source", "bo"]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["anchor"], "fuzzy");
    assert_eq!(
        p[0]["text"],
        "We still have no business model that pays every single party."
    );
}

#[test]
fn code_add_by_lines_and_unit_and_rm() {
    let s = study();
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        "beta/p-01.md",
        "--lines",
        "9-9",
        "--coder",
        "cy",
    ]);
    let p = passages(&s, "risk", &["--source", "cy"]);
    assert_eq!(
        p[0]["text"],
        "José Núñez: Nothing about that here; my phone contract is cheap."
    );
    let id = s.hits("\"knowledge broker\"", &["--unit", "sentence"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let unit = id.rsplit('#').next().unwrap().to_string();
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        "alfa/rd-01.md",
        "--unit",
        &unit,
        "--coder",
        "cy",
    ]);
    assert_eq!(passages(&s, "risk", &["--source", "cy"]).len(), 2);
    s.ok(&[
        "code",
        "rm",
        "risk",
        "--doc",
        "alfa/rd-01.md",
        "--unit",
        &unit,
        "--coder",
        "cy",
    ]);
    assert_eq!(passages(&s, "risk", &["--source", "cy"]).len(), 1);
    let e = s.fails(&[
        "code",
        "add",
        "risky",
        "--doc",
        "alfa/rd-01.md",
        "--unit",
        &unit,
    ]);
    assert!(
        e.contains("unknown code `risky`") && e.contains("did you mean `risk`"),
        "{e}"
    );
    let e = s.fails(&[
        "code",
        "add",
        "risk",
        "--doc",
        "alfa/rd-01.md",
        "--quote",
        "not in the text",
    ]);
    assert!(e.contains("the quote is not in `alfa/rd-01.md`"), "{e}");
    let e = s.fails(&[
        "code",
        "add",
        "risk",
        "--doc",
        "alfa/rd-01.md",
        "--quote",
        "Åsa Öberg",
    ]);
    assert!(e.contains("occurs 4 times"), "{e}");
}

#[test]
fn review_accepts_and_rejects_auto_codings() {
    let s = study();
    let auto = passages(&s, "risk", &["--source", "auto"]);
    assert_eq!(auto.len(), 2);
    let id = |p: &Value| {
        format!(
            "{}#{}",
            p["path"].as_str().unwrap(),
            p["unit"].as_str().unwrap()
        )
    };
    let (a, b) = (id(&auto[0]), id(&auto[1]));
    s.ok(&[
        "review", "risk", "--accept", &a, "--reject", &b, "--coder", "dee",
    ]);
    let auto = passages(&s, "risk", &["--source", "auto"]);
    assert_eq!(auto.len(), 1, "the rejected one is gone");
    assert_eq!(auto[0]["accepted"], true);
    let manual = passages(&s, "risk", &["--source", "manual"]);
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0]["source"], "dee");
    let listing = s.ok(&["review", "risk"]);
    assert!(
        listing.contains("accepted") && listing.contains("rejected"),
        "{listing}"
    );
}

/// The id `passages` prints first on a passage's line (`path#start-end`)
/// is taken by `review` as it is, as the unit id is.
#[test]
fn review_takes_the_ids_that_passages_prints() {
    let s = study();
    let listing = s.ok(&["passages", "risk", "--source", "auto"]);
    let ids: Vec<&str> = listing
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listing}");
    assert!(ids.iter().all(|id| id.contains(".md#")), "{ids:?}");
    s.ok(&["review", "risk", "--reject", ids[1], "--coder", "dee"]);
    let auto = passages(&s, "risk", &["--source", "auto"]);
    assert_eq!(auto.len(), 1, "the rejected one is gone");
    let (path, start) = ids[0].rsplit_once('#').unwrap();
    assert_eq!(auto[0]["path"], path);
    assert_eq!(
        auto[0]["start"].to_string(),
        start.split('-').next().unwrap()
    );
    // A range that is no auto-coded passage is named, not guessed at.
    let e = s.fails(&["review", "risk", "--accept", &format!("{path}#0-1")]);
    assert!(
        e.contains("#0-1` is not auto-coded `challenges/risk`"),
        "{e}"
    );
}

#[test]
fn review_refuses_to_quote_a_transcript_changed_since_indexing() {
    let s = study();
    let auto = passages(&s, "risk", &["--source", "auto"]);
    let p = auto
        .iter()
        .find(|p| p["path"] == "alfa/rd-01.md")
        .expect("an auto-coded passage in alfa");
    let id = format!("alfa/rd-01.md#{}", p["unit"].as_str().unwrap());
    s.append("corpus/alfa/rd-01.md", "\nÅsa Öberg: One more thing.\n");
    let e = s.fails(&[
        "review",
        "risk",
        "--accept",
        &id,
        "--coder",
        "dee",
        "--no-refresh",
    ]);
    assert!(
        e.contains("`alfa/rd-01.md` changed since it was indexed") && e.contains("qualdex index"),
        "{e}"
    );
    assert!(
        !s.path().join("codings").join("dee.yaml").exists(),
        "nothing recorded"
    );
    // Refreshed, the same verdict is recorded with the passage's words.
    s.ok(&["review", "risk", "--accept", &id, "--coder", "dee"]);
    let saved = String::from_utf8(s.read("codings/dee.yaml")).unwrap();
    assert!(
        saved.contains("Operational risk stayed with them"),
        "{saved}"
    );
}

#[test]
fn codebook_show_export_and_check() {
    let s = study();
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        "beta/p-01.md",
        "--quote",
        "my phone contract is cheap",
        "--coder",
        "x",
    ]);
    let show = s.ok(&["codebook", "show"]);
    let line = show
        .lines()
        .find(|l| l.trim_start().starts_with("risk"))
        .unwrap();
    let nums: Vec<&str> = line.split_whitespace().rev().take(2).collect();
    assert_eq!(
        nums,
        ["2", "3"],
        "risk: 2 auto + 1 manual passages in 2 documents: {show}"
    );
    let csv = s.ok(&["codebook", "export", "--format", "csv"]);
    assert!(
        csv.starts_with("code,label,definition,include,exclude,example\n"),
        "{csv}"
    );
    assert!(csv.contains("challenges/governance,Governance challenges,Aligning incentives and power across the network.,Revenue models shared across parties,Internal budget disputes,We still have no business model that pays every party."), "{csv}");
    let r = s.run(&["codebook", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("codebook ok: 4 codes in 2 families, 5 rules"),
        "{}",
        r.stdout
    );
}

#[test]
fn codebook_errors_are_precise_and_write_nothing() {
    let s = study();
    s.ok(&["index"]);
    let current = std::fs::read_to_string(s.path().join(".qualdex/CURRENT")).unwrap();
    let manifest_before =
        std::fs::read(s.path().join(format!(".qualdex/{current}/manifest.json"))).unwrap();
    let cases: [(&str, &str, &str); 4] = [
        (
            "yaml",
            "challenges:\n  codes:\n    a:\n      label: \"unclosed\n",
            "codebooks/frame.yaml:",
        ),
        (
            "key",
            "challenges:\n  codes:\n    a:\n      lable: A\n",
            "unknown field `lable`",
        ),
        (
            "dup",
            "challenges:\n  codes:\n    a: {}\n    b: {}\n    a: {}\n",
            "duplicate code id `a`",
        ),
        (
            "regex",
            "challenges:\n  codes:\n    a:\n      rules:\n        - regex: '(?i)forc(e'\n",
            "`challenges/a` rule 1: invalid regex",
        ),
    ];
    for (what, text, needle) in cases {
        s.write("codebooks/frame.yaml", text);
        for cmd in [vec!["codebook", "check"], vec!["index"]] {
            let e = s.fails(&cmd);
            assert!(e.contains(needle), "{what}: {e}");
            assert!(e.contains("codebooks/frame.yaml:"), "{what}: {e}");
            assert_eq!(e.matches("error:").count(), 1, "{what}: one message: {e}");
        }
    }
    s.write(
        "codebooks/frame.yaml",
        "challenges:\n  codes:\n    a:\n      lable: A\n",
    );
    let e = s.fails(&["codebook", "check"]);
    assert!(
        e.contains("codebooks/frame.yaml:4:7") && e.contains("did you mean `label`?"),
        "{e}"
    );
    s.write(
        "codebooks/frame.yaml",
        "challenges:\n  codes:\n    a: {}\n    b: {}\n    a: {}\n",
    );
    let e = s.fails(&["codebook", "check"]);
    assert!(e.contains("codebooks/frame.yaml:5:5"), "{e}");
    s.write(
        "codebooks/frame.yaml",
        "challenges:\n  codes:\n    a:\n      rules:\n        - regex: '(?i)forc(e'\n",
    );
    let e = s.fails(&["codebook", "check"]);
    assert!(
        e.contains("codebooks/frame.yaml:5") && e.contains("unclosed group"),
        "{e}"
    );
    let manifest_after =
        std::fs::read(s.path().join(format!(".qualdex/{current}/manifest.json"))).unwrap();
    assert_eq!(
        manifest_before, manifest_after,
        "a bad codebook must not change the index"
    );
}

#[test]
fn import_csv_and_report_bad_rows() {
    let s = study();
    s.write("codes.csv", "document,start,end,code,coder\nbeta/p-01.md,0,3,risk,eve\nbeta/p-01.md,5,2,risk,eve\nalfa/rd-01.md,0,5,nope,eve\n");
    let e = s.fails(&["codings", "import", "codes.csv"]);
    assert!(
        e.contains("codes.csv:3") && e.contains("`end` (2) is before `start` (5)"),
        "{e}"
    );
    assert!(
        e.contains("codes.csv:4") && e.contains("unknown code `nope`"),
        "{e}"
    );
    assert!(
        !s.path().join("codings/eve.yaml").exists(),
        "nothing is written when a row is bad"
    );
    s.write(
        "codes.csv",
        "document,start,end,code,coder\nbeta/p-01.md,0,3,risk,eve\n",
    );
    s.ok(&["codings", "import", "codes.csv"]);
    let p = passages(&s, "risk", &["--source", "eve"]);
    assert_eq!(p[0]["text"], "---");
    let list = s.ok(&["codings", "list", "--coder", "eve", "--format", "csv"]);
    assert!(
        list.contains("eve,challenges/risk,beta/p-01.md,0,3,'---"),
        "{list}"
    );
}

#[test]
fn a_200_code_codebook_codes_in_one_text_pass() {
    let s = TestStudy::new();
    let mut cb = String::from("big:\n  codes:\n");
    for i in 0..200 {
        cb.push_str(&format!("    c{i}:\n      rules:\n        - terms: [word{i}, \"phrase {i} here\", \"pre{i}x*\"]\n"));
    }
    s.use_codebook("codebooks/big.yaml", cb);
    let mut text = String::from("Interviewer: start\n\n");
    for i in 0..200 {
        text.push_str(&format!("Anna: this is word{i} and pre{i}xes.\n\n"));
    }
    s.write("corpus/a/x.md", text);
    let r = s.run(&["code", "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("200 rules applied in 1 pass over the text per document"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("matched nothing"), "{}", r.stderr);
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 200);
    assert!(
        rows.iter().all(|l| l.ends_with(",1,0,1")),
        "every code codes its one paragraph: {}",
        r.stdout
    );
}

#[test]
fn searches_see_every_kind_of_edit_without_an_explicit_index_run() {
    // Searches refresh the index first and skip the work when a stamp says
    // nothing changed; each edit below must still be seen by the next search.
    let s = study();
    assert_eq!(s.hits("code:risk", &[]).len(), 2);
    let stamp_of = |s: &TestStudy| {
        let current = String::from_utf8(s.read(".qualdex/CURRENT")).unwrap();
        String::from_utf8(s.read(&format!(".qualdex/{}/stamp.tsv", current.trim()))).unwrap()
    };
    let before = stamp_of(&s);
    assert!(before.starts_with("qualdex-stamp\t"), "{before}");

    // The codebook: a new term codes another paragraph.
    let cb = String::from_utf8(s.read("codebooks/frame.yaml")).unwrap();
    s.write(
        "codebooks/frame.yaml",
        cb.replace("\"safety net\"]", "\"safety net\", lunch]"),
    );
    assert_eq!(s.hits("code:risk", &[]).len(), 3);

    // A renamed code: the recorded code tree follows the codebook.
    s.write(
        "codebooks/frame.yaml",
        cb.replace("    risk:\n", "    hazard:\n"),
    );
    assert_eq!(s.hits("code:hazard", &[]).len(), 2);
    let e = s.fails(&["search", "code:risk"]);
    assert!(e.contains("unknown code `risk`"), "{e}");
    s.write("codebooks/frame.yaml", &cb);

    // An attribute sheet.
    s.write("corpus/documents.csv", "path,role\nbeta/p-01.md,dealer\n");
    assert_eq!(s.hits("role:dealer", &["--unit", "document"]).len(), 1);

    // A manual coding.
    s.ok(&[
        "code",
        "add",
        "risk",
        "--doc",
        "alfa/rd-01.md",
        "--quote",
        "Then lunch",
        "--coder",
        "ana",
    ]);
    assert_eq!(s.hits("code:risk", &["--source", "ana"]).len(), 1);

    // A transcript edited to the same size: only its modification time differs.
    let p = s.path().join("corpus/beta/p-01.md");
    let text = std::fs::read_to_string(&p).unwrap();
    let changed = text.replace("phone contract", "phone xylophon");
    assert_eq!(changed.len(), text.len());
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&p, changed).unwrap();
    assert_eq!(s.hits("xylophon", &[]).len(), 1);
    assert!(s.hits("contract", &[]).is_empty());

    // Nothing changed since: the stamp stands and results are those of a
    // fresh index.
    let stamp = stamp_of(&s);
    assert_ne!(stamp, before);
    let again = s.hits("code:risk OR xylophon OR role:dealer", &[]);
    assert_eq!(stamp_of(&s), stamp);
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    assert_eq!(s.hits("code:risk OR xylophon OR role:dealer", &[]), again);
}

#[test]
fn codebook_check_names_and_counts_the_transcripts_it_cannot_read() {
    let s = TestStudy::new();
    s.use_codebook(
        "codebooks/cb.yaml",
        "themes:\n  codes:\n    alpha:\n      rules:\n        - terms: [alphabet]\n    beta:\n      rules:\n        - terms: [betamax]\n",
    );
    s.write("corpus/a.txt", "Anna: the alphabet matters.\n");
    // Not UTF-8: it cannot be read without --lossy, and holds the only
    // match of `beta`'s rule.
    s.write(
        "corpus/b.txt",
        b"Bo: a betamax tape \xff\xfe from the archive.\n".as_slice(),
    );
    let r = s.run(&["codebook", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("`corpus/b.txt` could not be read, so no rule was tried on it"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("on 1 document (1 could not be read)"),
        "{}",
        r.stdout
    );
    // The rule that matches in the readable transcript is not reported;
    // the other one says where it was tried.
    assert!(!r.stderr.contains("themes/alpha"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "rule `themes/beta#r1` (terms) matches nothing in the transcripts that could be read"
        ),
        "{}",
        r.stderr
    );
}

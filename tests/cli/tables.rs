//! Cross-case tables: recomputed independently, checked against hand-written
//! expectations, and reproducible byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::TestStudy;

/// A small SME-like study: constellations and dimension values coded by rule.
fn sme() -> TestStudy {
    let s = TestStudy::new();
    let yaml = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    s.write(
        "qualdex.yaml",
        yaml.replace("codebooks: []", "codebooks: [codebooks/sme.yaml]")
            + "tables:\n  - name: framework\n    kind: cooccur\n    rows: constellations\n    cols: [market, coordination]\n    within: turn\n    cells: cases\n    formats: [md, csv, json, tex, html]\n  - name: matrix\n    kind: matrix\n    rows: constellations\n    cols: case\n    measure: docs\n    formats: [md, json]\n  - name: structure\n    kind: structure\n    formats: [md, dot, mermaid]\n",
    );
    s.write(
        "codebooks/sme.yaml",
        "constellations:\n  label: Value constellations\n  codes:\n    platform:\n      label: Shared service platform\n      rules: [{terms: [shared service]}]\n    colocation:\n      label: Competence co-location\n      rules: [{terms: [on-site team]}]\n\
market:\n  label: Market orientation\n  codes:\n    reactive: {rules: [{terms: [reactive]}]}\n    proactive: {rules: [{terms: [proactive]}]}\n\
coordination:\n  label: Mode of coordination\n  codes:\n    informal: {rules: [{terms: [handshake]}]}\n    alliance: {rules: [{terms: [alliance]}]}\n",
    );
    s.write(
        "corpus/pipe/ceo.md",
        "---\ncase: Pipe\nrole: CEO\n---\nInterviewer: Tell me.\n\nEva Berg: We run a shared service with two peers. It is proactive work.\n\nIt is an alliance on paper.\n\nInterviewer: Anything else?\n\nEva Berg: Not really. The weather is reactive to nothing.\n",
    );
    s.write(
        "corpus/valve/ceo.md",
        "---\ncase: Valve\nrole: CEO\n---\nInterviewer: Tell me.\n\nOla Ek: A shared service, yes, proactive, an alliance.\n\nInterviewer: And the on-site team?\n\nOla Ek: Our on-site team is reactive and it is all handshake.\n",
    );
    s.write(
        "corpus/valve/sales.md",
        "---\ncase: Valve\nrole: sales manager\n---\nInterviewer: Hello.\n\nPer Ås: The on-site team again: reactive, handshake.\n",
    );
    s.write(
        "corpus/surface/ceo.md",
        "---\ncase: Surface\nrole: CEO\n---\nInterviewer: Hello.\n\nLi Na: We keep an on-site team at the yard, reactive as ever, by handshake.\n",
    );
    s
}

#[test]
fn cooccur_reproduces_a_hand_written_framework_matrix() {
    let s = sme();
    let json: Value = serde_json::from_str(&s.ok(&[
        "table",
        "cooccur",
        "--rows",
        "constellations",
        "--cols",
        "market,coordination",
        "--within",
        "turn",
        "--format",
        "json",
    ]))
    .unwrap();
    let cols: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let rows: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut got: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        for (j, c) in cols.iter().enumerate() {
            let cases: Vec<String> = json["cells"][i][j]["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            got.insert((r.to_string(), c.to_string()), cases);
        }
    }
    // Written by hand from the transcripts above. Pipe's "reactive" is in a
    // different turn from its shared service, so it does not count.
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let want: BTreeMap<(String, String), Vec<String>> = [
        (("constellations/platform", "market/reactive"), v(&[])),
        (
            ("constellations/platform", "market/proactive"),
            v(&["Pipe", "Valve"]),
        ),
        (("constellations/platform", "coordination/informal"), v(&[])),
        (
            ("constellations/platform", "coordination/alliance"),
            v(&["Pipe", "Valve"]),
        ),
        (
            ("constellations/colocation", "market/reactive"),
            v(&["Surface", "Valve"]),
        ),
        (("constellations/colocation", "market/proactive"), v(&[])),
        (
            ("constellations/colocation", "coordination/informal"),
            v(&["Surface", "Valve"]),
        ),
        (
            ("constellations/colocation", "coordination/alliance"),
            v(&[]),
        ),
    ]
    .into_iter()
    .map(|((a, b), c)| ((a.to_string(), b.to_string()), c))
    .collect();
    assert_eq!(got, want);
    // Counts: Valve's co-location appears in two interviews (two turns).
    let colo = rows
        .iter()
        .position(|r| *r == "constellations/colocation")
        .unwrap();
    let reactive = cols.iter().position(|c| *c == "market/reactive").unwrap();
    assert_eq!(json["cells"][colo][reactive]["value"], 3);
    // The same as Markdown with the cases in the cells.
    let md = s.ok(&[
        "table",
        "cooccur",
        "--rows",
        "constellations",
        "--cols",
        "market,coordination",
        "--within",
        "turn",
        "--cells",
        "cases",
    ]);
    let line = md.lines().find(|l| l.starts_with("| colocation")).unwrap();
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    assert_eq!(
        cells[1..6],
        ["colocation", "Surface, Valve", "", "Surface, Valve", ""],
        "{md}"
    );
}

/// Words as Unicode word segmentation counts them in these ASCII fixtures.
fn words(t: &str) -> usize {
    t.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

#[test]
fn matrix_equals_an_independent_count_from_passages_for_every_measure() {
    let s = sme();
    s.ok(&[
        "code",
        "add",
        "platform",
        "--doc",
        "surface/ceo.md",
        "--quote",
        "at the yard",
        "--coder",
        "ann",
    ]);
    // Everything the test needs, from other commands' JSON.
    let mut docs_by_case: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in s.hits("NOT zzz", &["--unit", "document"]) {
        docs_by_case
            .entry(d["case"].as_str().unwrap().into())
            .or_default()
            .insert(d["path"].as_str().unwrap().into());
    }
    let mut passages: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for code in [
        "constellations",
        "constellations/platform",
        "constellations/colocation",
    ] {
        let r = s.run(&["passages", code, "--format", "json"]);
        passages.insert(
            code.into(),
            r.stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        );
    }
    for measure in ["passages", "docs", "presence", "percent", "words"] {
        let m: Value = serde_json::from_str(&s.ok(&[
            "table",
            "matrix",
            "--rows",
            "constellations",
            "--cols",
            "case",
            "--measure",
            measure,
            "--format",
            "json",
        ]))
        .unwrap();
        let columns: Vec<String> = m["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().into())
            .collect();
        assert_eq!(columns, docs_by_case.keys().cloned().collect::<Vec<_>>());
        for (i, row) in m["rows"].as_array().unwrap().iter().enumerate() {
            let row = row.as_str().unwrap();
            for (j, case) in columns.iter().enumerate() {
                let ps: Vec<&Value> = passages[row]
                    .iter()
                    .filter(|p| p["case"] == case.as_str())
                    .collect();
                let spans: BTreeMap<(String, u64, u64), String> = ps
                    .iter()
                    .map(|p| {
                        (
                            (
                                p["path"].as_str().unwrap().into(),
                                p["start"].as_u64().unwrap(),
                                p["end"].as_u64().unwrap(),
                            ),
                            p["text"].as_str().unwrap().into(),
                        )
                    })
                    .collect();
                let docs: BTreeSet<&String> = spans.keys().map(|k| &k.0).collect();
                let expected = match measure {
                    "passages" => spans.len() as f64,
                    "docs" => docs.len() as f64,
                    "presence" => f64::from(u8::from(!docs.is_empty())),
                    "percent" => {
                        (docs.len() as f64 * 1000.0 / docs_by_case[case].len() as f64).round()
                            / 10.0
                    }
                    _ => {
                        // Overlapping spans count once: merge per document on its text.
                        let mut total = 0;
                        for doc in &docs {
                            let text: Vec<char> = s.ok(&["text", doc.as_str()]).chars().collect();
                            let mut ranges: Vec<(usize, usize)> = spans
                                .keys()
                                .filter(|k| &k.0 == *doc)
                                .map(|k| (k.1 as usize, k.2 as usize))
                                .collect();
                            ranges.sort();
                            let mut merged: Vec<(usize, usize)> = Vec::new();
                            for (a, b) in ranges {
                                match merged.last_mut() {
                                    Some(l) if a <= l.1 => l.1 = l.1.max(b),
                                    _ => merged.push((a, b)),
                                }
                            }
                            total += merged
                                .iter()
                                .map(|&(a, b)| words(&text[a..b].iter().collect::<String>()))
                                .sum::<usize>();
                        }
                        total as f64
                    }
                };
                let cell = &m["cells"][i][j];
                assert_eq!(
                    cell["value"].as_f64().unwrap(),
                    expected,
                    "{measure} {row} {case}"
                );
                let ids: BTreeSet<String> = cell["passages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().into())
                    .collect();
                let want: BTreeSet<String> = spans
                    .keys()
                    .map(|(p, a, b)| format!("{p}#{a}-{b}"))
                    .collect();
                assert_eq!(ids, want, "passage ids of {row} {case}");
            }
        }
    }
    // Sanity: the fixture is not trivial.
    assert!(passages["constellations"].len() >= 5);
}

#[test]
fn explain_prints_the_passages_behind_a_cell() {
    let s = sme();
    let out = s.ok(&[
        "table",
        "matrix",
        "--rows",
        "constellations",
        "--cols",
        "case",
        "--explain",
        "colocation",
        "Valve",
    ]);
    // The interviewer's question counts too: that rule has no respondent limit.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("valve/")).count(),
        3,
        "{out}"
    );
    assert!(
        out.contains("Our on-site team is reactive and it is all handshake."),
        "{out}"
    );
    let e = s.fails(&[
        "table",
        "matrix",
        "--rows",
        "constellations",
        "--cols",
        "case",
        "--explain",
        "colocation",
        "Nowhere",
    ]);
    assert!(e.contains("no cell `colocation` × `Nowhere`"), "{e}");
}

#[test]
fn run_twice_gives_byte_identical_files_in_every_format() {
    let s = sme();
    s.ok(&["run"]);
    let read = |s: &TestStudy| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(s.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().to_string(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let first = read(&s);
    let names: Vec<&String> = first.keys().collect();
    assert_eq!(
        names,
        [
            "framework.csv",
            "framework.html",
            "framework.json",
            "framework.md",
            "framework.tex",
            "matrix.json",
            "matrix.md",
            "report.html",
            "structure.dot",
            "structure.md",
            "structure.mmd"
        ]
    );
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    s.ok(&["run"]);
    assert_eq!(first, read(&s));
    let tex = String::from_utf8(first["framework.tex"].clone()).unwrap();
    assert!(
        tex.contains("\\toprule") && tex.contains("\\bottomrule"),
        "{tex}"
    );
    let dot = String::from_utf8(first["structure.dot"].clone()).unwrap();
    assert!(
        dot.contains("\"constellations/platform\" -> \"constellations\""),
        "{dot}"
    );
}

#[test]
fn quotes_put_manual_codings_first_without_duplicates() {
    let s = sme();
    s.ok(&[
        "code",
        "add",
        "colocation",
        "--doc",
        "valve/sales.md",
        "--quote",
        "The on-site team again",
        "--coder",
        "ann",
    ]);
    let json: Value = serde_json::from_str(&s.ok(&[
        "table",
        "quotes",
        "--rows",
        "constellations",
        "-k",
        "2",
        "--format",
        "json",
    ]))
    .unwrap();
    let q = json["quotes"].as_array().unwrap();
    let colo: Vec<&Value> = q
        .iter()
        .filter(|x| x["code"] == "constellations/colocation")
        .collect();
    assert_eq!(colo.len(), 2);
    assert_eq!(colo[0]["source"], "ann");
    assert_eq!(colo[0]["text"], "The on-site team again");
    assert_eq!(colo[0]["attribution"], "sales manager, Valve");
    let texts: BTreeSet<&str> = q.iter().map(|x| x["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts.len(),
        q.iter()
            .filter(|x| x["code"] == "constellations/platform")
            .count()
            + 2
    );
}

#[test]
fn html_and_tex_escape_transcript_text() {
    let s = TestStudy::new();
    s.use_codebook(
        "cb.yaml",
        "f:\n  codes:\n    x: {rules: [{terms: [risk]}]}\n",
    );
    s.write(
        "corpus/a/x.md",
        "Interviewer: q\n\nBo: <script>alert(1)</script> & risk at 50% for $5 #1\n\nBo: bye\n",
    );
    let html = s.ok(&["table", "quotes", "--rows", "f", "--format", "html"]);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; risk"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    let tex = s.ok(&["table", "quotes", "--rows", "f", "--format", "tex"]);
    assert!(tex.contains("\\& risk at 50\\% for \\$5 \\#1"), "{tex}");
}

#[test]
fn structure_and_saturation() {
    let s = sme();
    let md = s.ok(&["table", "structure"]);
    assert!(
        md.contains("| Shared service platform (2) | Value constellations"),
        "{md}"
    );
    let mm = s.ok(&["table", "structure", "--format", "mermaid"]);
    assert!(
        mm.starts_with("flowchart LR\n")
            && mm.contains("constellations_platform --> constellations"),
        "{mm}"
    );
    let json: Value = serde_json::from_str(&s.ok(&[
        "table",
        "saturation",
        "--order",
        "role",
        "--format",
        "json",
    ]))
    .unwrap();
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    let cumulative: Vec<u64> = steps
        .iter()
        .map(|x| x["cumulative"].as_u64().unwrap())
        .collect();
    assert!(cumulative.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        *cumulative.last().unwrap(),
        6,
        "all six leaf codes appear somewhere"
    );
    let total_new: usize = steps
        .iter()
        .map(|x| x["new"].as_array().unwrap().len())
        .sum();
    assert_eq!(total_new, 6);
    // CEOs sort before "sales manager".
    assert_eq!(steps[3]["path"], "valve/sales.md");
}

/// A table setting that only building the table can judge (a measure, a
/// kind, a unit) is an error at its own line in `qualdex.yaml`, naming the
/// table, and `run` writes no table at all.
#[test]
fn a_bad_table_setting_is_located_in_the_study_file_and_nothing_is_written() {
    for (from, to, key) in [
        ("measure: docs", "measure: dcos", "unknown measure `dcos`"),
        ("within: turn", "within: turns", "unknown unit `turns`"),
        (
            "kind: structure",
            "kind: structur",
            "unknown table kind `structur`",
        ),
    ] {
        let s = sme();
        let config = String::from_utf8(s.read("qualdex.yaml")).unwrap();
        let line = 1 + config.lines().position(|l| l.trim() == from).unwrap();
        s.write("qualdex.yaml", config.replacen(from, to, 1));
        let e = s.fails(&["run"]);
        assert!(e.contains(key), "{e}");
        assert!(
            e.contains(&format!("qualdex.yaml:{line}")),
            "{to}: line {line}\n{e}"
        );
        assert!(e.contains(to), "the line is quoted: {e}");
        assert!(!s.path().join("out").exists(), "{to}: a table was written");
    }
}

/// A setting of another kind of table (a `within` on a matrix) is not
/// silently ignored: the study file is refused at that setting's line,
/// and on the command line the option is named as the user typed it.
#[test]
fn a_setting_the_kind_does_not_take_is_refused_where_it_is_written() {
    let s = sme();
    let config = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    let at = config.find("    measure: docs\n").unwrap();
    let mut changed = config.clone();
    changed.insert_str(at, "    within: turn\n");
    let line = 1 + changed[..at].lines().count();
    s.write("qualdex.yaml", &changed);
    let e = s.fails(&["run"]);
    assert!(
        e.contains("table `matrix`: a `matrix` table takes no `within`"),
        "{e}"
    );
    assert!(
        e.contains(&format!("qualdex.yaml:{line}")),
        "line {line}\n{e}"
    );
    assert!(e.contains("`within` is a setting of cooccur tables"), "{e}");
    assert!(!s.path().join("out").exists());
    // Every command reads the study file, so each says the same.
    assert!(s.fails(&["search", "value"]).contains("takes no `within`"));

    let s = sme();
    let e = s.fails(&[
        "table",
        "quotes",
        "--rows",
        "constellations",
        "--measure",
        "docs",
        "-k",
        "0",
    ]);
    assert!(e.contains("a `quotes` table takes no `--measure`"), "{e}");
    assert!(e.contains("`--k` must be at least 1"), "{e}");
    assert!(
        !s.path().join(".qualdex").exists(),
        "options are checked before the index is built"
    );
}

//! The embedded demo studies: the codebooks' rules scored against the answer
//! keys (precision and recall per code and overall, printed as a table), and
//! the committed example tables checked against what the keys imply.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::TestStudy;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a demo study in a temporary folder (tests never write into the
/// repository): its study file, transcripts and codebook.
fn demo(name: &str) -> TestStudy {
    let s = TestStudy::new();
    let src = repo().join("corpus").join(name);
    let yaml = std::fs::read_to_string(src.join("qualdex.yaml")).unwrap();
    let corpus = yaml
        .lines()
        .find_map(|l| l.strip_prefix("corpus:"))
        .map_or("corpus", str::trim)
        .to_string();
    copy_dir(&src.join(&corpus), &s.path().join(&corpus));
    // The demo studies read their codebooks from the repository's
    // `codebooks/`, beside them; the copy keeps its own.
    let cb = format!("codebooks/{name}.yaml");
    s.write(&cb, std::fs::read(codebook_file(name)).unwrap());
    s.write(
        "qualdex.yaml",
        yaml.replace(&format!("../../codebooks/{name}.yaml"), &cb),
    );
    s
}

/// A demo study's codebook in the repository.
fn codebook_file(name: &str) -> PathBuf {
    repo().join("codebooks").join(format!("{name}.yaml"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[derive(serde::Deserialize)]
struct Key {
    passages: Vec<KeyEntry>,
}

#[derive(serde::Deserialize)]
struct KeyEntry {
    doc: String,
    quote: String,
    codes: Vec<String>,
}

fn key(name: &str) -> Key {
    let text = std::fs::read_to_string(repo().join("corpus").join(name).join("key.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("key.yaml parses")
}

type Para = (String, u64, u64);
type CodesBy = BTreeMap<Para, BTreeSet<String>>;

/// Gold and predicted codes per paragraph.
fn gold_and_predicted(s: &TestStudy, key: &Key) -> (CodesBy, CodesBy, Vec<Value>) {
    let paragraphs = s.hits("NOT zzzqqq", &["--unit", "paragraph"]);
    assert!(paragraphs.len() > 200);
    let mut gold: BTreeMap<Para, BTreeSet<String>> = BTreeMap::new();
    for e in &key.passages {
        let hits: Vec<&Value> = paragraphs
            .iter()
            .filter(|p| {
                p["path"] == e.doc.as_str() && p["text"].as_str().unwrap().contains(&e.quote)
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "key quote must lie in exactly one paragraph: {} / {}",
            e.doc,
            e.quote
        );
        let p = hits[0];
        let id = (
            p["path"].as_str().unwrap().to_string(),
            p["start"].as_u64().unwrap(),
            p["end"].as_u64().unwrap(),
        );
        gold.entry(id).or_default().extend(e.codes.iter().cloned());
    }
    let families: BTreeSet<String> = s
        .ok(&["codebook", "export", "--format", "csv"])
        .lines()
        .skip(1)
        .filter_map(|l| l.split('/').next())
        .map(String::from)
        .collect();
    let mut pred: BTreeMap<Para, BTreeSet<String>> = BTreeMap::new();
    for f in &families {
        let r = s.run(&["passages", f, "--source", "auto", "--format", "json"]);
        for line in r.stdout.lines() {
            let p: Value = serde_json::from_str(line).unwrap();
            let id = (
                p["path"].as_str().unwrap().to_string(),
                p["start"].as_u64().unwrap(),
                p["end"].as_u64().unwrap(),
            );
            pred.entry(id)
                .or_default()
                .insert(p["code"].as_str().unwrap().to_string());
        }
    }
    (gold, pred, paragraphs)
}

/// Precision and recall per code and overall; prints the table.
fn score(
    name: &str,
    gold: &BTreeMap<Para, BTreeSet<String>>,
    pred: &BTreeMap<Para, BTreeSet<String>>,
) -> (f64, f64) {
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fn_: BTreeMap<&str, usize> = BTreeMap::new();
    let empty = BTreeSet::new();
    let paras: BTreeSet<&Para> = gold.keys().chain(pred.keys()).collect();
    for p in paras {
        let g = gold.get(p).unwrap_or(&empty);
        let q = pred.get(p).unwrap_or(&empty);
        for c in g.union(q) {
            match (g.contains(c), q.contains(c)) {
                (true, true) => *tp.entry(c).or_default() += 1,
                (false, true) => *fp.entry(c).or_default() += 1,
                (true, false) => *fn_.entry(c).or_default() += 1,
                _ => {}
            }
        }
    }
    let codes: BTreeSet<&str> = tp
        .keys()
        .chain(fp.keys())
        .chain(fn_.keys())
        .copied()
        .collect();
    let ratio = |a: usize, b: usize| {
        if a + b == 0 {
            1.0
        } else {
            a as f64 / (a + b) as f64
        }
    };
    println!("\n{name}: rules scored against key.yaml (paragraphs)\n");
    println!(
        "| code | TP | FP | FN | precision | recall |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let (mut t, mut f, mut n) = (0, 0, 0);
    for c in codes {
        let (a, b, d) = (
            tp.get(c).copied().unwrap_or(0),
            fp.get(c).copied().unwrap_or(0),
            fn_.get(c).copied().unwrap_or(0),
        );
        println!(
            "| {c} | {a} | {b} | {d} | {:.2} | {:.2} |",
            ratio(a, b),
            ratio(a, d)
        );
        t += a;
        f += b;
        n += d;
    }
    let (p, r) = (ratio(t, f), ratio(t, n));
    println!("| **overall** | {t} | {f} | {n} | **{p:.2}** | **{r:.2}** |");
    (p, r)
}

/// No rule may quote a sentence of the corpus: terms are short.
fn rules_are_not_quotes(name: &str) {
    let text = std::fs::read_to_string(codebook_file(name)).unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    fn walk(v: &serde_yaml_ng::Value, out: &mut Vec<String>) {
        match v {
            serde_yaml_ng::Value::Mapping(m) => {
                for (k, x) in m {
                    if k.as_str() == Some("terms") {
                        if let Some(seq) = x.as_sequence() {
                            out.extend(seq.iter().filter_map(|t| t.as_str().map(String::from)));
                        }
                    } else {
                        walk(x, out);
                    }
                }
            }
            serde_yaml_ng::Value::Sequence(s) => s.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut terms = Vec::new();
    walk(&v, &mut terms);
    assert!(terms.len() > 40);
    for t in terms {
        assert!(
            t.split_whitespace().count() <= 6,
            "`{t}` quotes too much of the corpus"
        );
    }
}

#[test]
fn global_service_networks_rules_meet_the_key() {
    let name = "global-service-networks";
    rules_are_not_quotes(name);
    let s = demo(name);
    let k = key(name);
    assert!(k.passages.len() >= 150, "the key covers the corpus");
    let (gold, pred, _) = gold_and_predicted(&s, &k);
    let (p, r) = score(name, &gold, &pred);
    assert!(p >= 0.8 && r >= 0.8, "precision {p:.2}, recall {r:.2}");
}

/// The committed example table equals a fresh run, and every cell equals what
/// the answer key implies (documents with a key passage of the code or a
/// code below it, per case and side).
#[test]
fn committed_challenges_matrix_matches_a_fresh_run_and_the_key() {
    let name = "global-service-networks";
    let s = demo(name);
    s.ok(&["run"]);
    let fresh = std::fs::read(s.path().join("out/challenges-by-case-side.json")).unwrap();
    let committed = std::fs::read(
        repo()
            .join("examples")
            .join(name)
            .join("challenges-by-case-side.json"),
    )
    .unwrap();
    assert!(
        fresh == committed,
        "examples/{name}/challenges-by-case-side.json is out of date: regenerate it with `qualdex run`"
    );
    let md_fresh = std::fs::read(s.path().join("out/challenges-by-case-side.md")).unwrap();
    let md_committed = std::fs::read(
        repo()
            .join("examples")
            .join(name)
            .join("challenges-by-case-side.md"),
    )
    .unwrap();
    assert!(md_fresh == md_committed);

    let m: Value = serde_json::from_slice(&fresh).unwrap();
    let k = key(name);
    let docs: BTreeMap<String, String> = s
        .hits("NOT zzzqqq", &["--unit", "document"])
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                format!(
                    "{} / {}",
                    d["case"].as_str().unwrap(),
                    d["side"].as_str().unwrap()
                ),
            )
        })
        .collect();
    let columns: Vec<&str> = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for (i, row) in m["rows"].as_array().unwrap().iter().enumerate() {
        let row = row.as_str().unwrap();
        for (j, col) in columns.iter().enumerate() {
            let expected: BTreeSet<&str> = k
                .passages
                .iter()
                .filter(|e| {
                    e.codes
                        .iter()
                        .any(|c| c == row || c.starts_with(&format!("{row}/")))
                })
                .filter(|e| docs.get(&e.doc).map(String::as_str) == Some(*col))
                .map(|e| e.doc.as_str())
                .collect();
            assert_eq!(
                m["cells"][i][j]["value"].as_f64().unwrap() as usize,
                expected.len(),
                "{row} × {col}"
            );
        }
    }
}

#[test]
fn sme_rules_meet_the_key() {
    let name = "sme-value-constellations";
    rules_are_not_quotes(name);
    let s = demo(name);
    let k = key(name);
    assert!(k.passages.len() >= 60, "the key covers the corpus");
    let (gold, pred, _) = gold_and_predicted(&s, &k);
    let (p, r) = score(name, &gold, &pred);
    assert!(p >= 0.8 && r >= 0.8, "precision {p:.2}, recall {r:.2}");
}

/// The framework matrix (constellation × dimension value, firms in the
/// cells) equals a fresh run and what the key implies: a firm is in a cell
/// when one informant turn carries key passages of both codes.
#[test]
fn committed_sme_framework_matrix_matches_a_fresh_run_and_the_key() {
    let name = "sme-value-constellations";
    let s = demo(name);
    s.ok(&["run"]);
    let fresh = std::fs::read(s.path().join("out/framework-matrix.json")).unwrap();
    let committed = std::fs::read(
        repo()
            .join("examples")
            .join(name)
            .join("framework-matrix.json"),
    )
    .unwrap();
    assert!(
        fresh == committed,
        "examples/{name}/framework-matrix.json is out of date: regenerate it with `qualdex run`"
    );
    let m: Value = serde_json::from_slice(&fresh).unwrap();

    let k = key(name);
    let paragraphs = s.hits("NOT zzzqqq", &["--unit", "paragraph"]);
    let turns = s.hits("NOT zzzqqq", &["--unit", "turn"]);
    // Codes per turn, from the key.
    let mut per_turn: BTreeMap<(String, u64), (String, BTreeSet<String>)> = BTreeMap::new();
    for e in &k.passages {
        let p = paragraphs
            .iter()
            .find(|p| p["path"] == e.doc.as_str() && p["text"].as_str().unwrap().contains(&e.quote))
            .expect("key quote in a paragraph");
        let start = p["start"].as_u64().unwrap();
        let t = turns
            .iter()
            .find(|t| {
                t["path"] == e.doc.as_str()
                    && t["start"].as_u64().unwrap() <= start
                    && start < t["end"].as_u64().unwrap()
            })
            .expect("paragraph in a turn");
        let entry = per_turn
            .entry((e.doc.clone(), t["start"].as_u64().unwrap()))
            .or_insert_with(|| (t["case"].as_str().unwrap().to_string(), BTreeSet::new()));
        entry.1.extend(e.codes.iter().cloned());
    }
    let rows: Vec<&str> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let cols: Vec<&str> = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut nonempty = 0;
    for (i, r) in rows.iter().enumerate() {
        for (j, c) in cols.iter().enumerate() {
            let expected: BTreeSet<String> = per_turn
                .values()
                .filter(|(_, codes)| codes.contains(*r) && codes.contains(*c))
                .map(|(case, _)| case.clone())
                .collect();
            let got: BTreeSet<String> = m["cells"][i][j]["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, expected, "{r} × {c}");
            nonempty += usize::from(!got.is_empty());
        }
    }
    // Nine constellations, six values each.
    assert_eq!(
        nonempty, 54,
        "each constellation shows one value per dimension"
    );
}

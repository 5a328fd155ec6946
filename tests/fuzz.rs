//! A seeded mutation fuzzer over every parser of hand-written input: front
//! matter, plain and Markdown transcripts, WebVTT, SubRip, Word (.docx,
//! generated zips, mutated before and after zipping), codebook YAML,
//! codings YAML, qualdex.yaml, attribute CSV sheets and the query language
//! (parsed, evaluated, compiled and run against a small index).
//!
//! Each parser is called through the library on its valid seeds (written
//! here), then on mutations of them: byte edits, inserted tokens of the
//! format, spliced seeds, and tokens repeated up to 20,000 times (deep
//! nesting, long runs). A case must not panic (caught and reported with the
//! input saved to a file), must not abort (a stack overflow kills this test
//! binary; every case runs on a 2 MiB thread, a rayon worker's stack), and
//! must finish within 5 s of CPU time (a generous bound, counted on the
//! fuzzing thread so a busy machine never flakes; a case still running
//! after a minute by the clock is a hang; the slowest case is printed).
//!
//! `cargo test --test fuzz` runs 150 cases per parser. Run longer with
//! `QUALDEX_FUZZ_CASES=100000 cargo test --release --test fuzz`, and
//! `QUALDEX_FUZZ_SEED=N` for other mutations (the seed and case of a
//! failure are printed, so it can be replayed).
// Tests and benchmarks report to the person running them.
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use qualdex::corpus::{self, Format, ReadOptions};
use qualdex::study::UnitKind;

/// The most CPU time a case may take (the fuzzing thread's own time, so a
/// busy machine does not make a case look slow).
const CASE_LIMIT: Duration = Duration::from_secs(5);

/// The longest a case may take by the clock before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

/// The CPU time this thread has used (the wall clock where that is not
/// available).
fn thread_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid pointer to a timespec.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// A small, fast, seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn cases() -> usize {
    std::env::var("QUALDEX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

fn seed() -> u64 {
    std::env::var("QUALDEX_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2026)
}

/// The longest input tried (runs of repeated tokens make inputs long).
const MAX_LEN: usize = 256 * 1024;

/// A mutation of one of `seeds`: one to four edits.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            // Flip, replace or insert a byte.
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            // Insert a token of the format.
            2 | 3 => {
                let t = tokens[rng.below(tokens.len())];
                v.splice(at..at, t.iter().copied());
            }
            // Delete or duplicate a range.
            4 if !v.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            5 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(256)).min(v.len());
                let piece: Vec<u8> = v[start..end].to_vec();
                v.splice(at..at, piece);
            }
            // Splice in part of another seed.
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let start = rng.below(other.len());
                let end = (start + rng.below(512)).min(other.len());
                v.splice(at..at, other[start..end].iter().copied());
            }
            // Repeat a token many times: deep nesting, long runs.
            _ => {
                let t = tokens[rng.below(tokens.len())];
                let n = [10, 300, 3_000, 20_000][rng.below(4)];
                let mut run = Vec::with_capacity(t.len() * n);
                for _ in 0..n {
                    run.extend_from_slice(t);
                }
                v.splice(at..at, run);
            }
        }
    }
    v.truncate(MAX_LEN);
    v
}

/// Runs `check` on every seed, then on mutations of them, on a 2 MiB
/// thread; fails on a panic or a case slower than [`CASE_LIMIT`].
fn fuzz(
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    tokens: &'static [&'static [u8]],
    check: impl Fn(&[u8]) + Send + 'static,
) {
    let (n, s) = (cases(), seed());
    let (tx, rx) = mpsc::channel::<Result<(usize, Duration), (usize, String, PathBuf)>>();
    // The case being run, saved by the watcher if it takes too long.
    let current = Arc::new(std::sync::Mutex::new(Vec::new()));
    let running = current.clone();
    let worker = std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(2 << 20)
        .spawn(move || {
            let mut rng = Rng::new(s ^ name.bytes().fold(0u64, |h, b| h.rotate_left(5) ^ b as u64));
            let total = seeds.len() + n;
            for case in 0..total {
                let input = if case < seeds.len() {
                    seeds[case].clone()
                } else {
                    mutate(&mut rng, &seeds, tokens)
                };
                if let Ok(mut c) = running.lock() {
                    c.clone_from(&input);
                }
                let started = thread_time();
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let saved =
                        std::env::temp_dir().join(format!("qualdex-fuzz-{name}-{s}-{case}"));
                    let _ = std::fs::write(&saved, &input);
                    let _ = tx.send(Err((case, format!("panicked: {msg}"), saved)));
                    return;
                }
                let took = thread_time().saturating_sub(started);
                if took > CASE_LIMIT {
                    let saved =
                        std::env::temp_dir().join(format!("qualdex-fuzz-{name}-{s}-{case}"));
                    let _ = std::fs::write(&saved, &input);
                    let _ = tx.send(Err((case, format!("took {took:?} of CPU time"), saved)));
                    return;
                }
                if tx.send(Ok((case, took))).is_err() {
                    return;
                }
            }
        })
        .expect("fuzz thread");
    let mut slowest = (Duration::ZERO, 0usize);
    let mut done = 0usize;
    loop {
        match rx.recv_timeout(HANG) {
            Ok(Ok((case, took))) => {
                done += 1;
                if took > slowest.0 {
                    slowest = (took, case);
                }
            }
            Ok(Err((case, msg, saved))) => panic!(
                "{name}: case {case} (QUALDEX_FUZZ_SEED={s}) failed: {msg}; input saved to {}",
                saved.display()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let saved = std::env::temp_dir().join(format!("qualdex-fuzz-{name}-{s}-{done}"));
                if let Ok(c) = current.lock() {
                    let _ = std::fs::write(&saved, &*c);
                }
                panic!(
                    "{name}: case {done} (QUALDEX_FUZZ_SEED={s}) ran longer than {HANG:?}; input saved to {}",
                    saved.display()
                )
            }
        }
    }
    worker.join().expect("fuzz thread ended");
    eprintln!(
        "fuzz {name}: {done} cases, slowest {:?} (case {})",
        slowest.0, slowest.1
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn options() -> ReadOptions {
    let config = qualdex::study::parse_config(Path::new("qualdex.yaml"), "corpus: corpus\n")
        .expect("default settings");
    ReadOptions {
        lossy: true,
        speakers: qualdex::corpus::turns::SpeakerRules::new(&config.speakers.interviewers, None),
    }
}

/// Parses a transcript the whole way (text, front matter, turns, units).
fn document(rel: &str, format: Format, bytes: &[u8], opts: &ReadOptions) {
    let _ = corpus::parse_document(rel, Path::new(rel), format, bytes, opts);
}

fn seeds(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

const YAML_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b"- ",
    b"\n",
    b"\n  ",
    b"'",
    b"\"",
    b"# ",
    b"|\n",
    b">-\n",
    b"&a ",
    b"*a",
    b"!!str ",
    b"? ",
    b",",
    b"---\n",
    b"...\n",
    b"\t",
    b"\\",
    b"codes:\n",
    b"rules:\n",
    b"- query: ",
    b"(",
    b"NOT ",
    b"\xff",
    b"\r\n",
];

const FRONT_MATTER: &[&str] = &[
    "---\ncase: Alfa\nrole: manager\n---\nInterviewer: How did it start?\n\nAnna: With a contract.\n",
    "---\ncase: \"Beta Co\"\nyear: 2024\nremote: true\nnote: 'it''s fine'\n...\nQ: hi\nBo: hello\n",
    "---\n---\nno attributes\n",
    "Interviewer: no front matter\nAnna: risk and trust\n\n# heading\n\nAnna: more.\n",
];

#[test]
fn front_matter_and_text_transcripts() {
    let opts = options();
    fuzz("frontmatter", seeds(FRONT_MATTER), YAML_TOKENS, move |b| {
        let t = text(b);
        let _ = corpus::frontmatter::parse(Path::new("a.md"), &t);
        document("a.md", Format::Md, b, &opts);
        document("a.txt", Format::Txt, b, &opts);
    });
}

const VTT: &[&str] = &[
    "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>Hello &amp; welcome</v>\n\n00:00:05.000 --> 00:00:09.000\n<v.loud Anna Berg>We <i>never</i>\nagreed.\n",
    "WEBVTT - title\n\nNOTE a comment\n\n00:01.000 --> 00:02.000 align:start\n<v Berg, Anna (Guest)>Yes. <c.x>really</c>\n\n00:02.000 --> 00:03.000\n- no voice &lt;here&gt;\n",
];
const SRT: &[&str] = &[
    "1\r\n00:00:01,000 --> 00:00:02,000\r\nAnna: first line\r\nsecond line\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nBo: reply\r\n",
    "1\n00:00:01,000 --> 00:00:02,000\n<i>Interviewer:</i> tell me\n\n2\n00:00:02,500 --> 00:00:04,000\nAnna: it was hard\n",
];
const CUE_TOKENS: &[&[u8]] = &[
    b"<v ",
    b">",
    b"</v>",
    b"<",
    b"-->",
    b" --> ",
    b"\n\n",
    b"\n",
    b"&amp;",
    b"&",
    b"WEBVTT\n",
    b"00:00:01.000",
    b"<i>",
    b"</i>",
    b": ",
    b"Anna: ",
    b"\r\n",
    b"NOTE ",
    b"\xe2\x80\x8b",
];

#[test]
fn webvtt_and_subrip() {
    let opts = options();
    fuzz("vtt", seeds(VTT), CUE_TOKENS, move |b| {
        let t = text(b);
        if let Ok(r) = corpus::formats::parse_vtt(Path::new("a.vtt"), &t) {
            let _ = corpus::formats::assemble(&r);
        }
        document("a.vtt", Format::Vtt, b, &opts);
    });
    let opts = options();
    fuzz("srt", seeds(SRT), CUE_TOKENS, move |b| {
        let t = text(b);
        if let Ok(r) = corpus::formats::parse_srt(Path::new("a.srt"), &t) {
            let _ = corpus::formats::assemble(&r);
        }
        document("a.srt", Format::Srt, b, &opts);
    });
}

fn zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    for (name, data) in parts {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    buf.into_inner()
}

const DOCX_XML: &[&str] = &[
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t xml:space="preserve">Interviewer: How </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>did it start?</w:t></w:r></w:p><w:p><w:r><w:t>Anna: With a &amp; b&#233;</w:t><w:tab/><w:br/></w:r></w:p><w:sectPr/></w:body></w:document>"#,
    r#"<w:document><w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p/><w:p><w:r><w:t>Bo: &lt;ok&gt; &#x263A;</w:t></w:r></w:p></w:body></w:document>"#,
];
const XML_TOKENS: &[&[u8]] = &[
    b"<w:p>",
    b"</w:p>",
    b"<w:t>",
    b"</w:t>",
    b"<w:r>",
    b"</w:r>",
    b"<w:tab/>",
    b"<w:br/>",
    b"&amp;",
    b"&#",
    b"&",
    b"<",
    b">",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [<!ENTITY a \"b\">]>",
    b"&a;",
    b"\"",
    b"<?xml ?>",
    b"\xff",
];

#[test]
fn word_documents() {
    let opts = options();
    fuzz("docx", seeds(DOCX_XML), XML_TOKENS, move |xml| {
        let types: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
        let mut z = zip(&[("[Content_Types].xml", types), ("word/document.xml", xml)]);
        // Sometimes break the archive itself, from the same input.
        let h = xml
            .iter()
            .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64));
        if h % 3 == 0 && !z.is_empty() {
            let mut r = Rng::new(h);
            for _ in 0..1 + r.below(8) {
                let i = r.below(z.len());
                z[i] = r.next() as u8;
            }
            if h % 2 == 0 {
                z.truncate(r.below(z.len()));
            }
        }
        let _ = corpus::formats::parse_docx(Path::new("a.docx"), &z);
        document("a.docx", Format::Docx, &z, &opts);
    });
}

/// A folder of files rewritten per case.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

const CODEBOOKS: &[&str] = &[
    "title: T\nunit: paragraph\nchallenges:\n  label: Challenges\n  codes:\n    governance:\n      label: Governance\n      definition: Who decides.\n      rules:\n        - terms: [incentive model, \"business model*\"]\n        - regex: '(?i)forc(e|ed)'\n          respondent: true\n      codes:\n        incentives: {label: Incentives}\n    risk:\n      rules:\n        - query: '\"operational risk\" OR (hazard NOT -safety)'\n          unit: sentence\n          speaker: [Anna, Bo]\n          unless: [insurance]\nroles:\n  level: aggregate\n  codes:\n    incentives: {}\n",
    "title: Small\nversion: 2\nfam:\n  codes:\n    a:\n      include: [x, y]\n      exclude: z\n      examples:\n        - \"a quote\"\n      memo: |\n        a note [with brackets\n        over lines\n",
];

#[test]
fn codebook_yaml() {
    let scratch = Scratch::new();
    fuzz("codebook", seeds(CODEBOOKS), YAML_TOKENS, move |b| {
        let p = scratch.put("codebooks/cb.yaml", b);
        if let Ok(cb) = qualdex::codebook::Codebook::load(&[p], UnitKind::Paragraph) {
            let _ = cb.resolve("governance");
            let _ = cb.ambiguous_ids();
        }
    });
}

const CODINGS: &[&str] = &[
    "coder: anna\ncodings:\n  - code: challenges/governance\n    doc: alfa/rd-01.md\n    quote: \"the business model\"\n    prefix: \"still have no \"\n    start: 150\n    memo: strong\n    at: 2026-01-02T10:00:00Z\nreviews:\n  - code: challenges/risk\n    doc: alfa/rd-01.md\n    quote: risk\n    verdict: accept\n",
    "coder: bo\ncodings: []\n",
];

#[test]
fn codings_yaml() {
    let scratch = Scratch::new();
    fuzz("codings", seeds(CODINGS), YAML_TOKENS, move |b| {
        scratch.put("codings/anna.yaml", b);
        let _ = qualdex::coding::manual::Codings::load(&scratch.dir.path().join("codings"));
    });
}

#[test]
fn study_file() {
    let template = qualdex::study::template("Fuzz");
    let seeds = vec![
        template.into_bytes(),
        b"title: T\ncorpus: corpus\ncodebooks: [codebooks/a.yaml, b.yaml]\nunit: sentence\nlanguage: german\nspeakers:\n  interviewers: [I, Q]\n  pattern: '^(?P<speaker>[A-Z]{2,3})>\\s*'\ntables:\n  - name: t1\n    kind: matrix\n    rows: challenges\n    cols: case, side\n    measure: docs\n    formats: [md, csv]\n  - {name: q, kind: quotes, k: 3, max_chars: 200}\n".to_vec(),
    ];
    fuzz("qualdex.yaml", seeds, YAML_TOKENS, |b| {
        let _ = qualdex::study::parse_config(Path::new("qualdex.yaml"), &text(b));
    });
}

const SHEETS: &[&str] = &[
    "path,role,side\nalfa/rd-01.md,manager,\"R&D, east\"\nbeta/p-02.vtt,partner,x\n",
    "case,size,founded\nAlfa,big,1990\n\"Beta Co\",small,\"20\"\"01\"\n",
    "\u{feff}path;role\r\na.txt;x\r\n",
];
const CSV_TOKENS: &[&[u8]] = &[
    b",",
    b"\"",
    b"\"\"",
    b"\n",
    b"\r\n",
    b"path",
    b"case",
    b"alfa/rd-01.md",
    b";",
    b"\t",
    b"\xff",
    b"=cmd",
    b"../x",
    b"/abs",
];

#[test]
fn attribute_sheets() {
    let scratch = Scratch::new();
    fuzz("sheets", seeds(SHEETS), CSV_TOKENS, move |b| {
        // The same bytes as each sheet in turn (one header fits each).
        scratch.put("corpus/documents.csv", b);
        scratch.put("corpus/cases.csv", b"case,size\nAlfa,big\n");
        if let Ok(s) = corpus::attributes::Sheets::load(&scratch.dir.path().join("corpus")) {
            let _ = s.row_fingerprint("alfa/rd-01.md", "Alfa");
        }
        scratch.put("corpus/documents.csv", b"path,role\n");
        scratch.put("corpus/cases.csv", b);
        let _ = corpus::attributes::Sheets::load(&scratch.dir.path().join("corpus"));
    });
}

/// A small indexed study for the query language.
fn indexed_study() -> (tempfile::TempDir, qualdex::index::Opened) {
    let dir = tempfile::tempdir().unwrap();
    qualdex::study::init(dir.path(), "Fuzz").unwrap();
    let put = |rel: &str, t: &str| std::fs::write(dir.path().join(rel), t).unwrap();
    std::fs::create_dir_all(dir.path().join("corpus/alfa")).unwrap();
    put(
        "corpus/alfa/rd-01.md",
        "---\ncase: Alfa\nrole: manager\n---\nInterviewer: How did the business model start?\n\nAnna: With an outcome based contract. The risk was operational. We never agreed on incentives.\n\nInterviewer: And governance?\n\nAnna: Governance is hard; trust matters more than contracts.\n",
    );
    put(
        "corpus/alfa/p-02.txt",
        "Q: What about partners?\nBo: Partners share the revenue model. Risk sharing is new.\n",
    );
    put(
        "codebooks/cb.yaml",
        "title: T\nchallenges:\n  codes:\n    risk:\n      rules:\n        - terms: [risk*]\n    governance:\n      rules:\n        - query: 'governance OR (trust NOT hazard)'\n",
    );
    let cfg = std::fs::read_to_string(dir.path().join("qualdex.yaml")).unwrap();
    put(
        "qualdex.yaml",
        &cfg.replace("codebooks: []", "codebooks: [codebooks/cb.yaml]"),
    );
    let cwd = std::env::current_dir().unwrap();
    let study = qualdex::study::Study::locate(Some(dir.path()), &cwd).unwrap();
    let opts = qualdex::refresh::IndexOptions {
        quiet: true,
        ..Default::default()
    };
    qualdex::refresh::update(&study, &opts, &qualdex::refresh::Silent).unwrap();
    let opened = qualdex::index::open(&study).unwrap().unwrap();
    (dir, opened)
}

const QUERIES: &[&str] = &[
    "risk contract OR NOT case:Alfa",
    "\"business model\"~3 govern* role:\"key account manager\" \"revenue mod*\"",
    "(risk OR hazard) AND -trust speaker:anna respondent:true",
    "code:risk OR code:challenges/governance AND path:alfa/*",
    "NOT (a OR (b AND NOT (c || d))) && e",
];
const QUERY_TOKENS: &[&[u8]] = &[
    b"(",
    b")",
    b"NOT ",
    b"-",
    b"!",
    b" AND ",
    b" OR ",
    b"&&",
    b"||",
    b"\"",
    b"*",
    b"~",
    b"~3",
    b":",
    b"case:",
    b"code:",
    b"speaker:",
    b"path:",
    b"respondent:",
    b"exact:",
    b" ",
    b"\n",
    b"\xff",
    b"?",
];

#[test]
fn query_language() {
    let (dir, opened) = indexed_study();
    let opened = Arc::new(opened);
    let cwd = std::env::current_dir().unwrap();
    let study = qualdex::study::Study::locate(Some(dir.path()), &cwd).unwrap();
    let codebook = Arc::new(qualdex::refresh::load_codebook(&study).unwrap());
    let attrs: BTreeMap<String, String> = [("case".to_string(), "Alfa".to_string())].into();
    fuzz("query", seeds(QUERIES), QUERY_TOKENS, move |b| {
        let q = text(b);
        let Ok(node) = qualdex::query::parse(&q) else {
            return;
        };
        let unit = qualdex::coding::eval::UnitView {
            text: "With an outcome based contract the risk was operational",
            path: "alfa/rd-01.md",
            speaker: Some("Anna"),
            respondent: true,
            attributes: &attrs,
        };
        let _ = qualdex::coding::eval::Evaluator::new("english").matches(&node, &unit);
        let h = qualdex::query::Highlighter::new(&node, "english");
        let _ = h.ranges("the risk of governance");
        for kind in UnitKind::ALL {
            let compiled = qualdex::query::Compiler::new(&opened, &q)
                .for_unit(kind)
                .with_codes(&codebook, qualdex::query::CodeSource::Any)
                .compile_search(&node, kind);
            if let Ok(search) = compiled {
                let _ = search.run(&opened, Some(5));
            }
        }
    });
    drop(dir);
}

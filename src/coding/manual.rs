//! Manual codings: source data in `codings/<coder>.yaml`, one entry per
//! coded span, anchored by its exact quote with a little context and an
//! offset hint. When a transcript changes, each coding is placed again:
//! the exact quote nearest the hint (context breaking ties), else the best
//! fuzzy match above [`FUZZY_THRESHOLD`]; one that cannot be placed is an
//! orphan, reported and kept in the file, never dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::corpus::{CharMap, char_range_to_bytes};
use crate::diag::{Diagnostic, Diagnostics};

/// Minimum similarity (0–1) for a fuzzy placement.
pub const FUZZY_THRESHOLD: f64 = 0.8;
/// Characters of context kept on each side of a quote.
pub const CONTEXT: usize = 30;

/// One coded span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualCoding {
    /// Code path.
    pub code: String,
    /// Document path, relative to the corpus folder.
    pub doc: String,
    /// The exact coded text.
    pub quote: String,
    /// Text just before the quote.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// Text just after.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suffix: String,
    /// Where the quote started when coded (characters): a hint.
    pub start: usize,
    /// A memo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// When it was coded (UTC, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Set when this coding accepts an auto-coding (the rule's code path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<String>,
}

/// A verdict on an auto-coded passage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The auto-coding is right: it becomes the coder's too.
    Accept,
    /// The auto-coding is wrong: it is dropped from tables and search.
    Reject,
}

/// A coder's verdict on an auto-coding, anchored by the unit's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Code path.
    pub code: String,
    /// Document path.
    pub doc: String,
    /// The auto-coded unit's text.
    pub quote: String,
    /// Accept or reject.
    pub verdict: Verdict,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A coder's file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodingsFile {
    /// The coder's name.
    pub coder: String,
    /// Coded spans.
    #[serde(default)]
    pub codings: Vec<ManualCoding>,
    /// Verdicts on auto-codings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
}

/// All coders' files of a study.
#[derive(Debug, Clone, Default)]
pub struct Codings {
    /// Files by coder name (composed to NFC: see [`normalise_coder`]),
    /// with their paths.
    pub files: BTreeMap<String, (PathBuf, CodingsFile)>,
}

/// Words `--source` reads as keywords, so no coder may be called so.
pub const SOURCE_KEYWORDS: [&str; 4] = ["any", "all", "auto", "manual"];

/// Longest coder name, in characters.
pub const MAX_CODER_NAME: usize = 100;

/// Checks that `name` can be a coder: a coder's file is `codings/<name>.yaml`,
/// the name itself, so the mapping is one-to-one and readable. The name must
/// be a plain file name on every system a study is shared to (no path
/// separators, none of `:*?"<>|`, no leading `.` or space, no trailing `.` or
/// space, no Windows device name such as `con`), and not a `--source` keyword.
/// Names that differ only in case are told apart by [`Codings::file_for`].
pub fn check_coder_name(name: &str) -> Result<(), String> {
    crate::fsutil::check_plain_name(name)?;
    if !unicode_normalization::is_nfc(name) {
        return Err(format!(
            "`{name}` is not in composed Unicode form (NFC): give it as typed, qualdex composes it"
        ));
    }
    if let Some(c) = name.chars().find(|c| "*?\"<>|".contains(*c)) {
        return Err(format!(
            "`{name}` contains `{c}`, which is not allowed in a file name on every system"
        ));
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(format!("`{name}` starts or ends with a space"));
    }
    if name.ends_with('.') {
        return Err(format!("`{name}` ends with `.`"));
    }
    if name.chars().count() > MAX_CODER_NAME {
        return Err(format!(
            "the name is longer than {MAX_CODER_NAME} characters"
        ));
    }
    let lower = name.to_lowercase();
    if SOURCE_KEYWORDS.contains(&lower.as_str()) {
        return Err(format!(
            "`{name}` is a `--source` keyword (any, all, auto, manual), not a coder's name"
        ));
    }
    // Windows ignores what follows the first dot, and spaces before it.
    let device = lower.split('.').next().unwrap_or_default().trim_end();
    let numbered = |p: &str| {
        device.strip_prefix(p).is_some_and(|d| {
            let mut c = d.chars();
            c.next()
                .is_some_and(|n| n.is_ascii_digit() || "¹²³".contains(n))
                && c.next().is_none()
        })
    };
    if ["con", "prn", "aux", "nul", "conin$", "conout$"].contains(&device)
        || numbered("com")
        || numbered("lpt")
    {
        return Err(format!("`{name}` is a device name on Windows"));
    }
    // The longest file a coder has is its lock, `.<key>.yaml.lock`.
    if coder_key(name).len() + ".yaml.lock".len() + 1 > MAX_FILE_NAME {
        return Err(format!(
            "the name is too long for a file name ({} bytes in UTF-8; at most {} fit)",
            name.len(),
            MAX_FILE_NAME - ".yaml.lock".len() - 1
        ));
    }
    Ok(())
}

/// The longest file name, in bytes, that every common file system takes.
const MAX_FILE_NAME: usize = 255;

/// A coder's name as typed (`--coder`, a CSV column), composed to NFC: the
/// same name typed on macOS and on Linux is then one coder.
pub fn normalise_coder(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect()
}

/// What two coder names must not share: one file on some file system. Case
/// is folded (macOS and Windows ignore it) and accents composed (macOS
/// stores them decomposed), so `José`, `JOSÉ` and a decomposed `José` have
/// one key.
pub fn coder_key(name: &str) -> String {
    normalise_coder(name).to_lowercase()
}

/// The codings files of a folder: `*.yaml` and `*.yml`, not hidden, so the
/// lock files and any temp file a killed write left (both hidden) are never
/// read as a coder's file. Sorted; a missing folder has none.
pub fn coder_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
}

impl Codings {
    /// Reads every coder's file in the codings folder (missing folder:
    /// none). A file must be named after the coder it records
    /// (`anna.yaml` holds `coder: anna`); one coder may have only one file,
    /// and two coders may not differ only in case. Every problem is
    /// reported; none is repaired.
    pub fn load(dir: &Path) -> Result<Codings, Diagnostics> {
        let mut out = Codings::default();
        let mut problems = Vec::new();
        for p in coder_files(dir) {
            let text = match crate::fsutil::read_input_text(&p) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(Diagnostic::error(format!("cannot read: {e}")).in_file(&p));
                    continue;
                }
            };
            if let Err(d) = crate::yaml::check_nesting(&p, &text, 0) {
                problems.push(d);
                continue;
            }
            match serde_yaml_ng::from_str::<CodingsFile>(&text) {
                Ok(f) => {
                    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                    // A file copied to macOS has its name decomposed: the
                    // name still records its coder.
                    if normalise_coder(stem) != normalise_coder(&f.coder) {
                        problems.push(coder_mismatch(&p, &text, stem, &f.coder));
                        continue;
                    }
                    let coder = normalise_coder(&f.coder);
                    if let Some((other, _)) = out.files.get(&coder) {
                        let encoded_otherwise = other.file_name() != p.file_name()
                            && other.extension() == p.extension();
                        problems.push(
                            Diagnostic::error(format!(
                                "coder `{}` also has the file `{}`{}",
                                f.coder,
                                crate::diag::display_path(other),
                                if encoded_otherwise {
                                    " (the two names differ only in how their accents are encoded, so on macOS they are one file)"
                                } else {
                                    ""
                                }
                            ))
                            .in_file(&p)
                            .with_help("keep one file per coder: move these codings into the other file and delete this one"),
                        );
                        continue;
                    }
                    out.files.insert(coder, (p, f));
                }
                Err(e) => problems.extend(codings_problems(
                    &p,
                    &text,
                    crate::yaml::yaml_error(&p, &text, &e, &["coder", "codings", "reviews"]).0,
                )),
            }
        }
        // `Anna` and `anna` are one file on macOS and Windows; a composed
        // and a decomposed `José` are one on macOS.
        let mut by_fold: BTreeMap<String, &str> = BTreeMap::new();
        for (coder, (path, _)) in &out.files {
            if let Some(first) = by_fold.insert(coder_key(coder), coder) {
                problems.push(
                    Diagnostic::error(format!(
                        "coders `{first}` and `{coder}` differ only in case or in how their accents are encoded, so on macOS and Windows their files are one"
                    ))
                    .in_file(path)
                    .with_help(format!(
                        "merge the codings of `{coder}` into `{first}`'s file (or rename one coder) and delete this file"
                    )),
                );
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Diagnostics(problems))
        }
    }

    /// The file a coder writes to (created empty if new): `<coder>.yaml` in
    /// `dir`. Refuses a name [`check_coder_name`] refuses, and a new coder
    /// whose name differs only in case from an existing one's.
    pub fn file_for(
        &mut self,
        dir: &Path,
        coder: &str,
    ) -> Result<&mut (PathBuf, CodingsFile), Diagnostic> {
        // Coders are known by their composed names (see `load`).
        let coder = &normalise_coder(coder);
        if !self.files.contains_key(coder) {
            check_coder_name(coder).map_err(|why| bad_coder(&why))?;
            let key = coder_key(coder);
            if let Some(other) = self.files.keys().find(|c| coder_key(c) == key) {
                return Err(Diagnostic::error(format!(
                    "coder `{coder}` differs from the existing coder `{other}` only in case"
                ))
                .with_help(format!(
                    "pass `--coder {other}` (on macOS and Windows both would share one file)"
                )));
            }
        }
        Ok(self.files.entry(coder.to_string()).or_insert_with(|| {
            (
                dir.join(format!("{coder}.yaml")),
                CodingsFile {
                    coder: coder.to_string(),
                    ..Default::default()
                },
            )
        }))
    }

    /// Locks the files of `coders` (see [`CoderLock`]), then reads the
    /// folder: what the lock holder reads is what it may change and write
    /// back with [`Locked::save`], without losing another writer's update.
    pub fn lock(dir: &Path, coders: &[&str]) -> Result<Locked, Diagnostics> {
        let mut names: Vec<String> = Vec::new();
        for c in coders {
            // Existing coders are locked by any safe name; new ones are
            // checked in full by `file_for`.
            crate::fsutil::check_plain_name(c).map_err(|why| bad_coder(&why))?;
            names.push(coder_key(c));
        }
        // One order for everyone, so two writers of several coders cannot
        // each hold one lock and wait for the other's.
        names.sort();
        names.dedup();
        let mut locks = Vec::new();
        for n in &names {
            locks.push(CoderLock::acquire(dir, n)?);
        }
        remove_stale_temp_files(dir);
        let codings = Codings::load(dir)?;
        Ok(Locked {
            codings,
            coders: coders.iter().map(|c| c.to_string()).collect(),
            _locks: locks,
        })
    }

    fn save(&self, coder: &str) -> std::io::Result<()> {
        let Some((path, file)) = self.files.get(coder) else {
            return Ok(());
        };
        let mut yaml = String::from(
            "# Manual codings: source data. Edit with `qualdex code add/rm` or by hand.\n",
        );
        yaml.push_str(&serde_yaml_ng::to_string(file).map_err(std::io::Error::other)?);
        crate::fsutil::write_atomic(path, yaml.as_bytes())
    }

    /// Every coding and review of one document, as (coder, coding).
    pub fn for_doc<'a>(
        &'a self,
        doc: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a ManualCoding)> + 'a {
        self.files.iter().flat_map(move |(c, (_, f))| {
            f.codings
                .iter()
                .filter(move |m| m.doc == doc)
                .map(move |m| (c.as_str(), m))
        })
    }

    /// Reviews of one document, as (coder, review).
    pub fn reviews_for<'a>(
        &'a self,
        doc: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Review)> + 'a {
        self.files.iter().flat_map(move |(c, (_, f))| {
            f.reviews
                .iter()
                .filter(move |r| r.doc == doc)
                .map(move |r| (c.as_str(), r))
        })
    }

    /// A fingerprint of everything coded by hand in one document.
    pub fn fingerprint(&self, doc: &str) -> String {
        let mut h = blake3::Hasher::new();
        for (c, m) in self.for_doc(doc) {
            h.update(c.as_bytes());
            h.update(serde_json::to_string(m).unwrap_or_default().as_bytes());
        }
        for (c, r) in self.reviews_for(doc) {
            h.update(c.as_bytes());
            h.update(serde_json::to_string(r).unwrap_or_default().as_bytes());
        }
        h.finalize().to_hex()[..16].to_string()
    }

    /// Documents that have manual codings or reviews.
    pub fn documents(&self) -> std::collections::BTreeSet<String> {
        self.files
            .values()
            .flat_map(|(_, f)| {
                f.codings
                    .iter()
                    .map(|m| m.doc.clone())
                    .chain(f.reviews.iter().map(|r| r.doc.clone()))
            })
            .collect()
    }
}

fn bad_coder(why: &str) -> Diagnostic {
    Diagnostic::error(format!("invalid coder name: {why}")).with_help(
        "a coder's codings live in `codings/<coder>.yaml`: use letters, digits, `-`, `_`, `.` \
         or `@`, e.g. `--coder anna` (or set $QUALDEX_CODER)",
    )
}

fn coder_mismatch(path: &Path, text: &str, stem: &str, coder: &str) -> Diagnostic {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut d = Diagnostic::error(format!(
        "`{name}` records the coder `{coder}`, but a coder's file must be named after the coder"
    ))
    .in_file(path);
    if let Some(line) = text
        .lines()
        .position(|l| l.trim_start().starts_with("coder:"))
    {
        d = d.at_line(line + 1).with_source_from(text, 1);
    }
    let rename = if check_coder_name(coder).is_ok() {
        format!("rename the file to `{coder}.yaml`, or ")
    } else {
        String::new()
    };
    d.with_help(format!(
        "{rename}change its `coder:` to `{stem}`; qualdex never writes to a file that names another coder"
    ))
}

/// Age after which a leftover temp file in the codings folder (from a write
/// that was killed between creating and renaming it) is removed. A write
/// takes milliseconds; a temp file removed from a live but stalled writer
/// only makes that writer fail, with nothing lost.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// An advisory lock on one coder's file, held while the file is read,
/// changed and written back (atomically). It is taken on a separate, hidden
/// lock file beside the data (`codings/.anna.yaml.lock`, the name in lower
/// case so `Anna` and `anna` share it), never on the data file, which each
/// write replaces by a rename. It lives in the codings folder, not the index
/// folder, so deleting the index while someone codes cannot split it; it is
/// never deleted (deleting a lock file races with its next user). Released
/// when dropped, and by the system when the process dies.
#[derive(Debug)]
pub struct CoderLock {
    _file: std::fs::File,
}

impl CoderLock {
    fn acquire(dir: &Path, lower: &str) -> Result<CoderLock, Diagnostic> {
        let path = dir.join(format!(".{lower}.yaml.lock"));
        let failed = |e: std::io::Error| {
            Diagnostic::error(format!("cannot lock the codings file: {e}"))
                .in_file(&path)
                .with_help(
                    "qualdex locks a coder's file while writing it, so that no one's update is \
                     lost; the codings folder must be writable, on a file system with file locks",
                )
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let file = crate::fsutil::open_lock_file(&path, true).map_err(failed)?;
        let wait = crate::fsutil::lock_wait();
        match crate::fsutil::lock_within(file, wait) {
            Ok(Some(file)) => Ok(CoderLock { _file: file }),
            Err(e) => Err(failed(e)),
            Ok(None) => Err(Diagnostic::error(format!(
                "another qualdex has been writing this coder's codings for {} s",
                wait.as_secs()
            ))
            .in_file(&path)
            .with_help(
                "wait for it to finish (or stop it) and run this again; nothing was written",
            )),
        }
    }
}

/// Codings read under the locks of the coders about to be changed.
#[derive(Debug)]
pub struct Locked {
    /// Every coder's file, read after the locks were taken.
    pub codings: Codings,
    coders: Vec<String>,
    _locks: Vec<CoderLock>,
}

impl Locked {
    /// Writes one locked coder's file atomically.
    pub fn save(&self, coder: &str) -> std::io::Result<()> {
        if !self.coders.iter().any(|c| c == coder) {
            return Err(std::io::Error::other(format!(
                "internal error: `{coder}`'s codings were not locked before writing"
            )));
        }
        self.codings.save(coder)
    }
}

/// Whether `name` is a temp file as [`crate::fsutil::write_atomic`] makes
/// them (`.tmp` and six letters or digits).
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".tmp")
        .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes temp files in `dir` older than [`STALE_TEMP_AGE`]: what writes
/// killed between creating and renaming them left behind.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in rd.filter_map(Result::ok) {
        if !e.file_name().to_str().is_some_and(is_temp_name) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Where a coding now sits.
#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    /// The quote, where it was.
    Exact {
        /// Start (characters).
        start: usize,
        /// End (characters).
        end: usize,
    },
    /// The quote, elsewhere (the text around it changed).
    Moved {
        /// Start (characters).
        start: usize,
        /// End (characters).
        end: usize,
    },
    /// A close match of an edited quote.
    Fuzzy {
        /// Start (characters).
        start: usize,
        /// End (characters).
        end: usize,
        /// Similarity, 0–1.
        score: f64,
    },
    /// Not found.
    Orphan,
}

impl Anchor {
    /// The character range, unless orphaned.
    pub fn range(&self) -> Option<(usize, usize)> {
        match *self {
            Anchor::Exact { start, end }
            | Anchor::Moved { start, end }
            | Anchor::Fuzzy { start, end, .. } => Some((start, end)),
            Anchor::Orphan => None,
        }
    }

    /// `exact`, `moved`, `fuzzy` or `orphaned`.
    pub fn label(&self) -> &'static str {
        match self {
            Anchor::Exact { .. } => "exact",
            Anchor::Moved { .. } => "moved",
            Anchor::Fuzzy { .. } => "fuzzy",
            Anchor::Orphan => "orphaned",
        }
    }
}

fn context_score(text: &str, bs: usize, be: usize, m: &ManualCoding) -> usize {
    let before: String = text[..bs]
        .chars()
        .rev()
        .take(m.prefix.chars().count())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[be..].chars().take(m.suffix.chars().count()).collect();
    common_suffix(&before, &m.prefix) + common_prefix(&after, &m.suffix)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// What makes two codings one: the same code on the same passage of the
/// same document, the passage being where each is anchored in the
/// document's current `text` (so a coding made before an edit and the same
/// passage coded again after it are one). `code add`, `codings import` and
/// `codings check` all tell a repeated coding by this key; an orphaned
/// coding has none and repeats nothing.
pub fn coding_key(text: &str, m: &ManualCoding) -> Option<(String, String, usize, usize)> {
    let (start, end) = anchor(text, m).range()?;
    Some((m.code.clone(), m.doc.clone(), start, end))
}

/// Places a coding in the current text of its document.
pub fn anchor(text: &str, m: &ManualCoding) -> Anchor {
    if m.quote.is_empty() {
        return Anchor::Orphan;
    }
    let chars = CharMap::new(text);
    let qlen = m.quote.chars().count();
    // 1. Exact occurrences: best context, then nearest to the hint.
    let mut best: Option<(usize, usize, usize)> = None; // (score, distance, byte start)
    for (bs, _) in text.match_indices(m.quote.as_str()) {
        let be = bs + m.quote.len();
        let cs = chars.char_at(bs);
        let score = context_score(text, bs, be, m);
        let dist = cs.abs_diff(m.start);
        let cand = (score, dist, bs);
        best = match best {
            None => Some(cand),
            Some(b) if score > b.0 || (score == b.0 && dist < b.1) => Some(cand),
            b => b,
        };
    }
    if let Some((_, _, bs)) = best {
        let start = chars.char_at(bs);
        let end = start + qlen;
        return if start == m.start {
            Anchor::Exact { start, end }
        } else {
            Anchor::Moved { start, end }
        };
    }
    fuzzy(text, m, &chars)
}

/// Best approximate placement: candidate starts come from exact hits of
/// pieces of the quote; each is scored by normalised edit distance over a
/// window of about the quote's length.
fn fuzzy(text: &str, m: &ManualCoding, chars: &CharMap) -> Anchor {
    let q: Vec<char> = m.quote.chars().collect();
    let qlen = q.len();
    if qlen < 8 {
        return Anchor::Orphan;
    }
    let text_chars: Vec<char> = text.chars().collect();
    let pieces = 4usize.min(qlen / 4).max(1);
    let piece_len = qlen / pieces;
    let mut candidates: Vec<usize> = Vec::new();
    for k in 0..pieces {
        let off = k * piece_len;
        let piece: String = q[off..(off + piece_len).min(qlen)].iter().collect();
        if piece.trim().chars().count() < 4 {
            continue;
        }
        for (bs, _) in text.match_indices(piece.as_str()).take(50) {
            let cs = chars.char_at(bs);
            candidates.push(cs.saturating_sub(off));
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let quote: String = q.iter().collect();
    // Edits may lengthen or shorten the quote by up to a quarter.
    let slack = qlen / 4 + 2;
    let n = text_chars.len();
    let window = |s: usize, e: usize| -> String { text_chars[s.min(n)..e.min(n)].iter().collect() };
    // Boundaries are chosen with the stored context around the quote, so a
    // window neither stops short of nor runs past the edited passage.
    let full = format!("{}{}{}", m.prefix, quote, m.suffix);
    let (pl, sl) = (m.prefix.chars().count(), m.suffix.chars().count());
    let in_context = |s: usize, e: usize| -> f64 {
        let around = window(s.saturating_sub(pl), s) + &window(s, e) + &window(e, e + sl);
        strsim::normalized_levenshtein(&full, &around)
    };
    let mut best: Option<(f64, usize, usize)> = None;
    for c in candidates {
        let mut bs = c;
        let mut bscore = -1.0;
        for s in c.saturating_sub(slack)..=c + slack {
            let sc = in_context(s, s + qlen);
            if sc > bscore {
                bscore = sc;
                bs = s;
            }
        }
        let mut be = bs + qlen;
        for e in (bs + qlen).saturating_sub(slack)..=bs + qlen + slack {
            if e <= bs {
                continue;
            }
            let sc = in_context(bs, e);
            if sc > bscore {
                bscore = sc;
                be = e;
            }
        }
        if best.is_none_or(|b| bscore > b.0) {
            best = Some((bscore, bs, be.min(n)));
        }
    }
    let best = best.map(|(_, s, e)| (strsim::normalized_levenshtein(&quote, &window(s, e)), s, e));
    match best {
        Some((score, start, end)) if score >= FUZZY_THRESHOLD && start < end => {
            // Trim whitespace the window may have picked up at its edges.
            let w: Vec<char> = text_chars[start..end].to_vec();
            let lead = w.iter().take_while(|c| c.is_whitespace()).count();
            let trail = w.iter().rev().take_while(|c| c.is_whitespace()).count();
            Anchor::Fuzzy {
                start: start + lead,
                end: end - trail.min(end - start - lead),
                score,
            }
        }
        _ => Anchor::Orphan,
    }
}

/// Builds a coding for the span [start, end) (characters) of `text`.
pub fn make_coding(
    text: &str,
    doc: &str,
    code: &str,
    start: usize,
    end: usize,
    memo: Option<String>,
    at: String,
) -> Option<ManualCoding> {
    let (bs, be) = char_range_to_bytes(text, start, end)?;
    let prefix: String = text[..bs]
        .chars()
        .rev()
        .take(CONTEXT)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let suffix: String = text[be..].chars().take(CONTEXT).collect();
    Some(ManualCoding {
        code: code.to_string(),
        doc: doc.to_string(),
        quote: text[bs..be].to_string(),
        prefix,
        suffix,
        start,
        memo,
        at: Some(at),
        accepts: None,
    })
}

/// Now, as RFC 3339 UTC (`2026-11-23T08:15:00Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Every structure problem of a codings file the parser refused with
/// `first`: each coding and review is checked on its own.
pub fn codings_problems(path: &Path, text: &str, first: Vec<Diagnostic>) -> Vec<Diagnostic> {
    use serde_yaml_ng::{Mapping, Value};
    const TOP: &[&str] = &["coder", "codings", "reviews"];
    const CODING: &[&str] = &[
        "code", "doc", "quote", "prefix", "suffix", "start", "memo", "at", "accepts",
    ];
    const REVIEW: &[&str] = &["code", "doc", "quote", "verdict", "at"];
    let Some(top) = crate::yaml::Problems::top(text) else {
        return first;
    };
    let mut p = crate::yaml::Problems::new(path, text);
    for (k, v) in &top {
        let Some(k) = k.as_str() else { continue };
        let keys = vec![k.to_string()];
        match (k, v) {
            ("codings", Value::Sequence(items)) => {
                for (n, item) in items.iter().enumerate() {
                    p.check::<ManualCoding>(&keys, Some(n), item.clone(), CODING);
                }
            }
            ("reviews", Value::Sequence(items)) => {
                for (n, item) in items.iter().enumerate() {
                    p.check::<Review>(&keys, Some(n), item.clone(), REVIEW);
                }
            }
            // `coder` is required: check each entry with a stand-in coder.
            _ => {
                let mut m = Mapping::new();
                m.insert(Value::String("coder".into()), Value::String("x".into()));
                m.insert(Value::String(k.to_string()), v.clone());
                if let Err(e) = serde_yaml_ng::from_value::<CodingsFile>(Value::Mapping(m)) {
                    let line = p.lines.get(&keys).copied();
                    let named = if e.to_string().starts_with("unknown field") {
                        String::new()
                    } else {
                        k.to_string()
                    };
                    p.report(&e, &named, line, false, TOP);
                }
            }
        }
    }
    p.finish(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(text: &str, quote: &str) -> ManualCoding {
        let b = text.find(quote).unwrap();
        let s = text[..b].chars().count();
        make_coding(
            text,
            "d",
            "c",
            s,
            s + quote.chars().count(),
            None,
            "t".into(),
        )
        .unwrap()
    }

    #[test]
    fn exact_then_moved_after_an_insertion() {
        let text = "Intro.\n\nAnna: We never had a revenue model that paid everyone.\n";
        let m = coding(text, "a revenue model that paid everyone");
        assert!(matches!(anchor(text, &m), Anchor::Exact { .. }));
        let edited = format!(
            "A new paragraph about café life.\n\n{}",
            text.replace("Intro", "Intro – edited")
        );
        let a = anchor(&edited, &m);
        let (s, e) = a.range().unwrap();
        assert!(matches!(a, Anchor::Moved { .. }));
        assert_eq!(crate::corpus::slice_chars(&edited, s, e).unwrap(), m.quote);
    }

    #[test]
    fn context_picks_the_right_repeat_and_fuzzy_survives_a_changed_word() {
        let text = "Bo: risk is shared. Anna: risk is shared. Bo: end.";
        let second = text.rfind("risk is shared").unwrap();
        let m = make_coding(text, "d", "c", second, second + 14, None, "t".into()).unwrap();
        let moved = format!("XX {text}");
        let (s, _) = anchor(&moved, &m).range().unwrap();
        assert_eq!(s, second + 3);

        let text = "Anna: We never had a revenue model that paid every single party involved.";
        let m = coding(
            text,
            "We never had a revenue model that paid every single party involved.",
        );
        let edited = "Anna: We never had one revenue model that paid every single party involved.";
        match anchor(edited, &m) {
            Anchor::Fuzzy { start, end, score } => {
                assert!(score > 0.9, "{score}");
                assert_eq!(
                    &edited
                        .chars()
                        .skip(start)
                        .take(end - start)
                        .collect::<String>(),
                    "We never had one revenue model that paid every single party involved."
                );
            }
            other => panic!("{other:?}"),
        }
        let deleted = "Anna: Something else entirely, about the weather in Zürich.";
        assert_eq!(anchor(deleted, &m), Anchor::Orphan);
    }

    #[test]
    fn coder_names_are_their_file_names_and_safe_everywhere() {
        for ok in [
            "anna",
            "anna.berg",
            "anna_berg",
            "Åsa Öberg",
            "anna@uni.edu",
            "a-1",
        ] {
            assert!(check_coder_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".anna", "anna.", " anna", "anna ", "a:b", "a*b",
            "a?b", "a<b", "a|b", "con", "NUL", "com1", "lpt9.x", "auto", "Manual", "any", "all",
            "a\tb",
        ] {
            assert!(check_coder_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_coder_name(&"x".repeat(MAX_CODER_NAME + 1)).is_err());
        assert!(check_coder_name("console").is_ok());
        // Windows also reserves superscript-numbered ports, whatever follows
        // the first dot and spaces before it.
        for bad in [
            "COM\u{b9}",
            "lpt\u{b2}",
            "com\u{b3}.notes",
            "com1 .x",
            "conin$",
            "CONOUT$.x",
        ] {
            assert!(check_coder_name(bad).is_err(), "{bad:?}");
        }
        for ok in ["com10", "com\u{b9}0", "lpt", "comx"] {
            assert!(check_coder_name(ok).is_ok(), "{ok:?}");
        }
        // Names are composed before they are checked; a decomposed one is not.
        assert!(check_coder_name("Jose\u{301}").is_err());
        assert_eq!(normalise_coder("Jose\u{301}"), "Jos\u{e9}");
        assert_eq!(coder_key("JOSE\u{301}"), coder_key("jos\u{e9}"));
        // The lock file `.<key>.yaml.lock` must fit in 255 bytes: 100 `Ⱥ`
        // are 200 bytes, and 300 once lower-cased (`ⱥ`).
        assert!(check_coder_name(&"\u{23a}".repeat(100)).is_err());
        assert!(check_coder_name(&"\u{e9}".repeat(100)).is_ok());
    }

    #[test]
    fn a_coder_is_one_whatever_the_encoding_of_its_accents() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A file copied to macOS: its name decomposed, its content not.
        std::fs::write(d.join("Jose\u{301}.yaml"), "coder: Jos\u{e9}\n").unwrap();
        let mut c = Codings::load(d).unwrap();
        assert_eq!(c.files.keys().collect::<Vec<_>>(), ["Jos\u{e9}"]);
        let (path, _) = c.file_for(d, "Jose\u{301}").unwrap();
        assert_eq!(path, &d.join("Jose\u{301}.yaml"));
        assert_eq!(c.files.len(), 1);
        // Both spellings side by side (possible on Linux) are refused.
        std::fs::write(d.join("Jos\u{e9}.yaml"), "coder: Jos\u{e9}\n").unwrap();
        let e = Codings::load(d).unwrap_err();
        assert!(
            e.0[0].message.contains("accents are encoded"),
            "{}",
            e.0[0].message
        );
    }

    #[test]
    fn a_file_must_be_named_after_its_coder_and_hidden_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("anna.berg.yaml"), "coder: anna.berg\n").unwrap();
        std::fs::write(d.join(".anna.yaml.lock"), "").unwrap();
        std::fs::write(d.join(".tmpAbCdEf"), "coder: eve\n").unwrap();
        std::fs::write(d.join("._bob.yaml"), "\0\0").unwrap();
        let c = Codings::load(d).unwrap();
        assert_eq!(c.files.keys().collect::<Vec<_>>(), ["anna.berg"]);
        std::fs::write(d.join("bob.yaml"), "# x\ncoder: anna\ncodings: []\n").unwrap();
        let e = Codings::load(d).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].line, Some(2));
        assert!(
            e.0[0]
                .message
                .contains("`bob.yaml` records the coder `anna`")
        );
        std::fs::write(d.join("bob.yaml"), "coder: Anna.Berg\n").unwrap();
        std::fs::rename(d.join("bob.yaml"), d.join("Anna.Berg.yaml")).unwrap();
        let e = Codings::load(d).unwrap_err();
        assert!(
            e.0[0].message.contains("differ only in case"),
            "{}",
            e.0[0].message
        );
    }

    #[test]
    fn new_coders_differing_only_in_case_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Codings::default();
        c.file_for(dir.path(), "anna").unwrap();
        assert!(c.file_for(dir.path(), "anna").is_ok());
        let e = c.file_for(dir.path(), "ANNA").unwrap_err();
        assert!(e.message.contains("only in case"));
        assert!(c.file_for(dir.path(), "../x").is_err());
        assert_eq!(c.files["anna"].0, dir.path().join("anna.yaml"));
    }

    #[test]
    fn temp_names_are_write_atomics() {
        assert!(is_temp_name(".tmpAb12Cd"));
        assert!(!is_temp_name(".tmpAb12C"));
        assert!(!is_temp_name(".tmpAb12Cd.yaml"));
        assert!(!is_temp_name("tmpAb12Cd"));
        // The pattern is what write_atomic really leaves behind.
        let dir = tempfile::tempdir().unwrap();
        let t = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        assert!(is_temp_name(
            t.path().file_name().unwrap().to_str().unwrap()
        ));
    }

    #[test]
    fn rfc3339_has_the_right_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}

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
    /// Files by coder name, with their paths.
    pub files: BTreeMap<String, (PathBuf, CodingsFile)>,
}

impl Codings {
    /// Reads every `*.yaml` in the codings folder (missing folder: none).
    pub fn load(dir: &Path) -> Result<Codings, Diagnostics> {
        let mut out = Codings::default();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(out);
        };
        let mut paths: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        paths.sort();
        let mut problems = Vec::new();
        for p in paths {
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
                    if let Some((other, _)) = out.files.get(&f.coder) {
                        problems.push(
                            Diagnostic::error(format!(
                                "coder `{}` also has the file `{}`",
                                f.coder,
                                other.display()
                            ))
                            .in_file(&p)
                            .with_help("keep one file per coder"),
                        );
                        continue;
                    }
                    out.files.insert(f.coder.clone(), (p, f));
                }
                Err(e) => problems.extend(crate::yaml::codings_problems(
                    &p,
                    &text,
                    crate::study::yaml_error(&p, &text, &e, &["coder", "codings", "reviews"]).0,
                )),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Diagnostics(problems))
        }
    }

    /// The file a coder writes to (created empty if new).
    pub fn file_for(&mut self, dir: &Path, coder: &str) -> &mut (PathBuf, CodingsFile) {
        self.files.entry(coder.to_string()).or_insert_with(|| {
            let safe: String = coder
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                dir.join(format!("{safe}.yaml")),
                CodingsFile {
                    coder: coder.to_string(),
                    ..Default::default()
                },
            )
        })
    }

    /// Writes one coder's file atomically.
    pub fn save(&self, coder: &str) -> std::io::Result<()> {
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
    fn rfc3339_has_the_right_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}

//! Word forms by stem: how unquoted words find their inflections.
//!
//! The index keeps each word once, as written (lowercased), so indexing
//! tokenises every text once. A search for `incentives` must still find
//! `incentive` and `incentivised`: the query word is stemmed, and this table
//! lists the indexed words with that stem. Stemming an indexed word gives the
//! same stem the stemming analyser would have given at that position (both
//! analysers split and lowercase alike), so a search over the forms finds
//! exactly what a stemmed field would have found.
//!
//! The table is a cache like the rest of the index: `forms.tsv` in the
//! generation folder, one `stem<TAB>word` line per indexed word, sorted, so a
//! lookup is a binary search over the bytes without parsing the file. Its
//! first line names the segments it was built from; when they differ from the
//! index's (an update stopped between the commit and this file), the table is
//! rebuilt in memory from the term dictionaries.

use std::path::Path;

use tantivy::Searcher;
use tantivy::schema::Field;

/// The stem → words table of one index.
#[derive(Debug, Default)]
pub struct Forms {
    /// Sorted `stem\tword\n` lines.
    lines: String,
}

/// The segments a table was built from, as written on its first line.
fn segments_key(searcher: &Searcher) -> String {
    let mut ids: Vec<String> = searcher
        .segment_readers()
        .iter()
        .map(|r| r.segment_id().uuid_string())
        .collect();
    ids.sort_unstable();
    format!("# segments {}\n", ids.join(","))
}

impl Forms {
    /// Builds the table from the words indexed in `field`.
    pub fn build(searcher: &Searcher, field: Field, language: &str) -> tantivy::Result<Forms> {
        let mut words = std::collections::BTreeSet::new();
        for reader in searcher.segment_readers() {
            let inverted = reader.inverted_index(field)?;
            let mut stream = inverted.terms().stream()?;
            while stream.advance() {
                if let Ok(w) = std::str::from_utf8(stream.key()) {
                    words.insert(w.to_string());
                }
            }
        }
        let mut stem = crate::analysis::stem_analyzer(language);
        let mut pairs: Vec<(String, String)> = words
            .into_iter()
            .map(|w| {
                let mut s = stem.token_stream(&w);
                let st = if s.advance() {
                    s.token().text.clone()
                } else {
                    w.clone()
                };
                drop(s);
                (st, w)
            })
            .collect();
        pairs.sort_unstable();
        let mut lines = String::new();
        for (s, w) in pairs {
            lines.push_str(&s);
            lines.push('\t');
            lines.push_str(&w);
            lines.push('\n');
        }
        Ok(Forms { lines })
    }

    /// Writes the table for `searcher`'s segments (atomically).
    pub fn write(&self, searcher: &Searcher, path: &Path) -> std::io::Result<()> {
        let mut out = segments_key(searcher);
        out.push_str(&self.lines);
        crate::fsutil::write_atomic(path, out.as_bytes())
    }

    /// Reads the table written for `searcher`'s segments, or builds it when
    /// the file is missing or was written for other segments.
    pub fn load(
        searcher: &Searcher,
        field: Field,
        language: &str,
        path: &Path,
    ) -> tantivy::Result<Forms> {
        if let Some(mut text) = crate::fsutil::read_cache_text(path) {
            let key = segments_key(searcher);
            if text.starts_with(&key) {
                text.replace_range(..key.len(), "");
                return Ok(Forms { lines: text });
            }
        }
        Forms::build(searcher, field, language)
    }

    /// The indexed words whose stem is `stem`, in byte order.
    pub fn words(&self, stem: &str) -> Vec<&str> {
        let b = self.lines.as_bytes();
        // The first line starting at or after byte `pos`.
        let line_from = |pos: usize| -> usize {
            if pos == 0 {
                return 0;
            }
            b[pos - 1..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| pos + i)
        };
        let key = |start: usize| -> &[u8] {
            let line = &b[start..];
            let end = line.iter().position(|&c| c == b'\t').unwrap_or(line.len());
            &line[..end]
        };
        // Smallest position whose next line has a stem >= `stem` (lines are
        // sorted, and a stem sorts before any longer stem it begins, because
        // the tab after it is lower than every word character).
        let (mut lo, mut hi) = (0, b.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let s = line_from(mid);
            if s < b.len() && key(s) < stem.as_bytes() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        let mut at = line_from(lo);
        while at < b.len() && key(at) == stem.as_bytes() {
            let line_end = b[at..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| at + i);
            out.push(&self.lines[at + stem.len() + 1..line_end]);
            at = line_end + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> Forms {
        let mut v: Vec<(&str, &str)> = pairs.to_vec();
        v.sort_unstable();
        Forms {
            lines: v.iter().map(|(s, w)| format!("{s}\t{w}\n")).collect(),
        }
    }

    #[test]
    fn finds_every_form_of_a_stem_and_nothing_else() {
        let f = table(&[
            ("incent", "incentive"),
            ("incent", "incentives"),
            ("incent", "incentivised"),
            ("in", "in"),
            ("incentr", "incentre"),
            ("risk", "risks"),
            ("risk", "risk"),
            ("riski", "risky"),
            ("a", "a"),
            ("zz", "zz"),
        ]);
        assert_eq!(
            f.words("incent"),
            ["incentive", "incentives", "incentivised"]
        );
        assert_eq!(f.words("in"), ["in"]);
        assert_eq!(f.words("risk"), ["risk", "risks"]);
        assert_eq!(f.words("riski"), ["risky"]);
        assert_eq!(f.words("a"), ["a"]);
        assert_eq!(f.words("zz"), ["zz"]);
        assert!(f.words("ris").is_empty());
        assert!(f.words("b").is_empty());
        assert!(f.words("zzz").is_empty());
        assert!(f.words("").is_empty());
        assert!(Forms::default().words("risk").is_empty());
    }

    #[test]
    fn lookup_agrees_with_a_scan_on_random_tables() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let n = (next() % 40) as usize;
            let pairs: Vec<(String, String)> = (0..n)
                .map(|_| {
                    let s: String = (0..1 + next() % 3)
                        .map(|_| char::from(b'a' + (next() % 3) as u8))
                        .collect();
                    let w = format!("{s}{}", next() % 5);
                    (s, w)
                })
                .collect();
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let f = table(&refs);
            for probe in ["a", "b", "c", "aa", "ab", "ba", "abc", "cc", "ccc", "d"] {
                let mut want: Vec<&str> = refs
                    .iter()
                    .filter(|(s, _)| *s == probe)
                    .map(|(_, w)| *w)
                    .collect();
                want.sort_unstable();
                assert_eq!(f.words(probe), want, "{probe} in {refs:?}");
            }
        }
    }
}

//! Coding: applying a codebook's rules to documents, and manual codings.
//!
//! [`Matcher`] compiles every rule of a codebook once. One pass over the
//! words of each document's normalised text looks every word up among the
//! terms' first words (and `unless` terms) and among the literals that start
//! the regexes; each regex is then tried only where one of its literals
//! starts, and a regex that stays inside one word is answered once per word.
//! Regexes without such literals go into one `RegexSet` per unit kind, run
//! once per unit. So a 200-code codebook still reads each text once for its
//! terms, however many rules there are. Query rules are evaluated per unit by
//! [`eval`]. Manual codings ([`manual`]) are anchored to the current text by
//! their quotes. Output: [`CodedPassage`]s, which the index
//! stores. Nothing here writes files.

pub mod eval;
pub mod manual;
pub mod matcher;

use serde::{Deserialize, Serialize};

pub use matcher::Matcher;

/// Where a coding came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Source {
    /// A rule of the codebook.
    Auto,
    /// A coder, by hand (or by accepting an auto-coding).
    Manual {
        /// The coder's name.
        coder: String,
    },
}

impl Source {
    /// `auto` or the coder's name.
    pub fn label(&self) -> String {
        match self {
            Source::Auto => "auto".into(),
            Source::Manual { coder } => coder.clone(),
        }
    }
}

/// One rule match inside an auto-coded unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The rule, as `family/code#r2`.
    pub rule: String,
    /// `terms`, `regex` or `query`.
    pub kind: String,
    /// Match start in characters (the unit's for query rules).
    pub start: usize,
    /// Match end in characters.
    pub end: usize,
    /// The matched text.
    pub text: String,
}

/// A coded span of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedPassage {
    /// Code path.
    pub code: String,
    /// Where it came from.
    #[serde(flatten)]
    pub source: Source,
    /// Start, in characters.
    pub start: usize,
    /// End, in characters.
    pub end: usize,
    /// Byte start in the plain text.
    #[serde(skip)]
    pub byte_start: usize,
    /// Byte end.
    #[serde(skip)]
    pub byte_end: usize,
    /// The unit id for auto-codings (`p12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Rule matches behind an auto-coding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// A coder's memo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// How a manual coding was placed: `exact`, `moved`, `fuzzy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// True when a coder accepted this auto-coding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accepted: bool,
}

/// Lowercases (where the case change keeps the byte length) and collapses
/// every run of whitespace into one space, so that terms match across line
/// breaks and letter case.
pub fn normalise(text: &str) -> String {
    Normalised::new(text).text
}

/// A normalised text and the byte offsets back into the original.
#[derive(Debug, Clone)]
pub struct Normalised {
    /// The normalised text.
    pub text: String,
    /// For each normalised byte (and one past the end), the original byte.
    pub map: Vec<usize>,
}

impl Normalised {
    /// Normalises `text`, trimming leading and trailing whitespace.
    pub fn new(text: &str) -> Normalised {
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::with_capacity(text.len() + 1);
        let mut pending_space: Option<usize> = None;
        let bytes = text.as_bytes();
        let mut b = 0;
        while b < bytes.len() {
            let byte = bytes[b];
            if byte < 0x80 {
                // ASCII, the common case, without decoding: the whitespace
                // of `char::is_whitespace` is tab to carriage return and space.
                if matches!(byte, b'\t'..=b'\r' | b' ') {
                    pending_space.get_or_insert(b);
                } else {
                    if let Some(sb) = pending_space.take()
                        && !out.is_empty()
                    {
                        out.push(' ');
                        map.push(sb);
                    }
                    out.push(char::from(byte.to_ascii_lowercase()));
                    map.push(b);
                }
                b += 1;
                continue;
            }
            let at = b;
            let c = text[at..].chars().next().unwrap_or(' ');
            b += c.len_utf8();
            if c.is_whitespace() {
                pending_space.get_or_insert(at);
                continue;
            }
            if let Some(sb) = pending_space.take()
                && !out.is_empty()
            {
                out.push(' ');
                map.push(sb);
            }
            let lc = lower_same_len(c);
            let start = out.len();
            out.push(lc);
            for _ in start..out.len() {
                map.push(at);
            }
        }
        map.push(pending_space.unwrap_or(text.len()));
        Normalised { text: out, map }
    }

    /// The original byte range of a normalised byte range.
    pub fn original(&self, start: usize, end: usize, source: &str) -> (usize, usize) {
        let s = self.map[start];
        // End: just after the last original char of the match.
        let last = self.map[end.saturating_sub(1).max(start)];
        let e = last + source[last..].chars().next().map_or(0, char::len_utf8);
        (s, e.max(s))
    }
}

fn lower_same_len(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) if x.len_utf8() == c.len_utf8() => x,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain char-by-char definition, to check the ASCII fast path.
    fn normalise_by_chars(text: &str) -> (String, Vec<usize>) {
        let (mut out, mut map, mut pending) = (String::new(), Vec::new(), None);
        for (b, c) in text.char_indices() {
            if c.is_whitespace() {
                pending.get_or_insert(b);
                continue;
            }
            if let Some(sb) = pending.take()
                && !out.is_empty()
            {
                out.push(' ');
                map.push(sb);
            }
            let start = out.len();
            out.push(lower_same_len(c));
            map.extend(std::iter::repeat_n(b, out.len() - start));
        }
        map.push(pending.unwrap_or(text.len()));
        (out, map)
    }

    #[test]
    fn normalise_fast_path_agrees_with_the_char_by_char_definition() {
        let pieces = [
            "a", "Z", "q", "\t", "\n", "\u{b}", "\u{c}", "\r", " ", "\u{85}", "\u{a0}", "\u{2003}",
            "\u{3000}", "É", "ß", "İ", "Σ", "K", "x\u{301}", "—", "_", "1", ".",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let n = Normalised::new(&text);
            assert_eq!((n.text, n.map), normalise_by_chars(&text), "{text:?}");
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[test]
    fn normalise_collapses_whitespace_and_case_and_maps_back() {
        let src = "  The Business\r\n  MODEL – Über\tcafé ";
        let n = Normalised::new(src);
        assert_eq!(n.text, "the business model – über café");
        let i = n.text.find("business model").unwrap();
        let (s, e) = n.original(i, i + "business model".len(), src);
        assert_eq!(&src[s..e], "Business\r\n  MODEL");
        let j = n.text.find("café").unwrap();
        let (s, e) = n.original(j, j + "café".len(), src);
        assert_eq!(&src[s..e], "café");
    }
}

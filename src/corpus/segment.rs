//! Sentence boundaries (Unicode UAX #29) with a fast path for ASCII text.
//!
//! Splitting every paragraph with `unicode-segmentation` was a fifth of the
//! time spent reading a corpus. Most transcripts are plain ASCII, where the
//! UAX #29 sentence rules reduce to a handful of byte classes; this module
//! applies those rules directly and falls back to the general implementation
//! for anything else. The two agree exactly (see the tests).

use unicode_segmentation::UnicodeSegmentation;

/// Sentence-break classes of the ASCII characters (UAX #29, table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cr,
    Lf,
    Sp,
    Lower,
    Upper,
    Numeric,
    ATerm,
    STerm,
    Close,
    SContinue,
    Other,
}

#[inline]
fn class(b: u8) -> Class {
    match b {
        b'\r' => Class::Cr,
        b'\n' => Class::Lf,
        b'\t' | 0x0b | 0x0c | b' ' => Class::Sp,
        b'a'..=b'z' => Class::Lower,
        b'A'..=b'Z' => Class::Upper,
        b'0'..=b'9' => Class::Numeric,
        b'.' => Class::ATerm,
        b'!' | b'?' => Class::STerm,
        b'"' | b'\'' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => Class::Close,
        b',' | b'-' | b':' | b';' => Class::SContinue,
        _ => Class::Other,
    }
}

/// The sentences of `text` with their byte offsets, as
/// `split_sentence_bound_indices` gives them.
pub fn sentences(text: &str) -> Vec<(usize, &str)> {
    let mut ends = Vec::new();
    sentence_ends(text, text.is_ascii(), &mut ends);
    let mut out = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        out.push((start, &text[start..end]));
        start = end;
    }
    out
}

/// The offsets at which the sentences of `text` end (each the next one's
/// start, the last `text.len()`), in `out` (cleared first): the bounds of
/// [`sentences`], without building them. `ascii` says whether `text` is.
pub fn sentence_ends(text: &str, ascii: bool, out: &mut Vec<usize>) {
    out.clear();
    if ascii {
        ascii_breaks(text.as_bytes(), out);
    } else {
        out.extend(
            text.split_sentence_bound_indices()
                .map(|(i, s)| i + s.len()),
        );
    }
}

/// For each byte offset in `offsets` (ascending, on character boundaries),
/// the number of tokens of the index's word tokenizer (runs of
/// alphanumeric characters) that start before it: the index position of
/// the first word at or after that offset.
pub fn token_starts(text: &str, offsets: &[usize]) -> Vec<u32> {
    let mut out = Vec::with_capacity(offsets.len());
    token_starts_into(text, text.is_ascii(), offsets, &mut out);
    out
}

/// [`token_starts`] in `out` (cleared first); `ascii` says whether `text` is.
pub fn token_starts_into(text: &str, ascii: bool, offsets: &[usize], out: &mut Vec<u32>) {
    out.clear();
    let (mut tokens, mut inside, mut at) = (0u32, false, 0usize);
    for &o in offsets {
        let o = o.min(text.len());
        if o > at {
            if ascii {
                let n = ascii_token_starts(text.as_bytes(), at, o);
                tokens = tokens.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            } else {
                for c in text[at..o].chars() {
                    let word = c.is_alphanumeric();
                    tokens += u32::from(word & !inside);
                    inside = word;
                }
            }
            at = o;
        }
        out.push(tokens);
    }
}

/// [`word_count`], given the number of the index's words in `text` (runs
/// of letters and digits, as [`token_starts`] counts them): in ASCII text
/// without `_` the words are those runs less the joined ones.
pub fn word_count_from_tokens(text: &str, tokens: usize) -> usize {
    word_count_from_tokens_in(text, text.is_ascii(), tokens)
}

/// [`word_count_from_tokens`]; `ascii` says whether `text` is.
pub fn word_count_from_tokens_in(text: &str, ascii: bool, tokens: usize) -> usize {
    let s = text.as_bytes();
    if ascii && memchr::memchr(b'_', s).is_none() {
        tokens.saturating_sub(ascii_joins(s))
    } else {
        word_count(text)
    }
}

/// The number of words in `text`, as `unicode_words().count()` gives it.
pub fn word_count(text: &str) -> usize {
    if !text.is_ascii() {
        return text.unicode_words().count();
    }
    // In ASCII the UAX #29 word rules join runs of letters, digits and `_`
    // (WB5, WB8-WB10, WB13a/b); a letter, then `:` `.` or `'`, then a letter
    // (WB6/7); a digit, then `,` `;` `.` or `'`, then a digit (WB11/12).
    // Words without a letter or digit (`_`) are not counted.
    let s = text.as_bytes();
    let n = s.len();
    if memchr::memchr(b'_', s).is_none() {
        return ascii_word_count_without_underscores(s);
    }
    let joined = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut count = 0;
    let mut i = 0;
    while i < n {
        if !joined(s[i]) {
            i += 1;
            continue;
        }
        let mut alnum = false;
        loop {
            while i < n && joined(s[i]) {
                alnum |= s[i] != b'_';
                i += 1;
            }
            if i + 1 < n && joined(s[i + 1]) {
                let (before, mid, after) = (s[i - 1], s[i], s[i + 1]);
                let letters = before.is_ascii_alphabetic()
                    && after.is_ascii_alphabetic()
                    && matches!(mid, b':' | b'.' | b'\'');
                let digits = before.is_ascii_digit()
                    && after.is_ascii_digit()
                    && matches!(mid, b',' | b';' | b'.' | b'\'');
                if letters || digits {
                    i += 1;
                    continue;
                }
            }
            break;
        }
        count += usize::from(alnum);
    }
    count
}

fn ascii_letter(b: u8) -> bool {
    (b | 0x20).wrapping_sub(b'a') < 26
}

fn ascii_digit(b: u8) -> bool {
    b.wrapping_sub(b'0') < 10
}

fn ascii_word(b: u8) -> bool {
    ascii_letter(b) | ascii_digit(b)
}

/// Sums of at most this many flags fit a byte, so each block of a count
/// is summed in byte lanes.
const BLOCK: usize = 240;

/// The number of adjacent pairs `(s[i], s[i + 1])` for which `f` holds.
/// No state is carried from one pair to the next, so the compiler turns
/// this into vector code (a per-byte loop with a running state took a
/// tenth of indexing time).
fn count_pairs(s: &[u8], f: impl Fn(u8, u8) -> bool) -> usize {
    let Some(next) = s.get(1..) else {
        return 0;
    };
    s.chunks(BLOCK)
        .zip(next.chunks(BLOCK))
        .map(|(a, b)| {
            let n: u8 = a
                .iter()
                .zip(b)
                .map(|(&a, &b)| u8::from(f(a, b)))
                .fold(0, u8::wrapping_add);
            usize::from(n)
        })
        .sum()
}

/// The number of ASCII word starts (a letter or digit after anything else)
/// in `s[from..to]`.
fn ascii_token_starts(s: &[u8], from: usize, to: usize) -> usize {
    if from >= to {
        return 0;
    }
    let first = ascii_word(s[from]) && (from == 0 || !ascii_word(s[from - 1]));
    usize::from(first) + count_pairs(&s[from..to], |p, q| ascii_word(q) & !ascii_word(p))
}

/// [`word_count`] for ASCII text without `_`: the runs of letters and
/// digits, less the runs that a middle character joins to the one before.
fn ascii_word_count_without_underscores(s: &[u8]) -> usize {
    ascii_token_starts(s, 0, s.len()) - ascii_joins(s)
}

/// The runs of letters and digits that a middle character joins to the
/// one before (WB6/7: letter (`:` `.` `'`) letter; WB11/12: digit (`,` `;`
/// `.` `'`) digit). Middle characters are a small share of the text: each
/// is looked at where memchr finds it.
fn ascii_joins(s: &[u8]) -> usize {
    let joins = |i: usize| {
        i > 0 && i + 1 < s.len() && {
            let (a, m, c) = (s[i - 1], s[i], s[i + 1]);
            let letters = m != b',' && m != b';' && ascii_letter(a) && ascii_letter(c);
            let digits = m != b':' && ascii_digit(a) && ascii_digit(c);
            letters || digits
        }
    };
    let letters = memchr::memchr3_iter(b'.', b'\'', b':', s)
        .filter(|&i| joins(i))
        .count();
    let digits = memchr::memchr2_iter(b',', b';', s)
        .filter(|&i| joins(i))
        .count();
    letters + digits
}

/// Offsets after which a sentence ends, the last being the text's length.
fn ascii_breaks(s: &[u8], out: &mut Vec<usize>) {
    use Class::*;
    let n = s.len();
    // Only terminators and line breaks can end a sentence: jump between
    // them (most paragraphs have no line breaks at all).
    let line_breaks = memchr::memchr2(b'\r', b'\n', s).is_some();
    let mut i = 0;
    while i < n {
        if !line_breaks {
            match memchr::memchr3(b'.', b'!', b'?', &s[i..]) {
                Some(k) => i += k,
                None => break,
            }
        }
        match class(s[i]) {
            // SB3, SB4: a paragraph separator ends a sentence (CR LF is one).
            Cr => {
                i += if i + 1 < n && s[i + 1] == b'\n' { 2 } else { 1 };
                out.push(i);
                continue;
            }
            Lf => {
                i += 1;
                out.push(i);
                continue;
            }
            ATerm | STerm => {}
            _ => {
                i += 1;
                continue;
            }
        }
        let aterm = class(s[i]) == ATerm;
        let next = s.get(i + 1).map(|&b| class(b));
        // SB6: ATerm × Numeric. SB7: (Upper | Lower) ATerm × Upper.
        if aterm
            && (next == Some(Numeric)
                || (next == Some(Upper) && i > 0 && matches!(class(s[i - 1]), Upper | Lower)))
        {
            i += 1;
            continue;
        }
        // SATerm Close* Sp*
        let mut k = i + 1;
        while k < n && class(s[k]) == Close {
            k += 1;
        }
        while k < n && class(s[k]) == Sp {
            k += 1;
        }
        if k == n {
            out.push(n);
            return;
        }
        // SB8: ATerm Close* Sp* × (¬(OLetter | Upper | Lower | ParaSep | SATerm))* Lower
        if aterm {
            let mut m = k;
            while m < n && !matches!(class(s[m]), Upper | Lower | Cr | Lf | ATerm | STerm) {
                m += 1;
            }
            if m < n && class(s[m]) == Lower {
                i += 1;
                continue;
            }
        }
        // SB8a: SATerm Close* Sp* × (SContinue | SATerm)
        if matches!(class(s[k]), SContinue | ATerm | STerm) {
            i += 1;
            continue;
        }
        // SB11: SATerm Close* Sp* ParaSep? ÷
        let end = match class(s[k]) {
            Cr if k + 1 < n && s[k + 1] == b'\n' => k + 2,
            Cr | Lf => k + 1,
            _ => k,
        };
        out.push(end);
        i = end;
    }
    if n > 0 && out.last() != Some(&n) {
        out.push(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` texts of up to `max_len` pieces drawn from `alphabet` with a
    /// fixed-seed generator, so comparisons cover the pieces' interplay.
    fn random_texts(alphabet: &[&str], max_len: u64, seed: u64, n: usize) -> Vec<String> {
        let mut seed = seed;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..n)
            .map(|_| {
                let len = next() % max_len;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    fn reference(text: &str) -> Vec<(usize, &str)> {
        text.split_sentence_bound_indices().collect()
    }

    #[test]
    fn token_starts_are_the_positions_the_index_gives() {
        use tantivy::tokenizer::{SimpleTokenizer, TokenStream, Tokenizer};
        let alphabet: &[&str] = &[
            "a", "Z", "7", "é", "ß", "中", "٣", ".", " ", "\n", "-", "'", "_", "word", "😀", "ǅ",
        ];
        for text in random_texts(alphabet, 30, 0x2545_f491_4f6c_dd1d, 5_000) {
            // Every character boundary, as the offsets to ask about.
            let offsets: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let mut starts = Vec::new();
            let mut tok = SimpleTokenizer::default();
            let mut stream = tok.token_stream(&text);
            while stream.advance() {
                let t = stream.token();
                starts.push((t.offset_from, t.position as u32));
            }
            let expected: Vec<u32> = offsets
                .iter()
                .map(|&o| starts.iter().filter(|(from, _)| *from < o).count() as u32)
                .collect();
            assert_eq!(token_starts(&text, &offsets), expected, "{text:?}");
            // And a token starting at an offset has exactly that position.
            for (from, pos) in &starts {
                let i = offsets.iter().position(|o| o == from).expect("a boundary");
                assert_eq!(token_starts(&text, &offsets)[i], *pos, "{text:?}");
            }
        }
    }

    #[test]
    fn agrees_with_unicode_segmentation_on_examples() {
        for text in [
            "",
            "Hello.",
            "Hello. World",
            "Mr. Smith went to Washington. He said \"yes.\" Then left!",
            "e.g. the cat. U.S.A. is big. 3.14 is pi.  Two spaces.\r\nNext line\nmore",
            "Is it? Yes! (Really.) [ok.] 'quoted.' end",
            "a.b. c. D. ... ?! .,; .- end.\r\r\n\n",
            "What?\t\"Well,\" she said.\x0bNew.",
        ] {
            assert_eq!(sentences(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn agrees_with_unicode_segmentation_on_random_ascii() {
        // Texts built from the characters that matter to the rules, with a
        // fixed-seed generator, so the comparison covers their interplay.
        let alphabet: &[&str] = &[
            "a", "b", "Z", "Q", "7", ".", ".", "!", "?", " ", " ", "\t", "\n", "\r", "\r\n", "\"",
            "'", "(", ")", "]", ",", "-", ":", ";", "#", "_", "word", "Word", "e.g.", "3.5",
        ];
        for text in random_texts(alphabet, 24, 0x9e37_79b9_7f4a_7c15, 20_000) {
            assert_eq!(sentences(&text), reference(&text), "{text:?}");
        }
    }

    #[test]
    fn word_count_agrees_with_unicode_segmentation_on_random_ascii() {
        let alphabet: &[&str] = &[
            "a", "Z", "7", "0", "_", ".", ":", "'", ",", ";", " ", "\n", "\r\n", "\"", "-", "#",
            "word", "it's", "3.5", "e.g.", "a_b", "__",
        ];
        for text in random_texts(alphabet, 20, 0x2545_f491_4f6c_dd1d, 20_000) {
            assert_eq!(word_count(&text), text.unicode_words().count(), "{text:?}");
        }
        assert_eq!(word_count("Ça va, l'été 2.5"), 4);
        assert_eq!(word_count_from_tokens("Ça va, l'été 2.5", 6), 4);
        // Without `_` (the summing path), long enough to cross its blocks.
        let alphabet: &[&str] = &[
            "a", "Z", "7", "0", ".", ":", "'", ",", ";", " ", "\n", "-", "word", "it's", "3.5",
            "e.g.",
        ];
        for text in random_texts(alphabet, 400, 0x9e37_79b9_7f4a_7c15, 2_000) {
            let words = text.unicode_words().count();
            assert_eq!(word_count(&text), words, "{text:?}");
            let tokens = token_starts(&text, &[text.len()])[0] as usize;
            assert_eq!(word_count_from_tokens(&text, tokens), words, "{text:?}");
        }
    }

    #[test]
    fn falls_back_for_other_scripts() {
        let text = "Ça va. Über alles! 東京。次";
        assert_eq!(sentences(text), reference(text));
    }
}

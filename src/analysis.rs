//! Text analysis shared by the index, the rules and the search language:
//! the word analysers (tokenising, lowercasing, Snowball stemming) and the
//! normalisation terms and phrases are matched in. A leaf: it knows nothing
//! of studies, codebooks or the index's layout.

use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer,
};

/// The Snowball language of a study's `language:` setting.
pub fn language(name: &str) -> Option<Language> {
    Some(match name {
        "arabic" => Language::Arabic,
        "danish" => Language::Danish,
        "dutch" => Language::Dutch,
        "english" => Language::English,
        "finnish" => Language::Finnish,
        "french" => Language::French,
        "german" => Language::German,
        "greek" => Language::Greek,
        "hungarian" => Language::Hungarian,
        "italian" => Language::Italian,
        "norwegian" => Language::Norwegian,
        "portuguese" => Language::Portuguese,
        "romanian" => Language::Romanian,
        "russian" => Language::Russian,
        "spanish" => Language::Spanish,
        "swedish" => Language::Swedish,
        "tamil" => Language::Tamil,
        "turkish" => Language::Turkish,
        _ => return None,
    })
}

/// The stemming analyser for a language (`none`: lowercase only).
pub fn stem_analyzer(lang: &str) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser);
    match language(lang) {
        Some(l) => base.filter(CachedStemmer { language: l }).build(),
        None => base.build(),
    }
}

/// Snowball stemming with a memory of the words already stemmed: a corpus
/// repeats a few thousand words millions of times, and stemming each
/// occurrence took a fifth of indexing. Same output as tantivy's `Stemmer`.
#[derive(Clone)]
struct CachedStemmer {
    language: Language,
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(self.language))
                .build(),
            stems: std::collections::HashMap::new(),
        }
    }
}

#[derive(Clone)]
struct CachedStemmerFilter<T> {
    inner: T,
    /// Stems one word (tantivy's stemmer behind a raw tokenizer).
    stemmer: TextAnalyzer,
    stems: std::collections::HashMap<String, String>,
}

impl CachedStemmerFilter<()> {
    /// Words remembered per indexing thread before the memory is cleared.
    const CAPACITY: usize = 200_000;
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        if self.stems.len() > CachedStemmerFilter::<()>::CAPACITY {
            self.stems.clear();
        }
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: &mut self.stemmer,
            stems: &mut self.stems,
        }
    }
}

struct CachedStemmerStream<'a, T> {
    tail: T,
    stemmer: &'a mut TextAnalyzer,
    stems: &'a mut std::collections::HashMap<String, String>,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Some(stem) = self.stems.get(&token.text) {
            token.text.clear();
            token.text.push_str(stem);
            return true;
        }
        let mut stem = token.text.clone();
        let mut one = self.stemmer.token_stream(&token.text);
        if one.advance() {
            stem.clone_from(&one.token().text);
        }
        drop(one);
        self.stems
            .insert(std::mem::take(&mut token.text), stem.clone());
        token.text = stem;
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The exact-word analyser.
pub fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .build()
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

pub(crate) fn lower_same_len(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) if x.len_utf8() == c.len_utf8() => x,
        _ => c,
    }
}

/// Attribute names are matched case-insensitively: stored lowercase, with
/// spaces and dashes as underscores so they can be used in queries.
pub fn normalise_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
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

    fn tokens(mut a: TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut s = a.token_stream(text);
        while s.advance() {
            let t = s.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    #[test]
    fn cached_stemmer_gives_tantivys_stems() {
        let text = "Running runners ran; the partners' partnership, PARTNERS and \
                    partnering. Running again: runs, running, generously generous";
        for lang in ["english", "dutch", "swedish"] {
            let plain = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(64))
                .filter(LowerCaser)
                .filter(Stemmer::new(language(lang).unwrap()))
                .build();
            // The same analyser twice: the second pass is served from memory.
            let mut cached = stem_analyzer(lang);
            let first = tokens(cached.clone(), text);
            let mut s = cached.token_stream(text);
            while s.advance() {}
            drop(s);
            assert_eq!(first, tokens(plain, text), "{lang}");
            assert_eq!(tokens(cached, text), first, "{lang}");
        }
    }
}

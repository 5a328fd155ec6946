//! The index schema and its analysers.
//!
//! One tantivy document per distinct span of text: a paragraph that is also a
//! whole turn (the common case in interviews) is indexed once and carries both
//! kinds and both ids, which keeps the index small and indexing fast.
//! Sentences are not documents: a paragraph records where its sentences
//! start and end and at which word position, and sentence searches are
//! answered from the paragraph's postings (`query::sentences`).
//! `text` keeps each word once, lowercased, with its position: phrases and
//! prefixes match it directly, and unquoted words are stemmed at search time
//! and matched against every indexed form with that stem ([`super::forms`]),
//! so each text is tokenised once; filter fields (`case`, `speaker`, attributes) match whole values,
//! case-insensitively. A transcript's case and attributes are kept on its
//! document unit only; filters on them match other units by path.

use crate::coding::Source;
use crate::study::UnitKind;
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, JsonObjectOptions, STORED, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};

use crate::analysis::exact_analyzer;

/// Bumped whenever the schema, the analysers or what is stored changes;
/// forces a rebuild. 20: VTT voices as speakers, passages' speakers by the
/// turn holding most of them.
pub const SCHEMA_VERSION: u32 = 20;

/// Analyser names registered on every open: unstemmed, lowercased words.
pub const EXACT: &str = "qd_exact";
/// Whole value, lowercased.
pub const KEYWORD: &str = "qd_kw";

/// Handles to every field.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The unit id of a document unit (`d`) or coded passage, stored.
    /// Paragraphs and turns have none: theirs are counted from the
    /// document unit's [`Fields::layout`], as are their speakers'
    /// labels, timestamps and first sentence numbers. Every stored or
    /// indexed value costs a paragraph more than its few bytes suggest.
    pub ids: Field,
    /// The unit kinds this span serves, and whether the words are a
    /// respondent's, as one term ([`kind_term`]).
    pub kind: Field,
    /// Document path relative to the corpus root: a fast field only, read
    /// by document number (an indexed term on every unit cost as much as
    /// a word); filters and deletes by path go through `query::paths`.
    pub path: Field,
    /// The same, on the document unit only: text searches of whole
    /// documents resolve to the paths of documents with a matching
    /// paragraph, and find their document unit by this one-posting term.
    pub dpath: Field,
    /// Case name (lowercased in the index, original stored in the manifest),
    /// on the document unit only (see `query::paths`).
    pub case: Field,
    /// Speaker label, lowercased, for filters (not stored: see
    /// [`Fields::layout`] and [`Fields::pspeaker`]).
    pub speaker: Field,
    /// `true` on coded passages of respondents' words; absent elsewhere.
    /// Paragraphs and turns mark them on their kind term instead
    /// ([`kind_term`], [`respondent_query`]). Not stored: shown from
    /// [`Fields::layout`] or [`Fields::pinfo`].
    pub respondent: Field,
    /// Every attribute, as a JSON object, on the document unit only.
    pub attrs: Field,
    /// Start and end, in characters, as one value ([`pack_span`]).
    pub span: Field,
    /// The words, lowercased, with positions.
    pub text: Field,
    /// On paragraphs of at most 2,046 characters and 1,022 words (most
    /// of them), two sentences per value in order, each packed in 32 bits
    /// by [`pack_half`]; an odd last sentence is paired with [`NO_HALF`].
    /// Every value costs tantivy as much to index as a word, so halving
    /// their number matters.
    pub sents2: Field,
    /// On longer paragraphs, one value per sentence in order: the position in
    /// `text` of its first word, its start (in characters, from the
    /// paragraph's) and its length, packed by [`pack_sentence`]. Sentences
    /// are not documents of their own; see `query::sentences`.
    pub sents: Field,
    /// The same for paragraphs too long to pack: three values per sentence
    /// (start, end, first word position).
    pub swide: Field,
    /// The hash of the transcript file's bytes, stored on the document unit
    /// only. Document texts are not kept in the index: they are read from
    /// the files, and this tells whether a file still holds the text that
    /// was indexed (see `Opened::body`).
    pub hash: Field,
    /// The transcript's layout (`index::layout`), stored on the document
    /// unit only: the ids, speakers, timestamps and sentence numbers of
    /// its paragraphs and turns, read to show hits.
    pub layout: Field,
    /// Codes (with their ancestors) of passages overlapping this span.
    pub code: Field,
    /// The same, prefixed by source: `auto|path`, `manual|path`, `coder:NAME|path`.
    pub code_src: Field,
    /// A coded passage's provenance (JSON), on `coding` documents.
    pub prov: Field,
    /// A coded passage's own code (fast field, `coding` documents).
    pub pcode: Field,
    /// A coded passage's source: `auto` or `manual:CODER` (fast field).
    pub psrc: Field,
    /// The speaker of the turn a coded passage starts in (fast field).
    pub pspeaker: Field,
    /// Rule matches behind a coded passage, shifted left by 8, plus flags
    /// ([`INFO_RESPONDENT`], [`INFO_ACCEPTED`], [`INFO_MEMO`]) (fast field).
    pub pinfo: Field,
}

/// `pinfo` flag: the passage is a respondent's words.
pub const INFO_RESPONDENT: u64 = 1;
/// `pinfo` flag: a coder accepted the auto-coding.
pub const INFO_ACCEPTED: u64 = 2;
/// `pinfo` flag: the passage has a memo (read from `prov`).
pub const INFO_MEMO: u64 = 4;

/// A unit's start and end (in characters) as one `span` value: the start
/// in the high 32 bits, the length in the low ones. Transcripts are read
/// whole into memory and refused above 4 GiB, so both fit.
pub fn pack_span(start: u64, end: u64) -> u64 {
    let low = u64::from(u32::MAX);
    start.min(low) << 32 | end.saturating_sub(start).min(low)
}

/// The inverse of [`pack_span`]: (start, end).
pub fn unpack_span(v: u64) -> (u64, u64) {
    let start = v >> 32;
    (start, start + (v & u64::from(u32::MAX)))
}

/// Bits of a packed sentence's start and of its length.
const SENTENCE_SPAN_BITS: u32 = 22;
/// Bits of a packed sentence's first word position.
const SENTENCE_WORD_BITS: u32 = 64 - 2 * SENTENCE_SPAN_BITS;

/// A sentence as one `sents` value: its first word's position, its start
/// relative to its paragraph's and its length (in characters); `None` when
/// one does not fit (a paragraph of millions of characters).
pub fn pack_sentence(word: u32, start: u64, len: u64) -> Option<u64> {
    let span = 1u64 << SENTENCE_SPAN_BITS;
    (u64::from(word) < 1 << SENTENCE_WORD_BITS && start < span && len < span)
        .then(|| u64::from(word) << (2 * SENTENCE_SPAN_BITS) | start << SENTENCE_SPAN_BITS | len)
}

/// Bits of a half-packed sentence's start and length, and of its word.
const HALF_SPAN_BITS: u32 = 11;
const HALF_WORD_BITS: u32 = 32 - 2 * HALF_SPAN_BITS;

/// The empty half of a `sents2` value (all ones: [`pack_half`] never
/// gives it, as each part stays below its maximum).
pub const NO_HALF: u32 = u32::MAX;

/// A sentence in 32 bits, as [`pack_sentence`] does in 64; `None` when
/// it does not fit.
pub fn pack_half(word: u32, start: u64, len: u64) -> Option<u32> {
    let span = (1u64 << HALF_SPAN_BITS) - 1;
    (word < (1 << HALF_WORD_BITS) - 1 && start < span && len < span).then(|| {
        let v = u64::from(word) << (2 * HALF_SPAN_BITS) | start << HALF_SPAN_BITS | len;
        u32::try_from(v).unwrap_or(NO_HALF)
    })
}

/// The inverse of [`pack_half`]; `None` for [`NO_HALF`].
pub fn unpack_half(v: u32) -> Option<(u32, u64, u64)> {
    let mask = (1u32 << HALF_SPAN_BITS) - 1;
    (v != NO_HALF).then(|| {
        (
            v >> (2 * HALF_SPAN_BITS),
            u64::from((v >> HALF_SPAN_BITS) & mask),
            u64::from(v & mask),
        )
    })
}

/// The inverse of [`pack_sentence`].
pub fn unpack_sentence(v: u64) -> (u32, u64, u64) {
    let mask = (1u64 << SENTENCE_SPAN_BITS) - 1;
    let word = u32::try_from(v >> (2 * SENTENCE_SPAN_BITS)).unwrap_or(u32::MAX);
    (word, (v >> SENTENCE_SPAN_BITS) & mask, v & mask)
}

/// The `kind` term of a span that is both a paragraph and a whole turn
/// (most spans in interviews): one term instead of two.
const PARAGRAPH_TURN: &str = "paragraph+turn";

/// The `kind` terms of paragraphs and turns of respondents' words: the
/// respondent flag rides on the kind term rather than costing a value of
/// its own (coded passages keep the `respondent` field).
const RESPONDENT_KINDS: [(&str, &str); 3] = [
    ("paragraph", "paragraph/r"),
    ("turn", "turn/r"),
    (PARAGRAPH_TURN, "paragraph+turn/r"),
];

/// The `kind` term of a span serving `kinds` (one, or a paragraph that is
/// a whole turn), marked when the words are a respondent's.
pub fn kind_term(kinds: &[UnitKind], respondent: bool) -> &'static str {
    let term = match kinds {
        [UnitKind::Paragraph, UnitKind::Turn] | [UnitKind::Turn, UnitKind::Paragraph] => {
            PARAGRAPH_TURN
        }
        [k, ..] => k.as_str(),
        [] => "",
    };
    match RESPONDENT_KINDS.iter().find(|(k, _)| *k == term) {
        Some((_, marked)) if respondent => marked,
        _ => term,
    }
}

fn kind_term_query(fields: &Fields, t: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(fields.kind, t),
        IndexRecordOption::Basic,
    ))
}

/// Index documents serving units of `kind`.
pub fn kind_query(fields: &Fields, kind: &str) -> Box<dyn Query> {
    if kind == UnitKind::Paragraph.as_str() || kind == UnitKind::Turn.as_str() {
        let terms = RESPONDENT_KINDS
            .iter()
            .filter(|(k, _)| *k == kind || *k == PARAGRAPH_TURN)
            .flat_map(|(k, r)| [k, r]);
        Box::new(BooleanQuery::new(
            terms
                .map(|t| (Occur::Should, kind_term_query(fields, t)))
                .collect(),
        ))
    } else {
        kind_term_query(fields, kind)
    }
}

/// Index documents of respondents' words: paragraphs and turns by their
/// kind term, coded passages by the `respondent` field.
pub fn respondent_query(fields: &Fields) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = RESPONDENT_KINDS
        .iter()
        .map(|(_, r)| (Occur::Should, kind_term_query(fields, r)))
        .collect();
    clauses.push((
        Occur::Should,
        Box::new(TermQuery::new(
            Term::from_field_text(fields.respondent, "true"),
            IndexRecordOption::Basic,
        )),
    ));
    Box::new(BooleanQuery::new(clauses))
}

/// The `kind` of documents that hold one coded passage each.
pub const CODING_KIND: &str = "coding";

/// Builds the schema.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Results come in document order, never by relevance: no field needs
    // the per-document lengths tantivy keeps for scoring (fieldnorms).
    let indexing = |tokenizer: &str, option: IndexRecordOption| {
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(option)
            .set_fieldnorms(false)
    };
    let kw =
        || TextOptions::default().set_indexing_options(indexing(KEYWORD, IndexRecordOption::Basic));
    // A whole value, as is (tantivy's STRING without fieldnorms).
    let raw =
        || TextOptions::default().set_indexing_options(indexing("raw", IndexRecordOption::Basic));
    let positions = |tok: &str| {
        TextOptions::default()
            .set_indexing_options(indexing(tok, IndexRecordOption::WithFreqsAndPositions))
    };
    let fields = Fields {
        ids: b.add_text_field("ids", STORED),
        kind: b.add_text_field("kind", raw()),
        path: b.add_text_field(fast::PATH, FAST),
        dpath: b.add_text_field("dpath", raw()),
        case: b.add_text_field("case", kw()),
        speaker: b.add_text_field("speaker", kw()),
        respondent: b.add_text_field("respondent", raw()),
        attrs: b.add_json_field(
            "attrs",
            JsonObjectOptions::default()
                .set_indexing_options(indexing(KEYWORD, IndexRecordOption::Basic)),
        ),
        span: b.add_u64_field(fast::SPAN, FAST),
        text: b.add_text_field("text", positions(EXACT)),
        sents2: b.add_u64_field(fast::SENTS2, FAST),
        sents: b.add_u64_field(fast::SENTS, FAST),
        swide: b.add_u64_field(fast::SWIDE, FAST),
        hash: b.add_text_field("hash", STORED),
        layout: b.add_text_field("layout", STORED),
        code: b.add_text_field("code", raw()),
        code_src: b.add_text_field("code_src", raw()),
        prov: b.add_text_field("prov", STORED),
        pcode: b.add_text_field(fast::PCODE, raw() | FAST),
        psrc: b.add_text_field(fast::PSRC, raw() | FAST),
        pspeaker: b.add_text_field(fast::PSPEAKER, raw() | FAST),
        pinfo: b.add_u64_field(fast::PINFO, FAST),
    };
    (b.build(), fields)
}

/// The names of the fast (columnar) fields, as the schema declares them
/// and as readers open their columns: one spelling for every reader.
pub mod fast {
    /// A unit's document path.
    pub const PATH: &str = "path";
    /// A unit's character span, packed by [`super::pack_span`].
    pub const SPAN: &str = "span";
    /// A paragraph's sentences, two to a value ([`super::pack_half`]).
    pub const SENTS2: &str = "sents2";
    /// A paragraph's sentences, one to a value ([`super::pack_sentence`]).
    pub const SENTS: &str = "sents";
    /// A paragraph's sentences too long to pack in one value.
    pub const SWIDE: &str = "swide";
    /// A coded passage's code path.
    pub const PCODE: &str = "pcode";
    /// A coded passage's source (`auto|…`, `coder:…|`).
    pub const PSRC: &str = "psrc";
    /// A coded passage's speaker.
    pub const PSPEAKER: &str = "pspeaker";
    /// A coded passage's evidence count and flags (`INFO_RESPONDENT`, …).
    pub const PINFO: &str = "pinfo";
}

/// Resolves the field handles of an opened index.
pub fn fields_of(schema: &Schema) -> tantivy::Result<Fields> {
    let f = |n: &str| schema.get_field(n);
    Ok(Fields {
        ids: f("ids")?,
        kind: f("kind")?,
        path: f(fast::PATH)?,
        dpath: f("dpath")?,
        case: f("case")?,
        speaker: f("speaker")?,
        respondent: f("respondent")?,
        attrs: f("attrs")?,
        span: f(fast::SPAN)?,
        text: f("text")?,
        sents2: f(fast::SENTS2)?,
        sents: f(fast::SENTS)?,
        swide: f(fast::SWIDE)?,
        hash: f("hash")?,
        layout: f("layout")?,
        code: f("code")?,
        code_src: f("code_src")?,
        prov: f("prov")?,
        pcode: f(fast::PCODE)?,
        psrc: f(fast::PSRC)?,
        pspeaker: f(fast::PSPEAKER)?,
        pinfo: f(fast::PINFO)?,
    })
}

/// The `code_src` term of a code path: `auto|path` for the rules'
/// passages (`source` `None`), `manual|path` for everyone's manual codings
/// (`Some(None)`), `coder:NAME|path` for one coder's (`Some(Some(NAME))`).
/// Written by the index and searched by `code:` filters, from here only.
pub fn code_src_term(source: Option<Option<&str>>, path: &str) -> String {
    match source {
        None => format!("auto|{path}"),
        Some(None) => format!("manual|{path}"),
        Some(Some(coder)) => format!("coder:{coder}|{path}"),
    }
}

/// A passage's source as stored in the `psrc` fast field.
pub fn source_label(s: &Source) -> String {
    match s {
        Source::Auto => "auto".into(),
        Source::Manual { coder } => format!("manual:{coder}"),
    }
}

/// The source a `psrc` value stands for (see [`source_label`]).
pub fn source_of_label(label: Option<&str>) -> Source {
    match label.and_then(|s| s.strip_prefix("manual:")) {
        Some(coder) => Source::Manual {
            coder: coder.to_string(),
        },
        None => Source::Auto,
    }
}

/// Registers the analysers on an index (they are not persisted by tantivy).
pub fn register(index: &tantivy::Index) {
    let m = index.tokenizers();
    m.register(EXACT, exact_analyzer());
    m.register(
        KEYWORD,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}

/// Lowercases a filter value the way the keyword analyser does.
pub fn keyword(value: &str) -> String {
    value.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_pack_start_and_end() {
        let max = u64::from(u32::MAX);
        for (s, e) in [(0, 0), (0, 1), (17, 400), (max, max), (max - 5, max + 9)] {
            assert_eq!(unpack_span(pack_span(s, e)), (s, e), "{s} {e}");
        }
    }

    #[test]
    fn a_span_has_one_kind_term() {
        use UnitKind::*;
        assert_eq!(kind_term(&[Paragraph, Turn], false), "paragraph+turn");
        assert_eq!(kind_term(&[Turn, Paragraph], false), "paragraph+turn");
        assert_eq!(kind_term(&[Paragraph], false), "paragraph");
        assert_eq!(kind_term(&[Turn], false), "turn");
        assert_eq!(kind_term(&[Document], false), "document");
        assert_eq!(kind_term(&[Paragraph, Turn], true), "paragraph+turn/r");
        assert_eq!(kind_term(&[Paragraph], true), "paragraph/r");
        assert_eq!(kind_term(&[Turn], true), "turn/r");
        // Documents are nobody's words.
        assert_eq!(kind_term(&[Document], true), "document");
    }

    #[test]
    fn sentences_pack_in_halves_when_small() {
        for (w, s, l) in [(0, 0, 0), (1, 2, 3), (1022, 2046, 2046), (7, 2046, 1)] {
            let v = pack_half(w, s, l).expect("fits");
            assert_ne!(v, NO_HALF);
            assert_eq!(unpack_half(v), Some((w, s, l)));
        }
        for (w, s, l) in [(1023, 0, 0), (0, 2047, 0), (0, 0, 2047), (1023, 2047, 2047)] {
            assert_eq!(pack_half(w, s, l), None, "{w} {s} {l}");
        }
        assert_eq!(unpack_half(NO_HALF), None);
    }

    #[test]
    fn sentences_pack_and_unpack() {
        for (w, s, l) in [
            (0, 0, 0),
            (7, 120, 33),
            ((1 << 20) - 1, (1 << 22) - 1, (1 << 22) - 1),
        ] {
            let v = pack_sentence(w, s, l).expect("fits");
            assert_eq!(unpack_sentence(v), (w, s, l));
        }
        assert_eq!(pack_sentence(1 << 20, 0, 0), None);
        assert_eq!(pack_sentence(0, 1 << 22, 0), None);
        assert_eq!(pack_sentence(0, 0, 1 << 22), None);
    }
}

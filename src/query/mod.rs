//! Queries: the search language compiled to tantivy, run, and highlighted.
//!
//! [`parse`] turns text into a syntax tree; [`Compiler`] resolves field names
//! against the index (an unknown attribute is an error with a suggestion) and
//! builds tantivy queries; [`run`] collects hits in document order. Rendering
//! hits is the caller's job.

pub mod sentences;

use std::collections::{BTreeSet, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use crate::diag::{Diagnostic, Diagnostics, suggest};
use crate::index::{Opened, schema};
use crate::querylang as parse;
pub use crate::querylang::{Leaf, Node, parse};
use crate::study::UnitKind;

/// Fields every index has, besides attributes.
pub const BUILTIN_FIELDS: &[&str] = &[
    "case",
    "code",
    "speaker",
    "respondent",
    "path",
    "text",
    "exact",
];

/// Which codings `code:` filters look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CodeSource {
    /// Every coding.
    #[default]
    Any,
    /// Rule-based codings.
    Auto,
    /// Codings by any coder (including accepted auto-codings).
    Manual,
    /// One coder's codings.
    Coder(String),
}

impl CodeSource {
    /// True when a passage from `s` belongs to this source.
    pub fn admits(&self, s: &crate::coding::Source) -> bool {
        use crate::coding::Source;
        match (self, s) {
            (CodeSource::Any, _)
            | (CodeSource::Auto, Source::Auto)
            | (CodeSource::Manual, Source::Manual { .. }) => true,
            (CodeSource::Coder(c), Source::Manual { coder }) => c == coder,
            _ => false,
        }
    }

    /// Parses `auto`, `manual`, or a coder's name.
    pub fn parse(s: &str) -> CodeSource {
        match s {
            "any" | "all" => CodeSource::Any,
            "auto" => CodeSource::Auto,
            "manual" => CodeSource::Manual,
            coder => CodeSource::Coder(coder.to_string()),
        }
    }

    /// The indexed term for a code path under this source.
    pub fn term(&self, path: &str) -> (bool, String) {
        match self {
            CodeSource::Any => (false, path.to_string()),
            CodeSource::Auto => (true, schema::code_src_term(None, path)),
            CodeSource::Manual => (true, schema::code_src_term(Some(None), path)),
            CodeSource::Coder(c) => (true, schema::code_src_term(Some(Some(c)), path)),
        }
    }
}

/// Builds tantivy queries from syntax trees for one opened index.
pub struct Compiler<'a> {
    opened: &'a Opened,
    query: &'a str,
    codebook: Option<&'a crate::codebook::Codebook>,
    source: CodeSource,
    attributes: BTreeSet<String>,
    stem: TextAnalyzer,
    exact: TextAnalyzer,
    /// Text leaves match whole documents (see [`Compiler::for_unit`]).
    whole_documents: bool,
    /// Problems located so far: the query is quoted under the first
    /// [`crate::diag::MAX_SHOWN`] only (the rest are counted, not shown),
    /// so a long query of bad terms costs linear time, not a copy each.
    located: std::cell::Cell<usize>,
    /// Indexed words the query's prefixes have stood for so far (see
    /// [`MAX_EXPANSIONS`]).
    expanded: std::cell::Cell<usize>,
}

/// The most indexed words all prefixes of one query may stand for together.
/// `g*` in a large study stands for thousands of words, each a list of
/// postings to read; a thousand such prefixes would read millions. Past this
/// bound the query is refused with an error at the prefix that crossed it.
pub const MAX_EXPANSIONS: usize = 100_000; // said as `100,000` in its error

impl<'a> Compiler<'a> {
    /// A compiler for `query` (the text is kept for error messages).
    pub fn new(opened: &'a Opened, query: &'a str) -> Self {
        Compiler {
            opened,
            query,
            codebook: None,
            source: CodeSource::Any,
            attributes: opened.attribute_names(),
            stem: crate::analysis::stem_analyzer(&opened.language),
            exact: crate::analysis::exact_analyzer(),
            whole_documents: false,
            located: std::cell::Cell::new(0),
            expanded: std::cell::Cell::new(0),
        }
    }

    /// Counts the indexed words of `field` that `prefix` stands for (at
    /// most `max` of them are searched) against [`MAX_EXPANSIONS`].
    fn expand(
        &self,
        field: Field,
        leaf: &Leaf,
        prefix: &str,
        max: usize,
    ) -> Result<(), Diagnostic> {
        if self.expanded.get() > MAX_EXPANSIONS {
            // Refused already: one error says it.
            return Ok(());
        }
        let left = MAX_EXPANSIONS - self.expanded.get();
        let words =
            prefix_words(&self.opened.reader.searcher(), field, prefix, left + 1).map_err(|e| {
                self.located(
                    leaf.span,
                    format!("cannot read the index: {e}"),
                    String::new(),
                )
            })?;
        let n = words.min(max);
        if n > left {
            self.expanded.set(usize::MAX);
            return Err(self.located(
                leaf.span,
                format!(
                    "`{}*` and the query's other prefixes stand for more than 100,000 indexed words",
                    leaf.value
                ),
                "use longer prefixes (`govern*` rather than `g*`), or fewer of them".into(),
            ));
        }
        self.expanded.set(self.expanded.get() + n);
        Ok(())
    }

    /// Compiles for units of `kind`. Whole documents have no words of their
    /// own in the index: a text leaf matches a document when one of its
    /// paragraphs matches it (so speaker labels are not searched as words,
    /// and a phrase does not run from one paragraph into the next, as in
    /// every other unit); the boolean structure is then applied to documents.
    #[must_use]
    pub fn for_unit(mut self, kind: UnitKind) -> Self {
        self.whole_documents = kind == UnitKind::Document;
        self
    }

    /// A text leaf's query, for whole documents when compiling for them.
    fn text_leaf(&mut self, stemmed: bool, leaf: &Leaf) -> Result<Box<dyn Query>, Diagnostic> {
        let f = self.opened.fields.clone();
        let q = self.words_query(f.text, stemmed, leaf)?;
        if !self.whole_documents {
            return Ok(q);
        }
        let paragraphs = BooleanQuery::new(vec![
            (Occur::Must, q),
            (
                Occur::Must,
                schema::kind_query(&f, UnitKind::Paragraph.as_str()),
            ),
        ]);
        let paths = matching_paths(self.opened, &paragraphs)
            .map_err(|e| Diagnostic::error(format!("search failed: {e}")))?;
        Ok(Box::new(TermSetQuery::new(
            paths.iter().map(|p| Term::from_field_text(f.dpath, p)),
        )))
    }

    /// Lets `code:` filters resolve ids against a codebook.
    #[must_use]
    pub fn with_codes(
        mut self,
        codebook: &'a crate::codebook::Codebook,
        source: CodeSource,
    ) -> Self {
        self.codebook = Some(codebook);
        self.source = source;
        self
    }

    fn located(&self, span: parse::Span, message: String, help: String) -> Diagnostic {
        let n = self.located.get();
        self.located.set(n + 1);
        let d = Diagnostic::error(message)
            .in_origin("query")
            .at(1, span.0 + 1)
            .with_help(help);
        if n < crate::diag::MAX_SHOWN {
            d.with_source(self.query.replace('\n', " "), span.1)
        } else {
            d
        }
    }

    /// Compiles a tree, reporting every problem found.
    pub fn compile(&mut self, node: &Node) -> Result<Box<dyn Query>, Diagnostics> {
        let mut problems = Vec::new();
        let q = self.node(node, &mut problems);
        if problems.is_empty() {
            Ok(q)
        } else {
            Err(Diagnostics(problems))
        }
    }

    fn node(&mut self, node: &Node, problems: &mut Vec<Diagnostic>) -> Box<dyn Query> {
        match node {
            Node::And(children) | Node::Or(children) => {
                let occur = if matches!(node, Node::And(_)) {
                    Occur::Must
                } else {
                    Occur::Should
                };
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                let mut positive = false;
                for c in children {
                    match c {
                        Node::Not(inner) if occur == Occur::Must => {
                            clauses.push((Occur::MustNot, self.node(inner, problems)));
                        }
                        _ => {
                            positive = true;
                            clauses.push((occur, self.node(c, problems)));
                        }
                    }
                }
                if !positive {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Node::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.node(inner, problems)),
            ])),
            Node::Leaf(leaf) => match self.leaf(leaf) {
                Ok(q) => q,
                Err(d) => {
                    problems.push(d);
                    Box::new(EmptyQuery)
                }
            },
        }
    }

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// A text leaf's words, stemmed or as written; an error when it has none.
    fn leaf_words(&mut self, stemmed: bool, leaf: &Leaf) -> Result<Vec<String>, Diagnostic> {
        let analyzer = if stemmed {
            &mut self.stem
        } else {
            &mut self.exact
        };
        let toks = Self::tokens(analyzer, &leaf.value);
        if toks.is_empty() {
            return Err(self.located(
                leaf.span,
                format!("`{}` has no searchable words", leaf.value),
                "search for letters or digits; punctuation is not indexed".into(),
            ));
        }
        Ok(toks)
    }

    fn words_query(
        &mut self,
        field: Field,
        stemmed: bool,
        leaf: &Leaf,
    ) -> Result<Box<dyn Query>, Diagnostic> {
        let toks = self.leaf_words(stemmed, leaf)?;
        if stemmed {
            return self.stemmed_query(field, leaf, &toks);
        }
        let terms: Vec<Term> = toks
            .iter()
            .map(|t| Term::from_field_text(field, t))
            .collect();
        if leaf.prefix {
            let max = if terms.len() == 1 {
                usize::MAX
            } else {
                PHRASE_PREFIX_EXPANSIONS
            };
            self.expand(field, leaf, &toks[toks.len() - 1], max)?;
            if terms.len() == 1 {
                let pattern = format!("{}.*", regex_syntax_escape(&toks[0]));
                let q = RegexQuery::from_pattern(&pattern, field).map_err(|e| {
                    self.located(
                        leaf.span,
                        format!("bad prefix: {e}"),
                        "use letters and digits before `*`".into(),
                    )
                })?;
                return Ok(Box::new(q));
            }
            let mut q = PhrasePrefixQuery::new(terms);
            q.set_max_expansions(PHRASE_PREFIX_EXPANSIONS as u32);
            return Ok(Box::new(q));
        }
        if terms.len() == 1 {
            let t = terms.into_iter().next().expect("one term");
            return Ok(Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)));
        }
        let mut q = PhraseQuery::new(terms);
        q.set_slop(leaf.slop);
        Ok(Box::new(q))
    }

    /// Unquoted words: each stem stands for every indexed word with that
    /// stem, so one word is a disjunction of its forms and several words are
    /// a disjunction of phrases, one per combination of forms.
    fn stemmed_query(
        &self,
        field: Field,
        leaf: &Leaf,
        stems: &[String],
    ) -> Result<Box<dyn Query>, Diagnostic> {
        /// More combinations than this is not a plausible search.
        const MAX_PHRASES: usize = 4096;
        let forms: Vec<Vec<String>> = stems.iter().map(|s| self.opened.word_forms(s)).collect();
        if forms.iter().any(Vec::is_empty) {
            return Ok(Box::new(EmptyQuery));
        }
        let combinations = forms
            .iter()
            .try_fold(1usize, |n, f| n.checked_mul(f.len()))
            .filter(|&n| n <= MAX_PHRASES);
        let Some(combinations) = combinations else {
            return Err(self.located(
                leaf.span,
                format!("`{}` has too many word forms to combine", leaf.value),
                "quote the words to search for them exactly as written".into(),
            ));
        };
        let term = |w: &str| Term::from_field_text(field, w);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(combinations);
        if forms.len() == 1 {
            for w in &forms[0] {
                clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term(w), IndexRecordOption::WithFreqs)),
                ));
            }
        } else {
            for k in 0..combinations {
                let mut rest = k;
                let terms: Vec<Term> = forms
                    .iter()
                    .map(|f| {
                        let t = term(&f[rest % f.len()]);
                        rest /= f.len();
                        t
                    })
                    .collect();
                let mut q = PhraseQuery::new(terms);
                q.set_slop(leaf.slop);
                clauses.push((Occur::Should, Box::new(q)));
            }
        }
        if clauses.len() == 1 {
            return Ok(clauses.pop().expect("one clause").1);
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn keyword_query(&self, field: Field, leaf: &Leaf) -> Result<Box<dyn Query>, Diagnostic> {
        let value = schema::keyword(leaf.value.trim());
        if leaf.prefix {
            let pattern = format!("{}.*", regex_syntax_escape(&value));
            let q = RegexQuery::from_pattern(&pattern, field)
                .map_err(|e| self.located(leaf.span, format!("bad prefix: {e}"), String::new()))?;
            return Ok(Box::new(q));
        }
        Ok(Box::new(TermQuery::new(
            Term::from_field_text(field, &value),
            IndexRecordOption::Basic,
        )))
    }

    fn leaf(&mut self, leaf: &Leaf) -> Result<Box<dyn Query>, Diagnostic> {
        let f = self.opened.fields.clone();
        let Some(field) = leaf.field.as_deref() else {
            return self.text_leaf(!leaf.phrase && !leaf.prefix, leaf);
        };
        let name = crate::corpus::frontmatter::normalise_name(field);
        match name.as_str() {
            "text" => self.text_leaf(!leaf.phrase && !leaf.prefix, leaf),
            "exact" => self.text_leaf(false, leaf),
            "case" => {
                let q = self.keyword_query(f.case, leaf)?;
                self.documents_with(q, leaf)
            }
            "speaker" => self.keyword_query(f.speaker, leaf),
            // Only document units have a path term: find them, then every
            // unit with their paths (as for `case:`).
            "path" => {
                let value = leaf.value.replace('\\', "/");
                let q: Box<dyn Query> = if leaf.prefix {
                    let q = RegexQuery::from_pattern(
                        &format!("{}.*", regex_syntax_escape(&value)),
                        f.dpath,
                    )
                    .map_err(|e| {
                        self.located(leaf.span, format!("bad prefix: {e}"), String::new())
                    })?;
                    Box::new(q)
                } else {
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.dpath, &value),
                        IndexRecordOption::Basic,
                    ))
                };
                self.documents_with(q, leaf)
            }
            "respondent" => match leaf.value.to_lowercase().as_str() {
                "true" | "yes" => Ok(schema::respondent_query(&f)),
                // Only respondents' words are marked.
                "false" | "no" => Ok(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(tantivy::query::AllQuery)),
                    (Occur::MustNot, schema::respondent_query(&f)),
                ]))),
                _ => Err(self.located(
                    leaf.span,
                    format!("`respondent:` takes true or false, not `{}`", leaf.value),
                    "write `respondent:true` for respondents' words".into(),
                )),
            },
            "code" => Ok(Box::new(TermQuery::new(
                self.code_term(leaf)?,
                IndexRecordOption::Basic,
            ))),
            _ if self.attributes.contains(&name) => {
                let values: Vec<String> = if leaf.prefix {
                    let p = schema::keyword(&leaf.value);
                    self.opened
                        .manifest()
                        .attribute_values(&name)
                        .into_iter()
                        .filter(|v| schema::keyword(v).starts_with(&p))
                        .collect()
                } else {
                    vec![leaf.value.trim().to_string()]
                };
                let clauses: Vec<(Occur, Box<dyn Query>)> = values
                    .iter()
                    .map(|v| {
                        let mut t = Term::from_field_json_path(f.attrs, &name, false);
                        t.append_type_and_str(&schema::keyword(v));
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>,
                        )
                    })
                    .collect();
                if clauses.is_empty() {
                    return Ok(Box::new(EmptyQuery));
                }
                self.documents_with(Box::new(BooleanQuery::new(clauses)), leaf)
            }
            _ => {
                let mut pool: Vec<&str> = BUILTIN_FIELDS
                    .iter()
                    .copied()
                    .chain(self.attributes.iter().map(String::as_str))
                    .collect();
                pool.sort_unstable();
                pool.dedup();
                let help = match suggest(&name, pool.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? fields: {}", pool.join(", ")),
                    None => format!("fields: {}", pool.join(", ")),
                };
                Err(self.located(leaf.field_span, format!("unknown field `{field}`"), help))
            }
        }
    }

    /// Index documents of the transcripts whose document unit matches `q`
    /// (a case or attribute filter; see [`paths`]).
    fn documents_with(&self, q: Box<dyn Query>, leaf: &Leaf) -> Result<Box<dyn Query>, Diagnostic> {
        let f = &self.opened.fields;
        let documents = BooleanQuery::new(vec![
            (Occur::Must, q),
            (
                Occur::Must,
                schema::kind_query(f, UnitKind::Document.as_str()),
            ),
        ]);
        let failed = |e: tantivy::TantivyError| {
            self.located(leaf.span, format!("search failed: {e}"), String::new())
        };
        let paths = matching_paths(self.opened, &documents).map_err(failed)?;
        Ok(Box::new(
            crate::index::paths::PathSetQuery::new(self.opened, &paths).map_err(failed)?,
        ))
    }

    /// The `code` or `code_src` term of a `code:` leaf.
    fn code_term(&self, leaf: &Leaf) -> Result<Term, Diagnostic> {
        let f = &self.opened.fields;
        let Some(cb) = self.codebook.filter(|c| !c.codes.is_empty()) else {
            return Err(self.located(
                leaf.field_span,
                "`code:` needs a codebook".into(),
                "list codebook files under `codebooks:` in qualdex.yaml".into(),
            ));
        };
        let resolved = cb
            .resolve(&leaf.value)
            .map_err(|d| self.located(leaf.span, d.message, d.help.unwrap_or_default()))?;
        let (with_source, term) = self.source.term(&resolved.path);
        let field = if with_source { f.code_src } else { f.code };
        Ok(Term::from_field_text(field, &term))
    }

    /// Compiles a tree to search units of `kind`.
    pub fn compile_search(&mut self, node: &Node, kind: UnitKind) -> Result<Search, Diagnostics> {
        if kind == UnitKind::Sentence {
            return Ok(Search::Sentences(self.compile_sentences(node)?));
        }
        Ok(Search::Units(self.compile(node)?, kind))
    }

    /// Compiles a tree for sentences, which are answered from their
    /// paragraphs (see [`sentences`]).
    pub fn compile_sentences(&mut self, node: &Node) -> Result<sentences::Plan, Diagnostics> {
        let mut problems = Vec::new();
        let tree = self.sentence_node(node, &mut problems);
        if !problems.is_empty() {
            return Err(Diagnostics(problems));
        }
        // The relaxed tree is a second pass over the same prefixes: the
        // bound applies to each pass alike, so it does not depend on the unit.
        self.expanded.set(0);
        let relaxed = match without_negations(node) {
            Some(n) => Some(self.compile(&n)?),
            None => None,
        };
        Ok(sentences::Plan::new(self.opened, tree, relaxed))
    }

    fn sentence_node(&mut self, node: &Node, problems: &mut Vec<Diagnostic>) -> sentences::Node {
        match node {
            Node::And(c) => {
                sentences::Node::And(c.iter().map(|n| self.sentence_node(n, problems)).collect())
            }
            Node::Or(c) => {
                sentences::Node::Or(c.iter().map(|n| self.sentence_node(n, problems)).collect())
            }
            Node::Not(n) => sentences::Node::Not(Box::new(self.sentence_node(n, problems))),
            Node::Leaf(leaf) => match self.sentence_leaf(leaf) {
                Ok(n) => n,
                Err(d) => {
                    problems.push(d);
                    sentences::Node::Nothing
                }
            },
        }
    }

    fn sentence_leaf(&mut self, leaf: &Leaf) -> Result<sentences::Node, Diagnostic> {
        let name = leaf
            .field
            .as_deref()
            .map(crate::corpus::frontmatter::normalise_name);
        match name.as_deref() {
            None | Some("text") => self.sentence_words(!leaf.phrase && !leaf.prefix, leaf),
            Some("exact") => self.sentence_words(false, leaf),
            Some("code") => Ok(sentences::Node::Code(self.code_term(leaf)?)),
            Some(_) => Ok(sentences::Node::Whole(self.leaf(leaf)?)),
        }
    }

    /// Words as slots of indexed forms, as [`Compiler::words_query`]
    /// searches them.
    fn sentence_words(
        &mut self,
        stemmed: bool,
        leaf: &Leaf,
    ) -> Result<sentences::Node, Diagnostic> {
        use sentences::Slot;
        let field = self.opened.fields.text;
        let toks = self.leaf_words(stemmed, leaf)?;
        let term = |w: &str| Term::from_field_text(field, w);
        let mut slots = Vec::with_capacity(toks.len());
        if stemmed {
            for stem in &toks {
                let forms = self.opened.word_forms(stem);
                if forms.is_empty() {
                    return Ok(sentences::Node::Nothing);
                }
                slots.push(Slot::Terms(forms.iter().map(|w| term(w)).collect()));
            }
        } else {
            slots.extend(toks.iter().map(|t| Slot::Terms(vec![term(t)])));
            if leaf.prefix {
                let last = slots.len() - 1;
                // As `words_query` searches them.
                let max = if last == 0 {
                    usize::MAX
                } else {
                    PHRASE_PREFIX_EXPANSIONS
                };
                self.expand(field, leaf, &toks[last], max)?;
                slots[last] = Slot::Prefix {
                    prefix: toks[last].clone(),
                    max,
                };
            }
        }
        Ok(sentences::Node::Words {
            slots,
            slop: if leaf.prefix { 0 } else { leaf.slop },
        })
    }
}

/// The tree with its negations dropped: every unit matching the tree
/// matches it (`None`: it matches everything).
fn without_negations(node: &Node) -> Option<Node> {
    match node {
        Node::Leaf(_) => Some(node.clone()),
        Node::Not(_) => None,
        Node::And(c) => {
            let mut kept: Vec<Node> = c.iter().filter_map(without_negations).collect();
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ => Some(Node::And(kept)),
            }
        }
        Node::Or(c) => c
            .iter()
            .map(without_negations)
            .collect::<Option<Vec<Node>>>()
            .map(Node::Or),
    }
}

fn regex_syntax_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One matching unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Document path.
    pub path: String,
    /// Unit id within the document (`p12`).
    pub id: String,
    /// Unit kind.
    pub kind: UnitKind,
    /// Start, in characters.
    pub start: usize,
    /// End, in characters.
    pub end: usize,
    /// Speaker, if any.
    pub speaker: Option<String>,
    /// Timestamp, if any.
    pub timestamp: Option<String>,
    /// Respondent's words.
    pub respondent: bool,
}

/// Matches in document order, before stored fields are read.
struct Match {
    path: std::sync::Arc<str>,
    start: u64,
    end: u64,
    addr: DocAddress,
}

struct OrderCollector<'a> {
    opened: &'a Opened,
}

struct OrderSegment {
    segment: SegmentOrdinal,
    path: Option<tantivy::columnar::StrColumn>,
    /// The segment's paths by ordinal.
    paths: std::sync::Arc<Vec<std::sync::Arc<str>>>,
    span: tantivy::columnar::Column<u64>,
    out: Vec<Match>,
}

impl Collector for OrderCollector<'_> {
    type Fruit = Vec<Match>;
    type Child = OrderSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<OrderSegment> {
        let ff = reader.fast_fields();
        Ok(OrderSegment {
            segment,
            path: ff.str(crate::index::schema::fast::PATH)?,
            paths: self.opened.segment_paths(reader)?,
            span: ff.u64(crate::index::schema::fast::SPAN)?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Match>>) -> tantivy::Result<Vec<Match>> {
        let mut all: Vec<Match> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| (&a.path, a.start, a.end).cmp(&(&b.path, b.start, b.end)));
        Ok(all)
    }
}

impl SegmentCollector for OrderSegment {
    type Fruit = Vec<Match>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let (start, end) = schema::unpack_span(self.span.first(doc).unwrap_or(0));
        self.out.push(Match {
            path: path_of(self.path.as_ref(), &self.paths, doc),
            start,
            end,
            addr: DocAddress::new(self.segment, doc),
        });
    }

    fn harvest(self) -> Vec<Match> {
        self.out
    }
}

/// The result of a search: total matches and the first `limit` hits.
#[derive(Debug, Default)]
pub struct Results {
    /// Total matching units.
    pub total: usize,
    /// Hits in document order (path, start), at most `limit`.
    pub hits: Vec<Hit>,
    /// Every matching (path) with its hit count, for `--by` counts.
    pub per_path: std::collections::BTreeMap<String, usize>,
}

/// A compiled search.
pub enum Search {
    /// Index documents of one kind.
    Units(Box<dyn Query>, UnitKind),
    /// Sentences, found in their paragraphs.
    Sentences(sentences::Plan),
}

impl Search {
    /// The number of matching units.
    pub fn count(self, opened: &Opened) -> Result<usize, Diagnostics> {
        match self {
            Search::Units(q, kind) => count(opened, q, kind),
            Search::Sentences(plan) => sentences::count(opened, &plan),
        }
    }

    /// The total, counts per document and the first `limit` hits.
    pub fn run(self, opened: &Opened, limit: Option<usize>) -> Result<Results, Diagnostics> {
        match self {
            Search::Units(q, kind) => run(opened, q, kind, limit),
            Search::Sentences(plan) => sentences::run(opened, &plan, limit),
        }
    }
}

impl Results {
    /// No hits yet: the total and the counts per document of matches in
    /// the documents given (one path per match, in order).
    fn counting<'a>(paths: impl Iterator<Item = &'a str>) -> Results {
        let mut results = Results::default();
        for p in paths {
            results.total += 1;
            if let Some(n) = results.per_path.get_mut(p) {
                *n += 1;
            } else {
                results.per_path.insert(p.to_string(), 1);
            }
        }
        results
    }
}

/// Runs a compiled query restricted to one unit kind.
pub fn run(
    opened: &Opened,
    query: Box<dyn Query>,
    kind: UnitKind,
    limit: Option<usize>,
) -> Result<Results, Diagnostics> {
    let f = &opened.fields;
    let restricted = BooleanQuery::new(vec![
        (Occur::Must, query),
        (Occur::Must, schema::kind_query(f, kind.as_str())),
    ]);
    let searcher = opened.reader.searcher();
    let matches = searcher
        .search(&restricted, &OrderCollector { opened })
        .map_err(|e| Diagnostics::from(Diagnostic::error(format!("search failed: {e}"))))?;
    let mut results = Results::counting(matches.iter().map(|m| &*m.path));
    let take = limit.unwrap_or(usize::MAX);
    for m in matches.into_iter().take(take) {
        // A document unit is `d`; paragraphs and turns are described by
        // their document's layout.
        let details = match kind {
            UnitKind::Document => crate::index::layout::Details {
                id: "d".into(),
                ..Default::default()
            },
            _ => opened.details(&m.path, m.start, kind).unwrap_or_default(),
        };
        results.hits.push(Hit {
            path: m.path.to_string(),
            id: details.id,
            kind,
            start: usize::try_from(m.start).unwrap_or(usize::MAX),
            end: usize::try_from(m.end).unwrap_or(usize::MAX),
            speaker: details.speaker,
            timestamp: details.timestamp,
            respondent: details.respondent,
        });
    }
    Ok(results)
}

/// The most words a prefix ending a phrase (`"revenue mod*"`) stands for.
const PHRASE_PREFIX_EXPANSIONS: usize = 200;

/// How many distinct words of `field` start with `prefix`, counting at most
/// `at_most` of them.
fn prefix_words(
    searcher: &tantivy::Searcher,
    field: Field,
    prefix: &str,
    at_most: usize,
) -> tantivy::Result<usize> {
    let mut seen = BTreeSet::new();
    for reader in searcher.segment_readers() {
        let inverted = reader.inverted_index(field)?;
        let mut stream = inverted
            .terms()
            .range()
            .ge(prefix.as_bytes())
            .into_stream()?;
        while seen.len() < at_most
            && stream.advance()
            && stream.key().starts_with(prefix.as_bytes())
        {
            seen.insert(stream.key().to_vec());
        }
    }
    Ok(seen.len())
}

/// Terms to highlight in hit text, from a query's positive leaves.
#[derive(Debug, Default, Clone)]
pub struct Highlighter {
    stems: BTreeSet<String>,
    exact: BTreeSet<String>,
    prefixes: Vec<String>,
    /// Phrases of two words or more, with their slop: marked only where
    /// the words stand together, as the search matched them.
    phrases: Vec<(Vec<String>, u32)>,
    language: String,
}

impl Highlighter {
    /// Collects the words of a query's non-negated text leaves.
    pub fn new(node: &Node, language: &str) -> Self {
        let mut h = Highlighter {
            language: language.to_string(),
            ..Default::default()
        };
        let mut stem = crate::analysis::stem_analyzer(language);
        let mut exact = crate::analysis::exact_analyzer();
        for leaf in parse::leaves(node) {
            let f = leaf.field.as_deref();
            if !matches!(f, None | Some("text" | "exact")) {
                continue;
            }
            let words = Compiler::tokens(&mut exact, &leaf.value);
            if leaf.prefix {
                if let Some((last, rest)) = words.split_last() {
                    h.exact.extend(rest.iter().cloned());
                    h.prefixes.push(last.clone());
                }
            } else if leaf.phrase && words.len() > 1 {
                h.phrases.push((words, leaf.slop));
            } else if leaf.phrase || f == Some("exact") {
                h.exact.extend(words);
            } else {
                h.stems.extend(Compiler::tokens(&mut stem, &leaf.value));
            }
        }
        h.prefixes.sort_unstable();
        h.prefixes.dedup();
        h
    }

    /// Byte ranges of `text` to highlight, in order and not overlapping. A
    /// phrase is one range from its first word to its last (or, with a
    /// slop, one per word), and only where its words stand in order.
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let mut stem = crate::analysis::stem_analyzer(&self.language);
        let mut exact = crate::analysis::exact_analyzer();
        let mut out = Vec::new();
        let mut words: Vec<(String, usize, usize)> = Vec::new();
        let mut s = stem.token_stream(text);
        let mut e = exact.token_stream(text);
        while s.advance() && e.advance() {
            let (st, et) = (s.token(), e.token());
            let hit = self.stems.contains(&st.text)
                || self.exact.contains(&et.text)
                || self
                    .prefixes
                    .iter()
                    .any(|p| et.text.starts_with(p.as_str()));
            if hit {
                out.push((et.offset_from, et.offset_to));
            }
            if !self.phrases.is_empty() {
                words.push((et.text.clone(), et.offset_from, et.offset_to));
            }
        }
        for (phrase, slop) in &self.phrases {
            for at in phrase_matches(&words, phrase, *slop) {
                if *slop == 0 {
                    out.push((words[at[0]].1, words[at[at.len() - 1]].2));
                } else {
                    out.extend(at.iter().map(|&i| (words[i].1, words[i].2)));
                }
            }
        }
        out.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

/// Where `phrase` stands in `words` (each match the indexes of its words):
/// its words in order, with at most `slop` other words between them in all.
fn phrase_matches(
    words: &[(String, usize, usize)],
    phrase: &[String],
    slop: u32,
) -> Vec<Vec<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = (from..words.len()).find(|&i| words[i].0 == phrase[0]) {
        let mut at = vec![start];
        let mut spare = slop as usize;
        for w in &phrase[1..] {
            let last = at[at.len() - 1];
            let end = (last + 2 + spare).min(words.len());
            match (last + 1..end).find(|&i| words[i].0 == *w) {
                Some(i) => {
                    spare -= i - last - 1;
                    at.push(i);
                }
                None => break,
            }
        }
        if at.len() == phrase.len() {
            from = at[at.len() - 1] + 1;
            found.push(at);
        } else {
            from = start + 1;
        }
    }
    found
}

/// A coded passage read back from the index.
#[derive(Debug, Clone)]
pub struct PassageHit {
    /// Document path.
    pub path: String,
    /// Speaker of the turn holding most of the passage (see
    /// [`crate::corpus::turns::majority_turn`]).
    pub speaker: Option<String>,
    /// Respondent's words.
    pub respondent: bool,
    /// The passage with its provenance.
    pub passage: crate::coding::CodedPassage,
}

/// The clauses selecting coded passages of a code (and its descendants).
fn coding_clauses(
    opened: &Opened,
    code_path: Option<&str>,
    source: &CodeSource,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        Box::new(TermQuery::new(
            Term::from_field_text(opened.fields.kind, schema::CODING_KIND),
            IndexRecordOption::Basic,
        )),
    )];
    if let Some(path) = code_path {
        clauses.push((Occur::Must, code_query(opened, path, source)));
    }
    clauses
}

/// Coded passages of a code (and its descendants), from one source, that
/// also satisfy an optional filter; in document order.
pub fn passages(
    opened: &Opened,
    code_path: Option<&str>,
    source: &CodeSource,
    filter: Option<Box<dyn Query>>,
) -> Result<Vec<PassageHit>, Diagnostics> {
    let f = &opened.fields;
    let mut clauses = coding_clauses(opened, code_path, source);
    if let Some(q) = filter {
        clauses.push((Occur::Must, q));
    }
    let searcher = opened.reader.searcher();
    let matches = searcher
        .search(&BooleanQuery::new(clauses), &OrderCollector { opened })
        .map_err(|e| Diagnostics::from(Diagnostic::error(format!("search failed: {e}"))))?;
    let mut out = Vec::with_capacity(matches.len());
    // Read stored documents in address order, so each docstore block is
    // decompressed once; the final order is restored by the sort below.
    let mut matches = matches;
    matches.sort_by_key(|m| m.addr);
    // The speaker and respondent flag, from each segment's columns.
    let mut columns: HashMap<SegmentOrdinal, (StrCache, tantivy::columnar::Column<u64>)> =
        HashMap::new();
    let unreadable =
        |e: tantivy::TantivyError| Diagnostic::error(format!("cannot read the index: {e}"));
    for m in matches {
        let doc: TantivyDocument = searcher.doc(m.addr).map_err(unreadable)?;
        let (speaker, info) = match columns.entry(m.addr.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let reader = searcher.segment_reader(m.addr.segment_ord);
                e.insert((
                    StrCache::new(reader, crate::index::schema::fast::PSPEAKER)
                        .map_err(unreadable)?,
                    reader
                        .fast_fields()
                        .u64(crate::index::schema::fast::PINFO)
                        .map_err(unreadable)?,
                ))
            }
        };
        let Some(prov) = doc.get_first(f.prov).and_then(|v| v.as_str()) else {
            continue;
        };
        let Ok(mut passage) = serde_json::from_str::<crate::coding::CodedPassage>(prov) else {
            continue;
        };
        if !source.admits(&passage.source) {
            continue;
        }
        passage.byte_start = 0;
        passage.byte_end = 0;
        out.push(PassageHit {
            path: m.path.to_string(),
            speaker: speaker.get(m.addr.doc_id),
            respondent: info.first(m.addr.doc_id).unwrap_or(0) & schema::INFO_RESPONDENT != 0,
            passage,
        });
    }
    out.sort_by(|a, b| {
        (
            &a.path,
            a.passage.start,
            a.passage.end,
            &a.passage.code,
            &a.passage.source,
        )
            .cmp(&(
                &b.path,
                b.passage.start,
                b.passage.end,
                &b.passage.code,
                &b.passage.source,
            ))
    });
    Ok(out)
}

/// A coded passage as tables need it, read from fast fields only.
#[derive(Debug, Clone)]
pub struct PassageRow {
    /// Document path.
    pub path: String,
    /// Code path.
    pub code: String,
    /// Where it came from.
    pub source: crate::coding::Source,
    /// Start (characters).
    pub start: usize,
    /// End (characters).
    pub end: usize,
    /// Speaker of the turn holding most of the passage (see
    /// [`crate::corpus::turns::majority_turn`]).
    pub speaker: Option<String>,
    /// Respondent's words.
    pub respondent: bool,
    /// Rule matches behind an auto-coding.
    pub strength: usize,
    /// Accepted by a coder.
    pub accepted: bool,
    /// The coder's memo (read from the stored provenance when there is one).
    pub memo: Option<String>,
}

/// A string fast field with its ordinals resolved once per segment.
struct StrCache {
    col: Option<tantivy::columnar::StrColumn>,
    seen: std::collections::HashMap<u64, String>,
}

impl StrCache {
    fn new(reader: &SegmentReader, name: &str) -> tantivy::Result<StrCache> {
        Ok(StrCache {
            col: reader.fast_fields().str(name)?,
            seen: std::collections::HashMap::new(),
        })
    }

    fn get(&mut self, doc: DocId) -> Option<String> {
        let col = self.col.as_ref()?;
        let ord = col.term_ords(doc).next()?;
        Some(
            self.seen
                .entry(ord)
                .or_insert_with(|| {
                    let mut buf = String::new();
                    let _ = col.ord_to_str(ord, &mut buf);
                    buf
                })
                .clone(),
        )
    }
}

/// The distinct paths of the documents with a match of `query`, in order.
///
/// After a match the search jumps past the rest of the run of index
/// documents with the same path (a transcript's documents mostly sit
/// together in a segment; see [`Opened::path_runs`]), so a common word
/// costs a few steps per transcript, not one per paragraph.
fn matching_paths(opened: &Opened, query: &dyn Query) -> tantivy::Result<Vec<std::sync::Arc<str>>> {
    use tantivy::query::EnableScoring;
    use tantivy::{DocSet, TERMINATED};
    let searcher = opened.reader.searcher();
    let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
    let mut out = Vec::new();
    for reader in searcher.segment_readers() {
        let runs = opened.path_runs(reader)?;
        let paths = opened.segment_paths(reader)?;
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if !alive.is_none_or(|a| a.is_alive(doc)) {
                doc = scorer.advance();
                continue;
            }
            // The run holding `doc`: the last one starting at or before it.
            let i = runs.partition_point(|r| r.0 <= doc).saturating_sub(1);
            let Some(&(_, end, ord)) = runs.get(i).filter(|r| r.0 <= doc && doc < r.1) else {
                doc = scorer.advance();
                continue;
            };
            if let Some(p) = paths.get(ord as usize) {
                out.push(p.clone());
            }
            doc = scorer.seek(end);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A document's path, from its `path` ordinal and the segment's path table.
pub(crate) fn path_of(
    col: Option<&tantivy::columnar::StrColumn>,
    paths: &[std::sync::Arc<str>],
    doc: DocId,
) -> std::sync::Arc<str> {
    col.and_then(|c| c.term_ords(doc).next())
        .and_then(|ord| paths.get(usize::try_from(ord).ok()?))
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::from(""))
}

struct RowCollector<'a> {
    opened: &'a Opened,
}

struct RowSegment {
    segment: SegmentOrdinal,
    path: Option<tantivy::columnar::StrColumn>,
    paths: std::sync::Arc<Vec<std::sync::Arc<str>>>,
    code: StrCache,
    src: StrCache,
    speaker: StrCache,
    span: tantivy::columnar::Column<u64>,
    info: tantivy::columnar::Column<u64>,
    out: Vec<(PassageRow, u64, DocAddress)>,
}

impl Collector for RowCollector<'_> {
    type Fruit = Vec<(PassageRow, u64, DocAddress)>;
    type Child = RowSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<RowSegment> {
        let ff = reader.fast_fields();
        Ok(RowSegment {
            segment,
            path: ff.str(crate::index::schema::fast::PATH)?,
            paths: self.opened.segment_paths(reader)?,
            code: StrCache::new(reader, crate::index::schema::fast::PCODE)?,
            src: StrCache::new(reader, crate::index::schema::fast::PSRC)?,
            speaker: StrCache::new(reader, crate::index::schema::fast::PSPEAKER)?,
            span: ff.u64(crate::index::schema::fast::SPAN)?,
            info: ff.u64(crate::index::schema::fast::PINFO)?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(PassageRow, u64, DocAddress)>>,
    ) -> tantivy::Result<Vec<(PassageRow, u64, DocAddress)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for RowSegment {
    type Fruit = Vec<(PassageRow, u64, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let info = self.info.first(doc).unwrap_or(0);
        let (start, end) = schema::unpack_span(self.span.first(doc).unwrap_or(0));
        let source = schema::source_of_label(self.src.get(doc).as_deref());
        let row = PassageRow {
            path: path_of(self.path.as_ref(), &self.paths, doc).to_string(),
            code: self.code.get(doc).unwrap_or_default(),
            source,
            start: usize::try_from(start).unwrap_or(usize::MAX),
            end: usize::try_from(end).unwrap_or(usize::MAX),
            speaker: self.speaker.get(doc),
            respondent: info & schema::INFO_RESPONDENT != 0,
            strength: usize::try_from(info >> 8).unwrap_or(usize::MAX),
            accepted: info & schema::INFO_ACCEPTED != 0,
            memo: None,
        };
        self.out
            .push((row, info, DocAddress::new(self.segment, doc)));
    }

    fn harvest(self) -> Self::Fruit {
        self.out
    }
}

/// Coded passages of a code (and its descendants) from one source, in
/// document order, read from fast fields: what tables need, without the
/// provenance [`passages`] parses.
pub fn passage_rows(
    opened: &Opened,
    code_path: Option<&str>,
    source: &CodeSource,
) -> Result<Vec<PassageRow>, Diagnostics> {
    let f = &opened.fields;
    let clauses = coding_clauses(opened, code_path, source);
    let searcher = opened.reader.searcher();
    let failed = |e: tantivy::TantivyError| {
        Diagnostics::from(Diagnostic::error(format!("search failed: {e}")))
    };
    let found = searcher
        .search(&BooleanQuery::new(clauses), &RowCollector { opened })
        .map_err(failed)?;
    let mut out = Vec::with_capacity(found.len());
    for (mut row, info, addr) in found {
        if !source.admits(&row.source) {
            continue;
        }
        if info & schema::INFO_MEMO != 0 {
            let doc: TantivyDocument = searcher.doc(addr).map_err(failed)?;
            row.memo = doc
                .get_first(f.prov)
                .and_then(|v| v.as_str())
                .and_then(|p| serde_json::from_str::<crate::coding::CodedPassage>(p).ok())
                .and_then(|p| p.memo);
        }
        out.push(row);
    }
    out.sort_by(|a, b| {
        (&a.path, a.start, a.end, &a.code, &a.source)
            .cmp(&(&b.path, b.start, b.end, &b.code, &b.source))
    });
    Ok(out)
}

/// The units of one kind matching a compiled query, as (path, start, end),
/// in document order; reads only fast fields. Sentences are answered from
/// their paragraphs when the query is a code's ([`code_query`]).
pub fn unit_set(
    opened: &Opened,
    query: Box<dyn Query>,
    kind: &str,
) -> Result<Vec<(std::sync::Arc<str>, u64, u64)>, Diagnostics> {
    let f = &opened.fields;
    let q = BooleanQuery::new(vec![
        (Occur::Must, query),
        (Occur::Must, schema::kind_query(f, kind)),
    ]);
    unit_spans(opened, &q)
}

/// The documents matching a query, as (path, start, end), in document order.
pub(crate) fn unit_spans(
    opened: &Opened,
    q: &dyn Query,
) -> Result<Vec<(std::sync::Arc<str>, u64, u64)>, Diagnostics> {
    let searcher = opened.reader.searcher();
    let matches = searcher
        .search(q, &OrderCollector { opened })
        .map_err(|e| Diagnostics::from(Diagnostic::error(format!("search failed: {e}"))))?;
    Ok(matches
        .into_iter()
        .map(|m| (m.path, m.start, m.end))
        .collect())
}

/// The units of one kind overlapping a passage of a code under a source,
/// as (path, start, end), in document order.
pub fn code_units(
    opened: &Opened,
    path: &str,
    source: &CodeSource,
    kind: UnitKind,
) -> Result<Vec<(std::sync::Arc<str>, u64, u64)>, Diagnostics> {
    if kind == UnitKind::Sentence {
        let plan = sentences::Plan::code(opened, code_term(opened, path, source));
        return sentences::spans(opened, &plan);
    }
    unit_set(opened, code_query(opened, path, source), kind.as_str())
}

fn code_term(opened: &Opened, path: &str, source: &CodeSource) -> Term {
    let (with_source, term) = source.term(path);
    let field = if with_source {
        opened.fields.code_src
    } else {
        opened.fields.code
    };
    Term::from_field_text(field, &term)
}

/// A term query on a code under a source.
pub fn code_query(opened: &Opened, path: &str, source: &CodeSource) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        code_term(opened, path, source),
        IndexRecordOption::Basic,
    ))
}

/// The number of units of one kind matching a compiled query (no matches
/// are collected or sorted).
pub fn count(opened: &Opened, query: Box<dyn Query>, kind: UnitKind) -> Result<usize, Diagnostics> {
    let f = &opened.fields;
    let q = BooleanQuery::new(vec![
        (Occur::Must, query),
        (Occur::Must, schema::kind_query(f, kind.as_str())),
    ]);
    opened
        .reader
        .searcher()
        .search(&q, &tantivy::collector::Count)
        .map_err(|e| Diagnostics::from(Diagnostic::error(format!("search failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-document study with its index, in a temporary folder.
    fn opened() -> (tempfile::TempDir, Opened) {
        let dir = tempfile::tempdir().unwrap();
        crate::study::init(dir.path(), "T").unwrap();
        std::fs::write(
            dir.path().join("corpus/a.txt"),
            "Interviewer: hi\nAnna: risk is high.\n",
        )
        .unwrap();
        let cwd = std::env::current_dir().unwrap();
        let study = crate::study::Study::locate(Some(dir.path()), &cwd).unwrap();
        let opts = crate::refresh::IndexOptions {
            quiet: true,
            ..Default::default()
        };
        crate::refresh::update(&study, &opts, &crate::refresh::Silent).unwrap();
        let opened = crate::index::open(&study).unwrap().unwrap();
        (dir, opened)
    }

    fn marked(query: &str, text: &str) -> Vec<String> {
        let node = crate::querylang::parse(query).unwrap();
        Highlighter::new(&node, "english")
            .ranges(text)
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect()
    }

    #[test]
    fn a_phrase_is_marked_only_where_its_words_stand_together() {
        let text = "Oh, my. Mother was kind. I look like my Father, and my father's box.";
        // Not the lone "my" before "Mother", which is where a search hit
        // for the phrase used to be centred.
        assert_eq!(marked("\"my father\"", text), ["my Father", "my father"]);
        // A slop marks each word of a match; words between stay unmarked.
        assert_eq!(
            marked("\"look father\"~2", text),
            ["look", "Father"],
            "`like my` are the two words between"
        );
        assert!(marked("\"look father\"~1", text).is_empty());
        // Single words as before; a word inside a marked phrase is one range.
        assert_eq!(
            marked("\"my father\" OR box OR father", text),
            ["my Father", "my father", "box"]
        );
        assert_eq!(marked("mother", text), ["Mother"]);
    }

    #[test]
    fn a_long_query_of_bad_terms_quotes_itself_only_under_the_shown_problems() {
        let (_dir, opened) = opened();
        let n = crate::querylang::MAX_TERMS;
        let q = ": ".repeat(n);
        let node = parse::parse(&q).unwrap();
        for unit in [UnitKind::Paragraph, UnitKind::Sentence] {
            let Err(e) = Compiler::new(&opened, &q).compile_search(&node, unit) else {
                panic!("bad terms compile");
            };
            assert_eq!(e.0.len(), n);
            let quoted = e.0.iter().filter(|d| d.source_line.is_some()).count();
            assert_eq!(quoted, crate::diag::MAX_SHOWN);
            assert_eq!(e.0[n - 1].column, Some(2 * n - 1));
        }
    }
}

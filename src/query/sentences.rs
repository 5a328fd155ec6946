//! Sentence searches, answered from paragraphs.
//!
//! Sentences are not documents of the index (indexing their words a second
//! time cost as much as indexing everything else). A paragraph records, in
//! fast fields, each sentence's span and the position of its first word
//! (`sents2`, `sents`, `swide`); sentence numbers are counted from the
//! document's layout when hits are shown. A sentence search first finds the paragraphs
//! that can hold a match: the query with its negations dropped, which every
//! paragraph with a matching sentence matches. In each such paragraph it
//! then works out which sentences match every leaf (words from their
//! positions, filters of the whole paragraph for all its sentences, codes
//! from the coded passages' spans) and combines them with AND, OR and NOT
//! sentence by sentence.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use tantivy::columnar::Column;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Scorer, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, SegmentReader, TERMINATED, Term};

use crate::diag::{Diagnostic, Diagnostics};
use crate::index::{Opened, schema};
use crate::study::UnitKind;

use super::{Hit, Results};

/// A query tree for sentences.
pub enum Node {
    /// Every child matches the sentence.
    And(Vec<Node>),
    /// Some child matches the sentence.
    Or(Vec<Node>),
    /// The child does not match the sentence.
    Not(Box<Node>),
    /// Words in the sentence: one slot per word, in order, each any of
    /// several indexed forms; `slop` moves allowed in all.
    Words {
        /// The words, in order.
        slots: Vec<Slot>,
        /// Total distance the words may be moved to form the phrase.
        slop: u32,
    },
    /// A filter on the whole paragraph (case, speaker, attributes, path,
    /// respondent): every sentence of a matching paragraph matches.
    Whole(Box<dyn Query>),
    /// Sentences overlapping a coded passage carrying this `code` or
    /// `code_src` term.
    Code(Term),
    /// Matches nothing (a word with no indexed form).
    Nothing,
}

/// One word of [`Node::Words`].
pub enum Slot {
    /// Any of these indexed words.
    Terms(Vec<Term>),
    /// Any indexed word that starts with this text; at most `max` of them,
    /// in dictionary order.
    Prefix {
        /// The lowercased beginning.
        prefix: String,
        /// How many words it may stand for.
        max: usize,
    },
}

/// A compiled sentence search.
pub struct Plan {
    /// Paragraphs that can hold a matching sentence.
    driver: Box<dyn Query>,
    tree: Node,
}

impl Plan {
    /// A plan for `tree`; `relaxed` is the paragraph-level query of the
    /// tree without its negations (`None`: every paragraph).
    pub fn new(opened: &Opened, tree: Node, relaxed: Option<Box<dyn Query>>) -> Plan {
        let paragraphs = schema::kind_query(&opened.fields, UnitKind::Paragraph.as_str());
        let driver = match relaxed {
            Some(q) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, q),
                (Occur::Must, paragraphs),
            ])),
            None => paragraphs,
        };
        Plan { driver, tree }
    }

    /// A plan for the sentences overlapping passages of one code, under
    /// the `code` or `code_src` term given.
    pub fn code(opened: &Opened, term: Term) -> Plan {
        let relaxed: Box<dyn Query> =
            Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic));
        Plan::new(opened, Node::Code(term), Some(relaxed))
    }
}

/// A matching sentence.
pub struct Sentence {
    /// Its document.
    pub path: Arc<str>,
    /// Start, in characters.
    pub start: u64,
    /// End, in characters.
    pub end: u64,
    /// Its paragraph's start, in characters.
    pub paragraph_start: u64,
    /// Its place among its paragraph's sentences (from 0): the document's
    /// layout gives its number (`s12`).
    pub index: u64,
}

fn failed(e: &impl std::fmt::Display) -> Diagnostics {
    Diagnostics::from(Diagnostic::error(format!("search failed: {e}")))
}

/// A node prepared for one segment.
enum Prepared {
    And(Vec<Prepared>),
    Or(Vec<Prepared>),
    Not(Box<Prepared>),
    Words { slots: Vec<SlotPostings>, slop: u32 },
    Whole(Box<dyn Scorer>),
    Code(Arc<FxHashMap<Arc<str>, Stabs>>),
    Nothing,
}

/// What a paragraph's evaluation needs to know about it.
struct Paragraph<'a> {
    doc: DocId,
    /// Each sentence's first word position.
    stok: &'a [u32],
    /// Each sentence's (start, end), in characters, and the document's
    /// path: read only when the tree has a `code:` leaf.
    spans: &'a [(u64, u64)],
    path: Option<Arc<str>>,
}

/// A set of a paragraph's sentences.
#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn none(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn all(n: usize) -> Bits {
        let mut b = Bits(vec![u64::MAX; n.div_ceil(64)]);
        b.trim(n);
        b
    }

    fn trim(&mut self, n: usize) {
        if !n.is_multiple_of(64)
            && let Some(last) = self.0.last_mut()
        {
            *last &= (1u64 << (n % 64)) - 1;
        }
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + b)
            })
        })
    }
}

/// A document's coded passages, to ask whether any overlaps a span.
struct Stabs {
    /// Starts, ascending.
    starts: Vec<u64>,
    /// The greatest end among the passages up to each start.
    max_end: Vec<u64>,
}

impl Stabs {
    fn new(mut spans: Vec<(u64, u64)>) -> Stabs {
        spans.sort_unstable();
        let starts = spans.iter().map(|s| s.0).collect();
        let max_end = spans
            .iter()
            .scan(0, |m, s| {
                *m = s.1.max(*m);
                Some(*m)
            })
            .collect();
        Stabs { starts, max_end }
    }

    /// True when a passage overlaps `s..e`: it starts before `e` and ends
    /// after `s` (as when a span's codes are indexed).
    fn overlaps(&self, s: u64, e: u64) -> bool {
        let before = self.starts.partition_point(|&p| p < e);
        before > 0 && self.max_end[before - 1] > s
    }
}

/// The coded passages carrying `term`, by document, in characters.
fn passages_by_path(
    opened: &Opened,
    term: &Term,
) -> Result<FxHashMap<Arc<str>, Stabs>, Diagnostics> {
    let q = BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)) as Box<dyn Query>,
        ),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(opened.fields.kind, schema::CODING_KIND),
                IndexRecordOption::Basic,
            )),
        ),
    ]);
    let searcher = opened.reader.searcher();
    let weight = q
        .weight(EnableScoring::disabled_from_searcher(&searcher))
        .map_err(|e| failed(&e))?;
    let mut by_path: FxHashMap<Arc<str>, Vec<(u64, u64)>> = FxHashMap::default();
    for reader in searcher.segment_readers() {
        let mut scorer = weight.scorer(reader, 1.0).map_err(|e| failed(&e))?;
        if scorer.doc() == TERMINATED {
            continue;
        }
        let ff = reader.fast_fields();
        let span = ff
            .u64(crate::index::schema::fast::SPAN)
            .map_err(|e| failed(&e))?;
        let Some(path) = ff
            .str(crate::index::schema::fast::PATH)
            .map_err(|e| failed(&e))?
        else {
            continue;
        };
        let paths = opened.segment_paths(reader).map_err(|e| failed(&e))?;
        // Grouped by path ordinal first: one hash lookup per document.
        let mut by_ord: Vec<Vec<(u64, u64)>> = vec![Vec::new(); paths.len()];
        let alive = reader.alive_bitset();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc))
                && let Some(o) = path.term_ords(doc).next()
                && let Some(v) = by_ord.get_mut(usize::try_from(o).unwrap_or(usize::MAX))
            {
                v.push(schema::unpack_span(span.first(doc).unwrap_or(0)));
            }
            doc = scorer.advance();
        }
        for (o, v) in by_ord.into_iter().enumerate() {
            if !v.is_empty() {
                by_path.entry(paths[o].clone()).or_default().extend(v);
            }
        }
    }
    Ok(by_path
        .into_iter()
        .map(|(p, v)| (p, Stabs::new(v)))
        .collect())
}

/// Prepares the tree for a segment.
struct Preparer<'a> {
    opened: &'a Opened,
    searcher: &'a tantivy::Searcher,
    /// Passages of each code term, looked up once per search.
    codes: HashMap<Term, Arc<FxHashMap<Arc<str>, Stabs>>>,
}

impl Preparer<'_> {
    fn prepare(&mut self, node: &Node, reader: &SegmentReader) -> Result<Prepared, Diagnostics> {
        Ok(match node {
            Node::And(c) => Prepared::And(
                c.iter()
                    .map(|n| self.prepare(n, reader))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Or(c) => Prepared::Or(
                c.iter()
                    .map(|n| self.prepare(n, reader))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Not(n) => Prepared::Not(Box::new(self.prepare(n, reader)?)),
            leaf => self.leaf(leaf, reader)?,
        })
    }

    /// A leaf of the tree, prepared (apart from the recursive
    /// [`Preparer::prepare`], whose frame then stays small for deep trees).
    fn leaf(&mut self, node: &Node, reader: &SegmentReader) -> Result<Prepared, Diagnostics> {
        Ok(match node {
            Node::And(_) | Node::Or(_) | Node::Not(_) | Node::Nothing => Prepared::Nothing,
            Node::Whole(q) => {
                let w = q
                    .weight(EnableScoring::disabled_from_searcher(self.searcher))
                    .map_err(|e| failed(&e))?;
                Prepared::Whole(w.scorer(reader, 1.0).map_err(|e| failed(&e))?)
            }
            Node::Code(term) => {
                if !self.codes.contains_key(term) {
                    let by_path = passages_by_path(self.opened, term)?;
                    self.codes.insert(term.clone(), Arc::new(by_path));
                }
                Prepared::Code(self.codes[term].clone())
            }
            Node::Words { slots, slop } => self.words(slots, *slop, reader)?,
        })
    }

    /// A word or phrase's postings in a segment.
    fn words(
        &self,
        slots: &[Slot],
        slop: u32,
        reader: &SegmentReader,
    ) -> Result<Prepared, Diagnostics> {
        let inverted = reader
            .inverted_index(self.opened.fields.text)
            .map_err(|e| failed(&e))?;
        let mut prepared = Vec::with_capacity(slots.len());
        for slot in slots {
            let mut postings = Vec::new();
            match slot {
                Slot::Terms(terms) => {
                    for t in terms {
                        if let Some(p) = inverted
                            .read_postings(t, IndexRecordOption::WithFreqsAndPositions)
                            .map_err(|e| failed(&e))?
                        {
                            postings.push(p);
                        }
                    }
                }
                Slot::Prefix { prefix, max } => {
                    let mut stream = inverted
                        .terms()
                        .range()
                        .ge(prefix.as_bytes())
                        .into_stream()
                        .map_err(|e| failed(&e))?;
                    while postings.len() < *max
                        && stream.advance()
                        && stream.key().starts_with(prefix.as_bytes())
                    {
                        postings.push(
                            inverted
                                .read_postings_from_terminfo(
                                    stream.value(),
                                    IndexRecordOption::WithFreqsAndPositions,
                                )
                                .map_err(|e| failed(&e))?,
                        );
                    }
                }
            }
            if postings.is_empty() {
                return Ok(Prepared::Nothing);
            }
            prepared.push(SlotPostings::new(postings));
        }
        Ok(Prepared::Words {
            slots: prepared,
            slop,
        })
    }
}

/// The postings of one word's forms in a segment.
struct SlotPostings {
    lists: Vec<SegmentPostings>,
    /// With many forms (a prefix), the lists by current document, so a
    /// paragraph costs the lists that reach it, not every list.
    heap: Option<BinaryHeap<Reverse<(DocId, usize)>>>,
}

impl SlotPostings {
    /// Above this many lists they are kept in a heap.
    const HEAP: usize = 8;

    fn new(lists: Vec<SegmentPostings>) -> SlotPostings {
        let heap = (lists.len() > Self::HEAP).then(|| {
            lists
                .iter()
                .enumerate()
                .map(|(i, p)| Reverse((p.doc(), i)))
                .collect()
        });
        SlotPostings { lists, heap }
    }

    /// The positions in `doc` of any of the lists, sorted and distinct.
    fn positions(&mut self, doc: DocId, out: &mut Vec<u32>, buf: &mut Vec<u32>) {
        out.clear();
        if let Some(heap) = &mut self.heap {
            let mut found = 0;
            while let Some(&Reverse((d, i))) = heap.peek() {
                if d > doc {
                    break;
                }
                heap.pop();
                let p = &mut self.lists[i];
                if d < doc {
                    p.seek(doc);
                }
                if p.doc() == doc {
                    p.positions(buf);
                    out.extend_from_slice(buf);
                    found += 1;
                    // Seen: move on, so it is not taken again for `doc`.
                    p.advance();
                }
                if p.doc() != TERMINATED {
                    heap.push(Reverse((p.doc(), i)));
                }
            }
            if found > 1 {
                out.sort_unstable();
                out.dedup();
            }
            return;
        }
        for p in &mut self.lists {
            if p.doc() < doc {
                p.seek(doc);
            }
            if p.doc() == doc {
                p.positions(buf);
                out.extend_from_slice(buf);
            }
        }
        if self.lists.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }
}

/// True when the words at `slots` (each slot's positions, sorted) form the
/// phrase with at most `slop` moves: positions `q_i` of slot `i` with the
/// sum of |(q_i - i) - (q_{i-1} - (i - 1))| at most `slop`.
fn phrase_within(slots: &[&[u32]], slop: u32) -> bool {
    // cost[j]: the least moves for the phrase so far ending at the j-th
    // position of the current slot.
    let first = slots[0];
    let mut prev: Vec<(i64, u64)> = first.iter().map(|&p| (i64::from(p), 0)).collect();
    for (i, slot) in slots.iter().enumerate().skip(1) {
        let mut next: Vec<(i64, u64)> = slot
            .iter()
            .map(|&p| (i64::from(p) - i as i64, u64::MAX))
            .collect();
        // From the left: min over q' <= q of cost' - q', plus q.
        let mut j = 0;
        let mut best = i64::MAX;
        for n in &mut next {
            while j < prev.len() && prev[j].0 <= n.0 {
                if prev[j].1 != u64::MAX {
                    best = best.min(prev[j].1 as i64 - prev[j].0);
                }
                j += 1;
            }
            if best != i64::MAX {
                n.1 = n.1.min((best + n.0) as u64);
            }
        }
        // From the right: min over q' >= q of cost' + q', minus q.
        let mut j = prev.len();
        let mut best = i64::MAX;
        for n in next.iter_mut().rev() {
            while j > 0 && prev[j - 1].0 >= n.0 {
                j -= 1;
                if prev[j].1 != u64::MAX {
                    best = best.min(prev[j].1 as i64 + prev[j].0);
                }
            }
            if best != i64::MAX {
                n.1 = n.1.min((best - n.0) as u64);
            }
        }
        next.retain(|n| n.1 <= u64::from(slop));
        if next.is_empty() {
            return false;
        }
        prev = next;
    }
    !prev.is_empty()
}

/// Scratch space reused from paragraph to paragraph.
#[derive(Default)]
struct Scratch {
    positions: Vec<Vec<u32>>,
    buf: Vec<u32>,
}

fn sentence_of(stok: &[u32], pos: u32) -> Option<usize> {
    stok.partition_point(|&s| s <= pos).checked_sub(1)
}

fn eval(node: &mut Prepared, para: &Paragraph, scratch: &mut Scratch) -> Bits {
    let n = para.stok.len();
    match node {
        Prepared::And(children) => {
            let mut acc = Bits::all(n);
            for c in children {
                if acc.is_empty() {
                    break;
                }
                let b = eval(c, para, scratch);
                acc.0.iter_mut().zip(&b.0).for_each(|(a, b)| *a &= b);
            }
            acc
        }
        Prepared::Or(children) => {
            let mut acc = Bits::none(n);
            for c in children {
                let b = eval(c, para, scratch);
                acc.0.iter_mut().zip(&b.0).for_each(|(a, b)| *a |= b);
            }
            acc
        }
        Prepared::Not(c) => {
            let mut b = eval(c, para, scratch);
            b.0.iter_mut().for_each(|w| *w = !*w);
            b.trim(n);
            b
        }
        leaf => eval_leaf(leaf, para, scratch),
    }
}

/// A leaf's sentences in a paragraph (apart from the recursive [`eval`],
/// whose frame then stays small for deep trees).
fn eval_leaf(node: &mut Prepared, para: &Paragraph, scratch: &mut Scratch) -> Bits {
    let n = para.stok.len();
    match node {
        Prepared::And(_) | Prepared::Or(_) | Prepared::Not(_) | Prepared::Nothing => Bits::none(n),
        Prepared::Whole(scorer) => {
            if scorer.doc() < para.doc {
                scorer.seek(para.doc);
            }
            if scorer.doc() == para.doc {
                Bits::all(n)
            } else {
                Bits::none(n)
            }
        }
        Prepared::Code(by_path) => {
            let mut b = Bits::none(n);
            if let Some(o) = para.path.as_ref().and_then(|p| by_path.get(p)) {
                for (k, &(s, e)) in para.spans.iter().enumerate() {
                    if o.overlaps(s, e) {
                        b.set(k);
                    }
                }
            }
            b
        }
        Prepared::Words { slots, slop } => {
            let mut b = Bits::none(n);
            if scratch.positions.len() < slots.len() {
                scratch.positions.resize_with(slots.len(), Vec::new);
            }
            for (i, postings) in slots.iter_mut().enumerate() {
                let (out, buf) = (&mut scratch.positions[i], &mut scratch.buf);
                postings.positions(para.doc, out, buf);
                if out.is_empty() {
                    return b;
                }
            }
            if slots.len() == 1 {
                for &p in &scratch.positions[0] {
                    if let Some(k) = sentence_of(para.stok, p) {
                        b.set(k);
                    }
                }
                return b;
            }
            // A phrase: look for it sentence by sentence, in the sentences
            // where its first word occurs.
            let first = &scratch.positions[0];
            let mut k = sentence_of(para.stok, first[0]).unwrap_or(0);
            while k < n {
                let lo = para.stok[k];
                let hi = para.stok.get(k + 1).copied().unwrap_or(u32::MAX);
                let within: Vec<&[u32]> = scratch.positions[..slots.len()]
                    .iter()
                    .map(|ps| {
                        let a = ps.partition_point(|&p| p < lo);
                        let z = ps.partition_point(|&p| p < hi);
                        &ps[a..z]
                    })
                    .collect();
                if within.iter().all(|w| !w.is_empty()) && phrase_within(&within, *slop) {
                    b.set(k);
                }
                // Skip to the next sentence with the first word.
                let next = first.partition_point(|&p| p < hi);
                k = match first.get(next) {
                    Some(&p) => sentence_of(para.stok, p).map_or(n, |s| s.max(k + 1)),
                    None => n,
                };
            }
            b
        }
    }
}

impl Node {
    fn has_code(&self) -> bool {
        match self {
            Node::And(c) | Node::Or(c) => c.iter().any(Node::has_code),
            Node::Not(n) => n.has_code(),
            Node::Code(_) => true,
            _ => false,
        }
    }
}

/// A paragraph's matching sentences, as [`for_each_paragraph`] reports them.
struct Matched<'a> {
    doc: DocId,
    bits: &'a Bits,
    /// Reads what the caller needs beyond the count.
    columns: &'a Columns,
}

/// A segment's sentence columns.
struct Columns {
    sents2: Column<u64>,
    sents: Column<u64>,
    swide: Column<u64>,
    span: Column<u64>,
    path: Option<tantivy::columnar::StrColumn>,
    paths: Arc<Vec<Arc<str>>>,
}

impl Columns {
    fn open(opened: &Opened, reader: &SegmentReader) -> Result<Columns, Diagnostics> {
        let ff = reader.fast_fields();
        let column = |name: &str| -> Result<Column<u64>, Diagnostics> {
            ff.u64(name).map_err(|e| failed(&e))
        };
        Ok(Columns {
            sents2: column(crate::index::schema::fast::SENTS2)?,
            sents: column(crate::index::schema::fast::SENTS)?,
            swide: column(crate::index::schema::fast::SWIDE)?,
            span: column(crate::index::schema::fast::SPAN)?,
            path: ff
                .str(crate::index::schema::fast::PATH)
                .map_err(|e| failed(&e))?,
            paths: opened.segment_paths(reader).map_err(|e| failed(&e))?,
        })
    }

    fn path(&self, doc: DocId) -> Arc<str> {
        super::path_of(self.path.as_ref(), &self.paths, doc)
    }

    /// A paragraph's sentences: each one's first word position, and with
    /// `spans` its (start, end) in characters.
    fn read(&self, doc: DocId, words: &mut Vec<u32>, mut spans: Option<&mut Vec<(u64, u64)>>) {
        words.clear();
        if let Some(spans) = spans.as_deref_mut() {
            spans.clear();
        }
        // Packed starts are relative to the paragraph's.
        let base = if spans.is_some() {
            schema::unpack_span(self.span.first(doc).unwrap_or(0)).0
        } else {
            0
        };
        let mut push = |(w, s, l): (u32, u64, u64), base: u64| {
            words.push(w);
            if let Some(spans) = spans.as_deref_mut() {
                spans.push((base + s, base + s + l));
            }
        };
        let mut pairs = self.sents2.values_for_doc(doc).peekable();
        if pairs.peek().is_some() {
            for v in pairs {
                let halves = [(v >> 32) as u32, v as u32];
                for half in halves.into_iter().filter_map(schema::unpack_half) {
                    push(half, base);
                }
            }
            return;
        }
        let mut packed = self.sents.values_for_doc(doc).peekable();
        if packed.peek().is_some() {
            for v in packed {
                push(schema::unpack_sentence(v), base);
            }
            return;
        }
        let wide: Vec<u64> = self.swide.values_for_doc(doc).collect();
        for t in wide.chunks_exact(3) {
            let word = u32::try_from(t[2]).unwrap_or(u32::MAX);
            push((word, t[0], t[1].saturating_sub(t[0])), 0);
        }
    }
}

impl Matched<'_> {
    /// Every matching sentence.
    fn sentences(&self, words: &mut Vec<u32>, spans: &mut Vec<(u64, u64)>) -> Vec<Sentence> {
        self.columns.read(self.doc, words, Some(spans));
        let path = self.columns.path(self.doc);
        let paragraph_start = schema::unpack_span(self.columns.span.first(self.doc).unwrap_or(0)).0;
        self.bits
            .ones()
            .map(|k| {
                let (start, end) = spans.get(k).copied().unwrap_or_default();
                Sentence {
                    path: path.clone(),
                    start,
                    end,
                    paragraph_start,
                    index: k as u64,
                }
            })
            .collect()
    }
}

/// Calls `each` with every paragraph that has a matching sentence.
fn for_each_paragraph(
    opened: &Opened,
    plan: &Plan,
    mut each: impl FnMut(Matched),
) -> Result<(), Diagnostics> {
    let searcher = opened.reader.searcher();
    let weight = plan
        .driver
        .weight(EnableScoring::disabled_from_searcher(&searcher))
        .map_err(|e| failed(&e))?;
    let mut preparer = Preparer {
        opened,
        searcher: &searcher,
        codes: HashMap::new(),
    };
    let with_code = plan.tree.has_code();
    let mut scratch = Scratch::default();
    let (mut stok_buf, mut spans_buf) = (Vec::new(), Vec::new());
    for reader in searcher.segment_readers() {
        let mut driver = weight.scorer(reader, 1.0).map_err(|e| failed(&e))?;
        if driver.doc() == TERMINATED {
            continue;
        }
        let mut tree = preparer.prepare(&plan.tree, reader)?;
        let columns = Columns::open(opened, reader)?;
        let alive = reader.alive_bitset();
        let mut doc = driver.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                columns.read(doc, &mut stok_buf, with_code.then_some(&mut spans_buf));
                if !stok_buf.is_empty() {
                    let path = with_code.then(|| columns.path(doc));
                    let para = Paragraph {
                        doc,
                        stok: &stok_buf,
                        spans: &spans_buf,
                        path,
                    };
                    let bits = eval(&mut tree, &para, &mut scratch);
                    if !bits.is_empty() {
                        each(Matched {
                            doc,
                            bits: &bits,
                            columns: &columns,
                        });
                    }
                }
            }
            doc = driver.advance();
        }
    }
    Ok(())
}

/// The number of matching sentences.
pub fn count(opened: &Opened, plan: &Plan) -> Result<usize, Diagnostics> {
    let mut n = 0;
    for_each_paragraph(opened, plan, |m| {
        n += m
            .bits
            .0
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>();
    })?;
    Ok(n)
}

/// Every matching sentence, in document order.
fn all_sentences(opened: &Opened, plan: &Plan) -> Result<Vec<Sentence>, Diagnostics> {
    let mut all = Vec::new();
    let (mut words, mut spans) = (Vec::new(), Vec::new());
    for_each_paragraph(opened, plan, |m| {
        all.extend(m.sentences(&mut words, &mut spans))
    })?;
    all.sort_by(|a, b| (&a.path, a.start, a.end).cmp(&(&b.path, b.start, b.end)));
    Ok(all)
}

/// Matching sentences as (path, start, end), in document order.
pub fn spans(opened: &Opened, plan: &Plan) -> Result<Vec<(Arc<str>, u64, u64)>, Diagnostics> {
    Ok(all_sentences(opened, plan)?
        .into_iter()
        .map(|s| (s.path, s.start, s.end))
        .collect())
}

/// Runs a sentence search: the total, counts per document and the first
/// `limit` hits in document order.
pub fn run(opened: &Opened, plan: &Plan, limit: Option<usize>) -> Result<Results, Diagnostics> {
    let all = all_sentences(opened, plan)?;
    let mut results = Results::counting(all.iter().map(|s| &*s.path));
    for s in all.into_iter().take(limit.unwrap_or(usize::MAX)) {
        // A sentence is shown with its paragraph's speaker and timestamp.
        let details = opened
            .details(&s.path, s.paragraph_start, UnitKind::Paragraph)
            .unwrap_or_default();
        let number = opened.sentence_number(&s.path, s.paragraph_start, s.index);
        results.hits.push(Hit {
            path: s.path.to_string(),
            id: number.map(|n| format!("s{n}")).unwrap_or_default(),
            kind: UnitKind::Sentence,
            start: usize::try_from(s.start).unwrap_or(usize::MAX),
            end: usize::try_from(s.end).unwrap_or(usize::MAX),
            speaker: details.speaker,
            timestamp: details.timestamp,
            respondent: details.respondent,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_within_a_budget_of_moves() {
        // "a b": a at 3, b at 4 is exact; b at 5 is one move away.
        assert!(phrase_within(&[&[3], &[4]], 0));
        assert!(!phrase_within(&[&[3], &[5]], 0));
        assert!(phrase_within(&[&[3], &[5]], 1));
        // Swapped: b at 3, a at 4 costs two moves (as in Lucene and tantivy).
        assert!(!phrase_within(&[&[4], &[3]], 1));
        assert!(phrase_within(&[&[4], &[3]], 2));
        // Three words: moves add up across the phrase.
        assert!(phrase_within(&[&[0], &[1], &[2]], 0));
        assert!(!phrase_within(&[&[0], &[2], &[4]], 1));
        assert!(phrase_within(&[&[0], &[2], &[4]], 2));
        // The best of several occurrences is taken, not the first.
        assert!(phrase_within(&[&[0, 10], &[11, 20], &[12]], 0));
        // Offsets 0|10, 1|19, 10: the cheapest path is 0, 1, 10 (1 + 9 moves).
        assert!(phrase_within(&[&[0, 10], &[2, 20], &[12]], 10));
        assert!(!phrase_within(&[&[0, 10], &[2, 20], &[12]], 9));
        assert!(!phrase_within(&[&[0], &[]], 5));
    }

    #[test]
    fn passages_overlapping_a_span() {
        // Passages 10..20, 12..14 and an empty one at 30.
        let p = Stabs::new(vec![(12, 14), (10, 20), (30, 30)]);
        assert!(p.overlaps(0, 11));
        assert!(!p.overlaps(0, 10), "ends where the passage starts");
        assert!(p.overlaps(19, 25));
        assert!(!p.overlaps(20, 25), "starts where the passage ends");
        assert!(p.overlaps(29, 31), "an empty passage inside the span");
        assert!(!p.overlaps(30, 31), "an empty passage at the span's start");
        assert!(!p.overlaps(21, 29));
        assert!(!Stabs::new(Vec::new()).overlaps(0, 100));
    }

    #[test]
    fn sets_of_sentences() {
        let mut b = Bits::none(70);
        b.set(0);
        b.set(65);
        assert_eq!(b.ones().collect::<Vec<_>>(), vec![0, 65]);
        let all = Bits::all(70);
        assert_eq!(all.ones().count(), 70);
        let mut not = b.clone();
        not.0.iter_mut().for_each(|w| *w = !*w);
        not.trim(70);
        assert_eq!(not.ones().count(), 68);
        assert!(Bits::none(3).is_empty());
        assert_eq!(sentence_of(&[0, 4, 9], 3), Some(0));
        assert_eq!(sentence_of(&[0, 4, 9], 4), Some(1));
        assert_eq!(sentence_of(&[0, 4, 9], 20), Some(2));
        assert_eq!(sentence_of(&[2, 4], 1), None);
    }
}

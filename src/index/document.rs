//! The tantivy documents of one transcript: a document per distinct unit
//! span, carrying the codes of the passages overlapping it and the packed
//! sentences of a paragraph, and one document per coded passage. Pure:
//! from a read, coded transcript to documents; writing them is
//! [`super::writer`]'s.

use std::collections::BTreeMap;

use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use super::{Fields, layout, schema};
use crate::coding::{CodedPassage, Source};
use crate::corpus::{self, Document};
use crate::study::UnitKind;

/// The `code` and `code_src` terms a passage contributes.
fn code_terms(p: &CodedPassage) -> (Vec<String>, Vec<String>) {
    let anc = crate::codebook::ancestors(&p.code);
    let mut src = Vec::new();
    for a in &anc {
        match &p.source {
            Source::Auto => src.push(schema::code_src_term(None, a)),
            Source::Manual { coder } => {
                src.push(schema::code_src_term(Some(None), a));
                src.push(schema::code_src_term(Some(Some(coder)), a));
            }
        }
    }
    (anc, src)
}

/// Coded passages by position, to find those overlapping a span without
/// scanning them all (a transcript has hundreds of units and passages).
struct Overlaps {
    /// (byte start, byte end, passage number), by start.
    short: Vec<(usize, usize, usize)>,
    /// The longest of `short`.
    max_len: usize,
    /// Passages longer than `LONG` bytes (whole turns or documents), checked one by one.
    long: Vec<(usize, usize, usize)>,
}

impl Overlaps {
    const LONG: usize = 4096;

    fn new(passages: &[CodedPassage]) -> Overlaps {
        let (mut short, long): (Vec<_>, Vec<_>) = passages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.byte_start, p.byte_end, i))
            .partition(|t| t.1 - t.0 <= Self::LONG);
        short.sort_by_key(|t| t.0);
        let max_len = short.iter().map(|t| t.1 - t.0).max().unwrap_or(0);
        Overlaps {
            short,
            max_len,
            long,
        }
    }

    /// Calls `f` with the number of every passage overlapping `s..e`.
    fn each(&self, s: usize, e: usize, mut f: impl FnMut(usize)) {
        let lo = self
            .short
            .partition_point(|t| t.0 < s.saturating_sub(self.max_len));
        let hi = self.short.partition_point(|t| t.0 < e);
        for t in self.short[lo..hi.max(lo)].iter().chain(&self.long) {
            if t.0 < e && s < t.1 {
                f(t.2);
            }
        }
    }
}

/// The tantivy documents for one transcript: one per distinct span, each
/// carrying the codes of the passages that overlap it, plus one `coding`
/// document per coded passage.
pub fn unit_documents(
    doc: &Document,
    attrs: &BTreeMap<String, String>,
    passages: &[CodedPassage],
    f: &Fields,
) -> Vec<TantivyDocument> {
    // Turns and paragraphs by span (a paragraph that is a whole turn
    // shares its span), each paragraph with its sentences, which follow it
    // among the units.
    let mut spans: Vec<((usize, usize), usize)> = Vec::new();
    let mut sentences: Vec<std::ops::Range<usize>> = vec![0..0; doc.units.len()];
    let mut document_unit = None;
    let mut paragraph = None;
    for (i, u) in doc.units.iter().enumerate() {
        match u.kind {
            UnitKind::Document => document_unit = Some(u),
            UnitKind::Sentence => {
                if let Some(p) = paragraph {
                    let r: &mut std::ops::Range<usize> = &mut sentences[p];
                    if r.start == r.end {
                        *r = i..i + 1;
                    } else if r.end == i {
                        r.end = i + 1;
                    }
                }
            }
            kind => {
                if kind == UnitKind::Paragraph {
                    paragraph = Some(i);
                }
                spans.push(((u.byte_start, u.byte_end), i));
            }
        }
    }
    // In span order; a turn before its paragraph when they coincide, as
    // the units come.
    spans.sort_by_key(|&(span, i)| (span, i));
    let attr_obj: BTreeMap<String, OwnedValue> = attrs
        .iter()
        .map(|(k, v)| (k.clone(), OwnedValue::Str(v.clone())))
        .collect();
    let attr_value = OwnedValue::from(attr_obj);
    // The code and source terms of each passage, computed once.
    let terms: Vec<(Vec<String>, Vec<String>)> = passages.iter().map(code_terms).collect();
    let overlaps = Overlaps::new(passages);
    let add_codes = |td: &mut TantivyDocument, s: usize, e: usize| {
        let mut codes = std::collections::BTreeSet::new();
        let mut srcs = std::collections::BTreeSet::new();
        overlaps.each(s, e, |i| {
            codes.extend(terms[i].0.iter());
            srcs.extend(terms[i].1.iter());
        });
        for c in codes {
            td.add_text(f.code, c);
        }
        for c in srcs {
            td.add_text(f.code_src, c);
        }
    };
    let base = |start: usize, end: usize| {
        let mut td = TantivyDocument::default();
        td.add_text(f.path, &doc.path);
        td.add_u64(f.span, schema::pack_span(start as u64, end as u64));
        td
    };
    let mut out = Vec::with_capacity(spans.len() + passages.len() + 1);
    // What showing a paragraph or turn needs, for the document unit.
    let mut shown = layout::Writer::default();
    for group in spans.chunk_by(|a, b| a.0 == b.0) {
        let u = &doc.units[group[0].1];
        let mut td = base(u.start, u.end);
        let text = &doc.text[u.byte_start..u.byte_end];
        td.add_text(f.text, text);
        let kinds: Vec<UnitKind> = group.iter().map(|&(_, i)| doc.units[i].kind).collect();
        td.add_text(f.kind, schema::kind_term(&kinds, u.respondent));
        if let Some(s) = &u.speaker {
            td.add_text(f.speaker, s);
        }
        let mut entry = layout::Entry {
            start: u.start,
            flags: 0,
            sentences: 0,
            speaker: u.speaker.as_deref(),
            timestamp: u.timestamp.as_deref(),
        };
        if u.respondent {
            entry.flags |= layout::RESPONDENT;
        }
        if kinds.contains(&UnitKind::Turn) {
            entry.flags |= layout::TURN;
        }
        if let Some(&(_, p)) = group
            .iter()
            .find(|&&(_, i)| doc.units[i].kind == UnitKind::Paragraph)
        {
            let own = &doc.units[sentences[p].clone()];
            entry.flags |= layout::PARAGRAPH;
            entry.sentences = own.len();
            add_sentences(&mut td, f, &doc.units[p], own);
        }
        shown.push(&entry);
        add_codes(&mut td, u.byte_start, u.byte_end);
        out.push(td);
    }
    if let Some(u) = document_unit {
        let mut td = base(u.start, u.end);
        // No words of its own: a document matches text when one of its
        // paragraphs does (see `query::Compiler`), so its text is not
        // indexed a second time.
        td.add_text(f.dpath, &doc.path);
        // The transcript's case and attributes, here only: filters on them
        // match the other units by path (`query::paths`).
        td.add_text(f.case, attrs.get("case").map_or("", String::as_str));
        td.add_field_value(f.attrs, &attr_value);
        td.add_text(f.ids, &u.id);
        td.add_text(f.kind, UnitKind::Document.as_str());
        td.add_text(f.hash, &doc.hash);
        td.add_text(f.layout, shown.finish());
        add_codes(&mut td, u.byte_start, u.byte_end);
        out.push(td);
    }
    let turns: Vec<&corpus::Unit> = doc
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Turn)
        .collect();
    let turn_spans: Vec<(usize, usize)> = turns.iter().map(|t| (t.start, t.end)).collect();
    for (n, p) in passages.iter().enumerate() {
        let mut td = base(p.start, p.end);
        td.add_text(f.kind, schema::CODING_KIND);
        td.add_text(
            f.ids,
            p.unit.clone().unwrap_or_else(|| format!("m{}", n + 1)),
        );
        let (anc, src) = &terms[n];
        for a in anc {
            td.add_text(f.code, a);
        }
        for s in src {
            td.add_text(f.code_src, s);
        }
        // The speaker of the turn holding most of the passage's characters.
        let turn = corpus::turns::majority_turn(&turn_spans, p.start, p.end).map(|i| turns[i]);
        let mut info = (p.evidence.len() as u64) << 8;
        if let Some(t) = turn {
            if let Some(s) = &t.speaker {
                td.add_text(f.speaker, s);
                td.add_text(f.pspeaker, s);
            }
            if t.respondent {
                td.add_text(f.respondent, "true");
                info |= schema::INFO_RESPONDENT;
            }
        }
        if p.accepted {
            info |= schema::INFO_ACCEPTED;
        }
        if p.memo.is_some() {
            info |= schema::INFO_MEMO;
        }
        td.add_text(f.pcode, &p.code);
        td.add_text(f.psrc, schema::source_label(&p.source));
        td.add_u64(f.pinfo, info);
        td.add_text(f.prov, serde_json::to_string(p).unwrap_or_default());
        out.push(td);
    }
    out
}

/// Records a paragraph's sentences: their spans and the word position each
/// starts at (their numbers are counted from the document's layout).
fn add_sentences(
    td: &mut TantivyDocument,
    f: &Fields,
    paragraph: &corpus::Unit,
    sentences: &[corpus::Unit],
) {
    // (first word, start from the paragraph's, length), in characters.
    let relative = |s: &corpus::Unit| {
        let start = s.start.checked_sub(paragraph.start)?;
        Some((s.word, start as u64, (s.end - s.start) as u64))
    };
    let halves: Option<Vec<u32>> = sentences
        .iter()
        .map(|s| relative(s).and_then(|(w, st, l)| schema::pack_half(w, st, l)))
        .collect();
    if let Some(halves) = halves {
        for pair in halves.chunks(2) {
            let second = pair.get(1).copied().unwrap_or(schema::NO_HALF);
            td.add_u64(f.sents2, u64::from(pair[0]) << 32 | u64::from(second));
        }
        return;
    }
    let packed: Option<Vec<u64>> = sentences
        .iter()
        .map(|s| relative(s).and_then(|(w, st, l)| schema::pack_sentence(w, st, l)))
        .collect();
    match packed {
        Some(values) => values.into_iter().for_each(|v| td.add_u64(f.sents, v)),
        None => {
            for s in sentences {
                td.add_u64(f.swide, s.start as u64);
                td.add_u64(f.swide, s.end as u64);
                td.add_u64(f.swide, u64::from(s.word));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use tantivy::schema::Value;

    fn values(td: &TantivyDocument, field: tantivy::schema::Field) -> Vec<u64> {
        td.get_all(field).filter_map(|v| v.as_u64()).collect()
    }

    /// A Markdown transcript, parsed, and its index documents.
    fn documents_of(text: &str, opts: &corpus::ReadOptions) -> (Document, Vec<TantivyDocument>) {
        let (_, f) = schema::build();
        let doc = corpus::parse_document(
            "a.md",
            Path::new("a.md"),
            corpus::Format::Md,
            text.as_bytes(),
            opts,
        )
        .unwrap();
        let tds = unit_documents(&doc, &BTreeMap::new(), &[], &f);
        (doc, tds)
    }

    #[test]
    fn paragraphs_record_their_sentences_packed_or_wide() {
        let (_, f) = schema::build();
        // A sentence of more than 4 million characters cannot be packed;
        // one of 2,046 fits 64 bits but not 32.
        let long = "word ".repeat(900_000);
        let medium = "word ".repeat(410);
        let text = format!(
            "Ana: Hello there. Fine.\n\nAna: {long}end. Then.\n\nAna: {medium}end. Then. Go.\n"
        );
        let (doc, tds) = documents_of(&text, &corpus::ReadOptions::default());
        let paragraphs: Vec<&TantivyDocument> = tds
            .iter()
            .filter(|td| {
                [f.sents2, f.sents, f.swide]
                    .iter()
                    .any(|&s| !values(td, s).is_empty())
            })
            .collect();
        assert_eq!(paragraphs.len(), 3);
        // The first: two sentences in one value; "Fine." starts at the
        // paragraph's third word, 12 characters in.
        let short = paragraphs[0];
        assert!(values(short, f.swide).is_empty() && values(short, f.sents).is_empty());
        let pairs = values(short, f.sents2);
        assert_eq!(pairs.len(), 1);
        let halves = [(pairs[0] >> 32) as u32, pairs[0] as u32].map(schema::unpack_half);
        assert_eq!(halves, [Some((0, 0, 12)), Some((2, 13, 5))]);
        // The third: sentences 5 to 7, one value each (the first is 2,054
        // characters long); "Go." is word 413, 2,061 characters in.
        let medium = paragraphs[2];
        assert!(values(medium, f.sents2).is_empty());
        let packed: Vec<(u32, u64, u64)> = values(medium, f.sents)
            .into_iter()
            .map(schema::unpack_sentence)
            .collect();
        assert_eq!(packed, [(0, 0, 2054), (411, 2055, 5), (412, 2061, 3)]);
        // The second: sentences 3 and 4, as (start, end, first word).
        let wide = paragraphs[1];
        assert!(values(wide, f.sents).is_empty() && values(wide, f.sents2).is_empty());
        let start = doc
            .units
            .iter()
            .find(|u| u.id == "s4")
            .map(|u| u.start as u64)
            .unwrap();
        let w = values(wide, f.swide);
        assert_eq!(w.len(), 6);
        assert_eq!((w[2], w[3], w[4], w[5]), (0, start, start + 5, 900_001));
    }

    /// The layout stored on the document unit, read back as a search
    /// does, against the units the transcript was parsed into.
    #[test]
    fn the_layout_describes_every_paragraph_turn_and_sentence() {
        let (_, f) = schema::build();
        let text = "Opening words without a speaker. Second sentence.\n\n\
            [00:00:05] Ana: First question? Yes.\n\n\
            [00:00:09] Ben: One paragraph. Of two sentences.\n\n\
            A second paragraph of Ben's turn. With more. And more.\n\n\
            A third.\n\n\
            [00:01:10] Ana: Thanks!\n\n\
            [00:01:12] Ben: Bye.\n";
        let opts = corpus::ReadOptions {
            speakers: crate::corpus::turns::SpeakerRules::new(&["Ana".to_string()], None),
            ..Default::default()
        };
        let (doc, tds) = documents_of(text, &opts);
        let stored: Vec<&str> = tds
            .iter()
            .filter_map(|td| td.get_first(f.layout).and_then(|v| v.as_str()))
            .collect();
        assert_eq!(stored.len(), 1, "one layout, on the document unit");
        let layout = layout::Layout::parse(stored[0]).unwrap();
        let turns = doc
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Turn)
            .count();
        assert!(turns >= 5, "{turns} turns");
        let mut multi = false;
        let mut paragraph_start = 0;
        let mut k = 0;
        for u in &doc.units {
            match u.kind {
                UnitKind::Paragraph | UnitKind::Turn => {
                    let d = layout.details(u.start as u64, u.kind).unwrap();
                    assert_eq!(d.id, u.id);
                    assert_eq!(d.speaker.as_deref(), u.speaker.as_deref(), "{}", u.id);
                    assert_eq!(d.timestamp.as_deref(), u.timestamp.as_deref(), "{}", u.id);
                    assert_eq!(d.respondent, u.respondent, "{}", u.id);
                    if u.kind == UnitKind::Paragraph {
                        paragraph_start = u.start as u64;
                        k = 0;
                        let turn = doc.units.iter().find(|t| {
                            t.kind == UnitKind::Turn && t.start <= u.start && u.end <= t.end
                        });
                        multi |= turn.is_some_and(|t| t.end > u.end || t.start < u.start);
                    }
                }
                UnitKind::Sentence => {
                    let n = layout.sentence(paragraph_start, k).unwrap();
                    assert_eq!(format!("s{n}"), u.id);
                    k += 1;
                }
                UnitKind::Document => {}
            }
        }
        assert!(multi, "a turn of several paragraphs is covered");
        assert!(doc.units.iter().any(|u| u.respondent) && doc.units.iter().any(|u| !u.respondent));
    }
}

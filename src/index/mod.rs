//! The index: a rebuildable cache of the corpus in tantivy.
//!
//! Layout under the study's index folder: `CURRENT` names the live
//! generation; each generation folder holds `tantivy/` and `manifest.json`.
//! Every update, incremental or full, writes a new generation beside the
//! live one and switches `CURRENT` at the end (see [`generation`]), so the
//! last good index stays usable throughout and after any crash.

pub(crate) mod fault;
pub mod forms;
pub(crate) mod generation;
pub mod layout;
pub mod manifest;
pub mod paths;
pub mod schema;
pub(crate) mod stamp;
pub(crate) mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use tantivy::schema::OwnedValue;
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use crate::codebook::Codebook;
use crate::coding::{CodedPassage, Source};
use crate::corpus::{self, Document};
use crate::diag::{Diagnostic, Diagnostics};
use crate::study::{Study, UnitKind};
use generation::ReadLock;
pub use manifest::{DocEntry, Manifest};
pub use schema::Fields;
use stamp::Stamp;

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostics::from(Diagnostic::error(format!("{e}")).in_file(path))
}

pub(crate) fn tantivy_err(e: &tantivy::TantivyError) -> Diagnostics {
    let msg = e.to_string();
    let d = Diagnostic::error(format!("index error: {msg}"));
    let d = if msg.contains("PermissionDenied") || msg.contains("ReadOnlyFilesystem") {
        d.with_help("the index folder cannot be written: check its permissions, or run `qualdex index` where the study can be written")
    } else if msg.contains("LockBusy") {
        d.with_help("another program is writing this index; wait for it to finish")
    } else {
        d.with_help("the index is a cache: delete the index folder (.qualdex) and run `qualdex index` again")
    };
    Diagnostics::from(d)
}

/// Runs of documents with one path in a segment: (first document, one past
/// the last, path ordinal), in order.
pub type PathRuns = std::sync::Arc<Vec<(u32, u32, u32)>>;

/// The runs of a `runs.tsv`, by segment id; empty if missing or unreadable.
fn read_runs(path: &Path) -> HashMap<String, PathRuns> {
    let Some(text) = crate::fsutil::read_cache_text(path) else {
        return HashMap::new();
    };
    let mut all = HashMap::new();
    for line in text.lines() {
        let Some((id, rest)) = line.split_once('\t') else {
            continue;
        };
        let runs: Option<Vec<(u32, u32, u32)>> = rest
            .split(' ')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let mut p = r.split(',').map(|n| n.parse::<u32>().ok());
                Some((p.next()??, p.next()??, p.next()??))
            })
            .collect();
        if let Some(runs) = runs {
            all.insert(id.to_string(), std::sync::Arc::new(runs));
        }
    }
    all
}

/// The runs of consecutive index documents with the same path in a
/// segment, as (first document, one past the last, path ordinal), in
/// order: one pass over the `path` column.
pub(crate) fn path_runs(reader: &tantivy::SegmentReader) -> tantivy::Result<Vec<(u32, u32, u32)>> {
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut extend = |doc: u32, ord: u64| {
        let ord = ord as u32;
        match runs.last_mut() {
            Some(r) if r.1 == doc && r.2 == ord => r.1 = doc + 1,
            _ => runs.push((doc, doc + 1, ord)),
        }
    };
    if let Some(col) = reader.fast_fields().str(crate::index::schema::fast::PATH)? {
        let ords = col.ords();
        let max = reader.max_doc();
        if matches!(ords.index, tantivy::columnar::ColumnIndex::Full) {
            // Every document has a path: decode the ordinals in blocks.
            let mut block = vec![0u64; 4096];
            let mut start = 0u32;
            while start < max {
                let n = block.len().min((max - start) as usize);
                ords.values.get_range(u64::from(start), &mut block[..n]);
                for (i, &ord) in block[..n].iter().enumerate() {
                    extend(start + i as u32, ord);
                }
                start += n as u32;
            }
        } else {
            for doc in 0..max {
                if let Some(ord) = ords.first(doc) {
                    extend(doc, ord);
                }
            }
        }
    }
    Ok(runs)
}

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

/// The fingerprint of the settings an index is built with (its schema
/// version, language, speaker rules and lossy reading).
pub(crate) fn settings_fingerprint(study: &Study, lossy: bool) -> String {
    let c = &study.config;
    let mut h = blake3::Hasher::new();
    h.update(&schema::SCHEMA_VERSION.to_le_bytes());
    h.update(c.language.as_bytes()).update(b"\0");
    for i in &c.speakers.interviewers {
        h.update(i.as_bytes()).update(b"\0");
    }
    h.update(c.speakers.pattern.as_deref().unwrap_or("").as_bytes());
    h.update(&[u8::from(lossy)]);
    h.finalize().to_hex()[..16].to_string()
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

/// What a transcript's document unit keeps for showing its hits.
#[derive(Debug, Default)]
pub struct DocumentUnit {
    /// The hash of the file's bytes when indexed.
    pub hash: String,
    /// Its paragraphs' and turns' ids, speakers and sentence numbers.
    pub layout: layout::Layout,
}

/// An opened index, ready for queries.
pub struct Opened {
    /// The tantivy index.
    pub index: Index,
    /// A reader on it.
    pub reader: IndexReader,
    /// Field handles.
    pub fields: Fields,
    /// The manifest, read on first use (see [`Opened::manifest`]).
    manifest: std::sync::OnceLock<Manifest>,
    manifest_path: PathBuf,
    /// Attribute names recorded in the stamp, when there is one.
    stamp_attributes: Option<BTreeSet<String>>,
    /// The code tree recorded in the stamp: (families, code paths).
    stamp_codes: Option<(Vec<String>, Vec<String>)>,
    /// The stemming language.
    pub language: String,
    /// Indexed words by stem (read on first use).
    forms: std::sync::OnceLock<forms::Forms>,
    forms_path: PathBuf,
    /// Runs of documents with one path, by segment id (read on first use).
    runs: std::sync::OnceLock<HashMap<String, PathRuns>>,
    runs_path: PathBuf,
    /// The corpus folder, where document texts are read from.
    corpus: PathBuf,
    /// Documents whose texts were asked for but whose files changed since
    /// they were indexed.
    changed: std::sync::Mutex<BTreeSet<String>>,
    /// What the document units hold for showing hits, by path (read on
    /// first use).
    units: std::sync::Mutex<HashMap<String, Option<std::sync::Arc<DocumentUnit>>>>,
    /// Document paths by fast-field ordinal, per segment (built on first use).
    paths: std::sync::Mutex<
        HashMap<tantivy::index::SegmentId, std::sync::Arc<Vec<std::sync::Arc<str>>>>,
    >,
    /// Keeps the generation from being removed while this is open.
    _read_lock: ReadLock,
}

/// True when the study has an index (possibly stale).
pub fn has_index(study: &Study) -> bool {
    generation::current(&study.index_dir())
        .ok()
        .flatten()
        .is_some_and(|g| g.manifest().is_file())
}

/// Opens the study's index; `None` if it has not been built.
pub fn open(study: &Study) -> Result<Option<Opened>, Diagnostics> {
    open_with(study, None)
}

/// Opens the index with a manifest already in hand: from [`update`], with
/// the name of the generation it describes (it is used only if that
/// generation is still the live one).
pub fn open_with(
    study: &Study,
    known: Option<(String, Manifest)>,
) -> Result<Option<Opened>, Diagnostics> {
    let index_dir = study.index_dir();
    // Held while the generation is in use, so no update removes it.
    let read_lock = ReadLock::acquire(&index_dir);
    let Some(g) = generation::current(&index_dir)? else {
        return Ok(None);
    };
    let known = known.filter(|(name, _)| *name == g.name).map(|(_, m)| m);
    // Searches need only the stamp; the manifest (per-document records) is
    // read when a command asks for it.
    let stamp = Stamp::read(&g.stamp(), false).filter(|s| {
        s.settings == settings_fingerprint(study, false)
            || s.settings == settings_fingerprint(study, true)
    });
    let manifest = std::sync::OnceLock::new();
    match (known, &stamp) {
        (Some(m), _) => {
            let _ = manifest.set(m);
        }
        (None, Some(_)) => {}
        (None, None) => {
            let Some(m) = Manifest::read(&g.manifest()) else {
                return Ok(None);
            };
            let _ = manifest.set(m);
        }
    }
    // An index from another qualdex version is rebuilt, not an error.
    if manifest
        .get()
        .is_some_and(|m| m.schema_version != schema::SCHEMA_VERSION)
    {
        return Ok(None);
    }
    let index = generation::ReadOnly::open_index(&g.tantivy()).map_err(|e| tantivy_err(&e))?;
    schema::register(&index);
    let fields = schema::fields_of(&index.schema()).map_err(|e| tantivy_err(&e))?;
    // One process answers from one view of the index: no reload watcher.
    let reader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| tantivy_err(&e))?;
    Ok(Some(Opened {
        index,
        reader,
        fields,
        manifest,
        manifest_path: g.manifest(),
        stamp_codes: stamp
            .as_ref()
            .map(|s| (s.families.clone(), s.codes.clone())),
        stamp_attributes: stamp.map(|s| s.attributes.into_iter().collect()),
        language: study.config.language.clone(),
        forms: std::sync::OnceLock::new(),
        forms_path: g.forms(),
        paths: Default::default(),
        runs: std::sync::OnceLock::new(),
        runs_path: g.runs(),
        corpus: study.corpus_dir(),
        changed: Default::default(),
        units: Default::default(),
        _read_lock: read_lock,
    }))
}

impl Opened {
    /// The manifest: per-document records (attributes, counts, hashes).
    pub fn manifest(&self) -> &Manifest {
        self.manifest.get_or_init(|| {
            Manifest::read(&self.manifest_path).unwrap_or_else(|| {
                // Only a hand-edited or damaged cache gets here (the
                // refresh checks the file is there); never answer quietly.
                crate::stderr!(
                    "{}",
                    Diagnostic::warning(
                        "the index's document records cannot be read, so attributes are missing from this answer"
                    )
                    .in_file(&self.manifest_path)
                    .with_help("run `qualdex index --rebuild` (the index is a cache: nothing is lost)")
                );
                Manifest::default()
            })
        })
    }

    /// The indexed words whose stem is `stem` (what an unquoted word finds).
    pub fn word_forms(&self, stem: &str) -> Vec<String> {
        let forms = self.forms.get_or_init(|| {
            forms::Forms::load(
                &self.reader.searcher(),
                self.fields.text,
                &self.language,
                &self.forms_path,
            )
            .unwrap_or_default()
        });
        forms.words(stem).into_iter().map(String::from).collect()
    }

    /// The code tree the index was coded with, when recorded (enough to
    /// resolve `code:` filters; definitions and rules are not kept).
    pub fn code_skeleton(&self) -> Option<Codebook> {
        let (families, codes) = self.stamp_codes.as_ref()?;
        Some(Codebook::skeleton(families, codes))
    }

    /// Every attribute name in use, sorted.
    pub fn attribute_names(&self) -> BTreeSet<String> {
        match (&self.stamp_attributes, self.manifest.get()) {
            (_, Some(m)) => m.attribute_names(),
            (Some(a), None) => a.clone(),
            (None, None) => self.manifest().attribute_names(),
        }
    }

    /// A segment's document paths by term ordinal of the `path` fast field:
    /// read once, in one pass over its dictionary, and shared by every query
    /// of this process (a table runs one query per code).
    pub fn segment_paths(
        &self,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<std::sync::Arc<Vec<std::sync::Arc<str>>>> {
        let id = reader.segment_id();
        if let Some(t) = self.paths.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(t);
        }
        let mut table = Vec::new();
        if let Some(col) = reader.fast_fields().str(crate::index::schema::fast::PATH)? {
            let mut stream = col.dictionary().stream()?;
            while let Some((key, _)) = stream.next() {
                table.push(std::sync::Arc::from(String::from_utf8_lossy(key).as_ref()));
            }
        }
        let table = std::sync::Arc::new(table);
        if let Ok(mut m) = self.paths.lock() {
            m.insert(id, table.clone());
        }
        Ok(table)
    }

    /// The runs of consecutive index documents with the same path in a
    /// segment, as (first document, one past the last, path ordinal), in
    /// order: from the generation's `runs.tsv` (written with the index;
    /// segments never change), or by one pass over the `path` column of a
    /// segment it does not list.
    pub fn path_runs(&self, reader: &tantivy::SegmentReader) -> tantivy::Result<PathRuns> {
        let stored = self.runs.get_or_init(|| read_runs(&self.runs_path));
        if let Some(runs) = stored.get(&reader.segment_id().uuid_string()) {
            return Ok(runs.clone());
        }
        Ok(std::sync::Arc::new(path_runs(reader)?))
    }

    /// The stored values of `path`'s document unit that show hits: read
    /// once per path (one posting per segment, then the stored document).
    fn document_unit(&self, path: &str) -> Option<std::sync::Arc<DocumentUnit>> {
        if let Some(u) = self.units.lock().ok()?.get(path) {
            return u.clone();
        }
        let unit = self.read_document_unit(path).map(std::sync::Arc::new);
        if let Ok(mut units) = self.units.lock() {
            units.insert(path.to_string(), unit.clone());
        }
        unit
    }

    fn read_document_unit(&self, path: &str) -> Option<DocumentUnit> {
        use tantivy::schema::{IndexRecordOption, Value};
        use tantivy::{DocAddress, DocSet, TERMINATED};
        let searcher = self.reader.searcher();
        let term = Term::from_field_text(self.fields.dpath, path);
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let inverted = reader.inverted_index(self.fields.dpath).ok()?;
            let Some(mut postings) = inverted
                .read_postings(&term, IndexRecordOption::Basic)
                .ok()?
            else {
                continue;
            };
            let alive = reader.alive_bitset();
            let mut d = postings.doc();
            while d != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(d)) {
                    let addr = DocAddress::new(u32::try_from(ord).ok()?, d);
                    let doc: TantivyDocument = searcher.doc(addr).ok()?;
                    let text = |f| doc.get_first(f).and_then(|v| v.as_str());
                    return Some(DocumentUnit {
                        hash: text(self.fields.hash)?.to_string(),
                        layout: text(self.fields.layout)
                            .and_then(layout::Layout::parse)
                            .unwrap_or_default(),
                    });
                }
                d = postings.advance();
            }
        }
        None
    }

    /// The id, speaker, timestamp and respondent flag of `path`'s
    /// paragraph or turn starting at `start` (in characters), from the
    /// document unit's layout.
    pub fn details(&self, path: &str, start: u64, kind: UnitKind) -> Option<layout::Details> {
        self.document_unit(path)?.layout.details(start, kind)
    }

    /// The number in its document of the `k`-th sentence (from 0) of
    /// `path`'s paragraph starting at `start`.
    pub fn sentence_number(&self, path: &str, start: u64, k: u64) -> Option<u64> {
        self.document_unit(path)?.layout.sentence(start, k)
    }

    /// The plain text of a document, read from its file (cached by the
    /// caller, see [`Bodies`]). `None` when the file no longer holds the
    /// text that was indexed (edited or deleted since), so offsets into it
    /// would point at the wrong words.
    pub fn body(&self, path: &str) -> Option<String> {
        let unit = self.document_unit(path)?;
        let text = corpus::indexed_text(&self.corpus.join(path), &unit.hash);
        if text.is_none()
            && let Ok(mut changed) = self.changed.lock()
        {
            changed.insert(path.to_string());
        }
        text
    }

    /// The documents whose texts were asked for (by [`Opened::body`]) but
    /// whose files changed since they were indexed, sorted.
    pub fn changed_texts(&self) -> Vec<String> {
        self.changed
            .lock()
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A small cache of document texts for rendering hits.
#[derive(Default)]
pub struct Bodies {
    cache: HashMap<String, Option<String>>,
}

impl Bodies {
    /// The text of `path`, read once; `None` when its file changed since it
    /// was indexed (see [`Opened::body`]).
    pub fn get<'a>(&'a mut self, opened: &Opened, path: &str) -> Option<&'a str> {
        self.cache
            .entry(path.to_string())
            .or_insert_with(|| opened.body(path))
            .as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

//! The index: a rebuildable cache of the corpus in tantivy.
//!
//! Layout under the study's index folder: `CURRENT` names the live
//! generation; each generation folder holds `tantivy/` and `manifest.json`.
//! Every update, incremental or full, writes a new generation beside the
//! live one and switches `CURRENT` at the end (see [`generation`]), so the
//! last good index stays usable throughout and after any crash.

mod document;
pub(crate) mod fault;
pub mod forms;
pub(crate) mod generation;
pub mod layout;
pub mod manifest;
pub mod paths;
pub mod schema;
pub(crate) mod stamp;
pub(crate) mod writer;

pub use document::unit_documents;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use tantivy::{Index, IndexReader, TantivyDocument, Term};

use crate::codebook::Codebook;
use crate::corpus;
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
    cache: HashMap<String, Option<Body>>,
}

/// A transcript's text with marks from characters to bytes, so that a
/// passage is sliced in time proportional to its length, not to its
/// position: listing every hit of a long transcript stays linear.
struct Body {
    text: String,
    ascii: bool,
    /// The byte offset of every `MARK_EVERY`-th character.
    marks: Vec<usize>,
}

const MARK_EVERY: usize = 256;

impl Body {
    fn new(text: String) -> Body {
        let ascii = text.is_ascii();
        let marks = if ascii {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(MARK_EVERY)
                .map(|(b, _)| b)
                .collect()
        };
        Body { text, ascii, marks }
    }

    /// Characters `start..end`, or `None` when they are not all there.
    fn slice(&self, start: usize, end: usize) -> Option<&str> {
        if end < start {
            return None;
        }
        if self.ascii {
            return self.text.get(start..end);
        }
        // Walk from the nearest mark at or before `start`; never over the
        // whole text.
        let mark = (start / MARK_EVERY).min(self.marks.len().saturating_sub(1));
        let from = *self.marks.get(mark)?;
        let mut it = self.text[from..]
            .char_indices()
            .map(|(b, _)| from + b)
            .chain(std::iter::once(self.text.len()));
        let bs = it.nth(start - mark * MARK_EVERY)?;
        let be = if end == start {
            bs
        } else {
            it.nth(end - start - 1)?
        };
        Some(&self.text[bs..be])
    }
}

impl Bodies {
    fn body<'a>(&'a mut self, opened: &Opened, path: &str) -> Option<&'a Body> {
        if !self.cache.contains_key(path) {
            let body = opened.body(path).map(Body::new);
            self.cache.insert(path.to_string(), body);
        }
        self.cache.get(path)?.as_ref()
    }

    /// The text of `path`, read once; `None` when its file changed since it
    /// was indexed (see [`Opened::body`]).
    pub fn get<'a>(&'a mut self, opened: &Opened, path: &str) -> Option<&'a str> {
        self.body(opened, path).map(|b| b.text.as_str())
    }

    /// Characters `start..end` of `path`'s text (as [`Bodies::get`] reads
    /// it), in time proportional to the passage's length.
    pub fn slice<'a>(
        &'a mut self,
        opened: &Opened,
        path: &str,
        start: usize,
        end: usize,
    ) -> Option<&'a str> {
        self.body(opened, path)?.slice(start, end)
    }
}

#[cfg(test)]
mod body_tests {
    #[test]
    fn a_body_slices_as_slice_chars_does_anywhere() {
        for size in [0, 1, 255, 256, 512, 2000] {
            let text: String = (0..size)
                .map(|i| ['a', 'é', '😀', ' ', 'ß'][(i * 7 + i / 3) % 5])
                .collect();
            let n = text.chars().count();
            let body = super::Body::new(text.clone());
            for start in (0..=n + 2).step_by(37) {
                for len in [0, 1, 5, 255, 256, 257, 900, n] {
                    let end = start + len;
                    assert_eq!(
                        body.slice(start, end),
                        crate::corpus::slice_chars(&text, start, end),
                        "{start}..{end}"
                    );
                }
            }
            assert_eq!(body.slice(5, 4), None);
        }
        let ascii = super::Body::new("plain text".to_string());
        assert_eq!(ascii.slice(6, 10), Some("text"));
        assert_eq!(ascii.slice(6, 11), None);
    }
}

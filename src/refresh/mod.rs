//! The refresh pipeline: corpus → coding → a sink.
//!
//! [`update`] brings a study's index up to date: it compares the corpus
//! and the other inputs with what the live generation records, reads and
//! codes the transcripts that changed ([`read::read_and_code`]) and hands
//! them to the index writer. `codebook check` sends the same coded
//! documents to a sink of its own. Everything that decides *what* to read
//! lives here; *how* a generation is written and published is the index's
//! ([`crate::index::writer`]). Progress is reported through
//! [`Progress`]: the caller draws it.

mod context;
pub mod read;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tantivy::TantivyDocument;

pub use context::{CodingContext, load_codebook};
pub use read::{CodedDocument, Progress, Silent, Sink, read_and_code};

use crate::coding::matcher::RuleHits;
use crate::corpus::attributes::Sheets;
use crate::corpus::turns::SpeakerRules;
use crate::corpus::{self, FoundFile, ReadOptions};
use crate::diag::{Diagnostic, Diagnostics};
use crate::index::generation::{self, Generation};
use crate::index::stamp::Stamp;
use crate::index::writer::{Records, Target};
use crate::index::{
    DocEntry, Fields, Manifest, fault, schema, settings_fingerprint, unit_documents,
};
use crate::study::Study;

/// Options for an index run.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Replace invalid UTF-8 instead of failing.
    pub lossy: bool,
    /// No progress bar.
    pub quiet: bool,
    /// Rebuild from scratch even if nothing changed.
    pub rebuild: bool,
    /// Before listing the corpus, check it against the index's record:
    /// folders whose modification times are unchanged hold the same
    /// entries, so only the recorded transcripts are examined. Used by the
    /// refresh before a command that reads the index; `qualdex index`
    /// always lists the corpus.
    pub quick_check: bool,
    /// Hash every transcript whose size and modification time match the
    /// index's record, so an edit that kept both (a sync tool, `touch -r`,
    /// a coarse file-system clock) is seen too.
    pub verify: bool,
}

/// What an index run did.
#[derive(Debug, Default, Clone)]
pub struct IndexReport {
    /// Documents in the index now.
    pub total: usize,
    /// New documents.
    pub added: Vec<String>,
    /// Changed documents (content or attribute rows).
    pub changed: Vec<String>,
    /// Removed documents.
    pub removed: Vec<String>,
    /// Files read from disk.
    pub reread: usize,
    /// True if the index was rebuilt from scratch.
    pub rebuilt: bool,
    /// Files skipped for unknown extensions, by extension.
    pub skipped: BTreeMap<String, usize>,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
    /// Seconds taken.
    pub seconds: f64,
    /// Units coded per rule, over the documents read in this run.
    pub rule_hits: RuleHits,
    /// The manifest as written (so opening the index need not parse it again).
    pub manifest: Option<Manifest>,
    /// The generation the index is in after the run.
    pub generation: Option<String>,
}

/// The speaker rules a study's files are read with.
pub fn speaker_rules(study: &Study) -> SpeakerRules {
    let pattern = study
        .config
        .speakers
        .pattern
        .as_deref()
        .and_then(|p| regex::Regex::new(p).ok());
    SpeakerRules::new(&study.config.speakers.interviewers, pattern)
}

/// Fingerprint of everything besides the transcripts that shapes the index:
/// the codebook files, the manual codings, the attribute sheets and the
/// study settings they are read with.
fn inputs_fingerprint(study: &Study, corpus_dir: &Path) -> String {
    let mut h = blake3::Hasher::new();
    let mut file = |p: &Path| {
        h.update(p.to_string_lossy().as_bytes()).update(b"\0");
        // Bounded: a FIFO or device here is not read; it changes the
        // fingerprint, so the update loads the file and reports it.
        match crate::fsutil::read_bounded(p, crate::fsutil::INPUT_LIMIT) {
            Ok(bytes) => h.update(&(bytes.len() as u64).to_le_bytes()).update(&bytes),
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => h.update(b"(missing)"),
            Err(e) => h.update(format!("(unreadable: {e})").as_bytes()),
        };
    };
    for c in &study.config.codebooks {
        file(&study.path(c));
    }
    for name in crate::corpus::attributes::SHEET_NAMES {
        file(&corpus_dir.join(name));
    }
    // Exactly the files the codings are read from (not the lock files, nor
    // a write's temp file).
    for p in &crate::coding::manual::coder_files(&study.codings_dir()) {
        file(p);
    }
    h.update(study.config.unit.as_str().as_bytes());
    h.finalize().to_hex()[..16].to_string()
}

/// Brings the index up to date with the corpus, the codebook and the manual
/// codings (incrementally when it can).
///
/// Every change is made in a new generation, published at the end (see
/// [`crate::index`]): an update stopped at any point, by a crash or a `kill
/// -9`, leaves the last good index live and whole, and the next update
/// starts again from it. Updates of one study wait for each other. When the
/// index folder cannot be written (a read-only study), an index that is up
/// to date still answers, and an index that is not is an error saying so.
pub fn update(
    study: &Study,
    opts: &IndexOptions,
    progress: &dyn Progress,
) -> Result<IndexReport, Diagnostics> {
    let started = Instant::now();
    let corpus_dir = study.require_corpus()?;
    let index_dir = study.index_dir();
    let live = generation::current(&index_dir)?;
    let live_stamp = live.as_ref().and_then(|g| Stamp::read(&g.stamp(), true));
    // A refresh keeps the choice of `qualdex index --lossy`.
    let refresh_lossy = opts.quick_check && !opts.lossy && {
        let built = live_stamp.as_ref().map(|s| s.settings.clone()).or_else(|| {
            live.as_ref()
                .and_then(|g| Manifest::read(&g.manifest()))
                .map(|m| m.settings)
        });
        built.is_some_and(|s| s == settings_fingerprint(study, true))
    };
    let lossy_opts;
    let opts = if refresh_lossy {
        lossy_opts = IndexOptions {
            lossy: true,
            ..opts.clone()
        };
        &lossy_opts
    } else {
        opts
    };
    let settings = settings_fingerprint(study, opts.lossy);
    let inputs = inputs_fingerprint(study, &corpus_dir);
    // The common case before a search: nothing changed since the last run.
    // No lock is needed to see it: a live generation never changes.
    if opts.quick_check
        && !opts.rebuild
        && let (Some(g), Some(stamp)) = (&live, live_stamp)
        && let Some(report) = still_current(g, stamp, &corpus_dir, &settings, &inputs, started)
    {
        generation::tidy_if_idle(&index_dir, &g.name);
        return Ok(report);
    }
    let lock = generation::WriteLock::acquire(&index_dir, opts.quiet)?;
    crate::index::fault::point("locked");
    let mut run = Update {
        study,
        opts,
        index_dir,
        corpus_dir,
        settings,
        inputs,
        lock,
        started,
    };
    run.run(progress)
}

/// The transcripts whose size and modification time match their record in
/// `old` but whose content does not (or can no longer be read): hashed in
/// parallel, with progress.
fn edited_in_place<'f>(
    files: &'f [FoundFile],
    old: &Manifest,
    progress: &dyn Progress,
) -> std::collections::HashSet<&'f str> {
    use rayon::prelude::*;
    let recorded: Vec<(&FoundFile, &str)> = files
        .iter()
        .filter_map(|f| {
            let e = old.documents.get(&f.rel)?;
            (e.size == f.size && u128::from(e.mtime_ns) == f.mtime_ns)
                .then_some((f, e.hash.as_str()))
        })
        .collect();
    progress.start(recorded.len(), "verifying");
    let edited = recorded
        .par_iter()
        .filter(|(f, hash)| {
            let same = crate::fsutil::read_bounded(&f.abs, crate::fsutil::INPUT_LIMIT)
                .is_ok_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == *hash);
            progress.advance(1);
            !same
        })
        .map(|(f, _)| f.rel.as_str())
        .collect();
    progress.finish();
    edited
}

/// The report of a run that found the index up to date by its stamp.
fn still_current(
    g: &Generation,
    stamp: Stamp,
    corpus_dir: &Path,
    settings: &str,
    inputs: &str,
    started: Instant,
) -> Option<IndexReport> {
    if stamp.settings != settings || stamp.inputs != inputs || !g.has_manifest() {
        return None;
    }
    let skipped = stamp.still_current(corpus_dir)?;
    Some(IndexReport {
        total: stamp.files.len(),
        skipped,
        seconds: started.elapsed().as_secs_f64(),
        generation: Some(g.name.clone()),
        ..Default::default()
    })
}

/// The error of an update that must write an index folder it cannot write.
fn read_only_error(index_dir: &Path, what: &str) -> Diagnostics {
    Diagnostics::from(
        Diagnostic::error(format!(
            "the index folder `{}` cannot be written (read-only), so the index cannot be {what}",
            crate::diag::display_path(index_dir)
        ))
        .with_help(
            "run `qualdex index` where the study can be written (or as a user who may write it); \
             commands answer from the index as long as it matches the files",
        ),
    )
}

/// One update of the index, under the write lock.
struct Update<'a> {
    study: &'a Study,
    opts: &'a IndexOptions,
    index_dir: PathBuf,
    corpus_dir: PathBuf,
    settings: String,
    inputs: String,
    /// `None` when the index folder cannot be written.
    lock: Option<generation::WriteLock>,
    started: Instant,
}

impl Update<'_> {
    fn run(&mut self, progress: &dyn Progress) -> Result<IndexReport, Diagnostics> {
        let (study, opts) = (self.study, self.opts);
        let (index_dir, corpus_dir) = (&self.index_dir, &self.corpus_dir);
        let (settings, inputs) = (&self.settings, &self.inputs);
        // Under the lock, the live generation is final: read it again.
        let current = generation::current(index_dir)?;
        if opts.quick_check
            && !opts.rebuild
            && let Some(g) = &current
            && let Some(stamp) = Stamp::read(&g.stamp(), true)
            && let Some(report) =
                still_current(g, stamp, corpus_dir, settings, inputs, self.started)
        {
            return Ok(report);
        }
        // The stamp, when it describes an index built with these settings
        // and inputs: then only the transcripts can have changed.
        let stamp = current
            .as_ref()
            .filter(|g| !opts.rebuild && g.has_manifest())
            .and_then(|g| Stamp::read(&g.stamp(), true))
            .filter(|s| s.settings == *settings && s.inputs == *inputs);
        let discovery = corpus::discover(corpus_dir)?;
        // Nothing changed since the last run, as the full listing shows.
        if let (Some(g), Some(mut stamp)) = (&current, stamp)
            && !opts.verify
            && stamp.same_files(&discovery.files)
        {
            // The folders' times moved (an editor's swap file came and went,
            // a folder was touched): record them, or every refresh would
            // list the corpus again. The stamp is a cache, so a failed write
            // only costs that.
            if stamp.set_folders(&discovery) && self.lock.is_some() {
                let _ = stamp.write(&g.stamp());
            }
            if let Some(lock) = &self.lock {
                generation::remove_abandoned(lock, index_dir, &g.name);
            }
            return Ok(IndexReport {
                total: discovery.files.len(),
                skipped: discovery.skipped.clone(),
                seconds: self.started.elapsed().as_secs_f64(),
                generation: Some(g.name.clone()),
                ..Default::default()
            });
        }
        let sheets = Sheets::load(corpus_dir)?;
        let coding = CodingContext::load(study)?;
        let unmatched_rows =
            sheets.unmatched_documents(corpus_dir, discovery.files.iter().map(|f| f.rel.as_str()));
        let old_manifest = current.as_ref().and_then(|g| Manifest::read(&g.manifest()));
        let reusable = !opts.rebuild
            && old_manifest.as_ref().is_some_and(|m| {
                m.settings == *settings && m.schema_version == schema::SCHEMA_VERSION
            });
        let old = if reusable {
            old_manifest.unwrap_or_default()
        } else {
            Manifest::default()
        };

        let mut report = IndexReport {
            rebuilt: !reusable,
            skipped: discovery.skipped.clone(),
            warnings: unmatched_rows,
            ..Default::default()
        };
        let mut manifest = Manifest {
            schema_version: schema::SCHEMA_VERSION,
            settings: settings.clone(),
            documents: BTreeMap::new(),
            codebook: coding.codebook.hash.clone(),
        };

        // Decide what must be read without reading anything (but the
        // content hashes asked for by `verify`).
        let edited_in_place = if opts.verify {
            edited_in_place(&discovery.files, &old, progress)
        } else {
            std::collections::HashSet::new()
        };
        let mut to_read: Vec<&FoundFile> = Vec::new();
        for f in &discovery.files {
            match old.documents.get(&f.rel) {
                Some(e)
                    if e.size == f.size
                        && u128::from(e.mtime_ns) == f.mtime_ns
                        && !edited_in_place.contains(f.rel.as_str()) =>
                {
                    let (attrs, _) = corpus::resolve_attributes(&f.rel, &e.front_matter, &sheets);
                    let fp = sheets
                        .row_fingerprint(&f.rel, attrs.get("case").map_or("", String::as_str));
                    if fp == e.sheet_fp
                        && attrs == e.attributes
                        && e.coding_fp == coding.fingerprint(&f.rel)
                    {
                        manifest.documents.insert(f.rel.clone(), e.clone());
                    } else {
                        to_read.push(f);
                    }
                }
                _ => to_read.push(f),
            }
        }
        let present: std::collections::HashSet<&str> =
            discovery.files.iter().map(|f| f.rel.as_str()).collect();
        for path in old.documents.keys() {
            if !present.contains(path.as_str()) {
                report.removed.push(path.clone());
            }
        }

        let read_opts = ReadOptions {
            lossy: opts.lossy,
            speakers: speaker_rules(study),
        };
        let opener = TargetOpener {
            index_dir,
            live: current.as_ref(),
            reusable,
            writable: self.lock.is_some(),
        };
        progress.start(to_read.len(), "indexing");
        let mut sink = IndexSink {
            old: &old,
            sheets: &sheets,
            coding: &coding,
            fields: schema::build().1,
            manifest: &mut manifest,
            report: &mut report,
            touched: 0,
            pending: Vec::new(),
            hits: RuleHits::default(),
            target: None,
            opener: &opener,
        };
        let problems = read_and_code(&to_read, &read_opts, &sheets, &coding, progress, &mut sink);
        progress.finish();
        let IndexSink {
            touched,
            hits,
            mut target,
            ..
        } = sink;
        let problems = problems?;
        report.reread += to_read.len();
        report.rule_hits = hits;
        if !problems.is_empty() {
            // Nothing is published: the last good index stays live, and the
            // half-made generation is removed by a later update.
            drop(target);
            return Err(Diagnostics(problems));
        }

        let needs_commit = target.is_some() || !report.removed.is_empty() || !reusable;
        if needs_commit {
            if target.is_none() {
                target = Some(opener.open()?);
            }
            let mut target = target.take().expect("opened above");
            if reusable {
                target.delete(report.removed.clone())?;
            }
            let records = Records {
                manifest: &manifest,
                inputs,
                codebook: &coding.codebook,
                listing: &discovery,
            };
            let generation = target.publish(index_dir, &study.config.language, &records)?;
            if let Some(lock) = &self.lock {
                generation::remove_abandoned(lock, index_dir, &generation.name);
            }
            report.generation = Some(generation.name);
        } else if let Some(g) = &current {
            // The files' times or the inputs changed without changing the
            // index: the records are rewritten in place (atomically, with
            // the same documents). Without write access they stay as they
            // are, and the next run compares the files again.
            if let Some(lock) = &self.lock {
                let manifest_changed = touched > 0 || old.codebook != manifest.codebook;
                let records = Records {
                    manifest: &manifest,
                    inputs,
                    codebook: &coding.codebook,
                    listing: &discovery,
                };
                records.save(g, manifest_changed)?;
                generation::remove_abandoned(lock, index_dir, &g.name);
            }
            report.generation = Some(g.name.clone());
        }
        report.total = manifest.documents.len();
        report.seconds = self.started.elapsed().as_secs_f64();
        report.manifest = Some(manifest);
        Ok(report)
    }
}

/// Opens the next generation when the first document must be written.
struct TargetOpener<'a> {
    index_dir: &'a Path,
    live: Option<&'a Generation>,
    reusable: bool,
    writable: bool,
}

impl TargetOpener<'_> {
    /// The next generation: empty when rebuilding, else a copy (hard links)
    /// of the live one. Made lazily, so a run that changes nothing writes
    /// nothing.
    fn open(&self) -> Result<Target, Diagnostics> {
        if !self.writable {
            let what = if self.live.is_some() {
                "brought up to date"
            } else {
                "built"
            };
            return Err(read_only_error(self.index_dir, what));
        }
        Target::open(self.index_dir, self.live.filter(|_| self.reusable))
    }
}

/// The index as a sink: each coded document becomes its tantivy documents
/// and a manifest entry; documents are written batch by batch.
struct IndexSink<'a, 'o> {
    old: &'a Manifest,
    sheets: &'a Sheets,
    coding: &'a CodingContext,
    fields: Fields,
    manifest: &'a mut Manifest,
    report: &'a mut IndexReport,
    /// Files whose content is unchanged but were re-read (touched):
    /// manifest only.
    touched: usize,
    /// Documents to write, with their tantivy documents.
    pending: Vec<(String, Vec<TantivyDocument>)>,
    hits: RuleHits,
    target: Option<Target>,
    opener: &'o TargetOpener<'o>,
}

/// What the index keeps of a coded document: its manifest entry (size and
/// time still to fill in), its tantivy documents, warnings and rule hits.
struct Prepared {
    path: String,
    entry: DocEntry,
    tds: Vec<TantivyDocument>,
    warnings: Vec<Diagnostic>,
    hits: RuleHits,
}

impl Sink for IndexSink<'_, '_> {
    type Prepared = Prepared;

    fn prepare(&self, c: CodedDocument) -> Prepared {
        let tds = unit_documents(&c.doc, &c.attrs, &c.passages, &self.fields);
        let CodedDocument {
            doc,
            attrs,
            warnings,
            hits,
            ..
        } = c;
        let sheet_fp = self
            .sheets
            .row_fingerprint(&doc.path, attrs.get("case").map_or("", String::as_str));
        let entry = DocEntry {
            // Respondents' words and characters, for the manifest.
            respondent_words: doc.respondent_words,
            chars: doc.text.chars().count(),
            coding_fp: self.coding.fingerprint(&doc.path),
            hash: doc.hash,
            size: 0,
            mtime_ns: 0,
            format: doc.format,
            front_matter: doc.front_matter,
            attributes: attrs,
            sheet_fp,
            words: doc.words,
            turns: doc.turns,
        };
        Prepared {
            path: doc.path,
            entry,
            tds,
            warnings,
            hits,
        }
    }

    fn take(&mut self, f: &FoundFile, p: Prepared) -> Result<(), Diagnostics> {
        let Prepared {
            path,
            mut entry,
            tds,
            warnings,
            hits: h,
        } = p;
        entry.size = f.size;
        entry.mtime_ns = u64::try_from(f.mtime_ns).unwrap_or(u64::MAX);
        self.report.warnings.extend(warnings);
        let hits = &mut self.hits;
        hits.units.resize(hits.units.len().max(h.units.len()), 0);
        for (i, n) in h.units.iter().enumerate() {
            hits.units[i] += n;
        }
        let same = self.old.documents.get(&path).is_some_and(|e| {
            e.hash == entry.hash
                && e.sheet_fp == entry.sheet_fp
                && e.attributes == entry.attributes
                && e.coding_fp == entry.coding_fp
        });
        if same {
            self.touched += 1;
            self.manifest.documents.insert(path, entry);
            return Ok(());
        }
        if self.old.documents.contains_key(&path) {
            self.report.changed.push(path.clone());
        } else {
            self.report.added.push(path.clone());
        }
        self.manifest.documents.insert(path.clone(), entry);
        self.pending.push((path, tds));
        Ok(())
    }

    fn batch_done(&mut self) -> Result<(), Diagnostics> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.target.is_none() {
            self.target = Some(self.opener.open()?);
        }
        if let Some(target) = self.target.as_mut() {
            // A fresh generation has nothing to replace.
            let replaced: Vec<String> = self
                .pending
                .iter()
                .filter(|(path, _)| self.opener.reusable && self.old.documents.contains_key(path))
                .map(|(path, _)| path.clone())
                .collect();
            target.delete(replaced)?;
            for (_, tds) in self.pending.drain(..) {
                target.add(tds)?;
            }
            fault::point("added");
        }
        Ok(())
    }
}

//! Reading and coding transcripts, in parallel, for a sink: the one path
//! from the corpus to coded documents. The index writer is one sink; the
//! rule statistics of `codebook check` are another.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::context::CodingContext;
use crate::coding::CodedPassage;
use crate::coding::matcher::RuleHits;
use crate::corpus::attributes::Sheets;
use crate::corpus::{self, Document, FoundFile, ReadOptions};
use crate::diag::{Diagnostic, Diagnostics};

/// How many transcripts are read and coded in parallel before the sink
/// takes them: bounds the memory held at once.
const BATCH: usize = 64;

/// One transcript, read and coded.
pub struct CodedDocument {
    /// The document as read.
    pub doc: Document,
    /// Its attributes (front matter and attribute sheets).
    pub attrs: BTreeMap<String, String>,
    /// Its coded passages (rules, reviews and manual codings).
    pub passages: Vec<CodedPassage>,
    /// Warnings about its attributes and codings.
    pub warnings: Vec<Diagnostic>,
    /// Units coded per rule.
    pub hits: RuleHits,
}

/// Where coded documents go.
pub trait Sink: Sync {
    /// What [`Sink::prepare`] makes of a document.
    type Prepared: Send;

    /// Work on a coded document done in parallel, on the reading threads:
    /// the index builds its tantivy documents here, and every sink keeps
    /// only what it needs, so the document's text and passages are dropped
    /// on those threads too.
    fn prepare(&self, coded: CodedDocument) -> Self::Prepared;

    /// Takes what [`Sink::prepare`] made of one document, in corpus order,
    /// on the calling thread.
    fn take(&mut self, file: &FoundFile, prepared: Self::Prepared) -> Result<(), Diagnostics>;

    /// Called after each batch of documents while no document has failed
    /// to read.
    fn batch_done(&mut self) -> Result<(), Diagnostics> {
        Ok(())
    }
}

/// Progress of a long run, shown by the caller (the library draws nothing).
pub trait Progress: Sync {
    /// A run over `total` files starts.
    fn start(&self, _total: usize, _what: &str) {}
    /// `n` more files are done.
    fn advance(&self, _n: usize) {}
    /// The run is over.
    fn finish(&self) {}
}

/// Progress nobody watches.
pub struct Silent;

impl Progress for Silent {}

/// Reads and codes `files`, handing each to `sink` in order. Returns the
/// problems of the files that could not be read (each names its file);
/// after the first of them the sink still takes the documents that read,
/// but [`Sink::batch_done`] is no longer called.
pub fn read_and_code<S: Sink>(
    files: &[&FoundFile],
    read: &ReadOptions,
    sheets: &Sheets,
    coding: &CodingContext,
    progress: &dyn Progress,
    sink: &mut S,
) -> Result<Vec<Diagnostic>, Diagnostics> {
    let mut problems: Vec<Diagnostic> = Vec::new();
    if !files.is_empty() {
        coding.prepare()?;
    }
    for chunk in files.chunks(BATCH) {
        let shared: &S = sink;
        let parsed: Vec<Result<S::Prepared, Diagnostics>> = chunk
            .par_iter()
            .map(|f| {
                let doc = corpus::read_document(f, read)?;
                let (attrs, mut warnings) =
                    corpus::resolve_attributes(&doc.path, &doc.front_matter, sheets);
                let mut hits = RuleHits::default();
                let (passages, w) = coding.code(&doc, &attrs, &mut hits);
                warnings.extend(w);
                let coded = CodedDocument {
                    doc,
                    attrs,
                    passages,
                    warnings,
                    hits,
                };
                Ok(shared.prepare(coded))
            })
            .collect();
        for (f, res) in chunk.iter().zip(parsed) {
            progress.advance(1);
            match res {
                Err(d) => problems.extend(d.0),
                Ok(prepared) => sink.take(f, prepared)?,
            }
        }
        if problems.is_empty() {
            sink.batch_done()?;
        }
    }
    Ok(problems)
}

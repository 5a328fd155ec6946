//! Writing a generation: the next generation opened for writing (empty,
//! or a hard-linked copy of the live one), documents deleted and added, and
//! the commit that writes the caches and records beside the tantivy index
//! and publishes it. The order of these steps is what makes an interrupted
//! update harmless (see [`super::generation`]); the fault points name them.

use std::path::Path;

use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument};

use super::generation::{self, Generation};
use super::stamp::Stamp;
use super::{Manifest, fault, forms, io_err, path_runs, paths, schema, tantivy_err};
use crate::codebook::Codebook;
use crate::corpus;
use crate::diag::Diagnostics;

/// The next generation, open for writing.
pub(crate) struct Target {
    /// The generation being written.
    pub(crate) generation: Generation,
    index: Index,
    writer: IndexWriter,
}

impl Target {
    /// Makes the next generation in `index_dir` and opens it for writing:
    /// empty, or starting as a copy (hard links) of `copy_of`.
    pub(crate) fn open(
        index_dir: &Path,
        copy_of: Option<&Generation>,
    ) -> Result<Target, Diagnostics> {
        let g = generation::create_next(index_dir)?;
        let index = match copy_of {
            None => {
                std::fs::create_dir(g.tantivy()).map_err(|e| io_err(&g.tantivy(), e))?;
                let (schema, _) = schema::build();
                Index::create_in_dir(g.tantivy(), schema).map_err(|e| tantivy_err(&e))?
            }
            Some(live) => {
                generation::link_index(&live.tantivy(), &g.tantivy())?;
                Index::open_in_dir(g.tantivy()).map_err(|e| tantivy_err(&e))?
            }
        };
        schema::register(&index);
        let writer: IndexWriter = index.writer(128_000_000).map_err(|e| tantivy_err(&e))?;
        // Files an interrupted update of an older qualdex left in the
        // live generation (a delete file the next commit would write
        // again, say) are not the index's: drop them before writing.
        writer
            .garbage_collect_files()
            .wait()
            .map_err(|e| tantivy_err(&e))?;
        fault::point("opened");
        Ok(Target {
            generation: g,
            index,
            writer,
        })
    }

    /// Deletes every index document of these transcripts.
    pub(crate) fn delete(&mut self, paths: Vec<String>) -> Result<(), Diagnostics> {
        delete_paths(&mut self.writer, paths)
    }

    /// Adds a transcript's index documents.
    pub(crate) fn add(&mut self, docs: Vec<TantivyDocument>) -> Result<(), Diagnostics> {
        for td in docs {
            self.writer.add_document(td).map_err(|e| tantivy_err(&e))?;
        }
        Ok(())
    }

    /// Commits, writes the caches and the records, and makes the generation
    /// the live one.
    pub(crate) fn publish(
        mut self,
        index_dir: &Path,
        language: &str,
        records: &Records<'_>,
    ) -> Result<Generation, Diagnostics> {
        fault::point("commit");
        self.writer.commit().map_err(|e| tantivy_err(&e))?;
        fault::point("committed");
        self.writer
            .wait_merging_threads()
            .map_err(|e| tantivy_err(&e))?;
        fault::point("merged");
        write_caches(&self.generation, &self.index, language)?;
        fault::point("caches");
        records.save(&self.generation, true)?;
        fault::point("records");
        generation::publish(index_dir, &self.generation)?;
        fault::point("published");
        Ok(self.generation)
    }
}

/// What a generation records beside its tantivy index: the manifest of its
/// documents and the stamp a refresh checks first.
pub(crate) struct Records<'a> {
    /// The documents.
    pub(crate) manifest: &'a Manifest,
    /// The fingerprint of the inputs besides the transcripts.
    pub(crate) inputs: &'a str,
    /// The codebook the documents were coded with.
    pub(crate) codebook: &'a Codebook,
    /// The corpus listing the documents came from.
    pub(crate) listing: &'a corpus::Discovery,
}

impl Records<'_> {
    /// Writes the manifest (when `with_manifest`) and then the stamp.
    pub(crate) fn save(&self, g: &Generation, with_manifest: bool) -> Result<(), Diagnostics> {
        if with_manifest {
            self.manifest
                .write(&g.manifest())
                .map_err(|e| io_err(&g.manifest(), e))?;
        }
        fault::point("manifest");
        Stamp::of(
            &self.manifest.settings,
            self.inputs,
            self.manifest,
            self.codebook,
            self.listing,
        )
        .write(&g.stamp())
        .map_err(|e| io_err(&g.stamp(), e))
    }
}

/// Deletes every index document of `paths` (documents are found by their
/// `path` column: only document units have a path term).
fn delete_paths(writer: &mut IndexWriter, paths: Vec<String>) -> Result<(), Diagnostics> {
    if paths.is_empty() {
        return Ok(());
    }
    writer
        .delete_query(Box::new(paths::PathColumnQuery::new(paths)))
        .map(|_| ())
        .map_err(|e| tantivy_err(&e))
}

/// Writes the table of word forms for the index as committed.
fn write_forms(
    g: &Generation,
    searcher: &tantivy::Searcher,
    text: tantivy::schema::Field,
    language: &str,
) -> Result<(), Diagnostics> {
    let forms = forms::Forms::build(searcher, text, language).map_err(|e| tantivy_err(&e))?;
    forms
        .write(searcher, &g.forms())
        .map_err(|e| io_err(&g.forms(), e))
}

/// Writes the caches kept beside a committed index (word forms, runs of
/// paths), from one view of it.
fn write_caches(g: &Generation, index: &Index, language: &str) -> Result<(), Diagnostics> {
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| tantivy_err(&e))?;
    let searcher = reader.searcher();
    let fields = schema::fields_of(&index.schema()).map_err(|e| tantivy_err(&e))?;
    write_forms(g, &searcher, fields.text, language)?;
    write_runs(g, &searcher)
}

/// Writes the runs of documents with one path of every segment, one line
/// per segment: its id, a tab, then `first,end,ordinal` per run.
fn write_runs(g: &Generation, searcher: &tantivy::Searcher) -> Result<(), Diagnostics> {
    use std::fmt::Write;
    let mut out = String::new();
    for r in searcher.segment_readers() {
        let runs = path_runs(r).map_err(|e| tantivy_err(&e))?;
        out.push_str(&r.segment_id().uuid_string());
        out.push('\t');
        for (i, (first, end, ord)) in runs.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{first},{end},{ord}");
        }
        out.push('\n');
    }
    crate::fsutil::write_atomic(&g.runs(), out.as_bytes()).map_err(|e| io_err(&g.runs(), e))
}

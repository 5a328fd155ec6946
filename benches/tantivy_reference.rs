//! The bare-tantivy reference for `scripts/bench`: index the same
//! paragraphs as qualdex (blank-line separated, front matter skipped) with a
//! plain text field and nothing else, single commit. qualdex's indexing
//! throughput is reported as a ratio of this one.
//!
//! Run: `cargo bench --bench tantivy_reference -- CORPUS_DIR INDEX_DIR`.
// Tests and benchmarks report to the person running them.
#![allow(clippy::print_stderr)]

use std::path::Path;
use std::time::Instant;

use tantivy::schema::{Schema, TEXT};
use tantivy::{Index, TantivyDocument};

fn main() -> tantivy::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(corpus), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tantivy_reference CORPUS_DIR INDEX_DIR");
        std::process::exit(2);
    };
    let started = Instant::now();
    let mut b = Schema::builder();
    let text = b.add_text_field("text", TEXT);
    let schema = b.build();
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let index = Index::create_in_dir(Path::new(out), schema)?;
    let mut writer = index.writer::<TantivyDocument>(128_000_000)?;
    let mut bytes = 0u64;
    let mut paragraphs = 0u64;
    for entry in walkdir::WalkDir::new(corpus).sort_by_file_name() {
        let entry = entry.map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?;
        if !entry.file_type().is_file()
            || !entry
                .path()
                .extension()
                .is_some_and(|e| e == "md" || e == "txt")
        {
            continue;
        }
        let body = std::fs::read_to_string(entry.path())?;
        bytes += body.len() as u64;
        let start = match body.strip_prefix("---\n") {
            Some(rest) => rest.find("\n---\n").map_or(0, |i| i + 9),
            None => 0,
        };
        for para in body[start..].split("\n\n") {
            let p = para.trim();
            if p.is_empty() {
                continue;
            }
            let mut d = TantivyDocument::default();
            d.add_text(text, p);
            writer.add_document(d)?;
            paragraphs += 1;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let secs = started.elapsed().as_secs_f64();
    println!("{{\"seconds\": {secs:.3}, \"bytes\": {bytes}, \"paragraphs\": {paragraphs}}}");
    Ok(())
}

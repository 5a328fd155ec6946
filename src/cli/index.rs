//! `qualdex index`: build or update the index.

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::refresh::{self, IndexOptions};

/// Build or update the index.
///
/// Only files whose size or modification time changed are re-read (with
/// --verify, also those whose content changed without either); deleted files
/// are dropped. The index is a cache: deleting it loses nothing.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex index                 update after editing transcripts\n  qualdex index --rebuild       start again from the files\n  qualdex index --verify        also catch edits that kept size and time\n  qualdex index --lossy         accept files that are not valid UTF-8"
)]
pub struct Args {
    /// Replace bytes that are not valid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy: bool,
    /// Rebuild from scratch.
    #[arg(long)]
    pub rebuild: bool,
    /// Re-read every transcript and compare its content with the index, to
    /// catch edits that kept a file's size and modification time (some sync
    /// tools and `touch -r` keep both); changed ones are re-indexed.
    #[arg(long)]
    pub verify: bool,
}

/// Runs `index`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let report = refresh::update(
        &study,
        &IndexOptions {
            lossy: args.lossy,
            quiet: ctx.quiet,
            rebuild: args.rebuild,
            verify: args.verify,
            ..Default::default()
        },
        &super::progress::Bar::new(ctx.quiet),
    )?;
    ctx.print_report(&report);
    Ok(ExitCode::SUCCESS)
}

//! `qualdex init`: scaffold a study folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

/// Scaffold a study: qualdex.yaml, corpus/, codebooks/, codings/.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex init                 make the current folder a study\n  qualdex init interviews --title \"Service networks\""
)]
pub struct Args {
    /// Folder to make the study in (created if missing). Folders and a
    /// `.gitignore` already there are kept as they are, so a folder of
    /// transcripts in `corpus/` can become a study.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The study's title, written into qualdex.yaml.
    #[arg(long, default_value = "Untitled study")]
    pub title: String,
}

/// A path as the note shows it: without a leading `./`, and with a
/// trailing `/` for a folder.
fn shown(p: &Path) -> String {
    let rel = p.strip_prefix(".").unwrap_or(p);
    let mut s = crate::diag::display_path(rel);
    if p.is_dir() {
        s.push('/');
    }
    s
}

/// Runs `init`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let done = crate::study::init(&args.dir, &args.title)?;
    for p in &done.created {
        ctx.note(format!("created {}", shown(p)));
    }
    for p in &done.kept {
        ctx.note(format!("kept the existing {}", shown(p)));
    }
    ctx.note("next: put transcripts in corpus/ and run `qualdex index`");
    Ok(ExitCode::SUCCESS)
}

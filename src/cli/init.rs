//! `qualdex init`: scaffold a study folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

/// Scaffold a study: qualdex.yaml, corpus/, codebooks/, codings/.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex init                 make the current folder a study\n  qualdex init interviews --title \"Service networks\""
)]
pub struct Args {
    /// Folder to make the study in (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The study's title, written into qualdex.yaml.
    #[arg(long, default_value = "Untitled study")]
    pub title: String,
}

/// Runs `init`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)?;
    let made = crate::study::init(&args.dir, &args.title)?;
    for p in made {
        ctx.note(format!("created {}", crate::diag::display_path(&p)));
    }
    ctx.note("next: put transcripts in corpus/ and run `qualdex index`");
    Ok(ExitCode::SUCCESS)
}

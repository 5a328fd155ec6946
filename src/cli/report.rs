//! `qualdex report`: one self-contained HTML file for a write-up.

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::refresh::load_codebook;

/// Write one self-contained HTML report (works offline): codebook, corpus
/// table, code × case heatmaps, a co-occurrence network, quotes per code,
/// and links from every cell to the passages behind it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex report                       writes out/report.html\n  qualdex report -o ~/paper/appendix.html"
)]
pub struct Args {
    /// Output file (default: out/report.html in the study folder). Any path
    /// you give is written as given, also outside the study: it is your
    /// choice, not something a study file can set.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

/// Runs `report`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let opened = ctx.open_index(&study)?;
    let path = write(&study, &opened, &cb, args.output.clone())?;
    ctx.warn_changed(&opened.changed_texts());
    ctx.note(format!("wrote {}", crate::diag::display_path(&path)));
    Ok(ExitCode::SUCCESS)
}

/// Gathers, renders and writes the report atomically; returns its path.
pub fn write(
    study: &crate::study::Study,
    opened: &crate::index::Opened,
    cb: &crate::codebook::Codebook,
    output: Option<std::path::PathBuf>,
) -> Result<std::path::PathBuf> {
    let data = crate::report::gather(study, opened, cb)?;
    let mut buf = Vec::new();
    crate::report::html::write(&data, &mut buf)?;
    let path = match output {
        Some(p) => p,
        None => {
            // `out/` must lead to a folder inside the study, links followed.
            study.check_write_target(&study.out_dir())?;
            study.out_dir().join("report.html")
        }
    };
    crate::fsutil::write_atomic(&path, &buf)?;
    Ok(path)
}

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
    after_help = "Examples:\n  qualdex report                       writes out/report.html\n  qualdex report -o ~/paper/appendix.html\n  qualdex report --passages-per-cell 0 every passage under every cell (large studies: large files)\n\nA cell lists at most `report: passages_per_cell` passages (qualdex.yaml; default 20),\nquoted ones first, with its full count and the `qualdex table matrix --explain`\ncommand that lists them all."
)]
pub struct Args {
    /// Output file (default: out/report.html in the study folder). Any path
    /// you give is written as given, also outside the study: it is your
    /// choice, not something a study file can set.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    /// Passages listed under each heatmap cell, at most; 0 lists all
    /// (default: `report: passages_per_cell` in qualdex.yaml, else 20).
    /// Every cell still shows its count and the command that lists them all.
    #[arg(long, value_name = "N")]
    pub passages_per_cell: Option<usize>,
}

/// Runs `report`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let opened = ctx.open_index(&study)?;
    let path = write(
        &study,
        &opened,
        &cb,
        args.output.clone(),
        args.passages_per_cell,
    )?;
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
    passages_per_cell: Option<usize>,
) -> Result<std::path::PathBuf> {
    let limit = passages_per_cell.unwrap_or(study.config.report.passages_per_cell);
    let data = crate::report::gather(study, opened, cb, limit)?;
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

//! `qualdex corpus`: the data-collection table.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::render::{TableFormat, write_table_as};
use crate::table;

/// The data-collection table of a write-up: documents, informants, turns and
/// words per case; with `--by ATTR`, informants per case and attribute value.
/// Informants are counted by the `informant` attribute (each document counts
/// as one informant where it has none).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex corpus\n  qualdex corpus --by role --format csv > informants.csv"
)]
pub struct Args {
    /// Cross-tabulate informants by this attribute.
    #[arg(long, value_name = "ATTRIBUTE")]
    pub by: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Md)]
    pub format: TableFormat,
}

/// Runs `corpus`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let opened = ctx.open_index(&study)?;
    let t = match &args.by {
        None => table::corpus::summary(opened.manifest()),
        Some(a) => table::corpus::by_attribute(opened.manifest(), a)?,
    };
    let mut out = super::common::stdout();
    write_table_as(&t, args.format, ctx.cells(), &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

//! The command line: argument definitions and dispatch, one file per
//! subcommand (`Args` + `run`). Clap structs stop here: each subcommand
//! resolves its arguments into library calls.
//!
//! Exit codes: 0 success, 1 a search found nothing, 2 an error. A closed pipe
//! (`qualdex search ... | head`) is success.

mod code;
mod codebook;
mod codings;
mod common;
mod corpus;
mod docpath;
mod index;
mod init;
mod passages;
mod progress;
mod report;
mod review;
mod run;
mod search;
mod table;
mod terminal;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use common::Ctx;

const EXAMPLES: &str = "\
Examples:
  qualdex init my-study              scaffold a study folder
  qualdex index                      index the transcripts (incremental)
  qualdex search '\"revenue model\" AND case:Alfa'
  qualdex search 'risk*' --by side   hits per attribute value
  qualdex corpus --by role           the data-collection table
  qualdex codebook check             validate the codebook, try every rule
  qualdex code                       apply the rules; passages per code
  qualdex code add risk --doc alfa/rd-01.md --quote \"we carry the risk\"
  qualdex search 'code:governance AND case:Alfa'
  qualdex passages governance --format json
  qualdex table matrix --rows challenges --cols case,side --measure docs
  qualdex run corpus/global-service-networks
                                     index and print a study's tables";

/// Index interview transcripts, search them with their evidence, and build
/// the cross-case tables of a multi-case study.
#[derive(Debug, Parser)]
#[command(name = "qualdex", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// The study folder (or its qualdex.yaml); default: the nearest one at or above the current folder.
    #[arg(long, global = true, value_name = "PATH")]
    pub study: Option<std::path::PathBuf>,
    /// No progress bars or summaries on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = common::ColorChoice::Auto)]
    pub color: common::ColorChoice,
    /// Use the index as it is, without first re-reading changed transcripts
    /// (for scripts that run many queries after `qualdex index`). Without
    /// it, a command whose refresh fails answers from the last good index,
    /// says so on stderr (even with --quiet) and exits with 3.
    #[arg(long, global = true)]
    pub no_refresh: bool,
    /// Write CSV and TSV cells exactly as they are. By default a cell from a
    /// transcript, attribute or codebook that starts with = + - @ or a tab
    /// gets a leading ' so a spreadsheet shows it instead of running it as a
    /// formula (plain numbers such as -3 are left alone).
    #[arg(long, global = true)]
    pub raw: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a study: qualdex.yaml, corpus/, codebooks/, codings/.
    Init(init::Args),
    /// Build or update the index (only changed files are re-read).
    Index(index::Args),
    /// Search passages, with document, case, speaker and offsets.
    Search(search::Args),
    /// Print a document's plain text, the text all offsets refer to.
    Text(text::Args),
    /// The data-collection table: documents, informants, turns, words per case.
    Corpus(corpus::Args),
    /// Check, show or export the codebook.
    Codebook(codebook::Args),
    /// Apply the codebook's rules; `code add` / `code rm` for manual codings.
    Code(code::Args),
    /// List, check (re-anchor) or import manual codings.
    Codings(codings::Args),
    /// Coded passages of a code, with provenance.
    Passages(passages::Args),
    /// Accept or reject auto-coded passages.
    Review(review::Args),
    /// Cross-case tables: matrix, cooccur, framework, quotes, structure, saturation.
    Table(table::Args),
    /// Write a self-contained HTML report.
    Report(report::Args),
    /// Index a study and regenerate the tables its qualdex.yaml declares.
    Run(run::Args),
}

/// Parses arguments, runs the command, maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx::new(&cli);
    let result = match &cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Index(a) => index::run(&ctx, a),
        Command::Search(a) => search::run(&ctx, a),
        Command::Text(a) => text::run(&ctx, a),
        Command::Corpus(a) => corpus::run(&ctx, a),
        Command::Codebook(a) => codebook::run(&ctx, a),
        Command::Code(a) => code::run(&ctx, a),
        Command::Codings(a) => codings::run(&ctx, a),
        Command::Passages(a) => passages::run(&ctx, a),
        Command::Review(a) => review::run(&ctx, a),
        Command::Table(a) => table::run(&ctx, a),
        Command::Report(a) => report::run(&ctx, a),
        Command::Run(a) => run::run(&ctx, a),
    };
    match result {
        Ok(code) => ctx.exit(code),
        Err(e) => common::report_error(&e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

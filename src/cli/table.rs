//! `qualdex table KIND`: the tables a multi-case study publishes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::refresh::load_codebook;
use crate::study::{TABLE_KEYS, TableKind, TableSettings};
use crate::table::coded::Coded;
use crate::table::spec;

const HELP: &str = "Kinds:
  corpus       documents, informants, turns, words per case (--by ATTR: informants per value)
  matrix       codes x attribute values: --rows FAMILY|CODE --cols ATTR[,ATTR] --measure
               passages|docs|presence|percent|words; parents roll up their children
  cooccur      code x code in the same --within sentence|paragraph|turn|document;
               --cells count|cases (the cases where a pair occurs)
  framework    cases (--rows ATTR) x codes or families (--cols); --cells codes|quote|count
  quotes       the k most representative quotes per code (--by ATTR), attributed
  structure    the Gioia data structure; --format dot|mermaid as well as the table formats
  saturation   new codes per additional interview, in --order ATTR (date, phase)

Examples:
  qualdex table matrix --rows challenges --cols case,side --measure docs
  qualdex table matrix --rows challenges --cols case --format json      cells carry passage ids
  qualdex table matrix --rows challenges --cols case --explain governance Alfa
  qualdex table cooccur --rows constellations --cols capabilities,coordination --within turn --cells cases
  qualdex table framework --cols market-orientation,service-strategy
  qualdex table quotes --rows challenges --by side -k 2 --format html > quotes.html
  qualdex table structure --format mermaid
  qualdex table saturation --order date

Formats: md (GitHub pipe tables), csv, tsv, tex (booktabs), html (pastes into Word),
json. Output is deterministic: the same inputs give byte-identical tables.";

/// Build a table: matrix, cooccur, framework, quotes, structure, saturation, corpus.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The kind of table.
    #[arg(value_parser = ["corpus", "matrix", "cooccur", "framework", "quotes", "structure", "saturation"])]
    pub kind: String,
    /// Rows: a family or code (matrix, quotes), codes (cooccur), an attribute (framework).
    #[arg(long)]
    pub rows: Option<String>,
    /// Columns: attribute(s) (matrix), codes or families (cooccur, framework); comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub cols: Vec<String>,
    /// Matrix measure: passages, docs, presence, percent, words.
    #[arg(long)]
    pub measure: Option<String>,
    /// Co-occurrence unit: sentence, paragraph, turn, document.
    #[arg(long)]
    pub within: Option<String>,
    /// Cell content: count|cases (cooccur), codes|quote|count (framework).
    #[arg(long)]
    pub cells: Option<String>,
    /// Group by this attribute (corpus, quotes).
    #[arg(long)]
    pub by: Option<String>,
    /// Quotes per cell.
    #[arg(short, long)]
    pub k: Option<usize>,
    /// Longest quote, in characters.
    #[arg(long)]
    pub max_chars: Option<usize>,
    /// Attributes that name an informant in quotes (default: role,case,side,country).
    #[arg(long, value_delimiter = ',')]
    pub attribution: Vec<String>,
    /// Interview order for saturation: an attribute such as date or phase.
    #[arg(long)]
    pub order: Option<String>,
    /// Families of the structure (default: all).
    #[arg(long, value_delimiter = ',')]
    pub families: Vec<String>,
    /// Codings counted: any, auto, manual, or a coder's name.
    #[arg(long)]
    pub source: Option<String>,
    /// A title.
    #[arg(long)]
    pub title: Option<String>,
    /// Output format: md, csv, tsv, tex, html, json (structure also: dot, mermaid).
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Print the passages behind one matrix cell: ROW (a code) and COL (a column value or Total).
    #[arg(long, num_args = 2, value_names = ["ROW", "COL"])]
    pub explain: Vec<String>,
}

/// Runs `table`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    // The options first: a mistake in them is reported before any work.
    let spec = TableSettings {
        name: args.kind.clone(),
        kind: args.kind.clone(),
        rows: args.rows.clone(),
        cols: args.cols.clone(),
        measure: args.measure.clone(),
        within: args.within.clone(),
        cells: args.cells.clone(),
        by: args.by.clone(),
        k: args.k,
        max_chars: args.max_chars,
        attribution: args.attribution.clone(),
        order: args.order.clone(),
        families: args.families.clone(),
        source: args.source.clone(),
        formats: vec![],
        title: args.title.clone(),
    }
    .check()
    .map_err(|problems| {
        Diagnostics(
            problems
                .into_iter()
                .map(|p| {
                    let mut d = p.diagnostic;
                    d.message = options_named(&d.message);
                    d.help = d.help.as_deref().map(options_named);
                    d
                })
                .collect(),
        )
    })?;
    let cb = load_codebook(&study)?;
    if let Some(s) = &args.source {
        super::common::code_source(&study, s)?;
    }
    let opened = ctx.open_index(&study)?;
    let mut out = super::common::stdout();
    if !args.explain.is_empty() {
        let TableKind::Matrix {
            rows,
            cols,
            measure,
        } = &spec.kind
        else {
            bail!(Diagnostic::error("--explain works on matrix tables"));
        };
        let source = super::common::code_source(&study, args.source.as_deref().unwrap_or("any"))?;
        let coded = Coded::load(&opened, &source)?;
        let m = crate::table::matrix::build(&coded, &cb, rows, cols, *measure)?;
        let (row, col) = (&args.explain[0], &args.explain[1]);
        let Some(cell) = m.explain(row, col) else {
            bail!(
                Diagnostic::error(format!("no cell `{row}` × `{col}`")).with_help(format!(
                    "rows: {}; columns: {}, Total",
                    m.rows.join(", "),
                    m.columns.join(", ")
                ))
            );
        };
        for id in &cell.passages {
            let Some(pid) = crate::table::coded::PassageId::parse(id) else {
                continue;
            };
            let (path, s, e) = (pid.path.as_str(), pid.start, pid.end);
            let head = format!(
                "{id}  {}  {}",
                coded.attr(path, "case"),
                coded.codes_at(&pid)
            );
            writeln!(out, "{}", crate::render::printable(&head))?;
            writeln!(
                out,
                "    {}",
                crate::render::one_line(&coded.text(path, s, e), 400)
            )?;
        }
        out.flush()?;
        ctx.warn_changed(&opened.changed_texts());
        ctx.note(format!(
            "{} behind {row} × {col} (value {})",
            super::common::count(cell.passages.len(), "passage"),
            crate::table::matrix::show(m.measure, cell.value)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let output = spec::produce(&spec, &opened, &cb)?;
    super::run::write_output(&output, &args.format, ctx.cells(), &mut out)?;
    out.flush()?;
    ctx.warn_changed(&opened.changed_texts());
    Ok(ExitCode::SUCCESS)
}

/// A settings message in the words of the command line: `max_chars` is
/// `--max-chars`, and so on, for the keys that are options.
fn options_named(text: &str) -> String {
    let mut out = text.to_string();
    for key in TABLE_KEYS {
        if matches!(*key, "name" | "kind" | "formats") {
            continue;
        }
        out = out.replace(
            &format!("`{key}`"),
            &format!("`--{}`", key.replace('_', "-")),
        );
    }
    out
}

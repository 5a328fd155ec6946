//! `qualdex codings`: list, check and import manual codings.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use super::common::{coder_name, one_line, read_doc};
use crate::coding::manual::{self, Anchor, Codings};
use crate::corpus::Document;
use crate::diag::{Diagnostic, Diagnostics};
use crate::index::load_codebook;
use crate::render::{Cell, Table, TableFormat, write_table};

const HELP: &str = "Examples:
  qualdex codings list --coder anna
  qualdex codings check                 where each coding sits now; orphans exit 1
  qualdex codings import atlas-export.csv --coder anna

An import CSV has columns document (or doc, path), start, end, code, and optionally
coder and memo; start and end are character offsets into the plain text.";

/// List, check and import manual codings.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// Actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List manual codings where they sit in the current text.
    List(Filter),
    /// Re-anchor every coding to the current text; report moved, fuzzy and orphaned ones.
    Check(Filter),
    /// Import codings from a CSV (document, start, end, code[, coder, memo]).
    Import(Import),
}

/// Which codings.
#[derive(Debug, clap::Args)]
pub struct Filter {
    /// Only this coder's.
    #[arg(long)]
    pub coder: Option<String>,
    /// Only this document's.
    #[arg(long)]
    pub doc: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Md)]
    pub format: TableFormat,
}

/// Import options.
#[derive(Debug, clap::Args)]
pub struct Import {
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// Coder for rows without a coder column.
    #[arg(long)]
    pub coder: Option<String>,
}

/// Runs `codings`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    match &args.action {
        Action::List(f) => list(ctx, f, false),
        Action::Check(f) => list(ctx, f, true),
        Action::Import(i) => import(ctx, i),
    }
}

fn list(ctx: &Ctx, f: &Filter, check: bool) -> Result<ExitCode> {
    let study = ctx.study()?;
    let codings = Codings::load(&study.codings_dir())?;
    let mut docs: BTreeMap<String, Option<Document>> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (coder, (_, file)) in &codings.files {
        if f.coder.as_ref().is_some_and(|c| c != coder) {
            continue;
        }
        for m in &file.codings {
            if f.doc.as_ref().is_some_and(|d| *d != m.doc) {
                continue;
            }
            let doc = docs
                .entry(m.doc.clone())
                .or_insert_with(|| read_doc(&study, &m.doc).ok());
            let anchor = doc
                .as_ref()
                .map_or(Anchor::Orphan, |d| manual::anchor(&d.text, m));
            *counts.entry(anchor.label()).or_default() += 1;
            let (start, end) = anchor
                .range()
                .map_or((String::new(), String::new()), |(s, e)| {
                    (s.to_string(), e.to_string())
                });
            let mut row = vec![
                Cell::Text(coder.clone()),
                Cell::Text(m.code.clone()),
                Cell::Text(m.doc.clone()),
                Cell::Text(start),
                Cell::Text(end),
            ];
            if check {
                let status = match &anchor {
                    Anchor::Fuzzy { score, .. } => format!("fuzzy ({score:.2})"),
                    a => a.label().to_string(),
                };
                row.push(Cell::Text(status));
            }
            row.push(Cell::Text(one_line(&m.quote, 70)));
            row.push(Cell::Text(m.memo.clone().unwrap_or_default()));
            rows.push(row);
        }
    }
    let mut columns = vec!["coder", "code", "document", "start", "end"];
    if check {
        columns.push("status");
    }
    columns.extend(["quote", "memo"]);
    let table = Table {
        title: None,
        columns: columns.into_iter().map(String::from).collect(),
        rows,
        total_rows_from: None,
        json: None,
    };
    let mut out = super::common::stdout();
    write_table(&table, f.format, &mut out)?;
    out.flush()?;
    if check {
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        ctx.note(format!(
            "{} checked: {}",
            super::common::count(table.rows.len(), "coding"),
            summary.join(", ")
        ));
        if counts.get("orphaned").copied().unwrap_or(0) > 0 {
            ctx.note("orphaned codings stay in their files: re-code them with `qualdex code add`, then delete the old entry");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Ctx, args: &Import) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let text = crate::fsutil::read_input_text(&args.file)
        .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&args.file))?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(dc), Some(sc), Some(ec), Some(cc)) = (
        col(&["document", "doc", "path"]),
        col(&["start"]),
        col(&["end"]),
        col(&["code"]),
    ) else {
        return Err(
            Diagnostic::error("the CSV needs columns document, start, end and code")
                .in_file(&args.file)
                .at_line(1)
                .with_source_from(&text, 1)
                .into(),
        );
    };
    let coder_col = col(&["coder"]);
    let memo_col = col(&["memo"]);
    let mut problems = Vec::new();
    let mut new: Vec<(String, manual::ManualCoding)> = Vec::new();
    let mut docs: BTreeMap<String, Option<Document>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let bad = |msg: String| {
            Diagnostic::error(msg)
                .in_file(&args.file)
                .at_line(line)
                .with_source_from(&text, 1)
        };
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let doc_path = get(dc);
        let (Ok(start), Ok(end)) = (get(sc).parse::<usize>(), get(ec).parse::<usize>()) else {
            problems.push(bad(
                "start and end must be whole numbers (character offsets)".into(),
            ));
            continue;
        };
        let code = match cb.resolve(&get(cc)) {
            Ok(r) => r.path,
            Err(d) => {
                problems.push(bad(d.message).with_help(d.help.unwrap_or_default()));
                continue;
            }
        };
        let doc = docs
            .entry(doc_path.clone())
            .or_insert_with(|| read_doc(&study, &doc_path).ok());
        let Some(doc) = doc else {
            problems.push(bad(format!("no document `{doc_path}` in the corpus")));
            continue;
        };
        let memo = memo_col.map(get).filter(|m| !m.is_empty());
        let Some(m) = manual::make_coding(
            &doc.text,
            &doc.path,
            &code,
            start,
            end,
            memo,
            manual::now_rfc3339(),
        )
        .filter(|_| start < end) else {
            problems.push(bad(format!(
                "[{start}, {end}) is not a range inside `{doc_path}` ({} characters)",
                doc.text.chars().count()
            )));
            continue;
        };
        let coder = coder_col
            .map(get)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| coder_name(args.coder.as_deref()));
        new.push((coder, m));
    }
    if !problems.is_empty() {
        return Err(Diagnostics(problems).into());
    }
    let dir = study.codings_dir();
    let mut codings = Codings::load(&dir)?;
    let mut touched = std::collections::BTreeSet::new();
    let n = new.len();
    for (coder, m) in new {
        codings.file_for(&dir, &coder).1.codings.push(m);
        touched.insert(coder);
    }
    for c in &touched {
        codings.save(c)?;
    }
    ctx.note(format!(
        "imported {} for {}",
        super::common::count(n, "coding"),
        touched.into_iter().collect::<Vec<_>>().join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

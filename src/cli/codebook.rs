//! `qualdex codebook`: check, show and export the codebook.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use crate::codebook::Codebook;
use crate::corpus::{self, ReadOptions};
use crate::diag::Diagnostic;
use crate::query::{self, CodeSource};
use crate::refresh::{CodedDocument, CodingContext, Progress, Sink, load_codebook, read_and_code};
use crate::render::{Cell, Table, TableFormat, write_table_as};

const HELP: &str = "Examples:
  qualdex codebook check                       validate; warn about rules that match nothing
  qualdex codebook check --codebook draft.yaml
  qualdex codebook show                        the code tree with passage and document counts
  qualdex codebook export --format csv > appendix-codebook.csv

The codebook format is described in docs/codebook.md.";

/// Check, show and export the codebook.
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
    /// Validate the codebook and try every rule on the corpus.
    Check {
        /// Check this file instead of the study's codebooks.
        #[arg(long)]
        codebook: Option<PathBuf>,
    },
    /// Print the code tree with passage and document counts per code.
    Show {
        /// Output format (default: an indented tree).
        #[arg(long, value_enum)]
        format: Option<TableFormat>,
    },
    /// Write the codebook table for an appendix: code, label, definition, include, exclude, example.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableFormat::Md)]
        format: TableFormat,
    },
}

/// Runs `codebook`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    match &args.action {
        Action::Check { codebook } => check(ctx, codebook.as_ref()),
        Action::Show { format } => show(ctx, *format),
        Action::Export { format } => export(ctx, *format),
    }
}

fn check(ctx: &Ctx, file: Option<&PathBuf>) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = match file {
        Some(f) => Codebook::load(std::slice::from_ref(f), study.config.unit)?,
        None => load_codebook(&study)?,
    };
    if cb.codes.is_empty() {
        bail!(
            Diagnostic::error("no codes to check")
                .with_help("list codebook files under `codebooks:` in qualdex.yaml")
        );
    }
    let mut warnings: Vec<String> = Vec::new();
    for (id, paths) in cb.ambiguous_ids() {
        warnings.push(format!(
            "code id `{id}` is used by {}: refer to them by full path",
            paths.join(", ")
        ));
    }
    // Try every rule on the whole corpus, in memory (the index is not touched).
    let codings = crate::coding::manual::Codings::load(&study.codings_dir())?;
    let coding = CodingContext::new(cb.clone(), codings, &study.config.language);
    coding.prepare()?;
    let corpus_dir = study.require_corpus()?;
    let sheets = corpus::attributes::Sheets::load(&corpus_dir)?;
    let files = corpus::discover(&corpus_dir)?.files;
    let opts = ReadOptions {
        lossy: false,
        speakers: crate::refresh::speaker_rules(&study),
    };
    let all: Vec<&corpus::FoundFile> = files.iter().collect();
    let mut stats = RuleStats {
        hits: vec![0usize; cb.rules.len()],
        ..RuleStats::default()
    };
    let bar = super::progress::Bar::new(ctx.quiet);
    bar.start(all.len(), "checking rules");
    let unreadable = read_and_code(&all, &opts, &sheets, &coding, &bar, &mut stats)?;
    bar.finish();
    // A file that cannot be read has not been tried: say so, or a rule
    // could seem to match nothing when its document was simply unreadable.
    for d in &unreadable {
        let file = d.origin.as_deref().unwrap_or("a transcript");
        warnings.push(format!(
            "`{file}` could not be read, so no rule was tried on it: {}",
            d.message
        ));
    }
    let RuleStats {
        hits,
        applied,
        attrs,
    } = stats;
    for (i, r) in cb.rules.iter().enumerate() {
        if hits[i] == 0 {
            warnings.push(format!(
                "rule `{}` ({}) matches nothing in the {}",
                cb.rule_name(r),
                r.kind_name(),
                if unreadable.is_empty() {
                    "corpus"
                } else {
                    "transcripts that could be read"
                }
            ));
        }
        if let crate::codebook::RuleKind::Query(node, _) = &r.kind {
            for l in crate::querylang::leaves(node) {
                if let Some(f) = &l.field {
                    let n = corpus::frontmatter::normalise_name(f);
                    if !query::BUILTIN_FIELDS.contains(&n.as_str()) && !attrs.contains(&n) {
                        warnings.push(format!(
                            "rule `{}` filters on `{f}`, which no document has",
                            cb.rule_name(r)
                        ));
                    }
                }
            }
        }
    }
    for c in &cb.codes {
        let used = applied
            .iter()
            .any(|a| a == &c.path || a.starts_with(&format!("{}/", c.path)));
        if !used {
            warnings.push(format!(
                "code `{}` is never applied (no rule matches and nobody coded it)",
                c.path
            ));
        }
    }
    for w in &warnings {
        ctx.note(format!("warning: {w}"));
    }
    let mut out = super::common::stdout();
    writeln!(
        out,
        "codebook ok: {} in {}, {} on {}{}; {}",
        super::common::count(cb.codes.len(), "code"),
        super::common::count(cb.families.len(), "family"),
        super::common::count(cb.rules.len(), "rule"),
        super::common::count(files.len() - unreadable.len(), "document"),
        if unreadable.is_empty() {
            String::new()
        } else {
            format!(" ({} could not be read)", unreadable.len())
        },
        super::common::count(warnings.len(), "warning")
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// What `codebook check` gathers from every coded document: units coded
/// per rule, the codes applied and the attribute names seen.
#[derive(Default)]
struct RuleStats {
    hits: Vec<usize>,
    applied: BTreeSet<String>,
    attrs: BTreeSet<String>,
}

impl Sink for RuleStats {
    /// Units coded per rule, the distinct codes applied and the attribute
    /// names: made on the reading threads, merged in order.
    type Prepared = (Vec<usize>, BTreeSet<String>, Vec<String>);

    fn prepare(&self, coded: CodedDocument) -> Self::Prepared {
        let codes: BTreeSet<&str> = coded.passages.iter().map(|p| p.code.as_str()).collect();
        (
            coded.hits.units,
            codes.into_iter().map(str::to_string).collect(),
            coded.attrs.into_keys().collect(),
        )
    }

    fn take(
        &mut self,
        _file: &corpus::FoundFile,
        (units, codes, attrs): Self::Prepared,
    ) -> std::result::Result<(), crate::diag::Diagnostics> {
        for (i, n) in units.iter().enumerate() {
            if let Some(h) = self.hits.get_mut(i) {
                *h += n;
            }
        }
        self.applied.extend(codes);
        self.attrs.extend(attrs);
        Ok(())
    }
}

/// Distinct passages and documents per code, rolled up over descendants.
pub fn counts(
    opened: &crate::index::Opened,
    cb: &Codebook,
) -> Result<BTreeMap<String, (usize, usize)>> {
    let all = query::passages(opened, None, &CodeSource::Any, None)?;
    let mut spans: BTreeMap<String, BTreeSet<(String, usize, usize)>> = BTreeMap::new();
    let mut docs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for h in &all {
        for a in crate::codebook::ancestors(&h.passage.code) {
            spans.entry(a.clone()).or_default().insert((
                h.path.clone(),
                h.passage.start,
                h.passage.end,
            ));
            docs.entry(a).or_default().insert(h.path.clone());
        }
    }
    Ok(cb
        .families
        .iter()
        .map(|f| f.id.clone())
        .chain(cb.codes.iter().map(|c| c.path.clone()))
        .map(|p| {
            let n = spans.get(&p).map_or(0, BTreeSet::len);
            let d = docs.get(&p).map_or(0, BTreeSet::len);
            (p, (n, d))
        })
        .collect())
}

fn show(ctx: &Ctx, format: Option<TableFormat>) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let opened = ctx.open_index(&study)?;
    let counts = counts(&opened, &cb)?;
    let mut out = super::common::stdout();
    let mut rows = Vec::new();
    for f in &cb.families {
        let (n, d) = counts.get(&f.id).copied().unwrap_or_default();
        rows.push((0usize, f.id.clone(), f.label.clone(), n, d));
        for c in cb.subtree(&f.id) {
            let (n, d) = counts.get(&c.path).copied().unwrap_or_default();
            rows.push((c.depth, c.id.clone(), c.label.clone(), n, d));
        }
    }
    match format {
        None => {
            let width = rows
                .iter()
                .map(|r| r.0 * 2 + r.1.chars().count())
                .max()
                .unwrap_or(10)
                + 2;
            let lw = rows
                .iter()
                .map(|r| r.2.chars().count())
                .max()
                .unwrap_or(10)
                .min(50)
                + 2;
            writeln!(
                out,
                "{:width$}{:lw$}{:>9}{:>6}",
                "code", "label", "passages", "docs"
            )?;
            for (depth, id, label, n, d) in &rows {
                let name = format!("{}{id}", "  ".repeat(*depth));
                let label: String = crate::render::printable(label).chars().take(50).collect();
                writeln!(out, "{name:width$}{label:lw$}{n:>9}{d:>6}")?;
            }
        }
        Some(fmt) => {
            let table = Table {
                title: cb.title.clone(),
                columns: ["code", "label", "passages", "documents"]
                    .map(String::from)
                    .to_vec(),
                rows: rows
                    .iter()
                    .map(|(depth, id, label, n, d)| {
                        vec![
                            Cell::Text(format!("{}{id}", "  ".repeat(*depth))),
                            Cell::Text(label.clone()),
                            Cell::Count(*n as u64),
                            Cell::Count(*d as u64),
                        ]
                    })
                    .collect(),
                total_rows_from: None,
                json: None,
            };
            write_table_as(&table, fmt, ctx.cells(), &mut out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn export(ctx: &Ctx, format: TableFormat) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let mut out = super::common::stdout();
    write_table_as(
        &crate::table::codebook::table(&cb),
        format,
        ctx.cells(),
        &mut out,
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

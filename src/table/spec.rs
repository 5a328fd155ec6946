//! From a [`TableSpec`] (command line or `qualdex.yaml`) to a finished table:
//! resolve the options, compute, and hand back something a renderer writes.

use crate::codebook::Codebook;
use crate::diag::{Diagnostic, Diagnostics};
use crate::index::Opened;
use crate::query::CodeSource;
use crate::render::Table;
use crate::study::{TableSpec, UnitKind};

use super::coded::Coded;
use super::cooccur::CellShow;
use super::framework::FrameworkCell;
use super::matrix::Measure;

/// Table kinds.
pub const KINDS: &[&str] = &[
    "corpus",
    "matrix",
    "cooccur",
    "framework",
    "quotes",
    "structure",
    "saturation",
];

/// A computed table, or text for the graph formats of `structure`.
pub enum Output {
    /// A table for any renderer.
    Table(Table),
    /// Graphviz DOT or Mermaid source.
    Graph {
        /// DOT source.
        dot: String,
        /// Mermaid source.
        mermaid: String,
        /// The same as a table.
        table: Table,
    },
}

impl Output {
    /// The table form.
    pub fn table(&self) -> &Table {
        match self {
            Output::Table(t) | Output::Graph { table: t, .. } => t,
        }
    }
}

fn need<'a>(
    spec: &'a TableSpec,
    what: &str,
    value: Option<&'a String>,
    example: &str,
) -> Result<&'a str, Diagnostic> {
    value.map(String::as_str).ok_or_else(|| {
        Diagnostic::error(format!("a `{}` table needs `{what}`", spec.kind))
            .with_help(format!("e.g. {example}"))
    })
}

/// Computes a table.
pub fn produce(spec: &TableSpec, opened: &Opened, cb: &Codebook) -> Result<Output, Diagnostics> {
    let source = CodeSource::parse(spec.source.as_deref().unwrap_or("any"));
    let title = spec.title.clone();
    let kind = spec.kind.as_str();
    if kind != "corpus" && cb.codes.is_empty() {
        return Err(
            Diagnostic::error(format!("a `{kind}` table needs a codebook"))
                .with_help("list codebook files under `codebooks:` in qualdex.yaml")
                .into(),
        );
    }
    let table = match kind {
        "corpus" => {
            let mut t = match &spec.by {
                None => super::corpus::summary(opened.manifest()),
                Some(a) => super::corpus::by_attribute(opened.manifest(), a)?,
            };
            if title.is_some() {
                t.title = title;
            }
            t
        }
        "matrix" => {
            let rows = need(spec, "rows", spec.rows.as_ref(), "--rows challenges")?;
            if spec.cols.is_empty() || spec.cols.len() > 2 {
                return Err(Diagnostic::error(
                    "a `matrix` table needs one or two column attributes",
                )
                .with_help("e.g. --cols case, or --cols case,side for case x side")
                .into());
            }
            let measure = match spec.measure.as_deref() {
                None => Measure::Passages,
                Some(m) => Measure::parse(m).ok_or_else(|| {
                    Diagnostic::error(format!("unknown measure `{m}`"))
                        .with_help("measures: passages, docs, presence, percent, words")
                })?,
            };
            let root = cb.resolve(rows)?.path;
            let coded = Coded::load_under(opened, &source, Some(&root))?;
            super::matrix::build(&coded, cb, rows, &spec.cols, measure)?.to_table(title)
        }
        "cooccur" => {
            let rows = need(spec, "rows", spec.rows.as_ref(), "--rows constellations")?;
            let rows: Vec<String> = rows.split(',').map(|s| s.trim().to_string()).collect();
            let cols = if spec.cols.is_empty() {
                rows.clone()
            } else {
                spec.cols.clone()
            };
            let within = match spec.within.as_deref() {
                None => UnitKind::Paragraph,
                Some(w) => UnitKind::parse(w).ok_or_else(|| {
                    Diagnostic::error(format!("unknown unit `{w}`"))
                        .with_help("within: sentence, paragraph, turn, document")
                })?,
            };
            let show = match spec.cells.as_deref() {
                None | Some("count") => CellShow::Count,
                Some("cases") => CellShow::Cases,
                Some(o) => {
                    return Err(Diagnostic::error(format!("unknown cells `{o}`"))
                        .with_help("cells: count, cases")
                        .into());
                }
            };
            super::cooccur::build(opened, cb, &rows, &cols, within, &source)?.to_table(show, title)
        }
        "framework" => {
            if spec.cols.is_empty() {
                return Err(Diagnostic::error(
                    "a `framework` table needs `cols`: codes or families",
                )
                .with_help("e.g. --cols market-orientation,coordination")
                .into());
            }
            let show = match spec.cells.as_deref() {
                None | Some("codes") => FrameworkCell::Codes,
                Some("quote") => FrameworkCell::Quote,
                Some("count") => FrameworkCell::Count,
                Some(o) => {
                    return Err(Diagnostic::error(format!("unknown cells `{o}`"))
                        .with_help("cells: codes, quote, count")
                        .into());
                }
            };
            let coded = Coded::load(opened, &source)?;
            let rows = spec.rows.as_deref().unwrap_or("case");
            super::framework::build(&coded, cb, rows, &spec.cols, show)?.to_table(cb, title)
        }
        "quotes" => {
            let rows = need(spec, "rows", spec.rows.as_ref(), "--rows challenges")?;
            let root = cb.resolve(rows)?.path;
            let coded = Coded::load_under(opened, &source, Some(&root))?;
            let attribution: Vec<String> = if spec.attribution.is_empty() {
                ["role", "case", "side", "country"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                spec.attribution.clone()
            };
            let q = super::quotes::build(
                &coded,
                cb,
                rows,
                spec.by.as_deref(),
                spec.k.unwrap_or(3),
                spec.max_chars.unwrap_or(300),
                &attribution,
            )?;
            super::quotes::to_table(&q, spec.by.as_deref(), title)
        }
        "structure" => {
            let coded = Coded::load(opened, &source)?;
            let nodes = super::structure::build(&coded, cb, &spec.families);
            return Ok(Output::Graph {
                dot: super::structure::to_dot(&nodes),
                mermaid: super::structure::to_mermaid(&nodes),
                table: super::structure::to_table(&nodes, title),
            });
        }
        "saturation" => {
            let coded = Coded::load(opened, &source)?;
            let order = spec.order.clone().unwrap_or_else(|| {
                let names = opened.attribute_names();
                ["date", "phase", "round"]
                    .iter()
                    .find(|a| names.contains(**a))
                    .map_or("path".to_string(), |a| a.to_string())
            });
            let steps = super::saturation::build(&coded, &order);
            super::saturation::to_table(&steps, &order, title)
        }
        other => {
            let help = match crate::diag::suggest(other, KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? kinds: {}", KINDS.join(", ")),
                None => format!("kinds: {}", KINDS.join(", ")),
            };
            return Err(Diagnostic::error(format!("unknown table kind `{other}`"))
                .with_help(help)
                .into());
        }
    };
    Ok(Output::Table(table))
}

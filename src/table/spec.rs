//! From a checked [`TableSpec`] (command line or `qualdex.yaml`) to a
//! finished table: compute, and hand back something a renderer writes.

use crate::codebook::Codebook;
use crate::diag::{Diagnostic, Diagnostics};
use crate::index::Opened;
use crate::query::CodeSource;
use crate::render::Table;
use crate::study::{TableKind, TableSpec};

use super::coded::Coded;

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

/// Computes a table.
pub fn produce(spec: &TableSpec, opened: &Opened, cb: &Codebook) -> Result<Output, Diagnostics> {
    let source = CodeSource::parse(spec.source.as_deref().unwrap_or("any"));
    let title = spec.title.clone();
    let kind = spec.kind.name();
    if kind != "corpus" && cb.codes.is_empty() {
        return Err(
            Diagnostic::error(format!("a `{kind}` table needs a codebook"))
                .with_help("list codebook files under `codebooks:` in qualdex.yaml")
                .into(),
        );
    }
    let table = match &spec.kind {
        TableKind::Corpus { by } => {
            let mut t = match by {
                None => super::corpus::summary(opened.manifest()),
                Some(a) => super::corpus::by_attribute(opened.manifest(), a)?,
            };
            if title.is_some() {
                t.title = title;
            }
            t
        }
        TableKind::Matrix {
            rows,
            cols,
            measure,
        } => {
            let root = cb.resolve(rows)?.path;
            let coded = Coded::load_under(opened, &source, Some(&root))?;
            super::matrix::build(&coded, cb, rows, cols, *measure)?.to_table(title)
        }
        TableKind::Cooccur {
            rows,
            cols,
            within,
            cells,
        } => {
            super::cooccur::build(opened, cb, rows, cols, *within, &source)?.to_table(*cells, title)
        }
        TableKind::Framework { rows, cols, cells } => {
            let coded = Coded::load(opened, &source)?;
            super::framework::build(&coded, cb, rows, cols, *cells)?.to_table(cb, title)
        }
        TableKind::Quotes {
            rows,
            by,
            k,
            max_chars,
            attribution,
        } => {
            let root = cb.resolve(rows)?.path;
            let coded = Coded::load_under(opened, &source, Some(&root))?;
            let q =
                super::quotes::build(&coded, cb, rows, by.as_deref(), *k, *max_chars, attribution)?;
            super::quotes::to_table(&q, by.as_deref(), title)
        }
        TableKind::Structure { families } => {
            let coded = Coded::load(opened, &source)?;
            let nodes = super::structure::build(&coded, cb, families);
            return Ok(Output::Graph {
                dot: super::structure::to_dot(&nodes),
                mermaid: super::structure::to_mermaid(&nodes),
                table: super::structure::to_table(&nodes, title),
            });
        }
        TableKind::Saturation { order } => {
            let coded = Coded::load(opened, &source)?;
            let order = order.clone().unwrap_or_else(|| {
                let names = opened.attribute_names();
                ["date", "phase", "round"]
                    .iter()
                    .find(|a| names.contains(**a))
                    .map_or("path".to_string(), |a| a.to_string())
            });
            let steps = super::saturation::build(&coded, &order);
            super::saturation::to_table(&steps, &order, title)
        }
    };
    Ok(Output::Table(table))
}

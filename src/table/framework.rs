//! The framework matrix: rows are cases (or informants, or any attribute),
//! columns are codes or whole families; a cell lists the child codes present
//! (e.g. market orientation: reactive) or the row's best quote.

use std::collections::BTreeSet;

use serde::Serialize;

use super::coded::{Coded, under};
use super::quotes::rank;
use crate::codebook::Codebook;
use crate::diag::Diagnostic;
use crate::render::{Cell, Table};
use crate::study::FrameworkCells;

/// A framework matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framework {
    /// `framework`.
    pub kind: String,
    /// The attribute rows are drawn from.
    pub row_attribute: String,
    /// Row values.
    pub rows: Vec<String>,
    /// Column code ids.
    pub columns: Vec<String>,
    /// Cell texts.
    pub cells: Vec<Vec<String>>,
    /// Passage ids per cell.
    pub passages: Vec<Vec<Vec<String>>>,
}

/// Builds the table.
pub fn build(
    coded: &Coded<'_>,
    cb: &Codebook,
    row_attr: &str,
    cols: &[String],
    show: FrameworkCells,
) -> Result<Framework, Diagnostic> {
    let attr = super::matrix::check_attributes(coded, &[row_attr.to_string()])?.remove(0);
    let columns: Vec<String> = cols
        .iter()
        .map(|c| cb.resolve(c).map(|r| r.path))
        .collect::<Result<_, _>>()?;
    let rows: BTreeSet<String> = coded.docs.keys().map(|p| coded.attr(p, &attr)).collect();
    let rows: Vec<String> = rows.into_iter().collect();
    let mut cells = Vec::new();
    let mut ids = Vec::new();
    for r in &rows {
        let mut row = Vec::new();
        let mut row_ids = Vec::new();
        for c in &columns {
            let ps: Vec<&super::coded::Passage> = coded
                .passages
                .iter()
                .filter(|p| under(&p.code, c) && coded.attr(&p.path, &attr) == *r)
                .collect();
            row_ids.push(
                ps.iter()
                    .map(|p| p.id())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            );
            let text = match show {
                FrameworkCells::Count => ps
                    .iter()
                    .map(|p| p.id())
                    .collect::<BTreeSet<_>>()
                    .len()
                    .to_string(),
                FrameworkCells::Quote => rank(&ps)
                    .first()
                    .map(|p| crate::render::one_line(&coded.text(&p.path, p.start, p.end), 160))
                    .unwrap_or_default(),
                FrameworkCells::Codes => {
                    let children: Vec<&crate::codebook::Code> = cb.children(c);
                    if children.is_empty() {
                        if ps.is_empty() {
                            String::new()
                        } else {
                            "✓".to_string()
                        }
                    } else {
                        children
                            .iter()
                            .filter(|ch| ps.iter().any(|p| under(&p.code, &ch.path)))
                            .map(|ch| ch.label.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                }
            };
            row.push(text);
        }
        cells.push(row);
        ids.push(row_ids);
    }
    Ok(Framework {
        kind: "framework".into(),
        row_attribute: attr,
        rows,
        columns,
        cells,
        passages: ids,
    })
}

impl Framework {
    /// As a table.
    pub fn to_table(&self, cb: &Codebook, title: Option<String>) -> Table {
        let label = |c: &str| {
            cb.code(c)
                .map(|x| x.label.clone())
                .or_else(|| {
                    cb.families
                        .iter()
                        .find(|f| f.id == c)
                        .map(|f| f.label.clone())
                })
                .unwrap_or_else(|| c.to_string())
        };
        let mut columns = vec![self.row_attribute.clone()];
        columns.extend(self.columns.iter().map(|c| label(c)));
        let rows = self
            .rows
            .iter()
            .zip(&self.cells)
            .map(|(r, cs)| {
                let mut row = vec![Cell::Text(r.clone())];
                row.extend(cs.iter().map(|c| Cell::Text(c.clone())));
                row
            })
            .collect();
        Table {
            title: Some(
                title.unwrap_or_else(|| format!("Framework matrix by {}", self.row_attribute)),
            ),
            columns,
            rows,
            total_rows_from: None,
            json: Some(crate::render::RichJson::of(self.clone())),
        }
    }
}

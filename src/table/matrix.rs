//! The code × attribute matrix: rows are codes (a family or subtree, parents
//! rolling up their children), columns are the values of one attribute or
//! of two nested ones; every cell keeps the passages behind it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::coded::Coded;
use crate::codebook::Codebook;
use crate::diag::{Diagnostic, suggest};

pub use crate::study::Measure;

/// One cell: its value and the passages behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixCell {
    /// The measure's value.
    pub value: f64,
    /// Ids (`path#start-end`) of the passages behind it.
    pub passages: Vec<String>,
}

/// A computed matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// `matrix`.
    pub kind: String,
    /// The measure.
    pub measure: Measure,
    /// Row code ids.
    pub rows: Vec<String>,
    /// Row labels.
    pub row_labels: Vec<String>,
    /// Row depth below the root (0 for the root).
    pub row_depth: Vec<usize>,
    /// Column values (`A / B` for nested attributes).
    pub columns: Vec<String>,
    /// The attribute(s) columns are drawn from.
    pub column_attributes: Vec<String>,
    /// Documents per column.
    pub column_documents: Vec<usize>,
    /// Cells, a row per code and a column per value.
    pub cells: Vec<Vec<MatrixCell>>,
    /// Per row, over all documents.
    pub row_totals: Vec<MatrixCell>,
    /// Per column, over every code of the table.
    pub column_totals: Vec<MatrixCell>,
    /// Over everything.
    pub total: MatrixCell,
}

/// Resolves a rows argument (family or code) to its codes, root first.
pub fn row_codes(cb: &Codebook, rows: &str) -> Result<Vec<(String, String, usize)>, Diagnostic> {
    let r = cb.resolve(rows)?;
    let mut out = Vec::new();
    let base_depth = if r.family {
        let label = cb
            .families
            .iter()
            .find(|f| f.id == r.path)
            .map_or(r.path.clone(), |f| f.label.clone());
        out.push((r.path.clone(), label, 0));
        0
    } else {
        cb.code(&r.path).map_or(0, |c| c.depth)
    };
    for c in cb.subtree(&r.path) {
        let depth = if r.family {
            c.depth
        } else {
            c.depth - base_depth
        };
        out.push((c.path.clone(), c.label.clone(), depth));
    }
    Ok(out)
}

/// Checks attribute names against the corpus.
pub fn check_attributes(coded: &Coded<'_>, attrs: &[String]) -> Result<Vec<String>, Diagnostic> {
    let known: BTreeSet<String> = coded
        .docs
        .values()
        .flat_map(|d| d.attributes.keys().cloned())
        .collect();
    attrs
        .iter()
        .map(|a| {
            let n = crate::corpus::frontmatter::normalise_name(a);
            if known.contains(&n) {
                Ok(n)
            } else {
                let help = match suggest(&n, known.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "attributes: {}",
                        known.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                Err(Diagnostic::error(format!("unknown attribute `{a}`")).with_help(help))
            }
        })
        .collect()
}

/// The column key of a document.
pub fn column_of(coded: &Coded<'_>, path: &str, attrs: &[String]) -> String {
    attrs
        .iter()
        .map(|a| coded.attr(path, a))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A coded span: (document number in path order, start, end).
type Span = (u32, usize, usize);

/// Sorted, distinct spans.
fn distinct(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    spans.dedup();
    spans
}

fn cell(
    coded: &Coded<'_>,
    names: &[&str],
    measure: Measure,
    spans: &[Span],
    column_docs: usize,
) -> MatrixCell {
    // Spans are sorted by document, so documents are counted in one pass.
    let docs = spans
        .iter()
        .enumerate()
        .filter(|(i, s)| *i == 0 || spans[i - 1].0 != s.0)
        .count();
    let value = match measure {
        Measure::Passages => spans.len() as f64,
        Measure::Docs => docs as f64,
        Measure::Presence => f64::from(u8::from(docs > 0)),
        Measure::Percent => {
            if column_docs == 0 {
                0.0
            } else {
                (docs as f64 * 1000.0 / column_docs as f64).round() / 10.0
            }
        }
        Measure::Words => {
            let mut by_doc: BTreeMap<u32, BTreeSet<(usize, usize)>> = BTreeMap::new();
            for &(d, s, e) in spans {
                by_doc.entry(d).or_default().insert((s, e));
            }
            by_doc
                .iter()
                .map(|(d, r)| coded.words_in(names[*d as usize], r))
                .sum::<usize>() as f64
        }
    };
    MatrixCell {
        value,
        passages: spans
            .iter()
            .map(|&(d, s, e)| {
                use std::fmt::Write;
                let name = names[d as usize];
                let mut id = String::with_capacity(name.len() + 16);
                id.push_str(name);
                let _ = write!(id, "#{s}-{e}");
                id
            })
            .collect(),
    }
}

/// Builds a matrix.
pub fn build(
    coded: &Coded<'_>,
    cb: &Codebook,
    rows: &str,
    cols: &[String],
    measure: Measure,
) -> Result<Matrix, Diagnostic> {
    let row_list = row_codes(cb, rows)?;
    let attrs = check_attributes(coded, cols)?;
    let names: Vec<&str> = coded.docs.keys().map(String::as_str).collect();
    let doc_number: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    // Column per document (by number), and documents per column.
    let doc_col: Vec<String> = names.iter().map(|p| column_of(coded, p, &attrs)).collect();
    let mut col_docs: BTreeMap<String, usize> = BTreeMap::new();
    for c in &doc_col {
        *col_docs.entry(c.clone()).or_default() += 1;
    }
    let columns: Vec<String> = col_docs.keys().cloned().collect();
    let col_number: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let doc_col: Vec<usize> = doc_col.iter().map(|c| col_number[c.as_str()]).collect();
    // Spans per row root, bucketed by column in one pass over the root's passages.
    let bucket = |root: &str| -> (Vec<Vec<Span>>, Vec<Span>) {
        let mut by_col: Vec<Vec<Span>> = vec![Vec::new(); columns.len()];
        let mut all = Vec::new();
        for p in coded.under_root(root) {
            let Some(&d) = doc_number.get(p.path.as_str()) else {
                continue;
            };
            by_col[doc_col[d as usize]].push((d, p.start, p.end));
            all.push((d, p.start, p.end));
        }
        (by_col.into_iter().map(distinct).collect(), distinct(all))
    };
    let total_docs = coded.docs.len();
    let mut cells = Vec::new();
    let mut row_totals = Vec::new();
    // Column totals: any code of the table (the roots cover their subtrees).
    let mut union_by_col: Vec<Vec<Span>> = vec![Vec::new(); columns.len()];
    let mut union_all = Vec::new();
    for (code, _, depth) in &row_list {
        let (by_col, all) = bucket(code);
        cells.push(
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| cell(coded, &names, measure, &by_col[i], col_docs[c]))
                .collect(),
        );
        row_totals.push(cell(coded, &names, measure, &all, total_docs));
        if *depth == 0 {
            for (u, sp) in union_by_col.iter_mut().zip(by_col) {
                u.extend(sp);
            }
            union_all.extend(all);
        }
    }
    let column_totals = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let spans = distinct(std::mem::take(&mut union_by_col[i]));
            cell(coded, &names, measure, &spans, col_docs[c])
        })
        .collect();
    let total = cell(coded, &names, measure, &distinct(union_all), total_docs);
    Ok(Matrix {
        kind: "matrix".into(),
        measure,
        rows: row_list.iter().map(|r| r.0.clone()).collect(),
        row_labels: row_list.iter().map(|r| r.1.clone()).collect(),
        row_depth: row_list.iter().map(|r| r.2).collect(),
        column_documents: columns.iter().map(|c| col_docs[c]).collect(),
        columns,
        column_attributes: attrs,
        cells,
        row_totals,
        column_totals,
        total,
    })
}

/// Formats a value for text output.
pub fn show(measure: Measure, v: f64) -> String {
    match measure {
        Measure::Percent => format!("{v:.1}"),
        Measure::Presence => {
            if v > 0.0 {
                "✓".into()
            } else {
                String::new()
            }
        }
        _ => format!("{v:.0}"),
    }
}

impl Matrix {
    /// As a rectangular table for text formats.
    pub fn to_table(&self, title: Option<String>) -> crate::render::Table {
        use crate::render::Cell;
        let mut columns = vec!["code".to_string(), "label".to_string()];
        columns.extend(self.columns.iter().map(|c| {
            let i = self.columns.iter().position(|x| x == c).unwrap_or(0);
            if self.measure == Measure::Percent {
                format!("{c} (n={})", self.column_documents[i])
            } else {
                c.clone()
            }
        }));
        columns.push("Total".into());
        let num = |v: f64| {
            if matches!(self.measure, Measure::Percent | Measure::Presence) {
                Cell::Text(show(self.measure, v))
            } else {
                Cell::Count(v as u64)
            }
        };
        let mut rows = Vec::new();
        for (i, code) in self.rows.iter().enumerate() {
            let mut r = vec![
                Cell::Text(format!(
                    "{}{}",
                    "  ".repeat(self.row_depth[i]),
                    code.rsplit('/').next().unwrap_or(code)
                )),
                Cell::Text(self.row_labels[i].clone()),
            ];
            r.extend(self.cells[i].iter().map(|c| num(c.value)));
            r.push(num(self.row_totals[i].value));
            rows.push(r);
        }
        let from = rows.len();
        let mut t = vec![Cell::Text("Total".into()), Cell::Text("any code".into())];
        t.extend(self.column_totals.iter().map(|c| num(c.value)));
        t.push(num(self.total.value));
        rows.push(t);
        crate::render::Table {
            title: Some(title.unwrap_or_else(|| {
                format!(
                    "{} by {} ({})",
                    self.rows.first().cloned().unwrap_or_default(),
                    self.column_attributes.join(" × "),
                    self.measure.as_str()
                )
            })),
            columns,
            rows,
            total_rows_from: Some(from),
            json: Some(crate::render::RichJson::of(self.clone())),
        }
    }

    /// The passages behind one cell (`row` a code id or last segment, `col` a value or `Total`).
    pub fn explain(&self, row: &str, col: &str) -> Option<&MatrixCell> {
        let r = self
            .rows
            .iter()
            .position(|c| c == row || c.rsplit('/').next() == Some(row))?;
        if col == "Total" {
            return Some(&self.row_totals[r]);
        }
        let c = self.columns.iter().position(|c| c == col)?;
        Some(&self.cells[r][c])
    }
}

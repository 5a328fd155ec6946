//! Code × code co-occurrence within the same unit, turn or document; cells
//! count the units where both codes occur, or list the cases where they do.
//! With one family on the rows and others on the columns this is a
//! framework matrix (value constellation × dimension, firms in each cell).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::codebook::Codebook;
use crate::diag::{Diagnostic, Diagnostics};
use crate::index::Opened;
use crate::query::{self, CodeSource};
use crate::render::{Cell, Table};
use crate::study::{CooccurCells, UnitKind};

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoCell {
    /// Units where both codes occur.
    pub value: usize,
    /// Cases where they do.
    pub cases: Vec<String>,
    /// The units (`path#start-end`).
    pub units: UnitIds,
}

/// The units of a cell: numbers into one table of unit ids shared by every
/// cell, so a table of many codes holds each id once (serialised as the
/// list of ids, `path#start-end`).
#[derive(Debug, Clone)]
pub struct UnitIds {
    ids: Vec<u32>,
    names: std::sync::Arc<Vec<String>>,
}

impl UnitIds {
    /// How many units.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No units.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The units' ids, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(|&i| self.names[i as usize].as_str())
    }
}

impl PartialEq for UnitIds {
    fn eq(&self, other: &UnitIds) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Serialize for UnitIds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A co-occurrence table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cooccurrence {
    /// `cooccur`.
    pub kind: String,
    /// The unit both codes must share.
    pub within: UnitKind,
    /// Row codes.
    pub rows: Vec<String>,
    /// Column codes.
    pub columns: Vec<String>,
    /// Cells.
    pub cells: Vec<Vec<CoCell>>,
}

/// Codes of several families or subtrees given by id, in codebook order.
pub fn codes_of(cb: &Codebook, ids: &[String]) -> Result<Vec<String>, Diagnostic> {
    let mut out = Vec::new();
    for id in ids {
        let r = cb.resolve(id)?;
        let sub = cb.subtree(&r.path);
        if sub.is_empty() {
            out.push(r.path);
        } else {
            out.extend(sub.into_iter().map(|c| c.path.clone()));
        }
    }
    Ok(out)
}

/// Builds the table.
pub fn build(
    opened: &Opened,
    cb: &Codebook,
    rows: &[String],
    cols: &[String],
    within: UnitKind,
    source: &CodeSource,
) -> Result<Cooccurrence, Diagnostics> {
    let row_codes = codes_of(cb, rows)?;
    let col_codes = codes_of(cb, cols)?;
    // Units per code, sorted and distinct.
    type Unit = (std::sync::Arc<str>, u64, u64);
    let mut sets: BTreeMap<&str, Vec<Unit>> = BTreeMap::new();
    for c in row_codes.iter().chain(&col_codes) {
        if !sets.contains_key(c.as_str()) {
            let mut units = query::code_units(opened, c, source, within)?;
            units.sort_unstable();
            units.dedup();
            sets.insert(c, units);
        }
    }
    // Every unit once, numbered in document order; a code's units become
    // sorted numbers, intersected by merging (many codes make many cells:
    // numbers compare and store cheaply where paths would not).
    let mut table: Vec<&Unit> = sets.values().flatten().collect();
    table.sort_unstable();
    table.dedup();
    let number = |u: &Unit| table.binary_search(&u).map_or(0, |i| i as u32);
    let numbered: BTreeMap<&str, Vec<u32>> = sets
        .iter()
        .map(|(c, units)| (*c, units.iter().map(number).collect()))
        .collect();
    let case_of = |p: &str| {
        opened
            .manifest()
            .documents
            .get(p)
            .map_or(String::new(), |d| d.case().to_string())
    };
    // Cases numbered in their sorted order, so sorted numbers are sorted names.
    let unit_cases: Vec<String> = table.iter().map(|(p, _, _)| case_of(p)).collect();
    let case_names: Vec<String> = unit_cases
        .iter()
        .cloned()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let unit_case: Vec<u32> = unit_cases
        .iter()
        .map(|c| case_names.binary_search(c).map_or(0, |i| i as u32))
        .collect();
    let names: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        table
            .iter()
            .map(|(p, s, e)| format!("{p}#{s}-{e}"))
            .collect(),
    );
    let cells = row_codes
        .iter()
        .map(|r| {
            col_codes
                .iter()
                .map(|c| {
                    let both: Vec<u32> = intersect(&numbered[r.as_str()], &numbered[c.as_str()])
                        .into_iter()
                        .copied()
                        .collect();
                    let cases: BTreeSet<u32> =
                        both.iter().map(|&u| unit_case[u as usize]).collect();
                    CoCell {
                        value: both.len(),
                        cases: cases
                            .into_iter()
                            .map(|c| case_names[c as usize].clone())
                            .collect(),
                        units: UnitIds {
                            ids: both,
                            names: names.clone(),
                        },
                    }
                })
                .collect()
        })
        .collect();
    Ok(Cooccurrence {
        kind: "cooccur".into(),
        within,
        rows: row_codes,
        columns: col_codes,
        cells,
    })
}

/// The items of two sorted lists found in both, in order.
fn intersect<'a, T: Ord>(a: &'a [T], b: &[T]) -> Vec<&'a T> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(&a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

impl Cooccurrence {
    /// As a table; column headers are `family/code` shortened to `code` when unique.
    pub fn to_table(&self, show: CooccurCells, title: Option<String>) -> Table {
        let short = |c: &str, all: &[String]| -> String {
            let last = c.rsplit('/').next().unwrap_or(c);
            if all
                .iter()
                .filter(|x| x.rsplit('/').next() == Some(last))
                .count()
                > 1
            {
                c.to_string()
            } else {
                // Keep the family for context: `family: code`.
                match c.split_once('/') {
                    Some((fam, _)) => format!("{fam}: {last}"),
                    None => c.to_string(),
                }
            }
        };
        let mut columns = vec!["code".to_string()];
        columns.extend(self.columns.iter().map(|c| short(c, &self.columns)));
        let rows = self
            .rows
            .iter()
            .zip(&self.cells)
            .map(|(r, cells)| {
                let mut row = vec![Cell::Text(r.rsplit('/').next().unwrap_or(r).to_string())];
                row.extend(cells.iter().map(|c| match show {
                    CooccurCells::Count => Cell::Count(c.value as u64),
                    CooccurCells::Cases => Cell::Text(c.cases.join(", ")),
                }));
                row
            })
            .collect();
        Table {
            title: Some(title.unwrap_or_else(|| {
                format!("Co-occurrence within the same {}", self.within.as_str())
            })),
            columns,
            rows,
            total_rows_from: None,
            json: Some(crate::render::RichJson::of(self.clone())),
        }
    }
}

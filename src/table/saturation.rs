//! Saturation: how many codes each additional interview adds, in interview
//! order (an attribute such as date or phase, then path), for arguing that
//! coding reached saturation.

use std::collections::BTreeSet;

use serde::Serialize;

use super::coded::Coded;
use crate::render::{Cell, Table};

/// One interview's contribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Position in the order (1-based).
    pub n: usize,
    /// Document path.
    pub path: String,
    /// Case.
    pub case: String,
    /// The ordering value.
    pub order: String,
    /// Codes in this document.
    pub codes: usize,
    /// Codes not seen in earlier documents.
    pub new: Vec<String>,
    /// Distinct codes so far.
    pub cumulative: usize,
}

/// Builds the curve; `order` is an attribute name (missing values sort last).
pub fn build(coded: &Coded<'_>, order: &str) -> Vec<Step> {
    let key = |p: &str| {
        if order == "path" {
            return Some(p.to_string());
        }
        coded
            .docs
            .get(p)
            .and_then(|d| d.attributes.get(order))
            .cloned()
    };
    let mut docs: Vec<&String> = coded.docs.keys().collect();
    docs.sort_by(|a, b| (key(a).is_none(), key(a), *a).cmp(&(key(b).is_none(), key(b), *b)));
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for (i, p) in docs.into_iter().enumerate() {
        let codes: BTreeSet<String> = coded
            .passages
            .iter()
            .filter(|x| &x.path == p)
            .map(|x| x.code.clone())
            .collect();
        let new: Vec<String> = codes
            .iter()
            .filter(|c| !seen.contains(*c))
            .cloned()
            .collect();
        seen.extend(codes.iter().cloned());
        out.push(Step {
            n: i + 1,
            path: p.clone(),
            case: coded.attr(p, "case"),
            order: key(p).unwrap_or_default(),
            codes: codes.len(),
            new,
            cumulative: seen.len(),
        });
    }
    out
}

/// As a table.
pub fn to_table(steps: &[Step], order: &str, title: Option<String>) -> Table {
    let rows = steps
        .iter()
        .map(|s| {
            vec![
                Cell::Count(s.n as u64),
                Cell::Text(s.path.clone()),
                Cell::Text(s.case.clone()),
                Cell::Text(s.order.clone()),
                Cell::Count(s.codes as u64),
                Cell::Count(s.new.len() as u64),
                Cell::Count(s.cumulative as u64),
                Cell::Text(
                    s.new
                        .iter()
                        .map(|c| c.rsplit('/').next().unwrap_or(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ]
        })
        .collect();
    Table {
        title: Some(
            title.unwrap_or_else(|| format!("Codes discovered per interview (ordered by {order})")),
        ),
        columns: [
            "#",
            "document",
            "case",
            order,
            "codes",
            "new codes",
            "cumulative",
            "new",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        total_rows_from: None,
        json: Some(crate::render::RichJson::of(
            serde_json::json!({"kind": "saturation", "order": order, "steps": steps}),
        )),
    }
}

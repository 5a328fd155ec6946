//! Representative quotes per code (optionally per case or attribute value):
//! manual codings first, then auto-codings ranked by rule strength (number of
//! rule matches), no duplicates, within a length limit, each attributed
//! ("regional market manager, Alfa, partner, Nigeria").

use std::collections::BTreeSet;

use serde::Serialize;

use super::coded::{Coded, Passage};
use crate::codebook::Codebook;
use crate::coding::Source;
use crate::diag::Diagnostic;
use crate::render::{Cell, Table};

/// One chosen quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Code id.
    pub code: String,
    /// The column value (`by` attribute), if any.
    pub group: Option<String>,
    /// The text (shortened).
    pub text: String,
    /// "role, case, side, country".
    pub attribution: String,
    /// `auto` or the coder.
    pub source: String,
    /// Passage id.
    pub passage: String,
}

/// Orders candidate passages: manual first, then by rule strength, then
/// shorter ones (more quotable), then document order.
pub fn rank<'a>(ps: &[&'a Passage]) -> Vec<&'a Passage> {
    let mut v: Vec<&Passage> = ps.to_vec();
    v.sort_by(|a, b| {
        let manual = |p: &Passage| u8::from(!matches!(p.source, Source::Manual { .. }));
        (
            manual(a),
            std::cmp::Reverse(a.strength),
            a.end - a.start,
            &a.path,
            a.start,
        )
            .cmp(&(
                manual(b),
                std::cmp::Reverse(b.strength),
                b.end - b.start,
                &b.path,
                b.start,
            ))
    });
    v
}

/// Attribution from the document's attributes, in the order given.
pub fn attribution(coded: &Coded<'_>, path: &str, attrs: &[String]) -> String {
    let d = coded.docs.get(path);
    attrs
        .iter()
        .filter_map(|a| d.and_then(|d| d.attributes.get(a)).cloned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Picks up to `k` quotes per code (and per value of `by`).
#[allow(clippy::too_many_arguments)]
pub fn build(
    coded: &Coded<'_>,
    cb: &Codebook,
    rows: &str,
    by: Option<&str>,
    k: usize,
    max_chars: usize,
    attrs: &[String],
) -> Result<Vec<Quote>, Diagnostic> {
    let codes = super::matrix::row_codes(cb, rows)?;
    let by = match by {
        Some(b) => Some(super::matrix::check_attributes(coded, &[b.to_string()])?.remove(0)),
        None => None,
    };
    let groups: Vec<Option<String>> = match &by {
        Some(b) => {
            let vals: BTreeSet<String> = coded.docs.keys().map(|p| coded.attr(p, b)).collect();
            vals.into_iter().map(Some).collect()
        }
        None => vec![None],
    };
    let mut out = Vec::new();
    // A family's own row would repeat its codes' quotes: skip it.
    let codes: Vec<_> = codes
        .into_iter()
        .filter(|(c, _, _)| cb.code(c).is_some())
        .collect();
    for (code, _, _) in &codes {
        for g in &groups {
            let ps: Vec<&Passage> = coded
                .under_root(code)
                .into_iter()
                .filter(|p| match (&by, g) {
                    (Some(b), Some(v)) => coded.attr(&p.path, b) == *v,
                    _ => true,
                })
                .collect();
            let mut seen = BTreeSet::new();
            let mut n = 0;
            for p in rank(&ps) {
                if n >= k {
                    break;
                }
                let full = coded.text(&p.path, p.start, p.end);
                let key: String = full
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase();
                if !seen.insert(key) {
                    continue;
                }
                out.push(Quote {
                    code: code.clone(),
                    group: g.clone(),
                    text: crate::render::one_line(&full, max_chars),
                    attribution: attribution(coded, &p.path, attrs),
                    source: p.source.label(),
                    passage: p.id(),
                });
                n += 1;
            }
        }
    }
    Ok(out)
}

/// As a table.
pub fn to_table(quotes: &[Quote], by: Option<&str>, title: Option<String>) -> Table {
    let mut columns = vec!["code".to_string()];
    if let Some(b) = by {
        columns.push(b.to_string());
    }
    columns.extend(["quote", "informant", "source", "passage"].map(String::from));
    let rows = quotes
        .iter()
        .map(|q| {
            let mut r = vec![Cell::Text(
                q.code.rsplit('/').next().unwrap_or(&q.code).to_string(),
            )];
            if by.is_some() {
                r.push(Cell::Text(q.group.clone().unwrap_or_default()));
            }
            r.extend([
                Cell::Text(format!("“{}”", q.text)),
                Cell::Text(q.attribution.clone()),
                Cell::Text(q.source.clone()),
                Cell::Text(q.passage.clone()),
            ]);
            r
        })
        .collect();
    Table {
        title: Some(title.unwrap_or_else(|| "Representative quotes".into())),
        columns,
        rows,
        total_rows_from: None,
        json: Some(crate::render::RichJson::of(
            serde_json::json!({"kind": "quotes", "quotes": quotes}),
        )),
    }
}

//! The data-collection table: documents, informants, turns and words per
//! case, or informants per case cross-tabbed by an attribute (`--by role`).

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Diagnostic, suggest};
use crate::index::Manifest;
use crate::render::{Cell, Table};

fn informant_key(path: &str, attrs: &BTreeMap<String, String>) -> String {
    attrs
        .get("informant")
        .cloned()
        .unwrap_or_else(|| format!("path:{path}"))
}

/// Documents, informants, turns and words per case, with a total row.
pub fn summary(m: &Manifest) -> Table {
    #[derive(Default)]
    struct Acc {
        docs: u64,
        informants: BTreeSet<String>,
        turns: u64,
        words: u64,
        respondent_words: u64,
    }
    let mut by_case: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for (path, d) in &m.documents {
        let key = informant_key(path, &d.attributes);
        for acc in [by_case.entry(d.case().to_string()).or_default(), &mut total] {
            acc.docs += 1;
            acc.informants.insert(format!("{}\u{0}{key}", d.case()));
            acc.turns += d.turns as u64;
            acc.words += d.words as u64;
            acc.respondent_words += d.respondent_words as u64;
        }
    }
    let row = |name: String, a: &Acc| {
        vec![
            Cell::Text(name),
            Cell::Count(a.docs),
            Cell::Count(a.informants.len() as u64),
            Cell::Count(a.turns),
            Cell::Count(a.words),
            Cell::Count(a.respondent_words),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = by_case.iter().map(|(c, a)| row(c.clone(), a)).collect();
    let total_from = rows.len();
    rows.push(row("Total".into(), &total));
    Table {
        title: Some("Data collection".into()),
        columns: [
            "case",
            "documents",
            "informants",
            "turns",
            "words",
            "respondent words",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        total_rows_from: Some(total_from),
        json: None,
    }
}

/// Informants per case and value of `attr`, with totals.
pub fn by_attribute(m: &Manifest, attr: &str) -> Result<Table, Diagnostic> {
    let name = crate::corpus::frontmatter::normalise_name(attr);
    let names = m.attribute_names();
    if !names.contains(&name) {
        let help = match suggest(&name, names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "attributes in this corpus: {}",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        return Err(Diagnostic::error(format!("unknown attribute `{attr}`")).with_help(help));
    }
    let values: BTreeSet<String> = m
        .documents
        .values()
        .map(|d| {
            d.attributes
                .get(&name)
                .cloned()
                .unwrap_or_else(|| "(none)".into())
        })
        .collect();
    let values: Vec<String> = values.into_iter().collect();
    let mut cells: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut cases: BTreeSet<String> = BTreeSet::new();
    for (path, d) in &m.documents {
        let v = d
            .attributes
            .get(&name)
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        let key = informant_key(path, &d.attributes);
        cases.insert(d.case().to_string());
        cells
            .entry((d.case().to_string(), v))
            .or_default()
            .insert(key);
    }
    let count = |case: Option<&str>, value: Option<&str>| -> u64 {
        let mut set = BTreeSet::new();
        for ((c, v), s) in &cells {
            if case.is_none_or(|x| x == c) && value.is_none_or(|x| x == v) {
                set.extend(s.iter().map(|k| format!("{c}\u{0}{k}")));
            }
        }
        set.len() as u64
    };
    let mut rows = Vec::new();
    for c in &cases {
        let mut r = vec![Cell::Text(c.clone())];
        r.extend(values.iter().map(|v| Cell::Count(count(Some(c), Some(v)))));
        r.push(Cell::Count(count(Some(c), None)));
        rows.push(r);
    }
    let total_from = rows.len();
    let mut t = vec![Cell::Text("Total".into())];
    t.extend(values.iter().map(|v| Cell::Count(count(None, Some(v)))));
    t.push(Cell::Count(count(None, None)));
    rows.push(t);
    let mut columns = vec!["case".to_string()];
    columns.extend(values.iter().cloned());
    columns.push("Total".into());
    Ok(Table {
        title: Some(format!("Informants by case and {name}")),
        columns,
        rows,
        total_rows_from: Some(total_from),
        json: None,
    })
}

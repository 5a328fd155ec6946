//! The codebook table of a write-up's appendix: code, label, definition,
//! inclusion and exclusion criteria, and an example quote.

use crate::codebook::Codebook;
use crate::render::{Cell, Table};

/// One row per code, in codebook order.
pub fn table(cb: &Codebook) -> Table {
    let rows = cb
        .codes
        .iter()
        .map(|c| {
            vec![
                Cell::Text(c.path.clone()),
                Cell::Text(c.label.clone()),
                Cell::Text(c.definition.clone().unwrap_or_default()),
                Cell::Text(c.include.join("; ")),
                Cell::Text(c.exclude.join("; ")),
                Cell::Text(c.examples.first().cloned().unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        title: Some(cb.title.clone().unwrap_or_else(|| "Codebook".into())),
        columns: [
            "code",
            "label",
            "definition",
            "include",
            "exclude",
            "example",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        total_rows_from: None,
        json: None,
    }
}

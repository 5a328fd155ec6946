//! JSON: `{"title", "columns", "rows": [{column: value}]}`, counts as numbers.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::{Cell, Table};

/// Writes the table as one JSON object.
pub fn write(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    if let Some(v) = table.json.as_ref().and_then(super::RichJson::value) {
        serde_json::to_writer_pretty(&mut *out, &v).map_err(io::Error::from)?;
        return writeln!(out);
    }
    let rows: Vec<Value> = table
        .rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (c, cell) in table.columns.iter().zip(r) {
                let v = match cell {
                    Cell::Text(s) => Value::String(s.clone()),
                    Cell::Count(n) => json!(n),
                };
                m.insert(c.clone(), v);
            }
            Value::Object(m)
        })
        .collect();
    let v = json!({
        "title": table.title,
        "columns": table.columns,
        "rows": rows,
        "total_rows_from": table.total_rows_from,
    });
    serde_json::to_writer_pretty(&mut *out, &v).map_err(io::Error::from)?;
    writeln!(out)
}

//! CSV and TSV through the csv crate (quoting done right).

use std::io::{self, Write};

use super::Table;

/// Writes delimited values with a header row.
pub fn write(table: &Table, delimiter: u8, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    w.write_record(&table.columns).map_err(io::Error::other)?;
    for r in &table.rows {
        w.write_record(r.iter().map(super::Cell::display))
            .map_err(io::Error::other)?;
    }
    w.flush()
}

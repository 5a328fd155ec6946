//! CSV and TSV through the csv crate (quoting done right), with cells that
//! a spreadsheet would run as a formula neutralised (see [`spreadsheet_safe`]).

use std::borrow::Cow;
use std::io::{self, Write};

use super::{Cells, Table};

/// Writes delimited values with a header row.
pub fn write(table: &Table, delimiter: u8, cells: Cells, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    w.write_record(table.columns.iter().map(|c| cell(c, cells)))
        .map_err(csv_io)?;
    for r in &table.rows {
        w.write_record(r.iter().map(|c| match c {
            // Numbers qualdex counted itself are data, never a formula.
            super::Cell::Count(n) => Cow::Owned(n.to_string().into_bytes()),
            super::Cell::Text(s) => cell(s, cells),
        }))
        .map_err(csv_io)?;
    }
    w.flush()
}

/// One cell's text as written under `cells`, as bytes for a csv writer.
pub fn cell(s: &str, cells: Cells) -> Cow<'_, [u8]> {
    match (cells, spreadsheet_safe(s)) {
        (Cells::Raw, _) | (Cells::Safe, Cow::Borrowed(_)) => Cow::Borrowed(s.as_bytes()),
        (Cells::Safe, Cow::Owned(safe)) => Cow::Owned(safe.into_bytes()),
    }
}

/// `s` with a `'` in front when a spreadsheet would take it for a formula:
/// when it starts with `=`, `+`, `-`, `@`, a tab or a carriage return (the
/// OWASP advice against CSV injection). A plain number such as `-3` or
/// `+1.5` is left alone: it cannot run anything, and prefixing it would
/// turn data into text.
pub fn spreadsheet_safe(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') if !is_plain_number(s) => {
            Cow::Owned(format!("'{s}"))
        }
        _ => Cow::Borrowed(s),
    }
}

/// An optional sign, digits, and at most one decimal point with digits on
/// at least one side of it.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac) && body != "."
}

/// The I/O error behind a csv error, so a closed pipe is still recognised
/// as one; other csv errors as `io::Error::other`.
pub fn csv_io(e: csv::Error) -> io::Error {
    if e.is_io_error() {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            kind => io::Error::other(format!("{kind:?}")),
        }
    } else {
        io::Error::other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for (given, written) in [
            ("=1+1", "'=1+1"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("+", "'+"),
            ("-.", "'-."),
            ("- a list item", "'- a list item"),
            ("-3", "-3"),
            ("+3", "+3"),
            ("-1.5", "-1.5"),
            ("-.5", "-.5"),
            ("-5.", "-5."),
            ("plain", "plain"),
            ("a=b", "a=b"),
            ("", ""),
            ("'=quoted", "'=quoted"),
        ] {
            assert_eq!(spreadsheet_safe(given), written, "{given:?}");
            assert_eq!(&cell(given, Cells::Raw)[..], given.as_bytes());
            assert_eq!(&cell(given, Cells::Safe)[..], written.as_bytes());
        }
    }

    #[test]
    fn tables_neutralise_text_cells_only() {
        let t = Table {
            columns: vec!["=name".into(), "n".into()],
            rows: vec![vec![
                super::super::Cell::Text("@x".into()),
                super::super::Cell::Count(3),
            ]],
            ..Table::default()
        };
        let mut out = Vec::new();
        write(&t, b',', Cells::Safe, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "'=name,n\n'@x,3\n");
        let mut out = Vec::new();
        write(&t, b'\t', Cells::Raw, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "=name\tn\n@x\t3\n");
    }
}

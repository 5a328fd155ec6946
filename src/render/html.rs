//! HTML: one `<table>` with inline styles, so it pastes into Word with its
//! layout. All text is escaped.

use std::io::{self, Write};

use super::{Cell, Table, html_escape};

/// Writes an HTML fragment holding the table.
pub fn write(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let td = "border:1px solid #999;padding:2px 6px";
    writeln!(
        out,
        "<table style=\"border-collapse:collapse;font-family:Calibri,Arial,sans-serif;font-size:10pt\">"
    )?;
    if let Some(t) = &table.title {
        writeln!(
            out,
            "<caption style=\"font-weight:bold;text-align:left\">{}</caption>",
            html_escape(t)
        )?;
    }
    write!(out, "<thead><tr>")?;
    for c in &table.columns {
        write!(
            out,
            "<th style=\"{td};background:#eee\">{}</th>",
            html_escape(c)
        )?;
    }
    writeln!(out, "</tr></thead>")?;
    writeln!(out, "<tbody>")?;
    for (i, r) in table.rows.iter().enumerate() {
        let total = table.total_rows_from.is_some_and(|t| i >= t);
        write!(
            out,
            "<tr{}>",
            if total {
                " style=\"font-weight:bold\""
            } else {
                ""
            }
        )?;
        for c in r {
            let s = c.display();
            let lead = s.len() - s.trim_start().len();
            let align = if matches!(c, Cell::Count(_)) {
                "text-align:right;"
            } else {
                ""
            };
            let pad = if lead > 0 {
                format!("padding-left:{}em;", lead / 2)
            } else {
                String::new()
            };
            write!(
                out,
                "<td style=\"{td};{align}{pad}\">{}</td>",
                html_escape(s.trim_start())
            )?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>\n</table>")
}

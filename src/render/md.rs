//! Markdown: GitHub pipe tables, numbers right-aligned, columns padded.

use std::io::{self, Write};

use super::{Table, md_escape};

/// Writes a pipe table.
pub fn write(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    if let Some(t) = &table.title {
        writeln!(out, "### {}\n", md_escape(t))?;
    }
    let header: Vec<String> = table.columns.iter().map(|c| md_escape(c)).collect();
    let body: Vec<Vec<String>> = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.iter()
                .map(|c| {
                    let s = md_escape(&c.display());
                    if table.total_rows_from.is_some_and(|t| i >= t) && !s.is_empty() {
                        format!("**{s}**")
                    } else {
                        s
                    }
                })
                .collect()
        })
        .collect();
    let numeric: Vec<bool> = table.numeric_columns();
    let widths: Vec<usize> = (0..header.len())
        .map(|j| {
            body.iter()
                .map(|r| r.get(j).map_or(0, |s| s.chars().count()))
                .chain([header[j].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |cells: &[String], out: &mut dyn Write| -> io::Result<()> {
        write!(out, "|")?;
        for (j, w) in widths.iter().enumerate() {
            let s = cells.get(j).map_or("", String::as_str);
            let pad = w - s.chars().count();
            if numeric[j] {
                write!(out, " {}{} |", " ".repeat(pad), s)?;
            } else {
                write!(out, " {}{} |", s, " ".repeat(pad))?;
            }
        }
        writeln!(out)
    };
    line(&header, out)?;
    write!(out, "|")?;
    for (j, w) in widths.iter().enumerate() {
        if numeric[j] {
            write!(out, " {}: |", "-".repeat(w - 1))?;
        } else {
            write!(out, " {} |", "-".repeat(*w))?;
        }
    }
    writeln!(out)?;
    for r in &body {
        line(r, out)?;
    }
    Ok(())
}

//! Renderers: one file per output format, all writing a [`Table`] to any
//! `io::Write` (so tests render into a `Vec<u8>`). A renderer never queries
//! the index and never computes; it only lays out what it is given.

mod csv;
mod json;
mod md;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// Output formats for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// GitHub-flavoured Markdown pipe table.
    Md,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// JSON: one object with `columns` and `rows`.
    Json,
}

impl TableFormat {
    /// File extension for outputs in this format.
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Md => "md",
            TableFormat::Csv => "csv",
            TableFormat::Tsv => "tsv",
            TableFormat::Json => "json",
        }
    }

    /// Parses a format name from a study file.
    pub fn parse(s: &str) -> Option<TableFormat> {
        match s {
            "md" | "markdown" => Some(TableFormat::Md),
            "csv" => Some(TableFormat::Csv),
            "tsv" => Some(TableFormat::Tsv),
            "json" => Some(TableFormat::Json),
            _ => None,
        }
    }
}

/// A cell: text plus, for numbers, the number itself (for JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Count(u64),
}

impl Cell {
    /// The cell as shown in text formats.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
        }
    }
}

/// A rectangular table with a header row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Shown above the table in Markdown.
    pub title: Option<String>,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows (each as long as `columns`).
    pub rows: Vec<Vec<Cell>>,
    /// Index of the first total row, if the last rows are totals.
    pub total_rows_from: Option<usize>,
}

/// Writes a table in a format.
pub fn write_table(table: &Table, format: TableFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        TableFormat::Md => md::write(table, out),
        TableFormat::Csv => csv::write(table, b',', out),
        TableFormat::Tsv => csv::write(table, b'\t', out),
        TableFormat::Json => json::write(table, out),
    }
}

/// Escapes text for a Markdown table cell.
pub fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

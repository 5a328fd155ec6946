//! Renderers: one file per output format, all writing a [`Table`] to any
//! `io::Write` (so tests render into a `Vec<u8>`). A renderer never queries
//! the index and never computes; it only lays out what it is given.

mod csv;
pub mod html;
mod json;
mod md;
mod tex;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

pub use crate::diag::{control_picture, printable};

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
    /// JSON: one object with `columns` and `rows` (matrices: cells with passage ids).
    Json,
    /// LaTeX with booktabs rules.
    Tex,
    /// An HTML table (pastes into Word with its layout).
    Html,
}

impl TableFormat {
    /// File extension for outputs in this format.
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Md => "md",
            TableFormat::Csv => "csv",
            TableFormat::Tsv => "tsv",
            TableFormat::Json => "json",
            TableFormat::Tex => "tex",
            TableFormat::Html => "html",
        }
    }

    /// Parses a format name from a study file.
    pub fn parse(s: &str) -> Option<TableFormat> {
        match s {
            "md" | "markdown" => Some(TableFormat::Md),
            "csv" => Some(TableFormat::Csv),
            "tsv" => Some(TableFormat::Tsv),
            "json" => Some(TableFormat::Json),
            "tex" | "latex" => Some(TableFormat::Tex),
            "html" => Some(TableFormat::Html),
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
    /// A richer JSON form (passage ids per cell), written instead of the
    /// generic one when present.
    pub json: Option<RichJson>,
}

/// A table's richer JSON form, made only when JSON is written: a table of
/// many codes need not hold every passage id twice to be printed as Markdown.
#[derive(Clone)]
pub struct RichJson(std::sync::Arc<dyn Fn() -> Option<serde_json::Value> + Send + Sync>);

impl RichJson {
    /// The JSON form of `v`, made when asked for.
    pub fn of<T: Serialize + Send + Sync + 'static>(v: T) -> RichJson {
        let v = std::sync::Arc::new(v);
        RichJson(std::sync::Arc::new(move || serde_json::to_value(&*v).ok()))
    }

    /// The JSON value (`None` if it cannot be made: the generic form is
    /// written then).
    pub fn value(&self) -> Option<serde_json::Value> {
        (self.0)()
    }
}

impl std::fmt::Debug for RichJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RichJson(..)")
    }
}

impl PartialEq for RichJson {
    fn eq(&self, other: &RichJson) -> bool {
        self.value() == other.value()
    }
}

impl Table {
    /// Columns whose every cell is a count (right-aligned by text renderers).
    pub fn numeric_columns(&self) -> Vec<bool> {
        (0..self.columns.len())
            .map(|j| {
                !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| matches!(r.get(j), Some(Cell::Count(_))))
            })
            .collect()
    }
}

/// How CSV and TSV cells that come from files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cells {
    /// A cell a spreadsheet would run as a formula gets a leading `'`
    /// (see [`spreadsheet_safe`]).
    #[default]
    Safe,
    /// Every cell exactly as it is (`--raw`, for scripts).
    Raw,
}

pub use csv::{cell as csv_cell, csv_io, spreadsheet_safe};

/// Writes a table in a format, CSV and TSV cells made safe for spreadsheets.
pub fn write_table(table: &Table, format: TableFormat, out: &mut dyn Write) -> io::Result<()> {
    write_table_as(table, format, Cells::Safe, out)
}

/// Writes a table in a format, CSV and TSV cells as `cells` says.
pub fn write_table_as(
    table: &Table,
    format: TableFormat,
    cells: Cells,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        TableFormat::Md => md::write(table, out),
        TableFormat::Csv => csv::write(table, b',', cells, out),
        TableFormat::Tsv => csv::write(table, b'\t', cells, out),
        TableFormat::Json => json::write(table, out),
        TableFormat::Tex => tex::write(table, out),
        TableFormat::Html => html::write(table, out),
    }
}

/// Shortens text to `max` characters on one line, cutting at a word
/// boundary where it can, with an ellipsis; control characters are shown
/// as symbols (see [`printable`]), since the line is for reading.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = printable(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].trim_end_matches([',', ';', ':']).to_string(),
        _ => cut,
    };
    format!("{cut}…")
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for LaTeX: the ten special characters and `<`, `>`, `|`
/// (which the default font encoding prints as other glyphs) as commands,
/// line breaks and tabs as spaces, control and bidirectional characters
/// dropped, so a transcript's words cannot become markup or stop a build.
pub fn tex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            '|' => out.push_str("\\textbar{}"),
            '\n' | '\r' | '\t' => out.push(' '),
            // LaTeX refuses control characters, and pdfLaTeX the
            // bidirectional ones: neither is visible text.
            c if c.is_control() || crate::diag::reorders(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell or line: `|` and `\\` escaped,
/// line breaks as spaces, `&`, `<` and `>` as entities (so a transcript's
/// `<script>` stays text wherever the Markdown is rendered; renderers show
/// the entities as the characters), and control characters and the
/// bidirectional controls that reorder a line as visible symbols (see
/// [`printable`]).
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            // `R&D` reads as it is and renders as it is; only an `&` that
            // would start an entity (`&lt;`, `&#60;`) is escaped.
            '&' if starts_entity(&s[i + 1..]) => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' => out.push('\t'),
            c if c.is_control() || crate::diag::reorders(c) => out.push(control_picture(c)),
            c => out.push(c),
        }
    }
    out
}

/// True when the text after an `&` would make it an HTML character
/// reference: a name or `#` number of letters and digits closed by `;`.
fn starts_entity(rest: &str) -> bool {
    let body = rest.strip_prefix('#').unwrap_or(rest);
    let len = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
    len > 0 && body[len..].starts_with(';')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn markdown_cells_escape_markup_and_controls() {
        assert_eq!(
            md_escape("<script>a|b</script> & \\ x\ny\u{1b}[2J"),
            "&lt;script&gt;a\\|b&lt;/script&gt; & \\\\ x y\u{241b}[2J"
        );
        // An `&` is escaped only where it would start an entity.
        assert_eq!(
            md_escape("R&D &lt; &#60; &#x3c; & ; &;"),
            "R&D &amp;lt; &amp;#60; &amp;#x3c; & ; &;"
        );
    }

    #[test]
    fn printable_keeps_layout_and_length() {
        assert_eq!(printable("a\tb\nc\r\nd"), "a\tb\nc\r\nd");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        let nasty = "x\u{1b}]0;t\u{7}y\rz\u{7f}\u{9b}1m\r";
        let shown = printable(nasty);
        assert_eq!(
            shown,
            "x\u{241b}]0;t\u{2407}y\u{240d}z\u{2421}\u{fffd}1m\u{240d}"
        );
        assert_eq!(shown.chars().count(), nasty.chars().count());
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn tex_escape_leaves_nothing_latex_would_read_as_markup() {
        assert_eq!(
            tex_escape("R&D 50% $5 #1 a_b {x} ~ ^ \\input{/etc/passwd}"),
            "R\\&D 50\\% \\$5 \\#1 a\\_b \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}input\\{/etc/passwd\\}"
        );
        assert_eq!(
            tex_escape("a<b>c|d"),
            "a\\textless{}b\\textgreater{}c\\textbar{}d"
        );
        assert_eq!(tex_escape("x\u{1b}]0;t\u{7}\ty\u{202e}z\nw"), "x]0;t yz w");
    }

    #[test]
    fn bidirectional_overrides_and_isolates_are_shown_not_obeyed() {
        // Every embedding, override and isolate; the marks stay.
        let all: String = ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .collect();
        assert_eq!(printable(&all), "\u{fffd}".repeat(9));
        let trojan = "anna\u{202e}2 = stnuoc\u{202c} ok";
        assert_eq!(printable(trojan), "anna\u{fffd}2 = stnuoc\u{fffd} ok");
        let arabic = "\u{627}\u{644}\u{200f}12\u{200e}\u{61c}";
        assert!(matches!(printable(arabic), Cow::Borrowed(_)));
        // Neighbours of the ranges are not touched.
        assert!(matches!(
            printable("\u{2029}\u{202f}\u{2065}\u{206a}"),
            Cow::Borrowed(_)
        ));
    }
}

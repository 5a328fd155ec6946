//! LaTeX: a `tabular` with booktabs rules (`\toprule`, `\midrule`, `\bottomrule`).

use std::io::{self, Write};

use super::{Table, tex_escape};

/// Writes a booktabs table (needs `\usepackage{booktabs}`).
pub fn write(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let numeric: Vec<bool> = table.numeric_columns();
    let spec: String = numeric.iter().map(|n| if *n { 'r' } else { 'l' }).collect();
    writeln!(out, "% requires \\usepackage{{booktabs}}")?;
    writeln!(out, "\\begin{{table}}[htbp]")?;
    writeln!(out, "\\centering")?;
    if let Some(t) = &table.title {
        writeln!(out, "\\caption{{{}}}", tex_escape(t))?;
    }
    writeln!(out, "\\begin{{tabular}}{{{spec}}}")?;
    writeln!(out, "\\toprule")?;
    let header: Vec<String> = table.columns.iter().map(|c| tex_escape(c)).collect();
    writeln!(out, "{} \\\\", header.join(" & "))?;
    writeln!(out, "\\midrule")?;
    for (i, r) in table.rows.iter().enumerate() {
        if table.total_rows_from == Some(i) && i > 0 {
            writeln!(out, "\\midrule")?;
        }
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                let s = c.display();
                let lead = s.len() - s.trim_start().len();
                let body = tex_escape(s.trim_start());
                if lead > 0 {
                    format!("\\hspace{{{}em}}{body}", lead / 2)
                } else {
                    body
                }
            })
            .collect();
        writeln!(out, "{} \\\\", cells.join(" & "))?;
    }
    writeln!(out, "\\bottomrule")?;
    writeln!(out, "\\end{{tabular}}")?;
    writeln!(out, "\\end{{table}}")
}

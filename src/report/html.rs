//! The HTML report: one self-contained file (inline CSS and SVG, no scripts,
//! no external assets) with the codebook, the corpus table, code × case
//! heatmaps, a co-occurrence network, quotes per code, and every passage
//! behind a heatmap cell, linked from the cell. All text is escaped; the
//! markup is well-formed XML so it can be checked mechanically.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::ReportData;
use crate::render::{Table, html_escape as esc};

/// A colour-blind-safe sequential palette (viridis, 6 stops).
const VIRIDIS: [(u8, u8, u8); 6] = [
    (68, 1, 84),
    (65, 68, 135),
    (42, 120, 142),
    (34, 168, 132),
    (122, 209, 81),
    (253, 231, 37),
];

fn colour(t: f64) -> (String, &'static str) {
    let t = t.clamp(0.0, 1.0);
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    let (r, g, bl) = (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
    let luminance = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(bl);
    (
        format!("#{r:02x}{g:02x}{bl:02x}"),
        if luminance > 140.0 { "#000" } else { "#fff" },
    )
}

/// The HTML id of a passage: ASCII letters and digits as they are, every
/// other character as `_<hex>_`, so two passages never share an id
/// (`a-b.md#1-2` and `a_b.md#1-2` link to their own passages).
fn anchor(id: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("p-");
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else {
            let _ = write!(s, "_{:x}_", c as u32);
        }
    }
    s
}

fn table_html(t: &Table) -> io::Result<String> {
    let mut buf = Vec::new();
    crate::render::html::write(t, &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn heatmap(title: &str, m: &crate::table::matrix::Matrix, n: usize) -> String {
    // The label column fits the longest label (about 6.5 px a character at 12 px).
    let longest = m
        .rows
        .iter()
        .enumerate()
        .map(|(i, _)| m.row_labels[i].chars().count() + 2 * m.row_depth[i])
        .max()
        .unwrap_or(10);
    let (cw, ch, top) = (64.0, 26.0, 70.0);
    let lw = (longest as f64 * 6.5 + 16.0).max(160.0);
    let max = m
        .cells
        .iter()
        .flatten()
        .map(|c| c.value)
        .fold(0.0, f64::max)
        .max(1.0);
    let width = lw + cw * m.columns.len() as f64 + 10.0;
    let height = top + ch * m.rows.len() as f64 + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{width}" height="{height}" font-family="Helvetica,Arial,sans-serif" font-size="12">"#,
        esc(title)
    );
    for (j, c) in m.columns.iter().enumerate() {
        let x = lw + cw * j as f64 + cw / 2.0;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{}" text-anchor="start" transform="rotate(-30 {x} {})">{}</text>"#,
            top - 8.0,
            top - 8.0,
            esc(c)
        );
    }
    for (i, row) in m.rows.iter().enumerate() {
        let y = top + ch * i as f64;
        let label = format!("{}{}", "  ".repeat(m.row_depth[i]), m.row_labels[i]);
        let _ = write!(
            s,
            r#"<text x="4" y="{}" xml:space="preserve">{}</text>"#,
            y + ch * 0.65,
            esc(&label)
        );
        for (j, cell) in m.cells[i].iter().enumerate() {
            let x = lw + cw * j as f64;
            let (fill, ink) = if cell.value > 0.0 {
                colour(cell.value / max)
            } else {
                ("#f2f2f2".to_string(), "#777")
            };
            // Only cells with passages link: an empty cell has nothing behind it.
            let (open, close) = if cell.passages.is_empty() {
                ("<g>".to_string(), "</g>")
            } else {
                (format!("<a href=\"#c{n}-{i}-{j}\">"), "</a>")
            };
            let _ = write!(
                s,
                r##"{open}<title>{} × {}: {}</title><rect x="{x}" y="{y}" width="{}" height="{}" fill="{fill}" stroke="#fff"/><text x="{}" y="{}" text-anchor="middle" fill="{ink}">{}</text>{close}"##,
                esc(row),
                esc(&m.columns[j]),
                cell.value,
                cw - 1.0,
                ch - 1.0,
                x + cw / 2.0,
                y + ch * 0.65,
                cell.value
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn network(data: &ReportData) -> String {
    let Some(co) = &data.network else {
        return String::new();
    };
    let n = co.rows.len();
    if n == 0 {
        return String::new();
    }
    let (w, h) = (760.0, 620.0);
    let (cx, cy, r) = (w / 2.0, h / 2.0, 230.0);
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    let max = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| co.cells[i][j].value)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Co-occurrence network" width="{w}" height="{h}" font-family="Helvetica,Arial,sans-serif" font-size="11">"#
    );
    for i in 0..n {
        for j in (i + 1)..n {
            let v = co.cells[i][j].value;
            // Parent and child always co-occur; only links between unrelated codes say something.
            let related = co.rows[j].starts_with(&format!("{}/", co.rows[i]))
                || co.rows[i].starts_with(&format!("{}/", co.rows[j]));
            if v == 0 || related {
                continue;
            }
            let width = 0.5 + 6.0 * v as f64 / max as f64;
            let _ = write!(
                s,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#2a788e" stroke-opacity="0.6" stroke-width="{width:.2}"><title>{} + {}: {v}</title></line>"##,
                pos[i].0,
                pos[i].1,
                pos[j].0,
                pos[j].1,
                esc(&co.rows[i]),
                esc(&co.rows[j])
            );
        }
    }
    for (i, code) in co.rows.iter().enumerate() {
        let label = data
            .labels
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.clone());
        let self_count = co.cells[i][i].value;
        let rad = 3.0 + (self_count as f64).sqrt().min(12.0);
        let anchor = if pos[i].0 < cx - 5.0 {
            "end"
        } else if pos[i].0 > cx + 5.0 {
            "start"
        } else {
            "middle"
        };
        let dx = match anchor {
            "end" => -rad - 3.0,
            "start" => rad + 3.0,
            _ => 0.0,
        };
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{rad:.1}" fill="#440154"><title>{}: {self_count}</title></circle><text x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"##,
            pos[i].0,
            pos[i].1,
            esc(code),
            pos[i].0 + dx,
            pos[i].1 + 4.0,
            esc(&label)
        );
    }
    s.push_str("</svg>");
    s
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}\
nav a{margin-right:1em}.passage{margin:.4em 0 .8em 0}.meta{color:#555;font-size:.85em}\
blockquote{margin:.2em 0 .2em 1em;padding-left:.6em;border-left:3px solid #2a788e}\
section.cell{margin-bottom:1.5em}table{margin:.5em 0}";

/// Writes the whole report.
pub fn write(data: &ReportData, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&data.title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&data.title));
    let _ = writeln!(
        h,
        "<p class=\"meta\">Generated by qualdex from {} documents. Every number links to the passages behind it.</p>",
        data.documents
    );
    h.push_str("<nav><a href=\"#corpus\">Corpus</a><a href=\"#codebook\">Codebook</a><a href=\"#heatmaps\">Codes by case</a><a href=\"#network\">Co-occurrence</a><a href=\"#quotes\">Quotes</a><a href=\"#passages\">Passages</a></nav>\n");
    let _ = writeln!(
        h,
        "<h2 id=\"corpus\">Data collection</h2>\n{}",
        table_html(&data.corpus)?
    );
    let _ = writeln!(
        h,
        "<h2 id=\"codebook\">Codebook</h2>\n{}",
        table_html(&data.codebook)?
    );
    h.push_str("<h2 id=\"heatmaps\">Codes by case</h2>\n<p class=\"meta\">Coded passages per code and case; parents include their children. Click a cell for its passages.</p>\n");
    for (n, hm) in data.heatmaps.iter().enumerate() {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n{}",
            esc(&hm.title),
            heatmap(&hm.title, &hm.matrix, n)
        );
    }
    h.push_str("<h2 id=\"network\">Co-occurrence</h2>\n<p class=\"meta\">Codes coded in the same unit; line width grows with the number of units. Parent–child links are left out.</p>\n");
    h.push_str(&network(data));
    h.push_str("\n<h2 id=\"quotes\">Quotes per code</h2>\n");
    let mut last = String::new();
    for q in &data.quotes {
        if q.code != last {
            let label = data.labels.get(&q.code).cloned().unwrap_or_default();
            let _ = writeln!(
                h,
                "<h3>{} <span class=\"meta\">{}</span></h3>",
                esc(&label),
                esc(&q.code)
            );
            last = q.code.clone();
        }
        // A link only to a passage the page lists.
        let id = if data.passages.contains_key(&q.passage) {
            format!(
                "<a href=\"#{}\">{}</a>",
                anchor(&q.passage),
                esc(&q.passage)
            )
        } else {
            esc(&q.passage)
        };
        let _ = writeln!(
            h,
            "<div class=\"passage\"><blockquote>{}</blockquote><div class=\"meta\">{} — {} — {id}</div></div>",
            esc(&q.text),
            esc(&q.attribution),
            esc(&q.source),
        );
    }
    h.push_str("<h2 id=\"passages\">Passages behind the cells</h2>\n");
    let mut listed = std::collections::BTreeSet::new();
    for (n, hm) in data.heatmaps.iter().enumerate() {
        let m = &hm.matrix;
        for (i, row) in m.cells.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                if cell.passages.is_empty() {
                    continue;
                }
                let shown = &hm.shown[i][j];
                let _ = writeln!(
                    h,
                    "<section class=\"cell\" id=\"c{n}-{i}-{j}\"><h3>{} × {} ({})</h3>",
                    esc(&m.rows[i]),
                    esc(&m.columns[j]),
                    cell.passages.len()
                );
                if shown.len() < cell.passages.len() {
                    let _ = writeln!(
                        h,
                        "<p class=\"meta\">{} of {} passages listed here; all of them: <code>{}</code></p>",
                        shown.len(),
                        cell.passages.len(),
                        esc(&explain_command(&hm.family, &m.rows[i], &m.columns[j]))
                    );
                }
                for id in shown {
                    let Some(p) = data.passages.get(id) else {
                        continue;
                    };
                    let id_attr = if listed.insert(id.clone()) {
                        format!(" id=\"{}\"", anchor(id))
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        h,
                        "<div class=\"passage\"{id_attr}><div class=\"meta\">{} — {} — {} — {}</div><blockquote>{}</blockquote></div>",
                        esc(&p.id),
                        esc(&p.case),
                        esc(&p.speaker),
                        esc(&p.codes),
                        esc(&p.text)
                    );
                }
                h.push_str("</section>\n");
            }
        }
    }
    h.push_str("</body>\n</html>\n");
    out.write_all(h.as_bytes())
}

/// The command that lists every passage of a heatmap cell.
fn explain_command(family: &str, row: &str, column: &str) -> String {
    format!(
        "qualdex table matrix --rows {} --cols case --explain {} {}",
        shell_word(family),
        shell_word(row),
        shell_word(column)
    )
}

/// A word as a POSIX shell reads it back: plain when it is safe, else in
/// single quotes.
fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_for_a_cell_survives_the_shell() {
        assert_eq!(
            super::explain_command("challenges", "challenges/risk", "Alfa"),
            "qualdex table matrix --rows challenges --cols case --explain challenges/risk Alfa"
        );
        assert_eq!(super::shell_word("Ørsted A/S"), "'Ørsted A/S'");
        assert_eq!(super::shell_word("O'Brien & Co"), "'O'\\''Brien & Co'");
        assert_eq!(super::shell_word(""), "''");
    }

    #[test]
    fn passage_ids_are_distinct_and_safe() {
        let a = super::anchor("a-b.md#1-2");
        let b = super::anchor("a_b.md#1-2");
        assert_ne!(a, b);
        assert_eq!(a, "p-a_2d_b_2e_md_23_1_2d_2");
        for id in [a, b, super::anchor("x\"><script>.md#1-2")] {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)),
                "{id}"
            );
        }
    }
}

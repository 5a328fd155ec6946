//! Case and document attribute sheets: `cases.csv` and `documents.csv`.
//!
//! `cases.csv` has one row per case, keyed by a `case` column; `documents.csv`
//! one row per file, keyed by a `path` column relative to the corpus root.
//! Precedence, most specific first: front matter, then `documents.csv`, then
//! `cases.csv`, then the parent folder's name (for `case` only).

use std::collections::BTreeMap;
use std::path::Path;

use crate::corpus::frontmatter::normalise_name;
use crate::diag::{Diagnostic, Diagnostics, suggest};

/// Attributes keyed by case or by path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// Key value (case name or path) to attributes.
    pub rows: BTreeMap<String, BTreeMap<String, String>>,
    /// Line number (1-based) of each key's row, for messages.
    pub lines: BTreeMap<String, usize>,
}

/// Both sheets, read from the corpus root.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sheets {
    /// `cases.csv`.
    pub cases: Sheet,
    /// `documents.csv`.
    pub documents: Sheet,
}

/// File names of the sheets, never ingested as transcripts.
pub const SHEET_NAMES: [&str; 2] = ["cases.csv", "documents.csv"];

impl Sheets {
    /// Reads the sheets that exist; reports every bad row.
    pub fn load(corpus: &Path) -> Result<Sheets, Diagnostics> {
        let mut problems = Vec::new();
        let cases = read_sheet(&corpus.join("cases.csv"), "case", &mut problems);
        let documents = read_sheet(&corpus.join("documents.csv"), "path", &mut problems);
        if problems.is_empty() {
            Ok(Sheets { cases, documents })
        } else {
            Err(Diagnostics(problems))
        }
    }

    /// Content hash of the sheet rows relevant to one document, so a change
    /// to a sheet re-indexes exactly the documents it affects.
    pub fn row_fingerprint(&self, path: &str, case: &str) -> String {
        let mut h = blake3::Hasher::new();
        for (k, v) in self.documents.rows.get(path).into_iter().flatten() {
            h.update(k.as_bytes())
                .update(b"=")
                .update(v.as_bytes())
                .update(b"\n");
        }
        h.update(b"\x00");
        for (k, v) in self.cases.rows.get(case).into_iter().flatten() {
            h.update(k.as_bytes())
                .update(b"=")
                .update(v.as_bytes())
                .update(b"\n");
        }
        h.finalize().to_hex()[..16].to_string()
    }
}

fn read_sheet(path: &Path, key: &str, problems: &mut Vec<Diagnostic>) -> Sheet {
    let mut sheet = Sheet::default();
    let bytes = match crate::fsutil::read_bounded(path, crate::fsutil::INPUT_LIMIT) {
        Ok(b) => b,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => return sheet,
        Err(e) => {
            problems.push(Diagnostic::error(format!("cannot read: {e}")).in_file(path));
            return sheet;
        }
    };
    let text = match crate::corpus::decode::decode(path, &bytes, false) {
        Ok(t) => t,
        Err(d) => {
            problems.push(d);
            return sheet;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(normalise_name).collect(),
        Err(e) => {
            problems.push(
                Diagnostic::error(format!("cannot read the header row: {e}"))
                    .in_file(path)
                    .at_line(1),
            );
            return sheet;
        }
    };
    let Some(key_col) = headers.iter().position(|h| h == key) else {
        let help = match suggest(key, headers.iter().map(String::as_str)) {
            Some(s) => format!("rename the column `{s}` to `{key}`"),
            None => format!(
                "add a `{key}` column naming the {}",
                if key == "case" {
                    "case of each row"
                } else {
                    "file of each row, relative to the corpus folder"
                }
            ),
        };
        problems.push(
            Diagnostic::error(format!("missing column `{key}`"))
                .in_file(path)
                .at(1, 1)
                .with_source_from(&text, text.lines().next().map_or(1, |l| l.chars().count()))
                .with_help(help),
        );
        return sheet;
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("row has {len} fields but the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                problems.push(
                    Diagnostic::error(msg)
                        .in_file(path)
                        .at_line(line)
                        .with_source_from(&text, 1)
                        .with_help(
                            "quote values that contain commas, e.g. \"Key account manager, EMEA\"",
                        ),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let key_value = record.get(key_col).unwrap_or("").trim().replace('\\', "/");
        if key_value.is_empty() {
            problems.push(
                Diagnostic::error(format!("empty `{key}` value"))
                    .in_file(path)
                    .at_line(line)
                    .with_source_from(&text, 1)
                    .with_help(format!("every row needs a `{key}`")),
            );
            continue;
        }
        if let Some(prev) = sheet.lines.get(&key_value) {
            problems.push(
                Diagnostic::error(format!(
                    "duplicate {key} `{key_value}` (first on line {prev})"
                ))
                .in_file(path)
                .at_line(line)
                .with_source_from(&text, 1)
                .with_help("merge the two rows into one"),
            );
            continue;
        }
        let attrs: BTreeMap<String, String> = headers
            .iter()
            .zip(record.iter())
            .filter(|(h, _)| *h != key || key == "case")
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(h, v)| (h.clone(), v.trim().to_string()))
            .collect();
        sheet.lines.insert(key_value.clone(), line);
        sheet.rows.insert(key_value, attrs);
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cases.csv"),
            "case,Sector\nAlfa,construction\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("documents.csv"),
            "path,role\na.txt,manager\nb.txt,x,extra\n",
        )
        .unwrap();
        let e = Sheets::load(dir.path()).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].line, Some(3));
        std::fs::write(
            dir.path().join("documents.csv"),
            "path,role\na.txt,manager\n",
        )
        .unwrap();
        let s = Sheets::load(dir.path()).unwrap();
        assert_eq!(s.cases.rows["Alfa"]["sector"], "construction");
        assert_eq!(s.documents.rows["a.txt"]["role"], "manager");
    }

    #[test]
    fn missing_key_column_suggests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("documents.csv"), "paht,role\na.txt,m\n").unwrap();
        let e = Sheets::load(dir.path()).unwrap_err();
        assert_eq!(e.0[0].message, "missing column `path`");
        assert_eq!(
            e.0[0].help.as_deref(),
            Some("rename the column `paht` to `path`")
        );
    }
}

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

impl Sheet {
    /// The row for `key` (a path or a case name), matched with accents
    /// composed (NFC) on both sides: a sheet typed on one system names the
    /// files of another, whose names may be decomposed (macOS).
    pub fn row(&self, key: &str) -> Option<&BTreeMap<String, String>> {
        if unicode_normalization::is_nfc_quick(key.chars())
            == unicode_normalization::IsNormalized::Yes
        {
            self.rows.get(key)
        } else {
            self.rows.get(&composed(key))
        }
    }
}

/// `s` with its accents composed (Unicode NFC).
fn composed(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
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

    /// Warnings for `documents.csv` rows whose `path` names none of
    /// `transcripts` (paths relative to the corpus folder): their attributes
    /// reach no document, which then falls into its folder's case. Each
    /// names the row's line and, where one is close, the path meant.
    pub fn unmatched_documents<'a>(
        &self,
        corpus: &Path,
        transcripts: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Vec<Diagnostic> {
        let known: std::collections::HashSet<String> =
            transcripts.clone().into_iter().map(composed).collect();
        let sheet = corpus.join("documents.csv");
        let mut out = Vec::new();
        let mut rows: Vec<(&String, &usize)> = self.documents.lines.iter().collect();
        rows.sort_by_key(|(_, line)| **line);
        for (path, line) in rows {
            if known.contains(path) {
                continue;
            }
            let help = match nearest_path(path, transcripts.clone()) {
                Some(p) => format!("did you mean `{p}`?"),
                None => "paths are relative to the corpus folder, with `/` between folders, \
                         e.g. `alfa/rd-01.md`"
                    .to_string(),
            };
            out.push(
                Diagnostic::warning(format!(
                    "the row for `{path}` matches no transcript, so its attributes are not used"
                ))
                .in_file(&sheet)
                .at_line(*line)
                .with_help(help),
            );
        }
        out
    }

    /// Content hash of the sheet rows relevant to one document, so a change
    /// to a sheet re-indexes exactly the documents it affects.
    pub fn row_fingerprint(&self, path: &str, case: &str) -> String {
        let mut h = blake3::Hasher::new();
        for (k, v) in self.documents.row(path).into_iter().flatten() {
            h.update(k.as_bytes())
                .update(b"=")
                .update(v.as_bytes())
                .update(b"\n");
        }
        h.update(b"\x00");
        for (k, v) in self.cases.row(case).into_iter().flatten() {
            h.update(k.as_bytes())
                .update(b"=")
                .update(v.as_bytes())
                .update(b"\n");
        }
        h.finalize().to_hex()[..16].to_string()
    }
}

/// The transcript path a mistyped one most likely means: the only one that
/// differs only in its extension (`.md` for `.txt`), else the only one with
/// the same file name in another folder, else the closest by edit distance.
fn nearest_path<'a>(path: &str, transcripts: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn stem(p: &str) -> &str {
        p.rsplit_once('.').map_or(p, |(s, _)| s)
    }
    let all: Vec<&str> = transcripts.into_iter().collect();
    let trimmed = path.trim_start_matches("./");
    let unique = |keep: &dyn Fn(&str) -> bool| {
        let same: Vec<&str> = all.iter().copied().filter(|t| keep(t)).collect();
        (same.len() == 1).then(|| same[0])
    };
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    unique(&|t| stem(t) == stem(trimmed))
        .or_else(|| unique(&|t| t.rsplit('/').next() == Some(name)))
        .or_else(|| suggest(trimmed, all.iter().copied()))
}

/// The 1-based line where a CSV record starts, counted from its byte offset
/// in `text`. The csv reader's own count is one short in files with CRLF
/// line endings: it ends a record at the `\r`, so the next one "starts" at
/// the `\n`, which is therefore skipped here, as are blank lines.
pub fn csv_line(text: &str, pos: Option<&csv::Position>) -> usize {
    pos.map_or(0, |p| {
        let bytes = text.as_bytes();
        let mut byte = usize::try_from(p.byte())
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
            byte += 1;
        }
        bytes[..byte].iter().filter(|&&b| b == b'\n').count() + 1
    })
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
                let line = csv_line(&text, e.position());
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
        let line = csv_line(&text, record.position());
        let key_value = composed(record.get(key_col).unwrap_or("").trim()).replace('\\', "/");
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
    fn rows_match_paths_and_cases_whatever_the_encoding_of_their_accents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("documents.csv"),
            "path,role\nZ\u{fc}rich/caf\u{e9}.txt,owner\nMu\u{308}nchen/a.txt,guest\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cases.csv"),
            "case,sector\nZ\u{fc}rich,food\n",
        )
        .unwrap();
        let s = Sheets::load(dir.path()).unwrap();
        let nfd = "Zu\u{308}rich/cafe\u{301}.txt";
        assert_eq!(s.documents.row(nfd).unwrap()["role"], "owner");
        assert_eq!(
            s.documents.row("M\u{fc}nchen/a.txt").unwrap()["role"],
            "guest"
        );
        assert_eq!(s.cases.row("Zu\u{308}rich").unwrap()["sector"], "food");
        let (attrs, _) = super::super::resolve_attributes(nfd, &BTreeMap::new(), &s);
        assert_eq!(
            (attrs["role"].as_str(), attrs["sector"].as_str()),
            ("owner", "food")
        );
        let w = s.unmatched_documents(dir.path(), [nfd, "Mu\u{308}nchen/a.txt"]);
        assert!(w.is_empty(), "{w:?}");
        // The two spellings of one path in one sheet are one row twice.
        std::fs::write(
            dir.path().join("documents.csv"),
            "path,role\nZ\u{fc}rich.txt,a\nZu\u{308}rich.txt,b\n",
        )
        .unwrap();
        let e = Sheets::load(dir.path()).unwrap_err();
        assert!(
            e.0[0].message.contains("duplicate path"),
            "{}",
            e.0[0].message
        );
    }

    #[test]
    fn csv_lines_are_right_with_any_line_ending() {
        for eol in ["\n", "\r\n"] {
            let text = ["a,b", "1,2", "", "3,4", "\"x", "y\",5"].join(eol);
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let lines: Vec<usize> = r
                .records()
                .map(|rec| csv_line(&text, rec.unwrap().position()))
                .collect();
            assert_eq!(lines, [2, 4, 5], "{eol:?}");
        }
    }

    #[test]
    fn unmatched_document_rows_are_warned_with_the_nearest_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("documents.csv"),
            "path,role\r\na/x.md,m\r\na/x.txt,m\r\nb/y.txt,m\r\n",
        )
        .unwrap();
        let s = Sheets::load(dir.path()).unwrap();
        let w = s.unmatched_documents(dir.path(), ["a/x.md", "c/y.txt"]);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].line, Some(3));
        assert_eq!(w[0].help.as_deref(), Some("did you mean `a/x.md`?"));
        assert_eq!(w[1].line, Some(4));
        assert_eq!(w[1].help.as_deref(), Some("did you mean `c/y.txt`?"));
        assert!(!w[0].is_error());
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

//! The tables a study declares under `tables:` (and `qualdex table` builds
//! from its options): [`TableSettings`] as the researcher wrote them, and
//! the [`TableSpec`] they are checked into, one variant per kind, before
//! any table is computed. A setting that is missing, unknown for its kind
//! or of a value the kind does not take is reported with the key it lies
//! at, so the study file's reader can place it on its line.

use serde::{Deserialize, Serialize};

use super::UnitKind;
use crate::diag::{Diagnostic, suggest};

/// A table as written: what `qualdex table KIND ...` takes, and what
/// `qualdex.yaml` declares under `tables:` for `qualdex run`. Checked into
/// a [`TableSpec`] by [`TableSettings::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// The table's name; the output file's stem (study files only): a plain
    /// file name, checked when the study file is read.
    #[serde(default, deserialize_with = "super::table_name")]
    pub name: String,
    /// `corpus`, `matrix`, `cooccur`, `framework`, `quotes`, `structure`, `saturation`.
    pub kind: String,
    /// Rows: a family or code (matrix, quotes), codes (cooccur), an attribute (framework).
    #[serde(default)]
    pub rows: Option<String>,
    /// Columns: attribute(s) (matrix), codes or families (cooccur, framework).
    #[serde(default, deserialize_with = "super::one_or_many")]
    pub cols: Vec<String>,
    /// Matrix measure: passages, docs, presence, percent, words.
    #[serde(default)]
    pub measure: Option<String>,
    /// Co-occurrence unit: sentence, paragraph, turn, document.
    #[serde(default)]
    pub within: Option<String>,
    /// Cell content: count or cases (cooccur); codes, quote or count (framework).
    #[serde(default)]
    pub cells: Option<String>,
    /// Attribute to group by (corpus, quotes).
    #[serde(default)]
    pub by: Option<String>,
    /// Quotes per cell.
    #[serde(default)]
    pub k: Option<usize>,
    /// Longest quote, in characters.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// Attributes naming an informant in quotes.
    #[serde(default, deserialize_with = "super::one_or_many")]
    pub attribution: Vec<String>,
    /// Interview order for saturation (an attribute).
    #[serde(default)]
    pub order: Option<String>,
    /// Families for the structure (all when empty).
    #[serde(default, deserialize_with = "super::one_or_many")]
    pub families: Vec<String>,
    /// Codings counted: any, auto, manual, or a coder.
    #[serde(default)]
    pub source: Option<String>,
    /// Output formats written to `out/` (default: md).
    #[serde(default, deserialize_with = "super::one_or_many")]
    pub formats: Vec<String>,
    /// A title printed above the table.
    #[serde(default)]
    pub title: Option<String>,
}

/// Every key of a table's settings, in the order of [`TableSettings`].
pub const TABLE_KEYS: &[&str] = &[
    "name",
    "kind",
    "rows",
    "cols",
    "measure",
    "within",
    "cells",
    "by",
    "k",
    "max_chars",
    "attribution",
    "order",
    "families",
    "source",
    "formats",
    "title",
];

/// Settings every kind takes.
const COMMON_KEYS: &[&str] = &["name", "kind", "title", "source", "formats"];

/// Table kinds.
pub const KINDS: &[&str] = &[
    "corpus",
    "matrix",
    "cooccur",
    "framework",
    "quotes",
    "structure",
    "saturation",
];

/// A checked table: its name, title, codings counted, output formats and
/// what it computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The output file's stem (`run`), or the kind (`qualdex table`).
    pub name: String,
    /// A title printed above the table.
    pub title: Option<String>,
    /// Codings counted: any, auto, manual, or a coder (checked against the
    /// study's coders by the caller, who knows them).
    pub source: Option<String>,
    /// Output formats written to `out/` (empty: md).
    pub formats: Vec<String>,
    /// What the table computes.
    pub kind: TableKind,
}

/// What a table computes, with the settings of its kind, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableKind {
    /// Documents, informants, turns, words per case; or informants per value of `by`.
    Corpus {
        /// An attribute.
        by: Option<String>,
    },
    /// Codes × the values of one or two attributes.
    Matrix {
        /// A family or code.
        rows: String,
        /// One or two attributes.
        cols: Vec<String>,
        /// What a cell counts.
        measure: Measure,
    },
    /// Code × code within a unit.
    Cooccur {
        /// Codes or families.
        rows: Vec<String>,
        /// Codes or families (the rows when none are given).
        cols: Vec<String>,
        /// The unit two codes must share.
        within: UnitKind,
        /// What a cell shows.
        cells: CooccurCells,
    },
    /// Rows of an attribute's values × codes or families.
    Framework {
        /// An attribute (default `case`).
        rows: String,
        /// Codes or families.
        cols: Vec<String>,
        /// What a cell shows.
        cells: FrameworkCells,
    },
    /// The most representative quotes per code.
    Quotes {
        /// A family or code.
        rows: String,
        /// An attribute to group by.
        by: Option<String>,
        /// Quotes per cell.
        k: usize,
        /// Longest quote, in characters.
        max_chars: usize,
        /// Attributes naming an informant.
        attribution: Vec<String>,
    },
    /// The Gioia data structure.
    Structure {
        /// Families (all when empty).
        families: Vec<String>,
    },
    /// New codes per additional interview.
    Saturation {
        /// The attribute giving the interview order (chosen from the
        /// attributes present when none is given).
        order: Option<String>,
    },
}

impl TableKind {
    /// The kind's name, as written.
    pub fn name(&self) -> &'static str {
        match self {
            TableKind::Corpus { .. } => "corpus",
            TableKind::Matrix { .. } => "matrix",
            TableKind::Cooccur { .. } => "cooccur",
            TableKind::Framework { .. } => "framework",
            TableKind::Quotes { .. } => "quotes",
            TableKind::Structure { .. } => "structure",
            TableKind::Saturation { .. } => "saturation",
        }
    }
}

impl TableSpec {
    /// The table `qualdex run` writes when the study declares none.
    pub fn corpus_summary() -> TableSpec {
        TableSpec {
            name: "corpus".into(),
            title: None,
            source: None,
            formats: vec![],
            kind: TableKind::Corpus { by: None },
        }
    }
}

/// What a matrix cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Distinct coded spans (a span coded twice under one row counts once).
    Passages,
    /// Documents (informants' interviews) with the code.
    Docs,
    /// 1 when any document of the column has the code.
    Presence,
    /// Percent of the column's documents that have the code.
    Percent,
    /// Words in the coded spans (overlaps counted once).
    Words,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 5] = [
        Measure::Passages,
        Measure::Docs,
        Measure::Presence,
        Measure::Percent,
        Measure::Words,
    ];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Passages => "passages",
            Measure::Docs => "docs",
            Measure::Presence => "presence",
            Measure::Percent => "percent",
            Measure::Words => "words",
        }
    }

    /// Parses a name (`documents` is taken for `docs`).
    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL
            .into_iter()
            .find(|m| m.as_str() == s || (s == "documents" && *m == Measure::Docs))
    }
}

/// What a co-occurrence cell shows in text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CooccurCells {
    /// Number of shared units.
    Count,
    /// The cases where the pair occurs.
    Cases,
}

/// What a framework cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameworkCells {
    /// The codes present under the column (their labels).
    Codes,
    /// The best quote.
    Quote,
    /// Number of coded passages.
    Count,
}

/// A problem with one table's settings, and the key it lies at (`None`:
/// the table as a whole).
#[derive(Debug, Clone)]
pub struct SettingProblem {
    /// The key of the setting, as in [`TABLE_KEYS`].
    pub key: Option<&'static str>,
    /// What is wrong and how to fix it (not yet placed in a file).
    pub diagnostic: Diagnostic,
}

/// The settings a kind takes besides [`COMMON_KEYS`].
fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "corpus" => &["by"],
        "matrix" => &["rows", "cols", "measure"],
        "cooccur" => &["rows", "cols", "within", "cells"],
        "framework" => &["rows", "cols", "cells"],
        "quotes" => &["rows", "by", "k", "max_chars", "attribution"],
        "structure" => &["families"],
        "saturation" => &["order"],
        _ => &[],
    }
}

impl TableSettings {
    /// The keys that are set, in the order of [`TABLE_KEYS`].
    fn given(&self) -> Vec<&'static str> {
        let set = [
            !self.name.is_empty(),
            true,
            self.rows.is_some(),
            !self.cols.is_empty(),
            self.measure.is_some(),
            self.within.is_some(),
            self.cells.is_some(),
            self.by.is_some(),
            self.k.is_some(),
            self.max_chars.is_some(),
            !self.attribution.is_empty(),
            self.order.is_some(),
            !self.families.is_empty(),
            self.source.is_some(),
            !self.formats.is_empty(),
            self.title.is_some(),
        ];
        TABLE_KEYS
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Checks the settings against their kind: the kind is known, what it
    /// needs is there, every value is one it takes, and no setting belongs
    /// to another kind. Every problem is returned, each with its key.
    pub fn check(&self) -> Result<TableSpec, Vec<SettingProblem>> {
        let kind = self.kind.as_str();
        let problem = |key: &'static str, d: Diagnostic| SettingProblem {
            key: Some(key),
            diagnostic: d,
        };
        if !KINDS.contains(&kind) {
            let help = match suggest(kind, KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? kinds: {}", KINDS.join(", ")),
                None => format!("kinds: {}", KINDS.join(", ")),
            };
            return Err(vec![problem(
                "kind",
                Diagnostic::error(format!("unknown table kind `{kind}`")).with_help(help),
            )]);
        }
        let mut problems = Vec::new();
        let takes = kind_keys(kind);
        for key in self.given() {
            if !COMMON_KEYS.contains(&key) && !takes.contains(&key) {
                let users: Vec<&str> = KINDS
                    .iter()
                    .copied()
                    .filter(|k| kind_keys(k).contains(&key))
                    .collect();
                let own: Vec<String> = takes.iter().map(|k| format!("`{k}`")).collect();
                problems.push(problem(
                    key,
                    Diagnostic::error(format!("a `{kind}` table takes no `{key}`")).with_help(
                        format!(
                            "`{key}` is a setting of {} tables; a `{kind}` table takes {}",
                            users.join(", "),
                            own.join(", ")
                        ),
                    ),
                ));
            }
        }
        let needed = |what: &str, value: &Option<String>, example: &str| {
            value.clone().ok_or_else(|| {
                // A missing setting is shown at the table's `kind:`.
                problem(
                    "kind",
                    Diagnostic::error(format!("a `{kind}` table needs `{what}`"))
                        .with_help(format!("e.g. {example}")),
                )
            })
        };
        let kind_spec = match kind {
            "corpus" => Ok(TableKind::Corpus {
                by: self.by.clone(),
            }),
            "matrix" => {
                let rows = needed("rows", &self.rows, "--rows challenges");
                let cols = if self.cols.is_empty() || self.cols.len() > 2 {
                    Err(problem(
                        if self.cols.is_empty() { "kind" } else { "cols" },
                        Diagnostic::error("a `matrix` table needs one or two column attributes")
                            .with_help("e.g. --cols case, or --cols case,side for case x side"),
                    ))
                } else {
                    Ok(self.cols.clone())
                };
                let measure = match self.measure.as_deref() {
                    None => Ok(Measure::Passages),
                    Some(m) => Measure::parse(m).ok_or_else(|| {
                        let names: Vec<&str> = Measure::ALL.iter().map(|m| m.as_str()).collect();
                        problem(
                            "measure",
                            Diagnostic::error(format!("unknown measure `{m}`"))
                                .with_help(choices("measures", m, &names)),
                        )
                    }),
                };
                match (rows, cols, measure) {
                    (Ok(rows), Ok(cols), Ok(measure)) => Ok(TableKind::Matrix {
                        rows,
                        cols,
                        measure,
                    }),
                    (r, c, m) => Err([r.err(), c.err(), m.err()]),
                }
            }
            "cooccur" => {
                let rows = needed("rows", &self.rows, "--rows constellations").map(|r| {
                    r.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                });
                let within = match self.within.as_deref() {
                    None => Ok(UnitKind::Paragraph),
                    Some(w) => UnitKind::parse(w).ok_or_else(|| {
                        let names: Vec<&str> = UnitKind::ALL.iter().map(|u| u.as_str()).collect();
                        problem(
                            "within",
                            Diagnostic::error(format!("unknown unit `{w}`"))
                                .with_help(choices("within", w, &names)),
                        )
                    }),
                };
                let cells = match self.cells.as_deref() {
                    None | Some("count") => Ok(CooccurCells::Count),
                    Some("cases") => Ok(CooccurCells::Cases),
                    Some(o) => Err(problem(
                        "cells",
                        Diagnostic::error(format!("unknown cells `{o}`")).with_help(choices(
                            "cells",
                            o,
                            &["count", "cases"],
                        )),
                    )),
                };
                match (rows, within, cells) {
                    (Ok(rows), Ok(within), Ok(cells)) => Ok(TableKind::Cooccur {
                        cols: if self.cols.is_empty() {
                            rows.clone()
                        } else {
                            self.cols.clone()
                        },
                        rows,
                        within,
                        cells,
                    }),
                    (r, w, c) => Err([r.err(), w.err(), c.err()]),
                }
            }
            "framework" => {
                let cols = if self.cols.is_empty() {
                    Err(problem(
                        "kind",
                        Diagnostic::error("a `framework` table needs `cols`: codes or families")
                            .with_help("e.g. --cols market-orientation,coordination"),
                    ))
                } else {
                    Ok(self.cols.clone())
                };
                let cells = match self.cells.as_deref() {
                    None | Some("codes") => Ok(FrameworkCells::Codes),
                    Some("quote") => Ok(FrameworkCells::Quote),
                    Some("count") => Ok(FrameworkCells::Count),
                    Some(o) => Err(problem(
                        "cells",
                        Diagnostic::error(format!("unknown cells `{o}`")).with_help(choices(
                            "cells",
                            o,
                            &["codes", "quote", "count"],
                        )),
                    )),
                };
                match (cols, cells) {
                    (Ok(cols), Ok(cells)) => Ok(TableKind::Framework {
                        rows: self.rows.clone().unwrap_or_else(|| "case".into()),
                        cols,
                        cells,
                    }),
                    (c, s) => Err([c.err(), s.err(), None]),
                }
            }
            "quotes" => {
                let rows = needed("rows", &self.rows, "--rows challenges");
                let positive = |key: &'static str, v: Option<usize>, default: usize| match v {
                    Some(0) => Err(problem(
                        key,
                        Diagnostic::error(format!("`{key}` must be at least 1"))
                            .with_help(format!("leave it out for the default, {default}")),
                    )),
                    v => Ok(v.unwrap_or(default)),
                };
                let k = positive("k", self.k, 3);
                let max_chars = positive("max_chars", self.max_chars, 300);
                match (rows, k, max_chars) {
                    (Ok(rows), Ok(k), Ok(max_chars)) => Ok(TableKind::Quotes {
                        rows,
                        by: self.by.clone(),
                        k,
                        max_chars,
                        attribution: if self.attribution.is_empty() {
                            ["role", "case", "side", "country"]
                                .map(String::from)
                                .to_vec()
                        } else {
                            self.attribution.clone()
                        },
                    }),
                    (r, k, m) => Err([r.err(), k.err(), m.err()]),
                }
            }
            "structure" => Ok(TableKind::Structure {
                families: self.families.clone(),
            }),
            _ => Ok(TableKind::Saturation {
                order: self.order.clone(),
            }),
        };
        match kind_spec {
            Ok(kind) if problems.is_empty() => Ok(TableSpec {
                name: self.name.clone(),
                title: self.title.clone(),
                source: self.source.clone(),
                formats: self.formats.clone(),
                kind,
            }),
            Ok(_) => Err(problems),
            Err(more) => {
                problems.extend(more.into_iter().flatten());
                Err(problems)
            }
        }
    }
}

/// "did you mean" help for a value of a closed set.
fn choices(what: &str, given: &str, names: &[&str]) -> String {
    match suggest(given, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? {what}: {}", names.join(", ")),
        None => format!("{what}: {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: &str) -> TableSettings {
        TableSettings {
            name: "t".into(),
            kind: kind.into(),
            ..Default::default()
        }
    }

    fn keys(e: &[SettingProblem]) -> Vec<Option<&'static str>> {
        e.iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_are_filled_in_per_kind() {
        let mut s = settings("quotes");
        s.rows = Some("challenges".into());
        assert_eq!(
            s.check().unwrap().kind,
            TableKind::Quotes {
                rows: "challenges".into(),
                by: None,
                k: 3,
                max_chars: 300,
                attribution: ["role", "case", "side", "country"]
                    .map(String::from)
                    .to_vec(),
            }
        );
        let mut s = settings("cooccur");
        s.rows = Some("a, b,".into());
        assert_eq!(
            s.check().unwrap().kind,
            TableKind::Cooccur {
                rows: vec!["a".into(), "b".into()],
                cols: vec!["a".into(), "b".into()],
                within: UnitKind::Paragraph,
                cells: CooccurCells::Count,
            }
        );
        let mut s = settings("framework");
        s.cols = vec!["x".into()];
        assert!(matches!(
            s.check().unwrap().kind,
            TableKind::Framework { rows, cells: FrameworkCells::Codes, .. } if rows == "case"
        ));
        let mut s = settings("matrix");
        s.rows = Some("r".into());
        s.cols = vec!["case".into()];
        s.measure = Some("documents".into());
        assert!(matches!(
            s.check().unwrap().kind,
            TableKind::Matrix {
                measure: Measure::Docs,
                ..
            }
        ));
    }

    #[test]
    fn every_problem_is_returned_with_its_key() {
        let mut s = settings("matrix");
        s.cols = vec!["a".into(), "b".into(), "c".into()];
        s.measure = Some("dcos".into());
        s.within = Some("turn".into());
        let e = s.check().unwrap_err();
        assert_eq!(
            keys(&e),
            [Some("within"), Some("kind"), Some("cols"), Some("measure")]
        );
        assert!(e[0].diagnostic.message.contains("takes no `within`"));
        assert!(
            e[0].diagnostic
                .help
                .as_deref()
                .unwrap()
                .contains("`within` is a setting of cooccur tables")
        );
        assert!(e[1].diagnostic.message.contains("needs `rows`"));
        assert!(e[3].diagnostic.message.contains("unknown measure `dcos`"));
        assert!(
            e[3].diagnostic
                .help
                .as_deref()
                .unwrap()
                .contains("did you mean `docs`?")
        );
    }

    #[test]
    fn an_unknown_kind_is_the_only_problem_reported() {
        let mut s = settings("structur");
        s.measure = Some("x".into());
        let e = s.check().unwrap_err();
        assert_eq!(keys(&e), [Some("kind")]);
        assert!(
            e[0].diagnostic
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `structure`?")
        );
    }

    #[test]
    fn values_outside_a_kinds_range_are_refused() {
        let mut s = settings("quotes");
        s.rows = Some("r".into());
        s.k = Some(0);
        s.max_chars = Some(0);
        assert_eq!(
            keys(&s.check().unwrap_err()),
            [Some("k"), Some("max_chars")]
        );
        let mut s = settings("cooccur");
        s.rows = Some("r".into());
        s.within = Some("turns".into());
        s.cells = Some("quote".into());
        assert_eq!(
            keys(&s.check().unwrap_err()),
            [Some("within"), Some("cells")]
        );
        let mut s = settings("framework");
        s.cells = Some("cases".into());
        assert_eq!(keys(&s.check().unwrap_err()), [Some("kind"), Some("cells")]);
    }

    #[test]
    fn the_keys_listed_are_the_fields_of_the_settings() {
        // `given` pairs TABLE_KEYS with the fields by position; a field
        // added to one and not the other would shift every key after it.
        let yaml: String = TABLE_KEYS
            .iter()
            .map(|k| match *k {
                "k" | "max_chars" => format!("{k}: 1\n"),
                k => format!("{k}: x\n"),
            })
            .collect();
        let s: TableSettings = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(s.given(), TABLE_KEYS);
    }
}

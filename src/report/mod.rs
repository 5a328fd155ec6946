//! The data behind `qualdex report`: the tables of a write-up, gathered from
//! the table builders. Rendering is [`html`]'s job.

pub mod html;

use std::collections::BTreeSet;

use crate::codebook::Codebook;
use crate::diag::Diagnostics;
use crate::index::Opened;
use crate::query::CodeSource;
use crate::render::Table;
use crate::study::{Study, UnitKind};
use crate::table::coded::Coded;
use crate::table::{cooccur, corpus, matrix, quotes};

/// A passage shown in the report.
#[derive(Debug, Clone)]
pub struct ShownPassage {
    /// `path#start-end`.
    pub id: String,
    /// Case.
    pub case: String,
    /// Speaker.
    pub speaker: String,
    /// Codes and sources.
    pub codes: String,
    /// Text.
    pub text: String,
}

/// Everything the report shows.
pub struct ReportData {
    /// Study title.
    pub title: String,
    /// Documents.
    pub documents: usize,
    /// The data-collection table.
    pub corpus: Table,
    /// The codebook table.
    pub codebook: Table,
    /// One code × case matrix per family.
    pub heatmaps: Vec<Heatmap>,
    /// Co-occurrence of all codes within the study's unit.
    pub network: Option<cooccur::Cooccurrence>,
    /// Code labels by id.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Quotes per code.
    pub quotes: Vec<quotes::Quote>,
    /// Every passage listed under a heatmap cell, by id.
    pub passages: std::collections::BTreeMap<String, ShownPassage>,
}

/// A family's code × case matrix, and the passages listed under each cell.
pub struct Heatmap {
    /// The family's id (the matrix's `--rows`).
    pub family: String,
    /// The family's label.
    pub title: String,
    /// Passages per code and case.
    pub matrix: matrix::Matrix,
    /// Per cell (as `matrix.cells`), the ids listed, in the cell's order:
    /// all of them, or at most the study's `passages_per_cell`.
    pub shown: Vec<Vec<Vec<String>>>,
}

/// At most `limit` (0: all) of a cell's passage ids, in the cell's order:
/// passages quoted in the report first, so every quote's link leads to its
/// passage, then the others from the start.
pub fn pick(ids: &[String], limit: usize, quoted: &BTreeSet<&str>) -> Vec<String> {
    if limit == 0 || ids.len() <= limit {
        return ids.to_vec();
    }
    let mut keep: Vec<usize> = (0..ids.len())
        .filter(|&i| quoted.contains(ids[i].as_str()))
        .take(limit)
        .collect();
    let mut rest = (0..ids.len()).filter(|&i| !quoted.contains(ids[i].as_str()));
    while keep.len() < limit {
        match rest.next() {
            Some(i) => keep.push(i),
            None => break,
        }
    }
    keep.sort_unstable();
    keep.into_iter().map(|i| ids[i].clone()).collect()
}

/// Gathers the report's tables.
///
/// Linear in the coded passages: each listed passage is looked up by
/// binary search, and at most `passages_per_cell` (from the study file) are
/// listed per cell (`limit`, 0 for all), so the page stays a few megabytes
/// however large the study.
pub fn gather(
    study: &Study,
    opened: &Opened,
    cb: &Codebook,
    limit: usize,
) -> Result<ReportData, Diagnostics> {
    let coded = Coded::load(opened, &CodeSource::Any)?;
    let mut codebook = crate::table::codebook::table(cb);
    codebook.title = Some("Codebook".into());
    let mut heatmaps = Vec::new();
    for f in &cb.families {
        let m = matrix::build(
            &coded,
            cb,
            &f.id,
            &["case".to_string()],
            matrix::Measure::Passages,
        )?;
        heatmaps.push((f, m));
    }
    let all: Vec<String> = cb.families.iter().map(|f| f.id.clone()).collect();
    let network = if cb.codes.is_empty() {
        None
    } else {
        let unit = if study.config.unit == UnitKind::Sentence {
            UnitKind::Sentence
        } else {
            study.config.unit
        };
        Some(cooccur::build(
            opened,
            cb,
            &all,
            &all,
            unit,
            &CodeSource::Any,
        )?)
    };
    let mut quotes_all = Vec::new();
    for f in &cb.families {
        quotes_all.extend(quotes::build(
            &coded,
            cb,
            &f.id,
            None,
            2,
            300,
            &[
                "role".into(),
                "case".into(),
                "side".into(),
                "country".into(),
            ],
        )?);
    }
    let quoted: BTreeSet<&str> = quotes_all.iter().map(|q| q.passage.as_str()).collect();
    let heatmaps: Vec<Heatmap> = heatmaps
        .into_iter()
        .map(|(f, m)| Heatmap {
            family: f.id.clone(),
            title: f.label.clone(),
            shown: m
                .cells
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|c| pick(&c.passages, limit, &quoted))
                        .collect()
                })
                .collect(),
            matrix: m,
        })
        .collect();
    let mut passages = std::collections::BTreeMap::new();
    for id in heatmaps
        .iter()
        .flat_map(|h| h.shown.iter().flatten().flatten())
    {
        if passages.contains_key(id) {
            continue;
        }
        let Some(pid) = crate::table::coded::PassageId::parse(id) else {
            continue;
        };
        let (path, s, e) = (pid.path.as_str(), pid.start, pid.end);
        let here = coded.at(&pid);
        passages.insert(
            id.clone(),
            ShownPassage {
                id: id.clone(),
                case: coded.attr(path, "case"),
                speaker: here
                    .first()
                    .and_then(|p| p.speaker.clone())
                    .unwrap_or_default(),
                codes: coded.codes_at(&pid),
                text: coded.text(path, s, e),
            },
        );
    }
    let mut labels: std::collections::BTreeMap<String, String> = cb
        .codes
        .iter()
        .map(|c| (c.path.clone(), c.label.clone()))
        .collect();
    labels.extend(cb.families.iter().map(|f| (f.id.clone(), f.label.clone())));
    Ok(ReportData {
        title: study
            .config
            .title
            .clone()
            .or_else(|| cb.title.clone())
            .unwrap_or_else(|| "qualdex report".into()),
        documents: opened.manifest().documents.len(),
        corpus: corpus::summary(opened.manifest()),
        codebook,
        heatmaps,
        network,
        labels,
        quotes: quotes_all,
        passages,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("a.md#{i}-{}", i + 1)).collect()
    }

    #[test]
    fn a_cell_lists_its_quoted_passages_and_then_the_first_ones() {
        let all = ids(30);
        let none = BTreeSet::new();
        assert_eq!(super::pick(&all, 0, &none), all, "0 lists all");
        assert_eq!(super::pick(&all[..5], 20, &none), all[..5]);
        assert_eq!(super::pick(&all, 3, &none), all[..3]);
        // Quoted passages are kept, and the order stays the cell's.
        let quoted: BTreeSet<&str> = [all[25].as_str(), all[7].as_str()].into();
        assert_eq!(
            super::pick(&all, 4, &quoted),
            [&all[0], &all[1], &all[7], &all[25]].map(String::clone)
        );
        // More quoted passages than room: the first of them.
        assert_eq!(super::pick(&all, 1, &quoted), [all[7].clone()]);
    }
}

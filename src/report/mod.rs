//! The data behind `qualdex report`: the tables of a write-up, gathered from
//! the table builders. Rendering is [`html`]'s job.

pub mod html;

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
    pub heatmaps: Vec<(String, matrix::Matrix)>,
    /// Co-occurrence of all codes within the study's unit.
    pub network: Option<cooccur::Cooccurrence>,
    /// Code labels by id.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Quotes per code.
    pub quotes: Vec<quotes::Quote>,
    /// Every passage behind a heatmap cell, by id.
    pub passages: std::collections::BTreeMap<String, ShownPassage>,
}

/// Gathers the report's tables.
pub fn gather(study: &Study, opened: &Opened, cb: &Codebook) -> Result<ReportData, Diagnostics> {
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
        heatmaps.push((f.label.clone(), m));
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
    let mut passages = std::collections::BTreeMap::new();
    for (_, m) in &heatmaps {
        for row in m.cells.iter() {
            for cell in row {
                for id in &cell.passages {
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
            }
        }
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

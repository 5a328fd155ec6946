//! The coded corpus as tables see it: every coded passage with its
//! document's attributes, loaded once from the index. Tables aggregate these
//! in memory; they never format.

use std::collections::{BTreeMap, BTreeSet};

use crate::coding::Source;
use crate::diag::Diagnostics;
use crate::index::{Bodies, DocEntry, Opened};
use crate::query::{self, CodeSource};

/// One coded passage, flattened for aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Document path.
    pub path: String,
    /// Code path.
    pub code: String,
    /// Where it came from.
    pub source: Source,
    /// Start (characters).
    pub start: usize,
    /// End (characters).
    pub end: usize,
    /// Speaker.
    pub speaker: Option<String>,
    /// Respondent's words.
    pub respondent: bool,
    /// Number of rule matches behind an auto-coding (0 for manual).
    pub strength: usize,
    /// Memo.
    pub memo: Option<String>,
    /// Accepted by a coder.
    pub accepted: bool,
}

impl Passage {
    /// The passage id used in table cells: `path#start-end`.
    pub fn id(&self) -> String {
        format!("{}#{}-{}", self.path, self.start, self.end)
    }
}

/// The coded corpus.
pub struct Coded<'a> {
    /// The opened index (for texts).
    pub opened: &'a Opened,
    /// Documents by path.
    pub docs: &'a BTreeMap<String, DocEntry>,
    /// Passages in document order.
    pub passages: Vec<Passage>,
    /// Passage indices by code, so a subtree is gathered without a full scan.
    by_code: BTreeMap<String, Vec<usize>>,
    bodies: std::cell::RefCell<Bodies>,
}

impl<'a> Coded<'a> {
    /// Loads every passage of one source.
    pub fn load(opened: &'a Opened, source: &CodeSource) -> Result<Coded<'a>, Diagnostics> {
        Self::load_under(opened, source, None)
    }

    /// Loads only the passages of one code or family and its descendants.
    pub fn load_under(
        opened: &'a Opened,
        source: &CodeSource,
        root: Option<&str>,
    ) -> Result<Coded<'a>, Diagnostics> {
        let rows = query::passage_rows(opened, root, source)?;
        let passages: Vec<Passage> = rows
            .into_iter()
            .map(|r| Passage {
                strength: r.strength,
                path: r.path,
                code: r.code,
                source: r.source,
                start: r.start,
                end: r.end,
                speaker: r.speaker,
                respondent: r.respondent,
                memo: r.memo,
                accepted: r.accepted,
            })
            .collect();
        let mut by_code: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in passages.iter().enumerate() {
            by_code.entry(p.code.clone()).or_default().push(i);
        }
        Ok(Coded {
            opened,
            docs: &opened.manifest().documents,
            passages,
            by_code,
            bodies: Default::default(),
        })
    }

    /// Passages coded `root` or a code below it, in document order.
    pub fn under_root(&self, root: &str) -> Vec<&Passage> {
        let mut idx: Vec<usize> = self
            .by_code
            .range(root.to_string()..)
            .take_while(|(c, _)| c.starts_with(root))
            .filter(|(c, _)| under(c, root))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        idx.sort_unstable();
        idx.into_iter().map(|i| &self.passages[i]).collect()
    }

    /// A passage's text.
    pub fn text(&self, path: &str, start: usize, end: usize) -> String {
        let mut b = self.bodies.borrow_mut();
        b.get(self.opened, path)
            .and_then(|t| crate::corpus::slice_chars(t, start, end))
            .unwrap_or("")
            .to_string()
    }

    /// Words in the union of character ranges of one document.
    pub fn words_in(&self, path: &str, ranges: &BTreeSet<(usize, usize)>) -> usize {
        use unicode_segmentation::UnicodeSegmentation;
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for &(s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
            .iter()
            .map(|&(s, e)| self.text(path, s, e).unicode_words().count())
            .sum()
    }

    /// An attribute of a document (`(none)` when missing).
    pub fn attr(&self, path: &str, name: &str) -> String {
        self.docs
            .get(path)
            .and_then(|d| d.attributes.get(name))
            .cloned()
            .unwrap_or_else(|| "(none)".to_string())
    }
}

/// True when `code` is `root` or lies below it.
pub fn under(code: &str, root: &str) -> bool {
    code == root
        || (code.len() > root.len()
            && code.starts_with(root)
            && code.as_bytes()[root.len()] == b'/')
}

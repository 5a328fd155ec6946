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
        self.passage_id().to_string()
    }

    /// The passage's id, typed.
    pub fn passage_id(&self) -> PassageId {
        PassageId {
            path: self.path.clone(),
            start: self.start,
            end: self.end,
        }
    }
}

/// Where a coded passage lies, as table cells, `passages` and `--explain`
/// print it: `path#start-end`, in characters of the document's text. One
/// type formats it and parses it back, so the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PassageId {
    /// The document, relative to the corpus.
    pub path: String,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

impl PassageId {
    /// Reads `path#start-end`; `None` for anything else (the path may
    /// itself hold `#`: the last one separates the range).
    pub fn parse(id: &str) -> Option<PassageId> {
        let (path, range) = id.rsplit_once('#')?;
        let (start, end) = range.split_once('-')?;
        Some(PassageId {
            path: path.to_string(),
            start: start.parse().ok()?,
            end: end.parse().ok()?,
        })
    }
}

impl std::fmt::Display for PassageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}-{}", self.path, self.start, self.end)
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

    /// The passages at one place (one per code and source coding it), by
    /// binary search: the passages are sorted by path, start and end.
    pub fn at(&self, id: &PassageId) -> &[Passage] {
        let key = (id.path.as_str(), id.start, id.end);
        let lo = self
            .passages
            .partition_point(|p| (p.path.as_str(), p.start, p.end) < key);
        let hi =
            lo + self.passages[lo..].partition_point(|p| (p.path.as_str(), p.start, p.end) == key);
        &self.passages[lo..hi]
    }

    /// The codes at one place, each with its source (`risk (auto)`), sorted
    /// and joined by commas, as the report and `--explain` show them.
    pub fn codes_at(&self, id: &PassageId) -> String {
        let codes: BTreeSet<String> = self
            .at(id)
            .iter()
            .map(|p| format!("{} ({})", p.code, p.source.label()))
            .collect();
        codes.into_iter().collect::<Vec<_>>().join(", ")
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
        b.slice(self.opened, path, start, end)
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

#[cfg(test)]
mod tests {
    use super::PassageId;

    #[test]
    fn a_passage_id_reads_back_what_it_prints() {
        let id = PassageId {
            path: "alfa/notes #2.md".into(),
            start: 15,
            end: 240,
        };
        assert_eq!(id.to_string(), "alfa/notes #2.md#15-240");
        assert_eq!(PassageId::parse(&id.to_string()), Some(id));
        for bad in [
            "alfa/rd-01.md",
            "a.md#p4",
            "a.md#3",
            "a.md#-4",
            "a.md#3-x",
            "a.md#3-4-5",
        ] {
            assert_eq!(PassageId::parse(bad), None, "{bad}");
        }
    }
}

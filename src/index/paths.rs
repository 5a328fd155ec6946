//! Filters on a transcript's case and attributes.
//!
//! Only the whole-document unit carries a transcript's case and attributes
//! in the index (repeating them on every paragraph, sentence and coded
//! passage made a dozen postings per index document). A `case:` or
//! attribute leaf first finds the documents that have the value, then
//! matches every index document with one of their paths: per segment, the
//! runs of documents with those paths, so a candidate costs a binary search,
//! not a walk over postings.
//!
//! The same runs let [`PathColumnQuery`] find every index document of a
//! transcript from its path column alone, so only document units need an
//! indexed path.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, index::SegmentId};

use super::Opened;

/// Sorted, disjoint ranges of document numbers in a segment.
type DocRanges = Arc<Vec<(DocId, DocId)>>;

/// Index documents whose path is one of a set, as ranges of document
/// numbers per segment of the searcher it was built for.
#[derive(Clone, Debug)]
pub struct PathSetQuery {
    ranges: Arc<HashMap<SegmentId, DocRanges>>,
}

impl PathSetQuery {
    /// The index documents with one of `paths`.
    pub fn new(opened: &Opened, paths: &[Arc<str>]) -> tantivy::Result<PathSetQuery> {
        let wanted: HashSet<&str> = paths.iter().map(|p| &**p).collect();
        let mut ranges = HashMap::new();
        for reader in opened.reader.searcher().segment_readers() {
            let names = opened.segment_paths(reader)?;
            let allowed: Vec<bool> = names.iter().map(|p| wanted.contains(&**p)).collect();
            let r = ranges_of(&opened.path_runs(reader)?, |ord| {
                allowed.get(ord as usize).copied().unwrap_or(false)
            });
            ranges.insert(reader.segment_id(), Arc::new(r));
        }
        Ok(PathSetQuery {
            ranges: Arc::new(ranges),
        })
    }
}

impl Query for PathSetQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for PathSetQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        // The reader is reloaded by hand only, so the segments cannot
        // change between building the query and running it.
        let ranges = self.ranges.get(&reader.segment_id()).ok_or_else(|| {
            TantivyError::InternalError("the index changed during the search".into())
        })?;
        Ok(Box::new(Ranges::new(ranges.clone())))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain(self, reader, doc)
    }
}

/// Index documents whose path is one of a set, found in any segment from
/// its `path` column (for deletes, which tantivy runs on segments the
/// searcher of [`PathSetQuery`] never saw).
#[derive(Clone, Debug)]
pub struct PathColumnQuery {
    paths: Arc<HashSet<String>>,
}

impl PathColumnQuery {
    /// The index documents with one of `paths`.
    pub fn new(paths: impl IntoIterator<Item = String>) -> PathColumnQuery {
        PathColumnQuery {
            paths: Arc::new(paths.into_iter().collect()),
        }
    }
}

impl Query for PathColumnQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for PathColumnQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut wanted = HashSet::new();
        if let Some(col) = reader.fast_fields().str(crate::index::schema::fast::PATH)? {
            for p in self.paths.iter() {
                if let Some(ord) = col.dictionary().term_ord(p.as_bytes())? {
                    wanted.insert(ord);
                }
            }
        }
        let r = if wanted.is_empty() {
            Vec::new()
        } else {
            let runs = super::path_runs(reader)?;
            ranges_of(&runs, |ord| wanted.contains(&u64::from(ord)))
        };
        Ok(Box::new(Ranges::new(Arc::new(r))))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain(self, reader, doc)
    }
}

/// The document ranges of the runs (first, one past the last, path
/// ordinal) whose path is `allowed`, adjacent ones merged.
fn ranges_of(runs: &[(u32, u32, u32)], allowed: impl Fn(u32) -> bool) -> Vec<(DocId, DocId)> {
    let mut r: Vec<(DocId, DocId)> = Vec::new();
    for &(start, end, ord) in runs {
        if !allowed(ord) {
            continue;
        }
        match r.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => r.push((start, end)),
        }
    }
    r
}

/// Explains a match of a path query: the document is in one of its ranges.
fn explain(
    weight: &dyn Weight,
    reader: &SegmentReader,
    doc: DocId,
) -> tantivy::Result<Explanation> {
    let mut s = weight.scorer(reader, 1.0)?;
    if s.seek(doc) == doc {
        Ok(Explanation::new("document with one of the paths", 1.0))
    } else {
        Err(TantivyError::InvalidArgument(format!(
            "document {doc} does not match"
        )))
    }
}

/// The documents of sorted, disjoint ranges.
struct Ranges {
    ranges: DocRanges,
    /// The range holding `doc`.
    i: usize,
    doc: DocId,
}

impl Ranges {
    fn new(ranges: DocRanges) -> Ranges {
        let doc = ranges.first().map_or(TERMINATED, |r| r.0);
        Ranges { ranges, i: 0, doc }
    }
}

impl DocSet for Ranges {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.doc += 1;
        if self.doc >= self.ranges[self.i].1 {
            self.i += 1;
            self.doc = self.ranges.get(self.i).map_or(TERMINATED, |r| r.0);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        // The first range ending after `target`.
        self.i += self.ranges[self.i..].partition_point(|r| r.1 <= target);
        self.doc = self
            .ranges
            .get(self.i)
            .map_or(TERMINATED, |r| r.0.max(target));
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.ranges.iter().map(|r| r.1 - r.0).sum()
    }
}

impl Scorer for Ranges {
    fn score(&mut self) -> Score {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut d: Ranges) -> Vec<DocId> {
        let mut out = Vec::new();
        while d.doc() != TERMINATED {
            out.push(d.doc());
            d.advance();
        }
        out
    }

    #[test]
    fn runs_become_merged_ranges_of_the_allowed_paths() {
        let runs = [(0, 3, 0), (3, 5, 1), (5, 9, 2), (9, 10, 0), (12, 14, 1)];
        assert_eq!(ranges_of(&runs, |o| o != 2), [(0, 5), (9, 10), (12, 14)]);
        assert_eq!(ranges_of(&runs, |o| o == 0), [(0, 3), (9, 10)]);
        assert_eq!(ranges_of(&runs, |_| false), []);
    }

    #[test]
    fn ranges_advance_and_seek() {
        let r = Arc::new(vec![(2, 4), (7, 8), (10, 13)]);
        assert_eq!(all(Ranges::new(r.clone())), [2, 3, 7, 10, 11, 12]);
        let mut d = Ranges::new(r.clone());
        assert_eq!(d.seek(1), 2);
        assert_eq!(d.seek(3), 3);
        assert_eq!(d.seek(4), 7);
        assert_eq!(d.seek(9), 10);
        assert_eq!(d.seek(12), 12);
        assert_eq!(d.advance(), TERMINATED);
        assert_eq!(d.seek(20), TERMINATED);
        let mut d = Ranges::new(r);
        assert_eq!(d.seek(13), TERMINATED);
        assert_eq!(all(Ranges::new(Arc::new(Vec::new()))), Vec::<DocId>::new());
    }
}

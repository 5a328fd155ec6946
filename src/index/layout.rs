//! A transcript's layout: what a hit needs to be shown, kept once per
//! transcript instead of on every paragraph.
//!
//! Every paragraph and turn is an index document (a paragraph that is a
//! whole turn shares one). Their ids (`p3`, `t2`), speakers, timestamps,
//! respondent flags and first sentence numbers are only read to show hits,
//! yet storing them on each paragraph made tantivy handle four more values
//! per paragraph while indexing. They are written instead as one stored
//! value on the transcript's document unit, and a hit finds its line by the
//! start of its span.
//!
//! The text: a first line with the distinct speaker labels and timestamps as
//! a JSON array, then one line per paragraph or turn document in span order:
//! `start flags sentences speaker timestamp`, where `start` is in
//! characters, `flags` has [`PARAGRAPH`], [`TURN`] and [`RESPONDENT`],
//! `sentences` is a paragraph's number of sentences, and `speaker` and
//! `timestamp` are 1-based positions in the array (0: none). Unit numbers
//! are counted back when reading: documents come in span order, as their
//! units were numbered.

use std::sync::Arc;

use crate::study::UnitKind;

/// The line is a paragraph's.
pub const PARAGRAPH: u8 = 1;
/// The line is a turn's (a paragraph that is a whole turn has both).
pub const TURN: u8 = 2;
/// The words are a respondent's.
pub const RESPONDENT: u8 = 4;

/// One paragraph or turn document, as [`Writer::push`] records it.
pub struct Entry<'a> {
    /// Start, in characters.
    pub start: usize,
    /// [`PARAGRAPH`], [`TURN`], [`RESPONDENT`].
    pub flags: u8,
    /// A paragraph's sentences.
    pub sentences: usize,
    /// The turn's speaker.
    pub speaker: Option<&'a str>,
    /// The turn's timestamp.
    pub timestamp: Option<&'a str>,
}

/// Builds a layout's text.
#[derive(Default)]
pub struct Writer {
    strings: Vec<String>,
    lines: String,
}

impl Writer {
    /// Adds the next document, in span order.
    pub fn push(&mut self, e: &Entry) {
        use std::fmt::Write;
        let speaker = self.position(e.speaker);
        let timestamp = self.position(e.timestamp);
        let _ = writeln!(
            self.lines,
            "{} {} {} {speaker} {timestamp}",
            e.start, e.flags, e.sentences
        );
    }

    /// The 1-based position of `s` among the strings (0 for none).
    fn position(&mut self, s: Option<&str>) -> usize {
        let Some(s) = s else { return 0 };
        // A transcript has a handful of speakers; the last string is the
        // likeliest match (consecutive paragraphs of one turn).
        if let Some(i) = self.strings.iter().rposition(|x| x == s) {
            return i + 1;
        }
        self.strings.push(s.to_string());
        self.strings.len()
    }

    /// The layout's text.
    pub fn finish(self) -> String {
        let head = serde_json::to_string(&self.strings).unwrap_or_else(|_| "[]".into());
        head + "\n" + &self.lines
    }
}

/// A paragraph's or turn's display details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// Its id (`p3`, `t2`).
    pub id: String,
    /// The speaker, if any.
    pub speaker: Option<String>,
    /// The timestamp, if any.
    pub timestamp: Option<String>,
    /// True for a respondent's words.
    pub respondent: bool,
}

#[derive(Debug, Clone, Copy)]
struct Line {
    start: u64,
    flags: u8,
    /// Paragraph number (0: not a paragraph).
    paragraph: u32,
    /// Turn number (0: not a turn).
    turn: u32,
    /// A paragraph's first sentence number.
    sentence: u64,
    speaker: u32,
    timestamp: u32,
}

/// A parsed layout.
#[derive(Debug, Default)]
pub struct Layout {
    strings: Vec<Arc<str>>,
    lines: Vec<Line>,
}

impl Layout {
    /// Parses a layout's text; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Layout> {
        let (head, rest) = text.split_once('\n')?;
        let strings: Vec<String> = serde_json::from_str(head).ok()?;
        let mut lines = Vec::new();
        let (mut paragraphs, mut turns, mut sentences) = (0u32, 0u32, 1u64);
        for l in rest.lines() {
            let mut f = l.split(' ').map(|n| n.parse::<u64>().ok());
            let mut next = || f.next().flatten();
            let (start, flags, count, speaker, timestamp) =
                (next()?, next()?, next()?, next()?, next()?);
            let flags = u8::try_from(flags).ok()?;
            let mut line = Line {
                start,
                flags,
                paragraph: 0,
                turn: 0,
                sentence: 0,
                speaker: u32::try_from(speaker).ok()?,
                timestamp: u32::try_from(timestamp).ok()?,
            };
            if flags & PARAGRAPH != 0 {
                paragraphs += 1;
                line.paragraph = paragraphs;
                line.sentence = sentences;
                sentences += count;
            }
            if flags & TURN != 0 {
                turns += 1;
                line.turn = turns;
            }
            lines.push(line);
        }
        Some(Layout {
            strings: strings.into_iter().map(Arc::from).collect(),
            lines,
        })
    }

    /// The line of the `kind` document (paragraph or turn) starting at
    /// `start`: a turn of several paragraphs starts where its first
    /// paragraph does.
    fn line(&self, start: u64, kind: UnitKind) -> Option<&Line> {
        let want = match kind {
            UnitKind::Paragraph => PARAGRAPH,
            UnitKind::Turn => TURN,
            _ => return None,
        };
        let from = self.lines.partition_point(|l| l.start < start);
        self.lines[from..]
            .iter()
            .take_while(|l| l.start == start)
            .find(|l| l.flags & want != 0)
    }

    fn string(&self, i: u32) -> Option<String> {
        let i = usize::try_from(i).ok()?.checked_sub(1)?;
        self.strings.get(i).map(|s| s.to_string())
    }

    /// The id, speaker, timestamp and respondent flag of the paragraph or
    /// turn that starts at `start`.
    pub fn details(&self, start: u64, kind: UnitKind) -> Option<Details> {
        let l = self.line(start, kind)?;
        let id = match kind {
            UnitKind::Turn => format!("t{}", l.turn),
            _ => format!("p{}", l.paragraph),
        };
        Some(Details {
            id,
            speaker: self.string(l.speaker),
            timestamp: self.string(l.timestamp),
            respondent: l.flags & RESPONDENT != 0,
        })
    }

    /// The number of the paragraph's `k`-th sentence (from 0), the
    /// paragraph starting at `start`.
    pub fn sentence(&self, start: u64, k: u64) -> Option<u64> {
        Some(self.line(start, UnitKind::Paragraph)?.sentence + k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        start: usize,
        flags: u8,
        sentences: usize,
        speaker: Option<&'static str>,
        ts: Option<&'static str>,
    ) -> Entry<'static> {
        Entry {
            start,
            flags,
            sentences,
            speaker,
            timestamp: ts,
        }
    }

    #[test]
    fn numbers_are_counted_back_in_span_order() {
        let mut w = Writer::default();
        // t1 = p1; t2 holds p2 and p3 (the turn's line comes after its
        // first paragraph's, both starting at 10); t3 = p4.
        w.push(&entry(0, PARAGRAPH | TURN, 2, Some("Ana"), Some("00:01")));
        w.push(&entry(
            10,
            PARAGRAPH | RESPONDENT,
            3,
            Some("Ben, \"B\"\ttab"),
            None,
        ));
        w.push(&entry(
            10,
            TURN | RESPONDENT,
            0,
            Some("Ben, \"B\"\ttab"),
            None,
        ));
        w.push(&entry(
            40,
            PARAGRAPH | RESPONDENT,
            1,
            Some("Ben, \"B\"\ttab"),
            None,
        ));
        w.push(&entry(60, PARAGRAPH | TURN, 4, Some("Ana"), Some("00:09")));
        let l = Layout::parse(&w.finish()).unwrap();
        let d = |s, k| l.details(s, k).unwrap();
        assert_eq!(
            d(0, UnitKind::Paragraph),
            Details {
                id: "p1".into(),
                speaker: Some("Ana".into()),
                timestamp: Some("00:01".into()),
                respondent: false
            }
        );
        assert_eq!(d(0, UnitKind::Turn).id, "t1");
        assert_eq!(d(10, UnitKind::Paragraph).id, "p2");
        assert_eq!(d(10, UnitKind::Turn).id, "t2");
        assert_eq!(
            d(10, UnitKind::Turn).speaker.as_deref(),
            Some("Ben, \"B\"\ttab")
        );
        assert!(d(10, UnitKind::Turn).respondent);
        assert_eq!(d(40, UnitKind::Paragraph).id, "p3");
        assert!(l.details(40, UnitKind::Turn).is_none());
        assert_eq!(d(60, UnitKind::Turn).id, "t3");
        assert_eq!(d(60, UnitKind::Paragraph).id, "p4");
        assert_eq!(
            d(60, UnitKind::Paragraph).timestamp.as_deref(),
            Some("00:09")
        );
        assert!(l.details(5, UnitKind::Paragraph).is_none());
        assert!(l.details(0, UnitKind::Sentence).is_none());
        // Sentences: p1 has s1-s2, p2 s3-s5, p3 s6, p4 s7-s10.
        assert_eq!(l.sentence(0, 1), Some(2));
        assert_eq!(l.sentence(10, 0), Some(3));
        assert_eq!(l.sentence(40, 0), Some(6));
        assert_eq!(l.sentence(60, 3), Some(10));
    }

    #[test]
    fn broken_text_is_not_a_layout() {
        assert!(Layout::parse("").is_none());
        assert!(Layout::parse("not json\n0 1 1 0 0\n").is_none());
        assert!(Layout::parse("[]\n0 1 x 0 0\n").is_none());
        assert!(Layout::parse("[]\n0 1 1 0\n").is_none());
        assert!(Layout::parse("[]\n0 999 1 0 0\n").is_none());
        assert!(Layout::parse("[]\n").is_some_and(|l| l.lines.is_empty()));
    }
}

//! Speaker turns and paragraphs from plain text.
//!
//! Recognises the turn layouts researchers meet: `Speaker: text`,
//! `[hh:mm:ss] Speaker: text`, `**Speaker:** text`, the layout of automatic
//! transcription services (a line holding only a name and a timestamp, the
//! text below), and a pattern from the study file. A plain `Label:` counts as
//! a speaker only when it starts at least two lines of the document or is a
//! known label, so that "Note: ..." in running text is not taken for a speaker.
//! Output is byte ranges into the text; units and offsets are built elsewhere.

use std::collections::{HashMap, HashSet};

use regex::Regex;

/// How paragraphs are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParagraphMode {
    /// Blank lines separate paragraphs (.txt, .md).
    BlankLines,
    /// Every line is a paragraph (extracted text of .vtt, .srt, .docx).
    EachLine,
}

/// Speaker conventions, resolved for parsing.
#[derive(Debug, Clone, Default)]
pub struct SpeakerRules {
    /// Interviewer labels, lowercased.
    pub interviewers: HashSet<String>,
    /// Extra turn-start pattern with a `speaker` group.
    pub pattern: Option<Regex>,
    /// Labels known to be speakers (VTT voices), always accepted.
    pub known: HashSet<String>,
}

impl SpeakerRules {
    /// Builds rules from the study's interviewer labels and optional pattern.
    pub fn new(interviewers: &[String], pattern: Option<Regex>) -> Self {
        SpeakerRules {
            interviewers: interviewers.iter().map(|s| s.to_lowercase()).collect(),
            pattern,
            known: HashSet::new(),
        }
    }

    /// True when `speaker` (as labelled in the transcript) is an interviewer.
    pub fn is_interviewer(&self, label: &str) -> bool {
        let (name, role) = split_role(label);
        if let Some(role) = role {
            let role = role.to_lowercase();
            if role == "elicitor" || role == "interviewer" {
                return true;
            }
        }
        self.interviewers.contains(&name.to_lowercase())
    }
}

/// Splits `Name [role]` into the name and the bracketed role.
pub fn split_role(label: &str) -> (&str, Option<&str>) {
    let t = label.trim();
    if let (Some(open), true) = (t.rfind('['), t.ends_with(']')) {
        let name = t[..open].trim_end();
        if !name.is_empty() {
            return (name, Some(&t[open + 1..t.len() - 1]));
        }
    }
    (t, None)
}

/// The turn a passage `[start, end)` belongs to, among `spans` (each turn's
/// `[start, end)`, in order, not overlapping): the one holding most of its
/// characters, the earlier one on a tie. A passage that lies wholly in a
/// label or between turns belongs to none; an empty one, to the turn it
/// lies in. So a passage that begins at the line break after a
/// speaker's label is that speaker's, and one that runs from a question
/// into a longer answer is the answerer's.
pub fn majority_turn(spans: &[(usize, usize)], start: usize, end: usize) -> Option<usize> {
    // The first turn ending after the start; later ones until one starts
    // at or after the end.
    let first = spans.partition_point(|&(_, e)| e <= start);
    let mut best: Option<(usize, usize)> = None;
    for (i, &(s, e)) in spans.iter().enumerate().skip(first) {
        if s >= end {
            break;
        }
        let overlap = e.min(end).saturating_sub(s.max(start));
        if overlap > 0 && best.is_none_or(|(_, b)| overlap > b) {
            best = Some((i, overlap));
        }
    }
    best.map(|(i, _)| i).or_else(|| {
        spans
            .get(first)
            .filter(|&&(s, e)| s <= start && start < e.max(s + 1))
            .map(|_| first)
    })
}

/// One speaker turn: its label, borrowed from the text, and its paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTurn<'t> {
    /// The speaker's label as written (without `[role]` suffix), if any.
    pub speaker: Option<&'t str>,
    /// The label as written, including a `[role]` suffix.
    pub label: Option<&'t str>,
    /// The label's number among the transcript's distinct labels, if any
    /// (less than [`Turns::labels`]): turns with the same label share it.
    pub label_id: Option<usize>,
    /// True when the words are a respondent's (a labelled turn whose label
    /// is not an interviewer's).
    pub respondent: bool,
    /// The turn's first timestamp, if the transcript gives one.
    pub timestamp: Option<&'t str>,
    /// Its paragraphs: a range of [`Turns::paragraphs`], never empty.
    pub paragraphs: std::ops::Range<usize>,
}

/// A transcript's speaker turns and paragraphs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turns<'t> {
    /// The turns, in order.
    pub turns: Vec<RawTurn<'t>>,
    /// Paragraph byte ranges (trimmed, non-empty), in order: each turn's
    /// are a run of them.
    pub paragraphs: Vec<(usize, usize)>,
    /// How many distinct labels [`RawTurn::label_id`] numbers.
    pub labels: usize,
}

impl<'t> Turns<'t> {
    /// The byte ranges of a turn's paragraphs.
    pub fn paragraphs_of(&self, turn: &RawTurn<'t>) -> &[(usize, usize)] {
        self.paragraphs.get(turn.paragraphs.clone()).unwrap_or(&[])
    }

    /// The byte range a turn covers, from its first paragraph's start to
    /// its last one's end.
    pub fn span(&self, turn: &RawTurn<'t>) -> (usize, usize) {
        let p = self.paragraphs_of(turn);
        match (p.first(), p.last()) {
            (Some(f), Some(l)) => (f.0, l.1),
            _ => (0, 0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Header<'t> {
    label: &'t str,
    timestamp: Option<&'t str>,
    /// Byte offset of the turn's text within the line.
    content: usize,
    /// Unmistakable layouts need no second occurrence.
    marked: bool,
}

/// `hh:mm:ss` or `mm:ss` (one or two digits each), the last part possibly
/// followed by a fraction (`.5`, `,250` or anything after the separator).
fn is_timestamp(s: &str) -> bool {
    // A timestamp starts with a digit: most words are rejected here.
    if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let two_digits =
        |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    let mut parts = 0;
    let mut rest = s;
    loop {
        parts += 1;
        match rest.split_once(':') {
            Some((p, r)) => {
                if parts == 3 || !two_digits(p) {
                    return false;
                }
                rest = r;
            }
            None => {
                let last = rest.split(['.', ',']).next().unwrap_or("");
                return parts >= 2 && two_digits(last);
            }
        }
    }
}

/// A plausible speaker label: short, starts with a letter, no sentence punctuation.
fn plausible_label(label: &str) -> bool {
    // More than 60 characters is more than 240 bytes: no need to count
    // the characters of a whole paragraph that has a colon late on.
    if label.len() > MAX_LABEL_BYTES {
        return false;
    }
    let t = label.trim();
    if t.is_empty() || t.len() != label.len() || t.chars().count() > 60 {
        return false;
    }
    let (name, _) = split_role(t);
    let words = name.split_whitespace().count();
    let first = name.chars().next().unwrap_or(' ');
    words <= 6
        && (first.is_uppercase() || first.is_numeric())
        && !name.chars().any(|c| {
            matches!(
                c,
                '?' | '!'
                    | ';'
                    | '"'
                    | '“'
                    | '”'
                    | '('
                    | ')'
                    | '{'
                    | '}'
                    | '<'
                    | '>'
                    | '='
                    | '*'
                    | '#'
                    | '|'
                    | '/'
                    | '\\'
            )
        })
}

/// The most bytes a label of 60 characters can take.
const MAX_LABEL_BYTES: usize = 60 * 4;

/// What the `Speaker:` form's checks found for the labels of one
/// transcript, checked on every line: the plausible labels, each with
/// whether it is known (a voice or an interviewer's) and so marked. What
/// is not a label, such as the start of a sentence with a colon, is
/// checked each time.
struct LabelChecks<'t, 'r> {
    rules: &'r SpeakerRules,
    found: Vec<(&'t str, bool)>,
}

impl<'t, 'r> LabelChecks<'t, 'r> {
    fn new(rules: &'r SpeakerRules) -> Self {
        LabelChecks {
            rules,
            found: Vec::new(),
        }
    }

    /// For a plausible label, whether it is known; `None` for another text.
    fn plausible(&mut self, label: &'t str) -> Option<bool> {
        if let Some(&(_, known)) = self.found.iter().find(|(l, _)| *l == label) {
            return Some(known);
        }
        if !plausible_label(label) {
            return None;
        }
        let known = self.rules.known.contains(label) || self.rules.is_interviewer(label);
        // A transcript with many labels is checked label by label.
        if self.found.len() < 64 {
            self.found.push((label, known));
        }
        Some(known)
    }
}

/// Numbers the distinct labels of one transcript's headers and counts how
/// many headers give each. A transcript has a handful of labels, looked
/// up in a short list; past that, in a hash map.
#[derive(Default)]
struct LabelCounts<'t> {
    few: Vec<&'t str>,
    many: HashMap<&'t str, usize>,
    /// Headers per label number.
    counts: Vec<usize>,
}

/// How many labels [`LabelCounts`] looks up in its list.
const FEW_LABELS: usize = 16;

impl<'t> LabelCounts<'t> {
    /// Counts one more header with `label`; returns the label's number.
    fn add(&mut self, label: &'t str) -> usize {
        let id = if let Some(i) = self.few.iter().position(|&l| l == label) {
            i
        } else if let Some(&i) = self.many.get(label) {
            i
        } else {
            let i = self.counts.len();
            self.counts.push(0);
            if self.few.len() < FEW_LABELS {
                self.few.push(label);
            } else {
                self.many.insert(label, i);
            }
            i
        };
        self.counts[id] += 1;
        id
    }
}

fn detect_header<'t>(
    line: &'t str,
    rules: &SpeakerRules,
    checks: &mut LabelChecks<'t, '_>,
) -> Option<Header<'t>> {
    if let Some(re) = &rules.pattern
        && let Some(caps) = re.captures(line)
        && caps.get(0).is_some_and(|m| m.start() == 0)
        && let Some(sp) = caps.name("speaker")
    {
        let end = caps.get(0).map_or(0, |m| m.end());
        return Some(Header {
            label: sp.as_str().trim(),
            timestamp: caps.name("ts").map(|m| m.as_str()),
            content: end,
            marked: true,
        });
    }
    let mut offset = 0;
    let mut timestamp = None;
    let mut marked = false;
    // `[hh:mm:ss] ` prefix.
    if let Some(rest) = line.strip_prefix('[')
        && let Some(close) = rest.find(']')
        && is_timestamp(&rest[..close])
    {
        timestamp = Some(&rest[..close]);
        offset = 1 + close + 1;
        offset += line[offset..].len() - line[offset..].trim_start().len();
        marked = true;
    }
    let rest = &line[offset..];
    // `**Speaker:** text` or `**Speaker**: text`.
    if let Some(inner) = rest.strip_prefix("**")
        && let Some(close) = inner.find("**")
    {
        let raw = &inner[..close];
        let after = &inner[close + 2..];
        let (label, after) = if let Some(l) = raw.strip_suffix(':') {
            (l, after)
        } else if let Some(a) = after.strip_prefix(':') {
            (raw, a)
        } else {
            return None;
        };
        if !plausible_label(label) {
            return None;
        }
        let content = offset + 2 + close + 2 + (inner.len() - close - 2 - after.len());
        let content = content + (after.len() - after.trim_start().len());
        return Some(Header {
            label,
            timestamp,
            content,
            marked: true,
        });
    }
    // `Speaker: text`. A label is short, so only its reach is searched.
    let reach = &rest.as_bytes()[..rest.len().min(MAX_LABEL_BYTES + 1)];
    if let Some(colon) = memchr::memchr(b':', reach) {
        let label = &rest[..colon];
        let after = &rest[colon + 1..];
        if (after.is_empty() || after.starts_with(char::is_whitespace))
            && let Some(known) = checks.plausible(label)
        {
            let content = offset + colon + 1 + (after.len() - after.trim_start().len());
            return Some(Header {
                label,
                timestamp,
                content,
                marked: marked || known,
            });
        }
    }
    // Automatic transcription: `Jane Doe  00:11` alone on its line.
    if timestamp.is_none() {
        let t = rest.trim_end();
        if let Some(sp) = t.rfind(char::is_whitespace) {
            let (name, ts) = (t[..sp].trim_end(), &t[sp + 1..]);
            if is_timestamp(ts)
                && plausible_label(name)
                && name.chars().next().is_some_and(char::is_alphabetic)
            {
                return Some(Header {
                    label: name,
                    timestamp: Some(ts),
                    content: line.len(),
                    marked: true,
                });
            }
        }
    }
    None
}

/// Lines of `text[from..]` as (start, end-without-line-break) byte ranges.
fn lines(text: &str, from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut pos = from;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let nl = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let end = if nl > start && bytes[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        pos = nl + 1;
        Some((start, end))
    })
}

fn trim_range(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some((start + lead, start + lead + trimmed.len()))
    }
}

/// A header found on a line, with its label's number.
struct Found<'t> {
    /// The line's start.
    line: usize,
    header: Header<'t>,
    label_id: usize,
}

/// Splits `text[body_start..]` into speaker turns and paragraphs.
/// `line_times` gives a timestamp per line (cue times of subtitle formats).
pub fn segment<'t>(
    text: &'t str,
    body_start: usize,
    mode: ParagraphMode,
    rules: &SpeakerRules,
    line_times: Option<&'t [Option<String>]>,
) -> Turns<'t> {
    segment_with_voices(text, body_start, mode, rules, line_times, None)
}

/// The header of a line whose speaker the format names (a VTT voice): the
/// line starts with the voice and `:`, as [`super::formats::assemble`]
/// writes it. The voice is the label whatever characters it holds.
fn voice_header<'t>(line: &'t str, voice: &str) -> Option<Header<'t>> {
    let after = line.strip_prefix(voice)?.strip_prefix(':')?;
    let content = line.len() - after.trim_start().len();
    Some(Header {
        label: &line[..voice.len()],
        timestamp: None,
        content,
        marked: true,
    })
}

/// [`segment`], with the speaker of each line the format names
/// (`line_voices`, VTT voices) taken as that line's turn header instead of
/// being detected again from the `Speaker: text` line.
pub fn segment_with_voices<'t>(
    text: &'t str,
    body_start: usize,
    mode: ParagraphMode,
    rules: &SpeakerRules,
    line_times: Option<&'t [Option<String>]>,
    line_voices: Option<&[Option<String>]>,
) -> Turns<'t> {
    // First the headers, since whether a plain label counts depends on
    // the whole transcript; then the turns, line by line again.
    let mut checks = LabelChecks::new(rules);
    let mut labels = LabelCounts::default();
    let mut found: Vec<Found<'t>> = Vec::new();
    for (i, (s, e)) in lines(text, body_start).enumerate() {
        let line = &text[s..e];
        let voiced = line_voices
            .and_then(|v| v.get(i)?.as_deref())
            .and_then(|v| voice_header(line, v));
        if let Some(header) = voiced.or_else(|| detect_header(line, rules, &mut checks)) {
            let label_id = labels.add(header.label);
            found.push(Found {
                line: s,
                header,
                label_id,
            });
        }
    }
    let counts = labels.counts;
    // Each label's speaker name and whether it is an interviewer's, once
    // it starts a turn.
    let mut names: Vec<Option<(&'t str, bool)>> = vec![None; counts.len()];

    let mut out = Turns {
        labels: counts.len(),
        ..Turns::default()
    };
    // The turn being read: its first paragraph is `paragraphs.len()` when
    // it began.
    let mut current: Option<RawTurn<'t>> = None;
    let mut para: Option<(usize, usize)> = None;

    let flush_para = |cur: &mut Option<RawTurn<'t>>,
                      para: &mut Option<(usize, usize)>,
                      paragraphs: &mut Vec<(usize, usize)>| {
        if let Some((s, e)) = para.take()
            && let Some(r) = trim_range(text, s, e)
        {
            if cur.is_none() {
                *cur = Some(RawTurn {
                    speaker: None,
                    label: None,
                    label_id: None,
                    respondent: false,
                    timestamp: None,
                    paragraphs: paragraphs.len()..paragraphs.len(),
                });
            }
            paragraphs.push(r);
        }
    };
    // Closes the turn being read, kept if it has paragraphs.
    let close = |cur: Option<RawTurn<'t>>, out: &mut Turns<'t>| {
        if let Some(mut c) = cur {
            c.paragraphs.end = out.paragraphs.len();
            if !c.paragraphs.is_empty() {
                out.turns.push(c);
            }
        }
    };

    let mut next = found.iter().peekable();
    for (i, (ls, le)) in lines(text, body_start).enumerate() {
        let line = &text[ls..le];
        let on_line = next.next_if(|f| f.line == ls);
        let header = on_line.filter(|f| f.header.marked || counts[f.label_id] >= 2);
        if let Some(f) = header {
            let h = &f.header;
            flush_para(&mut current, &mut para, &mut out.paragraphs);
            let same = current
                .as_ref()
                .is_some_and(|c| c.label_id == Some(f.label_id));
            if !same {
                close(current.take(), &mut out);
                let ts = h
                    .timestamp
                    .or_else(|| line_times.and_then(|t| t.get(i)?.as_deref()));
                let (name, is_interviewer) = *names[f.label_id]
                    .get_or_insert_with(|| (split_role(h.label).0, rules.is_interviewer(h.label)));
                current = Some(RawTurn {
                    speaker: Some(name),
                    label: Some(h.label),
                    label_id: Some(f.label_id),
                    respondent: !is_interviewer,
                    timestamp: ts,
                    paragraphs: out.paragraphs.len()..out.paragraphs.len(),
                });
            }
            let cs = ls + h.content;
            if cs < le {
                para = Some((cs, le));
            }
            if mode == ParagraphMode::EachLine {
                flush_para(&mut current, &mut para, &mut out.paragraphs);
            }
            continue;
        }
        if line.trim().is_empty() {
            flush_para(&mut current, &mut para, &mut out.paragraphs);
            continue;
        }
        match (&mut para, mode) {
            (Some((_, e)), ParagraphMode::BlankLines) => *e = le,
            _ => {
                flush_para(&mut current, &mut para, &mut out.paragraphs);
                para = Some((ls, le));
                if mode == ParagraphMode::EachLine {
                    flush_para(&mut current, &mut para, &mut out.paragraphs);
                }
            }
        }
    }
    flush_para(&mut current, &mut para, &mut out.paragraphs);
    close(current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SpeakerRules {
        SpeakerRules::new(&["Interviewer".into(), "I".into()], None)
    }

    fn seg(t: &str) -> Vec<(Option<String>, Vec<String>)> {
        seg_with(t, ParagraphMode::BlankLines, &rules())
    }

    fn seg_with(
        t: &str,
        mode: ParagraphMode,
        r: &SpeakerRules,
    ) -> Vec<(Option<String>, Vec<String>)> {
        let turns = segment(t, 0, mode, r, None);
        turns
            .turns
            .iter()
            .map(|r| {
                (
                    r.speaker.map(str::to_string),
                    turns
                        .paragraphs_of(r)
                        .iter()
                        .map(|&(s, e)| t[s..e].to_string())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn plain_labels_and_multi_paragraph_turns() {
        let t = "Interviewer: How did it start?\n\nAnna Berg: Slowly.\nThen fast.\n\nIt grew.\nInterviewer: And then?\nAnna Berg: Done.\n";
        let s = seg(t);
        assert_eq!(s.len(), 4);
        assert_eq!(s[1].0.as_deref(), Some("Anna Berg"));
        assert_eq!(s[1].1, vec!["Slowly.\nThen fast.", "It grew."]);
        assert_eq!(s[2].1, vec!["And then?"]);
    }

    #[test]
    fn single_plain_label_is_not_a_speaker() {
        let t = "Interviewer: ok\n\nAnna: Note: this is running text.\n\nAnna: yes\n";
        let s = seg(t);
        assert_eq!(s[1].0.as_deref(), Some("Anna"));
        assert_eq!(s[1].1[0], "Note: this is running text.");
    }

    #[test]
    fn bold_timestamp_and_auto_layouts() {
        let t = "**Interviewer:** Hi\n[00:01:05] Bo Ek: Hello there\nJane Doe  1:02:03\nText of Jane.\n\nMore of Jane.\n**Bo**: ok\n";
        let s = seg(t);
        let names: Vec<_> = s.iter().map(|x| x.0.clone().unwrap()).collect();
        assert_eq!(names, ["Interviewer", "Bo Ek", "Jane Doe", "Bo"]);
        assert_eq!(s[2].1, vec!["Text of Jane.", "More of Jane."]);
        let raw = segment(t, 0, ParagraphMode::BlankLines, &rules(), None).turns;
        assert_eq!(raw[1].timestamp, Some("00:01:05"));
        assert_eq!(raw[2].timestamp, Some("1:02:03"));
    }

    #[test]
    fn times_and_urls_are_not_labels() {
        let t = "Interviewer: hi\nAt 10:30 we met, see http://x.org\nInterviewer: ok\n";
        let s = seg(t);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].1, vec!["hi\nAt 10:30 we met, see http://x.org", "ok"]);
    }

    #[test]
    fn role_suffix_marks_interviewer() {
        let r = rules();
        assert!(r.is_interviewer("Jane Roe [elicitor]"));
        assert!(!r.is_interviewer("Jim Poe [respondent]"));
        assert!(r.is_interviewer("interviewer"));
    }

    #[test]
    fn custom_pattern() {
        let re = Regex::new(r"^(?P<speaker>[A-Z]{2,3})>\s*").unwrap();
        let r = SpeakerRules::new(&[], Some(re));
        let t = "AB> one\nCD> two\n";
        let s = seg_with(t, ParagraphMode::BlankLines, &r);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].1, ["two"]);
    }

    #[test]
    fn labels_seen_once_are_text_unless_marked_or_known() {
        // `Interviewer` is known; `Bo` and `Note` appear once, so they are
        // text; bold and timestamped labels count the first time.
        let t = "Interviewer: a\nBo: b\nNote: c\n**Memo:** d\n[00:01] Zed: e\n";
        let s = seg(t);
        let expected: Vec<(Option<String>, Vec<String>)> = vec![
            (Some("Interviewer".into()), vec!["a\nBo: b\nNote: c".into()]),
            (Some("Memo".into()), vec!["d".into()]),
            (Some("Zed".into()), vec!["e".into()]),
        ];
        assert_eq!(s, expected);
        // Seen twice, `Bo` is a speaker both times.
        let s = seg("Interviewer: a\nBo: b\nInterviewer: c\nBo: d\n");
        let names: Vec<_> = s.iter().map(|x| x.0.clone().unwrap()).collect();
        assert_eq!(names, ["Interviewer", "Bo", "Interviewer", "Bo"]);
    }

    #[test]
    fn text_before_the_first_label_is_an_unlabelled_turn() {
        let t = "Intro line.\n\nInterviewer: q\n";
        let raw = segment(t, 0, ParagraphMode::BlankLines, &rules(), None);
        assert_eq!(raw.turns.len(), 2);
        let first = &raw.turns[0];
        assert_eq!(
            (first.speaker, first.label, first.label_id),
            (None, None, None)
        );
        assert!(!first.respondent);
        assert_eq!(seg(t)[0].1, ["Intro line."]);
        // A label with nothing after it starts no turn of its own.
        assert_eq!(seg("Bo:\nBo:\n\nInterviewer: q\n").len(), 1);
    }

    #[test]
    fn repeated_labels_share_a_number_and_role_suffixes_decide_respondents() {
        let t = "Jane Roe [elicitor]: q1\nJim Poe [respondent]: a1\nJim Poe [respondent]: a2\nJane Roe [elicitor]: q2\n";
        let raw = segment(t, 0, ParagraphMode::BlankLines, &rules(), None);
        let speakers: Vec<_> = raw.turns.iter().map(|r| r.speaker.unwrap()).collect();
        assert_eq!(speakers, ["Jane Roe", "Jim Poe", "Jane Roe"]);
        assert_eq!(raw.turns[1].label, Some("Jim Poe [respondent]"));
        let respondents: Vec<_> = raw.turns.iter().map(|r| r.respondent).collect();
        assert_eq!(respondents, [false, true, false]);
        let ids: Vec<_> = raw.turns.iter().map(|r| r.label_id.unwrap()).collect();
        assert_eq!(ids[0], ids[2]);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(raw.labels, 2);
        // The same speaker twice in a row is one turn of two paragraphs.
        assert_eq!(seg(t)[1].1, ["a1", "a2"]);
    }

    #[test]
    fn many_labels_are_counted_alike() {
        // More distinct labels than the short list holds.
        let mut t = String::new();
        for round in ["first", "second"] {
            for i in 0..40 {
                t.push_str(&format!("Speaker {i}: {round}\n"));
            }
        }
        t.push_str("Speaker 99: once\n");
        let raw = segment(&t, 0, ParagraphMode::BlankLines, &rules(), None);
        assert_eq!(raw.turns.len(), 80);
        assert_eq!(raw.labels, 41);
        for i in 0..40 {
            let (a, b) = (&raw.turns[i], &raw.turns[i + 40]);
            assert_eq!(a.speaker, Some(format!("Speaker {i}").as_str()));
            assert_eq!(a.label_id, b.label_id);
            assert!(a.respondent);
        }
        let mut ids: Vec<_> = raw.turns[..40].iter().map(|r| r.label_id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 40);
        // The label seen once stays in the last turn's text.
        assert_eq!(raw.paragraphs_of(&raw.turns[79]).len(), 1);
        let (s, e) = raw.span(&raw.turns[79]);
        assert_eq!(&t[s..e], "second\nSpeaker 99: once");
    }

    #[test]
    fn subtitle_lines_take_cue_times_and_known_voices() {
        let mut r = rules();
        r.known.insert("Kim".into());
        let t = "Ann: one\ntwo\nAnn: three\nKim: four\n";
        let times: Vec<Option<String>> = ["00:01", "00:02", "00:03", "00:04"]
            .iter()
            .map(|s| Some(s.to_string()))
            .collect();
        let raw = segment(t, 0, ParagraphMode::EachLine, &r, Some(&times));
        let turns: Vec<_> = raw
            .turns
            .iter()
            .map(|x| {
                (
                    x.speaker.unwrap(),
                    x.timestamp.unwrap(),
                    raw.paragraphs_of(x).len(),
                )
            })
            .collect();
        assert_eq!(turns, [("Ann", "00:01", 3), ("Kim", "00:04", 1)]);
    }

    #[test]
    fn named_voices_are_speakers_whatever_they_hold() {
        let t = "Interviewer: q\nBerg, Anna (Guest): a\nanna@uni.edu: b\nSpeaker: 2: c\nNote: d\nBo: e\n";
        let voices: Vec<Option<String>> = [
            Some("Interviewer"),
            Some("Berg, Anna (Guest)"),
            Some("anna@uni.edu"),
            Some("Speaker: 2"),
            None,
            Some("Bo"),
        ]
        .map(|v| v.map(String::from))
        .to_vec();
        let raw = segment_with_voices(t, 0, ParagraphMode::EachLine, &rules(), None, Some(&voices));
        let got: Vec<(Option<&str>, bool, Vec<&str>)> = raw
            .turns
            .iter()
            .map(|x| {
                (
                    x.speaker,
                    x.respondent,
                    raw.paragraphs_of(x)
                        .iter()
                        .map(|&(s, e)| &t[s..e])
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("Interviewer"), false, vec!["q"]),
                (Some("Berg, Anna (Guest)"), true, vec!["a"]),
                (Some("anna@uni.edu"), true, vec!["b"]),
                // A line without a voice is read as usual: `Note:` once is text.
                (Some("Speaker: 2"), true, vec!["c", "Note: d"]),
                (Some("Bo"), true, vec!["e"]),
            ]
        );
    }

    #[test]
    fn a_passage_belongs_to_the_turn_holding_most_of_it() {
        // Turns at [10, 20), [30, 60), [70, 75).
        let spans = [(10, 20), (30, 60), (70, 75)];
        let at = |s, e| majority_turn(&spans, s, e);
        assert_eq!(at(12, 18), Some(0));
        // From the line break after a label: the turn that follows.
        assert_eq!(at(29, 40), Some(1));
        // A question and a longer answer: the answer's turn.
        assert_eq!(at(0, 45), Some(1));
        assert_eq!(at(57, 75), Some(2));
        // A tie goes to the earlier turn.
        assert_eq!(at(15, 35), Some(0));
        assert_eq!(at(55, 75), Some(1));
        // In no turn's text: none, unless it starts in one.
        assert_eq!(at(21, 29), None);
        assert_eq!(at(80, 90), None);
        assert_eq!(at(12, 12), Some(0));
        assert_eq!(majority_turn(&[], 0, 5), None);
    }

    #[test]
    fn timestamps() {
        for yes in [
            "00:01",
            "1:02:03",
            "00:00:01.500",
            "01:02,250",
            "1:2",
            "00:01.x",
            "1:2:3.4.5",
        ] {
            assert!(is_timestamp(yes), "{yes}");
        }
        for no in [
            "123:45",
            "1",
            "a1:02",
            "1:02:03:04",
            ":01",
            "01:",
            "1::2",
            "",
            "12:345",
            "1:2:",
            "١:٢",
        ] {
            assert!(!is_timestamp(no), "{no}");
        }
    }

    #[test]
    fn crlf_paragraphs_exclude_line_breaks() {
        let t = "Interviewer: a\r\n\r\nBo: b\r\nc\r\nBo: d\r\n";
        let s = seg(t);
        assert_eq!(s[1].1, vec!["b\r\nc", "d"]);
    }
}

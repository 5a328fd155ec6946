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

/// [`SpeakerRules::is_interviewer`], worked out once per distinct label of
/// a transcript (a transcript repeats a handful of labels in every turn),
/// and the same for [`plausible_label`].
pub struct Interviewers<'a> {
    rules: &'a SpeakerRules,
    seen: std::cell::RefCell<Vec<(String, bool)>>,
    plausible: std::cell::RefCell<Vec<String>>,
}

impl<'a> Interviewers<'a> {
    /// Remembers the answers for `rules`.
    pub fn new(rules: &'a SpeakerRules) -> Interviewers<'a> {
        Interviewers {
            rules,
            seen: Default::default(),
            plausible: Default::default(),
        }
    }

    /// [`plausible_label`] for the `Speaker:` form, checked on every line:
    /// the labels found are remembered (what is not a label, such as the
    /// start of a sentence with a colon, is checked each time).
    fn plausible(&self, label: &str) -> bool {
        let mut found = self.plausible.borrow_mut();
        if found.iter().any(|l| l == label) {
            return true;
        }
        let answer = plausible_label(label);
        if answer && found.len() < 64 {
            found.push(label.to_string());
        }
        answer
    }

    /// True when `label` is an interviewer's.
    pub fn check(&self, label: &str) -> bool {
        remembered(&self.seen, label, |l| self.rules.is_interviewer(l))
    }
}

/// `answer(label)`, looked up among the answers already given.
fn remembered(
    seen: &std::cell::RefCell<Vec<(String, bool)>>,
    label: &str,
    answer: impl Fn(&str) -> bool,
) -> bool {
    let mut seen = seen.borrow_mut();
    if let Some((_, a)) = seen.iter().find(|(l, _)| l == label) {
        return *a;
    }
    let a = answer(label);
    // A transcript with many labels is checked label by label.
    if seen.len() < 64 {
        seen.push((label.to_string(), a));
    }
    a
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

/// One speaker turn: byte ranges of its paragraphs (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTurn {
    /// The speaker's label as written (without `[role]` suffix), if any.
    pub speaker: Option<String>,
    /// The label as written, including a `[role]` suffix.
    pub label: Option<String>,
    /// The turn's first timestamp, if the transcript gives one.
    pub timestamp: Option<String>,
    /// Paragraph byte ranges, in order, non-empty.
    pub paragraphs: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    label: String,
    timestamp: Option<String>,
    /// Byte offset of the turn's text within the line.
    content: usize,
    /// Unmistakable layouts need no second occurrence.
    marked: bool,
}

fn is_timestamp(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().enumerate().all(|(i, p)| {
            let p = if i == parts.len() - 1 {
                p.split(['.', ',']).next().unwrap_or("")
            } else {
                p
            };
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
        })
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

fn detect_header(line: &str, rules: &SpeakerRules, interviewers: &Interviewers) -> Option<Header> {
    if let Some(re) = &rules.pattern
        && let Some(caps) = re.captures(line)
        && caps.get(0).is_some_and(|m| m.start() == 0)
        && let Some(sp) = caps.name("speaker")
    {
        let end = caps.get(0).map_or(0, |m| m.end());
        return Some(Header {
            label: sp.as_str().trim().to_string(),
            timestamp: caps.name("ts").map(|m| m.as_str().to_string()),
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
        timestamp = Some(rest[..close].to_string());
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
            label: label.to_string(),
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
            && interviewers.plausible(label)
        {
            let content = offset + colon + 1 + (after.len() - after.trim_start().len());
            let known = rules.known.contains(label) || interviewers.check(label);
            return Some(Header {
                label: label.to_string(),
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
                    label: name.to_string(),
                    timestamp: Some(ts.to_string()),
                    content: line.len(),
                    marked: true,
                });
            }
        }
    }
    None
}

/// Lines of `text[from..]` as (start, end-without-line-break) byte ranges.
fn lines(text: &str, from: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = from;
    while pos < text.len() {
        let nl = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let end = if nl > pos && text.as_bytes()[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        out.push((pos, end));
        pos = nl + 1;
    }
    out
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

/// Splits `text[body_start..]` into speaker turns and paragraphs.
/// `line_times` gives a timestamp per line (cue times of subtitle formats).
pub fn segment(
    text: &str,
    body_start: usize,
    mode: ParagraphMode,
    rules: &SpeakerRules,
    line_times: Option<&[Option<String>]>,
) -> Vec<RawTurn> {
    let lines = lines(text, body_start);
    let interviewers = Interviewers::new(rules);
    let headers: Vec<Option<Header>> = lines
        .iter()
        .map(|&(s, e)| detect_header(&text[s..e], rules, &interviewers))
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in headers.iter().flatten() {
        *counts.entry(h.label.as_str()).or_default() += 1;
    }
    let accepted = |h: &Header| h.marked || counts.get(h.label.as_str()).copied().unwrap_or(0) >= 2;

    let mut turns: Vec<RawTurn> = Vec::new();
    let mut current: Option<RawTurn> = None;
    let mut para: Option<(usize, usize)> = None;

    let flush_para = |cur: &mut Option<RawTurn>, para: &mut Option<(usize, usize)>| {
        if let Some((s, e)) = para.take()
            && let Some(r) = trim_range(text, s, e)
        {
            cur.get_or_insert_with(|| RawTurn {
                speaker: None,
                label: None,
                timestamp: None,
                paragraphs: vec![],
            })
            .paragraphs
            .push(r);
        }
    };

    for (i, &(ls, le)) in lines.iter().enumerate() {
        let line = &text[ls..le];
        let header = headers[i].as_ref().filter(|h| accepted(h));
        if let Some(h) = header {
            flush_para(&mut current, &mut para);
            let (name, _) = split_role(&h.label);
            let same = current
                .as_ref()
                .is_some_and(|c| c.label.as_deref() == Some(h.label.as_str()));
            if !same {
                if let Some(c) = current.take()
                    && !c.paragraphs.is_empty()
                {
                    turns.push(c);
                }
                let ts = h
                    .timestamp
                    .clone()
                    .or_else(|| line_times.and_then(|t| t.get(i).cloned().flatten()));
                current = Some(RawTurn {
                    speaker: Some(name.to_string()),
                    label: Some(h.label.clone()),
                    timestamp: ts,
                    paragraphs: vec![],
                });
            }
            let cs = ls + h.content;
            if cs < le {
                para = Some((cs, le));
            }
            if mode == ParagraphMode::EachLine {
                flush_para(&mut current, &mut para);
            }
            continue;
        }
        if line.trim().is_empty() {
            flush_para(&mut current, &mut para);
            continue;
        }
        match (&mut para, mode) {
            (Some((_, e)), ParagraphMode::BlankLines) => *e = le,
            _ => {
                flush_para(&mut current, &mut para);
                para = Some((ls, le));
                if mode == ParagraphMode::EachLine {
                    flush_para(&mut current, &mut para);
                }
            }
        }
    }
    flush_para(&mut current, &mut para);
    if let Some(c) = current
        && !c.paragraphs.is_empty()
    {
        turns.push(c);
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SpeakerRules {
        SpeakerRules::new(&["Interviewer".into(), "I".into()], None)
    }

    fn seg(t: &str) -> Vec<(Option<String>, Vec<String>)> {
        segment(t, 0, ParagraphMode::BlankLines, &rules(), None)
            .into_iter()
            .map(|r| {
                (
                    r.speaker,
                    r.paragraphs
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
        let raw = segment(t, 0, ParagraphMode::BlankLines, &rules(), None);
        assert_eq!(raw[1].timestamp.as_deref(), Some("00:01:05"));
        assert_eq!(raw[2].timestamp.as_deref(), Some("1:02:03"));
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
        let s = segment(t, 0, ParagraphMode::BlankLines, &r, None);
        assert_eq!(s.len(), 2);
        assert_eq!(&t[s[1].paragraphs[0].0..s[1].paragraphs[0].1], "two");
    }

    #[test]
    fn crlf_paragraphs_exclude_line_breaks() {
        let t = "Interviewer: a\r\n\r\nBo: b\r\nc\r\nBo: d\r\n";
        let s = seg(t);
        assert_eq!(s[1].1, vec!["b\r\nc", "d"]);
    }
}

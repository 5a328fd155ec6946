//! Corpus ingestion: transcript files to documents, speaker turns and units.
//!
//! A [`Document`] holds the plain text that every offset refers to (the file
//! itself for .txt/.md, BOM excluded; the extracted `Speaker: text` lines for
//! .vtt/.srt/.docx), its attributes, and its units (sentences, paragraphs,
//! turns, the whole body) with character offsets counted in Unicode scalar
//! values, as REFI-QDA does. This module reads files; it never indexes.

pub mod attributes;
pub mod decode;
pub mod formats;
pub mod frontmatter;
pub mod segment;
pub mod turns;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics};
use crate::study::UnitKind;
use attributes::Sheets;
use turns::{ParagraphMode, SpeakerRules};

/// Transcript formats qualdex reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text.
    Txt,
    /// Markdown.
    Md,
    /// WebVTT subtitles.
    Vtt,
    /// SubRip subtitles.
    Srt,
    /// Word document.
    Docx,
}

impl Format {
    /// The format for a file name, by extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        let is = |e: &str| ext.eq_ignore_ascii_case(e);
        if is("txt") || is("text") {
            Some(Format::Txt)
        } else if is("md") || is("markdown") {
            Some(Format::Md)
        } else if is("vtt") {
            Some(Format::Vtt)
        } else if is("srt") {
            Some(Format::Srt)
        } else if is("docx") {
            Some(Format::Docx)
        } else {
            None
        }
    }
}

/// A file found in the corpus folder.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Path relative to the corpus root, forward slashes.
    pub rel: String,
    /// Path on disk.
    pub abs: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 if unknown).
    pub mtime_ns: u128,
    /// Format.
    pub format: Format,
}

/// The key of [`Discovery::skipped`] counting symbolic links, which the
/// corpus listing never follows.
pub const LINKS: &str = "(link)";

/// Files found in the corpus, in path order, and how many were skipped.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Transcripts in path order.
    pub files: Vec<FoundFile>,
    /// Files skipped for an unknown extension, by extension, and links
    /// (under [`LINKS`]).
    pub skipped: BTreeMap<String, usize>,
    /// Every folder listed (the corpus folder first, as `""`), in path
    /// order, with its modification time as seen before it was listed.
    pub folders: Vec<Folder>,
    /// When the listing started, in nanoseconds since the epoch.
    pub started_ns: u128,
}

/// A folder of the corpus as listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folder {
    /// Path relative to the corpus root, forward slashes (`""` for the root).
    pub rel: String,
    /// Modification time in nanoseconds since the epoch (0 if unknown). A
    /// folder's time changes whenever an entry is added, removed or renamed
    /// in it, so an unchanged time means an unchanged list of entries.
    pub mtime_ns: u128,
    /// Files in it skipped for an unknown extension, by extension.
    pub skipped: BTreeMap<String, usize>,
}

/// Nanoseconds since the epoch of a file time (0 if unknown or earlier).
pub fn time_ns(t: std::io::Result<std::time::SystemTime>) -> u128 {
    t.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Lists transcripts under `root` (nested folders; hidden ones skipped).
///
/// Folders are listed in parallel, each file is examined relative to its
/// open folder, and each folder's time is recorded as it was before its
/// entries were read (the index's quick check trusts an unchanged folder).
pub fn discover(root: &Path) -> Result<Discovery, Diagnostics> {
    let started_ns = time_ns(Ok(std::time::SystemTime::now()));
    let found = std::sync::Mutex::new(Listing::default());
    rayon::scope(|scope| list_folder(scope, root.to_path_buf(), String::new(), &found));
    let listing = found.into_inner().unwrap_or_else(|e| e.into_inner());
    // The first problem in path order, whatever order the folders were read in.
    if let Some((_, e)) = listing.problems.into_iter().min_by(|a, b| a.0.cmp(&b.0)) {
        return Err(e);
    }
    let mut out = Discovery {
        files: listing.files,
        skipped: listing.skipped,
        folders: listing.folders,
        started_ns,
    };
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.folders.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// What the parallel listing gathers.
#[derive(Default)]
struct Listing {
    files: Vec<FoundFile>,
    skipped: BTreeMap<String, usize>,
    folders: Vec<Folder>,
    /// Problems, by the path they concern.
    problems: Vec<(PathBuf, Diagnostics)>,
}

/// Lists one folder, and its subfolders in tasks of their own.
fn list_folder<'s>(
    scope: &rayon::Scope<'s>,
    dir: PathBuf,
    rel_dir: String,
    found: &'s std::sync::Mutex<Listing>,
) {
    let listed = read_folder(&dir, rel_dir);
    for (abs, rel) in listed.subfolders {
        scope.spawn(move |s| list_folder(s, abs, rel, found));
    }
    if let Ok(mut l) = found.lock() {
        let mut files = listed.files;
        l.files.append(&mut files);
        for (ext, n) in &listed.folder.skipped {
            *l.skipped.entry(ext.clone()).or_default() += n;
        }
        l.folders.push(listed.folder);
        let mut problems = listed.problems;
        l.problems.append(&mut problems);
    }
}

/// One folder's entries.
#[derive(Debug, Default)]
pub struct FolderListing {
    /// The folder, its time taken before its entries were read.
    pub folder: Folder,
    /// Its transcripts, in the order listed.
    pub files: Vec<FoundFile>,
    /// Its subfolders (path on disk, path in the corpus), in the order listed.
    pub subfolders: Vec<(PathBuf, String)>,
    /// Problems, by the path they concern.
    pub problems: Vec<(PathBuf, Diagnostics)>,
}

/// Reads one folder: transcripts are examined here (one `stat` each,
/// relative to the open folder), subfolders are returned. Hidden entries
/// are skipped and symbolic links not followed.
pub fn read_folder(dir: &Path, rel_dir: String) -> FolderListing {
    let failed = |dir: &Path, e: std::io::Error| {
        let d = Diagnostic::error(format!("cannot list the corpus folder: {e}")).in_file(dir);
        (dir.to_path_buf(), Diagnostics::from(d))
    };
    let mut out = FolderListing::default();
    // The time before the entries: a change made while they are read leaves
    // a later time, which the next check sees.
    out.folder.mtime_ns = time_ns(std::fs::metadata(dir).and_then(|m| m.modified()));
    out.folder.rel = rel_dir;
    let rel_dir = &out.folder.rel;
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            out.problems.push(failed(dir, e));
            return out;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.problems.push(failed(dir, e));
                continue;
            }
        };
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let name = name.to_string_lossy();
        let rel = if rel_dir.is_empty() {
            name.into_owned()
        } else {
            format!("{rel_dir}/{name}")
        };
        let kind = match entry.file_type() {
            Ok(k) => k,
            Err(e) => {
                out.problems.push(failed(dir, e));
                continue;
            }
        };
        if kind.is_dir() {
            out.subfolders.push((entry.path(), rel));
            continue;
        }
        if kind.is_symlink() {
            // Not followed (a link could lead anywhere, or to a transcript
            // counted twice), but counted, so that it is not missed.
            *out.folder.skipped.entry(LINKS.to_string()).or_default() += 1;
            continue;
        }
        if !kind.is_file() || attributes::SHEET_NAMES.contains(&rel.as_str()) {
            continue;
        }
        let Some(format) = Format::from_path(Path::new(&rel)) else {
            let ext = Path::new(&rel).extension().map_or_else(
                || "(none)".to_string(),
                |e| format!(".{}", e.to_string_lossy().to_lowercase()),
            );
            *out.folder.skipped.entry(ext).or_default() += 1;
            continue;
        };
        let abs = entry.path();
        match entry.metadata() {
            Ok(meta) => out.files.push(FoundFile {
                rel,
                mtime_ns: time_ns(meta.modified()),
                size: meta.len(),
                abs,
                format,
            }),
            Err(e) => {
                let d = Diagnostic::error(format!("cannot read: {e}")).in_file(&abs);
                out.problems.push((abs, Diagnostics::from(d)));
            }
        }
    }
    out
}

/// A unit of text: sentence, paragraph, turn or the whole body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Kind of unit.
    pub kind: UnitKind,
    /// Id within the document, e.g. `p12` (stable for the same text).
    pub id: UnitId,
    /// Start, in characters, into the document's plain text.
    pub start: usize,
    /// End (exclusive), in characters.
    pub end: usize,
    /// The turn this unit lies in (0-based), if any.
    pub turn: Option<usize>,
    /// The speaker, if the unit lies in a labelled turn.
    pub speaker: Option<std::sync::Arc<str>>,
    /// True when the words are a respondent's (a labelled, non-interviewer turn).
    pub respondent: bool,
    /// The turn's timestamp, if the transcript gives one (shared by the
    /// turn's units).
    pub timestamp: Option<std::sync::Arc<str>>,
    /// Start byte in the plain text (for slicing without recounting).
    #[serde(skip)]
    pub byte_start: usize,
    /// End byte in the plain text.
    #[serde(skip)]
    pub byte_end: usize,
    /// For a sentence, the position in the index of its first word within
    /// its paragraph (the index's words before it); 0 for other units.
    #[serde(skip)]
    pub word: u32,
}

/// A parsed transcript.
#[derive(Debug, Clone)]
pub struct Document {
    /// Path relative to the corpus root, forward slashes.
    pub path: String,
    /// Format.
    pub format: Format,
    /// The plain text all offsets refer to.
    pub text: String,
    /// Attributes from the file itself (front matter).
    pub front_matter: BTreeMap<String, String>,
    /// Units, in document order within each kind.
    pub units: Vec<Unit>,
    /// Content hash of the file's bytes.
    pub hash: String,
    /// Words in all turns.
    pub words: usize,
    /// Words in respondents' turns.
    pub respondent_words: usize,
    /// Labelled turns.
    pub turns: usize,
}

/// Options that change how files are read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Replace invalid UTF-8 instead of failing.
    pub lossy: bool,
    /// Speaker conventions.
    pub speakers: SpeakerRules,
}

/// Reads and parses one transcript.
pub fn read_document(file: &FoundFile, opts: &ReadOptions) -> Result<Document, Diagnostics> {
    let bytes =
        crate::fsutil::read_bounded(&file.abs, crate::fsutil::INPUT_LIMIT).map_err(|e| {
            Diagnostics::from(Diagnostic::error(format!("cannot read: {e}")).in_file(&file.abs))
        })?;
    parse(&file.rel, &file.abs, file.format, Cow::Owned(bytes), opts)
}

/// A transcript's plain text and what its format says about its layout.
struct Plain {
    text: String,
    front_matter: BTreeMap<String, String>,
    body_start: usize,
    mode: ParagraphMode,
    line_times: Option<Vec<Option<String>>>,
    /// The speaker per line, when the format names it (VTT voices).
    line_voices: Option<Vec<Option<String>>>,
    /// Speakers the format names (VTT voices, Word styles).
    voices: Vec<String>,
}

/// Decodes a transcript's bytes into the plain text all offsets refer to.
fn plain(
    shown: &Path,
    format: Format,
    bytes: Cow<[u8]>,
    lossy: bool,
) -> Result<Plain, Diagnostics> {
    match format {
        Format::Txt | Format::Md => {
            let text = match bytes {
                Cow::Owned(b) => decode::decode_owned(shown, b, lossy)?,
                Cow::Borrowed(b) => decode::decode(shown, b, lossy)?,
            };
            let fm = frontmatter::parse(shown, &text)?;
            Ok(Plain {
                text,
                front_matter: fm.attributes,
                body_start: fm.body_start,
                mode: ParagraphMode::BlankLines,
                line_times: None,
                line_voices: None,
                voices: Vec::new(),
            })
        }
        Format::Vtt | Format::Srt | Format::Docx => {
            let records = match format {
                Format::Docx => formats::parse_docx(shown, &bytes)?,
                Format::Vtt => formats::parse_vtt(shown, &decode::decode(shown, &bytes, lossy)?)?,
                _ => formats::parse_srt(shown, &decode::decode(shown, &bytes, lossy)?)?,
            };
            let x = formats::assemble(&records);
            Ok(Plain {
                text: x.text,
                front_matter: BTreeMap::new(),
                body_start: 0,
                mode: ParagraphMode::EachLine,
                line_times: Some(x.line_times),
                line_voices: (!x.voices.is_empty()).then_some(x.line_voices),
                voices: x.voices,
            })
        }
    }
}

/// The plain text of a transcript file as it was indexed, if the file
/// still hashes to `hash` (the [`Document::hash`] recorded then). Text that
/// is not valid UTF-8 can only have been indexed with `--lossy`, so it is
/// decoded that way.
pub fn indexed_text(abs: &Path, hash: &str) -> Option<String> {
    let bytes = crate::fsutil::read_bounded(abs, crate::fsutil::INPUT_LIMIT).ok()?;
    if blake3::hash(&bytes).to_hex().as_str() != hash {
        return None;
    }
    let format = Format::from_path(abs)?;
    plain(abs, format, Cow::Owned(bytes), true)
        .ok()
        .map(|p| p.text)
}

/// Parses a transcript's bytes. `shown` is the path used in messages.
pub fn parse_document(
    rel: &str,
    shown: &Path,
    format: Format,
    bytes: &[u8],
    opts: &ReadOptions,
) -> Result<Document, Diagnostics> {
    parse(rel, shown, format, Cow::Borrowed(bytes), opts)
}

/// [`parse_document`], with the bytes owned when the caller can give
/// them up (a text file's bytes then become its text without a copy).
fn parse(
    rel: &str,
    shown: &Path,
    format: Format,
    bytes: Cow<[u8]>,
    opts: &ReadOptions,
) -> Result<Document, Diagnostics> {
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let Plain {
        text,
        front_matter,
        body_start,
        mode,
        line_times,
        line_voices,
        voices,
    } = plain(shown, format, bytes, opts.lossy)?;
    // Offsets are kept in 32 bits in the index (`schema::pack_span`).
    if u32::try_from(text.len()).is_err() {
        return Err(Diagnostic::error(
            "the transcript's text is larger than 4 GiB, more than qualdex can index",
        )
        .in_file(shown)
        .with_help("split it into several transcripts")
        .into());
    }
    // The study's speaker rules, and the voices the format names if any.
    let with_voices;
    let rules = if voices.is_empty() {
        &opts.speakers
    } else {
        let mut r = opts.speakers.clone();
        r.known.extend(voices);
        with_voices = r;
        &with_voices
    };
    let ascii = text.is_ascii();
    let raw = turns::segment_with_voices(
        &text,
        body_start,
        mode,
        rules,
        line_times.as_deref(),
        line_voices.as_deref(),
    );
    let map = CharMap::with_ascii(&text, ascii);
    // Sentences first, each as its byte range and the index's words before
    // it in its paragraph, so that the units vector is sized exactly (long
    // transcripts would otherwise regrow and copy it).
    let mut sentences: Vec<(usize, usize, u32)> = Vec::new();
    // Per paragraph: its first sentence in `sentences`, and its words.
    let mut by_paragraph: Vec<(usize, usize)> = Vec::with_capacity(raw.paragraphs.len() + 1);
    let (mut ends, mut offsets, mut tokens) = (Vec::new(), Vec::new(), Vec::new());
    for &(ps, pe) in &raw.paragraphs {
        let para = &text[ps..pe];
        let para_ascii = ascii || para.is_ascii();
        let first = sentences.len();
        segment::sentence_ends(para, para_ascii, &mut ends);
        // Sentence starts, relative to the paragraph, then its end.
        offsets.clear();
        let mut start = 0;
        for &end in &ends {
            let sentence = &para[start..end];
            let lead = sentence.len() - sentence.trim_start().len();
            let trimmed = sentence[lead..].trim_end();
            if !trimmed.is_empty() {
                let ss = ps + start + lead;
                offsets.push(start + lead);
                sentences.push((ss, ss + trimmed.len(), 0));
            }
            start = end;
        }
        offsets.push(para.len());
        // One count of the index's words gives each sentence's first
        // word and the paragraph's word count.
        segment::token_starts_into(para, para_ascii, &offsets, &mut tokens);
        for (s, &w) in sentences[first..].iter_mut().zip(&tokens) {
            s.2 = w;
        }
        let total = tokens.last().map_or(0, |&t| t as usize);
        let words = segment::word_count_from_tokens_in(para, para_ascii, total);
        by_paragraph.push((first, words));
    }
    by_paragraph.push((sentences.len(), 0));

    let mut units =
        Vec::with_capacity(raw.turns.len() + raw.paragraphs.len() + sentences.len() + 1);
    let (mut words, mut respondent_words) = (0usize, 0usize);
    let mut labelled = 0usize;
    // One shared copy of each speaker's name and each timestamp.
    let mut speakers: Vec<Option<std::sync::Arc<str>>> = vec![None; raw.labels];
    let mut last_timestamp: Option<std::sync::Arc<str>> = None;
    let mut turn_ids = Numbering::new('t');
    let mut paragraph_ids = Numbering::new('p');
    let mut sentence_ids = Numbering::new('s');
    for (ti, t) in raw.turns.iter().enumerate() {
        let respondent = t.respondent;
        if t.speaker.is_some() {
            labelled += 1;
        }
        let (first, last) = raw.span(t);
        let speaker: Option<std::sync::Arc<str>> = match (t.speaker, t.label_id) {
            (Some(name), Some(id)) => Some(
                speakers
                    .get_mut(id)
                    .map(|s| s.get_or_insert_with(|| name.into()).clone())
                    .unwrap_or_else(|| name.into()),
            ),
            (Some(name), None) => Some(name.into()),
            _ => None,
        };
        let timestamp: Option<std::sync::Arc<str>> = t.timestamp.map(|ts| match &last_timestamp {
            Some(l) if **l == *ts => l.clone(),
            _ => last_timestamp.insert(ts.into()).clone(),
        });
        let mk = |kind: UnitKind, id: UnitId, s: usize, e: usize| Unit {
            kind,
            id,
            start: map.char_at(s),
            end: map.char_at(e),
            turn: Some(ti),
            speaker: speaker.clone(),
            respondent,
            timestamp: timestamp.clone(),
            byte_start: s,
            byte_end: e,
            word: 0,
        };
        units.push(mk(UnitKind::Turn, turn_ids.next_id(), first, last));
        for (pi, &(ps, pe)) in raw.paragraphs_of(t).iter().enumerate() {
            let pi = t.paragraphs.start + pi;
            units.push(mk(UnitKind::Paragraph, paragraph_ids.next_id(), ps, pe));
            let (from, n) = by_paragraph[pi];
            let to = by_paragraph[pi + 1].0;
            for &(ss, se, w) in &sentences[from..to] {
                let mut u = mk(UnitKind::Sentence, sentence_ids.next_id(), ss, se);
                u.word = w;
                units.push(u);
            }
            words += n;
            if respondent {
                respondent_words += n;
            }
        }
    }
    if let (Some(f), Some(l)) = (raw.turns.first(), raw.turns.last()) {
        let s = raw.span(f).0;
        let e = raw.span(l).1;
        units.push(Unit {
            kind: UnitKind::Document,
            id: UnitId::document(),
            start: map.char_at(s),
            end: map.char_at(e),
            turn: None,
            speaker: None,
            respondent: false,
            timestamp: None,
            byte_start: s,
            byte_end: e,
            word: 0,
        });
    }
    Ok(Document {
        path: rel.to_string(),
        format,
        text,
        front_matter,
        units,
        hash,
        words,
        respondent_words,
        turns: labelled,
    })
}

/// A unit's id within its document: a letter for its kind and, for all
/// but the document itself, its number (`p12`, `s40`, `t5`, `d`). The
/// text is kept inline, so an id takes no allocation (a document has
/// thousands of units) and reads as a `&str`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnitId {
    len: u8,
    /// The text, ASCII, then zeros.
    text: [u8; ID_BYTES],
}

/// A letter and the ten digits of the largest 32-bit number.
const ID_BYTES: usize = 11;

impl UnitId {
    /// The id `{prefix}{n}`. There are fewer than 2^32 units in a
    /// transcript (its text is smaller than 4 GiB, and every unit has some
    /// of it); a larger number would be written as 2^32 - 1. A prefix that
    /// is not ASCII is written `?`.
    pub fn numbered(prefix: char, n: usize) -> UnitId {
        let mut digits = [0u8; ID_BYTES - 1];
        let mut i = digits.len();
        let mut rest = u32::try_from(n).unwrap_or(u32::MAX);
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let mut id = UnitId::document();
        id.text[0] = if prefix.is_ascii() {
            prefix as u8
        } else {
            b'?'
        };
        let n = digits.len() - i;
        id.text[1..=n].copy_from_slice(&digits[i..]);
        id.len = 1 + n as u8;
        id
    }

    /// The document's id, `d`.
    pub fn document() -> UnitId {
        let mut text = [0u8; ID_BYTES];
        text[0] = b'd';
        UnitId { len: 1, text }
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        // Always ASCII (see `numbered`).
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or("?")
    }
}

/// Numbers the units of one kind 1, 2, 3, …, counting in the ids' text
/// rather than writing each number anew.
struct Numbering {
    last: UnitId,
}

impl Numbering {
    /// Ids `{prefix}{n}` for `n` from 1 (`prefix` ASCII).
    fn new(prefix: char) -> Numbering {
        Numbering {
            last: UnitId::numbered(prefix, 0),
        }
    }

    /// The next id.
    fn next_id(&mut self) -> UnitId {
        let id = &mut self.last;
        let len = usize::from(id.len);
        let digits = &mut id.text[1..len];
        // The nines at the end turn to zeros and the digit before goes up.
        match digits.iter().rposition(|&d| d != b'9') {
            Some(i) => {
                digits[i] += 1;
                digits[i + 1..].fill(b'0');
            }
            // All nines: one more digit, unless that would pass the
            // largest number `numbered` writes.
            None if len < ID_BYTES => {
                digits.fill(b'0');
                id.text[1] = b'1';
                id.text[len] = b'0';
                id.len += 1;
            }
            None => {}
        }
        if id.len == ID_BYTES as u8 && id.as_str()[1..] > *"4294967295" {
            *id = UnitId::numbered(char::from(id.text[0]), usize::MAX);
        }
        id.clone()
    }
}

impl std::ops::Deref for UnitId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for UnitId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for UnitId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for UnitId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for UnitId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<UnitId> for str {
    fn eq(&self, other: &UnitId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<UnitId> for &str {
    fn eq(&self, other: &UnitId) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<UnitId> for String {
    fn eq(&self, other: &UnitId) -> bool {
        self == other.as_str()
    }
}

impl Serialize for UnitId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UnitId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UnitId, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for UnitId {
    type Err = String;

    /// Reads an id as [`UnitId::numbered`] and [`UnitId::document`] write it.
    fn from_str(s: &str) -> Result<UnitId, String> {
        let bad = || format!("`{s}` is not a unit id (such as p12, s40, t5 or d)");
        let mut chars = s.chars();
        let prefix = chars
            .next()
            .filter(char::is_ascii_alphabetic)
            .ok_or_else(bad)?;
        let digits = chars.as_str();
        if digits.is_empty() {
            let mut id = UnitId::document();
            id.text[0] = prefix as u8;
            return Ok(id);
        }
        if (digits.len() > 1 && digits.starts_with('0'))
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let n: u32 = digits.parse().map_err(|_| bad())?;
        Ok(UnitId::numbered(prefix, n as usize))
    }
}

/// Merges a document's attributes by precedence: front matter, then
/// `documents.csv`, then `cases.csv`, then the parent folder for `case`.
/// Returns the attributes and warnings for conflicting values.
pub fn resolve_attributes(
    path: &str,
    front_matter: &BTreeMap<String, String>,
    sheets: &Sheets,
) -> (BTreeMap<String, String>, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    let mut attrs = BTreeMap::new();
    let doc_row = sheets.documents.row(path);
    let case = front_matter
        .get("case")
        .or_else(|| doc_row.and_then(|r| r.get("case")))
        .cloned()
        .unwrap_or_else(|| folder_case(path));
    if let Some(row) = sheets.cases.row(&case) {
        attrs.extend(row.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(row) = doc_row {
        attrs.extend(row.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (k, v) in front_matter {
            if let Some(other) = row.get(k)
                && other != v
            {
                warnings.push(Diagnostic::warning(format!(
                    "`{path}`: attribute `{k}` is `{v}` in front matter but `{other}` in documents.csv; front matter wins"
                )));
            }
        }
    }
    attrs.extend(front_matter.iter().map(|(k, v)| (k.clone(), v.clone())));
    attrs.insert("case".into(), case);
    (attrs, warnings)
}

/// The case of a document without one: its parent folder's name (or `(root)`).
pub fn folder_case(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.rsplit('/').next().unwrap_or(dir).to_string(),
        None => "(root)".to_string(),
    }
}

/// Byte offset to character offset, for one text.
pub struct CharMap {
    table: Option<Vec<u32>>,
}

impl CharMap {
    /// Builds the map; ASCII texts need no table.
    pub fn new(text: &str) -> CharMap {
        CharMap::with_ascii(text, text.is_ascii())
    }

    /// [`CharMap::new`], told whether `text` is ASCII.
    fn with_ascii(text: &str, ascii: bool) -> CharMap {
        if ascii {
            return CharMap { table: None };
        }
        let mut table = vec![0u32; text.len() + 1];
        let mut chars = 0u32;
        for (b, c) in text.char_indices() {
            table[b] = chars;
            for i in 1..c.len_utf8() {
                table[b + i] = chars;
            }
            chars += 1;
        }
        table[text.len()] = chars;
        CharMap { table: Some(table) }
    }

    /// The character offset of a byte offset (at a char boundary).
    pub fn char_at(&self, byte: usize) -> usize {
        match &self.table {
            None => byte,
            Some(t) => t[byte] as usize,
        }
    }
}

/// The byte range of a character range of `text`.
pub fn char_range_to_bytes(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if end < start {
        return None;
    }
    if text.is_ascii() {
        return (start <= end && end <= text.len()).then_some((start, end));
    }
    let mut it = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    let bs = it.nth(start)?;
    let be = if end == start {
        bs
    } else {
        it.nth(end - start - 1)?
    };
    Some((bs, be))
}

/// `text[start..end]` in characters.
pub fn slice_chars(text: &str, start: usize, end: usize) -> Option<&str> {
    char_range_to_bytes(text, start, end).map(|(s, e)| &text[s..e])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: Format) -> Document {
        let opts = ReadOptions {
            lossy: false,
            speakers: SpeakerRules::new(&["Interviewer".into()], None),
        };
        parse_document("c/a.md", Path::new("a.md"), format, text.as_bytes(), &opts).unwrap()
    }

    #[test]
    fn unit_ids_read_and_compare_as_their_text() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, 4_294_967_295] {
            let id = UnitId::numbered('s', n);
            let text = format!("s{n}");
            assert_eq!(id.to_string(), text);
            assert_eq!(format!("{id:?}"), format!("{text:?}"));
            assert_eq!(id, text);
            assert_eq!(id, text.as_str());
            assert_eq!(text, id);
            assert_eq!(text.parse::<UnitId>(), Ok(id.clone()));
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
            let back: UnitId = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(back, id);
            assert_ne!(id, format!("s{n}0"));
            assert_ne!(id, format!("p{n}"));
            assert_ne!(id, "s");
        }
        let d = UnitId::document();
        assert_eq!(d.to_string(), "d");
        assert_eq!(d, "d");
        assert_ne!(d, "d0");
        assert_ne!(d, "");
        assert_eq!("d".parse::<UnitId>(), Ok(d.clone()));
        assert_eq!(UnitId::numbered('p', usize::MAX).to_string(), "p4294967295");
        assert_eq!(&*d, "d");
        for bad in ["", "12", "s01", "s1x", "s-1", "s4294967296", "é1"] {
            assert!(bad.parse::<UnitId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn numbering_counts_like_writing_the_numbers() {
        let mut ids = Numbering::new('s');
        for n in 1..=100_500usize {
            assert_eq!(ids.next_id(), UnitId::numbered('s', n), "{n}");
        }
        // Across the digit counts, up to the largest.
        for n in [999_999, 9_999_999, 999_999_999, 4_294_967_290] {
            let mut ids = Numbering {
                last: UnitId::numbered('p', n),
            };
            for k in n + 1..n + 12 {
                let expected = format!("p{}", k.min(4_294_967_295));
                assert_eq!(ids.next_id().as_str(), expected);
            }
        }
    }

    #[test]
    fn unit_offsets_slice_the_text_in_characters() {
        let t = "\u{feff}---\ncase: Alfa\n---\r\nInterviewer: Ça va? Où?\r\n\r\nJosé Núñez: Très bien. Merci – vraiment.\r\nJosé Núñez: Encore.\r\n";
        let d = parse(t, Format::Md);
        assert!(!d.text.starts_with('\u{feff}'));
        for u in &d.units {
            let s = slice_chars(&d.text, u.start, u.end).unwrap();
            assert_eq!(s, s.trim(), "unit {} not trimmed", u.id);
            assert!(!s.is_empty());
        }
        let sentences: Vec<_> = d
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Sentence)
            .map(|u| slice_chars(&d.text, u.start, u.end).unwrap())
            .collect();
        assert_eq!(
            sentences,
            [
                "Ça va?",
                "Où?",
                "Très bien.",
                "Merci – vraiment.",
                "Encore."
            ]
        );
        let turns: Vec<_> = d
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Turn)
            .collect();
        assert_eq!(turns.len(), 2);
        assert!(!turns[0].respondent && turns[1].respondent);
        assert_eq!(d.front_matter["case"], "Alfa");
        assert_eq!(d.turns, 2);
    }

    #[test]
    fn char_ranges() {
        assert_eq!(slice_chars("aé✓b", 1, 3), Some("é✓"));
        assert_eq!(slice_chars("aé✓b", 4, 4), Some(""));
        assert_eq!(slice_chars("ab", 1, 3), None);
        assert_eq!(slice_chars("aé", 2, 1), None);
        assert_eq!(slice_chars("ab", 2, 1), None);
    }

    #[test]
    fn precedence_front_matter_then_documents_then_cases_then_folder() {
        let mut sheets = Sheets::default();
        sheets.cases.rows.insert(
            "Alfa".into(),
            [
                ("size".to_string(), "big".to_string()),
                ("role".to_string(), "c".to_string()),
            ]
            .into(),
        );
        sheets.documents.rows.insert(
            "x/a.md".into(),
            [
                ("case".to_string(), "Alfa".to_string()),
                ("role".to_string(), "d".to_string()),
            ]
            .into(),
        );
        let fm: BTreeMap<String, String> = [("role".to_string(), "f".to_string())].into();
        let (a, w) = resolve_attributes("x/a.md", &fm, &sheets);
        assert_eq!(a["role"], "f");
        assert_eq!(a["size"], "big");
        assert_eq!(a["case"], "Alfa");
        assert_eq!(w.len(), 1);
        let (b, _) = resolve_attributes("beta/b.md", &BTreeMap::new(), &sheets);
        assert_eq!(b["case"], "beta");
    }
}

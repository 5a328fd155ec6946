//! Structured transcript formats: WebVTT, SubRip and Word (.docx).
//!
//! Each is turned into a plain text with one `Speaker: text` line per cue or
//! paragraph (just `text` when no speaker is known); `qualdex text` prints
//! exactly this text and all offsets refer to it. A VTT voice is carried to
//! turn detection as the line's speaker ([`Extracted::line_voices`]), so it
//! is the speaker whatever characters it holds (`Berg, Anna (Guest)`,
//! `anna@uni.edu`, `Speaker: 2`); lines without one are read like any
//! transcript, with the file's voices as known speakers.

use std::io::Read;
use std::path::Path;

use quick_xml::events::Event;

use crate::diag::Diagnostic;

/// One cue or paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The speaker, when the format names one (VTT `<v>` voice).
    pub speaker: Option<String>,
    /// Cue start time.
    pub timestamp: Option<String>,
    /// The text, on one line.
    pub text: String,
}

/// Extracted plain text, per-line timestamps and the voices the format named.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// One line per record.
    pub text: String,
    /// Timestamp per line.
    pub line_times: Vec<Option<String>>,
    /// The voice per line, when the format names one: the line then starts
    /// with the voice and `: `.
    pub line_voices: Vec<Option<String>>,
    /// Speakers named by the format itself.
    pub voices: Vec<String>,
}

/// Joins records into the canonical plain text.
pub fn assemble(records: &[Record]) -> Extracted {
    let mut out = Extracted::default();
    for r in records {
        let text = r.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            continue;
        }
        if let Some(s) = &r.speaker {
            out.text.push_str(s);
            out.text.push_str(": ");
            if !out.voices.contains(s) {
                out.voices.push(s.clone());
            }
        }
        out.text.push_str(&text);
        out.text.push('\n');
        out.line_times.push(r.timestamp.clone());
        out.line_voices.push(r.speaker.clone());
    }
    out
}

fn unescape_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&lrm;", "")
        .replace("&rlm;", "")
        .replace("&amp;", "&")
}

/// Splits a cue payload into (voice, text) pieces and strips markup tags.
fn cue_payload(payload: &str) -> Vec<(Option<String>, String)> {
    let mut pieces: Vec<(Option<String>, String)> = Vec::new();
    let mut voice: Option<String> = None;
    let mut buf = String::new();
    let mut rest = payload;
    while let Some(lt) = rest.find('<') {
        buf.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            buf.push_str(&rest[lt..]);
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        if let Some(v) = tag
            .strip_prefix('v')
            .filter(|t| t.starts_with([' ', '.', '\t']))
        {
            if !buf.trim().is_empty() {
                pieces.push((voice.clone(), std::mem::take(&mut buf)));
            }
            buf.clear();
            // `<v.class Name>`: skip classes, keep the annotation, all of
            // it (a voice is the speaker whatever it holds), on one line.
            let name = v.split_once(char::is_whitespace).map_or("", |(_, n)| n);
            let name = unescape_entities(name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            voice = (!name.is_empty()).then_some(name);
        }
        rest = &rest[lt + gt + 1..];
    }
    buf.push_str(rest);
    if !buf.trim().is_empty() {
        pieces.push((voice, buf));
    }
    pieces
        .into_iter()
        .map(|(v, t)| (v, unescape_entities(t.trim())))
        .collect()
}

/// Parses WebVTT.
pub fn parse_vtt(path: &Path, text: &str) -> Result<Vec<Record>, Diagnostic> {
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    if !first.starts_with("WEBVTT") {
        return Err(Diagnostic::error(
            "not a WebVTT file: the first line must start with `WEBVTT`",
        )
        .in_file(path)
        .at(1, 1)
        .with_source_from(text, 6)
        .with_help("add a first line `WEBVTT`, or rename the file if it is not a subtitle file"));
    }
    Ok(parse_cues(text, "."))
}

/// Parses SubRip (.srt).
pub fn parse_srt(path: &Path, text: &str) -> Result<Vec<Record>, Diagnostic> {
    if !text.contains("-->") && !text.trim().is_empty() {
        return Err(
            Diagnostic::error("not a SubRip file: no `-->` timing line found")
                .in_file(path)
                .with_help(
                    "SubRip cues look like `1`, `00:00:01,000 --> 00:00:04,000`, then the text",
                ),
        );
    }
    Ok(parse_cues(text, ","))
}

/// Cue blocks: an optional id line, a timing line with `-->`, payload lines.
fn parse_cues(text: &str, _frac: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut flush = |block: &mut Vec<&str>| {
        if let Some(t) = block.iter().position(|l| l.contains("-->")) {
            let start = block[t]
                .split("-->")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let payload = block[t + 1..].join("\n");
            for (voice, text) in cue_payload(&payload) {
                let speaker = voice;
                records.push(Record {
                    speaker,
                    timestamp: Some(start.clone()),
                    text,
                });
            }
        }
        block.clear();
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut block);
        } else {
            block.push(line);
        }
    }
    flush(&mut block);
    records
}

/// The most bytes of XML read from a .docx's `word/document.xml`: a Word
/// transcript of a thousand pages holds a few MiB; a zip bomb (a small file
/// that inflates to gigabytes) stops here with an error naming the file.
pub const DOCX_XML_LIMIT: u64 = 64 * 1024 * 1024;

/// The deepest nesting of XML elements read from a .docx (Word's own
/// documents nest a few dozen levels; tables in tables a few more).
pub const DOCX_XML_DEPTH: usize = 1024;

/// A reader that fails once more than `limit` bytes have been read, noting
/// that it did so (an archive entry may claim any size).
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed means too large.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(std::io::Error::other("the document is too large"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads paragraphs from a .docx (Office Open XML) file. The XML is
/// streamed from the archive, at most [`DOCX_XML_LIMIT`] bytes of it.
pub fn parse_docx(path: &Path, bytes: &[u8]) -> Result<Vec<Record>, Diagnostic> {
    parse_docx_capped(path, bytes, DOCX_XML_LIMIT)
}

/// [`parse_docx`] with a given cap on the XML read.
pub fn parse_docx_capped(path: &Path, bytes: &[u8], limit: u64) -> Result<Vec<Record>, Diagnostic> {
    let bad = |why: String| {
        Diagnostic::error(format!("cannot read the Word document: {why}"))
            .in_file(path)
            .with_help("save it again from Word or LibreOffice as .docx, or export it as .txt")
    };
    let too_large = || {
        Diagnostic::error(format!(
            "cannot read the Word document: its text part (word/document.xml) inflates to more than {} MiB",
            limit / (1024 * 1024)
        ))
        .in_file(path)
        .with_help("a Word transcript holds a few MiB of text: check the file (it may be a zip bomb), or export it as .txt")
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let entry = zip
        .by_name("word/document.xml")
        .map_err(|_| bad("it has no word/document.xml part".into()))?;
    if entry.size() > limit {
        return Err(too_large());
    }
    let capped = Capped {
        inner: entry,
        left: limit,
        exceeded: false,
    };
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(capped));
    let mut buf = Vec::new();
    let mut records = Vec::new();
    let mut para = String::new();
    let mut in_text = false;
    let mut depth_p = 0usize;
    // Elements open around the current event.
    let mut depth = 0usize;
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf);
        if reader.get_ref().get_ref().exceeded {
            return Err(too_large());
        }
        match event {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth > DOCX_XML_DEPTH {
                    return Err(bad(format!(
                        "its XML nests elements more than {DOCX_XML_DEPTH} levels deep"
                    )));
                }
                match e.local_name().as_ref() {
                    "p" => {
                        depth_p += 1;
                    }
                    "t" => in_text = true,
                    "tab" => para.push('\t'),
                    "br" | "cr" => para.push(' '),
                    _ => {}
                }
            }
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "tab" => para.push('\t'),
                "br" | "cr" => para.push(' '),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                let s = t.xml10_content();
                para.push_str(&s);
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                let name: String = AsRef::<str>::as_ref(&r).to_string();
                let s = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    n => n
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32)
                        .map(String::from)
                        .unwrap_or_default(),
                };
                para.push_str(&s);
            }
            Ok(Event::End(e)) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    "t" => in_text = false,
                    "p" => {
                        depth_p = depth_p.saturating_sub(1);
                        // Blank paragraphs are dropped when the text is
                        // assembled; dropping them here keeps a file of
                        // millions of empty ones from costing a record each.
                        if depth_p == 0 && !para.trim().is_empty() {
                            records.push(Record {
                                speaker: None,
                                timestamp: None,
                                text: std::mem::take(&mut para),
                            });
                        } else if depth_p == 0 {
                            para.clear();
                        }
                    }
                    _ => {}
                }
            }
            Ok(Event::Eof) if depth > 0 => {
                return Err(bad(
                    "its text part (word/document.xml) stops before its end: the file is truncated or damaged"
                        .into(),
                ))
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(bad(format!("malformed XML: {e}"))),
            _ => {}
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_voices_and_markup() {
        let t = "WEBVTT\n\nNOTE a comment\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>Hello &amp; welcome</v>\n\n00:00:05.000 --> 00:00:09.000\n<v.loud José Núñez>We <i>never</i>\nagreed.\n";
        let r = parse_vtt(Path::new("a.vtt"), t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].speaker.as_deref(), Some("Interviewer"));
        assert_eq!(r[0].text, "Hello & welcome");
        assert_eq!(r[1].speaker.as_deref(), Some("José Núñez"));
        let x = assemble(&r);
        assert_eq!(
            x.text,
            "Interviewer: Hello & welcome\nJosé Núñez: We never agreed.\n"
        );
        assert_eq!(x.line_times[1].as_deref(), Some("00:00:05.000"));
        assert_eq!(x.line_voices[1].as_deref(), Some("José Núñez"));
    }

    #[test]
    fn vtt_voices_keep_every_character() {
        let t = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Berg, Anna (Guest)>one</v>\n\n00:03.000 --> 00:04.000\n<v.loud.x Dr. Lee (CEO)>two\n\n00:05.000 --> 00:06.000\n<v anna@uni.edu>three\n\n00:07.000 --> 00:08.000\n<v   Jo\tEk &amp; Co  >four\n\n00:09.000 --> 00:10.000\n<v.only>five\n";
        let x = assemble(&parse_vtt(Path::new("a.vtt"), t).unwrap());
        let voices: Vec<Option<&str>> = x.line_voices.iter().map(Option::as_deref).collect();
        assert_eq!(
            voices,
            [
                Some("Berg, Anna (Guest)"),
                Some("Dr. Lee (CEO)"),
                Some("anna@uni.edu"),
                Some("Jo Ek & Co"),
                None
            ]
        );
        assert_eq!(
            x.text,
            "Berg, Anna (Guest): one\nDr. Lee (CEO): two\nanna@uni.edu: three\nJo Ek & Co: four\nfive\n"
        );
    }

    #[test]
    fn vtt_requires_header() {
        assert!(parse_vtt(Path::new("a.vtt"), "1\n00:00 --> 00:01\nx\n").is_err());
    }

    #[test]
    fn srt_cues() {
        let t = "1\r\n00:00:01,000 --> 00:00:02,000\r\nAnna: first line\r\nsecond line\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nBo: reply\r\n";
        let r = parse_srt(Path::new("a.srt"), t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            assemble(&r).text,
            "Anna: first line second line\nBo: reply\n"
        );
    }
}

#[cfg(test)]
mod docx_bounds {
    use super::*;
    use std::io::Write;

    fn zip_with(xml: &[u8]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(
            "word/document.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(xml).unwrap();
        z.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn the_capped_reader_stops_one_byte_past_the_limit() {
        let mut ok = Capped {
            inner: &b"0123456789"[..],
            left: 10,
            exceeded: false,
        };
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert_eq!((out.len(), ok.exceeded), (10, false));
        let mut over = Capped {
            inner: &b"0123456789"[..],
            left: 9,
            exceeded: false,
        };
        assert!(over.read_to_end(&mut Vec::new()).is_err());
        assert!(over.exceeded);
    }

    #[test]
    fn xml_past_the_cap_or_too_deep_is_refused() {
        let mut xml = b"<w:document><w:body><w:p><w:r><w:t>".to_vec();
        xml.extend(std::iter::repeat_n(b'a', 20_000));
        xml.extend_from_slice(b"</w:t></w:r></w:p></w:body></w:document>");
        let z = zip_with(&xml);
        let p = Path::new("a.docx");
        assert_eq!(
            parse_docx_capped(p, &z, 1 << 20).unwrap()[0].text.len(),
            20_000
        );
        let e = parse_docx_capped(p, &z, 10_000).unwrap_err();
        assert!(e.message.contains("word/document.xml"), "{}", e.message);
        let deep = format!(
            "<w:document>{}x{}</w:document>",
            "<w:p>".repeat(DOCX_XML_DEPTH + 1),
            "</w:p>".repeat(DOCX_XML_DEPTH + 1)
        );
        let e = parse_docx(p, &zip_with(deep.as_bytes())).unwrap_err();
        assert!(e.message.contains("levels deep"), "{}", e.message);
        let blank = "<w:p><w:r><w:t> </w:t></w:r></w:p>".repeat(10_000);
        let xml = format!("<w:document>{blank}<w:p><w:r><w:t>x</w:t></w:r></w:p></w:document>");
        let r = parse_docx(p, &zip_with(xml.as_bytes())).unwrap();
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn xml_cut_short_is_refused_at_every_cut() {
        let whole =
            "<w:document><w:body><w:p><w:r><w:t>One.</w:t></w:r></w:p></w:body></w:document>";
        let p = Path::new("a.docx");
        assert_eq!(parse_docx(p, &zip_with(whole.as_bytes())).unwrap().len(), 1);
        for cut in 1..whole.len() {
            let e = parse_docx(p, &zip_with(&whole.as_bytes()[..cut]));
            assert!(e.is_err(), "cut at {cut} was accepted: {:?}", &whole[..cut]);
        }
    }
}

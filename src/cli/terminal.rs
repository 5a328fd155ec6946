//! Standard output that a transcript cannot use to drive the terminal.
//!
//! When stdout is a terminal, every byte printed passes a filter that
//! replaces control characters (other than line breaks, tabs and the `\r`
//! of `\r\n`) and the bidirectional controls that reorder a line by
//! visible symbols, whatever the format: a CSV or a
//! `qualdex text` of a transcript holding `ESC ] 0 ; … BEL` (a window title)
//! or `ESC ] 52` (a clipboard write) shows the symbols instead. The only
//! escape sequences let through are the few colours qualdex itself prints.
//! Redirected to a file or a pipe, output is passed on unchanged (the
//! human formats escape their text themselves, see `render::printable`).

use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};

/// The colour sequences qualdex prints (search hits); nothing else starting
/// with ESC reaches a terminal.
const OWN_SEQUENCES: [&[u8]; 4] = [b"\x1b[0m", b"\x1b[1m", b"\x1b[35m", b"\x1b[1;31m"];

/// Buffered standard output, filtered when it is a terminal.
pub struct Stdout {
    inner: BufWriter<StdoutLock<'static>>,
    filter: Option<Filter>,
}

impl Stdout {
    /// Locks standard output.
    pub fn new() -> Stdout {
        let out = io::stdout();
        let filter = out.is_terminal().then(Filter::default);
        Stdout {
            inner: BufWriter::new(out.lock()),
            filter,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.filter {
            None => self.inner.write(buf),
            Some(f) => {
                f.feed(buf, &mut self.inner)?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(f) = &mut self.filter {
            f.finish(&mut self.inner)?;
        }
        self.inner.flush()
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        if let Some(f) = &mut self.filter {
            let _ = f.finish(&mut self.inner);
        }
    }
}

/// The filter's state: the bytes of a sequence not yet decided (an ESC
/// that may start one of qualdex's colours, a `\r` that may precede `\n`,
/// the first bytes of a character that may be a C1 or bidirectional
/// control).
#[derive(Debug, Default)]
pub struct Filter {
    held: Vec<u8>,
}

/// What to do with the bytes held.
enum Step {
    /// Wait for more bytes.
    Hold,
    /// Pass the first `n` on unchanged.
    Pass(usize),
    /// Replace the first `n` by a symbol.
    Replace(usize, char),
}

/// A byte that may need replacing or that starts a sequence to decide: a
/// control, or the first byte of a C1 control or of a bidirectional
/// control (see [`crate::diag::reorders`]).
fn special(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2
}

impl Filter {
    /// Filters `buf` into `out`.
    pub fn feed(&mut self, buf: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let mut clean = 0;
        for (i, &b) in buf.iter().enumerate() {
            if self.held.is_empty() && !special(b) {
                continue;
            }
            out.write_all(&buf[clean..i])?;
            clean = i + 1;
            self.held.push(b);
            self.settle(out, false)?;
        }
        out.write_all(&buf[clean..])
    }

    /// Decides what is still held, as at the end of the output.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        self.settle(out, true)
    }

    fn settle(&mut self, out: &mut dyn Write, end: bool) -> io::Result<()> {
        while !self.held.is_empty() {
            match step(&self.held, end) {
                Step::Hold => return Ok(()),
                Step::Pass(n) => {
                    out.write_all(&self.held[..n])?;
                    self.held.drain(..n);
                }
                Step::Replace(n, c) => {
                    let mut b = [0u8; 4];
                    out.write_all(c.encode_utf8(&mut b).as_bytes())?;
                    self.held.drain(..n);
                }
            }
        }
        Ok(())
    }
}

fn step(held: &[u8], end: bool) -> Step {
    let more = |s: Step| if end { None } else { Some(s) };
    match held[0] {
        0x1b => {
            if let Some(own) = OWN_SEQUENCES.iter().find(|s| held.starts_with(s)) {
                return Step::Pass(own.len());
            }
            if OWN_SEQUENCES.iter().any(|s| s.starts_with(held))
                && let Some(s) = more(Step::Hold)
            {
                return s;
            }
            Step::Replace(1, '\u{241b}')
        }
        b'\r' => match held.get(1) {
            Some(b'\n') => Step::Pass(2),
            Some(_) => Step::Replace(1, '\u{240d}'),
            None => more(Step::Hold).unwrap_or(Step::Replace(1, '\u{240d}')),
        },
        0xc2 => match held.get(1) {
            Some(0x80..=0x9f) => Step::Replace(2, '\u{fffd}'),
            Some(_) => Step::Pass(1),
            None => more(Step::Hold).unwrap_or(Step::Pass(1)),
        },
        // U+202A–U+202E are E2 80 AA–AE; U+2066–U+2069 are E2 81 A6–A9.
        0xe2 => match (held.get(1), held.get(2)) {
            (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9)) => {
                Step::Replace(3, '\u{fffd}')
            }
            (Some(0x80 | 0x81), None) | (None, _) => {
                more(Step::Hold).unwrap_or(Step::Pass(held.len()))
            }
            _ => Step::Pass(1),
        },
        b if special(b) => Step::Replace(1, crate::render::control_picture(char::from(b))),
        _ => Step::Pass(1),
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    /// Filters `parts` written one after another.
    fn filtered(parts: &[&[u8]]) -> String {
        let mut f = Filter::default();
        let mut out = Vec::new();
        for p in parts {
            f.feed(p, &mut out).unwrap();
        }
        f.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn controls_become_symbols_and_layout_stays() {
        assert_eq!(filtered(&[b"a\tb\nc\r\nd"]), "a\tb\nc\r\nd");
        assert_eq!(
            filtered(&["t\x1b]0;x\x07 \x1b[2J y\rz\x7f \u{9b}31m".as_bytes()]),
            "t␛]0;x␇ ␛[2J y␍z␡ \u{fffd}31m"
        );
        assert_eq!(filtered(&["Åsa é \u{a0}".as_bytes()]), "Åsa é \u{a0}");
    }

    #[test]
    fn bidirectional_controls_become_symbols_even_when_split() {
        let all: String = ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .collect();
        assert_eq!(filtered(&[all.as_bytes()]), "\u{fffd}".repeat(9));
        let rlo = "a\u{202e}b".as_bytes();
        for cut in 1..rlo.len() {
            assert_eq!(
                filtered(&[&rlo[..cut], &rlo[cut..]]),
                "a\u{fffd}b",
                "cut at {cut}"
            );
        }
        // Other characters starting with the same bytes pass, whole or split.
        let kept = "\u{2014} \u{2026} \u{200f} \u{2065}\u{206a} \u{20ac}";
        assert_eq!(filtered(&[kept.as_bytes()]), kept);
        let b = kept.as_bytes();
        for cut in 1..b.len() {
            assert_eq!(filtered(&[&b[..cut], &b[cut..]]), kept, "cut at {cut}");
        }
    }

    #[test]
    fn own_colours_pass_even_when_split() {
        assert_eq!(filtered(&[b"\x1b[1;31mhit\x1b[0m"]), "\x1b[1;31mhit\x1b[0m");
        assert_eq!(
            filtered(&[b"\x1b", b"[1", b";31m", b"hit\x1b[", b"0m"]),
            "\x1b[1;31mhit\x1b[0m"
        );
        // Other sequences, or ours cut off, are shown.
        assert_eq!(filtered(&[b"\x1b[1;32mx"]), "␛[1;32mx");
        assert_eq!(filtered(&[b"x\x1b[1"]), "x␛[1");
    }

    #[test]
    fn split_crlf_and_two_byte_characters_are_decided_together() {
        assert_eq!(filtered(&[b"a\r", b"\nb\r", b"c\r"]), "a\r\nb␍c␍");
        let c1 = "\u{9b}".as_bytes();
        let e = "é".as_bytes();
        assert_eq!(
            filtered(&[&c1[..1], &c1[1..], &e[..1], &e[1..]]),
            "\u{fffd}é"
        );
    }
}

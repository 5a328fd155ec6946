//! User-facing diagnostics for problems in files the researcher wrote.
//!
//! A [`Diagnostic`] names the file, line and column, quotes the offending line
//! with a caret under the problem, and may suggest a fix. Every module that
//! reads user-authored input (study file, front matter, CSV sheets, queries,
//! codebooks) reports through this type so errors look the same everywhere.
//! This module only formats; it never decides what is wrong.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// `eprintln!` that never panics: a closed stderr (`qualdex index 2>&1 |
/// true`, a log reader that went away) loses the message, not the command.
/// Every message on stderr goes through this or [`stderr!`].
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see [`stderr_line!`]).
#[macro_export]
macro_rules! stderr {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The command cannot go on.
    Error,
    /// Worth knowing, but the command carries on.
    Warning,
}

/// One problem found in user input, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// The file the problem is in (or a pseudo-name such as `query`).
    pub origin: Option<String>,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column in characters, if known.
    pub column: Option<usize>,
    /// The source line, for the caret display.
    pub source_line: Option<String>,
    /// Width of the caret underline in characters.
    pub span_len: usize,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a message and nothing else.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            origin: None,
            line: None,
            column: None,
            source_line: None,
            span_len: 1,
            help: None,
        }
    }

    /// A warning with a message and nothing else.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Names the file the problem is in.
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> Self {
        self.origin = Some(display_path(path));
        self
    }

    /// Names a pseudo-origin such as `query`.
    #[must_use]
    pub fn in_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets the 1-based line and column.
    #[must_use]
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Sets the 1-based line only.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Quotes the source line (the caret goes under `column`).
    #[must_use]
    pub fn with_source(mut self, line_text: impl Into<String>, span_len: usize) -> Self {
        self.source_line = Some(line_text.into());
        self.span_len = span_len.max(1);
        self
    }

    /// Quotes line `line` of `text` when it exists.
    #[must_use]
    pub fn with_source_from(self, text: &str, span_len: usize) -> Self {
        match self
            .line
            .and_then(|l| text.lines().nth(l.saturating_sub(1)))
        {
            Some(l) => {
                let l = l.trim_end_matches('\r').to_string();
                self.with_source(l, span_len)
            }
            None => self,
        }
    }

    /// Adds a hint on how to fix the problem.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Shows a path with forward slashes, as given (never canonicalised).
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Messages quote names and text from files: shown with their
        // control characters as symbols, like the source line below.
        let shown = printable;
        writeln!(f, "{label}: {}", shown(&self.message))?;
        if let Some(origin) = &self.origin {
            let origin = shown(origin);
            match (self.line, self.column) {
                (Some(l), Some(c)) => writeln!(f, "  --> {origin}:{l}:{c}")?,
                (Some(l), None) => writeln!(f, "  --> {origin}:{l}")?,
                _ => writeln!(f, "  --> {origin}")?,
            }
        }
        if let (Some(src), Some(line)) = (&self.source_line, self.line) {
            let (src, column) = source_window(src, self.column);
            let src = &src;
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {src}")?;
            if let Some(col) = column {
                let lead: String = src
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{pad} | {lead}{}", "^".repeat(self.span_len))?;
            }
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {}", shown(help))?;
        }
        Ok(())
    }
}

/// The most characters of a source line quoted under a diagnostic.
const SOURCE_WINDOW: usize = 120;

/// A long source line cut to [`SOURCE_WINDOW`] characters around the
/// column (with `…` where cut), control characters shown as `?` so a quoted
/// line cannot drive the terminal; the column moved to match.
fn source_window(src: &str, column: Option<usize>) -> (String, Option<usize>) {
    let chars: Vec<char> = src.chars().collect();
    let clean = |c: char| if c.is_control() && c != '\t' { '?' } else { c };
    if chars.len() <= SOURCE_WINDOW {
        return (chars.into_iter().map(clean).collect(), column);
    }
    let col0 = column.unwrap_or(1).saturating_sub(1).min(chars.len());
    let start = col0.saturating_sub(SOURCE_WINDOW / 2);
    let end = (start + SOURCE_WINDOW).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(chars[start..end].iter().copied().map(clean));
    if end < chars.len() {
        out.push('…');
    }
    (out, column.map(|c| c - start + usize::from(start > 0)))
}

impl std::error::Error for Diagnostic {}

/// A failed step: one or more diagnostics, at least one of them an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// The most diagnostics shown for one failed step; the rest are counted
/// ("and 9,950 more"), so a pathological input cannot flood the terminal.
pub const MAX_SHOWN: usize = 50;

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > MAX_SHOWN {
            let rest = self.0.len() - MAX_SHOWN;
            writeln!(
                f,
                "\n… and {rest} more {}",
                if rest == 1 { "problem" } else { "problems" }
            )?;
        }
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        if errors > 1 {
            writeln!(f, "\n{errors} errors")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// The closest candidate to `word` by edit distance, if it is close enough to
/// be a plausible typo (distance at most a third of the word, at least 1).
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        // Lengths further apart than the limit cannot be close: skip the
        // quadratic comparison (a 40 KB word costs nothing against a name).
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Edit distance in characters, counting a swap of two neighbours as one
/// edit (optimal string alignment), since `paht` for `path` is one typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Where a byte offset falls in `text`: 1-based line and character column.
pub fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let byte = byte.min(text.len());
    let before = &text[..floor_char_boundary(text, byte)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut byte: usize) -> usize {
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// Convenience for a diagnostic located at a byte offset of a file's text.
pub fn at_byte(path: &Path, text: &str, byte: usize, message: impl Into<String>) -> Diagnostic {
    let (line, col) = line_col(text, byte);
    Diagnostic::error(message)
        .in_file(path)
        .at(line, col)
        .with_source_from(text, 1)
}

/// `path` as seen from folder `base` (with `..` where needed), when both are
/// absolute; otherwise `path` unchanged. Used so messages never show
/// absolute machine paths for files inside the user's tree.
pub fn relative_from(path: &Path, base: &Path) -> PathBuf {
    use std::path::Component;
    if !path.is_absolute() || !base.is_absolute() {
        return path.to_path_buf();
    }
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// A file path relative to a base, for messages.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// `s` safe to print on a terminal: every control character except a line
/// break, a tab and the `\r` of a `\r\n` is replaced by one visible
/// symbol (`␛` for ESC, `␇` for BEL, `␍` for a lone CR, `␡` for DEL, `�`
/// for the C1 controls), so a transcript cannot set the window title,
/// write the clipboard or move the cursor; the bidirectional embeddings,
/// overrides and isolates (see [`reorders`]) become `�` too, so a
/// transcript cannot reverse the rest of a line (a cell, a coder's name, a
/// count) as a terminal or editor shows it. One character stays one
/// character, so character offsets into the text still hold.
pub fn printable(s: &str) -> Cow<'_, str> {
    let needs = |(i, c): (usize, char)| {
        (c.is_control() && c != '\n' && c != '\t' && !(c == '\r' && s[i + 1..].starts_with('\n')))
            || reorders(c)
    };
    if !s.char_indices().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.char_indices() {
        if needs((i, c)) {
            out.push(control_picture(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for the characters that reorder the text after them as it is
/// displayed: the bidirectional embeddings and overrides (U+202A–U+202E)
/// and isolates (U+2066–U+2069), as the "Trojan Source" attacks use them.
/// The marks (LRM, RLM, ALM) only settle the direction of neutral
/// characters next to them and are kept: Arabic and Hebrew transcripts
/// carry them.
pub fn reorders(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The visible symbol standing for a control character.
pub fn control_picture(c: char) -> char {
    match c as u32 {
        n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_caret_and_help() {
        let d = Diagnostic::error("unknown attribute `rol`")
            .in_origin("query")
            .at(1, 11)
            .with_source("case:Alfa rol:x", 3)
            .with_help("did you mean `role`?");
        let s = d.to_string();
        assert_eq!(
            s,
            "error: unknown attribute `rol`\n  --> query:1:11\n  |\n1 | case:Alfa rol:x\n  |           ^^^\n  = help: did you mean `role`?\n"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret_and_floods_counted() {
        let line = format!("{}XY{}", "a".repeat(500), "b".repeat(500));
        let d = Diagnostic::error("bad")
            .in_origin("query")
            .at(1, 501)
            .with_source(line, 2);
        let s = d.to_string();
        let quoted = s.lines().nth(3).unwrap();
        assert!(quoted.chars().count() < 140, "{quoted}");
        let caret = s.lines().nth(4).unwrap();
        let at = caret.chars().position(|c| c == '^').unwrap();
        let under: String = quoted.chars().skip(at).take(2).collect();
        assert_eq!(under, "XY");
        let many = Diagnostics(vec![Diagnostic::error("x"); 1000]);
        let text = many.to_string();
        assert_eq!(text.matches("error: x").count(), MAX_SHOWN);
        assert!(text.contains("and 950 more problems"), "{text}");
        let esc = Diagnostic::error("bad")
            .at(1, 1)
            .with_source("\u{1b}]0;title\u{7}", 1)
            .to_string();
        assert!(!esc.contains('\u{1b}'));
    }

    #[test]
    fn suggestion_picks_closest_within_limit() {
        assert_eq!(suggest("rol", ["role", "case", "country"]), Some("role"));
        assert_eq!(suggest("speakr", ["speaker", "side"]), Some("speaker"));
        assert_eq!(suggest("zzz", ["role", "case"]), None);
        assert_eq!(edit_distance("paht", "path"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn relative_paths() {
        let r = relative_from(Path::new("/a/b/q.yaml"), Path::new("/a/b/c"));
        assert_eq!(r, PathBuf::from("../q.yaml"));
        assert_eq!(
            relative_from(Path::new("/a/b/q.yaml"), Path::new("/a/b")),
            PathBuf::from("q.yaml")
        );
        assert_eq!(
            relative_from(Path::new("rel/q"), Path::new("/a")),
            PathBuf::from("rel/q")
        );
    }

    #[test]
    fn line_col_counts_characters() {
        let t = "ab\ncé: x";
        assert_eq!(line_col(t, 0), (1, 1));
        // byte of ':' is 3 + 'c'(1) + 'é'(2) = 6
        assert_eq!(line_col(t, 6), (2, 3));
    }
}

//! Options and helpers shared by subcommands: finding the study, opening
//! (or first building) the index, printing diagnostics, exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;

use crate::diag::{Diagnostic, Diagnostics};
use crate::index::{self, Opened};
use crate::refresh::{self, IndexOptions, IndexReport};
use crate::study::Study;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Global options, resolved.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--study`.
    pub study: Option<std::path::PathBuf>,
    /// `--quiet`.
    pub quiet: bool,
    /// Colour stdout.
    pub color: bool,
    /// `--no-refresh`.
    pub no_refresh: bool,
    /// `--raw`: CSV and TSV cells exactly as they are.
    pub raw: bool,
    /// Set when a command answered from an index it could not bring up to
    /// date: it then exits with [`STALE`].
    pub stale: std::cell::Cell<bool>,
}

/// The exit code of a command that answered from the last good index
/// because the index could not be brought up to date.
pub const STALE: u8 = 3;

impl Ctx {
    /// Resolves global options.
    pub fn new(cli: &super::Cli) -> Ctx {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ctx {
            study: cli.study.clone(),
            quiet: cli.quiet,
            color,
            no_refresh: cli.no_refresh,
            raw: cli.raw,
            stale: std::cell::Cell::new(false),
        }
    }

    /// How CSV and TSV cells are written (`--raw` or spreadsheet-safe).
    pub fn cells(&self) -> crate::render::Cells {
        if self.raw {
            crate::render::Cells::Raw
        } else {
            crate::render::Cells::Safe
        }
    }

    /// The exit code of a command that returned `code`: [`STALE`] when it
    /// answered from an index it could not bring up to date.
    pub fn exit(&self, code: ExitCode) -> ExitCode {
        if self.stale.get() {
            ExitCode::from(STALE)
        } else {
            code
        }
    }

    /// Finds the study.
    pub fn study(&self) -> Result<Study> {
        let cwd = std::env::current_dir()?;
        Ok(Study::locate(self.study.as_deref(), &cwd)?)
    }

    /// Prints a message on stderr unless quiet.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            crate::stderr_line!("{}", printable(&msg.to_string()));
        }
    }

    /// Prints warnings on stderr unless quiet.
    pub fn warn_all(&self, warnings: &[Diagnostic]) {
        if !self.quiet {
            for w in warnings {
                crate::stderr!("{w}");
            }
        }
    }

    /// Warns about documents whose text could not be shown because their
    /// files changed after they were indexed (only possible with
    /// `--no-refresh`, or when a file changes while the command runs).
    pub fn warn_changed(&self, changed: &[String]) {
        if changed.is_empty() || self.quiet {
            return;
        }
        crate::stderr_line!(
            "warning: {} changed since {} indexed, so {} text is left out: {}\n  \
             = help: run `qualdex index --verify` (or drop --no-refresh) and run this again; \
             --verify also catches edits that kept a file's size and modification time",
            count(changed.len(), "transcript"),
            if changed.len() == 1 {
                "it was"
            } else {
                "they were"
            },
            if changed.len() == 1 { "its" } else { "their" },
            printable(&changed.join(", "))
        );
    }

    /// Opens the index after refreshing it: the index is a cache, so
    /// commands that read it first pick up edited, added or deleted
    /// transcripts (an unchanged corpus costs one `stat` per folder and per
    /// transcript, without listing the folders: see `index::stamp`). If the
    /// refresh fails (a broken file, a read-only index folder), the problems
    /// are shown, even with `--quiet`, the last good index answers and the
    /// command exits with [`STALE`]; if there is no index at all, the error
    /// stands.
    pub fn open_index(&self, study: &Study) -> Result<Opened> {
        let had_index = crate::index::has_index(study);
        if self.no_refresh
            && had_index
            && let Some(o) = index::open(study)?
        {
            return Ok(o);
        }
        let mut known = None;
        match refresh::update(
            study,
            &IndexOptions {
                quiet: self.quiet,
                quick_check: true,
                ..Default::default()
            },
            &super::progress::Bar::new(self.quiet),
        ) {
            Ok(mut report) => {
                known = report
                    .manifest
                    .take()
                    .zip(report.generation.take())
                    .map(|(m, g)| (g, m));
                if !had_index
                    || !report.added.is_empty()
                    || !report.changed.is_empty()
                    || !report.removed.is_empty()
                {
                    self.print_report(&report);
                } else {
                    self.warn_all(&report.warnings);
                }
            }
            Err(e) if had_index => {
                // A stale answer is never silent, even with --quiet, and
                // the exit code says so (see `Ctx::exit`).
                crate::stderr!("{e}");
                crate::stderr_line!(
                    "warning: the index was not updated; results come from the last good index \
                     and may not match the files\n  \
                     = help: fix the problems above and run the command again (exit code 3 means this)"
                );
                self.stale.set(true);
            }
            Err(e) => return Err(e.into()),
        }
        index::open_with(study, known)?
            .ok_or_else(|| anyhow::anyhow!("the index could not be opened after building it"))
    }

    /// Summarises an index run on stderr.
    pub fn print_report(&self, r: &IndexReport) {
        self.warn_all(&r.warnings);
        if self.quiet {
            return;
        }
        let unchanged = r.total.saturating_sub(r.added.len() + r.changed.len());
        let what = if r.rebuilt {
            "built the index"
        } else {
            "updated the index"
        };
        crate::stderr_line!(
            "{what}: {} ({} added, {} changed, {} removed, {unchanged} unchanged; read {}) in {:.2} s",
            count(r.total, "document"),
            r.added.len(),
            r.changed.len(),
            r.removed.len(),
            count(r.reread, "file"),
            r.seconds
        );
        if r.added.len() + r.changed.len() + r.removed.len() <= 10 {
            for p in &r.added {
                crate::stderr_line!("  added    {}", printable(p));
            }
            for p in &r.changed {
                crate::stderr_line!("  changed  {}", printable(p));
            }
            for p in &r.removed {
                crate::stderr_line!("  removed  {}", printable(p));
            }
        }
        let links = r.skipped.get(crate::corpus::LINKS).copied().unwrap_or(0);
        if links > 0 {
            crate::stderr_line!(
                "skipped {} in the corpus: qualdex reads only real files there (copy the file in instead of linking it)",
                count(links, "symbolic link")
            );
        }
        let unknown: Vec<(&String, &usize)> = r
            .skipped
            .iter()
            .filter(|(e, _)| e.as_str() != crate::corpus::LINKS)
            .collect();
        if !unknown.is_empty() {
            let n: usize = unknown.iter().map(|(_, n)| **n).sum();
            let list: Vec<String> = unknown
                .iter()
                .map(|(e, n)| format!("{} ({n})", printable(e)))
                .collect();
            crate::stderr_line!(
                "skipped {} with unknown extensions: {} (qualdex reads .txt, .md, .vtt, .srt, .docx)",
                count(n, "file"),
                list.join(", ")
            );
        }
    }
}

/// A coder's name as given, composed to NFC (a `value_parser` for
/// `--coder`), so a name typed with decomposed accents is the same coder.
pub fn composed(given: &str) -> Result<String, std::convert::Infallible> {
    Ok(crate::coding::manual::normalise_coder(given))
}

/// The coder's name: `--coder`, else `$QUALDEX_CODER`, else `$USER`, else
/// `coder`; refused unless it can name the coder's file
/// (see [`crate::coding::manual::check_coder_name`]).
pub fn coder_name(given: Option<&str>) -> Result<String> {
    let name = given
        .map(String::from)
        .or_else(|| std::env::var("QUALDEX_CODER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "coder".to_string());
    let name = crate::coding::manual::normalise_coder(&name);
    crate::coding::manual::check_coder_name(&name).map_err(|why| {
        Diagnostic::error(format!("invalid coder name: {why}")).with_help(
            "a coder's codings live in `codings/<coder>.yaml`: pass `--coder NAME` (or set \
             $QUALDEX_CODER) with letters, digits, `-`, `_`, `.` or `@`, e.g. `--coder anna`",
        )
    })?;
    Ok(name)
}

/// What `--source` names: `any`, `auto`, `manual`, or a coder who has a
/// file in `codings/` (an unknown coder is an error naming the known ones,
/// not an empty table).
pub fn code_source(study: &Study, given: &str) -> Result<crate::query::CodeSource> {
    use crate::query::CodeSource;
    let source = CodeSource::parse(&crate::coding::manual::normalise_coder(given));
    if let CodeSource::Coder(name) = &source {
        let codings = crate::coding::manual::Codings::load(&study.codings_dir())?;
        if !codings.files.contains_key(name) {
            let known: Vec<&str> = codings.files.keys().map(String::as_str).collect();
            let mut help = match crate::diag::suggest(name, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            if known.is_empty() {
                help.push_str("no one has coded by hand yet (codings/ has no coder's file); ");
            } else {
                help.push_str(&format!("coders: {}; ", known.join(", ")));
            }
            help.push_str("or use `any`, `auto` or `manual`");
            let shown: String = name.chars().filter(|c| !c.is_control()).take(60).collect();
            anyhow::bail!(
                Diagnostic::error(format!("no coder `{shown}` to take codings from"))
                    .with_help(help)
            );
        }
    }
    Ok(source)
}

/// Reads one document of the corpus fresh from its file; `rel` is a path
/// in normal form (see [`super::docpath`]).
pub fn read_doc(study: &Study, rel: &str) -> Result<crate::corpus::Document> {
    read_doc_with(study, rel, false)
}

/// [`read_doc`], optionally replacing invalid UTF-8.
pub fn read_doc_with(study: &Study, rel: &str, lossy: bool) -> Result<crate::corpus::Document> {
    use crate::corpus::{Format, FoundFile, ReadOptions};
    let root = study.require_corpus()?;
    let rel = rel.to_string();
    let abs = root.join(&rel);
    let format = Format::from_path(&abs)
        .filter(|_| super::docpath::is_normal(&rel) && abs.is_file())
        .ok_or_else(|| {
            let why = if abs.is_file() && super::docpath::is_normal(&rel) { "is not a transcript format qualdex reads" } else { "is not in the corpus folder" };
            Diagnostic::error(format!("`{rel}` {why}"))
                .with_help("give the path relative to the corpus folder, as search results show it (.txt, .md, .vtt, .srt, .docx)")
        })?;
    let meta = std::fs::metadata(&abs)?;
    let file = FoundFile {
        rel,
        abs,
        size: meta.len(),
        mtime_ns: 0,
        format,
    };
    let opts = ReadOptions {
        lossy,
        speakers: crate::refresh::speaker_rules(study),
    };
    Ok(crate::corpus::read_document(&file, &opts)?)
}

pub use crate::render::{one_line, printable};

/// "1 file", "3 files".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('s') || noun.ends_with('x') {
        format!("{n} {noun}es")
    } else if let Some(stem) = noun
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'o', 'u']))
    {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

/// True when `e`, or an error it wraps, is a write to a closed pipe. Writers
/// wrap I/O errors in their own types (csv, serde_json) and in
/// `io::Error::other`, whose `source()` skips the wrapped error itself, so
/// each layer is opened by hand.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    // Bounded: a wrapper chain is a few levels deep.
    for _ in 0..32 {
        let Some(err) = cur else { return false };
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
            if let Some(inner) = io.get_ref()
                && is_broken_pipe(inner)
            {
                return true;
            }
        }
        if let Some(c) = err.downcast_ref::<csv::Error>()
            && let csv::ErrorKind::Io(io) = c.kind()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        if err
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind)
            == Some(std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Prints an error and returns exit code 2 (0 for a closed pipe).
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    // A closed pipe (`qualdex ... | head`) is success, whichever writer saw it.
    if e.chain().any(is_broken_pipe) {
        return ExitCode::SUCCESS;
    }
    let mut err = std::io::stderr().lock();
    if let Some(d) = e.downcast_ref::<Diagnostics>() {
        let _ = write!(err, "{d}");
    } else if let Some(d) = e.downcast_ref::<Diagnostic>() {
        let _ = write!(err, "{d}");
    } else {
        let _ = writeln!(err, "error: {}", printable(&format!("{e:#}")));
    }
    ExitCode::from(2)
}

/// Standard output, buffered; on a terminal, control characters are shown
/// as symbols (see [`super::terminal`]).
pub fn stdout() -> super::terminal::Stdout {
    super::terminal::Stdout::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn plurals() {
        assert_eq!(super::count(1, "pass"), "1 pass");
        assert_eq!(super::count(3, "pass"), "3 passes");
        assert_eq!(super::count(2, "family"), "2 families");
        assert_eq!(super::count(0, "file"), "0 files");
        assert_eq!(super::count(2, "key"), "2 keys");
    }
}

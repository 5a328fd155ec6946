//! `qualdex code`: apply the codebook's rules; `code add` / `code rm`:
//! manual codings.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use super::common::{coder_name, one_line, read_doc};
use super::docpath;
use crate::coding::Source;
use crate::coding::manual::{self, Codings};
use crate::corpus::{Document, slice_chars};
use crate::diag::Diagnostic;
use crate::query::{self, CodeSource};
use crate::refresh::load_codebook;
use crate::render::{Cell, Table, TableFormat, write_table_as};

const HELP: &str = "Examples:
  qualdex code                                   apply every rule, print passages per code
  qualdex code add governance --doc alfa/rd-01.md --quote \"no business model that pays\"
  qualdex code add risk --doc beta/p-02.vtt --unit p4 --memo \"risk appetite, partner side\"
  qualdex code add roles/orchestrator --doc alfa/rd-03.txt --lines 12-15 --coder anna
  qualdex code rm governance --doc alfa/rd-01.md --quote \"no business model that pays\"

Auto-codings are derived data, recomputed from the rules whenever the codebook or a
transcript changes; they never touch manual codings, which live in codings/<coder>.yaml
(the coder's name is the file's name). --doc takes the path relative to the corpus
folder or from the current folder (tab completion); it is stored relative to the
corpus. Coders may add and remove at the same time: each coder's file is locked while
it is read and written back, so no update is lost.";

/// Apply the codebook's rules (one pass over the text for all of them), or
/// add and remove manual codings.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Add or remove a manual coding.
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = TableFormat::Md)]
    pub format: TableFormat,
}

/// Manual coding actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Code a span by hand.
    Add(Span),
    /// Remove manual codings of a code from a span.
    Rm(Span),
}

/// A span of a document, given by quote, lines or unit.
#[derive(Debug, clap::Args)]
pub struct Span {
    /// The code: full path, or its last segment where unique.
    pub code: String,
    /// The document: relative to the corpus folder (as search results show
    /// it), or a path from the current folder into the corpus.
    #[arg(long)]
    pub doc: String,
    /// The exact text to code (must occur once in the document).
    #[arg(long, group = "span")]
    pub quote: Option<String>,
    /// Lines A-B of the plain text (`qualdex text` shows it), 1-based, inclusive.
    #[arg(long, group = "span", value_name = "A-B")]
    pub lines: Option<String>,
    /// A unit id such as `p12` or `s40` (as search results show it).
    #[arg(long, group = "span", value_name = "ID")]
    pub unit: Option<String>,
    /// The coder (default: $QUALDEX_CODER, then $USER); the codings go to
    /// `codings/<coder>.yaml`.
    #[arg(long, value_parser = super::common::composed)]
    pub coder: Option<String>,
    /// A memo kept with the coding.
    #[arg(long)]
    pub memo: Option<String>,
}

/// Runs `code`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    match &args.action {
        Some(Action::Add(s)) => add(ctx, s),
        Some(Action::Rm(s)) => rm(ctx, s),
        None => summary(ctx, args.format),
    }
}

/// The character range a `Span` names in a document.
pub fn resolve_span(doc: &Document, s: &Span) -> Result<(usize, usize)> {
    if let Some(q) = &s.quote {
        let q = q.trim();
        if q.is_empty() {
            bail!(
                Diagnostic::error("the quote is empty")
                    .with_help("give the words of the passage to code, or use --lines / --unit")
            );
        }
        // Overlapping occurrences count too: "ha ha" is twice in "ha ha ha".
        let mut hits: Vec<usize> = Vec::new();
        let mut from = 0;
        while let Some(at) = doc.text[from..].find(q) {
            hits.push(from + at);
            from += at
                + doc.text[from + at..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
        }
        match hits.len() {
            0 => bail!(
                Diagnostic::error(format!("the quote is not in `{}`", doc.path))
                    .with_help("copy it exactly from `qualdex text PATH`, or use --lines / --unit")
            ),
            1 => {
                let start = doc.text[..hits[0]].chars().count();
                Ok((start, start + q.chars().count()))
            }
            n => bail!(
                Diagnostic::error(format!("the quote occurs {n} times in `{}`", doc.path))
                    .with_help("quote more words so it is unique, or use --unit")
            ),
        }
    } else if let Some(l) = &s.lines {
        let (a, b) = l
            .split_once('-')
            .and_then(|(a, b)| {
                Some((
                    a.trim().parse::<usize>().ok()?,
                    b.trim().parse::<usize>().ok()?,
                ))
            })
            .or_else(|| l.trim().parse::<usize>().ok().map(|a| (a, a)))
            .filter(|(a, b)| *a >= 1 && a <= b)
            .ok_or_else(|| Diagnostic::error(format!("`--lines {l}`: write A-B, e.g. 12-15")))?;
        let mut offset = 0usize; // chars
        let (mut start, mut end) = (None, None);
        for (i, line) in doc.text.split_inclusive('\n').enumerate() {
            let n = i + 1;
            let body = line.trim_end_matches(['\n', '\r']);
            if n == a {
                let lead = body.chars().take_while(|c| c.is_whitespace()).count();
                start = Some(offset + lead);
            }
            if n == b {
                let trail = body.chars().rev().take_while(|c| c.is_whitespace()).count();
                end = Some(offset + body.chars().count() - trail);
            }
            offset += line.chars().count();
        }
        match (start, end) {
            (Some(s), Some(e)) if s < e => Ok((s, e)),
            _ => bail!(Diagnostic::error(format!(
                "`--lines {l}` is outside `{}` ({} lines) or empty",
                doc.path,
                doc.text.lines().count()
            ))),
        }
    } else if let Some(id) = &s.unit {
        let id = id.rsplit('#').next().unwrap_or(id);
        doc.units.iter().find(|u| u.id == id).map(|u| (u.start, u.end)).ok_or_else(|| {
            Diagnostic::error(format!("no unit `{id}` in `{}`", doc.path))
                .with_help("unit ids look like p12, s40, t5; `qualdex search ... --format json` shows them")
                .into()
        })
    } else {
        bail!(
            Diagnostic::error("say which text to code")
                .with_help("give --quote TEXT, --lines A-B or --unit ID")
        )
    }
}

fn add(ctx: &Ctx, s: &Span) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let code = cb.resolve(&s.code)?.path;
    if cb.code(&code).is_none() {
        bail!(
            Diagnostic::error(format!("`{code}` is a family, not a code"))
                .with_help("code with one of its codes")
        );
    }
    let doc = read_doc(&study, &docpath::resolve(&study, &s.doc)?)?;
    let (start, end) = resolve_span(&doc, s)?;
    let coder = coder_name(s.coder.as_deref())?;
    let dir = study.codings_dir();
    let entry = manual::make_coding(
        &doc.text,
        &doc.path,
        &code,
        start,
        end,
        s.memo.clone(),
        manual::now_rfc3339(),
    )
    .ok_or_else(|| anyhow::anyhow!("the span is outside the document"))?;
    // Read, change and write the coder's file under its lock, so that no
    // concurrent writer's coding is lost.
    let mut locked = Codings::lock(&dir, &[&coder])?;
    let file = locked.codings.file_for(&dir, &coder)?;
    let key = manual::coding_key(&doc.text, &entry);
    if file
        .1
        .codings
        .iter()
        .filter(|m| m.code == entry.code && m.doc == entry.doc)
        .any(|m| manual::coding_key(&doc.text, m) == key)
    {
        ctx.note(format!("`{}` already codes that passage for {coder}", code));
        return Ok(ExitCode::SUCCESS);
    }
    let path = file.0.clone();
    file.1.codings.push(entry);
    locked.save(&coder)?;
    ctx.note(format!(
        "coded `{code}` in {} [{start}-{end}] for {coder} ({}): \"{}\"",
        doc.path,
        crate::diag::display_path(&path),
        one_line(slice_chars(&doc.text, start, end).unwrap_or(""), 60)
    ));
    Ok(ExitCode::SUCCESS)
}

fn rm(ctx: &Ctx, s: &Span) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let code = cb.resolve(&s.code)?.path;
    let doc = read_doc(&study, &docpath::resolve(&study, &s.doc)?)?;
    let (start, end) = resolve_span(&doc, s)?;
    let coder = coder_name(s.coder.as_deref())?;
    let dir = study.codings_dir();
    let mut locked = Codings::lock(&dir, &[&coder])?;
    let Some((_, file)) = locked.codings.files.get_mut(&coder) else {
        bail!(Diagnostic::error(format!("{coder} has no codings")).with_help("pass --coder NAME"));
    };
    let before = file.codings.len();
    file.codings.retain(|m| {
        if m.code != code || m.doc != doc.path {
            return true;
        }
        // Remove codings whose current placement overlaps the span.
        match manual::anchor(&doc.text, m).range() {
            Some((a, b)) => !(a < end && start < b),
            None => true,
        }
    });
    let removed = before - file.codings.len();
    if removed == 0 {
        bail!(
            Diagnostic::error(format!(
                "no coding of `{code}` by {coder} overlaps that span"
            ))
            .with_help("`qualdex codings list --doc PATH` shows the codings")
        );
    }
    locked.save(&coder)?;
    ctx.note(format!(
        "removed {} of `{code}` from {}",
        super::common::count(removed, "coding"),
        doc.path
    ));
    Ok(ExitCode::SUCCESS)
}

fn summary(ctx: &Ctx, format: TableFormat) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    if cb.codes.is_empty() {
        bail!(Diagnostic::error("the study has no codebook").with_help(
            "list codebook files under `codebooks:` in qualdex.yaml (see docs/codebook.md)"
        ));
    }
    let opened = ctx.open_index(&study)?;
    let all = query::passages(&opened, None, &CodeSource::Any, None)?;
    // Per code (rolled up over descendants): distinct auto spans, manual spans, documents.
    let mut auto: BTreeMap<&str, BTreeSet<(String, usize, usize)>> = BTreeMap::new();
    let mut manual_: BTreeMap<&str, BTreeSet<(String, usize, usize)>> = BTreeMap::new();
    let mut docs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut rules_used: BTreeSet<String> = BTreeSet::new();
    for h in &all {
        let p = &h.passage;
        for e in &p.evidence {
            rules_used.insert(e.rule.clone());
        }
        for c in &cb.codes {
            if p.code == c.path || p.code.starts_with(&format!("{}/", c.path)) {
                let key = (h.path.clone(), p.start, p.end);
                match p.source {
                    Source::Auto => auto.entry(&c.path).or_default().insert(key),
                    Source::Manual { .. } => manual_.entry(&c.path).or_default().insert(key),
                };
                docs.entry(&c.path).or_default().insert(h.path.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for c in &cb.codes {
        let indent = "  ".repeat(c.depth - 1);
        rows.push(vec![
            Cell::Text(format!("{indent}{}", c.path)),
            Cell::Text(c.label.clone()),
            Cell::Count(auto.get(c.path.as_str()).map_or(0, BTreeSet::len) as u64),
            Cell::Count(manual_.get(c.path.as_str()).map_or(0, BTreeSet::len) as u64),
            Cell::Count(docs.get(c.path.as_str()).map_or(0, BTreeSet::len) as u64),
        ]);
    }
    let table = Table {
        title: Some(format!(
            "Coded passages per code ({} documents)",
            opened.manifest().documents.len()
        )),
        columns: [
            "code",
            "label",
            "auto passages",
            "manual passages",
            "documents",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        total_rows_from: None,
        json: None,
    };
    let mut out = super::common::stdout();
    write_table_as(&table, format, ctx.cells(), &mut out)?;
    out.flush()?;
    let silent: Vec<String> = cb
        .rules
        .iter()
        .map(|r| cb.rule_name(r))
        .filter(|n| !rules_used.contains(n))
        .collect();
    if !silent.is_empty() {
        ctx.note(format!(
            "warning: {} matched nothing: {}",
            super::common::count(silent.len(), "rule"),
            silent.join(", ")
        ));
    }
    ctx.note(format!(
        "{} rules applied in {} over the text per document",
        cb.rules.len(),
        super::common::count(crate::coding::matcher::passes_for(&cb), "pass")
    ));
    Ok(ExitCode::SUCCESS)
}

//! `qualdex codings`: list, check and import manual codings.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use super::common::{coder_name, one_line, read_doc};
use super::docpath;
use crate::coding::manual::{self, Anchor, Codings};
use crate::corpus::{Document, attributes};
use crate::diag::{Diagnostic, Diagnostics};
use crate::refresh::load_codebook;
use crate::render::{Cell, Table, TableFormat, write_table_as};
use crate::study::Study;

const HELP: &str = "Examples:
  qualdex codings list --coder anna
  qualdex codings check                 where each coding sits now; orphans exit 1
  qualdex codings check --fix           also rewrite document paths to the form qualdex matches
  qualdex codings import atlas-export.csv --coder anna

An import CSV has columns document (or doc, path), start, end, code, and optionally
coder and memo; start and end are character offsets into the plain text. Importing
is idempotent: a coding already in the coder's file (the same code on the same
passage, wherever the passage sits now) is skipped, and the summary says how many
were. `code add` and `codings check` (status `duplicate`) tell a repeat the same way.";

/// List, check and import manual codings.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// Actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List manual codings where they sit in the current text.
    List(Filter),
    /// Re-anchor every coding to the current text; report moved, fuzzy and
    /// orphaned ones, and document paths that match no transcript as stored.
    Check(Check),
    /// Import codings from a CSV (document, start, end, code[, coder, memo]);
    /// codings already present are skipped.
    Import(Import),
}

/// Which codings.
#[derive(Debug, clap::Args)]
pub struct Filter {
    /// Only this coder's.
    #[arg(long, value_parser = super::common::composed)]
    pub coder: Option<String>,
    /// Only this document's (relative to the corpus folder, or a path from
    /// the current folder into it).
    #[arg(long)]
    pub doc: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Md)]
    pub format: TableFormat,
}

/// Check options.
#[derive(Debug, clap::Args)]
pub struct Check {
    /// Which codings.
    #[command(flatten)]
    pub filter: Filter,
    /// Rewrite document paths that are not in normal form (`./x.txt`,
    /// `corpus/x.txt`, absolute, backslashes) to the path relative to the
    /// corpus folder, in the coders' files.
    #[arg(long)]
    pub fix: bool,
}

/// Import options.
#[derive(Debug, clap::Args)]
pub struct Import {
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// Coder for rows without a coder column.
    #[arg(long, value_parser = super::common::composed)]
    pub coder: Option<String>,
}

/// Runs `codings`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    match &args.action {
        Action::List(f) => list(ctx, f, false),
        Action::Check(c) => {
            if c.fix {
                fix_paths(ctx, &c.filter)?;
            }
            list(ctx, &c.filter, true)
        }
        Action::Import(i) => import(ctx, i),
    }
}

/// The normal form a stored document path should have, when it has
/// another: what the same words give as a document argument from the study
/// folder (`./x.txt`, `corpus/x.txt`, an absolute path or backslashes), if
/// that names an existing transcript or only the form was wrong. `Err` when
/// it points outside the corpus.
fn stored_path_fix(study: &StudyFolders, doc: &str) -> Result<Option<String>, ()> {
    let (root, corpus) = (&study.root, &study.corpus);
    if docpath::is_normal(doc) && corpus.join(doc).is_file() {
        return Ok(None);
    }
    match docpath::resolve_from(corpus, root, doc) {
        Ok(r) if r != doc && (corpus.join(&r).is_file() || !docpath::is_normal(doc)) => Ok(Some(r)),
        Ok(_) => Ok(None),
        Err(_) if docpath::is_normal(doc) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The study and corpus folders as absolute paths: stored document paths
/// are read from the study folder, wherever the command was run from.
struct StudyFolders {
    root: std::path::PathBuf,
    corpus: std::path::PathBuf,
}

fn study_folders(study: &Study) -> Result<StudyFolders> {
    let cwd = std::env::current_dir()?;
    Ok(StudyFolders {
        root: cwd.join(&study.root),
        corpus: cwd.join(study.corpus_dir()),
    })
}

/// Fails when `--coder` names no coder (an empty list says nothing).
fn check_coder_filter(codings: &Codings, f: &Filter) -> Result<()> {
    if let Some(c) = &f.coder
        && !codings.files.contains_key(c)
    {
        let known: Vec<&str> = codings.files.keys().map(String::as_str).collect();
        let help = match crate::diag::suggest(c, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => "no one has coded by hand yet".to_string(),
            None => format!("coders: {}", known.join(", ")),
        };
        anyhow::bail!(Diagnostic::error(format!("no coder `{c}`")).with_help(help));
    }
    Ok(())
}

fn fix_paths(ctx: &Ctx, f: &Filter) -> Result<()> {
    let study = ctx.study()?;
    let dir = study.codings_dir();
    let folders = study_folders(&study)?;
    let coders: Vec<String> = Codings::load(&dir)?
        .files
        .into_keys()
        .filter(|c| f.coder.as_ref().is_none_or(|x| x == c))
        .collect();
    let names: Vec<&str> = coders.iter().map(String::as_str).collect();
    let mut locked = Codings::lock(&dir, &names)?;
    for coder in &coders {
        let Some((path, file)) = locked.codings.files.get_mut(coder) else {
            continue;
        };
        let mut fixed = 0usize;
        let docs = file
            .codings
            .iter_mut()
            .map(|m| &mut m.doc)
            .chain(file.reviews.iter_mut().map(|r| &mut r.doc));
        for doc in docs {
            if let Ok(Some(new)) = stored_path_fix(&folders, doc) {
                *doc = new;
                fixed += 1;
            }
        }
        if fixed > 0 {
            let path = crate::diag::display_path(path);
            locked.save(coder)?;
            ctx.note(format!(
                "fixed {} in {path}",
                super::common::count(fixed, "document path")
            ));
        }
    }
    Ok(())
}

/// The line of the `n`-th (0-based) `doc:` entry naming `doc` in a file.
fn doc_line(text: &str, doc: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.starts_with("doc:") && l.contains(doc)
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

fn list(ctx: &Ctx, f: &Filter, check: bool) -> Result<ExitCode> {
    let study = ctx.study()?;
    let codings = Codings::load(&study.codings_dir())?;
    check_coder_filter(&codings, f)?;
    let doc_filter = match &f.doc {
        Some(d) => Some(docpath::resolve(&study, d)?),
        None => None,
    };
    let folders = study_folders(&study)?;
    let mut docs: BTreeMap<String, Option<Document>> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut path_problems: Vec<Diagnostic> = Vec::new();
    for (coder, (path, file)) in &codings.files {
        if f.coder.as_ref().is_some_and(|c| c != coder) {
            continue;
        }
        let text = crate::fsutil::read_input_text(path).unwrap_or_default();
        // How many entries before this one name the same document, to
        // find its line.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut doc_of = |doc: &str| {
            let n = seen.entry(doc.to_string()).or_default();
            *n += 1;
            *n - 1
        };
        // Document paths that match no transcript as they are written,
        // though their words name one: the codings are invisible to
        // passages, tables and search.
        let mut misnamed = |doc: &str, what: String, n: usize| -> bool {
            let fix = match stored_path_fix(&folders, doc) {
                Ok(None) => return false,
                Ok(Some(fix)) => Some(fix),
                Err(()) => None,
            };
            let mut d = Diagnostic::warning(format!(
                "{what} names the document `{doc}`, which passages, tables and search never match"
            ))
            .in_file(path);
            if let Some(line) = doc_line(&text, doc, n) {
                d = d.at_line(line).with_source_from(&text, 1);
            }
            path_problems.push(d.with_help(match fix {
                Some(fix) => format!(
                    "write `doc: {fix}` (relative to the corpus folder, with `/`), or run \
                     `qualdex codings check --fix`"
                ),
                None => "name a transcript inside the corpus folder, relative to it".to_string(),
            }));
            true
        };
        // Codings of this file by `coding_key`, to tell repeats.
        let mut keys = std::collections::HashSet::new();
        for m in &file.codings {
            let n = doc_of(&m.doc);
            if doc_filter.as_ref().is_some_and(|d| *d != m.doc) {
                continue;
            }
            let bad = check && misnamed(&m.doc, format!("a coding of `{}`", m.code), n);
            let anchor = if bad {
                Anchor::Orphan
            } else {
                let doc = docs.entry(m.doc.clone()).or_insert_with(|| {
                    docpath::is_normal(&m.doc)
                        .then(|| read_doc(&study, &m.doc).ok())
                        .flatten()
                });
                doc.as_ref()
                    .map_or(Anchor::Orphan, |d| manual::anchor(&d.text, m))
            };
            let repeated = check
                && !bad
                && anchor
                    .range()
                    .is_some_and(|(a, b)| !keys.insert((m.code.clone(), m.doc.clone(), a, b)));
            let label = if bad {
                "bad path"
            } else if repeated {
                "duplicate"
            } else {
                anchor.label()
            };
            *counts.entry(label).or_default() += 1;
            let (start, end) = anchor
                .range()
                .map_or((String::new(), String::new()), |(s, e)| {
                    (s.to_string(), e.to_string())
                });
            let mut row = vec![
                Cell::Text(coder.clone()),
                Cell::Text(m.code.clone()),
                Cell::Text(m.doc.clone()),
                Cell::Text(start),
                Cell::Text(end),
            ];
            if check {
                let status = match &anchor {
                    _ if bad || repeated => label.to_string(),
                    Anchor::Fuzzy { score, .. } => format!("fuzzy ({score:.2})"),
                    a => a.label().to_string(),
                };
                row.push(Cell::Text(status));
            }
            row.push(Cell::Text(one_line(&m.quote, 70)));
            row.push(Cell::Text(m.memo.clone().unwrap_or_default()));
            rows.push(row);
        }
        if check {
            for r in &file.reviews {
                let n = doc_of(&r.doc);
                if doc_filter.as_ref().is_none_or(|d| *d == r.doc)
                    && misnamed(&r.doc, format!("a review of `{}`", r.code), n)
                {
                    *counts.entry("bad path").or_default() += 1;
                }
            }
        }
    }
    let mut columns = vec!["coder", "code", "document", "start", "end"];
    if check {
        columns.push("status");
    }
    columns.extend(["quote", "memo"]);
    let table = Table {
        title: None,
        columns: columns.into_iter().map(String::from).collect(),
        rows,
        total_rows_from: None,
        json: None,
    };
    let mut out = super::common::stdout();
    write_table_as(&table, f.format, ctx.cells(), &mut out)?;
    out.flush()?;
    if check {
        // Shown whatever --quiet says: these codings count nowhere.
        for d in &path_problems {
            crate::stderr!("{d}");
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let checked = super::common::count(table.rows.len(), "coding");
        ctx.note(if summary.is_empty() {
            format!("{checked} checked")
        } else {
            format!("{checked} checked: {}", summary.join(", "))
        });
        let orphans = counts.get("orphaned").copied().unwrap_or(0);
        if orphans > 0 {
            ctx.note("orphaned codings stay in their files: re-code them with `qualdex code add`, then delete the old entry");
        }
        let duplicates = counts.get("duplicate").copied().unwrap_or(0);
        if duplicates > 0 {
            ctx.note(
                "a duplicate codes the passage an earlier entry of the same coder already codes \
                 with that code (often left by merging two copies of a file): delete one of them",
            );
        }
        if orphans > 0 || duplicates > 0 || !path_problems.is_empty() {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Ctx, args: &Import) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let text = crate::fsutil::read_input_text(&args.file)
        .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&args.file))?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(dc), Some(sc), Some(ec), Some(cc)) = (
        col(&["document", "doc", "path"]),
        col(&["start"]),
        col(&["end"]),
        col(&["code"]),
    ) else {
        return Err(
            Diagnostic::error("the CSV needs columns document, start, end and code")
                .in_file(&args.file)
                .at_line(1)
                .with_source_from(&text, 1)
                .into(),
        );
    };
    let coder_col = col(&["coder"]);
    let memo_col = col(&["memo"]);
    let default_coder = coder_col
        .is_none()
        .then(|| coder_name(args.coder.as_deref()));
    let default_coder = default_coder.transpose()?;
    let mut problems = Vec::new();
    type Key = Option<(String, String, usize, usize)>;
    let mut new: Vec<(String, manual::ManualCoding, Key)> = Vec::new();
    let mut docs: BTreeMap<String, Option<Document>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(
                    Diagnostic::error(format!("cannot read the row: {e}"))
                        .in_file(&args.file)
                        .at_line(attributes::csv_line(&text, e.position()))
                        .with_source_from(&text, 1),
                );
                continue;
            }
        };
        let line = attributes::csv_line(&text, rec.position());
        let bad = |msg: String| {
            Diagnostic::error(msg)
                .in_file(&args.file)
                .at_line(line)
                .with_source_from(&text, 1)
        };
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let (Ok(start), Ok(end)) = (get(sc).parse::<usize>(), get(ec).parse::<usize>()) else {
            problems.push(bad(
                "start and end must be whole numbers (character offsets)".into(),
            ));
            continue;
        };
        let code = match cb.resolve(&get(cc)) {
            Ok(r) => r.path,
            Err(d) => {
                problems.push(bad(d.message).with_help(d.help.unwrap_or_default()));
                continue;
            }
        };
        let coder = match coder_col.map(get).filter(|c| !c.is_empty()) {
            Some(c) => match manual::check_coder_name(&manual::normalise_coder(&c)) {
                Ok(()) => manual::normalise_coder(&c),
                Err(why) => {
                    problems.push(bad(format!("invalid coder: {why}")));
                    continue;
                }
            },
            None => match &default_coder {
                Some(c) => c.clone(),
                None => coder_name(args.coder.as_deref())?,
            },
        };
        let doc_path = match docpath::resolve(&study, &get(dc)) {
            Ok(p) => p,
            Err(e) => {
                let d = e
                    .downcast::<Diagnostic>()
                    .unwrap_or_else(|e| Diagnostic::error(e.to_string()));
                problems.push(bad(d.message).with_help(d.help.unwrap_or_default()));
                continue;
            }
        };
        let doc = docs
            .entry(doc_path.clone())
            .or_insert_with(|| read_doc(&study, &doc_path).ok());
        let Some(doc) = doc else {
            problems.push(bad(format!("no document `{doc_path}` in the corpus")));
            continue;
        };
        let memo = memo_col.map(get).filter(|m| !m.is_empty());
        let Some(m) = manual::make_coding(
            &doc.text,
            &doc.path,
            &code,
            start,
            end,
            memo,
            manual::now_rfc3339(),
        )
        .filter(|_| start < end) else {
            let why = if start == end {
                format!("the passage [{start}, {end}) is empty: `end` must be after `start`")
            } else if start > end {
                format!("`end` ({end}) is before `start` ({start})")
            } else {
                format!(
                    "[{start}, {end}) is not a range inside `{doc_path}` ({} characters)",
                    doc.text.chars().count()
                )
            };
            problems.push(bad(why));
            continue;
        };
        let key = manual::coding_key(&doc.text, &m);
        new.push((coder, m, key));
    }
    if !problems.is_empty() {
        return Err(Diagnostics(problems).into());
    }
    let dir = study.codings_dir();
    let coders: BTreeSet<&str> = new.iter().map(|(c, _, _)| c.as_str()).collect();
    let coders: Vec<&str> = coders.into_iter().collect();
    // Read, change and write every coder's file under its lock, so that no
    // concurrent writer's update is lost.
    let mut locked = Codings::lock(&dir, &coders)?;
    let mut touched = BTreeSet::new();
    let (mut added, mut skipped, mut other_memo) = (0usize, 0usize, 0usize);
    // Each coder's codings of each document, by `coding_key`, as anchored
    // once: the memo of the first with the key.
    let mut present: BTreeMap<(&str, &str), BTreeMap<_, Option<String>>> = BTreeMap::new();
    for (coder, m, key) in &new {
        let file = &mut locked.codings.file_for(&dir, coder)?.1;
        let known = present.entry((coder, &m.doc)).or_insert_with(|| {
            let text = docs
                .get(&m.doc)
                .and_then(Option::as_ref)
                .map(|d| d.text.as_str());
            let mut known = BTreeMap::new();
            for o in file.codings.iter().filter(|o| o.doc == m.doc) {
                if let Some(k) = text.and_then(|t| manual::coding_key(t, o)) {
                    known.entry(k).or_insert_with(|| o.memo.clone());
                }
            }
            known
        });
        // The same coding, from an earlier import or an earlier row:
        // skipped, never doubled.
        if let Some(memo) = key.as_ref().and_then(|k| known.get(k)) {
            skipped += 1;
            if *memo != m.memo {
                other_memo += 1;
            }
            continue;
        }
        if let Some(k) = key {
            known.insert(k.clone(), m.memo.clone());
        }
        file.codings.push(m.clone());
        added += 1;
        touched.insert(coder.as_str());
    }
    for c in &touched {
        locked.save(c)?;
    }
    let mut msg = format!("imported {}", super::common::count(added, "coding"));
    if !touched.is_empty() {
        msg.push_str(&format!(
            " for {}",
            touched.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if skipped > 0 {
        msg.push_str(&format!(
            "; skipped {} already present",
            super::common::count(skipped, "coding")
        ));
        if other_memo > 0 {
            msg.push_str(&format!(
                " ({other_memo} with another memo in the file, which was kept)"
            ));
        }
    }
    ctx.note(msg);
    Ok(ExitCode::SUCCESS)
}

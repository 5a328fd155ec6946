//! `qualdex review`: accept or reject auto-codings, so a rule's output
//! becomes checked evidence.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use super::common::{coder_name, one_line};
use crate::coding::Source;
use crate::coding::manual::{Codings, Review, Verdict, now_rfc3339};
use crate::diag::Diagnostic;
use crate::index::Bodies;
use crate::query::{self, CodeSource};
use crate::refresh::load_codebook;

const HELP: &str = "Examples:
  qualdex review governance                          auto-coded passages and their review state
  qualdex review governance --accept alfa/rd-01.md#p4 --reject beta/p-02.vtt#p7 --coder anna
  qualdex review governance --accept alfa/rd-01.md#842-1206    an id as `passages` or
                                                     `table --explain` prints it

An accepted passage also counts as the coder's (source `manual`); a rejected one is
dropped from search, passages and tables. Verdicts live in codings/<coder>.yaml,
anchored by the passage's text.";

/// Accept or reject auto-coded passages of a code.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The code (or family).
    pub code: String,
    /// Auto-coded passages to accept, as `path#unit` (e.g. alfa/rd-01.md#p4)
    /// or as the `path#start-end` ids `passages` and `table --explain`
    /// print (the path as `--doc` takes it).
    #[arg(long, num_args = 1.., value_name = "ID")]
    pub accept: Vec<String>,
    /// Auto-coded passages to reject.
    #[arg(long, num_args = 1.., value_name = "ID")]
    pub reject: Vec<String>,
    /// The coder (default: $QUALDEX_CODER, then $USER); the verdicts go to
    /// `codings/<coder>.yaml`.
    #[arg(long, value_parser = super::common::composed)]
    pub coder: Option<String>,
}

/// Runs `review`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let code = cb.resolve(&args.code)?.path;
    let opened = ctx.open_index(&study)?;
    let auto = query::passages(&opened, Some(&code), &CodeSource::Auto, None)?;
    let mut bodies = Bodies::default();
    let dir = study.codings_dir();
    if args.accept.is_empty() && args.reject.is_empty() {
        let codings = Codings::load(&dir)?;
        let mut out = super::common::stdout();
        for h in &auto {
            let p = &h.passage;
            let text = bodies.slice(&opened, &h.path, p.start, p.end).unwrap_or("");
            let state = if p.accepted { "accepted" } else { "pending" };
            writeln!(
                out,
                "{}#{}  [{}]  {state}",
                h.path,
                p.unit.as_deref().unwrap_or("?"),
                p.code
            )?;
            writeln!(out, "    {}", one_line(text, 200))?;
        }
        let rejected: Vec<&Review> = codings
            .files
            .values()
            .flat_map(|(_, f)| f.reviews.iter())
            .filter(|r| {
                r.verdict == Verdict::Reject
                    && (r.code == code || r.code.starts_with(&format!("{code}/")))
            })
            .collect();
        for r in &rejected {
            writeln!(
                out,
                "{}  [{}]  rejected\n    {}",
                r.doc,
                r.code,
                one_line(&r.quote, 200)
            )?;
        }
        out.flush()?;
        ctx.warn_changed(&opened.changed_texts());
        return Ok(ExitCode::SUCCESS);
    }
    let mut reviews = Vec::new();
    for (ids, verdict) in [
        (&args.accept, Verdict::Accept),
        (&args.reject, Verdict::Reject),
    ] {
        for id in ids {
            // A unit id as this command lists them, or a passage id as
            // `passages`, `table --explain` and the tables' JSON print them.
            let range = crate::table::coded::PassageId::parse(id);
            let Some((path, unit)) = id.rsplit_once('#') else {
                bail!(
                    Diagnostic::error(format!("`{id}` is not a passage id")).with_help(
                        "write PATH#UNIT (alfa/rd-01.md#p4) or PATH#START-END \
                         (alfa/rd-01.md#842-1206, as `qualdex passages` prints it)"
                    )
                );
            };
            let path = super::docpath::resolve(&study, range.as_ref().map_or(path, |r| &r.path))?;
            let found: Vec<_> = auto
                .iter()
                .filter(|h| {
                    h.path == path
                        && match &range {
                            Some(r) => h.passage.start == r.start && h.passage.end == r.end,
                            None => h.passage.unit.as_deref() == Some(unit),
                        }
                })
                .collect();
            if found.is_empty() {
                bail!(
                    Diagnostic::error(format!("`{id}` is not auto-coded `{code}`"))
                        .with_help("`qualdex review CODE` lists the auto-coded passages")
                );
            }
            for h in found {
                let p = &h.passage;
                if !matches!(p.source, Source::Auto) {
                    continue;
                }
                // A verdict records the passage's words: never record
                // words from a file that changed after it was coded.
                let Some(text) = bodies
                    .slice(&opened, &h.path, p.start, p.end)
                    .map(str::to_string)
                else {
                    bail!(
                        Diagnostic::error(format!(
                            "`{}` changed since it was indexed, so the passage `{id}` \
                             cannot be quoted",
                            h.path
                        ))
                        .with_help(
                            "run `qualdex index --verify` (or drop --no-refresh) and review again; \
                             --verify also catches edits that kept a file's size and modification time",
                        )
                    );
                };
                reviews.push(Review {
                    code: p.code.clone(),
                    doc: h.path.clone(),
                    quote: text,
                    verdict,
                    at: Some(now_rfc3339()),
                });
            }
        }
    }
    let coder = coder_name(args.coder.as_deref())?;
    // Read, change and write the coder's file under its lock, so that no
    // concurrent writer's update is lost.
    let mut locked = Codings::lock(&dir, &[&coder])?;
    let file = locked.codings.file_for(&dir, &coder)?;
    let n = reviews.len();
    for r in reviews {
        file.1
            .reviews
            .retain(|x| !(x.code == r.code && x.doc == r.doc && x.quote == r.quote));
        file.1.reviews.push(r);
    }
    locked.save(&coder)?;
    ctx.note(format!(
        "recorded {} by {coder}",
        super::common::count(n, "verdict")
    ));
    Ok(ExitCode::SUCCESS)
}

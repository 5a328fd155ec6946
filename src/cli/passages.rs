//! `qualdex passages`: coded passages of a code, with their provenance.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value};

use super::Ctx;
use super::search::HitFormat;
use crate::coding::Source;
use crate::index::{Bodies, Opened};
use crate::query::{self, Compiler, PassageHit};
use crate::refresh::load_codebook;
use crate::render::{csv_cell, md_escape, printable};

const HELP: &str = "Examples:
  qualdex passages governance                      every passage coded governance (or below)
  qualdex passages challenges --source manual      coded by hand only
  qualdex passages risk --filter 'case:Beta AND side:partner' --format json

JSON: one object per passage with path, case, speaker, code, source (auto or the
coder), start, end, text, unit, rules (for auto-codings), memo, and the attributes.";

/// List coded passages with provenance (document, case, speaker, offsets, rule or coder).
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The code (or family); its descendants are included.
    pub code: String,
    /// Which codings: auto, manual, or a coder's name.
    #[arg(long, default_value = "any")]
    pub source: String,
    /// Only passages in documents or turns matching these filters (case:, speaker:, any attribute).
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HitFormat::Kwic)]
    pub format: HitFormat,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

/// Runs `passages`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let cb = load_codebook(&study)?;
    let code = cb.resolve(&args.code)?.path;
    let opened = ctx.open_index(&study)?;
    let source = super::common::code_source(&study, &args.source)?;
    let filter = match &args.filter {
        Some(q) => {
            let node = query::parse(q)?;
            Some(
                Compiler::new(&opened, q)
                    .with_codes(&cb, source.clone())
                    .compile(&node)?,
            )
        }
        None => None,
    };
    let mut hits = query::passages(&opened, Some(&code), &source, filter)?;
    let total = hits.len();
    if args.limit > 0 {
        hits.truncate(args.limit);
    }
    let mut bodies = Bodies::default();
    let mut out = super::common::stdout();
    let mut w = PassageWriter::new(args.format, &opened, ctx.cells(), &mut out)?;
    for h in &hits {
        let p = &h.passage;
        let text = text_of(&opened, &mut bodies, &h.path, p.start, p.end);
        w.passage(h, text)?;
    }
    w.finish()?;
    out.flush()?;
    ctx.warn_changed(&opened.changed_texts());
    if hits.len() < total {
        ctx.note(format!("showing {} of {total} passages", hits.len()));
    } else if args.format == HitFormat::Kwic {
        ctx.note(format!(
            "{} coded `{code}`",
            super::common::count(total, "passage")
        ));
    }
    Ok(if total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Coded passages written in one format: the header when made, then one
/// passage at a time, then what closes the output. One variant per format.
enum PassageWriter<'a, W: Write> {
    /// One CSV record per passage.
    Csv {
        // Boxed: the CSV writer's buffer state dwarfs the other variants.
        w: Box<csv::Writer<&'a mut W>>,
        opened: &'a Opened,
        cells: crate::render::Cells,
    },
    /// A Markdown table.
    Md { out: &'a mut W, opened: &'a Opened },
    /// One JSON object per line.
    Json { out: &'a mut W, opened: &'a Opened },
    /// The passage's id, case, speaker, code and provenance, then its text.
    Kwic { out: &'a mut W, opened: &'a Opened },
}

impl<'a, W: Write> PassageWriter<'a, W> {
    /// A writer for `format`, its header written.
    fn new(
        format: HitFormat,
        opened: &'a Opened,
        cells: crate::render::Cells,
        out: &'a mut W,
    ) -> Result<Self> {
        Ok(match format {
            HitFormat::Csv => {
                let mut w = Box::new(csv::Writer::from_writer(out));
                w.write_record([
                    "path", "case", "speaker", "code", "source", "start", "end", "unit", "rules",
                    "memo", "text",
                ])?;
                PassageWriter::Csv { w, opened, cells }
            }
            HitFormat::Md => {
                writeln!(out, "| case | passage | speaker | code | source | text |")?;
                writeln!(out, "| --- | --- | --- | --- | --- | --- |")?;
                PassageWriter::Md { out, opened }
            }
            HitFormat::Json => PassageWriter::Json { out, opened },
            HitFormat::Kwic => PassageWriter::Kwic { out, opened },
        })
    }

    /// Writes one coded passage, whose text is `text`.
    fn passage(&mut self, h: &PassageHit, text: String) -> Result<()> {
        let p = &h.passage;
        match self {
            PassageWriter::Csv { w, opened, cells } => {
                let rules: Vec<&str> = p.evidence.iter().map(|e| e.rule.as_str()).collect();
                w.write_record(
                    [
                        h.path.as_str(),
                        case_of(opened, &h.path),
                        h.speaker.as_deref().unwrap_or(""),
                        p.code.as_str(),
                        &p.source.label(),
                        &p.start.to_string(),
                        &p.end.to_string(),
                        p.unit.as_deref().unwrap_or(""),
                        &rules.join(" "),
                        p.memo.as_deref().unwrap_or(""),
                        &text,
                    ]
                    .map(|c| csv_cell(c, *cells)),
                )?;
            }
            PassageWriter::Json { out, opened } => {
                let mut m = Map::new();
                if let Some(d) = opened.manifest().documents.get(&h.path) {
                    for (k, v) in &d.attributes {
                        m.insert(k.clone(), Value::String(v.clone()));
                    }
                }
                m.insert("path".into(), Value::String(h.path.clone()));
                m.insert(
                    "case".into(),
                    Value::String(case_of(opened, &h.path).to_string()),
                );
                m.insert(
                    "speaker".into(),
                    h.speaker.clone().map_or(Value::Null, Value::String),
                );
                m.insert("respondent".into(), Value::Bool(h.respondent));
                m.insert("code".into(), Value::String(p.code.clone()));
                m.insert("source".into(), Value::String(p.source.label()));
                m.insert("start".into(), Value::from(p.start));
                m.insert("end".into(), Value::from(p.end));
                m.insert(
                    "unit".into(),
                    p.unit.clone().map_or(Value::Null, Value::String),
                );
                m.insert("rules".into(), serde_json::to_value(&p.evidence)?);
                m.insert(
                    "memo".into(),
                    p.memo.clone().map_or(Value::Null, Value::String),
                );
                if let Some(a) = &p.anchor {
                    m.insert("anchor".into(), Value::String(a.clone()));
                }
                if p.accepted {
                    m.insert("accepted".into(), Value::Bool(true));
                }
                m.insert("text".into(), Value::String(text));
                serde_json::to_writer(&mut **out, &Value::Object(m))?;
                writeln!(out)?;
            }
            PassageWriter::Md { out, opened } => writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md_escape(case_of(opened, &h.path)),
                md_escape(&passage_id(&h.path, p.start, p.end)),
                md_escape(h.speaker.as_deref().unwrap_or("")),
                md_escape(&p.code),
                md_escape(&p.source.label()),
                md_escape(&text)
            )?,
            PassageWriter::Kwic { out, opened } => {
                let how = match &p.source {
                    Source::Auto => {
                        let rules: std::collections::BTreeSet<&str> =
                            p.evidence.iter().map(|e| e.rule.as_str()).collect();
                        format!("auto: {}", rules.into_iter().collect::<Vec<_>>().join(", "))
                    }
                    Source::Manual { coder } => format!(
                        "{coder}{}",
                        p.memo
                            .as_ref()
                            .map(|m| format!(" — {m}"))
                            .unwrap_or_default()
                    ),
                };
                // Shown with control characters as symbols (see search).
                let head = format!(
                    "{}  {}  {}  [{}]  {how}",
                    passage_id(&h.path, p.start, p.end),
                    case_of(opened, &h.path),
                    h.speaker.as_deref().unwrap_or("-"),
                    p.code
                );
                writeln!(out, "{}", printable(&head))?;
                writeln!(out, "    {}", super::common::one_line(&text, 400))?;
            }
        }
        Ok(())
    }

    /// Ends the output (a CSV writer's buffer is flushed).
    fn finish(self) -> Result<()> {
        if let PassageWriter::Csv { mut w, .. } = self {
            w.flush()?;
        }
        Ok(())
    }
}

fn case_of<'a>(opened: &'a crate::index::Opened, path: &str) -> &'a str {
    opened
        .manifest()
        .documents
        .get(path)
        .map_or("", |d| d.case())
}

fn text_of(
    opened: &crate::index::Opened,
    bodies: &mut Bodies,
    path: &str,
    s: usize,
    e: usize,
) -> String {
    bodies.slice(opened, path, s, e).unwrap_or("").to_string()
}

/// A passage's id as tables print it (`path#start-end`).
fn passage_id(path: &str, start: usize, end: usize) -> String {
    crate::table::coded::PassageId {
        path: path.to_string(),
        start,
        end,
    }
    .to_string()
}

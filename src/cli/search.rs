//! `qualdex search`: find passages, with their evidence attached.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value};

use super::Ctx;
use crate::index::{Bodies, Opened};
use crate::query::{self, Compiler, Highlighter, Hit};
use crate::render::{Cell, Table, TableFormat, csv_cell, md_escape, printable, write_table_as};
use crate::study::UnitKind;

const HELP: &str = r#"Query language:
  revenue model            both words (stemmed: models, modelling match too)
  revenue OR incentive     either word;  NOT / -word excludes
  "revenue model"          exact phrase;  "revenue model"~3  words within 3 positions
  govern*                  prefix;  "business mod*" phrase ending in a prefix
  case:Alfa                filters: case, speaker, path, respondent:true|false,
  role:"key account manager"   and every attribute (front matter, cases.csv, documents.csv)
  code:governance          units overlapping a passage coded governance (or below);
                           --source auto|manual|CODER picks whose codings count
  ( ... )                  grouping;  AND binds tighter than OR
                           (parentheses and NOTs nest at most 256 levels; at
                           most 1,000 terms, whose prefixes stand for at most
                           100,000 indexed words)

Words are searched in what is said, not in speaker labels, and a phrase stays in
one paragraph. With --unit document, each word or phrase matches the documents
with a paragraph matching it, and AND / OR / NOT combine documents. With --unit
sentence, the paragraphs that can match are searched and each of their sentences
is checked: a phrase stays in one sentence, NOT applies sentence by sentence.

Examples:
  qualdex search '"outcome based" AND (contract OR agreement)'
  qualdex search 'risk* respondent:true' --unit sentence
  qualdex search 'incentive*' --by case --format csv
  qualdex search 'trust' --format json | jq .text
  qualdex search 'code:governance AND code:risk'      co-coded units
  qualdex search 'code:roles/orchestrator AND case:Alfa' --source manual

Hits are listed in document order. Exit status: 0 hits found, 1 none, 2 error,
3 answered from the last good index because it could not be brought up to date."#;

/// Output formats for hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HitFormat {
    /// Keyword in context, one hit per entry.
    Kwic,
    /// One JSON object per line per hit.
    Json,
    /// CSV with a header row.
    Csv,
    /// Markdown table.
    Md,
}

/// Search passages.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The query (several arguments are joined with spaces).
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Unit to return: sentence, paragraph, turn or document (default: the study's unit).
    #[arg(long, value_parser = ["sentence", "paragraph", "turn", "document"])]
    pub unit: Option<String>,
    /// At most this many hits (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print only the number of hits.
    #[arg(long, conflicts_with = "by")]
    pub count: bool,
    /// Count hits per value of this attribute (or `case`, `speaker`, `path`).
    #[arg(long, value_name = "ATTRIBUTE")]
    pub by: Option<String>,
    /// Output format (`--by` tables: md, csv, json).
    #[arg(long, value_enum, default_value_t = HitFormat::Kwic)]
    pub format: HitFormat,
    /// Which codings `code:` filters use: auto, manual, or a coder's name.
    #[arg(long, default_value = "any")]
    pub source: String,
    /// Characters of context on each side of a match in KWIC output.
    #[arg(long, default_value_t = 70)]
    pub context: usize,
}

/// Runs `search`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let text = args.query.join(" ");
    let node = query::parse(&text)?;
    let kind = args
        .unit
        .as_deref()
        .and_then(UnitKind::parse)
        .unwrap_or(study.config.unit);
    let opened = ctx.open_index(&study)?;
    // The codebook is needed only to resolve `code:` filters, and then only
    // its code tree, which the index records.
    let codebook = if !node.uses_field("code") {
        crate::codebook::Codebook::empty()
    } else if let Some(skeleton) = opened.code_skeleton() {
        skeleton
    } else {
        crate::refresh::load_codebook(&study)?
    };
    let search = Compiler::new(&opened, &text)
        .for_unit(kind)
        .with_codes(&codebook, super::common::code_source(&study, &args.source)?)
        .compile_search(&node, kind)?;
    let limit = if args.count || args.by.is_some() || args.limit == 0 {
        None
    } else {
        Some(args.limit)
    };
    let limit = if args.count || args.by.is_some() {
        Some(0)
    } else {
        limit
    };
    let mut out = super::common::stdout();
    if args.count {
        let n = search.count(&opened)?;
        writeln!(out, "{n}")?;
        out.flush()?;
        return Ok(if n > 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let results = search.run(&opened, limit)?;
    if args.count {
        writeln!(out, "{}", results.total)?;
    } else if let Some(by) = &args.by {
        let table = by_table(&opened, &results.per_path, by)?;
        let fmt = match args.format {
            HitFormat::Csv => TableFormat::Csv,
            HitFormat::Json => TableFormat::Json,
            HitFormat::Kwic | HitFormat::Md => TableFormat::Md,
        };
        write_table_as(&table, fmt, ctx.cells(), &mut out)?;
    } else {
        let highlighter = Highlighter::new(&node, &opened.language);
        let mut bodies = Bodies::default();
        let kwic = Kwic {
            highlighter: &highlighter,
            context: args.context,
            color: ctx.color,
        };
        let mut w = HitWriter::new(args.format, &opened, ctx.cells(), kwic, &mut out)?;
        for h in &results.hits {
            let t = hit_text(&opened, &mut bodies, h);
            w.hit(h, &t)?;
        }
        w.finish()?;
        ctx.warn_changed(&opened.changed_texts());
        if results.hits.len() < results.total {
            ctx.note(format!(
                "showing {} of {} hits; use --limit 0 for all",
                results.hits.len(),
                results.total
            ));
        } else if args.format == HitFormat::Kwic {
            ctx.note(format!(
                "{} in {} units",
                super::common::count(results.total, "hit"),
                kind.as_str()
            ));
        }
    }
    out.flush()?;
    Ok(if results.total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What the KWIC format needs beyond a hit: the highlighter, the context
/// width and whether to colour.
struct Kwic<'a> {
    highlighter: &'a Highlighter,
    context: usize,
    color: bool,
}

/// Search hits written in one format: the header when made, then one hit
/// at a time, then what closes the output. One variant per format.
enum HitWriter<'a, W: Write> {
    /// One CSV record per hit, the document's attributes as columns.
    Csv {
        // Boxed: the CSV writer's buffer state dwarfs the other variants.
        w: Box<csv::Writer<&'a mut W>>,
        opened: &'a Opened,
        attr_names: Vec<String>,
        cells: crate::render::Cells,
    },
    /// A Markdown table.
    Md { out: &'a mut W, opened: &'a Opened },
    /// One JSON object per line.
    Json { out: &'a mut W, opened: &'a Opened },
    /// Keyword in context.
    Kwic {
        out: &'a mut W,
        opened: &'a Opened,
        kwic: Kwic<'a>,
    },
}

impl<'a, W: Write> HitWriter<'a, W> {
    /// A writer for `format`, its header written.
    fn new(
        format: HitFormat,
        opened: &'a Opened,
        cells: crate::render::Cells,
        kwic: Kwic<'a>,
        out: &'a mut W,
    ) -> Result<Self> {
        Ok(match format {
            HitFormat::Csv => {
                let attr_names: Vec<String> = opened
                    .attribute_names()
                    .into_iter()
                    .filter(|a| a != "case")
                    .collect();
                let mut header = vec![
                    "path",
                    "id",
                    "case",
                    "speaker",
                    "unit",
                    "start",
                    "end",
                    "respondent",
                    "text",
                ];
                header.extend(attr_names.iter().map(String::as_str));
                let mut w = Box::new(csv::Writer::from_writer(out));
                w.write_record(header.iter().map(|h| csv_cell(h, cells)))?;
                HitWriter::Csv {
                    w,
                    opened,
                    attr_names,
                    cells,
                }
            }
            HitFormat::Md => {
                writeln!(out, "| case | passage | speaker | text |")?;
                writeln!(out, "| --- | --- | --- | --- |")?;
                HitWriter::Md { out, opened }
            }
            HitFormat::Json => HitWriter::Json { out, opened },
            HitFormat::Kwic => HitWriter::Kwic { out, opened, kwic },
        })
    }

    /// Writes one hit, whose text is `text`.
    fn hit(&mut self, h: &Hit, text: &str) -> Result<()> {
        match self {
            HitWriter::Csv {
                w,
                opened,
                attr_names,
                cells,
            } => {
                let attrs = &opened
                    .manifest()
                    .documents
                    .get(&h.path)
                    .map(|d| d.attributes.clone())
                    .unwrap_or_default();
                let mut rec = vec![
                    h.path.clone(),
                    format!("{}#{}", h.path, h.id),
                    attrs.get("case").cloned().unwrap_or_default(),
                    h.speaker.clone().unwrap_or_default(),
                    h.kind.as_str().to_string(),
                    h.start.to_string(),
                    h.end.to_string(),
                    h.respondent.to_string(),
                    text.to_string(),
                ];
                rec.extend(
                    attr_names
                        .iter()
                        .map(|a| attrs.get(a).cloned().unwrap_or_default()),
                );
                w.write_record(rec.iter().map(|c| csv_cell(c, *cells)))?;
            }
            HitWriter::Md { out, opened } => {
                let case = opened
                    .manifest()
                    .documents
                    .get(&h.path)
                    .map_or("", |d| d.case());
                writeln!(
                    out,
                    "| {} | {}#{} | {} | {} |",
                    md_escape(case),
                    md_escape(&h.path),
                    h.id,
                    md_escape(h.speaker.as_deref().unwrap_or("")),
                    md_escape(text)
                )?;
            }
            HitWriter::Json { out, opened } => {
                serde_json::to_writer(&mut *out, &hit_json(opened, h, text))?;
                writeln!(out)?;
            }
            HitWriter::Kwic { out, opened, kwic } => write_kwic(
                *out,
                opened,
                h,
                text,
                kwic.highlighter,
                kwic.context,
                kwic.color,
            )?,
        }
        Ok(())
    }

    /// Ends the output (a CSV writer's buffer is flushed).
    fn finish(self) -> Result<()> {
        if let HitWriter::Csv { mut w, .. } = self {
            w.flush()?;
        }
        Ok(())
    }
}

fn hit_text(opened: &Opened, bodies: &mut Bodies, h: &Hit) -> String {
    bodies
        .slice(opened, &h.path, h.start, h.end)
        .unwrap_or("")
        .to_string()
}

fn hit_json(opened: &Opened, h: &Hit, text: &str) -> Value {
    let mut m = Map::new();
    let attrs = opened
        .manifest()
        .documents
        .get(&h.path)
        .map(|d| d.attributes.clone())
        .unwrap_or_default();
    // Attributes first, so the fixed keys below always win.
    for (k, v) in &attrs {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    m.insert("path".into(), Value::String(h.path.clone()));
    m.insert("id".into(), Value::String(format!("{}#{}", h.path, h.id)));
    m.insert(
        "case".into(),
        Value::String(attrs.get("case").cloned().unwrap_or_default()),
    );
    m.insert(
        "speaker".into(),
        h.speaker.clone().map_or(Value::Null, Value::String),
    );
    m.insert("unit".into(), Value::String(h.kind.as_str().into()));
    m.insert("start".into(), Value::from(h.start));
    m.insert("end".into(), Value::from(h.end));
    m.insert("respondent".into(), Value::Bool(h.respondent));
    if let Some(ts) = &h.timestamp {
        m.insert("timestamp".into(), Value::String(ts.clone()));
    }
    m.insert("text".into(), Value::String(text.to_string()));
    Value::Object(m)
}

fn write_kwic(
    out: &mut dyn Write,
    opened: &Opened,
    h: &Hit,
    text: &str,
    hl: &Highlighter,
    context: usize,
    color: bool,
) -> std::io::Result<()> {
    let case = opened
        .manifest()
        .documents
        .get(&h.path)
        .map_or("", |d| d.case());
    let (b, r, dim) = if color {
        ("\x1b[1m", "\x1b[0m", "\x1b[35m")
    } else {
        ("", "", "")
    };
    // Names and text from files are shown with control characters as
    // symbols, whether or not stdout is a terminal (`| less -R` passes
    // escape sequences on).
    writeln!(
        out,
        "{dim}{}#{}{r}  {b}{}{r}  {}  [{}-{}]",
        printable(&h.path),
        printable(&h.id),
        printable(case),
        printable(h.speaker.as_deref().unwrap_or("-")),
        h.start,
        h.end
    )?;
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let ranges = hl.ranges(&flat);
    let (from, to) = match ranges.first() {
        Some(&(s, e)) if flat.chars().count() > 2 * context + 40 => {
            let before = flat[..s]
                .chars()
                .rev()
                .take(context)
                .map(char::len_utf8)
                .sum::<usize>();
            let after = flat[e..]
                .chars()
                .take(context)
                .map(char::len_utf8)
                .sum::<usize>();
            (s - before, e + after)
        }
        _ => (0, flat.len()),
    };
    let mut line = String::new();
    if from > 0 {
        line.push('…');
    }
    let mut pos = from;
    for &(s, e) in ranges.iter().filter(|&&(s, e)| s >= from && e <= to) {
        line.push_str(&printable(&flat[pos..s]));
        if color {
            line.push_str("\x1b[1;31m");
            line.push_str(&printable(&flat[s..e]));
            line.push_str("\x1b[0m");
        } else {
            line.push_str(&printable(&flat[s..e]));
        }
        pos = e;
    }
    line.push_str(&printable(&flat[pos..to]));
    if to < flat.len() {
        line.push('…');
    }
    writeln!(out, "    {line}")
}

fn by_table(opened: &Opened, per_path: &BTreeMap<String, usize>, by: &str) -> Result<Table> {
    let name = crate::corpus::frontmatter::normalise_name(by);
    let known = opened.attribute_names();
    if name != "path" && !known.contains(&name) {
        let help = match crate::diag::suggest(&name, known.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "attributes: {}",
                known.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        return Err(
            crate::diag::Diagnostic::error(format!("unknown attribute `{by}`"))
                .with_help(help)
                .into(),
        );
    }
    let mut hits: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (path, d) in &opened.manifest().documents {
        let value = if name == "path" {
            path.clone()
        } else {
            d.attributes
                .get(&name)
                .cloned()
                .unwrap_or_else(|| "(none)".into())
        };
        let e = hits.entry(value).or_default();
        e.2 += 1;
        if let Some(n) = per_path.get(path) {
            e.0 += *n as u64;
            e.1 += 1;
        }
    }
    let mut rows: Vec<Vec<Cell>> = hits
        .iter()
        .map(|(v, (h, d, all))| {
            vec![
                Cell::Text(v.clone()),
                Cell::Count(*h),
                Cell::Count(*d),
                Cell::Count(*all),
            ]
        })
        .collect();
    let total_from = rows.len();
    let (h, d, all) = hits
        .values()
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    rows.push(vec![
        Cell::Text("Total".into()),
        Cell::Count(h),
        Cell::Count(d),
        Cell::Count(all),
    ]);
    Ok(Table {
        title: None,
        columns: vec![
            name,
            "hits".into(),
            "documents with hits".into(),
            "documents".into(),
        ],
        rows,
        total_rows_from: Some(total_from),
        json: None,
    })
}

//! `qualdex run`: index a study and regenerate every table it declares.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::diag::Diagnostic;
use crate::index::{self, IndexOptions};
use crate::render::{Table, TableFormat, write_table};
use crate::study::{Study, TableSpec};
use crate::table;

/// Index a study and regenerate the tables its qualdex.yaml declares, into
/// `out/` (one file per table and format) and, as Markdown, on stdout.
/// With no tables declared, prints the data-collection table.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex run corpus/global-service-networks\n  qualdex run                   the study around the current folder"
)]
pub struct Args {
    /// The study folder (default: --study, or the nearest one above the current folder).
    pub dir: Option<PathBuf>,
}

fn build(study: &Study, spec: &TableSpec, manifest: &index::Manifest) -> Result<Table> {
    let mut t = match spec.kind.as_str() {
        "corpus" => match &spec.by {
            None => table::corpus::summary(manifest),
            Some(a) => table::corpus::by_attribute(manifest, a)?,
        },
        other => {
            return Err(Diagnostic::error(format!(
                "table `{}`: unknown kind `{other}`",
                spec.name
            ))
            .in_file(&study.path(crate::study::STUDY_FILE))
            .with_help("kinds available: corpus")
            .into());
        }
    };
    if let Some(title) = &spec.title {
        t.title = Some(title.clone());
    }
    Ok(t)
}

/// Runs `run`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = match &args.dir {
        Some(d) => Study::locate(Some(d), d)?,
        None => ctx.study()?,
    };
    let report = index::update(
        &study,
        &IndexOptions {
            quiet: ctx.quiet,
            ..Default::default()
        },
    )?;
    ctx.print_report(&report);
    let opened =
        index::open(&study)?.ok_or_else(|| anyhow::anyhow!("the index could not be opened"))?;
    let specs: Vec<TableSpec> = if study.config.tables.is_empty() {
        vec![TableSpec {
            name: "corpus".into(),
            kind: "corpus".into(),
            by: None,
            formats: vec![],
            title: None,
        }]
    } else {
        study.config.tables.clone()
    };
    // Build every table before writing any, so a bad spec writes nothing.
    let mut built = Vec::new();
    for spec in &specs {
        let formats: Vec<TableFormat> = if spec.formats.is_empty() {
            vec![TableFormat::Md]
        } else {
            spec.formats
                .iter()
                .map(|f| {
                    TableFormat::parse(f).ok_or_else(|| {
                        Diagnostic::error(format!("table `{}`: unknown format `{f}`", spec.name))
                            .with_help("formats: md, csv, tsv, json")
                    })
                })
                .collect::<Result<_, _>>()?
        };
        built.push((spec, build(&study, spec, &opened.manifest)?, formats));
    }
    let out_dir = study.out_dir();
    let mut out = super::common::stdout();
    for (i, (spec, table, formats)) in built.iter().enumerate() {
        for f in formats {
            let mut buf = Vec::new();
            write_table(table, *f, &mut buf)?;
            let path = out_dir.join(format!("{}.{}", spec.name, f.extension()));
            crate::fsutil::write_atomic(&path, &buf)?;
        }
        if i > 0 {
            writeln!(out)?;
        }
        write_table(table, TableFormat::Md, &mut out)?;
    }
    out.flush()?;
    ctx.note(format!(
        "wrote {} to {}",
        super::common::count(built.len(), "table"),
        crate::diag::display_path(&out_dir)
    ));
    Ok(ExitCode::SUCCESS)
}

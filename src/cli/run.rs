//! `qualdex run`: index and code a study, then regenerate every table its
//! qualdex.yaml declares into `out/`, printing them as Markdown.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::diag::Diagnostic;
use crate::index;
use crate::refresh::{self, IndexOptions, load_codebook};
use crate::study::{Study, TableSpec};
use crate::table::spec::{self, Output};

/// Index and code a study, then regenerate the tables its qualdex.yaml
/// declares, into `out/` (one file per table and format; the same inputs give
/// byte-identical files) and, as Markdown, on stdout. With no tables
/// declared, prints the data-collection table.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex run corpus/global-service-networks\n  qualdex run                   the study around the current folder\n\nDeclare tables in qualdex.yaml:\n  tables:\n    - name: challenges-by-case-side\n      kind: matrix\n      rows: challenges\n      cols: [case, side]\n      measure: docs\n      formats: [md, csv, tex]"
)]
pub struct Args {
    /// The study folder (default: --study, or the nearest one above the current folder).
    pub dir: Option<PathBuf>,
}

/// Writes one output in one format to `out`.
pub fn write_output(
    output: &Output,
    format: &str,
    cells: crate::render::Cells,
    out: &mut dyn Write,
) -> Result<()> {
    match (output, format) {
        (Output::Graph { dot, .. }, "dot") => out.write_all(dot.as_bytes())?,
        (Output::Graph { mermaid, .. }, "mermaid") => out.write_all(mermaid.as_bytes())?,
        (o, f) => {
            let fmt = crate::render::TableFormat::parse(f).ok_or_else(|| {
                Diagnostic::error(format!("unknown format `{f}`")).with_help(
                    "formats: md, csv, tsv, json, tex, html (structure also: dot, mermaid)",
                )
            })?;
            crate::render::write_table_as(o.table(), fmt, cells, out)?;
        }
    }
    Ok(())
}

/// The file extension of a format.
fn extension(format: &str) -> &str {
    match format {
        "mermaid" => "mmd",
        "markdown" => "md",
        "latex" => "tex",
        f => f,
    }
}

/// The file in `out/` for table `name` in `format`. The study file's table
/// names are checked when it is read; this checks again, so that nothing
/// but a plain file name directly inside `out/` is ever written.
fn out_file(study: &Study, name: &str, format: &str) -> Result<PathBuf> {
    let file = format!("{name}.{}", extension(format));
    if let Err(why) =
        crate::fsutil::check_plain_name(name).and(crate::fsutil::check_plain_name(&file))
    {
        anyhow::bail!(
            Diagnostic::error(format!("table `{name}`: {why}"))
                .in_file(&study.path(crate::study::STUDY_FILE))
                .with_help("a table's name is a plain file name, written to out/")
        );
    }
    let dir = study.out_dir();
    let path = dir.join(&file);
    if path.parent() != Some(dir.as_path()) {
        anyhow::bail!("table `{name}` would be written outside `out/`");
    }
    Ok(path)
}

/// Runs `run`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = match &args.dir {
        Some(d) => Study::locate(Some(d), d)?,
        None => ctx.study()?,
    };
    // `out/` must lead to a folder inside the study, links followed.
    study.check_write_target(&study.out_dir())?;
    let report = refresh::update(
        &study,
        &IndexOptions {
            quiet: ctx.quiet,
            ..Default::default()
        },
        &super::progress::Bar::new(ctx.quiet),
    )?;
    ctx.print_report(&report);
    let opened =
        index::open(&study)?.ok_or_else(|| anyhow::anyhow!("the index could not be opened"))?;
    let cb = load_codebook(&study)?;
    let specs: Vec<TableSpec> = if study.config.tables.is_empty() {
        vec![TableSpec::corpus_summary()]
    } else {
        study.config.tables.clone()
    };
    // Build every table before writing any, so a bad spec writes nothing.
    let study_file = study.path(crate::study::STUDY_FILE);
    let mut built = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        // `source:` naming no coder is an error, not a table of zeros.
        if let Some(s) = &spec.source
            && let Err(e) = super::common::code_source(&study, s)
        {
            return Err(match e.downcast::<Diagnostic>() {
                Ok(mut d) => {
                    d.message = format!("table `{}`: {}", spec.name, d.message);
                    d.in_file(&study.path(crate::study::STUDY_FILE)).into()
                }
                Err(e) => e,
            });
        }
        let output = spec::produce(spec, &opened, &cb).map_err(|mut d| {
            // Read again only to place a problem: the study file is small.
            let study_text = crate::fsutil::read_input_text(&study_file).unwrap_or_default();
            for x in &mut d.0 {
                if x.origin.is_none() && !study.config.tables.is_empty() {
                    // Point at the table the problem is in.
                    if let Some(line) =
                        crate::yaml::item_key_line(&study_text, &["tables"], i, None)
                    {
                        *x = x.clone().at_line(line).with_source_from(&study_text, 1);
                    }
                    x.origin = Some(crate::diag::display_path(&study_file));
                }
                x.message = format!("table `{}`: {}", spec.name, x.message);
            }
            d
        })?;
        let formats = if spec.formats.is_empty() {
            vec!["md".to_string()]
        } else {
            spec.formats.clone()
        };
        let mut files = Vec::new();
        for f in &formats {
            let mut buf = Vec::new();
            write_output(&output, f, ctx.cells(), &mut buf)
                .map_err(|e| anyhow::anyhow!("table `{}`: {e}", spec.name))?;
            files.push((out_file(&study, &spec.name, f)?, buf));
        }
        built.push((output, files));
    }
    // Every file first, then stdout: a reader that stops early
    // (`qualdex run | head`) must not keep the files from being written.
    let mut written = 0;
    for (_, files) in &built {
        for (path, buf) in files {
            crate::fsutil::write_atomic(path, buf)?;
            written += 1;
        }
    }
    let report = if cb.codes.is_empty() {
        None
    } else {
        Some(super::report::write(&study, &opened, &cb, None, None)?)
    };
    let mut out = super::common::stdout();
    for (i, (output, _)) in built.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        crate::render::write_table(output.table(), crate::render::TableFormat::Md, &mut out)?;
    }
    out.flush()?;
    if let Some(report) = report {
        ctx.note(format!(
            "the HTML report is {}",
            crate::diag::display_path(&report)
        ));
    }
    ctx.warn_changed(&opened.changed_texts());
    ctx.note(format!(
        "wrote {} ({}) to {}",
        super::common::count(built.len(), "table"),
        super::common::count(written, "file"),
        crate::diag::display_path(&study.out_dir())
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::study::{Study, parse_config, template};

    #[test]
    fn tables_are_written_only_as_plain_files_in_out() {
        // Checked again here, whatever the study file's checks let through.
        let study = Study {
            root: PathBuf::from("s"),
            config: parse_config(Path::new("q.yaml"), &template("t")).unwrap(),
        };
        assert_eq!(
            super::out_file(&study, "data collection", "csv").unwrap(),
            Path::new("s/out/data collection.csv")
        );
        for (name, format) in [
            ("../../README", "md"),
            ("/etc/x", "md"),
            ("", "md"),
            (".hidden", "md"),
            ("a", "../b"),
            ("a\\b", "md"),
        ] {
            assert!(
                super::out_file(&study, name, format).is_err(),
                "{name} {format}"
            );
        }
    }
}

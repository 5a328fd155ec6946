//! `qualdex text`: print a document's plain text (what offsets refer to).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use crate::corpus;

/// Print a document's plain text: the file itself for .txt/.md (BOM removed),
/// the extracted `Speaker: text` lines for .vtt/.srt/.docx. Every offset that
/// qualdex reports is a character offset into this text. Redirected to a file
/// or pipe it is the exact text; on a terminal each control character is shown
/// as one symbol (`␛`), so offsets still count.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  qualdex text alfa/interview-03.vtt\n  qualdex text alfa/interview-03.vtt --range 120-245   just that passage"
)]
pub struct Args {
    /// The document: relative to the corpus folder (as search hits name it),
    /// or a path from the current folder into the corpus.
    pub path: String,
    /// Print only characters START-END (end exclusive).
    #[arg(long, value_name = "START-END")]
    pub range: Option<String>,
    /// Replace invalid UTF-8 instead of failing.
    #[arg(long)]
    pub lossy: bool,
}

/// Runs `text`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<ExitCode> {
    let study = ctx.study()?;
    let rel = super::docpath::resolve(&study, &args.path)?;
    let doc = super::common::read_doc_with(&study, &rel, args.lossy)?;
    let text = match &args.range {
        None => doc.text.as_str(),
        Some(r) => {
            let parsed = r
                .split_once('-')
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
            let Some((s, e)) = parsed else {
                bail!("`--range {r}`: write START-END in characters, e.g. 120-245");
            };
            corpus::slice_chars(&doc.text, s, e).ok_or_else(|| {
                anyhow::anyhow!(
                    "`--range {r}` is outside the text ({} characters)",
                    doc.text.chars().count()
                )
            })?
        }
    };
    let mut out = super::common::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

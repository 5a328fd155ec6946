//! The coding step of the refresh: a study's codebook and manual codings,
//! applied to one document at a time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::codebook::Codebook;
use crate::coding::manual::{self, Codings, Verdict};
use crate::coding::matcher::RuleHits;
use crate::coding::{CodedPassage, Matcher, Source};
use crate::corpus::{self, Document};
use crate::diag::{Diagnostic, Diagnostics};
use crate::study::Study;

/// The study's codebook (empty when it declares none).
pub fn load_codebook(study: &Study) -> Result<Codebook, Diagnostics> {
    let files: Vec<PathBuf> = study
        .config
        .codebooks
        .iter()
        .map(|c| study.path(c))
        .collect();
    if files.is_empty() {
        return Ok(Codebook::empty());
    }
    Codebook::load(&files, study.config.unit)
}

/// Checks that every manual coding names a code of the codebook.
fn check_manual_codes(cb: &Codebook, codings: &Codings) -> Result<(), Diagnostics> {
    let mut problems = Vec::new();
    for (path, file) in codings.files.values() {
        let codes = file
            .codings
            .iter()
            .map(|m| (&m.code, &m.doc))
            .chain(file.reviews.iter().map(|r| (&r.code, &r.doc)));
        // Read once, and only when a coding needs locating.
        let mut text: Option<String> = None;
        for (code, doc) in codes {
            if cb.code(code).is_none() {
                // Past what is shown, count the problem without the cost of
                // a suggestion and a location.
                if problems.len() >= crate::diag::MAX_SHOWN {
                    problems.push(
                        Diagnostic::error(format!("coding of `{doc}` names unknown code `{code}`"))
                            .in_file(path),
                    );
                    continue;
                }
                let mut d = match cb.resolve(code) {
                    Ok(r) => Diagnostic::error(format!(
                        "coding of `{doc}` names `{code}`; write the full path `{}`",
                        r.path
                    )),
                    Err(e) => {
                        Diagnostic::error(format!("coding of `{doc}` names unknown code `{code}`"))
                            .with_help(e.help.unwrap_or_default())
                    }
                };
                d = d.in_file(path);
                let text = text.get_or_insert_with(|| {
                    crate::fsutil::read_input_text(path).unwrap_or_default()
                });
                if let Some(line) = text
                    .lines()
                    .position(|l| l.contains(&format!("code: {code}")))
                {
                    d = d.at_line(line + 1).with_source_from(text, 1);
                }
                problems.push(d);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(problems))
    }
}

/// Everything needed to code documents while indexing. The rules are
/// compiled only when a document actually needs coding, so commands that
/// find nothing changed stay fast.
pub struct CodingContext {
    /// The codebook.
    pub codebook: Codebook,
    /// Manual codings and reviews.
    pub codings: Codings,
    language: String,
    matcher: std::sync::OnceLock<Matcher>,
}

impl CodingContext {
    /// Loads the codebook and manual codings of a study.
    pub fn load(study: &Study) -> Result<CodingContext, Diagnostics> {
        let codebook = load_codebook(study)?;
        let codings = Codings::load(&study.codings_dir())?;
        check_manual_codes(&codebook, &codings)?;
        Ok(Self::new(codebook, codings, &study.config.language))
    }

    /// A context for a given codebook.
    pub fn new(codebook: Codebook, codings: Codings, language: &str) -> CodingContext {
        CodingContext {
            codebook,
            codings,
            language: language.to_string(),
            matcher: std::sync::OnceLock::new(),
        }
    }

    /// Compiles the rules (once); errors if a regex cannot be compiled.
    pub fn prepare(&self) -> Result<(), Diagnostics> {
        if self.matcher.get().is_none() {
            let m = Matcher::new(&self.codebook, &self.language)?;
            let _ = self.matcher.set(m);
        }
        Ok(())
    }

    fn matcher(&self) -> &Matcher {
        self.matcher
            .get()
            .expect("CodingContext::prepare runs before coding")
    }

    pub(crate) fn fingerprint(&self, path: &str) -> String {
        format!("{}:{}", self.codebook.hash, self.codings.fingerprint(path))
    }

    /// Every coded passage of a document: auto-codings (minus rejected,
    /// marking accepted) and anchored manual codings. Orphans are returned
    /// as warnings.
    pub fn code(
        &self,
        doc: &Document,
        attrs: &BTreeMap<String, String>,
        hits: &mut RuleHits,
    ) -> (Vec<CodedPassage>, Vec<Diagnostic>) {
        let mut warnings = Vec::new();
        let mut passages = self.matcher().code(&self.codebook, doc, attrs, hits);
        let unit_text = |p: &CodedPassage| doc.text[p.byte_start..p.byte_end].to_string();
        let mut extra = Vec::new();
        for (coder, review) in self.codings.reviews_for(&doc.path) {
            let mut matched = false;
            passages.retain_mut(|p| {
                if p.code != review.code || unit_text(p) != review.quote {
                    return true;
                }
                matched = true;
                match review.verdict {
                    Verdict::Reject => false,
                    Verdict::Accept => {
                        p.accepted = true;
                        let mut m = p.clone();
                        m.source = Source::Manual {
                            coder: coder.to_string(),
                        };
                        m.anchor = Some("accepted".into());
                        extra.push(m);
                        true
                    }
                }
            });
            if !matched {
                warnings.push(Diagnostic::warning(format!(
                    "`{}`: {coder}'s review of `{}` no longer matches an auto-coded passage (the text or the rules changed)",
                    doc.path, review.code
                )));
            }
        }
        passages.extend(extra);
        for (coder, m) in self.codings.for_doc(&doc.path) {
            let anchor = manual::anchor(&doc.text, m);
            let Some((start, end)) = anchor.range() else {
                warnings.push(Diagnostic::warning(format!(
                    "`{}`: {coder}'s coding `{}` is orphaned (its quote is no longer in the text); it stays in the file: see `qualdex codings check`",
                    doc.path, m.code
                )));
                continue;
            };
            let Some((bs, be)) = corpus::char_range_to_bytes(&doc.text, start, end) else {
                continue;
            };
            passages.push(CodedPassage {
                code: m.code.clone(),
                source: Source::Manual {
                    coder: coder.to_string(),
                },
                start,
                end,
                byte_start: bs,
                byte_end: be,
                unit: None,
                evidence: Vec::new(),
                memo: m.memo.clone(),
                anchor: Some(anchor.label().to_string()),
                accepted: false,
            });
        }
        passages.sort_by(|a, b| {
            (a.start, a.end, &a.code, &a.source).cmp(&(b.start, b.end, &b.code, &b.source))
        });
        (passages, warnings)
    }
}

//! Document arguments: how `--doc PATH`, `qualdex text PATH`, a review's
//! `PATH#UNIT` and an import's `document` column name a transcript.
//!
//! Every one resolves the same way: relative to the current folder if that
//! lands inside the corpus folder (what tab completion gives, from anywhere
//! in the study), else relative to the corpus folder (what search results
//! show); an absolute path must lie inside the corpus. When both readings
//! land inside the corpus, the one naming an existing file wins. The result
//! is the form stored in codings files and shown everywhere: relative to the
//! corpus folder, with `/` separators and no `.` or `..`. Anything outside
//! the corpus is refused, naming the corpus folder.

use std::path::{Component, Path, PathBuf};

use anyhow::Result;

use crate::diag::{Diagnostic, display_path};
use crate::study::Study;

/// Resolves a document argument given in the current folder.
pub fn resolve(study: &Study, arg: &str) -> Result<String> {
    let cwd = std::env::current_dir()?;
    Ok(resolve_from(&study.corpus_dir(), &cwd, arg)?)
}

/// Resolves `arg` as given in folder `cwd` (absolute), for the corpus folder
/// `corpus` (absolute, or relative to `cwd`).
pub fn resolve_from(corpus: &Path, cwd: &Path, arg: &str) -> Result<String, Diagnostic> {
    let shown: String = arg.chars().filter(|c| !c.is_control()).take(200).collect();
    if arg.trim().is_empty() {
        return Err(Diagnostic::error("the document path is empty").with_help(HELP));
    }
    let corpus_abs = clean(&cwd.join(corpus));
    let given = PathBuf::from(arg.replace('\\', "/"));
    let candidates: Vec<PathBuf> = if given.is_absolute() || given.has_root() {
        vec![clean(&given)]
    } else {
        vec![clean(&cwd.join(&given)), clean(&corpus_abs.join(&given))]
    };
    let inside: Vec<String> = candidates
        .iter()
        .filter_map(|c| inside_corpus(c, &corpus_abs))
        .collect();
    let rel = inside
        .iter()
        .find(|rel| corpus_abs.join(rel).is_file())
        .or_else(|| inside.first())
        .cloned()
        .ok_or_else(|| {
            Diagnostic::error(format!(
                "`{shown}` is outside the corpus folder `{}`",
                display_path(corpus)
            ))
            .with_help(HELP)
        })?;
    let rel = spelled_as_on_disk(&corpus_abs, &rel).unwrap_or(rel);
    // The corpus listing never follows a link, so a document reached
    // through one is not in the index: coding it would make a coding no
    // table shows, and reading it could read a file outside the corpus.
    let mut at = corpus_abs.clone();
    for part in rel.split('/') {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            let link = at
                .strip_prefix(&corpus_abs)
                .map_or_else(|_| at.clone(), Path::to_path_buf);
            let what = if link == Path::new(&rel) {
                "is a symbolic link".to_string()
            } else {
                format!(
                    "is reached through the symbolic link `{}`",
                    display_path(&link)
                )
            };
            return Err(Diagnostic::error(format!(
                "`{shown}` {what}, and qualdex does not follow links in the corpus"
            ))
            .with_help(
                "replace the link with the file itself (a copy), then run `qualdex index`",
            ));
        }
    }
    Ok(rel)
}

/// `rel` as the corpus folder spells it, when it names no file as given but
/// one whose name differs only in how its accents are encoded (a name typed
/// on macOS, which decomposes them, for a file written on Linux, or the
/// reverse): the index knows a file by its name on disk.
fn spelled_as_on_disk(corpus: &Path, rel: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    if corpus.join(rel).exists() {
        return None;
    }
    let mut at = corpus.to_path_buf();
    let mut parts = Vec::new();
    for part in rel.split('/') {
        let name = if std::fs::symlink_metadata(at.join(part)).is_ok() {
            part.to_string()
        } else {
            let want: String = part.nfc().collect();
            let mut found = std::fs::read_dir(&at).ok()?.filter_map(|e| {
                let n = e.ok()?.file_name().into_string().ok()?;
                (n.nfc().eq(want.chars())).then_some(n)
            });
            let first = found.next()?;
            if found.next().is_some() {
                return None;
            }
            first
        };
        at.push(&name);
        parts.push(name);
    }
    Some(parts.join("/"))
}

const HELP: &str = "name a transcript in the corpus folder: relative to it, as search results \
                    show it (e.g. `alfa/rd-01.md`), or as a path from the current folder";

/// True when a stored document path is in normal form: relative to the
/// corpus, `/` separators, no empty, `.` or `..` segment, no drive or root.
pub fn is_normal(doc: &str) -> bool {
    !doc.is_empty()
        && !doc.contains('\\')
        && !doc
            .split('/')
            .next()
            .is_some_and(|s| s.len() == 2 && s.ends_with(':'))
        && doc
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// `path` relative to `corpus` in normal form, if it lies inside it: first
/// by its words, then (for a study reached through a symbolic link) by
/// where the folders really are.
fn inside_corpus(path: &Path, corpus: &Path) -> Option<String> {
    if let Some(rel) = path.strip_prefix(corpus).ok().and_then(normal_form) {
        return Some(rel);
    }
    let real_corpus = corpus.canonicalize().ok()?;
    let real = crate::fsutil::resolve_existing(path)?;
    real.strip_prefix(&real_corpus).ok().and_then(normal_form)
}

fn normal_form(rel: &Path) -> Option<String> {
    let parts: Vec<&str> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Removes `.` and resolves `..` by the words of an absolute path.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_document_resolves_to_one_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("corpus/alfa")).unwrap();
        std::fs::write(root.join("corpus/alfa/x.txt"), "x").unwrap();
        std::fs::write(root.join("corpus/top.txt"), "x").unwrap();
        let corpus = root.join("corpus");
        let at = |cwd: &Path, arg: &str| resolve_from(&corpus, cwd, arg);
        for arg in [
            "alfa/x.txt",
            "./alfa/x.txt",
            "corpus/alfa/x.txt",
            "./corpus/alfa/x.txt",
            "corpus\\alfa\\x.txt",
            "alfa//x.txt",
            "corpus/beta/../alfa/x.txt",
        ] {
            assert_eq!(at(&root, arg).unwrap(), "alfa/x.txt", "{arg}");
        }
        let abs = root.join("corpus/alfa/x.txt");
        assert_eq!(at(&root, abs.to_str().unwrap()).unwrap(), "alfa/x.txt");
        // From inside the corpus: relative to here, else to the corpus.
        let alfa = root.join("corpus/alfa");
        assert_eq!(at(&alfa, "x.txt").unwrap(), "alfa/x.txt");
        assert_eq!(at(&alfa, "alfa/x.txt").unwrap(), "alfa/x.txt");
        assert_eq!(at(&alfa, "../top.txt").unwrap(), "top.txt");
        assert_eq!(at(&root.join("corpus"), "top.txt").unwrap(), "top.txt");
        // A missing file still resolves (for a filter, or a clear "not in
        // the corpus" later).
        assert_eq!(at(&root, "corpus/gone.txt").unwrap(), "gone.txt");
        assert_eq!(at(&root, "gone.txt").unwrap(), "gone.txt");
        // Outside: refused, naming the corpus folder.
        for (cwd, arg) in [
            (&corpus, "../outside.txt"),
            (&root, "../outside.txt"),
            (&root, "corpus/../../x.txt"),
            (&alfa, "../../outside.txt"),
            (&root, "/etc/passwd"),
        ] {
            let e = at(cwd, arg).unwrap_err();
            assert!(
                e.message.contains("is outside the corpus folder `")
                    && e.message.contains("corpus`"),
                "{arg}: {}",
                e.message
            );
        }
        assert!(at(&root, " ").unwrap_err().message.contains("empty"));
    }

    #[test]
    fn a_path_typed_with_accents_encoded_otherwise_resolves_to_the_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (nfc, nfd) = ("Z\u{fc}rich/Caf\u{e9}.txt", "Zu\u{308}rich/Cafe\u{301}.txt");
        std::fs::create_dir_all(root.join("corpus/Z\u{fc}rich")).unwrap();
        std::fs::write(root.join("corpus").join(nfc), "x").unwrap();
        std::fs::create_dir_all(root.join("corpus/Mu\u{308}nchen")).unwrap();
        std::fs::write(root.join("corpus/Mu\u{308}nchen/a.txt"), "x").unwrap();
        let corpus = root.join("corpus");
        let at = |arg: &str| resolve_from(&corpus, &root, arg).unwrap();
        if std::fs::metadata(corpus.join(nfd)).is_ok() {
            // A file system that ignores the encoding (macOS): both name it.
            return;
        }
        assert_eq!(at(nfd), nfc);
        assert_eq!(at(&format!("corpus/{nfd}")), nfc);
        assert_eq!(at(nfc), nfc);
        // The reverse: the file's name decomposed, the argument composed.
        assert_eq!(at("M\u{fc}nchen/a.txt"), "Mu\u{308}nchen/a.txt");
        // No such file in any encoding: as given.
        assert_eq!(at("Z\u{fc}rich/gone.txt"), "Z\u{fc}rich/gone.txt");
    }

    #[test]
    fn normal_form_is_what_codings_store() {
        for ok in ["x.txt", "alfa/x.txt", "a b/ü.md"] {
            assert!(is_normal(ok), "{ok}");
        }
        for bad in [
            "", "./x.txt", "/x.txt", "a//x.txt", "a\\x.txt", "../x.txt", "a/./x", "C:/x", "a/",
        ] {
            assert!(!is_normal(bad), "{bad}");
        }
    }
}

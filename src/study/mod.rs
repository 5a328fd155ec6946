//! The study folder and its `qualdex.yaml`.
//!
//! A study is a folder holding `qualdex.yaml`, which names the corpus folder,
//! the codebook files, the index folder (a rebuildable cache) and the speaker
//! conventions. This module finds a study (walking up from a folder), parses
//! and validates the file, and scaffolds new studies. It never touches the
//! transcripts or the index.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, suggest};
use crate::fsutil;

pub mod tables;

pub use tables::{
    CooccurCells, FrameworkCells, Measure, TABLE_KEYS, TableKind, TableSettings, TableSpec,
};

/// The study file's name.
pub const STUDY_FILE: &str = "qualdex.yaml";

/// Coding and search units, from smallest to largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// A sentence inside a paragraph.
    Sentence,
    /// A block of text separated by blank lines (or one cue / docx paragraph).
    Paragraph,
    /// Everything one speaker says before another speaker starts.
    Turn,
    /// The whole document body.
    Document,
}

impl UnitKind {
    /// All kinds, smallest first.
    pub const ALL: [UnitKind; 4] = [
        UnitKind::Sentence,
        UnitKind::Paragraph,
        UnitKind::Turn,
        UnitKind::Document,
    ];

    /// The lowercase name used in files, queries and output.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Sentence => "sentence",
            UnitKind::Paragraph => "paragraph",
            UnitKind::Turn => "turn",
            UnitKind::Document => "document",
        }
    }

    /// The one-letter prefix of unit ids (`#p12`).
    pub fn id_prefix(self) -> char {
        match self {
            UnitKind::Sentence => 's',
            UnitKind::Paragraph => 'p',
            UnitKind::Turn => 't',
            UnitKind::Document => 'd',
        }
    }

    /// Parses a name as written by a user.
    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Speaker conventions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Speakers {
    /// Labels used for the interviewer(s); their words are not respondents' words.
    pub interviewers: Vec<String>,
    /// An extra regular expression recognising a turn's start. It must have a
    /// named group `speaker`; the turn's text starts where the match ends.
    pub pattern: Option<String>,
}

impl Default for Speakers {
    fn default() -> Self {
        Speakers {
            interviewers: ["Interviewer", "I", "Q", "Moderator", "Int"]
                .map(String::from)
                .to_vec(),
            pattern: None,
        }
    }
}

/// What `qualdex report` (and `qualdex run`) put in the HTML report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// Passages listed under each heatmap cell, at most (0: all). The
    /// count is always shown, with the command that lists every passage.
    pub passages_per_cell: usize,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            passages_per_cell: 20,
        }
    }
}

/// One string or a list of strings, as users write either in YAML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum: a wrong type (`examples:
        // 5`, a mapping) is then reported at the value, saying what was
        // found, not as "did not match any variant" at the enclosing key.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text or a list of texts")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of names, also accepted as one comma-separated string (`case, side`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let OneOrMany(v) = OneOrMany::deserialize(d)?;
    Ok(match v.as_slice() {
        [one] => one
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => v,
    })
}

/// What a path from the study file names, for its checks and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    TableName,
    Corpus,
    Index,
    Codebook,
}

impl Setting {
    /// Checks a value; the error is the diagnostic's message.
    fn check(self, v: &str) -> Result<(), String> {
        if self == Setting::TableName {
            return fsutil::check_plain_name(v).map_err(|why| format!("invalid table name: {why}"));
        }
        let what = match self {
            Setting::Corpus => "the corpus folder",
            Setting::Index => "the index folder",
            _ => "the codebook path",
        };
        let p = Path::new(v);
        if p.has_root() || p.is_absolute() || v.get(1..2) == Some(":") {
            return Err(format!("{what} `{v}` is an absolute path"));
        }
        // The corpus and codebooks are only ever read, so they may sit beside
        // the study (a lab's shared codebook, the demo studies' `codebooks/`
        // at the repository's root); what qualdex writes and deletes in, the
        // index, must stay below the study folder.
        if self == Setting::Codebook {
            // Only a YAML file is a codebook: a path to some other file
            // (`../../etc/shadow`) must not be read and shown as one.
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("yaml" | "yml")) {
                return Err(format!(
                    "the codebook path `{v}` does not end in `.yaml` or `.yml`"
                ));
            }
            return Ok(());
        }
        if self == Setting::Corpus {
            return Ok(());
        }
        let as_written = v.replace('\\', "/");
        if !fsutil::is_contained_relative(Path::new(&as_written)) {
            return Err(format!("{what} `{v}` leads outside the study folder"));
        }
        if self == Setting::Index
            && !p
                .components()
                .any(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!("{what} `{v}` is the study folder itself"));
        }
        Ok(())
    }
}

/// A string checked by a [`Setting`] while it is parsed, so that the error
/// points at the value in the file.
struct Checked(Setting);

impl serde::de::Visitor<'_> for Checked {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self.0 {
            Setting::TableName => "a table name",
            Setting::Codebook => "a codebook path",
            _ => "a folder path",
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        self.0.check(v).map_err(E::custom)?;
        Ok(v.to_string())
    }
}

fn checked<'de, D: serde::Deserializer<'de>>(d: D, s: Setting) -> Result<String, D::Error> {
    d.deserialize_str(Checked(s))
}

fn table_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, Setting::TableName)
}

fn corpus_folder<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, Setting::Corpus)
}

fn index_folder<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, Setting::Index)
}

fn codebook_files<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct One(String);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            checked(d, Setting::Codebook).map(One)
        }
    }
    Ok(Vec::<One>::deserialize(d)?
        .into_iter()
        .map(|o| o.0)
        .collect())
}

/// How to fix a path the checks above refused, by its message.
fn path_help(message: &str) -> Option<&'static str> {
    if message.contains("invalid table name") {
        Some(
            "a table's name becomes its file name in out/: use letters, digits, spaces, `-` or `_`",
        )
    } else if message.contains("the corpus folder `") {
        Some(
            "give the folder relative to qualdex.yaml (`../shared/transcripts` is fine), so the study works on every machine",
        )
    } else if message.contains("the index folder `") {
        Some(
            "give a folder below the study folder, such as `.qualdex`: qualdex writes and deletes only there",
        )
    } else if message.contains("the codebook path `") {
        Some(
            "give a YAML file relative to qualdex.yaml (`../codebooks/lab.yaml` is fine), so the study works on every machine",
        )
    } else {
        None
    }
}

/// The parsed `qualdex.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// The study's title.
    #[serde(default)]
    pub title: Option<String>,
    /// Folder holding the transcripts, relative to the study folder (read
    /// only, so it may lie beside the study; never absolute).
    #[serde(default = "default_corpus", deserialize_with = "corpus_folder")]
    pub corpus: String,
    /// Codebook files, relative to the study folder (read only; never absolute).
    #[serde(default, deserialize_with = "codebook_files")]
    pub codebooks: Vec<String>,
    /// Folder for the index (a cache: deleting it loses nothing), a folder
    /// below the study folder.
    #[serde(default = "default_index", deserialize_with = "index_folder")]
    pub index: String,
    /// Default coding unit.
    #[serde(default = "default_unit")]
    pub unit: UnitKind,
    /// Stemming language for search (`english`, `german`, `swedish`, ... or `none`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Speaker conventions.
    #[serde(default)]
    pub speakers: Speakers,
    /// What the HTML report shows.
    #[serde(default)]
    pub report: ReportSettings,
    /// Named tables for `qualdex run`, as written.
    #[serde(default, rename = "tables")]
    pub table_settings: Vec<TableSettings>,
    /// The same tables, checked (by [`parse_config`]; empty when any has a
    /// problem, which is then an error).
    #[serde(skip)]
    pub tables: Vec<TableSpec>,
}

fn default_corpus() -> String {
    "corpus".into()
}
fn default_index() -> String {
    ".qualdex".into()
}
fn default_unit() -> UnitKind {
    UnitKind::Paragraph
}
fn default_language() -> String {
    "english".into()
}

/// Languages tantivy can stem.
pub const LANGUAGES: &[&str] = &[
    "none",
    "arabic",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
];

/// A located, validated study.
#[derive(Debug, Clone)]
pub struct Study {
    /// The folder holding `qualdex.yaml`.
    pub root: PathBuf,
    /// The parsed study file.
    pub config: StudyConfig,
}

impl Study {
    /// Finds the study: `explicit` (a folder or a `qualdex.yaml`) if given,
    /// otherwise the nearest folder at or above `start` holding `qualdex.yaml`.
    pub fn locate(explicit: Option<&Path>, start: &Path) -> Result<Study, Diagnostics> {
        let file = match explicit {
            Some(p) => {
                let file = if p.is_dir() {
                    p.join(STUDY_FILE)
                } else {
                    p.to_path_buf()
                };
                // Anything there is read (a FIFO or device is then refused
                // by name); only a missing file is "no study file".
                if std::fs::metadata(&file).is_err() {
                    return Err(Diagnostic::error(format!(
                        "no study file at `{}`",
                        crate::diag::display_path(&file)
                    ))
                    .with_help("create one with `qualdex init DIR`, or point --study at a folder holding qualdex.yaml")
                    .into());
                }
                file
            }
            None => find_upwards(start).ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error("no qualdex.yaml in this folder or any folder above it")
                        .with_help("run `qualdex init` to make a study here, or pass --study PATH"),
                )
            })?,
        };
        // Show paths relative to where the user stands, never absolute ones.
        let file = crate::diag::relative_from(&file, start);
        let root = file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        let text = fsutil::read_input_text(&file).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error(format!("cannot read the study file: {e}")).in_file(&file),
            )
        })?;
        let config = parse_config(&file, &text)?;
        let study = Study { root, config };
        // Every command may refresh the index, and the coding commands
        // write codings: both folders must lead inside the study.
        study.check_write_target(&study.index_dir())?;
        study.check_write_target(&study.codings_dir())?;
        study.check_overlaps(&file)?;
        Ok(study)
    }

    /// Checks, where the folders really are (links followed), what
    /// `qualdex.yaml` checks by the words of its paths: the index folder,
    /// where qualdex deletes old generations, is not and does not hold the
    /// corpus, the codings, `out/`, a codebook or the study file; `out/`,
    /// where tables are written, is not and does not lie inside the corpus
    /// or the codings folder. A study whose `idx` or `out` is a link to its
    /// corpus, or whose corpus reaches itself through `..`, is refused here
    /// before anything is written.
    fn check_overlaps(&self, study_file: &Path) -> Result<(), Diagnostics> {
        let real = |p: &Path| {
            fsutil::resolve_existing(p).map(|r| PathBuf::from(r.to_string_lossy().to_lowercase()))
        };
        let (Some(index), Some(out)) = (real(&self.index_dir()), real(&self.out_dir())) else {
            return Ok(());
        };
        let mut read: Vec<(String, PathBuf)> = Vec::new();
        let mut add = |what: String, p: &Path| {
            if let Some(r) = real(p) {
                read.push((what, r));
            }
        };
        add(
            format!("the corpus folder `{}`", self.config.corpus),
            &self.corpus_dir(),
        );
        add("the codings folder `codings`".into(), &self.codings_dir());
        add("the study file".into(), study_file);
        for cb in &self.config.codebooks {
            add(format!("the codebook `{cb}`"), &self.path(cb));
        }
        let refuse = |message: String, help: &str| -> Result<(), Diagnostics> {
            Err(Diagnostic::error(message)
                .in_file(study_file)
                .with_help(help.to_string())
                .into())
        };
        let index_help = "give the index a folder of its own, such as `.qualdex` (and not a link): \
                          qualdex deletes old index files in it";
        if out.starts_with(&index) {
            return refuse(
                format!(
                    "the index folder `{}` holds the output folder `out` where the folders really are (links and `..` resolved)",
                    self.config.index
                ),
                index_help,
            );
        }
        for (what, at) in &read {
            if at.starts_with(&index) {
                return refuse(
                    format!(
                        "the index folder `{}` is or holds {what} where the folders really are (links and `..` resolved)",
                        self.config.index
                    ),
                    index_help,
                );
            }
            let writable = what.starts_with("the corpus") || what.starts_with("the codings");
            if writable && out.starts_with(at) {
                return refuse(
                    format!(
                        "the output folder `out` is or lies inside {what} where the folders really are (links and `..` resolved)"
                    ),
                    "make `out` a folder of its own (not a link): qualdex writes tables there, and \
                     would overwrite or add to the files it reads",
                );
            }
        }
        Ok(())
    }

    /// Checks that `path`, a folder or file inside the study that qualdex is
    /// about to write or delete in, resolves inside the study folder when
    /// links are followed: a `out` or `.qualdex` that a study repository
    /// ships as a link to `../../somewhere` is refused, and nothing is
    /// written there. Parts that do not exist yet are made as real folders,
    /// so only the existing ones are resolved; a path without links costs a
    /// `stat` per part.
    pub fn check_write_target(&self, path: &Path) -> Result<(), Diagnostics> {
        let rel = if self.root == Path::new(".") {
            path
        } else {
            path.strip_prefix(&self.root).unwrap_or(path)
        };
        let mut at = self.root.clone();
        let mut linked = false;
        for c in rel.components() {
            at.push(c);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    linked = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if !linked && fsutil::is_contained_relative(rel) {
            return self.check_folders_on_the_way(rel);
        }
        let inside = match (
            std::fs::canonicalize(&self.root),
            std::fs::canonicalize(&at),
        ) {
            (Ok(root), Ok(target)) => target.starts_with(&root) && target != root,
            _ => false,
        };
        if inside {
            return self.check_folders_on_the_way(rel);
        }
        Err(Diagnostic::error(format!(
            "`{}` leads outside the study folder, so qualdex will not write there",
            crate::diag::display_path(&at)
        ))
        .with_help("replace the link with a folder inside the study (qualdex writes and deletes only inside the study folder)")
        .into())
    }

    /// Every part of a folder qualdex writes in (`.qualdex`, `codings`,
    /// `out`) that is already there is a folder: a file of that name (a
    /// `.qualdex` left by another tool, a `codings` file) is a clear error
    /// naming it, instead of "Not a directory" from deep inside a write.
    fn check_folders_on_the_way(&self, rel: &Path) -> Result<(), Diagnostics> {
        let mut at = self.root.clone();
        for c in rel.components() {
            at.push(c);
            match std::fs::metadata(&at) {
                Ok(m) if !m.is_dir() => {
                    let shown = self.path(at.strip_prefix(&self.root).unwrap_or(&at));
                    return Err(Diagnostic::error(format!(
                        "`{}` is a file, but qualdex keeps a folder there",
                        crate::diag::display_path(&shown)
                    ))
                    .in_file(&shown)
                    .with_help(
                        "move or rename the file, then run the command again (the index folder, `.qualdex`, is a cache qualdex rebuilds; `codings` holds the manual codings; `out` the tables)",
                    )
                    .into());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// A path inside the study folder, without a leading `./`.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        if self.root == Path::new(".") {
            rel.as_ref().to_path_buf()
        } else {
            self.root.join(rel)
        }
    }

    /// The corpus folder.
    pub fn corpus_dir(&self) -> PathBuf {
        self.path(&self.config.corpus)
    }

    /// The index folder.
    pub fn index_dir(&self) -> PathBuf {
        self.path(&self.config.index)
    }

    /// The manual codings folder.
    pub fn codings_dir(&self) -> PathBuf {
        self.path("codings")
    }

    /// Where `qualdex run` writes tables.
    pub fn out_dir(&self) -> PathBuf {
        self.path("out")
    }

    /// Checks that the corpus folder exists.
    pub fn require_corpus(&self) -> Result<PathBuf, Diagnostics> {
        let dir = self.corpus_dir();
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Diagnostic::error(format!(
                "the corpus folder `{}` does not exist",
                crate::diag::display_path(&dir)
            ))
            .in_file(&self.path(STUDY_FILE))
            .with_help("create it and put transcripts in it, or fix `corpus:` in qualdex.yaml")
            .into())
        }
    }
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(STUDY_FILE);
        // Not only regular files: a FIFO named qualdex.yaml is this study's
        // file (refused when read), not a reason to look further up.
        if std::fs::metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

const KNOWN_KEYS: &[&str] = &[
    "title",
    "corpus",
    "codebooks",
    "index",
    "unit",
    "language",
    "speakers",
    "report",
    "tables",
];

/// Parses and validates a study file's text.
pub fn parse_config(path: &Path, text: &str) -> Result<StudyConfig, Diagnostics> {
    crate::yaml::check_nesting(path, text, 0)?;
    let mut config: StudyConfig = serde_yaml_ng::from_str(text).map_err(|e| {
        let first = crate::yaml::yaml_error(path, text, &e, KNOWN_KEYS).0;
        let mut d = structure_problems(path, text, first);
        for x in &mut d {
            if x.help.is_none()
                && let Some(h) = path_help(&x.message)
            {
                x.help = Some(h.into());
                // Underline the whole value, not its first character.
                if let (Some(src), Some(col)) = (&x.source_line, x.column) {
                    x.span_len = value_len(src, col);
                }
            }
        }
        Diagnostics(d)
    })?;
    let mut problems = Vec::new();
    check_outputs(path, text, &config, &mut problems);
    config.tables = check_tables(path, text, &config.table_settings, &mut problems);
    if !LANGUAGES.contains(&config.language.as_str()) {
        let mut d =
            Diagnostic::error(format!("unknown language `{}`", config.language)).in_file(path);
        if let Some(line) = crate::yaml::locate(text, &["language"]) {
            d = d.at_line(line).with_source_from(text, 1);
        }
        let help = match suggest(&config.language, LANGUAGES.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? known: {}", LANGUAGES.join(", ")),
            None => format!("known: {}", LANGUAGES.join(", ")),
        };
        problems.push(d.with_help(help));
    }
    if let Some(p) = &config.speakers.pattern {
        match regex::Regex::new(p) {
            Ok(re) if re.capture_names().flatten().any(|n| n == "speaker") => {}
            Ok(_) => problems.push(
                located(
                    path,
                    text,
                    &["speakers", "pattern"],
                    "the speaker pattern has no `speaker` group",
                )
                .with_help("name the group holding the speaker's label: (?P<speaker>...)"),
            ),
            Err(e) => problems.push(
                located(
                    path,
                    text,
                    &["speakers", "pattern"],
                    "the speaker pattern is not a valid regular expression",
                )
                .with_help(
                    e.to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                ),
            ),
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Diagnostics(problems))
    }
}

/// Checks every table's settings against its kind, each problem placed at
/// its key in its table (or at the table when the key is not written).
fn check_tables(
    path: &Path,
    text: &str,
    settings: &[TableSettings],
    problems: &mut Vec<Diagnostic>,
) -> Vec<TableSpec> {
    let mut specs = Vec::new();
    for (i, t) in settings.iter().enumerate() {
        match t.check() {
            Ok(spec) => specs.push(spec),
            Err(found) => {
                let start = problems.len();
                for p in found {
                    let mut d = p.diagnostic.in_file(path);
                    d.message = format!("{}: {}", table_label(t, i), d.message);
                    if let Some(line) = crate::yaml::item_key_line(text, &["tables"], i, p.key) {
                        d = d.at_line(line).with_source_from(text, 1);
                    }
                    problems.push(d);
                }
                // In the order of their lines.
                problems[start..].sort_by_key(|d| d.line);
            }
        }
    }
    specs
}

/// How a message names a table: by its name, or by its place in the list.
fn table_label(t: &TableSettings, i: usize) -> String {
    if t.name.is_empty() {
        format!("table {}", i + 1)
    } else {
        format!("table `{}`", t.name)
    }
}

/// Checks what the settings write: no two tables may write one file of
/// `out/` (names compared ignoring letter case, as some file systems do,
/// and the HTML report's file counts), and the index folder, which qualdex
/// writes and deletes in, must not be or hold the corpus, the codings,
/// `out/` or a codebook.
fn check_outputs(path: &Path, text: &str, config: &StudyConfig, problems: &mut Vec<Diagnostic>) {
    let mut files: Vec<String> = vec!["report.html".into()];
    for (i, t) in config.table_settings.iter().enumerate() {
        // A given name was checked while parsing; a missing one is empty.
        if t.name.is_empty() {
            let mut d = Diagnostic::error(format!("table {} has no `name`", i + 1))
                .in_file(path)
                .with_help(
                    "add `name: NAME`: the table is written to out/NAME.md (and other formats)",
                );
            if let Some(line) = text.lines().position(|l| l.starts_with("tables:")) {
                d = d.at_line(line + 1).with_source_from(text, 1);
            }
            problems.push(d);
            continue;
        }
        let formats: Vec<&str> = if t.formats.is_empty() {
            vec!["md"]
        } else {
            t.formats.iter().map(String::as_str).collect()
        };
        for f in formats {
            let ext = match f {
                "markdown" => "md",
                "latex" => "tex",
                "mermaid" => "mmd",
                f => f,
            };
            let file = format!("{}.{ext}", t.name).to_lowercase();
            if files.contains(&file) {
                let mut d = Diagnostic::error(format!(
                    "table `{}` would write `out/{}.{ext}`, which another table or the HTML report writes",
                    t.name, t.name
                ))
                .in_file(path)
                .with_help("give every table its own name (letter case does not count)");
                if let Some((line, col, len)) = nth_table_name(text, i) {
                    d = d.at(line, col).with_source_from(text, len);
                }
                problems.push(d);
                break;
            }
            files.push(file);
        }
    }
    // A path's folders below the study, `..` taken back lexically; a path
    // that climbs out of the study (a corpus or codebook beside it) has none
    // and cannot overlap the index, which is below it.
    let parts = |p: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in Path::new(&p.replace('\\', "/")).components() {
            match c {
                std::path::Component::Normal(n) => out.push(n.to_string_lossy().to_lowercase()),
                std::path::Component::ParentDir if out.pop().is_none() => {
                    return vec!["..".into()];
                }
                _ => {}
            }
        }
        out
    };
    let index = parts(&config.index);
    // The index may lie inside another folder (a hidden one is not read as
    // transcripts), but must not be it or hold it.
    let nested = |index: &[String], other: &[String]| other.starts_with(index);
    let mut clash = |what: String| {
        let mut d = Diagnostic::error(format!(
            "the index folder `{}` overlaps {what}",
            config.index
        ))
        .in_file(path)
        .with_help("give the index a folder of its own, such as `.qualdex`: qualdex deletes old index files in it");
        if let Some((line, col, len)) = top_level_value(text, "index") {
            d = d.at(line, col).with_source_from(text, len);
        }
        problems.push(d);
    };
    let corpus = parts(&config.corpus);
    if nested(&index, &corpus) {
        clash(format!("the corpus folder `{}`", config.corpus));
    } else if nested(&index, &["codings".to_string()]) {
        clash("the codings folder `codings`".into());
    } else if nested(&index, &["out".to_string()]) {
        clash("the output folder `out`".into());
    } else if let Some(cb) = config
        .codebooks
        .iter()
        .find(|c| parts(c).starts_with(&index))
    {
        clash(format!("the codebook `{cb}`"));
    }
}

/// The length in characters of the YAML scalar starting at column `col`
/// (from 1) of `line`: a quoted string with its quotes, or a plain one up to
/// a flow separator or comment.
fn value_len(line: &str, col: usize) -> usize {
    let rest: String = line.chars().skip(col.saturating_sub(1)).collect();
    let len = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map_or(rest.len(), |i| i + 2),
        _ => rest
            .find([',', ']', '}'])
            .or_else(|| rest.find(" #"))
            .unwrap_or(rest.len()),
    };
    rest[..len].trim_end().chars().count().max(1)
}

/// Line, column and length of a top-level key's value (`key: value`).
fn top_level_value(text: &str, key: &str) -> Option<(usize, usize, usize)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let value = rest.trim_start();
        let col = l.len() - value.len();
        let shown = value.split(" #").next().unwrap_or("").trim_end();
        Some((
            i + 1,
            l[..col].chars().count() + 1,
            shown.chars().count().max(1),
        ))
    })
}

/// Line, column and length of the name of table `n` (from 0), found as the
/// `n`-th `name:` key after the top-level `tables:` line.
fn nth_table_name(text: &str, n: usize) -> Option<(usize, usize, usize)> {
    let start = text.lines().position(|l| l.starts_with("tables:"))?;
    let mut seen = 0;
    for (i, l) in text.lines().enumerate().skip(start) {
        let mut from = 0;
        while let Some(at) = l[from..].find("name:").map(|a| a + from) {
            from = at + 5;
            let before = l[..at].chars().next_back();
            if !before.is_none_or(|c| c.is_whitespace() || matches!(c, '-' | '{' | ',')) {
                continue;
            }
            if seen == n {
                let value = l[from..].trim_start();
                let col = l.len() - value.len();
                let len = value
                    .split([',', '}', '#'])
                    .next()
                    .unwrap_or("")
                    .trim_end()
                    .chars()
                    .count();
                return Some((i + 1, l[..col].chars().count() + 1, len.max(1)));
            }
            seen += 1;
        }
    }
    None
}

/// Keys of `speakers:` and `report:`, suggested for a misspelt one.
const SPEAKER_KEYS: &[&str] = &["interviewers", "pattern"];
const REPORT_KEYS: &[&str] = &["passages_per_cell"];

/// Every structure problem of a study file the parser refused with
/// `first`: each setting, speaker setting and table is checked on its own
/// (see [`crate::yaml::Problems`]).
fn structure_problems(path: &Path, text: &str, first: Vec<Diagnostic>) -> Vec<Diagnostic> {
    use serde_yaml_ng::Value;
    let Some(top) = crate::yaml::Problems::top(text) else {
        return first;
    };
    let mut p = crate::yaml::Problems::new(path, text);
    for (k, v) in &top {
        let Some(k) = k.as_str() else { continue };
        let keys = vec![k.to_string()];
        match (k, v) {
            ("speakers", Value::Mapping(m)) => {
                for (sk, sv) in m {
                    if let Some(sk) = sk.as_str() {
                        p.check_entry::<Speakers>(&keys, sk, sv, SPEAKER_KEYS);
                    }
                }
            }
            ("report", Value::Mapping(m)) => {
                for (rk, rv) in m {
                    if let Some(rk) = rk.as_str() {
                        p.check_entry::<ReportSettings>(&keys, rk, rv, REPORT_KEYS);
                    }
                }
            }
            ("tables", Value::Sequence(items)) => {
                for (n, item) in items.iter().enumerate() {
                    p.check::<TableSettings>(&keys, Some(n), item.clone(), TABLE_KEYS);
                }
            }
            _ => p.check_entry::<StudyConfig>(&[], k, v, KNOWN_KEYS),
        }
    }
    p.finish(first)
}

fn located(path: &Path, text: &str, keys: &[&str], message: &str) -> Diagnostic {
    let d = Diagnostic::error(message).in_file(path);
    match crate::yaml::locate(text, keys) {
        Some(line) => d.at_line(line).with_source_from(text, 1),
        None => d,
    }
}

/// The study file written by `qualdex init`.
pub fn template(title: &str) -> String {
    format!(
        r#"# qualdex study file. Plain text: edit it freely; `qualdex index` rereads it.
title: {title}
# Folders and files below are relative to this folder and stay inside it.
# Folder holding the transcripts (.txt, .md, .vtt, .srt, .docx), nested folders allowed.
# Attributes come from front matter, corpus/cases.csv (keyed by `case`) and
# corpus/documents.csv (keyed by `path`, relative to the corpus folder).
corpus: corpus
# Codebook files (YAML).
codebooks: []
# Index folder: a cache rebuilt from the files above; safe to delete.
index: .qualdex
# Default coding and search unit: sentence | paragraph | turn | document
unit: paragraph
# Stemming language for search (english, german, swedish, ... or none).
language: english
speakers:
  # Labels whose words are the interviewer's, not the respondent's.
  interviewers: [Interviewer, I, Q, Moderator, Int]
  # Optional regular expression recognising a turn's start, with a
  # `speaker` group, e.g. '^(?P<speaker>[A-Z]{{2,3}})>\s*'
  # pattern: ''
report:
  # Passages listed under each cell of the HTML report's heatmaps, at most
  # (0: all); the report gives every cell's count and the command listing all.
  passages_per_cell: 20
"#
    )
}

/// Scaffolds a study in `dir`: `qualdex.yaml`, `corpus/`, `codebooks/`,
/// `codings/`. Refuses to overwrite an existing study file.
pub fn init(dir: &Path, title: &str) -> Result<Init, Diagnostics> {
    let file = dir.join(STUDY_FILE);
    if file.symlink_metadata().is_ok() {
        return Err(Diagnostic::error("a study already exists here")
            .in_file(&file)
            .with_help("edit the existing qualdex.yaml, or choose another folder")
            .into());
    }
    let mut done = Init::default();
    let folder = |p: &Path, done: &mut Init| -> Result<(), Diagnostics> {
        match p.symlink_metadata() {
            Ok(m) if m.is_dir() || (m.is_symlink() && p.is_dir()) => {
                done.kept.push(p.to_path_buf());
                Ok(())
            }
            Ok(m) => Err(Diagnostic::error(if m.is_symlink() {
                "this is a link, and it does not lead to a folder"
            } else {
                "this is a file, not a folder"
            })
            .in_file(p)
            .with_help("move or rename it, then run `qualdex init` again")
            .into()),
            Err(_) => {
                std::fs::create_dir_all(p).map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error(format!("cannot create folder: {e}")).in_file(p),
                    )
                })?;
                done.created.push(p.to_path_buf());
                Ok(())
            }
        }
    };
    if !dir.is_dir() {
        folder(dir, &mut done)?;
    }
    for sub in ["corpus", "codebooks", "codings"] {
        folder(&dir.join(sub), &mut done)?;
    }
    fsutil::write_atomic(&file, template(title).as_bytes()).map_err(|e| {
        Diagnostics::from(Diagnostic::error(format!("cannot write: {e}")).in_file(&file))
    })?;
    done.created.push(file);
    let ignore = dir.join(".gitignore");
    if ignore.symlink_metadata().is_ok() {
        done.kept.push(ignore);
    } else {
        fsutil::write_atomic(
            &ignore,
            b"# the index is a cache, rebuilt by `qualdex index`\n/.qualdex/\n\
              # the empty lock files qualdex holds while writing a coder's codings\n\
              /codings/.*.lock\n",
        )
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(format!("cannot write: {e}")).in_file(&ignore))
        })?;
        done.created.push(ignore);
    }
    Ok(done)
}

/// What [`init`] did: the files and folders it made, and those that were
/// there already and were left as they were.
#[derive(Debug, Default)]
pub struct Init {
    /// Made by `init`.
    pub created: Vec<PathBuf>,
    /// Already there, left untouched (an existing `corpus/`, `.gitignore`).
    pub kept: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults() {
        let c = parse_config(Path::new("qualdex.yaml"), &template("T")).unwrap();
        assert_eq!(c.corpus, "corpus");
        assert_eq!(c.unit, UnitKind::Paragraph);
        assert!(c.speakers.interviewers.contains(&"Interviewer".to_string()));
    }

    #[test]
    fn unknown_key_is_located_with_suggestion() {
        let text = "corpus: corpus\nlanguag: english\n";
        let e = parse_config(Path::new("qualdex.yaml"), text).unwrap_err();
        let d = &e.0[0];
        assert_eq!(d.line, Some(2));
        assert!(
            d.message.contains("unknown field `languag`"),
            "{}",
            d.message
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `language`?"));
    }

    #[test]
    fn paths_and_table_names_are_checked_where_they_are_written() {
        let at = |text: &str| {
            let e = parse_config(Path::new("q.yaml"), text).unwrap_err();
            let d = &e.0[0];
            (d.line, d.column, d.message.clone(), d.help.is_some())
        };
        let (line, col, msg, help) = at("title: t\ntables:\n  - kind: corpus\n    name: ../x\n");
        assert_eq!((line, col), (Some(4), Some(11)), "{msg}");
        assert_eq!(value_len("  - {name: \"../x\", kind: corpus}", 12), 6);
        assert_eq!(value_len("codebooks: [a, ../b.yaml]", 16), 9);
        assert_eq!(value_len("corpus: /data # here", 9), 5);
        assert!(msg.contains("invalid table name") && help, "{msg}");
        let (line, col, msg, _) = at("corpus: /data\n");
        assert_eq!((line, col), (Some(1), Some(9)));
        assert!(msg.contains("absolute"), "{msg}");
        let (line, col, msg, _) = at("codebooks: [a.yaml, '/b.yaml']\n");
        assert_eq!((line, col), (Some(1), Some(21)));
        assert!(msg.contains("absolute"), "{msg}");
        let (line, col, msg, _) = at("title: t\nindex: ../cache\n");
        assert_eq!((line, col), (Some(2), Some(8)));
        assert!(msg.contains("leads outside"), "{msg}");
        let (line, _, msg, _) = at("index: a\\..\\..\\c\n");
        assert_eq!(line, Some(1), "{msg}");
        let (line, col, msg, _) = at("corpus: data\nindex: data\n");
        assert_eq!((line, col), (Some(2), Some(8)));
        assert!(msg.contains("overlaps the corpus folder"), "{msg}");
        let (line, col, msg, _) =
            at("tables: [{name: a, kind: corpus}, {kind: corpus, name: A, formats: [md]}]\n");
        assert_eq!((line, col), (Some(1), Some(56)), "{msg}");
        let (line, _, msg, _) = at("tables:\n  - kind: corpus\n");
        assert_eq!(line, Some(1));
        assert!(msg.contains("no `name`"), "{msg}");
        let (_, _, msg, _) = at("tables:\n  - {name: report, kind: corpus, formats: html}\n");
        assert!(msg.contains("HTML report"), "{msg}");
        let (_, _, msg, _) = at("index: .\n");
        assert!(msg.contains("the study folder itself"), "{msg}");
        let (_, _, msg, _) = at("codebooks: [idx/cb.yaml]\nindex: idx\n");
        assert!(msg.contains("overlaps the codebook"), "{msg}");
        for ok in [
            "corpus: .\nindex: .cache/idx\n",
            "corpus: ./transcripts\ncodebooks: [codebooks/a.yaml]\n",
            "index: out/idx\n",
            // Read-only inputs may lie beside the study.
            "corpus: ../shared/transcripts\ncodebooks: [../../codebooks/a.yaml, ..\\b.yaml]\nindex: shared\n",
            "tables:\n  - {name: data collection, kind: corpus, formats: [md, csv]}\n",
        ] {
            let r = parse_config(Path::new("q.yaml"), ok);
            assert!(r.is_ok(), "{ok}: {r:?}");
        }
    }

    #[test]
    fn bad_language_and_pattern_reported_together() {
        let text = "language: englsh\nspeakers:\n  pattern: '(unclosed'\n";
        let e = parse_config(Path::new("q.yaml"), text).unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!(
            e.0[0]
                .help
                .as_deref()
                .map(|h| h.starts_with("did you mean `english`")),
            Some(true)
        );
        assert_eq!(e.0[1].line, Some(3));
    }
}

//! The codebook: families of codes, nested to any depth, each with a
//! definition, inclusion and exclusion criteria, examples and auto-coding
//! rules. This module turns the YAML files ([`raw`]) into a validated
//! [`Codebook`], reporting every problem with file, line and column. It does
//! not apply rules: the `coding` module, above it, does.

pub mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, suggest};
use crate::study::UnitKind;
use crate::yaml::{indent_of, is_key_line, key_lines, locate, nth_item};
use raw::{RawCode, RawCodebook};

/// A family: a top-level group of codes (challenges, roles, dimensions...).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Id (the YAML key).
    pub id: String,
    /// Display name.
    pub label: String,
    /// Description.
    pub description: Option<String>,
    /// Gioia level, if declared.
    pub level: Option<String>,
}

/// A word or phrase to find, as normalised for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Term {
    /// Lowercased words separated by single spaces.
    pub words: String,
    /// `*` suffix: the last word may continue.
    pub prefix: bool,
}

impl Term {
    /// Parses a term as written (`"business model*"`).
    pub fn parse(written: &str) -> Result<Term, String> {
        let t = written.trim();
        let (body, prefix) = match t.strip_suffix('*') {
            Some(b) => (b.trim_end(), true),
            None => (t, false),
        };
        if body.contains('*') {
            return Err(format!("term `{written}`: `*` is only allowed at the end"));
        }
        let words = crate::analysis::normalise(body);
        if words.is_empty() || !words.chars().any(char::is_alphanumeric) {
            return Err(format!("term `{written}` has no letters or digits"));
        }
        Ok(Term { words, prefix })
    }
}

/// What a rule looks for.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Any of these words or phrases.
    Terms(Vec<Term>),
    /// A regular expression (validated; compiled when rules are applied).
    Regex(String),
    /// A query in the search language.
    Query(crate::querylang::Node, String),
}

/// An auto-coding rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Index of the code in [`Codebook::codes`].
    pub code: usize,
    /// 1-based position among the code's rules.
    pub number: usize,
    /// What it looks for.
    pub kind: RuleKind,
    /// Only respondents' (true) or interviewers' (false) words.
    pub respondent: Option<bool>,
    /// Only these speakers (lowercased).
    pub speakers: Vec<String>,
    /// Not in units where one of these occurs.
    pub unless: Vec<Term>,
    /// The unit it codes.
    pub unit: UnitKind,
}

impl Rule {
    /// `terms`, `regex` or `query`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            RuleKind::Terms(_) => "terms",
            RuleKind::Regex(_) => "regex",
            RuleKind::Query(..) => "query",
        }
    }
}

/// A code.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    /// Full id: `family/code/child`.
    pub path: String,
    /// The last segment.
    pub id: String,
    /// The family id.
    pub family: String,
    /// The parent code's path (None directly under the family).
    pub parent: Option<String>,
    /// 1 directly under the family, 2 for its children, ...
    pub depth: usize,
    /// Display name (the id when no label is given).
    pub label: String,
    /// Definition.
    pub definition: Option<String>,
    /// Inclusion criteria.
    pub include: Vec<String>,
    /// Exclusion criteria.
    pub exclude: Vec<String>,
    /// Example quotes.
    pub examples: Vec<String>,
    /// Memo.
    pub memo: Option<String>,
    /// The file it is defined in.
    pub file: PathBuf,
    /// Its line there, when found.
    pub line: Option<usize>,
}

/// A validated codebook (one or more files).
#[derive(Debug, Clone)]
pub struct Codebook {
    /// Title (of the first file).
    pub title: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Default rule unit.
    pub unit: UnitKind,
    /// Families in file order.
    pub families: Vec<Family>,
    /// Codes depth-first in file order.
    pub codes: Vec<Code>,
    /// Every rule, grouped by code in order.
    pub rules: Vec<Rule>,
    /// Content hash of the files (changes re-code the corpus).
    pub hash: String,
    by_path: BTreeMap<String, usize>,
    /// Lines of key paths in the file being added (one pass per file).
    key_lines: std::collections::HashMap<Vec<String>, usize>,
}

/// What an id given by a user resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The full path (a family id for a family).
    pub path: String,
    /// True when it names a whole family.
    pub family: bool,
}

impl Codebook {
    /// An empty codebook (a study without codebooks).
    pub fn empty() -> Codebook {
        Codebook {
            title: None,
            version: None,
            description: None,
            unit: UnitKind::Paragraph,
            families: Vec::new(),
            codes: Vec::new(),
            rules: Vec::new(),
            hash: String::new(),
            by_path: BTreeMap::new(),
            key_lines: std::collections::HashMap::new(),
        }
    }

    /// The code tree alone (ids and paths, nothing else), as recorded with
    /// an index: enough to resolve `code:` filters without reading YAML.
    pub fn skeleton(families: &[String], paths: &[String]) -> Codebook {
        let mut cb = Codebook::empty();
        cb.families = families
            .iter()
            .map(|id| Family {
                id: id.clone(),
                label: id.clone(),
                description: None,
                level: None,
            })
            .collect();
        for path in paths {
            let segments: Vec<&str> = path.split('/').collect();
            let id = segments.last().copied().unwrap_or_default().to_string();
            let parent = (segments.len() > 2).then(|| segments[..segments.len() - 1].join("/"));
            cb.by_path.insert(path.clone(), cb.codes.len());
            cb.codes.push(Code {
                path: path.clone(),
                label: id.clone(),
                id,
                family: segments.first().copied().unwrap_or_default().to_string(),
                parent,
                depth: segments.len().saturating_sub(1),
                definition: None,
                include: Vec::new(),
                exclude: Vec::new(),
                examples: Vec::new(),
                memo: None,
                file: PathBuf::new(),
                line: None,
            });
        }
        cb
    }

    /// Loads and validates codebook files, reporting every problem.
    /// `default_unit` applies when a codebook names none.
    pub fn load(files: &[PathBuf], default_unit: UnitKind) -> Result<Codebook, Diagnostics> {
        let mut cb = Codebook::empty();
        cb.unit = default_unit;
        let mut problems = Vec::new();
        let mut hasher = blake3::Hasher::new();
        for (i, file) in files.iter().enumerate() {
            let text = match crate::fsutil::read_bounded(file, crate::fsutil::INPUT_LIMIT) {
                Ok(b) => match crate::corpus::decode::decode(file, &b, false) {
                    Ok(t) => t,
                    Err(d) => {
                        problems.push(d);
                        continue;
                    }
                },
                Err(e) => {
                    problems.push(
                        Diagnostic::error(format!("cannot read the codebook: {e}"))
                            .in_file(file)
                            .with_help("fix the path under `codebooks:` in qualdex.yaml"),
                    );
                    continue;
                }
            };
            hasher.update(text.as_bytes()).update(b"\0");
            if let Err(d) = crate::yaml::check_nesting(file, &text, 0) {
                problems.push(d);
                continue;
            }
            let raw: RawCodebook = match serde_yaml_ng::from_str(&text) {
                Ok(r) => r,
                Err(e) => {
                    let first = codebook_yaml_error(file, &text, &e).0;
                    problems.extend(structure_problems(file, &text, first));
                    continue;
                }
            };
            cb.add_file_lines(&text);
            cb.add_file(file, &text, raw, i == 0, &mut problems);
        }
        cb.hash = hasher.finalize().to_hex()[..16].to_string();
        if problems.is_empty() {
            Ok(cb)
        } else {
            Err(Diagnostics(problems))
        }
    }

    fn add_file_lines(&mut self, text: &str) {
        self.key_lines = key_lines(text);
    }

    fn add_file(
        &mut self,
        file: &Path,
        text: &str,
        raw: RawCodebook,
        first: bool,
        problems: &mut Vec<Diagnostic>,
    ) {
        let unit = match raw.unit.as_deref() {
            None => self.unit,
            Some(u) => match parse_unit(u) {
                Some(k) => k,
                None => {
                    problems.push(bad_unit(file, text, u, &["unit"]));
                    self.unit
                }
            },
        };
        if first {
            self.title = raw.title;
            self.version = raw.version;
            self.description = raw.description;
            self.unit = unit;
        }
        for (fid, fam) in raw.families {
            if self.families.iter().any(|f| f.id == fid) {
                problems.push(
                    Diagnostic::error(format!("family `{fid}` is defined twice"))
                        .in_file(file)
                        .at_line(locate(text, &[&fid]).unwrap_or(1))
                        .with_source_from(text, fid.chars().count())
                        .with_help("merge the two families or rename one"),
                );
                continue;
            }
            if fam.label.is_none()
                && fam.description.is_none()
                && fam.level.is_none()
                && fam.codes.0.is_empty()
            {
                problems.push(
                    Diagnostic::error(format!(
                        "family `{fid}` is empty: it has no label and no codes"
                    ))
                    .in_file(file)
                    .at_line(locate(text, &[&fid]).unwrap_or(1))
                    .with_source_from(text, fid.chars().count())
                    .with_help(
                        "give it `label:` and `codes:`, or remove it (is this file a codebook?)",
                    ),
                );
                continue;
            }
            self.families.push(Family {
                id: fid.clone(),
                label: fam.label.unwrap_or_else(|| fid.clone()),
                description: fam.description,
                level: fam.level,
            });
            let keys = vec![fid.clone()];
            for (cid, code) in fam.codes.0 {
                self.add_code(file, text, &fid, None, &keys, cid, code, unit, problems);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_code(
        &mut self,
        file: &Path,
        text: &str,
        family: &str,
        parent: Option<&str>,
        parent_keys: &[String],
        id: String,
        raw: RawCode,
        unit: UnitKind,
        problems: &mut Vec<Diagnostic>,
    ) {
        let path = match parent {
            Some(p) => format!("{p}/{id}"),
            None => format!("{family}/{id}"),
        };
        let mut keys = parent_keys.to_vec();
        keys.push("codes".into());
        keys.push(id.clone());
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let line = self.key_lines.get(&keys).copied();
        let index = self.codes.len();
        self.by_path.insert(path.clone(), index);
        self.codes.push(Code {
            path: path.clone(),
            id: id.clone(),
            family: family.to_string(),
            parent: parent.map(String::from),
            depth: parent.map_or(1, |p| p.matches('/').count() + 1),
            label: raw.label.unwrap_or_else(|| id.clone()),
            definition: raw.definition,
            include: raw.include.map(|o| o.0).unwrap_or_default(),
            exclude: raw.exclude.map(|o| o.0).unwrap_or_default(),
            examples: raw.examples.map(|o| o.0).unwrap_or_default(),
            memo: raw.memo,
            file: file.to_path_buf(),
            line,
        });
        for (n, r) in raw.rules.into_iter().enumerate() {
            let mut rule_keys = key_refs.clone();
            rule_keys.push("rules");
            // Located only when there is an error to show, and only while
            // errors are shown (locating one reads the file's lines).
            let quiet = problems.len() >= crate::diag::MAX_SHOWN;
            let here = |msg: String, help: &str| {
                let mut d =
                    Diagnostic::error(format!("`{path}` rule {}: {msg}", n + 1)).in_file(file);
                if quiet {
                    return d.with_help(help);
                }
                if let Some(l) = locate(text, &rule_keys).and_then(|l| nth_item(text, l, n)) {
                    d = d.at_line(l).with_source_from(text, 1);
                }
                d.with_help(help)
            };
            let kinds = usize::from(r.terms.is_some())
                + usize::from(r.regex.is_some())
                + usize::from(r.query.is_some());
            if kinds != 1 {
                problems.push(here(
                    if kinds == 0 {
                        "has no `terms`, `regex` or `query`".into()
                    } else {
                        "has more than one of `terms`, `regex`, `query`".into()
                    },
                    "give each rule exactly one of terms, regex or query; write two rules for two",
                ));
                continue;
            }
            let rule_unit = match r.unit.as_deref() {
                None => unit,
                Some(u) => match parse_unit(u) {
                    Some(k) => k,
                    None => {
                        problems.push(here(
                            format!("unknown unit `{u}`"),
                            "units: sentence, paragraph, turn, document",
                        ));
                        continue;
                    }
                },
            };
            let mut ok = true;
            let parse_terms =
                |list: &[String], problems: &mut Vec<Diagnostic>, ok: &mut bool| -> Vec<Term> {
                    list.iter()
                        .filter_map(|t| match Term::parse(t) {
                            Ok(t) => Some(t),
                            Err(e) => {
                                problems.push(here(
                                    e,
                                    "terms are words or phrases, optionally ending in `*`",
                                ));
                                *ok = false;
                                None
                            }
                        })
                        .collect()
                };
            let kind = if let Some(terms) = &r.terms {
                if terms.is_empty() {
                    problems.push(here(
                        "`terms` is empty".into(),
                        "list at least one word or phrase",
                    ));
                    continue;
                }
                RuleKind::Terms(parse_terms(terms, problems, &mut ok))
            } else if let Some(re) = &r.regex {
                // Validate the syntax now (cheap); compile only when coding.
                match regex_syntax::ParserBuilder::new().build().parse(re) {
                    Ok(_) => RuleKind::Regex(re.clone()),
                    Err(e) => {
                        let detail = e.to_string();
                        let last = detail
                            .lines()
                            .rfind(|l| !l.trim().is_empty())
                            .unwrap_or(&detail)
                            .trim()
                            .to_string();
                        problems.push(here(
                            format!("invalid regex `{re}`: {}", last.trim_start_matches("error: ")),
                            "fix the regular expression (Rust regex syntax; (?i) for case-insensitive)",
                        ));
                        continue;
                    }
                }
            } else {
                let q = r.query.clone().unwrap_or_default();
                match crate::querylang::parse(&q) {
                    Ok(node) => {
                        if crate::querylang::leaves(&node)
                            .iter()
                            .any(|l| l.field.as_deref() == Some("code"))
                        {
                            problems.push(here(
                                "`code:` cannot be used in a rule's query".into(),
                                "rules see text and attributes, not other codes",
                            ));
                            continue;
                        }
                        RuleKind::Query(node, q)
                    }
                    Err(e) => {
                        let mut d = here(
                            format!("bad query `{}`: {}", shorten(&q, 80), e.message),
                            e.help.as_deref().unwrap_or(""),
                        );
                        // Point into the query where it is written as is.
                        if let (Some(src), Some(col)) = (&d.source_line, e.column)
                            && let Some(at) = src.find(q.as_str())
                        {
                            d.column = Some(src[..at].chars().count() + col);
                            d.span_len = e.span_len.max(1);
                        }
                        problems.push(d);
                        continue;
                    }
                }
            };
            let unless = parse_terms(r.unless.as_deref().unwrap_or_default(), problems, &mut ok);
            if !ok {
                continue;
            }
            self.rules.push(Rule {
                code: index,
                number: n + 1,
                kind,
                respondent: r.respondent,
                speakers: r
                    .speaker
                    .map(|s| s.0.iter().map(|x| x.to_lowercase()).collect())
                    .unwrap_or_default(),
                unless,
                unit: rule_unit,
            });
        }
        for (cid, child) in raw.codes.0 {
            self.add_code(
                file,
                text,
                family,
                Some(&path),
                &keys,
                cid,
                child,
                unit,
                problems,
            );
        }
    }

    /// The code with this full path.
    pub fn code(&self, path: &str) -> Option<&Code> {
        self.by_path.get(path).map(|&i| &self.codes[i])
    }

    /// Index of a code by full path.
    pub fn index_of(&self, path: &str) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// Resolves an id given by a user: a full path, a family id, or a last
    /// segment that is unique; otherwise an error with candidates.
    pub fn resolve(&self, id: &str) -> Result<Resolved, Diagnostic> {
        let id = id.trim().trim_matches('/');
        if self.by_path.contains_key(id) {
            return Ok(Resolved {
                path: id.to_string(),
                family: false,
            });
        }
        if self.families.iter().any(|f| f.id == id) {
            return Ok(Resolved {
                path: id.to_string(),
                family: true,
            });
        }
        let matches: Vec<&Code> = self
            .codes
            .iter()
            .filter(|c| c.path.ends_with(&format!("/{id}")) || c.id == id)
            .collect();
        match matches.len() {
            1 => Ok(Resolved {
                path: matches[0].path.clone(),
                family: false,
            }),
            0 => {
                let pool: Vec<&str> = self
                    .codes
                    .iter()
                    .map(|c| c.id.as_str())
                    .chain(self.codes.iter().map(|c| c.path.as_str()))
                    .chain(self.families.iter().map(|f| f.id.as_str()))
                    .collect();
                let help = match suggest(id, pool.iter().copied()) {
                    Some(s) => {
                        format!("did you mean `{s}`? `qualdex codebook show` lists the codes")
                    }
                    None => "`qualdex codebook show` lists the codes".to_string(),
                };
                Err(Diagnostic::error(format!("unknown code `{id}`")).with_help(help))
            }
            _ => Err(
                Diagnostic::error(format!("code id `{id}` is ambiguous")).with_help(format!(
                    "use the full path: {}",
                    matches
                        .iter()
                        .map(|c| format!("`{}`", c.path))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
        }
    }

    /// Last segments used by more than one code (warnings for `check`).
    pub fn ambiguous_ids(&self) -> Vec<(String, Vec<String>)> {
        let mut by_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in &self.codes {
            by_id.entry(c.id.as_str()).or_default().push(c.path.clone());
        }
        by_id
            .into_iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Children of a code (or of a family, by id) in file order.
    pub fn children(&self, parent: &str) -> Vec<&Code> {
        self.codes
            .iter()
            .filter(|c| {
                c.parent.as_deref() == Some(parent) || (c.parent.is_none() && c.family == parent)
            })
            .collect()
    }

    /// Every code path at or below `path` (a code or a family).
    pub fn subtree(&self, path: &str) -> Vec<&Code> {
        let prefix = format!("{path}/");
        self.codes
            .iter()
            .filter(|c| c.path == path || c.path.starts_with(&prefix))
            .collect()
    }

    /// A short name for a rule in provenance: `family/code#r2`.
    pub fn rule_name(&self, rule: &Rule) -> String {
        format!("{}#r{}", self.codes[rule.code].path, rule.number)
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `a/b/c` and its ancestors: `a`, `a/b`, `a/b/c`.
pub fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::new();
    for seg in path.split('/') {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(seg);
        out.push(acc.clone());
    }
    out
}

fn parse_unit(u: &str) -> Option<UnitKind> {
    UnitKind::parse(u.trim())
}

fn bad_unit(file: &Path, text: &str, u: &str, keys: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::error(format!("unknown unit `{u}`")).in_file(file);
    if let Some(l) = locate(text, keys) {
        d = d.at_line(l).with_source_from(text, 1);
    }
    d.with_help("units: sentence, paragraph, turn, document")
}

fn codebook_yaml_error(file: &Path, text: &str, e: &serde_yaml_ng::Error) -> Diagnostics {
    let known_for_message = |m: &str| -> &'static [&'static str] {
        if m.contains("expected one of `terms`") || m.contains("`regex`") {
            RULE_KEYS
        } else if m.contains("`level`") || m.contains("`description`, `level`") {
            FAMILY_KEYS
        } else {
            CODE_KEYS
        }
    };
    let msg = e.to_string();
    let known = known_for_message(&msg);
    let mut d = crate::yaml::yaml_error(file, text, e, known);
    for x in &mut d.0 {
        // serde marks a duplicate at the start of its mapping: point at the repeat.
        if let Some(id) = x
            .message
            .split("duplicate code id `")
            .nth(1)
            .and_then(|r| r.split('`').next())
        {
            let from = x.line.unwrap_or(1).saturating_sub(1);
            let repeats: Vec<usize> = text
                .lines()
                .enumerate()
                .skip(from)
                .filter(|(_, l)| is_key_line(l, id))
                .map(|(i, _)| i + 1)
                .collect();
            if let Some(&line) = repeats.get(1) {
                let col = text.lines().nth(line - 1).map_or(1, |l| indent_of(l) + 1);
                x.line = Some(line);
                x.column = Some(col);
                x.source_line = text.lines().nth(line - 1).map(String::from);
                x.span_len = id.chars().count();
            }
            x.help = Some("code ids must be unique among siblings: rename or merge one".into());
        }
        if x.message.contains("unknown field") && x.help.is_none() {
            x.help = Some(format!("known keys: {}", known.join(", ")));
        }
    }
    d
}

/// Keys of a family, a code and a rule, suggested for a misspelt one.
const FAMILY_KEYS: &[&str] = &["label", "description", "level", "codes"];
const CODE_KEYS: &[&str] = &[
    "label",
    "definition",
    "include",
    "exclude",
    "examples",
    "memo",
    "rules",
    "codes",
];
const RULE_KEYS: &[&str] = &[
    "terms",
    "regex",
    "query",
    "respondent",
    "speaker",
    "unless",
    "unit",
];

/// Every structure problem of a codebook the parser refused with `first`:
/// each family, code and rule is checked on its own (see
/// [`crate::yaml::Problems`]).
fn structure_problems(file: &Path, text: &str, first: Vec<Diagnostic>) -> Vec<Diagnostic> {
    use serde_yaml_ng::Value;
    let Some(top) = crate::yaml::Problems::top(text) else {
        return first;
    };
    let mut p = crate::yaml::Problems::new(file, text);
    fn codes(p: &mut crate::yaml::Problems, keys: &[String], v: &Value) {
        match v {
            Value::Mapping(m) => {
                for (cid, cv) in m {
                    let Some(cid) = cid.as_str() else { continue };
                    let mut at = keys.to_vec();
                    at.push(cid.to_string());
                    if let Err(msg) = raw::check_code_id(cid) {
                        p.push_at(&at, msg, "rename the code");
                    }
                    code(p, &at, cv);
                }
            }
            Value::Null => {}
            other => p.check::<raw::Ordered<RawCode>>(keys, None, other.clone(), CODE_KEYS),
        }
    }
    fn code(p: &mut crate::yaml::Problems, keys: &[String], v: &Value) {
        let Value::Mapping(m) = v else {
            if !v.is_null() {
                p.check::<RawCode>(keys, None, v.clone(), CODE_KEYS);
            }
            return;
        };
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            let mut at = keys.to_vec();
            at.push(k.to_string());
            match (k, v) {
                ("codes", _) => codes(p, &at, v),
                ("rules", Value::Sequence(items)) => {
                    for (n, item) in items.iter().enumerate() {
                        match item {
                            Value::Mapping(entries) => {
                                p.check_item_entries::<raw::RawRule>(&at, n, entries, RULE_KEYS)
                            }
                            _ => p.check::<raw::RawRule>(&at, Some(n), item.clone(), RULE_KEYS),
                        }
                    }
                }
                _ => p.check_entry::<RawCode>(keys, k, v, CODE_KEYS),
            }
        }
    }
    for (k, v) in &top {
        let Some(k) = k.as_str() else { continue };
        if raw::METADATA.contains(&k) {
            p.check_entry::<RawCodebook>(&[], k, v, raw::METADATA);
            continue;
        }
        let keys = vec![k.to_string()];
        match v {
            Value::Mapping(m) => {
                for (fk, fv) in m {
                    let Some(fk) = fk.as_str() else { continue };
                    if fk == "codes" {
                        codes(&mut p, &[k.to_string(), "codes".to_string()], fv);
                    } else {
                        p.check_entry::<raw::RawFamily>(&keys, fk, fv, FAMILY_KEYS);
                    }
                }
            }
            Value::Null => {}
            other => p.check::<raw::RawFamily>(&keys, None, other.clone(), FAMILY_KEYS),
        }
    }
    p.finish(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CB: &str = "title: T\nunit: paragraph\nchallenges:\n  label: Challenges\n  codes:\n    governance:\n      label: Governance\n      rules:\n        - terms: [incentive model, \"business model*\"]\n        - regex: '(?i)forc(e|ed)'\n          respondent: true\n      codes:\n        incentives: {label: Incentives}\n    risk:\n      rules:\n        - query: '\"operational risk\" OR hazard'\n          unit: sentence\nroles:\n  codes:\n    incentives: {}\n";

    fn load(text: &str) -> Result<Codebook, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cb.yaml");
        std::fs::write(&p, text).unwrap();
        Codebook::load(&[p], UnitKind::Paragraph)
    }

    #[test]
    fn parses_families_codes_rules_in_order() {
        let cb = load(CB).unwrap();
        let paths: Vec<_> = cb.codes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "challenges/governance",
                "challenges/governance/incentives",
                "challenges/risk",
                "roles/incentives"
            ]
        );
        assert_eq!(cb.rules.len(), 3);
        assert_eq!(cb.rules[1].respondent, Some(true));
        assert_eq!(cb.rules[2].unit, UnitKind::Sentence);
        assert_eq!(cb.codes[0].line, Some(6));
        assert_eq!(cb.codes[1].line, Some(13));
        let RuleKind::Terms(t) = &cb.rules[0].kind else {
            panic!()
        };
        assert_eq!(
            t[1],
            Term {
                words: "business model".into(),
                prefix: true
            }
        );
        assert_eq!(cb.rule_name(&cb.rules[2]), "challenges/risk#r1");
    }

    #[test]
    fn resolves_paths_families_and_unique_segments() {
        let cb = load(CB).unwrap();
        assert_eq!(
            cb.resolve("governance").unwrap().path,
            "challenges/governance"
        );
        assert!(cb.resolve("challenges").unwrap().family);
        let e = cb.resolve("incentives").unwrap_err();
        assert!(e.message.contains("ambiguous"));
        assert!(e.help.unwrap().contains("`roles/incentives`"));
        let e = cb.resolve("governanse").unwrap_err();
        assert!(e.help.unwrap().starts_with("did you mean `governance`"));
        assert_eq!(cb.ambiguous_ids().len(), 1);
        assert_eq!(ancestors("a/b/c"), ["a", "a/b", "a/b/c"]);
    }

    #[test]
    fn unknown_key_duplicate_id_broken_regex_and_yaml_errors() {
        let e = load("c:\n  codes:\n    a:\n      lable: x\n").unwrap_err();
        let d = &e.0[0];
        assert!(d.message.contains("unknown field `lable`"), "{}", d.message);
        assert_eq!(d.line, Some(4));
        assert!(
            d.help.as_deref().unwrap().contains("did you mean `label`"),
            "{:?}",
            d.help
        );

        let e = load("c:\n  codes:\n    a: {}\n    a: {}\n").unwrap_err();
        assert!(e.0[0].message.contains("duplicate"), "{}", e.0[0].message);
        assert_eq!(e.0[0].line, Some(4));

        let e = load("c:\n  codes:\n    a:\n      rules:\n        - terms: [x]\n        - regex: '(unclosed'\n").unwrap_err();
        let d = &e.0[0];
        assert!(
            d.message.starts_with("`c/a` rule 2: invalid regex"),
            "{}",
            d.message
        );
        assert_eq!(d.line, Some(6));

        let e = load("c:\n  codes: [\n").unwrap_err();
        assert!(e.0[0].line.is_some());

        let e = load("c:\n  codes:\n    a:\n      rules:\n        - terms: [x]\n          regex: y\n        - unit: page\n          terms: [z]\n").unwrap_err();
        assert_eq!(e.0.len(), 2, "{e}");
        assert!(e.0[1].message.contains("unknown unit `page`"));
    }

    #[test]
    fn locate_finds_nested_keys() {
        let t = "a:\n  codes:\n    x:\n      label: 1\n  other: 2\nb:\n  codes:\n    x: {}\n";
        assert_eq!(locate(t, &["a", "codes", "x"]), Some(3));
        assert_eq!(locate(t, &["b", "codes", "x"]), Some(8));
        assert_eq!(locate(t, &["a", "codes", "y"]), None);
    }
}

//! The compiled codebook: every rule in one automaton and a few regex sets.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};
use regex_automata::meta::Regex as MetaRegex;
use regex_automata::{Anchored, Input};
use rustc_hash::{FxHashMap, FxHashSet};

use super::eval::{Evaluator, UnitView};
use super::{CodedPassage, Evidence, Normalised, Source};
use crate::codebook::{Codebook, Rule, RuleKind, Term};
use crate::corpus::{CharMap, Document, Unit};
use crate::diag::{Diagnostic, Diagnostics};
use crate::study::UnitKind;

#[derive(Debug, Clone, Copy)]
enum PatRef {
    Term { rule: usize, prefix: bool },
    Unless { rule: usize, prefix: bool },
}

/// A codebook compiled for matching.
pub struct Matcher {
    /// Every term and `unless` term, normalised; `refs` says which rules use it.
    patterns: Vec<String>,
    refs: Vec<Vec<PatRef>>,
    /// Patterns by their first word (the leading run of letters and digits).
    by_first_word: FxHashMap<Box<str>, Vec<usize>>,
    /// Single-word patterns used as prefixes (`incentive*`), by the prefix.
    by_prefix: FxHashMap<Box<str>, Vec<usize>>,
    /// The distinct byte lengths of `by_prefix` keys.
    prefix_lens: Vec<usize>,
    /// Patterns that start with a symbol rather than a word, and their ids.
    odd_ac: Option<(AhoCorasick, Vec<usize>)>,
    regex_sets: BTreeMap<UnitKind, (RegexSet, Vec<usize>, Vec<Regex>)>,
    /// Regexes with required prefix literals: one automaton over the
    /// normalised text finds the literals, and each regex is tried, anchored,
    /// only where one of its literals starts.
    literal_ac: Option<AhoCorasick>,
    literal_refs: Vec<Vec<usize>>,
    /// Per literal: it starts with a letter or digit.
    literal_word_start: Vec<bool>,
    prefiltered: Vec<Prefiltered>,
    query_rules: Vec<usize>,
    /// `family/code#rN` per rule, for evidence.
    rule_names: Vec<String>,
    language: String,
    /// How many text passes a document costs (for the benchmark and tests).
    pub passes_per_document: usize,
}

/// Text passes per document for a codebook: one for all terms, one for the
/// literals of all regexes that have some, one per unit kind with regexes
/// that have none, one for query rules; never one per rule.
pub fn passes_for(cb: &Codebook) -> usize {
    let terms = cb
        .rules
        .iter()
        .any(|r| matches!(r.kind, RuleKind::Terms(_)) || !r.unless.is_empty());
    let mut literal = false;
    let mut kinds = std::collections::BTreeSet::new();
    for r in &cb.rules {
        if let RuleKind::Regex(p) = &r.kind {
            if normalised_prefix_literals(p).is_some() {
                literal = true;
            } else {
                kinds.insert(r.unit);
            }
        }
    }
    let queries = cb
        .rules
        .iter()
        .any(|r| matches!(r.kind, RuleKind::Query(..)));
    usize::from(terms) + usize::from(literal) + kinds.len() + usize::from(queries)
}

/// Literals one of which every match of `pattern` starts with, when there is
/// a short enough list of them (each at least two bytes); else None.
pub fn prefix_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let mut ex = Extractor::new();
    ex.kind(ExtractKind::Prefix).limit_total(256);
    let seq = ex.extract(&hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().len() < 2) {
        return None;
    }
    Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// The prefix literals of a regex as they appear in normalised text
/// (lowercased, deduplicated). None when a literal holds whitespace, which
/// normalisation may change, or is not text.
fn normalised_prefix_literals(pattern: &str) -> Option<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for l in prefix_literals(pattern)? {
        let s = String::from_utf8(l).ok()?;
        if s.chars().any(char::is_whitespace) {
            return None;
        }
        out.insert(super::normalise(&s));
    }
    Some(out.into_iter().collect())
}

/// A regex run only where one of its prefix literals occurs.
struct Prefiltered {
    rule: usize,
    regex: MetaRegex,
    /// The pattern begins with `\b`.
    word_boundary_start: bool,
}

/// True when every match of `pattern` must begin at a word boundary.
fn starts_with_word_boundary(pattern: &str) -> bool {
    use regex_syntax::hir::{HirKind, Look};
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return false;
    };
    let first = match hir.kind() {
        HirKind::Concat(parts) => parts.first(),
        _ => Some(&hir),
    };
    matches!(
        first.map(|h| h.kind()),
        Some(HirKind::Look(
            Look::WordUnicode | Look::WordAscii | Look::WordStartUnicode | Look::WordStartAscii
        ))
    )
}

/// Calls `f(start, end)` for every word (maximal run of letters and digits).
fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut start = None;
    while i < bytes.len() {
        let (alnum, len) = if bytes[i] < 0x80 {
            (bytes[i].is_ascii_alphanumeric(), 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.is_alphanumeric(), c.len_utf8())
        };
        match (alnum, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(s, i);
                start = None;
            }
            _ => {}
        }
        i += len;
    }
    if let Some(s) = start {
        f(s, bytes.len());
    }
}

/// The leading word of a pattern, if it starts with one.
fn first_word(p: &str) -> Option<&str> {
    let end = p
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(p.len(), |(i, _)| i);
    (end > 0).then(|| &p[..end])
}

/// Statistics of one coding run, per rule.
#[derive(Debug, Default, Clone)]
pub struct RuleHits {
    /// Units coded per rule index.
    pub units: Vec<usize>,
}

impl Matcher {
    /// Compiles all rules of a codebook.
    pub fn new(cb: &Codebook, language: &str) -> Result<Matcher, Diagnostics> {
        let mut patterns: Vec<String> = Vec::new();
        let mut refs: Vec<Vec<PatRef>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut add =
            |t: &Term, r: PatRef, patterns: &mut Vec<String>, refs: &mut Vec<Vec<PatRef>>| {
                let id = *index.entry(t.words.clone()).or_insert_with(|| {
                    patterns.push(t.words.clone());
                    refs.push(Vec::new());
                    patterns.len() - 1
                });
                refs[id].push(r);
            };
        let mut regex_by_unit: BTreeMap<UnitKind, Vec<(usize, String)>> = BTreeMap::new();
        let mut query_rules = Vec::new();
        for (ri, rule) in cb.rules.iter().enumerate() {
            match &rule.kind {
                RuleKind::Terms(ts) => {
                    for t in ts {
                        add(
                            t,
                            PatRef::Term {
                                rule: ri,
                                prefix: t.prefix,
                            },
                            &mut patterns,
                            &mut refs,
                        );
                    }
                }
                RuleKind::Regex(re) => regex_by_unit
                    .entry(rule.unit)
                    .or_default()
                    .push((ri, re.clone())),
                RuleKind::Query(..) => query_rules.push(ri),
            }
            for t in &rule.unless {
                add(
                    t,
                    PatRef::Unless {
                        rule: ri,
                        prefix: t.prefix,
                    },
                    &mut patterns,
                    &mut refs,
                );
            }
        }
        let mut by_first_word: FxHashMap<Box<str>, Vec<usize>> = FxHashMap::default();
        let mut by_prefix: FxHashMap<Box<str>, Vec<usize>> = FxHashMap::default();
        let mut odd = Vec::new();
        for (id, p) in patterns.iter().enumerate() {
            let Some(w) = first_word(p) else {
                odd.push(id);
                continue;
            };
            by_first_word.entry(w.into()).or_default().push(id);
            let is_prefix = refs[id].iter().any(|r| match r {
                PatRef::Term { prefix, .. } | PatRef::Unless { prefix, .. } => *prefix,
            });
            if is_prefix && w.len() == p.len() {
                by_prefix.entry(w.into()).or_default().push(id);
            }
        }
        let mut prefix_lens: Vec<usize> = by_prefix.keys().map(|k| k.len()).collect();
        prefix_lens.sort_unstable();
        prefix_lens.dedup();
        let odd_ac = (!odd.is_empty()).then(|| {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(odd.iter().map(|&i| &patterns[i]))
                .expect("term patterns are plain strings");
            (ac, odd)
        });
        let mut regex_sets = BTreeMap::new();
        let mut problems = Vec::new();
        let mut literal_patterns: Vec<String> = Vec::new();
        let mut literal_refs: Vec<Vec<usize>> = Vec::new();
        let mut literal_index: HashMap<String, usize> = HashMap::new();
        let mut prefiltered: Vec<Prefiltered> = Vec::new();
        let cannot_compile = |ri: usize, p: &str, e: &dyn std::fmt::Display| {
            Diagnostic::error(format!(
                "`{}`: regex `{p}` cannot be compiled: {}",
                cb.rule_name(&cb.rules[ri]),
                e.to_string().lines().last().unwrap_or_default().trim()
            ))
            .with_help("simplify the pattern (it may be too large once compiled)")
        };
        for (kind, v) in regex_by_unit {
            let mut rest: Vec<(usize, String, Regex)> = Vec::new();
            for (ri, p) in v {
                if let Some(lits) = normalised_prefix_literals(&p) {
                    let re = match MetaRegex::new(&p) {
                        Ok(r) => r,
                        Err(e) => {
                            problems.push(cannot_compile(ri, &p, &e));
                            continue;
                        }
                    };
                    let slot = prefiltered.len();
                    prefiltered.push(Prefiltered {
                        rule: ri,
                        regex: re,
                        word_boundary_start: starts_with_word_boundary(&p),
                    });
                    for l in lits {
                        let id = *literal_index.entry(l.clone()).or_insert_with(|| {
                            literal_patterns.push(l);
                            literal_refs.push(Vec::new());
                            literal_patterns.len() - 1
                        });
                        literal_refs[id].push(slot);
                    }
                    continue;
                }
                match Regex::new(&p) {
                    Ok(re) => rest.push((ri, p, re)),
                    Err(e) => problems.push(cannot_compile(ri, &p, &e)),
                }
            }
            if rest.is_empty() {
                continue;
            }
            match RegexSet::new(rest.iter().map(|(_, p, _)| p)) {
                Ok(set) => {
                    let rules = rest.iter().map(|(r, _, _)| *r).collect();
                    regex_sets.insert(
                        kind,
                        (set, rules, rest.into_iter().map(|(_, _, re)| re).collect()),
                    );
                }
                Err(e) => problems.push(
                    Diagnostic::error(format!(
                        "the {} regex rules cannot be combined: {e}",
                        kind.as_str()
                    ))
                    .with_help("simplify the patterns"),
                ),
            }
        }
        let literal_ac = (!literal_patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&literal_patterns)
                .expect("literal patterns are plain strings")
        });
        if !problems.is_empty() {
            return Err(Diagnostics(problems));
        }
        let passes = usize::from(!patterns.is_empty())
            + usize::from(literal_ac.is_some())
            + regex_sets.len()
            + usize::from(!query_rules.is_empty());
        Ok(Matcher {
            patterns,
            refs,
            by_first_word,
            by_prefix,
            prefix_lens,
            odd_ac,
            regex_sets,
            literal_ac,
            literal_word_start: literal_patterns
                .iter()
                .map(|l| l.chars().next().is_some_and(char::is_alphanumeric))
                .collect(),
            literal_refs,
            prefiltered,
            query_rules,
            rule_names: cb.rules.iter().map(|r| cb.rule_name(r)).collect(),
            language: language.to_string(),
            passes_per_document: passes,
        })
    }

    /// Auto-codes one document: one passage per (code, unit), with the rule
    /// matches as evidence. `hits` counts units per rule.
    pub fn code(
        &self,
        cb: &Codebook,
        doc: &Document,
        attributes: &BTreeMap<String, String>,
        hits: &mut RuleHits,
    ) -> Vec<CodedPassage> {
        if hits.units.len() < cb.rules.len() {
            hits.units.resize(cb.rules.len(), 0);
        }
        let text = doc.text.as_str();
        let units = &doc.units;
        // Unit indices by kind, in text order.
        let mut by_kind: BTreeMap<UnitKind, Vec<usize>> = BTreeMap::new();
        for (i, u) in units.iter().enumerate() {
            by_kind.entry(u.kind).or_default().push(i);
        }
        for v in by_kind.values_mut() {
            v.sort_by_key(|&i| units[i].byte_start);
        }
        let containing = |kind: UnitKind, s: usize, e: usize| -> Option<usize> {
            let idx = by_kind.get(&kind)?;
            let i = idx.partition_point(|&u| units[u].byte_start <= s);
            let u = *idx.get(i.checked_sub(1)?)?;
            (e <= units[u].byte_end).then_some(u)
        };
        // (rule, unit index) -> matches; `unless` hits per (rule, unit index).
        let mut found: FxHashMap<(usize, usize), Vec<(usize, usize)>> = FxHashMap::default();
        let mut vetoed: FxHashSet<(usize, usize)> = FxHashSet::default();

        let needs_norm = !self.patterns.is_empty() || self.literal_ac.is_some();
        let norm = needs_norm.then(|| Normalised::new(text));
        if let Some(norm) = norm.as_ref().filter(|_| !self.patterns.is_empty()) {
            // The one pass over the text for every term of every rule: each
            // word is looked up once among the terms' first words.
            let nt = norm.text.as_str();
            let is_word =
                |b: usize| -> bool { nt[b..].chars().next().is_some_and(char::is_alphanumeric) };
            let mut emit = |pid: usize, ns: usize, ne: usize| {
                for r in &self.refs[pid] {
                    let (rule, prefix, unless) = match *r {
                        PatRef::Term { rule, prefix } => (rule, prefix, false),
                        PatRef::Unless { rule, prefix } => (rule, prefix, true),
                    };
                    let mut end = ne;
                    if prefix {
                        while end < nt.len() && is_word(end) {
                            end += nt[end..].chars().next().map_or(1, char::len_utf8);
                        }
                    } else if end < nt.len() && is_word(end) {
                        continue;
                    }
                    let (os, oe) = norm.original(ns, end, text);
                    let Some(u) = containing(cb.rules[rule].unit, os, oe) else {
                        continue;
                    };
                    if unless {
                        vetoed.insert((rule, u));
                    } else {
                        found.entry((rule, u)).or_default().push((os, oe));
                    }
                }
            };
            for_each_word(nt, |ws, we| {
                let w = &nt[ws..we];
                if let Some(ids) = self.by_first_word.get(w) {
                    for &pid in ids {
                        let p = &self.patterns[pid];
                        if nt[ws..].starts_with(p.as_str()) {
                            emit(pid, ws, ws + p.len());
                        }
                    }
                }
                for &len in &self.prefix_lens {
                    if len >= w.len() {
                        break;
                    }
                    if !w.is_char_boundary(len) {
                        continue;
                    }
                    if let Some(ids) = self.by_prefix.get(&w[..len]) {
                        for &pid in ids {
                            emit(pid, ws, ws + len);
                        }
                    }
                }
            });
            if let Some((ac, ids)) = &self.odd_ac {
                for m in ac.find_overlapping_iter(nt) {
                    let ns = m.start();
                    let word_before = nt[..ns]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric);
                    if !word_before {
                        emit(ids[m.pattern().as_usize()], ns, m.end());
                    }
                }
            }
        }
        if let (Some(lac), Some(norm)) = (&self.literal_ac, &norm) {
            // Where each prefiltered regex may start: one pass over the
            // normalised text for the literals of all of them.
            let bytes = text.as_bytes();
            let mut candidates: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.prefiltered.len()];
            for m in lac.find_overlapping_iter(norm.text.as_str()) {
                let pos = norm.map[m.start()];
                let lit = m.pattern().as_usize();
                // A literal starting with a letter, right after a letter,
                // cannot start a match of a regex that begins with `\b`.
                let glued = self.literal_word_start[lit]
                    && pos > 0
                    && (bytes[pos - 1].is_ascii_alphanumeric() || bytes[pos - 1] == b'_');
                for &slot in &self.literal_refs[lit] {
                    let p = &self.prefiltered[slot];
                    if glued && p.word_boundary_start {
                        continue;
                    }
                    if let Some(u) = containing(cb.rules[p.rule].unit, pos, pos) {
                        candidates[slot].push((u, pos));
                    }
                }
            }
            for (slot, mut cands) in candidates.into_iter().enumerate() {
                if cands.is_empty() {
                    continue;
                }
                if !cands.is_sorted() {
                    cands.sort_unstable();
                }
                cands.dedup();
                let p = &self.prefiltered[slot];
                let mut last = usize::MAX;
                let mut resume = 0;
                for (ui, pos) in cands {
                    if last != ui {
                        last = ui;
                        resume = 0;
                    }
                    let u = &units[ui];
                    if pos < resume || pos >= u.byte_end {
                        continue;
                    }
                    // Every match starts with a literal, so trying each
                    // literal position in order finds what `find_iter` over
                    // the unit would.
                    let ut = &text[u.byte_start..u.byte_end];
                    let input = Input::new(ut)
                        .range(pos - u.byte_start..)
                        .anchored(Anchored::Yes);
                    if let Some(m) = p.regex.search(&input)
                        && m.start() != m.end()
                    {
                        let (s, e) = (u.byte_start + m.start(), u.byte_start + m.end());
                        found.entry((p.rule, ui)).or_default().push((s, e));
                        resume = e;
                    }
                }
            }
        }
        for (kind, (set, rules, compiled)) in &self.regex_sets {
            for &ui in by_kind.get(kind).into_iter().flatten() {
                let u = &units[ui];
                let ut = &text[u.byte_start..u.byte_end];
                for i in set.matches(ut).iter() {
                    let rule = rules[i];
                    for m in compiled[i].find_iter(ut) {
                        if m.start() == m.end() {
                            continue;
                        }
                        found
                            .entry((rule, ui))
                            .or_default()
                            .push((u.byte_start + m.start(), u.byte_start + m.end()));
                    }
                }
            }
        }
        if !self.query_rules.is_empty() {
            let mut ev = Evaluator::new(&self.language);
            for &rule in &self.query_rules {
                let RuleKind::Query(node, _) = &cb.rules[rule].kind else {
                    continue;
                };
                for &ui in by_kind.get(&cb.rules[rule].unit).into_iter().flatten() {
                    let u = &units[ui];
                    let view = UnitView {
                        text: &text[u.byte_start..u.byte_end],
                        path: &doc.path,
                        speaker: u.speaker.as_deref(),
                        respondent: u.respondent,
                        attributes,
                    };
                    if ev.matches(node, &view) {
                        found
                            .entry((rule, ui))
                            .or_default()
                            .push((u.byte_start, u.byte_end));
                    }
                }
            }
        }

        let chars = CharMap::new(text);
        let mut passages: BTreeMap<(usize, usize, &str), CodedPassage> = BTreeMap::new();
        for ((rule_i, ui), matches) in found {
            let rule: &Rule = &cb.rules[rule_i];
            let u = &units[ui];
            if vetoed.contains(&(rule_i, ui)) || !modifiers_allow(rule, u) {
                continue;
            }
            hits.units[rule_i] += 1;
            let code = &cb.codes[rule.code];
            let key = (u.byte_start, u.byte_end, code.path.as_str());
            let p = passages.entry(key).or_insert_with(|| CodedPassage {
                code: code.path.clone(),
                source: Source::Auto,
                start: u.start,
                end: u.end,
                byte_start: u.byte_start,
                byte_end: u.byte_end,
                unit: Some(u.id.clone()),
                evidence: Vec::new(),
                memo: None,
                anchor: None,
                accepted: false,
            });
            let mut seen = FxHashSet::default();
            for (s, e) in matches {
                if !seen.insert((s, e)) {
                    continue;
                }
                p.evidence.push(Evidence {
                    rule: self.rule_names[rule_i].clone(),
                    kind: rule.kind_name().into(),
                    start: chars.char_at(s),
                    end: chars.char_at(e),
                    text: text[s..e].to_string(),
                });
            }
        }
        let mut out: Vec<CodedPassage> = passages.into_values().collect();
        for p in &mut out {
            p.evidence
                .sort_by(|a, b| (a.start, a.end, &a.rule).cmp(&(b.start, b.end, &b.rule)));
        }
        out.sort_by(|a, b| (a.start, a.end, &a.code).cmp(&(b.start, b.end, &b.code)));
        out
    }
}

fn modifiers_allow(rule: &Rule, u: &Unit) -> bool {
    if let Some(r) = rule.respondent
        && u.respondent != r
    {
        return false;
    }
    if !rule.speakers.is_empty() {
        let Some(s) = &u.speaker else { return false };
        if !rule.speakers.contains(&s.to_lowercase()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::turns::SpeakerRules;
    use crate::corpus::{Format, ReadOptions, parse_document};
    use std::path::{Path, PathBuf};

    fn setup(cb_text: &str, doc_text: &str) -> (Codebook, Document) {
        let dir = tempfile::tempdir().unwrap();
        let p: PathBuf = dir.path().join("cb.yaml");
        std::fs::write(&p, cb_text).unwrap();
        let cb = Codebook::load(&[p], UnitKind::Paragraph).unwrap();
        let opts = ReadOptions {
            lossy: false,
            speakers: SpeakerRules::new(&["Interviewer".into()], None),
        };
        let doc = parse_document(
            "a/x.md",
            Path::new("x.md"),
            Format::Md,
            doc_text.as_bytes(),
            &opts,
        )
        .unwrap();
        (cb, doc)
    }

    const CB: &str = "c:\n  codes:\n    gov:\n      rules:\n        - terms: [revenue model, \"incentive*\"]\n          unless: [internal budget]\n        - regex: '(?i)forc(e|ed|ing) (the )?partners?'\n          respondent: true\n    risk:\n      rules:\n        - query: '\"operational risk\" OR hazard'\n          unit: sentence\n";

    #[test]
    fn terms_regex_query_with_unless_and_respondent() {
        let doc = "Interviewer: We forced partners, did we?\n\nAnna: The Revenue\nModel fails. Incentives too.\n\nAnna: Our internal budget has a revenue model.\n\nAnna: They forced the partner. Operational risk is high.\n\nAnna: Hazy? No. Hazard yes.\n\nAnna: The revenue modelling.\n";
        let (cb, d) = setup(CB, doc);
        let m = Matcher::new(&cb, "english").unwrap();
        assert_eq!(
            m.passes_per_document, 3,
            "one AC pass, one regex set, one query pass"
        );
        let mut hits = RuleHits::default();
        let got = m.code(&cb, &d, &BTreeMap::new(), &mut hits);
        let summary: Vec<(String, String)> = got
            .iter()
            .map(|p| {
                (
                    p.code.clone(),
                    crate::corpus::slice_chars(&d.text, p.start, p.end)
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "c/gov".to_string(),
                    "The Revenue\nModel fails. Incentives too.".to_string()
                ),
                (
                    "c/gov".to_string(),
                    "They forced the partner. Operational risk is high.".to_string()
                ),
                (
                    "c/risk".to_string(),
                    "Operational risk is high.".to_string()
                ),
                ("c/risk".to_string(), "Hazard yes.".to_string()),
            ]
        );
        // Evidence slices the text exactly.
        let ev = &got[0].evidence;
        assert_eq!(
            ev.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            ["Revenue\nModel", "Incentives"]
        );
        for p in &got {
            for e in &p.evidence {
                assert_eq!(
                    crate::corpus::slice_chars(&d.text, e.start, e.end).unwrap(),
                    e.text
                );
                assert!(e.start >= p.start && e.end <= p.end);
            }
        }
        assert_eq!(hits.units, [1, 1, 2]);
    }

    #[test]
    fn symbols_multibyte_prefixes_and_shared_patterns() {
        // `über` is a prefix term for x and a whole word for y; `#tag` starts
        // with a symbol; `business mod*` is a phrase ending in a prefix.
        let (cb, d) = setup(
            "c:\n  codes:\n    x:\n      rules:\n        - terms: [\"#tag\", \"über*\", \"business mod*\", co-design]\n    y:\n      rules:\n        - terms: [über]\n",
            "Anna: We use #tag and über.\n\nAnna: Überzeugt by the Business\nModels.\n\nAnna: a#tag and xüber and co-designer.\n",
        );
        let m = Matcher::new(&cb, "english").unwrap();
        let got = m.code(&cb, &d, &BTreeMap::new(), &mut RuleHits::default());
        let summary: Vec<(String, Vec<&str>)> = got
            .iter()
            .map(|p| {
                (
                    p.code.clone(),
                    p.evidence.iter().map(|e| e.text.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("c/x".to_string(), vec!["#tag", "über"]),
                ("c/y".to_string(), vec!["über"]),
                ("c/x".to_string(), vec!["Überzeugt", "Business\nModels"]),
            ]
        );
    }

    #[test]
    fn whole_words_unless_prefix() {
        let (cb, d) = setup(
            "c:\n  codes:\n    x:\n      rules:\n        - terms: [risk, \"co-design\"]\n",
            "Anna: Asterisk and brisk.\n\nAnna: Risky.\n\nAnna: We co-design it.\n\nAnna: Risk!\n",
        );
        let m = Matcher::new(&cb, "english").unwrap();
        let got = m.code(&cb, &d, &BTreeMap::new(), &mut RuleHits::default());
        let texts: Vec<_> = got.iter().map(|p| p.evidence[0].text.as_str()).collect();
        assert_eq!(texts, ["co-design", "Risk"]);
    }
}

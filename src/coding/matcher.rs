//! The compiled codebook: every rule in one automaton and a few regex sets.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};

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
    ac: Option<AhoCorasick>,
    refs: Vec<Vec<PatRef>>,
    regex_sets: BTreeMap<UnitKind, (RegexSet, Vec<usize>, Vec<Regex>)>,
    /// Regexes with required prefix literals: one automaton finds the
    /// literals, and a regex runs only on the units where one occurs.
    literal_ac: Option<AhoCorasick>,
    literal_refs: Vec<Vec<usize>>,
    prefiltered: Vec<(usize, Regex)>,
    query_rules: Vec<usize>,
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
            if prefix_literals(p).is_some() {
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
        let ac = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("term patterns are plain strings")
        });
        let mut regex_sets = BTreeMap::new();
        let mut problems = Vec::new();
        let mut literal_patterns: Vec<Vec<u8>> = Vec::new();
        let mut literal_refs: Vec<Vec<usize>> = Vec::new();
        let mut literal_index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut prefiltered: Vec<(usize, Regex)> = Vec::new();
        for (kind, v) in regex_by_unit {
            let mut rest: Vec<(usize, String, Regex)> = Vec::new();
            for (ri, p) in v {
                let re = match Regex::new(&p) {
                    Ok(r) => r,
                    Err(e) => {
                        problems.push(
                            Diagnostic::error(format!(
                                "`{}`: regex `{p}` cannot be compiled: {}",
                                cb.rule_name(&cb.rules[ri]),
                                e.to_string().lines().last().unwrap_or_default().trim()
                            ))
                            .with_help("simplify the pattern (it may be too large once compiled)"),
                        );
                        continue;
                    }
                };
                match prefix_literals(&p) {
                    Some(lits) => {
                        let slot = prefiltered.len();
                        prefiltered.push((ri, re));
                        for l in lits {
                            let id = *literal_index.entry(l.clone()).or_insert_with(|| {
                                literal_patterns.push(l);
                                literal_refs.push(Vec::new());
                                literal_patterns.len() - 1
                            });
                            literal_refs[id].push(slot);
                        }
                    }
                    None => rest.push((ri, p, re)),
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
                .expect("literal patterns are plain bytes")
        });
        if !problems.is_empty() {
            return Err(Diagnostics(problems));
        }
        let passes = usize::from(ac.is_some())
            + usize::from(literal_ac.is_some())
            + regex_sets.len()
            + usize::from(!query_rules.is_empty());
        Ok(Matcher {
            ac,
            refs,
            regex_sets,
            literal_ac,
            literal_refs,
            prefiltered,
            query_rules,
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
        let mut by_kind: BTreeMap<UnitKind, Vec<&Unit>> = BTreeMap::new();
        for u in &doc.units {
            by_kind.entry(u.kind).or_default().push(u);
        }
        for v in by_kind.values_mut() {
            v.sort_by_key(|u| u.byte_start);
        }
        let containing = |kind: UnitKind, s: usize, e: usize| -> Option<&Unit> {
            let units = by_kind.get(&kind)?;
            let i = units.partition_point(|u| u.byte_start <= s);
            let u = units.get(i.checked_sub(1)?)?;
            (e <= u.byte_end).then_some(*u)
        };
        // (rule, unit id) -> matches; unless hits per (rule, unit id).
        let mut found: BTreeMap<(usize, String), Vec<(usize, usize)>> = BTreeMap::new();
        let mut vetoed: std::collections::HashSet<(usize, String)> =
            std::collections::HashSet::new();

        if let Some(ac) = &self.ac {
            // The one pass over the text for every term of every rule.
            let norm = Normalised::new(text);
            let nt = norm.text.as_bytes();
            let is_word = |b: usize| -> bool {
                norm.text[b..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric)
            };
            let word_before = |b: usize| {
                b > 0
                    && norm.text[..b]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric)
            };
            for m in ac.find_overlapping_iter(norm.text.as_str()) {
                let (ns, ne) = (m.start(), m.end());
                if word_before(ns) {
                    continue;
                }
                for r in &self.refs[m.pattern().as_usize()] {
                    let (rule, prefix, unless) = match *r {
                        PatRef::Term { rule, prefix } => (rule, prefix, false),
                        PatRef::Unless { rule, prefix } => (rule, prefix, true),
                    };
                    let mut end = ne;
                    if prefix {
                        while end < nt.len() && is_word(end) {
                            end += norm.text[end..].chars().next().map_or(1, char::len_utf8);
                        }
                    } else if end < nt.len() && is_word(end) {
                        continue;
                    }
                    let (os, oe) = norm.original(ns, end, text);
                    let kind = cb.rules[rule].unit;
                    let Some(u) = containing(kind, os, oe) else {
                        continue;
                    };
                    if unless {
                        vetoed.insert((rule, u.id.clone()));
                    } else {
                        found
                            .entry((rule, u.id.clone()))
                            .or_default()
                            .push((os, oe));
                    }
                }
            }
        }
        if let Some(lac) = &self.literal_ac {
            // Candidate (regex, unit) pairs from one pass over the raw text.
            let mut candidates: std::collections::BTreeSet<(usize, usize, usize)> =
                std::collections::BTreeSet::new();
            for m in lac.find_overlapping_iter(text) {
                for &slot in &self.literal_refs[m.pattern().as_usize()] {
                    let rule = self.prefiltered[slot].0;
                    if let Some(u) = containing(cb.rules[rule].unit, m.start(), m.start()) {
                        candidates.insert((slot, u.byte_start, u.byte_end));
                    }
                }
            }
            for (slot, us, ue) in candidates {
                let (rule, re) = &self.prefiltered[slot];
                let Some(u) = containing(cb.rules[*rule].unit, us, ue) else {
                    continue;
                };
                for m in re.find_iter(&text[us..ue]) {
                    if m.start() != m.end() {
                        found
                            .entry((*rule, u.id.clone()))
                            .or_default()
                            .push((us + m.start(), us + m.end()));
                    }
                }
            }
        }
        for (kind, (set, rules, compiled)) in &self.regex_sets {
            for u in by_kind.get(kind).into_iter().flatten() {
                let ut = &text[u.byte_start..u.byte_end];
                for i in set.matches(ut).iter() {
                    let rule = rules[i];
                    for m in compiled[i].find_iter(ut) {
                        if m.start() == m.end() {
                            continue;
                        }
                        found
                            .entry((rule, u.id.clone()))
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
                for u in by_kind.get(&cb.rules[rule].unit).into_iter().flatten() {
                    let view = UnitView {
                        text: &text[u.byte_start..u.byte_end],
                        path: &doc.path,
                        speaker: u.speaker.as_deref(),
                        respondent: u.respondent,
                        attributes,
                    };
                    if ev.matches(node, &view) {
                        found
                            .entry((rule, u.id.clone()))
                            .or_default()
                            .push((u.byte_start, u.byte_end));
                    }
                }
            }
        }

        let units: HashMap<&str, &Unit> = doc.units.iter().map(|u| (u.id.as_str(), u)).collect();
        let chars = CharMap::new(text);
        let mut passages: BTreeMap<(usize, usize, String), CodedPassage> = BTreeMap::new();
        for ((rule_i, unit_id), matches) in found {
            let rule: &Rule = &cb.rules[rule_i];
            let Some(u) = units.get(unit_id.as_str()) else {
                continue;
            };
            if vetoed.contains(&(rule_i, unit_id.clone())) || !modifiers_allow(rule, u) {
                continue;
            }
            hits.units[rule_i] += 1;
            let code = &cb.codes[rule.code];
            let key = (u.byte_start, u.byte_end, code.path.clone());
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
            let mut seen = std::collections::HashSet::new();
            for (s, e) in matches {
                if !seen.insert((s, e)) {
                    continue;
                }
                p.evidence.push(Evidence {
                    rule: cb.rule_name(rule),
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

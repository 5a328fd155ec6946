//! The compiled codebook: every rule in one automaton and a few regex sets.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};
use regex_automata::meta::Regex as MetaRegex;
use regex_automata::{Anchored, Input};
use rustc_hash::{FxHashMap, FxHashSet};

use super::eval::{Evaluator, UnitView};
use super::{CodedPassage, Evidence, Source};
use crate::analysis::{Normalised, lower_same_len, normalise};
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
    /// Regexes with required prefix literals are tried, anchored, only where
    /// one of their literals starts. A literal that starts with a word
    /// character, of a regex that begins with `\b`, can only start a match at
    /// the start of a word: those are looked up in the pass over the words.
    /// The other literals are found by one automaton over the normalised text.
    literal_ac: Option<AhoCorasick>,
    /// Per literal of `literal_ac`: the prefiltered regexes it starts.
    literal_refs: Vec<Vec<usize>>,
    /// Per literal of `literal_ac`: it starts with a letter or digit.
    literal_word_start: Vec<bool>,
    /// Word-start literals of word characters only: the regexes they start.
    word_literals: FxHashMap<Box<str>, Vec<usize>>,
    /// The distinct byte lengths of `word_literals` keys.
    word_literal_lens: Vec<usize>,
    /// Word-start literals that go on past their first word, by that word:
    /// (the literal's number in `long_literals`, the regex slot).
    long_word_literals: FxHashMap<Box<str>, Vec<(usize, usize)>>,
    long_literals: Vec<Box<str>>,
    prefiltered: Vec<Prefiltered>,
    query_rules: Vec<usize>,
    /// `family/code#rN` per rule, for evidence.
    rule_names: Vec<String>,
    /// Per rule, its place among the rule names in text order; per code,
    /// its place among the code paths: passages and their evidence are
    /// ordered by these.
    rule_ranks: Vec<u32>,
    code_ranks: Vec<u32>,
    language: String,
    /// This matcher's id, for the answers remembered per thread.
    id: u64,
    /// How many text passes a document costs (for the benchmark and tests).
    pub passes_per_document: usize,
}

/// Text passes per document for a codebook: one over the words for all
/// terms and for the literals that start words, one for the other literals
/// of all regexes that have some, one per unit kind with regexes that have
/// none, one for query rules; never one per rule. 0 if it does not compile.
pub fn passes_for(cb: &Codebook) -> usize {
    Matcher::new(cb, "english").map_or(0, |m| m.passes_per_document)
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
        out.insert(normalise(&s));
    }
    Some(out.into_iter().collect())
}

/// A regex run only where one of its prefix literals occurs.
struct Prefiltered {
    rule: usize,
    regex: MetaRegex,
    /// The pattern begins with `\b`.
    word_boundary_start: bool,
    /// Every match lies inside one run of word characters (see
    /// [`word_confined`]), so a search from the start of a run gives the
    /// same answer wherever the same run occurs.
    word_confined: bool,
}

/// True when every character a pattern can match is a word character and its
/// only assertions are word boundaries: a match then lies inside one run of
/// word characters, and a search anchored at the start of a run depends on
/// that run alone (whatever comes before or after it is not a word character,
/// which every word-boundary assertion treats alike).
fn word_confined(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, Hir, HirKind, Look};
    fn confined(h: &Hir, word: &regex_syntax::hir::ClassUnicode) -> bool {
        match h.kind() {
            HirKind::Empty => true,
            HirKind::Literal(l) => std::str::from_utf8(&l.0)
                .is_ok_and(|s| s.chars().all(regex_syntax::is_word_character)),
            HirKind::Class(Class::Unicode(c)) => {
                let mut outside = c.clone();
                outside.difference(word);
                outside.ranges().is_empty()
            }
            HirKind::Class(Class::Bytes(_)) => false,
            HirKind::Look(l) => matches!(
                l,
                Look::WordAscii
                    | Look::WordAsciiNegate
                    | Look::WordUnicode
                    | Look::WordUnicodeNegate
                    | Look::WordStartAscii
                    | Look::WordEndAscii
                    | Look::WordStartUnicode
                    | Look::WordEndUnicode
                    | Look::WordStartHalfAscii
                    | Look::WordEndHalfAscii
                    | Look::WordStartHalfUnicode
                    | Look::WordEndHalfUnicode
            ),
            HirKind::Repetition(r) => confined(&r.sub, word),
            HirKind::Capture(c) => confined(&c.sub, word),
            HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().all(|h| confined(h, word)),
        }
    }
    let (Ok(hir), Ok(w)) = (regex_syntax::parse(pattern), regex_syntax::parse(r"\w")) else {
        return false;
    };
    let HirKind::Class(Class::Unicode(word)) = w.kind() else {
        return false;
    };
    confined(&hir, word)
}

thread_local! {
    /// Answers of word-confined regexes by the word they were tried on, kept
    /// across the documents a thread codes (natural text repeats its words):
    /// (the matcher they belong to, word -> [(regex slot, match length)]).
    static WORD_ANSWERS: std::cell::RefCell<(u64, WordAnswers)> =
        std::cell::RefCell::new((0, FxHashMap::default()));
}

type WordAnswers = FxHashMap<Box<str>, Vec<(u32, Option<u32>)>>;

/// Words remembered per thread before the answers are forgotten (a few
/// megabytes; the frequent words come back first).
const WORD_ANSWERS_MAX: usize = 1 << 16;

/// Matcher ids, for [`WORD_ANSWERS`] (0 is nobody).
static MATCHER_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A word character as regexes define them (`\w`), quickly for ASCII.
fn is_regex_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        regex_syntax::is_word_character(c)
    }
}

/// The end of the run of word characters (as regexes define them) that
/// starts at `pos`.
fn word_run_end(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = pos;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if !(b.is_ascii_alphanumeric() || b == b'_') {
                break;
            }
            i += 1;
        } else {
            match text[i..].chars().next() {
                Some(c) if is_regex_word(c) => i += c.len_utf8(),
                _ => break,
            }
        }
    }
    i
}

/// True when no word character (as regexes define them) comes right before
/// `pos` after `floor`.
fn at_run_start(text: &str, pos: usize, floor: usize) -> bool {
    pos <= floor
        || !text[floor..pos]
            .chars()
            .next_back()
            .is_some_and(is_regex_word)
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
    let n = bytes.len();
    // Letters and digits beyond ASCII are decoded; ASCII is one byte test.
    let alnum_at = |i: usize| -> Option<usize> {
        let b = bytes[i];
        if b < 0x80 {
            return b.is_ascii_alphanumeric().then_some(1);
        }
        let c = text[i..].chars().next()?;
        c.is_alphanumeric().then(|| c.len_utf8())
    };
    let mut i = 0;
    while i < n {
        if bytes[i] < 0x80 && !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let Some(len) = alnum_at(i) else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let start = i;
        i += len;
        while i < n {
            if bytes[i].is_ascii_alphanumeric() {
                i += 1;
            } else if bytes[i] >= 0x80
                && let Some(len) = alnum_at(i)
            {
                i += len;
            } else {
                break;
            }
        }
        f(start, i);
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

/// The place of each name among the names in text order.
fn ranks<S: AsRef<str>>(names: &[S]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].as_ref().cmp(names[b].as_ref()));
    let mut ranks = vec![0u32; names.len()];
    for (rank, i) in order.into_iter().enumerate() {
        ranks[i] = rank as u32;
    }
    ranks
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
        let mut word_literals: FxHashMap<Box<str>, Vec<usize>> = FxHashMap::default();
        let mut long_word_literals: FxHashMap<Box<str>, Vec<(usize, usize)>> = FxHashMap::default();
        let mut long_literals: Vec<Box<str>> = Vec::new();
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
                    let word_boundary_start = starts_with_word_boundary(&p);
                    prefiltered.push(Prefiltered {
                        rule: ri,
                        regex: re,
                        word_boundary_start,
                        word_confined: word_confined(&p),
                    });
                    for l in lits {
                        // After `\b`, a word character starts a word.
                        let word_start = l.chars().next().is_some_and(|c| {
                            c.is_alphanumeric() && regex_syntax::is_word_character(c)
                        });
                        if word_boundary_start && word_start {
                            match first_word(&l) {
                                Some(w) if w.len() < l.len() => {
                                    long_word_literals
                                        .entry(w.into())
                                        .or_default()
                                        .push((long_literals.len(), slot));
                                    long_literals.push(l.as_str().into());
                                }
                                _ => word_literals.entry(l.into()).or_default().push(slot),
                            }
                            continue;
                        }
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
        let mut word_literal_lens: Vec<usize> = word_literals.keys().map(|k| k.len()).collect();
        word_literal_lens.sort_unstable();
        word_literal_lens.dedup();
        let word_pass =
            !patterns.is_empty() || !word_literals.is_empty() || !long_word_literals.is_empty();
        let passes = usize::from(word_pass)
            + usize::from(literal_ac.is_some())
            + regex_sets.len()
            + usize::from(!query_rules.is_empty());
        let rule_names: Vec<String> = cb.rules.iter().map(|r| cb.rule_name(r)).collect();
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
            word_literals,
            word_literal_lens,
            long_word_literals,
            long_literals,
            prefiltered,
            query_rules,
            rule_ranks: ranks(&rule_names),
            code_ranks: ranks(&cb.codes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>()),
            rule_names,
            id: MATCHER_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
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
        let mut finder = UnitFinder::new(units);
        // (rule, unit index, match start, match end), in no particular order.
        let mut found: Vec<(usize, usize, usize, usize)> = Vec::new();
        // (rule, unit index) with an `unless` term.
        let mut vetoed: FxHashSet<(usize, usize)> = FxHashSet::default();
        // Per prefiltered regex: (unit index, byte) where it may start.
        let mut candidates: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.prefiltered.len()];

        let word_pass = !self.patterns.is_empty()
            || !self.word_literals.is_empty()
            || !self.long_word_literals.is_empty();
        let norm =
            (self.odd_ac.is_some() || self.literal_ac.is_some()).then(|| Normalised::new(text));
        let mut sink = Sink {
            cb,
            text,
            finder: &mut finder,
            found: &mut found,
            vetoed: &mut vetoed,
            candidates: &mut candidates,
        };
        if word_pass {
            // The one pass over the words for every term of every rule and
            // for the literals that start words. What a word can start is
            // worked out once per distinct word and remembered.
            WORD_PLANS.with_borrow_mut(|wp| {
                if wp.owner != self.id || wp.short.len() + wp.long.len() > WORD_PLANS_MAX {
                    wp.short.clear();
                    wp.long.clear();
                    wp.events.clear();
                    wp.owner = self.id;
                }
                for_each_word(text, |ws, we| {
                    let key = short_key(text, ws, we);
                    let known = match key {
                        Some(k) => wp.short.get(&k),
                        None => wp.long.get(&text[ws..we]),
                    };
                    let (at, len) = match known {
                        Some(&(at, len)) => (at as usize, len as usize),
                        None => {
                            let plan = self.plan(&text[ws..we]);
                            let v = (wp.events.len() as u32, plan.len() as u32);
                            wp.events.extend_from_slice(&plan);
                            match key {
                                Some(k) => wp.short.insert(k, v),
                                None => wp.long.insert(text[ws..we].into(), v),
                            };
                            (v.0 as usize, v.1 as usize)
                        }
                    };
                    for i in at..at + len {
                        self.apply(&mut sink, wp.events[i], ws, we);
                    }
                });
            });
        }
        if let (Some((ac, ids)), Some(norm)) = (&self.odd_ac, &norm) {
            let nt = norm.text.as_str();
            for m in ac.find_overlapping_iter(nt) {
                let ns = m.start();
                let word_before = nt[..ns]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric);
                if !word_before {
                    self.emit_term(&mut sink, norm, ids[m.pattern().as_usize()], ns, m.end());
                }
            }
        }
        if let (Some(lac), Some(norm)) = (&self.literal_ac, &norm) {
            // Where the other prefiltered regexes may start: one pass over
            // the normalised text for their literals.
            let bytes = text.as_bytes();
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
                    if let Some(u) = finder.containing(cb.rules[p.rule].unit, pos, pos) {
                        candidates[slot].push((u, pos));
                    }
                }
            }
        }
        WORD_ANSWERS.with_borrow_mut(|(owner, answers)| {
            if *owner != self.id || answers.len() > WORD_ANSWERS_MAX {
                answers.clear();
                *owner = self.id;
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
                    let search = || {
                        let input = Input::new(ut)
                            .range(pos - u.byte_start..)
                            .anchored(Anchored::Yes);
                        p.regex
                            .search(&input)
                            .filter(|m| m.start() != m.end())
                            .map(|m| u.byte_start + m.end() - pos)
                    };
                    let len = if p.word_confined && at_run_start(text, pos, u.byte_start) {
                        let run = &text[pos..word_run_end(text, pos).min(u.byte_end)];
                        let known = answers.get(run).and_then(|v| {
                            v.iter().find(|(s, _)| *s == slot as u32).map(|(_, a)| *a)
                        });
                        match known {
                            Some(a) => a.map(|l| l as usize),
                            None => {
                                let a = search();
                                answers
                                    .entry(run.into())
                                    .or_default()
                                    .push((slot as u32, a.map(|l| l as u32)));
                                a
                            }
                        }
                    } else {
                        search()
                    };
                    if let Some(len) = len {
                        found.push((p.rule, ui, pos, pos + len));
                        resume = pos + len;
                    }
                }
            }
        });
        for (kind, (set, rules, compiled)) in &self.regex_sets {
            for &ui in finder.indices(*kind) {
                let u = &units[ui];
                let ut = &text[u.byte_start..u.byte_end];
                for i in set.matches(ut).iter() {
                    for m in compiled[i].find_iter(ut) {
                        if m.start() != m.end() {
                            found.push((
                                rules[i],
                                ui,
                                u.byte_start + m.start(),
                                u.byte_start + m.end(),
                            ));
                        }
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
                for &ui in finder.indices(cb.rules[rule].unit) {
                    let u = &units[ui];
                    let view = UnitView {
                        text: &text[u.byte_start..u.byte_end],
                        path: &doc.path,
                        speaker: u.speaker.as_deref(),
                        respondent: u.respondent,
                        attributes,
                    };
                    if ev.matches(node, &view) {
                        found.push((rule, ui, u.byte_start, u.byte_end));
                    }
                }
            }
        }

        found.sort_unstable();
        found.dedup();
        // The (rule, unit) groups that code their unit: (unit bytes, code
        // rank, where the group is in `found`), in passage order.
        let mut groups: Vec<(usize, usize, u32, u32, u32)> = Vec::new();
        let mut at = 0;
        for group in found.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let range = (at as u32, (at + group.len()) as u32);
            at += group.len();
            let (rule_i, ui) = (group[0].0, group[0].1);
            let rule: &Rule = &cb.rules[rule_i];
            let u = &units[ui];
            if vetoed.contains(&(rule_i, ui)) || !modifiers_allow(rule, u) {
                continue;
            }
            hits.units[rule_i] += 1;
            let rank = self.code_ranks[rule.code];
            groups.push((u.byte_start, u.byte_end, rank, range.0, range.1));
        }
        groups.sort_unstable();
        let chars = CharMap::new(text);
        let mut out: Vec<CodedPassage> = Vec::new();
        // (match bytes, rule rank, rule), to order the evidence.
        let mut matches: Vec<(usize, usize, u32, usize)> = Vec::new();
        for same in groups.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
            matches.clear();
            for &(_, _, _, from, to) in same {
                for &(rule, _, s, e) in &found[from as usize..to as usize] {
                    matches.push((s, e, self.rule_ranks[rule], rule));
                }
            }
            matches.sort_unstable();
            let (rule_i, ui) = (found[same[0].3 as usize].0, found[same[0].3 as usize].1);
            let u = &units[ui];
            out.push(CodedPassage {
                code: cb.codes[cb.rules[rule_i].code].path.clone(),
                source: Source::Auto,
                start: u.start,
                end: u.end,
                byte_start: u.byte_start,
                byte_end: u.byte_end,
                unit: Some(u.id.as_str().to_string()),
                evidence: matches
                    .iter()
                    .map(|&(s, e, _, rule)| Evidence {
                        rule: self.rule_names[rule].clone(),
                        kind: cb.rules[rule].kind_name().into(),
                        start: chars.char_at(s),
                        end: chars.char_at(e),
                        text: text[s..e].to_string(),
                    })
                    .collect(),
                memo: None,
                anchor: None,
                accepted: false,
            });
        }
        out
    }

    /// Records a term (or `unless` term) found at normalised bytes `ns..ne`
    /// of `norm` (for terms that start with a symbol).
    fn emit_term(&self, sink: &mut Sink, norm: &Normalised, pid: usize, ns: usize, ne: usize) {
        let nt = norm.text.as_str();
        for r in &self.refs[pid] {
            let (rule, prefix, unless) = r.parts();
            let mut end = ne;
            if prefix {
                end = alnum_run_end(nt, end);
            } else if starts_alnum(nt, end) {
                continue;
            }
            let (os, oe) = norm.original(ns, end, sink.text);
            sink.record(rule, unless, os, oe);
        }
    }

    /// What the word `w` (as it is in the text) can start, in the order the
    /// events are applied: the terms it completes or begins, and where the
    /// prefiltered regexes may start in it, with the answer itself for
    /// regexes confined to a run of word characters when `w` is one such run.
    fn plan(&self, w: &str) -> Vec<Event> {
        // Normalising keeps a word's byte offsets: only whitespace changes length.
        let lw: String = w.chars().map(lower_same_len).collect();
        let n = lw.len();
        let mut events = Vec::new();
        let term = |pid: usize, len: usize, events: &mut Vec<Event>| {
            for r in &self.refs[pid] {
                let (rule, prefix, unless) = r.parts();
                // A prefix runs to the end of the word; a whole term must fill it.
                if prefix || len == n {
                    events.push(Event::Term {
                        rule: rule as u32,
                        end: n as u32,
                        unless,
                    });
                }
            }
        };
        if let Some(ids) = self.by_first_word.get(lw.as_str()) {
            for &pid in ids {
                if self.patterns[pid].len() == n {
                    term(pid, n, &mut events);
                } else {
                    events.push(Event::Phrase { pid: pid as u32 });
                }
            }
        }
        for &len in &self.prefix_lens {
            if len >= n {
                break;
            }
            if !lw.is_char_boundary(len) {
                continue;
            }
            if let Some(ids) = self.by_prefix.get(&lw[..len]) {
                for &pid in ids {
                    term(pid, len, &mut events);
                }
            }
        }
        let whole_run = word_run_end(w, 0) == w.len();
        let look = |s: usize, events: &mut Vec<Event>| {
            let rest = &lw[s..];
            for &len in &self.word_literal_lens {
                if len > rest.len() {
                    break;
                }
                if !rest.is_char_boundary(len) {
                    continue;
                }
                for &slot in self.word_literals.get(&rest[..len]).into_iter().flatten() {
                    let p = &self.prefiltered[slot];
                    events.push(if s == 0 && whole_run && p.word_confined {
                        let input = Input::new(w).anchored(Anchored::Yes);
                        let len = p.regex.search(&input).map_or(0, |m| m.end());
                        Event::Answer {
                            slot: slot as u32,
                            len: len as u32,
                        }
                    } else {
                        Event::Literal {
                            slot: slot as u32,
                            at: s as u32,
                        }
                    });
                }
            }
            for &(lit, slot) in self.long_word_literals.get(rest).into_iter().flatten() {
                events.push(Event::LongLiteral {
                    slot: slot as u32,
                    at: s as u32,
                    lit: lit as u32,
                });
            }
        };
        // Regex words start at the word and after any letter or digit in it
        // that regexes do not count as a word character (`²`).
        look(0, &mut events);
        if !lw.is_ascii() {
            for (i, c) in lw.char_indices() {
                let next = i + c.len_utf8();
                if !regex_syntax::is_word_character(c) && next < n {
                    look(next, &mut events);
                }
            }
        }
        events.sort_unstable();
        events.dedup();
        events
    }

    /// Applies one event of the plan of the word at bytes `ws..we`.
    fn apply(&self, sink: &mut Sink, ev: Event, ws: usize, we: usize) {
        let text = sink.text;
        match ev {
            Event::Term { rule, end, unless } => {
                sink.record(rule as usize, unless, ws, ws + end as usize);
            }
            Event::Phrase { pid } => {
                let pid = pid as usize;
                let Some(ne) = match_normalised(text, ws, &self.patterns[pid]) else {
                    return;
                };
                for r in &self.refs[pid] {
                    let (rule, prefix, unless) = r.parts();
                    let mut end = ne;
                    if prefix {
                        end = alnum_run_end(text, end);
                    } else if starts_alnum(text, end) {
                        continue;
                    }
                    sink.record(rule, unless, ws, end);
                }
            }
            Event::Literal { slot, at } => {
                self.push_candidate(sink, slot as usize, ws + at as usize)
            }
            Event::LongLiteral { slot, at, lit } => {
                let pos = ws + at as usize;
                if match_normalised(text, pos, &self.long_literals[lit as usize]).is_some() {
                    self.push_candidate(sink, slot as usize, pos);
                }
            }
            Event::Answer { slot, len } => {
                // The answer holds where the word is a whole run of word
                // characters (nothing that regexes count as one on either
                // side) inside one unit; elsewhere the regex is tried there.
                let p = &self.prefiltered[slot as usize];
                let alone = !text[..ws].chars().next_back().is_some_and(is_regex_word)
                    && !text[we..].chars().next().is_some_and(is_regex_word);
                if alone && let Some(u) = sink.finder.containing(sink.cb.rules[p.rule].unit, ws, we)
                {
                    if len > 0 {
                        sink.found.push((p.rule, u, ws, ws + len as usize));
                    }
                    return;
                }
                self.push_candidate(sink, slot as usize, ws);
            }
        }
    }

    /// Notes that prefiltered regex `slot` may start at byte `pos`.
    fn push_candidate(&self, sink: &mut Sink, slot: usize, pos: usize) {
        let bytes = sink.text.as_bytes();
        // A word character right before: the regex's leading `\b` fails.
        if pos > 0 && (bytes[pos - 1].is_ascii_alphanumeric() || bytes[pos - 1] == b'_') {
            return;
        }
        let p = &self.prefiltered[slot];
        if let Some(u) = sink.finder.containing(sink.cb.rules[p.rule].unit, pos, pos) {
            sink.candidates[slot].push((u, pos));
        }
    }
}

/// What a word can start, worked out once per distinct word
/// ([`Matcher::plan`]) and applied wherever the word occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A term of `rule` (an `unless` term when `unless`) over the word's
    /// first `end` bytes.
    Term { rule: u32, end: u32, unless: bool },
    /// A term that goes on past the word: compared with the text after it.
    Phrase { pid: u32 },
    /// Prefiltered regex `slot` may start `at` bytes into the word.
    Literal { slot: u32, at: u32 },
    /// The same, once `long_literals[lit]` is found there.
    LongLiteral { slot: u32, at: u32, lit: u32 },
    /// Word-confined regex `slot` tried on the word alone: the length of
    /// its match, 0 for none.
    Answer { slot: u32, len: u32 },
}

/// Plans by word, per thread (natural text repeats its words).
#[derive(Default)]
struct WordPlans {
    /// The matcher they belong to.
    owner: u64,
    /// Words of up to 16 bytes by [`short_key`], longer ones by themselves:
    /// where their plans are in `events` (start, length), kept in the table
    /// itself so that a word without events costs one lookup.
    short: FxHashMap<u128, (u32, u32)>,
    long: FxHashMap<Box<str>, (u32, u32)>,
    events: Vec<Event>,
}

/// The word at bytes `ws..we` of `text`, when it is at most 16 bytes long,
/// as one number (its bytes, zero-padded: words hold no zero bytes), to be
/// hashed and compared without a call to `memcmp`.
fn short_key(text: &str, ws: usize, we: usize) -> Option<u128> {
    let len = we - ws;
    if len > 16 {
        return None;
    }
    let bytes = text.as_bytes();
    let mut k = [0u8; 16];
    if ws + 16 <= bytes.len() {
        // One unaligned load, then keep the word's bytes.
        k.copy_from_slice(&bytes[ws..ws + 16]);
        let all = u128::from_le_bytes(k);
        return Some(if len == 16 {
            all
        } else {
            all & ((1u128 << (8 * len)) - 1)
        });
    }
    k[..len].copy_from_slice(&bytes[ws..we]);
    Some(u128::from_le_bytes(k))
}

thread_local! {
    static WORD_PLANS: std::cell::RefCell<WordPlans> = std::cell::RefCell::new(WordPlans::default());
}

/// Words planned per thread before the plans are forgotten.
const WORD_PLANS_MAX: usize = 1 << 17;

/// Where normalised `pattern` matches `text` from byte `pos` (case folded
/// as [`Normalised`] does, a space for any run of whitespace): the end.
fn match_normalised(text: &str, mut pos: usize, pattern: &str) -> Option<usize> {
    let is_space = |c: char| c.is_whitespace();
    for pc in pattern.chars() {
        if pc == ' ' {
            let rest = &text[pos..];
            let skipped = rest.len() - rest.trim_start_matches(is_space).len();
            if skipped == 0 {
                return None;
            }
            pos += skipped;
        } else {
            let c = text[pos..].chars().next()?;
            if lower_same_len(c) != pc {
                return None;
            }
            pos += c.len_utf8();
        }
    }
    Some(pos)
}

/// True when a letter or digit starts at byte `at`.
fn starts_alnum(text: &str, at: usize) -> bool {
    text[at..].chars().next().is_some_and(char::is_alphanumeric)
}

/// The end of the run of letters and digits from byte `at`.
fn alnum_run_end(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    at + rest.len() - rest.trim_start_matches(char::is_alphanumeric).len()
}

impl PatRef {
    /// (rule, used as a prefix, an `unless` term).
    fn parts(self) -> (usize, bool, bool) {
        match self {
            PatRef::Term { rule, prefix } => (rule, prefix, false),
            PatRef::Unless { rule, prefix } => (rule, prefix, true),
        }
    }
}

/// What the pass over the words records into.
struct Sink<'a, 'b> {
    cb: &'a Codebook,
    text: &'a str,
    finder: &'b mut UnitFinder<'a>,
    found: &'b mut Vec<(usize, usize, usize, usize)>,
    vetoed: &'b mut FxHashSet<(usize, usize)>,
    candidates: &'b mut Vec<Vec<(usize, usize)>>,
}

impl Sink<'_, '_> {
    /// Records a term of `rule` at bytes `s..e`, in the unit of the rule's
    /// kind that holds it.
    fn record(&mut self, rule: usize, unless: bool, s: usize, e: usize) {
        let Some(u) = self.finder.containing(self.cb.rules[rule].unit, s, e) else {
            return;
        };
        if unless {
            self.vetoed.insert((rule, u));
        } else {
            self.found.push((rule, u, s, e));
        }
    }
}

/// Finds the unit of a kind that holds a span. Spans come mostly in text
/// order, so the last answer (or the next unit) is tried before a binary
/// search.
struct UnitFinder<'a> {
    units: &'a [Unit],
    /// Per kind: unit indices in text order, and the last answer's position.
    by_kind: Vec<(UnitKind, Vec<usize>, usize)>,
}

impl<'a> UnitFinder<'a> {
    fn new(units: &'a [Unit]) -> UnitFinder<'a> {
        let mut by_kind: Vec<(UnitKind, Vec<usize>, usize)> = Vec::new();
        for (i, u) in units.iter().enumerate() {
            match by_kind.iter_mut().find(|(k, _, _)| *k == u.kind) {
                Some((_, v, _)) => v.push(i),
                None => by_kind.push((u.kind, vec![i], 0)),
            }
        }
        for (_, v, _) in &mut by_kind {
            v.sort_by_key(|&i| units[i].byte_start);
        }
        by_kind.sort_by_key(|(k, _, _)| *k);
        UnitFinder { units, by_kind }
    }

    /// The indices of the units of a kind, in text order.
    fn indices(&self, kind: UnitKind) -> &[usize] {
        self.by_kind
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map_or(&[], |(_, v, _)| v.as_slice())
    }

    /// The unit of `kind` that holds bytes `s..e`: the last one starting at
    /// or before `s`, if it ends at or after `e`.
    fn containing(&mut self, kind: UnitKind, s: usize, e: usize) -> Option<usize> {
        let units = self.units;
        let (_, idx, last) = self.by_kind.iter_mut().find(|(k, _, _)| *k == kind)?;
        let is_last_start = |k: usize| {
            units[idx[k]].byte_start <= s && idx.get(k + 1).is_none_or(|&n| units[n].byte_start > s)
        };
        let k = if *last < idx.len() && is_last_start(*last) {
            *last
        } else if *last + 1 < idx.len() && is_last_start(*last + 1) {
            *last + 1
        } else {
            idx.partition_point(|&u| units[u].byte_start <= s)
                .checked_sub(1)?
        };
        *last = k;
        let u = idx[k];
        (e <= units[u].byte_end).then_some(u)
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

    /// `rounds` transcripts of one turn each, words and separators drawn
    /// with a fixed-seed generator.
    fn random_turns(words: &[&str], seps: &[&str], seed: u64, rounds: usize) -> Vec<String> {
        let mut state = seed;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        (0..rounds)
            .map(|_| {
                let mut text = String::from("Anna: ");
                for _ in 0..(5 + next(40)) {
                    text.push_str(words[next(words.len())]);
                    text.push_str(seps[next(seps.len())]);
                }
                text.push('\n');
                text
            })
            .collect()
    }

    /// Every match behind the passages, as (rule, start, end), sorted.
    fn evidence_of(passages: &[CodedPassage]) -> Vec<(String, usize, usize)> {
        let mut all: Vec<(String, usize, usize)> = passages
            .iter()
            .flat_map(|p| p.evidence.iter())
            .map(|e| (e.rule.clone(), e.start, e.end))
            .collect();
        all.sort();
        all
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

    /// Prefiltered regexes (looked up at word starts, found by the literal
    /// automaton, answered from remembered words) find exactly what
    /// `find_iter` over each unit finds, on texts made to trip them up:
    /// case, `_` and combining marks inside words, `²` before a word,
    /// multi-word literals, units that end inside a word's run.
    #[test]
    fn prefiltered_regexes_find_what_find_iter_finds() {
        let rules = [
            (r"(?i)\bkal\w*er\b", "paragraph"),
            (r"\bKal\w*", "sentence"),
            (r"(?i)\bser\w*\s+contract", "paragraph"),
            (r"(?i)kal\w+", "paragraph"),
            (r"\bél\w*", "paragraph"),
            (r"(?i)\bco-op\w*", "sentence"),
            (r"\b_x\w*", "paragraph"),
            (r"(?i)\bab(?:c|d)\b", "paragraph"),
            (r"\bab\w", "turn"),
        ];
        let mut cb_text = String::from("c:\n  codes:\n");
        for (i, (re, unit)) in rules.iter().enumerate() {
            cb_text.push_str(&format!(
                "    r{i}:\n      rules:\n        - regex: '{re}'\n          unit: {unit}\n"
            ));
        }
        let words = [
            "kal",
            "Kalber",
            "KALBER",
            "kalber_x",
            "x_kalber",
            "²kalber",
            "ékalber",
            "élan",
            "Élan",
            "co-op",
            "co-operate",
            "Co-Op",
            "service",
            "contract",
            "ser",
            "_xy",
            "a_xy",
            "abc",
            "abd",
            "abcd",
            "kalb\u{301}er",
            "Kal.",
            "ab",
        ];
        let seps = [
            " ",
            " ",
            " ",
            "\n",
            "\n\nAnna: ",
            ". ",
            ", ",
            "–",
            "_",
            "! ",
            "\u{301}",
        ];
        for (round, text) in random_turns(&words, &seps, 0x9e37_79b9_7f4a_7c15, 300)
            .into_iter()
            .enumerate()
        {
            let (cb, d) = setup(&cb_text, &text);
            let m = Matcher::new(&cb, "english").unwrap();
            let got = m.code(&cb, &d, &BTreeMap::new(), &mut RuleHits::default());
            let have = evidence_of(&got);
            let chars = CharMap::new(&d.text);
            let mut want = Vec::new();
            for (ri, rule) in cb.rules.iter().enumerate() {
                let RuleKind::Regex(p) = &rule.kind else {
                    continue;
                };
                let re = Regex::new(p).unwrap();
                for u in d.units.iter().filter(|u| u.kind == rule.unit) {
                    for x in re.find_iter(&d.text[u.byte_start..u.byte_end]) {
                        if x.start() != x.end() {
                            want.push((
                                m.rule_names[ri].clone(),
                                chars.char_at(u.byte_start + x.start()),
                                chars.char_at(u.byte_start + x.end()),
                            ));
                        }
                    }
                }
            }
            want.sort();
            want.dedup();
            assert_eq!(have, want, "round {round}: {text:?}");
        }
        // The literals of `\b` regexes that start with a word character are
        // looked up at word starts; `kal\w+` and `\b_x\w*` need the automaton.
        let (cb, _) = setup(&cb_text, "Anna: x\n");
        let m = Matcher::new(&cb, "english").unwrap();
        assert!(m.word_literals.contains_key("kal") && m.word_literals.contains_key("ab"));
        assert!(m.long_word_literals.contains_key("co"));
        let scanned: std::collections::BTreeSet<usize> = m
            .literal_refs
            .iter()
            .flatten()
            .map(|&slot| m.prefiltered[slot].rule)
            .collect();
        assert_eq!(scanned, [3, 6].into());
        let mut confined: Vec<(usize, bool)> = m
            .prefiltered
            .iter()
            .map(|p| (p.rule, p.word_confined))
            .collect();
        confined.sort();
        assert_eq!(
            confined.iter().map(|c| c.1).collect::<Vec<_>>(),
            [true, true, false, true, true, false, true, true, true]
        );
    }

    /// Terms looked up word by word, through the per-word plans, find what
    /// a plain search of the normalised text finds: case, whitespace runs
    /// inside phrases, prefixes, multi-byte letters, words glued to digits
    /// or `_`, and words repeated across documents (plans are remembered).
    #[test]
    fn terms_find_what_a_search_of_the_normalised_text_finds() {
        let terms = [
            ("über*", "paragraph"),
            ("revenue model", "paragraph"),
            ("model", "sentence"),
            ("mod*", "turn"),
            ("co-design", "paragraph"),
            ("risk", "paragraph"),
            ("ris*", "sentence"),
            ("2 step", "paragraph"),
            ("revenue model*", "turn"),
            ("über", "sentence"),
        ];
        let mut cb_text = String::from("c:\n  codes:\n");
        for (i, (t, unit)) in terms.iter().enumerate() {
            cb_text.push_str(&format!(
                "    t{i}:\n      rules:\n        - terms: [\"{t}\"]\n          unit: {unit}\n"
            ));
        }
        let words = [
            "Über",
            "über",
            "ÜBERALL",
            "xüber",
            "revenue",
            "Revenue",
            "REVENUE",
            "model",
            "Models",
            "modelling",
            "mod",
            "co-design",
            "Co-Design",
            "co",
            "design",
            "risk",
            "Risky",
            "brisk",
            "risk2",
            "2",
            "step",
            "Steps",
            "_risk",
            "risk_",
            "rîsk",
        ];
        let seps = [
            " ",
            " ",
            "  ",
            "\n",
            "\t",
            "\n\nAnna: ",
            ". ",
            ", ",
            "-",
            "_",
            "\u{301}",
        ];
        let (cb, _) = setup(&cb_text, "Anna: x\n");
        let m = Matcher::new(&cb, "english").unwrap();
        for (round, text) in random_turns(&words, &seps, 0x1234_5678_9abc_def1, 300)
            .into_iter()
            .enumerate()
        {
            let (_, d) = setup(&cb_text, &text);
            let got = m.code(&cb, &d, &BTreeMap::new(), &mut RuleHits::default());
            let have = evidence_of(&got);
            let norm = Normalised::new(&d.text);
            let nt = norm.text.as_str();
            let chars = CharMap::new(&d.text);
            let mut want = Vec::new();
            for (ri, rule) in cb.rules.iter().enumerate() {
                let RuleKind::Terms(ts) = &rule.kind else {
                    continue;
                };
                for t in ts {
                    for (ns, _) in nt.match_indices(t.words.as_str()) {
                        if nt[..ns]
                            .chars()
                            .next_back()
                            .is_some_and(char::is_alphanumeric)
                        {
                            continue;
                        }
                        let mut ne = ns + t.words.len();
                        if t.prefix {
                            ne = alnum_run_end(nt, ne);
                        } else if starts_alnum(nt, ne) {
                            continue;
                        }
                        let (os, oe) = norm.original(ns, ne, &d.text);
                        let inside = d
                            .units
                            .iter()
                            .any(|u| u.kind == rule.unit && u.byte_start <= os && oe <= u.byte_end);
                        if inside {
                            want.push((
                                m.rule_names[ri].clone(),
                                chars.char_at(os),
                                chars.char_at(oe),
                            ));
                        }
                    }
                }
            }
            want.sort();
            want.dedup();
            assert_eq!(have, want, "round {round}: {text:?}");
        }
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

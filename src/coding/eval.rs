//! A direct evaluator of the search language on one unit of text.
//!
//! Used for `query:` rules while coding (the index is being built, so it
//! cannot be asked), and as the linear-scan model that tests compare index
//! search against. Semantics follow the index: unquoted words are stemmed,
//! quoted phrases and prefixes use exact words, filters compare whole values
//! case-insensitively.

use std::collections::{BTreeMap, HashSet};

use tantivy::tokenizer::TextAnalyzer;

use crate::querylang::{Leaf, Node};

/// One unit as the evaluator sees it.
pub struct UnitView<'a> {
    /// The unit's text.
    pub text: &'a str,
    /// Document path.
    pub path: &'a str,
    /// Speaker, if any.
    pub speaker: Option<&'a str>,
    /// Respondent's words.
    pub respondent: bool,
    /// Document attributes (including `case`).
    pub attributes: &'a BTreeMap<String, String>,
}

/// Tokenisers and a query, ready to test units.
pub struct Evaluator {
    stem: TextAnalyzer,
    exact: TextAnalyzer,
}

struct Tokens {
    stems: Vec<String>,
    exact: Vec<String>,
    stem_set: HashSet<String>,
}

impl Evaluator {
    /// An evaluator for a stemming language.
    pub fn new(language: &str) -> Self {
        Evaluator {
            stem: crate::analysis::stem_analyzer(language),
            exact: crate::analysis::exact_analyzer(),
        }
    }

    fn tokens(a: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = a.token_stream(text);
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    /// True when the unit matches the query.
    pub fn matches(&mut self, node: &Node, unit: &UnitView<'_>) -> bool {
        let stems = Self::tokens(&mut self.stem, unit.text);
        let exact = Self::tokens(&mut self.exact, unit.text);
        let toks = Tokens {
            stem_set: stems.iter().cloned().collect(),
            stems,
            exact,
        };
        self.node(node, unit, &toks)
    }

    fn node(&mut self, node: &Node, unit: &UnitView<'_>, t: &Tokens) -> bool {
        match node {
            Node::And(v) => v.iter().all(|c| self.node(c, unit, t)),
            Node::Or(v) => v.iter().any(|c| self.node(c, unit, t)),
            Node::Not(c) => !self.node(c, unit, t),
            Node::Leaf(l) => self.leaf(l, unit, t),
        }
    }

    fn leaf(&mut self, l: &Leaf, unit: &UnitView<'_>, t: &Tokens) -> bool {
        let value = l.value.trim();
        let eq = |have: &str| {
            let (h, v) = (have.to_lowercase(), value.to_lowercase());
            if l.prefix { h.starts_with(&v) } else { h == v }
        };
        match l
            .field
            .as_deref()
            .map(crate::corpus::frontmatter::normalise_name)
            .as_deref()
        {
            None | Some("text") if !l.phrase && !l.prefix => {
                let q = Self::tokens(&mut self.stem, value);
                match q.len() {
                    0 => false,
                    1 => t.stem_set.contains(&q[0]),
                    _ => sequence(&t.stems, &q, 0, false),
                }
            }
            None | Some("text" | "exact") => {
                let q = Self::tokens(&mut self.exact, value);
                !q.is_empty() && sequence(&t.exact, &q, l.slop as usize, l.prefix)
            }
            Some("case") => unit.attributes.get("case").is_some_and(|c| eq(c)),
            Some("speaker") => unit.speaker.is_some_and(eq),
            Some("path") => {
                if l.prefix {
                    unit.path.starts_with(value)
                } else {
                    unit.path == value
                }
            }
            Some("respondent") => {
                matches!(value.to_lowercase().as_str(), "true" | "yes") == unit.respondent
            }
            Some(attr) => unit.attributes.get(attr).is_some_and(|v| eq(v)),
        }
    }
}

/// True when `q` occurs in `tokens` in order, each word at most `slop` extra
/// positions after the previous one; with `prefix`, the last word may be a prefix.
fn sequence(tokens: &[String], q: &[String], slop: usize, prefix: bool) -> bool {
    let word_ok = |i: usize, w: usize| -> bool {
        let last = w + 1 == q.len();
        if prefix && last {
            tokens[i].starts_with(q[w].as_str())
        } else {
            tokens[i] == q[w]
        }
    };
    'start: for s in 0..tokens.len() {
        if !word_ok(s, 0) {
            continue;
        }
        let mut pos = s;
        let mut budget = slop;
        for w in 1..q.len() {
            let mut found = None;
            for extra in 0..=budget {
                let i = pos + 1 + extra;
                if i < tokens.len() && word_ok(i, w) {
                    found = Some((i, extra));
                    break;
                }
            }
            match found {
                Some((i, extra)) => {
                    pos = i;
                    budget -= extra;
                }
                None => continue 'start,
            }
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str, text: &str) -> bool {
        let attrs: BTreeMap<String, String> = [
            ("case".to_string(), "Alfa".to_string()),
            ("role".to_string(), "Line Manager".to_string()),
        ]
        .into();
        let u = UnitView {
            text,
            path: "a/b.md",
            speaker: Some("Anna"),
            respondent: true,
            attributes: &attrs,
        };
        Evaluator::new("english").matches(&crate::querylang::parse(q).unwrap(), &u)
    }

    #[test]
    fn words_phrases_prefix_proximity_and_filters() {
        assert!(check("incentives", "the incentive was weak"));
        assert!(check("\"revenue model\"", "Our revenue  model."));
        assert!(!check("\"revenue models\"", "Our revenue model."));
        assert!(check("govern*", "Governance matters"));
        assert!(check("\"model pays\"~1", "model that pays"));
        assert!(!check("\"model pays\"", "model that pays"));
        assert!(check(
            "case:alfa AND role:\"line manager\" AND respondent:true",
            "x"
        ));
        assert!(!check("speaker:bo", "x"));
        assert!(check("risk NOT hazard", "risk only"));
        assert!(check("\"business mod*\"", "a business modelling task"));
    }
}

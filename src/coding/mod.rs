//! Coding: applying a codebook's rules to documents, and manual codings.
//!
//! [`Matcher`] compiles every rule of a codebook once. One pass over the
//! words of each document's normalised text looks every word up among the
//! terms' first words (and `unless` terms) and among the literals that start
//! the regexes; each regex is then tried only where one of its literals
//! starts, and a regex that stays inside one word is answered once per word.
//! Regexes without such literals go into one `RegexSet` per unit kind, run
//! once per unit. So a 200-code codebook still reads each text once for its
//! terms, however many rules there are. Query rules are evaluated per unit by
//! [`eval`]. Manual codings ([`manual`]) are anchored to the current text by
//! their quotes. Output: [`CodedPassage`]s, which the index
//! stores. Nothing here writes files.

pub mod eval;
pub mod manual;
pub mod matcher;

use serde::{Deserialize, Serialize};

pub use matcher::Matcher;

/// Where a coding came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Source {
    /// A rule of the codebook.
    Auto,
    /// A coder, by hand (or by accepting an auto-coding).
    Manual {
        /// The coder's name.
        coder: String,
    },
}

impl Source {
    /// `auto` or the coder's name.
    pub fn label(&self) -> String {
        match self {
            Source::Auto => "auto".into(),
            Source::Manual { coder } => coder.clone(),
        }
    }
}

/// One rule match inside an auto-coded unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The rule, as `family/code#r2`.
    pub rule: String,
    /// `terms`, `regex` or `query`.
    pub kind: String,
    /// Match start in characters (the unit's for query rules).
    pub start: usize,
    /// Match end in characters.
    pub end: usize,
    /// The matched text.
    pub text: String,
}

/// A coded span of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedPassage {
    /// Code path.
    pub code: String,
    /// Where it came from.
    #[serde(flatten)]
    pub source: Source,
    /// Start, in characters.
    pub start: usize,
    /// End, in characters.
    pub end: usize,
    /// Byte start in the plain text.
    #[serde(skip)]
    pub byte_start: usize,
    /// Byte end.
    #[serde(skip)]
    pub byte_end: usize,
    /// The unit id for auto-codings (`p12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Rule matches behind an auto-coding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// A coder's memo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// How a manual coding was placed: `exact`, `moved`, `fuzzy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// True when a coder accepted this auto-coding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accepted: bool,
}

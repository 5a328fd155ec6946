//! The codebook file as written: serde structs that keep file order and
//! report unknown keys and duplicate ids with their line and column.
//! Nothing here checks meaning (regexes, queries); see the parent module.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A YAML mapping kept in file order; a repeated key is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of code ids to codes")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                // Seen ids: a family of thousands of codes costs linear time.
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("duplicate code id `{key}`")));
                    }
                    check_code_id(&key).map_err(de::Error::custom)?;
                    let value = map.next_value::<T>()?;
                    out.push((key, value));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Checks a code id as written: one word, without `/` or spaces.
pub fn check_code_id(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains('/') || key.chars().any(char::is_whitespace) {
        return Err(format!(
            "code id `{key}` must be one word without `/` or spaces (use `label:` for the display name)"
        ));
    }
    Ok(())
}

pub use crate::study::OneOrMany;

/// A rule as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Words and phrases (`*` suffix wildcard).
    #[serde(default)]
    pub terms: Option<Vec<String>>,
    /// A regular expression.
    #[serde(default)]
    pub regex: Option<String>,
    /// A query in the search language.
    #[serde(default)]
    pub query: Option<String>,
    /// Only respondents' (or only interviewers') words.
    #[serde(default)]
    pub respondent: Option<bool>,
    /// Only these speakers.
    #[serde(default)]
    pub speaker: Option<OneOrMany>,
    /// Not where any of these terms occur in the unit.
    #[serde(default)]
    pub unless: Option<Vec<String>>,
    /// Unit to code (default: the codebook's).
    #[serde(default)]
    pub unit: Option<String>,
}

/// A code as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCode {
    /// Display name.
    #[serde(default)]
    pub label: Option<String>,
    /// What the code means.
    #[serde(default)]
    pub definition: Option<String>,
    /// Inclusion criteria.
    #[serde(default)]
    pub include: Option<OneOrMany>,
    /// Exclusion criteria.
    #[serde(default)]
    pub exclude: Option<OneOrMany>,
    /// Example quotes.
    #[serde(default)]
    pub examples: Option<OneOrMany>,
    /// A researcher's note.
    #[serde(default)]
    pub memo: Option<String>,
    /// Auto-coding rules.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// Child codes.
    #[serde(default)]
    pub codes: Ordered<RawCode>,
}

/// A family as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawFamily {
    /// Display name.
    #[serde(default)]
    pub label: Option<String>,
    /// What the family gathers.
    #[serde(default)]
    pub description: Option<String>,
    /// Its role in a Gioia data structure (e.g. `aggregate`).
    #[serde(default)]
    pub level: Option<String>,
    /// The codes.
    #[serde(default)]
    pub codes: Ordered<RawCode>,
}

/// Keys at the top of a codebook that are metadata, not families.
pub const METADATA: &[&str] = &["title", "version", "description", "unit", "authors"];

/// The whole file: metadata plus families in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawCodebook {
    /// Title.
    pub title: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Default unit for rules.
    pub unit: Option<String>,
    /// Authors.
    pub authors: Option<OneOrMany>,
    /// Families.
    pub families: Vec<(String, RawFamily)>,
}

impl<'de> Deserialize<'de> for RawCodebook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCodebook;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a codebook: metadata (title, version, description, unit) and families")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCodebook, A::Error> {
                let mut cb = RawCodebook::default();
                let mut families = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "title" => {
                            cb.title = Some(scalar(map.next_value::<serde_yaml_ng::Value>()?))
                        }
                        "version" => {
                            cb.version = Some(scalar(map.next_value::<serde_yaml_ng::Value>()?))
                        }
                        "description" => cb.description = Some(map.next_value()?),
                        "unit" => cb.unit = Some(map.next_value()?),
                        "authors" => cb.authors = Some(map.next_value()?),
                        _ => {
                            if !families.insert(key.clone()) {
                                return Err(de::Error::custom(format!("duplicate family `{key}`")));
                            }
                            let fam = map.next_value::<RawFamily>()?;
                            cb.families.push((key, fam));
                        }
                    }
                }
                Ok(cb)
            }
        }
        d.deserialize_map(V)
    }
}

fn scalar(v: serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s,
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        other => serde_yaml_ng::to_string(&other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

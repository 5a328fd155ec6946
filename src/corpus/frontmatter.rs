//! YAML front matter at the top of .md and .txt transcripts.
//!
//! Front matter is a block between a first line `---` and a closing `---` (or
//! `...`). Its scalar values become document attributes. This module finds the
//! block and parses it; errors are located in the transcript's own lines.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics};

/// Front matter found at the top of a text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    /// Attribute name (lowercased) to value.
    pub attributes: BTreeMap<String, String>,
    /// Byte offset where the body starts (0 when there is no front matter).
    pub body_start: usize,
}

/// Splits off and parses front matter. Text without a leading `---` line has none.
pub fn parse(path: &Path, text: &str) -> Result<FrontMatter, Diagnostics> {
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    if text[..first_end].trim_end() != "---" {
        return Ok(FrontMatter::default());
    }
    let mut pos = first_end;
    let mut close = None;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = text[pos..end].trim_end();
        if line == "---" || line == "..." {
            close = Some((pos, end));
            break;
        }
        pos = end;
    }
    let Some((yaml_end, body_start)) = close else {
        return Err(Diagnostic::error("front matter is not closed")
            .in_file(path)
            .at(1, 1)
            .with_source_from(text, 3)
            .with_help("end the front matter with a line holding only `---`")
            .into());
    };
    let yaml = &text[first_end..yaml_end];
    // The YAML starts on the file's second line.
    crate::yaml::check_nesting(path, yaml, 1)?;
    let value: serde_yaml_ng::Value = if yaml.trim().is_empty() {
        serde_yaml_ng::Value::Null
    } else {
        serde_yaml_ng::from_str(yaml).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let msg = crate::yaml::friendly_message(msg);
            let mut d = Diagnostic::error(format!("malformed front matter: {msg}")).in_file(path);
            if let Some(loc) = e.location() {
                d = d.at(loc.line() + 1, loc.column()).with_source_from(text, 1);
            }
            Diagnostics::from(d.with_help("front matter is YAML: one `name: value` per line"))
        })?
    };
    let mut attributes = BTreeMap::new();
    match value {
        serde_yaml_ng::Value::Null => {}
        serde_yaml_ng::Value::Mapping(map) => {
            let mut problems = Vec::new();
            for (k, v) in map {
                let key = scalar(&k).unwrap_or_default();
                let line = crate::yaml::locate(yaml, &[&key]).map(|l| l + 1);
                match scalar(&v) {
                    Some(val) => {
                        attributes.insert(normalise_name(&key), val);
                    }
                    None => {
                        let mut d = Diagnostic::error(format!(
                            "front matter attribute `{key}` is not a single value"
                        ))
                        .in_file(path);
                        if let Some(l) = line {
                            d = d.at(l, 1).with_source_from(text, key.chars().count());
                        }
                        problems.push(d.with_help(
                            "attributes are plain values (text, numbers, dates); write a list as one text, e.g. `a; b`",
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                return Err(Diagnostics(problems));
            }
        }
        _ => {
            return Err(
                Diagnostic::error("front matter must be a mapping of `name: value` lines")
                    .in_file(path)
                    .at(2, 1)
                    .with_source_from(text, 1)
                    .into(),
            );
        }
    }
    Ok(FrontMatter {
        attributes,
        body_start,
    })
}

fn scalar(v: &serde_yaml_ng::Value) -> Option<String> {
    match v {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Null => Some(String::new()),
        serde_yaml_ng::Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

pub use crate::analysis::normalise_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_and_body_start() {
        let t = "---\ncase: Alfa\nPhase: 2\n---\nInterviewer: hi\n";
        let fm = parse(Path::new("a.md"), t).unwrap();
        assert_eq!(fm.attributes["case"], "Alfa");
        assert_eq!(fm.attributes["phase"], "2");
        assert_eq!(&t[fm.body_start..], "Interviewer: hi\n");
    }

    #[test]
    fn crlf_front_matter() {
        let t = "---\r\ncase: Beta\r\n---\r\nbody";
        let fm = parse(Path::new("a.md"), t).unwrap();
        assert_eq!(fm.attributes["case"], "Beta");
        assert_eq!(&t[fm.body_start..], "body");
    }

    #[test]
    fn malformed_yaml_is_located_in_the_file() {
        let t = "---\ncase: Alfa\nrole: [unclosed\n---\nbody\n";
        let e = parse(Path::new("a.md"), t).unwrap_err();
        let d = &e.0[0];
        assert!(
            d.message.starts_with("malformed front matter"),
            "{}",
            d.message
        );
        assert!(d.line.unwrap() >= 3, "{:?}", d.line);
    }

    #[test]
    fn unclosed_and_nested_are_errors() {
        assert!(parse(Path::new("a.md"), "---\ncase: A\nbody\n").is_err());
        let e = parse(Path::new("a.md"), "---\ncase: A\nroles:\n  - a\n---\n").unwrap_err();
        assert_eq!(e.0[0].line, Some(3));
    }
}

//! A guard run on YAML text before it reaches the YAML parser.
//!
//! The parser underneath (libyaml, through `serde_yaml_ng`) spends time
//! proportional to the depth of open flow collections (`[` and `{`) on every
//! token inside them, so a file of nested brackets costs time quadratic in
//! its size: 40,000 `[` (80 KB) took seconds on every command. Block
//! collections (indentation) cost linear time, and `serde_yaml_ng` refuses
//! any structure nested deeper than [`MAX_DEPTH`] (128) levels (so codes
//! nest at most about 60 levels under a family: each level is a `codes:`
//! mapping and a code's own). [`check_nesting`] scans the
//! text once, in linear time, and refuses flow collections nested deeper
//! than [`MAX_FLOW_DEPTH`] with an error at the bracket past the bound, so
//! every file the parser sees costs it linear time.
//!
//! The scan follows YAML's tokens closely enough to skip brackets inside
//! quoted scalars, plain scalars, comments and block scalars (`|`, `>`).
//! Where it cannot tell, it counts a bracket: it may over-count in odd
//! files (a refused file can always be written with fewer brackets), but it
//! never misses a bracket the parser would open.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

use crate::diag::{Diagnostic, Diagnostics, suggest};

/// The deepest nesting of flow collections (`[...]`, `{...}`) accepted in a
/// YAML file. Real codebooks, codings files and study files use one or two.
pub const MAX_FLOW_DEPTH: usize = 64;

/// Refuses YAML text whose flow collections nest deeper than
/// [`MAX_FLOW_DEPTH`], with an error at the first bracket past the bound.
/// `line_offset` is added to reported lines (for YAML embedded in a file,
/// such as front matter).
pub fn check_nesting(path: &Path, text: &str, line_offset: usize) -> Result<(), Diagnostic> {
    match deepest_flow(text, MAX_FLOW_DEPTH) {
        None => Ok(()),
        Some((line, column)) => Err(Diagnostic::error(format!(
            "flow collections (`[`, `{{`) nest more than {MAX_FLOW_DEPTH} levels deep"
        ))
        .in_file(path)
        .at(line + line_offset, column)
        .with_source_from_line(text, line)
        .with_help("write nested lists and mappings as indented blocks, or nest them less")),
    }
}

/// How deep `serde_yaml_ng` lets any structure nest (its recursion limit).
pub const MAX_DEPTH: usize = 128;

/// A parser message in the words of the rest of qualdex.
pub fn friendly_message(message: String) -> String {
    if message.starts_with("recursion limit exceeded") {
        return format!("the YAML nests more than {MAX_DEPTH} levels deep");
    }
    // serde's words for YAML types, in a researcher's: "invalid type:
    // integer `5`, expected a sequence" → "… expected a list (`[a, b]`)".
    let Some((head, expected)) = message.rsplit_once(", expected ") else {
        return message;
    };
    if !head.contains("invalid type: ") {
        return message;
    }
    let expected = match expected {
        "a sequence" => "a list, such as `[a, b]`",
        "a string" => "a text (put it in quotes if it is a number or `yes`/`no`)",
        "a boolean" => "`true` or `false`",
        "a map" => "a mapping of keys to values",
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number (0 or more)",
        "i64" | "i32" => "a whole number",
        "f64" | "f32" => "a number",
        other => other,
    };
    let head = head
        .replace("invalid type: sequence", "invalid type: a list")
        .replace("invalid type: map", "invalid type: a mapping")
        .replace("invalid type: string", "invalid type: the text")
        .replace("invalid type: integer", "invalid type: the number")
        .replace("invalid type: floating point", "invalid type: the number")
        .replace("invalid type: boolean", "invalid type: the value");
    format!("{head}, expected {expected}")
}

trait SourceFromLine {
    fn with_source_from_line(self, text: &str, line: usize) -> Self;
}

impl SourceFromLine for Diagnostic {
    /// Quotes line `line` of `text` (which may be an excerpt of the file).
    fn with_source_from_line(self, text: &str, line: usize) -> Self {
        match text.lines().nth(line.saturating_sub(1)) {
            Some(l) => {
                let l = l.trim_end_matches('\r').to_string();
                self.with_source(l, 1)
            }
            None => self,
        }
    }
}

/// A block scalar (`|` or `>`) being skipped.
struct BlockScalar {
    /// Content lines are indented more than this (or at least
    /// `base + explicit` with an indentation indicator).
    base: usize,
    /// The indentation indicator, if given.
    explicit: Option<usize>,
    /// The content's indentation, once its first line is seen.
    indent: Option<usize>,
}

/// The 1-based (line, column in characters) of the first `[` or `{` that
/// opens a flow collection deeper than `max`, if any. One pass, linear.
pub fn deepest_flow(text: &str, max: usize) -> Option<(usize, usize)> {
    let mut flow = 0usize;
    // An open quoted scalar spanning lines: its quote character.
    let mut quote: Option<char> = None;
    let mut block: Option<BlockScalar> = None;
    for (line_no, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|&&c| c == ' ').count();
        let blank = chars.iter().all(|c| c.is_whitespace());
        if let Some(b) = &mut block {
            let content = blank
                || match (b.explicit, b.indent) {
                    (Some(n), _) => indent >= b.base + n,
                    (None, Some(i)) => indent >= i,
                    (None, None) => {
                        if indent > b.base {
                            b.indent = Some(indent);
                            true
                        } else {
                            false
                        }
                    }
                };
            if content {
                continue;
            }
            block = None;
        }
        let mut i = 0usize;
        // The column where the innermost block collection on this line
        // starts: a `- ` entry or a mapping key (a block scalar's content
        // is indented more than it).
        let mut block_col: Option<usize> = None;
        // Where a quoted scalar opened on this line started.
        let mut quote_start: Option<usize> = None;
        let n = chars.len();
        let blank_at = |k: usize| k >= n || chars[k] == ' ' || chars[k] == '\t';
        while i < n {
            if let Some(q) = quote {
                // Inside a quoted scalar: look for its end.
                while i < n {
                    let c = chars[i];
                    if q == '"' && c == '\\' {
                        i += 2;
                        continue;
                    }
                    if c == q {
                        if q == '\'' && i + 1 < n && chars[i + 1] == '\'' {
                            i += 2;
                            continue;
                        }
                        quote = None;
                        i += 1;
                        // A quoted key on this line: `"a b": |`.
                        if let Some(start) = quote_start.take() {
                            let mut k = i;
                            while k < n && chars[k] == ' ' {
                                k += 1;
                            }
                            if flow == 0 && k < n && chars[k] == ':' && blank_at(k + 1) {
                                block_col = Some(start);
                            }
                        }
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            let c = chars[i];
            if c == ' ' || c == '\t' {
                i += 1;
                continue;
            }
            if c == '#' {
                // A comment (a token start is at the line start or after a blank).
                break;
            }
            if i == 0 && c == '%' {
                break;
            }
            if i == 0 && n >= 3 && (chars[..3] == ['-'; 3] || chars[..3] == ['.'; 3]) && blank_at(3)
            {
                i = 3;
                continue;
            }
            // Where this token (a key, perhaps) starts.
            let token_start = i;
            match c {
                '[' | '{' => {
                    flow += 1;
                    if flow > max {
                        return Some((line_no + 1, i + 1));
                    }
                    i += 1;
                }
                ']' | '}' => {
                    flow = flow.saturating_sub(1);
                    i += 1;
                }
                ',' => i += 1,
                '\'' | '"' => {
                    quote = Some(c);
                    quote_start = Some(i);
                    i += 1;
                }
                '-' | '?' if blank_at(i + 1) => {
                    if flow == 0 {
                        block_col = Some(i);
                    }
                    i += 1;
                }
                ':' if blank_at(i + 1) || flow > 0 => i += 1,
                '|' | '>' if flow == 0 => {
                    let mut explicit = None;
                    let mut k = i + 1;
                    while k < n && (chars[k].is_ascii_digit() || chars[k] == '+' || chars[k] == '-')
                    {
                        if let Some(d) = chars[k].to_digit(10) {
                            explicit = Some(d as usize);
                        }
                        k += 1;
                    }
                    // The content is indented more than the innermost block
                    // collection; when none starts on this line, more than
                    // one less than this line's indentation (never below
                    // the parser's own bound, so no content line is missed).
                    let base = block_col.unwrap_or_else(|| indent.saturating_sub(1));
                    block = Some(BlockScalar {
                        base,
                        explicit: explicit.filter(|&d| d > 0),
                        indent: None,
                    });
                    i = n;
                }
                '&' | '*' | '!' => {
                    while i < n && !blank_at(i) && !(flow > 0 && ",[]{}".contains(chars[i])) {
                        i += 1;
                    }
                }
                _ => {
                    // A plain scalar: up to `: `, ` #`, or (in flow) an indicator.
                    while i < n {
                        let ch = chars[i];
                        if ch == ':' && (blank_at(i + 1) || flow > 0) {
                            break;
                        }
                        if (ch == ' ' || ch == '\t') && i + 1 < n && chars[i + 1] == '#' {
                            break;
                        }
                        if flow > 0 && ",[]{}".contains(ch) {
                            break;
                        }
                        i += 1;
                    }
                    if i < n && chars[i] == ':' && flow == 0 {
                        // A mapping key: its block starts where the key does.
                        block_col = Some(token_start);
                        i += 1;
                    }
                }
            }
        }
    }
    None
}

/// The structure problems of a YAML file, collected entry by entry.
///
/// `serde_yaml_ng` stops at the first problem of a file. When it reports
/// one, the file is parsed again as a generic value (a syntax error stops
/// there: it can only be reported once) and each entry is checked on its own
/// against its type, so one run reports every misspelt key and every value
/// of the wrong type. Problems are located by key path in block-style YAML.
pub struct Problems<'a> {
    path: &'a Path,
    text: &'a str,
    /// The line of every key path.
    pub(crate) lines: HashMap<Vec<String>, usize>,
    /// Lines already reported on.
    seen: Vec<usize>,
    /// The problems found.
    pub out: Vec<Diagnostic>,
}

/// A message without the key path `serde_yaml_ng` puts before it.
fn bare(message: &str) -> &str {
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest,
        _ => message,
    }
}

impl<'a> Problems<'a> {
    /// A collector for `text`.
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Problems {
            path,
            text,
            lines: key_lines(text),
            seen: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Every problem, in file order: those found entry by entry, and the
    /// parser's own (`first`). A problem both found keeps the parser's
    /// report, which points at the very value rather than at its entry.
    pub fn finish(self, first: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let mut out = self.out;
        for d in first {
            if let Some(o) = out
                .iter_mut()
                .find(|o| bare(&o.message) == bare(&d.message))
            {
                // The parser's report wins unless ours names a deeper key
                // (`rules[0].terms` where the parser says `rules[0]`).
                let deeper = o.message.len() > d.message.len();
                if d.line.is_some() && d.column.is_some() && !deeper {
                    *o = d;
                }
            } else {
                out.retain(|o| o.line.is_none() || o.line != d.line);
                out.push(d);
            }
        }
        out.sort_by_key(|d| d.line.unwrap_or(usize::MAX));
        out
    }

    /// The file parsed as a generic value, when it is a mapping.
    pub fn top(text: &str) -> Option<Mapping> {
        match serde_yaml_ng::from_str::<Value>(text) {
            Ok(Value::Mapping(m)) => Some(m),
            _ => None,
        }
    }

    /// True once as many problems as are shown are located: the rest are
    /// counted without the cost of locating them.
    fn full(&self) -> bool {
        self.out.len() >= crate::diag::MAX_SHOWN
    }

    /// Checks `value` (the `item`-th list item under the key path `keys`,
    /// or the value at `keys`) as a `T`; `known` are the keys suggested for
    /// a misspelt one.
    pub fn check<T: DeserializeOwned>(
        &mut self,
        keys: &[String],
        item: Option<usize>,
        value: Value,
        known: &[&str],
    ) {
        if let Err(e) = serde_yaml_ng::from_value::<T>(value) {
            let mut named = keys.join(".");
            if let Some(n) = item {
                named.push_str(&format!("[{n}]"));
            }
            let line = self.lines.get(keys).copied();
            let line = match (line, item) {
                _ if self.full() => None,
                (Some(l), Some(n)) => nth_item(self.text, l, n),
                (l, _) => l,
            };
            self.report(&e, &named, line, item.is_some(), known);
        }
    }

    /// Checks the `item`-th list item under `keys`, a mapping, entry by
    /// entry as a `T`: a wrong value is named by its own key
    /// (`rules[0].terms`) on that key's line; a misspelt key as [`check`]
    /// names it.
    ///
    /// [`check`]: Problems::check
    pub fn check_item_entries<T: DeserializeOwned>(
        &mut self,
        keys: &[String],
        item: usize,
        entries: &Mapping,
        known: &[&str],
    ) {
        let item_line = self
            .lines
            .get(keys)
            .copied()
            .and_then(|l| nth_item(self.text, l, item));
        for (k, v) in entries {
            let Some(k) = k.as_str() else { continue };
            let mut m = Mapping::new();
            m.insert(Value::String(k.to_string()), v.clone());
            let Err(e) = serde_yaml_ng::from_value::<T>(Value::Mapping(m)) else {
                continue;
            };
            let mut named = format!("{}[{item}]", keys.join("."));
            if !e.to_string().starts_with("unknown field") {
                named.push('.');
                named.push_str(k);
            }
            let line = match item_line {
                _ if self.full() => None,
                Some(l) => key_below(self.text, l, k).or(Some(l)),
                None => None,
            };
            let col = line.map(|l| self.key_column(l, Some(k)).0);
            self.report(&e, &named, line, true, known);
            if let (Some(col), false) = (col, e.to_string().starts_with("unknown field")) {
                // Point at the key the message names.
                if let Some(d) = self.out.last_mut()
                    && d.message.starts_with(&named)
                    && d.line == line
                {
                    d.column = Some(col);
                    d.span_len = k.chars().count();
                }
            }
        }
    }

    /// Checks the entry `key: value` of the mapping at the key path `keys`
    /// as part of a `T`.
    pub fn check_entry<T: DeserializeOwned>(
        &mut self,
        keys: &[String],
        key: &str,
        value: &Value,
        known: &[&str],
    ) {
        let mut m = Mapping::new();
        m.insert(Value::String(key.to_string()), value.clone());
        if let Err(e) = serde_yaml_ng::from_value::<T>(Value::Mapping(m)) {
            let mut at = keys.to_vec();
            at.push(key.to_string());
            let line = self.lines.get(&at).copied();
            // Named as the parser names it: a misspelt key by its mapping,
            // a wrong value by its own key.
            let named = if e.to_string().starts_with("unknown field") {
                keys.join(".")
            } else {
                at.join(".")
            };
            self.report(&e, &named, line, false, known);
        }
    }

    /// Reports a problem of our own at the key path `at`.
    pub fn push_at(&mut self, at: &[String], message: String, help: &str) {
        let mut d = Diagnostic::error(message)
            .in_file(self.path)
            .with_help(help);
        if let Some(&l) = self.lines.get(at).filter(|_| !self.full()) {
            let (col, _) = self.key_column(l, at.last().map(String::as_str));
            let span = at.last().map_or(1, |k| k.chars().count());
            d = d.at(l, col).with_source_from(self.text, span);
        }
        self.emit(d);
    }

    /// The column of `key` on line `l` (or of the line's first token).
    fn key_column(&self, l: usize, key: Option<&str>) -> (usize, bool) {
        let src = self.text.lines().nth(l - 1).unwrap_or_default();
        let t = src.trim_start();
        let mut byte = src.len() - t.len();
        let found = key.and_then(|k| t.find(k));
        match found {
            Some(at) => byte += at,
            None if t.starts_with("- ") => byte += 2,
            None => {}
        }
        (src[..byte].chars().count() + 1, found.is_some())
    }

    /// Reports a parser error, named by the key path `named`, on `line`.
    pub(crate) fn report(
        &mut self,
        e: &serde_yaml_ng::Error,
        named: &str,
        line: Option<usize>,
        in_item: bool,
        known: &[&str],
    ) {
        let mut d = yaml_error(self.path, self.text, e, known).0.remove(0);
        let message = d.message.clone();
        if !named.is_empty() {
            d.message = format!("{named}: {message}");
        }
        let field = message
            .split_once("unknown field `")
            .and_then(|(_, r)| r.split('`').next())
            .map(str::to_string);
        // Past what is shown, count the problem without locating it.
        let mut line = line.filter(|_| !self.full());
        // A misspelt key inside a list item: point at the key itself.
        if let (Some(l), Some(f), true) = (line, &field, in_item) {
            line = key_below(self.text, l, f).or(line);
        }
        if let Some(l) = line {
            let (col, _) = self.key_column(l, field.as_deref());
            let span = field.as_deref().map_or(1, |f| f.chars().count());
            d = d.at(l, col).with_source_from(self.text, span);
        }
        self.emit(d);
    }

    /// Keeps `d` unless an earlier check reported on its line.
    fn emit(&mut self, d: Diagnostic) {
        if let Some(l) = d.line {
            if self.seen.contains(&l) {
                return;
            }
            self.seen.push(l);
        }
        self.out.push(d);
    }
}

/// The line at or below `line` (within its block) where `key:` is written.
fn key_below(text: &str, line: usize, key: &str) -> Option<usize> {
    let mut lines = text.lines().enumerate().skip(line - 1);
    let (_, first) = lines.next()?;
    let base = first.len() - first.trim_start().len();
    let is_key = |l: &str| {
        let t = l.trim_start();
        let t = t.strip_prefix("- ").unwrap_or(t);
        t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'))
    };
    if is_key(first) {
        return Some(line);
    }
    for (i, l) in lines {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if l.len() - t.len() <= base {
            break;
        }
        if is_key(l) {
            return Some(i + 1);
        }
    }
    None
}

/// Turns a YAML error into a located diagnostic, with a "did you mean" for
/// unknown keys drawn from `known`.
pub fn yaml_error(
    path: &Path,
    text: &str,
    err: &serde_yaml_ng::Error,
    known: &[&str],
) -> Diagnostics {
    let raw = err.to_string();
    // serde_yaml_ng appends " at line L column C"; keep the message part only.
    let message = raw.split(" at line ").next().unwrap_or(&raw).to_string();
    let message = friendly_message(message);
    let mut d = Diagnostic::error(message.clone()).in_file(path);
    if let Some(loc) = err.location() {
        d = d.at(loc.line(), loc.column()).with_source_from(text, 1);
    }
    if let Some(rest) = message.split_once("unknown field `").map(|(_, r)| r) {
        let field = rest.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = rest
            .split("expected ")
            .nth(1)
            .map(|s| s.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let pool: Vec<&str> = if expected.is_empty() {
            known.to_vec()
        } else {
            expected
        };
        let help = match suggest(field, pool.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known keys here: {}", pool.join(", ")),
        };
        d = d.with_help(help);
        if let Some(col) = d.column {
            let _ = col;
            d.span_len = field.chars().count();
        }
    }
    Diagnostics::from(d)
}

pub(crate) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

pub(crate) fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").unwrap_or(t);
    for k in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
        if let Some(rest) = t.strip_prefix(&k)
            && rest.trim_start().starts_with(':')
        {
            return true;
        }
    }
    false
}

/// The 1-based line of every key path of block-style YAML (first
/// occurrence), in one pass: `["challenges", "codes", "governance"]` → 6.
pub fn key_lines(text: &str) -> std::collections::HashMap<Vec<String>, usize> {
    let mut out = std::collections::HashMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.is_empty()
            || t.starts_with('#')
            || t.starts_with("- ")
            || t.starts_with('-') && t.len() == 1
        {
            continue;
        }
        let Some(colon) = t.find(':') else { continue };
        let key = t[..colon].trim().trim_matches(['"', '\'']);
        if key.is_empty() || key.contains(' ') && !key.starts_with('"') && key.contains(['{', '['])
        {
            continue;
        }
        let ind = indent_of(line);
        while stack.last().is_some_and(|(d, _)| *d >= ind) {
            stack.pop();
        }
        stack.push((ind, key.to_string()));
        let path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        out.entry(path).or_insert(i + 1);
    }
    out
}

/// The 1-based line of a nested key path in block-style YAML, if found.
pub fn locate(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for key in keys {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let ind = indent_of(line);
            if let Some(p) = parent_indent
                && ind <= p
                && i > from
            {
                break;
            }
            if is_key_line(line, key) && parent_indent.is_none_or(|p| ind > p) {
                hit = Some((i, ind));
                break;
            }
        }
        let (i, ind) = hit?;
        found = Some(i + 1);
        from = i + 1;
        parent_indent = Some(ind);
    }
    found
}

/// The 1-based line of `key` in the `n`-th (0-based) item of the list at
/// the key path `list` (`tables`), or of the item itself when `key` is not
/// written there (or not given).
pub fn item_key_line(text: &str, list: &[&str], n: usize, key: Option<&str>) -> Option<usize> {
    let item = nth_item(text, locate(text, list)?, n)?;
    Some(key.and_then(|k| key_below(text, item, k)).unwrap_or(item))
}

/// The line of the `n`-th (0-based) list item below the key on line `key_line`.
pub(crate) fn nth_item(text: &str, key_line: usize, n: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let key_indent = indent_of(lines.get(key_line - 1)?);
    let mut count = 0usize;
    let mut item_indent = None;
    for (i, line) in lines.iter().enumerate().skip(key_line) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = indent_of(line);
        if ind <= key_indent && !t.starts_with("- ") {
            break;
        }
        if t.starts_with("- ") && item_indent.is_none_or(|x| x == ind) {
            item_indent = Some(ind);
            if count == n {
                return Some(i + 1);
            }
            count += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(text: &str) -> Option<(usize, usize)> {
        deepest_flow(text, 3)
    }

    #[test]
    fn brackets_in_flow_count_and_close() {
        assert_eq!(deep("a: [[[x]]]\n"), None);
        assert_eq!(deep("a: [[[[x]]]]\n"), Some((1, 7)));
        assert_eq!(deep("a: {b: {c: [[x]]}}\n"), Some((1, 13)));
        assert_eq!(deep("a: [[[x]]]\nb: [[[x]]]\n"), None);
        assert_eq!(deep("a: [\n  [\n [\n  [x]]]]\n"), Some((4, 3)));
        assert_eq!(deep("[[[x],[y],[z]]]\n"), None);
    }

    #[test]
    fn brackets_inside_scalars_and_comments_do_not_count() {
        for text in [
            "a: '[[[[['\n",
            "a: \"[[[[[\\\" [[[[\"\n",
            "a: see [[[[[ here\n",
            "label: it's [[[[[\n",
            "a: x # [[[[[\n",
            "# [[[[[\n",
            "a: [x, '[[[[[', \"{{{{{\"]\n",
            "a: |\n  [[[[[\n  {{{{{\n\nb: x\n",
            "- key: >-\n    [[[[[\n    [[[[[\nb: x\n",
            "a: |2\n   [[[[[\n",
            "a: 'multi\n  [[[[[ line'\n",
            "? [[[x]]]\n: y\n",
            "a: &anchor [[[x]]]\nb: *anchor\n",
        ] {
            assert_eq!(deep(text), None, "{text}");
        }
    }

    #[test]
    fn a_block_scalar_ends_where_its_indentation_does() {
        // The second line is less indented than the content: tokens again.
        assert_eq!(deep("a: |\n    x\n  [[[[y]]]]\n"), Some((3, 6)));
        assert_eq!(deep("- k: |\n  [[[[y]]]]\n"), Some((2, 6)));
        assert_eq!(deep("a: |9\n [[[[y]]]]\n"), Some((2, 5)));
        assert_eq!(deep("a: |\nb: [[[[y]]]]\n"), Some((2, 7)));
    }

    #[test]
    fn deep_files_are_found_in_linear_time() {
        let text = format!("a: {}{}\n", "[".repeat(1_000_000), "]".repeat(1_000_000));
        assert_eq!(
            deepest_flow(&text, MAX_FLOW_DEPTH),
            Some((1, 4 + MAX_FLOW_DEPTH))
        );
        let ok = format!("a: {}x{}\n", "[".repeat(64), "]".repeat(64));
        assert_eq!(deepest_flow(&ok, MAX_FLOW_DEPTH), None);
        let e = check_nesting(Path::new("c.yaml"), &text, 0).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(68)));
    }
}

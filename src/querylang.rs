//! The search language: parsing only (no index access).
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*          -- juxtaposition means AND
//! unary   := ("NOT" | "-") unary | primary
//! primary := "(" or ")" | [field ":"] value
//! value   := word ["*"] | "\"" words "\"" ["~" N | "*"]
//! ```
//! Every node keeps its character span in the query so errors can point at it.
//!
//! Parentheses and `NOT`s nest at most [`MAX_DEPTH`] levels deep, so every
//! recursive walk of a tree (compiling, evaluating, dropping) stays far
//! inside a thread's stack, and a query holds at most [`MAX_TERMS`] terms.

use crate::diag::Diagnostic;

/// The deepest nesting of parentheses and `NOT`s a query may have. Real
/// queries use a handful of levels; a deeper one is refused with an error
/// pointing at the first token past the bound.
pub const MAX_DEPTH: usize = 256;

/// The most words, phrases and filters one query may hold. A search or a
/// rule names a few dozen; past this bound a query is refused with an error
/// pointing at the first term too many, so no query costs more than a
/// bounded number of lookups.
pub const MAX_TERMS: usize = 1000; // said as `1,000` in its error

/// A span of the query, in characters: (start, length).
pub type Span = (usize, usize);

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// All children must match.
    And(Vec<Node>),
    /// Any child matches.
    Or(Vec<Node>),
    /// The child must not match.
    Not(Box<Node>),
    /// A word or phrase, optionally restricted to a field.
    Leaf(Leaf),
}

impl Node {
    /// True when some leaf filters on `field` (a normalised field name).
    pub fn uses_field(&self, field: &str) -> bool {
        match self {
            Node::And(c) | Node::Or(c) => c.iter().any(|n| n.uses_field(field)),
            Node::Not(n) => n.uses_field(field),
            Node::Leaf(l) => l
                .field
                .as_deref()
                .is_some_and(|f| crate::analysis::normalise_name(f) == field),
        }
    }
}

/// A word, phrase or field filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Field name, if any (`case`, `role`, ...).
    pub field: Option<String>,
    /// Span of the field name.
    pub field_span: Span,
    /// The value (without quotes or trailing `*`).
    pub value: String,
    /// Span of the value.
    pub span: Span,
    /// Quoted.
    pub phrase: bool,
    /// Ends with `*`.
    pub prefix: bool,
    /// Proximity slop (`"a b"~5`).
    pub slop: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Leaf(Leaf),
}

fn err(query: &str, span: Span, message: impl Into<String>, help: &str) -> Diagnostic {
    Diagnostic::error(message)
        .in_origin("query")
        .at(1, span.0 + 1)
        .with_source(query.replace('\n', " "), span.1)
        .with_help(help)
}

fn is_field_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '.' || ch == '/')
}

fn lex(query: &str) -> Result<Vec<(Tok, Span)>, Diagnostic> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push((Tok::LParen, (i, 1)));
                i += 1;
                continue;
            }
            ')' => {
                out.push((Tok::RParen, (i, 1)));
                i += 1;
                continue;
            }
            '-' | '!' if i + 1 < chars.len() && !chars[i + 1].is_whitespace() => {
                out.push((Tok::Not, (i, 1)));
                i += 1;
                continue;
            }
            '+' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let start = i;
        // Optional field prefix: name ':' immediately followed by a value.
        let mut field = None;
        let mut field_span = (0, 0);
        let mut j = i;
        while j < chars.len() && !chars[j].is_whitespace() && !"():\"".contains(chars[j]) {
            j += 1;
        }
        if j < chars.len() && chars[j] == ':' && j > i {
            let name: String = chars[i..j].iter().collect();
            if is_field_name(&name) && j + 1 < chars.len() && !chars[j + 1].is_whitespace() {
                field = Some(name);
                field_span = (i, j - i);
                i = j + 1;
            }
        }
        if i < chars.len() && chars[i] == '"' {
            let open = i;
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += 1;
            }
            if k >= chars.len() {
                return Err(err(
                    query,
                    (open, chars.len() - open),
                    "unclosed quote",
                    "add the closing `\"`",
                ));
            }
            let value: String = chars[open + 1..k].iter().collect();
            let mut leaf = Leaf {
                field,
                field_span,
                value: value.clone(),
                span: (open, k + 1 - open),
                phrase: true,
                prefix: false,
                slop: 0,
            };
            i = k + 1;
            if i < chars.len() && chars[i] == '~' {
                let d0 = i + 1;
                let mut d = d0;
                while d < chars.len() && chars[d].is_ascii_digit() {
                    d += 1;
                }
                let digits: String = chars[d0..d].iter().collect();
                leaf.slop = digits.parse().map_err(|_| {
                    err(
                        query,
                        (i, d - i + 1),
                        "`~` must be followed by a number",
                        "write proximity as \"word1 word2\"~5",
                    )
                })?;
                i = d;
            } else if i < chars.len() && chars[i] == '*' {
                leaf.prefix = true;
                i += 1;
            } else if leaf.value.trim_end().ends_with('*') {
                leaf.prefix = true;
                leaf.value = leaf.value.trim_end().trim_end_matches('*').to_string();
            }
            leaf.span = (open, i - open);
            out.push((Tok::Leaf(leaf), (start, i - start)));
            continue;
        }
        let vs = i;
        while i < chars.len() && !chars[i].is_whitespace() && !"()\"".contains(chars[i]) {
            i += 1;
        }
        if i == vs {
            if field.is_some() {
                return Err(err(
                    query,
                    (start, i - start),
                    "a field needs a value",
                    "write e.g. `case:Alfa`",
                ));
            }
            return Err(err(
                query,
                (i, 1),
                format!("unexpected `{}`", chars[i]),
                "remove it or quote the phrase",
            ));
        }
        let word: String = chars[vs..i].iter().collect();
        if field.is_none() {
            match word.as_str() {
                "AND" | "&&" => {
                    out.push((Tok::And, (vs, i - vs)));
                    continue;
                }
                "OR" | "||" => {
                    out.push((Tok::Or, (vs, i - vs)));
                    continue;
                }
                "NOT" => {
                    out.push((Tok::Not, (vs, i - vs)));
                    continue;
                }
                _ => {}
            }
        }
        let prefix = word.ends_with('*') && word.len() > 1;
        let value = if prefix {
            word.trim_end_matches('*').to_string()
        } else {
            word.clone()
        };
        if value.contains('*') || value.contains('?') && value.len() > 1 && value.ends_with('?') {
            return Err(err(
                query,
                (vs, i - vs),
                format!("wildcards are only supported at the end of a word: `{word}`"),
                "use a prefix such as `govern*`",
            ));
        }
        out.push((
            Tok::Leaf(Leaf {
                field,
                field_span,
                value,
                span: (vs, i - vs),
                phrase: false,
                prefix,
                slop: 0,
            }),
            (start, i - start),
        ));
    }
    Ok(out)
}

/// One open group while parsing: the whole query, or a parenthesis.
struct Group {
    /// The `(` that opened it (`None` for the whole query).
    open: Option<Span>,
    /// Finished `OR` alternatives.
    alternatives: Vec<Node>,
    /// Terms of the `AND` being read.
    terms: Vec<Node>,
    /// `NOT`s read before the next term.
    nots: usize,
}

impl Group {
    fn new(open: Option<Span>) -> Group {
        Group {
            open,
            alternatives: Vec::new(),
            terms: Vec::new(),
            nots: 0,
        }
    }

    /// Ends the `AND` being read.
    fn end_and(&mut self) {
        let mut terms = std::mem::take(&mut self.terms);
        self.alternatives.push(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Node::And(terms)
        });
    }

    /// Ends the group: its tree.
    fn finish(mut self) -> Node {
        self.end_and();
        if self.alternatives.len() == 1 {
            self.alternatives.remove(0)
        } else {
            Node::Or(self.alternatives)
        }
    }
}

/// Parses the tokens without recursion (an explicit stack of groups), so a
/// deeply nested query cannot exhaust the stack while it is read; the depth
/// bound then protects every later walk of the tree.
fn parse_tokens(query: &str, toks: &[(Tok, Span)]) -> Result<Node, Diagnostic> {
    let end = (query.chars().count(), 1);
    let span_at = |pos: usize| toks.get(pos).map_or(end, |t| t.1);
    let mut groups = vec![Group::new(None)];
    // Parentheses and `NOT`s open around the current token.
    let mut depth = 0usize;
    // Words, phrases and filters read so far.
    let mut terms = 0usize;
    let mut pos = 0usize;
    let too_deep = |pos: usize| {
        err(
            query,
            span_at(pos),
            format!("the query nests more than {MAX_DEPTH} levels of parentheses and `NOT`"),
            "simplify the query: `NOT NOT x` is `x`, and `((x))` is `x`",
        )
    };
    loop {
        // Expect a term: `NOT`s and `(`s, then a word or phrase.
        let mut term = loop {
            let group = groups.last_mut().expect("the query's own group");
            match toks.get(pos) {
                Some((Tok::Not, _)) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(too_deep(pos));
                    }
                    group.nots += 1;
                    pos += 1;
                }
                Some((Tok::LParen, open)) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(too_deep(pos));
                    }
                    groups.push(Group::new(Some(*open)));
                    pos += 1;
                }
                Some((Tok::Leaf(l), span)) => {
                    terms += 1;
                    if terms > MAX_TERMS {
                        return Err(err(
                            query,
                            *span,
                            "the query has more than 1,000 words, phrases and filters",
                            "split it into several searches, or gather the words under a code's rules",
                        ));
                    }
                    pos += 1;
                    break Node::Leaf(l.clone());
                }
                Some((Tok::RParen, span)) => {
                    return Err(err(
                        query,
                        *span,
                        "unexpected `)`",
                        "remove it, or add the matching `(`",
                    ));
                }
                Some((Tok::And | Tok::Or, span)) => {
                    return Err(err(
                        query,
                        *span,
                        "an operator needs a term on each side",
                        "write e.g. `risk AND contract`",
                    ));
                }
                None => {
                    return Err(err(
                        query,
                        end,
                        "the query ends too early",
                        "add a term after the operator",
                    ));
                }
            }
        };
        // After a term: close the groups it ends, then read an operator.
        loop {
            let group = groups.last_mut().expect("the query's own group");
            for _ in 0..group.nots {
                term = Node::Not(Box::new(term));
            }
            depth -= group.nots;
            group.nots = 0;
            group.terms.push(term);
            match toks.get(pos) {
                Some((Tok::RParen, span)) => {
                    if group.open.is_none() {
                        return Err(err(
                            query,
                            *span,
                            "unexpected `)`",
                            "remove it, or add the matching `(`",
                        ));
                    }
                    pos += 1;
                    depth -= 1;
                    term = groups.pop().expect("an open parenthesis").finish();
                }
                None => {
                    if let Some(open) = group.open {
                        return Err(err(
                            query,
                            open,
                            "unclosed parenthesis",
                            "add the closing `)`",
                        ));
                    }
                    return Ok(groups.pop().expect("the query's own group").finish());
                }
                Some((Tok::Or, _)) => {
                    group.end_and();
                    pos += 1;
                    break;
                }
                Some((Tok::And, _)) => {
                    pos += 1;
                    break;
                }
                // Juxtaposition means AND.
                Some(_) => break,
            }
        }
    }
}

/// Parses a query string.
pub fn parse(query: &str) -> Result<Node, Diagnostic> {
    let toks = lex(query)?;
    if toks.is_empty() {
        return Err(Diagnostic::error("the query is empty")
            .with_help("give some words, e.g. `qualdex search \"revenue model\"`"));
    }
    parse_tokens(query, &toks)
}

/// Every leaf, in order.
pub fn leaves(node: &Node) -> Vec<&Leaf> {
    let mut out = Vec::new();
    fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Leaf>, negated: bool) {
        match n {
            Node::And(v) | Node::Or(v) => v.iter().for_each(|c| walk(c, out, negated)),
            Node::Not(c) => walk(c, out, !negated),
            Node::Leaf(l) => {
                if !negated {
                    out.push(l);
                }
            }
        }
    }
    walk(node, &mut out, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: &Node) -> &Leaf {
        match n {
            Node::Leaf(l) => l,
            _ => panic!("not a leaf: {n:?}"),
        }
    }

    #[test]
    fn implicit_and_or_not_precedence() {
        let n = parse("risk contract OR NOT case:Alfa").unwrap();
        let Node::Or(parts) = n else { panic!() };
        assert!(matches!(&parts[0], Node::And(v) if v.len() == 2));
        let Node::Not(inner) = &parts[1] else {
            panic!()
        };
        let l = leaf(inner);
        assert_eq!(l.field.as_deref(), Some("case"));
        assert_eq!(l.value, "Alfa");
    }

    #[test]
    fn phrases_proximity_prefix_and_field_phrases() {
        let n = parse(r#""business model"~3 govern* role:"key account manager" "revenue mod*""#)
            .unwrap();
        let Node::And(v) = n else { panic!() };
        let a = leaf(&v[0]);
        assert!(a.phrase && a.slop == 3 && a.value == "business model");
        let b = leaf(&v[1]);
        assert!(b.prefix && b.value == "govern");
        let c = leaf(&v[2]);
        assert_eq!(
            (c.field.as_deref(), c.value.as_str(), c.phrase),
            (Some("role"), "key account manager", true)
        );
        let d = leaf(&v[3]);
        assert!(d.prefix && d.phrase && d.value == "revenue mod");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("risk AND (contract").unwrap_err();
        assert_eq!(e.column, Some(10));
        let e = parse("\"open phrase").unwrap_err();
        assert_eq!(e.message, "unclosed quote");
        let e = parse("risk AND").unwrap_err();
        assert_eq!(e.message, "the query ends too early");
        let e = parse("go*vern").unwrap_err();
        assert!(e.message.starts_with("wildcards"));
    }

    /// The recursive parser this module had before it became iterative:
    /// the reference the iterative one is checked against.
    mod reference {
        use super::super::*;

        struct Parser<'a> {
            query: &'a str,
            toks: Vec<(Tok, Span)>,
            pos: usize,
        }

        impl Parser<'_> {
            fn peek(&self) -> Option<&Tok> {
                self.toks.get(self.pos).map(|t| &t.0)
            }

            fn span(&self) -> Span {
                self.toks
                    .get(self.pos)
                    .map_or((self.query.chars().count(), 1), |t| t.1)
            }

            fn or(&mut self) -> Result<Node, Diagnostic> {
                let mut parts = vec![self.and()?];
                while self.peek() == Some(&Tok::Or) {
                    self.pos += 1;
                    parts.push(self.and()?);
                }
                Ok(if parts.len() == 1 {
                    parts.remove(0)
                } else {
                    Node::Or(parts)
                })
            }

            fn and(&mut self) -> Result<Node, Diagnostic> {
                let mut parts = vec![self.unary()?];
                loop {
                    match self.peek() {
                        Some(Tok::And) => {
                            self.pos += 1;
                            parts.push(self.unary()?);
                        }
                        Some(Tok::Leaf(_) | Tok::Not | Tok::LParen) => parts.push(self.unary()?),
                        _ => break,
                    }
                }
                Ok(if parts.len() == 1 {
                    parts.remove(0)
                } else {
                    Node::And(parts)
                })
            }

            fn unary(&mut self) -> Result<Node, Diagnostic> {
                if self.peek() == Some(&Tok::Not) {
                    self.pos += 1;
                    return Ok(Node::Not(Box::new(self.unary()?)));
                }
                self.primary()
            }

            fn primary(&mut self) -> Result<Node, Diagnostic> {
                let span = self.span();
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::LParen, open)) => {
                        self.pos += 1;
                        let inner = self.or()?;
                        if self.peek() != Some(&Tok::RParen) {
                            return Err(err(
                                self.query,
                                open,
                                "unclosed parenthesis",
                                "add the closing `)`",
                            ));
                        }
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some((Tok::Leaf(l), _)) => {
                        self.pos += 1;
                        Ok(Node::Leaf(l))
                    }
                    Some((Tok::RParen, _)) => Err(err(
                        self.query,
                        span,
                        "unexpected `)`",
                        "remove it, or add the matching `(`",
                    )),
                    Some((Tok::And | Tok::Or, _)) => Err(err(
                        self.query,
                        span,
                        "an operator needs a term on each side",
                        "write e.g. `risk AND contract`",
                    )),
                    _ => Err(err(
                        self.query,
                        span,
                        "the query ends too early",
                        "add a term after the operator",
                    )),
                }
            }
        }

        pub fn parse(query: &str) -> Result<Node, Diagnostic> {
            let toks = lex(query)?;
            let mut p = Parser {
                query,
                toks,
                pos: 0,
            };
            let node = p.or()?;
            if p.pos < p.toks.len() {
                let span = p.span();
                return Err(err(
                    query,
                    span,
                    "unexpected `)`",
                    "remove it, or add the matching `(`",
                ));
            }
            Ok(node)
        }
    }

    #[test]
    fn iterative_parser_agrees_with_the_recursive_one() {
        const WORDS: [&str; 12] = [
            "a", "b", "case:x", "\"p q\"", "AND", "OR", "NOT", "-c", "(", ")", "&&", "||",
        ];
        // Every sequence of up to 4 tokens, then seeded longer ones.
        let mut queries = vec![String::new()];
        let mut frontier = vec![Vec::<&str>::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for seq in &frontier {
                for w in WORDS {
                    let mut s = seq.clone();
                    s.push(w);
                    queries.push(s.join(" "));
                    next.push(s);
                }
            }
            frontier = next;
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut q = Vec::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                q.push(WORDS[(x % WORDS.len() as u64) as usize]);
            }
            queries.push(q.join(" "));
        }
        for q in queries {
            if lex(&q).map(|t| t.is_empty()).unwrap_or(false) {
                continue;
            }
            let (new, old) = (parse(&q), reference::parse(&q));
            match (&new, &old) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{q}"),
                (Err(a), Err(b)) => {
                    assert_eq!((&a.message, a.column), (&b.message, b.column), "{q}")
                }
                _ => panic!("{q}: {new:?} vs {old:?}"),
            }
        }
    }

    #[test]
    fn nesting_is_bounded_and_the_error_points_at_the_first_token_past_it() {
        let ok = format!("{}risk", "NOT ".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let ok = format!("{}risk{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(leaf(&parse(&ok).unwrap()).value, "risk");
        for n in [MAX_DEPTH + 1, 1_000, 100_000] {
            let e = parse(&format!("{}risk", "NOT ".repeat(n))).unwrap_err();
            assert!(
                e.message.contains("nests more than 256 levels"),
                "{}",
                e.message
            );
            assert_eq!(e.column, Some(4 * MAX_DEPTH + 1));
            let e = parse(&format!("{}risk{}", "(".repeat(n), ")".repeat(n))).unwrap_err();
            assert_eq!(e.column, Some(MAX_DEPTH + 1));
            let e = parse(&format!("{}risk", "-".repeat(n))).unwrap_err();
            assert_eq!(e.column, Some(MAX_DEPTH + 1));
        }
        // Mixed: `NOT (` counts two levels; closed groups give their levels back.
        let half = "NOT (a ".repeat(MAX_DEPTH / 2);
        let q = format!("{half}b{}", ")".repeat(MAX_DEPTH / 2));
        assert!(parse(&format!("{q} {q}")).is_ok());
        assert!(parse(&format!("{half}NOT b{}", ")".repeat(MAX_DEPTH / 2))).is_err());
    }

    #[test]
    fn the_number_of_terms_is_bounded_and_the_error_points_at_the_first_too_many() {
        let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>();
        assert!(parse(&words(MAX_TERMS).join(" OR ")).is_ok());
        let q = words(MAX_TERMS + 5).join(" ");
        let e = parse(&q).unwrap_err();
        assert!(e.message.contains("more than 1,000 words"), "{}", e.message);
        // The first term past the bound: w1000, after 1000 terms and spaces.
        let before: usize = words(MAX_TERMS).iter().map(|w| w.len() + 1).sum();
        assert_eq!(e.column, Some(before + 1));
        // Phrases and filters count as terms; operators do not.
        let q = vec!["case:a \"x y\""; MAX_TERMS / 2].join(" AND NOT ");
        assert!(parse(&q).is_ok());
        assert!(parse(&format!("{q} z")).is_err());
    }

    #[test]
    fn minus_negates_and_times_are_words() {
        let n = parse("-risk 10:30").unwrap();
        let Node::And(v) = n else { panic!() };
        assert!(matches!(v[0], Node::Not(_)));
        assert_eq!(leaf(&v[1]).value, "10:30");
        assert!(leaf(&v[1]).field.is_none());
    }
}

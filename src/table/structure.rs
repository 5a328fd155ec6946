//! The Gioia data structure: first-order concepts (codes below the themes),
//! second-order themes (codes directly under a family) and aggregate
//! dimensions (families), with passage and document counts; also as Graphviz
//! DOT and Mermaid.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::coded::Coded;
use crate::codebook::Codebook;
use crate::render::{Cell, Table};

/// One node of the structure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Code or family id.
    pub id: String,
    /// Label.
    pub label: String,
    /// `aggregate`, `theme` or `concept`.
    pub level: String,
    /// Parent id.
    pub parent: Option<String>,
    /// Distinct coded passages (rolled up).
    pub passages: usize,
    /// Documents.
    pub documents: usize,
}

/// Builds the structure for the given families (all when empty).
pub fn build(coded: &Coded<'_>, cb: &Codebook, families: &[String]) -> Vec<Node> {
    let count = |root: &str| {
        let spans: BTreeSet<(String, usize, usize)> = coded
            .under_root(root)
            .into_iter()
            .map(|p| (p.path.clone(), p.start, p.end))
            .collect();
        let docs: BTreeSet<&str> = spans.iter().map(|(p, _, _)| p.as_str()).collect();
        (spans.len(), docs.len())
    };
    let mut out = Vec::new();
    for f in cb
        .families
        .iter()
        .filter(|f| families.is_empty() || families.contains(&f.id))
    {
        let (n, d) = count(&f.id);
        out.push(Node {
            id: f.id.clone(),
            label: f.label.clone(),
            level: "aggregate".into(),
            parent: None,
            passages: n,
            documents: d,
        });
        for c in cb.subtree(&f.id) {
            let (n, d) = count(&c.path);
            let (level, parent) = if c.depth == 1 {
                ("theme", f.id.clone())
            } else {
                // Concepts hang under their theme (the depth-1 ancestor).
                let theme = c.path.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
                ("concept", theme)
            };
            out.push(Node {
                id: c.path.clone(),
                label: c.label.clone(),
                level: level.into(),
                parent: Some(parent),
                passages: n,
                documents: d,
            });
        }
    }
    out
}

/// As a three-column table: concepts, themes, aggregate dimensions.
pub fn to_table(nodes: &[Node], title: Option<String>) -> Table {
    let mut rows = Vec::new();
    for agg in nodes.iter().filter(|n| n.level == "aggregate") {
        for theme in nodes
            .iter()
            .filter(|n| n.level == "theme" && n.parent.as_deref() == Some(&agg.id))
        {
            let concepts: Vec<&Node> = nodes
                .iter()
                .filter(|n| n.level == "concept" && n.parent.as_deref() == Some(&theme.id))
                .collect();
            let theme_cell = format!("{} ({})", theme.label, theme.passages);
            let agg_cell = format!("{} ({})", agg.label, agg.passages);
            if concepts.is_empty() {
                rows.push(vec![
                    Cell::Text(String::new()),
                    Cell::Text(theme_cell.clone()),
                    Cell::Text(agg_cell.clone()),
                    Cell::Count(theme.passages as u64),
                    Cell::Count(theme.documents as u64),
                ]);
            }
            for c in concepts {
                rows.push(vec![
                    Cell::Text(format!("{} ({})", c.label, c.passages)),
                    Cell::Text(theme_cell.clone()),
                    Cell::Text(agg_cell.clone()),
                    Cell::Count(c.passages as u64),
                    Cell::Count(c.documents as u64),
                ]);
            }
        }
    }
    Table {
        title: Some(title.unwrap_or_else(|| "Data structure".into())),
        columns: [
            "first-order concepts",
            "second-order themes",
            "aggregate dimensions",
            "passages",
            "documents",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        total_rows_from: None,
        json: Some(crate::render::RichJson::of(
            serde_json::json!({"kind": "structure", "nodes": nodes}),
        )),
    }
}

/// Text for a DOT quoted string: `\` and `"` escaped, line breaks as
/// spaces, control and bidirectional characters dropped.
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || crate::diag::reorders(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Graphviz DOT: concepts → themes → aggregate dimensions, left to right.
pub fn to_dot(nodes: &[Node]) -> String {
    let mut s = String::from(
        "digraph structure {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for n in nodes {
        let style = match n.level.as_str() {
            "aggregate" => ", style=filled, fillcolor=\"#d9d9d9\"",
            "theme" => ", style=rounded",
            _ => "",
        };
        let _ = writeln!(
            s,
            "  \"{}\" [label=\"{} ({})\"{style}];",
            dot_escape(&n.id),
            dot_escape(&n.label),
            n.passages
        );
    }
    for n in nodes {
        if let Some(p) = &n.parent {
            let _ = writeln!(s, "  \"{}\" -> \"{}\";", dot_escape(&n.id), dot_escape(p));
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid flowchart, left to right.
pub fn to_mermaid(nodes: &[Node]) -> String {
    let ids = mermaid_ids(nodes);
    let label = |n: &Node| mermaid_text(&format!("{} ({})", n.label, n.passages));
    let mut s = String::from("flowchart LR\n");
    for n in nodes {
        let _ = writeln!(s, "  {}[\"{}\"]", ids[n.id.as_str()], label(n));
    }
    for n in nodes {
        if let Some(p) = &n.parent
            && let Some(parent) = ids.get(p.as_str())
        {
            let _ = writeln!(s, "  {} --> {parent}", ids[n.id.as_str()]);
        }
    }
    s
}

/// A Mermaid node id for each node: its id with every character but ASCII
/// letters, digits and `_` as `_`, made distinct by a number where two
/// would meet (`a-b` and `a_b`), never a keyword (`end`) or a leading digit.
fn mermaid_ids(nodes: &[Node]) -> std::collections::HashMap<&str, String> {
    let mut taken = std::collections::HashSet::new();
    let mut ids = std::collections::HashMap::new();
    for n in nodes {
        let mut base: String =
            n.id.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
        if base.is_empty()
            || base.starts_with(|c: char| c.is_ascii_digit())
            || [
                "end",
                "graph",
                "flowchart",
                "subgraph",
                "style",
                "class",
                "click",
            ]
            .contains(&base.to_ascii_lowercase().as_str())
        {
            base.insert_str(0, "n_");
        }
        let mut id = base.clone();
        let mut k = 2;
        while !taken.insert(id.clone()) {
            id = format!("{base}_{k}");
            k += 1;
        }
        ids.insert(n.id.as_str(), id);
    }
    ids
}

/// Text for a Mermaid `["…"]` label: the characters Mermaid or the HTML it
/// renders to would read (`"`, `#`, `<`, `>`, `&`, `` ` ``) as entity codes
/// (`#34;`), line breaks as spaces, control and bidirectional characters
/// dropped.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '#' | '<' | '>' | '&' | '`' => {
                let _ = write!(out, "#{};", c as u32);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || crate::diag::reorders(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, label: &str, parent: Option<&str>) -> Node {
        Node {
            id: id.into(),
            label: label.into(),
            level: "concept".into(),
            parent: parent.map(String::from),
            passages: 3,
            documents: 1,
        }
    }

    #[test]
    fn mermaid_ids_and_labels_cannot_break_out() {
        let nodes = [
            node("fam", "Family", None),
            node(
                "fam/a-b",
                "Say \"hi\" <script>alert(1)</script> #1 & `x`",
                Some("fam"),
            ),
            node("fam/a_b", "Line\nbreak\u{202e}", Some("fam")),
            node("end", "End", None),
            node("x]; click fam call alert()", "L", Some("end")),
        ];
        let mm = to_mermaid(&nodes);
        assert_eq!(
            mm,
            "flowchart LR\n  fam[\"Family (3)\"]\n  \
             fam_a_b[\"Say #34;hi#34; #60;script#62;alert(1)#60;/script#62; #35;1 #38; #96;x#96; (3)\"]\n  \
             fam_a_b_2[\"Line break (3)\"]\n  n_end[\"End (3)\"]\n  \
             x___click_fam_call_alert__[\"L (3)\"]\n  \
             fam_a_b --> fam\n  fam_a_b_2 --> fam\n  x___click_fam_call_alert__ --> n_end\n"
        );
    }

    #[test]
    fn dot_strings_stay_strings() {
        let dot = to_dot(&[node("a\"b", "x\\\" ] ; y\nz\u{1b}", None)]);
        assert!(
            dot.contains("  \"a\\\"b\" [label=\"x\\\\\\\" ] ; y z (3)\"];"),
            "{dot}"
        );
    }
}

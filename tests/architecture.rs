//! The module map of ARCHITECTURE.md, checked: every `crate::` path in the
//! library's sources names a module in a lower layer than its own, so data
//! flows one way and no import loop can form. Reads the sources as text
//! (comments stripped); a new top-level module must be given a layer here
//! and in ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["fsutil"],
    &["diag"],
    &["analysis", "yaml", "render"],
    &["study"],
    &["corpus"],
    &["querylang"],
    &["codebook"],
    &["coding"],
    &["index"],
    &["refresh"],
    &["query"],
    &["table"],
    &["report"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The text without `//` comments (doc comments mention other modules).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // Keep `//` inside string literals such as URLs: only strip a
            // comment that starts the line or follows code and a space.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named by `crate::` paths in `text`, including
/// grouped imports such as `use crate::{a::X, b};`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, up to its matching brace.
            let (mut depth, mut item, mut end) = (0usize, String::new(), group.len());
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = j;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.insert(first_segment(&item));
            rest = &group[end..];
        } else {
            out.insert(first_segment(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn first_segment(s: &str) -> String {
    s.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn modules_only_use_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_string())
            .expect("a file name");
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            problems.push(format!(
                "module `{top}` has no layer: add it to LAYERS here and to ARCHITECTURE.md"
            ));
            continue;
        };
        let text = without_comments(&std::fs::read_to_string(f).expect("readable source"));
        for used in referenced(&text) {
            if used == top {
                continue;
            }
            // Items of the crate root (macros, `stderr_line`) are not modules.
            let Some(theirs) = layer_of(&used) else {
                continue;
            };
            edges.entry(top.clone()).or_default().insert(used.clone());
            if theirs >= own {
                problems.push(format!(
                    "{} uses `crate::{used}`, which is not below `{top}` (layers {own} and {theirs})",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the module map is broken:\n  {}",
        problems.join("\n  ")
    );
    // The map is not vacuous: the modules the study depends on are seen.
    assert!(edges.get("cli").is_some_and(|e| e.contains("refresh")));
    assert!(edges.get("refresh").is_some_and(|e| e.contains("index")));
    assert!(edges.get("query").is_some_and(|e| e.contains("querylang")));
}

#[test]
fn the_reference_finder_sees_grouped_and_nested_imports() {
    let text = "use crate::{a::X, b::{c, d}, e};\nfn f() { crate::g::h(); }";
    let found: Vec<String> = referenced(text).into_iter().collect();
    assert_eq!(found, ["a", "b", "e", "g"]);
    assert_eq!(without_comments("x // crate::y\n"), "x ");
    assert!(referenced(&without_comments("//! see crate::index\n")).is_empty());
}

#[test]
fn every_layer_in_the_test_is_in_architecture_md() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md exists");
    for m in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            doc.contains(&format!("`{m}`")),
            "ARCHITECTURE.md does not describe `{m}`"
        );
    }
}

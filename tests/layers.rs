//! The layers of `src/` (see "Layers" in `ARCHITECTURE.md`): the top-level
//! modules of the library import each other without a cycle, except through
//! the imports listed in [`EXCEPTIONS`], and the library never imports the
//! command line (`src/cli`).
//!
//! An import is any path `crate::MODULE...` (also in `use crate::{a, b}` and
//! `$crate::` in macros) or a `super::` path that climbs to the crate root,
//! read from the text of every file under `src/`, comments left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports that close a cycle on purpose: (from, to, why). An entry is
/// refused once its import is gone, so the list stays true.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// The first place a module imports another: (file, line).
type Edges = BTreeMap<String, BTreeMap<String, (String, usize)>>;

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let modules = top_level_modules(&src);
    let library: Vec<&(PathBuf, String)> = files.iter().filter(|(path, _)| !is_cli(&src, path)).collect();
    let edges = import_edges(&src, &library, &modules);
    for (from, to, _) in EXCEPTIONS {
        assert!(
            edges.get(*from).is_some_and(|targets| targets.contains_key(*to)),
            "the exception {from} -> {to} in tests/layers.rs is stale: `{from}` no longer imports `{to}`; remove it"
        );
    }
    let allowed = |from: &str, to: &str| EXCEPTIONS.iter().any(|(f, t, _)| *f == from && *t == to);
    if let Some(cycle) = find_cycle(&edges, &allowed) {
        panic!("an import cycle between modules of src/:\n{}", describe(&cycle, &edges));
    }
}

#[test]
fn the_library_does_not_import_the_command_line() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (path, text) in rust_files(&src) {
        if is_cli(&src, &path) {
            continue;
        }
        let text = without_comments(&text);
        for (n, line) in text.lines().enumerate() {
            let item = line.trim_start().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            let declares = item.starts_with("mod cli")
                && !item["mod cli".len()..].starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric());
            assert!(
                !(declares || line.contains("crate::cli")),
                "{}:{}: the library imports the command line (src/cli): {}",
                path.display(),
                n + 1,
                line.trim()
            );
        }
    }
}

/// The detection itself, on a made-up crate: a cycle is named with the file
/// and line of each import, and an exception breaks it.
#[test]
fn a_cycle_is_named_with_its_imports() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let src = Path::new("src");
    let files = [
        (PathBuf::from("src/a.rs"), String::from("use crate::b::X;\n")),
        (PathBuf::from("src/b/mod.rs"), String::from("// crate::a in a comment\nmod inner;\n")),
        (PathBuf::from("src/b/inner.rs"), String::from("use super::super::c;\n")),
        (PathBuf::from("src/c.rs"), String::from("use crate::{a::{Y, Z}, d};\n")),
    ];
    let refs: Vec<&(PathBuf, String)> = files.iter().collect();
    let edges = import_edges(src, &refs, &modules);
    let cycle = find_cycle(&edges, &|_, _| false).expect("a -> b -> c -> a");
    let text = describe(&cycle, &edges);
    assert!(text.contains("a -> b (src/a.rs:1)"), "{text}");
    assert!(text.contains("b -> c (src/b/inner.rs:1)"), "{text}");
    assert!(text.contains("c -> a (src/c.rs:1)"), "{text}");
    assert!(edges["c"].contains_key("d"), "the second path of a group is missed");
    assert!(!edges["b"].contains_key("a"), "an import in a comment counts");
    assert!(find_cycle(&edges, &|from, to| from == "c" && to == "a").is_none());
}

fn is_cli(src: &Path, path: &Path) -> bool {
    path.strip_prefix(src).is_ok_and(|p| p.starts_with("cli") || p == Path::new("main.rs"))
}

/// Every `.rs` file under `dir`, with its text, in a stable order.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// The names of the top-level modules of `src/` (`ir` for `src/ir.rs` and `src/ir/`).
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("src/") {
        let path = entry.expect("an entry of src/").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if (path.is_dir() || path.extension().is_some_and(|e| e == "rs")) && name != "lib" && name != "main" {
            names.insert(name);
        }
    }
    names
}

/// The module path of a file: `src/eval/expr.rs` is `[eval, expr]`,
/// `src/eval/mod.rs` and `src/eval.rs` are `[eval]`.
fn module_path(src: &Path, path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src).unwrap_or(path);
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" && stem != "main" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// Which top-level module imports which, with the first place it does.
fn import_edges(src: &Path, files: &[&(PathBuf, String)], modules: &BTreeSet<String>) -> Edges {
    let mut edges = Edges::new();
    for (path, text) in files {
        let here = module_path(src, path);
        let Some(from) = here.first() else { continue };
        for (n, line) in without_comments(text).lines().enumerate() {
            for to in imports_of_line(line, &here) {
                if &to != from && modules.contains(&to) {
                    let place = (path.display().to_string(), n + 1);
                    edges.entry(from.clone()).or_default().entry(to).or_insert(place);
                }
            }
        }
    }
    edges
}

/// The top-level modules a line names through `crate::` or `super::` paths.
fn imports_of_line(line: &str, here: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let starts_word = !(before.is_ascii_alphanumeric() || before == b'_' || before == b':');
        if starts_word && rest.starts_with("crate::") {
            out.extend(first_segments(&rest["crate::".len()..]));
            i += "crate::".len();
        } else if starts_word && rest.starts_with("super::") {
            let mut depth = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                depth += 1;
                tail = t;
            }
            // Climbing to the crate root from `here` names a top-level module.
            if depth == here.len() {
                out.extend(first_segments(tail));
            }
            i += rest.len() - tail.len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// `eval::Fault` → `eval`; `{eval::Fault, ir}` → `eval`, `ir`.
fn first_segments(path: &str) -> Vec<String> {
    let ident =
        |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let Some(group) = path.strip_prefix('{') else { return vec![ident(path)] };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                out.push(ident(&group[i..]));
                start = false;
            }
            _ => {}
        }
    }
    out
}

/// The text with `//` comments (and doc comments) blanked, lines kept.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_string => i += 1,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// A cycle of imports not broken by an allowed one, as the modules in order.
fn find_cycle(edges: &Edges, allowed: &dyn Fn(&str, &str) -> bool) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &Edges,
        allowed: &dyn Fn(&str, &str) -> bool,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for to in edges.get(node).into_iter().flat_map(|t| t.keys()) {
            if allowed(node, to) {
                continue;
            }
            match marks.get(to.as_str()) {
                Some(Mark::Open) => {
                    let start = stack.iter().position(|m| m == to).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(to, edges, allowed, marks, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if !marks.contains_key(node) {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, edges, allowed, &mut marks, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

/// `a -> b (src/a.rs:3)`, one line per import of the cycle.
fn describe(cycle: &[String], edges: &Edges) -> String {
    let mut text = String::new();
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        let (file, line) = &edges[from][to];
        text.push_str(&format!("  {from} -> {to} ({file}:{line})\n"));
    }
    text.push_str(
        "Break it (move what both need to the lower module), or list the import in EXCEPTIONS in \
         tests/layers.rs and in \"Layers\" in ARCHITECTURE.md, saying why.\n",
    );
    text
}

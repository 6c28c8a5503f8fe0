//! The registry of diagnostic codes (`cascade::codes`) against the sources and
//! the language reference: every code is written once, in `src/codes.rs`; the
//! table of codes in `docs/language.md` lists exactly the registered ones, with
//! their severity; and every code the docs mention elsewhere is registered.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cascade::codes::{ALL, Severity};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `cascade::group::name` codes in `text`, including `cascade::group::{a, b}` lists.
fn codes_in(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for (at, _) in text.match_indices("cascade::") {
        let rest = &text[at + "cascade::".len()..];
        let group: String = rest.chars().take_while(|c| c.is_ascii_lowercase()).collect();
        let Some(after) = rest[group.len()..].strip_prefix("::") else { continue };
        if let Some(list) = after.strip_prefix('{') {
            let Some(end) = list.find('}') else { continue };
            for name in list[..end].split(',') {
                codes.push(format!("cascade::{group}::{}", name.trim()));
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                codes.push(format!("cascade::{group}::{name}"));
            }
        }
    }
    codes
}

#[test]
fn every_code_is_registered_once() {
    let mut seen = BTreeSet::new();
    for code in ALL {
        assert!(seen.insert(code.code), "{} is registered twice", code.code);
        assert!(
            !code.meaning.is_empty() && !code.meaning.ends_with('.'),
            "{}: a one-line meaning",
            code.code
        );
    }
}

#[test]
fn no_code_string_is_written_outside_the_registry() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut problems = Vec::new();
    for path in files.iter().filter(|p| !p.ends_with("src/codes.rs")) {
        let text = fs::read_to_string(path).expect("a source file");
        for (at, _) in text.match_indices("\"cascade::") {
            let line = text[..at].lines().count();
            problems.push(format!("{}:{line}: a code as a string (use `codes::...`)", path.display()));
        }
        // miette's `#[diagnostic(code(...))]` cannot take a constant: it must be registered.
        for (at, _) in text.match_indices("code(cascade::") {
            for code in codes_in(&text[at + "code(".len()..]).into_iter().take(1) {
                if !ALL.iter().any(|c| c.code == code) {
                    problems.push(format!("{}: `{code}` is not registered in src/codes.rs", path.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_language_reference_lists_exactly_the_registered_codes() {
    let docs = fs::read_to_string(root().join("docs/language.md")).expect("docs/language.md");
    let mut table = BTreeSet::new();
    for line in docs.lines().filter(|l| l.starts_with("| `cascade::")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = cells[1].trim_matches('`');
        let registered = ALL.iter().find(|c| c.code == code);
        let Some(registered) = registered else {
            panic!("docs/language.md lists `{code}`, which is not registered")
        };
        let severity = match registered.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        assert_eq!(cells[2], severity, "{code}: the docs give another severity");
        assert!(table.insert(code.to_string()), "docs/language.md lists `{code}` twice");
    }
    let missing: Vec<&str> = ALL.iter().map(|c| c.code).filter(|c| !table.contains(*c)).collect();
    assert!(missing.is_empty(), "docs/language.md's table of codes misses {missing:?}");
    let unknown: BTreeSet<String> =
        codes_in(&docs).into_iter().filter(|c| !ALL.iter().any(|r| r.code == c)).collect();
    assert!(unknown.is_empty(), "docs/language.md mentions codes that are not registered: {unknown:?}");
}

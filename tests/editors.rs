//! Editor support (`editors/`) against the language.
//!
//! - One keyword list: every editor grammar covers exactly `cascade::syntax::KEYWORDS`,
//!   `BUILTIN_FUNCTIONS` and `BUILTIN_NAMES`, so adding a keyword fails here until every
//!   editor knows it (and the pest grammar's `keyword` rule is that same list). Each grammar keeps its lists in one clearly delimited place
//!   (between `BEGIN KEYWORDS` and `END KEYWORDS` comments, or in named JSON entries).
//! - The Sublime Text syntax (also used by `bat`) loads in `syntect`, highlights the
//!   sample and every example without an error or an `invalid` scope, and passes the
//!   scope assertions of `editors/samples/scopes.test.cascade` (the same file that
//!   `vscode-tmgrammar-test` runs against the VS Code grammar in `editors/ci.sh`).
//!
//! The checks that need Node.js, Vim or the tree-sitter CLI are in `editors/ci.sh`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use cascade::syntax::{BUILTIN_FUNCTIONS, BUILTIN_NAMES, KEYWORDS};
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxDefinition, SyntaxSet, SyntaxSetBuilder};
use syntect::util::LinesWithEndings;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------
// Word lists in each grammar

/// The lines strictly between the line containing `BEGIN {name}` and the next line
/// containing `END {name}`.
fn region<'a>(text: &'a str, name: &str, file: &str) -> Vec<&'a str> {
    let begin = format!("BEGIN {name}");
    let end = format!("END {name}");
    let mut lines = text.lines();
    if !lines.by_ref().any(|l| l.contains(&begin)) {
        panic!("{file}: no `{begin}` marker");
    }
    let mut inside = Vec::new();
    for line in lines {
        if line.contains(&end) {
            return inside;
        }
        inside.push(line);
    }
    panic!("{file}: `{begin}` without `{end}`");
}

/// Every word in double or single quotes (`"when"`, `'when'`), up to a `;` or `//`
/// comment.
fn quoted_words(lines: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for line in lines {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ';' => break,
                '/' if chars.peek() == Some(&'/') => break,
                '"' | '\'' => {
                    let word: String = chars.by_ref().take_while(|d| *d != c).collect();
                    if !word.is_empty() && word.chars().all(|d| d.is_ascii_alphanumeric() || d == '_') {
                        words.push(word);
                    }
                }
                _ => {}
            }
        }
    }
    words
}

/// The alternatives of every `(?:a|b|c)` / `\%(a\|b\|c\)` / `\b(a|b|c)\b` group.
fn alternation_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for (open, close, sep) in [("(?:", ")", "|"), ("\\%(", "\\)", "\\|"), ("\\b(", ")\\b", "|")] {
        let mut rest = text;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(close) else { break };
            let group = &after[..end];
            if group
                .split(sep)
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                words.extend(group.split(sep).map(str::to_string));
            }
            rest = &after[end + close.len()..];
        }
    }
    words
}

/// Vim: `syn keyword GROUP word...` lines and `syn match GROUP "\<\%(a\|b\)\>"` lines.
fn vim_words(lines: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for line in lines {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.as_slice() {
            ["syn" | "syntax", "keyword", _group, rest @ ..] => words.extend(
                rest.iter().filter(|w| **w != "contained" && !w.contains('=')).map(|w| w.to_string()),
            ),
            ["syn" | "syntax", "match", ..] => words.extend(alternation_words(line)),
            _ => {}
        }
    }
    words
}

/// The words of the `match` of every pattern in a repository entry of the tmLanguage.
fn textmate_words(grammar: &serde_json::Value, entry: &str) -> Vec<String> {
    let patterns = grammar["repository"][entry]["patterns"]
        .as_array()
        .unwrap_or_else(|| panic!("tmLanguage: no repository entry `{entry}` with patterns"));
    patterns.iter().flat_map(|p| alternation_words(p["match"].as_str().unwrap_or(""))).collect()
}

/// Compares a grammar's words with the language's list; returns a problem report.
fn compare(file: &str, list: &str, expected: &[&str], found: &[String]) -> Option<String> {
    let expected_set: BTreeSet<&str> = expected.iter().copied().collect();
    let found_set: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    let missing: Vec<&str> = expected_set.difference(&found_set).copied().collect();
    let extra: Vec<&str> = found_set.difference(&expected_set).copied().collect();
    let mut duplicates: Vec<&str> =
        found_set.iter().copied().filter(|w| found.iter().filter(|f| f == w).count() > 1).collect();
    duplicates.dedup();
    if missing.is_empty() && extra.is_empty() && duplicates.is_empty() {
        return None;
    }
    let mut report = format!("{file}: its {list} list differs from cascade::syntax::{list}:");
    if !missing.is_empty() {
        write!(report, " missing {missing:?};").unwrap();
    }
    if !extra.is_empty() {
        write!(report, " not in the language {extra:?};").unwrap();
    }
    if !duplicates.is_empty() {
        write!(report, " listed twice {duplicates:?};").unwrap();
    }
    Some(report)
}

#[test]
fn every_editor_grammar_covers_exactly_the_keyword_and_builtin_lists() {
    let lists: [(&str, &[&str]); 3] =
        [("KEYWORDS", KEYWORDS), ("BUILTIN_FUNCTIONS", BUILTIN_FUNCTIONS), ("BUILTIN_NAMES", BUILTIN_NAMES)];
    let mut problems = Vec::new();

    // Files with BEGIN/END markers, and how to read the words between them.
    type Reader = fn(&[&str]) -> Vec<String>;
    let marked: [(&str, &[&str], Reader); 5] = [
        ("editors/vim/syntax/cascade.vim", &["KEYWORDS", "BUILTIN_FUNCTIONS", "BUILTIN_NAMES"], vim_words),
        (
            "editors/sublime/cascade.sublime-syntax",
            &["KEYWORDS", "BUILTIN_FUNCTIONS", "BUILTIN_NAMES"],
            |lines| alternation_words(&lines.join("\n")),
        ),
        ("editors/tree-sitter-cascade/grammar.js", &["KEYWORDS"], quoted_words),
        (
            "editors/tree-sitter-cascade/queries/highlights.scm",
            &["KEYWORDS", "BUILTIN_FUNCTIONS", "BUILTIN_NAMES"],
            quoted_words,
        ),
        (
            "editors/helix/queries/cascade/highlights.scm",
            &["KEYWORDS", "BUILTIN_FUNCTIONS", "BUILTIN_NAMES"],
            quoted_words,
        ),
    ];
    for (file, names, reader) in marked {
        let text = read(file);
        for name in names {
            let expected = lists.iter().find(|(n, _)| n == name).unwrap().1;
            let found = reader(&region(&text, name, file));
            problems.extend(compare(file, name, expected, &found));
        }
    }

    // The VS Code grammar: JSON has no comments, so its lists are named entries.
    let file = "editors/vscode/syntaxes/cascade.tmLanguage.json";
    let grammar: serde_json::Value = serde_json::from_str(&read(file)).expect("tmLanguage is valid JSON");
    for (name, entry) in [
        ("KEYWORDS", "keywords"),
        ("BUILTIN_FUNCTIONS", "builtin-functions"),
        ("BUILTIN_NAMES", "builtin-names"),
    ] {
        let expected = lists.iter().find(|(n, _)| *n == name).unwrap().1;
        problems.extend(compare(file, name, expected, &textmate_words(&grammar, entry)));
    }

    // Zed uses the tree-sitter highlights as they are.
    if read("editors/zed/languages/cascade/highlights.scm")
        != read("editors/tree-sitter-cascade/queries/highlights.scm")
    {
        problems.push(
            "editors/zed/languages/cascade/highlights.scm differs from editors/tree-sitter-cascade/queries/highlights.scm: copy it over"
                .to_string(),
        );
    }

    assert!(
        problems.is_empty(),
        "editor grammars out of step with src/syntax/keywords.rs:\n{}",
        problems.join("\n")
    );
}

/// The pest grammar's `keyword` rule (what `ident` excludes) is the same list, so the
/// editors reserve exactly what the parser reserves.
#[test]
fn the_pest_grammar_reserves_exactly_the_keywords() {
    let file = "grammar/cascade.pest";
    let text = read(file);
    let start = text
        .lines()
        .position(|l| l.trim_start().starts_with("keyword ") || l.trim_start().starts_with("keyword="))
        .unwrap_or_else(|| panic!("{file}: no `keyword` rule"));
    let rule: Vec<&str> = text.lines().skip(start).take_while(|l| !l.trim_start().starts_with('}')).collect();
    let found = quoted_words(&rule);
    if let Some(problem) = compare(file, "KEYWORDS", KEYWORDS, &found) {
        panic!("{problem}");
    }
}

// ---------------------------------------------------------------------------------
// Sublime Text syntax, through syntect

fn sublime_syntax() -> SyntaxSet {
    let file = "editors/sublime/cascade.sublime-syntax";
    let definition = SyntaxDefinition::load_from_str(&read(file), true, Some("cascade"))
        .unwrap_or_else(|e| panic!("{file} does not load: {e}"));
    let mut builder = SyntaxSetBuilder::new();
    builder.add(definition);
    builder.build()
}

/// The scope stack at each byte of each line of `text`.
fn scopes_per_byte(set: &SyntaxSet, text: &str, file: &str) -> Vec<(String, Vec<ScopeStack>)> {
    let syntax = set.find_syntax_by_extension("cascade").expect("the syntax claims .cascade files");
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut lines = Vec::new();
    for (number, line) in LinesWithEndings::from(text).enumerate() {
        let ops = state
            .parse_line(line, set)
            .unwrap_or_else(|e| panic!("{file}:{}: syntect failed: {e}", number + 1));
        let mut per_byte = Vec::with_capacity(line.len());
        let mut ops = ops.into_iter().peekable();
        for byte in 0..line.len() {
            while let Some((_, op)) = ops.next_if(|(at, _)| *at <= byte) {
                stack.apply(&op).expect("valid scope operation");
            }
            per_byte.push(stack.clone());
        }
        for (_, op) in ops {
            stack.apply(&op).expect("valid scope operation");
        }
        lines.push((line.trim_end_matches(['\n', '\r']).to_string(), per_byte));
    }
    lines
}

fn cascade_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("editors/samples/all_syntax.cascade")];
    for dir in ["examples", "tests/cases/ok"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else { continue };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "cascade"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

fn display(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

#[test]
fn sublime_syntax_highlights_the_sample_and_every_example_without_invalid_tokens() {
    let set = sublime_syntax();
    let invalid = Scope::new("invalid").unwrap();
    let mut problems = Vec::new();
    let files = cascade_files();
    for path in &files {
        let file = display(path);
        let text = fs::read_to_string(path).unwrap();
        for (number, (line, per_byte)) in scopes_per_byte(&set, &text, &file).iter().enumerate() {
            if let Some(byte) =
                per_byte.iter().position(|s| s.as_slice().iter().any(|sc| invalid.is_prefix_of(*sc)))
            {
                problems.push(format!("{file}:{}:{}: an invalid scope in `{line}`", number + 1, byte + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!files.is_empty());
}

/// One assertion line of a syntax test: `# ^^^ scope scope - scope` or `# <-- scope`.
struct Assertion {
    columns: std::ops::Range<usize>,
    required: Vec<String>,
    forbidden: Vec<String>,
}

fn parse_assertion(line: &str) -> Option<Assertion> {
    let body = line.strip_prefix('#')?;
    let trimmed = body.trim_start();
    let (columns, scopes) = if let Some(rest) = trimmed.strip_prefix('<') {
        let dashes = rest.chars().take_while(|c| *c == '-').count();
        if dashes == 0 {
            return None;
        }
        (0..dashes, &rest[dashes..])
    } else if trimmed.starts_with('^') {
        let start = 1 + body.len() - trimmed.len();
        let carets = trimmed.chars().take_while(|c| *c == '^').count();
        (start..start + carets, &trimmed[carets..])
    } else {
        return None;
    };
    let (required, forbidden) =
        match scopes.split_once(" - ").or_else(|| scopes.trim_start().strip_prefix("- ").map(|f| ("", f))) {
            Some((r, f)) => (r, f),
            None => (scopes, ""),
        };
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    Some(Assertion { columns, required: words(required), forbidden: words(forbidden) })
}

#[test]
fn sublime_syntax_passes_the_shared_scope_test() {
    let file = "editors/samples/scopes.test.cascade";
    let set = sublime_syntax();
    let lines = scopes_per_byte(&set, &read(file), file);
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut source: Option<(usize, &(String, Vec<ScopeStack>))> = None;
    for (number, entry) in lines.iter().enumerate() {
        let Some(assertion) = parse_assertion(&entry.0) else {
            source = Some((number, entry));
            continue;
        };
        let (source_number, (source_line, per_byte)) = source.expect("an assertion after a source line");
        for column in assertion.columns.clone() {
            checked += 1;
            let Some(stack) = per_byte.get(column) else {
                failures.push(format!(
                    "{file}:{}: column {column} is past the end of `{source_line}`",
                    number + 1
                ));
                continue;
            };
            let names: Vec<String> = stack.as_slice().iter().map(|s| s.build_string()).collect();
            // The required scopes must appear in this order (not necessarily adjacent).
            let mut rest = names.iter();
            let in_order = assertion.required.iter().all(|r| rest.any(|n| n == r));
            let forbidden: Vec<&String> = assertion.forbidden.iter().filter(|f| names.contains(f)).collect();
            if !in_order || !forbidden.is_empty() {
                failures.push(format!(
                    "{file}:{}:{}: `{source_line}` at `{}`: expected [{}]{}, got [{}]",
                    source_number + 1,
                    column + 1,
                    source_line.get(column..column + 1).unwrap_or(""),
                    assertion.required.join(" "),
                    if assertion.forbidden.is_empty() {
                        String::new()
                    } else {
                        format!(" and not [{}]", assertion.forbidden.join(" "))
                    },
                    names.join(" ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} scope checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "only {checked} scope checks ran: is {file} complete?");
}

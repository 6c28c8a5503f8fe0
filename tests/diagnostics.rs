//! Diagnostics, driven by the scripts in `tests/cases/` (see `tests/README.md`).
//!
//! - Every `tests/cases/err/*.cascade` has a snapshot of its rendered diagnostics
//!   (plain theme, 80 columns) with the script itself at the top of the snapshot.
//!   A case fails to check; a case named `warn_*` checks with warnings only.
//! - Every `tests/cases/ok/*.cascade` and `examples/*.cascade` checks without an
//!   error; the ok cases also run and pass their own expectations.
//! - Every `cascade::syntax::*` and `cascade::check::*` code in `src/` is produced
//!   by at least one err case (or is listed, with a reason, as tested elsewhere).
//! - A few key diagnostics are pinned down exactly (code, span, label, help) with
//!   the `check(input, expected)` helper at the bottom.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cascade::{Diagnostics, Engine, RenderStyle, check_source};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.cascade` files of a directory under the crate root, sorted.
fn cascade_files(dir: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root().join(dir)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cascade"))
        .collect();
    files.sort();
    files
}

/// The name a case is reported under: `tests/cases/err/x.cascade`, with `/` on
/// every platform so that snapshots do not depend on it.
fn display_name(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn check_file(path: &Path) -> (String, Diagnostics) {
    let source = read(path);
    let diagnostics = check_source(&source, &display_name(path));
    (source, diagnostics)
}

// ---------------------------------------------------------------------------------
// tests/cases/err

#[test]
fn err_case() {
    insta::glob!("cases/err/*.cascade", |path| {
        let (source, diagnostics) = check_file(path);
        let rendered = diagnostics.render(RenderStyle::Plain);
        let snapshot = format!(
            "----- SOURCE {name}\n{source}{newline}----- DIAGNOSTICS ({summary})\n{rendered}",
            name = display_name(path),
            newline = if source.ends_with('\n') { "" } else { "\n" },
            summary = diagnostics,
        );
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(snapshot);
        });
    });
}

#[test]
fn err_cases_fail_and_warn_cases_only_warn() {
    let files = cascade_files("tests/cases/err");
    assert!(files.len() >= 35, "only {} err cases", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let (_, diagnostics) = check_file(path);
        let name = display_name(path);
        let (errors, warnings) = (diagnostics.error_count(), diagnostics.warning_count());
        if stem(path).starts_with("warn_") {
            if errors > 0 || warnings == 0 {
                wrong.push(format!(
                    "{name}: wanted warnings only, got {errors} errors and {warnings} warnings"
                ));
            }
        } else if errors == 0 {
            wrong.push(format!("{name}: wanted at least one error, got none"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Codes that mean "the text does not follow the grammar". The editor tests
/// (`editors/ci.sh`) expect exactly the err cases with such a problem to be named
/// `syntax_*`: tree-sitter must reject those and may accept the others.
const GRAMMAR_CODES: &[&str] = &["cascade::syntax::unexpected", "cascade::syntax::unexpected_end"];

#[test]
fn err_cases_named_syntax_are_exactly_those_with_a_grammar_error() {
    let mut wrong = Vec::new();
    for path in cascade_files("tests/cases/err") {
        let (_, diagnostics) = check_file(&path);
        let grammar_error = diagnostics.problems().iter().any(|p| GRAMMAR_CODES.contains(&p.code));
        let named = stem(&path).starts_with("syntax_");
        if grammar_error != named {
            let why = if named { "is named syntax_* but has" } else { "is not named syntax_* but has" };
            let has = if grammar_error { "a grammar error" } else { "no grammar error" };
            wrong.push(format!("{} {why} {has}", display_name(&path)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Codes that no single script can produce through `check_source`, and where they
/// are tested instead.
const CODES_TESTED_ELSEWHERE: &[(&str, &str)] = &[
    ("cascade::syntax::internal", "a guard against grammar changes; unreachable"),
    ("cascade::syntax::empty", "only `parse_expression` (REPL, API) reports it"),
    ("cascade::check::invalid", "only `Run::evaluate` of an expression (REPL, API) reports it"),
    ("cascade::syntax::not_utf8", "`Engine::compile_file` on bytes: tests/robustness.rs"),
    ("cascade::syntax::too_many_errors", "needs 100 syntax errors: tests/robustness.rs"),
    ("cascade::check::too_deep", "needs 200 forward references: tests/robustness.rs"),
    (
        "cascade::check::misplaced_call",
        "no built-in is limited to some places yet: a unit test in src/check/calls.rs",
    ),
];

/// Every registered `cascade::syntax::...` and `cascade::check::...` code (the
/// registry `cascade::codes`, which `tests/codes.rs` keeps equal to what `src/` raises).
fn codes_in_sources() -> BTreeSet<String> {
    cascade::codes::ALL
        .iter()
        .map(|c| c.code)
        .filter(|c| c.starts_with("cascade::syntax::") || c.starts_with("cascade::check::"))
        .map(String::from)
        .collect()
}

#[test]
fn every_code_of_the_checker_and_parser_has_an_err_case() {
    let in_sources = codes_in_sources();
    assert!(in_sources.len() > 20, "found only {} codes in src/: is the scan broken?", in_sources.len());
    let mut covered = BTreeSet::new();
    for path in cascade_files("tests/cases/err") {
        let (_, diagnostics) = check_file(&path);
        covered.extend(diagnostics.problems().iter().map(|p| p.code.to_string()));
    }
    let elsewhere: BTreeSet<String> = CODES_TESTED_ELSEWHERE.iter().map(|(c, _)| c.to_string()).collect();
    let missing: Vec<&String> =
        in_sources.iter().filter(|c| !covered.contains(*c) && !elsewhere.contains(*c)).collect();
    assert!(missing.is_empty(), "codes without a case in tests/cases/err: {missing:?}");
    let stale: Vec<&String> = elsewhere.iter().filter(|c| !in_sources.contains(*c)).collect();
    assert!(stale.is_empty(), "CODES_TESTED_ELSEWHERE lists codes that src/ no longer has: {stale:?}");
}

// ---------------------------------------------------------------------------------
// tests/cases/ok and examples

#[test]
fn ok_cases_and_examples_check_without_errors() {
    let mut files = cascade_files("tests/cases/ok");
    assert!(files.len() >= 8, "only {} ok cases", files.len());
    files.extend(cascade_files("examples"));
    let mut failures = Vec::new();
    for path in &files {
        let (_, diagnostics) = check_file(path);
        if diagnostics.has_errors() {
            failures.push(diagnostics.render(RenderStyle::Plain));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ok_cases_run_and_pass_their_expectations() {
    let engine = Engine::new().max_steps(1_000).max_fuel(10_000_000);
    for path in cascade_files("tests/cases/ok") {
        let name = display_name(&path);
        let program = engine.compile(&read(&path), &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut run = program.run().unwrap_or_else(|e| panic!("{name}: {e}"));
        run.run_to_end().unwrap_or_else(|e| panic!("{name}: {e}"));
        let failed: Vec<String> =
            run.expectations().iter().filter(|e| !e.passed).map(|e| format!("{name}: {e:?}")).collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        assert!(!run.expectations().is_empty(), "{name} has no expectations");
    }
}

// ---------------------------------------------------------------------------------
// Exact diagnostics

/// Checks `input` and compares its problems, in a compact form, with `expected`:
///
/// ```text
/// error cascade::check::unknown_name: unknown name `h100_prise`
///   3:6 `h100_prise`: not declared anywhere
///   help: did you mean `h100_price`?
/// ```
///
/// One line per problem, then one per label (`line:column`, the exact text the
/// span covers, the label; the first label is the primary one), then the help.
/// Indentation of `expected` is ignored, so it can follow the code.
#[track_caller]
fn check(input: &str, expected: &str) {
    let diagnostics = check_source(input, "test.cascade");
    let actual = compact(input, &diagnostics);
    let expected: Vec<&str> = expected.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let actual_lines: Vec<&str> = actual.lines().map(str::trim).collect();
    assert_eq!(actual_lines, expected, "\nactual:\n{actual}");
}

fn compact(input: &str, diagnostics: &Diagnostics) -> String {
    let mut out = String::new();
    for problem in diagnostics.problems() {
        let severity = if problem.is_error() { "error" } else { "warning" };
        out.push_str(&format!("{severity} {}: {}\n", problem.code, problem.message));
        for label in &problem.labels {
            let start = label.span.start as usize;
            let line = input[..start.min(input.len())].matches('\n').count() + 1;
            let line_start = input[..start.min(input.len())].rfind('\n').map_or(0, |i| i + 1);
            let column = input[line_start..start.min(input.len())].chars().count() + 1;
            let text = label.span.text(input);
            out.push_str(&format!("  {line}:{column} `{}`: {}\n", text.escape_debug(), label.text));
        }
        if let Some(help) = &problem.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
    out
}

#[test]
fn unknown_name_suggests_the_closest_declared_name() {
    check(
        "var h100_price = 2.00\nlet loss = 3 - h100_prise\nexpect loss > h100_price",
        r#"
        error cascade::check::unknown_name: unknown name `h100_prise`
          2:16 `h100_prise`: not declared anywhere
          help: did you mean `h100_price`?
        "#,
    );
}

#[test]
fn unknown_name_without_a_close_name_has_no_help() {
    check(
        "var price = 2.00\nexpect price + zzz > 0",
        r#"
        error cascade::check::unknown_name: unknown name `zzz`
          2:16 `zzz`: not declared anywhere
        "#,
    );
}

#[test]
fn unknown_field_lists_the_fields_of_the_kind() {
    check(
        "kind Lessor { debt = 0, cash = 0, let ltv = debt / cash }\nentity cw: Lessor\nexpect cw.gpus > 0",
        r#"
        error cascade::check::unknown_field: `Lessor` has no field `gpus`
          3:11 `gpus`: unknown field
          help: fields of Lessor are: debt, cash, ltv, defaulted, defaulted_at
        "#,
    );
}

#[test]
fn duplicate_declaration_points_at_both_places() {
    check(
        "param rate = 5%\nvar rate = 10%\nexpect rate > 0",
        r#"
        error cascade::check::duplicate: `rate` is declared twice
          2:5 `rate`: declared again here as a var
          1:7 `rate`: first declared here as a param
          help: rename one of them
        "#,
    );
}

#[test]
fn derived_cycle_labels_every_member() {
    check(
        "let a = b + 1\nlet b = c * 2\nlet c = a - 1\nexpect a > 0",
        r#"
        error cascade::check::cycle: derived values depend on each other in a cycle: a → b → c → a
          1:1 `let a = b + 1`: reads `b`
          2:1 `let b = c * 2`: reads `c`
          3:1 `let c = a - 1`: reads `a`
          help: break the cycle: make one of them a `var` updated by a rule, or compute it from other values
        "#,
    );
}

#[test]
fn unexpected_end_of_file_points_at_the_last_token() {
    check(
        "var price = 2.00\nwhen price < 1 then",
        r#"
        error cascade::syntax::unexpected_end: unexpected end of file
          2:16 `then`: the file ends after this; expected `{` or an effect
        "#,
    );
}

#[test]
fn a_label_on_a_non_ascii_character_covers_the_whole_character() {
    check(
        "param coût = 3.00",
        r#"
        error cascade::syntax::unexpected: unexpected `û`
          1:9 `û`: expected `=`
          help: names use ASCII letters, digits and `_`
        "#,
    );
}

#[test]
fn several_syntax_errors_are_reported_in_one_run() {
    let input = "param a = = 1\nparam b = 2\nkind K { x 1 }\nparam c = ) \nexpect b > 0\n";
    let diagnostics = check_source(input, "test.cascade");
    let lines: Vec<usize> = diagnostics
        .problems()
        .iter()
        .filter(|p| p.is_error())
        .map(|p| diagnostics.source().line_of(p.labels[0].span.start))
        .collect();
    assert_eq!(lines, [1, 3, 4], "{}", diagnostics.render(RenderStyle::Plain));
}

#[test]
fn spans_end_at_the_last_token_not_at_trailing_comments() {
    check(
        "var flag = false   # a comment\nwhen step > 1 then flag = 1   # another\nexpect flag",
        r#"
        error cascade::check::type_mismatch: the new value of `flag` must be a bool, but this is a number
          2:27 `1`: this is a number
        "#,
    );
    check(
        "kind K {\n  x = 1\n  let a = b   # comment\n  let b = a\n}\n",
        r#"
        error cascade::check::cycle: derived values depend on each other in a cycle: K.a → K.b → K.a
          3:3 `let a = b`: reads `K.b`
          4:3 `let b = a`: reads `K.a`
          help: break the cycle: make one of them a `var` updated by a rule, or compute it from other values
        "#,
    );
}

#[test]
fn a_syntax_error_does_not_cause_unknown_name_errors_for_what_it_declares() {
    // `Bank` fails to parse; its entity must not add "unknown kind `Bank`".
    check(
        "kind Bank { cash 0 }\nentity hsbc: Bank\nexpect hsbc.cash > 0\n",
        r#"
        error cascade::syntax::unexpected: unexpected `0`
          1:18 `0`: expected `=`
        "#,
    );
}

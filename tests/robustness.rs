//! No input makes the engine panic, overflow its stack or hang.
//!
//! - Property tests feed arbitrary text, token soup and mutated copies of the
//!   scripts in `tests/cases/ok/` and `examples/` through `check_source` and
//!   through compile + a short run with small limits. Every problem they report
//!   must have labels inside the text, on character boundaries, and must render.
//! - Explicit tests cover the hostile inputs of issue 2: invalid UTF-8, binary
//!   garbage, an empty file, 100,000 nested brackets, chained operators or field
//!   accesses, numbers beyond the range of a decimal, a 10 MB script, long chains
//!   of derived values, and a flood of syntax errors.
//! - Embedding calls with arbitrary text (names, expressions, param values,
//!   explain targets) on a running flagship get an `Err`, never a panic.

use std::fs;
use std::path::PathBuf;

use cascade::{Diagnostics, Engine, RenderStyle, check_source};
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The scripts the mutation test starts from.
fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["tests/cases/ok", "examples", "editors/samples"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else { continue };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "cascade"))
            .collect();
        paths.sort();
        texts.extend(paths.iter().filter_map(|p| fs::read_to_string(p).ok()));
    }
    assert!(texts.len() >= 8, "the corpus has only {} scripts", texts.len());
    texts
}

/// Limits small enough for hundreds of runs in a test.
fn small_engine() -> Engine {
    Engine::new().max_steps(50).max_fuel(1_000_000).max_firings_per_step(10_000).max_instances(10_000)
}

/// Every label lies inside the text, on character boundaries, and the problems
/// render (miette panics on a label past the end).
fn assert_well_formed(text: &str, diagnostics: &Diagnostics) {
    for problem in diagnostics.problems() {
        assert!(!problem.message.is_empty(), "a problem without a message: {problem:?}");
        for label in &problem.labels {
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            assert!(
                start <= end && end <= text.len(),
                "label {start}..{end} outside a text of {} bytes: {problem:?}",
                text.len()
            );
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "label {start}..{end} splits a character: {problem:?}"
            );
        }
    }
    let rendered = diagnostics.render(RenderStyle::Plain);
    assert_eq!(rendered.is_empty(), diagnostics.is_empty());
}

/// Parse and check, then compile and run with small limits: nothing may panic.
fn exercise(text: &str) {
    let diagnostics = check_source(text, "fuzz.cascade");
    assert_well_formed(text, &diagnostics);
    match small_engine().compile(text, "fuzz.cascade") {
        Ok(program) => {
            assert!(!diagnostics.has_errors(), "compiled although check_source found errors");
            if let Ok(mut run) = program.run() {
                // A run-time error (division by zero, a limit) is a fine outcome.
                let _ = run.run_to_end();
            }
        }
        Err(error) => {
            if let Some(d) = error.diagnostics() {
                assert_well_formed(text, d);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Property tests

/// Words and symbols of the language, and a few that are not.
const WORDS: &str = "scenario param var let series kind entity exposure rule when while then for in where \
    priority after steps at emit default stop expect assert linear hold and or not true false self recovery \
    start step horizon month date defaulted defaulted_at min max abs clamp round floor ceil sum count any \
    all mean exposures_of exposures_to exposure_losses x y K Bank b e cash { } ( ) [ ] : , . = == != < <= > \
    >= + - * / += -= *= /= -> % $ 0 1 2.5 1_000 3bn 45% $1.50 2026-01 2026-02-30 2026-13 \
    99999999999999999999999999999 \"text\" \"{x}\" \" # é";

fn vocabulary() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = WORDS.split_whitespace().collect();
    words.extend(["\n", "\n", "\n", "\t", "\u{0}"]);
    words
}

fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vocabulary());
    let separator = prop::sample::select(&[" ", " ", "", "\n"][..]);
    prop::collection::vec((token, separator), 0..80)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| format!("{t}{s}")).collect())
}

/// One edit of a script, at positions given as fractions of its length.
#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: f64, len: usize },
    Insert { at: f64, text: String },
    Duplicate { from: f64, len: usize, to: f64 },
    Keyword { at: f64, word: &'static str },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fraction = 0.0..1.0f64;
    prop_oneof![
        (fraction.clone(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (fraction.clone(), "(?s).{1,12}").prop_map(|(at, text)| Mutation::Insert { at, text }),
        (fraction.clone(), 1..200usize, fraction.clone()).prop_map(|(from, len, to)| Mutation::Duplicate {
            from,
            len,
            to
        }),
        (fraction, prop::sample::select(vocabulary())).prop_map(|(at, word)| Mutation::Keyword { at, word }),
    ]
}

/// The character boundary at or before `fraction` of the text.
fn boundary(text: &str, fraction: f64) -> usize {
    let mut at = ((text.len() as f64) * fraction) as usize;
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn boundary_after(text: &str, start: usize, len: usize) -> usize {
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    end
}

fn apply(text: &mut String, mutation: &Mutation) {
    match mutation {
        Mutation::Delete { at, len } => {
            let start = boundary(text, *at);
            let end = boundary_after(text, start, *len);
            text.replace_range(start..end, "");
        }
        Mutation::Insert { at, text: insert } => {
            let at = boundary(text, *at);
            text.insert_str(at, insert);
        }
        Mutation::Duplicate { from, len, to } => {
            let start = boundary(text, *from);
            let end = boundary_after(text, start, *len);
            let piece = text[start..end].to_string();
            let to = boundary(text, *to);
            text.insert_str(to, &piece);
        }
        Mutation::Keyword { at, word } => {
            let at = boundary(text, *at);
            text.insert_str(at, &format!(" {word} "));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        exercise(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        exercise(&text);
    }

    #[test]
    fn mutated_scripts_never_panic(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let corpus = corpus();
        let mut text = index.get(&corpus).clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        exercise(&text);
    }

    #[test]
    fn tight_limits_give_diagnostics_not_panics(
        index in any::<prop::sample::Index>(),
        nesting in 0usize..6,
        depth in 0usize..12,
        entities in 0usize..4,
        exposures in 0usize..4,
    ) {
        let corpus = corpus();
        let text = index.get(&corpus);
        let engine = small_engine()
            .max_nesting(nesting)
            .max_expression_depth(depth)
            .max_entities(entities)
            .max_exposures(exposures);
        match engine.compile(text, "limits.cascade") {
            // Limits only take away: what compiles under them compiles without them.
            Ok(_) => prop_assert!(small_engine().compile(text, "limits.cascade").is_ok()),
            Err(error) => {
                let diagnostics = error.diagnostics().expect("a script diagnostic");
                prop_assert!(diagnostics.has_errors());
                assert_well_formed(text, diagnostics);
            }
        }
    }
}

/// A name-ish or expression-ish string: words of the language, the flagship's
/// names, and punctuation.
fn api_text() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "coreweave",
        "neocloud",
        ".",
        "cash",
        "defaulted",
        "h100_price",
        "gpu_lender",
        "losses",
        "@",
        "12",
        "2027-06",
        "sum",
        "(",
        ")",
        "l",
        "for",
        "in",
        "Lessor",
        "+",
        "/",
        "0",
        "*",
        "1e400",
        "\"",
        "é",
        " ",
        "99999999999999999999999999999",
        "-",
        "%",
        "bn",
        "holding_cost",
        "true",
        "[",
        "]",
        "{",
        "}",
    ]);
    prop::collection::vec(words, 0..12).prop_map(|w| w.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn embedding_calls_with_arbitrary_text_never_panic(
        a in api_text(),
        b in api_text(),
        free in "(?s).{0,40}",
        steps in 0u64..30,
    ) {
        let text = fs::read_to_string(root().join("examples/ai_compute_credit.cascade")).unwrap();
        let program = small_engine().compile(&text, "flagship.cascade").expect("the flagship compiles");
        for name in [&a, &b, &free] {
            let _ = program.start().set_text(name, &b);
            let _ = program.start().set_text("holding_cost", name);
            let _ = program.fields(name);
        }
        let mut run = program.run().expect("the flagship starts");
        for _ in 0..steps {
            if run.step().is_err() {
                break;
            }
        }
        for input in [&a, &b, &free] {
            let _ = run.value(input);
            let _ = run.evaluate(input);
            let _ = run.explain(input);
            if let Ok(value) = run.evaluate(&b) {
                let _ = run.set_value(input, value);
            }
        }
        // Whatever was poked, the run goes on or stops with an error.
        let _ = run.run_to_end();
    }
}

// ---------------------------------------------------------------------------------
// Hostile inputs

fn codes(diagnostics: &Diagnostics) -> Vec<&'static str> {
    diagnostics.problems().iter().map(|p| p.code).collect()
}

/// Checks `text`, which must give at least one error with `code`; returns the
/// diagnostics.
#[track_caller]
fn expect_error(text: &str, code: &str) -> Diagnostics {
    let diagnostics = check_source(text, "hostile.cascade");
    assert_well_formed(text, &diagnostics);
    assert!(codes(&diagnostics).contains(&code), "wanted {code}, got {:?}", codes(&diagnostics));
    diagnostics
}

/// A file in the tests' scratch directory (`CARGO_TARGET_TMPDIR`), removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("robustness-{name}"));
        fs::write(&path, bytes).expect("write a temporary file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn a_file_that_is_not_utf8_is_a_diagnostic_at_the_first_bad_byte() {
    let file = TempFile::new("latin1.cascade", b"param prix = 3\n# co\xfbt\nvar x = 1\n");
    let error = Engine::new().compile_file(&file.0).expect_err("not UTF-8");
    let diagnostics = error.diagnostics().expect("a script diagnostic");
    let problem = &diagnostics.problems()[0];
    assert_eq!(problem.code, "cascade::syntax::not_utf8");
    assert!(problem.message.contains("UTF-8"), "{}", problem.message);
    assert_eq!(problem.labels[0].span.start, 19, "the label is on the byte 0xFB");
    diagnostics.render(RenderStyle::Plain);
}

#[test]
fn a_file_that_cannot_be_read_is_an_io_error_naming_it() {
    let missing = std::env::temp_dir().join("cascade-no-such-file.cascade");
    for path in [missing.as_path(), std::env::temp_dir().as_path()] {
        let error = Engine::new().compile_file(path).expect_err("nothing to read");
        let cascade::Error::Io(diagnostics) = &error else { panic!("not an Io error: {error:?}") };
        let problem = &diagnostics.problems()[0];
        assert_eq!(problem.code, "cascade::io::read");
        assert!(problem.message.contains(&path.display().to_string()), "{}", problem.message);
    }
    // Read but not a script: a script error, not Io.
    let file = TempFile::new("latin1-again.cascade", b"# \xfb\n");
    let error = Engine::new().compile_file(&file.0).expect_err("not UTF-8");
    assert!(matches!(error, cascade::Error::Script(_)), "{error:?}");
}

#[test]
fn binary_garbage_is_diagnosed() {
    let bytes: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let file = TempFile::new("garbage.bin", &bytes);
    let error = Engine::new().compile_file(&file.0).expect_err("garbage is not a script");
    assert!(error.diagnostics().is_some_and(Diagnostics::has_errors));
    // The same bytes made valid UTF-8, and ASCII control characters.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(check_source(&text, "garbage.cascade").has_errors());
    exercise(&text);
    let controls: String = (0u8..32).map(char::from).cycle().take(10_000).collect();
    exercise(&controls);
}

#[test]
fn an_empty_file_is_an_empty_world() {
    for text in ["", "\n\n", "   \t\r\n", "# only a comment", "# a comment\n\n# another\n", "\u{FEFF}"] {
        let diagnostics = check_source(text, "empty.cascade");
        assert!(diagnostics.is_empty(), "{text:?}: {}", diagnostics.render(RenderStyle::Plain));
        let program = Engine::new().compile(text, "empty.cascade").expect("an empty world compiles");
        let mut run = program.run().expect("and starts");
        run.run_to_end().expect("and runs to its horizon");
    }
}

#[test]
fn a_hundred_thousand_nested_brackets_are_diagnosed() {
    let n = 100_000;
    expect_error(&format!("let x = {}1{}", "(".repeat(n), ")".repeat(n)), "cascade::syntax::too_deep");
    expect_error(&format!("let x = {}", "(".repeat(n)), "cascade::syntax::too_deep");
    expect_error(&"{".repeat(n), "cascade::syntax::too_deep");
    expect_error(&format!("kind K {}", "{".repeat(n)), "cascade::syntax::too_deep");
    expect_error(&format!("var x = 1\nat 1 then emit \"{}\"", "{(".repeat(n)), "cascade::syntax::too_deep");
    expect_error(
        &format!("let x = max({}1{})", "min(".repeat(n), ")".repeat(n)),
        "cascade::syntax::too_deep",
    );
}

#[test]
fn a_hundred_thousand_chained_operators_are_diagnosed() {
    let n = 100_000;
    for text in [
        format!("let x = {}true", "not ".repeat(n)),
        format!("let x = {}1", "- ".repeat(n)),
        format!("let x = {}1", "-".repeat(n)),
        format!("let x = {}1", "not -".repeat(n)),
    ] {
        let diagnostics = check_source(&text, "chain.cascade");
        assert_well_formed(&text, &diagnostics);
        assert!(diagnostics.has_errors(), "{}", &text[..40]);
    }
    // A few in a row are fine.
    let diagnostics =
        check_source("let x = - - - -1\nlet y = not not true\nexpect x == 1 and y", "few.cascade");
    assert!(diagnostics.is_empty(), "{}", diagnostics.render(RenderStyle::Plain));
}

#[test]
fn a_hundred_thousand_term_sum_is_diagnosed() {
    let text = format!("let x = 1{}", " + 1".repeat(100_000));
    expect_error(&text, "cascade::syntax::too_deep");
    let text = format!("let x = 1{}", "*1-1+1/1".repeat(25_000));
    expect_error(&text, "cascade::syntax::too_deep");
    // A long sum within the limit compiles and runs.
    let text = format!("let x = 1{}\nexpect x == 500", " + 1".repeat(499));
    let program = Engine::new().compile(&text, "sum.cascade").expect("499 additions are fine");
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    assert!(run.expectations().iter().all(|e| e.passed));
}

#[test]
fn a_hundred_thousand_deep_field_chain_is_diagnosed() {
    let text = format!("kind K {{ f = 1 }}\nentity e: K\nlet x = e{}", ".f".repeat(100_000));
    expect_error(&text, "cascade::syntax::too_deep");
    // A short chain is a type error, not a crash: `e.f` is a number.
    expect_error("kind K { f = 1 }\nentity e: K\nlet x = e.f.f.f", "cascade::check::not_an_entity");
}

#[test]
fn numbers_beyond_the_range_of_a_decimal_are_diagnosed_at_the_literal() {
    for literal in [
        "79228162514264337593543950336",
        "99999999999999999999999999999999999999",
        "80000000000000000tn",
        "100000000000000000000bn",
        "0.00000000000000000000000000001",
        "1.0000000000000000000000000000001",
        "$99999999999999999999999999999%",
    ] {
        let text = format!("param p = 1 + {literal}\nexpect p > 0");
        let diagnostics = expect_error(&text, "cascade::syntax::number_out_of_range");
        let problem = &diagnostics.problems()[0];
        assert_eq!(problem.labels[0].span.text(&text), literal);
    }
    expect_error(&format!("param p = {}", "9".repeat(100_000)), "cascade::syntax::number_out_of_range");
    expect_error("at 99999999999999999999999 then stop", "cascade::syntax::bad_number");
    expect_error("rule r priority 99999999999999999999: at 1 then stop", "cascade::syntax::bad_number");
    // The largest decimal itself is fine.
    let diagnostics = check_source("param p = 79228162514264337593543950335\nexpect p > 0", "max.cascade");
    assert!(diagnostics.is_empty(), "{}", diagnostics.render(RenderStyle::Plain));
}

#[test]
fn arithmetic_at_the_edge_of_the_range_is_a_run_time_error() {
    let text = "var x = 79228162514264337593543950335\nat 1 then x *= 2\nexpect x > 0";
    let program = Engine::new().compile(text, "overflow.cascade").expect("compiles");
    let mut run = program.run().unwrap();
    let error = run.run_to_end().expect_err("overflow");
    let diagnostics = error.diagnostics().expect("a diagnostic");
    assert_well_formed(text, diagnostics);
    assert!(codes(diagnostics).contains(&"cascade::run::overflow"), "{:?}", codes(diagnostics));
}

/// About 10 MB: kinds, entities, exposures, series, derived values and rules.
fn ten_megabyte_script() -> String {
    let mut text = String::with_capacity(10_500_000);
    text.push_str("scenario \"ten megabytes\" { start = 2026-01, step = month, horizon = 3 }\n");
    text.push_str("param haircut = 40%\nvar shock = 0\n");
    text.push_str("series rate = { 2026-01: 1%, 2026-06: 2%, 2027-01: 3% }\n");
    text.push_str("kind Bank {\n  capital = 0\n  debt = 0\n  let losses = exposure_losses(self)\n");
    text.push_str("  let solvent = capital > losses + debt * rate\n}\n");
    let banks = 50_000;
    for i in 0..banks {
        text.push_str(&format!(
            "entity bank_{i}: Bank {{ capital = {}m, debt = {}k }}  # bank number {i}\n",
            i % 97 + 1,
            i % 13
        ));
    }
    let mut i: u64 = 0;
    while text.len() < 9_500_000 {
        let creditor = (i * 7919) % banks;
        let debtor = (i * 104_729 + 1) % banks;
        if creditor != debtor {
            text.push_str(&format!(
                "exposure bank_{creditor} -> bank_{debtor} = {}m, recovery {}%\n",
                i % 50 + 1,
                i % 90
            ));
        }
        i += 1;
    }
    for r in 0..200 {
        text.push_str(&format!("let level_{r} = shock * {r} + haircut\n"));
    }
    text.push_str("for b: Bank when not b.solvent then default(b)\n");
    text.push_str("at 2 then shock += 1\nexpect shock == 1\n");
    while text.len() < 10_000_000 {
        text.push_str("# padding: comments count towards the size of a script too\n");
    }
    text
}

#[test]
fn a_ten_megabyte_script_checks() {
    let text = ten_megabyte_script();
    assert!(text.len() >= 10_000_000);
    let diagnostics = check_source(&text, "ten_megabytes.cascade");
    assert!(!diagnostics.has_errors(), "{}", diagnostics.render(RenderStyle::Plain));
}

#[test]
fn long_chains_of_derived_values_are_checked_without_overflowing() {
    // Declared in order: every `let` reads the one above it.
    let n = 10_000;
    let mut text = String::from("let v_0 = 1\n");
    for i in 1..n {
        text.push_str(&format!("let v_{i} = v_{} + 1\n", i - 1));
    }
    text.push_str(&format!("expect v_{} == {n}\n", n - 1));
    let diagnostics = check_source(&text, "chain.cascade");
    assert!(diagnostics.is_empty(), "{}", diagnostics.render(RenderStyle::Plain));

    // Each `let` reads the one below it: the checker follows them up to a depth.
    let forward = |n: usize| {
        let mut text = String::new();
        for i in 0..n - 1 {
            text.push_str(&format!("let f_{i} = f_{} + 1\n", i + 1));
        }
        text.push_str(&format!("let f_{} = 1\nexpect f_0 == {n}\n", n - 1));
        text
    };
    let diagnostics = check_source(&forward(150), "forward.cascade");
    assert!(diagnostics.is_empty(), "{}", diagnostics.render(RenderStyle::Plain));
    expect_error(&forward(10_000), "cascade::check::too_deep");

    // A cycle through ten thousand derived values: one error, every member labelled.
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("let c_{i} = c_{} + 1\n", (i + 1) % n));
    }
    let diagnostics = check_source(&text, "cycle.cascade");
    assert_well_formed(&text, &diagnostics);
    assert!(diagnostics.has_errors());
}

#[test]
fn long_chains_of_derived_values_run() {
    let n = 2_000;
    let mut text = String::from("var base = 1\nlet v_0 = base\n");
    for i in 1..n {
        text.push_str(&format!("let v_{i} = v_{} + 1\n", i - 1));
    }
    text.push_str(&format!("at 2 then base = 10\nexpect v_{} == {}\n", n - 1, n + 9));
    let program = Engine::new().max_steps(3).compile(&text, "chain.cascade").expect("compiles");
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    assert!(run.expectations().iter().all(|e| e.passed), "{:?}", run.expectations());
}

#[test]
fn a_flood_of_syntax_errors_stops_after_a_hundred() {
    let text: String = (0..20_000).map(|i| format!("param p_{i} = = {i}\n")).collect();
    let diagnostics = check_source(&text, "flood.cascade");
    assert_well_formed(&text, &diagnostics);
    let codes = codes(&diagnostics);
    assert_eq!(codes.len(), 101, "{codes:?}");
    assert_eq!(codes.last(), Some(&"cascade::syntax::too_many_errors"));
}

#[test]
fn long_lines_names_and_strings_are_fine() {
    let name = "n".repeat(100_000);
    let text = format!("var {name} = 1\nexpect {name} == 1");
    assert!(check_source(&text, "name.cascade").is_empty());
    let text = format!("var x = 1\nat 1 then emit \"{}\"\nexpect x == 1", "{x} ".repeat(100_000));
    assert!(check_source(&text, "interpolations.cascade").is_empty());
    let text = format!("var x = 1{}\nexpect x == 1", " # comment".repeat(100_000));
    assert!(check_source(&text, "comment.cascade").is_empty());
}

#[test]
fn a_problem_far_along_a_very_long_line_renders_without_a_snippet() {
    // miette's renderer panics on an underline more than 65,535 columns in.
    let text = format!("var y = {}zzz\n", " ".repeat(70_000));
    let diagnostics = check_source(&text, "wide.cascade");
    assert!(codes(&diagnostics).contains(&"cascade::check::unknown_name"), "{:?}", codes(&diagnostics));
    for style in [RenderStyle::Plain, RenderStyle::Colour, RenderStyle::Ascii] {
        let rendered = diagnostics.render(style);
        assert!(rendered.contains("at wide.cascade:1:70009:"), "{rendered}");
    }
}

#[test]
fn thousands_of_problems_render_the_first_two_hundred() {
    let fields = vec!["x = 1"; 20_000].join(", ");
    let text = format!("kind K {{ x = 0 }}\nentity e: K {{ {fields} }}\n");
    let diagnostics = check_source(&text, "dups.cascade");
    assert_eq!(diagnostics.error_count(), 19_999);
    assert_well_formed(&text, &diagnostics);
    let rendered = diagnostics.render(RenderStyle::Plain);
    assert!(
        rendered.ends_with("... and 19799 more problems not shown (the first 200 are above)\n"),
        "{rendered}"
    );
}

/// Spans are 32-bit offsets, so an engine takes no text of 4 GiB or more,
/// whatever a host sets.
#[test]
fn text_limits_stop_at_4_gib() {
    let engine = Engine::new().max_source_bytes(usize::MAX).max_data_bytes(usize::MAX);
    let shown = format!("{engine:?}");
    assert_eq!(cascade::source::MAX_TEXT_BYTES, 4_294_967_295);
    assert!(shown.contains("max_source_bytes: 4294967295"), "{shown}");
    assert!(shown.contains("max_data_bytes: 4294967295"), "{shown}");
}

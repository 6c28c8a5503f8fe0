//! Hostile scripts under the default limits: each shape that once crashed,
//! hung or grew without bound now ends, through the public API, with a
//! diagnostic or a result. (Their peak memory and time on a release build are
//! in `BENCHMARKS.md`, measured with `/usr/bin/time -v`, not here.)

use cascade::{Engine, MAX_EXPLAIN_DEPTH};

/// Runs `f` on a thread with a 2 MB stack (a debug build's test thread).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("a thread").join().expect("no panic")
}

#[test]
fn explain_follows_a_chain_to_its_ceiling_on_a_small_stack() {
    let text = on_small_stack(|| {
        // `x = x + 1`, not `x += 1`: a value built up by `+=` is summarised, not
        // followed write by write; each `=` starts afresh, so the chain is one firing per level.
        let script = "scenario \"c\" { horizon = 2000 }\nvar x = 0\nrule a: while x >= 0 then x = x + 1\n";
        let program = Engine::new().compile(script, "deep.cascade").expect("compiles");
        let mut run = program.run().expect("starts");
        run.run_to_end().expect("runs");
        let error = run.explain_tree("x", MAX_EXPLAIN_DEPTH + 1).expect_err("over the ceiling");
        assert!(error.to_string().contains("is more than 256"), "{error}");
        let tree = run.explain_tree("x", MAX_EXPLAIN_DEPTH).expect("at the ceiling");
        let json = serde_json::to_string(&tree).expect("serialises");
        assert!(json.len() > 10_000);
        tree.to_text()
    });
    assert!(text.contains(" at step 1744 (was "), "{}", &text[..text.len().min(2000)]);
    assert!(!text.contains(" at step 1743 (was "));
}

#[test]
fn a_lone_carriage_return_ends_a_line() {
    // Old Mac line endings: the comment ends at the `\r`, the expect is there.
    let script = "# x starts at 1\rvar x = 1\rexpect x == 2\r";
    let program = Engine::new().compile(script, "mac.cascade").expect("compiles");
    let mut run = program.run().expect("starts");
    run.run_to_end().expect("runs");
    let expectations = run.expectations();
    assert_eq!(expectations.len(), 1, "the expect is read");
    assert!(!expectations[0].passed);
    assert_eq!(expectations[0].line, 3);
    // A diagnostic shows the right line, as for `\n` and `\r\n`.
    for newline in ["\r", "\n", "\r\n"] {
        let script = ["# a comment", "var x = 1", "let y = zz"].join(newline);
        let error = Engine::new().compile(&script, "mac.cascade").expect_err("an unknown name");
        let rendered = error.diagnostics().unwrap().render(cascade::RenderStyle::Plain);
        assert!(rendered.contains("[mac.cascade:3:9]"), "{newline:?}: {rendered}");
        assert!(rendered.contains(" 3 │ let y = zz"), "{newline:?}: {rendered}");
    }
}

/// Runs `script` to the end and renders the run-time diagnostic it stops with.
fn run_error(script: &str) -> String {
    let program = Engine::new().compile(script, "hostile.cascade").expect("compiles");
    let mut run = program.run().expect("starts");
    let error = run.run_to_end().expect_err("a run-time error");
    error.diagnostics().expect("a script diagnostic").render(cascade::RenderStyle::Plain)
}

#[test]
fn a_non_zero_result_that_rounds_to_zero_is_an_underflow() {
    let rendered = run_error("var x = 1\nrule h: while true then x /= 1000\n");
    assert!(rendered.contains("cascade::run::underflow"), "{rendered}");
    insta::assert_snapshot!("underflow_assign", rendered);
    let rendered =
        run_error("param tiny = 0.00000000000001\nvar x = 0\nrule h: at 1 then x = tiny * tiny * 0.01\n");
    insta::assert_snapshot!("underflow_product", rendered);
    // Exact zeros are fine: 0 × x, and x - x.
    let program = Engine::new()
        .compile("var x = 1\nvar y = 0\nat 1 { y = 0 * x / 3, x = x - x }\nexpect x == 0\n", "z")
        .unwrap();
    let mut run = program.run().unwrap();
    run.run_to_end().expect("no underflow");
}

#[test]
fn a_division_by_zero_names_the_divisor() {
    let rendered = run_error("param installed_base = 0\nvar x = 1\nat 1 then x = 100 / installed_base\n");
    assert!(rendered.contains("this divisor is 0"), "{rendered}");
    insta::assert_snapshot!("division_by_zero_name", rendered);
    let rendered = run_error("var x = 1\nat 1 then x = 1 / (x - 1)\n");
    assert!(rendered.contains(" ───┬───\n"), "the label spans `(x - 1)`: {rendered}");
}

#[test]
fn twenty_thousand_unknown_names_are_checked_in_linear_time() {
    // Each unknown name was compared with every declared one for "did you
    // mean": this took more than ten minutes.
    let script: String = (0..20_000).map(|i| format!("let x{i} = y{i}\n")).collect();
    let diagnostics = cascade::check_source(&script, "unknown.cascade");
    assert_eq!(diagnostics.error_count(), 20_000);
    assert!(diagnostics.problems().iter().all(|p| p.code == "cascade::check::unknown_name"));
}

#[test]
fn the_trace_kept_for_explain_is_bounded() {
    // Each firing keeps two records: itself and its effect (`true` reads nothing).
    let script = "scenario \"s\" { horizon = 1000 }\nvar x = 0\nrule r: while true then x += 1\n";
    let program = Engine::new().max_trace(300).compile(script, "trace.cascade").expect("compiles");
    let mut run = program.run().expect("starts");
    let error = run.run_to_end().expect_err("over the limit");
    let problem = &error.diagnostics().expect("a diagnostic").problems()[0];
    assert_eq!(problem.code, "cascade::limit::trace");
    assert!(problem.message.contains("kept 300 records"), "{}", problem.message);
    assert!(problem.help.as_deref().unwrap_or("").contains("--max-trace"), "{problem:?}");
    assert_eq!(run.current_step(), 151, "the run stops in step 151, the first over the limit");
    // At the limit exactly, the run ends normally.
    let program = Engine::new().max_trace(2000).compile(script, "trace.cascade").unwrap();
    let mut run = program.run().unwrap();
    run.run_to_end().expect("2,000 records fit");
}

// Messages that once misled (issue 13, item 11). The check-time ones are err
// cases (`tests/cases/err/`: syntax_prefix_chain, duplicate_entity_then_var,
// delay_too_long); the REPL's are in `tests/repl/set_errors.session`.

#[test]
fn an_aggregate_of_nothing_says_why_there_was_nothing() {
    let rendered =
        run_error("kind Bank { capital = 1 }\nvar y = 0\nat 1 then y = mean(b.capital for b in Bank)\n");
    assert!(rendered.contains("the kind `Bank` has no entities"), "{rendered}");
    insta::assert_snapshot!("mean_of_an_empty_kind", rendered);
    // With a filter that nothing passes, the filter is to blame.
    let rendered = run_error(
        "kind Bank { capital = 1 }\nentity a: Bank\nvar y = 0\nat 1 then y = max(b.capital for b in Bank where b.capital > 5)\n",
    );
    assert!(rendered.contains("nothing passed the `where` filter"), "{rendered}");
    let rendered = run_error(
        "kind Bank { capital = 1 }\nentity a: Bank\nvar y = 0\nat 1 then y = min(x.amount for x in exposures_of(a))\n",
    );
    assert!(rendered.contains("this entity lends to no one"), "{rendered}");
}

#[test]
fn a_delay_computed_beyond_the_range_of_steps_is_too_long() {
    let rendered =
        run_error("param d = 18446744073709551616\nvar x = 0\nat 1 { after d steps x = 1 }\nexpect x == 0\n");
    assert!(rendered.contains("is too long"), "{rendered}");
    insta::assert_snapshot!("delay_too_long_at_run_time", rendered);
}

#[test]
fn a_megabyte_line_is_never_echoed_whole() {
    // The warning is on line 1; its neighbour, line 2, is a megabyte long.
    let script = format!("var x = 0\nlet y = zz + 1 # {}\n", "a".repeat(1 << 20));
    let diagnostics = cascade::check_source(&script, "long.cascade");
    let rendered = diagnostics.render(cascade::RenderStyle::Plain);
    assert!(rendered.len() < 1000, "{} bytes", rendered.len());
    insta::assert_snapshot!("megabyte_line", rendered);
}

#[test]
fn a_horizon_over_the_step_limit_is_refused_not_cut() {
    let program = Engine::new().compile("var x = 0\nrule r: while true then x += 1\n", "h.cascade").unwrap();
    let error = program.start().horizon(2_000_000).begin().expect_err("over max_steps");
    let rendered = error.diagnostics().expect("a diagnostic").render(cascade::RenderStyle::Plain);
    assert!(rendered.contains("cascade::limit::steps"), "{rendered}");
    insta::assert_snapshot!("horizon_over_the_step_limit", rendered);
    program.start().horizon(1_000_000).begin().expect("at the limit");
}

#[test]
fn explain_beyond_the_last_step_says_where_the_run_is() {
    let script = "scenario \"e\" { horizon = 10 }\nvar x = 0\nrule r: while true then x += 1\n";
    let program = Engine::new().compile(script, "e.cascade").unwrap();
    let mut run = program.run().unwrap();
    run.step().unwrap();
    run.step().unwrap();
    let error = run.explain("x@5").expect_err("step 5 has not run");
    assert_eq!(error.to_string(), "invalid value for `x@5`: the run is at step 2; step 5 has not run yet");
    run.run_to_end().unwrap();
    let error = run.explain("x@999").expect_err("beyond the end");
    insta::assert_snapshot!("explain_beyond_the_end", error.to_string());
    assert!(run.explain("x@10").expect("the last step").contains("x is 10"));
}

#[test]
fn the_instance_limit_counts_in_words() {
    let script = "kind K { v = 0 }\nentity a: K\nentity b: K\nrule one: while true then a.v += 1\nrule r: for k: K when k.v > 1 then k.v = 0\n";
    let program = Engine::new().max_instances(0).compile(script, "i.cascade").unwrap();
    let rendered =
        program.run().expect_err("over").diagnostics().unwrap().render(cascade::RenderStyle::Plain);
    assert!(rendered.contains("rule `one` would have 1 instance, over the limit of 0"), "{rendered}");
    let program = Engine::new().max_instances(2).compile(script, "i.cascade").unwrap();
    let rendered =
        program.run().expect_err("over").diagnostics().unwrap().render(cascade::RenderStyle::Plain);
    insta::assert_snapshot!("instances_with_the_rules_before", rendered);
}

// ---------------------------------------------------------------------------
// The hostile suite through the `cascade` binary, under the default limits (no
// `--max-...` flag unless the shape is a flag): each shape of issue 13 ends with
// an ordinary exit and the diagnostic it should, well within the hang guard.
// Their peak memory and time at full size are in `BENCHMARKS.md`.

/// One hostile input: the script's bytes, the arguments (`{}` is the script's
/// path), the exit code and a piece of standard error that says what happened.
struct Shape {
    name: &'static str,
    script: Vec<u8>,
    args: &'static [&'static str],
    exit: i32,
    says: &'static str,
}

fn shapes() -> Vec<Shape> {
    let shape = |name, script: Vec<u8>, args, exit, says| Shape { name, script, args, exit, says };
    let chain = b"scenario \"c\" { horizon = 20000 }\nvar x = 0\nrule a: while x >= 0 then x += 1\n".to_vec();
    let unknown: String = (0..20_000).map(|i| format!("let x{i} = y{i}\n")).collect();
    vec![
        shape(
            "explain far deeper than the ceiling",
            chain.clone(),
            &["explain", "{}", "x", "--depth", "8000"],
            2,
            "is more than 256",
        ),
        shape(
            "explain beyond the end of the run",
            chain,
            &["explain", "{}", "x@30000"],
            2,
            "the run ended at step 20000",
        ),
        shape(
            "NUL in a script",
            b"var x = 1\0\nexpect x == 1\n".to_vec(),
            &["check", "{}"],
            1,
            "unexpected `\\0`",
        ),
        shape("invalid UTF-8", b"var x = 1\xff\n".to_vec(), &["run", "{}"], 1, "cascade::syntax::not_utf8"),
        shape(
            "only `\\r` line ends: the expect is read",
            b"# c\rvar x = 1\rexpect x == 2\r".to_vec(),
            &["test", "{}"],
            1,
            "cascade::test::expect_failed",
        ),
        shape(
            "100,000 nested brackets",
            format!("let y = {}1", "(".repeat(100_000)).into_bytes(),
            &["check", "{}"],
            1,
            "cascade::syntax::too_deep",
        ),
        shape(
            "100,000 prefix operators",
            format!("var x = 1\nlet y = {}x\n", "-".repeat(100_000)).into_bytes(),
            &["check", "{}"],
            1,
            "more than 4 `-` or `not` in a row",
        ),
        shape(
            "five `not`s",
            b"var x = true\nlet y = not not not not not x\n".to_vec(),
            &["check", "{}"],
            1,
            "more than 4 `-` or `not` in a row",
        ),
        shape("20,000 unknown names", unknown.into_bytes(), &["check", "{}"], 1, "20000 errors"),
        shape(
            "a literal beyond the decimals",
            b"var x = 99999999999999999999999999999999999999\n".to_vec(),
            &["check", "{}"],
            1,
            "cascade::syntax::number_out_of_range",
        ),
        shape(
            "a value that shrinks to zero",
            b"var x = 1\nrule h: while true then x /= 1000\n".to_vec(),
            &["run", "{}"],
            1,
            "cascade::run::underflow",
        ),
        shape(
            "a division by zero",
            b"var x = 1\nat 1 then x = 1 / (x - 1)\n".to_vec(),
            &["run", "{}", "--format", "json"],
            1,
            "cascade::run::division_by_zero",
        ),
        shape(
            "a delay of 2^64 steps",
            b"var x = 0\nat 1 { after 18446744073709551616 steps x = 1 }\n".to_vec(),
            &["check", "{}"],
            1,
            "is too long",
        ),
        shape(
            "the mean of an empty kind",
            b"kind Bank { capital = 1 }\nvar y = 0\nat 1 then y = mean(b.capital for b in Bank)\n".to_vec(),
            &["run", "{}"],
            1,
            "the kind `Bank` has no entities",
        ),
        shape(
            "--horizon over the step limit",
            b"var x = 0\nrule r: while true then x += 1\n".to_vec(),
            &["run", "{}", "--horizon", "2000000"],
            1,
            "more than this engine runs (at most 1000000)",
        ),
        shape(
            "--max-nesting over its ceiling",
            b"var x = 1\n".to_vec(),
            &["check", "{}", "--max-nesting", "1000"],
            2,
            "1000 is not in 0..=256",
        ),
        shape(
            "--max-instances 0",
            b"var x = 0\nrule r: while true then x += 1\n".to_vec(),
            &["run", "{}", "--max-instances", "0"],
            1,
            "would have 1 instance, over the limit of 0",
        ),
        shape(
            "a megabyte line next to a warning",
            format!("var x = 0\nlet y = zz + 1 # {}\n", "a".repeat(1 << 20)).into_bytes(),
            &["check", "{}"],
            1,
            "at {}:2:9: not declared anywhere",
        ),
    ]
}

#[test]
fn the_hostile_suite_ends_with_a_diagnostic_under_the_default_limits() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, shape) in shapes().into_iter().enumerate() {
        let path = dir.join(format!("shape{i}.cascade"));
        std::fs::write(&path, &shape.script).unwrap();
        let file = path.display().to_string();
        let args: Vec<String> = shape.args.iter().map(|a| a.replace("{}", &file)).collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut pipe, &mut text).map(|_| text)
        });
        // A hang guard, not a timing: on an idle machine every shape takes
        // well under a second (a loaded one may be many times slower).
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > std::time::Duration::from_secs(120) {
                let _ = child.kill();
                panic!("{}: did not end", shape.name);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let stderr = reader.join().unwrap().unwrap_or_default();
        assert_eq!(status.code(), Some(shape.exit), "{}: {}", shape.name, &stderr[..stderr.len().min(3000)]);
        let says = shape.says.replace("{}", &file);
        assert!(
            stderr.contains(&says),
            "{}: expected {says:?} in {}",
            shape.name,
            &stderr[..stderr.len().min(3000)]
        );
        assert!(stderr.len() < 100_000, "{}: {} bytes of diagnostics", shape.name, stderr.len());
        let _ = std::fs::remove_file(path);
    }
}

//! The step machine's semantics, one small script per point, through the public API.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cascade::{Decimal, Engine, Error, Run, Value};

/// Compiles and runs a script to the end.
fn run(script: &str) -> Run {
    run_with(Engine::new(), script)
}

fn run_with(engine: Engine, script: &str) -> Run {
    let program = match engine.compile(script, "test.cascade") {
        Ok(p) => p,
        Err(e) => panic!("{}", render(&e)),
    };
    let mut run = program.run().unwrap_or_else(|e| panic!("{}", render(&e)));
    if let Err(e) = run.run_to_end() {
        panic!("{}", render(&e));
    }
    run
}

/// The diagnostic of a script whose run fails.
fn run_error(engine: Engine, script: &str) -> cascade::Problem {
    let program = engine.compile(script, "test.cascade").unwrap_or_else(|e| panic!("{}", render(&e)));
    let error = match program.run() {
        Ok(mut run) => run.run_to_end().expect_err("the run should fail"),
        Err(e) => e,
    };
    let diagnostics = error.diagnostics().unwrap_or_else(|| panic!("not a script error: {error}"));
    assert_eq!(diagnostics.problems().len(), 1, "{}", diagnostics.render(cascade::RenderStyle::Plain));
    diagnostics.problems()[0].clone()
}

fn render(e: &Error) -> String {
    match e.diagnostics() {
        Some(d) => d.render(cascade::RenderStyle::Plain),
        None => e.to_string(),
    }
}

/// The exact value of `name` as text.
fn value(run: &mut Run, name: &str) -> String {
    run.value(name).unwrap_or_else(|e| panic!("{}", render(&e))).to_string()
}

fn emitted(run: &Run) -> Vec<(u64, String)> {
    run.events()
        .into_iter()
        .filter(|e| e.kind == cascade::EventKind::Emit)
        .map(|e| (e.step, e.text))
        .collect()
}

#[test]
fn when_is_edge_triggered_and_rearms_after_being_false() {
    // x goes 1,2,3,1,2,3,...; `x >= 3` becomes true at steps 2, 5, 8.
    let mut run = run(r#"
        scenario "s" { horizon = 9 }
        var x = 0
        var fired = 0
        rule cycle priority 10: while true then x = x - floor(x / 3) * 3 + 1
        when x >= 3 then fired += 1
        rule log: when x >= 3 then emit "fired at {step}"
    "#);
    assert_eq!(value(&mut run, "fired"), "3");
    assert_eq!(
        emitted(&run),
        vec![(3, "fired at 3".into()), (6, "fired at 6".into()), (9, "fired at 9".into())]
    );
}

#[test]
fn when_fires_at_the_first_step_if_true_from_the_start() {
    let mut run = run("scenario \"s\" { horizon = 3 }\nvar n = 0\nwhen true then n += 1");
    assert_eq!(value(&mut run, "n"), "1");
}

#[test]
fn while_fires_in_every_step_its_condition_holds() {
    let mut run = run(
        "scenario \"s\" { horizon = 10 }\nvar n = 0\nwhile n < 4 then n += 1\nvar m = 0\nwhile true then m += 1",
    );
    assert_eq!(value(&mut run, "n"), "4");
    assert_eq!(value(&mut run, "m"), "10");
}

#[test]
fn at_fires_once_at_a_step_or_a_date() {
    let mut run = run(r#"
        scenario "s" { start = 2026-01, step = quarter, horizon = 8 }
        var a = 0
        var b = 0
        at 3 then a += 1
        at 2026-10 then b = step
    "#);
    assert_eq!(value(&mut run, "a"), "1");
    assert_eq!(value(&mut run, "b"), "4");
}

/// An `at` rule looks at every instance at its step, whatever changed before
/// (its inputs are read then, not when they change), again in each pass of its
/// feedback loop in that step, and never after: the same firings, values and
/// fuel as when its instances were queued by every change of what they read.
#[test]
fn an_at_rule_looks_at_every_instance_at_its_step_whatever_changed_before_or_after() {
    let script = r#"
        scenario "s" { horizon = 8 }
        kind Acct { cash = 0, paid = 0 }
        entity a: Acct { cash = 1 }
        entity b: Acct { cash = -1 }
        entity c: Acct { cash = 1 }
        entity d: Acct { cash = -1 }
        var payments = 0
        rule dry "c runs dry before the date" priority 3: at 3 then c.cash = -1
        rule swings "d's cash swings before and after the date" priority 2:
          while true then d.cash = 0 - d.cash
        rule pay "each account in funds is paid at step 5":
          for x: Acct where x.cash > 0
          at 5 {
            x.paid = step
            payments += 1
            emit "paid {x} at {step}"
          }
        rule rescue "the first payment rescues b, in the same step" priority 1:
          when payments >= 1 then b.cash = 1
        rule late "after the date" priority 4: at 6 { a.cash = -5, c.cash = 2 }
    "#;
    let program = Engine::new().compile(script, "test.cascade").unwrap_or_else(|e| panic!("{}", render(&e)));
    let mut run = program.run().unwrap();
    let mut checkpoints = Vec::new();
    while run.step().unwrap().is_some() {
        checkpoints.push(run.checkpoint());
    }
    // b is paid in the second pass of the loop {swings, pay, rescue} at step 5.
    let paid = [("a", 5), ("d", 5), ("b", 5)];
    let expected: Vec<_> = paid.iter().map(|(x, step)| (*step, format!("paid {x} at {step}"))).collect();
    assert_eq!(emitted(&run), expected);
    let finals = |run: &mut Run| {
        ["payments", "a.paid", "b.paid", "c.paid", "d.paid", "a.cash", "c.cash"].map(|n| value(run, n))
    };
    assert_eq!(finals(&mut run), ["3", "5", "5", "0", "5", "-5", "2"]);
    // A run resumed after any step (every instance's state rebuilt) does the same.
    for (at, checkpoint) in checkpoints.iter().enumerate() {
        let mut resumed = program.resume(checkpoint).unwrap();
        resumed.run_to_end().unwrap();
        assert_eq!(finals(&mut resumed), finals(&mut run), "resumed after step {}", at + 1);
    }
    // The same evaluations: the run needs exactly this much fuel.
    let enough = |fuel: u64| {
        let program = Engine::new().max_fuel(fuel).compile(script, "test.cascade").unwrap();
        program.run().and_then(|mut run| run.run_to_end()).is_ok()
    };
    assert!(enough(125) && !enough(124));
}

#[test]
fn after_schedules_an_effect_and_evaluates_it_when_it_applies() {
    let mut run = run(r#"
        scenario "s" { horizon = 6 }
        var x = 0
        var seen = 0
        at 1 { after 3 steps seen = x }
        while true then x += 1
    "#);
    // At step 4 the delayed effect applies before the rules run: x is 3.
    assert_eq!(value(&mut run, "seen"), "3");
}

#[test]
fn stop_ends_the_run_after_the_current_rule() {
    let mut run = run(r#"
        scenario "s" { horizon = 100 }
        var x = 0
        rule count priority 5: while true then x += 1
        when x == 7 then stop "enough"
    "#);
    assert_eq!(run.current_step(), 7);
    assert_eq!(run.stop_reason(), Some("enough"));
    assert_eq!(value(&mut run, "x"), "7");
}

#[test]
fn a_rule_that_writes_a_value_runs_before_the_rules_that_read_it() {
    // Declared reader-first; the writer must still run first in each step.
    let mut run = run(r#"
        scenario "s" { horizon = 1 }
        var price = 10
        var seen = 0
        rule reader: when true then seen = price
        rule writer: when true then price = 5
    "#);
    assert_eq!(value(&mut run, "seen"), "5");
}

#[test]
fn a_feedback_loop_repeats_within_one_step_until_nothing_fires() {
    // Each sale lowers the price, which pushes the next fund over its limit.
    let mut run = run(r#"
        scenario "s" { horizon = 1 }
        var price = 100
        kind Fund { limit = 0, sold = false }
        entity a: Fund { limit = 99 }
        entity b: Fund { limit = 95 }
        entity c: Fund { limit = 91 }
        entity d: Fund { limit = 50 }
        at 1 then price = 98
        for f: Fund when price < f.limit {
            f.sold = true
            price -= 4
        }
    "#);
    assert_eq!(value(&mut run, "price"), "86");
    assert_eq!(value(&mut run, "c.sold"), "true");
    assert_eq!(value(&mut run, "d.sold"), "false");
}

#[test]
fn ties_are_broken_by_priority_then_source_order_then_entity_order() {
    let run = run(r#"
        scenario "s" { horizon = 1 }
        kind K { x = 0 }
        entity first: K
        entity second: K
        rule low: when true then emit "low"
        rule high priority 3: when true then emit "high"
        rule per_entity: for k: K when true then emit "{k}"
    "#);
    let texts: Vec<String> = emitted(&run).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, ["high", "low", "first", "second"]);
}

#[test]
fn several_binders_make_one_instance_per_tuple() {
    let mut run = run(r#"
        scenario "s" { horizon = 1 }
        var pairs = 0
        kind K { x = 0 }
        entity a: K
        entity b: K
        entity c: K
        for p: K, q: K where p != q when true then pairs += 1
    "#);
    assert_eq!(value(&mut run, "pairs"), "6");
}

#[test]
fn series_interpolate_linearly_by_step_hold_and_are_flat_outside_their_points() {
    let script = r#"
        scenario "s" { start = 2026-01, step = month, horizon = 12 }
        series lin = { 2026-03: 10, 2026-07: 20 }
        series held hold = { 2026-03: 10, 2026-07: 20 }
        var l = 0
        var h = 0
        while true { l = lin, h = held }
    "#;
    let program = Engine::new().compile(script, "s.cascade").unwrap();
    let mut run = program.run().unwrap();
    let mut seen = Vec::new();
    while run.step().unwrap().is_some() {
        seen.push((value(&mut run, "l"), value(&mut run, "h")));
    }
    let expected = [
        ("10", "10"),
        ("10", "10"),
        ("10", "10"),
        ("12.5", "10"),
        ("15", "10"),
        ("17.5", "10"),
        ("20", "20"),
        ("20", "20"),
    ];
    for (i, (l, h)) in expected.iter().enumerate() {
        assert_eq!((seen[i].0.as_str(), seen[i].1.as_str()), (*l, *h), "step {}", i + 1);
    }
}

#[test]
fn series_flat_between_points_of_one_number_or_held_change_where_they_should() {
    // The machine works a series out again only where it can change: these
    // are flat between points of the same number and between held points.
    let script = r#"
        scenario "s" { start = 2026-01, step = month, horizon = 10 }
        series even = { 2026-03: 1.50, 2026-06: 1.5, 2026-09: 3 }
        series held hold = { 2026-02: 7, 2026-04: 7.0, 2026-07: 2 }
        var e = 0
        var h = 0
        while true { e = even, h = held }
    "#;
    let program = Engine::new().compile(script, "s.cascade").unwrap();
    let mut run = program.run().unwrap();
    let mut seen = Vec::new();
    let mut checkpoints = Vec::new();
    while run.step().unwrap().is_some() {
        seen.push((value(&mut run, "e"), value(&mut run, "h")));
        checkpoints.push(run.checkpoint());
    }
    let flat = [("1.5", "7"); 6];
    let after = [("2", "2"), ("2.5", "2"), ("3", "2"), ("3", "2")];
    let expected: Vec<_> = flat.iter().chain(&after).map(|(e, h)| (e.to_string(), h.to_string())).collect();
    assert_eq!(seen, expected);
    // A run resumed at any step goes on as the run did.
    for (at, checkpoint) in checkpoints.iter().enumerate() {
        let mut resumed = program.resume(checkpoint).unwrap();
        let mut rest = Vec::new();
        while resumed.step().unwrap().is_some() {
            rest.push((value(&mut resumed, "e"), value(&mut resumed, "h")));
        }
        assert_eq!(rest, expected[at + 1..], "resumed after step {}", at + 1);
    }
}

#[test]
fn exposure_losses_use_exact_decimals_where_f64_would_cross_the_threshold() {
    // 0.1 + 0.2 = 0.3 exactly; in f64 it is 0.30000000000000004 > 0.3.
    let mut run = run(r#"
        scenario "s" { horizon = 2 }
        kind Bank { capital = 0, let losses = exposure_losses(self) }
        entity lender: Bank { capital = 0.3 }
        entity x: Bank
        entity y: Bank
        exposure lender -> x = 0.2, recovery 50%
        exposure lender -> y = 0.4, recovery 50%
        at 1 { default(x), default(y) }
        for b: Bank when b.losses > b.capital then default(b)
    "#);
    assert_eq!(value(&mut run, "lender.losses"), "0.3");
    assert_eq!(value(&mut run, "lender.defaulted"), "false");
}

#[test]
fn a_default_cascades_through_exposures_with_recovery() {
    let mut run = run(r#"
        scenario "s" { horizon = 3 }
        kind Bank { capital = 0, let losses = exposure_losses(self) }
        entity a: Bank { capital = 10 }
        entity b: Bank { capital = 5 }
        entity c: Bank { capital = 5 }
        exposure b -> a = 10, recovery 40%
        exposure c -> b = 10, recovery 60%
        at 1 then default(a)
        for x: Bank where not x.defaulted when x.losses > x.capital then default(x)
    "#);
    assert_eq!(value(&mut run, "b.defaulted_at"), "1");
    assert_eq!(value(&mut run, "c.losses"), "4");
    assert_eq!(value(&mut run, "c.defaulted"), "false");
}

#[test]
fn defaulting_twice_keeps_the_first_step() {
    let mut run =
        run("scenario \"s\" { horizon = 5 }\nkind K { x = 0 }\nentity e: K\nwhile step >= 2 then default(e)");
    assert_eq!(value(&mut run, "e.defaulted_at"), "2");
    assert_eq!(run.events().iter().filter(|e| e.kind == cascade::EventKind::Default).count(), 1);
}

#[test]
fn derived_values_are_current_when_read_inside_a_step() {
    let mut run = run(r#"
        scenario "s" { horizon = 1 }
        var a = 1
        let double = a * 2
        var seen = 0
        at 1 { a = 5, seen = double }
    "#);
    assert_eq!(value(&mut run, "seen"), "10");
}

#[test]
fn params_can_be_overridden_and_dependent_params_follow() {
    let program = Engine::new().compile("param a = 2\nparam b = a * 10\nvar x = b", "p.cascade").unwrap();
    let mut run = program.run_with(&[("a", Decimal::new(3, 0))]).unwrap();
    assert_eq!(value(&mut run, "b"), "30");
    let mut run = program.start().set_text("a", "45%").unwrap().begin().unwrap();
    assert_eq!(value(&mut run, "x"), "4.5");
}

#[test]
fn unknown_or_ill_typed_params_are_refused() {
    let program = Engine::new().compile("param holding_cost = 3\nvar x = holding_cost", "p.cascade").unwrap();
    let error = program.start().set_text("holding_cots", "2").map(|_| ()).expect_err("unknown param");
    assert!(
        matches!(&error, Error::UnknownName { help: Some(h), .. } if h.contains("holding_cost")),
        "{error:?}"
    );
    let error = program.start().set_text("holding_cost", "cheap").map(|_| ()).expect_err("bad value");
    assert!(matches!(error, Error::BadValue { .. }), "{error:?}");
}

#[test]
fn division_by_zero_is_a_diagnostic_with_the_step_and_bindings() {
    let problem = run_error(
        Engine::new(),
        r#"
        kind K { debt = 1, cash = 0 }
        entity broke: K
        for k: K when k.debt / k.cash > 1 then default(k)
    "#,
    );
    assert_eq!(problem.code, "cascade::run::division_by_zero");
    let help = problem.help.unwrap_or_default();
    assert!(help.contains("step 1") && help.contains("k = broke"), "{help}");
}

#[test]
fn overflow_is_a_diagnostic_not_a_wrap() {
    let problem = run_error(Engine::new(), "var x = 1tn\nwhile true then x *= 1tn");
    assert_eq!(problem.code, "cascade::run::overflow");
}

#[test]
fn reading_defaulted_at_of_a_solvent_entity_in_arithmetic_is_a_diagnostic() {
    let problem = run_error(
        Engine::new(),
        "kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = e.defaulted_at + 1",
    );
    assert_eq!(problem.code, "cascade::run::no_value");
}

#[test]
fn mean_of_nothing_is_a_diagnostic() {
    let problem = run_error(
        Engine::new(),
        "kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = mean(k.x for k in K where k.x > 1)",
    );
    assert_eq!(problem.code, "cascade::run::empty_aggregate");
}

#[test]
fn a_recovery_rate_outside_zero_to_one_is_a_diagnostic() {
    let problem = run_error(
        Engine::new(),
        "param r = 120%\nkind K { x = 0 }\nentity a: K\nentity b: K\nexposure a -> b = 1, recovery r",
    );
    // (A literal out of range is `cascade::check::bad_recovery`: an err case.)
    assert_eq!(problem.code, "cascade::run::bad_recovery");
}

#[test]
fn limits_stop_runaway_scripts_with_a_diagnostic() {
    let problem = run_error(
        Engine::new().max_fuel(10_000),
        "scenario \"s\" { horizon = 1000000000 }\nvar x = 0\nwhile true then x += 1",
    );
    assert_eq!(problem.code, "cascade::limit::fuel");

    let script = "kind K { n = 0 }\nentity a: K\nentity b: K\nfor p: K, q: K where p != q when p.n >= q.n then q.n += 1";
    let problem = run_error(Engine::new().max_firings_per_step(1), script);
    assert_eq!(problem.code, "cascade::limit::firings");

    let problem = run_error(Engine::new().max_instances(3), script);
    assert_eq!(problem.code, "cascade::limit::instances");

    let run = run_with(
        Engine::new().max_steps(10),
        "scenario \"s\" { horizon = 1000000 }\nvar x = 0\nwhile true then x += 1",
    );
    assert_eq!(run.current_step(), 10);
    // A horizon beyond the step limit is a warning at the setting.
    let script = "scenario \"s\" { horizon = 1000000 }\nvar x = 0\nwhile true then x += 1";
    let program = Engine::new().max_steps(10).compile(script, "s").unwrap();
    let warning = &program.warnings().problems()[0];
    assert_eq!(warning.code, "cascade::limit::steps");
    assert_eq!(
        &script[warning.labels[0].span.start as usize..warning.labels[0].span.end as usize],
        "1000000"
    );
}

#[test]
fn a_run_can_be_cancelled_from_another_thread() {
    let program = Engine::new()
        .compile("scenario \"s\" { horizon = 100000000 }\nvar x = 0\nwhile true then x += 1", "c")
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let mut run = program.start().cancel_flag(flag.clone()).begin().unwrap();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        flag.store(true, Ordering::Relaxed);
    });
    let error = run.run_to_end().expect_err("cancelled");
    canceller.join().unwrap();
    assert_eq!(error.diagnostics().unwrap().problems()[0].code, "cascade::limit::cancelled");
}

#[test]
fn host_functions_are_typed_and_their_errors_are_diagnostics() {
    let engine = Engine::new().function("haircut", |x: Decimal| x * Decimal::new(8, 1)).function(
        "checked_sqrt",
        |x: Decimal| -> Result<Decimal, String> {
            if x < Decimal::ZERO { Err(format!("no square root of {x}")) } else { Ok(x) }
        },
    );
    let mut ok = run_with(engine.clone(), "var x = 0\nat 1 then x = haircut(10)");
    assert_eq!(value(&mut ok, "x"), "8");
    let problem = run_error(engine.clone(), "var x = 0\nat 1 then x = checked_sqrt(-4)");
    assert_eq!(problem.code, "cascade::run::host_error");
    assert!(problem.message.contains("no square root of -4"), "{}", problem.message);
    let error = engine.compile("var x = haircut(true)", "t").expect_err("type error");
    let problems = error.diagnostics().unwrap().problems();
    assert!(
        problems.iter().any(|p| p.is_error() && p.code == "cascade::check::type_mismatch"),
        "{problems:?}"
    );
}

#[test]
fn a_checkpoint_restored_continues_exactly_like_the_uninterrupted_run() {
    let script = std::fs::read_to_string("examples/ai_compute_credit.cascade").unwrap();
    let program = Engine::new().compile(&script, "flagship").unwrap();
    let mut whole = program.run().unwrap();
    whole.run_to_end().unwrap();

    let mut first = program.run().unwrap();
    for _ in 0..20 {
        first.step().unwrap();
    }
    let saved = serde_json::to_string(&first.checkpoint()).unwrap();
    let loaded: cascade::Checkpoint = serde_json::from_str(&saved).unwrap();
    let mut resumed = program.resume(&loaded).unwrap();
    resumed.run_to_end().unwrap();

    assert_eq!(resumed.csv_row().unwrap(), whole.csv_row().unwrap());
    assert_eq!(resumed.events(), whole.events());
}

#[test]
fn set_value_pokes_a_var_between_steps_and_rules_see_it() {
    let program = Engine::new()
        .compile("var price = 2\nvar alarm = false\nwhen price < 1 then alarm = true", "p")
        .unwrap();
    let mut run = program.run().unwrap();
    run.step().unwrap();
    run.set_value("price", Value::Number(Decimal::new(5, 1))).unwrap();
    run.step().unwrap();
    assert_eq!(value(&mut run, "alarm"), "true");
    assert!(run.set_value("alarm", Value::Number(Decimal::ONE)).is_err(), "wrong type");
}

#[test]
fn expressions_evaluate_against_the_current_state() {
    let program = Engine::new()
        .compile("kind K { cash = 0 }\nentity a: K { cash = 5 }\nentity b: K { cash = 7 }", "e")
        .unwrap();
    let mut run = program.run().unwrap();
    assert_eq!(run.evaluate("sum(k.cash for k in K) * 2").unwrap().to_string(), "24");
    let error = run.evaluate("a.cahs").expect_err("unknown field");
    assert_eq!(error.diagnostics().unwrap().problems()[0].code, "cascade::check::unknown_field");
}

#[test]
fn programs_are_shared_between_threads_and_runs_are_deterministic() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<cascade::Program>();
    assert_send_sync::<Engine>();
    fn assert_send<T: Send>() {}
    assert_send::<Run>();
    let script = std::fs::read_to_string("examples/ai_compute_credit.cascade").unwrap();
    let program = Engine::new().compile(&script, "flagship").unwrap();
    let rows: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let program = program.clone();
                scope.spawn(move || {
                    let mut run = program.run().unwrap();
                    run.run_to_end().unwrap();
                    run.csv_row().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(rows.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn expectations_report_the_values_they_read() {
    let run = run(
        "scenario \"s\" { horizon = 2 }\nvar x = 1\nexpect x == 2\nexpect x == 1\nassert x < 1 \"x small\"",
    );
    let results = run.expectations();
    let failed: Vec<_> = results.iter().filter(|e| !e.passed).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().any(|e| e.detail == "x = 1"), "{failed:?}");
    assert!(failed.iter().any(|e| e.detail == "x small: x = 1"), "{failed:?}");
}

#[test]
fn explain_follows_a_chain_through_a_feedback_loop_within_one_step() {
    let run = run(r#"
        scenario "s" { horizon = 1 }
        var price = 100
        kind Fund { limit = 0 }
        entity a: Fund { limit = 99 }
        entity b: Fund { limit = 97 }
        at 1 then price = 98
        rule sell: for f: Fund when price < f.limit then price -= 2
        when price < 95 then default(b)
    "#);
    let text = run.explain("b").unwrap();
    assert!(text.starts_with("b defaulted at step 1"), "{text}");
    assert!(text.contains("price became 94 at step 1 (was 96) by rule sell [f = b]"), "{text}");
    assert!(text.contains("price became 96 at step 1 (was 98) by rule sell [f = a]"), "{text}");
    assert!(text.contains("price became 98 at step 1 (was 100) by the rule at line 7: at step 1"), "{text}");
}

#[test]
fn explain_follows_a_chain_across_an_after_delay() {
    let run = run(r#"
        scenario "s" { horizon = 5 }
        var trigger = 0
        kind K { x = 0 }
        entity e: K
        at 2 then trigger = 1
        rule later: when trigger == 1 { after 2 steps default(e) }
    "#);
    let text = run.explain("e").unwrap();
    assert!(text.starts_with("e defaulted at step 4"), "{text}");
    assert!(text.contains("by rule later"), "{text}");
    assert!(text.contains("trigger became 1 at step 2"), "{text}");
}

#[test]
fn why_not_reports_the_closest_approach() {
    let run = run(r#"
        scenario "s" { horizon = 6 }
        kind K { cash = 10 }
        entity e: K
        while step <= 3 then e.cash -= 3
        rule bust: for k: K when k.cash < 0 then default(k)
    "#);
    let text = run.explain("e").unwrap();
    assert!(text.starts_with("e did not default"), "{text}");
    assert!(text.contains("bust [k = e]"), "{text}");
    assert!(text.contains("`k.cash < 0`: closest at step 3: k.cash 1, needed < 0"), "{text}");
}

#[test]
fn a_draw_inside_an_if_makes_the_start_random() {
    // The start of path 0 says nothing about other paths when an initial value
    // draws, also inside an `if`: no "never fires" warning from one path's start.
    let drawn = "var price = if true then uniform(1, 3) else 2\nvar alarm = false\nwhen price < 1.5 then alarm = true\n";
    let never_fires = |p: &cascade::Program| {
        p.warnings().problems().iter().filter(|w| w.code == "cascade::check::never_fires").count()
    };
    let program = Engine::new().compile(drawn, "drawn.cascade").unwrap();
    assert_eq!(never_fires(&program), 0, "{:?}", program.warnings().problems());
    // The same script without the draw does warn: the test can fail.
    let fixed = "var price = if true then 2 else 2\nvar alarm = false\nwhen price < 1.5 then alarm = true\n";
    let program = Engine::new().compile(fixed, "fixed.cascade").unwrap();
    assert_eq!(never_fires(&program), 1, "{:?}", program.warnings().problems());
}

//! `solve` fields: simultaneous equations between entities, solved by
//! simultaneous (Jacobi) update from a start value. Through scripts and the
//! public API.

use cascade::{Engine, Error, RenderStyle, Run};

fn render(e: &Error) -> String {
    match e.diagnostics() {
        Some(d) => d.render(RenderStyle::Plain),
        None => e.to_string(),
    }
}

fn start(engine: Engine, script: &str) -> Run {
    let program = engine.compile(script, "t.cascade").unwrap_or_else(|e| panic!("{}\n{script}", render(&e)));
    program.run().unwrap_or_else(|e| panic!("{}", render(&e)))
}

fn value(run: &mut Run, name: &str) -> String {
    run.evaluate(name).unwrap_or_else(|e| panic!("{name}: {}", render(&e))).to_string()
}

fn run_error(engine: Engine, script: &str) -> String {
    let mut run = start(engine, script);
    render(&run.run_to_end().expect_err("the run should fail"))
}

fn check_error(script: &str) -> String {
    match Engine::new().compile(script, "t.cascade") {
        Ok(_) => panic!("should not compile:\n{script}"),
        Err(e) => render(&e),
    }
}

/// A rule that reads `a.x` in every step, so that a run computes it.
const WATCH: &str = "var seen = 0\nrule watch: when a.x > 5 then seen = 1\n";

const CLEARING: &str = "scenario \"s\" { horizon = 5 }
kind Bank {
  external_assets = 0, external_liabilities = 0,
  let owed = external_liabilities + sum(x.amount for x in exposures_to(self)),
  solve pay from owed = min(owed, external_assets + sum(x.amount / x.debtor.owed * x.debtor.pay for x in exposures_of(self)))
}
entity b1: Bank { external_assets = 0.5, external_liabilities = 1.5 }
entity b2: Bank { external_assets = 0.625, external_liabilities = 0.5 }
entity b3: Bank { external_assets = 0.75, external_liabilities = 0.5 }
exposure b2 -> b1 = 0.5
exposure b3 -> b1 = 0.5
exposure b1 -> b2 = 0.5
exposure b3 -> b2 = 0.5
exposure b1 -> b3 = 0.5
exposure b2 -> b3 = 0.5
clearing Bank eisenberg_noe { external = pari_passu }
";

#[test]
fn the_equation_gives_the_greatest_clearing_vector_of_the_systemicrisk_example() {
    let mut run = start(Engine::new(), CLEARING);
    for b in ["b1", "b2", "b3"] {
        let solved = value(&mut run, &format!("round({b}.pay, 20)"));
        let built_in = value(&mut run, &format!("round(clearing_payment({b}), 20)"));
        assert_eq!(solved, built_in, "{b}");
    }
    assert_eq!(value(&mut run, "round(b1.pay, 20) == round(165 / 112, 20)"), "true");
    assert_eq!(value(&mut run, "b3.pay"), "1.5");
}

#[test]
fn it_is_solved_again_when_an_input_changes_and_not_before() {
    let script = format!("{CLEARING}rule writedown: at 3 then b3.external_assets = 0.25\n");
    let mut run = start(Engine::new(), &script);
    let mut seen = Vec::new();
    for _ in 0..5 {
        run.step().unwrap_or_else(|e| panic!("{}", render(&e)));
        seen.push((run.current_step(), value(&mut run, "round(b3.pay, 6)")));
    }
    for (step, pay) in &seen {
        if *step < 3 {
            assert_eq!(pay, "1.5", "step {step}: before the write-down b3 pays in full");
        } else {
            assert_ne!(pay, "1.5", "step {step}: the write-down at step 3 changes b3's payment");
            assert_eq!(pay, &seen.last().unwrap().1, "step {step}: it stays solved");
        }
    }
    assert!(seen.iter().any(|(step, _)| *step < 3) && seen.iter().any(|(step, _)| *step >= 3));
    assert_eq!(value(&mut run, "round(b3.pay, 20) == round(clearing_payment(b3), 20)"), "true");
}

#[test]
fn oscillating_values_are_named_when_they_do_not_settle() {
    let script = format!(
        "kind Cell {{ solve x from 0 limit 50 = 1 - x }}\nentity a: Cell {{}}\nentity b: Cell {{}}\n{WATCH}"
    );
    let e = run_error(Engine::new(), &script);
    assert!(e.contains("cascade::run::not_settled"), "{e}");
    assert!(e.contains("did not settle in 50 sweeps"), "{e}");
    assert!(e.contains("`a.x` (1 then 0), `b.x` (1 then 0)"), "{e}");
    insta::assert_snapshot!("solve_not_settled", e);
}

#[test]
fn the_engine_sets_the_default_limit_and_a_tolerance_stops_early() {
    let halving = format!("kind Cell {{ solve x from 1 = x / 2 }}\nentity a: Cell {{}}\n{WATCH}");
    let e = run_error(Engine::new().max_solve_iterations(3), &halving);
    assert!(e.contains("did not settle in 3 sweeps"), "{e}");
    assert!(e.contains("`a.x` (0.25 then 0.125)"), "{e}");
    // Within 0.01: the first update that moves by at most 0.01 ends it.
    let within = "kind Cell { solve x from 1 within 0.01 = x / 2 }\nentity a: Cell {}\n";
    let mut run = start(Engine::new().max_solve_iterations(3), &within.replace("0.01 =", "0.01 limit 20 ="));
    assert_eq!(value(&mut run, "a.x"), "0.0078125");
    let e = run_error(
        Engine::new(),
        &format!("kind Cell {{ solve x from 1 within -1 = x / 2 }}\nentity a: Cell {{}}\n{WATCH}"),
    );
    assert!(e.contains("cascade::run::bad_solve"), "{e}");
    let e = run_error(
        Engine::new(),
        &format!("kind Cell {{ solve x from 1 limit 0.5 = x / 2 }}\nentity a: Cell {{}}\n{WATCH}"),
    );
    assert!(e.contains("cascade::run::bad_solve"), "{e}");
}

#[test]
fn the_update_is_simultaneous_whatever_the_order_of_the_entities() {
    // Gauss–Seidel would give a and b different values in the first sweep;
    // Jacobi keeps them equal, in either order of declaration.
    for order in ["entity a: Cell {}\nentity b: Cell {}\n", "entity b: Cell {}\nentity a: Cell {}\n"] {
        let script = format!(
            "kind Cell {{ solve x from 0 = 1 + sum(c.x for c in Cell where c != self) / 4 }}\n{order}"
        );
        let mut run = start(Engine::new(), &script);
        assert_eq!(value(&mut run, "a.x"), value(&mut run, "b.x"));
        assert_eq!(value(&mut run, "round(a.x, 20)"), "1.3333333333333333333333333333".get(..22).unwrap());
    }
}

#[test]
fn a_cycle_through_a_value_that_is_not_solved_is_still_a_cycle() {
    let e = check_error("kind Bank { let q = p + 1, solve p from 0 = q / 2 }\nentity a: Bank {}\n");
    assert!(e.contains("cascade::check::cycle"), "{e}");
    let e = check_error("kind Bank { solve p from p + 1 = p / 2 }\nentity a: Bank {}\n");
    assert!(e.contains("cascade::check::cycle") && e.contains("start value"), "{e}");
}

#[test]
fn explain_says_a_value_was_solved_and_stops() {
    let run = {
        let mut run = start(Engine::new(), CLEARING);
        run.run_to_end().unwrap_or_else(|e| panic!("{}", render(&e)));
        run
    };
    let text = run.explain("b1.pay").unwrap_or_else(|e| panic!("{}", render(&e)));
    assert!(text.contains("solved with the `solve` fields of Bank from `owed`"), "{text}");
    assert!(text.contains("sweep"), "{text}");
}

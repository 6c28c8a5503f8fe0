//! `together` rules (simultaneous effects): every instance reads the state from
//! before the rule fires, writes to one value add up, the group fires once per
//! step, and the result does not depend on the order of entity declaration.
//! Through scripts and the public API.

use std::collections::BTreeSet;

use cascade::{Engine, Error, RenderStyle, Run};

fn render(e: &Error) -> String {
    match e.diagnostics() {
        Some(d) => d.render(RenderStyle::Plain),
        None => e.to_string(),
    }
}

fn run(script: &str) -> Run {
    let program =
        Engine::new().compile(script, "t.cascade").unwrap_or_else(|e| panic!("{}\n{script}", render(&e)));
    let mut run = program.run().unwrap_or_else(|e| panic!("{}", render(&e)));
    run.run_to_end().unwrap_or_else(|e| panic!("{}", render(&e)));
    run
}

/// The exact values of `names` at the end of `script`, as text.
fn values(script: &str, names: &[&str]) -> Vec<String> {
    let mut run = run(script);
    names.iter().map(|n| run.value(n).unwrap_or_else(|e| panic!("{n}: {}", render(&e))).to_string()).collect()
}

/// The diagnostic a run of `script` stops with.
fn run_error(script: &str) -> String {
    let program = Engine::new().compile(script, "t.cascade").unwrap_or_else(|e| panic!("{}", render(&e)));
    let mut run = program.run().unwrap_or_else(|e| panic!("{}", render(&e)));
    render(&run.run_to_end().expect_err("the run should fail"))
}

/// Every order of `items`.
fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

/// `script` with its `entity` lines in every order.
fn reorderings(script: &str) -> Vec<String> {
    let lines: Vec<&str> = script.lines().collect();
    let entity_lines: Vec<String> =
        lines.iter().filter(|l| l.starts_with("entity ")).map(|l| l.to_string()).collect();
    assert!(entity_lines.len() >= 3, "the script declares its entities on lines of their own");
    let first = lines.iter().position(|l| l.starts_with("entity ")).unwrap();
    permutations(&entity_lines)
        .into_iter()
        .map(|order| {
            let mut out: Vec<String> = lines[..first].iter().map(|l| l.to_string()).chain(order).collect();
            out.extend(lines[first..].iter().filter(|l| !l.starts_with("entity ")).map(|l| l.to_string()));
            out.join("\n")
        })
        .collect()
}

const FIRE_SALE: &str = include_str!("../examples/fire_sale_together.cascade");

const FIRE_SALE_VALUES: &[&str] = &[
    "price_a",
    "price_b",
    "alpha.a",
    "alpha.b",
    "alpha.debt",
    "beta.a",
    "beta.b",
    "beta.debt",
    "gamma.b",
    "gamma.debt",
];

#[test]
fn a_together_fire_sale_is_the_same_for_every_order_of_declaration() {
    let outcomes: BTreeSet<Vec<String>> =
        reorderings(FIRE_SALE).iter().map(|s| values(s, FIRE_SALE_VALUES)).collect();
    assert_eq!(outcomes.len(), 1, "exactly one outcome, to the last digit: {outcomes:#?}");
    // And its expectations hold in every order.
    for script in reorderings(FIRE_SALE) {
        let run = run(&script);
        let failed: Vec<_> = run.expectations().into_iter().filter(|e| !e.passed).collect();
        assert!(failed.is_empty(), "{failed:#?}\n{script}");
    }
}

#[test]
fn the_same_fire_sale_in_sequence_depends_on_the_order_of_declaration() {
    let sequential = FIRE_SALE.replace("for k: Bank together", "for k: Bank");
    assert_ne!(sequential, FIRE_SALE);
    let outcomes: BTreeSet<Vec<String>> =
        reorderings(&sequential).iter().map(|s| values(s, FIRE_SALE_VALUES)).collect();
    assert!(outcomes.len() >= 3, "the order of the banks changes the outcome: {outcomes:#?}");
    let together = values(FIRE_SALE, FIRE_SALE_VALUES);
    assert!(!outcomes.contains(&together));
}

/// The docs' example: both funds sell at 98; in sequence the second sells at
/// 96 and the spiral runs through the third fund within the step.
const ONE_PRICE: &str = "
scenario \"Sales at one price\" { horizon = 3 }
var price = 100
kind Fund { limit = 0, units = 10, cash = 0 }
entity a: Fund { limit = 99 }
entity b: Fund { limit = 98.5 }
entity c: Fund { limit = 95 }
at 1 then price = 98
rule sell: for f: Fund together when price < f.limit {
  emit \"{f} sells at {price}\"
  f.cash += 5 * price
  f.units -= 5
  price -= 2
}
";

fn emitted(run: &Run) -> Vec<(u64, String)> {
    run.events()
        .into_iter()
        .filter(|e| e.kind == cascade::EventKind::Emit)
        .map(|e| (e.step, e.text))
        .collect()
}

#[test]
fn every_instance_reads_the_state_before_the_rule_and_the_group_fires_once_a_step() {
    let mut together = run(ONE_PRICE);
    assert_eq!(
        emitted(&together),
        [
            (1, "a sells at 98".to_string()),
            (1, "b sells at 98".to_string()),
            (2, "c sells at 94".to_string())
        ]
    );
    let read = |run: &mut Run, n: &str| run.value(n).unwrap().to_string();
    assert_eq!(read(&mut together, "a.cash"), "490");
    assert_eq!(read(&mut together, "b.cash"), "490");
    assert_eq!(read(&mut together, "c.cash"), "470");
    assert_eq!(read(&mut together, "price"), "92");

    let mut sequence = run(&ONE_PRICE.replace(" together", ""));
    assert_eq!(
        emitted(&sequence),
        [
            (1, "a sells at 98".to_string()),
            (1, "b sells at 96".to_string()),
            (1, "c sells at 94".to_string())
        ]
    );
    assert_eq!(read(&mut sequence, "b.cash"), "480");
    assert_eq!(read(&mut sequence, "price"), "92");
}

#[test]
fn in_a_feedback_loop_a_together_rule_moves_one_round_a_step() {
    // A default rule feeds itself (a default raises its creditors' losses).
    // Together, the defaults of one round are applied at once and the next
    // round comes in the next step; in sequence the chain runs in one step.
    let script = "
scenario \"Chain\" { horizon = 4 }
kind Bank { capital = 1 }
entity a: Bank
entity b: Bank
entity c: Bank
entity d: Bank
exposure b -> a = 5
exposure c -> b = 5
exposure d -> c = 5
at 1 then default(a)
rule fail: for k: Bank together when not k.defaulted and exposure_losses(k) > k.capital then default(k)
";
    let steps = |script: &str| {
        values(script, &["a.defaulted_at", "b.defaulted_at", "c.defaulted_at", "d.defaulted_at"])
    };
    assert_eq!(steps(script), ["1", "1", "2", "3"]);
    assert_eq!(steps(&script.replace(" together", "")), ["1", "1", "1", "1"]);
}

#[test]
fn writes_to_one_value_add_up_or_multiply() {
    let script = "
scenario \"t\" { horizon = 1 }
var total = 10
var scale = 2
var level = 7
kind F { x = 0 }
entity a: F { x = 1 }
entity b: F { x = 2 }
entity c: F { x = 4 }
rule go: for f: F together at 1 {
  total += f.x
  total -= 1
  scale *= f.x
  scale /= 2
  level = 7 + 0 * f.x
  f.x += total
}
";
    // total: 10 + 7 - 3; scale: 2 x 8 / 8; level: all set 7; f.x reads total before the rule.
    assert_eq!(
        values(script, &["total", "scale", "level", "a.x", "b.x", "c.x"]),
        ["14", "2", "7", "11", "12", "14"]
    );
}

#[test]
fn two_different_sets_of_one_value_are_an_error_naming_both_instances() {
    let script = "
scenario \"t\" { horizon = 2 }
var price = 100
kind Fund { limit = 0 }
entity a: Fund { limit = 99 }
entity b: Fund { limit = 98 }
rule mark: for f: Fund together at 1 then price = f.limit
";
    insta::assert_snapshot!(run_error(script));
}

#[test]
fn mixing_adds_and_products_on_one_value_is_an_error() {
    let script = "
scenario \"t\" { horizon = 2 }
var price = 100
kind Fund { limit = 0 }
entity a: Fund { limit = 99 }
entity b: Fund { limit = 98 }
rule mark: for f: Fund together at 1 then { price -= 1, price *= 99% }
";
    let error = run_error(script);
    assert!(error.contains("cascade::run::conflicting_writes"), "{error}");
    assert!(error.contains("`-=` (f = a) and `*=` (f = a)"), "{error}");
}

#[test]
fn a_stop_in_a_together_rule_ends_the_run_after_the_writes() {
    let script = "
scenario \"t\" { horizon = 5 }
var sold = 0
kind Fund { units = 3 }
entity a: Fund
entity b: Fund
rule sell: for f: Fund together at 2 { sold += f.units, stop \"sold out\" }
";
    let mut run = run(script);
    assert_eq!(run.current_step(), 2);
    assert_eq!(run.stop_reason(), Some("sold out"));
    assert_eq!(run.value("sold").unwrap().to_string(), "6");
}

#[test]
fn together_needs_binders() {
    let error = Engine::new()
        .compile("var x = 1\nrule r: together when x > 0 then x = 0\n", "t.cascade")
        .expect_err("a syntax error");
    let text = render(&error);
    assert!(text.contains("cascade::syntax::unexpected"), "{text}");
}

#[test]
fn explain_shows_the_prices_an_instance_of_a_together_rule_read() {
    let together = run(ONE_PRICE);
    let text = together.explain("b.cash").unwrap_or_else(|e| panic!("{}", render(&e)));
    assert!(text.contains("read: price 98,"), "{text}");
    assert!(!text.contains("price 96"), "{text}");
    let sequence = run(&ONE_PRICE.replace(" together", ""));
    let text = sequence.explain("b.cash").unwrap();
    assert!(text.contains("read: price 96,"), "{text}");
}

#[test]
fn a_run_resumed_from_a_checkpoint_fires_a_together_rule_as_before() {
    let program = Engine::new().compile(FIRE_SALE, "t.cascade").unwrap();
    let mut whole = program.run().unwrap();
    whole.run_to_end().unwrap();
    let mut first = program.run().unwrap();
    first.step().unwrap();
    first.step().unwrap();
    let mut resumed = program.resume(&first.checkpoint()).unwrap();
    resumed.run_to_end().unwrap();
    for name in FIRE_SALE_VALUES {
        assert_eq!(whole.value(name).unwrap(), resumed.value(name).unwrap(), "{name}");
    }
}

//! Conditions, filters, lets, derived fields and effect values are evaluated
//! from a compiled form (`src/eval/compiled`), not from the checker's tree.
//! Their faults and their fuel must be the tree walk's: the same diagnostic
//! at the same expression, and a budget that runs out at the same node.

use cascade::{Engine, Problem};

/// The one diagnostic of a script whose run fails, and the text its label points at.
fn fault(engine: Engine, script: &str) -> (Problem, String) {
    let program = engine.compile(script, "t.cascade").unwrap_or_else(|e| panic!("{e}"));
    let error = match program.run() {
        Ok(mut run) => run.run_to_end().expect_err("the run should fail"),
        Err(e) => e,
    };
    let diagnostics = error.diagnostics().unwrap_or_else(|| panic!("not a script error: {error}"));
    let problem = diagnostics.problems()[0].clone();
    let span = problem.labels[0].span;
    let text = script[span.start as usize..span.end as usize].to_string();
    (problem, text)
}

#[test]
fn a_division_by_zero_in_a_condition_points_at_the_divisor() {
    let script =
        "kind K { debt = 1, cash = 0 }\nentity broke: K\nfor k: K when k.debt / k.cash > 1 then default(k)";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!((problem.code, text.as_str()), ("cascade::run::division_by_zero", "k.cash"));
    let help = problem.help.unwrap_or_default();
    assert!(help.contains("step 1") && help.contains("k = broke"), "{help}");
}

#[test]
fn a_division_by_zero_in_a_filter_points_at_the_divisor() {
    let script = "kind K { debt = 1, cash = 0 }\nentity e: K\nvar y = 0\nfor k: K where k.debt / k.cash > 0 when true then y = 1";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!((problem.code, text.as_str()), ("cascade::run::division_by_zero", "k.cash"));
}

#[test]
fn an_overflow_in_a_let_points_at_the_operation() {
    let script = "var x = 1tn\nlet cube = x * x * x\nvar y = 0\nwhen cube > 0 then y = 1";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!((problem.code, text.as_str()), ("cascade::run::overflow", "x * x * x"));
}

#[test]
fn a_division_by_zero_in_a_derived_field_points_at_the_divisor_in_the_kind() {
    let script = "kind K { debt = 1, cash = 0, let cover = debt / cash }\nentity e: K\nvar y = 0\nwhen e.cover > 1 then y = 1";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!(problem.code, "cascade::run::division_by_zero");
    assert_eq!(
        (text.as_str(), problem.labels[0].span.start as usize),
        ("cash", script.find("/ cash").unwrap() + 2)
    );
}

#[test]
fn no_value_in_an_effect_points_at_the_value_read() {
    let script = "kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = e.defaulted_at * 2 + 1";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!((problem.code, text.as_str()), ("cascade::run::no_value", "e.defaulted_at"));
}

/// Where the budget runs out for each budget from 1 to the one the run needs,
/// as `line:column` of the label: measured with the tree walk before the
/// compiled form existed (`cascade run --max-fuel N` of the script below).
const FUEL_SCRIPT: &str = r#"scenario "s" { horizon = 3 }
param rate = 10%
var x = 2
let doubled = if x > 1 then x * 2 else x
kind K { cash = 5, debt = 1, let cover = cash / max(debt, 1) }
entity a: K
entity b: K { cash = 1 }
rule grow: while x < 100 and not a.defaulted then x += doubled * rate + 1
rule hit: for k: K where not k.defaulted when k.cover < 2 or x > 50 then k.cash -= 1
"#;

const FUEL_FAULTS: &str = "3:9 5:17 5:27 7:22 5:27 8:34 8:56 8:56 8:56 8:56 4:15 4:18 4:18 4:22 4:29 4:29 4:33 8:66 8:73 9:26 9:26 9:30 9:30 9:47 9:47 9:47 9:47 5:42 5:42 5:42 5:49 5:53 5:53 5:59 9:57 9:62 9:62 9:66 9:26 9:30 9:30 9:47 9:47 9:47 9:47 5:42 5:42 5:42 5:49 5:53 5:53 5:59 9:57 9:74 9:74 9:74 9:74 9:74 9:74 9:84 8:18 8:18 8:18 8:22 8:30 8:34 8:34 8:56 8:56 8:56 8:56 4:15 4:18 4:18 4:22 4:29 4:29 4:33 8:66 8:73 9:26 9:26 9:30 9:30 9:47 9:47 9:47 9:47 9:57 9:62 9:62 9:66 9:26 9:30 9:30 9:47 9:47 9:47 9:47 5:42 5:42 5:42 5:49 5:53 5:53 5:59 9:57 8:18 8:18 8:18 8:22 8:30 8:34 8:34 8:56 8:56 8:56 8:56 4:15 4:18 4:18 4:22 4:29 4:29 4:33 8:66 8:73 9:26 9:26 9:30 9:30 9:47 9:47 9:47 9:47 9:57 9:62 9:62 9:66 ";

#[test]
fn the_fuel_runs_out_at_the_node_the_tree_walk_stopped_at_for_every_budget() {
    let expected: Vec<&str> = FUEL_FAULTS.split_whitespace().collect();
    let mut measured = Vec::new();
    for budget in 1..=expected.len() as u64 + 1 {
        let program = Engine::new().max_fuel(budget).compile(FUEL_SCRIPT, "fuel.cascade").unwrap();
        let outcome = match program.run() {
            Ok(mut run) => run.run_to_end().map(|_| ()),
            Err(e) => Err(e),
        };
        let Err(error) = outcome else {
            measured.push("ok".to_string());
            continue;
        };
        let problem = &error.diagnostics().expect("a script error").problems()[0];
        assert_eq!(problem.code, "cascade::limit::fuel", "budget {budget}");
        let start = problem.labels[0].span.start as usize;
        let before = &FUEL_SCRIPT[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        measured.push(format!("{line}:{column}"));
    }
    assert_eq!(measured.pop().as_deref(), Some("ok"), "the last budget is enough");
    assert_eq!(measured, expected);
}

/// A built-in's or a draw's bad argument is a fault at that argument, whether
/// the expression is compiled (an effect's value) or read from its tree (an
/// initial value, which is evaluated once).
#[test]
fn a_bad_argument_points_at_the_argument_compiled_or_not() {
    let cases = [
        // compiled: the value of an effect
        ("var s = -1\nvar y = 0\nat 1 then y = sqrt(s) + 1", "s", "sqrt of -1"),
        ("var sd = -1\nvar y = 0\nat 1 then y = normal(0, sd)", "sd", "standard deviation -1 is negative"),
        // the tree: a stored field's initial value
        ("param s = -4\nkind K { x = sqrt(s) }\nentity e: K", "s", "sqrt of -4"),
        (
            "param sd = -2\nkind K { x = normal(1, sd) }\nentity e: K",
            "sd",
            "standard deviation -2 is negative",
        ),
    ];
    for (script, at, says) in cases {
        let (problem, text) = fault(Engine::new(), script);
        assert_eq!((problem.code, text.as_str()), ("cascade::run::bad_argument", at), "{script}");
        assert!(problem.message.contains(says), "{script}: {}", problem.message);
    }
}

/// The outcome of running `script` with each budget from 1 up to the first
/// that is enough: where the fuel ran out, as a byte offset, or `ok`.
fn fuel_outcomes(script: &str) -> Vec<String> {
    let spans = fuel_spans(script).into_iter();
    spans.map(|span| span.map_or_else(|| "ok".to_string(), |(start, _)| start.to_string())).collect()
}

/// An expression of params and literals (`1 - rate / 2`) is evaluated once a
/// run and its value kept, with the fuel it spent: every later evaluation
/// spends that fuel, and runs out of it at the node where evaluating it would.
/// The same script with a `var` in place of the param (never written, so the
/// same values, and the same nodes at the same places) is evaluated every time.
#[test]
fn an_expression_of_params_spends_its_fuel_and_runs_out_where_evaluating_it_would() {
    let script = |declare: &str| {
        format!(
            "scenario \"s\" {{ horizon = 4 }}\n{declare} rate = 10%\nvar x = 100\nvar y = 0\n\
             rule grow: while x > 1 then x *= 1 - rate / 2\n\
             rule pick: while true then y = if rate > 5% and not (rate > 50%) then -rate * 3 else max(rate, 1)\n\
             let share = x * (rate + rate * rate)\n\
             rule look: when share > 1000 then y = 0\n"
        )
    };
    let with_param = fuel_outcomes(&script("param"));
    let with_var = fuel_outcomes(&script("var  "));
    assert!(with_param.len() > 40, "{}", with_param.len());
    assert_eq!(with_param, with_var);
}

/// A fault in an expression of params is raised at the same place every time
/// it is evaluated (nothing of a failed evaluation is kept).
#[test]
fn a_fault_in_an_expression_of_params_points_at_the_divisor() {
    let script = "param rate = 0\nvar x = 1\nwhile x > 0 then x = x - 1 / (rate * 2)";
    let (problem, text) = fault(Engine::new(), script);
    assert_eq!((problem.code, text.as_str()), ("cascade::run::division_by_zero", "(rate * 2)"));
}

/// Where the fuel runs out, as a span `(start, length)`, for each budget from
/// 1 up to the first that is enough (`None` for that one).
fn fuel_spans(script: &str) -> Vec<Option<(u32, u32)>> {
    let mut spans = Vec::new();
    for budget in 1..10_000 {
        let program = Engine::new().max_fuel(budget).compile(script, "fuel.cascade").unwrap();
        let outcome = match program.run() {
            Ok(mut run) => run.run_to_end().map(|_| ()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                spans.push(None);
                return spans;
            }
            Err(error) => {
                let problem = &error.diagnostics().expect("a script error").problems()[0];
                assert_eq!(problem.code, "cascade::limit::fuel", "budget {budget}");
                let span = &problem.labels[0].span;
                spans.push(Some((span.start, span.end - span.start)));
            }
        }
    }
    panic!("no budget up to 10,000 was enough");
}

/// An operator on two leaves (`k.debt > limit`, one compiled node) spends its
/// fuel as the tree walk does, one unit a node before the node's operands: so
/// with too little fuel it runs out at the operator, at the field `k.debt`, at
/// the local `k` and at the param `limit`, in that order, each at one budget.
#[test]
fn an_operator_on_two_leaves_runs_out_of_fuel_at_each_of_its_nodes_in_turn() {
    let script = "scenario \"s\" { horizon = 3 }\nparam limit = 3\nkind K { cash = 5, debt = 1 }\n\
                  entity a: K\nrule r: for k: K while k.debt < limit then k.debt += 1\n";
    let span = |text: &str, len: u32| Some((script.find(text).unwrap() as u32, len));
    let (operator, field, local, param) = (
        span("k.debt < limit", 14),
        span("k.debt < limit", 6),
        span("k.debt < limit", 1),
        span("limit then", 5),
    );
    let spans = fuel_spans(script);
    let nodes = [operator, field, local, param];
    let turns = spans.windows(4).filter(|w| *w == nodes).count();
    // Evaluated at each of the three steps (and the first time its fuel runs
    // out at the field: the operator took the last unit of the one before).
    assert!(turns >= 2, "{spans:?}");
    assert!(spans.windows(3).any(|w| *w == nodes[1..]), "{spans:?}");
}

/// `min` and `max` keep the best value so far as they evaluate their
/// arguments. Of equal numbers (`1.0` and `1.00`) `max` gives the last and
/// `min` the first, with its scale, whether the call is compiled (a let) or
/// read from its tree (an initial value).
#[test]
fn min_and_max_of_equal_numbers_give_the_same_one_compiled_or_not() {
    let script = "var a = 1.0\nvar b = 1.00\nvar tree_max = max(1.0, 1.00)\nvar tree_min = min(1.00, 1.0, 2)\n\
                  let max_ab = max(a, b)\nlet max_ba = max(b, a, 0.5)\nlet min_ab = min(a, b)\nlet min_ba = min(b, 2, a)\n\
                  let zero = max(0, -a + a)\n";
    let program = Engine::new().compile(script, "t.cascade").unwrap();
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    let mut scale = |name: &str| match run.value(name).unwrap() {
        cascade::Value::Number(n) => (n.to_string(), n.scale()),
        other => panic!("{name} = {other}"),
    };
    let expected = [
        ("tree_max", "1.00", 2),
        ("tree_min", "1.00", 2),
        ("max_ab", "1.00", 2),
        ("max_ba", "1.0", 1),
        ("min_ab", "1.0", 1),
        ("min_ba", "1.00", 2),
        ("zero", "0.0", 1),
    ];
    for (name, text, digits) in expected {
        assert_eq!(scale(name), (text.to_string(), digits), "{name}");
    }
}

/// An argument of `min` or `max` with no value is a fault at that argument,
/// and the arguments before it were evaluated (a fault in the first stops it).
#[test]
fn min_and_max_fault_at_an_argument_with_no_value() {
    let cases = [
        (
            "kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = max(1, e.defaulted_at, 2)",
            "e.defaulted_at",
        ),
        (
            "kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = min(e.defaulted_at, 1 / 0)",
            "e.defaulted_at",
        ),
        ("kind K { x = 0 }\nentity e: K\nvar y = 0\nwhen true then y = min(1 / 0, e.defaulted_at)", "0"),
    ];
    for (script, at) in cases {
        let (problem, text) = fault(Engine::new(), script);
        let code = if at == "0" { "cascade::run::division_by_zero" } else { "cascade::run::no_value" };
        assert_eq!((problem.code, text.as_str()), (code, at), "{script}");
    }
}

/// A call of `max` spends one unit of fuel, then its arguments spend theirs
/// in order: with too little fuel it runs out at the call, then at each
/// argument in turn.
#[test]
fn a_call_of_max_runs_out_of_fuel_at_the_call_then_at_each_argument() {
    let script = "scenario \"s\" { horizon = 3 }\nvar x = 0\nvar y = 1\n\
                  rule r: while x < 3 then x = max(x, y, 1) + 1\n";
    let at = |text: &str, len: u32| Some((script.rfind(text).unwrap() as u32, len));
    let nodes = [at("max(x, y, 1)", 12), at("x, y", 1), at("y, 1", 1), at("1)", 1)];
    let spans = fuel_spans(script);
    assert!(spans.windows(4).filter(|w| *w == nodes).count() >= 2, "{spans:?}");
}

/// A random draw spends one unit of fuel, then its arguments spend theirs in
/// order, as a call of `max` does.
#[test]
fn a_draw_runs_out_of_fuel_at_the_draw_then_at_each_argument() {
    let script = "scenario \"s\" { horizon = 3 }\nvar x = 0\nvar y = 1\nvar z = 0\n\
                  rule r: while x < 3 then { x += 1  z = lognormal(x, y) }\n";
    let at = |text: &str, len: u32| Some((script.rfind(text).unwrap() as u32, len));
    let nodes = [at("lognormal(x, y)", 15), at("x, y", 1), at("y)", 1)];
    let spans = fuel_spans(script);
    assert!(spans.windows(3).filter(|w| *w == nodes).count() >= 2, "{spans:?}");
}

/// `exposure_losses(k)` of a local spends one unit of fuel for the call and
/// one for the local, in that order, as the tree walk does.
#[test]
fn exposure_losses_of_a_local_runs_out_of_fuel_at_the_call_then_at_the_local() {
    let script = "scenario \"s\" { horizon = 3 }\nkind K { cash = 5 }\nentity a: K\nentity b: K { cash = 1 }\n\
                  exposure a -> b = 2\nvar y = 0\n\
                  rule r: for k: K where not k.defaulted when k.cash < 2 then default(k)\n\
                  rule q: for k: K while exposure_losses(k) > k.cash - 4 then y += 1\n";
    let at = |text: &str, len: u32| Some((script.rfind(text).unwrap() as u32, len));
    let nodes = [at("exposure_losses(k)", 18), at("k) >", 1)];
    let spans = fuel_spans(script);
    assert!(spans.windows(2).filter(|w| *w == nodes).count() >= 2, "{spans:?}");
}

/// A fault deep in a compiled expression is handed up through every node
/// above it (an `if`, an `and`, a negation, an operator, a condition, a
/// derived field) and reported at the node that raised it, as the tree walk
/// reports it: each case gives the text before the label, then the label's.
#[test]
fn a_fault_under_other_nodes_points_at_the_node_that_raised_it() {
    let cases = [
        ("when (if y > 0 then 1 else 10 / y) > 1 then y = 1", "division_by_zero", "10 / ", "y"),
        ("when y == 0 and 1 / y > 0 then y = 1", "division_by_zero", "1 / ", "y"),
        ("when true then y = -e.defaulted_at + 1", "no_value", "-", "e.defaulted_at"),
        ("when true then y = (y + 1) * (2 - e.defaulted_at)", "no_value", "(2 - ", "e.defaulted_at"),
        ("when e.half > 1 then y = 1", "division_by_zero", "x / ", "(x - x)"),
    ];
    for (rule, code, before, at) in cases {
        let script = format!("kind K {{ x = 0, let half = x / (x - x) }}\nentity e: K\nvar y = 0\n{rule}");
        let (problem, text) = fault(Engine::new(), &script);
        assert_eq!((problem.code, text.as_str()), (format!("cascade::run::{code}").as_str(), at), "{rule}");
        let start = script.find(&format!("{before}{at}")).unwrap() + before.len();
        assert_eq!(problem.labels[0].span.start as usize, start, "{rule}");
    }
}

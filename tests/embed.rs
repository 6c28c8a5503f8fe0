//! The embedding example runs, and the sandbox holds.

#[path = "../examples/embed.rs"]
mod embed;

#[test]
fn the_embedding_example_runs() {
    embed::main().expect("examples/embed.rs runs to the end");
}

#[test]
fn scripts_cannot_reach_the_outside_world() {
    // There is no syntax or built-in for files, network, clock or environment:
    // names that would reach them are unknown functions unless the host registers them.
    for call in ["read_file(\"/etc/passwd\")", "env(\"HOME\")", "now()", "http_get(\"x\")", "system(\"ls\")"]
    {
        let script = format!("var x = 0\nat 1 then emit \"{{{call}}}\"");
        let error = cascade::Engine::new().compile(&script, "sandbox.cascade").expect_err("refused");
        let codes: Vec<&str> = error.diagnostics().unwrap().problems().iter().map(|p| p.code).collect();
        assert!(codes.contains(&"cascade::check::unknown_function"), "{call}: {codes:?}");
    }
}

#[test]
fn a_world_from_host_data_builds_large_networks_without_script_text() {
    let mut world = cascade::World::new();
    for i in 0..20_000 {
        world.entity(
            &format!("b{i}"),
            "Bank",
            &[("capital", cascade::Value::Number(cascade::Decimal::from(5)))],
        );
    }
    for i in 1..20_000 {
        world.exposure(
            &format!("b{i}"),
            &format!("b{}", i - 1),
            cascade::Decimal::from(10),
            cascade::Decimal::ZERO,
        );
    }
    let script = "kind Bank { capital = 0, let losses = exposure_losses(self) }\n\
                  at 1 then default(b0)\n\
                  for b: Bank where not b.defaulted when b.losses > b.capital then default(b)";
    let program = cascade::Engine::new().compile_with_data(script, "chain.cascade", &world).unwrap();
    let mut run = program.run().unwrap();
    run.step().unwrap();
    // The whole chain falls within step 1: the rule is a feedback loop.
    assert_eq!(run.value("b19999.defaulted").unwrap().to_string(), "true");
    assert_eq!(run.events().len(), 20_000);
}

/// The first error of compiling `script` with `engine`.
fn compile_error(engine: &cascade::Engine, script: &str) -> cascade::Problem {
    let error = engine.compile(script, "limits.cascade").expect_err("over a limit");
    let problems = error.diagnostics().expect("a script diagnostic").problems();
    problems.iter().find(|p| p.is_error()).expect("an error").clone()
}

fn nested(depth: usize) -> String {
    format!("var x = {}1{}", "(".repeat(depth), ")".repeat(depth))
}

fn chain(terms: usize) -> String {
    format!("var x = 0\nat 1 then x = 1{}", " + 1".repeat(terms - 1))
}

#[test]
fn bracket_nesting_is_limited_and_the_limit_is_configurable() {
    let strict = cascade::Engine::new().max_nesting(3);
    let problem = compile_error(&strict, &nested(4));
    assert_eq!(problem.code, "cascade::syntax::too_deep");
    assert!(problem.message.contains("more than 3 levels"), "{}", problem.message);
    // The label points at the fourth bracket.
    assert_eq!(problem.labels[0].span.start as usize, "var x = (((".len());
    strict.compile(&nested(3), "ok.cascade").expect("three levels are allowed");

    // The default is 64; an embedder may raise it up to 256.
    assert_eq!(compile_error(&cascade::Engine::new(), &nested(65)).code, "cascade::syntax::too_deep");
    let deep = cascade::Engine::new().max_nesting(200);
    let mut run = deep.compile(&nested(200), "deep.cascade").expect("200 levels").run().unwrap();
    assert_eq!(run.value("x").unwrap().to_string(), "1");
    let problem = compile_error(&cascade::Engine::new().max_nesting(usize::MAX), &nested(300));
    assert!(problem.message.contains("more than 256 levels"), "{}", problem.message);
}

#[test]
fn expression_depth_is_limited_and_the_limit_is_configurable() {
    let strict = cascade::Engine::new().max_expression_depth(10);
    let problem = compile_error(&strict, &chain(12));
    assert_eq!(problem.code, "cascade::syntax::too_deep");
    assert!(problem.message.contains("more than 10 operations"), "{}", problem.message);
    strict.compile(&chain(11), "ok.cascade").expect("ten operations are allowed");

    // The default is 512; raised to the ceiling of 1024, a sum of 1,025 terms
    // parses, checks, runs with provenance, explains and graphs (on an
    // ordinary test thread's stack).
    assert_eq!(compile_error(&cascade::Engine::new(), &chain(514)).code, "cascade::syntax::too_deep");
    let deep = cascade::Engine::new().max_expression_depth(1024);
    let program = deep.compile(&chain(1025), "deep.cascade").expect("1024 operations");
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    assert_eq!(run.value("x").unwrap().to_string(), "1025");
    let why = run.explain("x").expect("explained");
    assert!(why.contains("x became") && why.contains("step 1"), "{why}");
    assert!(program.graph(cascade::GraphFormat::Text).contains('x'));
    let problem = compile_error(&cascade::Engine::new().max_expression_depth(usize::MAX), &chain(1100));
    assert!(problem.message.contains("more than 1024 operations"), "{}", problem.message);
}

#[test]
fn entities_and_exposures_are_limited_in_scripts_and_host_data() {
    let script = "kind Bank { capital = 1 }\nentity a: Bank\nentity b: Bank\nentity c: Bank\n\
                  exposure a -> b = 1\nexposure b -> c = 1\nexposure c -> a = 1";
    let problem = compile_error(&cascade::Engine::new().max_entities(2), script);
    assert_eq!(problem.code, "cascade::limit::entities");
    let third = script.find("entity c").unwrap();
    assert_eq!(
        problem.labels[0].span.start as usize, third,
        "the label is on the first entity over the limit"
    );
    assert!(problem.help.as_deref().unwrap_or("").contains("max_entities"), "{problem:?}");

    let problem = compile_error(&cascade::Engine::new().max_exposures(1), script);
    assert_eq!(problem.code, "cascade::limit::exposures");
    assert_eq!(problem.labels[0].span.start as usize, script.find("exposure b").unwrap());
    cascade::Engine::new().max_entities(3).max_exposures(3).compile(script, "ok").expect("at the limits");

    // The host's data counts too: 3 in the script + 1 from the host > 3.
    let mut world = cascade::World::new();
    world.entity("d", "Bank", &[]);
    let engine = cascade::Engine::new().max_entities(3);
    let error = engine.compile_with_data(script, "w.cascade", &world).expect_err("over the limit");
    let problem = &error.diagnostics().unwrap().problems()[0];
    assert_eq!(problem.code, "cascade::limit::entities");
    assert!(problem.help.as_deref().unwrap_or("").contains("adds 1"), "{problem:?}");
    engine.max_entities(4).compile_with_data(script, "w.cascade", &world).expect("within the limit");
}

#[test]
fn cancellation_stops_a_long_step_in_the_middle() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // A host function that raises the cancel flag on its 3,000th call: the run
    // is cancelled in the middle of step 1, in which 10,000 instances fire.
    let flag = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (raise, count) = (flag.clone(), calls.clone());
    let engine = cascade::Engine::new().function("tick", move |_: cascade::Decimal| {
        if count.fetch_add(1, Ordering::Relaxed) + 1 == 3_000 {
            raise.store(true, Ordering::Relaxed);
        }
        true
    });
    let mut world = cascade::World::new();
    for i in 0..10_000 {
        world.entity(&format!("k{i}"), "K", &[]);
    }
    let script = "kind K { n = 0 }\nvar fired = 0\nfor k: K when tick(k.n) then fired += 1";
    let program = engine.compile_with_data(script, "long.cascade", &world).expect("compiles");
    let mut run = program.start().cancel_flag(flag).begin().expect("starts");
    let error = run.run_to_end().expect_err("cancelled");
    let problem = &error.diagnostics().expect("a diagnostic").problems()[0];
    assert_eq!(problem.code, "cascade::limit::cancelled");
    assert_eq!(run.current_step(), 1);
    let fired: u64 = run.value("fired").unwrap().to_string().parse().unwrap();
    assert!((3_000..10_000).contains(&fired), "stopped after {fired} firings");
    assert!(calls.load(Ordering::Relaxed) < 10_000);
}

#[test]
fn host_functions_take_and_return_every_value_type() {
    use cascade::{Date, Decimal, Engine};
    let engine = Engine::new()
        .function("is_big", |x: Decimal| x > Decimal::from(100))
        .function("next_year", |d: Date| Date::ymd(d.year() + 1, d.month(), d.day()).unwrap_or(d))
        .function("shout", |s: String| s.to_uppercase())
        .function("weighted", |a: Decimal, b: Decimal, w: Decimal| a * w + b * (Decimal::ONE - w))
        .function("pick", |flag: bool, a: String, b: String, _n: Decimal| if flag { a } else { b })
        .function("rating", |x: Decimal| -> Result<String, String> {
            if x < Decimal::ZERO { Err(format!("no rating for {x}")) } else { Ok(String::from("AA")) }
        });
    let script = r#"
scenario "host" { start = 2027-01, horizon = 1 }
var big = false
var when_ = 2027-01
var name = "x"
var mix = 0
var chosen = ""
var grade = ""
at 1 {
  big = is_big(150)
  when_ = next_year(date)
  name = shout("cds")
  mix = weighted(10, 20, 25%)
  chosen = pick(big, "yes", "no", 1)
  grade = rating(mix)
}
"#;
    let mut run = engine.compile(script, "host.cascade").expect("compiles").run().unwrap();
    run.run_to_end().unwrap();
    let value = |run: &mut cascade::Run, name: &str| run.value(name).unwrap();
    assert_eq!(value(&mut run, "big"), cascade::Value::Bool(true));
    assert_eq!(value(&mut run, "when_"), cascade::Value::Date(Date::ymd(2028, 1, 1).unwrap())); // step 1 is the start month
    assert_eq!(value(&mut run, "name").to_string(), "CDS");
    assert_eq!(value(&mut run, "mix").as_number(), Some(Decimal::new(175, 1)));
    assert_eq!(value(&mut run, "chosen").to_string(), "yes");
    assert_eq!(value(&mut run, "grade").to_string(), "AA");

    // Wrong calls are check-time diagnostics at the call site.
    let wrong = [
        ("var x = weighted(1, 2)", "cascade::check::arity"),
        ("var x = shout(1)", "cascade::check::type_mismatch"),
        ("var x = 0\nat 1 then x = shout(\"a\")", "cascade::check::type_mismatch"),
    ];
    for (script, code) in wrong {
        let problem = compile_error(&engine, script);
        assert_eq!(problem.code, code, "{script}");
        let call = script.find(if script.contains("weighted") { "weighted" } else { "shout" }).unwrap();
        let label = problem.labels[0].span;
        assert!(
            (label.start as usize) >= call && (label.end as usize) <= script.len(),
            "{script}: label {label:?} is not at the call"
        );
    }
    // A host error is a run-time diagnostic at the call.
    let script = "var x = 0\nvar g = \"\"\nat 1 then g = rating(x - 1)";
    let mut run = engine.compile(script, "e.cascade").unwrap().run().unwrap();
    let error = run.run_to_end().expect_err("the host function fails");
    let problem = &error.diagnostics().unwrap().problems()[0];
    assert_eq!(problem.code, "cascade::run::host_error");
    assert!(problem.message.contains("no rating for -1"), "{}", problem.message);
    assert_eq!(problem.labels[0].span.start as usize, script.find("rating").unwrap());
    // A host function may not take a built-in's or keyword's name.
    let error = Engine::new().function("sum", |x: Decimal| x).compile("var x = 1", "s").expect_err("refused");
    assert!(matches!(error, cascade::Error::BadFunction { .. }), "{error:?}");
}

#[test]
fn an_observer_sees_each_steps_events_as_they_happen() {
    let script = std::fs::read_to_string("examples/interbank.cascade").expect("the example");
    let program = cascade::Engine::new().compile(&script, "interbank.cascade").expect("compiles");
    let mut run = program.run().unwrap();
    let mut seen: Vec<(u64, String, String)> = Vec::new();
    loop {
        let before = run.current_step();
        let mut this_step = Vec::new();
        let summary =
            run.step_observed(&mut |e| this_step.push((e.step, e.kind.to_string(), e.text.clone())));
        let Some(_) = summary.expect("steps") else { break };
        // Every event arrives during the step that caused it.
        assert!(this_step.iter().all(|(step, _, _)| *step == before + 1), "{this_step:?}");
        seen.extend(this_step);
    }
    let all: Vec<(u64, String, String)> =
        run.events().into_iter().map(|e| (e.step, e.kind.to_string(), e.text)).collect();
    assert!(seen.iter().any(|(_, kind, _)| kind == "default"), "the example has defaults");
    assert_eq!(seen, all, "the observer saw exactly the run's events, in order");
}

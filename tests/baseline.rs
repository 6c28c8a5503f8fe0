//! The hand-written baselines the benchmarks compare against
//! (`benches/support/baseline.rs`) give exactly what the interpreter gives on the
//! generated scenarios (`benches/support/gen.rs`): the same banks default, in the
//! same order and at the same steps, and every value ends the same, to the last
//! digit. Without this the benchmark ratios would compare different work.

#[path = "../benches/support/baseline.rs"]
mod baseline;
#[path = "../benches/support/gen.rs"]
mod scenarios;

use cascade::{Engine, Run};
use rust_decimal::Decimal;

fn compile_and_start(script: &str, name: &str) -> Run {
    let diagnostics = cascade::check_source(script, name);
    assert!(!diagnostics.has_errors(), "{}", diagnostics.render(cascade::RenderStyle::Plain));
    let program = match Engine::new().provenance(false).compile(script, name) {
        Ok(program) => program,
        Err(e) => panic!("{name} does not compile: {e}"),
    };
    program.run().unwrap_or_else(|e| panic!("{name} does not start: {e}"))
}

fn text(run: &mut Run, name: &str) -> String {
    run.value(name).unwrap_or_else(|e| panic!("{name}: {e}")).to_string()
}

fn exact(n: Decimal) -> String {
    n.normalize().to_string()
}

fn step_text(step: Option<u64>) -> String {
    step.map_or_else(|| String::from("none"), |s| s.to_string())
}

/// The defaults the interpreter recorded, as `(step, entity name)` in order.
fn defaults(run: &Run) -> Vec<(u64, String)> {
    run.events()
        .into_iter()
        .filter(|e| e.kind == cascade::EventKind::Default)
        .map(|e| (e.step, e.text))
        .collect()
}

fn check_interbank(banks: usize, degree: usize, shocks: usize, seed: u64) {
    let world = scenarios::interbank(banks, degree, shocks, seed);
    let name = format!("interbank-{banks}x{degree}-shocks{shocks}-seed{seed}");
    let expected = baseline::run_interbank(&world);
    let mut run = compile_and_start(&world.script(), &name);
    run.run_to_end().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(run.current_step(), world.horizon, "{name}: steps");
    let want: Vec<(u64, String)> = expected.defaults.iter().map(|(s, b)| (*s, format!("b{b}"))).collect();
    assert_eq!(defaults(&run), want, "{name}: defaults and their order");
    for i in 0..banks {
        let at = expected.defaulted_at[i];
        assert_eq!(
            text(&mut run, &format!("b{i}.defaulted")),
            at.is_some().to_string(),
            "{name}: b{i}.defaulted"
        );
        assert_eq!(text(&mut run, &format!("b{i}.defaulted_at")), step_text(at), "{name}: b{i}.defaulted_at");
        assert_eq!(text(&mut run, &format!("b{i}.losses")), exact(expected.losses[i]), "{name}: b{i}.losses");
    }
}

fn check_fire_sale(lessors: usize, shocks: usize, seed: u64) {
    let world = scenarios::fire_sale(lessors, shocks, seed);
    let name = format!("fire-sale-{lessors}-shocks{shocks}-seed{seed}");
    let expected = baseline::run_fire_sale(&world);
    let mut run = compile_and_start(&world.script(), &name);
    let mut firings = Vec::new();
    while let Some(summary) = run.step().unwrap_or_else(|e| panic!("{name}: {e}")) {
        firings.push(summary.firings as u64);
    }
    assert_eq!(firings, expected.firings, "{name}: firings per step");
    let want: Vec<(u64, String)> = expected.defaults.iter().map(|(s, l)| (*s, format!("l{l}"))).collect();
    assert_eq!(defaults(&run), want, "{name}: defaults and their order");
    assert_eq!(text(&mut run, "price"), exact(expected.price), "{name}: price");
    for i in 0..lessors {
        let at = expected.defaulted_at[i];
        assert_eq!(text(&mut run, &format!("l{i}.defaulted_at")), step_text(at), "{name}: l{i}.defaulted_at");
        assert_eq!(text(&mut run, &format!("l{i}.units")), exact(expected.units[i]), "{name}: l{i}.units");
        assert_eq!(text(&mut run, &format!("l{i}.debt")), exact(expected.debt[i]), "{name}: l{i}.debt");
        assert_eq!(text(&mut run, &format!("l{i}.sold")), exact(expected.sold[i]), "{name}: l{i}.sold");
    }
}

#[test]
fn interbank_matches_the_interpreter() {
    for seed in 1..=4 {
        check_interbank(50, 4, 2, seed);
    }
    for seed in 1..=3 {
        check_interbank(200, 10, 3, seed);
    }
    check_interbank(1000, 10, 1, 7);
}

#[test]
fn fire_sale_matches_the_interpreter() {
    for seed in 1..=4 {
        check_fire_sale(50, 3, seed);
    }
    for seed in 1..=3 {
        check_fire_sale(200, 4, seed);
    }
    check_fire_sale(1000, 3, 7);
}

/// The scenarios are worth benchmarking: cascades that spread but not to
/// everyone, a spiral that runs over several steps.
#[test]
fn scenarios_do_real_work() {
    let world = scenarios::interbank(1000, 10, 1, 1);
    let result = baseline::run_interbank(&world);
    let defaulted = result.defaults.len();
    assert!(defaulted > 100 && defaulted < 1000, "interbank: {defaulted} of 1000 defaulted");

    let world = scenarios::fire_sale(1000, 3, 1);
    let result = baseline::run_fire_sale(&world);
    let busy_steps = result.firings.iter().filter(|f| **f > 1).count();
    assert!(busy_steps >= 3, "fire sale: firings per step {:?}", result.firings);
    assert!(!result.defaults.is_empty(), "fire sale: no lessor defaulted");
}

/// In the quiet world one cell changes per step: after the first step (which
/// looks at every instance once) a step fires at most the tick and one reset.
#[test]
fn quiet_world_changes_one_cell_per_step() {
    let script = scenarios::quiet(500, 60, 3);
    let mut run = compile_and_start(&script, "quiet");
    let mut steps = 0;
    while let Some(summary) = run.step().expect("quiet world runs") {
        steps += 1;
        assert!(summary.firings <= 2, "step {}: {} firings", summary.step, summary.firings);
        assert!(summary.changes <= 3, "step {}: {} changes", summary.step, summary.changes);
    }
    assert_eq!(steps, 60);
}

#[test]
fn generators_are_deterministic() {
    assert_eq!(scenarios::interbank(300, 5, 2, 9).script(), scenarios::interbank(300, 5, 2, 9).script());
    assert_ne!(scenarios::interbank(300, 5, 2, 9).script(), scenarios::interbank(300, 5, 2, 10).script());
    assert_eq!(scenarios::fire_sale(300, 3, 9).script(), scenarios::fire_sale(300, 3, 9).script());
    assert_eq!(scenarios::quiet(300, 10, 9), scenarios::quiet(300, 10, 9));
    let mut a = scenarios::SplitMix64::new(0);
    // The first output of splitmix64 seeded with 0 (reference implementation).
    assert_eq!(a.next_u64(), 0xE220_A839_7B1D_CDAF);
}

/// The network loaded from CSV files (`entities Bank from "banks.csv"`) runs
/// exactly as the same network written as a script, and as the baseline reading
/// the same CSV files.
#[test]
fn the_interbank_network_from_csv_files_agrees_with_the_baseline() {
    for seed in [1, 2] {
        let world = scenarios::interbank(500, 10, 2, seed);
        let (script, banks, exposures) = world.csv();
        let from_csv = baseline::read_interbank_csv(banks.as_bytes(), exposures.as_bytes(), &world)
            .expect("the baseline reads the CSV");
        let expected = baseline::run_interbank(&from_csv);
        let engine = Engine::new().loader(move |name: &str, _: &str| match name {
            "banks.csv" => Ok(cascade::DataFile::new(name, banks.clone())),
            "exposures.csv" => Ok(cascade::DataFile::new(name, exposures.clone())),
            _ => Err(String::from("no such file")),
        });
        let mut run = engine.compile(&script, "csv.cascade").expect("it compiles").run().expect("it starts");
        run.run_to_end().expect("it runs");
        let want: Vec<(u64, String)> = expected.defaults.iter().map(|(s, b)| (*s, format!("b{b}"))).collect();
        assert_eq!(defaults(&run), want, "seed {seed}: defaults and their order");
        for i in 0..world.banks() {
            assert_eq!(text(&mut run, &format!("b{i}.losses")), exact(expected.losses[i]), "b{i}.losses");
        }
    }
}

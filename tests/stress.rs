//! Sensitivity and threshold search through the API, with answers worked out
//! by hand (the scripts in `tests/stress/` say what they are).

mod common;

use common::{cascade, stdout};

use cascade::{Decimal, Engine, Error, Program, SensitivityOptions, ThresholdOptions, Verdict};

fn program(name: &str) -> Program {
    Engine::new()
        .compile_file(std::path::Path::new(&format!("tests/stress/{name}.cascade")))
        .expect("the script compiles")
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn threshold(name: &str, vary: (&str, &str), until: &str) -> ThresholdOptions {
    let _ = name;
    ThresholdOptions {
        vary: Some((vary.0.into(), vary.1.into())),
        until: until.into(),
        ..ThresholdOptions::default()
    }
}

fn message(error: Error) -> String {
    match &error {
        Error::Script(d) => d.problems().iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

#[test]
fn cash_100_losing_cost_over_10_steps_defaults_exactly_above_10() {
    let found = program("burn").threshold(&threshold("burn", ("cost", "0..20"), "firm.defaulted")).unwrap();
    assert_eq!(found.verdict, Verdict::Changes);
    assert_eq!(found.boundaries.len(), 1);
    let b = &found.boundaries[0];
    assert!(b.from <= d("10") && d("10") <= b.to, "{b:?}");
    assert!(b.to - b.from <= found.tolerance, "{b:?}");
    assert_eq!(found.tolerance, d("0.00002")); // a millionth of the range
    assert!((!b.below, b.above) == (true, true));
    assert!(found.runs <= 40, "{} runs", found.runs);
    let explained = found.explain.expect("the run past the boundary is explained");
    assert_eq!(explained.target, "firm");
    assert!(explained.text.starts_with("firm defaulted at step 10"), "{}", explained.text);
}

#[test]
fn a_window_between_3_and_5_has_two_boundaries() {
    let found = program("window").threshold(&threshold("window", ("x", "0..10"), "firm.defaulted")).unwrap();
    let b = &found.boundaries;
    assert_eq!(b.len(), 2, "{b:?}");
    assert!(b[0].from <= d("3") && d("3") <= b[0].to && !b[0].below && b[0].above);
    assert!(b[1].from < d("5") && d("5") <= b[1].to && b[1].below && !b[1].above);
}

#[test]
fn a_param_read_nowhere_has_zero_swing_and_sorts_last() {
    let options = SensitivityOptions { all: true, metric: "first_default".into(), ..Default::default() };
    let tornado = program("ceil").sensitivity(&options).unwrap();
    assert_eq!(tornado.base, Some(d("10")));
    let names: Vec<&str> = tornado.rows.iter().map(|r| r.param.as_str()).collect();
    assert_eq!(names, ["cash", "cost", "unread"]);
    let cost = &tornado.rows[1];
    // ceil(100 / 9) = 12 and ceil(100 / 11) = 10
    assert_eq!(
        (cost.low, cost.high, cost.at_low, cost.at_high),
        (d("9"), d("11"), Some(d("12")), Some(d("10")))
    );
    assert_eq!(tornado.rows[2].swing, Decimal::ZERO);
    assert_eq!(tornado.runs, 7);
}

#[test]
fn a_default_that_a_move_flips_is_marked() {
    let options = SensitivityOptions {
        vary: vec![("cost".into(), "±200%".into())],
        metric: "cash".into(),
        ..Default::default()
    };
    let tornado = program("burn").sensitivity(&options).unwrap();
    let row = &tornado.rows[0];
    assert_eq!((row.low, row.high), (d("-5"), d("15")));
    assert_eq!(row.flips_high, ["+firm"]);
    assert!(row.flips_low.is_empty());
}

#[test]
fn the_smallest_shock_is_found_along_its_direction() {
    // cost 5 + s × 20 passes 10 at s = 0.25.
    let options = ThresholdOptions {
        shock: vec![("cost".into(), "20".into())],
        until: "firm.defaulted".into(),
        ..Default::default()
    };
    let found = program("burn").threshold(&options).unwrap();
    let shock = found.shock.expect("it breaks within the shock");
    assert!(shock.scale_from <= d("0.25") && d("0.25") <= shock.scale, "{shock:?}");
    assert_eq!(shock.params[0].0, "cost");
    assert_eq!(shock.params[0].1, d("5"));
    // A relative move: cost 5 × (1 + s × 300%) passes 10 at s = 1/3.
    let options = ThresholdOptions {
        shock: vec![("cost".into(), "300%".into())],
        until: "firm.defaulted".into(),
        ..Default::default()
    };
    let shock = program("burn").threshold(&options).unwrap().shock.unwrap();
    assert!(shock.scale_from <= d("0.3333334") && d("0.3333333") <= shock.scale, "{shock:?}");
}

#[test]
fn a_condition_that_never_changes_is_an_answer() {
    let found = program("burn").threshold(&threshold("burn", ("cost", "0..5"), "cash < 1000")).unwrap();
    assert_eq!(found.verdict, Verdict::HoldsEverywhere);
    assert!(found.boundaries.is_empty() && found.explain.is_none());
    let found = program("burn").threshold(&threshold("burn", ("cost", "0..5"), "firm.defaulted")).unwrap();
    assert_eq!(found.verdict, Verdict::NeverHolds);
}

#[test]
fn bad_input_is_a_diagnostic() {
    let burn = program("burn");
    let metric = |m: &str| {
        burn.sensitivity(&SensitivityOptions { all: true, metric: m.into(), ..Default::default() })
            .map(|_| ())
            .unwrap_err()
    };
    assert_eq!(message(metric("firm")), "a metric must be a number, and this is an entity");
    assert!(message(metric("cahs")).contains("cahs"), "{}", message(metric("cahs")));
    let until = |u: &str, range: &str| {
        burn.threshold(&threshold("burn", ("cost", range), u)).map(|_| ()).unwrap_err()
    };
    assert_eq!(
        message(until("cash", "0..20")),
        "`--until` must be a condition (a bool), and this is a number"
    );
    assert!(message(until("firm.defaulted", "5..5")).contains("the range is empty: 5 is not below 5"));
    assert!(message(until("firm.defaulted", "9..1")).contains("the range is empty"));
    assert!(message(until("p(firm.defaulted) >= 50%", "0..20")).contains("a probability needs many paths"));
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let burn = program("burn");
    let mut options = threshold("burn", ("cost", "0..20"), "firm.defaulted");
    let one = burn.threshold(&options).unwrap();
    options.jobs = 2;
    assert_eq!(one, burn.threshold(&options).unwrap());
    let hazard = program("hazard");
    let mut options = SensitivityOptions {
        all: true,
        metric: "firm.defaulted".into(),
        runs: 64,
        seed: 3,
        ..Default::default()
    };
    let one = hazard.sensitivity(&options).unwrap();
    options.jobs = 2;
    assert_eq!(one, hazard.sensitivity(&options).unwrap());
}

#[test]
fn a_probability_boundary_is_near_the_known_one() {
    // P(default) = 1 - (1 - h)^10 = 50% at h = 0.0670. With 400 paths the
    // estimated share has a standard error of 2.5% near 50%; the slope there is
    // 10 (1 - h)^9 ≈ 5.35, so h is off by about 0.005 (one standard error):
    // 0.045..0.09 is more than four of them on each side.
    let options = ThresholdOptions {
        vary: Some(("hazard".into(), "0..0.5".into())),
        until: "p(firm.defaulted) >= 50%".into(),
        runs: 400,
        seed: 11,
        tolerance: Some("0.001".into()),
        jobs: 2,
        ..Default::default()
    };
    let found = program("hazard").threshold(&options).unwrap();
    assert_eq!(found.boundaries.len(), 1, "{:?}", found.boundaries);
    let b = &found.boundaries[0];
    assert!(d("0.045") <= b.from && b.to <= d("0.09"), "{b:?}");
    let (below, above) = b.shares.unwrap();
    assert!(below < d("0.5") && above >= d("0.5"));
    // The story past the boundary is path 0 there, as `--seed 11 --path 0` replays it.
    let explained = found.explain.as_ref().expect("path 0 past the boundary is explained");
    assert_eq!((explained.target.as_str(), explained.path, explained.at), ("firm", Some(0), b.to));
    let mut replay = program("hazard")
        .start()
        .seed(11)
        .path(0)
        .set("hazard", cascade::Value::Number(b.to))
        .unwrap()
        .begin()
        .unwrap();
    replay.run_to_end().unwrap();
    assert_eq!(explained.text, replay.explain("firm").unwrap());
    // Without p(...), a condition with many paths is refused.
    let plain = ThresholdOptions { until: "firm.defaulted".into(), ..options };
    assert!(message(program("hazard").threshold(&plain).unwrap_err()).contains("a probability"));
}

/// Ranges at the edge of what a decimal holds are diagnostics, never a panic
/// or a wrapped number.
#[test]
fn ranges_too_wide_for_decimals_are_diagnostics() {
    const WIDE: &str = "-79228162514264337593543950335..79228162514264337593543950335";
    let error = program("burn").threshold(&threshold("burn", ("cost", WIDE), "firm.defaulted")).unwrap_err();
    assert!(message(error).contains("too wide"));

    let options = SensitivityOptions {
        vary: vec![("cost".into(), WIDE.into())],
        metric: "first_default".into(),
        method: cascade::Method::Morris,
        ..Default::default()
    };
    let error = program("ceil").sensitivity(&options).unwrap_err();
    assert!(message(error).contains("too wide"));

    // One at a time, the ends of the range run; the run's own overflow is its diagnostic.
    let options = SensitivityOptions {
        vary: vec![("cost".into(), WIDE.into())],
        metric: "left".into(),
        ..Default::default()
    };
    match program("ceil").sensitivity(&options) {
        Ok(tornado) => assert_eq!(tornado.rows.len(), 1),
        Err(error) => {
            let text = message(error);
            assert!(text.contains("overflow"), "{text}");
        }
    }
}

/// The command's tornado table is the product: its text (the picture is
/// tested with the other charts, in `tests/plot.rs`).
#[test]
fn the_tornado_from_the_command_line() {
    let args = ["sensitivity", "tests/stress/ceil.cascade", "--all", "--metric", "first_default"];
    let text = cascade(&args);
    assert!(text.status.success());
    insta::assert_snapshot!(stdout(&text));
}

/// The README answers the flagship's two questions with these commands; its
/// text is their output (the threshold's story is cut after its first lines).
#[test]
fn the_readme_answers_are_the_commands_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let flagship = "examples/ai_compute_credit.cascade";
    let tornado = stdout(&cascade(&["sensitivity", flagship, "--all", "--metric", "first_default"]));
    assert!(
        readme.contains(&format!("```text\n{tornado}```")),
        "README's tornado is out of date:\n{tornado}"
    );
    let until = ["--until", "coreweave.defaulted", "--tolerance", "0.001"];
    let found = stdout(&cascade(
        &[&["threshold", flagship, "--vary", "spot_price=1.00..10.00"], &until[..]].concat(),
    ));
    let head: String = found.lines().take(7).map(|l| format!("{l}\n")).collect();
    assert!(
        readme.contains(&format!("```text\n{head}  ...\n```")),
        "README's threshold is out of date:\n{head}"
    );
    assert!(head.contains("between 5.6593017578125 and 5.65985107421875"), "{head}");

    let shock = ["--shock", "spot_price=-1.00,renewal_share=-50%", "--until", "coreweave.defaulted_at <= 24"];
    let stressed = stdout(&cascade(&[&["threshold", flagship], &shock[..]].concat()));
    assert!(stressed.contains("smallest scale at which it holds: 0.855017"), "{stressed}");
    assert!(
        stressed.contains("spot_price: 2 -> 1.14498") && stressed.contains("renewal_share: 0.3 -> 0.17174")
    );
}

/// Morris on a linear response: every elementary effect is the slope times the
/// range (3 × 1 for a, −2 × 10 for b), so μ* is exact and σ is zero; a param read
/// nowhere has none. With an interaction term a·b the effects spread, inside
/// the bounds the slopes allow (a's slope 3 + b is 3..13, b's −2 + a is −2..−1).
#[test]
fn morris_effects_of_a_linear_response_are_its_slopes() {
    let vary = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, r)| (n.to_string(), r.to_string())).collect();
    let mut options = SensitivityOptions {
        vary: vary(&[("a", "0..1"), ("b", "0..10"), ("c", "0..1")]),
        metric: "y".into(),
        method: cascade::Method::Morris,
        ..Default::default()
    };
    let found = program("linear").sensitivity(&options).unwrap();
    let effects: Vec<_> =
        found.effects.iter().map(|e| (e.param.as_str(), e.mean_abs, e.mean, e.spread, e.count)).collect();
    assert_eq!(
        effects,
        [
            ("b", Some(d("20")), Some(d("-20")), Some(d("0")), 10),
            ("a", Some(d("3")), Some(d("3")), Some(d("0")), 10),
            ("c", Some(d("0")), Some(d("0")), Some(d("0")), 10),
        ]
    );

    options.set = vec![("interact".into(), "1".into())];
    let found = program("linear").sensitivity(&options).unwrap();
    let of = |name: &str| found.effects.iter().find(|e| e.param == name).unwrap();
    let (a, b) = (of("a"), of("b"));
    assert!(a.spread.unwrap() > Decimal::ZERO && b.spread.unwrap() > Decimal::ZERO);
    assert!(d("3") <= a.mean.unwrap() && a.mean.unwrap() <= d("13"), "{a:?}");
    assert!(d("-20") <= b.mean.unwrap() && b.mean.unwrap() <= d("-10"), "{b:?}");
    assert_eq!(of("c").mean_abs, Some(d("0")));
}

/// `--format json` and `--format csv` of the command carry the same exact table.
#[test]
fn the_tornado_as_json_and_csv() {
    let args = ["sensitivity", "tests/stress/ceil.cascade", "--all", "--metric", "first_default"];
    let json = cascade(&[&args[..], &["--format", "json"]].concat());
    assert!(json.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["base"], "10");
    let params: Vec<&str> =
        json["rows"].as_array().unwrap().iter().map(|r| r["param"].as_str().unwrap()).collect();
    assert_eq!(params, ["cash", "cost", "unread"]);
    assert_eq!(json["rows"][1]["at_low"], "12");
    assert_eq!(json["rows"][2]["swing"], "0");

    let csv = stdout(&cascade(&[&args[..], &["--format", "csv"]].concat()));
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("param,"), "{header}");
    assert_eq!(lines.count(), 3, "{csv}");
    assert!(csv.contains("cost,") && csv.contains(",12,"), "{csv}");
}

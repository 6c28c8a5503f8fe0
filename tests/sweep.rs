//! Many paths: random draws, seeds, `cascade sweep` and `cascade merge`.
//!
//! The statistical tests compare sample statistics with known answers within
//! a tolerance of four standard errors for the number of paths run (a false
//! alarm about once in 16,000 fresh seeds; the seeds here are fixed, so the
//! tests are deterministic).

use std::ops::ControlFlow;
use std::process::Command;

use cascade::{Engine, OutputFormat, PathResult, Program, RowWriter, SweepOptions, Value};

mod common;
use common::{cascade, stderr, stdout};

fn temp_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweep");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn temp_script(name: &str, text: &str) -> String {
    let path = temp_dir().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn compile(text: &str) -> Program {
    Engine::new().compile(text, "test.cascade").unwrap_or_else(|e| panic!("{e:?}"))
}

fn paths(program: &Program, options: &SweepOptions, jobs: usize) -> Vec<PathResult> {
    let sweep = program.sweep(options).unwrap();
    let mut out = Vec::new();
    let end = sweep.run(jobs, None, |r| {
        out.push(r);
        ControlFlow::Continue(())
    });
    assert!(!end.stopped);
    out
}

fn options(runs: u64) -> SweepOptions {
    SweepOptions { runs, seed: 11, ..SweepOptions::default() }
}

/// Four standard errors of a mean of `n` draws with standard deviation `sd`.
fn tolerance(sd: f64, n: u64) -> f64 {
    4.0 * sd / (n as f64).sqrt()
}

const COIN: &str = "
scenario \"coin\" { horizon = 1 }
param p = 30%
var heads = bernoulli(p)
kind Firm { cash = 0 }
entity firm: Firm {}
when heads then default(firm)
";

#[test]
fn a_bernoulli_default_has_its_probability() {
    let n = 10_000;
    let results = paths(&compile(COIN), &options(n), 2);
    let defaults = results.iter().filter(|r| r.defaulted_at[0].is_some()).count();
    let share = defaults as f64 / n as f64;
    let tol = tolerance((0.3f64 * 0.7).sqrt(), n);
    assert!((share - 0.3).abs() <= tol, "{share} is not 0.30 ± {tol}");
}

#[test]
fn the_summary_reports_the_probability_with_an_interval() {
    let file = temp_script("coin.cascade", COIN);
    let out = cascade(&["sweep", &file, "--runs", "10000", "--summary", "--seed", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let get = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
    assert_eq!(get("what"), "default");
    assert_eq!(get("name"), "firm");
    let (p, low, high): (f64, f64, f64) = (
        get("probability").parse().unwrap(),
        get("ci_low").parse().unwrap(),
        get("ci_high").parse().unwrap(),
    );
    let tol = tolerance((0.3f64 * 0.7).sqrt(), 10_000);
    assert!((p - 0.3).abs() <= tol, "{p}");
    assert!(low < p && p < high && high - low < 0.02, "{low} {p} {high}");
    assert_eq!(get("p50"), "1");
}

const HAZARD: &str = "
scenario \"hazard\" { horizon = 1000 }
param hazard = 10%
var hit = false
kind Firm { cash = 0 }
entity firm: Firm {}
rule draw: while true then hit = bernoulli(hazard)
rule fail: when hit then default(firm)
rule done: when firm.defaulted then stop \"defaulted\"
";

#[test]
fn a_constant_hazard_gives_a_geometric_default_step() {
    // P(T = k) = 0.1 × 0.9^(k-1): mean 10, sd √0.9 / 0.1 ≈ 9.49, median 7
    // (P(T ≤ 6) = 0.469, P(T ≤ 7) = 0.522).
    let n = 10_000;
    let results = paths(&compile(HAZARD), &options(n), 2);
    let steps: Vec<u64> =
        results.iter().map(|r| r.defaulted_at[0].expect("defaults before step 1000")).collect();
    let mean = steps.iter().sum::<u64>() as f64 / n as f64;
    let tol = tolerance(0.9f64.sqrt() / 0.1, n);
    assert!((mean - 10.0).abs() <= tol, "mean {mean} is not 10 ± {tol}");
    let file = temp_script("hazard.cascade", HAZARD);
    let out = cascade(&["sweep", &file, "--runs", "10000", "--summary", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = &json["points"][0]["defaults"][0]["step"];
    assert_eq!(step["p50"], 7, "{step}");
    let mean: f64 = step["mean"].as_str().unwrap().parse().unwrap();
    assert!((mean - 10.0).abs() <= tol, "{mean}");
    let p10 = step["p10"].as_u64().unwrap();
    assert_eq!(p10, 1, "P(T ≤ 1) = 0.1 ≥ 10%");
    let p90 = step["p90"].as_u64().unwrap();
    assert!((21..=23).contains(&p90), "P(T ≤ 22) = 0.902: {p90}");
}

#[test]
fn a_normal_draw_has_its_mean_and_standard_deviation() {
    let program = compile("var x = normal(100, 15)\nexpect x > 0");
    let n = 10_000;
    let mut opts = options(n);
    opts.record = vec![String::from("x")];
    let values: Vec<f64> = paths(&program, &opts, 1)
        .iter()
        .map(|r| r.records[0].as_number().unwrap().to_string().parse::<f64>().unwrap())
        .collect();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    assert!((mean - 100.0).abs() <= tolerance(15.0, n), "mean {mean}");
    // The standard error of a sample sd is about σ / √(2n).
    assert!((sd - 15.0).abs() <= 4.0 * 15.0 / (2.0 * n as f64).sqrt(), "sd {sd}");
}

const MARKET: &str = "
scenario \"market\" { start = 2026-01, horizon = 24 }
param spot = 2.00 ~ uniform(1.80, 2.20)
param volatility = 10%
param loss_line = 1.50
var price = spot
kind Firm { line = 0 }
entity weak: Firm { line = loss_line + 0.30 }
entity strong: Firm { line = 1.20 }
rule shock: while true then price *= lognormal(0, volatility)
rule bust: for f: Firm when price < f.line then default(f)
expect weak.defaulted
";

#[test]
fn jobs_and_shards_do_not_change_a_byte() {
    let file = temp_script("market.cascade", MARKET);
    let dir = temp_dir();
    for extra in
        [&[][..], &["--summary"][..], &["--format", "json"][..], &["--summary", "--format", "json"][..]]
    {
        let base = ["sweep", &file, "--runs", "300", "--vary", "loss_line=1.4,1.6", "--record", "price"];
        let with = |more: &[&str]| {
            let mut args: Vec<&str> = base.to_vec();
            args.extend(extra);
            args.extend(more);
            let out = cascade(&args);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            out.stdout
        };
        let one = with(&["--jobs", "1"]);
        assert_eq!(one, with(&["--jobs", "2"]), "--jobs 2 differs ({extra:?})");
        let mut shards = Vec::new();
        for k in 1..=3 {
            let path = dir.join(format!("shard{k}-{}.out", extra.len()));
            let shard = format!("{k}/3");
            with(&["--shard", &shard, "-o", path.to_str().unwrap()]);
            shards.push(path.display().to_string());
        }
        shards.reverse(); // any order
        let mut args = vec!["merge"];
        args.extend(shards.iter().map(String::as_str));
        let merged = cascade(&args);
        assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
        assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&one), "{extra:?}");
    }
}

#[test]
fn a_row_is_reproduced_by_running_its_path() {
    let program = compile(MARKET);
    let mut opts = options(50);
    opts.record = vec![String::from("price"), String::from("spot")];
    let results = paths(&program, &opts, 2);
    for i in [0usize, 7, 49] {
        let mut run = program.start().seed(11).path(i as u64).begin().unwrap();
        run.run_to_end().unwrap();
        assert_eq!(run.value("price").unwrap(), results[i].records[0], "path {i}");
        assert_eq!(run.value("spot").unwrap(), results[i].records[1], "path {i}");
        let at = run.value("weak.defaulted_at").unwrap();
        assert_eq!(at.as_number().map(|n| n.to_string()), results[i].defaulted_at[0].map(|s| s.to_string()));
    }
    // On the command line: the run's final price is the row's.
    let file = temp_script("market_rows.cascade", MARKET);
    let rows = cascade(&["sweep", &file, "--runs", "10", "--seed", "4", "--record", "price"]);
    let text = stdout(&rows);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let row7 = reader.records().nth(7).unwrap().unwrap();
    let price = row7.iter().rev().nth(1).unwrap().to_string();
    let run = cascade(&["run", &file, "--seed", "4", "--path", "7", "--format", "csv"]);
    let csv_text = stdout(&run);
    let last = csv_text.lines().last().unwrap();
    assert!(last.split(',').any(|v| v == price), "{price} not in {last}");
    let json = cascade(&["run", &file, "--seed", "4", "--path", "7", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (json["provenance"]["seed"].as_u64(), json["provenance"]["path"].as_u64()),
        (Some(4), Some(7))
    );
}

/// Emits whose interpolations fault on some draws, and expectations that read
/// a drawn value: a sweep writes neither text nor the trace's records, yet each
/// path ends as its run does (the same fault, at the same step), spends the
/// same fuel and reaches the trace limit at the same firing.
const QUIET: &str = "
scenario \"quiet\" { horizon = 4 }
var k = 1
var total = 0
kind Firm { cash = 0 }
entity firm: Firm {}
rule draw \"a draw a step\":
  while true {
    k = integer(0, 5)
    total += k
    emit \"one in {1 / k}, {total} so far, {sum(f.cash + k for f in Firm)}\"
  }
expect total > 6
expect k >= 1 at 2
";

#[test]
fn a_quiet_path_faults_and_spends_fuel_as_its_run_does() {
    let limits = [(None, None), (Some(40), None), (Some(90), None), (Some(150), None), (Some(260), None)];
    let traces = [(None, Some(3)), (None, Some(7)), (None, Some(12))];
    for (fuel, trace) in limits.into_iter().chain(traces) {
        let mut engine = Engine::new();
        if let Some(f) = fuel {
            engine = engine.max_fuel(f);
        }
        if let Some(t) = trace {
            engine = engine.max_trace(t);
        }
        let program = engine.compile(QUIET, "quiet.cascade").unwrap();
        let results = paths(&program, &options(40), 2);
        let (mut failed, mut finished) = (0, 0);
        for (i, row) in results.iter().enumerate() {
            let mut run = program.start().seed(11).path(i as u64).begin().unwrap();
            let ended = run.run_to_end();
            let code =
                ended.as_ref().err().and_then(|e| e.diagnostics()).map(|d| d.problems()[0].code.to_string());
            match (&row.end, code) {
                (cascade::PathEnd::Failed { code, .. }, Some(expected)) => {
                    assert_eq!(code, &expected, "path {i}, fuel {fuel:?}");
                    failed += 1;
                }
                (cascade::PathEnd::Horizon, None) => {
                    let held = run.expectations().iter().filter(|e| e.passed).count();
                    assert_eq!(row.expectations_held, held, "path {i}, fuel {fuel:?}");
                    assert!(run.expectations().iter().any(|e| !e.detail.is_empty()), "a run writes details");
                    finished += 1;
                }
                (end, code) => panic!("path {i}, fuel {fuel:?}: the sweep has {end:?}, the run {code:?}"),
            }
            assert_eq!(row.end_step, run.current_step(), "path {i}, fuel {fuel:?}");
        }
        // Without a limit some paths draw a 0 and fault, others finish.
        if fuel.is_none() && trace.is_none() {
            assert!(failed > 0 && finished > 0, "{failed} failed, {finished} finished");
        }
        // A short trace ends every path at its limit, sooner or later.
        if trace == Some(3) {
            assert_eq!(failed, results.len(), "trace {trace:?}");
        }
    }
}

#[test]
fn the_base_run_uses_the_base_values() {
    let program = compile(MARKET);
    let mut run = program.run().unwrap();
    assert_eq!(run.value("spot").unwrap().to_string(), "2");
    run.run_to_end().unwrap();
    let json = run.trace().to_json();
    assert_eq!(json["provenance"]["seed"], 0);
    let drawn = program.start().path(3).begin().unwrap().value("spot").unwrap();
    assert_ne!(drawn.to_string(), "2.00");
}

#[test]
fn a_checkpoint_continues_the_same_draws() {
    let program = compile(MARKET);
    let mut run = program.start().seed(2).path(5).begin().unwrap();
    for _ in 0..10 {
        run.step().unwrap();
    }
    let saved = serde_json::to_string(&run.checkpoint()).unwrap();
    run.run_to_end().unwrap();
    let mut resumed = program.resume(&serde_json::from_str(&saved).unwrap()).unwrap();
    resumed.run_to_end().unwrap();
    assert_eq!(run.value("price").unwrap(), resumed.value("price").unwrap());
}

#[test]
fn a_latin_hypercube_samples_each_stratum_once() {
    let file = temp_script("lhs.cascade", MARKET);
    let out = cascade(&[
        "sweep",
        &file,
        "--sample",
        "lhs",
        "--vary",
        "volatility=0..20%/10",
        "--vary",
        "loss_line=1..2/10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let mut strata: Vec<u32> = reader
        .records()
        .map(|r| {
            let v: f64 = r.unwrap().get(2).unwrap().parse().unwrap();
            (v / 0.02).floor() as u32
        })
        .collect();
    strata.sort();
    assert_eq!(strata, (0..10).collect::<Vec<_>>());
}

#[test]
fn rows_stream_through_the_api() {
    let program = compile(MARKET);
    let sweep = program.sweep(&options(5)).unwrap();
    let mut writer = RowWriter::new(&sweep, OutputFormat::Csv, Vec::new()).unwrap();
    let end = sweep.run(1, None, |r| {
        writer.write(&r).unwrap();
        ControlFlow::Continue(())
    });
    let text = String::from_utf8(writer.finish(end).unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines[0],
        "point,path,spot,end_step,end_reason,defaults,weak.defaulted_at,strong.defaulted_at,expectations_held"
    );
    assert!(matches!(sweep.run_path(0, None).params[0], Value::Number(_)));
}

fn usage_error(args: &[&str]) -> String {
    let out = cascade(args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn bad_sweep_options_are_explained() {
    let file = temp_script("bad.cascade", MARKET);
    let e = usage_error(&["sweep", &file, "--vary", "volatilty=1%,2%"]);
    assert!(e.contains("no param `volatilty`") && e.contains("did you mean `volatility`?"), "{e}");
    let e = usage_error(&["sweep", &file, "--vary", "volatility=5%..1%/3"]);
    assert!(e.contains("the range is empty"), "{e}");
    let e = usage_error(&["sweep", &file, "--vary", "volatility=1%..5%/0"]);
    assert!(e.contains("the range is empty"), "{e}");
    let e = usage_error(&["sweep", &file, "--shard", "4/3"]);
    assert!(e.contains("there is no shard 4 of 3"), "{e}");
    let e = usage_error(&["sweep", &file, "--record", "prise"]);
    assert!(e.contains("--record prise"), "{e}");
    insta::assert_snapshot!(
        "sweep_unknown_vary",
        usage_error(&["sweep", &file, "--vary", "volatilty=1%,2%"])
    );
    insta::assert_snapshot!("sweep_bad_shard", usage_error(&["sweep", &file, "--shard", "4/3"]));
}

#[test]
fn merging_refuses_shards_of_different_sweeps() {
    let file = temp_script("merge.cascade", MARKET);
    let dir = temp_dir();
    let shard = |k: u64, seed: &str, name: &str| {
        let path = dir.join(name).display().to_string();
        let out = cascade(&[
            "sweep",
            &file,
            "--runs",
            "20",
            "--seed",
            seed,
            "--shard",
            &format!("{k}/2"),
            "-o",
            &path,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        path
    };
    let (a, b, c) = (shard(1, "1", "a.csv"), shard(2, "2", "b.csv"), shard(2, "1", "c.csv"));
    let e = usage_error(&["merge", &a, &b]);
    assert!(e.contains("different sweeps") && e.contains("`seed`") && e.contains("1 and 2"), "{e}");
    let e = usage_error(&["merge", &a]);
    assert!(e.contains("shard 2/2 is missing"), "{e}");
    let e = usage_error(&["merge", &a, &a]);
    assert!(e.contains("given twice"), "{e}");
    let other = temp_script("other.cascade", &MARKET.replace("24", "12"));
    let d = dir.join("d.csv").display().to_string();
    cascade(&["sweep", &other, "--runs", "20", "--seed", "1", "--shard", "2/2", "-o", &d]);
    let e = usage_error(&["merge", &a, &d]);
    assert!(e.contains("script (its SHA-256)"), "{e}");
    let merged = cascade(&["merge", &a, &c]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
}

#[test]
fn a_draw_in_a_let_is_refused_with_what_to_do() {
    let out = cascade(&["check", &temp_script("let.cascade", "let noise = normal(0, 1)\nvar x = noise")]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("cascade::check::misplaced_call"), "{e}");
    assert!(e.contains("cannot be used in a derived value"), "{e}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_what_finished_and_says_so() {
    let file = temp_script("long.cascade", HAZARD);
    let out_path = temp_dir().join("interrupted.csv");
    // The scratch folder outlives a run: a file left by the last one would
    // look like rows written before the handler is in place.
    let _ = std::fs::remove_file(&out_path);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["sweep", &file, "--runs", "100000000", "-o", out_path.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some paths are written, then press Ctrl-C.
    let started = std::time::Instant::now();
    while std::fs::metadata(&out_path).map_or(0, |m| m.len()) < 20_000 {
        assert!(started.elapsed().as_secs() < 60, "no rows after a minute");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut message = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut message).unwrap();
    assert_eq!(exit.code(), Some(130), "{message}");
    assert!(message.contains("interrupted: wrote the"), "{message}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let sidecar = std::fs::read_to_string(format!("{}.provenance.json", out_path.display())).unwrap();
    let document: serde_json::Value = serde_json::from_str(&sidecar).unwrap();
    let interrupted = &document["provenance"]["interrupted"];
    assert_eq!(interrupted["paths"], 100_000_000, "{sidecar}");
    let done = interrupted["done"].as_u64().unwrap() as usize;
    assert_eq!(text.lines().count(), done + 1, "header, rows");
    // Every row is a whole path, in order.
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    for (i, row) in reader.records().enumerate() {
        assert_eq!(row.unwrap().get(1).unwrap(), i.to_string());
    }
}

/// A CSV written with `-o` is only the table, as `cascade run` writes it: its
/// provenance is `FILE.provenance.json` beside it. Rows and summaries read
/// with a strict CSV reader (no comment lines, every row as wide as the header).
#[test]
fn a_csv_output_is_a_table_with_its_provenance_beside_it() {
    let file = temp_script("sidecar.cascade", MARKET);
    let dir = temp_dir();
    for (name, extra) in [("rows.csv", &[][..]), ("summary.csv", &["--summary"][..])] {
        let path = dir.join(name);
        let mut args = vec!["sweep", &file, "--runs", "40", "--seed", "5", "--record", "price"];
        args.extend(extra);
        args.extend(["-o", path.to_str().unwrap()]);
        let out = cascade(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains('#'), "{text}");
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
        let width = reader.headers().unwrap().len();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert!(rows.iter().all(|r| r.len() == width));
        assert_eq!(rows.len(), if extra.is_empty() { 40 } else { 3 }, "{name}");
        let sidecar = std::fs::read_to_string(format!("{}.provenance.json", path.display())).unwrap();
        let document: serde_json::Value = serde_json::from_str(&sidecar).unwrap();
        // The shape of `cascade run`'s: the provenance under `provenance`.
        assert_eq!(document.as_object().unwrap().keys().collect::<Vec<_>>(), ["provenance"], "{sidecar}");
        let provenance = &document["provenance"];
        assert_eq!(provenance["seed"], 5);
        assert_eq!(provenance["runs"], 40);
        assert_eq!(provenance["summary"], !extra.is_empty());
        assert_eq!(provenance["record"][0], "price");
        assert_eq!(provenance["sha256"].as_str().unwrap().len(), 64);
        assert!(provenance.get("interrupted").is_none());
    }
    // `--provenance FILE` puts it elsewhere, also for output on stdout.
    let elsewhere = dir.join("elsewhere.json");
    let out = cascade(&["sweep", &file, "--runs", "3", "--provenance", elsewhere.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("point,path,spot,"));
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&elsewhere).unwrap()).unwrap();
    assert_eq!(document["provenance"]["paths"], 3);
}

#[test]
fn merging_a_csv_shard_needs_its_provenance() {
    let file = temp_script("no_sidecar.cascade", MARKET);
    let dir = temp_dir();
    let mut shards = Vec::new();
    for k in 1..=2 {
        let path = dir.join(format!("lonely{k}.csv"));
        let out = cascade(&[
            "sweep",
            &file,
            "--runs",
            "6",
            "--shard",
            &format!("{k}/2"),
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        shards.push(path.display().to_string());
    }
    let merged = dir.join("merged.csv");
    let out = cascade(&["merge", &shards[0], &shards[1], "-o", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let whole = cascade(&["sweep", &file, "--runs", "6"]);
    assert_eq!(std::fs::read_to_string(&merged).unwrap(), stdout(&whole));
    let document: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.provenance.json", merged.display())).unwrap(),
    )
    .unwrap();
    let provenance = &document["provenance"];
    assert!(provenance.get("shard").is_none() && provenance["paths"] == 6, "{document}");
    // A sidecar written before sweeps' took the shape of runs' (the provenance
    // itself, not under `provenance`) still merges.
    let sidecar = format!("{}.provenance.json", shards[1]);
    let old: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sidecar).unwrap()).unwrap();
    std::fs::write(&sidecar, serde_json::to_string_pretty(&old["provenance"]).unwrap()).unwrap();
    let out = cascade(&["merge", &shards[0], &shards[1], "-o", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&merged).unwrap(), stdout(&whole));
    std::fs::remove_file(format!("{}.provenance.json", shards[1])).unwrap();
    let e = usage_error(&["merge", &shards[0], &shards[1]]);
    assert!(e.contains("has no provenance") && e.contains("lonely2.csv.provenance.json"), "{e}");
}

/// pandas reads a sweep's CSV without options (skipped, with a message, where
/// pandas is not installed).
#[test]
fn pandas_reads_the_sweep_csv_without_options() {
    let check = Command::new("python3").args(["-c", "import pandas"]).output();
    if !check.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 with pandas is not installed (pip install pandas)");
        return;
    }
    let file = temp_script("pandas.cascade", MARKET);
    let path = temp_dir().join("pandas.csv");
    let out = cascade(&["sweep", &file, "--runs", "25", "--record", "price", "-o", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let program = "import sys, pandas\ndf = pandas.read_csv(sys.argv[1])\nprint(len(df), list(df.columns)[:3], df['path'].max())";
    let result = Command::new("python3").args(["-c", program, path.to_str().unwrap()]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), "25 ['point', 'path', 'spot'] 24");
}

/// `:seed S` and `:path I` in the REPL reproduce row I of a sweep with seed S.
#[test]
fn the_repl_reproduces_a_row_of_a_sweep() {
    let file = "tests/repl/market.cascade";
    let rows =
        cascade(&["sweep", file, "--runs", "10", "--seed", "4", "--record", "price", "--record", "spot"]);
    assert_eq!(rows.status.code(), Some(0), "{}", stderr(&rows));
    let text = stdout(&rows);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row7 = reader.records().nth(7).unwrap().unwrap();
    let get = |name: &str| row7.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["repl", file])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", temp_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b":seed 4\n:path 7\n:run\nprice\nspot\nweak.defaulted_at\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let session = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<&str> =
        session.lines().filter(|l| !l.is_empty() && !l.starts_with("cascade[")).rev().take(3).collect();
    // `2.1095 (exactly 2.1095265112868)`: the exact value is the row's.
    let exact = |line: &str| match line.split_once(" (exactly ") {
        Some((_, exact)) => exact.trim_end_matches(')').to_string(),
        None => line.to_string(),
    };
    let weak = get("weak.defaulted_at");
    assert_eq!(exact(answers[2]), get("price"), "{session}");
    assert_eq!(exact(answers[1]), get("spot"), "{session}");
    assert_eq!(answers[0], if weak.is_empty() { "none" } else { weak.as_str() }, "{session}");
}

/// The data behind `--plot`: a 10% hazard per step defaults by step s with
/// probability 1 − 0.9^s; a random walk of N(0, 1) steps has, at step s, the
/// quantiles of N(0, s) (within four standard errors of a quantile).
#[test]
fn the_pictures_are_drawn_from_known_distributions() {
    let n = 4000;
    let program = compile(HAZARD);
    let sweep = program.sweep(&options(n)).unwrap();
    let mut summary = sweep.summary();
    sweep.run(2, None, |r| {
        summary.add(&r);
        ControlFlow::Continue(())
    });
    let curve = &summary.default_curves(0)[0];
    assert_eq!((curve.entity.as_str(), curve.paths), ("firm", n));
    for s in [1usize, 7, 20] {
        let expected = 1.0 - 0.9f64.powi(s as i32);
        let tol = tolerance((expected * (1.0 - expected)).sqrt(), n);
        assert!(
            (curve.by_step[s] - expected).abs() <= tol,
            "step {s}: {} is not {expected}",
            curve.by_step[s]
        );
    }
    assert_eq!(curve.by_step[0], 0.0);
    assert!(curve.by_step.windows(2).all(|w| w[0] <= w[1]), "a cumulative curve never falls");

    let walk = compile("scenario \"walk\" { horizon = 16 }\nvar x = 0\nwhile true then x += normal(0, 1)");
    let mut opts = options(n);
    opts.step_records = vec![String::from("x")];
    let sweep = walk.sweep(&opts).unwrap();
    let mut summary = sweep.summary();
    sweep.run(2, None, |r| {
        assert_eq!(r.step_values[0].len(), 17, "steps 0 to 16");
        summary.add(&r);
        ControlFlow::Continue(())
    });
    let fan = summary.fan(0, 0);
    assert_eq!(fan.len(), 17);
    assert_eq!(fan[0].quantiles.map(|q| q.unwrap().to_string()), ["0", "0", "0", "0", "0"].map(String::from));
    // Standard normal quantiles at 10, 25, 50, 75, 90% and their densities.
    let z = [-1.2816, -0.6745, 0.0, 0.6745, 1.2816];
    let density = [0.1755, 0.3178, 0.3989, 0.3178, 0.1755];
    let share = [0.1, 0.25, 0.5, 0.75, 0.9];
    for step in [4usize, 16] {
        let sd = (step as f64).sqrt();
        for k in 0..5 {
            let got: f64 = fan[step].quantiles[k].unwrap().to_string().parse().unwrap();
            let se = (share[k] * (1.0 - share[k]) / n as f64).sqrt() / density[k] * sd;
            assert!((got - z[k] * sd).abs() <= 4.0 * se, "step {step}, {}%: {got}", share[k] * 100.0);
        }
    }
}

/// `cascade run -o FILE.csv` and `cascade sweep -o FILE.csv` write their
/// provenance documents in one shape: `{ "provenance": { ... } }` (a run adds
/// how it ended and its expectations), the same provenance keys for the same
/// script and data, the data files with their paths and SHA-256.
#[test]
fn a_run_and_a_sweep_write_provenance_documents_of_one_shape() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/counterparties/counterparties.cascade");
    let dir = temp_dir();
    let (run, sweep) = (dir.join("shape-run.csv"), dir.join("shape-sweep.csv"));
    let out = cascade(&["run", script, "--format", "csv", "-o", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = cascade(&["sweep", script, "--runs", "2", "-o", sweep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let read = |path: &std::path::Path| -> serde_json::Value {
        let text = std::fs::read_to_string(format!("{}.provenance.json", path.display())).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let (run, sweep) = (read(&run), read(&sweep));
    let keys = |v: &serde_json::Value| {
        let mut keys = v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        keys.sort();
        keys
    };
    assert_eq!(keys(&run), ["end", "expectations", "provenance"], "{run}");
    assert_eq!(keys(&sweep), ["provenance"], "{sweep}");
    for key in ["engine", "file", "sha256", "data", "horizon"] {
        assert_eq!(run["provenance"][key], sweep["provenance"][key], "{key}: {run} {sweep}");
    }
    let data = sweep["provenance"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{sweep}");
    assert!(data.iter().all(|f| f["sha256"].as_str().unwrap().len() == 64 && f["path"].is_string()));
}

/// `cascade merge` reads a bounded amount of each shard: a device that never
/// ends is refused, and a file longer than `--max-input-bytes` is refused,
/// saying how to raise the limit.
#[test]
fn merging_reads_only_files_and_pipes_within_the_limit() {
    let e = usage_error(&["merge", "/dev/zero"]);
    assert!(e.contains("not a regular file or a pipe"), "{e}");
    let file = temp_script("long.csv", &"x".repeat(300));
    let e = usage_error(&["merge", &file, "--max-input-bytes", "100"]);
    assert!(e.contains("longer than 100 bytes") && e.contains("--max-input-bytes"), "{e}");
    let e = usage_error(&["merge", &file, "--max-input-bytes", "4294967296"]);
    assert!(e.contains("--max-input-bytes"), "{e}");
}

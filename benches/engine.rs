//! Benchmarks (issue 8): how fast Cascade parses and checks, how it compares with
//! hand-written Rust on the same scenarios, and what a quiet step costs.
//!
//! - `parse_check/interbank/N`: `check_source` on a generated interbank script of
//!   N banks with 10 exposures each (throughput in MB/s); `parse_check/fire_sale/N`
//!   the same on a fire sale of N lessors, and `parse_check/hand_written/1` on the
//!   hand-written `examples/ai_compute_credit.cascade` (which the parser's fast
//!   path for generated lines does not cover);
//! - `interbank/{interpreter,interpreter_provenance,baseline}/N` and the same for
//!   `fire_sale`: a whole run (start, every step to the horizon, drop), from a
//!   compiled program for the interpreter and from the generated data for the
//!   baseline (`support/baseline.rs`, which `tests/baseline.rs` proves equal);
//! - `quiet_step/{interpreter,interpreter_provenance}/N`: one step of a world of N
//!   entities in which one entity changes per step.
//!
//! Sizes: `CASCADE_BENCH_SIZES` (default `1000,10000,100000`). Times are the CPU
//! time of the benchmarking thread (`CLOCK_THREAD_CPUTIME_ID`), so that other load
//! on a shared machine does not count; `CASCADE_BENCH_CLOCK=wall` measures wall
//! time instead. After the benchmarks a summary prints the medians of this run as
//! ratios interpreter ÷ baseline. `BENCHMARKS.md` says how to run them and what
//! they measured.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/gen.rs"]
mod scenarios;

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use cascade::{Engine, Program, Run};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

const DEGREE: usize = 10;
const SEED: u64 = 1;
/// Steps a quiet run takes before the benchmark starts a fresh one (untimed), so
/// that the trace does not grow without bound.
const QUIET_STEPS_PER_RUN: u64 = 100_000;

fn main() {
    STARTED.get_or_init(SystemTime::now);
    let clock = Clock { wall: std::env::var("CASCADE_BENCH_CLOCK").is_ok_and(|v| v == "wall") };
    let mut c = Criterion::default().with_measurement(clock).configure_from_args();
    let sizes = sizes();
    parse_check(&mut c, &sizes);
    load_csv(&mut c, &sizes);
    runs(&mut c, &sizes);
    quiet_steps(&mut c, clock, &sizes);
    c.final_summary();
    summary(&sizes);
}

fn sizes() -> Vec<usize> {
    let text = std::env::var("CASCADE_BENCH_SIZES").unwrap_or_else(|_| String::from("1000,10000,100000"));
    let sizes: Vec<usize> = text.split(',').filter_map(|s| s.trim().replace('_', "").parse().ok()).collect();
    assert!(!sizes.is_empty(), "CASCADE_BENCH_SIZES: expected sizes like `1000,10000`, got `{text}`");
    sizes
}

/// The benchmarks that ran in this process (the rest may be filtered out).
static RAN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn ran(id: String) {
    RAN.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
}

fn compile(script: &str, name: &str, provenance: bool) -> Program {
    // The generated worlds are larger than the engine reads by default (16 MiB).
    match Engine::new().provenance(provenance).max_source_bytes(1 << 30).compile(script, name) {
        Ok(program) => program,
        Err(e) => panic!("{name} does not compile: {e}"),
    }
}

fn run_to_end(program: &Program) -> Run {
    let mut run = program.run().expect("the run starts");
    run.run_to_end().expect("the run ends cleanly");
    run
}

fn parse_check(c: &mut Criterion<Clock>, sizes: &[usize]) {
    let mut group = c.benchmark_group("parse_check");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let mut scripts = vec![(String::from("hand_written"), 1, hand_written_script())];
    for &n in sizes {
        scripts.push((String::from("interbank"), n, scenarios::interbank(n, DEGREE, 1, SEED).script()));
        scripts.push((String::from("fire_sale"), n, scenarios::fire_sale(n, 3, SEED).script()));
    }
    for (name, n, script) in &scripts {
        group.throughput(Throughput::BytesDecimal(script.len() as u64));
        group.bench_with_input(BenchmarkId::new(name.as_str(), n), script, |b, script| {
            ran(format!("parse_check/{name}/{n}"));
            b.iter(|| {
                let diagnostics = cascade::check_source(script, "bench.cascade");
                assert!(!diagnostics.has_errors());
                diagnostics
            })
        });
    }
    group.finish();
}

/// The interbank network loaded from CSV files (`entities Bank from
/// "banks.csv"`, `exposures from "exposures.csv"`): compiling with the data
/// (reading the CSV, building entities and exposures, checking), against the
/// baseline reading the same CSV into its vectors. Reported as MB/s of CSV.
fn load_csv(c: &mut Criterion<Clock>, sizes: &[usize]) {
    let mut group = c.benchmark_group("load_csv");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for &n in sizes {
        let world = scenarios::interbank(n, DEGREE, 1, SEED);
        let (script, banks, exposures) = world.csv();
        group.throughput(Throughput::BytesDecimal((banks.len() + exposures.len()) as u64));
        let (b2, x2) = (banks.clone(), exposures.clone());
        let engine = cascade::Engine::new().provenance(false).loader(move |name: &str, _: &str| match name {
            "banks.csv" => Ok(cascade::DataFile::new(name, b2.clone())),
            _ => Ok(cascade::DataFile::new(name, x2.clone())),
        });
        group.bench_function(BenchmarkId::new("interpreter", n), |b| {
            ran(format!("load_csv/interpreter/{n}"));
            b.iter(|| engine.compile(&script, "bench.cascade").expect("it compiles"))
        });
        group.bench_function(BenchmarkId::new("baseline", n), |b| {
            ran(format!("load_csv/baseline/{n}"));
            b.iter(|| {
                baseline::read_interbank_csv(banks.as_bytes(), exposures.as_bytes(), &world)
                    .expect("it reads")
            })
        });
    }
    group.finish();
}

/// The flagship example: hand-written, with rules, strings and comments.
fn hand_written_script() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ai_compute_credit.cascade");
    std::fs::read_to_string(path).expect("the flagship example")
}

fn runs(c: &mut Criterion<Clock>, sizes: &[usize]) {
    {
        let mut group = c.benchmark_group("interbank");
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        for &n in sizes {
            let world = OnceCell::new();
            let world = || world.get_or_init(|| scenarios::interbank(n, DEGREE, 1, SEED));
            for provenance in [false, true] {
                let program = OnceCell::new();
                let name = if provenance { "interpreter_provenance" } else { "interpreter" };
                group.bench_function(BenchmarkId::new(name, n), |b| {
                    ran(format!("interbank/{name}/{n}"));
                    let program =
                        program.get_or_init(|| compile(&world().script(), "interbank.cascade", provenance));
                    b.iter(|| run_to_end(program))
                });
            }
            group.bench_function(BenchmarkId::new("baseline", n), |b| {
                ran(format!("interbank/baseline/{n}"));
                let world = world();
                b.iter(|| baseline::run_interbank(world))
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("fire_sale");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for &n in sizes {
        let world = OnceCell::new();
        let world = || world.get_or_init(|| scenarios::fire_sale(n, 3, SEED));
        for provenance in [false, true] {
            let program = OnceCell::new();
            let name = if provenance { "interpreter_provenance" } else { "interpreter" };
            group.bench_function(BenchmarkId::new(name, n), |b| {
                ran(format!("fire_sale/{name}/{n}"));
                let program =
                    program.get_or_init(|| compile(&world().script(), "fire_sale.cascade", provenance));
                b.iter(|| run_to_end(program))
            });
        }
        group.bench_function(BenchmarkId::new("baseline", n), |b| {
            ran(format!("fire_sale/baseline/{n}"));
            let world = world();
            b.iter(|| baseline::run_fire_sale(world))
        });
    }
    group.finish();
}

/// A quiet run past its first step (which looks at every instance once).
struct Quiet {
    run: Run,
    steps: u64,
}

impl Quiet {
    fn start(program: &Program) -> Quiet {
        let mut run = program.run().expect("the quiet world starts");
        run.step().expect("the first step runs");
        Quiet { run, steps: 1 }
    }
}

fn quiet_steps(c: &mut Criterion<Clock>, clock: Clock, sizes: &[usize]) {
    let mut group = c.benchmark_group("quiet_step");
    for &n in sizes {
        for provenance in [false, true] {
            let name = if provenance { "interpreter_provenance" } else { "interpreter" };
            let program = OnceCell::new();
            let mut quiet: Option<Quiet> = None;
            group.bench_function(BenchmarkId::new(name, n), |b| {
                ran(format!("quiet_step/{name}/{n}"));
                let program = program.get_or_init(|| {
                    compile(&scenarios::quiet(n, 1_000_000, SEED), "quiet.cascade", provenance)
                });
                b.iter_custom(|iters| {
                    let mut total = 0;
                    let mut left = iters;
                    while left > 0 {
                        let q = match &mut quiet {
                            Some(q) if q.steps < QUIET_STEPS_PER_RUN => q,
                            _ => quiet.insert(Quiet::start(program)),
                        };
                        let chunk = left.min(QUIET_STEPS_PER_RUN - q.steps);
                        let start = clock.start();
                        for _ in 0..chunk {
                            black_box(q.run.step().expect("a quiet step runs"));
                        }
                        total += clock.end(start);
                        q.steps += chunk;
                        left -= chunk;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// The summary: medians of this run, read back from criterion's estimates.

fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("criterion")
}

/// When this process started: estimates older than that are from another run.
static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// The median of a benchmark that ran in this process, in nanoseconds.
fn median(id: &str) -> Option<f64> {
    if !RAN.lock().unwrap_or_else(|e| e.into_inner()).contains(id) {
        return None;
    }
    let path = criterion_home().join(id).join("new").join("estimates.json");
    let written = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if written < *STARTED.get()? {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.3} s", ns / 1e9),
    }
}

fn summary(sizes: &[usize]) {
    let mut lines = Vec::new();
    let mut parsed = vec![("hand_written", 1, hand_written_script().len())];
    for &n in sizes {
        parsed.push(("interbank", n, scenarios::interbank(n, DEGREE, 1, SEED).script().len()));
        parsed.push(("fire_sale", n, scenarios::fire_sale(n, 3, SEED).script().len()));
    }
    for (name, n, bytes) in parsed {
        if let Some(ns) = median(&format!("parse_check/{name}/{n}")) {
            let bytes = bytes as f64;
            lines.push(format!(
                "parse_check {name:<12} {n:>7}: {:>7.2} MB in {:>10} = {:.2} MB/s",
                bytes / 1e6,
                time(ns),
                bytes / 1e6 / (ns / 1e9)
            ));
        }
    }
    // "x12.0 from 10000": how a median grew from the size before.
    let growth = |id: &dyn Fn(usize) -> String, i: usize, ns: f64| {
        let before = sizes[..i].iter().rev().find_map(|&m| median(&id(m)).map(|v| (m, v)));
        before.map_or_else(String::new, |(m, v)| format!("x{:.2} from {m}", ns / v))
    };
    for scenario in ["interbank", "fire_sale"] {
        for (i, &n) in sizes.iter().enumerate() {
            let Some(base) = median(&format!("{scenario}/baseline/{n}")) else { continue };
            let base_growth = growth(&|m| format!("{scenario}/baseline/{m}"), i, base);
            for name in ["interpreter", "interpreter_provenance"] {
                if let Some(interp) = median(&format!("{scenario}/{name}/{n}")) {
                    let interp_growth = growth(&|m| format!("{scenario}/{name}/{m}"), i, interp);
                    lines.push(format!(
                        "{scenario:<9} {n:>7}: {name:<22} {:>10} / baseline {:>10} = {:>6.2}x   {interp_growth:>16} {base_growth:>16}",
                        time(interp),
                        time(base),
                        interp / base
                    ));
                }
            }
        }
    }
    for name in ["interpreter", "interpreter_provenance"] {
        for (i, &n) in sizes.iter().enumerate() {
            let Some(ns) = median(&format!("quiet_step/{name}/{n}")) else { continue };
            let grew = growth(&|m| format!("quiet_step/{name}/{m}"), i, ns);
            lines.push(format!("quiet_step {name:<22} {n:>7} entities: {:>10} per step   {grew}", time(ns)));
        }
    }
    if lines.is_empty() {
        return;
    }
    let clock =
        if std::env::var("CASCADE_BENCH_CLOCK").is_ok_and(|v| v == "wall") { "wall" } else { "thread CPU" };
    println!("\nSummary: medians of this run ({clock} time); ratios are interpreter ÷ baseline");
    for line in lines {
        println!("  {line}");
    }
}

// ---------------------------------------------------------------------------
// The clock: CPU time of this thread, or wall time.

#[derive(Clone, Copy, Debug)]
struct Clock {
    wall: bool,
}

impl Clock {
    fn now(self) -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        if self.wall {
            return EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64;
        }
        thread_cpu_ns().unwrap_or_else(|| EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64)
    }
}

/// CPU time of the calling thread (user and system), in nanoseconds.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut time = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `struct timespec`, which on 64-bit Linux is
    // two 64-bit integers, laid out as `Timespec`.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (status == 0).then(|| time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

impl Measurement for Clock {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.now()
    }
    fn end(&self, start: u64) -> u64 {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanoseconds like criterion's wall-clock formatter.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        for v in values.iter_mut() {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(&self, typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let (per_iteration, base, units): (f64, f64, [&str; 4]) = match *throughput {
            Throughput::Bytes(b) => (b as f64, 1024.0, ["B/s", "KiB/s", "MiB/s", "GiB/s"]),
            Throughput::BytesDecimal(b) => (b as f64, 1000.0, ["B/s", "KB/s", "MB/s", "GB/s"]),
            Throughput::Bits(b) => (b as f64, 1000.0, ["b/s", "Kb/s", "Mb/s", "Gb/s"]),
            Throughput::Elements(e) | Throughput::ElementsAndBytes { elements: e, .. } => {
                (e as f64, 1000.0, ["elem/s", "Kelem/s", "Melem/s", "Gelem/s"])
            }
        };
        let typical_rate = per_iteration * 1e9 / typical;
        let mut level = 0;
        while level < 3 && typical_rate >= base.powi(level as i32 + 1) {
            level += 1;
        }
        let denominator = base.powi(level as i32);
        for v in values.iter_mut() {
            *v = per_iteration * 1e9 / *v / denominator;
        }
        units[level]
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

//! Writes the generated benchmark scenarios as `.cascade` scripts, or runs them.
//!
//! ```text
//! cargo run --release --example gen -- interbank --banks 1000 --degree 10 --seed 1 > interbank.cascade
//! cargo run --release --example gen -- fire-sale --lessors 1000 --seed 1 > fire_sale.cascade
//! cargo run --release --example gen -- quiet --entities 10000 --seed 1 > quiet.cascade
//! cargo run --release --example gen -- clearing --banks 1000 --degree 5 --seed 1 > clearing.cascade
//! ```
//!
//! With `--run interpreter` or `--run baseline` it runs the scenario instead (in
//! this process: the interpreter through the public API, without provenance, or
//! the hand-written baseline of `benches/support/baseline.rs`) and prints a short
//! summary; `BENCHMARKS.md` measures the peak memory of these commands. With
//! `--explain TARGET` (repeatable) the interpreter's run is then explained
//! (`Run::explain_tree`, depth 8) and the time of each explanation printed;
//! `last-default` names the entity that defaulted last, `survivor` the first
//! entity that did not default.

#[path = "../benches/support/baseline.rs"]
mod baseline;
#[path = "../benches/support/gen.rs"]
mod scenarios;

use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: gen interbank [--banks N] [--degree D] [--shocks K] [--seed S] [--run interpreter|baseline] [--provenance] [--explain TARGET]...
       gen interbank [--banks N] ... --csv DIR [--run baseline-csv]
       gen fire-sale [--lessors N] [--shocks K] [--seed S] [--run interpreter|baseline] [--provenance] [--explain TARGET]...
       gen quiet [--entities N] [--horizon H] [--seed S] [--run interpreter] [--provenance]
       gen clearing [--banks N] [--degree D] [--horizon H] [--seed S] [--nested]

Prints a reproducible .cascade script on standard output. Defaults: 1000 banks,
lessors or entities; degree 10; 1 shock (interbank) or 3 (fire-sale); seed 1;
horizon 1000 (quiet). With --run, runs the scenario instead and prints a summary.
With --explain (and --run interpreter), explains TARGET after the run and prints
how long that took; TARGET `last-default` is the entity that defaulted last,
`survivor` the first that did not default.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Interbank,
    FireSale,
    Quiet,
    Clearing,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Runner {
    Print,
    Interpreter,
    Baseline,
    /// The baseline reading the network from the CSV files in `--csv DIR`.
    BaselineCsv,
}

struct Options {
    scenario: Scenario,
    size: usize,
    degree: usize,
    shocks: Option<usize>,
    seed: u64,
    horizon: u64,
    runner: Runner,
    provenance: bool,
    explain: Vec<String>,
    /// With `--csv DIR`: write the interbank network there as a script and two
    /// CSV files (or, with `--run baseline-csv`, read them from there).
    csv: Option<std::path::PathBuf>,
    /// `clearing`: the O(banks²) inflow formula instead of `x.debtor.pay`.
    nested: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let (first, rest) =
        args.split_first().ok_or("missing the scenario: interbank, fire-sale, quiet or clearing")?;
    let scenario = match first.as_str() {
        "interbank" => Scenario::Interbank,
        "fire-sale" | "fire_sale" => Scenario::FireSale,
        "quiet" => Scenario::Quiet,
        "clearing" => Scenario::Clearing,
        "-h" | "--help" => return Err(String::new()),
        other => {
            return Err(format!(
                "unknown scenario `{other}`: expected interbank, fire-sale, quiet or clearing"
            ));
        }
    };
    let mut options = Options {
        scenario,
        size: 1000,
        degree: 10,
        shocks: None,
        seed: 1,
        horizon: 1000,
        runner: Runner::Print,
        provenance: false,
        explain: Vec::new(),
        csv: None,
        nested: false,
    };
    if scenario == Scenario::Clearing {
        options.degree = 5;
        options.horizon = 20;
    }
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        if flag == "--provenance" {
            options.provenance = true;
            continue;
        }
        if flag == "--nested" && scenario == Scenario::Clearing {
            options.nested = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = rest.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        let number =
            || value.parse::<u64>().map_err(|_| format!("`{flag}` needs a whole number, not `{value}`"));
        match (scenario, flag.as_str()) {
            (Scenario::Interbank, "--banks")
            | (Scenario::FireSale, "--lessors" | "--banks")
            | (Scenario::Quiet, "--entities")
            | (Scenario::Clearing, "--banks") => {
                options.size = number()? as usize;
            }
            (Scenario::Interbank | Scenario::Clearing, "--degree") => options.degree = number()? as usize,
            (Scenario::Interbank | Scenario::FireSale, "--shocks") => {
                options.shocks = Some(number()? as usize)
            }
            (Scenario::Quiet | Scenario::Clearing, "--horizon") => options.horizon = number()?,
            (_, "--seed") => options.seed = number()?,
            (Scenario::Interbank | Scenario::FireSale, "--explain") => options.explain.push(value.clone()),
            (Scenario::Interbank, "--csv") => options.csv = Some(std::path::PathBuf::from(value)),
            (_, "--run") => {
                options.runner = match value.as_str() {
                    "interpreter" => Runner::Interpreter,
                    "baseline-csv" if scenario == Scenario::Interbank => Runner::BaselineCsv,
                    "baseline" if !matches!(scenario, Scenario::Quiet | Scenario::Clearing) => {
                        Runner::Baseline
                    }
                    "baseline" => return Err(String::from("this scenario has no baseline")),
                    other => return Err(format!("`--run` takes interpreter or baseline, not `{other}`")),
                }
            }
            _ => return Err(format!("unknown option `{flag}` for this scenario")),
        }
    }
    if !options.explain.is_empty() && options.runner != Runner::Interpreter {
        return Err(String::from("`--explain` needs `--run interpreter`"));
    }
    let minimum = if matches!(scenario, Scenario::Interbank | Scenario::Clearing) { 2 } else { 1 };
    if options.size < minimum {
        return Err(format!("the world needs at least {minimum} entities"));
    }
    Ok(options)
}

/// `--csv DIR`: writes `interbank.cascade`, `banks.csv` and `exposures.csv`
/// into DIR, or with `--run baseline-csv` reads the CSV files and runs the
/// baseline on them (the whole-command baseline of `BENCHMARKS.md`).
fn csv(o: &Options, dir: &std::path::Path) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    match o.runner {
        Runner::Print => {
            let world = scenarios::interbank(o.size, o.degree, o.shocks.unwrap_or(1), o.seed);
            let (script, banks, exposures) = world.csv();
            std::fs::create_dir_all(dir).map_err(io)?;
            std::fs::write(dir.join("interbank.cascade"), script).map_err(io)?;
            std::fs::write(dir.join("banks.csv"), banks).map_err(io)?;
            std::fs::write(dir.join("exposures.csv"), exposures).map_err(io)?;
            Ok(())
        }
        Runner::BaselineCsv => {
            let start = Timer::start();
            let banks = std::fs::read(dir.join("banks.csv")).map_err(io)?;
            let exposures = std::fs::read(dir.join("exposures.csv")).map_err(io)?;
            // The shocks and the horizon are in the script: `at 1 then default(b7)`, `horizon = 3`.
            let script = std::fs::read_to_string(dir.join("interbank.cascade")).map_err(io)?;
            let mut like = scenarios::Interbank {
                seed: o.seed,
                degree: o.degree,
                capital_k: Vec::new(),
                exposures: Vec::new(),
                shocks: Vec::new(),
                horizon: 1,
            };
            for line in script.lines() {
                if let Some(rest) = line.strip_prefix("at ")
                    && let Some((step, bank)) = rest.split_once(" then default(b")
                {
                    let bank = bank.trim_end_matches(')');
                    like.shocks.push((
                        step.parse().map_err(|_| "bad shock")?,
                        bank.parse().map_err(|_| "bad shock")?,
                    ));
                }
                if let Some((_, h)) = line.split_once("horizon = ") {
                    like.horizon = h.trim_end_matches(" }").trim().parse().map_err(|_| "bad horizon")?;
                }
            }
            let read = baseline::read_interbank_csv(&banks, &exposures, &like)?;
            let loaded = start.elapsed();
            let result = baseline::run_interbank(&read);
            println!(
                "baseline from CSV: {} of {} banks defaulted; read {loaded}, total {}{}",
                result.defaults.len(),
                read.banks(),
                start.elapsed(),
                memory()
            );
            Ok(())
        }
        _ => Err(String::from("with --csv, --run takes only baseline-csv (run the script with `cascade`)")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("gen: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen: {message}");
            ExitCode::from(1)
        }
    }
}

fn run(o: &Options) -> Result<(), String> {
    if let Some(dir) = &o.csv {
        return csv(o, dir);
    }
    match (o.scenario, o.runner) {
        (Scenario::Interbank, Runner::Baseline) => {
            let world = scenarios::interbank(o.size, o.degree, o.shocks.unwrap_or(1), o.seed);
            let start = Timer::start();
            let result = baseline::run_interbank(&world);
            let time = start.elapsed();
            println!(
                "baseline: {} of {} banks defaulted; run {time}{}",
                result.defaults.len(),
                o.size,
                memory()
            );
            Ok(())
        }
        (Scenario::FireSale, Runner::Baseline) => {
            let world = scenarios::fire_sale(o.size, o.shocks.unwrap_or(3), o.seed);
            let start = Timer::start();
            let result = baseline::run_fire_sale(&world);
            let time = start.elapsed();
            println!(
                "baseline: {} of {} lessors defaulted, price {}, {} firings; run {time}{}",
                result.defaults.len(),
                o.size,
                result.price.normalize(),
                result.firings.iter().sum::<u64>(),
                memory()
            );
            Ok(())
        }
        (_, runner) => {
            let script = match o.scenario {
                Scenario::Interbank => {
                    scenarios::interbank(o.size, o.degree, o.shocks.unwrap_or(1), o.seed).script()
                }
                Scenario::FireSale => scenarios::fire_sale(o.size, o.shocks.unwrap_or(3), o.seed).script(),
                Scenario::Quiet => scenarios::quiet(o.size, o.horizon, o.seed),
                Scenario::Clearing => scenarios::clearing(o.size, o.degree, o.horizon, o.seed, o.nested),
            };
            if runner == Runner::Print {
                print!("{script}");
                return Ok(());
            }
            interpret(o, &script)
        }
    }
}

fn interpret(o: &Options, script: &str) -> Result<(), String> {
    let render = |e: cascade::Error| match e.diagnostics() {
        Some(d) => d.render(cascade::RenderStyle::Plain),
        None => e.to_string(),
    };
    let start = Timer::start();
    // The generated worlds are larger than the engine reads by default (16 MiB).
    let program = cascade::Engine::new()
        .provenance(o.provenance)
        .max_source_bytes(1 << 30)
        .compile(script, "generated.cascade")
        .map_err(render)?;
    let compiled = start.elapsed();
    let after_compile = memory();
    let start = Timer::start();
    let mut run = program.run().map_err(render)?;
    let mut firings = 0;
    while let Some(summary) = run.step().map_err(render)? {
        firings += summary.firings;
    }
    let time = start.elapsed();
    let defaults = run.events().iter().filter(|e| e.kind == cascade::EventKind::Default).count();
    let mut line = format!("interpreter: {defaults} of {} entities defaulted, {firings} firings", o.size);
    if o.scenario == Scenario::FireSale {
        let price = run.value("price").map_err(render)?;
        line.push_str(&format!(", price {price}"));
    }
    println!(
        "{line}; {} steps; compile {compiled}{after_compile}; run {time}{}",
        run.current_step(),
        memory()
    );
    for target in &o.explain {
        let events = run.events();
        let defaulted =
            |name: &str| events.iter().any(|e| e.kind == cascade::EventKind::Default && e.text == name);
        let prefix = if o.scenario == Scenario::Interbank { "b" } else { "l" };
        let name = match target.as_str() {
            "last-default" => {
                events.iter().rev().find(|e| e.kind == cascade::EventKind::Default).map(|e| e.text.clone())
            }
            "survivor" => (0..o.size).map(|i| format!("{prefix}{i}")).find(|n| !defaulted(n)),
            other => Some(other.to_string()),
        }
        .ok_or_else(|| format!("no entity for `--explain {target}`"))?;
        let start = Timer::start();
        let explanation = run.explain_tree(&name, 8).map_err(render)?;
        let time = start.elapsed();
        let lines = explanation.to_text().lines().count();
        println!("explain {name}: {lines} lines in {time}{}", memory());
    }
    Ok(())
}

/// Wall time and this thread's CPU time (which other load on the machine does not
/// inflate), where the system says (Linux).
struct Timer {
    wall: Instant,
    cpu: Option<u64>,
}

impl Timer {
    fn start() -> Timer {
        Timer { wall: Instant::now(), cpu: thread_cpu_ns() }
    }

    fn elapsed(&self) -> String {
        let wall = self.wall.elapsed().as_secs_f64();
        match (self.cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.3} s CPU ({wall:.3} s wall)", (b - a) as f64 / 1e9),
            _ => format!("{wall:.3} s wall"),
        }
    }
}

/// The CPU time of this thread so far, in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// ` (peak N MB, now M MB)`: this process's peak and current resident memory,
/// where the system says (Linux), to tell the memory of compiling from that of running.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return String::new() };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (field("VmHWM:"), field("VmRSS:")) {
        (Some(peak), Some(now)) => format!(" (peak {} MB, now {} MB)", peak / 1024, now / 1024),
        _ => String::new(),
    }
}

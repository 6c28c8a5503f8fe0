//! `cascade run | check | test` (and the commands that follow them).
//!
//! Exit codes: 0 ok, 1 problems in a script (check time, run time, failed
//! expectations), 2 usage and I/O errors (bad flags, missing files, output
//! that cannot be written). Everything is printed through `out`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod data;
mod graph;
mod interrupt;
mod out;
mod output;
mod plot;
mod repl;
mod stress;
mod sweep;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use cascade::{Diagnostics, Engine, Error, Program, RenderStyle, Run};

#[derive(Parser)]
#[command(name = "cascade", version, about = "Run contagion scenarios written in the Cascade language")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Limits {
    /// At most this many steps per run.
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,
    /// At most this many rule firings in one step.
    #[arg(long, value_name = "N")]
    max_firings_per_step: Option<u64>,
    /// At most this many evaluation operations per run.
    #[arg(long, value_name = "N")]
    max_fuel: Option<u64>,
    /// At most this many rule instances.
    #[arg(long, value_name = "N")]
    max_instances: Option<u64>,
    /// Brackets may nest at most this deep (at most 256).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::syntax::NESTING_CEILING))]
    max_nesting: Option<usize>,
    /// An expression may be at most this many operations deep (at most 1024).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::syntax::EXPR_DEPTH_CEILING))]
    max_expression_depth: Option<usize>,
    /// At most this many entities.
    #[arg(long, value_name = "N")]
    max_entities: Option<usize>,
    /// At most this many exposures.
    #[arg(long, value_name = "N")]
    max_exposures: Option<usize>,
    /// Read the data file the script names NAME (`entities Bank from "NAME"`)
    /// from PATH instead of beside the script (repeatable).
    #[arg(long = "data", value_name = "NAME=PATH")]
    data: Vec<String>,
    /// Keep at most this many records (firings, values read, changes) in a run's trace.
    #[arg(long, value_name = "N")]
    max_trace: Option<u64>,
    /// Read at most this many bytes of script.
    #[arg(long, value_name = "N")]
    max_source_bytes: Option<usize>,
    /// Read at most this many bytes from one data file.
    #[arg(long, value_name = "N")]
    max_data_bytes: Option<usize>,
}

/// How much a command says about its script besides its output.
#[derive(clap::Args, Clone, Copy)]
struct Verbosity {
    /// Show every warning in full (by default a one-line count; `check` always shows them).
    #[arg(long)]
    warnings: bool,
}

/// A `--max-...` value of at most `ceiling`: the engine would count a larger
/// one as `ceiling`, so it is refused rather than silently lowered.
fn at_most(ceiling: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=ceiling as u64)
}

impl Limits {
    /// The engine with these limits and the file loader, and the loader (to
    /// ask which `--data` names were used).
    fn engine_with_data(&self) -> Result<(Engine, std::sync::Arc<data::FileLoader>), Failure> {
        let loader = data::FileLoader::new(&self.data, self.data_bytes()).map_err(|message| {
            out::err(&format!("error: {message}\n"));
            Failure::Usage
        })?;
        Ok((self.engine().loader(data::Shared(loader.clone())), loader))
    }

    /// The engine with these limits and the file loader.
    fn engine(&self) -> Engine {
        match data::FileLoader::new(&self.data, self.data_bytes()) {
            Ok(loader) => self.engine_limits().loader(data::Shared(loader)),
            Err(_) => self.engine_limits(),
        }
    }

    fn data_bytes(&self) -> usize {
        self.max_data_bytes.unwrap_or(cascade::DataFile::DEFAULT_MAX_BYTES)
    }

    fn engine_limits(&self) -> Engine {
        let mut engine = Engine::new();
        if let Some(n) = self.max_steps {
            engine = engine.max_steps(n);
        }
        if let Some(n) = self.max_firings_per_step {
            engine = engine.max_firings_per_step(n);
        }
        if let Some(n) = self.max_fuel {
            engine = engine.max_fuel(n);
        }
        if let Some(n) = self.max_instances {
            engine = engine.max_instances(n);
        }
        if let Some(n) = self.max_nesting {
            engine = engine.max_nesting(n);
        }
        if let Some(n) = self.max_expression_depth {
            engine = engine.max_expression_depth(n);
        }
        if let Some(n) = self.max_entities {
            engine = engine.max_entities(n);
        }
        if let Some(n) = self.max_exposures {
            engine = engine.max_exposures(n);
        }
        if let Some(n) = self.max_trace {
            engine = engine.max_trace(n);
        }
        if let Some(n) = self.max_source_bytes {
            engine = engine.max_source_bytes(n);
        }
        engine.max_data_bytes(self.data_bytes())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print its timeline and final state (or its trace).
    Run {
        /// The script.
        file: PathBuf,
        /// Override a param: `--set holding_cost=2.8` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// Run this many steps instead of the scenario's horizon.
        #[arg(long, value_name = "N")]
        horizon: Option<u64>,
        /// Output format: text, json (one document), jsonl (JSON Lines, one
        /// line per step) or csv (a header line, then one row per step).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// CSV layout: wide (a column per value) or long (a row per step and value).
        #[arg(long, value_enum, default_value_t = output::Layout::Wide)]
        layout: output::Layout,
        /// Write only the values whose names match (`rent`, `*.defaulted`,
        /// `b*.capital`; `*` is any run of characters; repeatable, or comma-separated).
        #[arg(long = "select", value_name = "PATTERN")]
        select: Vec<String>,
        /// Write the output to FILE instead of standard output; with CSV, the
        /// provenance and the expectations' results go to FILE.provenance.json beside it.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write the provenance (script, data files, their SHA-256, params), how
        /// the run ended and the expectations' results as JSON to FILE.
        #[arg(long = "provenance", value_name = "FILE")]
        provenance: Option<PathBuf>,
        /// In text output, list every change of a stored value, not only events.
        #[arg(long)]
        changes: bool,
        #[command(flatten)]
        random: Random,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        verbosity: Verbosity,
    },
    /// Check scripts and print their diagnostics, without running them.
    Check {
        /// The scripts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Run a scenario, then explain why TARGET happened (or why not).
    Explain {
        /// The script.
        file: PathBuf,
        /// An entity (its default), `entity.field` or a var, optionally `@STEP` or `@DATE`.
        target: String,
        /// Override a param: `--set holding_cost=2.8` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// Follow causes this many levels back.
        #[arg(long, default_value_t = 8)]
        depth: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        #[command(flatten)]
        random: Random,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        verbosity: Verbosity,
    },
    /// Print the dependency graph and its feedback loops.
    Graph {
        /// The script.
        file: PathBuf,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = graph::FORMATS)]
        format: String,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        verbosity: Verbosity,
    },
    /// Run scripts and report every `expect` and `assert`.
    Test {
        /// The scripts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        verbosity: Verbosity,
    },
    /// Run a scenario and draw chosen values over the steps, with its events marked.
    Plot {
        /// The script.
        file: PathBuf,
        /// Vars, lets, series, params or `entity.field`; `*` matches any text
        /// (`coreweave.*`, `'*.cash'`). None: the vars and lets, and the
        /// entities' cash when there are few.
        names: Vec<String>,
        /// The picture to write: `FILE.svg`, `FILE.png`, or `-` for SVG on stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Run a scenario and write one self-contained HTML report of it.
    Report {
        /// The script.
        file: PathBuf,
        /// Add a Monte Carlo section: N paths (with `--seed`), each entity's
        /// probability of default and the cumulative default chart.
        #[arg(long, value_name = "N")]
        runs: Option<u64>,
        /// The page to write (`report.html`), or `-` for stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Explore a scenario interactively: step, poke values, ask why, go back.
    Repl {
        /// The script to load.
        file: Option<PathBuf>,
        #[command(flatten)]
        random: Random,
        #[command(flatten)]
        limits: Limits,
    },
    /// Run many paths: a grid or Latin hypercube of params, seeded Monte Carlo; one row per path, or a summary.
    Sweep(Box<sweep::SweepArgs>),
    /// What moves a metric most: each param at its low and high value (a tornado), or Morris effects.
    Sensitivity(Box<stress::SensitivityArgs>),
    /// Where a condition changes across a param's range, or the smallest joint shock that makes it hold.
    Threshold(Box<stress::ThresholdArgs>),
    /// Combine the outputs of `cascade sweep --shard K/N` into the output of the whole sweep.
    Merge {
        /// The shards' outputs, in any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write to this file instead of standard output (a CSV's provenance goes to FILE.provenance.json).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write the merged output's provenance as JSON to FILE.
        #[arg(long = "provenance", value_name = "FILE")]
        provenance: Option<PathBuf>,
    },
}

/// The flags of the one run that `plot` and `report` draw.
#[derive(clap::Args)]
struct RunFlags {
    /// Override a param: `--set holding_cost=2.8` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Run this many steps instead of the scenario's horizon.
    #[arg(long, value_name = "N")]
    horizon: Option<u64>,
    #[command(flatten)]
    random: Random,
    #[command(flatten)]
    limits: Limits,
}

/// Which random numbers a run draws.
#[derive(clap::Args, Clone, Copy)]
struct Random {
    /// The seed of the random draws (default 0).
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Run as path I of a sweep with this seed: uncertain params are drawn, and the draws are path I's.
    #[arg(long, value_name = "I")]
    path: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
}

use output::Format;

/// How a command ended.
enum Failure {
    /// Problems in a script (exit 1).
    Script,
    /// A usage or I/O error (exit 2), already reported.
    Usage,
    /// stdout was closed by its reader (`| head`): stop quietly (exit 0).
    Closed,
    /// Stopped by Ctrl-C (exit 130), already reported.
    Interrupted,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let result = match cli.command {
        Command::Run {
            file,
            sets,
            horizon,
            format,
            layout,
            select,
            output,
            provenance,
            changes,
            random,
            limits,
            verbosity,
        } => {
            let options = RunOptions { format, layout, select, output, provenance, changes };
            run(&file, &sets, horizon, &options, random, &limits, verbosity)
        }
        Command::Check { files, limits } => check(&files, &limits),
        Command::Explain { file, target, sets, depth, format, random, limits, verbosity } => {
            explain(&file, &target, &sets, depth, format, random, &limits, verbosity)
        }
        Command::Test { files, limits, verbosity } => test(&files, &limits, verbosity),
        Command::Graph { file, format, limits, verbosity } => {
            graph::graph(&file, &format, &limits.engine(), verbosity)
        }
        Command::Plot { file, names, output, run } => {
            plot::plot(&file, &names, &run.sets, run.horizon, run.random, &output, &run.limits)
        }
        Command::Report { file, runs, output, run } => {
            let RunFlags { sets, horizon, random, limits } = run;
            let options = plot::ReportOptions { sets, horizon, random, runs };
            plot::report_html(&file, &options, &output, &limits)
        }
        Command::Repl { file, random, limits } => {
            return repl::run(file.as_deref(), limits.engine(), (random.seed, random.path));
        }
        Command::Sweep(args) => sweep::sweep(*args),
        Command::Sensitivity(args) => stress::sensitivity(*args),
        Command::Threshold(args) => stress::threshold(*args),
        Command::Merge { files, output, provenance } => {
            sweep::merge(&files, output.as_deref(), provenance.as_deref())
        }
    };
    match result {
        Ok(()) | Err(Failure::Closed) if out::stderr_lost() => ExitCode::from(2),
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(Failure::Script) => ExitCode::from(1),
        Err(Failure::Usage) => ExitCode::from(2),
        Err(Failure::Interrupted) => ExitCode::from(130),
    }
}

/// `--help` and `--version` on stdout (exit 0), argument errors on stderr (exit 2).
fn clap_error(e: &clap::Error) -> ExitCode {
    let text =
        if std::io::stderr().is_terminal() { e.render().ansi().to_string() } else { e.render().to_string() };
    if e.use_stderr() {
        out::err(&text);
        return ExitCode::from(2);
    }
    match out::out(&text) {
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

fn style() -> RenderStyle {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if std::io::stderr().is_terminal() && !no_color { RenderStyle::Colour } else { RenderStyle::Plain }
}

fn print_diagnostics(diagnostics: &Diagnostics) {
    if !diagnostics.is_empty() {
        out::err(&diagnostics.render(style()));
    }
}

/// Fails with a usage error if a `--data NAME=PATH` names a file no script loads.
fn check_data_names(loader: &data::FileLoader) -> Result<(), Failure> {
    let unused = loader.unused();
    if unused.is_empty() {
        return Ok(());
    }
    for name in unused {
        out::err(&format!("error: `--data {name}=...`: the script loads no data file called `{name}`\n"));
    }
    Err(Failure::Usage)
}

/// Prints an API error; returns the failure it stands for.
fn report(error: &Error) -> Failure {
    match error {
        Error::Data(files) => {
            for diagnostics in files {
                print_diagnostics(diagnostics);
            }
            for diagnostics in files {
                out::err(&format!("{diagnostics}\n"));
            }
            Failure::Script
        }
        Error::Io(diagnostics) => {
            print_diagnostics(diagnostics);
            Failure::Usage
        }
        Error::Script(diagnostics) => {
            print_diagnostics(diagnostics);
            out::err(&format!("{diagnostics}\n"));
            Failure::Script
        }
        other => {
            let mut text = String::new();
            let handler =
                miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
            if handler.render_report(&mut text, other).is_err() {
                text = format!("error: {other}\n");
            }
            out::err(&text);
            Failure::Usage
        }
    }
}

fn compile(engine: &Engine, file: &Path, verbosity: Verbosity) -> Result<Program, Failure> {
    let program = engine.compile_file(file).map_err(|e| report(&e))?;
    let warnings = program.warnings();
    if verbosity.warnings {
        print_diagnostics(warnings);
    } else if warnings.warning_count() > 0 {
        let n = warnings.warning_count();
        out::err(&format!(
            "{}: {n} warning{} (`cascade check {}` shows {}, as does `--warnings`)\n",
            file.display(),
            if n == 1 { "" } else { "s" },
            file.display(),
            if n == 1 { "it" } else { "them" }
        ));
    }
    Ok(program)
}

fn start(program: &Program, sets: &[String], horizon: Option<u64>, random: Random) -> Result<Run, Failure> {
    let mut start = program.start().seed(random.seed);
    if let Some(path) = random.path {
        start = start.path(path);
    }
    for set in sets {
        let Some((name, value)) = set.split_once('=') else {
            out::err(&format!(
                "error: `--set {set}` should be `--set NAME=VALUE`, e.g. `--set holding_cost=2.8`\n"
            ));
            return Err(Failure::Usage);
        };
        start = start.set_text(name.trim(), value).map_err(|e| report(&e))?;
    }
    if let Some(h) = horizon {
        start = start.horizon(h);
    }
    start.begin().map_err(|e| report(&e))
}

/// How `cascade run` writes its output.
struct RunOptions {
    format: Format,
    layout: output::Layout,
    select: Vec<String>,
    output: Option<PathBuf>,
    provenance: Option<PathBuf>,
    changes: bool,
}

fn run(
    file: &Path,
    sets: &[String],
    horizon: Option<u64>,
    options: &RunOptions,
    random: Random,
    limits: &Limits,
    verbosity: Verbosity,
) -> Result<(), Failure> {
    let (engine, loader) = limits.engine_with_data()?;
    let program = compile(&engine, file, verbosity)?;
    check_data_names(&loader)?;
    let mut run = start(&program, sets, horizon, random)?;
    let patterns: Vec<&str> =
        options.select.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|p| !p.is_empty()).collect();
    let columns = if !patterns.is_empty() {
        run.select_columns(&patterns).map_err(|e| report(&e))?
    } else if options.format == Format::Csv {
        run.columns()
    } else {
        // The JSON outputs have every change already; their values are the globals.
        run.columns().into_iter().filter(|c| c.entity.is_none()).collect()
    };
    let sidecar = options.provenance.clone().or_else(|| {
        let output = options.output.as_ref()?;
        (options.format == Format::Csv)
            .then(|| PathBuf::from(format!("{}.provenance.json", output.display())))
    });
    let mut target: Box<dyn std::io::Write> = match &options.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                out::err(&format!("error: cannot write `{}`: {e}\n", path.display()));
                return Err(Failure::Usage);
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut writer =
        output::Output::new(options.format, options.layout, options.changes, columns, &mut *target);
    let mut failure = None;
    if let Err(e) = writer.begin(&mut run) {
        failure = Some(e);
    }
    while failure.is_none() && !writer.is_broken() {
        match run.step() {
            Ok(Some(_)) => {
                if let Err(e) = writer.step(&mut run) {
                    failure = Some(e);
                }
            }
            Ok(None) => break,
            Err(e) => failure = Some(e),
        }
    }
    writer.finish(&mut run, failure.as_ref());
    let io_error = writer.io_error();
    drop(writer);
    drop(target);
    // After the run, so that it holds how the run ended and its expectations.
    if let Some(path) = &sidecar {
        write_sidecar(path, &mut run, failure.as_ref())?;
    }
    if let Some(e) = io_error {
        // A closed pipe ends the command quietly; another error is exit 2.
        return Err(out::output_error(&e));
    }
    if let Some(e) = failure {
        return Err(report(&e));
    }
    // `run` explores: expectations that do not hold are news, not a failure.
    let results = run.expectations();
    let failed = results.iter().filter(|e| !e.passed).count();
    let n = results.len();
    if failed > 0 {
        out::err(&format!(
            "{failed} of {n} expectation{} {} not hold under these settings — `cascade test` shows {}\n",
            if n == 1 { "" } else { "s" },
            if failed == 1 { "does" } else { "do" },
            if failed == 1 { "it" } else { "them" }
        ));
    } else if n == 1 {
        out::err("the expectation holds\n");
    } else if n > 1 {
        out::err(&format!("all {n} expectations hold\n"));
    }
    Ok(())
}

/// The provenance document of a run (`-o FILE.csv` beside it, or
/// `--provenance FILE`): `{ provenance, end, expectations, error? }`, the keys of
/// the JSON output without its steps.
fn write_sidecar(path: &Path, run: &mut cascade::Run, error: Option<&Error>) -> Result<(), Failure> {
    let trace = run.trace();
    let mut document = serde_json::json!({
        "provenance": trace.provenance(),
        "end": trace.end(),
        "expectations": trace.expectations(),
    });
    if let Some(e) = error {
        document["error"] = output::error_json(e);
    }
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|e| {
        out::err(&format!("error: cannot write `{}`: {e}\n", path.display()));
        Failure::Usage
    })
}

#[allow(clippy::too_many_arguments)] // one per flag of the command
fn explain(
    file: &Path,
    target: &str,
    sets: &[String],
    depth: usize,
    format: ExplainFormat,
    random: Random,
    limits: &Limits,
    verbosity: Verbosity,
) -> Result<(), Failure> {
    let (engine, loader) = limits.engine_with_data()?;
    let program = compile(&engine, file, verbosity)?;
    check_data_names(&loader)?;
    let mut run = start(&program, sets, None, random)?;
    run.run_to_end().map_err(|e| report(&e))?;
    let explanation = run.explain_tree(target, depth).map_err(|e| report(&e))?;
    let text = match format {
        ExplainFormat::Text => explanation.to_text(),
        ExplainFormat::Json => {
            let mut json = serde_json::to_string_pretty(&explanation).unwrap_or_default();
            json.push('\n');
            json
        }
    };
    out::out(&text)
}

fn check(files: &[PathBuf], limits: &Limits) -> Result<(), Failure> {
    let mut outcome = Ok(());
    let engine = limits.engine();
    for file in files {
        match engine.compile_file(file) {
            Ok(program) => {
                print_diagnostics(program.warnings());
                let warnings = program.warnings().warning_count();
                let note = if warnings == 0 {
                    String::new()
                } else {
                    format!(" ({warnings} warning{})", if warnings == 1 { "" } else { "s" })
                };
                out::err(&format!("{}: ok{note}\n", file.display()));
            }
            Err(e) => {
                let failure = report(&e);
                if matches!(failure, Failure::Usage) || outcome.is_ok() {
                    outcome = Err(failure);
                }
            }
        }
    }
    outcome
}

fn test(files: &[PathBuf], limits: &Limits, verbosity: Verbosity) -> Result<(), Failure> {
    let engine = limits.engine();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut usage = false;
    for file in files {
        out::out(&format!("{}\n", file.display()))?;
        let program = match compile(&engine, file, verbosity) {
            Ok(p) => p,
            Err(f) => {
                usage |= matches!(f, Failure::Usage);
                out::out("  could not be checked\n")?;
                failed += 1;
                continue;
            }
        };
        let mut run = match program.run() {
            Ok(r) => r,
            Err(e) => {
                report(&e);
                failed += 1;
                continue;
            }
        };
        if let Err(e) = run.run_to_end() {
            report(&e);
            out::out(&format!("  the run failed at step {}\n", run.current_step()))?;
            failed += 1;
            continue;
        }
        let results = run.expectations();
        if results.is_empty() {
            out::out("  no expectations\n")?;
        }
        for e in &results {
            let mark = if e.passed { "ok  " } else { "FAIL" };
            out::out(&format!("  {mark} line {:>3}: {}\n", e.line, e.text.lines().next().unwrap_or("")))?;
            if e.passed {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        print_diagnostics(&run.failed_expectations());
    }
    out::out(&format!("{passed} passed, {failed} failed\n"))?;
    if usage {
        Err(Failure::Usage)
    } else if failed > 0 {
        Err(Failure::Script)
    } else {
        Ok(())
    }
}

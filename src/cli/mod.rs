//! `cascade run | check | test` (and the commands that follow them).
//!
//! Exit codes: 0 ok, 1 problems in a script (check time, run time, failed
//! expectations), 2 usage and I/O errors (bad flags, missing files, output
//! that cannot be written). Everything is printed through `out`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod data;
mod flags;
mod graph;
mod interrupt;
mod out;
mod output;
mod plot;
mod repl;
mod stress;
mod sweep;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use output::Format;

use commands::{RunOptions, check, explain, run, test};
use commands::{check_data_names, compile, report, start};
use flags::{Limits, Random, RunFlags, Verbosity};

#[derive(Parser)]
#[command(name = "cascade", version, about = "Run contagion scenarios written in the Cascade language")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// Read at most this many bytes of each shard and of each sidecar (default 256 MiB, at most 4294967295).
        #[arg(long, value_name = "N", default_value_t = cascade::DataFile::DEFAULT_MAX_BYTES, value_parser = flags::at_most(cascade::source::MAX_TEXT_BYTES))]
        max_input_bytes: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
}

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
        Command::Merge { files, output, provenance, max_input_bytes } => {
            sweep::merge(&files, output.as_deref(), provenance.as_deref(), max_input_bytes)
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

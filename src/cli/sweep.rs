//! `cascade sweep` and `cascade merge`: many paths, on the library's
//! [`cascade::Sweep`].
//!
//! Rows stream to the output as the paths finish (in path order); a summary
//! is written at the end. A progress bar with ETA is drawn on stderr when it
//! is a terminal. Ctrl-C raises the flag the runs watch: the paths in flight
//! stop, what finished is written (with an `interrupted` line), and the
//! command says so and exits 130.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use cascade::{OutputFormat, RowWriter, Sample, Shard, SweepOptions};

use super::{Failure, Limits, check_data_names, compile, out, report};

/// The flags of `cascade sweep`.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// The script.
    file: PathBuf,
    /// Vary a param: `--vary NAME=V1,V2,...` or `--vary NAME=LO..HI/N` (repeatable).
    #[arg(long = "vary", value_name = "NAME=VALUES")]
    vary: Vec<String>,
    /// Paths at each point (uncertain params and draws in effects differ between them).
    #[arg(long, default_value_t = 1, value_name = "N")]
    runs: u64,
    /// The points: every combination of the `--vary` values, or a Latin hypercube of N points over their ranges.
    #[arg(long, value_enum, default_value_t = SampleArg::Grid)]
    sample: SampleArg,
    /// The seed: path I of seed S draws the same numbers wherever it runs.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Threads (default: every core). The output is the same for any number.
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Run only the K-th of N slices of the paths (`cascade merge` joins them).
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Record an expression's value at the end of each path, or choose an entity whose default step to record (repeatable).
    #[arg(long = "record", value_name = "EXPR")]
    record: Vec<String>,
    /// Per point: each entity's probability of default (95% interval) and default-step percentiles; each record's mean and percentiles.
    #[arg(long)]
    summary: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    format: FormatArg,
    /// Write to this file instead of standard output; with CSV, the
    /// provenance goes to FILE.provenance.json beside it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the provenance (script, its SHA-256, seed and every option) as JSON to FILE.
    #[arg(long = "provenance", value_name = "FILE")]
    provenance: Option<PathBuf>,
    /// Draw the cumulative probability of default by step, one curve per entity
    /// (the 10 most likely to default, or those chosen with `--record NAME`): FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// With `--plot`: add a fan chart of this value over the steps (the 10–90% and
    /// 25–75% of paths, and the median), e.g. `--plot-value h100_price` (repeatable).
    #[arg(long = "plot-value", value_name = "NAME")]
    plot_value: Vec<String>,
    /// With `--plot`: the point to draw, from 0 (the first by default).
    #[arg(long = "plot-point", value_name = "K", default_value_t = 0)]
    plot_point: u64,
    /// Fix a param for every path: `--set holding_cost=2.8` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Run this many steps instead of the scenario's horizon.
    #[arg(long, value_name = "N")]
    horizon: Option<u64>,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SampleArg {
    Grid,
    Lhs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Csv,
    Json,
}

fn name_value(flag: &str, text: &str) -> Result<(String, String), Failure> {
    match text.split_once('=') {
        Some((name, value)) => Ok((name.trim().to_string(), value.to_string())),
        None => {
            out::err(&format!("error: `{flag} {text}` should be `{flag} NAME=VALUE`\n"));
            Err(Failure::Usage)
        }
    }
}

fn usage(error: &cascade::Error) -> Failure {
    report(error);
    Failure::Usage
}

pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let (engine, loader) = args.limits.engine_with_data()?;
    let program = compile(&engine, &args.file, super::Verbosity { warnings: false })?;
    check_data_names(&loader)?;
    let mut options = SweepOptions {
        runs: args.runs,
        seed: args.seed,
        sample: if args.sample == SampleArg::Lhs { Sample::Lhs } else { Sample::Grid },
        record: args.record.clone(),
        horizon: args.horizon,
        step_records: args.plot_value.clone(),
        ..SweepOptions::default()
    };
    for v in &args.vary {
        options.vary.push(name_value("--vary", v)?);
    }
    for s in &args.sets {
        options.set.push(name_value("--set", s)?);
    }
    if let Some(shard) = &args.shard {
        let shard: Shard = shard.parse().map_err(|e| usage(&cascade::Error::Sweep(Box::new(e))))?;
        options.shard = Some(shard);
    }
    let picture = plot_output(&args)?;
    let plan = program.sweep(&options).map_err(|e| usage(&e))?;
    if picture.is_some() && args.plot_point >= plan.point_count() {
        out::err(&format!(
            "error: `--plot-point {}`: the sweep has {} point{} (0 to {})\n",
            args.plot_point,
            plan.point_count(),
            if plan.point_count() == 1 { "" } else { "s" },
            plan.point_count() - 1
        ));
        return Err(Failure::Usage);
    }
    if plan.entities_omitted() {
        out::err(&format!(
            "note: the script has more than {} entities: rows have no `NAME.defaulted_at` columns; \
             choose some with `--record NAME`\n",
            cascade::MAX_ENTITY_COLUMNS
        ));
    }
    let format = if args.format == FormatArg::Json { OutputFormat::Json } else { OutputFormat::Csv };
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(e) => {
                out::err(&format!("error: cannot write `{}`: {e}\n", path.display()));
                return Err(Failure::Usage);
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // As with `cascade run`, a CSV table's provenance goes beside it; a JSON
    // output (and a shard's summary state) carries its own.
    let table = format == OutputFormat::Csv && !(args.summary && plan.options().shard.is_some());
    let sidecar = args.provenance.clone().or_else(|| {
        let output = args.output.as_ref()?;
        table.then(|| PathBuf::from(format!("{}.provenance.json", output.display())))
    });
    let write_sidecar = |end: Option<cascade::SweepEnd>| -> Result<(), Failure> {
        let Some(path) = &sidecar else { return Ok(()) };
        std::fs::write(path, plan.provenance_text(format, args.summary, end)).map_err(|e| {
            out::err(&format!("error: cannot write `{}`: {e}\n", path.display()));
            Failure::Usage
        })
    };
    write_sidecar(None)?;
    super::interrupt::install();
    super::interrupt::clear();
    let flag = super::interrupt::flag();
    let paths = plan.paths();
    let bar = progress(paths.end - paths.start);
    let mut failed: Option<(u64, u64, String)> = None;
    let mut failures = 0u64;
    let mut note_failure = |r: &cascade::PathResult| {
        if let cascade::PathEnd::Failed { message, .. } = &r.end {
            failures += 1;
            if failed.is_none() {
                failed = Some((r.point, r.path, message.clone()));
            }
        }
    };
    // The summary is kept for `--summary` and for the picture.
    let mut summary = plan.summary();
    let (end, write_error) = if args.summary {
        let end = plan.run(jobs, Some(flag.clone()), |r| {
            summary.add(&r);
            note_failure(&r);
            bar.inc(1);
            ControlFlow::Continue(())
        });
        let text = plan.summary_output(&summary, format, end);
        let mut sink = sink;
        let error = sink.write_all(text.as_bytes()).and_then(|_| sink.flush()).err();
        (end, error)
    } else {
        let mut writer = match RowWriter::new(&plan, format, sink) {
            Ok(w) => w,
            Err(e) => return Err(out::output_error(&e)),
        };
        let mut error = None;
        let end = plan.run(jobs, Some(flag.clone()), |r| {
            note_failure(&r);
            bar.inc(1);
            if picture.is_some() {
                summary.add(&r);
            }
            match writer.write(&r) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    error = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        let error = error.or_else(|| writer.finish(end).err());
        (end, error)
    };
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(out::output_error(&e));
    }
    if end.stopped {
        write_sidecar(Some(end))?;
    }
    if let (Some(output), Some(path)) = (&picture, &args.plot) {
        let chosen: Vec<String> =
            plan.entity_columns().into_iter().filter(|e| args.record.contains(e)).collect();
        let chart = super::plot::paths::SweepChart {
            summary: &summary,
            point: args.plot_point as usize,
            title: program.title().map_or_else(|| program.source().name().to_string(), str::to_string),
            entities: chosen,
            fans: (0..args.plot_value.len()).collect(),
        };
        let svg = super::plot::paths::sweep_svg(&chart)
            .and_then(|svg| super::plot::write(&svg, output).map(|()| svg));
        match svg {
            Ok(_) => out::err(&format!("wrote {}\n", path.display())),
            Err(message) => {
                out::err(&format!("error: {message}\n"));
                return Err(Failure::Usage);
            }
        }
    }
    if let Some((point, path, message)) = failed {
        out::err(&format!(
            "{failures} path{} ended in an error; the first, point {point} path {path}: {message}\n  \
             reproduce it with `cascade run {} --seed {} --path {path}` and the point's params\n",
            if failures == 1 { "" } else { "s" },
            args.file.display(),
            args.seed
        ));
    }
    if end.stopped && super::interrupt::raised() {
        let total = paths.end - paths.start;
        out::err(&format!("interrupted: wrote the {} of {total} paths that finished\n", end.done));
        return Err(Failure::Interrupted);
    }
    if failures > 0 { Err(Failure::Script) } else { Ok(()) }
}

/// Where `--plot` draws, checked before anything runs.
fn plot_output(args: &SweepArgs) -> Result<Option<super::plot::Output>, Failure> {
    let fail = |message: String| {
        out::err(&format!("error: {message}\n"));
        Err(Failure::Usage)
    };
    let Some(path) = &args.plot else {
        if let Some(name) = args.plot_value.first() {
            return fail(format!(
                "`--plot-value {name}` draws into the picture of `--plot FILE.svg`: add it"
            ));
        }
        return Ok(None);
    };
    if args.shard.is_some() {
        return fail(String::from(
            "`--plot` draws the whole sweep, and a shard has only part of its paths: \
             plot without `--shard`",
        ));
    }
    match super::plot::Output::from_path(path) {
        Ok(super::plot::Output::Stdout) => fail(String::from("`--plot` needs a file: `--plot defaults.svg`")),
        Ok(output) => Ok(Some(output)),
        Err(message) => fail(message.replace("`-o ", "`--plot ")),
    }
}

/// A bar with ETA on a terminal; nothing otherwise.
fn progress(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} paths  {per_sec}  ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// `cascade merge FILES... [-o FILE] [--provenance FILE]`: each CSV shard's
/// provenance is read from `FILE.provenance.json` beside it, and the merged
/// CSV's is written beside the output in the same way.
pub fn merge(
    files: &[PathBuf],
    output: Option<&Path>,
    provenance: Option<&Path>,
    max_bytes: usize,
) -> Result<(), Failure> {
    // A regular file or a pipe, at most `max_bytes`, UTF-8 (never `/dev/zero`
    // read until memory runs out).
    let read = |path: &Path| {
        let fail = |message: String| {
            out::err(&format!("error: cannot read `{}`: {message}\n", path.display()));
            Failure::Usage
        };
        let file = cascade::DataFile::read(path, max_bytes).map_err(fail)?;
        if file.bytes.len() > max_bytes {
            return Err(fail(format!(
                "it is longer than {max_bytes} bytes (raise the limit with `--max-input-bytes`)"
            )));
        }
        String::from_utf8(file.bytes).map_err(|e| fail(format!("it is not UTF-8 text ({e})")))
    };
    let mut parts = Vec::new();
    for file in files {
        let text = read(file)?;
        let sidecar = PathBuf::from(format!("{}.provenance.json", file.display()));
        let provenance = if sidecar.exists() { Some(read(&sidecar)?) } else { None };
        parts.push(cascade::ShardOutput { name: file.display().to_string(), text, provenance });
    }
    let merged = cascade::merge_outputs(&parts).map_err(|e| {
        report(&cascade::Error::Merge(Box::new(e)));
        Failure::Usage
    })?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text.as_bytes()).map_err(|e| {
            out::err(&format!("error: cannot write `{}`: {e}\n", path.display()));
            Failure::Usage
        })
    };
    let sidecar = provenance.map(Path::to_path_buf).or_else(|| {
        let output = output?;
        merged.csv.then(|| PathBuf::from(format!("{}.provenance.json", output.display())))
    });
    if let Some(path) = sidecar {
        write(&path, &merged.provenance)?;
    }
    match output {
        Some(path) => write(path, &merged.text),
        None => out::out(&merged.text),
    }
}

//! Pictures of a run: `cascade plot` (a line chart of chosen values over the
//! steps, as SVG or PNG) and `cascade report` (one self-contained HTML page).
//! The REPL's `:plot` uses the same recording and chart.
//!
//! Everything here reads the run through the public API (`Run::value`,
//! `Run::events`, `Run::explain`, `Program::feedback_loops`); plotters draws
//! the SVG and resvg turns it into a PNG.

pub mod chart;
mod html;
pub mod paths;
pub mod png;
pub mod record;
pub mod terminal;
pub mod tornado;
pub mod units;

use std::path::{Path, PathBuf};

use cascade::Program;

use super::{Failure, Limits, Random, compile, report, start};
use record::{MAX_LINES, Recording};

/// Where a picture goes, from `-o`: an SVG or PNG file, or `-` (stdout, SVG).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Svg(PathBuf),
    Png(PathBuf),
    Stdout,
}

impl Output {
    /// The output for `path`, by its extension.
    pub fn from_path(path: &Path) -> Result<Output, String> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout);
        }
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(Output::Svg(path.to_path_buf())),
            Some("png") => Ok(Output::Png(path.to_path_buf())),
            _ => Err(format!(
                "`-o {}` should name an `.svg` or `.png` file (or `-` for SVG on stdout)",
                path.display()
            )),
        }
    }
}

/// The names to draw: `patterns` expanded, or the default choice; at most
/// [`MAX_LINES`], with a note on stderr when more matched.
pub fn choose(program: &Program, patterns: &[String]) -> Result<Vec<String>, String> {
    let mut names =
        if patterns.is_empty() { record::default_names(program) } else { record::expand(program, patterns)? };
    if names.is_empty() {
        return Err(String::from(
            "the script has no var, let or series to draw; name fields to draw, e.g. `'*.cash'`",
        ));
    }
    if names.len() > MAX_LINES {
        super::out::err(&format!(
            "note: drawing the first {MAX_LINES} of the {} values that matched; name fewer to see the others\n",
            names.len()
        ));
        names.truncate(MAX_LINES);
    }
    Ok(names)
}

/// Writes `svg` where `output` says (rasterised for a PNG).
pub fn write(svg: &str, output: &Output) -> Result<(), String> {
    let (path, bytes) = match output {
        Output::Stdout => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(svg.as_bytes());
            return Ok(());
        }
        Output::Svg(path) => (path, svg.as_bytes().to_vec()),
        Output::Png(path) => (path, png::png(svg, 2.0)?),
    };
    std::fs::write(path, bytes).map_err(|e| format!("could not write `{}`: {e}", path.display()))
}

/// `cascade plot FILE [NAME|PATTERN]... [--set ...] -o FILE.svg|png`.
pub fn plot(
    file: &Path,
    patterns: &[String],
    sets: &[String],
    horizon: Option<u64>,
    random: Random,
    out: &Path,
    limits: &Limits,
) -> Result<(), Failure> {
    let output = Output::from_path(out).map_err(usage)?;
    let program = compile(&limits.engine(), file, crate::cli::Verbosity { warnings: false })?;
    let names = choose(&program, patterns).map_err(usage)?;
    let mut run = start(&program, sets, horizon, random)?;
    let mut recording = Recording::new(&program, &names);
    recording.record_to_end(&mut run).map_err(|e| report(&e))?;
    recording.keep_numbers();
    if recording.lines.is_empty() {
        return Err(usage(format!("none of {} has a number to draw", names.join(", "))));
    }
    let svg = chart::svg(&recording).map_err(usage)?;
    write(&svg, &output).map_err(usage)?;
    if output != Output::Stdout {
        super::out::err(&format!("wrote {}\n", out.display()));
    }
    Ok(())
}

/// What `cascade report` runs.
pub struct ReportOptions {
    pub sets: Vec<String>,
    pub horizon: Option<u64>,
    pub random: Random,
    /// Paths of the Monte Carlo section (none: no such section).
    pub runs: Option<u64>,
}

/// At most this many vars get a fan chart in the report's Monte Carlo section.
const REPORT_FANS: usize = 2;

/// `cascade report FILE [--set ...] [--runs N [--seed S]] -o report.html`.
pub fn report_html(file: &Path, options: &ReportOptions, out: &Path, limits: &Limits) -> Result<(), Failure> {
    let (sets, horizon, random) = (&options.sets, options.horizon, options.random);
    let program = compile(&limits.engine(), file, crate::cli::Verbosity { warnings: false })?;
    let monte_carlo = match options.runs {
        Some(runs) => Some(monte_carlo(&program, options, runs)?),
        None => None,
    };
    let names = choose(&program, &[]).unwrap_or_default();
    let mut run = start(&program, sets, horizon, random)?;
    let mut recording = Recording::new(&program, &names);
    recording.record_to_end(&mut run).map_err(|e| report(&e))?;
    recording.keep_numbers();
    let chart = if recording.lines.is_empty() { None } else { Some(chart::svg(&recording).map_err(usage)?) };
    let page = html::page(&program, &mut run, &recording, chart.as_deref(), monte_carlo.as_deref());
    if out.as_os_str() == "-" {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(page.as_bytes());
        return Ok(());
    }
    std::fs::write(out, page).map_err(|e| usage(format!("could not write `{}`: {e}", out.display())))?;
    super::out::err(&format!("wrote {}\n", out.display()));
    Ok(())
}

/// The report's Monte Carlo section: `runs` paths of the script with the
/// report's `--set`, `--horizon` and `--seed`, summarised.
fn monte_carlo(program: &Program, options: &ReportOptions, runs: u64) -> Result<String, Failure> {
    let mut sweep_options = cascade::SweepOptions {
        runs,
        seed: options.random.seed,
        horizon: options.horizon,
        ..cascade::SweepOptions::default()
    };
    for set in &options.sets {
        let Some((name, value)) = set.split_once('=') else {
            return Err(usage(format!("`--set {set}` should be `--set NAME=VALUE`")));
        };
        sweep_options.set.push((name.trim().to_string(), value.to_string()));
    }
    // A fan of each var (the quantities a scenario is about), the first few.
    sweep_options.step_records = program
        .declarations()
        .into_iter()
        .filter(|d| d.what == cascade::DeclarationKind::Var)
        .map(|d| d.name)
        .take(REPORT_FANS)
        .collect();
    let sweep = program.sweep(&sweep_options).map_err(|e| report(&e))?;
    let mut summary = sweep.summary();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut failures = 0u64;
    sweep.run(jobs, None, |path| {
        failures += u64::from(matches!(path.end, cascade::PathEnd::Failed { .. }));
        summary.add(&path);
        std::ops::ControlFlow::Continue(())
    });
    let chart = paths::SweepChart {
        summary: &summary,
        point: 0,
        title: program.title().map_or_else(|| program.source().name().to_string(), str::to_string),
        entities: Vec::new(),
        fans: (0..sweep_options.step_records.len()).collect(),
    };
    let svg = paths::sweep_svg(&chart).map_err(usage)?;
    Ok(html::monte_carlo_section(&summary, &svg, options.random.seed, failures))
}

fn usage(message: impl std::fmt::Display) -> Failure {
    super::out::err(&format!("error: {message}\n"));
    Failure::Usage
}

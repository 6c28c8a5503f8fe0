//! The commands `run`, `check`, `test` and `explain`, and what every command
//! shares: compiling a script with its warnings, starting a run from `--set`
//! flags, and printing an API error as the failure it stands for.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use cascade::{Diagnostics, Engine, Error, Program, RenderStyle, Run};

use super::flags::{Limits, Random, Verbosity};
use super::{ExplainFormat, Failure, Format, data, out, output};

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
pub(crate) fn check_data_names(loader: &data::FileLoader) -> Result<(), Failure> {
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
pub(crate) fn report(error: &Error) -> Failure {
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

pub(crate) fn compile(engine: &Engine, file: &Path, verbosity: Verbosity) -> Result<Program, Failure> {
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

pub(crate) fn start(
    program: &Program,
    sets: &[String],
    horizon: Option<u64>,
    random: Random,
) -> Result<Run, Failure> {
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
pub(crate) struct RunOptions {
    pub(crate) format: Format,
    pub(crate) layout: output::Layout,
    pub(crate) select: Vec<String>,
    pub(crate) output: Option<PathBuf>,
    pub(crate) provenance: Option<PathBuf>,
    pub(crate) changes: bool,
}

pub(crate) fn run(
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
    leave_for_exit((run, program));
    Ok(())
}

/// Lets go of a command's program and run without freeing them: the process
/// is about to exit, which returns all its memory at once, while dropping a
/// large world frees its entities, instances and log one allocation at a time
/// (a few percent of `cascade test` on a network of 100,000 banks).
fn leave_for_exit<T>(value: T) {
    std::mem::forget(value);
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
pub(crate) fn explain(
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

pub(crate) fn check(files: &[PathBuf], limits: &Limits) -> Result<(), Failure> {
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

pub(crate) fn test(files: &[PathBuf], limits: &Limits, verbosity: Verbosity) -> Result<(), Failure> {
    let engine = limits.engine();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut usage = false;
    for (n, file) in files.iter().enumerate() {
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
        if n + 1 == files.len() {
            leave_for_exit((run, program));
        }
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

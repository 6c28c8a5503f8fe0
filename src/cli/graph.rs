//! `cascade graph FILE [--format text|dot|mermaid]`: the dependency graph of a
//! script and its feedback loops, on stdout. Warnings go to stderr.
//!
//! Exit codes as for every command: 0 ok, 1 the script has errors, 2 a usage
//! error (an unknown format, a missing file).

use std::path::Path;

use cascade::{Engine, GraphFormat};

use super::{Failure, Verbosity, compile, out};

/// The values `--format` takes; the first is the default.
pub(super) const FORMATS: [&str; 3] = ["text", "dot", "mermaid"];

/// Prints the graph of the script at `file` as `format` (`text`, `dot` or
/// `mermaid`), compiled by `engine`.
pub(super) fn graph(file: &Path, format: &str, engine: &Engine, verbosity: Verbosity) -> Result<(), Failure> {
    let format: GraphFormat = format.parse().map_err(|message| {
        out::err(&format!("error: {message}\n"));
        Failure::Usage
    })?;
    let program = compile(engine, file, verbosity)?;
    let output = program.graph(format);
    out::out(&output)
}

//! The outputs of `cascade run`, written step by step as the run goes: text
//! (the timeline as it happens, then the final state), JSON Lines (one line per
//! step), CSV (a header line, then one row per step, or per step and value in
//! the long layout), and one JSON document. None of them keeps anything per
//! step: the JSON document is written piece by piece, its `steps` array one
//! element per step, in the layout of `serde_json::to_string_pretty` (with
//! the keys in the order they become known, so that the steps can stream).

use std::io::Write;

use serde_json::{Map, Value as Json, json};

use cascade::{Column, Error, Run};

/// What `--format` asks for.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event timeline and the final state, for reading.
    Text,
    /// The whole trace as one JSON document.
    Json,
    /// JSON Lines: the provenance, then one line per step, then the end.
    Jsonl,
    /// A header line, then one row per step.
    Csv,
}

/// What `--layout` asks for (CSV only).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// One row per step, one column per value.
    Wide,
    /// One row per step and value: `step,[date,]entity,field,value`.
    Long,
}

/// A run's output being written.
pub struct Output<'w> {
    format: Format,
    layout: Layout,
    changes: bool,
    columns: Vec<Column>,
    /// Where text and JSON go (`None` for CSV, which goes through `csv`).
    out: Option<&'w mut dyn Write>,
    csv: Option<csv::Writer<&'w mut dyn Write>>,
    /// Whether the text timeline has a line yet.
    any: bool,
    /// How many steps of the JSON document are written.
    json_steps: u64,
    /// The output could not be written (a closed pipe, a full disk): stop writing.
    broken: bool,
    /// The first error of the CSV writer or of `out`.
    error: Option<std::io::Error>,
}

impl<'w> Output<'w> {
    /// An output of `run` to `out`; `columns` are the values written each step.
    pub fn new(
        format: Format,
        layout: Layout,
        changes: bool,
        columns: Vec<Column>,
        out: &'w mut dyn Write,
    ) -> Output<'w> {
        let (out, csv) = if format == Format::Csv {
            (None, Some(csv::Writer::from_writer(out)))
        } else {
            (Some(out), None)
        };
        Output {
            format,
            layout,
            changes,
            columns,
            out,
            csv,
            any: false,
            json_steps: 0,
            broken: false,
            error: None,
        }
    }

    /// True once writing has failed: the run can stop.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The first error writing the output, if any.
    pub fn io_error(&mut self) -> Option<std::io::Error> {
        self.error.take()
    }

    fn write(&mut self, text: &str) {
        if let Some(out) = self.out.as_mut()
            && !self.broken
            && let Err(e) = out.write_all(text.as_bytes())
        {
            self.broken = true;
            self.error = Some(e);
        }
    }

    fn write_json_line(&mut self, value: &Json) {
        let mut line = serde_json::to_string(value).unwrap_or_default();
        line.push('\n');
        self.write(&line);
    }

    /// `  "key": VALUE` then `after`, as a member of the JSON document.
    fn write_json_member(&mut self, key: &str, value: &Json, after: &str) {
        let text = format!("  {}: {}{after}", Json::from(key), indented(value, "  "));
        self.write(&text);
    }

    fn csv_record(&mut self, record: &[String]) {
        if let Some(writer) = self.csv.as_mut()
            && !self.broken
            && let Err(e) = writer.write_record(record)
        {
            self.broken = true;
            self.error = Some(std::io::Error::other(e.to_string()));
            if let csv::ErrorKind::Io(io) = e.into_kind() {
                self.error = Some(io);
            }
        }
    }

    /// The selected values now, by name, as JSON.
    fn values_json(&self, run: &mut Run) -> Result<Json, Error> {
        let values = run.values(&self.columns)?;
        let mut map = Map::new();
        for (column, value) in self.columns.iter().zip(&values) {
            map.insert(column.name(), run.json_value(value));
        }
        Ok(Json::Object(map))
    }

    /// Before step 1: the heading, the header and the values at step 0.
    pub fn begin(&mut self, run: &mut Run) -> Result<(), Error> {
        match self.format {
            Format::Text => {
                let heading = run.text_heading();
                self.write(&heading);
            }
            Format::Jsonl => {
                let trace = run.trace();
                let first = json!({ "provenance": trace.provenance(), "initial": trace.initial() });
                let values = self.values_json(run)?;
                self.write_json_line(&first);
                self.write_json_line(&json!({ "step": 0, "values": values }));
            }
            Format::Json => {
                let trace = run.trace();
                let (provenance, initial) = (trace.provenance(), trace.initial());
                let values = self.values_json(run)?;
                self.write("{\n");
                self.write_json_member("provenance", &provenance, ",\n");
                self.write_json_member("initial", &initial, ",\n");
                self.write_json_member("initial_values", &values, ",\n");
                self.write("  \"steps\": [");
            }
            Format::Csv => {
                let mut header = run.csv_header();
                header.truncate(run.step_cells().len());
                match self.layout {
                    Layout::Wide => header.extend(self.columns.iter().map(Column::name)),
                    Layout::Long => header.extend(["entity", "field", "value"].map(String::from)),
                }
                self.csv_record(&header);
                self.csv_values(run)?;
            }
        }
        Ok(())
    }

    fn csv_values(&mut self, run: &mut Run) -> Result<(), Error> {
        let values = run.values(&self.columns)?;
        let cells = run.step_cells();
        match self.layout {
            Layout::Wide => {
                let mut row = cells;
                row.extend(values.iter().map(|v| run.csv_text(v)));
                self.csv_record(&row);
            }
            Layout::Long => {
                for (column, value) in self.columns.clone().iter().zip(&values) {
                    let mut row = cells.clone();
                    row.push(column.entity.clone().unwrap_or_default());
                    row.push(column.field.clone());
                    row.push(run.csv_text(value));
                    self.csv_record(&row);
                }
            }
        }
        Ok(())
    }

    /// After each step: its timeline lines, its row(s) or its JSON line.
    pub fn step(&mut self, run: &mut Run) -> Result<(), Error> {
        let index = run.trace().steps().saturating_sub(1);
        match self.format {
            Format::Text => {
                for line in run.text_timeline(index, self.changes) {
                    if !std::mem::replace(&mut self.any, true) {
                        self.write("\nTimeline\n");
                    }
                    self.write(&line);
                }
            }
            Format::Jsonl | Format::Json => {
                let mut step = run.trace().step(index).unwrap_or(Json::Null);
                step["values"] = self.values_json(run)?;
                if self.format == Format::Jsonl {
                    self.write_json_line(&step);
                } else {
                    let separator = if self.json_steps == 0 { "\n    " } else { ",\n    " };
                    self.json_steps += 1;
                    let text = indented(&step, "    ");
                    self.write(separator);
                    self.write(&text);
                }
            }
            Format::Csv => self.csv_values(run)?,
        }
        Ok(())
    }

    /// After the run (or at the error that ended it): the final state, the
    /// end and the expectations. The error, if any, goes into the JSON outputs.
    pub fn finish(&mut self, run: &mut Run, error: Option<&Error>) {
        let error_json = error.map(error_json);
        match self.format {
            Format::Text => {
                let any = self.any;
                let text = run.text_final(any);
                self.write(&text);
            }
            Format::Jsonl => {
                let trace = run.trace();
                let mut last = json!({ "end": trace.end(), "expectations": trace.expectations() });
                if let Some(e) = error_json {
                    last["error"] = e;
                }
                self.write_json_line(&last);
            }
            Format::Json => {
                // `begin` wrote the document up to the `steps` array, `step` its elements.
                self.write(if self.json_steps == 0 { "],\n" } else { "\n  ],\n" });
                let trace = run.trace();
                let (end, expectations) = (json!(trace.end()), json!(trace.expectations()));
                self.write_json_member("end", &end, ",\n");
                match error_json {
                    Some(e) => {
                        self.write_json_member("expectations", &expectations, ",\n");
                        self.write_json_member("error", &e, "\n}\n");
                    }
                    None => self.write_json_member("expectations", &expectations, "\n}\n"),
                }
            }
            Format::Csv => {}
        }
        let flushed = match (self.csv.as_mut(), self.out.as_mut()) {
            (Some(writer), _) => writer.flush(),
            (None, Some(out)) => out.flush(),
            (None, None) => Ok(()),
        };
        if let Err(e) = flushed
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }
}

/// An error as JSON: its code and message, and the problems of a script error.
pub fn error_json(error: &Error) -> Json {
    match error {
        Error::Script(diagnostics) => {
            let problems: Vec<Json> = diagnostics
                .problems()
                .iter()
                .map(|p| {
                    json!({
                        "code": p.code,
                        "message": p.message,
                        "line": p.span().map(|s| diagnostics.source().line_of(s.start)),
                        "help": p.help,
                    })
                })
                .collect();
            json!({ "message": error.to_string(), "problems": problems })
        }
        other => json!({ "message": other.to_string() }),
    }
}

/// `value` pretty-printed, its lines after the first indented by `indent`:
/// how `serde_json::to_string_pretty` prints it inside a larger document.
fn indented(value: &Json, indent: &str) -> String {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    pretty.replace('\n', &format!("\n{indent}"))
}

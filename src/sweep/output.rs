//! What a sweep writes, and merging the outputs of its shards.
//!
//! Every output has a provenance: a JSON object naming the engine, the script
//! and its SHA-256, and every option that decides the paths (seed, runs,
//! sample, vary, set, record, horizon) and the output (format, summary). As
//! with `cascade run`, a CSV output is only the table (a header line, then
//! rows), and its provenance goes beside it (`FILE.provenance.json`, written
//! by the CLI from [`Sweep::provenance_text`]); a JSON output carries it as
//! its first line. A shard's provenance adds `"shard": "K/N"`; that is the
//! only difference [`merge_outputs`] accepts between shards, and the merged
//! output carries the provenance of the unsharded sweep, so it is the same
//! bytes.
//!
//! - Rows, CSV: a header line, one row per path.
//! - Rows, JSON: JSON Lines — `{"provenance": ...}`, then one object per path.
//! - Summary: CSV rows per point and entity / recorded value, or one JSON
//!   document. A shard's summary is its bounded state instead (JSON Lines:
//!   provenance, then `{"partial_summary": ...}`), which `merge` adds up.
//! - A sweep stopped by Ctrl-C has `"interrupted": {"done": D, "paths": P}`
//!   in its provenance (JSON rows end with `{"interrupted": ...}`); `merge`
//!   refuses it.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value as Json, json};

use super::{MergeError, PathResult, Summary, Sweep, SweepEnd};

/// The output format of `cascade sweep`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// CSV (comma-separated; the provenance goes beside it).
    #[default]
    Csv,
    /// JSON Lines for rows, one JSON document for a summary.
    Json,
}

impl OutputFormat {
    fn name(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
        }
    }
}

impl Sweep {
    /// The provenance of this sweep's output, as a JSON object.
    pub fn provenance(&self, format: OutputFormat, summary: bool) -> Json {
        let ir = &self.program.inner.ir;
        let o = &self.options;
        let pairs = |list: &[(String, String)]| -> Vec<String> {
            list.iter().map(|(n, v)| format!("{n}={v}")).collect()
        };
        let mut p = Map::new();
        p.insert("engine".into(), json!(concat!("cascade ", env!("CARGO_PKG_VERSION"))));
        p.insert("file".into(), json!(ir.source.name()));
        p.insert("sha256".into(), json!(ir.source.sha256()));
        if !self.program.inner.data.is_empty() {
            p.insert("data".into(), json!(self.program.inner.data));
        }
        p.insert("seed".into(), json!(o.seed));
        p.insert("runs".into(), json!(o.runs));
        p.insert("sample".into(), json!(if o.sample == super::Sample::Lhs { "lhs" } else { "grid" }));
        p.insert("vary".into(), json!(pairs(&o.vary)));
        p.insert("set".into(), json!(pairs(&o.set)));
        p.insert("record".into(), json!(o.record));
        p.insert("horizon".into(), json!(o.horizon.unwrap_or_else(|| self.program.horizon())));
        p.insert("points".into(), json!(self.points.len()));
        p.insert("paths".into(), json!(self.total_paths()));
        p.insert("format".into(), json!(format.name()));
        p.insert("summary".into(), json!(summary));
        if let Some(shard) = o.shard {
            p.insert("shard".into(), json!(shard.to_string()));
        }
        Json::Object(p)
    }

    /// The provenance as a file (`FILE.provenance.json`, pretty JSON), in the
    /// shape of `cascade run`'s: `{ "provenance": { ... } }`, with
    /// `"interrupted": {"done": D, "paths": P}` in the provenance when `end`
    /// says the sweep stopped early.
    pub fn provenance_text(&self, format: OutputFormat, summary: bool, end: Option<SweepEnd>) -> String {
        let mut provenance = self.provenance(format, summary);
        if let Some(end) = end.filter(|e| e.stopped) {
            provenance["interrupted"] = self.interrupted(end);
        }
        sidecar_text(provenance)
    }

    fn interrupted(&self, end: SweepEnd) -> Json {
        json!({ "done": end.done, "paths": self.paths().end - self.paths().start })
    }

    /// The output of a summary: the final one, or a shard's partial state.
    pub fn summary_output(&self, summary: &Summary, format: OutputFormat, end: SweepEnd) -> String {
        let mut provenance = self.provenance(format, true);
        if end.stopped {
            provenance["interrupted"] = self.interrupted(end);
        }
        if self.options.shard.is_some() {
            let state = serde_json::to_string(&json!({ "partial_summary": summary })).unwrap_or_default();
            return format!(
                "{}\n{state}\n",
                serde_json::to_string(&json!({ "provenance": provenance })).unwrap_or_default()
            );
        }
        render(summary, format, provenance)
    }
}

/// A provenance document as it is written beside a CSV output:
/// `{ "provenance": ... }`, pretty, with a final newline.
fn sidecar_text(provenance: Json) -> String {
    let mut text = serde_json::to_string_pretty(&json!({ "provenance": provenance })).unwrap_or_default();
    text.push('\n');
    text
}

/// The provenance in a provenance document: its `provenance` object (a
/// document written before sweeps' took the shape of runs' is the provenance
/// itself).
fn sidecar_provenance(document: &str) -> Option<Map<String, Json>> {
    let json = serde_json::from_str::<Json>(document).ok()?;
    match json.get("provenance") {
        Some(inner) => inner.as_object().cloned(),
        None => json.as_object().cloned(),
    }
}

fn render(summary: &Summary, format: OutputFormat, provenance: Json) -> String {
    match format {
        OutputFormat::Csv => summary.to_csv(),
        OutputFormat::Json => summary.to_json(provenance),
    }
}

fn compact(json: &Json) -> String {
    serde_json::to_string(json).unwrap_or_default()
}

/// Writes the rows of a sweep as they come.
pub struct RowWriter<'a, W: Write> {
    sweep: &'a Sweep,
    format: OutputFormat,
    out: W,
    header: Vec<String>,
}

/// One CSV record, with the `csv` crate's quoting.
fn csv_line(record: &[String]) -> Vec<u8> {
    // A row is short: a writer's own buffer of the default 8 KB, zeroed for
    // each row, cost more than the row (the output is the same at any size).
    let mut writer = csv::WriterBuilder::new().buffer_capacity(256).from_writer(Vec::with_capacity(256));
    let _ = writer.write_record(record);
    writer.into_inner().unwrap_or_default()
}

impl<'a, W: Write> RowWriter<'a, W> {
    /// Writes the header (CSV) or the provenance line (JSON).
    pub fn new(sweep: &'a Sweep, format: OutputFormat, mut out: W) -> std::io::Result<RowWriter<'a, W>> {
        let header = sweep.header();
        match format {
            OutputFormat::Csv => out.write_all(&csv_line(&header))?,
            OutputFormat::Json => {
                let provenance = sweep.provenance(format, false);
                writeln!(out, "{}", compact(&json!({ "provenance": provenance })))?
            }
        }
        Ok(RowWriter { sweep, format, out, header })
    }

    /// Writes one path.
    pub fn write(&mut self, result: &PathResult) -> std::io::Result<()> {
        let row = self.sweep.row(result);
        match self.format {
            OutputFormat::Csv => self.out.write_all(&csv_line(&row))?,
            OutputFormat::Json => {
                let object: Map<String, Json> =
                    self.header.iter().cloned().zip(row.into_iter().map(Json::String)).collect();
                writeln!(self.out, "{}", compact(&Json::Object(object)))?;
            }
        }
        Ok(())
    }

    /// Ends the output; stopped JSON rows say how far they got (a stopped
    /// CSV says so in its provenance: [`Sweep::provenance_text`]).
    pub fn finish(mut self, end: SweepEnd) -> std::io::Result<W> {
        if end.stopped && self.format == OutputFormat::Json {
            let interrupted = self.sweep.interrupted(end);
            writeln!(self.out, "{}", compact(&json!({ "interrupted": interrupted })))?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn refuse(message: String, help: &str) -> MergeError {
    MergeError { message, help: Some(help.to_string()) }
}

struct Part<'a> {
    name: &'a str,
    provenance: Map<String, Json>,
    body: &'a str,
    shard: (u64, u64),
}

/// The output of one shard, for [`merge_outputs`].
#[derive(Clone, Debug, Default)]
pub struct ShardOutput {
    /// Its name in messages (the file's path).
    pub name: String,
    /// What `cascade sweep --shard K/N` wrote.
    pub text: String,
    /// For a CSV output, its provenance document (`FILE.provenance.json`:
    /// `{ "provenance": ... }`); JSON outputs carry theirs.
    pub provenance: Option<String>,
}

/// The output of the whole sweep, put together from its shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// What the unsharded sweep writes.
    pub text: String,
    /// Its provenance document, as [`Sweep::provenance_text`] gives it (for
    /// a CSV output's `FILE.provenance.json`): `{ "provenance": ... }`.
    pub provenance: String,
    /// True when the output is CSV (its provenance goes beside it).
    pub csv: bool,
}

/// Combines the outputs of the shards of one sweep (in any order) into
/// exactly the output of the unsharded sweep. Refuses outputs of different
/// scripts, seeds or options (naming the difference), missing or repeated
/// shards, and interrupted or incomplete ones.
pub fn merge_outputs(parts: &[ShardOutput]) -> Result<Merged, MergeError> {
    let again = "run the sweep again with the same script and options for every shard";
    if parts.is_empty() {
        return Err(refuse(String::from("no outputs to merge"), "give the files of every shard"));
    }
    let mut read = Vec::new();
    for ShardOutput { name, text, provenance } in parts {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        let inline = serde_json::from_str::<Json>(first).ok().and_then(|j| j.get("provenance").cloned());
        let (parsed, body) = match inline {
            Some(inline) => (inline.as_object().cloned(), rest),
            None => {
                let Some(sidecar) = provenance else {
                    return Err(refuse(
                        format!(
                            "`{name}` has no provenance: a CSV output's is in `{name}.provenance.json`, \
                             which is not there"
                        ),
                        "merge the files that `cascade sweep --shard K/N -o FILE` wrote, with the \
                         `FILE.provenance.json` beside each",
                    ));
                };
                (sidecar_provenance(sidecar), text.as_str())
            }
        };
        let Some(provenance) = parsed.filter(|p| p.contains_key("sha256")) else {
            return Err(refuse(
                format!("`{name}` is not the output of `cascade sweep`: its provenance is not a sweep's"),
                "merge the files that `cascade sweep --shard K/N` wrote",
            ));
        };
        let Some(shard) = provenance.get("shard").and_then(Json::as_str).and_then(parse_shard) else {
            return Err(refuse(
                format!("`{name}` is not a shard: it has no `shard` in its provenance"),
                "merge the outputs of `cascade sweep --shard K/N`",
            ));
        };
        read.push(Part { name, provenance, body, shard });
    }
    let first = &read[0];
    let strip = |p: &Map<String, Json>| -> Map<String, Json> {
        p.iter()
            .filter(|(k, _)| *k != "shard" && *k != "interrupted")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    // The data files are compared by name and hash, as the script is: the
    // same bytes at another path (another machine) are the same data.
    let without_paths = |mut p: Map<String, Json>| -> Map<String, Json> {
        if let Some(Json::Array(files)) = p.get_mut("data") {
            for file in files.iter_mut().filter_map(Json::as_object_mut) {
                file.remove("path");
            }
        }
        p
    };
    let base = strip(&first.provenance);
    let base_compared = without_paths(base.clone());
    for part in &read[1..] {
        let other = without_paths(strip(&part.provenance));
        let base = &base_compared;
        // The script first (by its hash: a copy at another path on another
        // machine is the same script), then every option.
        let mut keys: Vec<&String> = base.keys().chain(other.keys()).filter(|k| *k != "file").collect();
        keys.sort_by_key(|k| (k.as_str() != "sha256", k.as_str()));
        keys.dedup();
        for key in keys {
            let (a, b) = (base.get(key), other.get(key));
            if a != b {
                let show = |v: Option<&Json>| v.map_or_else(|| String::from("nothing"), compact);
                let what = match key.as_str() {
                    "sha256" => String::from("script (its SHA-256)"),
                    other => format!("`{other}`"),
                };
                return Err(refuse(
                    format!(
                        "`{}` and `{}` are shards of different sweeps: their {what} differs ({} and {})",
                        first.name,
                        part.name,
                        show(a),
                        show(b)
                    ),
                    again,
                ));
            }
        }
    }
    let count = first.shard.1;
    let mut by_index: BTreeMap<u64, &Part> = BTreeMap::new();
    for part in &read {
        if part.shard.1 != count {
            return Err(refuse(
                format!(
                    "`{}` is shard {}/{} but `{}` is shard {}/{}: the sweeps were cut differently",
                    first.name, first.shard.0, first.shard.1, part.name, part.shard.0, part.shard.1
                ),
                "merge shards of one `--shard K/N` series, the same N for all",
            ));
        }
        if let Some(previous) = by_index.insert(part.shard.0, part) {
            return Err(refuse(
                format!(
                    "shard {}/{count} is given twice: `{}` and `{}`",
                    part.shard.0, previous.name, part.name
                ),
                "give each shard once",
            ));
        }
        if let Some(interrupted) =
            part.provenance.get("interrupted").or_else(|| interrupted_marker(part.body))
        {
            return Err(refuse(
                format!(
                    "`{}` (shard {}/{count}) was interrupted: {}",
                    part.name,
                    part.shard.0,
                    compact(interrupted)
                ),
                "run that shard again to the end",
            ));
        }
    }
    let missing: Vec<String> =
        (1..=count).filter(|k| !by_index.contains_key(k)).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(refuse(
            format!("shard {} is missing", missing.join(", ")),
            "give the output of every shard",
        ));
    }
    let total = base.get("paths").and_then(Json::as_u64).unwrap_or(0);
    let summary = base.get("summary").and_then(Json::as_bool).unwrap_or(false);
    let format = match base.get("format").and_then(Json::as_str) {
        Some("json") => OutputFormat::Json,
        _ => OutputFormat::Csv,
    };
    let provenance = Json::Object(base.clone());
    let provenance_text = sidecar_text(provenance.clone());
    let done = |text: String, csv: bool| Merged { text, provenance: provenance_text.clone(), csv };
    if summary {
        let mut merged: Option<Summary> = None;
        for part in by_index.values() {
            let state = part
                .body
                .lines()
                .find_map(|l| serde_json::from_str::<Json>(l).ok()?.get("partial_summary").cloned())
                .and_then(|s| serde_json::from_value::<Summary>(s).ok())
                .ok_or_else(|| refuse(format!("`{}` has no summary state", part.name), again))?;
            match &mut merged {
                None => merged = Some(state),
                Some(m) => {
                    if m.layout != state.layout {
                        return Err(refuse(format!("`{}` summarises different points", part.name), again));
                    }
                    m.merge(&state);
                }
            }
        }
        let Some(merged) = merged else { return Err(refuse(String::from("no summary to merge"), again)) };
        if merged.paths() != total {
            return Err(refuse(format!("the shards hold {} of {total} paths", merged.paths()), again));
        }
        return Ok(done(render(&merged, format, provenance), format == OutputFormat::Csv));
    }
    let mut out = String::new();
    let mut rows = 0u64;
    match format {
        OutputFormat::Csv => {
            let mut header: Option<&str> = None;
            for part in by_index.values() {
                let (columns, body) = part.body.split_once('\n').unwrap_or((part.body, ""));
                if header.is_some_and(|h| h != columns) {
                    return Err(refuse(format!("`{}` has different columns", part.name), again));
                }
                if header.is_none() {
                    out.push_str(columns);
                    out.push('\n');
                    header = Some(columns);
                }
                let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body.as_bytes());
                let n = reader.byte_records().count() as u64;
                check_rows(part, n, total, count)?;
                rows += n;
                out.push_str(body);
            }
        }
        OutputFormat::Json => {
            out.push_str(&compact(&json!({ "provenance": provenance })));
            out.push('\n');
            for part in by_index.values() {
                let n = part.body.lines().filter(|l| !l.is_empty()).count() as u64;
                check_rows(part, n, total, count)?;
                rows += n;
                out.push_str(part.body);
            }
        }
    }
    if rows != total {
        return Err(refuse(format!("the shards hold {rows} of {total} paths"), again));
    }
    Ok(done(out, format == OutputFormat::Csv))
}

fn check_rows(part: &Part, n: u64, total: u64, count: u64) -> Result<(), MergeError> {
    let k = part.shard.0;
    let cut = |k: u64| (total as u128 * k as u128 / count as u128) as u64;
    let expected = cut(k) - cut(k - 1);
    if n != expected {
        return Err(refuse(
            format!(
                "`{}` (shard {k}/{count}) has {n} rows, not the {expected} paths of that shard",
                part.name
            ),
            "run that shard again to the end",
        ));
    }
    Ok(())
}

fn interrupted_marker(body: &str) -> Option<&'static Json> {
    static MARK: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    let found = body.lines().rev().take(2).any(|l| l.starts_with("{\"interrupted\""));
    found.then(|| MARK.get_or_init(|| json!("the output ends early")))
}

fn parse_shard(text: &str) -> Option<(u64, u64)> {
    let (k, n) = text.split_once('/')?;
    let (k, n) = (k.parse().ok()?, n.parse().ok()?);
    (k >= 1 && k <= n).then_some((k, n))
}

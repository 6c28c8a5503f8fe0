//! What a run reports: names of values, the trace (JSON), the text timeline and
//! final table, CSV rows, and expectation results.

use std::fmt::Write as _;

use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value as Json, json};

use crate::diagnostic::{Diagnostics, Problem};
use crate::engine::{Error, Run};
use crate::eval::trace::{EventKind, ReadKey};
use crate::eval::{Evaluator, Fault, display_value};
use crate::ir::{FieldRef, Ir};
use crate::value::{Value, exact};

/// Something that can be read by name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Param(u32),
    Slot(u32),
    Derived(u32),
    Series(u32),
    Step,
    Date,
}

/// Resolves `name`, `entity.field`, `step` or `date`.
pub(crate) fn resolve_target(ir: &Ir, name: &str) -> Result<Target, Error> {
    let unknown = |help: Option<String>| Error::UnknownName { name: name.to_string(), help };
    // Field names have no `.`; an entity's name from data may (`Acme Inc.`).
    if let Some((entity, field)) = name.rsplit_once('.') {
        let Some((e, def)) = ir.entities.iter().enumerate().find(|(_, x)| x.name == entity) else {
            return Err(unknown(crate::diagnostic::did_you_mean(
                entity,
                ir.entities.iter().map(|x| x.name.as_str()),
            )));
        };
        let kind = &ir.kinds[def.kind as usize];
        let field_ref = match field {
            "defaulted" => FieldRef::Defaulted,
            "defaulted_at" => FieldRef::DefaultedAt,
            _ => match kind.field(field) {
                Some((_, f)) if f.derived => FieldRef::Derived(f.index),
                Some((_, f)) => FieldRef::Stored(f.index),
                None => {
                    let fields: Vec<&str> = kind.fields.iter().map(|f| f.name.as_str()).collect();
                    return Err(unknown(Some(format!(
                        "fields of {} ({entity}) are: {}, defaulted, defaulted_at",
                        kind.name,
                        fields.join(", ")
                    ))));
                }
            },
        };
        let _ = e;
        return Ok(match field_ref {
            FieldRef::Stored(i) => Target::Slot(def.slot_base + i),
            FieldRef::Defaulted => Target::Slot(def.slot_base + kind.stored_count),
            FieldRef::DefaultedAt => Target::Slot(def.slot_base + kind.stored_count + 1),
            FieldRef::Derived(i) => Target::Derived(def.derived_base + i),
        });
    }
    if name == "step" {
        return Ok(Target::Step);
    }
    if name == "date" {
        return Ok(Target::Date);
    }
    let find = |list: &[crate::ir::Global]| list.iter().position(|g| g.name == name).map(|i| i as u32);
    if let Some(p) = find(&ir.params) {
        return Ok(Target::Param(p));
    }
    if let Some(v) = find(&ir.vars) {
        return Ok(Target::Slot(v));
    }
    if let Some(l) = find(&ir.lets) {
        return Ok(Target::Derived(l));
    }
    if let Some(s) = ir.series.iter().position(|s| s.name == name) {
        return Ok(Target::Series(s as u32));
    }
    let names = ir
        .params
        .iter()
        .chain(&ir.vars)
        .chain(&ir.lets)
        .map(|g| g.name.as_str())
        .chain(ir.series.iter().map(|s| s.name.as_str()));
    let mut help = crate::diagnostic::did_you_mean(name, names);
    if help.is_none() && ir.entities.iter().any(|e| e.name == name) {
        help = Some(format!("`{name}` is an entity: ask for one of its fields, e.g. `{name}.defaulted`"));
    }
    Err(unknown(help))
}

pub(crate) fn read_target(ev: &mut Evaluator, target: Target) -> Result<Value, Fault> {
    Ok(match target {
        Target::Param(p) => ev.st.params[p as usize].clone(),
        Target::Slot(s) => ev.st.slots[s as usize].clone(),
        Target::Derived(d) => ev.derived(d, crate::source::Span::default())?,
        Target::Series(s) => ev.st.series[s as usize].clone(),
        Target::Step => Value::Number(ev.st.step.into()),
        Target::Date => ev.st.date.map_or(Value::None, Value::Date),
    })
}

/// `var` or `entity.field` for a slot.
pub(crate) fn slot_name(ir: &Ir, slot: u32) -> String {
    if (slot as usize) < ir.vars.len() {
        return ir.vars[slot as usize].name.clone();
    }
    let e = ir.entities.partition_point(|x| x.slot_base <= slot).saturating_sub(1);
    let entity = &ir.entities[e];
    let kind = &ir.kinds[entity.kind as usize];
    let offset = slot - entity.slot_base;
    let field = if offset == kind.stored_count {
        "defaulted"
    } else if offset == kind.stored_count + 1 {
        "defaulted_at"
    } else {
        kind.fields.iter().find(|f| !f.derived && f.index == offset).map_or("?", |f| f.name.as_str())
    };
    format!("{}.{field}", entity.name)
}

/// `let` or `entity.field` for a derived cell.
pub(crate) fn derived_name(ir: &Ir, d: u32) -> String {
    if (d as usize) < ir.lets.len() {
        return ir.lets[d as usize].name.clone();
    }
    let e = ir.entities.partition_point(|x| x.derived_base <= d).saturating_sub(1);
    let entity = &ir.entities[e];
    let kind = &ir.kinds[entity.kind as usize];
    let offset = d - entity.derived_base;
    let field = kind.fields.iter().find(|f| f.derived && f.index == offset).map_or("?", |f| f.name.as_str());
    format!("{}.{field}", entity.name)
}

pub(crate) fn read_name(ir: &Ir, key: ReadKey) -> String {
    match key {
        ReadKey::Slot(s) => slot_name(ir, s),
        ReadKey::Derived(d) => derived_name(ir, d),
        ReadKey::Series(s) => ir.series[s as usize].name.clone(),
        ReadKey::Param(p) => ir.params[p as usize].name.clone(),
        ReadKey::Clock => String::from("step"),
    }
}

/// A value in exact form for JSON: numbers as strings, entities by name.
fn json_value(ir: &Ir, value: &Value) -> Json {
    match value {
        Value::Number(n) => Json::String(exact(*n)),
        Value::Bool(b) => Json::Bool(*b),
        Value::None => Json::Null,
        other => Json::String(display_value(ir, other)),
    }
}

/// A value in exact form for CSV.
fn csv_value(ir: &Ir, value: &Value) -> String {
    match value {
        Value::Number(n) => exact(*n),
        Value::None => String::new(),
        other => display_value(ir, other),
    }
}

/// Whether an `expect` or `assert` held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// `expect` or `assert`.
    pub kind: &'static str,
    /// Its source text.
    pub text: String,
    /// Its line.
    pub line: usize,
    /// Whether it held.
    pub passed: bool,
    /// The step at which it was checked (for an assert: where it first failed).
    pub step: Option<u64>,
    /// The values it read, `name = value`, or why it could not be checked.
    pub detail: String,
}

/// Something that happened during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The step.
    pub step: u64,
    /// `default`, `emit` or `stop`.
    pub kind: &'static str,
    /// The defaulted entity, the emitted text or the stop reason.
    pub text: String,
    /// The rule that caused it (`margin_call`, or `rule at line 31`).
    pub rule: String,
}

impl Run {
    /// Results of every `expect` and `assert` checked so far (all of them once the run has ended).
    pub fn expectations(&self) -> Vec<Expectation> {
        let ir = &self.program.inner.ir;
        self.machine
            .outcomes
            .iter()
            .map(|o| {
                let span = if o.assert {
                    ir.asserts[o.index as usize].span
                } else {
                    ir.expects[o.index as usize].span
                };
                Expectation {
                    kind: if o.assert { "assert" } else { "expect" },
                    text: span.text(ir.source.text()).to_string(),
                    line: ir.source.line_of(span.start),
                    passed: o.passed,
                    step: o.step,
                    detail: o.detail.clone(),
                }
            })
            .collect()
    }

    /// Every failed expectation as a diagnostic at its span, with the values it read.
    pub fn failed_expectations(&self) -> Diagnostics {
        let ir = &self.program.inner.ir;
        let mut problems = Vec::new();
        for o in self.machine.outcomes.iter().filter(|o| !o.passed) {
            let (span, what) = if o.assert {
                (ir.asserts[o.index as usize].span, "assertion")
            } else {
                (ir.expects[o.index as usize].span, "expectation")
            };
            let when = match o.step {
                Some(step) => match ir.scenario.date_of(step) {
                    Some(date) => format!(" at step {step} ({date})"),
                    None => format!(" at step {step}"),
                },
                None => String::new(),
            };
            let code = if o.assert { "cascade::test::assert_failed" } else { "cascade::test::expect_failed" };
            let mut problem =
                Problem::error(code, format!("{what} failed{when}")).label(span, "does not hold");
            if !o.detail.is_empty() {
                problem = problem.help(o.detail.clone());
            }
            problems.push(problem);
        }
        Diagnostics::new(&ir.source, problems)
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events_since(0)
    }

    /// The events from number `first` on.
    pub(crate) fn events_since(&self, first: usize) -> Vec<Event> {
        let ir = &self.program.inner.ir;
        let log = &self.machine.log;
        log.events[first.min(log.events.len())..]
            .iter()
            .map(|e| {
                let (kind, text) = match &e.kind {
                    EventKind::Default(entity) => ("default", ir.entities[*entity as usize].name.clone()),
                    EventKind::Emit(text) => ("emit", text.clone()),
                    EventKind::Stop(reason) => ("stop", reason.clone()),
                };
                Event { step: e.step, kind, text, rule: self.firing_label(e.cause) }
            })
            .collect()
    }

    /// `margin_call [l = coreweave]`
    pub(crate) fn firing_label(&self, firing: u32) -> String {
        let ir = &self.program.inner.ir;
        if firing == crate::eval::BY_HAND {
            return String::from("set by hand");
        }
        let Some(f) = self.machine.log.firings.get(firing as usize) else { return String::from("?") };
        let rule = &ir.rules[f.rule as usize];
        if f.bindings.is_empty() {
            return rule.label.clone();
        }
        let bindings: Vec<String> = rule
            .binders
            .iter()
            .zip(f.bindings.iter())
            .map(|((n, _), e)| format!("{n} = {}", ir.entities[*e as usize].name))
            .collect();
        format!("{} [{}]", rule.label, bindings.join(", "))
    }

    /// The whole trace, serialisable (JSON: see `docs/language.md`).
    pub fn trace(&self) -> Trace<'_> {
        Trace { run: self }
    }

    /// Column names for [`Run::csv_row`]: `step`, `date` (with a start date),
    /// each var, then each entity's fields as `entity.field` and `entity.defaulted`.
    pub fn csv_header(&self) -> Vec<String> {
        let ir = &self.program.inner.ir;
        let mut header = vec![String::from("step")];
        if ir.scenario.start.is_some() {
            header.push(String::from("date"));
        }
        header.extend(ir.vars.iter().map(|v| v.name.clone()));
        for entity in &ir.entities {
            let kind = &ir.kinds[entity.kind as usize];
            for field in &kind.fields {
                header.push(format!("{}.{}", entity.name, field.name));
            }
            header.push(format!("{}.defaulted", entity.name));
        }
        header
    }

    /// The current values, in the order of [`Run::csv_header`], exact.
    pub fn csv_row(&mut self) -> Result<Vec<String>, Error> {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let mut row = vec![self.machine.st.step.to_string()];
        if ir.scenario.start.is_some() {
            row.push(ir.scenario.date_of(self.machine.st.step).map_or_else(String::new, |d| d.to_string()));
        }
        for v in 0..ir.vars.len() {
            row.push(csv_value(ir, &self.machine.st.slots[v]));
        }
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        for entity in &ir.entities {
            let kind = &ir.kinds[entity.kind as usize];
            for field in &kind.fields {
                let value = if field.derived {
                    ev.derived(entity.derived_base + field.index, field.span).map_err(|fault| {
                        let problem = crate::eval::RunFault {
                            fault,
                            context: vec![format!(
                                "while computing `{}.{}` for the output",
                                entity.name, field.name
                            )],
                        }
                        .into_problem();
                        Error::Script(Box::new(Diagnostics::new(&ir.source, vec![problem])))
                    })?
                } else {
                    ev.st.slots[(entity.slot_base + field.index) as usize].clone()
                };
                row.push(csv_value(ir, &value));
            }
            row.push(csv_value(ir, &ev.st.slots[(entity.slot_base + kind.stored_count) as usize]));
        }
        Ok(row)
    }

    /// A readable report: the event timeline, the final values and the
    /// expectations. With `changes`, every change of a stored value too.
    pub fn text_report(&mut self, changes: bool) -> String {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let mut out = String::new();
        let title = ir.scenario.title.clone().unwrap_or_else(|| ir.source.name().to_string());
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "{}", "=".repeat(title.chars().count()));
        let when = |step: u64| ir.scenario.date_of(step).map_or_else(String::new, |d| d.to_string());
        let log = &self.machine.log;
        // (step, cause, changes before events, order) keeps each firing's records together.
        let mut lines: Vec<(u64, u32, u8, usize, String)> = Vec::new();
        for (n, e) in log.events.iter().enumerate() {
            let text = match &e.kind {
                EventKind::Default(entity) => format!("{} DEFAULTS", ir.entities[*entity as usize].name),
                EventKind::Emit(text) => text.clone(),
                EventKind::Stop(reason) => format!("STOP: {reason}"),
            };
            lines.push((e.step, e.cause, 1, n, format!("{text}  ({})", self.firing_label(e.cause))));
        }
        if changes {
            for (n, c) in log.changes.iter().enumerate() {
                let text = format!(
                    "{} {} -> {}",
                    slot_name(ir, c.slot),
                    display_value(ir, &c.from),
                    display_value(ir, &c.to)
                );
                lines.push((c.step, c.cause, 0, n, format!("{text}  ({})", self.firing_label(c.cause))));
            }
        }
        lines.sort_by_key(|(step, cause, kind, n, _)| (*step, *cause, *kind, *n));
        let dated = ir.scenario.start.is_some();
        let date_width = lines.iter().map(|l| when(l.0).len()).max().unwrap_or(0);
        if lines.is_empty() {
            let _ = writeln!(out, "\nNo events.");
        } else {
            let _ = writeln!(out, "\nTimeline");
            for (step, _, _, _, text) in &lines {
                if dated {
                    let _ = writeln!(out, "  {step:>4}  {:<date_width$}  {text}", when(*step));
                } else {
                    let _ = writeln!(out, "  {step:>4}  {text}");
                }
            }
        }
        let step = self.machine.st.step;
        let end = match self.stop_reason() {
            Some(reason) => format!("stopped at step {step}: {reason}"),
            None => format!("after step {step}"),
        };
        let date = if dated { format!(" ({})", when(step)) } else { String::new() };
        let _ = writeln!(out, "\nFinal state, {end}{date}");
        if !ir.vars.is_empty() {
            let width = ir.vars.iter().map(|v| v.name.len()).max().unwrap_or(0);
            for (v, var) in ir.vars.iter().enumerate() {
                let _ =
                    writeln!(out, "  {:<width$}  {}", var.name, display_value(ir, &self.machine.st.slots[v]));
            }
        }
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        for kind in &ir.kinds {
            if kind.entities.is_empty() {
                continue;
            }
            let mut table: Vec<Vec<String>> = Vec::new();
            let mut header = vec![kind.name.clone()];
            header.extend(kind.fields.iter().map(|f| f.name.clone()));
            header.push(String::from("defaulted"));
            table.push(header);
            for &e in &kind.entities {
                let entity = &ir.entities[e as usize];
                let mut row = vec![entity.name.clone()];
                for field in &kind.fields {
                    let value = if field.derived {
                        ev.derived(entity.derived_base + field.index, field.span)
                            .map_or_else(|f| format!("<{}>", f.message), |v| display_value(ir, &v))
                    } else {
                        display_value(ir, &ev.st.slots[(entity.slot_base + field.index) as usize])
                    };
                    row.push(value);
                }
                let at = &ev.st.slots[(entity.slot_base + kind.stored_count + 1) as usize];
                row.push(match at.as_number() {
                    Some(n) => {
                        let s: u64 = n.try_into().unwrap_or(0);
                        if dated { format!("step {s} ({})", when(s)) } else { format!("step {s}") }
                    }
                    None => String::from("no"),
                });
                table.push(row);
            }
            out.push('\n');
            out.push_str(&format_table(&table));
        }
        let results = self.expectations();
        if !results.is_empty() {
            let passed = results.iter().filter(|r| r.passed).count();
            let _ = writeln!(out, "\nExpectations: {passed} passed, {} failed", results.len() - passed);
        }
        out
    }
}

fn format_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> =
            row.iter()
                .enumerate()
                .map(|(c, s)| {
                    if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) }
                })
                .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
        if i == 0 {
            let _ =
                writeln!(out, "  {}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    out
}

/// The trace of a run: provenance, initial values, every step's firings,
/// changes and events, how it ended, and the expectations.
pub struct Trace<'a> {
    run: &'a Run,
}

impl Trace<'_> {
    /// The trace as a JSON value.
    pub fn to_json(&self) -> Json {
        let run = self.run;
        let ir = &run.program.inner.ir;
        let m = &run.machine;
        let mut params = Map::new();
        for (p, param) in ir.params.iter().enumerate() {
            params.insert(param.name.clone(), json_value(ir, &m.st.params[p]));
        }
        let mut initial = Map::new();
        for (slot, value) in m.initial.iter().enumerate() {
            initial.insert(slot_name(ir, slot as u32), json_value(ir, value));
        }
        let mut steps = Vec::new();
        for (index, mark) in m.log.steps.iter().enumerate() {
            let (firings, changes, events) = m.log.ranges(index);
            let firings: Vec<Json> = firings
                .map(|f| {
                    let record = &m.log.firings[f];
                    let rule = &ir.rules[record.rule as usize];
                    let mut bindings = Map::new();
                    for ((name, _), e) in rule.binders.iter().zip(record.bindings.iter()) {
                        bindings.insert(name.clone(), Json::String(ir.entities[*e as usize].name.clone()));
                    }
                    let mut read = Map::new();
                    for (key, value) in &record.reads {
                        read.insert(read_name(ir, *key), json_value(ir, value));
                    }
                    json!({ "id": f, "rule": rule.label, "line": rule.line, "bindings": bindings, "read": read })
                })
                .collect();
            let changes: Vec<Json> = changes
                .map(|c| {
                    let record = &m.log.changes[c];
                    let mut change = json!({
                        "target": slot_name(ir, record.slot),
                        "from": json_value(ir, &record.from),
                        "to": json_value(ir, &record.to),
                        "cause": record.cause,
                    });
                    if record.delayed {
                        change["delayed"] = Json::Bool(true);
                    }
                    change
                })
                .collect();
            let events: Vec<Json> = events
                .map(|e| {
                    let record = &m.log.events[e];
                    match &record.kind {
                        EventKind::Default(entity) => json!({ "kind": "default", "entity": ir.entities[*entity as usize].name, "cause": record.cause }),
                        EventKind::Emit(text) => json!({ "kind": "emit", "text": text, "cause": record.cause }),
                        EventKind::Stop(reason) => json!({ "kind": "stop", "reason": reason, "cause": record.cause }),
                    }
                })
                .collect();
            let mut step =
                json!({ "step": mark.step, "firings": firings, "changes": changes, "events": events });
            if let Some(date) = mark.date {
                step["date"] = Json::String(date.to_string());
            }
            steps.push(step);
        }
        let end = match &m.end {
            Some(crate::eval::End::Stopped(reason)) => {
                json!({ "step": m.st.step, "reason": "stop", "message": reason })
            }
            Some(crate::eval::End::Horizon) => json!({ "step": m.st.step, "reason": "horizon" }),
            None => json!({ "step": m.st.step, "reason": "running" }),
        };
        let expectations: Vec<Json> = run
            .expectations()
            .into_iter()
            .map(|e| json!({ "kind": e.kind, "line": e.line, "source": e.text, "passed": e.passed, "step": e.step, "detail": e.detail }))
            .collect();
        let mut provenance = json!({
            "engine": concat!("cascade ", env!("CARGO_PKG_VERSION")),
            "file": ir.source.name(),
            "sha256": ir.source.sha256(),
            "params": params,
            "horizon": m.horizon,
            "step_unit": ir.scenario.unit,
        });
        if !run.program.inner.data.is_empty() {
            provenance["data"] = json!(run.program.inner.data);
        }
        if let Some(title) = &ir.scenario.title {
            provenance["scenario"] = Json::String(title.clone());
        }
        if let Some(start) = ir.scenario.start {
            provenance["start"] = Json::String(start.to_string());
        }
        json!({
            "provenance": provenance,
            "initial": initial,
            "steps": steps,
            "end": end,
            "expectations": expectations,
        })
    }
}

impl Serialize for Trace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

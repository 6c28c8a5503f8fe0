//! What a run reports: names of values, the trace (JSON), the text timeline and
//! final table, CSV rows, and expectation results.

mod columns;
mod text;
mod trace;

pub use columns::Column;
pub use trace::Trace;

use serde_json::Value as Json;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::engine::{Error, Run};
use crate::eval::trace::{EventKind as LogEvent, ReadKey};
use crate::eval::{Evaluator, Fault, display_value};
use crate::ir::{Cell, FieldRef, Ir, ModelSpec};
use crate::value::{Value, exact};

/// Something that can be read by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        return Ok(match ir.cell(e as u32, field_ref) {
            Cell::Slot(slot) => Target::Slot(slot),
            Cell::Derived(d) => Target::Derived(d),
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
    if let Some(model) = ir.models.iter().find(|m| m.cell == d) {
        let kind = &ir.kinds[model.kind as usize].name;
        return match model.spec {
            ModelSpec::Clearing { .. } => format!("clearing {kind}"),
            ModelSpec::DebtRank { .. } => format!("debtrank {kind}"),
        };
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
        ReadKey::Losses(e) => format!("exposure_losses({})", ir.entities[e as usize].name),
        ReadKey::Model(m, e) => {
            let model = &ir.models[m as usize];
            let what = match model.spec {
                ModelSpec::Clearing { .. } => "clearing",
                ModelSpec::DebtRank { .. } => "debtrank",
            };
            match ir.entities.get(e as usize) {
                Some(entity) => format!("{what}({})", entity.name),
                None => format!("{what}({})", ir.kinds[model.kind as usize].name),
            }
        }
        ReadKey::ExposuresOf(e) => format!("exposures_of({})", ir.entities[e as usize].name),
        ReadKey::ExposuresTo(e) => format!("exposures_to({})", ir.entities[e as usize].name),
    }
}

/// A value in exact form for JSON: numbers as strings, entities by name.
pub(crate) fn json_value(ir: &Ir, value: &Value) -> Json {
    match value {
        Value::Number(n) => Json::String(exact(*n)),
        Value::Bool(b) => Json::Bool(*b),
        Value::None => Json::Null,
        other => Json::String(display_value(ir, other)),
    }
}

/// A value in exact form for CSV.
pub(crate) fn csv_value(ir: &Ir, value: &Value) -> String {
    match value {
        Value::Number(n) => exact(*n),
        Value::None => String::new(),
        other => display_value(ir, other),
    }
}

/// Which statement an [`Expectation`] is: serialised as `expect` or `assert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationKind {
    /// `expect COND` (checked at the end of the run).
    Expect,
    /// `assert COND` (checked at every step).
    Assert,
}

impl ExpectationKind {
    /// The keyword: `expect` or `assert`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectationKind::Expect => "expect",
            ExpectationKind::Assert => "assert",
        }
    }
}

impl std::fmt::Display for ExpectationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an `expect` or `assert` held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// `expect` or `assert`.
    pub kind: ExpectationKind,
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

/// What kind of [`Event`] happened: serialised as `default`, `emit` or `stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An entity defaulted.
    Default,
    /// A rule's `emit "text"`.
    Emit,
    /// A rule's `stop "reason"`.
    Stop,
}

impl EventKind {
    /// The name used in outputs: `default`, `emit` or `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Default => "default",
            EventKind::Emit => "emit",
            EventKind::Stop => "stop",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The step.
    pub step: u64,
    /// A default, an `emit` or a `stop`.
    pub kind: EventKind,
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
                    kind: if o.assert { ExpectationKind::Assert } else { ExpectationKind::Expect },
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
            let code = if o.assert { codes::test::assert_failed } else { codes::test::expect_failed };
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
                    LogEvent::Default(entity) => {
                        (EventKind::Default, ir.entities[*entity as usize].name.clone())
                    }
                    LogEvent::Emit(text) => (EventKind::Emit, text.clone()),
                    LogEvent::Stop(reason) => (EventKind::Stop, reason.clone()),
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
}

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
use crate::engine::Run;
use crate::eval::display_value;
use crate::eval::trace::{EventKind as LogEvent, ReadKey};
use crate::ir::{Ir, ModelSpec};
use crate::names::{derived_name, slot_name};
use crate::value::{Value, exact};

/// The name of a value a firing read, as the trace and explanations show it.
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

//! The JSON trace, whole ([`Trace::to_json`]) or in pieces that a streaming
//! writer emits as the run goes ([`Trace::provenance`], [`Trace::initial`],
//! [`Trace::step`], [`Trace::end`], [`Trace::expectations`]).

use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value as Json, json};

use crate::engine::Run;
use crate::eval::trace::EventKind;

use super::{json_value, read_name};
use crate::names::slot_name;

/// The trace of a run: provenance, initial values, every step's firings,
/// changes and events, how it ended, and the expectations.
pub struct Trace<'a> {
    pub(crate) run: &'a Run,
}

impl Trace<'_> {
    /// The trace as a JSON value.
    pub fn to_json(&self) -> Json {
        let steps: Vec<Json> = (0..self.steps()).filter_map(|i| self.step(i)).collect();
        json!({
            "provenance": self.provenance(),
            "initial": self.initial(),
            "steps": steps,
            "end": self.end(),
            "expectations": self.expectations(),
        })
    }

    /// The number of steps in the trace.
    pub fn steps(&self) -> usize {
        self.run.machine.log.steps.len()
    }

    /// Where the run came from: engine, script and its SHA-256, data files and
    /// their SHA-256, params, horizon, step unit, title and start.
    pub fn provenance(&self) -> Json {
        let run = self.run;
        let ir = &run.program.inner.ir;
        let m = &run.machine;
        let mut params = Map::new();
        for (p, param) in ir.params.iter().enumerate() {
            params.insert(param.name.clone(), json_value(ir, &m.st.params[p]));
        }
        let mut provenance = json!({
            "engine": concat!("cascade ", env!("CARGO_PKG_VERSION")),
            "file": ir.source.name(),
            "sha256": ir.source.sha256(),
            "params": params,
            "horizon": m.horizon,
            "step_unit": ir.scenario.unit,
            "seed": m.st.stream.seed(),
        });
        if !run.program.inner.data.is_empty() {
            provenance["data"] = json!(run.program.inner.data);
        }
        if let Some(path) = m.st.path {
            provenance["path"] = json!(path);
        }
        if let Some(title) = &ir.scenario.title {
            provenance["scenario"] = Json::String(title.clone());
        }
        if let Some(start) = ir.scenario.start {
            provenance["start"] = Json::String(start.to_string());
        }
        provenance
    }

    /// Every stored value before step 1, by name.
    pub fn initial(&self) -> Json {
        let ir = &self.run.program.inner.ir;
        let mut initial = Map::new();
        for (slot, value) in self.run.machine.initial.iter().enumerate() {
            initial.insert(slot_name(ir, slot as u32), json_value(ir, value));
        }
        Json::Object(initial)
    }

    /// The step at `index` of the trace (0 is the first step that ran): its
    /// firings with what they read, its changes and its events.
    pub fn step(&self, index: usize) -> Option<Json> {
        let ir = &self.run.program.inner.ir;
        let m = &self.run.machine;
        let mark = m.log.steps.get(index)?;
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
                    "cause": cause_json(record.cause),
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
                    EventKind::Default(entity) => json!({ "kind": "default", "entity": ir.entities[*entity as usize].name, "cause": cause_json(record.cause) }),
                    EventKind::Emit(text) => json!({ "kind": "emit", "text": text, "cause": cause_json(record.cause) }),
                    EventKind::Stop(reason) => json!({ "kind": "stop", "reason": reason, "cause": cause_json(record.cause) }),
                }
            })
            .collect();
        let mut step = json!({ "step": mark.step, "firings": firings, "changes": changes, "events": events });
        if let Some(date) = mark.date {
            step["date"] = Json::String(date.to_string());
        }
        Some(step)
    }

    /// How the run ended (or `running`).
    pub fn end(&self) -> Json {
        let m = &self.run.machine;
        match &m.end {
            Some(crate::eval::End::Stopped(reason)) => {
                json!({ "step": m.st.step, "reason": "stop", "message": reason })
            }
            Some(crate::eval::End::Horizon) => json!({ "step": m.st.step, "reason": "horizon" }),
            None => json!({ "step": m.st.step, "reason": "running" }),
        }
    }

    /// Every `expect` and `assert` checked so far.
    pub fn expectations(&self) -> Json {
        let expectations: Vec<Json> = self
            .run
            .expectations()
            .into_iter()
            .map(|e| json!({ "kind": e.kind, "line": e.line, "source": e.text, "passed": e.passed, "step": e.step, "detail": e.detail }))
            .collect();
        Json::Array(expectations)
    }
}

impl Serialize for Trace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// A change's or an event's cause in the trace: the firing's `id`, or `null`
/// for a value set by hand (the REPL's `:set`, `Run::set`).
fn cause_json(cause: u32) -> Json {
    if cause == crate::eval::BY_HAND { Json::Null } else { Json::from(cause) }
}

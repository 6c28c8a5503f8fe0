//! The causal chain: from a target back through firings, changes, derived
//! values, exposure losses and build-ups.

use std::collections::HashMap;

use super::rewind::Rewind;
use super::{Cause, CauseKind, Explanation, Read, why_not};
use crate::engine::{Error, Run};
use crate::eval::trace::{EventKind, ReadKey};
use crate::eval::{BY_HAND, display_value, series_value};
use crate::ir::{AtTime, Ir, Node, NodeKind, TriggerIr};
use crate::names::{Target, derived_name, resolve_target, slot_name, split_step};
use crate::report::{json_value, read_name};
use crate::value::Value;

/// At most this many nodes in one explanation: past it, causes are no longer followed.
const MAX_CAUSES: usize = 2_000;
/// Derived values and make-ups nest at most this deep (they do not count
/// against `depth`, which counts firings back in time).
const MAX_NESTING: usize = 64;
/// Stack to leave before following a cause, and the size of a new segment.
const RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// What has been shown, so that it is referred to instead of repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Shown {
    Change(usize),
    Derived(u32, usize),
    Losses(u32, usize),
    BuildUp(usize),
}

pub(super) struct Explainer<'a> {
    pub run: &'a Run,
    pub ir: &'a Ir,
    pub depth: usize,
    next_id: usize,
    nesting: usize,
    /// The step of the firing whose reads are being explained, and what it read.
    reading_at: u64,
    reading: Vec<(ReadKey, Value)>,
    pub shown: HashMap<Shown, usize>,
    /// Changes of each slot, in order.
    pub by_slot: HashMap<u32, Vec<usize>>,
}

impl<'a> Explainer<'a> {
    pub fn new(run: &'a Run, depth: usize) -> Explainer<'a> {
        let mut by_slot: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, change) in run.machine.log.changes.iter().enumerate() {
            by_slot.entry(change.slot).or_default().push(i);
        }
        Explainer {
            run,
            ir: &run.program.inner.ir,
            depth,
            next_id: 1,
            nesting: 0,
            reading_at: 0,
            reading: Vec::new(),
            shown: HashMap::new(),
            by_slot,
        }
    }

    pub fn id(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// True when no more causes should be followed.
    pub fn exhausted(&self) -> bool {
        self.next_id > MAX_CAUSES || self.nesting >= MAX_NESTING
    }

    pub fn when(&self, step: u64) -> Option<String> {
        self.ir.scenario.date_of(step).map(|d| d.to_string())
    }

    pub fn at(&self, step: u64) -> String {
        match self.when(step) {
            Some(date) => format!("step {step} ({date})"),
            None => format!("step {step}"),
        }
    }

    pub fn read_of(&self, name: String, value: &Value) -> Read {
        Read { name, text: display_value(self.ir, value), value: json_value(self.ir, value) }
    }

    /// The number of changes recorded up to the end of `step`.
    fn changes_until(&self, step: u64) -> usize {
        let log = &self.run.machine.log;
        let n = log.steps.partition_point(|m| m.step <= step);
        log.steps.get(n).map_or(log.changes.len(), |m| m.changes)
    }

    /// The last change of `slot` among the first `before` changes.
    pub fn last_change(&self, slot: u32, before: usize) -> Option<usize> {
        let list = self.by_slot.get(&slot)?;
        let n = list.partition_point(|&i| i < before);
        n.checked_sub(1).map(|k| list[k])
    }

    pub fn explain(&mut self, target: &str) -> Result<Explanation, Error> {
        let (name, limit) = self.parse_target(target)?;
        let ir = self.ir;
        let now = self.run.machine.st.step;
        let step = limit.map_or(now, |l| l.min(now));
        let end = self.changes_until(step);
        let explanation = |happened, summary, causes, why_not| Explanation {
            target: target.to_string(),
            happened,
            step,
            summary,
            causes,
            why_not,
        };
        // An entity: its default.
        if let Some(e) = ir.entities.iter().position(|x| x.name == name) {
            let event =
                self.run.machine.log.events.iter().find(|ev| {
                    matches!(ev.kind, EventKind::Default(x) if x as usize == e) && ev.step <= step
                });
            if let Some(event) = event {
                let summary = format!("{name} defaulted at {}", self.at(event.step));
                let cause = self.firing(event.cause, self.depth);
                return Ok(explanation(true, summary, vec![cause], Vec::new()));
            }
            let summary = if limit.is_some_and(|l| l < now) {
                format!("{name} had not defaulted by {}", self.at(step))
            } else if self.run.machine.end.is_some() {
                format!("{name} did not default (the run ended at {})", self.at(now))
            } else {
                format!("{name} has not defaulted by {} (the run goes on)", self.at(now))
            };
            let why_not = why_not::why_not(self.run, e as u32, step);
            return Ok(explanation(false, summary, Vec::new(), why_not));
        }
        match resolve_target(ir, &name)? {
            Target::Slot(slot) => {
                let label = slot_name(ir, slot);
                match self.last_change(slot, end) {
                    Some(index) => {
                        let change = &self.run.machine.log.changes[index];
                        let summary = format!(
                            "{label} is {} since {}",
                            display_value(ir, &change.to),
                            self.at(change.step)
                        );
                        let cause = self.slot_value(slot, index, self.depth);
                        Ok(explanation(true, summary, vec![cause], Vec::new()))
                    }
                    None => {
                        let value = &self.run.machine.initial[slot as usize];
                        let until =
                            if step < now { format!(" up to {}", self.at(step)) } else { String::new() };
                        let summary = format!(
                            "{label} has kept its initial value {}{until}: no rule changed it",
                            display_value(ir, value)
                        );
                        Ok(explanation(false, summary, Vec::new(), Vec::new()))
                    }
                }
            }
            Target::Derived(d) => {
                let mut rewind = Rewind::new(self.run);
                rewind.advance_to(step);
                let value = rewind
                    .evaluator()
                    .derived(d, crate::source::Span::default())
                    .map_err(|f| Error::BadValue { name: target.to_string(), reason: f.message.clone() })?;
                let summary = format!(
                    "{} is {} at {} (derived)",
                    derived_name(ir, d),
                    display_value(ir, &value),
                    self.at(step)
                );
                let cause = self.derived(d, Some(&value), end, self.depth, Some(&mut rewind));
                Ok(explanation(true, summary, vec![cause], Vec::new()))
            }
            Target::Param(p) => {
                let value = &self.run.machine.st.params[p as usize];
                let summary = format!("{name} is a param: {} for this run", display_value(ir, value));
                Ok(explanation(false, summary, Vec::new(), Vec::new()))
            }
            _ => {
                let summary = format!("{name} is an input of the run (a series or the clock)");
                Ok(explanation(false, summary, Vec::new(), Vec::new()))
            }
        }
    }

    /// `name`, `name@12` or `name@2026-06` → (name, last step to consider).
    fn parse_target(&self, target: &str) -> Result<(String, Option<u64>), Error> {
        Ok(split_step(self.ir, target, self.run.current_step(), self.run.is_finished())?)
    }

    /// A node for a firing: its rule, bindings and the values it read, and
    /// (`depth` permitting) what produced each of them.
    pub fn firing(&mut self, firing: u32, depth: usize) -> Cause {
        let ir = self.ir;
        let id = self.id();
        let log = &self.run.machine.log;
        let Some(record) = log.firings.get(firing as usize) else {
            return leaf(id, CauseKind::ByHand, String::from("set by hand"));
        };
        let rule = &ir.rules[record.rule as usize];
        let label = self.run.firing_label(firing);
        let condition = match &rule.trigger {
            TriggerIr::When(node) | TriggerIr::While(node) => node.span.text(ir.source.text()).to_string(),
            TriggerIr::At(AtTime::Step(step)) => format!("at step {step}"),
            TriggerIr::At(AtTime::Params(root)) => format!("at {}", root.node.span.text(ir.source.text())),
        };
        let text = if rule.name.is_some() {
            format!("by rule {label} (line {}): {condition}", rule.line)
        } else {
            format!("by the {label}: {condition}")
        };
        // `not x.defaulted` guards are in almost every rule: leave them out.
        let values: Vec<Read> = record
            .reads
            .iter()
            .filter(|(k, v)| {
                !(matches!(k, ReadKey::Slot(_))
                    && *v == Value::Bool(false)
                    && read_name(ir, *k).ends_with(".defaulted"))
            })
            .map(|(k, v)| self.read_of(read_name(ir, *k), v))
            .collect();
        let mut causes = Vec::new();
        if depth > 0 && !self.exhausted() {
            let before = record.changes_before;
            let outer = std::mem::replace(&mut self.reading_at, record.step);
            let outer_reads = std::mem::replace(&mut self.reading, record.reads.clone());
            for (key, value) in &record.reads {
                // One level of the chain is several calls deep: a chain of
                // `MAX_EXPLAIN_DEPTH` firings asks for more stack as it goes.
                let cause = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
                    self.read(*key, Some(value), before, depth - 1)
                });
                causes.extend(cause);
            }
            self.reading_at = outer;
            self.reading = outer_reads;
        }
        Cause {
            step: Some(record.step),
            date: self.when(record.step),
            rule: Some(label),
            line: Some(rule.line),
            values,
            causes,
            ..leaf(id, CauseKind::Rule, text)
        }
    }

    /// Where a value read before change number `before` came from.
    pub fn read(
        &mut self,
        key: ReadKey,
        value: Option<&Value>,
        before: usize,
        depth: usize,
    ) -> Option<Cause> {
        match key {
            // A value never changed is its initial value: the `read:` line shows it.
            ReadKey::Slot(slot) => {
                self.last_change(slot, before).map(|index| self.slot_value(slot, index, depth))
            }
            ReadKey::Derived(d) => Some(self.derived(d, value, before, depth, None)),
            ReadKey::Losses(e) => Some(self.losses(e, super::losses::Side::Losses, before, depth)),
            ReadKey::ExposuresOf(e) => Some(self.losses(e, super::losses::Side::Of, before, depth)),
            ReadKey::ExposuresTo(e) => Some(self.losses(e, super::losses::Side::To, before, depth)),
            ReadKey::Model(m, e) => self.model(m, e, before),
            ReadKey::Param(_) | ReadKey::Series(_) | ReadKey::Clock => None,
        }
    }

    /// A node for change number `index` and the firing that made it.
    pub fn change(&mut self, index: usize, depth: usize) -> Cause {
        let ir = self.ir;
        let change = &self.run.machine.log.changes[index];
        let name = slot_name(ir, change.slot);
        let text = format!(
            "{name} became {} at {} (was {})",
            display_value(ir, &change.to),
            self.at(change.step),
            display_value(ir, &change.from)
        );
        let value = Some(json_value(ir, &change.to));
        if let Some(&seen) = self.shown.get(&Shown::Change(index)) {
            let id = self.id();
            return Cause {
                see: Some(seen),
                step: Some(change.step),
                value,
                ..leaf(id, CauseKind::Rule, text)
            };
        }
        if change.cause == BY_HAND {
            let id = self.id();
            self.shown.insert(Shown::Change(index), id);
            return Cause {
                step: Some(change.step),
                value,
                ..leaf(id, CauseKind::ByHand, format!("{text}, set by hand"))
            };
        }
        let (cause_id, step, delayed) = (change.cause, change.step, change.delayed);
        let mut firing = self.firing(cause_id, depth);
        self.shown.insert(Shown::Change(index), firing.id);
        let scheduled = if delayed {
            let fired = self.run.machine.log.firings[cause_id as usize].step;
            format!(", scheduled at {}", self.at(fired))
        } else {
            String::new()
        };
        firing.text = format!("{text} {}{scheduled}", firing.text);
        firing.step = Some(step);
        firing.date = self.when(step);
        firing.value = value;
        firing
    }

    /// A derived value: its formula, its inputs' values before change number
    /// `before` (or, for a target, on `rewind`'s state), and their causes.
    pub fn derived(
        &mut self,
        d: u32,
        value: Option<&Value>,
        before: usize,
        depth: usize,
        mut rewind: Option<&mut Rewind>,
    ) -> Cause {
        let ir = self.ir;
        let id = self.id();
        let name = derived_name(ir, d);
        let (root, entity) = derived_formula(self.run, d);
        let formula = root.map(|node| node.span.text(ir.source.text()).to_string());
        let mut keys = Vec::new();
        if let Some(node) = root {
            node_leaves(ir, node, entity, &mut keys);
        }
        let mut values = Vec::new();
        let mut known = Vec::new();
        for &key in &keys {
            let value = match rewind.as_deref_mut() {
                Some(rewind) => rewind_value(rewind, key),
                None => self.value_before(key, before),
            };
            if let Some(v) = &value {
                values.push(self.read_of(read_name(ir, key), v));
            }
            known.push(value);
        }
        let mut text = match (&formula, value) {
            (Some(f), Some(v)) => format!("{name} = {f} is {}", display_value(ir, v)),
            (Some(f), None) => format!("{name} = {f}"),
            (None, _) => format!("{name} (derived)"),
        };
        if let Some(note) = self.solved_note(d, before, rewind) {
            text = format!("{text}, {note}");
        }
        if let Some(&seen) = self.shown.get(&Shown::Derived(d, before)) {
            return Cause { see: Some(seen), formula, ..leaf(id, CauseKind::Derived, text) };
        }
        self.shown.insert(Shown::Derived(d, before), id);
        let mut causes = Vec::new();
        if !self.exhausted() {
            self.nesting += 1;
            for (key, value) in keys.into_iter().zip(&known) {
                let cause = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
                    self.read(key, value.as_ref(), before, depth)
                });
                causes.extend(cause);
            }
            self.nesting -= 1;
        }
        Cause {
            value: value.map(|v| json_value(ir, v)),
            formula,
            values,
            causes,
            ..leaf(id, CauseKind::Derived, text)
        }
    }

    /// The value of `key` just before change number `before`, from the log.
    fn value_before(&self, key: ReadKey, before: usize) -> Option<Value> {
        let m = &self.run.machine;
        match key {
            ReadKey::Slot(slot) => Some(match self.last_change(slot, before) {
                Some(index) => m.log.changes[index].to.clone(),
                None => m.initial[slot as usize].clone(),
            }),
            ReadKey::Param(p) => m.st.params.get(p as usize).cloned(),
            ReadKey::Losses(e) => {
                self.loss_items(e, super::losses::Side::Losses, before).map(|(_, total)| Value::Number(total))
            }
            ReadKey::Series(s) => {
                let points = m.st.series_points.get(s as usize)?;
                series_value(&self.ir.series[s as usize], points, self.reading_at as i64).ok()
            }
            ReadKey::Clock => Some(Value::Number(self.reading_at.into())),
            // A derived value the firing being explained read too.
            ReadKey::Derived(_) => self.reading.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()),
            _ => None,
        }
    }
}

/// The value of `key` on a rebuilt state.
fn rewind_value(rewind: &mut Rewind, key: ReadKey) -> Option<Value> {
    let span = crate::source::Span::default();
    let mut ev = rewind.evaluator();
    match key {
        ReadKey::Slot(slot) => ev.st.slots.get(slot as usize).cloned(),
        ReadKey::Derived(d) => ev.derived(d, span).ok(),
        ReadKey::Series(s) => ev.st.series.get(s as usize).cloned(),
        ReadKey::Param(p) => ev.st.params.get(p as usize).cloned(),
        ReadKey::Clock => Some(Value::Number(ev.st.step.into())),
        ReadKey::Losses(e) => ev.exposure_losses(e, span).ok(),
        ReadKey::ExposuresOf(_) | ReadKey::ExposuresTo(_) | ReadKey::Model(..) => None,
    }
}

pub(super) fn leaf(id: usize, kind: CauseKind, text: String) -> Cause {
    Cause {
        id,
        kind,
        text,
        step: None,
        date: None,
        rule: None,
        line: None,
        value: None,
        formula: None,
        values: Vec::new(),
        loss: None,
        count: None,
        steps: None,
        causes: Vec::new(),
        see: None,
    }
}

/// A derived cell's formula and the entity that owns it (for `self`).
fn derived_formula(run: &Run, d: u32) -> (Option<&Node>, Option<u32>) {
    let inner = &run.program.inner;
    let ir = &inner.ir;
    let lets = ir.lets.len() as u32;
    if d < lets {
        return (Some(&ir.lets[d as usize].expr.node), None);
    }
    let Some(&(entity, field)) = inner.owners.get((d - lets) as usize) else { return (None, None) };
    let kind = &ir.kinds[ir.kind_of(entity) as usize];
    let node = kind.fields.iter().find(|f| f.derived && f.index == field).map(|f| &f.expr.node);
    (node, Some(entity))
}

/// The stored values, lets and exposure losses a formula reads directly.
fn node_leaves(ir: &Ir, node: &Node, entity: Option<u32>, keys: &mut Vec<ReadKey>) {
    let resolve = |object: &Node| match object.kind {
        NodeKind::Local(0) => entity,
        NodeKind::Const(Value::Entity(e)) => Some(e),
        _ => None,
    };
    // An explicit stack: formulas are as deep as the parser allows.
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        let key = match &node.kind {
            NodeKind::Param(p) => Some(ReadKey::Param(*p)),
            NodeKind::Var(v) => Some(ReadKey::Slot(*v)),
            NodeKind::Let(l) => Some(ReadKey::Derived(*l)),
            NodeKind::Series(s) => Some(ReadKey::Series(*s)),
            NodeKind::Field { object, field } => resolve(object).map(|e| ReadKey::of(ir.cell(e, *field))),
            NodeKind::ExposureLosses(object) => resolve(object).map(ReadKey::Losses),
            NodeKind::Model { model, object, .. } => match object {
                Some(object) => resolve(object).map(|e| ReadKey::Model(*model, e)),
                None => Some(ReadKey::Model(*model, u32::MAX)),
            },
            NodeKind::Aggregate(aggregate) => match &aggregate.source {
                crate::ir::AggregateSource::ExposuresOf(object) => resolve(object).map(ReadKey::ExposuresOf),
                crate::ir::AggregateSource::ExposuresTo(object) => resolve(object).map(ReadKey::ExposuresTo),
                crate::ir::AggregateSource::Kind(_) => None,
            },
            NodeKind::Unary(..) | NodeKind::Binary(..) | NodeKind::Call(..) | NodeKind::Host(..) => {
                // Children pushed in reverse, so that they pop in evaluation order.
                let at = stack.len();
                node.for_each_child(|child| stack.push(child));
                stack[at..].reverse();
                None
            }
            // Written out so that a new node is a compile error here. Not
            // followed: leaves that are no cell, a draw (its value is the
            // stream's), a local's exposure field, the branches of an `if` and
            // the pieces of a template (explained by the nodes they choose).
            NodeKind::Const(_)
            | NodeKind::Step
            | NodeKind::Date
            | NodeKind::Local(_)
            | NodeKind::Draw(..)
            | NodeKind::ExposureField { .. }
            | NodeKind::If(_)
            | NodeKind::Template(_) => None,
        };
        if let Some(key) = key
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
}

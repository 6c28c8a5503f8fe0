//! Why did it happen — and why not?
//!
//! Every firing records the values its condition and effects read, and every
//! change records the firing that made it. To explain a value we start from the
//! change (or default) that produced it, print the firing with its numbers, and
//! for each value it read find the change that produced *that* value before the
//! firing — back to initial values, params and series. A derived value is
//! explained by the stored values its formula reads. A cause already shown is
//! referred to by its number instead of repeated.
//!
//! When the target did not happen (an entity that never defaulted), we replay
//! the run and watch the conditions of the rules that could have caused it,
//! reporting each comparison's closest approach.

mod why_not;

use std::collections::HashMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::{Error, Run};
use crate::eval::trace::{EventKind, ReadKey};
use crate::eval::{BY_HAND, Evaluator, display_value};
use crate::ir::{EffectIr, EffectKindIr, FieldRef, Ir, Node, NodeKind, TriggerIr};
use crate::report::{Target, derived_name, read_name, resolve_target, slot_name};
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::Value;

/// The answer to "why?" about one target.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// What was asked about, as written.
    pub target: String,
    /// Whether the target happened (a default) or changed (a value).
    pub happened: bool,
    /// One line: what happened, when.
    pub summary: String,
    /// The causes, as a tree.
    pub causes: Vec<Cause>,
    /// When it did not happen: the rules that could have made it happen.
    pub why_not: Vec<Candidate>,
}

/// One node of the causal tree.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// Its number, for references from later nodes.
    pub id: usize,
    /// `rule`, `initial`, `param`, `series`, `by_hand`, `derived` or `clock`.
    pub kind: &'static str,
    /// What this node says, e.g. `h100_price became 0.9978`.
    pub text: String,
    /// The step, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The date of the step, if the scenario has dates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The rule that fired, with its bindings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rule's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The values the rule read, `name value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(String, String)>,
    /// What produced those values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// This cause was already shown as node `see`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see: Option<usize>,
}

/// A rule that could have made the target happen, and how close it came.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The rule and its bindings.
    pub rule: String,
    /// The rule's line.
    pub line: usize,
    /// For each comparison in its condition: how close it came.
    pub conditions: Vec<Approach>,
}

/// The closest approach of one comparison over the run.
#[derive(Clone, Debug, Serialize)]
pub struct Approach {
    /// The comparison as written.
    pub condition: String,
    /// True if it held at some step.
    pub held: bool,
    /// The step where it came closest (or first held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The values of its two sides there.
    pub values: String,
}

const DEFAULT_DEPTH: usize = 8;

/// The deepest causal chain [`Run::explain_tree`] follows. The walk, the
/// tree's rendering, its serialisation and its drop all recurse once per
/// level on the native stack, so the depth has a ceiling like the parser's:
/// 256 levels fit a debug build's 2 MB test thread with room to spare
/// (`tests/embed.rs`). A deeper request is refused, not clamped.
pub const MAX_EXPLAIN_DEPTH: usize = 256;

impl Run {
    /// Explains `target` (an entity: its default; `entity.field` or a var: its
    /// last change; add `@STEP` or `@DATE` for the change at or before then) as
    /// indented text.
    pub fn explain(&self, target: &str) -> Result<String, Error> {
        self.explain_tree(target, DEFAULT_DEPTH).map(|e| e.to_text())
    }

    /// The explanation as data (serialisable; see `docs/language.md` for the
    /// JSON), following causes `depth` levels back: at most
    /// [`MAX_EXPLAIN_DEPTH`]; a deeper request is an [`Error::BadValue`].
    pub fn explain_tree(&self, target: &str, depth: usize) -> Result<Explanation, Error> {
        if depth > MAX_EXPLAIN_DEPTH {
            return Err(Error::BadValue {
                name: String::from("depth"),
                reason: format!(
                    "{depth} is more than {MAX_EXPLAIN_DEPTH}, the deepest chain an explanation follows"
                ),
            });
        }
        Explainer::new(self, depth).explain(target)
    }
}

impl Explanation {
    /// The explanation as an indented tree.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.summary);
        for cause in &self.causes {
            write_cause(&mut out, cause, 1);
        }
        if !self.why_not.is_empty() {
            let _ = writeln!(out, "  rules that could have caused it:");
            for candidate in &self.why_not {
                let _ = writeln!(out, "    {} (line {})", candidate.rule, candidate.line);
                for approach in &candidate.conditions {
                    let when = approach.step.map_or_else(String::new, |s| format!(" at step {s}"));
                    let verb = if approach.held { "held" } else { "closest" };
                    let _ =
                        writeln!(out, "      `{}`: {verb}{when}: {}", approach.condition, approach.values);
                }
            }
        }
        out
    }
}

fn write_cause(out: &mut String, cause: &Cause, indent: usize) {
    let pad = "  ".repeat(indent);
    let mut line = format!("{pad}[{}] {}", cause.id, cause.text);
    if let Some(see) = cause.see {
        let _ = write!(line, " (see [{see}])");
    }
    let _ = writeln!(out, "{line}");
    if !cause.values.is_empty() {
        let values: Vec<String> = cause.values.iter().map(|(n, v)| format!("{n} {v}")).collect();
        let _ = writeln!(out, "{pad}    read: {}", values.join(", "));
    }
    for child in &cause.causes {
        write_cause(out, child, indent + 1);
    }
}

struct Explainer<'a> {
    run: &'a Run,
    ir: &'a Ir,
    depth: usize,
    next_id: usize,
    /// Change index or firing id → the node that showed it.
    shown_changes: HashMap<usize, usize>,
    /// Changes of each slot, in order.
    by_slot: HashMap<u32, Vec<usize>>,
}

impl<'a> Explainer<'a> {
    fn new(run: &'a Run, depth: usize) -> Explainer<'a> {
        let mut by_slot: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, change) in run.machine.log.changes.iter().enumerate() {
            by_slot.entry(change.slot).or_default().push(i);
        }
        Explainer {
            run,
            ir: &run.program.inner.ir,
            depth,
            next_id: 1,
            shown_changes: HashMap::new(),
            by_slot,
        }
    }

    fn id(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn when(&self, step: u64) -> Option<String> {
        self.ir.scenario.date_of(step).map(|d| d.to_string())
    }

    fn at(&self, step: u64) -> String {
        match self.when(step) {
            Some(date) => format!("step {step} ({date})"),
            None => format!("step {step}"),
        }
    }

    fn explain(&mut self, target: &str) -> Result<Explanation, Error> {
        let (name, limit) = self.parse_target(target)?;
        let ir = self.ir;
        // An entity: its default.
        if let Some(e) = ir.entities.iter().position(|x| x.name == name) {
            let event = self.run.machine.log.events.iter().find(|ev| {
                matches!(ev.kind, EventKind::Default(x) if x as usize == e)
                    && limit.is_none_or(|l| ev.step <= l)
            });
            return Ok(match event {
                Some(event) => {
                    let summary = format!("{name} defaulted at {}", self.at(event.step));
                    let cause = self.firing(event.cause, self.depth);
                    Explanation {
                        target: target.to_string(),
                        happened: true,
                        summary,
                        causes: vec![cause],
                        why_not: Vec::new(),
                    }
                }
                None => {
                    let summary = format!(
                        "{name} did not default (the run ended at {})",
                        self.at(self.run.machine.st.step)
                    );
                    let why_not = self.why_not(e as u32);
                    Explanation {
                        target: target.to_string(),
                        happened: false,
                        summary,
                        causes: Vec::new(),
                        why_not,
                    }
                }
            });
        }
        match resolve_target(ir, &name)? {
            Target::Slot(slot) => {
                let before = self
                    .run
                    .machine
                    .log
                    .changes
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, c)| c.slot == slot && limit.is_none_or(|l| c.step <= l));
                let label = slot_name(ir, slot);
                match before {
                    Some((index, change)) => {
                        let summary = format!(
                            "{label} is {} since {}",
                            display_value(ir, &change.to),
                            self.at(change.step)
                        );
                        let cause = self.change(index, self.depth);
                        Ok(Explanation {
                            target: target.to_string(),
                            happened: true,
                            summary,
                            causes: vec![cause],
                            why_not: Vec::new(),
                        })
                    }
                    None => {
                        let value = &self.run.machine.initial[slot as usize];
                        let summary = format!(
                            "{label} has kept its initial value {}: no rule changed it",
                            display_value(ir, value)
                        );
                        Ok(Explanation {
                            target: target.to_string(),
                            happened: false,
                            summary,
                            causes: Vec::new(),
                            why_not: Vec::new(),
                        })
                    }
                }
            }
            Target::Derived(d) => {
                let mut run = self.run.clone();
                let value = run.value(&name)?;
                let summary = format!("{} is {} (derived)", derived_name(ir, d), run.display(&value));
                let changes_before = self.run.machine.log.changes.len();
                let causes = self.derived_inputs(d, changes_before, self.depth);
                Ok(Explanation {
                    target: target.to_string(),
                    happened: true,
                    summary,
                    causes,
                    why_not: Vec::new(),
                })
            }
            Target::Param(p) => Ok(Explanation {
                target: target.to_string(),
                happened: false,
                summary: format!(
                    "{name} is a param: {} for this run",
                    display_value(ir, &self.run.machine.st.params[p as usize])
                ),
                causes: Vec::new(),
                why_not: Vec::new(),
            }),
            _ => Ok(Explanation {
                target: target.to_string(),
                happened: false,
                summary: format!("{name} is an input of the run (a series or the clock)"),
                causes: Vec::new(),
                why_not: Vec::new(),
            }),
        }
    }

    /// `name`, `name@12` or `name@2026-06` → (name, last step to consider).
    fn parse_target(&self, target: &str) -> Result<(String, Option<u64>), Error> {
        let Some((name, at)) = target.split_once('@') else { return Ok((target.trim().to_string(), None)) };
        let bad = |reason: String| Error::BadValue { name: target.to_string(), reason };
        let step = if let Ok(step) = at.trim().parse::<u64>() {
            step
        } else {
            let date = crate::value::Date::parse(at.trim())
                .ok_or_else(|| bad(format!("`{at}` is not a step number or a date")))?;
            let start =
                self.ir.scenario.start.ok_or_else(|| bad(String::from("the scenario has no start date")))?;
            u64::try_from(self.ir.scenario.unit.step_of_date(start, date)).unwrap_or(0)
        };
        Ok((name.trim().to_string(), Some(step)))
    }

    /// A node for a firing: its rule, bindings and the values it read.
    fn firing(&mut self, firing: u32, depth: usize) -> Cause {
        let ir = self.ir;
        let id = self.id();
        let log = &self.run.machine.log;
        let Some(record) = log.firings.get(firing as usize) else {
            return leaf(id, "by_hand", String::from("set by hand"));
        };
        let rule = &ir.rules[record.rule as usize];
        let label = self.run.firing_label(firing);
        let condition = match &rule.trigger {
            TriggerIr::When(node) | TriggerIr::While(node) => node.span.text(ir.source.text()).to_string(),
            TriggerIr::At(step) => format!("at step {step}"),
        };
        let text = if rule.name.is_some() {
            format!("by rule {label} (line {}): {condition}", rule.line)
        } else {
            format!("by the {label}: {condition}")
        };
        // `not x.defaulted` guards are in almost every rule: leave them out.
        let values: Vec<(String, String)> = record
            .reads
            .iter()
            .map(|(k, v)| (read_name(ir, *k), display_value(ir, v)))
            .filter(|(name, value)| !(name.ends_with(".defaulted") && value == "false"))
            .collect();
        let mut causes = Vec::new();
        if depth > 0 {
            let reads = record.reads.clone();
            let before = record.changes_before;
            for (key, _) in reads {
                if let Some(cause) = self.read(key, before, depth - 1) {
                    causes.push(cause);
                }
            }
        }
        Cause {
            id,
            kind: "rule",
            text,
            step: Some(record.step),
            date: self.when(record.step),
            rule: Some(label),
            line: Some(rule.line),
            values,
            causes,
            see: None,
        }
    }

    /// Where a value read before change number `before` came from.
    fn read(&mut self, key: ReadKey, before: usize, depth: usize) -> Option<Cause> {
        let ir = self.ir;
        match key {
            ReadKey::Slot(slot) => {
                let index = self.by_slot.get(&slot).and_then(|list| {
                    let n = list.partition_point(|&i| i < before);
                    n.checked_sub(1).map(|k| list[k])
                });
                // A value never changed is its initial value: the `read:` line shows it.
                index.map(|index| self.change(index, depth))
            }
            ReadKey::Derived(d) => {
                let id = self.id();
                let causes = if depth > 0 { self.derived_inputs(d, before, depth - 1) } else { Vec::new() };
                if causes.is_empty() {
                    self.next_id = id; // nothing to show: give the number back
                    return None;
                }
                Some(Cause {
                    causes,
                    ..leaf(id, "derived", format!("{} is derived from:", derived_name(ir, d)))
                })
            }
            ReadKey::Param(_) | ReadKey::Series(_) | ReadKey::Clock => None,
        }
    }

    /// A node for change number `index` and the firing that made it.
    fn change(&mut self, index: usize, depth: usize) -> Cause {
        let ir = self.ir;
        let change = &self.run.machine.log.changes[index];
        let name = slot_name(ir, change.slot);
        let text = format!(
            "{name} became {} at {} (was {})",
            display_value(ir, &change.to),
            self.at(change.step),
            display_value(ir, &change.from)
        );
        if let Some(&seen) = self.shown_changes.get(&index) {
            let id = self.id();
            return Cause { see: Some(seen), ..leaf(id, "rule", text) };
        }
        if change.cause == BY_HAND {
            let id = self.id();
            self.shown_changes.insert(index, id);
            return Cause { step: Some(change.step), ..leaf(id, "by_hand", format!("{text}, set by hand")) };
        }
        let (cause_id, step, delayed) = (change.cause, change.step, change.delayed);
        let mut firing = self.firing(cause_id, depth);
        self.shown_changes.insert(index, firing.id);
        let scheduled = if delayed {
            let fired = self.run.machine.log.firings[cause_id as usize].step;
            format!(", scheduled at {}", self.at(fired))
        } else {
            String::new()
        };
        firing.text = format!("{text} {}{scheduled}", firing.text);
        firing.step = Some(step);
        firing.date = self.when(step);
        firing
    }

    /// The stored values a derived cell's formula reads, each with its cause.
    fn derived_inputs(&mut self, d: u32, before: usize, depth: usize) -> Vec<Cause> {
        let mut keys = Vec::new();
        derived_leaves(self.run, d, &mut keys, 0);
        let mut causes = Vec::new();
        for key in keys {
            if let Some(cause) = self.read(key, before, depth) {
                causes.push(cause);
            }
        }
        causes
    }
}

fn leaf(id: usize, kind: &'static str, text: String) -> Cause {
    Cause {
        id,
        kind,
        text,
        step: None,
        date: None,
        rule: None,
        line: None,
        values: Vec::new(),
        causes: Vec::new(),
        see: None,
    }
}

/// The stored values (and lets) a derived cell's formula reads directly.
fn derived_leaves(run: &Run, d: u32, keys: &mut Vec<ReadKey>, depth: usize) {
    let inner = &run.program.inner;
    let ir = &inner.ir;
    let lets = ir.lets.len() as u32;
    let (root, entity) = if d < lets {
        (&ir.lets[d as usize].expr, None)
    } else {
        let (entity, field) = inner.owners[(d - lets) as usize];
        let kind = &ir.kinds[ir.entities[entity as usize].kind as usize];
        match kind.fields.iter().find(|f| f.derived && f.index == field) {
            Some(f) => (&f.expr, Some(entity)),
            None => return,
        }
    };
    node_leaves(ir, &root.node, entity, keys, depth);
}

fn node_leaves(ir: &Ir, node: &Node, entity: Option<u32>, keys: &mut Vec<ReadKey>, depth: usize) {
    if depth > 32 {
        return;
    }
    let mut push = |key: ReadKey| {
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    match &node.kind {
        NodeKind::Var(v) => push(ReadKey::Slot(*v)),
        NodeKind::Let(l) => push(ReadKey::Derived(*l)),
        NodeKind::Field { object, field } => {
            let target = match object.kind {
                NodeKind::Local(0) => entity,
                NodeKind::Const(Value::Entity(e)) => Some(e),
                _ => None,
            };
            if let Some(e) = target {
                let def = &ir.entities[e as usize];
                let stored = ir.kinds[def.kind as usize].stored_count;
                push(match field {
                    FieldRef::Stored(i) => ReadKey::Slot(def.slot_base + i),
                    FieldRef::Defaulted => ReadKey::Slot(def.slot_base + stored),
                    FieldRef::DefaultedAt => ReadKey::Slot(def.slot_base + stored + 1),
                    FieldRef::Derived(i) => ReadKey::Derived(def.derived_base + i),
                });
            }
        }
        NodeKind::Unary(_, inner) | NodeKind::ExposureLosses(inner) => {
            node_leaves(ir, inner, entity, keys, depth + 1)
        }
        NodeKind::Binary(_, l, r) => {
            node_leaves(ir, l, entity, keys, depth + 1);
            node_leaves(ir, r, entity, keys, depth + 1);
        }
        NodeKind::Call(_, args) | NodeKind::Host(_, args) => {
            for arg in args {
                node_leaves(ir, arg, entity, keys, depth + 1);
            }
        }
        _ => {}
    }
}

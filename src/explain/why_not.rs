//! Why not: the rules that could have defaulted an entity, and how close each
//! comparison in their conditions came, from step 0 to the target's step.

use rust_decimal::Decimal;

use super::rewind::Rewind;
use super::{Approach, Candidate, Read};
use crate::engine::Run;
use crate::eval::display_value;
use crate::ir::{EffectIr, EffectKindIr, Ir, Node, NodeKind, TriggerIr};
use crate::report::json_value;
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::Value;

/// The rules that could default entity `e`, watched on the run's states from
/// step 0 to step `until` (rebuilt from the log: nothing beyond it is looked at).
pub(super) fn why_not(run: &Run, e: u32, until: u64) -> Vec<Candidate> {
    let ir = &run.program.inner.ir;
    let kind = ir.kind_of(e);
    let mut candidates: Vec<(u32, Vec<u32>)> = Vec::new();
    for (r, rule) in ir.rules.iter().enumerate() {
        for binding in defaults_entity(rule.effects.as_slice(), &rule.binders, e, kind) {
            candidates.push((r as u32, binding));
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    let mut watch: Vec<Vec<Watch>> = candidates
        .iter()
        .map(|(r, _)| {
            let rule = &ir.rules[*r as usize];
            let mut list = Vec::new();
            if let TriggerIr::When(node) | TriggerIr::While(node) = &rule.trigger {
                comparisons(node, &mut list);
            }
            list.into_iter().map(|node| Watch { node, best: None, held: None }).collect()
        })
        .collect();
    let mut rewind = Rewind::new(run);
    for step in 0..=until {
        rewind.advance_to(step);
        for ((r, binding), watches) in candidates.iter().zip(watch.iter_mut()) {
            let rule = &ir.rules[*r as usize];
            let mut frame = crate::eval::frame_for(rule, binding);
            let mut ev = rewind.evaluator();
            for w in watches.iter_mut() {
                w.observe(&mut ev, &mut frame, step);
            }
        }
    }
    candidates
        .iter()
        .zip(watch)
        .map(|((r, binding), watches)| {
            let rule = &ir.rules[*r as usize];
            let names: Vec<String> = rule
                .binders
                .iter()
                .zip(binding)
                .map(|((n, _), ent)| format!("{n} = {}", ir.entities[*ent as usize].name))
                .collect();
            let label = if names.is_empty() {
                rule.label.clone()
            } else {
                format!("{} [{}]", rule.label, names.join(", "))
            };
            Candidate {
                rule: label,
                line: rule.line,
                conditions: watches.iter().map(|w| w.report(ir)).collect(),
            }
        })
        .collect()
}

/// The bindings under which a rule's effects default entity `e` (of kind `kind`).
fn defaults_entity(effects: &[EffectIr], binders: &[(String, u32)], e: u32, kind: u32) -> Vec<Vec<u32>> {
    let mut found = Vec::new();
    // An explicit stack: `after` nests effects.
    let mut stack: Vec<&EffectIr> = effects.iter().rev().collect();
    while let Some(effect) = stack.pop() {
        let target = match &effect.kind {
            EffectKindIr::Default(node) => node,
            EffectKindIr::After { effect, .. } => {
                stack.push(effect);
                continue;
            }
            EffectKindIr::Assign { .. }
            | EffectKindIr::Let { .. }
            | EffectKindIr::Emit(_)
            | EffectKindIr::Stop(_) => continue,
        };
        match target.kind {
            NodeKind::Const(Value::Entity(x)) if x == e => found.push(Vec::new()),
            NodeKind::Local(i) if binders.len() == 1 && i == 0 && binders[0].1 == kind => found.push(vec![e]),
            _ => {}
        }
    }
    found.dedup();
    found
}

/// The comparisons inside a condition (through `and`, `or`, `not`).
fn comparisons<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match &node.kind {
            NodeKind::Binary(BinaryOp::And | BinaryOp::Or, l, r) => {
                stack.push(r);
                stack.push(l);
            }
            NodeKind::Unary(UnaryOp::Not, inner) => stack.push(inner),
            _ => out.push(node),
        }
    }
}

/// What one comparison looked like at one step.
#[derive(Clone)]
struct Seen {
    step: u64,
    op: Option<&'static str>,
    left: Option<Read>,
    right: Option<Read>,
    value: Option<serde_json::Value>,
    text: String,
}

struct Watch<'n> {
    node: &'n Node,
    /// The closest approach so far: (distance to holding, what was seen).
    best: Option<(Decimal, Seen)>,
    /// The first step at which it held.
    held: Option<Seen>,
}

impl Watch<'_> {
    fn observe(&mut self, ev: &mut crate::eval::Evaluator, frame: &mut [Value], step: u64) {
        if self.held.is_some() {
            return;
        }
        let ir = ev.ir;
        let source = ir.source.text();
        let read = |node: &Node, value: &Value| Read {
            name: node.span.text(source).to_string(),
            text: display_value(ir, value),
            value: json_value(ir, value),
        };
        let (seen, distance) = match &self.node.kind {
            NodeKind::Binary(op @ (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge), l, r) => {
                let (Ok(a), Ok(b)) = (ev.eval(l, frame), ev.eval(r, frame)) else { return };
                let (left, right) = (read(l, &a), read(r, &b));
                let text = format!("{} {}, needed {} {}", left.name, left.text, op.symbol(), right.text);
                let distance = match (a.as_number(), b.as_number()) {
                    (Some(a), Some(b)) => match op {
                        BinaryOp::Lt | BinaryOp::Le => a.checked_sub(b),
                        _ => b.checked_sub(a),
                    },
                    _ => None,
                };
                let seen = Seen {
                    step,
                    op: Some(op.symbol()),
                    left: Some(left),
                    right: Some(right),
                    value: None,
                    text,
                };
                (seen, distance)
            }
            _ => {
                let Ok(v) = ev.eval(self.node, frame) else { return };
                let seen = Seen {
                    step,
                    op: None,
                    left: None,
                    right: None,
                    value: Some(json_value(ir, &v)),
                    text: display_value(ir, &v),
                };
                (seen, None)
            }
        };
        if matches!(ev.eval(self.node, frame), Ok(Value::Bool(true))) {
            self.held = Some(seen);
            return;
        }
        match distance {
            Some(d) if self.best.as_ref().is_none_or(|(best, _)| d < *best) => self.best = Some((d, seen)),
            None if self.best.is_none() => self.best = Some((Decimal::MAX, seen)),
            _ => {}
        }
    }

    fn report(&self, ir: &Ir) -> Approach {
        let condition = self.node.span.text(ir.source.text()).to_string();
        let (held, seen) = match (&self.held, &self.best) {
            (Some(seen), _) => (true, seen),
            (None, Some((_, seen))) => (false, seen),
            (None, None) => {
                return Approach {
                    condition,
                    held: false,
                    step: None,
                    op: None,
                    left: None,
                    right: None,
                    value: None,
                    values: String::from("never evaluated"),
                };
            }
        };
        let seen = seen.clone();
        Approach {
            condition,
            held,
            step: Some(seen.step),
            op: seen.op,
            left: seen.left,
            right: seen.right,
            value: seen.value,
            values: seen.text,
        }
    }
}

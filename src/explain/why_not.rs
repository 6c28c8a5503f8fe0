//! Why not: the rules that could have defaulted an entity, and how close
//! their conditions came (by replaying the run).

use super::*;

impl<'a> Explainer<'a> {
    /// The rules that could default entity `e`, and how close their conditions came.
    pub(super) fn why_not(&self, e: u32) -> Vec<Candidate> {
        let ir = self.ir;
        let kind = ir.entities[e as usize].kind;
        let mut candidates: Vec<(u32, Vec<u32>)> = Vec::new();
        for (r, rule) in ir.rules.iter().enumerate() {
            for binding in defaults_entity(rule.effects.as_slice(), &rule.binders, e, kind) {
                candidates.push((r as u32, binding));
            }
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        // Replay the run with the same params, watching each candidate's comparisons.
        let program = self.run.program.clone();
        let inner = program.inner.clone();
        let mut start = program.start().horizon(self.run.machine.horizon);
        for (p, value) in self.run.machine.st.params.iter().enumerate() {
            if let Ok(s) = start.set(&ir.params[p].name, value.clone()) {
                start = s;
            } else {
                return Vec::new();
            }
        }
        let Ok(mut replay) = start.provenance(false).begin() else { return Vec::new() };
        let mut watch: Vec<Vec<Watch>> = candidates
            .iter()
            .map(|(r, _)| {
                let rule = &ir.rules[*r as usize];
                let mut list = Vec::new();
                if let TriggerIr::When(node) | TriggerIr::While(node) = &rule.trigger {
                    comparisons(node, &mut list);
                }
                list.into_iter().map(|node| Watch { node, best: None, held_at: None }).collect()
            })
            .collect();
        loop {
            let step = replay.machine.st.step;
            for ((r, binding), watches) in candidates.iter().zip(watch.iter_mut()) {
                let rule = &ir.rules[*r as usize];
                let mut frame = vec![Value::None; (rule.locals as usize).max(binding.len())];
                for (slot, ent) in frame.iter_mut().zip(binding) {
                    *slot = Value::Entity(*ent);
                }
                let mut ev = Evaluator { ir, st: &mut replay.machine.st, derived_owner: &inner.owners };
                for w in watches.iter_mut() {
                    w.observe(&mut ev, &mut frame, step);
                }
            }
            match replay.step() {
                Ok(Some(_)) => {}
                _ => break,
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
}

/// The bindings under which a rule's effects default entity `e` (of kind `kind`).
pub(super) fn defaults_entity(
    effects: &[EffectIr],
    binders: &[(String, u32)],
    e: u32,
    kind: u32,
) -> Vec<Vec<u32>> {
    let mut found = Vec::new();
    for effect in effects {
        let target = match &effect.kind {
            EffectKindIr::Default(node) => node,
            EffectKindIr::After { effect, .. } => {
                found.extend(defaults_entity(std::slice::from_ref(effect), binders, e, kind));
                continue;
            }
            _ => continue,
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
pub(super) fn comparisons<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match &node.kind {
        NodeKind::Binary(BinaryOp::And | BinaryOp::Or, l, r) => {
            comparisons(l, out);
            comparisons(r, out);
        }
        NodeKind::Unary(UnaryOp::Not, inner) => comparisons(inner, out),
        _ => out.push(node),
    }
}

struct Watch<'n> {
    node: &'n Node,
    /// (distance to holding, step, values)
    best: Option<(Decimal, u64, String)>,
    held_at: Option<(u64, String)>,
}

impl Watch<'_> {
    pub(super) fn observe(&mut self, ev: &mut Evaluator, frame: &mut [Value], step: u64) {
        if self.held_at.is_some() {
            return;
        }
        let ir = ev.ir;
        let (values, distance) = match &self.node.kind {
            NodeKind::Binary(op @ (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge), l, r) => {
                let (Ok(a), Ok(b)) = (ev.eval(l, frame), ev.eval(r, frame)) else { return };
                let text = format!(
                    "{} {}, needed {} {}",
                    l.span.text(ir.source.text()),
                    display_value(ir, &a),
                    op.symbol(),
                    display_value(ir, &b)
                );
                let distance = match (a.as_number(), b.as_number()) {
                    (Some(a), Some(b)) => match op {
                        BinaryOp::Lt | BinaryOp::Le => a.checked_sub(b),
                        _ => b.checked_sub(a),
                    },
                    _ => None,
                };
                (text, distance)
            }
            _ => {
                let Ok(v) = ev.eval(self.node, frame) else { return };
                (display_value(ir, &v), None)
            }
        };
        let holds = matches!(ev.eval(self.node, frame), Ok(Value::Bool(true)));
        if holds {
            self.held_at = Some((step, values));
            return;
        }
        if let Some(d) = distance {
            if self.best.as_ref().is_none_or(|(best, _, _)| d < *best) {
                self.best = Some((d, step, values));
            }
        } else if self.best.is_none() {
            self.best = Some((Decimal::MAX, step, values));
        }
    }

    pub(super) fn report(&self, ir: &Ir) -> Approach {
        let condition = self.node.span.text(ir.source.text()).to_string();
        match (&self.held_at, &self.best) {
            (Some((step, values)), _) => {
                Approach { condition, held: true, step: Some(*step), values: values.clone() }
            }
            (None, Some((_, step, values))) => {
                Approach { condition, held: false, step: Some(*step), values: values.clone() }
            }
            (None, None) => {
                Approach { condition, held: false, step: None, values: String::from("never evaluated") }
            }
        }
    }
}

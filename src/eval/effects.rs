//! Effects of a firing, the checks of `assert` and `expect`, the end of a
//! run, and the reads logged for provenance and failed expectations.

use super::*;
use crate::codes;
use crate::syntax::BinaryOp;

impl Stepper<'_> {
    /// Applies one effect of a firing (or a scheduled one).
    pub(super) fn apply(
        &mut self,
        effect: &EffectIr,
        path: (u32, u32, u32),
        frame: &mut [Value],
        cause: u32,
        delayed: bool,
    ) -> Result<(), Fault> {
        let ir = self.ir;
        let step = self.m.st.step;
        let provenance = self.m.provenance;
        let mut reads = Vec::new();
        match &effect.kind {
            EffectKindIr::Assign { target, op, value } => {
                let mut ev = self.ev();
                let slot = match target {
                    TargetIr::Var(v) => *v,
                    TargetIr::Field { object, field } => {
                        ir.layout[ev.entity(object, frame)? as usize].slot_base + field
                    }
                };
                let code = compiled_effect(ir, path);
                let rhs = eval_logged(&mut ev, value, code, frame, provenance.then_some(&mut reads))?;
                if let Some(deferred) = self.m.deferred.as_mut() {
                    // A `together` rule: applied when every instance has fired.
                    deferred.push(Deferred::Write {
                        slot,
                        op: *op,
                        value: rhs,
                        cause,
                        span: effect.span,
                        delayed,
                    });
                    self.log_effect_reads(cause, reads);
                    return Ok(());
                }
                let new = match op {
                    AssignOp::Set => rhs,
                    _ => combine(*op, &self.m.st.slots[slot as usize], &rhs, effect.span)?,
                };
                if self.m.quiet {
                    // No record of the change is kept, so the new value is not copied for one.
                    self.m.st.write_slot(slot, new);
                } else if let Some(from) = self.m.st.write_slot(slot, new.clone()) {
                    let set = *op == AssignOp::Set;
                    self.m.log.changes.push(ChangeRecord { step, slot, from, to: new, cause, delayed, set });
                }
            }
            EffectKindIr::Default(entity) => {
                let e = self.ev().entity(entity, frame)?;
                match self.m.deferred.as_mut() {
                    Some(deferred) => deferred.push(Deferred::Default { entity: e, cause, delayed }),
                    None => self.default_entity(e, cause, delayed),
                }
            }
            EffectKindIr::Let { local, value } => {
                let mut ev = self.ev();
                let code = compiled_effect(ir, path);
                let v = eval_logged(&mut ev, value, code, frame, provenance.then_some(&mut reads))?;
                if let Some(slot) = frame.get_mut(*local as usize) {
                    *slot = v;
                }
            }
            EffectKindIr::Emit(pieces) => {
                // A quiet run evaluates the pieces (the same faults, the same
                // fuel) but writes no text.
                let text = if self.m.quiet {
                    self.ev().render_quietly(pieces, frame)?;
                    String::new()
                } else {
                    self.ev().render(pieces, frame)?
                };
                self.m.log.events.push(EventRecord { step, kind: EventKind::Emit(text), cause });
            }
            EffectKindIr::Stop(pieces) => {
                let reason = self.ev().render(pieces, frame)?;
                self.m.log.events.push(EventRecord { step, kind: EventKind::Stop(reason.clone()), cause });
                self.m.end = Some(End::Stopped(reason));
            }
            EffectKindIr::After { delay, effect: inner } => {
                let d = match self.ev().eval(delay, frame)? {
                    Value::Number(n) => n,
                    _ => {
                        return Err(Fault::new(
                            codes::run::internal,
                            "internal error: delay",
                            delay.span,
                            "",
                        ));
                    }
                };
                let steps = d.is_integer().then(|| d.to_u64()).flatten().ok_or_else(|| {
                    if d.is_integer() && d > Decimal::ZERO {
                        Fault::new(
                            codes::run::bad_delay,
                            format!("a delay of {d} steps is too long"),
                            delay.span,
                            format!("a delay is at most {} steps", u64::MAX),
                        )
                        .help("an effect delayed past the end of the run never happens; shorten the delay")
                    } else {
                        Fault::new(
                            codes::run::bad_delay,
                            format!("a delay of {} steps", human(d)),
                            delay.span,
                            "a delay is a whole number of steps, 0 or more",
                        )
                    }
                })?;
                let inner_path = (path.0, path.1, path.2 + 1);
                if steps == 0 {
                    return self.apply(inner, inner_path, frame, cause, delayed);
                }
                let when = step.saturating_add(steps);
                if when <= self.m.horizon {
                    self.m.scheduled.entry(when).or_default().push(Scheduled {
                        rule: path.0,
                        index: path.1,
                        depth: path.2 + 1,
                        frame: frame.to_vec(),
                        cause,
                    });
                }
            }
        }
        self.log_effect_reads(cause, reads);
        self.absorb_dirtied();
        Ok(())
    }

    /// Adds what an effect read to its firing's reads (with provenance on).
    #[inline(always)]
    fn log_effect_reads(&mut self, cause: u32, reads: Vec<(ReadKey, Value)>) {
        if self.m.provenance && !reads.is_empty() {
            self.log_effect_reads_now(cause, reads);
        }
    }

    fn log_effect_reads_now(&mut self, cause: u32, reads: Vec<(ReadKey, Value)>) {
        if let Some(firing) = self.m.log.firings.get_mut(cause as usize) {
            for read in reads {
                if !firing.reads.iter().any(|(k, _)| *k == read.0) {
                    firing.reads.push(read);
                }
            }
        }
    }

    /// Defaults entity `e` (a second default is a no-op): its flags, the
    /// losses of its creditors, the event.
    pub(super) fn default_entity(&mut self, e: u32, cause: u32, delayed: bool) {
        let ir = self.ir;
        let step = self.m.st.step;
        let flag = ir.defaulted_slot(e);
        if self.m.st.slots[flag as usize] == Value::Bool(true) {
            return;
        }
        for (slot, value) in [(flag, Value::Bool(true)), (flag + 1, Value::Number(Decimal::from(step)))] {
            if let Some(from) = self.m.st.write_slot(slot, value.clone())
                && !self.m.quiet
            {
                self.m.log.changes.push(ChangeRecord {
                    step,
                    slot,
                    from,
                    to: value,
                    cause,
                    delayed,
                    set: true,
                });
            }
        }
        self.m.st.add_default_losses(ir, e);
        self.m.log.events.push(EventRecord { step, kind: EventKind::Default(e), cause });
    }

    /// Checks every assert; records the first failure of each.
    pub fn check_asserts(&mut self) -> Step<()> {
        for (index, assert) in self.ir.asserts.iter().enumerate() {
            if self.m.failed_asserts.get(index).copied().unwrap_or(false) {
                continue;
            }
            // Most conditions need no local (an aggregate's needs one): a
            // frame on the stack, as a rule's condition has.
            let locals = assert.cond.locals as usize;
            if locals == 0 {
                self.check_assert(index, &mut [])?;
            } else if locals <= super::step::SMALL_FRAME {
                let mut frame = [const { Value::None }; super::step::SMALL_FRAME];
                self.check_assert(index, &mut frame[..locals])?;
            } else {
                self.check_assert(index, &mut vec![Value::None; locals])?;
            }
        }
        Ok(())
    }

    /// Checks assert `index` in `frame`; records its failure.
    #[inline]
    fn check_assert(&mut self, index: usize, frame: &mut [Value]) -> Step<()> {
        let ir = self.ir;
        let assert = &ir.asserts[index];
        let code = ir.code.asserts.get(index).and_then(Option::as_ref);
        let holds = self.ev().holds_with(&assert.cond.node, code, frame).map_err(|f| self.fault(f, None))?;
        if !holds {
            let mut detail = describe_reads(ir, &mut self.ev(), &assert.cond.node, frame);
            if !assert.message.is_empty() {
                let message = self.ev().render(&assert.message, frame).map_err(|f| self.fault(f, None))?;
                detail = if detail.is_empty() { message } else { format!("{message}: {detail}") };
            }
            self.m.outcomes.push(Outcome {
                assert: true,
                index: index as u32,
                passed: false,
                step: Some(self.m.st.step),
                detail,
            });
            if let Some(failed) = self.m.failed_asserts.get_mut(index) {
                *failed = true;
            }
        }
        Ok(())
    }

    /// Checks the expects due at `step` (`None`: the ones for the end of the run).
    pub(super) fn check_expects(&mut self, step: Option<u64>) -> Step<()> {
        let ir = self.ir;
        for index in ir.expects_due.at(step) {
            let expect = &ir.expects[index as usize];
            let mut frame = vec![Value::None; expect.cond.locals as usize];
            let code = ir.code.expects.get(index as usize).and_then(Option::as_ref);
            let passed =
                self.ev().holds_with(&expect.cond.node, code, &mut frame).map_err(|f| self.fault(f, None))?;
            let detail = if self.m.quiet {
                describe_into(ir, &mut self.ev(), &expect.cond.node, &mut frame, &mut None);
                String::new()
            } else {
                describe_reads(ir, &mut self.ev(), &expect.cond.node, &mut frame)
            };
            self.m.outcomes.push(Outcome {
                assert: false,
                index,
                passed,
                step: Some(self.m.st.step),
                detail,
            });
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, end: End) -> Step<()> {
        self.check_expects(None)?;
        // Expectations whose step was never reached fail.
        let reached = self.m.st.step;
        for (index, expect) in self.ir.expects.iter().enumerate() {
            if let Some(at) = expect.at
                && (at > reached as i64 || at < 1)
            {
                let detail = format!("step {at} was never reached: the run ended at step {reached}");
                self.m.outcomes.push(Outcome {
                    assert: false,
                    index: index as u32,
                    passed: false,
                    step: None,
                    detail,
                });
            }
        }
        // Asserts that never failed passed.
        for index in 0..self.ir.asserts.len() {
            if !self.m.outcomes.iter().any(|o| o.assert && o.index == index as u32) {
                self.m.outcomes.push(Outcome {
                    assert: true,
                    index: index as u32,
                    passed: true,
                    step: None,
                    detail: String::new(),
                });
            }
        }
        self.m.end = Some(end);
        Ok(())
    }
}

/// `old op rhs` for `+= -= *= /=`, checked.
#[inline(always)]
pub(super) fn combine(op: AssignOp, old: &Value, rhs: &Value, span: Span) -> Result<Value, Fault> {
    let (Value::Number(a), Value::Number(b)) = (old, rhs) else {
        return Err(Fault::new(
            codes::run::no_value,
            "this has no value",
            span,
            "cannot change a value that is not a number",
        ));
    };
    let (a, b) = (*a, *b);
    if op == AssignOp::Div && b.is_zero() {
        return Err(Fault::new(
            codes::run::division_by_zero,
            "division by zero",
            span,
            "`/=` by a value that is 0",
        ));
    }
    let op = match op {
        AssignOp::Set => return Ok(Value::Number(b)),
        AssignOp::Add => BinaryOp::Add,
        AssignOp::Sub => BinaryOp::Sub,
        AssignOp::Mul => BinaryOp::Mul,
        AssignOp::Div => BinaryOp::Div,
    };
    super::expr::arithmetic(op, a, b, span).map(Value::Number)
}

/// The compiled value of the effect at `path` (rule, index, depth): only an
/// effect of the rule itself has one, not one inside an `after`.
fn compiled_effect(ir: &Ir, (rule, index, depth): (u32, u32, u32)) -> Option<&Compiled> {
    if depth > 0 {
        return None;
    }
    ir.code.effects.get(rule as usize)?.get(index as usize)?.as_ref()
}

/// Evaluates `node` (from its compiled form `code` when it has one), logging
/// the values of the names and fields it reads directly.
#[inline(always)]
pub(super) fn eval_logged(
    ev: &mut Evaluator,
    node: &Node,
    code: Option<&Compiled>,
    frame: &mut [Value],
    log: Option<&mut Vec<(ReadKey, Value)>>,
) -> Result<Value, Fault> {
    let value = ev.eval_with(node, code, frame)?;
    if let Some(log) = log {
        collect_reads(ev, node, frame, log);
    }
    Ok(value)
}

/// Logs the leaves (names, fields, series) an expression reads, with their values.
/// A leaf that cannot be evaluated (e.g. guarded by `and`) is left out.
pub(super) fn collect_reads(
    ev: &mut Evaluator,
    node: &Node,
    frame: &mut [Value],
    log: &mut Vec<(ReadKey, Value)>,
) {
    let push = |log: &mut Vec<(ReadKey, Value)>, key: ReadKey, value: Value| {
        if !log.iter().any(|(k, _)| *k == key) {
            log.push((key, value));
        }
    };
    match &node.kind {
        NodeKind::Param(p) => push(log, ReadKey::Param(*p), ev.st.params[*p as usize].clone()),
        NodeKind::Var(v) => push(log, ReadKey::Slot(*v), ev.st.slots[*v as usize].clone()),
        NodeKind::Let(l) => {
            if let Ok(value) = ev.eval(node, frame) {
                push(log, ReadKey::Derived(*l), value);
            }
        }
        NodeKind::Series(s) => push(log, ReadKey::Series(*s), ev.st.series[*s as usize].clone()),
        NodeKind::Step | NodeKind::Date => {
            push(log, ReadKey::Clock, Value::Number(Decimal::from(ev.st.step)))
        }
        NodeKind::Field { object, field } => {
            if let Ok(e) = ev.entity(object, frame) {
                let key = ReadKey::of(ev.ir.cell(e, *field));
                if let Ok(value) = ev.field(e, *field, node.span) {
                    push(log, key, value);
                }
            }
        }
        NodeKind::ExposureLosses(object) => {
            if let Ok(e) = ev.entity(object, frame)
                && let Ok(value) = ev.exposure_losses(e, node.span)
            {
                push(log, ReadKey::Losses(e), value);
            }
        }
        NodeKind::Model { model, object, .. } => {
            let entity = match object {
                Some(object) => ev.entity(object, frame).ok(),
                None => Some(u32::MAX),
            };
            if let Some(e) = entity
                && let Ok(value) = ev.eval(node, frame)
            {
                push(log, ReadKey::Model(*model, e), value);
            }
        }
        NodeKind::Aggregate(aggregate) => {
            let key = match &aggregate.source {
                AggregateSource::ExposuresOf(object) => {
                    ev.entity(object, frame).ok().map(ReadKey::ExposuresOf)
                }
                AggregateSource::ExposuresTo(object) => {
                    ev.entity(object, frame).ok().map(ReadKey::ExposuresTo)
                }
                AggregateSource::Kind(_) => None,
            };
            if let Some(key) = key
                && let Ok(value) = ev.eval(node, frame)
            {
                push(log, key, value);
            }
        }
        NodeKind::Unary(..)
        | NodeKind::Binary(..)
        | NodeKind::Call(..)
        | NodeKind::Draw(..)
        | NodeKind::Host(..) => node.for_each_child(|child| collect_reads(ev, child, frame, log)),
        // Written out so that a new node is a compile error here. Not followed:
        // leaves that are no cell, a local's exposure field, and the branches of
        // an `if` or pieces of a template (what they read is not recorded as a
        // firing's input).
        NodeKind::Const(_)
        | NodeKind::Local(_)
        | NodeKind::ExposureField { .. }
        | NodeKind::If(_)
        | NodeKind::Template(_) => {}
    }
}

/// `name = value` for the leaves an expression reads (for failed expectations).
pub(super) fn describe_reads(ir: &Ir, ev: &mut Evaluator, node: &Node, frame: &mut [Value]) -> String {
    let mut parts = Some(Vec::new());
    describe_into(ir, ev, node, frame, &mut parts);
    parts.unwrap_or_default().join(", ")
}

/// Evaluates the leaves `node` reads, and with `parts` writes `name = value`
/// for each (without, only evaluates them: a quiet run's expectation).
pub(super) fn describe_into(
    ir: &Ir,
    ev: &mut Evaluator,
    node: &Node,
    frame: &mut [Value],
    parts: &mut Option<Vec<String>>,
) {
    match &node.kind {
        NodeKind::Const(_) => {}
        NodeKind::Unary(..) | NodeKind::Binary(..) => {
            node.for_each_child(|child| describe_into(ir, ev, child, frame, parts))
        }
        // Each of these is described whole, as `its text = its value`.
        NodeKind::Param(_)
        | NodeKind::Var(_)
        | NodeKind::Let(_)
        | NodeKind::Series(_)
        | NodeKind::Step
        | NodeKind::Date
        | NodeKind::Local(_)
        | NodeKind::Field { .. }
        | NodeKind::ExposureField { .. }
        | NodeKind::ExposureLosses(_)
        | NodeKind::Model { .. }
        | NodeKind::If(_)
        | NodeKind::Call(..)
        | NodeKind::Draw(..)
        | NodeKind::Host(..)
        | NodeKind::Aggregate(_)
        | NodeKind::Template(_) => {
            let value = ev.eval(node, frame);
            let Some(parts) = parts else { return };
            let text = node.span.text(ir.source.text());
            let value = match value {
                Ok(v) => display_value(ir, &v),
                Err(f) => format!("<{}>", f.message),
            };
            let part = format!("{text} = {value}");
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
}

//! One step: the clock, the scheduled effects, the rule groups in schedule
//! order, and the conditions of rule instances.

use super::start::series_steady_until;
use super::*;
use crate::codes;

impl Stepper<'_> {
    pub(super) fn ev(&mut self) -> Evaluator<'_> {
        Evaluator { ir: self.ir, st: &mut self.m.st, derived_owner: self.derived_owner }
    }

    pub(super) fn context(&self, rule: Option<(u32, &[u32])>) -> Vec<String> {
        let mut context = Vec::new();
        let step = self.m.st.step;
        match self.m.st.date {
            Some(date) => context.push(format!("at step {step} ({date})")),
            None => context.push(format!("at step {step}")),
        }
        if let Some((r, bindings)) = rule {
            let rule = &self.ir.rules[r as usize];
            let mut text = format!("in {}", rule.title());
            if !bindings.is_empty() {
                let names: Vec<String> = rule
                    .binders
                    .iter()
                    .zip(bindings)
                    .map(|((n, _), e)| format!("{n} = {}", self.ir.entities[*e as usize].name))
                    .collect();
                text.push_str(&format!(" with {}", names.join(", ")));
            }
            context.push(text);
        }
        context
    }

    pub(super) fn fault(&self, fault: Fault, rule: Option<(u32, &[u32])>) -> RunFault {
        RunFault { context: self.context(rule), fault }
    }

    /// Moves instances whose inputs changed into their rule's pending list.
    #[inline]
    pub(super) fn absorb_dirtied(&mut self) {
        if !self.m.st.dirtied.is_empty() {
            self.absorb_dirtied_now();
        }
    }

    fn absorb_dirtied_now(&mut self) {
        let Machine { st, instances, queued, pending, .. } = &mut *self.m;
        for &i in &st.dirtied {
            let inst = &mut instances[i as usize];
            inst.dirty = true;
            let queued = &mut queued[i as usize];
            if !*queued {
                *queued = true;
                pending[inst.rule as usize].push(i);
            }
        }
        st.dirtied.clear();
    }

    pub(super) fn queue(&mut self, i: u32) {
        if !self.m.queued[i as usize] {
            self.m.queued[i as usize] = true;
            let rule = self.m.instances[i as usize].rule;
            self.m.pending[rule as usize].push(i);
        }
    }

    /// Runs one step. Returns `false` if the run had already ended.
    pub fn step(&mut self) -> Step<bool> {
        // The stack limit is noted once for every evaluation of the step.
        super::expr::on_checked_stack(|| self.step_on_checked_stack())
    }

    fn step_on_checked_stack(&mut self) -> Step<bool> {
        if self.m.end.is_some() {
            return Ok(false);
        }
        if self.m.st.step >= self.m.horizon {
            self.finish(End::Horizon)?;
            return Ok(false);
        }
        if self.cancelled() {
            return Err(RunFault {
                fault: Fault::new(codes::limit::cancelled, "the run was cancelled", Span::default(), ""),
                context: self.context(None),
            });
        }
        let ir = self.ir;
        let step = self.m.st.step + 1;
        self.m.st.step = step;
        self.m.st.date = ir.scenario.date_of(step);
        self.m.firings_this_step = 0;
        self.m.log.steps.push(StepMark {
            step,
            date: self.m.st.date,
            firings: self.m.log.firings.len(),
            changes: self.m.log.changes.len(),
            events: self.m.log.events.len(),
        });
        let clock = self.m.st.layout.clock_cell();
        self.m.st.changed(clock);
        if self.m.st.series_steady.len() != ir.series.len() {
            self.m.st.series_steady.resize(ir.series.len(), 0);
        }
        for s in 0..ir.series.len() {
            // Between the steps where it can change, a series keeps its value.
            if step < self.m.st.series_steady[s] {
                continue;
            }
            let points = &self.m.st.series_points[s];
            let value = series_value(&ir.series[s], points, step as i64).map_err(|f| self.fault(f, None))?;
            self.m.st.series_steady[s] = series_steady_until(&ir.series[s], points, step as i64);
            if self.m.st.series[s] != value {
                self.m.st.series[s] = value;
                let cell = self.m.st.layout.series_cell(s as u32);
                self.m.st.changed(cell);
            }
        }
        self.absorb_dirtied();
        // (Queueing pushes nothing on `carry`, so its memory can be kept.)
        let mut carry = std::mem::take(&mut self.m.carry);
        for &i in &carry {
            self.queue(i);
        }
        carry.clear();
        self.m.carry = carry;
        // (Most steps have no effect scheduled, and most runs none at all.)
        if !self.m.scheduled.is_empty()
            && let Some(due) = self.m.scheduled.remove(&step)
        {
            for scheduled in due {
                let mut frame = scheduled.frame.clone();
                let effect = effect_at(ir, scheduled.rule, scheduled.index, scheduled.depth);
                let bindings = self.bindings_of(scheduled.rule, &frame);
                let path = (scheduled.rule, scheduled.index, scheduled.depth);
                self.apply(effect, path, &mut frame, scheduled.cause, true)
                    .map_err(|f| self.fault(f, Some((scheduled.rule, &bindings))))?;
            }
        }
        for group in &ir.schedule {
            loop {
                let mut fired = false;
                for &rule in &group.rules {
                    // Most rules have nothing to look at in most passes: no
                    // pending instance, and no `at` due now.
                    let r = rule as usize;
                    if self.m.pending[r].is_empty() && self.m.at_steps.get(r) != Some(&(step as i64)) {
                        continue;
                    }
                    fired |= self.run_rule(rule)?;
                    if self.m.end.is_some() {
                        break;
                    }
                }
                if self.m.end.is_some() || !group.iterate || !fired {
                    break;
                }
            }
            if self.m.end.is_some() {
                break;
            }
        }
        self.check_asserts()?;
        if ir.expects_due.any_at(step) {
            self.check_expects(Some(step))?;
        }
        if let Some(End::Stopped(reason)) = self.m.end.clone() {
            self.m.end = None;
            self.finish(End::Stopped(reason))?;
        } else if step >= self.m.horizon {
            self.finish(End::Horizon)?;
        }
        Ok(true)
    }

    pub(super) fn bindings_of(&self, rule: u32, frame: &[Value]) -> Vec<u32> {
        let n = self.ir.rules[rule as usize].binders.len();
        frame.iter().take(n).map(|v| if let Value::Entity(e) = v { *e } else { 0 }).collect()
    }

    /// Looks at the pending instances of one rule; returns whether any fired.
    #[inline]
    pub(super) fn run_rule(&mut self, rule: u32) -> Step<bool> {
        let def = &self.ir.rules[rule as usize];
        // Most rules are neither timed by `at` nor `together`: their pending
        // instances are looked at, and fired, one by one.
        if def.together || matches!(def.trigger, TriggerIr::At(_)) {
            return self.run_rule_gathering(rule);
        }
        let count = self.m.pending[rule as usize].len();
        if count == 0 {
            return Ok(false);
        }
        self.order_pending(rule, count);
        let outcome = self.look_at_pending(rule, count, None);
        self.forget_pending(rule, count);
        outcome
    }

    /// [`Stepper::run_rule`] for a rule timed by `at` or a `together` rule.
    #[inline(never)]
    fn run_rule_gathering(&mut self, rule: u32) -> Step<bool> {
        let ir = self.ir;
        let def = &ir.rules[rule as usize];
        let step = self.m.st.step;
        let mut fired = false;
        // A `together` rule fires at most once per step, as a group: the
        // instances whose conditions hold are gathered first, then fired at once.
        let together = def.together;
        if together && self.m.together_step.get(rule as usize) == Some(&step) {
            return Ok(false);
        }
        let mut group = Vec::new();
        if !matches!(def.trigger, TriggerIr::At(_)) && self.m.pending[rule as usize].is_empty() {
            return Ok(false);
        }
        if let TriggerIr::At(_) = def.trigger {
            if self.m.at_steps.get(rule as usize).copied() != Some(step as i64) {
                return Ok(false);
            }
            let (begin, end) = self.m.rule_instances[rule as usize];
            for i in begin..end {
                if self.m.instances[i as usize].fired_step == step {
                    continue;
                }
                let holds = self.evaluate_filter(i)?;
                if holds {
                    self.fire_or_gather(i, together, &mut group)?;
                    fired = true;
                }
                if self.m.end.is_some() {
                    break;
                }
            }
            self.fire_together(rule, &group)?;
            return Ok(fired);
        }
        let count = self.m.pending[rule as usize].len();
        self.order_pending(rule, count);
        let outcome = self.look_at_pending(rule, count, Some(&mut group));
        self.forget_pending(rule, count);
        let fired = outcome?;
        if group.is_empty() {
            return Ok(fired);
        }
        self.fire_together(rule, &group)?;
        Ok(fired)
    }

    /// Puts the `count` instances pending for `rule` in instance order. The
    /// instances pending now are looked at in this pass; those queued while
    /// it runs (appended to the same list, so that its memory is kept) wait
    /// for the next pass.
    #[inline(always)]
    fn order_pending(&mut self, rule: u32, count: usize) {
        let pending = &mut self.m.pending[rule as usize];
        // The pending instances of a rule are those of its range that are
        // queued: when they are many, a scan beats a sort.
        if count >= 64 {
            let (begin, end) = self.m.rule_instances[rule as usize];
            if count >= (end - begin) as usize / 16 {
                #[cfg(debug_assertions)]
                let sorted = {
                    let mut sorted = pending.clone();
                    sorted.sort_unstable();
                    sorted
                };
                pending.clear();
                let queued = &self.m.queued[begin as usize..end as usize];
                pending.extend((begin..end).zip(queued).filter(|(_, q)| **q).map(|(i, _)| i));
                #[cfg(debug_assertions)]
                debug_assert_eq!(*pending, sorted);
                return;
            }
        }
        pending.sort_unstable();
    }

    /// Drops the `count` instances of `rule` looked at in this pass from its
    /// pending list (also after a fault, as when the list was taken out for
    /// the pass).
    #[inline(always)]
    fn forget_pending(&mut self, rule: u32, count: usize) {
        let pending = &mut self.m.pending[rule as usize];
        if pending.len() == count {
            pending.clear();
        } else {
            pending.drain(..count);
        }
    }

    /// The first `count` pending instances of `rule`, in the order of the
    /// list: their conditions where dirty, and the firings (or, for a
    /// `together` rule, with `group`, the gathering) of those that hold.
    #[inline(always)]
    fn look_at_pending(&mut self, rule: u32, count: usize, mut group: Option<&mut Vec<u32>>) -> Step<bool> {
        let def = &self.ir.rules[rule as usize];
        let step = self.m.st.step;
        let mut fired = false;
        for n in 0..count {
            let i = self.m.pending[rule as usize][n];
            if self.m.end.is_some() {
                // The run stopped: keep the rest for a later look (none will come).
                for k in n..count {
                    let rest = self.m.pending[rule as usize][k];
                    self.m.queued[rest as usize] = false;
                }
                break;
            }
            self.m.queued[i as usize] = false;
            let inst = &self.m.instances[i as usize];
            if inst.fired_step == step {
                // It is looked at again in the next step: a `while` instance
                // that fired is in `carry` already (pushed as it fired).
                if !matches!(def.trigger, TriggerIr::While(_)) {
                    self.m.carry.push(i);
                }
                continue;
            }
            let cond = if inst.dirty { self.evaluate_condition(i, &def.trigger)? } else { inst.cond };
            let inst = &mut self.m.instances[i as usize];
            match def.trigger {
                TriggerIr::When(_) => {
                    if cond && inst.armed {
                        inst.armed = false;
                        match group.as_deref_mut() {
                            Some(group) => group.push(i),
                            None => self.fire(i)?,
                        }
                        fired = true;
                    } else if !cond {
                        inst.armed = true;
                    }
                }
                _ => {
                    if cond {
                        match group.as_deref_mut() {
                            Some(group) => group.push(i),
                            None => self.fire(i)?,
                        }
                        fired = true;
                        self.m.carry.push(i);
                    }
                }
            }
        }
        Ok(fired)
    }

    /// Evaluates an instance's `where` and condition, subscribing it to what they read.
    #[inline(never)]
    pub(super) fn evaluate_condition(&mut self, i: u32, trigger: &TriggerIr) -> Step<bool> {
        self.evaluate(i, Some(trigger), true)
    }

    /// Evaluates the `where` of an instance of a rule timed by `at`, which
    /// subscribes it to nothing: such an instance is looked at only at its
    /// rule's step, and then every one of them whatever changed, so a change
    /// of what it read would only queue it for nothing, step after step.
    #[inline(never)]
    fn evaluate_filter(&mut self, i: u32) -> Step<bool> {
        self.evaluate(i, None, false)
    }

    /// [`Stepper::evaluate_condition`] and [`Stepper::evaluate_filter`]: the
    /// `where` and then, with a trigger, its condition; the instance is the
    /// consumer of what they read if it `subscribes`.
    #[inline(always)]
    fn evaluate(&mut self, i: u32, trigger: Option<&TriggerIr>, subscribes: bool) -> Step<bool> {
        let ir = self.ir;
        let inst = &self.m.instances[i as usize];
        let rule_id = inst.rule as usize;
        let rule = &ir.rules[rule_id];
        let size = (rule.locals as usize).max(inst.bindings.len());
        let consumer = self.m.st.layout.derived + i;
        if subscribes {
            self.m.st.stack.push(consumer);
        }
        let result = if size <= SMALL_FRAME {
            let mut frame = [const { Value::None }; SMALL_FRAME];
            bind(&mut frame, &inst.bindings);
            let mut ev = Evaluator { ir, st: &mut self.m.st, derived_owner: self.derived_owner };
            condition_holds(&mut ev, rule_id, rule, trigger, &mut frame[..size])
        } else {
            let mut locals = self.m.st.locals(size);
            bind(locals.slots(), &inst.bindings);
            let mut ev = Evaluator { ir, st: &mut self.m.st, derived_owner: self.derived_owner };
            let result = condition_holds(&mut ev, rule_id, rule, trigger, locals.slots());
            self.m.st.give_locals(locals);
            result
        };
        if subscribes {
            self.m.st.stack.pop();
        }
        match result {
            Ok(holds) => {
                let inst = &mut self.m.instances[i as usize];
                inst.cond = holds;
                inst.dirty = false;
                Ok(holds)
            }
            Err(f) => Err(self.instance_fault(f, i)),
        }
    }

    /// A fault of instance `i`, with its rule and bindings as the context.
    #[cold]
    #[inline(never)]
    fn instance_fault(&self, fault: Fault, i: u32) -> RunFault {
        let inst = &self.m.instances[i as usize];
        self.fault(fault, Some((inst.rule, &inst.bindings)))
    }

    /// With provenance on: what an instance's `where` and condition read, with
    /// the values they see now. Logged when the instance fires, not each time
    /// its condition is evaluated (most evaluations fire nothing): the inputs of
    /// a condition that is not dirty have not changed since it was evaluated.
    #[inline(never)]
    fn condition_reads(&mut self, i: u32) -> Vec<(ReadKey, Value)> {
        let mut reads = Vec::new();
        let ir = self.ir;
        let inst = &self.m.instances[i as usize];
        let rule = &ir.rules[inst.rule as usize];
        let mut frame = self.m.st.take_frame((rule.locals as usize).max(inst.bindings.len()));
        for (slot, e) in frame.iter_mut().zip(inst.bindings.iter()) {
            *slot = Value::Entity(*e);
        }
        let mut ev = Evaluator { ir, st: &mut self.m.st, derived_owner: self.derived_owner };
        let holds = match &rule.filter {
            Some(filter) => {
                collect_reads(&mut ev, filter, &mut frame, &mut reads);
                matches!(ev.eval(filter, &mut frame), Ok(Value::Bool(true)))
            }
            None => true,
        };
        if holds && let TriggerIr::When(cond) | TriggerIr::While(cond) = &rule.trigger {
            collect_reads(&mut ev, cond, &mut frame, &mut reads);
        }
        self.m.st.give_frame(frame);
        reads
    }

    pub(super) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    pub(super) fn fire(&mut self, i: u32) -> Step<()> {
        let ir = self.ir;
        let step = self.m.st.step;
        self.m.firings_this_step += 1;
        let inst = &mut self.m.instances[i as usize];
        inst.fired_step = step;
        let rule_index = inst.rule;
        if self.m.firings_this_step > self.limits.max_firings_per_step {
            let rule = &ir.rules[rule_index as usize];
            let fault = Fault::new(
                codes::limit::firings,
                format!("more than {} rule firings in one step", self.limits.max_firings_per_step),
                rule.trigger_span,
                "the limit was reached when this rule fired",
            )
            .help("rules in a feedback loop may keep each other firing; raise the limit with `--max-firings-per-step`");
            return Err(self.instance_fault(fault, i));
        }
        // A step in which rules keep firing can be long: look at the flag
        // every so often, not only between steps.
        if self.m.firings_this_step.is_multiple_of(CANCEL_CHECK_FIRINGS) && self.cancelled() {
            let rule = &ir.rules[rule_index as usize];
            let fault = Fault::new(
                codes::limit::cancelled,
                "the run was cancelled",
                rule.trigger_span,
                "cancelled while this rule fired",
            );
            return Err(self.instance_fault(fault, i));
        }
        let reads = if self.m.provenance { self.condition_reads(i) } else { Vec::new() };
        let rule = &ir.rules[rule_index as usize];
        // What `explain` needs is kept in memory: bound it.
        let cost = 1 + reads.len() as u64 + rule.effects.len() as u64;
        self.m.log.recorded = self.m.log.recorded.saturating_add(cost);
        // (Firings are numbered with a u32, whatever the limit.)
        if self.m.log.recorded > self.limits.max_trace || self.m.log.firings.len() >= (u32::MAX - 1) as usize
        {
            let fault = Fault::new(
                codes::limit::trace,
                format!(
                    "the run has kept {} records (firings, the values they read, their changes): the limit",
                    self.limits.max_trace
                ),
                rule.trigger_span,
                "the limit was reached when this rule fired",
            )
            .help(
                "the trace is kept for `explain`: raise the limit with `--max-trace` or `Engine::max_trace`, \
                 run fewer steps, or turn provenance off (`Engine::provenance(false)`) to keep fewer",
            );
            return Err(self.instance_fault(fault, i));
        }
        let cause = self.m.log.firings.len() as u32;
        let changes_before = self.m.log.changes.len();
        let bindings = &self.m.instances[i as usize].bindings;
        let size = (rule.locals as usize).max(bindings.len());
        // A quiet run keeps only the firings of `together` rules, whose
        // faults name them; the others are read by the trace and `explain`.
        if !self.m.quiet || rule.together {
            self.m.log.firings.push(FiringRecord {
                step,
                rule: rule_index,
                bindings: bindings.clone(),
                reads,
                changes_before,
            });
        }
        if size <= SMALL_FRAME {
            let mut frame = [const { Value::None }; SMALL_FRAME];
            bind(&mut frame, &self.m.instances[i as usize].bindings);
            self.apply_effects(i, rule_index, cause, &mut frame[..size])?;
        } else {
            let mut locals = self.m.st.locals(size);
            bind(locals.slots(), &self.m.instances[i as usize].bindings);
            self.apply_effects(i, rule_index, cause, locals.slots())?;
            self.m.st.give_locals(locals);
        }
        self.absorb_dirtied();
        Ok(())
    }

    /// The effects of a firing of instance `i` of rule `rule_index`, in order.
    #[inline]
    fn apply_effects(&mut self, i: u32, rule_index: u32, cause: u32, frame: &mut [Value]) -> Step<()> {
        let rule = &self.ir.rules[rule_index as usize];
        for (index, effect) in rule.effects.iter().enumerate() {
            if let Err(f) = self.apply(effect, (rule_index, index as u32, 0), frame, cause, false) {
                return Err(self.instance_fault(f, i));
            }
        }
        Ok(())
    }
}

/// Frames of at most this many locals (a rule's binders and its `let`s) are
/// made on the stack, not taken from the pool of `State::locals`.
pub(super) const SMALL_FRAME: usize = 2;

/// Puts the entities an instance is bound to in the first locals of `frame`.
#[inline]
fn bind(frame: &mut [Value], bindings: &[u32]) {
    for (slot, e) in frame.iter_mut().zip(bindings) {
        *slot = Value::Entity(*e);
    }
}

/// Whether the `where` of rule `rule_id` holds in `frame` and then, with a
/// `when` or `while` trigger, its condition (not evaluated where the `where`
/// does not hold).
#[inline(always)]
fn condition_holds(
    ev: &mut Evaluator,
    rule_id: usize,
    rule: &RuleDef,
    trigger: Option<&TriggerIr>,
    frame: &mut [Value],
) -> Result<bool, Fault> {
    let ir = ev.ir;
    if let Some(filter) = &rule.filter {
        let code = ir.code.filters.get(rule_id).and_then(Option::as_ref);
        if !ev.holds_with(filter, code, frame)? {
            return Ok(false);
        }
    }
    if let Some(TriggerIr::When(cond) | TriggerIr::While(cond)) = trigger {
        let code = ir.code.conditions.get(rule_id).and_then(Option::as_ref);
        return ev.holds_with(cond, code, frame);
    }
    Ok(true)
}

//! The step machine.
//!
//! A [`Run`] holds the state of one run of a program: the values of params,
//! the stored values (slots), the current value of every series, the caches
//! of derived values and the state of every rule instance (armed, last
//! condition value, dirty). One call to [`Run::step`] runs one step:
//!
//! 1. advance `step` and `date`, update the series, and apply the effects that
//!    `after` scheduled for this step;
//! 2. run the rule groups in schedule order (the topological order of the
//!    condensation of the rule graph, computed by the checker). A group that is
//!    a feedback loop repeats, in source order, until no instance fires; each
//!    `when` and `while` instance fires at most once per step, so this ends;
//! 3. check the `assert`s and the `expect ... at` this step, and record.
//!
//! Only instances whose inputs changed are evaluated again: while a condition
//! is computed, every value it reads records the instance as a reader
//! (`state.rs`); a write notifies the readers. A quiet step costs what changed,
//! not the size of the world. A `while` instance whose condition held fires again
//! in the next step without re-evaluating a condition whose inputs did not change.

mod expr;
pub(crate) mod lint;
mod state;
pub(crate) mod trace;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Problem;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{AssignOp, Interpolation};
use crate::value::{Value, human};

pub(crate) use expr::{Evaluator, Fault, display_value};
pub(crate) use state::{Layout, State};
use trace::*;

/// Limits on what one run may consume.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub max_steps: u64,
    pub max_firings_per_step: u64,
    pub max_fuel: u64,
    pub max_instances: u64,
}

/// Within a step, the cancel flag is looked at once per this many firings.
const CANCEL_CHECK_FIRINGS: u64 = 1024;

/// The cause recorded for a value set by hand (REPL `:set`, [`crate::Run::set_value`]).
pub(crate) const BY_HAND: u32 = u32::MAX;

/// One rule instance: a rule with its binders bound to entities.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub rule: u32,
    pub bindings: Box<[u32]>,
    /// A `when` instance may fire (its condition has been false since it last fired).
    pub armed: bool,
    /// The condition's value when last evaluated.
    pub cond: bool,
    /// Inputs changed since the condition was last evaluated.
    pub dirty: bool,
    /// The step in which it last fired (0: never).
    pub fired_step: u64,
    /// What the condition read when last evaluated (with provenance on).
    pub reads: Vec<(ReadKey, Value)>,
}

/// An effect scheduled by `after`: which effect, its bindings and its cause.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Scheduled {
    pub rule: u32,
    pub index: u32,
    pub depth: u32,
    pub frame: Vec<Value>,
    pub cause: u32,
}

/// The result of one `expect` or `assert`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub assert: bool,
    pub index: u32,
    pub passed: bool,
    /// The step at which it was checked (or failed first).
    pub step: Option<u64>,
    /// The values it read, as `name = value` (for failures).
    pub detail: String,
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum End {
    Horizon,
    Stopped(String),
}

/// Everything that changes during a run (what a checkpoint saves).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Machine {
    pub st: State,
    pub instances: Vec<Instance>,
    /// Instances of each rule, as a range into `instances`.
    pub rule_instances: Vec<(u32, u32)>,
    pub pending: Vec<Vec<u32>>,
    pub queued: Vec<bool>,
    /// Instances to look at again in the next step.
    pub carry: Vec<u32>,
    pub scheduled: BTreeMap<u64, Vec<Scheduled>>,
    pub log: Log,
    pub outcomes: Vec<Outcome>,
    pub end: Option<End>,
    pub horizon: u64,
    pub provenance: bool,
    pub firings_this_step: u64,
    /// The stored values at step 0.
    pub initial: Vec<Value>,
    /// A list to log the reads of the condition being evaluated into; it is
    /// swapped with the instance's list when the evaluation succeeds, so that
    /// neither is allocated again.
    #[serde(skip)]
    pub spare_reads: Vec<(ReadKey, Value)>,
}

/// A run-time error: the fault and where the machine was.
pub(crate) struct RunFault {
    pub fault: Fault,
    pub context: Vec<String>,
}

impl RunFault {
    pub fn into_problem(self) -> Problem {
        let mut help = self.context.join("; ");
        let fault = self.fault.into_data();
        if let Some(h) = fault.help {
            if !help.is_empty() {
                help.push('\n');
            }
            help.push_str(&h);
        }
        let problem = Problem::error(fault.code, fault.message).label(fault.span, fault.label);
        if help.is_empty() { problem } else { problem.help(help) }
    }
}

type Step<T> = Result<T, RunFault>;

/// Borrowed view used while stepping.
pub(crate) struct Stepper<'a> {
    pub ir: &'a Ir,
    pub derived_owner: &'a [(u32, u32)],
    pub limits: &'a Limits,
    pub m: &'a mut Machine,
    pub cancel: Option<&'a AtomicBool>,
}

impl Machine {
    /// Sets up a run: params (with overrides), initial values, series, exposures,
    /// rule instances; then checks the asserts at step 0.
    pub fn start(
        ir: &Ir,
        derived_owner: &[(u32, u32)],
        limits: &Limits,
        overrides: &[(u32, Value)],
        horizon: Option<u64>,
        provenance: bool,
    ) -> Result<Machine, RunFault> {
        let layout = Layout::of(ir);
        let mut st = State::new(layout, limits.max_fuel);
        let horizon = horizon.unwrap_or(ir.scenario.horizon).min(limits.max_steps);
        let at_start =
            |fault: Fault| RunFault { fault, context: vec![String::from("while computing initial values")] };
        {
            let mut ev = Evaluator { ir, st: &mut st, derived_owner };
            for (p, param) in ir.params.iter().enumerate() {
                let value = match overrides.iter().find(|(id, _)| *id == p as u32) {
                    Some((_, v)) => v.clone(),
                    None => eval_root(&mut ev, &param.expr, None).map_err(at_start)?,
                };
                ev.st.params.push(value);
            }
            for (v, var) in ir.vars.iter().enumerate() {
                let value = eval_root(&mut ev, &var.expr, None).map_err(at_start)?;
                ev.st.slots[v] = value;
            }
            for (e, entity) in ir.entities.iter().enumerate() {
                let stored = ir.kinds[entity.kind as usize].stored_count;
                for (i, init) in entity.inits.iter().enumerate() {
                    let value = eval_root(&mut ev, init, Some(e as u32)).map_err(at_start)?;
                    ev.st.slots[(entity.slot_base + i as u32) as usize] = value;
                }
                ev.st.slots[(entity.slot_base + stored) as usize] = Value::Bool(false);
                ev.st.slots[(entity.slot_base + stored + 1) as usize] = Value::None;
            }
            for series in &ir.series {
                let mut points = Vec::new();
                for (step, root) in &series.points {
                    let value = eval_root(&mut ev, root, None).map_err(at_start)?;
                    points.push((*step, value.as_number().unwrap_or_default()));
                }
                ev.st.series_points.push(points);
            }
            // Literal exposures (the usual case) are read from the program; the
            // loop below would charge this fuel and report this recovery.
            let literal = ir.literal_exposures.filter(|l| ev.st.fuel >= l.fuel);
            if let Some(literal) = literal {
                ev.st.fuel -= literal.fuel;
                if let Some(x) = literal.bad_recovery {
                    let (_, recovery) = ir.literal_exposure(x);
                    return Err(at_start(bad_recovery(recovery, ir.exposures[x as usize].recovery_span)));
                }
            } else {
                ev.st.exposures.reserve_exact(ir.exposures.len());
            }
            for x in ir.exposures.iter().filter(|_| literal.is_none()) {
                let amount = const_number(&mut ev, &x.amount, x.recovery_span).map_err(at_start)?;
                let recovery = match &x.recovery {
                    Some(r) => const_number(&mut ev, r, x.recovery_span).map_err(at_start)?,
                    None => Decimal::ZERO,
                };
                if recovery < Decimal::ZERO || recovery > Decimal::ONE {
                    return Err(at_start(bad_recovery(recovery, x.recovery_span)));
                }
                ev.st.exposures.push((amount, recovery));
            }
            ev.st.fuel = limits.max_fuel;
        }
        for s in 0..ir.series.len() {
            st.series[s] = series_value(&ir.series[s], &st.series_points[s], 0).map_err(|mut f| {
                f.span = ir.series[s].span;
                at_start(f)
            })?;
        }
        // Rule instances: one per tuple of entities of the binders' kinds.
        let mut instances = Vec::new();
        let mut rule_instances = Vec::new();
        for (r, rule) in ir.rules.iter().enumerate() {
            let begin = instances.len() as u32;
            let lists: Vec<&[u32]> =
                rule.binders.iter().map(|(_, k)| ir.kinds[*k as usize].entities.as_slice()).collect();
            let total =
                lists.iter().try_fold(1u64, |acc, l| acc.checked_mul(l.len() as u64)).unwrap_or(u64::MAX);
            if total.saturating_add(instances.len() as u64) > limits.max_instances {
                return Err(RunFault {
                    fault: Fault::new(
                        "cascade::limit::instances",
                        format!(
                            "{} would have {total} instances, over the limit of {}",
                            rule.title(),
                            limits.max_instances
                        ),
                        rule.span,
                        "one instance per combination of its binders",
                    )
                    .help("bind fewer kinds, or raise the limit (`--max-instances`)"),
                    context: Vec::new(),
                });
            }
            let mut tuple = vec![0usize; lists.len()];
            if lists.iter().all(|l| !l.is_empty()) {
                loop {
                    let bindings: Box<[u32]> = tuple.iter().zip(&lists).map(|(i, l)| l[*i]).collect();
                    instances.push(Instance {
                        rule: r as u32,
                        bindings,
                        armed: true,
                        cond: false,
                        dirty: true,
                        fired_step: 0,
                        reads: Vec::new(),
                    });
                    // Odometer over the binders, last binder fastest.
                    let mut i = lists.len();
                    loop {
                        if i == 0 {
                            break;
                        }
                        i -= 1;
                        tuple[i] += 1;
                        if tuple[i] < lists[i].len() {
                            break;
                        }
                        tuple[i] = 0;
                        if i == 0 {
                            i = usize::MAX;
                            break;
                        }
                    }
                    if i == usize::MAX || lists.is_empty() {
                        break;
                    }
                }
            }
            rule_instances.push((begin, instances.len() as u32));
        }
        let mut pending = vec![Vec::new(); ir.rules.len()];
        for (i, inst) in instances.iter().enumerate() {
            if !matches!(ir.rules[inst.rule as usize].trigger, TriggerIr::At(_)) {
                pending[inst.rule as usize].push(i as u32);
            }
        }
        let queued = instances
            .iter()
            .map(|i| !matches!(ir.rules[i.rule as usize].trigger, TriggerIr::At(_)))
            .collect();
        let mut machine = Machine {
            st,
            instances,
            rule_instances,
            pending,
            queued,
            carry: Vec::new(),
            scheduled: BTreeMap::new(),
            log: Log::default(),
            outcomes: Vec::new(),
            end: None,
            horizon,
            provenance,
            firings_this_step: 0,
            initial: Vec::new(),
            spare_reads: Vec::new(),
        };
        machine.initial = machine.st.slots.clone();
        let mut stepper = Stepper { ir, derived_owner, limits, m: &mut machine, cancel: None };
        stepper.check_asserts()?;
        Ok(machine)
    }
}

impl Machine {
    /// After loading a checkpoint: rebuild the caches that are not saved, and
    /// let every instance look at its condition again (a clean condition gives
    /// the value it had, so nothing fires that would not have).
    pub fn rebuild(&mut self, ir: &Ir) {
        let layout = Layout::of(ir);
        self.st.layout = layout;
        self.st.recompute_losses(ir);
        self.st.derived = vec![None; layout.derived as usize];
        self.st.computing = vec![false; layout.derived as usize];
        self.st.readers = vec![Vec::new(); layout.cells()];
        self.st.stack.clear();
        self.st.dirtied.clear();
        for p in &mut self.pending {
            p.clear();
        }
        for (i, inst) in self.instances.iter_mut().enumerate() {
            let timed = matches!(ir.rules[inst.rule as usize].trigger, TriggerIr::At(_));
            inst.dirty = !timed;
            self.queued[i] = !timed;
            if !timed {
                self.pending[inst.rule as usize].push(i as u32);
            }
        }
    }
}

fn eval_root(ev: &mut Evaluator, root: &Root, entity: Option<u32>) -> Result<Value, Fault> {
    // Most initial values are literals: no frame, no tree walk (but the same fuel).
    if let NodeKind::Const(value) = &root.node.kind
        && ev.st.fuel > 0
    {
        ev.st.fuel -= 1;
        return Ok(value.clone());
    }
    let mut frame = ev.st.take_frame(root.locals as usize);
    if let (Some(e), Some(slot)) = (entity, frame.first_mut()) {
        *slot = Value::Entity(e);
    }
    let value = ev.eval(&root.node, &mut frame);
    ev.st.give_frame(frame);
    value
}

fn bad_recovery(recovery: Decimal, span: Span) -> Fault {
    Fault::new(
        "cascade::run::bad_recovery",
        format!("a recovery rate of {} is outside 0% to 100%", human(recovery)),
        span,
        "recovery must be between 0% and 100%",
    )
}

/// An exposure's amount or recovery rate. A literal costs the fuel of the
/// one node it was.
fn const_number(ev: &mut Evaluator, number: &ConstNumber, span: Span) -> Result<Decimal, Fault> {
    match number {
        ConstNumber::Literal(n) => {
            if ev.st.fuel == 0 {
                return Err(expr::out_of_fuel(span));
            }
            ev.st.fuel -= 1;
            Ok(*n)
        }
        ConstNumber::Expr(root) => Ok(eval_root(ev, root, None)?.as_number().unwrap_or_default()),
    }
}

/// The value of a series at a step: flat outside its points, interpolated by step number.
fn series_value(series: &SeriesDef, points: &[(i64, Decimal)], step: i64) -> Result<Value, Fault> {
    let Some(first) = points.first() else { return Ok(Value::Number(Decimal::ZERO)) };
    if step <= first.0 {
        return Ok(Value::Number(first.1));
    }
    let after = points.iter().position(|(s, _)| *s > step);
    let Some(next) = after else {
        return Ok(Value::Number(points[points.len() - 1].1));
    };
    let (s0, v0) = points[next - 1];
    let (s1, v1) = points[next];
    if series.mode == Interpolation::Hold {
        return Ok(Value::Number(v0));
    }
    let overflow = || {
        Fault::new(
            "cascade::run::overflow",
            format!("arithmetic overflow interpolating series `{}`", series.name),
            series.span,
            "between these points",
        )
    };
    let value = v1
        .checked_sub(v0)
        .and_then(|d| d.checked_mul(Decimal::from(step - s0)))
        .and_then(|d| d.checked_div(Decimal::from(s1 - s0)))
        .and_then(|d| v0.checked_add(d))
        .ok_or_else(overflow)?;
    Ok(Value::Number(value))
}

impl Stepper<'_> {
    fn ev(&mut self) -> Evaluator<'_> {
        Evaluator { ir: self.ir, st: &mut self.m.st, derived_owner: self.derived_owner }
    }

    fn context(&self, rule: Option<(u32, &[u32])>) -> Vec<String> {
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

    fn fault(&self, fault: Fault, rule: Option<(u32, &[u32])>) -> RunFault {
        RunFault { context: self.context(rule), fault }
    }

    /// Moves instances whose inputs changed into their rule's pending list.
    fn absorb_dirtied(&mut self) {
        let m = &mut *self.m;
        for i in m.st.dirtied.drain(..) {
            let inst = &mut m.instances[i as usize];
            inst.dirty = true;
            if !m.queued[i as usize] {
                m.queued[i as usize] = true;
                m.pending[inst.rule as usize].push(i);
            }
        }
    }

    fn queue(&mut self, i: u32) {
        if !self.m.queued[i as usize] {
            self.m.queued[i as usize] = true;
            let rule = self.m.instances[i as usize].rule;
            self.m.pending[rule as usize].push(i);
        }
    }

    /// Runs one step. Returns `false` if the run had already ended.
    pub fn step(&mut self) -> Step<bool> {
        if self.m.end.is_some() {
            return Ok(false);
        }
        if self.m.st.step >= self.m.horizon {
            self.finish(End::Horizon)?;
            return Ok(false);
        }
        if self.cancelled() {
            return Err(RunFault {
                fault: Fault::new("cascade::limit::cancelled", "the run was cancelled", Span::default(), ""),
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
        for s in 0..ir.series.len() {
            let value = series_value(&ir.series[s], &self.m.st.series_points[s], step as i64)
                .map_err(|f| self.fault(f, None))?;
            if self.m.st.series[s] != value {
                self.m.st.series[s] = value;
                let cell = self.m.st.layout.series_cell(s as u32);
                self.m.st.changed(cell);
            }
        }
        self.absorb_dirtied();
        for i in std::mem::take(&mut self.m.carry) {
            self.queue(i);
        }
        if let Some(due) = self.m.scheduled.remove(&step) {
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
        self.check_expects(Some(step))?;
        if let Some(End::Stopped(reason)) = self.m.end.clone() {
            self.m.end = None;
            self.finish(End::Stopped(reason))?;
        } else if step >= self.m.horizon {
            self.finish(End::Horizon)?;
        }
        Ok(true)
    }

    fn bindings_of(&self, rule: u32, frame: &[Value]) -> Vec<u32> {
        let n = self.ir.rules[rule as usize].binders.len();
        frame.iter().take(n).map(|v| if let Value::Entity(e) = v { *e } else { 0 }).collect()
    }

    /// Looks at the pending instances of one rule; returns whether any fired.
    fn run_rule(&mut self, rule: u32) -> Step<bool> {
        let ir = self.ir;
        let def = &ir.rules[rule as usize];
        let step = self.m.st.step;
        let mut fired = false;
        if let TriggerIr::At(at) = def.trigger {
            if at != step as i64 {
                return Ok(false);
            }
            let (begin, end) = self.m.rule_instances[rule as usize];
            for i in begin..end {
                if self.m.instances[i as usize].fired_step == step {
                    continue;
                }
                let holds = self.evaluate_condition(i, None)?;
                if holds {
                    self.fire(i)?;
                    fired = true;
                }
                if self.m.end.is_some() {
                    break;
                }
            }
            return Ok(fired);
        }
        let mut list = std::mem::take(&mut self.m.pending[rule as usize]);
        // In instance order. The pending instances of a rule are those of its
        // range that are queued: when they are many, a scan beats a sort.
        let (begin, end) = self.m.rule_instances[rule as usize];
        if list.len() >= 64 && list.len() >= (end - begin) as usize / 16 {
            #[cfg(debug_assertions)]
            let sorted = {
                let mut sorted = list.clone();
                sorted.sort_unstable();
                sorted
            };
            list.clear();
            let queued = &self.m.queued[begin as usize..end as usize];
            list.extend((begin..end).zip(queued).filter(|(_, q)| **q).map(|(i, _)| i));
            #[cfg(debug_assertions)]
            debug_assert_eq!(list, sorted);
        } else {
            list.sort_unstable();
        }
        for (n, &i) in list.iter().enumerate() {
            if self.m.end.is_some() {
                // The run stopped: keep the rest for a later look (none will come).
                for &rest in &list[n..] {
                    self.m.queued[rest as usize] = false;
                }
                break;
            }
            self.m.queued[i as usize] = false;
            let inst = &self.m.instances[i as usize];
            if inst.fired_step == step {
                self.m.carry.push(i);
                continue;
            }
            let cond = if inst.dirty { self.evaluate_condition(i, Some(&def.trigger))? } else { inst.cond };
            let inst = &mut self.m.instances[i as usize];
            match def.trigger {
                TriggerIr::When(_) => {
                    if cond && inst.armed {
                        inst.armed = false;
                        self.fire(i)?;
                        fired = true;
                    } else if !cond {
                        inst.armed = true;
                    }
                }
                _ => {
                    if cond {
                        self.fire(i)?;
                        fired = true;
                        self.m.carry.push(i);
                    }
                }
            }
        }
        if self.m.pending[rule as usize].is_empty() {
            // Keep the list's memory for the next pass.
            list.clear();
            self.m.pending[rule as usize] = list;
        }
        Ok(fired)
    }

    /// Evaluates an instance's `where` and condition, subscribing it to what they read.
    fn evaluate_condition(&mut self, i: u32, trigger: Option<&TriggerIr>) -> Step<bool> {
        let ir = self.ir;
        let inst = &self.m.instances[i as usize];
        let rule = &ir.rules[inst.rule as usize];
        let mut frame = self.m.st.take_frame((rule.locals as usize).max(inst.bindings.len()));
        for (slot, e) in frame.iter_mut().zip(&inst.bindings) {
            *slot = Value::Entity(*e);
        }
        let consumer = self.m.st.layout.derived + i;
        let provenance = self.m.provenance;
        self.m.st.stack.push(consumer);
        let mut reads = std::mem::take(&mut self.m.spare_reads);
        reads.clear();
        let result = {
            let mut ev = Evaluator { ir, st: &mut self.m.st, derived_owner: self.derived_owner };
            let mut holds = true;
            let mut outcome = Ok(());
            if let Some(filter) = &rule.filter {
                match eval_logged(&mut ev, filter, &mut frame, provenance.then_some(&mut reads)) {
                    Ok(v) => holds = matches!(v, Value::Bool(true)),
                    Err(f) => outcome = Err(f),
                }
            }
            if let (Ok(()), true, Some(TriggerIr::When(cond) | TriggerIr::While(cond))) =
                (&outcome, holds, trigger)
            {
                match eval_logged(&mut ev, cond, &mut frame, provenance.then_some(&mut reads)) {
                    Ok(v) => holds = matches!(v, Value::Bool(true)),
                    Err(f) => outcome = Err(f),
                }
            }
            outcome.map(|()| holds)
        };
        self.m.st.stack.pop();
        self.m.st.give_frame(frame);
        let holds = match result {
            Ok(holds) => holds,
            Err(f) => {
                self.m.spare_reads = reads;
                let bindings = self.m.instances[i as usize].bindings.clone();
                return Err(self.fault(f, Some((rule_id(self.m, i), &bindings))));
            }
        };
        let inst = &mut self.m.instances[i as usize];
        inst.cond = holds;
        inst.dirty = false;
        if provenance {
            std::mem::swap(&mut inst.reads, &mut reads);
        }
        self.m.spare_reads = reads;
        Ok(holds)
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn fire(&mut self, i: u32) -> Step<()> {
        let ir = self.ir;
        let step = self.m.st.step;
        self.m.firings_this_step += 1;
        let inst = &mut self.m.instances[i as usize];
        inst.fired_step = step;
        let rule_index = inst.rule;
        let reads = if self.m.provenance { inst.reads.clone() } else { Vec::new() };
        if self.m.firings_this_step > self.limits.max_firings_per_step {
            let bindings = self.m.instances[i as usize].bindings.clone();
            let rule = &ir.rules[rule_index as usize];
            let fault = Fault::new(
                "cascade::limit::firings",
                format!("more than {} rule firings in one step", self.limits.max_firings_per_step),
                rule.trigger_span,
                "the limit was reached when this rule fired",
            )
            .help("rules in a feedback loop may keep each other firing; raise the limit with `--max-firings-per-step`");
            return Err(self.fault(fault, Some((rule_index, &bindings))));
        }
        // A step in which rules keep firing can be long: look at the flag
        // every so often, not only between steps.
        if self.m.firings_this_step.is_multiple_of(CANCEL_CHECK_FIRINGS) && self.cancelled() {
            let rule = &ir.rules[rule_index as usize];
            let fault = Fault::new(
                "cascade::limit::cancelled",
                "the run was cancelled",
                rule.trigger_span,
                "cancelled while this rule fired",
            );
            let bindings = self.m.instances[i as usize].bindings.clone();
            return Err(self.fault(fault, Some((rule_index, &bindings))));
        }
        let cause = self.m.log.firings.len() as u32;
        let changes_before = self.m.log.changes.len();
        let rule = &ir.rules[rule_index as usize];
        let bindings = &self.m.instances[i as usize].bindings;
        let mut frame = self.m.st.take_frame((rule.locals as usize).max(bindings.len()));
        for (slot, e) in frame.iter_mut().zip(bindings.iter()) {
            *slot = Value::Entity(*e);
        }
        self.m.log.firings.push(FiringRecord {
            step,
            rule: rule_index,
            bindings: bindings.clone(),
            reads,
            changes_before,
        });
        for (index, effect) in rule.effects.iter().enumerate() {
            if let Err(f) = self.apply(effect, (rule_index, index as u32, 0), &mut frame, cause, false) {
                let bindings = self.m.instances[i as usize].bindings.clone();
                return Err(self.fault(f, Some((rule_index, &bindings))));
            }
        }
        self.m.st.give_frame(frame);
        self.absorb_dirtied();
        Ok(())
    }

    /// Applies one effect of a firing (or a scheduled one).
    fn apply(
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
                    TargetIr::Field { object, field } => match ev.eval(object, frame)? {
                        Value::Entity(e) => ir.entities[e as usize].slot_base + field,
                        _ => {
                            return Err(Fault::new(
                                "cascade::run::internal",
                                "internal error: not an entity",
                                object.span,
                                "",
                            ));
                        }
                    },
                };
                let rhs = eval_logged(&mut ev, value, frame, provenance.then_some(&mut reads))?;
                let old = self.m.st.slots[slot as usize].clone();
                let new = if *op == AssignOp::Set { rhs } else { combine(*op, &old, &rhs, effect.span)? };
                if let Some(from) = self.m.st.write_slot(slot, new.clone()) {
                    self.m.log.changes.push(ChangeRecord { step, slot, from, to: new, cause, delayed });
                }
            }
            EffectKindIr::Default(entity) => {
                let e = match self.ev().eval(entity, frame)? {
                    Value::Entity(e) => e,
                    _ => {
                        return Err(Fault::new(
                            "cascade::run::internal",
                            "internal error: not an entity",
                            entity.span,
                            "",
                        ));
                    }
                };
                let def = &ir.entities[e as usize];
                let stored = ir.kinds[def.kind as usize].stored_count;
                let flag = def.slot_base + stored;
                if self.m.st.slots[flag as usize] != Value::Bool(true) {
                    for (slot, value) in
                        [(flag, Value::Bool(true)), (flag + 1, Value::Number(Decimal::from(step)))]
                    {
                        if let Some(from) = self.m.st.write_slot(slot, value.clone()) {
                            self.m.log.changes.push(ChangeRecord {
                                step,
                                slot,
                                from,
                                to: value,
                                cause,
                                delayed,
                            });
                        }
                    }
                    self.m.st.add_default_losses(ir, e);
                    self.m.log.events.push(EventRecord { step, kind: EventKind::Default(e), cause });
                }
            }
            EffectKindIr::Emit(pieces) => {
                let text = self.ev().render(pieces, frame)?;
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
                            "cascade::run::internal",
                            "internal error: delay",
                            delay.span,
                            "",
                        ));
                    }
                };
                let steps = d.is_integer().then(|| d.to_u64()).flatten().ok_or_else(|| {
                    Fault::new(
                        "cascade::run::bad_delay",
                        format!("a delay of {} steps", human(d)),
                        delay.span,
                        "a delay is a whole number of steps, 0 or more",
                    )
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
        if provenance
            && !reads.is_empty()
            && let Some(firing) = self.m.log.firings.get_mut(cause as usize)
        {
            for read in reads {
                if !firing.reads.iter().any(|(k, _)| *k == read.0) {
                    firing.reads.push(read);
                }
            }
        }
        self.absorb_dirtied();
        Ok(())
    }

    /// Checks every assert; records the first failure of each.
    pub fn check_asserts(&mut self) -> Step<()> {
        let ir = self.ir;
        for (index, assert) in ir.asserts.iter().enumerate() {
            let already_failed =
                self.m.outcomes.iter().any(|o| o.assert && o.index == index as u32 && !o.passed);
            if already_failed {
                continue;
            }
            let mut frame = vec![Value::None; assert.cond.locals as usize];
            let holds = self.ev().eval(&assert.cond.node, &mut frame).map_err(|f| self.fault(f, None))?;
            if holds != Value::Bool(true) {
                let mut detail = describe_reads(ir, &mut self.ev(), &assert.cond.node, &mut frame);
                if !assert.message.is_empty() {
                    let message =
                        self.ev().render(&assert.message, &mut frame).map_err(|f| self.fault(f, None))?;
                    detail = if detail.is_empty() { message } else { format!("{message}: {detail}") };
                }
                self.m.outcomes.push(Outcome {
                    assert: true,
                    index: index as u32,
                    passed: false,
                    step: Some(self.m.st.step),
                    detail,
                });
            }
        }
        Ok(())
    }

    /// Checks the expects due at `step` (`None`: the ones for the end of the run).
    fn check_expects(&mut self, step: Option<u64>) -> Step<()> {
        let ir = self.ir;
        for (index, expect) in ir.expects.iter().enumerate() {
            let due = match (expect.at, step) {
                (Some(at), Some(s)) => at == s as i64,
                (None, None) => true,
                _ => false,
            };
            if !due {
                continue;
            }
            let mut frame = vec![Value::None; expect.cond.locals as usize];
            let holds = self.ev().eval(&expect.cond.node, &mut frame).map_err(|f| self.fault(f, None))?;
            let passed = holds == Value::Bool(true);
            let detail = describe_reads(ir, &mut self.ev(), &expect.cond.node, &mut frame);
            self.m.outcomes.push(Outcome {
                assert: false,
                index: index as u32,
                passed,
                step: Some(self.m.st.step),
                detail,
            });
        }
        Ok(())
    }

    fn finish(&mut self, end: End) -> Step<()> {
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

fn rule_id(m: &Machine, i: u32) -> u32 {
    m.instances[i as usize].rule
}

pub(crate) fn frame_for(rule: &RuleDef, bindings: &[u32]) -> Vec<Value> {
    let mut frame = vec![Value::None; (rule.locals as usize).max(bindings.len())];
    for (slot, e) in frame.iter_mut().zip(bindings) {
        *slot = Value::Entity(*e);
    }
    frame
}

fn effect_at(ir: &Ir, rule: u32, index: u32, depth: u32) -> &EffectIr {
    let mut effect = &ir.rules[rule as usize].effects[index as usize];
    for _ in 0..depth {
        if let EffectKindIr::After { effect: inner, .. } = &effect.kind {
            effect = inner;
        }
    }
    effect
}

/// `old op rhs` for `+= -= *= /=`, checked.
fn combine(op: AssignOp, old: &Value, rhs: &Value, span: Span) -> Result<Value, Fault> {
    let (Value::Number(a), Value::Number(b)) = (old, rhs) else {
        return Err(Fault::new(
            "cascade::run::no_value",
            "this has no value",
            span,
            "cannot change a value that is not a number",
        ));
    };
    let (a, b) = (*a, *b);
    if op == AssignOp::Div && b.is_zero() {
        return Err(Fault::new(
            "cascade::run::division_by_zero",
            "division by zero",
            span,
            "`/=` by a value that is 0",
        ));
    }
    let result = match op {
        AssignOp::Add => a.checked_add(b),
        AssignOp::Sub => a.checked_sub(b),
        AssignOp::Mul => a.checked_mul(b),
        AssignOp::Div => a.checked_div(b),
        AssignOp::Set => Some(b),
    };
    result.map(Value::Number).ok_or_else(|| {
        Fault::new(
            "cascade::run::overflow",
            format!("arithmetic overflow: {} and {}", human(a), human(b)),
            span,
            "the result is beyond the range of exact decimals (about 7.9e28)",
        )
    })
}

/// Evaluates `node`, logging the values of the names and fields it reads directly.
fn eval_logged(
    ev: &mut Evaluator,
    node: &Node,
    frame: &mut [Value],
    log: Option<&mut Vec<(ReadKey, Value)>>,
) -> Result<Value, Fault> {
    let value = ev.eval(node, frame)?;
    if let Some(log) = log {
        collect_reads(ev, node, frame, log);
    }
    Ok(value)
}

/// Logs the leaves (names, fields, series) an expression reads, with their values.
/// A leaf that cannot be evaluated (e.g. guarded by `and`) is left out.
fn collect_reads(ev: &mut Evaluator, node: &Node, frame: &mut [Value], log: &mut Vec<(ReadKey, Value)>) {
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
                let def = &ev.ir.entities[e as usize];
                let stored = ev.ir.kinds[def.kind as usize].stored_count;
                let key = match field {
                    FieldRef::Stored(i) => ReadKey::Slot(def.slot_base + i),
                    FieldRef::Defaulted => ReadKey::Slot(def.slot_base + stored),
                    FieldRef::DefaultedAt => ReadKey::Slot(def.slot_base + stored + 1),
                    FieldRef::Derived(i) => ReadKey::Derived(def.derived_base + i),
                };
                if let Ok(value) = ev.field(e, *field, node.span) {
                    push(log, key, value);
                }
            }
        }
        NodeKind::Unary(_, inner) => collect_reads(ev, inner, frame, log),
        NodeKind::Binary(_, l, r) => {
            collect_reads(ev, l, frame, log);
            collect_reads(ev, r, frame, log);
        }
        NodeKind::Call(_, args) | NodeKind::Host(_, args) => {
            for arg in args {
                collect_reads(ev, arg, frame, log);
            }
        }
        _ => {}
    }
}

/// `name = value` for the leaves an expression reads (for failed expectations).
fn describe_reads(ir: &Ir, ev: &mut Evaluator, node: &Node, frame: &mut [Value]) -> String {
    let mut parts: Vec<String> = Vec::new();
    describe_into(ir, ev, node, frame, &mut parts);
    parts.join(", ")
}

fn describe_into(ir: &Ir, ev: &mut Evaluator, node: &Node, frame: &mut [Value], parts: &mut Vec<String>) {
    match &node.kind {
        NodeKind::Const(_) => {}
        NodeKind::Unary(_, inner) => describe_into(ir, ev, inner, frame, parts),
        NodeKind::Binary(_, l, r) => {
            describe_into(ir, ev, l, frame, parts);
            describe_into(ir, ev, r, frame, parts);
        }
        _ => {
            let text = node.span.text(ir.source.text()).to_string();
            let value = match ev.eval(node, frame) {
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

/// For each derived cell after the lets: its entity and derived field index.
pub(crate) fn derived_owners(ir: &Ir) -> Vec<(u32, u32)> {
    let mut owners = Vec::with_capacity((ir.derived_count as usize).saturating_sub(ir.lets.len()));
    for (e, entity) in ir.entities.iter().enumerate() {
        for d in 0..ir.kinds[entity.kind as usize].derived_count {
            owners.push((e as u32, d));
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Value};

    /// `exposure_losses` kept as a running total gives, digit for digit and
    /// scale for scale, the sum over the exposures as written, also where the
    /// running total gives up (zero and negative losses) and after a checkpoint.
    #[test]
    fn running_exposure_losses_match_the_sum_as_written() {
        let script = "
kind Bank { capital = 0, let losses = exposure_losses(self) }
entity a: Bank { capital = 1000000 }
entity b: Bank { capital = 1 }
entity c: Bank { capital = 1 }
entity d: Bank { capital = 1 }
entity e: Bank { capital = 1 }
entity z: Bank { capital = 1 }
exposure a -> b = 1.25, recovery 40%
exposure a -> c = 7, recovery 12.5%
exposure a -> d = 3.000, recovery 0%
exposure z -> b = 5, recovery 100%
exposure z -> c = -2
exposure z -> d = 4.5
exposure c -> e = 10
exposure b -> e = 10
exposure d -> e = 10
at 1 then default(e)
at 2 then default(d)
at 3 then default(b)
at 4 then default(c)
scenario \"t\" { horizon = 5 }
";
        let program = Engine::new().compile(script, "t.cascade").unwrap();
        let sum = |bank: &str| {
            format!("sum(x.amount * (1 - x.recovery) for x in exposures_of({bank}) where x.debtor.defaulted)")
        };
        let mut run = program.run().unwrap();
        let mut checkpoints = Vec::new();
        while run.step().unwrap().is_some() {
            checkpoints.push(run.checkpoint());
            for bank in ["a", "b", "c", "d", "e", "z"] {
                let kept = run.value(&format!("{bank}.losses")).unwrap();
                let summed = run.evaluate(&sum(bank)).unwrap();
                let (Value::Number(kept), Value::Number(summed)) = (kept, summed) else { panic!() };
                assert_eq!((kept, kept.scale()), (summed, summed.scale()), "{bank}");
            }
        }
        for checkpoint in &checkpoints {
            let mut resumed = program.resume(checkpoint).unwrap();
            for bank in ["a", "z"] {
                let kept = resumed.value(&format!("{bank}.losses")).unwrap();
                let summed = resumed.evaluate(&sum(bank)).unwrap();
                let (Value::Number(kept), Value::Number(summed)) = (kept, summed) else { panic!() };
                assert_eq!((kept, kept.scale()), (summed, summed.scale()), "{bank} resumed");
            }
        }
    }
}

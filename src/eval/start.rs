//! Starting a run: params, initial values, series, exposures and rule
//! instances; and rebuilding the caches after a checkpoint is loaded.

use super::*;
use crate::codes;

impl Machine {
    /// Sets up a run: params (with overrides), initial values, series, exposures,
    /// rule instances; then checks the asserts at step 0.
    // The settings of one run, each a plain value: a struct would only name them again.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        ir: &Ir,
        derived_owner: &[(u32, u32)],
        limits: &Limits,
        overrides: &[(u32, Value)],
        field_overrides: &[(u32, Value)],
        horizon: Option<u64>,
        provenance: bool,
        (seed, path): (u64, Option<u64>),
        recycled: Option<Machine>,
    ) -> Result<Machine, RunFault> {
        // The stack limit is noted once for every initial value.
        expr::on_checked_stack(|| {
            Machine::start_on_checked_stack(
                ir,
                derived_owner,
                limits,
                overrides,
                field_overrides,
                horizon,
                provenance,
                (seed, path),
                recycled,
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn start_on_checked_stack(
        ir: &Ir,
        derived_owner: &[(u32, u32)],
        limits: &Limits,
        overrides: &[(u32, Value)],
        field_overrides: &[(u32, Value)],
        horizon: Option<u64>,
        provenance: bool,
        (seed, path): (u64, Option<u64>),
        recycled: Option<Machine>,
    ) -> Result<Machine, RunFault> {
        let layout = Layout::of(ir);
        // A finished run of the same program lends its memory; everything in
        // it is set again below as for a new run.
        let mut failed_asserts = Vec::new();
        let (mut st, recycled) = match recycled {
            Some(old) => {
                let Machine {
                    mut st,
                    instances,
                    rule_instances,
                    pending,
                    queued,
                    carry,
                    log,
                    outcomes,
                    failed_asserts: recycled_flags,
                    initial,
                    ..
                } = old;
                failed_asserts = recycled_flags;
                failed_asserts.clear();
                st.reset(layout, limits.max_fuel);
                let lists =
                    Recycled { instances, rule_instances, pending, queued, carry, log, outcomes, initial };
                (st, Some(lists))
            }
            None => (State::new(layout, limits.max_fuel), None),
        };
        failed_asserts.resize(ir.asserts.len(), false);
        st.max_solve_iterations = limits.max_solve_iterations;
        st.stream = crate::random::Stream::new(seed, path.unwrap_or(0));
        st.path = path;
        let horizon = horizon.unwrap_or(ir.scenario.horizon).min(limits.max_steps);
        let at_steps;
        let at_start =
            |fault: Fault| RunFault { fault, context: vec![String::from("while computing initial values")] };
        {
            let mut ev = Evaluator { ir, st: &mut st, derived_owner };
            for (p, param) in ir.params.iter().enumerate() {
                // An uncertain param always draws (so that fixing one does not
                // shift the others' draws); a path uses the draw.
                let drawn = match &param.uncertain {
                    Some(root) => Some(eval_root(&mut ev, root, None).map_err(at_start)?),
                    None => None,
                };
                let value = match overrides.iter().find(|(id, _)| *id == p as u32) {
                    Some((_, v)) => v.clone(),
                    None => match drawn.filter(|_| path.is_some()) {
                        Some(drawn) => drawn,
                        None => eval_root(&mut ev, &param.expr, None).map_err(at_start)?,
                    },
                };
                ev.st.params.push(value);
            }
            for (v, var) in ir.vars.iter().enumerate() {
                let value = eval_root(&mut ev, &var.expr, None).map_err(at_start)?;
                ev.st.slots[v] = value;
            }
            for (e, entity) in ir.entities.iter().enumerate() {
                for (i, init) in entity.inits.iter().enumerate() {
                    let slot = ir.layout[e].slot_base + i as u32;
                    let value = match field_overrides.iter().find(|(s, _)| *s == slot) {
                        Some((_, v)) => v.clone(),
                        None => eval_init(&mut ev, init, Some(e as u32)).map_err(at_start)?,
                    };
                    ev.st.slots[slot as usize] = value;
                }
                let flag = ir.defaulted_slot(e as u32) as usize;
                ev.st.slots[flag] = Value::Bool(false);
                ev.st.slots[flag + 1] = Value::None;
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
                    return Err(at_start(bad_recovery(recovery, ir.recovery_span(x))));
                }
            } else {
                ev.st.exposures.reserve_exact(ir.exposures.len());
            }
            for (i, x) in ir.exposures.iter().enumerate().filter(|_| literal.is_none()) {
                let terms = ir.exposure_terms.get(i);
                let span = ir.recovery_span(i as Id);
                let amount_expr = terms.and_then(|t| t.amount.as_deref());
                let amount = const_number(&mut ev, x.amount, amount_expr, span).map_err(at_start)?;
                let recovery = match x.recovery {
                    Some(r) => {
                        let expr = terms.and_then(|t| t.recovery.as_deref());
                        const_number(&mut ev, r, expr, span).map_err(at_start)?
                    }
                    None => Decimal::ZERO,
                };
                if recovery < Decimal::ZERO || recovery > Decimal::ONE {
                    return Err(at_start(bad_recovery(recovery, span)));
                }
                ev.st.exposures.push((amount, recovery));
            }
            for column in &ir.exposure_fields {
                let mut values = Vec::new();
                if column.computed {
                    values.reserve_exact(column.values.len());
                    for value in &column.values {
                        values.push(match value {
                            ConstValue::Literal(v) => v.clone(),
                            ConstValue::Expr(root) => eval_root(&mut ev, root, None).map_err(at_start)?,
                        });
                    }
                }
                ev.st.exposure_fields.push(values);
            }
            ev.st.fuel = limits.max_fuel;
            at_steps = at_steps_of(&mut ev).map_err(at_start)?;
        }
        for s in 0..ir.series.len() {
            st.series[s] = series_value(&ir.series[s], &st.series_points[s], 0).map_err(|mut f| {
                f.span = ir.series[s].span;
                at_start(f)
            })?;
        }
        let (instances, rule_instances, pending, queued, carry, log, outcomes, initial) = match recycled {
            Some(lists) => lists.reset(ir),
            None => {
                // Rule instances: one per tuple of entities of the binders' kinds.
                let mut instances = Vec::new();
                let mut rule_instances = Vec::new();
                for (r, rule) in ir.rules.iter().enumerate() {
                    let begin = instances.len() as u32;
                    let lists: Vec<&[u32]> =
                        rule.binders.iter().map(|(_, k)| ir.kinds[*k as usize].entities.as_slice()).collect();
                    let total = lists
                        .iter()
                        .try_fold(1u64, |acc, l| acc.checked_mul(l.len() as u64))
                        .unwrap_or(u64::MAX);
                    if total.saturating_add(instances.len() as u64) > limits.max_instances {
                        return Err(RunFault {
                            fault: Fault::new(
                                codes::limit::instances,
                                {
                                    let plural = if total == 1 { "" } else { "s" };
                                    let before = instances.len() as u64;
                                    let all = if before == 0 {
                                        String::new()
                                    } else {
                                        format!(
                                            " ({} with the rules before it)",
                                            total.saturating_add(before)
                                        )
                                    };
                                    format!(
                                        "{} would have {total} instance{plural}{all}, over the limit of {}",
                                        rule.title(),
                                        limits.max_instances
                                    )
                                },
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
                            let bindings = match lists.as_slice() {
                                [only] => Bindings::One(only[tuple[0]]),
                                _ => Bindings::Many(tuple.iter().zip(&lists).map(|(i, l)| l[*i]).collect()),
                            };
                            instances.push(Instance {
                                rule: r as u32,
                                bindings,
                                armed: true,
                                cond: false,
                                dirty: true,
                                fired_step: 0,
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
                (
                    instances,
                    rule_instances,
                    pending,
                    queued,
                    Vec::new(),
                    Log::default(),
                    Vec::new(),
                    Vec::new(),
                )
            }
        };
        let mut machine = Machine {
            st,
            instances,
            rule_instances,
            pending,
            queued,
            carry,
            scheduled: BTreeMap::new(),
            log,
            outcomes,
            failed_asserts,
            end: None,
            horizon,
            provenance,
            firings_this_step: 0,
            initial,
            at_steps,
            deferred: None,
            together_step: Vec::new(),
            quiet: false,
        };
        machine.initial.clone_from(&machine.st.slots);
        let mut stepper = Stepper { ir, derived_owner, limits, m: &mut machine, cancel: None };
        stepper.check_asserts()?;
        Ok(machine)
    }
}

/// The lists of a finished run kept for the next run of the same program.
struct Recycled {
    instances: Vec<Instance>,
    rule_instances: Vec<(u32, u32)>,
    pending: Vec<Vec<u32>>,
    queued: Vec<bool>,
    carry: Vec<u32>,
    log: Log,
    outcomes: Vec<Outcome>,
    initial: Vec<Value>,
}

/// Instances, their ranges, pending lists, queued flags, carry, log, outcomes
/// and initial values, as `Machine::start` builds them.
type Lists =
    (Vec<Instance>, Vec<(u32, u32)>, Vec<Vec<u32>>, Vec<bool>, Vec<u32>, Log, Vec<Outcome>, Vec<Value>);

impl Recycled {
    /// The lists as a new run of the same program starts with them: the same
    /// instances (one per tuple of entities, in the same order), each armed,
    /// dirty and never fired; every instance not timed by `at` pending; the
    /// rest empty, keeping their memory.
    fn reset(self, ir: &Ir) -> Lists {
        let Recycled {
            mut instances,
            rule_instances,
            mut pending,
            mut queued,
            mut carry,
            mut log,
            mut outcomes,
            initial,
        } = self;
        for list in &mut pending {
            list.clear();
        }
        queued.clear();
        for (i, inst) in instances.iter_mut().enumerate() {
            inst.armed = true;
            inst.cond = false;
            inst.dirty = true;
            inst.fired_step = 0;
            let timed = matches!(ir.rules[inst.rule as usize].trigger, TriggerIr::At(_));
            if !timed {
                pending[inst.rule as usize].push(i as u32);
            }
            queued.push(!timed);
        }
        carry.clear();
        log.firings.clear();
        log.changes.clear();
        log.events.clear();
        log.steps.clear();
        log.recorded = 0;
        outcomes.clear();
        (instances, rule_instances, pending, queued, carry, log, outcomes, initial)
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
        self.st.readers = Readers::new(layout.cells());
        self.st.stack.clear();
        self.st.dirtied.clear();
        self.failed_asserts = vec![false; ir.asserts.len()];
        for o in self.outcomes.iter().filter(|o| o.assert && !o.passed) {
            if let Some(failed) = self.failed_asserts.get_mut(o.index as usize) {
                *failed = true;
            }
        }
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

/// The step of each `at` rule: as written, or computed from the params.
fn at_steps_of(ev: &mut Evaluator) -> Result<Vec<i64>, Fault> {
    let ir = ev.ir;
    let mut steps = Vec::with_capacity(ir.rules.len());
    for rule in &ir.rules {
        let step = match &rule.trigger {
            TriggerIr::At(AtTime::Step(step)) => *step,
            TriggerIr::At(AtTime::Params(root)) => {
                let span = root.node.span;
                match eval_root(ev, root, None)? {
                    Value::Date(date) => match ir.scenario.start {
                        Some(start) => ir.scenario.unit.step_of_date(start, date),
                        None => {
                            return Err(Fault::new(codes::run::internal, "a date without a start", span, ""));
                        }
                    },
                    Value::Number(n) => n.is_integer().then(|| n.to_i64()).flatten().ok_or_else(|| {
                        Fault::new(
                            codes::run::bad_time,
                            format!("the time of `at` is {}, not a step number", human(n)),
                            span,
                            "a step is a whole number",
                        )
                        .help("round it, e.g. `at round(shock_step)`, or give a date")
                    })?,
                    _ => return Err(Fault::new(codes::run::internal, "not a time", span, "")),
                }
            }
            _ => 0,
        };
        steps.push(step);
    }
    Ok(steps)
}

pub(super) fn eval_root(ev: &mut Evaluator, root: &Root, entity: Option<u32>) -> Result<Value, Fault> {
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

/// An entity's initial value: a literal costs the fuel of the one node it was.
fn eval_init(ev: &mut Evaluator, init: &Init, entity: Option<u32>) -> Result<Value, Fault> {
    match init {
        Init::Const(value, span) => {
            if ev.st.fuel == 0 {
                return Err(expr::out_of_fuel(*span));
            }
            ev.st.fuel -= 1;
            Ok(value.clone())
        }
        Init::Expr(root) => eval_root(ev, root, entity),
    }
}

pub(super) fn bad_recovery(recovery: Decimal, span: Span) -> Fault {
    Fault::new(
        codes::run::bad_recovery,
        format!("a recovery rate of {} is outside 0% to 100%", human(recovery)),
        span,
        "recovery must be between 0% and 100%",
    )
}

/// An exposure's amount or recovery rate: the expression when it has one,
/// else the literal, which costs the fuel of the one node it was.
pub(super) fn const_number(
    ev: &mut Evaluator,
    literal: Decimal,
    formula: Option<&Root>,
    span: Span,
) -> Result<Decimal, Fault> {
    match formula {
        None => {
            if ev.st.fuel == 0 {
                return Err(expr::out_of_fuel(span));
            }
            ev.st.fuel -= 1;
            Ok(literal)
        }
        Some(root) => Ok(eval_root(ev, root, None)?.as_number().unwrap_or_default()),
    }
}

/// The value of a series at a step: flat outside its points, interpolated by step number.
pub(crate) fn series_value(series: &SeriesDef, points: &[(i64, Decimal)], step: i64) -> Result<Value, Fault> {
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
            codes::run::overflow,
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

/// The first step after `step` at which the series may take another value
/// than [`series_value`] gives at `step` (`u64::MAX`: none). Up to then it
/// gives the same number every step, and can fault at none of them: before
/// its first point, after its last, between two points of a `hold` series or
/// two points of the same number (whose interpolation is that number).
pub(crate) fn series_steady_until(series: &SeriesDef, points: &[(i64, Decimal)], step: i64) -> u64 {
    let as_step = |s: i64| u64::try_from(s).unwrap_or(0);
    let Some(first) = points.first() else { return u64::MAX };
    if step <= first.0 {
        return as_step(first.0.saturating_add(1));
    }
    let Some(next) = points.iter().position(|(s, _)| *s > step) else { return u64::MAX };
    let (_, v0) = points[next - 1];
    let (s1, v1) = points[next];
    if series.mode == Interpolation::Hold || v0 == v1 {
        return as_step(s1);
    }
    as_step(step.saturating_add(1))
}

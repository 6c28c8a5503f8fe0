//! `together` rules: every instance acts on the state from before the rule.
//!
//! A rule `for f: Fund together when ... then ...` fires in three phases when
//! its turn comes in a step:
//!
//! 1. the conditions of its pending instances are evaluated (`run_rule`, as for
//!    any rule); the instances that fire are gathered instead of fired, so no
//!    condition sees another instance's writes;
//! 2. each gathered instance fires in instance order (it is logged, its locals,
//!    messages and right-hand sides are evaluated), but its writes and defaults
//!    are kept in `Machine::deferred` instead of applied, so every effect of
//!    every instance reads the state from before the rule fired;
//! 3. the kept writes are checked, then applied: writes to one value must all
//!    add up (`+=`, `-=`), all multiply (`*=`, `/=`), or all set the same value;
//!    anything else is `cascade::run::conflicting_writes`, naming both
//!    instances. The writes to one value are applied in the order of their
//!    amounts (`application_order`), so the result is the same decimal in any
//!    order of the instances, even where a sum rounds to 28 digits.
//!
//! The rule then does not fire again in that step (`Machine::together_step`),
//! even in a feedback loop whose other rules change what it reads: its
//! instances are looked at again in the next step.

use std::collections::HashMap;

use super::effects::combine;
use super::*;
use crate::codes;

/// A write or default of a `together` rule, kept until every instance has fired.
#[derive(Clone, Debug)]
pub(crate) enum Deferred {
    Write { slot: u32, op: AssignOp, value: Value, cause: u32, span: Span, delayed: bool },
    Default { entity: u32, cause: u32, delayed: bool },
}

/// How writes to one value combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Combination {
    Set,
    Add,
    Multiply,
}

fn combination(op: AssignOp) -> Combination {
    match op {
        AssignOp::Set => Combination::Set,
        AssignOp::Add | AssignOp::Sub => Combination::Add,
        AssignOp::Mul | AssignOp::Div => Combination::Multiply,
    }
}

/// The order in which the kept writes are applied: value by value, in the
/// order of each value's first write; the writes to one value that set it in
/// instance order, those that add (or multiply) by the amount added (or the
/// factor, all `*=` before all `/=`); the defaults last, in instance order.
/// The amounts do not depend on the order of the instances, so neither does
/// the result, also where a sum or product must round to 28 digits.
fn application_order(deferred: &[Deferred]) -> Vec<usize> {
    let mut first: HashMap<u32, usize> = HashMap::new();
    for (j, d) in deferred.iter().enumerate() {
        if let Deferred::Write { slot, .. } = d {
            first.entry(*slot).or_insert(j);
        }
    }
    let key = |j: usize| match &deferred[j] {
        Deferred::Write { slot, op, value, .. } => {
            let amount = match value {
                Value::Number(n) if *op == AssignOp::Sub => -*n,
                Value::Number(n) if *op != AssignOp::Set => *n,
                _ => Decimal::ZERO,
            };
            let rank = match op {
                AssignOp::Set => 0u8,
                AssignOp::Add | AssignOp::Sub => 1,
                AssignOp::Mul => 2,
                AssignOp::Div => 3,
            };
            (0u8, first[slot], rank, amount, j)
        }
        Deferred::Default { .. } => (1, j, 0, Decimal::ZERO, j),
    };
    let mut order: Vec<usize> = (0..deferred.len()).collect();
    order.sort_by_key(|&j| key(j));
    order
}

fn symbol(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Set => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
    }
}

impl Stepper<'_> {
    /// Fires instance `i` now, or, for a `together` rule, adds it to the group.
    pub(super) fn fire_or_gather(&mut self, i: u32, together: bool, group: &mut Vec<u32>) -> Step<()> {
        if together {
            group.push(i);
            Ok(())
        } else {
            self.fire(i)
        }
    }

    /// Fires the gathered instances of a `together` rule against the state
    /// before any of them, then applies their writes (nothing if none fire).
    pub(super) fn fire_together(&mut self, rule: u32, group: &[u32]) -> Step<()> {
        if group.is_empty() {
            return Ok(());
        }
        let step = self.m.st.step;
        let rules = self.ir.rules.len();
        if self.m.together_step.len() < rules {
            self.m.together_step.resize(rules, 0);
        }
        self.m.together_step[rule as usize] = step;
        self.m.deferred = Some(Vec::new());
        let mut outcome = Ok(());
        for &i in group {
            outcome = self.fire(i);
            if outcome.is_err() {
                break;
            }
        }
        let deferred = self.m.deferred.take().unwrap_or_default();
        outcome?;
        self.check_deferred(rule, &deferred)?;
        for j in application_order(&deferred) {
            match deferred[j].clone() {
                Deferred::Write { slot, op, value, cause, span, delayed } => {
                    let old = self.m.st.slots[slot as usize].clone();
                    let new = match op {
                        AssignOp::Set => value,
                        _ => combine(op, &old, &value, span).map_err(|f| self.fault_of(f, cause))?,
                    };
                    if let Some(from) = self.m.st.write_slot(slot, new.clone())
                        && !self.m.quiet
                    {
                        let set = op == AssignOp::Set;
                        self.m.log.changes.push(ChangeRecord {
                            step,
                            slot,
                            from,
                            to: new,
                            cause,
                            delayed,
                            set,
                        });
                    }
                }
                Deferred::Default { entity, cause, delayed } => self.default_entity(entity, cause, delayed),
            }
        }
        self.absorb_dirtied();
        Ok(())
    }

    /// Refuses writes to one value whose result would depend on their order:
    /// two different `=`, or `=`, `+=` and `*=` mixed.
    fn check_deferred(&self, rule: u32, deferred: &[Deferred]) -> Step<()> {
        let mut first: HashMap<u32, usize> = HashMap::new();
        for (j, write) in deferred.iter().enumerate() {
            let Deferred::Write { slot, op, value, cause, span, .. } = write else { continue };
            let Some(&f) = first.get(slot) else {
                first.insert(*slot, j);
                continue;
            };
            let Deferred::Write { op: first_op, value: first_value, cause: first_cause, .. } = &deferred[f]
            else {
                continue;
            };
            let (a, b) = (combination(*first_op), combination(*op));
            if a == b && (a != Combination::Set || first_value == value) {
                continue;
            }
            let def = &self.ir.rules[rule as usize];
            let name = crate::names::slot_name(self.ir, *slot);
            let who = |cause: u32| self.bindings_text(cause);
            let message = if a == Combination::Set && b == Combination::Set {
                format!(
                    "{} sets `{name}` to two different values at once: {} ({}) and {} ({})",
                    def.title(),
                    display_value(self.ir, first_value),
                    who(*first_cause),
                    display_value(self.ir, value),
                    who(*cause),
                )
            } else {
                format!(
                    "{} changes `{name}` with `{}` ({}) and `{}` ({}) at once: the result would depend on their order",
                    def.title(),
                    symbol(*first_op),
                    who(*first_cause),
                    symbol(*op),
                    who(*cause),
                )
            };
            let fault = Fault::new(codes::run::conflicting_writes, message, *span, "one of the two writes")
                .help(
                    "the instances of a `together` rule all act on the state before the rule: writes to one \
                     value must all add up (`+=`, `-=`), all multiply (`*=`, `/=`) or set the same value; \
                     give each instance its own target, or drop `together` to apply them in entity order",
                );
            return Err(self.fault_of(fault, *cause));
        }
        Ok(())
    }

    /// `f = a, g = b`: the bindings of firing `cause`.
    fn bindings_text(&self, cause: u32) -> String {
        let Some(firing) = self.m.log.firings.get(cause as usize) else { return String::new() };
        let rule = &self.ir.rules[firing.rule as usize];
        let names: Vec<String> = rule
            .binders
            .iter()
            .zip(firing.bindings.iter())
            .map(|((n, _), e)| format!("{n} = {}", self.ir.entities[*e as usize].name))
            .collect();
        names.join(", ")
    }

    /// A fault of firing `cause`, with its rule and bindings as the context.
    fn fault_of(&self, fault: Fault, cause: u32) -> RunFault {
        match self.m.log.firings.get(cause as usize) {
            Some(firing) => self.fault(fault, Some((firing.rule, &firing.bindings))),
            None => self.fault(fault, None),
        }
    }
}

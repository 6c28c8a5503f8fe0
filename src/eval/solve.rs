//! Simultaneous equations: a kind's `solve` fields, solved together.
//!
//! A system is cached in a derived cell of its own (`SolveDef::cell`), like a
//! model's. Computing it evaluates every entity's start values, then updates
//! all of them at once (Jacobi): each new value is computed from the previous
//! iterate, never from a value already updated in this sweep, so the result
//! does not depend on the order of the entities. While a system iterates,
//! [`Evaluator::derived`] answers a read of one of its own cells from the
//! previous iterate without subscribing anything; every other read subscribes
//! the system's cell, so the system is solved again only when one of its inputs
//! changes. Each entity's solved field reads the system's cell and looks its
//! value up in `State::solves`.
//!
//! It stops when a sweep changes no value (or moves none by more than its
//! field's `within`). A field still changing after its `limit` of sweeps (the
//! engine's default when the script states none) is `cascade::run::not_settled`,
//! naming the values still changing; the run's fuel bounds the work too.

use rust_decimal::Decimal;

use crate::codes;
use crate::ir::*;
use crate::source::Span;
use crate::value::{Value, human};

use super::expr::{Eval, Evaluator, Fault, overflow};

/// Sweeps a system may take when its fields state no `limit` (`Engine::max_solve_iterations`).
pub(crate) const DEFAULT_SOLVE_ITERATIONS: u64 = 10_000;

/// A system's values, as last computed (or, while it iterates, the previous iterate).
#[derive(Clone, Debug)]
pub(crate) struct SolveResult {
    /// Each entity's position among the kind's entities (`u32::MAX`: not of the kind).
    position: Vec<u32>,
    /// Entity at position `e`, field `i`: `values[e * fields + i]`.
    values: Vec<Decimal>,
    fields: usize,
    /// Sweeps it took (0 while it iterates).
    pub sweeps: u64,
    iterating: bool,
}

impl SolveResult {
    fn value(&self, entity: u32, i: u32) -> Option<Decimal> {
        let at = *self.position.get(entity as usize).filter(|p| **p != u32::MAX)? as usize;
        self.values.get(at * self.fields + i as usize).copied()
    }
}

/// The settings of one field, evaluated for this solve.
struct Settings {
    within: Option<Decimal>,
    limit: u64,
}

impl Evaluator<'_> {
    /// The system cached in derived cell `d`, if `d` is a system's cell.
    pub(super) fn solve_of_cell(&self, d: u32) -> Option<u32> {
        let first = self.ir.solves.first()?.cell;
        (d >= first).then(|| d - first).filter(|s| (*s as usize) < self.ir.solves.len())
    }

    /// While a system iterates: the previous iterate's value of derived cell `d`,
    /// if `d` is one of its cells.
    pub(super) fn iterate_value(&self, d: u32) -> Option<Value> {
        let lets = self.ir.lets.len() as u32;
        let &(entity, field) = self.derived_owner.get(d.checked_sub(lets)? as usize)?;
        let kind = &self.ir.kinds[self.ir.kind_of(entity) as usize];
        let s = kind.solve?;
        let result = self.st.solves.get(s as usize)?.as_ref().filter(|r| r.iterating)?;
        let i = kind.fields.iter().find(|f| f.derived && f.index == field)?.solved?;
        result.value(entity, i).map(Value::Number)
    }

    /// The solved value of field `i` of system `s` for `entity` (its cell is the
    /// consumer now computing).
    pub(super) fn solved_value(&mut self, s: u32, i: u32, entity: u32, span: Span) -> Eval<Value> {
        let cell = self.ir.solves.get(s as usize).map(|d| d.cell).ok_or_else(|| internal(span))?;
        self.derived(cell, span)?;
        let result = self.st.solves.get(s as usize).and_then(Option::as_ref).ok_or_else(|| internal(span))?;
        result.value(entity, i).map(Value::Number).ok_or_else(|| internal(span))
    }

    /// Solves system `s` (its cell is the consumer now computing) and keeps the values.
    pub(super) fn compute_solve(&mut self, s: u32, span: Span) -> Eval<Value> {
        let slot = s as usize;
        if self.st.solves.len() <= slot {
            self.st.solves.resize(self.ir.solves.len(), None);
        }
        self.st.iterating += 1;
        let result = self.iterate(s, span);
        self.st.iterating -= 1;
        match result {
            Ok(sweeps) => {
                if let Some(r) = self.st.solves[slot].as_mut() {
                    r.iterating = false;
                    r.sweeps = sweeps;
                }
                Ok(Value::Bool(true))
            }
            Err(fault) => {
                self.st.solves[slot] = None;
                Err(fault)
            }
        }
    }

    fn iterate(&mut self, s: u32, span: Span) -> Eval<u64> {
        let ir = self.ir;
        let def = &ir.solves[s as usize];
        let kind = &ir.kinds[def.kind as usize];
        let members = &kind.entities;
        let n = def.fields.len();
        let mut position = vec![u32::MAX; ir.entities.len()];
        for (i, &e) in members.iter().enumerate() {
            position[e as usize] = i as u32;
        }
        let mut settings = Vec::with_capacity(n);
        for f in &def.fields {
            settings.push(self.settings(f)?);
        }
        let equations: Vec<&Root> = def
            .fields
            .iter()
            .map(|f| kind.fields.iter().find(|d| d.derived && d.index == f.field).map(|d| &d.expr))
            .collect::<Option<_>>()
            .ok_or_else(|| internal(span))?;
        let mut values = Vec::with_capacity(members.len() * n);
        for &e in members {
            for f in &def.fields {
                values.push(self.number_of(&f.start, e, &f.name, "its start value")?);
            }
        }
        self.st.solves[s as usize] =
            Some(SolveResult { position, values, fields: n, sweeps: 0, iterating: true });
        let mut next = Vec::with_capacity(members.len() * n);
        let mut sweeps = 0u64;
        loop {
            sweeps += 1;
            next.clear();
            for &e in members {
                for (f, equation) in def.fields.iter().zip(&equations) {
                    next.push(self.number_of(equation, e, &f.name, "its equation")?);
                }
            }
            let result = self.st.solves[s as usize].as_mut().ok_or_else(|| internal(span))?;
            let mut unsettled = Vec::new();
            for (at, (new, old)) in next.iter().zip(&result.values).enumerate() {
                let moved = match settings[at % n].within {
                    None => new != old,
                    Some(tol) => {
                        new.checked_sub(*old).ok_or_else(|| overflow(def.span, "comparing iterates"))?.abs()
                            > tol
                    }
                };
                if moved {
                    unsettled.push((at, *old, *new));
                }
            }
            std::mem::swap(&mut result.values, &mut next);
            if unsettled.is_empty() {
                return Ok(sweeps);
            }
            if unsettled.iter().any(|(at, _, _)| sweeps >= settings[at % n].limit) {
                return Err(self.not_settled(def, &unsettled, sweeps));
            }
        }
    }

    /// `within` and `limit` of one field: a tolerance of 0 or more, a whole number of sweeps from 1.
    fn settings(&mut self, f: &SolvedField) -> Eval<Settings> {
        let within = match &f.within {
            None => None,
            Some((root, span)) => match self.constant(root, *span)? {
                n if n.is_sign_negative() && !n.is_zero() => {
                    return Err(bad_solve(
                        *span,
                        format!("the tolerance of `{}` is {}, below 0", f.name, human(n)),
                    ));
                }
                n => Some(n),
            },
        };
        let limit = match &f.limit {
            None => self.st.max_solve_iterations,
            Some((root, span)) => {
                let n = self.constant(root, *span)?;
                match u64::try_from(n).ok().filter(|l| *l >= 1 && n.fract().is_zero()) {
                    Some(l) => l,
                    None => {
                        return Err(bad_solve(
                            *span,
                            format!(
                                "the limit of `{}` is {}, not a whole number of sweeps from 1",
                                f.name,
                                human(n)
                            ),
                        ));
                    }
                }
            }
        };
        Ok(Settings { within, limit })
    }

    fn constant(&mut self, root: &Root, span: Span) -> Eval<Decimal> {
        let mut frame = self.st.take_frame(root.locals as usize);
        let value = self.eval(&root.node, &mut frame);
        self.st.give_frame(frame);
        match value? {
            Value::Number(n) => Ok(n),
            _ => Err(internal(span)),
        }
    }

    /// Evaluates `root` with `self` bound to `entity`; a number, or the fault saying `what` gave none.
    fn number_of(&mut self, root: &Root, entity: u32, field: &str, what: &str) -> Eval<Decimal> {
        let mut frame = self.st.take_frame(root.locals as usize);
        if let Some(slot) = frame.first_mut() {
            *slot = Value::Entity(entity);
        }
        let value = self.eval(&root.node, &mut frame);
        self.st.give_frame(frame);
        match value? {
            Value::Number(n) => Ok(n),
            _ => {
                let name = &self.ir.entities[entity as usize].name;
                Err(Fault::new(
                    codes::run::no_value,
                    format!("`{name}.{field}`: {what} has no value"),
                    root.node.span,
                    "no value here",
                ))
            }
        }
    }

    fn not_settled(&self, def: &SolveDef, unsettled: &[(usize, Decimal, Decimal)], sweeps: u64) -> Fault {
        let n = def.fields.len();
        let members = &self.ir.kinds[def.kind as usize].entities;
        let names: Vec<String> = unsettled
            .iter()
            .take(10)
            .map(|&(at, old, new)| {
                let entity = &self.ir.entities[members[at / n] as usize].name;
                format!("`{entity}.{}` ({} then {})", def.fields[at % n].name, human(old), human(new))
            })
            .collect();
        let more =
            if unsettled.len() > 10 { format!(" and {} more", unsettled.len() - 10) } else { String::new() };
        let kind = &self.ir.kinds[def.kind as usize].name;
        Fault::new(
            codes::run::not_settled,
            format!(
                "the `solve` fields of `{kind}` did not settle in {sweeps} sweeps: still changing: {}{more}",
                names.join(", ")
            ),
            def.span,
            "these equations",
        )
        .help("values that swap back and forth have no fixed point from this start; start elsewhere, state a `within` tolerance, or a larger `limit`")
    }
}

fn bad_solve(span: Span, message: String) -> Fault {
    Fault::new(codes::run::bad_solve, message, span, "this setting")
        .help("`within` takes a tolerance of 0 or more; `limit` a whole number of sweeps from 1")
}

fn internal(span: Span) -> Fault {
    Fault::new(codes::run::internal, "internal error: a solved value is missing", span, "here")
}

/// What an explanation says of a solved value.
pub(crate) struct SolvedFacts {
    pub kind: String,
    pub start: String,
    pub sweeps: u64,
}

impl Evaluator<'_> {
    /// If derived cell `d` is a solved field: how its system was solved, on this state.
    pub(crate) fn solved_facts(&mut self, d: u32) -> Option<SolvedFacts> {
        let lets = self.ir.lets.len() as u32;
        let &(entity, field) = self.derived_owner.get(d.checked_sub(lets)? as usize)?;
        let kind = &self.ir.kinds[self.ir.kind_of(entity) as usize];
        let s = kind.solve?;
        let i = kind.fields.iter().find(|f| f.derived && f.index == field)?.solved?;
        self.derived(d, Span::default()).ok()?;
        let def = self.ir.solves.get(s as usize)?;
        let start = def.fields.get(i as usize)?.start.node.span.text(self.ir.source.text()).to_string();
        let sweeps = self.st.solves.get(s as usize)?.as_ref()?.sweeps;
        Some(SolvedFacts { kind: kind.name.clone(), start, sweeps })
    }
}

//! Evaluating calls of built-in functions and aggregates over the entities
//! of a kind.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::builtins::{Compute, Function};

use crate::ir::*;
use crate::random::{Distribution, Drawn};
use crate::source::Span;
use crate::value::Value;

use super::expr::*;

/// The values of a call's arguments, evaluated in order (the first fault
/// stops them): the usual few without an allocation. Built-ins take one to
/// three arguments (`min` and `max` more).
pub(super) struct Args {
    few: [Decimal; 4],
    many: Vec<Decimal>,
    len: usize,
}

impl Args {
    pub fn gather(len: usize, mut value: impl FnMut(usize) -> Eval<Decimal>) -> Eval<Args> {
        let mut args = Args { few: [Decimal::ZERO; 4], many: Vec::new(), len };
        if len <= args.few.len() {
            for i in 0..len {
                args.few[i] = value(i)?;
            }
        } else {
            args.many.reserve(len);
            for i in 0..len {
                args.many.push(value(i)?);
            }
        }
        Ok(args)
    }

    pub fn values(&self) -> &[Decimal] {
        if self.len <= self.few.len() { &self.few[..self.len] } else { &self.many }
    }
}

/// Built-in `function` of `values`; its error is a fault at the argument it
/// names (`argument` gives that argument's span), else at the call.
pub(super) fn apply(
    function: &Function,
    values: &[Decimal],
    span: Span,
    argument: impl Fn(usize) -> Option<Span>,
) -> Eval<Decimal> {
    let compute = match function.compute {
        Compute::Pure(compute) => compute,
        Compute::Least | Compute::Greatest => {
            let greatest = matches!(function.compute, Compute::Greatest);
            let mut values = values.iter().copied();
            let first = values.next().unwrap_or_default();
            return Ok(
                values.fold(first, |best, next| if replaces(greatest, next, best) { next } else { best })
            );
        }
    };
    compute(values).map_err(|error| {
        let at = error.argument.and_then(argument).unwrap_or(span);
        Fault::new(error.code, error.message, at, error.label)
    })
}

/// Whether `next` takes the place of `best` as the value of `max`
/// (`greatest`: when it is not smaller, so the last of equal ones is the
/// value) or of `min` (when it is smaller, so the first of equal ones stays),
/// as `Iterator::max` and `Iterator::min` choose. Equal numbers may differ in
/// scale (`1.0` and `1.00`), so which one is chosen shows in the output.
#[inline(always)]
pub(super) fn replaces(greatest: bool, next: Decimal, best: Decimal) -> bool {
    let ordering = super::decimal::compare(next, best);
    if greatest { ordering != Ordering::Less } else { ordering == Ordering::Less }
}

/// A draw of `distribution` with arguments `values` from the run's stream;
/// a bad argument is a fault at it (`argument` gives its span), else at the call.
pub(super) fn draw_from(
    distribution: Distribution,
    values: &[Decimal],
    stream: &mut crate::random::Stream,
    span: Span,
    argument: impl Fn(usize) -> Option<Span>,
) -> Eval<Drawn> {
    distribution.draw(values, stream).map_err(|bad| {
        let at = bad.argument.and_then(argument).unwrap_or(span);
        Fault::new(crate::codes::run::bad_argument, bad.message, at, "this argument is out of range")
    })
}

/// A distribution takes at most this many arguments.
pub(super) const MAX_DRAW_ARGS: usize = 3;

impl Evaluator<'_> {
    pub(super) fn call(
        &mut self,
        function: &Function,
        args: &[Node],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        let values = Args::gather(args.len(), |i| self.number(&args[i], frame))?;
        apply(function, values.values(), span, |i| args.get(i).map(|a| a.span)).map(Value::Number)
    }

    /// A random draw from the run's stream; bad arguments are faults at the argument.
    pub(super) fn draw(
        &mut self,
        distribution: Distribution,
        args: &[Node],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        let values = Args::gather(args.len().min(MAX_DRAW_ARGS), |i| self.number(&args[i], frame))?;
        let argument = |i: usize| args.get(i).map(|a| a.span);
        Ok(match draw_from(distribution, values.values(), &mut self.st.stream, span, argument)? {
            Drawn::Number(n) => Value::Number(n),
            Drawn::Bool(b) => Value::Bool(b),
        })
    }

    pub(super) fn aggregate(
        &mut self,
        aggregate: &AggregateIr,
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        // The entities or exposures to go over, read in place (`ir` outlives
        // the evaluator's borrow of the state).
        let ir = self.ir;
        let (elements, element): (&[u32], fn(u32) -> Value) = match &aggregate.source {
            AggregateSource::Kind(k) => (&ir.kinds[*k as usize].entities, Value::Entity),
            AggregateSource::ExposuresOf(object) => {
                let e = self.entity(object, frame)?;
                (ir.as_creditor.of(e), Value::Exposure)
            }
            AggregateSource::ExposuresTo(object) => {
                let e = self.entity(object, frame)?;
                (ir.as_debtor.of(e), Value::Exposure)
            }
        };
        // Why an empty result is empty, should `mean`, `min` or `max` need an element.
        let nothing = || {
            if !elements.is_empty() {
                "nothing passed the `where` filter".to_string()
            } else {
                match &aggregate.source {
                    AggregateSource::Kind(k) => {
                        format!("the kind `{}` has no entities", ir.kinds[*k as usize].name)
                    }
                    AggregateSource::ExposuresOf(_) => "this entity lends to no one".to_string(),
                    AggregateSource::ExposuresTo(_) => "no one lends to this entity".to_string(),
                }
            }
        };
        let local = aggregate.local as usize;
        let mut sum = Decimal::ZERO;
        let mut count: u64 = 0;
        let mut best: Option<Decimal> = None;
        for &id in elements {
            if let Some(slot) = frame.get_mut(local) {
                *slot = element(id);
            }
            if let Some(filter) = &aggregate.filter
                && !self.boolean(filter, frame)?
            {
                continue;
            }
            match aggregate.func {
                AggregateFn::Any => {
                    if self.boolean(&aggregate.body, frame)? {
                        return Ok(Value::Bool(true));
                    }
                }
                AggregateFn::All => {
                    if !self.boolean(&aggregate.body, frame)? {
                        return Ok(Value::Bool(false));
                    }
                }
                AggregateFn::Count => match self.eval(&aggregate.body, frame)? {
                    Value::Bool(false) => {}
                    _ => count += 1,
                },
                AggregateFn::Sum | AggregateFn::Mean => {
                    let n = self.number(&aggregate.body, frame)?;
                    sum = sum.checked_add(n).ok_or_else(|| overflow(span, "summing"))?;
                    count += 1;
                }
                AggregateFn::Min | AggregateFn::Max => {
                    let n = self.number(&aggregate.body, frame)?;
                    best = Some(match (best, aggregate.func) {
                        (None, _) => n,
                        (Some(b), AggregateFn::Min) => b.min(n),
                        (Some(b), _) => b.max(n),
                    });
                }
            }
        }
        match aggregate.func {
            AggregateFn::Any => Ok(Value::Bool(false)),
            AggregateFn::All => Ok(Value::Bool(true)),
            AggregateFn::Count => Ok(Value::Number(Decimal::from(count))),
            AggregateFn::Sum => Ok(Value::Number(sum)),
            AggregateFn::Mean => {
                if count == 0 {
                    return Err(empty(span, "mean", &nothing()));
                }
                super::expr::arithmetic(crate::syntax::BinaryOp::Div, sum, Decimal::from(count), span)
                    .map(Value::Number)
            }
            AggregateFn::Min | AggregateFn::Max => {
                let name = if aggregate.func == AggregateFn::Min { "min" } else { "max" };
                best.map(Value::Number).ok_or_else(|| empty(span, name, &nothing()))
            }
        }
    }
}

//! Evaluating calls of built-in functions and aggregates over the entities
//! of a kind.

use rust_decimal::Decimal;

use crate::builtins::{Compute, Function};

use crate::ir::*;
use crate::random::{Distribution, Drawn};
use crate::source::Span;
use crate::value::Value;

use super::expr::*;

impl Evaluator<'_> {
    pub(super) fn call(
        &mut self,
        function: &Function,
        args: &[Node],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        // Built-ins take one to three arguments (`min` and `max` more): no
        // allocation for the usual few.
        let mut few = [Decimal::ZERO; 4];
        let many: Vec<Decimal>;
        let values: &[Decimal] = if args.len() <= few.len() {
            for (slot, arg) in few.iter_mut().zip(args) {
                *slot = self.number(arg, frame)?;
            }
            &few[..args.len()]
        } else {
            let mut list = Vec::with_capacity(args.len());
            for arg in args {
                list.push(self.number(arg, frame)?);
            }
            many = list;
            &many
        };
        let Compute::Pure(compute) = function.compute;
        let result = compute(values).map_err(|error| {
            let at = error.argument.and_then(|i| args.get(i)).map_or(span, |a| a.span);
            Fault::new(error.code, error.message, at, error.label)
        })?;
        Ok(Value::Number(result))
    }

    /// A random draw from the run's stream; bad arguments are faults at the argument.
    pub(super) fn draw(
        &mut self,
        distribution: Distribution,
        args: &[Node],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        let mut values = [Decimal::ZERO; 3];
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = self.number(arg, frame)?;
        }
        match distribution.draw(&values[..args.len().min(3)], &mut self.st.stream) {
            Ok(Drawn::Number(n)) => Ok(Value::Number(n)),
            Ok(Drawn::Bool(b)) => Ok(Value::Bool(b)),
            Err(bad) => {
                let at = bad.argument.and_then(|i| args.get(i)).map_or(span, |a| a.span);
                Err(Fault::new(
                    crate::codes::run::bad_argument,
                    bad.message,
                    at,
                    "this argument is out of range",
                ))
            }
        }
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
                (&ir.entities[e as usize].as_creditor, Value::Exposure)
            }
            AggregateSource::ExposuresTo(object) => {
                let e = self.entity(object, frame)?;
                (&ir.entities[e as usize].as_debtor, Value::Exposure)
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

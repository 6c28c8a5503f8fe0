//! Evaluating the compiled form: each node does what the tree walk
//! (`expr.rs`, `calls.rs`) does at the node it stands for, in the same order.

use rust_decimal::Decimal;

use super::{Expr, Kind, V};
use crate::builtins::Compute;
use crate::eval::expr::{
    Eval, Evaluator, Fault, arithmetic, division_by_zero, internal, no_value, ordering, out_of_fuel,
};
use crate::random::Drawn;
use crate::source::Span;
use crate::syntax::BinaryOp;
use crate::value::Value;

impl Evaluator<'_> {
    /// Evaluates a compiled node (the caller has checked the stack: see
    /// `Evaluator::eval_code`).
    pub(in crate::eval) fn run(&mut self, c: &Expr, frame: &mut [Value]) -> Eval<V> {
        if let Kind::Tree(node) = &c.kind {
            return self.eval(node, frame).map(|v| V::of(&v));
        }
        if self.st.fuel == 0 {
            return Err(out_of_fuel(c.span));
        }
        self.st.fuel -= 1;
        match &c.kind {
            Kind::Const(v) => Ok(*v),
            Kind::Param(p) => Ok(V::of(&self.st.params[*p as usize])),
            Kind::Var(v) => {
                self.st.read(*v);
                Ok(V::of(&self.st.slots[*v as usize]))
            }
            Kind::Let(l) => self.derived(*l, c.span).map(|v| V::of(&v)),
            Kind::Series(s) => {
                self.st.read(self.st.layout.series_cell(*s));
                Ok(V::of(&self.st.series[*s as usize]))
            }
            Kind::Step => {
                self.st.read(self.st.layout.clock_cell());
                Ok(V::Num(Decimal::from(self.st.step)))
            }
            Kind::Date => {
                self.st.read(self.st.layout.clock_cell());
                Ok(self.st.date.map_or(V::None, V::Date))
            }
            Kind::Local(i) => Ok(frame.get(*i as usize).map_or(V::None, V::of)),
            Kind::Field { object, field } => {
                let entity = self.entity_of(object, frame)?;
                match self.ir.cell(entity, *field) {
                    crate::ir::Cell::Slot(slot) => {
                        self.st.read(slot);
                        Ok(V::of(&self.st.slots[slot as usize]))
                    }
                    crate::ir::Cell::Derived(d) => self.derived(d, c.span).map(|v| V::of(&v)),
                }
            }
            Kind::Losses(object) => {
                let entity = self.entity_of(object, frame)?;
                self.exposure_losses(entity, c.span).map(|v| V::of(&v))
            }
            Kind::Neg(operand) => match self.run(operand, frame)? {
                V::Num(n) => Ok(V::Num(-n)),
                V::None => Err(no_value(operand.span)),
                _ => Err(internal(c.span)),
            },
            Kind::Not(operand) => match self.run(operand, frame)? {
                V::Bool(b) => Ok(V::Bool(!b)),
                V::None => Err(no_value(operand.span)),
                _ => Err(internal(c.span)),
            },
            Kind::And(a, b) => Ok(V::Bool(self.truth(a, frame)? && self.truth(b, frame)?)),
            Kind::Or(a, b) => Ok(V::Bool(self.truth(a, frame)? || self.truth(b, frame)?)),
            Kind::Binary(op, lhs, rhs) => self.run_binary(*op, lhs, rhs, c.span, frame),
            Kind::Call(function, args) => self.run_call(function, args, c.span, frame),
            Kind::Draw(distribution, args) => {
                let mut values = [Decimal::ZERO; 3];
                for (slot, arg) in values.iter_mut().zip(args) {
                    *slot = self.run_number(arg, frame)?;
                }
                match distribution.draw(&values[..args.len().min(3)], &mut self.st.stream) {
                    Ok(Drawn::Number(n)) => Ok(V::Num(n)),
                    Ok(Drawn::Bool(b)) => Ok(V::Bool(b)),
                    Err(bad) => {
                        let at = bad.argument.and_then(|i| args.get(i)).map_or(c.span, |a| a.span);
                        Err(Fault::new(
                            crate::codes::run::bad_argument,
                            bad.message,
                            at,
                            "this argument is out of range",
                        ))
                    }
                }
            }
            Kind::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                if self.truth(cond, frame)? { self.run(then, frame) } else { self.run(otherwise, frame) }
            }
            Kind::Tree(_) => Err(internal(c.span)),
        }
    }

    /// `Evaluator::entity`: the entity an object names.
    #[inline]
    fn entity_of(&mut self, object: &Expr, frame: &mut [Value]) -> Eval<u32> {
        match self.run(object, frame)? {
            V::Entity(e) => Ok(e),
            _ => Err(internal(object.span)),
        }
    }

    /// `Evaluator::boolean`.
    #[inline]
    fn truth(&mut self, c: &Expr, frame: &mut [Value]) -> Eval<bool> {
        match self.run(c, frame)? {
            V::Bool(b) => Ok(b),
            _ => Err(internal(c.span)),
        }
    }

    /// `Evaluator::number`.
    #[inline]
    fn run_number(&mut self, c: &Expr, frame: &mut [Value]) -> Eval<Decimal> {
        match self.run(c, frame)? {
            V::Num(n) => Ok(n),
            V::None => Err(no_value(c.span)),
            _ => Err(internal(c.span)),
        }
    }

    /// `Evaluator::binary` without `and` and `or`.
    fn run_binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
        frame: &mut [Value],
    ) -> Eval<V> {
        let l = self.run(lhs, frame)?;
        let r = self.run(rhs, frame)?;
        match op {
            BinaryOp::Eq => return Ok(V::Bool(l == r)),
            BinaryOp::Ne => return Ok(V::Bool(l != r)),
            _ => {}
        }
        if l == V::None {
            return Err(no_value(lhs.span));
        }
        if r == V::None {
            return Err(no_value(rhs.span));
        }
        let (a, b) = match (l, r) {
            (V::Num(a), V::Num(b)) => (a, b),
            (V::Date(a), V::Date(b)) => return ordering(op, a.cmp(&b), span).map(V::Bool),
            _ => return Err(internal(span)),
        };
        if op == BinaryOp::Div && b.is_zero() {
            return Err(division_by_zero(rhs.span));
        }
        if op == BinaryOp::Pow {
            return crate::eval::maths::power(a, b, lhs.span, span).map(V::Num);
        }
        if !matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) {
            return ordering(op, a.cmp(&b), span).map(V::Bool);
        }
        arithmetic(op, a, b, span).map(V::Num)
    }

    /// `Evaluator::call`.
    fn run_call(
        &mut self,
        function: &crate::builtins::Function,
        args: &[Expr],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<V> {
        let mut few = [Decimal::ZERO; 4];
        let many: Vec<Decimal>;
        let values: &[Decimal] = if args.len() <= few.len() {
            for (slot, arg) in few.iter_mut().zip(args) {
                *slot = self.run_number(arg, frame)?;
            }
            &few[..args.len()]
        } else {
            let mut list = Vec::with_capacity(args.len());
            for arg in args {
                list.push(self.run_number(arg, frame)?);
            }
            many = list;
            &many
        };
        let Compute::Pure(compute) = function.compute;
        let result = compute(values).map_err(|error| {
            let at = error.argument.and_then(|i| args.get(i)).map_or(span, |a| a.span);
            Fault::new(error.code, error.message, at, error.label)
        })?;
        Ok(V::Num(result))
    }
}

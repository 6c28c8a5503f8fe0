//! Evaluating the compiled form: each node does what the tree walk
//! (`expr.rs`, `calls.rs`) does at the node it stands for, in the same order.
//! The leaves under an operator are evaluated in place (`operand`), without
//! a call; the rare nodes are evaluated out of line, so that the common ones
//! stay small.

use rust_decimal::Decimal;

use crate::builtins::Compute;
use crate::eval::calls::{Args, MAX_DRAW_ARGS, apply, draw_from, replaces};
use crate::eval::expr::{Eval, Evaluator, derived_cycle, internal, no_value, numbers, ordering, out_of_fuel};
use crate::eval::fault::Fault;
use crate::ir::FieldRef;
use crate::ir::{Compiled, Leaf, Leaves, Op, V};
use crate::random::{Distribution, Drawn};
use crate::source::Span;
use crate::syntax::BinaryOp;
use crate::value::Value;

impl Evaluator<'_> {
    /// Evaluates a compiled node (the caller has checked the stack: see
    /// `Evaluator::eval_code`).
    pub(in crate::eval) fn run(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<V> {
        match &c.op {
            Op::Tree(node) => self.eval(node, frame).map(|v| V::of(&v)),
            Op::Const(_) | Op::Param(_) | Op::Var(_) | Op::LocalField { .. } | Op::Series(_) | Op::Let(_) => {
                self.operand(c, frame)
            }
            Op::Binary(op, lhs, rhs) => {
                self.spend_one(c.span)?;
                self.run_binary(*op, lhs, rhs, c.span, frame)
            }
            Op::Leaves(leaves) => self.run_leaves(leaves, c.span, frame),
            Op::And(a, b) => {
                self.spend_one(c.span)?;
                Ok(V::Bool(self.truth(a, frame)? && self.truth(b, frame)?))
            }
            Op::Or(a, b) => {
                self.spend_one(c.span)?;
                Ok(V::Bool(self.truth(a, frame)? || self.truth(b, frame)?))
            }
            Op::Not(operand) => {
                self.spend_one(c.span)?;
                match self.operand(operand, frame)? {
                    V::Bool(b) => Ok(V::Bool(!b)),
                    V::None => Err(no_value(operand.span)),
                    _ => Err(internal(c.span)),
                }
            }
            Op::Fixed { slot, inner } => self.run_fixed(*slot, inner, frame),
            _ => self.run_rare(c, frame),
        }
    }

    /// An expression of params and literals: its value and fuel kept from
    /// the first evaluation in this run, while the fuel left covers it.
    #[inline(never)]
    fn run_fixed(&mut self, slot: u32, inner: &Compiled, frame: &mut [Value]) -> Eval<V> {
        if let Some(&Some((value, fuel))) = self.st.fixed.get(slot as usize)
            && self.st.fuel >= fuel
        {
            self.st.fuel -= fuel;
            return Ok(value);
        }
        let before = self.st.fuel;
        let value = self.run(inner, frame)?;
        let spent = before - self.st.fuel;
        let fixed = &mut self.st.fixed;
        if fixed.len() <= slot as usize {
            fixed.resize(slot as usize + 1, None);
        }
        fixed[slot as usize] = Some((value, spent));
        Ok(value)
    }

    /// One unit of fuel for the node at `span`, as the tree walk spends it.
    #[inline(always)]
    fn spend_one(&mut self, span: Span) -> Eval<()> {
        if self.st.fuel == 0 {
            return Err(out_of_fuel(span));
        }
        self.st.fuel -= 1;
        Ok(())
    }

    /// An operand of an operator: the leaves in place, the rest by `run`.
    #[inline(always)]
    fn operand(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<V> {
        match &c.op {
            Op::Const(v) => {
                self.spend_one(c.span)?;
                Ok(*v)
            }
            Op::Param(p) => {
                self.spend_one(c.span)?;
                Ok(V::of(&self.st.params[*p as usize]))
            }
            Op::Var(v) => {
                self.spend_one(c.span)?;
                self.st.read(*v);
                Ok(V::of(&self.st.slots[*v as usize]))
            }
            Op::LocalField { local, field, object } => {
                self.local_field(*local, *field, *object, c.span, frame)
            }
            Op::Series(s) => {
                self.spend_one(c.span)?;
                self.st.read(self.st.layout.series_cell(*s));
                Ok(V::of(&self.st.series[*s as usize]))
            }
            Op::Let(l) => {
                self.spend_one(c.span)?;
                self.derived_v(*l, c.span)
            }
            _ => self.run(c, frame),
        }
    }

    /// `l.cash`: the field node, then the local (`Evaluator::entity`), then
    /// the field (`Evaluator::field`).
    #[inline(always)]
    fn local_field(
        &mut self,
        local: u16,
        field: FieldRef,
        object: Span,
        span: Span,
        frame: &[Value],
    ) -> Eval<V> {
        self.spend_one(span)?;
        self.spend_one(object)?;
        self.field_of_local(local, field, object, span, frame)
    }

    /// `l.cash` once its fuel is spent: the entity in the local, then its field.
    #[inline(always)]
    fn field_of_local(
        &mut self,
        local: u16,
        field: FieldRef,
        object: Span,
        span: Span,
        frame: &[Value],
    ) -> Eval<V> {
        let entity = match frame.get(local as usize) {
            Some(Value::Entity(e)) => *e,
            _ => return Err(internal(object)),
        };
        match self.ir.cell(entity, field) {
            crate::ir::Cell::Slot(slot) => {
                self.st.read(slot);
                Ok(V::of(&self.st.slots[slot as usize]))
            }
            crate::ir::Cell::Derived(d) => self.derived_v(d, span),
        }
    }

    /// `Evaluator::derived`, with a cached value read in place.
    #[inline]
    fn derived_v(&mut self, d: u32, span: Span) -> Eval<V> {
        if self.st.iterating > 0 {
            return self.derived(d, span).map(|v| V::of(&v));
        }
        self.st.read(self.st.layout.derived_cell(d));
        match &self.st.derived[d as usize] {
            Some(v) => Ok(V::of(v)),
            None => self.compute_derived_v(d, span),
        }
    }

    /// `Evaluator::compute_derived`, for a let or a derived field with a
    /// compiled formula evaluated straight to a `V`: the same checks, fuel,
    /// reads and faults, in the same order. Any other derived cell (a model, a
    /// system, a formula left as a tree) is computed by `compute_derived`.
    #[inline(never)]
    fn compute_derived_v(&mut self, d: u32, span: Span) -> Eval<V> {
        let ir = self.ir;
        let lets = ir.lets.len() as u32;
        let (formula, owner) = if d < lets {
            (ir.code.lets.get(d as usize).and_then(Option::as_ref), None)
        } else {
            match self.derived_owner.get((d - lets) as usize) {
                Some(&(entity, field)) => {
                    let fields = ir.code.fields.get(ir.kind_of(entity) as usize);
                    (fields.and_then(|f| f.get(field as usize)).and_then(Option::as_ref), Some(entity))
                }
                None => (None, None),
            }
        };
        let Some(formula) = formula else {
            return self.compute_derived(d, span).map(|v| V::of(&v));
        };
        if self.st.computing[d as usize] {
            return Err(derived_cycle(span));
        }
        self.st.computing[d as usize] = true;
        self.st.stack.push(d);
        // Most formulas need no local but their entity: a frame of one on the
        // stack, not one taken from and given back to the pool.
        let result = if formula.locals <= 1 {
            let mut frame = [owner.map_or(Value::None, Value::Entity)];
            self.eval_code_v(&formula.code, &mut frame[..formula.locals as usize])
        } else {
            let mut locals = self.st.locals(formula.locals as usize);
            let frame = locals.slots();
            if let Some(entity) = owner
                && let Some(slot) = frame.first_mut()
            {
                *slot = Value::Entity(entity);
            }
            let result = self.eval_code_v(&formula.code, frame);
            self.st.give_locals(locals);
            result
        };
        self.st.stack.pop();
        self.st.computing[d as usize] = false;
        // As `compute_derived` keeps it, and as `derived_v` reads it back.
        let value = result.map_err(Fault::in_script)?.value();
        let v = V::of(&value);
        self.st.derived[d as usize] = Some(value);
        Ok(v)
    }

    /// The nodes that are rare in conditions and formulas.
    #[inline(never)]
    fn run_rare(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<V> {
        self.spend_one(c.span)?;
        match &c.op {
            Op::Step => {
                self.st.read(self.st.layout.clock_cell());
                Ok(V::Num(Decimal::from(self.st.step)))
            }
            Op::Date => {
                self.st.read(self.st.layout.clock_cell());
                Ok(self.st.date.map_or(V::None, V::Date))
            }
            Op::Local(i) => Ok(frame.get(*i as usize).map_or(V::None, V::of)),
            Op::Field { object, field } => {
                let entity = self.entity_of(object, frame)?;
                match self.ir.cell(entity, *field) {
                    crate::ir::Cell::Slot(slot) => {
                        self.st.read(slot);
                        Ok(V::of(&self.st.slots[slot as usize]))
                    }
                    crate::ir::Cell::Derived(d) => self.derived_v(d, c.span),
                }
            }
            Op::Losses(object) => {
                let entity = self.entity_of(object, frame)?;
                self.exposure_losses(entity, c.span).map(|v| V::of(&v))
            }
            Op::Neg(operand) => match self.operand(operand, frame)? {
                V::Num(n) => Ok(V::Num(-n)),
                V::None => Err(no_value(operand.span)),
                _ => Err(internal(c.span)),
            },
            Op::Call(function, args) => self.run_call(function, args, c.span, frame),
            Op::Draw(distribution, args) => self.run_draw(*distribution, args, c.span, frame),
            Op::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                if self.truth(cond, frame)? { self.run(then, frame) } else { self.run(otherwise, frame) }
            }
            // Evaluated by `run` itself.
            Op::Tree(_)
            | Op::Const(_)
            | Op::Param(_)
            | Op::Var(_)
            | Op::LocalField { .. }
            | Op::Series(_)
            | Op::Binary(..)
            | Op::Leaves(_)
            | Op::And(..)
            | Op::Or(..)
            | Op::Not(_)
            | Op::Let(_)
            | Op::Fixed { .. } => Err(internal(c.span)),
        }
    }

    /// `Evaluator::entity`: the entity an object names.
    #[inline]
    fn entity_of(&mut self, object: &Compiled, frame: &mut [Value]) -> Eval<u32> {
        // Most often a local (`exposure_losses(s)`): what `run_rare` does
        // with one, in place.
        let value = match object.op {
            Op::Local(i) => {
                self.spend_one(object.span)?;
                frame.get(i as usize).map_or(V::None, V::of)
            }
            _ => self.run(object, frame)?,
        };
        match value {
            V::Entity(e) => Ok(e),
            _ => Err(internal(object.span)),
        }
    }

    /// `Evaluator::boolean`.
    #[inline(always)]
    fn truth(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<bool> {
        match self.operand(c, frame)? {
            V::Bool(b) => Ok(b),
            _ => Err(internal(c.span)),
        }
    }

    /// `Evaluator::number`.
    #[inline(always)]
    fn run_number(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<Decimal> {
        match self.operand(c, frame)? {
            V::Num(n) => Ok(n),
            V::None => Err(no_value(c.span)),
            _ => Err(internal(c.span)),
        }
    }

    /// An operator on two leaves: with fuel for all its nodes, spent at once
    /// and the leaves read in order; else node by node, as `run_binary` does,
    /// so that the fuel runs out at the same node. (A leaf faults only where
    /// the checker's types were wrong, which ends the run either way.)
    #[inline(always)]
    fn run_leaves(&mut self, b: &Leaves, span: Span, frame: &[Value]) -> Eval<V> {
        let (l, r) = if self.st.fuel >= b.fuel {
            self.st.fuel -= b.fuel;
            (self.leaf(b.lhs, b.lhs_span, frame)?, self.leaf(b.rhs, b.rhs_span, frame)?)
        } else {
            self.spend_one(span)?;
            self.spend_leaf(b.lhs, b.lhs_span)?;
            let l = self.leaf(b.lhs, b.lhs_span, frame)?;
            self.spend_leaf(b.rhs, b.rhs_span)?;
            (l, self.leaf(b.rhs, b.rhs_span, frame)?)
        };
        self.binary_of(b.op, l, r, (b.lhs_span, b.rhs_span), span)
    }

    /// The fuel of a leaf's nodes, one by one (a field of a local: the field, then the local).
    #[cold]
    fn spend_leaf(&mut self, leaf: Leaf, span: Span) -> Eval<()> {
        self.spend_one(span)?;
        if let Leaf::Field { object, .. } = leaf {
            self.spend_one(object)?;
        }
        Ok(())
    }

    /// The value of a leaf, its fuel spent (what `operand` does after spending it).
    #[inline(always)]
    fn leaf(&mut self, leaf: Leaf, span: Span, frame: &[Value]) -> Eval<V> {
        Ok(match leaf {
            Leaf::Const(v) => v,
            Leaf::Param(p) => V::of(&self.st.params[p as usize]),
            Leaf::Var(v) => {
                self.st.read(v);
                V::of(&self.st.slots[v as usize])
            }
            Leaf::Series(s) => {
                self.st.read(self.st.layout.series_cell(s));
                V::of(&self.st.series[s as usize])
            }
            // A stored field (see `Leaf::of`): a slot read.
            Leaf::Field { local, field, object } => self.field_of_local(local, field, object, span, frame)?,
        })
    }

    /// `Evaluator::binary` without `and` and `or`.
    #[inline]
    fn run_binary(
        &mut self,
        op: BinaryOp,
        lhs: &Compiled,
        rhs: &Compiled,
        span: Span,
        frame: &mut [Value],
    ) -> Eval<V> {
        let l = self.operand(lhs, frame)?;
        let r = self.operand(rhs, frame)?;
        self.binary_of(op, l, r, (lhs.span, rhs.span), span)
    }

    /// `l op r` of two evaluated operands (at spans `operands`).
    #[inline(always)]
    fn binary_of(&mut self, op: BinaryOp, l: V, r: V, operands: (Span, Span), span: Span) -> Eval<V> {
        match op {
            BinaryOp::Eq => return Ok(V::Bool(l == r)),
            BinaryOp::Ne => return Ok(V::Bool(l != r)),
            _ => {}
        }
        if matches!(l, V::None) {
            return Err(no_value(operands.0));
        }
        if matches!(r, V::None) {
            return Err(no_value(operands.1));
        }
        let (a, b) = match (l, r) {
            (V::Num(a), V::Num(b)) => (a, b),
            (V::Date(a), V::Date(b)) => return ordering(op, a.cmp(&b), span).map(V::Bool),
            _ => return Err(internal(span)),
        };
        numbers(op, a, b, operands, span)
    }

    /// `Evaluator::call`; `min` and `max` keep the best value so far as they
    /// evaluate their arguments, in order, with no array of their values.
    fn run_call(
        &mut self,
        function: &crate::builtins::Function,
        args: &[Compiled],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<V> {
        let greatest = match function.compute {
            Compute::Pure(_) => {
                let values = Args::gather(args.len(), |i| self.run_number(&args[i], frame))?;
                return apply(function, values.values(), span, |i| args.get(i).map(|a| a.span)).map(V::Num);
            }
            Compute::Least => false,
            Compute::Greatest => true,
        };
        let Some((first, rest)) = args.split_first() else { return Ok(V::Num(Decimal::ZERO)) };
        let mut best = self.run_number(first, frame)?;
        for arg in rest {
            let next = self.run_number(arg, frame)?;
            if replaces(greatest, next, best) {
                best = next;
            }
        }
        Ok(V::Num(best))
    }

    /// `Evaluator::draw`.
    fn run_draw(
        &mut self,
        distribution: Distribution,
        args: &[Compiled],
        span: Span,
        frame: &mut [Value],
    ) -> Eval<V> {
        // The arguments in order, as `Args::gather` takes them, into an array
        // of the most a distribution takes.
        let args = &args[..args.len().min(MAX_DRAW_ARGS)];
        let mut values = [Decimal::ZERO; MAX_DRAW_ARGS];
        for (value, arg) in values.iter_mut().zip(args) {
            *value = self.run_number(arg, frame)?;
        }
        let argument = |i: usize| args.get(i).map(|a| a.span);
        Ok(match draw_from(distribution, &values[..args.len()], &mut self.st.stream, span, argument)? {
            Drawn::Number(n) => V::Num(n),
            Drawn::Bool(b) => V::Bool(b),
        })
    }
}

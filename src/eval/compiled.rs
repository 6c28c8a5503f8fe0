//! Evaluating the compiled form: each node does what the tree walk
//! (`expr.rs`, `calls.rs`) does at the node it stands for, in the same order.
//! The leaves under an operator are evaluated in place (`operand`), without
//! a call; the rare nodes are evaluated out of line, so that the common ones
//! stay small.
//!
//! The nodes hand back a bare [`V`], which comes back in two registers, not
//! an `Eval<V>`, which comes back through memory: a node that faults keeps
//! its fault in `State::fault` and hands back `V::FAULT`, which every node
//! hands on at once (`value!`) as `?` would the `Err`, and
//! `Evaluator::eval_code_v` makes the `Eval<V>` again at the boundary.

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

/// The value of a node, or else a return of `V::FAULT` from the node that
/// evaluates it (its fault is kept in `State::fault`).
macro_rules! value {
    ($v:expr) => {{
        let v: V = $v;
        if v.is_fault() {
            return V::FAULT;
        }
        v
    }};
}

/// The value of an `Eval`, or else its fault kept and a return of `V::FAULT`.
macro_rules! ok {
    ($ev:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(fault) => return $ev.fail(fault),
        }
    };
}

impl Evaluator<'_> {
    /// Keeps `fault` for the boundary of the compiled evaluation, and hands
    /// back the value that stands for it.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, fault: Fault) -> V {
        self.st.fault = Some(fault);
        V::FAULT
    }

    /// `v` as an `Eval`: its fault taken back when it is `V::FAULT` (an
    /// internal fault at `span` if none was kept, which cannot happen).
    #[inline(always)]
    pub(in crate::eval) fn checked(&mut self, v: V, span: Span) -> Eval<V> {
        if v.is_fault() {
            return Err(self.st.fault.take().unwrap_or_else(|| internal(span)));
        }
        Ok(v)
    }

    /// Evaluates a compiled node (the caller has checked the stack: see
    /// `Evaluator::eval_code`).
    pub(in crate::eval) fn run(&mut self, c: &Compiled, frame: &mut [Value]) -> V {
        match &c.op {
            Op::Tree(node) => V::of(&ok!(self, self.eval(node, frame))),
            Op::Const(_) | Op::Param(_) | Op::Var(_) | Op::LocalField { .. } | Op::Series(_) | Op::Let(_) => {
                self.operand(c, frame)
            }
            Op::Binary(op, lhs, rhs) => {
                ok!(self, self.spend_one(c.span));
                self.run_binary(*op, lhs, rhs, c.span, frame)
            }
            Op::Leaves(leaves) => self.run_leaves(leaves, c.span, frame),
            Op::And(a, b) => {
                ok!(self, self.spend_one(c.span));
                V::bool(ok!(self, self.truth(a, frame)) && ok!(self, self.truth(b, frame)))
            }
            Op::Or(a, b) => {
                ok!(self, self.spend_one(c.span));
                V::bool(ok!(self, self.truth(a, frame)) || ok!(self, self.truth(b, frame)))
            }
            Op::Not(operand) => {
                ok!(self, self.spend_one(c.span));
                let v = value!(self.operand(operand, frame));
                match v.as_bool() {
                    Some(b) => V::bool(!b),
                    None => self.fail(wrong_operand(v, operand.span, c.span)),
                }
            }
            Op::Fixed { slot, inner } => self.run_fixed(*slot, inner, frame),
            _ => self.run_rare(c, frame),
        }
    }

    /// An expression of params and literals: its value and fuel kept from
    /// the first evaluation in this run, while the fuel left covers it.
    #[inline(never)]
    fn run_fixed(&mut self, slot: u32, inner: &Compiled, frame: &mut [Value]) -> V {
        if let Some(&Some((value, fuel))) = self.st.fixed.get(slot as usize)
            && self.st.fuel >= fuel
        {
            self.st.fuel -= fuel;
            return value;
        }
        let before = self.st.fuel;
        let value = value!(self.run(inner, frame));
        let spent = before - self.st.fuel;
        let fixed = &mut self.st.fixed;
        if fixed.len() <= slot as usize {
            fixed.resize(slot as usize + 1, None);
        }
        fixed[slot as usize] = Some((value, spent));
        value
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
    fn operand(&mut self, c: &Compiled, frame: &mut [Value]) -> V {
        match &c.op {
            Op::Const(v) => {
                ok!(self, self.spend_one(c.span));
                *v
            }
            Op::Param(p) => {
                ok!(self, self.spend_one(c.span));
                V::of(&self.st.params[*p as usize])
            }
            Op::Var(v) => {
                ok!(self, self.spend_one(c.span));
                self.st.read(*v);
                V::of(&self.st.slots[*v as usize])
            }
            Op::LocalField { local, field, object } => {
                self.local_field(*local, *field, *object, c.span, frame)
            }
            Op::Series(s) => {
                ok!(self, self.spend_one(c.span));
                self.st.read(self.st.layout.series_cell(*s));
                V::of(&self.st.series[*s as usize])
            }
            Op::Let(l) => {
                ok!(self, self.spend_one(c.span));
                self.derived_v(*l, c.span)
            }
            _ => self.run(c, frame),
        }
    }

    /// `l.cash`: the field node, then the local (`Evaluator::entity`), then
    /// the field (`Evaluator::field`).
    #[inline(always)]
    fn local_field(&mut self, local: u16, field: FieldRef, object: Span, span: Span, frame: &[Value]) -> V {
        ok!(self, self.spend_one(span));
        ok!(self, self.spend_one(object));
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
    ) -> V {
        let entity = match frame.get(local as usize) {
            Some(Value::Entity(e)) => *e,
            _ => return self.fail(internal(object)),
        };
        match self.ir.cell(entity, field) {
            crate::ir::Cell::Slot(slot) => {
                self.st.read(slot);
                V::of(&self.st.slots[slot as usize])
            }
            crate::ir::Cell::Derived(d) => self.derived_v(d, span),
        }
    }

    /// `Evaluator::derived`, with a cached value read in place.
    #[inline]
    fn derived_v(&mut self, d: u32, span: Span) -> V {
        if self.st.iterating > 0 {
            return V::of(&ok!(self, self.derived(d, span)));
        }
        self.st.read(self.st.layout.derived_cell(d));
        match &self.st.derived[d as usize] {
            Some(v) => V::of(v),
            None => self.compute_derived_v(d, span),
        }
    }

    /// `Evaluator::compute_derived`, for a let or a derived field with a
    /// compiled formula evaluated straight to a `V`: the same checks, fuel,
    /// reads and faults, in the same order. Any other derived cell (a model, a
    /// system, a formula left as a tree) is computed by `compute_derived`.
    #[inline(never)]
    fn compute_derived_v(&mut self, d: u32, span: Span) -> V {
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
            return V::of(&ok!(self, self.compute_derived(d, span)));
        };
        if self.st.computing[d as usize] {
            return self.fail(derived_cycle(span));
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
        // Kept as `compute_derived` keeps it; a root is never text, so
        // `derived_v` reads back this same `V`.
        let v = ok!(self, result.map_err(Fault::in_script));
        self.st.derived[d as usize] = Some(v.value());
        v
    }

    /// The nodes that are rare in conditions and formulas.
    #[inline(never)]
    fn run_rare(&mut self, c: &Compiled, frame: &mut [Value]) -> V {
        ok!(self, self.spend_one(c.span));
        match &c.op {
            Op::Step => {
                self.st.read(self.st.layout.clock_cell());
                V::num(Decimal::from(self.st.step))
            }
            Op::Date => {
                self.st.read(self.st.layout.clock_cell());
                self.st.date.map_or(V::NONE, V::date)
            }
            Op::Local(i) => frame.get(*i as usize).map_or(V::NONE, V::of),
            Op::Field { object, field } => {
                let entity = ok!(self, self.entity_of(object, frame));
                match self.ir.cell(entity, *field) {
                    crate::ir::Cell::Slot(slot) => {
                        self.st.read(slot);
                        V::of(&self.st.slots[slot as usize])
                    }
                    crate::ir::Cell::Derived(d) => self.derived_v(d, c.span),
                }
            }
            Op::Losses(object) => {
                let entity = ok!(self, self.entity_of(object, frame));
                V::of(&ok!(self, self.exposure_losses(entity, c.span)))
            }
            Op::Neg(operand) => {
                let v = value!(self.operand(operand, frame));
                match v.as_num() {
                    Some(n) => V::num(-n),
                    None => self.fail(wrong_operand(v, operand.span, c.span)),
                }
            }
            Op::Call(function, args) => ok!(self, self.run_call(function, args, c.span, frame)),
            Op::Draw(distribution, args) => ok!(self, self.run_draw(*distribution, args, c.span, frame)),
            Op::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                if ok!(self, self.truth(cond, frame)) {
                    self.run(then, frame)
                } else {
                    self.run(otherwise, frame)
                }
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
            | Op::Fixed { .. } => self.fail(internal(c.span)),
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
                frame.get(i as usize).map_or(V::NONE, V::of)
            }
            _ => {
                let v = self.run(object, frame);
                self.checked(v, object.span)?
            }
        };
        value.as_entity().ok_or_else(|| internal(object.span))
    }

    /// `Evaluator::boolean`.
    #[inline(always)]
    fn truth(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<bool> {
        let v = self.operand(c, frame);
        self.checked(v, c.span)?.as_bool().ok_or_else(|| internal(c.span))
    }

    /// `Evaluator::number`.
    #[inline(always)]
    fn run_number(&mut self, c: &Compiled, frame: &mut [Value]) -> Eval<Decimal> {
        let v = self.operand(c, frame);
        let v = self.checked(v, c.span)?;
        v.as_num().ok_or_else(|| wrong_operand(v, c.span, c.span))
    }

    /// An operator on two leaves: with fuel for all its nodes, spent at once
    /// and the leaves read in order; else node by node, as `run_binary` does,
    /// so that the fuel runs out at the same node. (A leaf faults only where
    /// the checker's types were wrong, which ends the run either way.)
    #[inline(always)]
    fn run_leaves(&mut self, b: &Leaves, span: Span, frame: &[Value]) -> V {
        let (l, r) = if self.st.fuel >= b.fuel {
            self.st.fuel -= b.fuel;
            (value!(self.leaf(b.lhs, b.lhs_span, frame)), value!(self.leaf(b.rhs, b.rhs_span, frame)))
        } else {
            ok!(self, self.spend_one(span));
            ok!(self, self.spend_leaf(b.lhs, b.lhs_span));
            let l = value!(self.leaf(b.lhs, b.lhs_span, frame));
            ok!(self, self.spend_leaf(b.rhs, b.rhs_span));
            (l, value!(self.leaf(b.rhs, b.rhs_span, frame)))
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
    fn leaf(&mut self, leaf: Leaf, span: Span, frame: &[Value]) -> V {
        match leaf {
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
            Leaf::Field { local, field, object } => self.field_of_local(local, field, object, span, frame),
        }
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
    ) -> V {
        let l = value!(self.operand(lhs, frame));
        let r = value!(self.operand(rhs, frame));
        self.binary_of(op, l, r, (lhs.span, rhs.span), span)
    }

    /// `l op r` of two evaluated operands (at spans `operands`).
    #[inline(always)]
    fn binary_of(&mut self, op: BinaryOp, l: V, r: V, operands: (Span, Span), span: Span) -> V {
        match op {
            BinaryOp::Eq => return V::bool(l == r),
            BinaryOp::Ne => return V::bool(l != r),
            _ => {}
        }
        if l.is_none() {
            return self.fail(no_value(operands.0));
        }
        if r.is_none() {
            return self.fail(no_value(operands.1));
        }
        if let (Some(a), Some(b)) = (l.as_num(), r.as_num()) {
            return ok!(self, numbers(op, a, b, operands, span));
        }
        match (l.as_date(), r.as_date()) {
            (Some(a), Some(b)) => V::bool(ok!(self, ordering(op, a.cmp(&b), span))),
            _ => self.fail(internal(span)),
        }
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
                return apply(function, values.values(), span, |i| args.get(i).map(|a| a.span)).map(V::num);
            }
            Compute::Least => false,
            Compute::Greatest => true,
        };
        let Some((first, rest)) = args.split_first() else { return Ok(V::num(Decimal::ZERO)) };
        let mut best = self.run_number(first, frame)?;
        for arg in rest {
            let next = self.run_number(arg, frame)?;
            if replaces(greatest, next, best) {
                best = next;
            }
        }
        Ok(V::num(best))
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
            Drawn::Number(n) => V::num(n),
            Drawn::Bool(b) => V::bool(b),
        })
    }
}

/// The fault of an operand of the wrong kind at `operand`: no value, or else
/// (a type the checker should have ruled out) an internal fault at the node.
#[cold]
fn wrong_operand(v: V, operand: Span, node: Span) -> Fault {
    if v.is_none() { no_value(operand) } else { internal(node) }
}

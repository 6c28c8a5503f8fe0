//! Evaluating expressions: checked decimal arithmetic over the current state.
//!
//! Every operation on script values is checked: overflow, division by zero and
//! invalid arguments become a [`Fault`] at the expression's span, never a panic
//! or a silent zero.

use std::cell::Cell;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::codes;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::{Value, human};

use super::state::State;
use crate::ir::{Compiled, V};

pub(crate) use super::fault::*;

/// Evaluates expressions of one program against one state.
pub(crate) struct Evaluator<'a> {
    pub ir: &'a Ir,
    pub st: &'a mut State,
    /// For derived cell `d` (after the lets): the entity and its derived field.
    pub derived_owner: &'a [(u32, u32)],
}

/// Stack that must be left when evaluation recurses; below it, a new segment.
const RED_ZONE: usize = 64 * 1024;
/// The size of a new stack segment.
const STACK_SEGMENT: usize = 1024 * 1024;

/// Roughly where the stack is now (it grows down on every platform we build for;
/// where it does not, `stacker` reports no limit and every node is checked).
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

thread_local! {
    /// Below this address of this thread's stack, evaluation asks `stacker` for
    /// more (see `Evaluator::eval`); outside an evaluation, the highest address.
    static STACK_LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Puts back the stack limit of the enclosing evaluation, also on unwinding.
struct RestoreLimit(usize);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        STACK_LIMIT.with(|limit| limit.set(self.0));
    }
}

/// Runs `work` with the stack limit of this thread noted (see
/// `Evaluator::eval`), on a new stack segment if less than the red zone is
/// left. A step wraps all its evaluations in one call, so that each condition
/// and effect only compares the stack position with the limit instead of
/// asking `stacker` again; so does a step inside a checked sweep path.
#[inline]
pub(crate) fn on_checked_stack<R>(work: impl FnOnce() -> R) -> R {
    // Above the limit of an enclosing call, more than the red zone is left on
    // this segment, and `stacker` would note the same limit again.
    if stack_position() > STACK_LIMIT.with(Cell::get) {
        return work();
    }
    on_new_limit(work)
}

#[inline(never)]
fn on_new_limit<R>(work: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
        let limit = match stacker::remaining_stack() {
            Some(remaining) => stack_position().saturating_sub(remaining).saturating_add(RED_ZONE),
            None => usize::MAX,
        };
        let _restore = RestoreLimit(STACK_LIMIT.with(|l| l.replace(limit)));
        work()
    })
}

impl Evaluator<'_> {
    /// Evaluates a node. Deep expressions get more stack through `stacker`:
    /// the first node of an evaluation asks how much stack is left and notes
    /// the address below which less than the red zone would be, and the nodes
    /// under it only compare the stack position with that address (asking
    /// `stacker` at every node cost more than many nodes themselves).
    #[inline]
    pub fn eval(&mut self, node: &Node, frame: &mut [Value]) -> Eval<Value> {
        if stack_position() > STACK_LIMIT.with(Cell::get) {
            return self.eval_inner(node, frame);
        }
        self.eval_on_checked_stack(node, frame)
    }

    #[inline(never)]
    fn eval_on_checked_stack(&mut self, node: &Node, frame: &mut [Value]) -> Eval<Value> {
        on_checked_stack(|| self.eval_inner(node, frame))
    }

    /// Evaluates `node` from its compiled form when it has one (the same
    /// value, fuel, reads and faults: see `compiled`), else from the tree.
    #[inline]
    pub fn eval_with(&mut self, node: &Node, code: Option<&Compiled>, frame: &mut [Value]) -> Eval<Value> {
        match code {
            Some(code) => self.eval_code(code, frame),
            None => self.eval(node, frame),
        }
    }

    /// Whether `node` evaluates to `true` (from its compiled form when it has
    /// one, as [`Evaluator::eval_with`] evaluates it).
    #[inline(always)]
    pub fn holds_with(&mut self, node: &Node, code: Option<&Compiled>, frame: &mut [Value]) -> Eval<bool> {
        match code {
            Some(code) => Ok(self.eval_code_v(code, frame)?.as_bool() == Some(true)),
            None => Ok(matches!(self.eval(node, frame)?, Value::Bool(true))),
        }
    }

    /// Evaluates a compiled expression, with the stack checked as
    /// [`Evaluator::eval`] does (the compiled form is at most a few dozen
    /// nodes deep between two such checks).
    #[inline]
    pub fn eval_code(&mut self, code: &Compiled, frame: &mut [Value]) -> Eval<Value> {
        self.eval_code_v(code, frame).map(V::value)
    }

    /// [`Evaluator::eval_code`] to a `V`.
    #[inline]
    pub(super) fn eval_code_v(&mut self, code: &Compiled, frame: &mut [Value]) -> Eval<V> {
        let v = if stack_position() > STACK_LIMIT.with(Cell::get) {
            self.run(code, frame)
        } else {
            self.eval_code_v_on_checked_stack(code, frame)
        };
        self.checked(v, code.span)
    }

    #[inline(never)]
    fn eval_code_v_on_checked_stack(&mut self, code: &Compiled, frame: &mut [Value]) -> V {
        on_checked_stack(|| self.run(code, frame))
    }

    fn eval_inner(&mut self, node: &Node, frame: &mut [Value]) -> Eval<Value> {
        if self.st.fuel == 0 {
            return Err(out_of_fuel(node.span));
        }
        self.st.fuel -= 1;
        match &node.kind {
            NodeKind::Const(v) => Ok(v.clone()),
            NodeKind::Param(p) => Ok(self.st.params[*p as usize].clone()),
            NodeKind::Var(v) => {
                self.st.read(*v);
                Ok(self.st.slots[*v as usize].clone())
            }
            NodeKind::Let(l) => self.derived(*l, node.span),
            NodeKind::Series(s) => {
                self.st.read(self.st.layout.series_cell(*s));
                Ok(self.st.series[*s as usize].clone())
            }
            NodeKind::Step => {
                self.st.read(self.st.layout.clock_cell());
                Ok(Value::Number(Decimal::from(self.st.step)))
            }
            NodeKind::Date => {
                self.st.read(self.st.layout.clock_cell());
                Ok(self.st.date.map_or(Value::None, Value::Date))
            }
            NodeKind::Local(i) => Ok(frame.get(*i as usize).cloned().unwrap_or(Value::None)),
            NodeKind::Field { object, field } => {
                let entity = self.entity(object, frame)?;
                self.field(entity, *field, node.span)
            }
            NodeKind::ExposureField { object, field } => {
                let x = match self.eval(object, frame)? {
                    Value::Exposure(x) => x,
                    _ => return Err(internal(object.span)),
                };
                let def = &self.ir.exposures[x as usize];
                let (amount, recovery) = self.st.exposure(self.ir, x);
                Ok(match field {
                    ExposureField::Creditor => Value::Entity(def.creditor),
                    ExposureField::Debtor => Value::Entity(def.debtor),
                    ExposureField::Amount => Value::Number(amount),
                    ExposureField::Recovery => Value::Number(recovery),
                    ExposureField::Extra(c) => self.st.exposure_field(self.ir, *c, x),
                })
            }
            NodeKind::Unary(op, operand) => {
                let v = self.eval(operand, frame)?;
                match (op, v) {
                    (UnaryOp::Neg, Value::Number(n)) => Ok(Value::Number(-n)),
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (_, Value::None) => Err(no_value(operand.span)),
                    _ => Err(internal(node.span)),
                }
            }
            NodeKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, node.span, frame),
            NodeKind::Call(function, args) => self.call(function, args, node.span, frame),
            NodeKind::Draw(distribution, args) => self.draw(*distribution, args, node.span, frame),
            NodeKind::Host(index, args) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    let v = self.eval(arg, frame)?;
                    if matches!(v, Value::None) {
                        return Err(no_value(arg.span));
                    }
                    values.push(v);
                }
                let host = &self.ir.host[*index as usize];
                let call = host.call.clone();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&values)));
                match outcome {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(message)) => Err(Fault::new(
                        codes::run::host_error,
                        format!("host function `{}` failed: {message}", host.name),
                        node.span,
                        "in this call",
                    )),
                    Err(_) => Err(Fault::new(
                        codes::run::host_error,
                        format!("host function `{}` panicked", host.name),
                        node.span,
                        "in this call",
                    )),
                }
            }
            NodeKind::Aggregate(aggregate) => self.aggregate(aggregate, node.span, frame),
            NodeKind::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                if self.boolean(cond, frame)? { self.eval(then, frame) } else { self.eval(otherwise, frame) }
            }
            NodeKind::ExposureLosses(object) => {
                let entity = self.entity(object, frame)?;
                self.exposure_losses(entity, node.span)
            }
            NodeKind::Template(pieces) => Ok(Value::Str(Arc::from(self.render(pieces, frame)?))),
            NodeKind::Model { model, output, object } => {
                let entity = match object {
                    Some(object) => Some(self.entity(object, frame)?),
                    None => None,
                };
                self.model_read(*model, *output, entity, node.span)
            }
        }
    }

    /// The value of derived cell `d` (a let, or an entity's derived field).
    pub fn derived(&mut self, d: u32, span: Span) -> Eval<Value> {
        // A system iterating reads its own values from the previous iterate.
        if self.st.iterating > 0
            && let Some(v) = self.iterate_value(d)
        {
            return Ok(v);
        }
        self.st.read(self.st.layout.derived_cell(d));
        if let Some(v) = &self.st.derived[d as usize] {
            return Ok(v.clone());
        }
        self.compute_derived(d, span)
    }

    /// Computes derived cell `d`, which holds no value now, and keeps it.
    pub(super) fn compute_derived(&mut self, d: u32, span: Span) -> Eval<Value> {
        if self.st.computing[d as usize] {
            return Err(derived_cycle(span));
        }
        if let Some(m) = self.model_of_cell(d) {
            self.st.computing[d as usize] = true;
            self.st.stack.push(d);
            let result = self.compute_model(m, span);
            self.st.stack.pop();
            self.st.computing[d as usize] = false;
            let value = result.map_err(Fault::in_script)?;
            self.st.derived[d as usize] = Some(value.clone());
            return Ok(value);
        }
        if let Some(s) = self.solve_of_cell(d) {
            self.st.computing[d as usize] = true;
            self.st.stack.push(d);
            let result = self.compute_solve(s, span);
            self.st.stack.pop();
            self.st.computing[d as usize] = false;
            let value = result.map_err(Fault::in_script)?;
            self.st.derived[d as usize] = Some(value.clone());
            return Ok(value);
        }
        let lets = self.ir.lets.len() as u32;
        let (root, owner, code) = if d < lets {
            let code = self.ir.code.lets.get(d as usize).and_then(Option::as_ref).map(|f| &f.code);
            (&self.ir.lets[d as usize].expr, None, code)
        } else {
            let (entity, field) = self.derived_owner[(d - lets) as usize];
            let kind = &self.ir.kinds[self.ir.kind_of(entity) as usize];
            let def =
                kind.fields.iter().find(|f| f.derived && f.index == field).ok_or_else(|| internal(span))?;
            if let (Some(i), Some(s)) = (def.solved, kind.solve) {
                self.st.computing[d as usize] = true;
                self.st.stack.push(d);
                let result = self.solved_value(s, i, entity, span);
                self.st.stack.pop();
                self.st.computing[d as usize] = false;
                let value = result.map_err(Fault::in_script)?;
                self.st.derived[d as usize] = Some(value.clone());
                return Ok(value);
            }
            let code =
                self.ir.code.fields.get(entity_kind(self.ir, entity)).and_then(|f| f.get(field as usize));
            (&def.expr, Some(entity), code.and_then(Option::as_ref).map(|f| &f.code))
        };
        let mut locals = self.st.locals(root.locals as usize);
        let frame = locals.slots();
        if let Some(entity) = owner
            && let Some(slot) = frame.first_mut()
        {
            *slot = Value::Entity(entity);
        }
        self.st.computing[d as usize] = true;
        self.st.stack.push(d);
        let result = self.eval_with(&root.node, code, frame);
        self.st.stack.pop();
        self.st.give_locals(locals);
        self.st.computing[d as usize] = false;
        let value = result.map_err(Fault::in_script)?;
        self.st.derived[d as usize] = Some(value.clone());
        Ok(value)
    }

    pub fn entity(&mut self, object: &Node, frame: &mut [Value]) -> Eval<u32> {
        // `l.debt`: what evaluating the local would do, without the call.
        if let NodeKind::Local(i) = object.kind {
            if self.st.fuel == 0 {
                return Err(out_of_fuel(object.span));
            }
            self.st.fuel -= 1;
            return match frame.get(i as usize) {
                Some(Value::Entity(e)) => Ok(*e),
                _ => Err(internal(object.span)),
            };
        }
        match self.eval(object, frame)? {
            Value::Entity(e) => Ok(e),
            _ => Err(internal(object.span)),
        }
    }

    /// Reads a field of an entity.
    pub fn field(&mut self, entity: u32, field: FieldRef, span: Span) -> Eval<Value> {
        let slot = match self.ir.cell(entity, field) {
            crate::ir::Cell::Slot(slot) => slot,
            crate::ir::Cell::Derived(d) => return self.derived(d, span),
        };
        self.st.read(slot);
        Ok(self.st.slots[slot as usize].clone())
    }

    /// The sum of the losses on the exposures of `entity` whose debtor has
    /// defaulted, in the order of its exposures. The running total kept as debtors
    /// default (`State::add_default_losses`) is that sum whenever it exists.
    pub fn exposure_losses(&mut self, entity: u32, span: Span) -> Eval<Value> {
        if let Some(&Some(total)) = self.st.losses.get(entity as usize) {
            self.st.read(self.st.layout.losses_cell(entity));
            return Ok(Value::Number(total));
        }
        let mut total = Decimal::ZERO;
        for &x in self.ir.as_creditor.of(entity) {
            let debtor = self.ir.exposures[x as usize].debtor;
            if matches!(self.field(debtor, FieldRef::Defaulted, span)?, Value::Bool(true)) {
                let (amount, recovery) = self.st.exposure(self.ir, x);
                let loss = Decimal::ONE
                    .checked_sub(recovery)
                    .and_then(|share| amount.checked_mul(share))
                    .ok_or_else(|| overflow(span, "computing an exposure loss"))?;
                total = total.checked_add(loss).ok_or_else(|| overflow(span, "adding exposure losses"))?;
            }
        }
        Ok(Value::Number(total))
    }

    pub(super) fn number(&mut self, node: &Node, frame: &mut [Value]) -> Eval<Decimal> {
        match self.eval(node, frame)? {
            Value::Number(n) => Ok(n),
            Value::None => Err(no_value(node.span)),
            _ => Err(internal(node.span)),
        }
    }

    pub(super) fn boolean(&mut self, node: &Node, frame: &mut [Value]) -> Eval<bool> {
        match self.eval(node, frame)? {
            Value::Bool(b) => Ok(b),
            _ => Err(internal(node.span)),
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Node,
        rhs: &Node,
        span: Span,
        frame: &mut [Value],
    ) -> Eval<Value> {
        match op {
            BinaryOp::And => {
                return Ok(Value::Bool(self.boolean(lhs, frame)? && self.boolean(rhs, frame)?));
            }
            BinaryOp::Or => {
                return Ok(Value::Bool(self.boolean(lhs, frame)? || self.boolean(rhs, frame)?));
            }
            _ => {}
        }
        let l = self.eval(lhs, frame)?;
        let r = self.eval(rhs, frame)?;
        match op {
            BinaryOp::Eq => return Ok(Value::Bool(l == r)),
            BinaryOp::Ne => return Ok(Value::Bool(l != r)),
            _ => {}
        }
        if matches!(l, Value::None) {
            return Err(no_value(lhs.span));
        }
        if matches!(r, Value::None) {
            return Err(no_value(rhs.span));
        }
        // Orders are compared only for comparisons (not for every `*`).
        let (a, b) = match (&l, &r) {
            (Value::Number(a), Value::Number(b)) => (*a, *b),
            (Value::Date(a), Value::Date(b)) => return compare(op, a.cmp(b), span),
            _ => return Err(internal(span)),
        };
        numbers(op, a, b, (lhs.span, rhs.span), span).map(V::value)
    }

    /// Renders an interpolated string.
    pub fn render(&mut self, pieces: &[Piece], frame: &mut [Value]) -> Eval<String> {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Expr(node) => {
                    let value = self.eval(node, frame)?;
                    out.push_str(&self.display(&value));
                }
            }
        }
        Ok(out)
    }

    /// Evaluates the pieces of an interpolated string as [`Evaluator::render`]
    /// does (the same faults, the same fuel) without writing the text.
    pub fn render_quietly(&mut self, pieces: &[Piece], frame: &mut [Value]) -> Eval<()> {
        for piece in pieces {
            if let Piece::Expr(node) = piece {
                self.eval(node, frame)?;
            }
        }
        Ok(())
    }

    /// A value as an analyst reads it.
    pub fn display(&self, value: &Value) -> String {
        display_value(self.ir, value)
    }
}

fn entity_kind(ir: &Ir, entity: u32) -> usize {
    ir.kind_of(entity) as usize
}

/// A value as an analyst reads it (numbers rounded for reading; see [`human`]).
pub(crate) fn display_value(ir: &Ir, value: &Value) -> String {
    match value {
        Value::Number(n) => human(*n),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Entity(e) => ir.entities.get(*e as usize).map_or_else(|| format!("#{e}"), |e| e.name.clone()),
        Value::Exposure(x) => match ir.exposures.get(*x as usize) {
            Some(x) => format!(
                "{} -> {}",
                ir.entities[x.creditor as usize].name, ir.entities[x.debtor as usize].name
            ),
            None => format!("exposure #{x}"),
        },
        Value::None => String::from("none"),
    }
}

fn compare(op: BinaryOp, ordering: std::cmp::Ordering, span: Span) -> Eval<Value> {
    self::ordering(op, ordering, span).map(Value::Bool)
}

/// `a op b` of two numbers, once both operands are in hand, as the tree walk
/// and the compiled form both evaluate it: a division by zero faults at the
/// divisor (`operands`: the spans of both), `^` is a power, a comparison a
/// truth, and `+ - * /` exact arithmetic.
#[inline(always)]
pub(super) fn numbers(op: BinaryOp, a: Decimal, b: Decimal, operands: (Span, Span), span: Span) -> Eval<V> {
    if op == BinaryOp::Div && b.is_zero() {
        return Err(division_by_zero(operands.1));
    }
    if op == BinaryOp::Pow {
        return super::maths::power(a, b, operands.0, span).map(V::num);
    }
    if !matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) {
        return ordering(op, super::decimal::compare(a, b), span).map(V::bool);
    }
    arithmetic(op, a, b, span).map(V::num)
}

/// The truth of `a op b` for a comparison `op`, given how `a` and `b` compare.
#[inline(always)]
pub(super) fn ordering(op: BinaryOp, ordering: std::cmp::Ordering, span: Span) -> Eval<bool> {
    use std::cmp::Ordering::*;
    Ok(match op {
        BinaryOp::Lt => ordering == Less,
        BinaryOp::Le => ordering != Greater,
        BinaryOp::Gt => ordering == Greater,
        BinaryOp::Ge => ordering != Less,
        _ => return Err(internal(span)),
    })
}

/// `a op b` for `+ - * /` in exact decimals (the divisor is not 0). Every
/// arithmetic operation of a script goes through here: a result beyond the
/// range is `cascade::run::overflow`, and a product or quotient of non-zero
/// numbers that rounds to 0 (below 1e-28, the smallest decimal) is
/// `cascade::run::underflow`, so nothing becomes 0 silently.
#[inline]
pub(super) fn arithmetic(op: BinaryOp, a: Decimal, b: Decimal, span: Span) -> Result<Decimal, Fault> {
    let result = match op {
        BinaryOp::Add => super::decimal::add(a, b),
        BinaryOp::Sub => super::decimal::sub(a, b),
        BinaryOp::Mul => super::decimal::mul(a, b),
        _ => super::decimal::div(a, b),
    };
    match result {
        Some(r)
            if r.is_zero() && !a.is_zero() && !b.is_zero() && matches!(op, BinaryOp::Mul | BinaryOp::Div) =>
        {
            Err(underflow(op, a, b, span))
        }
        Some(r) => Ok(r),
        None => Err(arithmetic_overflow(op, a, b, span)),
    }
}

/// A derived value whose computation needs its own value.
#[cold]
#[inline(never)]
pub(super) fn derived_cycle(span: Span) -> Fault {
    Fault::new(
        codes::run::cycle,
        "a derived value depends on itself",
        span,
        "computing this needs its own value",
    )
    .help("derived values must not form a cycle; make one of them a `var`")
}

#[cold]
#[inline(never)]
fn underflow(op: BinaryOp, a: Decimal, b: Decimal, span: Span) -> Fault {
    Fault::new(
        codes::run::underflow,
        format!(
            "arithmetic underflow: {} {} {} is not 0 but rounds to 0",
            a.normalize(),
            op.symbol(),
            b.normalize()
        ),
        span,
        "the result is smaller than 1e-28, the smallest exact decimal",
    )
    .help("work in larger units (e.g. `m` or `bn`), or stop the quantity before it gets this small")
}

#[cold]
#[inline(never)]
fn arithmetic_overflow(op: BinaryOp, a: Decimal, b: Decimal, span: Span) -> Fault {
    Fault::new(
        codes::run::overflow,
        format!("arithmetic overflow: {} {} {}", human(a), op.symbol(), human(b)),
        span,
        "the result is beyond the range of exact decimals (about 7.9e28)",
    )
}

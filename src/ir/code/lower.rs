//! Lowering the checker's trees into the compiled form, once per program.

use super::{Code, Compiled, Formula, Leaf, Leaves, Op, V};
use crate::ir::{EffectKindIr, FieldRef, Ir, Node, NodeKind, RuleDef, TriggerIr};
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::{Type, Value};

/// Deeper nodes are left to the tree walk, which grows the stack as it needs:
/// the compiled form's recursion stays within the red zone of `eval/expr.rs`.
const MAX_DEPTH: u32 = 32;

impl Code {
    /// The compiled form of every expression of `ir` that is worth it.
    pub fn of(ir: &Ir) -> Code {
        let not_text = |ty: Type| ty != Type::Str;
        let formula = |code: Option<Compiled>, locals: u16| code.map(|code| Formula { code, locals });
        let lets = ir
            .lets
            .iter()
            .map(|g| formula(root(ir, &g.expr.node, &[], not_text(g.ty)), g.expr.locals))
            .collect();
        let fields = ir
            .kinds
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let mut fields = vec![None; kind.derived_count as usize];
                for f in kind.fields.iter().filter(|f| f.derived && f.solved.is_none()) {
                    if let Some(slot) = fields.get_mut(f.index as usize) {
                        let code = root(ir, &f.expr.node, &[Some(k as u32)], not_text(f.ty));
                        *slot = formula(code, f.expr.locals);
                    }
                }
                fields
            })
            .collect();
        let filters = ir
            .rules
            .iter()
            .map(|r| r.filter.as_ref().and_then(|f| root(ir, f, &binder_kinds(r), true)))
            .collect();
        let conditions = ir
            .rules
            .iter()
            .map(|r| match &r.trigger {
                TriggerIr::When(c) | TriggerIr::While(c) => root(ir, c, &binder_kinds(r), true),
                TriggerIr::At(_) => None,
            })
            .collect();
        let effects = ir
            .rules
            .iter()
            .map(|r| {
                let kinds = binder_kinds(r);
                r.effects
                    .iter()
                    .map(|e| match &e.kind {
                        EffectKindIr::Assign { value, .. } | EffectKindIr::Let { value, .. } => {
                            root(ir, value, &kinds, false)
                        }
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let asserts = ir.asserts.iter().map(|a| root(ir, &a.cond.node, &[], true)).collect();
        let expects = ir.expects.iter().map(|e| root(ir, &e.cond.node, &[], true)).collect();
        let mut code = Code { lets, fields, filters, conditions, effects, asserts, expects, fixed: 0 };
        let mut fixed = 0;
        let formulas = code.lets.iter_mut().chain(code.fields.iter_mut().flatten());
        let formulas = formulas.map(|f| f.as_mut().map(|f| &mut f.code));
        let roots =
            code.filters.iter_mut().chain(&mut code.conditions).chain(code.effects.iter_mut().flatten());
        let roots = roots.chain(&mut code.asserts).chain(&mut code.expects).map(Option::as_mut);
        for root in formulas.chain(roots).flatten() {
            fix(root, &mut fixed);
            leaves(root);
        }
        code.fixed = fixed;
        code
    }
}

/// Whether `c` is made of params and literals only, so that its value is the
/// same all through a run (every function of values is pure).
fn of_params_only(c: &Compiled) -> bool {
    match &c.op {
        Op::Const(_) | Op::Param(_) => true,
        Op::Neg(a) | Op::Not(a) => of_params_only(a),
        Op::And(a, b) | Op::Or(a, b) | Op::Binary(_, a, b) => of_params_only(a) && of_params_only(b),
        Op::Call(_, args) => args.iter().all(of_params_only),
        Op::If(branches) => branches.iter().all(of_params_only),
        _ => false,
    }
}

/// Wraps each largest expression of params and literals under `c` that has
/// an operator in it in an `Op::Fixed` with the next slot.
fn fix(c: &mut Compiled, next: &mut u32) {
    if !matches!(c.op, Op::Const(_) | Op::Param(_)) && of_params_only(c) {
        let inner = Compiled { op: Op::Const(V::NONE), span: c.span };
        let inner = Box::new(std::mem::replace(c, inner));
        c.op = Op::Fixed { slot: *next, inner };
        *next += 1;
        return;
    }
    each_operand(c, |a| fix(a, next));
}

/// Makes each operator on two leaves under `c` an `Op::Leaves`.
fn leaves(c: &mut Compiled) {
    if let Op::Binary(op, a, b) = &c.op
        && let (Some(lhs), Some(rhs)) = (Leaf::of(a), Leaf::of(b))
    {
        let fuel = 1 + lhs.fuel() + rhs.fuel();
        let (op, lhs_span, rhs_span) = (*op, a.span, b.span);
        c.op = Op::Leaves(Box::new(Leaves { op, lhs, rhs, lhs_span, rhs_span, fuel }));
        return;
    }
    each_operand(c, leaves);
}

/// Calls `visit` with each operand of `c`, in order (a `Fixed`'s expression too).
fn each_operand(c: &mut Compiled, mut visit: impl FnMut(&mut Compiled)) {
    match &mut c.op {
        Op::Field { object: a, .. } | Op::Losses(a) | Op::Neg(a) | Op::Not(a) => visit(a),
        Op::And(a, b) | Op::Or(a, b) | Op::Binary(_, a, b) => {
            visit(a);
            visit(b);
        }
        Op::Call(_, args) | Op::Draw(_, args) => args.iter_mut().for_each(visit),
        Op::If(branches) => branches.iter_mut().for_each(visit),
        Op::Fixed { inner, .. } => visit(inner),
        Op::Const(_)
        | Op::Param(_)
        | Op::Var(_)
        | Op::Let(_)
        | Op::Series(_)
        | Op::Step
        | Op::Date
        | Op::Local(_)
        | Op::LocalField { .. }
        | Op::Leaves(_)
        | Op::Tree(_) => {}
    }
}

/// The kind of each of a rule's binders (its first locals).
fn binder_kinds(rule: &RuleDef) -> Vec<Option<u32>> {
    rule.binders.iter().map(|(_, kind)| Some(*kind)).collect()
}

/// A root expression compiled, when that is worth it (it is more than a tree)
/// and its value is not text: its declared type says so (`not_text`), or its
/// shape does.
fn root(ir: &Ir, node: &Node, locals: &[Option<u32>], not_text: bool) -> Option<Compiled> {
    let lowering = Lowering { ir, locals };
    let (expr, known) = lowering.lower(node, 0);
    match expr.op {
        Op::Tree(_) => None,
        _ if known || not_text => Some(expr),
        _ => None,
    }
}

struct Lowering<'a> {
    ir: &'a Ir,
    /// The kind of the entity in each local, where it is known.
    locals: &'a [Option<u32>],
}

impl Lowering<'_> {
    /// The compiled node and whether its value is certainly not text.
    fn lower(&self, node: &Node, depth: u32) -> (Compiled, bool) {
        let tree = || (Compiled { op: Op::Tree(Box::new(node.clone())), span: node.span }, false);
        if depth > MAX_DEPTH {
            return tree();
        }
        let down = |child: &Node| self.lower(child, depth + 1);
        let boxed = |child: &Node| Box::new(down(child).0);
        let not_text = |ty: Type| ty != Type::Str;
        let (op, known) = match &node.kind {
            NodeKind::Const(Value::Str(_)) => return tree(),
            NodeKind::Const(v) => (Op::Const(V::of(v)), true),
            NodeKind::Param(p) => (Op::Param(*p), not_text(self.ir.params[*p as usize].ty)),
            NodeKind::Var(v) => (Op::Var(*v), not_text(self.ir.vars[*v as usize].ty)),
            NodeKind::Let(l) => (Op::Let(*l), not_text(self.ir.lets[*l as usize].ty)),
            NodeKind::Series(s) => (Op::Series(*s), true),
            NodeKind::Step => (Op::Step, true),
            NodeKind::Date => (Op::Date, true),
            NodeKind::Local(i) => (Op::Local(*i), false),
            NodeKind::Field { object, field } => {
                let known = self.kind_of(object).is_some_and(|k| not_text(self.field_type(k, *field)));
                match object.kind {
                    NodeKind::Local(local) => {
                        (Op::LocalField { local, field: *field, object: object.span }, known)
                    }
                    _ => (Op::Field { object: boxed(object), field: *field }, known),
                }
            }
            NodeKind::ExposureLosses(object) => (Op::Losses(boxed(object)), true),
            NodeKind::Unary(UnaryOp::Neg, operand) => (Op::Neg(boxed(operand)), true),
            NodeKind::Unary(UnaryOp::Not, operand) => (Op::Not(boxed(operand)), true),
            NodeKind::Binary(BinaryOp::And, a, b) => (Op::And(boxed(a), boxed(b)), true),
            NodeKind::Binary(BinaryOp::Or, a, b) => (Op::Or(boxed(a), boxed(b)), true),
            NodeKind::Binary(op, a, b) => {
                let (a, a_known) = down(a);
                let (b, b_known) = down(b);
                // `==` compares any two values: only when neither may be text.
                if matches!(op, BinaryOp::Eq | BinaryOp::Ne) && !(a_known && b_known) {
                    return tree();
                }
                (Op::Binary(*op, Box::new(a), Box::new(b)), true)
            }
            NodeKind::Call(function, args) => {
                (Op::Call(function, args.iter().map(|a| down(a).0).collect()), true)
            }
            NodeKind::Draw(distribution, args) => {
                (Op::Draw(*distribution, args.iter().map(|a| down(a).0).collect()), true)
            }
            NodeKind::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                let (then, then_known) = down(then);
                let (otherwise, otherwise_known) = down(otherwise);
                (Op::If(Box::new([down(cond).0, then, otherwise])), then_known && otherwise_known)
            }
            _ => return tree(),
        };
        (Compiled { op, span: node.span }, known)
    }

    /// The kind of the entity `object` evaluates to, where it is plain.
    fn kind_of(&self, object: &Node) -> Option<u32> {
        match &object.kind {
            NodeKind::Local(i) => self.locals.get(*i as usize).copied().flatten(),
            NodeKind::Const(Value::Entity(e)) => self.ir.layout.get(*e as usize).map(|at| at.kind),
            _ => None,
        }
    }

    fn field_type(&self, kind: u32, field: FieldRef) -> Type {
        let fields = &self.ir.kinds[kind as usize].fields;
        let find = |derived: bool, index: u32| {
            fields.iter().find(|f| f.derived == derived && f.index == index).map_or(Type::Str, |f| f.ty)
        };
        match field {
            FieldRef::Stored(i) => find(false, i),
            FieldRef::Derived(i) => find(true, i),
            FieldRef::Defaulted => Type::Bool,
            FieldRef::DefaultedAt => Type::Number,
        }
    }
}

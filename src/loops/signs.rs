//! Signs of the links of a feedback loop, from the formulas of the program.
//!
//! Two analyses over [`Node`]s, both under the assumptions in the module
//! documentation of `crate::loops`:
//!
//! - `range`: an interval that holds every value an expression can take
//!   (`[0, ∞)` for a stored value), used for the signs of operands;
//! - `mono`: whether an expression increases or decreases in one declaration
//!   (a [`GraphNode`]) that it reads.
//!
//! An entity's kind is known from its binder or its declaration, so
//! `l.cash` with `l: Lessor` reads `Lessor.cash`; `env[i]` is the kind of local
//! `i`, if it is an entity of a known kind.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::range::{ANY, Ext, NON_NEGATIVE, Range, ZERO};
use super::reads::{aggregate_env, derived_field, is_bool, kind_of, reads, rule_env};

use crate::builtins::{Direction, RangeRule};

use crate::ir::*;
use crate::syntax::{AssignOp, BinaryOp, UnaryOp};
use crate::value::Value;

/// A direction (of a link, or of an expression in one of its inputs), or the
/// sign of a value. `Pos` means "up or unchanged" for a direction and "≥ 0"
/// for a value; `Zero` means "no effect" and "exactly 0".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    Zero,
    Pos,
    Neg,
    Unknown,
}

impl Sign {
    /// Both effects together.
    fn plus(self, other: Sign) -> Sign {
        match (self, other) {
            (Sign::Zero, s) | (s, Sign::Zero) => s,
            (a, b) if a == b => a,
            _ => Sign::Unknown,
        }
    }

    fn neg(self) -> Sign {
        match self {
            Sign::Pos => Sign::Neg,
            Sign::Neg => Sign::Pos,
            s => s,
        }
    }

    fn times(self, other: Sign) -> Sign {
        match (self, other) {
            (Sign::Zero, _) | (_, Sign::Zero) => Sign::Zero,
            (Sign::Unknown, _) | (_, Sign::Unknown) => Sign::Unknown,
            (a, b) if a == b => Sign::Pos,
            _ => Sign::Neg,
        }
    }
}

/// The two analyses, with the ranges of params and derived values remembered.
pub(crate) struct Signs<'a> {
    ir: &'a Ir,
    ranges: HashMap<GraphNode, Range>,
    /// Ranges of expression nodes, by address: a node of the program is always
    /// seen with the same locals, so its range is a function of the node, and
    /// remembering it keeps `mono` linear in the size of an expression.
    node_ranges: HashMap<*const Node, Range>,
    /// Signs of (from, rule, to) segments and (from, derived) links.
    segments: HashMap<(GraphNode, Id, GraphNode), (Sign, Sign)>,
    links: HashMap<(GraphNode, GraphNode), Sign>,
    /// The `let` locals of the effects of the rule being looked at, with their values.
    effect_locals: Vec<(u16, &'a Node)>,
}

impl<'a> Signs<'a> {
    pub fn new(ir: &'a Ir) -> Signs<'a> {
        Signs {
            ir,
            ranges: HashMap::new(),
            node_ranges: HashMap::new(),
            segments: HashMap::new(),
            links: HashMap::new(),
            effect_locals: Vec::new(),
        }
    }

    /// The sign of each link of a cycle (`signs[i]` from `members[i]` to the
    /// next), or `None` when a link carries no change, so it is no loop.
    pub fn loop_signs(&mut self, members: &[&GraphNode]) -> Option<Vec<Sign>> {
        let n = members.len();
        let mut signs = vec![Sign::Unknown; n];
        for i in 0..n {
            let (before, here, after) = (members[(i + n - 1) % n], members[i], members[(i + 1) % n]);
            match here {
                GraphNode::Rule(r) => {
                    let (into, out) = self.segment(before, *r, after);
                    signs[(i + n - 1) % n] = into;
                    signs[i] = out;
                }
                GraphNode::Let(_) | GraphNode::Field(_, FieldRef::Derived(_)) => {
                    signs[(i + n - 1) % n] = self.derived_link(before, here);
                }
                _ => {}
            }
        }
        if signs.contains(&Sign::Zero) { None } else { Some(signs) }
    }

    /// How the derived value `d` moves with `x`.
    fn derived_link(&mut self, x: &GraphNode, d: &GraphNode) -> Sign {
        let key = (x.clone(), d.clone());
        if let Some(sign) = self.links.get(&key) {
            return *sign;
        }
        let ir = self.ir;
        let sign = match d {
            GraphNode::Let(l) => ir.lets.get(*l as usize).map(|g| self.mono(&g.expr.node, &[], x)),
            GraphNode::Field(k, FieldRef::Derived(i)) => {
                derived_field(ir, *k, *i).map(|f| self.mono(&f.expr.node, &[Some(*k)], x))
            }
            _ => None,
        }
        .unwrap_or(Sign::Unknown);
        self.links.insert(key, sign);
        sign
    }

    /// The signs of `x → rule` and `rule → y`.
    fn segment(&mut self, x: &GraphNode, r: Id, y: &GraphNode) -> (Sign, Sign) {
        let key = (x.clone(), r, y.clone());
        if let Some(signs) = self.segments.get(&key) {
            return *signs;
        }
        let ir = self.ir;
        let signs = match ir.rules.get(r as usize) {
            Some(rule) => self.rule_segment(rule, x, y),
            None => (Sign::Unknown, Sign::Unknown),
        };
        self.segments.insert(key, signs);
        signs
    }

    fn rule_segment(&mut self, rule: &'a RuleDef, x: &GraphNode, y: &GraphNode) -> (Sign, Sign) {
        let env = rule_env(rule);
        // A local moves as its value does.
        self.effect_locals = rule
            .effects
            .iter()
            .filter_map(|e| match &e.kind {
                EffectKindIr::Let { local, value } => Some((*local, value)),
                _ => None,
            })
            .collect();
        let mut condition = rule.filter.as_ref().map_or(Sign::Zero, |f| self.mono(f, &env, x));
        if let TriggerIr::When(cond) | TriggerIr::While(cond) = &rule.trigger {
            condition = condition.plus(self.mono(cond, &env, x));
        }
        let (mut fire, mut through) = (None, Sign::Zero);
        for effect in &rule.effects {
            self.effect(effect, &env, x, y, &mut fire, &mut through);
        }
        let fire = fire.unwrap_or(Sign::Zero);
        let total = condition.times(fire).plus(through);
        match fire {
            Sign::Pos | Sign::Neg => (total.times(fire), fire),
            _ if total == Sign::Zero => (Sign::Zero, Sign::Zero),
            _ if through == Sign::Zero => (condition, fire),
            _ if condition == Sign::Zero => (through, Sign::Pos),
            _ => (Sign::Unknown, Sign::Unknown),
        }
    }

    /// For an effect that writes `y`: the direction it pushes `y` (`fire`) and
    /// how the new value moves with `x` through its formula (`through`).
    fn effect(
        &mut self,
        effect: &EffectIr,
        env: &[Option<Id>],
        x: &GraphNode,
        y: &GraphNode,
        fire: &mut Option<Sign>,
        through: &mut Sign,
    ) {
        let ir = self.ir;
        let (push, by) = match &effect.kind {
            EffectKindIr::Assign { target, op, value } => {
                let written = match target {
                    TargetIr::Var(v) => Some(GraphNode::Var(*v)),
                    TargetIr::Field { object, field } => {
                        kind_of(ir, object, env).map(|k| GraphNode::Field(k, FieldRef::Stored(*field)))
                    }
                };
                if written.as_ref() != Some(y) {
                    return;
                }
                let by = self.mono(value, env, x);
                match op {
                    AssignOp::Add => (self.assumed_non_negative(value, env), by),
                    AssignOp::Sub => (self.assumed_non_negative(value, env).neg(), by.neg()),
                    AssignOp::Mul => (self.range(value, env).add(Range::point(-Decimal::ONE)).sign(), by),
                    AssignOp::Div => {
                        let factor = self.range(value, env).reciprocal();
                        (factor.add(Range::point(-Decimal::ONE)).sign(), by.neg())
                    }
                    AssignOp::Set => (self.set_direction(value, env), by),
                }
            }
            EffectKindIr::Default(entity) => {
                let GraphNode::Field(k, field @ (FieldRef::Defaulted | FieldRef::DefaultedAt)) = y else {
                    return;
                };
                if kind_of(ir, entity, env).is_some_and(|known| known != *k) {
                    return;
                }
                let push = if *field == FieldRef::Defaulted { Sign::Pos } else { Sign::Unknown };
                (push, Sign::Zero)
            }
            EffectKindIr::Let { .. } => return,
            EffectKindIr::After { delay, effect: inner } => {
                let before = fire.is_some();
                self.effect(inner, env, x, y, fire, through);
                if !before && fire.is_some() && self.mono(delay, env, x) != Sign::Zero {
                    *through = through.plus(Sign::Unknown);
                }
                return;
            }
            EffectKindIr::Emit(_) | EffectKindIr::Stop(_) => return,
        };
        *fire = Some(fire.map_or(push, |old| old.plus(push)));
        *through = through.plus(by);
    }

    /// The direction of `+= value`: up, unless the value is provably `≤ 0`.
    fn assumed_non_negative(&mut self, value: &Node, env: &[Option<Id>]) -> Sign {
        match self.range(value, env).sign() {
            Sign::Zero => Sign::Zero,
            Sign::Neg => Sign::Neg,
            _ => Sign::Pos,
        }
    }

    /// The direction of `target = value`, for a target that was `≥ 0`.
    fn set_direction(&mut self, value: &Node, env: &[Option<Id>]) -> Sign {
        match &value.kind {
            NodeKind::Const(Value::Bool(true)) => Sign::Pos,
            NodeKind::Const(Value::Bool(false)) => Sign::Neg,
            _ => match self.range(value, env).add(NON_NEGATIVE.neg()).sign() {
                Sign::Neg => Sign::Neg,
                _ => Sign::Unknown,
            },
        }
    }

    fn effect_local(&self, local: u16) -> Option<&'a Node> {
        self.effect_locals.iter().find(|(l, _)| *l == local).map(|(_, v)| *v)
    }

    /// How `node` moves with `x`.
    fn mono(&mut self, node: &Node, env: &[Option<Id>], x: &GraphNode) -> Sign {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.mono_inner(node, env, x))
    }

    fn mono_inner(&mut self, node: &Node, env: &[Option<Id>], x: &GraphNode) -> Sign {
        let ir = self.ir;
        match &node.kind {
            NodeKind::Local(i) => match self.effect_local(*i) {
                Some(value) => self.mono(value, env, x),
                None => Sign::Zero,
            },
            NodeKind::Const(_) | NodeKind::ExposureField { .. } => Sign::Zero,
            NodeKind::Param(_)
            | NodeKind::Var(_)
            | NodeKind::Let(_)
            | NodeKind::Series(_)
            | NodeKind::Step
            | NodeKind::Date
            | NodeKind::Field { .. }
            | NodeKind::ExposureLosses(_) => {
                if reads(ir, node, env, x) {
                    Sign::Pos
                } else {
                    Sign::Zero
                }
            }
            // A model's result moves with its inputs in no direction known here.
            NodeKind::Model { .. } => {
                if reads(ir, node, env, x) {
                    Sign::Unknown
                } else {
                    Sign::Zero
                }
            }
            NodeKind::Unary(UnaryOp::Neg | UnaryOp::Not, a) => self.mono(a, env, x).neg(),
            NodeKind::If(branches) => {
                let [cond, then, otherwise] = &**branches;
                let switch = if self.mono(cond, env, x) == Sign::Zero { Sign::Zero } else { Sign::Unknown };
                self.mono(then, env, x).plus(self.mono(otherwise, env, x)).plus(switch)
            }
            NodeKind::Binary(op, a, b) => {
                let (ma, mb) = (self.mono(a, env, x), self.mono(b, env, x));
                match op {
                    BinaryOp::Pow => {
                        if ma == Sign::Zero && mb == Sign::Zero {
                            Sign::Zero
                        } else {
                            Sign::Unknown
                        }
                    }
                    BinaryOp::Add => ma.plus(mb),
                    BinaryOp::Sub => ma.plus(mb.neg()),
                    BinaryOp::Mul | BinaryOp::Div => {
                        let via_a =
                            if ma == Sign::Zero { Sign::Zero } else { ma.times(self.range(b, env).sign()) };
                        let via_b =
                            if mb == Sign::Zero { Sign::Zero } else { mb.times(self.range(a, env).sign()) };
                        if *op == BinaryOp::Mul { via_a.plus(via_b) } else { via_a.plus(via_b.neg()) }
                    }
                    BinaryOp::Lt | BinaryOp::Le => ma.neg().plus(mb),
                    BinaryOp::Gt | BinaryOp::Ge => ma.plus(mb.neg()),
                    BinaryOp::And | BinaryOp::Or => ma.plus(mb),
                    BinaryOp::Eq | BinaryOp::Ne => {
                        if ma == Sign::Zero && mb == Sign::Zero {
                            Sign::Zero
                        } else {
                            Sign::Unknown
                        }
                    }
                }
            }
            NodeKind::Call(function, args) => {
                let monos: Vec<Sign> = args.iter().map(|a| self.mono(a, env, x)).collect();
                let all = monos.iter().fold(Sign::Zero, |acc, m| acc.plus(*m));
                match function.direction {
                    Direction::Increasing => all,
                    Direction::FirstIncreasing => {
                        let others = monos.iter().skip(1).fold(Sign::Zero, |acc, m| {
                            acc.plus(if *m == Sign::Zero { Sign::Zero } else { Sign::Unknown })
                        });
                        monos.first().copied().unwrap_or(Sign::Zero).plus(others)
                    }
                    Direction::Magnitude => match (all, args.first()) {
                        (Sign::Zero, _) | (_, None) => Sign::Zero,
                        (m, Some(a)) => m.times(self.range(a, env).sign()),
                    },
                }
            }
            // A draw moves with its arguments in no known direction.
            NodeKind::Host(_, args) | NodeKind::Draw(_, args) => {
                if args.iter().all(|a| self.mono(a, env, x) == Sign::Zero) {
                    Sign::Zero
                } else {
                    Sign::Unknown
                }
            }
            NodeKind::Aggregate(aggregate) => {
                let inner = aggregate_env(aggregate, env);
                let body = self.mono(&aggregate.body, &inner, x);
                let filter = aggregate.filter.as_ref().map_or(Sign::Zero, |f| self.mono(f, &inner, x));
                match aggregate.func {
                    AggregateFn::Sum => {
                        let more = if filter == Sign::Zero {
                            Sign::Zero
                        } else {
                            filter.times(self.range(&aggregate.body, &inner).sign())
                        };
                        body.plus(more)
                    }
                    AggregateFn::Mean => {
                        body.plus(if filter == Sign::Zero { Sign::Zero } else { Sign::Unknown })
                    }
                    AggregateFn::Count => {
                        let counted = if is_bool(ir, &aggregate.body, &inner) { body } else { Sign::Zero };
                        counted.plus(filter)
                    }
                    AggregateFn::Any | AggregateFn::Max => body.plus(filter),
                    AggregateFn::All | AggregateFn::Min => body.plus(filter.neg()),
                }
            }
            NodeKind::Template(pieces) => {
                let moves = pieces.iter().any(|p| match p {
                    Piece::Expr(n) => self.mono(n, env, x) != Sign::Zero,
                    Piece::Text(_) => false,
                });
                if moves { Sign::Unknown } else { Sign::Zero }
            }
        }
    }

    /// A range that holds every value of `node`.
    fn range(&mut self, node: &Node, env: &[Option<Id>]) -> Range {
        let key: *const Node = node;
        if let Some(range) = self.node_ranges.get(&key) {
            return *range;
        }
        let range = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.range_inner(node, env));
        self.node_ranges.insert(key, range);
        range
    }

    fn range_inner(&mut self, node: &Node, env: &[Option<Id>]) -> Range {
        let ir = self.ir;
        match &node.kind {
            NodeKind::Const(Value::Number(d)) => Range::point(*d),
            NodeKind::Local(i) => match self.effect_local(*i) {
                Some(value) => self.range(value, env),
                None => ANY,
            },
            NodeKind::Const(_) | NodeKind::Date | NodeKind::Template(_) | NodeKind::Model { .. } => ANY,
            NodeKind::Var(_) | NodeKind::Step | NodeKind::ExposureLosses(_) => NON_NEGATIVE,
            NodeKind::Param(p) => self.remembered(GraphNode::Param(*p), |signs| {
                ir.params.get(*p as usize).map_or(ANY, |g| signs.range(&g.expr.node, &[]))
            }),
            NodeKind::Let(l) => self.remembered(GraphNode::Let(*l), |signs| {
                ir.lets.get(*l as usize).map_or(ANY, |g| signs.range(&g.expr.node, &[]))
            }),
            NodeKind::Series(s) => self.remembered(GraphNode::Series(*s), |signs| {
                let points = ir.series.get(*s as usize).map_or(&[][..], |s| &s.points[..]);
                let mut ranges = points.iter().map(|(_, root)| signs.range(&root.node, &[]));
                let first = ranges.next().unwrap_or(ANY);
                ranges.fold(first, Range::hull)
            }),
            NodeKind::Field { object, field } => match field {
                FieldRef::Stored(_) | FieldRef::DefaultedAt => NON_NEGATIVE,
                FieldRef::Defaulted => ANY,
                FieldRef::Derived(i) => match kind_of(ir, object, env) {
                    Some(k) => self.remembered(GraphNode::Field(k, *field), |signs| {
                        derived_field(ir, k, *i).map_or(ANY, |f| signs.range(&f.expr.node, &[Some(k)]))
                    }),
                    None => ANY,
                },
            },
            NodeKind::ExposureField { field, .. } => match field {
                ExposureField::Amount | ExposureField::Recovery => NON_NEGATIVE,
                _ => ANY,
            },
            NodeKind::Unary(UnaryOp::Neg, a) => self.range(a, env).neg(),
            NodeKind::Unary(UnaryOp::Not, _) => ANY,
            NodeKind::If(branches) => {
                let [_, then, otherwise] = &**branches;
                self.range(then, env).hull(self.range(otherwise, env))
            }
            NodeKind::Binary(op, a, b) => match op {
                BinaryOp::Add => self.range(a, env).add(self.range(b, env)),
                BinaryOp::Sub => self.range(a, env).add(self.range(b, env).neg()),
                BinaryOp::Mul => self.range(a, env).mul(self.range(b, env)),
                BinaryOp::Div => self.range(a, env).mul(self.range(b, env).reciprocal()),
                _ => ANY,
            },
            NodeKind::Call(function, args) => {
                let ranges: Vec<Range> = args.iter().map(|a| self.range(a, env)).collect();
                let first = ranges.first().copied().unwrap_or(ANY);
                match function.range {
                    RangeRule::Min => ranges.iter().skip(1).fold(first, |acc, r| acc.min(*r)),
                    RangeRule::Max => ranges.iter().skip(1).fold(first, |acc, r| acc.max(*r)),
                    RangeRule::Clamp => match ranges.as_slice() {
                        [x, lo, hi] => x.max(*lo).min(*hi),
                        _ => ANY,
                    },
                    RangeRule::Abs => match first.sign() {
                        Sign::Zero | Sign::Pos => first,
                        Sign::Neg => first.neg(),
                        Sign::Unknown => Range { lo: ZERO, hi: first.hi.max(first.lo.neg()) },
                    },
                    RangeRule::Floor => {
                        Range { lo: first.lo.map(|d| d.floor()), hi: first.hi.map(|d| d.floor()) }
                    }
                    RangeRule::Ceil => {
                        Range { lo: first.lo.map(|d| d.ceil()), hi: first.hi.map(|d| d.ceil()) }
                    }
                    RangeRule::Outward => {
                        Range { lo: first.lo.map(|d| d.floor()), hi: first.hi.map(|d| d.ceil()) }
                    }
                    RangeRule::Between(lo, hi) => Range { lo: Ext::Fin(lo), hi: Ext::Fin(hi) },
                    RangeRule::Any => ANY,
                }
            }
            NodeKind::Host(..) => ANY,
            NodeKind::Draw(distribution, args) => {
                use crate::random::Distribution as D;
                match distribution {
                    D::Uniform | D::Integer | D::Triangular => match (args.first(), args.last()) {
                        (Some(lo), Some(hi)) => {
                            Range { lo: self.range(lo, env).lo, hi: self.range(hi, env).hi }
                        }
                        _ => ANY,
                    },
                    D::Lognormal | D::Exponential | D::Poisson => NON_NEGATIVE,
                    D::Normal | D::Bernoulli => ANY,
                }
            }
            NodeKind::Aggregate(aggregate) => {
                let inner = aggregate_env(aggregate, env);
                match aggregate.func {
                    AggregateFn::Count => NON_NEGATIVE,
                    AggregateFn::Any | AggregateFn::All => ANY,
                    AggregateFn::Mean | AggregateFn::Min | AggregateFn::Max => {
                        self.range(&aggregate.body, &inner)
                    }
                    AggregateFn::Sum => match self.range(&aggregate.body, &inner).sign() {
                        Sign::Zero => Range::point(Decimal::ZERO),
                        Sign::Pos => NON_NEGATIVE,
                        Sign::Neg => NON_NEGATIVE.neg(),
                        Sign::Unknown => ANY,
                    },
                }
            }
        }
    }

    /// The range of a param or derived value, worked out once.
    fn remembered(&mut self, key: GraphNode, compute: impl FnOnce(&mut Signs<'a>) -> Range) -> Range {
        if let Some(range) = self.ranges.get(&key) {
            return *range;
        }
        // Derived values form no cycles in a checked program; this guards anyway.
        self.ranges.insert(key.clone(), ANY);
        // Another root expression: the locals of the rule's effects are not its own.
        let locals = std::mem::take(&mut self.effect_locals);
        let range = compute(self);
        self.effect_locals = locals;
        self.ranges.insert(key, range);
        range
    }
}

//! What an expression reads, and the kinds of its entities: the reads that
//! make the links of `cascade graph` (as the checker records them), and the
//! facts about a node that the sign analysis needs besides its range (the
//! kind of an entity-valued expression, whether a node is a bool).
//!
//! `env[i]` is the kind of local `i`, if it is an entity of a known kind.

use crate::ir::*;
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::{Type, Value};

/// The kinds of a rule's binders, by local index.
pub(super) fn rule_env(rule: &RuleDef) -> Vec<Option<Id>> {
    rule.binders.iter().map(|(_, kind)| Some(*kind)).collect()
}

/// The kind of an entity-valued expression, when it is known.
pub(super) fn kind_of(ir: &Ir, node: &Node, env: &[Option<Id>]) -> Option<Id> {
    match &node.kind {
        NodeKind::Local(i) => env.get(*i as usize).copied().flatten(),
        NodeKind::Const(Value::Entity(e)) => ir.layout.get(*e as usize).map(|at| at.kind),
        _ => None,
    }
}

/// `env` with local `local` bound to an entity of `kind`.
fn bind(env: &[Option<Id>], local: u16, kind: Option<Id>) -> Vec<Option<Id>> {
    let mut inner = env.to_vec();
    let i = local as usize;
    if inner.len() <= i {
        inner.resize(i + 1, None);
    }
    inner[i] = kind;
    inner
}

/// `env` inside an aggregate: its variable is an entity of the kind it ranges over.
pub(super) fn aggregate_env(aggregate: &AggregateIr, env: &[Option<Id>]) -> Vec<Option<Id>> {
    let kind = match &aggregate.source {
        AggregateSource::Kind(k) => Some(*k),
        _ => None,
    };
    bind(env, aggregate.local, kind)
}

/// Whether the leaf `node` reads the declaration `x`.
pub(super) fn reads(ir: &Ir, node: &Node, env: &[Option<Id>], x: &GraphNode) -> bool {
    match (&node.kind, x) {
        (NodeKind::Param(a), GraphNode::Param(b))
        | (NodeKind::Var(a), GraphNode::Var(b))
        | (NodeKind::Let(a), GraphNode::Let(b))
        | (NodeKind::Series(a), GraphNode::Series(b)) => a == b,
        (NodeKind::Step | NodeKind::Date, GraphNode::Time) => true,
        (NodeKind::Field { object, field }, GraphNode::Field(k, f)) => {
            field == f && kind_of(ir, object, env).is_none_or(|known| known == *k)
        }
        (NodeKind::ExposureLosses(_), GraphNode::Field(_, FieldRef::Defaulted)) => true,
        _ => false,
    }
}

/// Adds every declaration that `node` reads, as the checker records them.
/// The leaves and the nodes that read something themselves are matched here;
/// every node's children are then visited through `Node::for_each_child_scoped`.
pub(super) fn collect_reads(
    ir: &Ir,
    node: &Node,
    env: &[Option<Id>],
    out: &mut std::collections::HashSet<GraphNode>,
) {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
        match &node.kind {
            NodeKind::Param(p) => {
                out.insert(GraphNode::Param(*p));
            }
            NodeKind::Var(v) => {
                out.insert(GraphNode::Var(*v));
            }
            NodeKind::Let(l) => {
                out.insert(GraphNode::Let(*l));
            }
            NodeKind::Series(s) => {
                out.insert(GraphNode::Series(*s));
            }
            NodeKind::Step | NodeKind::Date => {
                out.insert(GraphNode::Time);
            }
            NodeKind::Field { object, field } => match kind_of(ir, object, env) {
                Some(k) => {
                    out.insert(GraphNode::Field(k, *field));
                }
                None => {
                    for k in 0..ir.kinds.len() {
                        out.insert(GraphNode::Field(k as Id, *field));
                    }
                }
            },
            NodeKind::ExposureLosses(_) => {
                for k in 0..ir.kinds.len() {
                    out.insert(GraphNode::Field(k as Id, FieldRef::Defaulted));
                }
            }
            NodeKind::Model { model, .. } => {
                if let Some(def) = ir.models.get(*model as usize) {
                    for field in def.spec.fields() {
                        out.insert(GraphNode::Field(def.kind, *field));
                    }
                }
            }
            // Read nothing themselves; their children are visited below.
            NodeKind::Const(_)
            | NodeKind::Local(_)
            | NodeKind::ExposureField { .. }
            | NodeKind::Unary(..)
            | NodeKind::Binary(..)
            | NodeKind::If(_)
            | NodeKind::Call(..)
            | NodeKind::Draw(..)
            | NodeKind::Host(..)
            | NodeKind::Aggregate(_)
            | NodeKind::Template(_) => {}
        }
        node.for_each_child_scoped(|child, scope| match scope {
            Scope::Same => collect_reads(ir, child, env, out),
            Scope::Binds(aggregate) => collect_reads(ir, child, &aggregate_env(aggregate, env), out),
        });
    })
}

pub(super) fn derived_field(ir: &Ir, kind: Id, index: u32) -> Option<&FieldDef> {
    ir.kinds.get(kind as usize)?.fields.iter().find(|f| f.derived && f.index == index)
}

/// Whether `node` is a bool, as far as it can be told without the checker.
pub(super) fn is_bool(ir: &Ir, node: &Node, env: &[Option<Id>]) -> bool {
    match &node.kind {
        NodeKind::Const(Value::Bool(_)) | NodeKind::Unary(UnaryOp::Not, _) => true,
        NodeKind::Binary(op, ..) => {
            !matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Pow)
        }
        NodeKind::If(branches) => is_bool(ir, &branches[1], env),
        NodeKind::Aggregate(a) => matches!(a.func, AggregateFn::Any | AggregateFn::All),
        NodeKind::Param(i) => ir.params.get(*i as usize).is_some_and(|g| g.ty == Type::Bool),
        NodeKind::Var(i) => ir.vars.get(*i as usize).is_some_and(|g| g.ty == Type::Bool),
        NodeKind::Let(i) => ir.lets.get(*i as usize).is_some_and(|g| g.ty == Type::Bool),
        NodeKind::Field { object, field } => match field {
            FieldRef::Defaulted => true,
            FieldRef::DefaultedAt => false,
            FieldRef::Stored(i) | FieldRef::Derived(i) => {
                let derived = matches!(field, FieldRef::Derived(_));
                kind_of(ir, object, env)
                    .and_then(|k| ir.kinds.get(k as usize))
                    .and_then(|kind| kind.fields.iter().find(|f| f.derived == derived && f.index == *i))
                    .is_some_and(|f| f.ty == Type::Bool)
            }
        },
        _ => false,
    }
}

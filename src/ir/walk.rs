//! The walkers over the IR: the one list of an expression node's children
//! (`Node::for_each_child`) and of an effect's expressions
//! (`EffectIr::for_each_node`), the questions answered with them, and the
//! reads of derived values through the dependency graph (`derived_reads`,
//! `expand_reads`, used by the checker and by `eval::lint`).

use std::collections::{HashMap, HashSet};

use super::*;

impl Ir {
    /// True if a run's start draws random numbers (uncertain params, draws in
    /// initial values): the initial state then differs between paths.
    pub fn draws_at_start(&self) -> bool {
        self.params.iter().any(|p| p.uncertain.is_some())
            || self.vars.iter().any(|v| v.expr.node.contains_draw())
            || self.kinds.iter().flat_map(|k| &k.fields).any(|f| !f.derived && f.expr.node.contains_draw())
            || self.entities.iter().flat_map(|e| &e.inits).any(Init::contains_draw)
    }
}

impl Node {
    /// Calls `f` on each direct child of this node, in evaluation order: the
    /// one walker over expression nodes. The match is exhaustive on purpose: a
    /// new variant of `NodeKind` is a compile error here, and every analysis
    /// built on this walker then sees its children.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Node)) {
        self.for_each_child_scoped(|child, _| f(child))
    }

    /// [`Node::for_each_child`], also saying for each child whether it is
    /// evaluated with an aggregate's variable bound (the filter and the body
    /// of `sum(... for x in ...)`), for analyses that track what locals mean.
    pub fn for_each_child_scoped<'a>(&'a self, mut f: impl FnMut(&'a Node, Scope<'a>)) {
        match &self.kind {
            NodeKind::Const(_)
            | NodeKind::Param(_)
            | NodeKind::Var(_)
            | NodeKind::Let(_)
            | NodeKind::Series(_)
            | NodeKind::Step
            | NodeKind::Date
            | NodeKind::Local(_) => {}
            NodeKind::Field { object, .. }
            | NodeKind::ExposureField { object, .. }
            | NodeKind::Unary(_, object)
            | NodeKind::ExposureLosses(object)
            | NodeKind::Model { object: Some(object), .. } => f(object, Scope::Same),
            NodeKind::Model { object: None, .. } => {}
            NodeKind::Binary(_, a, b) => {
                f(a, Scope::Same);
                f(b, Scope::Same);
            }
            NodeKind::Call(_, args) | NodeKind::Draw(_, args) | NodeKind::Host(_, args) => {
                args.iter().for_each(|arg| f(arg, Scope::Same))
            }
            NodeKind::Aggregate(a) => {
                match &a.source {
                    AggregateSource::Kind(_) => {}
                    AggregateSource::ExposuresOf(n) | AggregateSource::ExposuresTo(n) => f(n, Scope::Same),
                }
                if let Some(filter) = &a.filter {
                    f(filter, Scope::Binds(a));
                }
                f(&a.body, Scope::Binds(a));
            }
            NodeKind::If(branches) => branches.iter().for_each(|branch| f(branch, Scope::Same)),
            NodeKind::Template(pieces) => Piece::for_each_node(pieces, |n| f(n, Scope::Same)),
        }
    }

    /// True if this node or any node under it satisfies `pred`.
    pub fn any(&self, pred: &mut impl FnMut(&Node) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let mut found = false;
        self.for_each_child(|child| found = found || child.any(pred));
        found
    }

    /// True if evaluating this node may draw a random number.
    pub fn contains_draw(&self) -> bool {
        self.any(&mut |n| matches!(n.kind, NodeKind::Draw(..)))
    }
}

/// Where a child stands, as [`Node::for_each_child_scoped`] tells it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    /// Evaluated with the same locals as its parent.
    Same,
    /// Evaluated with this aggregate's variable bound (its filter and body).
    Binds(&'a AggregateIr),
}

impl Piece {
    /// Calls `f` on the expression of each interpolated piece.
    pub fn for_each_node<'a>(pieces: &'a [Piece], mut f: impl FnMut(&'a Node)) {
        for piece in pieces {
            match piece {
                Piece::Text(_) => {}
                Piece::Expr(node) => f(node),
            }
        }
    }
}

/// Where an expression of an effect stands, for walkers that treat the text
/// of messages apart (`cascade graph` draws message reads as their own links).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EffectPart {
    /// A value, a target's entity, a defaulted entity, a delay.
    Body,
    /// A piece of an `emit` or `stop` message.
    Message,
}

impl EffectIr {
    /// Calls `f` on each expression of this effect (an assignment's target
    /// object and value, a `default`'s entity, a message's pieces, an
    /// `after`'s delay) and, for an `after`, of the effect it delays: the one
    /// walker over effects, exhaustive like `Node::for_each_child`.
    pub fn for_each_node<'a>(&'a self, f: &mut impl FnMut(&'a Node, EffectPart)) {
        match &self.kind {
            EffectKindIr::Assign { target, value, .. } => {
                match target {
                    TargetIr::Var(_) => {}
                    TargetIr::Field { object, .. } => f(object, EffectPart::Body),
                }
                f(value, EffectPart::Body);
            }
            EffectKindIr::Default(node) | EffectKindIr::Let { value: node, .. } => f(node, EffectPart::Body),
            EffectKindIr::Emit(pieces) | EffectKindIr::Stop(pieces) => {
                Piece::for_each_node(pieces, |n| f(n, EffectPart::Message))
            }
            EffectKindIr::After { delay, effect } => {
                f(delay, EffectPart::Body);
                effect.for_each_node(f);
            }
        }
    }
}

/// What each derived value reads directly.
pub(crate) fn derived_reads(graph: &DependencyGraph) -> HashMap<GraphNode, Vec<GraphNode>> {
    let g = &graph.graph;
    let mut map: HashMap<GraphNode, Vec<GraphNode>> = HashMap::new();
    for n in g.node_indices() {
        let node = &g[n];
        if matches!(node, GraphNode::Let(_) | GraphNode::Field(_, FieldRef::Derived(_))) {
            let reads =
                g.neighbors_directed(n, petgraph::Direction::Incoming).map(|m| g[m].clone()).collect();
            map.insert(node.clone(), reads);
        }
    }
    map
}

/// Reads through derived values, down to stored values, series, params and time.
pub(crate) fn expand_reads(
    reads: &[GraphNode],
    derived: &HashMap<GraphNode, Vec<GraphNode>>,
) -> HashSet<GraphNode> {
    let mut seen: HashSet<GraphNode> = HashSet::new();
    let mut stack: Vec<GraphNode> = reads.to_vec();
    while let Some(node) = stack.pop() {
        if !seen.insert(node.clone()) {
            continue;
        }
        if let Some(inner) = derived.get(&node) {
            stack.extend(inner.iter().cloned());
        }
    }
    seen
}

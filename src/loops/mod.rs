//! `cascade graph`: the dependency graph of a program and its feedback loops.
//!
//! The checker builds the graph at the level of declarations, not entities:
//! one node per param, var, `let`, series, kind field (`Lessor.cash` stands for
//! the `cash` of every `Lessor`), one for time (`step`/`date`) and one per rule.
//! An edge runs from what is read to who reads it (a derived value or a rule)
//! and from a rule to what it writes. This module draws that graph as text,
//! Graphviz DOT or Mermaid, and lists its **feedback loops**: the elementary
//! cycles (no member twice) that go through at least one rule.
//!
//! A read that appears only in the text of an `emit` or a `stop` is drawn (as a
//! "mention") but cannot carry a change, so it makes no loop.
//!
//! # Polarity
//!
//! Each link of a loop gets a sign: `+` when an increase of one member moves the
//! next one up, `−` when it moves it down, `?` when that cannot be told from the
//! formulas. A loop with an even number of `−` links is *reinforcing* (a change
//! feeds on itself: the price → collateral → forced-sale spiral), with an odd
//! number *balancing* (a change damps itself), and with any `?` link *unknown*.
//! Bools count `false < true`, so `default(l)` raises `Lessor.defaulted`, and
//! `where not l.defaulted` makes a rule fire less as defaults rise.
//!
//! The signs come from the formulas, read as follows.
//!
//! - Into a derived value: whether its formula increases or decreases in the
//!   member (`ltv = debt / collateral` increases in `debt`, decreases in
//!   `collateral`); `min`, `max`, `clamp`, rounding, `sum`, comparisons, `and`,
//!   `or` and `not` have their usual directions, `==`, `!=` and host functions
//!   have none (`?`).
//! - Into a rule, through its condition (`where` and `when`/`while`): `price <
//!   loss_line` fires on a *decrease* of price (`−`), `ltv > trigger` on an
//!   increase (`+`). Out of the rule, the direction its effect pushes the target:
//!   `+=` up, `-=` down, `*= f` and `/= f` by whether `f` is above or below 1
//!   (`price *= 1 - 15%` is down), `x = 0` and `flag = false` down, `flag = true`
//!   and `default(e)` up, any other `=` `?`.
//! - Into a rule through the formula of an effect (`l.cash -= l.debt - 50% *
//!   l.collateral` reads `collateral`): the direction in which the member moves
//!   the target through that formula; the link into the rule then carries the
//!   sign that makes the rule push harder (`+`) or softer (`−`), and the link out
//!   of it the rule's direction. A member read both ways must agree, or the link
//!   is `?`. A member read only by another effect of the rule carries no change
//!   to this target, and such a path is not a loop.
//!
//! # Assumptions
//!
//! Signs of operands matter (`a * b` increases in `a` only if `b ≥ 0`); they are
//! worked out with interval arithmetic under these assumptions, which hold for
//! the balance-sheet quantities the language is made for:
//!
//! - every var and stored field, every exposure amount, `step` and
//!   `defaulted_at` is non-negative; params keep the sign of their declared
//!   value; a series stays within the range of its points; a derived value is
//!   whatever its formula makes of these;
//! - the right side of `+=` and `-=` is non-negative unless it is provably
//!   negative, so that `cash -= payment` lowers cash even when the payment's
//!   sign depends on the rule's condition;
//! - a condition that becomes true more easily makes its rule act more; `after`
//!   delays do not change a direction, but a member read by a delay gives `?`.
//!
//! A `+` or `−` is therefore a statement about the formulas under these
//! assumptions, not about a particular run: `cash += margin` counts as raising
//! cash even in the months when the margin is negative.
//!
//! # Enumeration
//!
//! Loops are found with Johnson's algorithm (1975), which takes time linear in
//! the size of the graph per loop found; the enumeration stops after
//! [`MAX_FEEDBACK_LOOPS`] loops and says so. Each loop starts at its first
//! member in the order the graph is listed (vars, then derived values, then
//! kind fields, then rules), and the loops are listed shortest first.

mod cycles;
mod range;
mod reads;
mod render;
mod signs;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use petgraph::graph::NodeIndex;

use crate::engine::Program;
use crate::ir::{EdgeKind, EffectPart, FieldRef, GraphNode, Id, Ir, Node, TriggerIr};

use signs::{Sign, Signs};

/// The most feedback loops that [`Program::feedback_loops`] lists before it
/// stops looking (and sets [`FeedbackLoops::capped`]).
pub const MAX_FEEDBACK_LOOPS: usize = 10_000;

/// How [`Program::graph`] draws the dependency graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GraphFormat {
    /// Plain text for the terminal: the values, what each derived value and
    /// rule reads and writes, then the feedback loops.
    #[default]
    Text,
    /// Graphviz DOT (`dot -Tsvg`), with the feedback loops as comments.
    Dot,
    /// A Mermaid flowchart to paste into Markdown, with the loops as comments.
    Mermaid,
}

impl GraphFormat {
    /// The name used on the command line: `text`, `dot` or `mermaid`.
    pub fn name(self) -> &'static str {
        match self {
            GraphFormat::Text => "text",
            GraphFormat::Dot => "dot",
            GraphFormat::Mermaid => "mermaid",
        }
    }
}

impl FromStr for GraphFormat {
    type Err = String;

    /// Parses `text`, `dot` or `mermaid`; the error says which names exist.
    fn from_str(text: &str) -> Result<GraphFormat, String> {
        match text {
            "text" => Ok(GraphFormat::Text),
            "dot" => Ok(GraphFormat::Dot),
            "mermaid" => Ok(GraphFormat::Mermaid),
            other => Err(format!("unknown graph format `{other}`: use `text`, `dot` or `mermaid`")),
        }
    }
}

/// Whether a feedback loop amplifies or damps a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Polarity {
    /// An even number of negative links: a change feeds on itself.
    Reinforcing,
    /// An odd number of negative links: a change damps itself.
    Balancing,
    /// Some link's sign cannot be told from the formulas.
    Unknown,
}

impl fmt::Display for Polarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Polarity::Reinforcing => "reinforcing",
            Polarity::Balancing => "balancing",
            Polarity::Unknown => "unknown",
        })
    }
}

/// The sign of one link of a feedback loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkSign {
    /// An increase of the first member moves the second up.
    Positive,
    /// An increase of the first member moves the second down.
    Negative,
    /// The direction cannot be told from the formulas.
    Unknown,
}

impl LinkSign {
    /// `+`, `−` or `?`.
    pub fn symbol(self) -> &'static str {
        match self {
            LinkSign::Positive => "+",
            LinkSign::Negative => "−",
            LinkSign::Unknown => "?",
        }
    }
}

/// A feedback loop: a cycle of the dependency graph through at least one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackLoop {
    /// The members in order, each once: params, vars, lets, kind fields
    /// (`Lessor.cash`) and rules (`margin_call`, `rule at line 31`). The last
    /// member links back to the first.
    pub path: Vec<String>,
    /// `signs[i]` is the sign of the link from `path[i]` to the next member
    /// (to `path[0]` for the last one).
    pub signs: Vec<LinkSign>,
    /// Reinforcing, balancing or unknown, from the signs.
    pub polarity: Polarity,
}

impl FeedbackLoop {
    /// The links of the given sign, as `(from, to)` member names.
    pub fn links(&self, sign: LinkSign) -> Vec<(&str, &str)> {
        let n = self.path.len();
        (0..n)
            .filter(|i| self.signs.get(*i) == Some(&sign))
            .map(|i| (self.path[i].as_str(), self.path[(i + 1) % n].as_str()))
            .collect()
    }
}

impl fmt::Display for FeedbackLoop {
    /// `h100_price → deflation → h100_price`: the path, closed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.path {
            write!(f, "{name} → ")?;
        }
        f.write_str(self.path.first().map_or("", String::as_str))
    }
}

/// The feedback loops of a program, shortest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackLoops {
    /// The loops found.
    pub loops: Vec<FeedbackLoop>,
    /// True when the enumeration stopped early: it found the limit's worth of
    /// loops and one more (or examined ten times the limit's worth of cycles,
    /// most of them carrying no change), so the graph may have more loops.
    pub capped: bool,
}

impl FeedbackLoops {
    /// How many loops have the given polarity.
    pub fn count(&self, polarity: Polarity) -> usize {
        self.loops.iter().filter(|l| l.polarity == polarity).count()
    }
}

impl Program {
    /// The dependency graph at the level of declarations, with its feedback
    /// loops, drawn in the given format.
    ///
    /// ```
    /// use cascade::{Engine, GraphFormat};
    ///
    /// let program = Engine::new().compile(
    ///     "var price = 2\nwhile price > 1 then price -= 0.25",
    ///     "drift.cascade",
    /// )?;
    /// let text = program.graph(GraphFormat::Text);
    /// assert!(text.contains("1. balancing    price → rule at line 2 → price"));
    /// assert!(program.graph(GraphFormat::Dot).starts_with("// "));
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn graph(&self, format: GraphFormat) -> String {
        let view = GraphView::new(&self.inner.ir);
        let loops = view.feedback_loops(MAX_FEEDBACK_LOOPS);
        match format {
            GraphFormat::Text => render::text(&view, &loops),
            GraphFormat::Dot => render::dot(&view, &loops),
            GraphFormat::Mermaid => render::mermaid(&view, &loops),
        }
    }

    /// The feedback loops of the dependency graph with their polarities,
    /// shortest first; at most [`MAX_FEEDBACK_LOOPS`].
    ///
    /// ```
    /// use cascade::{Engine, Polarity};
    ///
    /// let program = Engine::new().compile(
    ///     "var price = 2\nvar sold = 0\n\
    ///      when price < 1.5 then sold += 10\n\
    ///      while sold > 0 then price *= 99%",
    ///     "spiral.cascade",
    /// )?;
    /// let found = program.feedback_loops();
    /// assert_eq!(found.loops.len(), 1);
    /// let spiral = &found.loops[0];
    /// assert_eq!(spiral.to_string(), "price → rule at line 3 → sold → rule at line 4 → price");
    /// assert_eq!(spiral.polarity, Polarity::Reinforcing);
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn feedback_loops(&self) -> FeedbackLoops {
        self.feedback_loops_up_to(MAX_FEEDBACK_LOOPS)
    }

    /// Like [`Program::feedback_loops`], but stops after `limit` loops.
    pub fn feedback_loops_up_to(&self, limit: usize) -> FeedbackLoops {
        GraphView::new(&self.inner.ir).feedback_loops(limit)
    }
}

/// How an edge of the graph is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeClass {
    /// A derived value or a rule reads the value.
    Reads,
    /// A rule names the value only in the text of an `emit` or `stop`.
    Mentions,
    /// A rule writes the value.
    Writes,
}

/// Where a node is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Param,
    Series,
    Time,
    Var,
    Let,
    /// A field of the kind with this id.
    Field(Id),
    Rule,
}

/// The checker's graph with names, a listing order and edge classes.
pub(crate) struct GraphView<'a> {
    pub ir: &'a Ir,
    /// Graph nodes in listing order.
    pub order: Vec<NodeIndex>,
    /// `rank[n.index()]`: the position of node `n` in `order`.
    pub rank: Vec<usize>,
    /// `names[n.index()]`: how node `n` is written.
    pub names: Vec<String>,
    /// Every edge, as (from, to, class), in the order the checker added them.
    pub edges: Vec<(NodeIndex, NodeIndex, EdgeClass)>,
    /// `incoming[n.index()]`: the edges into `n`, in the same order.
    incoming: Vec<Vec<(NodeIndex, EdgeClass)>>,
    /// `outgoing[n.index()]`: the edges out of `n`, in the same order.
    outgoing: Vec<Vec<(NodeIndex, EdgeClass)>>,
}

impl<'a> GraphView<'a> {
    pub fn new(ir: &'a Ir) -> GraphView<'a> {
        let graph = &ir.graph.graph;
        let names: Vec<String> = graph.node_indices().map(|n| node_name(ir, &graph[n])).collect();
        let mut order: Vec<NodeIndex> = graph.node_indices().collect();
        order.sort_by_key(|n| sort_key(ir, &graph[*n]));
        let mut rank = vec![0; graph.node_count()];
        for (position, n) in order.iter().enumerate() {
            rank[n.index()] = position;
        }
        // What each rule reads outside and inside the text of its messages.
        let mut rule_reads: HashMap<Id, (HashSet<GraphNode>, HashSet<GraphNode>)> = HashMap::new();
        let mut edges = Vec::with_capacity(graph.edge_count());
        let mut incoming = vec![Vec::new(); graph.node_count()];
        let mut outgoing = vec![Vec::new(); graph.node_count()];
        // Edge indices follow the order the checker added the edges in.
        for e in graph.edge_indices() {
            let Some((from, to)) = graph.edge_endpoints(e) else { continue };
            let class = match (graph[e], &graph[to]) {
                (EdgeKind::Writes, _) => EdgeClass::Writes,
                (EdgeKind::Reads, GraphNode::Rule(r)) => {
                    let (body, messages) = rule_reads
                        .entry(*r)
                        .or_insert_with(|| (rule_body_reads(ir, *r), rule_message_reads(ir, *r)));
                    if !body.contains(&graph[from]) && messages.contains(&graph[from]) {
                        EdgeClass::Mentions
                    } else {
                        EdgeClass::Reads
                    }
                }
                (EdgeKind::Reads, _) => EdgeClass::Reads,
            };
            edges.push((from, to, class));
            incoming[to.index()].push((from, class));
            outgoing[from.index()].push((to, class));
        }
        GraphView { ir, order, rank, names, edges, incoming, outgoing }
    }

    pub fn group(&self, n: NodeIndex) -> Group {
        group_of(&self.ir.graph.graph[n])
    }

    pub fn node(&self, n: NodeIndex) -> &GraphNode {
        &self.ir.graph.graph[n]
    }

    /// The edges into `n` in the order the checker added them.
    pub fn incoming(&self, n: NodeIndex) -> impl Iterator<Item = (NodeIndex, EdgeClass)> + '_ {
        self.incoming.get(n.index()).into_iter().flatten().copied()
    }

    /// The nodes a rule writes, in the order the checker added them.
    pub fn writes(&self, n: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        let out = self.outgoing.get(n.index()).into_iter().flatten();
        out.filter(|(_, class)| *class == EdgeClass::Writes).map(|(to, _)| *to)
    }

    /// Up to `limit` feedback loops, shortest first.
    pub fn feedback_loops(&self, limit: usize) -> FeedbackLoops {
        let graph = &self.ir.graph.graph;
        let count = self.order.len();
        let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (from, to, class) in &self.edges {
            if *class != EdgeClass::Mentions {
                adjacency[self.rank[from.index()]].push(self.rank[to.index()]);
            }
        }
        for successors in &mut adjacency {
            successors.sort_unstable();
            successors.dedup();
        }
        let mut signs = Signs::new(self.ir);
        let mut loops: Vec<(Vec<usize>, Vec<Sign>)> = Vec::new();
        // Cycles dropped because a link carries no change still cost time: stop
        // looking after this many in all.
        let budget = limit.saturating_mul(10).max(1000);
        let mut examined = 0usize;
        let mut capped = false;
        cycles::elementary_cycles(&adjacency, &mut |cycle: &[usize]| {
            if examined == budget {
                capped = true;
                return false;
            }
            examined += 1;
            let members: Vec<&GraphNode> = cycle.iter().map(|r| &graph[self.order[*r]]).collect();
            if let Some(link_signs) = signs.loop_signs(&members) {
                if loops.len() == limit {
                    capped = true;
                    return false;
                }
                loops.push((cycle.to_vec(), link_signs));
            }
            true
        });
        loops.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        let loops = loops
            .into_iter()
            .map(|(cycle, link_signs)| {
                let path = cycle.iter().map(|r| self.names[self.order[*r].index()].clone()).collect();
                let signs: Vec<LinkSign> = link_signs
                    .iter()
                    .map(|s| match s {
                        Sign::Pos => LinkSign::Positive,
                        Sign::Neg => LinkSign::Negative,
                        _ => LinkSign::Unknown,
                    })
                    .collect();
                let polarity = if signs.contains(&LinkSign::Unknown) {
                    Polarity::Unknown
                } else if signs.iter().filter(|s| **s == LinkSign::Negative).count() % 2 == 0 {
                    Polarity::Reinforcing
                } else {
                    Polarity::Balancing
                };
                FeedbackLoop { path, signs, polarity }
            })
            .collect();
        FeedbackLoops { loops, capped }
    }
}

fn group_of(node: &GraphNode) -> Group {
    match node {
        GraphNode::Param(_) => Group::Param,
        GraphNode::Series(_) => Group::Series,
        GraphNode::Time => Group::Time,
        GraphNode::Var(_) => Group::Var,
        GraphNode::Let(_) => Group::Let,
        GraphNode::Field(k, _) => Group::Field(*k),
        GraphNode::Rule(_) => Group::Rule,
    }
}

/// The listing order: params, series, time, vars, lets, each kind's fields in
/// declaration order (then `defaulted`, `defaulted_at`), rules.
fn sort_key(ir: &Ir, node: &GraphNode) -> (Group, usize) {
    let within = match node {
        GraphNode::Param(i)
        | GraphNode::Series(i)
        | GraphNode::Var(i)
        | GraphNode::Let(i)
        | GraphNode::Rule(i) => *i as usize,
        GraphNode::Time => 0,
        GraphNode::Field(k, field) => {
            let fields = ir.kinds.get(*k as usize).map_or(&[][..], |kind| &kind.fields[..]);
            match field {
                FieldRef::Stored(i) => fields.iter().position(|f| !f.derived && f.index == *i),
                FieldRef::Derived(i) => fields.iter().position(|f| f.derived && f.index == *i),
                FieldRef::Defaulted => Some(fields.len()),
                FieldRef::DefaultedAt => Some(fields.len() + 1),
            }
            .unwrap_or(usize::MAX)
        }
    };
    (group_of(node), within)
}

/// How a node is written: `h100_price`, `Lessor.cash`, `margin_call`.
pub(crate) fn node_name(ir: &Ir, node: &GraphNode) -> String {
    let global = |list: &[crate::ir::Global], i: Id| list.get(i as usize).map(|g| g.name.clone());
    let name = match node {
        GraphNode::Param(i) => global(&ir.params, *i),
        GraphNode::Var(i) => global(&ir.vars, *i),
        GraphNode::Let(i) => global(&ir.lets, *i),
        GraphNode::Series(i) => ir.series.get(*i as usize).map(|s| s.name.clone()),
        GraphNode::Time => Some(String::from("step")),
        GraphNode::Rule(r) => ir.rules.get(*r as usize).map(|r| r.label.clone()),
        GraphNode::Field(k, field) => ir.kinds.get(*k as usize).map(|kind| {
            let name = match field {
                FieldRef::Defaulted => "defaulted",
                FieldRef::DefaultedAt => "defaulted_at",
                FieldRef::Stored(i) => {
                    kind.fields.iter().find(|f| !f.derived && f.index == *i).map_or("?", |f| f.name.as_str())
                }
                FieldRef::Derived(i) => {
                    kind.fields.iter().find(|f| f.derived && f.index == *i).map_or("?", |f| f.name.as_str())
                }
            };
            format!("{}.{name}", kind.name)
        }),
    };
    name.unwrap_or_else(|| String::from("?"))
}

/// What a rule reads outside the text of its messages.
fn rule_body_reads(ir: &Ir, rule: Id) -> HashSet<GraphNode> {
    let mut reads = HashSet::new();
    let Some(def) = ir.rules.get(rule as usize) else { return reads };
    let env = reads::rule_env(def);
    let mut visit = |node: &Node| reads::collect_reads(ir, node, &env, &mut reads);
    if let Some(filter) = &def.filter {
        visit(filter);
    }
    if let TriggerIr::When(cond) | TriggerIr::While(cond) = &def.trigger {
        visit(cond);
    }
    for e in &def.effects {
        e.for_each_node(&mut |node, part| {
            if part == EffectPart::Body {
                visit(node);
            }
        });
    }
    reads
}

/// What a rule reads in the text of its `emit` and `stop` messages.
fn rule_message_reads(ir: &Ir, rule: Id) -> HashSet<GraphNode> {
    let mut reads = HashSet::new();
    let Some(def) = ir.rules.get(rule as usize) else { return reads };
    let env = reads::rule_env(def);
    for e in &def.effects {
        e.for_each_node(&mut |node, part| {
            if part == EffectPart::Message {
                reads::collect_reads(ir, node, &env, &mut reads);
            }
        });
    }
    reads
}

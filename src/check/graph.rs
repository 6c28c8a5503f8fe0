//! The dependency graph, cycles of derived values, the rule schedule and the
//! warnings that need the whole program.

use std::collections::{BinaryHeap, HashMap, HashSet};

// `kosaraju_scc` rather than `tarjan_scc`: petgraph's Tarjan recurses once per
// node of a path, and a chain of ten thousand derived values overflows the stack.
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::codes;
use crate::diagnostic::Problem;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::AssignOp;

use super::Checker;

impl<'a> Checker<'a> {
    /// The declaration-level graph: an edge from what is read to who reads it,
    /// and from a rule to what it writes.
    pub(super) fn build_graph(&mut self) -> DependencyGraph {
        let mut graph: DiGraph<GraphNode, EdgeKind> = DiGraph::new();
        let mut index: HashMap<GraphNode, NodeIndex> = HashMap::new();
        let mut add = |graph: &mut DiGraph<GraphNode, EdgeKind>, node: GraphNode| {
            *index.entry(node.clone()).or_insert_with(|| graph.add_node(node))
        };
        for p in 0..self.params.len() {
            add(&mut graph, GraphNode::Param(p as Id));
        }
        for v in 0..self.vars.len() {
            add(&mut graph, GraphNode::Var(v as Id));
        }
        for s in 0..self.series.len() {
            add(&mut graph, GraphNode::Series(s as Id));
        }
        let mut derived: Vec<(GraphNode, Vec<GraphNode>)> = Vec::new();
        for (l, slot) in self.lets.iter().enumerate() {
            derived.push((GraphNode::Let(l as Id), slot.reads.clone()));
        }
        for (k, kind) in self.kinds.iter().enumerate() {
            for field in &kind.fields {
                let node = if field.ast.derived {
                    GraphNode::Field(k as Id, FieldRef::Derived(field.index))
                } else {
                    GraphNode::Field(k as Id, FieldRef::Stored(field.index))
                };
                add(&mut graph, node.clone());
                if field.ast.derived {
                    derived.push((node, field.reads.clone()));
                }
            }
        }
        for (node, reads) in &derived {
            let to = add(&mut graph, node.clone());
            for read in reads {
                let from = add(&mut graph, read.clone());
                graph.update_edge(from, to, EdgeKind::Reads);
            }
        }
        for (r, (_, reads, writes)) in self.rules.iter().enumerate() {
            let rule = add(&mut graph, GraphNode::Rule(r as Id));
            for read in reads {
                let from = add(&mut graph, read.clone());
                graph.update_edge(from, rule, EdgeKind::Reads);
            }
            for (write, _, _) in writes {
                let to = add(&mut graph, write.clone());
                graph.update_edge(rule, to, EdgeKind::Writes);
            }
        }
        self.check_derived_cycles(&graph, &derived);
        DependencyGraph { graph }
    }

    /// A cycle made only of derived values has no solution: report each one
    /// with every member labelled.
    fn check_derived_cycles(
        &mut self,
        graph: &DiGraph<GraphNode, EdgeKind>,
        derived: &[(GraphNode, Vec<GraphNode>)],
    ) {
        let is_derived: HashSet<&GraphNode> = derived.iter().map(|(n, _)| n).collect();
        // The reads between the `solve` fields of one kind are the system's
        // equations, solved together: not a cycle.
        let solved = |node: &GraphNode| match node {
            GraphNode::Field(k, FieldRef::Derived(i)) => self.kinds[*k as usize]
                .fields
                .iter()
                .any(|f| f.ast.derived && f.index == *i && f.ast.solve.is_some()),
            _ => false,
        };
        let only_derived = graph.filter_map(
            |_, n| is_derived.contains(n).then(|| n.clone()),
            |e, kind| {
                let (from, to) = graph.edge_endpoints(e)?;
                let same_kind = matches!((&graph[from], &graph[to]),
                    (GraphNode::Field(a, _), GraphNode::Field(b, _)) if a == b);
                (!(same_kind && solved(&graph[from]) && solved(&graph[to]))).then_some(*kind)
            },
        );
        for component in kosaraju_scc(&only_derived) {
            let self_loop = component.len() == 1 && only_derived.contains_edge(component[0], component[0]);
            if component.len() < 2 && !self_loop {
                continue;
            }
            // Walk the cycle in dependency order for the message.
            let members: Vec<&GraphNode> = order_cycle(&only_derived, &component);
            let names: Vec<String> = members.iter().map(|n| self.node_name(n)).collect();
            let mut path = names.join(" → ");
            path.push_str(&format!(" → {}", names[0]));
            let mut problem = Problem::error(
                codes::check::cycle,
                format!("derived values depend on each other in a cycle: {path}"),
            )
            .help("break the cycle: make one of them a `var` updated by a rule, or compute it from other values");
            for (i, member) in members.iter().enumerate() {
                let next = &names[(i + 1) % names.len()];
                let text =
                    if members.len() == 1 { String::from("reads itself") } else { format!("reads `{next}`") };
                problem = problem.label(self.node_span(member), text);
            }
            self.error(problem);
        }
    }

    /// The order a step runs rules in: groups in topological order of the
    /// condensation of the rule graph; ties broken by priority, then source order.
    pub(super) fn schedule(&mut self, graph: &DependencyGraph) -> Vec<RuleGroup> {
        let rule_count = self.rules.len();
        if rule_count == 0 {
            return Vec::new();
        }
        let derived_reads = derived_reads(graph);
        let mut readers: HashMap<GraphNode, Vec<usize>> = HashMap::new();
        for (r, (_, reads, _)) in self.rules.iter().enumerate() {
            for base in expand_reads(reads, &derived_reads) {
                readers.entry(base).or_default().push(r);
            }
        }
        let mut rule_graph: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..rule_count).map(|r| rule_graph.add_node(r)).collect();
        for (r, (_, _, writes)) in self.rules.iter().enumerate() {
            for (write, _, _) in writes {
                for &reader in readers.get(write).map(Vec::as_slice).unwrap_or(&[]) {
                    rule_graph.update_edge(nodes[r], nodes[reader], ());
                }
            }
        }
        let components = kosaraju_scc(&rule_graph);
        let mut group_of = vec![0usize; rule_count];
        for (g, component) in components.iter().enumerate() {
            for n in component {
                group_of[rule_graph[*n]] = g;
            }
        }
        // Kahn's algorithm over the condensation, choosing the ready group with
        // the highest priority, then the earliest rule.
        let group_count = components.len();
        let mut successors: Vec<HashSet<usize>> = vec![HashSet::new(); group_count];
        let mut indegree = vec![0usize; group_count];
        for edge in rule_graph.raw_edges() {
            let (a, b) = (group_of[rule_graph[edge.source()]], group_of[rule_graph[edge.target()]]);
            if a != b && successors[a].insert(b) {
                indegree[b] += 1;
            }
        }
        let key = |g: usize| {
            let rules = &components[g];
            let priority = rules.iter().map(|n| self.rules[rule_graph[*n]].0.priority).max().unwrap_or(0);
            let first = rules.iter().map(|n| rule_graph[*n]).min().unwrap_or(0);
            (priority, std::cmp::Reverse(first), g)
        };
        let mut ready: BinaryHeap<(i64, std::cmp::Reverse<usize>, usize)> =
            (0..group_count).filter(|g| indegree[*g] == 0).map(key).collect();
        let mut schedule = Vec::new();
        while let Some((_, _, g)) = ready.pop() {
            let mut rules: Vec<usize> = components[g].iter().map(|n| rule_graph[*n]).collect();
            rules.sort_by_key(|r| (std::cmp::Reverse(self.rules[*r].0.priority), *r));
            let iterate = rules.len() > 1 || rule_graph.contains_edge(nodes[rules[0]], nodes[rules[0]]);
            schedule.push(RuleGroup { rules: rules.iter().map(|r| *r as Id).collect(), iterate });
            for &next in &successors[g] {
                indegree[next] -= 1;
                if indegree[next] == 0 {
                    ready.push(key(next));
                }
            }
        }
        schedule
    }

    pub(super) fn check_warnings(&mut self, _graph: &DependencyGraph) {
        let used: HashSet<&GraphNode> = self.used.iter().collect();
        let mut warnings = Vec::new();
        // Items with syntax errors are missing, and so is what they read.
        let complete = !self.file.incomplete;
        for (p, slot) in self.params.iter().enumerate() {
            if complete && !used.contains(&GraphNode::Param(p as Id)) {
                warnings.push(
                    Problem::warning(
                        codes::check::unused,
                        format!("param `{}` is never used", slot.ast.name.name),
                    )
                    .label(slot.ast.name.span, "declared here")
                    .help("use it in a formula or rule, or remove it"),
                );
            }
        }
        for (v, slot) in self.vars.iter().enumerate() {
            if complete && !used.contains(&GraphNode::Var(v as Id)) {
                let written = self
                    .rules
                    .iter()
                    .any(|(_, _, w)| w.iter().any(|(n, _, _)| *n == GraphNode::Var(v as Id)));
                let help = if written {
                    "rules write it but nothing reads it; it still appears in the output"
                } else {
                    "use it in a formula or rule, or remove it"
                };
                warnings.push(
                    Problem::warning(
                        codes::check::unused,
                        format!("var `{}` is never read", slot.ast.name.name),
                    )
                    .label(slot.ast.name.span, "declared here")
                    .help(help),
                );
            }
        }
        // Two rules of equal priority writing the same value, where the order matters.
        for a in 0..self.rules.len() {
            for b in a + 1..self.rules.len() {
                let (ra, _, wa) = &self.rules[a];
                let (rb, _, wb) = &self.rules[b];
                if ra.priority != rb.priority || never_in_one_step(ra, rb) {
                    continue;
                }
                let clash = wa.iter().find_map(|(na, oa, sa)| {
                    wb.iter()
                        .find(|(nb, ob, _)| na == nb && !commutes(*oa, *ob) && !is_default(na))
                        .map(|(_, _, sb)| (*sa, *sb, na.clone()))
                });
                if let Some((sa, sb, node)) = clash {
                    warnings.push(
                        Problem::warning(
                            codes::check::order_dependent,
                            format!(
                                "{} and {} both write `{}` with the same priority",
                                ra.mention(),
                                rb.mention(),
                                self.node_name(&node)
                            ),
                        )
                        .label(sb, format!("written by {}", rb.mention()))
                        .label(sa, format!("also written by {}", ra.mention()))
                        .help("if both fire in one step the result depends on source order; give one a higher `priority`"),
                    );
                }
            }
        }
        self.problems.extend(warnings);
    }

    pub(super) fn node_name(&self, node: &GraphNode) -> String {
        match node {
            GraphNode::Param(i) => self.params[*i as usize].ast.name.name.clone(),
            GraphNode::Var(i) => self.vars[*i as usize].ast.name.name.clone(),
            GraphNode::Let(i) => self.lets[*i as usize].ast.name.name.clone(),
            GraphNode::Series(i) => self.series[*i as usize].0.name.name.clone(),
            GraphNode::Field(k, f) => {
                let kind = &self.kinds[*k as usize];
                let field = match f {
                    FieldRef::Defaulted => "defaulted".to_string(),
                    FieldRef::DefaultedAt => "defaulted_at".to_string(),
                    FieldRef::Stored(i) => field_name(kind, false, *i),
                    FieldRef::Derived(i) => field_name(kind, true, *i),
                };
                format!("{}.{}", kind.ast.name.name, field)
            }
            GraphNode::Time => String::from("step"),
            GraphNode::Rule(r) => self.rules[*r as usize].0.label.clone(),
        }
    }

    fn node_span(&self, node: &GraphNode) -> Span {
        match node {
            GraphNode::Let(i) => self.lets[*i as usize].ast.span,
            GraphNode::Field(k, FieldRef::Derived(i)) => {
                let kind = &self.kinds[*k as usize];
                kind.fields
                    .iter()
                    .find(|f| f.ast.derived && f.index == *i)
                    .map_or(kind.ast.span, |f| f.ast.span)
            }
            _ => Span::default(),
        }
    }
}

fn field_name(kind: &super::KindSlot, derived: bool, index: u32) -> String {
    kind.fields
        .iter()
        .find(|f| f.ast.derived == derived && f.index == index)
        .map_or_else(String::new, |f| f.ast.name.name.clone())
}

fn commutes(a: AssignOp, b: AssignOp) -> bool {
    let additive = |op| matches!(op, AssignOp::Add | AssignOp::Sub);
    let multiplicative = |op| matches!(op, AssignOp::Mul | AssignOp::Div);
    (additive(a) && additive(b)) || (multiplicative(a) && multiplicative(b))
}

fn is_default(node: &GraphNode) -> bool {
    matches!(node, GraphNode::Field(_, FieldRef::Defaulted | FieldRef::DefaultedAt))
}

/// The members of a strongly connected component in an order that follows edges.
fn order_cycle<'g>(graph: &'g DiGraph<GraphNode, EdgeKind>, component: &[NodeIndex]) -> Vec<&'g GraphNode> {
    let members: HashSet<NodeIndex> = component.iter().copied().collect();
    let start = *component.iter().min().unwrap_or(&component[0]);
    let mut order = vec![start];
    let mut current = start;
    while order.len() < component.len() {
        // Follow an edge backwards (from reader to what it reads) to stay in the cycle.
        let next = graph
            .neighbors_directed(current, petgraph::Direction::Incoming)
            .filter(|n| members.contains(n) && !order.contains(n))
            .min();
        match next {
            Some(n) => {
                order.push(n);
                current = n;
            }
            None => break,
        }
    }
    for n in component {
        if !order.contains(n) {
            order.push(*n);
        }
    }
    order.into_iter().map(|n| &graph[n]).collect()
}

/// Two `at` rules at different steps, neither of which delays an effect, never
/// write in the same step.
fn never_in_one_step(a: &RuleDef, b: &RuleDef) -> bool {
    let delays = |r: &RuleDef| r.effects.iter().any(|e| matches!(e.kind, EffectKindIr::After { .. }));
    match (&a.trigger, &b.trigger) {
        (TriggerIr::At(AtTime::Step(x)), TriggerIr::At(AtTime::Step(y))) => {
            x != y && !delays(a) && !delays(b)
        }
        _ => false,
    }
}

//! Warnings that need the initial state: rules that can never fire.

use std::collections::HashSet;

use petgraph::visit::EdgeRef;

use crate::codes;
use crate::diagnostic::Problem;
use crate::ir::{EdgeKind, GraphNode, Ir, TriggerIr, derived_reads, expand_reads};
use crate::value::Value;

use super::{Evaluator, Limits, Machine, frame_for};

/// Instances looked at per rule, at most: enough to be sure, cheap on big worlds.
const MAX_INSTANCES_LOOKED_AT: u32 = 10_000;

/// A `when`/`while` rule whose inputs no rule ever changes (no clock, no series)
/// and whose condition is false for every instance at the start can never fire.
pub(crate) fn rules_that_never_fire(ir: &Ir, owners: &[(u32, u32)], limits: &Limits) -> Vec<Problem> {
    let graph = &ir.graph.graph;
    let written: HashSet<&GraphNode> = graph
        .edge_references()
        .filter(|e| *e.weight() == EdgeKind::Writes)
        .map(|e| &graph[e.target()])
        .collect();
    let derived = derived_reads(&ir.graph);
    let mut candidates = Vec::new();
    for node in graph.node_indices() {
        let GraphNode::Rule(r) = graph[node] else { continue };
        if matches!(ir.rules[r as usize].trigger, TriggerIr::At(_)) {
            continue;
        }
        let reads: Vec<GraphNode> = graph
            .edges_directed(node, petgraph::Direction::Incoming)
            .filter(|e| *e.weight() == EdgeKind::Reads)
            .map(|e| graph[e.source()].clone())
            .collect();
        let inputs = expand_reads(&reads, &derived);
        let changing =
            inputs.iter().any(|n| matches!(n, GraphNode::Time | GraphNode::Series(_)) || written.contains(n));
        if !changing {
            candidates.push(r);
        }
    }
    // A random start (uncertain params, drawn initial values) differs between
    // paths: one path's start says nothing about the others.
    if candidates.is_empty() || ir.draws_at_start() {
        return Vec::new();
    }
    let Ok(mut machine) = Machine::start(ir, owners, limits, &[], &[], None, false, (0, None), None) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for r in candidates {
        let rule = &ir.rules[r as usize];
        let (begin, end) = machine.rule_instances[r as usize];
        if end - begin > MAX_INSTANCES_LOOKED_AT {
            continue;
        }
        let mut ever = false;
        for i in begin..end {
            let bindings = machine.instances[i as usize].bindings.clone();
            let mut frame = frame_for(rule, &bindings);
            let mut ev = Evaluator { ir, st: &mut machine.st, derived_owner: owners };
            let filter = match &rule.filter {
                Some(f) => ev.eval(f, &mut frame),
                None => Ok(Value::Bool(true)),
            };
            let holds = match (filter, &rule.trigger) {
                (Ok(Value::Bool(true)), TriggerIr::When(c) | TriggerIr::While(c)) => ev.eval(c, &mut frame),
                (other, _) => other,
            };
            // An error, or a condition that holds: not ours to warn about.
            if holds != Ok(Value::Bool(false)) {
                ever = true;
                break;
            }
        }
        if !ever {
            warnings.push(
                Problem::warning(
                    codes::check::never_fires,
                    format!("{} can never fire", rule.title()),
                )
                .label(rule.trigger_span, "false at the start, and nothing it reads ever changes")
                .help("no rule writes the values this condition reads; check the condition, or the params it uses"),
            );
        }
    }
    warnings
}

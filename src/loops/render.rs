//! Drawing the graph: text for the terminal, Graphviz DOT, Mermaid.
//!
//! All three list the nodes in the same order (params, series, time, vars,
//! lets, each kind's fields, rules), so their output is stable, and end with or
//! carry the feedback loops.

use std::fmt::Write;

use petgraph::graph::NodeIndex;

use super::{EdgeClass, FeedbackLoop, FeedbackLoops, GraphView, Group, LinkSign, Polarity};
use crate::ir::{FieldRef, GraphNode};

/// Lines of text are wrapped at this width where they list names.
const WIDTH: usize = 100;

/// The text form: inputs, stored values, derived values with what they read,
/// rules with what they read and write, then the loops.
pub(super) fn text(view: &GraphView, loops: &FeedbackLoops) -> String {
    let ir = view.ir;
    let mut out = String::new();
    let _ = writeln!(out, "Dependency graph of {}", ir.source.name());
    if !ir.kinds.is_empty() {
        out.push_str(
            "Declarations, not entities: `Kind.field` stands for that field of every entity of the kind.\n",
        );
    }

    let names_in = |group: Group| -> Vec<String> {
        view.order
            .iter()
            .filter(|n| view.group(**n) == group)
            .map(|n| view.names[n.index()].clone())
            .collect()
    };
    let mut inputs = Vec::new();
    for (label, group) in [("params", Group::Param), ("series", Group::Series), ("time", Group::Time)] {
        let names = names_in(group);
        if !names.is_empty() {
            inputs.push((label.to_string(), names));
        }
    }
    section(&mut out, "Inputs", &inputs);

    let mut stored = Vec::new();
    let vars = names_in(Group::Var);
    if !vars.is_empty() {
        stored.push((String::from("vars"), vars));
    }
    for (k, kind) in ir.kinds.iter().enumerate() {
        let fields: Vec<String> = view
            .order
            .iter()
            .filter(|n| view.group(**n) == Group::Field(k as u32) && !is_derived(view.node(**n)))
            .map(|n| field_part(&view.names[n.index()]).to_string())
            .collect();
        if !fields.is_empty() {
            stored.push((kind.name.clone(), fields));
        }
    }
    section(&mut out, "Stored values", &stored);

    let derived: Vec<NodeIndex> = view.order.iter().copied().filter(|n| is_derived(view.node(*n))).collect();
    if !derived.is_empty() {
        out.push_str("\nDerived values\n");
        let width = derived.iter().map(|n| view.names[n.index()].chars().count()).max().unwrap_or(0);
        for n in derived {
            let name = &view.names[n.index()];
            let mut reads: Vec<String> =
                view.incoming(n).map(|(from, _)| view.names[from.index()].clone()).collect();
            if reads.is_empty() {
                reads.push(String::from("nothing"));
            }
            let head = format!("  {name:<width$}  reads ");
            wrap_list(&mut out, &head, &reads);
        }
    }

    let rules: Vec<NodeIndex> =
        view.order.iter().copied().filter(|n| view.group(*n) == Group::Rule).collect();
    if !rules.is_empty() {
        out.push_str("\nRules\n");
        for n in rules {
            let GraphNode::Rule(r) = view.node(n) else { continue };
            let Some(rule) = ir.rules.get(*r as usize) else { continue };
            let mut head = format!("  {}", rule.label);
            match (rule.name.is_some(), rule.priority) {
                (true, 0) => head.push_str(&format!(" (line {})", rule.line)),
                (true, p) => head.push_str(&format!(" (line {}, priority {p})", rule.line)),
                (false, 0) => {}
                (false, p) => head.push_str(&format!(" (priority {p})")),
            }
            out.push_str(&head);
            out.push('\n');
            let of_class = |class: EdgeClass| -> Vec<String> {
                view.incoming(n)
                    .filter(|(_, c)| *c == class)
                    .map(|(from, _)| view.names[from.index()].clone())
                    .collect()
            };
            let writes: Vec<String> = view.writes(n).map(|to| view.names[to.index()].clone()).collect();
            for (label, names) in [
                ("reads", of_class(EdgeClass::Reads)),
                ("writes", writes),
                ("mentions", of_class(EdgeClass::Mentions)),
            ] {
                if !names.is_empty() {
                    wrap_list(&mut out, &format!("    {label:<9} "), &names);
                }
            }
        }
    }

    out.push('\n');
    out.push_str(&loops_heading(loops));
    out.push('\n');
    let digits = loops.loops.len().to_string().len();
    for (i, lp) in loops.loops.iter().enumerate() {
        let polarity = lp.polarity.to_string();
        let _ = writeln!(out, "  {:>digits$}. {polarity:<12} {lp}", i + 1);
        let _ = writeln!(out, "  {:>digits$}  {:<12} {}", "", "", why(lp));
    }
    if loops.capped {
        let _ = writeln!(out, "  (stopped looking after {} loops: there may be more)", loops.loops.len());
    }
    out
}

/// `Feedback loops: 3 (1 reinforcing, 2 balancing)` or `Feedback loops: none`.
fn loops_heading(loops: &FeedbackLoops) -> String {
    if loops.loops.is_empty() {
        return String::from("Feedback loops: none");
    }
    let counts: Vec<String> = [Polarity::Reinforcing, Polarity::Balancing, Polarity::Unknown]
        .iter()
        .map(|p| (loops.count(*p), p))
        .filter(|(c, _)| *c > 0)
        .map(|(c, p)| format!("{c} {p}"))
        .collect();
    let more = if loops.capped { " or more" } else { "" };
    format!("Feedback loops: {}{more} ({})", loops.loops.len(), counts.join(", "))
}

/// Why a loop has its polarity: its negative or unknown links.
fn why(lp: &FeedbackLoop) -> String {
    let describe = |sign, what: &str| {
        let links = lp.links(sign);
        let list: Vec<String> = links.iter().map(|(a, b)| format!("{a} → {b}")).collect();
        let plural = if links.len() == 1 { "" } else { "s" };
        format!("{} {what} link{plural}: {}", links.len(), list.join(", "))
    };
    match lp.polarity {
        Polarity::Unknown => describe(LinkSign::Unknown, "unknown"),
        _ if lp.links(LinkSign::Negative).is_empty() => String::from("no negative link"),
        _ => describe(LinkSign::Negative, "negative"),
    }
}

fn section(out: &mut String, title: &str, rows: &[(String, Vec<String>)]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(out, "\n{title}\n");
    let width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    for (label, names) in rows {
        wrap_list(out, &format!("  {label:<width$}  "), names);
    }
}

/// `head` then the names separated by commas, wrapped under the first name.
fn wrap_list(out: &mut String, head: &str, names: &[String]) {
    let indent = head.chars().count();
    let mut line = head.to_string();
    let mut column = indent;
    for (i, name) in names.iter().enumerate() {
        let piece = if i + 1 < names.len() { format!("{name},") } else { name.clone() };
        let len = piece.chars().count();
        if column > indent && column + 1 + len > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            column = indent;
        } else if column > indent {
            line.push(' ');
            column += 1;
        }
        line.push_str(&piece);
        column += len;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn is_derived(node: &GraphNode) -> bool {
    matches!(node, GraphNode::Let(_) | GraphNode::Field(_, FieldRef::Derived(_)))
}

/// `cash` of `Lessor.cash`.
fn field_part(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, field)| field)
}

/// Comment lines listing the loops, each line starting with `prefix`.
fn loop_comments(loops: &FeedbackLoops, prefix: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{prefix}{}", loops_heading(loops));
    for (i, lp) in loops.loops.iter().enumerate() {
        let _ = writeln!(out, "{prefix}  {}. {}: {lp}", i + 1, lp.polarity);
    }
    if loops.capped {
        let _ =
            writeln!(out, "{prefix}  (stopped looking after {} loops: there may be more)", loops.loops.len());
    }
    out
}

/// The node's label in a drawing: a field drawn inside its kind's box goes
/// without the kind.
fn label(view: &GraphView, n: NodeIndex) -> String {
    let name = &view.names[n.index()];
    match view.group(n) {
        Group::Field(_) => field_part(name).to_string(),
        _ => name.clone(),
    }
}

fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dot_attributes(view: &GraphView, n: NodeIndex) -> &'static str {
    match view.node(n) {
        GraphNode::Param(_) => "shape=note",
        GraphNode::Series(_) => "shape=parallelogram",
        GraphNode::Time => "shape=circle",
        GraphNode::Var(_) | GraphNode::Field(_, _) if !is_derived(view.node(n)) => "shape=box",
        GraphNode::Rule(_) => "shape=hexagon, style=filled, fillcolor=\"#fde2e2\", color=\"#b03030\"",
        _ => "shape=ellipse",
    }
}

/// Graphviz DOT: kinds as clusters, reads as plain edges, writes in red,
/// mentions dashed; the loops as comments at the top.
pub(super) fn dot(view: &GraphView, loops: &FeedbackLoops) -> String {
    let ir = view.ir;
    let mut out = String::new();
    let _ = writeln!(out, "// Dependency graph of {}, from `cascade graph --format dot`.", ir.source.name());
    out.push_str("// Edges: reads (grey), writes (red), mentioned only in a message (dashed).\n//\n");
    out.push_str(&loop_comments(loops, "// "));
    out.push_str("digraph cascade {\n");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label={}];",
        dot_string(ir.source.name())
    );
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  edge [color=\"#606060\"];\n");
    let id = |n: NodeIndex| format!("n{}", view.rank[n.index()]);
    for (kind, run) in runs_by_kind(view) {
        if let Some(k) = kind {
            let name = ir.kinds.get(k as usize).map_or("?", |kind| kind.name.as_str());
            let _ = writeln!(out, "  subgraph cluster_{k} {{\n    label={};", dot_string(name));
        }
        let indent = if kind.is_some() { "    " } else { "  " };
        for &n in run {
            let _ = writeln!(
                out,
                "{indent}{} [label={}, {}];",
                id(n),
                dot_string(&label(view, n)),
                dot_attributes(view, n)
            );
        }
        if kind.is_some() {
            out.push_str("  }\n");
        }
    }
    for (from, to, class) in &view.edges {
        let style = match class {
            EdgeClass::Reads => "",
            EdgeClass::Writes => " [color=\"#b03030\", penwidth=1.5]",
            EdgeClass::Mentions => " [style=dashed, color=\"#a0a0a0\"]",
        };
        let _ = writeln!(out, "  {} -> {}{style};", id(*from), id(*to));
    }
    out.push_str("}\n");
    out
}

/// The nodes in display order, cut into runs: the fields of one kind together
/// (drawn as a subgraph) and the nodes between them.
fn runs_by_kind<'v>(view: &'v GraphView) -> impl Iterator<Item = (Option<u32>, &'v [NodeIndex])> {
    let kind = |n: NodeIndex| match view.group(n) {
        Group::Field(k) => Some(k),
        _ => None,
    };
    view.order.chunk_by(move |&a, &b| kind(a) == kind(b)).map(move |run| (kind(run[0]), run))
}

fn mermaid_string(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// A Mermaid flowchart: kinds as subgraphs, reads `-->`, writes `==>`,
/// mentions `-.->`; the loops as `%%` comments.
pub(super) fn mermaid(view: &GraphView, loops: &FeedbackLoops) -> String {
    let ir = view.ir;
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(
        out,
        "  %% Dependency graph of {}, from `cascade graph --format mermaid`.",
        ir.source.name()
    );
    out.push_str("  %% Edges: reads -->, writes ==>, mentioned only in a message -.->\n");
    out.push_str(&loop_comments(loops, "  %% "));
    let id = |n: NodeIndex| format!("n{}", view.rank[n.index()]);
    for (kind, run) in runs_by_kind(view) {
        if let Some(k) = kind {
            let name = ir.kinds.get(k as usize).map_or("?", |kind| kind.name.as_str());
            let _ = writeln!(out, "  subgraph k{k} [\"{}\"]", mermaid_string(name));
        }
        let indent = if kind.is_some() { "    " } else { "  " };
        for &n in run {
            let text = mermaid_string(&label(view, n));
            let shape = match view.node(n) {
                GraphNode::Param(_) => format!("[/\"{text}\"/]"),
                GraphNode::Series(_) => format!("[\\\"{text}\"\\]"),
                GraphNode::Time => format!("((\"{text}\"))"),
                GraphNode::Rule(_) => format!("{{{{\"{text}\"}}}}"),
                node if is_derived(node) => format!("(\"{text}\")"),
                _ => format!("[\"{text}\"]"),
            };
            let _ = writeln!(out, "{indent}{}{shape}", id(n));
        }
        if kind.is_some() {
            out.push_str("  end\n");
        }
    }
    for (from, to, class) in &view.edges {
        let arrow = match class {
            EdgeClass::Reads => "-->",
            EdgeClass::Writes => "==>",
            EdgeClass::Mentions => "-.->",
        };
        let _ = writeln!(out, "  {} {arrow} {}", id(*from), id(*to));
    }
    let rules: Vec<String> =
        view.order.iter().filter(|n| view.group(**n) == Group::Rule).map(|n| id(*n)).collect();
    if !rules.is_empty() {
        out.push_str("  classDef rule fill:#fde2e2,stroke:#b03030\n");
        let _ = writeln!(out, "  class {} rule", rules.join(","));
    }
    out
}

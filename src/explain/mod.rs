//! Why did it happen — and why not?
//!
//! Every firing records the values its condition and effects read, and every
//! change records the firing that made it. To explain a value we start from the
//! change (or default) that produced it, print the firing with its numbers, and
//! for each value it read find what produced *that* value before the firing —
//! back to initial values, params and series. A cause already shown is referred
//! to by its number instead of repeated. Four kinds of value get more than the
//! change that produced them:
//!
//! - `exposure_losses(e)` (and an aggregate over `exposures_of(e)` or
//!   `exposures_to(e)`) is explained by its make-up: each counterparty that had
//!   defaulted, with the amount, the recovery and the loss, largest first, and
//!   each default explained in turn (`losses.rs`);
//! - a stored value written many times is summarised: where it started (its
//!   initial value, or the last `=` that reset it), each rule's total over the
//!   steps it wrote, and the largest single writes, each explained (`history.rs`);
//! - a derived value shows its formula, its inputs' values and their causes;
//! - a target that did not happen gets a why-not: the rules that could have
//!   caused it, and for each comparison in their conditions the closest it came
//!   up to the target's step (`why_not.rs`), on states rebuilt from the log
//!   (`rewind.rs`), never beyond the step the run has reached.
//!
//! Every number that text output rounds is also given exact in the data (and so
//! in the JSON of `cascade explain --format json`).

mod chain;
mod history;
mod losses;
mod models;
mod rewind;
mod why_not;

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{Error, Run};

/// The answer to "why?" about one target.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// What was asked about, as written.
    pub target: String,
    /// Whether the target happened (a default) or changed (a value).
    pub happened: bool,
    /// The step the explanation speaks of: the target's `@STEP` (or date), or
    /// the step the run has reached, whichever is earlier.
    pub step: u64,
    /// One line: what happened, when.
    pub summary: String,
    /// The causes, as a tree.
    pub causes: Vec<Cause>,
    /// When it did not happen: the rules that could have made it happen.
    pub why_not: Vec<Candidate>,
}

/// What kind of node a [`Cause`] is: serialised as `rule`, `by_hand`,
/// `derived`, `losses`, `loss`, `rest`, `build_up`, `start`, `contribution` or
/// `model`, and equal to that string (`cause.kind == "losses"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// A firing, or a change it made.
    Rule,
    /// A value set by hand.
    ByHand,
    /// A derived value.
    Derived,
    /// The make-up of exposure losses.
    Losses,
    /// One counterparty's default in it.
    Loss,
    /// The smaller items of a make-up or build-up, summed.
    Rest,
    /// A value written many times.
    BuildUp,
    /// Where a build-up began.
    Start,
    /// One rule's share of a build-up.
    Contribution,
    /// A result of a contagion model (a clearing's default round and
    /// shortfall, or a DebtRank distress).
    Model,
}

impl CauseKind {
    /// The name used in outputs: `rule`, `by_hand`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Rule => "rule",
            CauseKind::ByHand => "by_hand",
            CauseKind::Derived => "derived",
            CauseKind::Losses => "losses",
            CauseKind::Loss => "loss",
            CauseKind::Rest => "rest",
            CauseKind::BuildUp => "build_up",
            CauseKind::Start => "start",
            CauseKind::Contribution => "contribution",
            CauseKind::Model => "model",
        }
    }
}

impl std::fmt::Display for CauseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for CauseKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for CauseKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One node of the causal tree.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// Its number, for references from later nodes.
    pub id: usize,
    /// What kind of node (serialised as `rule`, `by_hand`, ...).
    pub kind: CauseKind,
    /// What this node says, with numbers rounded for reading.
    pub text: String,
    /// The step, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The date of the step, if the scenario has dates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The rule that fired, with its bindings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rule's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The value this node explains, exact (a number as a decimal string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A derived value's formula, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// The values the rule (or formula) read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Read>,
    /// `loss`: the exposure's terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    /// `contribution` and `rest`: how many items or writes, over which steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `contribution`: the first and last step it wrote in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<(u64, u64)>,
    /// What produced those values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// This cause was already shown as node `see`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see: Option<usize>,
}

/// A value a rule or formula read.
#[derive(Clone, Debug, Serialize)]
pub struct Read {
    /// Its name: `h100_price`, `coreweave.cash`, `exposure_losses(bravo)`.
    pub name: String,
    /// Rounded for reading (`610m`).
    pub text: String,
    /// Exact: a number as a decimal string, a flag as a boolean, an entity by name.
    pub value: serde_json::Value,
}

/// One counterparty's default in a make-up of exposure losses.
#[derive(Clone, Debug, Serialize)]
pub struct Loss {
    /// The entity that defaulted.
    pub debtor: String,
    /// The entity that lent to it.
    pub creditor: String,
    /// The step of the default.
    pub defaulted_at: u64,
    /// The exposure's amount, exact.
    pub amount: String,
    /// Its recovery rate, exact (`0.2` for 20%).
    pub recovery: String,
    /// `amount × (1 − recovery)`, exact.
    pub loss: String,
}

/// A rule that could have made the target happen, and how close it came.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The rule and its bindings.
    pub rule: String,
    /// The rule's line.
    pub line: usize,
    /// For each comparison in its condition: how close it came.
    pub conditions: Vec<Approach>,
}

/// The closest approach of one comparison, from step 0 to the target's step.
#[derive(Clone, Debug, Serialize)]
pub struct Approach {
    /// The comparison as written.
    pub condition: String,
    /// True if it held at some step.
    pub held: bool,
    /// The step where it first held, or came closest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The comparison's operator (`<`, `>=`, ...), when it is an order comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    /// Its left side there, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Read>,
    /// Its right side there, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub right: Option<Read>,
    /// The value of a condition that is not an order comparison, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The values as text, rounded for reading (not in the JSON).
    #[serde(skip)]
    pub values: String,
}

/// How many levels of causes `Run::explain` follows.
const DEFAULT_DEPTH: usize = 8;

/// The deepest causal chain [`Run::explain_tree`] follows. The walk, the
/// tree's serialisation and its drop recurse once per level on the native
/// stack, so the depth has a ceiling like the parser's: 256 levels fit a debug
/// build's 2 MB test thread with room to spare (`tests/embed.rs`). A deeper
/// request is refused, not clamped.
pub const MAX_EXPLAIN_DEPTH: usize = 256;

impl Run {
    /// Explains `target` (an entity: its default; `entity.field` or a var: its
    /// value; add `@STEP` or `@DATE` for the value or default at or before then)
    /// as indented text.
    pub fn explain(&self, target: &str) -> Result<String, Error> {
        self.explain_tree(target, DEFAULT_DEPTH).map(|e| e.to_text())
    }

    /// The explanation as data (serialisable; see `docs/language.md` for the
    /// JSON), following causes `depth` firings back: at most
    /// [`MAX_EXPLAIN_DEPTH`]; a deeper request is an [`Error::BadValue`].
    pub fn explain_tree(&self, target: &str, depth: usize) -> Result<Explanation, Error> {
        if depth > MAX_EXPLAIN_DEPTH {
            return Err(Error::BadValue {
                name: String::from("depth"),
                reason: format!(
                    "{depth} is more than {MAX_EXPLAIN_DEPTH}, the deepest chain an explanation follows"
                ),
            });
        }
        chain::Explainer::new(self, depth).explain(target)
    }
}

impl Explanation {
    /// The explanation as an indented tree.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.summary);
        // An explicit stack: a tree as deep as `--depth` asks is not a recursion.
        let mut stack: Vec<(&Cause, usize)> = self.causes.iter().rev().map(|c| (c, 1)).collect();
        while let Some((cause, indent)) = stack.pop() {
            write_cause(&mut out, cause, indent);
            stack.extend(cause.causes.iter().rev().map(|c| (c, indent + 1)));
        }
        if !self.why_not.is_empty() {
            let _ = writeln!(out, "  rules that could have caused it:");
            for candidate in &self.why_not {
                let _ = writeln!(out, "    {} (line {})", candidate.rule, candidate.line);
                for approach in &candidate.conditions {
                    let when = approach.step.map_or_else(String::new, |s| format!(" at step {s}"));
                    let verb = if approach.held { "held" } else { "closest" };
                    let _ =
                        writeln!(out, "      `{}`: {verb}{when}: {}", approach.condition, approach.values);
                }
            }
        }
        out
    }
}

fn write_cause(out: &mut String, cause: &Cause, indent: usize) {
    let pad = "  ".repeat(indent);
    let mut line = format!("{pad}[{}] {}", cause.id, cause.text);
    if let Some(see) = cause.see {
        let _ = write!(line, " (see [{see}])");
    }
    let _ = writeln!(out, "{line}");
    if !cause.values.is_empty() {
        let values: Vec<String> = cause.values.iter().map(|r| format!("{} {}", r.name, r.text)).collect();
        let _ = writeln!(out, "{pad}    read: {}", values.join(", "));
    }
}

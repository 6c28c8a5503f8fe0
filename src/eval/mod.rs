//! The step machine.
//!
//! A [`Run`] holds the state of one run of a program: the values of params,
//! the stored values (slots), the current value of every series, the caches
//! of derived values and the state of every rule instance (armed, last
//! condition value, dirty). One call to [`Run::step`] runs one step:
//!
//! 1. advance `step` and `date`, update the series, and apply the effects that
//!    `after` scheduled for this step;
//! 2. run the rule groups in schedule order (the topological order of the
//!    condensation of the rule graph, computed by the checker). A group that is
//!    a feedback loop repeats, in source order, until no instance fires; each
//!    `when` and `while` instance fires at most once per step, so this ends;
//! 3. check the `assert`s and the `expect ... at` this step, and record.
//!
//! Only instances whose inputs changed are evaluated again: while a condition
//! is computed, every value it reads records the instance as a reader
//! (`state.rs`); a write notifies the readers. A quiet step costs what changed,
//! not the size of the world. A `while` instance whose condition held fires again
//! in the next step without re-evaluating a condition whose inputs did not change.

mod calls;
mod compiled;
mod decimal;
mod effects;
mod expr;
mod fault;
pub(crate) mod lint;
pub(crate) mod maths;
mod models;
mod readers;
mod solve;
mod start;
mod state;
mod step;
mod together;
pub(crate) mod trace;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Problem;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{AssignOp, Interpolation};
use crate::value::{Value, human};

use effects::collect_reads;
pub(crate) use expr::{Evaluator, Fault, display_value, on_checked_stack};
pub(crate) use models::ModelFacts;
use readers::Readers;
pub(crate) use solve::DEFAULT_SOLVE_ITERATIONS;
pub(crate) use solve::SolvedFacts;
pub(crate) use start::series_value;
pub(crate) use state::{Layout, State};
use together::Deferred;
use trace::*;

/// Limits on what one run may consume.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub max_steps: u64,
    pub max_firings_per_step: u64,
    pub max_fuel: u64,
    pub max_instances: u64,
    /// At most this many records in the run's log (see `Log::recorded`).
    pub max_trace: u64,
    /// Sweeps of a `solve` system whose fields state no `limit`.
    pub max_solve_iterations: u64,
}

/// Within a step, the cancel flag is looked at once per this many firings.
const CANCEL_CHECK_FIRINGS: u64 = 1024;

/// The cause recorded for a value set by hand (REPL `:set`, [`crate::Run::set_value`]).
pub(crate) const BY_HAND: u32 = u32::MAX;

/// One rule instance: a rule with its binders bound to entities.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub rule: u32,
    pub bindings: Bindings,
    /// A `when` instance may fire (its condition has been false since it last fired).
    pub armed: bool,
    /// The condition's value when last evaluated.
    pub cond: bool,
    /// Inputs changed since the condition was last evaluated.
    pub dirty: bool,
    /// The step in which it last fired (0: never).
    pub fired_step: u64,
}

/// An effect scheduled by `after`: which effect, its bindings and its cause.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Scheduled {
    pub rule: u32,
    pub index: u32,
    pub depth: u32,
    pub frame: Vec<Value>,
    pub cause: u32,
}

/// The result of one `expect` or `assert`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub assert: bool,
    pub index: u32,
    pub passed: bool,
    /// The step at which it was checked (or failed first).
    pub step: Option<u64>,
    /// The values it read, as `name = value` (for failures).
    pub detail: String,
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum End {
    Horizon,
    Stopped(String),
}

/// Everything that changes during a run (what a checkpoint saves).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Machine {
    pub st: State,
    pub instances: Vec<Instance>,
    /// Instances of each rule, as a range into `instances`.
    pub rule_instances: Vec<(u32, u32)>,
    pub pending: Vec<Vec<u32>>,
    pub queued: Vec<bool>,
    /// Instances to look at again in the next step.
    pub carry: Vec<u32>,
    pub scheduled: BTreeMap<u64, Vec<Scheduled>>,
    pub log: Log,
    pub outcomes: Vec<Outcome>,
    /// Whether each assert has failed (it has an outcome that did not pass),
    /// so that it is not checked again; rebuilt from `outcomes` when a
    /// checkpoint is loaded.
    #[serde(skip)]
    pub failed_asserts: Vec<bool>,
    pub end: Option<End>,
    pub horizon: u64,
    pub provenance: bool,
    pub firings_this_step: u64,
    /// The stored values at step 0.
    pub initial: Vec<Value>,
    /// The step of each `at` rule, fixed when the run starts (0 for other rules).
    #[serde(default)]
    pub at_steps: Vec<i64>,
    /// While a `together` rule fires: the writes of its instances, applied
    /// when all have fired (`together.rs`). Only within a step, never saved.
    #[serde(skip)]
    pub deferred: Option<Vec<Deferred>>,
    /// For each rule, the last step in which it fired as a `together` group
    /// (empty until one fires).
    #[serde(skip)]
    pub together_step: Vec<u64>,
    /// A quiet run (a sweep's path, read only at its end) writes neither the
    /// texts of `emit`s nor the details of expectations, and keeps no record
    /// of its changes nor of its firings but those of `together` rules (read
    /// only by the trace and `explain`; a `together` rule's faults name its
    /// firings); it still evaluates every expression, so it faults and spends
    /// fuel as any run does, and counts each firing against `max_trace` alike.
    #[serde(skip)]
    pub quiet: bool,
}

/// A run-time error: the fault and where the machine was.
pub(crate) struct RunFault {
    pub fault: Fault,
    pub context: Vec<String>,
}

impl RunFault {
    pub fn into_problem(self) -> Problem {
        let mut help = self.context.join("; ");
        let fault = self.fault.into_data();
        if let Some(h) = fault.help {
            if !help.is_empty() {
                help.push('\n');
            }
            help.push_str(&h);
        }
        let problem = Problem::error(fault.code, fault.message).label(fault.span, fault.label);
        if help.is_empty() { problem } else { problem.help(help) }
    }
}

type Step<T> = Result<T, RunFault>;

/// Borrowed view used while stepping.
pub(crate) struct Stepper<'a> {
    pub ir: &'a Ir,
    pub derived_owner: &'a [(u32, u32)],
    pub limits: &'a Limits,
    pub m: &'a mut Machine,
    pub cancel: Option<&'a AtomicBool>,
}

pub(crate) fn frame_for(rule: &RuleDef, bindings: &[u32]) -> Vec<Value> {
    let mut frame = vec![Value::None; (rule.locals as usize).max(bindings.len())];
    for (slot, e) in frame.iter_mut().zip(bindings) {
        *slot = Value::Entity(*e);
    }
    frame
}

fn effect_at(ir: &Ir, rule: u32, index: u32, depth: u32) -> &EffectIr {
    let mut effect = &ir.rules[rule as usize].effects[index as usize];
    for _ in 0..depth {
        if let EffectKindIr::After { effect: inner, .. } = &effect.kind {
            effect = inner;
        }
    }
    effect
}
/// For each derived cell after the lets: its entity and derived field index.
pub(crate) fn derived_owners(ir: &Ir) -> Vec<(u32, u32)> {
    let mut owners = Vec::with_capacity((ir.derived_count as usize).saturating_sub(ir.lets.len()));
    for (e, at) in ir.layout.iter().enumerate() {
        for d in 0..ir.kinds[at.kind as usize].derived_count {
            owners.push((e as u32, d));
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Value};

    /// `exposure_losses` kept as a running total gives, digit for digit and
    /// scale for scale, the sum over the exposures as written, also where the
    /// running total gives up (zero and negative losses) and after a checkpoint.
    #[test]
    fn running_exposure_losses_match_the_sum_as_written() {
        let script = "
kind Bank { capital = 0, let losses = exposure_losses(self) }
entity a: Bank { capital = 1000000 }
entity b: Bank { capital = 1 }
entity c: Bank { capital = 1 }
entity d: Bank { capital = 1 }
entity e: Bank { capital = 1 }
entity z: Bank { capital = 1 }
exposure a -> b = 1.25, recovery 40%
exposure a -> c = 7, recovery 12.5%
exposure a -> d = 3.000, recovery 0%
exposure z -> b = 5, recovery 100%
exposure z -> c = -2
exposure z -> d = 4.5
exposure c -> e = 10
exposure b -> e = 10
exposure d -> e = 10
at 1 then default(e)
at 2 then default(d)
at 3 then default(b)
at 4 then default(c)
scenario \"t\" { horizon = 5 }
";
        let program = Engine::new().compile(script, "t.cascade").unwrap();
        let sum = |bank: &str| {
            format!("sum(x.amount * (1 - x.recovery) for x in exposures_of({bank}) where x.debtor.defaulted)")
        };
        let mut run = program.run().unwrap();
        let mut checkpoints = Vec::new();
        while run.step().unwrap().is_some() {
            checkpoints.push(run.checkpoint());
            for bank in ["a", "b", "c", "d", "e", "z"] {
                let kept = run.value(&format!("{bank}.losses")).unwrap();
                let summed = run.evaluate(&sum(bank)).unwrap();
                let (Value::Number(kept), Value::Number(summed)) = (kept, summed) else { panic!() };
                assert_eq!((kept, kept.scale()), (summed, summed.scale()), "{bank}");
            }
        }
        for checkpoint in &checkpoints {
            let mut resumed = program.resume(checkpoint).unwrap();
            for bank in ["a", "z"] {
                let kept = resumed.value(&format!("{bank}.losses")).unwrap();
                let summed = resumed.evaluate(&sum(bank)).unwrap();
                let (Value::Number(kept), Value::Number(summed)) = (kept, summed) else { panic!() };
                assert_eq!((kept, kept.scale()), (summed, summed.scale()), "{bank} resumed");
            }
        }
    }
}

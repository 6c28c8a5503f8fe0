//! The run's past: snapshots for `:back`, and replaying a run to a step.
//!
//! A snapshot is a clone of the run right after a step, before any value set by
//! hand at that step. To return to step `t` we clone the last snapshot at or
//! before `t`, apply the values set by hand at that step, and step forward to
//! `t` (applying the values set by hand at each step on the way). Runs are
//! deterministic, so this restores every value exactly.
//!
//! When to take a snapshot is decided by cost, not by a fixed rule: after a
//! step, if the steps run since the last snapshot took at least as long as that
//! snapshot took to clone. In a small world (the flagship) cloning is cheaper
//! than any step, so every step has a snapshot and `:back` is a clone. In a
//! large world with quiet steps, cloning (which copies the whole state and
//! trace) would dominate `:step`; there snapshots are rarer and going back
//! replays a few cheap steps. Either way a snapshot costs at most about as much
//! as the steps it saves, and going back costs at most about one clone plus
//! one clone's worth of steps. The snapshots kept are thinned (every second
//! older one dropped) when their total cloning time, a stand-in for their
//! memory, passes [`BUDGET`].

use std::time::{Duration, Instant};

use cascade::{Error, Run, StepSummary, Value};

/// Thin the snapshots when cloning all of them took longer than this.
const BUDGET: Duration = Duration::from_secs(2);

/// A value set by hand (`:set NAME = VALUE`) after step `step`.
#[derive(Clone, Debug)]
pub struct HandSet {
    pub step: u64,
    pub name: String,
    pub value: Value,
}

/// A copy of the run after a step, and how long making it took.
#[derive(Clone)]
struct Snapshot {
    run: Run,
    cost: Duration,
}

/// The current run and its snapshots.
#[derive(Clone)]
pub struct Timeline {
    /// Sorted by step; the first is step 0.
    snapshots: Vec<Snapshot>,
    /// Time spent stepping since the last snapshot.
    since_snapshot: Duration,
    /// The run at the current step, with the values set by hand at that step.
    pub current: Run,
}

impl Timeline {
    /// A timeline at step 0 (before any value set by hand).
    fn new(run: Run) -> Timeline {
        let started = Instant::now();
        let copy = run.clone();
        let cost = started.elapsed();
        Timeline {
            snapshots: vec![Snapshot { run: copy, cost }],
            since_snapshot: Duration::ZERO,
            current: run,
        }
    }

    pub fn step(&self) -> u64 {
        self.current.current_step()
    }

    /// A new run replayed to step `to`, with the values set by hand applied at
    /// their steps. Returns the values set by hand that still apply; the others
    /// are dropped with a note. An error (e.g. a run-time error in a changed
    /// world) is returned as is.
    pub fn replay(
        run: Run,
        to: u64,
        hand_set: &[HandSet],
        notes: &mut Vec<String>,
    ) -> Result<(Timeline, Vec<HandSet>), Error> {
        let mut kept = Vec::new();
        let mut apply = |run: &mut Run, step: u64, notes: &mut Vec<String>| {
            for h in hand_set.iter().filter(|h| h.step == step) {
                match run.set_value(&h.name, h.value.clone()) {
                    Ok(()) => kept.push(h.clone()),
                    Err(error) => notes.push(format!("`{}` is no longer set by hand: {error}", h.name)),
                }
            }
        };
        let mut timeline = Timeline::new(run);
        apply(&mut timeline.current, 0, notes);
        while timeline.step() < to {
            let Some(summary) = timeline.step_current()? else { break };
            apply(&mut timeline.current, summary.step, notes);
        }
        let reached = timeline.step();
        for h in hand_set.iter().filter(|h| h.step > reached) {
            notes.push(format!("`{}` is no longer set by hand: the run now ends at step {reached}", h.name));
        }
        Ok((timeline, kept))
    }

    /// Runs one step of the current run and takes a snapshot if it is worth it.
    fn step_current(&mut self) -> Result<Option<StepSummary>, Error> {
        let started = Instant::now();
        let summary = self.current.step()?;
        self.since_snapshot += started.elapsed();
        if summary.is_some()
            && self.since_snapshot >= self.snapshots.last().map_or(Duration::ZERO, |s| s.cost)
        {
            let started = Instant::now();
            let run = self.current.clone();
            self.snapshots.push(Snapshot { run, cost: started.elapsed() });
            self.since_snapshot = Duration::ZERO;
            self.thin();
        }
        Ok(summary)
    }

    /// Runs one step. On an error the current run is rebuilt as it was before
    /// the step (its state after a failed step is not used).
    pub fn advance(&mut self, hand_set: &[HandSet]) -> Result<Option<StepSummary>, Error> {
        let before = self.step();
        self.step_current().inspect_err(|_| {
            self.current = self.rebuild(before, hand_set);
        })
    }

    /// Drops every second snapshot (keeping the first and the last) while
    /// they cost more than the budget.
    fn thin(&mut self) {
        while self.snapshots.len() > 2 && self.snapshots.iter().map(|s| s.cost).sum::<Duration>() > BUDGET {
            let last = self.snapshots.len() - 1;
            let mut index = 0;
            self.snapshots.retain(|_| {
                index += 1;
                index == 1 || index - 1 == last || index % 2 == 1
            });
        }
    }

    /// Goes back to step `to` (at most the current step).
    pub fn go_back(&mut self, to: u64, hand_set: &[HandSet]) {
        self.current = self.rebuild(to, hand_set);
    }

    /// The run at step `to`, rebuilt from the last snapshot at or before it;
    /// snapshots after `to` are dropped. Replaying what already ran cannot
    /// fail, except when interrupted: then the run at the snapshot is returned.
    fn rebuild(&mut self, to: u64, hand_set: &[HandSet]) -> Run {
        let index = self.snapshots.iter().rposition(|s| s.run.current_step() <= to).unwrap_or(0);
        self.snapshots.truncate(index + 1);
        self.since_snapshot = Duration::ZERO;
        let Some(mut run) = self.snapshots.get(index).map(|s| s.run.clone()) else {
            return self.current.clone();
        };
        let step = run.current_step();
        apply_hand_set(&mut run, hand_set, step);
        let fallback = run.clone();
        while run.current_step() < to {
            let started = Instant::now();
            match run.step() {
                Ok(Some(summary)) => {
                    self.since_snapshot += started.elapsed();
                    apply_hand_set(&mut run, hand_set, summary.step);
                }
                Ok(None) => break,
                Err(_) => return fallback,
            }
        }
        run
    }
}

/// Applies the values set by hand at `step` (they applied before, so they do again).
fn apply_hand_set(run: &mut Run, hand_set: &[HandSet], step: u64) {
    for h in hand_set.iter().filter(|h| h.step == step) {
        let _ = run.set_value(&h.name, h.value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(script: &str) -> Timeline {
        let program = cascade::Engine::new().compile(script, "t.cascade").expect("the script compiles");
        let run = program.run().expect("the run starts");
        Timeline::replay(run, 0, &[], &mut Vec::new()).expect("step 0").0
    }

    const COUNTER: &str = "var x = 0\nvar y = 1\nwhile true then { x += 1, y *= 1.5 }";

    fn values(run: &mut Run) -> (Value, Value) {
        (run.value("x").expect("x"), run.value("y").expect("y"))
    }

    #[test]
    fn going_back_restores_every_value_whatever_snapshots_exist() {
        let mut t = timeline(COUNTER);
        let mut seen = vec![values(&mut t.current)];
        for _ in 0..40 {
            t.advance(&[]).expect("a step");
            seen.push(values(&mut t.current));
        }
        // Force the sparse case too: keep only the first and last snapshots.
        let mut sparse = t.clone();
        let last = sparse.snapshots.len() - 1;
        let mut i = 0;
        sparse.snapshots.retain(|_| {
            i += 1;
            i == 1 || i - 1 == last
        });
        for (mut t, to) in [(t, 25), (sparse, 17)] {
            t.go_back(to, &[]);
            assert_eq!(t.step(), to);
            assert_eq!(values(&mut t.current), seen[to as usize]);
            t.go_back(3, &[]);
            assert_eq!(values(&mut t.current), seen[3]);
        }
    }

    #[test]
    fn values_set_by_hand_are_replayed_at_their_step() {
        let mut t = timeline(COUNTER);
        for _ in 0..5 {
            t.advance(&[]).expect("a step");
        }
        let set = vec![HandSet { step: 5, name: String::from("x"), value: Value::Number(100.into()) }];
        t.current.set_value("x", Value::Number(100.into())).expect("x can be set");
        t.advance(&set).expect("a step");
        t.advance(&set).expect("a step");
        assert_eq!(t.current.value("x").expect("x"), Value::Number(102.into()));
        t.go_back(5, &set);
        assert_eq!(t.current.value("x").expect("x"), Value::Number(100.into()));
        t.go_back(4, &set);
        assert_eq!(t.current.value("x").expect("x"), Value::Number(4.into()));
    }

    #[test]
    fn thinning_keeps_the_first_and_last_snapshots() {
        let mut t = timeline(COUNTER);
        for _ in 0..9 {
            t.advance(&[]).expect("a step");
            // A snapshot at every step, whatever the clock said (whether a
            // step takes one depends on how long it took).
            t.snapshots.push(Snapshot { run: t.current.clone(), cost: BUDGET });
        }
        assert!(t.snapshots.len() >= 10);
        for s in &mut t.snapshots {
            s.cost = BUDGET;
        }
        let last = t.snapshots.last().map(|s| s.run.current_step());
        t.thin();
        assert_eq!(t.snapshots.len(), 2);
        assert_eq!(t.snapshots[0].run.current_step(), 0);
        assert_eq!(t.snapshots.last().map(|s| s.run.current_step()), last);
    }
}

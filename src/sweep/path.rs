//! One path of a sweep: a run from (seed, path) with the point's params, read
//! at its end (and at every step for the step records).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Measure, PathEnd, PathResult, Query, Sweep};
use crate::engine::{Error, Run};
use crate::eval::{Evaluator, Machine};
use crate::value::Value;

impl Sweep {
    /// Runs one path of the whole sweep by its index.
    pub fn run_path(&self, index: u64, cancel: Option<&Arc<AtomicBool>>) -> PathResult {
        self.run_path_reusing(index, cancel, &mut None)
    }

    /// [`Sweep::run_path`], reusing the memory of the run in `spare` (left
    /// there by the path before on this thread) and leaving its own there.
    pub(crate) fn run_path_reusing(
        &self,
        index: u64,
        cancel: Option<&Arc<AtomicBool>>,
        spare: &mut Option<Machine>,
    ) -> PathResult {
        // The stack limit is noted once for the whole path, not at every step.
        crate::eval::on_checked_stack(|| self.run_path_on_checked_stack(index, cancel, spare))
    }

    fn run_path_on_checked_stack(
        &self,
        index: u64,
        cancel: Option<&Arc<AtomicBool>>,
        spare: &mut Option<Machine>,
    ) -> PathResult {
        let runs = self.options.runs;
        let (point, path) = (index / runs, index % runs);
        let ir = &self.program.inner.ir;
        let mut result = PathResult {
            index,
            point,
            path,
            params: Vec::new(),
            end_step: 0,
            end: PathEnd::Horizon,
            defaults: 0,
            defaulted_at: vec![None; self.entities.len()],
            records: vec![Value::None; self.records.len()],
            expectations_held: 0,
            step_values: vec![Vec::new(); self.step_records.len()],
        };
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            result.end = PathEnd::Cancelled;
            return result;
        }
        let mut start = self.program.start().provenance(false).seed(self.options.seed);
        if let Some(machine) = spare.take() {
            start = start.reusing(machine);
        }
        if self.draw_paths {
            start = start.path(path);
        }
        if let Some(h) = self.options.horizon {
            start = start.horizon(h);
        }
        if let Some(flag) = cancel {
            start = start.cancel_flag(flag.clone());
        }
        let values = self.points.get(point as usize).map(Vec::as_slice).unwrap_or_default();
        for (id, value) in
            self.fixed.iter().cloned().chain(self.varied.iter().copied().zip(values.iter().cloned()))
        {
            // A point's `None` leaves the param as the script computes it.
            if value != Value::None {
                start = start.set_id(id, value);
            }
        }
        let mut run = match start.begin() {
            Ok(run) => run,
            Err(e) => {
                result.end = failure(&e);
                result.params = values.to_vec();
                result.params.extend(self.drawn.iter().map(|_| Value::None));
                return result;
            }
        };
        // A path is read at its end: its emits' texts and its expectations'
        // details would be written for no one.
        run.machine.quiet = true;
        result.params = values.to_vec();
        result.params.extend(self.drawn.iter().map(|p| run.machine.st.params[*p as usize].clone()));
        let mut step_values = std::mem::take(&mut result.step_values);
        self.record_step(&mut run, &mut step_values);
        loop {
            match run.step() {
                Ok(Some(_)) => self.record_step(&mut run, &mut step_values),
                Ok(None) => break,
                Err(e) => {
                    result.end = failure(&e);
                    break;
                }
            }
        }
        // A path that stopped keeps its final values for the steps after.
        let steps = self.horizon() as usize + 1;
        for values in &mut step_values {
            let last = values.last().cloned().unwrap_or(Value::None);
            values.resize(steps.max(values.len()), last);
        }
        result.step_values = step_values;
        if result.end == PathEnd::Horizon
            && let Some(reason) = run.stop_reason()
        {
            result.end = PathEnd::Stopped(reason.to_string());
        }
        result.end_step = run.current_step();
        let slots = &run.machine.st.slots;
        let defaulted_at =
            |e: u32| slots[ir.defaulted_slot(e) as usize + 1].as_number().and_then(|n| u64::try_from(n).ok());
        result.defaults = (0..ir.entities.len() as u32).filter(|e| defaulted_at(*e).is_some()).count();
        for (slot, e) in result.defaulted_at.iter_mut().zip(&self.entities) {
            *slot = defaulted_at(*e);
        }
        if !matches!(result.end, PathEnd::Failed { .. } | PathEnd::Cancelled) {
            for (slot, record) in result.records.iter_mut().zip(&self.records) {
                *slot = self.evaluate(&mut run, record);
            }
        }
        result.expectations_held = run.machine.outcomes.iter().filter(|o| o.passed).count();
        *spare = Some(run.machine);
        result
    }

    /// The value of a recorded expression in the run's current state.
    fn evaluate(&self, run: &mut Run, record: &Query) -> Value {
        let inner = &self.program.inner;
        let mut frame = vec![Value::None; record.root.locals as usize];
        if !record.measures.is_empty() {
            // The run measures, from every entity's `defaulted_at` now.
            let ir = &inner.ir;
            let slots = &run.machine.st.slots;
            let (mut first, mut count) = (None::<Value>, 0u64);
            for e in 0..ir.entities.len() as u32 {
                if let Some(step) = slots[ir.defaulted_slot(e) as usize + 1].as_number() {
                    count += 1;
                    if first.as_ref().and_then(Value::as_number).is_none_or(|f| step < f) {
                        first = Some(Value::Number(step));
                    }
                }
            }
            for (local, measure) in &record.measures {
                frame[*local as usize] = match measure {
                    Measure::FirstDefault => first.clone().unwrap_or(Value::None),
                    Measure::Defaults => Value::Number(count.into()),
                };
            }
        }
        let mut ev = Evaluator { ir: &inner.ir, st: &mut run.machine.st, derived_owner: &inner.owners };
        ev.eval(&record.root.node, &mut frame).unwrap_or(Value::None)
    }

    /// Each step record's value now, appended to `into`.
    fn record_step(&self, run: &mut Run, into: &mut [Vec<Value>]) {
        for (values, record) in into.iter_mut().zip(&self.step_records) {
            values.push(self.evaluate(run, record));
        }
    }
}

fn failure(error: &Error) -> PathEnd {
    match error.diagnostics().and_then(|d| d.problems().first()) {
        Some(problem) if problem.code == crate::codes::limit::cancelled => PathEnd::Cancelled,
        Some(problem) => PathEnd::Failed { code: problem.code.to_string(), message: problem.message.clone() },
        None => PathEnd::Failed { code: String::from(crate::codes::api::error), message: error.to_string() },
    }
}

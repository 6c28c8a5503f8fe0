//! The state of a run at an earlier step, rebuilt from its log.
//!
//! Every write to a stored value is a change in the log, so the stored values
//! at the end of step `s` are the initial values with the changes of steps
//! `1..=s` applied in order; series and the clock follow from the step, and
//! `exposure_losses` from the defaults. Derived values are computed on demand
//! from those, as in the run. No rule runs: rebuilding costs the changes
//! applied, not a replay of the run.

use crate::engine::Run;
use crate::eval::trace::Log;
use crate::eval::{Evaluator, Layout, State, series_value};
use crate::ir::Ir;
use crate::value::Value;

/// A state walked forward through a run's log, one step at a time.
pub(crate) struct Rewind<'a> {
    ir: &'a Ir,
    owners: &'a [(u32, u32)],
    log: &'a Log,
    st: State,
    /// The next change to apply.
    next: usize,
    /// For each entity in slot order: its `defaulted` flag's slot.
    flags: Vec<(u32, u32)>,
    /// The fuel of one evaluation (the run's limit).
    fuel: u64,
}

impl<'a> Rewind<'a> {
    /// The state at step 0: the initial values.
    pub fn new(run: &'a Run) -> Rewind<'a> {
        let inner = &run.program.inner;
        let ir = &inner.ir;
        let m = &run.machine;
        let mut st = State::new(Layout::of(ir), inner.limits.max_fuel);
        st.params = m.st.params.clone();
        st.series_points = m.st.series_points.clone();
        st.exposures = m.st.exposures.clone();
        st.slots = m.initial.clone();
        let flags =
            ir.entities.iter().enumerate().map(|(e, _)| (ir.defaulted_slot(e as u32), e as u32)).collect();
        let fuel = inner.limits.max_fuel;
        let mut rewind = Rewind { ir, owners: &inner.owners, log: &m.log, st, next: 0, flags, fuel };
        rewind.set_clock(0);
        rewind
    }

    /// Walks forward to the end of `step`.
    pub fn advance_to(&mut self, step: u64) {
        while let Some(change) = self.log.changes.get(self.next) {
            if change.step > step {
                break;
            }
            self.next += 1;
            self.st.write_slot(change.slot, change.to.clone());
            if change.to == Value::Bool(true)
                && let Ok(i) = self.flags.binary_search_by_key(&change.slot, |(slot, _)| *slot)
            {
                let entity = self.flags[i].1;
                self.st.add_default_losses(self.ir, entity);
            }
        }
        if step != self.st.step {
            self.set_clock(step);
        }
    }

    /// Walks forward to just before change number `before` (the clock at its step).
    pub fn advance_before(&mut self, before: usize) {
        while self.next < before {
            let Some(change) = self.log.changes.get(self.next) else { break };
            if change.step != self.st.step {
                self.set_clock(change.step);
            }
            self.next += 1;
            self.st.write_slot(change.slot, change.to.clone());
            if change.to == Value::Bool(true)
                && let Ok(i) = self.flags.binary_search_by_key(&change.slot, |(slot, _)| *slot)
            {
                let entity = self.flags[i].1;
                self.st.add_default_losses(self.ir, entity);
            }
        }
    }

    /// An evaluator over the state as it is now.
    pub fn evaluator(&mut self) -> Evaluator<'_> {
        self.st.fuel = self.fuel;
        Evaluator { ir: self.ir, st: &mut self.st, derived_owner: self.owners }
    }

    fn set_clock(&mut self, step: u64) {
        self.st.step = step;
        self.st.date = self.ir.scenario.date_of(step);
        let clock = self.st.layout.clock_cell();
        self.st.changed(clock);
        for (s, series) in self.ir.series.iter().enumerate() {
            let value = series_value(series, &self.st.series_points[s], step as i64).unwrap_or(Value::None);
            if self.st.series[s] != value {
                self.st.series[s] = value;
                let cell = self.st.layout.series_cell(s as u32);
                self.st.changed(cell);
            }
        }
    }
}

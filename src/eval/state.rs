//! The mutable state of a run and the bookkeeping of who read what.
//!
//! Cells are everything that can be read: slots (stored values), derived cells,
//! series, the clock and each entity's `exposure_losses`. Consumers are whatever
//! caches a result computed from cells: derived cells and rule instances. While a
//! consumer computes, every cell it reads records it as a reader; when a cell
//! changes, its readers are notified (derived caches dropped, rule instances
//! marked dirty) and the list is cleared: each reader subscribes again the next
//! time it computes.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::readers::{NO_READER, Readers};
use crate::ir::{ConstValue, Ir};
use crate::random::Stream;
use crate::value::{Date, Value};

/// Index into the cell space: slots, then derived cells, then series, then the
/// clock, then one cell per entity for its `exposure_losses`.
pub(crate) type Cell = u32;

/// A consumer: derived cell `d` is `d`; rule instance `i` is `derived_count + i`.
pub(crate) type Consumer = u32;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub step: u64,
    pub date: Option<Date>,
    pub params: Vec<Value>,
    pub slots: Vec<Value>,
    pub series: Vec<Value>,
    /// Each series' points, evaluated at the start: (step, value).
    pub series_points: Vec<Vec<(i64, Decimal)>>,
    /// For each series, the first step at which its value must be worked out
    /// again (see `series_steady_until`); 0 or missing: at the next step.
    #[serde(skip)]
    pub series_steady: Vec<u64>,
    /// Each exposure's amount and recovery rate, when they are not all literals
    /// (see `State::exposure`).
    pub exposures: Vec<(Decimal, Decimal)>,
    /// The extra fields of exposures computed from params, one column each
    /// (empty for a column of literals, read from the program).
    #[serde(default)]
    pub exposure_fields: Vec<Vec<Value>>,
    /// Each entity's `exposure_losses`, kept up to date as debtors default;
    /// `None` when it cannot be kept exactly (see `Evaluator::exposure_losses`).
    #[serde(skip)]
    pub losses: Vec<Option<Decimal>>,
    #[serde(skip)]
    pub derived: Vec<Option<Value>>,
    /// The results of each model, valid while its derived cell holds a value.
    #[serde(skip)]
    pub models: Vec<Option<super::models::ModelResult>>,
    /// The values of each `solve` system, valid while its derived cell holds a value.
    #[serde(skip)]
    pub solves: Vec<Option<super::solve::SolveResult>>,
    /// How many systems are iterating now (see `Evaluator::iterate_value`).
    #[serde(skip)]
    pub iterating: u32,
    /// Sweeps of a system whose fields state no `limit`.
    #[serde(default = "default_solve_iterations")]
    pub max_solve_iterations: u64,
    #[serde(skip)]
    pub computing: Vec<bool>,
    #[serde(skip)]
    pub readers: Readers,
    #[serde(skip)]
    pub stack: Vec<Consumer>,
    /// Rule instances whose inputs changed since they were last evaluated.
    #[serde(skip)]
    pub dirtied: Vec<u32>,
    /// The value of each expression of params and literals of the compiled
    /// form (`Op::Fixed`) once evaluated in this run, with the fuel it spent.
    #[serde(skip)]
    pub fixed: Vec<Option<(crate::ir::V, u64)>>,
    /// The fault of the compiled evaluation under way, while its nodes hand
    /// back `V::FAULT` in its place (see `eval/compiled.rs`).
    #[serde(skip)]
    pub fault: Option<super::fault::Fault>,
    /// Frames to reuse, so that evaluating allocates nothing once warm.
    #[serde(skip)]
    pub frames: Vec<Vec<Value>>,
    /// The work list of `changed`, kept for its capacity.
    #[serde(skip)]
    work: Vec<Cell>,
    /// The creditors and terms of a default's exposures (`add_default_losses`),
    /// kept for its capacity.
    #[serde(skip)]
    default_losses: Vec<(u32, Decimal, Decimal)>,
    pub layout: Layout,
    /// Evaluation steps left before the fuel limit.
    pub fuel: u64,
    /// The random numbers of this run (its seed and path).
    pub stream: Stream,
    /// The sweep path this run reproduces (its uncertain params are drawn);
    /// `None` for a base run (they keep their base values).
    pub path: Option<u64>,
}

/// Where each region of the cell space starts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub slots: u32,
    pub derived: u32,
    pub series: u32,
    /// One cell per entity after the clock: its `exposure_losses`.
    #[serde(default)]
    pub entities: u32,
}

impl Layout {
    pub fn of(ir: &Ir) -> Layout {
        Layout {
            slots: ir.slot_count,
            derived: ir.derived_count,
            series: ir.series.len() as u32,
            entities: ir.entities.len() as u32,
        }
    }

    pub fn derived_cell(self, d: u32) -> Cell {
        self.slots + d
    }
    pub fn series_cell(self, s: u32) -> Cell {
        self.slots + self.derived + s
    }
    pub fn clock_cell(self) -> Cell {
        self.slots + self.derived + self.series
    }
    pub fn losses_cell(self, entity: u32) -> Cell {
        self.clock_cell() + 1 + entity
    }
    pub fn cells(self) -> usize {
        self.clock_cell() as usize + 1 + self.entities as usize
    }
}

impl State {
    pub fn new(layout: Layout, fuel: u64) -> State {
        State {
            step: 0,
            date: None,
            params: Vec::new(),
            slots: vec![Value::None; layout.slots as usize],
            series: vec![Value::None; layout.series as usize],
            series_points: Vec::new(),
            series_steady: Vec::new(),
            exposures: Vec::new(),
            exposure_fields: Vec::new(),
            losses: vec![Some(Decimal::ZERO); layout.entities as usize],
            derived: vec![None; layout.derived as usize],
            models: Vec::new(),
            solves: Vec::new(),
            iterating: 0,
            max_solve_iterations: default_solve_iterations(),
            computing: vec![false; layout.derived as usize],
            readers: Readers::new(layout.cells()),
            stack: Vec::new(),
            dirtied: Vec::new(),
            fixed: Vec::new(),
            fault: None,
            frames: Vec::new(),
            work: Vec::new(),
            default_losses: Vec::new(),
            layout,
            fuel,
            stream: Stream::new(0, 0),
            path: None,
        }
    }

    /// The state of [`State::new`], keeping the memory of this one's lists
    /// (for the next run of the same program).
    pub fn reset(&mut self, layout: Layout, fuel: u64) {
        fn refill<T: Clone>(list: &mut Vec<T>, len: usize, value: T) {
            list.clear();
            list.resize(len, value);
        }
        self.step = 0;
        self.date = None;
        self.params.clear();
        refill(&mut self.slots, layout.slots as usize, Value::None);
        refill(&mut self.series, layout.series as usize, Value::None);
        self.series_points.clear();
        self.series_steady.clear();
        self.exposures.clear();
        self.exposure_fields.clear();
        refill(&mut self.losses, layout.entities as usize, Some(Decimal::ZERO));
        refill(&mut self.derived, layout.derived as usize, None);
        self.models.clear();
        self.solves.clear();
        self.iterating = 0;
        refill(&mut self.computing, layout.derived as usize, false);
        self.readers.reset(layout.cells());
        self.stack.clear();
        self.dirtied.clear();
        self.fixed.clear();
        self.work.clear();
        self.layout = layout;
        self.fuel = fuel;
        self.path = None;
    }

    /// Records that the consumer now computing reads `cell`.
    #[inline(always)]
    pub fn read(&mut self, cell: Cell) {
        let Some(&consumer) = self.stack.last() else { return };
        self.readers.add(cell, consumer);
    }

    /// Stores a value in a slot; notifies its readers if it changed.
    #[inline(always)]
    pub fn write_slot(&mut self, slot: u32, value: Value) -> Option<Value> {
        let old = &mut self.slots[slot as usize];
        let unchanged = match (&*old, &value) {
            (Value::Number(a), Value::Number(b)) => super::decimal::compare(*a, *b).is_eq(),
            (old, value) => old == value,
        };
        if unchanged {
            return None;
        }
        let previous = std::mem::replace(old, value);
        self.changed(slot);
        Some(previous)
    }

    /// The amount and recovery rate of exposure `x`: from the run when they
    /// depend on params, from the program when they are literals.
    #[inline]
    pub fn exposure(&self, ir: &Ir, x: u32) -> (Decimal, Decimal) {
        match self.exposures.get(x as usize) {
            Some(terms) => *terms,
            None => ir.literal_exposure(x),
        }
    }

    /// Extra field `column` of exposure `x`.
    #[inline]
    pub fn exposure_field(&self, ir: &Ir, column: u32, x: u32) -> Value {
        if let Some(v) = self.exposure_fields.get(column as usize).and_then(|c| c.get(x as usize)) {
            return v.clone();
        }
        match ir.exposure_fields.get(column as usize).and_then(|c| c.values.get(x as usize)) {
            Some(ConstValue::Literal(v)) => v.clone(),
            _ => Value::None,
        }
    }

    /// Entity `debtor` has just defaulted: adds the loss of each exposure to it
    /// to its creditor's `exposure_losses`, then notifies the readers of those.
    ///
    /// The creditors are notified together, after every loss is added: a
    /// notification only drops caches and marks instances dirty (nothing is
    /// evaluated), so its timing within the default does not matter, and the
    /// lookups of the creditors' readers, one cache miss each in a large
    /// world, are independent of each other (see `notify`).
    pub fn add_default_losses(&mut self, ir: &Ir, debtor: u32) {
        // First the exposures' creditors and terms, then the totals: in a large
        // world each is a cache miss, and the misses of a short loop overlap.
        let mut losses = std::mem::take(&mut self.default_losses);
        losses.clear();
        losses.extend(ir.as_debtor.of(debtor).iter().map(|&x| {
            let (amount, recovery) = self.exposure(ir, x);
            (ir.exposures[x as usize].creditor, amount, recovery)
        }));
        let mut work = std::mem::take(&mut self.work);
        for &(creditor, amount, recovery) in &losses {
            let total = &mut self.losses[creditor as usize];
            *total = total.and_then(|total| add_loss(total, amount, recovery));
            work.push(self.layout.losses_cell(creditor));
        }
        self.default_losses = losses;
        self.work = work;
        self.notify();
    }

    /// Sets every entity's `exposure_losses` from the `defaulted` flags (after
    /// loading a checkpoint).
    pub fn recompute_losses(&mut self, ir: &Ir) {
        self.losses = vec![Some(Decimal::ZERO); ir.entities.len()];
        for c in 0..ir.entities.len() {
            let mut total = Some(Decimal::ZERO);
            for &x in ir.as_creditor.of(c as u32) {
                let flag = ir.defaulted_slot(ir.exposures[x as usize].debtor);
                if self.slots[flag as usize] == Value::Bool(true) {
                    let (amount, recovery) = self.exposure(ir, x);
                    total = total.and_then(|total| add_loss(total, amount, recovery));
                }
            }
            self.losses[c] = total;
        }
    }

    /// Notifies every reader of `cell`, transitively through derived caches.
    #[inline(always)]
    pub fn changed(&mut self, cell: Cell) {
        // The common cases without the work list, as `notify` treats them: a
        // cell no one reads, and a cell read by one rule instance only.
        match self.readers.only(cell) {
            Some(NO_READER) => return,
            Some(consumer) if consumer >= self.layout.derived => {
                self.readers.forget_only(cell);
                self.dirtied.push(consumer - self.layout.derived);
                return;
            }
            _ => {}
        }
        self.work.push(cell);
        self.notify();
    }

    /// Notifies the readers of every cell in the work list, transitively
    /// through derived caches, and empties the list. Breadth first: the cells
    /// of one round are looked up one after the other, with no lookup waiting
    /// for the one before.
    fn notify(&mut self) {
        let State { readers, derived, dirtied, work, layout, .. } = self;
        let layout = *layout;
        // In the order of the list: the cells of one round, then those their
        // readers added.
        let mut next = 0;
        while let Some(&cell) = work.get(next) {
            next += 1;
            readers.drain(cell, |consumer| {
                if consumer < layout.derived {
                    // A cache dropped once: its cell joins the work list once.
                    let cache = &mut derived[consumer as usize];
                    if cache.is_some() {
                        *cache = None;
                        work.push(layout.derived_cell(consumer));
                    }
                } else {
                    dirtied.push(consumer - layout.derived);
                }
            });
        }
        work.clear();
    }

    /// The locals of one evaluation, `size` of them, all `None`: in place
    /// when they are few (most conditions, effects and derived values have
    /// one or two), else a frame from the pool.
    #[inline]
    pub fn locals(&mut self, size: usize) -> Locals {
        let pooled = if size > Locals::IN_PLACE { self.take_frame(size) } else { Vec::new() };
        Locals { in_place: [const { Value::None }; Locals::IN_PLACE], pooled, size }
    }

    /// Gives the memory of `locals` back to the pool.
    #[inline]
    pub fn give_locals(&mut self, locals: Locals) {
        let Locals { mut in_place, pooled, size } = locals;
        if size > Locals::IN_PLACE {
            self.give_frame(pooled);
            return;
        }
        // Only the first `size` were handed out. Those that hold memory (a
        // text, or any kind of value not named here) are dropped; the rest
        // hold none and are let go whole, without looking at each.
        for value in &mut in_place[..size] {
            let holds_no_memory = matches!(
                value,
                Value::Number(_)
                    | Value::Bool(_)
                    | Value::Date(_)
                    | Value::Entity(_)
                    | Value::Exposure(_)
                    | Value::None
            );
            if !holds_no_memory {
                *value = Value::None;
            }
        }
        std::mem::forget(in_place);
    }

    /// A frame of `size` locals, all `None`, from the pool.
    #[inline]
    pub fn take_frame(&mut self, size: usize) -> Vec<Value> {
        let mut frame = self.frames.pop().unwrap_or_default();
        frame.resize(size, Value::None);
        frame
    }

    /// Gives a frame back to the pool.
    #[inline]
    pub fn give_frame(&mut self, mut frame: Vec<Value>) {
        frame.clear();
        self.frames.push(frame);
    }
}

/// The locals of one evaluation (see [`State::locals`]).
pub(crate) struct Locals {
    in_place: [Value; Locals::IN_PLACE],
    pooled: Vec<Value>,
    size: usize,
}

impl Locals {
    /// At most this many locals are kept in place.
    const IN_PLACE: usize = 4;

    /// The locals, to read and write.
    #[inline]
    pub fn slots(&mut self) -> &mut [Value] {
        if self.size > Locals::IN_PLACE { &mut self.pooled } else { &mut self.in_place[..self.size] }
    }
}

fn default_solve_iterations() -> u64 {
    super::solve::DEFAULT_SOLVE_ITERATIONS
}

/// `total` plus the loss on one exposure, `amount × (1 − recovery)`, when the
/// result is certainly what summing the losses in any other order gives.
///
/// `exposure_losses` is defined as the sum, in the creditor's exposure order,
/// of the losses on the debtors that have defaulted; a running total adds them
/// in the order of the defaults. Decimal addition is exact, and so does not
/// depend on the order, as long as no sum needs rounding: the terms here are
/// positive, so every partial sum of the other order is at most this total, and
/// it fits if this one fits. A sum that was rounded has a smaller scale than its
/// operands. Zero (whose scale `+` does not keep) and negative losses, overflow
/// and rounding give `None`: the evaluator then sums the exposures as written.
fn add_loss(total: Decimal, amount: Decimal, recovery: Decimal) -> Option<Decimal> {
    let loss = Decimal::ONE.checked_sub(recovery).and_then(|share| amount.checked_mul(share))?;
    if loss.is_zero() || loss.is_sign_negative() {
        return None;
    }
    let sum = total.checked_add(loss)?;
    (sum.scale() == total.scale().max(loss.scale())).then_some(sum)
}

#[cfg(test)]
mod tests {
    use super::{Cell, Consumer, Layout, State, add_loss};
    use crate::value::Value;
    use rust_decimal::Decimal;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn reads(st: &mut State, consumer: Consumer, cells: &[Cell]) {
        st.stack.push(consumer);
        for &cell in cells {
            st.read(cell);
        }
        st.stack.pop();
    }

    #[test]
    fn a_change_drops_every_cache_built_on_it_once_and_dirties_its_instances() {
        // Slots 0 and 1; derived cells 0, 1, 2 are cells 2, 3, 4; instance 0 is
        // consumer 3.
        let layout = Layout { slots: 2, derived: 3, series: 0, entities: 0 };
        let mut st = State::new(layout, 1000);
        st.derived = vec![Some(Value::Number(Decimal::ONE)); 3];
        reads(&mut st, 0, &[0]);
        reads(&mut st, 1, &[2, 0, 2]);
        reads(&mut st, 2, &[3]);
        reads(&mut st, 3, &[4, 0, 1]);
        // Slot 0 reaches every derived cell, two of them by two roads.
        st.changed(0);
        assert_eq!(st.derived, vec![None, None, None]);
        let mut dirtied = std::mem::take(&mut st.dirtied);
        dirtied.dedup();
        assert_eq!(dirtied, [0]);
        // Its readers are forgotten: they subscribe again when they next compute.
        st.changed(0);
        assert!(st.dirtied.is_empty());
        // The instance still reads slot 1, which it read before slot 0 changed.
        st.changed(1);
        assert_eq!(st.dirtied, [0]);
    }

    #[test]
    fn a_reader_stays_subscribed_until_the_cell_changes_even_if_it_reads_it_no_more() {
        // Derived cell 0 (cell 2) reads slots 0 and 1, then, after slot 0
        // changed, only slot 0 (another branch of an `if`). A change of slot 1
        // still drops it: the fuel of a run counts the computation that follows.
        let layout = Layout { slots: 2, derived: 1, series: 0, entities: 0 };
        let mut st = State::new(layout, 1000);
        st.derived = vec![Some(Value::Bool(true))];
        reads(&mut st, 0, &[0, 1]);
        st.changed(0);
        assert_eq!(st.derived, vec![None]);
        st.derived = vec![Some(Value::Bool(false))];
        reads(&mut st, 0, &[0]);
        st.changed(1);
        assert_eq!(st.derived, vec![None]);
    }

    #[test]
    fn a_running_loss_total_adds_only_what_is_exact_in_any_order() {
        assert_eq!(add_loss(Decimal::ZERO, d("1.25"), d("0.4")), Some(d("0.750")));
        assert_eq!(add_loss(d("0.750"), d("7"), d("0.125")).map(|s| s.scale()), Some(3));
        // Zero and negative losses, overflow and rounding: no running total.
        assert_eq!(add_loss(Decimal::ZERO, d("5"), Decimal::ONE), None);
        assert_eq!(add_loss(Decimal::ZERO, d("-2"), Decimal::ZERO), None);
        assert_eq!(add_loss(Decimal::MAX, d("1"), Decimal::ZERO), None);
        assert_eq!(add_loss(d("79228162514264337593543950"), d("0.0001"), Decimal::ZERO), None);
    }
}

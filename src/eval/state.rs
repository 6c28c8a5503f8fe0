//! The mutable state of a run and the bookkeeping of who read what.
//!
//! Cells are everything that can be read: slots (stored values), derived cells,
//! series and the clock. Consumers are whatever caches a result computed from
//! cells: derived cells and rule instances. While a consumer computes, every cell
//! it reads records it as a reader; when a cell changes, its readers are
//! notified (derived caches dropped, rule instances marked dirty) and the list
//! is cleared: each reader subscribes again the next time it computes.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::value::{Date, Value};

/// Index into the cell space: slots, then derived cells, then series, then the clock.
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
    /// Each exposure's amount and recovery rate.
    pub exposures: Vec<(Decimal, Decimal)>,
    #[serde(skip)]
    pub derived: Vec<Option<Value>>,
    #[serde(skip)]
    pub computing: Vec<bool>,
    #[serde(skip)]
    pub readers: Vec<Vec<Consumer>>,
    #[serde(skip)]
    pub stack: Vec<Consumer>,
    /// Rule instances whose inputs changed since they were last evaluated.
    #[serde(skip)]
    pub dirtied: Vec<u32>,
    pub layout: Layout,
    /// Evaluation steps left before the fuel limit.
    pub fuel: u64,
}

/// Where each region of the cell space starts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub slots: u32,
    pub derived: u32,
    pub series: u32,
}

impl Layout {
    pub fn derived_cell(self, d: u32) -> Cell {
        self.slots + d
    }
    pub fn series_cell(self, s: u32) -> Cell {
        self.slots + self.derived + s
    }
    pub fn clock_cell(self) -> Cell {
        self.slots + self.derived + self.series
    }
    pub fn cells(self) -> usize {
        self.clock_cell() as usize + 1
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
            exposures: Vec::new(),
            derived: vec![None; layout.derived as usize],
            computing: vec![false; layout.derived as usize],
            readers: vec![Vec::new(); layout.cells()],
            stack: Vec::new(),
            dirtied: Vec::new(),
            layout,
            fuel,
        }
    }

    /// Records that the consumer now computing reads `cell`.
    #[inline]
    pub fn read(&mut self, cell: Cell) {
        let Some(&consumer) = self.stack.last() else { return };
        let readers = &mut self.readers[cell as usize];
        if readers.last() == Some(&consumer) {
            return;
        }
        readers.push(consumer);
        // Consumers that recompute without being notified subscribe again;
        // squeeze out the repeats now and then.
        let len = readers.len();
        if len >= 32 && len.is_power_of_two() {
            readers.sort_unstable();
            readers.dedup();
        }
    }

    /// Stores a value in a slot; notifies its readers if it changed.
    pub fn write_slot(&mut self, slot: u32, value: Value) -> Option<Value> {
        let old = &mut self.slots[slot as usize];
        if *old == value {
            return None;
        }
        let previous = std::mem::replace(old, value);
        self.changed(slot);
        Some(previous)
    }

    /// Notifies every reader of `cell`, transitively through derived caches.
    pub fn changed(&mut self, cell: Cell) {
        let derived_count = self.layout.derived;
        let mut work = vec![cell];
        while let Some(cell) = work.pop() {
            let readers = std::mem::take(&mut self.readers[cell as usize]);
            for consumer in readers {
                if consumer < derived_count {
                    if self.derived[consumer as usize].take().is_some() {
                        work.push(self.layout.derived_cell(consumer));
                    }
                } else {
                    self.dirtied.push(consumer - derived_count);
                }
            }
        }
    }
}

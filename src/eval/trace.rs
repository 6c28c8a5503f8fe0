//! What a run records: every firing with the values it read, every change of a
//! stored value and every event, each with its cause.

use serde::{Deserialize, Serialize};

use crate::value::{Date, Value};

/// A value that a firing read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ReadKey {
    Slot(u32),
    Derived(u32),
    Series(u32),
    Param(u32),
    Clock,
    /// `exposure_losses(e)`.
    Losses(u32),
    /// An aggregate over `exposures_of(e)`.
    ExposuresOf(u32),
    /// An aggregate over `exposures_to(e)`.
    ExposuresTo(u32),
    /// A result of model `.0` for entity `.1` (`u32::MAX`: of the whole kind).
    Model(u32, u32),
}

impl ReadKey {
    /// The key of a field's cell.
    pub fn of(cell: crate::ir::Cell) -> ReadKey {
        match cell {
            crate::ir::Cell::Slot(slot) => ReadKey::Slot(slot),
            crate::ir::Cell::Derived(d) => ReadKey::Derived(d),
        }
    }
}

/// One rule instance firing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FiringRecord {
    pub step: u64,
    pub rule: u32,
    pub bindings: Box<[u32]>,
    /// What the condition and the effects read, with the values they saw.
    pub reads: Vec<(ReadKey, Value)>,
    /// How many changes had been recorded when it fired (its inputs came before).
    pub changes_before: usize,
}

/// A stored value that changed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ChangeRecord {
    pub step: u64,
    pub slot: u32,
    pub from: Value,
    pub to: Value,
    /// The firing whose effect wrote it.
    pub cause: u32,
    /// True when the effect was scheduled by `after` in an earlier step.
    pub delayed: bool,
    /// True when the write set the value (`=`, a default, by hand) rather than
    /// changing it (`+=` and the like): what came before no longer counts.
    #[serde(default)]
    pub set: bool,
}

/// Something that happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum EventKind {
    Default(u32),
    Emit(String),
    Stop(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub step: u64,
    pub kind: EventKind,
    pub cause: u32,
}

/// The date of each step that ran, and where its records start.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StepMark {
    pub step: u64,
    pub date: Option<Date>,
    pub firings: usize,
    pub changes: usize,
    pub events: usize,
}

/// Everything a run recorded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Log {
    pub firings: Vec<FiringRecord>,
    pub changes: Vec<ChangeRecord>,
    pub events: Vec<EventRecord>,
    pub steps: Vec<StepMark>,
    /// Records kept so far, for `Limits::max_trace`: each firing, each value it
    /// read and each of its effects counts one.
    #[serde(default)]
    pub recorded: u64,
}

impl Log {
    /// The records of step `index` (into `steps`): firings, changes, events.
    pub fn ranges(
        &self,
        index: usize,
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>, std::ops::Range<usize>) {
        let mark = &self.steps[index];
        let next = self.steps.get(index + 1);
        let end = |f: fn(&StepMark) -> usize, total: usize| next.map_or(total, f);
        (
            mark.firings..end(|m| m.firings, self.firings.len()),
            mark.changes..end(|m| m.changes, self.changes.len()),
            mark.events..end(|m| m.events, self.events.len()),
        )
    }
}

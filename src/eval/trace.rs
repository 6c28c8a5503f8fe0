//! What a run records: every firing with the values it read, every change of a
//! stored value and every event, each with its cause.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::{Date, Value};

/// The entities bound to a rule's binders, in binder order. Most rules bind
/// one entity, and a large world has an instance of such a rule per entity:
/// one binding is held in place (no allocation, and no second cache miss to
/// reach it), more on the heap. Saved in checkpoints as the list it derefs to.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Bindings {
    One(u32),
    Many(Box<[u32]>),
}

impl std::ops::Deref for Bindings {
    type Target = [u32];
    #[inline]
    fn deref(&self) -> &[u32] {
        match self {
            Bindings::One(e) => std::slice::from_ref(e),
            Bindings::Many(list) => list,
        }
    }
}

impl From<&[u32]> for Bindings {
    fn from(list: &[u32]) -> Bindings {
        match list {
            [e] => Bindings::One(*e),
            _ => Bindings::Many(list.into()),
        }
    }
}

impl std::fmt::Debug for Bindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Bindings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Bindings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bindings, D::Error> {
        Vec::<u32>::deserialize(deserializer).map(|list| Bindings::from(list.as_slice()))
    }
}

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
    pub bindings: Bindings,
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

#[cfg(test)]
mod tests {
    use super::Bindings;

    #[test]
    fn bindings_are_the_list_they_hold_and_are_saved_as_it() {
        for list in [&[][..], &[7][..], &[3, 9][..], &[1, 2, 3][..]] {
            let bindings = Bindings::from(list);
            assert_eq!(&*bindings, list);
            let saved = serde_json::to_string(&bindings).unwrap();
            assert_eq!(saved, serde_json::to_string(list).unwrap());
            assert_eq!(serde_json::from_str::<Bindings>(&saved).unwrap(), bindings);
        }
        assert!(matches!(Bindings::from(&[5][..]), Bindings::One(5)));
        assert_eq!(size_of::<Bindings>(), size_of::<Box<[u32]>>());
    }
}

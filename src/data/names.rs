//! The names of data entities, for the million lookups of a large file of
//! exposures: an open-addressed table of 16-byte slots that hold a short name
//! itself (most names from data are short: `b41237`, `HSBC`) and the entity's
//! number, so that a lookup touches one slot and no string elsewhere in
//! memory. Longer names are kept once, one after another, in one string.
//!
//! A table of 100,000 names does not stay in the processor's caches, so a
//! lookup waits for memory; [`DataNames::touch`] lets a reader start the
//! loads of several lookups before it waits for any of them (see
//! `chunks.rs`).

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use super::rows::Origin;

/// Names of at most this many bytes are held in their slot.
const INLINE: usize = 8;

/// A slot with no name.
const EMPTY: u32 = u32::MAX;

/// One name: its bytes (`len <= INLINE`) or where it starts in
/// [`DataNames::long`], and the entity's number (`EMPTY` for a free slot).
#[derive(Clone, Copy)]
struct Slot {
    index: u32,
    len: u32,
    text: [u8; INLINE],
}

const FREE: Slot = Slot { index: EMPTY, len: 0, text: [0; INLINE] };

/// The data entities by name, and where each was declared.
#[derive(Default)]
pub(super) struct DataNames {
    /// A power of two of slots, at most three quarters full (or none).
    slots: Vec<Slot>,
    /// Names longer than [`INLINE`], one after another.
    long: String,
    /// Where each data entity was declared, by its number.
    origins: Vec<Origin>,
}

/// The hash of a name (fixed seed: the same in every run).
pub(super) fn hash(name: &[u8]) -> u64 {
    FixedState::with_seed(0).hash_one(name)
}

/// The name a slot holds.
fn name_of<'a>(slot: &'a Slot, long: &'a str) -> &'a [u8] {
    let len = slot.len as usize;
    if len <= INLINE {
        return &slot.text[..len];
    }
    let start = u32::from_le_bytes([slot.text[0], slot.text[1], slot.text[2], slot.text[3]]) as usize;
    long.as_bytes().get(start..start + len).unwrap_or(&[])
}

/// A short name's bytes, padded with zeros, as its slot holds them.
fn inline(name: &[u8]) -> Option<[u8; INLINE]> {
    let mut text = [0u8; INLINE];
    text.get_mut(..name.len())?.copy_from_slice(name);
    Some(text)
}

impl DataNames {
    /// The number of names.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Makes room for `more` names.
    pub fn reserve(&mut self, more: usize) {
        let wanted = self.len().saturating_add(more);
        if wanted.saturating_mul(4) / 3 >= self.slots.len() {
            self.grow(wanted);
        }
    }

    /// Moves the names into a table with room for `names` of them.
    fn grow(&mut self, names: usize) {
        let size = (names.saturating_mul(4) / 3 + 1).max(16).next_power_of_two();
        let old = std::mem::replace(&mut self.slots, vec![FREE; size]);
        for slot in old.into_iter().filter(|s| s.index != EMPTY) {
            let at = self.free_slot(hash(name_of(&slot, &self.long)));
            self.slots[at] = slot;
        }
    }

    /// The first free slot from the one of hash `h`.
    fn free_slot(&self, h: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        while self.slots[i].index != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// Reads the slot where the name of hash `h` is looked for first, so
    /// that several lookups wait for memory at once: a reader touches the
    /// slots of a batch of names, then looks them up ([`DataNames::number`]).
    pub fn touch(&self, h: u64) -> u32 {
        match self.slots.len() {
            0 => 0,
            n => self.slots[h as usize & (n - 1)].len,
        }
    }

    /// The number of the entity called `name`, whose hash is `h`.
    pub fn number(&self, name: &str, h: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let bytes = name.as_bytes();
        let (len, text) = (bytes.len() as u32, inline(bytes));
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.index == EMPTY {
                return None;
            }
            let same = match text {
                Some(text) => slot.len == len && slot.text == text,
                None => slot.len == len && name_of(slot, &self.long) == bytes,
            };
            if same {
                return Some(slot.index);
            }
            i = (i + 1) & mask;
        }
    }

    /// Where the entity called `name` was declared.
    pub fn get(&self, name: &str) -> Option<Origin> {
        let index = self.number(name, hash(name.as_bytes()))?;
        self.origins.get(index as usize).copied()
    }

    /// Adds a name that is not there yet: the next entity, declared at `origin`
    /// (whose `index` is its number, [`DataNames::len`]).
    pub fn insert(&mut self, name: &str, origin: Origin) {
        debug_assert_eq!(origin.index as usize, self.len(), "data entities are numbered as they are named");
        self.reserve(1);
        let bytes = name.as_bytes();
        let index = self.origins.len() as u32;
        let text = inline(bytes).unwrap_or_else(|| {
            let start = (self.long.len() as u32).to_le_bytes();
            self.long.push_str(name);
            [start[0], start[1], start[2], start[3], 0, 0, 0, 0]
        });
        let at = self.free_slot(hash(bytes));
        self.slots[at] = Slot { index, len: bytes.len() as u32, text };
        self.origins.push(origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_are_found() {
        let mut names = DataNames::default();
        let words: Vec<String> = (0..5000)
            .map(|i| match i % 3 {
                0 => format!("b{i}"),
                1 => format!("549300{i:014}"),
                _ => format!("Bank {i}, Ltd"),
            })
            .collect();
        for (i, w) in words.iter().enumerate() {
            assert!(names.get(w).is_none());
            names.insert(w, Origin { file: 0, record: i as u32 * 7, index: i as u32 });
        }
        assert_eq!(names.len(), words.len());
        for (i, w) in words.iter().enumerate() {
            assert_eq!(names.get(w).map(|o| o.record), Some(i as u32 * 7), "{w}");
        }
        for missing in ["", "b", "b5000", "b1x", "549300", "Bank 2, Ltd."] {
            assert!(names.get(missing).is_none(), "{missing}");
        }
        names.insert("", Origin { file: 1, record: 0, index: 5000 });
        assert_eq!(names.get("").map(|o| o.file), Some(1));
        for (i, w) in words.iter().enumerate() {
            let h = hash(w.as_bytes());
            let _ = names.touch(h);
            assert_eq!(names.number(w, h), Some(i as u32), "{w}");
        }
        let empty = DataNames::default();
        assert_eq!((empty.touch(7), empty.number("b1", 7)), (0, None));
    }
}

//! The names of data entities, for the million lookups of a large file of
//! exposures: a table of 16-byte slots that hold a short name itself (most
//! names from data are short: `b41237`, `HSBC`), so that a lookup touches one
//! slot and no string elsewhere in memory. Longer names are kept once, one
//! after another, in one string.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::rows::Origin;

/// Names of at most this many bytes are held in their slot.
const INLINE: usize = 8;

/// One name: its bytes (`len <= INLINE`) or where it starts in
/// [`DataNames::long`], and the entity's number.
#[derive(Clone, Copy)]
struct Slot {
    index: u32,
    len: u32,
    text: [u8; INLINE],
}

/// The data entities by name, and where each was declared.
#[derive(Default)]
pub(super) struct DataNames {
    table: HashTable<Slot>,
    /// Names longer than [`INLINE`], one after another.
    long: String,
    /// Where each data entity was declared, by its number.
    origins: Vec<Origin>,
}

/// The hash of a name (fixed seed: the same in every run).
fn hash(name: &[u8]) -> u64 {
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
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Makes room for `more` names.
    pub fn reserve(&mut self, more: usize) {
        let long = &self.long;
        self.table.reserve(more, |slot| hash(name_of(slot, long)));
        self.origins.reserve(more);
    }

    /// Where the entity called `name` was declared.
    pub fn get(&self, name: &str) -> Option<Origin> {
        let bytes = name.as_bytes();
        let slot = match inline(bytes) {
            Some(text) => {
                let len = bytes.len() as u32;
                self.table.find(hash(bytes), |s| s.len == len && s.text == text)
            }
            None => self.table.find(hash(bytes), |s| name_of(s, &self.long) == bytes),
        }?;
        self.origins.get(slot.index as usize).copied()
    }

    /// Adds a name that is not there yet: the next entity, declared at `origin`
    /// (whose `index` is its number, [`DataNames::len`]).
    pub fn insert(&mut self, name: &str, origin: Origin) {
        let bytes = name.as_bytes();
        let index = self.origins.len() as u32;
        let text = inline(bytes).unwrap_or_else(|| {
            let start = (self.long.len() as u32).to_le_bytes();
            self.long.push_str(name);
            [start[0], start[1], start[2], start[3], 0, 0, 0, 0]
        });
        let slot = Slot { index, len: bytes.len() as u32, text };
        let long = &self.long;
        self.table.insert_unique(hash(bytes), slot, |s| hash(name_of(s, long)));
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
    }
}

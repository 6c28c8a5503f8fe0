//! Who reads each cell, in as little memory as the common case allows.
//!
//! Most cells have one reader or none (a bank's `losses` is read by its own
//! rule instance, its `exposure_losses` by its `losses`), and a cell is looked
//! at, at random, whenever a debtor's default reaches it. So each cell holds
//! its only reader itself, in one `u32` of a dense array (no allocation, one
//! cache line for sixteen cells); a cell read by two consumers or more points
//! at a list, and a list given up by a cell that changed is kept for the next
//! cell that needs one.

use super::state::{Cell, Consumer};

/// A head with no reader.
const EMPTY: u32 = u32::MAX;
/// What [`Readers::only`] gives for a cell that no one reads.
pub(crate) const NO_READER: Consumer = EMPTY;
/// The bit of a head that points at a list (the rest is the list's number).
/// A consumer with this bit set (over two billion derived cells and rule
/// instances) is always kept in a list.
const LIST: u32 = 1 << 31;

#[derive(Clone, Debug, Default)]
pub(crate) struct Readers {
    /// Per cell: `EMPTY`, its one reader, or `LIST | n` for `lists[n]`.
    heads: Vec<u32>,
    lists: Vec<Vec<Consumer>>,
    /// Numbers of the lists no cell uses (each empty, keeping its memory).
    free: Vec<u32>,
}

impl Readers {
    /// `cells` cells, none read.
    pub fn new(cells: usize) -> Readers {
        Readers { heads: vec![EMPTY; cells], lists: Vec::new(), free: Vec::new() }
    }

    /// No cell read, `cells` of them, keeping the memory.
    pub fn reset(&mut self, cells: usize) {
        self.heads.clear();
        self.heads.resize(cells, EMPTY);
        self.free.clear();
        for (n, list) in self.lists.iter_mut().enumerate() {
            list.clear();
            self.free.push(n as u32);
        }
    }

    /// Records that `consumer` reads `cell` (once is enough: a repeat among
    /// the last few readers is not recorded again).
    #[inline(always)]
    pub fn add(&mut self, cell: Cell, consumer: Consumer) {
        let head = &mut self.heads[cell as usize];
        if *head == consumer {
            return;
        }
        if *head == EMPTY && consumer & LIST == 0 {
            *head = consumer;
            return;
        }
        self.add_to_list(cell, consumer);
    }

    /// `add` for a cell whose reader is not `consumer` and that has a reader
    /// already (or `consumer` needs a list): the cell's list, begun if need be.
    #[inline(never)]
    fn add_to_list(&mut self, cell: Cell, consumer: Consumer) {
        let head = self.heads[cell as usize];
        if head == EMPTY || head & LIST == 0 {
            self.begin_list(cell, consumer);
            return;
        }
        let readers = &mut self.lists[(head & !LIST) as usize];
        // A consumer that computes again without being notified (another of its
        // inputs changed) is usually among the last few readers: the few that
        // share this cell (`l.debt` read by each rule about `l`).
        if readers.iter().rev().take(4).any(|&c| c == consumer) {
            return;
        }
        readers.push(consumer);
        // Consumers that recompute without being notified subscribe again;
        // squeeze out the repeats now and then.
        let len = readers.len();
        if len >= 32 && len.is_power_of_two() {
            squeeze(readers);
        }
    }

    /// Gives `cell` a list, with its one reader (if any) and `consumer`.
    #[cold]
    fn begin_list(&mut self, cell: Cell, consumer: Consumer) {
        let head = self.heads[cell as usize];
        let n = match self.free.pop() {
            Some(n) => n,
            None => {
                self.lists.push(Vec::new());
                (self.lists.len() - 1) as u32
            }
        };
        let readers = &mut self.lists[n as usize];
        if head != EMPTY {
            readers.push(head);
        }
        readers.push(consumer);
        self.heads[cell as usize] = LIST | n;
    }

    /// The one reader of `cell` ([`NO_READER`] when it has none), or `None`
    /// when it has a list of them.
    #[inline]
    pub fn only(&self, cell: Cell) -> Option<Consumer> {
        let head = self.heads[cell as usize];
        if head != EMPTY && head & LIST != 0 { None } else { Some(head) }
    }

    /// Forgets the one reader of `cell` (see [`Readers::only`]).
    #[inline]
    pub fn forget_only(&mut self, cell: Cell) {
        self.heads[cell as usize] = EMPTY;
    }

    /// Calls `notify` with each reader of `cell`, and forgets them: each
    /// subscribes again when it next computes.
    #[inline]
    pub fn drain(&mut self, cell: Cell, mut notify: impl FnMut(Consumer)) {
        let head = std::mem::replace(&mut self.heads[cell as usize], EMPTY);
        if head == EMPTY {
            return;
        }
        if head & LIST == 0 {
            notify(head);
            return;
        }
        let n = head & !LIST;
        let list = &mut self.lists[n as usize];
        for &consumer in list.iter() {
            notify(consumer);
        }
        // Empty now; its memory goes to the next cell with several readers.
        list.clear();
        self.free.push(n);
    }
}

/// Squeezes the repeats out of a busy list.
#[cold]
fn squeeze(readers: &mut Vec<Consumer>) {
    readers.sort_unstable();
    readers.dedup();
}

#[cfg(test)]
mod tests {
    use super::{LIST, Readers};

    fn drained(readers: &mut Readers, cell: u32) -> Vec<u32> {
        let mut seen = Vec::new();
        readers.drain(cell, |c| seen.push(c));
        seen
    }

    #[test]
    fn each_cell_gives_its_readers_once_and_forgets_them() {
        let mut readers = Readers::new(4);
        readers.add(0, 7);
        readers.add(0, 7);
        readers.add(1, 3);
        readers.add(1, 5);
        readers.add(1, 3);
        readers.add(2, LIST + 1);
        assert_eq!(drained(&mut readers, 0), [7]);
        assert_eq!(drained(&mut readers, 0), Vec::<u32>::new());
        assert_eq!(drained(&mut readers, 1), [3, 5]);
        assert_eq!(drained(&mut readers, 2), [LIST + 1]);
        assert_eq!(drained(&mut readers, 3), Vec::<u32>::new());
        // Cells 1 and 2 had a list each; a list given up is used again.
        assert_eq!(readers.lists.len(), 2);
        readers.add(3, 1);
        readers.add(3, 2);
        assert_eq!(readers.lists.len(), 2);
        assert_eq!(drained(&mut readers, 3), [1, 2]);
        readers.add(0, 4);
        readers.add(0, 5);
        readers.reset(2);
        assert_eq!(drained(&mut readers, 0), Vec::<u32>::new());
        assert_eq!(drained(&mut readers, 1), Vec::<u32>::new());
        assert_eq!(readers.free.len(), 2);
    }

    #[test]
    fn repeated_readers_of_a_busy_cell_are_squeezed_out() {
        let mut readers = Readers::new(1);
        for round in 0..10 {
            for c in 0..20 {
                readers.add(0, c);
            }
            assert!(readers.lists[0].len() <= 64, "round {round}");
        }
        let mut seen = drained(&mut readers, 0);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
    }
}

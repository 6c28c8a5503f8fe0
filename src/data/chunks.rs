//! A large plain file of exposures read in chunks, on several threads.
//!
//! A file without quotes (`Table::chunks`) is cut at line breaks into
//! stretches of about [`CHUNK_BYTES`]; each is read on its own, on rayon's
//! threads, into its exposures, the names it could not find among the data
//! entities and its problems (capped as a file's are). The table of names is
//! only read meanwhile: the entities were loaded before. The chunks are then
//! taken in file order, so what comes out is what reading the file row by row
//! gives, byte for byte, whatever the number of threads:
//! - the problems: a chunk keeps its first [`MAX_PROBLEMS_PER_FILE`] and counts
//!   the rest; the file's first ones are among the chunks' first ones, taken in
//!   order, and the count adds up;
//! - the names a chunk did not find (script entities, entities of a later file,
//!   unknown names) are looked up in order, creditor before debtor, as the
//!   row-by-row reader looks them up (the script's entities are numbered in the
//!   order exposures first name them);
//! - the limit on exposures: chunks are used only when the file cannot go over
//!   it (it has fewer lines than the exposures still allowed), so no row
//!   depends on how many came before it.

use rayon::prelude::*;
use rust_decimal::Decimal;

use super::exposures::{Columns, LastCreditor, Unresolved, checked, exposure};
use super::names::{DataNames, hash};
use super::rows::{MAX_PROBLEMS_PER_FILE, Problems, Text, World, admit};
use super::table::{Chunk, Table};
use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::ir::ExposureDef;

/// About this many bytes of a file are read at a time (10,000 exposures or
/// so): large enough that a chunk's start costs nothing, small enough that
/// the threads finish together.
pub(super) const CHUNK_BYTES: usize = 256 << 10;

/// What one chunk gave. Its exposures are in its own stretch of the file's
/// vector of exposures (`World::exposures_in_chunks`), the first `filled`.
struct Part {
    /// Its rows (the header not counted), good or not.
    rows: usize,
    /// How many exposures it wrote.
    filled: usize,
    /// Names not among the data entities: `row` is an index into its stretch.
    pending: Vec<Unresolved>,
    problems: Problems,
}

impl World {
    /// The chunks to read `table` in, if there are several and it cannot go
    /// over the limit on exposures.
    pub(super) fn chunks_to_read(&self, table: &mut Table) -> Option<Vec<Chunk>> {
        let chunks = table.take_chunks(CHUNK_BYTES)?;
        let most: usize = chunks.iter().map(Chunk::max_rows).sum();
        let already = self.script_exposures + self.exposures.len();
        let within = already.saturating_add(most) <= self.limits.max_exposures;
        (chunks.len() > 1 && within).then_some(chunks)
    }

    /// Reads a plain file of exposures with no extra field in `chunks`, after
    /// its header's `problems`: what [`World::exposures`] gives for it.
    ///
    /// Each chunk writes its exposures straight into its own stretch of one
    /// vector, as long as the most rows it can hold; without blank lines a
    /// chunk holds exactly that many, so the stretches already lie end to
    /// end and nothing is copied (a gap left by blank or bad rows is closed
    /// up afterwards). The vector is filled in on rayon's threads too, so
    /// that the pages of a large file are first touched on both cores.
    pub(super) fn exposures_in_chunks(
        &mut self,
        table: Table,
        columns: Columns,
        chunks: &[Chunk],
        mut problems: Problems,
    ) -> Result<usize, Diagnostics> {
        let file = self.files.len();
        let names = &self.data_names;
        let most: usize = chunks.iter().map(Chunk::max_rows).sum();
        let mut read: Vec<ExposureDef> = Vec::with_capacity(most);
        read.par_extend((0..most).into_par_iter().map(|_| exposure(u32::MAX, u32::MAX, Decimal::ZERO, None)));
        let mut stretches = Vec::with_capacity(chunks.len());
        let mut rest = read.as_mut_slice();
        for chunk in chunks {
            let (stretch, after) = rest.split_at_mut(chunk.max_rows().min(rest.len()));
            stretches.push(stretch);
            rest = after;
        }
        let parts: Vec<Part> = chunks
            .par_iter()
            .zip(stretches)
            .map(|(&chunk, stretch)| read_chunk(&table, chunk, columns, names, (file, stretch)))
            .collect();
        let first_row = self.exposures.len();
        let (mut rows, mut unresolved) = (0, Vec::new());
        // `start`: where a chunk's stretch begins; `end`: where its exposures
        // go, after those of the chunks before it.
        let (mut start, mut end) = (0, 0);
        for (part, chunk) in parts.into_iter().zip(chunks) {
            rows += part.rows;
            for problem in part.problems.list {
                problems.push(problem);
            }
            problems.more += part.problems.more;
            for mut u in part.pending {
                match self.endpoint(&u.name) {
                    Some(e) => {
                        let x = &mut read[start + u.row];
                        *(if u.debtor { &mut x.debtor } else { &mut x.creditor }) = e;
                    }
                    None => {
                        u.row += first_row + end;
                        unresolved.push(u);
                    }
                }
            }
            if start != end {
                read.copy_within(start..start + part.filled, end);
            }
            end += part.filled;
            start += chunk.max_rows();
        }
        read.truncate(end);
        self.files.push(Text { name: table.name, text: table.text, bom: table.bom, name_column: 0 });
        if !problems.is_empty() {
            return Err(problems.into_diagnostics(&self.files[file].source()));
        }
        if self.exposures.is_empty() {
            self.exposures = read;
        } else {
            self.exposures.append(&mut read);
        }
        self.unresolved.append(&mut unresolved);
        Ok(rows)
    }
}

/// Debtors are looked up this many at a time (see [`DataNames::touch`]).
const BATCH: usize = 16;

/// A debtor waiting for its lookup: its cell (start and end in the text), its
/// exposure (an index into `Part::read`) and where its record starts.
type Debtor = (usize, usize, usize, usize);

/// The rows of one chunk: checked, their names looked up among the data
/// entities only. A row's debtor is looked up with those of the rows around it
/// (files list a creditor's exposures together: its creditor is usually the
/// row before's); the names not found are put back in row order.
fn read_chunk(
    table: &Table,
    chunk: Chunk,
    columns: Columns,
    names: &DataNames,
    (file, stretch): (usize, &mut [ExposureDef]),
) -> Part {
    let mut part = Part { rows: 0, filled: 0, pending: Vec::new(), problems: Problems::new() };
    let mut last_creditor = LastCreditor::default();
    let mut debtors: Vec<Debtor> = Vec::with_capacity(BATCH);
    let text = table.text.as_str();
    table.chunk_rows(chunk, |row| {
        let row = match row {
            Ok(row) => row,
            Err(problem) => return part.problems.push(problem),
        };
        // No limit here: the file is within it (`World::chunks_to_read`).
        if !admit(table, row, &mut part.problems, &mut part.rows, (0, usize::MAX), "exposures") {
            return;
        }
        let (amount, recovery, c, d) = match checked(table, row, columns) {
            Ok(read) => read,
            Err(problem) => return part.problems.push(problem),
        };
        let index = part.filled;
        let Some(slot) = stretch.get_mut(index) else {
            // Cannot happen: a chunk has no more rows than lines. Were it to,
            // the file would be refused, not misread.
            return part.problems.push(too_many_rows(table, row));
        };
        let pending = &mut part.pending;
        let mut end = |name: &str, column: usize, debtor: bool| match names.get(name) {
            Some(origin) => origin.index,
            None => {
                let record = row.start;
                pending.push(Unresolved { file, row: index, debtor, name: name.to_string(), record, column });
                u32::MAX
            }
        };
        let creditor = last_creditor.get(c, |c| end(c, columns.creditor, false));
        let debtor = match row.cell_range(columns.debtor) {
            Some((start, stop)) => {
                debtors.push((start, stop, index, row.start));
                u32::MAX
            }
            None => end(d, columns.debtor, true),
        };
        *slot = exposure(creditor, debtor, amount, recovery);
        part.filled += 1;
        if debtors.len() == BATCH {
            look_up(&mut debtors, text, names, (&mut part, stretch), (file, columns.debtor));
        }
    });
    look_up(&mut debtors, text, names, (&mut part, stretch), (file, columns.debtor));
    // A row's creditor before its debtor, as the rows were read.
    part.pending.sort_by_key(|u| (u.row, u.debtor));
    debug_assert!(part.problems.list.len() <= MAX_PROBLEMS_PER_FILE);
    part
}

/// The problem of a row past the most rows its chunk can hold, which its
/// lines rule out: a bug, reported rather than misread.
fn too_many_rows(table: &Table, row: &super::table::Row) -> Problem {
    Problem::error(
        codes::data::bad_csv,
        "this row cannot be read: its chunk holds more rows than lines (a bug)",
    )
    .label(table.row_span(row), "here")
}

/// Looks the waiting debtors up: their slots are touched first, all of them,
/// so that the processor waits for the memory of several at once.
fn look_up(
    debtors: &mut Vec<Debtor>,
    text: &str,
    names: &DataNames,
    (part, stretch): (&mut Part, &mut [ExposureDef]),
    at: (usize, usize),
) {
    let mut hashes = [0u64; BATCH];
    let mut touched = 0;
    for (h, &(start, end, ..)) in hashes.iter_mut().zip(debtors.iter()) {
        *h = hash(&text.as_bytes()[start..end]);
        touched ^= names.touch(*h);
    }
    std::hint::black_box(touched);
    for (&h, (start, end, row, record)) in hashes.iter().zip(debtors.drain(..)) {
        let name = &text[start..end];
        match names.number(name, h) {
            Some(e) => stretch[row].debtor = e,
            None => part.pending.push(Unresolved {
                file: at.0,
                row,
                debtor: true,
                name: name.to_string(),
                record,
                column: at.1,
            }),
        }
    }
}

//! A CSV file read into rows of cells, each cell with the byte span it came from.
//!
//! The `csv` crate does the reading (quotes, `""` escapes, CRLF); the spans of
//! cells are found again from each record's starting offset only when a problem
//! needs one, so a clean file costs what the `csv` crate costs. The text is the
//! loader's bytes, moved, not copied: a [`SourceFile`] is made of it only for
//! a diagnostic.

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::source::{SourceFile, Span};

/// A data file's text and its header, ready to be read row by row.
pub(crate) struct Table {
    /// What diagnostics call the file.
    pub name: String,
    /// The text (without a byte-order mark), for spans and diagnostics.
    pub text: String,
    /// True if the file began with a byte-order mark (dropped from `text`,
    /// but part of the bytes whose SHA-256 the provenance records).
    pub bom: bool,
    /// The header's cells.
    pub header: Vec<String>,
    /// Where the header's line starts and ends.
    pub header_span: Span,
    /// True if the text has no quote and no lone `\r`: its records are its
    /// lines (see [`is_plain`]), so it can be cut into [`Chunk`]s.
    plain: bool,
    /// Its chunks, when cut ahead of reading ([`Table::cut_ahead`]).
    cut: Option<Vec<Chunk>>,
}

/// A stretch of whole lines of a plain file (no quote: a line never
/// continues a record of the line before), read on its own by
/// [`Table::chunk_rows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Its first byte (the start of a line) and the byte after its last line.
    pub start: usize,
    pub end: usize,
    /// The line of `start` (from 1).
    pub line: u64,
    /// How many line breaks it holds.
    pub breaks: u64,
    /// The most rows it can hold: its lines (one a break, and one more for a
    /// last line without a break), less the header's.
    pub most: u64,
}

impl Chunk {
    /// The most rows it can hold.
    pub fn max_rows(&self) -> usize {
        self.most as usize
    }
}

/// One row: its cells (trimmed of spaces) and where the record starts.
pub(crate) struct Row<'a> {
    cells: Cells<'a>,
    /// Byte offset of the record's first cell.
    pub start: usize,
    /// Its line (from 1).
    pub line: u64,
}

/// The cells of a row: as the `csv` crate read them, or (in a file without
/// quotes) the spans of the text between commas.
enum Cells<'a> {
    Csv(&'a csv::StringRecord),
    Plain(&'a str, &'a [(u32, u32)]),
}

impl Row<'_> {
    /// The text of cell `i` ("" when the row is shorter), trimmed of spaces.
    pub fn cell(&self, i: usize) -> &str {
        self.raw(i).trim()
    }

    /// Where cell `i`, trimmed as [`Row::cell`] gives it, lies in the text:
    /// for a row of a plain file (whose cells are spans of the text).
    pub fn cell_range(&self, i: usize) -> Option<(usize, usize)> {
        let Cells::Plain(text, cells) = self.cells else { return None };
        let &(a, b) = cells.get(i)?;
        let cell = text.get(a as usize..b as usize)?;
        let start = a as usize + (cell.len() - cell.trim_start().len());
        Some((start, start + cell.trim().len()))
    }

    fn raw(&self, i: usize) -> &str {
        match self.cells {
            Cells::Csv(record) => record.get(i).unwrap_or(""),
            Cells::Plain(text, cells) => {
                cells.get(i).and_then(|&(a, b)| text.get(a as usize..b as usize)).unwrap_or("")
            }
        }
    }

    /// How many cells it has.
    pub fn len(&self) -> usize {
        match self.cells {
            Cells::Csv(record) => record.len(),
            Cells::Plain(_, cells) => cells.len(),
        }
    }

    /// True if a (quoted) cell runs over several lines.
    pub fn has_line_break(&self) -> bool {
        match self.cells {
            Cells::Csv(record) => record.iter().any(|cell| cell.contains('\n')),
            Cells::Plain(..) => false,
        }
    }

    /// A record of one blank cell: an empty line between rows.
    fn is_blank(&self) -> bool {
        self.len() == 1 && self.raw(0).bytes().all(|b| b.is_ascii_whitespace())
    }
}

/// The UTF-8 byte-order mark that Excel writes at the start of "CSV UTF-8" files.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Table {
    /// Reads `bytes` as UTF-8 text (dropping a byte-order mark) and its header line.
    pub fn open(name: &str, mut bytes: Vec<u8>) -> Result<Table, Box<Diagnostics>> {
        let bom = bytes.starts_with(BOM);
        if bom {
            bytes.drain(..BOM.len());
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let source = SourceFile::new(name, String::from_utf8_lossy(e.as_bytes()).into_owned());
                let problem = Problem::error(codes::data::not_utf8, "the data file is not UTF-8 text")
                    .label(Span::new(valid, valid + 1), "this byte is not UTF-8")
                    .help("save the file as UTF-8 (in Excel: \"CSV UTF-8\")");
                return Err(Box::new(Diagnostics::new(&source, vec![problem])));
            }
        };
        let problem = |text: &str, problem: Problem| {
            Box::new(Diagnostics::new(&SourceFile::new(name, text), vec![problem]))
        };
        if text.trim().is_empty() {
            let empty = Problem::error(codes::data::empty, "the data file is empty")
                .help("a data file starts with a header line that names its columns, e.g. `name,capital`");
            return Err(problem(&text, empty));
        }
        let mut reader = reader(text.as_bytes());
        let mut record = csv::ByteRecord::new();
        // The header is the first record; a file with text has one.
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                let none = Problem::error(codes::data::bad_csv, "the data file has no header");
                return Err(problem(&text, none));
            }
            Err(e) => {
                let bad = Problem::error(codes::data::bad_csv, format!("the header cannot be read: {e}"));
                return Err(problem(&text, bad));
            }
        }
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let header = record.iter().map(|b| String::from_utf8_lossy(b).trim().to_string()).collect::<Vec<_>>();
        let end = line_end(text.as_bytes(), start);
        let plain = is_plain(text.as_bytes());
        Ok(Table {
            name: name.to_string(),
            header_span: Span::new(start, end),
            header,
            text,
            bom,
            plain,
            cut: None,
        })
    }

    /// The file as a source for diagnostics (a copy of its text).
    pub fn source(&self) -> SourceFile {
        SourceFile::new(self.name.as_str(), self.text.as_str())
    }

    /// The span of header cell `i`.
    pub fn header_cell(&self, i: usize) -> Span {
        cell_span(self.text.as_bytes(), self.header_span.start as usize, i)
    }

    /// The problem of header cell `i` if an earlier column has its name.
    pub fn duplicate_column(&self, i: usize) -> Option<Problem> {
        let header = self.header.get(i)?;
        let first = self.header[..i].iter().position(|h| h == header)?;
        Some(
            Problem::error(codes::data::duplicate_column, format!("the column `{header}` appears twice"))
                .label(self.header_cell(i), "again here")
                .label(self.header_cell(first), "first here"),
        )
    }

    /// The span of cell `i` of a row (the end of the line if the row is shorter).
    pub fn cell_span(&self, row: &Row, i: usize) -> Span {
        cell_span(self.text.as_bytes(), row.start, i)
    }

    /// The span of a row's whole line.
    pub fn row_span(&self, row: &Row) -> Span {
        Span::new(row.start, line_end(self.text.as_bytes(), row.start))
    }

    /// Calls `each` with every row after the header, in order. A row that the
    /// CSV reader cannot read (an unclosed quote) is given as a problem, and
    /// ends the reading.
    pub fn rows(&self, each: impl FnMut(Result<&Row, Problem>)) {
        if self.plain { self.plain_rows(each) } else { self.csv_rows(each) }
    }

    /// A plain file (no quotes) cut at line breaks into stretches of about
    /// `size` bytes, in order, the first holding the header; `None` for a
    /// file with quotes, whose records may run over several lines. Reading
    /// each with [`Table::chunk_rows`] gives [`Table::rows`]'s rows, in the
    /// same order, with the same offsets and lines.
    pub fn chunks(&self, size: usize) -> Option<Vec<Chunk>> {
        if !self.plain {
            return None;
        }
        let bytes = self.text.as_bytes();
        let mut chunks = Vec::with_capacity(bytes.len() / size.max(1) + 1);
        let (mut start, mut line) = (0usize, 1u64);
        // The first chunk holds the header: the first line that is not empty.
        let header = bytes.iter().position(|&b| b != b'\n' && b != b'\r').unwrap_or(0);
        while start < bytes.len() {
            let cut = (start + size.max(1)).max(if start == 0 { header } else { 0 }).min(bytes.len());
            let end = bytes[cut..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| cut + i + 1);
            let breaks = bytes[start..end].iter().filter(|&&b| b == b'\n').count() as u64;
            let open_end = end > start && bytes[end - 1] != b'\n';
            let most = (breaks + u64::from(open_end)).saturating_sub(u64::from(start == 0));
            chunks.push(Chunk { start, end, line, breaks, most });
            start = end;
            line += breaks;
        }
        Some(chunks)
    }

    /// Cuts the table into chunks of about `size` bytes now, on this thread,
    /// for [`Table::take_chunks`] to give later.
    pub fn cut_ahead(&mut self, size: usize) {
        self.cut = self.chunks(size);
    }

    /// The chunks of about `size` bytes: those cut ahead if there are, else
    /// cut now.
    pub fn take_chunks(&mut self, size: usize) -> Option<Vec<Chunk>> {
        self.cut.take().or_else(|| self.chunks(size))
    }

    /// The rows of one chunk of a plain file (see [`Table::chunks`]): the
    /// header is skipped in the first, which holds it.
    pub fn chunk_rows(&self, chunk: Chunk, each: impl FnMut(Result<&Row, Problem>)) {
        self.plain_rows_in(chunk, chunk.start == 0, each)
    }

    /// The rows of a file without quotes: each line split at its commas, in
    /// one pass over the bytes (what the `csv` crate reads from such a file,
    /// at a fraction of its cost).
    fn plain_rows(&self, each: impl FnMut(Result<&Row, Problem>)) {
        let whole = Chunk { start: 0, end: self.text.len(), line: 1, breaks: 0, most: 0 };
        self.plain_rows_in(whole, true, each)
    }

    /// The rows of the lines of `chunk`; `first` if its first record is the header.
    fn plain_rows_in(&self, chunk: Chunk, mut first: bool, mut each: impl FnMut(Result<&Row, Problem>)) {
        let text = self.text.as_str();
        let bytes = &text.as_bytes()[..chunk.end];
        let mut cells: Vec<(u32, u32)> = Vec::new();
        let (mut start, mut line) = (chunk.start, chunk.line);
        while start < bytes.len() {
            cells.clear();
            let mut cell = start;
            let mut end = bytes.len();
            for (i, &b) in bytes[start..].iter().enumerate() {
                match b {
                    b',' => {
                        cells.push((cell as u32, (start + i) as u32));
                        cell = start + i + 1;
                    }
                    b'\n' => {
                        end = start + i;
                        break;
                    }
                    _ => {}
                }
            }
            let content_end = if end > cell && bytes[end - 1] == b'\r' { end - 1 } else { end };
            if content_end > start || !cells.is_empty() {
                cells.push((cell as u32, content_end as u32));
                let row = Row { cells: Cells::Plain(text, &cells), start, line };
                // The first record is the header (the `csv` crate skips empty lines too).
                if !std::mem::take(&mut first) && !row.is_blank() {
                    each(Ok(&row));
                }
            }
            start = end + 1;
            line += 1;
        }
    }

    fn csv_rows(&self, mut each: impl FnMut(Result<&Row, Problem>)) {
        let text = self.text.as_bytes();
        let mut reader = reader(text);
        let mut record = csv::StringRecord::new();
        let mut first = true;
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    if std::mem::take(&mut first) {
                        continue; // the header
                    }
                    let (mut start, mut line) =
                        record.position().map_or((0, 0), |p| (p.byte() as usize, p.line()));
                    // The reader's position is where the previous record ended:
                    // the record itself starts after the empty lines it skipped.
                    while let Some(&b @ (b'\n' | b'\r')) = text.get(start) {
                        line += u64::from(b == b'\n');
                        start += 1;
                    }
                    let row = Row { cells: Cells::Csv(&record), start, line };
                    // An empty line between rows reads as a record of one empty cell.
                    if !row.is_blank() {
                        each(Ok(&row));
                    }
                }
                Err(e) => {
                    let at = e.position().map_or(0, |p| p.byte() as usize);
                    each(Err(Problem::error(codes::data::bad_csv, format!("this row cannot be read: {e}"))
                        .label(Span::new(at, line_end(text, at)), "here")
                        .help("a quoted cell must end with a closing `\"`")));
                    break;
                }
            }
        }
    }
}

/// True if the text has no quote and no line ending but `\n` and `\r\n`:
/// its records are its lines and its cells what lies between commas.
fn is_plain(text: &[u8]) -> bool {
    // Blocks without a quote or a `\r` (almost all) are passed over a block
    // at a time, without a branch per byte.
    let suspect = |block: &[u8]| block.iter().fold(false, |seen, &b| seen | (b == b'"') | (b == b'\r'));
    let lone_cr = |i: usize| text[i] == b'\r' && text.get(i + 1) != Some(&b'\n');
    text.chunks(64).enumerate().all(|(n, block)| {
        !suspect(block) || (n * 64..n * 64 + block.len()).all(|i| text[i] != b'"' && !lone_cr(i))
    })
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes)
}

/// Where the line that starts at `start` ends (before `\r\n` or `\n`).
fn line_end(text: &[u8], start: usize) -> usize {
    let start = start.min(text.len());
    let mut end = text[start..].iter().position(|&b| b == b'\n').map_or(text.len(), |i| start + i);
    if end > start && text[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

/// The span of cell `index` of the record that starts at `start`, found by
/// reading the record again (quotes included); past the last cell, the end of
/// the line.
pub(super) fn cell_span(text: &[u8], start: usize, index: usize) -> Span {
    let mut i = start.min(text.len());
    let mut cell = 0;
    let mut cell_start = i;
    let mut quoted = false;
    while i < text.len() {
        match text[i] {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                if cell == index {
                    return trimmed(text, cell_start, i);
                }
                cell += 1;
                cell_start = i + 1;
            }
            b'\n' | b'\r' if !quoted => break,
            _ => {}
        }
        i += 1;
    }
    if cell == index { trimmed(text, cell_start, i) } else { Span::new(i, i) }
}

/// `start..end` without spaces at either end; an empty cell keeps one column.
fn trimmed(text: &[u8], mut start: usize, mut end: usize) -> Span {
    while start < end && text[start] == b' ' {
        start += 1;
    }
    while end > start && text[end - 1] == b' ' {
        end -= 1;
    }
    Span::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_spans_follow_quotes() {
        let text = b"a,\"b,c\",d\r\nx";
        assert_eq!(cell_span(text, 0, 0), Span::new(0, 1));
        assert_eq!(cell_span(text, 0, 1), Span::new(2, 7));
        assert_eq!(cell_span(text, 0, 2), Span::new(8, 9));
        assert_eq!(cell_span(text, 0, 3), Span::new(9, 9));
        assert_eq!(line_end(text, 0), 9);
    }

    /// What `plain_rows` reads from a file without quotes is what the `csv`
    /// crate reads: the same rows, cells, offsets and lines.
    #[test]
    fn plain_rows_are_the_csv_crates_rows() {
        let texts = [
            "name,capital\nb0,1k\nb1,2k\n",
            "\n\nname,capital\r\n\r\nb0, 1k \r\n   \nb1,,x,\n\nb2",
            "a\nb\n,\n,,\n",
            "name\nonly\n\n\n",
            "x,y\n1,2\r\n3,4",
        ];
        for text in texts {
            assert!(is_plain(text.as_bytes()), "{text:?}");
            let table = Table::open("t.csv", text.as_bytes().to_vec()).unwrap_or_else(|_| panic!("{text:?}"));
            // 0: the csv crate; 1: the plain reader; 2 and more: chunks of that many bytes.
            let read = |how: usize| {
                let mut rows = Vec::new();
                let mut each = |row: Result<&Row, Problem>| {
                    let row = row.unwrap_or_else(|_| panic!("{text:?}"));
                    let cells: Vec<String> = (0..row.len()).map(|i| row.raw(i).to_string()).collect();
                    rows.push((row.start, row.line, cells));
                };
                match how {
                    0 => table.csv_rows(&mut each),
                    1 => table.plain_rows(&mut each),
                    size => {
                        let chunks = table.chunks(size - 1).unwrap_or_else(|| panic!("{text:?}"));
                        assert_eq!(chunks.first().map(|c| c.start), Some(0), "{text:?}");
                        assert_eq!(chunks.last().map(|c| c.end), Some(text.len()), "{text:?}");
                        for pair in chunks.windows(2) {
                            assert_eq!(pair[0].end, pair[1].start, "{text:?}");
                            assert_eq!(pair[0].line + pair[0].breaks, pair[1].line, "{text:?}");
                        }
                        for chunk in chunks {
                            let mut rows = 0;
                            table.chunk_rows(chunk, |row| {
                                rows += 1;
                                each(row)
                            });
                            assert!(rows <= chunk.max_rows(), "{text:?}, {how}: {chunk:?}");
                        }
                    }
                }
                rows
            };
            let csv = read(0);
            for how in 1..text.len() + 3 {
                assert_eq!(read(how), csv, "{text:?}, {how}");
            }
        }
        assert!(!is_plain(b"a,\"b\"\n"));
        assert!(!is_plain(b"a\rb\n"));
        let long = "x,y\n".repeat(40);
        assert!(is_plain(long.as_bytes()));
        // Without blank lines, the chunks hold exactly as many rows as they may.
        for text in [long.clone(), long.trim_end().to_string()] {
            let table = Table::open("t.csv", text.clone().into_bytes()).unwrap();
            for size in 1..text.len() + 2 {
                let chunks = table.chunks(size).unwrap();
                assert_eq!(chunks.iter().map(Chunk::max_rows).sum::<usize>(), 39, "{size}");
            }
        }
        for (at, byte) in [(0, "\""), (63, "\""), (64, "\r"), (130, "\""), (long.len() - 1, "\r")] {
            let mut bad = long.clone();
            bad.replace_range(at..at + 1, byte);
            assert!(!is_plain(bad.as_bytes()), "{at}");
        }
        let mut crlf = long.replace('\n', "\r\n");
        assert!(is_plain(crlf.as_bytes()));
        crlf.pop();
        assert!(!is_plain(crlf.as_bytes()), "a lone `\\r` at the end");
    }
}

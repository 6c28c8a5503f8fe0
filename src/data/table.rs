//! A CSV file read into rows of cells, each cell with the byte span it came from.
//!
//! The `csv` crate does the reading (quotes, `""` escapes, CRLF); the spans of
//! cells are found again from each record's starting offset only when a problem
//! needs one, so a clean file costs what the `csv` crate costs.

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::source::{SourceFile, Span};

/// A data file's text and its header, ready to be read row by row.
pub(crate) struct Table {
    /// The text (without a byte-order mark), for spans and diagnostics.
    pub source: SourceFile,
    /// The header's cells.
    pub header: Vec<String>,
    /// Where the header's line starts and ends.
    pub header_span: Span,
}

/// One row: its cells (trimmed of spaces) and where the record starts.
pub(crate) struct Row<'a> {
    pub record: &'a csv::ByteRecord,
    /// Byte offset of the record's first cell.
    pub start: usize,
}

impl Row<'_> {
    /// The text of cell `i` ("" when the row is shorter), trimmed of spaces.
    pub fn cell(&self, i: usize) -> &str {
        self.record.get(i).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("").trim()
    }
}

/// The UTF-8 byte-order mark that Excel writes at the start of "CSV UTF-8" files.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Table {
    /// Reads `bytes` as UTF-8 text (dropping a byte-order mark) and its header line.
    pub fn open(name: &str, bytes: &[u8]) -> Result<Table, Box<Diagnostics>> {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.valid_up_to();
                let source = SourceFile::new(name, String::from_utf8_lossy(bytes).into_owned());
                let problem = Problem::error(codes::data::not_utf8, "the data file is not UTF-8 text")
                    .label(Span::new(valid, valid + 1), "this byte is not UTF-8")
                    .help("save the file as UTF-8 (in Excel: \"CSV UTF-8\")");
                return Err(Box::new(Diagnostics::new(&source, vec![problem])));
            }
        };
        let source = SourceFile::new(name, text);
        if text.trim().is_empty() {
            let problem = Problem::error(codes::data::empty, "the data file is empty")
                .help("a data file starts with a header line that names its columns, e.g. `name,capital`");
            return Err(Box::new(Diagnostics::new(&source, vec![problem])));
        }
        let mut reader = reader(text.as_bytes());
        let mut record = csv::ByteRecord::new();
        // The header is the first record; a file with text has one.
        let header_problem = |source: &SourceFile, message: String| {
            let problem = Problem::error(codes::data::bad_csv, message);
            Box::new(Diagnostics::new(source, vec![problem]))
        };
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(header_problem(&source, String::from("the data file has no header"))),
            Err(e) => return Err(header_problem(&source, format!("the header cannot be read: {e}"))),
        }
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let header = record.iter().map(|b| String::from_utf8_lossy(b).trim().to_string()).collect::<Vec<_>>();
        let end = line_end(text.as_bytes(), start);
        Ok(Table { header_span: Span::new(start, end), header, source })
    }

    /// The span of header cell `i`.
    pub fn header_cell(&self, i: usize) -> Span {
        cell_span(self.source.text().as_bytes(), self.header_span.start as usize, i)
    }

    /// The span of cell `i` of a row (the end of the line if the row is shorter).
    pub fn cell_span(&self, row: &Row, i: usize) -> Span {
        cell_span(self.source.text().as_bytes(), row.start, i)
    }

    /// The span of a row's whole line.
    pub fn row_span(&self, row: &Row) -> Span {
        Span::new(row.start, line_end(self.source.text().as_bytes(), row.start))
    }

    /// Calls `each` with every row after the header, in order. A row that the
    /// CSV reader cannot read (an unclosed quote) is given as a problem, and
    /// ends the reading.
    pub fn rows(&self, mut each: impl FnMut(Result<&Row, Problem>)) {
        let text = self.source.text().as_bytes();
        let mut reader = reader(text);
        let mut record = csv::ByteRecord::new();
        let mut first = true;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    if std::mem::take(&mut first) {
                        continue; // the header
                    }
                    // An empty line between rows reads as a record of one empty cell.
                    if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let start = record.position().map_or(0, |p| p.byte() as usize);
                    each(Ok(&Row { record: &record, start }));
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
}

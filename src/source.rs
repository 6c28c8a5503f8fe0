//! Source files and byte spans.
//!
//! Every node of the AST and of the lowered program carries a [`Span`]: a byte
//! range into its file with an exclusive end. Only the renderer (miette) turns
//! spans into lines and columns.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// The most bytes a script or a data file may have, whatever an engine's
/// limits say: spans are 32-bit offsets. A larger limit counts as this.
pub const MAX_TEXT_BYTES: usize = u32::MAX as usize;

/// A byte range `start..end` in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: clamp_u32(start), end: clamp_u32(end.max(start)) }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True for a zero-length span.
    pub fn is_empty(self) -> bool {
        self.end == self.start
    }

    /// The span moved `by` bytes to the right.
    pub fn shift(self, by: usize) -> Span {
        Span::new(self.start as usize + by, self.end as usize + by)
    }

    /// The text the span covers (empty if it lies outside `text`).
    pub fn text(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize).unwrap_or("")
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start as usize, span.len()).into()
    }
}

fn has_lone_cr(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
}

fn lone_cr_as_newline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(if c == '\r' && chars.peek() != Some(&'\n') { '\n' } else { c });
    }
    out
}

/// A named script text, shared by the program and every diagnostic about it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
}

impl SourceFile {
    /// A source file with a display name (usually its path) and its text.
    ///
    /// A lone `\r` (the line end of old Mac files) is read as `\n`, so that a
    /// comment ends there and diagnostics show the right line; the text keeps
    /// its length, so every byte offset is still the file's. (`\r\n` stays as it
    /// is: the parser and miette know it.)
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> SourceFile {
        let text: Arc<str> = text.into();
        let text = if has_lone_cr(&text) { Arc::from(lone_cr_as_newline(&text)) } else { text };
        SourceFile { name: name.into(), text }
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line number of a byte offset.
    pub fn line_of(&self, offset: u32) -> usize {
        let end = (offset as usize).min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The byte range of the line that holds `offset`, without its newline.
    pub fn line_bounds(&self, offset: u32) -> (usize, usize) {
        let bytes = self.text.as_bytes();
        let offset = (offset as usize).min(bytes.len());
        let start = bytes[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let end = bytes[offset..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| offset + i);
        (start, end)
    }

    /// SHA-256 of the text, as lowercase hex.
    pub fn sha256(&self) -> String {
        let digest = Sha256::digest(self.text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The source in the form miette wants.
    pub fn to_miette(&self) -> miette::NamedSource<Arc<str>> {
        miette::NamedSource::new(&self.name, self.text.clone()).with_language("cascade")
    }
}

/// Whether a file of this kind can be read as a script or data file: a
/// regular file or (on Unix) a pipe, never a directory or a device.
#[cfg(unix)]
pub(crate) fn is_readable_kind(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.is_file() || meta.file_type().is_fifo()
}

#[cfg(not(unix))]
pub(crate) fn is_readable_kind(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

//! Reading a script file, bounded: at most `Engine::max_source_bytes` bytes
//! are read, and only from a regular file or a pipe (a device such as
//! `/dev/zero` or `/dev/urandom` never ends).

use std::io::Read;
use std::path::Path;

use super::{Engine, Error};
use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::source::{SourceFile, Span};

impl Engine {
    /// At most this many bytes of script text (default 16 MiB; at most
    /// [`MAX_TEXT_BYTES`](crate::source::MAX_TEXT_BYTES), 4 GiB − 1): a file is read
    /// no further, and a longer text passed to [`Engine::compile`] is refused
    /// (`cascade::limit::source`).
    pub fn max_source_bytes(mut self, bytes: usize) -> Engine {
        self.max_source_bytes = bytes.min(crate::source::MAX_TEXT_BYTES);
        self
    }

    /// At most this many bytes in one data file (default 256 MiB; at most
    /// [`MAX_TEXT_BYTES`](crate::source::MAX_TEXT_BYTES), 4 GiB − 1): a longer
    /// file that a [`DataLoader`](crate::DataLoader) returns is refused at its
    /// `from "NAME"` (`cascade::limit::data`). A loader reading files can read
    /// them no further with [`DataFile::read`](crate::DataFile::read).
    pub fn max_data_bytes(mut self, bytes: usize) -> Engine {
        self.max_data_bytes = bytes.min(crate::source::MAX_TEXT_BYTES);
        self
    }

    /// Reads a script file as [`Engine::compile_file`] does, for hosts (like
    /// the REPL) that compile the text themselves: a regular file or a pipe,
    /// at most [`Engine::max_source_bytes`] bytes, valid UTF-8. Each failure is
    /// a diagnostic (`cascade::io::read`, `cascade::limit::source`,
    /// `cascade::syntax::not_utf8`).
    pub fn read_file(&self, path: &Path) -> Result<String, Error> {
        let name = path.display().to_string();
        let diagnostics = |text: &str, problem: Problem| {
            Box::new(Diagnostics::new(&SourceFile::new(name.as_str(), text), vec![problem]))
        };
        let fail = |text: &str, problem: Problem| Err(Error::Script(diagnostics(text, problem)));
        let io = |problem: Problem| Err(Error::Io(diagnostics("", problem)));
        let cannot =
            |reason: String| Problem::error(codes::io::read, format!("cannot read `{name}`: {reason}"));
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) => return io(cannot(e.to_string())),
        };
        let size = match file.metadata() {
            Ok(meta) if crate::source::is_readable_kind(&meta) => meta.len(),
            Ok(meta) if meta.is_dir() => return io(cannot(String::from("it is a directory"))),
            Ok(_) => {
                return io(cannot(String::from("it is not a regular file or a pipe"))
                    .help("a script is read from a file, or from a pipe (`cascade run /dev/stdin < FILE`)"));
            }
            Err(e) => return io(cannot(e.to_string())),
        };
        let limit = self.max_source_bytes;
        // Room for a regular file made once, as `DataFile::read` does.
        let mut bytes = Vec::with_capacity(usize::try_from(size.min(limit as u64 + 1)).unwrap_or(0));
        if let Err(e) = (&mut file).take(limit as u64 + 1).read_to_end(&mut bytes) {
            return io(cannot(e.to_string()));
        }
        if bytes.len() > limit {
            return fail("", too_long(limit));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(text),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let problem = Problem::error(codes::syntax::not_utf8, "the file is not valid UTF-8 text")
                    .label(Span::new(valid, valid + 1), "this byte is not UTF-8")
                    .help("save the script as UTF-8");
                fail(&text, problem)
            }
        }
    }

    /// A problem if `text` is longer than this engine reads.
    pub(super) fn over_source_limit(&self, text: &str) -> Option<Problem> {
        (text.len() > self.max_source_bytes).then(|| too_long(self.max_source_bytes))
    }
}

fn too_long(limit: usize) -> Problem {
    Problem::error(
        codes::limit::source,
        format!("the script is longer than {limit} bytes, the most this engine reads"),
    )
    .help("raise the limit (`Engine::max_source_bytes`, `--max-source-bytes`) or split the script")
}

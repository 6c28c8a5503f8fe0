//! Where everything the CLI prints goes: nothing is written with `print!` (the
//! module denies it), so no output error can panic or pass unnoticed.
//!
//! - stdout: [`out`] writes and flushes; a closed pipe (`| head`, `| true`)
//!   ends the command quietly ([`Failure::Closed`], exit 0, as a Unix tool
//!   killed by `SIGPIPE` says nothing); any other error (a full disk) is an
//!   error message on stderr and exit 2.
//! - stderr: [`err`] writes and flushes; if that fails there is nowhere to say
//!   so, but the command then cannot end with 0 ([`stderr_lost`]).

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::Failure;

/// Set when something could not be written to stderr (other than a closed pipe).
static STDERR_LOST: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it.
pub(super) fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) => Err(output_error(&e)),
    }
}

/// The failure a stdout error stands for (reported on stderr if it is not a
/// closed pipe).
pub(super) fn output_error(e: &std::io::Error) -> Failure {
    if e.kind() == ErrorKind::BrokenPipe {
        Failure::Closed
    } else {
        err(&format!("error: cannot write the output: {e}\n"));
        Failure::Usage
    }
}

/// Writes `text` to stderr and flushes it; a failure is remembered.
pub(super) fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    if let Err(e) = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush())
        && e.kind() != ErrorKind::BrokenPipe
    {
        STDERR_LOST.store(true, Ordering::Relaxed);
    }
}

/// True if some diagnostic or message could not be written to stderr.
pub(super) fn stderr_lost() -> bool {
    STDERR_LOST.load(Ordering::Relaxed)
}

/// A `Write` for stdout that remembers the first error (for code that writes
/// through `std::io::Write`, like the REPL and the CSV writer), so that the
/// caller can stop at once and report it.
pub(super) struct Stdout {
    inner: std::io::Stdout,
    /// The first error, if any.
    pub(super) error: Option<std::io::Error>,
}

impl Stdout {
    pub(super) fn new() -> Stdout {
        Stdout { inner: std::io::stdout(), error: None }
    }

    /// The failure the first error stands for, if any.
    pub(super) fn failure(&mut self) -> Option<Failure> {
        self.error.take().map(|e| output_error(&e))
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(e) = &self.error {
            return Err(std::io::Error::new(e.kind(), e.to_string()));
        }
        self.inner.write(buf).inspect_err(|e| self.error = Some(std::io::Error::new(e.kind(), e.to_string())))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = &self.error {
            return Err(std::io::Error::new(e.kind(), e.to_string()));
        }
        self.inner.flush().inspect_err(|e| self.error = Some(std::io::Error::new(e.kind(), e.to_string())))
    }
}

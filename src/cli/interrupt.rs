//! Ctrl-C while a command runs.
//!
//! While rustyline edits a line the terminal is in raw mode and Ctrl-C arrives
//! as a key (rustyline returns `Interrupted`). While a command runs, Ctrl-C is a
//! SIGINT; without a handler it would end the process. [`install`] sets a
//! handler that only raises the flag the runs are started with
//! (`RunStart::cancel_flag`): the step machine stops at the next step and the
//! REPL keeps the last completed step.
//!
//! The handler is the least a signal handler may do: one atomic store into a
//! flag that exists before the handler is installed. (rustyline saves and
//! restores this handler around each line it reads.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The flag raised by Ctrl-C (the same one every time).
pub fn flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// Routes SIGINT to [`flag`] instead of ending the process. Returns false if
/// the handler could not be installed (Ctrl-C then ends the REPL, as usual).
pub fn install() -> bool {
    let _ = flag(); // Create the flag before the handler can run.
    platform::install()
}

/// Lowers the flag (before each command).
pub fn clear() {
    flag().store(false, Ordering::SeqCst);
}

/// Was Ctrl-C pressed since the last [`clear`]?
pub fn raised() -> bool {
    flag().load(Ordering::SeqCst)
}

#[cfg(unix)]
mod platform {
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    const SIGINT: c_int = 2;
    /// `SIG_ERR` is `(sighandler_t) -1`.
    const SIG_ERR: usize = usize::MAX;

    unsafe extern "C" {
        /// POSIX `signal(2)`; glibc and the BSDs give it BSD semantics (the
        /// handler stays installed; interrupted reads are restarted).
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    }

    extern "C" fn on_sigint(_: c_int) {
        // Async-signal-safe: the flag was created before the handler was installed,
        // so this is a load of an initialised `OnceLock` and an atomic store.
        if let Some(flag) = super::FLAG.get() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    pub fn install() -> bool {
        // SAFETY: `signal` is called with a valid signal number and an `extern "C"`
        // handler that only performs an atomic store (see `on_sigint`).
        unsafe { signal(SIGINT, on_sigint) != SIG_ERR }
    }
}

#[cfg(not(unix))]
mod platform {
    pub fn install() -> bool {
        false
    }
}

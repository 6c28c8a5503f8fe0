//! The REPL on a pseudo-terminal: tab completion, Ctrl-C while typing and
//! during a long `:run`, Ctrl-D, and the history file.
//!
//! Each test starts `cascade repl` on its own pty (the rexpect crate) and talks
//! to it as a user would. Every wait has a generous timeout (30 s): a failure
//! means the REPL did not answer, not that the machine was slow.
//!
//! Keys are sent only while the REPL is reading them, which is after it has
//! printed its prompt: between two inputs the terminal is in cooked mode, where
//! the line discipline turns a Ctrl-D into an end-of-line marker that rustyline
//! then reads as a NUL byte (the REPL would never leave). So every wait for an
//! answer is followed by a wait for the prompt before the next control key;
//! sleeping instead depends on the machine being idle.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

const TIMEOUT_MS: u64 = 30_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh state directory (for the history file) per test.
fn state_dir(test: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("repl-pty-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start(args: &[&str], state: &PathBuf) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cascade"));
    command
        .arg("repl")
        .args(args)
        .current_dir(root())
        .env("XDG_STATE_HOME", state)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    // rustyline redraws the line with escape sequences while it is edited; the
    // tests match the plain output lines that commands print.
    let options = Options::new().timeout_ms(Some(TIMEOUT_MS));
    let mut session = spawn_with_options(command, options).expect("the REPL starts on a pty");
    session.exp_string("Ctrl-D leaves").expect("the banner");
    session
}

fn flagship(test: &str) -> (PtySession, PathBuf) {
    let state = state_dir(test);
    let mut session = start(&["examples/ai_compute_credit.cascade"], &state);
    session.exp_string("cascade[0]> ").expect("the first prompt");
    (session, state)
}

/// Waits for the next prompt: the REPL is then reading keys in raw mode.
fn prompt(session: &mut PtySession) {
    session.exp_regex(r"cascade\[[^\]]*\]> ").expect("the prompt");
}

/// Leaves with Ctrl-D (once the REPL is reading again) and checks the exit status.
fn leave(mut session: PtySession) {
    prompt(&mut session);
    session.send_control('d').expect("Ctrl-D is sent");
    session.exp_eof().expect("the REPL ends");
    let status = session.process().wait().expect("the REPL's exit status");
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

#[test]
fn tab_completes_commands_names_and_fields() {
    let (mut s, _) = flagship("completion");
    // `:sh<TAB>` → `:show `, `corew<TAB>` → `coreweave`, `.gpu_l<TAB>` → `.gpu_loan`.
    for typed in [":sh\t", "corew\t", ".gpu_l\t"] {
        s.send(typed).expect("typed");
        pause();
    }
    s.send_line("").expect("enter");
    s.exp_string("coreweave.gpu_loan = 2.5bn").expect("the completed command runs");
    // A param in an expression.
    s.send("holdi\t").expect("typed");
    pause();
    s.send_line(" * 2").expect("enter");
    s.exp_string("\r\n6\r\n").expect("the completed expression runs");
    leave(s);
}

/// Fields through exposures: `x.debtor.deb<TAB>` completes to the debtor's
/// field (`debt`) before the `for x in ...` that binds `x` is typed.
#[test]
fn tab_completes_fields_through_exposures() {
    let state = state_dir("exposure-completion");
    let mut s = start(&["examples/clearing.cascade"], &state);
    s.exp_string("cascade[0]> ").expect("the first prompt");
    s.send("sum(x.debtor.deb\t").expect("typed");
    pause();
    s.send_line(" for x in exposures_of(a))").expect("enter");
    // a lends only to c, whose debt is 4.
    s.exp_string("\r\n4\r\n").expect("the completed expression runs");
    leave(s);
}

#[test]
fn ctrl_d_right_after_a_slow_answer_leaves() {
    // A slow command after the answer stands for a loaded machine: the answer
    // is printed some time before the REPL reads keys again. (A command typed
    // in an unfinished item ends it: its diagnostic is printed, then 20,000
    // steps run.)
    let state = state_dir("slow-answer");
    let mut s = start(&["tests/repl/long.cascade"], &state);
    s.exp_string("cascade[0]> ").expect("the first prompt");
    s.send_line("kind Unfinished {").expect("an open brace");
    s.send_line(":step 20000").expect(":step");
    s.exp_string("unexpected end of file").expect("the first answer");
    leave(s);
}

#[test]
fn ctrl_c_cancels_the_input_being_typed() {
    let (mut s, _) = flagship("ctrl-c-input");
    s.send("coreweave.cash +").expect("typed");
    pause();
    s.send_control('c').expect("Ctrl-C");
    pause();
    s.send_line("1 + 41").expect("a new line");
    s.exp_string("\r\n42\r\n").expect("the REPL is still there, and the old input is gone");
    // An unfinished multi-line item is cancelled too.
    s.send_line("kind Unfinished {").expect("an open brace");
    pause();
    s.send_control('c').expect("Ctrl-C");
    pause();
    s.send_line(":show Unfinished").expect("a command");
    s.exp_string("unknown name `Unfinished`").expect("the unfinished kind was dropped");
    leave(s);
}

/// Lets the REPL take in what was typed. (Keys typed right after a Ctrl-C,
/// before the next prompt, are dropped by rustyline; people are not that fast.)
fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[test]
fn ctrl_c_stops_a_long_run_and_keeps_the_session() {
    let state = state_dir("ctrl-c-run");
    let mut s = start(&["tests/repl/long.cascade"], &state);
    s.exp_string("cascade[0]> ").expect("the first prompt");
    s.send_line(":run").expect(":run");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.send_control('c').expect("Ctrl-C");
    let (_, step) = s.exp_regex(r"interrupted at step (\d+)").expect("the run stops");
    let step: u64 = step.trim_start_matches("interrupted at step ").parse().expect("a step number");
    assert!(step > 0 && step < 1_000_000, "stopped at step {step}");
    // The session is at the step where the run stopped, and works.
    s.send_line(&format!("counter - {step}")).expect("an expression");
    s.exp_string("\r\n0\r\n").expect("the state of the last completed step");
    s.send_line(":back").expect(":back");
    s.exp_string(&format!("back to step {}", step - 1)).expect("time travel still works");
    leave(s);
}

#[test]
fn ctrl_d_leaves_and_the_history_is_saved() {
    let (mut s, state) = flagship("ctrl-d");
    s.send_line("h100_price * 3").expect("a line");
    s.exp_string("\r\n6\r\n").expect("its value");
    s.send_line(" secret_with_a_leading_space").expect("a line kept out of the history");
    s.exp_string("unknown name").expect("its error");
    leave(s);
    let history = std::fs::read_to_string(state.join("cascade").join("history")).expect("the history file");
    assert!(history.contains("h100_price * 3"), "{history}");
    assert!(!history.contains("secret_with_a_leading_space"), "{history}");
    // The next session can recall it with the up arrow.
    let mut s = start(&["examples/ai_compute_credit.cascade"], &state);
    s.exp_string("cascade[0]> ").expect("the first prompt");
    s.send("\x1b[A").expect("up arrow");
    s.send_line("").expect("enter");
    s.exp_string("\r\n6\r\n").expect("the recalled line runs");
    leave(s);
}

#[test]
fn a_history_that_cannot_be_written_is_not_an_error() {
    // The state directory is a file: the history cannot be saved there.
    let state = state_dir("bad-history");
    std::fs::write(&state, "not a directory").expect("a file in the way");
    let mut s = start(&["examples/hello.cascade"], &state);
    s.exp_string("cascade[0]> ").expect("the first prompt");
    s.send_line("price").expect("a line");
    s.exp_string("\r\n2\r\n").expect("its value");
    leave(s);
    let _ = std::fs::remove_file(&state);
}

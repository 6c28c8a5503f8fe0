//! `cascade repl [FILE]`: explore a scenario interactively.
//!
//! The analyst's loop: load a script, step through months, poke a number, ask
//! why, go back, try again. A session ([`session::Session`]) holds
//!
//! - the **world** as source text: the script plus the declarations and rules
//!   typed in (a name declared again replaces the earlier declaration in place;
//!   `world.rs`),
//! - the compiled **program** of that text,
//! - the run's **timeline**: the current run and snapshots to go back to
//!   (`timeline.rs`),
//! - the params and values set with `:set`, with the step each was set at.
//!
//! Any change to the world recompiles the whole text and replays a new run to
//! the current step, re-applying the values set by hand; if anything fails, the
//! diagnostic is printed and the session stays exactly as it was.
//!
//! Input comes from rustyline on a terminal (history, completion, hints,
//! highlighting, multi-line input: `editor.rs`) or line by line from a pipe,
//! echoed after the prompt so that a piped session reads as a transcript
//! (`cascade repl FILE < session.txt`; the exit code is 1 if any input failed).
//! Ctrl-C cancels the input being typed or stops a long `:run` (`../interrupt.rs`);
//! Ctrl-D leaves.
//!
//! **Architecture invariant:** this module uses only the library's public API.

mod commands;
mod editor;
use super::interrupt;
mod session;
mod timeline;
mod view;
mod world;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};

use super::out::{self, Stdout};
use editor::{InputState, ReplHelper, input_state};
use session::{Flow, Session};

/// Runs the REPL, on `file` if given and with `engine`'s limits, until `:quit`,
/// Ctrl-D or the end of the input.
pub fn run(
    file: Option<&std::path::Path>,
    engine: cascade::Engine,
    random: (u64, Option<u64>),
) -> std::process::ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let colour = interactive && std::io::stdout().is_terminal() && !no_color;
    if interactive {
        interrupt::install();
    }
    let mut session = match Session::new(engine, interrupt::flag(), colour) {
        Ok(session) => session,
        Err(e) => {
            out::err(&format!("error: cannot start the REPL: {e}\n"));
            return ExitCode::from(1);
        }
    };
    session.random = random;
    let mut stdout = Stdout::new();
    if let Some(path) = file {
        if !path.is_file() {
            out::err(&format!("error: cannot read `{}`: no such file\n", path.display()));
            return ExitCode::from(2);
        }
        let started = std::time::Instant::now();
        let loaded = session.load(path, &mut stdout);
        if std::env::var_os("CASCADE_REPL_TIMING").is_some() {
            out::err(&format!(
                "[{:.3} ms] load {}\n",
                started.elapsed().as_secs_f64() * 1000.0,
                path.display()
            ));
        }
        if loaded.is_err() {
            session.failed = true;
            session.remember_file(path);
            let _ = writeln!(stdout, "starting with an empty world: fix the script, then type :reload");
        }
    }
    let code = if interactive { run_terminal(&mut session, stdout) } else { run_piped(&mut session, stdout) };
    if code == ExitCode::SUCCESS && out::stderr_lost() { ExitCode::from(2) } else { code }
}

/// The exit code for output that could not be written, if any: 2 (with a
/// message) for a full disk, none for a closed pipe, which ends the session.
fn output_failure(stdout: &mut Stdout) -> Option<ExitCode> {
    match stdout.failure()? {
        super::Failure::Closed => Some(ExitCode::SUCCESS),
        _ => Some(ExitCode::from(2)),
    }
}

/// Lines from a pipe or file, each echoed after the prompt.
fn run_piped(session: &mut Session, mut out: Stdout) -> ExitCode {
    let mut stdin = std::io::stdin().lock();
    let mut buffer = String::new();
    let mut prompt = session.prompt();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match stdin.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out::err(&format!("error: cannot read the input: {e}\n"));
                session.failed = true;
                break;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let line = text.trim_end_matches(['\n', '\r']);
        if buffer.is_empty() {
            prompt = session.prompt();
            if line.trim().is_empty() {
                let _ = writeln!(out);
                continue;
            }
            let _ = writeln!(out, "{prompt}{line}");
        } else {
            let _ = writeln!(out, "{:>width$}{line}", "...> ", width = prompt.chars().count());
        }
        buffer.push_str(line);
        if input_state(&buffer) == InputState::Incomplete {
            buffer.push('\n');
            continue;
        }
        let flow = timed(session, &buffer, &mut out);
        buffer.clear();
        if flow == Flow::Quit || out.flush().is_err() {
            break;
        }
    }
    if !buffer.trim().is_empty() {
        // The input ended in the middle of an item: run it to show where.
        session.execute(&buffer, &mut out);
    }
    let _ = out.flush();
    if let Some(code) = output_failure(&mut out) {
        return code;
    }
    if session.failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// rustyline on a terminal.
fn run_terminal(session: &mut Session, mut stdout: Stdout) -> ExitCode {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            out::err(&format!("error: cannot use the terminal ({e}); reading the input line by line\n"));
            return run_piped(session, stdout);
        }
    };
    editor.set_helper(Some(ReplHelper::new(session.colour)));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let _ = writeln!(
        stdout,
        "Cascade {} REPL: type :help for the commands; Tab completes; Ctrl-D leaves.",
        env!("CARGO_PKG_VERSION")
    );
    let mut revision = None;
    loop {
        if revision != Some(session.revision) {
            revision = Some(session.revision);
            if let Some(helper) = editor.helper_mut() {
                helper.names = session.names();
            }
        }
        match editor.readline(&session.prompt()) {
            Ok(line) => {
                let _ = editor.add_history_entry(line.as_str());
                let flow = timed(session, &line, &mut stdout);
                if flow == Flow::Quit || stdout.flush().is_err() {
                    break;
                }
            }
            // Ctrl-C while typing: drop the input, keep the session.
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                out::err(&format!("error: {e}\n"));
                break;
            }
        }
    }
    if let Some(path) = &history {
        save_history(&mut editor, path);
    }
    output_failure(&mut stdout).unwrap_or(ExitCode::SUCCESS)
}

/// Runs one input; with `CASCADE_REPL_TIMING` set, prints how long it took on
/// stderr (to measure the REPL's response time).
fn timed(session: &mut Session, input: &str, out: &mut dyn Write) -> Flow {
    let started = std::time::Instant::now();
    let flow = session.execute(input, out);
    if std::env::var_os("CASCADE_REPL_TIMING").is_some() {
        let _ = out.flush();
        out::err(&format!(
            "[{:.3} ms] {}\n",
            started.elapsed().as_secs_f64() * 1000.0,
            input.lines().next().unwrap_or("")
        ));
    }
    flow
}

/// `$XDG_STATE_HOME/cascade/history`, or `~/.local/state/cascade/history`.
fn history_path() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let state = std::env::var_os("XDG_STATE_HOME").and_then(absolute).or_else(|| {
        std::env::var_os("HOME").and_then(absolute).map(|home| home.join(".local").join("state"))
    })?;
    Some(state.join("cascade").join("history"))
}

/// Saves the history; a history that cannot be written is not an error.
fn save_history(editor: &mut Editor<ReplHelper, FileHistory>, path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(path);
}

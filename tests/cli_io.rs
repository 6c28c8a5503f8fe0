//! The `cascade` command line when its output or input misbehaves: a closed
//! pipe ends a command quietly, a full disk is an error and a non-zero exit,
//! output is never lost while the exit code says success, and what is read
//! is bounded.
#![cfg(unix)]

use std::fs::File;
use std::process::{Command, Output, Stdio};

fn cascade(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cascade"));
    command.args(args).env("NO_COLOR", "1").current_dir(env!("CARGO_MANIFEST_DIR")).stdin(Stdio::null());
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn dev_full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").expect("/dev/full exists on Linux"))
}

/// A pipe whose reader is already gone: every write to it fails with `EPIPE`.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Stdio::from(writer)
}

fn temp_script(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-io");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const FLAGSHIP: &str = "examples/ai_compute_credit.cascade";

/// Every command that prints on stdout, with arguments that make it print.
fn printing_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["run", FLAGSHIP],
        vec!["run", FLAGSHIP, "--format", "json"],
        vec!["run", FLAGSHIP, "--format", "csv"],
        vec!["test", FLAGSHIP],
        vec!["graph", FLAGSHIP],
        vec!["explain", FLAGSHIP, "applied_digital"],
        vec!["explain", FLAGSHIP, "applied_digital", "--format", "json"],
        vec!["--help"],
        vec!["--version"],
    ]
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    for args in printing_commands() {
        let output = cascade(&args).stdout(closed_pipe()).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        assert_eq!(stderr(&output), "", "{args:?}");
    }
}

#[test]
fn a_full_disk_is_an_error_and_a_non_zero_exit() {
    for args in printing_commands() {
        let output = cascade(&args).stdout(dev_full()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("error: cannot write the output: No space left on device"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn an_unwritable_stderr_is_not_a_panic_and_not_a_success() {
    let broken = temp_script("broken.cascade", "var x = \n");
    let broken = broken.to_str().unwrap();
    let cases: [(&[&str], i32); 5] = [
        (&["check", FLAGSHIP], 2), // "ok" goes to stderr, and is lost
        (&["check", broken], 1),
        (&["run", broken], 1),
        (&["run", "no_such_file.cascade"], 2),
        (&["run", FLAGSHIP, "--no-such-flag"], 2),
    ];
    for (args, code) in cases {
        let output = cascade(args).stderr(dev_full()).output().unwrap();
        assert_eq!(output.status.code(), Some(code), "{args:?}");
    }
    // The REPL too: its diagnostics go to stdout, its start-up errors to stderr.
    let output = cascade(&["repl", "no_such_file.cascade"]).stderr(dev_full()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_repl_stops_at_a_closed_or_full_output() {
    let session = temp_script("session.txt", &"1 + 1\n".repeat(10_000));
    let input = || Stdio::from(File::open(&session).unwrap());
    let output = cascade(&["repl"]).stdin(input()).stdout(closed_pipe()).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let output = cascade(&["repl"]).stdin(input()).stdout(dev_full()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot write the output"), "{}", stderr(&output));
}

#[test]
fn explain_refuses_a_depth_beyond_its_ceiling() {
    // `x = x + 1`, not `x += 1`: a value built up by `+=` is summarised, not
    // followed write by write; each `=` starts afresh, so the chain is one firing per level.
    let script = temp_script(
        "deep.cascade",
        "scenario \"c\" { horizon = 20000 }\nvar x = 0\nrule a: while x >= 0 then x = x + 1\n",
    );
    let script = script.to_str().unwrap();
    let output = cascade(&["explain", script, "x", "--depth", "8000"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("invalid value for `depth`: 8000 is more than 256"),
        "{}",
        stderr(&output)
    );
    // At the ceiling, the chain is 256 levels deep, in text and JSON.
    let output = cascade(&["explain", script, "x", "--depth", "256"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(" at step 19744 (was "), "{}", &text[..text.len().min(2000)]);
    assert!(!text.contains(" at step 19743 (was "), "one level past the depth");
    let output = cascade(&["explain", script, "x", "--depth", "256", "--format", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.ends_with(b"}\n"), "the whole document is written");
    // (serde_json reads at most 128 levels of nesting by default: two per cause.)
    let output = cascade(&["explain", script, "x", "--depth", "60", "--format", "json"]).output().unwrap();
    let _: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
}

#[test]
fn what_is_read_is_bounded_and_devices_are_refused() {
    for args in [["check", "/dev/zero"], ["run", "/dev/urandom"], ["run", "/dev/stdin"]] {
        let output = cascade(&args).stdin(File::open("/dev/zero").unwrap()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("is not a regular file or a pipe"), "{args:?}: {}", stderr(&output));
    }
    // A directory.
    let output = cascade(&["check", "examples"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("it is a directory"), "{}", stderr(&output));
    // A pipe is read, up to the limit.
    let mut child = cascade(&["check", "/dev/stdin", "--max-source-bytes", "1000"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The writer goes on until the reader stops: it must stop after 1,001 bytes.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let line = "# a comment line\n".repeat(1000);
        while stdin.write_all(line.as_bytes()).is_ok() {}
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the script is longer than 1000 bytes, the most this engine reads"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--max-source-bytes"), "{}", stderr(&output));
    // A small script through a pipe checks.
    let mut child =
        cascade(&["check", "/dev/stdin"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"var x = 1\n").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The REPL's `:load` reads through the same bounds.
    let session = temp_script("load.txt", ":load /dev/zero\n");
    let output = cascade(&["repl"]).stdin(File::open(&session).unwrap()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("is not a regular file or a pipe"));
}

#[test]
fn the_trace_limit_has_a_flag() {
    let script = temp_script(
        "trace.cascade",
        "scenario \"s\" { horizon = 1000 }\nvar x = 0\nrule r: while true then x += 1\n",
    );
    let output = cascade(&["run", script.to_str().unwrap(), "--max-trace", "300"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("cascade::limit::trace"), "{}", stderr(&output));
}

#[test]
fn a_run_time_error_keeps_the_text_of_what_ran() {
    // The flagship fails at step 24 with no installed base: steps 1-23 are shown.
    let output = cascade(&["run", "--set", "installed_base=0", FLAGSHIP]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("B200 ships in volume"), "{text}");
    assert!(stderr(&output).contains("cascade::run::division_by_zero"), "{}", stderr(&output));
    assert!(stderr(&output).contains("at step 24"), "{}", stderr(&output));
}

#[test]
fn limits_beyond_their_ceiling_are_refused_not_clamped() {
    let script = temp_script("ceiling.cascade", "var x = 0\nrule r: while true then x += 1\nexpect x > 0\n");
    let script = script.to_str().unwrap();
    let flags = [
        ("--max-nesting", "1000"),
        ("--max-expression-depth", "5000"),
        // Spans are 32-bit offsets: no text of 4 GiB or more.
        ("--max-source-bytes", "4294967296"),
        ("--max-data-bytes", "4294967296"),
    ];
    for (flag, value) in flags {
        let output = cascade(&["check", script, flag, value]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let message = stderr(&output);
        assert!(message.contains(&format!("invalid value '{value}' for '{flag} <N>'")), "{message}");
    }
    let output = cascade(&["check", script, "--max-nesting", "256"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = cascade(&["check", script, "--max-data-bytes", "4294967295"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // `--horizon` over the step limit: a diagnostic and exit 1, not a shorter run.
    let output = cascade(&["run", script, "--horizon", "2000000"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("a horizon of 2000000 steps is more than this engine runs (at most 1000000)")
    );
    let output = cascade(&["run", script, "--horizon", "20", "--max-steps", "10"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
}

//! Arbitrary bytes and arbitrary argument vectors, through the file API and the
//! `cascade` binary: whatever comes in, the answer is a result or a diagnostic,
//! never a panic (exit 101), an abort (134), a signal or a hang. Text through
//! `Engine::compile` is fuzzed in `robustness.rs`; here the input is bytes,
//! as a file holds them (invalid UTF-8, `\r`, NUL, deep brackets).
//!
//! The case counts are small because each case of the CLI properties starts a
//! process; together they take seconds.
#![cfg(unix)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cascade::Engine;
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for this process (the CLI runs in it, so any
/// file a command writes lands there, not in the repository).
fn scratch() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Writes `bytes` to a new file in the scratch directory.
fn temp_file(bytes: &[u8]) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = scratch().join(format!("case{}.cascade", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// Pieces that hostile files are made of: script fragments, line ends of every
/// kind, NUL, broken UTF-8, brackets by the hundred.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<&'static [u8]> = vec![
        b"var x = 1\n",
        b"rule r: while true then x += 1\n",
        b"kind K { v = 0 }\nentity e: K\n",
        b"expect x > 0\n",
        b"scenario \"s\" { horizon = 5 }\n",
        b"let y = ",
        b"\r",
        b"\r\n",
        b"\n",
        b"\0",
        b"\xff\xfe",
        b"\xc3",
        b"\xe2\x82",
        b"\xf0\x9f\x98\x80",
        b"-----",
        b"not not not not not ",
        b"\"",
        b"{",
        b"}",
        b"# comment",
        b"99999999999999999999999999999",
        b" / 0",
    ];
    prop_oneof![
        prop::sample::select(fixed).prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 1..16),
        (1usize..400).prop_map(|n| b"(".repeat(n)),
        (1usize..400).prop_map(|n| b"[".repeat(n)),
        (1usize..300).prop_map(|n| b"-(".repeat(n)),
    ]
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..12).prop_map(|pieces| pieces.concat())
}

/// What a finished `cascade` process left: its exit code and stderr.
struct Ended {
    code: Option<i32>,
    stderr: String,
}

/// Runs `cascade ARGS` in the scratch directory with no input, killing it
/// after `limit` (a hang fails the test).
fn cascade(args: &[String], limit: Duration) -> Ended {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(scratch())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Read stderr on a thread so that a chatty command cannot block on a full pipe.
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`cascade {}` did not finish in {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ended { code: status.code(), stderr: reader.join().expect("the reader ends") }
}

/// The promise of the command line: an ordinary exit code (0 success, 1 a
/// problem in the input, 2 a usage error), no panic message, and a failure
/// always says something.
fn assert_ordinary(args: &[String], ended: &Ended) {
    let shown = args.join(" ");
    let shown: String = shown.chars().take(300).collect();
    assert!(
        matches!(ended.code, Some(0..=2)),
        "`cascade {shown}` ended with {:?}: {}",
        ended.code,
        ended.stderr
    );
    assert!(!ended.stderr.contains("panicked"), "`cascade {shown}` panicked: {}", ended.stderr);
    if ended.code != Some(0) {
        assert!(!ended.stderr.trim().is_empty(), "`cascade {shown}` failed without a word");
    }
}

/// Every label of every problem lies in the file, and the problems render.
fn assert_renders(error: &cascade::Error) {
    let Some(diagnostics) = error.diagnostics() else { return };
    let len = diagnostics.source().text().len();
    for problem in diagnostics.problems() {
        assert!(!problem.message.is_empty());
        for label in &problem.labels {
            assert!(label.span.start <= label.span.end && label.span.end as usize <= len, "{problem:?}");
        }
    }
    assert!(!diagnostics.render(cascade::RenderStyle::Plain).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_through_compile_file_are_a_program_or_a_diagnostic(bytes in hostile_bytes()) {
        let path = temp_file(&bytes);
        let engine = Engine::new().max_steps(20).max_fuel(100_000);
        match engine.compile_file(&path) {
            Ok(program) => {
                // Valid UTF-8 that checks: the same text compiles from memory too.
                let text = std::str::from_utf8(&bytes).expect("only UTF-8 compiles");
                prop_assert!(engine.compile(text, "fuzz.cascade").is_ok());
                if let Ok(mut run) = program.run()
                    && let Err(error) = run.run_to_end()
                {
                    assert_renders(&error);
                }
            }
            Err(error) => assert_renders(&error),
        }
        let _ = std::fs::remove_file(path);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_through_check_and_run_end_with_an_ordinary_exit(bytes in hostile_bytes()) {
        let path = temp_file(&bytes);
        let file = path.display().to_string();
        for command in [vec!["check", &file], vec!["run", &file, "--max-steps", "20"]] {
            let args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            assert_ordinary(&args, &cascade(&args, Duration::from_secs(60)));
        }
        let _ = std::fs::remove_file(path);
    }
}

/// Words that argument vectors are made of: every command, the flags, values
/// that are fine, absurd, negative, huge or not numbers, files that exist, do
/// not, or are not files.
fn argument() -> impl Strategy<Value = String> {
    let flagship = root().join("examples/ai_compute_credit.cascade").display().to_string();
    let hello = root().join("examples/hello.cascade").display().to_string();
    let words: Vec<String> = [
        "run",
        "check",
        "explain",
        "graph",
        "test",
        "plot",
        "report",
        "repl",
        "sweep",
        "merge",
        "help",
        "--format",
        "json",
        "jsonl",
        "csv",
        "text",
        "dot",
        "mermaid",
        "--layout",
        "long",
        "--set",
        "--horizon",
        "--max-steps",
        "--max-fuel",
        "--max-trace",
        "--max-instances",
        "--max-nesting",
        "--max-expression-depth",
        "--max-entities",
        "--max-exposures",
        "--max-source-bytes",
        "--data",
        "--depth",
        "--select",
        "--seed",
        "--path",
        "--changes",
        "--warnings",
        "--runs",
        "--grid",
        "--summary",
        "-o",
        "out.file",
        "--help",
        "-h",
        "--version",
        "-",
        "--",
        "0",
        "1",
        "3",
        "-1",
        "256",
        "100",
        "18446744073709551616",
        "1e999",
        "abc",
        "",
        " ",
        "=",
        "x=",
        "=1",
        "price=1",
        "installed_base=0",
        "h100_price=true",
        "miner",
        "price",
        "price@999",
        "miner.cash",
        "coreweave",
        "*",
        "/dev/null",
        "/dev/zero",
        "/nonexistent/file.cascade",
        ".",
        "\u{0}",
        "é",
        "\u{7f}",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([flagship, hello])
    .collect();
    prop_oneof![
        8 => prop::sample::select(words),
        1 => "[ -~]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_argument_vectors_end_with_an_ordinary_exit(args in prop::collection::vec(argument(), 0..7)) {
        // `\0` cannot be in an argument of a process: leave such vectors out.
        prop_assume!(args.iter().all(|a| !a.contains('\0')));
        assert_ordinary(&args, &cascade(&args, Duration::from_secs(60)));
    }
}

#[test]
fn the_fuzz_helpers_see_a_failure() {
    // The properties above are only as good as `assert_ordinary`: a usage
    // error is ordinary, an exit without a word is not.
    let args = vec![String::from("--no-such-flag")];
    let ended = cascade(&args, Duration::from_secs(60));
    assert_eq!(ended.code, Some(2));
    assert_ordinary(&args, &ended);
    let silent = Ended { code: Some(1), stderr: String::new() };
    assert!(std::panic::catch_unwind(|| assert_ordinary(&args, &silent)).is_err());
    let crashed = Ended { code: Some(101), stderr: String::from("thread 'main' panicked") };
    assert!(std::panic::catch_unwind(|| assert_ordinary(&args, &crashed)).is_err());
    assert!(Path::new(env!("CARGO_BIN_EXE_cascade")).exists());
}

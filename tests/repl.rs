//! The REPL, driven through a pipe: `cascade repl [FILE] < session`.
//!
//! Each `tests/repl/NAME.session` is a transcript test. Its first line says how
//! the REPL is started (`# cascade repl examples/hello.cascade`); the other
//! lines are typed into it. The REPL echoes each input after its prompt, so the
//! snapshot (`snapshots/repl__transcript@NAME.session.snap`) reads as the
//! session itself, followed by the exit code. Review new or changed snapshots
//! as `tests/README.md` says.
//!
//! The terminal side (completion, Ctrl-C, Ctrl-D) is in `tests/repl_pty.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cascade ARGS` in the crate root with `input` on stdin; returns the
/// output (stdout, then stderr if any) and the exit code.
fn run_repl(args: &[&str], input: &str) -> (String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("repl-tests"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cascade binary starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_string();
    // Write from another thread so that a large output cannot block the writer.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().expect("the REPL ends");
    writer.join().expect("the writer ends");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(&stderr);
    }
    (text, output.status.code().unwrap_or(-1))
}

/// The arguments from a session's first line: `# cascade repl FILE`.
fn session_args(header: &str) -> Vec<String> {
    let words: Vec<&str> = header.trim_start_matches('#').split_whitespace().collect();
    assert!(
        words.starts_with(&["cascade", "repl"]),
        "a session starts with `# cascade repl [FILE]`, not `{header}`"
    );
    words[1..].iter().map(|w| w.to_string()).collect()
}

fn render_transcript(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("the session can be read");
    let (header, input) = text.split_once('\n').unwrap_or((&text, ""));
    let args = session_args(header);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (output, code) = run_repl(&args, input);
    format!("$ {}\n{output}[exit code {code}]\n", header.trim_start_matches('#').trim())
}

#[test]
fn transcript() {
    insta::glob!("repl/*.session", |path| {
        insta::assert_snapshot!(render_transcript(path));
    });
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let (output, code) = run_repl(&["repl", "tests/repl/no_such_file.cascade"], ":quit\n");
    assert_eq!(code, 2);
    assert!(output.contains("cannot read `tests/repl/no_such_file.cascade`"), "{output}");
}

#[test]
fn a_broken_script_starts_an_empty_world_that_can_be_reloaded() {
    let (output, code) = run_repl(&["repl", "tests/repl/broken.cascade"], "1 + 1\n:reload\n");
    assert_eq!(code, 1);
    assert!(output.contains("unknown name `y`"), "{output}");
    assert!(output.contains("starting with an empty world"), "{output}");
    assert!(output.contains("cascade[0]> 1 + 1\n2\n"), "{output}");
    assert!(output.contains("cascade[0]> :reload\n"), "{output}");
}

#[test]
fn a_session_without_errors_exits_with_0() {
    let (output, code) = run_repl(&["repl", "examples/hello.cascade"], ":step\nprice\n");
    assert_eq!(code, 0, "{output}");
}

#[test]
fn hostile_input_neither_panics_nor_hangs() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let long_name = "x".repeat(100_000);
    let garbage: String = (0u8..=255).map(|b| if b == b'\n' { ' ' } else { b as char }).collect();
    let lines = [
        deep.as_str(),
        long_name.as_str(),
        garbage.as_str(),
        ":step 18446744073709551615",
        ":step 99999999999999999999999",
        ":back 18446744073709551615",
        ":events 18446744073709551615",
        ":set price = 1e999999",
        ":set price = 99999999999999999999999999999 * 10",
        "price * 99999999999999999999999999999 * 10",
        ":show .",
        ":show miner.",
        ":why .",
        ":load",
        ":load /",
        ":",
        "::",
        "\u{0}",
        "kind K { x = \"unterminated }",
        "\"{",
        "param p = (",
        ":step",
        "price",
    ];
    let mut input = lines.join("\n");
    input.push('\n');
    input.push_str("rule r:\n  for b: Supplier\n  when b.cash < 0 {\n");
    let (output, code) = run_repl(&["repl", "examples/hello.cascade"], &input);
    assert_eq!(code, 1);
    assert!(!output.contains("panicked"), "{output}");
    assert!(output.contains("cascade[1]> price\n1.9\n"), "{output}");
}

#[test]
fn invalid_utf8_input_is_read_lossily() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["repl", "examples/hello.cascade"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cascade binary starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(b"pr\xffice\nprice\n").expect("the input is written");
    drop(stdin);
    let output = child.wait_with_output().expect("the REPL ends");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("cascade[0]> price\n2\n"), "{text}");
}

/// Every transcript in `docs/repl.md` (a ```text block that starts with
/// `$ cascade repl`) is what the REPL prints for the lines typed in it.
#[test]
fn the_transcripts_in_the_docs_are_true() {
    let doc = std::fs::read_to_string(root().join("docs/repl.md")).expect("docs/repl.md");
    let mut checked = 0;
    for block in doc.split("```text\n").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        let Some((command, expected)) = block.split_once('\n') else { continue };
        let Some(args) = command.strip_prefix("$ cascade ") else { continue };
        let typed: String = expected
            .lines()
            .filter_map(|line| {
                let (prompt, rest) = line.split_once("> ")?;
                let is_prompt = prompt.starts_with("cascade[") || prompt.trim() == "...";
                is_prompt.then(|| format!("{rest}\n"))
            })
            .collect();
        let args: Vec<&str> = args.split_whitespace().collect();
        let (output, _) = run_repl(&args, &typed);
        assert_eq!(output, expected, "the transcript in docs/repl.md starting `{command}` is out of date");
        checked += 1;
    }
    assert!(checked > 0, "docs/repl.md has no transcript");
}

//! The `cascade` command line: exit codes, formats, and the flagship's outputs.

use std::path::Path;
use std::process::Output;

mod common;
use common::{cascade, stderr, stdout};

fn temp_script(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_flagship_runs_and_its_timeline_is_stable() {
    let output = cascade(&["run", "examples/ai_compute_credit.cascade"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("flagship_run_text", stdout(&output));
}

#[test]
fn explain_tells_the_story_of_the_supplier_default() {
    let output =
        cascade(&["explain", "examples/ai_compute_credit.cascade", "applied_digital", "--depth", "4"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("flagship_explain_applied_digital", stdout(&output));
}

#[test]
fn the_readme_explain_example_is_true() {
    let output =
        cascade(&["explain", "examples/ai_compute_credit.cascade", "converted_miner", "--depth", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let text = stdout(&output);
    assert!(
        readme.contains(&format!("```text\n{text}```")),
        "README.md's explain example is out of date:\n{text}"
    );
    // It names the lessor whose default cost the miner its money.
    assert!(text.contains("neocloud defaulted at step 24 (2027-12): 400m × (1 − 10%) = 360m"), "{text}");
}

#[test]
fn explain_json_is_structured() {
    let output = cascade(&["explain", "examples/interbank.cascade", "bravo", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["happened"], true);
    assert_eq!(json["summary"], "bravo defaulted at step 2 (2026-02)");
    assert_eq!(json["causes"][0]["kind"], "rule");
    assert_eq!(json["causes"][0]["rule"], "insolvency [b = bravo]");
    // Exact values, and the make-up of bravo's losses down to alpha's default.
    let text = serde_json::to_string(&json).unwrap();
    assert!(text.contains(r#""loss":{"amount":"40000000","creditor":"bravo","debtor":"alpha","defaulted_at":1,"loss":"24000000","recovery":"0.4"}"#), "{text}");
}

#[test]
fn why_not_on_the_command_line() {
    let output = cascade(&["explain", "examples/interbank.cascade", "charlie"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("charlie did not default"), "{text}");
    assert!(text.contains("insolvency [b = charlie]"), "{text}");
}

#[test]
fn set_changes_a_param_and_the_outcome() {
    let base = cascade(&["run", "examples/interbank.cascade", "--format", "json"]);
    let lower =
        cascade(&["run", "examples/interbank.cascade", "--set", "recovery_rate=20%", "--format", "json"]);
    // With 20% recovery, expectations written for 40% do not hold: `run`
    // explores, so it says so in one line and exits 0; and more defaults.
    assert_eq!(base.status.code(), Some(0));
    assert_eq!(lower.status.code(), Some(0), "{}", stderr(&lower));
    let said = stderr(&lower);
    assert!(
        said.contains("expectations do not hold under these settings — `cascade test` shows them"),
        "{said}"
    );
    assert!(!said.contains("expectation failed"), "no diagnostics from run: {said}");
    let count = |o: &Output| stdout(o).matches("\"kind\": \"default\"").count();
    assert!(count(&lower) > count(&base));
    let json: serde_json::Value = serde_json::from_slice(&lower.stdout).unwrap();
    assert_eq!(json["provenance"]["params"]["recovery_rate"], "0.2");
}

#[test]
fn set_rejects_unknown_params_and_bad_values() {
    let unknown = cascade(&["run", "examples/hello.cascade", "--set", "los_line=1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `loss_line`?"), "{}", stderr(&unknown));
    let bad = cascade(&["run", "examples/hello.cascade", "--set", "loss_line=cheap"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not a number"), "{}", stderr(&bad));
    let malformed = cascade(&["run", "examples/hello.cascade", "--set", "loss_line"]);
    assert_eq!(malformed.status.code(), Some(2));
}

#[test]
fn json_output_carries_provenance_and_every_step() {
    let output = cascade(&["run", "examples/hello.cascade", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let provenance = &json["provenance"];
    assert_eq!(provenance["file"], "examples/hello.cascade");
    assert_eq!(provenance["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(provenance["params"]["loss_line"], "1.5");
    assert_eq!(provenance["horizon"], 100);
    assert_eq!(json["steps"].as_array().map(Vec::len), Some(100));
    assert_eq!(json["initial"]["price"], "2");
    let step6 = &json["steps"][5];
    assert_eq!(step6["events"][0]["kind"], "default");
    assert_eq!(step6["events"][0]["entity"], "miner");
}

#[test]
fn csv_has_one_row_per_step_and_exact_values() {
    let output = cascade(&["run", "examples/interbank.cascade", "--format", "csv"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let mut lines = text.lines();
    // The header comes first: tools read the file without options.
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("step,date,alpha.capital,alpha.losses,alpha.solvent,alpha.defaulted"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 13, "step 0 and 12 steps");
    assert!(rows[0].starts_with("0,2025-12,50000000,0,true,false"), "{}", rows[0]);
    assert!(rows[2].starts_with("2,2026-02,"), "{}", rows[2]);
}

#[test]
fn test_command_reports_passes_and_failures() {
    let ok = cascade(&["test", "examples/hello.cascade", "examples/interbank.cascade"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).ends_with("6 passed, 0 failed\n"), "{}", stdout(&ok));

    let failing = temp_script("failing.cascade", "var x = 1\nexpect x == 2\nexpect x == 1\n");
    let output = cascade(&["test", failing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).ends_with("1 passed, 1 failed\n"), "{}", stdout(&output));
    assert!(stderr(&output).contains("x = 1"), "the failure shows the value: {}", stderr(&output));
}

#[test]
fn check_exit_codes() {
    let ok = cascade(&["check", "examples/hello.cascade"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let broken = temp_script("broken.cascade", "var x = y\n");
    let output = cascade(&["check", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown name `y`"), "{}", stderr(&output));
    let missing = cascade(&["check", "no/such/file.cascade"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read"), "{}", stderr(&missing));
    let usage = cascade(&["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn size_and_depth_limits_are_flags() {
    let flagship = "examples/ai_compute_credit.cascade";
    let output = cascade(&["check", "--max-entities", "2", flagship]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("more than 2 entities") && err.contains("--max-entities"), "{err}");
    let output = cascade(&["run", "--max-nesting", "1", flagship]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nested more than 1 level deep"), "{}", stderr(&output));
    let output = cascade(&["graph", "--max-expression-depth", "1", flagship]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("more than 1 operation deep"), "{}", stderr(&output));
    let output = cascade(&["test", "--max-exposures", "1000", "--max-entities", "1000", flagship]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn run_time_errors_exit_1_with_a_diagnostic() {
    let script = temp_script("zero.cascade", "var x = 1\nvar y = 0\nwhen true then x = x / y\n");
    let output = cascade(&["run", script.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("division by zero") && err.contains("at step 1"), "{err}");
}

#[test]
fn invalid_utf8_is_a_diagnostic() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.cascade");
    std::fs::write(&path, b"var caf\xe9 = 1\n").unwrap();
    let output = cascade(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("not valid UTF-8"), "{}", stderr(&output));
}

#[test]
fn every_example_passes_cascade_test() {
    let mut files: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cascade"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 4);
    let mut args = vec!["test"];
    args.extend(files.iter().map(String::as_str));
    let output = cascade(&args);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert!(!stdout(&output).contains("FAIL"));
    assert!(Path::new("examples/ai_compute_credit.cascade").exists());
}

//! What `cascade run` writes, read back as other tools read it: CSV with its
//! header first (read back with the `csv` crate, and by pandas where it is
//! installed), the long layout, `--select`, JSON Lines, the provenance sidecar,
//! `--data`, and a run that fails half-way.

use std::path::{Path, PathBuf};
use std::process::Command;

use cascade::{DataFile, Engine, Value};

mod common;
use common::{cascade, stderr, stdout};

/// A fresh folder for one test.
fn folder(test: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("output-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

const BANKS: &str = "name,capital\nalpha,50m\nBank, Ltd,20m\n";
const SCRIPT: &str = r#"
scenario "data" { start = 2026-01, horizon = 4 }
kind Bank { capital = 0, let losses = exposure_losses(self) }
entity central: Bank { capital = 1bn }
entities Bank from "banks.csv"
exposures from "exposures.csv"
var rounds = 0
let defaults = count(b for b in Bank where b.defaulted)
series rate = { 1: 1%, 4: 4% }
at 1 then default(alpha)
for b: Bank when not b.defaulted and b.losses > b.capital then { default(b), rounds += 1 }
"#;

/// A script with its data files in a folder; returns the script's path.
fn scenario(dir: &Path) -> PathBuf {
    let banks = BANKS.replace("Bank, Ltd", "\"Bank, Ltd\"");
    std::fs::write(dir.join("banks.csv"), banks).unwrap();
    let exposures =
        "creditor,debtor,amount,recovery\n\"Bank, Ltd\",alpha,40m,40%\ncentral,\"Bank, Ltd\",5m,\n";
    std::fs::write(dir.join("exposures.csv"), exposures).unwrap();
    let script = dir.join("data.cascade");
    std::fs::write(&script, SCRIPT).unwrap();
    script
}

#[test]
fn csv_reads_back_with_the_csv_crate_to_the_runs_exact_values() {
    let dir = folder("roundtrip");
    let script = scenario(&dir);
    let out = dir.join("run.csv");
    let output = cascade(&["run", path(&script), "--format", "csv", "-o", path(&out)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // The same run through the API, step by step.
    let engine = Engine::new().loader(move |name: &str, _: &str| {
        std::fs::read(dir.join(name)).map(|b| DataFile::new(name, b)).map_err(|e| e.to_string())
    });
    let program = engine.compile(SCRIPT, "data.cascade").expect("it compiles");
    let mut run = program.run().expect("it starts");
    let columns = run.columns();
    let names: Vec<String> = columns.iter().map(|c| c.name()).collect();
    for global in ["rounds", "defaults", "rate"] {
        assert!(names.iter().any(|n| n == global), "the CSV has the global `{global}`: {names:?}");
    }

    let mut reader = csv::Reader::from_path(&out).expect("the CSV opens");
    let header: Vec<String> = reader.headers().expect("a header").iter().map(String::from).collect();
    assert_eq!(header[..2], ["step", "date"]);
    assert_eq!(header[2..], names[..]);
    let mut rows = 0;
    for (step, record) in reader.records().enumerate() {
        let record = record.expect("a row");
        if step > 0 {
            run.step().expect("a step").expect("not past the end");
        }
        assert_eq!(record[0].parse::<usize>().ok(), Some(step));
        for (i, value) in run.values(&columns).expect("the values").iter().enumerate() {
            let cell = &record[i + 2];
            match value {
                Value::Number(n) => {
                    // Exact: the same number (written without trailing zeros).
                    let read: cascade::Decimal = cell.parse().expect("a decimal");
                    assert_eq!(read, *n, "{} at step {step}", names[i]);
                    assert_eq!(cell, n.normalize().to_string(), "{} at step {step}", names[i]);
                }
                Value::Bool(b) => assert_eq!(cell, b.to_string(), "{}", names[i]),
                Value::None => assert_eq!(cell, "", "{}", names[i]),
                other => assert_eq!(cell, run.display(other), "{}", names[i]),
            }
        }
        rows += 1;
    }
    assert_eq!(rows, 5, "step 0 and 4 steps");

    // The provenance sits beside the file: the script and each data file, with SHA-256.
    let sidecar = std::fs::read_to_string(dir_of(&out).join("run.csv.provenance.json")).expect("a sidecar");
    let sidecar: serde_json::Value = serde_json::from_str(&sidecar).expect("JSON");
    let provenance = &sidecar["provenance"];
    let data = provenance["data"].as_array().expect("data files");
    assert_eq!(data.len(), 2);
    assert!(data[0]["path"].as_str().unwrap().ends_with("banks.csv"));
    assert_eq!(data[0]["sha256"].as_str().map(str::len), Some(64));
}

fn dir_of(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[test]
fn the_long_layout_has_one_row_per_step_entity_and_field() {
    let dir = folder("long");
    let script = scenario(&dir);
    let output = cascade(&["run", path(&script), "--format", "csv", "--layout", "long"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["step", "date", "entity", "field", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // 3 globals + 3 banks × (capital, losses, defaulted), at 5 steps.
    assert_eq!(rows.len(), 5 * (3 + 3 * 3));
    let cell = |entity: &str, field: &str, step: &str| {
        rows.iter().find(|r| &r[0] == step && &r[2] == entity && &r[3] == field).map(|r| r[4].to_string())
    };
    assert_eq!(cell("Bank, Ltd", "losses", "1").as_deref(), Some("24000000"));
    assert_eq!(cell("Bank, Ltd", "defaulted", "1").as_deref(), Some("true"));
    assert_eq!(cell("", "rounds", "1").as_deref(), Some("1"));
}

#[test]
fn select_chooses_values_by_name_with_patterns() {
    let dir = folder("select");
    let script = scenario(&dir);
    let output = cascade(&["run", path(&script), "--format", "csv", "--select", "*.defaulted,rate"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let header = stdout(&output).lines().next().unwrap_or_default().to_string();
    assert_eq!(header, "step,date,rate,central.defaulted,alpha.defaulted,\"Bank, Ltd.defaulted\"");

    let unknown = cascade(&["run", path(&script), "--format", "csv", "--select", "nothing*"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown name `nothing*`"), "{}", stderr(&unknown));
}

#[test]
fn json_lines_have_one_line_per_step_with_the_globals() {
    let dir = folder("jsonl");
    let script = scenario(&dir);
    let output = cascade(&["run", path(&script), "--format", "jsonl"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> =
        stdout(&output).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 1 + 5 + 1, "provenance, step 0 to 4, end");
    assert!(lines[0]["provenance"]["data"].is_array());
    assert_eq!(lines[1]["values"]["rate"], "0.01");
    assert_eq!(lines[2]["step"], 1);
    assert_eq!(lines[2]["values"]["defaults"], "2");
    assert_eq!(lines[5]["values"]["rate"], "0.04");
    assert_eq!(lines[6]["end"]["reason"], "horizon");

    let json = cascade(&["run", path(&script), "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(document["steps"][0]["values"]["rounds"], "1");
    assert_eq!(document["initial_values"]["rate"], "0.01");
}

#[test]
fn data_points_a_declared_file_elsewhere() {
    let dir = folder("data");
    let script = scenario(&dir);
    let other = dir.join("other_banks.csv");
    std::fs::write(&other, "name,capital\nalpha,1\n\"Bank, Ltd\",2bn\n").unwrap();
    let data = format!("banks.csv={}", path(&other));
    let output =
        cascade(&["run", path(&script), "--format", "csv", "--select", "*.capital", "--data", &data]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let second = stdout(&output).lines().nth(1).unwrap_or_default().to_string();
    assert_eq!(second, "0,2025-12,1000000000,1,2000000000");

    let typo = cascade(&["run", path(&script), "--data", "bank.csv=x.csv"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("no data file called `bank.csv`"), "{}", stderr(&typo));
    let missing =
        cascade(&["run", path(&script), "--data", &format!("banks.csv={}", path(&dir.join("no.csv")))]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read `banks.csv`"), "{}", stderr(&missing));
}

#[test]
fn data_files_are_read_bounded() {
    let dir = folder("bounded");
    let script = scenario(&dir);
    let output = cascade(&["check", path(&script), "--max-data-bytes", "20"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // miette wraps the message: read it as one line.
    let err = stderr(&output).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("cascade::limit::data"), "{err}");
    assert!(err.contains("banks.csv` is longer than 20 bytes"), "the file and the limit: {err}");
    assert!(err.contains("--max-data-bytes"), "{err}");
    // Exactly the limit is allowed (banks.csv is 39 bytes, exposures.csv 82).
    let exact = cascade(&["check", path(&script), "--max-data-bytes", "82"]);
    assert_eq!(exact.status.code(), Some(0), "{}", stderr(&exact));
    // A device that never ends is not read.
    let zero = cascade(&["check", path(&script), "--data", "banks.csv=/dev/zero"]);
    assert_eq!(zero.status.code(), Some(1), "{}", stderr(&zero));
    assert!(stderr(&zero).contains("not a regular file or a pipe"), "{}", stderr(&zero));
}

#[test]
fn a_run_that_fails_keeps_what_ran() {
    let dir = folder("fails");
    let script = dir.join("fails.cascade");
    std::fs::write(&script, "var x = 3\nvar y = 0\nwhile true then { x -= 1, y = 6 / x }\n").unwrap();
    let csv = cascade(&["run", path(&script), "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(1));
    assert_eq!(stdout(&csv), "step,x,y\n0,3,0\n1,2,3\n2,1,6\n");
    assert!(stderr(&csv).contains("division_by_zero"), "{}", stderr(&csv));

    let json = cascade(&["run", path(&script), "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(document["steps"].as_array().map(Vec::len), Some(2));
    assert!(document["error"]["message"].is_string(), "{document}");
    let lines = cascade(&["run", path(&script), "--format", "jsonl"]);
    let last = stdout(&lines).lines().last().unwrap_or_default().to_string();
    let last: serde_json::Value = serde_json::from_str(&last).expect("valid JSON");
    assert_eq!(last["error"]["problems"][0]["code"], "cascade::run::division_by_zero");
}

/// A CSV run's expectations are in its sidecar, written when the run has ended.
#[test]
fn the_csv_sidecar_holds_the_expectations_and_how_the_run_ended() {
    let dir = folder("expectations");
    let script = dir.join("expects.cascade");
    std::fs::write(
        &script,
        "scenario \"e\" { horizon = 3 }\nvar x = 0\nwhile true then x += 1\n\
         expect x == 3\nexpect x > 10 at 2\nassert x < 100 \"x stays small\"\n",
    )
    .unwrap();
    let out = dir.join("run.csv");
    let output = cascade(&["run", path(&script), "--format", "csv", "-o", path(&out)]);
    assert_eq!(output.status.code(), Some(0), "`run` explores: {}", stderr(&output));
    assert!(stderr(&output).contains("1 of 3 expectations does not hold"), "{}", stderr(&output));
    let rows = std::fs::read_to_string(&out).unwrap();
    assert_eq!(rows, "step,x\n0,0\n1,1\n2,2\n3,3\n", "the rows hold values only");
    let text = std::fs::read_to_string(dir.join("run.csv.provenance.json")).expect("a sidecar");
    let sidecar: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(sidecar["end"]["reason"], "horizon", "{sidecar}");
    assert_eq!(sidecar["end"]["step"], 3, "{sidecar}");
    let expectations = sidecar["expectations"].as_array().expect("expectations");
    let mut summary: Vec<(u64, String, bool)> = expectations
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["source"].as_str().unwrap_or_default().to_string(),
                e["passed"] == true,
            )
        })
        .collect();
    summary.sort();
    assert_eq!(
        summary,
        [
            (4, "expect x == 3".to_string(), true),
            (5, "expect x > 10 at 2".to_string(), false),
            (6, "assert x < 100 \"x stays small\"".to_string(), true),
        ],
        "{sidecar}"
    );
    let at_two = expectations.iter().find(|e| e["line"] == 5).expect("line 5");
    assert_eq!(at_two["step"], 2, "checked at step 2: {sidecar}");
    assert_eq!(at_two["detail"], "x = 2", "{sidecar}");
    assert!(sidecar.get("error").is_none(), "{sidecar}");

    // `--provenance FILE` with CSV on standard output: the same document.
    let other = dir.join("other.json");
    let output = cascade(&["run", path(&script), "--format", "csv", "--provenance", path(&other)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).expect("JSON");
    assert_eq!(again["expectations"], sidecar["expectations"]);
    assert_eq!(again["end"], sidecar["end"]);

    // A run that fails: the sidecar says so, with the error.
    let failing = dir.join("fails.cascade");
    std::fs::write(&failing, "var x = 2\nvar y = 0\nwhile true then { x -= 1, y = 6 / x }\nexpect y > 0\n")
        .unwrap();
    let out = dir.join("fails.csv");
    let output = cascade(&["run", path(&failing), "--format", "csv", "-o", path(&out)]);
    assert_eq!(output.status.code(), Some(1));
    let text = std::fs::read_to_string(dir.join("fails.csv.provenance.json")).expect("a sidecar");
    let sidecar: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(sidecar["error"]["problems"][0]["code"], "cascade::run::division_by_zero", "{sidecar}");
    assert_eq!(sidecar["end"]["reason"], "running", "stopped by the error at step 2: {sidecar}");
    assert!(sidecar["provenance"]["sha256"].is_string(), "{sidecar}");
}

/// pandas reads the CSV without options (skipped, with a message, where pandas
/// is not installed; `.ci/run` installs it).
#[test]
fn pandas_reads_the_csv_without_options() {
    let check = Command::new("python3").args(["-c", "import pandas"]).output();
    if !check.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 with pandas is not installed (pip install pandas)");
        return;
    }
    let dir = folder("pandas");
    let script = scenario(&dir);
    let out = dir.join("run.csv");
    let output = cascade(&["run", path(&script), "--format", "csv", "-o", path(&out)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let program = r#"
import sys, pandas
df = pandas.read_csv(sys.argv[1])
assert list(df.columns[:3]) == ["step", "date", "rounds"], list(df.columns)
assert len(df) == 5, len(df)
assert df["Bank, Ltd.defaulted"].tolist() == [False, True, True, True, True], df["Bank, Ltd.defaulted"].tolist()
assert df["central.capital"][0] == 1000000000
print("ok")
"#;
    let result = Command::new("python3").args(["-c", program, path(&out)]).output().expect("python3 runs");
    assert!(result.status.success(), "{}{}", stdout(&result), stderr(&result));
}

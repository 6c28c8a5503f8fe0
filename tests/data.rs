//! Data files: `entities Kind from "file"` and `exposures from "file"`, through
//! the public API with an in-memory loader.
//!
//! - Every `tests/cases/data/*.case` is a script and its data files (each after
//!   a `=== NAME` line; the first is the script) that must fail to compile; its
//!   snapshot holds the case, then the diagnostics as `cascade` prints them.
//! - The tests below load data that must work (a byte-order mark, CRLF, quoted
//!   cells with commas, script and data entities mixed, several files per kind)
//!   and check the values that result.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use cascade::{DataFile, Engine, Error, RenderStyle, Value};

/// A case: the script's name and text, and the data files by name.
struct Case {
    script: (String, String),
    files: HashMap<String, Vec<u8>>,
}

fn parse_case(text: &str) -> Case {
    let mut parts: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("=== ") {
            parts.push((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = parts.last_mut() {
            body.push_str(line);
        }
    }
    let mut parts = parts.into_iter();
    let script = parts.next().expect("a case starts with its script");
    Case { script, files: parts.map(|(name, body)| (name, body.into_bytes())).collect() }
}

/// An engine whose loader serves `files`.
fn engine(files: HashMap<String, Vec<u8>>) -> Engine {
    Engine::new().loader(move |name: &str, _script: &str| match files.get(name) {
        Some(bytes) => Ok(DataFile::new(name, bytes.clone())),
        None => Err(String::from("no such file")),
    })
}

fn render(error: &Error) -> String {
    match error {
        Error::Script(diagnostics) => format!("{}{diagnostics}\n", diagnostics.render(RenderStyle::Plain)),
        Error::Data(files) => {
            let mut out = String::new();
            for diagnostics in files {
                out.push_str(&diagnostics.render(RenderStyle::Plain));
                out.push_str(&format!("{diagnostics}\n"));
            }
            out
        }
        other => format!("{other}\n"),
    }
}

#[test]
fn data_case() {
    insta::glob!("cases/data/*.case", |path| {
        let text = fs::read_to_string(path).expect("the case can be read");
        let case = parse_case(&text);
        let (name, script) = &case.script;
        let error = match engine(case.files).compile(script, name) {
            Ok(_) => panic!("{} compiled, but a data case must fail", path.display()),
            Err(e) => e,
        };
        let snapshot = format!("----- CASE\n{text}----- DIAGNOSTICS\n{}", render(&error));
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(snapshot);
        });
    });
}

#[test]
fn there_are_data_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/data");
    let count = fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert!(count >= 15, "only {count} data cases");
}

fn files(list: &[(&str, &[u8])]) -> HashMap<String, Vec<u8>> {
    list.iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect()
}

fn value(run: &mut cascade::Run, name: &str) -> String {
    run.value(name).unwrap_or_else(|e| panic!("{name}: {e}")).to_string()
}

#[test]
fn a_byte_order_mark_crlf_and_quoted_cells_load() {
    let banks = b"\xEF\xBB\xBFname,capital,shocked,note\r\n\"Bank, Ltd\",10m,TRUE,\"says \"\"hi\"\"\"\r\n1st,  2bn ,,\r\n";
    let script =
        "kind Bank { capital = 0, shocked = false, note = \"none\" }\nentities Bank from \"banks.csv\"";
    let program = engine(files(&[("banks.csv", banks)])).compile(script, "b.cascade").expect("it loads");
    let mut run = program.run().expect("it starts");
    assert_eq!(value(&mut run, "Bank, Ltd.capital"), "10000000");
    assert_eq!(value(&mut run, "Bank, Ltd.shocked"), "true");
    assert_eq!(value(&mut run, "Bank, Ltd.note"), "says \"hi\"");
    assert_eq!(value(&mut run, "1st.capital"), "2000000000");
    assert_eq!(value(&mut run, "1st.shocked"), "false", "an empty cell takes the kind's default");
    assert_eq!(value(&mut run, "1st.note"), "none");
    let doubled = run.evaluate("`1st`.capital * 2").expect("a quoted name in an expression");
    assert_eq!(doubled.to_string(), "4000000000");
}

#[test]
fn script_and_data_entities_mix_in_rules_and_aggregates() {
    let banks = b"name,capital\n529900T8BM49AURSDO55,10\nSecond Bank,20\n";
    let more = b"name,capital\nthird,4\n";
    let exposures =
        b"creditor,debtor,amount,recovery\nthird,529900T8BM49AURSDO55,10,50%\nscripted,third,100,0\n";
    let script = r#"
kind Bank { capital = 0, let losses = exposure_losses(self) }
entity scripted: Bank { capital = 1000 }
entities Bank from "banks.csv"
entities Bank from "more.csv"
exposures from "exposures.csv"
at 1 then default(`529900T8BM49AURSDO55`)
for b: Bank when not b.defaulted and b.losses > b.capital then default(b)
expect count(b for b in Bank) == 4
expect sum(b.capital for b in Bank) == 1034
expect third.defaulted and not scripted.defaulted and not `Second Bank`.defaulted
expect scripted.losses == 100
"#;
    let data = files(&[("banks.csv", banks), ("more.csv", more), ("exposures.csv", exposures)]);
    let program = engine(data).compile(script, "mix.cascade").expect("it compiles");
    let names: Vec<&str> = program.data_sources().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["banks.csv", "more.csv", "exposures.csv"]);
    let mut run = program.run().expect("it starts");
    run.run_to_end().expect("it runs");
    for e in run.expectations() {
        assert!(e.passed, "{} ({})", e.text, e.detail);
    }
    assert_eq!(run.expectations().len(), 4);
}

#[test]
fn an_engine_without_a_loader_refuses_data_files() {
    let script = "kind Bank { capital = 0 }\nentities Bank from \"banks.csv\"\nexposures from \"x.csv\"\n";
    let error = Engine::new().compile(script, "banks.cascade").expect_err("no loader");
    insta::assert_snapshot!(format!("----- SOURCE\n{script}----- DIAGNOSTICS\n{}", render(&error)));
}

#[test]
fn the_provenance_names_each_data_file_and_its_sha256() {
    // The SHA-256 is of the bytes the loader gave, a byte-order mark included
    // (the expected values are `sha256sum`'s of the same bytes).
    let banks = b"\xEF\xBB\xBFname,capital\nalpha,1\n";
    let exposures = b"creditor,debtor,amount\nalpha,beta,5\n";
    let script = "kind Bank { capital = 0 }\nentities Bank from \"banks.csv\"\nentity beta: Bank\n\
                  exposures from \"x.csv\"";
    let program = engine(files(&[("banks.csv", banks), ("x.csv", exposures)]))
        .compile(script, "p.cascade")
        .expect("it compiles");
    let sources = program.data_sources();
    let shown: Vec<(&str, &str, usize)> =
        sources.iter().map(|s| (s.name.as_str(), s.sha256.as_str(), s.rows)).collect();
    assert_eq!(
        shown,
        [
            ("banks.csv", "1571c5f27e48768b4d0d0fe8d80074782cdb77ef4240eff824d41d8c2b07d3ab", 1),
            ("x.csv", "67a6120f4b0669b0a47312246831cbfd066cbd66e421a368073bb262bed49bc2", 1),
        ]
    );
    let run = program.run().expect("it starts");
    let json = run.trace().to_json();
    for (i, source) in sources.iter().enumerate() {
        assert_eq!(json["provenance"]["data"][i]["sha256"].as_str(), Some(source.sha256.as_str()));
        assert_eq!(json["provenance"]["data"][i]["path"].as_str(), Some(source.name.as_str()));
    }
}

#[test]
fn a_file_that_is_not_utf8_is_a_diagnostic_at_the_byte() {
    let banks = b"name,capital\nalpha,1\nb\xFFta,2\n";
    let script = "kind Bank { capital = 0 }\nentities Bank from \"banks.csv\"";
    let error = engine(files(&[("banks.csv", banks)])).compile(script, "u.cascade").expect_err("not UTF-8");
    let Error::Data(files) = &error else { panic!("{error}") };
    let problem = &files[0].problems()[0];
    assert_eq!(problem.code, "cascade::data::not_utf8");
    assert_eq!(problem.span().map(|s| s.start), Some(22));
}

#[test]
fn nothing_is_loaded_when_one_file_has_a_problem() {
    let good = b"name,capital\nalpha,1\n";
    let bad = b"name,capital\nbeta,x\n";
    let script = "kind Bank { capital = 0 }\nentities Bank from \"good.csv\"\nentities Bank from \"bad.csv\"";
    let error = engine(files(&[("good.csv", good), ("bad.csv", bad)])).compile(script, "n.cascade");
    let Err(Error::Data(files)) = error else { panic!("expected data problems") };
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].source().name(), "bad.csv");
}

#[test]
fn values_from_data_have_the_kinds_types() {
    let banks = b"name,since,open\nalpha,2026-06,false\n";
    let script = "kind Bank { since = 2026-01, open = true }\nentities Bank from \"banks.csv\"";
    let program = engine(files(&[("banks.csv", banks)])).compile(script, "t.cascade").expect("it compiles");
    let mut run = program.run().expect("it starts");
    assert!(matches!(run.value("alpha.since"), Ok(Value::Date(_))));
    assert_eq!(value(&mut run, "alpha.open"), "false");
}

/// The data-driven example runs from its folder and passes its own expectations.
#[test]
fn the_counterparties_example_checks_itself() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["test", "examples/counterparties/counterparties.cascade"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.ends_with("7 passed, 0 failed\n"), "{text}");
}

#[test]
fn a_data_file_longer_than_the_engine_reads_is_refused_at_its_declaration() {
    let banks = b"name,capital\nalpha,1\nbeta,2\n";
    let script = "kind Bank { capital = 0 }\nentities Bank from \"banks.csv\"";
    let exact = engine(files(&[("banks.csv", banks)])).max_data_bytes(banks.len());
    assert!(exact.compile(script, "b.cascade").is_ok(), "a file of exactly the limit loads");
    let short = engine(files(&[("banks.csv", banks)])).max_data_bytes(banks.len() - 1);
    let error = short.compile(script, "b.cascade").expect_err("one byte over the limit");
    let text = render(&error);
    assert!(text.contains("cascade::limit::data"), "{text}");
    assert!(text.contains(&format!("`banks.csv` is longer than {} bytes", banks.len() - 1)), "{text}");
    assert!(text.contains("Engine::max_data_bytes"), "{text}");
}

#[test]
fn further_columns_of_exposures_are_their_extra_fields() {
    let first = b"creditor,debtor,amount,recovery,maturity,senior,desk\n\
        a,b,10,40%,2026-06,true,London\n\
        a,c,20,,2028-01,,\"Paris, FR\"\n";
    // A second file without `senior` and `desk`, with a column of its own.
    let second = b"creditor,debtor,amount,maturity,haircut\nb,c,30,,5%\nc,a,1,2026-03,\n";
    let script = r#"
kind Bank { cash = 0 }
entity a: Bank { cash = 5 }
entity b: Bank { cash = 7 }
entity c: Bank { cash = 11 }
exposure b -> a = 2 { maturity = 2027-01 }
exposures from "first.csv"
exposures from "second.csv"
let due_soon = sum(x.amount for x in exposures_of(a) where x.maturity < 2027-01)
let senior = count(x for x in exposures_of(a) where x.senior == true)
let london = count(x for x in exposures_of(a) where x.desk == "London")
let paris = count(x for x in exposures_of(a) where x.desk == "Paris, FR")
let haircuts = sum(x.amount for x in exposures_of(b) where x.haircut == 5%)
let dated = count(x for x in exposures_of(b) where x.maturity == 2027-01)
let undated_c = count(x for x in exposures_of(c) where x.maturity == 2026-03)
"#;
    let engine = engine(files(&[("first.csv", first), ("second.csv", second)]));
    let program = engine.compile(script, "x.cascade").unwrap_or_else(|e| panic!("{}", render(&e)));
    let mut run = program.run().expect("it starts");
    assert_eq!(value(&mut run, "due_soon"), "10", "a -> b matures 2026-06, a -> c 2028-01");
    assert_eq!(value(&mut run, "senior"), "1", "an empty cell has no value");
    assert_eq!(value(&mut run, "london"), "1");
    assert_eq!(value(&mut run, "paris"), "1", "a quoted cell with a comma is text");
    assert_eq!(value(&mut run, "haircuts"), "30", "b -> c has a haircut of 5%");
    assert_eq!(value(&mut run, "dated"), "1", "the script's exposure keeps its field");
    assert_eq!(value(&mut run, "undated_c"), "1");

    // A field the data does not have is listed with those it does.
    let wrong = "kind Bank { cash = 0 }\nentity a: Bank {}\nentity b: Bank {}\nentity c: Bank {}\n\
        exposures from \"first.csv\"\nlet m = count(x for x in exposures_of(a) where x.maturty == 2026-06)\n";
    let error = engine.compile(wrong, "w.cascade").expect_err("no such field");
    let text = render(&error);
    assert!(text.contains("maturity"), "the fields are listed: {text}");
}

/// A file of exposures large enough to be read in chunks on several threads
/// (a plain file of more than a few hundred kilobytes) gives what reading it
/// row by row gives: the same exposures, and the same diagnostics in the same
/// order, capped the same. The row-by-row reader is the one a file with a
/// quoted cell takes, so each file is loaded as it is and with one harmless
/// cell quoted in its last row (far from every problem, so that the
/// diagnostics' snippets are the same).
#[test]
fn a_file_read_in_chunks_gives_what_reading_it_row_by_row_gives() {
    const ROWS: usize = 60_000; // about 1.1 MB: several chunks
    let banks: String = std::iter::once("name,capital\n".to_string())
        .chain((0..1000).map(|i| format!("b{i},{}k\n", 50 + i % 70)))
        .collect();
    // Exposures name data entities, a script entity (`hub`) and an entity of
    // a file declared after them (`late0`), which wait for the end.
    let row = |i: usize| {
        let creditor = if i % 7001 == 3 { "late0".to_string() } else { format!("b{}", i / 60) };
        let debtor = match i {
            _ if i % 5003 == 7 => "hub".to_string(),
            _ if (i * 7 + 1) % 1000 == i / 60 => format!("b{}", (i / 60 + 1) % 1000),
            _ => format!("b{}", (i * 7 + 1) % 1000),
        };
        format!("{creditor},{debtor},{}k,{}%\n", i % 97 + 1, i % 90 + 5)
    };
    let clean: Vec<String> =
        std::iter::once("creditor,debtor,amount,recovery\n".to_string()).chain((0..ROWS).map(row)).collect();
    let quoted = |lines: &[String]| {
        let mut lines = lines.to_vec();
        let last = lines.last_mut().expect("rows");
        let cells: Vec<&str> = last.split(',').collect();
        *last = format!("{},{},\"{}\",{}", cells[0], cells[1], cells[2], cells[3..].join(","));
        lines.concat().into_bytes()
    };
    let script = r#"
kind Bank { capital = 0, let losses = exposure_losses(self) }
entity hub: Bank { capital = 1m }
entities Bank from "banks.csv"
exposures from "exposures.csv"
entities Bank from "late.csv"
at 1 then default(b3)
at 1 then default(hub)
for b: Bank when not b.defaulted and b.losses > b.capital then default(b)
"#;
    let compile = |exposures: Vec<u8>| {
        let data = files(&[
            ("banks.csv", banks.as_bytes()),
            ("late.csv", b"name,capital\nlate0,1k\n"),
            ("exposures.csv", &exposures),
        ]);
        engine(data).compile(script, "chunks.cascade")
    };
    // Clean: every bank's losses and default, step by step.
    let outcome = |exposures: Vec<u8>| {
        let mut run = compile(exposures).expect("it compiles").run().expect("it starts");
        run.run_to_end().expect("it runs");
        let names = (0..1000).map(|i| format!("b{i}")).chain(["hub".into(), "late0".into()]);
        names
            .map(|n| (value(&mut run, &format!("{n}.losses")), value(&mut run, &format!("{n}.defaulted"))))
            .collect::<Vec<_>>()
    };
    let quoted_clean = quoted(&clean);
    assert_ne!(quoted_clean, clean.concat().into_bytes(), "the last row has a quoted cell");
    let chunked = outcome(clean.concat().into_bytes());
    assert_eq!(chunked, outcome(quoted_clean));
    assert!(chunked.iter().filter(|(_, d)| d == "true").count() > 2, "the contagion spreads");
    // Blank lines in every chunk leave gaps at the ends of the chunks'
    // stretches of exposures, which are closed up: the same outcome.
    let blank: Vec<String> = clean
        .iter()
        .enumerate()
        .map(|(i, line)| if i % 997 == 500 { format!("{line}\n  \r\n") } else { line.clone() })
        .collect();
    assert_eq!(outcome(blank.concat().into_bytes()), chunked);
    assert_eq!(outcome(quoted(&blank)), chunked);

    // Problems in every chunk, more than a file shows: bad amounts, bad and
    // out-of-range recoveries, self-exposures, wrong widths.
    let mut bad = clean.clone();
    for (n, i) in (1..ROWS - 10).step_by(ROWS / 37).enumerate() {
        let (c, d) = (format!("b{}", (i - 1) / 60), format!("b{}", (i * 3) % 1000));
        bad[i] = match n % 5 {
            0 => format!("{c},{d},12q,35%\n"),
            1 => format!("{c},{d},1k,140%\n"),
            2 => format!("{c},{c},1k,40%\n"),
            3 => format!("{c},{d},1k\n"),
            _ => format!("{c},{d},1k,x%\n"),
        };
    }
    // And more than a file shows within one chunk.
    for line in &mut bad[30_000..30_025] {
        *line = line.replacen("k,", "q,", 1);
    }
    let failed = |exposures: Vec<u8>| match compile(exposures) {
        Ok(_) => panic!("the file has problems"),
        Err(error) => render(&error),
    };
    let chunked = failed(bad.concat().into_bytes());
    assert_eq!(chunked, failed(quoted(&bad)));
    assert!(chunked.contains("more problems in this file (only the first 20 are shown)"), "{chunked}");

    // Unknown names in every chunk, reported when all files are read.
    let mut unknown = clean.clone();
    for (n, i) in (1..ROWS - 10).step_by(ROWS / 31).enumerate() {
        unknown[i] =
            if n % 2 == 0 { format!("nobody{n},b1,1k,35%\n") } else { format!("b2,nobody{n},1k,35%\n") };
    }
    let chunked = failed(unknown.concat().into_bytes());
    assert_eq!(chunked, failed(quoted(&unknown)));
    assert!(chunked.contains("unknown entity `nobody0`") && chunked.contains("more problems"), "{chunked}");
}

#[test]
fn the_loader_is_asked_for_each_file_once_in_order_one_at_a_time() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The engine fetches the next file while it reads the one before: the
    // loader still sees the declarations' order, and never two calls at once.
    let asked = std::sync::Arc::new(Mutex::new(Vec::new()));
    let (busy, most) = (std::sync::Arc::new(AtomicUsize::new(0)), std::sync::Arc::new(AtomicUsize::new(0)));
    let data = files(&[
        ("a.csv", b"name,capital\nalpha,1\n"),
        ("b.csv", b"name,capital\nbeta,2\n"),
        ("x.csv", b"creditor,debtor,amount\nalpha,beta,5\nbeta,alpha,7\n"),
    ]);
    let engine = Engine::new().loader({
        let (asked, busy, most) = (asked.clone(), busy.clone(), most.clone());
        move |name: &str, _script: &str| {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            asked.lock().unwrap().push(name.to_string());
            busy.fetch_sub(1, Ordering::SeqCst);
            data.get(name)
                .map(|bytes| DataFile::new(name, bytes.clone()))
                .ok_or_else(|| String::from("no such file"))
        }
    });
    let script = "kind Bank { capital = 0, let losses = exposure_losses(self) }\n\
                  entities Bank from \"a.csv\"\nentities Bank from \"b.csv\"\nexposures from \"x.csv\"\n";
    let mut run = engine.compile(script, "p.cascade").expect("it compiles").run().expect("it starts");
    assert_eq!(*asked.lock().unwrap(), ["a.csv", "b.csv", "x.csv"]);
    assert_eq!(most.load(Ordering::SeqCst), 1, "two files were asked for at once");
    assert_eq!(value(&mut run, "alpha.losses"), "0");
    run.step().expect("a step");
    assert_eq!(value(&mut run, "beta.capital"), "2");
}

#[test]
fn files_that_cannot_be_had_among_several_are_reported_in_order() {
    // The second and third of four files are missing (the next file is
    // fetched while the one before is read) and the fourth names no kind:
    // all three are reported, in the declarations' order.
    let data = files(&[("a.csv", b"name,capital\nalpha,1\n")]);
    let script = "kind Bank { capital = 0 }\nentities Bank from \"a.csv\"\nentities Bank from \"b.csv\"\n\
                  exposures from \"x.csv\"\nentities Bnak from \"a.csv\"\n";
    let error = engine(data).compile(script, "p.cascade").expect_err("two files are missing");
    insta::assert_snapshot!(format!("----- SOURCE\n{script}----- DIAGNOSTICS\n{}", render(&error)));
}

#[test]
fn a_loader_that_panics_panics_in_the_host_as_if_called_there() {
    // The engine calls no loader it cannot trust to return: a host's panic is
    // the host's, and reaches it with its own message, whether the file was
    // fetched on the host's thread (one file) or beside it (several).
    for script in [
        "kind Bank { capital = 0 }\nentities Bank from \"boom.csv\"\n",
        "kind Bank { capital = 0 }\nentities Bank from \"a.csv\"\nentities Bank from \"boom.csv\"\n",
    ] {
        let engine = Engine::new().loader(|name: &str, _script: &str| match name {
            "a.csv" => Ok(DataFile::new(name, "name,capital\nalpha,1\n")),
            _ => panic!("the host's loader broke on {name}"),
        });
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.compile(script, "p.cascade")));
        let payload = caught.expect_err("the loader's panic reaches the host");
        let message = payload.downcast_ref::<String>().map(String::as_str).unwrap_or("<not a String>");
        assert_eq!(message, "the host's loader broke on boom.csv", "{script}");
    }
}

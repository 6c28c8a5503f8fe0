//! The table of built-in functions (`cascade::builtins::BUILTINS`) against the
//! rest of the language: every built-in is checked and evaluated (its example
//! runs and gives its value), documented in `docs/language.md`, and known to
//! every editor grammar (`tests/editors.rs` compares each grammar with
//! `cascade::syntax::BUILTIN_FUNCTIONS`, the table's names).

use std::fs;
use std::path::PathBuf;

use cascade::builtins::{BUILTINS, EXAMPLE_WORLD};
use cascade::syntax::BUILTIN_FUNCTIONS;
use cascade::{Engine, Error};

#[test]
fn every_builtin_example_checks_runs_and_gives_its_value() {
    let mut problems = Vec::new();
    for builtin in BUILTINS {
        let (expression, expected) = builtin.example;
        let script = format!("{EXAMPLE_WORLD}let example = {expression}\n");
        let program = match Engine::new().compile(&script, "example.cascade") {
            Ok(program) => program,
            Err(Error::Script(d)) => {
                let codes: Vec<&str> = d.problems().iter().map(|p| p.code).collect();
                problems.push(format!("{}: `{expression}` does not check: {codes:?}", builtin.name));
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let mut run = program.run().expect("the example world starts");
        match run.value("example") {
            Ok(value) if value.to_string() == expected => {}
            Ok(value) => {
                problems.push(format!("{}: `{expression}` is {value}, not {expected}", builtin.name))
            }
            Err(e) => problems.push(format!("{}: `{expression}` fails: {e}", builtin.name)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_builtin_is_documented_in_the_language_reference() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    let docs = fs::read_to_string(&path).expect("docs/language.md");
    let missing: Vec<&str> = BUILTINS
        .iter()
        .map(|b| b.name)
        .filter(|name| !docs.contains(&format!("`{name}`")) && !docs.contains(&format!("`{name}(")))
        .collect();
    assert!(missing.is_empty(), "docs/language.md does not mention {missing:?} (as `name` or `name(...)`)");
}

#[test]
fn the_editor_word_list_is_the_table() {
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    assert_eq!(BUILTIN_FUNCTIONS, names.as_slice());
}

#[test]
fn arity_errors_say_how_to_call_the_builtin() {
    for builtin in BUILTINS.iter().filter(|b| b.arity().is_some()) {
        let script = format!("{EXAMPLE_WORLD}let wrong = {}()\n", builtin.name);
        let Err(Error::Script(d)) = Engine::new().compile(&script, "arity.cascade") else {
            panic!("{}() with no arguments compiled", builtin.name);
        };
        let problem = &d.problems()[0];
        assert_eq!(problem.code, "cascade::check::arity", "{}", builtin.name);
        assert_eq!(problem.help.as_deref(), Some(builtin.usage), "{}", builtin.name);
    }
}

//! A host's `World` (`Engine::compile_with_data`): its entities and exposures
//! load as the rows of data files do (checked against the script's kinds,
//! with no syntax-tree item each), and every problem names the host's entity
//! or exposure by its number, never a span of the script.

use cascade::{DataFile, Decimal, Engine, Error, RenderStyle, Value, World};

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

const SCRIPT: &str = "\
kind Bank { capital = 0, region = \"\", let losses = exposure_losses(self) }
entity alpha: Bank { capital = 1m }
for b: Bank when not b.defaulted and b.losses > b.capital then default(b)
";

fn number(n: i64) -> Value {
    Value::Number(Decimal::from(n))
}

fn compile_error(world: &World) -> String {
    match Engine::new().compile_with_data(SCRIPT, "banks.cascade", world) {
        Ok(_) => panic!("compiled"),
        Err(e) => format!("----- SCRIPT\n{SCRIPT}----- DIAGNOSTICS\n{}", render(&e)),
    }
}

#[test]
fn a_host_entity_of_an_unknown_kind() {
    let mut world = World::new();
    world.entity("beta", "Bank", &[]).entity("gamma", "Bnak", &[]);
    insta::assert_snapshot!(compile_error(&world));
}

#[test]
fn a_host_entity_with_an_unknown_field() {
    let mut world = World::new();
    world.entity("beta", "Bank", &[("capitl", number(5))]);
    insta::assert_snapshot!(compile_error(&world));
}

#[test]
fn a_host_exposure_to_an_unknown_entity() {
    let mut world = World::new();
    world.entity("beta", "Bank", &[]);
    world.exposure("beta", "alpha", Decimal::from(10), Decimal::ZERO);
    world.exposure("beta", "alpah", Decimal::from(10), Decimal::ZERO);
    insta::assert_snapshot!(compile_error(&world));
}

#[test]
fn a_host_entity_named_as_a_script_entity() {
    let mut world = World::new();
    world.entity("beta", "Bank", &[]).entity("alpha", "Bank", &[]).entity("beta", "Bank", &[]);
    insta::assert_snapshot!(compile_error(&world));
}

#[test]
fn host_values_of_the_wrong_type_and_other_problems_are_reported_together() {
    let mut world = World::new();
    world
        .entity(
            "beta",
            "Bank",
            &[("capital", Value::Str("lots".into())), ("region", Value::Str("EU".into()))],
        )
        .entity("", "Bank", &[])
        .entity("gamma", "Bank", &[("losses", number(1)), ("capital", number(1)), ("capital", number(2))]);
    world.exposure("alpha", "alpha", Decimal::from(1), Decimal::ZERO);
    world.exposure("alpha", "beta", Decimal::from(1), Decimal::from(2));
    insta::assert_snapshot!(compile_error(&world));
}

#[test]
fn host_entities_and_exposures_join_the_scripts_and_the_data_files() {
    // Names need not be identifiers (the script writes them in backticks);
    // exposures of the host and of a data file name entities of all three.
    let script = "\
kind Bank { capital = 0, region = \"\", let losses = exposure_losses(self) }
entity alpha: Bank { capital = 1m }
entities Bank from \"banks.csv\"
exposures from \"exposures.csv\"
for b: Bank when not b.defaulted and b.losses > b.capital then default(b)
at 1 then default(`Host Bank`)
";
    let engine = Engine::new().loader(|name: &str, _: &str| match name {
        "banks.csv" => Ok(DataFile::new(name, "name,capital\nfile_bank,5\n")),
        _ => Ok(DataFile::new(name, "creditor,debtor,amount\nfile_bank,Host Bank,10\n")),
    });
    let mut world = World::new();
    world.entity("Host Bank", "Bank", &[("capital", number(3)), ("region", Value::Str("EU".into()))]);
    world.exposure("alpha", "file_bank", Decimal::from(2_000_000), Decimal::ZERO);
    let mut run = engine.compile_with_data(script, "mixed.cascade", &world).expect("compiles").run().unwrap();
    assert_eq!(run.value("Host Bank.region").unwrap().to_string(), "EU");
    assert_eq!(run.value("Host Bank.capital").unwrap().to_string(), "3");
    run.run_to_end().unwrap();
    // Host Bank defaults at step 1: file_bank loses 10 > 5, so alpha loses 2m > 1m.
    for name in ["Host Bank", "file_bank", "alpha"] {
        assert_eq!(run.value(&format!("{name}.defaulted")).unwrap().to_string(), "true", "{name}");
    }
}

#[test]
fn a_data_cell_of_another_type_than_its_fields_formula_names_the_row() {
    // `limit`'s default is a formula, so `src/data` takes any literal and the
    // checker decides: the problem names the file, its line and the entity,
    // and points at the formula, not at line 1 of the script.
    let script = "\
kind Bank { capital = 0, limit = capital * 2 }
entities Bank from \"banks.csv\"
";
    let engine = Engine::new().loader(|name: &str, _: &str| {
        Ok(DataFile::new(name, "name,capital,limit\na,1,2\nb,1,yes\nc,1,no\n"))
    });
    let error = engine.compile(script, "limits.cascade").expect_err("a type mismatch");
    let mut world = World::new();
    world.entity("d", "Bank", &[("limit", Value::Bool(true))]);
    let host = Engine::new().compile_with_data(
        "kind Bank { capital = 0, limit = capital * 2 }",
        "host.cascade",
        &world,
    );
    let host = host.expect_err("a type mismatch");
    insta::assert_snapshot!(format!("{}\n{}", render(&error), render(&host)));
}

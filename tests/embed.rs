//! The embedding example runs, and the sandbox holds.

#[path = "../examples/embed.rs"]
mod embed;

#[test]
fn the_embedding_example_runs() {
    embed::main().expect("examples/embed.rs runs to the end");
}

#[test]
fn scripts_cannot_reach_the_outside_world() {
    // There is no syntax or built-in for files, network, clock or environment:
    // names that would reach them are unknown functions unless the host registers them.
    for call in ["read_file(\"/etc/passwd\")", "env(\"HOME\")", "now()", "http_get(\"x\")", "system(\"ls\")"]
    {
        let script = format!("var x = 0\nat 1 then emit \"{{{call}}}\"");
        let error = cascade::Engine::new().compile(&script, "sandbox.cascade").expect_err("refused");
        let codes: Vec<&str> = error.diagnostics().unwrap().problems().iter().map(|p| p.code).collect();
        assert!(codes.contains(&"cascade::check::unknown_function"), "{call}: {codes:?}");
    }
}

#[test]
fn a_world_from_host_data_builds_large_networks_without_script_text() {
    let mut world = cascade::World::new();
    for i in 0..20_000 {
        world.entity(
            &format!("b{i}"),
            "Bank",
            &[("capital", cascade::Value::Number(cascade::Decimal::from(5)))],
        );
    }
    for i in 1..20_000 {
        world.exposure(
            &format!("b{i}"),
            &format!("b{}", i - 1),
            cascade::Decimal::from(10),
            cascade::Decimal::ZERO,
        );
    }
    let script = "kind Bank { capital = 0, let losses = exposure_losses(self) }\n\
                  at 1 then default(b0)\n\
                  for b: Bank where not b.defaulted when b.losses > b.capital then default(b)";
    let program = cascade::Engine::new().compile_with_data(script, "chain.cascade", &world).unwrap();
    let mut run = program.run().unwrap();
    run.step().unwrap();
    // The whole chain falls within step 1: the rule is a feedback loop.
    assert_eq!(run.value("b19999.defaulted").unwrap().to_string(), "true");
    assert_eq!(run.events().len(), 20_000);
}

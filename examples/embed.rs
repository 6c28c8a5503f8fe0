//! Embedding Cascade in a host program.
//!
//! A risk platform holds its counterparties in its own tables. It loads them
//! into a Cascade world, registers a host function the analysts' script can
//! call, runs the analysts' rules, reads the results, watches events as they
//! happen, and stops a runaway script with a limit.
//!
//! Run it with `cargo run --example embed`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cascade::{Decimal, Engine, Value, World};

/// The analysts' script: kinds and rules only; the banks come from the host.
const SCRIPT: &str = r#"
scenario "Counterparty stress" { start = 2027-01, step = month, horizon = 12 }

param stress = 30%

kind Bank {
  capital = 0
  let losses = exposure_losses(self)
}

rule shock "the largest bank fails": at 1 then default(bank0)

rule insolvency:
  for b: Bank where not b.defaulted
  when haircut(b.losses) > b.capital {
    emit "{b} fails: losses {b.losses} against capital {b.capital}"
    default(b)
  }
"#;

/// A runaway script: never stops, fires every step.
const RUNAWAY: &str = "scenario \"forever\" { horizon = 1000000000 }\nvar x = 0\nwhile true then x += 1";

/// A row of the host's bank table: name and capital.
type BankRow = (String, Decimal);
/// A row of the host's loan table: creditor, debtor (indices into the banks), amount.
type LoanRow = (usize, usize, Decimal);

/// The host's own data.
fn host_tables() -> (Vec<BankRow>, Vec<LoanRow>) {
    let banks = (0..50).map(|i| (format!("bank{i}"), Decimal::from(20 + (i * 7) % 40))).collect();
    let loans = (1..50).map(|i| (i, (i * 3) % i.max(1), Decimal::from(30 + (i * 11) % 25))).collect();
    (banks, loans)
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The engine: limits for untrusted scripts and one host function.
    let engine = Engine::new()
        .max_steps(10_000)
        .max_firings_per_step(100_000)
        .max_fuel(50_000_000)
        .function("haircut", |losses: Decimal| losses * Decimal::new(8, 1));

    // 2. The world from the host's tables, without generating script text.
    let (banks, loans) = host_tables();
    let mut world = World::new();
    for (name, capital) in &banks {
        world.entity(name, "Bank", &[("capital", Value::Number(*capital))]);
    }
    for (creditor, debtor, amount) in &loans {
        world.exposure(&banks[*creditor].0, &banks[*debtor].0, *amount, Decimal::new(4, 1));
    }
    let program = match engine.compile_with_data(SCRIPT, "stress.cascade", &world) {
        Ok(program) => program,
        Err(error) => {
            // Every problem of the script at once, rendered for a person.
            if let Some(diagnostics) = error.diagnostics() {
                eprintln!("{}", diagnostics.render(cascade::RenderStyle::Plain));
            }
            return Err(error.into());
        }
    };

    // 3. Run with a param set by the host, watching events as they happen.
    let mut run = program.start().set_text("stress", "45%")?.begin()?;
    let mut failures = 0;
    while run
        .step_observed(&mut |event| {
            if event.kind == cascade::EventKind::Default {
                failures += 1;
            }
        })?
        .is_some()
    {}
    println!("{failures} banks failed");
    for event in run.events().iter().filter(|e| e.kind == cascade::EventKind::Emit) {
        println!("  step {}: {}", event.step, event.text);
    }

    // 4. Read any value after the run.
    let losses = run.value("bank1.losses")?;
    println!("bank1 lost {}", run.display(&losses));

    // 5. A runaway script is stopped by a limit, with a diagnostic.
    let runaway = Engine::new().max_fuel(100_000).compile(RUNAWAY, "runaway.cascade")?;
    let mut run = runaway.start().cancel_flag(Arc::new(AtomicBool::new(false))).begin()?;
    match run.run_to_end() {
        Ok(()) => return Err("the runaway script should have been stopped".into()),
        Err(error) => {
            let code = error.diagnostics().and_then(|d| d.problems().first()).map(|p| p.code);
            println!("runaway script stopped at step {}: {:?}", run.current_step(), code);
        }
    }
    Ok(())
}

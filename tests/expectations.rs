//! When `assert`s and `expect`s are checked, and what a run records of them,
//! through the public API.

use cascade::{Engine, ExpectationKind, Run};

/// Each expectation a run recorded, as `kind line passed step`, in order.
fn recorded(run: &Run) -> Vec<String> {
    run.expectations()
        .iter()
        .map(|e| {
            let kind = if e.kind == ExpectationKind::Assert { "assert" } else { "expect" };
            format!("{kind} {} {} {:?}", e.line, e.passed, e.step)
        })
        .collect()
}

/// An assert is recorded once, at the step it first fails, though it fails
/// again later; one that never fails passes at the end. Expects are checked
/// at their own steps, whatever their order in the script, and those of the
/// end of the run last, in the script's order.
const SCRIPT: &str = "scenario \"s\" { horizon = 6 }\n\
                      var x = 0\n\
                      rule up: while true then x += 1\n\
                      assert x < 3 \"x stays small\"\n\
                      assert x < 100\n\
                      expect x == 5 at 5\n\
                      expect x == 2 at 2\n\
                      expect x == 6\n\
                      expect x == 1 at 2\n\
                      expect x > 0\n\
                      expect x == 9 at 9\n";

const EXPECTED: [&str; 8] = [
    "expect 7 true Some(2)",
    "expect 9 false Some(2)",
    "assert 4 false Some(3)",
    "expect 6 true Some(5)",
    "expect 8 true Some(6)",
    "expect 10 true Some(6)",
    "expect 11 false None",
    "assert 5 true None",
];

#[test]
fn an_assert_is_recorded_once_and_expects_at_their_steps() {
    let program = Engine::new().compile(SCRIPT, "t.cascade").unwrap();
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    assert_eq!(recorded(&run), EXPECTED);
    let failed = &run.expectations()[2];
    assert!(failed.detail.starts_with("x stays small"), "{}", failed.detail);
}

/// A run resumed from a checkpoint (saved as text and read back) after its
/// assert failed does not record the failure again, and one resumed before
/// records it at the same step.
#[test]
fn a_resumed_run_records_an_assert_as_the_whole_run_does() {
    let program = Engine::new().compile(SCRIPT, "t.cascade").unwrap();
    for steps in 1..=5 {
        let mut first = program.run().unwrap();
        for _ in 0..steps {
            first.step().unwrap();
        }
        let saved = serde_json::to_string(&first.checkpoint()).unwrap();
        let loaded: cascade::Checkpoint = serde_json::from_str(&saved).unwrap();
        let mut resumed = program.resume(&loaded).unwrap();
        resumed.run_to_end().unwrap();
        assert_eq!(recorded(&resumed), EXPECTED, "resumed after step {steps}");
    }
}

//! `explain` on scripts whose causal chains are known by construction.
//!
//! Each `tests/explain/NAME.cascade` says what to explain in comment lines
//! `# explain: TARGET`. Its snapshot (`snapshots/explain__chain@NAME.cascade.snap`)
//! holds the script, then for each target the text of `Run::explain_tree` (depth
//! 8) and its JSON. The tests below pin the numbers the snapshots show.

use cascade::{Engine, Explanation, Run};

fn run_of(path: &std::path::Path) -> Run {
    let program = Engine::new().compile_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut run = program.run().expect("the run starts");
    run.run_to_end().expect("the run ends");
    let failed: Vec<_> = run.expectations().into_iter().filter(|e| !e.passed).collect();
    assert!(failed.is_empty(), "{}: failed expectations {failed:?}", path.display());
    run
}

fn explain(run: &Run, target: &str) -> Explanation {
    run.explain_tree(target, 8).unwrap_or_else(|e| panic!("explain {target}: {e}"))
}

fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/explain").join(name)
}

#[test]
fn chain() {
    insta::glob!("explain/*.cascade", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let run = run_of(path);
        let mut out = format!("{text}\n");
        for target in text.lines().filter_map(|l| l.strip_prefix("# explain: ")) {
            let explanation = explain(&run, target.trim());
            let json = serde_json::to_string_pretty(&explanation).unwrap();
            out.push_str(&format!("──── explain {target}\n{}\n──── json\n{json}\n", explanation.to_text()));
        }
        insta::assert_snapshot!("chain", out);
    });
}

/// Every cause in the tree, depth first.
fn all(causes: &[cascade::Cause]) -> Vec<&cascade::Cause> {
    let mut out = Vec::new();
    let mut stack: Vec<&cascade::Cause> = causes.iter().rev().collect();
    while let Some(c) = stack.pop() {
        out.push(c);
        stack.extend(c.causes.iter().rev());
    }
    out
}

#[test]
fn the_furfine_chain_reaches_the_first_default_with_every_loss() {
    let run = run_of(&script("furfine.cascade"));
    let e = explain(&run, "e");
    assert_eq!(e.summary, "e defaulted at step 4");
    let causes = all(&e.causes);
    let losses: Vec<(String, String, String)> = causes
        .iter()
        .filter_map(|c| c.loss.as_ref())
        .map(|l| (l.creditor.clone(), l.debtor.clone(), l.loss.clone()))
        .collect();
    // e lost 15 on d and 1 on b; d lost 6 on a and 2 on b; b lost 5 on a.
    for expected in [("e", "d", "15"), ("e", "b", "1"), ("d", "a", "6"), ("d", "b", "2"), ("b", "a", "5")] {
        let expected = (expected.0.to_string(), expected.1.to_string(), expected.2.to_string());
        assert!(losses.contains(&expected), "{expected:?} not in {losses:?}");
    }
    // The chain ends at the shock that defaulted a.
    assert!(causes.iter().any(|c| c.rule.as_deref() == Some("shock")), "{}", e.to_text());
    // Largest first: e's loss on d before its loss on b.
    let make_up = causes.iter().find(|c| c.kind == "losses").unwrap();
    let first: Vec<&str> =
        make_up.causes.iter().filter_map(|c| c.loss.as_ref()).map(|l| l.debtor.as_str()).collect();
    assert_eq!(first, ["d", "b"]);
    assert_eq!(make_up.value, Some(serde_json::json!("16")));
}

#[test]
fn a_supplier_is_brought_down_by_its_lessor() {
    let run = run_of(&script("lessor.cascade"));
    for supplier in ["host", "miner"] {
        let e = explain(&run, supplier);
        let text = e.to_text();
        assert!(text.contains("lessor defaulted at step 3 (2027-03)"), "{text}");
        assert!(
            all(&e.causes).iter().any(|c| c.rule.as_deref() == Some("lessor_default [l = lessor]")),
            "{text}"
        );
    }
    let host = explain(&run, "host");
    let loss = all(&host.causes).into_iter().find_map(|c| c.loss.clone()).unwrap();
    assert_eq!((loss.amount.as_str(), loss.recovery.as_str(), loss.loss.as_str()), ("50", "0.1", "45"));
}

#[test]
fn a_build_up_names_the_one_off_write_and_a_reset_forgets_it() {
    let run = run_of(&script("buildup.cascade"));
    let before = explain(&run, "lessor.cash@19");
    let text = before.to_text();
    let build_up = &before.causes[0];
    assert_eq!(build_up.kind, "build_up", "{text}");
    assert_eq!(build_up.value, Some(serde_json::json!("-127")));
    let shares: Vec<(&str, Option<usize>)> = build_up
        .causes
        .iter()
        .filter(|c| c.kind == "contribution")
        .map(|c| (c.value.as_ref().and_then(|v| v.as_str()).unwrap_or(""), c.count))
        .collect();
    assert_eq!(shares, [("-250", Some(1)), ("38", Some(19)), ("-15", Some(15))], "{text}");
    assert!(text.contains("−250: lessor.cash became"), "{text}");
    let after = explain(&run, "lessor.cash");
    let text = after.to_text();
    assert!(text.contains("since it was set to 50 at step 20"), "{text}");
    assert!(!text.contains("margin_call"), "{text}");
}

#[test]
fn a_derived_target_has_its_formula_inputs_and_causes() {
    let run = run_of(&script("derived.cascade"));
    let at2 = explain(&run, "run_rate@2");
    assert_eq!(at2.summary, "run_rate is 0.04 at step 2 (derived)");
    let node = &at2.causes[0];
    assert_eq!(node.formula.as_deref(), Some("base_rate + spread * stress"));
    let values: Vec<(&str, &serde_json::Value)> =
        node.values.iter().map(|r| (r.name.as_str(), &r.value)).collect();
    assert_eq!(
        values,
        [
            ("base_rate", &serde_json::json!("0.02")),
            ("spread", &serde_json::json!("0.01")),
            ("stress", &serde_json::json!("2"))
        ]
    );
    let end = explain(&run, "run_rate");
    assert!(
        end.to_text().contains("spread became 0.015 at step 3 (was 0.01) by rule widen"),
        "{}",
        end.to_text()
    );
}

#[test]
fn why_not_speaks_only_of_steps_up_to_the_target() {
    let run = run_of(&script("furfine.cascade"));
    let early = explain(&run, "e@3");
    assert!(!early.happened);
    assert_eq!(early.summary, "e had not defaulted by step 3");
    for approach in early.why_not.iter().flat_map(|c| &c.conditions) {
        assert!(approach.step.is_some_and(|s| s <= 3), "{approach:?}");
    }
    let held =
        early.why_not[0].conditions.iter().find(|a| a.held).expect("the loss condition held at step 3");
    assert_eq!(held.step, Some(3));
    assert_eq!(held.left.as_ref().map(|r| &r.value), Some(&serde_json::json!("16")));
    assert_eq!(held.right.as_ref().map(|r| &r.value), Some(&serde_json::json!("12")));
    // A run that has not reached the end yet: nothing beyond the current step.
    let program = Engine::new().compile_file(&script("furfine.cascade")).unwrap();
    let mut run = program.run().unwrap();
    run.step().unwrap();
    run.step().unwrap();
    let partial = explain(&run, "e");
    assert_eq!(partial.summary, "e has not defaulted by step 2 (the run goes on)");
    for approach in partial.why_not.iter().flat_map(|c| &c.conditions) {
        assert!(approach.step.is_some_and(|s| s <= 2), "{approach:?}");
        assert!(!approach.held);
    }
}

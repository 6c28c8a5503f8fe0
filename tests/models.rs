//! The standard models (`clearing`, `debtrank`) through scripts: published
//! worked examples, bad inputs, and property tests against an independent,
//! straightforward implementation in exact rationals.

// The reference implementations index matrices as the papers write them.
#![allow(clippy::needless_range_loop)]

use cascade::{Engine, Value};
use num_bigint::BigInt;
use num_rational::BigRational;
use proptest::prelude::*;
use rust_decimal::Decimal;

type Q = BigRational;

fn q(n: i64, d: i64) -> Q {
    Q::new(BigInt::from(n), BigInt::from(d))
}

/// A decimal as an exact rational.
fn exact(d: Decimal) -> Q {
    Q::new(BigInt::from(d.mantissa()), BigInt::from(10).pow(d.scale()))
}

fn decimal_text(x: &Q) -> String {
    format!("{x}")
}

/// |a − b| ≤ 1e-20.
fn close(a: &Q, b: &Q) -> bool {
    let diff = if a > b { a - b } else { b - a };
    diff <= Q::new(BigInt::from(1), BigInt::from(10).pow(20))
}

/// The value of `expr` after step 1 of `script`.
fn values(script: &str, exprs: &[String]) -> Vec<Value> {
    let program = Engine::new().compile(script, "t.cascade").unwrap_or_else(|e| panic!("{e:?}\n{script}"));
    let mut run = program.run().unwrap();
    run.step().unwrap();
    exprs.iter().map(|e| run.evaluate(e).unwrap_or_else(|err| panic!("{e}: {err:?}"))).collect()
}

fn number(v: &Value) -> Q {
    match v {
        Value::Number(n) => exact(*n),
        other => panic!("not a number: {other:?}"),
    }
}

/// The problem codes of a script that fails to compile, or whose first step fails.
fn failure(script: &str) -> String {
    match Engine::new().compile(script, "t.cascade") {
        Err(e) => format!("{e:?}"),
        Ok(program) => {
            let mut run = program.run().unwrap();
            match run.step().and_then(|_| run.evaluate("p")) {
                Err(e) => format!("{e:?}"),
                Ok(_) => String::from("no error"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Published examples

/// The DebtRank example of the NetworkRiskMeasures R package (Cinelli and
/// Silva), README "Example usage" and the `debt_rank` help page: the assets
/// matrix `matrix(c(0, 10, 3, 1, 0, 2, 0, 3, 0), ncol = 3)` over banks a, b, c
/// (b holds 10 of claims on a, c 3 on a, a 1 on b, c 2 on b, b 3 on c), capital
/// buffers 2, 5, 2 and weights 10, 100, 30. Published: a's default adds a
/// stress of 0.9285714 (2 more defaults), c's 0.6642857, b's 0.2500000 (1
/// more); a shock of 10% to every bank adds 16.07%, with final stress levels
/// 0.15, 0.26 and 0.30.
const NRM_DEBTRANK: &str = "
kind Bank { equity = 1, shock = 0, value = 1 }
entity a: Bank { equity = 2, value = 10 }
entity b: Bank { equity = 5, value = 100 }
entity c: Bank { equity = 2, value = 30 }
exposure b -> a = 10
exposure c -> a = 3
exposure a -> b = 1
exposure c -> b = 2
exposure b -> c = 3
debtrank Bank
";

fn debtrank_of(shocks: [&str; 3]) -> (Q, Vec<Q>) {
    let script = format!(
        "{NRM_DEBTRANK}\nparam sa = {}\nparam sb = {}\nparam sc = {}\n",
        shocks[0], shocks[1], shocks[2]
    )
    .replace("entity a: Bank { equity = 2,", "entity a: Bank { shock = sa, equity = 2,")
    .replace("entity b: Bank { equity = 5,", "entity b: Bank { shock = sb, equity = 5,")
    .replace("entity c: Bank { equity = 2,", "entity c: Bank { shock = sc, equity = 2,");
    let exprs: Vec<String> = ["debt_rank(Bank)", "distress(a)", "distress(b)", "distress(c)"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let v = values(&script, &exprs);
    (number(&v[0]), v[1..].iter().map(number).collect())
}

#[test]
fn debtrank_reproduces_the_network_risk_measures_example() {
    // Each bank's default (a shock of 1 to it alone): 13/14, 9.3/14, 3.5/14.
    let (dr, h) = debtrank_of(["1", "0", "0"]);
    assert!(close(&dr, &q(13, 14)), "{dr}");
    assert_eq!(format!("{:.7}", f(&dr)), "0.9285714");
    assert_eq!(h, vec![q(1, 1), q(1, 1), q(1, 1)]); // 2 additional defaults
    let (dr, h) = debtrank_of(["0", "0", "1"]);
    assert_eq!(format!("{:.7}", f(&dr)), "0.6642857");
    assert_eq!(h, vec![q(3, 10), q(9, 10), q(1, 1)]);
    let (dr, h) = debtrank_of(["0", "1", "0"]);
    assert_eq!(dr, q(1, 4));
    assert_eq!(h, vec![q(1, 2), q(1, 1), q(1, 1)]); // 1 additional default
    // 10% to each: 16.07% more, final stress 0.15, 0.26, 0.30.
    let (dr, h) = debtrank_of(["10%", "10%", "10%"]);
    assert_eq!(format!("{:.4}", f(&dr)), "0.1607");
    assert!(close(&dr, &q(225, 1400)), "{dr}");
    assert_eq!(h, vec![q(15, 100), q(26, 100), q(30, 100)]);
}

fn f(x: &Q) -> f64 {
    decimal_text(x).split('/').map(|p| p.parse::<f64>().unwrap()).reduce(|a, b| a / b).unwrap()
}

/// The example of `default_clearing` in the systemicrisk R package (Gandy and
/// Veraart): `ea <- c(1/2, 5/8, 3/4)`, `el <- c(3/2, 1/2, 1/2)`, `x <- 0.5`,
/// `L <- matrix(c(0, x, 1-x, 1-x, 0, x, x, 1-x, 0), nrow = 3)` (every bank owes
/// each other bank 1/2), then `default_clearing(L, ea, el)` and `alpha = 0.5,
/// beta = 0.7`. The package's page does not print the results; they are worked
/// out here by hand (Eisenberg–Noe) and by the exact reference below (Rogers–Veraart).
fn systemicrisk(model: &str) -> String {
    format!(
        "
kind Bank {{ external_assets = 0, external_liabilities = 0 }}
entity b1: Bank {{ external_assets = 0.5, external_liabilities = 1.5 }}
entity b2: Bank {{ external_assets = 0.625, external_liabilities = 0.5 }}
entity b3: Bank {{ external_assets = 0.75, external_liabilities = 0.5 }}
exposure b2 -> b1 = 0.5
exposure b3 -> b1 = 0.5
exposure b1 -> b2 = 0.5
exposure b3 -> b2 = 0.5
exposure b1 -> b3 = 0.5
exposure b2 -> b3 = 0.5
clearing Bank {model}
"
    )
}

fn clearing_of(script: &str, banks: &[&str]) -> (Vec<Q>, Vec<Value>, Vec<Value>) {
    let mut exprs = Vec::new();
    for b in banks {
        exprs.push(format!("clearing_payment({b})"));
        exprs.push(format!("clearing_round({b})"));
        exprs.push(format!("clearing_defaulted({b})"));
    }
    let v = values(script, &exprs);
    let pay = v.iter().step_by(3).map(number).collect();
    let rounds = v.iter().skip(1).step_by(3).cloned().collect();
    let defaulted = v.iter().skip(2).step_by(3).cloned().collect();
    (pay, rounds, defaulted)
}

#[test]
fn eisenberg_noe_reproduces_the_systemicrisk_example() {
    // By hand: p̄ = (5/2, 3/2, 3/2). Round 1: b1 holds 1/2 + 1/2 + 1/2 = 3/2 < 5/2.
    // Round 2: with p1 = 3/2, b2 holds 5/8 + 3/10 + 1/2 = 57/40 < 3/2; b3 holds
    // 3/4 + 3/10 + 1/2 = 31/20 ≥ 3/2. Then p1 = 1 + p2/3, p2 = 9/8 + p1/5, so
    // p1 = 165/112, p2 = 159/112, and b3 holds 3/4 + 33/112 + 53/112 = 17/11.2 ≥ 3/2.
    let (pay, rounds, defaulted) =
        clearing_of(&systemicrisk("eisenberg_noe { external = pari_passu }"), &["b1", "b2", "b3"]);
    for (got, want) in pay.iter().zip([q(165, 112), q(159, 112), q(3, 2)]) {
        assert!(close(got, &want), "{got} vs {want}");
    }
    let round = |r: i64| Value::Number(Decimal::from(r));
    assert_eq!(rounds, vec![round(1), round(2), Value::None]);
    assert_eq!(defaulted, vec![Value::Bool(true), Value::Bool(true), Value::Bool(false)]);
}

#[test]
fn rogers_veraart_reproduces_the_systemicrisk_example() {
    let (pay, rounds, _) =
        clearing_of(&systemicrisk("rogers_veraart { alpha = 0.5, beta = 0.7 }"), &["b1", "b2", "b3"]);
    let want = reference_clearing(
        &[q(1, 2), q(5, 8), q(3, 4)],
        &[q(3, 2), q(1, 2), q(1, 2)],
        &[
            (1, 0, q(1, 2)),
            (2, 0, q(1, 2)),
            (0, 1, q(1, 2)),
            (2, 1, q(1, 2)),
            (0, 2, q(1, 2)),
            (1, 2, q(1, 2)),
        ],
        Rule::RogersVeraart(q(1, 2), q(7, 10)),
    );
    for (got, want) in pay.iter().zip(&want.0) {
        assert!(close(got, want), "{got} vs {want}");
    }
    // Round 1: b1 (as above) pays 1/4 + 0.7 × 1 = 0.95; then b2 holds
    // 5/8 + 0.19 + 1/2 = 1.315 and b3 0.75 + 0.19 + 0.5 = 1.44, both below 3/2.
    let round = |r: i64| Value::Number(Decimal::from(r));
    assert_eq!(rounds, vec![round(1), round(2), round(2)]);
    assert_eq!(want.1, vec![Some(1), Some(2), Some(2)]);
}

/// The three banks of the NEVA exercises (Barucca et al., "Network valuation in
/// financial systems"; the Matlab exercises of the `neva` repository): bank 1
/// owes bank 2 4, bank 2 owes bank 3 3, bank 3 owes bank 1 2; external assets
/// 20, 20, 10 less a 10% shock; external liabilities 17, 18, 8. The exercises
/// print no numbers; by hand: bank 1 holds 18 + 2 = 20 < 21 and defaults in
/// round 1, paying 20; bank 2 then holds 18 + 4 × 20/21 ≥ 21 and pays in full.
#[test]
fn eisenberg_noe_on_the_neva_three_banks() {
    let script = "
kind Bank { assets = 0, external_liabilities = 0, let external_assets = assets * (1 - 10%) }
entity b1: Bank { assets = 20, external_liabilities = 17 }
entity b2: Bank { assets = 20, external_liabilities = 18 }
entity b3: Bank { assets = 10, external_liabilities = 8 }
exposure b2 -> b1 = 4
exposure b3 -> b2 = 3
exposure b1 -> b3 = 2
clearing Bank eisenberg_noe { external = pari_passu }
";
    let (pay, rounds, _) = clearing_of(script, &["b1", "b2", "b3"]);
    assert_eq!(pay, vec![q(20, 1), q(21, 1), q(10, 1)]);
    assert_eq!(rounds[0], Value::Number(Decimal::ONE));
    let v = values(script, &["clearing_shortfall(b1)".into()]);
    assert_eq!(number(&v[0]), q(1, 1));
}

/// Senior external liabilities, by hand: `a` holds 8 and owes 5 outside and
/// 10 to `b`; `b` holds 1 and owes 5 to `c`. Senior: `a`'s outside creditors
/// get 5, `b` gets 3, holds 4 < 5 and defaults too. Pari passu: `b` gets
/// 10/15 of 8 = 16/3, holds 19/3 ≥ 5 and pays in full.
#[test]
fn senior_external_liabilities_are_paid_first() {
    let script = |external: &str| {
        format!(
            "kind Bank {{ external_assets = 0, external_liabilities = 0 }}
entity a: Bank {{ external_assets = 8, external_liabilities = 5 }}
entity b: Bank {{ external_assets = 1 }}
entity c: Bank {{}}
exposure b -> a = 10
exposure c -> b = 5
clearing Bank eisenberg_noe {{ external = {external} }}
"
        )
    };
    let (pay, _, defaulted) = clearing_of(&script("senior"), &["a", "b", "c"]);
    assert_eq!(pay, vec![q(8, 1), q(4, 1), q(0, 1)]);
    assert_eq!(defaulted, vec![Value::Bool(true), Value::Bool(true), Value::Bool(false)]);
    let (pay, _, defaulted) = clearing_of(&script("pari_passu"), &["a", "b", "c"]);
    assert_eq!(pay, vec![q(8, 1), q(5, 1), q(0, 1)]);
    assert_eq!(defaulted, vec![Value::Bool(true), Value::Bool(false), Value::Bool(false)]);
}

/// Senior ranking with a defaulted pair that owes only each other (the
/// round's linear system is singular), by hand: `a` holds 1.5, owes 1 outside
/// and 1 to `b`; `b` holds 0.2, owes 1 outside and 1 to `a`. Round 1: `b` holds
/// 1.2 of 2 and pays its banks 0.2 + 1 − 1 = 0.2. Round 2: `a` holds 1.7 of 2.
/// Then `a` pays its banks 0.5 + x_b and `b` pays max(0, x_a − 0.8): from above
/// 0.7, 0, 0.5, 0 — so `a` pays 1.5 (to its outside creditors 1, to `b` 0.5) and
/// `b` pays 0.7, all to its outside creditors.
#[test]
fn senior_ranking_solves_a_group_that_owes_only_itself() {
    let script = "kind Bank { external_assets = 0, external_liabilities = 1 }
entity a: Bank { external_assets = 1.5 }
entity b: Bank { external_assets = 0.2 }
exposure b -> a = 1
exposure a -> b = 1
clearing Bank eisenberg_noe { external = senior }
";
    let (pay, rounds, _) = clearing_of(script, &["a", "b"]);
    assert_eq!(pay, vec![q(3, 2), q(7, 10)]);
    let round = |r: i64| Value::Number(Decimal::from(r));
    assert_eq!(rounds, vec![round(2), round(1)]);
    let want = reference_clearing(
        &[q(3, 2), q(1, 5)],
        &[q(1, 1), q(1, 1)],
        &[(1, 0, q(1, 1)), (0, 1, q(1, 1))],
        Rule::EisenbergNoe { senior: true },
    );
    assert_eq!(want, (vec![q(3, 2), q(7, 10)], vec![Some(2), Some(1)]));
}

/// Differential DebtRank against the original, by hand: `a` and `b` each have
/// equity 2 and hold 1 of the other's debt (Λ = W = 1/2 both ways); `a` loses
/// half its equity. The original passes each distress on once: `b` gets
/// 1/2 × 1/2 = 1/4, then `a` gets 1/2 × 1/4 back: h = (0.625, 0.25). The
/// differential variant passes on every increase, 1/2, 1/4, 1/8, ... going
/// round the pair: h_a = 1/2 (1 + 1/4 + 1/16 + ...) = 2/3 and h_b = 1/3.
#[test]
fn differential_debtrank_passes_on_every_increase() {
    let script = |variant: &str| {
        format!(
            "kind Bank {{ equity = 2, shock = 0, value = 1 }}
entity a: Bank {{ shock = 0.5 }}
entity b: Bank {{}}
exposure a -> b = 1
exposure b -> a = 1
debtrank Bank {variant}
"
        )
    };
    let exprs: Vec<String> =
        ["distress(a)", "distress(b)", "debt_rank(Bank)"].iter().map(|s| s.to_string()).collect();
    let original: Vec<Q> = values(&script(""), &exprs).iter().map(number).collect();
    assert_eq!(original, vec![q(5, 8), q(1, 4), q(3, 16)]);
    let differential: Vec<Q> = values(&script("differential"), &exprs).iter().map(number).collect();
    for (got, want) in differential.iter().zip([q(2, 3), q(1, 3), q(1, 4)]) {
        assert!(close(got, &want), "{got} vs {want}");
    }
    let (dr, h) = reference_differential(
        &[q(2, 1), q(2, 1)],
        &[q(1, 1), q(1, 1)],
        &[q(1, 2), q(0, 1)],
        &[(0, 1, q(1, 1)), (1, 0, q(1, 1))],
    );
    assert!(close(&dr, &q(1, 4)) && close(&h[0], &q(2, 3)) && close(&h[1], &q(1, 3)), "{dr} {h:?}");
}

// ---------------------------------------------------------------------------
// Bad input

#[test]
fn bad_inputs_are_diagnostics() {
    let base = "kind Bank { external_assets = 0, external_liabilities = 0 }
entity a: Bank { external_assets = -5 }
entity b: Bank { external_assets = 1 }
exposure a -> b = 1
clearing Bank eisenberg_noe { external = senior }
let p = clearing_payment(a)
";
    let e = failure(base);
    assert!(e.contains("bad_model_input") && e.contains("negative external assets"), "{e}");
    let e = failure("kind Bank { equity = 1 }\nentity a: Bank {}\ndebtrank Bank\n");
    assert!(e.contains("missing_fields") && e.contains("`shock` and `value`"), "{e}");
    let e = failure(
        "kind Bank { equity = 1, shock = 0, value = 1 }\nentity a: Bank { shock = 1.5 }\ndebtrank Bank\nlet p = distress(a)\n",
    );
    assert!(e.contains("bad_model_input") && e.contains("outside 0 to 1"), "{e}");
    let e = failure(
        "kind Bank { external_assets = 0, external_liabilities = 0 }\nentity a: Bank {}\nclearing Bank rogers_veraart { alpha = 1.2, beta = 1 }\nlet p = clearing_payment(a)\n",
    );
    assert!(e.contains("bad_model_input") && e.contains("`alpha` is 1.2"), "{e}");
}

/// The same failures as `cascade` prints them: the code, the message, the
/// declaration labelled and what to do. A model's input is checked when the
/// run computes the model, so these are run-time diagnostics.
#[test]
fn bad_model_inputs_print_as_diagnostics() {
    let printed = |script: &str| {
        let error = match Engine::new().compile(script, "t.cascade") {
            Err(e) => e,
            Ok(program) => {
                let mut run = program.run().unwrap();
                run.step().and_then(|_| run.evaluate("p")).expect_err("the model should fail")
            }
        };
        let rendered = error.diagnostics().map(|d| d.render(cascade::RenderStyle::Plain));
        format!("{}\n----- SCRIPT\n{script}", rendered.unwrap_or_else(|| error.to_string()))
    };
    insta::assert_snapshot!(
        "model_negative_external_assets",
        printed(
            "kind Bank { external_assets = 0, external_liabilities = 0 }
entity a: Bank { external_assets = -5 }
entity b: Bank { external_assets = 1 }
exposure a -> b = 1
clearing Bank eisenberg_noe { external = senior }
let p = clearing_payment(a)
"
        )
    );
    insta::assert_snapshot!(
        "model_missing_fields",
        printed("kind Bank { equity = 1 }\nentity a: Bank {}\ndebtrank Bank\nlet p = distress(a)\n")
    );
    insta::assert_snapshot!(
        "model_shock_outside_0_1",
        printed(
            "kind Bank { equity = 1, shock = 0, value = 1 }\nentity a: Bank { shock = 1.5 }\ndebtrank Bank\nlet p = distress(a)\n"
        )
    );
}

/// Differential DebtRank on two banks that hold 99.9% of their equity in each
/// other's debt, after a shock of 0.01%: each step passes on 0.999 of the last
/// increase, so the distress settles near 10% only after some 55,000 steps of
/// ever smaller increases, past the budget of 10,000 looks per bank and
/// exposure. The run fails, naming the banks.
#[test]
fn a_differential_debtrank_that_does_not_settle_names_the_banks() {
    let script = "kind Bank { equity = 100, shock = 0, value = 1 }
entity a: Bank { shock = 0.01% }
entity b: Bank {}
exposure a -> b = 99.9
exposure b -> a = 99.9
debtrank Bank differential
let p = distress(a)
";
    let program = Engine::new().compile(script, "t.cascade").unwrap();
    let mut run = program.run().unwrap();
    let error = run.step().and_then(|_| run.evaluate("p")).expect_err("it should not settle");
    let printed = error.diagnostics().map(|d| d.render(cascade::RenderStyle::Plain)).unwrap_or_default();
    assert!(
        printed.contains("cascade::run::not_settled") && printed.contains("still changing: `a`"),
        "{printed}"
    );
    // The error arose in the script's model, not in the expression `p`: it is
    // shown at the declaration.
    assert!(printed.contains("debtrank Bank differential") && printed.contains("this DebtRank"), "{printed}");
    insta::assert_snapshot!("differential_debtrank_not_settled", printed);
}

/// A clearing is computed again only when an input changes, and then agrees
/// with a clearing of the new inputs.
#[test]
fn a_clearing_follows_its_inputs() {
    let script = "
scenario \"s\" { horizon = 3 }
kind Bank { cash = 0, external_liabilities = 0, let external_assets = cash }
entity a: Bank { cash = 6 }
entity b: Bank { cash = 0.5 }
entity c: Bank { cash = 2 }
exposure b -> a = 10
exposure c -> a = 10
exposure c -> b = 6
exposure a -> c = 4
clearing Bank eisenberg_noe { external = pari_passu }
let pa = clearing_payment(a)
let pb = clearing_payment(b)
at 2 then a.cash = 16
expect pa == 10 at 1
expect pb == 5.5 at 1
expect pa == 20 at 2
expect pb == 6 at 2
";
    let program = Engine::new().compile(script, "t.cascade").unwrap();
    let mut run = program.run().unwrap();
    while run.step().unwrap().is_some() {}
    let failed: Vec<_> = run.expectations().into_iter().filter(|e| !e.passed).collect();
    assert!(failed.is_empty(), "{failed:?}");
}

// ---------------------------------------------------------------------------
// The exact reference

#[derive(Clone, Debug)]
enum Rule {
    EisenbergNoe { senior: bool },
    RogersVeraart(Q, Q),
}

/// The clearing by the fictitious-default algorithm, exactly: each round
/// solves the defaulted banks' payments by Gaussian elimination in rationals.
/// Claims are (creditor, debtor, amount). Returns payments and default rounds.
fn reference_clearing(
    assets: &[Q],
    liabilities: &[Q],
    claims: &[(usize, usize, Q)],
    rule: Rule,
) -> (Vec<Q>, Vec<Option<u32>>) {
    let n = assets.len();
    let zero = q(0, 1);
    let mut owed_to = vec![vec![zero.clone(); n]; n]; // owed_to[debtor][creditor]
    for (c, d, a) in claims {
        owed_to[*d][*c] = &owed_to[*d][*c] + a;
    }
    let interbank: Vec<Q> = (0..n).map(|i| owed_to[i].iter().fold(zero.clone(), |s, x| s + x)).collect();
    let total: Vec<Q> = (0..n).map(|i| &interbank[i] + &liabilities[i]).collect();
    let senior = matches!(rule, Rule::EisenbergNoe { senior: true });
    let base: Vec<Q> = if senior { interbank.clone() } else { total.clone() };
    // share[i]: the fraction of its bank debts that i pays.
    let mut share = vec![q(1, 1); n];
    let mut round = vec![None; n];
    let inflow =
        |share: &[Q], i: usize| -> Q { (0..n).fold(zero.clone(), |s, d| s + &owed_to[d][i] * &share[d]) };
    let mut r = 0;
    loop {
        let fresh: Vec<usize> =
            (0..n).filter(|&i| round[i].is_none() && &assets[i] + inflow(&share, i) < total[i]).collect();
        if fresh.is_empty() {
            break;
        }
        r += 1;
        for &i in &fresh {
            round[i] = Some(r);
        }
        share = solve_round(
            &round,
            &share,
            &RoundSystem { assets, liabilities, owed_to: &owed_to, base: &base, rule: &rule },
        );
    }
    let payment = (0..n)
        .map(|i| {
            if round[i].is_none() {
                return total[i].clone();
            }
            let held = &assets[i] + inflow(&share, i);
            let paid = match &rule {
                Rule::EisenbergNoe { .. } => held,
                Rule::RogersVeraart(a, b) => a * &assets[i] + b * inflow(&share, i),
            };
            paid.min(total[i].clone()).max(zero.clone())
        })
        .collect();
    (payment, round)
}

/// What a round of the reference solves.
struct RoundSystem<'a> {
    assets: &'a [Q],
    liabilities: &'a [Q],
    owed_to: &'a [Vec<Q>],
    base: &'a [Q],
    rule: &'a Rule,
}

impl RoundSystem<'_> {
    /// Bank `i`'s share before clamping, under the shares `x`: what it would
    /// pay its banks over what it owes them.
    fn affine(&self, i: usize, x: &[Q]) -> Q {
        let n = x.len();
        let (alpha, beta, senior) = match self.rule {
            Rule::RogersVeraart(a, b) => (a.clone(), b.clone(), false),
            Rule::EisenbergNoe { senior } => (q(1, 1), q(1, 1), *senior),
        };
        let own = if senior { &self.assets[i] - &self.liabilities[i] } else { &alpha * &self.assets[i] };
        let inflow = (0..n).fold(q(0, 1), |s, d| s + &self.owed_to[d][i] * &x[d]);
        (own + beta * inflow) / &self.base[i]
    }
}

/// The greatest solution of a round, from the shares `x` of the round before
/// (above it): the defaulted banks' shares `x_i = clamp(affine_i(x), 0, 1)`,
/// the others paying in full. Only a senior bank's share can reach 0.
///
/// From above, as the iteration would: the banks whose affine share is at most
/// 0 under `x` pay nothing at the solution too; with those at 0, solve the
/// others' linear system. If its solution is nowhere negative, it is the
/// answer. Otherwise move from `x` towards it until the first bank's affine
/// share reaches 0 (every point of the way is above the solution), and again.
/// A group of defaulted banks that owe only each other makes the system
/// singular; then one step of the iteration itself, exactly, until the group
/// is broken (one of them reaches 0: it must, as such a group holds less than
/// it owes outside).
fn solve_round(round: &[Option<u32>], x: &[Q], sys: &RoundSystem) -> Vec<Q> {
    let n = x.len();
    let zero = q(0, 1);
    let defaulted: Vec<usize> = (0..n).filter(|&i| round[i].is_some() && !sys.base[i].is_zero_q()).collect();
    let mut x = x.to_vec();
    for _ in 0..100_000 {
        // Who pays nothing under x (and so at the solution)? Until none more.
        let mut zeroed: Vec<usize> = Vec::new();
        loop {
            let more: Vec<usize> = defaulted
                .iter()
                .copied()
                .filter(|&i| !zeroed.contains(&i) && sys.affine(i, &x) <= zero)
                .collect();
            if more.is_empty() {
                break;
            }
            for &i in &more {
                x[i] = zero.clone();
            }
            zeroed.extend(more);
        }
        let set: Vec<usize> = defaulted.iter().copied().filter(|i| !zeroed.contains(i)).collect();
        // base_i y_i − β Σ_{d∈set} L_di y_d = affine_i(y with set at 0) × base_i
        let m = set.len();
        let mut at_zero = x.clone();
        for &i in &set {
            at_zero[i] = zero.clone();
        }
        let beta = match sys.rule {
            Rule::RogersVeraart(_, b) => b.clone(),
            _ => q(1, 1),
        };
        let mut a = vec![vec![zero.clone(); m + 1]; m];
        for (row, &i) in set.iter().enumerate() {
            a[row][row] = sys.base[i].clone();
            for (col, &d) in set.iter().enumerate() {
                a[row][col] = &a[row][col] - &beta * &sys.owed_to[d][i];
            }
            a[row][m] = sys.affine(i, &at_zero) * &sys.base[i];
        }
        match solve(a) {
            Some(y) if y.iter().all(|v| *v >= zero) => {
                for (k, &i) in set.iter().enumerate() {
                    x[i] = y[k].clone();
                }
                return x;
            }
            Some(y) => {
                // x_t = x + t (y − x): the affine share of i is g_i + t (y_i − g_i).
                let mut t = q(1, 1);
                for (k, &i) in set.iter().enumerate() {
                    if y[k] < zero {
                        let g = sys.affine(i, &x);
                        let ti = &g / (&g - &y[k]);
                        if ti < t {
                            t = ti;
                        }
                    }
                }
                for (k, &i) in set.iter().enumerate() {
                    x[i] = &x[i] + &t * (&y[k] - &x[i]);
                }
            }
            None => {
                let next: Vec<Q> = (0..n)
                    .map(|i| {
                        if defaulted.contains(&i) {
                            sys.affine(i, &x).max(zero.clone()).min(q(1, 1))
                        } else {
                            x[i].clone()
                        }
                    })
                    .collect();
                x = next;
            }
        }
    }
    panic!("the reference did not settle");
}

trait IsZero {
    fn is_zero_q(&self) -> bool;
}
impl IsZero for Q {
    fn is_zero_q(&self) -> bool {
        *self.numer() == BigInt::from(0)
    }
}

/// Gaussian elimination on an augmented matrix; `None` if it is singular.
fn solve(mut a: Vec<Vec<Q>>) -> Option<Vec<Q>> {
    let m = a.len();
    for col in 0..m {
        let pivot = (col..m).find(|&r| !a[r][col].is_zero_q())?;
        a.swap(col, pivot);
        for r in 0..m {
            if r != col && !a[r][col].is_zero_q() {
                let factor = &a[r][col] / &a[col][col];
                for k in col..=m {
                    let sub = &factor * &a[col][k];
                    a[r][k] = &a[r][k] - sub;
                }
            }
        }
    }
    Some((0..m).map(|r| &a[r][m] / &a[r][r]).collect())
}

/// DebtRank exactly, as Battiston et al. (2012) define it.
fn reference_debtrank(equity: &[Q], value: &[Q], shock: &[Q], claims: &[(usize, usize, Q)]) -> (Q, Vec<Q>) {
    let n = equity.len();
    let zero = q(0, 1);
    let one = q(1, 1);
    let mut held = vec![vec![zero.clone(); n]; n]; // held[creditor][debtor]
    for (c, d, a) in claims {
        held[*c][*d] = &held[*c][*d] + a;
    }
    let w = |c: usize, d: usize| -> Q {
        if held[c][d].is_zero_q() {
            zero.clone()
        } else if equity[c] <= zero {
            one.clone()
        } else {
            (&held[c][d] / &equity[c]).min(one.clone())
        }
    };
    let mut h = shock.to_vec();
    // 0 undistressed, 1 distressed, 2 inactive
    let mut state: Vec<u8> = h.iter().map(|x| if *x > zero { 1 } else { 0 }).collect();
    while state.contains(&1) {
        let mut next = h.clone();
        for (i, slot) in next.iter_mut().enumerate() {
            let mut s = h[i].clone();
            for j in 0..n {
                if state[j] == 1 {
                    s += w(i, j) * &h[j];
                }
            }
            *slot = s.min(one.clone());
        }
        for i in 0..n {
            state[i] = match state[i] {
                1 => 2,
                0 if next[i] > zero => 1,
                s => s,
            };
        }
        h = next;
    }
    let total = value.iter().fold(zero.clone(), |s, v| s + v);
    let added = (0..n).fold(zero.clone(), |s, i| s + (&h[i] - &shock[i]) * &value[i]);
    (if total.is_zero_q() { zero } else { added / total }, h)
}

/// Differential DebtRank (Bardoscia, Battiston, Caccioli and Caldarelli 2015),
/// straightforwardly: every step, every bank passes on the increase of its
/// distress of the step before through `Λ_ij = A_ij / E_i` (unbounded when
/// `E_i ≤ 0`), with `h` capped at 1; increases of at most 10⁻²⁴ are not passed
/// on, as in the engine. Rationals are rounded to 10⁻⁴⁰ after each step, to
/// keep them small (the engine's decimals keep 28 digits).
fn reference_differential(
    equity: &[Q],
    value: &[Q],
    shock: &[Q],
    claims: &[(usize, usize, Q)],
) -> (Q, Vec<Q>) {
    let n = equity.len();
    let zero = q(0, 1);
    let one = q(1, 1);
    let mut held = vec![vec![zero.clone(); n]; n]; // held[creditor][debtor]
    for (c, d, a) in claims {
        held[*c][*d] = &held[*c][*d] + a;
    }
    let eps = Q::new(BigInt::from(1), BigInt::from(10).pow(24));
    let grain = BigInt::from(10).pow(40);
    let round40 =
        |x: Q| -> Q { Q::new((x * Q::from_integer(grain.clone())).round().to_integer(), grain.clone()) };
    let mut h = shock.to_vec();
    let mut increment = shock.to_vec();
    loop {
        let passing: Vec<usize> = (0..n).filter(|&j| increment[j] > eps).collect();
        if passing.is_empty() {
            break;
        }
        let mut next = h.clone();
        for i in 0..n {
            let mut add = zero.clone();
            for &j in &passing {
                if held[i][j].is_zero_q() {
                    continue;
                }
                if equity[i] <= zero {
                    add = one.clone();
                    break;
                }
                add += &held[i][j] / &equity[i] * &increment[j];
            }
            next[i] = round40((&h[i] + add).min(one.clone()));
        }
        increment = (0..n).map(|i| &next[i] - &h[i]).collect();
        h = next;
    }
    let total = value.iter().fold(zero.clone(), |s, v| s + v);
    let added = (0..n).fold(zero.clone(), |s, i| s + (&h[i] - &shock[i]) * &value[i]);
    (if total.is_zero_q() { zero } else { added / total }, h)
}

// ---------------------------------------------------------------------------
// Property tests

#[derive(Clone, Debug)]
struct Net {
    /// In hundredths: external assets, external liabilities (or equity, shock ‰, value).
    banks: Vec<(u32, u32, u32)>,
    claims: Vec<(usize, usize, u32)>,
}

fn network() -> impl Strategy<Value = Net> {
    (2usize..=50).prop_flat_map(|n| {
        let banks = prop::collection::vec((0u32..5_000, 0u32..5_000, 0u32..1_000), n);
        let claims = prop::collection::vec((0..n, 0..n, 1u32..3_000), 0..=(4 * n));
        (banks, claims).prop_map(|(banks, claims)| Net {
            banks,
            claims: claims.into_iter().filter(|(c, d, _)| c != d).collect(),
        })
    })
}

fn cents(x: u32) -> String {
    format!("{}.{:02}", x / 100, x % 100)
}

fn script_of(net: &Net, decl: &str, fields: [&str; 3], scale: [u32; 3]) -> String {
    let mut s = format!("kind Bank {{ {} = 0, {} = 0, {} = 0 }}\n", fields[0], fields[1], fields[2]);
    for (i, (a, b, c)) in net.banks.iter().enumerate() {
        let v = |x: u32, k: usize| if scale[k] == 1000 { format!("0.{:03}", x.min(999)) } else { cents(x) };
        s.push_str(&format!(
            "entity b{i}: Bank {{ {} = {}, {} = {}, {} = {} }}\n",
            fields[0],
            v(*a, 0),
            fields[1],
            v(*b, 1),
            fields[2],
            v(*c, 2)
        ));
    }
    for (c, d, a) in &net.claims {
        s.push_str(&format!("exposure b{c} -> b{d} = {}\n", cents(*a)));
    }
    s.push_str(decl);
    s
}

fn q_cents(x: u32) -> Q {
    q(x as i64, 100)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn clearings_agree_with_exact_rationals(net in network(), which in 0u8..3, a in 1u32..=10, b in 1u32..=10) {
        // External liabilities of at least a cent keep every round's system
        // non-singular under pari passu ranking (strictly diagonally dominant by
        // columns); under senior ranking a defaulted group that owes only itself
        // is singular, and the reference deals with it.
        let mut net = net;
        for bank in &mut net.banks {
            bank.1 = bank.1.max(1);
        }
        let (decl, rule) = match which {
            0 => ("clearing Bank eisenberg_noe { external = pari_passu }\n".to_string(), Rule::EisenbergNoe { senior: false }),
            1 => ("clearing Bank eisenberg_noe { external = senior }\n".to_string(), Rule::EisenbergNoe { senior: true }),
            _ => (
                format!("clearing Bank rogers_veraart {{ alpha = {}, beta = {} }}\n", a as f64 / 10.0, b as f64 / 10.0),
                Rule::RogersVeraart(q(a as i64, 10), q(b as i64, 10)),
            ),
        };
        let script = script_of(&net, &decl, ["external_assets", "external_liabilities", "spare"], [100, 100, 100]);
        let n = net.banks.len();
        let mut exprs = Vec::new();
        for i in 0..n {
            exprs.push(format!("clearing_payment(b{i})"));
            exprs.push(format!("clearing_round(b{i})"));
        }
        let got = values(&script, &exprs);
        let assets: Vec<Q> = net.banks.iter().map(|b| q_cents(b.0)).collect();
        let liabilities: Vec<Q> = net.banks.iter().map(|b| q_cents(b.1)).collect();
        let claims: Vec<(usize, usize, Q)> = net.claims.iter().map(|(c, d, a)| (*c, *d, q_cents(*a))).collect();
        let (pay, rounds) = reference_clearing(&assets, &liabilities, &claims, rule);
        for i in 0..n {
            let p = number(&got[2 * i]);
            prop_assert!(close(&p, &pay[i]), "b{i}: {p} vs {}\n{script}", pay[i]);
            let r = match &got[2 * i + 1] { Value::Number(r) => Some(r.to_string().parse::<u32>().unwrap()), _ => None };
            prop_assert_eq!(r, rounds[i], "round of b{}", i);
        }
    }

    /// The clearing is the same, to the last digit, whatever the order in
    /// which the banks are declared (the exposures keep theirs).
    #[test]
    fn clearings_do_not_depend_on_the_order_of_the_banks(net in network(), which in 0u8..3) {
        let decl = match which {
            0 => "clearing Bank eisenberg_noe { external = pari_passu }\n",
            1 => "clearing Bank eisenberg_noe { external = senior }\n",
            _ => "clearing Bank rogers_veraart { alpha = 0.5, beta = 0.9 }\n",
        };
        let script = script_of(&net, decl, ["external_assets", "external_liabilities", "spare"], [100, 100, 100]);
        let (mut entities, rest): (Vec<&str>, Vec<&str>) = script.lines().partition(|l| l.starts_with("entity "));
        entities.reverse();
        let reversed = format!("{}\n{}\n{}\n", rest[0], entities.join("\n"), rest[1..].join("\n"));
        let exprs: Vec<String> = (0..net.banks.len())
            .flat_map(|i| [format!("clearing_payment(b{i})"), format!("clearing_shortfall(b{i})")])
            .collect();
        let text = |vs: Vec<Value>| vs.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>();
        prop_assert_eq!(text(values(&script, &exprs)), text(values(&reversed, &exprs)), "{}", reversed);
    }

    #[test]
    fn debtrank_agrees_with_exact_rationals(net in network()) {
        let script = script_of(&net, "debtrank Bank\n", ["equity", "value", "shock"], [100, 100, 1000]);
        let n = net.banks.len();
        let mut exprs = vec![String::from("debt_rank(Bank)")];
        exprs.extend((0..n).map(|i| format!("distress(b{i})")));
        let got = values(&script, &exprs);
        let equity: Vec<Q> = net.banks.iter().map(|b| q_cents(b.0)).collect();
        let value: Vec<Q> = net.banks.iter().map(|b| q_cents(b.1)).collect();
        let shock: Vec<Q> = net.banks.iter().map(|b| q(b.2.min(999) as i64, 1000)).collect();
        let claims: Vec<(usize, usize, Q)> = net.claims.iter().map(|(c, d, a)| (*c, *d, q_cents(*a))).collect();
        let (dr, h) = reference_debtrank(&equity, &value, &shock, &claims);
        prop_assert!(close(&number(&got[0]), &dr), "{} vs {dr}", number(&got[0]));
        for i in 0..n {
            prop_assert!(close(&number(&got[i + 1]), &h[i]), "b{i}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn differential_debtrank_agrees_with_exact_rationals(net in network()) {
        let script = script_of(&net, "debtrank Bank differential\n", ["equity", "value", "shock"], [100, 100, 1000]);
        let n = net.banks.len();
        let mut exprs = vec![String::from("debt_rank(Bank)")];
        exprs.extend((0..n).map(|i| format!("distress(b{i})")));
        let got = values(&script, &exprs);
        let equity: Vec<Q> = net.banks.iter().map(|b| q_cents(b.0)).collect();
        let value: Vec<Q> = net.banks.iter().map(|b| q_cents(b.1)).collect();
        let shock: Vec<Q> = net.banks.iter().map(|b| q(b.2.min(999) as i64, 1000)).collect();
        let claims: Vec<(usize, usize, Q)> = net.claims.iter().map(|(c, d, a)| (*c, *d, q_cents(*a))).collect();
        let (dr, h) = reference_differential(&equity, &value, &shock, &claims);
        prop_assert!(close(&number(&got[0]), &dr), "{} vs {dr}\n{script}", number(&got[0]));
        for i in 0..n {
            prop_assert!(close(&number(&got[i + 1]), &h[i]), "b{i}: {} vs {}", number(&got[i + 1]), h[i]);
        }
    }
}

/// `explain` shows the round in which a bank defaulted in the clearing and its shortfall.
#[test]
fn explain_shows_the_default_round_and_the_shortfall() {
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/eisenberg_noe.cascade"))
            .unwrap();
    let program = Engine::new().compile(&script, "eisenberg_noe.cascade").unwrap();
    let mut run = program.run().unwrap();
    run.run_to_end().unwrap();
    let text = run.explain("b").unwrap();
    assert!(
        text.contains("b defaulted in round 2 of the clearing of Bank (Eisenberg–Noe): it owed 6 and held 5.5, short by 0.5; it pays 5.5"),
        "{text}"
    );
    let text = run.explain("a").unwrap();
    assert!(text.contains("a defaulted in round 1 of the clearing of Bank"), "{text}");
    assert!(text.contains("short by 10"), "{text}");
}

/// The same for Rogers–Veraart, and the distress of differential DebtRank.
#[test]
fn explain_shows_the_round_and_the_shortfall_of_each_model() {
    let explain = |file: &str, extra: &str, entity: &str| {
        let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        let script = std::fs::read_to_string(path).unwrap() + extra;
        let program = Engine::new().compile(&script, file).unwrap();
        let mut run = program.run().unwrap();
        run.run_to_end().unwrap();
        run.explain(entity).unwrap()
    };
    let fail = "rule fail: for k: Bank when clearing_defaulted(k) then default(k)\n";
    // b holds 0.5 + 10 x 6.6/20 = 3.8 of the 6 it owes, and pays 0.5 x 0.5 + 0.9 x 3.3.
    let text = explain("rogers_veraart.cascade", fail, "b");
    assert!(
        text.contains("b defaulted in round 2 of the clearing of Bank (Rogers–Veraart): it owed 6 and held 3.8, short by 2.2; it pays 3.22"),
        "{text}"
    );
    let text = explain("rogers_veraart.cascade", fail, "a");
    assert!(text.contains("a defaulted in round 1 of the clearing of Bank (Rogers–Veraart)"), "{text}");
    let text = explain(
        "differential_debtrank.cascade",
        "rule fail: for k: Bank when distress(k) == 1 then default(k)\n",
        "c",
    );
    assert!(text.contains("c has a differential DebtRank distress of 1 in Bank"), "{text}");
}

/// The Eisenberg–Noe equation written as a `solve` field of the kind.
const SOLVE_FIELDS: &str = "let owed = external_liabilities + sum(x.amount for x in exposures_to(self)),
  solve pay from owed limit 100000 = min(owed, external_assets + sum(x.amount / x.debtor.owed * x.debtor.pay for x in exposures_of(self)))";

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// From what is owed in full, the simultaneous update falls to the greatest
    /// clearing vector: the same as the exact reference to 1e-20, and as the
    /// built-in clearing.
    #[test]
    fn a_solve_equation_gives_the_eisenberg_noe_clearing_vector(net in network()) {
        // Without exposures the kind of `x.debtor` is not known to the checker.
        prop_assume!(!net.claims.is_empty());
        let mut net = net;
        for bank in &mut net.banks {
            bank.1 = bank.1.max(1);
        }
        let decl = "clearing Bank eisenberg_noe { external = pari_passu }\n";
        let script = script_of(&net, decl, ["external_assets", "external_liabilities", "spare"], [100, 100, 100])
            .replacen("spare = 0 }", &format!("spare = 0,\n  {SOLVE_FIELDS} }}"), 1);
        let n = net.banks.len();
        let mut exprs = Vec::new();
        for i in 0..n {
            exprs.push(format!("b{i}.pay"));
            exprs.push(format!("clearing_payment(b{i})"));
        }
        let got = values(&script, &exprs);
        let assets: Vec<Q> = net.banks.iter().map(|b| q_cents(b.0)).collect();
        let liabilities: Vec<Q> = net.banks.iter().map(|b| q_cents(b.1)).collect();
        let claims: Vec<(usize, usize, Q)> = net.claims.iter().map(|(c, d, a)| (*c, *d, q_cents(*a))).collect();
        let (pay, _) = reference_clearing(&assets, &liabilities, &claims, Rule::EisenbergNoe { senior: false });
        for i in 0..n {
            let solved = number(&got[2 * i]);
            prop_assert!(close(&solved, &pay[i]), "b{i}: {solved} vs {}\n{script}", pay[i]);
            prop_assert!(close(&solved, &number(&got[2 * i + 1])), "b{i}: solve vs clearing_payment");
        }
    }
}

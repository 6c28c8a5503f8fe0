//! The one table of built-in functions.
//!
//! Each [`BuiltinDef`] says everything the rest of the crate needs to know of a
//! built-in: its name, how it is called (a function of values, an aggregate
//! over a kind or a list of exposures, both, or a special form the checker
//! handles by hand), its arity and types, a one-line usage text (the help of an
//! `arity` diagnostic, the REPL's hints), where in a script it may appear, how
//! the graph's sign analysis reads it, and an example with its value.
//!
//! The checker (`check/calls.rs`), the evaluator (`eval/calls.rs`), the sign
//! analysis of `cascade graph` (`loops/signs.rs`), the REPL's completion and
//! highlighting and the editor-grammar tests all read this table. Adding a
//! function of values is one entry in [`BUILTINS`] plus its `compute` function
//! below; `tests/builtins.rs` then fails until `docs/language.md` documents it
//! and every editor grammar knows it, and runs its example.
//!
//! Naming: `compute_*` evaluate a function of values.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::value::{Type, human};

mod defs;
mod maths;

pub use defs::*;

/// The world the [`BuiltinDef::example`]s are evaluated in (by `tests/builtins.rs`).
pub const EXAMPLE_WORLD: &str = "\
kind Lessor { cash = 0 }
entity a: Lessor { cash = 2 }
entity b: Lessor { cash = 3 }
exposure a -> b = 10, recovery 40%
kind Bank { external_assets = 0, external_liabilities = 0, equity = 1, shock = 0, value = 1 }
entity k1: Bank { equity = 5 }
entity k2: Bank { external_assets = 4, shock = 50% }
exposure k1 -> k2 = 10
clearing Bank eisenberg_noe { external = pari_passu }
debtrank Bank
";

const NUMBER: Type = Type::Number;

/// Where aggregates and the exposure forms may appear: wherever the run's
/// state can be read (not in params, initial values or constants).
const WHILE_RUNNING: Places =
    Places::only(&[Place::Formula, Place::Condition, Place::Effect, Place::Check, Place::Query]);

/// Every built-in function. The aggregates come first, in the order the
/// `not_an_aggregate` help lists them.
pub const BUILTINS: &[BuiltinDef] = &[
    BuiltinDef {
        name: "sum",
        usage: "for example `sum(l.cash for l in Lessor)`",
        example: ("sum(l.cash for l in Lessor)", "5"),
        places: WHILE_RUNNING,
        form: Form::Aggregate(Aggregate::Sum),
    },
    BuiltinDef {
        name: "count",
        usage: "for example `count(l.cash for l in Lessor)`",
        example: ("count(l for l in Lessor where l.cash > 2)", "1"),
        places: WHILE_RUNNING,
        form: Form::Aggregate(Aggregate::Count),
    },
    BuiltinDef {
        name: "any",
        usage: "for example `any(l.cash for l in Lessor)`",
        example: ("any(l.cash > 2 for l in Lessor)", "true"),
        places: WHILE_RUNNING,
        form: Form::Aggregate(Aggregate::Any),
    },
    BuiltinDef {
        name: "all",
        usage: "for example `all(l.cash for l in Lessor)`",
        example: ("all(l.cash > 2 for l in Lessor)", "false"),
        places: WHILE_RUNNING,
        form: Form::Aggregate(Aggregate::All),
    },
    BuiltinDef {
        name: "mean",
        usage: "for example `mean(l.cash for l in Lessor)`",
        example: ("mean(l.cash for l in Lessor)", "2.5"),
        places: WHILE_RUNNING,
        form: Form::Aggregate(Aggregate::Mean),
    },
    BuiltinDef {
        name: "min",
        usage: "for example `max(0, cost - price)`, or `max(l.ltv for l in Lessor)`",
        example: ("min(3, 1.5, 2)", "1.5"),
        places: Places::ANYWHERE,
        form: Form::FunctionOrAggregate(extreme(Compute::Least, RangeRule::Min), Aggregate::Min),
    },
    BuiltinDef {
        name: "max",
        usage: "for example `max(0, cost - price)`, or `max(l.ltv for l in Lessor)`",
        example: ("max(l.cash for l in Lessor)", "3"),
        places: Places::ANYWHERE,
        form: Form::FunctionOrAggregate(extreme(Compute::Greatest, RangeRule::Max), Aggregate::Max),
    },
    BuiltinDef {
        name: "abs",
        usage: "for example `abs(x)`",
        example: ("abs(-2.5)", "2.5"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Abs,
            ..numbers(1, Some(1), compute_abs, Direction::Magnitude)
        }),
    },
    BuiltinDef {
        name: "clamp",
        usage: "`clamp(x, lo, hi)` keeps x between lo and hi",
        example: ("clamp(12, 0, 10)", "10"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Clamp,
            ..numbers(3, Some(3), compute_clamp, Direction::Increasing)
        }),
    },
    BuiltinDef {
        name: "round",
        usage: "`round(x)` or `round(x, 2)` (2 decimal places)",
        example: ("round(2.345, 2)", "2.35"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Outward,
            ..numbers(1, Some(2), compute_round, Direction::FirstIncreasing)
        }),
    },
    BuiltinDef {
        name: "floor",
        usage: "for example `floor(x)`",
        example: ("floor(-1.5)", "-2"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Floor,
            ..numbers(1, Some(1), compute_floor, Direction::Increasing)
        }),
    },
    BuiltinDef {
        name: "ceil",
        usage: "for example `ceil(x)`",
        example: ("ceil(1.25)", "2"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Ceil,
            ..numbers(1, Some(1), compute_ceil, Direction::Increasing)
        }),
    },
    BuiltinDef {
        name: "sqrt",
        usage: "`sqrt(x)` is the square root of x (0 or more)",
        example: ("sqrt(2.25)", "1.5"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Between(Decimal::ZERO, Decimal::MAX),
            ..numbers(1, Some(1), maths::compute_sqrt, Direction::Increasing)
        }),
    },
    BuiltinDef {
        name: "exp",
        usage: "`exp(x)` is e to the power x",
        example: ("exp(0)", "1"),
        places: Places::ANYWHERE,
        form: Form::Function(Function {
            range: RangeRule::Between(Decimal::ZERO, Decimal::MAX),
            ..numbers(1, Some(1), maths::compute_exp, Direction::Increasing)
        }),
    },
    BuiltinDef {
        name: "ln",
        usage: "`ln(x)` is the natural logarithm of an x above 0",
        example: ("ln(1)", "0"),
        places: Places::ANYWHERE,
        form: Form::Function(numbers(1, Some(1), maths::compute_ln, Direction::Increasing)),
    },
    BuiltinDef {
        name: "log10",
        usage: "`log10(x)` is the base-10 logarithm of an x above 0",
        example: ("log10(1000)", "3"),
        places: Places::ANYWHERE,
        form: Form::Function(numbers(1, Some(1), maths::compute_log10, Direction::Increasing)),
    },
    BuiltinDef {
        name: "exposures_of",
        usage: "for example `sum(x.amount for x in exposures_of(e))`",
        example: ("sum(x.amount for x in exposures_of(a))", "10"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::ExposureList),
    },
    BuiltinDef {
        name: "exposures_to",
        usage: "for example `sum(x.amount for x in exposures_to(e))`",
        example: ("count(x for x in exposures_to(a))", "0"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::ExposureList),
    },
    BuiltinDef {
        name: "exposure_losses",
        usage: "`exposure_losses(e)` is what `e` has lost to its defaulted debtors",
        example: ("exposure_losses(a)", "0"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::ExposureLosses),
    },
    BuiltinDef {
        name: "clearing_payment",
        usage: "`clearing_payment(e)` is what `e` pays in the clearing of its kind, to all its creditors",
        example: ("clearing_payment(k2)", "4"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::Payment)),
    },
    BuiltinDef {
        name: "clearing_defaulted",
        usage: "`clearing_defaulted(e)` is true if `e` pays less than it owes in the clearing",
        example: ("clearing_defaulted(k2)", "true"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::Defaulted)),
    },
    BuiltinDef {
        name: "clearing_round",
        usage: "`clearing_round(e)` is the round in which `e` was found to default (no value if it pays in full)",
        example: ("clearing_round(k2)", "1"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::Round)),
    },
    BuiltinDef {
        name: "clearing_shortfall",
        usage: "`clearing_shortfall(e)` is what `e` lacked when it was found to default (0 if it pays in full)",
        example: ("clearing_shortfall(k2)", "6"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::Shortfall)),
    },
    BuiltinDef {
        name: "distress",
        usage: "`distress(e)` is `e`'s final DebtRank distress, from 0 to 1",
        example: ("distress(k1)", "0.5"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::Distress)),
    },
    BuiltinDef {
        name: "debt_rank",
        usage: "`debt_rank(Bank)` is the value-weighted DebtRank of the shock over the kind's entities",
        example: ("debt_rank(Bank)", "0.25"),
        places: WHILE_RUNNING,
        form: Form::Special(Special::Model(ModelOutput::DebtRank)),
    },
    BuiltinDef {
        name: "sign",
        usage: "`sign(x)` is -1, 0 or 1",
        example: ("sign(-2.5)", "-1"),
        places: WHILE_RUNNING,
        form: Form::Function(Function {
            range: RangeRule::Between(Decimal::NEGATIVE_ONE, Decimal::ONE),
            ..numbers(1, Some(1), compute_sign, Direction::Increasing)
        }),
    },
];

/// The names of [`BUILTINS`], in order.
pub const NAMES: [&str; BUILTINS.len()] = {
    let mut names = [""; BUILTINS.len()];
    let mut i = 0;
    while i < BUILTINS.len() {
        names[i] = BUILTINS[i].name;
        i += 1;
    }
    names
};

/// The built-in called `name`.
pub fn find(name: &str) -> Option<&'static BuiltinDef> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// A function of numbers to a number, with no bounds of its own.
const fn numbers(
    least: usize,
    most: Option<usize>,
    compute: fn(&[Decimal]) -> Result<Decimal, ArgumentError>,
    direction: Direction,
) -> Function {
    Function {
        least,
        most,
        args: NUMBER,
        result: NUMBER,
        compute: Compute::Pure(compute),
        direction,
        range: RangeRule::Any,
    }
}

/// `min` or `max` of two numbers or more, compared by the evaluator.
const fn extreme(compute: Compute, range: RangeRule) -> Function {
    Function {
        least: 2,
        most: None,
        args: NUMBER,
        result: NUMBER,
        compute,
        direction: Direction::Increasing,
        range,
    }
}

// The checker guarantees the arity and the types, so `args` has at least
// `least` and at most `most` numbers.

fn first(args: &[Decimal]) -> Decimal {
    args.first().copied().unwrap_or_default()
}

fn compute_abs(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    Ok(first(args).abs())
}

fn compute_floor(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    Ok(first(args).floor())
}

fn compute_ceil(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    Ok(first(args).ceil())
}

fn compute_sign(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    let x = first(args);
    Ok(if x.is_zero() {
        Decimal::ZERO
    } else if x.is_sign_negative() {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    })
}

fn compute_clamp(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    let [x, lo, hi] = args else { return Ok(first(args)) };
    if lo > hi {
        return Err(ArgumentError::bad(
            None,
            format!("clamp: the lower bound {} is above the upper bound {}", human(*lo), human(*hi)),
            "bounds in the wrong order",
        ));
    }
    Ok((*x).clamp(*lo, *hi))
}

fn compute_round(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    let places = args.get(1).copied().unwrap_or_default();
    let whole = places.to_u32().filter(|p| *p <= 28 && places.is_integer());
    let Some(places) = whole else {
        return Err(ArgumentError::bad(
            Some(1),
            format!("round: {} is not a number of decimal places", human(places)),
            "expected a whole number from 0 to 28",
        ));
    };
    Ok(first(args).round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_functions_have_a_sane_arity() {
        for (i, b) in BUILTINS.iter().enumerate() {
            assert!(!BUILTINS[..i].iter().any(|o| o.name == b.name), "{} twice", b.name);
            if let Some(f) = b.function() {
                assert!(f.least >= 1 && f.most.is_none_or(|m| m >= f.least), "{}", b.name);
                // The evaluator passes decimals: a function of values takes and gives numbers.
                assert_eq!((f.args, f.result), (Type::Number, Type::Number), "{}", b.name);
            }
        }
    }

    #[test]
    fn places_hold_what_they_were_given() {
        let draws = Places::only(&[Place::Initial, Place::Effect]);
        assert!(draws.contains(Place::Effect) && draws.contains(Place::Initial));
        assert!(!draws.contains(Place::Condition) && !draws.contains(Place::Formula));
        assert_eq!(draws.iter().collect::<Vec<_>>(), [Place::Initial, Place::Effect]);
        assert!(ALL_PLACES.iter().all(|p| Places::ANYWHERE.contains(*p)));
    }

    #[test]
    fn sign_is_minus_one_zero_or_one() {
        let sign = |x: Decimal| compute_sign(&[x]).unwrap();
        assert_eq!(sign(Decimal::new(-25, 1)), Decimal::NEGATIVE_ONE);
        assert_eq!(sign(Decimal::ZERO), Decimal::ZERO);
        assert_eq!(sign(Decimal::new(-0, 2)), Decimal::ZERO);
        assert_eq!(sign(Decimal::new(1, 28)), Decimal::ONE);
    }
}

//! The roots and logarithms of the built-in table (`sqrt`, `exp`, `ln`,
//! `log10`) in checked decimal arithmetic: approximations by the decimal maths
//! of `rust_decimal`, good to about 25 significant digits (see
//! `docs/language.md` and the tests below). A value outside a function's domain
//! is an [`ArgumentError`], never a panic or a silent zero. (`a ^ b`, an
//! operator, is `eval::maths::power`.)

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, MathematicalOps, ToPrimitive};

use super::ArgumentError;
use crate::codes;
use crate::value::human;

fn not_allowed(message: String, label: &'static str) -> ArgumentError {
    ArgumentError { code: codes::run::bad_argument, argument: Some(0), message, label }
}

fn too_large(message: String) -> ArgumentError {
    ArgumentError {
        code: codes::run::overflow,
        argument: None,
        message,
        label: "the result is beyond the range of exact decimals (about 7.9e28)",
    }
}

fn only(args: &[Decimal]) -> Decimal {
    args.first().copied().unwrap_or_default()
}

/// `sqrt(x)`: by Newton's method from a floating-point guess, stopping when an
/// iteration gives back the value it started from (or the one before it: the
/// last digit may alternate).
pub(crate) fn compute_sqrt(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    let x = only(args);
    if x.is_sign_negative() && !x.is_zero() {
        return Err(not_allowed(format!("sqrt of {}, which is negative", human(x)), "this is negative")
            .with_help_in_message("guard it, e.g. `sqrt(max(0, x))`"));
    }
    if x.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let mut guess =
        x.to_f64().map(f64::sqrt).and_then(Decimal::from_f64).filter(|g| !g.is_zero()).unwrap_or(x);
    let mut before = Decimal::ZERO;
    for _ in 0..100 {
        let next = x
            .checked_div(guess)
            .and_then(|q| q.checked_add(guess))
            .and_then(|s| s.checked_div(Decimal::TWO))
            .ok_or_else(|| too_large(format!("sqrt({})", human(x))))?;
        if next == guess || next == before {
            return Ok(next.min(guess).normalize());
        }
        before = guess;
        guess = next;
    }
    Ok(guess.normalize())
}

/// `exp(x)`: e to the power x.
pub(crate) fn compute_exp(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    let x = only(args);
    x.checked_exp().ok_or_else(|| too_large(format!("exp({})", human(x))))
}

/// `ln(x)`: the natural logarithm; `x` must be above 0.
pub(crate) fn compute_ln(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    logarithm("ln", only(args), Decimal::checked_ln)
}

/// `log10(x)`: the base-10 logarithm; `x` must be above 0.
pub(crate) fn compute_log10(args: &[Decimal]) -> Result<Decimal, ArgumentError> {
    logarithm("log10", only(args), Decimal::checked_log10)
}

fn logarithm(name: &str, x: Decimal, f: fn(&Decimal) -> Option<Decimal>) -> Result<Decimal, ArgumentError> {
    if x <= Decimal::ZERO {
        return Err(not_allowed(
            format!("{name} of {}, which is not above 0", human(x)),
            "a logarithm needs a number above 0",
        ));
    }
    f(&x).ok_or_else(|| too_large(format!("{name}({})", human(x))))
}

trait HelpInMessage {
    fn with_help_in_message(self, help: &str) -> Self;
}

impl HelpInMessage for ArgumentError {
    /// `ArgumentError` has no help line: the hint goes after the message.
    fn with_help_in_message(mut self, help: &str) -> Self {
        self.message = format!("{}; {help}", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// Digits that agree with a reference value given to 30 places.
    fn agrees(value: Decimal, reference: &str, digits: u32) {
        let reference = d(reference);
        let tolerance = Decimal::new(1, digits).checked_mul(reference.abs().max(Decimal::ONE)).unwrap();
        assert!((value - reference).abs() <= tolerance, "{value} vs {reference} to {digits} places");
    }

    #[test]
    fn roots_and_logarithms_agree_with_references_and_check_their_domain() {
        let one = |f: fn(&[Decimal]) -> Result<Decimal, ArgumentError>, x: &str| f(&[d(x)]);
        let code = |r: Result<Decimal, ArgumentError>| r.map_err(|e| e.code);
        assert_eq!(one(compute_sqrt, "2.25"), Ok(d("1.5")));
        assert_eq!(one(compute_sqrt, "1e-20"), Ok(d("1e-10")));
        agrees(one(compute_sqrt, "2").unwrap(), "1.414213562373095048801688724", 27);
        agrees(one(compute_sqrt, "79228162514264337593543950335").unwrap(), "281474976710656", 14);
        assert_eq!(code(one(compute_sqrt, "-1")), Err(codes::run::bad_argument));
        agrees(one(compute_exp, "1").unwrap(), "2.718281828459045235360287471", 25);
        agrees(one(compute_ln, "10").unwrap(), "2.302585092994045684017991455", 25);
        agrees(one(compute_log10, "2").unwrap(), "0.301029995663981195213738894", 25);
        assert_eq!(one(compute_log10, "1000"), Ok(d("3")));
        assert_eq!(code(one(compute_ln, "0")), Err(codes::run::bad_argument));
        assert_eq!(code(one(compute_exp, "100")), Err(codes::run::overflow));
    }
}

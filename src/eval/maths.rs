//! Powers (`a ^ b`) in checked decimal arithmetic.
//!
//! `a ^ n` with a whole `n` multiplies, checked like `*`: exact whenever the
//! result fits in 28 significant digits. A fractional exponent is an
//! approximation by the decimal maths of `rust_decimal`, good to about 25
//! significant digits (see `docs/language.md` and the tests below), as are the
//! roots and logarithms of the built-in table (`builtins/maths.rs`). A value
//! outside the domain is a [`Fault`] at the argument, never a panic or a silent
//! zero.

use crate::codes;
use rust_decimal::Decimal;
use rust_decimal::prelude::{MathematicalOps, ToPrimitive};

use super::expr::{Eval, Fault};
use crate::source::Span;
use crate::value::human;

fn overflow(what: String, span: Span) -> Fault {
    Fault::new(
        codes::run::overflow,
        format!("arithmetic overflow: {what}"),
        span,
        "the result is beyond the range of exact decimals (about 7.9e28)",
    )
}

fn outside(message: String, at: Span, label: String, help: &str) -> Fault {
    Fault::new(codes::run::bad_argument, message, at, label).help(help)
}

/// `a ^ b`. A whole exponent multiplies by squaring; a negative one divides 1 by
/// that. A fractional exponent is `exp(b × ln a)`, which needs `a > 0`.
/// `base` is the span of `a`, `span` that of the whole power.
pub(crate) fn power(a: Decimal, b: Decimal, base: Span, span: Span) -> Eval<Decimal> {
    let too_big = || overflow(format!("{} ^ {}", human(a), human(b)), span);
    if b.is_integer() {
        if a.is_zero() && b.is_sign_negative() {
            return Err(Fault::new(
                codes::run::division_by_zero,
                format!("0 ^ {} divides by zero", human(b)),
                base,
                "the base is 0 and the exponent negative",
            )
            .help("guard it, e.g. `if x == 0 then 0 else x ^ -1`"));
        }
        // A base of 0 or ±1 stays small for any exponent; otherwise an exponent
        // beyond 2^32 certainly overflows, or rounds to 0 for a base below 1.
        let n = match b.abs().to_u64().filter(|n| *n <= u64::from(u32::MAX)) {
            Some(n) => n,
            None if a.abs() == Decimal::ONE => {
                let odd = (b % Decimal::TWO) != Decimal::ZERO;
                return Ok(if a.is_sign_negative() && odd { -Decimal::ONE } else { Decimal::ONE });
            }
            None if a.abs() < Decimal::ONE && !b.is_sign_negative() => return Ok(Decimal::ZERO),
            None => return Err(too_big()),
        };
        let mut result = Decimal::ONE;
        let mut square = a;
        let mut rest = n;
        while rest > 0 {
            if rest & 1 == 1 {
                result = result.checked_mul(square).ok_or_else(too_big)?;
            }
            rest >>= 1;
            if rest > 0 {
                square = square.checked_mul(square).ok_or_else(too_big)?;
            }
        }
        if b.is_sign_negative() {
            return Decimal::ONE.checked_div(result).ok_or_else(too_big);
        }
        return Ok(result);
    }
    if a <= Decimal::ZERO {
        return Err(outside(
            format!("{} ^ {}: a fractional power needs a positive base", human(a), human(b)),
            base,
            format!("the base is {}", human(a)),
            "only whole exponents are defined for a base of 0 or below",
        ));
    }
    a.checked_ln().and_then(|l| l.checked_mul(b)).and_then(|e| e.checked_exp()).ok_or_else(too_big)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn power_of(a: &str, b: &str) -> Result<Decimal, &'static str> {
        power(d(a), d(b), Span::default(), Span::default()).map_err(|f| f.code)
    }

    /// Digits that agree with a reference value given to 30 places.
    fn agrees(value: Decimal, reference: &str, digits: u32) {
        let reference = d(reference);
        let tolerance = Decimal::new(1, digits).checked_mul(reference.abs().max(Decimal::ONE)).unwrap();
        assert!((value - reference).abs() <= tolerance, "{value} vs {reference} to {digits} places");
    }

    #[test]
    fn whole_powers_are_exact_and_checked() {
        assert_eq!(power_of("1.05", "2"), Ok(d("1.1025")));
        assert_eq!(power_of("-2", "3"), Ok(d("-8")));
        assert_eq!(power_of("2", "-2"), Ok(d("0.25")));
        assert_eq!(power_of("2", "0"), Ok(Decimal::ONE));
        assert_eq!(power_of("0", "0"), Ok(Decimal::ONE));
        assert_eq!(power_of("-1", "100000000001"), Ok(-Decimal::ONE));
        assert_eq!(power_of("0.5", "100000000000"), Ok(Decimal::ZERO));
        assert_eq!(power_of("10", "29"), Err(codes::run::overflow));
        assert_eq!(power_of("2", "100000000000"), Err(codes::run::overflow));
        assert_eq!(power_of("0", "-1"), Err(codes::run::division_by_zero));
    }

    #[test]
    fn fractional_powers_need_a_positive_base() {
        agrees(power_of("2", "0.5").unwrap(), "1.414213562373095048801688724", 25);
        agrees(power_of("1.05", "2.5").unwrap(), "1.129726321947045721750119514527", 26);
        assert_eq!(power_of("-8", "0.5"), Err(codes::run::bad_argument));
        assert_eq!(power_of("0", "0.5"), Err(codes::run::bad_argument));
        assert_eq!(power_of("1000", "100.5"), Err(codes::run::overflow));
    }
}

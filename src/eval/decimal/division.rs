//! `a / b` of decimals in one long division, with `rust_decimal`'s result.
//!
//! `rust_decimal` divides the mantissas, then, while a remainder is left,
//! scales the quotient and the remainder up by as many digits as the
//! quotient has room for (at most nine at a time, and never past scale 28)
//! and divides again. The quotient of an inexact division so ends with the
//! most digits that are below 2^96 at a scale of at most 28, rounded half to
//! even (a quotient that rounds up to 2^96 drops one more digit); then
//! trailing zeros are dropped as its `unscale` drops them, which leaves some.
//!
//! Here that number of digits is found first, from the bit lengths of the
//! mantissas, and the quotient is one division of the dividend times that
//! power of ten, in 32-bit steps of `u128` divisions. An exact quotient ends
//! where `rust_decimal`'s loop first finds no remainder, which depends on its
//! steps, so it is found by taking the same steps (`exact_quotient`).
//! Anything else (a zero operand or a quotient that rounds to 0, and the rare
//! turns of that loop not taken here) goes to `rust_decimal` itself.

use rust_decimal::Decimal;

use super::{MANTISSA_LIMIT, SCALABLE_IN_A_DECIMAL, build, unpack};
use crate::value::POWERS_OF_TEN_WIDE;

/// The largest mantissa of a decimal, 2^96 - 1.
const LARGEST: u128 = MANTISSA_LIMIT as u128 - 1;

/// `a.checked_div(b)`.
#[inline]
pub(crate) fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    let (dividend, dividend_scale, dividend_negative) = unpack(a);
    let (divisor, divisor_scale, divisor_negative) = unpack(b);
    if dividend == 0 || divisor == 0 {
        return slow_div(a, b);
    }
    let negative = dividend_negative != divisor_negative;
    let scale = dividend_scale as i32 - divisor_scale as i32;
    // The quotient times 10^k is below 2^96 while the dividend times 10^k is
    // below the divisor times 2^96, so while 10^k is below 2^room: at most
    // floor(room * log10(2)) digits (1233 / 4096 is log10(2) closely enough
    // for every room up to 192). That power of ten makes a quotient below
    // 2^98, less than 10 * 2^96: at most one digit too many.
    let room = (128 - divisor.leading_zeros()) + 97 - (128 - dividend.leading_zeros());
    let digits = ((room * 1233) >> 12).min((Decimal::MAX_SCALE as i32 - scale) as u32);
    let (high, low) = times_power_of_ten(dividend, digits);
    let (quotient, remainder) = divide_wide(high, low, divisor);
    let mut scale = scale + digits as i32;
    let (mut quotient, round_up, exact) = if quotient > LARGEST {
        // One digit too many: drop it, and round on it and the remainder.
        scale -= 1;
        let kept = quotient / 10;
        let digit = quotient - kept * 10;
        (kept, digit > 5 || (digit == 5 && (remainder != 0 || kept & 1 == 1)), digit == 0 && remainder == 0)
    } else {
        // Half to even: twice the remainder against the divisor (both below 2^97).
        let twice = remainder << 1;
        (quotient, twice > divisor || (twice == divisor && quotient & 1 == 1), remainder == 0)
    };
    if exact {
        return exact_quotient(a, b, dividend, divisor, negative);
    }
    if scale < 0 {
        return None;
    }
    if round_up {
        quotient += 1;
        if quotient == MANTISSA_LIMIT as u128 {
            if scale == 0 {
                return None;
            }
            // 2^96 / 10 rounded: 7922816251426433759354395033.6 rounds up.
            scale -= 1;
            quotient = MANTISSA_LIMIT as u128 / 10 + 1;
        }
    }
    if quotient == 0 {
        return slow_div(a, b);
    }
    let (quotient, scale) = unscale(quotient, scale as u32);
    Some(build(quotient, negative, scale))
}

/// `mantissa` times 10^digits as 256 bits (high, low), for a mantissa below
/// 2^96, at most 56 digits and a product below 2^193.
#[inline(always)]
fn times_power_of_ten(mantissa: u128, digits: u32) -> (u128, u128) {
    if digits <= 38 {
        let power = POWERS_OF_TEN_WIDE[digits as usize];
        match mantissa.checked_mul(power) {
            Some(product) => (0, product),
            None => widening_product(mantissa, power),
        }
    } else {
        // 10^38 is more than 2^126, so the rest of the product is below 2^67.
        widening_product(mantissa * POWERS_OF_TEN_WIDE[digits as usize - 38], POWERS_OF_TEN_WIDE[38])
    }
}

/// `a * b` as 256 bits (high, low), from four 64-bit multiplications.
#[inline(always)]
fn widening_product(a: u128, b: u128) -> (u128, u128) {
    let (a_low, a_high) = (a as u64 as u128, a >> 64);
    let (b_low, b_high) = (b as u64 as u128, b >> 64);
    let (cross, cross_carry) = (a_low * b_high).overflowing_add(a_high * b_low);
    let (low, low_carry) = (a_low * b_low).overflowing_add(cross << 64);
    let high = a_high * b_high + (cross >> 64) + ((cross_carry as u128) << 64) + low_carry as u128;
    (high, low)
}

/// `high * 2^128 + low` divided by `divisor`: the quotient and the
/// remainder, for a divisor below 2^96 and a quotient below 2^128. The top
/// 128 bits are divided first; then the remainder, below the divisor, takes
/// in as many of the next bits as keep it a `u128` (at least 32), and is
/// divided again.
#[inline(always)]
fn divide_wide(high: u128, low: u128, divisor: u128) -> (u128, u128) {
    if high == 0 {
        let quotient = low / divisor;
        return (quotient, low - quotient * divisor);
    }
    let room = divisor.leading_zeros();
    // The bits below the top 128: as many as `high` has, at most 96 as the
    // quotient is below 2^128.
    let mut below = 128 - high.leading_zeros();
    let top = (high << (128 - below)) | (low >> below);
    let mut quotient = top / divisor;
    let mut remainder = top - quotient * divisor;
    while below > 0 {
        let taken = room.min(below);
        below -= taken;
        let part = (remainder << taken) | ((low >> below) & ((1u128 << taken) - 1));
        let digits = part / divisor;
        remainder = part - digits * divisor;
        quotient = (quotient << taken) | digits;
    }
    (quotient, remainder)
}

/// Trailing zeros dropped as `rust_decimal`'s `unscale` drops them after a
/// division that had a remainder: eight at a time while the low 32 bits are
/// 0, then four, two and one, each at most once, never below scale 0.
#[inline(always)]
fn unscale(mut quotient: u128, mut scale: u32) -> (u128, u32) {
    while quotient as u32 == 0 && scale >= 8 && quotient.is_multiple_of(100_000_000) {
        quotient /= 100_000_000;
        scale -= 8;
    }
    for (digits, low_bits) in [(4, 0xF), (2, 0x3), (1, 0x1)] {
        let power = POWERS_OF_TEN_WIDE[digits as usize];
        if quotient & low_bits == 0 && scale >= digits && quotient.is_multiple_of(power) {
            quotient /= power;
            scale -= digits;
        }
    }
    (quotient, scale)
}

/// An exact quotient, found as `rust_decimal` finds it: a division with no
/// remainder keeps the scale of the operands (or scale 0, if that is
/// negative); otherwise the quotient is scaled up in `rust_decimal`'s steps
/// until no remainder is left and then unscaled. Rounding, overflow and a
/// quotient that rounds up past 2^96 go to `rust_decimal`.
#[inline(never)]
fn exact_quotient(a: Decimal, b: Decimal, dividend: u128, divisor: u128, negative: bool) -> Option<Decimal> {
    let mut scale = a.scale() as i32 - b.scale() as i32;
    let mut quotient = dividend / divisor;
    let mut remainder = dividend - quotient * divisor;
    if remainder == 0 {
        if scale >= 0 {
            return Some(build(quotient, negative, scale as u32));
        }
        let power = POWERS_OF_TEN_WIDE[-scale as usize];
        return quotient.checked_mul(power).filter(|&q| q <= LARGEST).map(|q| build(q, negative, 0));
    }
    loop {
        let digits = if remainder == 0 {
            if scale >= 0 {
                break;
            }
            (-scale).min(9) as u32
        } else {
            match scaling_room(quotient, scale) {
                Some(digits) if digits > 0 && scale < Decimal::MAX_SCALE as i32 => digits,
                _ => return slow_div(a, b),
            }
        };
        scale += digits as i32;
        let power = POWERS_OF_TEN_WIDE[digits as usize];
        let part = remainder * power;
        let next = part / divisor;
        remainder = part - next * divisor;
        quotient = quotient * power + next;
        if quotient > LARGEST {
            return slow_div(a, b);
        }
    }
    let (quotient, scale) = unscale(quotient, scale as u32);
    Some(build(quotient, negative, scale))
}

/// `rust_decimal`'s `find_scale`: how many digits the quotient (below 2^96)
/// at `scale` is scaled up by next. Nine when it has room for nine and the
/// scale stays at most 28; else the most it has room for, at most up to
/// scale 28, and `None` (an overflow) when that leaves the scale negative.
#[inline(always)]
fn scaling_room(quotient: u128, scale: i32) -> Option<u32> {
    if scale <= 19 && quotient <= SCALABLE_IN_A_DECIMAL[9] {
        return Some(9);
    }
    let mut digits = if scale > 19 { (Decimal::MAX_SCALE as i32 - scale) as u32 } else { 8 };
    while digits > 0 && quotient > SCALABLE_IN_A_DECIMAL[digits as usize] {
        digits -= 1;
    }
    (digits as i32 + scale >= 0).then_some(digits)
}

/// `a.checked_div(b)` by `rust_decimal`.
#[cold]
#[inline(never)]
fn slow_div(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_div(b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::tests::{decimal, near_largest, same};

    /// Operands whose quotients need rounding to 28 or 29 digits: a long
    /// mantissa at any scale, near 2^96, or a short one (as in `2.5bn /
    /// collateral`), of either sign.
    fn long_or_short() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
                .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
            near_largest(),
            (1u64..=100_000_000_000, any::<bool>(), 0u32..=28).prop_map(|(m, negative, scale)| {
                Decimal::from_i128_with_scale(if negative { -(m as i128) } else { m as i128 }, scale)
            }),
            decimal(),
        ]
    }

    /// A quotient that is exact once scaled up: `p * c / (d * c)` for a
    /// divisor `d` of a power of ten, at any scales, so `rust_decimal`'s
    /// loop finds no remainder after one or more of its steps.
    fn exact_pair() -> impl Strategy<Value = (Decimal, Decimal)> {
        let factors = prop::sample::select(vec![
            1u128, 2, 4, 5, 8, 16, 20, 25, 32, 40, 64, 125, 128, 256, 625, 1024, 3125, 4096,
        ]);
        (1u128..1_000_000_000, factors, 1u128..1 << 64, 0u32..=28, 0u32..=28, any::<bool>(), any::<bool>())
            .prop_filter_map("mantissas below 2^96", |(p, d, c, sa, sb, na, nb)| {
                let (m1, m2) = (p.checked_mul(c)?, d.checked_mul(c)?);
                let a = Decimal::try_from_i128_with_scale(i128::try_from(m1).ok()?, sa).ok()?;
                let b = Decimal::try_from_i128_with_scale(i128::try_from(m2).ok()?, sb).ok()?;
                Some((if na { -a } else { a }, if nb { -b } else { b }))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(50_000))]

        #[test]
        fn quotients_are_what_rust_decimal_gives(a in decimal(), b in decimal()) {
            prop_assert!(same(super::div(a, b), a.checked_div(b)), "{} / {}", a, b);
        }

        #[test]
        fn rounded_quotients_are_what_rust_decimal_gives(a in long_or_short(), b in long_or_short()) {
            prop_assert!(same(super::div(a, b), a.checked_div(b)), "{} / {}", a, b);
            prop_assert!(same(super::div(b, a), b.checked_div(a)), "{} / {}", b, a);
        }

        #[test]
        fn exact_quotients_are_what_rust_decimal_gives((a, b) in exact_pair()) {
            prop_assert!(same(super::div(a, b), a.checked_div(b)), "{} / {}", a, b);
            prop_assert!(same(super::div(b, a), b.checked_div(a)), "{} / {}", b, a);
        }
    }

    #[test]
    fn quotients_at_the_edges_are_what_rust_decimal_gives() {
        let largest = |scale| Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, scale);
        let d = |text: &str| text.parse::<Decimal>().unwrap();
        let mut cases = vec![
            (d("1"), d("3")),
            (d("2"), d("3")),
            (d("1"), d("7")),
            (d("10"), d("4")),
            (d("3000000.0"), d("1500000")),
            (d("72000.0"), d("1500000")),
            (d("-0.0064"), d("2")),
            (d("0.8659364979636811753142319105"), d("1.7318729959273623506284638210")),
            (d("2500000000.0"), d("5.7239526262421816900640680065")),
            (d("2500000000.0"), d("6331806763597.50000000000000")),
            (d("1.9999999999999999999999999999"), d("2")),
            (d("19999999999999999999999999999"), d("2")),
            (d("20000000000000000000000000001"), d("2")),
            (d("2.0000000000000000000000000001"), d("2")),
            (d("20000000000000000000000000003"), d("2")),
            (d("0.0000000000000000000000000003"), d("2")),
            (d("0.0000000000000000000000000005"), d("2")),
            (d("0.0000000000000000000000000001"), d("3")),
            (d("0.0000000000000000000000000001"), d("2")),
            (d("0.0000000000000000000000000001"), d("1.5")),
            (d("0.0000000000000000000000000001"), largest(0)),
            (largest(0), d("0.1")),
            (largest(0), d("0.5")),
            (largest(0), d("2")),
            (largest(0), d("0.0000000000000000000000000001")),
            (largest(28), d("0.0000000000000000000000000003")),
            (largest(0), largest(0)),
            (largest(0), largest(28)),
            (largest(28), largest(0)),
            (d("1"), largest(28)),
            (d("1"), largest(0)),
            (d("0"), d("3")),
            (d("-0.000"), d("3")),
            (d("3"), d("0")),
        ];
        for scale in [0, 1, 14, 27, 28] {
            cases.push((Decimal::new(1, scale), Decimal::new(3, 0)));
            cases.push((Decimal::new(2, 0), Decimal::new(3, scale)));
            cases.push((largest(scale), Decimal::new(7, 28 - scale)));
            cases.push((Decimal::new(123456789, scale), Decimal::new(1000, 28)));
        }
        for (a, b) in cases {
            for (a, b) in [(a, b), (-a, b), (a, -b), (-a, -b), (b, a)] {
                assert!(same(super::div(a, b), a.checked_div(b)), "{a} / {b}");
            }
        }
    }

    #[test]
    fn a_quotient_that_rounds_up_to_2_pow_96_drops_one_more_digit() {
        // 55459713759985036315480765235 / 7 * 10 = 79228162514264337593543950335.71...:
        // one below 2^96 and more than a half, so it rounds up to 2^96.
        let a = Decimal::from_i128_with_scale(55459713759985036315480765235, 0);
        let b = Decimal::new(7, 0);
        for scale in [0, 5, 27] {
            let a = Decimal::from_i128_with_scale(55459713759985036315480765235, scale);
            assert!(same(super::div(a, b), a.checked_div(b)), "{a} / {b}");
            assert!(same(super::div(-a, b), (-a).checked_div(b)), "-{a} / {b}");
        }
        assert_eq!(super::div(a, b).map(|q| q.to_string()), Some("7922816251426433759354395034".to_string()));
        // With the divisor at scale 1 no digit is left to drop: an overflow.
        assert_eq!(super::div(a, Decimal::new(7, 1)), None);
        assert_eq!(a.checked_div(Decimal::new(7, 1)), None);
    }

    #[test]
    fn the_digits_estimate_is_the_most_digits_below_2_pow_room() {
        for room in 2u32..=192 {
            let digits = (room * 1233) >> 12;
            let below = |k: u32| k as f64 * std::f64::consts::LOG2_10 < room as f64;
            assert!(below(digits) && !below(digits + 1), "room {room}");
        }
    }
}

//! Short ways through the common cases of decimal arithmetic.
//!
//! A decimal is a mantissa below 2^96 and a scale from 0 to 28. When the exact
//! result of `+`, `-`, `*` or a comparison can be had in `i128` with no
//! rounding, it is computed here; every other case (rounding, overflow, a zero
//! operand or result, whose scale and sign `rust_decimal` decides) goes to
//! `rust_decimal`. So each function gives exactly what `rust_decimal` gives,
//! digit, scale and sign; the tests below compare the two on many numbers.
//! Division, which mostly rounds, is its own module (`division.rs`).

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::value::POWERS_OF_TEN_WIDE;

mod division;

pub(crate) use division::div;

/// 10^n for n from 0 to 28: the first of [`POWERS_OF_TEN_WIDE`], signed.
const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1i128; 29];
    let mut n = 1;
    while n < 29 {
        powers[n] = POWERS_OF_TEN_WIDE[n] as i128;
        n += 1;
    }
    powers
};

/// The largest magnitude that times 10^n is still an `i128`, for n from 0 to 28.
const SCALABLE: [u128; 29] = {
    let mut limits = [0u128; 29];
    let mut n = 0;
    while n < 29 {
        limits[n] = i128::MAX as u128 / POWERS_OF_TEN[n] as u128;
        n += 1;
    }
    limits
};

/// `mantissa` times 10^n, when that is an `i128` (a plain multiplication,
/// with no overflow check of its own).
#[inline(always)]
fn scaled(mantissa: i128, n: u32) -> Option<i128> {
    (mantissa.unsigned_abs() <= SCALABLE[n as usize]).then(|| mantissa * POWERS_OF_TEN[n as usize])
}

/// One more than the largest mantissa of a decimal.
const MANTISSA_LIMIT: i128 = 1 << 96;

/// The mantissas of `a` and `b` at the larger of their scales, and that
/// scale, when both fit a decimal's mantissa there.
#[inline(always)]
fn aligned(a: Decimal, b: Decimal) -> Option<(i128, i128, u32)> {
    let (sa, sb) = (a.scale(), b.scale());
    let (ma, mb) = (a.mantissa(), b.mantissa());
    match sa.cmp(&sb) {
        Ordering::Equal => Some((ma, mb, sa)),
        Ordering::Less => {
            let ma = scaled(ma, sb - sa)?;
            (ma.unsigned_abs() < MANTISSA_LIMIT as u128).then_some((ma, mb, sb))
        }
        Ordering::Greater => {
            let mb = scaled(mb, sa - sb)?;
            (mb.unsigned_abs() < MANTISSA_LIMIT as u128).then_some((ma, mb, sa))
        }
    }
}

/// A non-zero mantissa below the limit with its scale, as a decimal.
#[inline(always)]
fn exact(mantissa: i128, scale: u32) -> Option<Decimal> {
    if mantissa == 0 || mantissa.unsigned_abs() >= MANTISSA_LIMIT as u128 {
        return None;
    }
    Some(build(mantissa.unsigned_abs(), mantissa < 0, scale))
}

/// A decimal's magnitude (its mantissa without the sign), scale and sign.
#[inline(always)]
fn unpack(d: Decimal) -> (u128, u32, bool) {
    let bytes = d.serialize();
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let flags = word(0);
    let magnitude = word(4) as u128 | (word(8) as u128) << 32 | (word(12) as u128) << 64;
    (magnitude, (flags >> 16) & 0xFF, flags >> 31 != 0)
}

/// The largest magnitude that times 10^n is still below 2^96, for n from 0 to 28.
const SCALABLE_IN_A_DECIMAL: [u128; 29] = {
    let mut limits = [0u128; 29];
    let mut n = 0;
    while n < 29 {
        limits[n] = (MANTISSA_LIMIT as u128 - 1) / POWERS_OF_TEN[n] as u128;
        n += 1;
    }
    limits
};

/// How the magnitude `m` at `scale` compares with `other` at the larger
/// scale `other_scale`.
#[inline(always)]
fn compare_scaled_up(m: u128, scale: u32, other: u128, other_scale: u32) -> Ordering {
    let n = (other_scale - scale) as usize;
    if m > SCALABLE_IN_A_DECIMAL[n] {
        // `m` times 10^n is at least 2^96, more than any mantissa.
        return Ordering::Greater;
    }
    (m * POWERS_OF_TEN[n] as u128).cmp(&other)
}

/// `a.cmp(&b)`: zero of either sign is zero, then the signs decide, then the
/// magnitudes at the larger of the two scales.
#[inline(always)]
pub(crate) fn compare(a: Decimal, b: Decimal) -> Ordering {
    let (ma, sa, na) = unpack(a);
    let (mb, sb, nb) = unpack(b);
    if ma == 0 || mb == 0 || na != nb {
        let signum = |m: u128, negative: bool| {
            if m == 0 {
                0
            } else if negative {
                -1
            } else {
                1
            }
        };
        return signum(ma, na).cmp(&signum(mb, nb));
    }
    let magnitudes = match sa.cmp(&sb) {
        Ordering::Equal => ma.cmp(&mb),
        Ordering::Less => compare_scaled_up(ma, sa, mb, sb),
        Ordering::Greater => compare_scaled_up(mb, sb, ma, sa).reverse(),
    };
    if na { magnitudes.reverse() } else { magnitudes }
}

/// `a.checked_add(b)`.
#[inline]
pub(crate) fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    if !a.is_zero()
        && !b.is_zero()
        && let Some((ma, mb, scale)) = aligned(a, b)
        && let Some(sum) = exact(ma + mb, scale)
    {
        return Some(sum);
    }
    a.checked_add(b)
}

/// `a.checked_sub(b)`.
#[inline]
pub(crate) fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
    if !a.is_zero()
        && !b.is_zero()
        && let Some((ma, mb, scale)) = aligned(a, b)
        && let Some(difference) = exact(ma - mb, scale)
    {
        return Some(difference);
    }
    a.checked_sub(b)
}

/// A non-zero magnitude below 2^96 with its sign and scale, as a decimal.
#[inline(always)]
fn build(magnitude: u128, negative: bool, scale: u32) -> Decimal {
    Decimal::from_parts(magnitude as u32, (magnitude >> 32) as u32, (magnitude >> 64) as u32, negative, scale)
}

/// `a.checked_mul(b)`. The product of two mantissas below 2^64 is one
/// widening multiplication; any other product goes to `rounded_product`.
#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let scale = a.scale() + b.scale();
    let (ma, mb) = (a.mantissa().unsigned_abs(), b.mantissa().unsigned_abs());
    // Two mantissas below 2^64: one widening multiplication, which cannot overflow.
    let product = if ma >> 64 == 0 && mb >> 64 == 0 { (ma as u64 as u128) * (mb as u64 as u128) } else { 0 };
    if scale <= Decimal::MAX_SCALE && product < MANTISSA_LIMIT as u128 && product != 0 {
        let negative = a.is_sign_negative() != b.is_sign_negative();
        return Some(build(product, negative, scale));
    }
    rounded_product(a, b)
}

/// `a.checked_mul(b)` for a product that may need rounding: the 192-bit
/// product of the magnitudes from four 64-bit multiplications, then
/// `rust_decimal`'s rounding (see `round_quotient`).
#[inline(never)]
fn rounded_product(a: Decimal, b: Decimal) -> Option<Decimal> {
    let (ma, sa, na) = unpack(a);
    let (mb, sb, nb) = unpack(b);
    if ma == 0 || mb == 0 {
        return Some(Decimal::ZERO);
    }
    let (negative, scale) = (na != nb, sa + sb);
    let (a_low, a_high) = (ma as u64 as u128, ma >> 64);
    let (b_low, b_high) = (mb as u64 as u128, mb >> 64);
    // Each cross product is below 2^96, their sum below 2^97; the whole
    // product is below 2^192, so `high` is below 2^64.
    let cross = a_low * b_high + a_high * b_low;
    let (low, carry) = (a_low * b_low).overflowing_add(cross << 64);
    let high = (a_high * b_high) as u64 + (cross >> 64) as u64 + carry as u64;
    let bits = if high == 0 { 128 - low.leading_zeros() } else { 192 - high.leading_zeros() } as i32;
    if bits <= 96 && scale <= Decimal::MAX_SCALE {
        return Some(build(low, negative, scale));
    }
    // `Buf24::rescale`: an estimate of the digits too many from the bit
    // length, and at least enough for scale 28; more than the scale has is
    // an overflow.
    let mut dropped = 0;
    if bits > 96 {
        dropped = (((bits - 97) * 77) >> 8) + 1;
        if dropped > scale as i32 {
            return None;
        }
    }
    let dropped = dropped.max(scale as i32 - Decimal::MAX_SCALE as i32) as u32;
    let rounded = if high == 0 {
        let power = POWERS_OF_TEN_WIDE[dropped as usize];
        let quotient = low / power;
        round_quotient(quotient, low - quotient * power, power / 2, false, negative, scale - dropped)
    } else {
        // At least 10 digits and at most 29 are dropped: 10^19 at most at a
        // time, the digits of the first division kept only as `sticky`.
        let (first, second) = (dropped.saturating_sub(19), dropped.min(19));
        let (mut high, mut low, mut sticky) = (high, low, false);
        if first > 0 {
            let remainder;
            (high, low, remainder) = divide_wide(high, low, POWERS_OF_TEN_WIDE[first as usize] as u64);
            sticky = remainder != 0;
        }
        let power = POWERS_OF_TEN_WIDE[second as usize] as u64;
        let (high, quotient, remainder) = divide_wide(high, low, power);
        if high != 0 {
            return slow_mul(a, b);
        }
        round_quotient(quotient, remainder as u128, (power / 2) as u128, sticky, negative, scale - dropped)
    };
    match rounded {
        Rounded::Decimal(d) => Some(d),
        Rounded::Overflow => None,
        Rounded::Zero => slow_mul(a, b),
    }
}

/// `high * 2^128 + low` divided by `divisor`: the quotient's high 64 bits, its
/// low 128 bits, and the remainder.
#[inline(always)]
fn divide_wide(high: u64, low: u128, divisor: u64) -> (u64, u128, u64) {
    let divisor_wide = divisor as u128;
    let (top, remainder) = (high / divisor, high % divisor);
    let middle = (remainder as u128) << 64 | low >> 64;
    let (middle_quotient, middle_remainder) = (middle / divisor_wide, middle % divisor_wide);
    let bottom = middle_remainder << 64 | low as u64 as u128;
    let bottom_quotient = bottom / divisor_wide;
    let remainder = (bottom - bottom_quotient * divisor_wide) as u64;
    (top, middle_quotient << 64 | bottom_quotient, remainder)
}

/// What rounding a product made.
enum Rounded {
    Decimal(Decimal),
    Overflow,
    /// The product rounded to 0, whose sign and scale `rust_decimal` decides.
    Zero,
}

/// The product divided by a power of ten: `quotient`, the `remainder` of the
/// last division and `half` its divisor, `sticky` when an earlier division
/// left a remainder; rounded as `Buf24::rescale` rounds. While the quotient
/// is still 2^96 or more, one more digit is dropped; then it rounds half to
/// even counting every dropped digit, and drops one more digit when rounding
/// up reaches 2^96. Dropping more digits than the scale has is an overflow.
#[inline(always)]
fn round_quotient(
    mut quotient: u128,
    mut remainder: u128,
    mut half: u128,
    mut sticky: bool,
    negative: bool,
    mut scale: u32,
) -> Rounded {
    while quotient >= MANTISSA_LIMIT as u128 {
        if scale == 0 {
            return Rounded::Overflow;
        }
        scale -= 1;
        sticky |= remainder != 0;
        let next = quotient / 10;
        remainder = quotient - next * 10;
        quotient = next;
        half = 5;
    }
    if remainder > half || (remainder == half && (quotient & 1 == 1 || sticky)) {
        quotient += 1;
        if quotient == MANTISSA_LIMIT as u128 {
            if scale == 0 {
                return Rounded::Overflow;
            }
            // 2^96 / 10 rounded: 7922816251426433759354395033.6 rounds up.
            scale -= 1;
            quotient = MANTISSA_LIMIT as u128 / 10 + 1;
        }
    }
    if quotient == 0 {
        return Rounded::Zero;
    }
    Rounded::Decimal(build(quotient, negative, scale))
}

/// `a.checked_mul(b)` by `rust_decimal`, for the products that round to 0.
#[cold]
#[inline(never)]
fn slow_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// Decimals of every size and scale, and the edges: zero (both signs),
    /// one, the largest mantissa, numbers that differ only in scale.
    pub(super) fn decimal() -> impl Strategy<Value = Decimal> {
        let parts = (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28);
        prop_oneof![
            parts
                .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
            (any::<u32>(), any::<bool>(), 0u32..=28)
                .prop_map(|(lo, negative, scale)| Decimal::from_parts(lo, 0, 0, negative, scale)),
            (any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
                .prop_map(|(lo, mid, negative, scale)| Decimal::from_parts(lo, mid, 0, negative, scale)),
            (0u32..=28, any::<bool>()).prop_map(|(scale, negative)| Decimal::from_parts(
                u32::MAX,
                u32::MAX,
                u32::MAX,
                negative,
                scale
            )),
            (0u32..=28, any::<bool>())
                .prop_map(|(scale, negative)| Decimal::from_parts(0, 0, 0, negative, scale)),
            (0u32..=28, any::<bool>(), 0u32..=12).prop_map(|(scale, negative, digits)| {
                Decimal::from_parts(10u32.pow(digits.min(9)), 0, 0, negative, scale)
            }),
        ]
    }

    /// Decimals whose products mostly need rounding: a long mantissa at a
    /// large scale, or a half (5, 15, 25, ... at scale 1 to 3) that puts a
    /// product exactly at the rounding point, or a mantissa near 2^96.
    fn rounding_operand() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), 0u32..1 << 28, any::<bool>(), 14u32..=28)
                .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
            (0u32..200, any::<bool>(), 1u32..=3).prop_map(|(k, negative, scale)| Decimal::from_parts(
                10 * k + 5,
                0,
                0,
                negative,
                scale
            )),
            near_largest(),
            decimal(),
        ]
    }

    /// A mantissa within 1,000 of 2^96 - 1, at any scale and of either sign.
    pub(super) fn near_largest() -> impl Strategy<Value = Decimal> {
        (0u32..1000, any::<bool>(), 0u32..=28).prop_map(|(below, negative, scale)| {
            Decimal::from_parts(u32::MAX - below, u32::MAX, u32::MAX, negative, scale)
        })
    }

    pub(super) fn same(a: Option<Decimal>, b: Option<Decimal>) -> bool {
        a.map(|d| d.serialize()) == b.map(|d| d.serialize())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn the_short_ways_give_what_rust_decimal_gives(a in decimal(), b in decimal()) {
            prop_assert_eq!(super::compare(a, b), a.cmp(&b));
            prop_assert!(same(super::add(a, b), a.checked_add(b)), "{} + {}", a, b);
            prop_assert!(same(super::sub(a, b), a.checked_sub(b)), "{} - {}", a, b);
            prop_assert!(same(super::mul(a, b), a.checked_mul(b)), "{} * {}", a, b);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(50_000))]

        #[test]
        fn products_that_need_rounding_round_as_rust_decimal_rounds(a in rounding_operand(), b in rounding_operand()) {
            prop_assert!(same(super::mul(a, b), a.checked_mul(b)), "{} * {}", a, b);
            prop_assert!(same(super::mul(b, a), b.checked_mul(a)), "{} * {}", b, a);
        }
    }

    #[test]
    fn a_product_that_rounds_up_to_2_pow_96_drops_one_more_digit() {
        // 57235 * 13842607235828485645766393 = 5 * (2^97 - 1) = 10 * 2^96 - 5:
        // one digit dropped leaves 2^96 - 1 and a half, which rounds up to 2^96.
        let a = Decimal::from_i128_with_scale(57235, 1);
        for scale in [1, 2, 27] {
            let b = Decimal::from_i128_with_scale(13842607235828485645766393, scale);
            assert!(same(super::mul(a, b), a.checked_mul(b)), "{a} * {b}");
            assert!(same(super::mul(-a, b), (-a).checked_mul(b)), "-{a} * {b}");
        }
        // At scale 0 there is no digit left to drop: an overflow.
        let (a, b) = (Decimal::from(57235), Decimal::from_i128_with_scale(13842607235828485645766393, 0));
        assert_eq!(super::mul(a, b), None);
        assert_eq!(a.checked_mul(b), None);
    }

    #[test]
    fn a_tie_in_the_last_digits_dropped_rounds_up_when_earlier_digits_are_not_0() {
        // a = alpha * 10^d + 1 and b = beta * 10^d + 5 * 10^(d - 1) + r at scales
        // 28 and d: the product, beyond 2^128, drops d digits (d - 19 and then
        // 19), and its last d digits are 5 * 10^(d - 1) + r: a tie in the last
        // 19 digits dropped, decided by r in the earlier ones (r = 0: an
        // exact tie, to even). The quotient's parity is that of alpha * r + beta.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for d in 20..=28u32 {
            let power = 10u128.pow(d);
            let largest_factor = (((1u128 << 96) - power) / power).min(1000) as u64;
            for _ in 0..400 {
                let (alpha, beta) = (1 + next() % largest_factor, 1 + next() % largest_factor);
                let r = if next() % 4 == 0 { 0 } else { 1 + next() as u128 % (10u128.pow(d - 19) - 1) };
                let a = Decimal::from_i128_with_scale((alpha as u128 * power + 1) as i128, 28);
                let b = Decimal::from_i128_with_scale((beta as u128 * power + 5 * power / 10 + r) as i128, d);
                assert!(same(super::mul(a, b), a.checked_mul(b)), "{a} * {b}");
                assert!(same(super::mul(-b, a), (-b).checked_mul(a)), "-{b} * {a}");
            }
        }
    }

    #[test]
    fn products_at_the_edges_round_as_rust_decimal_rounds() {
        let largest = |scale| Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, scale);
        let d = |text: &str| text.parse::<Decimal>().unwrap();
        let cases = [
            (largest(0), largest(0)),
            (largest(28), largest(28)),
            (largest(0), largest(28)),
            (largest(14), d("1.5")),
            (largest(1), d("0.5")),
            (d("0.0000000000000001"), d("0.0000000000000001")),
            (d("0.00000000000001"), d("0.00000000000005")),
            (d("0.0000000000000000000000000001"), d("0.5")),
            (d("0.0000000000000000000000000003"), d("0.5")),
            (d("1.2345678901234567890123456789"), d("730")),
            (d("-1.2345678901234567890123456789"), d("0.85")),
        ];
        for (a, b) in cases {
            for (a, b) in [(a, b), (-a, b), (a, -b), (b, a)] {
                assert!(same(super::mul(a, b), a.checked_mul(b)), "{a} * {b}");
            }
        }
    }

    #[test]
    fn the_short_ways_keep_the_scale_and_the_sign_of_zero() {
        let d = |text: &str| text.parse::<Decimal>().unwrap();
        for (a, b) in [("1.50", "2.5"), ("-0.10", "0.1"), ("0.00", "-3"), ("-0", "0.0"), ("7", "-7.000")] {
            let (a, b) = (d(a), d(b));
            assert!(same(super::add(a, b), a.checked_add(b)));
            assert!(same(super::sub(a, b), a.checked_sub(b)));
            assert!(same(super::mul(a, b), a.checked_mul(b)));
            assert_eq!(super::compare(a, b), a.cmp(&b));
        }
    }
}

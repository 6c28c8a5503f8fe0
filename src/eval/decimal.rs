//! Short ways through the common cases of decimal arithmetic.
//!
//! A decimal is a mantissa below 2^96 and a scale from 0 to 28. When the exact
//! result of `+`, `-`, `*` or a comparison can be had in `i128` with no
//! rounding, it is computed here; every other case (rounding, overflow, a zero
//! operand or result, whose scale and sign `rust_decimal` decides) goes to
//! `rust_decimal`. So each function gives exactly what `rust_decimal` gives,
//! digit, scale and sign; the tests below compare the two on many numbers.

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// 10^n for n from 0 to 28.
const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1i128; 29];
    let mut n = 1;
    while n < 29 {
        powers[n] = powers[n - 1] * 10;
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
    let magnitude = mantissa.unsigned_abs();
    Some(Decimal::from_parts(
        magnitude as u32,
        (magnitude >> 32) as u32,
        (magnitude >> 64) as u32,
        mantissa < 0,
        scale,
    ))
}

/// `a.cmp(&b)`.
#[inline]
pub(crate) fn compare(a: Decimal, b: Decimal) -> Ordering {
    let (sa, sb) = (a.scale(), b.scale());
    let (ma, mb) = (a.mantissa(), b.mantissa());
    let scaled = match sa.cmp(&sb) {
        Ordering::Equal => Some((ma, mb)),
        // A mantissa times 10^28 may not fit an i128: then `rust_decimal` compares.
        Ordering::Less => scaled(ma, sb - sa).map(|ma| (ma, mb)),
        Ordering::Greater => scaled(mb, sa - sb).map(|mb| (ma, mb)),
    };
    match scaled {
        Some((ma, mb)) => ma.cmp(&mb),
        None => a.cmp(&b),
    }
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

/// `a.checked_mul(b)`.
#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let scale = a.scale() + b.scale();
    let (ma, mb) = (a.mantissa().unsigned_abs(), b.mantissa().unsigned_abs());
    // Two mantissas below 2^64: one widening multiplication, which cannot overflow.
    let product = if ma >> 64 == 0 && mb >> 64 == 0 { (ma as u64 as u128) * (mb as u64 as u128) } else { 0 };
    if scale <= Decimal::MAX_SCALE && product < MANTISSA_LIMIT as u128 && product != 0 {
        let negative = a.is_sign_negative() != b.is_sign_negative();
        return Some(Decimal::from_parts(
            product as u32,
            (product >> 32) as u32,
            (product >> 64) as u32,
            negative,
            scale,
        ));
    }
    a.checked_mul(b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// Decimals of every size and scale, and the edges: zero (both signs),
    /// one, the largest mantissa, numbers that differ only in scale.
    fn decimal() -> impl Strategy<Value = Decimal> {
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

    fn same(a: Option<Decimal>, b: Option<Decimal>) -> bool {
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

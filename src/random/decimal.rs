//! The rule that turns an `f64` draw into an exact decimal: 12 significant
//! digits, half to even, on the float's exact binary value.
//!
//! Two routes give the same number. The arithmetic one divides the float's
//! integer mantissa, times a power of two, by a power of ten in `u128`; it
//! covers every draw of ordinary size (a sweep makes millions). Where a number
//! does not fit in `u128`, or the result has more than 28 decimal places, it
//! gives way to the text route: Rust's float formatting, which is exact and
//! platform independent, read back digit by digit.

use rust_decimal::Decimal;

use super::SIGNIFICANT_DIGITS;
use crate::value::POWERS_OF_TEN_WIDE;

/// An `f64` rounded to [`SIGNIFICANT_DIGITS`] significant digits (half to even,
/// on its exact binary value), as an exact decimal; `None` if it is not finite
/// or too large. Values below 10⁻²⁸ round to zero.
pub(crate) fn to_decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some(Decimal::ZERO);
    }
    by_arithmetic(x).or_else(|| by_text(x))
}

/// 10¹¹ and 10¹²: a rounded mantissa of 12 digits lies in `[LOW, HIGH]`.
const LOW: u128 = 100_000_000_000;
const HIGH: u128 = 1_000_000_000_000;

/// The arithmetic route; `None` where it does not apply (the text route then
/// decides, also whether the value is out of range).
fn by_arithmetic(x: f64) -> Option<Decimal> {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        return None; // subnormal
    }
    // |x| = m × 2^e exactly.
    let m = u128::from((bits & ((1u64 << 52) - 1)) | (1u64 << 52));
    let e = biased - 1075;
    // The power of ten of the 12th digit: a guess from the binary exponent
    // (floor((e + 52) × log10 2) − 11, within one), then corrected exactly.
    let mut k = (((e + 52) * 78_913) >> 18) - (SIGNIFICANT_DIGITS as i32 - 1);
    for _ in 0..3 {
        let (num, den) = ratio(m, e, k)?;
        // Draws of ordinary size divide by a power of two only: a shift.
        let (q, r) = if den.is_power_of_two() {
            (num >> den.trailing_zeros(), num & (den - 1))
        } else {
            (num / den, num % den)
        };
        if q < LOW {
            k -= 1;
            continue;
        }
        if q >= HIGH {
            k += 1;
            continue;
        }
        // Half to even: up when the rest is more than half, or exactly half
        // with an odd last digit.
        let rest = den - r;
        let q = if r > rest || (r == rest && q % 2 == 1) { q + 1 } else { q };
        let magnitude = if k < 0 {
            let mut scale = u32::try_from(-k).ok().filter(|s| *s <= 28)?;
            // At most 10¹² (a mantissa of 12 nines rounded up): normalised
            // here, in 64 bits, the trailing zeros taken off.
            let mut q = q as u64;
            while scale > 0 && q.is_multiple_of(10) {
                q /= 10;
                scale -= 1;
            }
            let negative = x.is_sign_negative();
            return Some(Decimal::from_parts(q as u32, (q >> 32) as u32, 0, negative, scale));
        } else {
            let whole = q.checked_mul(*POWERS_OF_TEN_WIDE.get(k as usize)?)?;
            Decimal::try_from_i128_with_scale(i128::try_from(whole).ok()?, 0).ok()?
        };
        let value = if x.is_sign_negative() { -magnitude } else { magnitude };
        return Some(value.normalize());
    }
    None
}

/// `m × 2^e / 10^k` as a numerator and a denominator in `u128`, if they fit.
fn ratio(m: u128, e: i32, k: i32) -> Option<(u128, u128)> {
    let two = |p: i32| if p < 128 { Some(1u128 << p) } else { None };
    let ten = |p: i32| usize::try_from(p).ok().and_then(|p| POWERS_OF_TEN_WIDE.get(p)).copied();
    let mut num = m;
    let mut den = 1u128;
    if e >= 0 {
        num = num.checked_mul(two(e)?)?;
    } else {
        den = two(-e)?;
    }
    if k >= 0 {
        den = den.checked_mul(ten(k)?)?;
    } else {
        num = num.checked_mul(ten(-k)?)?;
    }
    Some((num, den))
}

/// The text route: the float formatted to 12 significant digits (exact, half
/// to even), read back.
fn by_text(x: f64) -> Option<Decimal> {
    // Written into a buffer on the stack, not a `String`.
    let mut buffer = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    std::io::Write::write_fmt(&mut cursor, format_args!("{:.*e}", SIGNIFICANT_DIGITS - 1, x)).ok()?;
    let written = cursor.position() as usize;
    let text = std::str::from_utf8(&buffer[..written]).ok()?;
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let mut m: i128 = 0;
    for digit in mantissa.bytes().filter(u8::is_ascii_digit) {
        m = m.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
    }
    if negative {
        m = -m;
    }
    // value = m × 10^(exponent − 11)
    let power = exponent - (SIGNIFICANT_DIGITS as i32 - 1);
    let value = if power >= 0 {
        let mut v = Decimal::from_i128_with_scale(m, 0);
        for _ in 0..power {
            v = v.checked_mul(Decimal::TEN)?;
        }
        v
    } else {
        let mut scale = (-power) as u32;
        while scale > 28 {
            // Beyond 28 places: divide by ten, half to even.
            let (q, r) = (m / 10, m % 10);
            m = if r.abs() > 5 || (r.abs() == 5 && q % 2 != 0) { q + r.signum() } else { q };
            scale -= 1;
        }
        Decimal::try_from_i128_with_scale(m, scale).ok()?
    };
    Some(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Stream;

    #[test]
    fn floats_become_decimals_of_twelve_significant_digits() {
        assert_eq!(to_decimal(0.1).unwrap().to_string(), "0.1");
        assert_eq!(to_decimal(2.0 / 3.0).unwrap().to_string(), "0.666666666667");
        assert_eq!(to_decimal(-1234567.891234567).unwrap().to_string(), "-1234567.89123");
        assert_eq!(to_decimal(1.5e20).unwrap().to_string(), "150000000000000000000");
        assert_eq!(to_decimal(1.234567890123456e-20).unwrap().to_string(), "0.0000000000000000000123456789");
        assert_eq!(to_decimal(1e-40).unwrap(), Decimal::ZERO);
        assert_eq!(to_decimal(f64::NAN), None);
        assert_eq!(to_decimal(1e30), None);
    }

    /// The two routes agree, value and scale, wherever the arithmetic one
    /// answers: on ties (half to even), at powers of ten, on random bit
    /// patterns of every exponent and on draws of ordinary size.
    #[test]
    fn the_arithmetic_route_gives_what_the_text_route_gives() {
        let same = |x: f64| {
            if let Some(fast) = by_arithmetic(x) {
                let text = by_text(x).unwrap();
                assert_eq!((fast, fast.scale()), (text, text.scale()), "{x:e}");
            }
        };
        let ties = [100_000_000_000.5, 100_000_000_001.5, 1_234_567_890_125.0, 1_234_567_890_135.0, 2.5, 0.5];
        for x in ties {
            same(x);
            same(-x);
        }
        let mut answered = 0;
        for p in -40..=40 {
            for x in
                [10f64.powi(p), 10f64.powi(p) * (1.0 - f64::EPSILON), 10f64.powi(p) * (1.0 + f64::EPSILON)]
            {
                same(x);
                answered += usize::from(by_arithmetic(x).is_some());
            }
        }
        assert!(answered > 100, "the arithmetic route answered {answered} times");
        let mut s = Stream::new(3, 1);
        for _ in 0..200_000 {
            let bits = s.next_u64();
            let x = f64::from_bits(bits);
            if x.is_finite() && x != 0.0 {
                same(x);
            }
            // Any mantissa, with an exponent within 2^±90.
            let scaled = f64::from_bits((bits >> 12) | (1023 << 52)) * 2f64.powi((bits % 181) as i32 - 90);
            same(scaled);
            // Draws near 1, of a few digits and of a whole number of cents.
            let u = s.open01();
            same(u);
            same(libm::exp(u - 0.5));
            same((u * 1e6).round() / 100.0);
        }
    }
}

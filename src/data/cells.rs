//! One cell of a data file read as a literal of the language: `2bn`, `40%`,
//! `$1.50`, `-3`, `2026-06`, `true`, or text.

use rust_decimal::Decimal;

use crate::syntax::{Expr, ExprKind, UnaryOp};
use crate::value::{Date, Type, Value};

/// The type a stored field's values have, read from its default when that is
/// a literal (`capital = 0`, `shocked = false`); `None` when the default is a
/// formula (any literal is then accepted and the checker decides).
pub(crate) fn literal_type(expr: &Expr) -> Option<Type> {
    match &expr.kind {
        ExprKind::Number(_) => Some(Type::Number),
        ExprKind::Unary(UnaryOp::Neg, inner) => literal_type(inner).filter(|t| *t == Type::Number),
        ExprKind::Bool(_) => Some(Type::Bool),
        ExprKind::Date(_) => Some(Type::Date),
        ExprKind::Str(_) => Some(Type::Str),
        _ => None,
    }
}

/// A number literal as the language writes it: `3`, `-1.5`, `1_000`, `$1.50`,
/// `45%`, `1.5bn`, `2tn`, `300k`, `4m`. `None` if `text` is not one (or is out
/// of range).
pub(crate) fn number(text: &str) -> Option<Decimal> {
    plain_number(text).or_else(|| general_number(text))
}

/// [`number`] for any literal: `_` and `$`, a space after `-`, 28 digits.
fn general_number(text: &str) -> Option<Decimal> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    if !is_number_literal(body) {
        return None;
    }
    let n = crate::syntax::parse_number_literal(body)?;
    Some(if negative { -n } else { n })
}

/// The usual cell, read without building a string or dividing: an optional
/// `-`, at most 18 digits with an optional fraction, and an optional `k`, `m`,
/// `bn` or `tn` (or a whole `%`). The value is the one [`number`]'s general path gives,
/// to the scale (`tests` below compare the two); `None` for anything else.
fn plain_number(text: &str) -> Option<Decimal> {
    let b = text.as_bytes();
    let negative = b.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut scale = 0;
    let mut fraction = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
                scale += u32::from(fraction);
                if digits > 18 {
                    return None;
                }
            }
            b'.' if !fraction && digits > 0 && b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                fraction = true
            }
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let (power, percent) = match &text[i..] {
        "" => (0, false),
        "%" => (0, true),
        "k" => (3, false),
        "m" => (6, false),
        "bn" => (9, false),
        "tn" => (12, false),
        _ => return None,
    };
    // A share is divided by 100 by the general path, whose quotient's scale
    // depends on the digits: only whole percentages not a multiple of 100
    // (`35%`, the usual recovery) are read here, as `0.35`.
    if percent && (scale > 0 || mantissa.is_multiple_of(100)) {
        return None;
    }
    let value = i128::from(mantissa) * 10i128.pow(power);
    if value >= 1i128 << 96 {
        return None;
    }
    // A zero divided or multiplied is zero itself (scale 0), as
    // `checked_div` and `checked_mul` give it.
    let n = if value == 0 && (percent || power > 0) {
        Decimal::ZERO
    } else {
        Decimal::from_i128_with_scale(value, scale + if percent { 2 } else { 0 })
    };
    Some(if negative { -n } else { n })
}

/// The shape of the grammar's `number`: `$`? digits (`_` allowed after the
/// first), an optional fraction, an optional `%`, `k`, `m`, `bn` or `tn`.
fn is_number_literal(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'$'));
    let digits = |i: &mut usize| {
        if !b.get(*i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while b.get(*i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            *i += 1;
        }
        true
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    matches!(&text[i..], "" | "%" | "k" | "m" | "bn" | "tn")
}

/// `true` or `false` (any case: spreadsheets write `TRUE`).
pub(crate) fn boolean(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// What a cell should hold, for a diagnostic.
pub(crate) fn expected(ty: Type) -> &'static str {
    match ty {
        Type::Number => "a number such as `2bn`, `40%`, `$1.50` or `-3`",
        Type::Bool => "`true` or `false`",
        Type::Date => "a date such as `2026-06` or `2026-06-30`",
        _ => "a value",
    }
}

/// The cell as a value of type `ty` (any literal when `None`: a number, a
/// truth value, a date, else text), or `None` if it is not one.
pub(crate) fn value(text: &str, ty: Option<Type>) -> Option<Value> {
    Some(match ty {
        Some(Type::Number) => Value::Number(number(text)?),
        Some(Type::Bool) => Value::Bool(boolean(text)?),
        Some(Type::Date) => Value::Date(Date::parse(text)?),
        Some(Type::Str) => Value::Str(text.into()),
        Some(_) => return None,
        None => {
            if let Some(n) = number(text) {
                Value::Number(n)
            } else if let Some(b) = boolean(text) {
                Value::Bool(b)
            } else if let Some(d) = Date::parse(text) {
                Value::Date(d)
            } else {
                Value::Str(text.into())
            }
        }
    })
}

/// The type of a cell's value (one of [`value`]'s).
pub(crate) fn type_of(value: &Value) -> Type {
    match value {
        Value::Number(_) => Type::Number,
        Value::Bool(_) => Type::Bool,
        Value::Date(_) => Type::Date,
        _ => Type::Str,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_the_language_writes_them() {
        let n = |t: &str| number(t).map(|d| d.to_string());
        assert_eq!(n("2bn").as_deref(), Some("2000000000"));
        assert_eq!(n("40%").as_deref(), Some("0.40"));
        assert_eq!(n("$1.50").as_deref(), Some("1.50"));
        assert_eq!(n("-3").as_deref(), Some("-3"));
        assert_eq!(n("1_000").as_deref(), Some("1000"));
        for bad in ["", "1.", ".5", "1e5", "abc", "1,000", "2 bn", "$", "--1", "1x", "1.2.3", "-", "1k%"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_plain_path_gives_the_general_paths_value_and_scale() {
        let shown = |n: Option<Decimal>| n.map(|d| (d.to_string(), d.scale()));
        let mut texts = Vec::new();
        let mantissas = (0..=1_200u64).chain([99_999, 123_456_789, 999_999_999_999_999_999]);
        for m in mantissas {
            for body in
                [format!("{m}"), format!("{m}.5"), format!("{m}.25"), format!("{m}.000"), format!("0{m}")]
            {
                for suffix in ["", "%", "k", "m", "bn", "tn"] {
                    texts.push(format!("{body}{suffix}"));
                    texts.push(format!("-{body}{suffix}"));
                }
            }
        }
        texts.extend([
            "79228162514264337593543950335".into(),
            "79228162514tn".into(),
            "0.0000000000000001%".into(),
        ]);
        let mut plain = 0;
        for text in &texts {
            plain += usize::from(plain_number(text).is_some());
            if plain_number(text).is_some() {
                assert_eq!(shown(plain_number(text)), shown(general_number(text)), "{text}");
            }
            assert_eq!(shown(number(text)), shown(general_number(text)), "{text}");
        }
        assert!(plain > texts.len() * 4 / 5, "the plain path reads most of them: {plain} of {}", texts.len());
    }
}

//! One cell of a data file read as a literal of the language: `2bn`, `40%`,
//! `$1.50`, `-3`, `2026-06`, `true`, or text.

use rust_decimal::Decimal;

use crate::source::Span;
use crate::syntax::{Expr, ExprKind, Template, TemplatePart, UnaryOp};
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

/// The cell as a literal expression of type `ty` (any literal when `None`),
/// or `None` if it is not one.
pub(crate) fn literal(text: &str, ty: Option<Type>) -> Option<Expr> {
    let kind = match ty {
        Some(Type::Number) => ExprKind::Number(number(text)?),
        Some(Type::Bool) => ExprKind::Bool(boolean(text)?),
        Some(Type::Date) => ExprKind::Date(Date::parse(text)?),
        Some(Type::Str) => string(text),
        Some(_) => return None,
        None => {
            if let Some(n) = number(text) {
                ExprKind::Number(n)
            } else if let Some(b) = boolean(text) {
                ExprKind::Bool(b)
            } else if let Some(d) = Date::parse(text) {
                ExprKind::Date(d)
            } else {
                string(text)
            }
        }
    };
    Some(Expr { kind, span: Span::default() })
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

fn string(text: &str) -> ExprKind {
    ExprKind::Str(Template { parts: vec![TemplatePart::Text(text.to_string())], span: Span::default() })
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
        for bad in ["", "1.", ".5", "1e5", "abc", "1,000", "2 bn", "$", "--1", "1x"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }
}

//! Expressions: pest pairs → `Expr` with the Pratt parser for precedence and
//! the expression depth cap, calls and aggregates, and number literals.

use std::sync::LazyLock;

use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::*;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or_op, Assoc::Left))
        .op(Op::infix(Rule::and_op, Assoc::Left))
        .op(Op::prefix(Rule::not_op))
        .op(Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left)
            | Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::infix(Rule::pow, Assoc::Right))
        .op(Op::postfix(Rule::field_access))
});

/// An `expr` pair → expression, with operator precedence from the Pratt parser.
pub(in crate::syntax) fn build_expr(pair: Pair<Rule>, cx: Cx) -> Built<Expr> {
    let at = span(&pair, cx);
    if pair.as_rule() != Rule::expr {
        return Err(missing("an expression", at));
    }
    build_operators(pair.into_inner(), cx).map(|(expr, _)| expr)
}

pub(super) type Sized_ = (Expr, usize);

pub(super) fn deeper(depth: usize, at: Span, cx: Cx) -> Built<usize> {
    // A leaf is one level deep; each operation adds one.
    if depth.saturating_sub(1) > cx.max_depth {
        Err(Problem::error(
            codes::syntax::too_deep,
            format!(
                "this expression is more than {} operation{} deep",
                cx.max_depth,
                if cx.max_depth == 1 { "" } else { "s" }
            ),
        )
        .label(at, "one operation too many")
        .help("split it into several `let` declarations"))
    } else {
        Ok(depth)
    }
}

pub(super) fn build_operators(pairs: Pairs<Rule>, cx: Cx) -> Built<Sized_> {
    PRATT
        .map_primary(|primary| build_primary(primary, cx))
        .map_prefix(|op, operand| {
            let (operand, depth) = operand?;
            let op_span = span(&op, cx);
            let at = op_span.to(operand.span);
            let op = if op.as_rule() == Rule::neg { UnaryOp::Neg } else { UnaryOp::Not };
            let depth = deeper(depth + 1, op_span, cx)?;
            Ok((Expr { kind: ExprKind::Unary(op, Box::new(operand)), span: at }, depth))
        })
        .map_postfix(|operand, op| {
            let (operand, depth) = operand?;
            let op_span = span(&op, cx);
            let at = operand.span.to(op_span);
            let field_pair = op.into_inner().next().ok_or_else(|| missing("a field", at))?;
            let field = ident(field_pair, cx);
            let depth = deeper(depth + 1, op_span, cx)?;
            Ok((Expr { kind: ExprKind::Field(Box::new(operand), field), span: at }, depth))
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, left) = lhs?;
            let (rhs, right) = rhs?;
            let at = lhs.span.to(rhs.span);
            let op_span = span(&op, cx);
            let op = match op.as_rule() {
                Rule::or_op => BinaryOp::Or,
                Rule::and_op => BinaryOp::And,
                Rule::lt => BinaryOp::Lt,
                Rule::le => BinaryOp::Le,
                Rule::gt => BinaryOp::Gt,
                Rule::ge => BinaryOp::Ge,
                Rule::eq => BinaryOp::Eq,
                Rule::ne => BinaryOp::Ne,
                Rule::add => BinaryOp::Add,
                Rule::sub => BinaryOp::Sub,
                Rule::mul => BinaryOp::Mul,
                Rule::pow => BinaryOp::Pow,
                _ => BinaryOp::Div,
            };
            let depth = deeper(left.max(right) + 1, op_span, cx)?;
            Ok((Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span: at }, depth))
        })
        .parse(pairs)
}

pub(super) fn build_primary(pair: Pair<Rule>, cx: Cx) -> Built<Sized_> {
    let at = span(&pair, cx);
    let leaf = |kind| Ok((Expr { kind, span: at }, 1));
    match pair.as_rule() {
        Rule::paren => {
            let inner = pair.into_inner().next().ok_or_else(|| missing("an expression", at))?;
            let (mut expr, depth) = build_operators(inner.into_inner(), cx)?;
            expr.span = at;
            Ok((expr, depth))
        }
        Rule::number => leaf(ExprKind::Number(parse_number(pair.as_str(), at)?)),
        Rule::date => leaf(ExprKind::Date(parse_date(pair.as_str(), at)?)),
        Rule::string => leaf(ExprKind::Str(build_template(pair, cx)?)),
        Rule::boolean => leaf(ExprKind::Bool(pair.as_str() == "true")),
        Rule::self_ref => leaf(ExprKind::SelfRef),
        Rule::name => leaf(ExprKind::Name(unquote(pair.as_str()).to_string())),
        Rule::call => build_call(pair, cx),
        Rule::if_expr => {
            let mut c = Cursor::new(pair, cx);
            let (cond, d1) = build_operators(c.next("condition")?.into_inner(), cx)?;
            let (then, d2) = build_operators(c.next("then branch")?.into_inner(), cx)?;
            let (otherwise, d3) = build_operators(c.next("else branch")?.into_inner(), cx)?;
            let depth = deeper(d1.max(d2).max(d3) + 1, at, cx)?;
            let kind = ExprKind::If(Box::new(IfExpr { cond, then, otherwise }));
            Ok((Expr { kind, span: at }, depth))
        }
        _ => Err(missing("an expression", at)),
    }
}

pub(super) fn build_call(pair: Pair<Rule>, cx: Cx) -> Built<Sized_> {
    let at = span(&pair, cx);
    let mut c = Cursor::new(pair, cx);
    let func = ident(c.next("function name")?, cx);
    let mut args = Vec::new();
    let mut depth = 1;
    let mut comprehension = None;
    for part in c.rest() {
        if part.as_rule() == Rule::comprehension {
            comprehension = Some(part);
        } else {
            let (arg, d) = build_operators(part.into_inner(), cx)?;
            depth = depth.max(d + 1);
            args.push(arg);
        }
    }
    let depth = deeper(depth, func.span, cx)?;
    let Some(comp) = comprehension else {
        return Ok((Expr { kind: ExprKind::Call(Box::new(func), args), span: at }, depth));
    };
    let body = args.pop().ok_or_else(|| missing("an expression", at))?;
    let mut q = Cursor::new(comp, cx);
    let binder = ident(q.next("binder")?, cx);
    let (source, d1) = build_operators(q.next("source")?.into_inner(), cx)?;
    let filter = q.rest().next().map(|p| build_operators(p.into_inner(), cx)).transpose()?;
    let d2 = filter.as_ref().map_or(0, |(_, d)| *d);
    let depth = deeper(depth.max(d1 + 1).max(d2 + 1), func.span, cx)?;
    let aggregate = Aggregate { func, body, binder, source, filter: filter.map(|(f, _)| f) };
    Ok((Expr { kind: ExprKind::Aggregate(Box::new(aggregate)), span: at }, depth))
}

/// `1_000.5bn`, `45%`, `$1.50` → exact decimal.
pub(in crate::syntax) fn parse_number(text: &str, at: Span) -> Built<Decimal> {
    let cleaned: String;
    let digits = if text.contains(['_', '$']) {
        cleaned = text.chars().filter(|c| *c != '_' && *c != '$').collect();
        cleaned.as_str()
    } else {
        text
    };
    let (mantissa, scale) = if let Some(m) = digits.strip_suffix('%') {
        (m, Scale::Percent)
    } else if let Some(m) = digits.strip_suffix("bn") {
        (m, Scale::Times(9))
    } else if let Some(m) = digits.strip_suffix("tn") {
        (m, Scale::Times(12))
    } else if let Some(m) = digits.strip_suffix('k') {
        (m, Scale::Times(3))
    } else if let Some(m) = digits.strip_suffix('m') {
        (m, Scale::Times(6))
    } else {
        (digits, Scale::Times(0))
    };
    let too_big = || {
        Problem::error(codes::syntax::number_out_of_range, format!("`{text}` is out of range"))
            .label(at, "too large or too precise for an exact decimal")
            .help("numbers have at most 28 significant digits and stay below 7.9e28")
    };
    let value = Decimal::from_str_exact(mantissa).map_err(|_| too_big())?;
    match scale {
        Scale::Percent => value.checked_div(Decimal::ONE_HUNDRED).ok_or_else(too_big),
        Scale::Times(0) => Ok(value),
        Scale::Times(power) => {
            // 10^power with scale 0, as `Decimal::from_str("1000...")` gives it.
            let factor = Decimal::new(10i64.pow(power), 0);
            value.checked_mul(factor).ok_or_else(too_big)
        }
    }
}

enum Scale {
    Percent,
    Times(u32),
}

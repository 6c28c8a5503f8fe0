//! Expressions of the untyped tree: `Expr`, its kinds and operators.

use rust_decimal::Decimal;

use super::{Ident, Template};
use crate::source::Span;
use crate::value::Date;

/// An expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// See [`Expr`].
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A number literal (suffixes and `%` applied).
    Number(Decimal),
    /// `true` / `false`
    Bool(bool),
    /// A date literal.
    Date(Date),
    /// A string literal.
    Str(Template),
    /// A bare name.
    Name(String),
    /// `self` inside a kind.
    SelfRef,
    /// `expr.field`
    Field(Box<Expr>, Ident),
    /// `-x`, `not x`
    Unary(UnaryOp, Box<Expr>),
    /// `a + b`, `a and b`, ...
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `f(a, b)` (the name boxed: it would make every expression larger)
    Call(Box<Ident>, Vec<Expr>),
    /// `f(body for x in source where filter)`
    Aggregate(Box<Aggregate>),
    /// `if COND then A else B`
    If(Box<IfExpr>),
}

/// `if COND then A else B` (`else if` is an `if` in the else branch).
#[derive(Clone, Debug)]
pub struct IfExpr {
    /// Decides which branch is evaluated.
    pub cond: Expr,
    /// The value when it holds.
    pub then: Expr,
    /// The value when it does not.
    pub otherwise: Expr,
}

/// `f(body for x in source where filter)`
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// `sum`, `count`, ...
    pub func: Ident,
    /// Evaluated per element.
    pub body: Expr,
    /// The element variable.
    pub binder: Ident,
    /// A kind name or `exposures_of(e)`.
    pub source: Expr,
    /// Keeps only elements where it holds.
    pub filter: Option<Expr>,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `not`
    Not,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^` (right-associative, tighter than unary minus)
    Pow,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }
}

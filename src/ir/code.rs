//! The compiled form of the expressions a step evaluates again and again:
//! rule conditions and `where` filters, lets, derived fields and the values
//! of effects.
//!
//! The checker's tree ([`Node`]) stays what `explain`, the diagnostics, the
//! provenance walkers and `Run::evaluate` read; it is also what every
//! expression not compiled here is evaluated from. The compiled form is the
//! same tree lowered once, when the program is assembled, into nodes that
//! evaluate to a [`V`]: a `Copy` value (no clone, no drop), through two small
//! functions (`eval/compiled.rs`) instead of the tree walk's one large one. Each
//! compiled node stands for exactly one node of the tree (a field of a local
//! for two: the field and the local) and does what the tree walk does at that
//! node, in the same order: it spends one unit of fuel before its operands,
//! records the same reads, and faults with the same diagnostic at the same
//! span. A node of a shape not compiled (an aggregate, a template, a host
//! call, a model, ...) is kept as a tree and evaluated by the tree walk, which
//! spends its own fuel. So a run spends the same fuel, reads the same cells
//! and fails at the same place whichever form evaluates an expression.
//!
//! Text never enters the compiled form: a leaf that may be text is left to
//! the tree, and an `==` is compiled only when both sides are of a type known
//! not to be text.

mod lower;

use rust_decimal::Decimal;

use super::{FieldRef, Node};
use crate::builtins::Function;
use crate::random::Distribution;
use crate::source::Span;
use crate::syntax::BinaryOp;
use crate::value::{Date, Value};

/// The compiled expressions of a program (see the module's documentation);
/// `None` where an expression is evaluated from its tree.
#[derive(Debug, Default)]
pub(crate) struct Code {
    /// Each let.
    pub lets: Vec<Option<Formula>>,
    /// Each kind's derived fields, by their index among the kind's derived fields
    /// (`None` for a `solve` field: its system computes it).
    pub fields: Vec<Vec<Option<Formula>>>,
    /// Each rule's `where` filter.
    pub filters: Vec<Option<Compiled>>,
    /// Each rule's `when` or `while` condition.
    pub conditions: Vec<Option<Compiled>>,
    /// Each rule's effects (not those inside an `after`): the value of an
    /// assignment or of an effect's `let`.
    pub effects: Vec<Vec<Option<Compiled>>>,
    /// Each `assert`'s condition (checked every step).
    pub asserts: Vec<Option<Compiled>>,
    /// Each `expect`'s condition.
    pub expects: Vec<Option<Compiled>>,
    /// How many `Op::Fixed` nodes there are (their slots are `0..fixed`).
    pub fixed: u32,
}

/// The compiled formula of a let or of a derived field, with the number of
/// locals its frame needs (the entity it belongs to is the first).
#[derive(Clone, Debug)]
pub(crate) struct Formula {
    pub code: Compiled,
    pub locals: u16,
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub op: Op,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Const(V),
    Param(u32),
    Var(u32),
    Let(u32),
    Series(u32),
    Step,
    Date,
    Local(u16),
    Field {
        object: Box<Compiled>,
        field: FieldRef,
    },
    /// A field of the entity in a local (`l.cash`): two nodes of the tree,
    /// the field and the local at `object`.
    LocalField {
        local: u16,
        field: FieldRef,
        object: Span,
    },
    Losses(Box<Compiled>),
    Neg(Box<Compiled>),
    Not(Box<Compiled>),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
    Binary(BinaryOp, Box<Compiled>, Box<Compiled>),
    Call(&'static Function, Vec<Compiled>),
    Draw(Distribution, Vec<Compiled>),
    If(Box<[Compiled; 3]>),
    /// An expression of params and literals only, with an operator in it
    /// (`1 - monthly_deflation`): the same value all through a run. It stands
    /// for no node of the tree itself: its value and the fuel it spent are
    /// kept in slot `slot` of the run the first time it is evaluated, and
    /// later given again, with that fuel spent, while the fuel left covers it
    /// (else `inner` is evaluated, and runs out of fuel where it would).
    Fixed {
        slot: u32,
        inner: Box<Compiled>,
    },
    /// An operator whose operands are both leaves (`h100_price < loss_line`,
    /// `l.cash < 0`): a `Binary` read without a dispatch per operand.
    Leaves(Box<Leaves>),
    /// Evaluated by the tree walk (which spends its own fuel).
    Tree(Box<Node>),
}

/// A binary operator on two leaves (see `Op::Leaves`): the nodes of the tree
/// are the operator's and its operands' (the field and the local of a field
/// of a local).
#[derive(Clone, Debug)]
pub(crate) struct Leaves {
    pub op: BinaryOp,
    pub lhs: Leaf,
    pub rhs: Leaf,
    pub lhs_span: Span,
    pub rhs_span: Span,
    /// The fuel the three or more nodes spend.
    pub fuel: u64,
}

/// An operand that reads a value and nothing else: what `Evaluator::operand`
/// reads in place, less a field that is derived (its computation spends fuel).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Leaf {
    Const(V),
    Param(u32),
    Var(u32),
    Series(u32),
    /// A stored field (or `defaulted`, `defaulted_at`) of the entity in a local.
    Field {
        local: u16,
        field: FieldRef,
        object: Span,
    },
}

impl Leaf {
    /// The leaf `c` is, if it is one.
    pub fn of(c: &Compiled) -> Option<Leaf> {
        Some(match &c.op {
            Op::Const(v) => Leaf::Const(*v),
            Op::Param(p) => Leaf::Param(*p),
            Op::Var(v) => Leaf::Var(*v),
            Op::Series(s) => Leaf::Series(*s),
            Op::LocalField { local, field, object } if !matches!(field, FieldRef::Derived(_)) => {
                Leaf::Field { local: *local, field: *field, object: *object }
            }
            _ => return None,
        })
    }

    /// The units of fuel it spends: one for each node of the tree it stands for.
    pub fn fuel(self) -> u64 {
        match self {
            Leaf::Field { .. } => 2,
            _ => 1,
        }
    }
}

/// A value of a compiled expression: a [`Value`] that is not text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum V {
    Num(Decimal),
    Bool(bool),
    Date(Date),
    Entity(u32),
    Exposure(u32),
    None,
    /// A text read by a tree node where the types allow none (it faults as
    /// the tree walk does with a value of the wrong type).
    Text,
}

impl V {
    #[inline]
    pub fn of(value: &Value) -> V {
        match value {
            Value::Number(n) => V::Num(*n),
            Value::Bool(b) => V::Bool(*b),
            Value::Date(d) => V::Date(*d),
            Value::Entity(e) => V::Entity(*e),
            Value::Exposure(x) => V::Exposure(*x),
            Value::None => V::None,
            Value::Str(_) => V::Text,
        }
    }

    /// The value; a root is never text (see `code/lower.rs`).
    #[inline]
    pub fn value(self) -> Value {
        match self {
            V::Num(n) => Value::Number(n),
            V::Bool(b) => Value::Bool(b),
            V::Date(d) => Value::Date(d),
            V::Entity(e) => Value::Entity(e),
            V::Exposure(x) => Value::Exposure(x),
            V::None | V::Text => Value::None,
        }
    }
}

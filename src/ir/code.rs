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

/// A value of a compiled expression: a [`Value`] that is not text, in two
/// words that move in two registers, not split and packed again at every
/// node.
///
/// The layout, `head` then `low` in memory: the flags' low byte (byte 0 on a
/// little-endian machine) is the kind, and every byte a kind does not use is
/// zero. A number's 16 bytes are its
/// `Decimal`'s (`repr(C)` with the `bytemuck` feature: the flags, whose
/// bytes 0 and 1 a decimal never uses, so `Kind::Num` is 0, and whose bytes
/// 2 and 3 are the scale and the sign bit; the mantissa's high 32 bits; its
/// low 64 bits in `low`), so that converting between the two moves two
/// words. Any other kind keeps its payload in `low`.
#[derive(Clone, Copy)]
pub(crate) struct V {
    head: u64,
    low: u64,
}

/// Where the kind is in `head`'s value: the low byte of a decimal's flags,
/// which come first in memory, so the low or the high half of `head` as the
/// machine orders bytes.
const KIND_SHIFT: u32 = if cfg!(target_endian = "little") { 0 } else { 32 };

/// What a [`V`] holds (the low byte of its flags).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Num = 0,
    Bool = 1,
    Date = 2,
    Entity = 3,
    Exposure = 4,
    None = 5,
    /// A text read by a tree node where the types allow none (it faults as
    /// the tree walk does with a value of the wrong type).
    Text = 6,
    /// No value but a fault, which the evaluator keeps aside while the nodes
    /// hand this back in place of a `Result` (see `eval/compiled.rs`).
    Fault = 7,
}

/// A [`V`] unpacked, to compare and show (the evaluator reads a `V` with
/// `V::as_num` and the like).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    Num(Decimal),
    Bool(bool),
    Date(Date),
    Entity(u32),
    Exposure(u32),
    None,
    Text,
    Fault,
}

impl V {
    /// No value.
    pub const NONE: V = V::payload(Kind::None, 0);
    /// A text (see `Kind::Text`).
    pub const TEXT: V = V::payload(Kind::Text, 0);
    /// A fault (see `Kind::Fault`).
    pub const FAULT: V = V::payload(Kind::Fault, 0);

    #[inline(always)]
    const fn payload(kind: Kind, low: u64) -> V {
        V { head: (kind as u64) << KIND_SHIFT, low }
    }

    #[inline(always)]
    fn is(self, kind: Kind) -> bool {
        self.kind_byte() == kind as u8
    }

    #[inline(always)]
    fn kind_byte(self) -> u8 {
        (self.head >> KIND_SHIFT) as u8
    }

    #[inline(always)]
    pub fn num(n: Decimal) -> V {
        let [head, low]: [u64; 2] = bytemuck::cast(n);
        // Bytes 0 and 1 of a decimal's flags are unused: the kind is `Num`.
        V { head: head & !(0xffff << KIND_SHIFT), low }
    }

    #[inline(always)]
    pub fn bool(b: bool) -> V {
        V::payload(Kind::Bool, b as u64)
    }

    #[inline(always)]
    pub fn date(d: Date) -> V {
        V::payload(Kind::Date, d.to_bits())
    }

    #[inline(always)]
    pub fn entity(e: u32) -> V {
        V::payload(Kind::Entity, e as u64)
    }

    #[inline(always)]
    pub fn exposure(x: u32) -> V {
        V::payload(Kind::Exposure, x as u64)
    }

    /// The number it holds, if it is one: its two words as they are.
    #[inline(always)]
    pub fn as_num(self) -> Option<Decimal> {
        if self.is(Kind::Num) { Some(bytemuck::cast([self.head, self.low])) } else { None }
    }

    /// The truth it holds, if it is one.
    #[inline(always)]
    pub fn as_bool(self) -> Option<bool> {
        if self.is(Kind::Bool) { Some(self.low != 0) } else { None }
    }

    /// The date it holds, if it is one.
    #[inline(always)]
    pub fn as_date(self) -> Option<Date> {
        if self.is(Kind::Date) { Some(Date::from_bits(self.low)) } else { None }
    }

    /// The entity it holds, if it is one.
    #[inline(always)]
    pub fn as_entity(self) -> Option<u32> {
        if self.is(Kind::Entity) { Some(self.low as u32) } else { None }
    }

    /// Whether it is no value.
    #[inline(always)]
    pub fn is_none(self) -> bool {
        self.is(Kind::None)
    }

    /// Whether it is a fault (see `Kind::Fault`).
    #[inline(always)]
    pub fn is_fault(self) -> bool {
        self.is(Kind::Fault)
    }

    /// What it holds.
    #[inline]
    fn unpack(self) -> Val {
        match self.kind_byte() {
            0 => Val::Num(bytemuck::cast([self.head, self.low])),
            1 => Val::Bool(self.low != 0),
            2 => Val::Date(Date::from_bits(self.low)),
            3 => Val::Entity(self.low as u32),
            4 => Val::Exposure(self.low as u32),
            5 => Val::None,
            6 => Val::Text,
            _ => Val::Fault,
        }
    }

    #[inline(always)]
    pub fn of(value: &Value) -> V {
        match value {
            Value::Number(n) => V::num(*n),
            Value::Bool(b) => V::bool(*b),
            Value::Date(d) => V::date(*d),
            Value::Entity(e) => V::entity(*e),
            Value::Exposure(x) => V::exposure(*x),
            Value::None => V::NONE,
            Value::Str(_) => V::TEXT,
        }
    }

    /// The value; a root is never text (see `code/lower.rs`), and a fault is
    /// taken at the boundary before its value is asked for.
    #[inline]
    pub fn value(self) -> Value {
        match self.unpack() {
            Val::Num(n) => Value::Number(n),
            Val::Bool(b) => Value::Bool(b),
            Val::Date(d) => Value::Date(d),
            Val::Entity(e) => Value::Entity(e),
            Val::Exposure(x) => Value::Exposure(x),
            Val::None | Val::Text | Val::Fault => Value::None,
        }
    }
}

/// Equal as the values they hold are (`1.0 == 1`, a month and its first day).
impl PartialEq for V {
    fn eq(&self, other: &V) -> bool {
        self.unpack() == other.unpack()
    }
}

impl std::fmt::Debug for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.unpack().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::V;
    use crate::value::{Date, Value};

    /// A number's two words are its decimal's, whatever its sign, scale and
    /// mantissa, and no other kind reads as a number.
    #[test]
    fn a_number_goes_in_and_out_whole() {
        let largest = Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, true, 28);
        for text in ["0", "-0.000", "1", "-1.5", "2160000000", "0.0000000000000000000000000001"] {
            let d: Decimal = text.parse().expect("a decimal");
            let v = V::num(d);
            assert_eq!(v.as_num().map(|n| n.serialize()), Some(d.serialize()), "{text}");
            assert!(!v.is_none() && !v.is_fault() && v.as_bool().is_none(), "{text}");
        }
        let v = V::num(largest);
        assert_eq!(v.as_num().map(|n| n.serialize()), Some(largest.serialize()));
        for other in [V::bool(true), V::entity(u32::MAX), V::exposure(7), V::NONE, V::TEXT, V::FAULT] {
            assert_eq!(other.as_num(), None, "{other:?}");
        }
        assert_eq!(V::of(&Value::Bool(false)).as_bool(), Some(false));
        assert_eq!(V::entity(u32::MAX).as_entity(), Some(u32::MAX));
        let date = Date::parse("2028-06");
        assert_eq!(date.map(|d| V::date(d).as_date()), date.map(Some));
        assert!(V::NONE.is_none() && V::FAULT.is_fault() && !V::TEXT.is_none());
    }
}

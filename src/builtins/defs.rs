//! The shape of a row of the built-in table: [`BuiltinDef`], the forms a
//! built-in takes (`Function`, `Aggregate`, `Special`), how the sign analysis
//! reads it (`Direction`, `RangeRule`), and where it may be called (`Place`,
//! `Places`).

use rust_decimal::Decimal;

use crate::codes;
use crate::value::Type;

/// A built-in function: one row of [`BUILTINS`](super::BUILTINS).
#[derive(Debug)]
pub struct BuiltinDef {
    /// The name it is called by.
    pub name: &'static str,
    /// How it is used, in a line: the help of an `arity` diagnostic.
    pub usage: &'static str,
    /// An expression that calls it in [`EXAMPLE_WORLD`](super::EXAMPLE_WORLD),
    /// and that expression's value.
    pub example: (&'static str, &'static str),
    /// Where in a script it may be called.
    pub places: Places,
    pub(crate) form: Form,
}

/// How a built-in is called.
#[derive(Debug)]
pub(crate) enum Form {
    /// A function of values: `abs(x)`.
    Function(Function),
    /// A function of values, or an aggregate: `max(a, b)`, `max(l.ltv for l in Lessor)`.
    FunctionOrAggregate(Function, Aggregate),
    /// Only an aggregate: `sum(l.cash for l in Lessor)`.
    Aggregate(Aggregate),
    /// A form the checker lowers by hand (`check/calls.rs`).
    Special(Special),
}

/// A function of values: its arity, types, evaluation and how the sign analysis reads it.
#[derive(Debug)]
pub(crate) struct Function {
    /// The fewest arguments.
    pub least: usize,
    /// The most arguments (`None`: any number).
    pub most: Option<usize>,
    /// The type of every argument.
    pub args: Type,
    /// The type of the result.
    pub result: Type,
    pub compute: Compute,
    pub direction: Direction,
    pub range: RangeRule,
}

/// How a function of values is evaluated.
#[derive(Debug)]
pub(crate) enum Compute {
    /// From the values of its arguments alone.
    Pure(fn(&[Decimal]) -> Result<Decimal, ArgumentError>),
    /// The smallest of its arguments, the first of equal ones (`min`):
    /// compared by the evaluator (`eval/calls.rs`) as it compares numbers,
    /// with no array of the arguments' values.
    Least,
    /// The largest of its arguments, the last of equal ones (`max`), as `Least`.
    Greatest,
}

/// An aggregate over the entities of a kind or a list of exposures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Count,
    Any,
    All,
    Mean,
    Min,
    Max,
}

/// The built-ins the checker lowers by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    /// `exposure_losses(e)`: what `e` has lost to its defaulted debtors.
    ExposureLosses,
    /// `exposures_of(e)`, `exposures_to(e)`: lists of exposures, only aggregated.
    ExposureList,
    /// A result of a standard model (`check/models.rs`).
    Model(ModelOutput),
}

/// What a built-in reads of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelOutput {
    /// `clearing_payment(e)`: what `e` pays in the clearing, in all.
    Payment,
    /// `clearing_defaulted(e)`: whether `e` pays less than it owes.
    Defaulted,
    /// `clearing_round(e)`: the round of the fictitious-default algorithm in which `e` defaulted.
    Round,
    /// `clearing_shortfall(e)`: what `e` lacked when it was found to default.
    Shortfall,
    /// `distress(e)`: `e`'s final DebtRank distress.
    Distress,
    /// `debt_rank(Kind)`: the value-weighted DebtRank of the shock.
    DebtRank,
}

impl ModelOutput {
    /// True for the outputs of a clearing, false for DebtRank's.
    pub fn of_clearing(self) -> bool {
        matches!(
            self,
            ModelOutput::Payment | ModelOutput::Defaulted | ModelOutput::Round | ModelOutput::Shortfall
        )
    }
}

/// How a function's result moves when its arguments increase (for the signs
/// of feedback loops; see `loops/signs.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Never decreases when any argument increases.
    Increasing,
    /// Never decreases when the first argument increases; the others (such as
    /// decimal places) move it in no known direction.
    FirstIncreasing,
    /// Like `abs`: increases with a positive argument, decreases with a negative one.
    Magnitude,
}

/// The values a function can take, from the ranges of its arguments (for the
/// signs of feedback loops; see `loops/range.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeRule {
    /// The smallest of the arguments.
    Min,
    /// The largest of the arguments.
    Max,
    /// The first argument held between the second and the third.
    Clamp,
    /// The absolute value of the first argument.
    Abs,
    /// The first argument rounded down.
    Floor,
    /// The first argument rounded up.
    Ceil,
    /// The first argument rounded either way.
    Outward,
    /// Always between these two values.
    Between(Decimal, Decimal),
    /// Any value.
    Any,
}

/// Why a function of values refused its arguments: a run-time error at the
/// call, or at one argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArgumentError {
    pub code: &'static str,
    /// The argument at fault (`None`: the whole call).
    pub argument: Option<usize>,
    pub message: String,
    pub label: &'static str,
}

impl ArgumentError {
    pub(super) fn bad(argument: Option<usize>, message: String, label: &'static str) -> ArgumentError {
        ArgumentError { code: codes::run::bad_argument, argument, message, label }
    }
}

/// Where in a script an expression stands, for [`BuiltinDef::places`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The value of a `param`.
    Param,
    /// An initial value: of a `var`, or of a stored field (in a kind or an entity).
    Initial,
    /// Fixed before the run starts: a series point, an exposure's amount or recovery.
    Constant,
    /// A derived value: a `let`, or a field formula of a kind.
    Formula,
    /// A rule's condition: `when`, `while`, `where`.
    Condition,
    /// An effect: the value assigned, the entity defaulted, an `after` delay, an
    /// `emit` or `stop` message.
    Effect,
    /// An `expect` or `assert`.
    Check,
    /// An expression evaluated on a running program (`Run::evaluate`, the REPL).
    Query,
}

pub(super) const ALL_PLACES: [Place; 8] = [
    Place::Param,
    Place::Initial,
    Place::Constant,
    Place::Formula,
    Place::Condition,
    Place::Effect,
    Place::Check,
    Place::Query,
];

impl Place {
    /// The place in words: "a rule's condition".
    pub fn describe(self) -> &'static str {
        match self {
            Place::Param => "a param's value",
            Place::Initial => "an initial value",
            Place::Constant => "a series point or an exposure",
            Place::Formula => "a derived value",
            Place::Condition => "a rule's condition",
            Place::Effect => "an effect",
            Place::Check => "an `expect` or `assert`",
            Place::Query => "an expression evaluated on a run",
        }
    }
}

/// A set of [`Place`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Places(u16);

impl Places {
    /// Every place.
    pub const ANYWHERE: Places = Places::only(&ALL_PLACES);

    /// Exactly these places: `Places::only(&[Place::Initial, Place::Effect])`.
    pub const fn only(places: &[Place]) -> Places {
        let mut bits = 0u16;
        let mut i = 0;
        while i < places.len() {
            bits |= 1 << places[i] as u16;
            i += 1;
        }
        Places(bits)
    }

    /// True if `place` is one of them.
    pub const fn contains(self, place: Place) -> bool {
        self.0 & (1 << place as u16) != 0
    }

    /// The places in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Place> {
        ALL_PLACES.into_iter().filter(move |p| self.contains(*p))
    }
}

impl BuiltinDef {
    /// Its function of values, if it can be called with values.
    pub(crate) fn function(&self) -> Option<&Function> {
        match &self.form {
            Form::Function(f) | Form::FunctionOrAggregate(f, _) => Some(f),
            Form::Aggregate(_) | Form::Special(_) => None,
        }
    }

    /// Its aggregate, if it can aggregate.
    pub(crate) fn aggregate(&self) -> Option<Aggregate> {
        match &self.form {
            Form::Aggregate(a) | Form::FunctionOrAggregate(_, a) => Some(*a),
            Form::Function(_) | Form::Special(_) => None,
        }
    }

    /// The arguments it takes, in words: `1`, `1 or 2`, `at least 2` (`None`
    /// for aggregates and special forms).
    pub fn arity(&self) -> Option<String> {
        let f = self.function()?;
        Some(match (f.least, f.most) {
            (a, Some(b)) if a == b => format!("{a}"),
            (a, None) => format!("at least {a}"),
            (a, Some(b)) => format!("{a} or {b}"),
        })
    }
}

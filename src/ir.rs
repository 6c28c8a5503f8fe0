//! The lowered program: what the checker produces and the step machine runs.
//!
//! Names are resolved to indices and every expression is typed, so evaluation
//! does no name lookups and allocates no strings. Indices:
//!
//! - *slots* hold stored values: the vars first, then each entity's stored
//!   fields followed by its `defaulted` and `defaulted_at`;
//! - *derived cells* hold derived values: the lets first, then each entity's
//!   derived fields;
//! - *locals* are a root expression's frame: rule binders, aggregate variables
//!   and `self`.

use std::sync::Arc;

use petgraph::graph::DiGraph;
use rust_decimal::Decimal;

use crate::builtins::Function;
use crate::source::{SourceFile, Span};
use crate::syntax::{AssignOp, BinaryOp, Interpolation, UnaryOp};
use crate::value::{Date, StepUnit, Type, Value};

mod code;
mod models;
mod walk;

pub(crate) use code::{Code, Compiled, Leaf, Leaves, Op, V};
pub(crate) use models::{ClearingIr, ModelDef, ModelSpec, SolveDef, SolvedField};
pub(crate) use walk::{EffectPart, Scope, derived_reads, expand_reads};

/// Index of a param, var, let, series, kind, entity, exposure or rule.
pub type Id = u32;

/// A checked program, ready to run any number of times.
#[derive(Debug)]
pub(crate) struct Ir {
    pub source: SourceFile,
    pub scenario: ScenarioInfo,
    pub params: Vec<Global>,
    pub vars: Vec<Global>,
    pub lets: Vec<Global>,
    pub series: Vec<SeriesDef>,
    pub kinds: Vec<KindDef>,
    pub entities: Vec<EntityDef>,
    /// Each entity's kind and where its cells are, by entity: apart from the
    /// entities' other parts so that reading a field touches 16 bytes, not
    /// an `EntityDef` (see [`Ir::cell`]).
    pub layout: Vec<Layout>,
    pub exposures: Vec<ExposureDef>,
    /// Each entity's exposures as the creditor (`exposures_of`).
    pub as_creditor: ByEntity,
    /// Each entity's exposures as the debtor (`exposures_to`).
    pub as_debtor: ByEntity,
    /// One per exposure of the script (which come first in `exposures`); the
    /// exposures of data files and of the host have literals and no span.
    pub exposure_terms: Vec<ExposureTerms>,
    /// The extra fields of exposures (`{ maturity = 2027-06 }`), one column
    /// each with a value per exposure.
    pub exposure_fields: Vec<ExposureColumn>,
    /// When every exposure's amount and recovery are literals: the fuel that
    /// setting them up costs (one per literal) and the first exposure whose
    /// recovery is outside 0% to 100%. A run then reads them from here.
    pub literal_exposures: Option<LiteralExposures>,
    /// The kind of every exposure's creditor and debtor, when all share one.
    pub creditor_kind: Option<Id>,
    pub debtor_kind: Option<Id>,
    pub rules: Vec<RuleDef>,
    /// Rule groups in the order a step runs them.
    pub schedule: Vec<RuleGroup>,
    pub expects: Vec<ExpectDef>,
    /// The expects by the step they are due at (see [`ExpectsDue`]).
    pub expects_due: ExpectsDue,
    pub asserts: Vec<AssertDef>,
    #[allow(dead_code)] // read by `cascade graph` (next)
    pub graph: DependencyGraph,
    pub host: Arc<[HostFunction]>,
    /// The standard models (`clearing`, `debtrank`), each cached in a derived cell.
    pub models: Vec<ModelDef>,
    /// Each kind's system of `solve` fields, cached in a derived cell after the models'.
    pub solves: Vec<SolveDef>,
    /// Number of slots (stored values).
    pub slot_count: u32,
    /// Number of derived cells.
    pub derived_count: u32,
    /// The compiled form of the expressions a step evaluates most (built
    /// from the trees above when the program is assembled; see `ir/code.rs`).
    pub code: Code,
}

/// The `scenario` block, with defaults filled in.
#[derive(Clone, Debug)]
pub(crate) struct ScenarioInfo {
    pub title: Option<String>,
    pub start: Option<Date>,
    pub unit: StepUnit,
    pub horizon: u64,
}

impl ScenarioInfo {
    /// The date of a step, when the scenario has a start.
    pub fn date_of(&self, step: u64) -> Option<Date> {
        let start = self.start?;
        self.unit.date_of_step(start, i64::try_from(step).ok()?)
    }
}

/// A param, var or let.
#[derive(Clone, Debug)]
pub(crate) struct Global {
    pub name: String,
    #[allow(dead_code)] // for the REPL's `:show`
    pub span: Span,
    pub ty: Type,
    /// Initial value (param, var) or formula (let).
    pub expr: Root,
    /// An uncertain param's distribution, drawn per path of a sweep.
    pub uncertain: Option<Root>,
}

/// An expression that is evaluated on its own, with its frame size.
#[derive(Clone, Debug)]
pub(crate) struct Root {
    pub node: Node,
    pub locals: u16,
}

/// The initial value of an entity's stored field: a literal (the usual case,
/// and every cell of a data file) kept as its value and span, in a tenth of
/// the memory of a [`Root`], or an expression. Evaluating either costs the
/// same fuel: one for a literal.
#[derive(Clone, Debug)]
pub(crate) enum Init {
    Const(Value, Span),
    Expr(Box<Root>),
}

impl Init {
    /// A lowered initial value, kept as a value when it is a literal.
    pub fn of(root: Root) -> Init {
        match root.node.kind {
            NodeKind::Const(value) => Init::Const(value, root.node.span),
            kind => {
                Init::Expr(Box::new(Root { node: Node { kind, span: root.node.span }, locals: root.locals }))
            }
        }
    }

    /// True if evaluating it draws random numbers.
    pub fn contains_draw(&self) -> bool {
        match self {
            Init::Const(..) => false,
            Init::Expr(root) => root.node.contains_draw(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SeriesDef {
    pub name: String,
    pub span: Span,
    pub mode: Interpolation,
    /// (step number, value) in step order; values are constant over params.
    pub points: Vec<(i64, Root)>,
}

#[derive(Clone, Debug)]
pub(crate) struct KindDef {
    pub name: String,
    #[allow(dead_code)] // for the REPL's `:show`
    pub span: Span,
    pub fields: Vec<FieldDef>,
    /// Number of stored fields (slots per entity are this plus two).
    pub stored_count: u32,
    pub derived_count: u32,
    pub entities: Vec<Id>,
    /// Its system of `solve` fields (an index into `Ir::solves`).
    pub solve: Option<Id>,
}

impl KindDef {
    pub fn field(&self, name: &str) -> Option<(usize, &FieldDef)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FieldDef {
    pub name: String,
    pub span: Span,
    #[allow(dead_code)] // for the REPL's `:show`
    pub ty: Type,
    pub derived: bool,
    /// Index among the kind's stored or derived fields.
    pub index: u32,
    /// Default initial value (stored) or formula (derived); local 0 is `self`.
    pub expr: Root,
    /// A `solve` field: its place among its kind's system's fields.
    pub solved: Option<u32>,
}

/// An entity's kind and where its cells are: its stored fields, then `defaulted` and
/// `defaulted_at`, in slots from `slot_base`; its derived fields in derived
/// cells from `derived_base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Its kind.
    pub kind: Id,
    pub slot_base: u32,
    pub derived_base: u32,
    /// Its kind's number of stored fields.
    pub stored: u32,
}

/// Which field of an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FieldRef {
    Stored(u32),
    Derived(u32),
    Defaulted,
    DefaultedAt,
}

/// Where a field of an entity is kept: a stored slot or a derived cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    Slot(u32),
    Derived(u32),
}

impl Ir {
    /// The cell of `field` of entity `entity`. The one place that knows an
    /// entity's layout: its stored fields, then `defaulted` and
    /// `defaulted_at`, in slots from `slot_base`; its derived fields in
    /// derived cells from `derived_base`.
    #[inline(always)]
    pub(crate) fn cell(&self, entity: u32, field: FieldRef) -> Cell {
        let at = self.layout[entity as usize];
        match field {
            FieldRef::Stored(i) => Cell::Slot(at.slot_base + i),
            FieldRef::Defaulted => Cell::Slot(at.slot_base + at.stored),
            FieldRef::DefaultedAt => Cell::Slot(at.slot_base + at.stored + 1),
            FieldRef::Derived(i) => Cell::Derived(at.derived_base + i),
        }
    }

    /// The kind of entity `entity`.
    pub(crate) fn kind_of(&self, entity: u32) -> Id {
        self.layout[entity as usize].kind
    }

    /// The slot of `defaulted` of entity `entity` (`defaulted_at` is the next one).
    pub(crate) fn defaulted_slot(&self, entity: u32) -> u32 {
        match self.cell(entity, FieldRef::Defaulted) {
            Cell::Slot(slot) | Cell::Derived(slot) => slot,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct EntityDef {
    pub name: String,
    #[allow(dead_code)] // for the REPL's `:show`
    pub span: Span,
    /// Initial value of each stored field; local 0 is the entity itself.
    pub inits: Vec<Init>,
}

/// Each entity's exposures on one side (those in which it is the creditor,
/// or the debtor), in the exposures' order: one list of all of them, cut by
/// entity, so that a world of a million exposures holds two arrays, not two
/// vectors an entity.
#[derive(Clone, Debug, Default)]
pub(crate) struct ByEntity {
    /// Where each entity's exposures start in `exposures`, and the end, last.
    pub starts: Vec<u32>,
    pub exposures: Vec<Id>,
}

impl ByEntity {
    /// The exposures of `entity` (none for a number past the entities).
    pub fn of(&self, entity: u32) -> &[Id] {
        let e = entity as usize;
        match (self.starts.get(e), self.starts.get(e + 1)) {
            (Some(&start), Some(&end)) => self.exposures.get(start as usize..end as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// One exposure, in 44 bytes: a large world has a million. What only the
/// script's exposures can have (an expression over params, a span) is in
/// [`Ir::exposure_terms`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExposureDef {
    pub creditor: Id,
    pub debtor: Id,
    /// The amount when it is a literal (zero when it is an expression).
    pub amount: Decimal,
    /// The recovery rate when one is given (zero when it is an expression).
    pub recovery: Option<Decimal>,
}

/// What a script's exposure may have beyond an [`ExposureDef`]: amounts and
/// recovery rates computed from params, and where a bad rate is reported.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExposureTerms {
    pub amount: Option<Box<Root>>,
    pub recovery: Option<Box<Root>>,
    /// Where a bad recovery rate is reported: the rate, or the whole exposure.
    pub recovery_span: Span,
}

/// One extra field of every exposure: `x.maturity`.
#[derive(Clone, Debug)]
pub(crate) struct ExposureColumn {
    pub name: String,
    /// Where it is first given.
    pub span: Span,
    pub ty: Type,
    /// One per exposure; `Value::None` where an exposure does not give it.
    pub values: Vec<ConstValue>,
    /// True when some value is computed from params (`State::exposure_fields`
    /// then holds the column, evaluated when a run starts).
    pub computed: bool,
}

impl ExposureColumn {
    /// The column's name and type, without its values.
    pub fn clone_empty(&self) -> ExposureColumn {
        ExposureColumn {
            name: self.name.clone(),
            span: self.span,
            ty: self.ty,
            values: Vec::new(),
            computed: self.computed,
        }
    }
}

/// A value fixed before a run starts: a literal, or an expression over params.
#[derive(Clone, Debug)]
pub(crate) enum ConstValue {
    Literal(Value),
    Expr(Box<Root>),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct LiteralExposures {
    pub fuel: u64,
    pub bad_recovery: Option<Id>,
}

impl Ir {
    /// The amount and recovery of exposure `x` when they are literals.
    #[inline]
    pub fn literal_exposure(&self, x: Id) -> (Decimal, Decimal) {
        let def = &self.exposures[x as usize];
        (def.amount, def.recovery.unwrap_or(Decimal::ZERO))
    }

    /// Where a bad recovery rate of exposure `x` is reported.
    pub fn recovery_span(&self, x: Id) -> Span {
        self.exposure_terms.get(x as usize).map_or(Span::default(), |t| t.recovery_span)
    }
}

/// A number fixed before a run starts: a literal folded by the checker, or an
/// expression over params (evaluated when a run starts). Large worlds have a
/// million exposures: a literal must not cost an expression tree.
#[derive(Clone, Debug)]
pub(crate) enum ConstNumber {
    Literal(Decimal),
    Expr(Box<Root>),
}

impl ConstNumber {
    /// The literal (zero for an expression) and the expression.
    pub fn split(self) -> (Decimal, Option<Box<Root>>) {
        match self {
            ConstNumber::Literal(n) => (n, None),
            ConstNumber::Expr(root) => (Decimal::ZERO, Some(root)),
        }
    }

    /// A lowered expression, folded when it is a literal.
    pub fn fold(root: Root) -> ConstNumber {
        match root.node.kind {
            NodeKind::Const(Value::Number(n)) => ConstNumber::Literal(n),
            _ => ConstNumber::Expr(Box::new(root)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExposureField {
    Creditor,
    Debtor,
    Amount,
    Recovery,
    /// An extra field: its index in `Ir::exposure_fields`.
    Extra(u32),
}

#[derive(Clone, Debug)]
pub(crate) struct RuleDef {
    /// `margin_call`, or `rule at line 31` for an unnamed rule.
    pub label: String,
    pub name: Option<String>,
    #[allow(dead_code)] // for `cascade explain`
    pub description: Option<String>,
    pub line: usize,
    pub span: Span,
    pub trigger_span: Span,
    pub priority: i64,
    pub binders: Vec<(String, Id)>,
    pub filter: Option<Node>,
    pub trigger: TriggerIr,
    pub effects: Vec<EffectIr>,
    /// `for ... together`: the instances fire at once, on the state before the
    /// rule, at most once per step (`eval/together.rs`).
    pub together: bool,
    /// Frame size for the binders plus every aggregate inside.
    pub locals: u16,
}

impl RuleDef {
    /// How a message names the rule: "rule `margin_call`" or "the rule at line 31".
    pub fn title(&self) -> String {
        match &self.name {
            Some(name) => format!("rule `{name}`"),
            None => format!("the rule at line {}", self.line),
        }
    }

    /// Shorter, where the context says it is a rule: "`margin_call`" or "the rule at line 31".
    pub fn mention(&self) -> String {
        match &self.name {
            Some(name) => format!("`{name}`"),
            None => format!("the rule at line {}", self.line),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum TriggerIr {
    When(Node),
    While(Node),
    At(AtTime),
}

/// When an `at` rule fires.
#[derive(Clone, Debug)]
pub(crate) enum AtTime {
    /// A step written in the script (a date is converted by the checker).
    Step(i64),
    /// A step number or date computed from params when a run starts.
    Params(Box<Root>),
}

#[derive(Clone, Debug)]
pub(crate) struct EffectIr {
    pub kind: EffectKindIr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum EffectKindIr {
    Assign {
        target: TargetIr,
        op: AssignOp,
        value: Node,
    },
    Default(Node),
    Emit(Vec<Piece>),
    Stop(Vec<Piece>),
    After {
        delay: Node,
        effect: Box<EffectIr>,
    },
    /// `let name = value` in an effect block: evaluated once, into a local.
    Let {
        local: u16,
        value: Node,
    },
}

#[derive(Clone, Debug)]
pub(crate) enum TargetIr {
    Var(Id),
    Field { object: Node, field: u32 },
}

/// Rules that run together; `iterate` when they form a feedback loop.
#[derive(Clone, Debug)]
pub(crate) struct RuleGroup {
    pub rules: Vec<Id>,
    pub iterate: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ExpectDef {
    pub cond: Root,
    pub at: Option<i64>,
    pub span: Span,
}

/// The expects by when they are due, so that a step finds its own without
/// looking at the others: those with a step (`expect ... at`) as `(step,
/// index)` sorted by step and then index, and those of the end of a run by
/// index.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExpectsDue {
    at_steps: Vec<(i64, u32)>,
    at_end: Vec<u32>,
}

impl ExpectsDue {
    pub fn of(expects: &[ExpectDef]) -> ExpectsDue {
        let mut due = ExpectsDue::default();
        for (index, expect) in expects.iter().enumerate() {
            match expect.at {
                Some(at) => due.at_steps.push((at, index as u32)),
                None => due.at_end.push(index as u32),
            }
        }
        due.at_steps.sort_unstable();
        due
    }

    /// Whether any expect is due at `step` (most steps have none).
    #[inline]
    pub fn any_at(&self, step: u64) -> bool {
        let step = step as i64;
        self.at_steps.binary_search_by(|&(at, _)| at.cmp(&step)).is_ok()
    }

    /// The index of each expect due at `step` (`None`: at the end of the
    /// run), in source order.
    pub fn at(&self, step: Option<u64>) -> impl Iterator<Item = u32> + '_ {
        let (steps, end): (&[(i64, u32)], &[u32]) = match step {
            Some(step) => {
                let step = step as i64;
                let first = self.at_steps.partition_point(|&(at, _)| at < step);
                let rest = &self.at_steps[first..];
                (&rest[..rest.partition_point(|&(at, _)| at == step)], &[])
            }
            None => (&[], &self.at_end),
        };
        steps.iter().map(|&(_, index)| index).chain(end.iter().copied())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct AssertDef {
    pub cond: Root,
    pub message: Vec<Piece>,
    pub span: Span,
}

/// A piece of an interpolated string.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    Text(Arc<str>),
    Expr(Node),
}

/// A typed expression.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    Const(Value),
    Param(Id),
    Var(Id),
    Let(Id),
    Series(Id),
    Step,
    Date,
    Local(u16),
    Field {
        object: Box<Node>,
        field: FieldRef,
    },
    ExposureField {
        object: Box<Node>,
        field: ExposureField,
    },
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// A built-in function of values (see `crate::builtins`).
    Call(&'static Function, Vec<Node>),
    /// A random draw from the run's stream (only in effects and initial values).
    Draw(crate::random::Distribution, Vec<Node>),
    Host(Id, Vec<Node>),
    Aggregate(Box<AggregateIr>),
    /// `if COND then A else B`: only the chosen branch is evaluated.
    If(Box<[Node; 3]>),
    ExposureLosses(Box<Node>),
    Template(Vec<Piece>),
    /// A result of a model: `clearing_payment(e)` (with the entity), `debt_rank(Bank)` (without).
    Model {
        model: Id,
        output: crate::builtins::ModelOutput,
        object: Option<Box<Node>>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct AggregateIr {
    pub func: AggregateFn,
    pub local: u16,
    pub source: AggregateSource,
    pub filter: Option<Node>,
    pub body: Node,
}

pub(crate) use crate::builtins::Aggregate as AggregateFn;

#[derive(Clone, Debug)]
pub(crate) enum AggregateSource {
    Kind(Id),
    ExposuresOf(Node),
    ExposuresTo(Node),
}

/// The Rust side of a host function.
pub(crate) type HostCall = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// A function the host registered, as the checker and evaluator see it.
#[derive(Clone)]
pub(crate) struct HostFunction {
    pub name: String,
    pub params: Vec<Type>,
    pub ret: Type,
    pub call: HostCall,
}

impl std::fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostFunction({})", self.name)
    }
}

/// The dependency graph at the level of declarations (not expanded per entity).
#[derive(Clone, Debug, Default)]
pub(crate) struct DependencyGraph {
    pub graph: DiGraph<GraphNode, EdgeKind>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GraphNode {
    Param(Id),
    Var(Id),
    Let(Id),
    Series(Id),
    Field(Id, FieldRef),
    Time,
    Rule(Id),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeKind {
    Reads,
    Writes,
}

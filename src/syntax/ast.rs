//! The untyped syntax tree. Every node carries the byte [`Span`] it came from.

use crate::source::Span;
use crate::value::Date;

mod expr;

pub use expr::*;

/// A parsed script: its items in source order.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Top-level items.
    pub items: Vec<Item>,
    /// True when some items had syntax errors and are missing from `items`.
    pub incomplete: bool,
    /// Names declared by the items that had syntax errors (`param x = = 1`
    /// declares `x`), so that the checker does not also call them unknown.
    pub unparsed_names: Vec<String>,
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug)]
pub enum Item {
    /// `scenario "name" { ... }`
    Scenario(Scenario),
    /// `param NAME = EXPR`
    Param(ValueDecl),
    /// `var NAME = EXPR`
    Var(ValueDecl),
    /// `let NAME = EXPR`
    Let(ValueDecl),
    /// `series NAME [linear|hold] = { ... }`
    Series(Series),
    /// `kind Name { ... }`
    Kind(Kind),
    /// `entity name: Kind { ... }`
    Entity(Entity),
    /// `exposure a -> b = AMOUNT, recovery R`
    Exposure(Exposure),
    /// `entities Kind from "file"` or `exposures from "file"`
    Data(DataDecl),
    /// A rule (boxed: it is the largest item and a rare one, and every item
    /// of a large file is as large as the largest variant).
    Rule(Box<RuleDecl>),
    /// `expect COND [at TIME]`
    Expect(Expect),
    /// `assert COND ["message"]`
    Assert(Assert),
    /// `clearing Kind MODEL { ... }` or `debtrank Kind { ... }`
    Model(ModelDecl),
}

/// Which standard model a [`ModelDecl`] declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// `clearing Kind MODEL { ... }`
    Clearing,
    /// `debtrank Kind { ... }`
    DebtRank,
}

/// `clearing Bank eisenberg_noe { external = pari_passu }`, `debtrank Bank`.
#[derive(Clone, Debug)]
pub struct ModelDecl {
    /// Clearing or DebtRank.
    pub model: ModelKind,
    /// The kind whose entities it is computed over.
    pub kind: Ident,
    /// The method named after the kind (`eisenberg_noe`; `differential` for DebtRank).
    pub method: Option<Ident>,
    /// `name = value` settings.
    pub settings: Vec<Setting>,
    /// Whole item.
    pub span: Span,
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Scenario(x) => x.span,
            Item::Param(x) | Item::Var(x) | Item::Let(x) => x.span,
            Item::Series(x) => x.span,
            Item::Kind(x) => x.span,
            Item::Entity(x) => x.span,
            Item::Exposure(x) => x.span,
            Item::Data(x) => x.span,
            Item::Rule(x) => x.span,
            Item::Expect(x) => x.span,
            Item::Assert(x) => x.span,
            Item::Model(x) => x.span,
        }
    }
}

/// `entities Kind from "file"` (with `kind`) or `exposures from "file"` (without).
#[derive(Clone, Debug)]
pub struct DataDecl {
    /// The kind of the entities, or `None` for exposures.
    pub kind: Option<Ident>,
    /// The file's name as written (the host's loader decides what it means).
    pub file: String,
    /// Where the file's name is written (with its quotes).
    pub file_span: Span,
    /// Whole item.
    pub span: Span,
}

/// `scenario "name" { setting = value, ... }`
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The scenario's title.
    pub title: Template,
    /// `start`, `step`, `horizon`.
    pub settings: Vec<Setting>,
    /// Whole item.
    pub span: Span,
}

/// One `name = value` of a scenario block.
#[derive(Clone, Debug)]
pub struct Setting {
    /// Setting name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
}

/// `param`, `var` and `let` declarations.
#[derive(Clone, Debug)]
pub struct ValueDecl {
    /// Declared name.
    pub name: Ident,
    /// Initial value (param, var) or formula (let).
    pub value: Expr,
    /// An uncertain param's distribution (`~ normal(2.00, 0.20)`), drawn per
    /// path in a sweep.
    pub uncertain: Option<Expr>,
    /// Whole item.
    pub span: Span,
}

/// How a series fills the steps between its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// Straight lines between points (the default).
    Linear,
    /// Keep the last point's value until the next point.
    Hold,
}

/// `series NAME [linear|hold] = { TIME: EXPR, ... }`
#[derive(Clone, Debug)]
pub struct Series {
    /// Declared name.
    pub name: Ident,
    /// Interpolation, if written.
    pub mode: Option<(Interpolation, Span)>,
    /// The points, in source order.
    pub points: Vec<SeriesPoint>,
    /// Whole item.
    pub span: Span,
}

/// One point of a series.
#[derive(Clone, Debug)]
pub struct SeriesPoint {
    /// When.
    pub at: TimePoint,
    /// The value there.
    pub value: Expr,
}

/// A date or a step number, as in `at 2026-06` or `at 12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimePoint {
    /// What was written.
    pub kind: TimePointKind,
    /// Where.
    pub span: Span,
}

/// See [`TimePoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePointKind {
    /// A calendar date.
    Date(Date),
    /// A step number.
    Step(u64),
}

/// `kind Name { field = EXPR, let field = EXPR, ... }`
#[derive(Clone, Debug)]
pub struct Kind {
    /// Kind name.
    pub name: Ident,
    /// Fields in source order.
    pub fields: Vec<FieldDecl>,
    /// Whole item.
    pub span: Span,
}

/// A field of a kind.
#[derive(Clone, Debug)]
pub struct FieldDecl {
    /// `let field = ...` (derived) rather than `field = ...` (stored).
    pub derived: bool,
    /// Field name.
    pub name: Ident,
    /// Default initial value (stored) or formula (derived).
    pub value: Expr,
    /// `solve name from START [within TOL] [limit N] = EXPR`: a derived field
    /// solved together with the kind's other `solve` fields.
    pub solve: Option<SolveSpec>,
    /// The whole field declaration.
    pub span: Span,
}

/// What `solve p from START [within TOL] [limit N]` states besides the equation.
#[derive(Clone, Debug)]
pub struct SolveSpec {
    /// The value every entity starts from.
    pub start: Expr,
    /// Stop when no value moves by more than this (exactly equal when absent).
    pub within: Option<Expr>,
    /// The most simultaneous updates (the engine's default when absent).
    pub limit: Option<Expr>,
}

/// `entity name: Kind { field = EXPR, ... }`
#[derive(Clone, Debug)]
pub struct Entity {
    /// Entity name.
    pub name: Ident,
    /// Its kind.
    pub kind: Ident,
    /// Initial values that override the kind's defaults.
    pub fields: Vec<FieldInit>,
    /// Whole item.
    pub span: Span,
}

/// `field = EXPR` inside an entity.
#[derive(Clone, Debug)]
pub struct FieldInit {
    /// Field name.
    pub name: Ident,
    /// Initial value.
    pub value: Expr,
}

/// `exposure CREDITOR -> DEBTOR = AMOUNT [, recovery R]`
#[derive(Clone, Debug)]
pub struct Exposure {
    /// Who is owed.
    pub creditor: Ident,
    /// Who owes.
    pub debtor: Ident,
    /// How much.
    pub amount: Expr,
    /// Share recovered if the debtor defaults.
    pub recovery: Option<Expr>,
    /// Extra fields, `{ maturity = 2027-06 }` (boxed: most exposures have none,
    /// and a large file is mostly exposures).
    pub fields: Option<Box<Vec<FieldInit>>>,
    /// Whole item.
    pub span: Span,
}

/// A rule: `[rule NAME "desc" priority N:] [for ...] when|while|at ... EFFECTS`.
#[derive(Clone, Debug)]
pub struct RuleDecl {
    /// Its name, if it has a header.
    pub name: Option<Ident>,
    /// Its description.
    pub description: Option<Template>,
    /// `priority N` (higher runs first among ties).
    pub priority: Option<(i64, Span)>,
    /// `for x: Kind, ...`
    pub binders: Vec<Binder>,
    /// `together` after the binders: every instance acts on the state before the rule.
    pub together: Option<Span>,
    /// `where COND` of the binders.
    pub filter: Option<Expr>,
    /// What makes it fire.
    pub trigger: Trigger,
    /// The span of the trigger keyword and condition (`when x > 1`).
    pub trigger_span: Span,
    /// What it does.
    pub effects: Vec<Effect>,
    /// Whole item.
    pub span: Span,
}

/// `x: Kind` in a rule's `for`.
#[derive(Clone, Debug)]
pub struct Binder {
    /// The variable.
    pub name: Ident,
    /// The kind it ranges over.
    pub kind: Ident,
}

/// What makes a rule fire.
#[derive(Clone, Debug)]
pub enum Trigger {
    /// Edge-triggered.
    When(Expr),
    /// Level-triggered.
    While(Expr),
    /// Once at a date or step.
    At(TimePoint),
    /// Once at a date or step computed from params when the run starts.
    AtExpr(Expr),
}

/// One effect of a rule.
#[derive(Clone, Debug)]
pub struct Effect {
    /// What it does.
    pub kind: EffectKind,
    /// Where.
    pub span: Span,
}

/// See [`Effect`].
#[derive(Clone, Debug)]
pub enum EffectKind {
    /// `target op= value`
    Assign {
        /// What is written.
        target: Target,
        /// `=`, `+=`, ...
        op: AssignOp,
        /// The right-hand side.
        value: Expr,
    },
    /// `default(e)`
    Default(Expr),
    /// `emit "text {expr}"`
    Emit(Template),
    /// `stop ["reason"]`
    Stop(Option<Template>),
    /// `let name = EXPR` in an effect block: a local for the effects after it.
    Let {
        /// The local's name.
        name: Ident,
        /// Its value, evaluated once, where it stands.
        value: Expr,
    },
    /// `after N steps EFFECT`
    After {
        /// How many steps later.
        delay: Expr,
        /// The delayed effect.
        effect: Box<Effect>,
    },
}

/// `name` or `base.field` on the left of an assignment.
#[derive(Clone, Debug)]
pub struct Target {
    /// A var, an entity or a binder.
    pub base: Ident,
    /// The field, if any.
    pub field: Option<Ident>,
    /// Whole target.
    pub span: Span,
}

/// Assignment operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
}

/// A string, possibly with `{expr}` parts.
#[derive(Clone, Debug)]
pub struct Template {
    /// Text and expressions in order.
    pub parts: Vec<TemplatePart>,
    /// Whole string including quotes.
    pub span: Span,
}

impl Template {
    /// The text if the string has no `{expr}` part.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(t) => out.push_str(t),
                TemplatePart::Expr(_) => return None,
            }
        }
        Some(out)
    }
}

/// See [`Template`].
#[derive(Clone, Debug)]
pub enum TemplatePart {
    /// Literal text (escapes resolved).
    Text(String),
    /// `{expr}`
    Expr(Expr),
}

/// `expect COND [at TIME]`
#[derive(Clone, Debug)]
pub struct Expect {
    /// What must hold.
    pub cond: Expr,
    /// When (the end of the run if absent).
    pub at: Option<TimePoint>,
    /// Whole item.
    pub span: Span,
}

/// `assert COND ["message"]`
#[derive(Clone, Debug)]
pub struct Assert {
    /// What must hold at every step.
    pub cond: Expr,
    /// What to say when it does not.
    pub message: Option<Template>,
    /// Whole item.
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large generated file is a million items, most of them exposures with two
    /// expressions: these sizes are its memory.
    #[test]
    fn nodes_stay_small() {
        assert!(size_of::<Expr>() <= 48, "Expr is {} bytes", size_of::<Expr>());
        // An exposure: two names, two expressions, its extra fields (boxed) and span.
        assert!(size_of::<Item>() <= 176, "Item is {} bytes", size_of::<Item>());
    }
}

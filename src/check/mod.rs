//! The checker: AST → [`Ir`], or the list of everything wrong with the script.
//!
//! It runs in three passes over the items:
//!
//! 1. **declare**: every name goes into one global namespace (duplicates are
//!    reported with both places); kinds get their field tables.
//! 2. **lower**: every expression is resolved and typed (`expr.rs`); derived
//!    values are lowered on first use, so a `let` may refer to one declared
//!    below it. While lowering, each declaration records what it reads.
//! 3. **graph** (`graph.rs`): the dependency graph (petgraph), cycles of
//!    derived values, the rule schedule and the warnings.
//!
//! Naming: `declare_*` fill the tables, `lower_*` produce IR, `check_*` only
//! report.

mod assemble;
mod calls;
mod data;
mod declare;
mod expr;
pub(crate) mod graph;
mod lower;
mod models;
mod rules;
mod solve;

use std::collections::HashMap;
use std::sync::Arc;

use crate::codes;
use crate::data::{DataItems, SCRIPT_ENTITY};
use crate::diagnostic::{Problem, did_you_mean_within, list_words};
use crate::ir::*;
use crate::source::{SourceFile, Span};
use crate::syntax::{self, ExprKind, File, Item, TimePoint, TimePointKind};
use crate::value::{StepUnit, Type, Value};

use expr::{Ctx, Mode};

/// A default horizon when the script has no `scenario` block or no `horizon`.
pub const DEFAULT_HORIZON: u64 = 100;

/// Checks a parsed file. Returns the program when there are no errors, and every
/// problem found (errors and warnings) either way.
/// `data` is what data files and the host's `World` added, already read and
/// resolved (`src/data`); its exposures are taken out of it so that they are
/// numbered in place.
pub(crate) fn check(
    file: &File,
    mut data: DataItems,
    source: &SourceFile,
    host: Arc<[HostFunction]>,
) -> (Option<Ir>, Vec<Problem>) {
    let data_exposures = std::mem::take(&mut data.exposures);
    let mut checker = Checker::new(file, &data, source, host);
    checker.data_exposures = data_exposures;
    checker.declare_all();
    checker.lower_all();
    checker.finish()
}

/// Keeps of a checked file only what [`check_expression`] reads: the scenario and
/// the declarations of params, vars, lets, series and kinds. Entities come from
/// the program itself, and exposures, rules and expectations are not needed:
/// on a large world they are nearly all of the syntax tree.
pub(crate) fn expression_scope(mut file: File) -> File {
    file.items.retain(|item| {
        matches!(
            item,
            Item::Scenario(_)
                | Item::Param(_)
                | Item::Var(_)
                | Item::Let(_)
                | Item::Series(_)
                | Item::Kind(_)
                | Item::Model(_)
        )
    });
    file.items.shrink_to_fit();
    file
}

/// Checks one expression against a checked program (for the REPL and
/// [`crate::Run::evaluate`]). `scope` is the program's file as
/// [`expression_scope`] keeps it. Ids in the result match the program's.
pub(crate) fn check_expression(scope: &File, ir: &Ir, expr: &syntax::Expr) -> Result<Root, Vec<Problem>> {
    check_query(scope, ir, expr, &[]).map(|(root, _, _)| root)
}

/// A checked query: its root, its type, and the local of each measure asked for.
pub(crate) type Query = (Root, Type, Vec<Option<u16>>);

/// Like [`check_expression`], with the expression's type, and with extra
/// names in scope (`first_default`, `defaults`: a run's measures, which the
/// evaluator finds in the frame). A name the script declares is the script's:
/// its measure gets no local (`None`); the others are locals 0, 1, ...
pub(crate) fn check_query(
    scope: &File,
    ir: &Ir,
    expr: &syntax::Expr,
    measures: &[(&str, Type)],
) -> Result<Query, Vec<Problem>> {
    // The data's entities are the program's now (declared below); its exposures too.
    let data = DataItems::default();
    let mut checker = Checker::new(scope, &data, &ir.source, ir.host.clone());
    checker.declare_all();
    // Entities as the program declared them (same ids, same kinds).
    for (id, entity) in ir.entities.iter().enumerate() {
        checker.names.insert(entity.name.as_str().into(), (Decl::Entity(id as Id), entity.span));
        let kind = ir.kind_of(id as Id);
        if let Some(kind) = checker.kinds.get_mut(kind as usize) {
            kind.entities.push(id as Id);
        }
        checker.entities.push(EntitySlot { name: &entity.name, ast: None, kind: Some(kind), data: None });
    }
    checker.lower_params_and_vars();
    checker.creditor_kind = ir.creditor_kind;
    checker.debtor_kind = ir.debtor_kind;
    checker.exposure_fields = ir.exposure_fields.iter().map(ExposureColumn::clone_empty).collect();
    checker.lower_models();
    // The program itself is known to be clean; only the expression can be wrong.
    checker.problems.clear();
    let mut ctx = Ctx::new(Mode::Dynamic).at(crate::builtins::Place::Query);
    let locals = measures
        .iter()
        .map(|(name, ty)| (!checker.names.contains_key(*name)).then(|| ctx.push_local(name, *ty)))
        .collect();
    let (node, ty) = checker.lower_expr(expr, &mut ctx);
    if let Some(ty @ Type::Exposure) = ty {
        checker.require_scalar(ty, expr.span, "a value");
    }
    let errors: Vec<Problem> = checker.problems.into_iter().filter(Problem::is_error).collect();
    match ty {
        Some(ty) if errors.is_empty() => Ok((ctx.root(node), ty, locals)),
        _ => Err(errors),
    }
}

/// Declared names share one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decl {
    Param(Id),
    Var(Id),
    Let(Id),
    Series(Id),
    Kind(Id),
    Entity(Id),
}

impl Decl {
    fn what(self) -> &'static str {
        match self {
            Decl::Param(_) => "param",
            Decl::Var(_) => "var",
            Decl::Let(_) => "let",
            Decl::Series(_) => "series",
            Decl::Kind(_) => "kind",
            Decl::Entity(_) => "entity",
        }
    }

    /// The keyword with its article, for messages ("an entity").
    fn a_what(self) -> &'static str {
        match self {
            Decl::Entity(_) => "an entity",
            Decl::Param(_) => "a param",
            Decl::Var(_) => "a var",
            Decl::Let(_) => "a let",
            Decl::Series(_) => "a series",
            Decl::Kind(_) => "a kind",
        }
    }
}

/// Lowering state of a derived value (for lowering on first use).
#[derive(Clone, Debug)]
enum Lowered {
    Pending,
    InProgress,
    Done(Type),
    Failed,
}

struct GlobalSlot<'a> {
    ast: &'a syntax::ValueDecl,
    state: Lowered,
    root: Option<Root>,
    /// An uncertain param's distribution.
    uncertain: Option<Root>,
    reads: Vec<GraphNode>,
}

struct FieldSlot<'a> {
    ast: &'a syntax::FieldDecl,
    index: u32,
    state: Lowered,
    root: Option<Root>,
    reads: Vec<GraphNode>,
}

struct KindSlot<'a> {
    ast: &'a syntax::Kind,
    fields: Vec<FieldSlot<'a>>,
    stored_count: u32,
    derived_count: u32,
    entities: Vec<Id>,
}

struct EntitySlot<'a> {
    name: &'a str,
    /// The declaration (`None` for data, and when checking an expression
    /// against a program).
    ast: Option<&'a syntax::Entity>,
    kind: Option<Id>,
    /// The entity's number in `DataItems::entities` when it comes from data.
    data: Option<u32>,
}

pub(crate) struct Checker<'a> {
    file: &'a File,
    /// What data files and the host's `World` added (see [`check`]).
    data: &'a DataItems,
    source: &'a SourceFile,
    host: Arc<[HostFunction]>,
    problems: Vec<Problem>,
    /// Every declared name. The keys are copies, allocated one after another while
    /// declaring, not borrowed from the syntax tree: a million lookups in a large
    /// file then find them in a few megabytes instead of all over the tree. The
    /// hash is fast and has a fixed seed (a "did you mean" over the keys sees
    /// them in the same order in every run).
    names: HashMap<Box<str>, (Decl, Span), foldhash::fast::FixedState>,
    scenario: ScenarioInfo,
    params: Vec<GlobalSlot<'a>>,
    vars: Vec<GlobalSlot<'a>>,
    lets: Vec<GlobalSlot<'a>>,
    series: Vec<(&'a syntax::Series, Option<SeriesDef>)>,
    kinds: Vec<KindSlot<'a>>,
    entities: Vec<EntitySlot<'a>>,
    /// The id of each data entity (`DataItems::entities`), `None` where it was refused.
    data_entities: Vec<Option<Id>>,
    /// Data cells whose type is not their field's formula's.
    data_mismatches: Vec<data::Mismatch>,
    /// The data's exposures (see [`check`]), until they are lowered.
    data_exposures: Vec<ExposureDef>,
    entity_inits: Vec<Vec<Init>>,
    exposures: Vec<ExposureDef>,
    /// One per exposure of the script (see [`Ir::exposure_terms`]).
    exposure_terms: Vec<ExposureTerms>,
    exposure_fields: Vec<ExposureColumn>,
    /// The kind of every exposure's debtor and creditor, when all share one.
    debtor_kind: Option<Id>,
    creditor_kind: Option<Id>,
    /// Each rule with what it reads and what it writes.
    rules: Vec<(RuleDef, Vec<GraphNode>, Vec<rules::Write>)>,
    expects: Vec<ExpectDef>,
    asserts: Vec<AssertDef>,
    /// The standard models, in source order.
    models: Vec<ModelDef>,
    /// Each kind's system of `solve` fields.
    solves: Vec<SolveDef>,
    /// Names read anywhere (for unused warnings).
    used: Vec<GraphNode>,
    /// Nesting of derived values being lowered on first use.
    lowering_depth: usize,
    /// How many more candidates "did you mean" may compare (see
    /// [`SUGGESTION_BUDGET`]).
    suggestions: std::cell::Cell<usize>,
    /// The names that items with syntax errors seem to declare.
    unparsed: std::collections::HashSet<&'a str>,
}

/// "Did you mean" compares a misspelt name with every candidate: with n unknown
/// names among n declared ones that is quadratic. A checker compares at most
/// this many (about a second's work) for all its problems together; problems
/// after that get no suggestion.
pub(crate) const SUGGESTION_BUDGET: usize = 2_000_000;

impl Checker<'_> {
    /// "Did you mean `x`?" for `name` among `candidates`, within the budget.
    fn did_you_mean<'c>(&self, name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
        did_you_mean_within(name, candidates, &self.suggestions)
    }

    /// True once "did you mean" has no budget left (skip collecting candidates).
    fn suggestions_spent(&self) -> bool {
        self.suggestions.get() == 0
    }
}

/// Derived values may refer forward to others this deep before we give up.
const MAX_FORWARD_DEPTH: usize = 200;

impl<'a> Checker<'a> {
    fn new(
        file: &'a File,
        data: &'a DataItems,
        source: &'a SourceFile,
        host: Arc<[HostFunction]>,
    ) -> Checker<'a> {
        Checker {
            file,
            data,
            source,
            host,
            problems: Vec::new(),
            suggestions: std::cell::Cell::new(SUGGESTION_BUDGET),
            unparsed: file.unparsed_names.iter().map(String::as_str).collect(),
            names: HashMap::default(),
            scenario: ScenarioInfo {
                title: None,
                start: None,
                unit: StepUnit::Month,
                horizon: DEFAULT_HORIZON,
            },
            params: Vec::new(),
            vars: Vec::new(),
            lets: Vec::new(),
            series: Vec::new(),
            kinds: Vec::new(),
            entities: Vec::new(),
            data_entities: Vec::new(),
            data_mismatches: Vec::new(),
            data_exposures: Vec::new(),
            entity_inits: Vec::new(),
            exposures: Vec::new(),
            exposure_terms: Vec::new(),
            exposure_fields: Vec::new(),
            debtor_kind: None,
            creditor_kind: None,
            rules: Vec::new(),
            expects: Vec::new(),
            asserts: Vec::new(),
            models: Vec::new(),
            solves: Vec::new(),
            used: Vec::new(),
            lowering_depth: 0,
        }
    }

    fn error(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    // ---------------------------------------------------------------------
    // Helpers shared by the passes

    fn require(&mut self, found: Type, wanted: Type, span: Span, what: &str) -> bool {
        let matches = match (found, wanted) {
            (Type::Entity(_), Type::Entity(None)) => true,
            (Type::Entity(a), Type::Entity(b)) => a == b || a.is_none(),
            _ => found == wanted,
        };
        if !matches {
            self.error(
                Problem::error(
                    codes::check::type_mismatch,
                    format!("{what} must be {}, but this is {}", wanted.describe(), found.describe()),
                )
                .label(span, format!("this is {}", found.describe())),
            );
        }
        matches
    }

    /// Declarations hold numbers, bools, dates or strings; not entities.
    fn require_scalar(&mut self, ty: Type, span: Span, what: &str) {
        if matches!(ty, Type::Entity(_) | Type::Exposure) {
            self.error(
                Problem::error(
                    codes::check::type_mismatch,
                    format!("{what} cannot hold {}", ty.describe()),
                )
                .label(span, format!("this is {}", ty.describe()))
                .help("values are numbers, bools, dates or strings; refer to entities by name where you use them"),
            );
        }
    }

    fn unknown_field(&self, kind: Id, name: &syntax::Ident) -> Problem {
        let k = &self.kinds[kind as usize];
        let fields: Vec<&str> = k.fields.iter().map(|f| f.ast.name.name.as_str()).collect();
        let help = self
            .did_you_mean(&name.name, fields.iter().copied().chain(["defaulted", "defaulted_at"]))
            .unwrap_or_else(|| {
                format!(
                    "fields of {} are: {}",
                    k.ast.name.name,
                    fields
                        .iter()
                        .copied()
                        .chain(["defaulted", "defaulted_at"])
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        Problem::error(
            codes::check::unknown_field,
            format!("`{}` has no field `{}`", k.ast.name.name, name.name),
        )
        .label(name.span, "unknown field")
        .help(help)
    }

    fn line_of(&self, span: Span) -> usize {
        self.source.line_of(span.start)
    }
}

impl<'a> GlobalSlot<'a> {
    fn new(ast: &'a syntax::ValueDecl) -> GlobalSlot<'a> {
        GlobalSlot { ast, state: Lowered::Pending, root: None, uncertain: None, reads: Vec::new() }
    }
}

impl Root {
    pub(crate) fn constant(value: Value) -> Root {
        Root { node: Node { kind: NodeKind::Const(value), span: Span::default() }, locals: 0 }
    }
}

fn too_many_forward_references(span: Span) -> Problem {
    Problem::error(
        codes::check::too_deep,
        format!("derived values refer forward to each other more than {MAX_FORWARD_DEPTH} levels deep"),
    )
    .label(span, "while checking this")
    .help("declare derived values before the ones that use them")
}

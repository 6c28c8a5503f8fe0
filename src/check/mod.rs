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

mod expr;
pub(crate) mod graph;
mod rules;

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Problem, did_you_mean, list_words};
use crate::ir::*;
use crate::source::{SourceFile, Span};
use crate::syntax::{self, ExprKind, File, Item, TimePoint, TimePointKind};
use crate::value::{StepUnit, Type, Value};

use expr::{Ctx, Mode};

/// A default horizon when the script has no `scenario` block or no `horizon`.
pub const DEFAULT_HORIZON: u64 = 100;

/// Checks a parsed file. Returns the program when there are no errors, and every
/// problem found (errors and warnings) either way.
pub(crate) fn check(
    file: &File,
    source: &SourceFile,
    host: Arc<[HostFunction]>,
) -> (Option<Ir>, Vec<Problem>) {
    let mut checker = Checker::new(file, source, host);
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
        )
    });
    file.items.shrink_to_fit();
    file
}

/// Checks one expression against a checked program (for the REPL and
/// [`crate::Run::evaluate`]). `scope` is the program's file as
/// [`expression_scope`] keeps it. Ids in the result match the program's.
pub(crate) fn check_expression(scope: &File, ir: &Ir, expr: &syntax::Expr) -> Result<Root, Vec<Problem>> {
    let mut checker = Checker::new(scope, &ir.source, ir.host.clone());
    checker.declare_all();
    // Entities as the program declared them (same ids, same kinds).
    for (id, entity) in ir.entities.iter().enumerate() {
        checker.names.insert(entity.name.as_str().into(), (Decl::Entity(id as Id), entity.span));
        if let Some(kind) = checker.kinds.get_mut(entity.kind as usize) {
            kind.entities.push(id as Id);
        }
        checker.entities.push(EntitySlot { name: &entity.name, ast: None, kind: Some(entity.kind) });
    }
    checker.lower_params_and_vars();
    checker.creditor_kind = ir.creditor_kind;
    checker.debtor_kind = ir.debtor_kind;
    // The program itself is known to be clean; only the expression can be wrong.
    checker.problems.clear();
    let mut ctx = Ctx::new(Mode::Dynamic);
    let (node, ty) = checker.lower_expr(expr, &mut ctx);
    if let Some(ty @ Type::Exposure) = ty {
        checker.require_scalar(ty, expr.span, "a value");
    }
    let errors: Vec<Problem> = checker.problems.into_iter().filter(Problem::is_error).collect();
    if errors.is_empty() && ty.is_some() { Ok(ctx.root(node)) } else { Err(errors) }
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
    /// The declaration (`None` when checking an expression against a program).
    ast: Option<&'a syntax::Entity>,
    kind: Option<Id>,
}

pub(crate) struct Checker<'a> {
    file: &'a File,
    source: &'a SourceFile,
    host: Arc<[HostFunction]>,
    problems: Vec<Problem>,
    /// Every declared name. The keys are copies, allocated one after another while
    /// declaring, not borrowed from the syntax tree: a million lookups in a large
    /// file then find them in a few megabytes instead of all over the tree.
    names: HashMap<Box<str>, (Decl, Span)>,
    scenario: ScenarioInfo,
    params: Vec<GlobalSlot<'a>>,
    vars: Vec<GlobalSlot<'a>>,
    lets: Vec<GlobalSlot<'a>>,
    series: Vec<(&'a syntax::Series, Option<SeriesDef>)>,
    kinds: Vec<KindSlot<'a>>,
    entities: Vec<EntitySlot<'a>>,
    entity_inits: Vec<Vec<Root>>,
    exposures: Vec<ExposureDef>,
    /// The kind of every exposure's debtor and creditor, when all share one.
    debtor_kind: Option<Id>,
    creditor_kind: Option<Id>,
    /// Each rule with what it reads and what it writes.
    rules: Vec<(RuleDef, Vec<GraphNode>, Vec<rules::Write>)>,
    expects: Vec<ExpectDef>,
    asserts: Vec<AssertDef>,
    /// Names read anywhere (for unused warnings).
    used: Vec<GraphNode>,
    /// Nesting of derived values being lowered on first use.
    lowering_depth: usize,
}

/// Derived values may refer forward to others this deep before we give up.
const MAX_FORWARD_DEPTH: usize = 200;

impl<'a> Checker<'a> {
    fn new(file: &'a File, source: &'a SourceFile, host: Arc<[HostFunction]>) -> Checker<'a> {
        Checker {
            file,
            source,
            host,
            problems: Vec::new(),
            names: HashMap::new(),
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
            entity_inits: Vec::new(),
            exposures: Vec::new(),
            debtor_kind: None,
            creditor_kind: None,
            rules: Vec::new(),
            expects: Vec::new(),
            asserts: Vec::new(),
            used: Vec::new(),
            lowering_depth: 0,
        }
    }

    fn error(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    // ---------------------------------------------------------------------
    // Pass 1: declarations

    fn declare_all(&mut self) {
        let mut scenario_seen: Option<Span> = None;
        for item in &self.file.items {
            match item {
                Item::Scenario(s) => {
                    if let Some(first) = scenario_seen {
                        self.error(
                            Problem::error(
                                "cascade::check::duplicate",
                                "a script has at most one `scenario` block",
                            )
                            .label(s.span, "second scenario block")
                            .label(first, "first one here")
                            .help("merge the two blocks"),
                        );
                    } else {
                        scenario_seen = Some(s.span);
                        self.declare_scenario(s);
                    }
                }
                Item::Param(d) => {
                    let id = self.params.len() as Id;
                    if self.declare_name(&d.name, Decl::Param(id)) {
                        self.params.push(GlobalSlot::new(d));
                    }
                }
                Item::Var(d) => {
                    let id = self.vars.len() as Id;
                    if self.declare_name(&d.name, Decl::Var(id)) {
                        self.vars.push(GlobalSlot::new(d));
                    }
                }
                Item::Let(d) => {
                    let id = self.lets.len() as Id;
                    if self.declare_name(&d.name, Decl::Let(id)) {
                        self.lets.push(GlobalSlot::new(d));
                    }
                }
                Item::Series(s) => {
                    let id = self.series.len() as Id;
                    if self.declare_name(&s.name, Decl::Series(id)) {
                        self.series.push((s, None));
                    }
                }
                Item::Kind(k) => {
                    let id = self.kinds.len() as Id;
                    if self.declare_name(&k.name, Decl::Kind(id)) {
                        let slot = self.declare_kind(k);
                        self.kinds.push(slot);
                    }
                }
                _ => {}
            }
        }
        // Entities after kinds, so an entity may come before its kind.
        for item in &self.file.items {
            if let Item::Entity(e) = item {
                let id = self.entities.len() as Id;
                if self.declare_name(&e.name, Decl::Entity(id)) {
                    let kind = self.resolve_kind(&e.kind);
                    if let Some(k) = kind {
                        self.kinds[k as usize].entities.push(id);
                    }
                    self.entities.push(EntitySlot { name: &e.name.name, ast: Some(e), kind });
                }
            }
        }
    }

    /// Adds a name to the global namespace; reports a duplicate or a reserved word.
    fn declare_name(&mut self, name: &'a syntax::Ident, decl: Decl) -> bool {
        if syntax::BUILTIN_NAMES.contains(&name.name.as_str())
            || syntax::BUILTIN_FUNCTIONS.contains(&name.name.as_str())
        {
            self.error(
                Problem::error(
                    "cascade::check::reserved_name",
                    format!("`{}` is a built-in name", name.name),
                )
                .label(name.span, "cannot be declared")
                .help("choose another name"),
            );
            return false;
        }
        if let Some(&(previous, previous_span)) = self.names.get(name.name.as_str()) {
            self.error(
                Problem::error("cascade::check::duplicate", format!("`{}` is declared twice", name.name))
                    .label(name.span, format!("declared again here as a {}", decl.what()))
                    .label(previous_span, format!("first declared here as a {}", previous.what()))
                    .help("rename one of them"),
            );
            return false;
        }
        self.names.insert(name.name.as_str().into(), (decl, name.span));
        true
    }

    fn declare_scenario(&mut self, s: &'a syntax::Scenario) {
        self.scenario.title = s.title.as_plain();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for setting in &s.settings {
            let name = setting.name.name.as_str();
            if let Some(&first) = seen.get(name) {
                self.error(
                    Problem::error("cascade::check::duplicate", format!("`{name}` is set twice"))
                        .label(setting.name.span, "set again here")
                        .label(first, "first set here"),
                );
                continue;
            }
            seen.insert(name, setting.name.span);
            let value = &setting.value;
            match name {
                "start" => match value.kind {
                    ExprKind::Date(d) => self.scenario.start = Some(d),
                    _ => self.error(
                        Problem::error("cascade::check::bad_setting", "`start` must be a date")
                            .label(value.span, "not a date")
                            .help("write it as `start = 2026-01` or `start = 2026-01-31`"),
                    ),
                },
                "step" => match &value.kind {
                    ExprKind::Name(unit) if StepUnit::from_name(unit).is_some() => {
                        self.scenario.unit = StepUnit::from_name(unit).unwrap_or(StepUnit::Month);
                    }
                    _ => {
                        let units: Vec<&str> = StepUnit::ALL.iter().map(|(n, _)| *n).collect();
                        let written = value.span.text(self.source.text());
                        self.error(
                            Problem::error(
                                "cascade::check::bad_setting",
                                format!("`{written}` is not a step unit"),
                            )
                            .label(value.span, "unknown unit")
                            .help(
                                did_you_mean(written, units.iter().copied()).unwrap_or_else(|| {
                                    format!("a step is one {}", list_words(&units).replace(" and ", " or "))
                                }),
                            ),
                        );
                    }
                },
                "horizon" => {
                    let steps = match value.kind {
                        ExprKind::Number(n) if n.is_integer() && n > rust_decimal::Decimal::ZERO => {
                            u64::try_from(n).ok()
                        }
                        _ => None,
                    };
                    match steps {
                        Some(h) => self.scenario.horizon = h,
                        None => self.error(
                            Problem::error(
                                "cascade::check::bad_setting",
                                "`horizon` must be a positive whole number of steps",
                            )
                            .label(value.span, "not a positive whole number")
                            .help("for example `horizon = 48`"),
                        ),
                    }
                }
                other => {
                    let known = ["start", "step", "horizon"];
                    self.error(
                        Problem::error(
                            "cascade::check::bad_setting",
                            format!("`{other}` is not a scenario setting"),
                        )
                        .label(setting.name.span, "unknown setting")
                        .help(
                            did_you_mean(other, known)
                                .unwrap_or_else(|| format!("the settings are {}", list_words(&known))),
                        ),
                    );
                }
            }
        }
    }

    fn declare_kind(&mut self, k: &'a syntax::Kind) -> KindSlot<'a> {
        let mut fields: Vec<FieldSlot<'a>> = Vec::new();
        let (mut stored, mut derived) = (0u32, 0u32);
        for field in &k.fields {
            let name = field.name.name.as_str();
            if let Some(first) = fields.iter().find(|f| f.ast.name.name == name) {
                self.error(
                    Problem::error(
                        "cascade::check::duplicate",
                        format!("field `{name}` is declared twice in `{}`", k.name.name),
                    )
                    .label(field.name.span, "declared again here")
                    .label(first.ast.name.span, "first declared here"),
                );
                continue;
            }
            if name == "defaulted" || name == "defaulted_at" {
                self.error(
                    Problem::error(
                        "cascade::check::reserved_name",
                        format!("`{name}` is a built-in field of every entity"),
                    )
                    .label(field.name.span, "cannot be declared")
                    .help("it is set by `default(e)`; choose another name"),
                );
                continue;
            }
            let index = if field.derived { &mut derived } else { &mut stored };
            fields.push(FieldSlot {
                ast: field,
                index: *index,
                state: Lowered::Pending,
                root: None,
                reads: Vec::new(),
            });
            *index += 1;
        }
        KindSlot { ast: k, fields, stored_count: stored, derived_count: derived, entities: Vec::new() }
    }

    /// Counts a reference to a declared value as a use, also when the reference
    /// is wrong and reported: no "never used" warning on top of the error.
    fn mark_used(&mut self, decl: Decl) {
        let node = match decl {
            Decl::Param(p) => GraphNode::Param(p),
            Decl::Var(v) => GraphNode::Var(v),
            Decl::Let(l) => GraphNode::Let(l),
            Decl::Series(s) => GraphNode::Series(s),
            Decl::Kind(_) | Decl::Entity(_) => return,
        };
        self.used.push(node);
    }

    /// True for a name that an item with a syntax error declares: the syntax
    /// error is reported, so the name is not also called unknown.
    fn declared_by_unparsed_item(&self, name: &str) -> bool {
        self.file.unparsed_names.iter().any(|n| n == name)
    }

    fn resolve_kind(&mut self, name: &syntax::Ident) -> Option<Id> {
        match self.names.get(name.name.as_str()) {
            Some(&(Decl::Kind(k), _)) => Some(k),
            Some(&(other, _)) => {
                self.mark_used(other);
                self.error(
                    Problem::error(
                        "cascade::check::not_a_kind",
                        format!("`{}` is a {}, not a kind", name.name, other.what()),
                    )
                    .label(name.span, "expected a kind here"),
                );
                None
            }
            None if self.declared_by_unparsed_item(&name.name) => None,
            None => {
                let kinds: Vec<&str> = self.kinds.iter().map(|k| k.ast.name.name.as_str()).collect();
                let help = did_you_mean(&name.name, kinds.iter().copied())
                    .unwrap_or_else(|| format!("the kinds are {}", list_words(&kinds)));
                self.error(
                    Problem::error("cascade::check::unknown_kind", format!("unknown kind `{}`", name.name))
                        .label(name.span, "no kind has this name")
                        .help(help),
                );
                None
            }
        }
    }

    fn resolve_entity(&mut self, name: &syntax::Ident) -> Option<Id> {
        match self.names.get(name.name.as_str()) {
            Some(&(Decl::Entity(e), _)) => Some(e),
            Some(&(other, _)) => {
                self.mark_used(other);
                self.error(
                    Problem::error(
                        "cascade::check::not_an_entity",
                        format!("`{}` is a {}, not an entity", name.name, other.what()),
                    )
                    .label(name.span, "expected an entity here"),
                );
                None
            }
            None if self.declared_by_unparsed_item(&name.name) => None,
            None => {
                let entities: Vec<&str> = self.entities.iter().map(|e| e.name).collect();
                self.error(
                    Problem::error("cascade::check::unknown_name", format!("unknown entity `{}`", name.name))
                        .label(name.span, "no entity has this name")
                        .maybe_help(did_you_mean(&name.name, entities)),
                );
                None
            }
        }
    }

    // ---------------------------------------------------------------------
    // Pass 2: lowering

    fn lower_all(&mut self) {
        self.lower_params_and_vars();
        for id in 0..self.lets.len() {
            self.lower_let(id as Id);
        }
        for index in 0..self.series.len() {
            self.lower_series(index);
        }
        for k in 0..self.kinds.len() {
            for f in 0..self.kinds[k].fields.len() {
                self.lower_field(k as Id, f);
            }
        }
        self.lower_entities();
        self.lower_exposures();
        for item in &self.file.items {
            match item {
                Item::Rule(rule) => self.lower_rule(rule),
                Item::Expect(e) => self.lower_expect(e),
                Item::Assert(a) => self.lower_assert(a),
                _ => {}
            }
        }
    }

    fn lower_params_and_vars(&mut self) {
        for id in 0..self.params.len() {
            let ast = self.params[id].ast;
            let mut ctx = Ctx::new(Mode::Param { before: id as Id });
            let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
            self.params[id].state = ty.map_or(Lowered::Failed, Lowered::Done);
            if let Some(ty) = ty {
                self.require_scalar(ty, ast.value.span, "a param");
            }
            self.params[id].root = Some(ctx.root(node));
        }
        for id in 0..self.vars.len() {
            let ast = self.vars[id].ast;
            let mut ctx = Ctx::new(Mode::Init { vars_before: id as Id, fields_before: None });
            let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
            self.vars[id].state = ty.map_or(Lowered::Failed, Lowered::Done);
            if let Some(ty) = ty {
                self.require_scalar(ty, ast.value.span, "a var");
            }
            self.vars[id].root = Some(ctx.root(node));
        }
    }

    /// Lowers a `let` (once); returns its type.
    fn lower_let(&mut self, id: Id) -> Option<Type> {
        let slot = &mut self.lets[id as usize];
        match slot.state {
            Lowered::Done(ty) => return Some(ty),
            Lowered::Failed | Lowered::InProgress => return None,
            Lowered::Pending => slot.state = Lowered::InProgress,
        }
        let ast = slot.ast;
        if self.lowering_depth > MAX_FORWARD_DEPTH {
            self.error(too_many_forward_references(ast.name.span));
            self.lets[id as usize].state = Lowered::Failed;
            return None;
        }
        self.lowering_depth += 1;
        let mut ctx = Ctx::new(Mode::Dynamic);
        let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
        self.lowering_depth -= 1;
        if let Some(ty) = ty {
            self.require_scalar(ty, ast.value.span, "a let");
        }
        let slot = &mut self.lets[id as usize];
        slot.reads = std::mem::take(&mut ctx.reads);
        slot.root = Some(ctx.root(node));
        slot.state = ty.map_or(Lowered::Failed, Lowered::Done);
        ty
    }

    /// Lowers a kind's field (once); returns its type.
    fn lower_field(&mut self, kind: Id, field: usize) -> Option<Type> {
        let slot = &mut self.kinds[kind as usize].fields[field];
        match slot.state {
            Lowered::Done(ty) => return Some(ty),
            Lowered::Failed | Lowered::InProgress => return None,
            Lowered::Pending => slot.state = Lowered::InProgress,
        }
        let ast = slot.ast;
        let index = slot.index;
        if self.lowering_depth > MAX_FORWARD_DEPTH {
            self.error(too_many_forward_references(ast.name.span));
            self.kinds[kind as usize].fields[field].state = Lowered::Failed;
            return None;
        }
        self.lowering_depth += 1;
        let mode = if ast.derived {
            Mode::Dynamic
        } else {
            Mode::Init { vars_before: self.vars.len() as Id, fields_before: Some(index) }
        };
        let mut ctx = Ctx::new(mode).with_self(kind);
        let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
        self.lowering_depth -= 1;
        if let Some(ty) = ty {
            self.require_scalar(ty, ast.value.span, "a field");
        }
        let slot = &mut self.kinds[kind as usize].fields[field];
        slot.reads = std::mem::take(&mut ctx.reads);
        slot.root = Some(ctx.root(node));
        slot.state = ty.map_or(Lowered::Failed, Lowered::Done);
        ty
    }

    fn field_type(&mut self, kind: Id, field: usize) -> Option<Type> {
        match self.kinds[kind as usize].fields[field].state {
            Lowered::Done(ty) => Some(ty),
            _ => self.lower_field(kind, field),
        }
    }

    fn lower_series(&mut self, index: usize) {
        let ast = self.series[index].0;
        let mut points: Vec<(i64, Root)> = Vec::new();
        let mut previous: Option<(i64, Span)> = None;
        // Dates without a scenario start: one problem for the whole series.
        let is_date = |point: &&syntax::SeriesPoint| matches!(point.at.kind, TimePointKind::Date(_));
        let dates: Vec<Span> = ast.points.iter().filter(is_date).map(|p| p.at.span).collect();
        let dates_unplaced = self.scenario.start.is_none() && !dates.is_empty();
        if dates_unplaced {
            let mut problem = Problem::error(
                "cascade::check::date_without_start",
                format!(
                    "the points of series `{}` are dates, but the scenario has no start date",
                    ast.name.name
                ),
            )
            .label(dates[0], "a date needs `start` in the scenario block");
            for &at in &dates[1..] {
                problem = problem.label(at, "another date");
            }
            self.error(
                problem.help("add `scenario \"...\" { start = 2026-01, step = month }`, or use step numbers"),
            );
        }
        for point in &ast.points {
            let step = if dates_unplaced && is_date(&point) {
                None
            } else {
                self.time_point_step(&point.at, "a series point")
            };
            let mut ctx = Ctx::new(Mode::Constant);
            let (node, ty) = self.lower_expr(&point.value, &mut ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Number, point.value.span, "a series value");
            }
            if let Some(step) = step {
                if let Some((before, before_span)) = previous
                    && step <= before
                {
                    self.error(
                        Problem::error(
                            "cascade::check::series_order",
                            format!("the points of series `{}` are out of order", ast.name.name),
                        )
                        .label(point.at.span, format!("this point is step {step}"))
                        .label(before_span, format!("but this earlier point is step {before}"))
                        .help("list the points from the earliest to the latest, each once"),
                    );
                }
                previous = Some((step, point.at.span));
                points.push((step, ctx.root(node)));
            }
        }
        if ast.points.is_empty() {
            self.error(
                Problem::error(
                    "cascade::check::empty_series",
                    format!("series `{}` has no points", ast.name.name),
                )
                .label(ast.name.span, "needs at least one point")
                .help("for example `{ 2026-01: 2.00, 2026-12: 1.40 }`"),
            );
        }
        let mode = ast.mode.map_or(syntax::Interpolation::Linear, |(m, _)| m);
        self.series[index].1 =
            Some(SeriesDef { name: ast.name.name.clone(), span: ast.name.span, mode, points });
    }

    /// The step number of a time point (a date needs the scenario's start).
    fn time_point_step(&mut self, at: &TimePoint, what: &str) -> Option<i64> {
        match at.kind {
            TimePointKind::Step(n) => match i64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(
                        Problem::error("cascade::check::bad_time", "step number is too large")
                            .label(at.span, "never reached"),
                    );
                    None
                }
            },
            TimePointKind::Date(date) => {
                match self.scenario.start {
                    Some(start) => Some(self.scenario.unit.step_of_date(start, date)),
                    None => {
                        self.error(
                        Problem::error(
                            "cascade::check::date_without_start",
                            format!("{what} is a date, but the scenario has no start date"),
                        )
                        .label(at.span, "a date needs `start` in the scenario block")
                        .help("add `scenario \"...\" { start = 2026-01, step = month }`, or use a step number"),
                    );
                        None
                    }
                }
            }
        }
    }

    fn lower_entities(&mut self) {
        for e in 0..self.entities.len() {
            let EntitySlot { ast, kind, .. } = self.entities[e];
            let (Some(ast), Some(kind)) = (ast, kind) else {
                self.entity_inits.push(Vec::new());
                continue;
            };
            // Overrides must name stored fields of the kind.
            let mut overrides: HashMap<&str, &syntax::Expr> = HashMap::new();
            for init in &ast.fields {
                let name = init.name.name.as_str();
                let kind_slot = &self.kinds[kind as usize];
                match kind_slot.fields.iter().find(|f| f.ast.name.name == name) {
                    Some(f) if f.ast.derived => {
                        let kind_name = kind_slot.ast.name.name.clone();
                        self.error(
                            Problem::error(
                                "cascade::check::assign_derived",
                                format!("`{name}` is a derived field of `{kind_name}`"),
                            )
                            .label(init.name.span, "cannot be given an initial value")
                            .label(f.ast.span, "it is computed by this formula")
                            .help("set the stored fields it is computed from instead"),
                        );
                    }
                    Some(_) => {
                        if overrides.insert(name, &init.value).is_some() {
                            let first = ast.fields.iter().find(|f| f.name.name == name).map(|f| f.name.span);
                            self.error(
                                Problem::error(
                                    "cascade::check::duplicate",
                                    format!("`{name}` is set twice for `{}`", ast.name.name),
                                )
                                .label(init.name.span, "set again here")
                                .label(first.unwrap_or(init.name.span), "first set here")
                                .help("keep one of them"),
                            );
                        }
                    }
                    None => {
                        let problem = self.unknown_field(kind, &init.name);
                        self.error(problem);
                    }
                }
            }
            let mut inits = Vec::new();
            for f in 0..self.kinds[kind as usize].fields.len() {
                let field = &self.kinds[kind as usize].fields[f];
                if field.ast.derived {
                    continue;
                }
                let root = match overrides.get(field.ast.name.name.as_str()) {
                    Some(expr) => {
                        let index = field.index;
                        let declared = self.field_type(kind, f);
                        let mode =
                            Mode::Init { vars_before: self.vars.len() as Id, fields_before: Some(index) };
                        let mut ctx = Ctx::new(mode).with_self(kind);
                        let (node, ty) = self.lower_expr(expr, &mut ctx);
                        if let (Some(ty), Some(declared)) = (ty, declared) {
                            self.require(ty, declared, expr.span, "this field");
                        }
                        ctx.root(node)
                    }
                    None => field.root.clone().unwrap_or_else(|| Root::constant(Value::None)),
                };
                inits.push(root);
            }
            self.entity_inits.push(inits);
        }
    }

    fn lower_exposures(&mut self) {
        let mut debtor_kinds: Vec<Id> = Vec::new();
        let mut creditor_kinds: Vec<Id> = Vec::new();
        // A large world has a million: no doubling on top of the syntax tree.
        let count = self.file.items.iter().filter(|item| matches!(item, Item::Exposure(_))).count();
        self.exposures.reserve_exact(count);
        for item in &self.file.items {
            let Item::Exposure(x) = item else { continue };
            let creditor = self.resolve_entity(&x.creditor);
            let debtor = self.resolve_entity(&x.debtor);
            let mut ctx = Ctx::new(Mode::Constant);
            let (amount, ty) = self.lower_expr(&x.amount, &mut ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Number, x.amount.span, "an exposure amount");
            }
            let amount = ConstNumber::fold(ctx.root(amount));
            let recovery = x.recovery.as_ref().map(|r| {
                let mut ctx = Ctx::new(Mode::Constant);
                let (node, ty) = self.lower_expr(r, &mut ctx);
                if let Some(ty) = ty {
                    self.require(ty, Type::Number, r.span, "a recovery rate");
                }
                ConstNumber::fold(ctx.root(node))
            });
            let recovery_span = x.recovery.as_ref().map_or(x.span, |r| r.span);
            if let (Some(c), Some(d)) = (creditor, debtor) {
                if c == d {
                    self.error(
                        Problem::error(
                            "cascade::check::self_exposure",
                            format!("`{}` cannot be exposed to itself", x.creditor.name),
                        )
                        .label(x.creditor.span.to(x.debtor.span), "creditor and debtor are the same"),
                    );
                    continue;
                }
                for (kinds, e) in [(&mut creditor_kinds, c), (&mut debtor_kinds, d)] {
                    if let Some(k) = self.entities[e as usize].kind
                        && !kinds.contains(&k)
                    {
                        kinds.push(k);
                    }
                }
                self.exposures.push(ExposureDef { creditor: c, debtor: d, amount, recovery, recovery_span });
            }
        }
        self.debtor_kind = (debtor_kinds.len() == 1).then(|| debtor_kinds[0]);
        self.creditor_kind = (creditor_kinds.len() == 1).then(|| creditor_kinds[0]);
    }

    fn lower_expect(&mut self, e: &syntax::Expect) {
        let at = e.at.as_ref().and_then(|t| self.time_point_step(t, "an expectation"));
        let mut ctx = Ctx::new(Mode::Dynamic);
        let (node, ty) = self.lower_expr(&e.cond, &mut ctx);
        if let Some(ty) = ty {
            self.require(ty, Type::Bool, e.cond.span, "an expectation");
        }
        self.used.append(&mut ctx.reads);
        self.expects.push(ExpectDef { cond: ctx.root(node), at, span: e.span });
    }

    fn lower_assert(&mut self, a: &syntax::Assert) {
        let mut ctx = Ctx::new(Mode::Dynamic);
        let (node, ty) = self.lower_expr(&a.cond, &mut ctx);
        if let Some(ty) = ty {
            self.require(ty, Type::Bool, a.cond.span, "an assertion");
        }
        let message = a.message.as_ref().map(|m| self.lower_template(m, &mut ctx)).unwrap_or_default();
        self.used.append(&mut ctx.reads);
        self.asserts.push(AssertDef { cond: ctx.root(node), message, span: a.span });
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
                    "cascade::check::type_mismatch",
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
                    "cascade::check::type_mismatch",
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
        let help = did_you_mean(&name.name, fields.iter().copied().chain(["defaulted", "defaulted_at"]))
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
            "cascade::check::unknown_field",
            format!("`{}` has no field `{}`", k.ast.name.name, name.name),
        )
        .label(name.span, "unknown field")
        .help(help)
    }

    fn line_of(&self, span: Span) -> usize {
        self.source.line_of(span.start)
    }

    // ---------------------------------------------------------------------
    // Pass 3: assemble

    fn finish(mut self) -> (Option<Ir>, Vec<Problem>) {
        let graph = self.build_graph();
        let schedule = self.schedule(&graph);
        self.check_warnings(&graph);
        // A file with syntax errors has no program, even when what did parse is
        // clean: names of the missing items are left unresolved, not reported.
        let has_errors = self.file.incomplete || self.problems.iter().any(Problem::is_error);
        if has_errors {
            return (None, self.problems);
        }
        let ir = self.assemble(graph, schedule);
        (Some(ir), self.problems)
    }

    fn assemble(&mut self, graph: DependencyGraph, schedule: Vec<RuleGroup>) -> Ir {
        let globals = |slots: &mut Vec<GlobalSlot<'a>>| -> Vec<Global> {
            slots
                .iter_mut()
                .map(|s| Global {
                    name: s.ast.name.name.clone(),
                    span: s.ast.name.span,
                    ty: match s.state {
                        Lowered::Done(ty) => ty,
                        _ => Type::Number,
                    },
                    expr: s.root.take().unwrap_or_else(|| Root::constant(Value::None)),
                })
                .collect()
        };
        let params = globals(&mut self.params);
        let vars = globals(&mut self.vars);
        let lets = globals(&mut self.lets);
        let kinds: Vec<KindDef> = self
            .kinds
            .iter_mut()
            .map(|k| KindDef {
                name: k.ast.name.name.clone(),
                span: k.ast.name.span,
                stored_count: k.stored_count,
                derived_count: k.derived_count,
                entities: k.entities.clone(),
                fields: k
                    .fields
                    .iter_mut()
                    .map(|f| FieldDef {
                        name: f.ast.name.name.clone(),
                        span: f.ast.name.span,
                        ty: match f.state {
                            Lowered::Done(ty) => ty,
                            _ => Type::Number,
                        },
                        derived: f.ast.derived,
                        index: f.index,
                        expr: f.root.take().unwrap_or_else(|| Root::constant(Value::None)),
                    })
                    .collect(),
            })
            .collect();
        let mut slot = vars.len() as u32;
        let mut derived = lets.len() as u32;
        let mut entities = Vec::new();
        for (e, slot_info) in self.entities.iter().enumerate() {
            let kind = slot_info.kind.unwrap_or(0);
            let k = &kinds[kind as usize];
            entities.push(EntityDef {
                name: slot_info.name.to_string(),
                span: slot_info.ast.map_or(Span::default(), |a| a.name.span),
                kind,
                inits: std::mem::take(&mut self.entity_inits[e]),
                slot_base: slot,
                derived_base: derived,
                as_creditor: Vec::new(),
                as_debtor: Vec::new(),
            });
            slot += k.stored_count + 2;
            derived += k.derived_count;
        }
        let mut counts = vec![(0usize, 0usize); entities.len()];
        for exposure in &self.exposures {
            counts[exposure.creditor as usize].0 += 1;
            counts[exposure.debtor as usize].1 += 1;
        }
        for (entity, (creditor, debtor)) in entities.iter_mut().zip(counts) {
            entity.as_creditor.reserve_exact(creditor);
            entity.as_debtor.reserve_exact(debtor);
        }
        for (x, exposure) in self.exposures.iter().enumerate() {
            entities[exposure.creditor as usize].as_creditor.push(x as Id);
            entities[exposure.debtor as usize].as_debtor.push(x as Id);
        }
        let literal_exposures = literal_exposures(&self.exposures);
        Ir {
            source: self.source.clone(),
            scenario: self.scenario.clone(),
            params,
            vars,
            lets,
            series: self.series.iter_mut().filter_map(|(_, s)| s.take()).collect(),
            kinds,
            entities,
            exposures: std::mem::take(&mut self.exposures),
            literal_exposures,
            creditor_kind: self.creditor_kind,
            debtor_kind: self.debtor_kind,
            rules: self.rules.drain(..).map(|(r, _, _)| r).collect(),
            schedule,
            expects: std::mem::take(&mut self.expects),
            asserts: std::mem::take(&mut self.asserts),
            graph,
            host: self.host.clone(),
            slot_count: slot,
            derived_count: derived,
        }
    }
}

/// What a run needs to know of exposures that are all literals (see [`Ir`]).
fn literal_exposures(exposures: &[ExposureDef]) -> Option<LiteralExposures> {
    let mut fuel = 0u64;
    let mut bad_recovery = None;
    for (x, exposure) in exposures.iter().enumerate() {
        let ConstNumber::Literal(_) = exposure.amount else { return None };
        fuel += 1;
        match &exposure.recovery {
            None => {}
            Some(ConstNumber::Literal(r)) => {
                fuel += 1;
                if bad_recovery.is_none()
                    && (*r < rust_decimal::Decimal::ZERO || *r > rust_decimal::Decimal::ONE)
                {
                    bad_recovery = Some(x as Id);
                }
            }
            Some(ConstNumber::Expr(_)) => return None,
        }
    }
    Some(LiteralExposures { fuel, bad_recovery })
}

impl<'a> GlobalSlot<'a> {
    fn new(ast: &'a syntax::ValueDecl) -> GlobalSlot<'a> {
        GlobalSlot { ast, state: Lowered::Pending, root: None, reads: Vec::new() }
    }
}

impl Root {
    pub(crate) fn constant(value: Value) -> Root {
        Root { node: Node { kind: NodeKind::Const(value), span: Span::default() }, locals: 0 }
    }
}

fn too_many_forward_references(span: Span) -> Problem {
    Problem::error(
        "cascade::check::too_deep",
        format!("derived values refer forward to each other more than {MAX_FORWARD_DEPTH} levels deep"),
    )
    .label(span, "while checking this")
    .help("declare derived values before the ones that use them")
}

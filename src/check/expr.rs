//! Expressions: name resolution, types, and lowering to [`Node`]s.

use std::sync::Arc;

use crate::builtins::Place;
use crate::codes;
use crate::diagnostic::Problem;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{self, BinaryOp, Expr, ExprKind, TemplatePart, UnaryOp};
use crate::value::{Type, Value};

use super::{Checker, Decl};

/// What an expression may read, by where it stands.
#[derive(Clone, Copy, Debug)]
pub(super) enum Mode {
    /// A param's value: earlier params only.
    Param { before: Id },
    /// An initial value: params, vars declared before `vars_before`, and (in a
    /// kind or entity) stored fields listed before `fields_before`.
    Init { vars_before: Id, fields_before: Option<u32> },
    /// Series points, exposure amounts: params only.
    Constant,
    /// Formulas, rules, expectations: everything.
    Dynamic,
}

/// The scope of one root expression.
pub(super) struct Ctx {
    pub mode: Mode,
    /// Where the expression stands, for the places a built-in may be called.
    pub place: Place,
    locals: Vec<(String, Type)>,
    max_locals: usize,
    self_kind: Option<Id>,
    /// Locals whose value had an error (already reported): reading one says nothing more.
    poisoned: Vec<u16>,
    /// What the expression reads, at the level of declarations.
    pub reads: Vec<GraphNode>,
}

impl Ctx {
    pub fn new(mode: Mode) -> Ctx {
        let place = match mode {
            Mode::Param { .. } => Place::Param,
            Mode::Init { .. } => Place::Initial,
            Mode::Constant => Place::Constant,
            Mode::Dynamic => Place::Formula,
        };
        Ctx {
            mode,
            place,
            locals: Vec::new(),
            max_locals: 0,
            self_kind: None,
            poisoned: Vec::new(),
            reads: Vec::new(),
        }
    }

    /// The same scope, at another place (a condition, an effect, a check, a query).
    pub fn at(mut self, place: Place) -> Ctx {
        self.place = place;
        self
    }

    /// Inside a kind: local 0 is `self`, and bare field names resolve.
    pub fn with_self(mut self, kind: Id) -> Ctx {
        self.self_kind = Some(kind);
        self.push_local("self", Type::Entity(Some(kind)));
        self
    }

    pub fn push_local(&mut self, name: &str, ty: Type) -> u16 {
        self.locals.push((name.to_string(), ty));
        self.max_locals = self.max_locals.max(self.locals.len());
        (self.locals.len() - 1) as u16
    }

    pub fn pop_local(&mut self) {
        self.locals.pop();
    }

    /// Marks a local whose value is wrong (and reported).
    pub fn poison_local(&mut self, local: u16) {
        self.poisoned.push(local);
    }

    pub fn has_local(&self, name: &str) -> bool {
        self.locals.iter().any(|(n, _)| n == name)
    }

    /// The kinds of the entity locals in scope (a rule's binders).
    pub fn entity_locals(&self) -> Vec<Id> {
        self.locals
            .iter()
            .filter_map(|(_, ty)| if let Type::Entity(Some(k)) = ty { Some(*k) } else { None })
            .collect()
    }

    pub(super) fn local(&self, name: &str) -> Option<(u16, Type)> {
        self.locals.iter().rposition(|(n, _)| n == name).map(|i| (i as u16, self.locals[i].1))
    }

    pub(super) fn read(&mut self, node: GraphNode) {
        if !self.reads.contains(&node) {
            self.reads.push(node);
        }
    }

    pub fn root(&self, node: Node) -> Root {
        Root { node, locals: self.max_locals as u16 }
    }

    pub(super) fn describe_mode(&self) -> &'static str {
        match self.mode {
            Mode::Param { .. } => "a param's value can only use params declared above it",
            Mode::Init { fields_before: Some(_), .. } => {
                "an initial value can only use params, vars and the fields listed above it"
            }
            Mode::Init { .. } => "a var's initial value can only use params and vars declared above it",
            Mode::Constant => "this value is fixed before the run starts: it can only use params",
            Mode::Dynamic => "",
        }
    }
}

pub(super) type Typed = (Node, Option<Type>);

pub(super) fn node(kind: NodeKind, span: Span) -> Node {
    Node { kind, span }
}

pub(super) fn error_node(span: Span) -> Typed {
    (node(NodeKind::Const(Value::None), span), None)
}

impl<'a> Checker<'a> {
    /// Resolves and types an expression. `None` as the type means an error was
    /// already reported inside it.
    pub(super) fn lower_expr(&mut self, expr: &Expr, ctx: &mut Ctx) -> Typed {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.lower_expr_inner(expr, ctx))
    }

    fn lower_expr_inner(&mut self, expr: &Expr, ctx: &mut Ctx) -> Typed {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Number(n) => (node(NodeKind::Const(Value::Number(*n)), span), Some(Type::Number)),
            ExprKind::Bool(b) => (node(NodeKind::Const(Value::Bool(*b)), span), Some(Type::Bool)),
            ExprKind::Date(d) => (node(NodeKind::Const(Value::Date(*d)), span), Some(Type::Date)),
            ExprKind::Str(template) => {
                if let Some(text) = template.as_plain() {
                    (node(NodeKind::Const(Value::Str(Arc::from(text))), span), Some(Type::Str))
                } else {
                    let pieces = self.lower_template(template, ctx);
                    (node(NodeKind::Template(pieces), span), Some(Type::Str))
                }
            }
            ExprKind::Name(name) => self.lower_name(name, span, ctx),
            ExprKind::SelfRef => match ctx.self_kind {
                Some(kind) => (node(NodeKind::Local(0), span), Some(Type::Entity(Some(kind)))),
                None => {
                    self.error(
                        Problem::error(codes::check::self_outside_kind, "`self` is used outside a kind")
                            .label(span, "`self` means the entity whose field is being computed")
                            .help("use it in a field of a kind: `let lost = exposure_losses(self)`"),
                    );
                    error_node(span)
                }
            },
            ExprKind::Field(object, field) => self.lower_field_access(object, field, span, ctx),
            ExprKind::Unary(op, operand) => {
                let (inner, ty) = self.lower_expr(operand, ctx);
                let wanted = if *op == UnaryOp::Neg { Type::Number } else { Type::Bool };
                let ty = ty.and_then(|ty| {
                    let what =
                        if *op == UnaryOp::Neg { "the operand of `-`" } else { "the operand of `not`" };
                    self.require(ty, wanted, operand.span, what).then_some(wanted)
                });
                (node(NodeKind::Unary(*op, Box::new(inner)), span), ty)
            }
            ExprKind::Binary(op, lhs, rhs) => self.lower_binary(*op, lhs, rhs, span, ctx),
            ExprKind::Call(func, args) => self.lower_call(func, args, span, ctx),
            ExprKind::Aggregate(aggregate) => self.lower_aggregate(aggregate, span, ctx),
            ExprKind::If(branches) => self.lower_if(branches, span, ctx),
        }
    }

    pub(super) fn lower_template(&mut self, template: &syntax::Template, ctx: &mut Ctx) -> Vec<Piece> {
        let mut pieces = Vec::new();
        for part in &template.parts {
            match part {
                TemplatePart::Text(text) => pieces.push(Piece::Text(Arc::from(text.as_str()))),
                TemplatePart::Expr(expr) => {
                    let (n, _) = self.lower_expr(expr, ctx);
                    pieces.push(Piece::Expr(n));
                }
            }
        }
        pieces
    }

    fn lower_name(&mut self, name: &str, span: Span, ctx: &mut Ctx) -> Typed {
        if let Some((index, ty)) = ctx.local(name) {
            let ty = (!ctx.poisoned.contains(&index)).then_some(ty);
            return (node(NodeKind::Local(index), span), ty);
        }
        if let Some(kind) = ctx.self_kind {
            if let Some(f) = self.kinds[kind as usize].fields.iter().position(|f| f.ast.name.name == name) {
                let object = node(NodeKind::Local(0), span);
                return self.lower_entity_field(object, kind, f, span, ctx);
            }
            if name == "defaulted" || name == "defaulted_at" {
                let field = if name == "defaulted" { FieldRef::Defaulted } else { FieldRef::DefaultedAt };
                let ty = if name == "defaulted" { Type::Bool } else { Type::Number };
                ctx.read(GraphNode::Field(kind, field));
                let object = Box::new(node(NodeKind::Local(0), span));
                return (node(NodeKind::Field { object, field }, span), Some(ty));
            }
        }
        match name {
            "step" | "date" => {
                if !matches!(ctx.mode, Mode::Dynamic) {
                    return self.not_allowed(name, span, ctx);
                }
                if name == "date" && self.scenario.start.is_none() {
                    self.error(
                        Problem::error(codes::check::date_without_start, "`date` needs a start date")
                            .label(span, "the scenario has no `start`")
                            .help("add `start = 2026-01` to the scenario block, or use `step`"),
                    );
                    return error_node(span);
                }
                ctx.read(GraphNode::Time);
                let (kind, ty) = if name == "step" {
                    (NodeKind::Step, Type::Number)
                } else {
                    (NodeKind::Date, Type::Date)
                };
                return (node(kind, span), Some(ty));
            }
            _ => {}
        }
        let Some(&(decl, _)) = self.names.get(name) else {
            if self.declared_by_unparsed_item(name) {
                return error_node(span);
            }
            let help = if self.suggestions_spent() {
                None
            } else {
                let fields = ctx.self_kind.map(|kind| &self.kinds[kind as usize].fields);
                let candidates = self
                    .names
                    .keys()
                    .map(|s| &**s)
                    .chain(ctx.locals.iter().map(|(n, _)| n.as_str()))
                    .chain(fields.into_iter().flatten().map(|f| f.ast.name.name.as_str()))
                    .chain(["step", "date"]);
                self.did_you_mean(name, candidates)
            };
            self.error(
                Problem::error(codes::check::unknown_name, format!("unknown name `{name}`"))
                    .label(span, "not declared anywhere")
                    .maybe_help(help),
            );
            return error_node(span);
        };
        let allowed = match (ctx.mode, decl) {
            (Mode::Dynamic, _) => true,
            (_, Decl::Param(p)) => match ctx.mode {
                Mode::Param { before } => p < before,
                _ => true,
            },
            (Mode::Init { vars_before, .. }, Decl::Var(v)) => v < vars_before,
            (Mode::Init { .. }, Decl::Entity(_)) => false,
            (_, Decl::Kind(_)) => true, // reported below
            _ => false,
        };
        if !allowed {
            self.mark_used(decl);
            return self.not_allowed(name, span, ctx);
        }
        match decl {
            Decl::Param(p) => {
                ctx.read(GraphNode::Param(p));
                self.used.push(GraphNode::Param(p));
                let ty = match self.params[p as usize].state {
                    super::Lowered::Done(ty) => Some(ty),
                    _ => None,
                };
                (node(NodeKind::Param(p), span), ty)
            }
            Decl::Var(v) => {
                ctx.read(GraphNode::Var(v));
                self.used.push(GraphNode::Var(v));
                let ty = match self.vars[v as usize].state {
                    super::Lowered::Done(ty) => Some(ty),
                    _ => None,
                };
                (node(NodeKind::Var(v), span), ty)
            }
            Decl::Let(l) => {
                ctx.read(GraphNode::Let(l));
                self.used.push(GraphNode::Let(l));
                let ty = self.lower_let(l);
                (node(NodeKind::Let(l), span), ty)
            }
            Decl::Series(s) => {
                ctx.read(GraphNode::Series(s));
                self.used.push(GraphNode::Series(s));
                (node(NodeKind::Series(s), span), Some(Type::Number))
            }
            Decl::Entity(e) => {
                let kind = self.entities[e as usize].kind;
                (node(NodeKind::Const(Value::Entity(e)), span), kind.map(|k| Type::Entity(Some(k))))
            }
            Decl::Kind(_) => {
                self.error(
                    Problem::error(codes::check::kind_as_value, format!("`{name}` is a kind, not a value"))
                        .label(span, "a kind stands for all its entities")
                        .help(format!("aggregate over it, e.g. `sum(x.cash for x in {name})`")),
                );
                error_node(span)
            }
        }
    }

    pub(super) fn not_allowed(&mut self, name: &str, span: Span, ctx: &Ctx) -> Typed {
        self.error(
            Problem::error(codes::check::not_constant, format!("`{name}` cannot be used here"))
                .label(span, "not available when this value is computed")
                .help(ctx.describe_mode()),
        );
        error_node(span)
    }

    fn lower_entity_field(&mut self, object: Node, kind: Id, f: usize, span: Span, ctx: &mut Ctx) -> Typed {
        let slot = &self.kinds[kind as usize].fields[f];
        let (derived, index) = (slot.ast.derived, slot.index);
        if let Mode::Init { fields_before, .. } = ctx.mode {
            let earlier_stored = !derived
                && fields_before.is_some_and(|before| index < before)
                && matches!(object.kind, NodeKind::Local(0));
            if !earlier_stored {
                let name = slot.ast.name.name.clone();
                return self.not_allowed(&name, span, ctx);
            }
        } else if !matches!(ctx.mode, Mode::Dynamic) {
            let name = slot.ast.name.name.clone();
            return self.not_allowed(&name, span, ctx);
        }
        let field = if derived { FieldRef::Derived(index) } else { FieldRef::Stored(index) };
        ctx.read(GraphNode::Field(kind, field));
        self.used.push(GraphNode::Field(kind, field));
        let ty = self.field_type(kind, f);
        (node(NodeKind::Field { object: Box::new(object), field }, span), ty)
    }

    fn lower_field_access(
        &mut self,
        object: &Expr,
        field: &syntax::Ident,
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let (object_node, object_ty) = self.lower_expr(object, ctx);
        let Some(object_ty) = object_ty else { return error_node(span) };
        let name = field.name.as_str();
        match object_ty {
            Type::Entity(kind) => {
                if name == "defaulted" || name == "defaulted_at" {
                    let (field_ref, ty) = if name == "defaulted" {
                        (FieldRef::Defaulted, Type::Bool)
                    } else {
                        (FieldRef::DefaultedAt, Type::Number)
                    };
                    if !matches!(ctx.mode, Mode::Dynamic) {
                        return self.not_allowed(name, field.span, ctx);
                    }
                    match kind {
                        Some(k) => ctx.read(GraphNode::Field(k, field_ref)),
                        None => {
                            for k in 0..self.kinds.len() {
                                ctx.read(GraphNode::Field(k as Id, field_ref));
                            }
                        }
                    }
                    return (
                        node(NodeKind::Field { object: Box::new(object_node), field: field_ref }, span),
                        Some(ty),
                    );
                }
                let Some(kind) = kind else {
                    self.error(
                        Problem::error(
                            codes::check::unknown_field,
                            format!("cannot tell which kind this entity is, so `{name}` is unknown"),
                        )
                        .label(field.span, "only `defaulted` and `defaulted_at` are known for any entity")
                        .help("the exposures link entities of several kinds; aggregate over a kind instead"),
                    );
                    return error_node(span);
                };
                match self.kinds[kind as usize].fields.iter().position(|f| f.ast.name.name == name) {
                    Some(f) => self.lower_entity_field(object_node, kind, f, span, ctx),
                    None => {
                        let problem = self.unknown_field(kind, field);
                        self.error(problem);
                        error_node(span)
                    }
                }
            }
            Type::Exposure => {
                let (which, ty) = match name {
                    "creditor" => (ExposureField::Creditor, Type::Entity(self.creditor_kind)),
                    "debtor" => (ExposureField::Debtor, Type::Entity(self.debtor_kind)),
                    "amount" => (ExposureField::Amount, Type::Number),
                    "recovery" => (ExposureField::Recovery, Type::Number),
                    _ if self.exposure_fields.iter().any(|c| c.name == name) => {
                        let c = self.exposure_fields.iter().position(|c| c.name == name).unwrap_or(0);
                        (ExposureField::Extra(c as u32), self.exposure_fields[c].ty)
                    }
                    _ => {
                        let mut fields = vec!["creditor", "debtor", "amount", "recovery"];
                        fields.extend(self.exposure_fields.iter().map(|c| c.name.as_str()));
                        let list = fields.join(", ");
                        self.error(
                            Problem::error(
                                codes::check::unknown_field,
                                format!("an exposure has no field `{name}`"),
                            )
                            .label(field.span, "unknown field")
                            .help(
                                self.did_you_mean(name, fields.iter().copied())
                                    .unwrap_or_else(|| format!("fields of an exposure are: {list}")),
                            ),
                        );
                        return error_node(span);
                    }
                };
                let n = node(NodeKind::ExposureField { object: Box::new(object_node), field: which }, span);
                (n, Some(ty))
            }
            other => {
                self.error(
                    Problem::error(codes::check::not_an_entity, format!("`.{name}` on {}", other.describe()))
                        .label(object.span, format!("this is {}, which has no fields", other.describe()))
                        .help("only entities and exposures have fields"),
                );
                error_node(span)
            }
        }
    }

    fn lower_binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span, ctx: &mut Ctx) -> Typed {
        let (l, lt) = self.lower_expr(lhs, ctx);
        let (r, rt) = self.lower_expr(rhs, ctx);
        let result = |kind| (node(NodeKind::Binary(op, Box::new(l), Box::new(r)), span), kind);
        let (Some(lt), Some(rt)) = (lt, rt) else { return result(None) };
        let symbol = op.symbol();
        let ty = match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Pow => {
                if lt == Type::Number && rt == Type::Number {
                    Some(Type::Number)
                } else {
                    self.operand_error(symbol, lhs.span, lt, rhs.span, rt, "numbers");
                    None
                }
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                if lt == rt && matches!(lt, Type::Number | Type::Date) {
                    Some(Type::Bool)
                } else {
                    self.operand_error(symbol, lhs.span, lt, rhs.span, rt, "two numbers or two dates");
                    None
                }
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                let same = match (lt, rt) {
                    (Type::Entity(_), Type::Entity(_)) => true,
                    _ => lt == rt && lt != Type::Exposure,
                };
                if same {
                    Some(Type::Bool)
                } else {
                    self.operand_error(symbol, lhs.span, lt, rhs.span, rt, "two values of the same type");
                    None
                }
            }
            BinaryOp::And | BinaryOp::Or => {
                if lt == Type::Bool && rt == Type::Bool {
                    Some(Type::Bool)
                } else {
                    self.operand_error(symbol, lhs.span, lt, rhs.span, rt, "bools");
                    None
                }
            }
        };
        result(ty)
    }

    /// `if COND then A else B`: a bool condition, and one type for both branches.
    fn lower_if(&mut self, branches: &syntax::IfExpr, span: Span, ctx: &mut Ctx) -> Typed {
        let (cond, cond_ty) = self.lower_expr(&branches.cond, ctx);
        let (then, then_ty) = self.lower_expr(&branches.then, ctx);
        let (otherwise, else_ty) = self.lower_expr(&branches.otherwise, ctx);
        let cond_ok = cond_ty
            .is_some_and(|ty| self.require(ty, Type::Bool, branches.cond.span, "the condition of `if`"));
        let ty = match (then_ty, else_ty) {
            (Some(a), Some(b)) => match (a, b) {
                (Type::Entity(x), Type::Entity(y)) => Some(Type::Entity(if x == y { x } else { None })),
                _ if a == b => Some(a),
                _ => {
                    let else_span = branches.otherwise.span;
                    self.error(
                        Problem::error(
                            codes::check::type_mismatch,
                            format!("the branches of `if` give {} and {}", a.describe(), b.describe()),
                        )
                        .label(branches.then.span, format!("this is {}", a.describe()))
                        .label(else_span, format!("this is {}", b.describe()))
                        .help("both branches of an `if` must give the same type of value"),
                    );
                    None
                }
            },
            _ => None,
        };
        let n = node(NodeKind::If(Box::new([cond, then, otherwise])), span);
        (n, ty.filter(|_| cond_ok))
    }

    fn operand_error(&mut self, op: &str, ls: Span, lt: Type, rs: Span, rt: Type, wanted: &str) {
        let help = if op == "and" || op == "or" {
            String::from("combine conditions such as `a > 1 and b < 2`")
        } else if matches!(op, "<" | "<=" | ">" | ">=") && (lt == Type::Bool || rt == Type::Bool) {
            // `a < b < c` reads as `(a < b) < c`.
            String::from("a comparison gives a bool; to compare three values write `a < b and b < c`")
        } else {
            format!("`{op}` works on {wanted}")
        };
        self.error(
            Problem::error(
                codes::check::type_mismatch,
                format!("`{op}` cannot combine {} and {}", lt.describe(), rt.describe()),
            )
            .label(ls, format!("this is {}", lt.describe()))
            .label(rs, format!("this is {}", rt.describe()))
            .help(help),
        );
    }
}

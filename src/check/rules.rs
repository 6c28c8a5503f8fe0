//! Rules and their effects.

use crate::builtins::Place;
use crate::codes;
use crate::diagnostic::Problem;
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{self, AssignOp, EffectKind, ExprKind, Trigger, UnaryOp};
use crate::value::Type;

use super::expr::{Ctx, Mode};
use super::{Checker, Decl};

/// What a rule writes: the node, how, and where.
pub(super) type Write = (GraphNode, AssignOp, Span);

impl<'a> Checker<'a> {
    pub(super) fn lower_rule(&mut self, rule: &syntax::RuleDecl) {
        let mut ctx = Ctx::new(Mode::Dynamic).at(Place::Condition);
        let mut binders = Vec::new();
        for binder in &rule.binders {
            if let Some(first) = rule.binders.iter().find(|b| b.name.name == binder.name.name)
                && first.name.span != binder.name.span
            {
                self.error(
                    Problem::error(
                        codes::check::duplicate,
                        format!("binder `{}` is declared twice", binder.name.name),
                    )
                    .label(binder.name.span, "declared again here")
                    .label(first.name.span, "first declared here")
                    .help("give each binder its own name, e.g. `for a: Bank, b: Bank`"),
                );
            }
            let kind = self.resolve_kind(&binder.kind);
            ctx.push_local(&binder.name.name, Type::Entity(kind));
            binders.push((binder.name.name.clone(), kind.unwrap_or(0)));
        }
        let filter = rule.filter.as_ref().map(|f| {
            let (n, ty) = self.lower_expr(f, &mut ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Bool, f.span, "the `where` condition");
            }
            n
        });
        let trigger = match &rule.trigger {
            Trigger::When(cond) | Trigger::While(cond) => {
                let (n, ty) = self.lower_expr(cond, &mut ctx);
                if let Some(ty) = ty {
                    self.require(ty, Type::Bool, cond.span, "a rule's condition");
                }
                if matches!(rule.trigger, Trigger::When(_)) {
                    TriggerIr::When(n)
                } else {
                    TriggerIr::While(n)
                }
            }
            Trigger::At(at) => match self.time_point_step(at, "the rule's time") {
                Some(step) => {
                    if step < 1 || step as u64 > self.scenario.horizon {
                        self.problems.push(
                            Problem::warning(
                                codes::check::never_reached,
                                format!(
                                    "step {step} is outside the run (steps 1 to {})",
                                    self.scenario.horizon
                                ),
                            )
                            .label(at.span, "this rule never fires"),
                        );
                    }
                    TriggerIr::At(AtTime::Step(step))
                }
                None => TriggerIr::At(AtTime::Step(0)),
            },
            Trigger::AtExpr(expr) => {
                // Fixed when the run starts: params only, no binders.
                let mut at_ctx = Ctx::new(Mode::Constant);
                let (n, ty) = self.lower_expr(expr, &mut at_ctx);
                match ty {
                    Some(Type::Number) => {}
                    Some(Type::Date) if self.scenario.start.is_none() => self.error(
                        Problem::error(
                            codes::check::date_without_start,
                            "the rule's time is a date, but the scenario has no start date",
                        )
                        .label(expr.span, "a date needs `start` in the scenario block")
                        .help(
                            "add `scenario \"...\" { start = 2026-01, step = month }`, or use a step number",
                        ),
                    ),
                    Some(Type::Date) => {}
                    Some(other) => self.error(
                        Problem::error(
                            codes::check::type_mismatch,
                            format!(
                                "the time of `at` must be a step number or a date, but this is {}",
                                other.describe()
                            ),
                        )
                        .label(expr.span, format!("this is {}", other.describe())),
                    ),
                    None => {}
                }
                self.used.append(&mut at_ctx.reads);
                TriggerIr::At(AtTime::Params(Box::new(at_ctx.root(n))))
            }
        };
        let mut writes: Vec<Write> = Vec::new();
        ctx.place = Place::Effect;
        let effects: Vec<EffectIr> =
            rule.effects.iter().filter_map(|e| self.lower_effect(e, &mut ctx, &mut writes)).collect();
        let priority = rule.priority.map_or(0, |(p, _)| p);
        let line = self.line_of(rule.span);
        let label = match &rule.name {
            Some(name) => name.name.clone(),
            None => format!("rule at line {line}"),
        };
        if let Some(name) = &rule.name
            && let Some((first, _, _)) =
                self.rules.iter().find(|(r, _, _)| r.name.as_deref() == Some(&name.name))
        {
            // The first rule's name, found in the source (the rule keeps only its span).
            let first_name = self.file.items.iter().find_map(|item| match item {
                syntax::Item::Rule(r) => r.name.as_ref().filter(|n| n.name == name.name).map(|n| n.span),
                _ => None,
            });
            self.error(
                Problem::error(codes::check::duplicate, format!("rule `{}` is declared twice", name.name))
                    .label(name.span, "declared again here")
                    .label(first_name.unwrap_or(first.span), "first declared here")
                    .help("rename one of them"),
            );
        }
        let reads = std::mem::take(&mut ctx.reads);
        self.used.extend(reads.iter().cloned());
        let def = RuleDef {
            label,
            name: rule.name.as_ref().map(|n| n.name.clone()),
            description: rule.description.as_ref().and_then(|d| d.as_plain()),
            line,
            span: rule.span,
            trigger_span: rule.trigger_span,
            priority,
            binders,
            filter,
            trigger,
            effects,
            together: rule.together.is_some(),
            locals: ctx.root(Node { kind: NodeKind::Step, span: Span::default() }).locals,
        };
        self.rules.push((def, reads, writes));
    }

    /// `let name = value` in an effect block: a new local after the rule's
    /// binders, visible in the effects after it. It may not take a name that
    /// already means something here.
    fn lower_local(&mut self, name: &syntax::Ident, value: &syntax::Expr, ctx: &mut Ctx) -> EffectKindIr {
        let (value_node, ty) = self.lower_expr(value, ctx);
        let word = name.name.as_str();
        let clash: Option<(String, Option<Span>)> = if let Some(&(decl, at)) = self.names.get(word) {
            // A data entity has no place in the script: the message says
            // which file and line it came from instead of a label.
            match decl {
                Decl::Entity(id) => match self.entities.get(id as usize).and_then(|e| e.data) {
                    Some(d) => {
                        let origin =
                            self.data.entities.get(d as usize).map(|e| self.data.entities.origin(&e));
                        Some((format!("the entity `{word}` from {}", origin.unwrap_or_default()), None))
                    }
                    None => Some((format!("the {} `{word}`", decl.what()), Some(at))),
                },
                _ => Some((format!("the {} `{word}`", decl.what()), Some(at))),
            }
        } else if ctx.has_local(word) {
            Some((format!("`{word}`, a binder or an earlier local of this rule"), None))
        } else if syntax::BUILTIN_NAMES.contains(&word) || syntax::BUILTIN_FUNCTIONS.contains(&word) {
            Some((format!("the built-in `{word}`"), None))
        } else {
            ctx.entity_locals().into_iter().find_map(|kind| {
                let k = &self.kinds[kind as usize];
                k.fields
                    .iter()
                    .find(|f| f.ast.name.name == word)
                    .map(|f| (format!("field `{word}` of `{}`", k.ast.name.name), Some(f.ast.name.span)))
            })
        };
        if let Some((what, at)) = clash {
            let mut problem =
                Problem::error(codes::check::shadowing, format!("the local `{word}` would hide {what}"))
                    .label(name.span, "a local of this rule")
                    .help(format!("give the local its own name, e.g. `new_{word}`"));
            if let Some(at) = at {
                problem = problem.label(at, "declared here");
            }
            self.error(problem);
        }
        let local = ctx.push_local(word, ty.unwrap_or(Type::Number));
        if ty.is_none() {
            ctx.poison_local(local);
        }
        EffectKindIr::Let { local, value: value_node }
    }

    fn lower_effect(
        &mut self,
        effect: &syntax::Effect,
        ctx: &mut Ctx,
        writes: &mut Vec<Write>,
    ) -> Option<EffectIr> {
        let span = effect.span;
        let kind = match &effect.kind {
            EffectKind::Assign { target, op, value } => {
                let (target_ir, target_ty, node) = self.lower_target(target, ctx)?;
                let (value_node, value_ty) = self.lower_expr(value, ctx);
                if let Some(value_ty) = value_ty {
                    if *op == AssignOp::Set {
                        self.require(
                            value_ty,
                            target_ty,
                            value.span,
                            &format!("the new value of `{}`", target.span.text(self.source.text())),
                        );
                    } else {
                        let symbol = match op {
                            AssignOp::Add => "+=",
                            AssignOp::Sub => "-=",
                            AssignOp::Mul => "*=",
                            _ => "/=",
                        };
                        if target_ty != Type::Number {
                            self.error(
                                Problem::error(
                                    codes::check::type_mismatch,
                                    format!("`{symbol}` needs a number to change"),
                                )
                                .label(target.span, format!("this is {}", target_ty.describe())),
                            );
                        } else {
                            self.require(
                                value_ty,
                                Type::Number,
                                value.span,
                                &format!("the right side of `{symbol}`"),
                            );
                        }
                    }
                }
                writes.push((node, *op, target.span));
                EffectKindIr::Assign { target: target_ir, op: *op, value: value_node }
            }
            EffectKind::Default(entity) => {
                let (n, ty) = self.lower_expr(entity, ctx);
                let ty = ty?;
                if !self.require(ty, Type::Entity(None), entity.span, "the argument of `default`") {
                    return None;
                }
                let kinds: Vec<Id> = match ty {
                    Type::Entity(Some(k)) => vec![k],
                    _ => (0..self.kinds.len() as Id).collect(),
                };
                for k in kinds {
                    writes.push((GraphNode::Field(k, FieldRef::Defaulted), AssignOp::Set, span));
                    writes.push((GraphNode::Field(k, FieldRef::DefaultedAt), AssignOp::Set, span));
                }
                EffectKindIr::Default(n)
            }
            EffectKind::Emit(text) => EffectKindIr::Emit(self.lower_template(text, ctx)),
            EffectKind::Let { name, value } => self.lower_local(name, value, ctx),
            EffectKind::Stop(reason) => {
                EffectKindIr::Stop(reason.as_ref().map(|r| self.lower_template(r, ctx)).unwrap_or_default())
            }
            EffectKind::After { delay, effect } => {
                let (n, ty) = self.lower_expr(delay, ctx);
                if let Some(ty) = ty {
                    self.require(ty, Type::Number, delay.span, "a delay");
                }
                // A delay written as a number (`2`, `-1`, `1.5`) is checked here,
                // a computed one when the rule fires.
                let literal = match &delay.kind {
                    ExprKind::Number(d) => Some(*d),
                    ExprKind::Unary(UnaryOp::Neg, inner) => match inner.kind {
                        ExprKind::Number(d) => Some(-d),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(d) = literal
                    && d.is_integer()
                    && rust_decimal::prelude::ToPrimitive::to_u64(&d).is_none()
                    && d > rust_decimal::Decimal::ZERO
                {
                    self.error(
                        Problem::error(codes::check::bad_delay, format!("a delay of {d} steps is too long"))
                            .label(delay.span, format!("a delay is at most {} steps", u64::MAX))
                            .help(
                                "an effect delayed past the end of the run never happens; shorten the delay",
                            ),
                    );
                } else if let Some(d) = literal
                    && (!d.is_integer() || d < rust_decimal::Decimal::ZERO)
                {
                    let what = if d.is_integer() {
                        "a delay cannot be negative"
                    } else {
                        "not a whole number of steps"
                    };
                    self.error(
                        Problem::error(
                            codes::check::bad_delay,
                            "a delay is a whole number of steps, 0 or more",
                        )
                        .label(delay.span, what)
                        .help("for example `after 3 steps default(x)`"),
                    );
                }
                let inner = self.lower_effect(effect, ctx, writes)?;
                EffectKindIr::After { delay: n, effect: Box::new(inner) }
            }
        };
        Some(EffectIr { kind, span })
    }

    /// The target of an assignment: a var or a stored field.
    fn lower_target(
        &mut self,
        target: &syntax::Target,
        ctx: &mut Ctx,
    ) -> Option<(TargetIr, Type, GraphNode)> {
        let base = &target.base;
        let name = base.name.as_str();
        let Some(field) = &target.field else {
            return match self.names.get(name).map(|d| d.0) {
                Some(Decl::Var(v)) => {
                    let ty = match self.vars[v as usize].state {
                        super::Lowered::Done(ty) => ty,
                        _ => return None,
                    };
                    Some((TargetIr::Var(v), ty, GraphNode::Var(v)))
                }
                other => {
                    let decl_span = self.names.get(name).map(|d| d.1);
                    self.cannot_assign(name, other, target.span, decl_span);
                    None
                }
            };
        };
        // `x.field`: x is a binder or an entity.
        let base_expr = syntax::Expr { kind: ExprKind::Name(name.to_string()), span: base.span };
        let (object, ty) = self.lower_expr(&base_expr, ctx);
        let ty = ty?;
        let Type::Entity(Some(kind)) = ty else {
            self.error(
                Problem::error(codes::check::not_an_entity, format!("`{name}` has no fields to assign"))
                    .label(base.span, format!("this is {}", ty.describe()))
                    .help("assign a var (`x = ...`) or an entity's field (`bank.cash -= ...`)"),
            );
            return None;
        };
        let field_name = field.name.as_str();
        if field_name == "defaulted" || field_name == "defaulted_at" {
            self.error(
                Problem::error(codes::check::assign_builtin, format!("`{field_name}` cannot be assigned"))
                    .label(field.span, "a built-in field, set only by `default(...)`")
                    .help(format!("write `default({name})`")),
            );
            return None;
        }
        let k = &self.kinds[kind as usize];
        match k.fields.iter().find(|f| f.ast.name.name == field_name) {
            Some(f) if f.ast.derived => {
                let formula = f.ast.span;
                self.error(
                    Problem::error(
                        codes::check::assign_derived,
                        format!("`{field_name}` is a derived field and cannot be assigned"),
                    )
                    .label(target.span, "assigned here")
                    .label(formula, "it is always computed by this formula")
                    .help("assign the stored fields it is computed from, or make it a stored field (drop `let`)"),
                );
                None
            }
            Some(f) => {
                let index = f.index;
                let position = k.fields.iter().position(|x| x.ast.name.name == field_name).unwrap_or(0);
                let ty = self.field_type(kind, position)?;
                Some((
                    TargetIr::Field { object, field: index },
                    ty,
                    GraphNode::Field(kind, FieldRef::Stored(index)),
                ))
            }
            None => {
                let problem = self.unknown_field(kind, field);
                self.error(problem);
                None
            }
        }
    }

    fn cannot_assign(&mut self, name: &str, decl: Option<Decl>, span: Span, decl_span: Option<Span>) {
        let (message, help) = match decl {
            Some(Decl::Param(_)) => (
                format!("`{name}` is a param and cannot change during a run"),
                String::from(
                    "params are set before a run (`--set NAME=VALUE`); declare it with `var` to change it in rules",
                ),
            ),
            Some(Decl::Let(_)) => (
                format!("`{name}` is derived (`let`) and cannot be assigned"),
                String::from(
                    "it is recomputed from its formula; assign the values it reads, or declare it with `var`",
                ),
            ),
            Some(Decl::Series(_)) => (
                format!("`{name}` is a series and cannot be assigned"),
                String::from(
                    "a series is an input path fixed by its points; use a `var` for a value rules change",
                ),
            ),
            Some(Decl::Entity(_)) => (
                format!("`{name}` is an entity; assign one of its fields"),
                format!("for example `{name}.cash -= 1m`, or `default({name})`"),
            ),
            Some(Decl::Kind(_)) => (
                format!("`{name}` is a kind and cannot be assigned"),
                String::from("bind its entities with `for x: Kind` and assign `x.field`"),
            ),
            Some(Decl::Var(_)) => return,
            None if self.declared_by_unparsed_item(name) => return,
            None if name == "step" || name == "date" => (
                format!("`{name}` is built in and cannot be assigned"),
                String::from("the step machine advances it"),
            ),
            None => {
                self.error(
                    Problem::error(codes::check::unknown_name, format!("unknown name `{name}`"))
                        .label(span, "not declared anywhere")
                        .maybe_help(self.did_you_mean(name, self.names.keys().map(|k| &**k))),
                );
                return;
            }
        };
        let mut problem =
            Problem::error(codes::check::assign_readonly, message).label(span, "assigned here").help(help);
        if let Some(at) = decl_span {
            problem = problem.label(at, "declared here");
        }
        self.error(problem);
    }
}

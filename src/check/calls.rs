//! Calls: built-in functions, host functions and aggregates (`sum`, `min`,
//! `max`, `count`, ... over the entities of a kind).

use crate::diagnostic::{Problem, did_you_mean};
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{self, Expr, ExprKind};
use crate::value::Type;

use super::expr::*;
use super::{Checker, Decl};

impl<'a> Checker<'a> {
    pub(super) fn lower_call(
        &mut self,
        func: &syntax::Ident,
        args: &[Expr],
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = func.name.as_str();
        let builtin = match name {
            "min" => Some((Builtin::Min, 2, usize::MAX)),
            "max" => Some((Builtin::Max, 2, usize::MAX)),
            "abs" => Some((Builtin::Abs, 1, 1)),
            "floor" => Some((Builtin::Floor, 1, 1)),
            "ceil" => Some((Builtin::Ceil, 1, 1)),
            "clamp" => Some((Builtin::Clamp, 3, 3)),
            "round" => Some((Builtin::Round, 1, 2)),
            _ => None,
        };
        if let Some((builtin, least, most)) = builtin {
            if args.len() < least || args.len() > most {
                let wanted = match (least, most) {
                    (a, b) if a == b => format!("{a}"),
                    (a, usize::MAX) => format!("at least {a}"),
                    (a, b) => format!("{a} or {b}"),
                };
                self.error(
                    Problem::error(
                        "cascade::check::arity",
                        format!("`{name}` takes {wanted} argument{}", if wanted == "1" { "" } else { "s" }),
                    )
                    .label(span, format!("called with {}", args.len()))
                    .maybe_help(builtin_usage(name)),
                );
                self.lower_arguments_of_wrong_call(args, ctx);
                return error_node(span);
            }
            let mut nodes = Vec::new();
            let mut ok = true;
            for arg in args {
                let (n, ty) = self.lower_expr(arg, ctx);
                ok &= ty.is_some_and(|ty| {
                    self.require(ty, Type::Number, arg.span, &format!("an argument of `{name}`"))
                });
                nodes.push(n);
            }
            return (node(NodeKind::Call(builtin, nodes), span), ok.then_some(Type::Number));
        }
        match name {
            "exposure_losses" => {
                if args.len() != 1 {
                    self.error(
                        Problem::error("cascade::check::arity", "`exposure_losses` takes 1 argument")
                            .label(span, format!("called with {}", args.len()))
                            .help("`exposure_losses(e)` is what `e` has lost to its defaulted debtors"),
                    );
                    return error_node(span);
                }
                let (n, ty) = self.lower_expr(&args[0], ctx);
                let ok = ty.is_some_and(|ty| {
                    self.require(ty, Type::Entity(None), args[0].span, "the argument of `exposure_losses`")
                });
                if !matches!(ctx.mode, Mode::Dynamic) {
                    return self.not_allowed(name, func.span, ctx);
                }
                for k in 0..self.kinds.len() {
                    ctx.read(GraphNode::Field(k as Id, FieldRef::Defaulted));
                }
                (node(NodeKind::ExposureLosses(Box::new(n)), span), ok.then_some(Type::Number))
            }
            "exposures_of" | "exposures_to" => {
                self.error(
                    Problem::error(
                        "cascade::check::collection_as_value",
                        format!("`{name}` lists exposures and can only be aggregated"),
                    )
                    .label(span, "a list of exposures, not a value")
                    .help(format!("for example `sum(x.amount for x in {name}(e))`")),
                );
                error_node(span)
            }
            "sum" | "count" | "any" | "all" | "mean" => {
                self.error(
                    Problem::error(
                        "cascade::check::arity",
                        format!("`{name}` aggregates over a kind or a list of exposures"),
                    )
                    .label(span, "missing `for x in ...`")
                    .help(format!("for example `{name}(l.cash for l in Lessor)`")),
                );
                error_node(span)
            }
            _ => self.lower_host_call(func, args, span, ctx),
        }
    }

    /// Lowers the arguments of a call that is already reported as wrong, for the
    /// problems inside them and so that what they read counts as used.
    pub(super) fn lower_arguments_of_wrong_call(&mut self, args: &[Expr], ctx: &mut Ctx) {
        for arg in args {
            self.lower_expr(arg, ctx);
        }
    }

    pub(super) fn lower_host_call(
        &mut self,
        func: &syntax::Ident,
        args: &[Expr],
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = func.name.as_str();
        let Some(index) = self.host.iter().position(|h| h.name == name) else {
            let candidates = syntax::BUILTIN_FUNCTIONS
                .iter()
                .copied()
                .map(String::from)
                .chain(self.host.iter().map(|h| h.name.clone()))
                .collect::<Vec<_>>();
            self.error(
                Problem::error("cascade::check::unknown_function", format!("unknown function `{name}`"))
                    .label(func.span, "no built-in or host function has this name")
                    .maybe_help(did_you_mean(name, candidates.iter().map(String::as_str))),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        };
        let host = self.host[index].clone();
        if args.len() != host.params.len() {
            self.error(
                Problem::error(
                    "cascade::check::arity",
                    format!(
                        "`{name}` takes {} argument{}",
                        host.params.len(),
                        if host.params.len() == 1 { "" } else { "s" }
                    ),
                )
                .label(span, format!("called with {}", args.len())),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        }
        let mut nodes = Vec::new();
        let mut ok = true;
        for (arg, wanted) in args.iter().zip(&host.params) {
            let (n, ty) = self.lower_expr(arg, ctx);
            ok &=
                ty.is_some_and(|ty| self.require(ty, *wanted, arg.span, &format!("an argument of `{name}`")));
            nodes.push(n);
        }
        (node(NodeKind::Host(index as Id, nodes), span), ok.then_some(host.ret))
    }

    pub(super) fn lower_aggregate(
        &mut self,
        aggregate: &syntax::Aggregate,
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = aggregate.func.name.as_str();
        let func = match name {
            "sum" => AggregateFn::Sum,
            "count" => AggregateFn::Count,
            "any" => AggregateFn::Any,
            "all" => AggregateFn::All,
            "mean" => AggregateFn::Mean,
            "min" => AggregateFn::Min,
            "max" => AggregateFn::Max,
            _ => {
                self.error(
                    Problem::error("cascade::check::not_an_aggregate", format!("`{name}` cannot aggregate"))
                        .label(aggregate.func.span, "not an aggregate function")
                        .help("the aggregates are `sum`, `count`, `any`, `all`, `mean`, `min` and `max`"),
                );
                return error_node(span);
            }
        };
        if !matches!(ctx.mode, Mode::Dynamic) {
            return self.not_allowed(name, aggregate.func.span, ctx);
        }
        // The source: a kind, or exposures_of(e) / exposures_to(e).
        let source_expr = &aggregate.source;
        let (source, element) = match &source_expr.kind {
            ExprKind::Name(kind_name) => match self.names.get(kind_name.as_str()) {
                Some(&(Decl::Kind(k), _)) => (AggregateSource::Kind(k), Type::Entity(Some(k))),
                None if self.declared_by_unparsed_item(kind_name) => return error_node(span),
                _ => {
                    let kinds: Vec<&str> = self.kinds.iter().map(|k| k.ast.name.name.as_str()).collect();
                    let help = did_you_mean(kind_name, kinds.iter().copied())
                        .unwrap_or_else(|| String::from("aggregate over a kind, or over `exposures_of(e)`"));
                    self.error(
                        Problem::error(
                            "cascade::check::unknown_kind",
                            format!("`{kind_name}` is not a kind"),
                        )
                        .label(source_expr.span, "expected a kind or `exposures_of(e)`")
                        .help(help),
                    );
                    return error_node(span);
                }
            },
            ExprKind::Call(f, args)
                if (f.name == "exposures_of" || f.name == "exposures_to") && args.len() == 1 =>
            {
                let (n, ty) = self.lower_expr(&args[0], ctx);
                if !ty.is_some_and(|ty| {
                    self.require(
                        ty,
                        Type::Entity(None),
                        args[0].span,
                        &format!("the argument of `{}`", f.name),
                    )
                }) {
                    return error_node(span);
                }
                let source = if f.name == "exposures_of" {
                    AggregateSource::ExposuresOf(n)
                } else {
                    AggregateSource::ExposuresTo(n)
                };
                (source, Type::Exposure)
            }
            _ => {
                self.error(
                    Problem::error(
                        "cascade::check::bad_aggregate_source",
                        "an aggregate ranges over a kind or a list of exposures",
                    )
                    .label(source_expr.span, "expected a kind or `exposures_of(e)`"),
                );
                return error_node(span);
            }
        };
        let local = ctx.push_local(&aggregate.binder.name, element);
        let filter = aggregate.filter.as_ref().map(|f| {
            let (n, ty) = self.lower_expr(f, ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Bool, f.span, "the `where` condition");
            }
            n
        });
        let (body, body_ty) = self.lower_expr(&aggregate.body, ctx);
        ctx.pop_local();
        let ty = body_ty.and_then(|ty| match func {
            AggregateFn::Sum | AggregateFn::Mean | AggregateFn::Min | AggregateFn::Max => self
                .require(ty, Type::Number, aggregate.body.span, &format!("the body of `{name}`"))
                .then_some(Type::Number),
            AggregateFn::Any | AggregateFn::All => self
                .require(ty, Type::Bool, aggregate.body.span, &format!("the body of `{name}`"))
                .then_some(Type::Bool),
            AggregateFn::Count => Some(Type::Number),
        });
        let ir = AggregateIr { func, local, source, filter, body };
        (node(NodeKind::Aggregate(Box::new(ir)), span), ty)
    }
}

pub(super) fn builtin_usage(name: &str) -> Option<String> {
    Some(String::from(match name {
        "min" | "max" => "for example `max(0, cost - price)`, or `max(l.ltv for l in Lessor)`",
        "abs" => "for example `abs(x)`",
        "floor" | "ceil" => "for example `floor(x)`",
        "clamp" => "`clamp(x, lo, hi)` keeps x between lo and hi",
        "round" => "`round(x)` or `round(x, 2)` (2 decimal places)",
        _ => return None,
    }))
}

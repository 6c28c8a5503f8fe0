//! Calls: built-in functions, host functions and aggregates (`sum`, `min`,
//! `max`, `count`, ... over the entities of a kind).

use crate::builtins::{self, BuiltinDef, Form, Function, Place, Special};
use crate::codes;
use crate::diagnostic::{Problem, list_words};
use crate::ir::*;
use crate::random::Distribution;
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
        if let Some(distribution) = Distribution::from_name(name) {
            return self.lower_draw(distribution, func, args, span, ctx);
        }
        let Some(builtin) = builtins::find(name) else {
            return self.lower_host_call(func, args, span, ctx);
        };
        if let Some(function) = builtin.function() {
            return self.lower_function_call(builtin, function, func, args, span, ctx);
        }
        match builtin.form {
            Form::Special(Special::ExposureLosses) => {
                if args.len() != 1 {
                    self.error(
                        Problem::error(codes::check::arity, "`exposure_losses` takes 1 argument")
                            .label(span, format!("called with {}", args.len()))
                            .help(builtin.usage),
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
            Form::Special(Special::Model(output)) => {
                self.lower_model_read(output, func, args, builtin.usage, span, ctx)
            }
            Form::Special(Special::ExposureList) => {
                self.error(
                    Problem::error(
                        codes::check::collection_as_value,
                        format!("`{name}` lists exposures and can only be aggregated"),
                    )
                    .label(span, "a list of exposures, not a value")
                    .help(builtin.usage),
                );
                error_node(span)
            }
            Form::Aggregate(_) | Form::Function(_) | Form::FunctionOrAggregate(..) => {
                self.error(
                    Problem::error(
                        codes::check::arity,
                        format!("`{name}` aggregates over a kind or a list of exposures"),
                    )
                    .label(span, "missing `for x in ...`")
                    .help(builtin.usage),
                );
                error_node(span)
            }
        }
    }

    /// A call of a built-in function of values: arity, argument types and place
    /// from its row of the table.
    fn lower_function_call(
        &mut self,
        builtin: &BuiltinDef,
        function: &'static Function,
        func: &syntax::Ident,
        args: &[Expr],
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = builtin.name;
        if args.len() < function.least || function.most.is_some_and(|most| args.len() > most) {
            let wanted = builtin.arity().unwrap_or_default();
            self.error(
                Problem::error(
                    codes::check::arity,
                    format!("`{name}` takes {wanted} argument{}", if wanted == "1" { "" } else { "s" }),
                )
                .label(span, format!("called with {}", args.len()))
                .help(builtin.usage),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        }
        if !builtin.places.contains(ctx.place) {
            let places: Vec<&str> = builtin.places.iter().map(Place::describe).collect();
            self.error(
                Problem::error(
                    codes::check::misplaced_call,
                    format!("`{name}` cannot be called in {}", ctx.place.describe()),
                )
                .label(func.span, "not allowed here")
                .help(format!("`{name}` can be called in {}", list_plain(&places))),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        }
        let mut nodes = Vec::new();
        let mut ok = true;
        for arg in args {
            let (n, ty) = self.lower_expr(arg, ctx);
            ok &= ty.is_some_and(|ty| {
                self.require(ty, function.args, arg.span, &format!("an argument of `{name}`"))
            });
            nodes.push(n);
        }
        (node(NodeKind::Call(function, nodes), span), ok.then_some(function.result))
    }

    /// A random draw: allowed only where a value is computed exactly once.
    fn lower_draw(
        &mut self,
        distribution: Distribution,
        func: &syntax::Ident,
        args: &[Expr],
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = distribution.name();
        let wanted = distribution.arguments().len();
        let place = ctx.place;
        if !matches!(place, Place::Initial | Place::Effect) {
            let place = place.describe();
            self.error(
                Problem::error(
                    codes::check::misplaced_call,
                    format!("`{name}` draws a random number, which cannot be used in {place}"),
                )
                .label(func.span, "a random draw")
                .help(format!(
                    "{place} is computed again whenever what it reads changes, so it would draw again: \
                     draw once in a rule's effect or an initial value (`var shock = {}`, \
                     `while true then shock = {}`) and read the var here",
                    distribution.usage(),
                    distribution.usage()
                )),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        }
        if args.len() != wanted {
            self.error(
                Problem::error(
                    codes::check::arity,
                    format!("`{name}` takes {wanted} argument{}", if wanted == 1 { "" } else { "s" }),
                )
                .label(span, format!("called with {}", args.len()))
                .help(format!("`{}`", distribution.usage())),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        }
        let mut nodes = Vec::new();
        let mut ok = true;
        for (arg, what) in args.iter().zip(distribution.arguments()) {
            let (n, ty) = self.lower_expr(arg, ctx);
            ok &= ty
                .is_some_and(|ty| self.require(ty, Type::Number, arg.span, &format!("`{what}` of `{name}`")));
            nodes.push(n);
        }
        let ty = if distribution.is_bool() { Type::Bool } else { Type::Number };
        (node(NodeKind::Draw(distribution, nodes), span), ok.then_some(ty))
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
                Problem::error(codes::check::unknown_function, format!("unknown function `{name}`"))
                    .label(func.span, "no built-in or host function has this name")
                    .maybe_help(self.did_you_mean(name, candidates.iter().map(String::as_str))),
            );
            self.lower_arguments_of_wrong_call(args, ctx);
            return error_node(span);
        };
        let host = self.host[index].clone();
        if args.len() != host.params.len() {
            self.error(
                Problem::error(
                    codes::check::arity,
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
        let Some(func) = builtins::find(name).and_then(|b| b.aggregate()) else {
            let aggregates: Vec<&str> =
                builtins::BUILTINS.iter().filter(|b| b.aggregate().is_some()).map(|b| b.name).collect();
            self.error(
                Problem::error(codes::check::not_an_aggregate, format!("`{name}` cannot aggregate"))
                    .label(aggregate.func.span, "not an aggregate function")
                    .help(format!("the aggregates are {}", list_words(&aggregates))),
            );
            return error_node(span);
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
                    let help = self
                        .did_you_mean(kind_name, kinds.iter().copied())
                        .unwrap_or_else(|| String::from("aggregate over a kind, or over `exposures_of(e)`"));
                    self.error(
                        Problem::error(codes::check::unknown_kind, format!("`{kind_name}` is not a kind"))
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
                        codes::check::bad_aggregate_source,
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

/// `a, b or c`, without backticks.
fn list_plain(words: &[&str]) -> String {
    match words {
        [] => String::from("nowhere"),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::builtins::{Compute, Direction, Places, RangeRule};
    use crate::source::SourceFile;

    /// A built-in that may only be called in effects and initial values (as
    /// random draws will be), called in a derived value and in an effect.
    #[test]
    fn a_builtin_outside_its_places_is_misplaced() {
        static ONLY_IN_EFFECTS: BuiltinDef = BuiltinDef {
            name: "draw",
            usage: "`draw(x)`",
            example: ("", ""),
            places: Places::only(&[Place::Initial, Place::Effect]),
            form: Form::Function(Function {
                least: 1,
                most: Some(1),
                args: Type::Number,
                result: Type::Number,
                compute: Compute::Pure(|args| Ok(args[0])),
                direction: Direction::Increasing,
                range: RangeRule::Any,
            }),
        };
        let source = SourceFile::new("t.cascade", "let x = draw(1)");
        let (file, problems) = syntax::parse_file(&source);
        assert!(problems.is_empty());
        let call = syntax::parse_expression(&SourceFile::new("e.cascade", "draw(1)")).unwrap();
        let ExprKind::Call(func, args) = &call.kind else { panic!("a call") };
        let Form::Function(function) = &ONLY_IN_EFFECTS.form else { unreachable!() };
        let data = crate::data::DataItems::default();
        let mut checker = Checker::new(&file, &data, &source, Arc::from(Vec::new()));
        for (place, misplaced) in [(Place::Formula, true), (Place::Condition, true), (Place::Effect, false)] {
            checker.problems.clear();
            let mut ctx = Ctx::new(Mode::Dynamic).at(place);
            let (_, ty) =
                checker.lower_function_call(&ONLY_IN_EFFECTS, function, func, args, call.span, &mut ctx);
            let codes: Vec<&str> = checker.problems.iter().map(|p| p.code).collect();
            if misplaced {
                assert_eq!(codes, [codes::check::misplaced_call], "{place:?}");
                assert_eq!(ty, None);
                let problem = &checker.problems[0];
                assert_eq!(problem.message, format!("`draw` cannot be called in {}", place.describe()));
                assert_eq!(
                    problem.help.as_deref(),
                    Some("`draw` can be called in an initial value or an effect")
                );
            } else {
                assert!(codes.is_empty(), "{codes:?}");
                assert_eq!(ty, Some(Type::Number));
            }
        }
    }
}

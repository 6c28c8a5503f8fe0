//! `solve p from START [within TOL] [limit N] = EXPR`: the fields of a kind
//! declared with `solve` are one system of simultaneous equations, solved by
//! the evaluator (`eval/solve.rs`) instead of reported as a cycle.
//!
//! The equations are lowered like any `let` field (so they may read their own
//! fields, on `self` or through exposures); here the start values, tolerances
//! and limits are lowered, and each kind's system is gathered into a
//! [`SolveDef`]. The cycle check (`graph.rs`) leaves out the reads between the
//! solve fields of one kind, and only those.

use std::collections::HashSet;

use crate::builtins::Place;
use crate::codes;
use crate::diagnostic::Problem;
use crate::ir::*;
use crate::value::Type;

use super::Checker;
use super::expr::*;

impl<'a> Checker<'a> {
    /// Gathers each kind's `solve` fields into one system (after the fields are lowered).
    pub(super) fn lower_solves(&mut self) {
        for k in 0..self.kinds.len() {
            let kind = k as Id;
            let solved: Vec<(usize, u32)> = self.kinds[k]
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.ast.solve.is_some())
                .map(|(i, f)| (i, f.index))
                .collect();
            if solved.is_empty() {
                continue;
            }
            let own: HashSet<GraphNode> =
                solved.iter().map(|(_, index)| GraphNode::Field(kind, FieldRef::Derived(*index))).collect();
            let mut fields = Vec::new();
            let mut failed = false;
            for &(f, index) in &solved {
                let ast = self.kinds[k].fields[f].ast;
                let Some(spec) = ast.solve.as_ref() else { continue };
                if let Some(ty) = self.field_type(kind, f)
                    && ty != Type::Number
                {
                    self.error(
                        Problem::error(
                            codes::check::type_mismatch,
                            format!("`{}` is solved, so its equation must give a number", ast.name.name),
                        )
                        .label(ast.value.span, format!("this is {}", ty.describe()))
                        .help("`solve` finds numbers: `solve p from pbar = min(pbar, ...)`"),
                    );
                    failed = true;
                }
                let mut ctx = Ctx::new(Mode::Dynamic).with_self(kind);
                let (node, ty) = self.lower_expr(&spec.start, &mut ctx);
                let start_ok =
                    ty.is_some_and(|ty| self.require(ty, Type::Number, spec.start.span, "a start value"));
                if let Some(read) = ctx.reads.iter().find(|r| own.contains(r)) {
                    let name = self.node_name(read);
                    self.error(
                        Problem::error(
                            codes::check::cycle,
                            format!(
                                "the start value of `{}` reads `{name}`, which is being solved",
                                ast.name.name
                            ),
                        )
                        .label(spec.start.span, format!("reads `{name}`"))
                        .help(
                            "start from values that are known before the solve, such as what is owed in full",
                        ),
                    );
                    failed = true;
                }
                for read in std::mem::take(&mut ctx.reads) {
                    self.used.push(read);
                }
                let start = ctx.root(node);
                let within = spec.within.as_ref().and_then(|e| {
                    let mut ctx = Ctx::new(Mode::Constant).at(Place::Constant);
                    let (node, ty) = self.lower_expr(e, &mut ctx);
                    ty.is_some_and(|ty| self.require(ty, Type::Number, e.span, "a tolerance"))
                        .then(|| (ctx.root(node), e.span))
                });
                let limit = spec.limit.as_ref().and_then(|e| {
                    let mut ctx = Ctx::new(Mode::Constant).at(Place::Constant);
                    let (node, ty) = self.lower_expr(e, &mut ctx);
                    ty.is_some_and(|ty| self.require(ty, Type::Number, e.span, "an iteration limit"))
                        .then(|| (ctx.root(node), e.span))
                });
                failed |= !start_ok
                    || (spec.within.is_some() && within.is_none())
                    || (spec.limit.is_some() && limit.is_none());
                fields.push(SolvedField { field: index, name: ast.name.name.clone(), start, within, limit });
            }
            if failed {
                continue;
            }
            let span = self.kinds[k].fields[solved[0].0].ast.span;
            self.solves.push(SolveDef { kind, fields, span, cell: 0 });
        }
    }
}

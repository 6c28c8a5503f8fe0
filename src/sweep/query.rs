//! The expressions a sweep and the stress searches read at the end of a path
//! (`--record`, `--metric`, `--until`), checked against a [`Program`]: the
//! checker's `check_query` with the run measures `first_default` and
//! `defaults` offered as names.

use super::{Measure, Query};
use crate::codes;
use crate::diagnostic::Problem;
use crate::engine::Program;
use crate::source::SourceFile;
use crate::syntax::{Expr, parse_expression_with};
use crate::value::Type;

impl Program {
    /// Checks an expression to evaluate at the end of sweep paths.
    pub(crate) fn check_record(&self, text: &str) -> Result<Query, String> {
        self.check_query(text, "<record>").map_err(|problems| {
            let first = problems.first();
            let mut message =
                first.map_or_else(|| String::from("this expression has no value"), |p| p.message.clone());
            if let Some(help) = first.and_then(|p| p.help.as_ref()) {
                message = format!("{message} ({help})");
            }
            message
        })
    }

    /// Checks an expression over a run's final state, in which the run
    /// measures `first_default` and `defaults` may be read (unless the script
    /// declares those names). `name` names the text in diagnostics.
    pub(crate) fn check_query(&self, text: &str, name: &str) -> Result<Query, Vec<Problem>> {
        let inner = &self.inner;
        let source = SourceFile::new(name, text);
        let expr = parse_expression_with(&source, inner.syntax).map_err(|p| vec![p])?;
        self.check_parsed_query(text, &expr)
    }

    /// [`Program::check_query`] of an expression already parsed from `text`.
    pub(crate) fn check_parsed_query(&self, text: &str, expr: &Expr) -> Result<Query, Vec<Problem>> {
        let inner = &self.inner;
        let wanted = [("first_default", Type::Number), ("defaults", Type::Number)];
        let (root, ty, locals) =
            crate::check::check_query(&inner.scope, &inner.ir, expr, &wanted).map_err(|mut problems| {
                if problems.is_empty() {
                    problems.push(Problem::error(codes::check::invalid, "this expression has no value"));
                }
                problems
            })?;
        let kinds = [Measure::FirstDefault, Measure::Defaults];
        let measures = locals.iter().zip(kinds).filter_map(|(l, m)| l.map(|l| (l, m))).collect();
        Ok(Query { text: text.trim().to_string(), root, ty, measures })
    }
}

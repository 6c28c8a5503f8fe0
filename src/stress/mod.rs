//! What matters and where it breaks: sensitivity (tornado, Morris screening)
//! and threshold search (boundaries, reverse stress along a direction).
//!
//! Both are built on the sweep runner: every batch of param values is a
//! [`Sweep`] over explicit points ([`Sweep::of_points`]), run in parallel and
//! handed back in path order, so a result is the same for any number of
//! threads. A *metric* (`--metric`) and a *condition* (`--until`) are
//! expressions of the language over a path's final state, parsed and checked
//! by the language's own parser and checker, in which the run measures
//! `first_default` and `defaults` may also be read (see
//! [`Program::check_query`]).
//!
//! Without `runs`, each point is one run of the base case, exactly as
//! `cascade run` with those params (uncertain params keep their base values).
//! With `runs = N`, each point is N paths of seed S (the same streams at every
//! point: common random numbers), the metric is the mean over the paths, and a
//! condition is a probability: `p(COND) >= 50%`.

mod threshold;
mod tornado;

use rust_decimal::Decimal;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::engine::{Error, Program};
use crate::source::SourceFile;
use crate::sweep::{PathEnd, Query, Sweep, SweepError};
use crate::syntax::{BinaryOp, ExprKind};
use crate::value::{Type, Value};

pub use threshold::{Boundary, Explained, ReverseStress, Threshold, ThresholdOptions, Verdict};
pub use tornado::{Effect, Method, Sensitivity, SensitivityOptions, TornadoRow};

/// At most this many points in a threshold's first grid.
pub const MAX_GRID: u64 = 10_000;

/// What is shared by both searches: how each point is run.
#[derive(Clone, Debug)]
pub(crate) struct Runner {
    program: Program,
    fixed: Vec<(u32, Value)>,
    runs: u64,
    seed: u64,
    horizon: Option<u64>,
    jobs: usize,
    /// Paths run so far.
    paths: std::cell::Cell<u64>,
}

/// What one point gave.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// The metric's mean over the paths where it has a value (a bool counts 0 or 1).
    pub metric: Option<Decimal>,
    /// The condition (`p(COND) OP X` over the paths), if one was asked.
    pub holds: Option<bool>,
    /// The share of paths in which COND held.
    pub share: Option<Decimal>,
    /// Per entity: how many paths it defaulted in (empty past
    /// [`crate::MAX_ENTITY_COLUMNS`] entities).
    pub defaulted: Vec<u64>,
}

/// A condition: a bool expression, or a probability of one.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub query: Query,
    /// `p(COND) OP X`: the comparison and X.
    pub probability: Option<(BinaryOp, Decimal)>,
    pub text: String,
}

impl Runner {
    pub fn new(
        program: &Program,
        set: &[(String, String)],
        runs: u64,
        seed: u64,
        horizon: Option<u64>,
        jobs: usize,
    ) -> Result<Runner, Error> {
        let mut fixed = Vec::new();
        for (name, text) in set {
            let flag = format!("--set {name}={text}");
            let id = param_id(program, name, &flag)?;
            let ty = program.inner.ir.params[id as usize].ty;
            let value = crate::engine::parse_literal(text.trim(), ty)
                .map_err(|reason| sweep_error(SweepError::new(&flag, reason)))?;
            fixed.retain(|(p, _)| *p != id);
            fixed.push((id, value));
        }
        Ok(Runner {
            program: program.clone(),
            fixed,
            runs,
            seed,
            horizon,
            jobs: jobs.max(1),
            paths: std::cell::Cell::new(0),
        })
    }

    /// Paths per point.
    pub fn per_point(&self) -> u64 {
        self.runs.max(1)
    }

    pub fn paths_run(&self) -> u64 {
        self.paths.get()
    }

    /// The base value of each param (as `cascade run` computes it, with the `--set`s).
    pub fn base_values(&self) -> Result<Vec<Value>, Error> {
        let mut start = self.program.start().provenance(false).seed(self.seed);
        for (id, value) in &self.fixed {
            start = start.set_id(*id, value.clone());
        }
        let run = start.begin()?;
        Ok(run.machine.st.params.clone())
    }

    /// Runs every point (`values[i]` for param `varied[i]`, `None` = as the
    /// script computes it) and sums up each point's paths, in order.
    pub fn evaluate(
        &self,
        varied: &[u32],
        points: Vec<Vec<Value>>,
        metric: Option<&Query>,
        condition: Option<&Condition>,
    ) -> Result<Vec<Outcome>, Error> {
        let count = points.len();
        let mut records = Vec::new();
        records.extend(metric.cloned());
        records.extend(condition.map(|c| c.query.clone()));
        let sweep = Sweep::of_points(
            &self.program,
            varied.to_vec(),
            points.clone(),
            self.fixed.clone(),
            records,
            self.per_point(),
            self.seed,
            self.horizon,
            self.runs > 0,
        );
        let entities = sweep.entity_columns().len();
        let mut sums: Vec<Sums> = (0..count).map(|_| Sums::new(entities)).collect();
        let mut failure: Option<(u64, String)> = None;
        let end = sweep.run(self.jobs, None, |path| {
            if let PathEnd::Failed { message, .. } = &path.end {
                failure.get_or_insert((path.point, message.clone()));
            }
            if let Some(sum) = sums.get_mut(path.point as usize) {
                sum.add(&path, metric.is_some(), condition.is_some());
            }
            std::ops::ControlFlow::Continue(())
        });
        self.paths.set(self.paths.get() + end.done);
        if let Some((point, message)) = failure {
            let ir = &self.program.inner.ir;
            let at: Vec<String> = varied
                .iter()
                .zip(&points[point as usize])
                .filter(|(_, v)| **v != Value::None)
                .map(|(p, v)| format!("{} = {v}", ir.params[*p as usize].name))
                .collect();
            return Err(sweep_error(
                SweepError::new("--vary", format!("the run at {} failed: {message}", at.join(", ")))
                    .with_help(
                        "narrow the range to values the script can run, or make the script handle them",
                    ),
            ));
        }
        Ok(sums.into_iter().map(|s| s.outcome(condition)).collect())
    }
}

/// Running sums of one point's paths.
struct Sums {
    paths: u64,
    metric_sum: Decimal,
    metric_count: u64,
    overflow: bool,
    held: u64,
    defaulted: Vec<u64>,
}

impl Sums {
    fn new(entities: usize) -> Sums {
        Sums {
            paths: 0,
            metric_sum: Decimal::ZERO,
            metric_count: 0,
            overflow: false,
            held: 0,
            defaulted: vec![0; entities],
        }
    }

    fn add(&mut self, path: &crate::sweep::PathResult, metric: bool, condition: bool) {
        self.paths += 1;
        for (count, at) in self.defaulted.iter_mut().zip(&path.defaulted_at) {
            *count += u64::from(at.is_some());
        }
        let mut records = path.records.iter();
        if metric {
            let value = match records.next() {
                Some(Value::Number(n)) => Some(*n),
                Some(Value::Bool(b)) => Some(Decimal::from(u8::from(*b))),
                _ => None,
            };
            if let Some(v) = value {
                match self.metric_sum.checked_add(v) {
                    Some(sum) => self.metric_sum = sum,
                    None => self.overflow = true,
                }
                self.metric_count += 1;
            }
        }
        if condition && records.next() == Some(&Value::Bool(true)) {
            self.held += 1;
        }
    }

    fn outcome(self, condition: Option<&Condition>) -> Outcome {
        let paths = Decimal::from(self.paths.max(1));
        let metric = if self.metric_count == 0 || self.overflow {
            None
        } else {
            let mean = self.metric_sum.checked_div(Decimal::from(self.metric_count));
            mean.map(|m| if self.metric_count == 1 { m } else { m.round_sf(12).unwrap_or(m).normalize() })
        };
        let share = Decimal::from(self.held).checked_div(paths);
        let holds = condition.map(|c| match (c.probability, share) {
            (Some((op, x)), Some(share)) => compare(op, share, x),
            _ => self.held > 0 && self.held == self.paths,
        });
        Outcome { metric, holds, share: condition.and(share), defaulted: self.defaulted }
    }
}

fn compare(op: BinaryOp, a: Decimal, b: Decimal) -> bool {
    match op {
        BinaryOp::Lt => a < b,
        BinaryOp::Le => a <= b,
        BinaryOp::Gt => a > b,
        BinaryOp::Ge => a >= b,
        BinaryOp::Eq => a == b,
        _ => a != b,
    }
}

pub(crate) fn sweep_error(e: SweepError) -> Error {
    Error::Sweep(Box::new(e))
}

pub(crate) fn param_id(program: &Program, name: &str, flag: &str) -> Result<u32, Error> {
    program.param_id(name.trim()).map_err(|e| {
        let help = match &e {
            Error::UnknownName { help, .. } => help.clone(),
            _ => None,
        };
        sweep_error(SweepError {
            flag: flag.to_string(),
            message: format!("the script has no param `{}`", name.trim()),
            help,
        })
    })
}

/// Checks `--metric`: an expression of a number (a bool counts as 0 or 1).
pub(crate) fn check_metric(program: &Program, text: &str) -> Result<Query, Error> {
    let source = SourceFile::new("--metric", text);
    let query = program.check_query(text, "--metric").map_err(|p| script(&source, p))?;
    if !matches!(query.ty, Type::Number | Type::Bool) {
        let span = crate::source::Span::new(0, text.len());
        let problem = Problem::error(codes::stress::wrong_type, format!("a metric must be a number, and this is {}", query.ty.describe()))
            .label(span, format!("this is {}", query.ty.describe()))
            .help("measure a number of the final state (`coreweave.cash`, `first_default`, `coreweave.defaulted_at`, `count(b for b in Bank where b.defaulted)`)");
        return Err(script(&source, vec![problem]));
    }
    Ok(query)
}

/// Checks `--until`: a bool, or `p(COND) OP X` with `runs`.
pub(crate) fn check_condition(program: &Program, text: &str, runs: u64) -> Result<Condition, Error> {
    let source = SourceFile::new("--until", text);
    let expr = crate::syntax::parse_expression_with(&source, program.inner.syntax)
        .map_err(|p| script(&source, vec![p]))?;
    let mut probability = None;
    let mut inner = &expr;
    let mut is_probability = false;
    if let ExprKind::Binary(op, left, right) = &expr.kind
        && matches!(op, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
        && let ExprKind::Call(name, args) = &left.kind
        && name.name == "p"
        && args.len() == 1
        && program.param_id("p").is_err()
    {
        is_probability = true;
        let ExprKind::Number(x) = right.kind else {
            let problem =
                Problem::error(codes::stress::wrong_type, "a probability is compared with a number")
                    .label(right.span, "not a number")
                    .help("write `p(COND) >= 50%`");
            return Err(script(&source, vec![problem]));
        };
        probability = Some((*op, x));
        inner = &args[0];
    }
    let query = program.check_parsed_query(text, inner).map_err(|p| script(&source, p))?;
    if query.ty != Type::Bool {
        let problem = Problem::error(
            codes::stress::wrong_type,
            format!("`--until` must be a condition (a bool), and this is {}", query.ty.describe()),
        )
        .label(inner.span, format!("this is {}", query.ty.describe()))
        .help("compare it: `coreweave.cash < 0`, `first_default <= 12`, `coreweave.defaulted`");
        return Err(script(&source, vec![problem]));
    }
    if runs > 1 && !is_probability {
        return Err(sweep_error(
            SweepError::new(
                &format!("--until {text}"),
                format!("with --runs {runs} a condition is a probability"),
            )
            .with_help(format!("ask how likely it is: `--until 'p({}) >= 50%'`", text.trim())),
        ));
    }
    if runs <= 1 && is_probability {
        return Err(sweep_error(
            SweepError::new(&format!("--until {text}"), "a probability needs many paths")
                .with_help("add `--runs N` (and `--seed S`), or drop the `p(...)`"),
        ));
    }
    Ok(Condition { query, probability, text: text.trim().to_string() })
}

fn script(source: &SourceFile, problems: Vec<Problem>) -> Error {
    Error::Script(Box::new(Diagnostics::new(source, problems)))
}

/// A number written as in a script (`$1.50`, `30%`, `1.5bn`).
pub(crate) fn number(text: &str, flag: &str) -> Result<Decimal, Error> {
    match crate::engine::parse_literal(text.trim(), Type::Number) {
        Ok(Value::Number(n)) => Ok(n),
        Ok(_) => Err(sweep_error(SweepError::new(flag, format!("`{}` is not a number", text.trim())))),
        Err(reason) => Err(sweep_error(SweepError::new(flag, reason))),
    }
}

/// `LO..HI` (a range with LO < HI).
pub(crate) fn range(text: &str, flag: &str) -> Result<Option<(Decimal, Decimal)>, Error> {
    let Some((lo, hi)) = text.split_once("..") else { return Ok(None) };
    let (lo, hi) = (number(lo, flag)?, number(hi, flag)?);
    if lo >= hi {
        return Err(sweep_error(
            SweepError::new(flag, format!("the range is empty: {lo} is not below {hi}"))
                .with_help("write the lower bound first: `NAME=LO..HI` with LO < HI"),
        ));
    }
    Ok(Some((lo, hi)))
}

/// `s` rounded for display to 12 significant digits.
pub(crate) fn tidy(d: Decimal) -> Decimal {
    d.round_sf(12).unwrap_or(d).normalize()
}

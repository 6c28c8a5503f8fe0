//! Many paths of one program: parameter sweeps and seeded Monte Carlo.
//!
//! A [`Sweep`] is a plan: its *points* (the grid of `--vary` values, or a
//! Latin hypercube over their ranges) and `runs` *paths* at each point. Path
//! `i` at any point draws from the stream of (seed, `i`) — the same numbers at
//! every point (common random numbers), so points differ only by what was
//! varied — and [`crate::RunStart::path`] reproduces it alone.
//!
//! The paths of a sweep are numbered point by point (`point × runs + path`).
//! [`Sweep::run`] runs them on a rayon pool in blocks of [`BLOCK`] and hands
//! the results to the host strictly in that order, so whatever is computed
//! from them (rows, [`Summary`]) is the same, byte for byte, for any number of
//! threads. A shard `K/N` is the K-th of N contiguous slices of that order, so
//! the shards' outputs put end to end are the whole sweep's (see
//! [`merge_outputs`]). Memory is bounded by one block of results and the
//! summary's bounded state, not by the number of paths.

mod output;
mod path;
mod points;
mod query;
mod summary;

use std::fmt;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use crate::engine::{Error, Program};
use crate::eval::display_value;
use crate::ir::Root;
use crate::value::Value;

pub use crate::engine::{MergeError, SweepError};
pub use output::{Merged, OutputFormat, RowWriter, ShardOutput, merge_outputs};
pub use points::MAX_POINTS;
pub use summary::{DefaultCurve, DefaultRow, EXACT_VALUES, FAN_PERCENTILES, FanStep, Summary};

/// Paths run together before their results are handed over, in order.
pub const BLOCK: u64 = 1024;

/// Entities that get a `NAME.defaulted_at` column unless `--record` chooses.
pub const MAX_ENTITY_COLUMNS: usize = 100;

/// How the points are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sample {
    /// Every combination of the `--vary` values.
    #[default]
    Grid,
    /// N Latin-hypercube points over the `--vary` ranges (`LO..HI/N`).
    Lhs,
}

/// The K-th (from 1) of N slices of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = SweepError;
    /// `K/N`, e.g. `2/8`.
    fn from_str(text: &str) -> Result<Shard, SweepError> {
        let flag = format!("--shard {text}");
        let help = "write `--shard K/N` with 1 ≤ K ≤ N, e.g. `--shard 1/4` … `--shard 4/4`";
        let (k, n) =
            text.split_once('/').ok_or_else(|| SweepError::new(&flag, "not `K/N`").with_help(help))?;
        let parse = |s: &str| s.trim().parse::<u64>().ok();
        let (Some(index), Some(count)) = (parse(k), parse(n)) else {
            return Err(SweepError::new(&flag, "K and N must be whole numbers").with_help(help));
        };
        if count == 0 || index == 0 || index > count {
            return Err(
                SweepError::new(&flag, format!("there is no shard {index} of {count}")).with_help(help)
            );
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a sweep is asked to do; see [`Program::sweep`].
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// `(NAME, "V1,V2,...")` or `(NAME, "LO..HI/N")`, in order.
    pub vary: Vec<(String, String)>,
    /// Grid or Latin hypercube.
    pub sample: Sample,
    /// Paths per point (at least 1).
    pub runs: u64,
    /// The seed (0 unless given).
    pub seed: u64,
    /// Params fixed for every path, as `--set` gives them.
    pub set: Vec<(String, String)>,
    /// Expressions to record at the end of each path, or entity names whose
    /// `defaulted_at` to record (instead of every entity's).
    pub record: Vec<String>,
    /// Run only this slice.
    pub shard: Option<Shard>,
    /// Steps instead of the scenario's horizon.
    pub horizon: Option<u64>,
    /// Expressions recorded at every step of every path (for fan charts: see
    /// [`Summary::fan`]), in [`PathResult::step_values`].
    pub step_records: Vec<String>,
}

/// How a path ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathEnd {
    /// At the horizon.
    Horizon,
    /// By `stop`, with its reason.
    Stopped(String),
    /// A run-time error (its code and message); the sweep goes on.
    Failed {
        /// The diagnostic's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// Not finished: the sweep was cancelled.
    Cancelled,
}

impl fmt::Display for PathEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathEnd::Horizon => f.write_str("horizon"),
            PathEnd::Stopped(reason) => write!(f, "stop: {reason}"),
            PathEnd::Failed { code, .. } => write!(f, "error: {code}"),
            PathEnd::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// The outcome of one path, handed to the host in path order.
#[derive(Clone, Debug, PartialEq)]
pub struct PathResult {
    /// Its place in the whole sweep: `point × runs + path`.
    pub index: u64,
    /// The point (from 0).
    pub point: u64,
    /// The path at that point (from 0): the stream it drew from.
    pub path: u64,
    /// The varied params' values, then the uncertain params' draws (see
    /// [`Sweep::param_columns`]).
    pub params: Vec<Value>,
    /// The last step that ran.
    pub end_step: u64,
    /// How it ended.
    pub end: PathEnd,
    /// How many entities defaulted.
    pub defaults: usize,
    /// `defaulted_at` of each recorded entity (see [`Sweep::entity_columns`]).
    pub defaulted_at: Vec<Option<u64>>,
    /// The value of each recorded expression at the end (`Value::None` when it
    /// has none, or the run failed).
    pub records: Vec<Value>,
    /// How many `expect`s and `assert`s held.
    pub expectations_held: usize,
    /// The value of each step record ([`SweepOptions::step_records`]) at
    /// each step from 0 to the horizon; a path that stopped early keeps its
    /// final values for the steps after (`Value::None` where it has none).
    pub step_values: Vec<Vec<Value>>,
}

/// How [`Sweep::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepEnd {
    /// Paths handed over.
    pub done: u64,
    /// True if the cancel flag stopped it (or the host did) before the end.
    pub stopped: bool,
}

/// A run measure that a query may read by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// `first_default`: the step of the first default (none if there is none).
    FirstDefault,
    /// `defaults`: how many entities defaulted.
    Defaults,
}

/// A checked expression over a path's final state (see
/// [`Program::check_query`]): its text, type, and the frame slots of the run
/// measures it reads.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    pub text: String,
    pub root: Root,
    pub ty: crate::value::Type,
    pub measures: Vec<(u16, Measure)>,
}

/// A checked plan of paths; see [`Program::sweep`].
pub struct Sweep {
    program: Program,
    options: SweepOptions,
    /// The varied params (ids) and each point's values for them.
    varied: Vec<u32>,
    points: Vec<Vec<Value>>,
    /// Params fixed by `--set`.
    fixed: Vec<(u32, Value)>,
    /// Uncertain params drawn per path (not varied or fixed).
    drawn: Vec<u32>,
    entities: Vec<u32>,
    entities_omitted: bool,
    records: Vec<Query>,
    step_records: Vec<Query>,
    /// False for a base-case batch: uncertain params keep their base values
    /// and draws come from path 0's stream (as in `cascade run`).
    draw_paths: bool,
}

impl fmt::Debug for Sweep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sweep({} points × {} runs)", self.points.len(), self.options.runs)
    }
}

impl Program {
    /// Plans a sweep: checks every option (unknown names with "did you mean",
    /// empty ranges, bad shards, record expressions) before anything runs.
    ///
    /// ```
    /// use cascade::{Engine, SweepOptions};
    /// let program = Engine::new().compile(
    ///     "param p = 30%\nvar heads = bernoulli(p)\nkind K { x = 0 }\nentity k: K {}\nwhen heads then default(k)",
    ///     "coin.cascade",
    /// )?;
    /// let options = SweepOptions { runs: 10, vary: vec![("p".into(), "10%,50%".into())], ..Default::default() };
    /// let sweep = program.sweep(&options)?;
    /// let mut rows = Vec::new();
    /// sweep.run(2, None, |path| {
    ///     rows.push(sweep.row(&path));
    ///     std::ops::ControlFlow::Continue(())
    /// });
    /// assert_eq!(rows.len(), 20);
    /// assert_eq!(rows[13][2], "0.5"); // point 1 (p = 50%), path 3
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn sweep(&self, options: &SweepOptions) -> Result<Sweep, Error> {
        Sweep::plan(self, options).map_err(|e| Error::Sweep(Box::new(e)))
    }
}

impl Sweep {
    fn plan(program: &Program, options: &SweepOptions) -> Result<Sweep, SweepError> {
        let ir = &program.inner.ir;
        if options.runs == 0 {
            return Err(SweepError::new("--runs 0", "no paths to run")
                .with_help("ask for at least one: `--runs 1000`"));
        }
        let param = |name: &str, flag: &str| -> Result<u32, SweepError> {
            program.param_id(name).map_err(|e| {
                let help = match &e {
                    Error::UnknownName { help, .. } => help.clone(),
                    _ => None,
                };
                SweepError {
                    flag: flag.to_string(),
                    message: format!("the script has no param `{name}`"),
                    help,
                }
            })
        };
        let mut varied = Vec::new();
        let mut axes = Vec::new();
        for (name, text) in &options.vary {
            let flag = format!("--vary {name}={text}");
            let id = param(name, &flag)?;
            if varied.contains(&id) {
                return Err(SweepError::new(&flag, format!("`{name}` is varied twice"))
                    .with_help("give all its values in one `--vary`"));
            }
            axes.push(points::parse_axis(name, text, ir.params[id as usize].ty)?);
            varied.push(id);
        }
        let points = match options.sample {
            Sample::Grid => points::grid(&axes)?,
            Sample::Lhs => points::latin_hypercube(&axes, options.seed)?,
        };
        let mut fixed = Vec::new();
        for (name, text) in &options.set {
            let flag = format!("--set {name}={text}");
            let id = param(name, &flag)?;
            if varied.contains(&id) {
                return Err(SweepError::new(&flag, format!("`{name}` is both set and varied"))
                    .with_help("drop the `--set` or the `--vary`"));
            }
            let value = crate::engine::parse_literal(text.trim(), ir.params[id as usize].ty)
                .map_err(|reason| SweepError::new(&flag, reason))?;
            fixed.retain(|(p, _)| *p != id);
            fixed.push((id, value));
        }
        let drawn = (0..ir.params.len() as u32)
            .filter(|p| ir.params[*p as usize].uncertain.is_some())
            .filter(|p| !varied.contains(p) && !fixed.iter().any(|(f, _)| f == p))
            .collect();
        let mut entities = Vec::new();
        let mut records = Vec::new();
        for text in &options.record {
            if let Some(e) = ir.entities.iter().position(|e| e.name == text.trim()) {
                entities.push(e as u32);
                continue;
            }
            let query = program.check_record(text).map_err(|message| {
                SweepError::new(&format!("--record {text}"), message)
                    .with_help("record an expression of the final state (`coreweave.cash`, `count(b for b in Bank where b.defaulted)`) or an entity's name")
            })?;
            records.push(query);
        }
        let mut step_records = Vec::new();
        for text in &options.step_records {
            let query = program.check_record(text).map_err(|message| {
                SweepError::new(&format!("--plot-value {text}"), message)
                    .with_help("draw a value of the state at each step (`h100_price`, `coreweave.cash`)")
            })?;
            step_records.push(query);
        }
        let mut entities_omitted = false;
        if entities.is_empty() {
            if ir.entities.len() <= MAX_ENTITY_COLUMNS {
                entities = (0..ir.entities.len() as u32).collect();
            } else {
                entities_omitted = true;
            }
        }
        let total = (points.len() as u64).checked_mul(options.runs).ok_or_else(|| {
            SweepError::new("--runs", "too many paths").with_help("ask for fewer points or runs")
        })?;
        if let Some(shard) = options.shard
            && shard.count > total
        {
            return Err(SweepError::new(
                &format!("--shard {shard}"),
                format!("{} shards for {total} paths: some would be empty", shard.count),
            )
            .with_help("use at most as many shards as paths"));
        }
        Ok(Sweep {
            program: program.clone(),
            options: options.clone(),
            varied,
            points,
            fixed,
            drawn,
            entities,
            entities_omitted,
            records,
            step_records,
            draw_paths: true,
        })
    }

    /// A sweep over explicit points of the params `varied` (a point's `None`
    /// leaves that param as the script computes it), recording `records`;
    /// what sensitivity and threshold searches run. With `draw_paths` false
    /// (and one run), each point is the base case of `cascade run`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn of_points(
        program: &Program,
        varied: Vec<u32>,
        points: Vec<Vec<Value>>,
        fixed: Vec<(u32, Value)>,
        records: Vec<Query>,
        runs: u64,
        seed: u64,
        horizon: Option<u64>,
        draw_paths: bool,
    ) -> Sweep {
        let ir = &program.inner.ir;
        let entities_omitted = ir.entities.len() > MAX_ENTITY_COLUMNS;
        let entities = if entities_omitted { Vec::new() } else { (0..ir.entities.len() as u32).collect() };
        let drawn = (0..ir.params.len() as u32)
            .filter(|p| draw_paths && ir.params[*p as usize].uncertain.is_some())
            .filter(|p| !varied.contains(p) && !fixed.iter().any(|(f, _)| f == p))
            .collect();
        Sweep {
            program: program.clone(),
            options: SweepOptions { runs: runs.max(1), seed, horizon, ..SweepOptions::default() },
            varied,
            points,
            fixed,
            drawn,
            entities,
            entities_omitted,
            records,
            step_records: Vec::new(),
            draw_paths,
        }
    }

    /// The program swept.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The options it was planned with.
    pub fn options(&self) -> &SweepOptions {
        &self.options
    }

    /// The number of points.
    pub fn point_count(&self) -> u64 {
        self.points.len() as u64
    }

    /// The values of the varied params at a point.
    pub fn point(&self, point: u64) -> Option<&[Value]> {
        self.points.get(point as usize).map(Vec::as_slice)
    }

    /// Paths in the whole sweep (every shard).
    pub fn total_paths(&self) -> u64 {
        self.points.len() as u64 * self.options.runs
    }

    /// The paths of this shard (all of them without one), as indices.
    pub fn paths(&self) -> Range<u64> {
        let total = self.total_paths();
        match self.options.shard {
            None => 0..total,
            Some(Shard { index, count }) => {
                let cut = |k: u64| (total as u128 * k as u128 / count as u128) as u64;
                cut(index - 1)..cut(index)
            }
        }
    }

    /// The names of [`PathResult::params`]: the varied params, then the
    /// uncertain params drawn per path.
    pub fn param_columns(&self) -> Vec<String> {
        let ir = &self.program.inner.ir;
        self.varied.iter().chain(&self.drawn).map(|p| ir.params[*p as usize].name.clone()).collect()
    }

    /// The entities of [`PathResult::defaulted_at`].
    pub fn entity_columns(&self) -> Vec<String> {
        let ir = &self.program.inner.ir;
        self.entities.iter().map(|e| ir.entities[*e as usize].name.clone()).collect()
    }

    /// True when the script has more than [`MAX_ENTITY_COLUMNS`] entities and
    /// none was chosen with `--record`: rows then have no `defaulted_at` columns.
    pub fn entities_omitted(&self) -> bool {
        self.entities_omitted
    }

    /// The steps a path runs: the horizon of the options or the scenario
    /// (within the engine's step limit).
    pub fn horizon(&self) -> u64 {
        let limit = self.program.inner.limits.max_steps;
        self.options.horizon.unwrap_or_else(|| self.program.horizon()).min(limit)
    }

    /// The recorded expressions, as written.
    pub fn record_columns(&self) -> Vec<String> {
        self.records.iter().map(|r| r.text.clone()).collect()
    }

    /// Runs this shard's paths on `jobs` threads and hands each result to
    /// `on_path` in path order. Raising `cancel` stops the paths in flight and
    /// hands over only those finished before the first unfinished one; so does
    /// `on_path` returning `Break`.
    pub fn run(
        &self,
        jobs: usize,
        cancel: Option<Arc<AtomicBool>>,
        mut on_path: impl FnMut(PathResult) -> ControlFlow<()>,
    ) -> SweepEnd {
        let pool =
            if jobs > 1 { rayon::ThreadPoolBuilder::new().num_threads(jobs).build().ok() } else { None };
        let range = self.paths();
        let mut done = 0;
        let mut at = range.start;
        let mut spare = None;
        while at < range.end {
            let block = at..(at + BLOCK).min(range.end);
            // Each thread's paths reuse the memory of its path before.
            let mut run_block = || -> Vec<PathResult> {
                let one = |spare: &mut Option<_>, g: u64| self.run_path_reusing(g, cancel.as_ref(), spare);
                match &pool {
                    Some(_) => block.clone().into_par_iter().map_init(|| None, one).collect(),
                    None => block.clone().map(|g| one(&mut spare, g)).collect(),
                }
            };
            let results = match &pool {
                Some(pool) => pool.install(run_block),
                None => run_block(),
            };
            for result in results {
                if result.end == PathEnd::Cancelled {
                    return SweepEnd { done, stopped: true };
                }
                done += 1;
                if on_path(result).is_break() {
                    return SweepEnd { done, stopped: true };
                }
            }
            at = block.end;
        }
        SweepEnd { done, stopped: false }
    }

    /// The column names of [`Sweep::row`].
    pub fn header(&self) -> Vec<String> {
        let mut header = vec![String::from("point"), String::from("path")];
        header.extend(self.param_columns());
        header.extend(["end_step", "end_reason", "defaults"].map(String::from));
        header.extend(self.entity_columns().into_iter().map(|e| format!("{e}.defaulted_at")));
        header.extend(self.record_columns());
        header.push(String::from("expectations_held"));
        header
    }

    /// A path as a row of exact values (empty where there is none).
    pub fn row(&self, result: &PathResult) -> Vec<String> {
        let ir = &self.program.inner.ir;
        let show = |v: &Value| match v {
            Value::None => String::new(),
            Value::Entity(_) => display_value(ir, v),
            other => other.to_string(),
        };
        let mut row = vec![result.point.to_string(), result.path.to_string()];
        row.extend(result.params.iter().map(show));
        row.extend([result.end_step.to_string(), result.end.to_string(), result.defaults.to_string()]);
        row.extend(result.defaulted_at.iter().map(|s| s.map_or_else(String::new, |s| s.to_string())));
        row.extend(result.records.iter().map(show));
        row.push(result.expectations_held.to_string());
        row
    }

    /// An empty summary of this sweep's points.
    pub fn summary(&self) -> Summary {
        let ir = &self.program.inner.ir;
        let show = |v: &Value| v.to_string();
        Summary::new(summary::Layout {
            vary: self.varied.iter().map(|p| ir.params[*p as usize].name.clone()).collect(),
            points: self.points.iter().map(|p| p.iter().map(show).collect()).collect(),
            entities: self.entity_columns(),
            records: self.record_columns(),
            start: ir.scenario.start,
            unit: ir.scenario.unit,
            step_records: self.step_records.iter().map(|r| r.text.clone()).collect(),
            horizon: self.horizon(),
        })
    }
}

//! `cascade sensitivity`: one at a time (a tornado) or Morris elementary
//! effects.

use rust_decimal::{Decimal, MathematicalOps};
use serde::Serialize;

use super::{Outcome, Runner, check_metric, number, param_id, range, sweep_error, tidy};
use crate::engine::{Error, Program};
use crate::sweep::SweepError;
use crate::value::{Type, Value};

/// How params are varied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// One at a time: each param at its low and high value, the others at base.
    #[default]
    Oat,
    /// Morris elementary effects over the ranges (mean and spread per param).
    Morris,
}

/// What [`Program::sensitivity`] is asked to do.
#[derive(Clone, Debug)]
pub struct SensitivityOptions {
    /// `(NAME, "±10%")`, `(NAME, "±0.5")` or `(NAME, "LO..HI")`, in order.
    pub vary: Vec<(String, String)>,
    /// Also vary every other number param by `spread`.
    pub all: bool,
    /// The move of `all`'s params (`"±10%"`).
    pub spread: String,
    /// The metric: an expression over the final state, or `first_default`, `defaults`.
    pub metric: String,
    /// One at a time or Morris.
    pub method: Method,
    /// Morris: trajectories (each `params + 1` runs).
    pub trajectories: u64,
    /// Params fixed for every run, as `--set` gives them.
    pub set: Vec<(String, String)>,
    /// 0: one base-case run per point; N: N paths per point (the metric is their mean).
    pub runs: u64,
    /// The seed.
    pub seed: u64,
    /// Steps instead of the scenario's horizon.
    pub horizon: Option<u64>,
    /// Threads; the result is the same for any number.
    pub jobs: usize,
}

impl Default for SensitivityOptions {
    fn default() -> SensitivityOptions {
        SensitivityOptions {
            vary: Vec::new(),
            all: false,
            spread: String::from("±10%"),
            metric: String::new(),
            method: Method::Oat,
            trajectories: 10,
            set: Vec::new(),
            runs: 0,
            seed: 0,
            horizon: None,
            jobs: 1,
        }
    }
}

/// One bar of a tornado.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TornadoRow {
    /// The param.
    pub param: String,
    /// Its base value.
    pub base: Decimal,
    /// Its low and high values.
    pub low: Decimal,
    /// Its high value.
    pub high: Decimal,
    /// The metric with the param at its low value (none if it has none).
    pub at_low: Option<Decimal>,
    /// The metric with the param at its high value.
    pub at_high: Option<Decimal>,
    /// The widest gap between the metric at low, base and high.
    pub swing: Decimal,
    /// Entities whose default the low value flips: `+name` defaults there
    /// but not at base, `-name` defaults at base but not there.
    pub flips_low: Vec<String>,
    /// The same at the high value.
    pub flips_high: Vec<String>,
    /// A small move of the param moves the metric a lot, or to or from none.
    pub knife_edge: bool,
}

/// One param's elementary effects (Morris).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    /// The param.
    pub param: String,
    /// Its range.
    pub low: Decimal,
    /// Its range's top.
    pub high: Decimal,
    /// The mean of |effect| (μ*): how much it matters.
    pub mean_abs: Option<Decimal>,
    /// The mean effect (μ): its direction.
    pub mean: Option<Decimal>,
    /// The effects' standard deviation (σ): interactions or non-linearity.
    pub spread: Option<Decimal>,
    /// Effects measured (trajectories where the metric had a value on both sides).
    pub count: u64,
}

/// What [`Program::sensitivity`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sensitivity {
    /// The metric, as written.
    pub metric: String,
    /// The method.
    pub method: Method,
    /// The metric at the base case.
    pub base: Option<Decimal>,
    /// Entities that default at the base case.
    pub base_defaults: Vec<String>,
    /// One at a time: the bars, widest swing first.
    pub rows: Vec<TornadoRow>,
    /// Morris: the effects, largest μ* first.
    pub effects: Vec<Effect>,
    /// Paths at each point.
    pub paths_per_point: u64,
    /// Paths run in all.
    pub runs: u64,
    /// Params `all` left out (not numbers), with why.
    pub skipped: Vec<String>,
}

/// An elasticity at or above this marks a knife-edge.
const KNIFE_EDGE: i64 = 5;

struct Varied {
    id: u32,
    name: String,
    base: Decimal,
    low: Decimal,
    high: Decimal,
}

impl Program {
    /// Varies params and measures a metric: a tornado (one at a time) or
    /// Morris elementary effects. Deterministic for any `jobs`.
    ///
    /// ```
    /// use cascade::{Engine, SensitivityOptions};
    /// let program = Engine::new().compile(
    ///     "param cash = 100\nparam cost = 10\nparam unused = 1\nvar left = cash\n\
    ///      kind K { x = 0 }\nentity k: K {}\nwhile true then left -= cost\n\
    ///      when left <= 0 then default(k)\nscenario \"s\" { horizon = 40 }",
    ///     "burn.cascade",
    /// )?;
    /// let options = SensitivityOptions { all: true, metric: "first_default".into(), ..Default::default() };
    /// let tornado = program.sensitivity(&options)?;
    /// assert_eq!(tornado.rows.last().unwrap().param, "unused");
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn sensitivity(&self, options: &SensitivityOptions) -> Result<Sensitivity, Error> {
        let metric = check_metric(self, &options.metric)?;
        let runner =
            Runner::new(self, &options.set, options.runs, options.seed, options.horizon, options.jobs)?;
        let base_values = runner.base_values()?;
        let (varied, skipped) = resolve(self, options, &base_values, &runner)?;
        let ids: Vec<u32> = varied.iter().map(|v| v.id).collect();
        let ir = &self.inner.ir;
        let entity_names: Vec<String> = if ir.entities.len() > crate::MAX_ENTITY_COLUMNS {
            Vec::new()
        } else {
            ir.entities.iter().map(|e| e.name.clone()).collect()
        };
        let mut result = Sensitivity {
            metric: options.metric.trim().to_string(),
            method: options.method,
            base: None,
            base_defaults: Vec::new(),
            rows: Vec::new(),
            effects: Vec::new(),
            paths_per_point: runner.per_point(),
            runs: 0,
            skipped,
        };
        match options.method {
            Method::Oat => {
                let none = vec![Value::None; ids.len()];
                let mut points = vec![none.clone()];
                for (i, v) in varied.iter().enumerate() {
                    for value in [v.low, v.high] {
                        let mut point = none.clone();
                        point[i] = Value::Number(value);
                        points.push(point);
                    }
                }
                let outcomes = runner.evaluate(&ids, points, Some(&metric), None)?;
                let base = &outcomes[0];
                let per = runner.per_point();
                let defaulted =
                    |o: &Outcome| -> Vec<bool> { o.defaulted.iter().map(|c| c * 2 > per).collect() };
                let base_set = defaulted(base);
                result.base = base.metric;
                result.base_defaults =
                    entity_names.iter().zip(&base_set).filter(|(_, d)| **d).map(|(n, _)| n.clone()).collect();
                let flips = |o: &Outcome| -> Vec<String> {
                    let set = defaulted(o);
                    entity_names
                        .iter()
                        .zip(base_set.iter().zip(&set))
                        .filter(|(_, (b, s))| b != s)
                        .map(|(n, (_, s))| format!("{}{n}", if *s { "+" } else { "-" }))
                        .collect()
                };
                for (i, v) in varied.iter().enumerate() {
                    let (lo, hi) = (&outcomes[1 + 2 * i], &outcomes[2 + 2 * i]);
                    let present: Vec<Decimal> =
                        [lo.metric, base.metric, hi.metric].into_iter().flatten().collect();
                    let swing = match (present.iter().min(), present.iter().max()) {
                        (Some(a), Some(b)) => b.checked_sub(*a).unwrap_or(Decimal::MAX),
                        _ => Decimal::ZERO,
                    };
                    let knife_edge = [(lo, v.low), (hi, v.high)]
                        .iter()
                        .any(|(o, value)| knife_edge(base.metric, o.metric, v.base, *value));
                    result.rows.push(TornadoRow {
                        param: v.name.clone(),
                        base: v.base,
                        low: v.low,
                        high: v.high,
                        at_low: lo.metric,
                        at_high: hi.metric,
                        swing,
                        flips_low: flips(lo),
                        flips_high: flips(hi),
                        knife_edge,
                    });
                }
                // Widest first; among equals, a flip to or from none first, then script order.
                result.rows.sort_by(|a, b| {
                    let none = |r: &TornadoRow| r.at_low.is_none() != r.at_high.is_none();
                    b.swing.cmp(&a.swing).then(none(b).cmp(&none(a)))
                });
            }
            Method::Morris => {
                result.effects = morris(&runner, &varied, &ids, &metric, options)?;
                let base = runner.evaluate(&ids, vec![vec![Value::None; ids.len()]], Some(&metric), None)?;
                result.base = base[0].metric;
            }
        }
        result.runs = runner.paths_run();
        Ok(result)
    }
}

/// |Δmetric / metric| ≥ 5 |Δparam / param|, or the metric appears or vanishes.
fn knife_edge(base: Option<Decimal>, at: Option<Decimal>, param: Decimal, value: Decimal) -> bool {
    match (base, at) {
        (Some(_), None) | (None, Some(_)) => true,
        (None, None) => false,
        (Some(b), Some(a)) => {
            // A move too large for decimals is as sharp an edge as there is.
            let Some(moved) = a.checked_sub(b).map(|d| d.abs()) else { return true };
            if moved.is_zero() || b.is_zero() || param.is_zero() {
                return false;
            }
            let Some(rel_metric) = moved.checked_div(b.abs()) else { return true };
            let Some(rel_param) =
                value.checked_sub(param).and_then(|d| d.checked_div(param)).map(|d| d.abs())
            else {
                return false;
            };
            rel_param.is_zero()
                || rel_param.checked_mul(Decimal::from(KNIFE_EDGE)).is_some_and(|edge| rel_metric >= edge)
        }
    }
}

fn resolve(
    program: &Program,
    options: &SensitivityOptions,
    base_values: &[Value],
    _runner: &Runner,
) -> Result<(Vec<Varied>, Vec<String>), Error> {
    let ir = &program.inner.ir;
    let mut varied: Vec<Varied> = Vec::new();
    for (name, text) in &options.vary {
        let flag = format!("--vary {name}={text}");
        let id = param_id(program, name, &flag)?;
        if varied.iter().any(|v| v.id == id) {
            return Err(sweep_error(
                SweepError::new(&flag, format!("`{name}` is varied twice"))
                    .with_help("give one `--vary` per param"),
            ));
        }
        if options.set.iter().any(|(s, _)| s.trim() == name.trim()) {
            return Err(sweep_error(
                SweepError::new(&flag, format!("`{name}` is both set and varied"))
                    .with_help("drop the `--set` or the `--vary`"),
            ));
        }
        let param = &ir.params[id as usize];
        if param.ty != Type::Number {
            return Err(sweep_error(
                SweepError::new(
                    &flag,
                    format!("`{name}` is {}: only numbers can be varied", param.ty.describe()),
                )
                .with_help("fix it with `--set` instead"),
            ));
        }
        let base = base_values[id as usize].as_number().unwrap_or_default();
        let (low, high) = bounds(text, base, &flag)?;
        varied.push(Varied { id, name: param.name.clone(), base, low, high });
    }
    let mut skipped = Vec::new();
    if options.all {
        for (id, param) in ir.params.iter().enumerate() {
            let id = id as u32;
            if varied.iter().any(|v| v.id == id) || options.set.iter().any(|(s, _)| s.trim() == param.name) {
                continue;
            }
            let Some(base) = base_values[id as usize].as_number() else {
                skipped.push(format!("{} ({})", param.name, param.ty.describe()));
                continue;
            };
            let (low, high) = bounds(&options.spread, base, &format!("--all {}", options.spread))?;
            varied.push(Varied { id, name: param.name.clone(), base, low, high });
        }
    }
    if varied.is_empty() {
        return Err(sweep_error(SweepError::new("--vary", "nothing to vary").with_help(
            "name params with `--vary NAME=±10%` or `--vary NAME=LO..HI`, or vary all with `--all`",
        )));
    }
    Ok((varied, skipped))
}

/// `±P%` (of the base), `±D`, or `LO..HI`.
fn bounds(text: &str, base: Decimal, flag: &str) -> Result<(Decimal, Decimal), Error> {
    let text = text.trim();
    if let Some((lo, hi)) = range(text, flag)? {
        return Ok((lo, hi));
    }
    let spread = text.strip_prefix('±').or_else(|| text.strip_prefix("+-")).ok_or_else(|| {
        sweep_error(
            SweepError::new(flag, format!("`{text}` is neither `±P%` nor `LO..HI`"))
                .with_help("write `NAME=±10%` (of its base value), `NAME=±0.5` or `NAME=LO..HI`"),
        )
    })?;
    let relative = spread.trim_end().ends_with('%');
    let amount = number(spread, flag)?.abs();
    let delta = if relative { base.checked_mul(amount) } else { Some(amount) };
    let delta =
        delta.map(|d| d.abs()).ok_or_else(|| sweep_error(SweepError::new(flag, "the move overflows")))?;
    match (base.checked_sub(delta), base.checked_add(delta)) {
        (Some(lo), Some(hi)) => Ok((tidy(lo), tidy(hi))),
        _ => Err(sweep_error(SweepError::new(flag, "the move overflows"))),
    }
}

/// Morris elementary effects on a 4-level grid (Δ = 2/3 of the range),
/// trajectories drawn from the seed's own stream.
fn morris(
    runner: &Runner,
    varied: &[Varied],
    ids: &[u32],
    metric: &crate::sweep::Query,
    options: &SensitivityOptions,
) -> Result<Vec<Effect>, Error> {
    let k = varied.len();
    let r = options.trajectories.clamp(1, 1000);
    let mut stream = crate::random::auxiliary(options.seed, 2);
    // The four levels of each param's grid, in checked decimals.
    let mut grids: Vec<[Decimal; 4]> = Vec::with_capacity(k);
    for v in varied {
        let level = |l: u64| {
            v.high
                .checked_sub(v.low)
                .and_then(|w| w.checked_mul(Decimal::from(l)))
                .and_then(|w| w.checked_div(Decimal::from(3)))
                .and_then(|w| v.low.checked_add(w))
                .map(tidy)
        };
        match (level(0), level(1), level(2), level(3)) {
            (Some(a), Some(b), Some(c), Some(d)) => grids.push([a, b, c, d]),
            _ => {
                return Err(sweep_error(
                    SweepError::new(
                        &format!("--vary {}={}..{}", v.name, v.low, v.high),
                        "the range is too wide to grid in decimals",
                    )
                    .with_help("narrow the range"),
                ));
            }
        }
    }
    let mut points = Vec::new();
    let mut orders = Vec::new();
    for _ in 0..r {
        let mut levels: Vec<u64> = (0..k).map(|_| stream.index_below(2)).collect();
        let mut order: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            let j = stream.index_below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let point = |levels: &[u64]| -> Vec<Value> {
            grids.iter().zip(levels).map(|(g, l)| Value::Number(g[*l as usize])).collect()
        };
        points.push(point(&levels));
        for &i in &order {
            levels[i] += 2;
            points.push(point(&levels));
        }
        orders.push(order);
    }
    let outcomes = runner.evaluate(ids, points, Some(metric), None)?;
    let mut effects: Vec<Vec<Decimal>> = vec![Vec::new(); k];
    for (t, order) in orders.iter().enumerate() {
        let base = t * (k + 1);
        for (step, &i) in order.iter().enumerate() {
            if let (Some(a), Some(b)) = (outcomes[base + step].metric, outcomes[base + step + 1].metric) {
                // Per the whole range: Δ is 2/3 of it.
                if let Some(e) = b
                    .checked_sub(a)
                    .and_then(|d| d.checked_mul(Decimal::from(3)))
                    .map(|d| d / Decimal::from(2))
                {
                    effects[i].push(e);
                }
            }
        }
    }
    let mut out: Vec<Effect> = varied
        .iter()
        .zip(effects)
        .map(|(v, e)| {
            let n = Decimal::from(e.len() as u64);
            let sum = |f: &dyn Fn(&Decimal) -> Option<Decimal>| {
                e.iter().try_fold(Decimal::ZERO, |acc, x| acc.checked_add(f(x)?))
            };
            let mean = (!e.is_empty()).then(|| sum(&|x| Some(*x)).map(|s| s / n)).flatten();
            let mean_abs = (!e.is_empty()).then(|| sum(&|x| Some(x.abs())).map(|s| s / n)).flatten();
            let spread = mean.and_then(|m| {
                if e.len() < 2 {
                    return None;
                }
                let squares = sum(&|x| x.checked_sub(m).and_then(|d| d.checked_mul(d)))?;
                (squares / Decimal::from(e.len() as u64 - 1)).sqrt()
            });
            Effect {
                param: v.name.clone(),
                low: v.low,
                high: v.high,
                mean_abs: mean_abs.map(tidy),
                mean: mean.map(tidy),
                spread: spread.map(tidy),
                count: e.len() as u64,
            }
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.mean_abs.unwrap_or_default()));
    Ok(out)
}

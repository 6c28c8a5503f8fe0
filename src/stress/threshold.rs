//! `cascade threshold`: where a condition changes across a param's range (or
//! along a joint shock of several), found by a parallel grid scan and then an
//! exact-decimal bisection of every flip.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{MAX_GRID, Runner, check_condition, number, param_id, range, sweep_error, tidy};
use crate::engine::{Error, Program};
use crate::ir::{Cell, FieldRef};
use crate::sweep::SweepError;
use crate::syntax::{Expr, ExprKind};
use crate::value::{Type, Value};

/// What [`Program::threshold`] is asked to do: `vary` one param over a range,
/// or `shock` several along a direction (scale s from 0 to 1).
#[derive(Clone, Debug)]
pub struct ThresholdOptions {
    /// `(NAME, "LO..HI")`.
    pub vary: Option<(String, String)>,
    /// `(NAME, "-1.00")` (a move by that much at s = 1) or `(NAME, "-50%")`
    /// (by that share of its base value).
    pub shock: Vec<(String, String)>,
    /// The condition: a bool over the final state (`coreweave.defaulted`,
    /// `first_default <= 12`), or `p(COND) >= 50%` with `runs`.
    pub until: String,
    /// The widest a boundary's interval may be (default: a millionth of the range).
    pub tolerance: Option<String>,
    /// Points of the first scan, both ends included (at least 2).
    pub grid: u64,
    /// Params fixed for every run.
    pub set: Vec<(String, String)>,
    /// 0: one base-case run per point; N: N paths per point.
    pub runs: u64,
    /// The seed.
    pub seed: u64,
    /// Steps instead of the scenario's horizon.
    pub horizon: Option<u64>,
    /// Threads; the result is the same for any number.
    pub jobs: usize,
    /// The entity to explain past the boundary (default: the one the
    /// condition names, else the first to default).
    pub explain: Option<String>,
}

impl Default for ThresholdOptions {
    fn default() -> ThresholdOptions {
        ThresholdOptions {
            vary: None,
            shock: Vec::new(),
            until: String::new(),
            tolerance: None,
            grid: 17,
            set: Vec::new(),
            runs: 0,
            seed: 0,
            horizon: None,
            jobs: 1,
            explain: None,
        }
    }
}

/// A place where the condition changes: it lies in `[from, to]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Boundary {
    /// The interval's low end.
    pub from: Decimal,
    /// Its high end.
    pub to: Decimal,
    /// The condition at `from`.
    pub below: bool,
    /// The condition at `to`.
    pub above: bool,
    /// Points run to narrow it (after the scan).
    pub runs: u64,
    /// The share of paths where the condition held, at `from` and `to` (with `runs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<(Decimal, Decimal)>,
}

/// What the scan found when there is no boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The condition changes: see the boundaries.
    Changes,
    /// It holds at every point scanned.
    HoldsEverywhere,
    /// It holds at no point scanned.
    NeverHolds,
}

/// Where a joint shock first makes the condition hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReverseStress {
    /// The smallest scale at which it holds lies in `(from, to]` (0 if it holds at once).
    pub scale_from: Decimal,
    /// The scale at which it holds.
    pub scale: Decimal,
    /// Each shocked param: its base value and its value at `scale`.
    pub params: Vec<(String, Decimal, Decimal)>,
}

/// What [`Program::threshold`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// The condition, as written.
    pub until: String,
    /// What was moved: the param's name, or `scale` of a shock.
    pub along: String,
    /// The range searched.
    pub lo: Decimal,
    /// Its top.
    pub hi: Decimal,
    /// The tolerance reached.
    pub tolerance: Decimal,
    /// Every boundary, in order along the range.
    pub boundaries: Vec<Boundary>,
    /// Whether it changes, holds everywhere or never.
    pub verdict: Verdict,
    /// Points run in all (scan and bisection).
    pub points: u64,
    /// Paths run in all (points × paths per point).
    pub runs: u64,
    /// A shock: the smallest scale and the params' values there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shock: Option<ReverseStress>,
    /// `explain` of the target in the run just past the first boundary, on
    /// the side where the condition holds (with `runs`, its path 0; `None`
    /// without a boundary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explained>,
}

/// The story of the run past a boundary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The entity explained.
    pub target: String,
    /// The value moved, at that run.
    pub at: Decimal,
    /// With `runs`: the path explained (path 0 of the point, with the seed);
    /// `None` for the base case.
    pub path: Option<u64>,
    /// `explain`'s text.
    pub text: String,
}

/// A move of one param with the scale: `base + s × delta`.
struct Direction {
    id: u32,
    name: String,
    base: Decimal,
    delta: Decimal,
}

impl Program {
    /// Finds where a condition changes across a range (`vary`), or the
    /// smallest scale of a joint shock at which it holds (`shock`).
    ///
    /// ```
    /// use cascade::{Engine, ThresholdOptions};
    /// let program = Engine::new().compile(
    ///     "param cost = 5\nvar cash = 100\nkind K { x = 0 }\nentity k: K {}\n\
    ///      while true then cash -= cost\nwhen cash < 0 then default(k)\nscenario \"s\" { horizon = 10 }",
    ///     "burn.cascade",
    /// )?;
    /// let options = ThresholdOptions {
    ///     vary: Some(("cost".into(), "0..20".into())),
    ///     until: "k.defaulted".into(),
    ///     ..Default::default()
    /// };
    /// let found = program.threshold(&options)?;
    /// let b = &found.boundaries[0];
    /// assert!(b.from <= 10.into() && 10 <= b.to.try_into().unwrap());
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn threshold(&self, options: &ThresholdOptions) -> Result<Threshold, Error> {
        let condition = check_condition(self, &options.until, options.runs)?;
        let runner =
            Runner::new(self, &options.set, options.runs, options.seed, options.horizon, options.jobs)?;
        let base_values = runner.base_values()?;
        let ir = &self.inner.ir;
        let (along, lo, hi, directions) = match (&options.vary, options.shock.is_empty()) {
            (Some((name, text)), true) => {
                let flag = format!("--vary {name}={text}");
                let id = param_id(self, name, &flag)?;
                if ir.params[id as usize].ty != Type::Number {
                    return Err(sweep_error(SweepError::new(
                        &flag,
                        format!(
                            "`{name}` is {}: only numbers have a range",
                            ir.params[id as usize].ty.describe()
                        ),
                    )));
                }
                let Some((lo, hi)) = range(text, &flag)? else {
                    return Err(sweep_error(
                        SweepError::new(&flag, "a threshold is searched over a range")
                            .with_help(format!("write `--vary {name}=LO..HI`")),
                    ));
                };
                let direction =
                    Direction { id, name: name.trim().to_string(), base: Decimal::ZERO, delta: Decimal::ONE };
                (name.trim().to_string(), lo, hi, vec![direction])
            }
            (None, false) => {
                let mut directions: Vec<Direction> = Vec::new();
                for (name, text) in &options.shock {
                    let flag = format!("--shock {name}={text}");
                    let id = param_id(self, name, &flag)?;
                    let Some(base) = base_values[id as usize].as_number() else {
                        return Err(sweep_error(SweepError::new(&flag, format!("`{name}` is not a number"))));
                    };
                    if directions.iter().any(|d| d.id == id) {
                        return Err(sweep_error(SweepError::new(
                            &flag,
                            format!("`{name}` is shocked twice"),
                        )));
                    }
                    let amount = number(text, &flag)?;
                    let delta =
                        if text.trim().ends_with('%') { base.checked_mul(amount) } else { Some(amount) }
                            .ok_or_else(|| sweep_error(SweepError::new(&flag, "the move overflows")))?;
                    directions.push(Direction { id, name: name.trim().to_string(), base, delta });
                }
                (String::from("scale"), Decimal::ZERO, Decimal::ONE, directions)
            }
            _ => {
                return Err(sweep_error(
                    SweepError::new("--vary", "give one `--vary NAME=LO..HI`, or a `--shock`, not both")
                        .with_help(
                            "`--vary cost=0..20` searches a range; `--shock 'a=-1.00,b=-50%'` a joint move",
                        ),
                ));
            }
        };
        let shock = options.vary.is_none();
        let too_wide = || {
            sweep_error(
                SweepError::new(&format!("{along}={lo}..{hi}"), "the range is too wide to scan in decimals")
                    .with_help("narrow the range"),
            )
        };
        let width = hi.checked_sub(lo).ok_or_else(too_wide)?;
        let tolerance = match &options.tolerance {
            Some(text) => {
                let t = number(text, &format!("--tolerance {text}"))?;
                if t <= Decimal::ZERO {
                    return Err(sweep_error(
                        SweepError::new(&format!("--tolerance {text}"), "the tolerance must be above zero")
                            .with_help("e.g. `--tolerance 0.001`"),
                    ));
                }
                t
            }
            None => width / Decimal::from(1_000_000),
        };
        let grid = options.grid;
        if !(2..=MAX_GRID).contains(&grid) {
            return Err(sweep_error(
                SweepError::new(&format!("--grid {grid}"), format!("the scan needs 2 to {MAX_GRID} points"))
                    .with_help("the default, 17, is enough unless the condition flips often"),
            ));
        }
        let ids: Vec<u32> = directions.iter().map(|d| d.id).collect();
        let point = |x: Decimal| -> Vec<Value> {
            directions
                .iter()
                .map(|d| {
                    let v = if shock {
                        d.delta.checked_mul(x).and_then(|m| d.base.checked_add(m)).unwrap_or(d.base)
                    } else {
                        x
                    };
                    Value::Number(v.normalize())
                })
                .collect()
        };
        let xs: Vec<Decimal> = (0..grid)
            .map(|j| match j {
                0 => Some(lo),
                j if j == grid - 1 => Some(hi),
                j => width
                    .checked_mul(Decimal::from(j))
                    .and_then(|w| w.checked_div(Decimal::from(grid - 1)))
                    .and_then(|w| lo.checked_add(w))
                    .map(tidy),
            })
            .collect::<Option<_>>()
            .ok_or_else(too_wide)?;
        let scan = runner.evaluate(&ids, xs.iter().map(|x| point(*x)).collect(), None, Some(&condition))?;
        let mut points = grid;
        let holds: Vec<bool> = scan.iter().map(|o| o.holds == Some(true)).collect();
        let shares: Vec<Option<Decimal>> = scan.iter().map(|o| o.share).collect();
        struct Open {
            from: Decimal,
            to: Decimal,
            below: bool,
            above: bool,
            runs: u64,
            shares: (Option<Decimal>, Option<Decimal>),
            done: bool,
        }
        let mut open: Vec<Open> = (1..xs.len())
            .filter(|j| holds[*j - 1] != holds[*j])
            .map(|j| Open {
                from: xs[j - 1],
                to: xs[j],
                below: holds[j - 1],
                above: holds[j],
                runs: 0,
                shares: (shares[j - 1], shares[j]),
                done: false,
            })
            .collect();
        // Bisect every open interval at once: one batch of midpoints a round.
        loop {
            let mut mids = Vec::new();
            for (i, b) in open.iter_mut().enumerate() {
                if b.done || b.to - b.from <= tolerance {
                    b.done = true;
                    continue;
                }
                let mid = b.from.checked_add(b.to).map(|s| s / Decimal::TWO);
                match mid {
                    Some(m) if m > b.from && m < b.to => mids.push((i, m)),
                    _ => b.done = true, // as fine as decimals go
                }
            }
            if mids.is_empty() {
                break;
            }
            let outcomes = runner.evaluate(
                &ids,
                mids.iter().map(|(_, m)| point(*m)).collect(),
                None,
                Some(&condition),
            )?;
            points += mids.len() as u64;
            for ((i, m), o) in mids.iter().zip(outcomes) {
                let b = &mut open[*i];
                b.runs += 1;
                if (o.holds == Some(true)) == b.below {
                    b.from = *m;
                    b.shares.0 = o.share;
                } else {
                    b.to = *m;
                    b.shares.1 = o.share;
                }
            }
        }
        let boundaries: Vec<Boundary> = open
            .iter()
            .map(|b| Boundary {
                from: b.from.normalize(),
                to: b.to.normalize(),
                below: b.below,
                above: b.above,
                runs: b.runs,
                shares: match b.shares {
                    (Some(a), Some(c)) if options.runs > 0 => Some((a.normalize(), c.normalize())),
                    _ => None,
                },
            })
            .collect();
        let verdict = match (boundaries.is_empty(), holds.first()) {
            (false, _) => Verdict::Changes,
            (true, Some(true)) => Verdict::HoldsEverywhere,
            _ => Verdict::NeverHolds,
        };
        let shock = shock.then(|| {
            let (from, to) = if holds.first() == Some(&true) {
                (Decimal::ZERO, Decimal::ZERO)
            } else {
                match boundaries.iter().find(|b| !b.below && b.above) {
                    Some(b) => (b.from, b.to),
                    None => return None,
                }
            };
            let values = point(to);
            Some(ReverseStress {
                scale_from: from,
                scale: to,
                params: directions
                    .iter()
                    .zip(values)
                    .map(|(d, v)| (d.name.clone(), d.base, v.as_number().unwrap_or_default()))
                    .collect(),
            })
        });
        let explain = match boundaries.first() {
            Some(b) => {
                let at = if b.above { b.to } else { b.from };
                explain_at(self, &runner, &ids, point(at), at, &condition.query.text, options)?
            }
            _ => None,
        };
        Ok(Threshold {
            until: condition.text,
            along,
            lo,
            hi,
            tolerance,
            boundaries,
            verdict,
            points,
            runs: runner.paths_run(),
            shock: shock.flatten(),
            explain,
        })
    }
}

/// `explain` of the target in the run at `values`.
fn explain_at(
    program: &Program,
    runner: &Runner,
    ids: &[u32],
    values: Vec<Value>,
    at: Decimal,
    condition: &str,
    options: &ThresholdOptions,
) -> Result<Option<Explained>, Error> {
    let path = (options.runs > 0).then_some(0);
    let mut start = program.start().seed(options.seed);
    if let Some(p) = path {
        start = start.path(p);
    }
    if let Some(h) = options.horizon {
        start = start.horizon(h);
    }
    for (id, value) in runner.fixed.iter().cloned().chain(ids.iter().copied().zip(values)) {
        start = start.set_id(id, value);
    }
    let mut run = start.begin()?;
    run.run_to_end()?;
    let ir = &program.inner.ir;
    let named = options.explain.clone().or_else(|| {
        let source = crate::source::SourceFile::new("--until", condition);
        let expr = crate::syntax::parse_expression_with(&source, program.inner.syntax).ok()?;
        first_entity(&expr, &|n| ir.entities.iter().any(|e| e.name == n))
    });
    let target = named.or_else(|| {
        let slots = &run.machine.st.slots;
        ir.entities
            .iter()
            .enumerate()
            .filter_map(|(entity, e)| {
                let Cell::Slot(slot) = ir.cell(entity as u32, FieldRef::DefaultedAt) else { return None };
                let at = slots[slot as usize].as_number()?;
                Some((at, e.name.clone()))
            })
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, n)| n)
    });
    let Some(target) = target else { return Ok(None) };
    let text = run.explain(&target)?;
    Ok(Some(Explained { target, at, path, text }))
}

/// The first entity an expression names (`coreweave` in `coreweave.defaulted`).
fn first_entity(expr: &Expr, is_entity: &dyn Fn(&str) -> bool) -> Option<String> {
    match &expr.kind {
        ExprKind::Name(n) if is_entity(n) => Some(n.clone()),
        ExprKind::Field(inner, _) | ExprKind::Unary(_, inner) => first_entity(inner, is_entity),
        ExprKind::Binary(_, a, b) => first_entity(a, is_entity).or_else(|| first_entity(b, is_entity)),
        ExprKind::Call(_, args) => args.iter().find_map(|a| first_entity(a, is_entity)),
        ExprKind::If(e) => {
            [&e.cond, &e.then, &e.otherwise].into_iter().find_map(|a| first_entity(a, is_entity))
        }
        _ => None,
    }
}

//! What the pictures of many paths are drawn from, read off a [`Summary`]:
//! each entity's cumulative probability of default by step, the table of
//! default probabilities, and the per-step distribution of a value recorded
//! at every step (a fan chart). Everything here is exact counts turned into
//! shares and nearest-rank percentiles, so the same sweep gives the same
//! curves for any `--jobs` and any sharding.

use rust_decimal::Decimal;

use super::{Summary, Values, nearest_rank, wilson};
use crate::value::Date;

/// One entity's probability of having defaulted by each step, at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct DefaultCurve {
    /// The entity.
    pub entity: String,
    /// Paths summed at the point.
    pub paths: u64,
    /// Paths in which it defaulted (by the end).
    pub count: u64,
    /// The share of paths in which it had defaulted by step `s`, for `s` from
    /// 0 to the horizon.
    pub by_step: Vec<f64>,
}

/// One row of the table of default probabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRow {
    /// The entity.
    pub entity: String,
    /// Paths summed at the point.
    pub paths: u64,
    /// Paths in which it defaulted.
    pub count: u64,
    /// `count / paths` to four places, and its 95% Wilson interval.
    pub probability: String,
    /// The interval's low end.
    pub ci_low: String,
    /// The interval's high end.
    pub ci_high: String,
    /// The 10th, 50th and 90th percentile of its default step (nearest rank),
    /// among the paths in which it defaulted.
    pub steps: [Option<u64>; 3],
}

/// The distribution of a recorded value at one step, over the paths.
#[derive(Clone, Debug, PartialEq)]
pub struct FanStep {
    /// The step.
    pub step: u64,
    /// Paths in which the value was a number at this step.
    pub count: u64,
    /// The 10th, 25th, 50th, 75th and 90th percentiles (nearest rank; exact
    /// while there are at most [`super::EXACT_VALUES`] distinct values).
    pub quantiles: [Option<Decimal>; 5],
}

/// The percentiles of a [`FanStep`].
pub const FAN_PERCENTILES: [u64; 5] = [10, 25, 50, 75, 90];

impl Summary {
    /// The number of points.
    pub fn point_count(&self) -> usize {
        self.points.len()
    }

    /// A point's varied params, as `name = value` (empty without `--vary`).
    pub fn point_label(&self, point: usize) -> String {
        let values = self.layout.points.get(point).map(Vec::as_slice).unwrap_or_default();
        let pairs: Vec<String> =
            self.layout.vary.iter().zip(values).map(|(name, value)| format!("{name} = {value}")).collect();
        pairs.join(", ")
    }

    /// The last step a path can reach (the horizon the sweep ran to).
    pub fn horizon(&self) -> u64 {
        self.layout.horizon
    }

    /// The date of a step, when the scenario has a start.
    pub fn date_of_step(&self, step: u64) -> Option<Date> {
        self.layout.start.and_then(|start| self.layout.unit.date_of_step(start, step as i64))
    }

    /// The expressions recorded at every step (for [`Summary::fan`]).
    pub fn step_records(&self) -> &[String] {
        &self.layout.step_records
    }

    /// Each entity's cumulative probability of default by step at `point`,
    /// in the order of the sweep's entity columns.
    pub fn default_curves(&self, point: usize) -> Vec<DefaultCurve> {
        let Some(state) = self.points.get(point) else { return Vec::new() };
        let last =
            self.layout.horizon.max(state.defaults.iter().filter_map(|s| s.last_step()).max().unwrap_or(0));
        state
            .defaults
            .iter()
            .zip(&self.layout.entities)
            .map(|(steps, entity)| {
                let mut by_step = Vec::with_capacity(last as usize + 1);
                let mut seen = 0u64;
                let mut histogram = steps.histogram.iter().peekable();
                for step in 0..=last {
                    while let Some((_, count)) = histogram.next_if(|(s, _)| **s <= step) {
                        seen += count;
                    }
                    by_step.push(if state.paths == 0 { 0.0 } else { seen as f64 / state.paths as f64 });
                }
                DefaultCurve { entity: entity.clone(), paths: state.paths, count: steps.count, by_step }
            })
            .collect()
    }

    /// The table of default probabilities at `point`, in entity order.
    pub fn default_table(&self, point: usize) -> Vec<DefaultRow> {
        let Some(state) = self.points.get(point) else { return Vec::new() };
        state
            .defaults
            .iter()
            .zip(&self.layout.entities)
            .map(|(steps, entity)| {
                let (probability, ci_low, ci_high) = wilson(steps.count, state.paths);
                DefaultRow {
                    entity: entity.clone(),
                    paths: state.paths,
                    count: steps.count,
                    probability,
                    ci_low,
                    ci_high,
                    steps: steps.percentiles(),
                }
            })
            .collect()
    }

    /// The distribution of step record `record` at each step at `point`.
    pub fn fan(&self, point: usize, record: usize) -> Vec<FanStep> {
        let Some(steps) = self.points.get(point).and_then(|p| p.steps.get(record)) else { return Vec::new() };
        steps
            .iter()
            .enumerate()
            .map(|(step, values)| FanStep {
                step: step as u64,
                count: values.count,
                quantiles: FAN_PERCENTILES.map(|q| values.quantile(q)),
            })
            .collect()
    }
}

impl super::Steps {
    fn last_step(&self) -> Option<u64> {
        self.histogram.keys().next_back().copied()
    }
}

impl Values {
    /// The nearest-rank `q`-th percentile.
    pub(super) fn quantile(&self, q: u64) -> Option<Decimal> {
        match &self.exact {
            Some(values) => nearest_rank(values.iter().map(|(v, c)| (*v, *c)), self.count, q),
            None => nearest_rank(self.ordered_buckets().into_iter(), self.count, q)
                .map(|(sign, index)| super::representative(sign, index)),
        }
    }
}

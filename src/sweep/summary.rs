//! Bounded summaries of many paths, per point: how often each entity
//! defaulted (with a 95% interval) and when, and the distribution of each
//! recorded value.
//!
//! The state does not grow with the number of paths: default steps go into a
//! histogram over steps (at most one bucket per step of the horizon), and a
//! recorded value keeps its distinct values with their counts up to
//! [`EXACT_VALUES`], then a log-bucketed histogram of relative accuracy 0.5%.
//! Sums are kept per decimal scale in 128-bit integers. Every part adds up by
//! integer addition, so states merge in any grouping into the same state: the
//! summary of shards merged is the summary of the whole sweep.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::random;
use crate::value::{Date, StepUnit, Value};

use super::{PathEnd, PathResult};

mod curves;
pub use curves::{DefaultCurve, DefaultRow, FAN_PERCENTILES, FanStep};

/// Distinct values a recorded value keeps exactly, per point, before its
/// percentiles become approximate (within 0.5%).
pub const EXACT_VALUES: usize = 4096;

/// The percentiles reported.
const PERCENTILES: [u64; 3] = [10, 50, 90];

/// The relative accuracy of the log-bucketed histogram.
const ACCURACY: f64 = 0.005;

/// What the summary's rows are about: names, and the points' values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub vary: Vec<String>,
    pub points: Vec<Vec<String>>,
    pub entities: Vec<String>,
    pub records: Vec<String>,
    pub start: Option<Date>,
    pub unit: StepUnit,
    /// Expressions recorded at every step (for fan charts).
    #[serde(default)]
    pub step_records: Vec<String>,
    /// The horizon the paths run to.
    #[serde(default)]
    pub horizon: u64,
}

/// The summary of the paths seen so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub(crate) layout: Layout,
    points: Vec<PointState>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct PointState {
    paths: u64,
    defaults: Vec<Steps>,
    records: Vec<Values>,
    /// Per step record, per step: its distribution.
    #[serde(default)]
    steps: Vec<Vec<Values>>,
}

/// When an entity defaulted: a histogram over steps.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Steps {
    count: u64,
    histogram: BTreeMap<u64, u64>,
}

/// A recorded value's distribution.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Values {
    /// Paths where it had a number (bools count as 0 and 1).
    count: u64,
    /// Sum of mantissas, per scale, as text (`i128`); empty after an overflow.
    sums: Vec<String>,
    exact: Option<BTreeMap<Decimal, u64>>,
    /// Log buckets once there are too many distinct values: (sign, index) → count.
    buckets: BTreeMap<(i8, i32), u64>,
}

impl Summary {
    pub(crate) fn new(layout: Layout) -> Summary {
        let blank = PointState {
            paths: 0,
            defaults: vec![Steps::default(); layout.entities.len()],
            records: vec![Values::new(); layout.records.len()],
            steps: vec![Vec::new(); layout.step_records.len()],
        };
        Summary { points: vec![blank; layout.points.len()], layout }
    }

    /// Adds one path (one that ran to its end; a failed run counts as a path).
    pub fn add(&mut self, result: &PathResult) {
        let Some(point) = self.points.get_mut(result.point as usize) else { return };
        if matches!(result.end, PathEnd::Cancelled) {
            return;
        }
        point.paths += 1;
        for (steps, at) in point.defaults.iter_mut().zip(&result.defaulted_at) {
            if let Some(step) = at {
                steps.count += 1;
                *steps.histogram.entry(*step).or_default() += 1;
            }
        }
        for (values, value) in point.records.iter_mut().zip(&result.records) {
            if let Some(n) = number(value) {
                values.add(n, 1);
            }
        }
        for (steps, trajectory) in point.steps.iter_mut().zip(&result.step_values) {
            if steps.len() < trajectory.len() {
                steps.resize_with(trajectory.len(), Values::new);
            }
            for (values, value) in steps.iter_mut().zip(trajectory) {
                if let Some(n) = number(value) {
                    values.add(n, 1);
                }
            }
        }
    }

    /// Adds the paths of another summary of the same sweep.
    pub(crate) fn merge(&mut self, other: &Summary) {
        for (mine, theirs) in self.points.iter_mut().zip(&other.points) {
            mine.paths += theirs.paths;
            for (a, b) in mine.defaults.iter_mut().zip(&theirs.defaults) {
                a.count += b.count;
                for (step, count) in &b.histogram {
                    *a.histogram.entry(*step).or_default() += count;
                }
            }
            for (a, b) in mine.records.iter_mut().zip(&theirs.records) {
                a.merge(b);
            }
            for (a, b) in mine.steps.iter_mut().zip(&theirs.steps) {
                if a.len() < b.len() {
                    a.resize_with(b.len(), Values::new);
                }
                for (x, y) in a.iter_mut().zip(b) {
                    x.merge(y);
                }
            }
        }
    }

    /// The paths summed so far.
    pub fn paths(&self) -> u64 {
        self.points.iter().map(|p| p.paths).sum()
    }

    fn header(&self) -> Vec<String> {
        let mut header = vec![String::from("point")];
        header.extend(self.layout.vary.iter().cloned());
        for column in [
            "what",
            "name",
            "paths",
            "count",
            "probability",
            "ci_low",
            "ci_high",
            "mean",
            "p10",
            "p50",
            "p90",
            "exact",
        ] {
            header.push(column.to_string());
        }
        if self.layout.start.is_some() {
            header.extend(["p10_date", "p50_date", "p90_date"].map(String::from));
        }
        header
    }

    fn date_of(&self, step: u64) -> String {
        self.layout
            .start
            .and_then(|start| self.layout.unit.date_of_step(start, step as i64))
            .map_or_else(String::new, |d| d.to_string())
    }

    /// One CSV row per point and entity, then per point and recorded value.
    pub(crate) fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(self.header());
        let dated = self.layout.start.is_some();
        for (p, point) in self.points.iter().enumerate() {
            let lead = || {
                let mut row = vec![p.to_string()];
                row.extend(self.layout.points[p].iter().cloned());
                row
            };
            for (e, steps) in point.defaults.iter().enumerate() {
                let mut row = lead();
                let (probability, low, high) = wilson(steps.count, point.paths);
                let quantiles = steps.percentiles();
                row.extend([
                    String::from("default"),
                    self.layout.entities[e].clone(),
                    point.paths.to_string(),
                    steps.count.to_string(),
                    probability,
                    low,
                    high,
                    steps.mean(),
                ]);
                row.extend(quantiles.iter().map(|q| q.map_or_else(String::new, |s| s.to_string())));
                row.push(String::from("true"));
                if dated {
                    row.extend(quantiles.iter().map(|q| q.map_or_else(String::new, |s| self.date_of(s))));
                }
                let _ = writer.write_record(row);
            }
            for (r, values) in point.records.iter().enumerate() {
                let mut row = lead();
                row.extend([
                    String::from("record"),
                    self.layout.records[r].clone(),
                    point.paths.to_string(),
                    values.count.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    values.mean(),
                ]);
                row.extend(values.percentiles().iter().map(|q| q.map_or_else(String::new, exact)));
                row.push(values.exact.is_some().to_string());
                if dated {
                    row.extend([String::new(), String::new(), String::new()]);
                }
                let _ = writer.write_record(row);
            }
        }
        let body = writer.into_inner().unwrap_or_default();
        String::from_utf8(body).unwrap_or_default()
    }

    /// The same as one JSON document.
    pub(crate) fn to_json(&self, provenance: Json) -> String {
        let mut points = Vec::new();
        for (p, point) in self.points.iter().enumerate() {
            let params: serde_json::Map<String, Json> = self
                .layout
                .vary
                .iter()
                .zip(&self.layout.points[p])
                .map(|(n, v)| (n.clone(), Json::String(v.clone())))
                .collect();
            let defaults: Vec<Json> = point
                .defaults
                .iter()
                .enumerate()
                .map(|(e, steps)| {
                    let (probability, low, high) = wilson(steps.count, point.paths);
                    let q = steps.percentiles();
                    let opt = |s: Option<u64>| s.map_or(Json::Null, |s| json!(s));
                    let mut entry = json!({
                        "entity": self.layout.entities[e],
                        "count": steps.count,
                        "probability": probability,
                        "ci95": [low, high],
                        "step": { "mean": steps.mean(), "p10": opt(q[0]), "p50": opt(q[1]), "p90": opt(q[2]) },
                    });
                    if self.layout.start.is_some() {
                        let date = |s: Option<u64>| s.map_or(Json::Null, |s| Json::String(self.date_of(s)));
                        entry["date"] = json!({ "p10": date(q[0]), "p50": date(q[1]), "p90": date(q[2]) });
                    }
                    entry
                })
                .collect();
            let records: Vec<Json> = point
                .records
                .iter()
                .enumerate()
                .map(|(r, values)| {
                    let q = values.percentiles();
                    let opt = |d: Option<Decimal>| d.map_or(Json::Null, |d| Json::String(exact(d)));
                    json!({
                        "expression": self.layout.records[r],
                        "count": values.count,
                        "mean": values.mean(),
                        "p10": opt(q[0]), "p50": opt(q[1]), "p90": opt(q[2]),
                        "exact": values.exact.is_some(),
                    })
                })
                .collect();
            points.push(json!({
                "point": p, "params": params, "paths": point.paths, "defaults": defaults, "records": records,
            }));
        }
        let mut text = serde_json::to_string_pretty(&json!({ "provenance": provenance, "points": points }))
            .unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A recorded value as a number to summarise (a bool counts as 0 or 1).
fn number(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Bool(b) => Some(Decimal::from(*b as u8)),
        _ => None,
    }
}

fn exact(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The share of `k` in `n`, and its 95% Wilson score interval, to 4 places.
fn wilson(k: u64, n: u64) -> (String, String, String) {
    if n == 0 {
        return (String::new(), String::new(), String::new());
    }
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let z = 1.959_963_984_540_054_f64;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z * ((p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt()) / (1.0 + z2 / nf);
    let share = (Decimal::from(k) / Decimal::from(n)).round_dp(4);
    let four = |x: f64| format!("{:.4}", x.clamp(0.0, 1.0));
    (format!("{share:.4}"), four(centre - half), four(centre + half))
}

/// The nearest-rank percentile of a sorted histogram: the smallest value whose
/// cumulative count reaches ⌈q × n / 100⌉.
fn nearest_rank<K: Copy>(histogram: impl Iterator<Item = (K, u64)>, n: u64, q: u64) -> Option<K> {
    if n == 0 {
        return None;
    }
    let rank = (n as u128 * q as u128).div_ceil(100).max(1) as u64;
    let mut seen = 0;
    for (value, count) in histogram {
        seen += count;
        if seen >= rank {
            return Some(value);
        }
    }
    None
}

impl Steps {
    fn percentiles(&self) -> [Option<u64>; 3] {
        PERCENTILES.map(|q| nearest_rank(self.histogram.iter().map(|(s, c)| (*s, *c)), self.count, q))
    }

    /// The mean default step, to 12 significant digits.
    fn mean(&self) -> String {
        if self.count == 0 {
            return String::new();
        }
        let sum: u128 = self.histogram.iter().map(|(s, c)| *s as u128 * *c as u128).sum();
        mean_of(sum as i128, 0, self.count).map_or_else(String::new, |m| exact(m.round_sf(12).unwrap_or(m)))
    }
}

/// sum × 10^-scale ÷ n, exactly as far as decimals go (28 digits).
fn mean_of(sum: i128, scale: u32, n: u64) -> Option<Decimal> {
    let n = n as i128;
    let (q, r) = (sum / n, sum % n);
    let whole = Decimal::try_from_i128_with_scale(q, scale).ok()?;
    let part = Decimal::try_from_i128_with_scale(r, scale).ok()?.checked_div(Decimal::from(n as u64))?;
    whole.checked_add(part)
}

impl Values {
    fn new() -> Values {
        Values {
            count: 0,
            sums: vec![String::from("0"); 29],
            exact: Some(BTreeMap::new()),
            buckets: BTreeMap::new(),
        }
    }

    fn add(&mut self, n: Decimal, times: u64) {
        self.count += times;
        self.add_sum(n.mantissa().checked_mul(times as i128), n.scale());
        if let Some(exact) = &mut self.exact {
            *exact.entry(n.normalize()).or_default() += times;
            if exact.len() > EXACT_VALUES {
                self.switch_to_buckets();
            }
        } else {
            *self.buckets.entry(bucket(n)).or_default() += times;
        }
    }

    fn add_sum(&mut self, mantissa: Option<i128>, scale: u32) {
        let Some(slot) = self.sums.get_mut(scale as usize) else { return };
        let next = slot.parse::<i128>().ok().zip(mantissa).and_then(|(a, b)| a.checked_add(b));
        match next {
            Some(total) => *slot = total.to_string(),
            None => self.sums.clear(),
        }
    }

    fn merge(&mut self, other: &Values) {
        self.count += other.count;
        if other.sums.is_empty() {
            self.sums.clear();
        }
        for (scale, total) in other.sums.iter().enumerate() {
            if !self.sums.is_empty() {
                self.add_sum(total.parse().ok(), scale as u32);
            }
        }
        let both_exact = self.exact.is_some() && other.exact.is_some();
        if both_exact {
            let mine = self.exact.get_or_insert_with(BTreeMap::new);
            for (v, c) in other.exact.iter().flatten() {
                *mine.entry(*v).or_default() += c;
            }
            if mine.len() > EXACT_VALUES {
                self.switch_to_buckets();
            }
        } else {
            self.switch_to_buckets();
            for (v, c) in other.exact.iter().flatten() {
                *self.buckets.entry(bucket(*v)).or_default() += c;
            }
            for (b, c) in &other.buckets {
                *self.buckets.entry(*b).or_default() += c;
            }
        }
    }

    /// From distinct values to log buckets (for good).
    fn switch_to_buckets(&mut self) {
        for (v, c) in self.exact.take().unwrap_or_default() {
            *self.buckets.entry(bucket(v)).or_default() += c;
        }
    }

    fn mean(&self) -> String {
        if self.count == 0 || self.sums.is_empty() {
            return String::new();
        }
        let mut total = Decimal::ZERO;
        for (scale, sum) in self.sums.iter().enumerate() {
            let Ok(sum) = sum.parse::<i128>() else { return String::new() };
            if sum == 0 {
                continue;
            }
            match mean_of(sum, scale as u32, self.count).and_then(|m| total.checked_add(m)) {
                Some(t) => total = t,
                None => return String::new(),
            }
        }
        exact(total.round_sf(12).unwrap_or(total))
    }

    fn percentiles(&self) -> [Option<Decimal>; 3] {
        PERCENTILES.map(|q| self.quantile(q))
    }

    /// The buckets in the order of their values: negative ones first (largest
    /// magnitude first), then zero, then positive.
    fn ordered_buckets(&self) -> Vec<((i8, i32), u64)> {
        let mut ordered: Vec<((i8, i32), u64)> = self.buckets.iter().map(|(b, c)| (*b, *c)).collect();
        ordered.sort_by(|a, b| {
            let key = |(s, i): (i8, i32)| (s, if s < 0 { -(i as i64) } else { i as i64 });
            key(a.0).cmp(&key(b.0))
        });
        ordered
    }
}

/// The log bucket of a value: (sign, ⌈log_γ |x|⌉) with γ = (1 + α) / (1 − α).
fn bucket(x: Decimal) -> (i8, i32) {
    use rust_decimal::prelude::ToPrimitive;
    if x.is_zero() {
        return (0, 0);
    }
    let sign = if x.is_sign_negative() { -1 } else { 1 };
    let magnitude = x.abs().to_f64().unwrap_or(f64::MAX);
    let gamma = (1.0 + ACCURACY) / (1.0 - ACCURACY);
    let index = libm::ceil(libm::log(magnitude) / libm::log(gamma));
    (sign, index as i32)
}

/// The value a bucket stands for: within 0.5% of every value in it.
fn representative(sign: i8, index: i32) -> Decimal {
    if sign == 0 {
        return Decimal::ZERO;
    }
    let gamma = (1.0 + ACCURACY) / (1.0 - ACCURACY);
    let x = 2.0 * libm::pow(gamma, index as f64) / (gamma + 1.0);
    let value = random::to_decimal(x).unwrap_or_default();
    if sign < 0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_a_geometric_histogram() {
        // P(T = k) = 0.1 × 0.9^(k-1), scaled to 100,000 paths.
        let mut steps = Steps::default();
        let mut left = 100_000f64;
        for k in 1..400u64 {
            let c = (left * 0.1).round() as u64;
            left -= c as f64;
            steps.count += c;
            steps.histogram.insert(k, c);
        }
        assert_eq!(steps.percentiles(), [Some(1), Some(7), Some(22)]);
    }

    #[test]
    fn wilson_intervals_hold_the_share() {
        assert_eq!(wilson(30, 100), ("0.3000".into(), "0.2189".into(), "0.3958".into()));
        assert_eq!(wilson(0, 10).1, "0.0000");
    }

    #[test]
    fn merged_values_are_the_values_of_the_whole() {
        let values: Vec<Decimal> = (0..10_000).map(|i| Decimal::new(i * 7919 % 100_003, 3)).collect();
        let mut whole = Values::new();
        values.iter().for_each(|v| whole.add(*v, 1));
        let mut parts = [Values::new(), Values::new(), Values::new()];
        for (i, v) in values.iter().enumerate() {
            parts[i * 3 / values.len()].add(*v, 1);
        }
        let mut merged = parts[0].clone();
        merged.merge(&parts[1]);
        merged.merge(&parts[2]);
        assert_eq!(merged.mean(), whole.mean());
        assert_eq!(merged.percentiles(), whole.percentiles());
        assert_eq!(merged.count, whole.count);
        assert!(whole.exact.is_none(), "10,000 distinct values are over the exact limit");
        let p50 = whole.percentiles()[1].unwrap();
        let truth = Decimal::new(50_000, 3);
        assert!(((p50 - truth) / truth).abs() < Decimal::new(1, 2), "{p50}");
    }
}

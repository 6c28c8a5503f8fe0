//! The points of a sweep: a grid of `--vary` values, or a Latin hypercube over
//! their ranges.

use rust_decimal::Decimal;

use crate::random;
use crate::value::{Type, Value};

use super::SweepError;

/// One `--vary`: the values of one param.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Axis {
    /// `NAME=V1,V2,...`
    List(Vec<Value>),
    /// `NAME=LO..HI/N`: N points from LO to HI, both included.
    Range { lo: Decimal, hi: Decimal, n: u64 },
}

/// At most this many points in a grid (the product of the axes' sizes).
pub const MAX_POINTS: u64 = 10_000_000;

/// Parses the text after `NAME=` for a param of type `ty`.
pub(crate) fn parse_axis(name: &str, text: &str, ty: Type) -> Result<Axis, SweepError> {
    let flag = format!("--vary {name}={text}");
    let text = text.trim();
    if let Some((range, n)) = split_range(text) {
        if ty != Type::Number {
            return Err(SweepError::new(
                &flag,
                format!("`{name}` is {}: a range needs a number", ty.describe()),
            )
            .with_help(format!("list its values instead: `--vary {name}=V1,V2`")));
        }
        let (lo, hi) = range;
        let lo = number(name, lo, &flag)?;
        let hi = number(name, hi, &flag)?;
        let n: u64 = n.trim().parse().map_err(|_| {
            SweepError::new(&flag, format!("`{}` is not a number of points", n.trim()))
                .with_help("write `LO..HI/N` with N a whole number, e.g. `--vary renewal_share=30%..60%/4`")
        })?;
        if n == 0 {
            return Err(SweepError::new(&flag, "the range is empty: it has 0 points")
                .with_help("ask for at least one point: `LO..HI/N` with N ≥ 1"));
        }
        if hi < lo {
            return Err(SweepError::new(&flag, format!("the range is empty: {hi} is below {lo}"))
                .with_help("write the lower bound first: `LO..HI/N`"));
        }
        if n == 1 && lo != hi {
            return Err(SweepError::new(&flag, "one point cannot span a range")
                .with_help(format!("use at least 2 points, or a single value: `--vary {name}=V`")));
        }
        return Ok(Axis::Range { lo, hi, n });
    }
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if text.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(SweepError::new(&flag, "an empty value").with_help(format!(
            "list values separated by commas (`--vary {name}=30%,40%`) or give a range (`--vary {name}=30%..60%/4`)"
        )));
    }
    let mut values = Vec::new();
    for part in parts {
        let value =
            crate::engine::parse_literal(part, ty).map_err(|reason| SweepError::new(&flag, reason))?;
        values.push(value);
    }
    Ok(Axis::List(values))
}

/// `LO..HI/N` → ((LO, HI), N).
fn split_range(text: &str) -> Option<((&str, &str), &str)> {
    let (range, n) = text.rsplit_once('/')?;
    let (lo, hi) = range.split_once("..")?;
    Some(((lo, hi), n))
}

fn number(name: &str, text: &str, flag: &str) -> Result<Decimal, SweepError> {
    match crate::engine::parse_literal(text.trim(), Type::Number) {
        Ok(Value::Number(n)) => Ok(n),
        Ok(_) => Err(SweepError::new(flag, format!("`{}` is not a number", text.trim()))),
        Err(reason) => Err(SweepError::new(flag, reason)
            .with_help(format!("write numbers as in a script: `--vary {name}=30%..60%/4`"))),
    }
}

impl Axis {
    pub fn len(&self) -> u64 {
        match self {
            Axis::List(values) => values.len() as u64,
            Axis::Range { n, .. } => *n,
        }
    }

    /// The i-th value of a grid.
    fn grid_value(&self, i: u64) -> Value {
        match self {
            Axis::List(values) => values[i as usize].clone(),
            Axis::Range { lo, hi, n } => {
                if *n <= 1 || i == 0 {
                    return Value::Number(*lo);
                }
                if i == n - 1 {
                    return Value::Number(*hi);
                }
                let width = *hi - *lo;
                let step = Decimal::from(i) / Decimal::from(n - 1);
                let value = width.checked_mul(step).and_then(|d| lo.checked_add(d)).unwrap_or(*lo);
                Value::Number(value.round_sf(12).unwrap_or(value).normalize())
            }
        }
    }
}

/// The grid: every combination, the last axis fastest.
pub(crate) fn grid(axes: &[Axis]) -> Result<Vec<Vec<Value>>, SweepError> {
    let total = axes.iter().try_fold(1u64, |acc, a| acc.checked_mul(a.len())).unwrap_or(u64::MAX);
    if total > MAX_POINTS {
        return Err(SweepError::new("--vary", format!("the grid has {total} points, over {MAX_POINTS}"))
            .with_help("vary fewer params, or use `--sample lhs` for a Latin hypercube"));
    }
    let mut points = Vec::with_capacity(total as usize);
    for mut index in 0..total {
        let mut point = vec![Value::None; axes.len()];
        for (a, axis) in axes.iter().enumerate().rev() {
            point[a] = axis.grid_value(index % axis.len());
            index /= axis.len();
        }
        points.push(point);
    }
    Ok(points)
}

/// N Latin-hypercube points over the ranges: each range is cut into N equal
/// strata, each stratum is used by exactly one point, the strata are paired
/// at random (a shuffle per axis) and each point lies uniformly within its
/// strata. Drawn from the seed's own hypercube stream (not a path's), as exact
/// decimals of 12 significant digits.
pub(crate) fn latin_hypercube(axes: &[Axis], seed: u64) -> Result<Vec<Vec<Value>>, SweepError> {
    let mut n = None;
    for axis in axes {
        let Axis::Range { n: count, .. } = axis else {
            return Err(SweepError::new("--sample lhs", "a Latin hypercube needs ranges, not lists")
                .with_help("give every `--vary` as `NAME=LO..HI/N`, N being the number of points"));
        };
        if n.is_some_and(|n| n != *count) {
            return Err(SweepError::new(
                "--sample lhs",
                "every range of a Latin hypercube must have the same number of points",
            )
            .with_help("N in `LO..HI/N` is the number of points: use the same N for every `--vary`"));
        }
        n = Some(*count);
    }
    let Some(n) = n else { return Ok(vec![Vec::new()]) };
    if n > MAX_POINTS {
        return Err(SweepError::new("--sample lhs", format!("{n} points is over {MAX_POINTS}")));
    }
    let mut stream = random::auxiliary(seed, 1);
    let mut columns = Vec::new();
    for axis in axes {
        let Axis::Range { lo, hi, .. } = axis else { continue };
        let mut strata: Vec<u64> = (0..n).collect();
        for i in (1..strata.len()).rev() {
            let j = stream.index_below(i as u64 + 1) as usize;
            strata.swap(i, j);
        }
        let width = *hi - *lo;
        let column: Vec<Value> = strata
            .iter()
            .map(|s| {
                let u = Decimal::from_i128_with_scale(stream.index_below(1_000_000_000_000) as i128, 12);
                let at = (Decimal::from(*s) + u) / Decimal::from(n);
                let value = width.checked_mul(at).and_then(|d| lo.checked_add(d)).unwrap_or(*lo);
                Value::Number(value.round_sf(12).unwrap_or(value).normalize())
            })
            .collect();
        columns.push(column);
    }
    Ok((0..n as usize).map(|i| columns.iter().map(|c| c[i].clone()).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lo: i64, hi: i64, n: u64) -> Axis {
        Axis::Range { lo: Decimal::from(lo), hi: Decimal::from(hi), n }
    }

    #[test]
    fn ranges_include_both_ends() {
        let axis = parse_axis("x", "0..1/5", Type::Number).unwrap();
        let values: Vec<String> = grid(&[axis]).unwrap().iter().map(|p| p[0].to_string()).collect();
        assert_eq!(values, ["0", "0.25", "0.5", "0.75", "1"]);
    }

    #[test]
    fn the_grid_runs_the_last_axis_fastest() {
        let points = grid(&[range(1, 2, 2), range(5, 7, 3)]).unwrap();
        let text: Vec<String> = points.iter().map(|p| format!("{}/{}", p[0], p[1])).collect();
        assert_eq!(text, ["1/5", "1/6", "1/7", "2/5", "2/6", "2/7"]);
    }

    #[test]
    fn empty_ranges_and_values_are_refused() {
        for text in ["5..1/3", "1..5/0", "", "1,,2", "1..2/x"] {
            assert!(parse_axis("x", text, Type::Number).is_err(), "{text}");
        }
    }

    #[test]
    fn a_latin_hypercube_uses_each_stratum_once() {
        let points = latin_hypercube(&[range(0, 10, 10), range(100, 200, 10)], 3).unwrap();
        assert_eq!(points.len(), 10);
        for axis in 0..2 {
            let (lo, width) = if axis == 0 { (0, 1) } else { (100, 10) };
            let mut strata: Vec<i64> = points
                .iter()
                .map(|p| {
                    let v = p[axis].as_number().unwrap();
                    ((v - Decimal::from(lo)) / Decimal::from(width)).floor().try_into().unwrap()
                })
                .collect();
            strata.sort();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(points, latin_hypercube(&[range(0, 10, 10), range(100, 200, 10)], 3).unwrap());
        assert_ne!(points, latin_hypercube(&[range(0, 10, 10), range(100, 200, 10)], 4).unwrap());
    }
}

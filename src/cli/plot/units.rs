//! Numbers on a chart's axes as an analyst reads them: `29bn`, `1.55`, `-23.8m`.

/// `value` with a magnitude suffix (`k m bn tn`) and at most three significant
/// digits after the suffix is applied, trailing zeros dropped.
pub fn readable(value: f64) -> String {
    const STEPS: [(f64, &str); 4] = [(1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")];
    if value == 0.0 || !value.is_finite() {
        return String::from("0");
    }
    let magnitude = value.abs();
    let (scaled, suffix) = STEPS
        .iter()
        .find(|(scale, _)| magnitude >= *scale)
        .map_or((value, ""), |(scale, s)| (value / scale, *s));
    let digits = scaled.abs().log10().floor() as i32 + 1; // digits before the point
    let decimals = (3 - digits).clamp(0, 4) as usize;
    let mut text = format!("{scaled:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = String::from("0");
    }
    format!("{text}{suffix}")
}

/// Round tick values for an axis from `lo` to `hi`: multiples of 1, 2 or 5
/// times a power of ten, about `count` of them, all inside the range.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || count == 0 {
        return Vec::new();
    }
    let power = 10f64.powf(((hi - lo) / count as f64).log10().floor());
    let span = |step: f64| ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    // The step whose number of ticks is nearest `count` (the larger on a tie).
    let step = [10.0, 5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * power)
        .min_by_key(|&step| {
            let (first, last) = span(step);
            (last - first + 1 - count as i64).unsigned_abs()
        })
        .unwrap_or(power);
    let (first, last) = span(step);
    // About `count` steps fit in the range, so this is short.
    (first..=last).map(|k| if k == 0 { 0.0 } else { k as f64 * step }).collect()
}

/// The largest magnitude among `values` (0 when there is none).
pub fn magnitude(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::{readable, ticks};

    #[test]
    fn readable_numbers() {
        assert_eq!(readable(29e9), "29bn");
        assert_eq!(readable(1.553), "1.55");
        assert_eq!(readable(1_473_000_000.0), "1.47bn");
        assert_eq!(readable(-23_839_000.0), "-23.8m");
        assert_eq!(readable(0.0), "0");
        assert_eq!(readable(0.02), "0.02");
        assert_eq!(readable(250_000.0), "250k");
        assert_eq!(readable(999.0), "999");
        assert_eq!(readable(2.0), "2");
        assert_eq!(readable(0.00012), "0.0001");
        assert_eq!(readable(f64::NAN), "0");
    }

    #[test]
    fn round_ticks() {
        assert_eq!(ticks(-0.3, 28.3, 5), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        assert_eq!(ticks(-4.9e9, -0.09e9, 4), vec![-4e9, -3e9, -2e9, -1e9]);
        assert_eq!(ticks(1.0, 1.0, 4), Vec::<f64>::new());
        assert_eq!(ticks(f64::NAN, 1.0, 4), Vec::<f64>::new());
    }
}

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

/// The largest magnitude among `values` (0 when there is none).
pub fn magnitude(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::readable;

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
}

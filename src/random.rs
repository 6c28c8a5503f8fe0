//! Random draws: one stream per path, and the rule that turns a draw into an
//! exact decimal.
//!
//! A run draws from a [`Stream`]: ChaCha8 keyed by the seed (its 8 bytes,
//! little-endian, then 24 zero bytes) on the stream number of the path. So path
//! *i* of seed *S* sees the same numbers whatever ran before it, on whatever
//! thread or machine. Draws are taken in the order the run evaluates them,
//! which is fixed by the program.
//!
//! **The conversion rule** (documented in `docs/language.md`), the same bits on
//! every platform:
//!
//! - `uniform(lo, hi)` is exact: `lo + (hi − lo) × k / 10¹²` with `k` a
//!   uniform integer in `[0, 10¹²)` (rejection sampling, no bias).
//! - `bernoulli(p)` is exact: true when a uniform 53-bit integer `u` has
//!   `u < p × 2⁵³`.
//! - `integer(lo, hi)` and `poisson(l)` are whole numbers.
//! - `normal(mean, sd)` is `mean + sd × z`, in decimal arithmetic, where `z` is
//!   a standard normal (Box–Muller) rounded to 12 significant digits.
//! - The others are computed in `f64` with the `libm` crate (pure Rust, so no
//!   platform's maths library is involved; `+ − × ÷` and `sqrt` are exact IEEE
//!   operations) and rounded to 12 significant digits, half to even.
//!
//! Uniform `f64`s are `(k + ½) / 2⁵³` for a 53-bit `k`: never 0 or 1, so
//! logarithms are finite.

use rand::SeedableRng;
use rand::rand_core::Rng;
use rand::rngs::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

mod decimal;
pub(crate) use decimal::to_decimal;

/// Significant digits of a draw computed in floating point.
pub const SIGNIFICANT_DIGITS: usize = 12;

/// The random numbers of one path.
pub(crate) struct Stream {
    seed: u64,
    path: u64,
    rng: ChaCha8Rng,
    /// The last `f64` conversion of each argument position, by the argument's
    /// bytes: a rule's draw mostly has the same arguments at every step.
    floats: [([u8; 16], f64); 3],
}

/// No argument converted yet (the bytes of 0, whose `f64` is 0).
const NO_FLOATS: [([u8; 16], f64); 3] = [([0; 16], 0.0); 3];

impl Clone for Stream {
    fn clone(&self) -> Stream {
        let mut rng = keyed(self.seed, 0, 0);
        rng.set_stream(self.rng.get_stream());
        rng.set_word_pos(self.rng.get_word_pos());
        Stream { seed: self.seed, path: self.path, rng, floats: self.floats }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream(seed {}, path {}, at {})", self.seed, self.path, self.rng.get_word_pos())
    }
}

impl Stream {
    /// The stream of path `path` of seed `seed`.
    pub fn new(seed: u64, path: u64) -> Stream {
        Stream { seed, path, rng: keyed(seed, 0, path), floats: NO_FLOATS }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// `d` as an `f64` (as [`float`] converts it), the argument at `position`
    /// of a draw, converted again only when it changed.
    fn float(&mut self, position: usize, d: Decimal) -> f64 {
        let bytes = d.serialize();
        match self.floats.get_mut(position) {
            Some((key, _)) if *key == bytes => {}
            Some(memo) => *memo = (bytes, float(d)),
            None => return float(d),
        }
        self.floats[position].1
    }

    /// A uniform `f64` in the open interval (0, 1).
    fn open01(&mut self) -> f64 {
        let k = self.next_u64() >> 11;
        (k as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)`, without bias (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        // Reject the lowest 2⁶⁴ mod n values so that every residue is equally likely.
        let threshold = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64();
            if x >= threshold {
                return x % n;
            }
        }
    }

    /// A standard normal (Box–Muller, one of the pair).
    fn standard_normal(&mut self) -> f64 {
        let (u1, u2) = (self.open01(), self.open01());
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }
}

/// A generator for other uses of a seed than paths (the Latin hypercube).
pub(crate) fn auxiliary(seed: u64, purpose: u8) -> Stream {
    Stream { seed, path: 0, rng: keyed(seed, purpose, 0), floats: NO_FLOATS }
}

impl Stream {
    /// A uniform integer in `[0, n)` for `n > 0`, for the sweep's own sampling.
    pub fn index_below(&mut self, n: u64) -> u64 {
        self.below(n.max(1))
    }
}

fn keyed(seed: u64, purpose: u8, stream: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8] = purpose;
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// What a saved run keeps of its stream: enough to continue it exactly.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedStream {
    seed: u64,
    path: u64,
    /// The position in the stream, in 32-bit words (a `u128` as text).
    position: String,
}

impl serde::Serialize for Stream {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SavedStream { seed: self.seed, path: self.path, position: self.rng.get_word_pos().to_string() }
            .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Stream {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stream, D::Error> {
        let saved = SavedStream::deserialize(d)?;
        let position: u128 = saved.position.parse().map_err(serde::de::Error::custom)?;
        let mut stream = Stream::new(saved.seed, saved.path);
        stream.rng.set_word_pos(position);
        Ok(stream)
    }
}

/// The distributions a script can draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Distribution {
    Uniform,
    Normal,
    Lognormal,
    Triangular,
    Bernoulli,
    Poisson,
    Exponential,
    Integer,
}

/// A draw that cannot be made: the message says which argument is wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadDraw {
    pub message: String,
    /// Which argument (0-based) is at fault, if one is.
    pub argument: Option<usize>,
}

fn bad(argument: usize, message: String) -> BadDraw {
    BadDraw { message, argument: Some(argument) }
}

/// What a draw gives: a number, or a bool for `bernoulli`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drawn {
    Number(Decimal),
    Bool(bool),
}

impl Distribution {
    /// Every distribution: its name, its arguments, and what it is.
    pub const ALL: &[(Distribution, &'static str, &'static [&'static str], &'static str)] = &[
        (Distribution::Uniform, "uniform", &["lo", "hi"], "uniform between lo and hi"),
        (Distribution::Normal, "normal", &["mean", "sd"], "normal (Gaussian)"),
        (Distribution::Lognormal, "lognormal", &["mu", "sigma"], "exp of a normal(mu, sigma)"),
        (
            Distribution::Triangular,
            "triangular",
            &["lo", "mode", "hi"],
            "triangular from lo to hi, peaking at mode",
        ),
        (Distribution::Bernoulli, "bernoulli", &["p"], "true with probability p"),
        (Distribution::Poisson, "poisson", &["l"], "Poisson counts with mean l"),
        (Distribution::Exponential, "exponential", &["rate"], "exponential waiting time, mean 1/rate"),
        (
            Distribution::Integer,
            "integer",
            &["lo", "hi"],
            "a whole number from lo to hi, each equally likely",
        ),
    ];

    pub fn from_name(name: &str) -> Option<Distribution> {
        Self::ALL.iter().find(|(_, n, _, _)| *n == name).map(|(d, ..)| *d)
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(d, ..)| *d == self).map_or("", |(_, n, _, _)| n)
    }

    pub fn arguments(self) -> &'static [&'static str] {
        Self::ALL.iter().find(|(d, ..)| *d == self).map_or(&[], |(_, _, a, _)| a)
    }

    /// `normal(mean, sd)`.
    pub fn usage(self) -> String {
        format!("{}({})", self.name(), self.arguments().join(", "))
    }

    /// True for `bernoulli`, which gives a bool.
    pub fn is_bool(self) -> bool {
        self == Distribution::Bernoulli
    }

    /// Draws once from `stream` with these arguments (already checked in
    /// number and type by the checker).
    pub fn draw(self, args: &[Decimal], stream: &mut Stream) -> Result<Drawn, BadDraw> {
        let arg = |i: usize| args.get(i).copied().unwrap_or_default();
        let name = self.name();
        match self {
            Distribution::Uniform => {
                let (lo, hi) = (arg(0), arg(1));
                if lo > hi {
                    return Err(bad(1, format!("uniform: hi {hi} is below lo {lo}")));
                }
                let k = stream.below(1_000_000_000_000);
                let fraction = Decimal::from_i128_with_scale(k as i128, 12);
                let value = hi
                    .checked_sub(lo)
                    .and_then(|width| width.checked_mul(fraction))
                    .and_then(|offset| lo.checked_add(offset))
                    .ok_or_else(|| bad(1, format!("uniform({lo}, {hi}): the range is too wide")))?;
                Ok(Drawn::Number(value))
            }
            Distribution::Normal => {
                let (mean, sd) = (arg(0), arg(1));
                if sd < Decimal::ZERO {
                    return Err(bad(1, format!("normal: the standard deviation {sd} is negative")));
                }
                let z = to_decimal(stream.standard_normal()).unwrap_or_default();
                let value = sd
                    .checked_mul(z)
                    .and_then(|offset| mean.checked_add(offset))
                    .ok_or_else(|| bad(1, format!("normal({mean}, {sd}): the draw is out of range")))?;
                Ok(Drawn::Number(value))
            }
            Distribution::Lognormal => {
                let (mu, sigma) = (stream.float(0, arg(0)), stream.float(1, arg(1)));
                if sigma < 0.0 {
                    return Err(bad(1, format!("lognormal: sigma {} is negative", arg(1))));
                }
                let z = stream.standard_normal();
                finite(name, libm::exp(mu + sigma * z), 0)
            }
            Distribution::Triangular => {
                let (lo, mode, hi) = (arg(0), arg(1), arg(2));
                if !(lo <= mode && mode <= hi) {
                    return Err(bad(1, format!("triangular: needs lo ≤ mode ≤ hi, got {lo}, {mode}, {hi}")));
                }
                let u = stream.open01();
                if lo == hi {
                    return Ok(Drawn::Number(lo));
                }
                let (a, c, b) = (stream.float(0, lo), stream.float(1, mode), stream.float(2, hi));
                let cut = (c - a) / (b - a);
                let x = if u < cut {
                    a + libm::sqrt(u * (b - a) * (c - a))
                } else {
                    b - libm::sqrt((1.0 - u) * (b - a) * (b - c))
                };
                finite(name, x.clamp(a, b), 2)
            }
            Distribution::Bernoulli => {
                let p = arg(0);
                if p < Decimal::ZERO || p > Decimal::ONE {
                    return Err(bad(0, format!("bernoulli: the probability {p} is not between 0% and 100%")));
                }
                let u = Decimal::from(stream.next_u64() >> 11);
                let threshold = p.checked_mul(Decimal::from(1u64 << 53)).unwrap_or(Decimal::MAX);
                Ok(Drawn::Bool(u < threshold))
            }
            Distribution::Poisson => {
                let l = arg(0);
                if l < Decimal::ZERO || l > Decimal::from(1_000_000_000_000u64) {
                    return Err(bad(0, format!("poisson: the mean {l} is not between 0 and 10¹²")));
                }
                let k = poisson(stream.float(0, l), stream)
                    .ok_or_else(|| bad(0, format!("poisson({l}): no draw after 10,000 tries")))?;
                Ok(Drawn::Number(Decimal::from(k)))
            }
            Distribution::Exponential => {
                let rate = arg(0);
                if rate <= Decimal::ZERO {
                    return Err(bad(0, format!("exponential: the rate {rate} is not positive")));
                }
                finite(name, -libm::log(stream.open01()) / stream.float(0, rate), 0)
            }
            Distribution::Integer => {
                let (lo, hi) = (arg(0), arg(1));
                let whole = |d: Decimal| d.is_integer().then(|| d.to_i64()).flatten();
                let (Some(a), Some(b)) = (whole(lo), whole(hi)) else {
                    let at = if whole(lo).is_none() { 0 } else { 1 };
                    return Err(bad(at, format!("integer: {lo} and {hi} must be whole numbers")));
                };
                if a > b {
                    return Err(bad(1, format!("integer: hi {hi} is below lo {lo}")));
                }
                let span = (b as i128 - a as i128 + 1) as u128;
                let k = if span > u64::MAX as u128 { stream.next_u64() } else { stream.below(span as u64) };
                Ok(Drawn::Number(Decimal::from(a as i128 + k as i128)))
            }
        }
    }
}

fn float(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn finite(name: &str, x: f64, argument: usize) -> Result<Drawn, BadDraw> {
    to_decimal(x)
        .map(Drawn::Number)
        .ok_or_else(|| bad(argument, format!("{name}: the draw {x:e} is out of the range of exact numbers")))
}

/// A Poisson count: multiplication for small means, PTRS (Hörmann 1993) above.
fn poisson(l: f64, stream: &mut Stream) -> Option<u64> {
    if l == 0.0 {
        return Some(0);
    }
    if l < 10.0 {
        let limit = libm::exp(-l);
        let (mut k, mut p) = (0u64, 1.0);
        for _ in 0..10_000 {
            p *= stream.open01();
            if p <= limit {
                return Some(k);
            }
            k += 1;
        }
        return None;
    }
    let (slam, loglam) = (libm::sqrt(l), libm::log(l));
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    for _ in 0..10_000 {
        let u = stream.open01() - 0.5;
        let v = stream.open01();
        let us = 0.5 - u.abs();
        let k = libm::floor((2.0 * a / us + b) * u + l + 0.43);
        if us >= 0.07 && v <= vr {
            return Some(k as u64);
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = libm::log(v) + libm::log(inv_alpha) - libm::log(a / (us * us) + b);
        if lhs <= -l + k * loglam - libm::lgamma(k + 1.0) {
            return Some(k as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(d: Distribution, args: &[&str], stream: &mut Stream) -> Decimal {
        let args: Vec<Decimal> = args.iter().map(|a| a.parse().unwrap()).collect();
        match d.draw(&args, stream).unwrap() {
            Drawn::Number(n) => n,
            Drawn::Bool(b) => Decimal::from(b as u8),
        }
    }

    #[test]
    fn a_path_sees_the_same_numbers_whatever_ran_before() {
        let mut a = Stream::new(7, 3);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let mut other = Stream::new(7, 2);
        for _ in 0..100 {
            other.next_u64();
        }
        let mut b = Stream::new(7, 3);
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..5).map(|_| Stream::new(8, 3).next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn a_saved_stream_continues_where_it_was() {
        let mut a = Stream::new(1, 9);
        for _ in 0..13 {
            a.next_u64();
        }
        let text = serde_json::to_string(&a).unwrap();
        let mut b: Stream = serde_json::from_str(&text).unwrap();
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn degenerate_distributions_give_their_one_value() {
        let mut s = Stream::new(0, 0);
        assert_eq!(number(Distribution::Normal, &["2.00", "0"], &mut s).to_string(), "2.00");
        assert_eq!(number(Distribution::Lognormal, &["0", "0"], &mut s).to_string(), "1");
        assert_eq!(number(Distribution::Uniform, &["3", "3"], &mut s).to_string(), "3");
        assert_eq!(number(Distribution::Triangular, &["1", "1", "1"], &mut s).to_string(), "1");
        assert_eq!(number(Distribution::Integer, &["4", "4"], &mut s).to_string(), "4");
        assert_eq!(number(Distribution::Poisson, &["0"], &mut s).to_string(), "0");
        assert_eq!(number(Distribution::Bernoulli, &["1"], &mut s).to_string(), "1");
        assert_eq!(number(Distribution::Bernoulli, &["0"], &mut s).to_string(), "0");
    }

    #[test]
    fn bad_arguments_say_which() {
        let mut s = Stream::new(0, 0);
        let bad = |d: Distribution, args: &[i64], s: &mut Stream| {
            let args: Vec<Decimal> = args.iter().map(|a| Decimal::from(*a)).collect();
            d.draw(&args, s).unwrap_err().argument
        };
        assert_eq!(bad(Distribution::Uniform, &[2, 1], &mut s), Some(1));
        assert_eq!(bad(Distribution::Normal, &[0, -1], &mut s), Some(1));
        assert_eq!(bad(Distribution::Bernoulli, &[2], &mut s), Some(0));
        assert_eq!(bad(Distribution::Exponential, &[0], &mut s), Some(0));
        assert_eq!(bad(Distribution::Triangular, &[0, 5, 1], &mut s), Some(1));
    }

    /// Sample means within 5 standard errors (a false alarm once in ~3.5 million runs).
    fn mean_and_sd(d: Distribution, args: &[&str], n: usize) -> (f64, f64) {
        let mut s = Stream::new(42, 0);
        let xs: Vec<f64> = (0..n).map(|_| float(number(d, args, &mut s))).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    }

    fn close(name: &str, got: f64, want: f64, se: f64) {
        assert!((got - want).abs() <= 5.0 * se, "{name}: {got} is not within 5 × {se} of {want}");
    }

    #[test]
    fn each_distribution_has_its_mean_and_spread() {
        let n = 20_000;
        let root = (n as f64).sqrt();
        let (m, sd) = mean_and_sd(Distribution::Uniform, &["1", "3"], n);
        close("uniform mean", m, 2.0, (1.0 / 3f64.sqrt()) / root);
        close("uniform sd", sd, 1.0 / 3f64.sqrt(), 0.01);
        let (m, _) = mean_and_sd(Distribution::Lognormal, &["0", "0.5"], n);
        let var = (0.25f64.exp() - 1.0) * 0.25f64.exp();
        close("lognormal mean", m, 0.125f64.exp(), var.sqrt() / root);
        let (m, _) = mean_and_sd(Distribution::Triangular, &["0", "1", "4"], n);
        close("triangular mean", m, 5.0 / 3.0, (13.0f64 / 18.0).sqrt() / root);
        for l in ["3", "25", "1000"] {
            let lf: f64 = l.parse().unwrap();
            let (m, sd) = mean_and_sd(Distribution::Poisson, &[l], n);
            close("poisson mean", m, lf, lf.sqrt() / root);
            close("poisson sd", sd, lf.sqrt(), 5.0 * lf.sqrt() / (2.0 * n as f64).sqrt());
        }
        let (m, _) = mean_and_sd(Distribution::Exponential, &["0.5"], n);
        close("exponential mean", m, 2.0, 2.0 / root);
        let (m, _) = mean_and_sd(Distribution::Integer, &["1", "6"], n);
        close("integer mean", m, 3.5, (35.0f64 / 12.0).sqrt() / root);
    }
}

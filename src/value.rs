//! Run-time values, their types, calendar dates and step units.

use std::fmt;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 10⁰ to 10³⁸, every power of ten a `u128` holds, for arithmetic on the
/// mantissas of decimals (the evaluator's products, a draw's conversion): read
/// from a table, as a `checked_pow` costs more than most of what needs one.
pub(crate) const POWERS_OF_TEN_WIDE: [u128; 39] = {
    let mut powers = [1u128; 39];
    let mut n = 1;
    while n < 39 {
        powers[n] = powers[n - 1] * 10;
        n += 1;
    }
    powers
};

/// A calendar date, written `2026-01` (a month) or `2026-01-31` (a day).
///
/// A month date stands for the first day of that month; equality and order
/// look at the day it stands for, not at how it was written.
#[derive(Clone, Copy, Debug)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
    month_only: bool,
}

impl Date {
    /// A day date, if it exists in the calendar.
    pub fn ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month: month as u8, day: day as u8, month_only: false })
    }

    /// A month date (`2026-01`), if the month exists.
    pub fn ym(year: i32, month: u32) -> Option<Date> {
        Date::ymd(year, month, 1).map(|d| Date { month_only: true, ..d })
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month as u32
    }

    /// Day of the month.
    pub fn day(self) -> u32 {
        self.day as u32
    }

    /// The date in 64 bits (the year, then the month, the day and whether it
    /// is a month), as the compiled form's values keep it.
    pub(crate) fn to_bits(self) -> u64 {
        self.year as u32 as u64
            | (self.month as u64) << 32
            | (self.day as u64) << 40
            | (self.month_only as u64) << 48
    }

    /// The date whose [`Date::to_bits`] is `bits`.
    pub(crate) fn from_bits(bits: u64) -> Date {
        Date {
            year: bits as u32 as i32,
            month: (bits >> 32) as u8,
            day: (bits >> 40) as u8,
            month_only: bits >> 48 & 1 != 0,
        }
    }

    fn key(self) -> (i32, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// Days since 1970-01-01 (negative before).
    fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = self.year as i64 - if self.month <= 2 { 1 } else { 0 };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    fn from_days(z: i64) -> Option<Date> {
        let z = z + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        Date::ymd(i32::try_from(y).ok()?, m as u32, d as u32)
    }

    fn add_months(self, months: i64) -> Option<Date> {
        let index = self.year as i64 * 12 + (self.month as i64 - 1) + months;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = index.rem_euclid(12) as u32 + 1;
        let day = (self.day as u32).min(days_in_month(year, month));
        Date::ymd(year, month, day).map(|d| Date { month_only: self.month_only, ..d })
    }
}

impl PartialEq for Date {
    fn eq(&self, other: &Date) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Date {}

impl PartialOrd for Date {
    fn partial_cmp(&self, other: &Date) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Date {
    fn cmp(&self, other: &Date) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.month_only {
            write!(f, "{:04}-{:02}", self.year, self.month)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date")))
    }
}

impl Date {
    /// Parses `2026-01` or `2026-01-31`.
    pub fn parse(text: &str) -> Option<Date> {
        let parts: Vec<&str> = text.split('-').collect();
        let number = |s: &str| s.parse::<u32>().ok();
        match parts.as_slice() {
            [y, m] if y.len() == 4 && m.len() == 2 => Date::ym(number(y)? as i32, number(m)?),
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                Date::ymd(number(y)? as i32, number(m)?, number(d)?)
            }
            _ => None,
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The length of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepUnit {
    /// One day.
    Day,
    /// Seven days.
    Week,
    /// One calendar month.
    Month,
    /// Three calendar months.
    Quarter,
    /// Twelve calendar months.
    Year,
}

impl StepUnit {
    /// All units, with their names.
    pub const ALL: [(&'static str, StepUnit); 5] = [
        ("day", StepUnit::Day),
        ("week", StepUnit::Week),
        ("month", StepUnit::Month),
        ("quarter", StepUnit::Quarter),
        ("year", StepUnit::Year),
    ];

    /// The unit called `name`.
    pub fn from_name(name: &str) -> Option<StepUnit> {
        StepUnit::ALL.iter().find(|(n, _)| *n == name).map(|(_, u)| *u)
    }

    fn months(self) -> Option<i64> {
        match self {
            StepUnit::Day | StepUnit::Week => None,
            StepUnit::Month => Some(1),
            StepUnit::Quarter => Some(3),
            StepUnit::Year => Some(12),
        }
    }

    fn days(self) -> i64 {
        if self == StepUnit::Week { 7 } else { 1 }
    }

    /// The date of step `step` when step 1 falls on `start` (step 0 is one unit before).
    pub fn date_of_step(self, start: Date, step: i64) -> Option<Date> {
        let n = step.checked_sub(1)?;
        match self.months() {
            Some(k) => start.add_months(n.checked_mul(k)?),
            None => Date::from_days(start.days().checked_add(n.checked_mul(self.days())?)?),
        }
    }

    /// The step whose period contains `date` (step 1 starts on `start`); may be ≤ 0.
    pub fn step_of_date(self, start: Date, date: Date) -> i64 {
        match self.months() {
            Some(k) => {
                let mut months =
                    (date.year as i64 - start.year as i64) * 12 + (date.month as i64 - start.month as i64);
                if date.day < start.day {
                    months -= 1;
                }
                months.div_euclid(k) + 1
            }
            None => (date.days() - start.days()).div_euclid(self.days()) + 1,
        }
    }
}

/// The type of a value, as the checker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// An exact decimal.
    Number,
    /// `true` / `false`.
    Bool,
    /// A calendar date.
    Date,
    /// Text.
    Str,
    /// An entity of the given kind (by index), or of any kind.
    Entity(Option<u32>),
    /// An exposure record (`creditor debtor amount recovery`).
    Exposure,
}

impl Type {
    /// The type's name in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Type::Number => "a number",
            Type::Bool => "a bool",
            Type::Date => "a date",
            Type::Str => "a string",
            Type::Entity(_) => "an entity",
            Type::Exposure => "an exposure",
        }
    }
}

/// A value of a script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// An exact decimal.
    Number(Decimal),
    /// A truth value.
    Bool(bool),
    /// A calendar date.
    Date(Date),
    /// Text.
    Str(Arc<str>),
    /// An entity, by declaration index.
    Entity(u32),
    /// An exposure, by declaration index.
    Exposure(u32),
    /// No value: `defaulted_at` of an entity that has not defaulted.
    None,
}

impl Value {
    /// The number inside, if this is one.
    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The bool inside, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// Exact form: numbers normalised (`2.5`, `29000000000`); an entity as
    /// `#index` (use `Run::display` for names).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(&exact(*n)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::Str(s) => f.write_str(s),
            Value::Entity(e) => write!(f, "#{e}"),
            Value::Exposure(x) => write!(f, "exposure #{x}"),
            Value::None => f.write_str("none"),
        }
    }
}

impl From<Decimal> for Value {
    fn from(n: Decimal) -> Value {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// A number in its exact, normalised form: `2.5`, `29000000000`, `-0.4`.
pub fn exact(n: Decimal) -> String {
    n.normalize().to_string()
}

/// A number as an analyst reads it: magnitudes as `k m bn tn`, at most four decimals
/// (`29bn`, `1.473bn`, `0.8524`). Used in text output only; JSON and CSV are exact.
pub fn human(n: Decimal) -> String {
    const STEPS: [(i64, &str); 4] =
        [(1_000_000_000_000, "tn"), (1_000_000_000, "bn"), (1_000_000, "m"), (1_000, "k")];
    let magnitude = n.abs();
    for (scale, suffix) in STEPS {
        let scale = Decimal::from(scale);
        if magnitude >= scale
            && let Some(scaled) = n.checked_div(scale)
        {
            let rounded = scaled.round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero);
            return format!("{}{suffix}", rounded.normalize());
        }
    }
    n.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero).normalize().to_string()
}

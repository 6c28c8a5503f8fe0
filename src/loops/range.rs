//! Intervals of decimals with infinite bounds: what `signs` knows about the
//! values an expression can take.
//!
//! Bounds saturate: an overflow becomes the infinity on its side, so a range
//! still holds every value (up to the rounding of `1 / x`), only less tightly;
//! the signs need no more.

use rust_decimal::Decimal;

use super::signs::Sign;

/// A bound of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ext {
    NegInf,
    Fin(Decimal),
    PosInf,
}

pub(super) const ZERO: Ext = Ext::Fin(Decimal::ZERO);

impl Ext {
    pub fn neg(self) -> Ext {
        match self {
            Ext::NegInf => Ext::PosInf,
            Ext::PosInf => Ext::NegInf,
            Ext::Fin(d) => Ext::Fin(-d),
        }
    }

    pub fn positive(self) -> bool {
        self > ZERO
    }

    /// The sum; `toward` is the infinity to use on overflow and for `∞ - ∞`.
    pub fn add(self, other: Ext, toward: Ext) -> Ext {
        match (self, other) {
            (Ext::Fin(a), Ext::Fin(b)) => a.checked_add(b).map_or(toward, Ext::Fin),
            (Ext::Fin(_), inf) | (inf, Ext::Fin(_)) => inf,
            (a, b) if a == b => a,
            _ => toward,
        }
    }

    /// The product, with `0 × ∞ = 0` as interval arithmetic needs.
    pub fn mul(self, other: Ext) -> Ext {
        if self == ZERO || other == ZERO {
            return ZERO;
        }
        let positive = self.positive() == other.positive();
        let inf = if positive { Ext::PosInf } else { Ext::NegInf };
        match (self, other) {
            (Ext::Fin(a), Ext::Fin(b)) => a.checked_mul(b).map_or(inf, Ext::Fin),
            _ => inf,
        }
    }

    pub fn map(self, f: impl Fn(Decimal) -> Decimal) -> Ext {
        match self {
            Ext::Fin(d) => Ext::Fin(f(d)),
            inf => inf,
        }
    }
}

/// A closed interval `[lo, hi]` that holds every value an expression takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Range {
    pub lo: Ext,
    pub hi: Ext,
}

pub(super) const ANY: Range = Range { lo: Ext::NegInf, hi: Ext::PosInf };
pub(super) const NON_NEGATIVE: Range = Range { lo: ZERO, hi: Ext::PosInf };

impl Range {
    pub fn point(d: Decimal) -> Range {
        Range { lo: Ext::Fin(d), hi: Ext::Fin(d) }
    }

    pub fn sign(self) -> Sign {
        if self.lo == ZERO && self.hi == ZERO {
            Sign::Zero
        } else if self.lo >= ZERO {
            Sign::Pos
        } else if self.hi <= ZERO {
            Sign::Neg
        } else {
            Sign::Unknown
        }
    }

    pub fn neg(self) -> Range {
        Range { lo: self.hi.neg(), hi: self.lo.neg() }
    }

    pub fn add(self, other: Range) -> Range {
        Range { lo: self.lo.add(other.lo, Ext::NegInf), hi: self.hi.add(other.hi, Ext::PosInf) }
    }

    pub fn mul(self, other: Range) -> Range {
        let products =
            [self.lo.mul(other.lo), self.lo.mul(other.hi), self.hi.mul(other.lo), self.hi.mul(other.hi)];
        let lo = products.iter().copied().min().unwrap_or(Ext::NegInf);
        let hi = products.iter().copied().max().unwrap_or(Ext::PosInf);
        Range { lo, hi }
    }

    /// `1 / self`, given that a run stops on division by zero.
    pub fn reciprocal(self) -> Range {
        if self.lo == ZERO && self.hi == ZERO {
            return ANY;
        }
        if self.lo >= ZERO {
            let inverse = |bound: Ext, at_zero: Ext| match bound {
                Ext::Fin(d) if d.is_zero() => at_zero,
                Ext::Fin(d) => Decimal::ONE.checked_div(d).map_or(at_zero, Ext::Fin),
                _ => ZERO,
            };
            Range { lo: inverse(self.hi, ZERO), hi: inverse(self.lo, Ext::PosInf) }
        } else if self.hi <= ZERO {
            self.neg().reciprocal().neg()
        } else {
            ANY
        }
    }

    pub fn min(self, other: Range) -> Range {
        Range { lo: self.lo.min(other.lo), hi: self.hi.min(other.hi) }
    }

    pub fn max(self, other: Range) -> Range {
        Range { lo: self.lo.max(other.lo), hi: self.hi.max(other.hi) }
    }

    /// The smallest range holding both.
    pub fn hull(self, other: Range) -> Range {
        Range { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }
}

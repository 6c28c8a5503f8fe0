//! A round of a clearing estimated in `f64`, to start the exact solve close to
//! its solution (`clearing.rs`, "The fast path").
//!
//! Nothing here decides a result: the estimate only chooses where the exact
//! decimal iteration starts, and the exact side checks that the start is above
//! the solution (or falls back to starting from the round's first shares). So
//! the estimate may be as rough as it likes; it is only slower when it is.
//!
//! A defaulted bank's share is `clamp(k_i + s_i × inflow_i, 0, 1)` (see
//! [`Estimate::new`] for `k` and `s` per method), and its inflow is
//! `Σ_j L_ji share_j`. Two solves use the same work list as the exact one:
//! [`Estimate::settle`] lowers shares from above, and [`Estimate::correct`]
//! solves the linear correction `d = r + J d` for a residual `r` computed
//! exactly (`J_ij = s_i L_ji` over the defaulted banks that are not clamped).

use std::collections::VecDeque;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::clearing::Method;

/// A share that would move by at most this much is settled in `f64`.
const TOLERANCE: f64 = 1e-16;
/// A correction that would move by at most this much is not passed on.
const CORRECTION_TOLERANCE: f64 = 1e-31;

/// The `f64` image of a clearing, kept in step with the exact shares between rounds.
pub(super) struct Estimate {
    k: Vec<f64>,
    s: Vec<f64>,
    by_start: Vec<u32>,
    /// (creditor, amount) of every debt, by debtor.
    by: Vec<(u32, f64)>,
    pub(super) share: Vec<f64>,
    inflow: Vec<f64>,
    queued: Vec<bool>,
    list: VecDeque<u32>,
    /// Banks whose `f64` share moved since [`Estimate::take_moved`].
    moved: Vec<u32>,
    is_moved: Vec<bool>,
    /// The correction of each bank, and its part not yet passed on.
    d: Vec<f64>,
    pending: Vec<f64>,
    corrected: Vec<u32>,
    is_corrected: Vec<bool>,
}

fn f(x: Decimal) -> f64 {
    x.to_f64().unwrap_or(0.0)
}

impl Estimate {
    /// The estimate of `n` banks; `by_start`/`by` list each debtor's debts
    /// (creditor, amount), `base` is what a share is a share of.
    pub(super) fn new(
        method: Method,
        assets: &[Decimal],
        liabilities: &[Decimal],
        owed: &[Decimal],
        base: &[Decimal],
        by_start: &[u32],
        by: &[(u32, Decimal)],
    ) -> Estimate {
        let n = assets.len();
        let mut k = vec![1.0; n];
        let mut s = vec![0.0; n];
        for i in 0..n {
            if base[i].is_zero() {
                continue; // owes no bank anything: its share is 1 by convention
            }
            let (e, l, p, b) = (f(assets[i]), f(liabilities[i]), f(owed[i]), f(base[i]));
            (k[i], s[i]) = match method {
                Method::EisenbergNoe { senior: false } => (e / p, 1.0 / p),
                Method::EisenbergNoe { senior: true } => ((e - l) / b, 1.0 / b),
                Method::RogersVeraart { alpha, beta } => (f(alpha) * e / p, f(beta) / p),
            };
        }
        let by: Vec<(u32, f64)> = by.iter().map(|&(c, a)| (c, f(a))).collect();
        let mut inflow = vec![0.0; n];
        for &(c, a) in &by {
            inflow[c as usize] += a;
        }
        Estimate {
            k,
            s,
            by_start: by_start.to_vec(),
            by,
            share: vec![1.0; n],
            inflow,
            queued: vec![false; n],
            list: VecDeque::new(),
            moved: Vec::new(),
            is_moved: vec![false; n],
            d: vec![0.0; n],
            pending: vec![0.0; n],
            corrected: Vec::new(),
            is_corrected: vec![false; n],
        }
    }

    fn owed_by(&self, i: usize) -> std::ops::Range<usize> {
        self.by_start[i] as usize..self.by_start[i + 1] as usize
    }

    fn target(&self, i: usize) -> f64 {
        (self.k[i] + self.s[i] * self.inflow[i]).clamp(0.0, 1.0)
    }

    /// Sets bank `i`'s share, passing the change to its creditors' inflows.
    pub(super) fn set(&mut self, i: usize, share: f64) {
        let drop = self.share[i] - share;
        if drop == 0.0 {
            return;
        }
        self.share[i] = share;
        for k in self.owed_by(i) {
            let (c, a) = self.by[k];
            self.inflow[c as usize] -= a * drop;
        }
    }

    /// Lowers the shares of the defaulted banks from `seeds` on until they
    /// settle, in at most `cap` updates (then it stops where it is). Returns
    /// the updates spent.
    pub(super) fn settle(&mut self, seeds: &[u32], defaulted: &[Option<u32>], cap: u64) -> u64 {
        for &i in seeds {
            if !self.queued[i as usize] {
                self.queued[i as usize] = true;
                self.list.push_back(i);
            }
        }
        let mut spent = 0u64;
        while let Some(i) = self.list.pop_front() {
            let i = i as usize;
            self.queued[i] = false;
            let target = self.target(i);
            let drop = self.share[i] - target;
            if drop.is_nan() || drop <= TOLERANCE || spent >= cap {
                continue;
            }
            spent += 1;
            self.share[i] = target;
            if !self.is_moved[i] {
                self.is_moved[i] = true;
                self.moved.push(i as u32);
            }
            for k in self.owed_by(i) {
                let (c, a) = self.by[k];
                let c = c as usize;
                self.inflow[c] -= a * drop;
                if defaulted[c].is_some() && !self.queued[c] {
                    self.queued[c] = true;
                    self.list.push_back(c as u32);
                }
            }
        }
        spent
    }

    /// The banks whose share moved in [`Estimate::settle`] since the last call.
    pub(super) fn take_moved(&mut self) -> Vec<u32> {
        for &i in &self.moved {
            self.is_moved[i as usize] = false;
        }
        std::mem::take(&mut self.moved)
    }

    /// Solves `d = r + J d` for the residuals `r` (bank, residual), in at most
    /// `cap` updates. Returns each bank's correction (bank, d) and the updates spent.
    pub(super) fn correct(
        &mut self,
        residuals: &[(u32, f64)],
        defaulted: &[Option<u32>],
        cap: u64,
    ) -> (Vec<(u32, f64)>, u64) {
        for &(i, r) in residuals {
            let i = i as usize;
            self.d[i] += r;
            self.pending[i] += r;
            self.mark(i);
        }
        let mut spent = 0u64;
        while let Some(j) = self.list.pop_front() {
            let j = j as usize;
            self.queued[j] = false;
            let delta = std::mem::take(&mut self.pending[j]);
            if spent >= cap {
                continue;
            }
            spent += 1;
            for k in self.owed_by(j) {
                let (c, a) = self.by[k];
                let c = c as usize;
                if defaulted[c].is_none() {
                    continue;
                }
                let slope = self.slope(c);
                if slope == 0.0 {
                    continue;
                }
                let change = slope * a * delta;
                self.d[c] += change;
                self.pending[c] += change;
                self.mark(c);
            }
        }
        let mut out = Vec::with_capacity(self.corrected.len());
        for i in std::mem::take(&mut self.corrected) {
            let i = i as usize;
            self.is_corrected[i] = false;
            out.push((i as u32, std::mem::take(&mut self.d[i])));
            self.pending[i] = 0.0;
        }
        (out, spent)
    }

    fn mark(&mut self, i: usize) {
        if !self.is_corrected[i] {
            self.is_corrected[i] = true;
            self.corrected.push(i as u32);
        }
        if self.pending[i].abs() > CORRECTION_TOLERANCE && !self.queued[i] {
            self.queued[i] = true;
            self.list.push_back(i as u32);
        }
    }

    /// How bank `i`'s share moves with its inflow (0 where it is clamped).
    fn slope(&self, i: usize) -> f64 {
        let raw = self.k[i] + self.s[i] * self.inflow[i];
        if raw > 0.0 && raw < 1.0 { self.s[i] } else { 0.0 }
    }
}

//! One round of a clearing: the payments of the defaulted banks while the set
//! of defaulted banks stays fixed.
//!
//! In a round each defaulted bank `i` pays its banks the share
//! `s_i = clamp(raw_i(s), 0, 1)` of its bank debts, where `raw_i` is affine in
//! what its debtors pay (`(e_i + Σ_j L_ji s_j) / p̄_i` for Eisenberg–Noe). The
//! shares sought are the fixed point of that monotone map, to [`SETTLED`]:
//! a share is settled when recomputing it from its inflow would lower it by at
//! most `SETTLED` and not raise it at all.
//!
//! **The fast solve** ([`solve`]) is iterative refinement in mixed precision.
//! An exact pass computes, in decimals, every bank's target `t_i = clamp(raw_i)`
//! from the current shares; the difference `t − s` is the residual. A solve in
//! `f64` (Jacobi sweeps of the linearised map, with the clamps) turns the
//! residual into a correction, which is added in decimals. Each pass gains
//! about the digits of an `f64` (the solve's relative error), so the residual
//! falls from about 1 to 10⁻¹⁵ to 10⁻²⁸ in two corrections. The shares are then
//! raised by `NUDGE · v`, where `(I − J) v ≈ 1` is a positive direction in which
//! the linear map gains less than the shares (`J` is the map's slope), and held
//! below the round's start. A last exact pass accepts the shares only if every
//! target is at most the share and at least the share minus `SETTLED`: the
//! shares are then a supersolution (`f(s) ≤ s`), so they are above the exact
//! fixed point, as the plain iteration's are, and every share is settled.
//! Otherwise (a network too close to singular for `f64`, or a clamp that keeps
//! switching) the round's start is restored and [`settle`] runs.
//!
//! **The plain iteration** ([`settle`]) starts above the solution and lowers
//! shares only: every bank to look at computes its target from the same
//! shares, the targets lower by more than `SETTLED` are taken at once, and the
//! defaulted creditors of the banks that moved are looked at next. Each update
//! lowers a share by more than `SETTLED`, so it stops; the budget bounds it in
//! time.
//!
//! Both are simultaneous (Jacobi) updates in which every sum runs over a bank's
//! claims in their own order, so the result does not depend on the order of the
//! banks.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::clearing::{Banks, Budget, ClearingError, SETTLED};

/// Exact passes of the fast solve before it gives up.
const PASSES: usize = 8;
/// `f64` sweeps per correction before it takes what it has.
const SWEEPS: u64 = 400;
/// A correction is solved until its sweeps change it by this fraction.
const SWEPT: f64 = 1e-15;
/// The size of the raise above the refined solution (a tenth of `SETTLED`).
const NUDGE: f64 = 1e-25;
/// The residual below which one more correction reaches the decimals' last digits.
const CLOSE: Decimal = Decimal::from_parts(1, 0, 0, false, 12);
/// Exact steps at most that [`snap`] takes from the refined solution.
const SNAPS: usize = 4;
/// `f64` bank evaluations per update counted against the budget.
const F64_PER_UPDATE: u64 = 16;

/// Solves the round for the banks `affected` (the others keep their shares),
/// by iterative refinement. `Ok(false)`: it did not reach settled shares, and
/// `share` is as it was.
pub(super) fn solve(
    banks: &Banks,
    affected: &[u32],
    share: &mut [Decimal],
    budget: &mut Budget,
) -> Result<bool, ClearingError> {
    let system = System::new(banks, affected, share.len());
    let start: Vec<Decimal> = affected.iter().map(|&i| share[i as usize]).collect();
    let m = affected.len();
    let mut raw = vec![Decimal::ZERO; m];
    let mut nudge: Option<(Vec<bool>, Vec<f64>)> = None;
    let mut nudged = false;
    for _ in 0..PASSES {
        let pass = exact(banks, affected, share, &mut raw, budget)?;
        if nudged && pass.settled {
            snap(banks, affected, share, raw, pass.moving, budget)?;
            return Ok(true);
        }
        let worst = pass.worst;
        // The correction, in f64: d = clamp(raw − s + J d, −s, 1 − s).
        let mut u = vec![0.0; m];
        let mut lo = vec![0.0; m];
        for (k, &i) in affected.iter().enumerate() {
            let s = share[i as usize];
            u[k] = (raw[k] - s).to_f64().unwrap_or(f64::NAN);
            lo[k] = -s.to_f64().unwrap_or(f64::NAN);
        }
        let Some(d) = system.correction(&u, &lo, budget, affected)? else {
            return give_up(affected, share, &start);
        };
        let close = worst <= CLOSE;
        if close {
            // The banks held at 0 are not raised, so the direction leaves them out.
            let held: Vec<bool> = (0..m).map(|k| d[k] <= lo[k]).collect();
            if nudge.as_ref().is_none_or(|(mask, _)| *mask != held) {
                match system.nudge(&held, budget, affected)? {
                    Some(v) => nudge = Some((held, v)),
                    None => return give_up(affected, share, &start),
                }
            }
        }
        for (k, &i) in affected.iter().enumerate() {
            let i = i as usize;
            if system.fixed[k] {
                continue;
            }
            let mut step = d[k];
            if close {
                step += NUDGE * nudge.as_ref().map_or(0.0, |(_, v)| v[k]);
            }
            let s = share[i];
            let next = if d[k] <= lo[k] {
                Decimal::ZERO
            } else {
                match Decimal::from_f64(step).and_then(|step| s.checked_add(step)) {
                    Some(next) => next,
                    None => return give_up(affected, share, &start),
                }
            };
            // Never above the round's start, which is above the solution.
            share[i] = next.clamp(Decimal::ZERO, start[k]);
        }
        nudged = close;
    }
    give_up(affected, share, &start)
}

/// What an exact pass found.
struct Pass {
    /// Every share is settled.
    settled: bool,
    /// The largest gap between a share and its target.
    worst: Decimal,
    /// The shares whose target differs from them.
    moving: usize,
}

/// The exact pass: every affected bank's raw share from the current shares.
fn exact(
    banks: &Banks,
    affected: &[u32],
    share: &[Decimal],
    raw: &mut [Decimal],
    budget: &mut Budget,
) -> Result<Pass, ClearingError> {
    spend(budget, affected.len() as u64, affected)?;
    let mut pass = Pass { settled: true, worst: Decimal::ZERO, moving: 0 };
    for (k, &i) in affected.iter().enumerate() {
        let i = i as usize;
        raw[k] = banks.raw_share(i, banks.inflow(i, share)?)?.unwrap_or(share[i]);
        let gap = raw[k].clamp(Decimal::ZERO, Decimal::ONE) - share[i];
        pass.settled &= gap <= Decimal::ZERO && -gap <= SETTLED;
        pass.worst = pass.worst.max(gap.abs());
        pass.moving += usize::from(!gap.is_zero());
    }
    Ok(pass)
}

/// From settled shares above the solution (`raw`: their raw shares), takes
/// the targets as the shares while they stay settled and fewer of them move:
/// the raise above the solution then vanishes wherever the round's solution
/// is reached in a few exact steps (a bank whose debtors' payments are known),
/// so such payments come out exact.
fn snap(
    banks: &Banks,
    affected: &[u32],
    share: &mut [Decimal],
    mut raw: Vec<Decimal>,
    mut moving: usize,
    budget: &mut Budget,
) -> Result<(), ClearingError> {
    let mut kept: Vec<Decimal> = affected.iter().map(|&i| share[i as usize]).collect();
    for _ in 0..SNAPS {
        if moving == 0 {
            break;
        }
        for (k, &i) in affected.iter().enumerate() {
            share[i as usize] = raw[k].clamp(Decimal::ZERO, Decimal::ONE);
        }
        let pass = exact(banks, affected, share, &mut raw, budget)?;
        if !pass.settled {
            for (&i, &s) in affected.iter().zip(&kept) {
                share[i as usize] = s;
            }
            break;
        }
        if pass.moving >= moving {
            break;
        }
        moving = pass.moving;
        for (k, &i) in affected.iter().enumerate() {
            kept[k] = share[i as usize];
        }
    }
    Ok(())
}

/// Restores the round's start after a failed fast solve.
fn give_up(affected: &[u32], share: &mut [Decimal], start: &[Decimal]) -> Result<bool, ClearingError> {
    for (&i, &s) in affected.iter().zip(start) {
        share[i as usize] = s;
    }
    Ok(false)
}

fn spend(budget: &mut Budget, work: u64, affected: &[u32]) -> Result<(), ClearingError> {
    if budget.spend(work) { Ok(()) } else { Err(ClearingError::NotSettled(affected.to_vec())) }
}

/// The plain iteration of the round for the banks `affected`, from shares
/// above the solution.
pub(super) fn settle(
    banks: &Banks,
    affected: &[u32],
    round: &[Option<u32>],
    share: &mut [Decimal],
    budget: &mut Budget,
) -> Result<(), ClearingError> {
    let mut queued = vec![false; share.len()];
    let mut queue: Vec<u32> = affected.to_vec();
    let mut changes: Vec<(u32, Decimal)> = Vec::new();
    loop {
        changes.clear();
        for &i in &queue {
            let i = i as usize;
            queued[i] = false;
            let Some(raw) = banks.raw_share(i, banks.inflow(i, share)?)? else { continue };
            let target = raw.clamp(Decimal::ZERO, Decimal::ONE);
            if target < share[i] && share[i] - target > SETTLED {
                changes.push((i as u32, target));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        if !budget.spend(changes.len() as u64) {
            return Err(ClearingError::NotSettled(changes.iter().map(|c| c.0).collect()));
        }
        queue.clear();
        for &(i, target) in &changes {
            share[i as usize] = target;
            for &(creditor, _) in banks.of.owed_by(i as usize) {
                let c = creditor as usize;
                if round[c].is_some() && !queued[c] {
                    queued[c] = true;
                    queue.push(creditor);
                }
            }
        }
        queue.sort_unstable();
    }
}

/// The round's linear part in `f64`: for each affected bank, the slope of its
/// raw share in the share of each affected debtor.
struct System {
    start: Vec<u32>,
    terms: Vec<(u32, f64)>,
    /// Banks that owe no bank: their share is not an unknown.
    fixed: Vec<bool>,
}

impl System {
    fn new(banks: &Banks, affected: &[u32], n: usize) -> System {
        let mut position = vec![u32::MAX; n];
        for (k, &i) in affected.iter().enumerate() {
            position[i as usize] = k as u32;
        }
        let mut start = Vec::with_capacity(affected.len() + 1);
        let mut terms = Vec::new();
        let mut fixed = Vec::with_capacity(affected.len());
        start.push(0);
        for &i in affected {
            let i = i as usize;
            fixed.push(banks.base[i].is_zero());
            let slope = banks.slope(i);
            for &(debtor, amount) in banks.of.owed_to(i) {
                let j = position[debtor as usize];
                if j != u32::MAX && !banks.base[debtor as usize].is_zero() {
                    terms.push((j, slope * amount.to_f64().unwrap_or(f64::INFINITY)));
                }
            }
            start.push(terms.len() as u32);
        }
        System { start, terms, fixed }
    }

    /// `Σ_j J_kj x_j`.
    fn apply(&self, k: usize, x: &[f64]) -> f64 {
        let terms = &self.terms[self.start[k] as usize..self.start[k + 1] as usize];
        terms.iter().map(|&(j, w)| w * x[j as usize]).sum()
    }

    /// The correction `d = clamp(u + J d, lo, 1 + lo)` by Jacobi sweeps
    /// (`None`: not a finite number).
    fn correction(
        &self,
        u: &[f64],
        lo: &[f64],
        budget: &mut Budget,
        affected: &[u32],
    ) -> Result<Option<Vec<f64>>, ClearingError> {
        let hold = |k: usize, v: f64| {
            if v <= lo[k] {
                lo[k]
            } else if v >= 1.0 + lo[k] {
                1.0 + lo[k]
            } else {
                v
            }
        };
        let m = u.len();
        let mut d: Vec<f64> = (0..m).map(|k| if self.fixed[k] { 0.0 } else { hold(k, u[k]) }).collect();
        let mut next = vec![0.0; m];
        let mut sweeps = 0;
        while sweeps < SWEEPS {
            sweeps += 1;
            let (mut change, mut size) = (0.0f64, 0.0f64);
            for k in 0..m {
                let v = if self.fixed[k] { 0.0 } else { hold(k, u[k] + self.apply(k, &d)) };
                change = change.max((v - d[k]).abs());
                size = size.max(v.abs());
                next[k] = v;
            }
            std::mem::swap(&mut d, &mut next);
            if !(change.is_finite() && size.is_finite()) {
                return Ok(None);
            }
            if change <= SWEPT * size {
                break;
            }
        }
        spend(budget, sweeps * m as u64 / F64_PER_UPDATE, affected)?;
        Ok(Some(d))
    }

    /// A direction `v ≥ 0`, zero on the banks `held` at 0 and with
    /// `(I − J) v ≈ 1` on the others (`None`: the sweeps do not converge, the
    /// round's system is singular or nearly so).
    fn nudge(
        &self,
        held: &[bool],
        budget: &mut Budget,
        affected: &[u32],
    ) -> Result<Option<Vec<f64>>, ClearingError> {
        let m = self.fixed.len();
        let mut v: Vec<f64> = held.iter().map(|&h| if h { 0.0 } else { 1.0 }).collect();
        let mut next = vec![0.0; m];
        for sweeps in 1..=SWEEPS {
            let mut change = 0.0f64;
            for k in 0..m {
                if held[k] {
                    next[k] = 0.0;
                    continue;
                }
                let x = 1.0 + self.apply(k, &v);
                change = change.max((x - v[k]).abs() / x);
                next[k] = x;
            }
            std::mem::swap(&mut v, &mut next);
            if !change.is_finite() {
                break;
            }
            if change <= 1e-6 {
                spend(budget, sweeps * m as u64 / F64_PER_UPDATE, affected)?;
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

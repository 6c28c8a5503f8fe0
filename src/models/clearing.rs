//! Clearing vectors: Eisenberg–Noe (2001) and Rogers–Veraart (2013), by the
//! fictitious-default algorithm.
//!
//! Bank `i` owes `L_ij` to bank `j` (an exposure `j -> i`), `l_i` outside the
//! network, and holds `e_i` outside it. With pari passu external liabilities
//! it owes `p̄_i = Σ_j L_ij + l_i` in all and pays each creditor the same share
//! `p_i / p̄_i`. The clearing vector is the greatest fixed point of
//!
//! ```text
//! Eisenberg–Noe:   p_i = min(p̄_i, e_i + Σ_j L_ji p_j / p̄_j)
//! Rogers–Veraart:  p_i = p̄_i                              if e_i + Σ_j L_ji p_j / p̄_j ≥ p̄_i
//!                  p_i = α e_i + β Σ_j L_ji p_j / p̄_j      otherwise
//! ```
//!
//! With senior external liabilities (Eisenberg–Noe only) a bank pays its
//! outside creditors first and its banks `min(Σ_j L_ij, max(0, a_i − l_i))` of
//! its assets `a_i`, pro rata.
//!
//! **The algorithm** (Eisenberg and Noe's fictitious default; Rogers and
//! Veraart's Greatest Clearing Vector Algorithm is the same with α, β): start
//! with every bank paying in full; a round finds the banks whose assets fall
//! short of what they owe under the current payments (they default *in that
//! round*), then solves the payments of all defaulted banks with the others
//! paying in full; repeat until a round finds no new default. The set of
//! defaulted banks only grows, so there are at most `n` rounds.
//!
//! **The solve in a round** is a monotone iteration on a work list: a defaulted
//! bank whose inflow changed recomputes its share `p_i / p̄_i`; the share only
//! ever goes down (the iteration starts above the solution and each step is
//! monotone), and when it goes down by more than [`SETTLED`] its creditors'
//! inflows are updated (incrementally, per exposure) and they are looked at
//! again. A round costs the exposures of the banks whose payment changed, not
//! banks². Each accepted change lowers a share by more than `SETTLED`, so the
//! iteration stops; a budget of updates bounds it in time, and a breach is an
//! error that names the banks still changing.
//!
//! **The fast path** (per round; the exact iteration above is its fallback).
//! Settling every share to 10⁻²⁴ from the round's first shares costs some
//! hundred updates per bank when much of the network is in default, in every
//! round. Instead: (1) the round is solved in `f64` (`estimate.rs`), the same
//! work list in cheap arithmetic; (2) the defaulted banks' shares are set to
//! that estimate, and the residual of each bank changed or affected, share
//! minus target, is computed exactly in decimals; (3) the linear correction
//! `d = r + J d` is solved in `f64` and each share set to `share − d + 10⁻²⁴`
//! (never above its share at the start of the round), which puts it just above
//! the solution; (4) the exact work list runs from there as above — usually it
//! only confirms that no target is above its share. If a target is above its
//! share (beyond rounding), the start was below the solution: the round goes
//! back to its first shares and runs the plain iteration. So the `f64` part
//! never decides a result; a poor estimate only costs time. After the last
//! round every defaulted bank takes its target once more, however small the
//! drop, which brings a share resting on the margin down onto its solution.
//!
//! **Precision**: the decimal arithmetic keeps 28 significant digits; a share
//! is settled when one more update would move it by at most 10⁻²⁴, so each
//! payment is within about `10⁻²⁴ × p̄ / (1 − ρ)` of the exact one, where ρ < 1
//! is the largest share of a defaulted bank's assets that come from other
//! defaulted banks. The final payments are computed afresh from the settled
//! shares, summing each bank's inflows in exposure order.

use std::collections::VecDeque;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::estimate::Estimate;

/// Shares that would move by at most this much are settled.
pub const SETTLED: Decimal = Decimal::from_parts(1, 0, 0, false, 24);
/// How far above its estimate of the solution the fast path starts.
const MARGIN: Decimal = Decimal::from_parts(1, 0, 0, false, 24);
/// A target above a share by at most this much is rounding (an inflow in the
/// thousands keeps 24 decimals), not a start below the solution.
const NOISE: Decimal = Decimal::from_parts(1, 0, 0, false, 25);
/// Updates the `f64` estimate of a round may spend per exposure and bank.
const ESTIMATE_UPDATES_PER_LINK: u64 = 64;

/// How a clearing treats defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Eisenberg–Noe; `senior`: external liabilities are paid before interbank ones.
    EisenbergNoe {
        /// External liabilities are paid first (else pari passu).
        senior: bool,
    },
    /// Rogers–Veraart with the fraction `alpha` of external and `beta` of
    /// interbank assets realised in default.
    RogersVeraart {
        /// The fraction of external assets realised in default.
        alpha: Decimal,
        /// The fraction of interbank assets realised in default.
        beta: Decimal,
    },
}

/// One exposure as the clearing sees it: `debtor` owes `amount` to `creditor`.
#[derive(Clone, Copy, Debug)]
pub struct Claim {
    /// Who is owed.
    pub creditor: u32,
    /// Who owes.
    pub debtor: u32,
    /// How much.
    pub amount: Decimal,
}

/// The clearing of a network.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clearing {
    /// What each bank pays, in all (to banks and outside creditors).
    pub payment: Vec<Decimal>,
    /// The round in which each bank was found to default (`None`: it pays in full).
    pub round: Vec<Option<u32>>,
    /// What each bank lacked when it was found to default: what it owes minus
    /// its assets under the payments of the round before.
    pub shortfall: Vec<Decimal>,
    /// What each bank owes in all.
    pub owed: Vec<Decimal>,
    /// Updates spent (for the fuel count).
    pub work: u64,
}

/// Why a clearing could not be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClearingError {
    /// A sum or product beyond the range of decimals.
    Overflow,
    /// More updates than the budget; the banks still changing.
    NotSettled(Vec<u32>),
}

/// The clearing of `n` banks with external assets `assets`, external
/// liabilities `liabilities` and the interbank `claims` (non-negative, checked
/// by the caller), in at most `budget` updates.
pub fn clear(
    assets: &[Decimal],
    liabilities: &[Decimal],
    claims: &[Claim],
    method: Method,
    budget: u64,
) -> Result<Clearing, ClearingError> {
    let n = assets.len();
    let of = ClaimsBy::new(n, claims);
    let mut interbank = vec![Decimal::ZERO; n];
    for c in claims {
        let t = &mut interbank[c.debtor as usize];
        *t = t.checked_add(c.amount).ok_or(ClearingError::Overflow)?;
    }
    let owed: Vec<Decimal> = (0..n)
        .map(|i| interbank[i].checked_add(liabilities[i]).ok_or(ClearingError::Overflow))
        .collect::<Result<_, _>>()?;
    let senior = matches!(method, Method::EisenbergNoe { senior: true });
    // The base of a bank's share: what its bank creditors are owed pro rata.
    let base: Vec<Decimal> = if senior { interbank.clone() } else { owed.clone() };
    let mut inflow = vec![Decimal::ZERO; n];
    for (i, total) in inflow.iter_mut().enumerate() {
        // Everyone pays in full at first: the inflow is what is owed to `i`.
        for &(_, amount) in of.owed_to(i) {
            *total = total.checked_add(amount).ok_or(ClearingError::Overflow)?;
        }
    }
    let estimate = Estimate::new(method, assets, liabilities, &owed, &base, &of.by_start, &of.by);
    let mut s = Solver {
        method,
        assets,
        liabilities,
        base,
        owed,
        of,
        share: vec![Decimal::ONE; n],
        inflow,
        round: vec![None; n],
        candidates: (0..n as u32).collect(),
        seen: vec![false; n],
        queued: vec![false; n],
        list: VecDeque::new(),
        saved: vec![false; n],
        undo: Vec::new(),
        first: vec![Decimal::ONE; n],
        work: 0,
        budget,
        estimate,
    };
    let mut shortfall = vec![Decimal::ZERO; n];
    let mut r = 0u32;
    loop {
        // Who defaults under the current payments?
        let mut fresh = Vec::new();
        let candidates = std::mem::take(&mut s.candidates);
        for &i in &candidates {
            let i = i as usize;
            s.seen[i] = false;
            if s.round[i].is_some() {
                continue;
            }
            let held = assets[i].checked_add(s.inflow[i]).ok_or(ClearingError::Overflow)?;
            if held < s.owed[i] {
                fresh.push(i as u32);
                shortfall[i] = s.owed[i] - held;
            }
        }
        if fresh.is_empty() {
            break;
        }
        r += 1;
        for &i in &fresh {
            s.round[i as usize] = Some(r);
        }
        s.solve_round(&fresh)?;
    }
    // One more update of every defaulted bank, taken however small: a share
    // just above its solution (the fast path's margin) comes down onto it.
    for i in 0..n {
        if s.round[i].is_some() {
            let target = s.target(i)?;
            if target < s.share[i] {
                s.set_share(i, target)?;
            }
        }
    }
    // The payments, from the settled shares, with inflows summed afresh.
    let Solver { owed, of, share, round, work, .. } = s;
    let mut payment = owed.clone();
    for i in 0..n {
        if round[i].is_none() {
            continue;
        }
        let mut total = Decimal::ZERO;
        for &(debtor, amount) in of.owed_to(i) {
            let paid = amount.checked_mul(share[debtor as usize]).ok_or(ClearingError::Overflow)?;
            total = total.checked_add(paid).ok_or(ClearingError::Overflow)?;
        }
        payment[i] = defaulted_payment(method, assets[i], liabilities[i], total, owed[i])?;
    }
    Ok(Clearing { payment, round, shortfall, owed, work })
}

/// The state of a clearing between and within rounds.
struct Solver<'a> {
    method: Method,
    assets: &'a [Decimal],
    liabilities: &'a [Decimal],
    base: Vec<Decimal>,
    owed: Vec<Decimal>,
    of: ClaimsBy,
    /// The share of its bank debts each bank pays.
    share: Vec<Decimal>,
    /// What each bank receives from banks under `share`.
    inflow: Vec<Decimal>,
    round: Vec<Option<u32>>,
    /// Banks in good standing whose inflow fell: looked at in the next round.
    candidates: Vec<u32>,
    seen: Vec<bool>,
    /// The work list of defaulted banks to look at.
    queued: Vec<bool>,
    list: VecDeque<u32>,
    /// The banks changed in the round, and their shares at its start.
    saved: Vec<bool>,
    undo: Vec<u32>,
    first: Vec<Decimal>,
    work: u64,
    budget: u64,
    estimate: Estimate,
}

/// How an exact pass over the work list ended.
enum Pass {
    Settled,
    /// A share below its target: the start was not above the solution.
    Below,
    /// More updates than the pass was given.
    Capped,
}

impl Solver<'_> {
    /// Solves the payments of the defaulted banks after `fresh` defaulted:
    /// the fast path, or (if its start is not above the solution) the plain
    /// monotone iteration from the round's first shares.
    fn solve_round(&mut self, fresh: &[u32]) -> Result<(), ClearingError> {
        for i in std::mem::take(&mut self.undo) {
            self.saved[i as usize] = false;
        }
        let links = self.of.by.len() as u64 + self.share.len() as u64;
        let spent = self.estimate.settle(fresh, &self.round, ESTIMATE_UPDATES_PER_LINK * links);
        self.spend(spent)?;
        let moved = self.estimate.take_moved();
        let fast = self.fast_start(fresh, &moved)?;
        let pass = match fast {
            Some(seeds) => self.pass(SETTLED, true, 16 * seeds as u64 + 1024)?,
            None => Pass::Below,
        };
        if !matches!(pass, Pass::Settled) {
            // Back to the round's first shares, then the plain iteration.
            while let Some(i) = self.list.pop_front() {
                self.queued[i as usize] = false;
            }
            for i in self.undo.clone() {
                let i = i as usize;
                self.set_share(i, self.first[i])?;
            }
            for &i in fresh {
                self.queue(i as usize);
            }
            self.pass(SETTLED, false, u64::MAX)?;
        }
        // The estimate follows the exact shares into the next round.
        for &i in &self.undo {
            let i = i as usize;
            self.estimate.set(i, self.share[i].to_f64().unwrap_or(0.0));
        }
        for &i in &moved {
            let i = i as usize;
            self.estimate.set(i, self.share[i].to_f64().unwrap_or(0.0));
        }
        Ok(())
    }

    /// Moves the defaulted banks' shares to just above the estimate of the
    /// round's solution (estimate, exact residual, estimated correction) and
    /// queues every bank changed or affected. `None` if there is nothing to gain.
    fn fast_start(&mut self, fresh: &[u32], moved: &[u32]) -> Result<Option<usize>, ClearingError> {
        if moved.is_empty() {
            for &i in fresh {
                self.queue(i as usize);
            }
            return Ok(Some(fresh.len()));
        }
        for &i in moved {
            let i = i as usize;
            let Some(x) = Decimal::from_f64(self.estimate.share[i]) else { return Ok(None) };
            if x < self.share[i] {
                self.set_share(i, x.max(Decimal::ZERO))?;
            }
            self.queue(i);
        }
        for &i in fresh {
            self.queue(i as usize);
        }
        // The exact residual of every bank changed or affected.
        let mut residuals = Vec::with_capacity(self.list.len());
        for k in 0..self.list.len() {
            let i = self.list[k] as usize;
            let target = self.target(i)?;
            let r = self.share[i].checked_sub(target).ok_or(ClearingError::Overflow)?;
            residuals.push((i as u32, r.to_f64().unwrap_or(0.0)));
        }
        let links = self.of.by.len() as u64 + self.share.len() as u64;
        let (corrections, spent) =
            self.estimate.correct(&residuals, &self.round, ESTIMATE_UPDATES_PER_LINK * links);
        self.spend(spent)?;
        for (i, d) in corrections {
            let i = i as usize;
            if (0.0..=2e-24).contains(&d) {
                continue; // already within the margin above the solution
            }
            let Some(d) = Decimal::from_f64(d) else { return Ok(None) };
            let first = if self.saved[i] { self.first[i] } else { self.share[i] };
            let lowered = self.share[i].checked_sub(d).and_then(|x| x.checked_add(MARGIN));
            let Some(x) = lowered else { return Ok(None) };
            let x = x.clamp(Decimal::ZERO, first);
            if x != self.share[i] {
                self.set_share(i, x)?;
            }
            self.queue(i);
        }
        Ok(Some(self.list.len()))
    }

    /// Runs the work list: a bank whose target is below its share by more
    /// than `tolerance` takes it. With `check`, a target above a share (by more
    /// than rounding) stops the pass: the shares were not above the solution.
    fn pass(&mut self, tolerance: Decimal, check: bool, cap: u64) -> Result<Pass, ClearingError> {
        let mut spent = 0u64;
        while let Some(i) = self.list.pop_front() {
            let i = i as usize;
            self.queued[i] = false;
            let target = self.target(i)?;
            if target >= self.share[i] {
                if check && target - self.share[i] > NOISE {
                    return Ok(Pass::Below);
                }
                continue;
            }
            if self.share[i] - target <= tolerance {
                continue;
            }
            spent += 1;
            if spent > cap {
                return Ok(Pass::Capped);
            }
            self.work += 1;
            if self.work > self.budget {
                let mut changing: Vec<u32> = self.list.iter().copied().chain([i as u32]).collect();
                changing.sort_unstable();
                changing.dedup();
                return Err(ClearingError::NotSettled(changing));
            }
            self.set_share(i, target)?;
        }
        Ok(Pass::Settled)
    }

    fn target(&self, i: usize) -> Result<Decimal, ClearingError> {
        defaulted_share(
            self.method,
            self.assets[i],
            self.liabilities[i],
            self.inflow[i],
            self.base[i],
            self.owed[i],
        )
    }

    fn queue(&mut self, i: usize) {
        if !self.queued[i] {
            self.queued[i] = true;
            self.list.push_back(i as u32);
        }
    }

    fn spend(&mut self, updates: u64) -> Result<(), ClearingError> {
        self.work = self.work.saturating_add(updates);
        if self.work > self.budget {
            let mut changing: Vec<u32> = self.list.iter().copied().collect();
            changing.sort_unstable();
            return Err(ClearingError::NotSettled(changing));
        }
        Ok(())
    }

    /// Sets bank `i`'s share, passing the change to its creditors: defaulted
    /// ones are queued, the others looked at in the next round.
    fn set_share(&mut self, i: usize, share: Decimal) -> Result<(), ClearingError> {
        let old = self.share[i];
        if !self.saved[i] {
            self.saved[i] = true;
            self.undo.push(i as u32);
            self.first[i] = old;
        }
        let drop = old.checked_sub(share).ok_or(ClearingError::Overflow)?;
        self.share[i] = share;
        for k in self.of.by_start[i] as usize..self.of.by_start[i + 1] as usize {
            let (creditor, amount) = self.of.by[k];
            let c = creditor as usize;
            let less = amount.checked_mul(drop).ok_or(ClearingError::Overflow)?;
            self.inflow[c] = self.inflow[c].checked_sub(less).ok_or(ClearingError::Overflow)?;
            if self.round[c].is_some() {
                self.queue(c);
            } else if !self.seen[c] {
                self.seen[c] = true;
                self.candidates.push(creditor);
            }
        }
        Ok(())
    }
}

/// The share of its bank debts that a defaulted bank pays, given its inflow.
fn defaulted_share(
    method: Method,
    assets: Decimal,
    liabilities: Decimal,
    inflow: Decimal,
    base: Decimal,
    owed: Decimal,
) -> Result<Decimal, ClearingError> {
    if base.is_zero() {
        return Ok(Decimal::ONE);
    }
    let paid = match method {
        Method::EisenbergNoe { senior: true } => {
            let held = assets.checked_add(inflow).ok_or(ClearingError::Overflow)?;
            (held - liabilities).clamp(Decimal::ZERO, base)
        }
        _ => defaulted_payment(method, assets, liabilities, inflow, owed)?,
    };
    Ok((paid.checked_div(base).ok_or(ClearingError::Overflow)?).clamp(Decimal::ZERO, Decimal::ONE))
}

/// What a defaulted bank pays in all, given its inflow.
fn defaulted_payment(
    method: Method,
    assets: Decimal,
    _liabilities: Decimal,
    inflow: Decimal,
    owed: Decimal,
) -> Result<Decimal, ClearingError> {
    let paid = match method {
        Method::EisenbergNoe { .. } => assets.checked_add(inflow).ok_or(ClearingError::Overflow)?,
        Method::RogersVeraart { alpha, beta } => {
            let a = alpha.checked_mul(assets).ok_or(ClearingError::Overflow)?;
            let b = beta.checked_mul(inflow).ok_or(ClearingError::Overflow)?;
            a.checked_add(b).ok_or(ClearingError::Overflow)?
        }
    };
    Ok(paid.clamp(Decimal::ZERO, owed))
}

/// The claims indexed both ways: what each bank is owed and what it owes.
struct ClaimsBy {
    to_start: Vec<u32>,
    to: Vec<(u32, Decimal)>,
    by_start: Vec<u32>,
    by: Vec<(u32, Decimal)>,
}

impl ClaimsBy {
    fn new(n: usize, claims: &[Claim]) -> ClaimsBy {
        let index = |key: fn(&Claim) -> u32, other: fn(&Claim) -> u32| {
            let mut start = vec![0u32; n + 1];
            for c in claims {
                start[key(c) as usize + 1] += 1;
            }
            for i in 0..n {
                start[i + 1] += start[i];
            }
            let mut next = start.clone();
            let mut list = vec![(0u32, Decimal::ZERO); claims.len()];
            for c in claims {
                let at = &mut next[key(c) as usize];
                list[*at as usize] = (other(c), c.amount);
                *at += 1;
            }
            (start, list)
        };
        let (to_start, to) = index(|c| c.creditor, |c| c.debtor);
        let (by_start, by) = index(|c| c.debtor, |c| c.creditor);
        ClaimsBy { to_start, to, by_start, by }
    }

    /// (debtor, amount) of every claim of `i`.
    fn owed_to(&self, i: usize) -> &[(u32, Decimal)] {
        &self.to[self.to_start[i] as usize..self.to_start[i + 1] as usize]
    }
}

//! DebtRank (Battiston, Puliga, Kaushik, Tasca and Caldarelli 2012, "DebtRank:
//! too central to fail?", Scientific Reports 2:541).
//!
//! Bank `i` holds `A_ij` of claims on bank `j` (an exposure `i -> j`) and has
//! equity `E_i`. The impact of `j`'s distress on `i` is `W_ij = min(1, A_ij / E_i)`
//! (1 when `E_i` is 0 or less and `A_ij` is positive). Each bank has a
//! distress `h_i` in [0, 1] and a state: undistressed, distressed or inactive.
//! The shocked banks (`h_i(1) > 0`) start distressed; then, step by step,
//!
//! ```text
//! h_i(t) = min(1, h_i(t−1) + Σ_{j distressed at t−1} W_ij h_j(t−1))
//! ```
//!
//! a bank distressed at `t−1` becomes inactive at `t`, and an undistressed
//! bank with `h_i(t) > 0` becomes distressed. So every bank propagates its
//! distress once, and the process ends when no bank is distressed: it costs
//! each exposure once. The DebtRank of the shock is the value-weighted
//! distress it adds: `R = Σ_i v_i h_i(T) − Σ_i v_i h_i(1)`, with `v_i` each
//! bank's value over the total value.
//!
//! **Differential DebtRank** (Bardoscia, Battiston, Caccioli and Caldarelli
//! 2015, "DebtRank: a microscopic foundation for shock propagation", PLoS ONE
//! 10(6): e0130406) passes on every increase of distress, in every step, with
//! the interbank leverage `Λ_ij = A_ij / E_i` (not capped: the cap is on `h`):
//!
//! ```text
//! h_i(t+1) = min(1, h_i(t) + Σ_j Λ_ij (h_j(t) − h_j(t−1))),   h(0) = 0, h(1) = shock
//! ```
//!
//! A bank with no equity (`E_i ≤ 0`) is wiped out by any increase of a
//! debtor's distress. In a cycle the increments shrink geometrically without
//! ending, so an increment of at most [`PASSED_ON`] is not passed on (it still
//! counts in the bank's own `h`); the steps are bounded by a budget of
//! exposures looked at, whose breach names the banks still passing distress on.

use rust_decimal::Decimal;

/// Increments of distress of at most this much are not passed on (differential DebtRank).
pub const PASSED_ON: Decimal = Decimal::from_parts(1, 0, 0, false, 24);

/// Which DebtRank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Battiston et al. (2012): each bank passes on its distress once.
    Original,
    /// Bardoscia et al. (2015): every increase of distress is passed on.
    Differential,
}

/// One exposure: `creditor` holds `amount` of claims on `debtor`.
pub use super::clearing::Claim;

/// The outcome of DebtRank.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebtRank {
    /// Each bank's final distress.
    pub distress: Vec<Decimal>,
    /// The value-weighted distress added to the initial shock.
    pub debtrank: Decimal,
    /// Exposures looked at (for the fuel count).
    pub work: u64,
}

/// Why DebtRank could not be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DebtRankError {
    /// A sum or product beyond the range of decimals.
    Overflow,
    /// More exposures looked at than the budget; the banks still passing distress on.
    NotSettled(Vec<u32>),
}

/// DebtRank of the `shock` (each in [0, 1], checked by the caller) on banks
/// with `equity` and `value`, linked by `claims`, looking at most `budget`
/// exposures (the differential variant; the original looks at each once).
pub fn debtrank(
    equity: &[Decimal],
    value: &[Decimal],
    shock: &[Decimal],
    claims: &[Claim],
    variant: Variant,
    budget: u64,
) -> Result<DebtRank, DebtRankError> {
    let n = equity.len();
    // The claims on each debtor, by creditor, with the claims of one creditor on
    // one debtor added up (the cap of 1 is on the pair).
    let mut pairs: Vec<(u32, u32, Decimal)> =
        claims.iter().map(|c| (c.debtor, c.creditor, c.amount)).collect();
    pairs.sort_by_key(|&(d, c, _)| (d, c));
    let mut merged: Vec<(u32, u32, Decimal)> = Vec::with_capacity(pairs.len());
    for (d, c, a) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == d && last.1 == c => {
                last.2 = last.2.checked_add(a).ok_or(DebtRankError::Overflow)?;
            }
            _ => merged.push((d, c, a)),
        }
    }
    let mut start = vec![0usize; n + 1];
    for &(d, _, _) in &merged {
        start[d as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    if variant == Variant::Differential {
        let (h, work) = differential(equity, shock, &merged, &start, budget)?;
        return finish(h, value, shock, work);
    }
    let impact: Vec<Decimal> = merged
        .iter()
        .map(|&(_, c, a)| {
            let e = equity[c as usize];
            if a <= Decimal::ZERO {
                Ok(Decimal::ZERO)
            } else if e <= Decimal::ZERO {
                Ok(Decimal::ONE)
            } else {
                a.checked_div(e).map(|w| w.min(Decimal::ONE)).ok_or(DebtRankError::Overflow)
            }
        })
        .collect::<Result<_, _>>()?;

    let mut h: Vec<Decimal> = shock.to_vec();
    let mut active: Vec<u32> = (0..n as u32).filter(|&i| h[i as usize] > Decimal::ZERO).collect();
    let mut spent = vec![false; n];
    for &i in &active {
        spent[i as usize] = true;
    }
    let mut work = 0u64;
    let mut next_h = h.clone();
    while !active.is_empty() {
        // Every distressed bank passes on its distress of the step before.
        for &j in &active {
            let j = j as usize;
            for k in start[j]..start[j + 1] {
                work += 1;
                let creditor = merged[k].1 as usize;
                let add = impact[k].checked_mul(h[j]).ok_or(DebtRankError::Overflow)?;
                let total = next_h[creditor].checked_add(add).ok_or(DebtRankError::Overflow)?;
                next_h[creditor] = total.min(Decimal::ONE);
            }
        }
        let mut next = Vec::new();
        for (i, (now, later)) in h.iter_mut().zip(&next_h).enumerate() {
            if !spent[i] && *later > Decimal::ZERO {
                spent[i] = true;
                next.push(i as u32);
            }
            *now = *later;
        }
        active = next;
    }
    let mut r = finish(h, value, shock, 0)?;
    r.work = work;
    Ok(r)
}

/// The outcome from the final distress `h` (`work`: exposures looked at).
fn finish(
    h: Vec<Decimal>,
    value: &[Decimal],
    shock: &[Decimal],
    work: u64,
) -> Result<DebtRank, DebtRankError> {
    let n = h.len();
    let total: Decimal =
        value.iter().try_fold(Decimal::ZERO, |s, v| s.checked_add(*v)).ok_or(DebtRankError::Overflow)?;
    let mut added = Decimal::ZERO;
    for i in 0..n {
        let weighted = (h[i] - shock[i]).checked_mul(value[i]).ok_or(DebtRankError::Overflow)?;
        added = added.checked_add(weighted).ok_or(DebtRankError::Overflow)?;
    }
    let debtrank = if total.is_zero() {
        Decimal::ZERO
    } else {
        added.checked_div(total).ok_or(DebtRankError::Overflow)?
    };
    Ok(DebtRank { distress: h, debtrank, work })
}

/// Differential DebtRank's final distress, from the claims on each debtor
/// (`merged`, by debtor from `start`), and the exposures looked at.
fn differential(
    equity: &[Decimal],
    shock: &[Decimal],
    merged: &[(u32, u32, Decimal)],
    start: &[usize],
    budget: u64,
) -> Result<(Vec<Decimal>, u64), DebtRankError> {
    let n = equity.len();
    // Λ_ij = A_ij / E_i; `None`: beyond any distress (no equity, or beyond decimals).
    let leverage: Vec<Option<Decimal>> = merged
        .iter()
        .map(|&(_, c, a)| {
            let e = equity[c as usize];
            if a <= Decimal::ZERO {
                Some(Decimal::ZERO)
            } else if e <= Decimal::ZERO {
                None
            } else {
                a.checked_div(e)
            }
        })
        .collect();
    let mut h: Vec<Decimal> = shock.to_vec();
    // The increments of the last step: h(1) − h(0) is the shock.
    let mut passing: Vec<(u32, Decimal)> =
        (0..n as u32).filter(|&i| h[i as usize] > PASSED_ON).map(|i| (i, h[i as usize])).collect();
    let mut added = vec![Decimal::ZERO; n];
    let mut is_touched = vec![false; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut work = 0u64;
    while !passing.is_empty() {
        for &(j, increment) in &passing {
            let j = j as usize;
            work = work.saturating_add((start[j + 1] - start[j]) as u64);
            if work > budget {
                return Err(DebtRankError::NotSettled(passing.iter().map(|p| p.0).collect()));
            }
            for k in start[j]..start[j + 1] {
                let creditor = merged[k].1 as usize;
                // Past 1 the sum no longer matters: h is capped there.
                let add = leverage[k].and_then(|l| l.checked_mul(increment)).unwrap_or(Decimal::ONE);
                added[creditor] = added[creditor].checked_add(add).unwrap_or(Decimal::ONE).min(Decimal::TWO);
                if !is_touched[creditor] {
                    is_touched[creditor] = true;
                    touched.push(creditor as u32);
                }
            }
        }
        passing.clear();
        touched.sort_unstable();
        for &i in &touched {
            let i = i as usize;
            is_touched[i] = false;
            let before = h[i];
            let after = before.checked_add(std::mem::take(&mut added[i])).ok_or(DebtRankError::Overflow)?;
            h[i] = after.min(Decimal::ONE);
            let increment = h[i] - before;
            if increment > PASSED_ON {
                passing.push((i as u32, increment));
            }
        }
        touched.clear();
    }
    Ok((h, work))
}

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
//! **The solve in a round** (`round.rs`) looks only at the defaulted banks the
//! round's new defaults reach through their debts (the others' inputs did not
//! change). It is iterative refinement in mixed precision: an exact pass in
//! decimals gives each bank's target share from what its debtors pay, an `f64`
//! solve turns the residual into a correction, and two or three passes reach
//! the decimals' last digits; the shares are then raised a hair in a direction
//! that keeps them above the solution and accepted only if an exact pass finds
//! every share settled. Otherwise the round falls back to the plain monotone
//! iteration in exact decimals: shares only ever go down, by more than
//! [`SETTLED`] each time, so it stops; a budget of updates bounds it in time,
//! and a breach is an error that names the banks still changing. A round costs
//! the exposures of the banks it looks at, not banks².
//!
//! **Precision**: the decimal arithmetic keeps 28 significant digits; a share
//! is settled when recomputing it would not raise it and would lower it by at
//! most 10⁻²⁴, so each payment is within about `10⁻²⁴ × p̄ / (1 − ρ)` of the
//! exact one, where ρ < 1 is the largest share of a defaulted bank's assets
//! that come from other defaulted banks. Every inflow, in the rounds and in
//! the final payments, is summed afresh over the bank's claims in their own
//! order, so the result does not depend on the order of the banks.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::round;

/// Shares that would move by at most this much are settled.
pub const SETTLED: Decimal = Decimal::from_parts(1, 0, 0, false, 24);

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
    let base = if senior { interbank } else { owed.clone() };
    let banks = Banks { method, assets, liabilities, base, owed, of };

    let mut share = vec![Decimal::ONE; n];
    let mut round = vec![None; n];
    let mut shortfall = vec![Decimal::ZERO; n];
    let mut budget = Budget { left: budget, spent: 0 };
    let mut defaulted: Vec<u32> = Vec::new();
    let mut candidates: Vec<u32> = (0..n as u32).collect();
    let mut seen = vec![false; n];
    let mut r = 0u32;
    loop {
        // Who defaults under the current payments?
        let mut fresh = Vec::new();
        for &i in &candidates {
            let i = i as usize;
            seen[i] = false;
            if round[i].is_some() {
                continue;
            }
            let held = assets[i].checked_add(banks.inflow(i, &share)?).ok_or(ClearingError::Overflow)?;
            if held < banks.owed[i] {
                fresh.push(i as u32);
                shortfall[i] = banks.owed[i] - held;
            }
        }
        candidates.clear();
        if fresh.is_empty() {
            break;
        }
        r += 1;
        for &i in &fresh {
            round[i as usize] = Some(r);
        }
        defaulted.extend_from_slice(&fresh);
        defaulted.sort_unstable();
        // The banks whose payments this round can change: the fresh defaults
        // and the defaulted banks they owe, directly or through others.
        let affected = banks.reached_from(&fresh, &round);
        let before: Vec<Decimal> = affected.iter().map(|&i| share[i as usize]).collect();
        if !round::solve(&banks, &affected, &mut share, &mut budget)? {
            round::settle(&banks, &affected, &round, &mut share, &mut budget)?;
        }
        // Their creditors that still pay in full may default now.
        for (&i, old) in affected.iter().zip(&before) {
            if share[i as usize] == *old {
                continue;
            }
            for &(creditor, _) in banks.of.owed_by(i as usize) {
                let c = creditor as usize;
                if round[c].is_none() && !seen[c] {
                    seen[c] = true;
                    candidates.push(creditor);
                }
            }
        }
    }
    // The payments, from the settled shares, with inflows summed afresh.
    let mut payment = banks.owed.clone();
    for &i in &defaulted {
        let i = i as usize;
        let total = banks.inflow(i, &share)?;
        payment[i] = defaulted_payment(method, assets[i], total, banks.owed[i])?;
    }
    Ok(Clearing { payment, round, shortfall, owed: banks.owed, work: budget.spent })
}

/// The updates a clearing may still spend.
pub(super) struct Budget {
    left: u64,
    pub(super) spent: u64,
}

impl Budget {
    /// Spends `work` updates; `false` when the budget is exhausted.
    pub(super) fn spend(&mut self, work: u64) -> bool {
        self.spent = self.spent.saturating_add(work);
        self.spent <= self.left
    }
}

/// The banks of a clearing and what each owes and holds.
pub(super) struct Banks<'a> {
    pub(super) method: Method,
    pub(super) assets: &'a [Decimal],
    pub(super) liabilities: &'a [Decimal],
    /// What a bank's share is a share of: its interbank debts (senior) or all its debts.
    pub(super) base: Vec<Decimal>,
    pub(super) owed: Vec<Decimal>,
    pub(super) of: ClaimsBy,
}

impl Banks<'_> {
    /// What bank `i` receives when each debtor pays `share` of its debts,
    /// summed in the order of `i`'s claims.
    pub(super) fn inflow(&self, i: usize, share: &[Decimal]) -> Result<Decimal, ClearingError> {
        let mut total = Decimal::ZERO;
        for &(debtor, amount) in self.of.owed_to(i) {
            let paid = amount.checked_mul(share[debtor as usize]).ok_or(ClearingError::Overflow)?;
            total = total.checked_add(paid).ok_or(ClearingError::Overflow)?;
        }
        Ok(total)
    }

    /// The share of its bank debts that defaulted bank `i` would pay with
    /// `inflow` coming in, before it is held to 0 to 1 (but within −1 to 1;
    /// `None`: it owes no bank).
    pub(super) fn raw_share(&self, i: usize, inflow: Decimal) -> Result<Option<Decimal>, ClearingError> {
        let base = self.base[i];
        if base.is_zero() {
            return Ok(None);
        }
        let overflow = ClearingError::Overflow;
        let paid = match self.method {
            Method::EisenbergNoe { senior } => {
                let held = self.assets[i].checked_add(inflow).ok_or(overflow.clone())?;
                if senior { held.checked_sub(self.liabilities[i]).ok_or(overflow.clone())? } else { held }
            }
            Method::RogersVeraart { alpha, beta } => {
                let a = alpha.checked_mul(self.assets[i]).ok_or(overflow.clone())?;
                let b = beta.checked_mul(inflow).ok_or(overflow.clone())?;
                a.checked_add(b).ok_or(overflow.clone())?
            }
        };
        // Held to [−1, 1] before the division, which then cannot overflow; the
        // share is held to [0, 1] after, so the target is the same.
        let paid = paid.clamp(-base, base);
        Ok(Some(paid.checked_div(base).ok_or(overflow)?))
    }

    /// How much the raw share of bank `i` moves per unit of inflow.
    pub(super) fn slope(&self, i: usize) -> f64 {
        let base = self.base[i].to_f64().unwrap_or(f64::INFINITY);
        let rate = match self.method {
            Method::EisenbergNoe { .. } => 1.0,
            Method::RogersVeraart { beta, .. } => beta.to_f64().unwrap_or(1.0),
        };
        if base > 0.0 { rate / base } else { 0.0 }
    }

    /// The defaulted banks that owe something to a bank of `from` or to one of
    /// those, and so on, with `from` itself; in index order.
    fn reached_from(&self, from: &[u32], round: &[Option<u32>]) -> Vec<u32> {
        let mut reached = vec![false; round.len()];
        let mut stack: Vec<u32> = from.to_vec();
        for &i in from {
            reached[i as usize] = true;
        }
        let mut all = Vec::new();
        while let Some(i) = stack.pop() {
            all.push(i);
            for &(creditor, _) in self.of.owed_by(i as usize) {
                let c = creditor as usize;
                if round[c].is_some() && !reached[c] {
                    reached[c] = true;
                    stack.push(creditor);
                }
            }
        }
        all.sort_unstable();
        all
    }
}

/// What a defaulted bank pays in all, given its inflow.
fn defaulted_payment(
    method: Method,
    assets: Decimal,
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
pub(super) struct ClaimsBy {
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
    pub(super) fn owed_to(&self, i: usize) -> &[(u32, Decimal)] {
        &self.to[self.to_start[i] as usize..self.to_start[i + 1] as usize]
    }

    /// (creditor, amount) of every debt of `i`.
    pub(super) fn owed_by(&self, i: usize) -> &[(u32, Decimal)] {
        &self.by[self.by_start[i] as usize..self.by_start[i + 1] as usize]
    }
}

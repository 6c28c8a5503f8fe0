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
//! **Precision**: the decimal arithmetic keeps 28 significant digits; a share
//! is settled when one more update would move it by at most 10⁻²⁴, so each
//! payment is within about `10⁻²⁴ × p̄ / (1 − ρ)` of the exact one, where ρ < 1
//! is the largest share of a defaulted bank's assets that come from other
//! defaulted banks. The final payments are computed afresh from the settled
//! shares, summing each bank's inflows in exposure order.

use rust_decimal::Decimal;

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
    let base: Vec<Decimal> = if senior { interbank.clone() } else { owed.clone() };

    let mut share = vec![Decimal::ONE; n];
    let mut inflow = vec![Decimal::ZERO; n];
    for (i, total) in inflow.iter_mut().enumerate() {
        // Everyone pays in full at first: the inflow is what is owed to `i`.
        for &(_, amount) in of.owed_to(i) {
            *total = total.checked_add(amount).ok_or(ClearingError::Overflow)?;
        }
    }
    let mut round = vec![None; n];
    let mut shortfall = vec![Decimal::ZERO; n];
    let mut work = 0u64;
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
            let held = assets[i].checked_add(inflow[i]).ok_or(ClearingError::Overflow)?;
            if held < owed[i] {
                fresh.push(i as u32);
                shortfall[i] = owed[i] - held;
            }
        }
        candidates.clear();
        if fresh.is_empty() {
            break;
        }
        r += 1;
        for &i in &fresh {
            let i = i as usize;
            round[i] = Some(r);
        }
        // Solve the defaulted banks' payments: a work list of banks to look at.
        let mut queued = vec![false; n];
        let mut list: std::collections::VecDeque<u32> = fresh.iter().copied().collect();
        for &i in &fresh {
            queued[i as usize] = true;
        }
        while let Some(i) = list.pop_front() {
            let i = i as usize;
            queued[i] = false;
            let target = defaulted_share(method, assets[i], liabilities[i], inflow[i], base[i], owed[i])?;
            if target >= share[i] || share[i] - target <= SETTLED {
                continue;
            }
            work += 1;
            if work > budget {
                let mut changing: Vec<u32> = list.iter().copied().chain([i as u32]).collect();
                changing.sort_unstable();
                changing.dedup();
                return Err(ClearingError::NotSettled(changing));
            }
            let drop = share[i] - target;
            share[i] = target;
            for &(creditor, amount) in of.owed_by(i) {
                let c = creditor as usize;
                let less = amount.checked_mul(drop).ok_or(ClearingError::Overflow)?;
                inflow[c] = inflow[c].checked_sub(less).ok_or(ClearingError::Overflow)?;
                if round[c].is_some() {
                    if !queued[c] {
                        queued[c] = true;
                        list.push_back(creditor);
                    }
                } else if !seen[c] {
                    seen[c] = true;
                    candidates.push(creditor);
                }
            }
        }
    }
    // The payments, from the settled shares, with inflows summed afresh.
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

    /// (creditor, amount) of every debt of `i`.
    fn owed_by(&self, i: usize) -> &[(u32, Decimal)] {
        &self.by[self.by_start[i] as usize..self.by_start[i + 1] as usize]
    }
}

//! Hand-written Rust versions of the generated scenarios (`gen.rs`, included as `mod scenarios`): plain vectors
//! and loops over the same `rust_decimal` arithmetic, giving exactly the results the
//! interpreter gives (`tests/baseline.rs` checks it). They are what the benchmarks
//! compare the interpreter with.
//!
//! "Exactly" includes the order in which rules fire, because in a feedback loop the
//! order changes the numbers (a lessor that sells later sells at a lower price). So
//! each baseline follows the step machine of `src/eval/` for its one script:
//!
//! - per step: the `at` shocks (their own groups, which come first in the schedule),
//!   then the feedback group, repeated in passes until a pass fires nothing;
//! - a pass runs each rule of the group in order (`margin_call` has the higher
//!   priority, then `insolvent`); a rule looks at its *pending* instances in entity
//!   order. An instance is pending when something it read changed since it last
//!   evaluated its condition; it joins the current pass if it is still ahead in the
//!   rule's list, the next pass otherwise;
//! - a `when` instance fires on a false→true edge of its condition, at most once per
//!   step; one that fired this step and is looked at again waits for the next step.
//!
//! The interbank baseline needs only a work list of creditors (a default can only
//! raise losses, so the cascade is a chain of creditors to look at again). The fire
//! sale needs to know which condition read what, because every sale moves the price
//! that every condition reads: it keeps, per instance, which of its lessor's fields
//! and whether the price it read since they last changed, as the engine does.
#![allow(dead_code)]

use rust_decimal::{Decimal, RoundingStrategy};

use crate::scenarios::{FireSale, Interbank};

/// The decimal `value × 10^-scale`.
fn dec(value: u64, scale: u32) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(value), scale)
}

// ---------------------------------------------------------------------------
// (a) Interbank sequential default

/// The state of an interbank network at the end of the run.
#[derive(Clone, Debug)]
pub struct InterbankResult {
    /// The step at which each bank defaulted.
    pub defaulted_at: Vec<Option<u64>>,
    /// Each bank's `losses`: what it lost on its defaulted debtors.
    pub losses: Vec<Decimal>,
    /// Every default as `(step, bank)`, in the order they happened.
    pub defaults: Vec<(u64, u32)>,
}

struct Banks {
    capital: Vec<Decimal>,
    /// The creditors of debtor `d` and what each loses when `d` defaults:
    /// `creditors[start[d]..start[d + 1]]`.
    start: Vec<u32>,
    creditors: Vec<(u32, Decimal)>,
    losses: Vec<Decimal>,
    defaulted_at: Vec<u64>,
    /// In the current pass's list (not yet looked at) or in the next one.
    queued: Vec<bool>,
    next: Vec<u32>,
    defaults: Vec<(u64, u32)>,
}

impl Banks {
    fn default(&mut self, bank: u32, step: u64) {
        if self.defaulted_at[bank as usize] != 0 {
            return;
        }
        self.defaulted_at[bank as usize] = step;
        self.defaults.push((step, bank));
        let (from, to) = (self.start[bank as usize] as usize, self.start[bank as usize + 1] as usize);
        for &(creditor, loss) in &self.creditors[from..to] {
            let c = creditor as usize;
            self.losses[c] += loss;
            if self.defaulted_at[c] == 0 && !self.queued[c] {
                self.queued[c] = true;
                self.next.push(creditor);
            }
        }
    }
}

/// Reads an interbank network from the CSV files that [`Interbank::csv`]
/// writes, as a hand-written program would: the `csv` crate's byte records,
/// names resolved through a hash map, `123k` and `35%` parsed by hand. The
/// shocks, horizon, seed and degree are taken from `like` (the script holds them).
pub fn read_interbank_csv(banks: &[u8], exposures: &[u8], like: &Interbank) -> Result<Interbank, String> {
    fn number(cell: &[u8], suffix: u8) -> Result<u64, String> {
        let digits = cell.strip_suffix(&[suffix]).unwrap_or(cell);
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| format!("bad number {}", String::from_utf8_lossy(cell)))
    }
    let mut index: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
    let mut capital_k = Vec::new();
    let mut reader = csv::ReaderBuilder::new().from_reader(banks);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| e.to_string())? {
        index.insert(record[0].to_vec(), capital_k.len() as u32);
        capital_k.push(number(&record[1], b'k')?);
    }
    let mut list = Vec::new();
    let mut reader = csv::ReaderBuilder::new().from_reader(exposures);
    let find = |name: &[u8]| index.get(name).copied().ok_or_else(|| String::from("unknown bank"));
    while reader.read_byte_record(&mut record).map_err(|e| e.to_string())? {
        list.push(crate::scenarios::Exposure {
            creditor: find(&record[0])?,
            debtor: find(&record[1])?,
            amount_k: number(&record[2], b'k')?,
            recovery_pct: number(&record[3], b'%')?,
        });
    }
    Ok(Interbank { capital_k, exposures: list, ..like.clone() })
}

/// Runs the interbank scenario to its horizon.
pub fn run_interbank(world: &Interbank) -> InterbankResult {
    let n = world.banks();
    let mut start = vec![0u32; n + 1];
    for x in &world.exposures {
        start[x.debtor as usize + 1] += 1;
    }
    for d in 0..n {
        start[d + 1] += start[d];
    }
    let mut fill = start.clone();
    let mut creditors = vec![(0u32, Decimal::ZERO); world.exposures.len()];
    for x in &world.exposures {
        let loss = dec(x.amount_k * 1000, 0) * (Decimal::ONE - dec(x.recovery_pct, 2));
        let slot = &mut fill[x.debtor as usize];
        creditors[*slot as usize] = (x.creditor, loss);
        *slot += 1;
    }
    let mut banks = Banks {
        capital: world.capital_k.iter().map(|k| dec(k * 1000, 0)).collect(),
        start,
        creditors,
        losses: vec![Decimal::ZERO; n],
        defaulted_at: vec![0; n],
        // At the first step every instance is pending.
        queued: vec![true; n],
        next: (0..n as u32).collect(),
        defaults: Vec::new(),
    };
    let mut list = Vec::new();
    for step in 1..=world.horizon {
        for &(at, bank) in &world.shocks {
            if at == step {
                banks.default(bank, step);
            }
        }
        loop {
            std::mem::swap(&mut list, &mut banks.next);
            list.sort_unstable();
            let mut fired = false;
            for &b in &list {
                let i = b as usize;
                banks.queued[i] = false;
                if banks.defaulted_at[i] == 0 && banks.losses[i] > banks.capital[i] {
                    banks.default(b, step);
                    fired = true;
                }
            }
            list.clear();
            if !fired {
                break;
            }
        }
    }
    InterbankResult {
        defaulted_at: banks.defaulted_at.iter().map(|&s| (s != 0).then_some(s)).collect(),
        losses: banks.losses,
        defaults: banks.defaults,
    }
}

// ---------------------------------------------------------------------------
// (b) Fire sale

/// The state of a fire-sale world at the end of the run.
#[derive(Clone, Debug)]
pub struct FireSaleResult {
    pub price: Decimal,
    pub units: Vec<Decimal>,
    pub debt: Vec<Decimal>,
    pub sold: Vec<Decimal>,
    pub defaulted_at: Vec<Option<u64>>,
    /// Every default as `(step, lessor)`, in the order they happened.
    pub defaults: Vec<(u64, u32)>,
    /// Rule firings in each step (index 0 is step 1): shocks, margin calls, defaults.
    pub firings: Vec<u64>,
}

// What an instance's condition read since it last changed.
const READ_DEFAULTED: u8 = 1;
const READ_DEBT: u8 = 2;
const READ_UNITS: u8 = 4;
const READ_PRICE: u8 = 8;

/// Instances: `margin_call` of lessor `l` is `l`, `insolvent` of `l` is `n + l`.
struct Market {
    n: usize,
    target: Decimal,
    impact: Decimal,
    price: Decimal,
    units: Vec<Decimal>,
    debt: Vec<Decimal>,
    max_ltv: Vec<Decimal>,
    sold: Vec<Decimal>,
    defaulted_at: Vec<u64>,
    // Per instance.
    armed: Vec<bool>,
    cond: Vec<bool>,
    dirty: Vec<bool>,
    queued: Vec<bool>,
    fired_step: Vec<u64>,
    reads: Vec<u8>,
    /// Instances that read the price since it last changed.
    price_readers: Vec<u32>,
    /// Pending instances of `margin_call` (0) and `insolvent` (1).
    pending: [Vec<u32>; 2],
    /// Instances that fired this step and were looked at again: next step's.
    carry: Vec<u32>,
    defaults: Vec<(u64, u32)>,
    firings: u64,
}

impl Market {
    fn notify(&mut self, inst: u32) {
        let i = inst as usize;
        self.dirty[i] = true;
        if !self.queued[i] {
            self.queued[i] = true;
            self.pending[i / self.n].push(inst);
        }
    }

    /// A field of lessor `l` changed: its two instances look again if they read it.
    fn lessor_changed(&mut self, l: usize, field: u8) {
        for inst in [l, self.n + l] {
            if self.reads[inst] & field != 0 {
                self.reads[inst] &= !field;
                self.notify(inst as u32);
            }
        }
    }

    fn price_changed(&mut self) {
        let mut readers = std::mem::take(&mut self.price_readers);
        for &inst in &readers {
            self.reads[inst as usize] &= !READ_PRICE;
            self.notify(inst);
        }
        readers.clear();
        self.price_readers = readers;
    }

    fn set_price(&mut self, price: Decimal) {
        if price != self.price {
            self.price = price;
            self.price_changed();
        }
    }

    /// Evaluates an instance's condition, noting what it read.
    fn evaluate(&mut self, inst: usize) -> bool {
        let l = inst % self.n;
        self.reads[inst] |= READ_DEFAULTED;
        let holds = if self.defaulted_at[l] != 0 {
            false
        } else {
            self.reads[inst] |= READ_DEBT | READ_UNITS;
            if self.reads[inst] & READ_PRICE == 0 {
                self.reads[inst] |= READ_PRICE;
                self.price_readers.push(inst as u32);
            }
            if inst < self.n {
                // margin_call: l.debt > l.max_ltv * (l.units * price)
                self.debt[l] > self.max_ltv[l] * (self.units[l] * self.price)
            } else {
                // insolvent: l.units * price < l.debt
                self.units[l] * self.price < self.debt[l]
            }
        };
        self.cond[inst] = holds;
        self.dirty[inst] = false;
        holds
    }

    fn fire(&mut self, inst: usize, step: u64) {
        self.fired_step[inst] = step;
        self.firings += 1;
        let l = inst % self.n;
        if inst < self.n {
            // l.sold = min(l.units, ceil((l.debt - target * l.units * price) / (price * (1 - target))))
            let (units, price) = (self.units[l], self.price);
            let need = ((self.debt[l] - self.target * units * price)
                / (price * (Decimal::ONE - self.target)))
                .ceil();
            let sold = units.min(need);
            if sold != self.sold[l] {
                self.sold[l] = sold;
            }
            let sold = self.sold[l];
            // l.units -= l.sold
            let units = self.units[l] - sold;
            if units != self.units[l] {
                self.units[l] = units;
                self.lessor_changed(l, READ_UNITS);
            }
            // l.debt -= l.sold * price
            let debt = self.debt[l] - sold * self.price;
            if debt != self.debt[l] {
                self.debt[l] = debt;
                self.lessor_changed(l, READ_DEBT);
            }
            // price = round(price * (1 - impact * l.sold), 6)
            let price = (self.price * (Decimal::ONE - self.impact * sold))
                .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
            self.set_price(price);
        } else if self.defaulted_at[l] == 0 {
            // default(l)
            self.defaulted_at[l] = step;
            self.defaults.push((step, l as u32));
            self.lessor_changed(l, READ_DEFAULTED);
        }
    }

    /// One rule's turn in a pass: its pending instances in entity order.
    fn run_rule(&mut self, rule: usize, step: u64, list: &mut Vec<u32>) -> bool {
        std::mem::swap(list, &mut self.pending[rule]);
        list.sort_unstable();
        let mut fired = false;
        for &inst in list.iter() {
            let i = inst as usize;
            self.queued[i] = false;
            if self.fired_step[i] == step {
                self.carry.push(inst);
                continue;
            }
            let cond = if self.dirty[i] { self.evaluate(i) } else { self.cond[i] };
            if cond && self.armed[i] {
                self.armed[i] = false;
                self.fire(i, step);
                fired = true;
            } else if !cond {
                self.armed[i] = true;
            }
        }
        list.clear();
        fired
    }
}

/// Runs the fire-sale scenario to its horizon.
pub fn run_fire_sale(world: &FireSale) -> FireSaleResult {
    let n = world.lessors.len();
    let mut m = Market {
        n,
        target: dec(world.target_pct, 2),
        impact: dec(world.impact_e15, 15),
        price: dec(world.price, 0),
        units: world.lessors.iter().map(|l| dec(l.units, 0)).collect(),
        debt: world.lessors.iter().map(|l| dec(l.debt, 0)).collect(),
        max_ltv: world.lessors.iter().map(|l| dec(l.max_ltv_pct, 2)).collect(),
        sold: vec![Decimal::ZERO; n],
        defaulted_at: vec![0; n],
        armed: vec![true; 2 * n],
        cond: vec![false; 2 * n],
        dirty: vec![true; 2 * n],
        // At the first step every instance is pending.
        queued: vec![true; 2 * n],
        fired_step: vec![0; 2 * n],
        reads: vec![0; 2 * n],
        price_readers: Vec::new(),
        pending: [(0..n as u32).collect(), (n as u32..2 * n as u32).collect()],
        carry: Vec::new(),
        defaults: Vec::new(),
        firings: 0,
    };
    let mut firings = Vec::with_capacity(world.horizon as usize);
    let mut list = Vec::new();
    for step in 1..=world.horizon {
        let before = m.firings;
        for inst in std::mem::take(&mut m.carry) {
            let i = inst as usize;
            if !m.queued[i] {
                m.queued[i] = true;
                m.pending[i / n].push(inst);
            }
        }
        for &(at, drop) in &world.shocks {
            if at == step {
                m.firings += 1;
                let price = m.price - dec(drop, 0);
                m.set_price(price);
            }
        }
        if n > 0 {
            loop {
                let margin = m.run_rule(0, step, &mut list);
                let insolvent = m.run_rule(1, step, &mut list);
                if !margin && !insolvent {
                    break;
                }
            }
        }
        firings.push(m.firings - before);
    }
    FireSaleResult {
        price: m.price,
        units: m.units,
        debt: m.debt,
        sold: m.sold,
        defaulted_at: m.defaulted_at.iter().map(|&s| (s != 0).then_some(s)).collect(),
        defaults: m.defaults,
        firings,
    }
}

//! Scenario generators for the benchmarks, the baseline test (`tests/baseline.rs`)
//! and `examples/gen.rs`.
//!
//! Each generator is a pure function of its size parameters and a seed: the same
//! arguments give the same scenario, byte for byte, on every machine (the random
//! numbers come from the small [`SplitMix64`] below, not from a crate whose stream
//! could change). A scenario is first built as plain data holding only integers, so
//! that the script text and the hand-written baseline (`baseline.rs`) read exactly
//! the same numbers; `script()` then renders it as a `.cascade` file.
//!
//! - [`interbank`]: sequential default through a random exposure network;
//! - [`fire_sale`]: lessors holding one asset, margin calls that force sales, sales
//!   that lower the price;
//! - [`quiet`]: a large world in which exactly one entity changes per step.
#![allow(dead_code)]

use std::fmt::Write;

/// The splitmix64 generator (Steele, Lea and Flood): tiny, fast and good enough to
/// draw benchmark worlds.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

// ---------------------------------------------------------------------------
// (a) Interbank sequential default

/// `creditor` is owed `amount_k` thousand by `debtor`, and recovers `recovery_pct`
/// percent of it if the debtor defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exposure {
    pub creditor: u32,
    pub debtor: u32,
    pub amount_k: u64,
    pub recovery_pct: u64,
}

/// An interbank network: bank `i` is the entity `b{i}`.
#[derive(Clone, Debug)]
pub struct Interbank {
    pub seed: u64,
    pub degree: usize,
    /// Each bank's capital, in thousands.
    pub capital_k: Vec<u64>,
    /// In declaration order; each bank lends to `degree` distinct other banks.
    pub exposures: Vec<Exposure>,
    /// `at STEP then default(bBANK)`, in declaration order.
    pub shocks: Vec<(u64, u32)>,
    pub horizon: u64,
}

/// `banks` banks, each lending to `degree` distinct random other banks (amounts
/// 100k to 5m, recovery 0% to 60%). A quarter of the banks are fragile: their
/// capital is 3% to 8% of what they would lose if every debtor defaulted, so one
/// default among their debtors usually takes them down; the others hold 40% to
/// 80%. The first shock defaults the bank that owes the most, shock `k >= 1` a
/// random bank; shock `k` comes at step `1 + 2k`, and the horizon leaves two quiet
/// steps after the last.
///
/// With 10 exposures per bank the first shock sets off a cascade through the
/// fragile banks that takes down roughly a quarter of the network within step 1,
/// at every size from a thousand banks up.
pub fn interbank(banks: usize, degree: usize, shocks: usize, seed: u64) -> Interbank {
    assert!(banks >= 2, "an interbank network needs at least 2 banks");
    let degree = degree.min(banks - 1);
    let mut rng = SplitMix64::new(seed ^ 0x1ba4_c0de);
    let mut exposures = Vec::with_capacity(banks * degree);
    let mut capital_k = Vec::with_capacity(banks);
    let mut debtors: Vec<u32> = Vec::with_capacity(degree);
    for creditor in 0..banks as u32 {
        debtors.clear();
        let mut book_k = 0u64;
        while debtors.len() < degree {
            let debtor = rng.below(banks as u64) as u32;
            if debtor == creditor || debtors.contains(&debtor) {
                continue;
            }
            debtors.push(debtor);
            let amount_k = rng.range(1, 50) * 100;
            let recovery_pct = rng.range(0, 12) * 5;
            book_k += amount_k * (100 - recovery_pct) / 100;
            exposures.push(Exposure { creditor, debtor, amount_k, recovery_pct });
        }
        let share_pct = if rng.below(4) == 0 { rng.range(3, 8) } else { rng.range(40, 80) };
        capital_k.push((book_k * share_pct / 100).max(1));
    }
    let mut owed_k = vec![0u64; banks];
    for x in &exposures {
        owed_k[x.debtor as usize] += x.amount_k;
    }
    let biggest = (0..banks).max_by_key(|&b| (owed_k[b], std::cmp::Reverse(b))).unwrap_or(0) as u32;
    let shock_list: Vec<(u64, u32)> = (0..shocks.max(1) as u64)
        .map(|k| (1 + 2 * k, if k == 0 { biggest } else { rng.below(banks as u64) as u32 }))
        .collect();
    let horizon = shock_list.last().map_or(1, |s| s.0) + 2;
    Interbank { seed, degree, capital_k, exposures, shocks: shock_list, horizon }
}

impl Interbank {
    pub fn banks(&self) -> usize {
        self.capital_k.len()
    }

    pub fn script(&self) -> String {
        let n = self.banks();
        let mut s = String::with_capacity(64 + n * 40 + self.exposures.len() * 48);
        let _ = writeln!(
            s,
            "# Interbank sequential default: {n} banks, {} exposures each, seed {}.",
            self.degree, self.seed
        );
        let _ = writeln!(
            s,
            "# Generated: cargo run --release --example gen -- interbank --banks {n} --degree {} --shocks {} --seed {}",
            self.degree,
            self.shocks.len(),
            self.seed
        );
        let _ = writeln!(
            s,
            "scenario \"interbank {n}x{} seed {}\" {{ horizon = {} }}\n",
            self.degree, self.seed, self.horizon
        );
        s.push_str("kind Bank {\n  capital = 0\n  let losses = exposure_losses(self)\n}\n\n");
        for (i, capital) in self.capital_k.iter().enumerate() {
            let _ = writeln!(s, "entity b{i}: Bank {{ capital = {capital}k }}");
        }
        s.push('\n');
        for x in &self.exposures {
            let _ = writeln!(
                s,
                "exposure b{} -> b{} = {}k, recovery {}%",
                x.creditor, x.debtor, x.amount_k, x.recovery_pct
            );
        }
        s.push_str("\nrule contagion \"losses above capital\":\n");
        s.push_str("  for b: Bank when not b.defaulted and b.losses > b.capital then default(b)\n\n");
        for (step, bank) in &self.shocks {
            let _ = writeln!(s, "at {step} then default(b{bank})");
        }
        s
    }
}

impl Interbank {
    /// The same network as a script that loads its banks and exposures from CSV
    /// files (`banks.csv`: `name,capital`; `exposures.csv`:
    /// `creditor,debtor,amount,recovery`), with those two files' text.
    pub fn csv(&self) -> (String, String, String) {
        let n = self.banks();
        let mut script = String::new();
        let _ = writeln!(
            script,
            "# Interbank sequential default: {n} banks, {} exposures each, seed {}, from CSV files.",
            self.degree, self.seed
        );
        let _ = writeln!(
            script,
            "scenario \"interbank {n}x{} seed {}\" {{ horizon = {} }}\n",
            self.degree, self.seed, self.horizon
        );
        script.push_str("kind Bank {\n  capital = 0\n  let losses = exposure_losses(self)\n}\n\n");
        script.push_str("entities Bank from \"banks.csv\"\nexposures from \"exposures.csv\"\n");
        script.push_str("\nrule contagion \"losses above capital\":\n");
        script.push_str("  for b: Bank when not b.defaulted and b.losses > b.capital then default(b)\n\n");
        for (step, bank) in &self.shocks {
            let _ = writeln!(script, "at {step} then default(b{bank})");
        }
        let mut banks = String::with_capacity(16 + n * 16);
        banks.push_str("name,capital\n");
        for (i, capital) in self.capital_k.iter().enumerate() {
            let _ = writeln!(banks, "b{i},{capital}k");
        }
        let mut exposures = String::with_capacity(32 + self.exposures.len() * 24);
        exposures.push_str("creditor,debtor,amount,recovery\n");
        for x in &self.exposures {
            let _ = writeln!(exposures, "b{},b{},{}k,{}%", x.creditor, x.debtor, x.amount_k, x.recovery_pct);
        }
        (script, banks, exposures)
    }
}

// ---------------------------------------------------------------------------
// (b) Fire sale

/// One lessor: `l{i}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lessor {
    pub units: u64,
    pub debt: u64,
    pub max_ltv_pct: u64,
}

/// Lessors holding one asset whose price falls with forced sales.
#[derive(Clone, Debug)]
pub struct FireSale {
    pub seed: u64,
    pub lessors: Vec<Lessor>,
    /// The asset's price at the start.
    pub price: u64,
    /// A margin call sells down to this loan-to-value, in percent.
    pub target_pct: u64,
    /// Each unit sold lowers the price by this fraction, in units of 10^-15.
    pub impact_e15: u64,
    /// `at STEP then price -= DROP`, in declaration order.
    pub shocks: Vec<(u64, u64)>,
    pub horizon: u64,
}

/// The fraction of the price that selling every unit in the market would take off
/// (compounded over the sales, so the price never reaches zero): 70%.
const MARKET_IMPACT_E15: u64 = 700_000_000_000_000;

/// `lessors` lessors with 1k to 100k units each at price 100, loans at 30% to 79%
/// of their collateral, and a margin clause at 75% to 85%. Shock `k` (0-based)
/// lowers the price by 8 at step `1 + 3k`; the horizon is 4 steps past the last
/// shock. The price impact is scaled to the size of the market, so worlds of every
/// size behave alike.
pub fn fire_sale(lessors: usize, shocks: usize, seed: u64) -> FireSale {
    let mut rng = SplitMix64::new(seed ^ 0xf12e_5a1e);
    let price = 100;
    let mut list = Vec::with_capacity(lessors);
    let mut total_units = 0u64;
    for _ in 0..lessors {
        let units = rng.range(1, 100) * 1000;
        let ltv_pct = rng.range(30, 79);
        let debt = units * price * ltv_pct / 100;
        let max_ltv_pct = rng.range(75, 85);
        total_units += units;
        list.push(Lessor { units, debt, max_ltv_pct });
    }
    let impact_e15 = (MARKET_IMPACT_E15 / total_units.max(1)).max(1);
    let shock_list = (0..shocks.max(1)).map(|k| (1 + 3 * k as u64, 8)).collect::<Vec<_>>();
    let horizon = shock_list.last().map_or(1, |s| s.0) + 4;
    FireSale { seed, lessors: list, price, target_pct: 60, impact_e15, shocks: shock_list, horizon }
}

impl FireSale {
    pub fn script(&self) -> String {
        let n = self.lessors.len();
        let mut s = String::with_capacity(1024 + n * 64);
        let _ = writeln!(s, "# Fire sale: {n} lessors of one asset, seed {}.", self.seed);
        let _ = writeln!(
            s,
            "# Generated: cargo run --release --example gen -- fire-sale --lessors {n} --shocks {} --seed {}",
            self.shocks.len(),
            self.seed
        );
        let _ =
            writeln!(s, "scenario \"fire sale {n} seed {}\" {{ horizon = {} }}\n", self.seed, self.horizon);
        let _ = writeln!(
            s,
            "param target = {}%        # a margin call sells down to this loan-to-value",
            self.target_pct
        );
        let _ = writeln!(
            s,
            "param impact = 0.{:015}   # each unit sold lowers the price by this fraction",
            self.impact_e15
        );
        let _ = writeln!(s, "var price = {}\n", self.price);
        s.push_str("kind Lessor {\n  units = 0\n  debt = 0\n  max_ltv = 80%\n  sold = 0\n}\n\n");
        for (i, l) in self.lessors.iter().enumerate() {
            let _ = writeln!(
                s,
                "entity l{i}: Lessor {{ units = {}, debt = {}, max_ltv = {}% }}",
                l.units, l.debt, l.max_ltv_pct
            );
        }
        s.push_str(
            "
rule margin_call \"loan-to-value above the clause: sell down to the target\" priority 10:
  for l: Lessor when not l.defaulted and l.debt > l.max_ltv * (l.units * price) {
    l.sold = min(l.units, ceil((l.debt - target * l.units * price) / (price * (1 - target))))
    l.units -= l.sold
    l.debt -= l.sold * price
    price = round(price * (1 - impact * l.sold), 6)
  }

rule insolvent \"collateral worth less than the debt\":
  for l: Lessor when not l.defaulted and l.units * price < l.debt then default(l)

",
        );
        for (step, drop) in &self.shocks {
            let _ = writeln!(s, "at {step} then price -= {drop}");
        }
        s
    }
}

// ---------------------------------------------------------------------------
// (c) Quiet world

/// A world of `entities` cells, each with its own instance of a rule that reads
/// only that cell, and one `while true` rule that ticks a single cell per step. So
/// exactly one cell changes per step (and, every few steps, resets): a step's work
/// does not depend on the size of the world.
pub fn quiet(entities: usize, horizon: u64, seed: u64) -> String {
    let entities = entities.max(1);
    let mut rng = SplitMix64::new(seed ^ 0x91e7);
    let hot = rng.below(entities as u64);
    let mut s = String::with_capacity(512 + entities * 48);
    let _ =
        writeln!(s, "# Quiet world: {entities} cells, one of which (c{hot}) changes per step; seed {seed}.");
    let _ = writeln!(
        s,
        "# Generated: cargo run --release --example gen -- quiet --entities {entities} --seed {seed}"
    );
    let _ = writeln!(s, "scenario \"quiet {entities} seed {seed}\" {{ horizon = {horizon} }}\n");
    s.push_str("kind Cell {\n  value = 0\n  limit = 10\n  resets = 0\n}\n\n");
    for i in 0..entities {
        let limit = rng.range(5, 50);
        let value = rng.below(limit);
        let _ = writeln!(s, "entity c{i}: Cell {{ value = {value}, limit = {limit} }}");
    }
    s.push_str(
        "
rule reset \"a cell that reaches its limit starts again\":
  for c: Cell when c.value >= c.limit {
    c.value = 0
    c.resets += 1
  }

",
    );
    let _ = writeln!(s, "rule tick \"the one thing that changes\": while true then c{hot}.value += 1");
    s
}

// ---------------------------------------------------------------------------
// (d) Eisenberg–Noe clearing

/// A clearing network of `banks` banks, each owing `degree` others (distinct,
/// random) 10 to 100, with 0 to 60 of cash outside the network; the clearing
/// rules of `examples/clearing.cascade`, one sweep of the fixed-point iteration
/// per step after the first. With `nested`, a bank's inflow is written without
/// fields through exposures, as a sum over every bank of what it owes this one
/// (the O(banks²) formula that scripts needed before `x.debtor.pay`).
pub fn clearing(banks: usize, degree: usize, horizon: u64, seed: u64, nested: bool) -> String {
    let banks = banks.max(2);
    let degree = degree.clamp(1, banks - 1);
    let mut rng = SplitMix64::new(seed ^ 0xc1ea);
    let mut s = String::with_capacity(1024 + banks * (48 + degree * 32));
    let _ = writeln!(s, "# Eisenberg–Noe clearing: {banks} banks owing {degree} others each; seed {seed}.");
    let _ = writeln!(
        s,
        "# Generated: cargo run --release --example gen -- clearing --banks {banks} --degree {degree} --seed {seed}{}",
        if nested { " --nested" } else { "" }
    );
    let _ = writeln!(s, "scenario \"clearing {banks} seed {seed}\" {{ horizon = {horizon} }}\n");
    let inflow = if nested {
        "sum(sum(x.amount for x in exposures_of(self) where x.debtor == j) * j.pay / j.debt for j in Bank where j.debt > 0)"
    } else {
        "sum(x.amount * x.debtor.pay / x.debtor.debt for x in exposures_of(self))"
    };
    let _ = writeln!(
        s,
        "kind Bank {{\n  cash = 0\n  pay = 0\n  let debt = sum(x.amount for x in exposures_to(self))\n  let inflow = {inflow}\n  let can_pay = min(debt, cash + inflow)\n}}\n"
    );
    for i in 0..banks {
        let _ = writeln!(s, "entity b{i}: Bank {{ cash = {} }}", rng.range(0, 60));
    }
    for debtor in 0..banks {
        let mut creditors: Vec<usize> = Vec::with_capacity(degree);
        while creditors.len() < degree {
            let c = rng.below(banks as u64) as usize;
            if c != debtor && !creditors.contains(&c) {
                creditors.push(c);
            }
        }
        for c in creditors {
            let _ = writeln!(s, "exposure b{c} -> b{debtor} = {}", rng.range(10, 100));
        }
    }
    s.push_str(
        "
rule start priority 1: for k: Bank at 1 then k.pay = k.debt
rule sweep: for k: Bank where step > 1 while k.pay != k.can_pay then k.pay = k.can_pay
let defaults = count(k for k in Bank where k.pay < k.debt)
",
    );
    s
}

//! The make-up of exposure losses: which counterparties had defaulted, and
//! what each default cost.

use rust_decimal::Decimal;

use super::Loss;
use super::chain::{Explainer, Shown, leaf};
use super::{Cause, CauseKind};
use crate::value::{Value, exact, human};

/// At most this many items of a make-up are shown one by one; the rest are summed.
const MAX_ITEMS: usize = 5;

/// Which exposures of an entity a make-up is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// `exposure_losses(e)`: its exposures as creditor, losses on defaulted debtors.
    Losses,
    /// An aggregate over `exposures_of(e)`: the same exposures.
    Of,
    /// An aggregate over `exposures_to(e)`: its exposures as debtor, to defaulted creditors.
    To,
}

/// One defaulted counterparty.
pub(super) struct Item {
    exposure: u32,
    counterparty: u32,
    /// The change that set its `defaulted` flag.
    change: usize,
    step: u64,
    amount: Decimal,
    recovery: Decimal,
    loss: Decimal,
}

impl Explainer<'_> {
    /// The defaulted counterparties of entity `e` among the first `before`
    /// changes, largest loss first, and the total loss (`None` on overflow).
    pub fn loss_items(&self, e: u32, side: Side, before: usize) -> Option<(Vec<Item>, Decimal)> {
        let ir = self.ir;
        let m = &self.run.machine;
        let list = if side == Side::To { ir.as_debtor.of(e) } else { ir.as_creditor.of(e) };
        let mut items = Vec::new();
        let mut total = Decimal::ZERO;
        for &x in list {
            let exposure = &ir.exposures[x as usize];
            let counterparty = if side == Side::To { exposure.creditor } else { exposure.debtor };
            let flag = ir.defaulted_slot(counterparty);
            // The flag is set once, by the default.
            let Some(&change) = self.by_slot.get(&flag).and_then(|list| list.first()) else { continue };
            if change >= before || m.log.changes[change].to != Value::Bool(true) {
                continue;
            }
            let (amount, recovery) = m.st.exposure(ir, x);
            let loss = Decimal::ONE.checked_sub(recovery).and_then(|share| amount.checked_mul(share))?;
            total = total.checked_add(loss)?;
            items.push(Item {
                exposure: x,
                counterparty,
                change,
                step: m.log.changes[change].step,
                amount,
                recovery,
                loss,
            });
        }
        // Largest first; ties in the order of the exposures (a stable sort).
        items.sort_by_key(|i| std::cmp::Reverse(i.loss));
        Some((items, total))
    }

    /// A node for the make-up of `e`'s exposure losses (or of an aggregate over
    /// its exposures) before change number `before`.
    pub fn losses(&mut self, e: u32, side: Side, before: usize, depth: usize) -> Cause {
        let ir = self.ir;
        let name = &ir.entities[e as usize].name;
        let id = self.id();
        let Some((items, total)) = self.loss_items(e, side, before) else {
            return leaf(id, CauseKind::Losses, format!("the losses of {name} overflow"));
        };
        let (head, who) = match side {
            Side::Losses => (format!("exposure_losses({name}) is {}", human(total)), "debtor"),
            Side::Of => (format!("exposures_of({name}): losses {}", human(total)), "debtor"),
            Side::To => (format!("exposures_to({name}): losses {}", human(total)), "creditor"),
        };
        let plural = if items.len() == 1 { "" } else { "s" };
        let text = if items.is_empty() {
            format!("{head}: none of its {who}s had defaulted")
        } else {
            format!("{head}: {} defaulted {who}{plural}", items.len())
        };
        let key = Shown::Losses(e, items.iter().map(|i| i.change).max().unwrap_or(0));
        if let Some(&seen) = self.shown.get(&key)
            && !items.is_empty()
        {
            return Cause {
                see: Some(seen),
                value: Some(number(total)),
                ..leaf(id, CauseKind::Losses, text)
            };
        }
        self.shown.insert(key, id);
        let mut causes = Vec::new();
        for item in items.iter().take(MAX_ITEMS) {
            causes.push(self.loss(item, depth));
        }
        if items.len() > MAX_ITEMS {
            let rest = &items[MAX_ITEMS..];
            let sum =
                rest.iter().try_fold(Decimal::ZERO, |s, i| s.checked_add(i.loss)).unwrap_or(Decimal::MAX);
            let first = rest.iter().map(|i| i.step).min().unwrap_or(0);
            let last = rest.iter().map(|i| i.step).max().unwrap_or(0);
            let id = self.id();
            let steps =
                if first == last { format!("at step {first}") } else { format!("at steps {first}–{last}") };
            let text = format!("and {} more defaulted {who}s ({steps}): {} in total", rest.len(), human(sum));
            causes.push(Cause {
                count: Some(rest.len()),
                steps: Some((first, last)),
                value: Some(number(sum)),
                ..leaf(id, CauseKind::Rest, text)
            });
        }
        Cause { value: Some(number(total)), causes, ..leaf(id, CauseKind::Losses, text) }
    }

    /// One counterparty's default: the loss line, and the firing that defaulted it.
    fn loss(&mut self, item: &Item, depth: usize) -> Cause {
        let ir = self.ir;
        let who = &ir.entities[item.counterparty as usize].name;
        let percent =
            item.recovery.checked_mul(Decimal::ONE_HUNDRED).map_or_else(|| exact(item.recovery), human);
        let line = format!(
            "{who} defaulted at {}: {} × (1 − {percent}%) = {}",
            self.at(item.step),
            human(item.amount),
            human(item.loss)
        );
        let exposure = &ir.exposures[item.exposure as usize];
        let loss = Loss {
            debtor: ir.entities[exposure.debtor as usize].name.clone(),
            creditor: ir.entities[exposure.creditor as usize].name.clone(),
            defaulted_at: item.step,
            amount: exact(item.amount),
            recovery: exact(item.recovery),
            loss: exact(item.loss),
        };
        let change = &self.run.machine.log.changes[item.change];
        let firing = change.cause;
        let shown = self.shown.get(&Shown::Change(item.change)).copied();
        let mut cause = match shown {
            Some(seen) => {
                let id = self.id();
                Cause { see: Some(seen), ..leaf(id, CauseKind::Loss, line.clone()) }
            }
            None if firing != crate::eval::BY_HAND => {
                let mut cause = self.firing(firing, depth);
                self.shown.insert(Shown::Change(item.change), cause.id);
                let scheduled = match cause.step {
                    Some(fired) if change.delayed => format!(", scheduled at {}", self.at(fired)),
                    _ => String::new(),
                };
                cause.text = format!("{line}, {}{scheduled}", cause.text);
                cause.kind = CauseKind::Loss;
                cause
            }
            None => {
                let id = self.id();
                leaf(id, CauseKind::Loss, line.clone())
            }
        };
        cause.step = Some(item.step);
        cause.date = self.when(item.step);
        cause.value = Some(number(item.loss));
        cause.loss = Some(loss);
        cause
    }
}

fn number(n: Decimal) -> serde_json::Value {
    serde_json::Value::String(exact(n))
}

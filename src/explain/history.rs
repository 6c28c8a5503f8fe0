//! Build-ups: a stored value written many times is explained by its history
//! summarised, not by its last write alone.
//!
//! The history starts at the value's initial value, or at the last `=` (or
//! `default`, or a value set by hand) that reset it: what came before a reset
//! no longer counts. It is grouped by rule (each rule's total change, with the
//! steps it wrote in and how often), and the writes that changed the value the
//! most are explained one by one, so that one large write among many small
//! ones is named.

use rust_decimal::Decimal;

use super::chain::{Explainer, Shown, leaf};
use super::{Cause, CauseKind};
use crate::eval::BY_HAND;
use crate::eval::display_value;
use crate::names::slot_name;
use crate::report::json_value;
use crate::value::{Value, exact, human};

/// A value written at least this many times since its start is summarised.
const BUILD_UP_MIN: usize = 4;
/// Rules shown one by one in a summary; the rest are summed.
const MAX_RULES: usize = 5;
/// At most this many single writes are explained in a summary.
const MAX_LARGEST: usize = 3;

struct Share {
    /// The rule, or `BY_HAND`.
    rule: u32,
    total: Decimal,
    count: usize,
    first: u64,
    last: u64,
}

impl Explainer<'_> {
    /// Why `slot` holds the value change number `index` gave it: that change,
    /// or a summary when the value was built up by many writes.
    pub fn slot_value(&mut self, slot: u32, index: usize, depth: usize) -> Cause {
        let ir = self.ir;
        let log = &self.run.machine.log;
        let changes = &log.changes;
        let history: Vec<usize> = match self.by_slot.get(&slot) {
            Some(list) => list[..list.partition_point(|&i| i <= index)].to_vec(),
            None => Vec::new(),
        };
        let reset = history.iter().rposition(|&i| changes[i].set);
        let writes = &history[reset.map_or(0, |r| r + 1)..];
        let numeric =
            |i: &usize| matches!((&changes[*i].from, &changes[*i].to), (Value::Number(_), Value::Number(_)));
        if writes.len() < BUILD_UP_MIN || !writes.iter().all(numeric) {
            return self.change(index, depth);
        }
        let id = self.id();
        let name = slot_name(ir, slot);
        let change = &changes[index];
        let (start_value, since) = match reset {
            Some(r) => {
                let c = &changes[history[r]];
                (c.to.clone(), format!("it was set to {} at {}", display_value(ir, &c.to), self.at(c.step)))
            }
            None => {
                let v = self.run.machine.initial[slot as usize].clone();
                let text = format!("its initial value {}", display_value(ir, &v));
                (v, text)
            }
        };
        let text = format!(
            "{name} is {} at {}: built up by {} changes since {since}",
            display_value(ir, &change.to),
            self.at(change.step),
            writes.len()
        );
        if let Some(&seen) = self.shown.get(&Shown::BuildUp(index)) {
            return Cause { see: Some(seen), step: Some(change.step), ..leaf(id, CauseKind::BuildUp, text) };
        }
        self.shown.insert(Shown::BuildUp(index), id);
        // Each rule's share, in the order of its first write.
        let mut shares: Vec<Share> = Vec::new();
        let mut deltas: Vec<(Decimal, usize)> = Vec::new();
        for &i in writes {
            let c = &changes[i];
            let (Value::Number(from), Value::Number(to)) = (&c.from, &c.to) else { continue };
            let delta = to.checked_sub(*from).unwrap_or(Decimal::ZERO);
            deltas.push((delta, i));
            let rule = log.firings.get(c.cause as usize).map_or(BY_HAND, |f| f.rule);
            match shares.iter_mut().find(|s| s.rule == rule) {
                Some(s) => {
                    s.total = s.total.checked_add(delta).unwrap_or(s.total);
                    s.count += 1;
                    s.last = c.step;
                }
                None => shares.push(Share { rule, total: delta, count: 1, first: c.step, last: c.step }),
            }
        }
        shares.sort_by_key(|s| std::cmp::Reverse(s.total.abs()));
        let mut causes = Vec::new();
        causes.push(match reset {
            Some(r) => {
                let mut cause = self.change(history[r], depth);
                cause.kind = CauseKind::Start;
                cause
            }
            None => {
                let start = self.id();
                Cause {
                    value: Some(json_value(ir, &start_value)),
                    ..leaf(start, CauseKind::Start, since.clone())
                }
            }
        });
        for share in shares.iter().take(MAX_RULES) {
            let id = self.id();
            let who = if share.rule == BY_HAND {
                String::from("set by hand")
            } else {
                format!("by rule {}", ir.rules[share.rule as usize].label)
            };
            let steps = if share.first == share.last {
                format!("at step {}", share.first)
            } else {
                format!("steps {}–{}", share.first, share.last)
            };
            let plural = if share.count == 1 { "" } else { "s" };
            let text = format!("{} {who}: {} change{plural}, {steps}", signed(share.total), share.count);
            causes.push(Cause {
                value: Some(serde_json::Value::String(exact(share.total))),
                count: Some(share.count),
                steps: Some((share.first, share.last)),
                ..leaf(id, CauseKind::Contribution, text)
            });
        }
        if shares.len() > MAX_RULES {
            let rest = &shares[MAX_RULES..];
            let total = rest.iter().fold(Decimal::ZERO, |t, s| t.checked_add(s.total).unwrap_or(t));
            let count: usize = rest.iter().map(|s| s.count).sum();
            let id = self.id();
            let text = format!("{} by {} other rules: {count} changes", signed(total), rest.len());
            causes.push(Cause {
                value: Some(serde_json::Value::String(exact(total))),
                count: Some(count),
                ..leaf(id, CauseKind::Rest, text)
            });
        }
        // The single writes that stand out (at least twice the median change),
        // largest first, shown in the order they happened.
        let mut sizes: Vec<Decimal> = deltas.iter().map(|(d, _)| d.abs()).collect();
        sizes.sort();
        let median = sizes.get(sizes.len() / 2).copied().unwrap_or(Decimal::ZERO);
        let bar = median.checked_mul(Decimal::TWO).unwrap_or(Decimal::MAX);
        deltas.sort_by_key(|(d, _)| std::cmp::Reverse(d.abs()));
        let mut largest: Vec<(Decimal, usize)> =
            deltas.into_iter().filter(|(d, _)| d.abs() >= bar && !d.is_zero()).take(MAX_LARGEST).collect();
        largest.sort_by_key(|(_, i)| *i);
        for (delta, i) in largest {
            if self.exhausted() {
                break;
            }
            let mut cause = self.change(i, depth);
            cause.text = format!("{}: {}", signed(delta), cause.text);
            causes.push(cause);
        }
        Cause {
            step: Some(change.step),
            date: self.when(change.step),
            value: Some(json_value(ir, &change.to)),
            count: Some(writes.len()),
            causes,
            ..leaf(id, CauseKind::BuildUp, text)
        }
    }
}

/// `+65.7m`, `−2bn`.
fn signed(n: Decimal) -> String {
    if n.is_sign_negative() && !n.is_zero() { format!("−{}", human(-n)) } else { format!("+{}", human(n)) }
}

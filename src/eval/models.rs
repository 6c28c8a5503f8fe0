//! The standard models in a run: reading their inputs, checking them, and
//! reading their results.
//!
//! A model is cached in a derived cell of its own (`ModelDef::cell`). Computing
//! it reads the model's fields of every entity of its kind through the usual
//! cells, with the model's cell as the consumer, so a change of any input drops
//! the cache (and, through it, every value computed from a result). Reading a
//! result (`clearing_payment(e)`) reads the model's cell, computing it first if
//! needed, then looks the entity up in the results kept in `State::models`.

use rust_decimal::Decimal;

use crate::builtins::ModelOutput;
use crate::codes;
use crate::ir::*;
use crate::models::clearing::{self, Claim, Clearing, ClearingError, Method};
use crate::models::debtrank::{self, DebtRank, DebtRankError, Variant};
use crate::source::Span;
use crate::value::{Value, human};

use super::expr::{Eval, Evaluator, Fault, out_of_fuel, overflow};

/// Updates a clearing may spend per exposure and bank before it counts as not settling.
pub(crate) const UPDATES_PER_LINK: u64 = 10_000;

/// The results of a model, as last computed.
#[derive(Clone, Debug)]
pub(crate) struct ModelResult {
    /// Each entity's position among the kind's entities (`u32::MAX`: not of the kind).
    position: Vec<u32>,
    outcome: Outcome,
}

#[derive(Clone, Debug)]
enum Outcome {
    Clearing(Clearing),
    DebtRank(DebtRank),
}

impl Evaluator<'_> {
    /// The model cached in derived cell `d`, if `d` is a model's cell.
    pub(super) fn model_of_cell(&self, d: u32) -> Option<u32> {
        let first = self.ir.models.first()?.cell;
        (d >= first).then(|| d - first).filter(|m| (*m as usize) < self.ir.models.len())
    }

    /// Computes model `m` (its cell is the consumer now computing) and keeps the results.
    pub(super) fn compute_model(&mut self, m: u32, span: Span) -> Eval<Value> {
        let ir = self.ir;
        let def = &ir.models[m as usize];
        let members = &ir.kinds[def.kind as usize].entities;
        let mut position = vec![u32::MAX; ir.entities.len()];
        for (i, &e) in members.iter().enumerate() {
            position[e as usize] = i as u32;
        }
        let fields = def.spec.fields();
        let mut inputs: Vec<Vec<Decimal>> = vec![Vec::with_capacity(members.len()); fields.len()];
        for &e in members {
            for (column, field) in inputs.iter_mut().zip(fields) {
                let value = match self.field(e, *field, span)? {
                    Value::Number(n) => n,
                    _ => {
                        return Err(self.bad_input(
                            def,
                            e,
                            "has no number in a field the model reads".into(),
                        ));
                    }
                };
                column.push(value);
            }
        }
        let mut claims = Vec::new();
        for (i, &e) in members.iter().enumerate() {
            for &x in ir.as_creditor.of(e) {
                let debtor = position[ir.exposures[x as usize].debtor as usize];
                if debtor == u32::MAX {
                    continue;
                }
                let (amount, _) = self.st.exposure(ir, x);
                if amount.is_sign_negative() && !amount.is_zero() {
                    let name = &ir.entities[ir.exposures[x as usize].debtor as usize].name;
                    return Err(self.bad_input(
                        def,
                        e,
                        format!("has a negative exposure to `{name}` ({})", human(amount)),
                    ));
                }
                claims.push(Claim { creditor: i as u32, debtor, amount });
            }
        }
        let outcome = match &def.spec {
            ModelSpec::Clearing { method, .. } => {
                for (column, what) in inputs.iter().zip(["external assets", "external liabilities"]) {
                    if let Some(i) = column.iter().position(|v| v.is_sign_negative() && !v.is_zero()) {
                        let message = format!("has negative {what} ({})", human(column[i]));
                        return Err(self.bad_input(def, members[i], message));
                    }
                }
                let method = match method {
                    ClearingIr::EisenbergNoe { senior } => Method::EisenbergNoe { senior: *senior },
                    ClearingIr::RogersVeraart { alpha, beta } => Method::RogersVeraart {
                        alpha: self.rate(alpha, "alpha")?,
                        beta: self.rate(beta, "beta")?,
                    },
                };
                let (limit, budget) = update_budget(claims.len(), members.len(), self.st.fuel);
                match clearing::clear(&inputs[0], &inputs[1], &claims, method, budget) {
                    Ok(c) => {
                        self.spend(c.work, span)?;
                        Outcome::Clearing(c)
                    }
                    Err(ClearingError::Overflow) => return Err(overflow(def.span, "computing the clearing")),
                    Err(ClearingError::NotSettled(_)) if budget < limit => return Err(out_of_fuel(span)),
                    Err(ClearingError::NotSettled(banks)) => {
                        return Err(not_settled(
                            ir,
                            def,
                            members,
                            &banks,
                            limit,
                            "the clearing did not settle",
                            "payments that keep falling by tiny amounts come from cycles of banks owing each other almost all they hold; check the exposures of the banks named",
                        ));
                    }
                }
            }
            ModelSpec::DebtRank { differential, .. } => {
                let [equity, shock, value] = [&inputs[0], &inputs[1], &inputs[2]];
                if let Some(i) = shock.iter().position(|s| *s < Decimal::ZERO || *s > Decimal::ONE) {
                    let message = format!("has a shock of {}, outside 0 to 1", human(shock[i]));
                    return Err(self.bad_input(def, members[i], message));
                }
                if let Some(i) = value.iter().position(|v| v.is_sign_negative() && !v.is_zero()) {
                    let message = format!("has a negative value ({})", human(value[i]));
                    return Err(self.bad_input(def, members[i], message));
                }
                let variant = if *differential { Variant::Differential } else { Variant::Original };
                let (limit, budget) = update_budget(claims.len(), members.len(), self.st.fuel);
                match debtrank::debtrank(equity, value, shock, &claims, variant, budget) {
                    Ok(r) => {
                        self.spend(r.work, span)?;
                        Outcome::DebtRank(r)
                    }
                    Err(DebtRankError::Overflow) => return Err(overflow(def.span, "computing DebtRank")),
                    Err(DebtRankError::NotSettled(_)) if budget < limit => return Err(out_of_fuel(span)),
                    Err(DebtRankError::NotSettled(banks)) => {
                        return Err(not_settled(
                            ir,
                            def,
                            members,
                            &banks,
                            limit,
                            "DebtRank did not settle",
                            "distress that keeps rising by tiny amounts comes from cycles of banks holding nearly their equity in each other's debts; check the exposures of the banks named",
                        ));
                    }
                }
            }
        };
        let slot = m as usize;
        if self.st.models.len() <= slot {
            self.st.models.resize(ir.models.len(), None);
        }
        self.st.models[slot] = Some(ModelResult { position, outcome });
        Ok(Value::Bool(true))
    }

    /// A result of model `m`: of `entity`, or of the whole kind.
    pub(super) fn model_read(
        &mut self,
        m: u32,
        output: ModelOutput,
        entity: Option<u32>,
        span: Span,
    ) -> Eval<Value> {
        let cell = self.ir.models.get(m as usize).map(|d| d.cell).ok_or_else(|| internal(span))?;
        self.derived(cell, span)?;
        let result = self.st.models.get(m as usize).and_then(Option::as_ref).ok_or_else(|| internal(span))?;
        let at = match entity {
            Some(e) => match result.position.get(e as usize) {
                Some(&i) if i != u32::MAX => i as usize,
                _ => return Err(internal(span)),
            },
            None => 0,
        };
        Ok(match (&result.outcome, output) {
            (Outcome::Clearing(c), ModelOutput::Payment) => Value::Number(c.payment[at]),
            (Outcome::Clearing(c), ModelOutput::Defaulted) => Value::Bool(c.round[at].is_some()),
            (Outcome::Clearing(c), ModelOutput::Round) => {
                c.round[at].map_or(Value::None, |r| Value::Number(Decimal::from(r)))
            }
            (Outcome::Clearing(c), ModelOutput::Shortfall) => Value::Number(c.shortfall[at]),
            (Outcome::DebtRank(r), ModelOutput::Distress) => Value::Number(r.distress[at]),
            (Outcome::DebtRank(r), ModelOutput::DebtRank) => Value::Number(r.debtrank),
            _ => return Err(internal(span)),
        })
    }

    fn rate(&mut self, (root, span): &(Root, Span), name: &str) -> Eval<Decimal> {
        let mut frame = self.st.take_frame(root.locals as usize);
        let value = self.eval(&root.node, &mut frame);
        self.st.give_frame(frame);
        match value? {
            Value::Number(n) if (Decimal::ZERO..=Decimal::ONE).contains(&n) => Ok(n),
            Value::Number(n) => Err(Fault::new(
                codes::run::bad_model_input,
                format!("`{name}` is {}, outside 0 to 1", human(n)),
                *span,
                "a fraction from 0 to 1",
            )),
            _ => Err(internal(*span)),
        }
    }

    fn spend(&mut self, work: u64, span: Span) -> Eval<()> {
        if work > self.st.fuel {
            return Err(out_of_fuel(span));
        }
        self.st.fuel -= work;
        Ok(())
    }

    fn bad_input(&self, def: &ModelDef, entity: u32, what: String) -> Fault {
        let e = &self.ir.entities[entity as usize];
        let (span, label) =
            if e.span == Span::default() { (def.span, "in this model") } else { (e.span, "this entity") };
        Fault::new(codes::run::bad_model_input, format!("`{}` {what}", e.name), span, label)
            .help(match def.spec {
                ModelSpec::Clearing { .. } => "a clearing needs external assets and liabilities of 0 or more, and exposures of 0 or more",
                ModelSpec::DebtRank { .. } => "DebtRank needs shocks from 0 to 1 (a fraction of equity lost), and values and exposures of 0 or more",
            })
    }
}

/// The run-time error of a model that did not settle within `limit` updates.
fn not_settled(
    ir: &Ir,
    def: &ModelDef,
    members: &[u32],
    banks: &[u32],
    limit: u64,
    what: &str,
    help: &'static str,
) -> Fault {
    let names: Vec<String> = banks
        .iter()
        .take(10)
        .map(|&i| format!("`{}`", ir.entities[members[i as usize] as usize].name))
        .collect();
    let more = if banks.len() > 10 { format!(" and {} more", banks.len() - 10) } else { String::new() };
    Fault::new(
        codes::run::not_settled,
        format!("{what} in {limit} updates: still changing: {}{more}", names.join(", ")),
        def.span,
        if what.starts_with("DebtRank") { "this DebtRank" } else { "this clearing" },
    )
    .help(help)
}

fn internal(span: Span) -> Fault {
    Fault::new(codes::run::internal, "internal error: a model's result is missing", span, "here")
}

/// What an explanation says of one entity in a model (or of the whole kind).
#[derive(Clone, Debug)]
pub(crate) enum ModelFacts {
    Clearing { round: Option<u32>, owed: Decimal, shortfall: Decimal, payment: Decimal },
    Distress(Decimal),
    DebtRank(Decimal),
}

impl Evaluator<'_> {
    /// The facts of model `m` about `entity` (`None`: the kind's DebtRank), on this state.
    pub(crate) fn model_facts(&mut self, m: u32, entity: Option<u32>) -> Option<ModelFacts> {
        let cell = self.ir.models.get(m as usize)?.cell;
        self.derived(cell, Span::default()).ok()?;
        let result = self.st.models.get(m as usize)?.as_ref()?;
        let at = match entity {
            Some(e) => *result.position.get(e as usize).filter(|i| **i != u32::MAX)? as usize,
            None => 0,
        };
        Some(match (&result.outcome, entity) {
            (Outcome::Clearing(c), _) => ModelFacts::Clearing {
                round: c.round[at],
                owed: c.owed[at],
                shortfall: c.shortfall[at],
                payment: c.payment[at],
            },
            (Outcome::DebtRank(r), Some(_)) => ModelFacts::Distress(r.distress[at]),
            (Outcome::DebtRank(r), None) => ModelFacts::DebtRank(r.debtrank),
        })
    }
}

/// A model's update limit (`UPDATES_PER_LINK` for each exposure and bank) and
/// the budget it runs on: the limit, or less when the run's fuel is lower.
fn update_budget(claims: usize, members: usize, fuel: u64) -> (u64, u64) {
    let links = (claims as u64).saturating_add(members as u64);
    let limit = links.saturating_mul(UPDATES_PER_LINK).max(UPDATES_PER_LINK);
    (limit, limit.min(fuel))
}

//! A model's result in an explanation: the round in which a bank was found to
//! default in its clearing and what it lacked, or its DebtRank distress, on
//! the state rebuilt from the log just before the read.

use crate::eval::{ModelFacts, SolvedFacts};
use crate::ir::ModelSpec;
use crate::value::human;

use super::chain::{Explainer, leaf};
use super::rewind::Rewind;
use super::{Cause, CauseKind};

impl Explainer<'_> {
    /// Model `m`'s result for entity `e` (`u32::MAX`: the kind's DebtRank) before change `before`.
    pub(super) fn model(&mut self, m: u32, e: u32, before: usize) -> Option<Cause> {
        let ir = self.ir;
        let def = ir.models.get(m as usize)?;
        let kind = &ir.kinds[def.kind as usize].name;
        let mut rewind = Rewind::new(self.run);
        rewind.advance_before(before);
        let entity = ir.entities.get(e as usize);
        let facts = rewind.evaluator().model_facts(m, entity.map(|_| e))?;
        let name = entity.map_or("", |x| x.name.as_str());
        let method = match &def.spec {
            ModelSpec::Clearing { method: crate::ir::ClearingIr::EisenbergNoe { .. }, .. } => "Eisenberg–Noe",
            ModelSpec::Clearing { .. } => "Rogers–Veraart",
            ModelSpec::DebtRank { differential: false, .. } => "DebtRank",
            ModelSpec::DebtRank { differential: true, .. } => "differential DebtRank",
        };
        let text = match facts {
            ModelFacts::Clearing { round: Some(round), owed, shortfall, payment } => format!(
                "{name} defaulted in round {round} of the clearing of {kind} ({method}): it owed {} and held {}, short by {}; it pays {}",
                human(owed),
                human(owed - shortfall),
                human(shortfall),
                human(payment)
            ),
            ModelFacts::Clearing { round: None, owed, .. } => {
                format!("{name} pays all it owes ({}) in the clearing of {kind} ({method})", human(owed))
            }
            ModelFacts::Distress(h) => format!("{name} has a {method} distress of {} in {kind}", human(h)),
            ModelFacts::DebtRank(r) => format!("the {method} of the shock to {kind} is {}", human(r)),
        };
        let id = self.id();
        Some(leaf(id, CauseKind::Model, text))
    }
}

impl Explainer<'_> {
    /// If derived cell `d` is a `solve` field: how its system was solved, on the
    /// state before change `before` (or on `rewind`'s).
    pub(super) fn solved_note(
        &mut self,
        d: u32,
        before: usize,
        rewind: Option<&mut Rewind>,
    ) -> Option<String> {
        let owners = &self.run.program.inner.owners;
        let (entity, _) = *owners.get((d as usize).checked_sub(self.ir.lets.len())?)?;
        let kind = self.ir.layout.get(entity as usize)?.kind;
        self.ir.kinds[kind as usize].solve?;
        let facts = match rewind {
            Some(rewind) => rewind.evaluator().solved_facts(d),
            None => {
                let mut rewind = Rewind::new(self.run);
                rewind.advance_before(before);
                rewind.evaluator().solved_facts(d)
            }
        };
        let SolvedFacts { kind, start, sweeps } = facts?;
        let plural = if sweeps == 1 { "" } else { "s" };
        Some(format!(
            "solved with the `solve` fields of {kind} from `{start}`, by simultaneous update: settled after {sweeps} sweep{plural}"
        ))
    }
}

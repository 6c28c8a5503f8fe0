//! The values an output writes at every step: vars, lets, series, and every
//! entity's fields and `defaulted`, chosen by name with `*` patterns.

use serde_json::Value as Json;

use crate::diagnostic::{Diagnostics, list_words};
use crate::engine::{Error, Run};
use crate::eval::{Evaluator, RunFault};
use crate::ir::{Cell, FieldRef};
use crate::value::Value;

use super::{csv_value, json_value};
use crate::engine::read_target;
use crate::names::Target;

/// One value that an output writes at every step: a global (a var, let or
/// series: `entity` is `None`) or a field of an entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The entity, for an entity's field.
    pub entity: Option<String>,
    /// The field, or the global's name.
    pub field: String,
    target: Target,
}

impl Column {
    /// `entity.field`, or the global's name.
    pub fn name(&self) -> String {
        match &self.entity {
            Some(entity) => format!("{entity}.{}", self.field),
            None => self.field.clone(),
        }
    }
}

/// Does `name` match `pattern`, where `*` stands for any run of characters?
fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

impl Run {
    /// Every value the outputs write at each step, in order: each var, let and
    /// series, then each entity's fields (stored and derived) and `defaulted`.
    pub fn columns(&self) -> Vec<Column> {
        let ir = &self.program.inner.ir;
        let global = |field: &str, target| Column { entity: None, field: field.to_string(), target };
        let mut columns: Vec<Column> = Vec::new();
        columns.extend(ir.vars.iter().enumerate().map(|(i, v)| global(&v.name, Target::Slot(i as u32))));
        columns.extend(ir.lets.iter().enumerate().map(|(i, l)| global(&l.name, Target::Derived(i as u32))));
        columns.extend(ir.series.iter().enumerate().map(|(i, s)| global(&s.name, Target::Series(i as u32))));
        for (e, entity) in ir.entities.iter().enumerate() {
            let kind = &ir.kinds[ir.kind_of(e as u32) as usize];
            let field = |field: &str, target| Column {
                entity: Some(entity.name.clone()),
                field: field.to_string(),
                target,
            };
            for f in &kind.fields {
                let field_ref =
                    if f.derived { FieldRef::Derived(f.index) } else { FieldRef::Stored(f.index) };
                let target = match ir.cell(e as u32, field_ref) {
                    Cell::Slot(slot) => Target::Slot(slot),
                    Cell::Derived(d) => Target::Derived(d),
                };
                columns.push(field(&f.name, target));
            }
            columns.push(field("defaulted", Target::Slot(ir.defaulted_slot(e as u32))));
        }
        columns
    }

    /// The columns whose names match one of `patterns` (`*` stands for any run
    /// of characters: `b*.capital`, `*.defaulted`, `rent`), in the order of
    /// [`Run::columns`]. A pattern that matches nothing is an error.
    pub fn select_columns(&self, patterns: &[&str]) -> Result<Vec<Column>, Error> {
        let all = self.columns();
        let names: Vec<String> = all.iter().map(Column::name).collect();
        for pattern in patterns {
            if !names.iter().any(|n| matches(pattern, n)) {
                let globals: Vec<&str> =
                    all.iter().filter(|c| c.entity.is_none()).map(|c| c.field.as_str()).collect();
                return Err(Error::UnknownName {
                    name: pattern.to_string(),
                    help: Some(format!(
                        "no value matches; the globals are {}, and entities' fields are \
                         `entity.field` (`*.defaulted`, `b*.capital`)",
                        list_words(&globals)
                    )),
                });
            }
        }
        Ok(all
            .into_iter()
            .zip(names)
            .filter(|(_, n)| patterns.iter().any(|p| matches(p, n)))
            .map(|(c, _)| c)
            .collect())
    }

    /// The current values of `columns`.
    pub fn values(&mut self, columns: &[Column]) -> Result<Vec<Value>, Error> {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        columns
            .iter()
            .map(|c| {
                read_target(&mut ev, c.target).map_err(|fault| {
                    let context = vec![format!("while computing `{}` for the output", c.name())];
                    let problem = RunFault { fault, context }.into_problem();
                    Error::Script(Box::new(Diagnostics::new(&ir.source, vec![problem])))
                })
            })
            .collect()
    }

    /// A value as CSV writes it: exact decimals, entities by name, no value empty.
    pub fn csv_text(&self, value: &Value) -> String {
        csv_value(&self.program.inner.ir, value)
    }

    /// A value as JSON writes it: exact decimals as strings, no value as `null`.
    pub fn json_value(&self, value: &Value) -> Json {
        json_value(&self.program.inner.ir, value)
    }

    /// The current step and, with a start date, its date (the first cells of
    /// every CSV row).
    pub fn step_cells(&self) -> Vec<String> {
        let ir = &self.program.inner.ir;
        let step = self.machine.st.step;
        let mut cells = vec![step.to_string()];
        if ir.scenario.start.is_some() {
            cells.push(ir.scenario.date_of(step).map_or_else(String::new, |d| d.to_string()));
        }
        cells
    }

    /// Column names for [`Run::csv_row`]: `step`, `date` (with a start date),
    /// then the names of [`Run::columns`] (`rent`, `entity.field`).
    pub fn csv_header(&self) -> Vec<String> {
        let mut header = vec![String::from("step")];
        if self.program.inner.ir.scenario.start.is_some() {
            header.push(String::from("date"));
        }
        header.extend(self.columns().iter().map(Column::name));
        header
    }

    /// The current values, in the order of [`Run::csv_header`], exact.
    pub fn csv_row(&mut self) -> Result<Vec<String>, Error> {
        let columns = self.columns();
        let mut row = self.step_cells();
        let values = self.values(&columns)?;
        row.extend(values.iter().map(|v| self.csv_text(v)));
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_matches_any_run_of_characters() {
        assert!(matches("rent", "rent"));
        assert!(!matches("rent", "rents"));
        assert!(matches("*.defaulted", "b1.defaulted"));
        assert!(matches("b*.capital", "b12.capital"));
        assert!(!matches("b*.capital", "c12.capital"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(!matches("a*b*c", "aXc"));
        assert!(!matches("ab*ba", "aba"));
    }
}

//! Names of a program's values, in one place: resolving what a host, the CLI
//! or the REPL asks for by name (`h100_price`, `coreweave.cash`, `step`,
//! `coreweave.cash@2027-01`) to a [`Target`], and naming a cell for outputs,
//! traces and explanations (`coreweave.cash`, `clearing Bank`).
//!
//! It knows only the IR, so it sits below `eval`, `engine`, `report` and
//! `explain`, which all name values through it; its errors are
//! [`NameError`]s, which `engine::Error` is made from (`UnknownName`,
//! `BadValue`). Reading a target is `engine::read_target`; naming a read of
//! the log (`exposure_losses(coreweave)`) is `report::read_name`.

use crate::ir::{Cell, FieldRef, Ir, ModelSpec};

/// A name that resolves to nothing, or a target written wrongly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NameError {
    /// No value of the program has this name (`Error::UnknownName`).
    Unknown {
        /// The name asked for.
        name: String,
        /// "did you mean ...?" or the list of names.
        help: Option<String>,
    },
    /// The name is known but the target cannot be read (`Error::BadValue`).
    Bad {
        /// The target as written.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Something that can be read by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Param(u32),
    Slot(u32),
    Derived(u32),
    Series(u32),
    Step,
    Date,
}

/// Resolves `name`, `entity.field`, `step` or `date`.
pub(crate) fn resolve_target(ir: &Ir, name: &str) -> Result<Target, NameError> {
    let unknown = |help: Option<String>| NameError::Unknown { name: name.to_string(), help };
    // Field names have no `.`; an entity's name from data may (`Acme Inc.`).
    if let Some((entity, field)) = name.rsplit_once('.') {
        let Some(e) = ir.entities.iter().position(|x| x.name == entity) else {
            return Err(unknown(crate::diagnostic::did_you_mean(
                entity,
                ir.entities.iter().map(|x| x.name.as_str()),
            )));
        };
        let kind = &ir.kinds[ir.kind_of(e as u32) as usize];
        let field_ref = match field {
            "defaulted" => FieldRef::Defaulted,
            "defaulted_at" => FieldRef::DefaultedAt,
            _ => match kind.field(field) {
                Some((_, f)) if f.derived => FieldRef::Derived(f.index),
                Some((_, f)) => FieldRef::Stored(f.index),
                None => {
                    let fields: Vec<&str> = kind.fields.iter().map(|f| f.name.as_str()).collect();
                    return Err(unknown(Some(format!(
                        "fields of {} ({entity}) are: {}, defaulted, defaulted_at",
                        kind.name,
                        fields.join(", ")
                    ))));
                }
            },
        };
        return Ok(match ir.cell(e as u32, field_ref) {
            Cell::Slot(slot) => Target::Slot(slot),
            Cell::Derived(d) => Target::Derived(d),
        });
    }
    if name == "step" {
        return Ok(Target::Step);
    }
    if name == "date" {
        return Ok(Target::Date);
    }
    let find = |list: &[crate::ir::Global]| list.iter().position(|g| g.name == name).map(|i| i as u32);
    if let Some(p) = find(&ir.params) {
        return Ok(Target::Param(p));
    }
    if let Some(v) = find(&ir.vars) {
        return Ok(Target::Slot(v));
    }
    if let Some(l) = find(&ir.lets) {
        return Ok(Target::Derived(l));
    }
    if let Some(s) = ir.series.iter().position(|s| s.name == name) {
        return Ok(Target::Series(s as u32));
    }
    let names = ir
        .params
        .iter()
        .chain(&ir.vars)
        .chain(&ir.lets)
        .map(|g| g.name.as_str())
        .chain(ir.series.iter().map(|s| s.name.as_str()));
    let mut help = crate::diagnostic::did_you_mean(name, names);
    if help.is_none() && ir.entities.iter().any(|e| e.name == name) {
        help = Some(format!("`{name}` is an entity: ask for one of its fields, e.g. `{name}.defaulted`"));
    }
    Err(unknown(help))
}

/// `name`, `name@12` or `name@2026-06` → (name, last step to consider). `now`
/// is the step the run is at; a later step is refused (it would silently
/// answer for the last one that ran), saying whether the run has `finished`.
pub(crate) fn split_step(
    ir: &Ir,
    target: &str,
    now: u64,
    finished: bool,
) -> Result<(String, Option<u64>), NameError> {
    let Some((name, at)) = target.split_once('@') else { return Ok((target.trim().to_string(), None)) };
    let bad = |reason: String| NameError::Bad { name: target.to_string(), reason };
    let step = if let Ok(step) = at.trim().parse::<u64>() {
        step
    } else {
        let date = crate::value::Date::parse(at.trim())
            .ok_or_else(|| bad(format!("`{at}` is not a step number or a date")))?;
        let start = ir.scenario.start.ok_or_else(|| bad(String::from("the scenario has no start date")))?;
        u64::try_from(ir.scenario.unit.step_of_date(start, date))
            .map_err(|_| bad(format!("`{}` is before the scenario starts ({start})", at.trim())))?
    };
    if step > now {
        let reason = if finished {
            format!("the run ended at step {now}; step {step} never ran")
        } else {
            format!("the run is at step {now}; step {step} has not run yet")
        };
        return Err(bad(reason));
    }
    Ok((name.trim().to_string(), Some(step)))
}

/// `var` or `entity.field` for a slot.
pub(crate) fn slot_name(ir: &Ir, slot: u32) -> String {
    if (slot as usize) < ir.vars.len() {
        return ir.vars[slot as usize].name.clone();
    }
    let e = ir.layout.partition_point(|x| x.slot_base <= slot).saturating_sub(1);
    let entity = &ir.entities[e];
    let kind = &ir.kinds[ir.kind_of(e as u32) as usize];
    let offset = slot - ir.layout[e].slot_base;
    let field = if offset == kind.stored_count {
        "defaulted"
    } else if offset == kind.stored_count + 1 {
        "defaulted_at"
    } else {
        kind.fields.iter().find(|f| !f.derived && f.index == offset).map_or("?", |f| f.name.as_str())
    };
    format!("{}.{field}", entity.name)
}

/// `let` or `entity.field` for a derived cell.
pub(crate) fn derived_name(ir: &Ir, d: u32) -> String {
    if (d as usize) < ir.lets.len() {
        return ir.lets[d as usize].name.clone();
    }
    if let Some(model) = ir.models.iter().find(|m| m.cell == d) {
        let kind = &ir.kinds[model.kind as usize].name;
        return match model.spec {
            ModelSpec::Clearing { .. } => format!("clearing {kind}"),
            ModelSpec::DebtRank { .. } => format!("debtrank {kind}"),
        };
    }
    let e = ir.layout.partition_point(|x| x.derived_base <= d).saturating_sub(1);
    let entity = &ir.entities[e];
    let kind = &ir.kinds[ir.kind_of(e as u32) as usize];
    let offset = d - ir.layout[e].derived_base;
    let field = kind.fields.iter().find(|f| f.derived && f.index == offset).map_or("?", |f| f.name.as_str());
    format!("{}.{field}", entity.name)
}

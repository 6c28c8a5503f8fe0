//! The entities and exposures of a host's [`World`](crate::World)
//! (`Engine::compile_with_data`), read as the rows of data files are: checked
//! against the script's kinds, resolved once, with no syntax-tree item per
//! row. A problem names the host's entity or exposure by its number ("in the
//! host's World: entity 3 `x`"); the host's data has no text, so its
//! problems have no labels, and never point into the script.

use rust_decimal::Decimal;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean, list_words};
use crate::ir::ExposureDef;
use crate::source::SourceFile;
use crate::value::{Type, Value};

use super::HOST;
use super::items::intern;
use super::rows::{HOST_FILE, Origin, Problems, World, name_problem};

impl World {
    /// Adds the host's entities, then its exposures (which may name entities
    /// of the script, of its data files and of the host).
    pub fn host(&mut self, host: &crate::World) -> Result<(), Diagnostics> {
        let mut problems = Problems::new();
        let source = intern(&mut self.entities.sources, HOST);
        let mut values: Vec<(u32, Value)> = Vec::new();
        for (n, (name, kind, fields)) in host.entities.iter().enumerate() {
            let number = n + 1;
            let at = format!("in {HOST}: entity {number} `{name}`");
            if let Some(why) = name_problem(name) {
                problems
                    .push(Problem::error(codes::data::bad_name, format!("{at} cannot be named so: {why}")));
                continue;
            }
            let Some(k) = self.kind_named(kind) else {
                let kinds: Vec<&str> = self.kinds.iter().map(|k| k.name.as_str()).collect();
                let help = did_you_mean(kind, kinds.iter().copied())
                    .unwrap_or_else(|| crate::diagnostic::kinds_help(kind, &kinds));
                problems.push(
                    Problem::error(
                        codes::check::unknown_kind,
                        format!("{at} is of an unknown kind `{kind}`"),
                    )
                    .help(help),
                );
                continue;
            };
            values.clear();
            let mut good = true;
            for (i, (field, value)) in fields.iter().enumerate() {
                match self.host_field(k, field, value, &fields[..i], &at) {
                    Ok(()) => values.push((intern(&mut self.entities.fields, field), value.clone())),
                    Err(problem) => {
                        problems.push(problem);
                        good = false;
                    }
                }
            }
            let index = self.entities.len() as u32;
            let origin = Origin { file: HOST_FILE, record: number as u32, index };
            if let Some(problem) = self.host_duplicate(name, &at) {
                problems.push(problem);
                continue;
            }
            if !good {
                continue;
            }
            self.data_names.insert(name, origin);
            let kind_id = intern(&mut self.entities.kinds, &self.kinds[k].name);
            self.entities.push(name, kind_id, source, number as u32, &values);
        }
        for (n, (creditor, debtor, amount, recovery)) in host.exposures.iter().enumerate() {
            let at = format!("in {HOST}: exposure {}", n + 1);
            match self.host_exposure(creditor, debtor, *amount, *recovery, &at) {
                Ok(exposure) => self.exposures.push(exposure),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.into_diagnostics(&SourceFile::new(HOST, ""))) }
    }

    /// Checks that `field` is a stored field of kind `k`, given once, with a
    /// value of its type.
    fn host_field(
        &self,
        k: usize,
        field: &str,
        value: &Value,
        before: &[(String, Value)],
        at: &str,
    ) -> Result<(), Problem> {
        let info = &self.kinds[k];
        let Some(column) = info.fields.iter().find(|f| f.name == field) else {
            let stored: Vec<&str> =
                info.fields.iter().filter(|f| !f.derived).map(|f| f.name.as_str()).collect();
            let fields_are = format!("the stored fields of {} are {}", info.name, list_words(&stored));
            let help = match did_you_mean(field, stored.iter().copied()) {
                Some(hint) => format!("{hint} ({fields_are})"),
                None => fields_are,
            };
            return Err(Problem::error(
                codes::check::unknown_field,
                format!("{at}: `{}` has no stored field `{field}`", info.name),
            )
            .help(help));
        };
        if column.derived {
            return Err(Problem::error(
                codes::check::assign_derived,
                format!("{at}: `{field}` is a derived field of `{}`", info.name),
            )
            .help("a derived field follows its formula: give the stored fields it reads"));
        }
        if before.iter().any(|(f, _)| f == field) {
            return Err(Problem::error(codes::check::duplicate, format!("{at}: `{field}` is given twice")));
        }
        let found = match value {
            Value::Number(_) => Type::Number,
            Value::Bool(_) => Type::Bool,
            Value::Date(_) => Type::Date,
            Value::Str(_) => Type::Str,
            other => {
                let what = match other {
                    Value::Entity(_) => "an entity",
                    Value::Exposure(_) => "an exposure",
                    _ => "no value",
                };
                return Err(Problem::error(
                    codes::data::bad_value,
                    format!("{at}: `{field}` is given {what}"),
                )
                .help("an initial value is a number, a truth value, a date or text"));
            }
        };
        match column.ty {
            Some(wanted) if wanted != found => Err(Problem::error(
                codes::data::bad_value,
                format!("{at}: `{field}` is given {}, but it is {}", found.describe(), wanted.describe()),
            )
            .help(format!("give `{field}` {}: `Value::{wanted:?}`", wanted.describe()))),
            _ => Ok(()),
        }
    }

    /// A problem if `name` is declared already: by the script, a data file,
    /// or an earlier entity of the host.
    fn host_duplicate(&self, name: &str, at: &str) -> Option<Problem> {
        let problem = |first: String| {
            Problem::error(codes::check::duplicate, format!("{at} is declared twice")).help(format!(
                "{first}; names are unique across the script, its data files and the host's World"
            ))
        };
        if let Some(&(span, what)) = self.script_names.get(name) {
            return Some(problem(format!(
                "`{}` declares `{name}` first, as {} {what} at line {}",
                self.script.name(),
                if what == "entity" { "an" } else { "a" },
                self.script.line_of(span.start)
            )));
        }
        let previous = self.data_names.get(name)?;
        Some(problem(self.first_declared(previous)))
    }

    /// One exposure of the host, resolved.
    fn host_exposure(
        &mut self,
        creditor: &str,
        debtor: &str,
        amount: Decimal,
        recovery: Decimal,
        at: &str,
    ) -> Result<ExposureDef, Problem> {
        if !(Decimal::ZERO..=Decimal::ONE).contains(&recovery) {
            return Err(Problem::error(
                codes::data::bad_recovery,
                format!("{at}: a recovery of {} is outside 0% to 100%", recovery.normalize()),
            )
            .help("give a share between 0 and 1: 0.4 for 40%"));
        }
        if creditor == debtor {
            return Err(Problem::error(
                codes::check::self_exposure,
                format!("{at}: `{creditor}` cannot be exposed to itself"),
            ));
        }
        let mut end = |name: &str, what: &str| {
            self.endpoint(name).ok_or_else(|| {
                let candidates = self.entities.iter().map(|e| e.name).chain(
                    self.script_names.iter().filter(|(_, (_, w))| *w == "entity").map(|(n, _)| n.as_str()),
                );
                let help = did_you_mean(name, candidates).unwrap_or_else(|| {
                    String::from(
                        "an exposure names entities of the script, of its data files or of the host's World",
                    )
                });
                Problem::error(
                    codes::data::unknown_entity,
                    format!("{at}: the {what} `{name}` is not an entity"),
                )
                .help(help)
            })
        };
        let creditor = end(creditor, "creditor")?;
        let debtor = end(debtor, "debtor")?;
        Ok(super::exposures::exposure(creditor, debtor, amount, Some(recovery)))
    }
}

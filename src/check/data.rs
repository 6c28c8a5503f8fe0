//! The entities and exposures of data files and of a host's `World`
//! (`data::DataItems`, handed over beside the `File`): `src/data` checked their names, kinds, fields and cells
//! when it read them, so they go into the tables without a name looked up
//! twice or an expression lowered. What only the checker knows is checked
//! here: the type of a field whose default is a formula.

use super::*;
use crate::codes;

/// A data file or the host gives more fields of another type than this,
/// the problem names the first and counts the rest.
pub(super) struct Mismatch {
    kind: Id,
    field: usize,
    source: u32,
    first: u32,
    found: Type,
    more: usize,
}

impl<'a> Checker<'a> {
    /// Declares every data entity, numbered after the script's.
    pub(super) fn declare_data_entities(&mut self) {
        let data = &self.data.entities;
        if data.is_empty() {
            return;
        }
        let kinds: Vec<Option<Id>> = data
            .kinds
            .iter()
            .map(|k| match self.names.get(k.as_str()) {
                Some(&(Decl::Kind(k), _)) => Some(k),
                _ => None,
            })
            .collect();
        self.data_entities.reserve_exact(data.len());
        self.entities.reserve_exact(data.len());
        self.names.reserve(data.len());
        for (d, e) in data.iter().enumerate() {
            let id = self.entities.len() as Id;
            // `src/data` refused duplicates of script names and of other rows.
            if self.names.contains_key(e.name) {
                self.error(Problem::error(
                    codes::check::duplicate,
                    format!("`{}` is declared twice: again by {}", e.name, data.origin(&e)),
                ));
                self.data_entities.push(None);
                continue;
            }
            self.names.insert(e.name.into(), (Decl::Entity(id), Span::default()));
            let kind = kinds.get(e.kind as usize).copied().flatten();
            if let Some(k) = kind {
                self.kinds[k as usize].entities.push(id);
            }
            self.entities.push(EntitySlot { name: e.name, ast: None, kind, data: Some(d as u32) });
            self.data_entities.push(Some(id));
        }
    }

    /// The initial values of data entity `d` of kind `kind`: its cells where
    /// it has them, else the kind's defaults.
    pub(super) fn lower_data_entity(&mut self, d: u32, kind: Id) -> Vec<Init> {
        let data = &self.data.entities;
        let Some(entity) = data.get(d as usize) else { return Vec::new() };
        let mut inits: Vec<Init> = self.kinds[kind as usize]
            .fields
            .iter()
            .filter(|f| !f.ast.derived)
            .map(|f| f.root.clone().map_or(Init::Const(Value::None, Span::default()), Init::of))
            .collect();
        for (field, value) in entity.values {
            let Some(name) = data.fields.get(*field as usize) else { continue };
            let fields = &self.kinds[kind as usize].fields;
            let Some(f) = fields.iter().position(|f| f.ast.name.name == *name && !f.ast.derived) else {
                continue; // `src/data` reported the column
            };
            let index = fields[f].index as usize;
            let found = value_type(value);
            if let Some(declared) = self.field_type(kind, f)
                && declared != found
            {
                self.mismatch(kind, f, d, found);
                continue;
            }
            if let Some(init) = inits.get_mut(index) {
                *init = Init::Const(value.clone(), Span::default());
            }
        }
        inits
    }

    /// Counts a data cell whose type is not its field's (reported by
    /// [`Checker::report_data_mismatches`]).
    fn mismatch(&mut self, kind: Id, field: usize, d: u32, found: Type) {
        let source = self.data.entities.get(d as usize).map_or(0, |e| e.source);
        let same = |m: &&mut Mismatch| m.kind == kind && m.field == field && m.source == source;
        match self.data_mismatches.iter_mut().find(same) {
            Some(m) => m.more += 1,
            None => self.data_mismatches.push(Mismatch { kind, field, source, first: d, found, more: 0 }),
        }
    }

    /// One problem per field and data source whose values are of another type
    /// than the field's formula gives: at the formula, naming the first row.
    pub(super) fn report_data_mismatches(&mut self) {
        let data = &self.data.entities;
        for m in std::mem::take(&mut self.data_mismatches) {
            let Some(entity) = data.get(m.first as usize) else { continue };
            let k = &self.kinds[m.kind as usize];
            let field = &k.fields[m.field];
            let declared = match field.state {
                Lowered::Done(ty) => ty,
                _ => continue,
            };
            let name = &field.ast.name.name;
            let more = match m.more {
                0 => String::new(),
                1 => String::from(" (and 1 more row)"),
                n => format!(" (and {n} more rows)"),
            };
            let problem = Problem::error(
                codes::check::type_mismatch,
                format!(
                    "{} gives `{}.{name}` {}{more}, but `{name}` of `{}` is {}",
                    data.origin(&entity),
                    entity.name,
                    m.found.describe(),
                    k.ast.name.name,
                    declared.describe()
                ),
            )
            .label(field.ast.value.span, format!("`{name}` is {} from this formula", declared.describe()))
            .help(format!("give `{name}` {} in the data, or change the formula", declared.describe()));
            self.error(problem);
        }
    }
    /// The exposures of data files and the host: resolved already (`src/data`
    /// checked their names, amounts, recoveries and extra fields at the cell),
    /// so they are only numbered as the checker numbers entities, in place,
    /// with no name looked up and no expression lowered.
    pub(super) fn lower_data_exposures(&mut self, creditor_kinds: &mut Vec<Id>, debtor_kinds: &mut Vec<Id>) {
        let data: &'a DataItems = self.data;
        // The extra columns: each an existing column of the script's exposures or a new one.
        let mut columns = Vec::with_capacity(data.columns.len());
        for column in &data.columns {
            match self.exposure_fields.iter().position(|c| c.name == column.name) {
                Some(c) if self.exposure_fields[c].ty != column.ty => {
                    let declared = &self.exposure_fields[c];
                    let problem = Problem::error(
                        codes::check::type_mismatch,
                        format!(
                            "`{}` is {} in the data files but {} here",
                            column.name,
                            column.ty.describe(),
                            declared.ty.describe()
                        ),
                    )
                    .label(declared.span, format!("this is {}", declared.ty.describe()))
                    .help("every exposure's field has one type: change the script or the data's column");
                    self.error(problem);
                    columns.push(None);
                }
                Some(c) => columns.push(Some(c)),
                None => {
                    self.exposure_fields.push(ExposureColumn {
                        name: column.name.clone(),
                        span: Span::default(),
                        ty: column.ty,
                        values: Vec::new(),
                        computed: false,
                    });
                    columns.push(Some(self.exposure_fields.len() - 1));
                }
            }
        }
        let script: Vec<Option<Id>> = data
            .script_entities
            .iter()
            .map(|name| match self.names.get(name.as_str()) {
                Some(&(Decl::Entity(e), _)) => Some(e),
                _ => None,
            })
            .collect();
        // The usual data set: no row was refused as a duplicate, and every
        // row is of one kind. Data entity `d` is then entity `first + d`, of
        // that kind, and no table is read for each of a million endpoints.
        let first = self.data_entities.first().copied().flatten();
        let one_kind = match (first, data.entities.kinds.len()) {
            (Some(first), 1) => {
                let numbered = (first..).zip(&self.data_entities).all(|(id, e)| *e == Some(id));
                numbered.then(|| (first, self.entities[first as usize].kind))
            }
            _ => None,
        };
        let entities = &self.entities;
        let resolve = |end: u32| -> Option<(Id, Option<Id>)> {
            let id = if end & SCRIPT_ENTITY != 0 {
                (*script.get((end & !SCRIPT_ENTITY) as usize)?)?
            } else if let Some((first, kind)) = one_kind {
                return ((end as usize) < self.data_entities.len()).then_some((first + end, kind));
            } else {
                (*self.data_entities.get(end as usize)?)?
            };
            Some((id, entities[id as usize].kind))
        };
        let mut kinds_of = |c: Option<Id>, d: Option<Id>| {
            for (kinds, kind) in [(&mut *creditor_kinds, c), (&mut *debtor_kinds, d)] {
                if let Some(k) = kind
                    && !kinds.contains(&k)
                {
                    kinds.push(k);
                }
            }
        };
        // Numbered in place (a million exposures are not copied), after the
        // script's, which go in front at the end.
        let mut exposures = std::mem::take(&mut self.data_exposures);
        let script_count = self.exposures.len();
        let track = !data.columns.is_empty();
        let mut kept = Vec::new();
        let mut row = 0;
        exposures.retain_mut(|x| {
            row += 1;
            let (Some((c, c_kind)), Some((d, d_kind))) = (resolve(x.creditor), resolve(x.debtor)) else {
                return false;
            };
            if c == d {
                return false; // a data file's self-exposure is reported at its cell
            }
            kinds_of(c_kind, d_kind);
            (x.creditor, x.debtor) = (c, d);
            if track {
                kept.push((row - 1, script_count + kept.len()));
            }
            true
        });
        let script = std::mem::take(&mut self.exposures);
        if !script.is_empty() {
            exposures.splice(0..0, script);
        }
        self.exposures = exposures;
        for (column, target) in data.columns.iter().zip(columns) {
            let Some(target) = target else { continue };
            let values = &mut self.exposure_fields[target].values;
            for &(row, index) in &kept {
                let Some(value) = column.values.get(row) else { continue };
                if *value != Value::None {
                    values.resize(index, ConstValue::Literal(Value::None));
                    values.push(ConstValue::Literal(value.clone()));
                }
            }
        }
    }
}

/// The type of a value read from data (a number, a truth value, a date or text).
fn value_type(value: &Value) -> Type {
    match value {
        Value::Number(_) => Type::Number,
        Value::Bool(_) => Type::Bool,
        Value::Date(_) => Type::Date,
        _ => Type::Str,
    }
}

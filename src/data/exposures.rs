//! Files of exposures: `creditor`, `debtor`, `amount`, an optional `recovery`,
//! and further columns that are the exposures' extra fields (`x.maturity`).
//!
//! Names are looked up once, as a row is read (a name no file has declared
//! yet waits for [`World::finish`]); a row becomes the IR's `ExposureDef` of
//! two entity numbers and two decimals, with no `String` and no syntax tree
//! (the checker renumbers it in place). Spans of cells are found again only
//! for a problem.

use rust_decimal::Decimal;

use super::items::{DataColumn, DataItems, SCRIPT_ENTITY};
use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean};
use crate::ir::ExposureDef;
use crate::source::Span;
use crate::syntax;
use crate::value::{Type, Value};

use super::cells;
use super::rows::{MAX_PROBLEMS_PER_FILE, Problems, Text, World, admit, bad_cell, line_of, missing_column};
use super::table::{Row, Table, cell_span};

/// The built-in fields of an exposure: the other columns are extra fields.
const BUILT_IN: [&str; 4] = ["creditor", "debtor", "amount", "recovery"];

/// An exposure's creditor or debtor that no file had declared when its row
/// was read.
pub(super) struct Unresolved {
    pub file: usize,
    /// The exposure (an index into `World::exposures`).
    pub row: usize,
    pub debtor: bool,
    pub name: String,
    /// Where its record starts, and the cell's column.
    pub record: usize,
    pub column: usize,
}

/// A cell of a file: the file's number and the cell's span.
type Where = (usize, Span);

/// An extra field of the data exposures while files are read.
pub(super) struct Extra {
    name: String,
    /// From the script's exposures (a literal there), or the first cell read.
    ty: Option<Type>,
    /// Where its type was decided: a file and a cell, or the script.
    typed_at: Option<Where>,
    /// One per data exposure read so far (`None` where not given).
    values: Vec<Value>,
}

impl World {
    /// Reads a file of exposures. Returns the number of rows; names that no
    /// file has declared yet are resolved in [`World::finish`].
    pub fn exposures(&mut self, mut table: Table) -> Result<usize, Diagnostics> {
        let file = self.files.len();
        let mut problems = Problems::new();
        let find = |name: &str| table.header.iter().position(|h| h == name);
        let (creditor, debtor, amount, recovery) =
            (find("creditor"), find("debtor"), find("amount"), find("recovery"));
        for (column, what) in [(creditor, "creditor"), (debtor, "debtor"), (amount, "amount")] {
            if column.is_none() {
                problems.push(missing_column(&table, what, what_text(what)));
            }
        }
        // Each further column is an extra field: which one.
        let mut extras: Vec<(usize, usize)> = Vec::new();
        for (i, header) in table.header.iter().enumerate() {
            if let Some(problem) = table.duplicate_column(i) {
                problems.push(problem);
                continue;
            }
            if BUILT_IN.contains(&header.as_str()) {
                continue;
            }
            if !is_field_name(header) {
                problems.push(
                    Problem::error(codes::data::unknown_column, format!("`{header}` cannot name an exposure's field"))
                        .label(table.header_cell(i), "not a name of the language")
                        .help(
                            "a column besides `creditor`, `debtor`, `amount` and `recovery` is an extra field, \
                             read as `x.NAME`: name it with letters, digits and `_` (not a keyword), e.g. `maturity`",
                        ),
                );
                continue;
            }
            let extra = match self.extras.iter().position(|e| e.name == *header) {
                Some(e) => e,
                None => {
                    let ty = self.script_fields.get(header.as_str()).copied();
                    self.extras.push(Extra { name: header.clone(), ty, typed_at: None, values: Vec::new() });
                    self.extras.len() - 1
                }
            };
            extras.push((i, extra));
        }
        let (Some(creditor), Some(debtor), Some(amount)) = (creditor, debtor, amount) else {
            return Err(problems.into_diagnostics(&table.source()));
        };
        let columns = Columns { creditor, debtor, amount, recovery };
        // A plain file, with no extra field (whose type its first cell may
        // decide), is read in chunks on several threads.
        if extras.is_empty()
            && let Some(chunks) = self.chunks_to_read(&mut table)
        {
            return self.exposures_in_chunks(table, columns, &chunks, problems);
        }
        // A bad header cell is reported with the rows' problems, all at once.
        let mut rows = 0;
        let first_row = self.exposures.len();
        let max = self.limits.max_exposures;
        let already = self.script_exposures + first_row;
        let mut read: Vec<ExposureDef> = Vec::new();
        let mut unresolved: Vec<Unresolved> = Vec::new();
        // The values of this file's extra columns, row by row.
        let mut values: Vec<Vec<Value>> = extras.iter().map(|_| Vec::new()).collect();
        // The types the extra columns take in this file (from earlier files or the script first).
        let mut types: Vec<Option<(Type, Option<Where>)>> =
            extras.iter().map(|&(_, e)| self.extras[e].ty.map(|t| (t, self.extras[e].typed_at))).collect();
        let mut last_creditor = LastCreditor::default();
        table.rows(|row| {
            let row = match row {
                Ok(row) => row,
                Err(problem) => return problems.push(problem),
            };
            if !admit(&table, row, &mut problems, &mut rows, (already, max), "exposures") {
                return;
            }
            let (value, recovery_value, c, d) = match checked(&table, row, columns) {
                Ok(read) => read,
                Err(problem) => return problems.push(problem),
            };
            let mut good = true;
            for (n, &(i, extra)) in extras.iter().enumerate() {
                let text = row.cell(i);
                if text.is_empty() {
                    values[n].push(Value::None);
                    continue;
                }
                let ty = types[n].map(|(t, _)| t);
                match cells::value(text, ty) {
                    Some(v) => {
                        if ty.is_none() {
                            let t = cells::type_of(&v);
                            types[n] = Some((t, Some((file, table.cell_span(row, i)))));
                        }
                        values[n].push(v);
                    }
                    None => {
                        good = false;
                        let name = &self.extras[extra].name;
                        let (wanted, typed_at) = types[n].unwrap_or((Type::Str, None));
                        problems
                            .push(self.bad_extra(&table, row.start, i, text, name, wanted, typed_at, file));
                    }
                }
            }
            if !good {
                return;
            }
            let index = first_row + read.len();
            let mut end = |name: &str, column: usize, debtor: bool| match self.endpoint(name) {
                Some(e) => e,
                None => {
                    unresolved.push(Unresolved {
                        file,
                        row: index,
                        debtor,
                        name: name.to_string(),
                        record: row.start,
                        column,
                    });
                    u32::MAX
                }
            };
            let creditor = last_creditor.get(c, |c| end(c, creditor, false));
            let debtor = end(d, debtor, true);
            read.push(exposure(creditor, debtor, value, recovery_value));
        });
        self.files.push(Text { name: table.name, text: table.text, bom: table.bom, name_column: 0 });
        if !problems.is_empty() {
            return Err(problems.into_diagnostics(&self.files[file].source()));
        }
        // Every data exposure has every extra field: earlier rows lack this file's
        // new columns, this file's rows lack the columns it does not have.
        let total = first_row + read.len();
        for (n, &(_, extra)) in extras.iter().enumerate() {
            let column = &mut self.extras[extra];
            column.values.resize(first_row, Value::None);
            column.values.append(&mut values[n]);
            if column.ty.is_none()
                && let Some((t, at)) = types[n]
            {
                column.ty = Some(t);
                column.typed_at = at;
            }
        }
        for column in &mut self.extras {
            column.values.resize(total, Value::None);
        }
        if self.exposures.is_empty() {
            self.exposures = read; // not copied
        } else {
            self.exposures.append(&mut read);
        }
        self.unresolved.append(&mut unresolved);
        Ok(rows)
    }

    /// The number of a named entity that some file or the script declares.
    pub(super) fn endpoint(&mut self, name: &str) -> Option<u32> {
        if let Some(origin) = self.data_names.get(name) {
            return Some(origin.index);
        }
        if let Some(&i) = self.script_refs.get(name) {
            return Some(SCRIPT_ENTITY | i);
        }
        if matches!(self.script_names.get(name), Some((_, "entity"))) {
            let i = self.script_entity_names.len() as u32;
            self.script_entity_names.push(name.to_string());
            self.script_refs.insert(name.to_string(), i);
            return Some(SCRIPT_ENTITY | i);
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn bad_extra(
        &self,
        table: &Table,
        record: usize,
        i: usize,
        text: &str,
        name: &str,
        wanted: Type,
        typed_at: Option<Where>,
        file: usize,
    ) -> Problem {
        let what = cells::expected(wanted);
        let problem = Problem::error(codes::data::bad_value, format!("`{text}` is not {what}"))
            .label(cell_span(table.text.as_bytes(), record, i), format!("`{name}` should be {what}"));
        match typed_at {
            Some((f, span)) if f == file => {
                problem.label(span, format!("`{name}` is {} from here", wanted.describe()))
            }
            Some((f, span)) => problem.help(format!(
                "`{name}` is {} in `{}` (line {}): every exposure's field has one type",
                wanted.describe(),
                self.files[f].name,
                line_of(&self.files[f].text, span.start as usize)
            )),
            None => problem.help(format!(
                "the script's exposures give `{name}` as {}: every exposure's field has one type",
                wanted.describe()
            )),
        }
    }

    /// Resolves the names that waited, and hands everything over for the
    /// checker, with the texts of the files read (in order) for their SHA-256.
    pub fn finish(mut self) -> Result<(DataItems, Vec<Text>), Vec<Diagnostics>> {
        let mut problems: Vec<Problems> = self.files.iter().map(|_| Problems::new()).collect();
        let unresolved = std::mem::take(&mut self.unresolved);
        for u in unresolved {
            if let Some(e) = self.endpoint(&u.name) {
                let x = &mut self.exposures[u.row];
                *(if u.debtor { &mut x.debtor } else { &mut x.creditor }) = e;
                continue;
            }
            let file_problems = &mut problems[u.file];
            if file_problems.list.len() >= MAX_PROBLEMS_PER_FILE {
                // Only counted: no "did you mean" over every name for a problem not shown.
                file_problems.more += 1;
                continue;
            }
            let what = if u.debtor { "debtor" } else { "creditor" };
            let candidates = self.entities.iter().map(|e| e.name).chain(
                self.script_names.iter().filter(|(_, (_, w))| *w == "entity").map(|(n, _)| n.as_str()),
            );
            let help = did_you_mean(&u.name, candidates).unwrap_or_else(|| {
                String::from("an exposure names entities of the script or of its `entities ... from` files")
            });
            let message = if u.name.is_empty() {
                format!("the {what} is missing")
            } else {
                format!("unknown entity `{}`", u.name)
            };
            let span = cell_span(self.files[u.file].text.as_bytes(), u.record, u.column);
            problems[u.file].push(
                Problem::error(codes::data::unknown_entity, message)
                    .label(span, format!("the {what}: no entity of this name"))
                    .help(help),
            );
        }
        let failed: Vec<Diagnostics> = problems
            .into_iter()
            .zip(&self.files)
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, text)| p.into_diagnostics(&text.source()))
            .collect();
        if !failed.is_empty() {
            return Err(failed);
        }
        self.entities.shrink();
        self.exposures.shrink_to_fit();
        let items = DataItems {
            entities: self.entities,
            exposures: self.exposures,
            script_entities: self.script_entity_names,
            // A column whose cells are all empty has no type, and adds no field.
            columns: self
                .extras
                .into_iter()
                .filter_map(|e| Some(DataColumn { name: e.name, ty: e.ty?, values: e.values }))
                .collect(),
        };
        Ok((items, self.files))
    }
}

/// The creditor of the row before, and its entity once found. Files list a
/// creditor's exposures together, so a row whose creditor is the row
/// before's is not looked up again.
#[derive(Default)]
pub(super) struct LastCreditor {
    name: String,
    entity: Option<u32>,
}

impl LastCreditor {
    /// The entity of `name`: the row before's, or what `look_up` finds
    /// (`u32::MAX` for a name that waits, which is looked up again).
    pub fn get(&mut self, name: &str, look_up: impl FnOnce(&str) -> u32) -> u32 {
        match self.entity {
            Some(e) if name == self.name => e,
            _ => {
                let e = look_up(name);
                self.entity = (e != u32::MAX).then_some(e);
                self.name.clear();
                self.name.push_str(name);
                e
            }
        }
    }
}

/// The columns of a file of exposures.
#[derive(Clone, Copy)]
pub(super) struct Columns {
    pub creditor: usize,
    pub debtor: usize,
    pub amount: usize,
    pub recovery: Option<usize>,
}

/// A row's amount, recovery, creditor and debtor (names, not looked up), or
/// its first problem.
pub(super) fn checked<'r>(
    table: &Table,
    row: &'r Row,
    columns: Columns,
) -> Result<(Decimal, Option<Decimal>, &'r str, &'r str), Problem> {
    let Some(value) = cells::number(row.cell(columns.amount)) else {
        return Err(bad_cell(table, row, columns.amount, "amount", Some(Type::Number)));
    };
    let recovery = match columns.recovery.map(|r| (r, row.cell(r))) {
        None | Some((_, "")) => None,
        Some((r, text)) => match cells::number(text) {
            Some(n) if is_share(n) => Some(n),
            Some(_) => {
                return Err(Problem::error(
                    codes::data::bad_recovery,
                    format!("a recovery of `{text}` is outside 0% to 100%"),
                )
                .label(table.cell_span(row, r), "`recovery` should be between 0% and 100%")
                .help("write a share: `40%` or `0.4`"));
            }
            None => return Err(bad_cell(table, row, r, "recovery", Some(Type::Number))),
        },
    };
    let (c, d) = (row.cell(columns.creditor), row.cell(columns.debtor));
    if c == d && !c.is_empty() {
        return Err(Problem::error(
            codes::check::self_exposure,
            format!("`{c}` cannot be exposed to itself"),
        )
        .label(table.cell_span(row, columns.debtor), "creditor and debtor are the same")
        .label(table.cell_span(row, columns.creditor), "the creditor"));
    }
    Ok((value, recovery, c, d))
}

/// `0 <= n <= 1`, without aligning the scales of two decimals: `n` is
/// `mantissa / 10^scale`.
fn is_share(n: Decimal) -> bool {
    let mantissa = n.mantissa();
    mantissa >= 0 && mantissa <= 10i128.pow(n.scale())
}

/// An exposure as the IR holds it, its creditor and debtor numbered as data
/// entities (or `SCRIPT_ENTITY | i`) until the checker numbers them.
pub(super) fn exposure(
    creditor: u32,
    debtor: u32,
    amount: Decimal,
    recovery: Option<Decimal>,
) -> ExposureDef {
    ExposureDef { creditor, debtor, amount, recovery }
}

/// A column's name can be read as `x.NAME`.
fn is_field_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !syntax::KEYWORDS.contains(&name)
}

fn what_text(column: &str) -> &'static str {
    match column {
        "creditor" => "the entity that loses if the debtor defaults",
        "debtor" => "the entity whose default costs the creditor",
        _ => "the amount of each exposure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_between_zero_and_one_whatever_the_scale() {
        for text in
            ["0", "-0", "0.000", "1", "1.000", "0.35", "35%", "100%", "1.0001", "101%", "-0.01", "2", "7bn"]
        {
            let n = cells::number(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(is_share(n), (Decimal::ZERO..=Decimal::ONE).contains(&n), "{text}");
        }
    }
}

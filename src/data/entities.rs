//! Files of entities: a `name` column and one column per stored field set.
//!
//! A row becomes an entry of [`DataEntities`]: its name (in one shared
//! string), its kind and the values of its non-empty cells, read as literals
//! of the field's type, with no syntax-tree item. Spans of cells are found
//! again only for a problem.

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean, list_words};
use crate::value::Value;

use super::cells;
use super::items::intern;
use super::rows::{Origin, Problems, Text, World, admit, bad_cell, bad_name, missing_column};
use super::table::Table;

impl World {
    /// Reads a file of entities of kind `kind`: a `name` column and one column
    /// per stored field set. Returns the number of rows.
    pub fn entities(&mut self, kind: usize, table: Table) -> Result<usize, Diagnostics> {
        let file = self.files.len() as u32;
        let mut problems = Problems::new();
        let info = &self.kinds[kind];
        // Which field each column sets (None for `name`), as an index into
        // the kind's fields and into `DataEntities::fields`.
        let mut name_column = None;
        let mut columns: Vec<Option<(usize, u32)>> = Vec::new();
        for (i, header) in table.header.iter().enumerate() {
            if let Some(problem) = table.duplicate_column(i) {
                problems.push(problem);
                columns.push(None);
                continue;
            }
            if header == "name" {
                name_column = Some(i);
                columns.push(None);
                continue;
            }
            match info.fields.iter().position(|f| f.name == *header) {
                Some(f) if info.fields[f].derived => {
                    problems.push(
                        Problem::error(
                            codes::data::derived_column,
                            format!("`{header}` is a derived field of `{}`", info.name),
                        )
                        .label(table.header_cell(i), "cannot be given in a data file")
                        .help("a derived field follows its formula: give the stored fields it reads"),
                    );
                    columns.push(None);
                }
                Some(f) => columns.push(Some((f, intern(&mut self.entities.fields, header)))),
                None => {
                    let stored: Vec<&str> =
                        info.fields.iter().filter(|f| !f.derived).map(|f| f.name.as_str()).collect();
                    let columns_are = format!(
                        "the columns of a file of {} are `name` and its stored fields: {}",
                        info.name,
                        list_words(&stored)
                    );
                    let help = match did_you_mean(header, stored.iter().copied()) {
                        Some(hint) => format!("{hint} ({columns_are})"),
                        None => columns_are,
                    };
                    problems.push(
                        Problem::error(
                            codes::data::unknown_column,
                            format!("`{}` has no stored field `{header}`", info.name),
                        )
                        .label(table.header_cell(i), "unknown column")
                        .help(help),
                    );
                    columns.push(None);
                }
            }
        }
        let Some(name_column) = name_column else {
            problems.push(missing_column(&table, "name", "the name of each entity"));
            return Err(problems.into_diagnostics(&table.source()));
        };
        let kind_id = intern(&mut self.entities.kinds, &self.kinds[kind].name);
        let source = intern(&mut self.entities.sources, &table.name);
        let mut rows = 0;
        let max = self.limits.max_entities;
        let already = self.script_entities + self.entities.len();
        let mut values: Vec<(u32, Value)> = Vec::new();
        // About one entity a line: the table of names grows once.
        self.data_names.reserve(table.text.bytes().filter(|&b| b == b'\n').count());
        table.rows(|row| {
            let row = match row {
                Ok(row) => row,
                Err(problem) => return problems.push(problem),
            };
            if !admit(&table, row, &mut problems, &mut rows, (already, max), "entities") {
                return;
            }
            let name = row.cell(name_column);
            if let Some(problem) = bad_name(name, || table.cell_span(row, name_column)) {
                problems.push(problem);
                return;
            }
            values.clear();
            for (i, column) in columns.iter().enumerate() {
                let (Some((f, field)), text) = (*column, row.cell(i)) else { continue };
                if text.is_empty() {
                    continue; // the kind's default
                }
                let declared = &self.kinds[kind].fields[f];
                match cells::value(text, declared.ty) {
                    Some(value) => values.push((field, value)),
                    None => problems.push(bad_cell(&table, row, i, &declared.name, declared.ty)),
                }
            }
            let index = self.entities.len() as u32;
            let origin = Origin { file, record: row.start as u32, index };
            if let Some(problem) = self.duplicate(name, origin, &table, name_column) {
                problems.push(problem);
                return;
            }
            self.data_names.insert(name, origin);
            let line = u32::try_from(row.line).unwrap_or(u32::MAX);
            self.entities.push(name, kind_id, source, line, &values);
        });
        self.files.push(Text { name: table.name, text: table.text, bom: table.bom, name_column });
        if !problems.is_empty() {
            return Err(problems.into_diagnostics(&self.files[file as usize].source()));
        }
        Ok(rows)
    }
}

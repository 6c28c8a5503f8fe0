//! Rows of data files turned into entities and exposures of the script.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean, list_words};
use crate::source::{SourceFile, Span};
use crate::syntax::{self, DataExposure, Entity, FieldInit, File, Ident, Item};
use crate::value::Type;

use super::DataFile;
use super::cells;
use super::exposures::{Extra, Unresolved};
use super::table::{Row, Table};

/// Names are looked up a million times in a large world: a fast hash with a
/// fixed seed (the order of a "did you mean" over the keys stays the same).
pub(super) type Names<V> = HashMap<String, V, FixedState>;

/// A file reports at most this many problems; a last one counts the rest.
pub(crate) const MAX_PROBLEMS_PER_FILE: usize = 20;

/// How many entities and exposures the engine allows, script and data together.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_entities: usize,
    pub max_exposures: usize,
    /// Bytes in one data file.
    pub max_bytes: usize,
}

/// A kind's stored field, as a column of a data file can fill it.
struct Column {
    name: String,
    derived: bool,
    ty: Option<Type>,
}

struct KindInfo {
    name: String,
    fields: Vec<Column>,
}

/// Where a data entity was declared, and its number among the data entities.
#[derive(Clone, Copy)]
pub(super) struct Origin {
    file: usize,
    span: Span,
    pub index: u32,
}

/// The data read so far, and what the script declares.
pub(crate) struct World {
    pub(super) limits: Limits,
    script: SourceFile,
    kinds: Vec<KindInfo>,
    kind_ids: HashMap<String, usize>,
    /// Names the script declares, with where and as what.
    pub(super) script_names: Names<(Span, &'static str)>,
    script_entities: usize,
    pub(super) script_exposures: usize,
    /// The types of the script's exposures' extra fields given as literals.
    pub(super) script_fields: HashMap<String, Type>,
    /// Entities from data files, by name.
    pub(super) data_names: Names<Origin>,
    /// Script entities that exposures name, by name and as numbered.
    pub(super) script_refs: Names<u32>,
    pub(super) script_entity_names: Vec<String>,
    /// Every file read so far.
    pub(super) files: Vec<SourceFile>,
    pub(super) entities: Vec<Item>,
    pub(super) exposures: Vec<DataExposure>,
    pub(super) unresolved: Vec<Unresolved>,
    pub(super) extras: Vec<Extra>,
}

/// The problems of one file, capped at [`MAX_PROBLEMS_PER_FILE`].
pub(super) struct Problems {
    pub list: Vec<Problem>,
    pub more: usize,
}

impl Problems {
    pub fn new() -> Problems {
        Problems { list: Vec::new(), more: 0 }
    }

    pub fn push(&mut self, problem: Problem) {
        if self.list.len() < MAX_PROBLEMS_PER_FILE {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn into_diagnostics(mut self, source: &SourceFile) -> Diagnostics {
        if self.more > 0 {
            self.list.push(
                Problem::error(
                    codes::data::too_many_problems,
                    format!(
                        "{} more problem{} in this file (only the first {MAX_PROBLEMS_PER_FILE} are shown)",
                        self.more,
                        if self.more == 1 { "" } else { "s" }
                    ),
                )
                .help("fix the problems above and load the file again"),
            );
        }
        // A problem without a span sorts first; the count belongs last.
        let more = self.more > 0;
        let mut diagnostics = Diagnostics::new(source, self.list);
        if more {
            diagnostics.move_unlabelled_last();
        }
        diagnostics
    }
}

impl World {
    pub fn new(file: &File, script: &SourceFile, limits: Limits) -> World {
        let mut world = World {
            limits,
            script: script.clone(),
            kinds: Vec::new(),
            kind_ids: HashMap::new(),
            script_names: Names::default(),
            script_entities: 0,
            script_exposures: 0,
            script_fields: HashMap::new(),
            data_names: Names::default(),
            script_refs: Names::default(),
            script_entity_names: Vec::new(),
            files: Vec::new(),
            entities: Vec::new(),
            exposures: Vec::new(),
            unresolved: Vec::new(),
            extras: Vec::new(),
        };
        for item in &file.items {
            let (name, what) = match item {
                Item::Param(d) => (&d.name, "param"),
                Item::Var(d) => (&d.name, "var"),
                Item::Let(d) => (&d.name, "let"),
                Item::Series(s) => (&s.name, "series"),
                Item::Kind(k) => {
                    let fields = k
                        .fields
                        .iter()
                        .map(|f| Column {
                            name: f.name.name.clone(),
                            derived: f.derived,
                            ty: cells::literal_type(&f.value),
                        })
                        .collect();
                    world.kind_ids.entry(k.name.name.clone()).or_insert(world.kinds.len());
                    world.kinds.push(KindInfo { name: k.name.name.clone(), fields });
                    (&k.name, "kind")
                }
                Item::Entity(e) => {
                    world.script_entities += 1;
                    (&e.name, "entity")
                }
                Item::Exposure(x) => {
                    world.script_exposures += 1;
                    for f in x.fields.iter().flat_map(|f| f.iter()) {
                        if let Some(ty) = cells::literal_type(&f.value) {
                            world.script_fields.entry(f.name.name.clone()).or_insert(ty);
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            world.script_names.entry(name.name.clone()).or_insert((name.span, what));
        }
        world
    }

    /// The kind named in `entities Kind from ...`.
    pub fn kind(&self, name: &Ident) -> Result<usize, Problem> {
        self.kind_ids.get(&name.name).copied().ok_or_else(|| {
            Problem::error(codes::check::unknown_kind, format!("unknown kind `{}`", name.name))
                .label(name.span, "no kind of this name")
                .help(did_you_mean(&name.name, self.kinds.iter().map(|k| k.name.as_str())).unwrap_or_else(
                    || {
                        let names: Vec<&str> = self.kinds.iter().map(|k| k.name.as_str()).collect();
                        crate::diagnostic::kinds_help(&name.name, &names)
                    },
                ))
        })
    }

    fn line_of(&self, origin: Origin) -> usize {
        self.files[origin.file].line_of(origin.span.start)
    }

    /// Reads a file of entities of kind `kind`: a `name` column and one column
    /// per stored field set. Returns the number of rows.
    pub fn entities(&mut self, kind: usize, data: &DataFile) -> Result<usize, Diagnostics> {
        let table = Table::open(&data.path, &data.bytes).map_err(|d| *d)?;
        let file = self.files.len();
        self.files.push(table.source.clone());
        let mut problems = Problems::new();
        let info = &self.kinds[kind];
        // Which field each column sets (None for `name`).
        let mut name_column = None;
        let mut columns: Vec<Option<usize>> = Vec::new();
        for (i, header) in table.header.iter().enumerate() {
            if let Some(first) = table.header.iter().take(i).position(|h| h == header) {
                problems.push(
                    Problem::error(
                        codes::data::duplicate_column,
                        format!("the column `{header}` appears twice"),
                    )
                    .label(table.header_cell(i), "again here")
                    .label(table.header_cell(first), "first here"),
                );
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
                Some(f) => columns.push(Some(f)),
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
            return Err(problems.into_diagnostics(&table.source));
        };
        let kind_name = info.name.clone();
        let mut rows = 0;
        let mut entities = Vec::new();
        let mut names: Vec<(String, Origin)> = Vec::new();
        let max = self.limits.max_entities;
        let already_data = self.entities.len();
        let already = self.script_entities + already_data;
        table.rows(|row| {
            let row = match row {
                Ok(row) => row,
                Err(problem) => return problems.push(problem),
            };
            {
                rows += 1;
                if !same_width(&table, row, &mut problems) {
                    return;
                }
                if already + rows > max {
                    if already + rows == max + 1 {
                        problems.push(over_limit(&table, row, "entities", max));
                    }
                    return;
                }
                let name_span = table.cell_span(row, name_column);
                let name = row.cell(name_column);
                if let Some(problem) = bad_name(name, name_span) {
                    problems.push(problem);
                    return;
                }
                let mut fields = Vec::new();
                for (i, column) in columns.iter().enumerate() {
                    let (Some(f), text) = (*column, row.cell(i)) else { continue };
                    if text.is_empty() {
                        continue; // the kind's default
                    }
                    let field = &self.kinds[kind].fields[f];
                    match cells::literal(text, field.ty) {
                        Some(value) => fields.push(FieldInit { name: plain(&field.name), value }),
                        None => problems.push(bad_cell(&table, row, i, &field.name, field.ty)),
                    }
                }
                let index = (already_data + entities.len()) as u32;
                names.push((name.to_string(), Origin { file, span: name_span, index }));
                entities.push(Item::Entity(Entity {
                    name: plain(name),
                    kind: plain(&kind_name),
                    fields,
                    span: Span::default(),
                }));
            }
        });
        for (name, origin) in names {
            if let Some(problem) = self.duplicate(&name, origin) {
                problems.push(problem);
            } else {
                self.data_names.insert(name, origin);
            }
        }
        if !problems.is_empty() {
            return Err(problems.into_diagnostics(&table.source));
        }
        self.entities.extend(entities);
        Ok(rows)
    }

    /// A problem if `name` is declared already, by the script or another row.
    fn duplicate(&self, name: &str, origin: Origin) -> Option<Problem> {
        let problem = Problem::error(codes::check::duplicate, format!("`{name}` is declared twice"));
        if let Some(&(span, what)) = self.script_names.get(name) {
            return Some(problem.label(origin.span, "declared again here").help(format!(
                "`{}` declares `{name}` first, as {} {what} at line {}; names are unique across the \
                 script and its data files",
                self.script.name(),
                if what == "entity" { "an" } else { "a" },
                self.script.line_of(span.start)
            )));
        }
        let previous = *self.data_names.get(name)?;
        if previous.file == origin.file {
            return Some(
                problem
                    .label(origin.span, "declared again here")
                    .label(previous.span, "first declared here")
                    .help("names are unique across the script and its data files: rename one of them"),
            );
        }
        Some(problem.label(origin.span, "declared again here").help(format!(
            "`{}` declares it first, at line {}; names are unique across the script and its data files",
            self.files[previous.file].name(),
            self.line_of(previous)
        )))
    }
}

fn plain(name: &str) -> Ident {
    Ident { name: name.to_string(), span: Span::default() }
}

/// A problem unless the row has as many cells as the header.
pub(super) fn same_width(table: &Table, row: &Row, problems: &mut Problems) -> bool {
    let (found, wanted) = (row.record.len(), table.header.len());
    if found == wanted {
        return true;
    }
    let cells = if found == 1 { "cell" } else { "cells" };
    // A quote that is never closed takes the rest of the file into one cell.
    let help = if row.record.iter().any(|cell| cell.contains(&b'\n')) {
        "a quoted cell here runs over several lines: is its closing `\"` missing?"
    } else {
        "a cell that holds a comma must be quoted: `\"Bank, Ltd\"`"
    };
    problems.push(
        Problem::error(
            codes::data::column_count,
            format!("this row has {found} {cells} but the header has {wanted}"),
        )
        .label(table.row_span(row), format!("{found} {cells}"))
        .label(table.header_span, format!("{wanted} columns"))
        .help(help),
    );
    false
}

pub(super) fn missing_column(table: &Table, column: &str, what: &str) -> Problem {
    Problem::error(codes::data::missing_column, format!("the data file has no column `{column}`"))
        .label(table.header_span, format!("no `{column}` here"))
        .help(format!("add a column `{column}` with {what}"))
}

pub(super) fn over_limit(table: &Table, row: &Row, what: &str, max: usize) -> Problem {
    Problem::error(
        if what == "entities" { codes::limit::entities } else { codes::limit::exposures },
        format!("more than {max} {what}: this engine allows at most {max}"),
    )
    .label(table.row_span(row), format!("{what} beyond the limit start here"))
    .help(format!("raise the limit (`Engine::max_{what}`, `--max-{what}`) or load fewer"))
}

pub(super) fn bad_cell(table: &Table, row: &Row, i: usize, column: &str, ty: Option<Type>) -> Problem {
    let text = row.cell(i);
    let wanted = ty.map_or("a value", cells::expected);
    Problem::error(codes::data::bad_value, format!("`{text}` is not {wanted}"))
        .label(table.cell_span(row, i), format!("`{column}` should be {wanted}"))
}

/// A problem if a name from data cannot be an entity's name.
fn bad_name(name: &str, span: Span) -> Option<Problem> {
    let problem = |why: &str| {
        Some(
            Problem::error(codes::data::bad_name, format!("`{name}` cannot name an entity"))
                .label(span, why.to_string()),
        )
    };
    if name.is_empty() {
        return problem("the name is empty");
    }
    if name.contains(['`', '\n', '\r']) {
        return problem("a name cannot hold a backtick or a line break");
    }
    if syntax::BUILTIN_NAMES.contains(&name) || syntax::BUILTIN_FUNCTIONS.contains(&name) {
        return problem("this is a built-in name");
    }
    None
}

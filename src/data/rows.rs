//! Rows of data files turned into entities and exposures of the script.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean};
use crate::ir::ExposureDef;
use crate::source::{SourceFile, Span};
use crate::syntax::{self, File, Ident, Item};
use crate::value::Type;

use super::DataEntities;
use super::cells;
use super::exposures::{Extra, Unresolved};
use super::table::{Row, Table, cell_span};

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
pub(super) struct Column {
    pub name: String,
    pub derived: bool,
    pub ty: Option<Type>,
}

pub(super) struct KindInfo {
    pub name: String,
    pub fields: Vec<Column>,
}

/// The file number of the host's `World` in an [`Origin`].
pub(super) const HOST_FILE: u32 = u32::MAX;

/// Where a data entity was declared (a file and the start of its record, or
/// the host's `World` and the entity's number there), and its number among
/// the data entities.
#[derive(Clone, Copy)]
pub(super) struct Origin {
    pub file: u32,
    pub record: u32,
    pub index: u32,
}

/// A data file's text, kept (one copy: the loader's bytes) until every name
/// is resolved, for the spans of diagnostics.
pub(super) struct Text {
    pub name: String,
    pub text: String,
    /// The file began with a byte-order mark (see [`Table::bom`](super::table::Table)).
    pub bom: bool,
    /// The column of the entities' names (files of entities).
    pub name_column: usize,
}

impl Text {
    pub fn source(&self) -> SourceFile {
        SourceFile::new(self.name.as_str(), self.text.as_str())
    }

    /// The SHA-256 of the file's bytes as the loader gave them (its
    /// byte-order mark included), lowercase hex.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        if self.bom {
            hasher.update(super::table::BOM);
        }
        hasher.update(self.text.as_bytes());
        hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The line (from 1) of a byte offset, counted as [`SourceFile::line_of`]
/// counts it (a lone `\r` ends a line too).
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let lone_cr = |i: usize| bytes[i] == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n');
    1 + (0..bytes.len()).filter(|&i| bytes[i] == b'\n' || lone_cr(i)).count()
}

/// The data read so far, and what the script declares.
pub(crate) struct World {
    pub(super) limits: Limits,
    pub(super) script: SourceFile,
    pub(super) kinds: Vec<KindInfo>,
    kind_ids: HashMap<String, usize>,
    /// Names the script declares, with where and as what.
    pub(super) script_names: Names<(Span, &'static str)>,
    pub(super) script_entities: usize,
    pub(super) script_exposures: usize,
    /// The types of the script's exposures' extra fields given as literals.
    pub(super) script_fields: HashMap<String, Type>,
    /// Entities from data files and the host, by name.
    pub(super) data_names: super::names::DataNames,
    /// Script entities that exposures name, by name and as numbered.
    pub(super) script_refs: Names<u32>,
    pub(super) script_entity_names: Vec<String>,
    /// Every file read so far.
    pub(super) files: Vec<Text>,
    pub(super) entities: DataEntities,
    pub(super) exposures: Vec<ExposureDef>,
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
            data_names: Default::default(),
            script_refs: Names::default(),
            script_entity_names: Vec::new(),
            files: Vec::new(),
            entities: DataEntities::default(),
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

    /// The kind called `name`.
    pub fn kind_named(&self, name: &str) -> Option<usize> {
        self.kind_ids.get(name).copied()
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

    /// Where `origin`'s name is: its cell, in the file being read (`current`)
    /// or one read before.
    pub(super) fn name_span(&self, origin: Origin, current: &Table, current_column: usize) -> Span {
        match self.files.get(origin.file as usize) {
            Some(text) => cell_span(text.text.as_bytes(), origin.record as usize, text.name_column),
            None => cell_span(current.text.as_bytes(), origin.record as usize, current_column),
        }
    }

    /// Where `origin` is, for a message about another file or the host:
    /// "`banks.csv` declares it first, at line 3".
    pub(super) fn first_declared(&self, origin: Origin) -> String {
        match self.files.get(origin.file as usize) {
            Some(text) => {
                format!(
                    "`{}` declares it first, at line {}",
                    text.name,
                    line_of(&text.text, origin.record as usize)
                )
            }
            None => format!("{} declares it first, as entity {}", super::HOST, origin.record),
        }
    }

    /// A problem if `name` is declared already, by the script or another row
    /// of a file (`file`, which is being read: `table`, its names in
    /// `name_column`).
    pub(super) fn duplicate(
        &self,
        name: &str,
        origin: Origin,
        table: &Table,
        name_column: usize,
    ) -> Option<Problem> {
        let problem = Problem::error(codes::check::duplicate, format!("`{name}` is declared twice"));
        let here = cell_span(table.text.as_bytes(), origin.record as usize, name_column);
        if let Some(&(span, what)) = self.script_names.get(name) {
            return Some(problem.label(here, "declared again here").help(format!(
                "`{}` declares `{name}` first, as {} {what} at line {}; names are unique across the \
                 script and its data files",
                self.script.name(),
                if what == "entity" { "an" } else { "a" },
                self.script.line_of(span.start)
            )));
        }
        let previous = self.data_names.get(name)?;
        if previous.file == origin.file {
            return Some(
                problem
                    .label(here, "declared again here")
                    .label(self.name_span(previous, table, name_column), "first declared here")
                    .help("names are unique across the script and its data files: rename one of them"),
            );
        }
        Some(problem.label(here, "declared again here").help(format!(
            "{}; names are unique across the script and its data files",
            self.first_declared(previous)
        )))
    }
}

/// A problem unless the row has as many cells as the header.
pub(super) fn same_width(table: &Table, row: &Row, problems: &mut Problems) -> bool {
    let (found, wanted) = (row.len(), table.header.len());
    if found == wanted {
        return true;
    }
    let cells = if found == 1 { "cell" } else { "cells" };
    // A quote that is never closed takes the rest of the file into one cell.
    let help = if row.has_line_break() {
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

/// Counts a row, and checks its width and the engine's limit on `what`
/// (`already` of them before it, at most `max`): true when the row is to be
/// read. The limit is reported once, at the first row past it.
pub(super) fn admit(
    table: &Table,
    row: &Row,
    problems: &mut Problems,
    rows: &mut usize,
    (already, max): (usize, usize),
    what: &str,
) -> bool {
    *rows += 1;
    if !same_width(table, row, problems) {
        return false;
    }
    if already + *rows > max {
        if already + *rows == max + 1 {
            problems.push(over_limit(table, row, what, max));
        }
        return false;
    }
    true
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

/// A problem if a name from data cannot be an entity's name (at `span()`).
pub(super) fn bad_name(name: &str, span: impl Fn() -> Span) -> Option<Problem> {
    let why = name_problem(name)?;
    Some(Problem::error(codes::data::bad_name, format!("`{name}` cannot name an entity")).label(span(), why))
}

/// Why `name` cannot name an entity, if it cannot.
pub(super) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("the name is empty");
    }
    if name.contains(['`', '\n', '\r']) {
        return Some("a name cannot hold a backtick or a line break");
    }
    if syntax::BUILTIN_NAMES.contains(&name) || syntax::BUILTIN_FUNCTIONS.contains(&name) {
        return Some("this is a built-in name");
    }
    None
}

//! What `src/data` hands the checker for the entities of data files and of a
//! host's [`World`](crate::World): rows whose cells are already read into
//! values and checked against the kind, with no syntax-tree item, `Ident` or
//! expression per row. The names sit one after another in one string.

use crate::value::Value;

/// What `src/data` hands the checker beside the script's syntax tree (from
/// data files and the host's `World`):
/// entities and exposures whose cells were read and names looked up once,
/// when the data was read, so that the checker sees neither a syntax-tree
/// item, a name to look up nor an expression per row.
#[derive(Clone, Debug, Default)]
pub(crate) struct DataItems {
    /// The entities, numbered after the script's.
    pub entities: DataEntities,
    /// Every exposure of every file and of the host, in order, as the IR holds
    /// them; creditor and debtor are numbers of data entities (or
    /// `SCRIPT_ENTITY | i`) until the checker numbers them in place.
    pub(crate) exposures: Vec<crate::ir::ExposureDef>,
    /// The script's entities that exposures name: an endpoint
    /// `SCRIPT_ENTITY | i` is `script_entities[i]`.
    pub script_entities: Vec<String>,
    /// The exposures' extra fields (further columns of the files).
    pub columns: Vec<DataColumn>,
}

/// An endpoint at or above this is a script entity (see [`DataItems`]).
pub(crate) const SCRIPT_ENTITY: u32 = 1 << 31;

/// An extra field of the exposures of data files: every value is a literal of
/// the column's type, or `None` where a cell was empty (or its file had no
/// such column).
#[derive(Clone, Debug)]
pub(crate) struct DataColumn {
    /// The column's header: the field's name.
    pub name: String,
    /// The type of its values.
    pub ty: crate::value::Type,
    /// One per data exposure.
    pub values: Vec<crate::value::Value>,
}

/// The entities of every data file and of the host's `World`, in the order
/// they were read (the checker numbers them after the script's entities).
#[derive(Clone, Debug, Default)]
pub struct DataEntities {
    /// Where rows come from: a data file's path, or the host's `World`.
    pub sources: Vec<String>,
    /// The kinds the rows name (the checker resolves each once).
    pub kinds: Vec<String>,
    /// The fields the rows set, by name (the checker finds each in its kind).
    pub fields: Vec<String>,
    names: String,
    rows: Vec<Row>,
    values: Vec<(u32, Value)>,
}

/// One entity: where its name and values end in the shared lists.
#[derive(Clone, Copy, Debug)]
struct Row {
    name_end: u32,
    values_end: u32,
    kind: u32,
    source: u32,
    /// The line of a data file, or the entity's number in the host's `World`.
    at: u32,
}

/// One data entity, as [`DataEntities::get`] shows it.
#[derive(Clone, Copy, Debug)]
pub struct DataEntity<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its kind: an index into [`DataEntities::kinds`].
    pub kind: u32,
    /// Where it comes from: an index into [`DataEntities::sources`].
    pub source: u32,
    /// The line of its row (a data file), or its number (the host's `World`).
    pub at: u32,
    /// The fields it sets (an index into [`DataEntities::fields`]) and their values.
    pub values: &'a [(u32, Value)],
}

/// The index of `name` in a short list, added if it is not there.
pub(super) fn intern(list: &mut Vec<String>, name: &str) -> u32 {
    match list.iter().position(|n| n == name) {
        Some(i) => i as u32,
        None => {
            list.push(name.to_string());
            (list.len() - 1) as u32
        }
    }
}

impl DataEntities {
    /// The number of entities.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds an entity; `values` are `(field, value)` with `field` an index into
    /// [`DataEntities::fields`].
    pub(super) fn push(&mut self, name: &str, kind: u32, source: u32, at: u32, values: &[(u32, Value)]) {
        self.names.push_str(name);
        self.values.extend_from_slice(values);
        self.rows.push(Row {
            name_end: self.names.len() as u32,
            values_end: self.values.len() as u32,
            kind,
            source,
            at,
        });
    }

    /// Entity number `i` (in reading order).
    pub fn get(&self, i: usize) -> Option<DataEntity<'_>> {
        let row = self.rows.get(i)?;
        let (name_start, values_start) = match i.checked_sub(1).map(|p| self.rows[p]) {
            Some(previous) => (previous.name_end as usize, previous.values_end as usize),
            None => (0, 0),
        };
        Some(DataEntity {
            name: self.names.get(name_start..row.name_end as usize).unwrap_or(""),
            kind: row.kind,
            source: row.source,
            at: row.at,
            values: self.values.get(values_start..row.values_end as usize).unwrap_or(&[]),
        })
    }

    /// Every entity, in order.
    pub fn iter(&self) -> impl Iterator<Item = DataEntity<'_>> {
        (0..self.rows.len()).filter_map(|i| self.get(i))
    }

    /// Frees the spare capacity of a vector that grew while reading.
    pub(super) fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.rows.shrink_to_fit();
        self.values.shrink_to_fit();
    }

    /// Where entity `e` comes from, for a message: "`banks.csv` (line 8)" or
    /// "the host's World (entity 3)".
    pub fn origin(&self, e: &DataEntity) -> String {
        let source = self.sources.get(e.source as usize).map_or("", String::as_str);
        if source == super::HOST {
            format!("{source} (entity {})", e.at)
        } else {
            format!("`{source}` (line {})", e.at)
        }
    }
}

//! Host data: entities and exposures a host supplies from its own records.
//! They are read as the rows of data files are (`src/data/host.rs`): checked
//! against the script's kinds, with no syntax-tree item per row, and every
//! problem names the host's entity or exposure, never a span of the script.

use super::*;

/// An entity from host data: name, kind, initial values of stored fields.
type HostEntity = (String, String, Vec<(String, Value)>);

/// Entities and exposures that a host supplies from its own data; see
/// [`Engine::compile_with_data`].
#[derive(Clone, Debug, Default)]
pub struct World {
    pub(crate) entities: Vec<HostEntity>,
    pub(crate) exposures: Vec<(String, String, Decimal, Decimal)>,
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// Adds an entity of a kind the script declares, with initial values of
    /// some of its stored fields (numbers, bools, dates or strings). Its name
    /// need not be an identifier (a script writes such a name between
    /// backticks). Problems are reported when the script is compiled, naming
    /// the entity by its number: the first added is entity 1.
    pub fn entity(&mut self, name: &str, kind: &str, fields: &[(&str, Value)]) -> &mut World {
        let fields = fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        self.entities.push((name.to_string(), kind.to_string(), fields));
        self
    }

    /// Adds an exposure: `creditor` loses `amount × (1 − recovery)` if `debtor`
    /// defaults. Creditor and debtor are entities of the script, of its data
    /// files or of this world; problems name the exposure by its number (the
    /// first added is exposure 1).
    pub fn exposure(
        &mut self,
        creditor: &str,
        debtor: &str,
        amount: Decimal,
        recovery: Decimal,
    ) -> &mut World {
        self.exposures.push((creditor.to_string(), debtor.to_string(), amount, recovery));
        self
    }
}

//! Data files: `entities Kind from "file"` and `exposures from "file"`.
//!
//! The engine never opens a file. A host registers a [`DataLoader`] on the
//! [`Engine`](crate::Engine); for each `from "NAME"` the engine asks it for the
//! bytes of `NAME`, reads them as CSV (`table`), turns every row into an entity
//! or an exposure (`rows`), and adds those to the script before it is checked,
//! exactly as if they had been written in it. Every problem of a file is
//! reported at its cell (file, line, column), all of them at once; a file with a
//! problem loads nothing, and neither does the program.

mod cells;
mod chunks;
mod entities;
mod exposures;
mod host;
mod items;
mod names;
mod rows;
mod table;

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem};
use crate::source::SourceFile;
use crate::syntax::{File, Item};

pub use items::DataEntities;
pub(crate) use items::{DataItems, SCRIPT_ENTITY};
pub(crate) use rows::Limits;

/// What diagnostics and messages call the entities and exposures a host
/// supplies in a [`World`](crate::World).
pub(crate) const HOST: &str = "the host's World";

/// Supplies the data files a script names in `entities Kind from "NAME"` and
/// `exposures from "NAME"`. The engine never opens files itself: a host that
/// allows scripts to read data registers a loader with
/// [`Engine::loader`](crate::Engine::loader), and decides what a name means (a
/// path beside the script, a table of its own, a download it has made).
///
/// A closure `Fn(&str, &str) -> Result<DataFile, String>` is a loader:
///
/// ```
/// use cascade::{DataFile, Engine};
/// let engine = Engine::new().loader(|name: &str, _script: &str| match name {
///     "banks.csv" => Ok(DataFile::new("banks.csv", "name,capital\nhsbc,5bn\nbarclays,3bn\n")),
///     other => Err(format!("no data set called `{other}`")),
/// });
/// let script = "kind Bank { capital = 0 }\nentities Bank from \"banks.csv\"";
/// let mut run = engine.compile(script, "banks.cascade")?.run()?;
/// assert_eq!(run.value("barclays.capital")?.to_string(), "3000000000");
/// # Ok::<(), cascade::Error>(())
/// ```
pub trait DataLoader: Send + Sync {
    /// The contents of the data file that the script called `script` names
    /// `name`, or why it cannot be had (shown at the `from "NAME"`).
    fn load(&self, name: &str, script: &str) -> Result<DataFile, String>;
}

impl<F> DataLoader for F
where
    F: Fn(&str, &str) -> Result<DataFile, String> + Send + Sync,
{
    fn load(&self, name: &str, script: &str) -> Result<DataFile, String> {
        self(name, script)
    }
}

/// The contents of one data file, as a loader returns it.
#[derive(Clone)]
pub struct DataFile {
    /// What diagnostics and the provenance call the file (usually its path).
    pub path: String,
    /// Its bytes: CSV, UTF-8 (a byte-order mark is allowed).
    pub bytes: Vec<u8>,
}

impl DataFile {
    /// The most bytes an [`Engine`](crate::Engine) takes from one data file
    /// unless told otherwise ([`Engine::max_data_bytes`](crate::Engine::max_data_bytes)): 256 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

    /// A data file called `path` with these contents.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> DataFile {
        DataFile { path: path.into(), bytes: bytes.into() }
    }

    /// Reads the file at `path`, bounded, for a loader: only a regular file
    /// or a pipe (a device such as `/dev/zero` never ends), and at most
    /// `max_bytes + 1` bytes, so that an engine whose
    /// [`max_data_bytes`](crate::Engine::max_data_bytes) is `max_bytes` sees
    /// that the file is longer and refuses it with a diagnostic naming the file
    /// and the limit. The error is a sentence for the diagnostic.
    ///
    /// ```
    /// use cascade::DataFile;
    /// let dir = std::env::temp_dir().join("cascade-doc-data-read");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("banks.csv");
    /// std::fs::write(&path, "name,capital\nhsbc,5bn\n").unwrap();
    /// assert_eq!(DataFile::read(&path, 1 << 20).unwrap().bytes.len(), 22);
    /// assert_eq!(DataFile::read(&path, 10).unwrap().bytes.len(), 11, "one byte past the limit");
    /// assert!(DataFile::read(&dir, 1 << 20).unwrap_err().contains("directory"));
    /// ```
    pub fn read(path: &std::path::Path, max_bytes: usize) -> Result<DataFile, String> {
        use std::io::Read;
        let shown = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
        match file.metadata() {
            Ok(meta) if crate::source::is_readable_kind(&meta) => {}
            Ok(meta) if meta.is_dir() => return Err(format!("{shown} is a directory")),
            Ok(_) => return Err(format!("{shown} is not a regular file or a pipe")),
            Err(e) => return Err(format!("{shown}: {e}")),
        }
        let mut bytes = Vec::new();
        let wanted = (max_bytes as u64).saturating_add(1);
        (&mut file).take(wanted).read_to_end(&mut bytes).map_err(|e| format!("{shown}: {e}"))?;
        Ok(DataFile { path: shown, bytes })
    }
}

impl fmt::Debug for DataFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataFile({}, {} bytes)", self.path, self.bytes.len())
    }
}

/// A data file a program was compiled with, for the provenance of its outputs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DataSource {
    /// The name the script gives it (`from "banks.csv"`).
    pub name: String,
    /// Where the loader found it (its path, for the `cascade` command).
    pub path: String,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// The rows it contributed.
    pub rows: usize,
}

/// What went wrong loading the data of a script: problems in the script (no
/// loader, an unknown kind, a file that cannot be read) or in the data files.
pub(crate) enum LoadError {
    Script(Vec<Problem>),
    Data(Vec<Diagnostics>),
}

/// The data of a script being compiled: its files read ([`load_files`]),
/// then the host's `World` ([`Loaded::host`]); [`Loaded::finish`] resolves
/// the names that waited and hands everything to the script.
#[derive(Default)]
pub(crate) struct Loaded {
    world: Option<rows::World>,
    /// What was loaded, for the provenance.
    pub sources: Vec<DataSource>,
}

impl Loaded {
    /// The data entities and exposures read so far.
    pub fn counts(&self) -> (usize, usize) {
        self.world.as_ref().map_or((0, 0), |w| (w.entities.len(), w.exposures.len()))
    }

    /// Adds the entities and exposures of the host's `World`, checked as
    /// data files' rows are; a problem names the host's entity or exposure.
    pub fn host(
        &mut self,
        file: &File,
        script: &SourceFile,
        limits: Limits,
        host: &crate::World,
    ) -> Result<(), LoadError> {
        let world = self.world.get_or_insert_with(|| rows::World::new(file, script, limits));
        world.host(host).map_err(|diagnostics| LoadError::Data(vec![diagnostics]))
    }

    /// Resolves the exposures' names that waited (a file may name entities
    /// of any file, or of the host) and hands over what the checker reads
    /// beside the script's syntax tree, with the sources for the provenance.
    pub fn finish(self) -> Result<(DataItems, Vec<DataSource>), LoadError> {
        let items = match self.world {
            Some(world) => world.finish().map_err(LoadError::Data)?,
            None => DataItems::default(),
        };
        Ok((items, self.sources))
    }
}

/// Loads every data file the script names.
pub(crate) fn load_files(
    file: &File,
    script: &SourceFile,
    loader: Option<&Arc<dyn DataLoader>>,
    limits: Limits,
) -> Result<Loaded, LoadError> {
    let decls: Vec<crate::syntax::DataDecl> = file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Data(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    if decls.is_empty() {
        return Ok(Loaded { world: None, sources: Vec::new() });
    }
    let Some(loader) = loader else {
        let problems = decls
            .iter()
            .map(|d| {
                Problem::error(codes::data::no_loader, "this engine does not read data files")
                    .label(d.file_span, "cannot be loaded here")
                    .help(
                        "the program that runs the script must register a loader (`Engine::loader`); \
                         the `cascade` command reads data files beside the script",
                    )
            })
            .collect();
        return Err(LoadError::Script(problems));
    };
    let mut world = rows::World::new(file, script, limits);
    let mut script_problems = Vec::new();
    let mut data_problems = Vec::new();
    let mut sources = Vec::new();
    for decl in &decls {
        let kind = match &decl.kind {
            Some(kind) => match world.kind(kind) {
                Ok(k) => Some(k),
                Err(problem) => {
                    script_problems.push(problem);
                    continue;
                }
            },
            None => None,
        };
        let data = match loader.load(&decl.file, script.name()) {
            Ok(data) => data,
            Err(reason) => {
                script_problems.push(
                    Problem::error(codes::data::read, format!("cannot read `{}`: {reason}", decl.file))
                        .label(decl.file_span, "this data file"),
                );
                continue;
            }
        };
        if data.bytes.len() > limits.max_bytes {
            script_problems.push(too_long(decl, &data.path, limits.max_bytes));
            continue;
        }
        let sha256 = Sha256::digest(&data.bytes).iter().map(|b| format!("{b:02x}")).collect();
        let path = data.path.clone();
        let result = match kind {
            Some(kind) => world.entities(kind, data),
            None => world.exposures(data),
        };
        match result {
            Ok(rows) => sources.push(DataSource { name: decl.file.clone(), path, sha256, rows }),
            Err(diagnostics) => data_problems.push(diagnostics),
        }
    }
    if !script_problems.is_empty() {
        return Err(LoadError::Script(script_problems));
    }
    if !data_problems.is_empty() {
        return Err(LoadError::Data(data_problems));
    }
    Ok(Loaded { world: Some(world), sources })
}

/// The problem of a data file longer than the engine reads.
fn too_long(decl: &crate::syntax::DataDecl, path: &str, limit: usize) -> Problem {
    Problem::error(
        codes::limit::data,
        format!(
            "the data file `{path}` is longer than {limit} bytes, the most this engine reads from one file"
        ),
    )
    .label(decl.file_span, "this data file is too long")
    .help("raise the limit (`Engine::max_data_bytes`, `--max-data-bytes`) or split the file")
}

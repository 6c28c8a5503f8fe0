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
        let size = match file.metadata() {
            Ok(meta) if crate::source::is_readable_kind(&meta) => meta.len(),
            Ok(meta) if meta.is_dir() => return Err(format!("{shown} is a directory")),
            Ok(_) => return Err(format!("{shown} is not a regular file or a pipe")),
            Err(e) => return Err(format!("{shown}: {e}")),
        };
        let wanted = (max_bytes as u64).saturating_add(1);
        // A regular file's size, as far as it will be read, is room made
        // once: no vector grown by doubling, each step copied and its fresh
        // pages touched (a pipe's size is 0, and it grows as it is read).
        let mut bytes = Vec::with_capacity(usize::try_from(size.min(wanted)).unwrap_or(0));
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
    pub fn finish(self) -> Result<(DataItems, Unhashed), LoadError> {
        let (items, texts) = match self.world {
            Some(world) => world.finish().map_err(LoadError::Data)?,
            None => (DataItems::default(), Vec::new()),
        };
        Ok((items, Unhashed { sources: self.sources, texts }))
    }
}

/// The data files a program is compiled with, before the SHA-256 of each is
/// computed for the provenance: hashing a large file takes as long as
/// checking the script does, so the engine hashes on a thread of its own
/// while the checker runs ([`Unhashed::hash`]).
pub(crate) struct Unhashed {
    /// One per file read, in order; `sha256` is empty until hashed.
    sources: Vec<DataSource>,
    /// The file of each source: the same order.
    texts: Vec<rows::Text>,
}

impl Unhashed {
    /// True if the script read no data file.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The sources with their SHA-256; each file's text is freed once hashed.
    pub fn hash(self) -> Vec<DataSource> {
        debug_assert_eq!(self.sources.len(), self.texts.len());
        let mut sources = self.sources;
        for (source, text) in sources.iter_mut().zip(self.texts) {
            source.sha256 = text.sha256();
        }
        sources
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
    // The kinds first: a file whose kind is unknown is not fetched.
    let jobs: Vec<(&crate::syntax::DataDecl, Result<Option<usize>, Problem>)> = decls
        .iter()
        .map(|decl| match &decl.kind {
            Some(kind) => (decl, world.kind(kind).map(Some)),
            None => (decl, Ok(None)),
        })
        .collect();
    let open = |(decl, kind): &(&crate::syntax::DataDecl, Result<Option<usize>, Problem>)| match kind {
        Ok(_) => open(decl, loader.as_ref(), script.name(), limits),
        Err(_) => Opened::Skipped,
    };
    let mut script_problems = Vec::new();
    let mut data_problems = Vec::new();
    let mut sources = Vec::new();
    each_opened(&jobs, open, |(decl, kind), opened| {
        let (kind, table) = match (kind, opened) {
            (Err(problem), _) => return script_problems.push(problem.clone()),
            (_, Opened::Skipped) => return,
            (_, Opened::Script(problem)) => return script_problems.push(problem),
            (_, Opened::Data(diagnostics)) => return data_problems.push(*diagnostics),
            (Ok(kind), Opened::Table(table)) => (*kind, table),
        };
        let path = table.name.clone();
        let result = match kind {
            Some(kind) => world.entities(kind, table),
            None => world.exposures(table),
        };
        match result {
            // The SHA-256 is computed later, beside the check (`Unhashed`).
            Ok(rows) => {
                sources.push(DataSource { name: decl.file.clone(), path, sha256: String::new(), rows })
            }
            Err(diagnostics) => data_problems.push(diagnostics),
        }
    });
    if !script_problems.is_empty() {
        return Err(LoadError::Script(script_problems));
    }
    if !data_problems.is_empty() {
        return Err(LoadError::Data(data_problems));
    }
    Ok(Loaded { world: Some(world), sources })
}

/// A data file fetched from the loader and opened as a table, or why not.
enum Opened {
    Table(table::Table),
    /// A problem at the `from "NAME"` (the loader refused, the file is too long).
    Script(Problem),
    /// A problem in the file itself (not UTF-8, empty, no header).
    Data(Box<Diagnostics>),
    /// Not fetched: the declaration's kind is unknown.
    Skipped,
}

/// Fetches the file a declaration names and opens it.
fn open(decl: &crate::syntax::DataDecl, loader: &dyn DataLoader, script: &str, limits: Limits) -> Opened {
    let data = match loader.load(&decl.file, script) {
        Ok(data) => data,
        Err(reason) => {
            return Opened::Script(
                Problem::error(codes::data::read, format!("cannot read `{}`: {reason}", decl.file))
                    .label(decl.file_span, "this data file"),
            );
        }
    };
    if data.bytes.len() > limits.max_bytes {
        return Opened::Script(too_long(decl, &data.path, limits.max_bytes));
    }
    match table::Table::open(&data.path, data.bytes) {
        Ok(mut table) => {
            if decl.kind.is_none() {
                // A file of exposures is read in chunks (`chunks.rs`).
                table.cut_ahead(chunks::CHUNK_BYTES);
            }
            Opened::Table(table)
        }
        Err(diagnostics) => Opened::Data(diagnostics),
    }
}

/// Calls `read` with each job and its file opened, in order. With several
/// files, the next is fetched and opened (read from disk, checked to be
/// UTF-8, cut into chunks) on a thread of its own while this one reads the
/// rows of the one before; the loader is asked for the files in order, one
/// at a time, and at most one opened file waits.
fn each_opened<J: Sync>(jobs: &[J], open: impl Fn(&J) -> Opened + Sync, mut read: impl FnMut(&J, Opened)) {
    if jobs.len() < 2 {
        return jobs.iter().for_each(|job| read(job, open(job)));
    }
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(0);
        let open = &open;
        let opener = std::thread::Builder::new().name("cascade-open".into()).spawn_scoped(scope, move || {
            for job in jobs {
                if sender.send(open(job)).is_err() {
                    break;
                }
            }
        });
        let Ok(opener) = opener else {
            return jobs.iter().for_each(|job| read(job, open(job)));
        };
        for (job, opened) in jobs.iter().zip(receiver) {
            read(job, opened);
        }
        // A loader that panicked: its panic, as if it had been called here.
        if let Err(panic) = opener.join() {
            std::panic::resume_unwind(panic);
        }
    });
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

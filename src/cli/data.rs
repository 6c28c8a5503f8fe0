//! The `cascade` command's data loader: the files a script names in
//! `entities Kind from "NAME"` and `exposures from "NAME"` are read (read-only)
//! relative to the script's folder, unless `--data NAME=PATH` points a name
//! elsewhere (relative to the current folder), so one script runs on many data
//! sets. A file is read bounded (`DataFile::read`): at most the engine's
//! `--max-data-bytes`, and only a regular file or a pipe.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cascade::{DataFile, DataLoader};

/// Reads data files beside the script, or where `--data` says.
pub struct FileLoader {
    /// The most bytes read from one file (the engine refuses a longer one).
    max_bytes: usize,
    overrides: Vec<(String, PathBuf)>,
    /// The names scripts asked for, to find `--data` names that no script uses.
    asked: Mutex<Vec<String>>,
}

/// The REPL names a world it has edited `FILE (edited in the REPL)`.
const EDITED: &str = " (edited in the REPL)";

impl FileLoader {
    /// A loader with the `--data NAME=PATH` arguments, or the first that is not
    /// of that form.
    /// Files are read up to `max_bytes` (and one byte more, so that the
    /// engine sees a longer file and names the limit).
    pub fn new(data: &[String], max_bytes: usize) -> Result<Arc<FileLoader>, String> {
        let mut overrides = Vec::new();
        for arg in data {
            let Some((name, path)) = arg.split_once('=').filter(|(n, p)| !n.is_empty() && !p.is_empty())
            else {
                return Err(format!(
                    "`--data {arg}` should be `--data NAME=PATH`, e.g. `--data banks.csv=2026q1/banks.csv`"
                ));
            };
            overrides.retain(|(n, _): &(String, PathBuf)| n != name);
            overrides.push((name.to_string(), PathBuf::from(path)));
        }
        Ok(Arc::new(FileLoader { max_bytes, overrides, asked: Mutex::new(Vec::new()) }))
    }

    /// The `--data` names that no script has asked for.
    pub fn unused(&self) -> Vec<String> {
        let asked = self.asked.lock().map(|a| a.clone()).unwrap_or_default();
        self.overrides.iter().map(|(n, _)| n.clone()).filter(|n| !asked.contains(n)).collect()
    }

    fn path(&self, name: &str, script: &str) -> PathBuf {
        if let Some((_, path)) = self.overrides.iter().find(|(n, _)| n == name) {
            return path.clone();
        }
        let script = script.strip_suffix(EDITED).unwrap_or(script);
        let folder = Path::new(script).parent().unwrap_or(Path::new(""));
        folder.join(name)
    }
}

/// A [`FileLoader`] shared between the engine and the command that checks
/// which `--data` names were used.
pub struct Shared(pub Arc<FileLoader>);

impl DataLoader for Shared {
    fn load(&self, name: &str, script: &str) -> Result<DataFile, String> {
        let loader = &self.0;
        if let Ok(mut asked) = loader.asked.lock() {
            asked.push(name.to_string());
        }
        let path = loader.path(name, script);
        DataFile::read(&path, loader.max_bytes)
    }
}

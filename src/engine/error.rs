//! The errors of the library API.

use super::*;

/// Errors of the library API.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Problems in the script: syntax, check or run time. Render them with
    /// [`Diagnostics::render`].
    #[error("{0}")]
    #[diagnostic(transparent)]
    Script(Box<Diagnostics>),
    /// A script file that could not be read: it does not exist, is a
    /// directory or a device, or reading it failed. Its one problem has the
    /// code `cascade::io::read` and names the file. (A file that is read but
    /// is too long or not UTF-8 is a [`Error::Script`] problem.)
    #[error("{0}")]
    #[diagnostic(transparent)]
    Io(Box<Diagnostics>),
    /// Problems in the data files a script loads (`entities Kind from "file"`):
    /// one [`Diagnostics`] per file that has any, each at its cells.
    #[error("problems in {} data file{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    #[diagnostic(code(cascade::data::problems))]
    Data(Vec<Diagnostics>),
    /// A name the program does not declare.
    #[error("unknown name `{name}`")]
    #[diagnostic(code(cascade::api::unknown_name))]
    UnknownName {
        /// The name asked for.
        name: String,
        /// "did you mean ...?" or the list of names.
        #[help]
        help: Option<String>,
    },
    /// A value of the wrong type or form for a param.
    #[error("invalid value for `{name}`: {reason}")]
    #[diagnostic(code(cascade::api::bad_value))]
    BadValue {
        /// The param.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A bad option of a sweep (`--vary`, `--shard`, `--record`, ...).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sweep(Box<SweepError>),
    /// Shard outputs that do not make one sweep.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Merge(Box<MergeError>),
    /// A host function registered with a name that cannot be used.
    #[error("cannot register host function `{name}`: {reason}")]
    #[diagnostic(code(cascade::api::bad_function))]
    BadFunction {
        /// The function's name.
        name: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The diagnostics, if this is a script error or a file that could not be read.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Script(d) | Error::Io(d) => Some(d),
            _ => None,
        }
    }
}

impl From<crate::names::NameError> for Error {
    fn from(e: crate::names::NameError) -> Error {
        match e {
            crate::names::NameError::Unknown { name, help } => Error::UnknownName { name, help },
            crate::names::NameError::Bad { name, reason } => Error::BadValue { name, reason },
        }
    }
}

/// A bad sweep option: which flag, what is wrong, what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("`{flag}`: {message}")]
#[diagnostic(code(cascade::sweep::bad_option))]
pub struct SweepError {
    /// The flag as given (`--vary x=5..1/3`).
    pub flag: String,
    /// What is wrong with it.
    pub message: String,
    /// What to do instead.
    #[help]
    pub help: Option<String>,
}

impl SweepError {
    pub(crate) fn new(flag: &str, message: impl Into<String>) -> SweepError {
        SweepError { flag: flag.to_string(), message: message.into(), help: None }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> SweepError {
        self.help = Some(help.into());
        self
    }
}

/// Why shards cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(cascade::merge::mismatch))]
pub struct MergeError {
    /// What is wrong, naming the files.
    pub message: String,
    /// What to do.
    #[help]
    pub help: Option<String>,
}

//! Errors a user can fix in a sweep or calibration file, or in how a sweep folder is used. Each
//! names the file, and where it can, the line, column and dotted key; all map to exit code 2.

use std::path::PathBuf;

use crate::scenario::error::Location;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("could not read '{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{location}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{}{}: key `{key}`: {message}", path.display(), location.as_ref().map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<Location>,
        key: String,
        message: String,
    },
    /// A folder that cannot be resumed, merged or analysed as asked.
    #[error("'{}': {message}", path.display())]
    Folder { path: PathBuf, message: String },
}

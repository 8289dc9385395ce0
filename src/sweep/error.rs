//! Errors a user can fix in a sweep or calibration file, or in how a sweep folder is used. Each
//! names the file, and where it can, the line, column and dotted key; all map to exit code 2.

use std::path::PathBuf;

use crate::scenario::error::InputError;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A sweep or calibration file that cannot be read, parsed or accepted.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A folder that cannot be resumed, merged or analysed as asked.
    #[error("'{}': {message}", path.display())]
    Folder { path: PathBuf, message: String },
}

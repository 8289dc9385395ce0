//! Output: a run folder of tidy CSV files and a JSON manifest. Every file is written under a
//! temporary name in the destination folder and renamed into place only when the run has
//! finished, so an interrupted run never leaves a half-written result file.

pub mod csv;
pub mod manifest;

use std::fs::File;
use std::io::BufWriter;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::NamedTempFile;

/// The output folder already holds results and `--force` was not given.
#[derive(Debug, thiserror::Error)]
#[error("output folder '{}' already exists and is not empty; pass --force to overwrite it or --out to choose another", .0.display())]
pub struct OutputExists(pub PathBuf);

/// Make sure `dir` exists and may be written: it must be absent or empty unless `force`.
pub fn prepare_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir)
            .with_context(|| format!("could not read output folder '{}'", dir.display()))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(OutputExists(dir.to_path_buf()).into());
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create output folder '{}'", dir.display()))
}

/// A file being written under a temporary name in its destination folder.
pub struct PendingFile {
    temp: NamedTempFile,
    dest: PathBuf,
}

impl PendingFile {
    pub fn new(dir: &Path, name: &str) -> anyhow::Result<PendingFile> {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(dir)
            .with_context(|| format!("could not create a temporary file in '{}'", dir.display()))?;
        Ok(PendingFile {
            temp,
            dest: dir.join(name),
        })
    }

    /// A buffered writer onto the temporary file.
    pub fn writer(&self) -> anyhow::Result<BufWriter<File>> {
        let f = self
            .temp
            .reopen()
            .with_context(|| format!("could not write '{}'", self.dest.display()))?;
        Ok(BufWriter::with_capacity(1 << 16, f))
    }

    /// Rename the finished file into place.
    pub fn commit(self) -> anyhow::Result<PathBuf> {
        let dest = self.dest;
        self.temp
            .as_file()
            .sync_all()
            .with_context(|| format!("could not write '{}'", dest.display()))?;
        self.temp
            .persist(&dest)
            .map_err(|e| e.error)
            .with_context(|| format!("could not write '{}'", dest.display()))?;
        Ok(dest)
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }
}

/// Format a number for CSV: shortest round-trip decimal, `NA` when undefined.
pub fn number(x: Option<f64>) -> String {
    let mut s = String::new();
    write_number(&mut s, x);
    s
}

/// [`number`] into `buf`, replacing what it held.
pub fn write_number(buf: &mut String, x: Option<f64>) {
    use std::fmt::Write as _;
    buf.clear();
    match x {
        Some(v) if v.is_finite() => {
            let _ = write!(buf, "{v}");
        }
        _ => buf.push_str("NA"),
    }
}

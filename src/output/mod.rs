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

/// Make sure `dir` exists and may be written: it must be absent or empty unless `force`. With
/// `force`, the temporary files that an interrupted writer left in it (see [`is_temp_file`]) are
/// removed; the results themselves are replaced only as the new ones are renamed into place.
pub fn prepare_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|e| OutputFolder::new(dir, &e))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(OutputExists(dir.to_path_buf()).into());
        }
        if force {
            remove_temp_files(dir)?;
        }
    }
    Ok(create_output_dir(dir)?)
}

/// The output folder cannot be used: a file is in its way, or it cannot be created or read (no
/// permission, no such parent). The user chose it, so this is bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("output folder '{}' cannot be used: {reason}; choose another with --out", path.display())]
pub struct OutputFolder {
    pub path: PathBuf,
    pub reason: String,
}

impl OutputFolder {
    pub fn new(dir: &Path, e: &std::io::Error) -> OutputFolder {
        let reason = match e.kind() {
            std::io::ErrorKind::NotADirectory => "a file of that name is in the way".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        OutputFolder {
            path: dir.to_path_buf(),
            reason,
        }
    }
}

/// Create the output folder `dir` (and its parents), or say why it cannot be used.
pub fn create_output_dir(dir: &Path) -> Result<(), OutputFolder> {
    if dir.exists() && !dir.is_dir() {
        return Err(OutputFolder {
            path: dir.to_path_buf(),
            reason: "it is a file, not a folder".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| OutputFolder::new(dir, &e))
}

/// Whether `name` is a [`PendingFile`]'s temporary name (`.NAME.XXXXXX.partial`).
pub fn is_temp_file(name: &str) -> bool {
    name.len() > ".partial".len() + 1 && name.starts_with('.') && name.ends_with(".partial")
}

/// Remove the temporary files of [`PendingFile`]s in `dir` (left by a process that was killed
/// before it could delete them). Returns how many there were.
pub fn remove_temp_files(dir: &Path) -> anyhow::Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if is_temp_file(&name.to_string_lossy()) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path)
                .with_context(|| format!("could not remove '{}'", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// A file being written under a temporary name in its destination folder. Dropping it deletes
/// the temporary file; so does a second signal that ends the process at once
/// ([`crate::signals`]).
pub struct PendingFile {
    temp: NamedTempFile,
    dest: PathBuf,
    _guard: crate::signals::TempGuard,
}

impl PendingFile {
    pub fn new(dir: &Path, name: &str) -> anyhow::Result<PendingFile> {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(dir)
            .with_context(|| format!("could not create a temporary file in '{}'", dir.display()))?;
        let _guard = crate::signals::TempGuard::new(temp.path());
        Ok(PendingFile {
            temp,
            dest: dir.join(name),
            _guard,
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

    /// Rename the finished file into place, unless a signal has asked the process to stop: then
    /// the file is dropped (its temporary deleted) and [`crate::experiment::Interrupted`]
    /// returned, so that nothing new appears after the signal.
    pub fn commit(self) -> anyhow::Result<PathBuf> {
        if crate::signals::cancelled() {
            return Err(crate::experiment::Interrupted.into());
        }
        self.commit_now()
    }

    /// Commit every file of a set, or (after a signal) none: the check is made once, before the
    /// first rename, so a signal cannot leave half a set in place.
    pub fn commit_all(files: Vec<PendingFile>) -> anyhow::Result<Vec<PathBuf>> {
        if crate::signals::cancelled() {
            return Err(crate::experiment::Interrupted.into());
        }
        files.into_iter().map(PendingFile::commit_now).collect()
    }

    fn commit_now(self) -> anyhow::Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_removes_only_the_temporary_files_of_writers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [
            ".by_ccg.csv.Ab12Cd.partial",
            ".replicates.csv.x.partial",
            "timeseries.csv",
            "notes.partial",
            ".partial",
        ] {
            std::fs::write(d.join(name), "x").unwrap();
        }
        assert!(prepare_dir(d, false).unwrap_err().is::<OutputExists>());
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            5,
            "refused: nothing removed"
        );
        prepare_dir(d, true).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".partial", "notes.partial", "timeseries.csv"]);
    }

    #[test]
    fn a_dropped_pending_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = PendingFile::new(dir.path(), "a.csv").unwrap();
        std::io::Write::write_all(&mut f.writer().unwrap(), b"half").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(f);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

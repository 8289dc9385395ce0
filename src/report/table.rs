//! Reading the result CSV files by column name, never by position, so that files with extra
//! columns (a `month` after `tick`, parameter columns in a sweep summary) read the same as files
//! without them. Rows are streamed, so large files are never held whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::ReportError;

/// A CSV file opened for reading with its header.
pub struct CsvRows {
    path: PathBuf,
    headers: Vec<String>,
    reader: csv::Reader<File>,
}

impl CsvRows {
    /// Open `path` and read its header.
    pub fn open(path: &Path) -> Result<CsvRows, ReportError> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| ReportError::File {
            path: path.to_path_buf(),
            line: 1,
            problem: format!("could not be read: {e}"),
        })?;
        let headers = reader
            .headers()
            .map_err(|e| ReportError::File {
                path: path.to_path_buf(),
                line: 1,
                problem: format!("has no readable header: {e}"),
            })?
            .iter()
            .map(str::to_string)
            .collect();
        Ok(CsvRows {
            path: path.to_path_buf(),
            headers,
            reader,
        })
    }

    /// The header's column names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The position of column `name`, which the file must have.
    pub fn column(&self, name: &str) -> Result<usize, ReportError> {
        self.optional(name).ok_or_else(|| ReportError::File {
            path: self.path.clone(),
            line: 1,
            problem: format!(
                "has no column `{name}` (its columns are {})",
                self.headers.join(",")
            ),
        })
    }

    /// The position of column `name`, if the file has it.
    pub fn optional(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Call `f` with each row and its line number.
    pub fn each(
        &mut self,
        mut f: impl FnMut(&Row<'_>) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        let mut record = csv::StringRecord::new();
        loop {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => f(&Row {
                    path: &self.path,
                    line: record.position().map_or(line, |p| p.line()),
                    record: &record,
                })?,
                Err(e) => {
                    return Err(ReportError::File {
                        path: self.path.clone(),
                        line,
                        problem: format!("is not valid CSV: {e}"),
                    });
                }
            }
        }
    }
}

/// One row of a [`CsvRows`], with what is needed to report a bad field.
pub struct Row<'a> {
    path: &'a Path,
    line: u64,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The text of column `i` (empty when the row is short).
    pub fn text(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("")
    }

    /// The number in column `i`; `None` for `NA` or an empty field.
    pub fn number(&self, i: usize) -> Result<Option<f64>, ReportError> {
        let s = self.text(i).trim();
        if s.is_empty() || s == "NA" {
            return Ok(None);
        }
        s.parse::<f64>()
            .map(Some)
            .map_err(|_| self.error(format!("expected a number or NA, got \"{s}\"")))
    }

    /// A whole number (a tick, a point, a count) in column `i`.
    pub fn index(&self, i: usize) -> Result<usize, ReportError> {
        let s = self.text(i).trim();
        s.parse::<usize>()
            .map_err(|_| self.error(format!("expected a whole number, got \"{s}\"")))
    }

    /// An error about this row.
    pub fn error(&self, problem: String) -> ReportError {
        ReportError::File {
            path: self.path.to_path_buf(),
            line: self.line,
            problem,
        }
    }
}

/// A 95% interval from two optional ends (both must be defined).
pub fn interval(low: Option<f64>, high: Option<f64>) -> Option<(f64, f64)> {
    match (low, high) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() => Some((l, h)),
        _ => None,
    }
}

//! `ccgsim report`: one self-contained HTML page of charts and tables from run, compare, sweep,
//! calibration, optimisation and discovery folders, with each chart also written as its own SVG
//! file.
//!
//! [`write_report`] detects each folder's kind from its files ([`folder::detect`]), loads what the
//! page needs by column name ([`folder`], [`table`]), draws the charts through the generic chart
//! code ([`chart`], [`svg`]), assembles the page ([`sections`], [`html`]) and writes the page and
//! its charts through temporary files renamed into place. Output depends only on the inputs: the
//! same folders give the same bytes.

pub mod chart;
pub mod decision;
pub mod folder;
pub mod html;
mod sections;
pub mod svg;
pub mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::output::PendingFile;
use folder::{Calibration, Compare, Kind, Run, Sweep};

/// Input the user can fix: a folder that is not a result folder, a file missing or malformed,
/// runs that cannot be overlaid, or an existing report without `--force`. Exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Something is wrong with a result folder as a whole.
    #[error("'{}' {problem}", .dir.display())]
    Folder { dir: PathBuf, problem: String },
    /// A file of a result folder has a bad header or row.
    #[error("'{}' line {line}: {problem}", .path.display())]
    File {
        path: PathBuf,
        line: u64,
        problem: String,
    },
    /// The folders cannot be shown together.
    #[error("{0}")]
    Mismatch(String),
    /// A folder's manifest or files do not match its checksums, or it has none.
    #[error(transparent)]
    Integrity(#[from] crate::integrity::IntegrityError),
    /// The report (or its chart folder) exists and `--force` was not given.
    #[error("'{}' already exists; pass --force to overwrite it or --out to choose another file", .0.display())]
    Exists(PathBuf),
}

/// The folders of a report, loaded and sorted by kind (each list in command-line order).
#[derive(Debug, Default)]
pub struct Inputs {
    pub runs: Vec<Run>,
    pub compares: Vec<Compare>,
    pub sweeps: Vec<Sweep>,
    pub calibrations: Vec<Calibration>,
    pub optimisations: Vec<decision::Optimisation>,
    pub discoveries: Vec<decision::Discovery>,
}

impl Inputs {
    /// Detect, verify and load every folder of `dirs`; folders without checksums are refused
    /// unless `accept_unverified`.
    pub fn load(dirs: &[PathBuf], accept_unverified: bool) -> Result<Inputs, ReportError> {
        let mut inputs = Inputs::default();
        let a = accept_unverified;
        for dir in dirs {
            match folder::detect(dir)? {
                Kind::Run => inputs.runs.push(folder::load_run(dir, a)?),
                Kind::Compare => inputs.compares.push(folder::load_compare(dir, a)?),
                Kind::Sweep => inputs.sweeps.push(folder::load_sweep(dir, a)?),
                Kind::Calibration => inputs.calibrations.push(folder::load_calibration(dir, a)?),
                Kind::Optimisation => inputs
                    .optimisations
                    .push(decision::load_optimisation(dir, a)?),
                Kind::Discovery => inputs.discoveries.push(decision::load_discovery(dir, a)?),
            }
        }
        name_runs(&mut inputs.runs);
        check_overlay(&inputs.runs)?;
        Ok(inputs)
    }
}

/// Legend names: each run's scenario name, or its folder's name where two runs share a scenario
/// name, or the folder as given where those clash too.
fn name_runs(runs: &mut [Run]) {
    let scenario_names: Vec<String> = runs.iter().map(|r| r.scenario.clone()).collect();
    let folder_name = |r: &Run| {
        r.dir.file_name().map_or_else(
            || r.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let folder_names: Vec<String> = runs.iter().map(folder_name).collect();
    for (i, run) in runs.iter_mut().enumerate() {
        let count = |names: &[String], n: &str| names.iter().filter(|m| *m == n).count();
        run.name = if !run.scenario.is_empty() && count(&scenario_names, &run.scenario) == 1 {
            run.scenario.clone()
        } else if count(&folder_names, &folder_names[i]) == 1 {
            folder_names[i].clone()
        } else {
            run.dir.display().to_string()
        };
    }
}

/// Runs overlaid on one chart must have the same number of months.
fn check_overlay(runs: &[Run]) -> Result<(), ReportError> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    if runs.iter().all(|r| r.ticks() == first.ticks()) {
        return Ok(());
    }
    let lengths: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "'{}' has {} ticks ({} to {})",
                r.dir.display(),
                r.ticks(),
                r.start,
                r.final_month()
            )
        })
        .collect();
    Err(ReportError::Mismatch(format!(
        "runs of different lengths cannot be overlaid: {}; report them separately or rerun them \
         over the same months",
        lengths.join(", ")
    )))
}

/// The chart folder beside a report: `report.html` -> `report_files/`.
pub fn charts_dir(report: &Path) -> PathBuf {
    let stem = report.file_stem().map_or_else(
        || "report".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    report.with_file_name(format!("{stem}_files"))
}

/// Write the report of the folders `dirs` to `out` (default `<first dir>/report.html`) and each
/// chart to its own SVG file in the folder beside it ([`charts_dir`]). An existing report is
/// refused unless `force`. Returns the report's path.
pub fn write_report(dirs: &[PathBuf], out: Option<&Path>, force: bool) -> anyhow::Result<PathBuf> {
    write_report_with(dirs, out, force, false)
}

/// [`write_report`], reading folders without checksums (written by an earlier ccgsim) if
/// `accept_unverified`.
pub fn write_report_with(
    dirs: &[PathBuf],
    out: Option<&Path>,
    force: bool,
    accept_unverified: bool,
) -> anyhow::Result<PathBuf> {
    let Some(first) = dirs.first() else {
        return Err(ReportError::Mismatch("report needs at least one folder".into()).into());
    };
    let report = out.map_or_else(|| first.join("report.html"), Path::to_path_buf);
    let charts = charts_dir(&report);
    if !force {
        if report.exists() {
            return Err(ReportError::Exists(report).into());
        }
        let non_empty = std::fs::read_dir(&charts).is_ok_and(|mut d| d.next().is_some());
        if non_empty {
            return Err(ReportError::Exists(charts).into());
        }
    }
    let inputs = Inputs::load(dirs, accept_unverified)?;
    let charts_name = charts
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let (html, files) = sections::page(&inputs, &charts_name);

    let parent = match report.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::output::create_output_dir(&charts)?;
    remove_stale_charts(&charts, &files)?;
    for f in &files {
        write_file(&charts, &f.file, &f.svg)?;
    }
    let name = report.file_name().map_or_else(
        || "report.html".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    write_file(&parent, &name, &html)?;
    Ok(report)
}

/// Remove the SVG files of an earlier report that this one does not write.
fn remove_stale_charts(dir: &Path, keep: &[html::ChartFile]) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("could not read '{}'", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".svg") && !keep.iter().any(|f| f.file == name) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("could not remove '{}'", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Write `text` to `dir/name` through a temporary file renamed into place.
fn write_file(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let file = PendingFile::new(dir, name)?;
    {
        let mut w = file.writer()?;
        std::io::Write::write_all(&mut w, text.as_bytes())
            .and_then(|_| std::io::Write::flush(&mut w))
            .with_context(|| format!("could not write '{}'", file.dest().display()))?;
    }
    file.commit()
}

//! Running a sweep: every (point, replicate, CCG) of a chunk of points is one indexed unit on the
//! rayon pool; units are reduced in index order and each finished chunk's rows are appended, in
//! point order, to journals in the output folder and made durable before the folder's state file
//! records them. A resumed sweep truncates the journals to what the state file vouches for and
//! carries on; when every point is done, the journals are copied under their headers into the final
//! files, which are renamed into place. Nothing depends on the thread count, the chunking, the
//! shard or on how often the sweep was interrupted, so the final files are the same bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toml::Value;

use super::design::Design;
use super::error::SweepError;
use super::spec::{At, Base, Domain, PointModel, Sweep, located, point_structure, read};
use crate::engine::{Observed, Workspace, simulate_ccg_observing, simulate_group_observing};
use crate::integrity::Measure;
use crate::metrics::{METRICS, TALLY_LEN, Tally};
use crate::output::{OutputExists, PendingFile, number};
use crate::population::{MergerPlan, Population};
use crate::rng::{Purpose, stream};
use crate::stats::Welford;

/// The folder's progress, rewritten atomically after each chunk.
pub const STATE_FILE: &str = ".sweep-state.json";
/// Rows of finished points, appended in point order.
pub const RESULTS_JOURNAL: &str = ".results.journal";
pub const SUMMARY_JOURNAL: &str = ".summary.journal";
/// The files of a finished sweep folder.
pub const FILES: [&str; 4] = ["points.csv", "results.csv", "summary.csv", "manifest.json"];
/// The columns of `summary.csv` after `point` and the parameter columns (`param_<path>...`).
pub const SUMMARY_COLUMNS: [&str; 6] = ["metric", "mean", "sd", "ci_low", "ci_high", "n"];
/// The layout of the journals' rows, recorded in the state file: a folder started by a ccgsim
/// whose rows were laid out otherwise (1: `summary.csv` without the parameter columns) cannot be
/// resumed into the same bytes.
/// 3: the state file records the SHA-256 of each journal's prefix and is sealed.
/// 4: a base scenario that does not choose reports expected answers (ODD 7.10): rows of sampled
/// answers are not resumed into a sweep of expected ones.
const JOURNAL_FORMAT: u32 = 4;
/// The field of the state file that holds the digest of the state file itself.
const STATE_SEAL: &str = "state_sha256";

/// The sweep was stopped (Ctrl-C) before it finished; what was done is kept for `--resume`.
#[derive(Debug, thiserror::Error)]
#[error("sweep stopped{} before it finished; the finished points are kept in '{}': run the same command with --resume to continue", crate::signals::by(), .0.display())]
pub struct Stopped(pub PathBuf);

/// Run one 1/N of the points: point p belongs to shard (p mod N) + 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parse `K/N`.
    pub fn parse(s: &str) -> Option<Shard> {
        let (k, n) = s.split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (count >= 1 && (1..=count).contains(&index)).then_some(Shard { index, count })
    }

    pub fn owns(&self, point: usize) -> bool {
        point % self.count as usize == (self.index - 1) as usize
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a varied parameter is recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestParameter {
    pub path: String,
    pub column: String,
    /// `[low, high]` of a range.
    pub range: Option<[f64; 2]>,
    pub distribution: Option<String>,
    /// Listed values, as written in points.csv.
    pub values: Option<Vec<String>>,
    pub integer: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestOutput {
    pub name: String,
    pub metric: String,
    /// "final", "tick N" or "mean of ticks A-B".
    pub at: String,
}

/// `manifest.json` of a sweep folder. It holds no times or thread counts, so that a resumed,
/// sharded-and-merged or differently threaded sweep gives the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    pub ccgsim_version: String,
    pub sweep: String,
    pub description: String,
    /// The sweep file's name.
    pub sweep_file: String,
    /// SHA-256 of the sweep file and the base scenario file together.
    pub sweep_sha256: String,
    /// The base scenario's file name, or `model:NAME` for a built-in test model.
    pub base: String,
    pub base_sha256: Option<String>,
    pub design: Design,
    pub seed: u64,
    pub replicates: u32,
    /// Points in the whole design.
    pub points: usize,
    /// The shard this folder holds, if not the whole design.
    pub shard: Option<Shard>,
    /// Points in this folder.
    pub shard_points: usize,
    pub parameters: Vec<ManifestParameter>,
    pub outputs: Vec<ManifestOutput>,
    pub files: Vec<String>,
}

impl SweepManifest {
    pub fn new(sweep: &Sweep, shard: Option<Shard>, shard_points: usize) -> SweepManifest {
        let (base, base_sha256) = match &sweep.base {
            Base::Scenario(b) => (file_name(&b.path), Some(b.sha256.clone())),
            Base::Builtin(m) => (format!("model:{}", m.name()), None),
        };
        SweepManifest {
            ccgsim_version: env!("CARGO_PKG_VERSION").to_string(),
            sweep: sweep.name.clone(),
            description: sweep.description.clone(),
            sweep_file: file_name(&sweep.path),
            sweep_sha256: sweep.sha256.clone(),
            base,
            base_sha256,
            design: sweep.design.clone(),
            seed: sweep.seed,
            replicates: sweep.replicates,
            points: sweep.point_count(),
            shard,
            shard_points,
            parameters: sweep
                .parameters
                .iter()
                .map(|p| {
                    let (range, distribution, values) = match &p.domain {
                        Domain::Range { lo, hi, log, .. } => (
                            Some([*lo, *hi]),
                            Some(if *log { "log_uniform" } else { "uniform" }.to_string()),
                            None,
                        ),
                        Domain::Values(v) => (None, None, Some(v.iter().map(cell).collect())),
                    };
                    ManifestParameter {
                        path: p.path.clone(),
                        column: p.column(),
                        range,
                        distribution,
                        values,
                        integer: p.integer,
                    }
                })
                .collect(),
            outputs: sweep
                .outputs
                .iter()
                .map(|o| ManifestOutput {
                    name: o.name.clone(),
                    metric: o.metric.map_or("y", |m| METRICS[m].name).to_string(),
                    at: match o.at {
                        At::Final => "final".to_string(),
                        At::Tick(t) => format!("tick {t}"),
                        At::Window(a, b) => format!("mean of ticks {a}-{b}"),
                    },
                })
                .collect(),
            files: FILES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Read the manifest of `dir` after verifying it and the files `required` against it
    /// ([`crate::integrity::verify_folder`]).
    pub fn read_verified(
        dir: &Path,
        required: &[&str],
        accept_unverified: bool,
    ) -> anyhow::Result<SweepManifest> {
        Ok(SweepManifest::read_with_records(dir, required, accept_unverified)?.0)
    }

    /// [`SweepManifest::read_verified`], with the manifest's file records (`None` for a folder
    /// accepted unverified).
    pub fn read_with_records(
        dir: &Path,
        required: &[&str],
        accept_unverified: bool,
    ) -> anyhow::Result<(SweepManifest, Option<Vec<crate::integrity::FileRecord>>)> {
        let verified = crate::integrity::verify_folder(dir, required, &[], accept_unverified)?;
        if verified.text.is_empty() {
            return Err(SweepError::Folder {
                path: dir.to_path_buf(),
                message: "has no manifest.json; is it a sweep folder?".into(),
            }
            .into());
        }
        let manifest = serde_json::from_str(&verified.text).map_err(|e| SweepError::Folder {
            path: verified.path,
            message: format!(
                "not a sweep manifest: {}",
                crate::integrity::json_problem(&e)
            ),
        })?;
        Ok((manifest, verified.records))
    }

    /// Write the manifest, with the records of the folder's other `files` (still pending).
    pub fn write(&self, dir: &Path, files: &[&PendingFile]) -> anyhow::Result<PendingFile> {
        crate::integrity::write_manifest(dir, self, files)
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// A parameter value as a CSV cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Float(x) => number(Some(*x)),
        Value::Integer(i) => i.to_string(),
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Progress of a sweep folder: what the journals hold for sure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    /// [`JOURNAL_FORMAT`] of the run that started the folder; absent (1) before it was recorded.
    #[serde(default = "first_journal_format")]
    journal_format: u32,
    sweep_sha256: String,
    shard: Option<Shard>,
    /// Points of this folder (in point order) whose rows are in the journals.
    points_done: usize,
    results_bytes: u64,
    summary_bytes: u64,
    /// SHA-256 of the first `results_bytes` of the results journal.
    #[serde(default)]
    results_sha256: String,
    /// SHA-256 of the first `summary_bytes` of the summary journal.
    #[serde(default)]
    summary_sha256: String,
    /// SHA-256 of the state file's own bytes with this field empty.
    #[serde(default)]
    state_sha256: String,
}

fn first_journal_format() -> u32 {
    1
}

/// Options of one sweep run.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub force: bool,
    pub shard: Option<Shard>,
    /// Test hook: stop as if interrupted once this many points of the folder are done.
    pub stop_after: Option<usize>,
}

/// What a sweep run did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    /// Points in this folder.
    pub points: usize,
    /// Points already done when this run started (resumed).
    pub resumed_from: usize,
    /// Model runs (point x replicate) made by this run.
    pub runs: u64,
    /// The folder was already complete; nothing was run.
    pub already_complete: bool,
}

/// Run (or resume) `sweep` into `opts.out`. `on_chunk(done, total, runs)` is called after each
/// chunk is durable.
pub fn run_sweep(
    sweep: &Sweep,
    opts: &SweepOptions,
    cancel: &AtomicBool,
    on_chunk: impl FnMut(usize, usize, u64),
) -> anyhow::Result<SweepReport> {
    run_sweep_on(sweep, opts, cancel, None, on_chunk)
}

/// [`run_sweep`], with the points computed by every rank of an MPI job when `cluster` is given
/// (rank 0's coordinator); the folder is the same bytes.
pub fn run_sweep_on(
    sweep: &Sweep,
    opts: &SweepOptions,
    cancel: &AtomicBool,
    cluster: Option<&mut crate::cluster::Coordinator<'_>>,
    mut on_chunk: impl FnMut(usize, usize, u64),
) -> anyhow::Result<SweepReport> {
    let dir = &opts.out;
    let total = sweep.point_count();
    let mine: Vec<usize> = (0..total)
        .filter(|&p| opts.shard.is_none_or(|s| s.owns(p)))
        .collect();
    let mut report = SweepReport {
        points: mine.len(),
        ..SweepReport::default()
    };

    let state = match open_folder(sweep, opts)? {
        Folder::Complete => {
            report.already_complete = true;
            report.resumed_from = mine.len();
            return Ok(report);
        }
        Folder::Fresh => {
            let state = State {
                journal_format: JOURNAL_FORMAT,
                sweep_sha256: sweep.sha256.clone(),
                shard: opts.shard,
                points_done: 0,
                results_bytes: 0,
                summary_bytes: 0,
                results_sha256: Measure::default().sha256(),
                summary_sha256: Measure::default().sha256(),
                state_sha256: String::new(),
            };
            for j in [RESULTS_JOURNAL, SUMMARY_JOURNAL] {
                File::create(dir.join(j))
                    .with_context(|| format!("could not create '{}'", dir.join(j).display()))?;
            }
            write_state(dir, &state)?;
            state
        }
        Folder::Resume(state) => state,
    };
    if state.points_done > mine.len() {
        return Err(
            folder_error(dir, "the state file records more points than the sweep has").into(),
        );
    }
    report.resumed_from = state.points_done;
    let (mut results, mut results_tally) = open_journal(
        dir,
        RESULTS_JOURNAL,
        state.results_bytes,
        &state.results_sha256,
    )?;
    let (mut summary, mut summary_tally) = open_journal(
        dir,
        SUMMARY_JOURNAL,
        state.summary_bytes,
        &state.summary_sha256,
    )?;
    let mut state = state;

    let units = units_per_point(sweep);
    // About 2,048 runs of one CCG per chunk: enough to keep every thread busy, small enough that
    // progress (and the journal) moves every second or so. Results do not depend on it.
    let chunk_points = (2048 / (units * sweep.replicates as usize).max(1)).clamp(1, 4096);
    let unit_points = sweep.unit_points();
    let mut journals = Journals {
        dir,
        results: &mut results,
        summary: &mut summary,
        results_tally: &mut results_tally,
        summary_tally: &mut summary_tally,
        state: &mut state,
    };
    on_chunk(journals.state.points_done, mine.len(), 0);
    let stop_at = opts.stop_after.unwrap_or(usize::MAX).min(mine.len());
    if let Some(cluster) = cluster {
        // Under MPI the chunks are only how often the journals are written: the units flow
        // without waiting at a chunk's end.
        let first = journals.state.points_done;
        if first < stop_at {
            let todo = &mine[first..stop_at];
            let (tasks, blocks) =
                crate::cluster::jobs::sweep_tasks(sweep, todo, units, cluster.size());
            cluster.require_units(tasks.len(), "work unit")?;
            let job = crate::cluster::jobs::SweepJob::new(sweep, &unit_points);
            let (mut chunk, mut outputs): (Vec<usize>, ChunkOutputs) = (Vec::new(), Vec::new());
            let mut point = Vec::new();
            cluster
                .map(&job, &tasks, cancel, |i, values| {
                    let block = &blocks[i];
                    for (k, mut reps) in values.into_iter().enumerate() {
                        point.append(&mut reps);
                        if point.len() == sweep.replicates as usize {
                            chunk.push(todo[block.first + k]);
                            outputs.push(std::mem::take(&mut point));
                        }
                    }
                    let end = journals.state.points_done + chunk.len();
                    if chunk.len() >= chunk_points || end == stop_at {
                        journals.commit(sweep, &unit_points, &chunk, &outputs, end)?;
                        report.runs += (chunk.len() * sweep.replicates as usize) as u64;
                        on_chunk(end, mine.len(), report.runs);
                        chunk.clear();
                        outputs.clear();
                    }
                    Ok(())
                })
                .map_err(|e| {
                    if e.is::<crate::experiment::Interrupted>() {
                        return Stopped(dir.clone()).into();
                    }
                    let note = format!(
                        "the finished points are kept in '{}': run the same command with --resume to continue",
                        dir.display()
                    );
                    crate::cluster::ClusterError::noting(e, &note)
                })?;
        }
        if journals.state.points_done < mine.len() {
            return Err(Stopped(dir.clone()).into());
        }
        cluster.release();
    }
    while journals.state.points_done < mine.len() {
        let done = journals.state.points_done;
        if cancel.load(Ordering::Relaxed) || done >= stop_at {
            return Err(Stopped(dir.clone()).into());
        }
        let end = (done + chunk_points).min(stop_at);
        let chunk = &mine[done..end];
        let outputs = run_chunk(sweep, &unit_points, chunk, cancel)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(Stopped(dir.clone()).into());
        }
        journals.commit(sweep, &unit_points, chunk, &outputs, end)?;
        report.runs += (chunk.len() * sweep.replicates as usize) as u64;
        on_chunk(end, mine.len(), report.runs);
    }
    finish(sweep, opts, &mine, &unit_points)?;
    Ok(report)
}

/// The open journals of a folder and its state: where finished chunks go.
struct Journals<'a> {
    dir: &'a Path,
    results: &'a mut File,
    summary: &'a mut File,
    results_tally: &'a mut Measure,
    summary_tally: &'a mut Measure,
    state: &'a mut State,
}

impl Journals<'_> {
    /// Append the rows of `chunk` (the folder's points up to position `end`) and make them
    /// durable before the state file records them.
    fn commit(
        &mut self,
        sweep: &Sweep,
        unit_points: &[Vec<f64>],
        chunk: &[usize],
        outputs: &ChunkOutputs,
        end: usize,
    ) -> anyhow::Result<()> {
        let (rows, sums) = format_rows(sweep, unit_points, chunk, outputs)?;
        append(self.results, &rows, self.dir, RESULTS_JOURNAL)?;
        append(self.summary, &sums, self.dir, SUMMARY_JOURNAL)?;
        self.results_tally.update(&rows);
        self.summary_tally.update(&sums);
        self.state.results_bytes = self.results_tally.bytes;
        self.state.summary_bytes = self.summary_tally.bytes;
        self.state.results_sha256 = self.results_tally.sha256();
        self.state.summary_sha256 = self.summary_tally.sha256();
        self.state.points_done = end;
        write_state(self.dir, self.state)
    }
}

enum Folder {
    Fresh,
    Resume(State),
    Complete,
}

fn folder_error(dir: &Path, message: impl Into<String>) -> SweepError {
    SweepError::Folder {
        path: dir.to_path_buf(),
        message: message.into(),
    }
}

/// Decide, before touching anything, whether the output folder starts afresh, resumes or is
/// already complete; refuse folders that hold other results.
fn open_folder(sweep: &Sweep, opts: &SweepOptions) -> anyhow::Result<Folder> {
    let dir = &opts.out;
    let ours = |name: &str| {
        FILES.contains(&name)
            || [
                STATE_FILE,
                RESULTS_JOURNAL,
                SUMMARY_JOURNAL,
                "sensitivity.csv",
            ]
            .contains(&name)
            // Temporary files of a state or final file being written when the run stopped.
            || name == format!("{STATE_FILE}.tmp")
            || (name.starts_with('.') && name.ends_with(".partial"))
    };
    let mut entries: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    let mismatch = |what: &str, recorded: &str| {
        folder_error(
            dir,
            format!(
                "holds a sweep from a different {what} (recorded {recorded}, '{}' now {}); choose another --out, or pass --force to start again",
                sweep.path.display(),
                sweep.sha256
            ),
        )
    };
    if opts.force {
        for name in entries.iter().filter(|n| ours(n)) {
            std::fs::remove_file(dir.join(name))
                .with_context(|| format!("could not remove '{}'", dir.join(name).display()))?;
        }
    } else if !entries.is_empty() {
        let state_path = dir.join(STATE_FILE);
        if !opts.resume {
            return Err(OutputExists(dir.clone()).into());
        }
        // Temporary files of a run that was killed are never results: remove them.
        entries.retain(|n| {
            let temp = *n == format!("{STATE_FILE}.tmp") || crate::output::is_temp_file(n);
            !temp || std::fs::remove_file(dir.join(n)).is_err()
        });
        if state_path.exists() {
            let text = std::fs::read_to_string(&state_path)
                .with_context(|| format!("could not read '{}'", state_path.display()))?;
            let state: State = serde_json::from_str(&text).map_err(|e| {
                folder_error(
                    dir,
                    format!(
                        "unreadable state file {STATE_FILE} (damaged?): {}; pass --force to start again",
                        crate::integrity::json_problem(&e)
                    ),
                )
            })?;
            if state.journal_format != JOURNAL_FORMAT {
                return Err(folder_error(
                    dir,
                    format!(
                        "holds a sweep started by an older ccgsim (state file {STATE_FILE}, journal format {}), whose journals cannot be resumed into the same bytes; pass --force to start again",
                        state.journal_format
                    ),
                )
                .into());
            }
            match crate::integrity::check_seal(&text, STATE_SEAL) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(folder_error(
                        dir,
                        format!("state file {STATE_FILE} has no checksum: it was edited; pass --force to start again"),
                    )
                    .into());
                }
                Err(problem) => {
                    return Err(folder_error(
                        dir,
                        format!("state file {STATE_FILE} {problem}; pass --force to start again"),
                    )
                    .into());
                }
            }
            if state.sweep_sha256 != sweep.sha256 {
                return Err(mismatch("sweep file or base scenario", &state.sweep_sha256).into());
            }
            if state.shard != opts.shard {
                return Err(folder_error(
                    dir,
                    format!(
                        "holds shard {} but --shard {} was asked for",
                        state.shard.map_or("(none)".into(), |s| s.to_string()),
                        opts.shard.map_or("(none)".into(), |s| s.to_string())
                    ),
                )
                .into());
            }
            return Ok(Folder::Resume(state));
        }
        if dir.join("manifest.json").exists() {
            // Nothing is read from a complete folder, but a damaged one is not called complete.
            let m = SweepManifest::read_verified(dir, &FILES[..3], true)?;
            if m.sweep_sha256 != sweep.sha256 {
                return Err(mismatch("sweep file or base scenario", &m.sweep_sha256).into());
            }
            if m.shard != opts.shard {
                return Err(folder_error(dir, "holds another shard of the sweep").into());
            }
            return Ok(Folder::Complete);
        }
        if entries.iter().any(|n| !ours(n)) {
            return Err(folder_error(
                dir,
                "is not a sweep folder (no state file or manifest); choose another --out",
            )
            .into());
        }
        // Only journals from a run that stopped before recording any progress: start again.
        for name in &entries {
            std::fs::remove_file(dir.join(name))
                .with_context(|| format!("could not remove '{}'", dir.join(name).display()))?;
        }
    }
    crate::output::create_output_dir(dir)?;
    Ok(Folder::Fresh)
}

/// Open the journal `name` for appending after its first `len` bytes, which must have the SHA-256
/// `sha256` that the state file records; returns it with the tally of those bytes.
fn open_journal(dir: &Path, name: &str, len: u64, sha256: &str) -> anyhow::Result<(File, Measure)> {
    let path = dir.join(name);
    let mut f = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(folder_error(
                dir,
                format!("{name} is missing, though the state file {STATE_FILE} records {len} bytes of it; pass --force to start again"),
            )
            .into());
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("could not open '{}'", path.display()))
            );
        }
    };
    let actual = f.metadata()?.len();
    if actual < len {
        return Err(folder_error(
            dir,
            format!("{name} is shorter ({actual} bytes) than the state file records ({len}); pass --force to start again"),
        )
        .into());
    }
    let mut tally = Measure::default();
    tally
        .read_from(&mut f, Some(len))
        .with_context(|| format!("could not read '{}'", path.display()))?;
    if tally.bytes != len || tally.sha256() != sha256 {
        return Err(folder_error(
            dir,
            format!(
                "{name} does not match its checksum in the state file {STATE_FILE}: the journal \
                 was edited or damaged, and resuming would give different results; pass --force \
                 to start again"
            ),
        )
        .into());
    }
    // Rows past the recorded length are from a chunk that was not finished: drop them.
    f.set_len(len)
        .with_context(|| format!("could not truncate '{}'", path.display()))?;
    f.seek(SeekFrom::End(0))?;
    Ok((f, tally))
}

fn append(f: &mut File, bytes: &[u8], dir: &Path, name: &str) -> anyhow::Result<()> {
    let ctx = || format!("could not write '{}'", dir.join(name).display());
    f.write_all(bytes).with_context(ctx)?;
    f.sync_data().with_context(ctx)
}

fn write_state(dir: &Path, state: &State) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let ctx = || format!("could not write '{}'", tmp.display());
    {
        let blank = State {
            state_sha256: String::new(),
            ..state.clone()
        };
        let text = crate::integrity::seal(serde_json::to_string(&blank)?, STATE_SEAL);
        let mut f = File::create(&tmp).with_context(ctx)?;
        f.write_all(text.as_bytes()).with_context(ctx)?;
        f.sync_all().with_context(ctx)?;
    }
    std::fs::rename(&tmp, dir.join(STATE_FILE)).with_context(ctx)?;
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Units of work per replicate of a point of the base (CCGs of the base population, or 1).
pub(crate) fn units_per_point(sweep: &Sweep) -> usize {
    match &sweep.base {
        Base::Scenario(b) => Population::build(&b.scenario).ccgs.len().max(1),
        Base::Builtin(_) => 1,
    }
}

/// One unit's result: the tally entries the outputs read at the point's needed ticks (CCG by
/// CCG, tick by tick, entry by entry), or a test model's output.
enum UnitResult {
    Tallies(Vec<f64>),
    Value(f64),
}

/// Output values of each point of `chunk` (by replicate, then output); `None` where undefined.
pub(crate) type ChunkOutputs = Vec<Vec<Vec<Option<f64>>>>;

fn run_chunk(
    sweep: &Sweep,
    unit_points: &[Vec<f64>],
    chunk: &[usize],
    cancel: &AtomicBool,
) -> anyhow::Result<ChunkOutputs> {
    let models = build_models(sweep, unit_points, chunk)?;
    evaluate_models(&models, &sweep.outputs, sweep.replicates, cancel)
}

/// The models of the points `chunk`, in parallel.
pub(crate) fn build_models(
    sweep: &Sweep,
    unit_points: &[Vec<f64>],
    chunk: &[usize],
) -> anyhow::Result<Vec<PointModel>> {
    let models: Vec<PointModel> = chunk
        .par_iter()
        .map(|&p| {
            let values: Vec<Value> = sweep
                .parameters
                .iter()
                .zip(&unit_points[p])
                .map(|(par, &u)| par.value_at(u))
                .collect();
            sweep.build_point(p, &values)
        })
        .collect::<Result<_, _>>()
        .map_err(|p| match read(&sweep.path) {
            Ok(text) => located(&text, &sweep.path, p),
            Err(e) => e,
        })?;
    Ok(models)
}

/// Run `replicates` replicates of each model in parallel, units (replicate, CCG) spread over the
/// rayon pool, and read `outputs` from each: `[model][replicate][output]`, `None` where a metric
/// is undefined. The sums are taken in a fixed order, so the values do not depend on the
/// threads.
pub(crate) fn evaluate_models(
    models: &[PointModel],
    outputs: &[super::spec::Output],
    replicates: u32,
    cancel: &AtomicBool,
) -> anyhow::Result<ChunkOutputs> {
    evaluate_replicates(models, outputs, 0..replicates, cancel)
}

/// [`evaluate_models`] for the replicates `replicates` only (a block of a point's replicates,
/// as an MPI unit holds): `[model][replicate - start][output]`, the same values that the whole
/// run gives for those replicates.
pub(crate) fn evaluate_replicates(
    models: &[PointModel],
    outputs: &[super::spec::Output],
    replicates: std::ops::Range<u32>,
    cancel: &AtomicBool,
) -> anyhow::Result<ChunkOutputs> {
    let first = replicates.start as usize;
    // The ticks each point's outputs read, in increasing order, and of those the ticks whose
    // survey they read: an output of actions, costs or vacancies reads what every month's tally
    // holds, surveyed or not.
    let ticks_of = |survey_only: bool| -> Vec<Vec<u32>> {
        models
            .iter()
            .map(|m| match m {
                PointModel::Ccg { scenario, .. } => {
                    let mut t: Vec<u32> = outputs
                        .iter()
                        .filter(|o| {
                            let metric = o.metric.expect("scenario outputs name a metric");
                            !survey_only || METRICS[metric].needs_survey()
                        })
                        .flat_map(|o| o.ticks(scenario.months))
                        .collect();
                    t.sort_unstable();
                    t.dedup();
                    t
                }
                PointModel::Builtin { .. } => Vec::new(),
            })
            .collect()
    };
    let needed = ticks_of(false);
    let surveyed = ticks_of(true);
    // The tally entries the outputs read, in increasing order: a unit hands back only these,
    // and each is summed over CCGs in the same order as the whole tallies would be.
    let mut entries: Vec<usize> = outputs
        .iter()
        .filter_map(|o| o.metric)
        .flat_map(|m| METRICS[m].entries())
        .collect();
    entries.sort_unstable();
    entries.dedup();
    let k = entries.len();
    let reps = replicates.len();
    let mut starts = Vec::with_capacity(models.len() + 1);
    starts.push(0usize);
    for m in models {
        starts.push(starts.last().unwrap() + reps * m.units_per_replicate());
    }
    let total = *starts.last().unwrap();
    let results: Vec<UnitResult> = (0..total)
        .into_par_iter()
        .map_init(
            || (Workspace::default(), Vec::<Tally>::new()),
            |(ws, buf), u| {
                let i = starts.partition_point(|&s| s <= u) - 1;
                let rem = u - starts[i];
                match &models[i] {
                    PointModel::Ccg {
                        scenario,
                        population,
                        structures,
                        env,
                    } => {
                        let ccgs = population.ccgs.len();
                        let (r, c) = (first + rem / ccgs, rem % ccgs);
                        let ticks = scenario.months as usize + 1;
                        // Only the ticks whose survey the outputs read are surveyed (ODD 3).
                        let observed = Observed::Ticks(&surveyed[i]);
                        buf.clear();
                        if cancel.load(Ordering::Relaxed) {
                            return UnitResult::Tallies(Vec::new());
                        }
                        let p = point_structure(scenario, population, structures, r as u32);
                        if scenario.model.mergers.enabled {
                            // CCGs that merge run together, in the unit of the group's first
                            // CCG; the group's other units are empty (ODD 7.17).
                            let plan = MergerPlan::new(scenario, &p);
                            let g = plan.groups.partition_point(|g| g.end <= c);
                            let group = plan.groups[g].clone();
                            if group.start == c {
                                buf.resize(group.len() * ticks, [0.0; TALLY_LEN]);
                                let ccgs = &p.ccgs[group];
                                let mergers = &plan.mergers[g];
                                simulate_group_observing(
                                    scenario, env, ccgs, mergers, r as u32, ws, buf, observed,
                                );
                            }
                        } else {
                            buf.resize(ticks, [0.0; TALLY_LEN]);
                            let ccg = &p.ccgs[c];
                            simulate_ccg_observing(scenario, env, ccg, r as u32, ws, buf, observed);
                        }
                        // The entries read at the needed ticks of each CCG the unit simulated,
                        // CCG by CCG.
                        let mut read = Vec::with_capacity(buf.len() / ticks * needed[i].len() * k);
                        for ccg in buf.chunks(ticks) {
                            for &t in &needed[i] {
                                read.extend(entries.iter().map(|&e| ccg[t as usize][e]));
                            }
                        }
                        UnitResult::Tallies(read)
                    }
                    PointModel::Builtin {
                        model,
                        inputs,
                        seed,
                    } => {
                        let mut rng = stream(*seed, Purpose::Unit, (first + rem) as u64, 0);
                        UnitResult::Value(model.evaluate(inputs, &mut rng))
                    }
                }
            },
        )
        .collect();

    let mut out = Vec::with_capacity(models.len());
    for (i, m) in models.iter().enumerate() {
        let units = &results[starts[i]..starts[i + 1]];
        let per = m.units_per_replicate();
        let mut point = Vec::with_capacity(reps);
        for rep in units.chunks(per) {
            let values = match m {
                PointModel::Builtin { .. } => {
                    let UnitResult::Value(y) = rep[0] else {
                        unreachable!()
                    };
                    vec![Some(y); outputs.len()]
                }
                PointModel::Ccg { scenario, .. } => {
                    let mut total = vec![0.0; needed[i].len() * k];
                    for unit in rep {
                        let UnitResult::Tallies(t) = unit else {
                            unreachable!()
                        };
                        for ccg in t.chunks(total.len().max(1)) {
                            for (dst, src) in total.iter_mut().zip(ccg) {
                                *dst += src;
                            }
                        }
                    }
                    let at = |tick: u32, metric: usize| -> Option<f64> {
                        let pos = needed[i].binary_search(&tick).ok()?;
                        let mut tally = [0.0; TALLY_LEN];
                        for (&e, &x) in entries.iter().zip(&total[pos * k..][..k]) {
                            tally[e] = x;
                        }
                        METRICS[metric].value(&tally)
                    };
                    outputs
                        .iter()
                        .map(|o| {
                            let metric = o.metric.expect("scenario outputs name a metric");
                            let ticks = o.ticks(scenario.months);
                            let n = ticks.clone().count() as f64;
                            ticks
                                .map(|t| at(t, metric))
                                .sum::<Option<f64>>()
                                .map(|s| s / n)
                        })
                        .collect()
                }
            };
            point.push(values);
        }
        out.push(point);
    }
    Ok(out)
}

/// Point `p`'s parameter values as CSV cells, in parameter order: the `param_<path>` columns of
/// `points.csv` and `summary.csv`.
fn parameter_cells(sweep: &Sweep, unit_points: &[Vec<f64>], p: usize) -> Vec<String> {
    sweep
        .parameters
        .iter()
        .zip(&unit_points[p])
        .map(|(par, &u)| cell(&par.value_at(u)))
        .collect()
}

/// The header of `summary.csv`: `point`, the parameter columns, then [`SUMMARY_COLUMNS`].
pub fn summary_header(sweep: &Sweep) -> Vec<String> {
    std::iter::once("point".to_string())
        .chain(sweep.parameters.iter().map(|p| p.column()))
        .chain(SUMMARY_COLUMNS.iter().map(|s| s.to_string()))
        .collect()
}

/// The `results.csv` and `summary.csv` rows of a chunk.
fn format_rows(
    sweep: &Sweep,
    unit_points: &[Vec<f64>],
    chunk: &[usize],
    outputs: &ChunkOutputs,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let mut results = csv::Writer::from_writer(Vec::new());
    let mut summary = csv::Writer::from_writer(Vec::new());
    for (&p, point) in chunk.iter().zip(outputs) {
        let id = p.to_string();
        let parameters = parameter_cells(sweep, unit_points, p);
        for (r, values) in point.iter().enumerate() {
            let mut row = vec![id.clone(), r.to_string()];
            row.extend(values.iter().map(|v| number(*v)));
            results.write_record(&row)?;
        }
        for (o, output) in sweep.outputs.iter().enumerate() {
            let mut w = Welford::default();
            for values in point {
                if let Some(v) = values[o] {
                    w.push(v);
                }
            }
            let ci = w.ci95();
            let fields = [
                output.name.clone(),
                number((w.n > 0).then_some(w.mean)),
                number(w.sd()),
                number(ci.map(|c| c.0)),
                number(ci.map(|c| c.1)),
                w.n.to_string(),
            ];
            summary.write_record(
                std::iter::once(&id)
                    .chain(&parameters)
                    .chain(&fields)
                    .map(String::as_str),
            )?;
        }
    }
    Ok((results.into_inner()?, summary.into_inner()?))
}

/// Write the final files from the design and the journals, rename them into place and remove the
/// journals and state.
fn finish(
    sweep: &Sweep,
    opts: &SweepOptions,
    mine: &[usize],
    unit_points: &[Vec<f64>],
) -> anyhow::Result<()> {
    let dir = &opts.out;
    let points = PendingFile::new(dir, "points.csv")?;
    {
        let mut w = csv::Writer::from_writer(points.writer()?);
        let mut header = vec!["point".to_string()];
        header.extend(sweep.parameters.iter().map(|p| p.column()));
        w.write_record(&header)?;
        for &p in mine {
            let mut row = vec![p.to_string()];
            row.extend(parameter_cells(sweep, unit_points, p));
            w.write_record(&row)?;
        }
        w.flush()
            .with_context(|| format!("could not write '{}'", points.dest().display()))?;
    }
    let mut results_header = vec!["point".to_string(), "replicate".to_string()];
    results_header.extend(sweep.outputs.iter().map(|o| o.name.clone()));
    let results = from_journal(dir, "results.csv", &results_header, RESULTS_JOURNAL)?;
    let summary = from_journal(dir, "summary.csv", &summary_header(sweep), SUMMARY_JOURNAL)?;
    let manifest = SweepManifest::new(sweep, opts.shard, mine.len())
        .write(dir, &[&points, &results, &summary])?;
    points.commit()?;
    results.commit()?;
    summary.commit()?;
    manifest.commit()?;
    for name in [STATE_FILE, RESULTS_JOURNAL, SUMMARY_JOURNAL] {
        std::fs::remove_file(dir.join(name))
            .with_context(|| format!("could not remove '{}'", dir.join(name).display()))?;
    }
    Ok(())
}

fn from_journal(
    dir: &Path,
    name: &str,
    header: &[String],
    journal: &str,
) -> anyhow::Result<PendingFile> {
    let file = PendingFile::new(dir, name)?;
    let mut w = file.writer()?;
    let ctx = || format!("could not write '{}'", file.dest().display());
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(header)?;
    w.write_all(&head.into_inner()?).with_context(ctx)?;
    let mut src = File::open(dir.join(journal))
        .with_context(|| format!("could not read '{}'", dir.join(journal).display()))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = src.read(&mut buf).with_context(ctx)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n]).with_context(ctx)?;
    }
    w.flush().with_context(ctx)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (1..=3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for p in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(p)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "x/2", "2"] {
            assert!(Shard::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Shard::parse("2/5").unwrap().to_string(), "2/5");
    }
}

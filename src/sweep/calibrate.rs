//! `ccgsim calibrate`: fit chosen scenario parameters to survey targets by ABC-SMC ([`super::abc`]).
//!
//! A calibration file names a base (scenario file or built-in test model), the parameters with
//! their prior ranges (`[[parameters]]`, as in a sweep, with `prior = [low, high]`), a CSV of
//! targets (`id,value,se` at least) and which model output each target is matched to, at which
//! tick. The distance of a candidate is the root mean square of (model - target) / se over the
//! targets, the model value being the mean over `replicates` replicates. The folder written holds
//! the posterior of every generation, the generations' tolerances and acceptance rates, the fit to
//! each target, a posterior-predictive check and a scenario file with the calibrated values.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use toml::Value;

use super::abc::{AbcSettings, Event, Generation, Prior, Simulated, abc_smc};
use super::error::SweepError;
use super::spec::{
    self, Base, Domain, Parameter, ParameterFile, PointModel, build_model, located, parse_toml,
    problem, read,
};
use crate::engine::{Observed, Workspace, empty_tallies, simulate_group_observing};
use crate::experiment::Interrupted;
use crate::metrics::{METRICS, TALLY_LEN, add_into, metric_index};
use crate::model::params::Problem;
use crate::output::manifest::sha256_hex;
use crate::output::{PendingFile, number};
use crate::population::MergerPlan;
use crate::rng::{Purpose, derive_seed, stream};
use crate::scenario::{check_folder_name, check_seed};
use crate::words::count;

/// A calibration file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scenario: Option<String>,
    pub model: Option<String>,
    pub targets: String,
    pub seed: Option<i64>,
    pub replicates: Option<i64>,
    /// Fixed values applied to the base scenario (e.g. `months = 34`).
    pub set: Option<toml::Table>,
    #[serde(default)]
    pub abc: AbcFile,
    #[serde(default)]
    pub parameters: Vec<ParameterFile>,
    #[serde(default, rename = "match")]
    pub matches: Vec<MatchFile>,
}

/// `[abc]` as written; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbcFile {
    pub particles: Option<i64>,
    pub generations: Option<i64>,
    pub quantile: Option<f64>,
    pub min_acceptance: Option<f64>,
    pub max_candidates: Option<i64>,
    pub predictive_replicates: Option<i64>,
}

/// One `[[match]]`: a target row and the model output it is compared with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    pub target: String,
    pub metric: String,
    pub tick: Option<i64>,
}

/// A target with the output it is matched to.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub value: f64,
    /// Standard error (or tolerance): the scale of an acceptable miss.
    pub se: f64,
    /// Index into METRICS; `None` for a test model's `y`.
    pub metric: Option<usize>,
    /// `None`: the last tick.
    pub tick: Option<u32>,
}

/// A validated calibration.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub sha256: String,
    pub base: Base,
    pub targets_path: PathBuf,
    pub seed: u64,
    pub replicates: u32,
    pub settings: AbcSettings,
    pub predictive_replicates: u32,
    pub parameters: Vec<Parameter>,
    pub priors: Vec<Prior>,
    pub targets: Vec<Target>,
}

impl Calibration {
    pub fn load(path: &Path) -> Result<Calibration, SweepError> {
        let text = read(path)?;
        let f: CalibrationFile = parse_toml(&text, path)?;
        let (base, base_bytes) =
            spec::load_base(path, &text, f.scenario.as_deref(), f.model.as_deref())?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let targets_path = dir.join(&f.targets);
        let targets_text = crate::scenario::error::read_input(&targets_path).map_err(|e| {
            located(
                &text,
                path,
                problem("targets", crate::scenario::error::describe_read_error(&e)),
            )
        })?;
        let rows = read_targets(&targets_text).map_err(|m| {
            located(
                &text,
                path,
                problem("targets", format!("'{}': {m}", targets_path.display())),
            )
        })?;
        let mut hashed = text.as_bytes().to_vec();
        hashed.extend_from_slice(&base_bytes);
        hashed.extend_from_slice(targets_text.as_bytes());
        let default_name = path.file_stem().map_or_else(
            || "calibration".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        validate(f, base, &rows, default_name)
            .map(|mut c| {
                c.path = path.to_path_buf();
                c.targets_path = targets_path;
                c.sha256 = sha256_hex(&hashed);
                c
            })
            .map_err(|p| located(&text, path, p))
    }

    /// Run the model at `theta` (one value per parameter) with `replicates` replicates on streams
    /// from `seed`; returns each replicate's value of each target's output.
    pub fn simulate(
        &self,
        theta: &[f64],
        seed: u64,
        replicates: u32,
    ) -> Result<Vec<Vec<f64>>, Problem> {
        let values: Vec<Value> = self
            .parameters
            .iter()
            .zip(theta)
            .map(|(p, &x)| p.number(x))
            .collect();
        let assigned: Vec<(&Parameter, &Value)> = self.parameters.iter().zip(&values).collect();
        let model = build_model(&self.base, &assigned, seed, replicates)?;
        let mut out = Vec::with_capacity(replicates as usize);
        match model {
            PointModel::Builtin {
                model,
                inputs,
                seed,
            } => {
                for r in 0..replicates {
                    let mut rng = stream(seed, Purpose::Unit, r as u64, 0);
                    let y = model.evaluate(&inputs, &mut rng);
                    out.push(vec![y; self.targets.len()]);
                }
            }
            PointModel::Ccg {
                scenario,
                population,
                structures,
                env,
            } => {
                let mut ws = Workspace::default();
                let mut buf = Vec::new();
                let ticks = scenario.months as usize + 1;
                // Only the ticks whose survey the targets read are surveyed (ODD 3).
                let mut observed: Vec<u32> = self
                    .targets
                    .iter()
                    .filter(|t| {
                        let m = t.metric.expect("scenario targets name a metric");
                        METRICS[m].needs_survey()
                    })
                    .map(|t| t.tick.unwrap_or(scenario.months).min(scenario.months))
                    .collect();
                observed.sort_unstable();
                observed.dedup();
                for r in 0..replicates {
                    let mut total = empty_tallies(&scenario);
                    let structure =
                        super::spec::point_structure(&scenario, &population, &structures, r);
                    let plan = MergerPlan::new(&scenario, &structure);
                    for (group, mergers) in plan.groups.iter().zip(&plan.mergers) {
                        buf.clear();
                        buf.resize(group.len() * ticks, [0.0; TALLY_LEN]);
                        let ccgs = &structure.ccgs[group.clone()];
                        simulate_group_observing(
                            &scenario,
                            &env,
                            ccgs,
                            mergers,
                            r,
                            &mut ws,
                            &mut buf,
                            Observed::Ticks(&observed),
                        );
                        for ccg in buf.chunks(ticks) {
                            for (dst, src) in total.iter_mut().zip(ccg) {
                                add_into(dst, src);
                            }
                        }
                    }
                    let row = self
                        .targets
                        .iter()
                        .map(|t| {
                            let tick =
                                t.tick.unwrap_or(scenario.months).min(scenario.months) as usize;
                            let m = t.metric.expect("scenario targets name a metric");
                            METRICS[m].value(&total[tick]).unwrap_or(f64::NAN)
                        })
                        .collect();
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    /// The simulation of one candidate: the mean of each target's output over the replicates,
    /// and its distance from the targets.
    pub fn simulator(&self) -> impl Fn(&[f64], u64) -> anyhow::Result<Simulated> + Sync + '_ {
        move |theta: &[f64], seed: u64| -> anyhow::Result<Simulated> {
            let reps = self
                .simulate(theta, seed, self.replicates)
                .map_err(|p| point_error(self, p))?;
            let outputs: Vec<f64> = (0..self.targets.len())
                .map(|t| reps.iter().map(|r| r[t]).sum::<f64>() / reps.len() as f64)
                .collect();
            Ok(Simulated {
                distance: self.distance(&outputs),
                outputs,
            })
        }
    }

    /// Runs of one CCG per candidate (for sizing the units of an MPI job).
    pub fn runs_per_candidate(&self) -> usize {
        let ccgs = match &self.base {
            Base::Scenario(b) => {
                (crate::limits::Shape::of_scenario(&b.scenario).ccgs as usize).max(1)
            }
            Base::Builtin(_) => 1,
        };
        ccgs * self.replicates as usize
    }

    /// What the calibration needs (see [`crate::limits`]): a candidate's model, tallies and
    /// workspace on every thread at once, and the particles of every generation. The work is
    /// counted as every generation trying twice its particles (acceptance of one in two); a
    /// harder target costs more.
    pub fn footprint(&self, threads: usize) -> crate::limits::Footprint {
        use crate::limits::Shape;
        let (shape, months) = match &self.base {
            Base::Scenario(b) => (Shape::of_scenario(&b.scenario), b.scenario.months),
            Base::Builtin(_) => (
                Shape {
                    ccgs: 0,
                    practices: 0,
                    largest: 0,
                },
                0,
            ),
        };
        let candidates = 2 * (self.settings.particles * self.settings.generations) as u128;
        let practice_months =
            candidates * self.replicates as u128 * shape.practices * months as u128
                + self.predictive_replicates as u128 * shape.practices * months as u128;
        let mut f =
            crate::limits::points(months, &shape, threads as u128, 1, threads, practice_months);
        let per_particle = 8 * (self.parameters.len() + self.targets.len() + 2) as u128 + 64;
        f.parts.push((
            "particles",
            per_particle * (self.settings.particles * (self.settings.generations + 1)) as u128,
        ));
        f
    }

    /// Root mean square of the standardised misses of `outputs` (one per target).
    pub fn distance(&self, outputs: &[f64]) -> f64 {
        let s: f64 = self
            .targets
            .iter()
            .zip(outputs)
            .map(|(t, y)| ((y - t.value) / t.se).powi(2))
            .sum();
        let d = (s / self.targets.len() as f64).sqrt();
        if d.is_nan() { f64::INFINITY } else { d }
    }
}

/// Target rows: id -> (value, se). The CSV needs `id`, `value` and `se` (or `tolerance`) columns;
/// others (source, quote, ...) are carried along unread. Ids must be unique and non-empty, and
/// `value` and `se` finite numbers (`se` positive); errors name the CSV line.
fn read_targets(text: &str) -> Result<Vec<(String, f64, f64)>, String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| format!("line 1: {}", csv_problem(&e)))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut names = std::collections::HashSet::new();
    if let Some(h) = headers.iter().find(|h| !names.insert(*h)) {
        return Err(format!("line 1: column `{h}` is named twice"));
    }
    let id = col("id").ok_or("line 1: needs an `id` column")?;
    let value = col("value").ok_or("line 1: needs a `value` column")?;
    let se = col("se")
        .or_else(|| col("tolerance"))
        .ok_or("line 1: needs an `se` (or `tolerance`) column")?;
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e
                .position()
                .map_or(String::new(), |p| format!("line {}: ", p.line()));
            format!("{line}{}", csv_problem(&e))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let num = |c: usize, what: &str| -> Result<f64, String> {
            let cell = rec.get(c).unwrap_or("").trim();
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!(
                    "line {line}: `{what}` must be a finite number, got \"{}\"",
                    cell.escape_debug()
                )),
            }
        };
        let s = num(se, "se")?;
        if s <= 0.0 {
            return Err(format!("line {line}: `se` must be positive"));
        }
        let target = rec[id].trim().to_string();
        if target.is_empty() {
            return Err(format!("line {line}: `id` is empty"));
        }
        if let Some(first) = seen.insert(target.clone(), line) {
            return Err(format!(
                "line {line}: duplicate id \"{target}\" (first on line {first}); each target may appear once"
            ));
        }
        out.push((target, num(value, "value")?, s));
    }
    Ok(out)
}

/// A CSV reader's error in the words of the file (no internal names).
pub fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "has {} where the header has {expected_len}",
            crate::words::count(*len, "field")
        ),
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
        csv::ErrorKind::Io(e) => format!("could not be read: {e}"),
        _ => "is not valid CSV".to_string(),
    }
}

fn validate(
    f: CalibrationFile,
    base: Base,
    rows: &[(String, f64, f64)],
    default_name: String,
) -> Result<Calibration, Problem> {
    let name = f.name.unwrap_or(default_name);
    check_folder_name(&name).map_err(|m| problem("name", m))?;
    let seed = check_seed(f.seed, 1).map_err(|m| problem("seed", m))?;
    let int =
        |key: &str, v: Option<i64>, default: i64, lo: i64, hi: i64| -> Result<usize, Problem> {
            let v = v.unwrap_or(default);
            if (lo..=hi).contains(&v) {
                Ok(v as usize)
            } else {
                Err(problem(
                    key,
                    format!("must be an integer between {lo} and {hi}, got {v}"),
                ))
            }
        };
    let replicates = int("replicates", f.replicates, 4, 1, 100_000)? as u32;
    let a = &f.abc;
    let particles = int("abc.particles", a.particles, 200, 10, 1_000_000)?;
    let settings = AbcSettings {
        particles,
        generations: int("abc.generations", a.generations, 6, 1, 1000)?,
        quantile: match a.quantile.unwrap_or(0.5) {
            q if q > 0.0 && q < 1.0 => q,
            q => {
                return Err(problem(
                    "abc.quantile",
                    format!("must be between 0 and 1 (exclusive), got {q}"),
                ));
            }
        },
        min_acceptance: match a.min_acceptance.unwrap_or(0.01) {
            q if (0.0..=1.0).contains(&q) => q,
            q => {
                return Err(problem(
                    "abc.min_acceptance",
                    format!("must be between 0 and 1, got {q}"),
                ));
            }
        },
        max_candidates: int(
            "abc.max_candidates",
            a.max_candidates,
            100 * particles as i64,
            particles as i64,
            1_000_000_000,
        )?,
        seed,
    };
    let predictive_replicates = int(
        "abc.predictive_replicates",
        a.predictive_replicates,
        200,
        2,
        1_000_000,
    )? as u32;

    let parameters = spec::parameters(&f.parameters, &base)?;
    let mut priors = Vec::new();
    for (i, p) in parameters.iter().enumerate() {
        match &p.domain {
            Domain::Range {
                lo,
                hi,
                log,
                levels: None,
            } => priors.push(Prior {
                lo: *lo,
                hi: *hi,
                log: *log,
            }),
            _ => {
                return Err(problem(
                    format!("parameters[{i}].path"),
                    "a calibrated parameter needs `prior = [low, high]` (and no `values` or `levels`)",
                ));
            }
        }
    }
    if f.matches.is_empty() {
        return Err(problem(
            "match",
            "list the targets to fit ([[match]] with `target` and `metric`)",
        ));
    }
    let months = match &base {
        Base::Scenario(b) => Some(b.scenario.months),
        Base::Builtin(_) => None,
    };
    let mut targets: Vec<Target> = Vec::new();
    // Hash lookups, so that long target lists are matched in linear time.
    let by_id: std::collections::HashMap<&str, &(String, f64, f64)> =
        rows.iter().map(|r| (r.0.as_str(), r)).collect();
    let mut matched: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, m) in f.matches.iter().enumerate() {
        let key = |k: &str| format!("match[{i}].{k}");
        let Some(&(id, value, se)) = by_id.get(m.target.as_str()) else {
            return Err(problem(
                key("target"),
                format!("no row with id \"{}\" in the targets file", m.target),
            ));
        };
        if !matched.insert(id.as_str()) {
            return Err(problem(
                key("target"),
                format!("target \"{id}\" is matched twice"),
            ));
        }
        let metric = match &base {
            Base::Builtin(model) => {
                if m.metric != "y" || m.tick.is_some() {
                    return Err(problem(
                        key("metric"),
                        format!(
                            "the {} model has one output, `y`, and no ticks",
                            model.name()
                        ),
                    ));
                }
                None
            }
            Base::Scenario(_) => Some(metric_index(&m.metric).ok_or_else(|| {
                problem(key("metric"), format!("unknown metric \"{}\"", m.metric))
            })?),
        };
        let tick = match (m.tick, months) {
            (None, _) => None,
            (Some(t), Some(months)) if (0..=months as i64).contains(&t) => Some(t as u32),
            (Some(t), _) => {
                return Err(problem(
                    key("tick"),
                    format!(
                        "tick {t} is outside the base scenario's ticks 0..={}",
                        months.unwrap_or(0)
                    ),
                ));
            }
        };
        targets.push(Target {
            id: id.clone(),
            value: *value,
            se: *se,
            metric,
            tick,
        });
    }
    Ok(Calibration {
        path: PathBuf::new(),
        name,
        description: f.description.unwrap_or_default(),
        sha256: String::new(),
        base,
        targets_path: PathBuf::new(),
        seed,
        replicates,
        settings,
        predictive_replicates,
        parameters,
        priors,
        targets,
    })
}

/// The fit of one target at the end of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFit {
    pub id: String,
    pub value: f64,
    pub se: f64,
    /// Posterior-weighted mean of the particles' model values.
    pub posterior_model: f64,
    /// Posterior-weighted mean of |model - target| / se.
    pub mean_abs_z: f64,
    /// At the posterior mean: mean over the predictive replicates and their 2.5%-97.5% range.
    pub predictive_mean: f64,
    pub predictive_low: f64,
    pub predictive_high: f64,
}

impl TargetFit {
    pub fn inside(&self) -> bool {
        self.predictive_low <= self.value && self.value <= self.predictive_high
    }
}

/// What a calibration produced.
#[derive(Debug, Clone)]
pub struct CalibrationResult {
    pub generations: Vec<Generation>,
    /// Posterior mean and 95% interval of each parameter.
    pub mean: Vec<f64>,
    pub interval: Vec<(f64, f64)>,
    pub fits: Vec<TargetFit>,
}

/// `manifest.json` of a calibration folder (no times, so reruns give the same bytes).
#[derive(Debug, Serialize)]
struct CalibrationManifest<'a> {
    ccgsim_version: &'a str,
    calibration: &'a str,
    description: &'a str,
    calibration_sha256: &'a str,
    seed: u64,
    replicates: u32,
    particles: usize,
    generations_run: usize,
    quantile: f64,
    parameters: Vec<&'a str>,
    targets: Vec<&'a str>,
    files: [&'a str; 6],
}

/// The files of a finished calibration folder.
pub const FINISHED_FILES: [&str; 6] = [
    "posterior.csv",
    "generations.csv",
    "targets.csv",
    "ppc.csv",
    "calibrated.toml",
    "manifest.json",
];

/// How a calibration run treats its output folder.
#[derive(Debug, Clone, Default)]
pub struct CalibrateOptions {
    /// Continue from the folder's journal (start afresh if there is none).
    pub resume: bool,
    /// Discard the journal and temporary files of an earlier run and start again.
    pub force: bool,
    /// Test hook: stop as if interrupted once this many generations are recorded.
    pub stop_after: Option<usize>,
}

/// What a calibration run did.
#[derive(Debug, Clone)]
pub struct CalibrationReport {
    /// The result; `None` when the folder already held this calibration, finished.
    pub result: Option<CalibrationResult>,
    /// Generations already finished when this run started (resumed).
    pub resumed_from: usize,
}

/// The calibration was stopped (by a signal or the test hook) before it finished; its finished
/// generations are kept in the folder's journal for `--resume`.
#[derive(Debug, thiserror::Error)]
#[error(
    "calibration stopped{} after {}; they are kept in '{}': run the same command with --resume to continue",
    crate::signals::by(),
    count(*generations, "finished generation"),
    dir.display()
)]
pub struct CalibrationStopped {
    pub dir: PathBuf,
    pub generations: usize,
}

/// Run (or, with `options.resume`, continue) the calibration and write its folder `dir`.
/// `on_generation(g, generation, resumed)` sees each finished generation, those taken from the
/// journal of an interrupted run first (`resumed` true).
pub fn run_calibration(
    c: &Calibration,
    dir: &Path,
    options: &CalibrateOptions,
    cancel: &AtomicBool,
    on_generation: impl FnMut(usize, &Generation, bool),
) -> anyhow::Result<CalibrationReport> {
    run_calibration_on(c, dir, options, cancel, None, on_generation)
}

/// [`run_calibration`], with the candidates simulated by every rank of an MPI job when
/// `cluster` is given (rank 0's coordinator): the same folder, byte for byte.
pub fn run_calibration_on(
    c: &Calibration,
    dir: &Path,
    options: &CalibrateOptions,
    cancel: &AtomicBool,
    cluster: Option<&mut crate::cluster::Coordinator<'_>>,
    mut on_generation: impl FnMut(usize, &Generation, bool),
) -> anyhow::Result<CalibrationReport> {
    use super::journal::{Folder, open_folder};
    let (mut journal, start) = match open_folder(c, dir, options.resume, options.force)? {
        Folder::Complete => {
            return Ok(CalibrationReport {
                result: None,
                resumed_from: 0,
            });
        }
        Folder::Fresh(journal) => (journal, super::abc::Start::default()),
        Folder::Resume(journal, start) => (journal, start),
    };
    let resumed_from = start.generations.len();
    for (g, generation) in start.generations.iter().enumerate() {
        on_generation(g, generation, true);
    }
    let mut recorded = resumed_from;
    let stopped = |generations: usize| CalibrationStopped {
        dir: dir.to_path_buf(),
        generations,
    };
    if let Some(cluster) = &cluster {
        let batch = (4 * c.settings.particles).max(64);
        if batch < cluster.size() {
            return Err(crate::cluster::ClusterError::Usage(format!(
                "{} ranks but only {batch} candidates per batch: run with at most {batch} ranks",
                cluster.size()
            ))
            .into());
        }
    }
    let result = calibrate(c, dir, cancel, start, cluster, |event| {
        match event {
            Event::Generation(g, generation) => {
                journal.generation(g, generation)?;
                recorded = g + 1;
                on_generation(g, generation, false);
                if options.stop_after.is_some_and(|k| recorded >= k) {
                    return Err(stopped(recorded).into());
                }
            }
            Event::Exhausted(g) => journal.exhausted(g)?,
        }
        Ok(())
    });
    match result {
        Ok(result) => {
            journal.remove()?;
            Ok(CalibrationReport {
                result: Some(result),
                resumed_from,
            })
        }
        Err(e) if e.is::<Interrupted>() => Err(stopped(recorded).into()),
        Err(e) if e.is::<crate::cluster::ClusterError>() && recorded > 0 => {
            let note = format!(
                "{} kept in '{}': run the same command with --resume to continue",
                crate::words::count(recorded, "finished generation"),
                dir.display()
            );
            Err(crate::cluster::ClusterError::noting(e, &note))
        }
        Err(e) => Err(e),
    }
}

/// ABC-SMC from `start`, the posterior-predictive check and the folder's files.
fn calibrate(
    c: &Calibration,
    dir: &Path,
    cancel: &AtomicBool,
    start: super::abc::Start,
    cluster: Option<&mut crate::cluster::Coordinator<'_>>,
    on_event: impl FnMut(Event<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<CalibrationResult> {
    let simulate = c.simulator();
    let generations = match cluster {
        None => abc_smc(&c.priors, &c.settings, cancel, start, simulate, on_event)?,
        Some(cluster) => {
            use crate::cluster::jobs;
            let job = jobs::CalibrationJob {
                simulate: &simulate,
            };
            let runs = c.runs_per_candidate();
            let mut evaluate = |candidates: &[jobs::Candidate]| {
                let tasks = jobs::candidate_tasks(candidates, runs, cluster.size());
                let mut out = Vec::with_capacity(candidates.len());
                let mapped = cluster.map(&job, &tasks, cancel, |_, simulated| {
                    out.extend(simulated.into_iter().map(Ok));
                    Ok(())
                });
                match mapped {
                    Ok(()) => out,
                    // The first candidate's answer is the error, which ends the calibration.
                    Err(e) => vec![Err(e)],
                }
            };
            let generations = super::abc::abc_smc_with(
                &c.priors,
                &c.settings,
                cancel,
                start,
                &mut evaluate,
                on_event,
            )?;
            // The predictive check and the files are rank 0's alone.
            cluster.release();
            generations
        }
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(Interrupted.into());
    }
    let last = generations
        .last()
        .context("the calibration produced no generation")?;
    let mean = last.mean();
    let interval = last.interval();
    // The posterior-predictive check at the posterior mean, on its own seed.
    let theta: Vec<f64> = c
        .parameters
        .iter()
        .zip(&mean)
        .map(|(p, &x)| if p.integer { x.round() } else { x })
        .collect();
    let seed = derive_seed(c.seed, Purpose::Sweep, u64::MAX, 0);
    let reps = c
        .simulate(&theta, seed, c.predictive_replicates)
        .map_err(|p| point_error(c, p))?;
    if cancel.load(Ordering::Relaxed) {
        return Err(Interrupted.into());
    }
    let fits: Vec<TargetFit> = c
        .targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let mut ys: Vec<f64> = reps.iter().map(|r| r[t]).collect();
            ys.sort_by(f64::total_cmp);
            let q = |p: f64| ys[((p * (ys.len() - 1) as f64).round() as usize).min(ys.len() - 1)];
            let w: f64 = last.particles.iter().map(|p| p.weight).sum();
            TargetFit {
                id: target.id.clone(),
                value: target.value,
                se: target.se,
                posterior_model: last
                    .particles
                    .iter()
                    .map(|p| p.weight * p.outputs[t])
                    .sum::<f64>()
                    / w,
                mean_abs_z: last
                    .particles
                    .iter()
                    .map(|p| p.weight * ((p.outputs[t] - target.value) / target.se).abs())
                    .sum::<f64>()
                    / w,
                predictive_mean: ys.iter().sum::<f64>() / ys.len() as f64,
                predictive_low: q(0.025),
                predictive_high: q(0.975),
            }
        })
        .collect();
    let result = CalibrationResult {
        generations,
        mean,
        interval,
        fits,
    };
    write_outputs(c, dir, &result, &theta)?;
    Ok(result)
}

fn point_error(c: &Calibration, p: Problem) -> anyhow::Error {
    let message = format!("a candidate failed validation: {}: {}", p.key, p.message);
    match read(&c.path) {
        Ok(text) => located(&text, &c.path, problem("parameters", message)).into(),
        Err(e) => e.into(),
    }
}

fn write_outputs(
    c: &Calibration,
    dir: &Path,
    r: &CalibrationResult,
    theta: &[f64],
) -> anyhow::Result<()> {
    let ctx = |f: &PendingFile| format!("could not write '{}'", f.dest().display());
    let columns: Vec<String> = c.parameters.iter().map(Parameter::column).collect();

    let posterior = PendingFile::new(dir, "posterior.csv")?;
    {
        let mut w = csv::Writer::from_writer(posterior.writer()?);
        let mut header = vec![
            "generation".to_string(),
            "particle".into(),
            "weight".into(),
            "distance".into(),
        ];
        header.extend(columns.iter().cloned());
        header.extend(c.targets.iter().map(|t| format!("model_{}", t.id)));
        w.write_record(&header)?;
        for (g, generation) in r.generations.iter().enumerate() {
            for (i, p) in generation.particles.iter().enumerate() {
                let mut row = vec![
                    g.to_string(),
                    i.to_string(),
                    number(Some(p.weight)),
                    number(Some(p.distance)),
                ];
                row.extend(p.theta.iter().map(|x| number(Some(*x))));
                row.extend(p.outputs.iter().map(|x| number(Some(*x))));
                w.write_record(&row)?;
            }
        }
        w.flush().with_context(|| ctx(&posterior))?;
    }

    let generations = PendingFile::new(dir, "generations.csv")?;
    {
        let mut w = csv::Writer::from_writer(generations.writer()?);
        let mut header = vec![
            "generation".to_string(),
            "epsilon".into(),
            "candidates".into(),
            "accepted".into(),
            "acceptance_rate".into(),
            "ess".into(),
        ];
        for col in &columns {
            header.extend([
                format!("{col}_mean"),
                format!("{col}_low"),
                format!("{col}_high"),
            ]);
        }
        w.write_record(&header)?;
        for (g, generation) in r.generations.iter().enumerate() {
            let mut row = vec![
                g.to_string(),
                number(generation.epsilon.is_finite().then_some(generation.epsilon)),
                generation.candidates.to_string(),
                generation.particles.len().to_string(),
                number(Some(generation.acceptance_rate())),
                number(Some(generation.ess())),
            ];
            for (m, (lo, hi)) in generation.mean().into_iter().zip(generation.interval()) {
                row.extend([number(Some(m)), number(Some(lo)), number(Some(hi))]);
            }
            w.write_record(&row)?;
        }
        w.flush().with_context(|| ctx(&generations))?;
    }

    let targets = PendingFile::new(dir, "targets.csv")?;
    {
        let mut w = csv::Writer::from_writer(targets.writer()?);
        w.write_record([
            "target",
            "metric",
            "tick",
            "value",
            "se",
            "posterior_model",
            "mean_abs_z",
        ])?;
        for (t, fit) in c.targets.iter().zip(&r.fits) {
            w.write_record([
                t.id.as_str(),
                t.metric.map_or("y", |m| METRICS[m].name),
                &t.tick.map_or("final".to_string(), |x| x.to_string()),
                &number(Some(t.value)),
                &number(Some(t.se)),
                &number(Some(fit.posterior_model)),
                &number(Some(fit.mean_abs_z)),
            ])?;
        }
        w.flush().with_context(|| ctx(&targets))?;
    }

    let ppc = PendingFile::new(dir, "ppc.csv")?;
    {
        let mut w = csv::Writer::from_writer(ppc.writer()?);
        w.write_record([
            "target",
            "value",
            "model_mean",
            "model_low",
            "model_high",
            "inside",
        ])?;
        for fit in &r.fits {
            w.write_record([
                fit.id.as_str(),
                &number(Some(fit.value)),
                &number(Some(fit.predictive_mean)),
                &number(Some(fit.predictive_low)),
                &number(Some(fit.predictive_high)),
                if fit.inside() { "true" } else { "false" },
            ])?;
        }
        w.flush().with_context(|| ctx(&ppc))?;
    }

    let scenario = PendingFile::new(dir, "calibrated.toml")?;
    {
        let mut w = scenario.writer()?;
        let text = calibrated_scenario(c, r, theta)?;
        std::io::Write::write_all(&mut w, text.as_bytes()).with_context(|| ctx(&scenario))?;
        std::io::Write::flush(&mut w).with_context(|| ctx(&scenario))?;
    }

    let manifest = {
        let m = CalibrationManifest {
            ccgsim_version: env!("CARGO_PKG_VERSION"),
            calibration: &c.name,
            description: &c.description,
            calibration_sha256: &c.sha256,
            seed: c.seed,
            replicates: c.replicates,
            particles: c.settings.particles,
            generations_run: r.generations.len(),
            quantile: c.settings.quantile,
            parameters: c.parameters.iter().map(|p| p.path.as_str()).collect(),
            targets: c.targets.iter().map(|t| t.id.as_str()).collect(),
            files: FINISHED_FILES,
        };
        let files = [&posterior, &generations, &targets, &ppc, &scenario];
        crate::integrity::write_manifest(dir, &m, &files)?
    };
    for f in [posterior, generations, targets, ppc, scenario, manifest] {
        f.commit()?;
    }
    Ok(())
}

/// The base scenario with the posterior means set, as a scenario file `ccgsim run` accepts; for a
/// test model, the calibrated inputs as comments.
fn calibrated_scenario(
    c: &Calibration,
    r: &CalibrationResult,
    theta: &[f64],
) -> anyhow::Result<String> {
    let mut head = format!(
        "# Calibrated by `ccgsim calibrate` ({}): posterior means after {} of ABC-SMC,\n# {}.\n",
        c.name,
        count(r.generations.len(), "generation"),
        count(c.settings.particles, "particle")
    );
    for (p, ((lo, hi), x)) in c.parameters.iter().zip(r.interval.iter().zip(theta)) {
        head.push_str(&format!(
            "#   {} = {} (95% interval {} to {})\n",
            p.path,
            number(Some(*x)),
            number(Some(*lo)),
            number(Some(*hi))
        ));
    }
    match &c.base {
        Base::Builtin(m) => Ok(format!(
            "{head}# model = \"{}\" (a built-in test model: no scenario to write)\n",
            m.name()
        )),
        Base::Scenario(b) => {
            let values: Vec<Value> = c
                .parameters
                .iter()
                .zip(theta)
                .map(|(p, &x)| p.number(x))
                .collect();
            let assigned: Vec<(&Parameter, &Value)> = c.parameters.iter().zip(&values).collect();
            let mut table = spec::table_with(b, &assigned)
                .map_err(|p| anyhow::anyhow!("{}: {}", p.key, p.message))?;
            table.insert(
                "name".into(),
                Value::String(format!("{}_calibrated", b.name)),
            );
            let body =
                toml::to_string(&table).context("could not write the calibrated scenario")?;
            Ok(format!("{head}\n{body}"))
        }
    }
}

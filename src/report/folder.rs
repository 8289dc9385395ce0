//! The result folders a report reads: which kind each is (run, compare, sweep, calibration),
//! detected from the files it holds, and what the report needs from each, loaded by column name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ReportError;
use super::table::{CsvRows, interval};
use crate::calendar::Month;

/// The kinds of result folder, by the command that wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Run,
    Compare,
    Sweep,
    Calibration,
    Optimisation,
    Discovery,
}

/// Each kind of folder: the files it is recognised by (any one) and the files it must hold.
type Signature = (Kind, &'static [&'static str], &'static [&'static str]);

/// The kinds in the order they are tried: a folder with `effects.csv` is a compare folder even
/// if it also holds run files.
const SIGNATURES: [Signature; 6] = [
    (
        Kind::Compare,
        &["effects.csv"],
        &["effects.csv", "manifest.json"],
    ),
    (
        Kind::Optimisation,
        &["pareto.csv"],
        &["pareto.csv", "generations.csv", "manifest.json"],
    ),
    (
        Kind::Discovery,
        &["trajectory.csv"],
        &["trajectory.csv", "boxes.csv", "manifest.json"],
    ),
    (
        Kind::Calibration,
        &["posterior.csv", "generations.csv", "ppc.csv"],
        &["posterior.csv", "generations.csv", "targets.csv", "ppc.csv"],
    ),
    (
        Kind::Sweep,
        &["summary.csv", "points.csv", "results.csv"],
        &["summary.csv", "points.csv", "results.csv", "manifest.json"],
    ),
    (
        Kind::Run,
        &["timeseries.csv", "replicates.csv"],
        &["timeseries.csv", "manifest.json", "replicates.csv"],
    ),
];

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Run => "run folder (ccgsim run)",
            Kind::Compare => "compare folder (ccgsim compare)",
            Kind::Sweep => "sweep folder (ccgsim sweep)",
            Kind::Calibration => "calibration folder (ccgsim calibrate)",
            Kind::Optimisation => "optimisation folder (ccgsim optimise)",
            Kind::Discovery => "discovery folder (ccgsim discover)",
        }
    }
}

fn folder_error(dir: &Path, problem: impl Into<String>) -> ReportError {
    ReportError::Folder {
        dir: dir.to_path_buf(),
        problem: problem.into(),
    }
}

/// The kind of the folder `dir`, or why it is none.
pub fn detect(dir: &Path) -> Result<Kind, ReportError> {
    if !dir.is_dir() {
        return Err(folder_error(dir, "is not a folder (it does not exist?)"));
    }
    let has = |f: &str| dir.join(f).is_file();
    for (kind, recognised_by, needs) in SIGNATURES {
        if !recognised_by.iter().any(|f| has(f)) {
            continue;
        }
        let missing: Vec<&str> = needs.iter().copied().filter(|f| !has(f)).collect();
        if !missing.is_empty() {
            return Err(folder_error(
                dir,
                format!(
                    "looks like a {} but has no {} (is it complete?)",
                    kind.describe(),
                    missing.join(", ")
                ),
            ));
        }
        return Ok(kind);
    }
    Err(folder_error(
        dir,
        "is not a ccgsim results folder: it has none of timeseries.csv (run), effects.csv \
         (compare), summary.csv (sweep), posterior.csv (calibration), pareto.csv (optimise) or \
         trajectory.csv (discover)",
    ))
}

/// Read and parse `dir/manifest.json`.
fn manifest(dir: &Path) -> Result<Value, ReportError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| folder_error(dir, format!("manifest.json could not be read: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| folder_error(dir, format!("manifest.json is not valid JSON: {e}")))
}

/// The string at `path` in a JSON value.
pub fn json_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The number at `path` in a JSON value.
pub fn json_f64(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// A mean with its 95% interval, as the summary files give it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub mean: Option<f64>,
    pub ci: Option<(f64, f64)>,
}

/// An action of the policy as the manifest records it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyAction {
    pub action: String,
    pub rate: Option<f64>,
    pub target: String,
    pub min_level: String,
}

/// A run folder: its scenario and the population-level summaries per metric and tick.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// The legend name: the scenario's name (the folder's, if two runs share one).
    pub name: String,
    pub scenario: String,
    pub description: String,
    pub start: Month,
    pub months: u64,
    pub replicates: u64,
    pub seed: u64,
    pub ccgs: u64,
    pub practices: u64,
    /// `per_replicate` or `fixed` (manifests written before the choice existed: `fixed`).
    pub structure: String,
    pub version: String,
    pub started_at: String,
    pub policy: Vec<PolicyAction>,
    /// Metric name -> summary per tick (index = tick).
    pub series: BTreeMap<String, Vec<Option<Summary>>>,
    /// The CCGs at the final tick: (ccg, practices, metric, summary).
    pub by_ccg: Option<Vec<CcgFinal>>,
}

impl Run {
    /// The number of ticks (months including the start month).
    pub fn ticks(&self) -> usize {
        self.series.values().map(Vec::len).max().unwrap_or(0)
    }

    /// The calendar month of the final tick.
    pub fn final_month(&self) -> Month {
        self.start.plus(self.ticks().saturating_sub(1) as i32)
    }

    /// The summary of `metric` at the final tick.
    pub fn final_summary(&self, metric: &str) -> Option<Summary> {
        self.series.get(metric)?.last().copied().flatten()
    }
}

/// One CCG's summary of one metric at a run's final tick.
#[derive(Debug, Clone, PartialEq)]
pub struct CcgFinal {
    pub ccg: String,
    pub practices: f64,
    pub metric: String,
    pub summary: Summary,
}

/// The metrics whose spread across CCGs the report draws.
pub const CCG_METRICS: [&str; 2] = ["engaged_share", "mean_trust"];

/// The manifest of `dir`, after verifying it and the files `required` and `optional` that the
/// report reads ([`crate::integrity::verify_folder`]).
fn verified_manifest(
    dir: &Path,
    required: &[&str],
    optional: &[&str],
    accept_unverified: bool,
) -> Result<Value, ReportError> {
    let verified = crate::integrity::verify_folder(dir, required, optional, accept_unverified)?;
    if verified.records.is_some() || verified.text.is_empty() {
        Ok(verified.json)
    } else {
        manifest(dir)
    }
}

/// Load a run folder; one without checksums is refused unless `accept_unverified`.
pub fn load_run(dir: &Path, accept_unverified: bool) -> Result<Run, ReportError> {
    let m = verified_manifest(dir, &["timeseries.csv"], &["by_ccg.csv"], accept_unverified)?;
    let start_text = json_str(&m, &["scenario", "start"])
        .ok_or_else(|| folder_error(dir, "manifest.json has no scenario.start"))?;
    let start: Month = start_text
        .parse()
        .map_err(|e| folder_error(dir, format!("manifest.json scenario.start: {e}")))?;
    let int = |path: &[&str]| json_f64(&m, path).map_or(0, |v| v as u64);
    let text = |path: &[&str]| json_str(&m, path).unwrap_or_default().to_string();
    let policy = ["training", "data_review", "targets", "sanctions"]
        .iter()
        .map(|a| PolicyAction {
            action: a.to_string(),
            rate: json_f64(&m, &["scenario", "policy", a, "rate"]),
            target: text(&["scenario", "policy", a, "target"]),
            min_level: text(&["scenario", "policy", a, "min_level"]),
        })
        .collect();
    let series = timeseries(&dir.join("timeseries.csv"))?;
    let by_ccg_path = dir.join("by_ccg.csv");
    let ticks = series.values().map(Vec::len).max().unwrap_or(0);
    if ticks == 0 {
        return Err(folder_error(dir, "timeseries.csv has no rows"));
    }
    let by_ccg = if by_ccg_path.is_file() {
        Some(by_ccg(&by_ccg_path, ticks - 1)?)
    } else {
        None
    };
    let scenario = text(&["scenario", "name"]);
    Ok(Run {
        dir: dir.to_path_buf(),
        name: scenario.clone(),
        scenario,
        description: text(&["scenario", "description"]),
        start,
        months: int(&["scenario", "months"]),
        replicates: int(&["replicates"]),
        seed: int(&["seed"]),
        ccgs: int(&["ccgs"]),
        practices: int(&["practices"]),
        structure: Some(text(&["structure"]))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "fixed".into()),
        version: text(&["ccgsim_version"]),
        started_at: text(&["started_at"]),
        policy,
        series,
        by_ccg,
    })
}

/// `timeseries.csv`: metric -> summary per tick.
fn timeseries(path: &Path) -> Result<BTreeMap<String, Vec<Option<Summary>>>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (tick, metric) = (rows.column("tick")?, rows.column("metric")?);
    let (mean, lo, hi) = (
        rows.column("mean")?,
        rows.column("ci_low")?,
        rows.column("ci_high")?,
    );
    let mut out: BTreeMap<String, Vec<Option<Summary>>> = BTreeMap::new();
    rows.each(|r| {
        let t = r.index(tick)?;
        if t > 100_000 {
            return Err(r.error(format!("tick {t} is implausibly large")));
        }
        let s = Summary {
            mean: r.number(mean)?,
            ci: interval(r.number(lo)?, r.number(hi)?),
        };
        let v = out.entry(r.text(metric).to_string()).or_default();
        if v.len() <= t {
            v.resize(t + 1, None);
        }
        if v[t].replace(s).is_some() {
            return Err(r.error(format!("tick {t} of {} appears twice", r.text(metric))));
        }
        Ok(())
    })?;
    let ticks = out.values().map(Vec::len).max().unwrap_or(0);
    for (name, v) in &out {
        if let Some(t) = (0..ticks).find(|&t| v.get(t).is_none_or(Option::is_none)) {
            return Err(folder_error(
                path,
                format!("has no row for tick {t} of {name} (a row deleted?)"),
            ));
        }
    }
    Ok(out)
}

/// The rows of `by_ccg.csv` at tick `last` for the metrics in [`CCG_METRICS`].
fn by_ccg(path: &Path, last: usize) -> Result<Vec<CcgFinal>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (ccg, practices, tick, metric) = (
        rows.column("ccg")?,
        rows.column("practices")?,
        rows.column("tick")?,
        rows.column("metric")?,
    );
    let (mean, lo, hi) = (
        rows.column("mean")?,
        rows.column("ci_low")?,
        rows.column("ci_high")?,
    );
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    rows.each(|r| {
        if r.index(tick)? != last || !CCG_METRICS.contains(&r.text(metric)) {
            return Ok(());
        }
        if !seen.insert((r.text(ccg).to_string(), r.text(metric).to_string())) {
            return Err(r.error(format!(
                "{} of CCG {} at tick {last} appears twice",
                r.text(metric),
                r.text(ccg)
            )));
        }
        out.push(CcgFinal {
            ccg: r.text(ccg).to_string(),
            practices: r.number(practices)?.unwrap_or(f64::NAN),
            metric: r.text(metric).to_string(),
            summary: Summary {
                mean: r.number(mean)?,
                ci: interval(r.number(lo)?, r.number(hi)?),
            },
        });
        Ok(())
    })?;
    Ok(out)
}

/// One row of `effects.csv`: a scenario's difference from its reference in one metric and month.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub scenario: String,
    pub reference: String,
    pub month: Month,
    pub metric: String,
    pub difference: Option<f64>,
    /// The paired interval (runs sharing seeds).
    pub paired_ci: Option<(f64, f64)>,
    pub unpaired_ci: Option<(f64, f64)>,
    pub paired: bool,
}

impl Effect {
    /// The interval to show: paired where the comparison is paired, else unpaired.
    pub fn interval(&self) -> Option<(f64, f64)> {
        if self.paired {
            self.paired_ci.or(self.unpaired_ci)
        } else {
            self.unpaired_ci
        }
    }
}

/// A compare folder: its effects, in file order.
#[derive(Debug, Clone)]
pub struct Compare {
    pub dir: PathBuf,
    pub effects: Vec<Effect>,
}

impl Compare {
    /// The (scenario, reference) pairs, in order of first appearance.
    pub fn contrasts(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for e in &self.effects {
            let pair = (e.scenario.clone(), e.reference.clone());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
        out
    }

    /// The last month of the comparison.
    pub fn final_month(&self) -> Option<Month> {
        self.effects.iter().map(|e| e.month).max()
    }
}

/// Load a compare folder; one without checksums is refused unless `accept_unverified`.
pub fn load_compare(dir: &Path, accept_unverified: bool) -> Result<Compare, ReportError> {
    verified_manifest(dir, &["effects.csv"], &[], accept_unverified)?;
    let mut rows = CsvRows::open(&dir.join("effects.csv"))?;
    let col = |rows: &CsvRows, n: &str| rows.column(n);
    let (scenario, reference, month, metric) = (
        col(&rows, "scenario")?,
        col(&rows, "reference")?,
        col(&rows, "month")?,
        col(&rows, "metric")?,
    );
    let (difference, lo, hi) = (
        col(&rows, "difference")?,
        col(&rows, "ci_low")?,
        col(&rows, "ci_high")?,
    );
    let (ulo, uhi, paired) = (
        col(&rows, "unpaired_ci_low")?,
        col(&rows, "unpaired_ci_high")?,
        col(&rows, "paired")?,
    );
    let mut effects = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    rows.each(|r| {
        let m: Month = r.text(month).parse().map_err(|e: String| r.error(e))?;
        let key = [scenario, reference, month, metric].map(|c| r.text(c).to_string());
        if !seen.insert(key) {
            return Err(r.error(format!(
                "{} of {} against {} in {m} appears twice",
                r.text(metric),
                r.text(scenario),
                r.text(reference)
            )));
        }
        let paired = match r.text(paired) {
            "true" => true,
            "false" => false,
            other => {
                return Err(r.error(format!("`paired` must be true or false, got \"{other}\"")));
            }
        };
        effects.push(Effect {
            scenario: r.text(scenario).to_string(),
            reference: r.text(reference).to_string(),
            month: m,
            metric: r.text(metric).to_string(),
            difference: r.number(difference)?,
            paired_ci: interval(r.number(lo)?, r.number(hi)?),
            unpaired_ci: interval(r.number(ulo)?, r.number(uhi)?),
            paired,
        });
        Ok(())
    })?;
    if effects.is_empty() {
        return Err(folder_error(dir, "effects.csv has no rows"));
    }
    Ok(Compare {
        dir: dir.to_path_buf(),
        effects,
    })
}

/// A varied parameter of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The dotted key (`policy.sanctions.rate`).
    pub path: String,
    /// Its column in points.csv (`param_<path>`).
    pub column: String,
}

/// A summarised output of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The column name (`engaged_share`, `mean_trust_mean_t2_4`).
    pub name: String,
    /// The metric it reads.
    pub metric: String,
    /// When it is read ("final", "mean of ticks 2-4").
    pub at: String,
}

/// One row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub output: String,
    pub parameter: String,
    pub index: String,
    pub value: Option<f64>,
    pub ci: Option<(f64, f64)>,
}

/// A sweep folder.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub dir: PathBuf,
    pub name: String,
    pub description: String,
    pub design: String,
    pub replicates: u64,
    pub parameters: Vec<Parameter>,
    pub outputs: Vec<Output>,
    /// Each point's parameter values as written (index = point), one per parameter.
    pub points: Vec<Vec<String>>,
    /// (point, output) -> summary over replicates.
    pub summary: BTreeMap<(usize, String), Summary>,
    pub sensitivity: Option<Vec<Index>>,
}

/// Load a sweep folder; one without checksums is refused unless `accept_unverified`.
/// (`ccgsim sensitivity` adds the record of `sensitivity.csv` to the manifest.)
pub fn load_sweep(dir: &Path, accept_unverified: bool) -> Result<Sweep, ReportError> {
    let m = verified_manifest(
        dir,
        &["points.csv", "summary.csv"],
        &["sensitivity.csv"],
        accept_unverified,
    )?;
    let parameters = sweep_parameters(dir, &m)?;
    let outputs: Vec<Output> = m
        .get("outputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    Some(Output {
                        name: json_str(o, &["name"])?.to_string(),
                        metric: json_str(o, &["metric"])?.to_string(),
                        at: json_str(o, &["at"]).unwrap_or("final").to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut rows = CsvRows::open(&dir.join("points.csv"))?;
    let point = rows.column("point")?;
    let cols = parameters
        .iter()
        .map(|p| rows.column(&p.column))
        .collect::<Result<Vec<_>, _>>()?;
    let mut points: Vec<Vec<String>> = Vec::new();
    rows.each(|r| {
        let p = r.index(point)?;
        if p != points.len() {
            return Err(r.error(format!("expected point {}, got {p}", points.len())));
        }
        points.push(cols.iter().map(|&c| r.text(c).to_string()).collect());
        Ok(())
    })?;
    let summary = sweep_summary(&dir.join("summary.csv"))?;
    for p in 0..points.len() {
        if let Some(o) = outputs
            .iter()
            .find(|o| !summary.contains_key(&(p, o.name.clone())))
        {
            return Err(folder_error(
                &dir.join("summary.csv"),
                format!("has no row for point {p}, {} (a row deleted?)", o.name),
            ));
        }
    }
    let sens_path = dir.join("sensitivity.csv");
    let sensitivity = if sens_path.is_file() {
        Some(sensitivity(&sens_path)?)
    } else {
        None
    };
    Ok(Sweep {
        dir: dir.to_path_buf(),
        name: json_str(&m, &["sweep"]).unwrap_or_default().to_string(),
        description: json_str(&m, &["description"])
            .unwrap_or_default()
            .to_string(),
        design: json_str(&m, &["design", "kind"])
            .unwrap_or_default()
            .to_string(),
        replicates: json_f64(&m, &["replicates"]).map_or(0, |v| v as u64),
        parameters,
        outputs,
        points,
        summary,
        sensitivity,
    })
}

/// The varied parameters of a sweep manifest.
fn sweep_parameters(dir: &Path, m: &Value) -> Result<Vec<Parameter>, ReportError> {
    let list = m
        .get("parameters")
        .and_then(Value::as_array)
        .ok_or_else(|| folder_error(dir, "manifest.json has no parameters list"))?;
    Ok(list
        .iter()
        .filter_map(|p| {
            let path = json_str(p, &["path"])?.to_string();
            let column =
                json_str(p, &["column"]).map_or_else(|| format!("param_{path}"), str::to_string);
            Some(Parameter { path, column })
        })
        .collect())
}

/// `summary.csv`: (point, output) -> mean and interval.
fn sweep_summary(path: &Path) -> Result<BTreeMap<(usize, String), Summary>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (point, metric, mean, lo, hi) = (
        rows.column("point")?,
        rows.column("metric")?,
        rows.column("mean")?,
        rows.column("ci_low")?,
        rows.column("ci_high")?,
    );
    let mut out = BTreeMap::new();
    rows.each(|r| {
        let s = Summary {
            mean: r.number(mean)?,
            ci: interval(r.number(lo)?, r.number(hi)?),
        };
        let key = (r.index(point)?, r.text(metric).to_string());
        if out.contains_key(&key) {
            return Err(r.error(format!("point {}, {} appears twice", key.0, key.1)));
        }
        out.insert(key, s);
        Ok(())
    })?;
    Ok(out)
}

/// `sensitivity.csv`, in file order.
fn sensitivity(path: &Path) -> Result<Vec<Index>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (metric, parameter, index) = (
        rows.column("metric")?,
        rows.column("parameter")?,
        rows.column("index")?,
    );
    let (value, lo, hi) = (
        rows.column("value")?,
        rows.column("ci_low")?,
        rows.column("ci_high")?,
    );
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    rows.each(|r| {
        let key = [metric, parameter, index].map(|c| r.text(c).to_string());
        if !seen.insert(key) {
            return Err(r.error(format!(
                "{} of {} for {} appears twice",
                r.text(index),
                r.text(parameter),
                r.text(metric)
            )));
        }
        out.push(Index {
            output: r.text(metric).to_string(),
            parameter: r.text(parameter).to_string(),
            index: r.text(index).to_string(),
            value: r.number(value)?,
            ci: interval(r.number(lo)?, r.number(hi)?),
        });
        Ok(())
    })?;
    Ok(out)
}

/// A calibrated parameter: its final-generation particles and prior range.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub path: String,
    /// (value, weight) of each particle of the final generation.
    pub particles: Vec<(f64, f64)>,
    /// The prior range: from the manifest where it records one, else the span of generation 0,
    /// which was drawn from the prior (`from_manifest` says which).
    pub prior: Option<(f64, f64)>,
    pub prior_from_manifest: bool,
}

/// One row of `ppc.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub target: String,
    pub value: Option<f64>,
    pub model_mean: Option<f64>,
    pub model_range: Option<(f64, f64)>,
    pub inside: String,
}

/// A calibration folder.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub dir: PathBuf,
    pub name: String,
    pub generations: usize,
    pub posteriors: Vec<Posterior>,
    pub checks: Vec<Check>,
    /// target -> metric, from targets.csv.
    pub target_metrics: BTreeMap<String, String>,
}

/// Load a calibration folder; one without checksums is refused unless `accept_unverified`.
pub fn load_calibration(dir: &Path, accept_unverified: bool) -> Result<Calibration, ReportError> {
    let m = verified_manifest(
        dir,
        &["posterior.csv", "generations.csv", "targets.csv", "ppc.csv"],
        &[],
        accept_unverified,
    )?;
    let mut rows = CsvRows::open(&dir.join("posterior.csv"))?;
    let (generation, weight) = (rows.column("generation")?, rows.column("weight")?);
    let params: Vec<(usize, String)> = rows
        .headers()
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix("param_").map(|p| (i, p.to_string())))
        .collect();
    // (generation, weight, values) of every particle.
    let mut particles: Vec<(usize, f64, Vec<f64>)> = Vec::new();
    rows.each(|r| {
        let values = params
            .iter()
            .map(|(i, _)| r.number(*i).map(|v| v.unwrap_or(f64::NAN)))
            .collect::<Result<Vec<_>, _>>()?;
        particles.push((
            r.index(generation)?,
            r.number(weight)?.unwrap_or(0.0),
            values,
        ));
        Ok(())
    })?;
    let last = particles.iter().map(|p| p.0).max().unwrap_or(0);
    let posteriors = params
        .iter()
        .enumerate()
        .map(|(k, (_, path))| {
            let of = |g: usize| {
                particles
                    .iter()
                    .filter(move |p| p.0 == g)
                    .map(move |p| (p.2[k], p.1))
            };
            let manifest_prior = prior_in_manifest(&m, path);
            let first = super::chart::extent(of(0).map(|(v, _)| v));
            Posterior {
                path: path.clone(),
                particles: of(last).collect(),
                prior: manifest_prior.or(first),
                prior_from_manifest: manifest_prior.is_some(),
            }
        })
        .collect();
    Ok(Calibration {
        dir: dir.to_path_buf(),
        name: json_str(&m, &["calibration"])
            .unwrap_or_default()
            .to_string(),
        generations: last + 1,
        posteriors,
        checks: ppc(&dir.join("ppc.csv"))?,
        target_metrics: target_metrics(&dir.join("targets.csv"))?,
    })
}

/// A prior range recorded in the manifest (`parameters: [{path, prior: [lo, hi]}]`), if any.
fn prior_in_manifest(m: &Value, path: &str) -> Option<(f64, f64)> {
    let p = m
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| json_str(p, &["path"]) == Some(path))?;
    let r = p.get("prior").or_else(|| p.get("range"))?.as_array()?;
    Some((r.first()?.as_f64()?, r.get(1)?.as_f64()?))
}

/// `ppc.csv`, in file order.
fn ppc(path: &Path) -> Result<Vec<Check>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (target, value, mean, lo, hi) = (
        rows.column("target")?,
        rows.column("value")?,
        rows.column("model_mean")?,
        rows.column("model_low")?,
        rows.column("model_high")?,
    );
    let inside = rows.optional("inside");
    let mut out: Vec<Check> = Vec::new();
    rows.each(|r| {
        if out.iter().any(|c| c.target == r.text(target)) {
            return Err(r.error(format!("target {} appears twice", r.text(target))));
        }
        out.push(Check {
            target: r.text(target).to_string(),
            value: r.number(value)?,
            model_mean: r.number(mean)?,
            model_range: interval(r.number(lo)?, r.number(hi)?),
            inside: inside.map_or(String::new(), |i| r.text(i).to_string()),
        });
        Ok(())
    })?;
    Ok(out)
}

/// target -> metric from `targets.csv`.
fn target_metrics(path: &Path) -> Result<BTreeMap<String, String>, ReportError> {
    let mut rows = CsvRows::open(path)?;
    let (target, metric) = (rows.column("target")?, rows.column("metric")?);
    let mut out = BTreeMap::new();
    rows.each(|r| {
        let old = out.insert(r.text(target).to_string(), r.text(metric).to_string());
        if old.is_some() {
            return Err(r.error(format!("target {} appears twice", r.text(target))));
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const MANIFEST: &str = r#"{"ccgsim_version": "0.1.0", "seed": 5, "replicates": 2, "ccgs": 1,
        "practices": 3, "scenario": {"name": "s", "start": "2015-01", "months": 1,
        "policy": {"training": {"rate": 0.25, "target": "all", "min_level": "none"}}}}"#;

    #[test]
    fn folders_are_told_apart_by_their_files() {
        let run = folder(&[
            ("manifest.json", "{}"),
            ("timeseries.csv", ""),
            ("replicates.csv", ""),
        ]);
        assert_eq!(detect(run.path()).unwrap(), Kind::Run);
        let compare = folder(&[("manifest.json", "{}"), ("effects.csv", "")]);
        assert_eq!(detect(compare.path()).unwrap(), Kind::Compare);
        let half = folder(&[("posterior.csv", ""), ("ppc.csv", "")]);
        let err = detect(half.path()).unwrap_err().to_string();
        assert!(
            err.contains("calibration folder") && err.contains("generations.csv, targets.csv"),
            "{err}"
        );
        let empty = folder(&[]);
        let err = detect(empty.path()).unwrap_err().to_string();
        assert!(err.contains(&empty.path().display().to_string()), "{err}");
    }

    #[test]
    fn columns_are_found_by_name_whatever_their_order() {
        let plain = "scenario,tick,metric,mean,sd,ci_low,ci_high,n\n\
                     s,0,mean_trust,0.5,0.1,0.4,0.6,2\ns,1,mean_trust,0.55,NA,NA,NA,1\n";
        let shuffled = "n,metric,ci_high,tick,month,mean,ci_low,scenario,sd\n\
                        2,mean_trust,0.6,0,2015-01,0.5,0.4,s,0.1\n1,mean_trust,NA,1,2015-02,0.55,NA,s,NA\n";
        let mut loaded = Vec::new();
        for ts in [plain, shuffled] {
            let dir = folder(&[
                ("manifest.json", MANIFEST),
                ("timeseries.csv", ts),
                ("replicates.csv", ""),
            ]);
            loaded.push(load_run(dir.path(), true).unwrap());
        }
        for run in &loaded {
            assert_eq!(run.ticks(), 2);
            assert_eq!(run.final_month().to_string(), "2015-02");
            let s = &run.series["mean_trust"];
            assert_eq!(s[0].unwrap().ci, Some((0.4, 0.6)));
            assert_eq!(s[1].unwrap().mean, Some(0.55));
            assert_eq!(s[1].unwrap().ci, None);
            assert_eq!(run.policy[0].rate, Some(0.25));
            assert_eq!(run.policy[1].rate, None);
            assert!(run.by_ccg.is_none());
        }
    }

    #[test]
    fn effects_use_the_paired_interval_only_where_paired() {
        let header = "scenario,reference,tick,month,metric,difference,ci_low,ci_high,unpaired_ci_low,unpaired_ci_high,n,paired\n";
        let rows = "a,b,0,2015-01,mean_trust,0.1,0.05,0.15,0,0.2,3,true\n\
                    a,b,0,2015-01,engaged_share,0.2,NA,NA,0.1,0.3,3,false\n";
        let dir = folder(&[
            ("manifest.json", "{}"),
            ("effects.csv", &format!("{header}{rows}")),
        ]);
        let c = load_compare(dir.path(), true).unwrap();
        assert_eq!(c.effects[0].interval(), Some((0.05, 0.15)));
        assert_eq!(c.effects[1].interval(), Some((0.1, 0.3)));
        assert_eq!(c.contrasts(), [("a".to_string(), "b".to_string())]);
        let bad = folder(&[
            ("manifest.json", "{}"),
            (
                "effects.csv",
                &format!("{header}a,b,0,2015-01,mean_trust,x,NA,NA,NA,NA,3,true\n"),
            ),
        ]);
        let err = load_compare(bad.path(), true).unwrap_err().to_string();
        assert!(
            err.contains("effects.csv' line 2") && err.contains("\"x\""),
            "{err}"
        );
    }

    #[test]
    fn a_sweep_summary_with_parameter_columns_reads_the_same() {
        let manifest = r#"{"sweep": "g", "design": {"kind": "grid"}, "replicates": 2,
            "parameters": [{"path": "policy.sanctions.rate", "column": "param_policy.sanctions.rate"}],
            "outputs": [{"name": "engaged_share", "metric": "engaged_share", "at": "final"}]}"#;
        let points = "point,param_policy.sanctions.rate\n0,0\n1,0.5\n";
        let plain = "point,metric,mean,sd,ci_low,ci_high,n\n0,engaged_share,0.8,0.1,0.7,0.9,2\n1,engaged_share,0.6,NA,NA,NA,1\n";
        let wide = "point,param_policy.sanctions.rate,metric,mean,sd,ci_low,ci_high,n\n0,0,engaged_share,0.8,0.1,0.7,0.9,2\n1,0.5,engaged_share,0.6,NA,NA,NA,1\n";
        let mut loaded = Vec::new();
        for summary in [plain, wide] {
            let dir = folder(&[
                ("manifest.json", manifest),
                ("points.csv", points),
                ("summary.csv", summary),
                ("results.csv", ""),
            ]);
            assert_eq!(detect(dir.path()).unwrap(), Kind::Sweep);
            let s = load_sweep(dir.path(), true).unwrap();
            loaded.push((s.points, s.summary, s.design));
        }
        assert_eq!(loaded[0], loaded[1]);
        let (points, summary, design) = &loaded[0];
        assert_eq!(points, &[vec!["0".to_string()], vec!["0.5".to_string()]]);
        assert_eq!(
            summary[&(0, "engaged_share".to_string())].ci,
            Some((0.7, 0.9))
        );
        assert_eq!(design, "grid");
    }
}

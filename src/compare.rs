//! Policy comparisons: the effect of one run against a reference run on every metric at every
//! tick, with its 95% interval (`ccgsim compare`).
//!
//! This stage reads run folders written by `ccgsim run` (their `manifest.json` and
//! `replicates.csv`); it never runs the model. Two runs are *paired* when replicate r of each
//! simulated every CCG on the same random stream: same seed, same number of replicates, same
//! population (its fingerprint in the manifest), same start and length. Every month consumes the
//! same random numbers whatever the policy (docs/ODD.md, 4.9), so paired replicates share their
//! initial states, their shocks and their survey draws, and the difference between them is the
//! effect of the policy alone plus what it changes downstream (common random numbers). The
//! paired interval is then a Student-t interval of the per-replicate differences; the unpaired
//! (Welch) interval, which ignores the pairing, is given beside it, so the gain can be seen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::calendar::Month;
use crate::metrics::{METRICS, metric_index};
use crate::output::{PendingFile, number};
use crate::stats::{Welford, t_quantile_975};

/// A comparison the user can fix: folders that are not runs, runs that cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("'{}' is not a run folder: {reason}", .dir.display())]
    NotARun { dir: PathBuf, reason: String },
    #[error("'{}': {file} is damaged: {reason}", .dir.display())]
    Damaged {
        dir: PathBuf,
        file: &'static str,
        reason: String,
    },
    #[error("cannot compare '{}' with '{}': {reason}", .other.display(), .reference.display())]
    Incomparable {
        reference: PathBuf,
        other: PathBuf,
        reason: String,
    },
    #[error(
        "'{}' already exists; pass --force to overwrite it or --out to choose another folder",
        .0.display()
    )]
    Exists(PathBuf),
}

/// What a comparison needs of a run folder's manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub dir: PathBuf,
    /// The scenario's name (the `scenario` column of its files).
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub replicates: u32,
    pub start: Month,
    pub months: u32,
    pub ccgs: u64,
    pub practices: u64,
    pub patients: u64,
    /// `None` for folders written before the manifest carried it.
    pub population_sha256: Option<String>,
    pub scenario_sha256: String,
}

/// A run folder read back: its manifest and every replicate's value of every metric.
#[derive(Debug, Clone)]
pub struct Run {
    pub info: RunInfo,
    /// `values[(replicate * ticks + tick) * METRICS.len() + metric]`; NaN where undefined.
    values: Vec<f64>,
}

impl Run {
    /// Ticks per series (months + 1).
    pub fn ticks(&self) -> usize {
        self.info.months as usize + 1
    }

    /// Replicate `r`'s value of `metric` at `tick`; `None` where undefined.
    pub fn value(&self, r: usize, tick: usize, metric: usize) -> Option<f64> {
        let v = self.values[(r * self.ticks() + tick) * METRICS.len() + metric];
        (!v.is_nan()).then_some(v)
    }

    /// Read `dir`: its `manifest.json` and `replicates.csv`, verified against the manifest's
    /// checksums and checked to be complete.
    pub fn load(dir: &Path) -> anyhow::Result<Run> {
        Run::load_with(dir, false)
    }

    /// [`Run::load`]; a folder without checksums (written by an earlier ccgsim) is refused
    /// unless `accept_unverified`, and then still checked row by row.
    pub fn load_with(dir: &Path, accept_unverified: bool) -> anyhow::Result<Run> {
        if dir.join("manifest.json").exists() {
            crate::integrity::verify_folder(dir, &[], &["replicates.csv"], accept_unverified)?;
        }
        let info = read_manifest(dir)?;
        let values = read_replicates(dir, &info)?;
        Ok(Run { info, values })
    }
}

fn not_a_run(dir: &Path, reason: impl Into<String>) -> anyhow::Error {
    CompareError::NotARun {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
    .into()
}

fn read_manifest(dir: &Path) -> anyhow::Result<RunInfo> {
    if !dir.is_dir() {
        return Err(not_a_run(dir, "no such folder"));
    }
    let path = dir.join("manifest.json");
    if !path.exists() {
        let kind = if dir.join("effects.csv").exists() {
            "it is a comparison folder (effects.csv)"
        } else if dir.join("points.csv").exists() {
            "it is a sweep folder (points.csv)"
        } else if dir.join("posterior.csv").exists() {
            "it is a calibration folder (posterior.csv)"
        } else {
            "it has no manifest.json"
        };
        return Err(not_a_run(dir, kind));
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read '{}'", path.display()))?;
    let damaged = |reason: String| -> anyhow::Error {
        CompareError::Damaged {
            dir: dir.to_path_buf(),
            file: "manifest.json",
            reason,
        }
        .into()
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| damaged(format!("not valid JSON ({e})")))?;
    if json.get("points").is_some() || json.get("design").is_some() {
        return Err(not_a_run(dir, "it is a sweep folder"));
    }
    let scenario = json
        .get("scenario")
        .filter(|s| s.is_object())
        .ok_or_else(|| not_a_run(dir, "its manifest.json describes no scenario"))?;
    let text_at = |v: &serde_json::Value, key: &str| -> anyhow::Result<String> {
        v.get(key)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| damaged(format!("no text `{key}`")))
    };
    let count_at = |v: &serde_json::Value, key: &str| -> anyhow::Result<u64> {
        v.get(key)
            .and_then(|x| x.as_u64())
            .ok_or_else(|| damaged(format!("no whole number `{key}`")))
    };
    let start = text_at(scenario, "start")?;
    let start: Month = start
        .parse()
        .map_err(|e: String| damaged(format!("`scenario.start`: {e}")))?;
    let replicates = u32::try_from(count_at(&json, "replicates")?)
        .map_err(|_| damaged("`replicates` out of range".into()))?;
    let months = u32::try_from(count_at(scenario, "months")?)
        .map_err(|_| damaged("`scenario.months` out of range".into()))?;
    Ok(RunInfo {
        dir: dir.to_path_buf(),
        scenario: text_at(scenario, "name")?,
        description: text_at(scenario, "description").unwrap_or_default(),
        seed: count_at(&json, "seed")?,
        replicates,
        start,
        months,
        ccgs: count_at(&json, "ccgs")?,
        practices: count_at(&json, "practices")?,
        patients: count_at(&json, "patients")?,
        population_sha256: json
            .get("population_sha256")
            .and_then(|x| x.as_str())
            .map(str::to_string),
        scenario_sha256: text_at(&json, "scenario_sha256")?,
    })
}

/// Every replicate's values, checked: each (replicate, tick, metric) exactly once, values numbers
/// or `NA`.
fn read_replicates(dir: &Path, info: &RunInfo) -> anyhow::Result<Vec<f64>> {
    let path = dir.join("replicates.csv");
    if !path.exists() {
        return Err(not_a_run(dir, "it has no replicates.csv"));
    }
    let damaged = |reason: String| -> anyhow::Error {
        CompareError::Damaged {
            dir: dir.to_path_buf(),
            file: "replicates.csv",
            reason,
        }
        .into()
    };
    let mut reader = csv::Reader::from_path(&path)
        .with_context(|| format!("could not read '{}'", path.display()))?;
    let header = reader
        .headers()
        .map_err(|e| damaged(format!("no header ({e})")))?
        .clone();
    let column = |name: &str| -> anyhow::Result<usize> {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| damaged(format!("no `{name}` column")))
    };
    let (c_rep, c_tick, c_metric, c_value) = (
        column("replicate")?,
        column("tick")?,
        column("metric")?,
        column("value")?,
    );
    let ticks = info.months as usize + 1;
    let m = METRICS.len();
    let cells = (info.replicates as usize)
        .saturating_mul(ticks)
        .saturating_mul(m);
    // Every value is a row of several bytes: a manifest that records more values than the file
    // could hold is not this file's (and must not make us allocate for them).
    let size = std::fs::metadata(&path).map_or(0, |f| f.len());
    if cells as u64 > size {
        return Err(damaged(format!(
            "its {size} bytes cannot hold the {cells} values the manifest records ({} replicates \
             of {ticks} ticks)",
            info.replicates
        )));
    }
    let mut values = vec![f64::NAN; cells];
    let mut seen = vec![false; cells];
    let mut metric_cache: BTreeMap<String, usize> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    while reader
        .read_record(&mut record)
        .map_err(|e| damaged(format!("line {}: {e}", line + 1)))?
    {
        line += 1;
        let field = |i: usize| record.get(i).unwrap_or("");
        let at = |what: &str| format!("line {line}: {what}");
        let r: usize = field(c_rep).parse().map_err(|_| {
            damaged(at(&format!(
                "replicate \"{}\" is not a number",
                field(c_rep)
            )))
        })?;
        let t: usize = field(c_tick)
            .parse()
            .map_err(|_| damaged(at(&format!("tick \"{}\" is not a number", field(c_tick)))))?;
        if r >= info.replicates as usize || t >= ticks {
            return Err(damaged(at(&format!(
                "replicate {r}, tick {t} outside the manifest's {} replicates of {ticks} ticks",
                info.replicates
            ))));
        }
        let name = field(c_metric);
        let metric = match metric_cache.get(name) {
            Some(&k) => k,
            None => {
                let k = metric_index(name)
                    .ok_or_else(|| damaged(at(&format!("unknown metric \"{name}\""))))?;
                metric_cache.insert(name.to_string(), k);
                k
            }
        };
        let raw = field(c_value);
        let value = if raw == "NA" {
            f64::NAN
        } else {
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| damaged(at(&format!("value \"{raw}\" is not a number or NA"))))?
        };
        let cell = (r * ticks + t) * m + metric;
        if std::mem::replace(&mut seen[cell], true) {
            return Err(damaged(at(&format!(
                "replicate {r}, tick {t}, {name} appears twice"
            ))));
        }
        values[cell] = value;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        let (r, rest) = (missing / (ticks * m), missing % (ticks * m));
        return Err(damaged(format!(
            "{} of {cells} values are missing (first: replicate {r}, tick {}, {})",
            seen.iter().filter(|s| !**s).count(),
            rest / m,
            METRICS[rest % m].name
        )));
    }
    Ok(values)
}

/// Whether, and why (not), two runs can be compared replicate by replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    pub paired: bool,
    /// In words: what matched, or what differs.
    pub reason: String,
}

/// Check that `other` can be compared with `reference` at all (same calendar), and whether the
/// comparison can be paired.
pub fn pairing(reference: &RunInfo, other: &RunInfo) -> anyhow::Result<Pairing> {
    let incomparable = |reason: String| -> anyhow::Error {
        CompareError::Incomparable {
            reference: reference.dir.clone(),
            other: other.dir.clone(),
            reason,
        }
        .into()
    };
    let same_dir = match (reference.dir.canonicalize(), other.dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => reference.dir == other.dir,
    };
    if same_dir {
        return Err(incomparable("they are the same folder".into()));
    }
    if reference.scenario_sha256 == other.scenario_sha256
        && reference.seed == other.seed
        && reference.replicates == other.replicates
    {
        return Err(incomparable(
            "they are the same scenario file run with the same seed and replicates (every \
             difference would be zero)"
                .into(),
        ));
    }
    if reference.months != other.months || reference.start != other.start {
        return Err(incomparable(format!(
            "runs of different lengths: {} runs {} months from {}, {} runs {} months from {}",
            reference.scenario,
            reference.months,
            reference.start,
            other.scenario,
            other.months,
            other.start
        )));
    }
    let mut differs = Vec::new();
    if reference.seed != other.seed {
        differs.push(format!(
            "seeds differ ({} and {})",
            reference.seed, other.seed
        ));
    }
    if reference.replicates != other.replicates {
        differs.push(format!(
            "replicate counts differ ({} and {})",
            reference.replicates, other.replicates
        ));
    }
    match (&reference.population_sha256, &other.population_sha256) {
        (Some(a), Some(b)) if a != b => differs.push("populations differ".into()),
        (Some(_), Some(_)) => {}
        _ => {
            if (reference.ccgs, reference.practices, reference.patients)
                != (other.ccgs, other.practices, other.patients)
            {
                differs.push("populations differ".into());
            } else {
                differs.push(
                    "a manifest has no population fingerprint (written by an earlier version), \
                     so the populations cannot be shown to be the same"
                        .into(),
                );
            }
        }
    }
    Ok(if differs.is_empty() {
        Pairing {
            paired: true,
            reason: format!(
                "paired by replicate: same seed ({}), {} replicates, same population",
                reference.seed, reference.replicates
            ),
        }
    } else {
        Pairing {
            paired: false,
            reason: format!("not paired: {}", differs.join("; ")),
        }
    })
}

/// The effect of one run against the reference on one metric at one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub tick: usize,
    pub metric: usize,
    /// Other minus reference: the mean of the paired differences, or the difference of means.
    pub difference: Option<f64>,
    /// The paired 95% interval (Student's t on the per-replicate differences).
    pub paired_ci: Option<(f64, f64)>,
    /// The unpaired 95% interval (Welch), whether or not the runs are paired.
    pub unpaired_ci: Option<(f64, f64)>,
    /// Paired: the number of pairs with the metric defined in both; unpaired: the replicates of
    /// both runs with the metric defined.
    pub n: u64,
}

impl Effect {
    /// The interval to report: the paired one where there is one, else the unpaired.
    pub fn ci(&self) -> Option<(f64, f64)> {
        self.paired_ci.or(self.unpaired_ci)
    }

    /// Whether the reported interval excludes zero.
    pub fn excludes_zero(&self) -> bool {
        self.ci().is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

/// Welch's interval for the difference of two means; `None` with fewer than two values in
/// either. Degrees of freedom by Welch-Satterthwaite, rounded down (conservative).
pub fn welch_ci(a: &Welford, b: &Welford) -> Option<(f64, f64)> {
    let (sa, sb) = (a.sd()?, b.sd()?);
    let (va, vb) = (sa * sa / a.n as f64, sb * sb / b.n as f64);
    let d = b.mean - a.mean;
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some((d, d));
    }
    let df = se2 * se2 / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64);
    let half = t_quantile_975((df.floor() as u64).max(1)) * se2.sqrt();
    Some((d - half, d + half))
}

/// Every metric's effect at every tick of `other` against `reference`.
pub fn effects(reference: &Run, other: &Run, paired: bool) -> Vec<Effect> {
    let ticks = reference.ticks();
    let mut out = Vec::with_capacity(ticks * METRICS.len());
    for tick in 0..ticks {
        for metric in 0..METRICS.len() {
            let (mut a, mut b, mut d) =
                (Welford::default(), Welford::default(), Welford::default());
            for r in 0..reference.info.replicates as usize {
                if let Some(x) = reference.value(r, tick, metric) {
                    a.push(x);
                }
            }
            for r in 0..other.info.replicates as usize {
                if let Some(y) = other.value(r, tick, metric) {
                    b.push(y);
                }
            }
            if paired {
                for r in 0..reference.info.replicates as usize {
                    if let (Some(x), Some(y)) = (
                        reference.value(r, tick, metric),
                        other.value(r, tick, metric),
                    ) {
                        d.push(y - x);
                    }
                }
            }
            let unpaired_ci = welch_ci(&a, &b);
            let effect = if paired {
                Effect {
                    tick,
                    metric,
                    difference: (d.n > 0).then_some(d.mean),
                    paired_ci: d.ci95(),
                    unpaired_ci,
                    n: d.n,
                }
            } else {
                Effect {
                    tick,
                    metric,
                    difference: (a.n > 0 && b.n > 0).then_some(b.mean - a.mean),
                    paired_ci: None,
                    unpaired_ci,
                    n: a.n + b.n,
                }
            };
            out.push(effect);
        }
    }
    out
}

/// One run's comparison with the reference.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub other: RunInfo,
    pub pairing: Pairing,
    /// Index `tick * METRICS.len() + metric`.
    pub effects: Vec<Effect>,
}

impl Comparison {
    pub fn at(&self, tick: usize, metric: usize) -> &Effect {
        &self.effects[tick * METRICS.len() + metric]
    }

    /// How many times narrower pairing makes the interval: the median, over the headline
    /// metrics at the final tick, of the unpaired interval's width over the paired one's (where
    /// both are defined and not zero). The variance of the estimated effect is smaller by about
    /// the square of this.
    pub fn median_narrowing(&self) -> Option<f64> {
        let last = self.effects.last()?.tick;
        let mut ratios: Vec<f64> = crate::metrics::HEADLINE
            .iter()
            .filter_map(|name| metric_index(name))
            .filter_map(|m| {
                let e = self.at(last, m);
                let (p0, p1) = e.paired_ci?;
                let (u0, u1) = e.unpaired_ci?;
                (p1 - p0 > 0.0 && u1 - u0 > 0.0).then(|| (u1 - u0) / (p1 - p0))
            })
            .collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        let k = ratios.len();
        Some(if k % 2 == 1 {
            ratios[k / 2]
        } else {
            (ratios[k / 2 - 1] + ratios[k / 2]) / 2.0
        })
    }
}

/// The comparison of every run in `others` against `reference`.
pub fn compare(reference: &Run, others: &[Run]) -> anyhow::Result<Vec<Comparison>> {
    let mut out = Vec::with_capacity(others.len());
    for other in others {
        let pairing = pairing(&reference.info, &other.info)?;
        out.push(Comparison {
            other: other.info.clone(),
            effects: effects(reference, other, pairing.paired),
            pairing,
        });
    }
    Ok(out)
}

/// The columns of `effects.csv`.
pub const EFFECTS_HEADER: [&str; 12] = [
    "scenario",
    "reference",
    "tick",
    "month",
    "metric",
    "difference",
    "ci_low",
    "ci_high",
    "unpaired_ci_low",
    "unpaired_ci_high",
    "n",
    "paired",
];

/// Write `effects.csv` and a `manifest.json` into `out` (created if needed). Refuses to replace
/// an existing `effects.csv` unless `force`.
pub fn write(
    out: &Path,
    reference: &RunInfo,
    comparisons: &[Comparison],
    force: bool,
) -> anyhow::Result<PathBuf> {
    let dest = out.join("effects.csv");
    if dest.exists() && !force {
        return Err(CompareError::Exists(dest).into());
    }
    crate::output::create_output_dir(out)?;
    let ctx = || format!("could not write '{}'", dest.display());
    let file = PendingFile::new(out, "effects.csv")?;
    let mut w = csv::Writer::from_writer(file.writer()?);
    w.write_record(EFFECTS_HEADER).with_context(ctx)?;
    for c in comparisons {
        for e in &c.effects {
            let month = reference.start.plus(e.tick as i32).to_string();
            w.write_record([
                c.other.scenario.as_str(),
                reference.scenario.as_str(),
                &e.tick.to_string(),
                &month,
                METRICS[e.metric].name,
                &number(e.difference),
                &number(e.paired_ci.map(|c| c.0)),
                &number(e.paired_ci.map(|c| c.1)),
                &number(e.unpaired_ci.map(|c| c.0)),
                &number(e.unpaired_ci.map(|c| c.1)),
                &e.n.to_string(),
                if c.pairing.paired { "true" } else { "false" },
            ])
            .with_context(ctx)?;
        }
    }
    w.flush().with_context(ctx)?;
    drop(w);
    let manifest = manifest_json(reference, comparisons);
    let mfile = crate::integrity::write_manifest(out, &manifest, &[&file])?;
    let written = file.commit()?;
    mfile.commit()?;
    Ok(written)
}

fn manifest_json(reference: &RunInfo, comparisons: &[Comparison]) -> serde_json::Value {
    let run = |info: &RunInfo| {
        serde_json::json!({
            "folder": info.dir.display().to_string(),
            "scenario": info.scenario,
            "scenario_sha256": info.scenario_sha256,
            "seed": info.seed,
            "replicates": info.replicates,
            "population_sha256": info.population_sha256,
        })
    };
    let others: Vec<_> = comparisons
        .iter()
        .map(|c| {
            let mut v = run(&c.other);
            v["paired"] = c.pairing.paired.into();
            v["pairing"] = c.pairing.reason.clone().into();
            v["median_narrowing_headline_final"] = c.median_narrowing().into();
            v
        })
        .collect();
    serde_json::json!({
        "ccgsim_version": env!("CARGO_PKG_VERSION"),
        "kind": "comparison",
        "start": reference.start.to_string(),
        "months": reference.months,
        "reference": run(reference),
        "others": others,
        "files": ["effects.csv", "manifest.json"],
    })
}

/// The short table `ccgsim compare` prints: at the final tick, each metric's effect with its
/// interval in the domain's words, `*` where the interval excludes zero.
pub fn final_tick_table(reference: &RunInfo, comparisons: &[Comparison]) -> String {
    let mut s = String::new();
    let last = reference.months as usize;
    let month = reference.start.plus(last as i32);
    for c in comparisons {
        let _ = writeln!(
            s,
            "{} against {} at {month} ({}):",
            c.other.scenario, reference.scenario, c.pairing.reason
        );
        let width = METRICS.iter().map(|m| m.label.len()).max().unwrap_or(0);
        for (k, metric) in METRICS.iter().enumerate() {
            let e = c.at(last, k);
            let Some(d) = e.difference else {
                let _ = writeln!(s, "  {:<width$}  undefined", metric.label);
                continue;
            };
            let digits = if metric.unit.is_absolute() { 1 } else { 3 };
            let ci = e.ci().map_or("no interval".to_string(), |(lo, hi)| {
                format!("[{lo:.digits$}, {hi:.digits$}]")
            });
            let star = if e.excludes_zero() { " *" } else { "" };
            let unpaired = match (e.paired_ci, e.unpaired_ci) {
                (Some(_), Some((lo, hi))) => {
                    format!("   unpaired [{lo:.digits$}, {hi:.digits$}]")
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {:<width$}  {d:+.digits$} {ci}{star}{unpaired}",
                metric.label
            );
        }
        if let Some(r) = c.median_narrowing() {
            let _ = writeln!(
                s,
                "  (* the 95% interval excludes zero. Pairing narrows the headline metrics' intervals a \
                 median {r:.1} times: their variance is about {:.0} times smaller)",
                r * r
            );
        } else {
            let _ = writeln!(s, "  (* the 95% interval excludes zero)");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(dir: &str, seed: u64) -> RunInfo {
        RunInfo {
            dir: PathBuf::from(dir),
            scenario: dir.into(),
            description: String::new(),
            seed,
            replicates: 3,
            start: Month::new(2013, 4).unwrap(),
            months: 1,
            ccgs: 1,
            practices: 10,
            patients: 1000,
            population_sha256: Some("p".into()),
            scenario_sha256: dir.into(),
        }
    }

    fn run(dir: &str, seed: u64, f: impl Fn(usize, usize, usize) -> f64) -> Run {
        let info = info(dir, seed);
        let ticks = 2;
        let mut values = vec![0.0; 3 * ticks * METRICS.len()];
        for r in 0..3 {
            for t in 0..ticks {
                for m in 0..METRICS.len() {
                    values[(r * ticks + t) * METRICS.len() + m] = f(r, t, m);
                }
            }
        }
        Run { info, values }
    }

    #[test]
    fn paired_effects_are_the_mean_per_replicate_difference() {
        let a = run("a", 1, |r, t, m| (r * 7 + t * 3 + m) as f64 * 0.01);
        let b = run("b", 1, |r, t, m| {
            (r * 7 + t * 3 + m) as f64 * 0.01 + 0.1 + r as f64 * 0.001
        });
        let c = &compare(&a, std::slice::from_ref(&b)).unwrap()[0];
        assert!(c.pairing.paired, "{}", c.pairing.reason);
        let e = c.at(1, 4);
        // Differences 0.100, 0.101, 0.102: mean 0.101, sd 0.001.
        assert!((e.difference.unwrap() - 0.101).abs() < 1e-12);
        let (lo, hi) = e.paired_ci.unwrap();
        let half = 4.302_653 * 0.001 / 3f64.sqrt();
        assert!((lo - (0.101 - half)).abs() < 1e-9 && (hi - (0.101 + half)).abs() < 1e-9);
        // The replicates differ by 0.07 between them, so the unpaired interval is far wider.
        let (ulo, uhi) = e.unpaired_ci.unwrap();
        assert!(uhi - ulo > 10.0 * (hi - lo));
        assert!(e.excludes_zero());
        assert_eq!(e.n, 3);
    }

    #[test]
    fn different_seeds_are_compared_unpaired_with_a_reason() {
        let a = run("a", 1, |r, _, _| r as f64);
        let b = run("b", 2, |r, _, _| r as f64 + 1.0);
        let c = &compare(&a, std::slice::from_ref(&b)).unwrap()[0];
        assert!(!c.pairing.paired);
        assert!(c.pairing.reason.contains("seeds differ (1 and 2)"));
        let e = c.at(0, 0);
        assert_eq!(e.paired_ci, None);
        assert_eq!(e.difference, Some(1.0));
        assert_eq!(e.n, 6);
        assert!(e.unpaired_ci.is_some());
    }

    #[test]
    fn runs_of_different_lengths_or_the_same_run_are_refused() {
        let a = info("a", 1);
        let mut b = info("b", 1);
        b.months = 2;
        let err = pairing(&a, &b).unwrap_err().to_string();
        assert!(err.contains("different lengths"), "{err}");
        let err = pairing(&a, &a).unwrap_err().to_string();
        assert!(err.contains("same folder"), "{err}");
        let mut copy = info("c", 1);
        copy.scenario_sha256 = "a".into();
        let err = pairing(&a, &copy).unwrap_err().to_string();
        assert!(err.contains("same scenario file"), "{err}");
    }

    #[test]
    fn welch_interval_matches_a_hand_computation() {
        let (mut a, mut b) = (Welford::default(), Welford::default());
        [1.0, 2.0, 3.0, 4.0].iter().for_each(|&x| a.push(x));
        [2.0, 4.0, 6.0, 8.0].iter().for_each(|&x| b.push(x));
        // va = 1.6667/4, vb = 6.6667/4; se = sqrt(2.0833) = 1.4434; df = 4.41 -> 4; t = 2.7764.
        let (lo, hi) = welch_ci(&a, &b).unwrap();
        let se = (5.0f64 / 12.0 + 20.0 / 12.0).sqrt();
        assert!((lo - (2.5 - 2.776_445 * se)).abs() < 1e-6);
        assert!((hi - (2.5 + 2.776_445 * se)).abs() < 1e-6);
    }
}

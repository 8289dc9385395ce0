//! The run's CSV files, all tidy (one row per observation) so that R and pandas read them as is.
//!
//! - `timeseries.csv`: `scenario,tick,month,metric,mean,sd,ci_low,ci_high,n`, where `month` is the
//!   tick's calendar month (`2013-04`): the scenario's `start` plus the tick
//! - `by_ccg.csv`: the same per CCG, with `ccg,practices,patients,commissioning` after `scenario`
//! - `replicates.csv`: `scenario,replicate,tick,metric,value`, streamed as replicates finish (no
//!   `month`: it is the largest file, and joins on `tick` with the others)

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use std::io::Write;

use anyhow::Context;
use rayon::prelude::*;

use super::{PendingFile, number, write_number};
use crate::experiment::EnsembleSummary;
use crate::metrics::{METRICS, Tally};
use crate::model::CommissioningLevel;
use crate::population::{Ccg, Population};
use crate::scenario::Scenario;
use crate::stats::Welford;

fn summary_fields(w: &Welford) -> [String; 5] {
    let mut fields = Default::default();
    summary_fields_into(w, &mut fields);
    fields
}

/// [`summary_fields`] into reused buffers, for the many rows of `by_ccg.csv`.
fn summary_fields_into(w: &Welford, fields: &mut [String; 5]) {
    let ci = w.ci95();
    let [mean, sd, lo, hi, n] = fields;
    write_number(mean, (w.n > 0).then_some(w.mean));
    write_number(sd, w.sd());
    write_number(lo, ci.map(|c| c.0));
    write_number(hi, ci.map(|c| c.1));
    n.clear();
    std::fmt::Write::write_fmt(n, format_args!("{}", w.n)).ok();
}

fn csv_writer(file: &PendingFile) -> anyhow::Result<csv::Writer<BufWriter<File>>> {
    Ok(csv::WriterBuilder::new().from_writer(file.writer()?))
}

fn context(dest: &Path) -> impl Fn() -> String + use<> {
    let dest = dest.to_path_buf();
    move || format!("could not write '{}'", dest.display())
}

/// The calendar month of each of the summary's ticks, as written in the `month` column.
fn months(scenario: &Scenario, summary: &EnsembleSummary) -> Vec<String> {
    (0..summary.ticks)
        .map(|tick| scenario.month_of(tick as u32).to_string())
        .collect()
}

/// Write `timeseries.csv` into a pending file.
pub fn write_timeseries(
    dir: &Path,
    scenario: &Scenario,
    summary: &EnsembleSummary,
) -> anyhow::Result<PendingFile> {
    let file = PendingFile::new(dir, "timeseries.csv")?;
    let mut w = csv_writer(&file)?;
    let ctx = context(file.dest());
    w.write_record([
        "scenario", "tick", "month", "metric", "mean", "sd", "ci_low", "ci_high", "n",
    ])
    .with_context(&ctx)?;
    let name = scenario.name.as_str();
    for (tick, month) in months(scenario, summary).iter().enumerate() {
        let t = tick.to_string();
        for (m, metric) in METRICS.iter().enumerate() {
            let [mean, sd, lo, hi, n] = summary_fields(summary.population_at(tick, m));
            w.write_record([name, &t, month, metric.name, &mean, &sd, &lo, &hi, &n])
                .with_context(&ctx)?;
        }
    }
    w.flush().with_context(&ctx)?;
    Ok(file)
}

/// Write `by_ccg.csv` into a pending file; `None` when the summary has no per-CCG data.
pub fn write_by_ccg(
    dir: &Path,
    scenario: &Scenario,
    population: &Population,
    summary: &EnsembleSummary,
) -> anyhow::Result<Option<PendingFile>> {
    if summary.by_ccg.is_none() {
        return Ok(None);
    }
    let file = PendingFile::new(dir, "by_ccg.csv")?;
    let mut w = csv_writer(&file)?;
    let ctx = context(file.dest());
    w.write_record([
        "scenario",
        "ccg",
        "practices",
        "patients",
        "commissioning",
        "tick",
        "month",
        "metric",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "n",
    ])
    .with_context(&ctx)?;
    w.flush().with_context(&ctx)?;
    // Each CCG's rows are formatted in parallel into its own buffer, then written in CCG order:
    // the same bytes as writing them one by one. CCGs go a batch at a time, so that what is held
    // in memory stays within [`BY_CCG_BATCH`] CCGs' rows however large the population.
    let months = months(scenario, summary);
    let mut out = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(&ctx)?;
    for (b, batch) in population.ccgs.chunks(BY_CCG_BATCH).enumerate() {
        let blocks: Vec<Vec<u8>> = batch
            .par_iter()
            .enumerate()
            .map(|(i, ccg)| {
                // After a signal the file is dropped anyway: skip the rest, so a big run stops soon.
                if crate::signals::cancelled() {
                    return Ok(Vec::new());
                }
                ccg_rows(&scenario.name, &months, b * BY_CCG_BATCH + i, ccg, summary)
            })
            .collect::<Result<_, _>>()
            .with_context(&ctx)?;
        if crate::signals::cancelled() {
            return Err(crate::experiment::Interrupted.into());
        }
        for block in &blocks {
            out.write_all(block).with_context(&ctx)?;
        }
    }
    out.flush().with_context(&ctx)?;
    Ok(Some(file))
}

/// CCGs whose `by_ccg.csv` rows are formatted together: about 30 MB of rows over 36 months.
pub const BY_CCG_BATCH: usize = 256;

/// The rows of `by_ccg.csv` for CCG number `c`; `months[tick]` is the tick's calendar month.
fn ccg_rows(
    scenario: &str,
    months: &[String],
    c: usize,
    ccg: &Ccg,
    summary: &EnsembleSummary,
) -> csv::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let (practices, patients) = (ccg.practices.to_string(), ccg.patients.to_string());
    let mut fields: [String; 5] = Default::default();
    for (tick, month) in months.iter().enumerate() {
        let t = tick.to_string();
        let level = modal_level(summary, c, tick)
            .unwrap_or(ccg.levels[tick])
            .key();
        for (m, metric) in METRICS.iter().enumerate() {
            let Some(acc) = summary.ccg_at(c, tick, m) else {
                continue;
            };
            summary_fields_into(acc, &mut fields);
            let [mean, sd, lo, hi, n] = &fields;
            w.write_record([
                scenario,
                &ccg.id,
                &practices,
                &patients,
                level,
                &t,
                month,
                metric.name,
                mean,
                sd,
                lo,
                hi,
                n,
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The co-commissioning level CCG `c` holds at `tick` in most replicates (ties to the lower
/// level), from the tally's count of CCGs at each level: the level the population gave it, or the
/// one it chose (ODD 7.16).
fn modal_level(summary: &EnsembleSummary, c: usize, tick: usize) -> Option<CommissioningLevel> {
    let first = crate::metrics::metric_index("ccgs_none")?;
    let mut best: Option<(CommissioningLevel, u64)> = None;
    for (k, level) in CommissioningLevel::ALL.into_iter().enumerate() {
        // The number of replicates at this level: the mean of a 0-1 count times the replicates,
        // rounded, so two levels held by as many replicates tie exactly.
        let acc = summary.ccg_at(c, tick, first + k)?;
        let replicates = (acc.mean * acc.n as f64).round() as u64;
        if best.is_none_or(|(_, b)| replicates > b) {
            best = Some((level, replicates));
        }
    }
    best.map(|(l, _)| l)
}

/// `replicates.csv`, written row by row as each replicate completes.
pub struct ReplicateWriter {
    file: PendingFile,
    writer: csv::Writer<BufWriter<File>>,
    scenario: String,
}

impl ReplicateWriter {
    pub fn create(dir: &Path, scenario: &str) -> anyhow::Result<ReplicateWriter> {
        let file = PendingFile::new(dir, "replicates.csv")?;
        let mut writer = csv_writer(&file)?;
        writer
            .write_record(["scenario", "replicate", "tick", "metric", "value"])
            .with_context(context(file.dest()))?;
        Ok(ReplicateWriter {
            file,
            writer,
            scenario: scenario.to_string(),
        })
    }

    pub fn write(&mut self, replicate: u32, tallies: &[Tally]) -> anyhow::Result<()> {
        let r = replicate.to_string();
        for (tick, t) in tallies.iter().enumerate() {
            let tick = tick.to_string();
            for metric in METRICS {
                let v = number(metric.value(t));
                self.writer
                    .write_record([self.scenario.as_str(), &r, &tick, metric.name, &v])
                    .with_context(context(self.file.dest()))?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<PendingFile> {
        self.writer
            .flush()
            .with_context(context(self.file.dest()))?;
        Ok(self.file)
    }
}

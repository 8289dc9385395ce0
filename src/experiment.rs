//! Experiments: many engine runs in parallel. An ensemble flattens (replicate, CCG) into indexed
//! units, runs them on the rayon pool in batches, and reduces each batch in index order, so the
//! result is the same whatever the number of threads. Results leave through an observer as each
//! replicate completes; only summary accumulators stay in memory.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::engine::{Environment, Workspace, empty_tallies, simulate_ccg};
use crate::metrics::{METRICS, Tally, add_into};
use crate::population::Population;
use crate::scenario::Scenario;
use crate::stats::Welford;

/// The run was stopped (Ctrl-C) before it finished.
#[derive(Debug, thiserror::Error)]
#[error("interrupted before the run finished; no result files were written")]
pub struct Interrupted;

/// Per-metric accumulators over replicates.
#[derive(Debug, Clone)]
pub struct EnsembleSummary {
    /// Ticks per series (months + 1).
    pub ticks: usize,
    /// Population-level metrics: index `tick * METRICS.len() + metric`.
    pub population: Vec<Welford>,
    /// Per-CCG metrics, if requested: index `(ccg * ticks + tick) * METRICS.len() + metric`.
    pub by_ccg: Option<Vec<Welford>>,
}

impl EnsembleSummary {
    pub fn population_at(&self, tick: usize, metric: usize) -> &Welford {
        &self.population[tick * METRICS.len() + metric]
    }

    pub fn ccg_at(&self, ccg: usize, tick: usize, metric: usize) -> Option<&Welford> {
        self.by_ccg
            .as_ref()
            .map(|v| &v[(ccg * self.ticks + tick) * METRICS.len() + metric])
    }
}

/// Settings of one ensemble.
#[derive(Debug, Clone, Copy)]
pub struct EnsembleOptions {
    pub replicates: u32,
    /// Keep per-CCG accumulators (for `by_ccg.csv`).
    pub by_ccg: bool,
}

/// How many replicates to run per batch: enough units to keep every thread busy and amortise
/// scheduling, few enough that a batch's tallies stay small. Does not affect results.
fn batch_replicates(population: &Population, ticks: usize, replicates: u32) -> u32 {
    let ccgs = population.ccgs.len().max(1);
    let by_units = 2048usize.div_ceil(ccgs);
    let bytes_per_replicate = ccgs * ticks * std::mem::size_of::<Tally>();
    let by_memory = ((256usize << 20) / bytes_per_replicate.max(1)).max(1);
    by_units.min(by_memory).clamp(1, replicates.max(1) as usize) as u32
}

/// Run `options.replicates` replicates of `scenario` on `population`, in parallel on the current
/// rayon pool. `on_replicate(r, tallies)` receives each replicate's population-level tallies (one
/// per tick) in replicate order. Returns [`Interrupted`] (wrapped) if `cancel` is set.
pub fn run_ensemble(
    scenario: &Scenario,
    population: &Population,
    options: EnsembleOptions,
    cancel: &AtomicBool,
    mut on_replicate: impl FnMut(u32, &[Tally]) -> anyhow::Result<()>,
) -> anyhow::Result<EnsembleSummary> {
    let env = Environment::new(scenario);
    let ticks = scenario.months as usize + 1;
    let ccgs = population.ccgs.len();
    let m = METRICS.len();
    let mut summary = EnsembleSummary {
        ticks,
        population: vec![Welford::default(); ticks * m],
        by_ccg: options
            .by_ccg
            .then(|| vec![Welford::default(); ccgs * ticks * m]),
    };
    let batch = batch_replicates(population, ticks, options.replicates);
    let mut first = 0u32;
    while first < options.replicates {
        if cancel.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        let reps = batch.min(options.replicates - first);
        let units = reps as usize * ccgs;
        let results: Vec<Vec<Tally>> = (0..units)
            .into_par_iter()
            .map_init(Workspace::default, |ws, u| {
                let (r, c) = (first + (u / ccgs) as u32, u % ccgs);
                let mut out = empty_tallies(scenario);
                if !cancel.load(Ordering::Relaxed) {
                    simulate_ccg(scenario, &env, &population.ccgs[c], r, ws, &mut out);
                }
                out
            })
            .collect();
        if cancel.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        for (i, per_ccg) in results.chunks(ccgs).enumerate() {
            let mut total = empty_tallies(scenario);
            for (c, tallies) in per_ccg.iter().enumerate() {
                for (tick, t) in tallies.iter().enumerate() {
                    add_into(&mut total[tick], t);
                    if let Some(by) = summary.by_ccg.as_mut() {
                        push_metrics(&mut by[(c * ticks + tick) * m..][..m], t);
                    }
                }
            }
            for (tick, t) in total.iter().enumerate() {
                push_metrics(&mut summary.population[tick * m..][..m], t);
            }
            on_replicate(first + i as u32, &total)?;
        }
        first += reps;
    }
    Ok(summary)
}

fn push_metrics(acc: &mut [Welford], tally: &Tally) {
    for (w, metric) in acc.iter_mut().zip(METRICS) {
        if let Some(v) = metric.value(tally) {
            w.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn thread_count_does_not_change_results() {
        let s =
            Scenario::parse("months = 6\n[population]\nccgs = 7\n", Path::new("t.toml")).unwrap();
        let pop = Population::build(&s);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut seen = Vec::new();
            let summary = pool
                .install(|| {
                    run_ensemble(
                        &s,
                        &pop,
                        EnsembleOptions {
                            replicates: 5,
                            by_ccg: true,
                        },
                        &AtomicBool::new(false),
                        |r, t| {
                            seen.push((r, t.to_vec()));
                            Ok(())
                        },
                    )
                })
                .unwrap();
            (seen, summary.population, summary.by_ccg)
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.0.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
    }

    #[test]
    fn a_cancelled_run_reports_interruption() {
        let s =
            Scenario::parse("months = 2\n[population]\nccgs = 2\n", Path::new("t.toml")).unwrap();
        let pop = Population::build(&s);
        let err = run_ensemble(
            &s,
            &pop,
            EnsembleOptions {
                replicates: 3,
                by_ccg: false,
            },
            &AtomicBool::new(true),
            |_, _| Ok(()),
        )
        .unwrap_err();
        assert!(err.is::<Interrupted>());
    }
}

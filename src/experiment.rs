//! Experiments: many engine runs in parallel. An ensemble flattens (replicate, CCG) into indexed
//! units, runs them on the rayon pool in batches, and reduces each batch in index order, so the
//! result is the same whatever the number of threads. Results leave through an observer as each
//! replicate completes; only summary accumulators stay in memory.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::engine::{Environment, Workspace, empty_tallies, simulate_group};
use crate::metrics::{METRICS, Tally, add_into};
use crate::population::{MergerPlan, Population};
use crate::scenario::Scenario;
use crate::stats::Welford;

/// The run was stopped (by a signal, see [`crate::signals`]) before it finished.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted{} before the run finished; no result file was written (run the same command again to start over)",
    crate::signals::by()
)]
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

/// Practices per task: CCGs are grouped into consecutive chunks of at least this many practices,
/// so a task is large enough that scheduling costs are negligible (one month of a 33-practice CCG
/// is far too small a task). The chunks depend only on the population, never on the threads.
pub(crate) const CHUNK_PRACTICES: u64 = 2048;

/// Consecutive ranges of CCG indices, each with at least [`CHUNK_PRACTICES`] practices (but the
/// last), cut only between the groups of CCGs that merge ([`MergerPlan::groups`]), so that a
/// group is simulated within one task. Without mergers every CCG is a group of its own.
pub fn ccg_chunks(population: &Population, plan: &MergerPlan) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut practices) = (0, 0u64);
    for group in &plan.groups {
        practices += population.ccgs[group.clone()]
            .iter()
            .map(|c| c.practices as u64)
            .sum::<u64>();
        if practices >= CHUNK_PRACTICES {
            chunks.push(start..group.end);
            start = group.end;
            practices = 0;
        }
    }
    if start < population.ccgs.len() {
        chunks.push(start..population.ccgs.len());
    }
    chunks
}

/// How many replicates to run per batch: enough tasks to keep every thread busy, few enough
/// that a batch's tallies stay small. Does not affect results.
pub(crate) fn batch_replicates(
    chunks: usize,
    ccgs: usize,
    ticks: usize,
    by_ccg: bool,
    replicates: u32,
) -> u32 {
    let by_tasks = 64usize.div_ceil(chunks.max(1));
    let per_replicate = if by_ccg { ccgs + chunks } else { chunks };
    let bytes_per_replicate = per_replicate * ticks * std::mem::size_of::<Tally>();
    let by_memory = ((256usize << 20) / bytes_per_replicate.max(1)).max(1);
    by_tasks.min(by_memory).clamp(1, replicates.max(1) as usize) as u32
}

/// One replicate's tallies: the population's (one per tick) and, when per-CCG results are kept,
/// each CCG's: runs of consecutive CCGs, each as (its first CCG, `ticks` tallies per CCG in
/// order), covering every CCG in order (else empty).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateTallies {
    pub total: Vec<Tally>,
    pub per_ccg: Vec<(usize, Vec<Tally>)>,
}

impl ReplicateTallies {
    /// CCG `c`'s tallies, one per tick.
    pub fn ccg(&self, c: usize, ticks: usize) -> &[Tally] {
        let run = self.per_ccg.partition_point(|(start, _)| *start <= c) - 1;
        let (start, tallies) = &self.per_ccg[run];
        &tallies[(c - start) * ticks..][..ticks]
    }
}

/// An ensemble's model, ready to simulate any block of its replicates (on any rank of an MPI
/// job: [`crate::cluster::jobs::EnsembleJob`]).
pub struct EnsembleRun<'a> {
    pub scenario: &'a Scenario,
    pub population: &'a Population,
    pub env: Environment,
    pub by_ccg: bool,
}

impl<'a> EnsembleRun<'a> {
    pub fn new(scenario: &'a Scenario, population: &'a Population, by_ccg: bool) -> Self {
        EnsembleRun {
            scenario,
            population,
            env: Environment::new(scenario),
            by_ccg,
        }
    }

    /// Replicates per batch on one machine ([`batch_replicates`]).
    fn batch(&self, replicates: u32) -> u32 {
        let (scenario, population) = (self.scenario, self.population);
        batch_replicates(
            ccg_chunks(population, &MergerPlan::new(scenario, population)).len(),
            population.ccgs.len(),
            scenario.months as usize + 1,
            self.by_ccg,
            replicates,
        )
    }

    /// Simulate the replicates `replicates` in parallel on the current rayon pool; `None` if
    /// `cancel` was set meanwhile (the batch is then discarded whole).
    ///
    /// The work is split into tasks of (replicate, chunk of CCGs); inside a task each CCG runs
    /// on its own RNG stream (`engine::simulate_ccg`), and all sums are taken in a fixed order
    /// (CCGs within a chunk, then chunks), so the result is the same whatever the thread count.
    pub fn simulate(
        &self,
        replicates: Range<u32>,
        cancel: &AtomicBool,
    ) -> Option<Vec<ReplicateTallies>> {
        let (scenario, env, by_ccg) = (self.scenario, &self.env, self.by_ccg);
        let ticks = scenario.months as usize + 1;
        let first = replicates.start;
        // Each replicate's structure (the same one for all when it is fixed) and its chunks.
        let pops: Vec<_> = replicates
            .clone()
            .map(|r| Population::for_replicate(scenario, self.population, r))
            .collect();
        let plans: Vec<MergerPlan> = pops.iter().map(|p| MergerPlan::new(scenario, p)).collect();
        let chunks: Vec<Vec<Range<usize>>> = pops
            .iter()
            .zip(&plans)
            .map(|(p, plan)| ccg_chunks(p, plan))
            .collect();
        let zero = [0.0; crate::metrics::TALLY_LEN];
        let tasks: Vec<(usize, Range<usize>)> = chunks
            .iter()
            .enumerate()
            .flat_map(|(i, cs)| cs.iter().map(move |c| (i, c.clone())))
            .collect();
        // Each task's tallies summed over its CCGs in index order, one per tick, and when kept
        // each of its CCGs' (`ticks` per CCG, CCGs in order).
        let results: Vec<(usize, usize, Vec<Tally>, Vec<Tally>)> = tasks
            .into_par_iter()
            .map_init(
                || (Workspace::default(), Vec::<Tally>::new()),
                |(ws, scratch), (i, chunk)| {
                    let r = first + i as u32;
                    let mut total = empty_tallies(scenario);
                    let mut per_ccg =
                        Vec::with_capacity(if by_ccg { chunk.len() * ticks } else { 0 });
                    let plan = &plans[i];
                    let first_group = plan.groups.partition_point(|g| g.start < chunk.start);
                    for (group, mergers) in plan.groups[first_group..]
                        .iter()
                        .zip(&plan.mergers[first_group..])
                        .take_while(|(g, _)| g.start < chunk.end)
                    {
                        // A cheap check per group, so that a big run stops within moments of a
                        // signal; the batch is then discarded whole, so results never change.
                        if cancel.load(Ordering::Relaxed) {
                            return (i, chunk.start, total, per_ccg);
                        }
                        scratch.clear();
                        scratch.resize(group.len() * ticks, zero);
                        let ccgs = &pops[i].ccgs[group.clone()];
                        simulate_group(scenario, env, ccgs, mergers, r, ws, scratch);
                        // CCG by CCG in index order, as without mergers.
                        for ccg in scratch.chunks(ticks) {
                            for (total, t) in total.iter_mut().zip(ccg) {
                                add_into(total, t);
                            }
                        }
                        if by_ccg {
                            per_ccg.extend_from_slice(scratch);
                        }
                    }
                    (i, chunk.start, total, per_ccg)
                },
            )
            .collect();
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let mut out: Vec<ReplicateTallies> = (0..replicates.len())
            .map(|_| ReplicateTallies {
                total: empty_tallies(scenario),
                per_ccg: Vec::new(),
            })
            .collect();
        // Chunks summed in order within each replicate.
        for (i, start, total, per_ccg) in results {
            for (sum, t) in out[i].total.iter_mut().zip(&total) {
                add_into(sum, t);
            }
            if by_ccg {
                out[i].per_ccg.push((start, per_ccg));
            }
        }
        Some(out)
    }
}

/// The running summary of an ensemble: takes replicates in order.
struct Accumulator {
    summary: EnsembleSummary,
}

impl Accumulator {
    fn new(scenario: &Scenario, population: &Population, by_ccg: bool) -> Accumulator {
        let ticks = scenario.months as usize + 1;
        let m = METRICS.len();
        Accumulator {
            summary: EnsembleSummary {
                ticks,
                population: vec![Welford::default(); ticks * m],
                by_ccg: by_ccg.then(|| vec![Welford::default(); population.ccgs.len() * ticks * m]),
            },
        }
    }

    /// Take the replicates `first..` of `batch`, in order, handing each replicate's population
    /// tallies to `on_replicate`.
    fn push(
        &mut self,
        first: u32,
        batch: &[ReplicateTallies],
        on_replicate: &mut impl FnMut(u32, &[Tally]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let ticks = self.summary.ticks;
        let m = METRICS.len();
        if let Some(by) = self.summary.by_ccg.as_mut() {
            // Each CCG's accumulators take its replicates in replicate order; CCGs are
            // independent, so they are updated in parallel.
            by.par_chunks_mut(ticks * m)
                .enumerate()
                .for_each(|(c, acc)| {
                    for replicate in batch {
                        let tallies = replicate.ccg(c, ticks);
                        for (tick, t) in tallies.iter().enumerate() {
                            push_metrics(&mut acc[tick * m..][..m], t);
                        }
                    }
                });
        }
        for (i, replicate) in batch.iter().enumerate() {
            for (tick, t) in replicate.total.iter().enumerate() {
                push_metrics(&mut self.summary.population[tick * m..][..m], t);
            }
            on_replicate(first + i as u32, &replicate.total)?;
        }
        Ok(())
    }
}

/// Run `options.replicates` replicates of `scenario` on `population`, in parallel on the current
/// rayon pool. `population` is [`Population::build`]'s; replicate `r` simulates
/// [`Population::for_replicate`] (`population` itself when the structure is fixed). `on_replicate(r, tallies)` receives each replicate's population-level tallies (one
/// per tick) in replicate order. Returns [`Interrupted`] (wrapped) if `cancel` is set.
///
/// Replicates run in batches ([`EnsembleRun::simulate`]), reduced in replicate order, so the
/// result is the same whatever the thread count.
pub fn run_ensemble(
    scenario: &Scenario,
    population: &Population,
    options: EnsembleOptions,
    cancel: &AtomicBool,
    on_replicate: impl FnMut(u32, &[Tally]) -> anyhow::Result<()>,
) -> anyhow::Result<EnsembleSummary> {
    run_ensemble_on(scenario, population, options, cancel, None, on_replicate)
}

/// [`run_ensemble`], with the replicates simulated by every rank of an MPI job when `cluster`
/// is given (rank 0's coordinator, and the index of this scenario among the command's, which
/// the workers' [`crate::cluster::jobs::EnsembleJob`] holds in the same order): the same
/// summary, bit for bit.
pub fn run_ensemble_on(
    scenario: &Scenario,
    population: &Population,
    options: EnsembleOptions,
    cancel: &AtomicBool,
    cluster: Option<(&mut crate::cluster::Coordinator<'_>, usize)>,
    mut on_replicate: impl FnMut(u32, &[Tally]) -> anyhow::Result<()>,
) -> anyhow::Result<EnsembleSummary> {
    let run = EnsembleRun::new(scenario, population, options.by_ccg);
    let mut acc = Accumulator::new(scenario, population, options.by_ccg);
    if let Some((cluster, index)) = cluster {
        use crate::cluster::jobs;
        let blocks =
            jobs::replicate_blocks(options.replicates, population.ccgs.len(), cluster.size());
        cluster.require_units(blocks.len(), "block of replicates")?;
        let tasks: Vec<Vec<u8>> = blocks
            .iter()
            .map(|b| jobs::replicate_task(index, b))
            .collect();
        // Rank 0's own units run on this scenario alone, whatever its index.
        struct One<'r, 'a>(&'r EnsembleRun<'a>);
        impl crate::cluster::Job for One<'_, '_> {
            type Output = Vec<ReplicateTallies>;
            fn evaluate(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Self::Output> {
                let (_, replicates) = jobs::decode_replicate_task(task);
                self.0
                    .simulate(replicates, cancel)
                    .ok_or_else(|| Interrupted.into())
            }
            fn encode(&self, replicates: &Self::Output) -> Vec<u8> {
                jobs::encode_replicates(replicates)
            }
            fn decode(&self, bytes: &[u8]) -> Self::Output {
                jobs::decode_replicates(bytes)
            }
        }
        cluster.map(&One(&run), &tasks, cancel, |i, batch| {
            acc.push(blocks[i].start, &batch, &mut on_replicate)
        })?;
        return Ok(acc.summary);
    }
    let batch = run.batch(options.replicates);
    let mut first = 0u32;
    while first < options.replicates {
        if cancel.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        let reps = batch.min(options.replicates - first);
        let results = run
            .simulate(first..first + reps, cancel)
            .ok_or(Interrupted)?;
        acc.push(first, &results, &mut on_replicate)?;
        first += reps;
    }
    Ok(acc.summary)
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
    fn chunks_cover_every_ccg_once_in_order() {
        let s = Scenario::parse("[population]\nccgs = 300\n", Path::new("t.toml")).unwrap();
        let pop = Population::build(&s);
        let chunks = ccg_chunks(&pop, &MergerPlan::new(&s, &pop));
        assert!(chunks.len() > 1);
        assert_eq!(chunks[0].start, 0);
        assert_eq!(chunks.last().unwrap().end, 300);
        for w in chunks.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            let practices: u64 = pop.ccgs[w[0].clone()]
                .iter()
                .map(|c| c.practices as u64)
                .sum();
            assert!(practices >= CHUNK_PRACTICES);
        }
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

//! The units of the commands that run under MPI, and how they travel: `sweep` (blocks of points,
//! or of one point's replicates), `calibrate` (blocks of candidates) and `run` (blocks of
//! replicates). Each unit is sized to about [`UNIT_RUNS`] runs of one CCG over the scenario's
//! months, a fraction of a second to a few seconds on one core: large beside the cost of a
//! message (tens of microseconds), small enough that the ranks stay evenly loaded; and where
//! there is little work, smaller, so that each rank has [`UNITS_PER_RANK`] units to take.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::Job;
use super::codec::{Reader, Writer};
use crate::experiment::{EnsembleRun, Interrupted, ReplicateTallies};
use crate::metrics::TALLY_LEN;
use crate::sweep::Sweep;
use crate::sweep::abc::Simulated;
use crate::sweep::runner::{build_models, evaluate_replicates};

/// About this many runs of one CCG (for a built-in test model, evaluations) make a unit.
pub const UNIT_RUNS: usize = 4096;

/// Units are made smaller than [`UNIT_RUNS`] where needed to give each rank this many.
pub const UNITS_PER_RANK: usize = 4;

/// Units of each batch of calibration candidates per rank: the next batch waits for the last
/// unit of this one, so they are smaller, to end together.
pub const CANDIDATE_UNITS_PER_RANK: usize = 16;

/// Where a sweep unit's points sit in the list handed out, and its replicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepBlock {
    /// Position of the unit's first point in that list.
    pub first: usize,
    pub points: usize,
    pub replicates: Range<u32>,
}

/// The units of a sweep over `points` (in order), whose points are `units` runs of one CCG per
/// replicate: several whole points per unit when points are small, else blocks of one point's
/// replicates. Returns the units' descriptions and where each sits.
pub fn sweep_tasks(
    sweep: &Sweep,
    points: &[usize],
    units: usize,
    ranks: usize,
) -> (Vec<Vec<u8>>, Vec<SweepBlock>) {
    let reps = sweep.replicates;
    let per_point = units.max(1) * reps as usize;
    let wanted = UNITS_PER_RANK * ranks;
    let mut blocks = Vec::new();
    if per_point >= UNIT_RUNS || points.len() < wanted {
        let by_size = UNIT_RUNS / units.max(1);
        let by_count = (reps as usize * points.len()).div_ceil(wanted);
        let block = by_size.min(by_count).clamp(1, reps as usize) as u32;
        for first in 0..points.len() {
            let mut r = 0;
            while r < reps {
                let end = (r + block).min(reps);
                blocks.push(SweepBlock {
                    first,
                    points: 1,
                    replicates: r..end,
                });
                r = end;
            }
        }
    } else {
        let per_unit = (UNIT_RUNS / per_point).min(points.len() / wanted).max(1);
        let mut first = 0;
        while first < points.len() {
            let n = per_unit.min(points.len() - first);
            blocks.push(SweepBlock {
                first,
                points: n,
                replicates: 0..reps,
            });
            first += n;
        }
    }
    let tasks = blocks
        .iter()
        .map(|b| {
            let mut w = Writer::default();
            w.u32(b.replicates.start);
            w.u32(b.replicates.end);
            w.u64(b.points as u64);
            for &p in &points[b.first..b.first + b.points] {
                w.u64(p as u64);
            }
            w.finish()
        })
        .collect();
    (tasks, blocks)
}

/// Runs sweep units: builds the points' models and their replicates, as `run_sweep` does. A
/// result is each of the unit's points' replicates' outputs.
pub struct SweepJob<'a> {
    sweep: &'a Sweep,
    unit_points: &'a [Vec<f64>],
}

impl<'a> SweepJob<'a> {
    pub fn new(sweep: &'a Sweep, unit_points: &'a [Vec<f64>]) -> SweepJob<'a> {
        SweepJob { sweep, unit_points }
    }
}

impl Job for SweepJob<'_> {
    type Output = crate::sweep::runner::ChunkOutputs;

    fn evaluate(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Self::Output> {
        let mut r = Reader::new(task);
        let replicates = r.u32()..r.u32();
        let n = r.u64() as usize;
        let points: Vec<usize> = (0..n).map(|_| r.u64() as usize).collect();
        let models = build_models(self.sweep, self.unit_points, &points)?;
        let outputs = evaluate_replicates(&models, &self.sweep.outputs, replicates, cancel)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        Ok(outputs)
    }

    fn encode(&self, outputs: &Self::Output) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(outputs.len() as u64);
        w.u64(outputs.first().map_or(0, Vec::len) as u64);
        for point in outputs {
            for rep in point {
                for &v in rep {
                    w.opt_f64(v);
                }
            }
        }
        w.finish()
    }

    fn decode(&self, bytes: &[u8]) -> Self::Output {
        let mut r = Reader::new(bytes);
        let (points, replicates) = (r.u64() as usize, r.u64() as usize);
        let outputs = self.sweep.outputs.len();
        (0..points)
            .map(|_| {
                (0..replicates)
                    .map(|_| (0..outputs).map(|_| r.opt_f64()).collect())
                    .collect()
            })
            .collect()
    }
}

pub use crate::sweep::abc::Candidate;

/// The units of a batch of calibration candidates: blocks of about [`UNIT_RUNS`] runs of one
/// CCG, as `ccgs * replicates` runs per candidate.
pub fn candidate_tasks(
    candidates: &[Candidate],
    runs_per_candidate: usize,
    ranks: usize,
) -> Vec<Vec<u8>> {
    let per = (UNIT_RUNS / runs_per_candidate.max(1))
        .min(candidates.len() / (CANDIDATE_UNITS_PER_RANK * ranks))
        .max(1);
    candidates
        .chunks(per)
        .map(|block| {
            let mut w = Writer::default();
            w.u64(block.len() as u64);
            for (theta, seed) in block {
                w.f64s(theta);
                w.u64(*seed);
            }
            w.finish()
        })
        .collect()
}

/// The candidates of a calibration unit.
pub fn decode_candidates(task: &[u8]) -> Vec<Candidate> {
    let mut r = Reader::new(task);
    let n = r.u64() as usize;
    (0..n)
        .map(|_| {
            let theta = r.f64s();
            (theta, r.u64())
        })
        .collect()
}

/// Runs calibration units: every candidate of the block in parallel, as the calibration does on
/// one machine. A result is each candidate's distance and outputs.
pub struct CalibrationJob<'a> {
    pub simulate: &'a (dyn Fn(&[f64], u64) -> anyhow::Result<Simulated> + Sync),
}

impl Job for CalibrationJob<'_> {
    type Output = Vec<Simulated>;

    fn evaluate(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Self::Output> {
        decode_candidates(task)
            .par_iter()
            .map(|(theta, seed)| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Interrupted.into());
                }
                (self.simulate)(theta, *seed)
            })
            .collect()
    }

    fn encode(&self, simulated: &Self::Output) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(simulated.len() as u64);
        for x in simulated {
            w.f64(x.distance);
            w.f64s(&x.outputs);
        }
        w.finish()
    }

    fn decode(&self, bytes: &[u8]) -> Self::Output {
        let mut r = Reader::new(bytes);
        let n = r.u64() as usize;
        (0..n)
            .map(|_| {
                let distance = r.f64();
                Simulated {
                    distance,
                    outputs: r.f64s(),
                }
            })
            .collect()
    }
}

/// The units of an ensemble: blocks of replicates, each about [`UNIT_RUNS`] runs of one CCG.
pub fn replicate_blocks(replicates: u32, ccgs: usize, ranks: usize) -> Vec<Range<u32>> {
    let by_count = (replicates as usize).div_ceil(UNITS_PER_RANK * ranks);
    let block = (UNIT_RUNS / ccgs.max(1))
        .min(by_count)
        .clamp(1, replicates.max(1) as usize) as u32;
    let mut blocks = Vec::new();
    let mut r = 0;
    while r < replicates {
        let end = (r + block).min(replicates);
        blocks.push(r..end);
        r = end;
    }
    blocks
}

/// An ensemble unit: which scenario of the command (a `run` may have several) and replicates.
pub fn replicate_task(scenario: usize, block: &Range<u32>) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(scenario as u64);
    w.u32(block.start);
    w.u32(block.end);
    w.finish()
}

pub fn decode_replicate_task(task: &[u8]) -> (usize, Range<u32>) {
    let mut r = Reader::new(task);
    let scenario = r.u64() as usize;
    (scenario, r.u32()..r.u32())
}

/// Runs ensemble units: the replicates of one of the command's scenarios. A result is each
/// replicate's tallies.
pub struct EnsembleJob<'a> {
    pub runs: Vec<EnsembleRun<'a>>,
}

impl Job for EnsembleJob<'_> {
    type Output = Vec<ReplicateTallies>;

    fn evaluate(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Self::Output> {
        let (scenario, replicates) = decode_replicate_task(task);
        self.runs[scenario]
            .simulate(replicates, cancel)
            .ok_or_else(|| Interrupted.into())
    }

    fn encode(&self, replicates: &Self::Output) -> Vec<u8> {
        encode_replicates(replicates)
    }

    fn decode(&self, bytes: &[u8]) -> Self::Output {
        decode_replicates(bytes)
    }
}

/// Replicates' tallies as bytes: per replicate the population's and then every CCG's, in order.
pub fn encode_replicates(replicates: &[ReplicateTallies]) -> Vec<u8> {
    let values: usize = replicates
        .iter()
        .map(|r| r.total.len() + r.per_ccg.iter().map(|(_, t)| t.len()).sum::<usize>())
        .sum();
    let mut w = Writer::with_capacity(8 * TALLY_LEN * values + 24 * replicates.len() + 8);
    w.u64(replicates.len() as u64);
    for r in replicates {
        w.u64(r.total.len() as u64);
        for t in &r.total {
            w.f64_array(t);
        }
        w.u64(r.per_ccg.iter().map(|(_, t)| t.len()).sum::<usize>() as u64);
        for t in r.per_ccg.iter().flat_map(|(_, t)| t) {
            w.f64_array(t);
        }
    }
    w.finish()
}

pub fn decode_replicates(bytes: &[u8]) -> Vec<ReplicateTallies> {
    let mut r = Reader::new(bytes);
    let n = r.u64() as usize;
    (0..n)
        .map(|_| {
            let ticks = r.u64() as usize;
            let total = r.f64_arrays::<TALLY_LEN>(ticks);
            let ccgs = r.u64() as usize;
            let per_ccg = r.f64_arrays::<TALLY_LEN>(ccgs);
            ReplicateTallies {
                total,
                per_ccg: if per_ccg.is_empty() {
                    Vec::new()
                } else {
                    vec![(0, per_ccg)]
                },
            }
        })
        .collect()
}

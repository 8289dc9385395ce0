//! Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC; Toni et al. 2009,
//! Beaumont et al. 2009, "ABC population Monte Carlo").
//!
//! Generation 0 draws particles from the prior and keeps every one (tolerance infinite). Each later
//! generation's tolerance is a quantile (by default the median) of the previous generation's
//! distances; candidates are drawn from the previous particles by weight and moved by a Gaussian
//! kernel with twice their weighted variance per parameter (Beaumont et al. 2009), and kept if
//! their simulated distance is within the tolerance. Weights are prior / sum_j w_j K(theta | theta_j).
//!
//! Priors are uniform in an internal coordinate (the value, or its log for log-uniform priors), so
//! the prior density is constant inside its box. Candidates are numbered; candidate i of
//! generation g draws on its own stream, and the accepted particles are the first N acceptable
//! candidates in index order, evaluated in parallel batches: the result does not depend on the
//! number of threads.

use std::sync::atomic::{AtomicBool, Ordering};

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::experiment::Interrupted;
use crate::rng::{Purpose, derive_seed, stream};

/// A uniform prior on `[lo, hi]` in internal coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    pub lo: f64,
    pub hi: f64,
    /// Uniform on the log scale (`lo` and `hi` are the values, not their logs).
    pub log: bool,
}

impl Prior {
    fn internal(&self) -> (f64, f64) {
        if self.log {
            (self.lo.ln(), self.hi.ln())
        } else {
            (self.lo, self.hi)
        }
    }

    /// The parameter value at internal coordinate `z`.
    pub fn value(&self, z: f64) -> f64 {
        if self.log { z.exp() } else { z }
    }
}

/// Settings of a calibration run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbcSettings {
    pub particles: usize,
    pub generations: usize,
    /// Quantile of the previous generation's distances used as the next tolerance.
    pub quantile: f64,
    /// Stop once a generation accepts fewer than this share of its candidates.
    pub min_acceptance: f64,
    /// Most candidates one generation may try; it stops early (and the run ends) beyond.
    pub max_candidates: usize,
    pub seed: u64,
}

/// A simulated candidate: its distance and the model outputs it was measured on.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    pub distance: f64,
    pub outputs: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Particle {
    /// Parameter values (not internal coordinates).
    pub theta: Vec<f64>,
    pub weight: f64,
    pub distance: f64,
    pub outputs: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub epsilon: f64,
    pub candidates: usize,
    pub particles: Vec<Particle>,
}

impl Generation {
    pub fn acceptance_rate(&self) -> f64 {
        self.particles.len() as f64 / self.candidates.max(1) as f64
    }

    /// Effective sample size of the weights (Kish).
    pub fn ess(&self) -> f64 {
        let s: f64 = self.particles.iter().map(|p| p.weight).sum();
        let s2: f64 = self.particles.iter().map(|p| p.weight * p.weight).sum();
        if s2 > 0.0 { s * s / s2 } else { 0.0 }
    }

    /// Weighted mean of each parameter.
    pub fn mean(&self) -> Vec<f64> {
        let k = self.particles.first().map_or(0, |p| p.theta.len());
        let s: f64 = self.particles.iter().map(|p| p.weight).sum();
        (0..k)
            .map(|d| {
                self.particles
                    .iter()
                    .map(|p| p.weight * p.theta[d])
                    .sum::<f64>()
                    / s
            })
            .collect()
    }

    /// Weighted 2.5% and 97.5% quantiles of each parameter.
    pub fn interval(&self) -> Vec<(f64, f64)> {
        let k = self.particles.first().map_or(0, |p| p.theta.len());
        (0..k)
            .map(|d| {
                let mut xs: Vec<(f64, f64)> = self
                    .particles
                    .iter()
                    .map(|p| (p.theta[d], p.weight))
                    .collect();
                (
                    weighted_quantile(&mut xs, 0.025),
                    weighted_quantile(&mut xs, 0.975),
                )
            })
            .collect()
    }
}

/// The `q` quantile of weighted values (the smallest value whose cumulative weight reaches q).
pub fn weighted_quantile(xs: &mut [(f64, f64)], q: f64) -> f64 {
    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = xs.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for &(x, w) in xs.iter() {
        acc += w;
        if acc >= q * total {
            return x;
        }
    }
    xs.last().map_or(f64::NAN, |x| x.0)
}

/// The `q` quantile of `xs` (nearest rank, lower).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// Where a run of [`abc_smc`] starts: the generations an earlier, interrupted run finished, and
/// whether it found the generation after them impossible to fill (which ends the run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Start {
    pub generations: Vec<Generation>,
    pub exhausted: bool,
}

/// What [`abc_smc`] reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Generation `g` is finished.
    Generation(usize, &'a Generation),
    /// Generation `g` could not be filled within its budget: the run ends with the one before.
    Exhausted(usize),
}

/// Run ABC-SMC. `simulate(theta, seed)` runs the model at parameter values `theta` on streams
/// derived from `seed`. `on_event` sees each finished generation (and a generation that could
/// not be filled); an error from it stops the run.
///
/// A run can continue from `start`: generation g's draws come from streams of the seed, g and the
/// candidate's index only, and its proposals from generation g - 1, so a run resumed after
/// generation g - 1 makes exactly the generations an uninterrupted run makes.
pub fn abc_smc(
    priors: &[Prior],
    settings: &AbcSettings,
    cancel: &AtomicBool,
    start: Start,
    simulate: impl Fn(&[f64], u64) -> anyhow::Result<Simulated> + Sync,
    on_event: impl FnMut(Event<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Generation>> {
    let mut local = |candidates: &[Candidate]| -> Vec<anyhow::Result<Simulated>> {
        candidates
            .par_iter()
            .map(|(theta, seed)| {
                // Once stopped, the batch is abandoned: skip its remaining candidates.
                if cancel.load(Ordering::Relaxed) {
                    return Err(Interrupted.into());
                }
                simulate(theta, *seed)
            })
            .collect()
    };
    abc_smc_with(priors, settings, cancel, start, &mut local, on_event)
}

/// [`abc_smc`], with each batch of candidates (parameter values and seed) simulated by
/// `evaluate` (in parallel here, or over the ranks of an MPI job), which answers for every
/// candidate in order.
/// A candidate: parameter values and the seed of its replicates.
pub type Candidate = (Vec<f64>, u64);

/// Simulates a batch of candidates, answering for each in order.
pub type Evaluate<'a> = dyn FnMut(&[Candidate]) -> Vec<anyhow::Result<Simulated>> + 'a;

pub fn abc_smc_with(
    priors: &[Prior],
    settings: &AbcSettings,
    cancel: &AtomicBool,
    start: Start,
    evaluate: &mut Evaluate<'_>,
    mut on_event: impl FnMut(Event<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Generation>> {
    let k = priors.len();
    let n = settings.particles;
    let bounds: Vec<(f64, f64)> = priors.iter().map(Prior::internal).collect();
    let mut generations: Vec<Generation> = start.generations;
    if start.exhausted {
        return Ok(generations);
    }
    if generations.len() > 1
        && generations
            .last()
            .is_some_and(|last| last.acceptance_rate() < settings.min_acceptance)
    {
        return Ok(generations);
    }
    for g in generations.len()..settings.generations {
        let prev = generations.last();
        let epsilon = match prev {
            None => f64::INFINITY,
            Some(p) => quantile(
                &p.particles.iter().map(|x| x.distance).collect::<Vec<_>>(),
                settings.quantile,
            ),
        };
        // Previous particles in internal coordinates, their weights and the kernel's sd.
        let (prev_z, prev_w, sd) = match prev {
            None => (Vec::new(), Vec::new(), vec![0.0; k]),
            Some(p) => {
                let z: Vec<Vec<f64>> = p
                    .particles
                    .iter()
                    .map(|x| {
                        x.theta
                            .iter()
                            .zip(priors)
                            .map(|(&t, pr)| if pr.log { t.ln() } else { t })
                            .collect()
                    })
                    .collect();
                let w: Vec<f64> = p.particles.iter().map(|x| x.weight).collect();
                let sw: f64 = w.iter().sum();
                let sd = (0..k)
                    .map(|d| {
                        let m = z.iter().zip(&w).map(|(z, w)| w * z[d]).sum::<f64>() / sw;
                        let v = z
                            .iter()
                            .zip(&w)
                            .map(|(z, w)| w * (z[d] - m).powi(2))
                            .sum::<f64>()
                            / sw;
                        // Twice the weighted variance; never zero, so the kernel can still move.
                        (2.0 * v).sqrt().max(1e-9 * (bounds[d].1 - bounds[d].0))
                    })
                    .collect();
                (z, w, sd)
            }
        };
        let cumulative: Vec<f64> = prev_w
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        let propose = |i: usize| -> Vec<f64> {
            let mut rng = stream(settings.seed, Purpose::Calibration, g as u64, i as u64);
            if prev.is_none() {
                return bounds
                    .iter()
                    .map(|&(lo, hi)| lo + rng.random::<f64>() * (hi - lo))
                    .collect();
            }
            let total = *cumulative
                .last()
                .expect("a previous generation has particles");
            loop {
                let u = rng.random::<f64>() * total;
                let j = cumulative
                    .partition_point(|&c| c <= u)
                    .min(prev_z.len() - 1);
                let z: Vec<f64> = (0..k)
                    .map(|d| {
                        let e: f64 = StandardNormal.sample(&mut rng);
                        prev_z[j][d] + sd[d] * e
                    })
                    .collect();
                if z.iter()
                    .zip(&bounds)
                    .all(|(z, (lo, hi))| (lo..=hi).contains(&z))
                {
                    return z;
                }
            }
        };
        let batch = (4 * n).max(64);
        let mut accepted: Vec<(Vec<f64>, Simulated)> = Vec::with_capacity(n);
        let mut tried = 0usize;
        while accepted.len() < n && tried < settings.max_candidates {
            if cancel.load(Ordering::Relaxed) {
                return Err(Interrupted.into());
            }
            let end = (tried + batch).min(settings.max_candidates);
            let proposed: Vec<(Vec<f64>, Candidate)> = (tried..end)
                .into_par_iter()
                .map(|i| {
                    let z = propose(i);
                    let theta: Vec<f64> = z.iter().zip(priors).map(|(&z, p)| p.value(z)).collect();
                    let seed = derive_seed(settings.seed, Purpose::Sweep, g as u64, i as u64);
                    (z, (theta, seed))
                })
                .collect();
            let (zs, candidates): (Vec<Vec<f64>>, Vec<Candidate>) = proposed.into_iter().unzip();
            let simulated = evaluate(&candidates);
            let results = zs
                .into_iter()
                .zip(simulated)
                .map(|(z, s)| s.map(|s| (z, s)));
            for (i, r) in (tried..end).zip(results) {
                let (z, sim) = r?;
                if sim.distance <= epsilon && accepted.len() < n {
                    accepted.push((z, sim));
                    if accepted.len() == n {
                        tried = i + 1;
                        break;
                    }
                }
                tried = i + 1;
            }
        }
        if accepted.len() < n {
            // The generation could not be filled within its budget: the previous one stands.
            on_event(Event::Exhausted(g))?;
            break;
        }
        let weights: Vec<f64> = accepted
            .iter()
            .map(|(z, _)| {
                if prev.is_none() {
                    return 1.0;
                }
                let denom: f64 = prev_z
                    .iter()
                    .zip(&prev_w)
                    .map(|(pz, w)| {
                        let q: f64 = (0..k).map(|d| ((z[d] - pz[d]) / sd[d]).powi(2)).sum();
                        w * (-0.5 * q).exp()
                    })
                    .sum();
                1.0 / denom.max(f64::MIN_POSITIVE)
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let generation = Generation {
            epsilon,
            candidates: tried,
            particles: accepted
                .into_iter()
                .zip(weights)
                .map(|((z, sim), w)| Particle {
                    theta: z.iter().zip(priors).map(|(&z, p)| p.value(z)).collect(),
                    weight: w / total,
                    distance: sim.distance,
                    outputs: sim.outputs,
                })
                .collect(),
        };
        on_event(Event::Generation(g, &generation))?;
        let rate = generation.acceptance_rate();
        generations.push(generation);
        if g > 0 && rate < settings.min_acceptance {
            break;
        }
    }
    Ok(generations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y ~ Normal(theta, 0.1); observed 0.7; flat prior on [-3, 3]: the posterior is close to
    /// Normal(0.7, 0.1).
    fn run(threads: usize) -> Vec<Generation> {
        run_from(threads, Start::default(), None).unwrap()
    }

    /// [`run`] from `start`, stopping (as if interrupted) once `stop_after` generations exist.
    fn run_from(
        threads: usize,
        start: Start,
        stop_after: Option<usize>,
    ) -> anyhow::Result<Vec<Generation>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let settings = AbcSettings {
            particles: 300,
            generations: 8,
            quantile: 0.5,
            min_acceptance: 0.01,
            max_candidates: 200_000,
            seed: 11,
        };
        pool.install(|| {
            abc_smc(
                &[Prior {
                    lo: -3.0,
                    hi: 3.0,
                    log: false,
                }],
                &settings,
                &AtomicBool::new(false),
                start,
                |theta, seed| {
                    let mut rng = stream(seed, Purpose::Unit, 0, 0);
                    let e: f64 = StandardNormal.sample(&mut rng);
                    let y = theta[0] + 0.1 * e;
                    Ok(Simulated {
                        distance: ((y - 0.7) / 0.1).abs(),
                        outputs: vec![y],
                    })
                },
                |event| match event {
                    Event::Generation(g, _) if stop_after == Some(g + 1) => Err(Interrupted.into()),
                    _ => Ok(()),
                },
            )
        })
    }

    #[test]
    fn a_run_continued_from_any_generation_makes_the_same_generations() {
        let whole = run(2);
        for k in [1, 3, whole.len() - 1] {
            let err = run_from(1, Start::default(), Some(k)).unwrap_err();
            assert!(err.is::<Interrupted>());
            let start = Start {
                generations: whole[..k].to_vec(),
                exhausted: false,
            };
            assert_eq!(
                run_from(2, start, None).unwrap(),
                whole,
                "resumed after {k}"
            );
        }
        // A run whose next generation could not be filled ends where it was.
        let start = Start {
            generations: whole[..2].to_vec(),
            exhausted: true,
        };
        assert_eq!(run_from(1, start, None).unwrap(), whole[..2]);
        // A finished run continued does nothing more.
        let start = Start {
            generations: whole.clone(),
            exhausted: false,
        };
        assert_eq!(run_from(1, start, None).unwrap(), whole);
    }

    #[test]
    fn a_cancelled_run_stops_with_interrupted() {
        let err = abc_smc(
            &[Prior {
                lo: 0.0,
                hi: 1.0,
                log: false,
            }],
            &AbcSettings {
                particles: 10,
                generations: 3,
                quantile: 0.5,
                min_acceptance: 0.0,
                max_candidates: 1000,
                seed: 1,
            },
            &AtomicBool::new(true),
            Start::default(),
            |theta, _| {
                Ok(Simulated {
                    distance: theta[0],
                    outputs: vec![],
                })
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(err.is::<Interrupted>());
    }

    #[test]
    fn recovers_a_normal_mean_and_is_thread_independent() {
        let gens = run(2);
        assert!(gens.len() >= 4);
        let last = gens.last().unwrap();
        let mean = last.mean()[0];
        let (lo, hi) = last.interval()[0];
        assert!((mean - 0.7).abs() < 0.05, "posterior mean {mean}");
        assert!(lo < 0.7 && 0.7 < hi, "interval [{lo}, {hi}]");
        // Tolerances shrink.
        assert!(gens.windows(2).all(|w| w[1].epsilon <= w[0].epsilon));
        assert!((last.particles.iter().map(|p| p.weight).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(gens, run(1));
    }

    #[test]
    fn weighted_quantiles() {
        let mut xs = vec![(1.0, 1.0), (2.0, 1.0), (3.0, 2.0)];
        assert_eq!(weighted_quantile(&mut xs, 0.25), 1.0);
        assert_eq!(weighted_quantile(&mut xs, 0.5), 2.0);
        assert_eq!(weighted_quantile(&mut xs, 0.9), 3.0);
    }
}

//! CCGs that choose their co-commissioning level (ODD 7.16, `[model.co_commissioning]`): at each
//! of NHS England's application rounds, every CCG not yet delegated weighs its readiness (its
//! members' engagement and trust in its last survey, its governing body's view of
//! co-commissioning, its autonomy, its size) and NHS England's push, and chooses a level by an
//! ordered probit (eqs. C1-C3) whose noise has a part the CCG keeps from round to round (its
//! appetite for commissioning) and a part drawn afresh. It may jump straight from none to
//! delegated; a level once taken is kept. The draws come from a stream of their own
//! (`Purpose::Choice`): the appetite, then one per round, so the rest of a run's random numbers
//! are those of the same run with the levels given.

use rand::Rng;

use crate::stats::normal_quantile;

use crate::metrics::{Tally, tally as ix};
use crate::model::CommissioningLevel;
use crate::model::params::Params;
use crate::population::Ccg;
use crate::rng::{ModelRng, Purpose, stream};
use crate::scenario::Scenario;

/// The rounds of a run: the tick each takes effect and NHS England's push then (eq. C1).
#[derive(Debug, Clone, Default)]
pub(super) struct Rounds {
    rounds: Vec<(u32, f32)>,
}

impl Rounds {
    /// The rounds of `scenario` that fall within its ticks; none when the choice is off.
    pub(super) fn new(scenario: &Scenario) -> Rounds {
        let cc = &scenario.model.co_commissioning;
        if !cc.enabled {
            return Rounds::default();
        }
        let rounds = cc
            .rounds
            .iter()
            .enumerate()
            .filter_map(|(k, m)| {
                let tick = m.months_since(scenario.start);
                (tick >= 1 && tick <= scenario.months as i32)
                    .then_some((tick as u32, cc.push_per_round * k as f32))
            })
            .collect();
        Rounds { rounds }
    }
}

impl Rounds {
    /// Whether a round takes effect at `tick`.
    pub(super) fn contains(&self, tick: u32) -> bool {
        self.rounds.iter().any(|&(t, _)| t == tick)
    }
}

/// One CCG's level when it chooses it.
#[derive(Debug)]
pub(super) struct Choice {
    rng: ModelRng,
    /// The tick of the first round: before it, the population's level holds.
    first: u32,
    /// The level chosen so far (meaningful from the first round).
    level: CommissioningLevel,
    /// The CCG's appetite for commissioning: the persistent part of its noise (eq. C2).
    appetite: f64,
}

impl Choice {
    /// The choice of CCG `ccg` in replicate `replicate`, or `None` if no round falls in the run.
    pub(super) fn new(
        scenario: &Scenario,
        rounds: &Rounds,
        ccg: &Ccg,
        replicate: u32,
    ) -> Option<Choice> {
        let &(first, _) = rounds.rounds.first()?;
        let mut rng = stream(
            scenario.seed,
            Purpose::Choice,
            replicate as u64,
            ccg.index as u64,
        );
        let appetite = normal_quantile(open_unit(rng.next_u64()));
        Some(Choice {
            rng,
            first,
            level: ccg.levels[first as usize - 1],
            appetite,
        })
    }

    /// Take in the choices of a CCG merging into this one (ODD 7.17, M6): the merged CCG is at
    /// the further of the two levels; the appetite and the stream are this one's.
    pub(super) fn absorb(&mut self, other: &Choice) {
        self.level = self.level.max(other.level);
    }

    /// The CCG's level at `tick`, choosing it first if a round takes effect then; `last` is the
    /// CCG's survey of the month before.
    pub(super) fn level_at(
        &mut self,
        p: &Params,
        rounds: &Rounds,
        ccg: &Ccg,
        tick: u32,
        last: &Tally,
    ) -> CommissioningLevel {
        if tick < self.first {
            return ccg.levels[tick as usize];
        }
        if let Some(&(_, push)) = rounds.rounds.iter().find(|(t, _)| *t == tick) {
            let fresh = normal_quantile(open_unit(self.rng.next_u64()));
            if self.level != CommissioningLevel::Delegated {
                let readiness = readiness(p, ccg, push, last);
                let noise = noise(p, self.appetite, fresh);
                self.level = self.level.max(chosen(p, readiness + noise));
            }
        }
        self.level
    }
}

/// A uniform on (0, 1) from 64 random bits: the midpoint of one of 2^53 equal cells.
fn open_unit(bits: u64) -> f64 {
    ((bits >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// Eq. C1: a CCG's readiness for co-commissioning at a round with NHS England's push `push`, from
/// its members' survey of the month before (`last`).
pub(super) fn readiness(p: &Params, ccg: &Ccg, push: f32, last: &Tally) -> f64 {
    let c = &p.co_commissioning;
    let share = |num: usize, den: usize, reference: f32| {
        if last[den] > 0.0 {
            last[num] / last[den]
        } else {
            reference as f64
        }
    };
    let engaged = share(ix::ENGAGED, ix::PRACTICES, c.engaged_reference);
    let trust = share(ix::SUM_TRUST, ix::PRACTICES, c.trust_reference);
    let view = share(
        ix::POSITIVE_GOVERNING_BODY,
        ix::GOVERNING_BODY,
        c.view_reference,
    );
    let size = (ccg.practices.max(1) as f64 / p.size.reference_practices as f64).ln();
    push as f64
        + c.engagement_effect as f64 * (engaged - c.engaged_reference as f64)
        + c.trust_effect as f64 * (trust - c.trust_reference as f64)
        + c.view_effect as f64 * (view - c.view_reference as f64)
        + c.autonomy_effect as f64 * (ccg.governance.autonomy as f64 - c.autonomy_reference as f64)
        + c.size_effect as f64 * size
}

/// Eq. C2: a round's standard normal noise from the CCG's appetite and a fresh normal, correlated
/// `persistence` between any two rounds.
pub(super) fn noise(p: &Params, appetite: f64, fresh: f64) -> f64 {
    let rho = p.co_commissioning.persistence as f64;
    rho.sqrt() * appetite + (1.0 - rho).sqrt() * fresh
}

/// Eq. C3: the level a CCG chooses when its readiness plus noise is `x`: the highest whose cut
/// point `x` exceeds.
pub(super) fn chosen(p: &Params, x: f64) -> CommissioningLevel {
    let c = &p.co_commissioning;
    if x > c.cut_delegated as f64 {
        CommissioningLevel::Delegated
    } else if x > c.cut_joint as f64 {
        CommissioningLevel::Joint
    } else if x > c.cut_greater_involvement as f64 {
        CommissioningLevel::GreaterInvolvement
    } else {
        CommissioningLevel::None
    }
}

/// The probability of each level (none, greater involvement, joint, delegated) that eq. C3
/// gives a CCG of readiness `r` at one round, before the level it holds is kept.
#[cfg(test)]
pub(super) fn probabilities(p: &Params, r: f64) -> [f64; 4] {
    let c = &p.co_commissioning;
    let above = |cut: f32| normal_cdf(r - cut as f64);
    let (gi, joint, delegated) = (
        above(c.cut_greater_involvement),
        above(c.cut_joint),
        above(c.cut_delegated),
    );
    [1.0 - gi, gi - joint, joint - delegated, delegated]
}

/// The standard normal distribution function (Abramowitz and Stegun 26.2.17, absolute error
/// below 7.5e-8).
#[cfg(test)]
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * x.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly;
    if x >= 0.0 { 1.0 - tail } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::TALLY_LEN;

    #[test]
    fn the_noise_is_standard_normal_so_a_round_is_an_ordered_probit() {
        let p = Params::default();
        for r in [-3.0, -1.0, 0.0, 0.5, 2.0] {
            let probs = probabilities(&p, r);
            // A grid of appetite and fresh uniforms: the noise's distribution, integrated.
            let n = 600;
            let mut counts = [0u32; 4];
            for i in 0..n {
                let appetite = normal_quantile((i as f64 + 0.5) / n as f64);
                for j in 0..n {
                    let fresh = normal_quantile((j as f64 + 0.5) / n as f64);
                    counts[chosen(&p, r + noise(&p, appetite, fresh)).index()] += 1;
                }
            }
            let n = n * n;
            for k in 0..4 {
                let got = counts[k] as f64 / n as f64;
                assert!(
                    (got - probs[k]).abs() < 2e-3,
                    "r {r} level {k}: {got} vs {}",
                    probs[k]
                );
            }
        }
    }

    #[test]
    fn readiness_rises_with_engagement_and_trust() {
        let p = Params::default();
        let ccg = Ccg {
            id: "test".into(),
            index: 0,
            practices: 30,
            patients: 200_000,
            localities: 4,
            governance: Default::default(),
            levels: vec![CommissioningLevel::None; 13],
        };
        let mut last = [0.0; TALLY_LEN];
        last[ix::PRACTICES] = 30.0;
        last[ix::GOVERNING_BODY] = 3.0;
        last[ix::POSITIVE_GOVERNING_BODY] = 2.0;
        last[ix::ENGAGED] = 18.0;
        last[ix::SUM_TRUST] = 15.0;
        let base = readiness(&p, &ccg, 0.0, &last);
        let mut more = last;
        more[ix::ENGAGED] = 24.0;
        assert!(readiness(&p, &ccg, 0.0, &more) > base);
        let mut trusting = last;
        trusting[ix::SUM_TRUST] = 20.0;
        assert!(readiness(&p, &ccg, 0.0, &trusting) > base);
        assert!(readiness(&p, &ccg, 1.0, &last) > base, "NHS England's push");
    }

    #[test]
    fn appetite_persists_between_rounds() {
        let mut p = Params::default();
        p.co_commissioning.persistence = 1.0;
        assert_eq!(noise(&p, 0.7, -2.0), 0.7);
        p.co_commissioning.persistence = 0.0;
        assert_eq!(noise(&p, 0.7, -2.0), -2.0);
    }
}

//! A member GP practice (ODD 2.1): the model's krABMaga agent.

use krabmaga::engine::agent::Agent;
use krabmaga::engine::state::State;
use krabmaga::rand::Rng;
use krabmaga::rand_pcg::Pcg64;
use rand_distr::StandardNormal;

use super::ccg::{Ccg, Month};
use super::state::Commissioning;
use crate::scenario::{
    Level, Params, ACTIONS, CONTROL, GOVERNING_BODY, NO_ROLE, SANCTIONS, TRAINING,
};
use crate::tally::{self, Tally};

const SQRT3: f64 = 1.732_050_807_568_877_2;

pub fn logistic(x: f64) -> f64 {
    if x < -700.0 {
        0.0
    } else {
        1.0 / (1.0 + (-x).exp())
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// The actions requested of (then delivered to) a practice this month, by action index.
type Mask = [bool; ACTIONS];

#[derive(Clone, Debug)]
pub struct Practice {
    /// Its CCG's index, and its own index among the CCG's members.
    pub ccg: usize,
    pub member: usize,
    pub locality: usize,
    /// Role code: governing body, other formal role or none.
    pub role: usize,
    pub engagement_disposition: f64,
    pub trust_disposition: f64,
    /// Attitude towards each action (the logit of its support at the trust base).
    pub attitude: [f64; ACTIONS],
    pub own_quality: f64,
    pub quality: f64,
    pub sanction_memory: f64,
    /// Escalation ladder: the rung (-1: off the ladder) and the streak of reviews.
    pub ladder_step: i32,
    pub streak: i32,
    pub burden: f64,
    pub trust: f64,
    pub engagement: f64,
    pub influence: f64,
}

impl Practice {
    /// A practice with its individual draws (ODD 5.1, step 5), its states at their targets
    /// (step 6), in the CCG's month of tick 0.
    pub fn new(
        params: &Params,
        month: &Month,
        rng: &mut Pcg64,
        (ccg, member, locality, role): (usize, usize, usize, usize),
    ) -> Practice {
        let p = &params.m;
        let (d, acc, q) = (&p.dynamics, &p.acceptability, &p.quality);
        let mut gauss = || -> f64 { rng.sample(StandardNormal) };
        let engagement_disposition = d.disposition_sd * gauss();
        let trust_disposition = d.disposition_sd * gauss();
        let attitude = params
            .attitude_centres
            .map(|c| c + acc.support_sd * gauss());
        let own_quality = logistic(logit(q.mean) + q.sd * gauss());
        let mut pr = Practice {
            ccg,
            member,
            locality,
            role,
            engagement_disposition,
            trust_disposition,
            attitude,
            own_quality,
            quality: own_quality,
            sanction_memory: 0.0,
            ladder_step: -1,
            streak: 0,
            burden: 0.0,
            trust: 0.0,
            engagement: 0.0,
            influence: 0.0,
        };
        pr.burden = pr.standing_load(params, month.level);
        pr.trust = clamp01(pr.trust_target(params));
        pr.engagement =
            clamp01(month.engagement_ccg + params.role_e[role] + pr.engagement_disposition);
        pr.influence = clamp01(pr.influence_target(params, month));
        pr.engagement = clamp01(pr.engagement_target(params, month));
        pr
    }

    // --- targets ------------------------------------------------------------------------------

    /// G0: the standing load at level λ.
    fn standing_load(&self, params: &Params, level: Level) -> f64 {
        let bu = &params.m.burden;
        if !bu.enabled {
            return bu.reference_load;
        }
        params.level_load[level as usize] + params.role_load[self.role]
    }

    /// D1: the trust target, lowered by the sanction scar.
    fn trust_target(&self, params: &Params) -> f64 {
        let p = &params.m;
        let acc = &p.acceptability;
        let scar = if acc.enabled {
            acc.sanction_memory_trust * self.sanction_memory / (1.0 + self.sanction_memory)
        } else {
            0.0
        };
        p.dynamics.trust_base + params.role_t[self.role] + self.trust_disposition - scar
    }

    /// D2: the influence target.
    fn influence_target(&self, params: &Params, month: &Month) -> f64 {
        let d = &params.m.dynamics;
        month.influence_ccg
            + params.role_f[self.role]
            + d.influence_from_trust * (self.trust - d.trust_base)
            + d.influence_from_engagement * (self.engagement - d.engagement_base)
    }

    /// D3: the engagement target, lowered by the burden above its reference.
    fn engagement_target(&self, params: &Params, month: &Month) -> f64 {
        let (d, bu) = (&params.m.dynamics, &params.m.burden);
        let mut target = month.engagement_ccg
            + params.role_e[self.role]
            + self.engagement_disposition
            + d.engagement_from_trust * (self.trust - d.trust_base)
            + d.engagement_from_influence * (self.influence - d.influence_base);
        if bu.enabled {
            target -= bu.engagement_effect * (self.burden - bu.reference_load);
        }
        target
    }

    /// A1: support for action k at trust `trust`.
    fn support(&self, params: &Params, k: usize, trust: f64) -> f64 {
        logistic(self.attitude[k] + params.coupling * (trust - params.m.dynamics.trust_base))
    }

    // --- the practice's turn in the month ------------------------------------------------------

    /// P1: the fixed mix, one uniform per eligible action with a rate in force.
    fn mix_actions(
        &self,
        params: &Params,
        month: &Month,
        underperforming: bool,
        rng: &mut Pcg64,
    ) -> Mask {
        let mut mask = [false; ACTIONS];
        if !month.any_rate {
            return mask;
        }
        for (k, chosen) in mask.iter_mut().enumerate() {
            let rate = month.rates[k];
            if rate > 0.0 && (underperforming || !params.to_underperformers[k]) {
                *chosen = rng.random::<f64>() < rate;
            }
        }
        mask
    }

    /// P2: the escalation ladder's review; the action of the practice's rung, if on the ladder.
    fn review(&mut self, params: &Params, underperforming: bool) -> Option<usize> {
        let esc = params.escalation.as_ref()?;
        let top = params.ladder.len() as i32 - 1;
        if self.ladder_step < 0 {
            if underperforming {
                (self.ladder_step, self.streak) = (0, 0);
            }
        } else if underperforming {
            self.streak = self.streak.max(0) + 1;
            if self.streak >= esc.escalate_after && self.ladder_step < top {
                self.ladder_step += 1;
                self.streak = 0;
            }
        } else {
            self.streak = self.streak.min(0) - 1;
            if -self.streak >= esc.deescalate_after {
                self.ladder_step -= 1;
                self.streak = 0;
            }
        }
        (self.ladder_step >= 0).then(|| params.ladder[self.ladder_step as usize])
    }

    /// B2: deliver the requested actions the CCG's month budget still covers.
    fn pay_for(params: &Params, ccg: &mut Ccg, tally: &mut Tally, mask: &mut Mask) {
        for (k, requested) in mask.iter_mut().enumerate() {
            if !*requested {
                continue;
            }
            let cost = params.cost[k];
            if ccg.spent + cost > ccg.month.budget {
                *requested = false;
                tally[tally::RATIONED] += 1.0;
            } else {
                ccg.spent += cost;
                tally[tally::ACTIONS_TRAINING + k] += 1.0;
                tally[tally::COST_TRAINING + k] += cost;
            }
        }
    }

    /// A1-A5, G1, Q1 in action order; support is judged with the trust the practice had at the
    /// start of its turn (as ccgsim's engine does).
    fn apply_actions(&mut self, params: &Params, month: &Month, mask: &Mask) {
        let p = &params.m;
        let (acc, bu, q) = (&p.acceptability, &p.burden, &p.quality);
        let trust_at_start = self.trust;
        for k in (TRAINING..ACTIONS).filter(|&k| mask[k]) {
            if acc.enabled {
                let s = self.support(params, k, trust_at_start); // A1
                let (gain, coi) = if CONTROL[k] {
                    (month.framing_gain, month.coi)
                } else {
                    (0.0, 1.0)
                };
                let legitimacy = s + gain * (1.0 - s); // A2
                let w = params.intensity[k];
                self.trust += w
                    * acc.trust_step
                    * (legitimacy * (1.0 - self.trust)
                        - acc.asymmetry * coi * (1.0 - legitimacy) * self.trust); // A3
                let effect = params.engagement_effect[k];
                if effect >= 0.0 {
                    self.engagement += w * effect * (1.0 - self.engagement); // A4
                } else {
                    self.engagement += w * effect * self.engagement;
                }
                if k == SANCTIONS {
                    self.sanction_memory += 1.0; // A5
                }
            }
            if bu.enabled {
                self.burden += params.action_load[k]; // G1
            }
            if q.enabled {
                self.quality +=
                    params.quality_effect[k] * (0.5 + self.engagement) * (1.0 - self.quality);
                // Q1
            }
            self.trust = clamp01(self.trust);
            self.engagement = clamp01(self.engagement);
            self.quality = clamp01(self.quality);
        }
    }

    /// The monthly partial adjustment: A5 decay, G2, D4-D7, Q2, with the locality means of the
    /// start of the month.
    fn adjust(&mut self, params: &Params, month: &Month, ccg: &Ccg, rng: &mut Pcg64) {
        let p = &params.m;
        let (d, acc, bu, q) = (&p.dynamics, &p.acceptability, &p.burden, &p.quality);
        let shock = SQRT3 * d.noise_sd;
        let u1: f64 = rng.random();
        let u2: f64 = rng.random();
        if acc.enabled {
            self.sanction_memory *= 1.0 - acc.sanction_memory_decay; // A5
        }
        if bu.enabled {
            self.burden += bu.rate * (self.standing_load(params, month.level) - self.burden);
            // G2
        }
        let loc_t = ccg.loc_t[self.locality];
        let loc_e = ccg.loc_e[self.locality];
        // D4 (towards D1 and the locality mean), with the shock D7.
        self.trust += d.trust_rate * (self.trust_target(params) - self.trust)
            + params.peer * (loc_t - self.trust)
            + shock * (2.0 * u1 - 1.0);
        self.trust = clamp01(self.trust);
        // D5 (towards D2).
        self.influence +=
            d.influence_rate * (self.influence_target(params, month) - self.influence);
        self.influence = clamp01(self.influence);
        // D6 (towards D3 and the locality mean), with the shock D7.
        self.engagement += d.engagement_rate
            * (self.engagement_target(params, month) - self.engagement)
            + params.peer * (loc_e - self.engagement)
            + shock * (2.0 * u2 - 1.0);
        self.engagement = clamp01(self.engagement);
        if q.enabled {
            self.quality += q.reversion * (self.own_quality - self.quality); // Q2
            self.quality = clamp01(self.quality);
        }
    }

    /// S1-S5: this practice's answers to the month's survey, counted with its state into the
    /// month's tally.
    pub fn answer_survey(&self, params: &Params, rng: &mut Pcg64, tally: &mut Tally) {
        let p = &params.m;
        let (s, d, bu) = (&p.survey, &p.dynamics, &p.burden);
        let (e, tr, f) = (self.engagement, self.trust, self.influence);
        let u: f64 = rng.random(); // one uniform for both engagement answers (S1)
        let engaged = u < e / (e + (1.0 - e) * params.exp_engaged_cut);
        let highly_engaged = u < e / (e + (1.0 - e) * params.exp_highly_cut);
        let can_influence = rng.random::<f64>() < f; // S5a
        let view = s.view_base
            + params.role_view[self.role]
            + s.view_trust * (tr - d.trust_base)
            + s.view_influence * (f - d.influence_base)
            + s.view_engagement * (e - d.engagement_base); // S4
        let u: f64 = rng.random(); // logistic noise by inversion (S2-S3)
        let positive = u < logistic(view - s.positive_cut);
        let negative = !positive && u >= 1.0 - logistic(s.negative_cut - view);
        let supports: [bool; ACTIONS] =
            std::array::from_fn(|k| rng.random::<f64>() < self.support(params, k, tr)); // S5b
        let burden_p = bu.positive_base - bu.positive_slope * (self.burden - bu.reference_load);
        let burden_positive = rng.random::<f64>() < clamp01(burden_p); // S5c

        let gb = self.role == GOVERNING_BODY;
        let none = self.role == NO_ROLE;
        let count = |b: bool| f64::from(u8::from(b));
        tally[tally::PRACTICES] += 1.0;
        tally[tally::GOVERNING_BODY] += count(gb);
        tally[tally::FORMAL_ROLE] += count(!none);
        tally[tally::NO_ROLE] += count(none);
        tally[tally::ENGAGED] += count(engaged);
        tally[tally::HIGHLY_ENGAGED] += count(highly_engaged);
        tally[tally::INFLUENCE] += count(can_influence);
        tally[tally::INFLUENCE_FORMAL] += count(can_influence && !none);
        tally[tally::INFLUENCE_NO_ROLE] += count(can_influence && none);
        tally[tally::POSITIVE_ALL] += count(positive);
        tally[tally::POSITIVE_GOVERNING_BODY] += count(positive && gb);
        tally[tally::POSITIVE_NO_ROLE] += count(positive && none);
        tally[tally::NEUTRAL_NO_ROLE] += count(!positive && !negative && none);
        tally[tally::BURDEN_POSITIVE] += count(burden_positive);
        for (k, &yes) in supports.iter().enumerate() {
            tally[tally::SUPPORT_TRAINING + k] += count(yes);
        }
        tally[tally::SUM_ENGAGEMENT] += e;
        tally[tally::SUM_SQ_ENGAGEMENT] += e * e;
        tally[tally::SUM_TRUST] += tr;
        tally[tally::SUM_SQ_TRUST] += tr * tr;
        tally[tally::SUM_INFLUENCE] += f;
        tally[tally::SUM_QUALITY] += self.quality;
        tally[tally::SUM_BURDEN] += self.burden;
    }

    /// Publish the practice's engagement and trust to its CCG's buffer, for the locality means
    /// of the next month.
    pub fn publish(&self, ccg: &mut Ccg) {
        ccg.next_e[self.locality] += self.engagement;
        ccg.next_t[self.locality] += self.trust;
    }
}

impl Agent for Practice {
    /// The practice's turn in the month: the mix (and the ladder in review months), the budget,
    /// the action responses, the monthly adjustment and the survey answers.
    fn step(&mut self, state: &mut dyn State) {
        let state = state
            .as_any_mut()
            .downcast_mut::<Commissioning>()
            .expect("the state is a Commissioning");
        let Commissioning {
            params,
            ccgs,
            rng,
            tally,
            review_now,
            ..
        } = state;
        let params = &**params;
        let ccg = &mut ccgs[self.ccg];
        let month = ccg.month;
        let underperforming = self.quality < params.threshold;
        let mut mask = self.mix_actions(params, &month, underperforming, rng);
        if *review_now {
            if let Some(a) = self.review(params, underperforming) {
                if month.allowed[a] {
                    mask[a] = true;
                }
            }
        }
        if mask.iter().any(|&m| m) {
            Practice::pay_for(params, ccg, tally, &mut mask);
            self.apply_actions(params, &month, &mask);
        }
        self.adjust(params, &month, ccg, rng);
        self.answer_survey(params, rng, tally);
        self.publish(ccg);
    }
}

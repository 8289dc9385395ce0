//! The engine: runs one CCG for one replicate, month by month, on its own RNG stream, and tallies
//! what a survey of its members would find each month. Equation labels refer to `docs/ODD.md`.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::metrics::{TALLY_LEN, Tally, tally as ix};
use crate::model::params::Params;
use crate::model::policy::{self, ActionPlan, LadderState};
use crate::model::practice::Practice;
use crate::model::submodels::{
    View, answer_probability, engagement_response, exp, legitimacy, logistic, logit,
    quality_response, sanction_scar, support, trust_factor, trust_response, view_answer,
};
use crate::model::{Action, CommissioningLevel, Framing, Role};
use crate::population::Ccg;
use crate::rng::{ModelRng, Purpose, halves, hit, quarters, stream};
use crate::scenario::Scenario;

/// NHS England's schedules evaluated at every tick of a scenario.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Top-down control at each tick.
    pub top_down: Vec<f32>,
    /// Budget multiplier at each tick.
    pub budget: Vec<f32>,
}

impl Environment {
    pub fn new(scenario: &Scenario) -> Environment {
        let ticks = 0..=scenario.months;
        let at = |s: &crate::scenario::Schedule| {
            ticks
                .clone()
                .map(|t| s.value_at(scenario.month_of(t)) as f32)
                .collect()
        };
        Environment {
            top_down: at(&scenario.nhs_england.top_down),
            budget: at(&scenario.nhs_england.budget),
        }
    }
}

/// Reusable buffers for [`simulate_ccg`], so a worker thread allocates once, not once per unit.
#[derive(Debug, Default)]
pub struct Workspace {
    practices: Vec<Practice>,
    locality_sums: Vec<[f32; 3]>,
}

/// Quantities that are the same for every practice of the CCG in one month (ODD 3).
struct Month {
    control: f32,
    level: CommissioningLevel,
    influence_ccg: f32,
    engagement_ccg: f32,
    coi: f32,
    framing_gain: f32,
    budget: f64,
    plans: [ActionPlan; 4],
    /// Actions the CCG may use at its current level (`min_level`), as a bit mask.
    allowed: u8,
}

/// Simulate CCG `ccg` in replicate `replicate` and add each tick's survey tally to `out[tick]`
/// (`out.len()` must be `months + 1`).
pub fn simulate_ccg(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    replicate: u32,
    ws: &mut Workspace,
    out: &mut [Tally],
) {
    debug_assert_eq!(out.len(), scenario.months as usize + 1);
    let p = &scenario.model;
    let mut rng = stream(
        scenario.seed,
        Purpose::Unit,
        replicate as u64,
        ccg.index as u64,
    );
    initialise(scenario, env, ccg, &mut rng, &mut ws.practices);
    ws.locality_sums.clear();
    ws.locality_sums.resize(ccg.localities as usize, [0.0; 3]);

    let survey = SurveyCuts::new(p);
    let month0 = month_terms(scenario, env, ccg, 0);
    let mut counts = Counts::default();
    for pr in ws.practices.iter() {
        measure(p, &survey, pr, &mut rng, &mut counts);
    }
    counts.add_to(&mut out[0], month0.control);

    let threshold = scenario.policy.underperformance_threshold;
    let escalation = scenario.policy.escalation.as_ref();
    let n = ws.practices.len();
    for tick in 1..=scenario.months {
        let month = month_terms(scenario, env, ccg, tick);
        let any_rate = month.plans.iter().any(|plan| plan.rate > 0.0);
        locality_means(&ws.practices, &mut ws.locality_sums);
        let review_now = escalation.filter(|e| tick % e.review_every == 0);
        let tally = &mut out[tick as usize];
        let mut counts = Counts::default();
        let mut spent = 0.0f64;
        // Budget rationing serves practices in order from a random start (ODD 7.8).
        let start = if n > 0 { rng.random_range(0..n) } else { 0 };
        let (tail, head) = ws.practices.split_at_mut(start);
        for pr in head.iter_mut().chain(tail.iter_mut()) {
            let underperforming = pr.quality < threshold;
            let mut mask = policy::mix_actions(&month.plans, any_rate, underperforming, &mut rng);
            if let Some(e) = review_now
                && let Some(a) = policy::review(e, &mut pr.ladder, underperforming)
            {
                // A ladder step whose action the CCG may not yet use is held but not delivered.
                mask |= a.bit() & month.allowed;
            }
            if mask != 0 {
                mask = pay_for(p, mask, &month, &mut spent, tally);
                apply_actions(p, mask, &month, pr);
            }
            let loc = ws.locality_sums[pr.locality as usize];
            step(p, &month, loc, pr, &mut rng);
            measure(p, &survey, pr, &mut rng, &mut counts);
        }
        counts.add_to(tally, month.control);
    }
}

/// Draw the initial practices of `ccg` (ODD 5).
fn initialise(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    rng: &mut ModelRng,
    practices: &mut Vec<Practice>,
) {
    let p = &scenario.model;
    let d = &p.dynamics;
    let n = ccg.practices as usize;
    let localities = ccg.localities as usize;
    practices.clear();

    // Roles: governing-body seats go to distinct random practices; each locality's lead is a
    // random other practice of that locality.
    let mut roles = vec![Role::None as u8; n];
    let seats = (ccg.governance.governing_body_seats as usize).min(n);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for s in 0..seats {
        let k = rng.random_range(s..n);
        order.swap(s, k);
        roles[order[s] as usize] = Role::GoverningBody as u8;
    }
    for l in 0..localities {
        // Practice i is in locality i * L / n (below), so locality l holds [ceil(l n / L), ceil((l+1) n / L)).
        let (lo, hi) = (
            (l * n).div_ceil(localities),
            ((l + 1) * n).div_ceil(localities),
        );
        let free: u32 = roles[lo..hi]
            .iter()
            .filter(|&&r| r == Role::None as u8)
            .count() as u32;
        if free == 0 {
            continue;
        }
        let mut pick = rng.random_range(0..free);
        for r in roles[lo..hi].iter_mut().filter(|r| **r == Role::None as u8) {
            if pick == 0 {
                *r = Role::OtherFormal as u8;
                break;
            }
            pick -= 1;
        }
    }

    let month = month_terms(scenario, env, ccg, 0);
    let centres = Action::ALL.map(|a| logit(p.acceptability.initial_support.get(a)));
    let q_centre = logit(p.quality.mean);
    for (i, &role) in roles.iter().enumerate() {
        let mut normal = || -> f32 { StandardNormal.sample(rng) };
        let engagement_disposition = d.disposition_sd * normal();
        let trust_disposition = d.disposition_sd * normal();
        let attitude_odds = centres.map(|c| exp(c + p.acceptability.support_sd * normal()));
        let own_quality = logistic(q_centre + p.quality.sd * normal());
        let mut pr = Practice {
            engagement: 0.0,
            trust: 0.0,
            influence: 0.0,
            quality: own_quality,
            own_quality,
            burden: standing_load(p, Role::from_index(role), month.level),
            sanction_memory: 0.0,
            engagement_disposition,
            trust_disposition,
            attitude_odds,
            locality: (i * localities / n.max(1)) as u16,
            role,
            ladder: LadderState::OFF,
        };
        // Start every state at its target given the others (eqs. D1-D3 without the dynamics).
        pr.trust = trust_target(p, &pr).clamp(0.0, 1.0);
        pr.engagement =
            (month.engagement_ccg + role_effect(p, &pr).0 + engagement_disposition).clamp(0.0, 1.0);
        pr.influence = influence_target(p, &month, &pr).clamp(0.0, 1.0);
        pr.engagement = engagement_target(p, &month, &pr).clamp(0.0, 1.0);
        practices.push(pr);
    }
}

/// The month's CCG-wide terms (ODD 7.4, 7.5, 7.7, 7.8).
fn month_terms(scenario: &Scenario, env: &Environment, ccg: &Ccg, tick: u32) -> Month {
    let p = &scenario.model;
    let t = tick as usize;
    let g = &ccg.governance;
    // Eq. T1: felt control is NHS England's control less what the CCG's autonomy absorbs.
    let control = if p.top_down.enabled {
        env.top_down[t] * (1.0 - g.autonomy)
    } else {
        0.0
    };
    let level = ccg.levels[t];
    let delegated = p.delegation.enabled && level == CommissioningLevel::Delegated;
    // Eq. Z1: voice per member falls with the log of the CCG's size.
    let size = if p.size.enabled {
        p.size.influence_per_log_size
            * (ccg.practices.max(1) as f32 / p.size.reference_practices).ln()
    } else {
        0.0
    };
    let lay = if delegated {
        p.delegation.lay_majority_influence
    } else {
        0.0
    };
    let influence_ccg =
        p.dynamics.influence_base - size - p.top_down.influence_effect * control - lay;
    let engagement_ccg = p.dynamics.engagement_base - p.top_down.engagement_effect * control;
    let coi = if delegated {
        1.0 + p.delegation.conflict_of_interest_penalty * (1.0 - g.conflict_management)
    } else {
        1.0
    };
    let framing_gain = if p.delegation.enabled && g.framing == Framing::PeerSupport {
        p.delegation.peer_support_framing
    } else {
        0.0
    };
    // Eq. B1: the month's support budget in pounds.
    let budget = if p.budget.enabled {
        g.support_budget * ccg.patients as f64 / 12.0 * env.budget[t] as f64
    } else {
        f64::INFINITY
    };
    Month {
        control,
        level,
        influence_ccg,
        engagement_ccg,
        coi,
        framing_gain,
        budget,
        plans: scenario.policy.plans_at(level),
        allowed: scenario.policy.allowed_at(level),
    }
}

/// Sum engagement and trust per locality, then turn the sums into means (ODD 7.3).
fn locality_means(practices: &[Practice], sums: &mut [[f32; 3]]) {
    sums.iter_mut().for_each(|s| *s = [0.0; 3]);
    for pr in practices {
        let s = &mut sums[pr.locality as usize];
        s[0] += pr.engagement;
        s[1] += pr.trust;
        s[2] += 1.0;
    }
    for s in sums.iter_mut() {
        if s[2] > 0.0 {
            s[0] /= s[2];
            s[1] /= s[2];
        }
    }
}

/// Eq. B2: deliver the actions in `mask` that the month's budget still covers; tally what is
/// delivered, what it costs and what is rationed.
#[inline]
fn pay_for(p: &Params, mut mask: u8, month: &Month, spent: &mut f64, tally: &mut Tally) -> u8 {
    for a in Action::ALL {
        if mask & a.bit() == 0 {
            continue;
        }
        let cost = p.budget.cost.get(a) as f64;
        if *spent + cost > month.budget {
            mask &= !a.bit();
            tally[ix::RATIONED] += 1.0;
        } else {
            *spent += cost;
            tally[ix::ACTIONS + a.index()] += 1.0;
            tally[ix::COST + a.index()] += cost;
        }
    }
    mask
}

/// Eqs. A2-A5, G1, Q1: the immediate response of a practice to the actions it receives. Legitimacy
/// is judged with the trust the practice had at the start of the month.
#[inline]
fn apply_actions(p: &Params, mask: u8, month: &Month, pr: &mut Practice) {
    let acc = &p.acceptability;
    let w = trust_factor(
        pr.trust,
        p.dynamics.trust_base,
        acc.trust_coupling,
        acc.enabled,
    );
    for a in Action::ALL {
        if mask & a.bit() == 0 {
            continue;
        }
        let k = a.index();
        if acc.enabled {
            let s = support(pr.attitude_odds[k], w);
            let (gain, coi) = if a.is_control() {
                (month.framing_gain, month.coi)
            } else {
                (0.0, 1.0)
            };
            let l = legitimacy(s, gain);
            let weight = acc.intensity.get(a);
            pr.trust += weight * trust_response(pr.trust, l, acc.trust_step, acc.asymmetry, coi);
            pr.engagement +=
                weight * engagement_response(pr.engagement, acc.engagement_effect.get(a));
            if a == Action::Sanctions {
                pr.sanction_memory += 1.0;
            }
        }
        if p.burden.enabled {
            pr.burden += p.burden.action_load.get(a);
        }
        if p.quality.enabled {
            pr.quality += quality_response(pr.quality, pr.engagement, p.quality.effect.get(a));
        }
        pr.trust = pr.trust.clamp(0.0, 1.0);
        pr.engagement = pr.engagement.clamp(0.0, 1.0);
        pr.quality = pr.quality.clamp(0.0, 1.0);
    }
}

/// Standing meeting and paperwork load of a practice (eq. G0).
#[inline]
fn standing_load(p: &Params, role: Role, level: CommissioningLevel) -> f32 {
    if p.burden.enabled {
        p.burden.level_load.get(level) + p.burden.role_load.get(role)
    } else {
        p.burden.reference_load
    }
}

/// Role effects on (engagement, trust, influence) targets (ODD 7.2, eq. R1).
#[inline]
fn role_effect(p: &Params, pr: &Practice) -> (f32, f32, f32) {
    if !p.roles.enabled {
        return (0.0, 0.0, 0.0);
    }
    let r = pr.role();
    (
        p.roles.engagement.get(r),
        p.roles.trust.get(r),
        p.roles.influence.get(r),
    )
}

/// Eq. D1: the trust target.
#[inline]
fn trust_target(p: &Params, pr: &Practice) -> f32 {
    let scar = if p.acceptability.enabled {
        sanction_scar(pr.sanction_memory, p.acceptability.sanction_memory_trust)
    } else {
        0.0
    };
    p.dynamics.trust_base + role_effect(p, pr).1 + pr.trust_disposition - scar
}

/// Eq. D2: the perceived-influence target.
#[inline]
fn influence_target(p: &Params, month: &Month, pr: &Practice) -> f32 {
    let d = &p.dynamics;
    month.influence_ccg
        + role_effect(p, pr).2
        + d.influence_from_trust * (pr.trust - d.trust_base)
        + d.influence_from_engagement * (pr.engagement - d.engagement_base)
}

/// Eq. D3: the engagement target.
#[inline]
fn engagement_target(p: &Params, month: &Month, pr: &Practice) -> f32 {
    let d = &p.dynamics;
    let burden = if p.burden.enabled {
        p.burden.engagement_effect * (pr.burden - p.burden.reference_load)
    } else {
        0.0
    };
    month.engagement_ccg
        + role_effect(p, pr).0
        + pr.engagement_disposition
        + d.engagement_from_trust * (pr.trust - d.trust_base)
        + d.engagement_from_influence * (pr.influence - d.influence_base)
        - burden
}

/// Eqs. D4-D7, G2, Q2: one month of partial adjustment toward the targets, peer influence within
/// the locality (`loc` = locality mean engagement and trust at the start of the month), and noise.
#[inline]
fn step(p: &Params, month: &Month, loc: [f32; 3], pr: &mut Practice, rng: &mut ModelRng) {
    let d = &p.dynamics;
    let peer = if p.peers.enabled { p.peers.rate } else { 0.0 };
    // Uniform shocks with standard deviation noise_sd: sqrt(3) * noise_sd * (2u - 1).
    const SQRT3: f32 = 1.732_050_8;
    let shock = d.noise_sd * SQRT3;
    let (u1, u2) = halves(rng);

    if p.acceptability.enabled {
        pr.sanction_memory *= 1.0 - p.acceptability.sanction_memory_decay;
    }
    if p.burden.enabled {
        pr.burden += p.burden.rate * (standing_load(p, pr.role(), month.level) - pr.burden);
    }
    let t_star = trust_target(p, pr);
    pr.trust +=
        d.trust_rate * (t_star - pr.trust) + peer * (loc[1] - pr.trust) + shock * (2.0 * u1 - 1.0);
    pr.trust = pr.trust.clamp(0.0, 1.0);
    let f_star = influence_target(p, month, pr);
    pr.influence = (pr.influence + d.influence_rate * (f_star - pr.influence)).clamp(0.0, 1.0);
    let e_star = engagement_target(p, month, pr);
    pr.engagement += d.engagement_rate * (e_star - pr.engagement)
        + peer * (loc[0] - pr.engagement)
        + shock * (2.0 * u2 - 1.0);
    pr.engagement = pr.engagement.clamp(0.0, 1.0);
    if p.quality.enabled {
        pr.quality =
            (pr.quality + p.quality.reversion * (pr.own_quality - pr.quality)).clamp(0.0, 1.0);
    }
}

/// Survey cut points, exponentiated once per run (eqs. S1, S3).
struct SurveyCuts {
    exp_engaged: f32,
    exp_highly: f32,
    exp_positive: f32,
    exp_negative: f32,
}

impl SurveyCuts {
    fn new(p: &Params) -> Self {
        SurveyCuts {
            exp_engaged: exp(p.survey.engaged_cut),
            exp_highly: exp(p.survey.highly_engaged_cut),
            exp_positive: exp(p.survey.positive_cut),
            exp_negative: exp(-p.survey.negative_cut),
        }
    }
}

/// One month's survey answers and state sums of one CCG, kept in registers while the practices
/// are visited and added to the month's [`Tally`] once.
#[derive(Debug, Default)]
struct Counts {
    practices: u32,
    governing_body: u32,
    formal: u32,
    no_role: u32,
    engaged: u32,
    highly: u32,
    influence: u32,
    influence_formal: u32,
    influence_no_role: u32,
    positive: u32,
    positive_governing_body: u32,
    positive_no_role: u32,
    neutral_no_role: u32,
    support: [u32; 4],
    burden_positive: u32,
    engagement: f64,
    engagement_sq: f64,
    trust: f64,
    trust_sq: f64,
    influence_sum: f64,
    quality: f64,
    burden: f64,
}

impl Counts {
    fn add_to(&self, t: &mut Tally, control: f32) {
        let n = self.practices as f64;
        t[ix::PRACTICES] += n;
        t[ix::GOVERNING_BODY] += self.governing_body as f64;
        t[ix::FORMAL_ROLE] += self.formal as f64;
        t[ix::NO_ROLE] += self.no_role as f64;
        t[ix::ENGAGED] += self.engaged as f64;
        t[ix::HIGHLY_ENGAGED] += self.highly as f64;
        t[ix::INFLUENCE] += self.influence as f64;
        t[ix::INFLUENCE_FORMAL] += self.influence_formal as f64;
        t[ix::INFLUENCE_NO_ROLE] += self.influence_no_role as f64;
        t[ix::POSITIVE_ALL] += self.positive as f64;
        t[ix::POSITIVE_GOVERNING_BODY] += self.positive_governing_body as f64;
        t[ix::POSITIVE_NO_ROLE] += self.positive_no_role as f64;
        t[ix::NEUTRAL_NO_ROLE] += self.neutral_no_role as f64;
        for k in 0..4 {
            t[ix::SUPPORT + k] += self.support[k] as f64;
        }
        t[ix::BURDEN_POSITIVE] += self.burden_positive as f64;
        t[ix::SUM_ENGAGEMENT] += self.engagement;
        t[ix::SUM_SQ_ENGAGEMENT] += self.engagement_sq;
        t[ix::SUM_TRUST] += self.trust;
        t[ix::SUM_SQ_TRUST] += self.trust_sq;
        t[ix::SUM_INFLUENCE] += self.influence_sum;
        t[ix::SUM_QUALITY] += self.quality;
        t[ix::SUM_BURDEN] += self.burden;
        // Every practice of a CCG feels the same control.
        t[ix::TOP_DOWN] += control as f64 * n;
    }
}

/// Eqs. S1-S5: draw the practice's survey answers from its state and count them.
#[inline]
fn measure(p: &Params, cuts: &SurveyCuts, pr: &Practice, rng: &mut ModelRng, c: &mut Counts) {
    let s = &p.survey;
    let d = &p.dynamics;
    let role = pr.role();
    let gb = role == Role::GoverningBody;
    let none = role == Role::None;
    let formal = !none;
    c.practices += 1;
    c.governing_body += gb as u32;
    c.formal += formal as u32;
    c.no_role += none as u32;

    let [u_engaged, u_influence, u_burden, _] = quarters(rng);
    let u_support = quarters(rng);
    let (u_view, _) = halves(rng);

    let e = pr.engagement;
    c.engaged += hit(u_engaged, answer_probability(e, cuts.exp_engaged)) as u32;
    c.highly += hit(u_engaged, answer_probability(e, cuts.exp_highly)) as u32;

    let can_influence = hit(u_influence, pr.influence);
    c.influence += can_influence as u32;
    c.influence_formal += (can_influence && formal) as u32;
    c.influence_no_role += (can_influence && none) as u32;

    let ownership = if p.roles.enabled {
        p.roles.view.get(role)
    } else {
        0.0
    };
    let view = s.view_base
        + ownership
        + s.view_trust * (pr.trust - d.trust_base)
        + s.view_influence * (pr.influence - d.influence_base)
        + s.view_engagement * (e - d.engagement_base);
    let answer = view_answer(u_view, exp(-view), cuts.exp_positive, cuts.exp_negative);
    let positive = answer == View::Positive;
    c.positive += positive as u32;
    c.positive_governing_body += (positive && gb) as u32;
    c.positive_no_role += (positive && none) as u32;
    c.neutral_no_role += (answer == View::Neutral && none) as u32;

    let acc = &p.acceptability;
    let w = trust_factor(pr.trust, d.trust_base, acc.trust_coupling, acc.enabled);
    for ((count, u), odds) in c.support.iter_mut().zip(u_support).zip(pr.attitude_odds) {
        *count += hit(u, support(odds, w)) as u32;
    }

    let b = &p.burden;
    let burden_positive =
        (b.positive_base - b.positive_slope * (pr.burden - b.reference_load)).clamp(0.0, 1.0);
    c.burden_positive += hit(u_burden, burden_positive) as u32;

    c.engagement += e as f64;
    c.engagement_sq += (e * e) as f64;
    c.trust += pr.trust as f64;
    c.trust_sq += (pr.trust * pr.trust) as f64;
    c.influence_sum += pr.influence as f64;
    c.quality += pr.quality as f64;
    c.burden += pr.burden as f64;
}

/// A zeroed tally per tick of `scenario`.
pub fn empty_tallies(scenario: &Scenario) -> Vec<Tally> {
    vec![[0.0; TALLY_LEN]; scenario.months as usize + 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::Population;
    use std::path::Path;

    fn small(extra: &str) -> Scenario {
        let text =
            format!("months = 24\nreplicates = 1\n[[ccgs]]\nid = \"a\"\npractices = 40\n{extra}");
        Scenario::parse(&text, Path::new("t.toml")).unwrap()
    }

    fn run(s: &Scenario, replicate: u32) -> Vec<Tally> {
        let pop = Population::build(s);
        let env = Environment::new(s);
        let mut out = empty_tallies(s);
        simulate_ccg(
            s,
            &env,
            &pop.ccgs[0],
            replicate,
            &mut Workspace::default(),
            &mut out,
        );
        out
    }

    #[test]
    fn practices_are_conserved_and_shares_bounded() {
        let s = small("[policy]\nsanctions = { rate = 0.3 }\ntargets = { rate = 0.3 }\n");
        for t in run(&s, 0) {
            assert_eq!(t[ix::PRACTICES], 40.0);
            assert_eq!(
                t[ix::GOVERNING_BODY]
                    + t[ix::NO_ROLE]
                    + (t[ix::FORMAL_ROLE] - t[ix::GOVERNING_BODY]),
                40.0
            );
            for i in [
                ix::ENGAGED,
                ix::INFLUENCE,
                ix::POSITIVE_ALL,
                ix::SUM_TRUST,
                ix::SUM_QUALITY,
            ] {
                assert!((0.0..=40.0).contains(&t[i]));
            }
            assert!(t[ix::HIGHLY_ENGAGED] <= t[ix::ENGAGED]);
        }
    }

    #[test]
    fn same_unit_same_result_other_replicate_other_result() {
        let s = small("");
        assert_eq!(run(&s, 3), run(&s, 3));
        assert_ne!(run(&s, 3), run(&s, 4));
    }

    #[test]
    fn a_zero_budget_rations_every_action() {
        let s = small(
            "[policy]\ntraining = { rate = 1.0 }\ndata_review = { rate = 0.0 }\n[ccg_defaults]\nsupport_budget = 0.0\n",
        );
        let out = run(&s, 0);
        assert_eq!(out[5][ix::ACTIONS], 0.0);
        assert_eq!(out[5][ix::RATIONED], 40.0);
    }

    #[test]
    fn governing_body_seats_and_locality_leads_are_assigned() {
        let s = small("");
        let t = &run(&s, 0)[0];
        assert_eq!(t[ix::GOVERNING_BODY], 6.0);
        // 40 practices in 5 localities: one lead each.
        assert_eq!(t[ix::FORMAL_ROLE], 11.0);
    }
}

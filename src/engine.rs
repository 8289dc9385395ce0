//! The engine: runs one CCG for one replicate, month by month, on its own RNG stream, and tallies
//! what a survey of its members would find each month. Equation labels refer to `docs/ODD.md`.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::metrics::{TALLY_LEN, Tally, tally as ix};
use crate::model::params::Params;
use crate::model::policy::{self, ActionPlan, LadderState};
use crate::model::practice::Practice;
use crate::model::submodels::{
    View, answer_probability, engagement_response, legitimacy, logistic, logistic_noise, logit,
    quality_response, sanction_scar, support, trust_response, view_answer,
};
use crate::model::{Action, CommissioningLevel, Framing, Role};
use crate::population::Ccg;
use crate::rng::{ModelRng, Purpose, stream};
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
    let tally = &mut out[0];
    for pr in ws.practices.iter() {
        measure(p, &survey, pr, month0.control, &mut rng, tally);
    }

    let threshold = scenario.policy.underperformance_threshold;
    let escalation = scenario.policy.escalation.as_ref();
    let n = ws.practices.len();
    for tick in 1..=scenario.months {
        let month = month_terms(scenario, env, ccg, tick);
        locality_means(&ws.practices, &mut ws.locality_sums);
        let review_now = escalation.filter(|e| tick % e.review_every == 0);
        let tally = &mut out[tick as usize];
        let mut spent = 0.0f64;
        // Budget rationing serves practices in order from a random start (ODD 7.8).
        let start = if n > 0 { rng.random_range(0..n) } else { 0 };
        for j in 0..n {
            let i = if start + j >= n {
                start + j - n
            } else {
                start + j
            };
            let pr = &mut ws.practices[i];
            let underperforming = pr.quality < threshold;
            let mut mask = policy::mix_actions(&month.plans, underperforming, &mut rng);
            if let Some(e) = review_now
                && let Some(a) = policy::review(e, &mut pr.ladder, underperforming)
            {
                mask |= a.bit();
            }
            if mask != 0 {
                mask = pay_for(p, mask, &month, &mut spent, tally);
                apply_actions(p, mask, &month, pr);
            }
            let loc = ws.locality_sums[pr.locality as usize];
            step(p, &month, ccg, loc, pr, &mut rng);
            measure(p, &survey, pr, month.control, &mut rng, tally);
        }
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
        let (lo, hi) = (l * n / localities, (l + 1) * n / localities);
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
        let attitude = centres.map(|c| c + p.acceptability.support_sd * normal());
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
            attitude,
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

/// Eqs. A2-A5, G1, Q1: the immediate response of a practice to the actions it receives.
#[inline]
fn apply_actions(p: &Params, mask: u8, month: &Month, pr: &mut Practice) {
    let acc = &p.acceptability;
    for a in Action::ALL {
        if mask & a.bit() == 0 {
            continue;
        }
        let k = a.index();
        if acc.enabled {
            let s = support(pr.attitude[k], pr.trust, acc, &p.dynamics);
            let (gain, coi) = if a.is_control() {
                (month.framing_gain, month.coi)
            } else {
                (0.0, 1.0)
            };
            let l = legitimacy(s, gain);
            let w = acc.intensity.get(a);
            pr.trust += w * trust_response(pr.trust, l, acc.trust_step, acc.asymmetry, coi);
            pr.engagement += w * engagement_response(pr.engagement, acc.engagement_effect.get(a));
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
fn step(
    p: &Params,
    month: &Month,
    ccg: &Ccg,
    loc: [f32; 3],
    pr: &mut Practice,
    rng: &mut ModelRng,
) {
    let _ = ccg;
    let d = &p.dynamics;
    let peer = if p.peers.enabled { p.peers.rate } else { 0.0 };
    const SQRT3: f32 = 1.732_050_8;
    let shock = d.noise_sd * SQRT3;
    let (u1, u2): (f32, f32) = (rng.random(), rng.random());

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

/// Survey cut points, exponentiated once per run (eq. S1).
struct SurveyCuts {
    exp_engaged: f32,
    exp_highly: f32,
}

impl SurveyCuts {
    fn new(p: &Params) -> Self {
        SurveyCuts {
            exp_engaged: p.survey.engaged_cut.exp(),
            exp_highly: p.survey.highly_engaged_cut.exp(),
        }
    }
}

/// Eqs. S1-S5: draw the practice's survey answers from its state and add them to the tally.
#[inline]
fn measure(
    p: &Params,
    cuts: &SurveyCuts,
    pr: &Practice,
    control: f32,
    rng: &mut ModelRng,
    t: &mut Tally,
) {
    let s = &p.survey;
    let d = &p.dynamics;
    let role = pr.role();
    t[ix::PRACTICES] += 1.0;
    let (formal, none) = match role {
        Role::GoverningBody => {
            t[ix::GOVERNING_BODY] += 1.0;
            (true, false)
        }
        Role::OtherFormal => (true, false),
        Role::None => (false, true),
    };
    t[ix::FORMAL_ROLE] += formal as u8 as f64;
    t[ix::NO_ROLE] += none as u8 as f64;

    let u: f32 = rng.random();
    t[ix::ENGAGED] += (u < answer_probability(pr.engagement, cuts.exp_engaged)) as u8 as f64;
    t[ix::HIGHLY_ENGAGED] += (u < answer_probability(pr.engagement, cuts.exp_highly)) as u8 as f64;

    let can_influence = rng.random::<f32>() < pr.influence;
    t[ix::INFLUENCE] += can_influence as u8 as f64;
    t[ix::INFLUENCE_FORMAL] += (can_influence && formal) as u8 as f64;
    t[ix::INFLUENCE_NO_ROLE] += (can_influence && none) as u8 as f64;

    let ownership = if p.roles.enabled {
        p.roles.view.get(role)
    } else {
        0.0
    };
    let view = s.view_base
        + ownership
        + s.view_trust * (pr.trust - d.trust_base)
        + s.view_influence * (pr.influence - d.influence_base)
        + s.view_engagement * (pr.engagement - d.engagement_base);
    let answer = view_answer(
        view,
        logistic_noise(rng.random()),
        s.positive_cut,
        s.negative_cut,
    );
    let positive = answer == View::Positive;
    t[ix::POSITIVE_ALL] += positive as u8 as f64;
    t[ix::POSITIVE_GOVERNING_BODY] += (positive && role == Role::GoverningBody) as u8 as f64;
    t[ix::POSITIVE_NO_ROLE] += (positive && none) as u8 as f64;
    t[ix::NEUTRAL_NO_ROLE] += (answer == View::Neutral && none) as u8 as f64;

    for a in Action::ALL {
        let yes =
            rng.random::<f32>() < support(pr.attitude[a.index()], pr.trust, &p.acceptability, d);
        t[ix::SUPPORT + a.index()] += yes as u8 as f64;
    }

    let b = &p.burden;
    let burden_positive =
        (b.positive_base - b.positive_slope * (pr.burden - b.reference_load)).clamp(0.0, 1.0);
    t[ix::BURDEN_POSITIVE] += (rng.random::<f32>() < burden_positive) as u8 as f64;

    t[ix::SUM_ENGAGEMENT] += pr.engagement as f64;
    t[ix::SUM_TRUST] += pr.trust as f64;
    t[ix::SUM_SQ_ENGAGEMENT] += (pr.engagement * pr.engagement) as f64;
    t[ix::SUM_SQ_TRUST] += (pr.trust * pr.trust) as f64;
    t[ix::SUM_INFLUENCE] += pr.influence as f64;
    t[ix::SUM_QUALITY] += pr.quality as f64;
    t[ix::SUM_BURDEN] += pr.burden as f64;
    t[ix::TOP_DOWN] += control as f64;
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

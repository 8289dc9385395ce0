//! Initialisation (ODD 5): each CCG's practices, roles, localities and initial states.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::environment::Environment;
use super::month::{Month, month_terms};
use crate::model::params::{Params, PerRole};
use crate::model::policy::LadderState;
use crate::model::practice::Practices;
use crate::model::submodels::{exp, logistic, logit};
use crate::model::{Action, Role};
use crate::population::Ccg;
use crate::rng::ModelRng;
use crate::scenario::Scenario;

/// Each practice's lasting dispositions dE and dT (ODD 2.1), which initialisation otherwise
/// folds into the anchors.
#[derive(Debug, Default, Clone)]
pub(super) struct Dispositions {
    pub(super) engagement: Vec<f32>,
    pub(super) trust: Vec<f32>,
}

/// The role terms of the anchors (Eq. R1, and G0's role load), indexed by role (`Role as u8`),
/// with a switched-off mechanism's terms 0.
pub(super) struct RoleTerms {
    pub(super) engagement: [f32; 3],
    pub(super) trust: [f32; 3],
    pub(super) influence: [f32; 3],
    pub(super) ownership: [f32; 3],
    pub(super) load: [f32; 3],
}

impl RoleTerms {
    pub(super) fn new(p: &Params) -> RoleTerms {
        let by_role = |on: bool, table: &PerRole| {
            [Role::GoverningBody, Role::OtherFormal, Role::None]
                .map(|r| if on { table.get(r) } else { 0.0 })
        };
        RoleTerms {
            engagement: by_role(p.roles.enabled, &p.roles.engagement),
            trust: by_role(p.roles.enabled, &p.roles.trust),
            influence: by_role(p.roles.enabled, &p.roles.influence),
            ownership: by_role(p.roles.enabled, &p.roles.view),
            load: by_role(p.burden.enabled, &p.burden.role_load),
        }
    }
}

/// Draw the initial practices of `ccg` (ODD 5) and the bounds of its localities. With
/// `dispositions`, also keep each practice's engagement and trust dispositions dE, dT (ODD 5.1,
/// step 5), exactly as they enter its anchors.
pub(super) fn initialise(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    rng: &mut ModelRng,
    pr: &mut Practices,
    bounds: &mut Vec<usize>,
    dispositions: Option<&mut Dispositions>,
) {
    let n = ccg.practices as usize;
    let localities = (ccg.localities as usize).clamp(1, n.max(1));
    pr.clear();

    // Localities are consecutive blocks of practices of near-equal size.
    bounds.clear();
    bounds.extend((0..=localities).map(|l| (l * n).div_ceil(localities)));

    // Roles: governing-body seats go to distinct random practices; each locality's lead is a
    // random other practice of that locality.
    pr.role.resize(n, Role::None as u8);
    let seats = (ccg.governance.governing_body_seats as usize).min(n);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for s in 0..seats {
        let k = rng.random_range(s..n);
        order.swap(s, k);
        pr.role[order[s] as usize] = Role::GoverningBody as u8;
    }
    for l in 0..localities {
        let block = &mut pr.role[bounds[l]..bounds[l + 1]];
        let free = block.iter().filter(|&&r| r == Role::None as u8).count() as u32;
        if free == 0 {
            continue;
        }
        let pick = rng.random_range(0..free) as usize;
        if let Some(r) = block
            .iter_mut()
            .filter(|r| **r == Role::None as u8)
            .nth(pick)
        {
            *r = Role::OtherFormal as u8;
        }
    }

    // The seven standard normals of each practice, in practice order, held for now in the
    // columns they end up shaping: engagement and trust dispositions, the four attitudes, own
    // quality.
    let [o0, o1, o2, o3] = &mut pr.attitude_odds;
    let normals = [
        &mut pr.engagement_anchor,
        &mut pr.trust_anchor,
        o0,
        o1,
        o2,
        o3,
        &mut pr.own_quality,
    ];
    for column in normals {
        column.resize(n, 0.0);
    }
    for i in 0..n {
        pr.engagement_anchor[i] = StandardNormal.sample(rng);
        pr.trust_anchor[i] = StandardNormal.sample(rng);
        for k in 0..4 {
            pr.attitude_odds[k][i] = StandardNormal.sample(rng);
        }
        pr.own_quality[i] = StandardNormal.sample(rng);
    }
    if let Some(d) = dispositions {
        // The products `initial_states` forms, so the same bits.
        let sd = scenario.model.dynamics.disposition_sd;
        d.engagement.clear();
        d.engagement
            .extend(pr.engagement_anchor.iter().map(|&z| sd * z));
        d.trust.clear();
        d.trust.extend(pr.trust_anchor.iter().map(|&z| sd * z));
    }
    initial_states(
        scenario,
        &month_terms(
            scenario,
            env,
            ccg,
            env.changes_for(&ccg.id),
            0,
            ccg.levels[0],
        ),
        pr,
        n,
    );
}

/// The initial states of `n` practices from their roles and their seven normals (ODD 5), in a
/// loop without branches that the compiler vectorises.
pub(super) fn initial_states(scenario: &Scenario, month: &Month, pr: &mut Practices, n: usize) {
    let p = &scenario.model;
    let d = &p.dynamics;
    let centres = Action::ALL.map(|a| logit(p.acceptability.initial_support.get(a)));
    let q_centre = logit(p.quality.mean);
    let RoleTerms {
        engagement: role_e,
        trust: role_t,
        influence: role_f,
        ownership,
        load: role_load,
    } = RoleTerms::new(p);
    let level_load = p.burden.level_load.get(month.level);
    for c in [
        &mut pr.quality,
        &mut pr.burden,
        &mut pr.sanction_memory,
        &mut pr.influence_anchor,
        &mut pr.load_anchor,
        &mut pr.view_anchor,
        &mut pr.trust,
        &mut pr.influence,
        &mut pr.engagement,
    ] {
        c.resize(n, 0.0);
    }
    pr.ladder_step.resize(n, LadderState::OFF.step);
    pr.ladder_streak.resize(n, LadderState::OFF.streak);
    for i in 0..n {
        // Role index 0, 1 or 2 (governing body, other formal role, none), picked without
        // branches.
        let r = pr.role[i];
        let pick = |t: [f32; 3]| {
            if r == 0 {
                t[0]
            } else if r == 1 {
                t[1]
            } else {
                t[2]
            }
        };
        let (role_e, role_t, role_f) = (pick(role_e), pick(role_t), pick(role_f));
        let engagement_disposition = d.disposition_sd * pr.engagement_anchor[i];
        let trust_disposition = d.disposition_sd * pr.trust_anchor[i];
        for (centre, odds) in centres.iter().zip(&mut pr.attitude_odds) {
            odds[i] = exp(centre + p.acceptability.support_sd * odds[i]);
        }
        let own_quality = logistic(q_centre + p.quality.sd * pr.own_quality[i]);
        let load_anchor = pick(role_load);
        let burden = if p.burden.enabled {
            level_load + load_anchor
        } else {
            p.burden.reference_load
        };
        pr.own_quality[i] = own_quality;
        pr.quality[i] = own_quality;
        pr.burden[i] = burden;
        pr.trust_anchor[i] = d.trust_base + role_t + trust_disposition;
        pr.engagement_anchor[i] = role_e + engagement_disposition;
        pr.influence_anchor[i] = role_f;
        pr.load_anchor[i] = load_anchor;
        pr.view_anchor[i] = p.survey.view_base + pick(ownership);

        // Start every state at its target given the others (eqs. D1-D3 without the dynamics).
        let burden_term = if p.burden.enabled {
            p.burden.engagement_effect * (burden - p.burden.reference_load)
        } else {
            0.0
        };
        let trust = (d.trust_base + role_t + trust_disposition).clamp(0.0, 1.0);
        let provisional = (month.engagement_ccg + role_e + engagement_disposition).clamp(0.0, 1.0);
        let influence = (month.influence_ccg
            + role_f
            + d.influence_from_trust * (trust - d.trust_base)
            + d.influence_from_engagement * (provisional - d.engagement_base))
            .clamp(0.0, 1.0);
        let engagement = (month.engagement_ccg
            + role_e
            + engagement_disposition
            + d.engagement_from_trust * (trust - d.trust_base)
            + d.engagement_from_influence * (influence - d.influence_base)
            - burden_term)
            .clamp(0.0, 1.0);
        pr.trust[i] = trust;
        pr.influence[i] = influence;
        pr.engagement[i] = engagement;
    }
    // The trust factors are written by the survey of tick 0.
    pr.pad(n);
}

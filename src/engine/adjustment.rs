//! Phase 2 of a month (ODD 7.0, 7.1, 7.3, 7.6, 7.9): locality means for peer influence, the
//! constants of the adjustment and survey phases, and the monthly partial adjustment of every
//! state.

use super::month::Month;
use super::workspace::{Draws, Peers};
use crate::model::params::Params;
use crate::model::practice::Practices;
use crate::model::submodels::{exp, sanction_scar};
use crate::simd::Simd;

/// Each practice's locality mean engagement and trust at the start of the month (ODD 7.3),
/// summed in double precision so large localities keep their accuracy.
pub(super) fn locality_means(pr: &Practices, bounds: &[usize], peers: &mut Peers) {
    // Padding entries keep whatever finite value they hold; nothing reads them.
    peers.engagement.resize(pr.padded_len(), 0.0);
    peers.trust.resize(pr.padded_len(), 0.0);
    for w in bounds.windows(2) {
        let block = w[0]..w[1];
        let len = block.len().max(1) as f64;
        // Both sums in one pass (each in practice order), so their additions overlap.
        let (mut e, mut t) = (0.0f64, 0.0f64);
        for (&x, &y) in pr.engagement[block.clone()]
            .iter()
            .zip(&pr.trust[block.clone()])
        {
            e += x as f64;
            t += y as f64;
        }
        peers.engagement[block.clone()].fill((e / len) as f32);
        peers.trust[block].fill((t / len) as f32);
    }
}

/// Parameters of the adjustment and survey phases, with switched-off mechanisms folded in as
/// zero effects so the loops need no branches.
pub(super) struct Constants {
    pub(super) trust_base: f32,
    pub(super) engagement_base: f32,
    pub(super) influence_base: f32,
    pub(super) trust_rate: f32,
    pub(super) engagement_rate: f32,
    pub(super) influence_rate: f32,
    pub(super) engagement_from_trust: f32,
    pub(super) engagement_from_influence: f32,
    pub(super) influence_from_trust: f32,
    pub(super) influence_from_engagement: f32,
    /// sqrt(3) * noise_sd: a uniform shock on [-1, 1) times this has sd noise_sd.
    pub(super) shock: f32,
    pub(super) peer_rate: f32,
    pub(super) memory_keep: f32,
    pub(super) scar: f32,
    pub(super) burden_rate: f32,
    pub(super) burden_engagement: f32,
    pub(super) reference_load: f32,
    pub(super) quality_rate: f32,
    pub(super) trust_coupling: f32,
    pub(super) exp_engaged: f32,
    pub(super) exp_highly: f32,
    pub(super) exp_positive: f32,
    pub(super) exp_negative: f32,
    pub(super) view_trust: f32,
    pub(super) view_influence: f32,
    pub(super) view_engagement: f32,
    pub(super) burden_positive_base: f32,
    pub(super) burden_positive_slope: f32,
    pub(super) relationships_weight: f32,
    pub(super) exp_relationships: f32,
    pub(super) exp_legitimate_prescribing: f32,
    pub(super) exp_legitimate_relationships: f32,
    /// Report expected answers instead of sampled ones (ODD 7.10).
    pub(super) expected_answers: bool,
}

impl Constants {
    pub(super) fn new(p: &Params) -> Constants {
        let d = &p.dynamics;
        let acc = &p.acceptability;
        let s = &p.survey;
        Constants {
            trust_base: d.trust_base,
            engagement_base: d.engagement_base,
            influence_base: d.influence_base,
            trust_rate: d.trust_rate,
            engagement_rate: d.engagement_rate,
            influence_rate: d.influence_rate,
            engagement_from_trust: d.engagement_from_trust,
            engagement_from_influence: d.engagement_from_influence,
            influence_from_trust: d.influence_from_trust,
            influence_from_engagement: d.influence_from_engagement,
            shock: 1.732_050_8 * d.noise_sd,
            peer_rate: if p.peers.enabled { p.peers.rate } else { 0.0 },
            memory_keep: if acc.enabled {
                1.0 - acc.sanction_memory_decay
            } else {
                1.0
            },
            scar: if acc.enabled {
                acc.sanction_memory_trust
            } else {
                0.0
            },
            burden_rate: if p.burden.enabled { p.burden.rate } else { 0.0 },
            burden_engagement: if p.burden.enabled {
                p.burden.engagement_effect
            } else {
                0.0
            },
            reference_load: p.burden.reference_load,
            quality_rate: if p.quality.enabled {
                p.quality.reversion
            } else {
                0.0
            },
            trust_coupling: if acc.enabled { acc.trust_coupling } else { 0.0 },
            exp_engaged: exp(s.engaged_cut),
            exp_highly: exp(s.highly_engaged_cut),
            exp_positive: exp(s.positive_cut),
            exp_negative: exp(-s.negative_cut),
            view_trust: s.view_trust,
            view_influence: s.view_influence,
            view_engagement: s.view_engagement,
            burden_positive_base: p.burden.positive_base,
            burden_positive_slope: p.burden.positive_slope,
            relationships_weight: s.relationships_engagement_weight,
            exp_relationships: exp(s.relationships_cut),
            exp_legitimate_prescribing: exp(s.legitimate_prescribing_cut),
            exp_legitimate_relationships: exp(s.legitimate_relationships_cut),
            expected_answers: s.answers == crate::model::params::Answers::Expected,
        }
    }
}

/// The month's CCG-wide terms of the adjustment phase.
pub(super) struct MonthConstants {
    pub(super) influence_ccg: f32,
    pub(super) engagement_ccg: f32,
    pub(super) level_load: f32,
    /// The CCG-wide fall in every member's trust target this month (ODD 7.14, eq. X3; 0 when
    /// off, and subtracting 0 leaves every value, the sign of a zero included, as it was).
    pub(super) trust_fall: f32,
}

impl MonthConstants {
    pub(super) fn new(p: &Params, month: &Month) -> MonthConstants {
        MonthConstants {
            influence_ccg: month.influence_ccg,
            engagement_ccg: month.engagement_ccg,
            level_load: if p.burden.enabled {
                p.burden.level_load.get(month.level)
            } else {
                0.0
            },
            trust_fall: 0.0,
        }
    }
}

multiversioned! {
    /// [`adjust`] for the process's [`Simd`] level.
    pub(super) fn adjust_simd(
        c: &Constants,
        m: &MonthConstants,
        pr: &mut Practices,
        draws: &Draws,
        peers: &Peers,
    ) = adjust;
}

/// Eqs. A5, G2, D4-D7, Q2: one month of partial adjustment toward the targets, peer influence
/// toward the practice's locality means, and noise. Branch-free straight-line arithmetic over
/// columns cut to one length, so the compiler vectorises it.
#[inline(always)]
pub(super) fn adjust(
    c: &Constants,
    m: &MonthConstants,
    pr: &mut Practices,
    draws: &Draws,
    peers: &Peers,
) {
    // Whole blocks: the padding entries are updated too, harmlessly.
    let len = pr.padded_len();
    adjust_loop(
        c,
        m,
        &mut pr.sanction_memory[..len],
        &mut pr.burden[..len],
        &mut pr.trust[..len],
        &mut pr.influence[..len],
        &mut pr.engagement[..len],
        &mut pr.quality[..len],
        &pr.own_quality[..len],
        &pr.trust_anchor[..len],
        &pr.engagement_anchor[..len],
        &pr.influence_anchor[..len],
        &pr.load_anchor[..len],
        &draws.shock_trust[..len],
        &draws.shock_engagement[..len],
        &peers.engagement[..len],
        &peers.trust[..len],
    );
}

/// The loop of [`adjust`], over columns passed one by one so the compiler knows they do not
/// overlap (and needs no run-time checks before vectorising).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn adjust_loop(
    c: &Constants,
    m: &MonthConstants,
    memory: &mut [f32],
    burden: &mut [f32],
    trust: &mut [f32],
    influence: &mut [f32],
    engagement: &mut [f32],
    quality: &mut [f32],
    own_quality: &[f32],
    trust_anchor: &[f32],
    engagement_anchor: &[f32],
    influence_anchor: &[f32],
    load_anchor: &[f32],
    shock_t: &[f32],
    shock_e: &[f32],
    mean_e: &[f32],
    mean_t: &[f32],
) {
    let len = memory.len();
    let (burden, trust, influence, engagement, quality) = (
        &mut burden[..len],
        &mut trust[..len],
        &mut influence[..len],
        &mut engagement[..len],
        &mut quality[..len],
    );
    let (own_quality, trust_anchor, engagement_anchor, influence_anchor, load_anchor) = (
        &own_quality[..len],
        &trust_anchor[..len],
        &engagement_anchor[..len],
        &influence_anchor[..len],
        &load_anchor[..len],
    );
    let (shock_t, shock_e, mean_e, mean_t) = (
        &shock_t[..len],
        &shock_e[..len],
        &mean_e[..len],
        &mean_t[..len],
    );
    for i in 0..len {
        // A5: sanctions are slowly forgotten; G2: load relaxes to the standing load.
        let mem = memory[i] * c.memory_keep;
        memory[i] = mem;
        let b = burden[i] + c.burden_rate * (m.level_load + load_anchor[i] - burden[i]);
        burden[i] = b;
        // D1, D4: trust toward its target (lowered by the sanction scar and by support short of
        // what members expect, X3), toward the locality.
        let t_star = trust_anchor[i] - sanction_scar(mem, c.scar) - m.trust_fall;
        let t0 = trust[i];
        let t = (t0
            + c.trust_rate * (t_star - t0)
            + c.peer_rate * (mean_t[i] - t0)
            + c.shock * shock_t[i])
            .clamp(0.0, 1.0);
        trust[i] = t;
        // D2, D5: influence toward its target.
        let e0 = engagement[i];
        let f0 = influence[i];
        let f_star = m.influence_ccg
            + influence_anchor[i]
            + c.influence_from_trust * (t - c.trust_base)
            + c.influence_from_engagement * (e0 - c.engagement_base);
        let f = (f0 + c.influence_rate * (f_star - f0)).clamp(0.0, 1.0);
        influence[i] = f;
        // D3, D6: engagement toward its target, toward the locality.
        let e_star = m.engagement_ccg
            + engagement_anchor[i]
            + c.engagement_from_trust * (t - c.trust_base)
            + c.engagement_from_influence * (f - c.influence_base)
            - c.burden_engagement * (b - c.reference_load);
        engagement[i] = (e0
            + c.engagement_rate * (e_star - e0)
            + c.peer_rate * (mean_e[i] - e0)
            + c.shock * shock_e[i])
            .clamp(0.0, 1.0);
        // Q2: quality drifts back to the practice's own level.
        quality[i] = (quality[i] + c.quality_rate * (own_quality[i] - quality[i])).clamp(0.0, 1.0);
    }
}

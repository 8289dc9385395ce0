//! Each practice's immediate response to the actions it receives (ODD 7.1, 7.6, 7.7, 7.9; eqs.
//! A2-A5, G1, Q1): one by one, or for every practice in one vectorised pass.

use super::month::Month;
use crate::model::Action;
use crate::model::params::Params;
use crate::model::practice::Practices;
use crate::model::submodels::{
    engagement_response, legitimacy, quality_response, support, trust_response,
};
use crate::simd::Simd;

/// The month's constants of the immediate responses to actions (eqs. A2-A5, G1, Q1), one per
/// action, with switched-off mechanisms folded in as zero effects.
pub(super) struct Responses {
    /// `intensity` (0 with acceptability off).
    pub(super) weight: [f32; 4],
    pub(super) engagement_effect: [f32; 4],
    /// Framing gain and conflict-of-interest multiplier: the month's for control actions, 0 and 1
    /// for the others.
    pub(super) gain: [f32; 4],
    pub(super) coi: [f32; 4],
    /// Added to sanction memory: 1 for sanctions (0 with acceptability off).
    pub(super) memory: [f32; 4],
    /// `action_load` (0 with burden off).
    pub(super) load: [f32; 4],
    /// Quality effect (0 with quality off).
    pub(super) quality_effect: [f32; 4],
    pub(super) trust_step: f32,
    pub(super) asymmetry: f32,
}

impl Responses {
    pub(super) fn new(p: &Params, month: &Month) -> Responses {
        let acc = &p.acceptability;
        let on = |enabled: bool, x: f32| if enabled { x } else { 0.0 };
        Responses {
            weight: Action::ALL.map(|a| on(acc.enabled, acc.intensity.get(a))),
            engagement_effect: Action::ALL.map(|a| acc.engagement_effect.get(a)),
            gain: Action::ALL.map(|a| on(a.is_control(), month.framing_gain)),
            coi: Action::ALL.map(|a| if a.is_control() { month.coi } else { 1.0 }),
            memory: Action::ALL.map(|a| on(acc.enabled && a == Action::Sanctions, 1.0)),
            load: Action::ALL.map(|a| on(p.burden.enabled, p.burden.action_load.get(a))),
            quality_effect: Action::ALL.map(|a| on(p.quality.enabled, p.quality.effect.get(a))),
            trust_step: acc.trust_step,
            asymmetry: acc.asymmetry,
        }
    }
}

/// The states an action changes.
#[derive(Clone, Copy)]
pub(super) struct Responder {
    pub(super) trust: f32,
    pub(super) engagement: f32,
    pub(super) quality: f32,
    pub(super) memory: f32,
    pub(super) burden: f32,
}

/// Eqs. A2-A5, G1, Q1: the response of one practice to the actions in `mask`, in the order
/// training, data_review, targets, sanctions. `w` is the trust factor of A1 at the trust the
/// practice had at the start of the month (legitimacy is judged with it). Everything is computed
/// for every action and kept only for those in `mask`, so the code has no branches.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `k` indexes six per-action arrays.
pub(super) fn respond(
    r: &Responses,
    mask: u8,
    w: f32,
    odds: [f32; 4],
    mut x: Responder,
) -> Responder {
    for k in 0..4 {
        let on = mask & (1 << k) != 0;
        let l = legitimacy(support(odds[k], w), r.gain[k]);
        let trust =
            x.trust + r.weight[k] * trust_response(x.trust, l, r.trust_step, r.asymmetry, r.coi[k]);
        let engagement =
            x.engagement + r.weight[k] * engagement_response(x.engagement, r.engagement_effect[k]);
        let quality = x.quality + quality_response(x.quality, engagement, r.quality_effect[k]);
        let next = Responder {
            trust: trust.clamp(0.0, 1.0),
            engagement: engagement.clamp(0.0, 1.0),
            quality: quality.clamp(0.0, 1.0),
            memory: x.memory + r.memory[k],
            burden: x.burden + r.load[k],
        };
        x = if on { next } else { x };
    }
    x
}

/// [`respond`] for practice `i`.
#[inline]
pub(super) fn apply_actions(r: &Responses, mask: u8, pr: &mut Practices, i: usize) {
    let odds = std::array::from_fn(|k| pr.attitude_odds[k][i]);
    let x = Responder {
        trust: pr.trust[i],
        engagement: pr.engagement[i],
        quality: pr.quality[i],
        memory: pr.sanction_memory[i],
        burden: pr.burden[i],
    };
    let y = respond(r, mask, pr.trust_factor[i], odds, x);
    pr.trust[i] = y.trust;
    pr.engagement[i] = y.engagement;
    pr.quality[i] = y.quality;
    pr.sanction_memory[i] = y.memory;
    pr.burden[i] = y.burden;
}

multiversioned! {
    /// [`respond`] for every practice (`actions` covers the padded columns), compiled for each
    /// [`Simd`] level like the other vector phases.
    pub(super) fn respond_all(r: &Responses, actions: &[u8], pr: &mut Practices) = respond_all_body;
}

#[inline(always)]
pub(super) fn respond_all_body(r: &Responses, actions: &[u8], pr: &mut Practices) {
    let len = pr.padded_len();
    let [o0, o1, o2, o3] = &pr.attitude_odds;
    respond_all_loop(
        r,
        &mut pr.trust[..len],
        &mut pr.engagement[..len],
        &mut pr.quality[..len],
        &mut pr.sanction_memory[..len],
        &mut pr.burden[..len],
        &actions[..len],
        &pr.trust_factor[..len],
        [&o0[..len], &o1[..len], &o2[..len], &o3[..len]],
    );
}

/// The loop of [`respond_all`], over columns passed one by one so the compiler knows they do
/// not overlap.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn respond_all_loop(
    r: &Responses,
    trust: &mut [f32],
    engagement: &mut [f32],
    quality: &mut [f32],
    memory: &mut [f32],
    burden: &mut [f32],
    actions: &[u8],
    factor: &[f32],
    odds: [&[f32]; 4],
) {
    let len = trust.len();
    let (engagement, quality, memory, burden) = (
        &mut engagement[..len],
        &mut quality[..len],
        &mut memory[..len],
        &mut burden[..len],
    );
    let (actions, factor) = (&actions[..len], &factor[..len]);
    let [o0, o1, o2, o3] = odds.map(|o| &o[..len]);
    for i in 0..len {
        let x = Responder {
            trust: trust[i],
            engagement: engagement[i],
            quality: quality[i],
            memory: memory[i],
            burden: burden[i],
        };
        let y = respond(r, actions[i], factor[i], [o0[i], o1[i], o2[i], o3[i]], x);
        trust[i] = y.trust;
        engagement[i] = y.engagement;
        quality[i] = y.quality;
        memory[i] = y.memory;
        burden[i] = y.burden;
    }
}

/// Practices per batch of [`respond_recipients`].
const BATCH: usize = 16;

multiversioned! {
    /// [`respond`] for the practices that received something (`actions[i] != 0`, `i` below
    /// [`Practices::len`]): gathered in batches into contiguous columns, responded to in one
    /// vectorised pass ([`respond_all_loop`]) and scattered back. The same arithmetic per
    /// practice as [`apply_actions`] and [`respond_all`], so the same bits; cheaper than either
    /// when a minority of practices receives anything.
    pub(super) fn respond_recipients(r: &Responses, actions: &[u8], pr: &mut Practices) =
        respond_recipients_body;
}

#[inline(always)]
pub(super) fn respond_recipients_body(r: &Responses, actions: &[u8], pr: &mut Practices) {
    let n = pr.len();
    let mut index = [0usize; BATCH];
    let mut at = 0;
    loop {
        // The next batch of recipients.
        let mut m = 0;
        while at < n && m < BATCH {
            index[m] = at;
            m += (actions[at] != 0) as usize;
            at += 1;
        }
        if m == 0 {
            break;
        }
        respond_batch(r, actions, pr, &index[..m]);
    }
}

/// [`respond`] for the practices `index` (distinct, each a recipient of something).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `k` is the action of four columns of attitudes.
fn respond_batch(r: &Responses, actions: &[u8], pr: &mut Practices, index: &[usize]) {
    let m = index.len();
    let mut states = [[0.0f32; BATCH]; 5];
    let mut odds = [[0.0f32; BATCH]; 4];
    let mut factor = [0.0f32; BATCH];
    let mut mask = [0u8; BATCH];
    for (j, &i) in index.iter().enumerate() {
        states[0][j] = pr.trust[i];
        states[1][j] = pr.engagement[i];
        states[2][j] = pr.quality[i];
        states[3][j] = pr.sanction_memory[i];
        states[4][j] = pr.burden[i];
        for k in 0..4 {
            odds[k][j] = pr.attitude_odds[k][i];
        }
        factor[j] = pr.trust_factor[i];
        mask[j] = actions[i];
    }
    let [trust, engagement, quality, memory, burden] = &mut states;
    respond_all_loop(
        r,
        &mut trust[..m],
        &mut engagement[..m],
        &mut quality[..m],
        &mut memory[..m],
        &mut burden[..m],
        &mask[..m],
        &factor[..m],
        odds.each_ref().map(|o| &o[..m]),
    );
    for (j, &i) in index.iter().enumerate() {
        pr.trust[i] = states[0][j];
        pr.engagement[i] = states[1][j];
        pr.quality[i] = states[2][j];
        pr.sanction_memory[i] = states[3][j];
        pr.burden[i] = states[4][j];
    }
}

//! Phase 3 of a month (ODD 7.10; eqs. S1-S5): every practice's survey answers, counted.

use super::adjustment::Constants;
use super::workspace::Draws;
use crate::model::Role;
use crate::model::practice::{PADDING, Practices};
use crate::model::submodels::{answer_probability, exp, support, trust_factor, view_tails};
use crate::simd::Simd;

/// One month's survey answers of one CCG.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) practices: u32,
    pub(super) governing_body: u32,
    pub(super) formal: u32,
    pub(super) no_role: u32,
    pub(super) engaged: u32,
    pub(super) engaged_no_role: u32,
    pub(super) highly: u32,
    pub(super) influence: u32,
    pub(super) influence_formal: u32,
    pub(super) influence_no_role: u32,
    pub(super) positive: u32,
    pub(super) positive_governing_body: u32,
    pub(super) positive_no_role: u32,
    pub(super) neutral_no_role: u32,
    pub(super) support: [u32; 4],
    pub(super) burden_positive: u32,
}

multiversioned! {
    /// [`survey`] for the process's [`Simd`] level.
    pub(super) fn survey_simd(
        c: &Constants,
        pr: &mut Practices,
        draws: &Draws,
        out: &mut Counts,
    ) = survey;
}

/// True (1) with probability `p` for a 16-bit uniform `u`.
#[inline(always)]
pub(super) fn hit(u: u16, p: f32) -> u32 {
    ((u as f32) < p * 65_536.0) as u32
}

/// Eqs. S1-S5: draw every practice's survey answers from its state and count them (ODD 7.10).
/// Written without branches and with every column cut to one length so the compiler can
/// vectorise it.
#[inline(always)]
pub(super) fn survey(c: &Constants, pr: &mut Practices, draws: &Draws, out: &mut Counts) {
    // The trust factors are the loop's only output: taken out of `pr` for the loop, so the
    // compiler knows they overlap none of its inputs.
    let mut factor = std::mem::take(&mut pr.trust_factor);
    survey_loop(c, &mut factor, pr, draws, out);
    pr.trust_factor = factor;
}

/// The loop of [`survey`].
#[inline(always)]
pub(super) fn survey_loop(
    c: &Constants,
    factor: &mut [f32],
    pr: &Practices,
    draws: &Draws,
    out: &mut Counts,
) {
    // Whole blocks: the padding entries (role `PADDING`) are surveyed but not counted.
    let len = pr.padded_len();
    let n = pr.len();
    let factor = &mut factor[..len];
    let role = &pr.role[..len];
    let trust = &pr.trust[..len];
    let influence = &pr.influence[..len];
    let engagement = &pr.engagement[..len];
    let burden = &pr.burden[..len];
    let view_anchor = &pr.view_anchor[..len];
    let o0 = &pr.attitude_odds[0][..len];
    let o1 = &pr.attitude_odds[1][..len];
    let o2 = &pr.attitude_odds[2][..len];
    let o3 = &pr.attitude_odds[3][..len];
    let [u0, u1, u2, u3, u4, u5, u6, u7] = &draws.answer;
    let (u0, u1, u2, u3) = (&u0[..len], &u1[..len], &u2[..len], &u3[..len]);
    let (u4, u5, u6, u7) = (&u4[..len], &u5[..len], &u6[..len], &u7[..len]);
    let (mut governing_body, mut no_role) = (0u32, 0u32);
    let (mut engaged, mut engaged_no_role, mut highly) = (0u32, 0u32, 0u32);
    let (mut influence_all, mut influence_no_role) = (0u32, 0u32);
    let (mut positive, mut positive_governing_body, mut positive_no_role, mut neutral_no_role) =
        (0u32, 0u32, 0u32, 0u32);
    let (mut s0, mut s1, mut s2, mut s3) = (0u32, 0u32, 0u32, 0u32);
    let mut burden_positive = 0u32;
    for i in 0..len {
        let real = (role[i] != PADDING) as u32;
        let gb = (role[i] == Role::GoverningBody as u8) as u32;
        let none = (role[i] == Role::None as u8) as u32;
        governing_body += gb;
        no_role += none;

        // S1: engagement answers share one uniform, so "highly" implies "at least somewhat".
        let e = engagement[i];
        let is_engaged = real * hit(u0[i], answer_probability(e, c.exp_engaged));
        engaged += is_engaged;
        engaged_no_role += is_engaged * none;
        highly += real * hit(u0[i], answer_probability(e, c.exp_highly));

        // S5a: "I could influence the CCG if I wanted to".
        let f = influence[i];
        let yes = real * hit(u1[i], f);
        influence_all += yes;
        influence_no_role += yes * none;

        // S3, S4: the view of co-commissioning by an ordered logit.
        let t = trust[i];
        let view = view_anchor[i]
            + c.view_trust * (t - c.trust_base)
            + c.view_influence * (f - c.influence_base)
            + c.view_engagement * (e - c.engagement_base);
        let (p_positive, p_negative) = view_tails(exp(-view), c.exp_positive, c.exp_negative);
        let uv = u2[i] as f32 * (1.0 / 65_536.0);
        let pos = real * (uv < p_positive) as u32;
        let neg = (uv >= 1.0 - p_negative) as u32;
        positive += pos;
        positive_governing_body += pos * gb;
        positive_no_role += pos * none;
        neutral_no_role += (1 - pos) * (1 - neg) * none;

        // S5b: support for each action (A1), sharing one trust factor.
        let w = trust_factor(t, c.trust_base, c.trust_coupling, true);
        factor[i] = w;
        s0 += real * hit(u4[i], support(o0[i], w));
        s1 += real * hit(u5[i], support(o1[i], w));
        s2 += real * hit(u6[i], support(o2[i], w));
        s3 += real * hit(u7[i], support(o3[i], w));

        // S5c: a positive impact on paperwork and meetings.
        let p_burden = (c.burden_positive_base
            - c.burden_positive_slope * (burden[i] - c.reference_load))
            .clamp(0.0, 1.0);
        burden_positive += real * hit(u3[i], p_burden);
    }
    out.practices += n as u32;
    out.governing_body += governing_body;
    out.formal += n as u32 - no_role;
    out.no_role += no_role;
    out.engaged += engaged;
    out.engaged_no_role += engaged_no_role;
    out.highly += highly;
    out.influence += influence_all;
    out.influence_formal += influence_all - influence_no_role;
    out.influence_no_role += influence_no_role;
    out.positive += positive;
    out.positive_governing_body += positive_governing_body;
    out.positive_no_role += positive_no_role;
    out.neutral_no_role += neutral_no_role;
    for (o, s) in out.support.iter_mut().zip([s0, s1, s2, s3]) {
        *o += s;
    }
    out.burden_positive += burden_positive;
}

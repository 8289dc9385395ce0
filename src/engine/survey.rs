//! Phase 3 of a month (ODD 7.10; eqs. S1-S5): every practice's survey answers, counted.

use super::adjustment::Constants;
use super::workspace::Draws;
use crate::model::Role;
use crate::model::practice::{PADDING, Practices};
use crate::model::submodels::{answer_probability, exp, support, trust_factor, view_tails};
use crate::simd::Simd;

/// One month's survey answers of one CCG: numbers of practices (whole numbers, and with expected
/// answers sums of probabilities, exact multiples of 2^-16).
#[derive(Debug, Default, Clone)]
pub(super) struct Counts {
    pub(super) practices: f64,
    pub(super) governing_body: f64,
    pub(super) formal: f64,
    pub(super) no_role: f64,
    pub(super) engaged: f64,
    pub(super) engaged_no_role: f64,
    pub(super) highly: f64,
    pub(super) influence: f64,
    pub(super) influence_formal: f64,
    pub(super) influence_no_role: f64,
    pub(super) positive: f64,
    pub(super) positive_governing_body: f64,
    pub(super) positive_no_role: f64,
    pub(super) neutral_no_role: f64,
    pub(super) support: [f64; 4],
    pub(super) burden_positive: f64,
    /// The answers of eqs. S6, S7, always expected: positive impact on relationships with other
    /// practices, legitimate role in prescribing, legitimate role in relationships.
    pub(super) expected: [f64; 3],
}

/// A sum of [`units`] as a number of practices.
fn from_units(u: u64) -> f64 {
    u as f64 / 65_536.0
}

multiversioned! {
    /// [`survey`] for the process's [`Simd`] level.
    pub(super) fn survey_simd(
        c: &Constants,
        pr: &mut Practices,
        draws: &Draws,
        out: &mut Counts,
        expected: bool,
    ) = survey;
}

multiversioned! {
    /// [`trust_factors`] for the process's [`Simd`] level.
    pub(super) fn trust_factors_simd(c: &Constants, pr: &mut Practices) = trust_factors;
}

/// The survey's one output that the model itself reads, in a month whose answers nobody reads
/// (ODD 3, "observed ticks"): each practice's trust factor of S5b (and A1), exactly as [`survey`]
/// computes it, so the next month's responses are the same whether or not this month was surveyed.
#[inline(always)]
pub(super) fn trust_factors(c: &Constants, pr: &mut Practices) {
    let len = pr.padded_len();
    let mut factor = std::mem::take(&mut pr.trust_factor);
    for (w, &t) in factor[..len].iter_mut().zip(&pr.trust[..len]) {
        *w = trust_factor(t, c.trust_base, c.trust_coupling, true);
    }
    pr.trust_factor = factor;
}

/// A probability in units of 2^-16, rounded to the nearest: summed as integers, the expected
/// answers of a CCG do not depend on the order in which they are added.
#[inline(always)]
pub(super) fn units(p: f32) -> u32 {
    // 2^23 added to a number in [0, 2^17) rounds it to the nearest integer (ties to even), which
    // then sits in the low bits of the sum: no float-to-integer conversion, which vector units
    // do not saturate the way Rust's `as` must. `max` also maps NaN to 0.
    const ROUND: f32 = 8_388_608.0;
    #[allow(clippy::manual_clamp)]
    let x = (p * 65_536.0).max(0.0).min(65_536.0);
    (x + ROUND).to_bits() - ROUND.to_bits()
}

/// True (1) with probability `p` for a 16-bit uniform `u`.
#[inline(always)]
pub(super) fn hit(u: u16, p: f32) -> u32 {
    ((u as f32) < p * 65_536.0) as u32
}

/// Eqs. S1-S5: draw every practice's survey answers from its state and count them (ODD 7.10),
/// or with `expected` add up each practice's probability of each answer instead. Written
/// without branches and with every column cut to one length so the compiler can vectorise it.
#[inline(always)]
pub(super) fn survey(
    c: &Constants,
    pr: &mut Practices,
    draws: &Draws,
    out: &mut Counts,
    expected: bool,
) {
    // The trust factors are the loop's only output: taken out of `pr` for the loop, so the
    // compiler knows they overlap none of its inputs.
    let mut factor = std::mem::take(&mut pr.trust_factor);
    if expected {
        expected_loop(c, &mut factor, pr, out);
    } else {
        survey_loop(c, &mut factor, pr, draws, out);
    }
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
    let (mut relationships, mut prescribing, mut legitimate_relationships) = (0u64, 0u64, 0u64);
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

        // S6, S7: expected answers (each practice's probability, no random number).
        let r = c.relationships_weight * e + (1.0 - c.relationships_weight) * t;
        let real = real as u64;
        relationships += real * units(answer_probability(r, c.exp_relationships)) as u64;
        prescribing += real * units(answer_probability(t, c.exp_legitimate_prescribing)) as u64;
        legitimate_relationships +=
            real * units(answer_probability(t, c.exp_legitimate_relationships)) as u64;
    }
    out.practices += n as f64;
    out.governing_body += governing_body as f64;
    out.formal += (n as u32 - no_role) as f64;
    out.no_role += no_role as f64;
    out.engaged += engaged as f64;
    out.engaged_no_role += engaged_no_role as f64;
    out.highly += highly as f64;
    out.influence += influence_all as f64;
    out.influence_formal += (influence_all - influence_no_role) as f64;
    out.influence_no_role += influence_no_role as f64;
    out.positive += positive as f64;
    out.positive_governing_body += positive_governing_body as f64;
    out.positive_no_role += positive_no_role as f64;
    out.neutral_no_role += neutral_no_role as f64;
    for (o, s) in out.support.iter_mut().zip([s0, s1, s2, s3]) {
        *o += s as f64;
    }
    out.burden_positive += burden_positive as f64;
    for (o, s) in
        out.expected
            .iter_mut()
            .zip([relationships, prescribing, legitimate_relationships])
    {
        *o += from_units(s);
    }
}

/// Practices per chunk of [`expected_loop`], whose sums are 32-bit integers: a chunk's sum of
/// [`units`] (each at most 2^16) stays below 2^31. Every chunk's sums are exact in double
/// precision, and so are their totals, so the chunking does not change a bit.
const CHUNK: usize = 1 << 15;

/// The loop of [`survey`] with expected answers (ODD 7.10, `answers = "expected"`): each
/// practice adds its probability of each answer (the probabilities of [`survey_loop`]), rounded
/// to a multiple of 2^-16 and summed as an integer, so a CCG's sums do not depend on the order of
/// their additions. No uniform is read. Chunk by chunk, as [`expected_chunk`] sums them.
#[inline(always)]
pub(super) fn expected_loop(c: &Constants, factor: &mut [f32], pr: &Practices, out: &mut Counts) {
    let len = pr.padded_len();
    let mut from = 0;
    while from < len {
        let to = (from + CHUNK).min(len);
        expected_chunk(c, &mut factor[from..to], pr, from, to, out);
        from = to;
    }
}

/// [`expected_loop`] over the practices `from..to`, whose trust factors are `factor`, added to
/// `out`. Its sums are 32-bit integers but for the last three (as in [`survey_loop`]: with
/// AVX-512 the loop then runs 8 practices wide, which suits small CCGs). Each chunk's sums, in
/// units of 2^-16, are exact in `out`'s double precision, so adding them chunk by chunk gives the
/// same bits as adding their totals.
#[inline(always)]
fn expected_chunk(
    c: &Constants,
    factor: &mut [f32],
    pr: &Practices,
    from: usize,
    to: usize,
    out: &mut Counts,
) {
    let role = &pr.role[from..to];
    let trust = &pr.trust[from..to];
    let influence = &pr.influence[from..to];
    let engagement = &pr.engagement[from..to];
    let burden = &pr.burden[from..to];
    let view_anchor = &pr.view_anchor[from..to];
    let [o0, o1, o2, o3] = &pr.attitude_odds;
    let (o0, o1, o2, o3) = (&o0[from..to], &o1[from..to], &o2[from..to], &o3[from..to]);
    let len = to - from;
    let (mut governing_body, mut no_role) = (0u32, 0u32);
    let (mut engaged, mut engaged_no_role, mut highly) = (0u32, 0u32, 0u32);
    let (mut influence_all, mut influence_no_role) = (0u32, 0u32);
    let (mut positive, mut positive_governing_body, mut positive_no_role, mut neutral_no_role) =
        (0u32, 0u32, 0u32, 0u32);
    let (mut s0, mut s1, mut s2, mut s3) = (0u32, 0u32, 0u32, 0u32);
    let mut burden_positive = 0u32;
    let (mut relationships, mut prescribing, mut legitimate_relationships) = (0u64, 0u64, 0u64);
    for i in 0..len {
        let real = (role[i] != PADDING) as u32;
        let gb = (role[i] == Role::GoverningBody as u8) as u32;
        let none = (role[i] == Role::None as u8) as u32;
        governing_body += gb;
        no_role += none;

        let e = engagement[i];
        let is_engaged = real * units(answer_probability(e, c.exp_engaged));
        engaged += is_engaged;
        engaged_no_role += is_engaged * none;
        highly += real * units(answer_probability(e, c.exp_highly));

        let f = influence[i];
        let yes = real * units(f);
        influence_all += yes;
        influence_no_role += yes * none;

        let t = trust[i];
        let view = view_anchor[i]
            + c.view_trust * (t - c.trust_base)
            + c.view_influence * (f - c.influence_base)
            + c.view_engagement * (e - c.engagement_base);
        let (p_positive, p_negative) = view_tails(exp(-view), c.exp_positive, c.exp_negative);
        let pos = real * units(p_positive);
        positive += pos;
        positive_governing_body += pos * gb;
        positive_no_role += pos * none;
        neutral_no_role += none * units(1.0 - p_positive - p_negative);

        let w = trust_factor(t, c.trust_base, c.trust_coupling, true);
        factor[i] = w;
        s0 += real * units(support(o0[i], w));
        s1 += real * units(support(o1[i], w));
        s2 += real * units(support(o2[i], w));
        s3 += real * units(support(o3[i], w));

        let p_burden = (c.burden_positive_base
            - c.burden_positive_slope * (burden[i] - c.reference_load))
            .clamp(0.0, 1.0);
        burden_positive += real * units(p_burden);

        let r = c.relationships_weight * e + (1.0 - c.relationships_weight) * t;
        let real = real as u64;
        relationships += real * units(answer_probability(r, c.exp_relationships)) as u64;
        prescribing += real * units(answer_probability(t, c.exp_legitimate_prescribing)) as u64;
        legitimate_relationships +=
            real * units(answer_probability(t, c.exp_legitimate_relationships)) as u64;
    }
    // The real practices of the chunk (the padding comes last).
    let n = pr.len().clamp(from, to) - from;
    out.practices += n as f64;
    out.governing_body += governing_body as f64;
    out.formal += (n as u32 - no_role) as f64;
    out.no_role += no_role as f64;
    let share = |u: u32| from_units(u as u64);
    out.engaged += share(engaged);
    out.engaged_no_role += share(engaged_no_role);
    out.highly += share(highly);
    out.influence += share(influence_all);
    out.influence_formal += share(influence_all - influence_no_role);
    out.influence_no_role += share(influence_no_role);
    out.positive += share(positive);
    out.positive_governing_body += share(positive_governing_body);
    out.positive_no_role += share(positive_no_role);
    out.neutral_no_role += share(neutral_no_role);
    for (o, s) in out.support.iter_mut().zip([s0, s1, s2, s3]) {
        *o += share(s);
    }
    out.burden_positive += share(burden_positive);
    for (o, s) in
        out.expected
            .iter_mut()
            .zip([relationships, prescribing, legitimate_relationships])
    {
        *o += from_units(s);
    }
}

//! The submodels: one small function per equation of `docs/ODD.md` section 7, each a function of
//! state and parameters only, so each can be tested on its own.

/// `e^x` in single precision, computed with only additions, multiplications and bit operations
/// (range reduction to `2^n * 2^f`, |f| <= 1/2, and a degree-7 Taylor polynomial; relative error
/// below 1e-6), so it is fast, vectorisable and gives the same bits on every IEEE 754 machine,
/// unlike the platform's `expf`. Arguments are clamped to [-87, 88] (NaN to -87).
#[inline]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^10 (Cody and Waite).
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 * 2^23: adding it rounds a number of magnitude below 2^22 to the nearest integer,
    // which then sits in the low bits of the sum (no float-to-integer conversion, which
    // vector units do not saturate the way Rust's `as` must).
    const ROUND: f32 = 12_582_912.0;
    // Not `clamp`, which passes NaN through: `max` maps it to -87.
    #[allow(clippy::manual_clamp)]
    let x = x.max(-87.0).min(88.0);
    let rounded = x * LOG2E + ROUND;
    let n = rounded - ROUND;
    let y = (x - n * LN2_HI) - n * LN2_LO; // |y| <= ln(2)/2
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0
                    + y * (1.0 / 24.0
                        + y * (1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0)))))));
    // 2^n from the integer in the low bits of `rounded`.
    let two_n = (rounded.to_bits().wrapping_sub(ROUND.to_bits()) as i32 + 127) as u32;
    f32::from_bits(two_n << 23) * p
}

/// Natural logarithm of a positive, normal `x` in single precision, computed like [`exp`] with
/// only additions, multiplications, one division and bit operations (x = m 2^e with m in
/// [sqrt(1/2), sqrt(2)), then ln m = 2 atanh((m - 1) / (m + 1)) by its series to the ninth power;
/// relative error below 1e-6), so it gives the same bits on every IEEE 754 machine.
#[inline]
pub fn ln(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let bits = x.max(f32::MIN_POSITIVE).to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let high = (mantissa > std::f32::consts::SQRT_2) as i32;
    let m = mantissa * (1.0 - 0.5 * high as f32);
    let e = (exponent + high) as f32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series =
        2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    (e * LN2_HI + series) + e * LN2_LO
}

/// Logistic function.
#[inline]
pub fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Inverse of [`logistic`].
#[inline]
pub fn logit(p: f32) -> f32 {
    ln(p / (1.0 - p))
}

/// Eq. A1: probability that a practice supports an action,
/// `logistic(attitude + coupling * (trust - trust_base))`, written with the attitude's odds
/// `odds = e^attitude` and the trust factor `w = e^(coupling * (trust - trust_base))` (see
/// [`trust_factor`]) so the four actions share one exponential.
#[inline]
pub fn support(odds: f32, w: f32) -> f32 {
    let x = odds * w;
    x / (1.0 + x)
}

/// The trust factor of eq. A1, `e^(coupling * (trust - trust_base))`; 1 when the acceptability
/// mechanism is off.
#[inline]
pub fn trust_factor(trust: f32, trust_base: f32, coupling: f32, enabled: bool) -> f32 {
    if enabled {
        exp(coupling * (trust - trust_base))
    } else {
        1.0
    }
}

/// Eq. A2 (with the framing term of ODD 7.7): how legitimate the practice finds an action: its support, raised by "peer
/// support" framing (`framing_gain`, zero unless the CCG frames control that way).
#[inline]
pub fn legitimacy(support: f32, framing_gain: f32) -> f32 {
    support + framing_gain * (1.0 - support)
}

/// Eq. A3: change in trust from one action. Legitimate actions build trust toward 1; illegitimate
/// ones erode it toward 0, `asymmetry` times as strongly (and `coi` times more again for control
/// by a delegated CCG that manages conflicts of interest badly).
#[inline]
pub fn trust_response(trust: f32, legitimacy: f32, step: f32, asymmetry: f32, coi: f32) -> f32 {
    step * (legitimacy * (1.0 - trust) - asymmetry * coi * (1.0 - legitimacy) * trust)
}

/// Eq. A4: direct change in engagement from one action (motivation crowding in or out).
#[inline]
pub fn engagement_response(engagement: f32, effect: f32) -> f32 {
    if effect >= 0.0 {
        effect * (1.0 - engagement)
    } else {
        effect * engagement
    }
}

/// Eq. A5: the fall in the trust target that sanction memory causes, saturating at `scale`.
#[inline]
pub fn sanction_scar(memory: f32, scale: f32) -> f32 {
    scale * memory / (1.0 + memory)
}

/// Eq. Q1: change in quality from one action: closes a share of the gap to full quality, more in
/// engaged practices and more where baseline quality is low (audit and feedback).
#[inline]
pub fn quality_response(quality: f32, engagement: f32, effect: f32) -> f32 {
    effect * (0.5 + engagement) * (1.0 - quality)
}

/// Eq. S1: the probability of a survey answer above a cut point `cut` for a latent level `x` in
/// (0, 1): `logistic(logit(x) - cut)`, written with `exp_cut = exp(cut)` so it needs no
/// transcendental function in the tick loop.
#[inline]
pub fn answer_probability(x: f32, exp_cut: f32) -> f32 {
    x / (x + (1.0 - x) * exp_cut)
}

/// A survey view of co-commissioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Positive,
    Neutral,
    Negative,
}

/// Eq. S3: the probabilities of the two tails of the ordered logit for the view of
/// co-commissioning: positive when `view + e > positive_cut`, probability
/// `logistic(view - positive_cut)`; negative when `view + e < negative_cut`, probability
/// `logistic(negative_cut - view)`; e standard logistic noise. Written with `z = e^-view`,
/// `exp_pos = e^positive_cut` and `exp_neg = e^-negative_cut`.
#[inline]
pub fn view_tails(z: f32, exp_pos: f32, exp_neg: f32) -> (f32, f32) {
    (1.0 / (1.0 + exp_pos * z), z / (z + exp_neg))
}

/// Eq. S3: the answer to "how do you feel about co-commissioning?" for a uniform `u` in [0, 1):
/// the noise is drawn by inversion, so `u < P(positive)` and `u >= 1 - P(negative)` pick the
/// tails.
#[inline]
pub fn view_answer(u: f32, z: f32, exp_pos: f32, exp_neg: f32) -> View {
    let (p_pos, p_neg) = view_tails(z, exp_pos, exp_neg);
    if u < p_pos {
        View::Positive
    } else if u >= 1.0 - p_neg {
        View::Negative
    } else {
        View::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegitimate_control_erodes_more_than_support_builds() {
        // Same distance from neutral legitimacy, opposite signs: the loss is larger (Slovic 1993).
        let gain = trust_response(0.5, 0.9, 0.04, 2.0, 1.0);
        let loss = trust_response(0.5, 0.1, 0.04, 2.0, 1.0);
        assert!(gain > 0.0 && loss < 0.0);
        assert!(-loss > 1.5 * gain, "gain {gain}, loss {loss}");
        // Poorly managed conflicts of interest make control cost more trust.
        assert!(trust_response(0.5, 0.1, 0.04, 2.0, 2.0) < loss);
    }

    #[test]
    fn responses_keep_states_in_unit_interval() {
        for &x in &[0.0f32, 0.01, 0.5, 0.99, 1.0] {
            for &l in &[0.0f32, 0.5, 1.0] {
                let t = x + trust_response(x, l, 1.0, 1.0, 1.0);
                assert!((-1e-6..=1.0 + 1e-6).contains(&t), "trust {t}");
            }
            assert!((0.0..=1.0).contains(&(x + engagement_response(x, 1.0))));
            assert!((0.0..=1.0).contains(&(x + engagement_response(x, -1.0))));
            assert!((0.0..=1.0 + 1e-6).contains(&(x + quality_response(x, 0.5, 1.0))));
        }
    }

    #[test]
    fn answer_probability_is_logistic_of_shifted_logit() {
        for &x in &[0.1f32, 0.3, 0.5, 0.8] {
            for &cut in &[-1.0f32, 0.0, 0.7, 2.0] {
                let direct = logistic(logit(x) - cut);
                let fast = answer_probability(x, cut.exp());
                assert!(
                    (direct - fast).abs() < 1e-5,
                    "x {x} cut {cut}: {direct} vs {fast}"
                );
            }
        }
    }

    #[test]
    fn feedback_helps_low_performers_more() {
        assert!(quality_response(0.6, 0.5, 0.01) > quality_response(0.9, 0.5, 0.01));
        assert!(quality_response(0.6, 0.9, 0.01) > quality_response(0.6, 0.1, 0.01));
    }

    #[test]
    fn sanction_scar_saturates_and_lingers() {
        assert_eq!(sanction_scar(0.0, 0.2), 0.0);
        assert!(sanction_scar(1.0, 0.2) > 0.0);
        assert!(sanction_scar(100.0, 0.2) < 0.2);
    }

    #[test]
    fn view_answers_follow_the_ordered_logit() {
        // view 0.5, cuts 1.0 and 0.0: P(pos) = logistic(-0.5), P(neg) = logistic(-0.5).
        let (view, pos_cut, neg_cut) = (0.5f32, 1.0f32, 0.0f32);
        let (z, ep, en) = (exp(-view), exp(pos_cut), exp(-neg_cut));
        let n = 100_000;
        let mut counts = [0u32; 3];
        for i in 0..n {
            let u = (i as f32 + 0.5) / n as f32;
            counts[view_answer(u, z, ep, en) as usize] += 1;
        }
        let p = logistic(-0.5) as f64;
        assert!((counts[0] as f64 / n as f64 - p).abs() < 1e-3);
        assert!((counts[2] as f64 / n as f64 - p).abs() < 1e-3);
        assert!((counts[1] as f64 / n as f64 - (1.0 - 2.0 * p)).abs() < 1e-3);
    }

    #[test]
    fn fast_ln_is_accurate() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let rel = ((ln(x) as f64 - (x as f64).ln()) / (x as f64).ln().abs().max(1.0)).abs();
            assert!(rel < 1e-6, "ln({x}): relative error {rel}");
            x *= 1.013;
        }
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(std::f32::consts::E) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -30.0f32;
        while x < 30.0 {
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            assert!(rel < 1e-6, "exp({x}): relative error {rel}");
            x += 0.0137;
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-200.0) >= 0.0 && exp(200.0).is_finite());
        assert_eq!(exp(f32::NAN), exp(-87.0));
        // Ties of the range reduction and the ends of the range.
        for x in [
            -87.0f32,
            88.0,
            0.5 * std::f32::consts::LN_2,
            -0.5 * std::f32::consts::LN_2,
        ] {
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            assert!(rel < 1e-6, "exp({x}): relative error {rel}");
        }
    }

    #[test]
    fn support_is_logistic_of_attitude_plus_trust_term() {
        let (attitude, trust, base, coupling) = (-1.2f32, 0.7f32, 0.55f32, 2.0f32);
        let direct = logistic(attitude + coupling * (trust - base));
        let w = trust_factor(trust, base, coupling, true);
        assert!((support(exp(attitude), w) - direct).abs() < 1e-6);
    }
}

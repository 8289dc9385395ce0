//! The submodels: one small function per equation of `docs/ODD.md` section 7, each a function of
//! state and parameters only, so each can be tested on its own.

use super::params::{Acceptability, Dynamics};

/// Logistic function.
#[inline]
pub fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Inverse of [`logistic`].
#[inline]
pub fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// Eq. A1: probability that a practice supports an action, from its predisposition `attitude`
/// (logit scale) and its trust in the CCG.
#[inline]
pub fn support(attitude: f32, trust: f32, acc: &Acceptability, dynamics: &Dynamics) -> f32 {
    let coupling = if acc.enabled { acc.trust_coupling } else { 0.0 };
    logistic(attitude + coupling * (trust - dynamics.trust_base))
}

/// Eq. A2 and D3: how legitimate the practice finds an action: its support, raised by "peer
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

/// Eq. S2: logistic noise from a uniform draw in (0, 1).
#[inline]
pub fn logistic_noise(u: f32) -> f32 {
    logit(u.clamp(1e-7, 1.0 - 1e-7))
}

/// A survey view of co-commissioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Positive,
    Neutral,
    Negative,
}

/// Eq. S3: the answer to "how do you feel about co-commissioning?" from the latent view plus
/// logistic noise, by an ordered logit with two cut points.
#[inline]
pub fn view_answer(view: f32, noise: f32, positive_cut: f32, negative_cut: f32) -> View {
    let y = view + noise;
    if y > positive_cut {
        View::Positive
    } else if y < negative_cut {
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
    fn view_answer_orders_cut_points() {
        assert_eq!(view_answer(2.0, 0.0, 1.0, 0.0), View::Positive);
        assert_eq!(view_answer(0.5, 0.0, 1.0, 0.0), View::Neutral);
        assert_eq!(view_answer(-0.5, 0.0, 1.0, 0.0), View::Negative);
    }
}

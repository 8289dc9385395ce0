//! Phase 1 of a month (ODD 3, 7.8, 7.11): which practices receive which action (the mix, the
//! escalation ladder's reviews), what the budget pays for, and who responds.

use super::mix::MIX_STEPS;
use super::month::Month;
use super::responses::{Responses, apply_actions, respond_all, respond_recipients};
use crate::metrics::{Tally, tally as ix};
use crate::model::Action;
use crate::model::policy;
use crate::model::practice::Practices;
use crate::rng::{LANES, Lanes};
use crate::scenario::Scenario;
use crate::simd::Simd;

/// The responses are computed for every practice in one pass once at least one practice in
/// `RESPOND_ALL_FROM` receives something; below that, for the recipients alone: gathered into
/// batches from `GATHER_FROM` recipients (a full batch), one by one for fewer.
const RESPOND_ALL_FROM: usize = 6;
const GATHER_FROM: usize = 16;

/// Phase 1 of a month: the CCG's actions (ODD 7.11), paid for in order from a random start while
/// the budget lasts (ODD 7.8), and each practice's response.
#[allow(clippy::too_many_arguments)]
pub(super) fn act(
    scenario: &Scenario,
    month: &Month,
    review_now: Option<&policy::Reviewer>,
    pr: &mut Practices,
    actions: &mut Vec<u8>,
    lanes: &mut Lanes,
    start: usize,
    tally: &mut Tally,
) {
    let p = &scenario.model;
    let threshold = month.regime.threshold;
    let level = month.policy;
    let n = pr.len();
    actions.clear();
    actions.resize(n.div_ceil(LANES) * LANES, 0);

    // The mix: every eligible practice, every action, one uniform each.
    if level.mix.any {
        let quality = &pr.quality[..n];
        match Simd::get() {
            // SAFETY: `Simd::get` gives these levels only if the processor supports AVX2.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe {
                level.mix.draw_avx2(quality, threshold, lanes, actions)
            },
            _ => level.mix.draw(quality, threshold, lanes, actions),
        }
    } else {
        lanes.skip(MIX_STEPS * n.div_ceil(LANES));
    }

    // The ladder: every practice is reviewed. A step whose action the CCG may not yet use is
    // held but not delivered.
    if let Some(reviewer) = review_now {
        review_simd(
            reviewer,
            &mut pr.ladder_step[..n],
            &mut pr.ladder_streak[..n],
            &pr.quality[..n],
            threshold,
            level.allowed,
            &mut actions[..n],
        );
    }

    // The budget pays for what it can, in order from a random start (eq. B2). When it covers
    // everything asked for, the order does not matter and the actions are simply counted.
    // What was asked for, and by how many practices (padding entries are 0): one pass of plain
    // sums, which the compiler vectorises.
    let (mut a0, mut a1, mut a2, mut a3, mut recipients) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for &mask in actions.iter() {
        a0 += (mask & 1) as u32;
        a1 += ((mask >> 1) & 1) as u32;
        a2 += ((mask >> 2) & 1) as u32;
        a3 += ((mask >> 3) & 1) as u32;
        recipients += (mask != 0) as u32;
    }
    let asked = [a0, a1, a2, a3];
    let cost = Action::ALL.map(|a| p.budget.cost.get(a) as f64);
    let total: f64 = (0..4).map(|k| asked[k] as f64 * cost[k]).sum();
    // (With a margin for the rounding of a sum taken in another order.)
    if total * (1.0 + 1e-9) <= month.budget {
        for k in 0..4 {
            tally[ix::ACTIONS + k] += asked[k] as f64;
            tally[ix::COST + k] += asked[k] as f64 * cost[k];
        }
    } else {
        let mut spent = 0.0f64;
        for i in (start..n).chain(0..start) {
            if actions[i] != 0 {
                actions[i] = pay_for(&cost, actions[i], month.budget, &mut spent, tally);
            }
        }
    }

    // Every practice responds to what it received: the recipients gathered into batches when
    // a minority receives anything, otherwise in one pass over every practice; both vectorise,
    // with the same arithmetic per practice (the same bits).
    let responses = Responses::new(p, month);
    let recipients = recipients as usize;
    if recipients * RESPOND_ALL_FROM >= n {
        respond_all(&responses, actions, pr);
    } else if recipients >= GATHER_FROM {
        respond_recipients(&responses, actions, pr);
    } else {
        for (i, &mask) in actions[..n].iter().enumerate() {
            if mask != 0 {
                apply_actions(&responses, mask, pr, i);
            }
        }
    }
}

multiversioned! {
    /// The ladder's reviews of every practice ([`policy::Reviewer::review_columns`]) for the
    /// process's [`Simd`] level.
    fn review_simd(
        reviewer: &policy::Reviewer,
        step: &mut [i8],
        streak: &mut [i8],
        quality: &[f32],
        threshold: f32,
        allowed: u8,
        actions: &mut [u8],
    ) = review_body;
}

#[inline(always)]
fn review_body(
    reviewer: &policy::Reviewer,
    step: &mut [i8],
    streak: &mut [i8],
    quality: &[f32],
    threshold: f32,
    allowed: u8,
    actions: &mut [u8],
) {
    reviewer.review_columns(step, streak, quality, threshold, allowed, actions);
}

/// Eq. B2: deliver the actions in `mask` that the month's budget still covers; tally what is
/// delivered, what it costs and what is rationed.
#[inline]
pub(super) fn pay_for(
    cost: &[f64; 4],
    mut mask: u8,
    budget: f64,
    spent: &mut f64,
    tally: &mut Tally,
) -> u8 {
    for a in Action::ALL {
        if mask & a.bit() == 0 {
            continue;
        }
        let cost = cost[a.index()];
        if *spent + cost > budget {
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

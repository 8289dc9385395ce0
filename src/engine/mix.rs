//! The fixed mix of actions and its monthly draw (ODD 7.11, eq. P1), portable and AVX2.

use crate::model::policy::{ActionPlan, Target};
use crate::rng::{self, LANES, Lanes};

/// Steps of the lanes per block of eight practices that the mix takes each month (two 64-bit
/// words per lane: one 32-bit uniform per practice and action).
pub(super) const MIX_STEPS: usize = 2;

/// The fixed mix and targeting as the monthly draw uses them (ODD 7.11, eq. P1): each eligible
/// practice receives action `k` when a 32-bit uniform `u` is below `threshold[k]`, that is with
/// probability `rate` rounded to a multiple of 2^-32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Mix {
    /// `round(rate * 2^32)`, at most 2^32 (every practice).
    pub(super) threshold: [u64; 4],
    /// Actions aimed only at underperformers, as a bit mask.
    pub(super) underperformers_only: u8,
    /// Whether any action has a positive rate.
    pub(super) any: bool,
}

impl Mix {
    pub(super) fn new(plans: &[ActionPlan; 4]) -> Mix {
        Mix {
            threshold: plans
                .map(|plan| ((plan.rate.clamp(0.0, 1.0) as f64) * 4_294_967_296.0).round() as u64),
            underperformers_only: (0..4)
                .filter(|&k| plans[k].target == Target::Underperformers)
                .fold(0, |m, k| m | 1 << k),
            any: plans.iter().any(|plan| plan.rate > 0.0),
        }
    }

    /// Eq. P1 for one block of up to eight practices, from two steps of the lanes: 32-bit word
    /// `8 (k % 2) + j` (little-endian) of step `k / 2` is the uniform of action `k` for
    /// practice `j` of the block, so vector code reads each action's uniforms as one register.
    #[inline(always)]
    pub(super) fn block(
        &self,
        steps: &[[u64; LANES]; 2],
        quality: &[f32],
        threshold: f32,
        out: &mut [u8],
    ) {
        for (j, (mask, &q)) in out.iter_mut().zip(quality).enumerate() {
            let underperforming = q < threshold;
            *mask = 0;
            for k in 0..4 {
                let w = LANES * (k % 2) + j;
                let u = (steps[k / 2][w / 2] >> (32 * (w % 2))) as u32 as u64;
                let eligible = underperforming || self.underperformers_only & (1 << k) == 0;
                *mask |= ((u < self.threshold[k] && eligible) as u8) << k;
            }
        }
    }

    /// Each practice's actions of the month from the mix: `actions[i]` for `i < quality.len()`
    /// (`actions` is at least that long, rounded up to whole blocks).
    pub(super) fn draw(
        &self,
        quality: &[f32],
        threshold: f32,
        lanes: &mut Lanes,
        actions: &mut [u8],
    ) {
        for (q, out) in quality.chunks(LANES).zip(actions.chunks_mut(LANES)) {
            let steps = [lanes.step(), lanes.step()];
            self.block(&steps, q, threshold, out);
        }
    }

    /// [`Mix::draw`] with AVX2 instructions: the same actions from the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn draw_avx2(
        &self,
        quality: &[f32],
        threshold: f32,
        lanes: &mut Lanes,
        actions: &mut [u8],
    ) {
        use std::arch::x86_64::*;
        let mut state = rng::avx2::State::load(lanes);
        let full = quality.len() / LANES;
        let sign = _mm256_set1_epi32(i32::MIN);
        let limit = _mm256_set1_ps(threshold);
        // Per action: the threshold with its sign bit flipped (so a signed comparison orders
        // unsigned values), all ones if the rate is 1, all ones if every member is eligible.
        let below = self
            .threshold
            .map(|t| _mm256_set1_epi32((t.min(u32::MAX as u64) as u32 ^ 0x8000_0000) as i32));
        let always = self
            .threshold
            .map(|t| _mm256_set1_epi32(if t > u32::MAX as u64 { -1 } else { 0 }));
        let everyone = std::array::from_fn::<_, 4, _>(|k| {
            _mm256_set1_epi32(if self.underperformers_only & (1 << k) == 0 {
                -1
            } else {
                0
            })
        });
        for b in 0..full {
            let at = b * LANES;
            let [a0, a1] = state.step();
            let [b0, b1] = state.step();
            // SAFETY: `quality` has at least `at + 8` values; `actions` at least `at + 8` bytes.
            unsafe {
                let q = _mm256_loadu_ps(quality.as_ptr().add(at));
                let under = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(q, limit));
                let mut mask = _mm256_setzero_si256();
                for (k, u) in [a0, a1, b0, b1].into_iter().enumerate() {
                    let hit = _mm256_or_si256(
                        _mm256_cmpgt_epi32(below[k], _mm256_xor_si256(u, sign)),
                        always[k],
                    );
                    let eligible = _mm256_or_si256(under, everyone[k]);
                    let bit = _mm256_set1_epi32(1 << k);
                    mask = _mm256_or_si256(
                        mask,
                        _mm256_and_si256(_mm256_and_si256(hit, eligible), bit),
                    );
                }
                let words = _mm_packs_epi32(
                    _mm256_castsi256_si128(mask),
                    _mm256_extracti128_si256::<1>(mask),
                );
                let bytes = _mm_packus_epi16(words, words);
                _mm_storel_epi64(actions.as_mut_ptr().add(at) as *mut __m128i, bytes);
            }
        }
        if quality.len() > full * LANES {
            let mut steps = [[0u64; LANES]; 2];
            for step in &mut steps {
                let [lo, hi] = state.step();
                // SAFETY: `step` is 64 writable bytes; unaligned stores.
                unsafe {
                    _mm256_storeu_si256(step.as_mut_ptr() as *mut __m256i, lo);
                    _mm256_storeu_si256(step[4..].as_mut_ptr() as *mut __m256i, hi);
                }
            }
            let at = full * LANES;
            self.block(&steps, &quality[at..], threshold, &mut actions[at..]);
        }
        state.store(lanes);
    }
}

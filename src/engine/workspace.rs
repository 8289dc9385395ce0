//! Per-thread buffers and the random draws of a month for the adjustment and survey phases
//! (ODD 4.9).

use crate::model::practice::Practices;
use crate::rng::{self, LANES, Lanes};

/// Reusable buffers for [`simulate_ccg`](super::simulate_ccg), so a worker thread allocates once,
/// not once per unit.
#[derive(Debug, Default)]
pub struct Workspace {
    pub(super) practices: Practices,
    /// Bounds of each locality's block of practices: locality `l` is `bounds[l]..bounds[l + 1]`.
    pub(super) bounds: Vec<usize>,
    /// Random draws of the current month, one column per use (ODD 4.9).
    pub(super) draws: Draws,
    /// Each practice's locality means of engagement and trust at the start of the month.
    pub(super) peers: Peers,
    /// The actions each practice receives this month, as a bit mask.
    pub(super) actions: Vec<u8>,
    /// The workspaces of a group of CCGs that merge (ODD 7.17), one per CCG of the group.
    pub(super) group: Vec<Workspace>,
}

/// Locality means, one entry per practice (the mean of the practice's own locality).
#[derive(Debug, Default)]
pub(super) struct Peers {
    pub(super) engagement: Vec<f32>,
    pub(super) trust: Vec<f32>,
}

/// One month's random numbers for the adjustment and survey phases.
#[derive(Debug, Default)]
pub(super) struct Draws {
    /// Shocks to trust and engagement, uniform on [-1, 1).
    pub(super) shock_trust: Vec<f32>,
    pub(super) shock_engagement: Vec<f32>,
    /// 16-bit uniforms for the survey answers: engaged, influence, view, burden, then one per
    /// action's support.
    pub(super) answer: [Vec<u16>; 8],
}

impl Draws {
    /// Size the buffers for `n` practices, rounded up to whole blocks of eight.
    pub(super) fn resize(&mut self, n: usize) -> usize {
        let blocks = n.div_ceil(LANES);
        self.shock_trust.resize(blocks * LANES, 0.0);
        self.shock_engagement.resize(blocks * LANES, 0.0);
        for a in &mut self.answer {
            a.resize(blocks * LANES, 0);
        }
        blocks
    }

    /// Fill the buffers for `n` practices, a block of eight practices at a time, with three
    /// steps of the eight lanes per block (the last block's surplus is unused). The 512 bits of
    /// a step, read as little-endian bytes, are laid out so that vector code can store them
    /// without shuffles: in the first step, 32-bit word `j` (of 16) gives the trust shock of
    /// practice `j` of the block for `j < 8` and the engagement shock of practice `j - 8`
    /// otherwise (its top 24 bits); in the second and third, 16-bit word `8k + j` is the uniform
    /// of survey answer `k` (`4 + k` in the third step) of practice `j`.
    pub(super) fn fill(&mut self, n: usize, lanes: &mut Lanes) {
        let blocks = self.resize(n);
        for b in 0..blocks {
            let block = b * LANES..(b + 1) * LANES;
            let x = lanes.step();
            let word32 = |j: usize| (x[j / 2] >> (32 * (j % 2))) as u32;
            for j in 0..LANES {
                self.shock_trust[block.start + j] = shock(word32(j) >> 8);
                self.shock_engagement[block.start + j] = shock(word32(LANES + j) >> 8);
            }
            for half in 0..2 {
                let y = lanes.step();
                for k in 0..4 {
                    for (j, u) in self.answer[4 * half + k][block.clone()]
                        .iter_mut()
                        .enumerate()
                    {
                        *u = (y[2 * k + j / 4] >> (16 * (j % 4))) as u16;
                    }
                }
            }
        }
    }

    /// [`Draws::fill`] with AVX2 instructions: the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn fill_avx2(&mut self, n: usize, lanes: &mut Lanes) {
        use std::arch::x86_64::*;
        let blocks = self.resize(n);
        let mut state = rng::avx2::State::load(lanes);
        let half = _mm256_set1_ps(0.5);
        let scale = _mm256_set1_ps(SHOCK_SCALE);
        let one = _mm256_set1_ps(1.0);
        let to_shock = |w: __m256i| {
            let u = _mm256_cvtepi32_ps(_mm256_srli_epi32::<8>(w));
            _mm256_sub_ps(_mm256_mul_ps(_mm256_add_ps(u, half), scale), one)
        };
        for b in 0..blocks {
            let at = b * LANES;
            let [x_lo, x_hi] = state.step();
            // SAFETY: every column holds `blocks * LANES` values, so the eight values (32 bytes
            // of f32, 16 bytes of u16) from `at` are in bounds; the stores are unaligned.
            unsafe {
                _mm256_storeu_ps(self.shock_trust.as_mut_ptr().add(at), to_shock(x_lo));
                _mm256_storeu_ps(self.shock_engagement.as_mut_ptr().add(at), to_shock(x_hi));
                for h in 0..2 {
                    let [y_lo, y_hi] = state.step();
                    let parts = [
                        _mm256_castsi256_si128(y_lo),
                        _mm256_extracti128_si256::<1>(y_lo),
                        _mm256_castsi256_si128(y_hi),
                        _mm256_extracti128_si256::<1>(y_hi),
                    ];
                    for (k, part) in parts.into_iter().enumerate() {
                        let column = self.answer[4 * h + k].as_mut_ptr().add(at);
                        _mm_storeu_si128(column as *mut __m128i, part);
                    }
                }
            }
        }
        state.store(lanes);
    }
}

/// `2 / 2^24`: the width of the cells of a 24-bit shock.
pub(super) const SHOCK_SCALE: f32 = 2.0 / (1u32 << 24) as f32;

/// The midpoint of cell `cell` (24 bits) of 2^24 equal cells of [-1, 1): symmetric about zero.
#[inline(always)]
pub(super) fn shock(cell: u32) -> f32 {
    (cell as f32 + 0.5) * SHOCK_SCALE - 1.0
}

//! The tally written each month (ODD 7.10): the survey's counts and the state sums.

use super::survey::Counts;
use crate::metrics::{TALLY_LEN, Tally, tally as ix};
use crate::model::CommissioningLevel;
use crate::model::practice::Practices;
use crate::scenario::Scenario;
use crate::simd::Simd;

impl Counts {
    /// Add the counts and the month's state sums of `pr`, and the CCG (with its `patients`), to
    /// the tally.
    pub(super) fn add_to(
        &self,
        t: &mut Tally,
        pr: &Practices,
        control: f32,
        level: CommissioningLevel,
        patients: u64,
    ) {
        let n = self.practices;
        t[ix::PRACTICES] += n;
        t[ix::GOVERNING_BODY] += self.governing_body;
        t[ix::FORMAL_ROLE] += self.formal;
        t[ix::NO_ROLE] += self.no_role;
        t[ix::ENGAGED] += self.engaged;
        t[ix::ENGAGED_FORMAL] += self.engaged - self.engaged_no_role;
        t[ix::ENGAGED_NO_ROLE] += self.engaged_no_role;
        t[ix::HIGHLY_ENGAGED] += self.highly;
        t[ix::INFLUENCE] += self.influence;
        t[ix::INFLUENCE_FORMAL] += self.influence_formal;
        t[ix::INFLUENCE_NO_ROLE] += self.influence_no_role;
        t[ix::POSITIVE_ALL] += self.positive;
        t[ix::POSITIVE_GOVERNING_BODY] += self.positive_governing_body;
        t[ix::POSITIVE_NO_ROLE] += self.positive_no_role;
        t[ix::NEUTRAL_NO_ROLE] += self.neutral_no_role;
        for (k, s) in self.support.iter().enumerate() {
            t[ix::SUPPORT + k] += *s;
        }
        t[ix::BURDEN_POSITIVE] += self.burden_positive;
        for (k, s) in self.expected.iter().enumerate() {
            t[ix::EXPECTED_ANSWERS + k] += *s;
        }
        let [e, e2, tr, t2, f, q, b] = state_sums(pr);
        t[ix::SUM_ENGAGEMENT] += e;
        t[ix::SUM_SQ_ENGAGEMENT] += e2;
        t[ix::SUM_TRUST] += tr;
        t[ix::SUM_SQ_TRUST] += t2;
        t[ix::SUM_INFLUENCE] += f;
        t[ix::SUM_QUALITY] += q;
        t[ix::SUM_BURDEN] += b;
        // Every practice of a CCG feels the same control.
        t[ix::TOP_DOWN] += control as f64 * n;
        // The CCG itself, counted at its level.
        t[ix::CCGS + level.index()] += 1.0;
        t[ix::CCG_COUNT] += 1.0;
        t[ix::PATIENTS] += patients as f64;
    }
}

/// The month's state sums of the real practices: engagement, its square, trust, its square,
/// influence, quality and burden, each exactly as [`sum`] or [`sum_sq`] gives it (the same lanes,
/// the same order), in one pass: with AVX2 (and AVX-512) in four double-precision lanes per sum,
/// held in registers.
pub(super) fn state_sums(pr: &Practices) -> [f64; 7] {
    #[cfg(target_arch = "x86_64")]
    if Simd::get() >= Simd::Avx2 {
        // SAFETY: `Simd::get` gives these levels only if the processor supports AVX2.
        return unsafe { state_sums_avx2(pr) };
    }
    state_sums_portable(pr)
}

/// [`state_sums`] for any processor.
#[allow(clippy::needless_range_loop)] // `k` is the lane of seven accumulators.
fn state_sums_portable(pr: &Practices) -> [f64; 7] {
    let n = pr.len();
    let (e, t, f) = (&pr.engagement[..n], &pr.trust[..n], &pr.influence[..n]);
    let (q, b) = (&pr.quality[..n], &pr.burden[..n]);
    let mut acc = [[0.0f64; 4]; 7];
    let whole = n / 4 * 4;
    for base in (0..whole).step_by(4) {
        for k in 0..4 {
            let i = base + k;
            acc[0][k] += e[i] as f64;
            acc[1][k] += (e[i] * e[i]) as f64;
            acc[2][k] += t[i] as f64;
            acc[3][k] += (t[i] * t[i]) as f64;
            acc[4][k] += f[i] as f64;
            acc[5][k] += q[i] as f64;
            acc[6][k] += b[i] as f64;
        }
    }
    add_rest(pr, whole, acc.map(|a| (a[0] + a[1]) + (a[2] + a[3])))
}

/// [`state_sums`] with AVX2: each sum's four lanes in one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn state_sums_avx2(pr: &Practices) -> [f64; 7] {
    use std::arch::x86_64::*;
    let n = pr.len();
    let (e, t, f) = (&pr.engagement[..n], &pr.trust[..n], &pr.influence[..n]);
    let (q, b) = (&pr.quality[..n], &pr.burden[..n]);
    let zero = _mm256_setzero_pd();
    let (mut se, mut se2, mut st, mut st2) = (zero, zero, zero, zero);
    let (mut sf, mut sq, mut sb) = (zero, zero, zero);
    let whole = n / 4 * 4;
    for i in (0..whole).step_by(4) {
        // SAFETY: `i + 4 <= whole <= n`, and every column holds at least `n` entries.
        let (ei, ti, fi, qi, bi) = unsafe {
            (
                _mm_loadu_ps(e.as_ptr().add(i)),
                _mm_loadu_ps(t.as_ptr().add(i)),
                _mm_loadu_ps(f.as_ptr().add(i)),
                _mm_loadu_ps(q.as_ptr().add(i)),
                _mm_loadu_ps(b.as_ptr().add(i)),
            )
        };
        se = _mm256_add_pd(se, _mm256_cvtps_pd(ei));
        se2 = _mm256_add_pd(se2, _mm256_cvtps_pd(_mm_mul_ps(ei, ei)));
        st = _mm256_add_pd(st, _mm256_cvtps_pd(ti));
        st2 = _mm256_add_pd(st2, _mm256_cvtps_pd(_mm_mul_ps(ti, ti)));
        sf = _mm256_add_pd(sf, _mm256_cvtps_pd(fi));
        sq = _mm256_add_pd(sq, _mm256_cvtps_pd(qi));
        sb = _mm256_add_pd(sb, _mm256_cvtps_pd(bi));
    }
    let lanes = |v: __m256d| -> f64 {
        let mut a = [0.0f64; 4];
        // SAFETY: `a` holds four doubles.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
        (a[0] + a[1]) + (a[2] + a[3])
    };
    let total = [
        lanes(se),
        lanes(se2),
        lanes(st),
        lanes(st2),
        lanes(sf),
        lanes(sq),
        lanes(sb),
    ];
    add_rest(pr, whole, total)
}

/// Add the practices from `whole` (a multiple of four) to the end one by one to the lanes'
/// `total`, as [`sum`] does.
#[inline(always)]
fn add_rest(pr: &Practices, whole: usize, mut total: [f64; 7]) -> [f64; 7] {
    let n = pr.len();
    let (e, t, f) = (&pr.engagement[..n], &pr.trust[..n], &pr.influence[..n]);
    let (q, b) = (&pr.quality[..n], &pr.burden[..n]);
    for i in whole..n {
        total[0] += e[i] as f64;
        total[1] += (e[i] * e[i]) as f64;
        total[2] += t[i] as f64;
        total[3] += (t[i] * t[i]) as f64;
        total[4] += f[i] as f64;
        total[5] += q[i] as f64;
        total[6] += b[i] as f64;
    }
    total
}

/// Sum in four interleaved double-precision lanes (a fixed order, so the result is the same on
/// every run, and accurate for very large CCGs): the reference for [`state_sums`].
#[cfg(test)]
pub(super) fn lanes(xs: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = xs.chunks_exact(4);
    let rest = chunks.remainder();
    for chunk in chunks {
        for k in 0..4 {
            acc[k] += f(chunk[k]) as f64;
        }
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in rest {
        total += f(x) as f64;
    }
    total
}

#[cfg(test)]
pub(super) fn sum(xs: &[f32]) -> f64 {
    lanes(xs, |x| x)
}

#[cfg(test)]
pub(super) fn sum_sq(xs: &[f32]) -> f64 {
    lanes(xs, |x| x * x)
}

/// A zeroed tally per tick of `scenario`.
pub fn empty_tallies(scenario: &Scenario) -> Vec<Tally> {
    vec![[0.0; TALLY_LEN]; scenario.months as usize + 1]
}

//! Random-number streams.
//!
//! Every unit of work (one CCG in one replicate, or the population builder) gets its own
//! [`ModelRng`] stream, seeded from the master seed and the unit's indices by SplitMix64 mixing.
//! The algorithm is named (xoshiro256++), so results do not change when `rand` changes its
//! default generator, and they do not depend on which thread runs the unit.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere in the model.
pub type ModelRng = Xoshiro256PlusPlus;

/// What a stream is for; part of its seed so streams for different purposes never coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Building the population's structure (CCG sizes, list sizes, commissioning order).
    Structure = 1,
    /// One CCG in one replicate: initial practice states and every draw of the run.
    Unit = 2,
    /// The seed of one point of a sweep (indices: point, 0), or of one candidate of a
    /// calibration (indices: generation, candidate).
    Sweep = 3,
    /// Random designs: Latin hypercube strata and Morris trajectories.
    Design = 4,
    /// Bootstrap resampling of sensitivity estimates.
    Bootstrap = 5,
    /// Proposals of an ABC-SMC calibration (indices: generation, candidate).
    Calibration = 6,
    /// A CCG's choices of co-commissioning level (indices: replicate, CCG).
    Choice = 7,
    /// Leaders who can walk away (ODD 7.15): who leaves a seat and who takes a vacant one, for
    /// one CCG in one replicate (indices: replicate, CCG index). Drawn only when
    /// `model.leadership.enabled`, so the unit stream and its lanes are the same with it or not.
    Leadership = 8,
    /// Mergers (ODD 7.17): which practices merge and with whom, and who loses a seat when CCGs
    /// merge, for one CCG in one replicate (indices: replicate, CCG index). Drawn only when
    /// `model.mergers.enabled`.
    Mergers = 9,
    /// `ccgsim optimise`: (0, state) the master seed of a state of the world, shared by every
    /// candidate (common random numbers); (1, parameter) the Latin hypercube of the states;
    /// (2, generation) the variation (initial population, selection, crossover, mutation).
    Optimise = 10,
}

/// SplitMix64 finaliser: a bijective mix of 64 bits (Steele, Lea and Flood 2014).
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the stream for `purpose` and the indices `a`, `b` under master seed `seed`.
pub fn derive_seed(seed: u64, purpose: Purpose, a: u64, b: u64) -> u64 {
    let mut h = splitmix64(seed ^ 0x6363_6773_696d_0001);
    h = splitmix64(h ^ purpose as u64);
    h = splitmix64(h ^ a);
    splitmix64(h ^ b)
}

/// The stream for `purpose` and the indices `a`, `b` under master seed `seed`.
pub fn stream(seed: u64, purpose: Purpose, a: u64, b: u64) -> ModelRng {
    ModelRng::seed_from_u64(derive_seed(seed, purpose, a, b))
}

/// Number of lanes of [`Lanes`].
pub const LANES: usize = 8;

/// Eight xoshiro256++ generators stepped together, for a unit's bulk draws (the monthly shocks
/// and survey answers). Lane `l` is exactly `ModelRng::seed_from_u64(s_l)`, where `s_l` is the
/// `l`-th output of the unit's own stream, so the lanes are derived from the seed like everything
/// else. Stepping eight independent states at once lets the compiler use vector instructions,
/// which one xoshiro state, serial by construction, cannot.
#[derive(Debug, Clone)]
pub struct Lanes {
    /// Word `w` of the state of lane `l` is `s[w][l]`.
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// Eight lanes seeded from the next eight outputs of `rng`.
    pub fn from_stream(rng: &mut ModelRng) -> Lanes {
        use rand::Rng;
        let mut s = [[0u64; LANES]; 4];
        for l in 0..LANES {
            // SplitMix64 expansion of a 64-bit seed, as `SeedableRng::seed_from_u64` does it.
            let seed = rng.next_u64();
            for (w, word) in s.iter_mut().enumerate() {
                word[l] =
                    splitmix64(seed.wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(w as u64)));
            }
        }
        Lanes { s }
    }

    /// Advance every lane by `steps` outputs without using them: what a draw that is not
    /// needed this month would have consumed, so later draws stay where they would be.
    pub fn skip(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
    }

    /// The next output of every lane.
    #[inline(always)]
    pub fn step(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }
}

/// [`Lanes`] in AVX2 registers: the same generators, stepped with 256-bit integer instructions.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::{LANES, Lanes};
    use std::arch::x86_64::*;

    /// The state of eight lanes: word `w` of lanes 0-3 in `s[2w]`, of lanes 4-7 in `s[2w + 1]`.
    ///
    /// # Safety
    ///
    /// Every method requires a processor with AVX2 (`is_x86_feature_detected!("avx2")`).
    pub struct State {
        s: [__m256i; 8],
    }

    impl State {
        /// Load the state of `lanes`.
        ///
        /// # Safety
        ///
        /// The processor must support AVX2.
        #[inline]
        #[target_feature(enable = "avx2")]
        pub fn load(lanes: &Lanes) -> State {
            let mut s = [_mm256_setzero_si256(); 8];
            for (w, word) in lanes.s.iter().enumerate() {
                for h in 0..2 {
                    // SAFETY: `word[4h..4h + 4]` is 32 readable bytes; unaligned load.
                    s[2 * w + h] =
                        unsafe { _mm256_loadu_si256(word[4 * h..].as_ptr() as *const __m256i) };
                }
            }
            State { s }
        }

        /// Store the state back into `lanes`.
        ///
        /// # Safety
        ///
        /// The processor must support AVX2.
        #[inline]
        #[target_feature(enable = "avx2")]
        pub fn store(&self, lanes: &mut Lanes) {
            for (w, word) in lanes.s.iter_mut().enumerate() {
                for h in 0..2 {
                    // SAFETY: `word[4h..4h + 4]` is 32 writable bytes; unaligned store.
                    unsafe {
                        _mm256_storeu_si256(
                            word[4 * h..].as_mut_ptr() as *mut __m256i,
                            self.s[2 * w + h],
                        )
                    };
                }
            }
        }

        /// The next output of every lane: lanes 0-3, then lanes 4-7, exactly as
        /// [`Lanes::step`] gives them.
        ///
        /// # Safety
        ///
        /// The processor must support AVX2.
        #[inline]
        #[target_feature(enable = "avx2")]
        pub fn step(&mut self) -> [__m256i; 2] {
            #[inline(always)]
            fn rotl<const L: i32, const R: i32>(x: __m256i) -> __m256i {
                // SAFETY: AVX2 is enabled in every caller.
                unsafe { _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x)) }
            }
            let mut out = [_mm256_setzero_si256(); 2];
            for (h, o) in out.iter_mut().enumerate() {
                let [mut s0, mut s1, mut s2, mut s3] =
                    [self.s[h], self.s[2 + h], self.s[4 + h], self.s[6 + h]];
                *o = _mm256_add_epi64(rotl::<23, 41>(_mm256_add_epi64(s0, s3)), s0);
                let t = _mm256_slli_epi64::<17>(s1);
                s2 = _mm256_xor_si256(s2, s0);
                s3 = _mm256_xor_si256(s3, s1);
                s1 = _mm256_xor_si256(s1, s2);
                s0 = _mm256_xor_si256(s0, s3);
                s2 = _mm256_xor_si256(s2, t);
                s3 = rotl::<45, 19>(s3);
                [self.s[h], self.s[2 + h], self.s[4 + h], self.s[6 + h]] = [s0, s1, s2, s3];
            }
            out
        }
    }

    const _: () = assert!(LANES == 8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_differ_by_every_index() {
        let base = derive_seed(1, Purpose::Unit, 0, 0);
        assert_ne!(base, derive_seed(2, Purpose::Unit, 0, 0));
        assert_ne!(base, derive_seed(1, Purpose::Structure, 0, 0));
        assert_ne!(base, derive_seed(1, Purpose::Unit, 1, 0));
        assert_ne!(base, derive_seed(1, Purpose::Unit, 0, 1));
        // Swapping the indices must give another stream.
        assert_ne!(
            derive_seed(1, Purpose::Unit, 1, 2),
            derive_seed(1, Purpose::Unit, 2, 1)
        );
    }

    #[test]
    fn every_lane_is_a_xoshiro256plusplus_stream_seeded_from_the_unit_stream() {
        use rand::Rng;
        let mut unit = stream(5, Purpose::Unit, 2, 9);
        let mut seeds = unit.clone();
        let mut lanes = Lanes::from_stream(&mut unit);
        let mut reference: Vec<ModelRng> = (0..LANES)
            .map(|_| ModelRng::seed_from_u64(seeds.next_u64()))
            .collect();
        // The unit stream moved on by exactly the eight seeds.
        assert_eq!(unit.next_u64(), seeds.next_u64());
        for _ in 0..100 {
            let out = lanes.step();
            for (l, r) in reference.iter_mut().enumerate() {
                assert_eq!(out[l], r.next_u64());
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_step_like_the_portable_ones() {
        use std::arch::x86_64::*;
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut portable = Lanes::from_stream(&mut stream(8, Purpose::Unit, 1, 1));
        let mut vector = portable.clone();
        // SAFETY: AVX2 is available, checked above.
        unsafe {
            let mut state = avx2::State::load(&vector);
            for _ in 0..50 {
                let [lo, hi] = state.step();
                let mut got = [0u64; LANES];
                _mm256_storeu_si256(got.as_mut_ptr() as *mut __m256i, lo);
                _mm256_storeu_si256(got[4..].as_mut_ptr() as *mut __m256i, hi);
                assert_eq!(got, portable.step());
            }
            state.store(&mut vector);
        }
        assert_eq!(vector.step(), portable.step());
    }

    #[test]
    fn a_stream_is_reproducible() {
        let mut a = stream(42, Purpose::Unit, 3, 7);
        let mut b = stream(42, Purpose::Unit, 3, 7);
        let xa: Vec<u64> = (0..8).map(|_| a.random()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.random()).collect();
        assert_eq!(xa, xb);
    }
}

//! The Sobol' low-discrepancy sequence (Sobol' 1967) in Gray-code order (Antonov and Saleev 1979),
//! with the direction numbers of Joe and Kuo (2008, the `new-joe-kuo-6.21201` set), for up to
//! [`MAX_DIMS`] dimensions. Points are exact dyadic fractions of 32 bits, so the sequence is the
//! same on every platform and the first 2^m points of each dimension form a (0, m, 1)-net: one point
//! in each interval of width 2^-m, which is what the Saltelli estimators rely on.

/// Bits of each coordinate; 2^32 points per dimension at most.
const BITS: usize = 32;

/// Joe-Kuo primitive polynomials and initial direction numbers, dimensions 2 to 45, each written
/// `s a m_1 ... m_s`: degree, the polynomial's inner coefficients as a number, and the initial
/// odd integers m_k < 2^k. Dimension 1 is the van der Corput sequence and needs none.
const JOE_KUO: &str = "1 0 1|2 1 1 3|3 1 1 3 1|3 2 1 1 1|4 1 1 1 3 3|4 4 1 3 5 13|5 2 1 1 5 5 17|\
5 4 1 1 5 5 5|5 7 1 1 7 11 19|5 11 1 1 5 1 1|5 13 1 1 1 3 11|5 14 1 3 5 5 31|6 1 1 3 3 9 7 49|\
6 13 1 1 1 15 21 21|6 16 1 3 1 13 27 49|6 19 1 1 1 15 7 5|6 22 1 3 1 15 13 25|6 25 1 1 5 5 19 61|\
7 1 1 3 7 11 23 15 103|7 4 1 3 7 13 13 15 69|7 7 1 1 3 13 7 35 63|7 8 1 3 5 9 1 25 53|\
7 14 1 3 1 13 9 35 107|7 19 1 3 1 5 27 61 31|7 21 1 1 5 11 19 41 61|7 28 1 3 5 3 3 13 69|\
7 31 1 1 7 13 1 19 1|7 32 1 3 7 5 13 19 59|7 37 1 1 3 9 25 29 41|7 41 1 3 5 13 23 1 55|\
7 42 1 3 7 3 13 59 17|7 50 1 3 1 3 5 53 69|7 55 1 1 5 5 23 33 13|7 56 1 1 7 7 1 61 123|\
7 59 1 1 7 9 13 61 49|7 62 1 3 3 5 3 55 33|8 14 1 3 1 15 31 13 49 245|8 21 1 3 5 15 31 59 63 97|\
8 22 1 3 1 11 11 11 77 249|8 38 1 3 1 11 27 43 71 9|8 47 1 1 7 15 21 11 81 45|\
8 49 1 3 7 3 25 31 65 79|8 50 1 3 1 1 19 11 3 205|8 52 1 1 5 9 19 21 29 157";

/// Dimensions the embedded table supports (a Sobol' design with second-order indices over k
/// parameters needs 2k).
pub const MAX_DIMS: usize = 45;

/// A generator of the first points of the Sobol' sequence in `dims` dimensions.
#[derive(Debug, Clone)]
pub struct Sobol {
    /// Direction numbers, `dims * BITS`, scaled to 32-bit integers.
    directions: Vec<u32>,
    /// The current point as integers.
    state: Vec<u32>,
    /// Index of the next point.
    index: u64,
}

impl Sobol {
    /// A generator in `dims` dimensions (1 to [`MAX_DIMS`]); `None` beyond the table.
    pub fn new(dims: usize) -> Option<Sobol> {
        if dims == 0 || dims > MAX_DIMS {
            return None;
        }
        let mut directions = vec![0u32; dims * BITS];
        for (k, v) in directions[..BITS].iter_mut().enumerate() {
            *v = 1 << (BITS - 1 - k);
        }
        for (d, row) in JOE_KUO.split('|').take(dims - 1).enumerate() {
            let nums: Vec<u32> = row
                .split_whitespace()
                .map(|x| x.parse().expect("the embedded table is numeric"))
                .collect();
            let (s, a, m) = (nums[0] as usize, nums[1], &nums[2..]);
            let v = &mut directions[(d + 1) * BITS..(d + 2) * BITS];
            for k in 0..s.min(BITS) {
                v[k] = m[k] << (BITS - 1 - k);
            }
            for k in s..BITS {
                let mut x = v[k - s] ^ (v[k - s] >> s);
                for j in 1..s {
                    if (a >> (s - 1 - j)) & 1 == 1 {
                        x ^= v[k - j];
                    }
                }
                v[k] = x;
            }
        }
        Some(Sobol {
            directions,
            state: vec![0; dims],
            index: 0,
        })
    }

    pub fn dims(&self) -> usize {
        self.state.len()
    }

    /// Write the next point into `out` (length `dims`), each coordinate in [0, 1).
    pub fn next_into(&mut self, out: &mut [f64]) {
        const SCALE: f64 = 1.0 / (1u64 << BITS) as f64;
        for (o, &s) in out.iter_mut().zip(&self.state) {
            *o = s as f64 * SCALE;
        }
        // Gray-code step: flip the direction number of the lowest zero bit of the index.
        let c = (!self.index).trailing_zeros() as usize;
        if c < BITS {
            for (d, s) in self.state.iter_mut().enumerate() {
                *s ^= self.directions[d * BITS + c];
            }
        }
        self.index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_points_match_the_reference_sequence() {
        // The Gray-code Sobol' sequence in two dimensions, as published implementations give it.
        let want = [
            [0.0, 0.0],
            [0.5, 0.5],
            [0.75, 0.25],
            [0.25, 0.75],
            [0.375, 0.375],
            [0.875, 0.875],
            [0.625, 0.125],
            [0.125, 0.625],
        ];
        let mut s = Sobol::new(2).unwrap();
        let mut x = [0.0; 2];
        for w in want {
            s.next_into(&mut x);
            assert_eq!(x, w);
        }
    }

    #[test]
    fn every_dimension_is_a_net_in_each_projection() {
        // The first 2^m points put exactly one point in each interval [j/2^m, (j+1)/2^m).
        let m = 10;
        let n = 1usize << m;
        let mut s = Sobol::new(MAX_DIMS).unwrap();
        let mut x = vec![0.0; MAX_DIMS];
        let mut seen = vec![vec![false; n]; MAX_DIMS];
        for _ in 0..n {
            s.next_into(&mut x);
            for (d, &v) in x.iter().enumerate() {
                let cell = (v * n as f64) as usize;
                assert!(!seen[d][cell], "dimension {} repeats cell {cell}", d + 1);
                seen[d][cell] = true;
            }
        }
    }

    #[test]
    fn pairs_of_dimensions_are_well_spread() {
        // Any two dimensions' first 2^(2m) points fill every 2^m x 2^m square of a grid
        // (a (t, 2m, 2)-net with small t would put one in each; allow a few empty squares).
        let n = 1usize << 12;
        let mut s = Sobol::new(MAX_DIMS).unwrap();
        let mut x = vec![0.0; MAX_DIMS];
        let pts: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                s.next_into(&mut x);
                x.clone()
            })
            .collect();
        for (a, b) in [(0, 1), (3, 17), (20, 44), (10, 11)] {
            let mut grid = [[0u32; 16]; 16];
            for p in &pts {
                grid[(p[a] * 16.0) as usize][(p[b] * 16.0) as usize] += 1;
            }
            let empty = grid.iter().flatten().filter(|&&c| c == 0).count();
            assert_eq!(empty, 0, "dimensions {a} and {b}");
        }
    }

    #[test]
    fn unsupported_dimensions_are_refused() {
        assert!(Sobol::new(0).is_none());
        assert!(Sobol::new(MAX_DIMS + 1).is_none());
    }
}

//! Experimental designs: where in parameter space a sweep's points lie.
//!
//! Every design produces points in the unit hypercube, one coordinate per varied parameter, in a
//! fixed order; [`super::Parameter::value_at`] maps a coordinate to the parameter's value (a range
//! with its distribution, or an entry of a list of values). Random designs draw from named streams
//! of the sweep seed, so a design is the same on every machine and can be regenerated from the
//! manifest when the results are analysed.
//!
//! - `grid`: full factorial, the first parameter varying slowest.
//! - `zip`: the i-th value of every parameter together (lists of equal length).
//! - `lhs`: Latin hypercube (McKay, Beckman and Conover 1979): each parameter's range is cut into N
//!   equal strata, each stratum sampled once, strata paired at random across parameters.
//! - `sobol`: Saltelli's scheme (Saltelli 2002; Saltelli et al. 2010) on a Sobol' sequence of 2k
//!   dimensions: for each of N base rows, A, then A with column i from B (i = 1..k), then (for
//!   second-order indices) B with column i from A, then B. N (k + 2) points, or N (2k + 2).
//! - `morris`: r elementary-effects trajectories (Morris 1991) of k + 1 points on a p-level grid,
//!   each changing one parameter by delta = p / (2 (p - 1)); optionally the r most spread out of a
//!   larger set of candidates (Campolongo, Cariboni and Saltelli 2007), chosen greedily.

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::sobol_seq::{MAX_DIMS, Sobol};
use crate::rng::{Purpose, stream};

/// A design and its sizes, as validated from the sweep file and recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Design {
    Grid,
    Zip,
    Lhs {
        points: u32,
    },
    Sobol {
        /// Base samples, a power of two.
        n: u32,
        second_order: bool,
    },
    Morris {
        trajectories: u32,
        /// Grid levels per parameter, even.
        levels: u32,
        /// Candidate trajectories to choose the `trajectories` most spread out from (equal to
        /// `trajectories`: no selection).
        candidates: u32,
    },
}

impl Design {
    pub fn kind(&self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::Zip => "zip",
            Design::Lhs { .. } => "lhs",
            Design::Sobol { .. } => "sobol",
            Design::Morris { .. } => "morris",
        }
    }

    /// The number of points for `levels[i]` values of parameter i (grid and zip; other designs
    /// need only the count of parameters). `None` on overflow.
    pub fn point_count(&self, levels: &[usize]) -> Option<usize> {
        let k = levels.len();
        match self {
            Design::Grid => levels.iter().try_fold(1usize, |a, &l| a.checked_mul(l)),
            Design::Zip => levels.first().copied(),
            Design::Lhs { points } => Some(*points as usize),
            Design::Sobol { n, second_order } => {
                let per = if *second_order { 2 * k + 2 } else { k + 2 };
                (*n as usize).checked_mul(per)
            }
            Design::Morris { trajectories, .. } => (*trajectories as usize).checked_mul(k + 1),
        }
    }

    /// Morris's step in unit coordinates.
    pub fn morris_delta(levels: u32) -> f64 {
        levels as f64 / (2.0 * (levels as f64 - 1.0))
    }

    /// The design's points in the unit hypercube: `levels[i]` is the number of values of
    /// parameter i (used by grid and zip, where a list's entry j of m sits at (j + 0.5) / m and a
    /// range's level j of m at j / (m - 1)); `lists[i]` says whether parameter i is a list.
    pub fn unit_points(&self, levels: &[usize], lists: &[bool], seed: u64) -> Vec<Vec<f64>> {
        let k = levels.len();
        let at = |i: usize, j: usize| -> f64 {
            let m = levels[i];
            if lists[i] {
                (j as f64 + 0.5) / m as f64
            } else if m <= 1 {
                0.5
            } else {
                j as f64 / (m - 1) as f64
            }
        };
        match self {
            Design::Grid => {
                let total = self.point_count(levels).unwrap_or(0);
                (0..total)
                    .map(|mut p| {
                        let mut x = vec![0.0; k];
                        for i in (0..k).rev() {
                            x[i] = at(i, p % levels[i]);
                            p /= levels[i];
                        }
                        x
                    })
                    .collect()
            }
            Design::Zip => {
                let n = levels.first().copied().unwrap_or(0);
                (0..n).map(|j| (0..k).map(|i| at(i, j)).collect()).collect()
            }
            Design::Lhs { points } => latin_hypercube(*points as usize, k, seed),
            Design::Sobol { n, second_order } => saltelli(*n as usize, k, *second_order),
            Design::Morris {
                trajectories,
                levels,
                candidates,
            } => {
                let all: Vec<Vec<Vec<f64>>> = (0..*candidates)
                    .map(|t| morris_trajectory(k, *levels, seed, t))
                    .collect();
                let chosen = most_spread(&all, *trajectories as usize);
                chosen.into_iter().flat_map(|t| all[t].clone()).collect()
            }
        }
    }
}

/// The most parameters a Sobol' design can take: A and B come from one 2k-dimensional sequence.
pub const SOBOL_MAX_PARAMETERS: usize = MAX_DIMS / 2;

fn latin_hypercube(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; k]; n];
    for i in 0..k {
        let mut rng = stream(seed, Purpose::Design, 0, i as u64);
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        for (point, s) in points.iter_mut().zip(strata) {
            let u: f64 = rng.random();
            point[i] = (s as f64 + u) / n as f64;
        }
    }
    points
}

fn saltelli(n: usize, k: usize, second_order: bool) -> Vec<Vec<f64>> {
    let mut seq = Sobol::new(2 * k).expect("parameter count checked at validation");
    let mut row = vec![0.0; 2 * k];
    let per = if second_order { 2 * k + 2 } else { k + 2 };
    let mut out = Vec::with_capacity(n * per);
    for _ in 0..n {
        seq.next_into(&mut row);
        let (a, b) = row.split_at(k);
        out.push(a.to_vec());
        for i in 0..k {
            let mut ab = a.to_vec();
            ab[i] = b[i];
            out.push(ab);
        }
        if second_order {
            for i in 0..k {
                let mut ba = b.to_vec();
                ba[i] = a[i];
                out.push(ba);
            }
        }
        out.push(b.to_vec());
    }
    out
}

/// One trajectory: a random base point on the grid {0, 1/(p-1), ..., 1 - delta}, then each
/// parameter in random order moved by +delta or -delta (Morris 1991).
fn morris_trajectory(k: usize, levels: u32, seed: u64, t: u32) -> Vec<Vec<f64>> {
    let mut rng = stream(seed, Purpose::Design, 1, t as u64);
    let p = levels as usize;
    let delta = Design::morris_delta(levels);
    let step = 1.0 / (p - 1) as f64;
    // Base levels from which +delta stays on the grid: 0 ..= p/2 - 1.
    let mut start = vec![0.0; k];
    let mut up = vec![true; k];
    for i in 0..k {
        let lo = rng.random_range(0..p / 2) as f64 * step;
        up[i] = rng.random::<bool>();
        start[i] = if up[i] { lo } else { lo + delta };
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(&mut rng);
    let mut out = Vec::with_capacity(k + 1);
    let mut x = start;
    out.push(x.clone());
    for i in order {
        x[i] = if up[i] { x[i] + delta } else { x[i] - delta };
        // Keep coordinates exactly on the grid.
        x[i] = (x[i] / step).round() * step;
        out.push(x.clone());
    }
    out
}

/// Indices of `r` trajectories of `all` chosen for spread: starting from all of them, drop one at a
/// time the trajectory whose removal leaves the largest sum of pairwise distances (a greedy form of
/// Campolongo et al. 2007). Ties go to the lower index, so the choice is deterministic.
fn most_spread(all: &[Vec<Vec<f64>>], r: usize) -> Vec<usize> {
    let m = all.len();
    if r >= m {
        return (0..m).collect();
    }
    let dist = |a: &[Vec<f64>], b: &[Vec<f64>]| -> f64 {
        let mut d = 0.0;
        for x in a {
            for y in b {
                d += x
                    .iter()
                    .zip(y)
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum::<f64>()
                    .sqrt();
            }
        }
        d
    };
    let mut d = vec![0.0; m * m];
    for i in 0..m {
        for j in i + 1..m {
            let v = dist(&all[i], &all[j]);
            d[i * m + j] = v;
            d[j * m + i] = v;
        }
    }
    let mut keep: Vec<usize> = (0..m).collect();
    while keep.len() > r {
        // Removing the one with the smallest summed distance to the others keeps the most.
        let (pos, _) = keep
            .iter()
            .enumerate()
            .map(|(pos, &i)| (pos, keep.iter().map(|&j| d[i * m + j]).sum::<f64>()))
            .fold(
                (0, f64::INFINITY),
                |best, cur| {
                    if cur.1 < best.1 { cur } else { best }
                },
            );
        keep.remove(pos);
    }
    keep
}

/// For a Morris design's points: per trajectory step, the parameter moved and the signed step
/// (+delta or -delta) in unit coordinates. `None` if consecutive points do not differ in exactly
/// one coordinate.
pub fn morris_steps(points: &[Vec<f64>], k: usize) -> Option<Vec<(usize, f64)>> {
    let mut steps = Vec::new();
    for traj in points.chunks(k + 1) {
        for w in traj.windows(2) {
            let moved: Vec<usize> = (0..k).filter(|&i| w[0][i] != w[1][i]).collect();
            if moved.len() != 1 {
                return None;
            }
            steps.push((moved[0], w[1][moved[0]] - w[0][moved[0]]));
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_design_expands_to_exactly_its_points(
            levels in proptest::collection::vec(1usize..5, 1..5),
            n_exp in 0u32..5,
            second_order: bool,
            r in 2u32..6,
            seed: u64,
        ) {
            let k = levels.len();
            let lists: Vec<bool> = levels.iter().map(|l| l % 2 == 0).collect();
            let designs = [
                Design::Grid,
                Design::Zip,
                Design::Lhs { points: 1 + n_exp * 3 },
                Design::Sobol { n: 1 << n_exp, second_order },
                Design::Morris { trajectories: r, levels: 4, candidates: r + 2 },
            ];
            for d in designs {
                // Zip needs equal lengths: use the first parameter's count for all.
                let lv = if d == Design::Zip { vec![levels[0]; k] } else { levels.clone() };
                let pts = d.unit_points(&lv, &lists, seed);
                prop_assert_eq!(pts.len(), d.point_count(&lv).unwrap());
                for p in &pts {
                    prop_assert_eq!(p.len(), k);
                    prop_assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
                }
            }
            let grid = Design::Grid.unit_points(&levels, &lists, seed);
            prop_assert_eq!(grid.len(), levels.iter().product::<usize>());
        }
    }

    #[test]
    fn grid_is_full_factorial_with_the_first_parameter_slowest() {
        let pts = Design::Grid.unit_points(&[2, 3], &[true, false], 1);
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[0], [0.25, 0.0]);
        assert_eq!(pts[1], [0.25, 0.5]);
        assert_eq!(pts[2], [0.25, 1.0]);
        assert_eq!(pts[3], [0.75, 0.0]);
    }

    #[test]
    fn zip_pairs_values() {
        let pts = Design::Zip.unit_points(&[3, 3], &[false, true], 1);
        assert_eq!(
            pts,
            vec![vec![0.0, 1.0 / 6.0], vec![0.5, 0.5], vec![1.0, 5.0 / 6.0]]
        );
    }

    #[test]
    fn latin_hypercube_fills_every_stratum_once() {
        let n = 50;
        let pts = Design::Lhs { points: n }.unit_points(&[0; 4], &[false; 4], 9);
        assert_eq!(pts.len(), n as usize);
        for i in 0..4 {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[i] * n as f64) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..n as usize).collect::<Vec<_>>());
        }
        assert_eq!(
            pts,
            Design::Lhs { points: n }.unit_points(&[0; 4], &[false; 4], 9)
        );
        assert_ne!(
            pts,
            Design::Lhs { points: n }.unit_points(&[0; 4], &[false; 4], 10)
        );
    }

    #[test]
    fn saltelli_blocks_mix_a_and_b() {
        let d = Design::Sobol {
            n: 8,
            second_order: true,
        };
        let k = 3;
        let pts = d.unit_points(&[0; 3], &[false; 3], 0);
        assert_eq!(pts.len(), d.point_count(&[0; 3]).unwrap());
        for block in pts.chunks(2 * k + 2) {
            let (a, b) = (&block[0], &block[2 * k + 1]);
            for i in 0..k {
                let ab = &block[1 + i];
                let ba = &block[1 + k + i];
                for j in 0..k {
                    assert_eq!(ab[j], if j == i { b[j] } else { a[j] });
                    assert_eq!(ba[j], if j == i { a[j] } else { b[j] });
                }
            }
        }
    }

    #[test]
    fn morris_trajectories_move_one_parameter_by_delta_on_the_grid() {
        let d = Design::Morris {
            trajectories: 10,
            levels: 4,
            candidates: 30,
        };
        let k = 5;
        let pts = d.unit_points(&[0; 5], &[false; 5], 3);
        assert_eq!(pts.len(), 10 * (k + 1));
        let steps = morris_steps(&pts, k).unwrap();
        assert_eq!(steps.len(), 10 * k);
        let delta = Design::morris_delta(4);
        for (_, s) in &steps {
            assert!((s.abs() - delta).abs() < 1e-12);
        }
        for p in &pts {
            for &x in p {
                assert!((0.0..=1.0).contains(&x));
                let level = x * 3.0;
                assert!((level - level.round()).abs() < 1e-9);
            }
        }
        // Each trajectory moves every parameter once.
        for t in steps.chunks(k) {
            let mut moved: Vec<usize> = t.iter().map(|s| s.0).collect();
            moved.sort();
            assert_eq!(moved, (0..k).collect::<Vec<_>>());
        }
    }

    #[test]
    fn selecting_trajectories_spreads_them_out() {
        let all: Vec<_> = (0..20).map(|t| morris_trajectory(4, 4, 1, t)).collect();
        let chosen = most_spread(&all, 5);
        assert_eq!(chosen.len(), 5);
        let spread = |ids: &[usize]| -> f64 {
            let mut s = 0.0;
            for (i, &a) in ids.iter().enumerate() {
                for &b in &ids[i + 1..] {
                    for x in &all[a] {
                        for y in &all[b] {
                            s += x
                                .iter()
                                .zip(y)
                                .map(|(u, v)| (u - v).powi(2))
                                .sum::<f64>()
                                .sqrt();
                        }
                    }
                }
            }
            s
        };
        assert!(spread(&chosen) >= spread(&[0, 1, 2, 3, 4]));
    }
}

//! Test problems with known Pareto fronts, all minimised, all variables in [0, 1].
//!
//! - ZDT1 and ZDT2 (Zitzler, Deb and Thiele 2000, "Comparison of multiobjective evolutionary
//!   algorithms: empirical results", Evolutionary Computation 8(2), 173-195), n = 30 variables:
//!   f_1 = x_1, g = 1 + 9 (x_2 + ... + x_n) / (n - 1), f_2 = g h(f_1, g), with
//!   h = 1 - sqrt(f_1 / g) (ZDT1, convex front) or h = 1 - (f_1 / g)^2 (ZDT2, concave front).
//!   The Pareto front is g = 1: f_2 = 1 - sqrt(f_1) or 1 - f_1^2, f_1 in [0, 1].
//! - DTLZ2 (Deb, Thiele, Laumanns and Zitzler 2002, "Scalable multi-objective optimization test
//!   problems", Proc. CEC 2002, 825-830) with M objectives and n = M + k - 1 variables, k = 10:
//!   g = sum over the last k variables of (x_i - 1/2)^2 and
//!   f_m = (1 + g) cos(x_1 pi/2) ... cos(x_{M-m} pi/2) sin(x_{M-m+1} pi/2) (no sine for m = 1).
//!   The Pareto front is g = 0: the part of the unit sphere in the positive orthant.

use std::f64::consts::FRAC_PI_2;

/// The distance-function size k of DTLZ2 recommended by Deb et al. (2002): n = M + k - 1.
pub const DTLZ2_K: usize = 10;

/// The number of decision variables of ZDT1 and ZDT2 (Zitzler, Deb and Thiele 2000).
pub const ZDT_VARIABLES: usize = 30;

/// A test problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// ZDT1: 30 variables, 2 objectives, convex front f_2 = 1 - sqrt(f_1).
    Zdt1,
    /// ZDT2: 30 variables, 2 objectives, concave front f_2 = 1 - f_1^2.
    Zdt2,
    /// DTLZ2 with the given number M >= 2 of objectives and M + 9 variables; its front is the
    /// unit sphere's positive orthant.
    Dtlz2 {
        /// The number M of objectives.
        objectives: usize,
    },
}

impl Problem {
    /// The problem's conventional name, e.g. "ZDT1" or "DTLZ2 (3 objectives)".
    pub fn name(&self) -> String {
        match self {
            Problem::Zdt1 => "ZDT1".to_string(),
            Problem::Zdt2 => "ZDT2".to_string(),
            Problem::Dtlz2 { objectives } => format!("DTLZ2 ({objectives} objectives)"),
        }
    }

    /// The number n of decision variables: 30 for ZDT1 and ZDT2, M + k - 1 = M + 9 for DTLZ2.
    pub fn variables(&self) -> usize {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => ZDT_VARIABLES,
            Problem::Dtlz2 { objectives } => objectives + DTLZ2_K - 1,
        }
    }

    /// The number of objectives: 2 for ZDT1 and ZDT2, M for DTLZ2.
    pub fn objectives(&self) -> usize {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => 2,
            Problem::Dtlz2 { objectives } => *objectives,
        }
    }

    /// The box of the decision variables: [0, 1] for each.
    pub fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(0.0, 1.0); self.variables()]
    }

    /// The objective values of `x` (see the module documentation for the equations).
    pub fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(
            x.len(),
            self.variables(),
            "{} takes {} variables",
            self.name(),
            self.variables()
        );
        match self {
            Problem::Zdt1 | Problem::Zdt2 => {
                let f1 = x[0];
                let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
                let ratio = f1 / g;
                let h = if *self == Problem::Zdt1 {
                    1.0 - ratio.sqrt()
                } else {
                    1.0 - ratio * ratio
                };
                vec![f1, g * h]
            }
            Problem::Dtlz2 { objectives } => {
                let m = *objectives;
                let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5) * (v - 0.5)).sum();
                (0..m)
                    .map(|i| {
                        // f_{i+1}: cosines of the first m - 1 - i angles, then one sine.
                        let cosines: f64 = x[..m - 1 - i]
                            .iter()
                            .map(|v| (v * FRAC_PI_2).cos())
                            .product();
                        let sine = if i == 0 {
                            1.0
                        } else {
                            (x[m - 1 - i] * FRAC_PI_2).sin()
                        };
                        (1.0 + g) * cosines * sine
                    })
                    .collect()
            }
        }
    }

    /// The hypervolume (minimisation) of the whole continuous Pareto front against `reference`,
    /// in closed form, for ZDT1 and ZDT2; `None` for DTLZ2.
    ///
    /// With the front f_2 = phi(f_1) decreasing on [0, 1], phi(0) = 1, phi(1) = 0, the measure is
    /// the integral of max(0, r_2 - phi(a)) over a in [0, min(r_1, 1)], plus the slab
    /// (r_1 - 1) r_2 beyond f_1 = 1 when r_1 > 1. r_2 - phi(a) > 0 from a_0 = (1 - r_2)^2 (ZDT1)
    /// or sqrt(1 - r_2) (ZDT2) when r_2 < 1, else from 0. With a_1 = min(r_1, 1) the integral is
    /// (r_2 - 1)(a_1 - a_0) + (2/3)(a_1^(3/2) - a_0^(3/2)) for ZDT1 (phi = 1 - sqrt(a)) and
    /// (r_2 - 1)(a_1 - a_0) + (a_1^3 - a_0^3)/3 for ZDT2 (phi = 1 - a^2). For r = (1.1, 1.1):
    /// 0.1 + 2/3 + 0.11 = 0.87667 (ZDT1) and 0.1 + 1/3 + 0.11 = 0.54333 (ZDT2).
    pub fn true_front_hypervolume(&self, reference: &[f64]) -> Option<f64> {
        if matches!(self, Problem::Dtlz2 { .. }) {
            return None;
        }
        assert_eq!(reference.len(), 2, "ZDT problems have two objectives");
        let (r1, r2) = (reference[0], reference[1]);
        if r1 <= 0.0 || r2 <= 0.0 {
            return Some(0.0);
        }
        let a0 = match self {
            Problem::Zdt1 => (1.0 - r2).max(0.0).powi(2),
            _ => (1.0 - r2).max(0.0).sqrt(),
        };
        let a1 = r1.min(1.0);
        let integral = if a1 <= a0 {
            0.0
        } else {
            match self {
                Problem::Zdt1 => (r2 - 1.0) * (a1 - a0) + 2.0 / 3.0 * (a1.powf(1.5) - a0.powf(1.5)),
                _ => (r2 - 1.0) * (a1 - a0) + (a1.powi(3) - a0.powi(3)) / 3.0,
            }
        };
        Some(integral + (r1 - 1.0).max(0.0) * r2)
    }

    /// An evenly spread set of about `n_points` points on the true Pareto front.
    ///
    /// ZDT1 and ZDT2: exactly `n_points` points with f_1 evenly spaced on [0, 1] (both ends
    /// included). DTLZ2: the Das and Dennis (1998) simplex-lattice points {w : w_i = j_i / H,
    /// sum w_i = 1} (C(H + M - 1, M - 1) of them), each scaled to unit Euclidean length; H is the
    /// division whose count is closest to `n_points` (the smaller H on a tie). For M = 3, H = 12
    /// gives 91 points, H = 13 gives 105 (so 100 gives 105), H = 4 gives 15.
    pub fn reference_front(&self, n_points: usize) -> Vec<Vec<f64>> {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => (0..n_points)
                .map(|i| {
                    let a = if n_points == 1 {
                        0.0
                    } else {
                        i as f64 / (n_points - 1) as f64
                    };
                    let f2 = if *self == Problem::Zdt1 {
                        1.0 - a.sqrt()
                    } else {
                        1.0 - a * a
                    };
                    vec![a, f2]
                })
                .collect(),
            Problem::Dtlz2 { objectives } => {
                let h = lattice_division(*objectives, n_points);
                das_dennis(*objectives, h)
                    .into_iter()
                    .map(|w| {
                        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                        w.into_iter().map(|v| v / norm).collect()
                    })
                    .collect()
            }
        }
    }
}

/// The number of Das-Dennis lattice points with `m` coordinates and `h` divisions,
/// C(h + m - 1, m - 1).
pub fn lattice_size(m: usize, h: usize) -> usize {
    (1..m).fold(1usize, |c, i| c * (h + i) / i)
}

/// The division H whose lattice size with `m` coordinates is closest to `n` (the smaller H on a
/// tie), at least 1.
fn lattice_division(m: usize, n: usize) -> usize {
    let mut h = 1;
    while lattice_size(m, h + 1) <= n {
        h += 1;
    }
    // Now size(h) <= n < size(h + 1), unless n is below size(1) = m.
    let below = lattice_size(m, h);
    let above = lattice_size(m, h + 1);
    if n > below && above - n < n - below {
        h + 1
    } else {
        h
    }
}

/// The Das and Dennis (1998) simplex lattice with `m` coordinates and `h` divisions: every
/// vector (j_1, ..., j_m) / h of non-negative integers summing to h, in lexicographic order.
pub fn das_dennis(m: usize, h: usize) -> Vec<Vec<f64>> {
    fn extend(prefix: &mut Vec<usize>, left: usize, m: usize, h: usize, out: &mut Vec<Vec<f64>>) {
        if prefix.len() == m - 1 {
            prefix.push(left);
            out.push(prefix.iter().map(|&j| j as f64 / h as f64).collect());
            prefix.pop();
            return;
        }
        for j in 0..=left {
            prefix.push(j);
            extend(prefix, left - j, m, h, out);
            prefix.pop();
        }
    }
    let mut out = Vec::with_capacity(lattice_size(m, h));
    if m > 0 && h > 0 {
        extend(&mut Vec::with_capacity(m), h, m, h, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimise::hypervolume::hypervolume;

    #[test]
    fn zdt_optima_lie_on_the_front() {
        for p in [Problem::Zdt1, Problem::Zdt2] {
            for a in [0.0, 0.25, 0.5, 1.0] {
                let mut x = vec![0.0; 30];
                x[0] = a;
                let f = p.evaluate(&x);
                let phi = if p == Problem::Zdt1 {
                    1.0 - a.sqrt()
                } else {
                    1.0 - a * a
                };
                assert_eq!(f, vec![a, phi]);
            }
            // g > 1 away from the optimum: f_2 above the front.
            let f = p.evaluate(&[0.25; 30]);
            assert!(f[1] > 0.5);
        }
    }

    #[test]
    fn dtlz2_optima_lie_on_the_unit_sphere() {
        let p = Problem::Dtlz2 { objectives: 3 };
        assert_eq!(p.variables(), 12);
        let mut x = vec![0.5; 12];
        x[0] = 0.3;
        x[1] = 0.8;
        let f = p.evaluate(&x);
        let norm: f64 = f.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-12);
        // f_3 = sin(x_1 pi/2), f_1 = cos cos.
        assert!((f[2] - (0.3 * FRAC_PI_2).sin()).abs() < 1e-15);
        assert!((f[0] - (0.3 * FRAC_PI_2).cos() * (0.8 * FRAC_PI_2).cos()).abs() < 1e-15);
        x[5] = 0.0;
        let norm: f64 = p.evaluate(&x).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.25).abs() < 1e-12);
    }

    #[test]
    fn closed_form_front_hypervolumes_match_dense_fronts() {
        for p in [Problem::Zdt1, Problem::Zdt2] {
            for reference in [[1.1, 1.1], [1.0, 1.0], [0.6, 0.7], [2.0, 0.3], [1.5, 2.5]] {
                let exact = p.true_front_hypervolume(&reference).unwrap();
                let dense = hypervolume(&p.reference_front(20001), &reference);
                assert!(
                    dense <= exact && exact - dense < 2e-4,
                    "{} {reference:?}: {dense} vs {exact}",
                    p.name()
                );
            }
        }
        let zdt1 = Problem::Zdt1.true_front_hypervolume(&[1.1, 1.1]).unwrap();
        assert!((zdt1 - 0.876_666_666_666_666_7).abs() < 1e-12);
        let zdt2 = Problem::Zdt2.true_front_hypervolume(&[1.1, 1.1]).unwrap();
        assert!((zdt2 - 0.543_333_333_333_333_3).abs() < 1e-12);
        assert_eq!(
            Problem::Dtlz2 { objectives: 3 }.true_front_hypervolume(&[1.1; 3]),
            None
        );
    }

    #[test]
    fn das_dennis_lattice_sizes_and_normalisation() {
        assert_eq!(lattice_size(3, 12), 91);
        assert_eq!(das_dennis(3, 12).len(), 91);
        assert_eq!(
            das_dennis(2, 3),
            vec![
                vec![0.0, 1.0],
                vec![1.0 / 3.0, 2.0 / 3.0],
                vec![2.0 / 3.0, 1.0 / 3.0],
                vec![1.0, 0.0]
            ]
        );
        let p = Problem::Dtlz2 { objectives: 3 };
        assert_eq!(p.reference_front(91).len(), 91);
        assert_eq!(p.reference_front(92).len(), 91);
        assert_eq!(p.reference_front(100).len(), 105);
        assert_eq!(p.reference_front(2).len(), 3);
        for f in p.reference_front(100) {
            let norm: f64 = f.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-12 && f.iter().all(|&v| v >= 0.0));
        }
        // The dense lattice's hypervolume approaches 1.1^3 - pi/6 (the cube minus the ball's
        // octant) from below.
        let exact = 1.1f64.powi(3) - std::f64::consts::PI / 6.0;
        let dense = hypervolume(&p.reference_front(5000), &[1.1; 3]);
        assert!(dense < exact && exact - dense < 0.01, "{dense} vs {exact}");
    }
}

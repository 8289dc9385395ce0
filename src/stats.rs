//! Summary statistics over replicates: streaming mean and variance, and 95% confidence intervals.

/// Welford's streaming mean and variance. Values are added in a fixed order (replicate order), so
/// the result does not depend on how the work was scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Welford {
    pub n: u64,
    pub mean: f64,
    m2: f64,
}

impl Welford {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Sample standard deviation; `None` with fewer than two values.
    pub fn sd(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2 / (self.n - 1) as f64).max(0.0).sqrt())
    }

    /// The 95% confidence interval of the mean (Student's t); `None` with fewer than two values.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        let sd = self.sd()?;
        let half = t_quantile_975(self.n - 1) * sd / (self.n as f64).sqrt();
        Some((self.mean - half, self.mean + half))
    }
}

/// The standard normal quantile function (Acklam's rational approximation, relative error below
/// 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: tabulated up to 10, the
/// Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5) above, accurate to 1e-4 there.
pub fn t_quantile_975(df: u64) -> f64 {
    const TABLE: [f64; 11] = [
        f64::NAN,
        12.706_205,
        4.302_653,
        3.182_446,
        2.776_445,
        2.570_582,
        2.446_912,
        2.364_624,
        2.306_004,
        2.262_157,
        2.228_139,
    ];
    match df {
        0..=10 => TABLE[df as usize],
        _ => {
            let z = 1.959_963_984_540_054_f64;
            let v = df as f64;
            let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92160.0 * v.powi(4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [0.3, 0.5, 0.1, 0.9, 0.4];
        let mut w = Welford::default();
        xs.iter().for_each(|&x| w.push(x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((w.mean - mean).abs() < 1e-15);
        assert!((w.sd().unwrap() - var.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Reference values from standard t tables.
        for (df, t) in [
            (3, 3.182_446),
            (11, 2.200_985),
            (15, 2.131_450),
            (19, 2.093_024),
            (99, 1.984_217),
        ] {
            assert!(
                (t_quantile_975(df) - t).abs() < 1e-4,
                "df {df}: {} vs {t}",
                t_quantile_975(df)
            );
        }
    }

    #[test]
    fn normal_quantiles_match_tables() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_964),
            (0.1, -1.281_552),
            (0.001, -3.090_232),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-6, "p {p}");
        }
    }

    #[test]
    fn one_value_has_no_interval() {
        let mut w = Welford::default();
        w.push(1.0);
        assert_eq!(w.sd(), None);
        assert_eq!(w.ci95(), None);
    }
}

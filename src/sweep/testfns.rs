//! Built-in test models with known answers, selectable in a sweep or calibration file with
//! `model = "..."` instead of a base scenario, so that a user can check the methods on problems
//! whose sensitivity indices or parameters are known before trusting them on the CCG model.
//!
//! - `ishigami`: f = sin x1 + a sin^2 x2 + b x3^4 sin x1, a = 7, b = 0.1, x_i uniform on [-pi, pi]
//!   (Ishigami and Homma 1990). Analytic S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
//! - `g_function`: Sobol's G-function, f = prod_i (|4 x_i - 2| + a_i) / (1 + a_i) on [0, 1]^8 with
//!   a = (0, 1, 4.5, 9, 99, 99, 99, 99) (Saltelli et al. 2010).
//! - `normal_mean`: y is the mean of 25 draws from Normal(mu, 0.5), a stochastic toy with one
//!   parameter, for checking that calibration recovers a known `mu`.
//! - `box`: y = 1 inside the box 0.2 <= x1 <= 0.6, x2 >= 0.5 of [0, 1]^4 and 0 outside (x3 and
//!   x4 do nothing), for checking that scenario discovery finds a known region.

use rand_distr::{Distribution, Normal};

use crate::rng::ModelRng;

/// Ishigami's constants.
pub const ISHIGAMI_A: f64 = 7.0;
pub const ISHIGAMI_B: f64 = 0.1;
/// The G-function's coefficients: the smaller, the more important the input.
pub const G_A: [f64; 8] = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];
/// Draws averaged per run of `normal_mean`, and their standard deviation.
pub const NORMAL_MEAN_DRAWS: usize = 25;
pub const NORMAL_MEAN_SD: f64 = 0.5;
/// The region of `box` where y = 1: the limits of x1 and the lower limit of x2.
pub const BOX_X1: [f64; 2] = [0.2, 0.6];
pub const BOX_X2_LOW: f64 = 0.5;

/// One input of a test model: its name (the parameter path in a sweep file), the domain a range
/// must stay within, and the value it takes when not varied.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub name: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub default: f64,
}

const PI: f64 = std::f64::consts::PI;

const ISHIGAMI_INPUTS: [Input; 3] = [
    Input {
        name: "x1",
        lo: -PI,
        hi: PI,
        default: 0.0,
    },
    Input {
        name: "x2",
        lo: -PI,
        hi: PI,
        default: 0.0,
    },
    Input {
        name: "x3",
        lo: -PI,
        hi: PI,
        default: 0.0,
    },
];

const G_INPUTS: [Input; 8] = [
    Input {
        name: "x1",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x2",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x3",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x4",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x5",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x6",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x7",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
    Input {
        name: "x8",
        lo: 0.0,
        hi: 1.0,
        default: 0.5,
    },
];

const NORMAL_MEAN_INPUTS: [Input; 1] = [Input {
    name: "mu",
    lo: -1e6,
    hi: 1e6,
    default: 0.0,
}];

/// A built-in test model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestModel {
    Ishigami,
    GFunction,
    NormalMean,
    Box,
}

impl TestModel {
    pub const ALL: [TestModel; 4] = [
        TestModel::Ishigami,
        TestModel::GFunction,
        TestModel::NormalMean,
        TestModel::Box,
    ];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            TestModel::Ishigami => "ishigami",
            TestModel::GFunction => "g_function",
            TestModel::NormalMean => "normal_mean",
            TestModel::Box => "box",
        }
    }

    pub fn from_name(name: &str) -> Option<TestModel> {
        TestModel::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn inputs(self) -> &'static [Input] {
        match self {
            TestModel::Ishigami => &ISHIGAMI_INPUTS,
            TestModel::GFunction => &G_INPUTS,
            TestModel::NormalMean => &NORMAL_MEAN_INPUTS,
            TestModel::Box => &G_INPUTS[..4],
        }
    }

    /// The index of the input called `name`.
    pub fn input_index(self, name: &str) -> Option<usize> {
        self.inputs().iter().position(|i| i.name == name)
    }

    /// Whether the model draws random numbers (replicates then differ).
    pub fn is_stochastic(self) -> bool {
        self == TestModel::NormalMean
    }

    /// The model's output `y` at inputs `x` (one value per input, in [`TestModel::inputs`] order).
    pub fn evaluate(self, x: &[f64], rng: &mut ModelRng) -> f64 {
        match self {
            TestModel::Ishigami => ishigami(x[0], x[1], x[2]),
            TestModel::GFunction => g_function(x),
            TestModel::NormalMean => {
                let d = Normal::new(x[0], NORMAL_MEAN_SD).expect("finite mean, positive sd");
                (0..NORMAL_MEAN_DRAWS).map(|_| d.sample(rng)).sum::<f64>()
                    / NORMAL_MEAN_DRAWS as f64
            }
            TestModel::Box => {
                let inside = (BOX_X1[0]..=BOX_X1[1]).contains(&x[0]) && x[1] >= BOX_X2_LOW;
                f64::from(u8::from(inside))
            }
        }
    }
}

pub fn ishigami(x1: f64, x2: f64, x3: f64) -> f64 {
    x1.sin() + ISHIGAMI_A * x2.sin().powi(2) + ISHIGAMI_B * x3.powi(4) * x1.sin()
}

pub fn g_function(x: &[f64]) -> f64 {
    x.iter()
        .zip(G_A)
        .map(|(&xi, a)| ((4.0 * xi - 2.0).abs() + a) / (1.0 + a))
        .product()
}

/// Analytic first-order and total indices of the Ishigami function.
pub fn ishigami_indices() -> ([f64; 3], [f64; 3]) {
    let (a, b) = (ISHIGAMI_A, ISHIGAMI_B);
    let pi4 = PI.powi(4);
    let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
}

/// Analytic first-order and total indices of the G-function over its first `k` inputs.
pub fn g_function_indices(k: usize) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = G_A[..k]
        .iter()
        .map(|a| 1.0 / (3.0 * (1.0 + a).powi(2)))
        .collect();
    let total: f64 = vi.iter().map(|v| 1.0 + v).product();
    let v = total - 1.0;
    let s1 = vi.iter().map(|x| x / v).collect();
    let st = vi.iter().map(|x| x * total / (1.0 + x) / v).collect();
    (s1, st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[test]
    fn ishigami_indices_match_the_published_values() {
        let (s1, st) = ishigami_indices();
        for (got, want) in s1.iter().zip([0.3139, 0.4424, 0.0]) {
            assert!((got - want).abs() < 5e-5, "{got} vs {want}");
        }
        for (got, want) in st.iter().zip([0.5576, 0.4424, 0.2437]) {
            assert!((got - want).abs() < 5e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn g_function_has_unit_mean_and_ordered_indices() {
        let (s1, st) = g_function_indices(8);
        assert!(s1.windows(2).all(|w| w[0] >= w[1]));
        assert!(s1.iter().zip(&st).all(|(a, b)| a <= b));
        // E[f] = 1: a midpoint rule over a fine grid in one input at a time.
        let n = 10_000;
        let m: f64 = (0..n)
            .map(|i| {
                g_function(&[
                    (i as f64 + 0.5) / n as f64,
                    0.5,
                    0.5,
                    0.5,
                    0.5,
                    0.5,
                    0.5,
                    0.5,
                ])
            })
            .sum::<f64>()
            / n as f64;
        // The other inputs sit at 0.5, where their factor is a / (1 + a).
        let rest: f64 = G_A[1..].iter().map(|a| a / (1.0 + a)).product();
        assert!((m - rest).abs() < 1e-6);
    }

    #[test]
    fn normal_mean_is_centred_on_mu() {
        let mut rng = stream(3, Purpose::Unit, 0, 0);
        let n = 2000;
        let mean: f64 = (0..n)
            .map(|_| TestModel::NormalMean.evaluate(&[1.5], &mut rng))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 1.5).abs() < 0.01, "{mean}");
    }
}

//! Scenario discovery with PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999), as
//! Bryant and Lempert (2010) use it: from a finished sweep, the boxes of input space where an
//! outcome of interest occurs ("engagement falls below 0.6"), by peeling and then pasting, with
//! the trajectory of coverage against density and, for each box, the quasi-p-value of each of its
//! restrictions. `ccgsim discover` (docs/experiments.md).
//!
//! Definitions, for N points of which C are cases (the outcome of interest occurs) and a box B
//! holding n points of which c are cases: coverage c / C, density c / n, mass n / N. A parameter
//! is restricted when its limits in B are narrower than the sample's (a range) or exclude some
//! of its values (a listed parameter whose values are not all numbers).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::SweepError;
use super::runner::{STATE_FILE, SweepManifest};
use crate::output::{PendingFile, number, prepare_dir};
use crate::words::count;

/// PRIM's settings (Friedman and Fisher 1999, sections 8.1-8.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrimSettings {
    /// The share of a box's points each peel removes (alpha, 0 < alpha < 1).
    pub peel_alpha: f64,
    /// The share of a box's points each paste adds.
    pub paste_alpha: f64,
    /// The smallest mass (share of all points) a box may have (beta_0).
    pub mass_min: f64,
    /// The density the chosen box must reach: of the boxes at least this dense, the one with the
    /// highest coverage is chosen.
    pub min_density: f64,
}

impl Default for PrimSettings {
    fn default() -> Self {
        PrimSettings {
            peel_alpha: 0.05,
            paste_alpha: 0.05,
            mass_min: 0.05,
            min_density: 0.8,
        }
    }
}

/// The values of one input over the points.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// A number per point.
    Numeric(Vec<f64>),
    /// A listed value per point, as an index into `categories`.
    Categorical {
        codes: Vec<usize>,
        categories: Vec<String>,
    },
}

/// One input of the analysis: a parameter of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub name: String,
    pub column: Column,
}

/// A box's limit on one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    /// `lower <= x <= upper`.
    Range { lower: f64, upper: f64 },
    /// The values allowed, by category index.
    Values(Vec<bool>),
}

/// One box of the trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimBox {
    pub limits: Vec<Limit>,
    /// Points in the box, and cases among them.
    pub points: usize,
    pub cases: usize,
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    /// Inputs the box restricts.
    pub restricted: usize,
    /// Whether the box came from pasting (after the peeling).
    pub pasted: bool,
}

/// The peeling and pasting trajectory, from the whole sample (box 0) on.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    pub boxes: Vec<PrimBox>,
    /// The sample's limits: box 0's.
    pub full: Vec<Limit>,
    pub points: usize,
    pub cases: usize,
}

fn inside(dims: &[Dimension], limits: &[Limit], i: usize, skip: Option<usize>) -> bool {
    dims.iter()
        .zip(limits)
        .enumerate()
        .all(|(d, (dim, limit))| {
            Some(d) == skip
                || match (&dim.column, limit) {
                    (Column::Numeric(x), Limit::Range { lower, upper }) => {
                        *lower <= x[i] && x[i] <= *upper
                    }
                    (Column::Categorical { codes, .. }, Limit::Values(allowed)) => {
                        allowed[codes[i]]
                    }
                    _ => unreachable!("a limit matches its column"),
                }
        })
}

fn full_limits(dims: &[Dimension]) -> Vec<Limit> {
    dims.iter()
        .map(|d| match &d.column {
            Column::Numeric(x) => Limit::Range {
                lower: x.iter().copied().fold(f64::INFINITY, f64::min),
                upper: x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            },
            Column::Categorical { categories, .. } => Limit::Values(vec![true; categories.len()]),
        })
        .collect()
}

fn restricted(limits: &[Limit], full: &[Limit]) -> usize {
    limits.iter().zip(full).filter(|(l, f)| l != f).count()
}

impl Trajectory {
    fn push(&mut self, dims: &[Dimension], y: &[bool], limits: Vec<Limit>, pasted: bool) {
        let (mut points, mut cases) = (0, 0);
        for (i, &yi) in y.iter().enumerate() {
            if inside(dims, &limits, i, None) {
                points += 1;
                cases += usize::from(yi);
            }
        }
        self.boxes.push(PrimBox {
            restricted: restricted(&limits, &self.full),
            limits,
            points,
            cases,
            coverage: cases as f64 / self.cases.max(1) as f64,
            density: if points > 0 {
                cases as f64 / points as f64
            } else {
                0.0
            },
            mass: points as f64 / self.points.max(1) as f64,
            pasted,
        });
    }
}

/// A candidate box of a peel or a paste, scored by its density (higher first), then its points
/// (more first), then the order it was proposed in.
struct Candidate {
    limits: Vec<Limit>,
    points: usize,
    cases: usize,
}

impl Candidate {
    fn better_than(&self, other: &Candidate) -> bool {
        // Exact comparison of c1 / n1 against c2 / n2.
        let (a, b) = (
            self.cases as u128 * other.points as u128,
            other.cases as u128 * self.points as u128,
        );
        a > b || a == b && self.points > other.points
    }
}

fn count_in(dims: &[Dimension], y: &[bool], limits: &[Limit]) -> (usize, usize) {
    let (mut n, mut c) = (0, 0);
    for (i, &yi) in y.iter().enumerate() {
        if inside(dims, limits, i, None) {
            n += 1;
            c += usize::from(yi);
        }
    }
    (n, c)
}

/// The peels of a box holding `members` (in index order): for each input, the lower and upper
/// alpha-quantile peel of a range (the points below the value at sorted position k = max(1,
/// floor(alpha n)), or above the one at n - 1 - k; where that would remove no point, on ties, the
/// points of the lowest or highest value), and the removal of each allowed value of a listed
/// input.
fn peels(dims: &[Dimension], limits: &[Limit], members: &[usize], alpha: f64) -> Vec<Vec<Limit>> {
    let n = members.len();
    let k = ((alpha * n as f64).floor() as usize).max(1);
    let mut out = Vec::new();
    for (d, dim) in dims.iter().enumerate() {
        match (&dim.column, &limits[d]) {
            (Column::Numeric(x), &Limit::Range { lower, upper }) => {
                if n <= k {
                    continue;
                }
                let mut v: Vec<f64> = members.iter().map(|&i| x[i]).collect();
                v.sort_by(f64::total_cmp);
                // On ties (a grid, listed values) the lowest (highest) group of equal values
                // goes whole when the quantile falls inside it.
                let low = if v[k] > v[0] {
                    Some(v[k])
                } else {
                    v.iter().copied().find(|&x| x > v[0])
                };
                if let Some(low) = low {
                    let mut l = limits.to_vec();
                    l[d] = Limit::Range { lower: low, upper };
                    out.push(l);
                }
                let high = if v[n - 1 - k] < v[n - 1] {
                    Some(v[n - 1 - k])
                } else {
                    v.iter().rev().copied().find(|&x| x < v[n - 1])
                };
                if let Some(high) = high {
                    let mut l = limits.to_vec();
                    l[d] = Limit::Range { lower, upper: high };
                    out.push(l);
                }
            }
            (Column::Categorical { .. }, Limit::Values(allowed)) => {
                if allowed.iter().filter(|&&a| a).count() < 2 {
                    continue;
                }
                for c in (0..allowed.len()).filter(|&c| allowed[c]) {
                    let mut l = limits.to_vec();
                    let mut a = allowed.clone();
                    a[c] = false;
                    l[d] = Limit::Values(a);
                    out.push(l);
                }
            }
            _ => unreachable!("a limit matches its column"),
        }
    }
    out
}

/// The pastes of a box of `n` points: for each range, the lower (upper) limit moved out to take
/// in the k = max(1, floor(alpha n)) nearest points below (above) it that meet every other limit
/// (with their ties); for each listed input, each excluded value allowed back.
fn pastes(
    dims: &[Dimension],
    limits: &[Limit],
    full: &[Limit],
    n: usize,
    alpha: f64,
) -> Vec<Vec<Limit>> {
    let k = ((alpha * n as f64).floor() as usize).max(1);
    let points = match dims.first().map(|d| &d.column) {
        Some(Column::Numeric(x)) => x.len(),
        Some(Column::Categorical { codes, .. }) => codes.len(),
        None => 0,
    };
    let mut out = Vec::new();
    for (d, dim) in dims.iter().enumerate() {
        match (&dim.column, &limits[d], &full[d]) {
            (Column::Numeric(x), &Limit::Range { lower, upper }, Limit::Range { .. }) => {
                let near: Vec<usize> = (0..points)
                    .filter(|&i| inside(dims, limits, i, Some(d)))
                    .collect();
                let mut below: Vec<f64> =
                    near.iter().map(|&i| x[i]).filter(|&v| v < lower).collect();
                below.sort_by(|a, b| b.total_cmp(a));
                if let Some(&v) = below.get(k - 1).or(below.last()) {
                    let mut l = limits.to_vec();
                    l[d] = Limit::Range { lower: v, upper };
                    out.push(l);
                }
                let mut above: Vec<f64> =
                    near.iter().map(|&i| x[i]).filter(|&v| v > upper).collect();
                above.sort_by(f64::total_cmp);
                if let Some(&v) = above.get(k - 1).or(above.last()) {
                    let mut l = limits.to_vec();
                    l[d] = Limit::Range { lower, upper: v };
                    out.push(l);
                }
            }
            (Column::Categorical { .. }, Limit::Values(allowed), _) => {
                for c in (0..allowed.len()).filter(|&c| !allowed[c]) {
                    let mut l = limits.to_vec();
                    let mut a = allowed.clone();
                    a[c] = true;
                    l[d] = Limit::Values(a);
                    out.push(l);
                }
            }
            _ => unreachable!("a limit matches its column"),
        }
    }
    out
}

fn best(
    dims: &[Dimension],
    y: &[bool],
    proposals: Vec<Vec<Limit>>,
    min_points: usize,
) -> Option<Candidate> {
    let mut best: Option<Candidate> = None;
    for limits in proposals {
        let (points, cases) = count_in(dims, y, &limits);
        if points == 0 || points < min_points {
            continue;
        }
        let c = Candidate {
            limits,
            points,
            cases,
        };
        if best.as_ref().is_none_or(|b| c.better_than(b)) {
            best = Some(c);
        }
    }
    best
}

/// PRIM on `dims` (every column the same length as `y`) with the cases `y`: the top-down peeling
/// trajectory from the whole sample, each step taking the candidate peel that leaves the densest
/// box (ties: the one that keeps more points, then the first input, lower before upper), while
/// the box keeps at least `mass_min` of the points and holds both cases and other points; then
/// pasting from the last peeled box, each step taking the densest paste while the density rises.
pub fn prim(dims: &[Dimension], y: &[bool], s: &PrimSettings) -> Trajectory {
    let full = full_limits(dims);
    let mut t = Trajectory {
        boxes: Vec::new(),
        full: full.clone(),
        points: y.len(),
        cases: y.iter().filter(|&&c| c).count(),
    };
    t.push(dims, y, full.clone(), false);
    let min_points = (s.mass_min * y.len() as f64).ceil() as usize;
    loop {
        let current = t.boxes.last().expect("box 0");
        if current.cases == current.points || current.cases == 0 {
            break;
        }
        let members: Vec<usize> = (0..y.len())
            .filter(|&i| inside(dims, &current.limits, i, None))
            .collect();
        let proposals = peels(dims, &current.limits, &members, s.peel_alpha);
        let Some(next) = best(dims, y, proposals, min_points.max(1)) else {
            break;
        };
        t.push(dims, y, next.limits, false);
    }
    loop {
        let current = t.boxes.last().expect("box 0");
        let proposals = pastes(
            dims,
            &current.limits,
            &t.full,
            current.points,
            s.paste_alpha,
        );
        let Some(next) = best(dims, y, proposals, 1) else {
            break;
        };
        let (c, n) = (current.cases as u128, current.points as u128);
        if next.cases as u128 * n <= c * next.points as u128 {
            break;
        }
        t.push(dims, y, next.limits, true);
    }
    t
}

/// ln k! for k = 0 ..= n.
fn ln_factorials(n: usize) -> Vec<f64> {
    let mut f = Vec::with_capacity(n + 1);
    f.push(0.0);
    for k in 1..=n {
        f.push(f[k - 1] + (k as f64).ln());
    }
    f
}

/// P(X >= h) for X ~ Binomial(n, p), summed term by term in logs.
pub fn binomial_upper_tail(h: usize, n: usize, p: f64) -> f64 {
    if h == 0 {
        return 1.0;
    }
    if h > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let f = ln_factorials(n);
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let terms: Vec<f64> = (h..=n)
        .map(|k| f[n] - f[k] - f[n - k] + k as f64 * lp + (n - k) as f64 * lq)
        .collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln())
        .exp()
        .min(1.0)
}

/// The quasi-p-value of each restriction of box `b` (Bryant and Lempert 2010): with the
/// restriction on input j lifted, the box holds T_j points of which H_j are cases; the value is
/// P(X >= c) for X ~ Binomial(n, H_j / T_j), n and c the box's points and cases: how likely a box
/// this dense would be by chance without the restriction. `None` for an input not restricted.
pub fn quasi_p(dims: &[Dimension], y: &[bool], full: &[Limit], b: &PrimBox) -> Vec<Option<f64>> {
    (0..dims.len())
        .map(|j| {
            (b.limits[j] != full[j]).then(|| {
                let (mut t, mut h) = (0usize, 0usize);
                for (i, &yi) in y.iter().enumerate() {
                    if inside(dims, &b.limits, i, Some(j)) {
                        t += 1;
                        h += usize::from(yi);
                    }
                }
                binomial_upper_tail(b.cases, b.points, h as f64 / t.max(1) as f64)
            })
        })
        .collect()
}

/// The box to report: of the boxes at least `min_density` dense, the one with the highest
/// coverage (ties: the denser, then fewer restrictions, then the earlier); if none is, the
/// densest (ties: the higher coverage, then the earlier).
pub fn choose(t: &Trajectory, min_density: f64) -> usize {
    let key = |b: &PrimBox| (b.coverage, b.density, std::cmp::Reverse(b.restricted));
    let dense: Vec<usize> = (0..t.boxes.len())
        .filter(|&i| t.boxes[i].density >= min_density)
        .collect();
    if dense.is_empty() {
        (0..t.boxes.len())
            .rev()
            .max_by(|&a, &b| {
                let (x, y) = (&t.boxes[a], &t.boxes[b]);
                x.density
                    .total_cmp(&y.density)
                    .then(x.coverage.total_cmp(&y.coverage))
            })
            .unwrap_or(0)
    } else {
        dense
            .into_iter()
            .rev()
            .max_by(|&a, &b| {
                let (x, y) = (key(&t.boxes[a]), key(&t.boxes[b]));
                x.0.total_cmp(&y.0)
                    .then(x.1.total_cmp(&y.1))
                    .then(x.2.cmp(&y.2))
            })
            .expect("not empty")
    }
}

/// Which side of the threshold is of interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Below,
    Above,
}

/// What `ccgsim discover` is asked.
#[derive(Debug, Clone)]
pub struct DiscoverRequest {
    pub sweep_dir: PathBuf,
    /// The sweep output, as summary.csv's `metric` column names it.
    pub output: String,
    pub side: Side,
    pub threshold: f64,
    pub settings: PrimSettings,
    /// Report this box of the trajectory instead of the one [`choose`] picks.
    pub box_index: Option<usize>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub accept_unverified: bool,
}

/// The result of a discovery, as written and printed.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub dims: Vec<Dimension>,
    pub trajectory: Trajectory,
    pub chosen: usize,
    pub quasi_p: Vec<Option<f64>>,
    /// Points left out because their mean of the output is undefined.
    pub undefined: usize,
    pub dir: PathBuf,
    /// The output's plain label, if it is a model metric.
    pub label: Option<String>,
}

#[derive(Serialize)]
struct DiscoverManifest<'a> {
    ccgsim_version: &'a str,
    sweep: &'a str,
    sweep_folder: String,
    output: &'a str,
    side: Side,
    threshold: f64,
    settings: PrimSettings,
    points: usize,
    cases: usize,
    undefined_points: usize,
    boxes: usize,
    chosen_box: usize,
}

/// The inputs of the sweep in `dir`, from points.csv, as PRIM's dimensions: a range parameter is
/// numeric; a listed one is numeric if every value is a number, otherwise categorical.
fn read_dimensions(dir: &Path, m: &SweepManifest) -> anyhow::Result<Vec<Dimension>> {
    let path = dir.join("points.csv");
    let bad = |message: String| SweepError::Folder {
        path: path.clone(),
        message,
    };
    let mut r =
        csv::Reader::from_path(&path).map_err(|e| bad(format!("could not be read: {e}")))?;
    let header = r
        .headers()
        .map_err(|e| bad(format!("line 1: not CSV ({e})")))?
        .clone();
    let columns: Vec<usize> = m
        .parameters
        .iter()
        .map(|p| {
            header
                .iter()
                .position(|h| h == p.column)
                .ok_or_else(|| bad(format!("line 1: has no `{}` column", p.column)))
        })
        .collect::<Result<_, _>>()?;
    let mut text: Vec<Vec<String>> = vec![Vec::with_capacity(m.points); columns.len()];
    for (row, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(row as u64 + 2, |p| p.line());
            bad(format!("line {line}: not a row of the points ({e})"))
        })?;
        for (values, &c) in text.iter_mut().zip(&columns) {
            values.push(rec.get(c).unwrap_or_default().to_string());
        }
    }
    if text.first().map_or(0, Vec::len) != m.points {
        return Err(bad(format!(
            "holds {} where the manifest records {}",
            count(text.first().map_or(0, Vec::len), "point"),
            m.points
        ))
        .into());
    }
    m.parameters
        .iter()
        .zip(text)
        .map(|(p, values)| {
            let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
            let column = match (numbers, &p.values) {
                (Some(x), _) if x.iter().all(|v| v.is_finite()) => Column::Numeric(x),
                (_, Some(listed)) => {
                    let codes = values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            listed.iter().position(|l| l == v).ok_or_else(|| {
                                bad(format!(
                                    "line {}: column `{}`: \"{v}\" is not one of its listed values",
                                    i + 2,
                                    p.column
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    Column::Categorical {
                        codes,
                        categories: listed.clone(),
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "column `{}` holds a value that is not a finite number",
                        p.column
                    )));
                }
            };
            Ok(Dimension {
                name: p.path.clone(),
                column,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// Run PRIM on a finished sweep and write `trajectory.csv`, `boxes.csv` and `manifest.json`.
pub fn discover(req: &DiscoverRequest) -> anyhow::Result<Discovery> {
    let dir = &req.sweep_dir;
    let folder = |message: String| SweepError::Folder {
        path: dir.to_path_buf(),
        message,
    };
    let s = &req.settings;
    for (name, v, lo, hi) in [
        ("--peel-alpha", s.peel_alpha, 0.0, 0.5),
        ("--paste-alpha", s.paste_alpha, 0.0, 0.5),
        ("--mass-min", s.mass_min, 0.0, 1.0),
    ] {
        if !(v > lo && v < hi) {
            return Err(crate::cli::UsageError(format!(
                "{name} must be above {lo} and below {hi}, not {v}"
            ))
            .into());
        }
    }
    if !(0.0..=1.0).contains(&s.min_density) {
        return Err(crate::cli::UsageError(format!(
            "--min-density must be between 0 and 1, not {}",
            s.min_density
        ))
        .into());
    }
    if !req.threshold.is_finite() {
        return Err(crate::cli::UsageError("the threshold must be a finite number".into()).into());
    }
    if dir.join(STATE_FILE).exists() {
        return Err(
            folder("the sweep has not finished; finish it with --resume first".into()).into(),
        );
    }
    let (m, _) = SweepManifest::read_with_records(
        dir,
        &["summary.csv", "points.csv"],
        req.accept_unverified,
    )?;
    if let Some(shard) = m.shard {
        return Err(folder(format!(
            "holds only shard {shard}; merge the shards first (ccgsim merge)"
        ))
        .into());
    }
    let Some(o) = m.outputs.iter().position(|o| o.name == req.output) else {
        let names: Vec<&str> = m.outputs.iter().map(|o| o.name.as_str()).collect();
        return Err(folder(format!(
            "has no output `{}`; its outputs are {}",
            req.output,
            names.join(", ")
        ))
        .into());
    };
    if m.parameters.is_empty() {
        return Err(folder("varies no parameter: there is no input space to search".into()).into());
    }
    let means = super::sensitivity::read_means(dir, &m, true)?.swap_remove(o);
    let all_dims = read_dimensions(dir, &m)?;
    // Points whose mean is undefined (a share of an empty group) are left out.
    let keep: Vec<usize> = (0..means.len()).filter(|&i| means[i].is_finite()).collect();
    let undefined = means.len() - keep.len();
    let dims: Vec<Dimension> = all_dims
        .into_iter()
        .map(|d| Dimension {
            name: d.name,
            column: match d.column {
                Column::Numeric(x) => Column::Numeric(keep.iter().map(|&i| x[i]).collect()),
                Column::Categorical { codes, categories } => Column::Categorical {
                    codes: keep.iter().map(|&i| codes[i]).collect(),
                    categories,
                },
            },
        })
        .collect();
    let values: Vec<f64> = keep.iter().map(|&i| means[i]).collect();
    let y: Vec<bool> = values
        .iter()
        .map(|&v| match req.side {
            Side::Below => v < req.threshold,
            Side::Above => v > req.threshold,
        })
        .collect();
    let cases = y.iter().filter(|&&c| c).count();
    let words = match req.side {
        Side::Below => "below",
        Side::Above => "above",
    };
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if cases == 0 || cases == y.len() {
        return Err(folder(format!(
            "{} of the sweep's {} has its mean of `{}` {words} {}: the means run from {} to {}, so there is nothing to tell apart; choose a threshold between them",
            if cases == 0 { "no point" } else { "every point" },
            count(y.len(), "point"),
            req.output,
            number(Some(req.threshold)),
            number(Some(lo)),
            number(Some(hi))
        ))
        .into());
    }
    let trajectory = prim(&dims, &y, s);
    let chosen = match req.box_index {
        Some(k) if k >= trajectory.boxes.len() => {
            return Err(crate::cli::UsageError(format!(
                "--box {k}: the trajectory has boxes 0 to {}",
                trajectory.boxes.len() - 1
            ))
            .into());
        }
        Some(k) => k,
        None => choose(&trajectory, s.min_density),
    };
    let out = req.out.clone().unwrap_or_else(|| {
        dir.join(format!(
            "discover_{}_{words}_{}",
            req.output,
            number(Some(req.threshold))
        ))
    });
    prepare_dir(&out, req.force)?;
    let p = quasi_p(&dims, &y, &trajectory.full, &trajectory.boxes[chosen]);

    let traj = PendingFile::new(&out, "trajectory.csv")?;
    {
        let mut w = csv::Writer::from_writer(traj.writer()?);
        w.write_record([
            "box",
            "phase",
            "coverage",
            "density",
            "mass",
            "points",
            "cases",
            "restricted",
            "chosen",
        ])?;
        for (k, b) in trajectory.boxes.iter().enumerate() {
            w.write_record([
                k.to_string(),
                if k == 0 {
                    "start"
                } else if b.pasted {
                    "paste"
                } else {
                    "peel"
                }
                .to_string(),
                number(Some(b.coverage)),
                number(Some(b.density)),
                number(Some(b.mass)),
                b.points.to_string(),
                b.cases.to_string(),
                b.restricted.to_string(),
                (k == chosen).to_string(),
            ])?;
        }
        finish(w)?;
    }
    let boxes = PendingFile::new(&out, "boxes.csv")?;
    {
        let mut w = csv::Writer::from_writer(boxes.writer()?);
        w.write_record([
            "box",
            "parameter",
            "restricted",
            "lower",
            "upper",
            "values",
            "quasi_p",
        ])?;
        for (k, b) in trajectory.boxes.iter().enumerate() {
            let qp = quasi_p(&dims, &y, &trajectory.full, b);
            for ((d, limit), (full, q)) in dims
                .iter()
                .zip(&b.limits)
                .zip(trajectory.full.iter().zip(qp))
            {
                let (lower, upper, values) = match (limit, &d.column) {
                    (Limit::Range { lower, upper }, _) => {
                        (number(Some(*lower)), number(Some(*upper)), String::new())
                    }
                    (Limit::Values(allowed), Column::Categorical { categories, .. }) => (
                        String::new(),
                        String::new(),
                        categories
                            .iter()
                            .zip(allowed)
                            .filter(|(_, a)| **a)
                            .map(|(c, _)| c.as_str())
                            .collect::<Vec<_>>()
                            .join("|"),
                    ),
                    _ => unreachable!("a limit matches its column"),
                };
                w.write_record([
                    k.to_string(),
                    d.name.clone(),
                    (limit != full).to_string(),
                    lower,
                    upper,
                    values,
                    q.map(|q| number(Some(q))).unwrap_or_default(),
                ])?;
            }
        }
        finish(w)?;
    }
    let record = DiscoverManifest {
        ccgsim_version: env!("CARGO_PKG_VERSION"),
        sweep: &m.sweep,
        sweep_folder: dir.display().to_string(),
        output: &req.output,
        side: req.side,
        threshold: req.threshold,
        settings: *s,
        points: y.len(),
        cases,
        undefined_points: undefined,
        boxes: trajectory.boxes.len(),
        chosen_box: chosen,
    };
    // The manifest records the files' checksums, which the report verifies before reading them.
    let manifest = crate::integrity::write_manifest(&out, &record, &[&traj, &boxes])?;
    PendingFile::commit_all(vec![traj, boxes, manifest])?;
    let label = crate::metrics::metric_index(&m.outputs[o].metric)
        .map(|i| crate::metrics::METRICS[i].label.to_string());
    Ok(Discovery {
        dims,
        trajectory,
        chosen,
        quasi_p: p,
        undefined,
        dir: out,
        label,
    })
}

/// Flush a CSV writer and the file under it, so that a failed write is an error, not lost.
fn finish(w: csv::Writer<std::io::BufWriter<std::fs::File>>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut inner = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("could not write: {}", e.error()))?;
    inner.flush()?;
    Ok(())
}

/// A value to three significant figures (whole numbers from 1,000), for the terminal.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.digits$}")
}

/// The chosen box in words, for the terminal.
pub fn describe(req: &DiscoverRequest, d: &Discovery) -> String {
    let t = &d.trajectory;
    let b = &t.boxes[d.chosen];
    let side = match req.side {
        Side::Below => "below",
        Side::Above => "above",
    };
    let what = match &d.label {
        Some(l) => format!("{l} (`{}`)", req.output),
        None => format!("`{}`", req.output),
    };
    let mut s = format!(
        "{what} {side} {}: {} of {} ({:.0}%).\n",
        number(Some(req.threshold)),
        t.cases,
        count(t.points, "point"),
        100.0 * t.cases as f64 / t.points as f64
    );
    if d.undefined > 0 {
        s += &format!(
            "({} left out: the output is undefined there.)\n",
            count(d.undefined, "point")
        );
    }
    s += &format!(
        "Box {} of the trajectory's {} ({}): it holds {} of the {} cases (coverage {:.2}) in {} (density {:.2}), restricting {} of {}:\n",
        d.chosen,
        t.boxes.len(),
        if req.box_index.is_some() {
            "as asked".to_string()
        } else if b.density >= req.settings.min_density {
            format!(
                "the highest coverage at density {} or more",
                number(Some(req.settings.min_density))
            )
        } else {
            format!(
                "no box reaches density {}; this is the densest",
                number(Some(req.settings.min_density))
            )
        },
        b.cases,
        t.cases,
        b.coverage,
        count(b.points, "point"),
        b.density,
        count(b.restricted, "parameter"),
        t.full.len()
    );
    for ((dim, limit), (full, q)) in d
        .dims
        .iter()
        .zip(&b.limits)
        .zip(t.full.iter().zip(&d.quasi_p))
    {
        if limit == full {
            continue;
        }
        let q = q.map_or(String::new(), |q| format!("  (quasi-p {q:.2e})"));
        match (limit, full, &dim.column) {
            (
                Limit::Range { lower, upper },
                Limit::Range {
                    lower: l0,
                    upper: u0,
                },
                _,
            ) => {
                let range = if lower > l0 && upper < u0 {
                    format!("from {} to {}", short(*lower), short(*upper))
                } else if lower > l0 {
                    format!("at least {}", short(*lower))
                } else {
                    format!("at most {}", short(*upper))
                };
                s += &format!(
                    "  {} {range} (sampled {} to {}){q}\n",
                    dim.name,
                    short(*l0),
                    short(*u0)
                );
            }
            (Limit::Values(allowed), _, Column::Categorical { categories, .. }) => {
                let kept: Vec<&str> = categories
                    .iter()
                    .zip(allowed)
                    .filter(|(_, a)| **a)
                    .map(|(c, _)| c.as_str())
                    .collect();
                s += &format!("  {} one of {}{q}\n", dim.name, kept.join(", "));
            }
            _ => unreachable!("a limit matches its column"),
        }
    }
    s += "A quasi-p-value is the chance of a box this dense without that restriction (Bryant and Lempert 2010): above 0.05, the restriction may be noise.\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(name: &str, x: Vec<f64>) -> Dimension {
        Dimension {
            name: name.into(),
            column: Column::Numeric(x),
        }
    }

    /// A regular grid of `side`^2 points on [0, 1]^2 with a third, irrelevant input.
    fn grid(side: usize) -> (Vec<Dimension>, Vec<f64>, Vec<f64>) {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..side {
            for j in 0..side {
                a.push((i as f64 + 0.5) / side as f64);
                b.push((j as f64 + 0.5) / side as f64);
                // An input unrelated to the others: a hash of the point's number.
                let h = crate::rng::splitmix64((i * side + j) as u64);
                c.push((h >> 11) as f64 / (1u64 << 53) as f64);
            }
        }
        let dims = vec![
            numeric("a", a.clone()),
            numeric("b", b.clone()),
            numeric("c", c),
        ];
        (dims, a, b)
    }

    #[test]
    fn prim_finds_a_box_on_a_grid() {
        let (dims, a, b) = grid(40);
        let y: Vec<bool> = a
            .iter()
            .zip(&b)
            .map(|(&a, &b)| (0.3..=0.7).contains(&a) && b >= 0.6)
            .collect();
        let t = prim(&dims, &y, &PrimSettings::default());
        let k = choose(&t, 0.8);
        let chosen = &t.boxes[k];
        assert!(chosen.coverage > 0.9 && chosen.density > 0.9, "{chosen:?}");
        assert_eq!(chosen.restricted, 2, "{:?}", chosen.limits);
        assert_eq!(chosen.limits[2], t.full[2]);
        // Coverage never rises while peeling; mass never falls below the minimum.
        for w in t.boxes.windows(2).filter(|w| !w[1].pasted) {
            assert!(w[1].coverage <= w[0].coverage && w[1].density >= w[0].density);
        }
        assert!(t.boxes.iter().all(|b| b.mass >= 0.05));
        let p = quasi_p(&dims, &y, &t.full, chosen);
        assert!(p[0].unwrap() < 1e-6 && p[1].unwrap() < 1e-6, "{p:?}");
        assert_eq!(p[2], None);
    }

    #[test]
    fn a_categorical_input_is_peeled_by_value() {
        let (mut dims, a, _) = grid(20);
        let codes: Vec<usize> = (0..a.len()).map(|i| i % 3).collect();
        let y: Vec<bool> = codes
            .iter()
            .zip(&a)
            .map(|(&c, &a)| c == 2 && a > 0.5)
            .collect();
        dims.push(Dimension {
            name: "framing".into(),
            column: Column::Categorical {
                codes,
                categories: vec!["x".into(), "y".into(), "z".into()],
            },
        });
        let t = prim(&dims, &y, &PrimSettings::default());
        let b = &t.boxes[choose(&t, 0.8)];
        assert_eq!(b.limits[3], Limit::Values(vec![false, false, true]));
        assert!(b.density > 0.9 && b.coverage > 0.9, "{b:?}");
    }

    #[test]
    fn the_binomial_tail_matches_exact_sums() {
        // P(X >= 3), X ~ Bin(5, 0.5) = (10 + 5 + 1) / 32.
        assert!((binomial_upper_tail(3, 5, 0.5) - 0.5).abs() < 1e-12);
        assert!((binomial_upper_tail(5, 5, 0.2) - 0.2f64.powi(5)).abs() < 1e-15);
        assert_eq!(binomial_upper_tail(0, 5, 0.3), 1.0);
        assert_eq!(binomial_upper_tail(6, 5, 0.3), 0.0);
        let sum: f64 = (0..=10)
            .map(|k| binomial_upper_tail(k, 10, 0.3) - binomial_upper_tail(k + 1, 10, 0.3))
            .sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_choice_prefers_coverage_among_dense_boxes() {
        let (dims, a, b) = grid(30);
        let y: Vec<bool> = a.iter().zip(&b).map(|(&a, _)| a > 0.8).collect();
        let t = prim(&dims, &y, &PrimSettings::default());
        let k = choose(&t, 0.8);
        let dense = t.boxes.iter().filter(|b| b.density >= 0.8);
        assert!(dense.clone().all(|b| b.coverage <= t.boxes[k].coverage));
        assert!(t.boxes[k].density >= 0.8);
    }
}

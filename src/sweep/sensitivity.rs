//! Global sensitivity analysis of a finished `sobol` or `morris` sweep.
//!
//! Sobol' indices (Sobol' 1993) from the Saltelli design: first-order S1 by the estimator of
//! Saltelli et al. (2010), V_i = mean(f(B) (f(A_B^i) - f(A))) with f centred on its sample mean;
//! total-order ST by Jansen's (1999),
//! VT_i = mean((f(A) - f(A_B^i))^2) / 2; second-order S2 (where the design has B_A^i) by Saltelli
//! (2002), V_ij = mean(f(B_A^i) f(A_B^j) - f(A) f(B)) - V_i - V_j; each divided by the variance of
//! f over A and B together. Morris's elementary effects (Morris 1991) give mu, mu* (the mean
//! absolute effect, Campolongo et al. 2007) and sigma, in units of each parameter's whole range.
//! Confidence intervals are bootstrap percentiles: base rows (Sobol') or trajectories (Morris)
//! resampled with replacement on a named random stream, so they are reproducible too.
//!
//! `sensitivity.csv` keeps the design's order (outputs, then parameters as the sweep file lists
//! them); the printed [`table`] ranks the parameters of each output by their total effect.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use rand::RngExt;
use rayon::prelude::*;

use super::design::{Design, morris_steps};
use super::error::SweepError;
use super::runner::{STATE_FILE, SweepManifest};
use crate::output::{PendingFile, number};
use crate::rng::{Purpose, stream};
use crate::words::count;

/// An estimate with its bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub ci: Option<(f64, f64)>,
}

/// One row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    pub metric: String,
    /// A parameter's path, or `a:b` for a second-order index.
    pub parameter: String,
    /// S1, ST, S2, mu, mu_star or sigma.
    pub index: &'static str,
    pub estimate: Estimate,
}

/// Sobol' indices of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    pub s1: Vec<Estimate>,
    pub st: Vec<Estimate>,
    /// ((i, j), S2_ij) for i < j.
    pub s2: Vec<((usize, usize), Estimate)>,
}

/// Point estimates of (S1, ST, S2) over the base rows `rows` of `y` (Saltelli layout).
fn sobol_point(
    y: &[f64],
    k: usize,
    second_order: bool,
    rows: &[usize],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let per = if second_order { 2 * k + 2 } else { k + 2 };
    let n = rows.len() as f64;
    let mean = rows
        .iter()
        .map(|&j| y[j * per] + y[j * per + per - 1])
        .sum::<f64>()
        / (2.0 * n);
    // Centred outputs: the estimators are unchanged in expectation, but their variance no longer
    // grows with the square of the output's mean (a share near 0.7 varying by a few points).
    let a = |j: usize| y[j * per] - mean;
    let b = |j: usize| y[j * per + per - 1] - mean;
    let ab = |j: usize, i: usize| y[j * per + 1 + i] - mean;
    let ba = |j: usize, i: usize| y[j * per + 1 + k + i] - mean;
    let var = rows
        .iter()
        .map(|&j| a(j).powi(2) + b(j).powi(2))
        .sum::<f64>()
        / (2.0 * n);
    let mut s1 = vec![0.0; k];
    let mut st = vec![0.0; k];
    for i in 0..k {
        let (mut v1, mut vt) = (0.0, 0.0);
        for &j in rows {
            v1 += b(j) * (ab(j, i) - a(j));
            vt += (a(j) - ab(j, i)).powi(2);
        }
        s1[i] = v1 / n / var;
        st[i] = vt / (2.0 * n) / var;
    }
    let mut s2 = Vec::new();
    if second_order {
        for i in 0..k {
            for l in i + 1..k {
                let v: f64 = rows
                    .iter()
                    .map(|&j| ba(j, i) * ab(j, l) - a(j) * b(j))
                    .sum::<f64>()
                    / n;
                s2.push(v / var - s1[i] - s1[l]);
            }
        }
    }
    (s1, st, s2)
}

/// The 2.5% and 97.5% percentiles of `xs` (sorted in place), by linear interpolation.
fn percentile_interval(xs: &mut Vec<f64>) -> Option<(f64, f64)> {
    xs.retain(|x| x.is_finite());
    if xs.len() < 2 {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = p * (xs.len() - 1) as f64;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
    };
    Some((q(0.025), q(0.975)))
}

/// Bootstrap: `estimate` on `resamples` resamples of `units` indices (plus the point estimate),
/// each resample on its own stream; returns each statistic's estimate and interval.
fn bootstrap(
    units: usize,
    resamples: usize,
    seed: u64,
    estimate: impl Fn(&[usize]) -> Vec<f64> + Sync,
) -> Vec<Estimate> {
    let all: Vec<usize> = (0..units).collect();
    let point = estimate(&all);
    let draws: Option<Vec<Vec<f64>>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            // After a signal nothing is written (see `PendingFile::commit`): stop at once.
            if crate::signals::cancelled() {
                return None;
            }
            let mut rng = stream(seed, Purpose::Bootstrap, b as u64, 0);
            let idx: Vec<usize> = (0..units).map(|_| rng.random_range(0..units)).collect();
            Some(estimate(&idx))
        })
        .collect();
    let Some(draws) = draws else {
        let stopped = Estimate {
            value: f64::NAN,
            ci: None,
        };
        return vec![stopped; point.len()];
    };
    point
        .iter()
        .enumerate()
        .map(|(s, &value)| {
            let mut xs: Vec<f64> = draws.iter().map(|d| d[s]).collect();
            Estimate {
                value,
                ci: if resamples > 0 {
                    percentile_interval(&mut xs)
                } else {
                    None
                },
            }
        })
        .collect()
}

/// Sobol' indices of the outputs `y` of a Saltelli design with `n` base rows and `k` parameters.
pub fn sobol_indices(
    y: &[f64],
    k: usize,
    n: usize,
    second_order: bool,
    resamples: usize,
    seed: u64,
) -> SobolIndices {
    let est = bootstrap(n, resamples, seed, |rows| {
        let (s1, st, s2) = sobol_point(y, k, second_order, rows);
        s1.into_iter().chain(st).chain(s2).collect()
    });
    let mut pairs = Vec::new();
    if second_order {
        for i in 0..k {
            for j in i + 1..k {
                pairs.push((i, j));
            }
        }
    }
    SobolIndices {
        s1: est[..k].to_vec(),
        st: est[k..2 * k].to_vec(),
        s2: pairs
            .into_iter()
            .zip(est[2 * k..].iter().copied())
            .collect(),
    }
}

/// Morris statistics per parameter: (mu, mu*, sigma).
pub type MorrisIndices = Vec<[Estimate; 3]>;

/// Morris statistics from the outputs `y` of trajectories with `steps` (parameter, signed unit
/// step) from [`morris_steps`].
pub fn morris_indices(
    y: &[f64],
    k: usize,
    steps: &[(usize, f64)],
    resamples: usize,
    seed: u64,
) -> MorrisIndices {
    let r = steps.len() / k;
    // effects[t * k + i]: the elementary effect of parameter i in trajectory t.
    let mut effects = vec![0.0; r * k];
    for t in 0..r {
        for s in 0..k {
            let (i, step) = steps[t * k + s];
            let (y0, y1) = (y[t * (k + 1) + s], y[t * (k + 1) + s + 1]);
            effects[t * k + i] = (y1 - y0) / step;
        }
    }
    let est = bootstrap(r, resamples, seed, |ts| {
        let m = ts.len() as f64;
        let mut out = Vec::with_capacity(3 * k);
        for i in 0..k {
            let e = |t: usize| effects[t * k + i];
            let mu = ts.iter().map(|&t| e(t)).sum::<f64>() / m;
            let mu_star = ts.iter().map(|&t| e(t).abs()).sum::<f64>() / m;
            let sigma =
                (ts.iter().map(|&t| (e(t) - mu).powi(2)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
            out.extend([mu, mu_star, sigma]);
        }
        out
    });
    (0..k)
        .map(|i| [est[3 * i], est[3 * i + 1], est[3 * i + 2]])
        .collect()
}

/// Analyse the sweep folder `dir`: verify its manifest and `summary.csv` (the mean over replicates
/// of each output at each point), compute the indices, and write `sensitivity.csv` into it. An
/// existing `sensitivity.csv` is kept unless `force`; a folder without checksums is refused unless
/// `accept_unverified`.
pub fn analyse(
    dir: &Path,
    resamples: usize,
    seed: u64,
    force: bool,
    accept_unverified: bool,
) -> anyhow::Result<Vec<IndexRow>> {
    let folder = |message: String| SweepError::Folder {
        path: dir.to_path_buf(),
        message,
    };
    if dir.join(STATE_FILE).exists() {
        return Err(
            folder("the sweep has not finished; finish it with --resume first".into()).into(),
        );
    }
    let existing = dir.join("sensitivity.csv");
    if existing.exists() && !force {
        return Err(SweepError::Folder {
            path: existing,
            message: "already exists; pass --force to overwrite it".into(),
        }
        .into());
    }
    let (m, records) = SweepManifest::read_with_records(dir, &["summary.csv"], accept_unverified)?;
    if let Some(s) = m.shard {
        return Err(folder(format!(
            "holds only shard {s}; merge the shards first (ccgsim merge)"
        ))
        .into());
    }
    let k = m.parameters.len();
    if matches!(m.design, Design::Sobol { .. } | Design::Morris { .. }) {
        let want = m.design.point_count(&vec![0; k]);
        if want != Some(m.points) {
            return Err(SweepError::Folder {
                path: dir.join("manifest.json"),
                message: format!(
                    "records {} where its {} design over {} has {}",
                    count(m.points, "point"),
                    m.design.kind(),
                    count(k, "parameter"),
                    want.map_or("too many to count".into(), |w| w.to_string())
                ),
            }
            .into());
        }
    }
    let per_output = read_means(dir, &m, false)?;
    let mut rows = Vec::new();
    for (o, y) in m.outputs.iter().zip(&per_output) {
        match &m.design {
            &Design::Sobol { n, second_order } => {
                let names: Vec<&str> = m.parameters.iter().map(|p| p.path.as_str()).collect();
                let s = sobol_indices(y, k, n as usize, second_order, resamples, seed);
                for (i, name) in names.iter().enumerate() {
                    for (index, e) in [("S1", s.s1[i]), ("ST", s.st[i])] {
                        rows.push(IndexRow {
                            metric: o.name.clone(),
                            parameter: name.to_string(),
                            index,
                            estimate: e,
                        });
                    }
                }
                for ((i, j), e) in s.s2 {
                    rows.push(IndexRow {
                        metric: o.name.clone(),
                        parameter: format!("{}:{}", names[i], names[j]),
                        index: "S2",
                        estimate: e,
                    });
                }
            }
            Design::Morris { .. } => {
                let points = m.design.unit_points(&vec![0; k], &vec![false; k], m.seed);
                let steps = morris_steps(&points, k).ok_or_else(|| {
                    folder("the Morris design could not be regenerated from the manifest".into())
                })?;
                let stats = morris_indices(y, k, &steps, resamples, seed);
                for (p, st) in m.parameters.iter().zip(stats) {
                    for (index, e) in ["mu", "mu_star", "sigma"].into_iter().zip(st) {
                        rows.push(IndexRow {
                            metric: o.name.clone(),
                            parameter: p.path.clone(),
                            index,
                            estimate: e,
                        });
                    }
                }
            }
            other => {
                return Err(folder(format!(
                    "is a {} sweep; sensitivity indices need a sobol or morris design",
                    other.kind()
                ))
                .into());
            }
        }
    }
    let file = write_rows(dir, &rows)?;
    // The sweep's manifest vouches for sensitivity.csv too (the rest of it is unchanged); a folder
    // read unverified is left unverified.
    let manifest = match records {
        Some(mut records) => {
            records.retain(|r| r.name != "sensitivity.csv");
            records.push(crate::integrity::record_pending(&file)?);
            Some(crate::integrity::write_manifest_records(dir, &m, records)?)
        }
        None => None,
    };
    file.commit()?;
    if let Some(manifest) = manifest {
        manifest.commit()?;
    }
    Ok(rows)
}

/// Each output's mean at each point, from `summary.csv`: every (point, output) exactly once, each
/// mean a finite number (the indices are undefined otherwise).
/// Each output's mean at each point, from summary.csv. A mean that is not a finite number (`NA`:
/// the output is undefined there) is an error unless `allow_undefined`, which keeps it as NaN.
pub(super) fn read_means(
    dir: &Path,
    m: &SweepManifest,
    allow_undefined: bool,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let path = dir.join("summary.csv");
    let mut r = csv::Reader::from_path(&path).map_err(|e| SweepError::Folder {
        path: path.clone(),
        message: format!("could not be read: {e}"),
    })?;
    // Each (point, output) needs a row of several bytes: a manifest that records more cannot be
    // this file's (and must not make us allocate for it).
    let size = std::fs::metadata(&path).map_or(0, |f| f.len());
    if m.points.saturating_mul(m.outputs.len()) as u64 > size {
        return Err(SweepError::Folder {
            path: path.clone(),
            message: format!(
                "is too small ({size} bytes) to hold a row for each of the manifest's {} x {}",
                count(m.points, "point"),
                count(m.outputs.len(), "output")
            ),
        }
        .into());
    }
    let mut y = vec![vec![f64::NAN; m.points]; m.outputs.len()];
    let mut seen = vec![vec![false; m.points]; m.outputs.len()];
    let bad = |message: String| SweepError::Folder {
        path: path.clone(),
        message,
    };
    // Columns by name: `point`, the parameter columns, then `metric`, `mean`, ...
    let header = r
        .headers()
        .map_err(|e| bad(format!("line 1: not CSV ({e})")))?
        .clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("line 1: has no `{name}` column")))
    };
    let (point, metric, mean) = (column("point")?, column("metric")?, column("mean")?);
    let mut rec = csv::StringRecord::new();
    loop {
        let more = r.read_record(&mut rec).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(format!("line {line}: not a row of the summary ({e})"))
        })?;
        if !more {
            break;
        }
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize| rec.get(i).unwrap_or_default();
        let at = |message: String| bad(format!("line {line}: {message}"));
        let p: usize = field(point).parse().map_err(|_| {
            at(format!(
                "column `point`: \"{}\" is not a point number",
                field(point)
            ))
        })?;
        let o = m
            .outputs
            .iter()
            .position(|o| o.name == field(metric))
            .ok_or_else(|| {
                at(format!(
                    "column `metric`: unknown output \"{}\"",
                    field(metric)
                ))
            })?;
        if p >= m.points {
            return Err(at(format!(
                "point {p} is beyond the design's {}",
                count(m.points, "point")
            ))
            .into());
        }
        let v = field(mean)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .or(allow_undefined.then_some(f64::NAN))
            .ok_or_else(|| {
                at(format!(
                    "column `mean`: \"{}\" (point {p}, {}) is not a finite number; the sensitivity \
                     indices need every point's value",
                    field(mean),
                    m.outputs[o].name
                ))
            })?;
        if std::mem::replace(&mut seen[o][p], true) {
            return Err(at(format!("point {p}, {} appears twice", m.outputs[o].name)).into());
        }
        y[o][p] = v;
    }
    for (o, seen) in seen.iter().enumerate() {
        if let Some(p) = seen.iter().position(|s| !s) {
            return Err(bad(format!(
                "has no row for point {p}, {} ({} of {} missing)",
                m.outputs[o].name,
                seen.iter().filter(|s| !**s).count(),
                m.points
            ))
            .into());
        }
    }
    Ok(y)
}

/// Whether `index` measures a parameter's total effect, by which [`ranked`] orders parameters:
/// `ST` for Sobol' indices, `mu_star` for Morris.
pub fn is_total_effect(index: &str) -> bool {
    matches!(index, "ST" | "mu_star")
}

/// Descending order of estimates, undefined (NaN) last.
fn descending(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.total_cmp(&a),
    }
}

/// `rows` in the order the table prints them: outputs as in `rows`; within an output, parameters
/// by descending total effect ([`is_total_effect`]; undefined last, ties in design order), each
/// parameter's indices together in their own order; second-order `S2` rows last, by descending
/// value.
pub fn ranked(rows: &[IndexRow]) -> Vec<&IndexRow> {
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for metric in metrics {
        let (mut pairs, singles): (Vec<&IndexRow>, Vec<&IndexRow>) = rows
            .iter()
            .filter(|r| r.metric == metric)
            .partition(|r| r.index == "S2");
        // Each parameter, in design order, with its total effect.
        let mut parameters: Vec<(&str, f64)> = Vec::new();
        for r in &singles {
            let pos = match parameters.iter().position(|p| p.0 == r.parameter) {
                Some(pos) => pos,
                None => {
                    parameters.push((&r.parameter, f64::NAN));
                    parameters.len() - 1
                }
            };
            if is_total_effect(r.index) {
                parameters[pos].1 = r.estimate.value;
            }
        }
        // A stable sort: equal effects stay in design order.
        parameters.sort_by(|a, b| descending(a.1, b.1));
        for (parameter, _) in parameters {
            out.extend(singles.iter().filter(|r| r.parameter == parameter));
        }
        pairs.sort_by(|a, b| descending(a.estimate.value, b.estimate.value));
        out.extend(pairs);
    }
    out
}

/// The table `ccgsim sensitivity` prints: one row per index, in [`ranked`] order, a blank line
/// between outputs.
pub fn table(rows: &[IndexRow]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<24} {:<48} {:<8} {:>9} {:>21}",
        "metric", "parameter", "index", "value", "95% interval"
    );
    let mut previous: Option<&str> = None;
    for r in ranked(rows) {
        if previous.is_some_and(|m| m != r.metric) {
            text.push('\n');
        }
        previous = Some(&r.metric);
        let ci = r
            .estimate
            .ci
            .map_or(String::new(), |(lo, hi)| format!("[{lo:.4}, {hi:.4}]"));
        let _ = writeln!(
            text,
            "{:<24} {:<48} {:<8} {:>9.4} {:>21}",
            r.metric, r.parameter, r.index, r.estimate.value, ci
        );
    }
    text
}

/// `sensitivity.csv`, pending.
fn write_rows(dir: &Path, rows: &[IndexRow]) -> anyhow::Result<PendingFile> {
    let file = PendingFile::new(dir, "sensitivity.csv")?;
    {
        let mut w = csv::Writer::from_writer(file.writer()?);
        w.write_record(["metric", "parameter", "index", "value", "ci_low", "ci_high"])?;
        for r in rows {
            let v = r.estimate.value;
            w.write_record([
                r.metric.as_str(),
                r.parameter.as_str(),
                r.index,
                &number(v.is_finite().then_some(v)),
                &number(r.estimate.ci.map(|c| c.0)),
                &number(r.estimate.ci.map(|c| c.1)),
            ])?;
        }
        w.flush()
            .with_context(|| format!("could not write '{}'", file.dest().display()))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::testfns::{g_function, g_function_indices, ishigami, ishigami_indices};

    fn scaled(points: &[Vec<f64>], lo: f64, hi: f64) -> Vec<Vec<f64>> {
        points
            .iter()
            .map(|p| p.iter().map(|u| lo + u * (hi - lo)).collect())
            .collect()
    }

    #[test]
    fn ishigami_indices_are_recovered_within_0_02() {
        let n = 1 << 13;
        let d = Design::Sobol {
            n,
            second_order: true,
        };
        let pts = scaled(
            &d.unit_points(&[0; 3], &[false; 3], 0),
            -std::f64::consts::PI,
            std::f64::consts::PI,
        );
        let y: Vec<f64> = pts.iter().map(|x| ishigami(x[0], x[1], x[2])).collect();
        let s = sobol_indices(&y, 3, n as usize, true, 200, 1);
        let (s1, st) = ishigami_indices();
        for i in 0..3 {
            assert!(
                (s.s1[i].value - s1[i]).abs() < 0.02,
                "S1[{i}] {:?} vs {}",
                s.s1[i],
                s1[i]
            );
            assert!(
                (s.st[i].value - st[i]).abs() < 0.02,
                "ST[{i}] {:?} vs {}",
                s.st[i],
                st[i]
            );
            let (lo, hi) = s.s1[i].ci.unwrap();
            assert!(lo <= s.s1[i].value && s.s1[i].value <= hi);
        }
        // Only x1 and x3 interact: S13 = ST3, the others are zero.
        let s13 = s.s2.iter().find(|(p, _)| *p == (0, 2)).unwrap().1.value;
        assert!((s13 - st[2]).abs() < 0.03, "S13 {s13}");
        for pair in [(0, 1), (1, 2)] {
            let v = s.s2.iter().find(|(p, _)| *p == pair).unwrap().1.value;
            assert!(v.abs() < 0.03, "S2{pair:?} {v}");
        }
    }

    #[test]
    fn g_function_indices_are_recovered_within_0_02() {
        let n = 1 << 13;
        let k = 8;
        let d = Design::Sobol {
            n,
            second_order: false,
        };
        let pts = d.unit_points(&[0; 8], &[false; 8], 0);
        let y: Vec<f64> = pts.iter().map(|x| g_function(x)).collect();
        let s = sobol_indices(&y, k, n as usize, false, 100, 1);
        let (s1, st) = g_function_indices(k);
        for i in 0..k {
            assert!(
                (s.s1[i].value - s1[i]).abs() < 0.02,
                "S1[{i}] {:?} vs {}",
                s.s1[i],
                s1[i]
            );
            assert!(
                (s.st[i].value - st[i]).abs() < 0.02,
                "ST[{i}] {:?} vs {}",
                s.st[i],
                st[i]
            );
        }
    }

    #[test]
    fn morris_ranks_a_linear_model_by_its_slopes() {
        // y = 3 x1 - 1 x2 + 0 x3: effects are exactly the slopes, with no spread.
        let k = 3;
        let d = Design::Morris {
            trajectories: 20,
            levels: 4,
            candidates: 20,
        };
        let pts = d.unit_points(&[0; 3], &[false; 3], 5);
        let y: Vec<f64> = pts.iter().map(|x| 3.0 * x[0] - x[1]).collect();
        let steps = morris_steps(&pts, k).unwrap();
        let m = morris_indices(&y, k, &steps, 50, 1);
        for (i, slope) in [3.0, -1.0, 0.0].into_iter().enumerate() {
            assert!((m[i][0].value - slope).abs() < 1e-9);
            assert!((m[i][1].value - f64::abs(slope)).abs() < 1e-9);
            assert!(m[i][2].value.abs() < 1e-9);
        }
    }

    fn row(metric: &str, parameter: &str, index: &'static str, value: f64) -> IndexRow {
        IndexRow {
            metric: metric.into(),
            parameter: parameter.into(),
            index,
            estimate: Estimate { value, ci: None },
        }
    }

    fn order(rows: &[IndexRow]) -> Vec<String> {
        ranked(rows)
            .iter()
            .map(|r| format!("{} {} {}", r.metric, r.parameter, r.index))
            .collect()
    }

    #[test]
    fn sobol_rows_rank_parameters_by_st_within_each_output() {
        let rows = vec![
            row("y", "a", "S1", 0.30),
            row("y", "a", "ST", 0.31),
            row("y", "b", "S1", -0.01),
            row("y", "b", "ST", 0.02),
            row("y", "c", "S1", 0.40),
            row("y", "c", "ST", 0.65),
            row("y", "a:b", "S2", 0.01),
            row("y", "a:c", "S2", 0.20),
            row("y", "b:c", "S2", f64::NAN),
            row("z", "a", "S1", 0.0),
            row("z", "a", "ST", f64::NAN),
            row("z", "b", "S1", 0.1),
            row("z", "b", "ST", 0.1),
            row("z", "c", "S1", 0.1),
            row("z", "c", "ST", 0.1),
        ];
        assert_eq!(
            order(&rows),
            [
                "y c S1", "y c ST", "y a S1", "y a ST", "y b S1", "y b ST", "y a:c S2", "y a:b S2",
                "y b:c S2", // outputs in their order; undefined last; ties stay
                "z b S1", "z b ST", "z c S1", "z c ST", "z a S1", "z a ST",
            ]
        );
        // The table prints them so, with a blank line between outputs.
        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("metric"));
        assert!(lines[1].starts_with("y") && lines[1].contains(" c "));
        assert_eq!(lines[10], "");
        assert_eq!(lines.len(), 1 + rows.len() + 1);
    }

    #[test]
    fn morris_rows_rank_parameters_by_mu_star() {
        let mut rows = Vec::new();
        for (p, mu, mu_star) in [("a", -0.5, 0.5), ("b", 0.1, 0.9), ("c", 0.0, 0.05)] {
            rows.push(row("y", p, "mu", mu));
            rows.push(row("y", p, "mu_star", mu_star));
            rows.push(row("y", p, "sigma", 0.1));
        }
        let got = order(&rows);
        let parameters: Vec<&str> = got
            .iter()
            .step_by(3)
            .map(|s| s.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(parameters, ["b", "a", "c"]);
        assert_eq!(got[..3], ["y b mu", "y b mu_star", "y b sigma"]);
    }

    #[test]
    fn percentiles_interpolate() {
        let mut xs: Vec<f64> = (0..=100).map(f64::from).collect();
        let (lo, hi) = percentile_interval(&mut xs).unwrap();
        assert!((lo - 2.5).abs() < 1e-12 && (hi - 97.5).abs() < 1e-12);
    }
}

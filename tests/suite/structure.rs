//! Intervals that cover what they claim (ODD 4.9): with a generated population drawn afresh for
//! every replicate, a run's 95% intervals cover the mean over many runs (many seeds) about 95% of
//! the time; with the structure held fixed they are conditional on one draw and cover it less
//! often.

use crate::common;

use ccgsim::metrics::HEADLINE;
use ccgsim::scenario::Structure;

const RUNS: u64 = 100;
const REPLICATES: u32 = 20;

fn scenario(seed: u64, structure: &str) -> String {
    format!(
        "months = 6\nstart = \"2015-01\"\nseed = {seed}\n\
         [population]\nccgs = 20\nstructure = \"{structure}\"\n\
         practices_per_ccg = {{ mu = 2.0, sigma = 0.6, min = 2, max = 40 }}\n\
         [[population.commissioning]]\nfrom = \"2015-04\"\ndelegated = 6\njoint = 6\ngreater_involvement = 4\n\
         [policy]\ntraining = {{ rate = 0.1 }}\ndata_review = {{ rate = 0.1 }}\n\
         targets = {{ rate = 0.1, min_level = \"joint\" }}\n\
         sanctions = {{ rate = 0.3, target = \"underperformers\", min_level = \"delegated\" }}\n"
    )
}

/// For each metric (the headline ones and two more), the share of `RUNS` runs whose final-month
/// 95% interval covers the mean of the runs' means.
fn coverage(structure: &str) -> Vec<(&'static str, f64)> {
    coverage_of(|seed| scenario(seed + 1, structure), RUNS, REPLICATES)
}

/// As [`coverage`], for the scenario `text(seed)` over seeds `0..runs`.
fn coverage_of(
    text: impl Fn(u64) -> String,
    runs: u64,
    replicates: u32,
) -> Vec<(&'static str, f64)> {
    let metrics: Vec<&str> = HEADLINE
        .iter()
        .copied()
        .chain(["mean_burden", "mean_influence"])
        .collect();
    let n = runs;
    let runs: Vec<Vec<Option<(f64, f64, f64)>>> = (0..n)
        .map(|seed| {
            let (_, _, summary) = common::run(&text(seed), replicates);
            metrics
                .iter()
                .map(|m| {
                    let w = common::last(&summary, m);
                    w.ci95().map(|(lo, hi)| (w.mean, lo, hi))
                })
                .collect()
        })
        .collect();
    metrics
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            runs.iter()
                .all(|r| r[*i].is_some_and(|(_, lo, hi)| hi > lo))
        })
        .map(|(i, m)| {
            let grand = runs.iter().map(|r| r[i].unwrap().0).sum::<f64>() / n as f64;
            let covered = runs
                .iter()
                .filter(|r| {
                    let (_, lo, hi) = r[i].unwrap();
                    lo <= grand && grand <= hi
                })
                .count();
            (*m, covered as f64 / n as f64)
        })
        .collect()
}

#[test]
fn per_replicate_structure_gives_intervals_that_cover_the_mean_over_runs() {
    assert_eq!(Structure::default(), Structure::PerReplicate);
    let per = coverage("per_replicate");
    let fixed = coverage("fixed");
    eprintln!("coverage (per_replicate, fixed): {per:?} {fixed:?}");
    assert!(per.len() >= 8, "too few metrics vary: {per:?}");
    for (m, c) in &per {
        assert!(*c >= 0.85, "{m}: coverage {c} with per_replicate");
    }
    // Conditional on one draw of the structure, the intervals are too narrow for the spread
    // over runs for at least one metric.
    let worst = fixed.iter().map(|x| x.1).fold(1.0, f64::min);
    assert!(worst < 0.8, "fixed: worst coverage {worst}: {fixed:?}");
}

/// The figures of ODD 4.9 on the bundled england_2015 scenario, 100 runs (seeds 1 to 100) of 20
/// replicates in each mode (several minutes):
/// `cargo test --test suite -- --ignored --nocapture structure::`.
#[test]
#[ignore]
fn england_2015_coverage() {
    let base = std::fs::read_to_string("scenarios/england_2015.toml").unwrap();
    for structure in ["fixed", "per_replicate"] {
        let text = |seed: u64| {
            let mut t = base.replace("seed = 2015", &format!("seed = {}", seed + 1));
            t = t.replace(
                "[population]\n",
                &format!("[population]\nstructure = \"{structure}\"\n"),
            );
            t
        };
        assert!(text(0).contains("structure ="));
        for (m, c) in coverage_of(text, 100, 20) {
            println!("{structure}\t{m}\t{c:.2}");
        }
    }
}

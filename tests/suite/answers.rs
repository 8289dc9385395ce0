//! Expected answers (ODD 7.10, `model.survey.answers = "expected"`): each practice contributes its
//! probability of each answer instead of a draw. On the bundled scenarios the expected and the
//! sampled shares agree (a paired test per survey metric and tick, Holm-corrected), every survey
//! share's spread over replicates is smaller, and the states, the CCGs' own surveys (adaptation,
//! the choice of a level) and everything they drive are the same, bit for bit.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use ccgsim::experiment::{EnsembleOptions, run_ensemble};
use ccgsim::metrics::{METRICS, Unit};
use ccgsim::population::Population;
use ccgsim::scenario::Scenario;

/// Every replicate's value of every metric at every tick: `[replicate][tick][metric]`.
fn per_replicate(text: &str, replicates: u32) -> Vec<Vec<Vec<f64>>> {
    let scenario = Scenario::parse(text, Path::new("test.toml")).expect("valid scenario");
    let population = Population::build(&scenario);
    let options = EnsembleOptions {
        replicates,
        by_ccg: false,
    };
    let mut out = Vec::new();
    run_ensemble(
        &scenario,
        &population,
        options,
        &AtomicBool::new(false),
        |_, tallies| {
            out.push(
                tallies
                    .iter()
                    .map(|t| {
                        METRICS
                            .iter()
                            .map(|m| m.value(t).unwrap_or(f64::NAN))
                            .collect()
                    })
                    .collect(),
            );
            Ok(())
        },
    )
    .expect("run completes");
    out
}

fn bundled(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn expected(text: &str) -> String {
    format!("{text}\n[model.survey]\nanswers = \"expected\"\n")
}

/// The two-sided p-value of a mean `mean` with standard error `se` (normal approximation, good
/// at hundreds of replicates).
fn p_value(mean: f64, se: f64) -> f64 {
    let z = (mean / se).abs();
    // Abramowitz and Stegun 26.2.17 for the upper tail.
    let t = 1.0 / (1.0 + 0.231_641_9 * z);
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    2.0 * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn check(name: &str, replicates: u32) {
    let text = bundled(name);
    let sampled = per_replicate(&text, replicates);
    let expect = per_replicate(&expected(&text), replicates);
    let ticks = sampled[0].len();
    let mut tests = Vec::new();
    let mut wider = Vec::new();
    for (m, metric) in METRICS.iter().enumerate() {
        for tick in 0..ticks {
            let pairs: Vec<(f64, f64)> = (0..replicates as usize)
                .map(|r| (sampled[r][tick][m], expect[r][tick][m]))
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            if metric.unit != Unit::Share {
                // States, counts and costs do not depend on how answers are reported.
                assert!(
                    pairs.iter().all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{name}: {} at tick {tick} changed",
                    metric.name
                );
                continue;
            }
            if pairs.len() < 20 {
                continue;
            }
            let d: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
            let (mean, sd) = mean_sd(&d);
            if sd > 0.0 {
                tests.push((
                    p_value(mean, sd / (d.len() as f64).sqrt()),
                    metric.name,
                    tick,
                ));
            }
            let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let (sd_sampled, sd_expected) = (mean_sd(&a).1, mean_sd(&b).1);
            // Expected shares lose the answers' sampling noise; the relationships and legitimacy
            // items are expected in both modes, so equal.
            if sd_expected > sd_sampled * (1.0 + 1e-12) {
                wider.push(format!(
                    "{} tick {tick}: sd {sd_expected:.5} expected vs {sd_sampled:.5} sampled",
                    metric.name
                ));
            }
        }
    }
    assert!(
        wider.is_empty(),
        "{name}: wider with expected answers:\n{}",
        wider.join("\n")
    );
    // Holm's step-down correction at a family-wise 5%.
    tests.sort_by(|a, b| a.0.total_cmp(&b.0));
    let k = tests.len();
    assert!(k > 100, "{name}: only {k} comparisons");
    // The first ordered p-value above its threshold stops the procedure; none may fall below.
    let rejected = tests
        .iter()
        .enumerate()
        .take_while(|(i, (p, _, _))| *p <= 0.05 / (k - i) as f64)
        .map(|(_, t)| format!("{} at tick {} (p = {:.2e})", t.1, t.2, t.0))
        .collect::<Vec<_>>();
    assert!(
        rejected.is_empty(),
        "{name}: expected and sampled shares differ ({k} comparisons): {rejected:?}"
    );
}

#[test]
fn expected_and_sampled_answers_agree_on_the_baseline() {
    check("baseline", 400);
}

#[test]
fn expected_and_sampled_answers_agree_with_ccgs_that_choose_and_adapt() {
    // The CCGs' own surveys stay sampled: the levels they choose and their adaptations are the
    // same in both runs, so every state is too (checked in `check`).
    let text = bundled("england_2013_2017") + "\n[model.adaptation]\nenabled = true\n";
    let sampled = per_replicate(&text, 20);
    let expect = per_replicate(&expected(&text), 20);
    for (m, metric) in METRICS.iter().enumerate() {
        if metric.unit == Unit::Share {
            continue;
        }
        for r in 0..20 {
            for tick in 0..sampled[r].len() {
                assert_eq!(
                    sampled[r][tick][m].to_bits(),
                    expect[r][tick][m].to_bits(),
                    "{} replicate {r} tick {tick}",
                    metric.name
                );
            }
        }
    }
}

#[test]
fn expected_and_sampled_answers_agree_on_the_escalation_ladder() {
    check("escalation", 200);
}

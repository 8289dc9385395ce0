//! Helpers shared by the model tests: run a scenario given as text through the library pipeline
//! and read summaries off the result.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use ccgsim::experiment::{EnsembleOptions, EnsembleSummary, run_ensemble};
use ccgsim::metrics::metric_index;
use ccgsim::population::Population;
use ccgsim::scenario::Scenario;
use ccgsim::stats::Welford;

/// Parse `text`, build its population and run its ensemble with `replicates` replicates.
pub fn run(text: &str, replicates: u32) -> (Scenario, Population, EnsembleSummary) {
    let scenario = Scenario::parse(text, Path::new("test.toml")).expect("valid test scenario");
    let population = Population::build(&scenario);
    let options = EnsembleOptions {
        replicates,
        by_ccg: true,
    };
    let summary = run_ensemble(
        &scenario,
        &population,
        options,
        &AtomicBool::new(false),
        |_, _| Ok(()),
    )
    .expect("run completes");
    (scenario, population, summary)
}

/// The population-level accumulator of `metric` at `tick` (`None`: the last tick).
pub fn at(summary: &EnsembleSummary, metric: &str, tick: Option<usize>) -> Welford {
    let m = metric_index(metric).unwrap_or_else(|| panic!("unknown metric {metric}"));
    *summary.population_at(tick.unwrap_or(summary.ticks - 1), m)
}

/// The last tick's value of `metric`.
pub fn last(summary: &EnsembleSummary, metric: &str) -> Welford {
    at(summary, metric, None)
}

/// Assert that `low` is below `high` with the two 95% intervals far apart: the gap between the
/// means is at least `margin` times the sum of the half-widths.
pub fn assert_below(what: &str, low: &Welford, high: &Welford, margin: f64) {
    let (l0, l1) = low.ci95().expect("at least two replicates");
    let (h0, h1) = high.ci95().expect("at least two replicates");
    let half = (l1 - l0) / 2.0 + (h1 - h0) / 2.0;
    let gap = high.mean - low.mean;
    assert!(
        gap > margin * half,
        "{what}: expected {:.4} [{l0:.4}, {l1:.4}] well below {:.4} [{h0:.4}, {h1:.4}] (gap {gap:.4}, needed {:.4})",
        low.mean,
        high.mean,
        margin * half
    );
}

/// A small listed population: one CCG of `practices` practices.
pub fn one_ccg(practices: u32) -> String {
    format!("[[ccgs]]\nid = \"test\"\npractices = {practices}\n")
}

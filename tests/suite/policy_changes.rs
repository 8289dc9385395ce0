//! Policy over time (`[[policy_changes]]`, ODD 7.11 eq. P3): a change acts from its month, on the
//! CCGs it names, and shifts no random number, so runs with and without it are paired draw for
//! draw and identical before it takes effect.

use crate::common::{assert_below, last, run};
use ccgsim::metrics::METRICS;

const REPS: u32 = 60;

/// Two listed CCGs over three years from April 2014, training only.
const BASE: &str = "start = \"2014-04\"\nmonths = 36\nseed = 11\n\
    [[ccgs]]\nid = \"north\"\npractices = 40\n[[ccgs]]\nid = \"south\"\npractices = 40\n\
    [policy]\ntraining = { rate = 0.2 }\ndata_review = { rate = 0.0 }\n";

/// Sanctions on every underperformer from April 2015 (tick 12), for `ccgs` (all when empty).
fn with_sanctions_from_2015(ccgs: &str) -> String {
    format!(
        "{BASE}[[policy_changes]]\nfrom = \"2015-04\"\n{ccgs}policy = {{ sanctions = {{ rate = 0.5 }}, training = {{ rate = 0.05 }} }}\n"
    )
}

fn bits(w: &ccgsim::stats::Welford) -> (u64, u64) {
    (w.n, w.mean.to_bits())
}

#[test]
fn a_change_leaves_every_month_before_it_untouched_and_acts_after() {
    let (_, _, fixed) = run(BASE, REPS);
    let (_, _, changed) = run(&with_sanctions_from_2015(""), REPS);
    for tick in 0..=36 {
        let same = (0..METRICS.len())
            .all(|m| bits(fixed.population_at(tick, m)) == bits(changed.population_at(tick, m)));
        // Tick 12 is April 2015: its actions are already the new policy's.
        assert_eq!(same, tick < 12, "tick {tick}");
    }
    assert_below(
        "mean_trust",
        &last(&changed, "mean_trust"),
        &last(&fixed, "mean_trust"),
        3.0,
    );
}

#[test]
fn a_change_for_named_ccgs_changes_only_them() {
    let (_, _, fixed) = run(BASE, REPS);
    let (_, _, changed) = run(&with_sanctions_from_2015("ccgs = [\"south\"]\n"), REPS);
    let differs = |c: usize| {
        (0..=36).any(|t| {
            (0..METRICS.len()).any(|m| {
                bits(fixed.ccg_at(c, t, m).unwrap()) != bits(changed.ccg_at(c, t, m).unwrap())
            })
        })
    };
    assert!(
        !differs(0),
        "north is not named: bit for bit as without the change"
    );
    assert!(differs(1), "south is named");
}

#[test]
fn a_change_from_the_first_month_is_the_changed_policy_from_the_start() {
    let change = "[[policy_changes]]\nfrom = \"2014-04\"\npolicy = { sanctions = { rate = 0.5 }, training = { rate = 0.05 } }\n";
    let (_, _, by_change) = run(&format!("{BASE}{change}"), 20);
    let direct = BASE.replace(
        "training = { rate = 0.2 }",
        "training = { rate = 0.05 }\nsanctions = { rate = 0.5 }",
    );
    let (_, _, from_start) = run(&direct, 20);
    for tick in 0..=36 {
        for (m, metric) in METRICS.iter().enumerate() {
            assert_eq!(
                bits(by_change.population_at(tick, m)),
                bits(from_start.population_at(tick, m)),
                "tick {tick}, {}",
                metric.name
            );
        }
    }
}

#[test]
fn a_ladder_added_by_a_change_starts_then() {
    let ladder = "[[policy_changes]]\nfrom = \"2015-04\"\npolicy = { escalation = { ladder = [\"data_review\", \"sanctions\"] } }\n";
    let (_, _, fixed) = run(BASE, REPS);
    let (_, _, changed) = run(&format!("{BASE}{ladder}"), REPS);
    let sanctions = ccgsim::metrics::metric_index("actions_sanctions").unwrap();
    for tick in 0..12 {
        for m in 0..METRICS.len() {
            assert_eq!(
                bits(fixed.population_at(tick, m)),
                bits(changed.population_at(tick, m)),
                "tick {tick}: no ladder yet"
            );
        }
    }
    let before: f64 = (0..12)
        .map(|t| changed.population_at(t, sanctions).mean)
        .sum();
    let after: f64 = (12..=36)
        .map(|t| changed.population_at(t, sanctions).mean)
        .sum();
    assert_eq!(before, 0.0);
    assert!(after > 0.0, "the ladder sanctions once it is in force");
}

//! Mergers (ODD 7.17, `[model.mergers]`): the practice count falls at the documented rate, CCG
//! reorganisations leave exactly the round's count, registered patients are conserved, the
//! mechanism with nothing to do changes nothing, bit for bit, and the results do not depend on
//! the number of threads.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::common::{at, run};
use ccgsim::experiment::{EnsembleOptions, EnsembleSummary, run_ensemble};
use ccgsim::metrics::{METRICS, metric_index};
use ccgsim::population::{MergerPlan, Population};
use ccgsim::scenario::Scenario;

/// Forty generated CCGs over four years from April 2015, with the given extra TOML.
fn scenario(extra: &str) -> String {
    format!("start = \"2015-04\"\nmonths = 48\nseed = 17\n[population]\nccgs = 40\n{extra}\n")
}

const ON: &str = "[model.mergers]\nenabled = true\npractice_rate = 0.05\nccg_rounds = [{ from = \"2016-04\", ccgs = 32 }, { from = \"2018-04\", ccgs = 25 }]\n";

fn same(a: &EnsembleSummary, b: &EnsembleSummary) -> bool {
    let ccgs = |s: &EnsembleSummary| s.by_ccg.as_ref().map(|v| v.len());
    ccgs(a) == ccgs(b)
        && (0..a.ticks).all(|t| {
            (0..METRICS.len()).all(|m| {
                let (x, y) = (a.population_at(t, m), b.population_at(t, m));
                x.n == y.n
                    && x.mean.to_bits() == y.mean.to_bits()
                    && x.sd().map(f64::to_bits) == y.sd().map(f64::to_bits)
            })
        })
}

#[test]
fn the_practice_count_falls_at_the_yearly_rate() {
    // E[n_t] = n_0 (1 - h)^t = n_0 e^(-r t / 12) (eq. M1), less a little where a locality is down
    // to one practice, which cannot merge. 100 replicates of about 1,500 practices: the standard
    // error of the mean count is about 1.6 practices (0.13%); the bounds are four of them below,
    // and the locality cap (measured at under 0.5%) above.
    let (_, _, s) = run(&scenario(ON), 100);
    let start = at(&s, "practices", Some(0));
    let end = at(&s, "practices", Some(48));
    let expected = start.mean * (-0.05f64 * 4.0).exp();
    let relative = end.mean / expected - 1.0;
    assert!(
        (-0.0055..0.01).contains(&relative),
        "practices: {:.1} -> {:.1}, expected {expected:.1} (relative {relative:+.4})",
        start.mean,
        end.mean
    );
    // The mean list size rises by the same factor: patients are conserved.
    let list = |t| at(&s, "mean_list_size", Some(t)).mean;
    assert!(list(48) > list(0) * 1.15, "{} -> {}", list(0), list(48));
}

#[test]
fn reorganisations_leave_the_rounds_count_of_ccgs() {
    let (_, _, s) = run(&scenario(ON), 5);
    for (tick, ccgs) in [
        (0, 40.0),
        (11, 40.0),
        (12, 32.0),
        (35, 32.0),
        (36, 25.0),
        (48, 25.0),
    ] {
        let w = at(&s, "ccgs", Some(tick));
        assert_eq!((w.mean, w.sd()), (ccgs, Some(0.0)), "CCGs at tick {tick}");
    }
}

#[test]
fn patients_are_conserved_in_every_replicate() {
    let text = scenario(ON);
    let scenario = Scenario::parse(&text, Path::new("t.toml")).unwrap();
    let population = Population::build(&scenario);
    let (practices, list) = (
        metric_index("practices").unwrap(),
        metric_index("mean_list_size").unwrap(),
    );
    run_ensemble(
        &scenario,
        &population,
        EnsembleOptions {
            replicates: 6,
            by_ccg: false,
        },
        &AtomicBool::new(false),
        |r, tallies| {
            let patients = |t: usize| {
                METRICS[practices].value(&tallies[t]).unwrap()
                    * METRICS[list].value(&tallies[t]).unwrap()
            };
            for t in 1..tallies.len() {
                let (a, b) = (patients(0), patients(t));
                assert!(
                    (a - b).abs() < 1e-6 * a,
                    "replicate {r}, tick {t}: {a} -> {b}"
                );
            }
            assert!(METRICS[practices].value(&tallies[48]) < METRICS[practices].value(&tallies[0]));
            Ok(())
        },
    )
    .unwrap();
}

#[test]
fn every_share_stays_a_share_after_mergers() {
    let (_, _, s) = run(
        &scenario(&format!("{ON}[model.leadership]\nenabled = true\n")),
        10,
    );
    for m in METRICS.iter().filter(|m| m.name.ends_with("_share")) {
        for t in 0..s.ticks {
            let w = at(&s, m.name, Some(t));
            assert!(
                w.n == 0 || (0.0..=1.0).contains(&w.mean),
                "{} at tick {t}: {}",
                m.name,
                w.mean
            );
        }
    }
}

#[test]
fn the_mechanism_with_nothing_to_do_changes_nothing() {
    let (_, _, off) = run(&scenario(""), 20);
    let (_, _, idle) = run(
        &scenario(
            "[model.mergers]\nenabled = true\npractice_rate = 0.0\nccg_rounds = [{ from = \"2025-04\", ccgs = 3 }]\n",
        ),
        20,
    );
    assert!(same(&off, &idle));
    let (_, _, on) = run(&scenario(ON), 20);
    assert!(!same(&off, &on), "mergers change the results");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let text = scenario(&format!(
        "{ON}[model.co_commissioning]\nenabled = true\nrounds = [\"2016-04\", \"2017-04\"]\n"
    ));
    let scenario = Scenario::parse(&text, Path::new("t.toml")).unwrap();
    let population = Population::build(&scenario);
    let go = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut seen = Vec::new();
        let summary = pool
            .install(|| {
                run_ensemble(
                    &scenario,
                    &population,
                    EnsembleOptions {
                        replicates: 7,
                        by_ccg: true,
                    },
                    &AtomicBool::new(false),
                    |r, t| {
                        seen.push((r, t.to_vec()));
                        Ok(())
                    },
                )
            })
            .unwrap();
        (seen, summary.population, summary.by_ccg)
    };
    let (a, b) = (go(1), go(2));
    assert_eq!(a, b);
}

#[test]
fn the_plan_merges_the_smallest_ccgs_with_a_neighbour() {
    let text = scenario(ON);
    let scenario = Scenario::parse(&text, Path::new("t.toml")).unwrap();
    let population = Population::build(&scenario);
    let plan = MergerPlan::new(&scenario, &population);
    assert_eq!(plan.groups.len(), 25);
    assert_eq!(plan.groups[0].start, 0);
    assert_eq!(plan.groups.last().unwrap().end, 40);
    for w in plan.groups.windows(2) {
        assert_eq!(w[0].end, w[1].start);
    }
    let mergers: usize = plan.mergers.iter().map(Vec::len).sum();
    assert_eq!(mergers, 15);
    for (group, mergers) in plan.groups.iter().zip(&plan.mergers) {
        assert_eq!(mergers.len(), group.len() - 1);
        for m in mergers {
            assert!([12, 36].contains(&m.tick));
            assert_ne!(m.survivor, m.absorbed);
            assert!(m.survivor < group.len() && m.absorbed < group.len());
            // Nobody is absorbed twice, and nobody absorbs after being absorbed.
            assert_eq!(
                mergers.iter().filter(|n| n.absorbed == m.absorbed).count(),
                1
            );
            assert!(
                !mergers
                    .iter()
                    .any(|n| n.absorbed == m.survivor && n.tick < m.tick)
            );
        }
    }
    // The first merger of the first round is of the CCG with the fewest patients.
    let smallest = (0..40)
        .min_by_key(|&i| (population.ccgs[i].patients, i))
        .unwrap();
    let first = plan
        .groups
        .iter()
        .zip(&plan.mergers)
        .flat_map(|(g, ms)| {
            ms.iter()
                .map(move |m| (g.start + m.survivor, g.start + m.absorbed))
        })
        .any(|(s, a)| s == smallest || a == smallest);
    assert!(first, "CCG {smallest} (fewest patients) merges");
    // Without the mechanism every CCG is a group of its own.
    let off = Scenario::parse(&self::scenario(""), Path::new("t.toml")).unwrap();
    let plan = MergerPlan::new(&off, &Population::build(&off));
    assert_eq!(plan.groups.len(), 40);
    assert!(plan.mergers.iter().all(Vec::is_empty));
}

#[test]
fn bad_merger_settings_are_refused_by_key() {
    for (extra, key) in [
        ("practice_rate = 1.5", "practice_rate"),
        (
            "ccg_rounds = [{ from = \"2017-04\", ccgs = 30 }, { from = \"2016-04\", ccgs = 20 }]",
            "ccg_rounds",
        ),
        (
            "ccg_rounds = [{ from = \"2016-04\", ccgs = 20 }, { from = \"2017-04\", ccgs = 30 }]",
            "ccg_rounds",
        ),
        (
            "ccg_rounds = [{ from = \"2016-04\", ccgs = 0 }]",
            "ccg_rounds",
        ),
        ("practise_rate = 0.1", "practise_rate"),
    ] {
        let text = scenario(&format!("[model.mergers]\nenabled = true\n{extra}\n"));
        let err = Scenario::parse(&text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(key) && err.contains("t.toml"),
            "{extra}: {err}"
        );
    }
}

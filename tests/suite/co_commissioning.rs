//! CCGs that choose their co-commissioning level (ODD 7.16, `[model.co_commissioning]`): the
//! England 2013-2017 scenario reproduces the counts of CCGs at each level in April 2015 and April
//! 2016, more engaged members bring delegation earlier, and with no round inside the run nothing
//! changes, bit for bit.

use std::path::Path;

use crate::common::{assert_below, at, run};
use ccgsim::metrics::METRICS;
use ccgsim::scenario::Scenario;

fn england_2013_2017() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/england_2013_2017.toml"
    ))
    .unwrap()
}

#[test]
fn england_2013_2017_reproduces_the_2015_and_2016_counts_within_10_ccgs() {
    let (scenario, _, summary) = run(&england_2013_2017(), 50);
    assert_eq!(scenario.month_of(24).to_string(), "2015-04");
    assert_eq!(scenario.month_of(36).to_string(), "2016-04");
    // data/README.md: 63-64 delegated and 86-87 joint on 1 April 2015; 115 delegated, 68 joint
    // and 26 greater involvement in April 2016.
    let targets = [
        (24, "ccgs_delegated", 64.0),
        (24, "ccgs_joint", 87.0),
        (36, "ccgs_delegated", 115.0),
        (36, "ccgs_joint", 68.0),
        (36, "ccgs_greater_involvement", 26.0),
    ];
    let mut report = String::new();
    let mut failed = false;
    for (tick, metric, target) in targets {
        let got = at(&summary, metric, Some(tick)).mean;
        let ok = (got - target).abs() <= 10.0;
        failed |= !ok;
        report.push_str(&format!(
            "{metric:<26} tick {tick}: model {got:.1} target {target} {}\n",
            if ok { "ok" } else { "OFF" }
        ));
    }
    assert!(!failed, "level counts missed:\n{report}");
    // Every CCG is counted once, at one level, every month.
    for tick in [0, 24, 36, 48] {
        let total: f64 = ["none", "greater_involvement", "joint", "delegated"]
            .iter()
            .map(|l| at(&summary, &format!("ccgs_{l}"), Some(tick)).mean)
            .sum();
        assert!((total - 209.0).abs() < 1e-9, "tick {tick}: {total} CCGs");
    }
    // Nobody chooses before the first round, and a level once taken is kept: the count of
    // delegated CCGs never falls.
    assert_eq!(at(&summary, "ccgs_none", Some(23)).mean, 209.0);
    let delegated: Vec<f64> = (24..=48)
        .map(|t| at(&summary, "ccgs_delegated", Some(t)).mean)
        .collect();
    assert!(delegated.windows(2).all(|w| w[1] >= w[0]), "{delegated:?}");
}

/// Twenty CCGs of 40 practices that choose at April 2015 on their members' engagement alone.
fn choosing(engagement_base: f32) -> String {
    let ccgs: String = (0..20)
        .map(|i| format!("[[ccgs]]\nid = \"c{i}\"\npractices = 40\n"))
        .collect();
    format!(
        "start = \"2014-04\"\nmonths = 12\nseed = 11\n{ccgs}\
         [model.dynamics]\nengagement_base = {engagement_base}\n\
         [model.co_commissioning]\nenabled = true\nrounds = [\"2015-04\"]\n\
         trust_effect = 0.0\nview_effect = 0.0\n"
    )
}

#[test]
fn ccgs_with_more_engaged_members_delegate_earlier() {
    let (_, _, usual) = run(&choosing(0.55), 400);
    let (_, _, engaged) = run(&choosing(0.65), 400);
    let last = |s, m| at(s, m, Some(12));
    assert_below(
        "engaged_share before the round",
        &at(&usual, "engaged_share", Some(11)),
        &at(&engaged, "engaged_share", Some(11)),
        3.0,
    );
    assert_below(
        "ccgs_delegated at the round",
        &last(&usual, "ccgs_delegated"),
        &last(&engaged, "ccgs_delegated"),
        3.0,
    );
}

#[test]
fn a_choice_with_no_round_in_the_run_changes_nothing() {
    // The 2013-2017 scenario cut to its first 23 months: every round falls after the end.
    let text = england_2013_2017().replace("months = 48", "months = 23");
    let off = text.replace(
        "[model.co_commissioning]\nenabled = true",
        "[model.co_commissioning]\nenabled = false",
    );
    assert_ne!(text, off);
    let (_, _, on) = run(&text, 3);
    let (_, _, off) = run(&off, 3);
    for t in 0..=23 {
        for (m, metric) in METRICS.iter().enumerate() {
            assert_eq!(
                on.population_at(t, m).mean.to_bits(),
                off.population_at(t, m).mean.to_bits(),
                "tick {t}, {}",
                metric.name
            );
        }
    }
}

#[test]
fn bad_choice_settings_name_the_key() {
    let cases = [
        (
            "[model.co_commissioning]\nenabled = true\nrounds = [\"2013-04\"]\n",
            "model.co_commissioning.rounds",
            "not after the scenario's start",
        ),
        (
            "[model.co_commissioning]\nrounds = [\"2016-04\", \"2015-04\"]\n",
            "model.co_commissioning.rounds",
            "increasing order",
        ),
        (
            "[model.co_commissioning]\ncut_joint = 2.0\n",
            "model.co_commissioning.cut_delegated",
            "must not be below cut_joint",
        ),
        (
            "[model.co_commissioning]\npersistence = 1.5\n",
            "model.co_commissioning.persistence",
            "between 0 and 1",
        ),
    ];
    for (section, key, words) in cases {
        let text = format!(
            "start = \"2013-04\"\nmonths = 12\n[[ccgs]]\nid = \"a\"\npractices = 10\n{section}"
        );
        let err = Scenario::parse(&text, Path::new("bad.toml"))
            .expect_err(section)
            .to_string();
        assert!(err.contains(&format!("key `{key}`")), "{section}: {err}");
        assert!(err.contains(words), "{section}: {err}");
        assert!(err.starts_with("bad.toml:"), "{section}: {err}");
    }
}

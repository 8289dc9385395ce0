//! CCGs that adapt (ODD 7.13, `[model.adaptation]`): a CCG that surveys its own members and
//! follows the rules R1-R3 keeps more of them engaged than a fixed policy when sanctions hurt, and
//! escalates targets when its members are engaged but quality lags; it draws no random number, so
//! until its first survey the run is the fixed run, bit for bit.

use crate::common::{assert_below, last, one_ccg, run};
use ccgsim::metrics::{METRICS, metric_index};

const REPS: u32 = 800;

fn scenario(policy: &str, adaptation: &str) -> String {
    format!(
        "months = 36\nseed = 7\n{}[policy]\n{policy}\n[model.adaptation]\n{adaptation}\n",
        one_ccg(60)
    )
}

const SANCTIONS: &str = "training = { rate = 0.0 }\ndata_review = { rate = 0.0 }\nsanctions = { rate = 0.3, target = \"all\" }";

#[test]
fn adapting_keeps_more_members_engaged_when_sanctions_hurt() {
    let (_, _, fixed) = run(&scenario(SANCTIONS, "enabled = false"), REPS);
    let (_, _, adaptive) = run(&scenario(SANCTIONS, "enabled = true"), REPS);
    for metric in ["engaged_share", "mean_trust"] {
        assert_below(metric, &last(&fixed, metric), &last(&adaptive, metric), 3.0);
    }
    // Easing moved effort from sanctions to training.
    let sanctions = metric_index("actions_sanctions").unwrap();
    let training = metric_index("actions_training").unwrap();
    assert!(adaptive.population_at(36, sanctions).mean < fixed.population_at(36, sanctions).mean);
    assert!(adaptive.population_at(36, training).mean > 0.0);
    assert_eq!(fixed.population_at(36, training).mean, 0.0);
}

#[test]
fn until_its_first_survey_an_adaptive_ccg_is_the_fixed_one_bit_for_bit() {
    let (_, _, fixed) = run(&scenario(SANCTIONS, "enabled = false"), 30);
    let (_, _, adaptive) = run(
        &scenario(SANCTIONS, "enabled = true\nsurvey_every = 12"),
        30,
    );
    let same = |t: usize| {
        (0..METRICS.len()).all(|m| {
            let (a, b) = (fixed.population_at(t, m), adaptive.population_at(t, m));
            a.n == b.n && a.mean.to_bits() == b.mean.to_bits()
        })
    };
    // The survey at tick 12 acts from tick 13.
    assert!((0..=12).all(same));
    assert!(!(13..=36).all(same));
}

#[test]
fn a_ccg_with_engaged_members_and_lagging_quality_escalates_targets() {
    let policy =
        "training = { rate = 0.1 }\ndata_review = { rate = 0.0 }\ntargets = { rate = 0.0 }";
    // Quality lags whatever the members' engagement: every survey escalates.
    let rules =
        "enabled = true\nease_below = 0.0\nreframe_below = 0.0\nescalate_below_quality = 1.0";
    let (_, _, fixed) = run(&scenario(policy, "enabled = false"), 20);
    let (_, _, adaptive) = run(&scenario(policy, rules), 20);
    let targets = metric_index("actions_targets").unwrap();
    let at = |s: &ccgsim::experiment::EnsembleSummary, t: usize| s.population_at(t, targets).mean;
    assert_eq!(at(&fixed, 36), 0.0);
    assert_eq!(at(&adaptive, 12), 0.0, "nothing before the first survey");
    // Three surveys (ticks 12, 24, 36): 0.05 and then 0.10 per practice per month in force.
    assert!(at(&adaptive, 13) > 0.0 && at(&adaptive, 25) > at(&adaptive, 13));
}

#[test]
fn adaptation_off_changes_nothing() {
    let (_, _, default) = run(&scenario(SANCTIONS, ""), 20);
    let (_, _, off) = run(
        &scenario(SANCTIONS, "enabled = false\nsurvey_every = 3"),
        20,
    );
    for t in 0..=36 {
        for m in 0..METRICS.len() {
            assert_eq!(
                default.population_at(t, m).mean.to_bits(),
                off.population_at(t, m).mean.to_bits()
            );
        }
    }
}

#[test]
fn with_targets_at_their_highest_a_ccg_escalates_sanctions() {
    let policy = "training = { rate = 0.1 }\ndata_review = { rate = 0.0 }\ntargets = { rate = 0.5 }\nsanctions = { rate = 0.0, target = \"all\" }";
    let rules = |escalate: bool| {
        format!(
            "enabled = true\nease_below = 0.0\nreframe_below = 0.0\nescalate_below_quality = 1.0\nescalate_sanctions = {escalate}"
        )
    };
    let (_, _, escalating) = run(&scenario(policy, &rules(true)), 20);
    let (_, _, holding) = run(&scenario(policy, &rules(false)), 20);
    let sanctions = metric_index("actions_sanctions").unwrap();
    let at = |s: &ccgsim::experiment::EnsembleSummary, t: usize| s.population_at(t, sanctions).mean;
    assert_eq!(at(&escalating, 12), 0.0, "nothing before the first survey");
    assert!(at(&escalating, 13) > 0.0, "R4 after the first survey");
    assert!(at(&escalating, 25) > at(&escalating, 13), "and again");
    assert_eq!(at(&holding, 36), 0.0, "R4 switched off");
}

#[test]
fn a_ccg_short_of_budget_cuts_the_action_its_members_support_least() {
    // A budget of 0.3 GBP per patient a year cannot pay for training and targets for all 60.
    let policy =
        "training = { rate = 0.2 }\ndata_review = { rate = 0.0 }\ntargets = { rate = 0.2 }";
    let text = |adapt: bool| {
        scenario(
            policy,
            &format!("enabled = {adapt}\nease_below = 0.0\nreframe_below = 0.0\nescalate_below_quality = 0.0"),
        )
        .replace("[policy]", "[ccg_defaults]\nsupport_budget = 0.3\n[policy]")
    };
    let (_, _, fixed) = run(&text(false), 50);
    let (_, _, adaptive) = run(&text(true), 50);
    let value = |s: &ccgsim::experiment::EnsembleSummary, name: &str, t: usize| {
        s.population_at(t, metric_index(name).unwrap()).mean
    };
    assert!(
        value(&fixed, "actions_rationed", 12) > 0.0,
        "the budget binds"
    );
    // Targets are the less supported (about 25% against 76% for training): they are cut.
    assert!(value(&adaptive, "support_targets", 12) < value(&adaptive, "support_training", 12));
    assert!(value(&adaptive, "actions_targets", 30) < 0.8 * value(&fixed, "actions_targets", 30));
    // The budget the cut frees goes to training actions that were rationed before.
    assert!(value(&adaptive, "actions_training", 30) >= value(&fixed, "actions_training", 30));
}

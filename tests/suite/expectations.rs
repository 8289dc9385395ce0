//! Members' expectations (ODD 7.14, `[model.expectations]`): delegation raises what members
//! expect; support that falls short of it, as when the budget is cut after delegation, costs
//! trust. With expectations met, or the mechanism off, nothing changes, bit for bit.

use crate::common::{assert_below, last, run};
use ccgsim::metrics::METRICS;

const REPS: u32 = 1600;

/// One CCG of 60 practices, delegated from April 2014, whose support budget falls to a fifth
/// by April 2015, with training and data review it can no longer pay for.
fn delegated_then_cut(expectations: bool) -> String {
    format!(
        "start = \"2013-04\"\nmonths = 36\nseed = 5\n\
         [[ccgs]]\nid = \"x\"\npractices = 60\ncommissioning = [{{ from = \"2014-04\", level = \"delegated\" }}]\n\
         [nhs_england]\nbudget = [{{ from = \"2014-04\", value = 1.0 }}, {{ from = \"2015-04\", value = 0.2 }}]\n\
         [policy]\ntraining = {{ rate = 0.15 }}\ndata_review = {{ rate = 0.1 }}\n\
         [model.expectations]\nenabled = {expectations}\n"
    )
}

#[test]
fn support_cut_after_delegation_costs_trust_when_members_expect_more() {
    let (_, _, off) = run(&delegated_then_cut(false), REPS);
    let (_, _, on) = run(&delegated_then_cut(true), REPS);
    assert_below(
        "mean_trust",
        &last(&on, "mean_trust"),
        &last(&off, "mean_trust"),
        3.0,
    );
}

#[test]
fn expectations_that_are_met_change_nothing() {
    // Level none throughout: members expect nothing more than they get.
    let text = |on: bool| {
        format!(
            "months = 24\nseed = 3\n[[ccgs]]\nid = \"x\"\npractices = 30\n[policy]\ntraining = {{ rate = 0.1 }}\n[model.expectations]\nenabled = {on}\n"
        )
    };
    let (_, _, off) = run(&text(false), 20);
    let (_, _, on) = run(&text(true), 20);
    for t in 0..=24 {
        for m in 0..METRICS.len() {
            assert_eq!(
                off.population_at(t, m).mean.to_bits(),
                on.population_at(t, m).mean.to_bits(),
                "tick {t}"
            );
        }
    }
}

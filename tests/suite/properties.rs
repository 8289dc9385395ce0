//! Property tests of model invariants over random small scenarios: every practice is counted
//! once each month, shares stay in [0, 1], "highly engaged" never exceeds "engaged", and the
//! money spent never exceeds the month's budget.

use crate::common;

use ccgsim::metrics::METRICS;
use proptest::prelude::*;

fn scenario(
    sizes: &[u32],
    rates: [f64; 4],
    budget: f64,
    ladder: bool,
    seed: u64,
    level: &str,
) -> String {
    let mut s =
        format!("months = 8\nseed = {seed}\n[ccg_defaults]\nsupport_budget = {budget}\n[policy]\n");
    for (name, rate) in ["training", "data_review", "targets", "sanctions"]
        .iter()
        .zip(rates)
    {
        s.push_str(&format!("{name} = {{ rate = {rate} }}\n"));
    }
    if ladder {
        s.push_str("[policy.escalation]\nreview_every = 2\n");
    }
    for (i, n) in sizes.iter().enumerate() {
        s.push_str(&format!(
            "[[ccgs]]\nid = \"c{i}\"\npractices = {n}\ncommissioning = [{{ from = \"2013-06\", level = \"{level}\" }}]\n"
        ));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold(
        sizes in prop::collection::vec(1u32..60, 1..4),
        rates in prop::array::uniform4(0.0f64..=1.0),
        budget in prop_oneof![Just(0.0), 0.01f64..5.0],
        ladder in any::<bool>(),
        seed in 0u64..1_000,
        level in prop_oneof![Just("none"), Just("joint"), Just("delegated")],
    ) {
        let text = scenario(&sizes, rates, budget, ladder, seed, level);
        let (_, population, summary) = common::run(&text, 3);
        let practices: u64 = sizes.iter().map(|&n| n as u64).sum();
        prop_assert_eq!(population.practices(), practices);
        for tick in 0..summary.ticks {
            let value = |name: &str| common::at(&summary, name, Some(tick)).mean;
            for m in METRICS {
                let v = common::at(&summary, m.name, Some(tick));
                prop_assert!(v.n == 0 || v.mean.is_finite(), "{} not finite", m.name);
                if !m.unit.is_absolute() && (m.name.contains("share") || m.name.starts_with("support_") || m.name.starts_with("mean_") && m.name != "mean_burden") {
                    prop_assert!(v.n == 0 || (0.0..=1.0).contains(&v.mean), "{} = {} at tick {}", m.name, v.mean, tick);
                }
            }
            prop_assert!(value("highly_engaged_share") <= value("engaged_share"));
            let spent: f64 = ["cost_training", "cost_data_review", "cost_targets", "cost_sanctions"]
                .iter()
                .map(|m| value(m))
                .sum();
            let monthly_budget = budget * population.patients() as f64 / 12.0;
            prop_assert!(spent <= monthly_budget + 1e-6, "spent {} of {}", spent, monthly_budget);
        }
    }
}

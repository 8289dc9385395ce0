//! What is fixed for a run: NHS England's schedules at every tick and the policy in force at each
//! co-commissioning level (ODD 7.5, 7.8, 7.11).

use super::mix::Mix;
use crate::model::CommissioningLevel;
use crate::model::policy;
use crate::scenario::Scenario;

/// NHS England's schedules evaluated at every tick of a scenario.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Top-down control at each tick.
    pub top_down: Vec<f32>,
    /// Budget multiplier at each tick.
    pub budget: Vec<f32>,
    /// The policy in force at each co-commissioning level, by [`CommissioningLevel::index`].
    pub(super) levels: [LevelPolicy; 4],
    /// The escalation ladder's reviews, if the policy has a ladder.
    pub(super) reviewer: Option<policy::Reviewer>,
}

/// The policy a CCG at one co-commissioning level follows (`min_level` applied).
#[derive(Debug, Clone)]
pub(super) struct LevelPolicy {
    /// The fixed mix's draws.
    pub(super) mix: Mix,
    /// Actions the CCG may use at this level, as a bit mask.
    pub(super) allowed: u8,
}

impl Environment {
    pub fn new(scenario: &Scenario) -> Environment {
        let ticks = 0..=scenario.months;
        let at = |s: &crate::scenario::Schedule| {
            ticks
                .clone()
                .map(|t| s.value_at(scenario.month_of(t)) as f32)
                .collect()
        };
        Environment {
            top_down: at(&scenario.nhs_england.top_down),
            budget: at(&scenario.nhs_england.budget),
            levels: CommissioningLevel::ALL.map(|level| {
                let plans = scenario.policy.plans_at(level);
                LevelPolicy {
                    mix: Mix::new(&plans),
                    allowed: scenario.policy.allowed_at(level),
                }
            }),
            reviewer: scenario
                .policy
                .escalation
                .as_ref()
                .map(policy::Reviewer::new),
        }
    }
}

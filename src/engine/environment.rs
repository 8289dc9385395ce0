//! What is fixed for a run: NHS England's schedules at every tick, and each policy a CCG can
//! follow (the base policy and the regimes that policy changes make, ODD 7.11 eq. P3) at each
//! co-commissioning level (ODD 7.5, 7.8, 7.11).

use std::collections::HashMap;

use super::mix::Mix;
use crate::model::CommissioningLevel;
use crate::model::policy::{self, Escalation};
use crate::scenario::Scenario;

/// NHS England's schedules evaluated at every tick of a scenario, and the policies in force.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Top-down control at each tick.
    pub top_down: Vec<f32>,
    /// Budget multiplier at each tick.
    pub budget: Vec<f32>,
    /// Every policy some CCG follows in some month; the base policy first.
    pub(super) regimes: Vec<RegimePolicy>,
    /// The bit set of changes in force at each tick (whichever CCGs they name).
    pub(super) changes_at: Vec<u64>,
    /// The changes that apply to each CCG some change names, by id.
    named: HashMap<String, u64>,
    /// The changes that apply to a CCG no change names.
    unnamed: u64,
    /// NHS England's co-commissioning rounds within the run (ODD 7.16; none when off).
    pub(super) rounds: super::choice::Rounds,
}

/// One policy as the month's steps use it.
#[derive(Debug, Clone)]
pub(super) struct RegimePolicy {
    /// The bit set of changes that make it (0: the base policy).
    pub(super) changes: u64,
    /// The policy itself, as the adaptation rules read and change it (ODD 7.13).
    pub(super) policy: policy::Policy,
    /// The policy at each co-commissioning level, by [`CommissioningLevel::index`].
    pub(super) levels: [LevelPolicy; 4],
    /// Quality below which a practice counts as underperforming.
    pub(super) threshold: f32,
    /// The escalation ladder and its reviews, if the policy has a ladder.
    pub(super) escalation: Option<(Escalation, policy::Reviewer)>,
}

/// The policy a CCG at one co-commissioning level follows (`min_level` applied).
#[derive(Debug, Clone)]
pub(super) struct LevelPolicy {
    /// The fixed mix's draws.
    pub(super) mix: Mix,
    /// Actions the CCG may use at this level, as a bit mask.
    pub(super) allowed: u8,
}

impl RegimePolicy {
    pub(super) fn new(changes: u64, p: &policy::Policy) -> RegimePolicy {
        RegimePolicy {
            changes,
            policy: p.clone(),
            levels: CommissioningLevel::ALL.map(|level| LevelPolicy {
                mix: Mix::new(&p.plans_at(level)),
                allowed: p.allowed_at(level),
            }),
            threshold: p.underperformance_threshold,
            escalation: p
                .escalation
                .as_ref()
                .map(|e| (e.clone(), policy::Reviewer::new(e))),
        }
    }
}

impl Environment {
    /// The environment of `scenario`, whose policy changes must be valid (as
    /// [`Scenario::parse`] ensures; an invalid one falls back to the base policy).
    pub fn new(scenario: &Scenario) -> Environment {
        let ticks = 0..=scenario.months;
        let at = |s: &crate::scenario::Schedule| {
            ticks
                .clone()
                .map(|t| s.value_at(scenario.month_of(t)) as f32)
                .collect()
        };
        let regimes = match scenario.regimes() {
            Ok(rs) => rs
                .iter()
                .map(|r| RegimePolicy::new(r.changes, &r.policy))
                .collect(),
            Err(_) => vec![RegimePolicy::new(0, &scenario.policy)],
        };
        let named = scenario
            .policy_changes
            .iter()
            .flat_map(|c| c.ccgs.iter().flatten())
            .map(|id| (id.clone(), scenario.changes_for(id)))
            .collect();
        Environment {
            top_down: at(&scenario.nhs_england.top_down),
            budget: at(&scenario.nhs_england.budget),
            regimes,
            changes_at: ticks.map(|t| scenario.changes_at(t)).collect(),
            named,
            unnamed: scenario.changes_for(""),
            rounds: super::choice::Rounds::new(scenario),
        }
    }

    /// The changes that apply to CCG `id`, whatever the month.
    pub(super) fn changes_for(&self, id: &str) -> u64 {
        self.named.get(id).copied().unwrap_or(self.unnamed)
    }

    /// The policy a CCG to which `changes` apply follows at `tick`.
    pub(super) fn regime(&self, changes: u64, tick: u32) -> &RegimePolicy {
        let key = changes & self.changes_at[tick as usize];
        // Few regimes; the base policy, the common case, is first.
        self.regimes
            .iter()
            .find(|r| r.changes == key)
            .unwrap_or(&self.regimes[0])
    }
}

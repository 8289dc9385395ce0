//! The month's CCG-wide terms (ODD 7.4, 7.5, 7.7, 7.8): felt control, the CCG's share of
//! influence and engagement, conflict of interest, framing and the budget.

use super::environment::{Environment, LevelPolicy, RegimePolicy};
use crate::model::{CommissioningLevel, Framing};
use crate::population::Ccg;
use crate::scenario::Scenario;

/// Quantities that are the same for every practice of the CCG in one month (ODD 3).
pub(super) struct Month<'e> {
    pub(super) control: f32,
    pub(super) level: CommissioningLevel,
    pub(super) influence_ccg: f32,
    pub(super) engagement_ccg: f32,
    pub(super) coi: f32,
    pub(super) framing_gain: f32,
    pub(super) budget: f64,
    /// The policy in force for the CCG this month (ODD 7.11, eq. P3).
    pub(super) regime: &'e RegimePolicy,
    /// That policy at the CCG's co-commissioning level.
    pub(super) policy: &'e LevelPolicy,
}

/// The month's CCG-wide terms (ODD 7.4, 7.5, 7.7, 7.8).
/// `changes` are the policy changes that apply to the CCG ([`Environment::changes_for`]);
/// `level` is its co-commissioning level this month.
pub(super) fn month_terms<'e>(
    scenario: &Scenario,
    env: &'e Environment,
    ccg: &Ccg,
    changes: u64,
    tick: u32,
    level: CommissioningLevel,
) -> Month<'e> {
    let p = &scenario.model;
    let t = tick as usize;
    let g = &ccg.governance;
    // Eq. T1: felt control is NHS England's control less what the CCG's autonomy absorbs.
    let control = if p.top_down.enabled {
        env.top_down[t] * (1.0 - g.autonomy)
    } else {
        0.0
    };
    let delegated = p.delegation.enabled && level == CommissioningLevel::Delegated;
    // Eq. Z1: voice per member falls with the log of the CCG's size.
    let size = if p.size.enabled {
        p.size.influence_per_log_size
            * (ccg.practices.max(1) as f32 / p.size.reference_practices).ln()
    } else {
        0.0
    };
    let lay = if delegated {
        p.delegation.lay_majority_influence
    } else {
        0.0
    };
    let influence_ccg =
        p.dynamics.influence_base - size - p.top_down.influence_effect * control - lay;
    let engagement_ccg = p.dynamics.engagement_base - p.top_down.engagement_effect * control;
    let coi = if delegated {
        1.0 + p.delegation.conflict_of_interest_penalty * (1.0 - g.conflict_management)
    } else {
        1.0
    };
    let framing_gain = if p.delegation.enabled && g.framing == Framing::PeerSupport {
        p.delegation.peer_support_framing
    } else {
        0.0
    };
    // Eq. B1: the month's support budget in pounds.
    let budget = if p.budget.enabled {
        g.support_budget * ccg.patients as f64 / 12.0 * env.budget[t] as f64
    } else {
        f64::INFINITY
    };
    let regime = env.regime(changes, tick);
    Month {
        control,
        level,
        influence_ccg,
        engagement_ccg,
        coi,
        framing_gain,
        budget,
        regime,
        policy: &regime.levels[level.index()],
    }
}

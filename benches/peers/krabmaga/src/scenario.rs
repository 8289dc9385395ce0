//! The resolved scenario the Python side writes (`ccg_krabmaga.py`): every parameter with its
//! default filled in, the policy, NHS England's schedules evaluated at every tick and the CCG
//! population. None of it is model dynamics; [`Params`] adds the constants the dynamics use
//! (the per-role, per-level and per-action tables as arrays, as the Mesa peer keeps them on its
//! model).

use serde::Deserialize;

/// The four actions, in the order they are mixed, paid for and applied.
pub const ACTIONS: usize = 4;
pub const TRAINING: usize = 0;
pub const SANCTIONS: usize = 3;
/// Targets and sanctions are control actions (framing gain and conflict of interest apply).
pub const CONTROL: [bool; ACTIONS] = [false, false, true, true];

/// A role code, as in ccgsim: 0 governing body, 1 other formal role, 2 none.
pub const GOVERNING_BODY: usize = 0;
pub const OTHER_FORMAL: usize = 1;
pub const NO_ROLE: usize = 2;

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct PerAction<T> {
    pub training: T,
    pub data_review: T,
    pub targets: T,
    pub sanctions: T,
}

impl<T: Copy> PerAction<T> {
    pub fn array(&self) -> [T; ACTIONS] {
        [
            self.training,
            self.data_review,
            self.targets,
            self.sanctions,
        ]
    }
}

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct PerRole {
    pub governing_body: f64,
    pub other_formal: f64,
}

impl PerRole {
    /// Indexed by role code; no role: 0. All zero if the mechanism is off.
    pub fn by_role(&self, enabled: bool) -> [f64; 3] {
        if enabled {
            [self.governing_body, self.other_formal, 0.0]
        } else {
            [0.0; 3]
        }
    }
}

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct PerLevel {
    pub none: f64,
    pub greater_involvement: f64,
    pub joint: f64,
    pub delegated: f64,
}

/// Co-commissioning level; `as usize` gives its rank 0..3.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    GreaterInvolvement,
    Joint,
    Delegated,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Training,
    DataReview,
    Targets,
    Sanctions,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    All,
    Underperformers,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    PerformanceManagement,
    PeerSupport,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Dynamics {
    pub trust_base: f64,
    pub engagement_base: f64,
    pub influence_base: f64,
    pub trust_rate: f64,
    pub engagement_rate: f64,
    pub influence_rate: f64,
    pub disposition_sd: f64,
    pub noise_sd: f64,
    pub engagement_from_trust: f64,
    pub engagement_from_influence: f64,
    pub influence_from_trust: f64,
    pub influence_from_engagement: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Acceptability {
    pub enabled: bool,
    pub initial_support: PerAction<f64>,
    pub support_sd: f64,
    pub trust_coupling: f64,
    pub trust_step: f64,
    pub asymmetry: f64,
    pub intensity: PerAction<f64>,
    pub engagement_effect: PerAction<f64>,
    pub sanction_memory_decay: f64,
    pub sanction_memory_trust: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub enabled: bool,
    pub engagement: PerRole,
    pub trust: PerRole,
    pub influence: PerRole,
    pub view: PerRole,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    pub enabled: bool,
    pub rate: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Size {
    pub enabled: bool,
    pub influence_per_log_size: f64,
    pub reference_practices: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct TopDown {
    pub enabled: bool,
    pub influence_effect: f64,
    pub engagement_effect: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Burden {
    pub enabled: bool,
    pub level_load: PerLevel,
    pub role_load: PerRole,
    pub action_load: PerAction<f64>,
    pub rate: f64,
    pub engagement_effect: f64,
    pub reference_load: f64,
    pub positive_base: f64,
    pub positive_slope: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    pub enabled: bool,
    pub lay_majority_influence: f64,
    pub conflict_of_interest_penalty: f64,
    pub peer_support_framing: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub enabled: bool,
    pub cost: PerAction<f64>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Quality {
    pub enabled: bool,
    pub mean: f64,
    pub sd: f64,
    pub effect: PerAction<f64>,
    pub reversion: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    pub engaged_cut: f64,
    pub highly_engaged_cut: f64,
    pub view_base: f64,
    pub view_trust: f64,
    pub view_influence: f64,
    pub view_engagement: f64,
    pub positive_cut: f64,
    pub negative_cut: f64,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub dynamics: Dynamics,
    pub acceptability: Acceptability,
    pub roles: Roles,
    pub peers: Peers,
    pub size: Size,
    pub top_down: TopDown,
    pub burden: Burden,
    pub delegation: Delegation,
    pub budget: Budget,
    pub quality: Quality,
    pub survey: Survey,
}

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub rate: f64,
    pub target: Target,
    pub min_level: Level,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub ladder: Vec<Action>,
    pub review_every: u64,
    pub escalate_after: i32,
    pub deescalate_after: i32,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    pub governing_body_seats: usize,
    /// Already resolved into [`CcgSpec::localities`].
    #[allow(dead_code)]
    pub practices_per_locality: usize,
    pub autonomy: f64,
    pub support_budget: f64,
    pub conflict_management: f64,
    pub framing: Framing,
}

/// One CCG of the population: its size, list size, localities, governance and its
/// co-commissioning level at every tick 0..months.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct CcgSpec {
    pub id: String,
    pub practices: usize,
    pub patients: u64,
    pub localities: usize,
    pub governance: Governance,
    pub levels: Vec<Level>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub months: u64,
    pub replicates: u64,
    pub seed: u64,
    pub model: Model,
    pub plans: PerAction<Plan>,
    pub threshold: f64,
    pub escalation: Option<Escalation>,
    /// NHS England's top-down control τ(t) at every tick 0..months.
    pub top_down: Vec<f64>,
    /// The budget multiplier β(t) at every tick 0..months.
    pub budget_multiplier: Vec<f64>,
    pub ccgs: Vec<CcgSpec>,
    /// The names of the tally's columns, in order (checked against [`crate::tally::NAMES`]).
    pub tally: Vec<String>,
}

/// The scenario with the constants the dynamics use, shared (read-only) by every replicate.
pub struct Params {
    pub m: Model,
    pub months: u64,
    pub threshold: f64,
    pub escalation: Option<Escalation>,
    /// The ladder's actions as indices 0..4.
    pub ladder: Vec<usize>,
    pub rates: [f64; ACTIONS],
    pub min_levels: [Level; ACTIONS],
    pub to_underperformers: [bool; ACTIONS],
    pub cost: [f64; ACTIONS],
    pub intensity: [f64; ACTIONS],
    pub engagement_effect: [f64; ACTIONS],
    pub action_load: [f64; ACTIONS],
    pub quality_effect: [f64; ACTIONS],
    /// The peer pull ρ (0 if peers are off).
    pub peer: f64,
    /// logit of each action's initial support: the centre of the attitudes.
    pub attitude_centres: [f64; ACTIONS],
    /// The trust coupling of A1 (0 if acceptability is off).
    pub coupling: f64,
    pub role_e: [f64; 3],
    pub role_t: [f64; 3],
    pub role_f: [f64; 3],
    pub role_view: [f64; 3],
    pub role_load: [f64; 3],
    pub level_load: [f64; 4],
    pub exp_engaged_cut: f64,
    pub exp_highly_cut: f64,
    pub top_down: Vec<f64>,
    pub budget_multiplier: Vec<f64>,
    pub ccgs: Vec<CcgSpec>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Params {
    pub fn new(sc: Scenario) -> Params {
        let m = sc.model;
        let plans = sc.plans.array();
        let ladder = sc
            .escalation
            .as_ref()
            .map(|e| e.ladder.iter().map(|&a| a as usize).collect())
            .unwrap_or_default();
        let roles = &m.roles;
        let bl = &m.burden.level_load;
        Params {
            months: sc.months,
            threshold: sc.threshold,
            ladder,
            escalation: sc.escalation,
            rates: plans.map(|p| p.rate),
            min_levels: plans.map(|p| p.min_level),
            to_underperformers: plans.map(|p| p.target == Target::Underperformers),
            cost: m.budget.cost.array(),
            intensity: m.acceptability.intensity.array(),
            engagement_effect: m.acceptability.engagement_effect.array(),
            action_load: m.burden.action_load.array(),
            quality_effect: m.quality.effect.array(),
            peer: if m.peers.enabled { m.peers.rate } else { 0.0 },
            attitude_centres: m.acceptability.initial_support.array().map(logit),
            coupling: if m.acceptability.enabled {
                m.acceptability.trust_coupling
            } else {
                0.0
            },
            role_e: roles.engagement.by_role(roles.enabled),
            role_t: roles.trust.by_role(roles.enabled),
            role_f: roles.influence.by_role(roles.enabled),
            role_view: roles.view.by_role(roles.enabled),
            // The role loads apply whether or not roles are on (as in ccgsim).
            role_load: m.burden.role_load.by_role(true),
            level_load: [bl.none, bl.greater_involvement, bl.joint, bl.delegated],
            exp_engaged_cut: m.survey.engaged_cut.exp(),
            exp_highly_cut: m.survey.highly_engaged_cut.exp(),
            top_down: sc.top_down,
            budget_multiplier: sc.budget_multiplier,
            ccgs: sc.ccgs,
            m,
        }
    }

    /// Checks that every CCG has a level at every tick 0..=months, and at least one practice.
    pub fn check(&self) -> Result<(), String> {
        let ticks = self.months as usize + 1;
        if self.top_down.len() != ticks || self.budget_multiplier.len() != ticks {
            return Err(format!("the schedules must have {ticks} ticks"));
        }
        for c in &self.ccgs {
            if c.levels.len() != ticks || c.practices == 0 || c.localities == 0 {
                return Err(format!(
                    "CCG {}: no practice, no locality or not {ticks} levels",
                    c.id
                ));
            }
        }
        Ok(())
    }

    pub fn practices(&self) -> usize {
        self.ccgs.iter().map(|c| c.practices).sum()
    }
}

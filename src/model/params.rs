//! Model parameters, one struct per submodel, every default in one place.
//!
//! These structs are both what a scenario file's `[model.*]` tables deserialize into (every field
//! optional; missing fields take the defaults below) and what the engine reads. Each default is
//! justified in `docs/ODD.md`, section 7, under the submodel's name.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Action, CommissioningLevel, Role};
use crate::calendar::Month;

/// One value per CCG action.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerAction {
    pub training: f32,
    pub data_review: f32,
    pub targets: f32,
    pub sanctions: f32,
}

impl PerAction {
    pub const fn new(training: f32, data_review: f32, targets: f32, sanctions: f32) -> Self {
        PerAction {
            training,
            data_review,
            targets,
            sanctions,
        }
    }

    pub fn get(&self, action: Action) -> f32 {
        self.as_array()[action.index()]
    }

    pub fn as_array(&self) -> [f32; 4] {
        [
            self.training,
            self.data_review,
            self.targets,
            self.sanctions,
        ]
    }
}

/// One value per formal role (practices with no role take zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerRole {
    pub governing_body: f32,
    pub other_formal: f32,
}

impl PerRole {
    pub const fn new(governing_body: f32, other_formal: f32) -> Self {
        PerRole {
            governing_body,
            other_formal,
        }
    }

    /// Indexed by [`Role::index`]; `Role::None` gets 0.
    pub fn as_array(&self) -> [f32; 3] {
        [self.governing_body, self.other_formal, 0.0]
    }

    pub fn get(&self, role: Role) -> f32 {
        self.as_array()[role.index()]
    }
}

/// One value per co-commissioning level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLevel {
    pub none: f32,
    pub greater_involvement: f32,
    pub joint: f32,
    pub delegated: f32,
}

impl PerLevel {
    pub fn as_array(&self) -> [f32; 4] {
        [
            self.none,
            self.greater_involvement,
            self.joint,
            self.delegated,
        ]
    }

    pub fn get(&self, level: CommissioningLevel) -> f32 {
        self.as_array()[level.index()]
    }
}

/// A per-action, per-role or per-level table as written: any key may be left out, and the
/// missing ones keep the parameter's default (so `intensity = { sanctions = 2.0 }` changes only
/// sanctions).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialPerAction {
    training: Option<f32>,
    data_review: Option<f32>,
    targets: Option<f32>,
    sanctions: Option<f32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialPerRole {
    governing_body: Option<f32>,
    other_formal: Option<f32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialPerLevel {
    none: Option<f32>,
    greater_involvement: Option<f32>,
    joint: Option<f32>,
    delegated: Option<f32>,
}

impl PerAction {
    fn merge<'de, D: Deserializer<'de>>(d: D, base: PerAction) -> Result<PerAction, D::Error> {
        let p = PartialPerAction::deserialize(d)?;
        Ok(PerAction {
            training: p.training.unwrap_or(base.training),
            data_review: p.data_review.unwrap_or(base.data_review),
            targets: p.targets.unwrap_or(base.targets),
            sanctions: p.sanctions.unwrap_or(base.sanctions),
        })
    }
}

impl PerRole {
    fn merge<'de, D: Deserializer<'de>>(d: D, base: PerRole) -> Result<PerRole, D::Error> {
        let p = PartialPerRole::deserialize(d)?;
        Ok(PerRole {
            governing_body: p.governing_body.unwrap_or(base.governing_body),
            other_formal: p.other_formal.unwrap_or(base.other_formal),
        })
    }
}

impl PerLevel {
    fn merge<'de, D: Deserializer<'de>>(d: D, base: PerLevel) -> Result<PerLevel, D::Error> {
        let p = PartialPerLevel::deserialize(d)?;
        Ok(PerLevel {
            none: p.none.unwrap_or(base.none),
            greater_involvement: p.greater_involvement.unwrap_or(base.greater_involvement),
            joint: p.joint.unwrap_or(base.joint),
            delegated: p.delegated.unwrap_or(base.delegated),
        })
    }
}

/// A deserializer for one per-action, per-role or per-level field that fills missing keys from
/// that field's default.
macro_rules! partial {
    ($name:ident, $ty:ty, $parent:ty, $field:ident) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            <$ty>::merge(d, <$parent>::default().$field)
        }
    };
}

partial!(
    acceptability_initial_support,
    PerAction,
    Acceptability,
    initial_support
);
partial!(acceptability_intensity, PerAction, Acceptability, intensity);
partial!(
    acceptability_engagement_effect,
    PerAction,
    Acceptability,
    engagement_effect
);
partial!(roles_engagement, PerRole, Roles, engagement);
partial!(roles_trust, PerRole, Roles, trust);
partial!(roles_influence, PerRole, Roles, influence);
partial!(roles_view, PerRole, Roles, view);
partial!(burden_level_load, PerLevel, Burden, level_load);
partial!(burden_role_load, PerRole, Burden, role_load);
partial!(expectations_support, PerLevel, Expectations, support);
partial!(burden_action_load, PerAction, Burden, action_load);
partial!(budget_cost, PerAction, Budget, cost);
partial!(quality_effect, PerAction, Quality, effect);

/// All model parameters. `[model]` in a scenario file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// State levels, adjustment rates and couplings shared by every mechanism (ODD 7.0).
    pub dynamics: Dynamics,
    /// Mechanism 1: acceptability of each action, trust asymmetry, lingering sanctions (ODD 7.1).
    pub acceptability: Acceptability,
    /// Mechanism 2: formal roles raise ownership (ODD 7.2).
    pub roles: Roles,
    /// Mechanism 3: peer influence within a locality (ODD 7.3).
    pub peers: Peers,
    /// Mechanism 4: larger CCGs give each member less voice (ODD 7.4).
    pub size: Size,
    /// Mechanism 5: top-down control crowds out engagement and influence (ODD 7.5).
    pub top_down: TopDown,
    /// Mechanism 6: meetings and paperwork lower engagement (ODD 7.6).
    pub burden: Burden,
    /// Mechanism 7: delegated commissioning, lay-majority committee, conflicts, framing (ODD 7.7).
    pub delegation: Delegation,
    /// Mechanism 8: the support budget limits what the CCG can deliver (ODD 7.8).
    pub budget: Budget,
    /// Mechanism 9: actions change quality of care modestly (ODD 7.9).
    pub quality: Quality,
    /// How a practice's answers to the survey are drawn from its state (ODD 7.10).
    pub survey: Survey,
    /// CCGs that survey their own members and adapt their policy (ODD 7.13).
    pub adaptation: Adaptation,
    /// What members expect of their CCG, raised by co-commissioning (ODD 7.14).
    pub expectations: Expectations,
    /// CCGs that choose their co-commissioning level at NHS England's rounds (ODD 7.16).
    pub co_commissioning: CoCommissioning,
    /// Leaders who can walk away: seats that fall vacant and members' representation (ODD 7.15).
    pub leadership: Leadership,
    /// Practices that merge into their neighbours, and CCGs that merge (ODD 7.17).
    pub mergers: Mergers,
}

/// Shared state dynamics (ODD 7.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dynamics {
    /// Trust level of a no-role practice with average disposition and no sanction history.
    pub trust_base: f32,
    /// Engagement level of a no-role practice with average disposition and reference burden.
    pub engagement_base: f32,
    /// Perceived influence of a no-role practice in a reference-size CCG without top-down control.
    pub influence_base: f32,
    /// Share of the gap to its target that trust closes each month.
    pub trust_rate: f32,
    /// Share of the gap to its target that engagement closes each month.
    pub engagement_rate: f32,
    /// Share of the gap to its target that perceived influence closes each month.
    pub influence_rate: f32,
    /// Standard deviation across practices of the lasting dispositions added to trust and
    /// engagement targets.
    pub disposition_sd: f32,
    /// Standard deviation of the monthly shock to trust and engagement.
    pub noise_sd: f32,
    /// Rise in the engagement target per unit of trust above `trust_base`.
    pub engagement_from_trust: f32,
    /// Rise in the engagement target per unit of influence above `influence_base`.
    pub engagement_from_influence: f32,
    /// Rise in the influence target per unit of trust above `trust_base`.
    pub influence_from_trust: f32,
    /// Rise in the influence target per unit of engagement above `engagement_base`.
    pub influence_from_engagement: f32,
}

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics {
            trust_base: 0.55,
            engagement_base: 0.55,
            influence_base: 0.535,
            trust_rate: 0.05,
            engagement_rate: 0.10,
            influence_rate: 0.10,
            disposition_sd: 0.12,
            noise_sd: 0.02,
            engagement_from_trust: 0.5,
            engagement_from_influence: 0.3,
            influence_from_trust: 0.2,
            influence_from_engagement: 0.2,
        }
    }
}

/// Mechanism 1 (ODD 7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Acceptability {
    pub enabled: bool,
    /// Probability that a practice at `trust_base` supports the CCG using each action, before
    /// individual variation (the centre of the attitude distribution).
    #[serde(deserialize_with = "acceptability_initial_support")]
    pub initial_support: PerAction,
    /// Standard deviation across practices of attitudes, on the logit scale.
    pub support_sd: f32,
    /// Change in every attitude (logit scale) per unit of trust above `trust_base`.
    pub trust_coupling: f32,
    /// Size of the trust change one action can cause.
    pub trust_step: f32,
    /// How much more an illegitimate action lowers trust than a legitimate one raises it.
    pub asymmetry: f32,
    /// Weight of each action's effect on trust and engagement.
    #[serde(deserialize_with = "acceptability_intensity")]
    pub intensity: PerAction,
    /// Direct change in engagement from one action (positive: toward 1; negative: toward 0).
    #[serde(deserialize_with = "acceptability_engagement_effect")]
    pub engagement_effect: PerAction,
    /// Share of sanction memory forgotten each month.
    pub sanction_memory_decay: f32,
    /// Fall in the trust target as sanction memory grows (saturating, at most this much).
    pub sanction_memory_trust: f32,
}

impl Default for Acceptability {
    fn default() -> Self {
        Acceptability {
            enabled: true,
            initial_support: PerAction::new(0.781, 0.639, 0.217, 0.104),
            support_sd: 0.8,
            trust_coupling: 2.0,
            trust_step: 0.04,
            asymmetry: 2.0,
            intensity: PerAction::new(1.0, 1.0, 1.0, 1.5),
            engagement_effect: PerAction::new(0.03, 0.05, -0.04, -0.04),
            sanction_memory_decay: 0.04,
            sanction_memory_trust: 0.15,
        }
    }
}

/// Mechanism 2 (ODD 7.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    pub enabled: bool,
    /// Rise in the engagement target for a practice with this role.
    #[serde(deserialize_with = "roles_engagement")]
    pub engagement: PerRole,
    /// Rise in the trust target.
    #[serde(deserialize_with = "roles_trust")]
    pub trust: PerRole,
    /// Rise in the perceived-influence target.
    #[serde(deserialize_with = "roles_influence")]
    pub influence: PerRole,
    /// Ownership: shift of the view of co-commissioning (logit scale).
    #[serde(deserialize_with = "roles_view")]
    pub view: PerRole,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            enabled: true,
            engagement: PerRole::new(0.20, 0.10),
            trust: PerRole::new(0.10, 0.05),
            influence: PerRole::new(0.45, 0.25),
            view: PerRole::new(0.93, 0.6),
        }
    }
}

/// Mechanism 3 (ODD 7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Peers {
    pub enabled: bool,
    /// Share of the gap to the locality's mean trust and engagement closed each month.
    pub rate: f32,
}

impl Default for Peers {
    fn default() -> Self {
        Peers {
            enabled: true,
            rate: 0.05,
        }
    }
}

/// Mechanism 4 (ODD 7.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Size {
    pub enabled: bool,
    /// Fall in the influence target per unit of ln(practices / reference_practices).
    pub influence_per_log_size: f32,
    /// CCG size (member practices) at which the size effect is zero: the 2014-15 median.
    pub reference_practices: f32,
}

impl Default for Size {
    fn default() -> Self {
        Size {
            enabled: true,
            influence_per_log_size: 0.06,
            reference_practices: 33.0,
        }
    }
}

/// Mechanism 5 (ODD 7.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopDown {
    pub enabled: bool,
    /// Fall in the influence target per unit of felt control.
    pub influence_effect: f32,
    /// Fall in the engagement target per unit of felt control.
    pub engagement_effect: f32,
}

impl Default for TopDown {
    fn default() -> Self {
        TopDown {
            enabled: true,
            influence_effect: 1.04,
            engagement_effect: 0.15,
        }
    }
}

/// Mechanism 6 (ODD 7.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Burden {
    pub enabled: bool,
    /// Standing meeting and paperwork load of a member practice, by co-commissioning level.
    #[serde(deserialize_with = "burden_level_load")]
    pub level_load: PerLevel,
    /// Extra standing load of a practice with a formal role.
    #[serde(deserialize_with = "burden_role_load")]
    pub role_load: PerRole,
    /// Load added by one action.
    #[serde(deserialize_with = "burden_action_load")]
    pub action_load: PerAction,
    /// Share of the gap to the standing load closed each month.
    pub rate: f32,
    /// Fall in the engagement target per unit of load above `reference_load`.
    pub engagement_effect: f32,
    /// The load at which burden has no effect on engagement (a no-role practice before 2015).
    pub reference_load: f32,
    /// Probability that a practice at `reference_load` reports a positive impact of the CCG on its
    /// paperwork and meetings.
    pub positive_base: f32,
    /// Fall in that probability per unit of load above `reference_load`.
    pub positive_slope: f32,
}

impl Default for Burden {
    fn default() -> Self {
        Burden {
            enabled: true,
            level_load: PerLevel {
                none: 0.25,
                greater_involvement: 0.25,
                joint: 0.30,
                delegated: 0.40,
            },
            role_load: PerRole::new(0.30, 0.15),
            action_load: PerAction::new(0.03, 0.06, 0.08, 0.12),
            rate: 0.3,
            engagement_effect: 0.3,
            reference_load: 0.25,
            positive_base: 0.072,
            positive_slope: 0.2,
        }
    }
}

/// Mechanism 7 (ODD 7.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delegation {
    pub enabled: bool,
    /// Fall in the influence target when a lay-chaired committee with a lay/executive majority
    /// decides on primary care (delegated level).
    pub lay_majority_influence: f32,
    /// Extra trust loss from control actions by a delegated CCG that manages conflicts of interest
    /// badly: multiplier 1 + penalty * (1 - conflict_management).
    pub conflict_of_interest_penalty: f32,
    /// Share of the gap to full legitimacy that "peer support" framing closes for control actions.
    pub peer_support_framing: f32,
}

impl Default for Delegation {
    fn default() -> Self {
        Delegation {
            enabled: true,
            lay_majority_influence: 0.08,
            conflict_of_interest_penalty: 1.0,
            peer_support_framing: 0.3,
        }
    }
}

/// Mechanism 8 (ODD 7.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    pub enabled: bool,
    /// Cost to the CCG of one action on one practice, in pounds.
    #[serde(deserialize_with = "budget_cost")]
    pub cost: PerAction,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            enabled: true,
            cost: PerAction::new(1500.0, 400.0, 250.0, 2500.0),
        }
    }
}

/// CCGs that adapt (ODD 7.13): every `survey_every` months a CCG reads its own survey of its
/// members and adjusts its policy by the rules of 7.13.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Adaptation {
    pub enabled: bool,
    /// Months between a CCG's surveys of its own members (the first at this tick).
    pub survey_every: u32,
    /// Engaged share below which a CCG that uses targets or sanctions reframes them as peer
    /// support (rule R1).
    pub reframe_below: f32,
    /// Engaged share below which a CCG eases its targets and sanctions (rule R2).
    pub ease_below: f32,
    /// Share of the targets and sanctions rates kept at each easing (R2).
    pub ease_keep: f32,
    /// Share of the rate eased that goes to training instead (R2: budget moved to support).
    pub shift_to_training: f32,
    /// Mean quality below which a CCG whose members are engaged escalates targets (rule R3).
    pub escalate_below_quality: f32,
    /// Rise in the targets rate at each escalation (R3), and in the sanctions rate (R4).
    pub escalate_step: f32,
    /// Whether a CCG whose targets are at `max_rate` escalates sanctions instead (R4).
    pub escalate_sanctions: bool,
    /// Share of the month's actions the budget could not pay for at or above which the CCG cuts
    /// the action its members support least (R5).
    pub ration_above: f32,
    /// Share of that action's rate kept at each such cut (R5).
    pub budget_keep: f32,
    /// Highest rate adaptation gives any action.
    pub max_rate: f32,
}

impl Default for Adaptation {
    fn default() -> Self {
        Adaptation {
            enabled: false,
            survey_every: 12,
            reframe_below: 0.65,
            ease_below: 0.55,
            ease_keep: 0.5,
            shift_to_training: 0.5,
            escalate_below_quality: 0.75,
            escalate_step: 0.05,
            escalate_sanctions: true,
            ration_above: 0.2,
            budget_keep: 0.5,
            max_rate: 0.5,
        }
    }
}

/// Members' expectations (ODD 7.14): taking on commissioning raises the support members expect of
/// their CCG; support that falls short of it erodes trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expectations {
    pub enabled: bool,
    /// Support actions (training and data review) per member practice per month that members
    /// expect at each co-commissioning level.
    #[serde(deserialize_with = "expectations_support")]
    pub support: PerLevel,
    /// Share of the gap to the expected level that expectation closes each month.
    pub expectation_rate: f32,
    /// Share of the gap to the month's support that the members' sense of support closes each month.
    pub support_rate: f32,
    /// Fall in every member's trust target per unit of shortfall (expected less felt support).
    pub trust_effect: f32,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            enabled: false,
            support: PerLevel {
                none: 0.0,
                greater_involvement: 0.05,
                joint: 0.12,
                delegated: 0.2,
            },
            expectation_rate: 0.1,
            support_rate: 0.2,
            trust_effect: 0.5,
        }
    }
}

/// CCGs that choose their co-commissioning level (ODD 7.16): at each of NHS England's
/// application rounds, every CCG not yet delegated chooses a level by an ordered probit on its
/// readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoCommissioning {
    pub enabled: bool,
    /// The months from which the levels chosen at each round take effect, in increasing order.
    /// Before the first, a CCG's level is the population's.
    pub rounds: Vec<Month>,
    /// Rise in NHS England's push (logit scale) at each round after the first (eq. C1).
    pub push_per_round: f32,
    /// Correlation of a CCG's noise between rounds: the share of its variance that is the CCG's
    /// lasting appetite for commissioning (eq. C2).
    pub persistence: f32,
    /// Cut points of the ordered probit (eq. C3): readiness plus standard normal noise above a
    /// cut chooses at least that level.
    pub cut_greater_involvement: f32,
    pub cut_joint: f32,
    pub cut_delegated: f32,
    /// Weight of the members' engaged share (from the CCG's last survey) in readiness.
    pub engagement_effect: f32,
    /// Weight of the members' mean trust.
    pub trust_effect: f32,
    /// Weight of the share of the governing body positive about co-commissioning.
    pub view_effect: f32,
    /// Weight of the CCG's autonomy from NHS England.
    pub autonomy_effect: f32,
    /// Weight of the natural log of the CCG's practices over `model.size.reference_practices`.
    pub size_effect: f32,
    /// The engaged share, mean trust, governing-body view and autonomy at which readiness is the
    /// push alone.
    pub engaged_reference: f32,
    pub trust_reference: f32,
    pub view_reference: f32,
    pub autonomy_reference: f32,
}

impl Default for CoCommissioning {
    fn default() -> Self {
        let m = |s: &str| s.parse::<Month>().expect("valid default month");
        CoCommissioning {
            enabled: false,
            rounds: vec![m("2015-04"), m("2016-04"), m("2017-04")],
            push_per_round: 0.689,
            persistence: 0.723,
            cut_greater_involvement: -2.1,
            cut_joint: -0.43,
            cut_delegated: 0.658,
            engagement_effect: 4.0,
            trust_effect: 4.0,
            view_effect: 1.0,
            autonomy_effect: 1.0,
            size_effect: 0.3,
            engaged_reference: 0.72,
            trust_reference: 0.55,
            view_reference: 0.8,
            autonomy_reference: 0.5,
        }
    }
}

/// Leaders who can walk away (ODD 7.15): every `review_every` months each governing-body member
/// and locality lead stays with a probability that rises with its willingness to lead (L3, L4);
/// vacant seats are offered to the most willing members without a role; vacancies lower every
/// member's perceived-influence target (L6). Each default's source is in `docs/ODD.md`, 7.15.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Leadership {
    pub enabled: bool,
    /// Months between reviews of the seats (the first at this tick).
    pub review_every: u32,
    /// Willingness (logit scale) of a seat holder to stay, at base engagement and reference load,
    /// before outside opportunities.
    pub stay_base: f32,
    /// Willingness (logit scale) of a member without a role to take a vacant seat, likewise.
    pub take_base: f32,
    /// Members asked in turn, most willing first, for each vacant seat at a review.
    pub offers: u32,
    /// Rise in willingness per unit of engagement above `dynamics.engagement_base`.
    pub engagement_effect: f32,
    /// Fall in willingness per unit of the load the role carries above `burden.reference_load`.
    pub burden_effect: f32,
    /// Month from which outside opportunities (GP federations, provider roles) draw leaders away.
    pub outside_from: Month,
    /// Fall in willingness per year since `outside_from`.
    pub outside_per_year: f32,
    /// Largest fall in willingness from outside opportunities.
    pub outside_max: f32,
    /// Fall in the willingness to sit on the governing body while a lay/executive-majority
    /// committee takes the primary-care decisions (delegated level, with `[model.delegation]`).
    pub lay_majority_effect: f32,
    /// Fall in every member's influence target per unit of the governing body's vacancy share.
    pub vacancy_influence: f32,
    /// Further fall in the influence target of the members of a locality without its lead.
    pub lead_vacancy_influence: f32,
}

impl Default for Leadership {
    fn default() -> Self {
        Leadership {
            enabled: false,
            review_every: 12,
            stay_base: 2.6,
            take_base: 0.0,
            offers: 2,
            engagement_effect: 5.0,
            burden_effect: 2.0,
            outside_from: Month::new(2015, 4).expect("a valid month"),
            outside_per_year: 0.4,
            outside_max: 1.2,
            lay_majority_effect: 0.3,
            vacancy_influence: 0.15,
            lead_vacancy_influence: 0.05,
        }
    }
}

/// Mergers (ODD 7.17): practices merge into a neighbour of their locality at a yearly rate, and
/// at each reorganisation the smallest CCGs merge with a neighbour until no more than the
/// round's count remain. Each default's source is in `docs/ODD.md`, 7.17.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mergers {
    pub enabled: bool,
    /// Yearly rate r at which practices merge into another of their locality (closures
    /// included): without other change a CCG's practice count falls as e^(-r t), t in years.
    pub practice_rate: f32,
    /// The reorganisations of CCGs: from each round's month, CCGs merge until at most its
    /// `ccgs` remain.
    pub ccg_rounds: Vec<CcgRound>,
}

/// One reorganisation of CCGs (ODD 7.17, eq. M4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcgRound {
    /// The month the merged CCGs start.
    pub from: Month,
    /// At most this many CCGs remain.
    pub ccgs: u32,
}

impl Default for Mergers {
    fn default() -> Self {
        Mergers {
            enabled: false,
            practice_rate: 0.0294,
            ccg_rounds: vec![CcgRound {
                from: Month::new(2018, 4).expect("a valid month"),
                ccgs: 195,
            }],
        }
    }
}

/// Mechanism 9 (ODD 7.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quality {
    pub enabled: bool,
    /// Median practice's own quality level (share of indicators achieved).
    pub mean: f32,
    /// Standard deviation of practices' own quality levels, on the logit scale.
    pub sd: f32,
    /// Share of the gap to full quality that one action closes, at engagement 0.5.
    #[serde(deserialize_with = "quality_effect")]
    pub effect: PerAction,
    /// Share of the gap to its own level that quality closes each month.
    pub reversion: f32,
}

impl Default for Quality {
    fn default() -> Self {
        Quality {
            enabled: true,
            mean: 0.78,
            sd: 0.4,
            effect: PerAction::new(0.015, 0.03, 0.03, 0.015),
            reversion: 0.05,
        }
    }
}

/// How the survey's answers are reported (ODD 7.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answers {
    /// Each practice's answer is drawn from its state, as a real survey's would be.
    #[default]
    Sampled,
    /// Each practice contributes its probability of each answer: the same expected shares with
    /// less variance (a conditional-expectation estimator).
    Expected,
}

/// Survey measurement (ODD 7.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Survey {
    /// Whether the shares reported are of sampled answers or of expected ones. The surveys a CCG
    /// reads of its own members (ODD 7.13, 7.16) are sampled either way.
    pub answers: Answers,
    /// Cut point (logit scale) for answering "at least somewhat engaged".
    pub engaged_cut: f32,
    /// Cut point for answering "highly engaged".
    pub highly_engaged_cut: f32,
    /// View of co-commissioning of a no-role practice at base trust, influence and engagement.
    pub view_base: f32,
    /// Weight of trust in the view.
    pub view_trust: f32,
    /// Weight of perceived influence in the view.
    pub view_influence: f32,
    /// Weight of engagement in the view.
    pub view_engagement: f32,
    /// The view plus logistic noise above this is answered "positive".
    pub positive_cut: f32,
    /// Below this it is answered "negative"; between the two, "neutral".
    pub negative_cut: f32,
    /// Weight of engagement (against trust) in a practice's sense that membership has improved
    /// its relationships with other practices (eq. S6).
    pub relationships_engagement_weight: f32,
    /// Cut point (logit scale) for reporting a positive impact of membership on relationships
    /// with other practices (eq. S6).
    pub relationships_cut: f32,
    /// Cut point (logit scale, on trust) for agreeing that the CCG has a legitimate role in
    /// influencing the practice's prescribing (eq. S7).
    pub legitimate_prescribing_cut: f32,
    /// Cut point (logit scale, on trust) for agreeing that the CCG has a legitimate role in
    /// influencing the practice's relationships with other practices (eq. S7).
    pub legitimate_relationships_cut: f32,
}

impl Default for Survey {
    fn default() -> Self {
        Survey {
            answers: Answers::Sampled,
            engaged_cut: -0.85,
            highly_engaged_cut: 1.5,
            view_base: 1.0,
            view_trust: 3.0,
            view_influence: 2.0,
            view_engagement: 2.0,
            positive_cut: 1.303,
            negative_cut: -0.669,
            relationships_engagement_weight: 0.5,
            relationships_cut: 0.3,
            legitimate_prescribing_cut: -1.34,
            legitimate_relationships_cut: -0.85,
        }
    }
}

/// A value that failed validation: the dotted key in the scenario file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Collects [`Problem`]s under a key prefix.
pub struct Checker<'a> {
    prefix: String,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub fn new(prefix: &str, problems: &'a mut Vec<Problem>) -> Self {
        Checker {
            prefix: prefix.to_string(),
            problems,
        }
    }

    /// A checker for the sub-table `name`.
    pub fn sub(&mut self, name: &str) -> Checker<'_> {
        Checker {
            prefix: self.key(name),
            problems: self.problems,
        }
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        let key = self.key(name);
        self.problems.push(Problem {
            key,
            message: message.into(),
        });
    }

    /// `value` must be finite and within `[lo, hi]`. The value is echoed as the user wrote it
    /// (an `f32` parameter is printed as an `f32`, not widened).
    pub fn range<V: Into<f64> + std::fmt::Display + Copy>(
        &mut self,
        name: &str,
        value: V,
        lo: f64,
        hi: f64,
    ) {
        let v: f64 = value.into();
        if !v.is_finite() || v < lo || v > hi {
            self.problem(name, format!("must be between {lo} and {hi}, got {value}"));
        }
    }

    pub fn unit(&mut self, name: &str, value: f32) {
        self.range(name, value, 0.0, 1.0);
    }

    pub fn non_negative(&mut self, name: &str, value: f32) {
        self.range(name, value, 0.0, f64::MAX);
    }

    pub fn per_action(&mut self, name: &str, v: &PerAction, lo: f64, hi: f64) {
        let mut c = self.sub(name);
        for a in Action::ALL {
            c.range(a.key(), v.get(a), lo, hi);
        }
    }

    pub fn per_role(&mut self, name: &str, v: &PerRole, lo: f64, hi: f64) {
        let mut c = self.sub(name);
        c.range("governing_body", v.governing_body, lo, hi);
        c.range("other_formal", v.other_formal, lo, hi);
    }
}

impl Params {
    /// Check every parameter's domain; `prefix` is where `[model]` sits in the file.
    pub fn validate(&self, checker: &mut Checker<'_>) {
        let d = &self.dynamics;
        let mut c = checker.sub("dynamics");
        c.unit("trust_base", d.trust_base);
        c.unit("engagement_base", d.engagement_base);
        c.unit("influence_base", d.influence_base);
        c.unit("trust_rate", d.trust_rate);
        c.unit("engagement_rate", d.engagement_rate);
        c.unit("influence_rate", d.influence_rate);
        c.range("disposition_sd", d.disposition_sd, 0.0, 1.0);
        c.range("noise_sd", d.noise_sd, 0.0, 0.5);
        c.range("engagement_from_trust", d.engagement_from_trust, -2.0, 2.0);
        c.range(
            "engagement_from_influence",
            d.engagement_from_influence,
            -2.0,
            2.0,
        );
        c.range("influence_from_trust", d.influence_from_trust, -2.0, 2.0);
        c.range(
            "influence_from_engagement",
            d.influence_from_engagement,
            -2.0,
            2.0,
        );

        let a = &self.acceptability;
        let mut c = checker.sub("acceptability");
        let mut s = c.sub("initial_support");
        for act in Action::ALL {
            // Strictly inside (0, 1): the attitude distribution is centred on its logit.
            s.range(act.key(), a.initial_support.get(act), 1e-4, 1.0 - 1e-4);
        }
        c.range("support_sd", a.support_sd, 0.0, 5.0);
        c.range("trust_coupling", a.trust_coupling, -20.0, 20.0);
        c.unit("trust_step", a.trust_step);
        c.range("asymmetry", a.asymmetry, 0.0, 10.0);
        c.per_action("intensity", &a.intensity, 0.0, 10.0);
        c.per_action("engagement_effect", &a.engagement_effect, -1.0, 1.0);
        c.unit("sanction_memory_decay", a.sanction_memory_decay);
        c.unit("sanction_memory_trust", a.sanction_memory_trust);

        let r = &self.roles;
        let mut c = checker.sub("roles");
        c.per_role("engagement", &r.engagement, -1.0, 1.0);
        c.per_role("trust", &r.trust, -1.0, 1.0);
        c.per_role("influence", &r.influence, -1.0, 1.0);
        c.per_role("view", &r.view, -10.0, 10.0);

        checker.sub("peers").unit("rate", self.peers.rate);

        let mut c = checker.sub("size");
        c.range(
            "influence_per_log_size",
            self.size.influence_per_log_size,
            -1.0,
            1.0,
        );
        c.range(
            "reference_practices",
            self.size.reference_practices,
            1.0,
            1e6,
        );

        let mut c = checker.sub("top_down");
        c.range(
            "influence_effect",
            self.top_down.influence_effect,
            -2.0,
            2.0,
        );
        c.range(
            "engagement_effect",
            self.top_down.engagement_effect,
            -2.0,
            2.0,
        );

        let b = &self.burden;
        let mut c = checker.sub("burden");
        let mut l = c.sub("level_load");
        for level in CommissioningLevel::ALL {
            l.range(level.key(), b.level_load.get(level), 0.0, 10.0);
        }
        c.per_role("role_load", &b.role_load, 0.0, 10.0);
        c.per_action("action_load", &b.action_load, 0.0, 10.0);
        c.unit("rate", b.rate);
        c.range("engagement_effect", b.engagement_effect, -2.0, 2.0);
        c.range("reference_load", b.reference_load, 0.0, 10.0);
        c.unit("positive_base", b.positive_base);
        c.range("positive_slope", b.positive_slope, -10.0, 10.0);

        let g = &self.delegation;
        let mut c = checker.sub("delegation");
        c.range(
            "lay_majority_influence",
            g.lay_majority_influence,
            -1.0,
            1.0,
        );
        c.range(
            "conflict_of_interest_penalty",
            g.conflict_of_interest_penalty,
            0.0,
            10.0,
        );
        c.unit("peer_support_framing", g.peer_support_framing);

        checker
            .sub("budget")
            .per_action("cost", &self.budget.cost, 0.0, 1e9);

        let q = &self.quality;
        let mut c = checker.sub("quality");
        c.range("mean", q.mean, 1e-3, 1.0 - 1e-3);
        c.range("sd", q.sd, 0.0, 5.0);
        c.per_action("effect", &q.effect, 0.0, 1.0);
        c.unit("reversion", q.reversion);

        let s = &self.survey;
        let mut c = checker.sub("survey");
        c.range("engaged_cut", s.engaged_cut, -20.0, 20.0);
        c.range("highly_engaged_cut", s.highly_engaged_cut, -20.0, 20.0);
        if s.highly_engaged_cut < s.engaged_cut {
            c.problem("highly_engaged_cut", "must not be below engaged_cut");
        }
        c.range("view_base", s.view_base, -20.0, 20.0);
        c.range("view_trust", s.view_trust, -20.0, 20.0);
        c.range("view_influence", s.view_influence, -20.0, 20.0);
        c.range("view_engagement", s.view_engagement, -20.0, 20.0);
        c.range("positive_cut", s.positive_cut, -20.0, 20.0);
        c.range("negative_cut", s.negative_cut, -20.0, 20.0);
        if s.positive_cut < s.negative_cut {
            c.problem("positive_cut", "must not be below negative_cut");
        }
        c.unit(
            "relationships_engagement_weight",
            s.relationships_engagement_weight,
        );
        c.range("relationships_cut", s.relationships_cut, -20.0, 20.0);
        c.range(
            "legitimate_prescribing_cut",
            s.legitimate_prescribing_cut,
            -20.0,
            20.0,
        );
        c.range(
            "legitimate_relationships_cut",
            s.legitimate_relationships_cut,
            -20.0,
            20.0,
        );

        let cc = &self.co_commissioning;
        let mut c = checker.sub("co_commissioning");
        if cc.enabled && cc.rounds.is_empty() {
            c.problem("rounds", "must name at least one month when enabled");
        }
        if cc.rounds.windows(2).any(|w| w[0] >= w[1]) {
            c.problem("rounds", "must be in increasing order, each month once");
        }
        c.range("push_per_round", cc.push_per_round, -20.0, 20.0);
        c.unit("persistence", cc.persistence);
        c.range(
            "cut_greater_involvement",
            cc.cut_greater_involvement,
            -20.0,
            20.0,
        );
        c.range("cut_joint", cc.cut_joint, -20.0, 20.0);
        c.range("cut_delegated", cc.cut_delegated, -20.0, 20.0);
        if cc.cut_joint < cc.cut_greater_involvement {
            c.problem("cut_joint", "must not be below cut_greater_involvement");
        }
        if cc.cut_delegated < cc.cut_joint {
            c.problem("cut_delegated", "must not be below cut_joint");
        }
        for (name, v) in [
            ("engagement_effect", cc.engagement_effect),
            ("trust_effect", cc.trust_effect),
            ("view_effect", cc.view_effect),
            ("autonomy_effect", cc.autonomy_effect),
            ("size_effect", cc.size_effect),
        ] {
            c.range(name, v, -20.0, 20.0);
        }
        c.unit("engaged_reference", cc.engaged_reference);
        c.unit("trust_reference", cc.trust_reference);
        c.unit("view_reference", cc.view_reference);
        c.unit("autonomy_reference", cc.autonomy_reference);

        let a = &self.adaptation;
        let mut c = checker.sub("adaptation");
        c.range("survey_every", a.survey_every, 1.0, 120.0);
        c.unit("reframe_below", a.reframe_below);
        c.unit("ease_below", a.ease_below);
        c.unit("ease_keep", a.ease_keep);
        c.unit("shift_to_training", a.shift_to_training);
        c.unit("escalate_below_quality", a.escalate_below_quality);
        c.unit("escalate_step", a.escalate_step);
        c.unit("ration_above", a.ration_above);
        c.unit("budget_keep", a.budget_keep);
        c.unit("max_rate", a.max_rate);

        let x = &self.expectations;
        let mut c = checker.sub("expectations");
        let mut l = c.sub("support");
        for level in CommissioningLevel::ALL {
            l.range(level.key(), x.support.get(level), 0.0, 4.0);
        }
        c.unit("expectation_rate", x.expectation_rate);
        c.unit("support_rate", x.support_rate);
        c.range("trust_effect", x.trust_effect, 0.0, 5.0);

        let l = &self.leadership;
        let mut c = checker.sub("leadership");
        c.range("review_every", l.review_every, 1.0, 120.0);
        c.range("stay_base", l.stay_base, -20.0, 20.0);
        c.range("take_base", l.take_base, -20.0, 20.0);
        c.range("offers", l.offers, 0.0, 10_000.0);
        c.range("engagement_effect", l.engagement_effect, -20.0, 20.0);
        c.range("burden_effect", l.burden_effect, -20.0, 20.0);
        c.range("outside_per_year", l.outside_per_year, 0.0, 20.0);
        c.range("outside_max", l.outside_max, 0.0, 20.0);
        c.range("lay_majority_effect", l.lay_majority_effect, -20.0, 20.0);
        c.range("vacancy_influence", l.vacancy_influence, -1.0, 1.0);
        c.range(
            "lead_vacancy_influence",
            l.lead_vacancy_influence,
            -1.0,
            1.0,
        );

        let m = &self.mergers;
        let mut c = checker.sub("mergers");
        c.range("practice_rate", m.practice_rate, 0.0, 1.0);
        if m.ccg_rounds.windows(2).any(|w| w[0].from >= w[1].from) {
            c.problem(
                "ccg_rounds",
                "must be in increasing order of month, each month once",
            );
        }
        if m.ccg_rounds.windows(2).any(|w| w[1].ccgs > w[0].ccgs) {
            c.problem(
                "ccg_rounds",
                "a later round cannot leave more CCGs than an earlier one",
            );
        }
        if m.ccg_rounds.iter().any(|r| r.ccgs == 0) {
            c.problem(
                "ccg_rounds",
                "each round must leave at least one CCG (ccgs >= 1)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let mut problems = Vec::new();
        Params::default().validate(&mut Checker::new("model", &mut problems));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_partial_table_changes_only_the_keys_it_gives() {
        let p: Params = toml::from_str(
            "[acceptability]\nintensity = { sanctions = 2.0 }\n[burden]\nlevel_load = { delegated = 0.9 }\n[roles]\nview = { other_formal = 0.1 }\n",
        )
        .unwrap();
        let d = Params::default();
        assert_eq!(p.acceptability.intensity.sanctions, 2.0);
        assert_eq!(
            p.acceptability.intensity.training,
            d.acceptability.intensity.training
        );
        assert_eq!(p.burden.level_load.delegated, 0.9);
        assert_eq!(p.burden.level_load.joint, d.burden.level_load.joint);
        assert_eq!(p.roles.view.other_formal, 0.1);
        assert_eq!(p.roles.view.governing_body, d.roles.view.governing_body);
        assert!(
            toml::from_str::<Params>("[acceptability]\nintensity = { sanction = 2.0 }\n").is_err()
        );
    }

    #[test]
    fn out_of_range_values_are_reported_with_their_key() {
        let mut p = Params::default();
        p.peers.rate = 1.5;
        p.acceptability.initial_support.sanctions = 0.0;
        let mut problems = Vec::new();
        p.validate(&mut Checker::new("model", &mut problems));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "model.acceptability.initial_support.sanctions",
                "model.peers.rate"
            ]
        );
    }
}

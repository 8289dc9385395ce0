//! The month's tally: counts of survey answers, state sums, actions and costs over every
//! practice, in the column order of the peers' shared `scenario_io.TALLY` (the metrics are ratios
//! of these, computed on the Python side with the other peers' definitions).

pub const LEN: usize = 35;

pub const PRACTICES: usize = 0;
pub const GOVERNING_BODY: usize = 1;
pub const FORMAL_ROLE: usize = 2;
pub const NO_ROLE: usize = 3;
pub const ENGAGED: usize = 4;
pub const HIGHLY_ENGAGED: usize = 5;
pub const SUM_ENGAGEMENT: usize = 6;
pub const SUM_TRUST: usize = 7;
pub const SUM_INFLUENCE: usize = 8;
pub const INFLUENCE: usize = 9;
pub const INFLUENCE_FORMAL: usize = 10;
pub const INFLUENCE_NO_ROLE: usize = 11;
pub const POSITIVE_GOVERNING_BODY: usize = 12;
pub const POSITIVE_NO_ROLE: usize = 13;
pub const NEUTRAL_NO_ROLE: usize = 14;
pub const POSITIVE_ALL: usize = 15;
/// Then data_review, targets, sanctions (likewise for `ACTIONS_*` and `COST_*`).
pub const SUPPORT_TRAINING: usize = 16;
pub const SUM_QUALITY: usize = 20;
pub const BURDEN_POSITIVE: usize = 21;
pub const SUM_BURDEN: usize = 22;
pub const ACTIONS_TRAINING: usize = 23;
pub const COST_TRAINING: usize = 27;
pub const RATIONED: usize = 31;
pub const TOP_DOWN: usize = 32;
pub const SUM_SQ_ENGAGEMENT: usize = 33;
pub const SUM_SQ_TRUST: usize = 34;

pub const NAMES: [&str; LEN] = [
    "practices",
    "governing_body",
    "formal_role",
    "no_role",
    "engaged",
    "highly_engaged",
    "sum_engagement",
    "sum_trust",
    "sum_influence",
    "influence",
    "influence_formal",
    "influence_no_role",
    "positive_governing_body",
    "positive_no_role",
    "neutral_no_role",
    "positive_all",
    "support_training",
    "support_data_review",
    "support_targets",
    "support_sanctions",
    "sum_quality",
    "burden_positive",
    "sum_burden",
    "actions_training",
    "actions_data_review",
    "actions_targets",
    "actions_sanctions",
    "cost_training",
    "cost_data_review",
    "cost_targets",
    "cost_sanctions",
    "rationed",
    "top_down",
    "sum_sq_engagement",
    "sum_sq_trust",
];

pub type Tally = [f64; LEN];

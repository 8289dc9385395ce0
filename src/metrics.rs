//! What a run measures each tick, and how.
//!
//! The engine adds each practice's survey answers and each action into a [`Tally`] (sums and
//! counts). A metric is a ratio of two tallies (or a plain total), so tallies of several CCGs add
//! up to the tally of their union and every metric can be computed per CCG or for the whole
//! population from the same numbers.

/// Sums collected for one tick of one CCG (or of a set of CCGs).
pub type Tally = [f64; TALLY_LEN];

/// Indices into a [`Tally`].
pub mod tally {
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
    /// Four entries, one per action.
    pub const SUPPORT: usize = 16;
    pub const SUM_QUALITY: usize = 20;
    pub const BURDEN_POSITIVE: usize = 21;
    pub const SUM_BURDEN: usize = 22;
    /// Four entries, one per action.
    pub const ACTIONS: usize = 23;
    /// Four entries, one per action.
    pub const COST: usize = 27;
    pub const RATIONED: usize = 31;
    pub const TOP_DOWN: usize = 32;
    pub const SUM_SQ_ENGAGEMENT: usize = 33;
    pub const SUM_SQ_TRUST: usize = 34;
    /// Three entries: the expected answers of eqs. S6 and S7 (relationships positive,
    /// legitimate role in prescribing, legitimate role in relationships).
    pub const EXPECTED_ANSWERS: usize = 35;
    /// Four entries: the number of CCGs at each co-commissioning level (none, greater
    /// involvement, joint, delegated).
    pub const CCGS: usize = 38;
    /// Practices with a formal role answering at least somewhat engaged.
    pub const ENGAGED_FORMAL: usize = 42;
    /// Practices with no formal role answering at least somewhat engaged.
    pub const ENGAGED_NO_ROLE: usize = 43;
    /// Governing-body seats (ODD 7.15), filled or not.
    pub const GOVERNING_BODY_SEATS: usize = 44;
    /// Governing-body seats left vacant.
    pub const GOVERNING_BODY_VACANT: usize = 45;
    /// Locality leads' seats, filled or not.
    pub const LEAD_SEATS: usize = 46;
    /// Locality leads' seats left vacant.
    pub const LEAD_VACANT: usize = 47;
    /// CCGs in the population this month: 1 per CCG, none for one merged into another (ODD 7.17).
    pub const CCG_COUNT: usize = 48;
    /// Registered patients of the member practices.
    pub const PATIENTS: usize = 49;

    /// Whether entry `i` is added in every month, whichever months a caller observes: the
    /// month's actions, their costs and what the budget rationed (phase 1), and the seats (ODD
    /// 7.15). Every other entry comes from the survey, which is taken only in the months a
    /// caller reads (ODD 3).
    pub const fn every_month(i: usize) -> bool {
        matches!(i, ACTIONS..=RATIONED | GOVERNING_BODY_SEATS..=LEAD_VACANT)
    }
}

pub const TALLY_LEN: usize = 50;

/// How a metric is computed from a tally.
#[derive(Debug, Clone, Copy)]
pub enum Formula {
    /// `tally[num] / tally[den]`; undefined when the denominator is zero.
    Ratio(usize, usize),
    /// `tally[i]`, a total over practices (counts and costs).
    Total(usize),
    /// Standard deviation across practices from a sum, a sum of squares and a count.
    Sd(usize, usize, usize),
}

/// What a metric's values measure, for axis titles and the `metrics` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A share of practices (0-1) answering the simulated survey a certain way.
    Share,
    /// A mean (or spread) of a practice state variable on its 0-1 scale.
    State,
    /// Mean quality of care: the share of quality indicators achieved (0-1).
    Quality,
    /// A number of actions in the month, summed over the population's practices.
    Count,
    /// Pounds sterling spent in the month.
    Gbp,
    /// A number of CCGs.
    Ccgs,
    /// A share of a CCG's seats (0-1), such as those left vacant.
    SeatShare,
    /// A number of practices.
    Practices,
    /// Registered patients per practice.
    Patients,
}

impl Unit {
    /// Whether values are absolute amounts (counts, pounds) rather than 0-1 shares or states.
    pub fn is_absolute(self) -> bool {
        matches!(
            self,
            Unit::Count | Unit::Gbp | Unit::Ccgs | Unit::Practices | Unit::Patients
        )
    }

    /// The unit in words, as an axis title gives it.
    pub fn describe(self) -> &'static str {
        match self {
            Unit::Share => "share of practices (0-1)",
            Unit::State => "state (0-1)",
            Unit::Quality => "share of indicators achieved (0-1)",
            Unit::Count => "actions per month",
            Unit::Gbp => "GBP per month",
            Unit::Ccgs => "number of CCGs",
            Unit::SeatShare => "share of seats (0-1)",
            Unit::Practices => "number of practices",
            Unit::Patients => "patients per practice",
        }
    }
}

/// A named output metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    /// A plain label in the domain's words ("Trust in the CCG"), for tables and charts.
    pub label: &'static str,
    pub unit: Unit,
    pub formula: Formula,
    /// What the metric is, for documentation and the `metrics` command.
    pub description: &'static str,
}

impl Metric {
    /// Whether the metric reads the survey: false for the actions delivered and rationed, their
    /// costs and the seats left vacant, which every month's tally holds whether or not the
    /// month is observed ([`tally::every_month`]), so a sweep reading only these does not need
    /// the survey of those months.
    pub fn needs_survey(&self) -> bool {
        !self.entries().into_iter().all(tally::every_month)
    }

    /// The tally entries the metric reads.
    pub fn entries(&self) -> Vec<usize> {
        match self.formula {
            Formula::Ratio(n, d) => vec![n, d],
            Formula::Total(i) => vec![i],
            Formula::Sd(sum, sq, n) => vec![sum, sq, n],
        }
    }

    /// The metric's value for a tally; `None` where it is undefined (no practice in the group).
    pub fn value(&self, t: &Tally) -> Option<f64> {
        match self.formula {
            Formula::Ratio(n, d) => (t[d] > 0.0).then(|| t[n] / t[d]),
            Formula::Total(i) => Some(t[i]),
            Formula::Sd(sum, sq, n) => (t[n] > 0.0).then(|| {
                let mean = t[sum] / t[n];
                (t[sq] / t[n] - mean * mean).max(0.0).sqrt()
            }),
        }
    }
}

use tally as ix;

const fn ratio(
    name: &'static str,
    label: &'static str,
    unit: Unit,
    n: usize,
    d: usize,
    description: &'static str,
) -> Metric {
    Metric {
        name,
        label,
        unit,
        formula: Formula::Ratio(n, d),
        description,
    }
}

const fn sd(
    name: &'static str,
    label: &'static str,
    unit: Unit,
    sum: usize,
    sum_sq: usize,
    description: &'static str,
) -> Metric {
    Metric {
        name,
        label,
        unit,
        formula: Formula::Sd(sum, sum_sq, ix::PRACTICES),
        description,
    }
}

const fn total(
    name: &'static str,
    label: &'static str,
    unit: Unit,
    i: usize,
    description: &'static str,
) -> Metric {
    Metric {
        name,
        label,
        unit,
        formula: Formula::Total(i),
        description,
    }
}

/// Every output metric, in output order.
#[rustfmt::skip]
pub const METRICS: &[Metric] = &[
    ratio("engaged_share", "Engaged with the CCG (at least somewhat)", Unit::Share, ix::ENGAGED, ix::PRACTICES, "share answering at least somewhat engaged with the CCG's work"),
    ratio("highly_engaged_share", "Highly engaged with the CCG", Unit::Share, ix::HIGHLY_ENGAGED, ix::PRACTICES, "share answering highly engaged"),
    ratio("mean_engagement", "Engagement (mean state)", Unit::State, ix::SUM_ENGAGEMENT, ix::PRACTICES, "mean engagement state (0-1)"),
    sd("sd_engagement", "Spread of engagement across practices", Unit::State, ix::SUM_ENGAGEMENT, ix::SUM_SQ_ENGAGEMENT, "standard deviation of engagement across practices"),
    ratio("mean_trust", "Trust in the CCG", Unit::State, ix::SUM_TRUST, ix::PRACTICES, "mean trust in the CCG (0-1)"),
    sd("sd_trust", "Spread of trust across practices", Unit::State, ix::SUM_TRUST, ix::SUM_SQ_TRUST, "standard deviation of trust across practices"),
    ratio("mean_influence", "Perceived influence (mean state)", Unit::State, ix::SUM_INFLUENCE, ix::PRACTICES, "mean perceived influence state (0-1)"),
    ratio("influence_share", "Feel they could influence the CCG", Unit::Share, ix::INFLUENCE, ix::PRACTICES, "share who feel they could influence the CCG's work if they wanted to"),
    ratio("influence_share_formal_role", "Feel they could influence the CCG, members with a formal role", Unit::Share, ix::INFLUENCE_FORMAL, ix::FORMAL_ROLE, "influence share among practices with a formal role (governing body or other)"),
    ratio("influence_share_no_role", "Feel they could influence the CCG, members with no formal role", Unit::Share, ix::INFLUENCE_NO_ROLE, ix::NO_ROLE, "influence share among practices with no formal role"),
    ratio("positive_share", "Positive about co-commissioning", Unit::Share, ix::POSITIVE_ALL, ix::PRACTICES, "share positive about co-commissioning"),
    ratio("positive_share_governing_body", "Positive about co-commissioning, governing-body members", Unit::Share, ix::POSITIVE_GOVERNING_BODY, ix::GOVERNING_BODY, "share positive about co-commissioning among governing-body practices"),
    ratio("positive_share_no_role", "Positive about co-commissioning, members with no formal role", Unit::Share, ix::POSITIVE_NO_ROLE, ix::NO_ROLE, "share positive about co-commissioning among no-role practices"),
    ratio("neutral_share_no_role", "Neutral about co-commissioning, members with no formal role", Unit::Share, ix::NEUTRAL_NO_ROLE, ix::NO_ROLE, "share neutral about co-commissioning among no-role practices"),
    ratio("support_training", "Support for training and education", Unit::Share, ix::SUPPORT, ix::PRACTICES, "share supporting the CCG facilitating training and education"),
    ratio("support_data_review", "Support for review of comparative data", Unit::Share, ix::SUPPORT + 1, ix::PRACTICES, "share supporting the CCG encouraging review of comparative data"),
    ratio("support_targets", "Support for targets", Unit::Share, ix::SUPPORT + 2, ix::PRACTICES, "share supporting the CCG setting targets or objectives"),
    ratio("support_sanctions", "Support for sanctions", Unit::Share, ix::SUPPORT + 3, ix::PRACTICES, "share supporting sanctions against underperforming practices"),
    ratio("mean_quality", "Quality of care", Unit::Quality, ix::SUM_QUALITY, ix::PRACTICES, "mean quality of care (share of indicators achieved)"),
    ratio("burden_positive_share", "Positive about paperwork and meetings", Unit::Share, ix::BURDEN_POSITIVE, ix::PRACTICES, "share reporting a positive impact of the CCG on paperwork and meetings"),
    ratio("mean_burden", "Meeting and paperwork load", Unit::State, ix::SUM_BURDEN, ix::PRACTICES, "mean meeting and paperwork load"),
    total("actions_training", "Training sessions delivered", Unit::Count, ix::ACTIONS, "training actions delivered this month"),
    total("actions_data_review", "Data reviews delivered", Unit::Count, ix::ACTIONS + 1, "data-review actions delivered this month"),
    total("actions_targets", "Targets set", Unit::Count, ix::ACTIONS + 2, "target-setting actions delivered this month"),
    total("actions_sanctions", "Sanctions applied", Unit::Count, ix::ACTIONS + 3, "sanctions applied this month"),
    total("cost_training", "Cost of training", Unit::Gbp, ix::COST, "cost of training actions this month (GBP)"),
    total("cost_data_review", "Cost of data review", Unit::Gbp, ix::COST + 1, "cost of data-review actions this month (GBP)"),
    total("cost_targets", "Cost of targets", Unit::Gbp, ix::COST + 2, "cost of target-setting actions this month (GBP)"),
    total("cost_sanctions", "Cost of sanctions", Unit::Gbp, ix::COST + 3, "cost of sanctions this month (GBP)"),
    total("actions_rationed", "Actions the budget could not pay for", Unit::Count, ix::RATIONED, "actions the policy called for but the budget could not pay for"),
    ratio("top_down_control", "Top-down control felt", Unit::State, ix::TOP_DOWN, ix::PRACTICES, "mean top-down control felt by practices (0-1)"),
    ratio("relationships_positive_share", "Membership improved relationships with other practices", Unit::Share, ix::EXPECTED_ANSWERS, ix::PRACTICES, "expected share reporting a positive impact of CCG membership on relationships with other practices"),
    ratio("legitimate_prescribing_share", "CCG has a legitimate role in prescribing", Unit::Share, ix::EXPECTED_ANSWERS + 1, ix::PRACTICES, "expected share agreeing the CCG has a legitimate role in influencing their prescribing"),
    ratio("legitimate_relationships_share", "CCG has a legitimate role in relationships between practices", Unit::Share, ix::EXPECTED_ANSWERS + 2, ix::PRACTICES, "expected share agreeing the CCG has a legitimate role in influencing their relationships with other practices"),
    total("ccgs_none", "CCGs without co-commissioning", Unit::Ccgs, ix::CCGS, "CCGs at no co-commissioning level"),
    total("ccgs_greater_involvement", "CCGs at greater involvement", Unit::Ccgs, ix::CCGS + 1, "CCGs at greater involvement in co-commissioning"),
    total("ccgs_joint", "CCGs in joint commissioning", Unit::Ccgs, ix::CCGS + 2, "CCGs in joint commissioning with NHS England"),
    total("ccgs_delegated", "CCGs with delegated commissioning", Unit::Ccgs, ix::CCGS + 3, "CCGs with fully delegated commissioning of general practice"),
    ratio("governing_body_vacancy_share", "Governing-body seats vacant", Unit::SeatShare, ix::GOVERNING_BODY_VACANT, ix::GOVERNING_BODY_SEATS, "share of governing-body seats left vacant (0 unless leaders can walk away)"),
    ratio("engaged_share_formal_role", "Engaged with the CCG, members with a formal role", Unit::Share, ix::ENGAGED_FORMAL, ix::FORMAL_ROLE, "engaged share among practices with a formal role (governing body or other)"),
    ratio("engaged_share_no_role", "Engaged with the CCG, members with no formal role", Unit::Share, ix::ENGAGED_NO_ROLE, ix::NO_ROLE, "engaged share among practices with no formal role"),
    ratio("lead_vacancy_share", "Locality leads' seats vacant", Unit::SeatShare, ix::LEAD_VACANT, ix::LEAD_SEATS, "share of locality leads' seats left vacant (0 unless leaders can walk away)"),
    total("ccgs", "CCGs", Unit::Ccgs, ix::CCG_COUNT, "CCGs in the population (fewer after CCG mergers)"),
    total("practices", "Member practices", Unit::Practices, ix::PRACTICES, "member practices of all CCGs (fewer after practice mergers)"),
    ratio("mean_list_size", "Patients per practice", Unit::Patients, ix::PATIENTS, ix::PRACTICES, "mean registered patients per practice (rises as practices merge)"),
];

/// The headline metrics: the ones the end-of-run summary, `compare`'s table and the report lead
/// with, in that order.
pub const HEADLINE: &[&str] = &[
    "engaged_share",
    "mean_trust",
    "influence_share_no_role",
    "positive_share_governing_body",
    "positive_share_no_role",
    "support_training",
    "support_data_review",
    "support_targets",
    "support_sanctions",
    "mean_quality",
];

/// The metric measuring support for `action` (its [`crate::model::Action::key`]).
pub fn support_metric(action_key: &str) -> Option<usize> {
    metric_index(&format!("support_{action_key}"))
}

/// The index of the metric called `name`.
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.name == name)
}

/// Add `src` into `dst`.
pub fn add_into(dst: &mut Tally, src: &Tally) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_unique_and_indices_in_range() {
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!(metric_index(m.name), Some(i), "{} duplicated", m.name);
            match m.formula {
                Formula::Ratio(n, d) => assert!(n < TALLY_LEN && d < TALLY_LEN),
                Formula::Total(t) => assert!(t < TALLY_LEN),
                Formula::Sd(a, b, c) => assert!(a < TALLY_LEN && b < TALLY_LEN && c < TALLY_LEN),
            }
        }
    }

    #[test]
    fn the_level_counts_follow_the_order_of_the_levels() {
        // `output::csv` reads a CCG's level from these four metrics, in this order.
        let first = metric_index("ccgs_none").unwrap();
        for (k, level) in crate::model::CommissioningLevel::ALL.iter().enumerate() {
            assert_eq!(METRICS[first + k].name, format!("ccgs_{}", level.key()));
        }
    }

    #[test]
    fn a_ratio_over_an_empty_group_is_undefined() {
        let t = [0.0; TALLY_LEN];
        assert_eq!(
            METRICS[metric_index("positive_share_governing_body").unwrap()].value(&t),
            None
        );
        assert_eq!(
            METRICS[metric_index("actions_training").unwrap()].value(&t),
            Some(0.0)
        );
    }
}

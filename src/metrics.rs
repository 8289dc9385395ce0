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
}

pub const TALLY_LEN: usize = 35;

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

/// A named output metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub formula: Formula,
    /// What the metric is, for documentation and `--help`.
    pub description: &'static str,
}

impl Metric {
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

const fn ratio(name: &'static str, n: usize, d: usize, description: &'static str) -> Metric {
    Metric {
        name,
        formula: Formula::Ratio(n, d),
        description,
    }
}

const fn sd(name: &'static str, sum: usize, sum_sq: usize, description: &'static str) -> Metric {
    Metric {
        name,
        formula: Formula::Sd(sum, sum_sq, ix::PRACTICES),
        description,
    }
}

const fn total(name: &'static str, i: usize, description: &'static str) -> Metric {
    Metric {
        name,
        formula: Formula::Total(i),
        description,
    }
}

/// Every output metric, in output order.
#[rustfmt::skip]
pub const METRICS: &[Metric] = &[
    ratio("engaged_share", ix::ENGAGED, ix::PRACTICES, "share answering at least somewhat engaged with the CCG's work"),
    ratio("highly_engaged_share", ix::HIGHLY_ENGAGED, ix::PRACTICES, "share answering highly engaged"),
    ratio("mean_engagement", ix::SUM_ENGAGEMENT, ix::PRACTICES, "mean engagement state (0-1)"),
    sd("sd_engagement", ix::SUM_ENGAGEMENT, ix::SUM_SQ_ENGAGEMENT, "standard deviation of engagement across practices"),
    ratio("mean_trust", ix::SUM_TRUST, ix::PRACTICES, "mean trust in the CCG (0-1)"),
    sd("sd_trust", ix::SUM_TRUST, ix::SUM_SQ_TRUST, "standard deviation of trust across practices"),
    ratio("mean_influence", ix::SUM_INFLUENCE, ix::PRACTICES, "mean perceived influence state (0-1)"),
    ratio("influence_share", ix::INFLUENCE, ix::PRACTICES, "share who feel they could influence the CCG's work if they wanted to"),
    ratio("influence_share_formal_role", ix::INFLUENCE_FORMAL, ix::FORMAL_ROLE, "influence share among practices with a formal role (governing body or other)"),
    ratio("influence_share_no_role", ix::INFLUENCE_NO_ROLE, ix::NO_ROLE, "influence share among practices with no formal role"),
    ratio("positive_share", ix::POSITIVE_ALL, ix::PRACTICES, "share positive about co-commissioning"),
    ratio("positive_share_governing_body", ix::POSITIVE_GOVERNING_BODY, ix::GOVERNING_BODY, "share positive about co-commissioning among governing-body practices"),
    ratio("positive_share_no_role", ix::POSITIVE_NO_ROLE, ix::NO_ROLE, "share positive about co-commissioning among no-role practices"),
    ratio("neutral_share_no_role", ix::NEUTRAL_NO_ROLE, ix::NO_ROLE, "share neutral about co-commissioning among no-role practices"),
    ratio("support_training", ix::SUPPORT, ix::PRACTICES, "share supporting the CCG facilitating training and education"),
    ratio("support_data_review", ix::SUPPORT + 1, ix::PRACTICES, "share supporting the CCG encouraging review of comparative data"),
    ratio("support_targets", ix::SUPPORT + 2, ix::PRACTICES, "share supporting the CCG setting targets or objectives"),
    ratio("support_sanctions", ix::SUPPORT + 3, ix::PRACTICES, "share supporting sanctions against underperforming practices"),
    ratio("mean_quality", ix::SUM_QUALITY, ix::PRACTICES, "mean quality of care (share of indicators achieved)"),
    ratio("burden_positive_share", ix::BURDEN_POSITIVE, ix::PRACTICES, "share reporting a positive impact of the CCG on paperwork and meetings"),
    ratio("mean_burden", ix::SUM_BURDEN, ix::PRACTICES, "mean meeting and paperwork load"),
    total("actions_training", ix::ACTIONS, "training actions delivered this month"),
    total("actions_data_review", ix::ACTIONS + 1, "data-review actions delivered this month"),
    total("actions_targets", ix::ACTIONS + 2, "target-setting actions delivered this month"),
    total("actions_sanctions", ix::ACTIONS + 3, "sanctions applied this month"),
    total("cost_training", ix::COST, "cost of training actions this month (GBP)"),
    total("cost_data_review", ix::COST + 1, "cost of data-review actions this month (GBP)"),
    total("cost_targets", ix::COST + 2, "cost of target-setting actions this month (GBP)"),
    total("cost_sanctions", ix::COST + 3, "cost of sanctions this month (GBP)"),
    total("actions_rationed", ix::RATIONED, "actions the policy called for but the budget could not pay for"),
    ratio("top_down_control", ix::TOP_DOWN, ix::PRACTICES, "mean top-down control felt by practices (0-1)"),
];

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

//! The survey figures the model is compared with: the rows of `data/survey_targets.csv` that have
//! a model metric, each placed at its survey month. The file is compiled into the binary, so the
//! end-of-run summary and the report can set a modelled figure beside the survey's wherever the
//! program is run from.
//!
//! Survey months follow docs/ODD.md (1.2): February of the survey year (the 2015 survey was
//! fielded in January-February 2015); the engagement lower bound of the 2016 report is read at
//! 2015-02, as the calibration does.

use crate::calendar::Month;
use crate::metrics::metric_index;

/// `data/survey_targets.csv`, as compiled in.
pub const SURVEY_TARGETS_CSV: &str = include_str!("../data/survey_targets.csv");

/// One survey figure with its model counterpart.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyFigure {
    /// The row's `id` in `data/survey_targets.csv`.
    pub id: String,
    /// Index into [`crate::metrics::METRICS`].
    pub metric: usize,
    /// The month the model is read at.
    pub month: Month,
    pub value: f64,
    /// The survey figure is a lower bound ("over 70%"), not a point estimate.
    pub lower_bound: bool,
    /// The source document (file named in the CSV).
    pub source: String,
}

/// Survey id -> (metric, month, lower bound). Rows not listed (CCG counts, items with no model
/// counterpart yet) are not compared.
const MAP: &[(&str, &str, (i32, u32), bool)] = &[
    ("support_training", "support_training", (2015, 2), false),
    (
        "support_data_review",
        "support_data_review",
        (2015, 2),
        false,
    ),
    ("support_targets", "support_targets", (2015, 2), false),
    ("support_sanctions", "support_sanctions", (2015, 2), false),
    (
        "positive_governing_body",
        "positive_share_governing_body",
        (2015, 2),
        false,
    ),
    (
        "positive_no_role",
        "positive_share_no_role",
        (2015, 2),
        false,
    ),
    ("neutral_no_role", "neutral_share_no_role", (2015, 2), false),
    ("burden_positive", "burden_positive_share", (2015, 2), false),
    (
        "influence_no_role_2014",
        "influence_share_no_role",
        (2014, 2),
        false,
    ),
    (
        "influence_no_role_2016",
        "influence_share_no_role",
        (2016, 2),
        false,
    ),
    (
        "engaged_at_least_somewhat",
        "engaged_share",
        (2015, 2),
        true,
    ),
];

/// Every survey figure with a model counterpart, in the CSV's order.
pub fn survey_figures() -> Vec<SurveyFigure> {
    let mut reader = csv::Reader::from_reader(SURVEY_TARGETS_CSV.as_bytes());
    let mut out = Vec::new();
    for row in reader.records() {
        // The file is compiled in and checked by the tests below.
        let Ok(row) = row else { continue };
        let Some(&(_, metric, (year, month), lower_bound)) =
            MAP.iter().find(|(id, ..)| *id == &row[0])
        else {
            continue;
        };
        let (Some(metric), Ok(value), Some(month)) = (
            metric_index(metric),
            row[4].parse::<f64>(),
            Month::new(year, month),
        ) else {
            continue;
        };
        out.push(SurveyFigure {
            id: row[0].to_string(),
            metric,
            month,
            value,
            lower_bound,
            source: row[5].to_string(),
        });
    }
    out
}

/// The survey figure for `metric` at `month`, if the survey measured it then.
pub fn figure_at(figures: &[SurveyFigure], metric: usize, month: Month) -> Option<&SurveyFigure> {
    figures
        .iter()
        .find(|f| f.metric == metric && f.month == month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_row_is_found() {
        let figures = survey_figures();
        assert_eq!(figures.len(), MAP.len());
        let feb15 = Month::new(2015, 2).unwrap();
        let f = figure_at(&figures, metric_index("support_sanctions").unwrap(), feb15).unwrap();
        assert_eq!(f.value, 0.13);
        let feb16 = Month::new(2016, 2).unwrap();
        let f = figure_at(
            &figures,
            metric_index("influence_share_no_role").unwrap(),
            feb16,
        );
        assert_eq!(f.unwrap().value, 0.20);
        assert!(figure_at(&figures, metric_index("mean_trust").unwrap(), feb15).is_none());
    }
}

//! The baseline scenario reproduces the 2015 member survey (data/survey_targets.csv) at its final
//! tick, within 5 percentage points, averaged over its replicates.

use crate::common;

use std::collections::BTreeMap;

/// 2015 survey targets: target id -> (model metric, value from the CSV).
fn targets() -> BTreeMap<String, (String, f64)> {
    let metric_for = |id: &str| -> Option<&'static str> {
        Some(match id {
            "support_training" => "support_training",
            "support_data_review" => "support_data_review",
            "support_targets" => "support_targets",
            "support_sanctions" => "support_sanctions",
            "positive_governing_body" => "positive_share_governing_body",
            "positive_no_role" => "positive_share_no_role",
            "neutral_no_role" => "neutral_share_no_role",
            "burden_positive" => "burden_positive_share",
            "peer_relationship_positive" => "relationships_positive_share",
            "legitimate_prescribing" => "legitimate_prescribing_share",
            "legitimate_relationships" => "legitimate_relationships_share",
            _ => return None,
        })
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/survey_targets.csv");
    let mut reader = csv::Reader::from_path(path).expect("data/survey_targets.csv is readable");
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("well-formed CSV");
        let (id, year, value) = (&row[0], &row[1], &row[4]);
        if let (Some(metric), "2015") = (metric_for(id), year) {
            out.insert(
                id.to_string(),
                (
                    metric.to_string(),
                    value.parse::<f64>().expect("numeric value"),
                ),
            );
        }
    }
    out
}

#[test]
fn baseline_reproduces_the_2015_survey_within_5_points() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/baseline.toml"
    ))
    .unwrap();
    let (scenario, _, summary) = common::run(&text, 100);
    assert_eq!(
        scenario.month_of(scenario.months).to_string(),
        "2015-02",
        "final tick is the survey month"
    );
    let targets = targets();
    assert_eq!(
        targets.len(),
        11,
        "all eleven 2015 survey shares are checked"
    );
    let mut report = String::new();
    let mut failed = false;
    for (id, (metric, target)) in &targets {
        let got = common::last(&summary, metric).mean;
        let ok = (got - target).abs() <= 0.05;
        failed |= !ok;
        report.push_str(&format!(
            "{id:<26} model {got:.3} survey {target:.2} {}\n",
            if ok { "ok" } else { "OFF" }
        ));
    }
    assert!(!failed, "baseline misses survey targets:\n{report}");
    // "Over 70% of member practices at least somewhat engaged" (a lower bound).
    assert!(common::last(&summary, "engaged_share").mean >= 0.70 - 0.05);
}

#[test]
fn influence_of_members_without_a_role_falls_from_2014_to_2016() {
    // The same sites run on to the 2016 survey: 35% (early 2014) -> 20% (early 2016).
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/baseline.toml"
    ))
    .unwrap()
    .replace("months = 22", "months = 34");
    let (_, _, summary) = common::run(&text, 100);
    let y2014 = common::at(&summary, "influence_share_no_role", Some(10)).mean;
    let y2016 = common::at(&summary, "influence_share_no_role", Some(34)).mean;
    assert!((y2014 - 0.35).abs() <= 0.05, "2014-02: {y2014:.3}");
    assert!((y2016 - 0.20).abs() <= 0.05, "2016-02: {y2016:.3}");
}

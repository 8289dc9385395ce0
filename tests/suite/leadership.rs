//! Leaders who can walk away (ODD 7.15, `[model.leadership]`): a heavier load on leaders leaves
//! more governing-body seats vacant; vacancies lower members' influence; leaders who never leave,
//! or the mechanism switched off, change nothing, bit for bit; bad values are refused by key.

use std::process::Command;

use crate::common::{assert_below, last, one_ccg, run};
use ccgsim::experiment::EnsembleSummary;
use ccgsim::metrics::METRICS;

const REPS: u32 = 200;

/// Four years of one 60-practice CCG, delegated from April 2015, with the given extra TOML.
fn scenario(extra: &str) -> String {
    format!(
        "months = 48\nseed = 11\n{}commissioning = [{{ from = \"2015-04\", level = \"delegated\" }}]\n{extra}\n",
        one_ccg(60)
    )
}

fn same(a: &EnsembleSummary, b: &EnsembleSummary) -> bool {
    (0..a.ticks).all(|t| {
        (0..METRICS.len()).all(|m| {
            let (x, y) = (a.population_at(t, m), b.population_at(t, m));
            x.n == y.n && x.mean.to_bits() == y.mean.to_bits()
        })
    })
}

#[test]
fn a_heavier_leader_burden_leaves_more_seats_vacant() {
    let (_, _, light) = run(
        &scenario(
            "[model.leadership]\nenabled = true\n[model.burden]\nrole_load = { governing_body = 0.3 }",
        ),
        REPS,
    );
    let (_, _, heavy) = run(
        &scenario(
            "[model.leadership]\nenabled = true\n[model.burden]\nrole_load = { governing_body = 1.2 }",
        ),
        REPS,
    );
    assert_below(
        "governing_body_vacancy_share",
        &last(&light, "governing_body_vacancy_share"),
        &last(&heavy, "governing_body_vacancy_share"),
        2.0,
    );
}

#[test]
fn vacancies_lower_influence() {
    // Strong outside opportunities leave seats vacant; the same vacancies with and without their
    // effect on influence (the draws are the same: only L6 differs).
    let away = "[model.leadership]\nenabled = true\noutside_from = \"2013-04\"\noutside_per_year = 2.0\noutside_max = 3.0\n";
    let (_, _, felt) = run(&scenario(away), REPS);
    let (_, _, unfelt) = run(
        &scenario(&format!(
            "{away}vacancy_influence = 0.0\nlead_vacancy_influence = 0.0\n"
        )),
        REPS,
    );
    let vacant = last(&felt, "governing_body_vacancy_share");
    assert!(vacant.mean > 0.2, "vacancy share {}", vacant.mean);
    assert_below(
        "mean_influence",
        &last(&felt, "mean_influence"),
        &last(&unfelt, "mean_influence"),
        2.0,
    );
    assert_below(
        "influence_share_no_role",
        &last(&felt, "influence_share_no_role"),
        &last(&unfelt, "influence_share_no_role"),
        1.0,
    );
}

#[test]
fn outside_opportunities_empty_seats_that_stay_filled_without_them() {
    let (_, _, none) = run(
        &scenario("[model.leadership]\nenabled = true\noutside_per_year = 0.0\n"),
        REPS,
    );
    let (_, _, strong) = run(
        &scenario(
            "[model.leadership]\nenabled = true\noutside_per_year = 1.5\noutside_max = 3.0\n",
        ),
        REPS,
    );
    assert_below(
        "governing_body_vacancy_share",
        &last(&none, "governing_body_vacancy_share"),
        &last(&strong, "governing_body_vacancy_share"),
        2.0,
    );
}

#[test]
fn leadership_off_changes_nothing() {
    let (_, _, without) = run(&scenario(""), 20);
    let (_, _, off) = run(
        &scenario("[model.leadership]\nenabled = false\nreview_every = 1\nstay_base = -20.0\n"),
        20,
    );
    assert!(same(&without, &off));
    // Off, no seat is ever vacant.
    assert_eq!(last(&off, "governing_body_vacancy_share").mean, 0.0);
}

#[test]
fn leaders_who_never_leave_change_nothing_and_leaders_who_do_change_the_run() {
    let (_, _, off) = run(&scenario(""), 20);
    let (_, _, loyal) = run(
        &scenario(
            "[model.leadership]\nenabled = true\nstay_base = 20.0\nreview_every = 1\n\
             engagement_effect = 0.0\nburden_effect = 0.0\noutside_per_year = 0.0\n\
             lay_majority_effect = 0.0\n",
        ),
        20,
    );
    assert!(
        same(&off, &loyal),
        "a review that changes no seat changes nothing"
    );
    let (_, _, leaving) = run(&scenario("[model.leadership]\nenabled = true\n"), 20);
    assert!(!same(&off, &leaving));
    // Willingness 20 on the logit scale: logistic(20) is 1 in single precision, so every holder
    // stays. Nothing differs before the first review, at tick 12.
    let until = |a: &EnsembleSummary, b: &EnsembleSummary, t: usize| {
        (0..METRICS.len())
            .all(|m| a.population_at(t, m).mean.to_bits() == b.population_at(t, m).mean.to_bits())
    };
    assert!((0..12).all(|t| until(&off, &leaving, t)));
}

#[test]
fn a_bad_leadership_value_exits_2_naming_its_key() {
    let dir = std::env::temp_dir().join(format!("ccgsim-leadership-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (key, line) in [
        ("model.leadership.review_every", "review_every = 0"),
        (
            "model.leadership.vacancy_influence",
            "vacancy_influence = 3.0",
        ),
        (
            "model.leadership.outside_per_year",
            "outside_per_year = -1.0",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(
            &path,
            format!(
                "months = 12\n{}[model.leadership]\nenabled = true\n{line}\n",
                one_ccg(10)
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ccgsim"))
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(":7"), "the line of {key}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

//! One test per mechanism (docs/ODD.md section 7): on a small scenario, with enough replicates that
//! the difference lies far outside the 95% intervals, the mechanism moves buy-in the way the
//! sources say, and switching it off removes (or shrinks) the effect.

use crate::common::{assert_below, last, one_ccg, run};

const REPS: u32 = 200;

/// A three-year run of one 60-practice CCG with the given extra TOML.
fn scenario(extra: &str) -> String {
    format!("months = 36\nseed = 7\n{extra}\n{}", one_ccg(60))
}

fn only(action: &str, rate: f64, target: &str) -> String {
    let mut s = String::from("[policy]\n");
    for a in ["training", "data_review", "targets", "sanctions"] {
        let r = if a == action { rate } else { 0.0 };
        s.push_str(&format!("{a} = {{ rate = {r}, target = \"{target}\" }}\n"));
    }
    s
}

#[test]
fn m1_sanctions_end_with_lower_trust_than_training() {
    let (_, _, sanctions) = run(&scenario(&only("sanctions", 0.3, "all")), REPS);
    let (_, _, training) = run(&scenario(&only("training", 0.3, "all")), REPS);
    assert_below(
        "mean_trust",
        &last(&sanctions, "mean_trust"),
        &last(&training, "mean_trust"),
        3.0,
    );
    assert_below(
        "engaged_share",
        &last(&sanctions, "engaged_share"),
        &last(&training, "engaged_share"),
        3.0,
    );
    // Support for sanctions itself falls among practices that lose trust.
    assert_below(
        "support_sanctions",
        &last(&sanctions, "support_sanctions"),
        &last(&training, "support_sanctions"),
        1.0,
    );
}

#[test]
fn m1_illegitimate_control_costs_more_trust_than_support_builds() {
    let (_, _, none) = run(&scenario(&only("training", 0.0, "all")), REPS);
    let (_, _, training) = run(&scenario(&only("training", 0.3, "all")), REPS);
    let (_, _, targets) = run(&scenario(&only("targets", 0.3, "all")), REPS);
    let base = last(&none, "mean_trust").mean;
    let gain = last(&training, "mean_trust").mean - base;
    let loss = base - last(&targets, "mean_trust").mean;
    assert!(
        gain > 0.0 && loss > 2.0 * gain,
        "gain {gain:.4}, loss {loss:.4}"
    );
}

#[test]
fn m1_the_effect_of_sanctions_lingers_after_they_stop() {
    // Sanctions only while the CCG is delegated (first 12 months), then none: 18 months after
    // they stop, trust is still below a CCG that never sanctioned.
    let policy = "[policy]\ntraining = { rate = 0.0 }\ndata_review = { rate = 0.0 }\nsanctions = { rate = 0.5, min_level = \"delegated\" }\n";
    let timeline = "commissioning = [{ from = \"2013-04\", level = \"delegated\" }, { from = \"2014-04\", level = \"none\" }]\n";
    let sanctioned = format!("months = 30\nseed = 7\n{policy}{}{timeline}", one_ccg(60));
    let never = format!(
        "months = 30\nseed = 7\n{}{}",
        policy.replace("rate = 0.5", "rate = 0.0"),
        one_ccg(60)
    );
    let (_, _, s) = run(&sanctioned, REPS);
    let (_, _, n) = run(&never, REPS);
    assert_below(
        "mean_trust 18 months after",
        &last(&s, "mean_trust"),
        &last(&n, "mean_trust"),
        3.0,
    );
    // Without the mechanism there is nothing to linger.
    let off = "[model.acceptability]\nenabled = false\n";
    let (_, _, s_off) = run(&format!("{sanctioned}{off}"), REPS);
    let (_, _, n_off) = run(&format!("{never}{off}"), REPS);
    let gap_off = (last(&n_off, "mean_trust").mean - last(&s_off, "mean_trust").mean).abs();
    assert!(gap_off < 0.005, "acceptability off: gap {gap_off:.4}");
}

#[test]
fn m2_a_formal_role_raises_positive_views() {
    let (_, _, on) = run(&scenario(""), REPS);
    assert_below(
        "positive: no role vs governing body",
        &last(&on, "positive_share_no_role"),
        &last(&on, "positive_share_governing_body"),
        3.0,
    );
    assert_below(
        "influence: no role vs formal role",
        &last(&on, "influence_share_no_role"),
        &last(&on, "influence_share_formal_role"),
        3.0,
    );
    let (_, _, off) = run(&scenario("[model.roles]\nenabled = false\n"), REPS);
    let gap =
        |s| last(s, "positive_share_governing_body").mean - last(s, "positive_share_no_role").mean;
    assert!(
        gap(&off) < gap(&on) / 3.0,
        "gap with roles {:.3}, without {:.3}",
        gap(&on),
        gap(&off)
    );
}

#[test]
fn m3_peer_influence_narrows_differences_within_localities() {
    let (_, _, on) = run(&scenario(""), REPS);
    let (_, _, off) = run(&scenario("[model.peers]\nenabled = false\n"), REPS);
    assert_below(
        "sd_engagement",
        &last(&on, "sd_engagement"),
        &last(&off, "sd_engagement"),
        3.0,
    );
    assert_below(
        "sd_trust",
        &last(&on, "sd_trust"),
        &last(&off, "sd_trust"),
        3.0,
    );
}

#[test]
fn m4_larger_ccgs_have_a_lower_influence_share() {
    let small = format!("months = 36\nseed = 7\n{}", one_ccg(15));
    let large = format!("months = 36\nseed = 7\n{}", one_ccg(120));
    let (_, _, s) = run(&small, REPS);
    let (_, _, l) = run(&large, REPS);
    assert_below(
        "influence_share_no_role",
        &last(&l, "influence_share_no_role"),
        &last(&s, "influence_share_no_role"),
        3.0,
    );
    assert_below(
        "influence_share",
        &last(&l, "influence_share"),
        &last(&s, "influence_share"),
        3.0,
    );
    // Turning the size effect off shrinks the difference among no-role members.
    let off = "[model.size]\nenabled = false\n";
    let (_, _, s_off) = run(&format!("{small}{off}"), REPS);
    let (_, _, l_off) = run(&format!("{large}{off}"), REPS);
    let gap =
        |a, b| last(a, "influence_share_no_role").mean - last(b, "influence_share_no_role").mean;
    assert!(gap(&s_off, &l_off) < gap(&s, &l) / 2.0);
}

#[test]
fn m5_top_down_control_lowers_influence_and_engagement() {
    let control =
        |v: f64| format!("[nhs_england]\ntop_down = [{{ from = \"2013-04\", value = {v} }}]\n");
    let (_, _, high) = run(&scenario(&control(0.8)), REPS);
    let (_, _, low) = run(&scenario(&control(0.0)), REPS);
    assert_below(
        "influence_share",
        &last(&high, "influence_share"),
        &last(&low, "influence_share"),
        3.0,
    );
    assert_below(
        "engaged_share",
        &last(&high, "engaged_share"),
        &last(&low, "engaged_share"),
        3.0,
    );
    // CCG autonomy absorbs part of the control.
    let (_, _, shielded) = run(
        &scenario(&format!("{}[ccg_defaults]\nautonomy = 0.9\n", control(0.8))),
        REPS,
    );
    assert_below(
        "influence_share vs autonomy",
        &last(&high, "influence_share"),
        &last(&shielded, "influence_share"),
        3.0,
    );
}

#[test]
fn m6_meeting_and_paperwork_burden_lowers_engagement() {
    let load = "[model.burden]\nlevel_load = { none = 0.8, greater_involvement = 0.8, joint = 0.8, delegated = 0.8 }\n";
    let (_, _, heavy) = run(&scenario(load), REPS);
    let (_, _, normal) = run(&scenario(""), REPS);
    assert_below(
        "engaged_share",
        &last(&heavy, "engaged_share"),
        &last(&normal, "engaged_share"),
        3.0,
    );
    assert_below(
        "burden_positive_share",
        &last(&heavy, "burden_positive_share"),
        &last(&normal, "burden_positive_share"),
        3.0,
    );
}

#[test]
fn m7_delegation_conflicts_framing_and_lay_majority() {
    let delegated = "commissioning = [{ from = \"2013-04\", level = \"delegated\" }]\n";
    let joint = "commissioning = [{ from = \"2013-04\", level = \"joint\" }]\n";
    let base = |policy: &str, ccg_extra: &str| {
        format!("months = 36\nseed = 7\n{policy}{}{ccg_extra}", one_ccg(60))
    };
    let pm = only("targets", 0.3, "all");
    // Badly managed conflicts of interest make performance management cost more trust.
    let (_, _, bad) = run(
        &base(&pm, &format!("{delegated}conflict_management = 0.0\n")),
        REPS,
    );
    let (_, _, good) = run(
        &base(&pm, &format!("{delegated}conflict_management = 1.0\n")),
        REPS,
    );
    assert_below(
        "trust: poor vs good conflict management",
        &last(&bad, "mean_trust"),
        &last(&good, "mean_trust"),
        3.0,
    );
    // Framing performance management as peer support softens it.
    let (_, _, framed) = run(
        &base(&pm, &format!("{delegated}framing = \"peer_support\"\n")),
        REPS,
    );
    let (_, _, plain) = run(
        &base(
            &pm,
            &format!("{delegated}framing = \"performance_management\"\n"),
        ),
        REPS,
    );
    assert_below(
        "trust: plain vs peer-support framing",
        &last(&plain, "mean_trust"),
        &last(&framed, "mean_trust"),
        3.0,
    );
    // A lay/executive-majority committee (delegated) leaves members less voice than joint.
    let none = only("training", 0.0, "all");
    let (_, _, d) = run(&base(&none, delegated), REPS);
    let (_, _, j) = run(&base(&none, joint), REPS);
    assert_below(
        "influence: delegated vs joint",
        &last(&d, "influence_share"),
        &last(&j, "influence_share"),
        3.0,
    );
}

#[test]
fn m8_budget_limits_support() {
    let policy = only("training", 0.5, "all");
    let (_, _, poor) = run(
        &scenario(&format!("{policy}[ccg_defaults]\nsupport_budget = 0.05\n")),
        REPS,
    );
    let (_, _, rich) = run(
        &scenario(&format!("{policy}[ccg_defaults]\nsupport_budget = 5.0\n")),
        REPS,
    );
    assert_below(
        "actions_training",
        &last(&poor, "actions_training"),
        &last(&rich, "actions_training"),
        3.0,
    );
    assert!(last(&poor, "actions_rationed").mean > 0.0);
    assert_eq!(last(&rich, "actions_rationed").mean, 0.0);
    assert_below(
        "mean_trust",
        &last(&poor, "mean_trust"),
        &last(&rich, "mean_trust"),
        2.0,
    );
    // The cost reported is within the month's budget.
    let (_, p, _) = run(
        &scenario(&format!("{policy}[ccg_defaults]\nsupport_budget = 0.05\n")),
        2,
    );
    let budget = 0.05 * p.patients() as f64 / 12.0;
    assert!(last(&poor, "cost_training").mean <= budget + 1e-6);
}

#[test]
fn m9_actions_change_quality_only_modestly() {
    let (_, _, none) = run(&scenario(&only("training", 0.0, "all")), REPS);
    let (_, _, review) = run(&scenario(&only("data_review", 0.2, "all")), REPS);
    let gain = last(&review, "mean_quality").mean - last(&none, "mean_quality").mean;
    assert_below(
        "mean_quality",
        &last(&none, "mean_quality"),
        &last(&review, "mean_quality"),
        3.0,
    );
    // Audit and feedback: a few percentage points, not more.
    assert!((0.005..=0.06).contains(&gain), "quality gain {gain:.4}");
    let (_, _, off) = run(
        &scenario(&format!(
            "{}[model.quality]\nenabled = false\n",
            only("data_review", 0.2, "all")
        )),
        REPS,
    );
    let (_, _, off_none) = run(
        &scenario(&format!(
            "{}[model.quality]\nenabled = false\n",
            only("training", 0.0, "all")
        )),
        REPS,
    );
    let gain_off = last(&off, "mean_quality").mean - last(&off_none, "mean_quality").mean;
    assert!(gain_off.abs() < 0.002, "quality off: gain {gain_off:.4}");
}

#[test]
fn escalation_ladder_keeps_more_trust_than_sanctioning_every_underperformer() {
    let ladder = "[policy]\ntraining = { rate = 0.0 }\ndata_review = { rate = 0.0 }\n[policy.escalation]\nladder = [\"training\", \"data_review\", \"targets\", \"sanctions\"]\n";
    let blunt = only("sanctions", 1.0 / 3.0, "underperformers");
    let (_, _, l) = run(&scenario(ladder), REPS);
    let (_, _, b) = run(&scenario(&blunt), REPS);
    assert_below(
        "mean_trust: blunt vs ladder",
        &last(&b, "mean_trust"),
        &last(&l, "mean_trust"),
        3.0,
    );
    assert!(last(&l, "actions_training").mean > 0.0);
}

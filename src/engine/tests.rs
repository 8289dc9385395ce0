//! Tests of the engine: alignment of the draws, vector against portable code, the mix's rates,
//! the budget, roles.

use super::environment::Environment;
use super::initialise::initialise;
use super::mix::Mix;
use super::month::month_terms;
use super::responses::{Responses, apply_actions, respond_all, respond_recipients};
use super::tally::{state_sums, sum, sum_sq};
use super::workspace::{Draws, Workspace};
use super::{empty_tallies, simulate_ccg};
use crate::metrics::{Tally, tally as ix};
use crate::model::policy::{ActionPlan, Target};
use crate::model::practice::Practices;
use crate::population::Population;
use crate::rng::{LANES, Lanes, Purpose, stream};
use crate::scenario::Scenario;
use std::path::Path;

fn small(extra: &str) -> Scenario {
    sized(40, extra)
}

/// [`small`] with `practices` practices.
fn sized(practices: usize, extra: &str) -> Scenario {
    let text = format!(
        "months = 24\nreplicates = 1\n[[ccgs]]\nid = \"a\"\npractices = {practices}\n{extra}"
    );
    Scenario::parse(&text, Path::new("t.toml")).unwrap()
}

fn run(s: &Scenario, replicate: u32) -> Vec<Tally> {
    let pop = Population::build(s);
    let env = Environment::new(s);
    let mut out = empty_tallies(s);
    simulate_ccg(
        s,
        &env,
        &pop.ccgs[0],
        replicate,
        &mut Workspace::default(),
        &mut out,
    );
    out
}

/// Every month consumes the same random numbers whatever the policy (ODD 4.9). A rate so
/// small that it rounds to no practice at all puts the mix in force without changing any
/// state, so a run with it is the run with no action at all only if the draws stay aligned.
#[test]
fn draws_stay_aligned_whether_or_not_an_action_is_in_force() {
    let none = "[policy]\ntraining = { rate = 0.0 }\ndata_review = { rate = 0.0 }\n\
                targets = { rate = 0.0 }\nsanctions = { rate = 0.0 }\n";
    // The CCG is delegated from 2014-01 in both runs of the second pair.
    let delegated = "[[ccgs.commissioning]]\nfrom = \"2014-01\"\nlevel = \"delegated\"\n";
    for (base, variant) in [
        (
            none.to_string(),
            none.replace("training = { rate = 0.0 }", "training = { rate = 1e-12 }"),
        ),
        (
            none.to_string() + delegated,
            none.replace(
                "sanctions = { rate = 0.0 }",
                "sanctions = { rate = 1e-12, min_level = \"delegated\" }",
            ) + delegated,
        ),
    ] {
        let (base, other) = (small(&base), small(&variant));
        for r in 0..3 {
            assert_eq!(run(&base, r), run(&other, r), "replicate {r} of\n{variant}");
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn vector_draws_are_the_portable_draws() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    let mut lanes = Lanes::from_stream(&mut stream(3, Purpose::Unit, 0, 0));
    let mut same = lanes.clone();
    let (mut a, mut b) = (Draws::default(), Draws::default());
    for n in [1, 8, 13, 40] {
        a.fill(n, &mut lanes);
        // SAFETY: AVX2 is available, checked above.
        unsafe { b.fill_avx2(n, &mut same) };
        assert_eq!(a.shock_trust, b.shock_trust);
        assert_eq!(a.shock_engagement, b.shock_engagement);
        assert_eq!(a.answer, b.answer);
    }
    assert!(a.shock_trust.iter().all(|x| (-1.0..1.0).contains(x)));
    assert_eq!(lanes.step(), same.step());
}

#[test]
fn the_mix_gives_each_eligible_practice_each_action_at_its_rate() {
    let mut plans = [ActionPlan::default(); 4];
    plans[0].rate = 0.3;
    plans[1].rate = 0.02;
    plans[2].rate = 1.0;
    plans[3] = ActionPlan {
        rate: 0.5,
        target: Target::Underperformers,
        ..ActionPlan::default()
    };
    let mix = Mix::new(&plans);
    let n: usize = 400_003;
    // Every third practice underperforms.
    let quality: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { 0.5 } else { 0.9 }).collect();
    let mut lanes = Lanes::from_stream(&mut stream(4, Purpose::Unit, 0, 0));
    let mut same = lanes.clone();
    let mut actions = vec![0u8; n.div_ceil(LANES) * LANES];
    mix.draw(&quality, 0.7, &mut lanes, &mut actions);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let mut vector = vec![0u8; actions.len()];
        // SAFETY: AVX2 is available, checked above.
        unsafe { mix.draw_avx2(&quality, 0.7, &mut same, &mut vector) };
        assert_eq!(actions, vector);
        assert_eq!(lanes.step(), same.step());
    }
    let share = |f: &dyn Fn(usize, u8) -> bool, of: &dyn Fn(usize) -> bool| {
        let hits = (0..n).filter(|&i| of(i) && f(i, actions[i])).count();
        hits as f64 / (0..n).filter(|&i| of(i)).count() as f64
    };
    let all = |_| true;
    let bit = |k: u8| move |_, m: u8| m & (1 << k) != 0;
    // Binomial standard errors: 0.0007, 0.0002, 0 and 0.0014.
    assert!((share(&bit(0), &all) - 0.3).abs() < 0.004);
    assert!((share(&bit(1), &all) - 0.02).abs() < 0.001);
    assert_eq!(share(&bit(2), &all), 1.0);
    assert!((share(&bit(3), &|i| i % 3 == 0) - 0.5).abs() < 0.007);
    assert_eq!(share(&bit(3), &|i| i % 3 != 0), 0.0);
    // Independent actions: P(both) = 0.3 * 0.02 (standard error 0.00012).
    let both = share(&|_, m| m & 3 == 3, &all);
    assert!((both - 0.006).abs() < 0.0008, "both {both}");
    // Independent practices: the share right after a recipient is the rate again.
    let after = share(&|i, _| actions[i + 1] & 1 != 0, &|i| {
        i + 1 < n && actions[i] & 1 != 0
    });
    assert!((after - 0.3).abs() < 0.008, "after {after}");
    // Nothing is drawn for the padding.
    assert!(actions[n..].iter().all(|&m| m == 0));
}

#[test]
fn responses_one_by_one_gathered_and_all_at_once_agree() {
    // 40 practices (one batch of recipients) and 300 (several, the last one partial), with
    // every practice or one in three receiving something.
    for (practices, every) in [(40, 1), (300, 1), (300, 3)] {
        let s = sized(
            practices,
            "[model.delegation]\npeer_support_framing = 0.4\n",
        );
        let pop = Population::build(&s);
        let env = Environment::new(&s);
        let month = month_terms(&s, &env, &pop.ccgs[0], 0, 3, pop.ccgs[0].levels[3]);
        let responses = Responses::new(&s.model, &month);
        let mut rng = stream(7, Purpose::Unit, 0, 0);
        let mut pr = Practices::default();
        let mut bounds = Vec::new();
        initialise(&s, &env, &pop.ccgs[0], &mut rng, &mut pr, &mut bounds, None);
        assert_eq!(pr.len(), practices);
        for (i, w) in pr.trust_factor.iter_mut().enumerate() {
            *w = 0.5 + (i % 7) as f32 * 0.2;
        }
        pr.sanction_memory[5] = 2.0;
        let before = pr.trust.clone();
        let actions: Vec<u8> = (0..pr.padded_len())
            .map(|i| {
                if i < pr.len() && i % every == 0 {
                    (i * 7 % 16) as u8
                } else {
                    0
                }
            })
            .collect();
        let mut one_by_one = pr.clone();
        for (i, &mask) in actions[..pr.len()].iter().enumerate() {
            apply_actions(&responses, mask, &mut one_by_one, i);
        }
        let mut gathered = pr.clone();
        respond_recipients(&responses, &actions, &mut gathered);
        respond_all(&responses, &actions, &mut pr);
        for other in [&pr, &gathered] {
            assert_eq!(one_by_one.trust, other.trust);
            assert_eq!(one_by_one.engagement, other.engagement);
            assert_eq!(one_by_one.quality, other.quality);
            assert_eq!(one_by_one.sanction_memory, other.sanction_memory);
            assert_eq!(one_by_one.burden, other.burden);
        }
        // Something happened: sanctions (bit 3) were received and remembered.
        assert!(pr.sanction_memory.iter().sum::<f32>() > 2.0);
        assert_ne!(pr.trust, before);
    }
}

#[test]
fn state_sums_are_the_lane_sums() {
    let env_s = small("");
    let pop = Population::build(&env_s);
    let env = Environment::new(&env_s);
    let mut pr = Practices::default();
    let mut bounds = Vec::new();
    for replicate in 0..3 {
        let mut rng = stream(7, Purpose::Unit, replicate, 0);
        initialise(
            &env_s,
            &env,
            &pop.ccgs[0],
            &mut rng,
            &mut pr,
            &mut bounds,
            None,
        );
        // 40 practices; also check a length that is not a multiple of 4.
        for n in [40, 37] {
            let mut cut = pr.clone();
            cut.clear();
            cut.engagement.extend_from_slice(&pr.engagement[..n]);
            cut.trust.extend_from_slice(&pr.trust[..n]);
            cut.influence.extend_from_slice(&pr.influence[..n]);
            cut.quality.extend_from_slice(&pr.quality[..n]);
            cut.burden.extend_from_slice(&pr.burden[..n]);
            for c in [
                &mut cut.sanction_memory,
                &mut cut.own_quality,
                &mut cut.trust_anchor,
                &mut cut.engagement_anchor,
                &mut cut.influence_anchor,
                &mut cut.load_anchor,
                &mut cut.view_anchor,
            ] {
                c.resize(n, 0.0);
            }
            cut.pad(n);
            let (e, t) = (&cut.engagement[..n], &cut.trust[..n]);
            let expected = [
                sum(e),
                sum_sq(e),
                sum(t),
                sum_sq(t),
                sum(&cut.influence[..n]),
                sum(&cut.quality[..n]),
                sum(&cut.burden[..n]),
            ];
            assert_eq!(state_sums(&cut), expected);
        }
    }
}

#[test]
fn practices_are_conserved_and_shares_bounded() {
    let s = small("[policy]\nsanctions = { rate = 0.3 }\ntargets = { rate = 0.3 }\n");
    for t in run(&s, 0) {
        assert_eq!(t[ix::PRACTICES], 40.0);
        assert_eq!(
            t[ix::GOVERNING_BODY] + t[ix::NO_ROLE] + (t[ix::FORMAL_ROLE] - t[ix::GOVERNING_BODY]),
            40.0
        );
        for i in [
            ix::ENGAGED,
            ix::INFLUENCE,
            ix::POSITIVE_ALL,
            ix::SUM_TRUST,
            ix::SUM_QUALITY,
        ] {
            assert!((0.0..=40.0).contains(&t[i]));
        }
        assert!(t[ix::HIGHLY_ENGAGED] <= t[ix::ENGAGED]);
    }
}

#[test]
fn same_unit_same_result_other_replicate_other_result() {
    let s = small("");
    assert_eq!(run(&s, 3), run(&s, 3));
    assert_ne!(run(&s, 3), run(&s, 4));
}

#[test]
fn a_zero_budget_rations_every_action() {
    let s = small(
        "[policy]\ntraining = { rate = 1.0 }\ndata_review = { rate = 0.0 }\n[ccg_defaults]\nsupport_budget = 0.0\n",
    );
    let out = run(&s, 0);
    assert_eq!(out[5][ix::ACTIONS], 0.0);
    assert_eq!(out[5][ix::RATIONED], 40.0);
}

#[test]
fn governing_body_seats_and_locality_leads_are_assigned() {
    let s = small("");
    let t = &run(&s, 0)[0];
    assert_eq!(t[ix::GOVERNING_BODY], 6.0);
    // 40 practices in 5 localities: one lead each.
    assert_eq!(t[ix::FORMAL_ROLE], 11.0);
}

/// Surveying only the ticks a caller reads (ODD 3) gives those ticks' tallies bit for bit, with
/// sampled and expected answers, with every mechanism that reads a CCG's own survey (adaptation,
/// the choice of a level) and with mergers, leaders and expectations: what the model reads
/// itself is computed whatever is observed.
#[test]
fn observing_some_ticks_gives_those_ticks_exactly() {
    use super::{Observed, simulate_group, simulate_group_observing};
    use crate::population::MergerPlan;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let extras = [
        "",
        "[model.adaptation]\nenabled = true\n",
        "[model.leadership]\nenabled = true\n[model.expectations]\nenabled = true\n",
    ];
    let (mut compared, mut unobserved, mut rationed, mut seats) = (0, 0, 0, 0);
    for name in ["escalation", "england_2013_2017", "england_mergers"] {
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        for extra in extras {
            for answers in ["sampled", "expected"] {
                // The survey table is appended only if the scenario has none.
                assert!(!text.contains("[model.survey]"));
                let full = format!("{text}\n{extra}[model.survey]\nanswers = \"{answers}\"\n");
                let s = Scenario::parse(&full, &path).unwrap();
                let ticks = s.months as usize + 1;
                let observed: Vec<u32> = vec![0, 5, 6, s.months];
                let pop = Population::for_replicate(&s, &Population::build(&s), 1).into_owned();
                let env = Environment::new(&s);
                let plan = MergerPlan::new(&s, &pop);
                let mut ws = Workspace::default();
                for (group, mergers) in plan.groups.iter().zip(&plan.mergers).take(40) {
                    let ccgs = &pop.ccgs[group.clone()];
                    let mut every = vec![[0.0; crate::metrics::TALLY_LEN]; ccgs.len() * ticks];
                    let mut some = every.clone();
                    simulate_group(&s, &env, ccgs, mergers, 1, &mut ws, &mut every);
                    let o = Observed::Ticks(&observed);
                    simulate_group_observing(&s, &env, ccgs, mergers, 1, &mut ws, &mut some, o);
                    for (c, (a, b)) in every.chunks(ticks).zip(some.chunks(ticks)).enumerate() {
                        for &t in &observed {
                            let (a, b) = (a[t as usize], b[t as usize]);
                            let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(same, "{name} {extra:?} {answers}: CCG {c}, tick {t}");
                            compared += 1;
                        }
                        // An unobserved tick has no survey in it (unless, with sampled
                        // answers, the CCG read its own), and exactly what every month adds:
                        // what the action, cost, rationing and vacancy metrics read
                        // (`Metric::needs_survey`).
                        for t in (0..ticks as u32).filter(|t| !observed.contains(t)) {
                            let (a, b) = (a[t as usize], b[t as usize]);
                            let own = b[ix::PRACTICES] != 0.0;
                            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                                let want = if own || ix::every_month(i) { *x } else { 0.0 };
                                assert_eq!(
                                    y.to_bits(),
                                    want.to_bits(),
                                    "{name} {extra:?} {answers}: CCG {c}, tick {t}, entry {i}"
                                );
                            }
                            unobserved += !own as u32;
                            rationed += (b[ix::RATIONED] > 0.0) as u32;
                            seats += (b[ix::GOVERNING_BODY_SEATS] > 0.0) as u32;
                        }
                    }
                }
            }
        }
    }
    assert!(compared > 1000, "{compared} tallies compared");
    // The unobserved ticks held something to compare: rationed actions and seats.
    assert!(
        unobserved > 10_000 && rationed > 0 && seats > 0,
        "{unobserved} {rationed} {seats}"
    );
}

/// The metrics that need no survey are those whose entries every month's tally holds, and they
/// include every action, cost and rationing count.
#[test]
fn action_and_vacancy_metrics_need_no_survey() {
    use crate::metrics::{METRICS, metric_index};
    let unsurveyed: Vec<&str> = METRICS
        .iter()
        .filter(|m| !m.needs_survey())
        .map(|m| m.name)
        .collect();
    for name in ["actions_rationed", "cost_sanctions", "lead_vacancy_share"] {
        assert!(unsurveyed.contains(&name), "{name}: {unsurveyed:?}");
    }
    for name in [
        "engaged_share",
        "mean_trust",
        "practices",
        "ccgs",
        "sd_trust",
    ] {
        assert!(
            METRICS[metric_index(name).unwrap()].needs_survey(),
            "{name}"
        );
    }
    assert_eq!(unsurveyed.len(), 11, "{unsurveyed:?}");
}

#[test]
fn expected_answers_are_exact_over_several_chunks() {
    use super::adjustment::Constants;
    use super::survey::{Counts, expected_loop, units};
    use crate::model::submodels::{answer_probability, support, trust_factor};
    // 150,000 practices: several chunks of the loop's 32-bit sums, and totals of 2^-16 units
    // beyond what 32 bits hold.
    let s = sized(150_000, "");
    let pop = Population::build(&s);
    let env = Environment::new(&s);
    let mut rng = stream(7, Purpose::Unit, 0, 0);
    let mut pr = Practices::default();
    let mut bounds = Vec::new();
    initialise(&s, &env, &pop.ccgs[0], &mut rng, &mut pr, &mut bounds, None);
    let c = Constants::new(&s.model);
    let mut factor = pr.trust_factor.clone();
    let mut out = Counts::default();
    expected_loop(&c, &mut factor, &pr, &mut out);
    // The reference: 64-bit sums, practice by practice.
    let n = pr.len();
    let engaged: u64 = (0..n)
        .map(|i| units(answer_probability(pr.engagement[i], c.exp_engaged)) as u64)
        .sum();
    let support_training: u64 = (0..n)
        .map(|i| {
            let w = trust_factor(pr.trust[i], c.trust_base, c.trust_coupling, true);
            units(support(pr.attitude_odds[0][i], w)) as u64
        })
        .sum();
    let prescribing: u64 = (0..n)
        .map(|i| {
            units(answer_probability(
                pr.trust[i],
                c.exp_legitimate_prescribing,
            )) as u64
        })
        .sum();
    assert!(engaged > u32::MAX as u64, "engaged {engaged}");
    assert_eq!(out.practices, n as f64);
    assert_eq!(out.engaged, engaged as f64 / 65_536.0);
    assert_eq!(out.support[0], support_training as f64 / 65_536.0);
    assert_eq!(out.expected[1], prescribing as f64 / 65_536.0);
    // The trust factors are every practice's.
    assert_eq!(
        factor[n - 1],
        trust_factor(pr.trust[n - 1], c.trust_base, c.trust_coupling, true)
    );
}

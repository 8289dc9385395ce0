//! The engine: runs one CCG for one replicate, month by month, on its own RNG stream, and tallies
//! what a survey of its members would find each month. Equation labels refer to `docs/ODD.md`.
//!
//! A month has three phases (ODD 3): the CCG's actions (which practices are called for, then the
//! budget, spent in order from a random start only when it binds, then each practice's
//! response); the monthly adjustment of every state; and the survey. Each is written as
//! straight-line arithmetic over columns of practice state, padded to whole blocks of eight, so
//! the compiler processes several practices per instruction; each is compiled for every
//! [`Simd`] level, with the same bits. The bulk random numbers come from eight generator lanes
//! (`rng::Lanes`) in a fixed layout per block of eight practices, so their use does not depend on
//! how the arithmetic is vectorised.
//!
//! # Where things live
//!
//! | File | What it holds | ODD |
//! |---|---|---|
//! | `mod.rs` | [`simulate_ccg`], [`simulate_group`]: the monthly schedule; the phases 2 and 3 dispatch (`vector_phases`); the `multiversioned!` macro | 3 |
//! | `environment.rs` | [`Environment`]: what is fixed for a run (NHS England's schedules, the policy at each level) | 7.5, 7.8, 7.11 |
//! | `mix.rs` | `Mix`: the fixed mix of actions and its monthly draw (portable and AVX2) | 7.11 (P1), 4.9 |
//! | `workspace.rs` | [`Workspace`], `Peers`, `Draws`: per-thread buffers and the random draws of a month | 4.9 |
//! | `month.rs` | `Month`, `month_terms`: the month's CCG-wide terms (T1, Z1, B1, ...) | 7.0, 7.4, 7.5, 7.7, 7.8 |
//! | `initialise.rs` | `initialise`, `initial_states`: practices, roles, localities, initial states | 5.1, 7.2 |
//! | `actions.rs` | Phase 1: `act` (the mix, the escalation ladder's reviews, the budget), `pay_for` (B2) | 3, 7.8, 7.11 |
//! | `responses.rs` | `Responses`, `respond`: each practice's response (A2-A5, G1, Q1), one by one (`apply_actions`), for every practice (`respond_all`) or for the recipients gathered in batches (`respond_recipients`) | 7.1, 7.6, 7.7, 7.9 |
//! | `leadership.rs` | `Leaders`, `Seats`: seat holders who walk away, vacant seats offered, vacancies lowering influence (L1-L6) | 7.15 |
//! | `adjustment.rs` | Phase 2: `locality_means` (peers), `Constants`, `MonthConstants`, `adjust` (A5, G2, D4-D7, Q2) | 7.0, 7.1, 7.3, 7.6, 7.9 |
//! | `survey.rs` | Phase 3: `Counts`, `hit`, `survey`: sampled (`survey_loop`) or expected (`expected_loop`) answers (S1-S7) | 7.10 |
//! | `choice.rs` | `Rounds`, `Choice`: CCGs that choose their co-commissioning level at NHS England's rounds (C1-C3) | 7.16 |
//! | `mergers.rs` | `PracticeMergers`, `CcgRun::absorb`: practices that merge within their locality, CCGs that merge (M1-M6) | 7.17 |
//! | `tally.rs` | The tally written each month: `Counts::add_to`, `state_sums`, [`empty_tallies`] | 7.10 |
//! | `tests.rs` | The engine's unit tests | |
//!
//! A mechanism is switched off by its `enabled` flag in `[model.*]` of a scenario; the engine
//! folds a switched-off mechanism in as a zero effect where its constants are built
//! (`Responses::new`, `Constants::new`, `MonthConstants::new`, `month_terms`, `initial_states`).

use std::borrow::Cow;

use rand::RngExt;

use crate::metrics::Tally;
use crate::model::practice::Practices;
use crate::population::{Ccg, Merger};
use crate::rng::{LANES, Lanes, ModelRng, Purpose, stream};
use crate::scenario::Scenario;
use crate::simd::Simd;

/// Define `$name`, which runs `$body` (an `#[inline(always)]` function) compiled for the
/// process's [`Simd`] level: the portable build, or a copy compiled for AVX2 or AVX-512. Every copy
/// gives the same bits (see `crate::simd`).
macro_rules! multiversioned {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                match Simd::get() {
                    // SAFETY: `Simd::get` gives a level only if the processor supports it.
                    Simd::Avx512 => return unsafe { avx512($($arg),*) },
                    Simd::Avx2 => return unsafe { avx2($($arg),*) },
                    Simd::Portable => {}
                }
            }
            $body($($arg),*)
        }
    };
}

mod actions;
mod adaptation;
mod adjustment;
mod choice;
mod environment;
mod expectations;
mod initialise;
mod leadership;
mod mergers;
mod mix;
mod month;
mod responses;
mod survey;
mod tally;
mod workspace;

#[cfg(test)]
mod tests;

pub use environment::Environment;
pub use tally::empty_tallies;
pub use workspace::Workspace;

use actions::act;
use adaptation::Adapted;
use adjustment::{Constants, MonthConstants, adjust_simd, locality_means};
use choice::Choice;
use expectations::Expectations;
use initialise::{Dispositions, initialise};
use leadership::{Leaders, Seats, Terms as LeaderTerms};
use mergers::PracticeMergers;
use mix::MIX_STEPS;
use month::month_terms;
use survey::{Counts, survey_simd, trust_factors_simd};
use workspace::{Draws, Peers};

/// Simulate CCG `ccg` in replicate `replicate` and add each tick's survey tally to `out[tick]`
/// (`out.len()` must be `months + 1`).
pub fn simulate_ccg(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    replicate: u32,
    ws: &mut Workspace,
    out: &mut [Tally],
) {
    simulate_ccg_observing(scenario, env, ccg, replicate, ws, out, Observed::Every)
}

/// [`simulate_ccg`] with the survey taken only at the ticks `observed` names (ODD 3): the tallies
/// of those ticks are exactly those of [`simulate_ccg`]; the others hold only the month's action
/// counts and costs and the seats (what phase 1 and the leaders add), not the survey's answers or
/// the state sums. What the model reads itself (the trust factors, a CCG's surveys of its own
/// members) is computed whatever `observed` says, so every state is the same.
pub fn simulate_ccg_observing(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    replicate: u32,
    ws: &mut Workspace,
    out: &mut [Tally],
    observed: Observed,
) {
    debug_assert_eq!(out.len(), scenario.months as usize + 1);
    let mut run = CcgRun::start(scenario, env, ccg, replicate, ws, &mut out[0], observed);
    for tick in 1..=scenario.months {
        run.month(tick, &mut out[tick as usize]);
    }
}

/// The ticks whose survey a caller reads (ODD 3): every tick (a run's time series), or a sorted
/// list (the ticks a sweep's, a calibration's or an optimisation's outputs read).
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    Every,
    Ticks(&'a [u32]),
}

impl Observed<'_> {
    /// Whether the survey of `tick` is read.
    pub fn at(&self, tick: u32) -> bool {
        match self {
            Observed::Every => true,
            Observed::Ticks(ticks) => ticks.binary_search(&tick).is_ok(),
        }
    }
}

/// Simulate a group of consecutive CCGs that merge over the run (ODD 7.17), in replicate
/// `replicate`: each CCG runs on its own streams until it is absorbed, and from the month of a
/// merger the survivor carries the merged CCG on its streams. `mergers` are the group's events
/// with indices into `ccgs`, in the order they happen. CCG `c` of the group adds its tallies to
/// `out[c * ticks..][..ticks]`, `ticks = months + 1`; an absorbed CCG adds nothing from the month
/// it is absorbed. A group of one is [`simulate_ccg`].
pub fn simulate_group(
    scenario: &Scenario,
    env: &Environment,
    ccgs: &[Ccg],
    mergers: &[Merger],
    replicate: u32,
    ws: &mut Workspace,
    out: &mut [Tally],
) {
    simulate_group_observing(
        scenario,
        env,
        ccgs,
        mergers,
        replicate,
        ws,
        out,
        Observed::Every,
    )
}

/// [`simulate_group`] with the survey taken only at the ticks `observed` names, as
/// [`simulate_ccg_observing`] takes it.
#[allow(clippy::too_many_arguments)]
pub fn simulate_group_observing(
    scenario: &Scenario,
    env: &Environment,
    ccgs: &[Ccg],
    mergers: &[Merger],
    replicate: u32,
    ws: &mut Workspace,
    out: &mut [Tally],
    observed: Observed,
) {
    let ticks = scenario.months as usize + 1;
    debug_assert_eq!(out.len(), ccgs.len() * ticks);
    if let [ccg] = ccgs {
        return simulate_ccg_observing(scenario, env, ccg, replicate, ws, out, observed);
    }
    if ws.group.len() < ccgs.len() {
        ws.group.resize_with(ccgs.len(), Workspace::default);
    }
    let mut outs: Vec<&mut [Tally]> = out.chunks_mut(ticks).collect();
    let mut runs: Vec<Option<CcgRun>> = ws
        .group
        .iter_mut()
        .zip(ccgs)
        .zip(outs.iter_mut())
        .map(|((ws, ccg), out)| {
            Some(CcgRun::start(
                scenario,
                env,
                ccg,
                replicate,
                ws,
                &mut out[0],
                observed,
            ))
        })
        .collect();
    for tick in 1..=scenario.months {
        for m in mergers.iter().filter(|m| m.tick == tick) {
            let absorbed = runs[m.absorbed].take().expect("a CCG is absorbed once");
            runs[m.survivor]
                .as_mut()
                .expect("a survivor is not absorbed before it absorbs")
                .absorb(absorbed, tick);
        }
        for (run, out) in runs.iter_mut().zip(outs.iter_mut()) {
            if let Some(run) = run {
                run.month(tick, &mut out[tick as usize]);
            }
        }
    }
}

/// One CCG's run in one replicate, a month at a time: its practices (in `ws`), streams and the
/// state of its mechanisms.
struct CcgRun<'a> {
    scenario: &'a Scenario,
    env: &'a Environment,
    /// The CCG as it is now: its size changes with mergers (ODD 7.17).
    ccg: Cow<'a, Ccg>,
    rng: ModelRng,
    lanes: Lanes,
    ws: &'a mut Workspace,
    leaders: Option<Leaders>,
    /// The seats when leaders cannot walk away (recounted after a merger).
    initial_seats: Seats,
    consts: Constants,
    /// The policy changes that apply to the CCG ([`Environment::changes_for`]).
    changes: u64,
    /// The CCG's last sampled survey of its own members, when answers are expected.
    internal_tally: Tally,
    /// The last month's tally, kept when the CCG chooses its level (ODD 7.16).
    last: Tally,
    /// The CCG's own adaptations (ODD 7.13), and the policy they make of the one in force,
    /// rebuilt only when either changes.
    adapted: Adapted,
    adapted_policy: Option<(u32, u64, environment::RegimePolicy)>,
    /// Members' expectations and sense of support (ODD 7.14), CCG-wide.
    expectations: Expectations,
    /// The CCG's choices of co-commissioning level (ODD 7.16), on a stream of their own.
    choice: Option<Choice>,
    /// Practices that merge (ODD 7.17), on a stream of their own.
    mergers: Option<PracticeMergers>,
    /// The ticks whose survey the caller reads.
    observed: Observed<'a>,
}

impl<'a> CcgRun<'a> {
    /// Initialise the CCG (ODD 5) and take the survey of tick 0 into `out0`.
    fn start(
        scenario: &'a Scenario,
        env: &'a Environment,
        ccg: &'a Ccg,
        replicate: u32,
        ws: &'a mut Workspace,
        out0: &mut Tally,
        observed: Observed<'a>,
    ) -> CcgRun<'a> {
        let p = &scenario.model;
        let mut rng = stream(
            scenario.seed,
            Purpose::Unit,
            replicate as u64,
            ccg.index as u64,
        );
        let lanes = Lanes::from_stream(&mut rng);
        // Leaders who can walk away (ODD 7.15): on a stream of their own, so that every other
        // draw is the same with them or without them.
        let mut dispositions = p.leadership.enabled.then(Dispositions::default);
        initialise(
            scenario,
            env,
            ccg,
            &mut rng,
            &mut ws.practices,
            &mut ws.bounds,
            dispositions.as_mut(),
        );
        let leaders = dispositions.map(|d| {
            let rng = stream(
                scenario.seed,
                Purpose::Leadership,
                replicate as u64,
                ccg.index as u64,
            );
            Leaders::new(p, rng, d, &ws.practices, &ws.bounds)
        });
        let initial_seats = Seats::initial(&ws.practices);
        let consts = Constants::new(p);
        let changes = env.changes_for(&ccg.id);
        let month0 = month_terms(scenario, env, ccg, changes, 0, ccg.levels[0]);
        let mut run = CcgRun {
            scenario,
            env,
            ccg: Cow::Borrowed(ccg),
            rng,
            lanes,
            ws,
            leaders,
            initial_seats,
            consts,
            changes,
            internal_tally: [0.0; crate::metrics::TALLY_LEN],
            last: [0.0; crate::metrics::TALLY_LEN],
            adapted: Adapted::new(),
            adapted_policy: None,
            expectations: Expectations::new(&p.expectations, month0.level),
            choice: Choice::new(scenario, &env.rounds, ccg, replicate),
            mergers: PracticeMergers::new(scenario, ccg, replicate),
            observed,
        };
        let mut counts = Counts::default();
        let mut internal = Counts::default();
        let internal_now = run.internal_at(0);
        let surveyed = run.surveyed_at(0);
        let Workspace {
            practices: pr,
            draws,
            peers,
            ..
        } = &mut *run.ws;
        vector_phases(
            &run.consts,
            None,
            pr,
            draws,
            &mut run.lanes,
            peers,
            surveyed.then_some(&mut counts),
            internal_now.then_some(&mut internal),
        );
        let patients = run.ccg.patients;
        if surveyed {
            counts.add_to(out0, pr, month0.control, month0.level, patients);
        }
        run.initial_seats.add_to(out0);
        if internal_now {
            internal.add_to(
                &mut run.internal_tally,
                pr,
                month0.control,
                month0.level,
                patients,
            );
        }
        if run.choice.is_some() {
            run.last = *out0;
        }
        run
    }

    /// Whether the CCG reads a survey of its own members at the end of `tick` that must be
    /// sampled apart from the output's: the surveys a CCG reads (ODD 7.13, 7.16) are sampled
    /// whatever the output's answers, so with expected answers they are taken as well, in the
    /// months they are read.
    fn internal_at(&self, tick: u32) -> bool {
        self.consts.expected_answers && self.reads_own_survey(tick)
    }

    /// Whether the survey of `tick` goes into the output's tally: when the caller reads it, and
    /// with sampled answers also when the CCG reads it (ODD 7.13, 7.16), since then the CCG reads
    /// the output's own answers.
    fn surveyed_at(&self, tick: u32) -> bool {
        self.observed.at(tick) || !self.consts.expected_answers && self.reads_own_survey(tick)
    }

    /// Whether the CCG reads its members' survey of `tick`: the months its adaptation surveys
    /// them (ODD 7.13), and the month before each round of co-commissioning choices (ODD 7.16).
    fn reads_own_survey(&self, tick: u32) -> bool {
        let adaptation = &self.scenario.model.adaptation;
        adaptation.enabled && tick > 0 && tick % adaptation.survey_every == 0
            || self.choice.is_some() && self.env.rounds.contains(tick + 1)
    }

    /// Month `tick` (ODD 3), its tally added to `tally`.
    fn month(&mut self, tick: u32, tally: &mut Tally) {
        let internal_now = self.internal_at(tick);
        let surveyed = self.surveyed_at(tick);
        let CcgRun {
            scenario,
            env,
            ccg,
            rng,
            lanes,
            ws,
            leaders,
            initial_seats,
            consts,
            changes,
            internal_tally,
            last,
            adapted,
            adapted_policy,
            expectations,
            choice,
            mergers,
            observed: _,
        } = self;
        let (scenario, env) = (*scenario, *env);
        let p = &scenario.model;
        let adaptation = &p.adaptation;
        let Workspace {
            practices: pr,
            bounds,
            draws,
            peers,
            actions,
            ..
        } = &mut **ws;

        // Practices that merge (ODD 7.17), before anything else of the month.
        if let Some(m) = mergers.as_mut()
            && m.month(p, pr, bounds, leaders.as_mut())
        {
            let c = ccg.to_mut();
            c.practices = pr.len() as u32;
            if leaders.is_none() {
                *initial_seats = Seats::initial(pr);
            }
        }

        let level = match choice {
            Some(c) => {
                let last = if consts.expected_answers {
                    &*internal_tally
                } else {
                    &*last
                };
                c.level_at(p, &env.rounds, ccg, tick, last)
            }
            None => ccg.levels[tick as usize],
        };
        let mut month = month_terms(scenario, env, ccg, *changes, tick, level);
        if adapted.any() {
            let key = (adapted.version(), month.regime.changes);
            if adapted_policy
                .as_ref()
                .is_none_or(|(v, c, _)| (*v, *c) != key)
            {
                *adapted_policy = Some((key.0, key.1, adapted.apply(adaptation, month.regime)));
            }
            let (_, _, regime) = adapted_policy.as_ref().expect("just built");
            month.regime = regime;
            month.policy = &regime.levels[month.level.index()];
            if adapted.reframed && p.delegation.enabled {
                month.framing_gain = p.delegation.peer_support_framing;
            }
        }
        // The review of the seats (ODD 7.15), before anything else of the month.
        if let Some(leaders) = leaders.as_mut()
            && tick % p.leadership.review_every == 0
        {
            let since = scenario
                .start
                .plus(tick as i32)
                .months_since(p.leadership.outside_from);
            leaders.review(p, &LeaderTerms::new(p, &month, since), pr, bounds);
        }
        let review_now = month
            .regime
            .escalation
            .as_ref()
            .filter(|(e, _)| tick % e.review_every == 0)
            .map(|(_, reviewer)| reviewer);
        let any_rate = month.policy.mix.any;

        // Peer influence pulls toward each locality's means at the start of the month (ODD 7.3).
        locality_means(pr, bounds, peers);

        // Every month consumes the same random numbers whatever the policy (ODD 4.9), so that
        // runs differing only in policy share them (common random numbers): the start of the
        // budget's service order is drawn whether or not the budget binds, and the mix's lane
        // steps are taken whether or not any action is in force.
        let start = rng.random_range(0..pr.len().max(1));

        // Phase 1: the CCG's actions.
        if any_rate || review_now.is_some() {
            act(
                scenario, &month, review_now, pr, actions, lanes, start, tally,
            );
        } else {
            lanes.skip(MIX_STEPS * pr.len().div_ceil(LANES));
        }

        // Phases 2 and 3: monthly adjustment toward targets, then the survey.
        let mut counts = Counts::default();
        let mut terms = MonthConstants::new(p, &month);
        if p.expectations.enabled {
            terms.trust_fall = expectations.month(&p.expectations, month.level, tally, pr.len());
        }
        let mut internal = Counts::default();
        vector_phases(
            consts,
            Some(&terms),
            pr,
            draws,
            lanes,
            peers,
            surveyed.then_some(&mut counts),
            internal_now.then_some(&mut internal),
        );
        let patients = ccg.patients;
        if internal_now {
            // The month's actions, and the sampled answers.
            *internal_tally = *tally;
            internal.add_to(internal_tally, pr, month.control, month.level, patients);
        }
        if surveyed {
            counts.add_to(tally, pr, month.control, month.level, patients);
        }
        leaders
            .as_ref()
            .map_or(*initial_seats, Leaders::seats)
            .add_to(tally);
        if choice.is_some() {
            *last = *tally;
        }

        // The CCG's own survey of its members, read at the end of the month (ODD 7.13).
        if adaptation.enabled && tick % adaptation.survey_every == 0 {
            let own = if consts.expected_answers {
                &*internal_tally
            } else {
                &*tally
            };
            adapted.observe(adaptation, own, month.regime);
        }
    }
}

/// The random draws and phases 2 and 3 of a month, or at tick 0 (`m` is `None`) the draws and
/// the survey only, each compiled for the process's [`Simd`] level (same bits). Each phase is a
/// function of its own, so the compiler vectorises each on its own terms. The survey's answers
/// go to `out` if given, as `c` says (sampled or expected), and sampled ones to `sampled` too if
/// given; with neither, only the trust factors the next month's responses read are computed.
#[allow(clippy::too_many_arguments)]
fn vector_phases(
    c: &Constants,
    m: Option<&MonthConstants>,
    pr: &mut Practices,
    draws: &mut Draws,
    lanes: &mut Lanes,
    peers: &Peers,
    out: Option<&mut Counts>,
    sampled: Option<&mut Counts>,
) {
    match Simd::get() {
        // SAFETY: `Simd::get` gives these levels only if the processor supports AVX2.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 | Simd::Avx512 => unsafe { draws.fill_avx2(pr.len(), lanes) },
        _ => draws.fill(pr.len(), lanes),
    }
    if let Some(m) = m {
        adjust_simd(c, m, pr, draws, peers);
    }
    match (out, sampled) {
        (None, None) => trust_factors_simd(c, pr),
        (out, sampled) => {
            if let Some(out) = out {
                survey_simd(c, pr, draws, out, c.expected_answers);
            }
            if let Some(sampled) = sampled {
                survey_simd(c, pr, draws, sampled, false);
            }
        }
    }
}

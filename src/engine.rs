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

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::metrics::{TALLY_LEN, Tally, tally as ix};
use crate::model::params::Params;
use crate::model::policy::{self, ActionPlan, LadderState, Target};
use crate::model::practice::{PADDING, Practices};
use crate::model::submodels::{
    answer_probability, engagement_response, exp, legitimacy, logistic, logit, quality_response,
    sanction_scar, support, trust_factor, trust_response, view_tails,
};
use crate::model::{Action, CommissioningLevel, Framing, Role};
use crate::population::Ccg;
use crate::rng::{self, LANES, Lanes, ModelRng, Purpose, stream};
use crate::scenario::Scenario;
use crate::simd::Simd;

/// Define `$name`, which runs `$body` (an `#[inline(always)]` function) compiled for the
/// process's [`Simd`] level: the portable build, or a copy compiled for AVX2 or AVX-512. Every copy
/// gives the same bits (see `crate::simd`).
macro_rules! multiversioned {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
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

/// NHS England's schedules evaluated at every tick of a scenario.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Top-down control at each tick.
    pub top_down: Vec<f32>,
    /// Budget multiplier at each tick.
    pub budget: Vec<f32>,
    /// The policy in force at each co-commissioning level, by [`CommissioningLevel::index`].
    levels: [LevelPolicy; 4],
    /// The escalation ladder's reviews, if the policy has a ladder.
    reviewer: Option<policy::Reviewer>,
}

/// The policy a CCG at one co-commissioning level follows (`min_level` applied).
#[derive(Debug, Clone)]
struct LevelPolicy {
    /// The fixed mix's draws.
    mix: Mix,
    /// Actions the CCG may use at this level, as a bit mask.
    allowed: u8,
}

/// Steps of the lanes per block of eight practices that the mix takes each month (two 64-bit
/// words per lane: one 32-bit uniform per practice and action).
const MIX_STEPS: usize = 2;

/// The fixed mix and targeting as the monthly draw uses them (ODD 7.11, eq. P1): each eligible
/// practice receives action `k` when a 32-bit uniform `u` is below `threshold[k]`, that is with
/// probability `rate` rounded to a multiple of 2^-32.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mix {
    /// `round(rate * 2^32)`, at most 2^32 (every practice).
    threshold: [u64; 4],
    /// Actions aimed only at underperformers, as a bit mask.
    underperformers_only: u8,
    /// Whether any action has a positive rate.
    any: bool,
}

impl Mix {
    fn new(plans: &[ActionPlan; 4]) -> Mix {
        Mix {
            threshold: plans
                .map(|plan| ((plan.rate.clamp(0.0, 1.0) as f64) * 4_294_967_296.0).round() as u64),
            underperformers_only: (0..4)
                .filter(|&k| plans[k].target == Target::Underperformers)
                .fold(0, |m, k| m | 1 << k),
            any: plans.iter().any(|plan| plan.rate > 0.0),
        }
    }

    /// Eq. P1 for one block of up to eight practices, from two steps of the lanes: 32-bit word
    /// `8 (k % 2) + j` (little-endian) of step `k / 2` is the uniform of action `k` for
    /// practice `j` of the block, so vector code reads each action's uniforms as one register.
    #[inline(always)]
    fn block(&self, steps: &[[u64; LANES]; 2], quality: &[f32], threshold: f32, out: &mut [u8]) {
        for (j, (mask, &q)) in out.iter_mut().zip(quality).enumerate() {
            let underperforming = q < threshold;
            *mask = 0;
            for k in 0..4 {
                let w = LANES * (k % 2) + j;
                let u = (steps[k / 2][w / 2] >> (32 * (w % 2))) as u32 as u64;
                let eligible = underperforming || self.underperformers_only & (1 << k) == 0;
                *mask |= ((u < self.threshold[k] && eligible) as u8) << k;
            }
        }
    }

    /// Each practice's actions of the month from the mix: `actions[i]` for `i < quality.len()`
    /// (`actions` is at least that long, rounded up to whole blocks).
    fn draw(&self, quality: &[f32], threshold: f32, lanes: &mut Lanes, actions: &mut [u8]) {
        for (q, out) in quality.chunks(LANES).zip(actions.chunks_mut(LANES)) {
            let steps = [lanes.step(), lanes.step()];
            self.block(&steps, q, threshold, out);
        }
    }

    /// [`Mix::draw`] with AVX2 instructions: the same actions from the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn draw_avx2(&self, quality: &[f32], threshold: f32, lanes: &mut Lanes, actions: &mut [u8]) {
        use std::arch::x86_64::*;
        let mut state = rng::avx2::State::load(lanes);
        let full = quality.len() / LANES;
        let sign = _mm256_set1_epi32(i32::MIN);
        let limit = _mm256_set1_ps(threshold);
        // Per action: the threshold with its sign bit flipped (so a signed comparison orders
        // unsigned values), all ones if the rate is 1, all ones if every member is eligible.
        let below = self
            .threshold
            .map(|t| _mm256_set1_epi32((t.min(u32::MAX as u64) as u32 ^ 0x8000_0000) as i32));
        let always = self
            .threshold
            .map(|t| _mm256_set1_epi32(if t > u32::MAX as u64 { -1 } else { 0 }));
        let everyone = std::array::from_fn::<_, 4, _>(|k| {
            _mm256_set1_epi32(if self.underperformers_only & (1 << k) == 0 {
                -1
            } else {
                0
            })
        });
        for b in 0..full {
            let at = b * LANES;
            let [a0, a1] = state.step();
            let [b0, b1] = state.step();
            // SAFETY: `quality` has at least `at + 8` values; `actions` at least `at + 8` bytes.
            unsafe {
                let q = _mm256_loadu_ps(quality.as_ptr().add(at));
                let under = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(q, limit));
                let mut mask = _mm256_setzero_si256();
                for (k, u) in [a0, a1, b0, b1].into_iter().enumerate() {
                    let hit = _mm256_or_si256(
                        _mm256_cmpgt_epi32(below[k], _mm256_xor_si256(u, sign)),
                        always[k],
                    );
                    let eligible = _mm256_or_si256(under, everyone[k]);
                    let bit = _mm256_set1_epi32(1 << k);
                    mask = _mm256_or_si256(
                        mask,
                        _mm256_and_si256(_mm256_and_si256(hit, eligible), bit),
                    );
                }
                let words = _mm_packs_epi32(
                    _mm256_castsi256_si128(mask),
                    _mm256_extracti128_si256::<1>(mask),
                );
                let bytes = _mm_packus_epi16(words, words);
                _mm_storel_epi64(actions.as_mut_ptr().add(at) as *mut __m128i, bytes);
            }
        }
        if quality.len() > full * LANES {
            let mut steps = [[0u64; LANES]; 2];
            for step in &mut steps {
                let [lo, hi] = state.step();
                // SAFETY: `step` is 64 writable bytes; unaligned stores.
                unsafe {
                    _mm256_storeu_si256(step.as_mut_ptr() as *mut __m256i, lo);
                    _mm256_storeu_si256(step[4..].as_mut_ptr() as *mut __m256i, hi);
                }
            }
            let at = full * LANES;
            self.block(&steps, &quality[at..], threshold, &mut actions[at..]);
        }
        state.store(lanes);
    }
}

impl Environment {
    pub fn new(scenario: &Scenario) -> Environment {
        let ticks = 0..=scenario.months;
        let at = |s: &crate::scenario::Schedule| {
            ticks
                .clone()
                .map(|t| s.value_at(scenario.month_of(t)) as f32)
                .collect()
        };
        Environment {
            top_down: at(&scenario.nhs_england.top_down),
            budget: at(&scenario.nhs_england.budget),
            levels: CommissioningLevel::ALL.map(|level| {
                let plans = scenario.policy.plans_at(level);
                LevelPolicy {
                    mix: Mix::new(&plans),
                    allowed: scenario.policy.allowed_at(level),
                }
            }),
            reviewer: scenario
                .policy
                .escalation
                .as_ref()
                .map(policy::Reviewer::new),
        }
    }
}

/// Reusable buffers for [`simulate_ccg`], so a worker thread allocates once, not once per unit.
#[derive(Debug, Default)]
pub struct Workspace {
    practices: Practices,
    /// Bounds of each locality's block of practices: locality `l` is `bounds[l]..bounds[l + 1]`.
    bounds: Vec<usize>,
    /// Random draws of the current month, one column per use (ODD 4.9).
    draws: Draws,
    /// Each practice's locality means of engagement and trust at the start of the month.
    peers: Peers,
    /// The actions each practice receives this month, as a bit mask.
    actions: Vec<u8>,
}

/// Locality means, one entry per practice (the mean of the practice's own locality).
#[derive(Debug, Default)]
struct Peers {
    engagement: Vec<f32>,
    trust: Vec<f32>,
}

/// One month's random numbers for the adjustment and survey phases.
#[derive(Debug, Default)]
struct Draws {
    /// Shocks to trust and engagement, uniform on [-1, 1).
    shock_trust: Vec<f32>,
    shock_engagement: Vec<f32>,
    /// 16-bit uniforms for the survey answers: engaged, influence, view, burden, then one per
    /// action's support.
    answer: [Vec<u16>; 8],
}

impl Draws {
    /// Size the buffers for `n` practices, rounded up to whole blocks of eight.
    fn resize(&mut self, n: usize) -> usize {
        let blocks = n.div_ceil(LANES);
        self.shock_trust.resize(blocks * LANES, 0.0);
        self.shock_engagement.resize(blocks * LANES, 0.0);
        for a in &mut self.answer {
            a.resize(blocks * LANES, 0);
        }
        blocks
    }

    /// Fill the buffers for `n` practices, a block of eight practices at a time, with three
    /// steps of the eight lanes per block (the last block's surplus is unused). The 512 bits of
    /// a step, read as little-endian bytes, are laid out so that vector code can store them
    /// without shuffles: in the first step, 32-bit word `j` (of 16) gives the trust shock of
    /// practice `j` of the block for `j < 8` and the engagement shock of practice `j - 8`
    /// otherwise (its top 24 bits); in the second and third, 16-bit word `8k + j` is the uniform
    /// of survey answer `k` (`4 + k` in the third step) of practice `j`.
    fn fill(&mut self, n: usize, lanes: &mut Lanes) {
        let blocks = self.resize(n);
        for b in 0..blocks {
            let block = b * LANES..(b + 1) * LANES;
            let x = lanes.step();
            let word32 = |j: usize| (x[j / 2] >> (32 * (j % 2))) as u32;
            for j in 0..LANES {
                self.shock_trust[block.start + j] = shock(word32(j) >> 8);
                self.shock_engagement[block.start + j] = shock(word32(LANES + j) >> 8);
            }
            for half in 0..2 {
                let y = lanes.step();
                for k in 0..4 {
                    for (j, u) in self.answer[4 * half + k][block.clone()]
                        .iter_mut()
                        .enumerate()
                    {
                        *u = (y[2 * k + j / 4] >> (16 * (j % 4))) as u16;
                    }
                }
            }
        }
    }

    /// [`Draws::fill`] with AVX2 instructions: the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fill_avx2(&mut self, n: usize, lanes: &mut Lanes) {
        use std::arch::x86_64::*;
        let blocks = self.resize(n);
        let mut state = rng::avx2::State::load(lanes);
        let half = _mm256_set1_ps(0.5);
        let scale = _mm256_set1_ps(SHOCK_SCALE);
        let one = _mm256_set1_ps(1.0);
        let to_shock = |w: __m256i| {
            let u = _mm256_cvtepi32_ps(_mm256_srli_epi32::<8>(w));
            _mm256_sub_ps(_mm256_mul_ps(_mm256_add_ps(u, half), scale), one)
        };
        for b in 0..blocks {
            let at = b * LANES;
            let [x_lo, x_hi] = state.step();
            // SAFETY: every column holds `blocks * LANES` values, so the eight values (32 bytes
            // of f32, 16 bytes of u16) from `at` are in bounds; the stores are unaligned.
            unsafe {
                _mm256_storeu_ps(self.shock_trust.as_mut_ptr().add(at), to_shock(x_lo));
                _mm256_storeu_ps(self.shock_engagement.as_mut_ptr().add(at), to_shock(x_hi));
                for h in 0..2 {
                    let [y_lo, y_hi] = state.step();
                    let parts = [
                        _mm256_castsi256_si128(y_lo),
                        _mm256_extracti128_si256::<1>(y_lo),
                        _mm256_castsi256_si128(y_hi),
                        _mm256_extracti128_si256::<1>(y_hi),
                    ];
                    for (k, part) in parts.into_iter().enumerate() {
                        let column = self.answer[4 * h + k].as_mut_ptr().add(at);
                        _mm_storeu_si128(column as *mut __m128i, part);
                    }
                }
            }
        }
        state.store(lanes);
    }
}

/// `2 / 2^24`: the width of the cells of a 24-bit shock.
const SHOCK_SCALE: f32 = 2.0 / (1u32 << 24) as f32;

/// The midpoint of cell `cell` (24 bits) of 2^24 equal cells of [-1, 1): symmetric about zero.
#[inline(always)]
fn shock(cell: u32) -> f32 {
    (cell as f32 + 0.5) * SHOCK_SCALE - 1.0
}

/// Quantities that are the same for every practice of the CCG in one month (ODD 3).
struct Month<'e> {
    control: f32,
    level: CommissioningLevel,
    influence_ccg: f32,
    engagement_ccg: f32,
    coi: f32,
    framing_gain: f32,
    budget: f64,
    policy: &'e LevelPolicy,
}

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
    debug_assert_eq!(out.len(), scenario.months as usize + 1);
    let p = &scenario.model;
    let mut rng = stream(
        scenario.seed,
        Purpose::Unit,
        replicate as u64,
        ccg.index as u64,
    );
    let mut lanes = Lanes::from_stream(&mut rng);
    let Workspace {
        practices: pr,
        bounds,
        draws,
        peers,
        actions,
    } = ws;
    initialise(scenario, env, ccg, &mut rng, pr, bounds);
    let consts = Constants::new(p);

    let month0 = month_terms(scenario, env, ccg, 0);
    let mut counts = Counts::default();
    vector_phases(&consts, None, pr, draws, &mut lanes, peers, &mut counts);
    counts.add_to(&mut out[0], pr, month0.control);

    let escalation = scenario.policy.escalation.as_ref();
    for tick in 1..=scenario.months {
        let month = month_terms(scenario, env, ccg, tick);
        let tally = &mut out[tick as usize];
        let review_now = escalation
            .filter(|e| tick % e.review_every == 0)
            .and(env.reviewer.as_ref());
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
                scenario, &month, review_now, pr, actions, &mut lanes, start, tally,
            );
        } else {
            lanes.skip(MIX_STEPS * pr.len().div_ceil(LANES));
        }

        // Phases 2 and 3: monthly adjustment toward targets, then the survey.
        let mut counts = Counts::default();
        let terms = MonthConstants::new(p, &month);
        vector_phases(
            &consts,
            Some(&terms),
            pr,
            draws,
            &mut lanes,
            peers,
            &mut counts,
        );
        counts.add_to(tally, pr, month.control);
    }
}

/// Phase 1 of a month: the CCG's actions (ODD 7.11), paid for in order from a random start while
/// the budget lasts (ODD 7.8), and each practice's response.
#[allow(clippy::too_many_arguments)]
fn act(
    scenario: &Scenario,
    month: &Month,
    review_now: Option<&policy::Reviewer>,
    pr: &mut Practices,
    actions: &mut Vec<u8>,
    lanes: &mut Lanes,
    start: usize,
    tally: &mut Tally,
) {
    let p = &scenario.model;
    let threshold = scenario.policy.underperformance_threshold;
    let level = month.policy;
    let n = pr.len();
    actions.clear();
    actions.resize(n.div_ceil(LANES) * LANES, 0);

    // The mix: every eligible practice, every action, one uniform each.
    if level.mix.any {
        let quality = &pr.quality[..n];
        match Simd::get() {
            // SAFETY: `Simd::get` gives these levels only if the processor supports AVX2.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe {
                level.mix.draw_avx2(quality, threshold, lanes, actions)
            },
            _ => level.mix.draw(quality, threshold, lanes, actions),
        }
    } else {
        lanes.skip(MIX_STEPS * n.div_ceil(LANES));
    }

    // The ladder: every practice is reviewed. A step whose action the CCG may not yet use is
    // held but not delivered.
    if let Some(reviewer) = review_now {
        let real = actions[..n].iter_mut().zip(&mut pr.ladder).zip(&pr.quality);
        for ((mask, ladder), &q) in real {
            *mask |= reviewer.review(ladder, q < threshold) & level.allowed;
        }
    }

    // The budget pays for what it can, in order from a random start (eq. B2). When it covers
    // everything asked for, the order does not matter and the actions are simply counted.
    // What was asked for, and by how many practices (padding entries are 0): one pass of plain
    // sums, which the compiler vectorises.
    let (mut a0, mut a1, mut a2, mut a3, mut recipients) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for &mask in actions.iter() {
        a0 += (mask & 1) as u32;
        a1 += ((mask >> 1) & 1) as u32;
        a2 += ((mask >> 2) & 1) as u32;
        a3 += ((mask >> 3) & 1) as u32;
        recipients += (mask != 0) as u32;
    }
    let asked = [a0, a1, a2, a3];
    let cost = Action::ALL.map(|a| p.budget.cost.get(a) as f64);
    let total: f64 = (0..4).map(|k| asked[k] as f64 * cost[k]).sum();
    // (With a margin for the rounding of a sum taken in another order.)
    if total * (1.0 + 1e-9) <= month.budget {
        for k in 0..4 {
            tally[ix::ACTIONS + k] += asked[k] as f64;
            tally[ix::COST + k] += asked[k] as f64 * cost[k];
        }
    } else {
        let mut spent = 0.0f64;
        for i in (start..n).chain(0..start) {
            if actions[i] != 0 {
                actions[i] = pay_for(&cost, actions[i], month.budget, &mut spent, tally);
            }
        }
    }

    // Every practice responds to what it received: practice by practice when few receive
    // anything, otherwise in one pass over every practice, which vectorises (same arithmetic,
    // same bits).
    let responses = Responses::new(p, month);
    if recipients as usize * 6 < n {
        for (i, &mask) in actions[..n].iter().enumerate() {
            if mask != 0 {
                apply_actions(&responses, mask, pr, i);
            }
        }
    } else {
        respond_all(&responses, actions, pr);
    }
}

/// Draw the initial practices of `ccg` (ODD 5) and the bounds of its localities.
fn initialise(
    scenario: &Scenario,
    env: &Environment,
    ccg: &Ccg,
    rng: &mut ModelRng,
    pr: &mut Practices,
    bounds: &mut Vec<usize>,
) {
    let n = ccg.practices as usize;
    let localities = (ccg.localities as usize).clamp(1, n.max(1));
    pr.clear();

    // Localities are consecutive blocks of practices of near-equal size.
    bounds.clear();
    bounds.extend((0..=localities).map(|l| (l * n).div_ceil(localities)));

    // Roles: governing-body seats go to distinct random practices; each locality's lead is a
    // random other practice of that locality.
    pr.role.resize(n, Role::None as u8);
    let seats = (ccg.governance.governing_body_seats as usize).min(n);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for s in 0..seats {
        let k = rng.random_range(s..n);
        order.swap(s, k);
        pr.role[order[s] as usize] = Role::GoverningBody as u8;
    }
    for l in 0..localities {
        let block = &mut pr.role[bounds[l]..bounds[l + 1]];
        let free = block.iter().filter(|&&r| r == Role::None as u8).count() as u32;
        if free == 0 {
            continue;
        }
        let pick = rng.random_range(0..free) as usize;
        if let Some(r) = block
            .iter_mut()
            .filter(|r| **r == Role::None as u8)
            .nth(pick)
        {
            *r = Role::OtherFormal as u8;
        }
    }

    // The seven standard normals of each practice, in practice order, held for now in the
    // columns they end up shaping: engagement and trust dispositions, the four attitudes, own
    // quality.
    let [o0, o1, o2, o3] = &mut pr.attitude_odds;
    let normals = [
        &mut pr.engagement_anchor,
        &mut pr.trust_anchor,
        o0,
        o1,
        o2,
        o3,
        &mut pr.own_quality,
    ];
    for column in normals {
        column.resize(n, 0.0);
    }
    for i in 0..n {
        pr.engagement_anchor[i] = StandardNormal.sample(rng);
        pr.trust_anchor[i] = StandardNormal.sample(rng);
        for k in 0..4 {
            pr.attitude_odds[k][i] = StandardNormal.sample(rng);
        }
        pr.own_quality[i] = StandardNormal.sample(rng);
    }
    initial_states(scenario, &month_terms(scenario, env, ccg, 0), pr, n);
}

/// The initial states of `n` practices from their roles and their seven normals (ODD 5), in a
/// loop without branches that the compiler vectorises.
fn initial_states(scenario: &Scenario, month: &Month, pr: &mut Practices, n: usize) {
    let p = &scenario.model;
    let d = &p.dynamics;
    let centres = Action::ALL.map(|a| logit(p.acceptability.initial_support.get(a)));
    let q_centre = logit(p.quality.mean);
    let by_role = |on: bool, table: &crate::model::params::PerRole| {
        [Role::GoverningBody, Role::OtherFormal, Role::None]
            .map(|r| if on { table.get(r) } else { 0.0 })
    };
    let role_e = by_role(p.roles.enabled, &p.roles.engagement);
    let role_t = by_role(p.roles.enabled, &p.roles.trust);
    let role_f = by_role(p.roles.enabled, &p.roles.influence);
    let ownership = by_role(p.roles.enabled, &p.roles.view);
    let role_load = by_role(p.burden.enabled, &p.burden.role_load);
    let level_load = p.burden.level_load.get(month.level);
    for c in [
        &mut pr.quality,
        &mut pr.burden,
        &mut pr.sanction_memory,
        &mut pr.influence_anchor,
        &mut pr.load_anchor,
        &mut pr.view_anchor,
        &mut pr.trust,
        &mut pr.influence,
        &mut pr.engagement,
    ] {
        c.resize(n, 0.0);
    }
    pr.ladder.resize(n, LadderState::OFF);
    for i in 0..n {
        // Role index 0, 1 or 2 (governing body, other formal role, none), picked without
        // branches.
        let r = pr.role[i];
        let pick = |t: [f32; 3]| {
            if r == 0 {
                t[0]
            } else if r == 1 {
                t[1]
            } else {
                t[2]
            }
        };
        let (role_e, role_t, role_f) = (pick(role_e), pick(role_t), pick(role_f));
        let engagement_disposition = d.disposition_sd * pr.engagement_anchor[i];
        let trust_disposition = d.disposition_sd * pr.trust_anchor[i];
        for (centre, odds) in centres.iter().zip(&mut pr.attitude_odds) {
            odds[i] = exp(centre + p.acceptability.support_sd * odds[i]);
        }
        let own_quality = logistic(q_centre + p.quality.sd * pr.own_quality[i]);
        let load_anchor = pick(role_load);
        let burden = if p.burden.enabled {
            level_load + load_anchor
        } else {
            p.burden.reference_load
        };
        pr.own_quality[i] = own_quality;
        pr.quality[i] = own_quality;
        pr.burden[i] = burden;
        pr.trust_anchor[i] = d.trust_base + role_t + trust_disposition;
        pr.engagement_anchor[i] = role_e + engagement_disposition;
        pr.influence_anchor[i] = role_f;
        pr.load_anchor[i] = load_anchor;
        pr.view_anchor[i] = p.survey.view_base + pick(ownership);

        // Start every state at its target given the others (eqs. D1-D3 without the dynamics).
        let burden_term = if p.burden.enabled {
            p.burden.engagement_effect * (burden - p.burden.reference_load)
        } else {
            0.0
        };
        let trust = (d.trust_base + role_t + trust_disposition).clamp(0.0, 1.0);
        let provisional = (month.engagement_ccg + role_e + engagement_disposition).clamp(0.0, 1.0);
        let influence = (month.influence_ccg
            + role_f
            + d.influence_from_trust * (trust - d.trust_base)
            + d.influence_from_engagement * (provisional - d.engagement_base))
            .clamp(0.0, 1.0);
        let engagement = (month.engagement_ccg
            + role_e
            + engagement_disposition
            + d.engagement_from_trust * (trust - d.trust_base)
            + d.engagement_from_influence * (influence - d.influence_base)
            - burden_term)
            .clamp(0.0, 1.0);
        pr.trust[i] = trust;
        pr.influence[i] = influence;
        pr.engagement[i] = engagement;
    }
    // The trust factors are written by the survey of tick 0.
    pr.pad(n);
}

/// The month's CCG-wide terms (ODD 7.4, 7.5, 7.7, 7.8).
fn month_terms<'e>(scenario: &Scenario, env: &'e Environment, ccg: &Ccg, tick: u32) -> Month<'e> {
    let p = &scenario.model;
    let t = tick as usize;
    let g = &ccg.governance;
    // Eq. T1: felt control is NHS England's control less what the CCG's autonomy absorbs.
    let control = if p.top_down.enabled {
        env.top_down[t] * (1.0 - g.autonomy)
    } else {
        0.0
    };
    let level = ccg.levels[t];
    let delegated = p.delegation.enabled && level == CommissioningLevel::Delegated;
    // Eq. Z1: voice per member falls with the log of the CCG's size.
    let size = if p.size.enabled {
        p.size.influence_per_log_size
            * (ccg.practices.max(1) as f32 / p.size.reference_practices).ln()
    } else {
        0.0
    };
    let lay = if delegated {
        p.delegation.lay_majority_influence
    } else {
        0.0
    };
    let influence_ccg =
        p.dynamics.influence_base - size - p.top_down.influence_effect * control - lay;
    let engagement_ccg = p.dynamics.engagement_base - p.top_down.engagement_effect * control;
    let coi = if delegated {
        1.0 + p.delegation.conflict_of_interest_penalty * (1.0 - g.conflict_management)
    } else {
        1.0
    };
    let framing_gain = if p.delegation.enabled && g.framing == Framing::PeerSupport {
        p.delegation.peer_support_framing
    } else {
        0.0
    };
    // Eq. B1: the month's support budget in pounds.
    let budget = if p.budget.enabled {
        g.support_budget * ccg.patients as f64 / 12.0 * env.budget[t] as f64
    } else {
        f64::INFINITY
    };
    Month {
        control,
        level,
        influence_ccg,
        engagement_ccg,
        coi,
        framing_gain,
        budget,
        policy: &env.levels[level.index()],
    }
}

/// Each practice's locality mean engagement and trust at the start of the month (ODD 7.3),
/// summed in double precision so large localities keep their accuracy.
fn locality_means(pr: &Practices, bounds: &[usize], peers: &mut Peers) {
    // Padding entries keep whatever finite value they hold; nothing reads them.
    peers.engagement.resize(pr.padded_len(), 0.0);
    peers.trust.resize(pr.padded_len(), 0.0);
    for w in bounds.windows(2) {
        let block = w[0]..w[1];
        let len = block.len().max(1) as f64;
        // Both sums in one pass (each in practice order), so their additions overlap.
        let (mut e, mut t) = (0.0f64, 0.0f64);
        for (&x, &y) in pr.engagement[block.clone()]
            .iter()
            .zip(&pr.trust[block.clone()])
        {
            e += x as f64;
            t += y as f64;
        }
        peers.engagement[block.clone()].fill((e / len) as f32);
        peers.trust[block].fill((t / len) as f32);
    }
}

/// Eq. B2: deliver the actions in `mask` that the month's budget still covers; tally what is
/// delivered, what it costs and what is rationed.
#[inline]
fn pay_for(cost: &[f64; 4], mut mask: u8, budget: f64, spent: &mut f64, tally: &mut Tally) -> u8 {
    for a in Action::ALL {
        if mask & a.bit() == 0 {
            continue;
        }
        let cost = cost[a.index()];
        if *spent + cost > budget {
            mask &= !a.bit();
            tally[ix::RATIONED] += 1.0;
        } else {
            *spent += cost;
            tally[ix::ACTIONS + a.index()] += 1.0;
            tally[ix::COST + a.index()] += cost;
        }
    }
    mask
}

/// The month's constants of the immediate responses to actions (eqs. A2-A5, G1, Q1), one per
/// action, with switched-off mechanisms folded in as zero effects.
struct Responses {
    /// `intensity` (0 with acceptability off).
    weight: [f32; 4],
    engagement_effect: [f32; 4],
    /// Framing gain and conflict-of-interest multiplier: the month's for control actions, 0 and 1
    /// for the others.
    gain: [f32; 4],
    coi: [f32; 4],
    /// Added to sanction memory: 1 for sanctions (0 with acceptability off).
    memory: [f32; 4],
    /// `action_load` (0 with burden off).
    load: [f32; 4],
    /// Quality effect (0 with quality off).
    quality_effect: [f32; 4],
    trust_step: f32,
    asymmetry: f32,
}

impl Responses {
    fn new(p: &Params, month: &Month) -> Responses {
        let acc = &p.acceptability;
        let on = |enabled: bool, x: f32| if enabled { x } else { 0.0 };
        Responses {
            weight: Action::ALL.map(|a| on(acc.enabled, acc.intensity.get(a))),
            engagement_effect: Action::ALL.map(|a| acc.engagement_effect.get(a)),
            gain: Action::ALL.map(|a| on(a.is_control(), month.framing_gain)),
            coi: Action::ALL.map(|a| if a.is_control() { month.coi } else { 1.0 }),
            memory: Action::ALL.map(|a| on(acc.enabled && a == Action::Sanctions, 1.0)),
            load: Action::ALL.map(|a| on(p.burden.enabled, p.burden.action_load.get(a))),
            quality_effect: Action::ALL.map(|a| on(p.quality.enabled, p.quality.effect.get(a))),
            trust_step: acc.trust_step,
            asymmetry: acc.asymmetry,
        }
    }
}

/// The states an action changes.
#[derive(Clone, Copy)]
struct Responder {
    trust: f32,
    engagement: f32,
    quality: f32,
    memory: f32,
    burden: f32,
}

/// Eqs. A2-A5, G1, Q1: the response of one practice to the actions in `mask`, in the order
/// training, data_review, targets, sanctions. `w` is the trust factor of A1 at the trust the
/// practice had at the start of the month (legitimacy is judged with it). Everything is computed
/// for every action and kept only for those in `mask`, so the code has no branches.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `k` indexes six per-action arrays.
fn respond(r: &Responses, mask: u8, w: f32, odds: [f32; 4], mut x: Responder) -> Responder {
    for k in 0..4 {
        let on = mask & (1 << k) != 0;
        let l = legitimacy(support(odds[k], w), r.gain[k]);
        let trust =
            x.trust + r.weight[k] * trust_response(x.trust, l, r.trust_step, r.asymmetry, r.coi[k]);
        let engagement =
            x.engagement + r.weight[k] * engagement_response(x.engagement, r.engagement_effect[k]);
        let quality = x.quality + quality_response(x.quality, engagement, r.quality_effect[k]);
        let next = Responder {
            trust: trust.clamp(0.0, 1.0),
            engagement: engagement.clamp(0.0, 1.0),
            quality: quality.clamp(0.0, 1.0),
            memory: x.memory + r.memory[k],
            burden: x.burden + r.load[k],
        };
        x = if on { next } else { x };
    }
    x
}

/// [`respond`] for practice `i`.
#[inline]
fn apply_actions(r: &Responses, mask: u8, pr: &mut Practices, i: usize) {
    let odds = std::array::from_fn(|k| pr.attitude_odds[k][i]);
    let x = Responder {
        trust: pr.trust[i],
        engagement: pr.engagement[i],
        quality: pr.quality[i],
        memory: pr.sanction_memory[i],
        burden: pr.burden[i],
    };
    let y = respond(r, mask, pr.trust_factor[i], odds, x);
    pr.trust[i] = y.trust;
    pr.engagement[i] = y.engagement;
    pr.quality[i] = y.quality;
    pr.sanction_memory[i] = y.memory;
    pr.burden[i] = y.burden;
}

multiversioned! {
    /// [`respond`] for every practice (`actions` covers the padded columns), compiled for each
    /// [`Simd`] level like the other vector phases.
    fn respond_all(r: &Responses, actions: &[u8], pr: &mut Practices) = respond_all_body;
}

#[inline(always)]
fn respond_all_body(r: &Responses, actions: &[u8], pr: &mut Practices) {
    let len = pr.padded_len();
    let [o0, o1, o2, o3] = &pr.attitude_odds;
    respond_all_loop(
        r,
        &mut pr.trust[..len],
        &mut pr.engagement[..len],
        &mut pr.quality[..len],
        &mut pr.sanction_memory[..len],
        &mut pr.burden[..len],
        &actions[..len],
        &pr.trust_factor[..len],
        [&o0[..len], &o1[..len], &o2[..len], &o3[..len]],
    );
}

/// The loop of [`respond_all`], over columns passed one by one so the compiler knows they do
/// not overlap.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn respond_all_loop(
    r: &Responses,
    trust: &mut [f32],
    engagement: &mut [f32],
    quality: &mut [f32],
    memory: &mut [f32],
    burden: &mut [f32],
    actions: &[u8],
    factor: &[f32],
    odds: [&[f32]; 4],
) {
    let len = trust.len();
    let (engagement, quality, memory, burden) = (
        &mut engagement[..len],
        &mut quality[..len],
        &mut memory[..len],
        &mut burden[..len],
    );
    let (actions, factor) = (&actions[..len], &factor[..len]);
    let [o0, o1, o2, o3] = odds.map(|o| &o[..len]);
    for i in 0..len {
        let x = Responder {
            trust: trust[i],
            engagement: engagement[i],
            quality: quality[i],
            memory: memory[i],
            burden: burden[i],
        };
        let y = respond(r, actions[i], factor[i], [o0[i], o1[i], o2[i], o3[i]], x);
        trust[i] = y.trust;
        engagement[i] = y.engagement;
        quality[i] = y.quality;
        memory[i] = y.memory;
        burden[i] = y.burden;
    }
}

/// Parameters of the adjustment and survey phases, with switched-off mechanisms folded in as
/// zero effects so the loops need no branches.
struct Constants {
    trust_base: f32,
    engagement_base: f32,
    influence_base: f32,
    trust_rate: f32,
    engagement_rate: f32,
    influence_rate: f32,
    engagement_from_trust: f32,
    engagement_from_influence: f32,
    influence_from_trust: f32,
    influence_from_engagement: f32,
    /// sqrt(3) * noise_sd: a uniform shock on [-1, 1) times this has sd noise_sd.
    shock: f32,
    peer_rate: f32,
    memory_keep: f32,
    scar: f32,
    burden_rate: f32,
    burden_engagement: f32,
    reference_load: f32,
    quality_rate: f32,
    trust_coupling: f32,
    exp_engaged: f32,
    exp_highly: f32,
    exp_positive: f32,
    exp_negative: f32,
    view_trust: f32,
    view_influence: f32,
    view_engagement: f32,
    burden_positive_base: f32,
    burden_positive_slope: f32,
}

impl Constants {
    fn new(p: &Params) -> Constants {
        let d = &p.dynamics;
        let acc = &p.acceptability;
        let s = &p.survey;
        Constants {
            trust_base: d.trust_base,
            engagement_base: d.engagement_base,
            influence_base: d.influence_base,
            trust_rate: d.trust_rate,
            engagement_rate: d.engagement_rate,
            influence_rate: d.influence_rate,
            engagement_from_trust: d.engagement_from_trust,
            engagement_from_influence: d.engagement_from_influence,
            influence_from_trust: d.influence_from_trust,
            influence_from_engagement: d.influence_from_engagement,
            shock: 1.732_050_8 * d.noise_sd,
            peer_rate: if p.peers.enabled { p.peers.rate } else { 0.0 },
            memory_keep: if acc.enabled {
                1.0 - acc.sanction_memory_decay
            } else {
                1.0
            },
            scar: if acc.enabled {
                acc.sanction_memory_trust
            } else {
                0.0
            },
            burden_rate: if p.burden.enabled { p.burden.rate } else { 0.0 },
            burden_engagement: if p.burden.enabled {
                p.burden.engagement_effect
            } else {
                0.0
            },
            reference_load: p.burden.reference_load,
            quality_rate: if p.quality.enabled {
                p.quality.reversion
            } else {
                0.0
            },
            trust_coupling: if acc.enabled { acc.trust_coupling } else { 0.0 },
            exp_engaged: exp(s.engaged_cut),
            exp_highly: exp(s.highly_engaged_cut),
            exp_positive: exp(s.positive_cut),
            exp_negative: exp(-s.negative_cut),
            view_trust: s.view_trust,
            view_influence: s.view_influence,
            view_engagement: s.view_engagement,
            burden_positive_base: p.burden.positive_base,
            burden_positive_slope: p.burden.positive_slope,
        }
    }
}

/// The month's CCG-wide terms of the adjustment phase.
struct MonthConstants {
    influence_ccg: f32,
    engagement_ccg: f32,
    level_load: f32,
}

impl MonthConstants {
    fn new(p: &Params, month: &Month) -> MonthConstants {
        MonthConstants {
            influence_ccg: month.influence_ccg,
            engagement_ccg: month.engagement_ccg,
            level_load: if p.burden.enabled {
                p.burden.level_load.get(month.level)
            } else {
                0.0
            },
        }
    }
}

/// The random draws and phases 2 and 3 of a month, or at tick 0 (`m` is `None`) the draws and
/// the survey only, each compiled for the process's [`Simd`] level (same bits). Each phase is a
/// function of its own, so the compiler vectorises each on its own terms.
fn vector_phases(
    c: &Constants,
    m: Option<&MonthConstants>,
    pr: &mut Practices,
    draws: &mut Draws,
    lanes: &mut Lanes,
    peers: &Peers,
    out: &mut Counts,
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
    survey_simd(c, pr, draws, out);
}

multiversioned! {
    /// [`adjust`] for the process's [`Simd`] level.
    fn adjust_simd(
        c: &Constants,
        m: &MonthConstants,
        pr: &mut Practices,
        draws: &Draws,
        peers: &Peers,
    ) = adjust;
}

multiversioned! {
    /// [`survey`] for the process's [`Simd`] level.
    fn survey_simd(c: &Constants, pr: &mut Practices, draws: &Draws, out: &mut Counts) = survey;
}

/// Eqs. A5, G2, D4-D7, Q2: one month of partial adjustment toward the targets, peer influence
/// toward the practice's locality means, and noise. Branch-free straight-line arithmetic over
/// columns cut to one length, so the compiler vectorises it.
#[inline(always)]
fn adjust(c: &Constants, m: &MonthConstants, pr: &mut Practices, draws: &Draws, peers: &Peers) {
    // Whole blocks: the padding entries are updated too, harmlessly.
    let len = pr.padded_len();
    adjust_loop(
        c,
        m,
        &mut pr.sanction_memory[..len],
        &mut pr.burden[..len],
        &mut pr.trust[..len],
        &mut pr.influence[..len],
        &mut pr.engagement[..len],
        &mut pr.quality[..len],
        &pr.own_quality[..len],
        &pr.trust_anchor[..len],
        &pr.engagement_anchor[..len],
        &pr.influence_anchor[..len],
        &pr.load_anchor[..len],
        &draws.shock_trust[..len],
        &draws.shock_engagement[..len],
        &peers.engagement[..len],
        &peers.trust[..len],
    );
}

/// The loop of [`adjust`], over columns passed one by one so the compiler knows they do not
/// overlap (and needs no run-time checks before vectorising).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn adjust_loop(
    c: &Constants,
    m: &MonthConstants,
    memory: &mut [f32],
    burden: &mut [f32],
    trust: &mut [f32],
    influence: &mut [f32],
    engagement: &mut [f32],
    quality: &mut [f32],
    own_quality: &[f32],
    trust_anchor: &[f32],
    engagement_anchor: &[f32],
    influence_anchor: &[f32],
    load_anchor: &[f32],
    shock_t: &[f32],
    shock_e: &[f32],
    mean_e: &[f32],
    mean_t: &[f32],
) {
    let len = memory.len();
    let (burden, trust, influence, engagement, quality) = (
        &mut burden[..len],
        &mut trust[..len],
        &mut influence[..len],
        &mut engagement[..len],
        &mut quality[..len],
    );
    let (own_quality, trust_anchor, engagement_anchor, influence_anchor, load_anchor) = (
        &own_quality[..len],
        &trust_anchor[..len],
        &engagement_anchor[..len],
        &influence_anchor[..len],
        &load_anchor[..len],
    );
    let (shock_t, shock_e, mean_e, mean_t) = (
        &shock_t[..len],
        &shock_e[..len],
        &mean_e[..len],
        &mean_t[..len],
    );
    for i in 0..len {
        // A5: sanctions are slowly forgotten; G2: load relaxes to the standing load.
        let mem = memory[i] * c.memory_keep;
        memory[i] = mem;
        let b = burden[i] + c.burden_rate * (m.level_load + load_anchor[i] - burden[i]);
        burden[i] = b;
        // D1, D4: trust toward its target (lowered by the sanction scar), toward the locality.
        let t_star = trust_anchor[i] - sanction_scar(mem, c.scar);
        let t0 = trust[i];
        let t = (t0
            + c.trust_rate * (t_star - t0)
            + c.peer_rate * (mean_t[i] - t0)
            + c.shock * shock_t[i])
            .clamp(0.0, 1.0);
        trust[i] = t;
        // D2, D5: influence toward its target.
        let e0 = engagement[i];
        let f0 = influence[i];
        let f_star = m.influence_ccg
            + influence_anchor[i]
            + c.influence_from_trust * (t - c.trust_base)
            + c.influence_from_engagement * (e0 - c.engagement_base);
        let f = (f0 + c.influence_rate * (f_star - f0)).clamp(0.0, 1.0);
        influence[i] = f;
        // D3, D6: engagement toward its target, toward the locality.
        let e_star = m.engagement_ccg
            + engagement_anchor[i]
            + c.engagement_from_trust * (t - c.trust_base)
            + c.engagement_from_influence * (f - c.influence_base)
            - c.burden_engagement * (b - c.reference_load);
        engagement[i] = (e0
            + c.engagement_rate * (e_star - e0)
            + c.peer_rate * (mean_e[i] - e0)
            + c.shock * shock_e[i])
            .clamp(0.0, 1.0);
        // Q2: quality drifts back to the practice's own level.
        quality[i] = (quality[i] + c.quality_rate * (own_quality[i] - quality[i])).clamp(0.0, 1.0);
    }
}

/// One month's survey answers of one CCG.
#[derive(Debug, Default)]
struct Counts {
    practices: u32,
    governing_body: u32,
    formal: u32,
    no_role: u32,
    engaged: u32,
    highly: u32,
    influence: u32,
    influence_formal: u32,
    influence_no_role: u32,
    positive: u32,
    positive_governing_body: u32,
    positive_no_role: u32,
    neutral_no_role: u32,
    support: [u32; 4],
    burden_positive: u32,
}

impl Counts {
    /// Add the counts and the month's state sums of `pr` to the tally.
    fn add_to(&self, t: &mut Tally, pr: &Practices, control: f32) {
        let n = self.practices as f64;
        t[ix::PRACTICES] += n;
        t[ix::GOVERNING_BODY] += self.governing_body as f64;
        t[ix::FORMAL_ROLE] += self.formal as f64;
        t[ix::NO_ROLE] += self.no_role as f64;
        t[ix::ENGAGED] += self.engaged as f64;
        t[ix::HIGHLY_ENGAGED] += self.highly as f64;
        t[ix::INFLUENCE] += self.influence as f64;
        t[ix::INFLUENCE_FORMAL] += self.influence_formal as f64;
        t[ix::INFLUENCE_NO_ROLE] += self.influence_no_role as f64;
        t[ix::POSITIVE_ALL] += self.positive as f64;
        t[ix::POSITIVE_GOVERNING_BODY] += self.positive_governing_body as f64;
        t[ix::POSITIVE_NO_ROLE] += self.positive_no_role as f64;
        t[ix::NEUTRAL_NO_ROLE] += self.neutral_no_role as f64;
        for (k, s) in self.support.iter().enumerate() {
            t[ix::SUPPORT + k] += *s as f64;
        }
        t[ix::BURDEN_POSITIVE] += self.burden_positive as f64;
        let [e, e2, tr, t2, f, q, b] = state_sums(pr);
        t[ix::SUM_ENGAGEMENT] += e;
        t[ix::SUM_SQ_ENGAGEMENT] += e2;
        t[ix::SUM_TRUST] += tr;
        t[ix::SUM_SQ_TRUST] += t2;
        t[ix::SUM_INFLUENCE] += f;
        t[ix::SUM_QUALITY] += q;
        t[ix::SUM_BURDEN] += b;
        // Every practice of a CCG feels the same control.
        t[ix::TOP_DOWN] += control as f64 * n;
    }
}

multiversioned! {
    /// The month's state sums of the real practices: engagement, its square, trust, its square,
    /// influence, quality and burden, each exactly as [`sum`] or [`sum_sq`] gives it (the same
    /// lanes, the same order), in one pass compiled for each [`Simd`] level.
    fn state_sums(pr: &Practices) -> [f64; 7] = state_sums_body;
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // `k` is the lane of seven accumulators.
fn state_sums_body(pr: &Practices) -> [f64; 7] {
    let n = pr.len();
    let (e, t, f) = (&pr.engagement[..n], &pr.trust[..n], &pr.influence[..n]);
    let (q, b) = (&pr.quality[..n], &pr.burden[..n]);
    let mut acc = [[0.0f64; 4]; 7];
    let whole = n / 4 * 4;
    for base in (0..whole).step_by(4) {
        for k in 0..4 {
            let i = base + k;
            acc[0][k] += e[i] as f64;
            acc[1][k] += (e[i] * e[i]) as f64;
            acc[2][k] += t[i] as f64;
            acc[3][k] += (t[i] * t[i]) as f64;
            acc[4][k] += f[i] as f64;
            acc[5][k] += q[i] as f64;
            acc[6][k] += b[i] as f64;
        }
    }
    let mut total = acc.map(|a| (a[0] + a[1]) + (a[2] + a[3]));
    for i in whole..n {
        total[0] += e[i] as f64;
        total[1] += (e[i] * e[i]) as f64;
        total[2] += t[i] as f64;
        total[3] += (t[i] * t[i]) as f64;
        total[4] += f[i] as f64;
        total[5] += q[i] as f64;
        total[6] += b[i] as f64;
    }
    total
}

/// Sum in four interleaved double-precision lanes (a fixed order, so the result is the same on
/// every run, and accurate for very large CCGs): the reference for [`state_sums`].
#[cfg(test)]
fn lanes(xs: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = xs.chunks_exact(4);
    let rest = chunks.remainder();
    for chunk in chunks {
        for k in 0..4 {
            acc[k] += f(chunk[k]) as f64;
        }
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in rest {
        total += f(x) as f64;
    }
    total
}

#[cfg(test)]
fn sum(xs: &[f32]) -> f64 {
    lanes(xs, |x| x)
}

#[cfg(test)]
fn sum_sq(xs: &[f32]) -> f64 {
    lanes(xs, |x| x * x)
}

/// True (1) with probability `p` for a 16-bit uniform `u`.
#[inline(always)]
fn hit(u: u16, p: f32) -> u32 {
    ((u as f32) < p * 65_536.0) as u32
}

/// Eqs. S1-S5: draw every practice's survey answers from its state and count them (ODD 7.10).
/// Written without branches and with every column cut to one length so the compiler can
/// vectorise it.
#[inline(always)]
fn survey(c: &Constants, pr: &mut Practices, draws: &Draws, out: &mut Counts) {
    // The trust factors are the loop's only output: taken out of `pr` for the loop, so the
    // compiler knows they overlap none of its inputs.
    let mut factor = std::mem::take(&mut pr.trust_factor);
    survey_loop(c, &mut factor, pr, draws, out);
    pr.trust_factor = factor;
}

/// The loop of [`survey`].
#[inline(always)]
fn survey_loop(c: &Constants, factor: &mut [f32], pr: &Practices, draws: &Draws, out: &mut Counts) {
    // Whole blocks: the padding entries (role `PADDING`) are surveyed but not counted.
    let len = pr.padded_len();
    let n = pr.len();
    let factor = &mut factor[..len];
    let role = &pr.role[..len];
    let trust = &pr.trust[..len];
    let influence = &pr.influence[..len];
    let engagement = &pr.engagement[..len];
    let burden = &pr.burden[..len];
    let view_anchor = &pr.view_anchor[..len];
    let o0 = &pr.attitude_odds[0][..len];
    let o1 = &pr.attitude_odds[1][..len];
    let o2 = &pr.attitude_odds[2][..len];
    let o3 = &pr.attitude_odds[3][..len];
    let [u0, u1, u2, u3, u4, u5, u6, u7] = &draws.answer;
    let (u0, u1, u2, u3) = (&u0[..len], &u1[..len], &u2[..len], &u3[..len]);
    let (u4, u5, u6, u7) = (&u4[..len], &u5[..len], &u6[..len], &u7[..len]);
    let (mut governing_body, mut no_role) = (0u32, 0u32);
    let (mut engaged, mut highly) = (0u32, 0u32);
    let (mut influence_all, mut influence_no_role) = (0u32, 0u32);
    let (mut positive, mut positive_governing_body, mut positive_no_role, mut neutral_no_role) =
        (0u32, 0u32, 0u32, 0u32);
    let (mut s0, mut s1, mut s2, mut s3) = (0u32, 0u32, 0u32, 0u32);
    let mut burden_positive = 0u32;
    for i in 0..len {
        let real = (role[i] != PADDING) as u32;
        let gb = (role[i] == Role::GoverningBody as u8) as u32;
        let none = (role[i] == Role::None as u8) as u32;
        governing_body += gb;
        no_role += none;

        // S1: engagement answers share one uniform, so "highly" implies "at least somewhat".
        let e = engagement[i];
        engaged += real * hit(u0[i], answer_probability(e, c.exp_engaged));
        highly += real * hit(u0[i], answer_probability(e, c.exp_highly));

        // S5a: "I could influence the CCG if I wanted to".
        let f = influence[i];
        let yes = real * hit(u1[i], f);
        influence_all += yes;
        influence_no_role += yes * none;

        // S3, S4: the view of co-commissioning by an ordered logit.
        let t = trust[i];
        let view = view_anchor[i]
            + c.view_trust * (t - c.trust_base)
            + c.view_influence * (f - c.influence_base)
            + c.view_engagement * (e - c.engagement_base);
        let (p_positive, p_negative) = view_tails(exp(-view), c.exp_positive, c.exp_negative);
        let uv = u2[i] as f32 * (1.0 / 65_536.0);
        let pos = real * (uv < p_positive) as u32;
        let neg = (uv >= 1.0 - p_negative) as u32;
        positive += pos;
        positive_governing_body += pos * gb;
        positive_no_role += pos * none;
        neutral_no_role += (1 - pos) * (1 - neg) * none;

        // S5b: support for each action (A1), sharing one trust factor.
        let w = trust_factor(t, c.trust_base, c.trust_coupling, true);
        factor[i] = w;
        s0 += real * hit(u4[i], support(o0[i], w));
        s1 += real * hit(u5[i], support(o1[i], w));
        s2 += real * hit(u6[i], support(o2[i], w));
        s3 += real * hit(u7[i], support(o3[i], w));

        // S5c: a positive impact on paperwork and meetings.
        let p_burden = (c.burden_positive_base
            - c.burden_positive_slope * (burden[i] - c.reference_load))
            .clamp(0.0, 1.0);
        burden_positive += real * hit(u3[i], p_burden);
    }
    out.practices += n as u32;
    out.governing_body += governing_body;
    out.formal += n as u32 - no_role;
    out.no_role += no_role;
    out.engaged += engaged;
    out.highly += highly;
    out.influence += influence_all;
    out.influence_formal += influence_all - influence_no_role;
    out.influence_no_role += influence_no_role;
    out.positive += positive;
    out.positive_governing_body += positive_governing_body;
    out.positive_no_role += positive_no_role;
    out.neutral_no_role += neutral_no_role;
    for (o, s) in out.support.iter_mut().zip([s0, s1, s2, s3]) {
        *o += s;
    }
    out.burden_positive += burden_positive;
}

/// A zeroed tally per tick of `scenario`.
pub fn empty_tallies(scenario: &Scenario) -> Vec<Tally> {
    vec![[0.0; TALLY_LEN]; scenario.months as usize + 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::Population;
    use std::path::Path;

    fn small(extra: &str) -> Scenario {
        let text =
            format!("months = 24\nreplicates = 1\n[[ccgs]]\nid = \"a\"\npractices = 40\n{extra}");
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
    fn responses_one_by_one_and_all_at_once_agree() {
        let s = small("[model.delegation]\npeer_support_framing = 0.4\n");
        let pop = Population::build(&s);
        let env = Environment::new(&s);
        let month = month_terms(&s, &env, &pop.ccgs[0], 3);
        let responses = Responses::new(&s.model, &month);
        let mut rng = stream(7, Purpose::Unit, 0, 0);
        let mut pr = Practices::default();
        let mut bounds = Vec::new();
        initialise(&s, &env, &pop.ccgs[0], &mut rng, &mut pr, &mut bounds);
        for (i, w) in pr.trust_factor.iter_mut().enumerate() {
            *w = 0.5 + (i % 7) as f32 * 0.2;
        }
        pr.sanction_memory[5] = 2.0;
        let actions: Vec<u8> = (0..pr.padded_len())
            .map(|i| if i < pr.len() { (i * 7 % 16) as u8 } else { 0 })
            .collect();
        let mut one_by_one = pr.clone();
        for (i, &mask) in actions[..pr.len()].iter().enumerate() {
            apply_actions(&responses, mask, &mut one_by_one, i);
        }
        respond_all(&responses, &actions, &mut pr);
        assert_eq!(one_by_one.trust, pr.trust);
        assert_eq!(one_by_one.engagement, pr.engagement);
        assert_eq!(one_by_one.quality, pr.quality);
        assert_eq!(one_by_one.sanction_memory, pr.sanction_memory);
        assert_eq!(one_by_one.burden, pr.burden);
        // Something happened: sanctions (bit 3) were received and remembered.
        assert!(pr.sanction_memory.iter().sum::<f32>() > 2.0);
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
            initialise(&env_s, &env, &pop.ccgs[0], &mut rng, &mut pr, &mut bounds);
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
                t[ix::GOVERNING_BODY]
                    + t[ix::NO_ROLE]
                    + (t[ix::FORMAL_ROLE] - t[ix::GOVERNING_BODY]),
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
}

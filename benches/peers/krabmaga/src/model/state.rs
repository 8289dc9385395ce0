//! The simulation state: every CCG of the scenario in one replicate.

use std::any::Any;
use std::sync::Arc;

use krabmaga::engine::schedule::Schedule;
use krabmaga::engine::state::State;
use krabmaga::rand::seq::{index, IndexedRandom};
use krabmaga::rand::{Rng, SeedableRng};
use krabmaga::rand_pcg::Pcg64;

use super::ccg::Ccg;
use super::practice::Practice;
use crate::scenario::{Params, GOVERNING_BODY, NO_ROLE, OTHER_FORMAL};
use crate::tally::{self, Tally};

/// One replicate. A schedule step is one month:
///
/// * `before_step`: for each CCG, the month terms and a random start; every practice's schedule
///   ordering is set so that the CCGs' members are served CCG after CCG, each CCG's in cyclic
///   order from its start.
/// * the practices (agents, scheduled repeating) take their turns in that order.
/// * `after_step`: the month's top-down control is tallied and the month's tally kept.
/// * `update` (after every step, and before the first): the locality means of the month to come
///   are taken from what the practices published at the end of their turns (the start-of-month
///   state), as krABMaga's fields do their lazy update.
pub struct Commissioning {
    pub params: Arc<Params>,
    pub ccgs: Vec<Ccg>,
    /// The replicate's random-number generator (all draws, in the order they are made).
    pub rng: Pcg64,
    /// The month being simulated (0: the initial state).
    pub tick: u64,
    /// Whether this month is a review month of the escalation ladder.
    pub review_now: bool,
    /// The month's tally, which the practices add to.
    pub tally: Tally,
    /// The tally of every tick 0..=months so far.
    pub tallies: Vec<Tally>,
}

impl Commissioning {
    pub fn new(params: Arc<Params>, seed: u64) -> Commissioning {
        Commissioning {
            params,
            ccgs: Vec::new(),
            rng: Pcg64::seed_from_u64(seed),
            tick: 0,
            review_now: false,
            tally: [0.0; tally::LEN],
            tallies: Vec::new(),
        }
    }

    /// Roles of one CCG's members (ODD 5.1): governing-body seats drawn among all members, then
    /// one other formal role (a locality lead) among the free members of each locality.
    fn roles(&mut self, n: usize, localities: usize, seats: usize) -> Vec<usize> {
        let mut roles = vec![NO_ROLE; n];
        for i in index::sample(&mut self.rng, n, seats.min(n)) {
            roles[i] = GOVERNING_BODY;
        }
        for l in 0..localities {
            // the members of locality l: [⌈l·n/L⌉, ⌈(l+1)·n/L⌉)
            let (lo, hi) = (
                (l * n).div_ceil(localities),
                ((l + 1) * n).div_ceil(localities),
            );
            let free: Vec<usize> = (lo..hi).filter(|&i| roles[i] == NO_ROLE).collect();
            if let Some(&i) = free.choose(&mut self.rng) {
                roles[i] = OTHER_FORMAL;
            }
        }
        roles
    }

    /// Add the month's top-down control (felt by every member) and keep the month's tally.
    fn close_month(&mut self) {
        for ccg in &self.ccgs {
            self.tally[tally::TOP_DOWN] += ccg.month.control * ccg.n as f64;
        }
        self.tallies.push(self.tally);
        self.tally = [0.0; tally::LEN];
    }
}

impl State for Commissioning {
    /// The CCGs and their practices (ODD 5.1), each practice scheduled repeating from time 0,
    /// and the survey of the initial state (tick 0: no actions, no adjustment).
    fn init(&mut self, schedule: &mut Schedule) {
        self.reset();
        let params = Arc::clone(&self.params);
        let mut first = 0;
        for c in 0..params.ccgs.len() {
            let spec = &params.ccgs[c];
            let mut ccg = Ccg::new(c, &params, first);
            let (n, localities) = (ccg.n, ccg.localities);
            let roles = self.roles(n, localities, spec.governance.governing_body_seats);
            for (i, &role) in roles.iter().enumerate() {
                let practice = Practice::new(
                    &params,
                    &ccg.month,
                    &mut self.rng,
                    (c, i, i * localities / n, role),
                );
                practice.answer_survey(&params, &mut self.rng, &mut self.tally);
                practice.publish(&mut ccg);
                schedule.schedule_repeating(Box::new(practice), 0.0, ccg.ordering(i));
            }
            first += n;
            self.ccgs.push(ccg);
        }
        self.close_month();
    }

    fn reset(&mut self) {
        self.ccgs.clear();
        self.tick = 0;
        self.review_now = false;
        self.tally = [0.0; tally::LEN];
        self.tallies.clear();
    }

    /// The lazy update: the locality means of the month to come.
    fn update(&mut self, _step: u64) {
        for ccg in &mut self.ccgs {
            ccg.commit_locality_means();
        }
    }

    /// The CCGs' month terms and random starts, and the service order of the month.
    fn before_step(&mut self, schedule: &mut Schedule) {
        self.tick += 1;
        let tick = self.tick;
        self.review_now = self
            .params
            .escalation
            .as_ref()
            .is_some_and(|e| tick.is_multiple_of(e.review_every));
        for ccg in &mut self.ccgs {
            ccg.month = Ccg::month_terms(&self.params, ccg.index, tick as usize);
            ccg.spent = 0.0;
            ccg.start = self.rng.random_range(0..ccg.n);
        }
        // Reorder the schedule: the queue is re-heaped when the iterator is dropped.
        for (agent, priority) in schedule.events.iter_mut() {
            let practice = agent
                .agent
                .downcast_ref::<Practice>()
                .expect("every agent is a Practice");
            priority.ordering = self.ccgs[practice.ccg].ordering(practice.member);
        }
    }

    fn after_step(&mut self, _schedule: &mut Schedule) {
        self.close_month();
    }

    fn end_condition(&mut self, _schedule: &mut Schedule) -> bool {
        self.tick >= self.params.months
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn as_state(&self) -> &dyn State {
        self
    }

    fn as_state_mut(&mut self) -> &mut dyn State {
        self
    }
}

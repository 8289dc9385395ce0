//! A CCG: the CCG-wide terms of its month, its locality means and its budget. CCGs are not
//! agents (as in the Mesa peer, they are plain objects); the state holds them and its
//! `before_step` gives each its month.

use crate::scenario::{Framing, Level, Params, ACTIONS};

/// The CCG-wide terms of one month (ODD 3).
#[derive(Clone, Copy, Debug)]
pub struct Month {
    /// Felt top-down control c(t) (T1).
    pub control: f64,
    /// Co-commissioning level λ(t).
    pub level: Level,
    /// The CCG part of the influence target, I_ccg(t) (7.0; Z1, T1, lay majority).
    pub influence_ccg: f64,
    /// The CCG part of the engagement target, E_ccg(t) (7.0; T1).
    pub engagement_ccg: f64,
    /// Conflict-of-interest multiplier κ(t) (7.7).
    pub coi: f64,
    /// Framing gain φ (7.7).
    pub framing_gain: f64,
    /// The month's support budget M(t) (B1).
    pub budget: f64,
    /// The mix's rates in force at λ(t) (min_level gating of the mix).
    pub rates: [f64; ACTIONS],
    /// The actions allowed at λ(t) (min_level gating of the ladder).
    pub allowed: [bool; ACTIONS],
    pub any_rate: bool,
}

#[derive(Clone, Debug)]
pub struct Ccg {
    /// Its index in the population (`Params::ccgs`).
    pub index: usize,
    pub n: usize,
    pub localities: usize,
    /// The schedule ordering of its first member in service order (the CCGs' members are
    /// ordered CCG after CCG).
    pub first: usize,
    pub month: Month,
    /// Where the month's service order starts (a member index, drawn each month).
    pub start: usize,
    /// Budget spent so far this month (B2).
    pub spent: f64,
    /// Locality means of engagement and trust from the start-of-month state (7.3).
    pub loc_e: Vec<f64>,
    pub loc_t: Vec<f64>,
    /// What the members publish at the end of their turn, for the next month's means: sums of
    /// engagement and trust by locality (the double buffer of krABMaga's fields).
    pub next_e: Vec<f64>,
    pub next_t: Vec<f64>,
    pub count: Vec<usize>,
}

impl Ccg {
    pub fn new(index: usize, params: &Params, first: usize) -> Ccg {
        let spec = &params.ccgs[index];
        let localities = spec.localities;
        let mut count = vec![0; localities];
        for i in 0..spec.practices {
            count[i * localities / spec.practices] += 1;
        }
        Ccg {
            index,
            n: spec.practices,
            localities,
            first,
            month: Ccg::month_terms(params, index, 0),
            start: 0,
            spent: 0.0,
            loc_e: vec![0.0; localities],
            loc_t: vec![0.0; localities],
            next_e: vec![0.0; localities],
            next_t: vec![0.0; localities],
            count,
        }
    }

    /// The CCG-wide terms of month `tick` of CCG `index`.
    pub fn month_terms(params: &Params, index: usize, tick: usize) -> Month {
        let p = &params.m;
        let spec = &params.ccgs[index];
        let g = &spec.governance;
        let control = if p.top_down.enabled {
            params.top_down[tick] * (1.0 - g.autonomy) // T1
        } else {
            0.0
        };
        let level = spec.levels[tick];
        let delegated = p.delegation.enabled && level == Level::Delegated;
        let size = if p.size.enabled {
            // Z1
            p.size.influence_per_log_size
                * (spec.practices.max(1) as f64 / p.size.reference_practices).ln()
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
        let budget = if p.budget.enabled {
            // B1
            g.support_budget * spec.patients as f64 / 12.0 * params.budget_multiplier[tick]
        } else {
            f64::INFINITY
        };
        let allowed = params.min_levels.map(|min| level >= min);
        let mut rates = params.rates;
        for (rate, ok) in rates.iter_mut().zip(allowed) {
            if !ok {
                *rate = 0.0;
            }
        }
        Month {
            control,
            level,
            influence_ccg,
            engagement_ccg,
            coi,
            framing_gain,
            budget,
            rates,
            allowed,
            any_rate: rates.iter().any(|&r| r > 0.0),
        }
    }

    /// The members' published sums become the locality means (the start-of-month state of the
    /// month to come), and the buffer is cleared for the next publication.
    pub fn commit_locality_means(&mut self) {
        for l in 0..self.localities {
            let c = self.count[l];
            (self.loc_e[l], self.loc_t[l]) = if c > 0 {
                (self.next_e[l] / c as f64, self.next_t[l] / c as f64)
            } else {
                (0.0, 0.0)
            };
        }
        self.next_e.fill(0.0);
        self.next_t.fill(0.0);
    }

    /// The schedule ordering of member `member` this month: CCG after CCG, and within a CCG
    /// cyclic from the month's random start.
    pub fn ordering(&self, member: usize) -> i32 {
        (self.first + (member + self.n - self.start) % self.n) as i32
    }
}

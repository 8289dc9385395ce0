//! Mergers (ODD 7.17, `[model.mergers]`): practices that merge into a neighbour of their
//! locality (M1-M3), and CCGs that merge at NHS England's reorganisations, their members and
//! governance combined (M4-M6). Which CCGs merge is the population's [`MergerPlan`]
//! (`crate::population`); what a merger does to the practices and the CCG is here. The draws
//! come from a stream of their own (`Purpose::Mergers`), so the unit stream is the same with the
//! mechanism or without it until the first merger changes the number of practices.
//!
//! [`MergerPlan`]: crate::population::MergerPlan

use std::borrow::Cow;

use rand::RngExt;

use super::CcgRun;
use super::initialise::RoleTerms;
use super::leadership::{Leaders, Seats};
use crate::model::Role;
use crate::model::params::Params;
use crate::model::practice::Practices;
use crate::population::Ccg;
use crate::rng::{ModelRng, Purpose, stream};
use crate::scenario::Scenario;

const GOVERNING_BODY: u8 = Role::GoverningBody as u8;
const LEAD: u8 = Role::OtherFormal as u8;
const NO_ROLE: u8 = Role::None as u8;

/// A CCG's practices that merge, and the stream of every merger draw of the CCG.
pub(super) struct PracticeMergers {
    rng: ModelRng,
    /// Eq. M1: the monthly probability that a practice merges into another, 1 - e^(-r/12).
    hazard: f64,
    /// How many of the CCG's initial practices each practice is made of: the weights of M2.
    size: Vec<f32>,
    roles: RoleTerms,
    /// Scratch: the practices that merge this month, in increasing order.
    leaving: Vec<usize>,
}

impl PracticeMergers {
    /// The mergers of CCG `ccg` in replicate `replicate`, just initialised, or `None` when the
    /// mechanism is off.
    pub(super) fn new(scenario: &Scenario, ccg: &Ccg, replicate: u32) -> Option<PracticeMergers> {
        let m = &scenario.model.mergers;
        m.enabled.then(|| PracticeMergers {
            rng: stream(
                scenario.seed,
                Purpose::Mergers,
                replicate as u64,
                ccg.index as u64,
            ),
            hazard: -(-(m.practice_rate as f64) / 12.0).exp_m1(),
            size: vec![1.0; ccg.practices as usize],
            roles: RoleTerms::new(&scenario.model),
            leaving: Vec::new(),
        })
    }

    /// The month's practice mergers (M1-M3), at the start of the month; whether there were any.
    /// Each practice, in order, merges with probability `hazard` into a practice drawn uniformly
    /// from the others of its locality (none if it is alone there); they merge from the last to
    /// the first, so each index still names the practice drawn.
    pub(super) fn month(
        &mut self,
        p: &Params,
        pr: &mut Practices,
        bounds: &mut [usize],
        mut leaders: Option<&mut Leaders>,
    ) -> bool {
        if self.hazard <= 0.0 {
            return false;
        }
        self.leaving.clear();
        for j in 0..pr.len() {
            if self.rng.random::<f64>() < self.hazard {
                self.leaving.push(j);
            }
        }
        let mut merged = false;
        for k in (0..self.leaving.len()).rev() {
            let j = self.leaving[k];
            let l = bounds.partition_point(|&b| b <= j) - 1;
            let (lo, hi) = (bounds[l], bounds[l + 1]);
            if hi - lo < 2 {
                continue;
            }
            // A partner among the locality's other practices.
            let mut i = self.rng.random_range(lo..hi - 1);
            if i >= j {
                i += 1;
            }
            let (wi, wj) = (self.size[i], self.size[j]);
            let (dispositions, lost) = combine(p, &self.roles, pr, i, j, wi, wj);
            self.size[i] = wi + wj;
            self.size.remove(j);
            pr.remove(j);
            for b in &mut bounds[l + 1..] {
                *b -= 1;
            }
            let i = if i > j { i - 1 } else { i };
            match leaders.as_deref_mut() {
                Some(leaders) => leaders.merged(i, j, dispositions, lost),
                None => {
                    if let Some(role) = lost {
                        // Without leaders who can walk away, a seat is never left empty.
                        let within = if role == LEAD {
                            bounds[l]..bounds[l + 1]
                        } else {
                            0..pr.len()
                        };
                        fill(p, &self.roles, &mut self.rng, pr, within, role);
                    }
                }
            }
            merged = true;
        }
        merged
    }
}

/// Eq. M2: practice `j` (of weight `wj`) merges into practice `i` (of weight `wi`), which takes
/// the weighted means of their states, lasting dispositions and attitudes (on the logit scale),
/// the further step of the two on the escalation ladder, and the higher of their roles, with the
/// anchors that role gives. Returns the merged dispositions (dE, dT) and the role of the seat the
/// merger leaves empty, if any. `j` is not removed.
fn combine(
    p: &Params,
    roles: &RoleTerms,
    pr: &mut Practices,
    i: usize,
    j: usize,
    wi: f32,
    wj: f32,
) -> ((f32, f32), Option<u8>) {
    let a = wi / (wi + wj);
    let mean = |x: f32, y: f32| a * x + (1.0 - a) * y;
    for c in [
        &mut pr.engagement,
        &mut pr.trust,
        &mut pr.influence,
        &mut pr.quality,
        &mut pr.burden,
        &mut pr.sanction_memory,
        &mut pr.own_quality,
        &mut pr.trust_factor,
    ] {
        c[i] = mean(c[i], c[j]);
    }
    for odds in &mut pr.attitude_odds {
        odds[i] = mean(odds[i].ln(), odds[j].ln()).exp();
    }
    if pr.ladder_step[j] > pr.ladder_step[i] {
        pr.ladder_step[i] = pr.ladder_step[j];
        pr.ladder_streak[i] = pr.ladder_streak[j];
    }
    let (ri, rj) = (pr.role[i], pr.role[j]);
    let (ei, ti) = dispositions_of(p, roles, pr, i);
    let (ej, tj) = dispositions_of(p, roles, pr, j);
    let merged = (mean(ei, ej), mean(ti, tj));
    let role = ri.min(rj);
    let lost = ri.max(rj);
    set_role(p, roles, pr, i, role, merged);
    (merged, (lost != NO_ROLE).then_some(lost))
}

/// Give practice `i` role `role`, with the anchors it makes of the lasting dispositions
/// `(dE, dT)` (as eq. L5's new seat holders take them); the fall in its influence target from
/// vacant seats (eq. L6) is kept.
fn set_role(p: &Params, roles: &RoleTerms, pr: &mut Practices, i: usize, role: u8, d: (f32, f32)) {
    let fall = roles.influence[pr.role[i] as usize] - pr.influence_anchor[i];
    let r = role as usize;
    pr.role[i] = role;
    pr.trust_anchor[i] = p.dynamics.trust_base + roles.trust[r] + d.1;
    pr.engagement_anchor[i] = roles.engagement[r] + d.0;
    pr.load_anchor[i] = roles.load[r];
    pr.view_anchor[i] = p.survey.view_base + roles.ownership[r];
    pr.influence_anchor[i] = roles.influence[r] - fall;
}

/// Practice `i`'s lasting dispositions (dE, dT), read back from its anchors.
fn dispositions_of(p: &Params, roles: &RoleTerms, pr: &Practices, i: usize) -> (f32, f32) {
    let r = pr.role[i] as usize;
    (
        pr.engagement_anchor[i] - roles.engagement[r],
        pr.trust_anchor[i] - p.dynamics.trust_base - roles.trust[r],
    )
}

/// A seat in `role` left empty by a merger, without leaders who can walk away (M3): a member
/// without a role of `within`, drawn uniformly, takes it; none if there is none.
fn fill(
    p: &Params,
    roles: &RoleTerms,
    rng: &mut ModelRng,
    pr: &mut Practices,
    within: std::ops::Range<usize>,
    role: u8,
) {
    let free = pr.role[within.clone()]
        .iter()
        .filter(|&&r| r == NO_ROLE)
        .count();
    if free == 0 {
        return;
    }
    let pick = rng.random_range(0..free);
    let i = within
        .filter(|&i| pr.role[i] == NO_ROLE)
        .nth(pick)
        .expect("counted above");
    let d = dispositions_of(p, roles, pr, i);
    set_role(p, roles, pr, i, role, d);
}

/// The governance of two merging CCGs combined (M5): autonomy, conflict management and the
/// support budget per patient are means weighted by patients (so the budget is the sum of the
/// two); the governing body has the larger of the two numbers of seats; the framing and the
/// locality size are the survivor's.
fn merged_ccg(survivor: &Ccg, absorbed: &Ccg, tick: u32) -> Ccg {
    let (s, a) = (&survivor.governance, &absorbed.governance);
    let (ps, pa) = (survivor.patients as f64, absorbed.patients as f64);
    let w = if ps + pa > 0.0 { ps / (ps + pa) } else { 0.5 };
    let mean = |x: f32, y: f32| (w * x as f64 + (1.0 - w) * y as f64) as f32;
    let mut governance = s.clone();
    governance.autonomy = mean(s.autonomy, a.autonomy);
    governance.conflict_management = mean(s.conflict_management, a.conflict_management);
    governance.support_budget = w * s.support_budget + (1.0 - w) * a.support_budget;
    governance.governing_body_seats = s.governing_body_seats.max(a.governing_body_seats);
    let mut levels = survivor.levels.clone();
    for (l, &other) in levels.iter_mut().zip(&absorbed.levels).skip(tick as usize) {
        *l = (*l).max(other);
    }
    Ccg {
        id: survivor.id.clone(),
        index: survivor.index,
        practices: survivor.practices + absorbed.practices,
        patients: survivor.patients + absorbed.patients,
        localities: survivor.localities + absorbed.localities,
        governance,
        levels,
    }
}

impl CcgRun<'_> {
    /// Eq. M6: take in the CCG `absorbed` at the start of month `tick`. Its practices join
    /// this CCG's after them, its localities stay localities; the governance is combined (M5);
    /// the level is the further of the two (from `tick` on, and the choice's); governing-body
    /// members beyond the merged body's seats, drawn uniformly, lose their seats; the
    /// adaptations, expectations and streams are the survivor's. The last month's tallies are
    /// added, so a choice at `tick` reads the survey of the merged membership.
    pub(super) fn absorb(&mut self, absorbed: CcgRun<'_>, tick: u32) {
        let p = &self.scenario.model;
        let merged = merged_ccg(&self.ccg, &absorbed.ccg, tick);
        let ws = &mut *self.ws;
        let n = ws.practices.len();
        ws.practices.append(&absorbed.ws.practices);
        ws.bounds.pop();
        ws.bounds.extend(absorbed.ws.bounds.iter().map(|b| b + n));
        let pr = &mut ws.practices;
        let mergers = self
            .mergers
            .as_mut()
            .expect("CCGs merge only with [model.mergers] on");
        if let Some(other) = &absorbed.mergers {
            mergers.size.extend_from_slice(&other.size);
        }
        // The governing body's seats: its members beyond them lose their seats.
        let seats = (merged.governance.governing_body_seats as usize).min(pr.len());
        let mut holders: Vec<usize> = (0..pr.len())
            .filter(|&i| pr.role[i] == GOVERNING_BODY)
            .collect();
        while holders.len() > seats {
            let k = mergers.rng.random_range(0..holders.len());
            let i = holders.remove(k);
            let d = dispositions_of(p, &mergers.roles, pr, i);
            set_role(p, &mergers.roles, pr, i, NO_ROLE, d);
        }
        match (&mut self.leaders, absorbed.leaders) {
            (Some(leaders), Some(other)) => {
                leaders.absorb(other, seats as u32, holders.len() as u32);
            }
            _ => self.initial_seats = Seats::initial(pr),
        }
        if let (Some(choice), Some(other)) = (&mut self.choice, &absorbed.choice) {
            choice.absorb(other);
        }
        for (t, o) in self.last.iter_mut().zip(&absorbed.last) {
            *t += o;
        }
        for (t, o) in self.internal_tally.iter_mut().zip(&absorbed.internal_tally) {
            *t += o;
        }
        self.ccg = Cow::Owned(merged);
    }
}

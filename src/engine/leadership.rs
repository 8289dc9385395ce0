//! Leaders who can walk away (ODD 7.15, `[model.leadership]`): governing-body seats and locality
//! leads are held by members willing to lead. Every `review_every` months each seat holder stays
//! with a probability that rises with its willingness, which rises with engagement and falls with
//! the load the role carries, with outside opportunities (GP federations, provider roles) and,
//! for the governing body, with a lay/executive-majority committee taking the decisions
//! (L1-L4). A vacant seat is offered to the most willing members without a role, and taken only
//! if one of them is willing (L5); seats left vacant lower every member's perceived-influence
//! target (L6). The draws come from a stream of their own (`Purpose::Leadership`), so the unit
//! stream and its lanes are the same with the mechanism or without it.

use rand::RngExt;

use super::initialise::{Dispositions, RoleTerms};
use super::month::Month;
use crate::metrics::{Tally, tally as ix};
use crate::model::params::{Leadership as Params, Params as Model};
use crate::model::practice::Practices;
use crate::model::submodels::logistic;
use crate::model::{CommissioningLevel, Role};
use crate::rng::ModelRng;

const GOVERNING_BODY: u8 = Role::GoverningBody as u8;
const LEAD: u8 = Role::OtherFormal as u8;
const NO_ROLE: u8 = Role::None as u8;

/// A CCG's seats and how many of them stand vacant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Seats {
    pub(super) governing_body: u32,
    pub(super) governing_body_vacant: u32,
    pub(super) leads: u32,
    pub(super) leads_vacant: u32,
}

impl Seats {
    /// The seats initialisation fills (ODD 5.1), every one of them taken: min(seats, n) on the
    /// governing body and one lead per locality that has one.
    pub(super) fn initial(pr: &Practices) -> Seats {
        let roles = &pr.role[..pr.len()];
        let count = |role: u8| roles.iter().filter(|&&r| r == role).count() as u32;
        Seats {
            governing_body: count(GOVERNING_BODY),
            leads: count(LEAD),
            ..Seats::default()
        }
    }

    /// Add the seats and vacancies to the month's tally.
    pub(super) fn add_to(&self, t: &mut Tally) {
        t[ix::GOVERNING_BODY_SEATS] += self.governing_body as f64;
        t[ix::GOVERNING_BODY_VACANT] += self.governing_body_vacant as f64;
        t[ix::LEAD_SEATS] += self.leads as f64;
        t[ix::LEAD_VACANT] += self.leads_vacant as f64;
    }

    /// The governing body's vacancy share v (0 without seats).
    fn vacancy_share(&self) -> f32 {
        if self.governing_body == 0 {
            0.0
        } else {
            self.governing_body_vacant as f32 / self.governing_body as f32
        }
    }
}

/// Eq. L2: the fall in willingness from outside opportunities, `months` months after
/// `outside_from` (none before it).
pub(super) fn outside(l: &Params, months: i32) -> f32 {
    (l.outside_per_year * months.max(0) as f32 / 12.0).min(l.outside_max)
}

/// The CCG-wide terms of willingness at a review.
#[derive(Debug, Clone, Copy)]
pub(super) struct Terms {
    pub(super) engagement_base: f32,
    pub(super) reference_load: f32,
    /// O(t), eq. L2.
    pub(super) outside: f32,
    /// The governing body's lay-majority term D(t).
    pub(super) lay_majority: f32,
}

impl Terms {
    pub(super) fn new(p: &Model, month: &Month, months_since_outside: i32) -> Terms {
        let l = &p.leadership;
        let delegated = p.delegation.enabled && month.level == CommissioningLevel::Delegated;
        Terms {
            engagement_base: p.dynamics.engagement_base,
            reference_load: p.burden.reference_load,
            outside: outside(l, months_since_outside),
            lay_majority: if delegated {
                l.lay_majority_effect
            } else {
                0.0
            },
        }
    }
}

/// Eq. L3: the willingness (logit scale) of a practice with engagement `engagement` to hold
/// `role`, in which it would carry the load `load` (L1), from `base` (`stay_base` for the holder,
/// `take_base` for a candidate).
pub(super) fn willingness(
    l: &Params,
    t: &Terms,
    base: f32,
    role: u8,
    engagement: f32,
    load: f32,
) -> f32 {
    let lay = if role == GOVERNING_BODY {
        t.lay_majority
    } else {
        0.0
    };
    base + l.engagement_effect * (engagement - t.engagement_base)
        - l.burden_effect * (load - t.reference_load)
        - t.outside
        - lay
}

/// A CCG's leadership: its seats, the dispositions that rebuild a practice's anchors when its
/// role changes, and the stream its reviews draw from.
pub(super) struct Leaders {
    rng: ModelRng,
    dispositions: Dispositions,
    roles: RoleTerms,
    /// Whether each locality has a lead's seat (it had a lead at initialisation).
    lead_seat: Vec<bool>,
    seats: Seats,
    /// Scratch: each practice's role before the review, and whether it left a seat in it.
    before: Vec<u8>,
    left: Vec<bool>,
    /// Scratch: candidates for a seat, as (willingness, practice).
    candidates: Vec<(f32, u32)>,
}

impl Leaders {
    /// The leadership of a CCG just initialised (`pr`, with localities `bounds`), every seat
    /// filled.
    pub(super) fn new(
        p: &Model,
        rng: ModelRng,
        dispositions: Dispositions,
        pr: &Practices,
        bounds: &[usize],
    ) -> Leaders {
        let lead_seat = bounds
            .windows(2)
            .map(|w| pr.role[w[0]..w[1]].contains(&LEAD))
            .collect();
        Leaders {
            rng,
            dispositions,
            roles: RoleTerms::new(p),
            lead_seat,
            seats: Seats::initial(pr),
            before: Vec::new(),
            left: Vec::new(),
            candidates: Vec::new(),
        }
    }

    pub(super) fn seats(&self) -> Seats {
        self.seats
    }

    /// Practice `j` has merged into practice `i` (ODD 7.17, M2; `i` counted after `j` is
    /// removed), with the lasting dispositions `d` (dE, dT); a seat in role `lost` is left
    /// vacant until the next review.
    pub(super) fn merged(&mut self, i: usize, j: usize, d: (f32, f32), lost: Option<u8>) {
        self.dispositions.engagement.remove(j);
        self.dispositions.trust.remove(j);
        self.dispositions.engagement[i] = d.0;
        self.dispositions.trust[i] = d.1;
        match lost {
            Some(GOVERNING_BODY) => self.seats.governing_body_vacant += 1,
            Some(LEAD) => self.seats.leads_vacant += 1,
            _ => {}
        }
    }

    /// Take in the leadership of a CCG whose practices were appended after this one's (ODD 7.17,
    /// M6): the merged governing body has `seats` seats, `held` of them taken.
    pub(super) fn absorb(&mut self, other: Leaders, seats: u32, held: u32) {
        self.dispositions
            .engagement
            .extend_from_slice(&other.dispositions.engagement);
        self.dispositions
            .trust
            .extend_from_slice(&other.dispositions.trust);
        self.lead_seat.extend_from_slice(&other.lead_seat);
        self.seats.governing_body = seats;
        self.seats.governing_body_vacant = seats.saturating_sub(held);
        self.seats.leads += other.seats.leads;
        self.seats.leads_vacant += other.seats.leads_vacant;
    }

    /// The review of the seats at the start of a month (eqs. L1-L6): departures, offers of the
    /// vacant seats, then every practice's anchors.
    pub(super) fn review(&mut self, p: &Model, t: &Terms, pr: &mut Practices, bounds: &[usize]) {
        let l = &p.leadership;
        let n = pr.len();
        self.before.clear();
        self.before.extend_from_slice(&pr.role[..n]);
        self.left.clear();
        self.left.resize(n, false);
        // L1: the load practice i would carry in role r: its load with the role's standing load
        // in place of its own.
        let roles = &self.roles;
        let load = |pr: &Practices, i: usize, r: u8| {
            pr.burden[i] - pr.load_anchor[i] + roles.load[r as usize]
        };

        // L4: each holder, in practice order, stays with probability logistic(w).
        for i in 0..n {
            let r = pr.role[i];
            if r == GOVERNING_BODY || r == LEAD {
                let w = willingness(l, t, l.stay_base, r, pr.engagement[i], load(pr, i, r));
                if self.rng.random::<f64>() >= logistic(w) as f64 {
                    pr.role[i] = NO_ROLE;
                    self.left[i] = true;
                }
            }
        }

        // L5: vacant seats are offered to members without a role (not those who just left),
        // most willing first, up to `offers` of them per seat; the first who is willing takes it.
        let held = pr.role[..n]
            .iter()
            .filter(|&&r| r == GOVERNING_BODY)
            .count() as u32;
        let mut vacant = self.seats.governing_body - held;
        if vacant > 0 {
            self.candidates.clear();
            for i in 0..n {
                if pr.role[i] == NO_ROLE && !self.left[i] {
                    let w = willingness(
                        l,
                        t,
                        l.take_base,
                        GOVERNING_BODY,
                        pr.engagement[i],
                        load(pr, i, GOVERNING_BODY),
                    );
                    self.candidates.push((w, i as u32));
                }
            }
            sort(&mut self.candidates);
            let (mut next, mut filled) = (0, 0);
            for _ in 0..vacant {
                if let Some(i) = offer(&mut self.rng, &self.candidates, &mut next, l.offers) {
                    pr.role[i] = GOVERNING_BODY;
                    filled += 1;
                }
            }
            vacant -= filled;
        }
        self.seats.governing_body_vacant = vacant;
        let mut leads_vacant = 0;
        for (b, &seat) in bounds.windows(2).zip(&self.lead_seat) {
            let block = b[0]..b[1];
            if !seat || pr.role[block.clone()].contains(&LEAD) {
                continue;
            }
            self.candidates.clear();
            for i in block {
                if pr.role[i] == NO_ROLE && !self.left[i] {
                    let w =
                        willingness(l, t, l.take_base, LEAD, pr.engagement[i], load(pr, i, LEAD));
                    self.candidates.push((w, i as u32));
                }
            }
            sort(&mut self.candidates);
            match offer(&mut self.rng, &self.candidates, &mut 0, l.offers) {
                Some(i) => pr.role[i] = LEAD,
                None => leads_vacant += 1,
            }
        }
        self.seats.leads_vacant = leads_vacant;

        // A practice whose role changed takes the new role's terms in its anchors, computed as
        // initialisation computes them (ODD 5.1), so its states drift to those of a practice that
        // always had the role.
        let d = &p.dynamics;
        for i in 0..n {
            let r = pr.role[i];
            if r != self.before[i] {
                let r = r as usize;
                pr.trust_anchor[i] = d.trust_base + roles.trust[r] + self.dispositions.trust[i];
                pr.engagement_anchor[i] = roles.engagement[r] + self.dispositions.engagement[i];
                pr.load_anchor[i] = roles.load[r];
                pr.view_anchor[i] = p.survey.view_base + roles.ownership[r];
            }
        }
        // L6: vacancies lower every member's influence target, and a locality without its lead
        // its own members' further. With no vacancy the anchor is the role's term, bit for bit.
        let all = l.vacancy_influence * self.seats.vacancy_share();
        for (b, &seat) in bounds.windows(2).zip(&self.lead_seat) {
            let block = b[0]..b[1];
            let own = if seat && !pr.role[block.clone()].contains(&LEAD) {
                l.lead_vacancy_influence
            } else {
                0.0
            };
            let fall = all + own;
            for i in block {
                pr.influence_anchor[i] = roles.influence[pr.role[i] as usize] - fall;
            }
        }
    }
}

/// Most willing first; ties in practice order.
fn sort(candidates: &mut [(f32, u32)]) {
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
}

/// Offer a seat to up to `offers` of `candidates` from `next` on, each willing with probability
/// logistic(w) (one uniform per offer); the practice that takes it, if any. `next` moves past every
/// member asked.
fn offer(
    rng: &mut ModelRng,
    candidates: &[(f32, u32)],
    next: &mut usize,
    offers: u32,
) -> Option<usize> {
    for _ in 0..offers {
        let &(w, i) = candidates.get(*next)?;
        *next += 1;
        if rng.random::<f64>() < logistic(w) as f64 {
            return Some(i as usize);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::environment::Environment;
    use crate::engine::initialise::initialise;
    use crate::population::Population;
    use crate::rng::{Purpose, stream};
    use crate::scenario::Scenario;
    use std::path::Path;

    /// A CCG of 40 practices (6 governing-body seats, 5 localities) just initialised.
    fn ccg() -> (Scenario, Practices, Vec<usize>, Dispositions) {
        let text = "months = 24\n[[ccgs]]\nid = \"a\"\npractices = 40\n[model.leadership]\nenabled = true\n";
        let s = Scenario::parse(text, Path::new("t.toml")).unwrap();
        let pop = Population::build(&s);
        let env = Environment::new(&s);
        let (mut pr, mut bounds, mut d) =
            (Practices::default(), Vec::new(), Dispositions::default());
        let mut rng = stream(3, Purpose::Unit, 0, 0);
        initialise(
            &s,
            &env,
            &pop.ccgs[0],
            &mut rng,
            &mut pr,
            &mut bounds,
            Some(&mut d),
        );
        (s, pr, bounds, d)
    }

    #[test]
    fn leavers_take_the_anchors_of_a_member_without_a_role_exactly_and_back() {
        let (s, mut pr, bounds, d) = ccg();
        let mut p = s.model.clone();
        let start = pr.clone();
        let mut leaders = Leaders::new(
            &p,
            stream(3, Purpose::Leadership, 0, 0),
            d.clone(),
            &pr,
            &bounds,
        );
        assert_eq!(
            leaders.seats(),
            Seats {
                governing_body: 6,
                governing_body_vacant: 0,
                leads: 5,
                leads_vacant: 0
            }
        );
        // Everyone leaves and nobody takes a seat.
        p.leadership.stay_base = -20.0;
        p.leadership.take_base = -20.0;
        let t = terms();
        leaders.review(&p, &t, &mut pr, &bounds);
        assert_eq!(
            leaders.seats(),
            Seats {
                governing_body: 6,
                governing_body_vacant: 6,
                leads: 5,
                leads_vacant: 5
            }
        );
        let roles = RoleTerms::new(&p);
        let none = NO_ROLE as usize;
        let fall = p.leadership.vacancy_influence * 1.0 + p.leadership.lead_vacancy_influence;
        for i in 0..pr.len() {
            assert_eq!(pr.role[i], NO_ROLE);
            let trust = p.dynamics.trust_base + roles.trust[none] + d.trust[i];
            assert_eq!(pr.trust_anchor[i].to_bits(), trust.to_bits());
            assert_eq!(
                pr.engagement_anchor[i].to_bits(),
                (roles.engagement[none] + d.engagement[i]).to_bits()
            );
            assert_eq!(pr.load_anchor[i], 0.0);
            assert_eq!(pr.view_anchor[i], p.survey.view_base);
            assert_eq!(pr.influence_anchor[i], roles.influence[none] - fall);
            if start.role[i] == NO_ROLE {
                // A member who never had a role kept its anchors, bit for bit.
                assert_eq!(
                    pr.trust_anchor[i].to_bits(),
                    start.trust_anchor[i].to_bits()
                );
                assert_eq!(
                    pr.engagement_anchor[i].to_bits(),
                    start.engagement_anchor[i].to_bits()
                );
            }
        }
        // Now every seat is taken at once, by the most willing: the most engaged members.
        p.leadership.stay_base = 20.0;
        p.leadership.take_base = 20.0;
        // Willingness by engagement alone (the leavers' load has not yet relaxed).
        p.leadership.burden_effect = 0.0;
        leaders.review(&p, &t, &mut pr, &bounds);
        assert_eq!(
            leaders.seats(),
            Seats {
                governing_body: 6,
                governing_body_vacant: 0,
                leads: 5,
                leads_vacant: 0
            }
        );
        let gb: Vec<usize> = (0..pr.len())
            .filter(|&i| pr.role[i] == GOVERNING_BODY)
            .collect();
        let least = gb
            .iter()
            .map(|&i| pr.engagement[i])
            .fold(f32::INFINITY, f32::min);
        let others = (0..pr.len()).filter(|&i| pr.role[i] == NO_ROLE);
        assert!(others.map(|i| pr.engagement[i]).all(|e| e <= least));
        // Whoever holds the role it started with is back at its initial anchors, bit for bit.
        for i in 0..pr.len() {
            if pr.role[i] == start.role[i] {
                for (a, b) in [
                    (&pr.trust_anchor, &start.trust_anchor),
                    (&pr.engagement_anchor, &start.engagement_anchor),
                    (&pr.influence_anchor, &start.influence_anchor),
                    (&pr.load_anchor, &start.load_anchor),
                    (&pr.view_anchor, &start.view_anchor),
                ] {
                    assert_eq!(a[i].to_bits(), b[i].to_bits(), "practice {i}");
                }
            }
        }
    }

    fn terms() -> Terms {
        Terms {
            engagement_base: 0.55,
            reference_load: 0.25,
            outside: 0.0,
            lay_majority: 0.0,
        }
    }

    #[test]
    fn willingness_rises_with_engagement_and_falls_with_load_and_outside_roles() {
        let l = Params::default();
        let t = terms();
        let w = |e, load, t: &Terms| willingness(&l, t, 1.0, LEAD, e, load);
        assert_eq!(w(0.55, 0.25, &t), 1.0);
        assert!(w(0.7, 0.25, &t) > w(0.55, 0.25, &t));
        assert!(w(0.55, 0.6, &t) < w(0.55, 0.25, &t));
        let away = Terms { outside: 0.5, ..t };
        assert!((w(0.55, 0.25, &away) - 0.5).abs() < 1e-6);
        // The lay-majority term weighs on the governing body only.
        let lay = Terms {
            lay_majority: 0.3,
            ..t
        };
        assert_eq!(w(0.55, 0.25, &lay), 1.0);
        assert!(willingness(&l, &lay, 1.0, GOVERNING_BODY, 0.55, 0.25) < 1.0);
    }

    #[test]
    fn outside_opportunities_grow_from_their_start_up_to_their_cap() {
        let l = Params {
            outside_per_year: 0.4,
            outside_max: 1.0,
            ..Params::default()
        };
        assert_eq!(outside(&l, -5), 0.0);
        assert_eq!(outside(&l, 0), 0.0);
        assert!((outside(&l, 12) - 0.4).abs() < 1e-6);
        assert!((outside(&l, 18) - 0.6).abs() < 1e-6);
        assert_eq!(outside(&l, 120), 1.0);
    }

    #[test]
    fn a_seat_goes_to_the_most_willing_member_who_accepts_and_no_further() {
        let mut rng = stream(1, Purpose::Leadership, 0, 0);
        let mut c = vec![(0.0, 4), (30.0, 7), (30.0, 2), (-30.0, 9)];
        sort(&mut c);
        assert_eq!(c.iter().map(|x| x.1).collect::<Vec<_>>(), [2, 7, 4, 9]);
        let mut next = 0;
        // Practice 2 is certain to accept (logistic(30) is 1 in single precision).
        assert_eq!(offer(&mut rng, &c, &mut next, 3), Some(2));
        assert_eq!(next, 1);
        assert_eq!(offer(&mut rng, &c, &mut next, 3), Some(7));
        // Nobody left is certain; one who surely refuses is asked and refuses.
        let mut next = 3;
        assert_eq!(offer(&mut rng, &c, &mut next, 5), None);
        assert_eq!(next, 4);
        // Offers at zero: nobody is asked.
        let mut next = 0;
        assert_eq!(offer(&mut rng, &c, &mut next, 0), None);
        assert_eq!(next, 0);
    }
}

//! A CCG's improvement policy: which practices get which action, when and how often (ODD 7.11).
//!
//! Three designs combine in one policy: a fixed monthly mix (`rate` per action, to every member),
//! targeting of underperformers (`target = "underperformers"`), and a responsive escalation ladder
//! (Ayres and Braithwaite 1992) that starts with support, escalates only on persistent
//! underperformance and steps back down when quality recovers.

use serde::{Deserialize, Deserializer, Serialize};

use super::params::Checker;
use super::{Action, CommissioningLevel};

/// Which members an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every member practice.
    #[default]
    All,
    /// Only practices whose quality is below `underperformance_threshold`.
    Underperformers,
}

/// How often an action is used, and on whom.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionPlan {
    /// Probability per month that an eligible practice receives the action.
    pub rate: f32,
    /// Which practices are eligible.
    pub target: Target,
    /// The action is used only while the CCG's co-commissioning level is at least this (e.g.
    /// `"delegated"`: only a CCG holding the GP contracts applies contract sanctions).
    pub min_level: CommissioningLevel,
}

/// The escalation ladder of responsive regulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Escalation {
    /// Steps, from the mildest; a practice enters at the first.
    pub ladder: Vec<Action>,
    /// Months between reviews of each practice's quality.
    pub review_every: u32,
    /// Consecutive underperforming reviews before moving one step up.
    pub escalate_after: u32,
    /// Consecutive reviews at or above the threshold before moving one step down (and off the
    /// ladder from its first step).
    pub deescalate_after: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            ladder: Action::ALL.to_vec(),
            review_every: 3,
            escalate_after: 2,
            deescalate_after: 2,
        }
    }
}

/// `[policy]` in a scenario file. An action's table may give only some of its keys; the others
/// keep that action's default (e.g. sanctions stay aimed at underperformers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    #[serde(deserialize_with = "training_plan")]
    pub training: ActionPlan,
    #[serde(deserialize_with = "data_review_plan")]
    pub data_review: ActionPlan,
    #[serde(deserialize_with = "targets_plan")]
    pub targets: ActionPlan,
    #[serde(deserialize_with = "sanctions_plan")]
    pub sanctions: ActionPlan,
    /// Quality below which a practice counts as underperforming.
    pub underperformance_threshold: f32,
    /// The escalation ladder, if the CCG uses one (in addition to the mix above).
    pub escalation: Option<Escalation>,
}

impl Default for Policy {
    /// The case-study CCGs' 2013-15 mix: education sessions and comparative-data packs, no
    /// targets and no sanctions (NHS England held the GP contracts until April 2015).
    fn default() -> Self {
        Policy {
            training: ActionPlan {
                rate: 0.10,
                ..ActionPlan::default()
            },
            data_review: ActionPlan {
                rate: 0.08,
                ..ActionPlan::default()
            },
            targets: ActionPlan::default(),
            sanctions: ActionPlan {
                target: Target::Underperformers,
                ..ActionPlan::default()
            },
            underperformance_threshold: 0.70,
            escalation: None,
        }
    }
}

/// An action's table as written: any key may be left out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialPlan {
    rate: Option<f32>,
    target: Option<Target>,
    min_level: Option<CommissioningLevel>,
}

fn plan_for<'de, D: Deserializer<'de>>(d: D, action: Action) -> Result<ActionPlan, D::Error> {
    let given = PartialPlan::deserialize(d)?;
    let base = *Policy::default().plan(action);
    Ok(ActionPlan {
        rate: given.rate.unwrap_or(base.rate),
        target: given.target.unwrap_or(base.target),
        min_level: given.min_level.unwrap_or(base.min_level),
    })
}

fn training_plan<'de, D: Deserializer<'de>>(d: D) -> Result<ActionPlan, D::Error> {
    plan_for(d, Action::Training)
}

fn data_review_plan<'de, D: Deserializer<'de>>(d: D) -> Result<ActionPlan, D::Error> {
    plan_for(d, Action::DataReview)
}

fn targets_plan<'de, D: Deserializer<'de>>(d: D) -> Result<ActionPlan, D::Error> {
    plan_for(d, Action::Targets)
}

fn sanctions_plan<'de, D: Deserializer<'de>>(d: D) -> Result<ActionPlan, D::Error> {
    plan_for(d, Action::Sanctions)
}

/// Where a practice stands on the escalation ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LadderState {
    /// Current step, or -1 when off the ladder.
    pub step: i8,
    /// Consecutive underperforming reviews (positive) or good reviews (negative) at this step.
    pub streak: i8,
}

impl LadderState {
    pub const OFF: LadderState = LadderState {
        step: -1,
        streak: 0,
    };
}

impl Policy {
    pub fn plan(&self, action: Action) -> &ActionPlan {
        match action {
            Action::Training => &self.training,
            Action::DataReview => &self.data_review,
            Action::Targets => &self.targets,
            Action::Sanctions => &self.sanctions,
        }
    }

    /// Whether the policy ever uses `action`: a positive rate in the mix, or a step of the
    /// escalation ladder.
    pub fn uses(&self, action: Action) -> bool {
        self.plan(action).rate > 0.0
            || self
                .escalation
                .as_ref()
                .is_some_and(|e| e.ladder.contains(&action))
    }

    /// Plans as an array indexed by [`Action::index`], for the tick loop.
    pub fn plan_mut(&mut self, action: Action) -> &mut ActionPlan {
        match action {
            Action::Training => &mut self.training,
            Action::DataReview => &mut self.data_review,
            Action::Targets => &mut self.targets,
            Action::Sanctions => &mut self.sanctions,
        }
    }

    pub fn plans(&self) -> [ActionPlan; 4] {
        Action::ALL.map(|a| *self.plan(a))
    }

    /// Bit mask of the actions a CCG at `level` may use (their `min_level` is reached); applies
    /// to the ladder's steps as well as to the mix.
    pub fn allowed_at(&self, level: CommissioningLevel) -> u8 {
        Action::ALL
            .iter()
            .filter(|a| level >= self.plan(**a).min_level)
            .fold(0, |m, a| m | a.bit())
    }

    /// The plans in force for a CCG at `level`: actions whose `min_level` is not reached are off.
    pub fn plans_at(&self, level: CommissioningLevel) -> [ActionPlan; 4] {
        self.plans().map(|p| {
            if level >= p.min_level {
                p
            } else {
                ActionPlan { rate: 0.0, ..p }
            }
        })
    }

    pub fn validate(&self, checker: &mut Checker<'_>) {
        for a in Action::ALL {
            checker.sub(a.key()).unit("rate", self.plan(a).rate);
        }
        checker.unit(
            "underperformance_threshold",
            self.underperformance_threshold,
        );
        if let Some(e) = &self.escalation {
            let mut c = checker.sub("escalation");
            if e.ladder.is_empty() || e.ladder.len() > 16 {
                c.problem("ladder", "must list between 1 and 16 steps");
            }
            for (name, v) in [
                ("review_every", e.review_every),
                ("escalate_after", e.escalate_after),
                ("deescalate_after", e.deescalate_after),
            ] {
                if !(1..=120).contains(&v) {
                    c.problem(name, format!("must be between 1 and 120, got {v}"));
                }
            }
        }
    }
}

/// One review of a practice on the escalation ladder; returns the action delivered, if any
/// (ODD 7.11, eq. P2).
pub fn review(
    escalation: &Escalation,
    state: &mut LadderState,
    underperforming: bool,
) -> Option<Action> {
    let top = escalation.ladder.len() as i8 - 1;
    if state.step < 0 {
        if underperforming {
            *state = LadderState { step: 0, streak: 0 };
        }
    } else if underperforming {
        state.streak = state.streak.max(0).saturating_add(1);
        if state.streak as u32 >= escalation.escalate_after && state.step < top {
            state.step += 1;
            state.streak = 0;
        }
    } else {
        state.streak = state.streak.min(0).saturating_sub(1);
        if (-(state.streak as i32)) as u32 >= escalation.deescalate_after {
            state.step -= 1;
            state.streak = 0;
        }
    }
    (state.step >= 0).then(|| escalation.ladder[state.step as usize])
}

/// [`review`] written without branches, for the monthly loop over every practice: the same
/// moves, with the delivered step's action returned as a bit mask (0 when off the ladder).
#[derive(Debug, Clone, Copy)]
pub struct Reviewer {
    escalate_after: i32,
    deescalate_after: i32,
    top: i32,
    /// The action bit of each step (steps beyond the ladder unused).
    bits: [u8; 16],
}

impl Reviewer {
    pub fn new(escalation: &Escalation) -> Reviewer {
        let mut bits = [0u8; 16];
        for (b, a) in bits.iter_mut().zip(&escalation.ladder) {
            *b = a.bit();
        }
        Reviewer {
            escalate_after: escalation.escalate_after.min(i32::MAX as u32) as i32,
            deescalate_after: escalation.deescalate_after.min(i32::MAX as u32) as i32,
            top: escalation.ladder.len().min(16) as i32 - 1,
            bits,
        }
    }

    #[inline(always)]
    pub fn review(&self, state: &mut LadderState, underperforming: bool) -> u8 {
        let (step, streak, bit) = self.review_parts(state.step, state.streak, underperforming);
        *state = LadderState { step, streak };
        bit
    }

    /// [`Reviewer::review`] of every practice, over the ladder's two byte columns (`step`,
    /// `streak`) and the practices' `quality` against `threshold`: the delivered step's action
    /// bit, kept where `allowed`, is added to each practice's `actions`. One branch-free pass
    /// that the compiler vectorises.
    #[inline(always)]
    pub fn review_columns(
        &self,
        step: &mut [i8],
        streak: &mut [i8],
        quality: &[f32],
        threshold: f32,
        allowed: u8,
        actions: &mut [u8],
    ) {
        let n = step.len();
        let (streak, quality, actions) = (&mut streak[..n], &quality[..n], &mut actions[..n]);
        for i in 0..n {
            let (s, k, bit) = self.review_parts(step[i], streak[i], quality[i] < threshold);
            step[i] = s;
            streak[i] = k;
            actions[i] |= bit & allowed;
        }
    }

    /// The move of one review: the new step and streak, and the action bit of the step then held
    /// (0 off the ladder), without branches or table lookups.
    #[inline(always)]
    fn review_parts(&self, step: i8, streak: i8, underperforming: bool) -> (i8, i8, u8) {
        let (step, streak) = (step as i32, streak as i32);
        // Off the ladder: enter at the first step when underperforming.
        let (off_step, off_streak) = if underperforming {
            (0, 0)
        } else {
            (step, streak)
        };
        // On it and underperforming: lengthen the bad streak; escalate after enough.
        let bad = (streak.max(0) + 1).min(i8::MAX as i32);
        let up = bad >= self.escalate_after && step < self.top;
        let (up_step, up_streak) = (step + up as i32, if up { 0 } else { bad });
        // On it and performing: lengthen the good streak; step down after enough.
        let good = (streak.min(0) - 1).max(i8::MIN as i32);
        let down = -good >= self.deescalate_after;
        let (down_step, down_streak) = (step - down as i32, if down { 0 } else { good });
        let on = if underperforming {
            (up_step, up_streak)
        } else {
            (down_step, down_streak)
        };
        let (step, streak) = if step < 0 { (off_step, off_streak) } else { on };
        // The step's action bit: a select over the (at most 16) steps, 0 off the ladder.
        let mut bit = 0u8;
        for (k, &b) in self.bits.iter().enumerate() {
            bit |= b & ((step == k as i32) as u8).wrapping_neg();
        }
        (step as i8, streak as i8, bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Escalation {
        Escalation {
            escalate_after: 2,
            deescalate_after: 2,
            ..Escalation::default()
        }
    }

    #[test]
    fn ladder_starts_with_support_and_escalates_only_on_persistence() {
        let e = ladder();
        let mut s = LadderState::OFF;
        assert_eq!(review(&e, &mut s, false), None);
        assert_eq!(review(&e, &mut s, true), Some(Action::Training));
        assert_eq!(review(&e, &mut s, true), Some(Action::Training));
        assert_eq!(review(&e, &mut s, true), Some(Action::DataReview));
        assert_eq!(review(&e, &mut s, true), Some(Action::DataReview));
        assert_eq!(review(&e, &mut s, true), Some(Action::Targets));
        assert_eq!(review(&e, &mut s, true), Some(Action::Targets));
        assert_eq!(review(&e, &mut s, true), Some(Action::Sanctions));
        // The top step is held while underperformance persists.
        assert_eq!(review(&e, &mut s, true), Some(Action::Sanctions));
        assert_eq!(review(&e, &mut s, true), Some(Action::Sanctions));
    }

    #[test]
    fn ladder_deescalates_when_quality_recovers() {
        let e = ladder();
        let mut s = LadderState { step: 2, streak: 1 };
        // One good review is not enough; two step down; a relapse resets the good streak.
        assert_eq!(review(&e, &mut s, false), Some(Action::Targets));
        assert_eq!(review(&e, &mut s, false), Some(Action::DataReview));
        assert_eq!(review(&e, &mut s, true), Some(Action::DataReview));
        assert_eq!(review(&e, &mut s, false), Some(Action::DataReview));
        assert_eq!(review(&e, &mut s, false), Some(Action::Training));
        assert_eq!(review(&e, &mut s, false), Some(Action::Training));
        assert_eq!(review(&e, &mut s, false), None);
        assert_eq!(
            s,
            LadderState {
                step: -1,
                streak: 0
            }
        );
    }

    #[test]
    fn the_branch_free_review_moves_like_the_reference() {
        for (esc, de, steps) in [(2, 2, 4), (1, 3, 2), (3, 1, 1), (120, 120, 16)] {
            let e = Escalation {
                ladder: (0..steps).map(|k| Action::ALL[k % 4]).collect(),
                review_every: 1,
                escalate_after: esc,
                deescalate_after: de,
            };
            let fast = Reviewer::new(&e);
            for step in -1..steps as i8 {
                for streak in i8::MIN..=i8::MAX {
                    for under in [false, true] {
                        let (mut a, mut b) =
                            (LadderState { step, streak }, LadderState { step, streak });
                        let expected = review(&e, &mut a, under).map_or(0, |a| a.bit());
                        assert_eq!(
                            fast.review(&mut b, under),
                            expected,
                            "{step} {streak} {under}"
                        );
                        assert_eq!(a, b, "{step} {streak} {under}");
                        // The same move over columns, with the bit kept only where allowed.
                        let (mut s, mut k, mut m) = ([step], [streak], [0b1_0000u8]);
                        let q = [if under { 0.0 } else { 1.0 }];
                        fast.review_columns(&mut s, &mut k, &q, 0.5, 0b0101, &mut m);
                        assert_eq!((s[0], k[0]), (a.step, a.streak));
                        assert_eq!(m[0], 0b1_0000 | (expected & 0b0101));
                    }
                }
            }
        }
    }

    #[test]
    fn actions_wait_for_their_commissioning_level() {
        let p = Policy {
            sanctions: ActionPlan {
                rate: 0.5,
                min_level: CommissioningLevel::Delegated,
                ..ActionPlan::default()
            },
            ..Policy::default()
        };
        assert_eq!(
            p.plans_at(CommissioningLevel::Joint)[Action::Sanctions.index()].rate,
            0.0
        );
        assert_eq!(
            p.plans_at(CommissioningLevel::Delegated)[Action::Sanctions.index()].rate,
            0.5
        );
        assert_eq!(
            p.plans_at(CommissioningLevel::None)[Action::Training.index()].rate,
            0.10
        );
    }

    #[test]
    fn a_partial_action_table_keeps_the_other_defaults() {
        let p: Policy = toml::from_str(
            "sanctions = { rate = 0.3 }\ntraining = { target = \"underperformers\" }\n",
        )
        .unwrap();
        assert_eq!(p.sanctions.target, Target::Underperformers);
        assert_eq!(p.sanctions.rate, 0.3);
        assert_eq!(p.training.rate, Policy::default().training.rate);
        assert_eq!(p.training.target, Target::Underperformers);
    }
}

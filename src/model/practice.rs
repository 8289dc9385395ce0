//! The practice agents of one CCG (ODD 2), stored column by column: one vector per state
//! variable, so the monthly update streams through contiguous memory and the compiler can process
//! several practices per instruction.

use super::policy::LadderState;
use crate::rng::LANES;

/// The member practices of one CCG in one replicate. Index `i` in every column is practice `i`.
/// Levels are on [0, 1]; burden is in load units (1 = a heavy standing load); sanction memory is a
/// decaying count of sanctions received.
///
/// Every column is padded with inert practices to a whole number of blocks of [`LANES`], so the
/// monthly loops run whole vectors only; [`Practices::len`] counts the real practices, which come
/// first.
#[derive(Debug, Default, Clone)]
pub struct Practices {
    /// Number of real practices.
    count: usize,
    /// Engagement with the work of the CCG.
    pub engagement: Vec<f32>,
    /// Trust in the CCG.
    pub trust: Vec<f32>,
    /// Perceived influence over the CCG's decisions.
    pub influence: Vec<f32>,
    /// Quality of care: share of quality indicators achieved.
    pub quality: Vec<f32>,
    /// Meeting and paperwork load.
    pub burden: Vec<f32>,
    /// Decaying memory of sanctions received.
    pub sanction_memory: Vec<f32>,
    /// Position on the escalation ladder, as two byte columns: the step (-1 off the ladder) and
    /// the streak of [`LadderState`].
    pub ladder_step: Vec<i8>,
    pub ladder_streak: Vec<i8>,
    /// Role in the CCG, as `Role as u8`.
    pub role: Vec<u8>,
    /// The quality level the practice drifts back to without CCG action.
    pub own_quality: Vec<f32>,
    /// Attitude to each action as odds `e^a` of the logit-scale attitude `a` (eq. A1), one column
    /// per action in `Action::index` order.
    pub attitude_odds: [Vec<f32>; 4],
    /// The trust factor of eq. A1 at the practice's current trust, as the last survey computed
    /// it; phase 1 of the next month uses it for the support of the actions received.
    pub trust_factor: Vec<f32>,
    /// The fixed part of the trust target: base + role effect + disposition (eq. D1).
    pub trust_anchor: Vec<f32>,
    /// The fixed part of the engagement target: role effect + disposition (eq. D3).
    pub engagement_anchor: Vec<f32>,
    /// The role effect on the influence target (eq. D2).
    pub influence_anchor: Vec<f32>,
    /// The role's extra standing load (eq. G0).
    pub load_anchor: Vec<f32>,
    /// The fixed part of the view of co-commissioning: base + ownership (eq. S4).
    pub view_anchor: Vec<f32>,
}

/// The role of a padding entry: matches no real role.
pub const PADDING: u8 = u8::MAX;

impl Practices {
    /// Number of real practices.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Length of every column: [`Practices::len`] rounded up to a multiple of [`LANES`].
    pub fn padded_len(&self) -> usize {
        self.trust.len()
    }

    /// The single-precision columns of state and anchors, except the attitudes and the trust
    /// factor.
    fn states_mut(&mut self) -> [&mut Vec<f32>; 12] {
        [
            &mut self.engagement,
            &mut self.trust,
            &mut self.influence,
            &mut self.quality,
            &mut self.burden,
            &mut self.sanction_memory,
            &mut self.own_quality,
            &mut self.trust_anchor,
            &mut self.engagement_anchor,
            &mut self.influence_anchor,
            &mut self.load_anchor,
            &mut self.view_anchor,
        ]
    }

    /// Record that the columns hold `n` real practices and pad them to whole blocks with inert
    /// entries (zero states, role [`PADDING`], off the ladder).
    pub fn pad(&mut self, n: usize) {
        let padded = n.div_ceil(LANES) * LANES;
        self.count = n;
        for c in self.states_mut() {
            debug_assert_eq!(c.len(), n);
            c.resize(padded, 0.0);
        }
        for c in &mut self.attitude_odds {
            c.resize(padded, 0.0);
        }
        self.trust_factor.resize(padded, 1.0);
        self.ladder_step.resize(padded, LadderState::OFF.step);
        self.ladder_streak.resize(padded, LadderState::OFF.streak);
        self.role.resize(padded, PADDING);
    }

    /// Drop the padding, leaving every column [`Practices::len`] long.
    fn unpad(&mut self) {
        let n = self.count;
        self.trust_factor.truncate(n);
        for c in self.states_mut() {
            c.truncate(n);
        }
        for c in &mut self.attitude_odds {
            c.truncate(n);
        }
        self.ladder_step.truncate(n);
        self.ladder_streak.truncate(n);
        self.role.truncate(n);
    }

    /// Remove practice `i` (a merger, ODD 7.17), keeping the others in order and the columns
    /// padded.
    pub fn remove(&mut self, i: usize) {
        assert!(i < self.count, "practice {i} of {}", self.count);
        self.unpad();
        self.trust_factor.remove(i);
        for c in self.states_mut() {
            c.remove(i);
        }
        for c in &mut self.attitude_odds {
            c.remove(i);
        }
        self.ladder_step.remove(i);
        self.ladder_streak.remove(i);
        self.role.remove(i);
        self.pad(self.count - 1);
    }

    /// Append `other`'s practices after these (a CCG merger, ODD 7.17).
    pub fn append(&mut self, other: &Practices) {
        let n = other.count;
        self.unpad();
        self.trust_factor
            .extend_from_slice(&other.trust_factor[..n]);
        let theirs = [
            &other.engagement,
            &other.trust,
            &other.influence,
            &other.quality,
            &other.burden,
            &other.sanction_memory,
            &other.own_quality,
            &other.trust_anchor,
            &other.engagement_anchor,
            &other.influence_anchor,
            &other.load_anchor,
            &other.view_anchor,
        ];
        for (c, o) in self.states_mut().into_iter().zip(theirs) {
            c.extend_from_slice(&o[..n]);
        }
        for (c, o) in self.attitude_odds.iter_mut().zip(&other.attitude_odds) {
            c.extend_from_slice(&o[..n]);
        }
        self.ladder_step.extend_from_slice(&other.ladder_step[..n]);
        self.ladder_streak
            .extend_from_slice(&other.ladder_streak[..n]);
        self.role.extend_from_slice(&other.role[..n]);
        self.pad(self.count + n);
    }

    /// Empty every column, keeping the allocations.
    pub fn clear(&mut self) {
        self.trust_factor.clear();
        for c in self.states_mut() {
            c.clear();
        }
        for c in &mut self.attitude_odds {
            c.clear();
        }
        self.ladder_step.clear();
        self.ladder_streak.clear();
        self.role.clear();
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` practices whose every column holds `base + i` at practice `i`.
    fn numbered(n: usize, base: f32) -> Practices {
        let values: Vec<f32> = (0..n).map(|i| base + i as f32).collect();
        let mut pr = Practices {
            trust_factor: values.clone(),
            attitude_odds: std::array::from_fn(|_| values.clone()),
            ladder_step: vec![LadderState::OFF.step; n],
            ladder_streak: vec![LadderState::OFF.streak; n],
            role: (0..n).map(|i| (i % 3) as u8).collect(),
            ..Practices::default()
        };
        for c in pr.states_mut() {
            *c = values.clone();
        }
        pr.pad(n);
        pr
    }

    fn column(pr: &Practices) -> Vec<f32> {
        pr.engagement[..pr.len()].to_vec()
    }

    fn consistent(pr: &Practices) {
        let padded = pr.len().div_ceil(LANES) * LANES;
        assert_eq!(pr.padded_len(), padded);
        assert_eq!(pr.role.len(), padded);
        assert_eq!(pr.ladder_step.len(), padded);
        assert_eq!(pr.ladder_streak.len(), padded);
        assert_eq!(pr.trust_factor.len(), padded);
        assert!(pr.attitude_odds.iter().all(|c| c.len() == padded));
        assert!(pr.role[pr.len()..].iter().all(|&r| r == PADDING));
        assert!(pr.trust[pr.len()..].iter().all(|&t| t == 0.0));
    }

    #[test]
    fn removing_a_practice_keeps_the_others_in_order_and_padded() {
        let mut pr = numbered(9, 0.0);
        pr.remove(3);
        assert_eq!(pr.len(), 8);
        assert_eq!(column(&pr), [0.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(pr.view_anchor[3], 4.0);
        assert_eq!(pr.attitude_odds[2][3], 4.0);
        assert_eq!(pr.role[3], 1);
        consistent(&pr);
        pr.remove(7);
        assert_eq!(pr.len(), 7);
        consistent(&pr);
    }

    #[test]
    fn appending_puts_the_other_ccgs_practices_after_these() {
        let mut pr = numbered(5, 0.0);
        pr.append(&numbered(6, 100.0));
        assert_eq!(pr.len(), 11);
        assert_eq!(
            column(&pr),
            [
                0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0
            ]
        );
        assert_eq!(pr.load_anchor[10], 105.0);
        assert_eq!(pr.trust_factor[5], 100.0);
        assert_eq!(pr.role[5..11], [0, 1, 2, 0, 1, 2]);
        consistent(&pr);
    }
}

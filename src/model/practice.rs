//! The practice agent: one compact row of state per member practice (ODD 2).

use super::Role;
use super::policy::LadderState;

/// State of one member practice. All levels are on [0, 1] except attitudes (odds), burden
/// (load units, 1 = a heavy standing load) and sanction memory (decaying count of sanctions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Practice {
    /// Engagement with the work of the CCG.
    pub engagement: f32,
    /// Trust in the CCG.
    pub trust: f32,
    /// Perceived influence over the CCG's decisions.
    pub influence: f32,
    /// Quality of care: share of quality indicators achieved.
    pub quality: f32,
    /// The quality level the practice drifts back to without CCG action.
    pub own_quality: f32,
    /// Meeting and paperwork load.
    pub burden: f32,
    /// Decaying memory of sanctions received.
    pub sanction_memory: f32,
    /// Lasting individual offset of the engagement target.
    pub engagement_disposition: f32,
    /// Lasting individual offset of the trust target.
    pub trust_disposition: f32,
    /// Predisposition towards each action, as odds `e^a` of the logit-scale attitude `a` (eq. A1),
    /// indexed by `Action::index`.
    pub attitude_odds: [f32; 4],
    /// Locality (peer group) within the CCG.
    pub locality: u16,
    /// Role in the CCG, as `Role as u8`.
    pub role: u8,
    /// Position on the escalation ladder.
    pub ladder: LadderState,
}

impl Practice {
    pub fn role(&self) -> Role {
        Role::from_index(self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_practice_row_stays_compact() {
        // The tick loop streams over rows; keep a row within one cache line.
        assert!(
            std::mem::size_of::<Practice>() <= 64,
            "{}",
            std::mem::size_of::<Practice>()
        );
    }
}

//! Members' expectations (ODD 7.14, `[model.expectations]`): taking on commissioning raises the
//! support members expect of their CCG ("practices are keen to see the CCG involved and will be
//! looking to the CCG to resolve fundamental problems"), and support that falls short of it, as
//! when a budget is cut after delegation, erodes trust. CCG-wide, deterministic: no random number.

use crate::metrics::{Tally, tally as ix};
use crate::model::CommissioningLevel;
use crate::model::params::Expectations as Params;

/// A CCG's members' expectation of support and their sense of the support they get, in support
/// actions (training and data review) per member per month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Expectations {
    expected: f32,
    felt: f32,
}

impl Expectations {
    /// At tick 0: members expect what the CCG's level brings and feel they get it.
    pub(super) fn new(p: &Params, level: CommissioningLevel) -> Expectations {
        let expected = p.support.get(level);
        Expectations {
            expected,
            felt: expected,
        }
    }

    /// Eqs. X1-X3 for a month whose actions are in `tally`: update the expectation and the felt
    /// support, and return the fall in every member's trust target.
    pub(super) fn month(
        &mut self,
        p: &Params,
        level: CommissioningLevel,
        tally: &Tally,
        practices: usize,
    ) -> f32 {
        let support =
            (tally[ix::ACTIONS] + tally[ix::ACTIONS + 1]) as f32 / practices.max(1) as f32;
        // X1: expectation moves toward what the level brings; X2: felt support toward the month's.
        self.expected += p.expectation_rate * (p.support.get(level) - self.expected);
        self.felt += p.support_rate * (support - self.felt);
        // X3: a shortfall lowers the trust target.
        p.trust_effect * (self.expected - self.felt).max(0.0)
    }
}

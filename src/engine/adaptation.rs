//! CCGs that adapt (ODD 7.13, `[model.adaptation]`): every `survey_every` months a CCG reads its
//! own survey of its members (the month's survey answers, drawn as the survey model draws them,
//! so with its sampling noise) and adjusts its policy by three rules: it reframes performance
//! management as peer support when engagement is low (R1), eases targets and sanctions and moves
//! part of what they cost to training when engagement is lower still (R2), and escalates targets
//! when its members are engaged but quality lags (R3). Adaptation draws no random number, so a
//! run with it stays paired with the run without it.

use super::environment::RegimePolicy;
use crate::metrics::{METRICS, Tally, metric_index};
use crate::model::params::Adaptation;

/// What a CCG has changed so far: applied on top of whatever policy is in force for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Adapted {
    /// R1 applied: control actions are framed as peer support.
    pub(super) reframed: bool,
    /// Product of the R2 easings: the share of the targets and sanctions rates kept.
    keep: f32,
    /// Training rate added by R2.
    training: f32,
    /// Targets rate added by R3.
    targets: f32,
    /// Changes so far (0: none), to know when the adapted policy must be rebuilt.
    version: u32,
}

impl Adapted {
    pub(super) fn new() -> Adapted {
        Adapted {
            keep: 1.0,
            ..Adapted::default()
        }
    }

    /// Whether the CCG has changed anything yet.
    pub(super) fn any(&self) -> bool {
        self.version > 0
    }

    pub(super) fn version(&self) -> u32 {
        self.version
    }

    /// `regime` with what the CCG has changed applied (rates capped at `max_rate`).
    pub(super) fn apply(&self, a: &Adaptation, regime: &RegimePolicy) -> RegimePolicy {
        let mut p = regime.policy.clone();
        p.targets.rate = (p.targets.rate * self.keep + self.targets)
            .min(a.max_rate.max(p.targets.rate * self.keep));
        p.sanctions.rate *= self.keep;
        p.training.rate = (p.training.rate + self.training).min(a.max_rate.max(p.training.rate));
        RegimePolicy::new(regime.changes, &p)
    }

    /// The rules of ODD 7.13 after the CCG's own survey in month `tally`, under `policy` (the
    /// policy it followed that month, adaptations included).
    pub(super) fn observe(&mut self, a: &Adaptation, tally: &Tally, policy: &RegimePolicy) {
        let value = |name: &str| metric_index(name).and_then(|m| METRICS[m].value(tally));
        let (Some(engaged), Some(quality)) = (value("engaged_share"), value("mean_quality")) else {
            return;
        };
        let (engaged, quality) = (engaged as f32, quality as f32);
        let p = &policy.policy;
        let control = p.targets.rate > 0.0
            || p.sanctions.rate > 0.0
            || p.escalation
                .as_ref()
                .is_some_and(|e| e.ladder.iter().any(|s| s.is_control()));
        let before = self.clone();
        // R1: reframe control as peer support.
        if engaged < a.reframe_below && control {
            self.reframed = true;
        }
        if engaged < a.ease_below {
            // R2: ease targets and sanctions, and move part of what is eased to training.
            let eased = (p.targets.rate + p.sanctions.rate) * (1.0 - a.ease_keep);
            self.keep *= a.ease_keep;
            self.training += a.shift_to_training * eased;
        } else if quality < a.escalate_below_quality && p.targets.rate < a.max_rate {
            // R3: members are engaged but quality lags: escalate targets.
            self.targets += a.escalate_step;
        }
        let changed = self.reframed != before.reframed
            || self.keep != before.keep
            || self.training != before.training
            || self.targets != before.targets;
        if changed {
            self.version = before.version + 1;
        }
    }
}

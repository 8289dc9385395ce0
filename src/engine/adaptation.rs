//! CCGs that adapt (ODD 7.13, `[model.adaptation]`): every `survey_every` months a CCG reads its
//! own survey of its members (the month's survey answers, drawn as the survey model draws them,
//! so with its sampling noise) and adjusts its policy by five rules: it reframes performance
//! management as peer support when engagement is low (R1), eases targets and sanctions and moves
//! part of what they cost to training when engagement is lower still (R2), escalates targets when
//! its members are engaged but quality lags (R3), and sanctions once targets are at their highest
//! (R4); when its budget cannot pay for what its policy calls for, it cuts the action its members
//! support least (R5). Adaptation draws no random number, so a run with it stays paired with the
//! run without it.

use super::environment::RegimePolicy;
use crate::metrics::{METRICS, Tally, metric_index, tally as ix};
use crate::model::Action;
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
    /// Sanctions rate added by R4.
    sanctions: f32,
    /// Product of the R5 cuts of each action's rate, by `Action::index`.
    cut: [f32; 4],
    /// Changes so far (0: none), to know when the adapted policy must be rebuilt.
    version: u32,
}

impl Adapted {
    pub(super) fn new() -> Adapted {
        Adapted {
            keep: 1.0,
            cut: [1.0; 4],
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
        p.sanctions.rate = (p.sanctions.rate * self.keep + self.sanctions)
            .min(a.max_rate.max(p.sanctions.rate * self.keep));
        p.training.rate = (p.training.rate + self.training).min(a.max_rate.max(p.training.rate));
        // R5's cuts apply last, to the rates the other rules leave.
        for action in Action::ALL {
            p.plan_mut(action).rate *= self.cut[action.index()];
        }
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
        } else if quality < a.escalate_below_quality {
            if p.targets.rate < a.max_rate {
                // R3: members are engaged but quality lags: escalate targets.
                self.targets += a.escalate_step;
            } else if a.escalate_sanctions && p.sanctions.rate < a.max_rate {
                // R4: targets are at their highest and quality still lags: escalate sanctions.
                self.sanctions += a.escalate_step;
            }
        }
        // R5: the budget could not pay for a large share of the month's actions: cut the action
        // in force that members support least.
        let delivered: f64 = (0..4).map(|k| tally[ix::ACTIONS + k]).sum();
        let rationed = tally[ix::RATIONED];
        if rationed > 0.0 && rationed >= a.ration_above as f64 * (delivered + rationed) {
            let least = Action::ALL
                .into_iter()
                .filter(|&action| p.plan(action).rate * self.cut[action.index()] > 0.0)
                .filter_map(|action| {
                    let support = value(&format!("support_{}", action.key()))?;
                    Some((action, support))
                })
                .fold(
                    None,
                    |best: Option<(Action, f64)>, (action, support)| match best {
                        Some((_, s)) if s <= support => best,
                        _ => Some((action, support)),
                    },
                );
            if let Some((action, _)) = least {
                self.cut[action.index()] *= a.budget_keep;
            }
        }
        let changed = self.reframed != before.reframed
            || self.keep != before.keep
            || self.training != before.training
            || self.targets != before.targets
            || self.sanctions != before.sanctions
            || self.cut != before.cut;
        if changed {
            self.version = before.version + 1;
        }
    }
}

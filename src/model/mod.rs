//! The model: who the agents are, what the CCG can do to them, and the submodels (one function per
//! mechanism) that say how practices respond. Nothing here knows about files, threads or the CLI.
//! Every equation is documented in `docs/ODD.md`; section numbers are given beside the code.

pub mod params;
pub mod policy;
pub mod practice;
pub mod submodels;

use serde::{Deserialize, Serialize};

pub use params::Params;
pub use policy::Policy;

/// A CCG action on a member practice (ODD 2, 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Facilitating GP training and education.
    Training,
    /// Encouraging review of comparative data (peer review in small groups).
    DataReview,
    /// Setting targets or objectives for the practice.
    Targets,
    /// Sanctions against an underperforming practice.
    Sanctions,
}

impl Action {
    /// All actions, in the order used for per-action arrays.
    pub const ALL: [Action; 4] = [
        Action::Training,
        Action::DataReview,
        Action::Targets,
        Action::Sanctions,
    ];

    /// Index into per-action arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name used in scenario files and output columns.
    pub const fn key(self) -> &'static str {
        match self {
            Action::Training => "training",
            Action::DataReview => "data_review",
            Action::Targets => "targets",
            Action::Sanctions => "sanctions",
        }
    }

    /// Targets and sanctions are control; training and data review are support.
    pub const fn is_control(self) -> bool {
        matches!(self, Action::Targets | Action::Sanctions)
    }

    /// This action's bit in a per-practice action mask.
    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A practice's role in its CCG (ODD 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A GP of the practice sits on the CCG's governing body.
    GoverningBody = 0,
    /// Another formal role, such as locality lead.
    OtherFormal = 1,
    /// No formal role in the CCG.
    None = 2,
}

impl Role {
    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn from_index(i: u8) -> Role {
        match i {
            0 => Role::GoverningBody,
            1 => Role::OtherFormal,
            _ => Role::None,
        }
    }
}

/// Primary-care co-commissioning level (ODD 2). Before April 2015 every CCG is `None`: NHS England
/// commissions general practice and the CCG only supports quality improvement.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CommissioningLevel {
    #[default]
    None,
    GreaterInvolvement,
    Joint,
    Delegated,
}

impl CommissioningLevel {
    pub const ALL: [CommissioningLevel; 4] = [
        CommissioningLevel::None,
        CommissioningLevel::GreaterInvolvement,
        CommissioningLevel::Joint,
        CommissioningLevel::Delegated,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn key(self) -> &'static str {
        match self {
            CommissioningLevel::None => "none",
            CommissioningLevel::GreaterInvolvement => "greater_involvement",
            CommissioningLevel::Joint => "joint",
            CommissioningLevel::Delegated => "delegated",
        }
    }
}

/// How a CCG describes its performance management of members (ODD 7.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// Called what it is.
    #[default]
    PerformanceManagement,
    /// Presented as "peer support" or "peer learning".
    PeerSupport,
}

//! The scenario file as written: a serde mirror of the TOML with every field optional and unknown
//! keys rejected. [`super::Scenario::from_file`] turns it into validated settings.

use serde::Deserialize;

use crate::calendar::Month;
use crate::model::{CommissioningLevel, Framing, Params, Policy};

/// The top level of a scenario file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub start: Option<Month>,
    pub months: Option<i64>,
    pub replicates: Option<i64>,
    pub seed: Option<i64>,
    pub ccg_defaults: Option<GovernanceFile>,
    pub list_size: Option<LogNormalFile>,
    pub ccgs: Option<Vec<CcgFile>>,
    pub population: Option<PopulationFile>,
    pub nhs_england: Option<NhsEnglandFile>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub policy_changes: Vec<super::changes::PolicyChangeFile>,
    #[serde(default)]
    pub model: Params,
}

/// Governance settings of a CCG; in `[ccg_defaults]` for every CCG, or on one `[[ccgs]]` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceFile {
    pub governing_body_seats: Option<i64>,
    pub practices_per_locality: Option<i64>,
    pub autonomy: Option<f64>,
    pub support_budget: Option<f64>,
    pub conflict_management: Option<f64>,
    pub framing: Option<Framing>,
}

/// A lognormal distribution, by the mean and sd of the natural log, optionally truncated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogNormalFile {
    pub mu: Option<f64>,
    pub sigma: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One CCG of a listed population.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcgFile {
    pub id: String,
    pub practices: i64,
    pub localities: Option<i64>,
    #[serde(default)]
    pub commissioning: Vec<LevelChangeFile>,
    pub governing_body_seats: Option<i64>,
    pub practices_per_locality: Option<i64>,
    pub autonomy: Option<f64>,
    pub support_budget: Option<f64>,
    pub conflict_management: Option<f64>,
    pub framing: Option<Framing>,
}

impl CcgFile {
    /// The governance overrides this entry sets.
    pub fn governance(&self) -> GovernanceFile {
        GovernanceFile {
            governing_body_seats: self.governing_body_seats,
            practices_per_locality: self.practices_per_locality,
            autonomy: self.autonomy,
            support_budget: self.support_budget,
            conflict_management: self.conflict_management,
            framing: self.framing,
        }
    }
}

/// From `from`, the CCG commissions general practice at `level`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelChangeFile {
    pub from: Month,
    pub level: CommissioningLevel,
}

/// A generated population.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationFile {
    pub ccgs: Option<i64>,
    pub practices_per_ccg: Option<LogNormalFile>,
    #[serde(default)]
    pub commissioning: Vec<LevelCountsFile>,
    pub structure: Option<super::Structure>,
}

/// From `from`, how many CCGs are at each level (the rest are at none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelCountsFile {
    pub from: Month,
    #[serde(default)]
    pub delegated: i64,
    #[serde(default)]
    pub joint: i64,
    #[serde(default)]
    pub greater_involvement: i64,
}

/// `[nhs_england]`: the environment over time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NhsEnglandFile {
    pub top_down: Option<Vec<PointFile>>,
    pub budget: Option<Vec<PointFile>>,
}

/// One point of a piecewise-linear schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointFile {
    pub from: Month,
    pub value: f64,
}

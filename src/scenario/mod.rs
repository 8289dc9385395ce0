//! Scenarios: parsing a TOML file ([`file`]) and validating it into typed settings with every
//! default resolved ([`Scenario`]). Every key is documented in `docs/scenarios.md`.

pub mod changes;
pub mod error;
pub mod file;
pub mod strict;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::calendar::Month;
use crate::model::params::{Checker, Problem};
use crate::model::{CommissioningLevel, Framing, Params, Policy};
pub use error::ScenarioError;
use error::{located, parse_toml, read_input};
use file::{GovernanceFile, LogNormalFile, PointFile, ScenarioFile};

/// A validated scenario: what to simulate, for how long, how many times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Name used for the output folder and the `scenario` column.
    pub name: String,
    pub description: String,
    /// Calendar month of tick 0.
    pub start: Month,
    /// Horizon in months; ticks run 0..=months.
    pub months: u32,
    pub replicates: u32,
    pub seed: u64,
    pub population: PopulationSpec,
    /// Practice list sizes (registered patients), lognormal.
    pub list_size: LogNormal,
    pub nhs_england: NhsEngland,
    /// The policy from the start.
    pub policy: Policy,
    /// Changes of policy from later months (`[[policy_changes]]`, ODD 7.11).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_changes: Vec<changes::PolicyChange>,
    pub model: Params,
}

/// Governance of one CCG (ODD 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Governance {
    /// Practices with a GP on the governing body.
    pub governing_body_seats: u32,
    /// Target size of a locality (peer group); each locality has one lead (an "other formal role").
    pub practices_per_locality: u32,
    /// Share of NHS England's top-down control the CCG absorbs rather than passes on (0-1).
    pub autonomy: f32,
    /// Support budget in pounds per registered patient per year.
    pub support_budget: f64,
    /// How well the CCG manages conflicts of interest (0 badly - 1 well).
    pub conflict_management: f32,
    /// How the CCG describes performance management of its members.
    pub framing: Framing,
}

impl Default for Governance {
    fn default() -> Self {
        Governance {
            governing_body_seats: 6,
            practices_per_locality: 8,
            autonomy: 0.4,
            support_budget: 1.0,
            conflict_management: 0.5,
            framing: Framing::PerformanceManagement,
        }
    }
}

/// A lognormal distribution truncated to `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogNormal {
    pub mu: f64,
    pub sigma: f64,
    pub min: f64,
    pub max: f64,
}

impl LogNormal {
    /// Practice list sizes in England, 2014-15: fit to the QOF practice file.
    pub const LIST_SIZE: LogNormal = LogNormal {
        mu: 8.713,
        sigma: 0.631,
        min: 500.0,
        max: 60_000.0,
    };
    /// Practices per CCG in England, 2014-15: median 33, mean 37.2; truncated to [5, 176], the
    /// smallest CCG and the largest after the 2018 mergers.
    pub const PRACTICES_PER_CCG: LogNormal = LogNormal {
        mu: 3.4965,
        sigma: 0.49,
        min: 5.0,
        max: 176.0,
    };
}

/// From `from`, the CCG is at `level`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelChange {
    pub from: Month,
    pub level: CommissioningLevel,
}

/// One CCG of a listed population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CcgSpec {
    pub id: String,
    pub practices: u32,
    /// Number of localities; default: practices / practices_per_locality, rounded up.
    pub localities: Option<u32>,
    pub commissioning: Vec<LevelChange>,
    pub governance: Governance,
}

/// From `from`, how many CCGs of a generated population are at each level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelCounts {
    pub from: Month,
    pub delegated: u32,
    pub joint: u32,
    pub greater_involvement: u32,
}

/// Where the CCGs come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationSpec {
    /// CCG by CCG, as listed in `[[ccgs]]`.
    Listed(Vec<CcgSpec>),
    /// Drawn from distributions, as `[population]` says.
    Generated {
        ccgs: u32,
        practices_per_ccg: LogNormal,
        commissioning: Vec<LevelCounts>,
        governance: Governance,
        /// Whether the structure is drawn afresh for every replicate or once per run.
        structure: Structure,
    },
}

/// How often a generated population's structure (CCG sizes, list sizes, readiness order) is
/// drawn. Listed populations are always [`Structure::Fixed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// Replicate `r` has its own structure, so a run's intervals include the variation between
    /// draws of England (the default).
    #[default]
    PerReplicate,
    /// One structure for every replicate: results conditional on one draw of England.
    Fixed,
}

impl Structure {
    pub fn name(self) -> &'static str {
        match self {
            Structure::PerReplicate => "per_replicate",
            Structure::Fixed => "fixed",
        }
    }
}

/// A piecewise-linear schedule over calendar months, flat before its first and after its last
/// point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub points: Vec<(Month, f64)>,
}

impl Schedule {
    pub fn constant(value: f64, from: Month) -> Schedule {
        Schedule {
            points: vec![(from, value)],
        }
    }

    pub fn value_at(&self, month: Month) -> f64 {
        let p = &self.points;
        if month <= p[0].0 {
            return p[0].1;
        }
        for w in p.windows(2) {
            let ((m0, v0), (m1, v1)) = (w[0], w[1]);
            if month <= m1 {
                let f = month.months_since(m0) as f64 / m1.months_since(m0) as f64;
                return v0 + f * (v1 - v0);
            }
        }
        p[p.len() - 1].1
    }
}

/// `[nhs_england]`: the environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NhsEngland {
    /// Top-down direction and control from NHS England (0-1).
    pub top_down: Schedule,
    /// Multiplier on every CCG's support budget.
    pub budget: Schedule,
}

impl Default for NhsEngland {
    fn default() -> Self {
        let m = |s: &str| s.parse::<Month>().expect("valid default month");
        NhsEngland {
            top_down: Schedule {
                points: vec![
                    (m("2013-04"), 0.20),
                    (m("2014-04"), 0.30),
                    (m("2015-04"), 0.45),
                    (m("2016-04"), 0.60),
                ],
            },
            budget: Schedule::constant(1.0, m("2013-04")),
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "scenario".into(),
            description: String::new(),
            start: "2013-04".parse().expect("valid default month"),
            months: 36,
            replicates: 20,
            seed: 1,
            population: PopulationSpec::Generated {
                ccgs: 209,
                practices_per_ccg: LogNormal::PRACTICES_PER_CCG,
                commissioning: Vec::new(),
                governance: Governance::default(),
                structure: Structure::default(),
            },
            list_size: LogNormal::LIST_SIZE,
            nhs_england: NhsEngland::default(),
            policy: Policy::default(),
            policy_changes: Vec::new(),
            model: Params::default(),
        }
    }
}

impl Scenario {
    /// How often the population's structure is drawn: listed populations are fixed.
    pub fn structure(&self) -> Structure {
        match &self.population {
            PopulationSpec::Listed(_) => Structure::Fixed,
            PopulationSpec::Generated { structure, .. } => *structure,
        }
    }

    /// Read, parse and validate the scenario file at `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&read_input(path)?, path)
    }

    /// Parse and validate scenario `text`; `path` names it in errors and gives the default name.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = parse_toml(text, path)?;
        let default_name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Scenario::from_file(file, default_name).map_err(|p| located(text, path, p))
    }

    /// Validate a parsed file; the first problem found is returned.
    pub fn from_file(f: ScenarioFile, default_name: Option<String>) -> Result<Scenario, Problem> {
        let mut problems = Vec::new();
        let mut c = Checker::new("", &mut problems);
        let d = Scenario::default();

        let name = f.name.or(default_name).unwrap_or(d.name);
        if let Err(message) = check_folder_name(&name) {
            c.problem("name", message);
        }
        let months = int_in(&mut c, "months", f.months, d.months as i64, 1, 1200);
        let replicates = int_in(
            &mut c,
            "replicates",
            f.replicates,
            d.replicates as i64,
            1,
            10_000_000,
        );
        let seed = check_seed(f.seed, d.seed).unwrap_or_else(|message| {
            c.problem("seed", message);
            0
        });
        let start = f.start.unwrap_or(d.start);

        let defaults = governance(
            &mut c,
            "ccg_defaults",
            f.ccg_defaults.as_ref(),
            &Governance::default(),
        );
        let list_size = lognormal(
            &mut c,
            "list_size",
            f.list_size.as_ref(),
            LogNormal::LIST_SIZE,
            1.0,
        );

        let population = match (f.ccgs, f.population) {
            (Some(_), Some(_)) => {
                c.problem(
                    "population",
                    "give either [[ccgs]] (listed) or [population] (generated), not both",
                );
                d.population
            }
            (Some(list), None) => {
                if list.is_empty() {
                    c.problem("ccgs", "must list at least one CCG");
                }
                let mut specs = Vec::with_capacity(list.len());
                // A hash set, not a scan of the CCGs before each one: a list of a million
                // CCGs is checked in linear time.
                let mut seen: HashSet<&str> = HashSet::with_capacity(list.len());
                for (i, ccg) in list.iter().enumerate() {
                    let key = format!("ccgs[{i}]");
                    let mut cc = c.sub(&key);
                    if ccg.id.is_empty() {
                        cc.problem("id", "must not be empty");
                    }
                    if !seen.insert(ccg.id.as_str()) {
                        cc.problem("id", format!("duplicate CCG id \"{}\"", ccg.id));
                    }
                    let practices =
                        int_in(&mut cc, "practices", Some(ccg.practices), 0, 1, 10_000_000);
                    let localities = ccg.localities.map(|l| {
                        int_in(
                            &mut cc,
                            "localities",
                            Some(l),
                            1,
                            1,
                            practices.max(1) as i64,
                        )
                    });
                    let commissioning = level_changes(&mut cc, &ccg.commissioning);
                    let governance = governance(&mut c, &key, Some(&ccg.governance()), &defaults);
                    specs.push(CcgSpec {
                        id: ccg.id.clone(),
                        practices,
                        localities,
                        commissioning,
                        governance,
                    });
                }
                PopulationSpec::Listed(specs)
            }
            (None, p) => {
                let p = p.unwrap_or_default();
                let mut pc = c.sub("population");
                let ccgs = int_in(&mut pc, "ccgs", p.ccgs, 209, 1, 10_000_000);
                let practices_per_ccg = lognormal(
                    &mut pc,
                    "practices_per_ccg",
                    p.practices_per_ccg.as_ref(),
                    LogNormal::PRACTICES_PER_CCG,
                    1.0,
                );
                let mut commissioning: Vec<LevelCounts> = Vec::new();
                for (i, lc) in p.commissioning.iter().enumerate() {
                    let mut cc = pc.sub(&format!("commissioning[{i}]"));
                    let dl = int_in(&mut cc, "delegated", Some(lc.delegated), 0, 0, ccgs as i64);
                    let jt = int_in(&mut cc, "joint", Some(lc.joint), 0, 0, ccgs as i64);
                    let gi = int_in(
                        &mut cc,
                        "greater_involvement",
                        Some(lc.greater_involvement),
                        0,
                        0,
                        ccgs as i64,
                    );
                    if (dl + jt + gi) as u64 > ccgs as u64 {
                        cc.problem(
                            "delegated",
                            format!(
                                "delegated + joint + greater_involvement = {} exceeds the {}",
                                dl + jt + gi,
                                crate::words::count(ccgs, "CCG")
                            ),
                        );
                    }
                    if let Some(prev) = commissioning.last() {
                        if lc.from <= prev.from {
                            cc.problem("from", "dates must increase");
                        }
                        if dl < prev.delegated {
                            cc.problem(
                                "delegated",
                                "delegation is not undone: the count must not fall",
                            );
                        }
                    }
                    commissioning.push(LevelCounts {
                        from: lc.from,
                        delegated: dl,
                        joint: jt,
                        greater_involvement: gi,
                    });
                }
                PopulationSpec::Generated {
                    ccgs,
                    practices_per_ccg,
                    commissioning,
                    governance: defaults.clone(),
                    structure: p.structure.unwrap_or_default(),
                }
            }
        };

        let nhs = f.nhs_england.unwrap_or_default();
        let mut nc = c.sub("nhs_england");
        let top_down = schedule(
            &mut nc,
            "top_down",
            nhs.top_down.as_deref(),
            &d.nhs_england.top_down,
            0.0,
            1.0,
        );
        let budget = schedule(
            &mut nc,
            "budget",
            nhs.budget.as_deref(),
            &d.nhs_england.budget,
            0.0,
            100.0,
        );

        f.policy.validate(&mut c.sub("policy"));
        let policy_changes = changes::validate(&mut c, &f.policy_changes, &population);
        f.model.validate(&mut c.sub("model"));
        let cc = &f.model.co_commissioning;
        if cc.enabled {
            if let Some(m) = cc.rounds.iter().find(|&&m| m <= start) {
                c.sub("model").sub("co_commissioning").problem(
                    "rounds",
                    format!("round {m} is not after the scenario's start ({start}); a CCG chooses from its members' last survey, so a round must come at least a month after the start"),
                );
            }
        }

        let scenario = Scenario {
            name,
            description: f.description.unwrap_or_default(),
            start,
            months,
            replicates,
            seed,
            population,
            list_size,
            nhs_england: NhsEngland { top_down, budget },
            policy: f.policy,
            policy_changes,
            model: f.model,
        };
        if let Some(p) = problems.into_iter().next() {
            return Err(p);
        }
        // Every policy a CCG can follow, resolved once so a change that makes an invalid one
        // is reported now, at its key.
        scenario.regimes()?;
        Ok(scenario)
    }

    /// The calendar month of `tick`.
    pub fn month_of(&self, tick: u32) -> Month {
        self.start.plus(tick as i32)
    }
}

fn int_in(c: &mut Checker<'_>, key: &str, v: Option<i64>, default: i64, lo: i64, hi: i64) -> u32 {
    let v = v.unwrap_or(default);
    if v < lo || v > hi {
        c.problem(
            key,
            format!("must be an integer between {lo} and {hi}, got {v}"),
        );
        return lo.max(0).min(u32::MAX as i64) as u32;
    }
    v.min(u32::MAX as i64) as u32
}

fn lognormal(
    c: &mut Checker<'_>,
    key: &str,
    f: Option<&LogNormalFile>,
    d: LogNormal,
    floor: f64,
) -> LogNormal {
    let Some(f) = f else { return d };
    let mut lc = c.sub(key);
    let out = LogNormal {
        mu: f.mu.unwrap_or(d.mu),
        sigma: f.sigma.unwrap_or(d.sigma),
        min: f.min.unwrap_or(d.min),
        max: f.max.unwrap_or(d.max),
    };
    lc.range("mu", out.mu, -50.0, 50.0);
    lc.range("sigma", out.sigma, 0.0, 10.0);
    lc.range("min", out.min, floor, 1e9);
    lc.range("max", out.max, out.min, 1e9);
    out
}

fn governance(
    c: &mut Checker<'_>,
    key: &str,
    f: Option<&GovernanceFile>,
    d: &Governance,
) -> Governance {
    let Some(f) = f else { return d.clone() };
    let mut gc = c.sub(key);
    let out = Governance {
        governing_body_seats: int_in(
            &mut gc,
            "governing_body_seats",
            f.governing_body_seats,
            d.governing_body_seats as i64,
            0,
            1000,
        ),
        practices_per_locality: int_in(
            &mut gc,
            "practices_per_locality",
            f.practices_per_locality,
            d.practices_per_locality as i64,
            1,
            100_000,
        ),
        autonomy: f.autonomy.map_or(d.autonomy, |v| v as f32),
        support_budget: f.support_budget.unwrap_or(d.support_budget),
        conflict_management: f
            .conflict_management
            .map_or(d.conflict_management, |v| v as f32),
        framing: f.framing.unwrap_or(d.framing),
    };
    gc.unit("autonomy", out.autonomy);
    gc.range("support_budget", out.support_budget, 0.0, 1e6);
    gc.unit("conflict_management", out.conflict_management);
    out
}

fn level_changes(c: &mut Checker<'_>, list: &[file::LevelChangeFile]) -> Vec<LevelChange> {
    let mut out: Vec<LevelChange> = Vec::with_capacity(list.len());
    for (i, lc) in list.iter().enumerate() {
        if out.last().is_some_and(|p| lc.from <= p.from) {
            c.sub(&format!("commissioning[{i}]"))
                .problem("from", "dates must increase");
        }
        out.push(LevelChange {
            from: lc.from,
            level: lc.level,
        });
    }
    out
}

fn schedule(
    c: &mut Checker<'_>,
    key: &str,
    f: Option<&[PointFile]>,
    d: &Schedule,
    lo: f64,
    hi: f64,
) -> Schedule {
    let Some(points) = f else { return d.clone() };
    if points.is_empty() {
        c.problem(key, "must have at least one point");
        return d.clone();
    }
    for (i, p) in points.iter().enumerate() {
        let mut pc = c.sub(&format!("{key}[{i}]"));
        pc.range("value", p.value, lo, hi);
        if i > 0 && p.from <= points[i - 1].from {
            pc.problem("from", "dates must increase");
        }
    }
    Schedule {
        points: points.iter().map(|p| (p.from, p.value)).collect(),
    }
}

/// The longest name, in bytes: a folder name may hold 255, and ccgsim adds to some names
/// (`compare_<name>`, `<name>-shard-K-of-N`).
pub const MAX_NAME_BYTES: usize = 200;

/// A run's name becomes its output folder, so it must be one plain folder name that every
/// common file system can hold: not empty, at most [`MAX_NAME_BYTES`] bytes, no path separator,
/// no control character (NUL included), none of `: * ? " < > |`, not starting with `.` or `-`
/// (a hidden folder, or one that reads as an option) and not ending with a space or `.`.
pub fn check_folder_name(name: &str) -> Result<(), String> {
    let shown = name.escape_debug();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "is {} bytes long; a name becomes a folder name and may have at most {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|&c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return Err(format!(
            "becomes a folder name, so it may not contain {}; got \"{shown}\"",
            if c.is_control() {
                format!("a control character ({})", c.escape_unicode())
            } else {
                format!("'{c}'")
            }
        ));
    }
    if name.starts_with(['.', '-']) || name.ends_with(['.', ' ']) || name.trim().is_empty() {
        return Err(format!(
            "becomes a folder name, so it may not start with '.' or '-', end with '.' or a space, or be blank; got \"{shown}\""
        ));
    }
    Ok(())
}

/// A seed as written in a file (TOML integers are signed): `default` if absent, else a
/// non-negative integer.
pub fn check_seed(seed: Option<i64>, default: u64) -> Result<u64, String> {
    match seed {
        Some(s) if s < 0 => Err(format!("must be a non-negative integer, got {s}")),
        Some(s) => Ok(s as u64),
        None => Ok(default),
    }
}

/// Where the output of `scenario` goes by default: `results/<name>`.
pub fn default_output_dir(scenario: &Scenario) -> PathBuf {
    PathBuf::from("results").join(&scenario.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn an_empty_file_is_the_default_scenario() {
        let s = parse("").unwrap();
        assert_eq!(s.name, "test");
        assert_eq!(
            Scenario {
                name: "scenario".into(),
                ..s
            },
            Scenario::default()
        );
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let cases = [
            (
                "months = 22\n[policy]\nbogus = 1\n",
                "test.toml:3:1: key `policy.bogus`",
            ),
            ("months = \"many\"\n", "test.toml:1:10: key `months`"),
            (
                "[policy.training]\nrate = 1.5\n",
                "test.toml:2:1: key `policy.training.rate`: must be between 0 and 1, got 1.5",
            ),
            (
                "[[ccgs]]\nid = \"a\"\npractices = 0\n",
                "test.toml:3:1: key `ccgs[0].practices`",
            ),
            (
                "start = \"2013-13\"\n",
                "test.toml:1:9: key `start`: expected a month written YYYY-MM",
            ),
            ("months = [1\n", "test.toml:1:"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(
                err.starts_with(want),
                "for {text:?}\n got: {err}\nwant: {want}"
            );
        }
    }

    #[test]
    fn schedules_interpolate_linearly_and_hold_flat() {
        let m = |s: &str| s.parse::<Month>().unwrap();
        let s = Schedule {
            points: vec![(m("2014-01"), 0.0), (m("2015-01"), 1.2)],
        };
        assert_eq!(s.value_at(m("2013-01")), 0.0);
        assert!((s.value_at(m("2014-07")) - 0.6).abs() < 1e-12);
        assert_eq!(s.value_at(m("2017-01")), 1.2);
    }
}

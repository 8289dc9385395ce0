//! The sweep file: a serde mirror of the TOML ([`SweepFile`], unknown keys rejected) and its
//! validation into a [`Sweep`] that names the base model, the varied parameters with their
//! domains, the design and the outputs to summarise. Every varied path and range is checked once,
//! up front, by building the base scenario with the range's ends (or each listed value) set, so an
//! unknown path or an out-of-domain range is reported against the sweep file's line and key.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::design::{Design, SOBOL_MAX_PARAMETERS};
use super::error::SweepError;
use super::testfns::TestModel;
use super::tomlpath::{self, Segment};
use crate::engine::Environment;
use crate::metrics::metric_index;
use crate::model::params::{Answers, Problem};
use crate::output::manifest::sha256_hex;
use crate::population::Population;
use crate::scenario::Scenario;
use crate::scenario::error;
use crate::scenario::file::ScenarioFile;
use crate::scenario::{check_folder_name, check_seed};

/// The top level of a sweep file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scenario: Option<String>,
    pub model: Option<String>,
    pub seed: Option<i64>,
    pub replicates: Option<i64>,
    /// Fixed values applied to the base scenario at every point (e.g. `months = 36`).
    pub set: Option<Table>,
    pub design: DesignFile,
    #[serde(default)]
    pub parameters: Vec<ParameterFile>,
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
}

/// `[design]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignFile {
    pub kind: String,
    pub points: Option<i64>,
    pub n: Option<i64>,
    pub second_order: Option<bool>,
    pub trajectories: Option<i64>,
    pub levels: Option<i64>,
    pub candidates: Option<i64>,
}

/// One `[[parameters]]` entry as written (shared with calibration files, which use `prior`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    pub path: String,
    pub values: Option<Vec<Value>>,
    #[serde(alias = "prior")]
    pub range: Option<Vec<f64>>,
    pub distribution: Option<String>,
    pub levels: Option<i64>,
    pub integer: Option<bool>,
}

/// One `[[outputs]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    pub metric: String,
    pub tick: Option<i64>,
    pub window: Option<Vec<i64>>,
    pub name: Option<String>,
}

/// What the sweep runs.
#[derive(Debug, Clone)]
pub enum Base {
    /// A scenario file, varied at the TOML level.
    Scenario(Box<BaseScenario>),
    /// A built-in test model.
    Builtin(TestModel),
}

#[derive(Debug, Clone)]
pub struct BaseScenario {
    pub path: PathBuf,
    /// The parsed file, to which each point's values are applied.
    pub table: Table,
    /// Defaults for tables the file leaves out ([`tomlpath::scenario_defaults`]).
    pub defaults: Table,
    /// The scenario's name (from the file or its stem).
    pub name: String,
    pub sha256: String,
    /// The base, validated.
    pub scenario: Scenario,
}

/// The values a parameter takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// Listed values, taken as written (numbers, strings, booleans).
    Values(Vec<Value>),
    /// A closed range, sampled uniformly or log-uniformly; `levels` evenly spaced values for grid
    /// and zip designs.
    Range {
        lo: f64,
        hi: f64,
        log: bool,
        levels: Option<u32>,
    },
}

/// A varied parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Dotted path in the scenario (or input name of a test model).
    pub path: String,
    pub segments: Vec<Segment>,
    pub domain: Domain,
    /// Values are written as integers (the scenario key is an integer); a linear range then
    /// gives each integer in it an equal share of the unit interval.
    pub integer: bool,
}

impl Parameter {
    /// The column name in `points.csv`.
    pub fn column(&self) -> String {
        format!("param_{}", self.path)
    }

    /// How many values a grid or zip design gives this parameter.
    pub fn levels(&self) -> usize {
        match &self.domain {
            Domain::Values(v) => v.len(),
            Domain::Range { levels, .. } => levels.unwrap_or(0) as usize,
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(self.domain, Domain::Values(_))
    }

    /// The value at unit coordinate `u` in [0, 1].
    pub fn value_at(&self, u: f64) -> Value {
        match &self.domain {
            Domain::Values(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
            // Integers on a linear scale: each of lo..=hi gets an equal share of [0, 1], so the
            // ends are drawn as often as the values between them.
            Domain::Range {
                lo, hi, log: false, ..
            } if self.integer => {
                let (lo, hi) = (lo.round(), hi.round());
                Value::Integer((lo + (u * (hi - lo + 1.0)).floor()).min(hi) as i64)
            }
            Domain::Range { lo, hi, log, .. } => self.number(range_at(*lo, *hi, *log, u)),
        }
    }

    /// `x` as this parameter's TOML value.
    pub fn number(&self, x: f64) -> Value {
        if self.integer {
            Value::Integer(x.round() as i64)
        } else {
            Value::Float(x)
        }
    }
}

/// The point at `u` of [lo, hi], on a log scale if `log`.
pub fn range_at(lo: f64, hi: f64, log: bool, u: f64) -> f64 {
    let x = if log {
        (lo.ln() + u * (hi.ln() - lo.ln())).exp()
    } else {
        lo + u * (hi - lo)
    };
    x.clamp(lo, hi)
}

/// When in a run an output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The last tick.
    Final,
    Tick(u32),
    /// The mean over ticks `a..=b`.
    Window(u32, u32),
}

/// A summarised output.
#[derive(Debug, Clone)]
pub struct Output {
    /// Column name in `results.csv` and `metric` in `summary.csv`.
    pub name: String,
    /// Index into [`crate::metrics::METRICS`]; `None` for a test model's `y`.
    pub metric: Option<usize>,
    pub at: At,
}

impl Output {
    /// Ticks this output reads in a run of `months` months.
    pub fn ticks(&self, months: u32) -> std::ops::RangeInclusive<u32> {
        match self.at {
            At::Final => months..=months,
            At::Tick(t) => t..=t,
            At::Window(a, b) => a..=b,
        }
    }
}

/// A validated sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    /// SHA-256 of the sweep file and the base scenario file: a resumed run must match it.
    pub sha256: String,
    pub base: Base,
    pub seed: u64,
    pub replicates: u32,
    pub design: Design,
    pub parameters: Vec<Parameter>,
    pub outputs: Vec<Output>,
}

/// One point's model, built once and shared by its replicates.
#[allow(clippy::large_enum_variant)] // a few per chunk, built once: boxing buys nothing
pub enum PointModel {
    Ccg {
        scenario: Scenario,
        /// [`Population::build`]'s structure: every replicate's when it is fixed.
        population: Population,
        /// With a structure drawn per replicate, replicate r's (`Population::for_replicate`);
        /// empty when it is fixed.
        structures: Vec<Population>,
        env: Environment,
    },
    Builtin {
        model: TestModel,
        inputs: Vec<f64>,
        seed: u64,
    },
}

/// The structure replicate `r` of a CCG point simulates.
pub fn point_structure<'a>(
    scenario: &Scenario,
    population: &'a Population,
    structures: &'a [Population],
    r: u32,
) -> std::borrow::Cow<'a, Population> {
    match structures.get(r as usize) {
        Some(p) => std::borrow::Cow::Borrowed(p),
        None => Population::for_replicate(scenario, population, r),
    }
}

impl PointModel {
    /// Units of work per replicate (CCGs, or 1).
    pub fn units_per_replicate(&self) -> usize {
        match self {
            PointModel::Ccg { population, .. } => population.ccgs.len(),
            PointModel::Builtin { .. } => 1,
        }
    }
}

/// Parse a TOML file into `T`, mapping syntax and type errors to the file's line, column and key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, SweepError> {
    Ok(error::parse_toml(text, path)?)
}

/// A [`Problem`] in a file, as an error naming its line, column and key.
pub fn located(text: &str, path: &Path, p: Problem) -> SweepError {
    error::located(text, path, p).into()
}

pub fn problem(key: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        key: key.into(),
        message: message.into(),
    }
}

pub fn read(path: &Path) -> Result<String, SweepError> {
    Ok(error::read_input(path)?)
}

impl Sweep {
    /// Read, parse and validate the sweep file at `path` (and its base scenario).
    pub fn load(path: &Path) -> Result<Sweep, SweepError> {
        let text = read(path)?;
        let file: SweepFile = parse_toml(&text, path)?;
        let default_name = path
            .file_stem()
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned());
        let mut base = load_base(path, &text, file.scenario.as_deref(), file.model.as_deref())?;
        if let Some(set) = &file.set {
            apply_set(&mut base.0, set).map_err(|p| located(&text, path, p))?;
        }
        Sweep::from_file(file, path, &text, base, default_name).map_err(|p| located(&text, path, p))
    }

    fn from_file(
        f: SweepFile,
        path: &Path,
        text: &str,
        base: (Base, Vec<u8>),
        default_name: String,
    ) -> Result<Sweep, Problem> {
        let (base, base_bytes) = base;
        let name = f.name.unwrap_or(default_name);
        check_folder_name(&name).map_err(|m| problem("name", m))?;
        let seed = check_seed(f.seed, 1).map_err(|m| problem("seed", m))?;
        let default_reps = match &base {
            Base::Builtin(m) if !m.is_stochastic() => 1,
            _ => 10,
        };
        let replicates = match f.replicates {
            None => default_reps,
            Some(r) if (1..=1_000_000).contains(&r) => r as u32,
            Some(r) => {
                return Err(problem(
                    "replicates",
                    format!("must be an integer between 1 and 1000000, got {r}"),
                ));
            }
        };

        let parameters = parameters(&f.parameters, &base)?;
        let design = design(&f.design, &parameters)?;
        let outputs = outputs(&f.outputs, &base)?;

        let mut hashed = text.as_bytes().to_vec();
        hashed.extend_from_slice(&base_bytes);
        Ok(Sweep {
            path: path.to_path_buf(),
            name,
            description: f.description.unwrap_or_default(),
            sha256: sha256_hex(&hashed),
            base,
            seed,
            replicates,
            design,
            parameters,
            outputs,
        })
    }

    /// The number of points of the whole design.
    pub fn point_count(&self) -> usize {
        let levels: Vec<usize> = self.parameters.iter().map(Parameter::levels).collect();
        self.design.point_count(&levels).unwrap_or(0)
    }

    /// Every point in unit coordinates.
    pub fn unit_points(&self) -> Vec<Vec<f64>> {
        let levels: Vec<usize> = self.parameters.iter().map(Parameter::levels).collect();
        let lists: Vec<bool> = self.parameters.iter().map(Parameter::is_list).collect();
        self.design.unit_points(&levels, &lists, self.seed)
    }

    /// What running the sweep needs (see [`crate::limits`]): a chunk of points' models and
    /// tallies at once and a workspace per thread, sized by the base population, or by the
    /// largest point's where the parameters change the population or the months (up to 4,096
    /// points spread over the design are looked at).
    pub fn footprint(&self, threads: usize) -> crate::limits::Footprint {
        use crate::limits::Shape;
        let reps = self.replicates as u128;
        let points = self.point_count() as u128;
        let Base::Scenario(b) = &self.base else {
            let empty = Shape {
                ccgs: 0,
                practices: 0,
                largest: 0,
            };
            let mut f = crate::limits::points(0, &empty, 4096, self.replicates, threads, 0);
            f.parts.push((
                "the design's points",
                points * (self.parameters.len() as u128 * 8 + 32),
            ));
            return f;
        };
        let mut shape = Shape::of_scenario(&b.scenario);
        let mut months = b.scenario.months;
        let mut practice_months = shape.practices * months as u128 * reps * points;
        let structural = self.parameters.iter().any(|p| {
            ["population", "ccgs", "months"].iter().any(|k| {
                p.path == *k
                    || p.path.starts_with(&format!("{k}."))
                    || p.path.starts_with(&format!("{k}["))
            })
        });
        let k = self.parameters.len() as u128;
        // The design's points, kept in unit coordinates for the whole sweep.
        let design_bytes = points * (k * 8 + 32);
        // Looking at the points needs the design in memory: only where it is small.
        if structural && design_bytes < 256 << 20 {
            let unit_points = self.unit_points();
            let step = unit_points.len().div_ceil(4096).max(1);
            let (mut seen, mut work) = (0u128, 0u128);
            for u in unit_points.iter().step_by(step) {
                let values: Vec<Value> = self
                    .parameters
                    .iter()
                    .zip(u)
                    .map(|(par, &x)| par.value_at(x))
                    .collect();
                let assigned: Vec<(&Parameter, &Value)> =
                    self.parameters.iter().zip(&values).collect();
                // A point that fails validation is reported when the sweep reaches it.
                let Ok(s) = scenario_with(b, &assigned) else {
                    continue;
                };
                let point = Shape::of_scenario(&s);
                shape.ccgs = shape.ccgs.max(point.ccgs);
                shape.largest = shape.largest.max(point.largest);
                months = months.max(s.months);
                work += point.practices * s.months as u128 * reps;
                seen += 1;
            }
            if let Some(mean) = (work * points).checked_div(seen) {
                practice_months = mean;
            }
        }
        let units = (shape.ccgs * reps).max(1);
        let chunk_points = (2048 / units).clamp(1, 4096);
        let mut f = crate::limits::points(
            months,
            &shape,
            chunk_points,
            self.replicates,
            threads,
            practice_months,
        );
        f.parts.push(("the design's points", design_bytes));
        f.parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        f
    }

    /// The seed of point `p`: every replicate stream of the point derives from it.
    pub fn point_seed(&self, p: usize) -> u64 {
        crate::rng::derive_seed(self.seed, crate::rng::Purpose::Sweep, p as u64, 0)
    }

    /// Build point `p`'s model with parameter values `values` (one per parameter).
    pub fn build_point(&self, p: usize, values: &[Value]) -> Result<PointModel, Problem> {
        let seed = self.point_seed(p);
        let assigned: Vec<(&Parameter, &Value)> = self.parameters.iter().zip(values).collect();
        let model = build_model(&self.base, &assigned, seed, self.replicates).map_err(|e| {
            let listed: Vec<String> = assigned
                .iter()
                .map(|(par, v)| format!("{} = {}", par.path, v))
                .collect();
            problem(
                "parameters",
                format!(
                    "point {p} ({}): {}: {}",
                    listed.join(", "),
                    e.key,
                    e.message
                ),
            )
        })?;
        if let PointModel::Ccg { scenario, .. } = &model {
            for o in &self.outputs {
                if *o.ticks(scenario.months).end() > scenario.months {
                    return Err(problem(
                        "outputs",
                        format!(
                            "point {p}: output `{}` reads past the last tick {}",
                            o.name, scenario.months
                        ),
                    ));
                }
            }
        }
        Ok(model)
    }
}

/// Load the base: a scenario file (relative to the sweep file) or a built-in model. Returns the
/// base and the bytes to hash with the sweep file.
pub fn load_base(
    path: &Path,
    text: &str,
    scenario: Option<&str>,
    model: Option<&str>,
) -> Result<(Base, Vec<u8>), SweepError> {
    let err = |key: &str, message: String| located(text, path, problem(key, message));
    match (scenario, model) {
        (Some(_), Some(_)) => Err(err(
            "model",
            "give either `scenario` (a scenario file) or `model` (a built-in test model), not both"
                .into(),
        )),
        (None, None) => Err(err(
            "scenario",
            "missing: give `scenario` (a scenario file) or `model` (a built-in test model)".into(),
        )),
        (None, Some(m)) => match TestModel::from_name(m) {
            Some(tm) => Ok((Base::Builtin(tm), format!("model:{m}").into_bytes())),
            None => {
                let names: Vec<&str> = TestModel::ALL.iter().map(|m| m.name()).collect();
                Err(err(
                    "model",
                    format!(
                        "unknown built-in model \"{m}\"; expected one of {}",
                        names.join(", ")
                    ),
                ))
            }
        },
        (Some(s), None) => {
            let base_path = path.parent().unwrap_or(Path::new(".")).join(s);
            let base_text = error::read_input(&base_path)
                .map_err(|e| err("scenario", crate::scenario::error::describe_read_error(&e)))?;
            let mut scenario = Scenario::parse(&base_text, &base_path)
                .map_err(|e| err("scenario", format!("the base scenario is not valid: {e}")))?;
            let mut table: Table = base_text
                .parse()
                .map_err(|e| err("scenario", format!("the base scenario is not valid: {e}")))?;
            if expect_answers(&mut table) {
                scenario.model.survey.answers = Answers::Expected;
            }
            Ok((
                Base::Scenario(Box::new(BaseScenario {
                    path: base_path,
                    table,
                    defaults: tomlpath::scenario_defaults(),
                    name: scenario.name.clone(),
                    sha256: sha256_hex(base_text.as_bytes()),
                    scenario,
                })),
                base_text.into_bytes(),
            ))
        }
    }
}

/// Make a base scenario that does not choose `model.survey.answers` report expected answers
/// (ODD 7.10): sweeps, calibrations and optimisations compare expected shares, which have the
/// sampled shares' means with less variance and draw nothing. A `[set]` table or a parameter can
/// still choose `"sampled"`. Returns whether the table was changed.
fn expect_answers(table: &mut Table) -> bool {
    let Some(model) = table
        .entry("model")
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
    else {
        return false;
    };
    let Some(survey) = model
        .entry("survey")
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
    else {
        return false;
    };
    if survey.contains_key("answers") {
        return false;
    }
    survey.insert("answers".into(), Value::String("expected".into()));
    true
}

/// Apply a `[set]` table of fixed values to a scenario base and validate the result.
pub fn apply_set(base: &mut Base, set: &Table) -> Result<(), Problem> {
    let Base::Scenario(b) = base else {
        return Err(problem(
            "set",
            "`set` changes a base scenario; a built-in model has none",
        ));
    };
    let mut leaves = Vec::new();
    flatten(set, String::new(), &mut leaves);
    for (path, value) in leaves {
        let key = format!("set.{path}");
        if RESERVED.contains(&path.as_str()) {
            return Err(problem(
                key,
                format!("`{path}` is set by the sweep or calibration itself"),
            ));
        }
        let segments = tomlpath::parse_path(&path)
            .ok_or_else(|| problem(&key, format!("\"{path}\" is not a dotted key path")))?;
        tomlpath::set(&mut b.table, &segments, value.clone(), &b.defaults)
            .map_err(|m| problem(&key, m))?;
        let file: ScenarioFile = crate::scenario::strict::from_table(b.table.clone()).map_err(
            |e: toml::de::Error| problem(&key, crate::scenario::error::plain_message(e.message())),
        )?;
        b.scenario = Scenario::from_file(file, Some(b.name.clone()))
            .map_err(|p| problem(&key, format!("`{}`: {}", p.key, p.message)))?;
    }
    Ok(())
}

/// The leaves of a table as (dotted path, value); arrays are leaves.
fn flatten(t: &Table, prefix: String, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) => flatten(inner, path, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// Build a base with `assigned` values. Problems name the scenario key (or input) at fault.
pub fn build_model(
    base: &Base,
    assigned: &[(&Parameter, &Value)],
    seed: u64,
    replicates: u32,
) -> Result<PointModel, Problem> {
    match base {
        Base::Builtin(model) => {
            let mut inputs: Vec<f64> = model.inputs().iter().map(|i| i.default).collect();
            for (par, v) in assigned {
                let i = model
                    .input_index(&par.path)
                    .ok_or_else(|| problem(&par.path, "not an input of the model"))?;
                let x = v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .ok_or_else(|| problem(&par.path, format!("must be a number, got {v}")))?;
                inputs[i] = x;
            }
            Ok(PointModel::Builtin {
                model: *model,
                inputs,
                seed,
            })
        }
        Base::Scenario(b) => {
            let mut scenario = scenario_with(b, assigned)?;
            scenario.seed = seed;
            scenario.replicates = replicates;
            let population = Population::build(&scenario);
            let structures = match scenario.structure() {
                crate::scenario::Structure::Fixed => Vec::new(),
                crate::scenario::Structure::PerReplicate => (0..replicates)
                    .map(|r| Population::for_replicate(&scenario, &population, r).into_owned())
                    .collect(),
            };
            let env = Environment::new(&scenario);
            Ok(PointModel::Ccg {
                scenario,
                population,
                structures,
                env,
            })
        }
    }
}

/// The base scenario with `assigned` values set, validated like a scenario file.
pub fn scenario_with(
    b: &BaseScenario,
    assigned: &[(&Parameter, &Value)],
) -> Result<Scenario, Problem> {
    let table = table_with(b, assigned)?;
    let file: ScenarioFile =
        crate::scenario::strict::from_table(table).map_err(|e: toml::de::Error| {
            problem(
                "(scenario)",
                crate::scenario::error::plain_message(e.message()),
            )
        })?;
    Scenario::from_file(file, Some(b.name.clone()))
}

/// The base scenario's TOML with `assigned` values set.
pub fn table_with(b: &BaseScenario, assigned: &[(&Parameter, &Value)]) -> Result<Table, Problem> {
    let mut table = b.table.clone();
    for (par, v) in assigned {
        tomlpath::set(&mut table, &par.segments, (*v).clone(), &b.defaults)
            .map_err(|m| problem(&par.path, m))?;
    }
    Ok(table)
}

/// Keys a sweep or calibration sets itself and so may not vary.
const RESERVED: [&str; 3] = ["seed", "replicates", "name"];

/// Validate `[[parameters]]` against the base: each path must exist (setting it must give a valid
/// scenario) and each range's ends and each listed value must be in the parameter's domain.
pub fn parameters(list: &[ParameterFile], base: &Base) -> Result<Vec<Parameter>, Problem> {
    let mut out: Vec<Parameter> = Vec::with_capacity(list.len());
    if list.is_empty() {
        return Err(problem(
            "parameters",
            "list at least one parameter to vary ([[parameters]])",
        ));
    }
    let mut paths: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, pf) in list.iter().enumerate() {
        let key = |k: &str| format!("parameters[{i}].{k}");
        let segments = tomlpath::parse_path(&pf.path).ok_or_else(|| {
            problem(
                key("path"),
                format!(
                    "\"{}\" is not a dotted key path like `policy.sanctions.rate`",
                    pf.path
                ),
            )
        })?;
        if RESERVED.contains(&pf.path.as_str()) {
            return Err(problem(
                key("path"),
                format!(
                    "`{}` is set by the sweep itself and cannot be varied",
                    pf.path
                ),
            ));
        }
        if !paths.insert(pf.path.as_str()) {
            return Err(problem(
                key("path"),
                format!("`{}` is listed twice", pf.path),
            ));
        }
        let log = match pf.distribution.as_deref() {
            None | Some("uniform") => false,
            Some("log_uniform") => true,
            Some(d) => {
                return Err(problem(
                    key("distribution"),
                    format!(
                        "unknown distribution \"{d}\"; expected \"uniform\" or \"log_uniform\""
                    ),
                ));
            }
        };
        let levels = match pf.levels {
            None => None,
            Some(l) if (1..=100_000).contains(&l) => Some(l as u32),
            Some(l) => {
                return Err(problem(
                    key("levels"),
                    format!("must be an integer between 1 and 100000, got {l}"),
                ));
            }
        };
        let domain = match (&pf.values, &pf.range) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    key("values"),
                    "give either `values` or `range`, not both",
                ));
            }
            (None, None) => {
                return Err(problem(
                    key("path"),
                    "give the values to take: `values = [...]` or `range = [low, high]`",
                ));
            }
            (Some(v), None) => {
                if v.is_empty() {
                    return Err(problem(key("values"), "must list at least one value"));
                }
                if pf.distribution.is_some() || pf.levels.is_some() {
                    return Err(problem(
                        key("values"),
                        "`distribution` and `levels` go with `range`, not with `values`",
                    ));
                }
                Domain::Values(v.clone())
            }
            (None, Some(r)) => {
                let [lo, hi] = r[..] else {
                    return Err(problem(
                        key("range"),
                        format!("must be [low, high], got {} numbers", r.len()),
                    ));
                };
                if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
                    return Err(problem(
                        key("range"),
                        format!("is empty: low ({lo}) must be below high ({hi})"),
                    ));
                }
                if log && lo <= 0.0 {
                    return Err(problem(
                        key("range"),
                        format!("a log_uniform range must be positive, got low = {lo}"),
                    ));
                }
                Domain::Range {
                    lo,
                    hi,
                    log,
                    levels,
                }
            }
        };
        let mut par = Parameter {
            path: pf.path.clone(),
            segments,
            domain,
            integer: pf.integer.unwrap_or(false),
        };
        if let Base::Scenario(b) = base
            && pf.integer.is_none()
            && matches!(
                tomlpath::get(&b.table, &par.segments),
                Some(Value::Integer(_))
            )
        {
            par.integer = true;
        }
        check_domain(&mut par, pf.integer.is_none(), base, &key)?;
        out.push(par);
    }
    Ok(out)
}

/// Build the base with each end of the range (or each listed value) to check the parameter's path
/// and domain; a float where the scenario wants an integer switches the parameter to integers
/// unless `integer` was given.
fn check_domain(
    par: &mut Parameter,
    may_switch: bool,
    base: &Base,
    key: &dyn Fn(&str) -> String,
) -> Result<(), Problem> {
    let probes: Vec<Value> = match &par.domain {
        Domain::Values(v) => v.clone(),
        Domain::Range { lo, hi, .. } => vec![par.number(*lo), par.number(*hi)],
    };
    let which = if par.is_list() {
        key("values")
    } else {
        key("range")
    };
    if let Base::Builtin(m) = base {
        let Some(i) = m.input_index(&par.path) else {
            let names: Vec<&str> = m.inputs().iter().map(|i| i.name).collect();
            return Err(problem(
                key("path"),
                format!(
                    "`{}` is not an input of the {} model; its inputs are {}",
                    par.path,
                    m.name(),
                    names.join(", ")
                ),
            ));
        };
        let input = m.inputs()[i];
        for v in &probes {
            let Some(x) = v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) else {
                return Err(problem(
                    which,
                    format!("`{}` takes numbers, got {v}", par.path),
                ));
            };
            let slack = 1e-9 * (input.hi - input.lo);
            if !x.is_finite() || x < input.lo - slack || x > input.hi + slack {
                return Err(problem(
                    which,
                    format!(
                        "`{}` must be between {} and {}, got {x}",
                        par.path, input.lo, input.hi
                    ),
                ));
            }
        }
        return Ok(());
    }
    let Base::Scenario(b) = base else {
        unreachable!()
    };
    for v in &probes {
        match scenario_with(b, &[(par, v)]) {
            Ok(_) => {}
            Err(p)
                if may_switch
                    && !par.integer
                    && v.is_float()
                    && p.message.contains("floating point") =>
            {
                par.integer = true;
                return check_domain(par, false, base, key);
            }
            Err(p) => {
                let what = if p.key == par.path || p.key == "(scenario)" {
                    format!("`{}` {}", par.path, p.message)
                } else {
                    format!("setting `{}` to {v}: `{}`: {}", par.path, p.key, p.message)
                };
                let which = if p.message.contains("unknown field")
                    || p.key == par.path && !p.message.starts_with("must")
                {
                    key("path")
                } else {
                    which.clone()
                };
                return Err(problem(which, what));
            }
        }
    }
    Ok(())
}

fn design(f: &DesignFile, params: &[Parameter]) -> Result<Design, Problem> {
    let k = params.len();
    let int = |name: &str, v: Option<i64>, lo: i64, hi: i64| -> Result<Option<u32>, Problem> {
        match v {
            None => Ok(None),
            Some(x) if (lo..=hi).contains(&x) => Ok(Some(x as u32)),
            Some(x) => Err(problem(
                format!("design.{name}"),
                format!("must be an integer between {lo} and {hi}, got {x}"),
            )),
        }
    };
    let unused = |names: &[(&str, bool)]| -> Result<(), Problem> {
        for (n, given) in names {
            if *given {
                return Err(problem(
                    format!("design.{n}"),
                    format!("is not used by a {} design", f.kind),
                ));
            }
        }
        Ok(())
    };
    let design = match f.kind.as_str() {
        "grid" | "zip" => {
            unused(&[
                ("points", f.points.is_some()),
                ("n", f.n.is_some()),
                ("second_order", f.second_order.is_some()),
                ("trajectories", f.trajectories.is_some()),
                ("levels", f.levels.is_some()),
                ("candidates", f.candidates.is_some()),
            ])?;
            for (i, p) in params.iter().enumerate() {
                if p.levels() == 0 {
                    return Err(problem(
                        format!("parameters[{i}].range"),
                        format!(
                            "a {} design needs `values`, or `levels` with a range",
                            f.kind
                        ),
                    ));
                }
            }
            if f.kind == "zip" {
                let n = params[0].levels();
                if let Some((i, p)) = params.iter().enumerate().find(|(_, p)| p.levels() != n) {
                    return Err(problem(
                        format!("parameters[{i}].values"),
                        format!(
                            "a zip design varies lists together: `{}` has {} values but `{}` has {n}",
                            p.path,
                            p.levels(),
                            params[0].path
                        ),
                    ));
                }
                Design::Zip
            } else {
                Design::Grid
            }
        }
        "lhs" => {
            unused(&[
                ("n", f.n.is_some()),
                ("second_order", f.second_order.is_some()),
                ("trajectories", f.trajectories.is_some()),
                ("levels", f.levels.is_some()),
                ("candidates", f.candidates.is_some()),
            ])?;
            let points = int("points", f.points, 1, 10_000_000)?
                .ok_or_else(|| problem("design.kind", "an lhs design needs `points`"))?;
            Design::Lhs { points }
        }
        "sobol" => {
            unused(&[
                ("points", f.points.is_some()),
                ("trajectories", f.trajectories.is_some()),
                ("levels", f.levels.is_some()),
                ("candidates", f.candidates.is_some()),
            ])?;
            let n = int("n", f.n, 1, 1 << 24)?.ok_or_else(|| {
                problem(
                    "design.kind",
                    "a sobol design needs `n`, the number of base samples (a power of two)",
                )
            })?;
            if !n.is_power_of_two() {
                return Err(problem(
                    "design.n",
                    format!(
                        "must be a power of two (the Sobol' sequence is balanced only at powers of two), got {n}; try {}",
                        n.next_power_of_two()
                    ),
                ));
            }
            if k < 2 {
                return Err(problem(
                    "parameters",
                    "a sobol design needs at least two parameters",
                ));
            }
            if k > SOBOL_MAX_PARAMETERS {
                return Err(problem(
                    "parameters",
                    format!(
                        "a sobol design takes at most {SOBOL_MAX_PARAMETERS} parameters, got {k}"
                    ),
                ));
            }
            Design::Sobol {
                n,
                second_order: f.second_order.unwrap_or(false),
            }
        }
        "morris" => {
            unused(&[
                ("points", f.points.is_some()),
                ("n", f.n.is_some()),
                ("second_order", f.second_order.is_some()),
            ])?;
            let trajectories = int("trajectories", f.trajectories, 2, 100_000)?
                .ok_or_else(|| problem("design.kind", "a morris design needs `trajectories`"))?;
            let levels = int("levels", f.levels, 2, 1000)?.unwrap_or(4);
            if levels % 2 != 0 {
                return Err(problem(
                    "design.levels",
                    format!("must be even (so that every step is the same size), got {levels}"),
                ));
            }
            let candidates = int("candidates", f.candidates, 2, 100_000)?.unwrap_or(trajectories);
            if candidates < trajectories {
                return Err(problem(
                    "design.candidates",
                    format!("must be at least trajectories ({trajectories}), got {candidates}"),
                ));
            }
            Design::Morris {
                trajectories,
                levels,
                candidates,
            }
        }
        other => {
            return Err(problem(
                "design.kind",
                format!("unknown design \"{other}\"; expected grid, zip, lhs, sobol or morris"),
            ));
        }
    };
    let levels: Vec<usize> = params.iter().map(Parameter::levels).collect();
    match design.point_count(&levels) {
        Some(n) if n > 0 && n <= 100_000_000 => Ok(design),
        _ => Err(problem(
            "design.kind",
            "the design has no points or too many (more than 100 million)",
        )),
    }
}

fn outputs(list: &[OutputFile], base: &Base) -> Result<Vec<Output>, Problem> {
    let mut out: Vec<Output> = Vec::new();
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    if list.is_empty() {
        return Err(problem(
            "outputs",
            "list at least one output to summarise ([[outputs]] with a `metric`)",
        ));
    }
    let months = match base {
        Base::Scenario(b) => Some(b.scenario.months),
        Base::Builtin(_) => None,
    };
    for (i, o) in list.iter().enumerate() {
        let key = |k: &str| format!("outputs[{i}].{k}");
        let metric = match base {
            Base::Builtin(m) => {
                if o.metric != "y" {
                    return Err(problem(
                        key("metric"),
                        format!("the {} model has one output, `y`", m.name()),
                    ));
                }
                if o.tick.is_some() || o.window.is_some() {
                    return Err(problem(
                        key("metric"),
                        format!("the {} model has no ticks", m.name()),
                    ));
                }
                None
            }
            Base::Scenario(_) => Some(metric_index(&o.metric).ok_or_else(|| {
                problem(
                    key("metric"),
                    format!(
                        "unknown metric \"{}\" (see docs/scenarios.md for the list)",
                        o.metric
                    ),
                )
            })?),
        };
        let months = months.unwrap_or(0) as i64;
        let tick_ok = |name: &str, t: i64| -> Result<u32, Problem> {
            if (0..=months).contains(&t) {
                Ok(t as u32)
            } else {
                Err(problem(
                    key(name),
                    format!("tick {t} is outside the base scenario's ticks 0..={months}"),
                ))
            }
        };
        let at = match (o.tick, &o.window) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    key("window"),
                    "give either `tick` or `window`, not both",
                ));
            }
            (Some(t), None) => At::Tick(tick_ok("tick", t)?),
            (None, Some(w)) => {
                let [a, b] = w[..] else {
                    return Err(problem(key("window"), "must be [first tick, last tick]"));
                };
                let (a, b) = (tick_ok("window", a)?, tick_ok("window", b)?);
                if a > b {
                    return Err(problem(
                        key("window"),
                        format!("is empty: {a} is after {b}"),
                    ));
                }
                At::Window(a, b)
            }
            (None, None) => At::Final,
        };
        let name = o.name.clone().unwrap_or_else(|| match at {
            At::Final => o.metric.clone(),
            At::Tick(t) => format!("{}_t{t}", o.metric),
            At::Window(a, b) => format!("{}_mean_t{a}_{b}", o.metric),
        });
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(problem(
                key("name"),
                format!("must be letters, digits and underscores, got \"{name}\""),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(problem(
                key("name"),
                format!("output `{name}` is listed twice; give one a `name`"),
            ));
        }
        out.push(Output { name, metric, at });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lo: f64, hi: f64, log: bool, integer: bool) -> Parameter {
        Parameter {
            path: "x".into(),
            segments: tomlpath::parse_path("x").unwrap(),
            domain: Domain::Range {
                lo,
                hi,
                log,
                levels: None,
            },
            integer,
        }
    }

    #[test]
    fn unit_coordinates_map_onto_ranges_and_lists() {
        let p = range(0.0, 0.5, false, false);
        assert_eq!(p.value_at(0.0), Value::Float(0.0));
        assert_eq!(p.value_at(1.0), Value::Float(0.5));
        let l = range(0.01, 1.0, true, false);
        assert!((l.value_at(0.5).as_float().unwrap() - 0.1).abs() < 1e-12);
        // Integers 1..=4 each take a quarter of the unit interval.
        let i = range(1.0, 4.0, false, true);
        let counts = (0..400).fold([0; 4], |mut c, j| {
            let v = i.value_at((j as f64 + 0.5) / 400.0).as_integer().unwrap();
            c[(v - 1) as usize] += 1;
            c
        });
        assert_eq!(counts, [100; 4]);
        assert_eq!(i.value_at(1.0), Value::Integer(4));
        let v = Parameter {
            domain: Domain::Values(vec![Value::String("a".into()), Value::String("b".into())]),
            ..range(0.0, 1.0, false, false)
        };
        assert_eq!(v.value_at(0.25), Value::String("a".into()));
        assert_eq!(v.value_at(0.75), Value::String("b".into()));
        assert_eq!(v.value_at(1.0), Value::String("b".into()));
    }
}

//! `ccgsim optimise FILE.toml`: multi-objective search for the policies worth choosing, with
//! NSGA-II over a scenario's decision variables (or a built-in test problem), every candidate
//! evaluated on the same seeds (common random numbers) in every state of the world of an
//! optional uncertainty set, each objective made robust by its mean, a quantile or the regret
//! over those states (docs/experiments.md, "Optimisation").

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rand::RngExt;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use super::hypervolume::{greedy_subset, hypervolume};
use super::nsga2::{self, Individual, Settings};
use super::problems::Problem as TestProblem;
use crate::experiment::Interrupted;
use crate::metrics::metric_index;
use crate::model::params::Problem as KeyProblem;
use crate::output::manifest::sha256_hex;
use crate::output::{PendingFile, number, prepare_dir};
use crate::rng::{Purpose, derive_seed, stream};
use crate::scenario::{check_folder_name, check_seed};
use crate::sweep::error::SweepError;
use crate::sweep::runner::evaluate_models;
use crate::sweep::spec::{
    At, Base, Output, Parameter, ParameterFile, apply_set, build_model, located, parameters,
    parse_toml, problem, read, table_with,
};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptimiseFile {
    name: Option<String>,
    description: Option<String>,
    scenario: Option<String>,
    problem: Option<String>,
    seed: Option<i64>,
    replicates: Option<i64>,
    set: Option<Table>,
    search: Option<SearchFile>,
    #[serde(default)]
    variables: Vec<ParameterFile>,
    #[serde(default)]
    objectives: Vec<ObjectiveFile>,
    #[serde(default)]
    constraints: Vec<ConstraintFile>,
    #[serde(default)]
    uncertain: Vec<ParameterFile>,
    uncertainty: Option<UncertaintyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchFile {
    population: Option<i64>,
    generations: Option<i64>,
    crossover_eta: Option<f64>,
    mutation_eta: Option<f64>,
    #[serde(rename = "final")]
    final_set: Option<String>,
    reference: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectiveFile {
    metric: String,
    sense: Option<String>,
    tick: Option<i64>,
    window: Option<Vec<i64>>,
    robustness: Option<String>,
    quantile: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConstraintFile {
    metric: Option<String>,
    tick: Option<i64>,
    window: Option<Vec<i64>>,
    at_most: Option<f64>,
    at_least: Option<f64>,
    objective: Option<String>,
    no_worse_than_base_by: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UncertaintyFile {
    states: Option<i64>,
}

/// How an objective's values over the states of the world are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Robustness {
    /// The mean over states.
    Mean,
    /// The value that a share `q` of the states falls short of (the q-quantile for an
    /// objective maximised, the (1 - q)-quantile for one minimised).
    Quantile(f64),
    /// The largest regret over states (Savage's minimax regret): in each state, how far the
    /// candidate falls short of the best candidate evaluated in that state.
    Regret,
}

/// One objective.
#[derive(Debug, Clone)]
pub struct Objective {
    pub name: String,
    pub output: Output,
    pub maximise: bool,
    pub robustness: Robustness,
}

/// One constraint: a metric's value in the worst state within bounds, or an objective no worse
/// than the base policy's by more than `by`.
#[derive(Debug, Clone)]
pub enum Constraint {
    Bound {
        name: String,
        output: Output,
        at_most: Option<f64>,
        at_least: Option<f64>,
    },
    NoWorseThanBase {
        name: String,
        objective: usize,
        by: f64,
    },
}

/// What the search runs on.
#[derive(Debug, Clone)]
pub enum Target {
    Scenario(Base),
    Problem(TestProblem),
}

/// Which set `pareto.csv` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalSet {
    /// The last population's non-dominated members.
    Population,
    /// The non-dominated candidates of the whole search, reduced to the population's size by
    /// greedy hypervolume contribution where there are more.
    Archive,
}

/// A validated optimisation file.
#[derive(Debug, Clone)]
pub struct Optimisation {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub sha256: String,
    pub target: Target,
    pub seed: u64,
    pub replicates: u32,
    pub population: usize,
    pub generations: usize,
    pub settings: Settings,
    pub final_set: FinalSet,
    pub reference: Option<Vec<f64>>,
    pub variables: Vec<Parameter>,
    pub objectives: Vec<Objective>,
    pub constraints: Vec<Constraint>,
    pub uncertain: Vec<Parameter>,
    pub states: usize,
}

fn at_of(key: &str, tick: Option<i64>, window: Option<&[i64]>) -> Result<At, KeyProblem> {
    match (tick, window) {
        (None, None) => Ok(At::Final),
        (Some(t), None) if (0..=1200).contains(&t) => Ok(At::Tick(t as u32)),
        (None, Some(&[a, b])) if 0 <= a && a <= b && b <= 1200 => {
            Ok(At::Window(a as u32, b as u32))
        }
        (Some(_), Some(_)) => Err(problem(key, "give a tick or a window, not both")),
        (Some(t), None) => Err(problem(
            format!("{key}.tick"),
            format!("must be a tick from 0, got {t}"),
        )),
        (None, Some(_)) => Err(problem(
            format!("{key}.window"),
            "must be [first, last] with 0 <= first <= last",
        )),
    }
}

fn metric_output(
    key: &str,
    metric: &str,
    at: At,
    months: Option<u32>,
) -> Result<Output, KeyProblem> {
    let m = metric_index(metric).ok_or_else(|| {
        problem(
            format!("{key}.metric"),
            format!("unknown metric \"{metric}\"; `ccgsim metrics` lists them"),
        )
    })?;
    if let Some(months) = months {
        let last = match at {
            At::Final => 0,
            At::Tick(t) => t,
            At::Window(_, b) => b,
        };
        if last > months {
            return Err(problem(
                key,
                format!("reads tick {last}, after the run's last ({months})"),
            ));
        }
    }
    Ok(Output {
        name: metric.to_string(),
        metric: Some(m),
        at,
    })
}

impl Optimisation {
    /// Read, parse and validate the file at `path` (and its base scenario).
    pub fn load(path: &Path) -> Result<Optimisation, SweepError> {
        let text = read(path)?;
        let file: OptimiseFile = parse_toml(&text, path)?;
        let at = |p: KeyProblem| located(&text, path, p);
        let default_name = path.file_stem().map_or_else(
            || "optimise".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let (target, base_bytes) = match (&file.scenario, &file.problem) {
            (Some(_), Some(_)) => {
                return Err(at(problem(
                    "problem",
                    "give a scenario or a problem, not both",
                )));
            }
            (None, None) => {
                return Err(at(problem(
                    "scenario",
                    "missing: name a base scenario file, or a test problem with `problem = \"zdt1\"`",
                )));
            }
            (None, Some(p)) => {
                let problem_of = match p.as_str() {
                    "zdt1" => TestProblem::Zdt1,
                    "zdt2" => TestProblem::Zdt2,
                    "dtlz2" => TestProblem::Dtlz2 { objectives: 3 },
                    other => {
                        return Err(at(problem(
                            "problem",
                            format!(
                                "unknown problem \"{other}\"; the test problems are zdt1, zdt2 and dtlz2"
                            ),
                        )));
                    }
                };
                (Target::Problem(problem_of), p.as_bytes().to_vec())
            }
            (Some(s), None) => {
                let (mut base, bytes) =
                    crate::sweep::spec::load_base(path, &text, Some(s.as_str()), None)?;
                if let Some(set) = &file.set {
                    apply_set(&mut base, set).map_err(at)?;
                }
                (Target::Scenario(base), bytes)
            }
        };
        let o = Optimisation::from_file(file, path, target, default_name).map_err(at)?;
        let mut hashed = text.as_bytes().to_vec();
        hashed.extend_from_slice(&base_bytes);
        Ok(Optimisation {
            sha256: sha256_hex(&hashed),
            ..o
        })
    }

    fn from_file(
        f: OptimiseFile,
        path: &Path,
        target: Target,
        default_name: String,
    ) -> Result<Optimisation, KeyProblem> {
        let name = f.name.unwrap_or(default_name);
        check_folder_name(&name).map_err(|m| problem("name", m))?;
        let seed = check_seed(f.seed, 1).map_err(|m| problem("seed", m))?;
        let is_problem = matches!(target, Target::Problem(_));
        let replicates = match f.replicates {
            None => {
                if is_problem {
                    1
                } else {
                    4
                }
            }
            Some(r) if (1..=100_000).contains(&r) => r as u32,
            Some(r) => {
                return Err(problem(
                    "replicates",
                    format!("must be an integer between 1 and 100000, got {r}"),
                ));
            }
        };
        let search = f.search.unwrap_or(SearchFile {
            population: None,
            generations: None,
            crossover_eta: None,
            mutation_eta: None,
            final_set: None,
            reference: None,
        });
        let population = match search.population {
            None => {
                if is_problem {
                    100
                } else {
                    40
                }
            }
            Some(n) if (4..=100_000).contains(&n) => n as usize,
            Some(n) => {
                return Err(problem(
                    "search.population",
                    format!("must be an integer between 4 and 100000, got {n}"),
                ));
            }
        };
        let generations = match search.generations {
            None => 25,
            Some(g) if (0..=100_000).contains(&g) => g as usize,
            Some(g) => {
                return Err(problem(
                    "search.generations",
                    format!("must be an integer between 0 and 100000, got {g}"),
                ));
            }
        };
        let mut settings = Settings {
            population,
            ..Settings::default()
        };
        for (key, v, slot) in [
            (
                "search.crossover_eta",
                search.crossover_eta,
                &mut settings.crossover_eta,
            ),
            (
                "search.mutation_eta",
                search.mutation_eta,
                &mut settings.mutation_eta,
            ),
        ] {
            if let Some(v) = v {
                if !(0.0..=1000.0).contains(&v) {
                    return Err(problem(key, format!("must be between 0 and 1000, got {v}")));
                }
                *slot = v;
            }
        }
        let final_set = match search.final_set.as_deref() {
            None | Some("archive") => FinalSet::Archive,
            Some("population") => FinalSet::Population,
            Some(other) => {
                return Err(problem(
                    "search.final",
                    format!("must be \"archive\" or \"population\", got \"{other}\""),
                ));
            }
        };

        let (variables, objectives, uncertain, months) = match &target {
            Target::Problem(p) => {
                for (key, given) in [
                    ("variables", !f.variables.is_empty()),
                    ("objectives", !f.objectives.is_empty()),
                    ("uncertain", !f.uncertain.is_empty()),
                    ("constraints", !f.constraints.is_empty()),
                    ("set", f.set.is_some()),
                ] {
                    if given {
                        return Err(problem(
                            key,
                            format!(
                                "a test problem has its own variables and objectives (x1..x{}, f1..f{}); remove `{key}`",
                                p.variables(),
                                p.objectives()
                            ),
                        ));
                    }
                }
                let objectives = (1..=p.objectives())
                    .map(|k| Objective {
                        name: format!("f{k}"),
                        output: Output {
                            name: format!("f{k}"),
                            metric: None,
                            at: At::Final,
                        },
                        maximise: false,
                        robustness: Robustness::Mean,
                    })
                    .collect();
                (Vec::new(), objectives, Vec::new(), None)
            }
            Target::Scenario(base) => {
                if f.variables.is_empty() {
                    return Err(problem("variables", "name at least one decision variable"));
                }
                let months = match base {
                    Base::Scenario(b) => b.scenario.months,
                    Base::Builtin(_) => unreachable!("optimise files name scenarios or problems"),
                };
                let variables = parameters(&f.variables, base).map_err(|p| KeyProblem {
                    key: format!("variables.{}", p.key),
                    ..p
                })?;
                let uncertain = if f.uncertain.is_empty() {
                    Vec::new()
                } else {
                    parameters(&f.uncertain, base).map_err(|p| KeyProblem {
                        key: format!("uncertain.{}", p.key),
                        ..p
                    })?
                };
                for u in &uncertain {
                    if variables.iter().any(|v| v.path == u.path) {
                        return Err(problem(
                            format!("uncertain.{}", u.path),
                            "is also a decision variable",
                        ));
                    }
                }
                if f.objectives.len() < 2 {
                    return Err(problem(
                        "objectives",
                        format!(
                            "name two or more objectives (there are {})",
                            f.objectives.len()
                        ),
                    ));
                }
                let mut objectives = Vec::new();
                for (k, o) in f.objectives.iter().enumerate() {
                    let key = format!("objectives[{k}]");
                    let at = at_of(&key, o.tick, o.window.as_deref())?;
                    let output = metric_output(&key, &o.metric, at, Some(months))?;
                    let maximise = match o.sense.as_deref() {
                        Some("maximise" | "maximize") => true,
                        Some("minimise" | "minimize") => false,
                        None => {
                            return Err(problem(
                                format!("{key}.sense"),
                                "missing: \"maximise\" or \"minimise\"",
                            ));
                        }
                        Some(other) => {
                            return Err(problem(
                                format!("{key}.sense"),
                                format!("must be \"maximise\" or \"minimise\", got \"{other}\""),
                            ));
                        }
                    };
                    let robustness = match (o.robustness.as_deref(), o.quantile) {
                        (None | Some("mean"), None) => Robustness::Mean,
                        (Some("regret"), None) => Robustness::Regret,
                        (Some("quantile"), Some(q)) if q > 0.0 && q < 1.0 => {
                            Robustness::Quantile(q)
                        }
                        (Some("quantile"), _) => {
                            return Err(problem(
                                format!("{key}.quantile"),
                                "robustness \"quantile\" needs `quantile`, strictly between 0 and 1",
                            ));
                        }
                        (Some(other), _) if !matches!(other, "mean" | "regret") => {
                            return Err(problem(
                                format!("{key}.robustness"),
                                format!(
                                    "must be \"mean\", \"quantile\" or \"regret\", got \"{other}\""
                                ),
                            ));
                        }
                        _ => {
                            return Err(problem(
                                format!("{key}.quantile"),
                                "only robustness \"quantile\" takes a quantile",
                            ));
                        }
                    };
                    let name = match at {
                        At::Final => o.metric.clone(),
                        At::Tick(t) => format!("{}_t{t}", o.metric),
                        At::Window(a, b) => format!("{}_t{a}_{b}", o.metric),
                    };
                    if objectives.iter().any(|p: &Objective| p.name == name) {
                        return Err(problem(key, format!("`{name}` is an objective twice")));
                    }
                    objectives.push(Objective {
                        name,
                        output,
                        maximise,
                        robustness,
                    });
                }
                (variables, objectives, uncertain, Some(months))
            }
        };
        let mut constraints = Vec::new();
        for (k, c) in f.constraints.iter().enumerate() {
            let key = format!("constraints[{k}]");
            match (&c.metric, &c.objective) {
                (Some(metric), None) => {
                    if c.no_worse_than_base_by.is_some() {
                        return Err(problem(
                            format!("{key}.no_worse_than_base_by"),
                            "goes with `objective`, not `metric`",
                        ));
                    }
                    let at = at_of(&key, c.tick, c.window.as_deref())?;
                    let output = metric_output(&key, metric, at, months)?;
                    match (c.at_most, c.at_least) {
                        (None, None) => {
                            return Err(problem(key, "give `at_most`, `at_least` or both"));
                        }
                        (Some(hi), Some(lo)) if lo > hi => {
                            return Err(problem(
                                key,
                                format!("cannot be met: at_least {lo} is above at_most {hi}"),
                            ));
                        }
                        (a, b)
                            if a.is_some_and(|x| !x.is_finite())
                                || b.is_some_and(|x| !x.is_finite()) =>
                        {
                            return Err(problem(key, "bounds must be finite numbers"));
                        }
                        _ => {}
                    }
                    constraints.push(Constraint::Bound {
                        name: format!(
                            "{}{}",
                            output.name,
                            match at {
                                At::Final => String::new(),
                                At::Tick(t) => format!("_t{t}"),
                                At::Window(a, b) => format!("_t{a}_{b}"),
                            }
                        ),
                        output,
                        at_most: c.at_most,
                        at_least: c.at_least,
                    });
                }
                (None, Some(name)) => {
                    let objective =
                        objectives
                            .iter()
                            .position(|o| &o.name == name)
                            .ok_or_else(|| {
                                let names: Vec<&str> =
                                    objectives.iter().map(|o| o.name.as_str()).collect();
                                problem(
                                    format!("{key}.objective"),
                                    format!(
                                        "\"{name}\" is not an objective; they are {}",
                                        names.join(", ")
                                    ),
                                )
                            })?;
                    let by = c.no_worse_than_base_by.ok_or_else(|| {
                        problem(
                            format!("{key}.no_worse_than_base_by"),
                            "missing: how much worse than the base policy is allowed",
                        )
                    })?;
                    if !(by.is_finite() && by >= 0.0) {
                        return Err(problem(
                            format!("{key}.no_worse_than_base_by"),
                            format!("must be a number at least 0, got {by}"),
                        ));
                    }
                    constraints.push(Constraint::NoWorseThanBase {
                        name: format!("{name}_vs_base"),
                        objective,
                        by,
                    });
                }
                _ => {
                    return Err(problem(
                        key,
                        "give `metric` (with `at_most` or `at_least`) or `objective` (with `no_worse_than_base_by`)",
                    ));
                }
            }
        }
        let states = match (f.uncertainty.and_then(|u| u.states), uncertain.is_empty()) {
            (None, true) => 1,
            (None, false) => 8,
            (Some(_), true) => {
                return Err(problem(
                    "uncertainty.states",
                    "there are no `[[uncertain]]` parameters to vary",
                ));
            }
            (Some(s), false) if (1..=10_000).contains(&s) => s as usize,
            (Some(s), false) => {
                return Err(problem(
                    "uncertainty.states",
                    format!("must be an integer between 1 and 10000, got {s}"),
                ));
            }
        };
        let reference = match (search.reference, &target) {
            (None, Target::Problem(p)) => Some(vec![1.1; p.objectives()]),
            (None, Target::Scenario(_)) => None,
            (Some(r), _) if r.len() != objectives.len() => {
                return Err(problem(
                    "search.reference",
                    format!(
                        "needs one value per objective ({}), got {}",
                        objectives.len(),
                        r.len()
                    ),
                ));
            }
            (Some(r), _) if r.iter().any(|x| !x.is_finite()) => {
                return Err(problem("search.reference", "values must be finite numbers"));
            }
            (Some(r), _) => Some(r),
        };
        Ok(Optimisation {
            path: path.to_path_buf(),
            name,
            description: f.description.unwrap_or_default(),
            sha256: String::new(),
            target,
            seed,
            replicates,
            population,
            generations,
            settings,
            final_set,
            reference,
            variables,
            objectives,
            constraints,
            uncertain,
            states,
        })
    }

    /// What the search needs (see [`crate::limits`]): the models of one generation's candidates
    /// in every state at once, their tallies and a workspace per thread, and every evaluation
    /// kept (each state's and replicate's outputs) for the final intervals and the resume.
    pub fn footprint(&self, threads: usize) -> crate::limits::Footprint {
        use crate::limits::Shape;
        let (shape, months) = match &self.target {
            Target::Scenario(Base::Scenario(b)) => {
                (Shape::of_scenario(&b.scenario), b.scenario.months)
            }
            _ => (
                Shape {
                    ccgs: 0,
                    practices: 0,
                    largest: 0,
                },
                0,
            ),
        };
        let candidates = (self.population * (self.generations + 1) + 1) as u128;
        let in_flight = (self.population * self.states) as u128;
        let practice_months = candidates
            * self.states as u128
            * self.replicates as u128
            * shape.practices
            * months as u128;
        let mut f = crate::limits::points(
            months,
            &shape,
            in_flight,
            self.replicates,
            threads,
            practice_months,
        );
        let outputs = (self.objectives.len() + self.constraints.len()) as u128;
        let per_candidate = 8
            * (self.bounds().len() as u128
                + self.states as u128 * self.replicates as u128 * outputs.max(1))
            + 96;
        f.parts
            .push(("evaluations kept", 2 * per_candidate * candidates));
        f
    }

    /// Decision variables of the search, each on the unit interval (a scenario's variables map
    /// it onto their range or list, as a sweep's design does), or the problem's own.
    fn bounds(&self) -> Vec<(f64, f64)> {
        match &self.target {
            Target::Problem(p) => p.bounds(),
            Target::Scenario(_) => vec![(0.0, 1.0); self.variables.len()],
        }
    }

    fn variable_names(&self) -> Vec<String> {
        match &self.target {
            Target::Problem(p) => (1..=p.variables()).map(|k| format!("x{k}")).collect(),
            Target::Scenario(_) => self.variables.iter().map(|v| v.path.clone()).collect(),
        }
    }

    /// The states of the world: a Latin hypercube of `states` points over the uncertain
    /// parameters, on streams (seed, Optimise, 1, parameter).
    fn state_values(&self) -> Vec<Vec<Value>> {
        let s = self.states;
        let columns: Vec<Vec<f64>> = (0..self.uncertain.len())
            .map(|j| {
                let mut rng = stream(self.seed, Purpose::Optimise, 1, j as u64);
                let mut perm: Vec<usize> = (0..s).collect();
                for i in (1..s).rev() {
                    let k = rng.random_range(0..=i);
                    perm.swap(i, k);
                }
                perm.iter()
                    .map(|&p| (p as f64 + rng.random::<f64>()) / s as f64)
                    .collect()
            })
            .collect();
        (0..s)
            .map(|i| {
                self.uncertain
                    .iter()
                    .zip(&columns)
                    .map(|(par, c)| par.value_at(c[i]))
                    .collect()
            })
            .collect()
    }

    /// The master seed of state `s`: the same for every candidate (common random numbers).
    fn state_seed(&self, s: usize) -> u64 {
        derive_seed(self.seed, Purpose::Optimise, 0, s as u64)
    }

    /// The outputs every scenario evaluation reads: the objectives', then the constraints'.
    fn outputs(&self) -> Vec<Output> {
        let mut out: Vec<Output> = self.objectives.iter().map(|o| o.output.clone()).collect();
        for c in &self.constraints {
            if let Constraint::Bound { output, .. } = c {
                out.push(output.clone());
            }
        }
        out
    }
}

/// One candidate's evaluation: for each state, replicate and output, its value (NaN where the
/// metric is undefined).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Evaluation {
    id: usize,
    generation: usize,
    /// The decision variables, as the search sees them.
    x: Vec<u64>,
    /// `[state][replicate][output]`, as f64 bits (exact through the state file).
    values: Vec<Vec<Vec<u64>>>,
}

impl Evaluation {
    fn x(&self) -> Vec<f64> {
        self.x.iter().map(|&b| f64::from_bits(b)).collect()
    }

    /// Output `o`'s replicate mean in each state.
    fn state_means(&self, o: usize) -> Vec<f64> {
        self.values
            .iter()
            .map(|reps| {
                let v: Vec<f64> = reps
                    .iter()
                    .map(|r| f64::from_bits(r[o]))
                    .filter(|v| v.is_finite())
                    .collect();
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                }
            })
            .collect()
    }

    /// Output `o` over every state and replicate: mean and 95% interval of the mean.
    fn interval(&self, o: usize) -> (f64, Option<(f64, f64)>) {
        let mut w = crate::stats::Welford::default();
        for reps in &self.values {
            for r in reps {
                let v = f64::from_bits(r[o]);
                if v.is_finite() {
                    w.push(v);
                }
            }
        }
        (if w.n > 0 { w.mean } else { f64::NAN }, w.ci95())
    }
}

/// The state file of an interrupted search: everything evaluated and the population.
#[derive(Debug, Serialize, Deserialize)]
struct SearchState {
    /// [`SEARCH_FORMAT`] of the ccgsim that started the search; absent (1) before it was recorded.
    #[serde(default = "first_search_format")]
    format: u32,
    sha256: String,
    /// Generations finished (0: the initial population).
    finished: usize,
    evaluations: Vec<Evaluation>,
    /// Ids of the population after the last finished generation.
    population: Vec<usize>,
    /// Ids of the non-dominated candidates so far.
    front: Vec<usize>,
    /// Hypervolume of each finished generation's front.
    hypervolumes: Vec<u64>,
    /// The base policy's evaluation (id usize::MAX), for scenarios.
    base: Option<Evaluation>,
}

const STATE_FILE: &str = ".optimise-state.json";
/// What a search's evaluations mean. 2: a base scenario that does not choose reports expected
/// answers (ODD 7.10), so a search begun with sampled ones cannot be resumed into the same run.
const SEARCH_FORMAT: u32 = 2;

fn first_search_format() -> u32 {
    1
}

/// The longest time between two saves of the state file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct OptimiseOptions {
    pub resume: bool,
    pub force: bool,
    pub quiet: bool,
    /// Stop after this many generations (a test hook, as if interrupted).
    pub stop_after: Option<usize>,
}

/// The search was stopped by its test hook after a generation; the state file is kept.
#[derive(Debug, thiserror::Error)]
#[error("stopped after generation {0} as asked; run again with --resume to continue")]
pub struct SearchStopped(pub usize);

/// The search was interrupted by a signal; its state is saved as of generation `0` (nothing is
/// written after the signal).
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted{}; the search is saved as of generation {}: run the same command with --resume to continue",
    crate::signals::by(),
    .0
)]
pub struct SearchInterrupted(pub usize);

/// No candidate met the constraints.
#[derive(Debug, thiserror::Error)]
#[error(
    "no candidate met the constraints (the least total violation was {0}); pareto.csv holds the least-violating policies. Loosen the constraints or widen the decision variables' ranges"
)]
pub struct Infeasible(pub String);

struct Evaluator<'a> {
    o: &'a Optimisation,
    states: Vec<Vec<Value>>,
    outputs: Vec<Output>,
    cancel: &'a AtomicBool,
}

impl Evaluator<'_> {
    /// Evaluate candidates `xs` (ids from `first`) of generation `generation`, in parallel.
    fn evaluate(
        &self,
        xs: &[Vec<f64>],
        first: usize,
        generation: usize,
    ) -> anyhow::Result<Vec<Evaluation>> {
        let o = self.o;
        let values: Vec<Vec<Vec<Vec<u64>>>> = match &o.target {
            Target::Problem(p) => {
                use rayon::prelude::*;
                xs.par_iter()
                    .map(|x| vec![vec![p.evaluate(x).iter().map(|v| v.to_bits()).collect()]])
                    .collect()
            }
            Target::Scenario(base) => {
                let mut models = Vec::with_capacity(xs.len() * o.states);
                for x in xs {
                    let values: Vec<Value> = o
                        .variables
                        .iter()
                        .zip(x)
                        .map(|(v, &u)| v.value_at(u.clamp(0.0, 1.0)))
                        .collect();
                    for (s, state) in self.states.iter().enumerate() {
                        models.push(self.model(base, &values, state, s)?);
                    }
                }
                let out = evaluate_models(&models, &self.outputs, o.replicates, self.cancel)?;
                out.chunks(o.states)
                    .map(|states| {
                        states
                            .iter()
                            .map(|reps| {
                                reps.iter()
                                    .map(|r| {
                                        r.iter().map(|v| v.unwrap_or(f64::NAN).to_bits()).collect()
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        Ok(xs
            .iter()
            .zip(values)
            .enumerate()
            .map(|(k, (x, values))| Evaluation {
                id: first + k,
                generation,
                x: x.iter().map(|v| v.to_bits()).collect(),
                values,
            })
            .collect())
    }

    fn model(
        &self,
        base: &Base,
        values: &[Value],
        state: &[Value],
        s: usize,
    ) -> anyhow::Result<crate::sweep::spec::PointModel> {
        let o = self.o;
        let assigned: Vec<(&Parameter, &Value)> = o
            .variables
            .iter()
            .zip(values)
            .chain(o.uncertain.iter().zip(state))
            .collect();
        build_model(base, &assigned, o.state_seed(s), o.replicates).map_err(|p| {
            match read(&o.path) {
                Ok(text) => located(&text, &o.path, p).into(),
                Err(e) => e.into(),
            }
        })
    }

    /// The base policy (the scenario's own values of the decision variables) in every state.
    fn evaluate_base(&self) -> anyhow::Result<Option<Evaluation>> {
        let Target::Scenario(base) = &self.o.target else {
            return Ok(None);
        };
        let mut models = Vec::new();
        for (s, state) in self.states.iter().enumerate() {
            let assigned: Vec<(&Parameter, &Value)> =
                self.o.uncertain.iter().zip(state.iter()).collect();
            models.push(
                build_model(base, &assigned, self.o.state_seed(s), self.o.replicates).map_err(
                    |p| -> anyhow::Error {
                        match read(&self.o.path) {
                            Ok(text) => located(&text, &self.o.path, p).into(),
                            Err(e) => e.into(),
                        }
                    },
                )?,
            );
        }
        let out = evaluate_models(&models, &self.outputs, self.o.replicates, self.cancel)?;
        Ok(Some(Evaluation {
            id: usize::MAX,
            generation: 0,
            x: Vec::new(),
            values: out
                .iter()
                .map(|reps| {
                    reps.iter()
                        .map(|r| r.iter().map(|v| v.unwrap_or(f64::NAN).to_bits()).collect())
                        .collect()
                })
                .collect(),
        }))
    }
}

/// Objective `k`'s values in each state in minimisation form (negated when maximised).
fn minimised(o: &Optimisation, e: &Evaluation, k: usize) -> Vec<f64> {
    let sign = if o.objectives[k].maximise { -1.0 } else { 1.0 };
    e.state_means(k).into_iter().map(|v| sign * v).collect()
}

/// The robust value of objective `k` in minimisation form, given the best (least) value of any
/// candidate in each state (for regret).
fn robust(o: &Optimisation, e: &Evaluation, k: usize, best: &[f64]) -> f64 {
    let g = minimised(o, e, k);
    if g.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    match o.objectives[k].robustness {
        Robustness::Mean => g.iter().sum::<f64>() / g.len() as f64,
        Robustness::Quantile(q) => {
            let mut s = g.clone();
            s.sort_by(f64::total_cmp);
            let i = ((1.0 - q) * s.len() as f64).ceil() as usize;
            s[i.clamp(1, s.len()) - 1]
        }
        Robustness::Regret => g.iter().zip(best).map(|(v, b)| v - b).fold(0.0, f64::max),
    }
}

/// The value of objective `k` as reported: natural units (a regret stays a regret).
fn reported(o: &Optimisation, k: usize, f: f64) -> f64 {
    match (o.objectives[k].robustness, o.objectives[k].maximise) {
        (Robustness::Regret, _) | (_, false) => f,
        (_, true) => -f,
    }
}

/// The worst-state value of each bound constraint and the total violation (each constraint's
/// shortfall divided by max(1, |bound|), summed), given the base's robust objectives.
fn violation(
    o: &Optimisation,
    e: &Evaluation,
    f: &[f64],
    base_f: Option<&[f64]>,
) -> (Vec<f64>, f64) {
    let mut values = Vec::new();
    let mut total = 0.0;
    let mut output = o.objectives.len();
    for c in &o.constraints {
        match c {
            Constraint::Bound {
                at_most, at_least, ..
            } => {
                let m = e.state_means(output);
                output += 1;
                let (hi, lo) = m
                    .iter()
                    .fold((f64::NEG_INFINITY, f64::INFINITY), |(a, b), &v| {
                        (a.max(v), b.min(v))
                    });
                let v = if m.iter().any(|v| !v.is_finite()) {
                    total += 1e9;
                    f64::NAN
                } else {
                    if let Some(h) = at_most {
                        total += (hi - h).max(0.0) / h.abs().max(1.0);
                    }
                    if let Some(l) = at_least {
                        total += (l - lo).max(0.0) / l.abs().max(1.0);
                    }
                    match (at_most, at_least) {
                        (Some(_), None) => hi,
                        (None, Some(_)) => lo,
                        _ => hi,
                    }
                };
                values.push(v);
            }
            Constraint::NoWorseThanBase { objective, by, .. } => {
                // Both in minimisation form; a regret objective compares the mean instead.
                let k = *objective;
                let mean = |e: &Evaluation| {
                    let g = minimised(o, e, k);
                    g.iter().sum::<f64>() / g.len() as f64
                };
                let (cand, base) = match (o.objectives[k].robustness, base_f) {
                    (Robustness::Regret, _) | (_, None) => (mean(e), f64::NAN),
                    (_, Some(b)) => (f[k], b[k]),
                };
                let excess = cand - base - by;
                if excess.is_finite() {
                    total += excess.max(0.0);
                }
                values.push(reported(o, k, cand) - reported(o, k, base));
            }
        }
    }
    (values, total)
}

/// The best (least) minimised value of each objective in each state over `evals`.
fn best_by_state<'a>(
    o: &Optimisation,
    evals: impl Iterator<Item = &'a Evaluation> + Clone,
) -> Vec<Vec<f64>> {
    (0..o.objectives.len())
        .map(|k| {
            let mut best = vec![f64::INFINITY; o.states];
            for e in evals.clone() {
                for (b, v) in best.iter_mut().zip(minimised(o, e, k)) {
                    if v < *b {
                        *b = v;
                    }
                }
            }
            best
        })
        .collect()
}

/// The individuals of `ids` as NSGA-II sees them, objectives robust against `best`.
fn individuals(
    o: &Optimisation,
    all: &[Evaluation],
    ids: &[usize],
    best: &[Vec<f64>],
    base_f: Option<&[f64]>,
) -> Vec<Individual> {
    ids.iter()
        .map(|&i| {
            let e = &all[i];
            let f: Vec<f64> = (0..o.objectives.len())
                .map(|k| robust(o, e, k, &best[k]))
                .collect();
            let (_, v) = violation(o, e, &f, base_f);
            Individual {
                x: e.x(),
                f,
                violation: v,
            }
        })
        .collect()
}

/// Match selected individuals back to ids (equal variables give equal evaluations, as every
/// candidate runs on the same seeds: the first unused id of the same variables is taken).
fn ids_of(selected: &[Individual], pool: &[usize], all: &[Evaluation]) -> Vec<usize> {
    let mut used = vec![false; pool.len()];
    selected
        .iter()
        .map(|ind| {
            let bits: Vec<u64> = ind.x.iter().map(|v| v.to_bits()).collect();
            let k = (0..pool.len())
                .find(|&k| !used[k] && all[pool[k]].x == bits)
                .expect("a selected individual comes from the pool");
            used[k] = true;
            pool[k]
        })
        .collect()
}

fn front_hypervolume(front: &[Individual], reference: Option<&[f64]>) -> f64 {
    let Some(r) = reference else { return 0.0 };
    let points: Vec<Vec<f64>> = front
        .iter()
        .filter(|i| i.violation == 0.0 && i.f.iter().all(|v| v.is_finite()))
        .map(|i| i.f.clone())
        .collect();
    hypervolume(&points, r)
}

/// The reference point of the hypervolume in minimisation form: the file's (in natural units),
/// else the base policy's robust objectives, else none.
fn reference_point(o: &Optimisation, base_f: Option<&[f64]>) -> Option<Vec<f64>> {
    match &o.reference {
        Some(r) => Some(
            r.iter()
                .enumerate()
                .map(|(k, &v)| {
                    if o.objectives[k].maximise && o.objectives[k].robustness != Robustness::Regret
                    {
                        -v
                    } else {
                        v
                    }
                })
                .collect(),
        ),
        // A regret objective's reference is the base policy's own regret.
        None => base_f.map(<[f64]>::to_vec),
    }
}

/// What the search found.
#[derive(Debug)]
pub struct Found {
    pub dir: PathBuf,
    pub pareto: usize,
    pub evaluations: usize,
    pub hypervolume: f64,
    /// The Pareto policies, as rows for the terminal: variable values and objective values.
    pub table: String,
}

/// Run the search of `o` into `dir` (see the module docs).
pub fn optimise(
    o: &Optimisation,
    dir: &Path,
    opts: &OptimiseOptions,
    cancel: &AtomicBool,
) -> anyhow::Result<Found> {
    let state_path = dir.join(STATE_FILE);
    let resumed: Option<SearchState> = if opts.resume && state_path.exists() {
        let text = std::fs::read_to_string(&state_path)?;
        let s: SearchState = serde_json::from_str(&text).map_err(|e| SweepError::Folder {
            path: state_path.clone(),
            message: format!("is not a state file this ccgsim can read ({e})"),
        })?;
        if s.format != SEARCH_FORMAT {
            return Err(SweepError::Folder {
                path: dir.to_path_buf(),
                message: format!(
                    "holds a search started by an older ccgsim (state format {}), whose evaluations this one would not repeat; pass --force to start again",
                    s.format
                ),
            }
            .into());
        }
        if s.sha256 != o.sha256 {
            return Err(SweepError::Folder {
                path: dir.to_path_buf(),
                message: "holds a search of a different file (or base scenario); resume it with the file it was started with, or choose another --out".into(),
            }
            .into());
        }
        Some(s)
    } else {
        prepare_dir(dir, opts.force)?;
        None
    };
    let evaluator = Evaluator {
        o,
        states: o.state_values(),
        outputs: o.outputs(),
        cancel,
    };
    let bounds = o.bounds();
    let n = o.population;
    let mut st = match resumed {
        Some(s) => s,
        None => {
            let base = evaluator.evaluate_base()?;
            let mut rng = stream(o.seed, Purpose::Optimise, 2, 0);
            let xs = nsga2::initial(&bounds, n, &mut rng);
            let evaluations = evaluator.evaluate(&xs, 0, 0)?;
            let mut s = SearchState {
                format: SEARCH_FORMAT,
                sha256: o.sha256.clone(),
                finished: 0,
                population: (0..n).collect(),
                front: Vec::new(),
                hypervolumes: Vec::new(),
                evaluations,
                base,
            };
            finish_generation(o, &mut s, (0..n).collect());
            write_state(dir, &s)?;
            if !opts.quiet {
                progress(o, &s);
            }
            s
        }
    };
    let mut saved = std::time::Instant::now();
    let mut saved_generation = st.finished;
    let every_generation = std::env::var_os(crate::cli::PROGRESS_ENV).is_some();
    while st.finished < o.generations {
        if opts.stop_after.is_some_and(|k| st.finished >= k) {
            return Err(SearchStopped(st.finished).into());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(SearchInterrupted(saved_generation).into());
        }
        let g = st.finished + 1;
        let best = best_by_state(o, st.evaluations.iter());
        let base_f = base_objectives(o, &st, &best);
        let parents = individuals(o, &st.evaluations, &st.population, &best, base_f.as_deref());
        let mut rng = stream(o.seed, Purpose::Optimise, 2, g as u64);
        let xs = nsga2::offspring(&parents, &bounds, &o.settings, &mut rng);
        let first = st.evaluations.len();
        let children = match evaluator.evaluate(&xs, first, g) {
            Ok(c) => c,
            Err(e) if e.is::<Interrupted>() => {
                return Err(SearchInterrupted(saved_generation).into());
            }
            Err(e) => return Err(e),
        };
        st.evaluations.extend(children);
        let new: Vec<usize> = (first..st.evaluations.len()).collect();
        // Selection from parents and children, with regrets against everything evaluated.
        let best = best_by_state(o, st.evaluations.iter());
        let base_f = base_objectives(o, &st, &best);
        let pool: Vec<usize> = st
            .population
            .iter()
            .copied()
            .chain(new.iter().copied())
            .collect();
        let combined = individuals(o, &st.evaluations, &pool, &best, base_f.as_deref());
        let selected = nsga2::select(combined, n);
        st.population = ids_of(&selected, &pool, &st.evaluations);
        st.finished = g;
        finish_generation(o, &mut st, new);
        // The state is saved at most every few seconds (and before a requested stop), so that
        // a search of cheap evaluations is not dominated by its checkpoints; an interruption
        // loses at most that much work, and the results do not depend on when it was saved.
        // (Under the tests' progress hook, after every generation, so that they can stop a
        // search at a known one.)
        let stop_next = opts.stop_after.is_some_and(|k| g >= k);
        if stop_next || every_generation || saved.elapsed() >= CHECKPOINT_EVERY {
            write_state(dir, &st)?;
            saved = std::time::Instant::now();
            saved_generation = g;
            crate::cli::test_progress("saved", g);
        }
        if !opts.quiet {
            progress(o, &st);
        }
    }
    write_results(o, &st, dir)
}

/// The base policy's robust objectives in minimisation form.
fn base_objectives(o: &Optimisation, st: &SearchState, best: &[Vec<f64>]) -> Option<Vec<f64>> {
    st.base.as_ref().map(|b| {
        (0..o.objectives.len())
            .map(|k| robust(o, b, k, &best[k]))
            .collect()
    })
}

/// Update the front with the generation's new candidates and record its hypervolume.
fn finish_generation(o: &Optimisation, st: &mut SearchState, new: Vec<usize>) {
    let best = best_by_state(o, st.evaluations.iter());
    let base_f = base_objectives(o, st, &best);
    let pool: Vec<usize> = st.front.iter().copied().chain(new).collect();
    let inds = individuals(o, &st.evaluations, &pool, &best, base_f.as_deref());
    let keep = nsga2::pareto_indices(&inds);
    let mut front: Vec<usize> = keep.iter().map(|&k| pool[k]).collect();
    front.sort_unstable();
    front.dedup();
    st.front = front;
    let pop = individuals(o, &st.evaluations, &st.population, &best, base_f.as_deref());
    let first = nsga2::pareto_indices(&pop);
    let front_inds: Vec<Individual> = first.iter().map(|&k| pop[k].clone()).collect();
    let reference = reference_point(o, base_f.as_deref());
    let hv = front_hypervolume(&front_inds, reference.as_deref());
    st.hypervolumes.push(hv.to_bits());
}

fn progress(o: &Optimisation, st: &SearchState) {
    let hv = f64::from_bits(*st.hypervolumes.last().unwrap_or(&0));
    eprintln!(
        "generation {}/{}: {} evaluated, {} non-dominated so far, hypervolume of the population's front {}",
        st.finished,
        o.generations,
        st.evaluations.len(),
        st.front.len(),
        number(Some(hv))
    );
}

fn write_state(dir: &Path, st: &SearchState) -> anyhow::Result<()> {
    use std::io::Write;
    let f = PendingFile::new(dir, STATE_FILE)?;
    {
        let mut w = f.writer()?;
        serde_json::to_writer(&mut w, st)?;
        w.flush()?;
    }
    f.commit()?;
    Ok(())
}

fn csv_finish(w: csv::Writer<std::io::BufWriter<std::fs::File>>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut inner = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("could not write: {}", e.error()))?;
    inner.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct OptimiseManifest<'a> {
    ccgsim_version: &'a str,
    optimisation: &'a str,
    description: &'a str,
    file: String,
    sha256: &'a str,
    target: String,
    seed: u64,
    replicates: u32,
    states: usize,
    population: usize,
    generations: usize,
    evaluations: usize,
    final_set: FinalSet,
    variables: Vec<String>,
    objectives: Vec<ManifestObjective<'a>>,
    constraints: Vec<String>,
    uncertain: Vec<String>,
    hypervolume_reference: Option<Vec<f64>>,
    /// The base policy's objectives (natural units) and constraint values, for scenarios.
    base_objectives: Option<Vec<f64>>,
    base_constraints: Option<Vec<f64>>,
    pareto: usize,
    files: Vec<String>,
}

#[derive(Serialize)]
struct ManifestObjective<'a> {
    name: &'a str,
    sense: &'static str,
    robustness: Robustness,
}

fn variable_cells(o: &Optimisation, e: &Evaluation) -> Vec<String> {
    match &o.target {
        Target::Problem(_) => e.x().iter().map(|&v| number(Some(v))).collect(),
        Target::Scenario(_) => o
            .variables
            .iter()
            .zip(e.x())
            .map(|(v, u)| crate::sweep::runner::cell(&v.value_at(u.clamp(0.0, 1.0))))
            .collect(),
    }
}

fn write_results(o: &Optimisation, st: &SearchState, dir: &Path) -> anyhow::Result<Found> {
    let best = best_by_state(o, st.evaluations.iter());
    let base_f = base_objectives(o, st, &best);
    let all_ids: Vec<usize> = (0..st.evaluations.len()).collect();
    let every = individuals(o, &st.evaluations, &all_ids, &best, base_f.as_deref());
    // The final set: the front of the whole search (archive) or of the last population.
    let pool: Vec<usize> = match o.final_set {
        FinalSet::Archive => {
            let mut p: Vec<usize> = st.front.iter().chain(&st.population).copied().collect();
            p.sort_unstable();
            p.dedup();
            p
        }
        FinalSet::Population => st.population.clone(),
    };
    let inds: Vec<Individual> = pool.iter().map(|&i| every[i].clone()).collect();
    let mut pareto: Vec<usize> = nsga2::pareto_indices(&inds)
        .into_iter()
        .map(|k| pool[k])
        .collect();
    // Equal policies once.
    let mut seen: Vec<&Vec<u64>> = Vec::new();
    pareto.retain(|&i| {
        let x = &st.evaluations[i].x;
        if seen.contains(&x) {
            false
        } else {
            seen.push(x);
            true
        }
    });
    let reference = reference_point(o, base_f.as_deref());
    if o.final_set == FinalSet::Archive && pareto.len() > o.population {
        if let Some(r) = &reference {
            let points: Vec<Vec<f64>> = pareto.iter().map(|&i| every[i].f.clone()).collect();
            let mut keep = greedy_subset(&points, r, o.population);
            keep.sort_unstable();
            pareto = keep.into_iter().map(|k| pareto[k]).collect();
        }
    }
    // Ordered by the first objective (best first), then id.
    pareto.sort_by(|&a, &b| every[a].f[0].total_cmp(&every[b].f[0]).then(a.cmp(&b)));
    let final_points: Vec<Vec<f64>> = pareto
        .iter()
        .filter(|&&i| every[i].violation == 0.0)
        .map(|&i| every[i].f.clone())
        .collect();
    let hv = reference
        .as_ref()
        .map_or(0.0, |r| hypervolume(&final_points, r));

    let names = o.variable_names();
    let objective_names: Vec<&str> = o.objectives.iter().map(|k| k.name.as_str()).collect();
    let constraint_names: Vec<&str> = o
        .constraints
        .iter()
        .map(|c| match c {
            Constraint::Bound { name, .. } | Constraint::NoWorseThanBase { name, .. } => {
                name.as_str()
            }
        })
        .collect();
    let mut files = Vec::new();

    // evaluations.csv
    let evaluations = PendingFile::new(dir, "evaluations.csv")?;
    {
        let mut w = csv::Writer::from_writer(evaluations.writer()?);
        let mut header: Vec<String> = vec!["id".into(), "generation".into()];
        header.extend(names.iter().cloned());
        header.extend(objective_names.iter().map(|s| s.to_string()));
        header.extend(constraint_names.iter().map(|s| s.to_string()));
        header.extend(["violation".into(), "feasible".into()]);
        w.write_record(&header)?;
        for (e, ind) in st.evaluations.iter().zip(&every) {
            let mut row = vec![e.id.to_string(), e.generation.to_string()];
            row.extend(variable_cells(o, e));
            row.extend((0..o.objectives.len()).map(|k| number(Some(reported(o, k, ind.f[k])))));
            let (cv, _) = violation(o, e, &ind.f, base_f.as_deref());
            row.extend(cv.iter().map(|&v| number(Some(v))));
            row.push(number(Some(ind.violation)));
            row.push((ind.violation == 0.0).to_string());
            w.write_record(&row)?;
        }
        csv_finish(w)?;
    }
    files.push("evaluations.csv".to_string());

    // generations.csv
    let generations = PendingFile::new(dir, "generations.csv")?;
    {
        let mut w = csv::Writer::from_writer(generations.writer()?);
        w.write_record(["generation", "evaluations", "hypervolume"])?;
        for (g, &hv) in st.hypervolumes.iter().enumerate() {
            let evaluated = st.evaluations.iter().filter(|e| e.generation <= g).count();
            w.write_record([
                g.to_string(),
                evaluated.to_string(),
                number(Some(f64::from_bits(hv))),
            ])?;
        }
        csv_finish(w)?;
    }
    files.push("generations.csv".to_string());

    // pareto.csv
    let pareto_file = PendingFile::new(dir, "pareto.csv")?;
    let mut table = String::new();
    {
        let mut w = csv::Writer::from_writer(pareto_file.writer()?);
        let mut header: Vec<String> = vec!["policy".into(), "id".into()];
        header.extend(names.iter().cloned());
        for k in &objective_names {
            header.push(k.to_string());
            for suffix in ["mean", "ci_low", "ci_high"] {
                header.push(format!("{k}_{suffix}"));
            }
        }
        header.extend(constraint_names.iter().map(|s| s.to_string()));
        header.push("feasible".into());
        w.write_record(&header)?;
        for (rank, &i) in pareto.iter().enumerate() {
            let e = &st.evaluations[i];
            let ind = &every[i];
            let mut row = vec![(rank + 1).to_string(), e.id.to_string()];
            let cells = variable_cells(o, e);
            row.extend(cells.iter().cloned());
            let mut line = format!("  {:>3}", rank + 1);
            for k in 0..o.objectives.len() {
                let value = reported(o, k, ind.f[k]);
                let (mean, ci) = e.interval(k);
                row.push(number(Some(value)));
                row.push(number(Some(mean)));
                row.push(ci.map(|c| number(Some(c.0))).unwrap_or_default());
                row.push(ci.map(|c| number(Some(c.1))).unwrap_or_default());
                let regret = if o.objectives[k].robustness == Robustness::Regret {
                    " regret"
                } else {
                    ""
                };
                line += &format!("  {}{regret} {:.4}", o.objectives[k].name, value);
            }
            let (cv, _) = violation(o, e, &ind.f, base_f.as_deref());
            row.extend(cv.iter().map(|&v| number(Some(v))));
            row.push((ind.violation == 0.0).to_string());
            w.write_record(&row)?;
            if matches!(o.target, Target::Scenario(_)) {
                let vars: Vec<String> = names
                    .iter()
                    .zip(&cells)
                    .map(|(n, c)| {
                        let short = c.parse::<f64>().map_or(c.clone(), |v| format!("{v:.3}"));
                        let n = n.strip_prefix("policy.").unwrap_or(n);
                        format!("{n} {short}")
                    })
                    .collect();
                line += &format!("  | {}", vars.join(", "));
            }
            table += &line;
            table.push('\n');
        }
        csv_finish(w)?;
    }
    files.push("pareto.csv".to_string());

    // The Pareto policies as ready scenario files.
    let mut policy_files = Vec::new();
    if let Target::Scenario(Base::Scenario(b)) = &o.target {
        let policies = dir.join("policies");
        crate::output::create_output_dir(&policies)?;
        for (rank, &i) in pareto.iter().enumerate() {
            let e = &st.evaluations[i];
            let values: Vec<Value> = o
                .variables
                .iter()
                .zip(e.x())
                .map(|(v, u)| v.value_at(u.clamp(0.0, 1.0)))
                .collect();
            let assigned: Vec<(&Parameter, &Value)> = o.variables.iter().zip(&values).collect();
            let mut table = table_with(b, &assigned)
                .map_err(|p| anyhow::anyhow!("{}: {}", p.key, p.message))?;
            let name = format!("{}_pareto_{}", o.name, rank + 1);
            table.insert("name".into(), Value::String(name.clone()));
            let mut text = format!(
                "# Policy {} of the Pareto front of optimisation \"{}\" (candidate {}), on {}.\n",
                rank + 1,
                o.name,
                e.id,
                b.path
                    .file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
            );
            for k in 0..o.objectives.len() {
                text += &format!(
                    "# {}: {}\n",
                    o.objectives[k].name,
                    number(Some(reported(o, k, every[i].f[k])))
                );
            }
            text += &toml::to_string(&table)?;
            let file = PendingFile::new(&policies, &format!("{name}.toml"))?;
            {
                use std::io::Write;
                let mut w = file.writer()?;
                w.write_all(text.as_bytes())?;
                w.flush()?;
            }
            policy_files.push(file);
            files.push(format!("policies/{name}.toml"));
        }
    }

    let manifest = {
        let record = OptimiseManifest {
            ccgsim_version: env!("CARGO_PKG_VERSION"),
            optimisation: &o.name,
            description: &o.description,
            file: o
                .path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            sha256: &o.sha256,
            target: match &o.target {
                Target::Problem(p) => format!("problem:{}", p.name()),
                Target::Scenario(Base::Scenario(b)) => b.name.clone(),
                Target::Scenario(Base::Builtin(m)) => m.name().to_string(),
            },
            seed: o.seed,
            replicates: o.replicates,
            states: o.states,
            population: o.population,
            generations: o.generations,
            evaluations: st.evaluations.len(),
            final_set: o.final_set,
            variables: names.clone(),
            objectives: o
                .objectives
                .iter()
                .map(|k| ManifestObjective {
                    name: &k.name,
                    sense: if k.maximise { "maximise" } else { "minimise" },
                    robustness: k.robustness,
                })
                .collect(),
            constraints: constraint_names.iter().map(|s| s.to_string()).collect(),
            uncertain: o.uncertain.iter().map(|u| u.path.clone()).collect(),
            hypervolume_reference: reference.clone(),
            base_objectives: base_f.as_ref().map(|b| {
                (0..o.objectives.len())
                    .map(|k| reported(o, k, b[k]))
                    .collect()
            }),
            base_constraints: st.base.as_ref().zip(base_f.as_ref()).map(|(e, b)| {
                let (values, _) = violation(o, e, b, Some(b));
                values
            }),
            pareto: pareto.len(),
            files: files.clone(),
        };
        // The checksums of the three tables, which the report verifies before reading them.
        crate::integrity::write_manifest(dir, &record, &[&evaluations, &generations, &pareto_file])?
    };
    let mut all = vec![evaluations, generations, pareto_file];
    all.extend(policy_files);
    all.push(manifest);
    PendingFile::commit_all(all)?;
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
    let feasible = pareto.iter().any(|&i| every[i].violation == 0.0);
    if !feasible && !o.constraints.is_empty() {
        let least = pareto
            .iter()
            .map(|&i| every[i].violation)
            .fold(f64::INFINITY, f64::min);
        return Err(Infeasible(number(Some(least))).into());
    }
    Ok(Found {
        dir: dir.to_path_buf(),
        pareto: pareto.len(),
        evaluations: st.evaluations.len(),
        hypervolume: hv,
        table,
    })
}

//! `ccgsim check`: validate an input file without running it and say, in one line, what it is and
//! how to use it. A TOML file is a scenario, a sweep, a calibration or an optimisation file; which one is told by
//! its top-level keys (only a sweep has `[design]`, only a calibration has `targets`), and the file
//! is then validated by that kind's own loader, so `check` reports exactly the errors (file, line,
//! column, key; exit code 2) that `run`, `sweep` or `calibrate` would.

use std::path::Path;

use crate::limits::{self, Shape};
use crate::population::Population;
use crate::scenario::Scenario;
use crate::scenario::error::read_input;
use crate::sweep::Sweep;
use crate::sweep::calibrate::Calibration;
use crate::sweep::design::Design;
use crate::words::count;

/// The three kinds of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A scenario file, for `ccgsim run` (docs/scenarios.md).
    Scenario,
    /// A sweep file, for `ccgsim sweep` (docs/experiments.md).
    Sweep,
    /// A calibration file, for `ccgsim calibrate` (docs/experiments.md).
    Calibration,
    /// An optimisation file, for `ccgsim optimise` (docs/experiments.md).
    Optimisation,
}

/// Top-level keys only a calibration file has.
const CALIBRATION_KEYS: [&str; 3] = ["targets", "match", "abc"];
/// Top-level keys only an optimisation file has.
const OPTIMISATION_KEYS: [&str; 6] = [
    "objectives",
    "variables",
    "problem",
    "search",
    "uncertain",
    "constraints",
];
/// Top-level keys a sweep file has and a scenario file cannot (`scenario` names a sweep's base).
const SWEEP_KEYS: [&str; 5] = ["design", "parameters", "outputs", "set", "scenario"];

impl InputKind {
    /// The kind of the TOML `text`, by its top-level keys. Text that is not TOML, or that has none
    /// of the sweep or calibration keys, is taken for a scenario, whose parser then reports its
    /// problems.
    pub fn of(text: &str) -> InputKind {
        let Ok(table) = text.parse::<toml::Table>() else {
            return InputKind::Scenario;
        };
        let has = |keys: &[&str]| keys.iter().any(|k| table.contains_key(*k));
        if has(&CALIBRATION_KEYS) {
            InputKind::Calibration
        } else if has(&OPTIMISATION_KEYS) {
            InputKind::Optimisation
        } else if has(&SWEEP_KEYS) {
            InputKind::Sweep
        } else {
            InputKind::Scenario
        }
    }

    /// The kind in words, as `check` names it.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Scenario => "scenario file",
            InputKind::Sweep => "sweep file",
            InputKind::Calibration => "calibration file",
            InputKind::Optimisation => "optimisation file",
        }
    }
}

/// Validate the file at `path` as its kind and describe it in one line: what it is, what it holds
/// and the command that runs it. Errors are the loaders' own (exit code 2 for a file the user can
/// fix).
///
/// The memory (and roughly the time) the file's computation needs on `threads` threads is
/// estimated and reported, and the file is refused, as `run`, `sweep` or `calibrate` would refuse
/// it, when that exceeds `max_memory` or, without it, the memory available.
pub fn check_file(path: &Path, threads: usize, max_memory: Option<u128>) -> anyhow::Result<String> {
    let text = read_input(path)?;
    let shown = path.display();
    let what = format!("'{shown}'");
    Ok(match InputKind::of(&text) {
        InputKind::Scenario => {
            let s = Scenario::parse(&text, path)?;
            // Bounded from the file first: a generated population is built only if it fits.
            let need = |shape: &Shape| limits::run(&s, shape, threads, true);
            let refuse = |footprint: &limits::Footprint| {
                let lean = limits::run(&s, &Shape::of_scenario(&s), threads, false);
                let advice = if limits::enforce("", &lean, threads, max_memory, "").is_ok() {
                    "`ccgsim run --no-by-ccg` (no per-CCG accumulators) would fit"
                } else {
                    limits::RUN_ADVICE
                };
                limits::enforce(what.clone(), footprint, threads, max_memory, advice)
            };
            refuse(&need(&Shape::of_scenario(&s)))?;
            let pop = Population::build(&s);
            let footprint = need(&Shape::of_population(&pop));
            refuse(&footprint)?;
            format!(
                "{shown}: ok ({}: {}, {}, {} from {}, {}, seed {}; needs {}); run it with `ccgsim run {shown}`",
                s.name,
                count(pop.ccgs.len(), "CCG"),
                count(pop.practices(), "practice"),
                count(s.months, "month"),
                s.start,
                count(s.replicates, "replicate"),
                s.seed,
                footprint.describe(threads)
            )
        }
        InputKind::Sweep => {
            let sweep = Sweep::load(path)?;
            let footprint = sweep.footprint(threads);
            limits::enforce(what, &footprint, threads, max_memory, limits::SWEEP_ADVICE)?;
            let points = sweep.point_count();
            let analyse = match sweep.design {
                Design::Sobol { .. } | Design::Morris { .. } => {
                    format!(", then `ccgsim sensitivity results/{}`", sweep.name)
                }
                _ => String::new(),
            };
            format!(
                "{shown}: ok, a {} ({} design, {}, {} x {} = {}, {}; needs {}); run it with `ccgsim sweep {shown}`{analyse}",
                InputKind::Sweep.describe(),
                sweep.design.kind(),
                count(sweep.parameters.len(), "parameter"),
                count(points, "point"),
                count(sweep.replicates, "replicate"),
                count(points as u64 * u64::from(sweep.replicates), "run"),
                count(sweep.outputs.len(), "output"),
                footprint.describe(threads),
            )
        }
        InputKind::Calibration => {
            let c = Calibration::load(path)?;
            let footprint = c.footprint(threads);
            limits::enforce(what, &footprint, threads, max_memory, limits::SWEEP_ADVICE)?;
            format!(
                "{shown}: ok, a {} ({}, {}, {}, up to {}, {} per candidate; needs {}); run it with `ccgsim calibrate {shown}`",
                InputKind::Calibration.describe(),
                count(c.parameters.len(), "parameter"),
                count(c.targets.len(), "target"),
                count(c.settings.particles, "particle"),
                count(c.settings.generations, "generation"),
                count(c.replicates, "replicate"),
                footprint.describe(threads),
            )
        }
        InputKind::Optimisation => {
            let o = crate::optimise::run::Optimisation::load(path)?;
            let footprint = o.footprint(threads);
            limits::enforce(what, &footprint, threads, max_memory, limits::SWEEP_ADVICE)?;
            let target = match &o.target {
                crate::optimise::run::Target::Problem(p) => format!("test problem {}", p.name()),
                crate::optimise::run::Target::Scenario(_) => {
                    count(o.variables.len(), "decision variable")
                }
            };
            format!(
                "{shown}: ok, an {} ({target}, {}, {}, population {} x {} after the first, {} x {} per candidate; needs {}); run it with `ccgsim optimise {shown}`",
                InputKind::Optimisation.describe(),
                count(o.objectives.len(), "objective"),
                count(o.constraints.len(), "constraint"),
                o.population,
                count(o.generations, "generation"),
                count(o.states, "state"),
                count(o.replicates, "replicate"),
                footprint.describe(threads),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::InputKind;

    #[test]
    fn the_kind_is_told_by_the_top_level_keys() {
        let cases = [
            ("months = 3\n", InputKind::Scenario),
            ("", InputKind::Scenario),
            ("months = [1,\n", InputKind::Scenario),
            ("[model.peers]\nrate = 0.1\n", InputKind::Scenario),
            (
                "scenario = \"b.toml\"\n[design]\nkind = \"lhs\"\n",
                InputKind::Sweep,
            ),
            ("[[parameters]]\npath = \"x1\"\n", InputKind::Sweep),
            ("scenario = \"b.toml\"\n", InputKind::Sweep),
            (
                "scenario = \"b.toml\"\ntargets = \"t.csv\"\n[[parameters]]\npath = \"x\"\n",
                InputKind::Calibration,
            ),
            ("[[match]]\ntarget = \"t\"\n", InputKind::Calibration),
        ];
        for (text, want) in cases {
            assert_eq!(InputKind::of(text), want, "{text:?}");
        }
    }
}

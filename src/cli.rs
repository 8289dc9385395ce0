//! The command line: argument parsing and the commands (`run`, `check`, `metrics`, `sweep`,
//! `sensitivity`, `calibrate`, `merge`; `bench` lives in [`crate::bench`]). Everything here is glue
//! between the library's pipeline stages; `main` only calls [`run`] and [`exit_code`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::experiment::{EnsembleOptions, Interrupted, run_ensemble};
use crate::metrics::{METRICS, metric_index};
use crate::output::csv::{ReplicateWriter, write_by_ccg, write_timeseries};
use crate::output::manifest::{Manifest, rfc3339, sha256_hex, write_manifest};
use crate::output::{OutputExists, PendingFile, prepare_dir};
use crate::population::Population;
use crate::scenario::{Scenario, ScenarioError, default_output_dir};
use crate::sweep::calibrate::{CalibrateOptions, Calibration, run_calibration};
use crate::sweep::{Shard, Stopped, Sweep, SweepError, SweepOptions, run_sweep};
use crate::words::count;

/// Simulate English CCGs and the buy-in of their member GP practices.
#[derive(Debug, Parser)]
#[command(name = "ccgsim", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario's ensemble of replicates and write its results folder.
    Run(RunArgs),
    /// Validate scenario, sweep or calibration files without running them, and say how to run them.
    Check(CheckArgs),
    /// List every output metric: its name, plain label, unit and meaning.
    Metrics(MetricsArgs),
    /// Measure throughput and memory of the full model on synthetic populations.
    Bench(crate::bench::BenchArgs),
    /// Run a parameter sweep (grid, zip, lhs, sobol or morris design) into a results folder.
    Sweep(SweepArgs),
    /// Sobol' or Morris sensitivity indices of a finished sobol or morris sweep.
    Sensitivity(SensitivityArgs),
    /// Calibrate scenario parameters to survey targets by ABC-SMC.
    Calibrate(CalibrateArgs),
    /// Scenario discovery (PRIM) on a finished sweep: the boxes of parameter space where an
    /// output falls below or rises above a threshold.
    Discover(DiscoverArgs),
    /// Multi-objective search (NSGA-II) for the policies worth choosing, robust over an
    /// uncertainty set, or on a built-in test problem.
    Optimise(OptimiseArgs),
    /// Join the folders of a sharded sweep into the folder a single run would write.
    Merge(MergeArgs),
    /// The effect of each run against a reference run on every metric at every tick, paired by
    /// replicate where the runs share seed and population.
    Compare(CompareArgs),
    /// Write one self-contained HTML page of charts and tables from result folders.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference run folder (effects are other minus reference).
    pub reference: PathBuf,
    /// The run folders to compare with it.
    #[arg(required = true, value_name = "OTHER")]
    pub others: Vec<PathBuf>,
    /// Output folder for effects.csv [default: results/compare_<reference scenario>].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Overwrite an existing effects.csv.
    #[arg(long)]
    pub force: bool,
    /// Do not print the table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Read run folders written by an earlier ccgsim, whose manifests carry no checksums.
    #[arg(long)]
    pub accept_unverified: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML), or several: they are run one after another with one seed, so
    /// that `ccgsim compare` can pair them replicate by replicate.
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// Number of replicates (overrides the scenario's `replicates`).
    #[arg(long, short = 'r')]
    pub replicates: Option<u32>,
    /// Master seed (overrides the scenario's `seed`; with several scenarios, the first file's
    /// seed is used for all unless this is given).
    #[arg(long, short = 's')]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub resources: Resources,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output folder [default: results/<scenario name>]. With several scenarios, the parent
    /// folder of their folders, one per scenario named after it [default: results].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Overwrite an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Skip the per-CCG summaries and by_ccg.csv (for very large populations, where they would
    /// run to billions of rows). The other files are unchanged.
    #[arg(long)]
    pub no_by_ccg: bool,
    /// Write report.html at the end: in the run's folder, or with several scenarios in the
    /// parent folder, together with their comparison against the first (`compare_<first>/`).
    #[arg(long)]
    pub report: bool,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to validate: scenario, sweep or calibration files (TOML), told apart by their keys.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The threads and memory the estimate is for (those of `run`, `sweep` or `calibrate`).
    #[command(flatten)]
    pub resources: Resources,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Write CSV (`metric,label,unit,description`) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// Parse the command line and run the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    crate::signals::install();
    crate::simd::Simd::requested().map_err(UsageError::new)?;
    if !matches!(
        cli.command,
        Command::Run(_) | Command::Sweep(_) | Command::Calibrate(_)
    ) {
        alone_under_mpi(&cli.command)?;
    }
    let result = match cli.command {
        Command::Run(args) => run_command(args),
        Command::Check(args) => check_command(args),
        Command::Metrics(args) => metrics_command(args),
        Command::Bench(args) => crate::bench::bench_command(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Sensitivity(args) => sensitivity_command(args),
        Command::Calibrate(args) => calibrate_command(args),
        Command::Discover(args) => discover_command(args),
        Command::Optimise(args) => optimise_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Compare(args) => compare_command(args),
        Command::Report(args) => report_command(args),
    };
    match result {
        Ok(()) if crate::signals::cancelled() => Err(crate::signals::LateSignal.into()),
        other => other,
    }
}

/// A command other than `run`, `sweep` and `calibrate` started as several ranks of an MPI job
/// would run as many copies writing the same files: refuse it (rank 0 says why).
fn alone_under_mpi(command: &Command) -> anyhow::Result<()> {
    let Some(launch) = crate::cluster::launched(None)? else {
        return Ok(());
    };
    let size = launch.transport().size();
    if size == 1 {
        return Ok(());
    }
    if !launch.is_root() {
        return Err(crate::cluster::WorkerExit(2).into());
    }
    let name = format!("{command:?}");
    let name = name
        .split('(')
        .next()
        .unwrap_or("this command")
        .to_lowercase();
    Err(UsageError(format!(
        "`ccgsim {name}` runs on one machine, not over {size} MPI ranks: start it without mpirun or srun (only run, sweep and calibrate share their work between ranks)"
    ))
    .into())
}

/// The process exit code for an error: 2 for input the user can fix, 128 + the signal's number
/// for a command stopped by a signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP; 130 when a test hook
/// stopped it), 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(crate::cluster::WorkerExit(code)) = err.downcast_ref() {
        return *code;
    }
    if let Some(e) = err.downcast_ref::<crate::cluster::ClusterError>() {
        return e.exit_code();
    }
    if err.is::<Interrupted>()
        || err.is::<Stopped>()
        || err.is::<crate::sweep::calibrate::CalibrationStopped>()
        || err.is::<crate::optimise::run::SearchStopped>()
        || err.is::<crate::optimise::run::SearchInterrupted>()
        || err.is::<crate::signals::LateSignal>()
        || err.is::<crate::signals::StoppedKeeping>()
    {
        crate::signals::exit_code()
    } else if err.is::<ScenarioError>()
        || err.is::<OutputExists>()
        || err.is::<crate::output::OutputFolder>()
        || err.is::<UsageError>()
        || err.is::<SweepError>()
        || err.is::<crate::optimise::run::Infeasible>()
        || err.is::<crate::compare::CompareError>()
        || err.is::<crate::report::ReportError>()
        || err.is::<crate::limits::TooBig>()
        || err.is::<crate::integrity::IntegrityError>()
    {
        2
    } else {
        1
    }
}

/// A command-line value that is out of range.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

/// The machine resources a command may use: worker threads and memory.
#[derive(Debug, Clone, Default, Args)]
pub struct Resources {
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Allow more than 8 worker threads per available core.
    #[arg(long)]
    pub force_threads: bool,
    /// The most memory the command may plan to use, e.g. 4GiB or 512M [default: what the
    /// machine has available]. Work whose estimate exceeds it is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = crate::limits::parse_size)]
    pub max_memory: Option<u128>,
}

impl Resources {
    /// The worker-thread count (see [`crate::limits::threads`]).
    pub fn threads(&self) -> anyhow::Result<usize> {
        crate::limits::threads(self.threads, self.force_threads).map_err(|m| UsageError(m).into())
    }

    /// Refuse `footprint` if it exceeds the memory ceiling.
    pub fn enforce(
        &self,
        what: impl Into<String>,
        footprint: &crate::limits::Footprint,
        threads: usize,
        advice: &'static str,
    ) -> anyhow::Result<()> {
        Ok(crate::limits::enforce(
            what,
            footprint,
            threads,
            self.max_memory,
            advice,
        )?)
    }
}

/// "2 ranks (units 80 + 71) x ", for the summary line of a command run under MPI.
fn ranks_words(units: &[u64]) -> String {
    let each: Vec<String> = units.iter().map(|u| u.to_string()).collect();
    format!(
        "{} (units {}) x ",
        count(units.len(), "rank"),
        each.join(" + ")
    )
}

/// The options of a command that can run over the ranks of an MPI job (`--features mpi`).
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Under MPI: end the job, with a message naming the rank, when a rank has sent nothing
    /// for this many seconds (ranks send a heartbeat every few seconds, even mid-unit)
    /// [default: 120].
    #[cfg(feature = "mpi")]
    #[arg(long, value_name = "SECONDS")]
    pub mpi_timeout: Option<f64>,
}

impl ClusterArgs {
    /// The MPI job this process is a rank of, if a launcher started it.
    fn launched(&self) -> anyhow::Result<Option<crate::cluster::Launch>> {
        #[cfg(feature = "mpi")]
        return crate::cluster::launched(self.mpi_timeout);
        #[cfg(not(feature = "mpi"))]
        crate::cluster::launched(None)
    }
}

fn check_command(args: CheckArgs) -> anyhow::Result<()> {
    let threads = args.resources.threads()?;
    for path in &args.files {
        let line = crate::check::check_file(path, threads, args.resources.max_memory)?;
        write_stdout(format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

/// Write `bytes` to standard output. A closed pipe (`ccgsim metrics | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("could not write to standard output"))
        }
        _ => Ok(()),
    }
}

fn metrics_command(args: MetricsArgs) -> anyhow::Result<()> {
    if args.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["metric", "label", "unit", "description"])?;
        for m in METRICS {
            w.write_record([m.name, m.label, m.unit.describe(), m.description])?;
        }
        return write_stdout(&w.into_inner()?);
    }
    let header = ["metric", "label", "unit", "meaning"];
    let rows: Vec<[&str; 4]> = METRICS
        .iter()
        .map(|m| [m.name, m.label, m.unit.describe(), m.description])
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let [name, label, unit, meaning] = row;
        text.push_str(&format!(
            "{name:<nw$}  {label:<lw$}  {unit:<uw$}  {meaning}\n",
            nw = widths[0],
            lw = widths[1],
            uw = widths[2],
        ));
    }
    text.push_str(&format!(
        "\n{}, in the order of timeseries.csv, by_ccg.csv and replicates.csv; see docs/scenarios.md (Outputs).\n",
        count(METRICS.len(), "metric")
    ));
    write_stdout(text.as_bytes())
}

/// One scenario of a `run` command, read and with the command line's overrides applied.
struct PlannedRun {
    path: PathBuf,
    text: String,
    scenario: Scenario,
    dir: PathBuf,
}

fn run_command(args: RunArgs) -> anyhow::Result<()> {
    let launch = args.cluster.launched()?;
    let setup = plan_runs(&args, launch.as_ref().is_none_or(|l| l.is_root()));
    let (setup, mut cluster) = match &launch {
        None => (setup?, None),
        Some(launch) => {
            let (setup, c) = launch.join(
                setup,
                |(plans, _, _)| {
                    let mut hashed = Vec::new();
                    for p in plans {
                        hashed.extend_from_slice(p.text.as_bytes());
                        let overrides =
                            format!("\n{} {}\n", p.scenario.seed, p.scenario.replicates);
                        hashed.extend_from_slice(overrides.as_bytes());
                    }
                    sha256_hex(&hashed)
                },
                |(plans, pool, _), status| {
                    let populations: Vec<Population> = pool.install(|| {
                        plans
                            .iter()
                            .map(|p| Population::build(&p.scenario))
                            .collect()
                    });
                    let job = crate::cluster::jobs::EnsembleJob {
                        runs: plans
                            .iter()
                            .zip(&populations)
                            .map(|(p, population)| {
                                crate::experiment::EnsembleRun::new(
                                    &p.scenario,
                                    population,
                                    !args.no_by_ccg,
                                )
                            })
                            .collect(),
                    };
                    launch.serve(status, pool, &job)
                },
            )?;
            (setup, Some(c))
        }
    };
    let (plans, pool, threads) = &setup;
    if let Some(c) = cluster.as_mut() {
        c.pool = Some(pool);
    }
    let result = run_plans(&args, plans, pool, *threads, cluster.as_mut());
    crate::cluster::finish(cluster, result)
}

/// Read every scenario of a `run` and check its needs, before anything is written: the part of
/// the command that every rank of an MPI job does.
/// `speaks`: this process may print (rank 0 of a job, or a run alone).
fn plan_runs(
    args: &RunArgs,
    speaks: bool,
) -> anyhow::Result<(Vec<PlannedRun>, rayon::ThreadPool, usize)> {
    if args.replicates == Some(0) {
        return Err(UsageError("--replicates must be at least 1".into()).into());
    }
    let threads = args.resources.threads()?;
    let several = args.scenarios.len() > 1;
    let mut plans: Vec<PlannedRun> = Vec::with_capacity(args.scenarios.len());
    for path in &args.scenarios {
        let text = crate::scenario::error::read_input(path)?;
        let mut scenario = Scenario::parse(&text, path)?;
        if let Some(r) = args.replicates {
            scenario.replicates = r;
        }
        // One seed for all, so that the runs can be paired replicate by replicate.
        scenario.seed = args
            .seed
            .or(plans.first().map(|p| p.scenario.seed))
            .unwrap_or(scenario.seed);
        if let Some(first) = plans.iter().find(|p| p.scenario.name == scenario.name) {
            return Err(UsageError(format!(
                "'{}' and '{}' are both scenario \"{}\"; each run's folder is named after its \
                 scenario, so give them different `name`s",
                first.path.display(),
                path.display(),
                scenario.name
            ))
            .into());
        }
        let dir = match (&args.out, several) {
            (Some(out), false) => out.clone(),
            (Some(out), true) => out.join(&scenario.name),
            (None, _) => default_output_dir(&scenario),
        };
        plans.push(PlannedRun {
            path: path.clone(),
            text,
            scenario,
            dir,
        });
    }
    // Every scenario's needs and every folder are checked before anything runs, so that a run
    // too big for the machine, or a clash, is found at once.
    for plan in &plans {
        let shape = crate::limits::Shape::of_scenario(&plan.scenario);
        let footprint = crate::limits::run(&plan.scenario, &shape, threads, !args.no_by_ccg);
        args.resources.enforce(
            format!("'{}'", plan.path.display()),
            &footprint,
            threads,
            crate::limits::RUN_ADVICE,
        )?;
        // Said before anything is built, so that a run of days can be stopped at once.
        if speaks && !args.quiet && footprint.seconds(threads) > 60.0 {
            eprintln!(
                "{}: needs {}",
                plan.scenario.name,
                footprint.describe(threads)
            );
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start worker threads")?;
    Ok((plans, pool, threads))
}

fn run_plans(
    args: &RunArgs,
    plans: &[PlannedRun],
    pool: &rayon::ThreadPool,
    threads: usize,
    mut cluster: Option<&mut crate::cluster::Coordinator<'_>>,
) -> anyhow::Result<()> {
    let several = plans.len() > 1;
    for plan in plans {
        prepare_dir(&plan.dir, args.force)?;
    }
    let cancel = cancel_flag();
    for (i, plan) in plans.iter().enumerate() {
        // The index of the scenario, and whether it is the last to need the other ranks.
        let cluster = cluster.as_deref_mut().map(|c| (c, i, i + 1 == plans.len()));
        run_one(args, plan, pool, threads, cancel, cluster).map_err(|e| {
            if i == 0 || !e.is::<Interrupted>() {
                return e;
            }
            let done: Vec<String> = plans[..i]
                .iter()
                .map(|p| format!("'{}'", p.dir.display()))
                .collect();
            crate::signals::StoppedKeeping(format!(
                "before every run finished; finished and kept: {}; not written: {} (run them again)",
                done.join(", "),
                count(plans.len() - i, "scenario")
            ))
            .into()
        })?;
    }
    if args.report {
        if crate::signals::cancelled() {
            return Err(crate::signals::StoppedKeeping(
                "before the report; the runs are finished and kept (`ccgsim report` writes it)"
                    .into(),
            )
            .into());
        }
        let dirs: Vec<PathBuf> = plans.iter().map(|p| p.dir.clone()).collect();
        let report = match (several, &args.out) {
            (false, _) => crate::report::write_report(&dirs, None, args.force)?,
            (true, out) => {
                let parent = out.clone().unwrap_or_else(|| PathBuf::from("results"));
                let runs = dirs
                    .iter()
                    .map(|d| crate::compare::Run::load(d))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let comparisons = crate::compare::compare(&runs[0], &runs[1..])?;
                let folder = parent.join(format!("compare_{}", runs[0].info.scenario));
                crate::compare::write(&folder, &runs[0].info, &comparisons, args.force)?;
                let mut all = dirs.clone();
                all.push(folder);
                crate::report::write_report(&all, Some(&parent.join("report.html")), args.force)?
            }
        };
        if !args.quiet {
            eprintln!("report -> {}", report.display());
        }
    }
    Ok(())
}

fn run_one(
    args: &RunArgs,
    plan: &PlannedRun,
    pool: &rayon::ThreadPool,
    threads: usize,
    cancel: &AtomicBool,
    cluster: Option<(&mut crate::cluster::Coordinator<'_>, usize, bool)>,
) -> anyhow::Result<()> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let PlannedRun {
        path,
        text,
        scenario,
        dir,
    } = plan;
    let population = Population::build(scenario);
    // Now exact: a generated population was only bounded before it was built. With a structure
    // drawn per replicate this is the seed's draw; the replicates' draws have the same number of
    // CCGs and sizes from the same stratified distribution, so the estimate holds within a few
    // per cent.
    let footprint = crate::limits::run(
        scenario,
        &crate::limits::Shape::of_population(&population),
        threads,
        !args.no_by_ccg,
    );
    args.resources.enforce(
        format!("'{}'", path.display()),
        &footprint,
        threads,
        crate::limits::RUN_ADVICE,
    )?;
    let progress = bar(
        args.quiet,
        scenario.replicates as u64,
        "{spinner} {msg} [{bar:30}] {pos}/{len} replicates, {elapsed} elapsed, ETA {eta}",
    );
    progress.set_message(scenario.name.clone());
    let mut replicates = ReplicateWriter::create(dir, &scenario.name)?;
    let options = EnsembleOptions {
        replicates: scenario.replicates,
        by_ccg: !args.no_by_ccg,
    };
    let mut ranks = String::new();
    let on_replicate = |r: u32, tallies: &[crate::metrics::Tally]| {
        replicates.write(r, tallies)?;
        test_progress("replicate", r + 1);
        progress.inc(1);
        Ok(())
    };
    let summary = match cluster {
        // Rank 0 talks to the other ranks from this thread and runs its own units on the pool.
        Some((c, i, last)) => {
            let before = c.units.clone();
            let r = crate::experiment::run_ensemble_on(
                scenario,
                &population,
                options,
                cancel,
                Some((&mut *c, i)),
                on_replicate,
            );
            // This scenario's units only.
            let units: Vec<u64> = c.units.iter().zip(&before).map(|(u, b)| u - b).collect();
            ranks = ranks_words(&units);
            if last && r.is_ok() {
                // The files are rank 0's alone.
                c.release();
            }
            r
        }
        None => pool.install(|| run_ensemble(scenario, &population, options, cancel, on_replicate)),
    };
    progress.finish_and_clear();
    let summary = summary?;
    test_progress("finishing", &scenario.name);

    let timeseries = write_timeseries(dir, scenario, &summary)?;
    // What by_ccg.csv and the manifest describe: replicate means when the structure varies.
    let described =
        Population::summary(scenario, &population, scenario.replicates, !args.no_by_ccg);
    let by_ccg = pool.install(|| write_by_ccg(dir, scenario, &described, &summary))?;
    let replicates = replicates.finish()?;
    let mut files = vec![timeseries, replicates];
    files.extend(by_ccg);
    let manifest = Manifest {
        ccgsim_version: env!("CARGO_PKG_VERSION"),
        scenario_path: path.display().to_string(),
        scenario_sha256: sha256_hex(text.as_bytes()),
        seed: scenario.seed,
        replicates: scenario.replicates,
        threads,
        simd: crate::simd::Simd::get().name(),
        ccgs: described.ccgs.len(),
        practices: described.practices(),
        patients: described.patients(),
        population_sha256: Population::run_fingerprint(scenario, &population),
        structure: scenario.structure().name(),
        started_at: rfc3339(started),
        wall_time_seconds: clock.elapsed().as_secs_f64(),
        files: files
            .iter()
            .map(|f| {
                f.dest()
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .chain(["manifest.json".to_string()])
            .collect(),
        scenario,
    };
    let manifest = write_manifest(dir, &manifest, &files)?;
    files.push(manifest);
    PendingFile::commit_all(files)?;

    if !args.quiet {
        eprintln!(
            "{}: {} of {}{} in {} ({}), {}, {:.2} s on {}{} -> {}",
            scenario.name,
            crate::words::count(scenario.replicates as u64, "replicate"),
            if scenario.structure() == crate::scenario::Structure::PerReplicate {
                "about "
            } else {
                ""
            },
            crate::words::count(described.practices(), "practice"),
            crate::words::count(described.ccgs.len() as u64, "CCG"),
            match scenario.structure() {
                crate::scenario::Structure::PerReplicate => "structure drawn per replicate",
                crate::scenario::Structure::Fixed => "structure fixed",
            },
            crate::words::count(scenario.months as u64, "month"),
            clock.elapsed().as_secs_f64(),
            ranks,
            crate::words::count(threads as u64, "thread"),
            dir.display()
        );
        eprint!("{}", final_month_summary(scenario, &summary));
    }
    Ok(())
}

/// The end-of-run summary: each headline metric at the final month with its 95% interval and
/// plain label, and the survey's figure beside it where the final month is a survey month. The
/// support for an action is shown where the policy uses it or the survey measured it.
pub fn final_month_summary(
    scenario: &Scenario,
    summary: &crate::experiment::EnsembleSummary,
) -> String {
    use std::fmt::Write as _;
    let last = summary.ticks - 1;
    let month = scenario.month_of(last as u32);
    let figures = crate::evidence::survey_figures();
    let in_use: Vec<&str> = crate::model::Action::ALL
        .iter()
        .filter(|&&a| {
            // The base policy or any policy a change brings in.
            scenario.policy.uses(a)
                || scenario
                    .regimes()
                    .is_ok_and(|rs| rs.iter().any(|r| r.policy.uses(a)))
        })
        .map(|a| a.key())
        .collect();
    let shown: Vec<usize> = crate::metrics::HEADLINE
        .iter()
        .filter_map(|name| metric_index(name))
        .filter(|&m| {
            let name = METRICS[m].name;
            match name.strip_prefix("support_") {
                Some(action) => {
                    in_use.contains(&action)
                        || crate::evidence::figure_at(&figures, m, month).is_some()
                }
                None => true,
            }
        })
        .collect();
    let width = shown
        .iter()
        .map(|&m| METRICS[m].label.len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "final month ({month}), mean over {} with 95% interval:",
        crate::words::count(scenario.replicates as u64, "replicate")
    );
    for m in shown {
        let w = summary.population_at(last, m);
        let ci = w
            .ci95()
            .map_or(String::new(), |(lo, hi)| format!(" [{lo:.3}, {hi:.3}]"));
        let survey = crate::evidence::figure_at(&figures, m, month).map_or(String::new(), |f| {
            format!(
                "   survey {}{:.2}",
                if f.lower_bound { "> " } else { "" },
                f.value
            )
        });
        let _ = writeln!(
            s,
            "  {:<width$}  {:.3}{ci}{survey}",
            METRICS[m].label, w.mean
        );
    }
    s
}

fn compare_command(args: CompareArgs) -> anyhow::Result<()> {
    use crate::compare::{Run, compare, final_tick_table, write};
    let reference = Run::load_with(&args.reference, args.accept_unverified)?;
    let others = args
        .others
        .iter()
        .map(|d| Run::load_with(d, args.accept_unverified))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let comparisons = compare(&reference, &others)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("compare_{}", reference.info.scenario))
    });
    let written = write(&out, &reference.info, &comparisons, args.force)?;
    if !args.quiet {
        print!("{}", final_tick_table(&reference.info, &comparisons));
        eprintln!("-> {}", written.display());
    }
    Ok(())
}

// ---- Experiments: sweep, sensitivity, calibrate, merge ----

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (TOML; see docs/experiments.md).
    pub sweep: PathBuf,
    /// Output folder [default: results/<sweep name>, or results/<name>-shard-K-of-N].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Continue an interrupted sweep in the output folder (starts afresh if there is none).
    #[arg(long)]
    pub resume: bool,
    /// Discard the sweep files in an existing output folder and start again.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Run only shard K of N (points p with p mod N = K - 1); join shards with `ccgsim merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub resources: Resources,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// A finished sweep folder with a sobol or morris design.
    pub sweep_dir: PathBuf,
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub resources: Resources,
    /// Do not print the table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Overwrite an existing sensitivity.csv.
    #[arg(long)]
    pub force: bool,
    /// Read a sweep folder written by an earlier ccgsim, whose manifest carries no checksums.
    #[arg(long)]
    pub accept_unverified: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("side").required(true).args(["below", "above"])))]
pub struct DiscoverArgs {
    /// A finished sweep folder (typically an lhs design over policy and uncertain parameters).
    pub sweep_dir: PathBuf,
    /// The sweep output whose point means are classified, as summary.csv's `metric` column
    /// names it.
    #[arg(long, value_name = "NAME")]
    pub output: String,
    /// The outcome of interest is a point mean below this value.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub below: Option<f64>,
    /// The outcome of interest is a point mean above this value.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub above: Option<f64>,
    /// Share of a box's points each peel removes.
    #[arg(long, default_value_t = 0.05)]
    pub peel_alpha: f64,
    /// Share of a box's points each paste adds.
    #[arg(long, default_value_t = 0.05)]
    pub paste_alpha: f64,
    /// Smallest share of all points a box may hold.
    #[arg(long, default_value_t = 0.05)]
    pub mass_min: f64,
    /// Density the chosen box must reach: of the boxes at least this dense, the one with the
    /// highest coverage is reported.
    #[arg(long, default_value_t = 0.8)]
    pub min_density: f64,
    /// Report this box of the trajectory (its number in trajectory.csv) instead.
    #[arg(long = "box", value_name = "K")]
    pub box_index: Option<usize>,
    /// Output folder [default: SWEEP_DIR/discover_<NAME>_<below|above>_<X>].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Overwrite an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Do not print the box.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Read a sweep folder written by an earlier ccgsim, whose manifest carries no checksums.
    #[arg(long)]
    pub accept_unverified: bool,
}

#[derive(Debug, Args)]
pub struct OptimiseArgs {
    /// The optimisation file (TOML; see docs/experiments.md).
    pub file: PathBuf,
    /// Output folder [default: results/<optimisation name>].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Continue an interrupted search in the output folder from its last finished generation.
    #[arg(long)]
    pub resume: bool,
    /// Overwrite an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub resources: Resources,
    /// No progress or table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The calibration file (TOML; see docs/experiments.md).
    pub calibration: PathBuf,
    /// Output folder [default: results/<calibration name>].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Continue an interrupted calibration in the output folder from its last finished
    /// generation (starts afresh if there is none).
    #[arg(long)]
    pub resume: bool,
    /// Overwrite an existing, non-empty output folder.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    #[command(flatten)]
    pub resources: Resources,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// No progress or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard folders (every shard K/N of one sweep, in any order).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged folder.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Overwrite an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Read shards written by an earlier ccgsim, whose manifests carry no checksums.
    #[arg(long)]
    pub accept_unverified: bool,
}

/// Test hook, documented in docs/experiments.md: stop a sweep as if interrupted once this many of
/// its points are done, so that tests can check `--resume` deterministically.
const STOP_AFTER_ENV: &str = "CCGSIM_TEST_STOP_AFTER_POINTS";
/// Test hook, documented in docs/experiments.md: stop a calibration as if interrupted once this
/// many of its generations are recorded.
const STOP_AFTER_GENERATIONS_ENV: &str = "CCGSIM_TEST_STOP_AFTER_GENERATIONS";

/// Test hook, documented in docs/experiments.md: when set, `run`, `sweep` and `calibrate` print a
/// line `progress: <what> <n>` to standard error as each replicate, chunk of points or generation
/// is done (and `progress: finishing` before a run writes its files), so that tests can signal
/// them at known moments.
pub(crate) const PROGRESS_ENV: &str = "CCGSIM_TEST_PROGRESS";

pub(crate) fn test_progress(what: &str, n: impl std::fmt::Display) {
    if std::env::var_os(PROGRESS_ENV).is_some() {
        eprintln!("progress: {what} {n}");
    }
}

/// A test hook's number, if its variable is set.
fn test_hook(var: &str, what: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(var) {
        Ok(v) => Ok(Some(v.parse::<usize>().map_err(|_| {
            UsageError(format!("{var} must be a number of {what}, got \"{v}\""))
        })?)),
        Err(_) => Ok(None),
    }
}

fn thread_pool(resources: &Resources) -> anyhow::Result<(rayon::ThreadPool, usize)> {
    let threads = resources.threads()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start worker threads")?;
    Ok((pool, threads))
}

/// The flag that SIGINT, SIGTERM and SIGHUP set ([`crate::signals`]).
fn cancel_flag() -> &'static AtomicBool {
    crate::signals::cancel_flag()
}

fn bar(quiet: bool, len: u64, template: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    // Keep the spinner and clock moving between chunks.
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// What every rank of a sweep reads and builds before any point is run.
struct SweepSetup {
    sweep: Sweep,
    shard: Option<Shard>,
    pool: rayon::ThreadPool,
    threads: usize,
}

fn sweep_setup(args: &SweepArgs, ranks: Option<usize>) -> anyhow::Result<SweepSetup> {
    let shard = match &args.shard {
        None => None,
        Some(_) if ranks.is_some() => {
            return Err(UsageError::new(
                "--shard splits a sweep between separate jobs; under MPI the ranks share the \
                 points themselves: drop --shard (or run the shards without mpirun)",
            )
            .into());
        }
        Some(s) => Some(Shard::parse(s).ok_or_else(|| {
            UsageError(format!("--shard must be K/N with 1 <= K <= N, got \"{s}\""))
        })?),
    };
    let sweep = Sweep::load(&args.sweep)?;
    let threads = args.resources.threads()?;
    args.resources.enforce(
        format!("'{}'", args.sweep.display()),
        &sweep.footprint(threads),
        threads,
        crate::limits::SWEEP_ADVICE,
    )?;
    let (pool, threads) = thread_pool(&args.resources)?;
    Ok(SweepSetup {
        sweep,
        shard,
        pool,
        threads,
    })
}

fn sweep_command(args: SweepArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let launch = args.cluster.launched()?;
    let ranks = launch.as_ref().map(|l| l.transport().size());
    let setup = sweep_setup(&args, ranks);
    let (setup, mut cluster) = match &launch {
        None => (setup?, None),
        Some(launch) => {
            let (setup, c) = launch.join(
                setup,
                |s| s.sweep.sha256.clone(),
                |s, status| {
                    let unit_points = s.sweep.unit_points();
                    let job = crate::cluster::jobs::SweepJob::new(&s.sweep, &unit_points);
                    launch.serve(status, &s.pool, &job)
                },
            )?;
            (setup, Some(c))
        }
    };
    if let Some(c) = cluster.as_mut() {
        c.pool = Some(&setup.pool);
    }
    let result = run_sweep_setup(&args, &setup, clock, cluster.as_mut());
    crate::cluster::finish(cluster, result)
}

fn run_sweep_setup(
    args: &SweepArgs,
    setup: &SweepSetup,
    clock: Instant,
    cluster: Option<&mut crate::cluster::Coordinator<'_>>,
) -> anyhow::Result<()> {
    let SweepSetup {
        sweep,
        shard,
        pool,
        threads,
    } = setup;
    let (shard, threads) = (*shard, *threads);
    let out = args.out.clone().unwrap_or_else(|| {
        let name = match shard {
            None => sweep.name.clone(),
            Some(s) => format!("{}-shard-{}-of-{}", sweep.name, s.index, s.count),
        };
        PathBuf::from("results").join(name)
    });
    let stop_after = test_hook(STOP_AFTER_ENV, "points")?;
    let options = SweepOptions {
        out: out.clone(),
        resume: args.resume,
        force: args.force,
        shard,
        stop_after,
    };
    let cancel = cancel_flag();
    let progress = bar(
        args.quiet,
        0,
        "{spinner} {msg} [{bar:30}] {pos}/{len} points, {elapsed} elapsed, ETA {eta}",
    );
    let started = Instant::now();
    let on_chunk = |done, total, runs| {
        test_progress("points", done);
        progress.set_length(total as u64);
        progress.set_position(done as u64);
        let rate = runs as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress.set_message(format!("{} ({rate:.0} runs/s)", sweep.name));
    };
    let mut ranks = String::new();
    let report = match cluster {
        // Rank 0 talks to the other ranks from this thread and runs its own units on the pool.
        Some(c) => {
            let r = crate::sweep::runner::run_sweep_on(sweep, &options, cancel, Some(c), on_chunk);
            ranks = ranks_words(&c.units);
            r
        }
        None => pool.install(|| run_sweep(sweep, &options, cancel, on_chunk)),
    };
    progress.finish_and_clear();
    // A signal during the final files still leaves the journals to resume from.
    let report = report.map_err(|e| {
        if e.is::<Interrupted>() {
            Stopped(out.clone()).into()
        } else {
            e
        }
    })?;
    if !args.quiet {
        if report.already_complete {
            eprintln!("{}: already complete in '{}'", sweep.name, out.display());
        } else {
            eprintln!(
                "{}: {} ({} resumed) x {}, {} in {:.2} s on {}{} -> {}",
                sweep.name,
                count(report.points, "point"),
                report.resumed_from,
                count(sweep.replicates, "replicate"),
                count(report.runs, "run"),
                clock.elapsed().as_secs_f64(),
                ranks,
                count(threads, "thread"),
                out.display()
            );
        }
    }
    Ok(())
}

fn sensitivity_command(args: SensitivityArgs) -> anyhow::Result<()> {
    let (pool, threads) = thread_pool(&args.resources)?;
    let inputs = [
        args.sweep_dir.join("results.csv"),
        args.sweep_dir.join("summary.csv"),
    ];
    let inputs: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    args.resources.enforce(
        format!("the sensitivity analysis of '{}'", args.sweep_dir.display()),
        &crate::limits::files(&inputs, threads, args.bootstrap, 0),
        threads,
        "use fewer --bootstrap resamples or give --max-memory if more can be used",
    )?;
    let rows = pool.install(|| {
        crate::sweep::sensitivity::analyse(
            &args.sweep_dir,
            args.bootstrap,
            args.seed,
            args.force,
            args.accept_unverified,
        )
    })?;
    if !args.quiet {
        write_stdout(crate::sweep::sensitivity::table(&rows).as_bytes())?;
        eprintln!(
            "parameters ranked within each metric by total effect (ST for Sobol', mu_star for Morris); sensitivity.csv keeps the sweep's order"
        );
        if rows
            .iter()
            .any(|r| matches!(r.index, "S1" | "S2") && r.estimate.value < 0.0)
        {
            eprintln!(
                "a negative S1 or S2 is Monte Carlo error around a true value near zero: read the interval, not the sign (docs/experiments.md)"
            );
        }
        eprintln!("-> {}", args.sweep_dir.join("sensitivity.csv").display());
    }
    Ok(())
}

fn discover_command(args: DiscoverArgs) -> anyhow::Result<()> {
    use crate::sweep::discover::{DiscoverRequest, PrimSettings, Side, describe, discover};
    let (side, threshold) = match (args.below, args.above) {
        (Some(x), None) => (Side::Below, x),
        (None, Some(x)) => (Side::Above, x),
        _ => unreachable!("clap requires exactly one of --below and --above"),
    };
    let request = DiscoverRequest {
        sweep_dir: args.sweep_dir,
        output: args.output,
        side,
        threshold,
        settings: PrimSettings {
            peel_alpha: args.peel_alpha,
            paste_alpha: args.paste_alpha,
            mass_min: args.mass_min,
            min_density: args.min_density,
        },
        box_index: args.box_index,
        out: args.out,
        force: args.force,
        accept_unverified: args.accept_unverified,
    };
    let found = discover(&request)?;
    if !args.quiet {
        write_stdout(describe(&request, &found).as_bytes())?;
        eprintln!(
            "-> {}, {}",
            found.dir.join("trajectory.csv").display(),
            found.dir.join("boxes.csv").display()
        );
    }
    Ok(())
}

fn optimise_command(args: OptimiseArgs) -> anyhow::Result<()> {
    use crate::optimise::run::{Optimisation, OptimiseOptions, optimise};
    let clock = Instant::now();
    let o = Optimisation::load(&args.file)?;
    let threads = args.resources.threads()?;
    args.resources.enforce(
        format!("'{}'", args.file.display()),
        &o.footprint(threads),
        threads,
        crate::limits::SWEEP_ADVICE,
    )?;
    let (pool, threads) = thread_pool(&args.resources)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&o.name));
    let options = OptimiseOptions {
        resume: args.resume,
        force: args.force,
        quiet: args.quiet,
        stop_after: test_hook(STOP_AFTER_GENERATIONS_ENV, "generations")?,
    };
    let cancel = cancel_flag();
    let found = pool.install(|| optimise(&o, &dir, &options, cancel))?;
    if !args.quiet {
        write_stdout(
            format!(
                "{} Pareto policies (hypervolume {}):\n{}",
                found.pareto,
                crate::output::number(Some(found.hypervolume)),
                found.table
            )
            .as_bytes(),
        )?;
        eprintln!(
            "{}: {} in {:.2} s on {} -> {}",
            o.name,
            count(found.evaluations, "evaluation"),
            clock.elapsed().as_secs_f64(),
            count(threads, "thread"),
            found.dir.display()
        );
    }
    Ok(())
}

fn calibrate_command(args: CalibrateArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let launch = args.cluster.launched()?;
    let setup = (|| -> anyhow::Result<(Calibration, rayon::ThreadPool, usize)> {
        let c = Calibration::load(&args.calibration)?;
        let threads = args.resources.threads()?;
        args.resources.enforce(
            format!("'{}'", args.calibration.display()),
            &c.footprint(threads),
            threads,
            crate::limits::SWEEP_ADVICE,
        )?;
        let (pool, threads) = thread_pool(&args.resources)?;
        Ok((c, pool, threads))
    })();
    let ((c, pool, threads), mut cluster) = match &launch {
        None => (setup?, None),
        Some(launch) => {
            let (setup, c) = launch.join(
                setup,
                |(c, _, _)| c.sha256.clone(),
                |(c, pool, _), status| {
                    let simulate = c.simulator();
                    let job = crate::cluster::jobs::CalibrationJob {
                        simulate: &simulate,
                    };
                    launch.serve(status, pool, &job)
                },
            )?;
            (setup, Some(c))
        }
    };
    if let Some(k) = cluster.as_mut() {
        k.pool = Some(&pool);
    }
    let result = calibrate_with(&args, &c, &pool, threads, clock, cluster.as_mut());
    crate::cluster::finish(cluster, result)
}

fn calibrate_with(
    args: &CalibrateArgs,
    c: &Calibration,
    pool: &rayon::ThreadPool,
    threads: usize,
    clock: Instant,
    cluster: Option<&mut crate::cluster::Coordinator<'_>>,
) -> anyhow::Result<()> {
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&c.name));
    let options = CalibrateOptions {
        resume: args.resume,
        force: args.force,
        stop_after: test_hook(STOP_AFTER_GENERATIONS_ENV, "generations")?,
    };
    let cancel = cancel_flag();
    let quiet = args.quiet;
    let on_generation = |g: usize, generation: &crate::sweep::abc::Generation, resumed: bool| {
        test_progress(if resumed { "resumed" } else { "generation" }, g + 1);
        if !quiet {
            eprintln!(
                "generation {g}{}: tolerance {}, accepted {} of {} ({:.1}%), ESS {:.0}",
                if resumed { " (resumed)" } else { "" },
                if generation.epsilon.is_finite() {
                    format!("{:.4}", generation.epsilon)
                } else {
                    "none".into()
                },
                generation.particles.len(),
                count(generation.candidates, "candidate"),
                100.0 * generation.acceptance_rate(),
                generation.ess()
            );
        }
    };
    let mut ranks = String::new();
    let report = match cluster {
        Some(k) => {
            let r = crate::sweep::calibrate::run_calibration_on(
                c,
                &dir,
                &options,
                cancel,
                Some(&mut *k),
                on_generation,
            );
            ranks = ranks_words(&k.units);
            r?
        }
        None => pool.install(|| run_calibration(c, &dir, &options, cancel, on_generation))?,
    };
    let Some(result) = report.result else {
        if !quiet {
            eprintln!("{}: already complete in '{}'", c.name, dir.display());
        }
        return Ok(());
    };
    if !quiet {
        eprintln!(
            "{}: {} in {:.2} s on {}{} -> {}",
            c.name,
            count(result.generations.len(), "generation"),
            clock.elapsed().as_secs_f64(),
            ranks,
            count(threads, "thread"),
            dir.display()
        );
        println!("posterior mean (95% interval):");
        for (p, (m, (lo, hi))) in c
            .parameters
            .iter()
            .zip(result.mean.iter().zip(&result.interval))
        {
            println!("  {:<48} {m:.4} ({lo:.4} to {hi:.4})", p.path);
        }
        println!("fit at the posterior mean (model mean and 95% range over replicates):");
        for f in &result.fits {
            println!(
                "  {:<28} target {:.3}  model {:.3} [{:.3}, {:.3}] {}",
                f.id,
                f.value,
                f.predictive_mean,
                f.predictive_low,
                f.predictive_high,
                if f.inside() { "ok" } else { "OUTSIDE" }
            );
        }
    }
    Ok(())
}

fn merge_command(args: MergeArgs) -> anyhow::Result<()> {
    let points =
        crate::sweep::merge::merge(&args.dirs, &args.out, args.force, args.accept_unverified)?;
    eprintln!(
        "merged {} ({}) -> {}",
        count(args.dirs.len(), "shard"),
        count(points, "point"),
        args.out.display()
    );
    Ok(())
}

// ---- Reports ----

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result folders: run, compare, sweep, calibration, optimisation and discovery folders, in
    /// any mix.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The report file [default: <first DIR>/report.html]; charts go in <stem>_files/ beside it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing report.
    #[arg(long)]
    pub force: bool,
    /// Read folders written by an earlier ccgsim, whose manifests carry no checksums.
    #[arg(long)]
    pub accept_unverified: bool,
}

fn report_command(args: ReportArgs) -> anyhow::Result<()> {
    let report = crate::report::write_report_with(
        &args.dirs,
        args.out.as_deref(),
        args.force,
        args.accept_unverified,
    )?;
    eprintln!("report -> {}", report.display());
    Ok(())
}

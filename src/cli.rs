//! The command line: argument parsing and the `run` and `check` commands. Everything here is glue
//! between the library's pipeline stages; `main` only calls [`run`] and [`exit_code`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::experiment::{EnsembleOptions, Interrupted, run_ensemble};
use crate::metrics::{METRICS, metric_index};
use crate::output::csv::{ReplicateWriter, write_by_ccg, write_timeseries};
use crate::output::manifest::{Manifest, rfc3339, sha256_hex, write_manifest};
use crate::output::{OutputExists, prepare_dir};
use crate::population::Population;
use crate::scenario::{Scenario, ScenarioError, default_output_dir};
use crate::sweep::calibrate::{Calibration, run_calibration};
use crate::sweep::{Shard, Stopped, Sweep, SweepError, SweepOptions, run_sweep};

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
    /// Validate scenario files without running them.
    Check(CheckArgs),
    /// Measure throughput and memory of the full model on synthetic populations.
    Bench(crate::bench::BenchArgs),
    /// Run a parameter sweep (grid, zip, lhs, sobol or morris design) into a results folder.
    Sweep(SweepArgs),
    /// Sobol' or Morris sensitivity indices of a finished sobol or morris sweep.
    Sensitivity(SensitivityArgs),
    /// Calibrate scenario parameters to survey targets by ABC-SMC.
    Calibrate(CalibrateArgs),
    /// Join the folders of a sharded sweep into the folder a single run would write.
    Merge(MergeArgs),
    /// Write one self-contained HTML page of charts and tables from result folders.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Number of replicates (overrides the scenario's `replicates`).
    #[arg(long, short = 'r')]
    pub replicates: Option<u32>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long, short = 's')]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Output folder [default: results/<scenario name>].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Overwrite an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Skip the per-CCG summaries and by_ccg.csv (for very large populations, where they would
    /// run to billions of rows). The other files are unchanged.
    #[arg(long)]
    pub no_by_ccg: bool,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files to validate.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

/// Parse the command line and run the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    crate::simd::Simd::requested().map_err(UsageError::new)?;
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Check(args) => check_command(args),
        Command::Bench(args) => crate::bench::bench_command(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Sensitivity(args) => sensitivity_command(args),
        Command::Calibrate(args) => calibrate_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Report(args) => report_command(args),
    }
}

/// The process exit code for an error: 2 for input the user can fix, 130 for an interrupted run,
/// 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.is::<Interrupted>() || err.is::<Stopped>() {
        130
    } else if err.is::<ScenarioError>()
        || err.is::<OutputExists>()
        || err.is::<UsageError>()
        || err.is::<SweepError>()
        || err.is::<crate::report::ReportError>()
    {
        2
    } else {
        1
    }
}

/// A command-line value that is out of range.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

fn check_command(args: CheckArgs) -> anyhow::Result<()> {
    for path in &args.scenarios {
        let s = Scenario::load(path)?;
        let pop = Population::build(&s);
        println!(
            "{}: ok ({}: {} CCGs, {} practices, {} months from {}, {} replicates, seed {})",
            path.display(),
            s.name,
            pop.ccgs.len(),
            pop.practices(),
            s.months,
            s.start,
            s.replicates,
            s.seed
        );
    }
    Ok(())
}

fn run_command(args: RunArgs) -> anyhow::Result<()> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let text = std::fs::read(&args.scenario).map_err(|source| ScenarioError::Read {
        path: args.scenario.clone(),
        source,
    })?;
    let mut scenario = Scenario::load(&args.scenario)?;
    if let Some(r) = args.replicates {
        if r == 0 {
            return Err(UsageError("--replicates must be at least 1".into()).into());
        }
        scenario.replicates = r;
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
    let threads = match args.threads {
        Some(0) => return Err(UsageError("--threads must be at least 1".into()).into()),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let population = Population::build(&scenario);
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_output_dir(&scenario));
    prepare_dir(&dir, args.force)?;

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // Only the first handler of a process can be installed; a second run in the same process
        // keeps the first, which sets the same kind of flag.
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed));
    }

    let progress = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(
            Some(scenario.replicates as u64),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} replicates, {elapsed} elapsed, ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(scenario.name.clone());
        bar
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start worker threads")?;
    let mut replicates = ReplicateWriter::create(&dir, &scenario.name)?;
    let options = EnsembleOptions {
        replicates: scenario.replicates,
        by_ccg: !args.no_by_ccg,
    };
    let summary = pool.install(|| {
        run_ensemble(&scenario, &population, options, &cancel, |r, tallies| {
            replicates.write(r, tallies)?;
            progress.inc(1);
            Ok(())
        })
    });
    progress.finish_and_clear();
    let summary = summary?;

    let timeseries = write_timeseries(&dir, &scenario.name, &summary)?;
    let by_ccg = pool.install(|| write_by_ccg(&dir, &scenario.name, &population, &summary))?;
    let replicates = replicates.finish()?;
    let mut files = vec![timeseries, replicates];
    files.extend(by_ccg);
    let manifest = Manifest {
        ccgsim_version: env!("CARGO_PKG_VERSION"),
        scenario_path: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&text),
        seed: scenario.seed,
        replicates: scenario.replicates,
        threads,
        simd: crate::simd::Simd::get().name(),
        ccgs: population.ccgs.len(),
        practices: population.practices(),
        patients: population.patients(),
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
        scenario: &scenario,
    };
    let manifest = write_manifest(&dir, &manifest)?;
    for f in files {
        f.commit()?;
    }
    manifest.commit()?;

    if !args.quiet {
        eprintln!(
            "{}: {} replicates of {} practices in {} CCGs, {} months, {:.2} s on {} threads -> {}",
            scenario.name,
            scenario.replicates,
            population.practices(),
            population.ccgs.len(),
            scenario.months,
            clock.elapsed().as_secs_f64(),
            threads,
            dir.display()
        );
        let last = summary.ticks - 1;
        eprintln!(
            "final month ({}), mean over replicates:",
            scenario.month_of(last as u32)
        );
        for name in [
            "engaged_share",
            "mean_trust",
            "influence_share_no_role",
            "positive_share_governing_body",
            "positive_share_no_role",
            "support_training",
            "support_sanctions",
            "mean_quality",
        ] {
            let m = metric_index(name).expect("known metric");
            eprintln!(
                "  {:<32} {:.3}",
                METRICS[m].name,
                summary.population_at(last, m).mean
            );
        }
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
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
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
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Do not print the table.
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
    /// Overwrite an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
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
}

/// Test hook, documented in docs/experiments.md: stop a sweep as if interrupted once this many of
/// its points are done, so that tests can check `--resume` deterministically.
const STOP_AFTER_ENV: &str = "CCGSIM_TEST_STOP_AFTER_POINTS";

fn thread_pool(threads: Option<usize>) -> anyhow::Result<(rayon::ThreadPool, usize)> {
    let threads = match threads {
        Some(0) => return Err(UsageError("--threads must be at least 1".into()).into()),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start worker threads")?;
    Ok((pool, threads))
}

fn cancel_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // Only the first handler of a process can be installed; see run_command.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    cancel
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

fn sweep_command(args: SweepArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let shard = match &args.shard {
        None => None,
        Some(s) => Some(Shard::parse(s).ok_or_else(|| {
            UsageError(format!("--shard must be K/N with 1 <= K <= N, got \"{s}\""))
        })?),
    };
    let sweep = Sweep::load(&args.sweep)?;
    let (pool, threads) = thread_pool(args.threads)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = match shard {
            None => sweep.name.clone(),
            Some(s) => format!("{}-shard-{}-of-{}", sweep.name, s.index, s.count),
        };
        PathBuf::from("results").join(name)
    });
    let stop_after = match std::env::var(STOP_AFTER_ENV) {
        Ok(v) => Some(v.parse::<usize>().map_err(|_| {
            UsageError(format!(
                "{STOP_AFTER_ENV} must be a number of points, got \"{v}\""
            ))
        })?),
        Err(_) => None,
    };
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
    let report = pool.install(|| {
        run_sweep(&sweep, &options, &cancel, |done, total, runs| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
            let rate = runs as f64 / started.elapsed().as_secs_f64().max(1e-9);
            progress.set_message(format!("{} ({rate:.0} runs/s)", sweep.name));
        })
    });
    progress.finish_and_clear();
    let report = report?;
    if !args.quiet {
        if report.already_complete {
            eprintln!("{}: already complete in '{}'", sweep.name, out.display());
        } else {
            eprintln!(
                "{}: {} points ({} resumed) x {} replicates, {} runs in {:.2} s on {} threads -> {}",
                sweep.name,
                report.points,
                report.resumed_from,
                sweep.replicates,
                report.runs,
                clock.elapsed().as_secs_f64(),
                threads,
                out.display()
            );
        }
    }
    Ok(())
}

fn sensitivity_command(args: SensitivityArgs) -> anyhow::Result<()> {
    let (pool, _) = thread_pool(args.threads)?;
    let rows = pool.install(|| {
        crate::sweep::sensitivity::analyse(&args.sweep_dir, args.bootstrap, args.seed)
    })?;
    if !args.quiet {
        println!(
            "{:<24} {:<48} {:<8} {:>9} {:>21}",
            "metric", "parameter", "index", "value", "95% interval"
        );
        for r in &rows {
            let ci = r
                .estimate
                .ci
                .map_or(String::new(), |(lo, hi)| format!("[{lo:.4}, {hi:.4}]"));
            println!(
                "{:<24} {:<48} {:<8} {:>9.4} {:>21}",
                r.metric, r.parameter, r.index, r.estimate.value, ci
            );
        }
        eprintln!("-> {}", args.sweep_dir.join("sensitivity.csv").display());
    }
    Ok(())
}

fn calibrate_command(args: CalibrateArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let c = Calibration::load(&args.calibration)?;
    let (pool, threads) = thread_pool(args.threads)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&c.name));
    prepare_dir(&dir, args.force)?;
    let cancel = cancel_flag();
    let quiet = args.quiet;
    let result = pool.install(|| {
        run_calibration(&c, &dir, &cancel, |g, generation| {
            if !quiet {
                eprintln!(
                    "generation {g}: tolerance {}, accepted {} of {} candidates ({:.1}%), ESS {:.0}",
                    if generation.epsilon.is_finite() {
                        format!("{:.4}", generation.epsilon)
                    } else {
                        "none".into()
                    },
                    generation.particles.len(),
                    generation.candidates,
                    100.0 * generation.acceptance_rate(),
                    generation.ess()
                );
            }
        })
    })?;
    if !quiet {
        eprintln!(
            "{}: {} generations in {:.2} s on {} threads -> {}",
            c.name,
            result.generations.len(),
            clock.elapsed().as_secs_f64(),
            threads,
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
    let points = crate::sweep::merge::merge(&args.dirs, &args.out, args.force)?;
    eprintln!(
        "merged {} shards ({points} points) -> {}",
        args.dirs.len(),
        args.out.display()
    );
    Ok(())
}

// ---- Reports ----

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result folders: run, compare, sweep and calibration folders, in any mix.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The report file [default: <first DIR>/report.html]; charts go in <stem>_files/ beside it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing report.
    #[arg(long)]
    pub force: bool,
}

fn report_command(args: ReportArgs) -> anyhow::Result<()> {
    let report = crate::report::write_report(&args.dirs, args.out.as_deref(), args.force)?;
    eprintln!("report -> {}", report.display());
    Ok(())
}

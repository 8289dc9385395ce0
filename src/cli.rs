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
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Check(args) => check_command(args),
    }
}

/// The process exit code for an error: 2 for input the user can fix, 130 for an interrupted run,
/// 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.is::<Interrupted>() {
        130
    } else if err.is::<ScenarioError>() || err.is::<OutputExists>() || err.is::<UsageError>() {
        2
    } else {
        1
    }
}

/// A command-line value that is out of range.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

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
        by_ccg: true,
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
    let by_ccg = write_by_ccg(&dir, &scenario.name, &population, &summary)?;
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
